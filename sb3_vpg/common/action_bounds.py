"""
SB3's actor-critic policies with a choice of how a Gaussian's actions reach a bounded ``Box``: clipped, as SB3
does, or mapped through tanh onto the bounds, as Tianshou's ``action_bound_method="tanh"``.

Clipping leaves the Gaussian's mean free to run past a bound; once it has, every sample lands on the bound, the
env sees the same corner whatever the policy samples, and the policy gradient has no signal to bring the mean
back. With ``action_bounds="tanh"`` the env gets ``low + (tanh(a) + 1) / 2 * (high - low)`` of the sampled ``a``,
and the policy's distribution, its log-probabilities and its entropy are those of ``a`` itself: the returns and
the gradient stay exact (the squashing is part of the env, as far as the gradient is concerned), and the numpy
rollout actor, which samples ``a``, stays on the path.
"""

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy

ACTION_BOUNDS = ("clip", "tanh")


def tanh_to_bounds(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map unbounded actions onto ``[low, high]`` through tanh (Tianshou's ``map_action`` with ``"tanh"``)."""
    return (low + 0.5 * (np.tanh(actions) + 1.0) * (high - low)).astype(actions.dtype, copy=False)


class BoundedActionsMixin:
    """
    The ``action_bounds`` option of the policies below; see the module docstring.

    :param action_bounds: How a ``Box`` action space's bounds are met: ``"clip"`` (SB3's default) or ``"tanh"``.
        Other action spaces ignore it.
    """

    action_space: spaces.Space
    squash_output: bool

    def __init__(self, *args: Any, action_bounds: str = "clip", **kwargs: Any):
        if action_bounds not in ACTION_BOUNDS:
            raise ValueError(f"action_bounds must be one of {ACTION_BOUNDS}, got {action_bounds!r}")
        self.action_bounds = action_bounds
        super().__init__(*args, **kwargs)
        if action_bounds == "tanh" and self.squash_output:
            raise ValueError("action_bounds='tanh' and squash_output=True both bound the actions: choose one")

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "action_bounds": self.action_bounds}  # type: ignore[misc]

    def to_env_actions(self, actions: np.ndarray) -> np.ndarray:
        """The policy's actions as the env takes them: mapped through tanh onto the bounds, or clipped to them."""
        if not isinstance(self.action_space, spaces.Box):
            return actions
        low, high = self.action_space.low, self.action_space.high
        if self.action_bounds == "tanh":
            return tanh_to_bounds(actions, low, high)
        if self.squash_output:
            return self.unscale_action(actions)  # type: ignore[attr-defined]
        return np.clip(actions, low, high)

    def _predict(self, observation: Any, deterministic: bool = False) -> th.Tensor:
        actions = super()._predict(observation, deterministic)  # type: ignore[misc]
        if self.action_bounds != "tanh" or not isinstance(self.action_space, spaces.Box):
            return actions
        # predict() clips what this returns to the bounds, which the mapped actions already meet
        shape = (-1, *self.action_space.shape)
        mapped = self.to_env_actions(actions.cpu().numpy().reshape(shape))
        return th.as_tensor(mapped, device=actions.device)


class BoundedActorCriticPolicy(BoundedActionsMixin, ActorCriticPolicy):
    """SB3's ``ActorCriticPolicy`` (``MlpPolicy``) with :class:`BoundedActionsMixin`'s ``action_bounds``."""


class BoundedActorCriticCnnPolicy(BoundedActionsMixin, ActorCriticCnnPolicy):
    """SB3's ``ActorCriticCnnPolicy`` (``CnnPolicy``) with :class:`BoundedActionsMixin`'s ``action_bounds``."""


class BoundedMultiInputActorCriticPolicy(BoundedActionsMixin, MultiInputActorCriticPolicy):
    """SB3's ``MultiInputActorCriticPolicy`` with :class:`BoundedActionsMixin`'s ``action_bounds``."""
