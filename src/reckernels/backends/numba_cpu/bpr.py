"""BPR epochs, Numba CPU: the reference's samples and update, Hogwild over n_threads chunks.

The samples are cut into n_threads contiguous chunks run in parallel without locks, as in the
Cython kernel, each advanced a range of steps per call (so Ctrl-C is answered between calls);
one thread is the reference's serial order. uint64 arithmetic for the draws
(see sampling.py). A value computed in float64 (the exponential) is brought back to the
factors' dtype by storing it in a one-element array of that dtype. The next samples' memory
is prefetched as in the Cython kernel (_prefetch.py).
"""

import math

import numba
import numpy as np

from .._slices import Pace, run_sliced
from ..reference.bpr import check_bpr_input
from ._prefetch import prefetch_item, prefetch_row
from ._threads import numba_threads
from .sampling import _GAMMA, _ONE, _mix64

_S32 = np.uint64(32)
_PACE = Pace()  # the epochs' slice sizes, carried from one epoch to the next


@numba.njit(cache=True, nogil=True, inline="always")
def _liked(indices, lo, hi, item):
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == item


@numba.njit(cache=True, nogil=True, inline="always")
def _draw(key, k, nnz):
    return np.int64(((_mix64(key + (np.uint64(k) + _ONE) * _GAMMA) >> _S32) * nnz) >> _S32)


@numba.njit(cache=True, nogil=True)
def _chunk(indptr, indices, rows, X, Y, lr, reg, verify, key, start, stop, counts):
    # as the Cython kernel: sample s + 4's CSR entries and sample s + 1's factor rows are
    # prefetched while sample s is computed (the draws are known ahead; prefetches change nothing)
    nnz = np.uint64(len(indices))
    F = X.shape[1] - 1
    cast = np.zeros(2, X.dtype)  # cast[0]: a float64 value in the factors' dtype; cast[1] stays 0
    ring = np.empty(16, np.int64)  # (liked, disliked) positions of sample q in slots 2 (q % 8), 2 (q % 8) + 1
    for q in range(start, start + 4):
        ring[2 * (q & 7)] = _draw(key, 2 * q, nnz)
        ring[2 * (q & 7) + 1] = _draw(key, 2 * q + 1, nnz)
    correct = 0
    skipped = 0
    for s in range(start, stop):
        q = s + 4
        a = _draw(key, 2 * q, nnz)
        b = _draw(key, 2 * q + 1, nnz)
        ring[2 * (q & 7)] = a
        ring[2 * (q & 7) + 1] = b
        prefetch_item(rows, a)
        prefetch_item(indices, a)
        prefetch_item(indices, b)
        q = s + 1
        if q < stop:
            prefetch_row(X, rows[ring[2 * (q & 7)]])
            prefetch_row(Y, indices[ring[2 * (q & 7)]])
            prefetch_row(Y, indices[ring[2 * (q & 7) + 1]])
        li = ring[2 * (s & 7)]
        di = ring[2 * (s & 7) + 1]
        u = rows[li]
        i = indices[li]
        j = indices[di]
        if verify and _liked(indices, indptr[u], indptr[u + 1], j):
            skipped += 1
            continue
        score = cast[1]
        for f in range(F + 1):
            score = score + X[u, f] * (Y[i, f] - Y[j, f])
        cast[0] = 1.0 / (1.0 + math.exp(np.float64(score)))
        z = cast[0]
        if z < 0.5:
            correct += 1
        for f in range(F):
            t = X[u, f]
            X[u, f] += lr * (z * (Y[i, f] - Y[j, f]) - reg * X[u, f])
            Y[i, f] += lr * (z * t - reg * Y[i, f])
            Y[j, f] += lr * (-z * t - reg * Y[j, f])
        Y[i, F] += lr * (z - reg * Y[i, F])
        Y[j, F] += lr * (-z - reg * Y[j, F])
    counts[0] += correct
    counts[1] += skipped


@numba.njit(parallel=True, cache=True, nogil=True)
def _rows(indptr, rows):
    for r in numba.prange(len(indptr) - 1):
        for p in range(indptr[r], indptr[r + 1]):
            rows[p] = r


@numba.njit(parallel=True, cache=True, nogil=True)
def _steps(indptr, indices, rows, X, Y, lr, reg, verify, seed, epoch, step_lo, step_hi, counts):
    """Steps step_lo .. step_hi - 1 of every chunk (as kernels/bpr.pyx's bpr_steps): chunk t runs its
    samples [c_t + step_lo, c_t + step_hi), so consecutive calls run each chunk in its order."""
    nnz = len(indices)
    n_chunks = counts.shape[0]
    key = _mix64(seed + _GAMMA)
    key = _mix64(key ^ ((epoch + _ONE) * _GAMMA))
    key = _mix64(key ^ _GAMMA)  # stream 0
    for t in numba.prange(n_chunks):
        lo = t * nnz // n_chunks + step_lo
        hi = min((t + 1) * nnz // n_chunks, t * nnz // n_chunks + step_hi)
        if lo < hi:
            _chunk(indptr, indices, rows, X, Y, lr, reg, verify, key, lo, hi, counts[t])


def bpr_epoch(indptr, indices, X, Y, learning_rate, reg, verify_negative, seed, epoch, n_threads=1):
    """See reckernels.backends.reference.bpr (rows sorted when ``verify_negative``)."""
    check_bpr_input(indptr, indices, X, Y, learning_rate, reg, seed, epoch)
    if len(indices) == 0:
        return 0, 0
    t = X.dtype.type
    nnz = len(indices)
    n_chunks = max(1, min(int(n_threads), nnz))
    rows = np.empty(nnz, np.int32)
    counts = np.zeros((n_chunks, 2), np.int64)
    args = (t(learning_rate), t(reg), bool(verify_negative), np.uint64(seed), np.uint64(epoch))
    with numba_threads(n_chunks):
        _rows(indptr, rows)
        # the chunks advance a range of steps per call, so Ctrl-C is answered between calls (_slices.py)
        run_sliced(lambda lo, hi: _steps(indptr, indices, rows, X, Y, *args, np.int64(lo), np.int64(hi), counts),
                   0, -(-nnz // n_chunks), per_row=n_chunks * X.shape[1], pace=_PACE)
    return int(counts[:, 0].sum()), int(counts[:, 1].sum())
