"""Top-k per row on the GPU: one thread per row, its output row serving as its size-k heap.

The heap device functions are shared with the k-NN kernels (numba_cuda/knn.py); the root is
the worst entry: (s1, j1) ranks below (s2, j2) when s1 < s2, or s1 == s2 and j1 > j2.
"""

import math

import numpy as np
from numba import cuda

from .._knn import check_topk_inputs
from ._device import blocks_for


@cuda.jit(device=True, inline=True)
def worse(s1, j1, s2, j2):
    return s1 < s2 or (s1 == s2 and j1 > j2)


@cuda.jit(device=True)
def sift_down(hs, hj, n, root):
    while True:
        child = 2 * root + 1
        if child >= n:
            return
        if child + 1 < n and worse(hs[child + 1], hj[child + 1], hs[child], hj[child]):
            child += 1
        if not worse(hs[child], hj[child], hs[root], hj[root]):
            return
        s = hs[root]
        hs[root] = hs[child]
        hs[child] = s
        j = hj[root]
        hj[root] = hj[child]
        hj[child] = j
        root = child


@cuda.jit(device=True)
def heap_push(hs, hj, n, s, j):
    hs[n] = s
    hj[n] = j
    pos = n
    while pos > 0:
        parent = (pos - 1) >> 1
        if not worse(hs[pos], hj[pos], hs[parent], hj[parent]):
            return
        t = hs[pos]
        hs[pos] = hs[parent]
        hs[parent] = t
        tj = hj[pos]
        hj[pos] = hj[parent]
        hj[parent] = tj
        pos = parent


@cuda.jit(device=True)
def heap_sort_best_first(hs, hj, n):
    end = n - 1
    while end > 0:
        t = hs[0]
        hs[0] = hs[end]
        hs[end] = t
        tj = hj[0]
        hj[0] = hj[end]
        hj[end] = tj
        sift_down(hs, hj, end, 0)
        end -= 1


@cuda.jit
def _topk_rows(scores, users, seen_indptr, seen_indices, exclude, out_idx, out_val):
    r = cuda.grid(1)
    if r >= scores.shape[0]:
        return
    k = out_idx.shape[1]
    u = users[r]
    if exclude and u >= 0:
        for p in range(seen_indptr[u], seen_indptr[u + 1]):
            scores[r, seen_indices[p]] = -math.inf
    hs = out_val[r]
    hj = out_idx[r]
    n = 0
    for j in range(scores.shape[1]):
        s = scores[r, j]
        if s == -math.inf:
            continue
        if n < k:
            heap_push(hs, hj, n, s, j)
            n += 1
        elif s > hs[0]:
            hs[0] = s
            hj[0] = j
            sift_down(hs, hj, n, 0)
    heap_sort_best_first(hs, hj, n)
    for j in range(n, k):
        hs[j] = -math.inf
        hj[j] = -1


def topk_rows(scores, users, seen_indptr, seen_indices, k, exclude, n_threads=1):
    """Same contract as the CPU backends; ``scores`` is copied back with the seen items at -inf."""
    check_topk_inputs(scores, users, seen_indptr, seen_indices, k)
    d_scores = cuda.to_device(scores)
    d_idx = cuda.device_array((scores.shape[0], k), dtype=np.int64)
    d_val = cuda.device_array((scores.shape[0], k), dtype=np.float64)
    if scores.shape[0]:
        _topk_rows[blocks_for(scores.shape[0])](d_scores, cuda.to_device(users), cuda.to_device(seen_indptr),
                                                cuda.to_device(seen_indices), bool(exclude), d_idx, d_val)
    d_scores.copy_to_host(scores)
    return d_idx.copy_to_host(), d_val.copy_to_host()
