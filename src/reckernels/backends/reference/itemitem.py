"""Item-item neighbourhood scores: a user's row times the top-K item-item similarity (the oracle).

Every backend exposes

``itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads)``
    For each r, ``out[r, j] = sum over the items i of user users[r] of data[u, i] * S[i, j]``:
    the user's row of the (un-weighted) interaction matrix, CSR (indptr, indices, data) by
    user, times the sparse item x item similarity S, CSR (s_indptr, s_indices, s_data), whose
    row i lists item i's kept neighbours. ``out`` is (len(users), n_items) float64, overwritten;
    a user id < 0 (unknown) gets a row of zeros. The sum runs over the user's items in their
    stored order, each adding its product S[i, j] * w as one term (implicit's
    NearestNeighboursScorer does the same, so float64 scores agree to the bit).
"""

import numpy as np


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    out[:] = 0.0
    for r, u in enumerate(np.asarray(users).tolist()):
        if u < 0:
            continue
        row = out[r]
        for p in range(int(indptr[u]), int(indptr[u + 1])):
            i, w = int(indices[p]), float(data[p])
            lo, hi = int(s_indptr[i]), int(s_indptr[i + 1])
            # one neighbour appears once per row, so this fancy-indexed add is the scalar loop's
            row[s_indices[lo:hi]] += s_data[lo:hi] * w


def check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out):
    """The shape checks every backend runs before its kernel (which has no bounds checks).

    Index ranges inside the CSR arrays are the caller's guarantee (Dataset and the fitted
    model build them); the user ids are checked here, O(len(users))."""
    n_users, n_items = len(indptr) - 1, len(s_indptr) - 1
    if len(indices) != len(data) or len(s_indices) != len(s_data):
        raise ValueError(f"indices ({len(indices)}) / data ({len(data)}) and s_indices ({len(s_indices)}) / "
                         f"s_data ({len(s_data)}) must have the same lengths.")
    if n_users < 0 or n_items < 0 or indptr[-1] != len(indices) or s_indptr[-1] != len(s_indices):
        raise ValueError("indptr and s_indptr must end at the number of stored values.")
    if out.ndim != 2 or out.shape != (len(users), n_items) or not out.flags.c_contiguous or out.dtype != np.float64:
        raise ValueError(f"out must be a C-contiguous float64 array of shape ({len(users)}, {n_items}), "
                         f"got {out.dtype} {out.shape}.")
    users = np.asarray(users)
    if len(users) and (users.max() >= n_users or users.min() < -1):
        raise ValueError(f"users must be inner ids in [0, {n_users}) or -1 (unknown).")
