"""Baseline biases (scikit-surprise's ALS and SGD estimation), written for clarity."""

import numpy as np


def _als_half(indptr, indices, data, global_mean, reg, other, out):
    for row in range(len(out)):
        lo, hi = indptr[row], indptr[row + 1]
        dev = 0.0
        for p in range(lo, hi):  # left to right, as scikit-surprise sums
            dev += data[p] - global_mean - other[indices[p]]
        out[row] = dev / (reg + (hi - lo))


def baseline_als_epoch(u_indptr, u_indices, u_data, i_indptr, i_indices, i_data,
                       global_mean, reg_u, reg_i, bu, bi, n_threads=1):
    """One ALS epoch in place: every item bias from the user biases, then every user bias."""
    _als_half(i_indptr, i_indices, i_data, global_mean, reg_i, bu, bi)
    _als_half(u_indptr, u_indices, u_data, global_mean, reg_u, bi, bu)


def baseline_sgd_epoch(u_indptr, u_indices, u_data, global_mean, reg, lr, bu, bi):
    """One SGD epoch in place: users in inner order, each user's ratings in data order."""
    for u in range(len(bu)):
        for p in range(u_indptr[u], u_indptr[u + 1]):
            i = u_indices[p]
            err = u_data[p] - (global_mean + bu[u] + bi[i])
            bu[u] += lr * (err - reg * bu[u])
            bi[i] += lr * (err - reg * bi[i])


def baseline_scores(global_mean, bu, bi, users, items):
    """mu + b_u + b_i with the bias of an unknown (-1) user or item taken as 0."""
    users = np.asarray(users)
    items = np.asarray(items)
    est = np.full(users.shape, global_mean, dtype=np.float64)
    ku, ki = users >= 0, items >= 0
    est[ku] += bu[users[ku]]
    est[ki] += bi[items[ki]]
    return est
