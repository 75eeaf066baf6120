# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Item-item neighbourhood scores: each user's row times the sparse top-K item similarity.

Users in parallel (OpenMP, dynamic schedule: rows differ widely in length). A user's score row
is the dense accumulator: it belongs to one thread, so the products are added there directly
(no separate buffer to copy). For each item i of the user, in the user's stored order, every
kept neighbour j of i gets S[i, j] * w added, one rounded product per term, as implicit's
NearestNeighboursScorer does, so the float64 scores equal it and the reference to the bit.
Bounds checks are off: reckernels.backends.cython.itemitem checks the shapes and user ids.
"""

from cython.parallel cimport prange
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
