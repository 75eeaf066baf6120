"""What the k-NN and top-k kernels of every backend share: the codes, and the checks run before
the compiled kernels (which do no bounds checks).

O(1) checks plus one O(n) range check of the query ids: the ids index the CSR and the
similarity storage directly, so an id out of range would read outside the arrays. The CSR
contents (candidate and seen ids) are not scanned: a Dataset builds them in range.
"""

import numpy as np

#: ``center`` argument of knn_predict / knn_score
CENTERS = {"none": 0, "mean": 1, "zscore": 2, "baseline": 3}
NONE, MEAN, ZSCORE, BASELINE = 0, 1, 2, 3
#: per-pair outcome codes: the neighbour estimate, an unknown user or item, too few neighbours
POSSIBLE, UNKNOWN, TOO_FEW = 0, 1, 2


def _need(name, arr, dtype, ndim=1):
    if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != ndim or not arr.flags.c_contiguous:
        got = f"{arr.dtype} array of shape {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"{name} must be a C-contiguous {ndim}-d {np.dtype(dtype)} array, got {got}; "
                        f"convert it with np.ascontiguousarray({name}, dtype=np.{np.dtype(dtype)}).")


def _ids_in_range(name, ids, n):
    if ids.size and (ids.min() < -1 or ids.max() >= n):
        raise ValueError(f"{name} must hold inner ids in [0, {n}) or -1 for unknown; got values in "
                         f"[{ids.min()}, {ids.max()}].")


def split_similarity(sim_val):
    """(float64 view, float32 view) of the similarity values, the unused one empty (0, 0)."""
    if sim_val.dtype == np.float32:
        return np.empty((0, 0)), sim_val
    return sim_val, np.empty((0, 0), np.float32)


def check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, *, items=None, outputs=None, scores=None, n_items=None):
    """The arrays a k-NN kernel reads agree with each other (see backends/reference/knn.py)."""
    _need("users", users, np.int32)
    _need("cand_indptr", cand_indptr, np.int64)
    _need("cand_indices", cand_indices, np.int32)
    _need("cand_data", cand_data, np.float64)
    _need("sim_idx", sim_idx, np.int32, 2)
    if sim_val.dtype not in (np.float32, np.float64):
        raise TypeError(f"sim_val must be float32 or float64, got {sim_val.dtype}.")
    _need("sim_val", sim_val, sim_val.dtype, 2)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    if center not in (0, 1, 2, 3):
        raise ValueError(f"center code must be 0 (none), 1 (mean), 2 (zscore) or 3 (baseline), got {center}.")
    n_x, n_y = sim_val.shape[0], len(cand_indptr) - 1
    if sim_idx.shape[0] == 0:
        if sim_val.shape != (n_x, n_x):
            raise ValueError(f"dense similarity must be square, got shape {sim_val.shape}.")
    elif sim_idx.shape != sim_val.shape:
        raise ValueError(f"top-M similarity: sim_idx {sim_idx.shape} and sim_val {sim_val.shape} must match.")
    if len(cand_indices) != len(cand_data) or (n_y >= 0 and cand_indptr[-1] != len(cand_indices)) \
            or (n_y > 0 and cand_indptr[0] != 0):
        raise ValueError("cand_indptr/cand_indices/cand_data do not form a CSR matrix.")
    n_users, n_items_model = (n_x, n_y) if user_based else (n_y, n_x)
    if n_items is not None and n_items != n_items_model:
        raise ValueError(f"n_items={n_items} does not match the model's {n_items_model} items.")
    n_items = n_items_model
    _ids_in_range("users", users, n_users)
    for name, arr, n, used in (("means", means, n_x, center in (1, 2)), ("sigmas", sigmas, n_x, center == 2),
                               ("bu", bu, n_users, center == 3), ("bi", bi, n_items, center == 3)):
        _need(name, arr, np.float64)
        if used and len(arr) != n:
            raise ValueError(f"{name} has length {len(arr)}, expected {n} for this center.")
    if items is not None:
        _need("items", items, np.int32)
        if len(items) != len(users):
            raise ValueError(f"users ({len(users)}) and items ({len(items)}) must have the same length.")
        _ids_in_range("items", items, n_items)
    if outputs is not None:
        for name, arr, dtype in zip(("est", "actual_k", "code"), outputs, (np.float64, np.int32, np.int8)):
            _need(name, arr, dtype)
            if len(arr) != len(users):
                raise ValueError(f"{name} has length {len(arr)}, expected {len(users)}.")
    if scores is not None:
        _need("scores", scores, np.float64, 2)
        if scores.shape != (len(users), n_items):
            raise ValueError(f"scores has shape {scores.shape}, expected {(len(users), n_items)}.")


def check_topk_inputs(scores, users, seen_indptr, seen_indices, k):
    _need("scores", scores, np.float64, 2)
    _need("users", users, np.int32)
    _need("seen_indptr", seen_indptr, np.int64)
    _need("seen_indices", seen_indices, np.int32)
    if len(users) != scores.shape[0]:
        raise ValueError(f"users ({len(users)}) must have one entry per row of scores ({scores.shape[0]}).")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    _ids_in_range("users", users, len(seen_indptr) - 1)


#: score block size of recommend_by_blocks, in bytes (float64 scores)
BLOCK_BYTES = 64 << 20


def recommend_by_blocks(knn_score, topk_rows, users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k,
                        min_k, center, user_based, means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices,
                        n_items, top, exclude=True, symmetric=False, n_threads=1):
    """knn_recommend by a backend's ``knn_score`` into a score block, then its ``topk_rows``, block
    by block (``symmetric``, which lets the Cython kernel stream similarity rows, is not needed)."""
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}.")
    idx = np.empty((len(users), top), dtype=np.int64)
    val = np.empty((len(users), top))
    rows = max(1, BLOCK_BYTES // max(1, 8 * n_items))
    for start in range(0, len(users), rows):
        block = np.ascontiguousarray(users[start:start + rows])
        scores = np.empty((len(block), n_items))
        knn_score(block, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
                  means, sigmas, bu, bi, global_mean, scores, n_threads)
        idx[start:start + len(block)], val[start:start + len(block)] = topk_rows(
            scores, block, seen_indptr, seen_indices, top, exclude, n_threads)
    return idx, val
