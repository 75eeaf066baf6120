# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Logistic MF half-epochs (implicit 0.7.3's AdaGrad update), rows in parallel over OpenMP.

Same draws, arithmetic and order as reckernels.backends.reference.lmf (read its docstring).
A row reads only the fixed other side and writes only its own factors and AdaGrad sums, so
the result does not depend on the thread count.

Bounds checks are off: the Python entry point in reckernels.backends.cython.lmf checks shapes,
dtypes and index ranges.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport exp, sqrt

ctypedef long long i64
ctypedef int i32
ctypedef unsigned long long u64

cdef u64 GAMMA = 0x9E3779B97F4A7C15ULL
cdef i64 AHEAD = 4  # rows prefetched ahead


cdef inline u64 _mix64(u64 z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline u64 _stream_key(u64 seed, u64 epoch, u64 stream) noexcept nogil:
    cdef u64 key = _mix64(seed + GAMMA)
    key = _mix64(key ^ ((epoch + 1) * GAMMA))
    return _mix64(key ^ ((stream + 1) * GAMMA))


cdef extern from "rk_simd.h" nogil:
    void RK_PREFETCH_W(const void* addr)


cdef inline i64 _draw(u64 key, i64 k, i64 nnz) noexcept nogil:
    # draw k of the stream: splitmix64's high 32 bits scaled to [0, nnz) (see reference._counter_rng)
    return <i64>(((_mix64(key + (<u64>(k + 1)) * GAMMA) >> 32) * <u64>nnz) >> 32)


cdef inline void _prefetch_row(const void* row, Py_ssize_t nbytes) noexcept nogil:
    cdef Py_ssize_t off
    for off in range(0, nbytes, 64):
        RK_PREFETCH_W(<const char*>row + off)


cdef inline double _sigmoid(double s) noexcept nogil:
    cdef double e
    if s >= 0:
        return 1.0 / (1.0 + exp(-s))
    e = exp(s)
    return e / (1.0 + e)


cdef inline floating _dot(const floating* a, const floating* b, Py_ssize_t n) noexcept nogil:
    # four lanes (column f in lane f mod 4), as the reference: independent chains, not one
    # addition waiting on the previous one
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t f, n4 = n - n % 4
    for f in range(0, n4, 4):
        s0 = s0 + a[f] * b[f]
        s1 = s1 + a[f + 1] * b[f + 1]
        s2 = s2 + a[f + 2] * b[f + 2]
        s3 = s3 + a[f + 3] * b[f + 3]
    if n4 < n:
        s0 = s0 + a[n4] * b[n4]
    if n4 + 1 < n:
        s1 = s1 + a[n4 + 1] * b[n4 + 1]
    if n4 + 2 < n:
        s2 = s2 + a[n4 + 2] * b[n4 + 2]
    return (s0 + s1) + (s2 + s3)


cdef void _row(Py_ssize_t r, const i64[::1] indptr, const i32[::1] indices, const floating[::1] data,
               floating[:, ::1] X, const floating[:, ::1] Y, floating[:, ::1] G, double lr, floating reg,
               i64 neg_prop, i64 max_negatives, Py_ssize_t fixed_col, u64 key, floating* d,
               double* sums) noexcept nogil:
    cdef Py_ssize_t K = X.shape[1], f, row_bytes = X.shape[1] * sizeof(floating)
    cdef i64 lo = indptr[r], hi = indptr[r + 1], p, k, n_neg, nnz = indices.shape[0]
    cdef floating* x = &X[r, 0]
    cdef floating* g = &G[r, 0]
    cdef const floating* y
    cdef floating w, z, step
    cdef double s, pos = 0, neg = 0
    for f in range(K):
        d[f] = 0
    # the other side's rows are read in random order: fetch the row needed AHEAD steps later
    for p in range(lo, hi):
        if p + AHEAD < hi:
            _prefetch_row(&Y[indices[p + AHEAD], 0], row_bytes)
        y = &Y[indices[p], 0]
        s = _sigmoid(<double>_dot(x, y, K))
        pos += s
        w = data[p] * (<floating>1 - <floating>s)
        for f in range(K):
            d[f] += w * y[f]
    n_neg = (hi - lo) * neg_prop
    if n_neg > max_negatives:
        n_neg = max_negatives
    for k in range(min(AHEAD, n_neg)):
        _prefetch_row(&Y[indices[_draw(key, k, nnz)], 0], row_bytes)
    for k in range(n_neg):
        if k + AHEAD < n_neg:
            _prefetch_row(&Y[indices[_draw(key, k + AHEAD, nnz)], 0], row_bytes)
        y = &Y[indices[_draw(key, k, nnz)], 0]
        z = <floating>_sigmoid(<double>_dot(x, y, K))
        neg += z
        for f in range(K):
            d[f] -= z * y[f]
    for f in range(K):
        if f == fixed_col:
            continue
        d[f] -= reg * x[f]
        g[f] += d[f] * d[f]
        step = <floating>(lr / sqrt(1e-6 + <double>g[f]))
        x[f] += step * d[f]
    sums[0] = pos
    sums[1] = neg


def lmf_half(const i64[::1] indptr, const i32[::1] indices, const floating[::1] data, floating[:, ::1] X,
             const floating[:, ::1] Y, floating[:, ::1] G, double lr, floating reg, i64 neg_prop,
             i64 max_negatives, Py_ssize_t fixed_col, u64 seed, u64 stream, floating[:, ::1] scratch,
             double[:, ::1] row_sums, Py_ssize_t row_start, Py_ssize_t row_stop):
    """Update rows row_start .. row_stop - 1 of X and G in place; row_sums[r] = (sum of sigma over r's
    positives, over its negatives). Rows are independent (each has its own draws), so the half is
    the same in one call or in calls on consecutive ranges.

    scratch is (n_threads, >= K): one gradient buffer per thread (its first K columns).
    """
    cdef Py_ssize_t r
    cdef int n_threads = scratch.shape[0]
    cdef u64 base = _mix64(_mix64(seed + GAMMA) ^ ((stream + 1) * GAMMA))
    for r in prange(row_start, row_stop, nogil=True, schedule="guided", num_threads=n_threads):
        if indptr[r] < indptr[r + 1]:
            _row(r, indptr, indices, data, X, Y, G, lr, reg, neg_prop, max_negatives, fixed_col,
                 _mix64(base ^ ((<u64>r + 1) * GAMMA)), &scratch[threadid(), 0], &row_sums[r, 0])
