# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Top-k per row of a dense score block with seen items excluded (every model's recommend()).

Rows run in parallel. Each row's output row is its own size-k heap (worst entry at the root),
filled in one pass over the items in index order, then heap-sorted best first; equal scores keep
the smaller item index, as reckernels.topn.select_topk does. Items scored -inf (excluded, or no
estimate) are never selected: leftover slots hold -1 / -inf. Bounds checks are off: the wrapper
in reckernels.backends.cython.topn checks shapes; users and the seen CSR come from a Dataset.
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY

ctypedef long long i64
ctypedef int i32


include "_topk_heap.pxi"


def topk_rows(double[:, ::1] scores, const i32[::1] users, const i64[::1] seen_indptr, const i32[::1] seen_indices,
              bint exclude, i64[:, ::1] out_idx, double[:, ::1] out_val, int n_threads):
    """Fill ``out_idx`` / ``out_val`` (n_rows, k); with ``exclude`` seen items become -inf in ``scores``."""
    cdef Py_ssize_t r, p
    cdef i32 u
    cdef Py_ssize_t k = out_idx.shape[1]
    if k == 0:
        return
    for r in prange(scores.shape[0], nogil=True, schedule="guided", num_threads=n_threads):
        u = users[r]
        if exclude and u >= 0:
            for p in range(seen_indptr[u], seen_indptr[u + 1]):
                scores[r, seen_indices[p]] = -INFINITY
        _top_row(&scores[r, 0], scores.shape[1], k, &out_val[r, 0], &out_idx[r, 0])
