"""k-NN rating prediction as scikit-surprise's KNNBasic / WithMeans / WithZScore / Baseline do it.

Written for clarity: this is the oracle the compiled backends are tested against.

For a pair (u, i) the compared entity x and the target y are (u, i) user-based and (i, u)
item-based. The candidates are the ratings of y (``cand_*``: the by-item CSR user-based, the
by-user CSR item-based), in data order. Of the candidates, the k most similar of any sign are
taken (stable: the earlier candidate wins a tie), then those with similarity <= 0 dropped;
that is the same set as the k most similar among the positive ones, which is what is computed.
The neighbour terms are summed in candidate order (scikit-surprise sums them most similar first:
the two differ by rounding only, about 1e-16 relative). Every backend sums in candidate order,
so they agree bit for bit, and recommend()'s scores equal predict()'s.

Similarity storage: ``sim_idx`` of shape (0, 0) means dense, ``sim_val[x, x2]``; otherwise
top-M, ``sim_idx[x]`` holds the stored neighbours of x in ascending order (padded with -1 at the
end) and ``sim_val[x]`` their similarities; a neighbour not stored has similarity 0.

Outputs per pair: the estimate (unclipped), ``actual_k`` and a code: POSSIBLE, UNKNOWN (user or
item is -1) or TOO_FEW (fewer than ``max(min_k, 1)`` neighbours, so no neighbour term).
Fallbacks: the global mean (center "none", "mean", "zscore" on an unknown id, and "none" with too
few neighbours); mean_x with too few neighbours ("mean", "zscore"); the baseline
mu + b_u + b_i ("baseline"; an unknown id contributes a bias of 0).
"""

import numpy as np

from .._knn import BASELINE, MEAN, NONE, POSSIBLE, TOO_FEW, UNKNOWN, ZSCORE, recommend_by_blocks


def similarity_at(sim_idx, sim_val, x, x2):
    """sim(x, x2) from dense or top-M storage (0 where top-M does not hold x2)."""
    if sim_idx.shape[0] == 0:
        return float(sim_val[x, x2])
    row = sim_idx[x]
    stored = row[row >= 0]
    p = int(np.searchsorted(stored, x2))
    return float(sim_val[x, p]) if p < len(stored) and stored[p] == x2 else 0.0


def predict_one(u, i, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
                means, sigmas, bu, bi, global_mean):
    """(estimate, actual_k, code) for one pair of inner ids (-1 = unknown)."""
    if u < 0 or i < 0:
        est = global_mean
        if center == BASELINE:
            est = global_mean + (bu[u] if u >= 0 else 0.0) + (bi[i] if i >= 0 else 0.0)
        return est, 0, UNKNOWN
    x, y = (u, i) if user_based else (i, u)
    bx, by = (bu, bi) if user_based else (bi, bu)
    positive = []
    for p in range(cand_indptr[y], cand_indptr[y + 1]):
        s = similarity_at(sim_idx, sim_val, x, cand_indices[p])
        if s > 0:
            positive.append((s, p, cand_indices[p], cand_data[p]))
    chosen = sorted(positive, key=lambda t: -t[0])[:k]  # stable: earlier candidates first among ties
    chosen.sort(key=lambda t: t[1])  # back to candidate order for the sums
    sum_sim = sum_r = 0.0
    for s, _, nb, r in chosen:
        sum_sim += s
        if center == NONE:
            sum_r += s * r
        elif center == MEAN:
            sum_r += s * (r - means[nb])
        elif center == ZSCORE:
            sum_r += s * (r - means[nb]) / sigmas[nb]
        else:
            sum_r += s * (r - (global_mean + bx[nb] + by[y]))
    actual_k = len(chosen)
    too_few = actual_k < min_k or actual_k == 0
    if center == NONE:
        return (global_mean, actual_k, TOO_FEW) if too_few else (sum_r / sum_sim, actual_k, POSSIBLE)
    base = global_mean + bu[u] + bi[i] if center == BASELINE else means[x]
    if too_few:
        return base, actual_k, TOO_FEW
    dev = sum_r / sum_sim
    if center == ZSCORE:
        dev = dev * sigmas[x]
    return base + dev, actual_k, POSSIBLE


def knn_predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center,
                user_based, means, sigmas, bu, bi, global_mean, est, actual_k, code, n_threads=1):
    """Fill ``est`` (float64), ``actual_k`` (int32) and ``code`` (int8) for each pair."""
    for p in range(len(users)):
        est[p], actual_k[p], code[p] = predict_one(
            users[p], items[p], cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center,
            user_based, means, sigmas, bu, bi, global_mean)


def knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
              means, sigmas, bu, bi, global_mean, scores, n_threads=1):
    """``scores[r, i]`` = the estimate for (users[r], i) for every item i, with no pair list built."""
    for r in range(len(users)):
        for i in range(scores.shape[1]):
            scores[r, i] = predict_one(users[r], i, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k,
                                       min_k, center, user_based, means, sigmas, bu, bi, global_mean)[0]


def knn_recommend(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
                  means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices, n_items, top, exclude=True,
                  symmetric=False, n_threads=1):
    """(idx, val), both (n_users, top): the top ``top`` items per user by knn_score, seen ones
    excluded, ties by the smaller item (this backend's knn_score and topk_rows, block by block)."""
    from .topn import topk_rows

    return recommend_by_blocks(knn_score, topk_rows, users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val,
                               k, min_k, center, user_based, means, sigmas, bu, bi, global_mean, seen_indptr,
                               seen_indices, n_items, top, exclude, symmetric, n_threads)
