"""Top-k per row, Numba CPU: rows in parallel, each output row is its own size-k heap.

In the heap the entry at the root is the worst: (s1, j1) ranks below (s2, j2) when s1 < s2, or
s1 == s2 and j1 > j2.
"""

import numba
import numpy as np

from .._knn import check_topk_inputs
from ._threads import numba_threads


@numba.njit(inline="always", nogil=True, cache=True)
def worse(s1, j1, s2, j2):
    return s1 < s2 or (s1 == s2 and j1 > j2)


@numba.njit(nogil=True, cache=True)
def sift_down(hs, hj, n, root):
    while True:
        child = 2 * root + 1
        if child >= n:
            return
        if child + 1 < n and worse(hs[child + 1], hj[child + 1], hs[child], hj[child]):
            child += 1
        if not worse(hs[child], hj[child], hs[root], hj[root]):
            return
        hs[root], hs[child] = hs[child], hs[root]
        hj[root], hj[child] = hj[child], hj[root]
        root = child


@numba.njit(nogil=True, cache=True)
def heap_push(hs, hj, n, s, j):
    """Add (s, j) as entry n of a heap of n entries."""
    hs[n] = s
    hj[n] = j
    pos = n
    while pos > 0:
        parent = (pos - 1) >> 1
        if not worse(hs[pos], hj[pos], hs[parent], hj[parent]):
            return
        hs[pos], hs[parent] = hs[parent], hs[pos]
        hj[pos], hj[parent] = hj[parent], hj[pos]
        pos = parent


@numba.njit(nogil=True, cache=True)
def heap_sort_best_first(hs, hj, n):
    end = n - 1
    while end > 0:
        hs[0], hs[end] = hs[end], hs[0]
        hj[0], hj[end] = hj[end], hj[0]
        sift_down(hs, hj, end, 0)
        end -= 1


@numba.njit(parallel=True, nogil=True, cache=True)
def _topk_rows(scores, users, seen_indptr, seen_indices, exclude, out_idx, out_val):
    k = out_idx.shape[1]
    for r in numba.prange(scores.shape[0]):
        u = users[r]
        if exclude and u >= 0:
            for p in range(seen_indptr[u], seen_indptr[u + 1]):
                scores[r, seen_indices[p]] = -np.inf
        hs, hj = out_val[r], out_idx[r]
        n = 0
        for j in range(scores.shape[1]):
            s = scores[r, j]
            if s == -np.inf:
                continue
            if n < k:
                heap_push(hs, hj, n, s, j)
                n += 1
            elif s > hs[0]:  # items come in index order: an equal score never displaces a smaller index
                hs[0] = s
                hj[0] = j
                sift_down(hs, hj, n, 0)
        heap_sort_best_first(hs, hj, n)
        for j in range(n, k):
            hs[j] = -np.inf
            hj[j] = -1


def topk_rows(scores, users, seen_indptr, seen_indices, k, exclude, n_threads=1):
    check_topk_inputs(scores, users, seen_indptr, seen_indices, k)
    idx = np.empty((scores.shape[0], k), dtype=np.int64)
    val = np.empty((scores.shape[0], k))
    with numba_threads(n_threads):
        _topk_rows(scores, users, seen_indptr, seen_indices, bool(exclude), idx, val)
    return idx, val
