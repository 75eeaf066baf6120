"""SGD matrix factorisation on the GPU (see reckernels/backends/reference/sgd.py for the definitions).

The serial epochs (scikit-surprise's order) are sequential by definition and run in one GPU
thread: correct, for agreement checks, not fast. The parallel epochs follow cuMF_SGD in running
many updaters at once on float32 (or float64) factors. SVD's schedules them like LIBMF instead
of letting them race: step s of an epoch is one launch with one thread per grid cell
(r, (r + s) % B); those cells share no user and no item, so no update is lost and the result
is deterministic and equals the CPU backends' up to rounding; B (``n_blocks``) is the number
of concurrent updaters, 256 in the estimators. SVD++'s is Hogwild: ``n_threads`` GPU threads
each take every n_threads-th user and update the shared item rows without locks.
"""

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
@cuda.jit(device=True)
def _svdpp_user(lo, hi, u, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, decay, s, z, shift, implicit):
    # the user's y_j are A*y0_j + B while its ratings run (see kernels/sgd.pyx: _svdpp_user)
    k = pu.shape[1]
    total = 0.0
    for f in range(k):
        z[f] = 0
        shift[f] = 0
    for q in range(lo, hi):
        j = indices[q]
        for f in range(k):
            z[f] += yj[j, f] / s
    scale = 1.0
    for p in range(lo, hi):
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
    for q in range(lo, hi):
        j = indices[q]
        for f in range(k):
            yj[j, f] = scale * yj[j, f] + shift[f]
    return total


@cuda.jit
def _svdpp_updaters(n_updaters, indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, decay, sqrt_iu,
                    scratch, user_loss):
    # updater t takes users t, t + n_updaters, ... in order; one updater is scikit-surprise's order
    t = cuda.grid(1)
    if t >= n_updaters:
        return
    k = pu.shape[1]
    for u in range(t, bu.shape[0], n_updaters):
        if indptr[u] < indptr[u + 1]:
            user_loss[u] = _svdpp_user(indptr[u], indptr[u + 1], u, indices, data, global_mean, bu, bi, pu, qi, yj,
                                       lr, reg, decay, sqrt_iu[u], scratch[t, 0:k], scratch[t, k:2 * k],
                                       scratch[t, 2 * k:3 * k])


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


def _svdpp_run(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, n_updaters, dtype):
    check_model(bu, bi, pu, qi, yj, dtype=dtype)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    if np.asarray(data).dtype != pu.dtype:
        raise ValueError(f"data must have the factors' dtype {pu.dtype}, got {np.asarray(data).dtype}.")
    lr, reg = check_rates(lr, reg, 5, pu.dtype)
    n_updaters = max(1, min(int(n_updaters), len(bu)))
    decay = pu.dtype.type(1) - lr[4] * reg[4]
    d_in = _to_device(indptr, indices, data, lr, reg, np.sqrt(np.diff(indptr)).astype(pu.dtype))
    model = _to_device(bu, bi, pu, qi, yj)
    scratch, user_loss = _to_device(np.zeros((n_updaters, 3 * pu.shape[1]), pu.dtype), np.zeros(len(bu)))
    _svdpp_updaters[blocks_for(n_updaters, 64)](n_updaters, d_in[0], d_in[1], d_in[2], pu.dtype.type(global_mean),
                                                *model, d_in[3], d_in[4], decay, d_in[5], scratch, user_loss)
    _copy_back(zip(model, (bu, bi, pu, qi, yj)))
    return float(np.sum(user_loss.copy_to_host()))


def svdpp_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg):
    """scikit-surprise's order needs one updater: correct, not fast."""
    return _svdpp_run(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, 1, np.float64)


def svdpp_epoch_hogwild(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, n_threads=1):
    """``n_threads`` concurrent updaters (GPU threads), each taking every n_threads-th user."""
    return _svdpp_run(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, n_threads, None)
