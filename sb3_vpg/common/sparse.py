"""Mostly-zero observations (Pong frame differences are ~1% non-zero) as their non-zero entries."""

import numpy as np
import torch as th

# One observation per entry: (flat indices of its non-zero entries as int32, their values in the original dtype)
SparseRows = list[tuple[np.ndarray, np.ndarray]]


def sparse_rows(observations: np.ndarray) -> SparseRows:
    """The non-zero entries of each observation of a batch (first axis), flattened."""
    rows = []
    for row in np.asarray(observations).reshape(len(observations), -1):
        indices = np.flatnonzero(row)
        rows.append((indices.astype(np.int32), row[indices]))
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
    without a dense copy (``flatnonzero`` indices are sorted, so it is already coalesced).
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
