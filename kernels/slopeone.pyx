# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Slope One deviations and supports, sparse times sparse, and its prediction (scikit-surprise 1.1.5).

The semantics are documented in reckernels/backends/reference/slopeone.py. Item rows run in
parallel (OpenMP, dynamic schedule: popular items cost far more). Each row walks its raters in
ascending user order and, for each, that user's items, adding 1 and r_ui - r_uj into a row
buffer: the dense kernel adds straight into its own output rows (zeroed first, by the thread), the
sparse kernel into a per-thread buffer whose touched entries it lists and, sorted, writes to the
CSR store at the offsets the count kernel gave. Sums run in the reference's order, so the
results are bit-identical to it. Bounds checks are off: reckernels.backends.cython.slopeone
checks shapes; ids come from a Dataset or IdMap.to_inner (-1 = unknown, handled here).
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport qsort
from libc.string cimport memset

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


def slopeone_dense(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                   const i64[::1] t_indptr, const i32[::1] t_indices, const double[::1] t_data,
                   i64 row_start, i64 row_stop, double[:, ::1] dev, i32[:, ::1] freq, int n_threads):
    """Rows [row_start, row_stop) of dev and freq (overwritten; each thread zeroes its rows)."""
    cdef i64 n = dev.shape[1], x, j
    cdef double* d
    cdef i32* f
    if row_stop <= row_start:
        return
    with nogil:
        for x in prange(row_start, row_stop, schedule="dynamic", chunksize=4, num_threads=n_threads):
            d = &dev[x, 0]
            f = &freq[x, 0]
            memset(d, 0, n * sizeof(double))
            memset(f, 0, n * sizeof(i32))
            _walk(x, &indptr[0], &indices[0], &data[0], &t_indptr[0], &t_indices[0], &t_data[0], f, d)
            for j in range(n):
                if f[j] > 0:
                    d[j] = d[j] / f[j]
            d[x] = 0.0


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
