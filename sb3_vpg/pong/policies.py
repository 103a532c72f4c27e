"""The policy of Karpathy's "Pong from Pixels" (2016, http://karpathy.github.io/2016/05/31/rl/) as an SB3 policy."""

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

from sb3_vpg.common.sparse import sparse_rows
from sb3_vpg.common.validation import check_bool, check_positive_int


class BinaryActionDistribution(Distribution):
    """
    A Bernoulli over the two actions of a ``Discrete(2)`` space, from a single logit: ``P(action=1) =
    sigmoid(logit)``. (SB3's ``BernoulliDistribution`` is for ``MultiBinary`` float actions of shape ``(B, n)``;
    this one takes and returns integer actions of shape ``(B,)``, as ``Discrete`` expects.)
    """

    distribution: th.distributions.Bernoulli

    def proba_distribution_net(self, latent_dim: int, bias: bool = True) -> nn.Module:
        return nn.Linear(latent_dim, 1, bias=bias)

    def proba_distribution(self, action_logits: th.Tensor) -> "BinaryActionDistribution":
        self.distribution = th.distributions.Bernoulli(logits=action_logits.squeeze(-1), validate_args=False)
        return self

    def log_prob(self, actions: th.Tensor) -> th.Tensor:
        return self.distribution.log_prob(actions.float().reshape(self.distribution.logits.shape))

    def entropy(self) -> th.Tensor:
        return self.distribution.entropy()

    def sample(self) -> th.Tensor:
        return self.distribution.sample().long()

    def mode(self) -> th.Tensor:
        return (self.distribution.logits > 0).long()

    def actions_from_params(self, action_logits: th.Tensor, deterministic: bool = False) -> th.Tensor:
        self.proba_distribution(action_logits)
        return self.get_actions(deterministic=deterministic)

    def log_prob_from_params(self, action_logits: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        actions = self.actions_from_params(action_logits)
        return actions, self.log_prob(actions)


class KarpathyHidden(nn.Module):
    """One hidden ReLU layer shared by the policy logit and (if any) the value head."""

    def __init__(self, input_dim: int, hidden_size: int, bias: bool):
        super().__init__()
        self.layer = nn.Linear(input_dim, hidden_size, bias=bias)
        self.latent_dim_pi = self.latent_dim_vf = hidden_size

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        hidden = self.forward_actor(features)
        return hidden, hidden

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        # Frame differences are ~1% non-zero: a sparse product with the same weight is exact and cheaper
        # (measured here: 1.3x at batch 1, 2.3x at batch 8, 1.8x for forward+backward over 4096 steps).
        sparse_features = features if features.is_sparse else features.to_sparse()
        pre_activation = th.sparse.mm(sparse_features, self.layer.weight.t())
        if self.layer.bias is not None:
            pre_activation = pre_activation + self.layer.bias
        return th.relu(pre_activation)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        return self.forward_actor(features)


class SparseNumpyActor:
    """
    Acting-time forward pass of a :class:`KarpathyPolicy` in numpy, for rollouts (REINFORCE's rollout-actor
    contract, :mod:`sb3_vpg.common.capabilities`): per observation, only the weight rows of its non-zero inputs
    are summed (a Pong frame difference has ~1% non-zero pixels), with none of torch's per-call overhead. It is a
    snapshot of the weights when it was made: make a new one after the weights change (REINFORCE makes one per
    rollout).

    The actions are drawn as ``th.bernoulli`` draws them (one ``th.rand`` uniform per env, action 1 where it is
    below ``sigmoid(logit)``), so with the same seed it takes the same actions as the torch policy, up to float32
    rounding of the logit in the last bit.

    :param policy: The policy to copy the weights from (on the CPU)
    """

    def __init__(self, policy: "KarpathyPolicy"):
        hidden = policy.mlp_extractor.layer
        logit = policy.action_net
        assert isinstance(hidden, nn.Linear) and isinstance(logit, nn.Linear)
        # One contiguous row of hidden weights per input pixel, so that gathering the non-zero pixels is cheap
        self.hidden_weight_rows = hidden.weight.detach().cpu().numpy().T.copy()
        self.hidden_bias = None if hidden.bias is None else hidden.bias.detach().cpu().numpy().copy()
        self.logit_weight = logit.weight.detach().cpu().numpy()[0].copy()
        self.logit_bias = 0.0 if logit.bias is None else float(logit.bias.item())

    def logits(self, observations: np.ndarray) -> np.ndarray:
        """Logits of P(action 1) (float32) for a batch of observations (one per row of the first axis)."""
        rows = sparse_rows(observations)
        hidden = np.empty((len(rows), self.hidden_weight_rows.shape[1]), dtype=np.float32)
        for (indices, values), out in zip(rows, hidden, strict=True):
            np.dot(values.astype(np.float32), self.hidden_weight_rows[indices], out=out)
        if self.hidden_bias is not None:
            hidden += self.hidden_bias
        np.maximum(hidden, 0.0, out=hidden)
        return hidden @ self.logit_weight + np.float32(self.logit_bias)

    def sample(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sample actions for a batch of observations: the actions (int64) and their log-probabilities (float32)."""
        logits = self.logits(observations)
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        uniforms = th.rand(len(logits)).numpy()  # the draws th.bernoulli makes from the same generator
        actions = (uniforms < probabilities).astype(np.int64)
        # log sigmoid(z) = -softplus(-z) for action 1, log(1 - sigmoid(z)) = -softplus(z) for action 0
        log_probs = -np.logaddexp(np.float32(0.0), (1 - 2 * actions) * logits, dtype=np.float32)
        return actions, log_probs


class KarpathyPolicy(ActorCriticPolicy):
    """
    The network of Karpathy's Pong from Pixels: flattened input -> ``hidden_size`` ReLU units -> one logit ->
    sigmoid = P(action 1).
    With :class:`~sb3_vpg.pong.wrappers.TwoActionControl`, action 1 is UP, as in Karpathy's Pong from Pixels.

    :param observation_space: Observation space (flattened, e.g. 80x80 frame differences -> 6400)
    :param action_space: Must be ``Discrete(2)``
    :param lr_schedule: Learning rate schedule
    :param hidden_size: Hidden ReLU units (200 in Karpathy's Pong from Pixels)
    :param bias: Give both layers a bias (Karpathy's has none)
    :param karpathy_init: Initialise weights with Karpathy's ``randn(out, in) / sqrt(in)`` (biases 0) instead of
        SB3's orthogonal initialisation
    :param value_head: Build a value head ``Linear(hidden_size, 1)`` on the hidden layer, for
        ``REINFORCE(use_baseline=True)``. Without it the policy has no value network at all.
    :param optimizer_class: The optimizer (e.g. ``th.optim.RMSprop``, as Karpathy)
    :param optimizer_kwargs: Its keyword arguments
    :param kwargs: Other :class:`~stable_baselines3.common.policies.ActorCriticPolicy` arguments
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        hidden_size: int = 200,
        bias: bool = True,
        karpathy_init: bool = True,
        value_head: bool = False,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        if not (isinstance(action_space, spaces.Discrete) and action_space.n == 2):
            raise ValueError(f"KarpathyPolicy needs a two-action space, Discrete(2); got action_space {action_space}")
        if not isinstance(observation_space, spaces.Box | spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary):
            raise ValueError(
                "KarpathyPolicy needs an observation space it can flatten (Box, Discrete, MultiDiscrete or MultiBinary); "
                f"got observation_space {observation_space}"
            )
        check_positive_int("hidden_size", hidden_size)
        for name, value in (("bias", bias), ("karpathy_init", karpathy_init), ("value_head", value_head)):
            check_bool(name, value)
        self.hidden_size = hidden_size
        self.bias = bias
        self.karpathy_init = karpathy_init
        self.value_head = value_head
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            ortho_init=False,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            **kwargs,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        self.mlp_extractor = KarpathyHidden(self.features_dim, self.hidden_size, self.bias)  # type: ignore[assignment]
        self.action_dist = BinaryActionDistribution()
        self.action_net = self.action_dist.proba_distribution_net(self.hidden_size, bias=self.bias)
        self.value_net = nn.Linear(self.hidden_size, 1) if self.value_head else None  # type: ignore[assignment]
        if self.karpathy_init:
            for layer in (self.mlp_extractor.layer, self.action_net):
                assert isinstance(layer, nn.Linear)
                with th.no_grad():
                    layer.weight.copy_(th.randn_like(layer.weight) / np.sqrt(layer.in_features))
                    if layer.bias is not None:
                        layer.bias.zero_()
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]

    def _get_action_dist_from_latent(self, latent_pi: th.Tensor) -> Distribution:
        return self.action_dist.proba_distribution(self.action_net(latent_pi))

    @property
    def takes_sparse_features(self) -> bool:
        """
        Whether its features are just the flattened observations as floats (the flattening extractor, no image
        scaling), so that a batch may also be given as a sparse float tensor ``(batch, n_features)``, which SB3's
        preprocessing and flattening pass through unchanged (what ``SparseEpisodicRolloutBuffer(sparse_samples=True)``
        serves).
        """
        return (
            type(self.features_extractor) is FlattenExtractor
            and isinstance(self.observation_space, spaces.Box)
            and not (self.normalize_images and is_image_space(self.observation_space, check_channels=False))
        )

    def rollout_actor(self) -> SparseNumpyActor | None:
        """
        A :class:`SparseNumpyActor` with the current weights (REINFORCE's rollout-actor contract, see
        :mod:`sb3_vpg.common.capabilities`), or None where it would not compute the same policy: off the CPU, or
        where :attr:`takes_sparse_features` is False.
        """
        return SparseNumpyActor(self) if self.device.type == "cpu" and self.takes_sparse_features else None

    def extract_features(  # type: ignore[override]
        self, obs: PyTorchObs, features_extractor: BaseFeaturesExtractor | None = None
    ) -> th.Tensor | tuple[th.Tensor, th.Tensor]:
        """As SB3's; a sparse batch (``SparseEpisodicRolloutBuffer(sparse_samples=True)``) is made dense first
        where the features are not the flattened observations (:attr:`takes_sparse_features` False)."""
        if isinstance(obs, th.Tensor) and obs.is_sparse and not self.takes_sparse_features:
            obs = obs.to_dense().reshape((-1, *self.observation_space.shape))  # type: ignore[misc]
        return super().extract_features(obs, features_extractor)

    def predict_values(self, obs: PyTorchObs) -> th.Tensor:
        if self.value_net is None:
            raise ValueError("this KarpathyPolicy has no value head: create it with policy_kwargs=dict(value_head=True)")
        return super().predict_values(obs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        for key in ("net_arch", "activation_fn", "ortho_init", "log_std_init", "full_std", "use_expln", "squash_output"):
            data.pop(key, None)
        data.update(hidden_size=self.hidden_size, bias=self.bias, karpathy_init=self.karpathy_init, value_head=self.value_head)
        return data
