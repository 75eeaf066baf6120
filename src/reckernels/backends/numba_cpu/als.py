"""ALS half-sweeps, Numba CPU: rows in parallel, a small hand-written Cholesky or CG per row.

Same systems and semantics as reckernels.backends.reference.als (read its docstring). Rows are
dealt round-robin to ``4 * n_threads`` chunks run by prange; each chunk allocates its scratch
(one d x d matrix and a few vectors) once, never per row. Sums are accumulated in float64
whatever the factor dtype.
"""

import numba
import numpy as np

from .._checks import check_csr
from ..reference.als import CG_EPS
from .._slices import run_sliced
from ._threads import numba_threads

SOLVERS = {"cholesky": True, "cg": False}


@numba.njit(cache=True, nogil=True)
def _feature(Y, j, a):
    """Component a of column j's feature vector: Y[j] (implicit, d = k) or (Y[j], 1) (explicit, d = k + 1)."""
    if a < Y.shape[1]:
        return np.float64(Y[j, a])
    return 1.0


@numba.njit(cache=True, nogil=True)
def _weight_target(value, other_bias_j, implicit, alpha, mu):
    """(weight w_j of y_j y_j^T in A, target t_j of y_j in b) for one rating."""
    if implicit:
        return alpha * value, 1.0 + alpha * value
    return 1.0, value - mu - other_bias_j


@numba.njit(cache=True, nogil=True)
def _matvec(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, v, out, yj):
    """out = A v without forming A: base v + lam v + sum_j w_j (y_j . v) y_j."""
    for a in range(d):
        acc = lam * v[a]
        if implicit:
            for c in range(d):
                acc += base[a, c] * v[c]
        out[a] = acc
    for q in range(lo, hi):
        j = indices[q]
        ob = 0.0 if implicit else np.float64(other_bias[j])
        w, _ = _weight_target(data[q], ob, implicit, alpha, mu)
        s = 0.0
        for a in range(d):
            yj[a] = _feature(Y, j, a)
            s += yj[a] * v[a]
        s *= w
        for a in range(d):
            out[a] += s * yj[a]


@numba.njit(cache=True, nogil=True)
def _rhs(lo, hi, indices, data, Y, other_bias, implicit, alpha, mu, d, b):
    b[:] = 0.0
    for q in range(lo, hi):
        j = indices[q]
        ob = 0.0 if implicit else np.float64(other_bias[j])
        _, t = _weight_target(data[q], ob, implicit, alpha, mu)
        for a in range(d):
            b[a] += t * _feature(Y, j, a)


@numba.njit(cache=True, nogil=True)
def _cholesky_solve(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, A, b, x, yj):
    """Build A and b, factor A = L L^T in place (lower), solve into x. False if A is not positive definite."""
    for a in range(d):
        for c in range(d):
            A[a, c] = base[a, c] if implicit else 0.0
        A[a, a] += lam
    for q in range(lo, hi):
        j = indices[q]
        ob = 0.0 if implicit else np.float64(other_bias[j])
        w, _ = _weight_target(data[q], ob, implicit, alpha, mu)
        for a in range(d):
            yj[a] = _feature(Y, j, a)
        for a in range(d):
            wa = w * yj[a]
            for c in range(a + 1):
                A[a, c] += wa * yj[c]
    _rhs(lo, hi, indices, data, Y, other_bias, implicit, alpha, mu, d, b)
    for c in range(d):
        s = A[c, c]
        for m in range(c):
            s -= A[c, m] * A[c, m]
        if not s > 0.0:
            return False
        A[c, c] = np.sqrt(s)
        for i in range(c + 1, d):
            s = A[i, c]
            for m in range(c):
                s -= A[i, m] * A[c, m]
            A[i, c] = s / A[c, c]
    for i in range(d):  # L z = b
        s = b[i]
        for m in range(i):
            s -= A[i, m] * x[m]
        x[i] = s / A[i, i]
    for i in range(d - 1, -1, -1):  # L^T x = z
        s = x[i]
        for m in range(i + 1, d):
            s -= A[m, i] * x[m]
        x[i] = s / A[i, i]
    return True


@numba.njit(cache=True, nogil=True)
def _cg(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, steps, x, r, p, Ap, yj):
    _rhs(lo, hi, indices, data, Y, other_bias, implicit, alpha, mu, d, r)
    _matvec(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, x, Ap, yj)
    rs_old = 0.0
    for a in range(d):
        r[a] -= Ap[a]
        p[a] = r[a]
        rs_old += r[a] * r[a]
    if rs_old < CG_EPS:
        return
    for _ in range(steps):
        _matvec(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, p, Ap, yj)
        pAp = 0.0
        for a in range(d):
            pAp += p[a] * Ap[a]
        step = rs_old / pAp
        rs_new = 0.0
        for a in range(d):
            x[a] += step * p[a]
            r[a] -= step * Ap[a]
            rs_new += r[a] * r[a]
        if rs_new < CG_EPS:
            return
        for a in range(d):
            p[a] = r[a] + (rs_new / rs_old) * p[a]
        rs_old = rs_new


@numba.njit(parallel=True, cache=True, nogil=True)
def _half(indptr, indices, data, Y, other_bias, base, reg, implicit, alpha, mu, X, x_bias,
          cholesky, cg_steps, n_chunks):
    n_rows, k = X.shape
    d = k if implicit else k + 1
    failed = np.zeros(n_chunks, np.int64)
    for chunk in numba.prange(n_chunks):
        A = np.empty((d, d))
        x = np.empty(d)
        b = np.empty(d)
        r = np.empty(d)
        p = np.empty(d)
        Ap = np.empty(d)
        yj = np.empty(d)
        for row in range(chunk, n_rows, n_chunks):
            lo, hi = indptr[row], indptr[row + 1]
            if hi == lo:
                X[row, :] = 0.0
                if not implicit:
                    x_bias[row] = 0.0
                continue
            lam = reg if implicit else reg * (hi - lo)
            for a in range(k):
                x[a] = X[row, a]
            if not implicit:
                x[k] = x_bias[row]
            if cholesky:
                ok = _cholesky_solve(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d,
                                     A, b, x, yj)
                if not ok:
                    failed[chunk] += 1
                    continue
            else:
                _cg(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, cg_steps,
                    x, r, p, Ap, yj)
            for a in range(k):
                X[row, a] = x[a]
            if not implicit:
                x_bias[row] = x[k]
    return failed.sum()


def als_explicit_half(indptr, indices, data, global_mean, other_factors, other_bias, reg,
                      factors, bias, solver="cholesky", cg_steps=3, n_threads=1):
    """Every row's factors and bias from the other side's (in place); returns the failed-row count."""
    check_csr(indptr, indices, data, n_rows=len(factors))
    no_base = np.zeros((1, 1), dtype=np.float64)
    with numba_threads(n_threads):
        return _sweep(indptr, lambda lo, hi: _half(
            indptr[lo:hi + 1], indices, data, other_factors, other_bias, no_base, np.float64(reg), False, 0.0,
            np.float64(global_mean), factors[lo:hi], bias[lo:hi], SOLVERS[solver], int(cg_steps),
            4 * max(1, int(n_threads))), factors.shape[1])


def als_implicit_half(indptr, indices, data, alpha, other_factors, reg,
                      factors, solver="cg", cg_steps=3, n_threads=1):
    """Every row's factors from the other side's, confidence 1 + alpha * data (in place)."""
    check_csr(indptr, indices, data, n_rows=len(factors))
    Y = other_factors.astype(np.float64)
    gram = Y.T @ Y
    no_bias = np.zeros(1, dtype=factors.dtype)
    with numba_threads(n_threads):
        return _sweep(indptr, lambda lo, hi: _half(
            indptr[lo:hi + 1], indices, data, other_factors, no_bias, gram, np.float64(reg), True,
            np.float64(alpha), 0.0, factors[lo:hi], no_bias, SOLVERS[solver], int(cg_steps),
            4 * max(1, int(n_threads))), factors.shape[1])


def _sweep(indptr, half, k):
    """The half-sweep as calls on ranges of rows (independent solves: the same bits in one call),
    so Ctrl-C is answered between them (backends/_slices.py); returns the failed-row count.
    A row's work, in units of ~k^2 / 8 flops: k per entry (its rank-1 update) plus k for the solve."""
    return int(sum(run_sliced(half, 0, len(indptr) - 1, indptr, per_row=k, per_entry=k)))
