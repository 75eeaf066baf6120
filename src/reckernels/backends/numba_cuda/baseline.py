"""Baseline biases on the GPU: one thread per row for each ALS half-sweep.

SGD baseline estimation is sequential by definition (each update sees the previous one), so
the CUDA backend runs it in a single GPU thread: correct, not fast. Use ALS on the GPU.
"""

import numpy as np
from numba import cuda

from .._checks import check_csr
from ._device import blocks_for


@cuda.jit
def _als_half(indptr, indices, data, global_mean, reg, other, out):
    row = cuda.grid(1)
    if row < out.shape[0]:
        lo = indptr[row]
        hi = indptr[row + 1]
        dev = 0.0
        for p in range(lo, hi):
            dev += data[p] - global_mean - other[indices[p]]
        out[row] = dev / (reg + (hi - lo))


@cuda.jit
def _sgd_epoch(indptr, indices, data, global_mean, reg, lr, bu, bi):
    if cuda.grid(1) == 0:
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
    d = [cuda.to_device(np.ascontiguousarray(a)) for a in (u_indptr, u_indices, u_data, i_indptr, i_indices, i_data)]
    d_bu, d_bi = cuda.to_device(bu), cuda.to_device(bi)
    gm = np.float64(global_mean)
    _als_half[blocks_for(len(bi))](d[3], d[4], d[5], gm, np.float64(reg_i), d_bu, d_bi)
    _als_half[blocks_for(len(bu))](d[0], d[1], d[2], gm, np.float64(reg_u), d_bi, d_bu)
    d_bu.copy_to_host(bu)
    d_bi.copy_to_host(bi)


def baseline_sgd_epoch(u_indptr, u_indices, u_data, global_mean, reg, lr, bu, bi):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(bu))
    d = [cuda.to_device(np.ascontiguousarray(a)) for a in (u_indptr, u_indices, u_data)]
    d_bu, d_bi = cuda.to_device(bu), cuda.to_device(bi)
    _sgd_epoch[1, 1](d[0], d[1], d[2], np.float64(global_mean), np.float64(reg), np.float64(lr), d_bu, d_bi)
    d_bu.copy_to_host(bu)
    d_bi.copy_to_host(bi)
