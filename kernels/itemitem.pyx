# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Item-item neighbourhood scores: each user's row times the sparse top-K item similarity.

Users in parallel (OpenMP, dynamic schedule: rows differ widely in length). A user's score row
is the dense accumulator: it belongs to one thread, so the products are added there directly
(no separate buffer to copy). For each item i of the user, in the user's stored order, every
kept neighbour j of i gets S[i, j] * w added, one rounded product per term, as implicit's
NearestNeighboursScorer does, so the float64 scores equal it and the reference to the bit.
itemitem_topk fuses the sum with implicit's top-k selection: a per-thread accumulator that only
the touched items use (linked newest first, cleared as they are read), so a user costs its
products and a k-heap, not a pass over the catalogue.
Bounds checks are off: reckernels.backends.cython.itemitem checks the shapes and user ids.
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

ctypedef long long i64
ctypedef int i32


cdef extern from *:
    """
    /* fp-contract=off: an out += s * w fused into one multiply-add would round once instead
       of twice and differ from the reference (and from implicit) in the last bit. */
    __attribute__((optimize("fp-contract=off")))
    static void rk_itemitem_row(const long long *indptr, const int *indices, const double *data,
            int u, const long long *s_indptr, const int *s_indices, const double *s_data,
            double *row) {
        for (long long p = indptr[u]; p < indptr[u + 1]; p++) {
            const int i = indices[p];
            const double w = data[p];
            for (long long q = s_indptr[i]; q < s_indptr[i + 1]; q++) {
                const double prod = s_data[q] * w;
                row[s_indices[q]] += prod;
            }
        }
    }
    """
    void rk_itemitem_row(const i64* indptr, const i32* indices, const double* data, i32 u,
                         const i64* s_indptr, const i32* s_indices, const double* s_data,
                         double* row) noexcept nogil


def itemitem_scores(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                    const i32[::1] users, const i64[::1] s_indptr, const i32[::1] s_indices,
                    const double[::1] s_data, double[:, ::1] out, int n_threads):
    """out[r] = row users[r] of the interactions times S (zeros for users[r] < 0)."""
    cdef Py_ssize_t n_rows = out.shape[0], n_items = out.shape[1], r
    cdef i32 u
    if n_rows == 0 or n_items == 0:
        return
    # a NULL pointer stands in for an empty array (&a[0] of a zero-length view is invalid)
    cdef const i32* ind = &indices[0] if indices.shape[0] else NULL
    cdef const double* dat = &data[0] if data.shape[0] else NULL
    cdef const i32* s_ind = &s_indices[0] if s_indices.shape[0] else NULL
    cdef const double* s_dat = &s_data[0] if s_data.shape[0] else NULL
    for r in prange(n_rows, nogil=True, schedule="dynamic", chunksize=8, num_threads=n_threads):
        u = users[r]
        memset(&out[r, 0], 0, n_items * sizeof(double))
        if u >= 0:
            rk_itemitem_row(&indptr[0], ind, dat, u, &s_indptr[0], s_ind, s_dat, &out[r, 0])


# Not _topk_heap.pxi's heap: implicit lists equal scores larger id first, the top-N kernels smaller
# id first, so the two heaps order ties the other way round (and these ids are i32, not i64).
cdef inline bint _pair_less(double a, i32 ia, double b, i32 ib) noexcept nogil:
    return a < b or (a == b and ia < ib)


cdef inline void _sift_down(double* hs, i32* hi, Py_ssize_t n, Py_ssize_t pos) noexcept nogil:
    # min-heap on (score, id): restore the order below pos
    cdef Py_ssize_t child
    cdef double s = hs[pos]
    cdef i32 j = hi[pos]
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n and _pair_less(hs[child + 1], hi[child + 1], hs[child], hi[child]):
            child += 1
        if not _pair_less(hs[child], hi[child], s, j):
            break
        hs[pos], hi[pos] = hs[child], hi[child]
        pos = child
    hs[pos], hi[pos] = s, j


cdef inline void _sift_up(double* hs, i32* hi, Py_ssize_t pos) noexcept nogil:
    cdef Py_ssize_t parent
    cdef double s = hs[pos]
    cdef i32 j = hi[pos]
    while pos > 0:
        parent = (pos - 1) // 2
        if not _pair_less(s, j, hs[parent], hi[parent]):
            break
        hs[pos], hi[pos] = hs[parent], hi[parent]
        pos = parent
    hs[pos], hi[pos] = s, j


cdef extern from *:
    """
    /* One user's sum, as rk_itemitem_row, into a dense accumulator that is zero outside the
       touched items; nxt links the touched items newest first (-1: not touched), as implicit's
       SparseMatrixMultiplier does. Returns the head of the list and sets *count. The sum and
       the link of an item sit side by side (one cache line access per product, not two). */
    typedef struct { double s; int nxt; int pad; } rk_acc;
    __attribute__((optimize("fp-contract=off")))
    static int rk_itemitem_touch(const long long *indptr, const int *indices, const double *data, int u,
            const long long *s_indptr, const int *s_indices, const double *s_data,
            rk_acc *acc, long long *count) {
        int head = -2;
        long long n = 0;
        for (long long p = indptr[u]; p < indptr[u + 1]; p++) {
            const int i = indices[p];
            const double w = data[p];
            for (long long q = s_indptr[i]; q < s_indptr[i + 1]; q++) {
                const int j = s_indices[q];
                const double prod = s_data[q] * w;
                acc[j].s += prod;
                if (acc[j].nxt == -1) {
                    acc[j].nxt = head;
                    head = j;
                    n++;
                }
            }
        }
        *count = n;
        return head;
    }
    """
    ctypedef struct rk_acc:
        double s
        i32 nxt
        i32 pad
    i32 rk_itemitem_touch(const i64* indptr, const i32* indices, const double* data, i32 u,
                          const i64* s_indptr, const i32* s_indices, const double* s_data,
                          rk_acc* acc, i64* count) noexcept nogil


cdef void _topk_user(const i64* indptr, const i32* indices, const double* data, i32 u, const i64* s_indptr,
                     const i32* s_indices, const double* s_data, bint filter_seen, rk_acc* acc,
                     double* hs, i32* hi, Py_ssize_t k, i64* length) noexcept nogil:
    """One user's top k into hs / hi (sorted: decreasing (score, id)); clears acc again."""
    cdef i64 count = 0, c, p
    cdef i32 head = rk_itemitem_touch(indptr, indices, data, u, s_indptr, s_indices, s_data, acc, &count)
    cdef i32 j
    cdef Py_ssize_t n = 0, a, b
    cdef double s
    if filter_seen:
        for p in range(indptr[u], indptr[u + 1]):
            acc[indices[p]].s = 0
    for c in range(count):
        j = head
        s = acc[j].s
        head = acc[j].nxt
        acc[j].s = 0
        acc[j].nxt = -1
        if n < k:
            hs[n], hi[n] = s, j
            n += 1
            _sift_up(hs, hi, n - 1)
        elif s > hs[0]:
            hs[0], hi[0] = s, j
            _sift_down(hs, hi, n, 0)
    # heap sort: the minimum goes to the end, leaving decreasing (score, id) in place
    b = n
    while b > 1:
        b -= 1
        s, j = hs[b], hi[b]
        hs[b], hi[b] = hs[0], hi[0]
        hs[0], hi[0] = s, j
        _sift_down(hs, hi, b, 0)
    length[0] = n


def itemitem_topk(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                  const i32[::1] users, const i64[::1] s_indptr, const i32[::1] s_indices,
                  const double[::1] s_data, bint filter_seen, i32[:, ::1] out_ids, double[:, ::1] out_scores,
                  i64[::1] out_len, int n_threads, Py_ssize_t n_cols):
    """Top k = out_ids.shape[1] per user, implicit's candidates and order (reference.itemitem_topk);
    n_cols: the accumulator's width (every s_indices value is below it)."""
    cdef Py_ssize_t n_rows = out_ids.shape[0], k = out_ids.shape[1], n_items = n_cols, r
    cdef Py_ssize_t t, T = max(1, min(n_threads, n_rows))
    cdef i32 u
    if n_rows == 0:
        return
    if k == 0 or n_items == 0:
        out_len[:] = 0
        return
    cdef const i32* ind = &indices[0] if indices.shape[0] else NULL
    cdef const double* dat = &data[0] if data.shape[0] else NULL
    cdef const i32* s_ind = &s_indices[0] if s_indices.shape[0] else NULL
    cdef const double* s_dat = &s_data[0] if s_data.shape[0] else NULL
    # one zeroed accumulator and list per thread; every user leaves them zeroed
    cdef rk_acc* acc = <rk_acc*> malloc(T * n_items * sizeof(rk_acc))
    if acc == NULL:
        raise MemoryError()
    for r in range(T * n_items):
        acc[r].s = 0
        acc[r].nxt = -1
    try:
        for r in prange(n_rows, nogil=True, schedule="dynamic", chunksize=1, num_threads=T):
            t = threadid()
            u = users[r]
            if u < 0:
                out_len[r] = 0
            else:
                _topk_user(&indptr[0], ind, dat, u, &s_indptr[0], s_ind, s_dat, filter_seen,
                           &acc[t * n_items], &out_scores[r, 0], &out_ids[r, 0], k,
                           &out_len[r])
    finally:
        free(acc)
