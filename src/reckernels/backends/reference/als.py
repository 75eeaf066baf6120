"""ALS half-sweeps (explicit and implicit), written for clarity: one dense k x k system per row.

Every backend solves, for each row (a user, or an item in the other half-sweep), the ridge
system ``A x = b`` built from the other side's factors ``y_j`` of the row's ratings:

- explicit (Zhou et al. 2008, biased): the unknown is ``x = (p_u, b_u)``, the feature of a
  rating is ``y_j = (q_j, 1)``, the target ``r_uj - mu - b_j``, and the regularisation is
  weighted by the row's rating count: ``A = sum_j y_j y_j^T + reg * n_u * I``, ``b = sum_j t_j y_j``
  (the bias is regularised like the factors);
- implicit (Hu, Koren, Volinsky 2008): confidence ``c_j = 1 + alpha * r_j`` on the row's
  nonzeros, 1 elsewhere, preference 1 on the nonzeros: ``A = Y^T Y + sum_j (c_j - 1) y_j y_j^T
  + reg * I``, ``b = sum_j c_j y_j``. ``Y^T Y`` is shared by every row of the half-sweep.

``solver="cholesky"`` solves exactly. ``solver="cg"`` runs ``cg_steps`` conjugate-gradient steps
warm-started from the row's current factors (Takacs et al. 2011, as benfred/implicit does),
stopping early once the squared residual is below 1e-20. A row without ratings gets factors
(and bias) 0: the exact solution of the implicit system, and the prior mean for explicit ALS.

Each function works in place and returns the number of rows whose Cholesky factorisation
failed (system not positive definite; those rows are left unchanged). This reference computes
in float64 whatever the factor dtype and stores the result in the factors' dtype.
"""

import numpy as np

#: CG stops once r.r falls below this (the value benfred/implicit uses)
CG_EPS = 1e-20


def _cholesky_solve(A, b):
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    return np.linalg.solve(L.T, np.linalg.solve(L, b))


def _conjugate_gradient(A, b, x, steps):
    x = x.copy()
    r = b - A @ x
    p = r.copy()
    rs_old = r @ r
    if rs_old < CG_EPS:
        return x
    for _ in range(steps):
        Ap = A @ p
        step = rs_old / (p @ Ap)
        x += step * p
        r -= step * Ap
        rs_new = r @ r
        if rs_new < CG_EPS:
            break
        p = r + (rs_new / rs_old) * p
        rs_old = rs_new
    return x


def _solve(A, b, x0, solver, cg_steps):
    if solver == "cholesky":
        return _cholesky_solve(A, b)
    return _conjugate_gradient(A, b, x0, cg_steps)


def als_explicit_half(indptr, indices, data, global_mean, other_factors, other_bias, reg,
                      factors, bias, solver="cholesky", cg_steps=3, n_threads=1):
    """Every row's factors and bias from the other side's factors and biases (in place)."""
    n_factors = factors.shape[1]
    failed = 0
    for row in range(factors.shape[0]):
        lo, hi = indptr[row], indptr[row + 1]
        n = hi - lo
        if n == 0:
            factors[row] = 0.0
            bias[row] = 0.0
            continue
        cols = indices[lo:hi]
        Y = np.hstack([other_factors[cols].astype(np.float64), np.ones((n, 1))])
        t = data[lo:hi] - global_mean - other_bias[cols].astype(np.float64)
        A = Y.T @ Y + reg * n * np.eye(n_factors + 1)
        b = Y.T @ t
        x0 = np.append(factors[row].astype(np.float64), float(bias[row]))
        x = _solve(A, b, x0, solver, cg_steps)
        if x is None:
            failed += 1
            continue
        factors[row] = x[:n_factors]
        bias[row] = x[n_factors]
    return failed


def als_implicit_half(indptr, indices, data, alpha, other_factors, reg,
                      factors, solver="cg", cg_steps=3, n_threads=1):
    """Every row's factors from the other side's, confidence 1 + alpha * data (in place)."""
    Y_all = other_factors.astype(np.float64)
    gram = Y_all.T @ Y_all
    n_factors = factors.shape[1]
    failed = 0
    for row in range(factors.shape[0]):
        lo, hi = indptr[row], indptr[row + 1]
        if hi == lo:
            factors[row] = 0.0
            continue
        Y = Y_all[indices[lo:hi]]
        confidence = 1.0 + alpha * data[lo:hi]
        A = gram + (Y.T * (confidence - 1.0)) @ Y + reg * np.eye(n_factors)
        b = Y.T @ confidence
        x = _solve(A, b, factors[row].astype(np.float64), solver, cg_steps)
        if x is None:
            failed += 1
            continue
        factors[row] = x
    return failed
