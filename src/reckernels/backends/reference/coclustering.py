"""Co-clustering (George and Merugu 2005, as scikit-surprise 1.1.5 runs it), written for clarity.

One epoch is ``cocluster_averages`` (the mean rating of every user cluster, item cluster and
co-cluster; ``global_mean`` where a cluster holds no rating), then ``cocluster_assign_users``
(each user moves to the user cluster minimising the squared error of its ratings), then
``cocluster_assign_items`` (the same for items, seeing the users' new clusters but the same
averages). The estimate of (u, i) is, evaluated left to right as scikit-surprise does,

    avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]

Each error is summed over the row's ratings in the data's order, one cluster after another,
and ties go to the first minimum (np.argmin), so every backend reproduces the same clusters.

``centered_sum_squares`` is NormalPredictor's statistic sum((r - c) ** 2), summed left to right
with the C library's pow, i.e. exactly as scikit-surprise's Python ``sum`` computes it.
"""

import numpy as np


def cocluster_averages(u_indptr, u_indices, u_data, cltr_u, cltr_i, global_mean,
                       avg_u, avg_i, avg_co, n_threads=1):
    """Fill avg_u (n_cltr_u,), avg_i (n_cltr_i,) and avg_co (n_cltr_u, n_cltr_i) in place."""
    nu, ni = avg_co.shape
    cnt_u, cnt_i, cnt_co = np.zeros(nu, np.int64), np.zeros(ni, np.int64), np.zeros((nu, ni), np.int64)
    sum_u, sum_i, sum_co = np.zeros(nu), np.zeros(ni), np.zeros((nu, ni))
    for u in range(len(u_indptr) - 1):
        cu = cltr_u[u]
        for p in range(u_indptr[u], u_indptr[u + 1]):
            ci = cltr_i[u_indices[p]]
            r = u_data[p]
            cnt_u[cu] += 1
            cnt_i[ci] += 1
            cnt_co[cu, ci] += 1
            sum_u[cu] += r
            sum_i[ci] += r
            sum_co[cu, ci] += r
    for avg, s, c in ((avg_u, sum_u, cnt_u), (avg_i, sum_i, cnt_i), (avg_co, sum_co, cnt_co)):
        avg[...] = global_mean
        nz = c > 0
        avg[nz] = s[nz] / c[nz]


def cocluster_assign_users(u_indptr, u_indices, u_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    """Move every user to its best user cluster, in place; returns how many users moved."""
    moved = 0
    for u in range(len(u_indptr) - 1):
        best, best_err = 0, np.inf
        for cu in range(avg_co.shape[0]):
            err = 0.0
            for p in range(u_indptr[u], u_indptr[u + 1]):
                i = u_indices[p]
                ci = cltr_i[i]
                est = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]
                err += (u_data[p] - est) * (u_data[p] - est)
            if err < best_err or cu == 0:
                best, best_err = cu, err
        moved += int(cltr_u[u] != best)
        cltr_u[u] = best
    return moved


def cocluster_assign_items(i_indptr, i_indices, i_data, user_mean, item_mean, cltr_u, cltr_i,
                           avg_u, avg_i, avg_co, n_threads=1):
    """Move every item to its best item cluster (CSC by item), in place; returns how many moved."""
    moved = 0
    for i in range(len(i_indptr) - 1):
        best, best_err = 0, np.inf
        for ci in range(avg_co.shape[1]):
            err = 0.0
            for p in range(i_indptr[i], i_indptr[i + 1]):
                u = i_indices[p]
                cu = cltr_u[u]
                est = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]
                err += (i_data[p] - est) * (i_data[p] - est)
            if err < best_err or ci == 0:
                best, best_err = ci, err
        moved += int(cltr_i[i] != best)
        cltr_i[i] = best
    return moved


def cocluster_predict(users, items, user_mean, item_mean, cltr_u, cltr_i, avg_u, avg_i, avg_co,
                      global_mean, out, n_threads=1):
    """Estimates for inner-id pairs into ``out``; an unknown (-1) user or item gets global_mean."""
    for k in range(len(users)):
        u, i = users[k], items[k]
        if u < 0 or i < 0:
            out[k] = global_mean
        else:
            cu, ci = cltr_u[u], cltr_i[i]
            out[k] = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]


def centered_sum_squares(data, center):
    """sum((r - center) ** 2) over ``data`` left to right, each square by the C library's pow."""
    total = 0.0
    c = float(center)
    for r in data.tolist():
        total += (r - c) ** 2
    return total
