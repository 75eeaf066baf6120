"""k-NN prediction and top-N scoring, Numba CPU (semantics: backends/reference/knn.py).

Per pair, pass 1 counts the positive candidates and keeps the k best in a size-k heap (worst at
the root); pass 2 sums those at least as good as the root, in candidate order, as the reference
does (bit-identical). Pairs run in parallel in chunks; each chunk owns one heap, so nothing is
allocated per pair. The scorer loops so that one similarity row serves many consecutive pairs.
"""

import numba
import numpy as np

from .._knn import BASELINE, MEAN, NONE, POSSIBLE, TOO_FEW, UNKNOWN, ZSCORE, check_knn_model
from ._threads import numba_threads
from .topn import heap_push, sift_down

_CHUNK = 256  # pairs per parallel task


@numba.njit(nogil=True, cache=True)
def _sim(sim_idx, sim_val, x, x2):
    if sim_idx.shape[0] == 0:
        return np.float64(sim_val[x, x2])
    lo, hi = 0, sim_idx.shape[1]
    while lo < hi:  # first stored id >= x2; the -1 padding at the end counts as larger than any id
        mid = (lo + hi) >> 1
        v = sim_idx[x, mid]
        if v < 0 or v >= x2:
            hi = mid
        else:
            lo = mid + 1
    if lo < sim_idx.shape[1] and sim_idx[x, lo] == x2:
        return np.float64(sim_val[x, lo])
    return 0.0


@numba.njit(nogil=True, cache=True)
def predict_one(u, i, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas,
                bu, bi, global_mean, hs, hp):
    """(estimate, actual_k, code) for one pair; hs/hp are a size-k scratch heap."""
    if u < 0 or i < 0:
        est = global_mean
        if center == BASELINE:
            est = global_mean + (bu[u] if u >= 0 else 0.0) + (bi[i] if i >= 0 else 0.0)
        return est, 0, UNKNOWN
    if user_based:
        x, y, bx, by = u, i, bu, bi
    else:
        x, y, bx, by = i, u, bi, bu
    lo, hi = indptr[y], indptr[y + 1]
    # pass 1: count the positive candidates and keep the k best in a heap, worst at the root
    n = 0
    n_pos = 0
    for p in range(lo, hi):
        s = _sim(sim_idx, sim_val, x, indices[p])
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
        s = _sim(sim_idx, sim_val, x, indices[p])
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
            else:
                sum_r += s * (r - (global_mean + bx[nb] + by[y]))
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


@numba.njit(parallel=True, nogil=True, cache=True)
def _predict(users, items, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas,
             bu, bi, global_mean, est, actual_k, code):
    n_chunks = (len(users) + _CHUNK - 1) // _CHUNK
    for c in numba.prange(n_chunks):
        hs = np.empty(k)
        hp = np.empty(k, dtype=np.int64)
        for p in range(c * _CHUNK, min(len(users), (c + 1) * _CHUNK)):
            est[p], actual_k[p], code[p] = predict_one(users[p], items[p], indptr, indices, data, sim_idx, sim_val,
                                                       k, min_k, center, user_based, means, sigmas, bu, bi,
                                                       global_mean, hs, hp)


@numba.njit(parallel=True, nogil=True, cache=True)
def _score(users, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas, bu, bi,
           global_mean, scores):
    # user-based: a task per user (its similarity row stays hot); item-based: a task per item
    n_tasks = len(users) if user_based else scores.shape[1]
    n_inner = scores.shape[1] if user_based else len(users)
    for task in numba.prange(n_tasks):
        hs = np.empty(k)
        hp = np.empty(k, dtype=np.int64)
        for inner in range(n_inner):
            # (prange's index is unsigned: unify as int64, not float64)
            r = np.int64(task) if user_based else np.int64(inner)
            i = np.int64(inner) if user_based else np.int64(task)
            scores[r, i] = predict_one(users[r], i, indptr, indices, data, sim_idx, sim_val, k, min_k, center,
                                       user_based, means, sigmas, bu, bi, global_mean, hs, hp)[0]


def knn_predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center,
                user_based, means, sigmas, bu, bi, global_mean, est, actual_k, code, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, items=items, outputs=(est, actual_k, code))
    with numba_threads(n_threads):
        _predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, np.int64(k), np.int64(min_k),
                 np.int64(center), bool(user_based), means, sigmas, bu, bi, np.float64(global_mean), est, actual_k,
                 code)


def knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
              means, sigmas, bu, bi, global_mean, scores, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, scores=scores)
    with numba_threads(n_threads):
        _score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, np.int64(k), np.int64(min_k),
               np.int64(center), bool(user_based), means, sigmas, bu, bi, np.float64(global_mean), scores)
