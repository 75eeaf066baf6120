"""Item-item neighbourhood scores: a user's row times the top-K item-item similarity (the oracle).

Every backend exposes

``itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads)``
    For each r, ``out[r, j] = sum over the items i of user users[r] of data[u, i] * S[i, j]``:
    the user's row of the (un-weighted) interaction matrix, CSR (indptr, indices, data) by
    user, times the sparse item x item similarity S, CSR (s_indptr, s_indices, s_data), whose
    row i lists item i's kept neighbours. ``out`` is (len(users), n_items) float64, overwritten;
    a user id < 0 (unknown) gets a row of zeros. The sum runs over the user's items in their
    stored order, each adding its product S[i, j] * w as one term (implicit's
    NearestNeighboursScorer does the same, so float64 scores agree to the bit).

``itemitem_topk(indptr, indices, data, users, s_indptr, s_indices, s_data, filter_seen, out_ids, out_scores, out_len, n_threads)``
    The top ``k = out_ids.shape[1]`` of those scores per user, as implicit 0.7.3's
    NearestNeighboursScorer.recommend picks them, without a dense row per user. The
    candidates are the items some neighbour of a user's item reaches (an item never reached is
    no candidate, whatever its score); with ``filter_seen`` the user's own items score 0 (and
    stay candidates if reached). The candidates are visited newest-reached first (implicit's
    linked list: the reverse of the order in which the sum first touches them); one enters a
    size-k min-heap on (score, id) while it holds fewer than k, or when its score is strictly
    greater than the heap's smallest score, which it then replaces (so at a tie on the k-th
    score the candidate visited first stays). Row r of ``out_ids`` (int32) / ``out_scores``
    (float64) gets the kept candidates by decreasing (score, id): equal scores, larger id first;
    ``out_len[r]`` (int64) their number, min(k, candidates); the rest of the row is untouched.
    An unknown user (id -1) gets length 0. ``n_cols`` (keyword, default len(s_indptr) - 1: S
    square) is the number of columns of S, which need not be square: the fit runs this kernel with
    the items by user as the "interactions" and the weights by user as S (implicit's all_pairs_knn).
"""

import numpy as np


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    out[:] = 0.0
    for r, u in enumerate(np.asarray(users).tolist()):
        if u < 0:
            continue
        row = out[r]
        for p in range(int(indptr[u]), int(indptr[u + 1])):
            i, w = int(indices[p]), float(data[p])
            lo, hi = int(s_indptr[i]), int(s_indptr[i + 1])
            # one neighbour appears once per row, so this fancy-indexed add is the scalar loop's
            row[s_indices[lo:hi]] += s_data[lo:hi] * w


def itemitem_topk(indptr, indices, data, users, s_indptr, s_indices, s_data, filter_seen, out_ids, out_scores,
                  out_len, n_threads=1, n_cols=None):
    n_cols = check_itemitem_topk_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out_ids, out_scores,
                                      out_len, n_cols)
    k = out_ids.shape[1]
    sums = np.zeros(n_cols)
    for r, u in enumerate(np.asarray(users).tolist()):
        out_len[r] = 0
        if u < 0:
            continue
        touched = []  # in first-touch order
        reached = np.zeros(len(sums), dtype=bool)
        for p in range(int(indptr[u]), int(indptr[u + 1])):
            i, w = int(indices[p]), float(data[p])
            for q in range(int(s_indptr[i]), int(s_indptr[i + 1])):
                j = int(s_indices[q])
                sums[j] += float(s_data[q]) * w
                if not reached[j]:
                    reached[j] = True
                    touched.append(j)
        if filter_seen:
            sums[indices[indptr[u]:indptr[u + 1]]] = 0.0
        heap = []  # (score, id) kept; min by the pair
        for j in reversed(touched):
            score = float(sums[j])
            if len(heap) < k:
                heap.append((score, j))
            elif score > min(heap)[0]:
                heap.remove(min(heap))
                heap.append((score, j))
        sums[touched] = 0.0  # the user's own items are 0 too: touched, or never touched
        heap.sort(reverse=True)
        out_len[r] = len(heap)
        for c, (score, j) in enumerate(heap):
            out_ids[r, c], out_scores[r, c] = j, score


def check_itemitem_topk_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out_ids, out_scores, out_len,
                             n_cols=None):
    """check_itemitem_args for itemitem_topk's outputs: (len(users), k) int32 ids, float64 scores, int64 lengths;
    returns n_cols (None: S is square, len(s_indptr) - 1)."""
    n = len(users)
    for name, arr, dtype in (("out_ids", out_ids, np.int32), ("out_scores", out_scores, np.float64)):
        if arr.ndim != 2 or arr.shape[0] != n or arr.shape != out_ids.shape or not arr.flags.c_contiguous \
                or arr.dtype != dtype:
            raise ValueError(f"{name} must be a C-contiguous {np.dtype(dtype).name} array of shape ({n}, k), the "
                             f"same for out_ids and out_scores, got {arr.dtype} {arr.shape}.")
    if out_len.shape != (n,) or out_len.dtype != np.int64 or not out_len.flags.c_contiguous:
        raise ValueError(f"out_len must be a C-contiguous int64 array of shape ({n},), got {out_len.dtype} "
                         f"{out_len.shape}.")
    _check_inputs(indptr, indices, data, users, s_indptr, s_indices, s_data)
    if n_cols is None:
        return len(s_indptr) - 1
    if isinstance(n_cols, bool) or not isinstance(n_cols, (int, np.integer)) or n_cols < 0:
        raise ValueError(f"n_cols must be an int >= 0 (the number of columns of S), got {n_cols!r}.")
    return int(n_cols)


def check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out):
    """The shape checks every backend runs before its kernel (which has no bounds checks).

    Index ranges inside the CSR arrays are the caller's guarantee (Dataset and the fitted
    model build them); the user ids are checked here, O(len(users))."""
    n_items = len(s_indptr) - 1
    if out.ndim != 2 or out.shape != (len(users), n_items) or not out.flags.c_contiguous or out.dtype != np.float64:
        raise ValueError(f"out must be a C-contiguous float64 array of shape ({len(users)}, {n_items}), "
                         f"got {out.dtype} {out.shape}.")
    _check_inputs(indptr, indices, data, users, s_indptr, s_indices, s_data)


def _check_inputs(indptr, indices, data, users, s_indptr, s_indices, s_data):
    n_users, n_items = len(indptr) - 1, len(s_indptr) - 1
    if len(indices) != len(data) or len(s_indices) != len(s_data):
        raise ValueError(f"indices ({len(indices)}) / data ({len(data)}) and s_indices ({len(s_indices)}) / "
                         f"s_data ({len(s_data)}) must have the same lengths.")
    if n_users < 0 or n_items < 0 or indptr[-1] != len(indices) or s_indptr[-1] != len(s_indices):
        raise ValueError("indptr and s_indptr must end at the number of stored values.")
    users = np.asarray(users)
    if len(users) and (users.max() >= n_users or users.min() < -1):
        raise ValueError(f"users must be inner ids in [0, {n_users}) or -1 (unknown).")


def topk_work(indptr, users, s_indptr, k):
    """itemitem_topk's work per row for backends/_slices.run_sliced: (k for the heap, a row pointer
    over ``users`` counting each one's entries; run_sliced weighs an entry by the mean length of
    the lists it expands into). Rows differ widely (popular items in a fit), so a mean per row
    would cut the slices badly."""
    users = np.asarray(users, dtype=np.int64)
    indptr = np.asarray(indptr, dtype=np.int64)
    known = users >= 0
    counts = np.zeros(len(users), dtype=np.int64)
    counts[known] = indptr[users[known] + 1] - indptr[users[known]]
    work = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(counts, out=work[1:])
    return float(max(1, k)), work
