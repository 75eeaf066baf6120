"""Slope One deviations and prediction via the compiled kernels in kernels/slopeone.pyx."""

import numpy as np

from reckernels._cy import slopeone as _cy

from ...similarity import _rows_ascending
from .._slices import run_sliced
from ..reference.slopeone import check_dense_out, check_fit_args, check_predict_args, check_sparse_out


def _threads(n_threads):
    return max(1, int(n_threads))


def slopeone_dense(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, dev, freq,
                   n_threads=1):
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_dense_out(n, dev, freq)
    # ascending by-user lists let the kernel walk j >= x only (half the work; see slopeone_mirror)
    upper = _rows_ascending(t_indptr, t_indices)
    scratch = np.zeros((_threads(n_threads), 2 * n + 8))
    # rows are independent: short calls, so Ctrl-C is answered (backends/_slices.py)
    run_sliced(lambda lo, hi: _cy.slopeone_dense(indptr, indices, data, t_indptr, t_indices, t_data, lo, hi, dev,
                                                 freq, upper, scratch, _threads(n_threads)),
               row_start, row_stop, indptr)


def slopeone_mirror(dev, freq, n_threads=1):
    check_dense_out(dev.shape[0], dev, freq)
    _cy.slopeone_mirror(dev, freq, _threads(n_threads))


def slopeone_count(indptr, indices, t_indptr, t_indices, row_start, row_stop, counts, n_threads=1):
    n = len(indptr) - 1
    if counts.shape != (n,) or counts.dtype != np.int64:
        raise ValueError(f"counts must be an int64 array of length {n}, got {counts.dtype} {counts.shape}.")
    if not 0 <= row_start <= row_stop <= n:
        raise ValueError(f"rows [{row_start}, {row_stop}) are not within [0, {n}).")
    mark = np.full((_threads(n_threads), max(1, n)), -1, dtype=np.int32)
    run_sliced(lambda lo, hi: _cy.slopeone_count(indptr, indices, t_indptr, t_indices, lo, hi, counts, mark,
                                                 _threads(n_threads)),
               row_start, row_stop, indptr)


def slopeone_sparse(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    out_indptr, out_indices, out_dev, out_freq, n_threads=1):
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_sparse_out(n, out_indptr, out_indices, out_dev, out_freq)
    t = _threads(n_threads)
    run_sliced(lambda lo, hi: _cy.slopeone_sparse(indptr, indices, data, t_indptr, t_indices, t_data, lo, hi,
                                                  out_indptr, out_indices, out_dev, out_freq,
                                                  np.zeros((t, max(1, n)), np.int32), np.zeros((t, max(1, n))), t),
               row_start, row_stop, indptr)


def slopeone_predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, global_mean, est, impossible,
                           n_threads=1):
    check_predict_args(users, items, u_indptr, u_indices, user_mean, dev.shape[0], est, impossible)
    check_dense_out(dev.shape[0], dev, freq)
    _cy.slopeone_predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, float(global_mean), est,
                               impossible, _threads(n_threads))


def slopeone_predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev, global_mean,
                            est, impossible, n_threads=1):
    check_predict_args(users, items, u_indptr, u_indices, user_mean, len(s_indptr) - 1, est, impossible)
    if len(s_indices) != s_indptr[-1] or len(s_dev) != s_indptr[-1]:
        raise ValueError("s_indices and s_dev must have s_indptr[-1] entries.")
    _cy.slopeone_predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev,
                                float(global_mean), est, impossible, _threads(n_threads))
