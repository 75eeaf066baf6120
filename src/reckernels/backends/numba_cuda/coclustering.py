"""Co-clustering and NormalPredictor kernels on the GPU (semantics: reference/coclustering.py).

Averages: one thread per user adds its ratings' counts and sums into the cluster totals with
atomic adds; counts are exact and sums of integer or half-star ratings are exact in any
order, so the averages equal the reference's on such data. Reassignment: one thread per row,
each candidate cluster's error summed over the row's ratings in data order, first minimum
wins. NormalPredictor's sum of squares: a grid-stride sum per thread and one atomic add each,
so it agrees with the serial sum to rounding (~1e-15 relative), not bit for bit.
Each call copies its arrays to the device and the results back.
"""

import math

import numpy as np
from numba import cuda

from .._checks import check_csr
from ._device import blocks_for


@cuda.jit
def _accumulate(indptr, indices, data, cltr_u, cltr_i, nu, ni, totals):
    # totals: [cnt_u | cnt_i | cnt_co | sum_u | sum_i | sum_co], counts held as float64
    u = cuda.grid(1)
    if u < cltr_u.shape[0]:
        half = nu + ni + nu * ni
        cu = cltr_u[u]
        n = 0.0
        s = 0.0
        for p in range(indptr[u], indptr[u + 1]):
            ci = cltr_i[indices[p]]
            r = data[p]
            n += 1.0
            s += r
            cuda.atomic.add(totals, nu + ci, 1.0)
            cuda.atomic.add(totals, nu + ni + cu * ni + ci, 1.0)
            cuda.atomic.add(totals, half + nu + ci, r)
            cuda.atomic.add(totals, half + nu + ni + cu * ni + ci, r)
        if n > 0:
            cuda.atomic.add(totals, cu, n)
            cuda.atomic.add(totals, half + cu, s)


@cuda.jit
def _assign_users(indptr, indices, data, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co, moved):
    u = cuda.grid(1)
    if u < cltr_u.shape[0]:
        best = 0
        best_err = 0.0
        for cu in range(avg_co.shape[0]):
            err = 0.0
            for p in range(indptr[u], indptr[u + 1]):
                i = indices[p]
                ci = cltr_i[i]
                est = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]
                d = data[p] - est
                err += d * d
            if cu == 0 or err < best_err:
                best = cu
                best_err = err
        if cltr_u[u] != best:
            cltr_u[u] = best
            cuda.atomic.add(moved, 0, 1)


@cuda.jit
def _assign_items(indptr, indices, data, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co, moved):
    i = cuda.grid(1)
    if i < cltr_i.shape[0]:
        best = 0
        best_err = 0.0
        for ci in range(avg_co.shape[1]):
            err = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                u = indices[p]
                cu = cltr_u[u]
                est = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]
                d = data[p] - est
                err += d * d
            if ci == 0 or err < best_err:
                best = ci
                best_err = err
        if cltr_i[i] != best:
            cltr_i[i] = best
            cuda.atomic.add(moved, 0, 1)


@cuda.jit
def _predict(users, items, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co, global_mean, out):
    k = cuda.grid(1)
    if k < users.shape[0]:
        u = users[k]
        i = items[k]
        if u < 0 or i < 0:
            out[k] = global_mean
        else:
            cu = cltr_u[u]
            ci = cltr_i[i]
            out[k] = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]


@cuda.jit
def _sum_squares(data, center, total):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    s = 0.0
    for p in range(start, data.shape[0], stride):
        s += math.pow(data[p] - center, 2.0)
    cuda.atomic.add(total, 0, s)


def _dev(*arrays):
    return [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]


def cocluster_averages(u_indptr, u_indices, u_data, cltr_u, cltr_i, global_mean, avg_u, avg_i, avg_co, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(cltr_u))
    nu, ni = avg_co.shape
    half = nu + ni + nu * ni
    d = _dev(u_indptr, u_indices, u_data, cltr_u, cltr_i)
    totals = cuda.to_device(np.zeros(2 * half))
    _accumulate[blocks_for(len(cltr_u))](*d, np.int64(nu), np.int64(ni), totals)
    t = totals.copy_to_host()
    cnt, tot = t[:half], t[half:]
    avg = np.full(half, float(global_mean))
    np.divide(tot, cnt, out=avg, where=cnt > 0)
    avg_u[:] = avg[:nu]
    avg_i[:] = avg[nu:nu + ni]
    avg_co[:] = avg[nu + ni:].reshape(nu, ni)


def _assign(kernel, indptr, indices, data, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co, rows, out):
    d = _dev(indptr, indices, data, user_mean, item_mean)
    d_u, d_i = cuda.to_device(cltr_u), cuda.to_device(cltr_i)
    moved = cuda.to_device(np.zeros(1, np.int64))
    kernel[blocks_for(rows)](*d, d_u, d_i, *_dev(avg_u, avg_i, avg_co), moved)
    (d_u if out is cltr_u else d_i).copy_to_host(out)
    return int(moved.copy_to_host()[0])


def cocluster_assign_users(u_indptr, u_indices, u_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(cltr_u))
    return _assign(_assign_users, u_indptr, u_indices, u_data, user_mean, item_mean, cltr_u, cltr_i,
                   avg_u, avg_i, avg_co, len(cltr_u), cltr_u)


def cocluster_assign_items(i_indptr, i_indices, i_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    check_csr(i_indptr, i_indices, i_data, n_rows=len(cltr_i))
    return _assign(_assign_items, i_indptr, i_indices, i_data, user_mean, item_mean, cltr_u, cltr_i,
                   avg_u, avg_i, avg_co, len(cltr_i), cltr_i)


def cocluster_predict(users, items, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co,
                      global_mean, out, n_threads=1):
    if not (len(users) == len(items) == len(out)):
        raise ValueError(f"users ({len(users)}), items ({len(items)}) and out ({len(out)}) must have the same length.")
    if len(users) == 0:
        return
    d = _dev(np.asarray(users, np.int32), np.asarray(items, np.int32), user_mean, item_mean, cltr_u, cltr_i,
             avg_u, avg_i, avg_co)
    d_out = cuda.device_array(len(out))
    _predict[blocks_for(len(out))](*d, np.float64(global_mean), d_out)
    d_out.copy_to_host(out)


def centered_sum_squares(data, center):
    if len(data) == 0:
        return 0.0
    total = cuda.to_device(np.zeros(1))
    blocks = min(1024, blocks_for(len(data))[0])
    _sum_squares[blocks, 128](cuda.to_device(np.ascontiguousarray(data, np.float64)), np.float64(center), total)
    return float(total.copy_to_host()[0])
