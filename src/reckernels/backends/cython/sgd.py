"""SGD matrix factorisation via the compiled kernels in kernels/sgd.pyx (checked entry points)."""

import numpy as np

from reckernels._cy import sgd as _cy

from .._checks import check_csr
from .._slices import run_sliced
from ..reference.sgd import check_grid, check_model, check_rates, grid_waves


def svd_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, lr, reg, biased):
    check_model(bu, bi, pu, qi, dtype=np.float64)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    lr, reg = check_rates(lr, reg, 4, np.float64)
    # ranges of users in order, as short calls, so Ctrl-C is answered (backends/_slices.py): the same
    # updates in the same order; the loss, a sum, then agrees to rounding
    return float(sum(run_sliced(lambda lo, hi: _cy.svd_epoch(indptr[lo:hi + 1], indices, data, float(global_mean),
                                                       bu[lo:hi], bi, pu[lo:hi], qi, lr, reg, bool(biased)),
                          0, len(bu), indptr, per_row=1)))


def svd_epoch_blocked(block_ptr, users, items, ratings, global_mean, bu, bi, pu, qi, lr, reg, biased,
                      n_threads=1):
    check_model(bu, bi, pu, qi)
    n_blocks = check_grid(block_ptr, users, items, ratings, pu.dtype)
    lr, reg = check_rates(lr, reg, 4, pu.dtype)
    # the epoch's waves (parts of its steps) as short calls, so Ctrl-C is answered: the same updates in
    # the same order, each cell's loss summed on in place (the bits of one call)
    parts, cost = grid_waves(block_ptr, n_blocks)
    cell_loss = np.zeros(n_blocks * n_blocks)
    gm, n_threads = pu.dtype.type(global_mean), int(n_threads)
    run_sliced(lambda lo, hi: _cy.svd_epoch_blocked(block_ptr, users, items, ratings, gm, bu, bi, pu, qi, lr, reg,
                                                    bool(biased), n_blocks, n_threads, lo, hi, parts, cell_loss),
               0, n_blocks * parts, cost, per_row=0)
    return float(np.sum(cell_loss))  # fixed order: the loss does not depend on thread timing either


def build_grid(indptr, indices, data, user_block, item_block, n_blocks, ways, dtype):
    """The blocked schedule's (block_ptr, users, items, ratings) by the compiled counting sort: the
    arrays of algorithms/svd.py: build_grid, which defines them (user_block / item_block: each
    user's and item's block, ``ways``: how many parts of each cell alternate, 1 for none)."""
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    data = np.ascontiguousarray(data, dtype=np.float64)
    user_block = np.ascontiguousarray(user_block, dtype=np.int32)
    item_block = np.ascontiguousarray(item_block, dtype=np.int32)
    check_csr(indptr, indices, data, n_rows=len(user_block))
    n_blocks, ways = int(n_blocks), int(ways)
    if n_blocks < 1 or ways < 1:
        raise ValueError(f"n_blocks and ways must be at least 1, got {n_blocks} and {ways}.")
    for name, blocks in (("user_block", user_block), ("item_block", item_block)):
        if len(blocks) and (blocks.min() < 0 or blocks.max() >= n_blocks):
            raise ValueError(f"{name} must hold blocks in [0, {n_blocks}).")
    if len(indices) and len(item_block) <= int(indices.max()):  # one scan; the kernel indexes item_block
        raise ValueError(f"item_block has {len(item_block)} entries, fewer than the items the CSR names.")
    n = len(indices)
    block_ptr = np.empty(n_blocks * n_blocks + 1, dtype=np.int64)
    users, items = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
    ratings = np.empty(n, dtype=dtype)
    _cy.build_grid(indptr, indices, data, user_block, item_block, n_blocks, ways, block_ptr, users, items, ratings)
    return block_ptr, users, items, ratings


def svdpp_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg):
    check_model(bu, bi, pu, qi, yj, dtype=np.float64)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    lr, reg = check_rates(lr, reg, 5, np.float64)
    return float(sum(run_sliced(lambda lo, hi: _cy.svdpp_epoch(indptr[lo:hi + 1], indices, data, float(global_mean),
                                                         bu[lo:hi], bi, pu[lo:hi], qi, yj, lr, reg),
                          0, len(bu), indptr, per_row=1)))


def svdpp_epoch_hogwild(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, n_threads=1):
    check_model(bu, bi, pu, qi, yj)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    if np.asarray(data).dtype != pu.dtype:
        raise ValueError(f"data must have the factors' dtype {pu.dtype}, got {np.asarray(data).dtype}.")
    lr, reg = check_rates(lr, reg, 5, pu.dtype)
    return float(sum(run_sliced(lambda lo, hi: _cy.svdpp_epoch_hogwild(
        indptr[lo:hi + 1], indices, data, pu.dtype.type(global_mean), bu[lo:hi], bi, pu[lo:hi], qi, yj, lr, reg,
        int(n_threads)), 0, len(bu), indptr, per_row=1)))
