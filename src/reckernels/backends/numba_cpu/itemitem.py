"""Item-item neighbourhood scores, Numba CPU: the loops of kernels/itemitem.pyx, users in parallel.

itemitem_topk: each lane of users (several per thread) owns one accumulator row and linked list of
touched items, left zeroed after every user, and the user's k-heap lives in its output row.

Numba (LLVM without fastmath) does not fuse the multiply into the add, so each term is rounded
as in the reference."""

import numba
import numpy as np

from ..reference.itemitem import check_itemitem_args, check_itemitem_topk_args, topk_work
from .._slices import mean_row_length, run_sliced, score_row_work
from ._threads import numba_threads


@numba.njit(parallel=True, cache=True, nogil=True)
def _scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out):
    n_items = out.shape[1]
    for r in numba.prange(out.shape[0]):
        row = out[r]
        for j in range(n_items):
            row[j] = 0.0
        u = users[r]
        if u < 0:
            continue
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            w = data[p]
            for q in range(s_indptr[i], s_indptr[i + 1]):
                row[s_indices[q]] += s_data[q] * w


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    indptr, indices = np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(indices, dtype=np.int32)
    data, users = np.ascontiguousarray(data, dtype=np.float64), np.ascontiguousarray(users, dtype=np.int32)
    s_indptr = np.ascontiguousarray(s_indptr, dtype=np.int64)
    s_indices = np.ascontiguousarray(s_indices, dtype=np.int32)
    s_data = np.ascontiguousarray(s_data, dtype=np.float64)
    with numba_threads(n_threads):  # users are independent: short calls, so Ctrl-C is answered (_slices.py)
        run_sliced(lambda lo, hi: _scores(indptr, indices, data, users[lo:hi], s_indptr, s_indices, s_data,
                                          out[lo:hi]),
                   0, len(users), per_row=score_row_work(indptr, s_indptr, out.shape[1]))


# Not topn.py's heap: implicit lists equal scores larger id first, topn smaller id first
@numba.njit(inline="always")
def _less(a, ia, b, ib):
    return a < b or (a == b and ia < ib)


@numba.njit(cache=True, nogil=True)
def _sift_down(hs, hi, n, pos):
    """Restore the min-heap on (score, id) below pos."""
    s, j = hs[pos], hi[pos]
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n and _less(hs[child + 1], hi[child + 1], hs[child], hi[child]):
            child += 1
        if not _less(hs[child], hi[child], s, j):
            break
        hs[pos], hi[pos] = hs[child], hi[child]
        pos = child
    hs[pos], hi[pos] = s, j


@numba.njit(cache=True, nogil=True)
def _sift_up(hs, hi, pos):
    s, j = hs[pos], hi[pos]
    while pos > 0:
        parent = (pos - 1) // 2
        if not _less(s, j, hs[parent], hi[parent]):
            break
        hs[pos], hi[pos] = hs[parent], hi[parent]
        pos = parent
    hs[pos], hi[pos] = s, j


@numba.njit(cache=True, nogil=True)
def _topk_user(indptr, indices, data, u, s_indptr, s_indices, s_data, filter_seen, sums, nxt, hs, hi):
    """One user's top len(hs) into hs / hi, decreasing (score, id); returns their number."""
    head, count = -2, 0
    for p in range(indptr[u], indptr[u + 1]):
        i = indices[p]
        w = data[p]
        for q in range(s_indptr[i], s_indptr[i + 1]):
            j = s_indices[q]
            sums[j] += s_data[q] * w
            if nxt[j] == -1:  # first touch: linked in front (visited newest first, as implicit)
                nxt[j] = head
                head = j
                count += 1
    if filter_seen:
        for p in range(indptr[u], indptr[u + 1]):
            sums[indices[p]] = 0.0
    k, n = len(hs), 0
    for _ in range(count):
        j = head
        s = sums[j]
        head = nxt[j]
        sums[j] = 0.0
        nxt[j] = -1
        if n < k:
            hs[n], hi[n] = s, j
            n += 1
            _sift_up(hs, hi, n - 1)
        elif s > hs[0]:  # strictly greater: at a tie on the k-th score the one visited first stays
            hs[0], hi[0] = s, j
            _sift_down(hs, hi, n, 0)
    b = n
    while b > 1:  # heap sort: the minimum to the end, leaving decreasing (score, id)
        b -= 1
        s, j = hs[b], hi[b]
        hs[b], hi[b] = hs[0], hi[0]
        hs[0], hi[0] = s, j
        _sift_down(hs, hi, b, 0)
    return n


@numba.njit(parallel=True, cache=True, nogil=True)
def _topk(indptr, indices, data, users, s_indptr, s_indices, s_data, filter_seen, out_ids, out_scores, out_len,
          threads, n_items):
    # lanes of users r = c, c + lanes, ..: each its own scratch row (numba.get_thread_id and
    # get_num_threads would stop the caching), several per thread so prange's static split stays balanced
    lanes = min(len(users), 8 * threads)
    sums = np.zeros((lanes, n_items))
    nxt = np.full((lanes, n_items), -1, dtype=np.int32)
    for c in numba.prange(lanes):
        for r in range(c, len(users), lanes):
            u = users[r]
            if u < 0:
                out_len[r] = 0
                continue
            out_len[r] = _topk_user(indptr, indices, data, u, s_indptr, s_indices, s_data, filter_seen, sums[c],
                                    nxt[c], out_scores[r], out_ids[r])


def itemitem_topk(indptr, indices, data, users, s_indptr, s_indices, s_data, filter_seen, out_ids, out_scores,
                  out_len, n_threads=1, n_cols=None):
    n_cols = check_itemitem_topk_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out_ids, out_scores,
                                      out_len, n_cols)
    indptr, indices = np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(indices, dtype=np.int32)
    data, users = np.ascontiguousarray(data, dtype=np.float64), np.ascontiguousarray(users, dtype=np.int32)
    s_indptr = np.ascontiguousarray(s_indptr, dtype=np.int64)
    s_indices = np.ascontiguousarray(s_indices, dtype=np.int32)
    s_data = np.ascontiguousarray(s_data, dtype=np.float64)
    if len(users) == 0:
        return
    if out_ids.shape[1] == 0 or n_cols == 0:
        out_len[:] = 0
        return
    per_row, work = topk_work(indptr, users, s_indptr, out_ids.shape[1])
    with numba_threads(n_threads):
        run_sliced(lambda lo, hi: _topk(indptr, indices, data, users[lo:hi], s_indptr, s_indices, s_data,
                                        bool(filter_seen), out_ids[lo:hi], out_scores[lo:hi], out_len[lo:hi],
                                        numba.get_num_threads(), n_cols),
                   0, len(users), work, per_row=per_row, per_entry=max(1.0, mean_row_length(s_indptr)))
