"""SGD matrix factorisation on the GPU (see reckernels/backends/reference/sgd.py for the definitions).

The serial epochs (scikit-surprise's order) are sequential by definition and run in one GPU
thread: correct, for agreement checks, not fast. The blocked epochs follow cuMF_SGD in running
many updaters at once on the factors (float32 or float64), but schedule them like LIBMF
instead of letting them race (Hogwild): step s of an epoch is one launch with one thread per
grid cell (r, (r + s) % B); those cells share no user and no item, so no update is lost and
the result is deterministic and equals the CPU backends' up to rounding. B (``n_blocks``)
sets the number of concurrent updaters; the estimators use 256 on this backend.
"""

import math

import numpy as np
from numba import cuda

from .._checks import check_csr
from ..reference.sgd import check_grid, check_model, check_rates
from ._device import blocks_for


# ---------------------------------------------------------------------------------------- SVD
@cuda.jit
def _svd_serial(indptr, indices, data, global_mean, bu, bi, pu, qi, lr, reg, biased, loss):
    if cuda.grid(1) != 0:
        return
    k = pu.shape[1]
    total = 0.0
    for u in range(bu.shape[0]):
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            dot = 0.0
            for f in range(k):
                dot += qi[i, f] * pu[u, f]
            err = data[p] - (global_mean + bu[u] + bi[i] + dot)
            total += err * err
            if biased:
                bu[u] += lr[0] * (err - reg[0] * bu[u])
                bi[i] += lr[1] * (err - reg[1] * bi[i])
            for f in range(k):
                puf = pu[u, f]
                qif = qi[i, f]
                pu[u, f] += lr[2] * (err * qif - reg[2] * puf)
                qi[i, f] += lr[3] * (err * puf - reg[3] * qif)
    loss[0] = total


@cuda.jit
def _svd_step(step, n_blocks, block_ptr, users, items, ratings, global_mean, bu, bi, pu, qi, lr, reg, biased,
              cell_loss):
    r = cuda.grid(1)
    if r >= n_blocks:
        return
    c = r * n_blocks + (r + step) % n_blocks
    k = pu.shape[1]
    total = 0.0
    for p in range(block_ptr[c], block_ptr[c + 1]):
        u = users[p]
        i = items[p]
        dot = qi[i, 0] * pu[u, 0]  # starts in the factors' dtype
        for f in range(1, k):
            dot += qi[i, f] * pu[u, f]
        err = ratings[p] - (global_mean + bu[u] + bi[i] + dot)
        total += float(err) * float(err)
        if biased:
            bu[u] += lr[0] * (err - reg[0] * bu[u])
            bi[i] += lr[1] * (err - reg[1] * bi[i])
        for f in range(k):
            puf = pu[u, f]
            qif = qi[i, f]
            pu[u, f] = puf + lr[2] * (err * qif - reg[2] * puf)
            qi[i, f] = qif + lr[3] * (err * puf - reg[3] * qif)
    cell_loss[c] = total


# ---------------------------------------------------------------------------------------- SVD++
@cuda.jit
def _svdpp_serial(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, z, shift, implicit, loss):
    # the user's y_j are A*y0_j + B while its ratings run (see kernels/sgd.pyx: svdpp_epoch)
    if cuda.grid(1) != 0:
        return
    k = pu.shape[1]
    decay = 1.0 - lr[4] * reg[4]
    total = 0.0
    for u in range(bu.shape[0]):
        if indptr[u] == indptr[u + 1]:
            continue
        s = math.sqrt(float(indptr[u + 1] - indptr[u]))
        for f in range(k):
            z[f] = 0.0
            shift[f] = 0.0
        for q in range(indptr[u], indptr[u + 1]):
            j = indices[q]
            for f in range(k):
                z[f] += yj[j, f] / s
        scale = 1.0
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            dot = 0.0
            for f in range(k):
                implicit[f] = scale * z[f] + s * shift[f]
                dot += qi[i, f] * (pu[u, f] + implicit[f])
            err = data[p] - (global_mean + bu[u] + bi[i] + dot)
            total += err * err
            bu[u] += lr[0] * (err - reg[0] * bu[u])
            bi[i] += lr[1] * (err - reg[1] * bi[i])
            for f in range(k):
                puf = pu[u, f]
                qif = qi[i, f]
                pu[u, f] += lr[2] * (err * qif - reg[2] * puf)
                qi[i, f] += lr[3] * (err * (puf + implicit[f]) - reg[3] * qif)
                shift[f] = decay * shift[f] + lr[4] * (err * qif / s)
            scale = decay * scale
        for q in range(indptr[u], indptr[u + 1]):
            j = indices[q]
            for f in range(k):
                yj[j, f] = scale * yj[j, f] + shift[f]
    loss[0] = total


@cuda.jit
def _implicit_start(indptr, indices, yj, sqrt_iu, z):
    u = cuda.grid(1)
    if u < z.shape[0]:
        for q in range(indptr[u], indptr[u + 1]):
            for f in range(z.shape[1]):
                z[u, f] += yj[indices[q], f] / sqrt_iu[u]


@cuda.jit
def _svdpp_step(step, n_blocks, block_ptr, users, items, ratings, global_mean, bu, bi, pu, qi, z, sqrt_iu,
                scale, shift, decay, lr, reg, cell_loss):
    r = cuda.grid(1)
    if r >= n_blocks:
        return
    c = r * n_blocks + (r + step) % n_blocks
    k = pu.shape[1]
    total = 0.0
    for p in range(block_ptr[c], block_ptr[c + 1]):
        u = users[p]
        i = items[p]
        dot = qi[i, 0] * (pu[u, 0] + (scale[u] * z[u, 0] + sqrt_iu[u] * shift[u, 0]))
        for f in range(1, k):
            dot += qi[i, f] * (pu[u, f] + (scale[u] * z[u, f] + sqrt_iu[u] * shift[u, f]))
        err = ratings[p] - (global_mean + bu[u] + bi[i] + dot)
        total += float(err) * float(err)
        bu[u] += lr[0] * (err - reg[0] * bu[u])
        bi[i] += lr[1] * (err - reg[1] * bi[i])
        for f in range(k):
            imp = scale[u] * z[u, f] + sqrt_iu[u] * shift[u, f]
            puf = pu[u, f]
            qif = qi[i, f]
            pu[u, f] = puf + lr[2] * (err * qif - reg[2] * puf)
            qi[i, f] = qif + lr[3] * (err * (puf + imp) - reg[3] * qif)
            shift[u, f] = decay * shift[u, f] + lr[4] * (err * qif / sqrt_iu[u])
        scale[u] = decay * scale[u]
    cell_loss[c] = total


@cuda.jit
def _apply_implicit(c_indptr, c_indices, scale, shift, yj):
    j = cuda.grid(1)
    if j < yj.shape[0]:
        for q in range(c_indptr[j], c_indptr[j + 1]):
            v = c_indices[q]
            for f in range(yj.shape[1]):
                yj[j, f] = scale[v] * yj[j, f] + shift[v, f]


# ---------------------------------------------------------------------------------------- entry points
def _to_device(*arrays):
    return [cuda.to_device(np.ascontiguousarray(a)) for a in arrays]


def _copy_back(pairs):
    for d, host in pairs:
        d.copy_to_host(host)


def svd_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, lr, reg, biased):
    check_model(bu, bi, pu, qi, dtype=np.float64)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    lr, reg = check_rates(lr, reg, 4, np.float64)
    d_in = _to_device(indptr, indices, data, lr, reg)
    model = _to_device(bu, bi, pu, qi)
    loss = cuda.to_device(np.zeros(1))
    _svd_serial[1, 1](d_in[0], d_in[1], d_in[2], np.float64(global_mean), *model, d_in[3], d_in[4], bool(biased), loss)
    _copy_back(zip(model, (bu, bi, pu, qi)))
    return float(loss.copy_to_host()[0])


def svd_epoch_blocked(block_ptr, users, items, ratings, global_mean, bu, bi, pu, qi, lr, reg, biased,
                      n_threads=1):
    """``n_threads`` is not used here: the grid's B cells per step are the concurrent updaters."""
    check_model(bu, bi, pu, qi)
    n_blocks = check_grid(block_ptr, users, items, ratings, pu.dtype)
    lr, reg = check_rates(lr, reg, 4, pu.dtype)
    grid = _to_device(block_ptr, users, items, ratings)
    d_lr, d_reg = _to_device(lr, reg)
    model = _to_device(bu, bi, pu, qi)
    cell_loss = cuda.to_device(np.zeros(n_blocks * n_blocks))
    gm = pu.dtype.type(global_mean)
    for step in range(n_blocks):
        _svd_step[blocks_for(n_blocks, 64)](step, n_blocks, *grid, gm, *model, d_lr, d_reg, bool(biased), cell_loss)
    _copy_back(zip(model, (bu, bi, pu, qi)))
    return float(np.sum(cell_loss.copy_to_host()))


def svdpp_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg):
    check_model(bu, bi, pu, qi, yj, dtype=np.float64)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    lr, reg = check_rates(lr, reg, 5, np.float64)
    d_in = _to_device(indptr, indices, data, lr, reg)
    model = _to_device(bu, bi, pu, qi, yj)
    scratch = _to_device(*(np.zeros(pu.shape[1]) for _ in range(3)))
    loss = cuda.to_device(np.zeros(1))
    _svdpp_serial[1, 1](d_in[0], d_in[1], d_in[2], np.float64(global_mean), *model, d_in[3], d_in[4], *scratch, loss)
    _copy_back(zip(model, (bu, bi, pu, qi, yj)))
    return float(loss.copy_to_host()[0])


def svdpp_epoch_blocked(block_ptr, users, items, ratings, indptr, indices, c_indptr, c_indices,
                        global_mean, bu, bi, pu, qi, yj, lr, reg, n_threads=1):
    """``n_threads`` is not used here: the grid's B cells per step are the concurrent updaters."""
    check_model(bu, bi, pu, qi, yj)
    n_blocks = check_grid(block_ptr, users, items, ratings, pu.dtype)
    check_csr(indptr, indices, indices, n_rows=len(bu), n_cols=len(bi))
    check_csr(c_indptr, c_indices, c_indices, n_rows=len(bi), n_cols=len(bu))
    lr, reg = check_rates(lr, reg, 5, pu.dtype)
    dtype = pu.dtype
    grid = _to_device(block_ptr, users, items, ratings)
    d_csr = _to_device(indptr, indices, c_indptr, c_indices)
    d_lr, d_reg = _to_device(lr, reg)
    model = _to_device(bu, bi, pu, qi, yj)
    d_bu, d_bi, d_pu, d_qi, d_yj = model
    sqrt_iu, scale = _to_device(np.sqrt(np.diff(indptr)).astype(dtype), np.ones(len(bu), dtype=dtype))
    z, shift = _to_device(np.zeros_like(pu), np.zeros_like(pu))
    cell_loss = cuda.to_device(np.zeros(n_blocks * n_blocks))
    _implicit_start[blocks_for(len(bu))](d_csr[0], d_csr[1], d_yj, sqrt_iu, z)
    gm, decay = dtype.type(global_mean), dtype.type(1) - lr[4] * reg[4]
    for step in range(n_blocks):
        _svdpp_step[blocks_for(n_blocks, 64)](step, n_blocks, *grid, gm, d_bu, d_bi, d_pu, d_qi, z, sqrt_iu, scale,
                                              shift, decay, d_lr, d_reg, cell_loss)
    _apply_implicit[blocks_for(len(bi))](d_csr[2], d_csr[3], scale, shift, d_yj)
    _copy_back(zip(model, (bu, bi, pu, qi, yj)))
    return float(np.sum(cell_loss.copy_to_host()))
