# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Baseline (global mean + user bias + item bias) estimation, as scikit-surprise computes it.

One call is one epoch. The ALS epoch solves every item bias, then every user bias; each
bias depends only on the other side, so rows run in parallel (OpenMP) and each row's sum is
taken left to right in the data's order, which keeps the result bit-identical to the serial
loop. The SGD epoch is inherently sequential (each update sees the previous one).

Bounds checks are off: the Python entry points in reckernels.backends.cython check lengths and
the Dataset guarantees every index is in range.
"""

from cython.parallel cimport prange

ctypedef long long i64
ctypedef int i32


cdef void _als_half(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
                    double global_mean, double reg, const double[::1] other,
                    double[::1] out, int n_threads) noexcept nogil:
    cdef Py_ssize_t row, p
    cdef double dev
    for row in prange(out.shape[0], nogil=True, schedule="guided", num_threads=n_threads):
        dev = 0.0
        for p in range(indptr[row], indptr[row + 1]):
            dev = dev + (data[p] - global_mean - other[indices[p]])
        out[row] = dev / (reg + (indptr[row + 1] - indptr[row]))


def baseline_als_epoch(const i64[::1] u_indptr, const i32[::1] u_indices, const double[::1] u_data,
                       const i64[::1] i_indptr, const i32[::1] i_indices, const double[::1] i_data,
                       double global_mean, double reg_u, double reg_i,
                       double[::1] bu, double[::1] bi, int n_threads):
    """One ALS epoch in place: item biases from user biases, then user biases from item biases."""
    with nogil:
        _als_half(i_indptr, i_indices, i_data, global_mean, reg_i, bu, bi, n_threads)
        _als_half(u_indptr, u_indices, u_data, global_mean, reg_u, bi, bu, n_threads)


def baseline_sgd_epoch(const i64[::1] u_indptr, const i32[::1] u_indices, const double[::1] u_data,
                       double global_mean, double reg, double lr, double[::1] bu, double[::1] bi):
    """One SGD epoch in place over users in inner order, each user's ratings in data order."""
    cdef Py_ssize_t u, p
    cdef i32 i
    cdef double err
    with nogil:
        for u in range(bu.shape[0]):
            for p in range(u_indptr[u], u_indptr[u + 1]):
                i = u_indices[p]
                err = u_data[p] - (global_mean + bu[u] + bi[i])
                bu[u] += lr * (err - reg * bu[u])
                bi[i] += lr * (err - reg * bi[i])
