"""
Invalid-action masks for REINFORCE and VPG, in sb3-contrib's protocol (MaskablePPO's): the env exposes
``action_masks()``, one flag per action (per action of each sub-space for ``MultiDiscrete``, two per dimension for
``MultiBinary``, as sb3-contrib's maskable distributions take them). This module needs sb3-contrib (the ``[masks]``
extra); ``import sb3_vpg`` does not.
"""

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBufferSamples, MaskableRolloutBufferSamples
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples, RolloutBufferSamples

from sb3_vpg.common.buffers import DictEpisodicRolloutBuffer, EpisodicRolloutBuffer

MASKABLE_SPACES = (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def mask_segments(action_space: spaces.Space) -> list[int]:
    """
    How many mask flags each sub-space has, in the order of the mask: ``[n]`` for ``Discrete(n)``, ``nvec`` for
    ``MultiDiscrete``, ``[2] * n`` for ``MultiBinary(n)``.

    :raises ValueError: for an action space that masks do not apply to
    """
    if isinstance(action_space, spaces.Discrete):
        return [int(action_space.n)]
    if isinstance(action_space, spaces.MultiDiscrete) and action_space.nvec.ndim == 1:
        return [int(n) for n in action_space.nvec]
    if isinstance(action_space, spaces.MultiBinary) and isinstance(action_space.n, int | np.integer):
        return [2] * int(action_space.n)
    raise ValueError(
        "action masks need a Discrete, a one-dimensional MultiDiscrete or a one-dimensional MultiBinary action "
        f"space, got {action_space}"
    )


def check_action_masks(masks: Any, action_space: spaces.Space, n_envs: int) -> np.ndarray:
    """
    The masks of ``n_envs`` envs as a bool array ``(n_envs, n_flags)``, checked: one row per env, one flag per
    action (:func:`mask_segments`), and at least one allowed action in every sub-space.

    :raises ValueError: naming the env (and sub-space) whose mask is wrong
    """
    segments = mask_segments(action_space)
    masks = np.asarray(masks)
    expected = (n_envs, sum(segments))
    if masks.size != n_envs * expected[1]:
        raise ValueError(
            f"action_masks() must give {expected[1]} flags per env for {action_space} ({n_envs} envs), got an array "
            f"of shape {masks.shape}"
        )
    masks = masks.reshape(expected).astype(bool, copy=False)
    start = 0
    for dimension, size in enumerate(segments):
        allowed = masks[:, start : start + size].any(axis=1)
        if not allowed.all():
            env = int(np.flatnonzero(~allowed)[0])
            where = f" in dimension {dimension}" if len(segments) > 1 else ""
            raise ValueError(f"action_masks() of env {env} allows no action{where} of {action_space}")
        start += size
    return masks


class MaskableEpisodicRolloutBuffer(EpisodicRolloutBuffer):
    """
    :class:`~sb3_vpg.common.buffers.EpisodicRolloutBuffer` that also keeps the action masks each step was sampled
    under (as sb3-contrib's ``MaskableRolloutBuffer``), carried steps included, and serves them in its batches
    (``MaskableRolloutBufferSamples.action_masks``) so that the update applies the same masks. A step added
    without masks (``learn(use_masking=False)``) allows every action. Same parameters.
    """

    _masked_samples_type: type[MaskableRolloutBufferSamples | MaskableDictRolloutBufferSamples] = MaskableRolloutBufferSamples

    def __init__(
        self, buffer_size: int, observation_space: spaces.Space, action_space: spaces.Space, *args: Any, **kwargs: Any
    ):
        self.n_mask_flags = sum(mask_segments(action_space))  # read by _allocate in the base class's __init__
        super().__init__(buffer_size, observation_space, action_space, *args, **kwargs)

    def _allocate(self, n_rows: int) -> dict[str, np.ndarray]:
        return {**super()._allocate(n_rows), "action_masks": np.ones((n_rows, self.n_envs, self.n_mask_flags), dtype=bool)}

    def _clear_ready(self) -> None:
        super()._clear_ready()
        self.action_masks = np.ones((0, self.n_mask_flags), dtype=bool)

    def add(self, *args: Any, action_masks: np.ndarray | None = None, **kwargs: Any) -> None:
        """:meth:`EpisodicRolloutBuffer.add`, with the masks of allowed actions (None: every action allowed)."""
        super().add(*args, **kwargs)  # may move or grow the arrays: the step's row is known after it
        row = self.arrays["action_masks"][self.pos - 1]
        row[:] = True if action_masks is None else np.reshape(action_masks, row.shape)

    def _finalize(self, rows: np.ndarray, envs: np.ndarray, groups: np.ndarray) -> None:
        super()._finalize(rows, envs, groups)
        self.action_masks = self.arrays["action_masks"][rows, envs]

    def _get_samples(  # type: ignore[override]
        self, batch_inds: np.ndarray, env: Any = None
    ) -> MaskableRolloutBufferSamples | MaskableDictRolloutBufferSamples:
        samples: RolloutBufferSamples | DictRolloutBufferSamples = super()._get_samples(batch_inds)
        masks = th.as_tensor(self.action_masks[batch_inds], device=self.device)
        return self._masked_samples_type(*samples, masks)  # type: ignore[call-arg]


class MaskableDictEpisodicRolloutBuffer(MaskableEpisodicRolloutBuffer, DictEpisodicRolloutBuffer):
    """:class:`MaskableEpisodicRolloutBuffer` for ``Dict`` observation spaces. Same parameters."""

    _masked_samples_type = MaskableDictRolloutBufferSamples
