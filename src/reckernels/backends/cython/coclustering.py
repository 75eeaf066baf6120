"""Co-clustering and NormalPredictor kernels via the compiled code in kernels/coclustering.pyx."""

import numpy as np

from reckernels._cy import coclustering as _cy

from .._checks import check_csr
from .._slices import run_sliced


def _check_clusters(cltr_u, cltr_i, avg_u, avg_i, avg_co):
    if avg_co.shape != (len(avg_u), len(avg_i)):
        raise ValueError(f"avg_co has shape {avg_co.shape}, expected (len(avg_u), len(avg_i)) = "
                         f"({len(avg_u)}, {len(avg_i)}).")


def cocluster_averages(u_indptr, u_indices, u_data, cltr_u, cltr_i, global_mean, avg_u, avg_i, avg_co, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(cltr_u))
    _check_clusters(cltr_u, cltr_i, avg_u, avg_i, avg_co)
    _cy.cocluster_averages(u_indptr, u_indices, u_data, cltr_u, cltr_i, float(global_mean),
                           avg_u, avg_i, avg_co, max(1, int(n_threads)))


def cocluster_assign_users(u_indptr, u_indices, u_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(cltr_u))
    _check_means(user_mean, item_mean, cltr_u, cltr_i)
    _check_clusters(cltr_u, cltr_i, avg_u, avg_i, avg_co)
    # users are independent: short calls on ranges of them, so Ctrl-C is answered (backends/_slices.py)
    return int(sum(run_sliced(lambda lo, hi: _cy.cocluster_assign_users(
        u_indptr[lo:hi + 1], u_indices, u_data, user_mean[lo:hi], item_mean, cltr_u[lo:hi], cltr_i, avg_u, avg_i,
        avg_co, max(1, int(n_threads))), 0, len(cltr_u), u_indptr, per_row=len(avg_u))))


def cocluster_assign_items(i_indptr, i_indices, i_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    check_csr(i_indptr, i_indices, i_data, n_rows=len(cltr_i))
    _check_means(user_mean, item_mean, cltr_u, cltr_i)
    _check_clusters(cltr_u, cltr_i, avg_u, avg_i, avg_co)
    return int(sum(run_sliced(lambda lo, hi: _cy.cocluster_assign_items(
        i_indptr[lo:hi + 1], i_indices, i_data, user_mean, item_mean[lo:hi], cltr_u, cltr_i[lo:hi], avg_u, avg_i,
        avg_co, max(1, int(n_threads))), 0, len(cltr_i), i_indptr, per_row=len(avg_i))))


def cocluster_predict(users, items, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co,
                      global_mean, out, n_threads=1):
    if not (len(users) == len(items) == len(out)):
        raise ValueError(f"users ({len(users)}), items ({len(items)}) and out ({len(out)}) must have the same length.")
    _check_means(user_mean, item_mean, cltr_u, cltr_i)
    _check_clusters(cltr_u, cltr_i, avg_u, avg_i, avg_co)
    users = np.ascontiguousarray(users, dtype=np.int32)
    items = np.ascontiguousarray(items, dtype=np.int32)
    if len(users) and (users.max() >= len(cltr_u) or items.max() >= len(cltr_i)):
        raise ValueError("users and items must be inner ids below n_users / n_items (or -1 for unknown).")
    _cy.cocluster_predict(users, items, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co,
                          float(global_mean), out, max(1, int(n_threads)))


def centered_sum_squares(data, center):
    return float(_cy.centered_sum_squares(np.ascontiguousarray(data, dtype=np.float64), float(center)))


def _check_means(user_mean, item_mean, cltr_u, cltr_i):
    if len(user_mean) != len(cltr_u) or len(item_mean) != len(cltr_i):
        raise ValueError(f"user_mean ({len(user_mean)}) / item_mean ({len(item_mean)}) must have one entry per "
                         f"user ({len(cltr_u)}) / item ({len(cltr_i)}).")
