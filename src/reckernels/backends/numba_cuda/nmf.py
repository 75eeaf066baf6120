"""NMF epoch on the GPU (see reckernels/backends/reference/nmf.py for the definition).

One thread per user computes its estimates and sums, one thread per item its sums and step,
then one thread per user its step; every sum runs in the reference's order. With
``biased=True`` the biases' steps are sequential by definition (each is read by the next
estimate) and run in one GPU thread between the user and item launches: correct, not fast.
"""

import numpy as np
from numba import cuda

from ..reference.nmf import check_nmf
from ._device import blocks_for


@cuda.jit(device=True)
def _sums(lo, hi, rows, data, est, X, num, den, row_out):
    k = X.shape[1]
    for f in range(k):
        num[row_out, f] = 0.0
        den[row_out, f] = 0.0
    for q in range(lo, hi):
        r = data[q]
        e = est[q]
        row = rows[q]
        for f in range(k):
            num[row_out, f] += X[row, f] * r
            den[row_out, f] += X[row, f] * e


@cuda.jit(device=True)
def _multiply(x, row, num, den, n_reg):
    for f in range(x.shape[1]):
        if x[row, f] != 0.0:
            d = den[row, f] + n_reg * x[row, f]
            if d != 0.0:
                x[row, f] *= num[row, f] / d


@cuda.jit
def _users_est(indptr, indices, data, t_slot, pu, qi, biased, est, est_t, user_num, user_den, user_loss):
    u = cuda.grid(1)
    if u >= pu.shape[0]:
        return
    k = pu.shape[1]
    part = 0.0
    for p in range(indptr[u], indptr[u + 1]):
        i = indices[p]
        dot = 0.0
        for f in range(k):
            dot += qi[i, f] * pu[u, f]
        est[p] = dot
        est_t[t_slot[p]] = dot  # the items' pass reads it in its order
        err = data[p] - dot
        part += err * err
    user_loss[u] = part
    if not biased:
        _sums(indptr[u], indptr[u + 1], indices, data, est, qi, user_num, user_den, u)


@cuda.jit
def _biases_serial(indptr, indices, data, t_slot, mu, bu, bi, lr, reg, est, est_t, loss):
    if cuda.grid(1) != 0:
        return
    total = 0.0
    for u in range(bu.shape[0]):
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            e = mu + bu[u] + bi[i] + est[p]
            est[p] = e
            est_t[t_slot[p]] = e
            err = data[p] - e
            total += err * err
            bu[u] += lr[0] * (err - reg[0] * bu[u])
            bi[i] += lr[1] * (err - reg[1] * bi[i])
    loss[0] = total


@cuda.jit
def _users_sums(indptr, indices, data, qi, est, user_num, user_den):
    u = cuda.grid(1)
    if u < user_num.shape[0]:
        _sums(indptr[u], indptr[u + 1], indices, data, est, qi, user_num, user_den, u)


@cuda.jit
def _items(t_indptr, t_users, t_data, est_t, pu, qi, reg_qi, item_num, item_den):
    i = cuda.grid(1)
    if i < qi.shape[0]:
        _sums(t_indptr[i], t_indptr[i + 1], t_users, t_data, est_t, pu, item_num, item_den, i)
        _multiply(qi, i, item_num, item_den, (t_indptr[i + 1] - t_indptr[i]) * reg_qi)


@cuda.jit
def _users_step(indptr, pu, reg_pu, user_num, user_den):
    u = cuda.grid(1)
    if u < pu.shape[0]:
        _multiply(pu, u, user_num, user_den, (indptr[u + 1] - indptr[u]) * reg_pu)


def nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, global_mean, bu, bi, pu, qi, lr, reg, biased,
              n_threads=1):
    lr, reg = check_nmf(indptr, indices, data, t_indptr, t_users, t_data, t_slot, bu, bi, pu, qi, lr, reg)
    n_users, n_items = len(bu), len(bi)
    d = {name: cuda.to_device(np.ascontiguousarray(a)) for name, a in
         (("indptr", indptr), ("indices", indices), ("data", np.asarray(data, dtype=np.float64)),
          ("t_indptr", t_indptr), ("t_users", t_users), ("t_data", np.asarray(t_data, dtype=np.float64)),
          ("t_slot", t_slot), ("bu", bu), ("bi", bi), ("pu", pu),
          ("qi", qi), ("lr", lr), ("reg", reg))}
    est, est_t = cuda.device_array(max(1, len(indices))), cuda.device_array(max(1, len(indices)))
    user_num, user_den = cuda.device_array(pu.shape), cuda.device_array(pu.shape)
    item_num, item_den = cuda.device_array(qi.shape), cuda.device_array(qi.shape)
    user_loss = cuda.device_array(max(1, n_users))
    if n_users:
        _users_est[blocks_for(n_users)](d["indptr"], d["indices"], d["data"], d["t_slot"], d["pu"], d["qi"],
                                        bool(biased), est, est_t, user_num, user_den, user_loss)
    loss = float(user_loss.copy_to_host()[:n_users].sum())
    if biased and n_users:
        out = cuda.device_array(1)
        _biases_serial[1, 1](d["indptr"], d["indices"], d["data"], d["t_slot"], float(global_mean), d["bu"], d["bi"],
                             d["lr"], d["reg"], est, est_t, out)
        loss = float(out.copy_to_host()[0])
        _users_sums[blocks_for(n_users)](d["indptr"], d["indices"], d["data"], d["qi"], est, user_num, user_den)
    if n_items:
        _items[blocks_for(n_items)](d["t_indptr"], d["t_users"], d["t_data"], est_t, d["pu"], d["qi"],
                                    float(reg[3]), item_num, item_den)
    if n_users:
        _users_step[blocks_for(n_users)](d["indptr"], d["pu"], float(reg[2]), user_num, user_den)
    for name, host in (("bu", bu), ("bi", bi), ("pu", pu), ("qi", qi)):
        d[name].copy_to_host(host)
    return loss
