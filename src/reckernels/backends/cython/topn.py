"""Top-k per row via the compiled kernel in kernels/topn.pyx."""

import numpy as np

from reckernels._cy import topn as _cy

from .._knn import check_topk_inputs


def topk_rows(scores, users, seen_indptr, seen_indices, k, exclude, n_threads=1):
    check_topk_inputs(scores, users, seen_indptr, seen_indices, k)
    idx = np.empty((scores.shape[0], k), dtype=np.int64)
    val = np.empty((scores.shape[0], k))
    _cy.topk_rows(scores, users, seen_indptr, seen_indices, bool(exclude), idx, val, max(1, int(n_threads)))
    return idx, val
