"""implicit's ALS row solves in NumPy, vectorised over rows: signed confidences, CG or exact.

implicit gives a stored value c of the (alpha-scaled) matrix this meaning: c > 0 is a like with
confidence c, c <= 0 a dislike (preference 0) with confidence |c|; unobserved pairs have
preference 0 and confidence 1. A row's system is

    (Y^T Y + reg I + sum_j (|c_j| - 1) y_j y_j^T) x = sum_{j: c_j > 0} c_j y_j.

The compiled kernels of reckernels (``als_implicit_half``) solve this for confidences c > 0
(c >= 1 for the exact solve), which is implicit's usual input; this module covers the rest
(dislikes, ``use_native=False``) and the exact solves of recalculate_user / partial_fit_*.
Rows are grouped by length and padded, so each group is one batched BLAS product: no Python loop
per row. Computed in float64, stored in the factors' dtype.
"""

from __future__ import annotations

import numpy as np

#: elements of one padded (rows x max length x factors) group
_GROUP_ELEMENTS = 1 << 22
#: CG stops once r.r falls below this (as implicit)
CG_EPS = 1e-20


def _groups(lengths: np.ndarray, k: int):
    """Row index groups (rows with >= 1 entry, by increasing length) whose padded size fits."""
    rows = np.flatnonzero(lengths > 0)
    rows = rows[np.argsort(lengths[rows], kind="stable")]
    sorted_len = lengths[rows]
    start = 0
    while start < len(rows):
        count = np.arange(1, len(rows) - start + 1)
        sizes = count * sorted_len[start:] * k  # padded size if the group ended there (non-decreasing)
        fits = int(np.searchsorted(sizes, _GROUP_ELEMENTS, side="right"))
        # and little padding: the longest row at most 1.25 x the shortest (+ 8)
        close = int(np.searchsorted(sorted_len[start:], 1.25 * sorted_len[start] + 8, side="right"))
        stop = start + max(1, min(fits, close))
        yield rows[start:stop], int(sorted_len[stop - 1])
        start = stop


def _padded(rows, longest, indptr, indices, conf, Y):
    """(Yp: rows x longest x k, c: rows x longest) with zero padding."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    pos = np.arange(longest)
    valid = pos[None, :] < lengths[:, None]
    flat = (starts[:, None] + pos[None, :])[valid]
    cols = np.zeros((len(rows), longest), dtype=np.int64)
    cols[valid] = indices[flat]
    c = np.zeros((len(rows), longest))
    c[valid] = conf[flat]
    Yp = Y[cols]  # Y is float64 already: the gather is the copy
    Yp[~valid] = 0.0
    return Yp, c, valid


def solve_rows(indptr, indices, conf, X, Y, reg, *, cg: bool, cg_steps: int = 3, YtY=None) -> None:
    """One half-sweep in place: every row of X from Y. Empty rows get 0 (as implicit).

    ``cg``: ``cg_steps`` conjugate-gradient steps from X's current values; else the exact solve
    (raises ValueError when a system is not positive definite, as implicit's posv does).
    """
    k = X.shape[1]
    Y64 = Y.astype(np.float64)
    gram = (Y64.T @ Y64) if YtY is None else np.asarray(YtY, dtype=np.float64)
    base = gram + reg * np.eye(k)
    indptr = np.asarray(indptr, dtype=np.int64)
    lengths = np.diff(indptr)
    X[lengths == 0] = 0
    for rows, longest in _groups(lengths, k):
        Yp, c, valid = _padded(rows, longest, indptr, indices, conf, Y64)
        w = np.where(valid, np.abs(c) - 1.0, 0.0)  # a stored 0: a dislike with confidence 0, as implicit
        b = np.matmul(Yp.transpose(0, 2, 1), np.where(c > 0, c, 0.0)[:, :, None])[:, :, 0]
        if cg:
            X[rows] = _cg(Yp, w, b, base, X[rows].astype(np.float64), cg_steps)
        else:
            A = base[None] + np.matmul(Yp.transpose(0, 2, 1) * w[:, None, :], Yp)
            try:
                np.linalg.cholesky(A)
            except np.linalg.LinAlgError:
                raise ValueError("the least-squares system of some row is not positive definite (implicit's posv "
                                 "fails here too). Try increasing the regularization parameter.") from None
            X[rows] = np.linalg.solve(A, b[..., None])[..., 0]


def _cg(Yp, w, b, base, x, steps):
    Ypt = Yp.transpose(0, 2, 1)

    def matvec(v):  # A v = base v + Y_u^T (w * (Y_u v)), as batched BLAS products
        s = np.matmul(Yp, v[:, :, None])[:, :, 0]
        return v @ base + np.matmul(Ypt, (w * s)[:, :, None])[:, :, 0]

    r = b - matvec(x)
    p = r.copy()
    rs_old = np.einsum("bk,bk->b", r, r)
    active = rs_old >= CG_EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(steps):
            if not active.any():
                break
            Ap = matvec(p)
            step = np.where(active, rs_old / np.einsum("bk,bk->b", p, Ap), 0.0)
            x += step[:, None] * p
            r -= step[:, None] * Ap
            rs_new = np.einsum("bk,bk->b", r, r)
            active &= rs_new >= CG_EPS
            p = np.where(active[:, None], r + (rs_new / np.where(active, rs_old, 1.0))[:, None] * p, p)
            rs_old = np.where(active, rs_new, rs_old)
    return x


def training_loss(indptr, indices, conf, X, Y, reg) -> float:
    """implicit's calculate_loss: the HKV objective over all pairs, divided by the total confidence."""
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    loss = float(np.einsum("ij,jk,ik->", X64, Y64.T @ Y64, X64))
    indptr = np.asarray(indptr, dtype=np.int64)
    users = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    chunk = 1 << 18
    total = 0.0
    for lo in range(0, len(users), chunk):
        u, i, c = users[lo:lo + chunk], indices[lo:lo + chunk], conf[lo:lo + chunk].astype(np.float64)
        s = np.einsum("ij,ij->i", X64[u], Y64[i])
        a = np.abs(c)
        loss += float(np.sum((a - 1.0) * s * s - 2.0 * np.where(c > 0, c, 0.0) * s + a))
        total += float(a.sum())
    loss += reg * (float(np.sum(X64 ** 2)) + float(np.sum(Y64 ** 2)))
    return loss / (total + X.shape[0] * Y.shape[0] - len(users))
