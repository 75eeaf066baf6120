"""k-NN prediction and top-N scoring via the compiled kernels in kernels/knn.pyx."""

import numpy as np

from reckernels._cy import knn as _cy

from .._knn import check_knn_model, check_topk_inputs, split_similarity


def _scratch(n_threads, cand_indptr):
    """Per-thread buffers as long as the longest candidate list: similarities, centred ratings
    and sigmas (twice as long), a copy for the selection."""
    longest = max(1, int(np.diff(cand_indptr).max())) if len(cand_indptr) > 1 else 1
    return np.empty((n_threads, longest)), np.empty((n_threads, 2 * longest)), np.empty((n_threads, longest))


def knn_predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center,
                user_based, means, sigmas, bu, bi, global_mean, est, actual_k, code, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, items=items, outputs=(est, actual_k, code))
    sim64, sim32 = split_similarity(sim_val)
    n_threads = max(1, int(n_threads))
    _cy.knn_predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, int(k), int(min_k),
                    int(center), int(bool(user_based)), means, sigmas, bu, bi, float(global_mean), est, actual_k, code,
                    *_scratch(n_threads, cand_indptr), _dev_slots(len(users), cand_data), n_threads)


def _dev_slots(n_pairs, cand_data):
    """The kernels' centred-rating array: precomputed (one pass over the candidates) where the pairs
    read candidates about as many times as there are, else empty (centred per candidate read)."""
    return np.empty(len(cand_data)) if 4 * n_pairs >= len(cand_data) else np.empty(0)


def knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
              means, sigmas, bu, bi, global_mean, scores, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, scores=scores)
    sim64, sim32 = split_similarity(sim_val)
    n_threads = max(1, int(n_threads))
    _cy.knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, int(k), int(min_k), int(center),
                  int(bool(user_based)), means, sigmas, bu, bi, float(global_mean), scores, *_scratch(n_threads, cand_indptr),
                  np.empty(n_threads, np.int32), np.empty(n_threads, np.int8),
                  _dev_slots(scores.size, cand_data), n_threads)


def knn_recommend(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
                  means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices, n_items, top, exclude=True,
                  symmetric=False, order=None, n_threads=1):
    """(idx int64, val float64), both (n_users, top): scoring and top-k selection fused.

    Item-based with dense storage that is ``symmetric`` (the estimator's similarities are), the
    candidates' similarity rows are streamed per user, and ``order`` (from
    reckernels.backends._knn.neighbour_order(sim_val)) shortens the neighbour selection;
    otherwise one pair at a time.
    """
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, n_items=n_items)
    check_topk_inputs(np.empty((len(users), n_items)), users, seen_indptr, seen_indices, top)
    sim64, sim32 = split_similarity(sim_val)
    if order is None:
        order = (np.empty((0, 0), np.int32), np.empty(0))
    elif order[0].shape[0] != sim_val.shape[0] or order[0].dtype != np.int32 or len(order[1]) != sim_val.shape[0] \
            or (order[0].size and (order[0].min() < 0 or order[0].max() >= sim_val.shape[0])):
        raise ValueError("order must be reckernels.backends._knn.neighbour_order(sim_val) of this similarity.")
    n_threads = max(1, min(int(n_threads), len(users))) if len(users) else 1
    idx = np.empty((len(users), top), dtype=np.int64)
    val = np.empty((len(users), top))
    if len(users) == 0:
        return idx, val
    _cy.knn_recommend(users, cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, int(k), int(min_k),
                      int(center), int(bool(user_based)), means, sigmas, bu, bi, float(global_mean), seen_indptr,
                      seen_indices, bool(exclude), bool(symmetric), idx, val, _dev_slots(len(users) * n_items, cand_data),
                      np.empty((n_threads, n_items)), np.empty((n_threads, 3 * n_items)),
                      np.empty((n_threads, 2 * n_items), np.int32), *_scratch(n_threads, cand_indptr),
                      np.ascontiguousarray(order[0]), np.ascontiguousarray(order[1], dtype=np.float64),
                      np.zeros((n_threads, n_items), np.int8), n_threads)
    return idx, val
