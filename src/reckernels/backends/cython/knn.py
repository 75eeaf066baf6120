"""k-NN prediction and top-N scoring via the compiled kernels in kernels/knn.pyx."""

import numpy as np

from reckernels._cy import knn as _cy

from .._knn import check_knn_model, split_similarity


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
                    *_scratch(n_threads, cand_indptr), n_threads)


def knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
              means, sigmas, bu, bi, global_mean, scores, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, scores=scores)
    sim64, sim32 = split_similarity(sim_val)
    n_threads = max(1, int(n_threads))
    _cy.knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, int(k), int(min_k), int(center),
                  int(bool(user_based)), means, sigmas, bu, bi, float(global_mean), scores, *_scratch(n_threads, cand_indptr),
                  np.empty(n_threads, np.int32), np.empty(n_threads, np.int8), n_threads)
