# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Negative sampling for implicit feedback: n_negatives unrated items per positive, in parallel.

Same algorithm and random numbers as reckernels.backends.reference.sampling (read that
module's docstring): a draw is a rank among the user's unrated items, mapped to an item id
by binary search in the user's sorted row, so there is no rejection loop and a user who
rated everything gets -1. Users run in parallel (OpenMP); each user's stream is keyed by
(seed, epoch, user), so the output is the same for any thread count.

Bounds checks are off: the Python entry point in reckernels.backends.cython.sampling checks
lengths, ranges and that every row is strictly increasing.
"""

from cython.parallel cimport prange

ctypedef long long i64
ctypedef int i32
ctypedef unsigned long long u64

cdef u64 GAMMA = 0x9E3779B97F4A7C15ULL


cdef inline u64 _mix64(u64 z) noexcept nogil:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline u64 _user_key(u64 seed, u64 epoch, u64 user) noexcept nogil:
    cdef u64 key = _mix64(seed + GAMMA)
    key = _mix64(key ^ ((epoch + 1) * GAMMA))
    return _mix64(key ^ ((user + 1) * GAMMA))


cdef inline i64 _kth_missing(const i32[::1] indices, i64 lo, i64 hi, i64 r) noexcept nogil:
    # row = indices[lo:hi]; count the k with row[k] - k <= r (that expression never decreases)
    cdef i64 a = 0, b = hi - lo, mid
    while a < b:
        mid = (a + b) // 2
        if indices[lo + mid] - mid <= r:
            a = mid + 1
        else:
            b = mid
    return r + a


def sample_negatives(const i64[::1] indptr, const i32[::1] indices, i64 n_items, i64 n_negatives,
                     u64 seed, u64 epoch, i32[::1] out, int n_threads):
    """Fill out[p * n_negatives + j] with the j-th negative of the positive at CSR position p."""
    cdef Py_ssize_t u
    cdef i64 lo, hi, k, n_free
    cdef u64 key
    for u in prange(indptr.shape[0] - 1, nogil=True, schedule="guided", num_threads=n_threads):
        lo = indptr[u]
        hi = indptr[u + 1]
        n_free = n_items - (hi - lo)
        key = _user_key(seed, epoch, <u64>u)
        for k in range((hi - lo) * n_negatives):
            if n_free <= 0:
                out[lo * n_negatives + k] = -1
            else:
                out[lo * n_negatives + k] = <i32>_kth_missing(
                    indices, lo, hi, <i64>(_mix64(key + (<u64>(k + 1)) * GAMMA) % <u64>n_free))
