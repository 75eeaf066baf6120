"""Co-clustering and NormalPredictor kernels, Numba CPU (semantics: reference/coclustering.py).

The averages are accumulated per static block of users into per-block scratch rows, then
added; the reassignments run rows in parallel, each row's errors summed in data order with
the first minimum winning, so the clusters equal the reference's.
"""

import ctypes
import ctypes.util

import numba
import numpy as np

from .._checks import check_csr
from .._slices import run_sliced
from ._threads import numba_threads

# Python's float ** 2 calls the C library's pow, which differs from x * x in the last bit for
# ~0.1% of arguments; LLVM would turn math.pow(x, 2.0) into x * x, so call libm's pow itself.
_libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
_c_pow = _libm.pow
_c_pow.restype = ctypes.c_double
_c_pow.argtypes = (ctypes.c_double, ctypes.c_double)


@numba.njit(parallel=True, cache=True, nogil=True)
def _averages(indptr, indices, data, cltr_u, cltr_i, global_mean, avg_u, avg_i, avg_co, n_blocks):
    nu, ni = avg_co.shape
    n_users = indptr.shape[0] - 1
    block = (n_users + n_blocks - 1) // n_blocks
    cnt = np.zeros((n_blocks, nu + ni + nu * ni), np.int64)
    tot = np.zeros((n_blocks, nu + ni + nu * ni))
    for b in numba.prange(n_blocks):
        for u in range(b * block, min(n_users, (b + 1) * block)):
            cu = cltr_u[u]
            for p in range(indptr[u], indptr[u + 1]):
                ci = cltr_i[indices[p]]
                r = data[p]
                cnt[b, cu] += 1
                cnt[b, nu + ci] += 1
                cnt[b, nu + ni + cu * ni + ci] += 1
                tot[b, cu] += r
                tot[b, nu + ci] += r
                tot[b, nu + ni + cu * ni + ci] += r
    for b in range(1, n_blocks):
        for k in range(cnt.shape[1]):
            cnt[0, k] += cnt[b, k]
            tot[0, k] += tot[b, k]
    for cu in range(nu):
        avg_u[cu] = tot[0, cu] / cnt[0, cu] if cnt[0, cu] > 0 else global_mean
    for ci in range(ni):
        avg_i[ci] = tot[0, nu + ci] / cnt[0, nu + ci] if cnt[0, nu + ci] > 0 else global_mean
    for cu in range(nu):
        for ci in range(ni):
            k = nu + ni + cu * ni + ci
            avg_co[cu, ci] = tot[0, k] / cnt[0, k] if cnt[0, k] > 0 else global_mean


@numba.njit(parallel=True, cache=True, nogil=True)
def _assign_users(indptr, indices, data, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co):
    moved = 0
    for u in numba.prange(indptr.shape[0] - 1):
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
            moved += 1
            cltr_u[u] = best
    return moved


@numba.njit(parallel=True, cache=True, nogil=True)
def _assign_items(indptr, indices, data, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co):
    moved = 0
    for i in numba.prange(indptr.shape[0] - 1):
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
            moved += 1
            cltr_i[i] = best
    return moved


@numba.njit(parallel=True, cache=True, nogil=True)
def _predict(users, items, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co, global_mean, out):
    for k in numba.prange(users.shape[0]):
        u = users[k]
        i = items[k]
        if u < 0 or i < 0:
            out[k] = global_mean
        else:
            cu = cltr_u[u]
            ci = cltr_i[i]
            out[k] = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]


@numba.njit(nogil=True)  # not cached: the ctypes pointer of libm's pow is baked in per process
def _centered_sum_squares(data, center):
    total = 0.0
    for p in range(data.shape[0]):
        total += _c_pow(data[p] - center, 2.0)
    return total


def cocluster_averages(u_indptr, u_indices, u_data, cltr_u, cltr_i, global_mean, avg_u, avg_i, avg_co, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(cltr_u))
    n_blocks = max(1, int(n_threads))
    with numba_threads(n_threads):
        _averages(u_indptr, u_indices, u_data, cltr_u, cltr_i, np.float64(global_mean), avg_u, avg_i, avg_co,
                  n_blocks)


def cocluster_assign_users(u_indptr, u_indices, u_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(cltr_u))
    with numba_threads(n_threads):  # users are independent: short calls, so Ctrl-C is answered (_slices.py)
        return int(sum(run_sliced(lambda lo, hi: _assign_users(
            u_indptr[lo:hi + 1], u_indices, u_data, user_mean[lo:hi], item_mean, cltr_u[lo:hi], cltr_i, avg_u,
            avg_i, avg_co), 0, len(cltr_u), u_indptr, per_row=len(avg_u))))


def cocluster_assign_items(i_indptr, i_indices, i_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    check_csr(i_indptr, i_indices, i_data, n_rows=len(cltr_i))
    with numba_threads(n_threads):
        return int(sum(run_sliced(lambda lo, hi: _assign_items(
            i_indptr[lo:hi + 1], i_indices, i_data, user_mean, item_mean[lo:hi], cltr_u, cltr_i[lo:hi], avg_u,
            avg_i, avg_co), 0, len(cltr_i), i_indptr, per_row=len(avg_i))))


def cocluster_predict(users, items, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co,
                      global_mean, out, n_threads=1):
    if not (len(users) == len(items) == len(out)):
        raise ValueError(f"users ({len(users)}), items ({len(items)}) and out ({len(out)}) must have the same length.")
    with numba_threads(n_threads):
        _predict(np.ascontiguousarray(users, dtype=np.int32), np.ascontiguousarray(items, dtype=np.int32),
                 user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co, np.float64(global_mean), out)


def centered_sum_squares(data, center):
    return float(_centered_sum_squares(np.ascontiguousarray(data, dtype=np.float64), np.float64(center)))
