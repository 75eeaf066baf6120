"""k-NN prediction and top-N scoring, Numba CPU (semantics: backends/reference/knn.py).

Per pair, one pass counts and sums the positive candidates and copies them to a buffer; only
when there are more than k, quickselect finds the k-th largest similarity in a copy and the
buffer is summed again over the k selected, in candidate order, as the reference does
(bit-identical). Pairs run in parallel in chunks; each chunk owns its buffers (as long as the
longest candidate list), so nothing is allocated per pair. The scorer loops so that one
similarity row serves many consecutive pairs.
"""

import numba
import numpy as np

from .._knn import BASELINE, MEAN, NONE, POSSIBLE, TOO_FEW, UNKNOWN, ZSCORE, check_knn_model, recommend_by_blocks
from .._slices import mean_row_length, run_sliced
from ._threads import numba_threads

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


@numba.njit(inline="always", nogil=True, cache=True)
def _term(center, s, r, nb, y, means, sigmas, global_mean, bx, by):
    """The neighbour's contribution to the numerator, with scikit-surprise's operation order."""
    if center == NONE:
        return s * r
    if center == MEAN:
        return s * (r - means[nb])
    if center == ZSCORE:
        return s * (r - means[nb]) / sigmas[nb]
    return s * (r - (global_mean + bx[nb] + by[y]))


@numba.njit(nogil=True, cache=True)
def _median3(a, b, c):
    if a < b:
        if b < c:
            return b
        return c if a < c else a
    if a < c:
        return a
    return c if b < c else b


@numba.njit(nogil=True, cache=True)
def kth_largest(a, n, k):
    """The k-th largest of a[:n] (1 <= k <= n) by quickselect; reorders a."""
    lo, hi, target = 0, n - 1, k - 1
    while lo < hi:
        pivot = _median3(a[lo], a[(lo + hi) >> 1], a[hi])
        i, j = lo, hi
        while i <= j:  # Hoare partition, descending
            while a[i] > pivot:
                i += 1
            while a[j] < pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            return a[target]
    return a[target]


@numba.njit(nogil=True, cache=True)
def predict_one(u, i, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas,
                bu, bi, global_mean, bs, bp, bc):
    """(estimate, actual_k, code) for one pair; bs/bp/bc are buffers as long as the longest candidate list."""
    if u < 0 or i < 0:
        est = global_mean
        if center == BASELINE:
            est = global_mean + (bu[u] if u >= 0 else 0.0) + (bi[i] if i >= 0 else 0.0)
        return est, 0, UNKNOWN
    if user_based:
        x, y, bx, by = u, i, bu, bi
    else:
        x, y, bx, by = i, u, bi, bu
    # pass 1: count and sum the positive candidates, and keep them (in candidate order) in the buffer
    n_pos = 0
    sum_sim = 0.0
    sum_r = 0.0
    for p in range(indptr[y], indptr[y + 1]):
        s = _sim(sim_idx, sim_val, x, indices[p])
        if s > 0:
            bs[n_pos] = s
            bp[n_pos] = p
            n_pos += 1
            sum_sim += s
            sum_r += _term(center, s, data[p], indices[p], y, means, sigmas, global_mean, bx, by)
    n = n_pos
    if n_pos > k:  # only the k best: above the k-th largest, then the earliest ties
        bc[:n_pos] = bs[:n_pos]
        vk = kth_largest(bc, n_pos, k)
        left = k
        for q in range(n_pos):
            left -= bs[q] > vk
        sum_sim = 0.0
        sum_r = 0.0
        for q in range(n_pos):
            s = bs[q]
            if s > vk or (s == vk and left > 0):
                if s == vk:
                    left -= 1
                sum_sim += s
                sum_r += _term(center, s, data[bp[q]], indices[bp[q]], y, means, sigmas, global_mean, bx, by)
        n = k
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


@numba.njit(nogil=True, cache=True)
def _longest(indptr):
    longest = 1
    for y in range(len(indptr) - 1):
        longest = max(longest, indptr[y + 1] - indptr[y])
    return longest


@numba.njit(parallel=True, nogil=True, cache=True)
def _predict(users, items, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas,
             bu, bi, global_mean, est, actual_k, code):
    n_chunks = (len(users) + _CHUNK - 1) // _CHUNK
    longest = _longest(indptr)
    for c in numba.prange(n_chunks):
        bs, bp, bc = np.empty(longest), np.empty(longest, dtype=np.int64), np.empty(longest)
        for p in range(c * _CHUNK, min(len(users), (c + 1) * _CHUNK)):
            est[p], actual_k[p], code[p] = predict_one(users[p], items[p], indptr, indices, data, sim_idx, sim_val,
                                                       k, min_k, center, user_based, means, sigmas, bu, bi,
                                                       global_mean, bs, bp, bc)


@numba.njit(parallel=True, nogil=True, cache=True)
def _score(users, indptr, indices, data, sim_idx, sim_val, k, min_k, center, user_based, means, sigmas, bu, bi,
           global_mean, scores):
    # user-based: a task per user (its similarity row stays hot); item-based: a task per item
    n_tasks = len(users) if user_based else scores.shape[1]
    n_inner = scores.shape[1] if user_based else len(users)
    longest = _longest(indptr)
    for task in numba.prange(n_tasks):
        bs, bp, bc = np.empty(longest), np.empty(longest, dtype=np.int64), np.empty(longest)
        for inner in range(n_inner):
            # (prange's index is unsigned: unify as int64, not float64)
            r = np.int64(task) if user_based else np.int64(inner)
            i = np.int64(inner) if user_based else np.int64(task)
            scores[r, i] = predict_one(users[r], i, indptr, indices, data, sim_idx, sim_val, k, min_k, center,
                                       user_based, means, sigmas, bu, bi, global_mean, bs, bp, bc)[0]


def knn_predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center,
                user_based, means, sigmas, bu, bi, global_mean, est, actual_k, code, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, items=items, outputs=(est, actual_k, code))
    with numba_threads(n_threads):  # pairs are independent: short calls, so Ctrl-C is answered (_slices.py)
        run_sliced(lambda lo, hi: _predict(
            users[lo:hi], items[lo:hi], cand_indptr, cand_indices, cand_data, sim_idx, sim_val, np.int64(k),
            np.int64(min_k), np.int64(center), bool(user_based), means, sigmas, bu, bi, np.float64(global_mean),
            est[lo:hi], actual_k[lo:hi], code[lo:hi]),
            0, len(users), per_row=1 + mean_row_length(cand_indptr))


def knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
              means, sigmas, bu, bi, global_mean, scores, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, scores=scores)
    with numba_threads(n_threads):
        run_sliced(lambda lo, hi: _score(
            users[lo:hi], cand_indptr, cand_indices, cand_data, sim_idx, sim_val, np.int64(k), np.int64(min_k),
            np.int64(center), bool(user_based), means, sigmas, bu, bi, np.float64(global_mean), scores[lo:hi]),
            0, len(users), per_row=scores.shape[1] * (1 + mean_row_length(cand_indptr)))


def knn_recommend(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
                  means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices, n_items, top, exclude=True,
                  symmetric=False, n_threads=1):
    """(idx, val), both (n_users, top): the top ``top`` items per user by knn_score, seen ones
    excluded, ties by the smaller item (this backend's knn_score and topk_rows, block by block)."""
    from .topn import topk_rows

    return recommend_by_blocks(knn_score, topk_rows, users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val,
                               k, min_k, center, user_based, means, sigmas, bu, bi, global_mean, seen_indptr,
                               seen_indices, n_items, top, exclude, symmetric, n_threads)
