"""Slope One deviations and prediction on the GPU: one thread per item row, one per pair.

Fitting: thread b of a call handles row x = row_start + b and walks x's raters and their items
sequentially (so every pair's sum runs in the reference's order and the results are
bit-identical), adding into its own row of a device block buffer: the dense kernel's buffers
are the output rows; the sparse kernel scans its buffer row in item order and writes the entries
at the offsets the count kernel gave. Device memory per call: about
(row_stop - row_start) x n_items x 12 bytes (reckernels.algorithms.slopeone sizes the blocks).
Prediction: one thread per pair.
"""

import numpy as np
from numba import cuda

from ..reference.slopeone import check_dense_out, check_fit_args, check_predict_args, check_sparse_out
from ..reference.slopeone import slopeone_mirror  # noqa: F401  (the result is on the host: NumPy mirrors it)
from ._device import blocks_for, simulated


def _tpb():
    return 16 if simulated() else 128  # the simulator runs every thread as a Python thread


@cuda.jit
def _rows(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, freq, sums):
    """freq[b, j], sums[b, j] (zero on entry) of row x = row_start + b."""
    b = cuda.grid(1)
    x = row_start + b
    if x >= row_stop:
        return
    for p in range(indptr[x], indptr[x + 1]):
        c = indices[p]
        xv = data[p]
        for q in range(t_indptr[c], t_indptr[c + 1]):
            j = t_indices[q]
            freq[b, j] += 1
            sums[b, j] += xv - t_data[q]


@cuda.jit
def _finish_dense(row_start, row_stop, freq, dev):
    b = cuda.grid(1)
    x = row_start + b
    if x >= row_stop:
        return
    for j in range(dev.shape[1]):
        if freq[b, j] > 0:
            dev[b, j] = dev[b, j] / freq[b, j]
    dev[b, x] = 0.0


@cuda.jit
def _count(row_start, row_stop, freq, counts):
    b = cuda.grid(1)
    if row_start + b >= row_stop:
        return
    k = 0
    for j in range(freq.shape[1]):
        if freq[b, j] > 0:
            k += 1
    counts[b] = k


@cuda.jit
def _compress(row_start, row_stop, freq, sums, out_offset, out_indices, out_dev, out_freq):
    """Row b's entries, in item order, at out_offset[b] - out_offset[0] of the block's output."""
    b = cuda.grid(1)
    x = row_start + b
    if x >= row_stop:
        return
    k = out_offset[b] - out_offset[0]
    for j in range(freq.shape[1]):
        f = freq[b, j]
        if f > 0:
            out_indices[k] = j
            out_freq[k] = f
            out_dev[k] = 0.0 if j == x else sums[b, j] / f
            k += 1


@cuda.jit
def _predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, global_mean, est, impossible):
    p = cuda.grid(1)
    if p >= users.shape[0]:
        return
    u, i = users[p], items[p]
    if u < 0 or i < 0:
        est[p] = global_mean
        impossible[p] = 1
        return
    total = 0.0
    cnt = 0
    for q in range(u_indptr[u], u_indptr[u + 1]):
        j = u_indices[q]
        if freq[i, j] > 0:
            total += dev[i, j]
            cnt += 1
    est[p] = user_mean[u] + total / cnt if cnt > 0 else user_mean[u]
    impossible[p] = 0


@cuda.jit
def _predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev, global_mean, est,
                    impossible):
    p = cuda.grid(1)
    if p >= users.shape[0]:
        return
    u, i = users[p], items[p]
    if u < 0 or i < 0:
        est[p] = global_mean
        impossible[p] = 1
        return
    total = 0.0
    cnt = 0
    end = s_indptr[i + 1]
    for q in range(u_indptr[u], u_indptr[u + 1]):
        j = u_indices[q]
        lo = s_indptr[i]
        hi = end
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


def _block_sums(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop):
    """Device (freq, sums) of shape (rows, n_items) for the rows of the call."""
    n = len(indptr) - 1
    rows = row_stop - row_start
    freq = cuda.to_device(np.zeros((rows, n), np.int32))
    sums = cuda.to_device(np.zeros((rows, n)))
    grid, tpb = blocks_for(rows, _tpb())
    _rows[grid, tpb](cuda.to_device(indptr), cuda.to_device(indices), cuda.to_device(data), cuda.to_device(t_indptr),
                     cuda.to_device(t_indices), cuda.to_device(t_data), row_start, row_stop, freq, sums)
    return freq, sums, (grid, tpb)


def slopeone_dense(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, dev, freq,
                   n_threads=1):
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_dense_out(n, dev, freq)
    row_start, row_stop = int(row_start), int(row_stop)
    if row_stop <= row_start:
        return
    d_freq, d_sums, launch = _block_sums(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    _finish_dense[launch](row_start, row_stop, d_freq, d_sums)
    dev[row_start:row_stop] = d_sums.copy_to_host()
    freq[row_start:row_stop] = d_freq.copy_to_host()


def slopeone_count(indptr, indices, t_indptr, t_indices, row_start, row_stop, counts, n_threads=1):
    n = len(indptr) - 1
    if counts.shape != (n,) or counts.dtype != np.int64:
        raise ValueError(f"counts must be an int64 array of length {n}, got {counts.dtype} {counts.shape}.")
    if not 0 <= row_start <= row_stop <= n:
        raise ValueError(f"rows [{row_start}, {row_stop}) are not within [0, {n}).")
    row_start, row_stop = int(row_start), int(row_stop)
    if row_stop <= row_start:
        return
    ones_i, ones_u = np.ones(len(indices)), np.ones(len(t_indices))  # the walk needs values: any will do
    d_freq, _, launch = _block_sums(indptr, indices, ones_i, t_indptr, t_indices, ones_u, row_start, row_stop)
    d_counts = cuda.device_array(row_stop - row_start, np.int64)
    _count[launch](row_start, row_stop, d_freq, d_counts)
    counts[row_start:row_stop] = d_counts.copy_to_host()


def slopeone_sparse(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    out_indptr, out_indices, out_dev, out_freq, n_threads=1):
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_sparse_out(n, out_indptr, out_indices, out_dev, out_freq)
    row_start, row_stop = int(row_start), int(row_stop)
    if row_stop <= row_start:
        return
    d_freq, d_sums, launch = _block_sums(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    lo, hi = int(out_indptr[row_start]), int(out_indptr[row_stop])
    d_idx = cuda.device_array(max(1, hi - lo), np.int32)
    d_dev = cuda.device_array(max(1, hi - lo), np.float64)
    d_fr = cuda.device_array(max(1, hi - lo), np.int32)
    _compress[launch](row_start, row_stop, d_freq, d_sums, cuda.to_device(out_indptr[row_start:row_stop + 1]),
                      d_idx, d_dev, d_fr)
    out_indices[lo:hi] = d_idx.copy_to_host()[:hi - lo]
    out_dev[lo:hi] = d_dev.copy_to_host()[:hi - lo]
    out_freq[lo:hi] = d_fr.copy_to_host()[:hi - lo]


def _predict(kernel, users, arrays, global_mean, est, impossible):
    if len(users) == 0:
        return
    d_est = cuda.device_array(len(users), np.float64)
    d_imp = cuda.device_array(len(users), np.uint8)
    grid, tpb = blocks_for(len(users), _tpb())
    kernel[grid, tpb](*[cuda.to_device(a) for a in arrays], float(global_mean), d_est, d_imp)
    est[:] = d_est.copy_to_host()
    impossible[:] = d_imp.copy_to_host()


def slopeone_predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, global_mean, est, impossible,
                           n_threads=1):
    check_predict_args(users, items, u_indptr, u_indices, user_mean, dev.shape[0], est, impossible)
    check_dense_out(dev.shape[0], dev, freq)
    _predict(_predict_dense, users, (users, items, u_indptr, u_indices, user_mean, dev, freq), global_mean, est,
             impossible)


def slopeone_predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev, global_mean,
                            est, impossible, n_threads=1):
    check_predict_args(users, items, u_indptr, u_indices, user_mean, len(s_indptr) - 1, est, impossible)
    if len(s_indices) != s_indptr[-1] or len(s_dev) != s_indptr[-1]:
        raise ValueError("s_indices and s_dev must have s_indptr[-1] entries.")
    _predict(_predict_sparse, users, (users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev),
             global_mean, est, impossible)
