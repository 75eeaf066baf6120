"""BPR epochs on the GPU: the reference's samples and update, Hogwild over ``n_threads`` GPU updaters.

Updater t runs the samples of chunk t = [t nnz // T, (t + 1) nnz // T) in order, all updaters
at once on the shared factors without locks (as implicit's GPU BPR, which races one thread per
sample). One updater is the reference's serial order, which is how the contract suite checks
it; the estimator launches up to 32768. The factors travel to the device and back per call.
A float64 value (the exponential) is brought to the factors' dtype through a per-updater
slot of that dtype.
"""

import math

import numpy as np
from numba import cuda

from ..reference.bpr import check_bpr_input
from ..reference.sampling import user_key
from ._counter_rng import GAMMA, ONE, S32, mix64, quiet_overflow
from ._device import blocks_for


@cuda.jit(device=True, inline=True)
def _liked(indices, lo, hi, item):
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == item


@cuda.jit
def _updaters(n_updaters, indptr, indices, rows, X, Y, lr, reg, verify, key, cast, counts):
    t = cuda.grid(1)
    if t >= n_updaters:
        return
    nnz = indices.shape[0]
    F = X.shape[1] - 1
    correct = 0
    skipped = 0
    for s in range(t * nnz // n_updaters, (t + 1) * nnz // n_updaters):
        li = np.int64(((mix64(key + np.uint64(2 * s + 1) * GAMMA) >> S32) * np.uint64(nnz)) >> S32)
        di = np.int64(((mix64(key + np.uint64(2 * s + 2) * GAMMA) >> S32) * np.uint64(nnz)) >> S32)
        u = rows[li]
        i = indices[li]
        j = indices[di]
        if verify and _liked(indices, indptr[u], indptr[u + 1], j):
            skipped += 1
            continue
        score = cast[t, 1]  # 0 in the factors' dtype
        for f in range(F + 1):
            score = score + X[u, f] * (Y[i, f] - Y[j, f])
        cast[t, 0] = 1.0 / (1.0 + math.exp(np.float64(score)))
        z = cast[t, 0]
        if z < 0.5:
            correct += 1
        for f in range(F):
            tmp = X[u, f]
            X[u, f] += lr * (z * (Y[i, f] - Y[j, f]) - reg * X[u, f])
            Y[i, f] += lr * (z * tmp - reg * Y[i, f])
            Y[j, f] += lr * (-z * tmp - reg * Y[j, f])
        Y[i, F] += lr * (z - reg * Y[i, F])
        Y[j, F] += lr * (-z - reg * Y[j, F])
    counts[t, 0] = correct
    counts[t, 1] = skipped


def bpr_epoch(indptr, indices, X, Y, learning_rate, reg, verify_negative, seed, epoch, n_threads=1):
    """See reckernels.backends.reference.bpr; ``n_threads`` is the number of concurrent GPU updaters."""
    check_bpr_input(indptr, indices, X, Y, learning_rate, reg, seed, epoch)
    nnz = len(indices)
    if nnz == 0:
        return 0, 0
    T = max(1, min(int(n_threads), nnz))
    t = X.dtype.type
    rows = np.repeat(np.arange(X.shape[0], dtype=np.int32), np.diff(indptr))
    d_in = [cuda.to_device(a) for a in (indptr, indices, rows)]
    d_X, d_Y = cuda.to_device(X), cuda.to_device(Y)
    cast, counts = cuda.to_device(np.zeros((T, 2), X.dtype)), cuda.to_device(np.zeros((T, 2), np.int64))
    blocks, threads = blocks_for(T)
    with quiet_overflow():
        _updaters[blocks, threads](T, *d_in, d_X, d_Y, t(learning_rate), t(reg), bool(verify_negative),
                                   np.uint64(user_key(int(seed), int(epoch), 0)), cast, counts)
    d_X.copy_to_host(X)
    d_Y.copy_to_host(Y)
    total = counts.copy_to_host().sum(axis=0)
    return int(total[0]), int(total[1])
