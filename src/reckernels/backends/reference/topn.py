"""Top-k per row of a dense score block, seen items excluded: reckernels.topn's NumPy functions."""

import numpy as np

from ...topn import exclude_seen, select_topk


def topk_rows(scores, users, seen_indptr, seen_indices, k, exclude, n_threads=1):
    """(idx int64, val float64), both (n_rows, k): best first, ties by the smaller item index.

    With ``exclude`` the items each user (``users[r]``, -1 = unknown) rated are set to -inf in
    ``scores`` in place. Items scored -inf are never selected: slots left over hold -1 / -inf.
    """
    if exclude:
        exclude_seen(scores, users, seen_indptr, seen_indices)
    n_rows, n_cols = scores.shape
    idx = np.full((n_rows, k), -1, dtype=np.int64)
    val = np.full((n_rows, k), -np.inf)
    kk = min(k, n_cols)
    if kk:
        top, top_val = select_topk(scores, kk)
        idx[:, :kk] = np.where(top_val == -np.inf, -1, top)
        val[:, :kk] = top_val
    return idx, val
