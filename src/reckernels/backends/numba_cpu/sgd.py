"""SGD matrix factorisation, Numba CPU: serial epochs in scikit-surprise's order, blocked parallel
epochs over the grid (see reckernels/backends/reference/sgd.py for the definitions)."""

import numba
import numpy as np

from .._checks import check_csr
from ..reference.sgd import check_grid, check_model, check_rates, grid_waves
from .._slices import run_sliced
from ._threads import numba_threads


# ---------------------------------------------------------------------------------------- SVD
@numba.njit(cache=True, nogil=True)
def _svd_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, lr, reg, biased):
    k = pu.shape[1]
    loss = 0.0
    for u in range(bu.shape[0]):
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            dot = 0.0
            for f in range(k):  # left to right, as scikit-surprise
                dot += qi[i, f] * pu[u, f]
            err = data[p] - (global_mean + bu[u] + bi[i] + dot)
            loss += err * err
            if biased:
                bu[u] += lr[0] * (err - reg[0] * bu[u])
                bi[i] += lr[1] * (err - reg[1] * bi[i])
            for f in range(k):
                puf = pu[u, f]
                qif = qi[i, f]
                pu[u, f] += lr[2] * (err * qif - reg[2] * puf)
                qi[i, f] += lr[3] * (err * puf - reg[3] * qif)
    return loss


@numba.njit(cache=True, nogil=True, fastmath=True)
def _svd_cell(lo, hi, users, items, ratings, global_mean, bu, bi, pu, qi, lr, reg, decay, biased, loss):
    # decay = [1 - lr_pu reg_pu, 1 - lr_qi reg_qi]: the factor step as two multiply-adds per
    # element, as the Cython cell. fastmath lets LLVM reassociate and vectorise the loops for
    # the host's widest vectors (Numba compiles for the CPU it runs on: no clones needed). Four
    # conflict-free ratings at once, as the Cython cell does, was measured here and gained
    # nothing (18.7 M updates per CPU second either way on the ML-1M prefix), so the ratings
    # run one after the other. ``loss`` is the cell's sum so far (a cell run in parts sums as in
    # one call).
    k = pu.shape[1]
    a_p = decay[0]
    a_q = decay[1]
    zero = decay[0] - decay[0]  # 0 in the factors' dtype (float32 stays float32)
    for p in range(lo, hi):
        u = users[p]
        i = items[p]
        dot = zero
        for f in range(k):  # the whole (padded) row: whole vectors, no peeled first element
            dot += qi[i, f] * pu[u, f]
        err = ratings[p] - (global_mean + bu[u] + bi[i] + dot)
        e = np.float64(err)
        loss += e * e
        if biased:
            bu[u] += lr[0] * (err - reg[0] * bu[u])
            bi[i] += lr[1] * (err - reg[1] * bi[i])
        b_p = lr[2] * err
        b_q = lr[3] * err
        for f in range(k):
            puf = pu[u, f]
            qif = qi[i, f]
            pu[u, f] = a_p * puf + b_p * qif
            qi[i, f] = a_q * qif + b_q * puf
    return loss


@numba.njit(cache=True, nogil=True, parallel=True)
def _svd_waves(block_ptr, users, items, ratings, global_mean, bu, bi, pu, qi, lr, reg, decay, biased, n_blocks,
               wave_lo, wave_hi, parts, cell_loss):
    # waves wave_lo .. wave_hi - 1 (reference.sgd.grid_waves); cell_loss[c] sums cell c's errors on
    for s in range(wave_lo // parts, (wave_hi + parts - 1) // parts):
        j0 = max(wave_lo - s * parts, 0)
        j1 = min(wave_hi - s * parts, parts)
        for r in numba.prange(n_blocks):  # the cells of one step share no user and no item
            c = r * n_blocks + (r + s) % n_blocks
            lo = block_ptr[c]
            n = block_ptr[c + 1] - lo
            cell_loss[c] = _svd_cell(lo + n * j0 // parts, lo + n * j1 // parts, users, items, ratings, global_mean,
                                     bu, bi, pu, qi, lr, reg, decay, biased, cell_loss[c])


# ---------------------------------------------------------------------------------------- SVD++
@numba.njit(cache=True, nogil=True)
def _svdpp_user(lo, hi, u, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, decay, s, z, shift, implicit):
    # the user's y_j are A*y0_j + B while its ratings run (see kernels/sgd.pyx: _svdpp_user)
    k = pu.shape[1]
    loss = 0.0
    z[:] = 0
    shift[:] = 0
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
        e = np.float64(err)
        loss += e * e
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
    return loss


@numba.njit(cache=True, nogil=True)
def _svdpp_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, decay, sqrt_iu):
    scratch = np.zeros((3, pu.shape[1]), dtype=pu.dtype)
    loss = 0.0
    for u in range(bu.shape[0]):
        if indptr[u] < indptr[u + 1]:
            loss += _svdpp_user(indptr[u], indptr[u + 1], u, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg,
                                decay, sqrt_iu[u], scratch[0], scratch[1], scratch[2])
    return loss


@numba.njit(cache=True, nogil=True, parallel=True)
def _svdpp_hogwild(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, decay, sqrt_iu):
    user_loss = np.zeros(bu.shape[0])
    for u in numba.prange(bu.shape[0]):  # users at once; shared item rows updated without locks
        if indptr[u] < indptr[u + 1]:
            scratch = np.zeros((3, pu.shape[1]), dtype=pu.dtype)  # per user, not per rating
            user_loss[u] = _svdpp_user(indptr[u], indptr[u + 1], u, indices, data, global_mean, bu, bi, pu, qi, yj,
                                       lr, reg, decay, sqrt_iu[u], scratch[0], scratch[1], scratch[2])
    return user_loss


# ---------------------------------------------------------------------------------------- entry points
def svd_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, lr, reg, biased):
    check_model(bu, bi, pu, qi, dtype=np.float64)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    lr, reg = check_rates(lr, reg, 4, np.float64)
    # ranges of users in order, as short calls, so Ctrl-C is answered (backends/_slices.py): the same
    # updates in the same order; the loss, a sum, then agrees to rounding
    return float(sum(run_sliced(lambda lo, hi: _svd_epoch(indptr[lo:hi + 1], indices, data, np.float64(global_mean),
                                                          bu[lo:hi], bi, pu[lo:hi], qi, lr, reg, bool(biased)),
                                0, len(bu), indptr, per_row=1)))


def svd_epoch_blocked(block_ptr, users, items, ratings, global_mean, bu, bi, pu, qi, lr, reg, biased,
                      n_threads=1):
    check_model(bu, bi, pu, qi)
    n_blocks = check_grid(block_ptr, users, items, ratings, pu.dtype)
    lr, reg = check_rates(lr, reg, 4, pu.dtype)
    decay = pu.dtype.type(1) - lr[2:] * reg[2:]  # in the factors' dtype
    # the epoch's waves as short calls, so Ctrl-C is answered (as in backends/cython/sgd.py)
    parts, cost = grid_waves(block_ptr, n_blocks)
    cell_loss = np.zeros(n_blocks * n_blocks)
    gm = pu.dtype.type(global_mean)
    with numba_threads(n_threads):
        run_sliced(lambda lo, hi: _svd_waves(block_ptr, users, items, ratings, gm, bu, bi, pu, qi, lr, reg, decay,
                                             bool(biased), n_blocks, lo, hi, parts, cell_loss),
                   0, n_blocks * parts, cost, per_row=0)
    return float(np.sum(cell_loss))  # fixed order: the loss does not depend on thread timing either


def _svdpp_args(indptr, indices, data, bu, bi, pu, qi, yj, lr, reg, dtype):
    check_model(bu, bi, pu, qi, yj, dtype=dtype)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    if np.asarray(data).dtype != pu.dtype:
        raise ValueError(f"data must have the factors' dtype {pu.dtype}, got {np.asarray(data).dtype}.")
    lr, reg = check_rates(lr, reg, 5, pu.dtype)
    decay = pu.dtype.type(1) - lr[4] * reg[4]  # in the factors' dtype, as the other backends
    return lr, reg, decay, np.sqrt(np.diff(indptr)).astype(pu.dtype)


def svdpp_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg):
    lr, reg, decay, sqrt_iu = _svdpp_args(indptr, indices, data, bu, bi, pu, qi, yj, lr, reg, np.float64)
    return float(sum(run_sliced(lambda lo, hi: _svdpp_epoch(
        indptr[lo:hi + 1], indices, data, np.float64(global_mean), bu[lo:hi], bi, pu[lo:hi], qi, yj, lr, reg, decay,
        sqrt_iu[lo:hi]), 0, len(bu), indptr, per_row=1)))


def svdpp_epoch_hogwild(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, n_threads=1):
    lr, reg, decay, sqrt_iu = _svdpp_args(indptr, indices, data, bu, bi, pu, qi, yj, lr, reg, None)
    gm = pu.dtype.type(global_mean)
    if n_threads == 1:  # numba's prange has no ordering guarantee; one thread must be the serial order
        return float(sum(run_sliced(lambda lo, hi: _svdpp_epoch(
            indptr[lo:hi + 1], indices, data, gm, bu[lo:hi], bi, pu[lo:hi], qi, yj, lr, reg, decay, sqrt_iu[lo:hi]),
            0, len(bu), indptr, per_row=1)))
    with numba_threads(n_threads):
        user_loss = run_sliced(lambda lo, hi: _svdpp_hogwild(
            indptr[lo:hi + 1], indices, data, gm, bu[lo:hi], bi, pu[lo:hi], qi, yj, lr, reg, decay, sqrt_iu[lo:hi]),
            0, len(bu), indptr, per_row=1)
    return float(np.sum(np.concatenate(user_loss))) if user_loss else 0.0
