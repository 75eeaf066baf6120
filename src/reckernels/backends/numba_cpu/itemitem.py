"""Item-item neighbourhood scores, Numba CPU: the loop of kernels/itemitem.pyx, users in parallel.

Numba (LLVM without fastmath) does not fuse the multiply into the add, so each term is rounded
as in the reference."""

import numba
import numpy as np

from ..reference.itemitem import check_itemitem_args
from .._slices import run_sliced, score_row_work
from ._threads import numba_threads


@numba.njit(parallel=True, cache=True, nogil=True)
def _scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out):
    n_items = out.shape[1]
    for r in numba.prange(out.shape[0]):
        row = out[r]
        for j in range(n_items):
            row[j] = 0.0
        u = users[r]
        if u < 0:
            continue
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            w = data[p]
            for q in range(s_indptr[i], s_indptr[i + 1]):
                row[s_indices[q]] += s_data[q] * w


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    indptr, indices = np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(indices, dtype=np.int32)
    data, users = np.ascontiguousarray(data, dtype=np.float64), np.ascontiguousarray(users, dtype=np.int32)
    s_indptr = np.ascontiguousarray(s_indptr, dtype=np.int64)
    s_indices = np.ascontiguousarray(s_indices, dtype=np.int32)
    s_data = np.ascontiguousarray(s_data, dtype=np.float64)
    with numba_threads(n_threads):  # users are independent: short calls, so Ctrl-C is answered (_slices.py)
        run_sliced(lambda lo, hi: _scores(indptr, indices, data, users[lo:hi], s_indptr, s_indices, s_data,
                                          out[lo:hi]),
                   0, len(users), per_row=score_row_work(indptr, s_indptr, out.shape[1]))
