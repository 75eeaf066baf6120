"""NMF epoch, Numba CPU (see reckernels/backends/reference/nmf.py for the definition).

Users, then items, on parallel threads; with ``biased=True`` the biases' steps run serially in
scikit-surprise's order between the two (each is read by the next estimate). Every sum runs in
the reference's order, so the factors agree with it up to np.dot's rounding in the reference.
"""

import numba
import numpy as np

from ..reference.nmf import check_nmf
from ._threads import numba_threads


@numba.njit(cache=True, nogil=True, inline="always")
def _sums(lo, hi, rows, data, est, X, num, den):
    k = X.shape[1]
    for f in range(k):
        num[f] = 0.0
        den[f] = 0.0
    for q in range(lo, hi):
        r = data[q]
        e = est[q]
        row = rows[q]
        for f in range(k):
            num[f] += X[row, f] * r
            den[f] += X[row, f] * e


@numba.njit(cache=True, nogil=True, inline="always")
def _multiply(x, num, den, n_reg):
    for f in range(x.shape[0]):
        if x[f] != 0.0:
            d = den[f] + n_reg * x[f]
            if d != 0.0:
                x[f] *= num[f] / d


@numba.njit(parallel=True, cache=True, nogil=True)
def _nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, mu, bu, bi, pu, qi, lr, reg, biased, est,
               est_t, user_num, user_den, item_num, item_den):
    n_users, k = pu.shape
    n_items = qi.shape[0]
    loss = 0.0
    for u in numba.prange(n_users):
        part = 0.0
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            dot = 0.0
            for f in range(k):  # left to right, as scikit-surprise
                dot += qi[i, f] * pu[u, f]
            est[p] = dot
            est_t[t_slot[p]] = dot  # the items' pass reads it in its order
            if not biased:
                err = data[p] - dot
                part += err * err
        if not biased:
            _sums(indptr[u], indptr[u + 1], indices, data, est, qi, user_num[u], user_den[u])
        loss += part
    if biased:
        for u in range(n_users):  # serial: each bias step is read by the next estimate
            for p in range(indptr[u], indptr[u + 1]):
                i = indices[p]
                e = mu + bu[u] + bi[i] + est[p]
                est[p] = e
                est_t[t_slot[p]] = e
                err = data[p] - e
                loss += err * err
                bu[u] += lr[0] * (err - reg[0] * bu[u])
                bi[i] += lr[1] * (err - reg[1] * bi[i])
        for u in numba.prange(n_users):
            _sums(indptr[u], indptr[u + 1], indices, data, est, qi, user_num[u], user_den[u])
    for i in numba.prange(n_items):
        _sums(t_indptr[i], t_indptr[i + 1], t_users, t_data, est_t, pu, item_num[i], item_den[i])
        _multiply(qi[i], item_num[i], item_den[i], (t_indptr[i + 1] - t_indptr[i]) * reg[3])
    for u in numba.prange(n_users):
        _multiply(pu[u], user_num[u], user_den[u], (indptr[u + 1] - indptr[u]) * reg[2])
    return loss


def nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, global_mean, bu, bi, pu, qi, lr, reg, biased,
              n_threads=1):
    lr, reg = check_nmf(indptr, indices, data, t_indptr, t_users, t_data, t_slot, bu, bi, pu, qi, lr, reg)
    est, est_t = np.empty(len(indices)), np.empty(len(indices))
    scratch = [np.empty_like(pu), np.empty_like(pu), np.empty_like(qi), np.empty_like(qi)]
    mu = float(global_mean) if biased else 0.0
    with numba_threads(n_threads):
        return float(_nmf_epoch(indptr, indices, np.ascontiguousarray(data, dtype=np.float64), t_indptr, t_users,
                                np.ascontiguousarray(t_data, dtype=np.float64), t_slot, mu, bu, bi, pu, qi, lr, reg,
                                bool(biased), est, est_t, *scratch))
