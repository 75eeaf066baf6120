"""Row-row similarity on the GPU: one thread block per row, accumulating in global memory.

Block b handles row x = row_start + b: it walks x's columns one at a time and its threads
split the rows sharing that column, adding the pair sums into the block's own accumulator
(six doubles per row, in global memory); a barrier after each column keeps every pair's sums
in x's column order, as on the CPU (atomic adds only matter for a repeated (row, column)
entry). Then the threads turn the sums into similarities for the whole row. The top-M
selection runs in a second kernel, one thread per row, with a heap in global memory.
Device memory per call: about (row_stop - row_start) x n_rows x 56 bytes.
"""

import math

import numpy as np
from numba import cuda

from ..reference.similarity import COSINE, DOT, MSD, PEARSON, PEARSON_BASELINE, check_kernel_args, kind_code
from ..reference.similarity import mirror_upper  # noqa: F401  (the result is on the host: NumPy mirrors it)
from ._device import blocks_for, simulated

NSUM = 6  # accumulator slots per row: n, Sxy (msd: S(x-y)^2), Sxx, Syy, Sx, Sy


def _threads_per_block():
    return 16 if simulated() else 128  # the simulator runs every thread as a Python thread


@cuda.jit(device=True)
def _pair(kind, min_support, shrinkage, acc, b, y):
    n = acc[b, y, 0]
    if n == 0 or n < min_support:
        return 0.0
    if kind == PEARSON:
        vx = n * acc[b, y, 2] - acc[b, y, 4] * acc[b, y, 4]
        vy = n * acc[b, y, 3] - acc[b, y, 5] * acc[b, y, 5]
        if vx > 0 and vy > 0:
            den = math.sqrt(vx * vy)
            if den > 0:
                return (n * acc[b, y, 1] - acc[b, y, 4] * acc[b, y, 5]) / den
        return 0.0
    if kind == MSD:
        return 1.0 / (acc[b, y, 1] / n + 1.0)
    if kind == DOT:
        return acc[b, y, 1]
    if kind == PEARSON_BASELINE and n < 2:
        return 0.0
    den = math.sqrt(acc[b, y, 2] * acc[b, y, 3])
    if not den > 0:
        return 0.0
    if kind == COSINE:
        return acc[b, y, 1] / den
    return acc[b, y, 1] / den * ((n - 1) / (n - 1 + shrinkage))


@cuda.jit
def _rows(indptr, indices, data, t_indptr, t_indices, t_data, row_start, kind, min_support, shrinkage,
          acc, out):
    """out[b, :] = sim(row_start + b, every row), the diagonal 1; acc is left zeroed."""
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    x = row_start + b
    n_rows = out.shape[1]
    for p in range(indptr[x], indptr[x + 1]):
        c = indices[p]
        xv = data[p]
        for q in range(t_indptr[c] + tid, t_indptr[c + 1], nt):
            y = t_indices[q]
            if y != x:
                yv = t_data[q]
                cuda.atomic.add(acc, (b, y, 0), 1.0)
                if kind == MSD:
                    cuda.atomic.add(acc, (b, y, 1), (xv - yv) * (xv - yv))
                elif kind == DOT:
                    cuda.atomic.add(acc, (b, y, 1), xv * yv)
                else:
                    cuda.atomic.add(acc, (b, y, 1), xv * yv)
                    cuda.atomic.add(acc, (b, y, 2), xv * xv)
                    cuda.atomic.add(acc, (b, y, 3), yv * yv)
                    if kind == PEARSON:
                        cuda.atomic.add(acc, (b, y, 4), xv)
                        cuda.atomic.add(acc, (b, y, 5), yv)
        cuda.syncthreads()
    for y in range(tid, n_rows, nt):
        out[b, y] = 1.0 if y == x else _pair(kind, min_support, shrinkage, acc, b, y)
        for k in range(NSUM):
            acc[b, y, k] = 0.0


@cuda.jit(device=True)
def _worse(s1, i1, s2, i2):
    return s1 < s2 or (s1 == s2 and i1 > i2)


@cuda.jit
def _select(sims, row_start, hs, hi, out_idx, out_sim):
    """Row b of sims -> its M largest nonzero entries other than the diagonal, by index."""
    b = cuda.grid(1)
    if b >= sims.shape[0]:
        return
    x = row_start + b
    m = out_idx.shape[1]
    size = 0
    for y in range(sims.shape[1]):
        s = sims[b, y]
        if y == x or s == 0:
            continue
        if size < m:
            pos = size
            size += 1
        elif _worse(hs[b, 0], hi[b, 0], s, y):
            pos = 0
            # sift the root down to make room, then place (s, y) where it stops
            while True:
                child = 2 * pos + 1
                if child >= size:
                    break
                if child + 1 < size and _worse(hs[b, child + 1], hi[b, child + 1], hs[b, child], hi[b, child]):
                    child += 1
                if not _worse(hs[b, child], hi[b, child], s, y):
                    break
                hs[b, pos] = hs[b, child]
                hi[b, pos] = hi[b, child]
                pos = child
            hs[b, pos] = s
            hi[b, pos] = y
            continue
        else:
            continue
        # sift (s, y) up from the new leaf
        while pos > 0:
            parent = (pos - 1) // 2
            if not _worse(s, y, hs[b, parent], hi[b, parent]):
                break
            hs[b, pos] = hs[b, parent]
            hi[b, pos] = hi[b, parent]
            pos = parent
        hs[b, pos] = s
        hi[b, pos] = y
    for j in range(1, size):  # insertion sort by row index
        ts = hs[b, j]
        ti = hi[b, j]
        k = j - 1
        while k >= 0 and hi[b, k] > ti:
            hs[b, k + 1] = hs[b, k]
            hi[b, k + 1] = hi[b, k]
            k -= 1
        hs[b, k + 1] = ts
        hi[b, k + 1] = ti
    for j in range(m):
        if j < size:
            out_idx[b, j] = hi[b, j]
            out_sim[b, j] = hs[b, j]
        else:
            out_idx[b, j] = -1
            out_sim[b, j] = 0.0


@cuda.jit(device=True)
def _below(s1, i1, s2, i2):
    return s1 < s2 or (s1 == s2 and i1 < i2)


@cuda.jit
def _select_implicit(indptr, indices, data, t_indptr, t_indices, sims, row_start, min_support, first, hs, hi,
                     out_idx, out_sim):
    """implicit's TopK for row b (kind dot): every row sharing a column with x, x itself too,
    offered in reverse first-touch order (see the reference's select_implicit). ``first[b, y]``
    (-1 on entry) records the position in x's columns where y is first met."""
    b = cuda.grid(1)
    if b >= sims.shape[0]:
        return
    x = row_start + b
    m = out_idx.shape[1]
    own = 0.0
    n_own = 0
    for p in range(indptr[x], indptr[x + 1]):
        c = indices[p]
        own += data[p] * data[p]  # x's product with itself, in its stored order
        n_own += 1
        for q in range(t_indptr[c], t_indptr[c + 1]):
            y = t_indices[q]
            if first[b, y] < 0:
                first[b, y] = p
    if n_own < min_support:
        own = 0.0
    size = 0
    for p in range(indptr[x + 1] - 1, indptr[x] - 1, -1):
        c = indices[p]
        for q in range(t_indptr[c + 1] - 1, t_indptr[c] - 1, -1):
            y = t_indices[q]
            if first[b, y] != p:
                continue
            s = own if y == x else sims[b, y]
            if size < m:
                pos = size
                size += 1
                while pos > 0:  # sift (s, y) up from the new leaf
                    parent = (pos - 1) // 2
                    if not _below(s, y, hs[b, parent], hi[b, parent]):
                        break
                    hs[b, pos] = hs[b, parent]
                    hi[b, pos] = hi[b, parent]
                    pos = parent
                hs[b, pos] = s
                hi[b, pos] = y
            elif s > hs[b, 0]:
                pos = 0  # replace the root, sift down
                while True:
                    child = 2 * pos + 1
                    if child >= size:
                        break
                    if child + 1 < size and _below(hs[b, child + 1], hi[b, child + 1], hs[b, child], hi[b, child]):
                        child += 1
                    if not _below(hs[b, child], hi[b, child], s, y):
                        break
                    hs[b, pos] = hs[b, child]
                    hi[b, pos] = hi[b, child]
                    pos = child
                hs[b, pos] = s
                hi[b, pos] = y
    for j in range(1, size):  # insertion sort by row index
        ts = hs[b, j]
        ti = hi[b, j]
        k = j - 1
        while k >= 0 and hi[b, k] > ti:
            hs[b, k + 1] = hs[b, k]
            hi[b, k + 1] = hi[b, k]
            k -= 1
        hs[b, k + 1] = ts
        hi[b, k + 1] = ti
    for j in range(m):
        if j < size:
            out_idx[b, j] = hi[b, j]
            out_sim[b, j] = hs[b, j]
        else:
            out_idx[b, j] = -1
            out_sim[b, j] = 0.0


def _row_block(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
               min_support, shrinkage):
    """Device array (row_stop - row_start, n_rows) of float64 similarities."""
    n_rows = len(indptr) - 1
    n = row_stop - row_start
    d = [cuda.to_device(np.ascontiguousarray(a)) for a in (indptr, indices, data, t_indptr, t_indices, t_data)]
    acc = cuda.to_device(np.zeros((n, n_rows, NSUM)))
    sims = cuda.device_array((n, n_rows))
    _rows[n, _threads_per_block()](*d, np.int64(row_start), kind_code(kind), np.float64(min_support),
                                   np.float64(shrinkage), acc, sims)
    return sims


def similarity_upper(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                     kind, min_support, shrinkage, out, n_threads=1):
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out.shape, (len(indptr) - 1, len(indptr) - 1))
    if row_stop == row_start:
        return
    sims = _row_block(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      min_support, shrinkage).copy_to_host()
    for b, x in enumerate(range(row_start, row_stop)):
        out[x, x:] = sims[b, x:]


def similarity_topm(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    kind, min_support, shrinkage, out_idx, out_sim, n_threads=1, implicit_order=False):
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out_sim.shape, out_idx.shape, implicit_order)
    n, m = row_stop - row_start, out_idx.shape[1]
    if n == 0:
        return
    sims = _row_block(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      min_support, shrinkage)
    hs, hi = cuda.device_array((n, max(1, m))), cuda.device_array((n, max(1, m)), dtype=np.int32)
    d_idx, d_sim = cuda.device_array((n, m), dtype=np.int32), cuda.device_array((n, m))
    if implicit_order:
        d = [cuda.to_device(np.ascontiguousarray(a)) for a in (indptr, indices, data, t_indptr, t_indices)]
        first = cuda.to_device(np.full((n, len(indptr) - 1), -1, dtype=np.int64))
        _select_implicit[blocks_for(n, _threads_per_block())](*d, sims, np.int64(row_start), np.float64(min_support),
                                                              first, hs, hi, d_idx, d_sim)
    else:
        _select[blocks_for(n, _threads_per_block())](sims, np.int64(row_start), hs, hi, d_idx, d_sim)
    out_idx[row_start:row_stop] = d_idx.copy_to_host()
    out_sim[row_start:row_stop] = d_sim.copy_to_host()
