"""Logistic MF half-epochs on the GPU: one thread per row, the reference's draws and arithmetic.

Rows read only the fixed side, so the result equals the reference's whatever the schedule.
Each row keeps its gradient in a device buffer of X's shape; float64 values (sigma, the
AdaGrad step) reach the factors' dtype through a per-row slot of that dtype.
"""

import math

import numpy as np
from numba import cuda

from .._lanes import dot4_rows
from ..reference.lmf import check_lmf_input
from ..reference.sampling import GAMMA as _GAMMA_INT, MASK64, mix64 as _mix64_int
from ._counter_rng import GAMMA, ONE, S32, mix64, quiet_overflow
from ._device import blocks_for


@cuda.jit(device=True, inline=True)
def _sigmoid(s):
    if s >= 0:
        return 1.0 / (1.0 + math.exp(-s))
    e = math.exp(s)
    return e / (1.0 + e)


# the reference's four-lane dot (backends/_lanes.py)
_dot = cuda.jit(device=True, inline=True)(dot4_rows)


@cuda.jit
def _rows(indptr, indices, data, X, Y, G, lr, reg, neg_prop, max_negatives, fixed_col, base, D, cast, row_sums):
    r = cuda.grid(1)
    if r >= X.shape[0] or indptr[r] == indptr[r + 1]:
        return
    K = X.shape[1]
    lo, hi = indptr[r], indptr[r + 1]
    nnz = np.uint64(indices.shape[0])
    key = mix64(base ^ ((np.uint64(r) + ONE) * GAMMA))
    for f in range(K):
        D[r, f] = cast[r, 1]
    pos = 0.0
    for p in range(lo, hi):
        i = indices[p]
        s = _dot(X, r, Y, i, cast[r, 1])
        sig = _sigmoid(np.float64(s))
        pos += sig
        cast[r, 0] = sig
        w = data[p] * (cast[r, 2] - cast[r, 0])
        for f in range(K):
            D[r, f] += w * Y[i, f]
    n_neg = min(max_negatives, (hi - lo) * neg_prop)
    neg = 0.0
    for k in range(n_neg):
        i = indices[np.int64(((mix64(key + (np.uint64(k) + ONE) * GAMMA) >> S32) * nnz) >> S32)]
        s = _dot(X, r, Y, i, cast[r, 1])
        cast[r, 0] = _sigmoid(np.float64(s))
        z = cast[r, 0]
        neg += z
        for f in range(K):
            D[r, f] -= z * Y[i, f]
    for f in range(K):
        if f != fixed_col:
            D[r, f] -= reg * X[r, f]
            G[r, f] += D[r, f] * D[r, f]
            cast[r, 0] = lr / math.sqrt(1e-6 + np.float64(G[r, f]))
            X[r, f] += cast[r, 0] * D[r, f]
    row_sums[r, 0] = pos
    row_sums[r, 1] = neg


def lmf_half(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col, seed, stream,
             n_threads=1):
    """See reckernels.backends.reference.lmf; ``n_threads`` is not used (one GPU thread per row)."""
    check_lmf_input(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col,
                    seed, stream)
    n_rows, K = X.shape
    if n_rows == 0:
        return 0.0, 0.0
    base = _mix64_int(_mix64_int((int(seed) + _GAMMA_INT) & MASK64) ^ (((int(stream) + 1) * _GAMMA_INT) & MASK64))
    cast = np.zeros((n_rows, 3), X.dtype)
    cast[:, 2] = 1  # [0]: scratch for casts, [1]: 0, [2]: 1
    d_in = [cuda.to_device(a) for a in (indptr, indices, data)]
    d_X, d_Y, d_G = cuda.to_device(X), cuda.to_device(Y), cuda.to_device(G)
    row_sums = cuda.to_device(np.zeros((n_rows, 2)))
    blocks, threads = blocks_for(n_rows)
    with quiet_overflow():
        _rows[blocks, threads](*d_in, d_X, d_Y, d_G, float(learning_rate), X.dtype.type(reg), np.int64(neg_prop),
                               np.int64(max_negatives), np.int64(fixed_col % K), np.uint64(base),
                               cuda.device_array((n_rows, K), X.dtype), cuda.to_device(cast), row_sums)
    d_X.copy_to_host(X)
    d_G.copy_to_host(G)
    sums = row_sums.copy_to_host().sum(axis=0)
    return float(sums[0]), float(sums[1])
