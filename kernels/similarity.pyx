# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Row-row similarity over co-rated columns (scikit-surprise 1.1.5 formulas), sparse times sparse.

For each row x (rows in parallel, OpenMP) walk x's columns and, for each column, the rows that
share it (the transposed matrix), adding the pair's co-rated sums into a per-thread buffer of
up to eight doubles per row (count, Sxy or the squared differences, Sxx, Syy, Sx, Sy: only
those the kind needs); a list of the rows touched lets the finish step visit only those. Nothing n x n is allocated beyond the
output of the dense kernel; the top-M kernel keeps a size-M heap per thread.

The pair (x, y) is always summed over x's columns in x's stored order, like the reference.
Bounds checks are off: reckernels.backends.cython.similarity checks shapes and ranges, and
reckernels.similarity validates user input.
"""

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport sqrt
from libc.stdint cimport uintptr_t

ctypedef long long i64
ctypedef int i32

ctypedef fused real:
    float
    double

cdef enum:
    PEARSON = 0
    PEARSON_BASELINE = 1
    COSINE = 2
    MSD = 3
    MAX_STRIDE = 8  # accumulator doubles per row at most (pearson: 6 used, padded to a cache line)


cdef inline i64 _stride(int kind) noexcept nogil:
    """Accumulator slots per row: n, Sxy (msd: S(x-y)^2), Sxx, Syy, Sx, Sy as the kind needs,
    padded to 2, 4 or 8 doubles so that no row's slots straddle a 64-byte cache line."""
    if kind == PEARSON:
        return 8
    if kind == MSD:
        return 2
    return 4


cdef inline double* _aligned(double* p) noexcept nogil:
    """The first 64-byte aligned address at or after p (the buffers have 8 spare doubles)."""
    return <double*>((<uintptr_t>p + 63) & ~(<uintptr_t>63))


cdef inline double _finish(int kind, double min_support, double shrinkage, double* a, i64 stride) noexcept nogil:
    """The pair's similarity; its accumulator slots are zeroed for the next row."""
    cdef double s = _pair(kind, min_support, shrinkage, a)
    cdef i64 k
    for k in range(stride):
        a[k] = 0
    return s


cdef inline double _pair(int kind, double min_support, double shrinkage, const double* s) noexcept nogil:
    """The similarity from one pair's sums; the same arithmetic as the reference's pair_similarity."""
    cdef double n = s[0], vx, vy, den
    if n == 0 or n < min_support:
        return 0.0
    if kind == PEARSON:
        vx = n * s[2] - s[4] * s[4]
        vy = n * s[3] - s[5] * s[5]
        if vx > 0 and vy > 0:
            den = sqrt(vx * vy)
            if den > 0:
                return (n * s[1] - s[4] * s[5]) / den
        return 0.0
    if kind == MSD:
        return 1.0 / (s[1] / n + 1.0)
    if kind == PEARSON_BASELINE and n < 2:
        return 0.0
    den = sqrt(s[2] * s[3])
    if not den > 0:
        return 0.0
    if kind == COSINE:
        return s[1] / den
    return s[1] / den * ((n - 1) / (n - 1 + shrinkage))


cdef i32 _accumulate(i32 x, bint upper, int kind,
                     const i64* indptr, const i32* indices, const double* data,
                     const i64* t_indptr, const i32* t_indices, const double* t_data,
                     double* acc, i32* touched) noexcept nogil:
    """Add the co-rated sums of x with every row y sharing a column (y > x only when upper).

    With upper, each column's row list must be ascending: the walk starts past x (binary
    search) instead of testing every y. Returns how many rows were touched; their ids are in
    touched[:count]."""
    cdef i64 p, q, lo, hi, mid, stride = _stride(kind)
    cdef i32 c, y, n_touched = 0
    cdef double xv, yv, d
    cdef double* a
    for p in range(indptr[x], indptr[x + 1]):
        c = indices[p]
        xv = data[p]
        lo = t_indptr[c]
        hi = t_indptr[c + 1]
        if upper:  # first position holding a row > x
            while lo < hi:
                mid = (lo + hi) // 2
                if t_indices[mid] <= x:
                    lo = mid + 1
                else:
                    hi = mid
            hi = t_indptr[c + 1]
        for q in range(lo, hi):
            y = t_indices[q]
            if y == x:
                continue
            yv = t_data[q]
            a = acc + y * stride
            touched[n_touched] = y  # branch-free append: kept only on the row's first touch
            n_touched += a[0] == 0
            a[0] += 1
            if kind == MSD:
                d = xv - yv
                a[1] += d * d
            else:
                a[1] += xv * yv
                a[2] += xv * xv
                a[3] += yv * yv
                if kind == PEARSON:
                    a[4] += xv
                    a[5] += yv
    return n_touched


cdef inline bint _worse(double s1, i32 i1, double s2, i32 i2) noexcept nogil:
    """(s1, i1) ranks below (s2, i2): smaller similarity, or equal and larger index."""
    return s1 < s2 or (s1 == s2 and i1 > i2)


cdef void _heap_sift_down(double* hs, i32* hi, i32 size, i32 pos) noexcept nogil:
    cdef i32 child, worst
    cdef double ts
    cdef i32 ti
    while True:
        worst = pos
        child = 2 * pos + 1
        if child < size and _worse(hs[child], hi[child], hs[worst], hi[worst]):
            worst = child
        child += 1
        if child < size and _worse(hs[child], hi[child], hs[worst], hi[worst]):
            worst = child
        if worst == pos:
            return
        ts = hs[pos]; hs[pos] = hs[worst]; hs[worst] = ts
        ti = hi[pos]; hi[pos] = hi[worst]; hi[worst] = ti
        pos = worst


cdef i32 _heap_push(double* hs, i32* hi, i32 size, i32 m, double s, i32 i) noexcept nogil:
    """Offer (s, i) to a min-heap (root = worst kept) holding at most m; returns the new size."""
    cdef i32 pos, parent
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
        _heap_sift_down(hs, hi, size, 0)
    return size


def similarity_upper(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                     const i64[::1] t_indptr, const i32[::1] t_indices, const double[::1] t_data,
                     i32 row_start, i32 row_stop, int kind, i64 min_support, double shrinkage,
                     real[:, ::1] out, int n_threads):
    """out[x, x] = 1 and out[x, y] = sim(x, y) for y > x, for x in [row_start, row_stop).

    Each column's row list (t_indices) must be in ascending order, as transpose_csr builds it."""
    cdef i32 n_rows = out.shape[0]
    cdef double[:, ::1] acc_all = np.zeros((n_threads, n_rows * MAX_STRIDE + 8))
    cdef i32[:, ::1] touched_all = np.empty((n_threads, max(1, n_rows)), dtype=np.int32)
    cdef double ms = <double>min_support
    cdef i64 stride = _stride(kind)
    cdef i32 x, y, j, n_touched
    cdef int t
    cdef double* acc
    cdef i32* touched
    for x in prange(row_start, row_stop, nogil=True, schedule="dynamic", num_threads=n_threads):
        t = threadid()
        acc = _aligned(&acc_all[t, 0])
        touched = &touched_all[t, 0]
        n_touched = _accumulate(x, True, kind, &indptr[0], &indices[0], &data[0],
                                &t_indptr[0], &t_indices[0], &t_data[0], acc, touched)
        out[x, x] = 1
        for y in range(x + 1, n_rows):
            out[x, y] = 0
        for j in range(n_touched):
            y = touched[j]
            out[x, y] = <real>_finish(kind, ms, shrinkage, acc + y * stride, stride)


def similarity_topm(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                    const i64[::1] t_indptr, const i32[::1] t_indices, const double[::1] t_data,
                    i32 row_start, i32 row_stop, int kind, i64 min_support, double shrinkage,
                    i32[:, ::1] out_idx, real[:, ::1] out_sim, int n_threads):
    """For x in [row_start, row_stop): the M largest nonzero sim(x, y), y != x, sorted by y."""
    cdef i32 n_rows = out_idx.shape[0]
    cdef i32 m = out_idx.shape[1]
    cdef double[:, ::1] acc_all = np.zeros((n_threads, n_rows * MAX_STRIDE + 8))
    cdef i32[:, ::1] touched_all = np.empty((n_threads, max(1, n_rows)), dtype=np.int32)
    cdef double[:, ::1] hs_all = np.empty((n_threads, max(1, m)))
    cdef i32[:, ::1] hi_all = np.empty((n_threads, max(1, m)), dtype=np.int32)
    cdef double ms = <double>min_support
    cdef i64 stride = _stride(kind)
    cdef i32 x, y, j, k, n_touched, size, ti
    cdef int t
    cdef double s, ts
    cdef double* acc
    cdef i32* touched
    cdef double* hs
    cdef i32* hi
    for x in prange(row_start, row_stop, nogil=True, schedule="dynamic", num_threads=n_threads):
        t = threadid()
        acc = _aligned(&acc_all[t, 0])
        touched = &touched_all[t, 0]
        hs = &hs_all[t, 0]
        hi = &hi_all[t, 0]
        n_touched = _accumulate(x, False, kind, &indptr[0], &indices[0], &data[0],
                                &t_indptr[0], &t_indices[0], &t_data[0], acc, touched)
        size = 0
        for j in range(n_touched):
            y = touched[j]
            s = _finish(kind, ms, shrinkage, acc + y * stride, stride)
            if s != 0:
                size = _heap_push(hs, hi, size, m, s, y)
        # insertion sort of the kept neighbours by row index (M is small)
        for j in range(1, size):
            ti = hi[j]
            ts = hs[j]
            k = j - 1
            while k >= 0 and hi[k] > ti:
                hi[k + 1] = hi[k]
                hs[k + 1] = hs[k]
                k = k - 1
            hi[k + 1] = ti
            hs[k + 1] = ts
        for j in range(m):
            if j < size:
                out_idx[x, j] = hi[j]
                out_sim[x, j] = <real>hs[j]
            else:
                out_idx[x, j] = -1
                out_sim[x, j] = 0
