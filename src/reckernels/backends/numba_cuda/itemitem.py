"""Item-item neighbourhood scores on the GPU: one thread per user row, no atomics.

Each thread owns its user's row of the score block in device memory and adds the products in
the user's stored order, as the CPU kernels do. On a GPU the compiler may fuse a product into
its sum (one rounding instead of two), so scores can differ from the CPU's in the last bit
(the contract test allows 1e-12); the simulator computes exactly as the reference.

itemitem_topk: one thread per user too, with its own accumulator row and linked list of touched
items in device scratch, cleared as it is read (launched in row blocks so the scratch stays under
SCRATCH_BYTES), and
its k-heap in its output row. A fused multiply-add can move a score by one ulp, and so the
order of two nearly equal scores, on a real GPU."""

import numpy as np
from numba import cuda

from ..reference.itemitem import check_itemitem_args, check_itemitem_topk_args
from ._device import blocks_for, simulated


@cuda.jit
def _scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out):
    r = cuda.grid(1)
    if r >= out.shape[0]:
        return
    for j in range(out.shape[1]):
        out[r, j] = 0.0
    u = users[r]
    if u < 0:
        return
    for p in range(indptr[u], indptr[u + 1]):
        i = indices[p]
        w = data[p]
        for q in range(s_indptr[i], s_indptr[i + 1]):
            out[r, s_indices[q]] += s_data[q] * w


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    if out.size == 0:
        return
    d = [cuda.to_device(np.ascontiguousarray(a, dtype=t)) for a, t in (
        (indptr, np.int64), (indices, np.int32), (data, np.float64), (users, np.int32),
        (s_indptr, np.int64), (s_indices, np.int32), (s_data, np.float64))]
    d_out = cuda.device_array(out.shape, dtype=np.float64)
    blocks, threads = blocks_for(out.shape[0], 16 if simulated() else 128)
    _scores[blocks, threads](*d, d_out)
    d_out.copy_to_host(out)


#: device scratch of one itemitem_topk launch (an accumulator and a list row per user)
SCRATCH_BYTES = 256 << 20


@cuda.jit(device=True, inline=True)
def _less(a, ia, b, ib):
    return a < b or (a == b and ia < ib)


@cuda.jit(device=True)
def _sift_down(hs, hi, n, pos):
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


@cuda.jit(device=True)
def _sift_up(hs, hi, pos):
    s, j = hs[pos], hi[pos]
    while pos > 0:
        parent = (pos - 1) // 2
        if not _less(s, j, hs[parent], hi[parent]):
            break
        hs[pos], hi[pos] = hs[parent], hi[parent]
        pos = parent
    hs[pos], hi[pos] = s, j


@cuda.jit
def _topk(indptr, indices, data, users, s_indptr, s_indices, s_data, filter_seen, sums_all, nxt_all,
          out_ids, out_scores, out_len):
    r = cuda.grid(1)
    if r >= users.shape[0]:
        return
    u = users[r]
    if u < 0:
        out_len[r] = 0
        return
    sums, nxt, hs, hi = sums_all[r], nxt_all[r], out_scores[r], out_ids[r]
    head, count = -2, 0
    for p in range(indptr[u], indptr[u + 1]):
        i = indices[p]
        w = data[p]
        for q in range(s_indptr[i], s_indptr[i + 1]):
            j = s_indices[q]
            sums[j] += s_data[q] * w
            if nxt[j] == -1:
                nxt[j] = head
                head = j
                count += 1
    if filter_seen:
        for p in range(indptr[u], indptr[u + 1]):
            sums[indices[p]] = 0.0
    k, n = hs.shape[0], 0
    for _ in range(count):
        j = head
        s = sums[j]
        head = nxt[j]
        sums[j] = 0.0  # left clean for the next launch's user on this row
        nxt[j] = -1
        if n < k:
            hs[n], hi[n] = s, j
            n += 1
            _sift_up(hs, hi, n - 1)
        elif s > hs[0]:
            hs[0], hi[0] = s, j
            _sift_down(hs, hi, n, 0)
    b = n
    while b > 1:
        b -= 1
        s, j = hs[b], hi[b]
        hs[b], hi[b] = hs[0], hi[0]
        hs[0], hi[0] = s, j
        _sift_down(hs, hi, b, 0)
    out_len[r] = n


def itemitem_topk(indptr, indices, data, users, s_indptr, s_indices, s_data, filter_seen, out_ids, out_scores,
                  out_len, n_threads=1, n_cols=None):
    n_items = check_itemitem_topk_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out_ids,
                                       out_scores, out_len, n_cols)
    n_rows, k = len(users), out_ids.shape[1]
    if n_rows == 0:
        return
    if k == 0 or n_items == 0:
        out_len[:] = 0
        return
    d = [cuda.to_device(np.ascontiguousarray(a, dtype=t)) for a, t in (
        (indptr, np.int64), (indices, np.int32), (data, np.float64), (s_indptr, np.int64), (s_indices, np.int32),
        (s_data, np.float64))]
    users = np.ascontiguousarray(users, dtype=np.int32)
    rows = max(1, min(n_rows, SCRATCH_BYTES // (12 * n_items)))
    sums, nxt = cuda.device_array((rows, n_items), np.float64), cuda.device_array((rows, n_items), np.int32)
    sums[:] = 0.0  # once: every thread clears what it touched (a liked item it never touched is 0)
    nxt[:] = -1
    for lo in range(0, n_rows, rows):
        hi_ = min(n_rows, lo + rows)
        d_ids = cuda.to_device(out_ids[lo:hi_])  # rows left over past a user's length stay as given
        d_scores = cuda.to_device(out_scores[lo:hi_])
        d_len = cuda.device_array(hi_ - lo, np.int64)
        blocks, threads = blocks_for(hi_ - lo, 16 if simulated() else 128)
        _topk[blocks, threads](d[0], d[1], d[2], cuda.to_device(users[lo:hi_]), d[3], d[4], d[5], bool(filter_seen),
                               sums[:hi_ - lo], nxt[:hi_ - lo], d_ids, d_scores, d_len)
        d_ids.copy_to_host(out_ids[lo:hi_])
        d_scores.copy_to_host(out_scores[lo:hi_])
        d_len.copy_to_host(out_len[lo:hi_])
