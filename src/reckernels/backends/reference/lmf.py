"""Logistic MF half-epoch (Johnson 2014) as implicit 0.7.3 trains it, written for clarity: the oracle.

One half-epoch updates every row r of X (users, or items in the other half) from the fixed
other side Y, by one AdaGrad step on the log-likelihood of r's row, where the positives are
r's interactions (strength c) and the negatives are ``min(max_negatives, n_r * neg_prop)``
entries drawn uniformly from the CSR's interaction list (so by popularity; a positive may be
drawn). In X's dtype, with sigma computed in float64:

    d  = sum over positives p  of  c_p (1 - sigma(X[r] . Y[p])) Y[p]     (positives in CSR order)
       - sum over negatives q  of  sigma(X[r] . Y[q]) Y[q]               (in draw order)
       - reg X[r]
    G[r] += d * d;   X[r] += lr / sqrt(1e-6 + G[r]) * d                  (every column but fixed_col)

A dot product is summed in four lanes, lane l holding the columns f = l mod 4 left to right,
then (lane 0 + lane 1) + (lane 2 + lane 3): four independent chains keep a CPU's adders busy
where one left-to-right chain waits on each addition (``_dot``). The k-th draw of row r is position
``draw(user_key(seed, stream, r), k)`` in [0, nnz) (``_counter_rng``), so a row's draws do not
depend on threads. Rows only read Y and write their own X and G rows: the compiled kernels run
rows in parallel and give the same result for any thread count. Returns the sums of sigma
over the positives and over the negatives (a cheap progress measure).

implicit's kernel caps the negatives at ``item_vectors.shape[1]`` (the factor count + 2, where
the number of items looks intended); the estimator passes that cap to reproduce implicit.
"""

import numpy as np

from ._counter_rng import draws, user_key


def lmf_work(n_columns, neg_prop, max_negatives) -> dict:
    """A row's work for ``backends._slices.run_sliced`` (per_row, per_entry), in multiply-adds
    over the columns: its positives, plus the negatives a row of one entry draws at least."""
    return {"per_row": float(n_columns) * min(int(max_negatives), int(neg_prop)), "per_entry": float(n_columns)}


def check_lmf_input(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col,
                    seed, stream):
    """What the unchecked compiled kernels rely on: shapes, dtypes, index ranges."""
    for name, a in (("X", X), ("Y", Y), ("G", G)):
        if not isinstance(a, np.ndarray) or a.dtype not in (np.float32, np.float64) or a.ndim != 2 \
                or not a.flags.c_contiguous or (name != "Y" and not a.flags.writeable):
            raise ValueError(f"{name} must be a C-contiguous 2-d float32 or float64 array (X and G writeable), got "
                             f"{type(a).__name__} {getattr(a, 'dtype', '')} {getattr(a, 'shape', '')}.")
    if not (X.dtype == Y.dtype == G.dtype) or X.shape[1] != Y.shape[1] or G.shape != X.shape:
        raise ValueError(f"X, Y and G need one dtype, X and Y the same columns and G X's shape; got "
                         f"{X.dtype} {X.shape}, {Y.dtype} {Y.shape}, {G.dtype} {G.shape}.")
    if np.shares_memory(X, Y) or np.shares_memory(X, G) or np.shares_memory(Y, G):
        raise ValueError("X, Y and G must not share memory.")
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    if indptr.dtype != np.int64 or indices.dtype != np.int32 or data.dtype != X.dtype:
        raise ValueError(f"indptr must be int64, indices int32 and data {X.dtype}; got {indptr.dtype}, "
                         f"{indices.dtype} and {data.dtype}.")
    if len(indptr) != X.shape[0] + 1 or indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError(f"indptr must have length n_rows + 1 = {X.shape[0] + 1}, start at 0, never decrease "
                         "and end at len(indices).")
    if len(indices) >= 2**32:
        raise ValueError(f"at most 2**32 - 1 interactions per call, got {len(indices)}.")
    if len(data) != len(indices):
        raise ValueError(f"indices ({len(indices)}) and data ({len(data)}) must have the same length.")
    if len(indices) and (indices.min() < 0 or indices.max() >= Y.shape[0]):
        raise ValueError(f"column indices must lie in [0, n_cols={Y.shape[0]}).")
    for name, v in (("learning_rate", learning_rate), ("reg", reg)):
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}.")
    if neg_prop < 0 or max_negatives < 0:
        raise ValueError(f"neg_prop and max_negatives must be >= 0, got {neg_prop} and {max_negatives}.")
    if not -X.shape[1] <= fixed_col < X.shape[1]:
        raise ValueError(f"fixed_col must index one of X's {X.shape[1]} columns, got {fixed_col}.")
    if not 0 <= seed < 2**64 or not 0 <= stream < 2**63:
        raise ValueError(f"need 0 <= seed < 2**64 and 0 <= stream < 2**63, got {seed} and {stream}.")


def _dot(a, b):
    prod = a * b
    lane = [np.cumsum(prod[lane::4], dtype=a.dtype)[-1] if len(prod) > lane else a.dtype.type(0)
            for lane in range(4)]  # cumsum: each lane strictly left to right
    return (lane[0] + lane[1]) + (lane[2] + lane[3])


def _sigmoid(s):
    s = float(s)
    if s >= 0:
        return 1.0 / (1.0 + np.exp(-s))
    e = np.exp(s)
    return e / (1.0 + e)


def lmf_half(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col, seed, stream,
             n_threads=1):
    """Update every row of X (and its AdaGrad sums G) in place; returns (sum sigma positives, sum sigma negatives).

    ``n_threads`` is part of the common signature; the reference runs rows one by one.
    """
    check_lmf_input(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col,
                    seed, stream)
    t = X.dtype.type
    lr, rg = float(learning_rate), t(reg)
    keep = np.ones(X.shape[1], dtype=bool)
    keep[fixed_col] = False
    nnz = len(indices)
    pos_sum = neg_sum = 0.0
    for r in range(X.shape[0]):
        lo, hi = int(indptr[r]), int(indptr[r + 1])
        if lo == hi:
            continue
        x = X[r]
        d = np.zeros(X.shape[1], dtype=X.dtype)
        for p in range(lo, hi):
            y = Y[indices[p]]
            s = _sigmoid(_dot(x, y))
            pos_sum += s
            d = d + (data[p] * (t(1) - t(s))) * y
        n_neg = min(int(max_negatives), (hi - lo) * int(neg_prop))
        for q in draws(user_key(seed, stream, r), 0, n_neg, nnz):
            y = Y[indices[q]]
            s = t(_sigmoid(_dot(x, y)))
            neg_sum += float(s)
            d = d - s * y
        d = d - rg * x
        G[r, keep] = G[r, keep] + d[keep] * d[keep]
        step = (lr / np.sqrt(1e-6 + G[r, keep].astype(np.float64))).astype(X.dtype)
        x[keep] = x[keep] + step * d[keep]
    return float(pos_sum), float(neg_sum)
