"""k-NN prediction and top-N scoring on the GPU (semantics: backends/reference/knn.py).

A grid-stride loop over pairs (or over the (user, item) cells of a score block); each GPU
thread owns one size-k scratch heap in global memory, so nothing is allocated per pair. Two
passes per pair: count the positive candidates and keep the k best in the heap, then sum those
at least as good as its root in candidate order (the CPU backends find the same set by
quickselect on a buffer; the sums are the same). In the scorer, neighbouring threads share x
(the user, or the item item-based) and so its similarity row.
"""

import numpy as np
from numba import cuda

from .._knn import BASELINE, MEAN, NONE, POSSIBLE, TOO_FEW, UNKNOWN, ZSCORE, check_knn_model, recommend_by_blocks
from ._device import blocks_for
from .topn import heap_push, sift_down

_MAX_THREADS = 1 << 16  # GPU threads per launch; bounds the scratch at _MAX_THREADS x k entries


@cuda.jit(device=True)
def _sim(sim_idx, sim_val, x, x2):
    if sim_idx.shape[0] == 0:
        return sim_val[x, x2]
    lo = 0
    hi = sim_idx.shape[1]
    while lo < hi:
        mid = (lo + hi) >> 1
        v = sim_idx[x, mid]
        if v < 0 or v >= x2:
            hi = mid
        else:
            lo = mid + 1
    if lo < sim_idx.shape[1] and sim_idx[x, lo] == x2:
        return sim_val[x, lo]
    return 0.0


@cuda.jit(device=True)
def predict_one(u, i, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas,
                bu, bi, global_mean, hs, hp):
    if u < 0 or i < 0:
        est = global_mean
        if center == BASELINE:
            if u >= 0:
                est += bu[u]
            if i >= 0:
                est += bi[i]
        return est, 0, UNKNOWN
    if user_based:
        x = u
        y = i
    else:
        x = i
        y = u
    lo, hi = indptr[y], indptr[y + 1]
    # pass 1: count the positive candidates and keep the k best in a heap, worst at the root
    n = 0
    n_pos = 0
    for p in range(lo, hi):
        s = float(_sim(sim_idx, sim_val, x, indices[p]))
        if s <= 0:
            continue
        n_pos += 1
        if n < k:
            heap_push(hs, hp, n, s, p)
            n += 1
        elif s > hs[0]:
            hs[0] = s
            hp[0] = p
            sift_down(hs, hp, n, 0)
    ts = 0.0
    tp = -1
    if n_pos > k:  # selected: at least as good as the worst kept one; else every positive one
        ts = hs[0]
        tp = hp[0]
    # pass 2: sum the selected neighbours in candidate order
    sum_sim = 0.0
    sum_r = 0.0
    for p in range(lo, hi):
        s = float(_sim(sim_idx, sim_val, x, indices[p]))
        if s > ts or (s == ts and p <= tp):
            nb = indices[p]
            r = data[p]
            sum_sim += s
            if center == NONE:
                sum_r += s * r
            elif center == MEAN:
                sum_r += s * (r - means[nb])
            elif center == ZSCORE:
                sum_r += s * (r - means[nb]) / sigmas[nb]
            elif user_based:
                sum_r += s * (r - (global_mean + bu[nb] + bi[y]))
            else:
                sum_r += s * (r - (global_mean + bi[nb] + bu[y]))
    if n < min_k or n == 0:
        if center == NONE:
            return global_mean, n, TOO_FEW
        if center == BASELINE:
            return global_mean + bu[u] + bi[i], n, TOO_FEW
        return means[x], n, TOO_FEW
    if center == NONE:
        return sum_r / sum_sim, n, POSSIBLE
    if center == BASELINE:
        return (global_mean + bu[u] + bi[i]) + sum_r / sum_sim, n, POSSIBLE
    if center == ZSCORE:
        return means[x] + (sum_r / sum_sim) * sigmas[x], n, POSSIBLE
    return means[x] + sum_r / sum_sim, n, POSSIBLE


@cuda.jit
def _predict(users, items, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas,
             bu, bi, global_mean, est, actual_k, code, heap_sim, heap_pos):
    t = cuda.grid(1)
    if t >= heap_sim.shape[0]:
        return
    hs = heap_sim[t]
    hp = heap_pos[t]
    for p in range(t, users.shape[0], heap_sim.shape[0]):
        e, n, c = predict_one(users[p], items[p], indptr, indices, data, sim_idx, sim_val, k, min_k, center,
                              user_based, means, sigmas, bu, bi, global_mean, hs, hp)
        est[p] = e
        actual_k[p] = n
        code[p] = c


@cuda.jit
def _score(users, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas, bu, bi,
           global_mean, scores, heap_sim, heap_pos):
    t = cuda.grid(1)
    if t >= heap_sim.shape[0]:
        return
    hs = heap_sim[t]
    hp = heap_pos[t]
    n_rows = users.shape[0]
    n_items = scores.shape[1]
    for cell in range(t, n_rows * n_items, heap_sim.shape[0]):
        if user_based:
            r = cell // n_items
            i = cell - r * n_items
        else:
            i = cell // n_rows
            r = cell - i * n_rows
        e, n, c = predict_one(users[r], i, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based,
                              means, sigmas, bu, bi, global_mean, hs, hp)
        scores[r, i] = e


def _launch(n_work, k):
    """Grid and scratch heaps for a grid-stride loop over ``n_work`` items."""
    grid = blocks_for(max(1, min(n_work, _MAX_THREADS)))
    n_threads = grid[0] * grid[1]
    return grid, cuda.device_array((n_threads, k), np.float64), cuda.device_array((n_threads, k), np.int64)


def _model_to_device(cand_indptr, cand_indices, cand_data, sim_idx, sim_val, means, sigmas, bu, bi):
    return [cuda.to_device(a) for a in (cand_indptr, cand_indices, cand_data, sim_idx, sim_val, means, sigmas, bu, bi)]


def knn_predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center,
                user_based, means, sigmas, bu, bi, global_mean, est, actual_k, code, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, items=items, outputs=(est, actual_k, code))
    if len(users) == 0:
        return
    ip, ix, dt, si, sv, mn, sg, dbu, dbi = _model_to_device(cand_indptr, cand_indices, cand_data, sim_idx, sim_val,
                                                           means, sigmas, bu, bi)
    d_est, d_k, d_code = cuda.device_array_like(est), cuda.device_array_like(actual_k), cuda.device_array_like(code)
    grid, hs, hp = _launch(len(users), k)
    _predict[grid](cuda.to_device(users), cuda.to_device(items), ip, ix, dt, si, sv, k, min_k, center,
                   bool(user_based), mn, sg, dbu, dbi, np.float64(global_mean), d_est, d_k, d_code, hs, hp)
    d_est.copy_to_host(est)
    d_k.copy_to_host(actual_k)
    d_code.copy_to_host(code)


def knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
              means, sigmas, bu, bi, global_mean, scores, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, scores=scores)
    if scores.size == 0:
        return
    ip, ix, dt, si, sv, mn, sg, dbu, dbi = _model_to_device(cand_indptr, cand_indices, cand_data, sim_idx, sim_val,
                                                           means, sigmas, bu, bi)
    d_scores = cuda.device_array_like(scores)
    grid, hs, hp = _launch(scores.size, k)
    _score[grid](cuda.to_device(users), ip, ix, dt, si, sv, k, min_k, center, bool(user_based), mn, sg, dbu, dbi,
                 np.float64(global_mean), d_scores, hs, hp)
    d_scores.copy_to_host(scores)


def knn_recommend(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
                  means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices, n_items, top, exclude=True,
                  symmetric=False, n_threads=1):
    """(idx, val), both (n_users, top): the top ``top`` items per user by knn_score, seen ones
    excluded, ties by the smaller item (this backend's knn_score and topk_rows, block by block)."""
    from .topn import topk_rows

    return recommend_by_blocks(knn_score, topk_rows, users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val,
                               k, min_k, center, user_based, means, sigmas, bu, bi, global_mean, seen_indptr,
                               seen_indices, n_items, top, exclude, symmetric, n_threads)
