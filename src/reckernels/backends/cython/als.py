"""ALS half-sweeps via the compiled kernel in kernels/als.pyx (OpenMP over rows, no BLAS calls)."""

import numpy as np

from reckernels._cy import als as _cy

from .._checks import check_csr
from .._slices import run_sliced

SOLVERS = {"cholesky": True, "cg": False}


def _check_factors(other_factors, factors, *biases):
    """Same float dtype and factor count everywhere, C-contiguous (the kernel indexes raw memory)."""
    dtype = factors.dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"factors must be float32 or float64, got {dtype}.")
    for name, arr in (("other_factors", other_factors), ("factors", factors), *biases):
        if arr.dtype != dtype:
            raise TypeError(f"{name} has dtype {arr.dtype}, expected {dtype} like factors.")
        if not arr.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous.")
    if other_factors.ndim != 2 or other_factors.shape[1] != factors.shape[1]:
        raise ValueError(f"other_factors has shape {other_factors.shape}; expected (n, {factors.shape[1]}).")


def als_explicit_half(indptr, indices, data, global_mean, other_factors, other_bias, reg,
                      factors, bias, solver="cholesky", cg_steps=3, n_threads=1):
    """Every row's factors and bias from the other side's (in place); returns the failed-row count."""
    check_csr(indptr, indices, data, n_rows=len(factors))
    _check_factors(other_factors, factors, ("other_bias", other_bias), ("bias", bias))
    if len(bias) != len(factors) or len(other_bias) != len(other_factors):
        raise ValueError("bias / other_bias must have one entry per row of factors / other_factors.")
    unused = np.zeros((1, 1), dtype=factors.dtype)
    return _sweep(indptr, lambda lo, hi: _cy.als_half(
        indptr[lo:hi + 1], indices, data, other_factors, other_bias, float(reg), False, 0.0, float(global_mean),
        factors[lo:hi], bias[lo:hi], SOLVERS[solver], int(cg_steps), int(n_threads), unused), factors.shape[1])


def als_implicit_half(indptr, indices, data, alpha, other_factors, reg,
                      factors, solver="cg", cg_steps=3, n_threads=1):
    """Every row's factors from the other side's, confidence 1 + alpha * data (in place)."""
    check_csr(indptr, indices, data, n_rows=len(factors))
    _check_factors(other_factors, factors)
    no_bias = np.zeros(1, dtype=factors.dtype)
    k = factors.shape[1]
    gram = np.empty((k, k), dtype=factors.dtype)
    _cy.als_gram(other_factors, gram)  # once per half-sweep, shared by its slices
    return _sweep(indptr, lambda lo, hi: _cy.als_half(
        indptr[lo:hi + 1], indices, data, other_factors, no_bias, float(reg), True, float(alpha), 0.0,
        factors[lo:hi], no_bias, SOLVERS[solver], int(cg_steps), int(n_threads), gram), k)


def _sweep(indptr, half, k):
    """The half-sweep as calls on ranges of rows (independent solves: the same bits in one call),
    so Ctrl-C is answered between them (backends/_slices.py); returns the failed-row count.
    A row's work, in units of ~k^2 / 8 flops: k per entry (its rank-1 update) plus k for the solve."""
    return int(sum(run_sliced(half, 0, len(indptr) - 1, indptr, per_row=k, per_entry=k)))
