"""Baseline biases, Numba CPU: rows of an ALS half-sweep in parallel, SGD serial."""

import numba
import numpy as np

from .._checks import check_csr
from ._threads import numba_threads


@numba.njit(parallel=True, cache=True, nogil=True)
def _als_half(indptr, indices, data, global_mean, reg, other, out):
    for row in numba.prange(out.shape[0]):
        lo, hi = indptr[row], indptr[row + 1]
        dev = 0.0
        for p in range(lo, hi):
            dev += data[p] - global_mean - other[indices[p]]
        out[row] = dev / (reg + (hi - lo))


@numba.njit(cache=True, nogil=True)
def _sgd_epoch(indptr, indices, data, global_mean, reg, lr, bu, bi):
    for u in range(bu.shape[0]):
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            err = data[p] - (global_mean + bu[u] + bi[i])
            bu[u] += lr * (err - reg * bu[u])
            bi[i] += lr * (err - reg * bi[i])


def baseline_als_epoch(u_indptr, u_indices, u_data, i_indptr, i_indices, i_data,
                       global_mean, reg_u, reg_i, bu, bi, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(bu))
    check_csr(i_indptr, i_indices, i_data, n_rows=len(bi))
    with numba_threads(n_threads):
        _als_half(i_indptr, i_indices, i_data, np.float64(global_mean), np.float64(reg_i), bu, bi)
        _als_half(u_indptr, u_indices, u_data, np.float64(global_mean), np.float64(reg_u), bi, bu)


def baseline_sgd_epoch(u_indptr, u_indices, u_data, global_mean, reg, lr, bu, bi):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(bu))
    _sgd_epoch(u_indptr, u_indices, u_data, np.float64(global_mean), np.float64(reg), np.float64(lr), bu, bi)
