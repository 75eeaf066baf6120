"""Negative sampling, Numba CPU: users in parallel, same algorithm and numbers as the reference.

All random-number arithmetic stays in uint64 (numba turns uint64-with-int64 arithmetic into
float64, so every constant and shift amount is a uint64 here).
"""

import numba
import numpy as np

from ..reference.sampling import check_sampling_input
from ._threads import numba_threads

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_ONE = np.uint64(1)


@numba.njit(cache=True, nogil=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(cache=True, nogil=True, inline="always")
def _kth_missing(indices, lo, hi, r):
    a, b = 0, hi - lo
    while a < b:
        mid = (a + b) // 2
        if indices[lo + mid] - mid <= r:
            a = mid + 1
        else:
            b = mid
    return r + a


@numba.njit(parallel=True, cache=True, nogil=True)
def _sample(indptr, indices, n_items, n_negatives, seed, epoch, out):
    for u in numba.prange(len(indptr) - 1):
        lo, hi = indptr[u], indptr[u + 1]
        n_free = n_items - (hi - lo)
        key = _mix64(seed + _GAMMA)
        key = _mix64(key ^ ((epoch + _ONE) * _GAMMA))
        key = _mix64(key ^ ((np.uint64(u) + _ONE) * _GAMMA))
        for k in range((hi - lo) * n_negatives):
            if n_free <= 0:
                out[lo * n_negatives + k] = -1
            else:
                x = _mix64(key + (np.uint64(k) + _ONE) * _GAMMA)
                out[lo * n_negatives + k] = _kth_missing(indices, lo, hi, np.int64(x % np.uint64(n_free)))


def sample_negatives(indptr, indices, n_items, n_negatives, seed, epoch, out, n_threads=1):
    check_sampling_input(indptr, indices, n_items, n_negatives, seed, epoch, out)
    with numba_threads(n_threads):
        _sample(indptr, indices, np.int64(n_items), np.int64(n_negatives), np.uint64(seed), np.uint64(epoch), out)
