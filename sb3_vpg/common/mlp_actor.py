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
from stable_baselines3.common.torch_layers import FlattenExtractor, MlpExtractor
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


class MlpNumpyActor:
    """
    The acting-time forward pass of an ``ActorCriticPolicy`` with a ``FlattenExtractor`` and an ``MlpExtractor``
    of Tanh or ReLU layers, in numpy, for one rollout. It is a snapshot of the weights: REINFORCE makes a new one
    per rollout.

    Random draws come from torch's global generator, so a seeded run repeats exactly: a diagonal Gaussian adds
    ``std * th.randn`` to the mean, as ``th.normal`` draws it (the same actions as the torch policy with the same
    seed, up to float32 rounding); a Bernoulli (MultiBinary) takes action 1 where a ``th.rand`` uniform is below its
    probability, as ``th.bernoulli`` does; a categorical (Discrete, MultiDiscrete) inverts its cumulative
    distribution at a ``th.rand`` uniform, the same distribution as torch's ``multinomial`` but not the same draws.

    :param policy: The policy to copy the weights from (see :func:`mlp_rollout_actor` for which it accepts)
    """

    def __init__(self, policy: ActorCriticPolicy):
        layers: list[tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray] | None]] = []
        modules = [*policy.mlp_extractor.policy_net, policy.action_net]
        for module in modules:
            if isinstance(module, nn.Linear):
                bias = np.zeros(module.out_features, np.float32) if module.bias is None else module.bias.detach().numpy()
                layers.append((module.weight.detach().numpy().T.copy(), bias.copy(), None))
            else:
                weight, bias, _ = layers[-1]
                layers[-1] = (weight, bias, ACTIVATIONS[type(module)])
        self.layers = layers
        self.action_space = policy.action_space
        self.observation_size = int(np.prod(policy.observation_space.shape))  # type: ignore[arg-type]
        self.distribution = policy.action_dist
        if isinstance(self.distribution, DiagGaussianDistribution):
            self.std = np.exp(policy.log_std.detach().numpy()).astype(np.float32)
            self.log_std = np.log(self.std)
        if isinstance(self.distribution, MultiCategoricalDistribution):
            self.splits = np.cumsum(self.distribution.action_dims)[:-1]

    def _distribution_parameters(self, observations: np.ndarray) -> np.ndarray:
        hidden = np.asarray(observations, dtype=np.float32).reshape(-1, self.observation_size)
        for weight, bias, activation in self.layers:
            hidden = hidden @ weight
            hidden += bias
            if activation is not None:
                hidden = activation(hidden)
        return hidden

    def sample(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sample actions for a batch of observations (one per env): the actions in the env's shape and their
        log-probabilities (float32)."""
        parameters = self._distribution_parameters(observations)
        n = len(parameters)
        if isinstance(self.distribution, DiagGaussianDistribution):
            noise = th.randn(parameters.shape).numpy()
            actions = parameters + self.std * noise
            log_probs = (-0.5 * noise**2 - self.log_std - _LOG_SQRT_2PI).sum(axis=1)
            return actions.reshape((n, *self.action_space.shape)), log_probs  # type: ignore[misc]
        if isinstance(self.distribution, BernoulliDistribution):
            uniforms = th.rand(parameters.shape).numpy()
            binary = uniforms < 1.0 / (1.0 + np.exp(-parameters))
            log_probs = -np.logaddexp(np.float32(0.0), np.where(binary, -parameters, parameters)).sum(axis=1)
            return binary.astype(np.int64), log_probs.astype(np.float32)
        if isinstance(self.distribution, MultiCategoricalDistribution):
            uniforms = th.rand(n, len(self.splits) + 1).numpy()
            draws = [
                _sample_categorical(logits, uniforms[:, i])
                for i, logits in enumerate(np.split(parameters, self.splits, axis=1))
            ]
            actions = np.stack([choices for choices, _ in draws], axis=1)
            return actions, np.sum([log_probs for _, log_probs in draws], axis=0).astype(np.float32)
        return _sample_categorical(parameters, th.rand(n).numpy())


def mlp_rollout_actor(policy: BasePolicy) -> MlpNumpyActor | None:
    """
    An :class:`MlpNumpyActor` of ``policy``, or None where it would not compute the same policy exactly: another
    class's acting methods, a features extractor other than the flattening one, image or non-Box observations,
    layers other than Linear/Tanh/ReLU, gSDE, squashed outputs, or another device than the CPU.
    """
    if not isinstance(policy, ActorCriticPolicy) or policy.device.type != "cpu":
        return None
    if any(getattr(type(policy), name) is not getattr(ActorCriticPolicy, name) for name in _ACTING_METHODS):
        return None
    if type(policy.pi_features_extractor) is not FlattenExtractor or type(policy.mlp_extractor) is not MlpExtractor:
        return None
    observation_space = policy.observation_space
    if not isinstance(observation_space, spaces.Box) or is_image_space(observation_space, check_channels=False):
        return None
    if policy.use_sde or policy.squash_output or not isinstance(policy.action_net, nn.Linear):
        return None
    if not all(isinstance(module, nn.Linear) or type(module) in ACTIVATIONS for module in policy.mlp_extractor.policy_net):
        return None
    supported = (DiagGaussianDistribution, BernoulliDistribution, MultiCategoricalDistribution, CategoricalDistribution)
    if type(policy.action_dist) not in supported:
        return None
    return MlpNumpyActor(policy)
