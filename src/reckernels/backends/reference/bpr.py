"""BPR epoch (Rendle et al. 2009) as implicit 0.7.3 trains it, written for clarity: the oracle.

Factors: X (n_users, F + 1) and Y (n_items, F + 1). Column F of Y is the item bias and
column F of X is a constant (1 for the estimator's users; the kernel never changes it), so the
score of (u, i) is X[u] . Y[i]. An epoch makes as many samples as there are interactions
(nnz). Sample s draws two positions of the interaction list (the by-user CSR):

    liked_index    = draw(2 s),  u = the row holding it,  i = indices[liked_index]
    disliked_index = draw(2 s + 1),                       j = indices[disliked_index]

so u is picked in proportion to its activity and j by popularity, as implicit does. With
``verify_negative`` a sample whose j the user liked (j == i included) is skipped. Otherwise,
with z = 1 / (1 + exp(X[u] . (Y[i] - Y[j]))) and for f < F, element by element:

    t = X[u, f]
    X[u, f] += lr (z (Y[i, f] - Y[j, f]) - reg X[u, f])
    Y[i, f] += lr (z t - reg Y[i, f])
    Y[j, f] += lr (-z t - reg Y[j, f])          (after Y[i, f]'s update when i == j)

then the biases Y[i, F] += lr (z - reg Y[i, F]) and Y[j, F] += lr (-z - reg Y[j, F]). The
sample counts as correct when z < 0.5 (the liked item already scores higher).

Draws are counter based (``_counter_rng``) on the stream ``user_key(seed, epoch, 0)``, so
they do not depend on threads. The compiled kernels split the samples into ``n_threads``
contiguous chunks, chunk t = [t nnz // T, (t + 1) nnz // T), updated concurrently without
locks (Hogwild, as implicit); with one thread they reproduce this serial order exactly.
Arithmetic is in the factors' dtype (the exponential in float64), the dot product summed
left to right.
"""

import numpy as np

from ._counter_rng import draws, user_key


def check_bpr_input(indptr, indices, X, Y, learning_rate, reg, seed, epoch):
    """What the unchecked compiled kernels rely on: shapes, dtypes, index ranges. O(n_users) plus a min/max."""
    for name, a in (("X", X), ("Y", Y)):
        if not isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64) or a.ndim != 2 \
                or not a.flags.c_contiguous or not a.flags.writeable:
            raise ValueError(f"{name} must be a writeable C-contiguous 2-d float32 or float64 array, got "
                             f"{type(a).__name__} {getattr(a, 'dtype', '')} {getattr(a, 'shape', '')}.")
    if X.dtype != Y.dtype or X.shape[1] != Y.shape[1] or X.shape[1] < 1:
        raise ValueError(f"X and Y need the same dtype and the same number (>= 1) of columns; got "
                         f"{X.dtype} {X.shape} and {Y.dtype} {Y.shape}.")
    if np.shares_memory(X, Y):
        raise ValueError("X and Y must not share memory.")
    indptr, indices = np.asarray(indptr), np.asarray(indices)
    if indptr.dtype != np.int64 or indices.dtype != np.int32:
        raise ValueError(f"indptr must be int64 and indices int32, got {indptr.dtype} and {indices.dtype}.")
    if len(indptr) != X.shape[0] + 1 or indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError(f"indptr must have length n_users + 1 = {X.shape[0] + 1}, start at 0, never decrease "
                         "and end at len(indices).")
    if len(indices) >= 2**32:
        raise ValueError(f"at most 2**32 - 1 interactions per call, got {len(indices)}.")
    if len(indices) and (indices.min() < 0 or indices.max() >= Y.shape[0]):
        raise ValueError(f"item indices must lie in [0, n_items={Y.shape[0]}).")
    for name, v in (("learning_rate", learning_rate), ("reg", reg)):
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}.")
    if not 0 <= seed < 2**64 or not 0 <= epoch < 2**63:
        raise ValueError(f"need 0 <= seed < 2**64 and 0 <= epoch < 2**63, got {seed} and {epoch}.")


def check_sorted_rows(indptr, indices):
    """Negative verification binary-searches each row: rows must be strictly increasing."""
    steps = np.diff(np.asarray(indices, dtype=np.int64))
    inner = np.ones(len(steps), dtype=bool)
    starts = np.asarray(indptr)[1:-1]
    inner[starts[(starts > 0) & (starts < len(indices))] - 1] = False  # a row boundary may step down
    if np.any(steps[inner] <= 0):
        raise ValueError("indices must be strictly increasing within each row (sort each user's items, "
                         "without duplicates).")


def bpr_samples(indptr, indices, seed, epoch):
    """(user, liked item, disliked item) of every sample of the epoch, in sample order."""
    nnz = len(indices)
    d = draws(user_key(seed, epoch, 0), 0, 2 * nnz, max(nnz, 1))
    liked_index, disliked_index = d[0::2], d[1::2]
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return rows[liked_index], indices[liked_index], indices[disliked_index]


def bpr_epoch(indptr, indices, X, Y, learning_rate, reg, verify_negative, seed, epoch, n_threads=1):
    """One epoch of nnz samples, updating X and Y in place; returns (correct, skipped).

    ``n_threads`` is part of the common signature; the reference runs the serial order.
    """
    check_bpr_input(indptr, indices, X, Y, learning_rate, reg, seed, epoch)
    if verify_negative:
        check_sorted_rows(indptr, indices)
    users, liked, disliked = bpr_samples(indptr, indices, seed, epoch)
    if verify_negative:
        lo, hi = indptr[users], indptr[users + 1]
        pos = np.array([lo_ + np.searchsorted(indices[lo_:hi_], j) for lo_, hi_, j in zip(lo, hi, disliked)],
                       dtype=np.int64)
        skip = (pos < hi) & (indices[np.minimum(pos, len(indices) - 1)] == disliked)
    else:
        skip = np.zeros(len(users), dtype=bool)
    t = X.dtype.type
    lr, rg = t(learning_rate), t(reg)
    F = X.shape[1] - 1
    correct = 0
    for u, i, j in zip(users[~skip], liked[~skip], disliked[~skip]):
        x, yi, yj = X[u], Y[i], Y[j]
        score = np.cumsum(x * (yi - yj), dtype=X.dtype)[-1]  # cumsum: strictly left to right
        with np.errstate(over="ignore"):  # exp overflows to inf for a hopeless sample: z = 0
            z = t(1.0 / (1.0 + np.exp(np.float64(score))))
        correct += bool(z < 0.5)
        old = x[:F].copy()
        x[:F] = x[:F] + lr * (z * (yi[:F] - yj[:F]) - rg * x[:F])
        yi[:F] = yi[:F] + lr * (z * old - rg * yi[:F])
        yj[:F] = yj[:F] + lr * (-z * old - rg * yj[:F])  # yj is yi's row when i == j: sees its update
        yi[F] = yi[F] + lr * (z - rg * yi[F])
        yj[F] = yj[F] + lr * (-z - rg * yj[F])
    return correct, int(skip.sum())
