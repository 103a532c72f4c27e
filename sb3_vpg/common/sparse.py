"""
Mostly-zero observations (Pong frame differences are ~1% non-zero) as their non-zero entries: the helpers, and
the rollout buffer that stores observations that way.
"""

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces

from sb3_vpg.common.buffers import EpisodicRolloutBuffer

# One observation per entry: (flat indices of its non-zero entries as int32, their values in the original dtype)
SparseRows = list[tuple[np.ndarray, np.ndarray]]


def sparse_rows(observations: np.ndarray) -> SparseRows:
    """The non-zero entries of each observation of a batch (first axis), flattened."""
    n_rows = len(observations)
    flat = np.asarray(observations).reshape(n_rows, -1)
    n_features = flat.shape[1]
    # One scan of the whole batch, on booleans: numpy finds non-zero booleans ~4x faster than non-zero int8
    positions = np.flatnonzero(flat != 0)
    values = flat.reshape(-1)[positions]
    if n_rows == 1:
        return [(positions.astype(np.int32), values)]
    bounds = np.searchsorted(positions, np.arange(1, n_rows) * n_features).tolist()
    indices = positions.astype(np.int32)
    rows, start = [], 0
    for row_idx, stop in enumerate([*bounds, len(positions)]):
        rows.append((indices[start:stop] - np.int32(row_idx * n_features), values[start:stop]))
        start = stop
    return rows


def densify(rows: SparseRows, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The inverse of :func:`sparse_rows`: a dense ``(len(rows), *shape)`` array."""
    dense = np.zeros((len(rows), int(np.prod(shape))), dtype=dtype)
    for dense_row, (indices, values) in zip(dense, rows, strict=True):
        dense_row[indices] = values
    return dense.reshape((len(rows), *shape))


def sparse_batch(rows: SparseRows, n_features: int, device: th.device | str = "cpu") -> th.Tensor:
    """
    The flattened batch ``(len(rows), n_features)`` as a float32 sparse COO tensor, built from the stored entries
    without a dense copy (the indices of each row are sorted, so it is already coalesced).
    """
    lengths = [len(indices) for indices, _ in rows]
    row_ids = np.repeat(np.arange(len(rows)), lengths)
    columns = np.concatenate([indices for indices, _ in rows]) if rows else np.zeros(0, np.int32)
    values = np.concatenate([values for _, values in rows]) if rows else np.zeros(0, np.float32)
    indices = th.from_numpy(np.stack([row_ids, columns.astype(np.int64)]))
    return th.sparse_coo_tensor(
        indices,
        th.from_numpy(values.astype(np.float32)),
        (len(rows), n_features),
        device=device,
        is_coalesced=True,
        check_invariants=False,
    )


class SparseEpisodicRolloutBuffer(EpisodicRolloutBuffer):
    """
    :class:`~sb3_vpg.common.buffers.EpisodicRolloutBuffer` that stores each observation as its non-zero entries
    (:func:`sparse_rows`) and rebuilds dense arrays only for the batch being trained on. For mostly-zero
    observations such as Pong frame differences (~1% non-zero) that is a few bytes per step instead of one per
    pixel; the samples are the same as dense storage gives. Box observation spaces only.

    Use it with ``REINFORCE(..., rollout_buffer_class=SparseEpisodicRolloutBuffer)``.

    :param sparse_samples: Serve the observations as flattened float32 sparse COO tensors ``(batch, n_features)``
        instead of dense arrays, for a policy whose features are the flattened observations as floats and that
        takes such tensors (:class:`~sb3_vpg.pong.policies.KarpathyPolicy`, whose ``takes_sparse_features`` says
        so). Other policies need the default, dense samples.
    :param kwargs: The parameters of :class:`~sb3_vpg.common.buffers.EpisodicRolloutBuffer`
    """

    def __init__(self, *args: Any, sparse_samples: bool = False, **kwargs: Any):
        self.sparse_samples = sparse_samples
        super().__init__(*args, **kwargs)

    def _check_observation_space(self, observation_space: spaces.Space) -> None:
        if not isinstance(observation_space, spaces.Box):
            raise ValueError(f"SparseEpisodicRolloutBuffer needs a Box observation space, got {observation_space}")

    def _observation_arrays(self, n_rows: int) -> dict[str, np.ndarray]:
        return {"observations": np.empty((n_rows, self.n_envs), dtype=object)}  # one (indices, values) per step

    def _write_observations(self, row: int, obs: Any) -> None:
        stored = self.arrays["observations"][row]
        for env, entries in enumerate(sparse_rows(np.reshape(obs, (self.n_envs, *self.obs_shape)))):
            stored[env] = entries

    def _observation_samples(self, rows: np.ndarray, envs: np.ndarray) -> th.Tensor:
        entries = list(self.arrays["observations"][rows, envs])
        if self.sparse_samples:
            return sparse_batch(entries, int(np.prod(self.obs_shape)), self.device)
        return th.as_tensor(densify(entries, self.obs_shape, self.observation_space.dtype), device=self.device)  # type: ignore[arg-type]
