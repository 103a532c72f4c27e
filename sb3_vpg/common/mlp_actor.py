"""
A numpy rollout actor for SB3's ``ActorCriticPolicy`` (``MlpPolicy``): its flatten extractor, MLP and action
distribution computed in numpy for one rollout, without torch's per-call overhead (REINFORCE's rollout-actor
contract, :mod:`sb3_vpg.common.capabilities`).
"""

from collections.abc import Callable

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    MultiCategoricalDistribution,
)
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import CombinedExtractor, FlattenExtractor, MlpExtractor
from torch import nn

ACTIVATIONS: dict[type[nn.Module], Callable[[np.ndarray], np.ndarray]] = {
    nn.Tanh: np.tanh,
    nn.ReLU: lambda x: np.maximum(x, np.float32(0.0)),
}
_LOG_SQRT_2PI = np.float32(0.5 * np.log(2 * np.pi))
# The ActorCriticPolicy methods on the acting path: a subclass that overrides one of them computes something else
_ACTING_METHODS = ("get_distribution", "extract_features", "_get_action_dist_from_latent", "forward")


def _sample_categorical(logits: np.ndarray, uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One draw per row of a softmax over ``logits``, by inverting its cumulative distribution at a uniform in
    [0, 1); the draws and their log-probabilities."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    cumulative = np.cumsum(np.exp(shifted), axis=1)
    total = cumulative[:, -1]
    actions = np.minimum((uniforms[:, None] * total[:, None] >= cumulative).sum(axis=1), logits.shape[1] - 1)
    rows = np.arange(len(logits))
    return actions, (shifted[rows, actions] - np.log(total)).astype(np.float32)


class TorchDraws:
    """
    Standard normal or uniform draws from torch's global generator, drawn a block of steps at a time (one torch
    call per ``block`` steps instead of one per step) and served one step at a time: a seeded run repeats
    exactly.

    :param draw: ``th.randn`` or ``th.rand``
    :param block: Steps drawn per torch call
    """

    def __init__(self, draw: Callable[..., th.Tensor], block: int = 64):
        self.draw, self.block = draw, block
        self.drawn = np.zeros((0, 0, 0), dtype=np.float32)
        self.next = 0

    def __call__(self, n: int, width: int) -> np.ndarray:
        """The next step's draws, shaped ``(n, width)``."""
        if self.next == len(self.drawn) or self.drawn.shape[1:] != (n, width):
            self.drawn, self.next = self.draw(self.block, n, width).numpy(), 0
        self.next += 1
        return self.drawn[self.next - 1]


class MlpNumpyActor:
    """
    The acting-time forward pass of an ``ActorCriticPolicy`` with a ``FlattenExtractor`` and an ``MlpExtractor``
    of Tanh or ReLU layers, in numpy, for one rollout. It is a snapshot of the weights: REINFORCE makes a new one
    per rollout.

    Its random draws come from torch's global generator, 64 steps at a time (:class:`TorchDraws`), so a seeded run
    repeats exactly, and the actions follow the policy's distribution exactly: a diagonal Gaussian's are
    ``mean + std * z`` with ``z`` from ``th.randn``; a Bernoulli (MultiBinary) takes action 1 where a ``th.rand``
    uniform is below its probability, as ``th.bernoulli`` does; a categorical (Discrete, MultiDiscrete) inverts its
    cumulative distribution at a ``th.rand`` uniform, as torch's ``multinomial`` samples it. They are not the torch
    policy's draws, which come one step at a time.

    :param policy: The policy to copy the weights from (see :func:`mlp_rollout_actor` for which it accepts)
    """

    def __init__(self, policy: ActorCriticPolicy):
        layers: list[tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray] | None]] = []
        for module in [*policy.mlp_extractor.policy_net, policy.action_net]:
            if isinstance(module, nn.Linear):
                bias = np.zeros(module.out_features, np.float32) if module.bias is None else module.bias.detach().numpy()
                layers.append((module.weight.detach().numpy().T.copy(), bias.copy(), None))
            else:
                weight, bias, _ = layers[-1]
                layers[-1] = (weight, bias, ACTIVATIONS[type(module)])
        self.layers = layers
        self.action_shape: tuple[int, ...] = policy.action_space.shape  # type: ignore[assignment]
        extractor = policy.pi_features_extractor
        # a Dict observation's vectors, flattened and joined in the order CombinedExtractor joins them
        self.observation_keys = list(extractor.extractors) if isinstance(extractor, CombinedExtractor) else None
        self.observation_size = int(extractor.features_dim)
        distribution = policy.action_dist
        self.normals, self.uniforms = TorchDraws(th.randn), TorchDraws(th.rand)
        self.sample_from: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
        if isinstance(distribution, DiagGaussianDistribution):
            self.std = np.exp(policy.log_std.detach().numpy()).astype(np.float32)
            # log N(mean + std * z | mean, std) = -z^2 / 2 - sum(log std) - d log sqrt(2 pi)
            self.log_prob_offset = -(np.log(self.std).sum() + len(self.std) * _LOG_SQRT_2PI)
            self.sample_from = self._gaussian
        elif isinstance(distribution, BernoulliDistribution):
            self.sample_from = self._bernoulli
        elif isinstance(distribution, MultiCategoricalDistribution):
            self.splits = np.cumsum(distribution.action_dims)[:-1]
            self.sample_from = self._multi_categorical
        else:
            self.sample_from = self._categorical

    def _features(self, observations: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
        if self.observation_keys is None:
            return np.asarray(observations, dtype=np.float32).reshape(-1, self.observation_size)
        assert isinstance(observations, dict)
        n = len(observations[self.observation_keys[0]])
        return np.concatenate(
            [np.asarray(observations[key], dtype=np.float32).reshape(n, -1) for key in self.observation_keys], axis=1
        )

    def _distribution_parameters(self, observations: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
        hidden = self._features(observations)
        for weight, bias, activation in self.layers:
            hidden = hidden @ weight
            hidden += bias
            if activation is not None:
                hidden = activation(hidden)
        return hidden

    def sample(self, observations: np.ndarray | dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Sample actions for a batch of observations (one per env): the actions in the env's shape and their
        log-probabilities (float32)."""
        return self.sample_from(self._distribution_parameters(observations))

    def _gaussian(self, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        noise = self.normals(*mean.shape)
        actions = mean + self.std * noise
        log_probs = self.log_prob_offset - 0.5 * np.einsum("ij,ij->i", noise, noise)
        return actions.reshape((len(mean), *self.action_shape)), log_probs.astype(np.float32)

    def _bernoulli(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        binary = self.uniforms(*logits.shape) < 1.0 / (1.0 + np.exp(-logits))
        log_probs = -np.logaddexp(np.float32(0.0), np.where(binary, -logits, logits)).sum(axis=1)
        return binary.astype(np.int64), log_probs.astype(np.float32)

    def _multi_categorical(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        uniforms = self.uniforms(len(logits), len(self.splits) + 1)
        parts = np.split(logits, self.splits, axis=1)
        draws = [_sample_categorical(part, uniforms[:, i]) for i, part in enumerate(parts)]
        actions = np.stack([choices for choices, _ in draws], axis=1)
        return actions, np.sum([log_probs for _, log_probs in draws], axis=0).astype(np.float32)

    def _categorical(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _sample_categorical(logits, self.uniforms(len(logits), 1)[:, 0])


def _is_vector_box(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Box) and not is_image_space(space, check_channels=False)


def _flattens_vectors(policy: ActorCriticPolicy) -> bool:
    """The features are the observation's vectors, flattened (and, for a Dict, joined) as floats."""
    extractor, observation_space = policy.pi_features_extractor, policy.observation_space
    if type(extractor) is FlattenExtractor:
        return _is_vector_box(observation_space)
    if type(extractor) is CombinedExtractor and isinstance(observation_space, spaces.Dict):
        return all(_is_vector_box(space) for space in observation_space.spaces.values()) and all(
            type(sub) is nn.Flatten for sub in extractor.extractors.values()
        )
    return False


def mlp_rollout_actor(policy: BasePolicy) -> MlpNumpyActor | None:
    """
    An :class:`MlpNumpyActor` of ``policy``, or None where it would not compute the same policy exactly: another
    class's acting methods, a features extractor other than the flattening ones (``FlattenExtractor``, or
    ``CombinedExtractor`` over a Dict of vectors), image or non-Box observations,
    layers other than Linear/Tanh/ReLU, gSDE, squashed outputs, or another device than the CPU.
    """
    if not isinstance(policy, ActorCriticPolicy) or policy.device.type != "cpu":
        return None
    if any(getattr(type(policy), name) is not getattr(ActorCriticPolicy, name) for name in _ACTING_METHODS):
        return None
    if type(policy.mlp_extractor) is not MlpExtractor or not _flattens_vectors(policy):
        return None
    if policy.use_sde or policy.squash_output or not isinstance(policy.action_net, nn.Linear):
        return None
    if not all(isinstance(module, nn.Linear) or type(module) in ACTIVATIONS for module in policy.mlp_extractor.policy_net):
        return None
    supported = (DiagGaussianDistribution, BernoulliDistribution, MultiCategoricalDistribution, CategoricalDistribution)
    if type(policy.action_dist) not in supported:
        return None
    return MlpNumpyActor(policy)
