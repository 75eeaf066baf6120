# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Row-row similarity over co-rated columns (scikit-surprise 1.1.5 formulas), sparse times sparse.

For each row x (rows in parallel, OpenMP) walk x's columns and, for each column, the rows that
share it (the transposed matrix), adding the pair's co-rated sums into a per-thread slot per
row (count, Sxy or the squared differences, Sxx, Syy, Sx, Sy: only those the kind needs;
kind "dot", the unnormalised sum of products implicit's item-item models use: count, Sxy),
updated as one or two vectors (C, AVX2 clones). The slots are float32 when that is exact for
the data (reckernels.backends._exact), else float64. The dense kernel computes y > x only and
leaves the lower triangle to mirror_upper; on a row with many co-rated entries it finishes every
slot of the row, on a sparse one it lists the rows touched and finishes those. The top-M kernel
always lists the rows it touched and keeps a size-M heap per thread. Nothing n x n is allocated
beyond the output of the dense kernel.

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
    DOT = 4  # the plain sum of x * y (implicit's item-item co-occurrence), not a surprise kind
    MAX_STRIDE = 8  # accumulator doubles per row at most (pearson: 6 used, padded to a cache line)


cdef inline i64 _stride(int kind) noexcept nogil:
    """Accumulator slots per row: n, Sxy (msd: S(x-y)^2), Sxx, Syy, Sx, Sy as the kind needs,
    padded to 2, 4 or 8 doubles so that no row's slots straddle a 64-byte cache line."""
    if kind == PEARSON:
        return 8
    if kind == MSD or kind == DOT:
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
    if kind == DOT:
        return s[1]
    if kind == PEARSON_BASELINE and n < 2:
        return 0.0
    den = sqrt(s[2] * s[3])
    if not den > 0:
        return 0.0
    if kind == COSINE:
        return s[1] / den
    return s[1] / den * ((n - 1) / (n - 1 + shrinkage))


cdef extern from *:
    """
    #include "rk_simd.h"  /* RK_CLONES: AVX2/FMA clones picked at load time */
    /* A pair's slots are updated as one or two vectors (one AVX register each in the
       x86-64-v3 clone): 1 or 2 stores per co-rated column instead of 6, and the stores were
       the bottleneck. Lanes get exactly the scalar arithmetic: lane "Sxy" adds 0 + y*x = x*y,
       lane "Sxx" adds x*x + y*0 = x*x, and so on, so the float64 sums equal the reference's
       to the bit, with or without fused multiply-adds.
       Slots: pearson n, Sxy, Sxx, Syy, Sx, Sy (8 wide); cosine and pearson_baseline n, Sxy,
       Sxx, Syy (4); msd n, S(x-y)^2 (2). The float32 walker is used only when every sum is an
       exactly representable float (reckernels.backends._exact.float32_exact_sums): its sums
       then equal the float64 ones exactly, in half the memory. */
    typedef double rk_v4df __attribute__((vector_size(32), aligned(32)));
    typedef double rk_v2df __attribute__((vector_size(16), aligned(16)));
    typedef float rk_v8sf __attribute__((vector_size(32), aligned(32)));
    typedef float rk_v4sf __attribute__((vector_size(16), aligned(16)));
    typedef float rk_v2sf __attribute__((vector_size(8), aligned(8)));
    /* Walk column c's rows y from q to hi as kind's slot update. */
    #define RK_WALK_COLUMN(...)                                                                  \
        for (; q < hi; q++) {                                                                    \
            const int y = t_indices[q];                                                          \
            if (y == x) continue;                                                                \
            __VA_ARGS__                                                                          \
        }
    /* The top-M kernel lists the rows it touches (branch-free append, kept only on a row's
       first touch) so that it finishes only those; the dense kernel passes touched = NULL and
       scans its row instead: that store per co-rated column cost more than the scan. */
    #define RK_TOUCH(head0)                                                                      \
        if (track) {                                                                             \
            touched[n_touched] = y;                                                              \
            n_touched += (head0) == 0;                                                           \
        }
    #define RK_ACCUMULATE(NAME, TA, V4, V2, V8)                                                  \
    RK_CLONES static int NAME(int x, int upper, int kind, const long long *indptr,              \
            const int *indices, const double *data, const long long *t_indptr,                  \
            const int *t_indices, const double *t_data, TA *acc, int *touched) {                 \
        const long long stride = kind == 0 ? 8 : (kind >= 3 ? 2 : 4);                           \
        const int track = touched != 0;                                                          \
        int n_touched = 0;                                                                       \
        for (long long p = indptr[x]; p < indptr[x + 1]; p++) {                                  \
            const int c = indices[p];                                                            \
            const TA xv = (TA)data[p];                                                           \
            long long q = t_indptr[c];                                                           \
            const long long hi = t_indptr[c + 1];                                                \
            if (upper) {  /* first position holding a row > x */                                 \
                long long h = hi;                                                                \
                while (q < h) {                                                                  \
                    const long long mid = (q + h) / 2;                                           \
                    if (t_indices[mid] <= x) q = mid + 1; else h = mid;                          \
                }                                                                                \
            }                                                                                    \
            if (kind == 0) {                                                                     \
                const V8 base = {1, 0, xv * xv, 0, xv, 0, 0, 0};                                 \
                const V8 by_y = {0, xv, 0, 0, 0, 1, 0, 0};                                       \
                const V8 by_yy = {0, 0, 0, 1, 0, 0, 0, 0};                                       \
                RK_WALK_COLUMN(                                                                  \
                    const TA yv = (TA)t_data[q];                                                 \
                    V8 *a = (V8 *)(acc + y * stride);                                            \
                    const V8 head = *a;                                                          \
                    RK_TOUCH(head[0])                                                            \
                    *a = head + (base + yv * (by_y + yv * by_yy));                               \
                )                                                                                \
            } else if (kind == 3) {                                                              \
                RK_WALK_COLUMN(                                                                  \
                    const TA d = xv - (TA)t_data[q];                                             \
                    V2 *a = (V2 *)(acc + y * stride);                                            \
                    const V2 head = *a;                                                          \
                    RK_TOUCH(head[0])                                                            \
                    const V2 add = {1, d * d};                                                   \
                    *a = head + add;                                                             \
                )                                                                                \
            } else {                                                                             \
                const V4 base = {1, 0, xv * xv, 0};                                              \
                RK_WALK_COLUMN(                                                                  \
                    const TA yv = (TA)t_data[q];                                                 \
                    V4 *a = (V4 *)(acc + y * stride);                                            \
                    const V4 head = *a;                                                          \
                    RK_TOUCH(head[0])                                                            \
                    const V4 mul = {0, xv, 0, yv};                                               \
                    *a = head + (base + yv * mul);                                               \
                )                                                                                \
            }                                                                                    \
        }                                                                                        \
        return n_touched;                                                                        \
    }
    /* dot: slots n, Sxy (2 wide), the product added as its own rounded term, as the reference
       and implicit's all_pairs_knn do: fp-contract=off keeps any clone from fusing it into the
       running sum (a fused multiply-add rounds once and would differ in the last bit). */
    #define RK_ACCUMULATE_DOT(NAME, TA, V2)                                                      \
    RK_CLONES __attribute__((optimize("fp-contract=off"))) static int NAME(int x, int upper,     \
            int with_self,                                                                       \
            const long long *indptr, const int *indices, const double *data,                    \
            const long long *t_indptr, const int *t_indices, const double *t_data, TA *acc,     \
            int *touched) {                                                                      \
        const int track = touched != 0;                                                          \
        int n_touched = 0;                                                                       \
        for (long long p = indptr[x]; p < indptr[x + 1]; p++) {                                  \
            const int c = indices[p];                                                            \
            const TA xv = (TA)data[p];                                                           \
            long long q = t_indptr[c];                                                           \
            const long long hi = t_indptr[c + 1];                                                \
            if (upper) {                                                                         \
                long long h = hi;                                                                \
                while (q < h) {                                                                  \
                    const long long mid = (q + h) / 2;                                           \
                    if (t_indices[mid] <= x) q = mid + 1; else h = mid;                          \
                }                                                                                \
            }                                                                                    \
            for (; q < hi; q++) {  /* x itself too when with_self (implicit's walk) */           \
                const int y = t_indices[q];                                                      \
                if (y == x && !with_self) continue;                                              \
                const TA prod = xv * (TA)t_data[q];                                              \
                V2 *a = (V2 *)(acc + y * 2);                                                     \
                const V2 head = *a;                                                              \
                RK_TOUCH(head[0])                                                                \
                const V2 add = {1, prod};                                                        \
                *a = head + add;                                                                 \
            }                                                                                    \
        }                                                                                        \
        return n_touched;                                                                        \
    }
    RK_ACCUMULATE_DOT(rk_accumulate_dot64, double, rk_v2df)
    RK_ACCUMULATE_DOT(rk_accumulate_dot32, float, rk_v2sf)
    /* float64 pearson's 64-byte slot: GCC splits the vector into two AVX (or four SSE) halves */
    typedef double rk_v8df __attribute__((vector_size(64), aligned(64)));
    RK_ACCUMULATE(rk_accumulate64, double, rk_v4df, rk_v2df, rk_v8df)
    RK_ACCUMULATE(rk_accumulate32, float, rk_v4sf, rk_v2sf, rk_v8sf)
    /* A dense row's similarities for y in [y0, y1) from its slots, which are then zeroed: the
       arithmetic of _pair, written without branches (a pair that fails a test gets 0 through a
       select; the NaN or inf it may have computed is discarded) so that the loop vectorises,
       divisions and square roots included. fp-contract=off: no fused multiply-add may change
       the rounding against the reference. */
    #define RK_FINISH_ROW(NAME, TA, TO)                                                          \
    RK_CLONES __attribute__((optimize("fp-contract=off"))) static void NAME(int kind,           \
            double min_support, double shrinkage, TA *acc, long long stride, long long y0,      \
            long long y1, TO *out) {                                                             \
        if (kind == 0) {                                                                         \
            for (long long y = y0; y < y1; y++) {                                                \
                const TA *a = acc + y * stride;                                                  \
                const double n = a[0], sxy = a[1], sxx = a[2], syy = a[3], sx = a[4], sy = a[5]; \
                const double vx = n * sxx - sx * sx, vy = n * syy - sy * sy;                     \
                const double den = sqrt(vx * vy);                                                \
                const double v = (n * sxy - sx * sy) / den;                                      \
                const int ok = n != 0 && !(n < min_support) && vx > 0 && vy > 0 && den > 0;      \
                out[y] = (TO)(ok ? v : 0.0);                                                     \
            }                                                                                    \
        } else if (kind == 4) {                                                                  \
            for (long long y = y0; y < y1; y++) {                                                \
                const TA *a = acc + y * stride;                                                  \
                const double n = a[0];                                                           \
                out[y] = (TO)((n != 0 && !(n < min_support)) ? (double)a[1] : 0.0);              \
            }                                                                                    \
        } else if (kind == 3) {                                                                  \
            for (long long y = y0; y < y1; y++) {                                                \
                const TA *a = acc + y * stride;                                                  \
                const double n = a[0];                                                           \
                const double v = 1.0 / ((double)a[1] / n + 1.0);                                 \
                out[y] = (TO)((n != 0 && !(n < min_support)) ? v : 0.0);                         \
            }                                                                                    \
        } else {                                                                                 \
            const int baseline = kind == 1;                                                      \
            for (long long y = y0; y < y1; y++) {                                                \
                const TA *a = acc + y * stride;                                                  \
                const double n = a[0], den = sqrt((double)a[2] * (double)a[3]);                  \
                const double c = (double)a[1] / den;                                             \
                const double v = baseline ? c * ((n - 1) / (n - 1 + shrinkage)) : c;             \
                const int ok = n != 0 && !(n < min_support) && !(baseline && n < 2) && den > 0;  \
                out[y] = (TO)(ok ? v : 0.0);                                                     \
            }                                                                                    \
        }                                                                                        \
        memset(acc + y0 * stride, 0, (size_t)((y1 - y0) * stride) * sizeof(TA));                 \
    }
    #include <math.h>
    #include <string.h>
    RK_FINISH_ROW(rk_finish_row32_d, float, double)
    RK_FINISH_ROW(rk_finish_row32_s, float, float)
    RK_FINISH_ROW(rk_finish_row64_d, double, double)
    RK_FINISH_ROW(rk_finish_row64_s, double, float)
    """
    void rk_finish_row32_d(int kind, double min_support, double shrinkage, float* acc, i64 stride, i64 y0,
                           i64 y1, double* out) noexcept nogil
    void rk_finish_row32_s(int kind, double min_support, double shrinkage, float* acc, i64 stride, i64 y0,
                           i64 y1, float* out) noexcept nogil
    void rk_finish_row64_d(int kind, double min_support, double shrinkage, double* acc, i64 stride, i64 y0,
                           i64 y1, double* out) noexcept nogil
    void rk_finish_row64_s(int kind, double min_support, double shrinkage, double* acc, i64 stride, i64 y0,
                           i64 y1, float* out) noexcept nogil
    int rk_accumulate64(i32 x, int upper, int kind, const i64* indptr, const i32* indices,
                        const double* data, const i64* t_indptr, const i32* t_indices, const double* t_data,
                        double* acc, i32* touched) noexcept nogil
    int rk_accumulate32(i32 x, int upper, int kind, const i64* indptr, const i32* indices,
                        const double* data, const i64* t_indptr, const i32* t_indices, const double* t_data,
                        float* acc, i32* touched) noexcept nogil
    int rk_accumulate_dot64(i32 x, int upper, int with_self, const i64* indptr, const i32* indices, const double* data,
                            const i64* t_indptr, const i32* t_indices, const double* t_data,
                            double* acc, i32* touched) noexcept nogil
    int rk_accumulate_dot32(i32 x, int upper, int with_self, const i64* indptr, const i32* indices, const double* data,
                            const i64* t_indptr, const i32* t_indices, const double* t_data,
                            float* acc, i32* touched) noexcept nogil
cdef inline i32 _accumulate(i32 x, bint upper, int kind, bint exact32,
                            const i64* indptr, const i32* indices, const double* data,
                            const i64* t_indptr, const i32* t_indices, const double* t_data,
                            double* acc, i32* touched) noexcept nogil:
    """Add the co-rated sums of x with every row y sharing a column (y > x only when upper).

    With upper, each column's row list must be ascending: the walk starts past x (binary
    search) instead of testing every y. Unless ``touched`` is NULL, the rows touched are listed
    there and their count returned. (C above: the slot updates are vector operations; with
    exact32 the slots are float32, see _finish_slot.)"""
    if kind == DOT:
        if exact32:
            return rk_accumulate_dot32(x, upper, 0, indptr, indices, data, t_indptr, t_indices, t_data,
                                       <float*>acc, touched)
        return rk_accumulate_dot64(x, upper, 0, indptr, indices, data, t_indptr, t_indices, t_data, acc, touched)
    if exact32:
        return rk_accumulate32(x, upper, kind, indptr, indices, data, t_indptr, t_indices, t_data,
                               <float*>acc, touched)
    return rk_accumulate64(x, upper, kind, indptr, indices, data, t_indptr, t_indices, t_data, acc, touched)


cdef inline void _finish_row(int kind, bint exact32, double min_support, double shrinkage, double* acc,
                             i64 stride, i64 y0, i64 y1, real* out) noexcept nogil:
    """out[y] for y in [y0, y1) from the slots (an untouched slot gives 0), which are zeroed."""
    if exact32:
        if real is double:
            rk_finish_row32_d(kind, min_support, shrinkage, <float*>acc, stride, y0, y1, out)
        else:
            rk_finish_row32_s(kind, min_support, shrinkage, <float*>acc, stride, y0, y1, out)
    elif real is double:
        rk_finish_row64_d(kind, min_support, shrinkage, acc, stride, y0, y1, out)
    else:
        rk_finish_row64_s(kind, min_support, shrinkage, acc, stride, y0, y1, out)


cdef inline double _finish_slot(int kind, bint exact32, double min_support, double shrinkage, double* acc,
                                i64 stride, i32 y) noexcept nogil:
    """Row y's similarity from its slots (float64, or float32 widened exactly), which are zeroed."""
    cdef double s[6]
    cdef float* a32 = (<float*>acc) + y * stride
    cdef i64 k
    if (a32[0] if exact32 else acc[y * stride]) == 0:  # never touched: every slot is still 0
        return 0.0
    if not exact32:
        return _finish(kind, min_support, shrinkage, acc + y * stride, stride)
    for k in range(6):
        s[k] = a32[k] if k < stride else 0.0
    for k in range(stride):
        a32[k] = 0
    return _pair(kind, min_support, shrinkage, s)


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
                     real[:, ::1] out, int n_threads, bint exact32=False):
    """out[x, x] = 1 and out[x, y] = sim(x, y) for y > x, for x in [row_start, row_stop).

    Each column's row list (t_indices) must be in ascending order, as transpose_csr builds it.
    ``exact32``: accumulate in float32 (only when the caller has checked that the sums are
    exact there)."""
    cdef i32 n_rows = out.shape[0]
    cdef double[:, ::1] acc_all = np.zeros((n_threads, n_rows * MAX_STRIDE + 8))
    cdef i32[:, ::1] touched_all = np.empty((n_threads, max(1, n_rows)), dtype=np.int32)
    cdef double ms = <double>min_support
    cdef i64 stride = _stride(kind)
    cdef i64 p, walk
    cdef i32 x, y, j, n_touched
    cdef int t
    cdef double* acc
    cdef i32* touched
    for x in prange(row_start, row_stop, nogil=True, schedule="dynamic", num_threads=n_threads):
        t = threadid()
        acc = _aligned(&acc_all[t, 0])
        out[x, x] = 1
        walk = 0  # co-rated entries of x with all rows: at most this many rows get touched
        for p in range(indptr[x], indptr[x + 1]):
            walk = walk + t_indptr[indices[p] + 1] - t_indptr[indices[p]]
        if 4 * walk < n_rows - x:  # a sparse row: list the touched rows, finish only those
            touched = &touched_all[t, 0]
            n_touched = _accumulate(x, True, kind, exact32, &indptr[0], &indices[0], &data[0],
                                    &t_indptr[0], &t_indices[0], &t_data[0], acc, touched)
            for y in range(x + 1, n_rows):
                out[x, y] = 0
            for j in range(n_touched):
                y = touched[j]
                out[x, y] = <real>_finish_slot(kind, exact32, ms, shrinkage, acc, stride, y)
        else:  # a dense one: no list (a store per co-rated entry), scan every y instead
            _accumulate(x, True, kind, exact32, &indptr[0], &indices[0], &data[0],
                        &t_indptr[0], &t_indices[0], &t_data[0], acc, NULL)
            _finish_row(kind, exact32, ms, shrinkage, acc, stride, x + 1, n_rows, &out[x, 0])


cdef inline bint _below(double s1, i32 i1, double s2, i32 i2) noexcept nogil:
    """(s1, i1) < (s2, i2) lexicographically: implicit's TopK heap order (its root is evicted)."""
    return s1 < s2 or (s1 == s2 and i1 < i2)


cdef i32 _heap_push_implicit(double* hs, i32* hi, i32 size, i32 m, double s, i32 i) noexcept nogil:
    """implicit 0.7.3's TopK: (s, i) enters while fewer than m are kept, or when s is strictly
    larger than the root's value, replacing the root (the smallest (value, index))."""
    cdef i32 pos, parent, child, least
    cdef double ts
    cdef i32 ti
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
            return size
        ts = hs[pos]; hs[pos] = hs[least]; hs[least] = ts
        ti = hi[pos]; hi[pos] = hi[least]; hi[least] = ti
        pos = least


def similarity_topm(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                    const i64[::1] t_indptr, const i32[::1] t_indices, const double[::1] t_data,
                    i32 row_start, i32 row_stop, int kind, i64 min_support, double shrinkage,
                    i32[:, ::1] out_idx, real[:, ::1] out_sim, int n_threads, bint exact32=False,
                    bint implicit_order=False):
    """For x in [row_start, row_stop): the M largest nonzero sim(x, y), y != x, sorted by y.

    ``exact32`` as in similarity_upper. ``implicit_order`` (kind dot only): x itself is a
    candidate and the M kept are those implicit's all_pairs_knn keeps: every row touched,
    offered in reverse first-touch order to its TopK (see the reference's select_implicit)."""
    cdef i32 n_rows = out_idx.shape[0]
    cdef i32 m = out_idx.shape[1]
    cdef double[:, ::1] acc_all = np.zeros((n_threads, n_rows * MAX_STRIDE + 8))
    # + 1: the branch-free append writes one past the last row listed (all rows, x too, can be)
    cdef i32[:, ::1] touched_all = np.empty((n_threads, n_rows + 1), dtype=np.int32)
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
        size = 0
        if implicit_order:
            if exact32:
                n_touched = rk_accumulate_dot32(x, 0, 1, &indptr[0], &indices[0], &data[0], &t_indptr[0],
                                                &t_indices[0], &t_data[0], <float*>acc, touched)
            else:
                n_touched = rk_accumulate_dot64(x, 0, 1, &indptr[0], &indices[0], &data[0], &t_indptr[0],
                                                &t_indices[0], &t_data[0], acc, touched)
            for j in range(n_touched - 1, -1, -1):
                y = touched[j]
                s = _finish_slot(kind, exact32, ms, shrinkage, acc, stride, y)
                size = _heap_push_implicit(hs, hi, size, m, s, y)
        else:
            n_touched = _accumulate(x, False, kind, exact32, &indptr[0], &indices[0], &data[0],
                                    &t_indptr[0], &t_indices[0], &t_data[0], acc, touched)
            for j in range(n_touched):
                y = touched[j]
                s = _finish_slot(kind, exact32, ms, shrinkage, acc, stride, y)
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


def mirror_upper(real[:, ::1] out, int n_threads):
    """out[j, i] = out[i, j] for j > i: the dense kernel's upper triangle copied onto the lower.

    Tile by tile (32 x 32: a source tile and its target stay in L1), tile rows on parallel threads."""
    cdef Py_ssize_t n = out.shape[0], bi, bj, i0, j0, i, j, i1, j1
    cdef Py_ssize_t tile = 32, n_tiles = (n + 31) // 32
    for bi in prange(n_tiles, nogil=True, schedule="dynamic", num_threads=n_threads):
        i0 = bi * tile
        i1 = min(n, i0 + tile)
        for bj in range(bi, n_tiles):
            j0 = bj * tile
            j1 = min(n, j0 + tile)
            for i in range(i0, i1):
                for j in range(max(j0, i + 1), j1):
                    out[j, i] = out[i, j]


def transpose(const i64[::1] indptr, const i32[::1] indices, const double[::1] data, i64 n_cols):
    """(t_indptr, t_indices, t_data): the CSR by column, each column's rows ascending.

    A counting sort: two passes, no temporary beyond the output and one cursor per column (a
    NumPy argsort would hold an int64 permutation as long as the data). Column indices are
    checked here, so any input is safe."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, r
    cdef i64 p, q, nnz = indices.shape[0]
    cdef i32 c
    if data.shape[0] != nnz or n_rows < 0 or (n_rows and (indptr[0] != 0 or indptr[n_rows] != nnz)):
        raise ValueError("indptr, indices and data do not form a CSR matrix.")
    t_indptr_arr = np.zeros(n_cols + 1, dtype=np.int64)
    cdef i64[::1] t_indptr = t_indptr_arr
    for p in range(nnz):
        c = indices[p]
        if c < 0 or c >= n_cols:
            raise ValueError(f"column indices must lie in [0, {n_cols}); found {c}.")
        t_indptr[c + 1] += 1
    for c in range(n_cols):
        t_indptr[c + 1] += t_indptr[c]
    cursor_arr = np.array(t_indptr_arr[:-1])
    cdef i64[::1] cursor = cursor_arr
    t_indices_arr = np.empty(nnz, dtype=np.int32)
    t_data_arr = np.empty(nnz, dtype=np.float64)
    cdef i32[::1] t_indices = t_indices_arr
    cdef double[::1] t_data = t_data_arr
    with nogil:
        for r in range(n_rows):
            for p in range(indptr[r], indptr[r + 1]):
                c = indices[p]
                q = cursor[c]
                t_indices[q] = <i32>r
                t_data[q] = data[p]
                cursor[c] = q + 1
    return t_indptr_arr, t_indices_arr, t_data_arr
