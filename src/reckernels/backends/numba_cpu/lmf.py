"""Logistic MF half-epochs, Numba CPU: the reference's draws and arithmetic, blocks of rows in parallel.

Rows only read the fixed side, so the result does not depend on the thread count. A value
computed in float64 (sigma) is brought back to the factors' dtype by storing it in a small
array of that dtype.
"""

import math

import numba
import numpy as np

from .._lanes import dot4_rows
from .._slices import Pace, run_sliced
from ..reference.lmf import check_lmf_input, lmf_work
from ._prefetch import prefetch_row
from ._threads import numba_threads
from .sampling import _GAMMA, _ONE, _mix64

_S32 = np.uint64(32)

_BLOCK = 64  # rows per parallel task: one gradient buffer each
_AHEAD = 4  # rows prefetched ahead
_PACE = Pace()  # the halves' slice sizes, carried from one epoch to the next


@numba.njit(cache=True, nogil=True, inline="always")
def _draw(key, k, nnz):
    return np.int64(((_mix64(key + (np.uint64(k) + _ONE) * _GAMMA) >> _S32) * nnz) >> _S32)


@numba.njit(cache=True, nogil=True, inline="always")
def _sigmoid(s):
    if s >= 0:
        return 1.0 / (1.0 + math.exp(-s))
    e = math.exp(s)
    return e / (1.0 + e)


# the reference's four-lane dot (backends/_lanes.py)
_dot = numba.njit(cache=True, nogil=True, inline="always")(dot4_rows)


@numba.njit(cache=True, nogil=True)
def _row(r, indptr, indices, data, X, Y, G, lr, reg, neg_prop, max_negatives, fixed_col, key, d, cast, row_sums):
    K = X.shape[1]
    lo, hi = indptr[r], indptr[r + 1]
    nnz = np.uint64(len(indices))
    one = cast[2]
    for f in range(K):
        d[f] = cast[1]
    pos = 0.0
    for p in range(lo, hi):  # the other side's rows come in random order: prefetch _AHEAD ahead
        if p + _AHEAD < hi:
            prefetch_row(Y, indices[p + _AHEAD])
        i = indices[p]
        s = _dot(X, r, Y, i, cast[1])
        sig = _sigmoid(np.float64(s))
        pos += sig
        cast[0] = sig
        w = data[p] * (one - cast[0])
        for f in range(K):
            d[f] += w * Y[i, f]
    n_neg = min(max_negatives, (hi - lo) * neg_prop)
    neg = 0.0
    for k in range(min(_AHEAD, n_neg)):
        prefetch_row(Y, indices[_draw(key, k, nnz)])
    for k in range(n_neg):
        if k + _AHEAD < n_neg:
            prefetch_row(Y, indices[_draw(key, k + _AHEAD, nnz)])
        i = indices[_draw(key, k, nnz)]
        s = _dot(X, r, Y, i, cast[1])
        cast[0] = _sigmoid(np.float64(s))
        z = cast[0]
        neg += z
        for f in range(K):
            d[f] -= z * Y[i, f]
    for f in range(K):
        if f == fixed_col:
            continue
        d[f] -= reg * X[r, f]
        G[r, f] += d[f] * d[f]
        cast[0] = lr / math.sqrt(1e-6 + np.float64(G[r, f]))
        X[r, f] += cast[0] * d[f]
    row_sums[r, 0] = pos
    row_sums[r, 1] = neg


@numba.njit(parallel=True, cache=True, nogil=True)
def _half(indptr, indices, data, X, Y, G, lr, reg, neg_prop, max_negatives, fixed_col, seed, stream, row_sums,
          row_start, row_stop):
    """Rows row_start .. row_stop - 1 (independent: the same in one call or in several)."""
    base = _mix64(_mix64(seed + _GAMMA) ^ ((stream + _ONE) * _GAMMA))
    for b in numba.prange((row_stop - row_start + _BLOCK - 1) // _BLOCK):
        d = np.empty(X.shape[1], X.dtype)
        cast = np.zeros(3, X.dtype)  # [0]: scratch for casts, [1]: 0, [2]: 1
        cast[2] = 1
        for r in range(row_start + b * _BLOCK, min(row_stop, row_start + (b + 1) * _BLOCK)):
            if indptr[r] < indptr[r + 1]:
                key = _mix64(base ^ ((np.uint64(r) + _ONE) * _GAMMA))
                _row(r, indptr, indices, data, X, Y, G, lr, reg, neg_prop, max_negatives, fixed_col, key, d, cast,
                     row_sums)


def lmf_half(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col, seed, stream,
             n_threads=1):
    """See reckernels.backends.reference.lmf."""
    check_lmf_input(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col,
                    seed, stream)
    row_sums = np.zeros((X.shape[0], 2))
    args = (np.float64(learning_rate), X.dtype.type(reg), np.int64(neg_prop), np.int64(max_negatives),
            np.int64(fixed_col % X.shape[1]), np.uint64(seed), np.uint64(stream), row_sums)
    with numba_threads(n_threads):  # rows are independent: short calls, so Ctrl-C is answered (_slices.py)
        run_sliced(lambda lo, hi: _half(indptr, indices, data, X, Y, G, *args, np.int64(lo), np.int64(hi)), 0,
                   X.shape[0], indptr, **lmf_work(X.shape[1], neg_prop, max_negatives), pace=_PACE)
    return float(row_sums[:, 0].sum()), float(row_sums[:, 1].sum())
