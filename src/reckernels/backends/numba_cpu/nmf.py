"""NMF epoch, Numba CPU (see reckernels/backends/reference/nmf.py for the definition).

Users, then items, on parallel threads; with ``biased=True`` the biases' steps run serially in
scikit-surprise's order between the two (each is read by the next estimate). Every sum runs in
the reference's order, so the factors agree with it up to np.dot's rounding in the reference.
Each pass runs as calls on consecutive ranges of rows, so Ctrl-C is answered between them.
"""

import numba
import numpy as np

from .._slices import Pace, run_sliced
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


# The epoch's passes over ranges of rows [lo, hi), called on consecutive ranges so Ctrl-C is
# answered between calls (backends/_slices.py): the rows of a parallel pass are independent and
# the biases' pass carries its running loss from range to range, so the cut changes no bit.

@numba.njit(parallel=True, cache=True, nogil=True)
def _users_dots(indptr, indices, data, t_slot, pu, qi, biased, est, est_t, user_num, user_den, user_loss, lo, hi):
    """The estimates' dot products of users lo .. hi - 1 (old factors); unbiased, their sums and losses too."""
    k = pu.shape[1]
    for u in numba.prange(lo, hi):
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
        user_loss[u] = part


@numba.njit(cache=True, nogil=True)
def _biases(indptr, indices, data, t_slot, mu, bu, bi, lr, reg, est, est_t, lo, hi, loss):
    """Serial over users lo .. hi - 1: each bias step is read by the next estimate; returns loss + their errors."""
    for u in range(lo, hi):
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            e = mu + bu[u] + bi[i] + est[p]
            est[p] = e
            est_t[t_slot[p]] = e
            err = data[p] - e
            loss += err * err
            bu[u] += lr[0] * (err - reg[0] * bu[u])
            bi[i] += lr[1] * (err - reg[1] * bi[i])
    return loss


@numba.njit(parallel=True, cache=True, nogil=True)
def _users_sums(indptr, indices, data, est, qi, user_num, user_den, lo, hi):
    for u in numba.prange(lo, hi):
        _sums(indptr[u], indptr[u + 1], indices, data, est, qi, user_num[u], user_den[u])


@numba.njit(parallel=True, cache=True, nogil=True)
def _items(t_indptr, t_users, t_data, est_t, pu, qi, item_num, item_den, reg_qi, lo, hi):
    for i in numba.prange(lo, hi):
        _sums(t_indptr[i], t_indptr[i + 1], t_users, t_data, est_t, pu, item_num[i], item_den[i])
        _multiply(qi[i], item_num[i], item_den[i], (t_indptr[i + 1] - t_indptr[i]) * reg_qi)


@numba.njit(parallel=True, cache=True, nogil=True)
def _users_step(indptr, pu, user_num, user_den, reg_pu, lo, hi):
    for u in numba.prange(lo, hi):
        _multiply(pu[u], user_num[u], user_den[u], (indptr[u + 1] - indptr[u]) * reg_pu)


_PACES = {name: Pace() for name in ("dots", "biases", "sums", "items", "step")}


def nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, global_mean, bu, bi, pu, qi, lr, reg, biased,
              n_threads=1):
    lr, reg = check_nmf(indptr, indices, data, t_indptr, t_users, t_data, t_slot, bu, bi, pu, qi, lr, reg)
    est, est_t = np.empty(len(indices)), np.empty(len(indices))
    user_num, user_den = np.empty_like(pu), np.empty_like(pu)
    item_num, item_den = np.empty_like(qi), np.empty_like(qi)
    user_loss = np.zeros(len(pu))
    data = np.ascontiguousarray(data, dtype=np.float64)
    t_data = np.ascontiguousarray(t_data, dtype=np.float64)
    mu, biased = (float(global_mean) if biased else 0.0), bool(biased)
    n_users, n_items, k = len(pu), len(qi), pu.shape[1]
    loss = [0.0]

    def biases(lo, hi):  # the running loss goes from one range to the next
        loss[0] = _biases(indptr, indices, data, t_slot, mu, bu, bi, lr, reg, est, est_t, lo, hi, loss[0])

    # a rating's work in multiply-adds: k for its dot product, 2 k for the sums
    with numba_threads(n_threads):
        run_sliced(lambda lo, hi: _users_dots(indptr, indices, data, t_slot, pu, qi, biased, est, est_t, user_num,
                                              user_den, user_loss, lo, hi), 0, n_users, indptr,
                   per_row=k, per_entry=k if biased else 3 * k, pace=_PACES["dots"])
        if biased:
            run_sliced(biases, 0, n_users, indptr, pace=_PACES["biases"])
            run_sliced(lambda lo, hi: _users_sums(indptr, indices, data, est, qi, user_num, user_den, lo, hi), 0,
                       n_users, indptr, per_row=k, per_entry=2 * k, pace=_PACES["sums"])
        run_sliced(lambda lo, hi: _items(t_indptr, t_users, t_data, est_t, pu, qi, item_num, item_den, reg[3], lo, hi),
                   0, n_items, t_indptr, per_row=k, per_entry=2 * k, pace=_PACES["items"])
        run_sliced(lambda lo, hi: _users_step(indptr, pu, user_num, user_den, reg[2], lo, hi), 0, n_users,
                   per_row=k, pace=_PACES["step"])
    return loss[0] if biased else float(np.sum(user_loss))
