"""Slope One deviations and prediction, Numba CPU: the row walk of kernels/slopeone.pyx.

Rows of a call are dealt round-robin to one chunk per thread (row x goes to chunk
x mod n_chunks: popular items, the expensive rows, spread over the chunks); each chunk owns
its row buffers. Sums run in the reference's order, so results are bit-identical to it.
"""

import numba
import numpy as np

from ..reference.slopeone import check_dense_out, check_fit_args, check_predict_args, check_sparse_out
from .._slices import run_sliced
from ._threads import numba_threads


@numba.njit(parallel=True, cache=True, nogil=True)
def _dense(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, dev, freq, n_chunks):
    n = dev.shape[1]
    for t in numba.prange(n_chunks):
        for x in range(row_start + t, row_stop, n_chunks):
            d = dev[x]
            f = freq[x]
            d[:] = 0.0
            f[:] = 0
            for p in range(indptr[x], indptr[x + 1]):
                c = indices[p]
                xv = data[p]
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    j = t_indices[q]
                    f[j] += 1
                    d[j] += xv - t_data[q]
            for j in range(n):
                if f[j] > 0:
                    d[j] = d[j] / f[j]
            d[x] = 0.0


@numba.njit(parallel=True, cache=True, nogil=True)
def _mirror(dev, freq):
    n = dev.shape[0]
    for j in numba.prange(n):
        for i in range(j):
            dev[j, i] = 0.0 - dev[i, j]
            freq[j, i] = freq[i, j]


@numba.njit(parallel=True, cache=True, nogil=True)
def _count(indptr, indices, t_indptr, t_indices, row_start, row_stop, counts, mark):
    n_chunks = mark.shape[0]
    for t in numba.prange(n_chunks):
        m = mark[t]
        for x in range(row_start + t, row_stop, n_chunks):
            k = 0
            for p in range(indptr[x], indptr[x + 1]):
                c = indices[p]
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    j = t_indices[q]
                    if m[j] != x:  # a stamp per row: no reset between rows
                        m[j] = x
                        k += 1
            counts[x] = k


@numba.njit(parallel=True, cache=True, nogil=True)
def _sparse(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, out_indptr, out_indices,
            out_dev, out_freq, freq_buf, sum_buf):
    n_chunks, n = freq_buf.shape
    for t in numba.prange(n_chunks):
        f = freq_buf[t]
        s = sum_buf[t]
        for x in range(row_start + t, row_stop, n_chunks):
            lo, hi = out_indptr[x], out_indptr[x + 1]
            k = lo
            for p in range(indptr[x], indptr[x + 1]):
                c = indices[p]
                xv = data[p]
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    j = t_indices[q]
                    if f[j] == 0 and k < hi:
                        out_indices[k] = j
                        k += 1
                    f[j] += 1
                    s[j] += xv - t_data[q]
            if (hi - lo) * 16 > n:  # many entries: a scan of the buffer lists them in order
                k = lo
                for j in range(n):
                    if f[j] > 0 and k < hi:
                        out_indices[k] = j
                        k += 1
            else:
                out_indices[lo:hi] = np.sort(out_indices[lo:hi])
            for k in range(lo, hi):
                j = out_indices[k]
                out_freq[k] = f[j]
                out_dev[k] = 0.0 if j == x else s[j] / f[j]
                f[j] = 0
                s[j] = 0.0


@numba.njit(parallel=True, cache=True, nogil=True)
def _predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, global_mean, est, impossible):
    for p in numba.prange(len(users)):
        u, i = users[p], items[p]
        if u < 0 or i < 0:
            est[p] = global_mean
            impossible[p] = 1
            continue
        total = 0.0
        cnt = 0
        for q in range(u_indptr[u], u_indptr[u + 1]):
            j = u_indices[q]
            if freq[i, j] > 0:
                total += dev[i, j]
                cnt += 1
        est[p] = user_mean[u] + total / cnt if cnt > 0 else user_mean[u]
        impossible[p] = 0


@numba.njit(parallel=True, cache=True, nogil=True)
def _predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev, global_mean, est,
                    impossible):
    for p in numba.prange(len(users)):
        u, i = users[p], items[p]
        if u < 0 or i < 0:
            est[p] = global_mean
            impossible[p] = 1
            continue
        total = 0.0
        cnt = 0
        end = s_indptr[i + 1]
        for q in range(u_indptr[u], u_indptr[u + 1]):
            j = u_indices[q]
            lo, hi = s_indptr[i], end
            while lo < hi:  # first stored index >= j
                mid = (lo + hi) // 2
                if s_indices[mid] < j:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < end and s_indices[lo] == j:
                total += s_dev[lo]
                cnt += 1
        est[p] = user_mean[u] + total / cnt if cnt > 0 else user_mean[u]
        impossible[p] = 0


def _chunks(n_threads):
    return max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))


def slopeone_dense(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, dev, freq,
                   n_threads=1):
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_dense_out(n, dev, freq)
    with numba_threads(n_threads):  # rows are independent: short calls, so Ctrl-C is answered (_slices.py)
        run_sliced(lambda lo, hi: _dense(indptr, indices, data, t_indptr, t_indices, t_data, lo, hi, dev, freq,
                                         _chunks(n_threads)),
                   row_start, row_stop, indptr)


def slopeone_mirror(dev, freq, n_threads=1):
    check_dense_out(dev.shape[0], dev, freq)
    with numba_threads(n_threads):
        _mirror(dev, freq)


def slopeone_count(indptr, indices, t_indptr, t_indices, row_start, row_stop, counts, n_threads=1):
    n = len(indptr) - 1
    if counts.shape != (n,) or counts.dtype != np.int64:
        raise ValueError(f"counts must be an int64 array of length {n}, got {counts.dtype} {counts.shape}.")
    if not 0 <= row_start <= row_stop <= n:
        raise ValueError(f"rows [{row_start}, {row_stop}) are not within [0, {n}).")
    mark = np.full((_chunks(n_threads), max(1, n)), -1, dtype=np.int64)
    with numba_threads(n_threads):
        run_sliced(lambda lo, hi: _count(indptr, indices, t_indptr, t_indices, lo, hi, counts, mark),
                   row_start, row_stop, indptr)


def slopeone_sparse(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    out_indptr, out_indices, out_dev, out_freq, n_threads=1):
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_sparse_out(n, out_indptr, out_indices, out_dev, out_freq)
    c = _chunks(n_threads)
    with numba_threads(n_threads):
        run_sliced(lambda lo, hi: _sparse(indptr, indices, data, t_indptr, t_indices, t_data, lo, hi, out_indptr,
                                          out_indices, out_dev, out_freq, np.zeros((c, max(1, n)), np.int32),
                                          np.zeros((c, max(1, n)))),
                   row_start, row_stop, indptr)


def slopeone_predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, global_mean, est, impossible,
                           n_threads=1):
    check_predict_args(users, items, u_indptr, u_indices, user_mean, dev.shape[0], est, impossible)
    check_dense_out(dev.shape[0], dev, freq)
    with numba_threads(n_threads):
        _predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, float(global_mean), est, impossible)


def slopeone_predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev, global_mean,
                            est, impossible, n_threads=1):
    check_predict_args(users, items, u_indptr, u_indices, user_mean, len(s_indptr) - 1, est, impossible)
    if len(s_indices) != s_indptr[-1] or len(s_dev) != s_indptr[-1]:
        raise ValueError("s_indices and s_dev must have s_indptr[-1] entries.")
    with numba_threads(n_threads):
        _predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev,
                        float(global_mean), est, impossible)
