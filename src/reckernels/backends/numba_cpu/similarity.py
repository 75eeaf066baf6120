"""Row-row similarity, Numba CPU: the sparse-times-sparse row loop of kernels/similarity.pyx.

The rows of a call are dealt round-robin to one chunk per thread (row x goes to chunk
x mod n_threads, which balances the triangular work of the dense kernel); each chunk owns one
accumulator of up to eight doubles per row, a touched-row list and a size-M heap.
"""

import numba
import numpy as np

from ..reference.similarity import COSINE, DOT, MSD, PEARSON, PEARSON_BASELINE, check_kernel_args, check_square, kind_code
from .._slices import run_sliced
from ._threads import numba_threads

MAX_STRIDE = 8


@numba.njit(cache=True, nogil=True, inline="always")
def _stride(kind):
    """Accumulator slots per row: n, Sxy (msd: S(x-y)^2), Sxx, Syy, Sx, Sy as the kind needs them,
    padded to 2, 4 or 8 doubles (fewer cache lines touched per update)."""
    if kind == PEARSON:
        return 8
    if kind == MSD or kind == DOT:
        return 2
    return 4


@numba.njit(cache=True, nogil=True, inline="always")
def _pair(kind, min_support, shrinkage, acc, b):
    n = acc[b]
    if n == 0 or n < min_support:
        return 0.0
    if kind == PEARSON:
        vx = n * acc[b + 2] - acc[b + 4] * acc[b + 4]
        vy = n * acc[b + 3] - acc[b + 5] * acc[b + 5]
        if vx > 0 and vy > 0:
            den = np.sqrt(vx * vy)
            if den > 0:
                return (n * acc[b + 1] - acc[b + 4] * acc[b + 5]) / den
        return 0.0
    if kind == MSD:
        return 1.0 / (acc[b + 1] / n + 1.0)
    if kind == DOT:
        return acc[b + 1]
    if kind == PEARSON_BASELINE and n < 2:
        return 0.0
    den = np.sqrt(acc[b + 2] * acc[b + 3])
    if not den > 0:
        return 0.0
    if kind == COSINE:
        return acc[b + 1] / den
    return acc[b + 1] / den * ((n - 1) / (n - 1 + shrinkage))


@numba.njit(cache=True, nogil=True)
def _accumulate(x, upper, kind, indptr, indices, data, t_indptr, t_indices, t_data, acc, touched,
                with_self=False):
    """Co-rated sums of x with every row sharing a column (rows > x only when upper, which needs
    ascending row lists: the walk starts past x; x itself too when with_self). Returns the
    number of rows touched, listed in ``touched`` in the order first met."""
    stride = _stride(kind)
    n_touched = 0
    for p in range(indptr[x], indptr[x + 1]):
        c = indices[p]
        xv = data[p]
        lo, hi = t_indptr[c], t_indptr[c + 1]
        if upper:
            lo += np.searchsorted(t_indices[lo:hi], x, side="right")
        for q in range(lo, hi):
            y = t_indices[q]
            if y == x and not with_self:
                continue
            yv = t_data[q]
            b = y * stride
            touched[n_touched] = y  # branch-free append: kept only on the row's first touch
            n_touched += acc[b] == 0
            acc[b] += 1.0
            if kind == MSD:
                d = xv - yv
                acc[b + 1] += d * d
            elif kind == DOT:
                acc[b + 1] += xv * yv
            else:
                acc[b + 1] += xv * yv
                acc[b + 2] += xv * xv
                acc[b + 3] += yv * yv
                if kind == PEARSON:
                    acc[b + 4] += xv
                    acc[b + 5] += yv
    return n_touched


@numba.njit(cache=True, nogil=True, inline="always")
def _worse(s1, i1, s2, i2):
    return s1 < s2 or (s1 == s2 and i1 > i2)


@numba.njit(cache=True, nogil=True)
def _heap_push(hs, hi, size, s, i):
    """Offer (s, i) to a min-heap (root = worst kept) of capacity len(hs); returns the new size."""
    m = hs.shape[0]
    if size < m:
        pos = size
        hs[pos] = s
        hi[pos] = i
        while pos > 0:
            parent = (pos - 1) // 2
            if not _worse(hs[pos], hi[pos], hs[parent], hi[parent]):
                break
            hs[pos], hs[parent] = hs[parent], hs[pos]
            hi[pos], hi[parent] = hi[parent], hi[pos]
            pos = parent
        return size + 1
    if _worse(hs[0], hi[0], s, i):
        hs[0] = s
        hi[0] = i
        pos = 0
        while True:
            worst = pos
            child = 2 * pos + 1
            if child < size and _worse(hs[child], hi[child], hs[worst], hi[worst]):
                worst = child
            child += 1
            if child < size and _worse(hs[child], hi[child], hs[worst], hi[worst]):
                worst = child
            if worst == pos:
                break
            hs[pos], hs[worst] = hs[worst], hs[pos]
            hi[pos], hi[worst] = hi[worst], hi[pos]
            pos = worst
    return size


@numba.njit(parallel=True, cache=True, nogil=True)
def _upper(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
           kind, min_support, shrinkage, out, n_chunks):
    n_rows = out.shape[0]
    stride = _stride(kind)
    for chunk in numba.prange(n_chunks):
        acc = np.zeros(n_rows * MAX_STRIDE)
        touched = np.empty(n_rows, dtype=np.int32)
        for x in range(row_start + chunk, row_stop, n_chunks):
            n_touched = _accumulate(x, True, kind, indptr, indices, data, t_indptr, t_indices, t_data,
                                    acc, touched)
            out[x, x] = 1
            for y in range(x + 1, n_rows):
                out[x, y] = 0
            for j in range(n_touched):
                y = touched[j]
                b = y * stride
                out[x, y] = _pair(kind, min_support, shrinkage, acc, b)
                acc[b:b + stride] = 0.0


@numba.njit(cache=True, nogil=True, inline="always")
def _below(s1, i1, s2, i2):
    return s1 < s2 or (s1 == s2 and i1 < i2)


@numba.njit(cache=True, nogil=True)
def _heap_push_implicit(hs, hi, size, s, i):
    """implicit 0.7.3's TopK (see kernels/similarity.pyx): enter while not full, else only when
    s is strictly larger than the root's value, replacing the root (smallest (value, index))."""
    m = hs.shape[0]
    if size < m:
        pos = size
        hs[pos] = s
        hi[pos] = i
        while pos > 0:
            parent = (pos - 1) // 2
            if not _below(hs[pos], hi[pos], hs[parent], hi[parent]):
                break
            hs[pos], hs[parent] = hs[parent], hs[pos]
            hi[pos], hi[parent] = hi[parent], hi[pos]
            pos = parent
        return size + 1
    if not s > hs[0]:
        return size
    hs[0] = s
    hi[0] = i
    pos = 0
    while True:
        least = pos
        child = 2 * pos + 1
        if child < size and _below(hs[child], hi[child], hs[least], hi[least]):
            least = child
        child += 1
        if child < size and _below(hs[child], hi[child], hs[least], hi[least]):
            least = child
        if least == pos:
            break
        hs[pos], hs[least] = hs[least], hs[pos]
        hi[pos], hi[least] = hi[least], hi[pos]
        pos = least
    return size


@numba.njit(parallel=True, cache=True, nogil=True)
def _topm(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
          kind, min_support, shrinkage, out_idx, out_sim, n_chunks, implicit_order):
    n_rows, m = out_idx.shape
    stride = _stride(kind)
    for chunk in numba.prange(n_chunks):
        acc = np.zeros(n_rows * MAX_STRIDE)
        touched = np.empty(n_rows + 1, dtype=np.int32)  # + 1: the append may write one past the last
        hs = np.empty(m)
        hi = np.empty(m, dtype=np.int32)
        for x in range(row_start + chunk, row_stop, n_chunks):
            n_touched = _accumulate(x, False, kind, indptr, indices, data, t_indptr, t_indices, t_data,
                                    acc, touched, implicit_order)
            size = 0
            if implicit_order:  # every touched row, x too, in reverse first-touch order
                for j in range(n_touched - 1, -1, -1):
                    y = touched[j]
                    b = y * stride
                    s = _pair(kind, min_support, shrinkage, acc, b)
                    acc[b:b + stride] = 0.0
                    size = _heap_push_implicit(hs, hi, size, s, y)
            else:
                for j in range(n_touched):
                    y = touched[j]
                    b = y * stride
                    s = _pair(kind, min_support, shrinkage, acc, b)
                    acc[b:b + stride] = 0.0
                    if s != 0:
                        size = _heap_push(hs, hi, size, s, y)
            order = np.argsort(hi[:size])  # kept neighbours by row index
            for j in range(m):
                if j < size:
                    out_idx[x, j] = hi[order[j]]
                    out_sim[x, j] = hs[order[j]]
                else:
                    out_idx[x, j] = -1
                    out_sim[x, j] = 0


def _chunks(n_threads, n_rows):
    return max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS, max(1, n_rows)))


def similarity_upper(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                     kind, min_support, shrinkage, out, n_threads=1):
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out.shape, (len(indptr) - 1, len(indptr) - 1))
    n_chunks = _chunks(n_threads, row_stop - row_start)
    with numba_threads(n_chunks):  # rows are independent: short calls, so Ctrl-C is answered (_slices.py)
        run_sliced(lambda lo, hi: _upper(indptr, indices, data, t_indptr, t_indices, t_data, np.int64(lo),
                                         np.int64(hi), kind_code(kind), np.float64(min_support),
                                         np.float64(shrinkage), out, n_chunks),
                   row_start, row_stop, indptr)


def similarity_topm(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    kind, min_support, shrinkage, out_idx, out_sim, n_threads=1, implicit_order=False):
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out_sim.shape, out_idx.shape, implicit_order)
    n_chunks = _chunks(n_threads, row_stop - row_start)
    with numba_threads(n_chunks):
        run_sliced(lambda lo, hi: _topm(indptr, indices, data, t_indptr, t_indices, t_data, np.int64(lo),
                                        np.int64(hi), kind_code(kind), np.float64(min_support),
                                        np.float64(shrinkage), out_idx, out_sim, n_chunks, bool(implicit_order)),
                   row_start, row_stop, indptr)


@numba.njit(cache=True, nogil=True, parallel=True)
def _mirror(out, tile):
    n = out.shape[0]
    n_tiles = (n + tile - 1) // tile
    for bi in numba.prange(n_tiles):  # tile rows in parallel; a 32 x 32 tile pair stays in L1
        i0 = bi * tile
        for bj in range(bi, n_tiles):
            j0 = bj * tile
            for i in range(i0, min(n, i0 + tile)):
                for j in range(max(j0, i + 1), min(n, j0 + tile)):
                    out[j, i] = out[i, j]


def mirror_upper(out, n_threads=1):
    """out's upper triangle copied onto its lower one, in place."""
    check_square(out)
    with numba_threads(n_threads):
        _mirror(out, 32)
