"""
Optional capabilities a policy can offer, looked up by name so that any policy can opt in; the algorithm never
checks for a particular policy class. ``sb3_vpg.pong.KarpathyPolicy`` offers both.

``policy.rollout_actor() -> RolloutActor | None``
    An object that acts for one rollout faster than the torch policy: the same distribution, with its random
    draws from torch's global generator (so a seeded run repeats), computed in whatever way suits the policy
    (KarpathyPolicy's sums the weight rows of the non-zero pixels only). It is a snapshot of the weights;
    REINFORCE asks for a new one at the start of every rollout (after ``on_rollout_start``), with or without a
    learned baseline (the values ``V(s_t)`` are computed in one batched pass at the end of the rollout). Return
    None where the actor would not compute the same policy (another device, another features extractor, ...);
    REINFORCE then acts through the torch policy. A policy that does not define the method gets
    :func:`~sb3_vpg.common.mlp_actor.mlp_rollout_actor`'s numpy actor where that one is exact (SB3's
    ``MlpPolicy``), else none.

``policy.to_env_actions(actions: np.ndarray) -> np.ndarray``
    The policy's sampled actions (a batch, in the env's shape) as the env takes them. The log-probabilities and
    the gradient are those of the sampled actions; this is the step between them and the env, as
    ``predict`` takes it. A policy that does not define it gets SB3's: a ``Box`` action is rescaled from [-1, 1]
    where the policy squashes its output, else clipped to the bounds (``sb3_vpg.common.action_bounds`` defines it, with
    a tanh mapping onto the bounds as its option).

``policy.takes_sparse_features: bool``
    True when the policy's features are the flattened observations as floats, so that a training batch may be
    given as a float32 sparse COO tensor ``(batch, n_features)``: what
    ``SparseEpisodicRolloutBuffer(sparse_samples=True)`` serves (``sb3_vpg.common.sparse``).
"""

from typing import Protocol

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy

from sb3_vpg.common.mlp_actor import mlp_rollout_actor


class RolloutActor(Protocol):
    def sample(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Actions for a batch of observations (one per env, as the env gave them) and their log-probabilities."""
        ...


def rollout_actor(policy: BasePolicy) -> RolloutActor | None:
    """The policy's :class:`RolloutActor` for the next rollout (its own, else the numpy MLP actor where that one
    is exact), or None."""
    make_actor = getattr(policy, "rollout_actor", None)
    return make_actor() if callable(make_actor) else mlp_rollout_actor(policy)


def env_actions(policy: BasePolicy, actions: np.ndarray) -> np.ndarray:
    """``actions`` as the env takes them: the policy's ``to_env_actions`` where it has one, else SB3's step
    (rescaled from [-1, 1] where the policy squashes its output, clipped to a ``Box``'s bounds otherwise)."""
    to_env_actions = getattr(policy, "to_env_actions", None)
    if callable(to_env_actions):
        return to_env_actions(actions)
    if not isinstance(policy.action_space, spaces.Box):
        return actions
    if policy.squash_output:
        return policy.unscale_action(actions)
    return actions.clip(policy.action_space.low, policy.action_space.high)
