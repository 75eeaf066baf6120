# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Co-clustering kernels (George and Merugu 2005 as scikit-surprise runs it) and NormalPredictor's
statistic. See reckernels.backends.reference.coclustering for the semantics.

- ``cocluster_averages``: users are split into one static block per thread; each thread counts
  and sums its block's ratings into its own slice of a scratch array, then the slices are added.
  Counts are exact; sums of ratings that are multiples of a power of two (integers, half stars)
  are exact in any order, so the averages equal the serial ones on such data.
- ``cocluster_assign_users`` / ``_items``: rows in parallel; for each candidate cluster the row's
  squared error is summed over its ratings in data order (as scikit-surprise loops: cluster
  outer, ratings inner), first minimum wins, so the result does not depend on the threads.
- ``cocluster_predict``: pairs in parallel.

Bounds checks are off: reckernels.backends.cython.coclustering checks the lengths, and the
cluster ids are < n_cltr by construction (the estimator draws them, these kernels keep them).
"""

from cython.parallel cimport prange
from libc.stdlib cimport calloc, free

cdef extern from "rk_exact_fp.h" nogil:
    double rk_libm_square(double x)

ctypedef long long i64
ctypedef int i32


def cocluster_averages(const i64[::1] u_indptr, const i32[::1] u_indices, const double[::1] u_data,
                       const i64[::1] cltr_u, const i64[::1] cltr_i, double global_mean,
                       double[::1] avg_u, double[::1] avg_i, double[:, ::1] avg_co, int n_threads):
    """Cluster and co-cluster mean ratings into avg_u, avg_i, avg_co (global_mean where empty)."""
    cdef Py_ssize_t nu = avg_co.shape[0], ni = avg_co.shape[1], n_users = u_indptr.shape[0] - 1
    cdef Py_ssize_t width = 2 * (nu + ni + nu * ni)  # counts then sums, per thread
    cdef Py_ssize_t t, u, p, k, lo, hi, cu, ci, block
    cdef double r, c
    cdef double* scratch
    cdef double* mine
    if n_threads < 1:
        n_threads = 1
    block = (n_users + n_threads - 1) // n_threads
    scratch = <double*> calloc(n_threads * width, sizeof(double))
    if scratch == NULL:
        raise MemoryError("cocluster_averages: no memory for the per-thread cluster sums")
    try:
        with nogil:
            for t in prange(n_threads, schedule="static", num_threads=n_threads):
                mine = scratch + t * width
                lo = t * block
                hi = min(n_users, lo + block)
                for u in range(lo, hi):
                    cu = cltr_u[u]
                    for p in range(u_indptr[u], u_indptr[u + 1]):
                        ci = cltr_i[u_indices[p]]
                        r = u_data[p]
                        # layout: [cnt_u | cnt_i | cnt_co | sum_u | sum_i | sum_co]
                        mine[cu] += 1.0
                        mine[nu + ci] += 1.0
                        mine[nu + ni + cu * ni + ci] += 1.0
                        mine[width // 2 + cu] += r
                        mine[width // 2 + nu + ci] += r
                        mine[width // 2 + nu + ni + cu * ni + ci] += r
            for t in range(1, n_threads):
                for k in range(width):
                    scratch[k] += scratch[t * width + k]
            for cu in range(nu):
                c = scratch[cu]
                avg_u[cu] = scratch[width // 2 + cu] / c if c > 0 else global_mean
            for ci in range(ni):
                c = scratch[nu + ci]
                avg_i[ci] = scratch[width // 2 + nu + ci] / c if c > 0 else global_mean
            for cu in range(nu):
                for ci in range(ni):
                    c = scratch[nu + ni + cu * ni + ci]
                    avg_co[cu, ci] = scratch[width // 2 + nu + ni + cu * ni + ci] / c if c > 0 else global_mean
    finally:
        free(scratch)


def cocluster_assign_users(const i64[::1] u_indptr, const i32[::1] u_indices, const double[::1] u_data,
                           const double[::1] user_mean, const double[::1] item_mean,
                           i64[::1] cltr_u, const i64[::1] cltr_i, const double[::1] avg_u,
                           const double[::1] avg_i, const double[:, ::1] avg_co, int n_threads):
    """Every user to its least-squared-error user cluster, in place; returns how many moved."""
    cdef Py_ssize_t n = u_indptr.shape[0] - 1, nu = avg_co.shape[0]
    cdef Py_ssize_t u, p, i, cu, ci, best
    cdef double err, best_err, est, d
    cdef i64 moved = 0
    with nogil:
        for u in prange(n, schedule="guided", num_threads=n_threads):
            best = 0
            best_err = 0.0
            for cu in range(nu):
                err = 0.0
                for p in range(u_indptr[u], u_indptr[u + 1]):
                    i = u_indices[p]
                    ci = cltr_i[i]
                    est = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]
                    d = u_data[p] - est
                    err = err + d * d
                if cu == 0 or err < best_err:
                    best = cu
                    best_err = err
            if cltr_u[u] != best:
                moved += 1
                cltr_u[u] = best
    return moved


def cocluster_assign_items(const i64[::1] i_indptr, const i32[::1] i_indices, const double[::1] i_data,
                           const double[::1] user_mean, const double[::1] item_mean,
                           const i64[::1] cltr_u, i64[::1] cltr_i, const double[::1] avg_u,
                           const double[::1] avg_i, const double[:, ::1] avg_co, int n_threads):
    """Every item (CSC by item) to its least-squared-error item cluster; returns how many moved."""
    cdef Py_ssize_t n = i_indptr.shape[0] - 1, ni = avg_co.shape[1]
    cdef Py_ssize_t i, p, u, cu, ci, best
    cdef double err, best_err, est, d
    cdef i64 moved = 0
    with nogil:
        for i in prange(n, schedule="guided", num_threads=n_threads):
            best = 0
            best_err = 0.0
            for ci in range(ni):
                err = 0.0
                for p in range(i_indptr[i], i_indptr[i + 1]):
                    u = i_indices[p]
                    cu = cltr_u[u]
                    est = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]
                    d = i_data[p] - est
                    err = err + d * d
                if ci == 0 or err < best_err:
                    best = ci
                    best_err = err
            if cltr_i[i] != best:
                moved += 1
                cltr_i[i] = best
    return moved


def cocluster_predict(const i32[::1] users, const i32[::1] items, const double[::1] user_mean,
                      const double[::1] item_mean, const i64[::1] cltr_u, const i64[::1] cltr_i,
                      const double[::1] avg_u, const double[::1] avg_i, const double[:, ::1] avg_co,
                      double global_mean, double[::1] out, int n_threads):
    """Estimates of inner-id pairs into ``out``; an unknown (-1) user or item gets global_mean."""
    cdef Py_ssize_t k
    cdef i32 u, i
    cdef i64 cu, ci
    with nogil:
        for k in prange(users.shape[0], schedule="static", num_threads=n_threads):
            u = users[k]
            i = items[k]
            if u < 0 or i < 0:
                out[k] = global_mean
            else:
                cu = cltr_u[u]
                ci = cltr_i[i]
                out[k] = avg_co[cu, ci] + user_mean[u] - avg_u[cu] + item_mean[i] - avg_i[ci]


def centered_sum_squares(const double[::1] data, double center):
    """sum((r - center) ** 2) left to right with the C library's pow (see rk_exact_fp.h)."""
    cdef Py_ssize_t p
    cdef double total = 0.0
    with nogil:
        for p in range(data.shape[0]):
            total = total + rk_libm_square(data[p] - center)
    return total
