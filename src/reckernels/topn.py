"""Top-k selection over dense score blocks, with seen items excluded.

Ties are broken deterministically: for equal scores the item with the smaller inner id
comes first. Slots with no candidate left (k larger than the unseen items) get score -inf.
"""

from __future__ import annotations

import numpy as np


def exclude_seen(scores: np.ndarray, users: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> None:
    """Set ``scores[r, j] = -inf`` for every item j that user ``users[r]`` rated (unknown users: -1)."""
    known = users >= 0
    if not known.any():
        return
    rows = np.flatnonzero(known)
    starts, ends = indptr[users[rows]], indptr[users[rows] + 1]
    lengths = ends - starts
    row_of = np.repeat(rows, lengths)
    # positions start..end-1 of each row, concatenated without a Python loop
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    scores[row_of, indices[np.repeat(starts, lengths) + offsets]] = -np.inf


def select_topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest entries of each row, best first, ties by index."""
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    if k == 0:
        return np.empty((n_rows, 0), np.int64), np.empty((n_rows, 0), scores.dtype)
    if k < n_cols:
        # the k-th largest value of each row; everything strictly above it is in, ties fill up by index
        part = np.partition(scores, n_cols - k, axis=1)[:, n_cols - k]
        cand = scores >= part[:, None]
        idx = np.empty((n_rows, k), np.int64)
        for r in range(n_rows):
            c = np.flatnonzero(cand[r])
            order = np.lexsort((c, -scores[r, c]))[:k]
            idx[r] = c[order]
    else:
        idx = np.lexsort((np.broadcast_to(np.arange(n_cols), scores.shape), -scores), axis=1)
    return idx, np.take_along_axis(scores, idx, axis=1)
