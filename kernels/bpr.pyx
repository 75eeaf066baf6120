# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""BPR epochs (implicit 0.7.3's update), Hogwild over OpenMP threads.

Same samples, update and order as reckernels.backends.reference.bpr (read its docstring): the
samples are cut into n_threads contiguous chunks, one per thread, each updating the shared
factors without locks. Draws are counter based (splitmix64 at position k of the epoch's
stream), so they do not depend on the thread making them, nor on how the epoch is cut into
calls (bpr_steps: every updater advances through its chunk a range of steps per call, so
Ctrl-C is answered between calls); one thread is the serial order.

Bounds checks are off: the Python entry point in reckernels.backends.cython.bpr checks shapes,
dtypes and index ranges.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp

ctypedef long long i64
ctypedef int i32
ctypedef unsigned long long u64

cdef u64 GAMMA = 0x9E3779B97F4A7C15ULL


cdef inline u64 _mix64(u64 z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline u64 _stream_key(u64 seed, u64 epoch, u64 stream) noexcept nogil:
    cdef u64 key = _mix64(seed + GAMMA)
    key = _mix64(key ^ ((epoch + 1) * GAMMA))
    return _mix64(key ^ ((stream + 1) * GAMMA))


cdef inline bint _liked(const i32[::1] indices, i64 lo, i64 hi, i32 item) noexcept nogil:
    cdef i64 end = hi, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == item


cdef extern from "rk_simd.h" nogil:
    void RK_PREFETCH_W(const void* addr)


cdef inline i64 _draw(u64 key, i64 k, i64 nnz) noexcept nogil:
    # draw k of the stream: splitmix64's high 32 bits scaled to [0, nnz) (see reference._counter_rng)
    return <i64>(((_mix64(key + (<u64>(k + 1)) * GAMMA) >> 32) * <u64>nnz) >> 32)


cdef inline void _prefetch_row(const void* row, Py_ssize_t nbytes) noexcept nogil:
    cdef Py_ssize_t off
    for off in range(0, nbytes, 64):
        RK_PREFETCH_W(<const char*>row + off)


cdef void _chunk(const i64[::1] indptr, const i32[::1] indices, const i32* rows, floating[:, ::1] X,
                 floating[:, ::1] Y, floating lr, floating reg, bint verify, u64 key, i64 start, i64 stop,
                 i64* n_correct, i64* n_skipped) noexcept nogil:
    """Samples start .. stop - 1, in order.

    The rows a sample touches are random, so the loop is bound by memory latency. The draws are
    a function of the sample number, so they are known ahead: sample s + 4's positions are drawn
    (into a ring) and their CSR entries prefetched, and sample s + 1's factor rows prefetched,
    while sample s is computed. Prefetches change no result.
    """
    cdef i64 nnz = indices.shape[0], s, li, di, q
    cdef Py_ssize_t F = X.shape[1] - 1, f, row_bytes = X.shape[1] * sizeof(floating)
    cdef i32 u, i, j
    cdef floating score, z, t
    cdef floating* x
    cdef floating* yi
    cdef floating* yj
    cdef i64 correct = 0, skipped = 0
    cdef i64 ring[16]  # (liked, disliked) positions of samples s .. s + 4, slot 2 (k % 8)
    for q in range(start, start + 4):
        ring[2 * (q & 7)] = _draw(key, 2 * q, nnz)
        ring[2 * (q & 7) + 1] = _draw(key, 2 * q + 1, nnz)
    for s in range(start, stop):
        q = s + 4
        ring[2 * (q & 7)] = _draw(key, 2 * q, nnz)
        ring[2 * (q & 7) + 1] = _draw(key, 2 * q + 1, nnz)
        RK_PREFETCH_W(&rows[ring[2 * (q & 7)]])
        RK_PREFETCH_W(&indices[ring[2 * (q & 7)]])
        RK_PREFETCH_W(&indices[ring[2 * (q & 7) + 1]])
        q = s + 1
        if q < stop:
            _prefetch_row(&X[rows[ring[2 * (q & 7)]], 0], row_bytes)
            _prefetch_row(&Y[indices[ring[2 * (q & 7)]], 0], row_bytes)
            _prefetch_row(&Y[indices[ring[2 * (q & 7) + 1]], 0], row_bytes)
        li = ring[2 * (s & 7)]
        di = ring[2 * (s & 7) + 1]
        u = rows[li]
        i = indices[li]
        j = indices[di]
        if verify and _liked(indices, indptr[u], indptr[u + 1], j):
            skipped += 1
            continue
        x = &X[u, 0]
        yi = &Y[i, 0]
        yj = &Y[j, 0]
        score = 0
        for f in range(F + 1):
            score = score + x[f] * (yi[f] - yj[f])
        z = <floating>(1.0 / (1.0 + exp(<double>score)))
        if z < 0.5:
            correct += 1
        for f in range(F):
            t = x[f]
            x[f] += lr * (z * (yi[f] - yj[f]) - reg * x[f])
            yi[f] += lr * (z * t - reg * yi[f])
            yj[f] += lr * (-z * t - reg * yj[f])
        yi[F] += lr * (z - reg * yi[F])
        yj[F] += lr * (-z - reg * yj[F])
    n_correct[0] += correct
    n_skipped[0] += skipped


def bpr_rows(const i64[::1] indptr, i32[::1] rows, int n_threads):
    """rows[p] = the row (user) holding CSR position p: a sample's user, looked up once per epoch."""
    cdef Py_ssize_t r
    cdef i64 p
    for r in prange(indptr.shape[0] - 1, nogil=True, schedule="static", num_threads=max(1, n_threads)):
        for p in range(indptr[r], indptr[r + 1]):
            rows[p] = <i32>r


def bpr_steps(const i64[::1] indptr, const i32[::1] indices, const i32[::1] rows, floating[:, ::1] X,
              floating[:, ::1] Y, floating lr, floating reg, bint verify, u64 seed, u64 epoch, int n_threads,
              i64 step_lo, i64 step_hi, i64[::1] counts):
    """Steps step_lo .. step_hi - 1 of an epoch of len(indices) samples on n_threads Hogwild updaters:
    updater t runs the samples [c_t + step_lo, c_t + step_hi) of its chunk [c_t = t nnz // T,
    (t + 1) nnz // T). Calls on consecutive step ranges run every updater's chunk in its order, the
    same samples on the same updaters as one call over all steps (one updater: the same bits).
    counts[2 t], counts[2 t + 1] accumulate updater t's (correct, skipped)."""
    cdef i64 nnz = indices.shape[0], lo, hi
    cdef u64 key = _stream_key(seed, epoch, 0)
    cdef Py_ssize_t t, T = max(1, min(n_threads, nnz))
    if nnz == 0 or step_lo >= step_hi:
        return
    for t in prange(T, nogil=True, schedule="static", chunksize=1, num_threads=T):
        lo = t * nnz // T + step_lo
        hi = min((t + 1) * nnz // T, t * nnz // T + step_hi)
        if lo < hi:
            _chunk(indptr, indices, &rows[0], X, Y, lr, reg, verify, key, lo, hi, &counts[2 * t], &counts[2 * t + 1])
