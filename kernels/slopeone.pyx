# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Slope One deviations and supports, sparse times sparse, and its prediction (scikit-surprise 1.1.5).

The semantics are documented in reckernels/backends/reference/slopeone.py. Item rows run in
parallel (OpenMP, dynamic schedule: popular items cost far more). Each row walks its raters in
ascending user order and, for each, that user's items, adding 1 and r_ui - r_uj into a row
buffer: the dense kernel into per-thread (count, sum) slots updated as one vector, finished
into its output rows, and only for the items j >= i when the by-user lists are ascending (a binary search finds where
to start), since dev(j, i) = 0 - dev(i, j) exactly and freq is symmetric (slopeone_mirror), the
sparse kernel into a per-thread buffer whose touched entries it lists and, sorted, writes to the
CSR store at the offsets the count kernel gave. Sums run in the reference's order, so the
results are bit-identical to it. Bounds checks are off: reckernels.backends.cython.slopeone
checks shapes; ids come from a Dataset or IdMap.to_inner (-1 = unknown, handled here).
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport qsort
from libc.string cimport memset
from libc.stdint cimport uintptr_t

ctypedef long long i64
ctypedef int i32
ctypedef unsigned char u8


cdef int _cmp_i32(const void* a, const void* b) noexcept nogil:
    cdef i32 x = (<const i32*>a)[0], y = (<const i32*>b)[0]
    return (x > y) - (x < y)


cdef inline void _walk(i64 x, const i64* indptr, const i32* indices, const double* data, const i64* t_indptr,
                       const i32* t_indices, const double* t_data, i32* freq, double* sums) noexcept nogil:
    """freq[j] += 1 and sums[j] += r_xc - r_jc for every rater c of x and every item j of c."""
    cdef i64 p, q, c
    cdef double xv
    for p in range(indptr[x], indptr[x + 1]):
        c = indices[p]
        xv = data[p]
        for q in range(t_indptr[c], t_indptr[c + 1]):
            freq[t_indices[q]] += 1
            sums[t_indices[q]] += xv - t_data[q]


cdef inline i64 _first_at_least(const i32* a, i64 lo, i64 hi, i64 x) noexcept nogil:
    """The first position in the ascending a[lo:hi] holding a value >= x (hi if none)."""
    cdef i64 mid
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef extern from *:
    """
    #include "rk_simd.h"  /* RK_CLONES: AVX2/FMA clones picked at load time */
    /* A pair's (count, sum) slot is updated as one 16-byte vector: one load and one store per
       co-rated rating instead of two of each. Lane arithmetic is the scalar one: count + (1 - 0),
       sum + (r_ui - r_uj), so the sums equal the reference's to the bit. */
    typedef double rk_v2df __attribute__((vector_size(16), aligned(16)));
    RK_CLONES static void rk_so_walk(long long x, int upper, const long long *indptr, const int *indices,
            const double *data, const long long *t_indptr, const int *t_indices, const double *t_data,
            double *acc) {
        rk_v2df *a = (rk_v2df *)acc;
        for (long long p = indptr[x]; p < indptr[x + 1]; p++) {
            const int c = indices[p];
            const rk_v2df base = {1.0, data[p]};
            long long q = t_indptr[c];
            const long long hi = t_indptr[c + 1];
            if (upper) {  /* first position holding an item >= x */
                long long h = hi;
                while (q < h) {
                    const long long mid = (q + h) / 2;
                    if (t_indices[mid] < x) q = mid + 1; else h = mid;
                }
            }
            for (; q < hi; q++) {
                const rk_v2df sub = {0.0, t_data[q]};
                a[t_indices[q]] += base - sub;
            }
        }
    }
    """
    void rk_so_walk(i64 x, int upper, const i64* indptr, const i32* indices, const double* data,
                    const i64* t_indptr, const i32* t_indices, const double* t_data, double* acc) noexcept nogil


cdef inline double* _aligned(double* p) noexcept nogil:
    """The first 64-byte aligned address at or after p (the buffers have 8 spare doubles)."""
    return <double*>((<uintptr_t>p + 63) & ~(<uintptr_t>63))


def slopeone_dense(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                   const i64[::1] t_indptr, const i32[::1] t_indices, const double[::1] t_data,
                   i64 row_start, i64 row_stop, double[:, ::1] dev, i32[:, ::1] freq, bint upper,
                   double[:, ::1] acc, int n_threads):
    """Rows [row_start, row_stop) of dev and freq, on and right of the diagonal (j >= x); with
    ``upper`` the by-user lists must be ascending and the walk starts at the first item >= x
    (half the work: slopeone_mirror fills the rest); without, whole rows are computed.
    acc: (n_threads, 2 n_items + 8) zeros, per-thread (count, sum) slots, left zeroed."""
    cdef i64 n = dev.shape[1], x, j, lo
    cdef double cnt
    cdef double* a
    cdef double* d
    cdef i32* f
    if row_stop <= row_start:
        return
    with nogil:
        for x in prange(row_start, row_stop, schedule="dynamic", chunksize=4, num_threads=n_threads):
            lo = x if upper else 0
            a = _aligned(&acc[threadid(), 0])
            d = &dev[x, 0]
            f = &freq[x, 0]
            rk_so_walk(x, upper, &indptr[0], &indices[0], &data[0], &t_indptr[0], &t_indices[0], &t_data[0], a)
            for j in range(lo, n):
                cnt = a[2 * j]
                f[j] = <i32>cnt
                d[j] = a[2 * j + 1] / cnt if cnt > 0 else 0.0
                a[2 * j] = 0.0
                a[2 * j + 1] = 0.0
            d[x] = 0.0


def slopeone_mirror(double[:, ::1] dev, i32[:, ::1] freq, int n_threads):
    """dev[j, i] = 0 - dev[i, j] and freq[j, i] = freq[i, j] for i < j, in tiles (cache-friendly)."""
    cdef i64 n = dev.shape[0], tile = 64, n_tiles = (n + 63) // 64, t, bi, bj, i, j, i1, j0, j1
    with nogil:
        for t in prange(n_tiles * n_tiles, schedule="dynamic", chunksize=8, num_threads=n_threads):
            bi = t // n_tiles
            bj = t % n_tiles
            if bj < bi:
                continue
            i1 = min(n, (bi + 1) * tile)
            j1 = min(n, (bj + 1) * tile)
            for i in range(bi * tile, i1):
                j0 = max(i + 1, bj * tile)
                for j in range(j0, j1):
                    dev[j, i] = 0.0 - dev[i, j]
                    freq[j, i] = freq[i, j]


def slopeone_count(const i64[::1] indptr, const i32[::1] indices, const i64[::1] t_indptr,
                   const i32[::1] t_indices, i64 row_start, i64 row_stop, i64[::1] counts,
                   i32[:, ::1] mark, int n_threads):
    """counts[x] = how many items j share a rater with x; mark: (n_threads, n_items), all -1."""
    cdef i64 x, p, q, c, j, k
    cdef i32* m
    if row_stop <= row_start:
        return
    with nogil:
        for x in prange(row_start, row_stop, schedule="dynamic", chunksize=4, num_threads=n_threads):
            m = &mark[threadid(), 0]
            k = 0
            for p in range(indptr[x], indptr[x + 1]):
                c = indices[p]
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    j = t_indices[q]
                    if m[j] != x:  # a stamp per row: no reset between rows
                        m[j] = <i32>x
                        k = k + 1
            counts[x] = k


def slopeone_sparse(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                    const i64[::1] t_indptr, const i32[::1] t_indices, const double[::1] t_data,
                    i64 row_start, i64 row_stop, const i64[::1] out_indptr, i32[::1] out_indices,
                    double[::1] out_dev, i32[::1] out_freq, i32[:, ::1] freq_buf, double[:, ::1] sum_buf,
                    int n_threads):
    """Rows [row_start, row_stop) of the CSR store; freq_buf / sum_buf: (n_threads, n_items) zeros,
    left zeroed. A row with many entries is collected by a scan of the buffer, a short one by
    sorting the list of its entries (kept in out_indices while the row is walked)."""
    cdef i64 n = freq_buf.shape[1], x, p, q, c, j, k, lo, hi, t
    cdef double xv
    cdef i32* f
    cdef double* s
    if row_stop <= row_start:
        return
    with nogil:
        for x in prange(row_start, row_stop, schedule="dynamic", chunksize=4, num_threads=n_threads):
            t = threadid()
            f = &freq_buf[t, 0]
            s = &sum_buf[t, 0]
            lo = out_indptr[x]
            hi = out_indptr[x + 1]
            k = lo
            for p in range(indptr[x], indptr[x + 1]):
                c = indices[p]
                xv = data[p]
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    j = t_indices[q]
                    if f[j] == 0 and k < hi:
                        out_indices[k] = <i32>j
                        k = k + 1
                    f[j] += 1
                    s[j] += xv - t_data[q]
            if (hi - lo) * 16 > n:
                k = lo
                for j in range(n):
                    if f[j] > 0 and k < hi:
                        out_indices[k] = <i32>j
                        k = k + 1
            else:
                qsort(&out_indices[lo], hi - lo, sizeof(i32), _cmp_i32)
            for k in range(lo, hi):
                j = out_indices[k]
                out_freq[k] = f[j]
                out_dev[k] = 0.0 if j == x else s[j] / f[j]
                f[j] = 0
                s[j] = 0.0


def slopeone_predict_dense(const i32[::1] users, const i32[::1] items, const i64[::1] u_indptr,
                           const i32[::1] u_indices, const double[::1] user_mean, const double[:, ::1] dev,
                           const i32[:, ::1] freq, double global_mean, double[::1] est, u8[::1] impossible,
                           int n_threads):
    cdef i64 n = users.shape[0], p, q, u, i, j, cnt
    cdef double total
    with nogil:
        for p in prange(n, schedule="static", num_threads=n_threads):
            u = users[p]
            i = items[p]
            if u < 0 or i < 0:
                est[p] = global_mean
                impossible[p] = 1
                continue
            total = 0.0
            cnt = 0
            for q in range(u_indptr[u], u_indptr[u + 1]):
                j = u_indices[q]
                if freq[i, j] > 0:
                    total = total + dev[i, j]
                    cnt = cnt + 1
            est[p] = user_mean[u] + total / cnt if cnt > 0 else user_mean[u]
            impossible[p] = 0


def slopeone_predict_sparse(const i32[::1] users, const i32[::1] items, const i64[::1] u_indptr,
                            const i32[::1] u_indices, const double[::1] user_mean, const i64[::1] s_indptr,
                            const i32[::1] s_indices, const double[::1] s_dev, double global_mean,
                            double[::1] est, u8[::1] impossible, int n_threads):
    cdef i64 n = users.shape[0], p, q, u, i, j, cnt, lo, hi, mid
    cdef double total
    with nogil:
        for p in prange(n, schedule="static", num_threads=n_threads):
            u = users[p]
            i = items[p]
            if u < 0 or i < 0:
                est[p] = global_mean
                impossible[p] = 1
                continue
            total = 0.0
            cnt = 0
            for q in range(u_indptr[u], u_indptr[u + 1]):
                j = u_indices[q]
                lo = s_indptr[i]
                hi = s_indptr[i + 1]
                while lo < hi:  # first stored index >= j
                    mid = (lo + hi) // 2
                    if s_indices[mid] < j:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo < s_indptr[i + 1] and s_indices[lo] == j:
                    total = total + s_dev[lo]
                    cnt = cnt + 1
            est[p] = user_mean[u] + total / cnt if cnt > 0 else user_mean[u]
            impossible[p] = 0
