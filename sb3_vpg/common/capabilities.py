"""
Optional capabilities a policy can offer REINFORCE, looked up by name so that any policy can opt in; the algorithm
never checks for a particular policy class. ``sb3_vpg.pong.KarpathyPolicy`` offers both.

``policy.rollout_actor() -> SparseRolloutActor | None``
    An object that acts for one rollout faster than the torch policy: the same distribution and the same random
    draws (from torch's global generator), computed from the observations' non-zero entries
    (:func:`~sb3_vpg.common.sparse.sparse_rows`). It is a snapshot of the weights; REINFORCE asks for a new one at
    the start of every rollout (after ``on_rollout_start``) and uses it only without a learned baseline (it gives
    no values). Return None where the actor would not compute the same policy (another device, another features
    extractor, ...); REINFORCE then acts through the torch policy. With ``sparse_observations`` the buffer stores
    the rows the actor was given, so each observation is scanned once.

``policy.takes_sparse_features: bool``
    True when the policy's features are the flattened observations as floats, so that a batch may be given as a
    float32 sparse COO tensor ``(batch, n_features)`` (SB3's preprocessing and flattening pass it through).
    With ``sparse_observations`` the buffer then serves the update such tensors instead of dense arrays.
"""

from typing import Protocol

import numpy as np
from stable_baselines3.common.policies import BasePolicy

from sb3_vpg.common.sparse import SparseRows


class SparseRolloutActor(Protocol):
    def sample(self, observations: SparseRows) -> tuple[np.ndarray, np.ndarray]:
        """Actions for a batch of observations given as their ``sparse_rows``, and their log-probabilities."""
        ...


def rollout_actor(policy: BasePolicy) -> SparseRolloutActor | None:
    """The policy's :class:`SparseRolloutActor` for the next rollout, or None if it offers none."""
    make_actor = getattr(policy, "rollout_actor", None)
    return make_actor() if callable(make_actor) else None


def takes_sparse_features(policy: BasePolicy) -> bool:
    """Whether the policy accepts a batch of flattened observations as a sparse float tensor."""
    return getattr(policy, "takes_sparse_features", False) is True
