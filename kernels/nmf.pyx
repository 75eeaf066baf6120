# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -ffp-contract=off
"""NMF epoch (scikit-surprise's multiplicative updates); see reckernels/backends/reference/nmf.py
for the definition. This file computes the same numbers, bit for bit, in parallel:

- every estimate of an epoch uses the previous epoch's factors, so the users' pass runs on
  parallel threads over users and the items' pass on parallel threads over items (the by-item
  view: each item's ratings in CSR order, i.e. users in increasing inner order, which is the
  order scikit-surprise adds them in), with no atomics;
- ``biased=False`` (the default): each pass computes the estimates it needs itself, as the dot
  product of the rows it loads for its sums anyway, so no estimate is stored and the items'
  pass reads only the view in sequence and the users' rows (in cache);
- ``biased=True``: b_u and b_i change after every rating and the next rating's estimate reads
  them, so that part (a scalar step per rating) runs serially in scikit-surprise's order and
  stores the estimates in both orders; the O(k) work per rating (dot products, numerators,
  denominators) stays parallel;
- each user's multiplicative step is taken at the end of its sums, into scratch space (the
  items' pass still reads the old factors), and copied over once the items are done; each
  item takes its step right after its sums.

Each sum runs in scikit-surprise's order (dot products left to right over f, numerators and
denominators rating by rating), and ``-ffp-contract=off`` keeps a native build from fusing
a*b + c, so the factors agree with scikit-surprise's bit for bit. Only the epoch's loss (a
reduction over threads) depends on the thread count, in its last bits.

Bounds checks are off: reckernels.backends.cython.nmf checks the shapes, and the Dataset (or
the estimator's by-item view) guarantees every index is in range.
"""

from cython.parallel cimport prange
from libc.string cimport memcpy

ctypedef long long i64
ctypedef int i32

cdef extern from *:
    """
    #include "rk_simd.h"  /* RK_CLONES: AVX2 and baseline clones, picked at load time */
    typedef long long rk_i64;

    /* est[p] = q_{idx[p]} . pu for p in [lo, hi). Four ratings share one pass over f: four
       independent sums in flight instead of one chain, each still left to right over f. */
    RK_CLONES static void rk_nmf_dots(rk_i64 lo, rk_i64 hi, const int* idx, const double* qi,
                                      const double* pu, int k, double* est) {
        rk_i64 p = lo;
        for (; p + 4 <= hi; p += 4) {
            const double *a = qi + (rk_i64)idx[p] * k, *b = qi + (rk_i64)idx[p + 1] * k;
            const double *c = qi + (rk_i64)idx[p + 2] * k, *d = qi + (rk_i64)idx[p + 3] * k;
            double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
            for (int f = 0; f < k; f++) {
                double x = pu[f];
                s0 += a[f] * x; s1 += b[f] * x; s2 += c[f] * x; s3 += d[f] * x;
            }
            est[p] = s0; est[p + 1] = s1; est[p + 2] = s2; est[p + 3] = s3;
        }
        for (; p < hi; p++) {
            const double *a = qi + (rk_i64)idx[p] * k;
            double s = 0.0;
            for (int f = 0; f < k; f++) s += a[f] * pu[f];
            est[p] = s;
        }
    }

    /* The sums of one user (or item) against its rows, in rating order: num = sum_j x_j r_j,
       den = sum_j x_j e_j over q in [lo, hi), with x_j = X[rows[q]] and r_j = r[q]. e_j is
       est[q], or (est == NULL) the dot product c . x_j computed here, left to right over f,
       from the row x_j that the sums load anyway: the unbiased epoch needs no estimates in
       memory, and the items' pass reads nothing at random but rows. Returns sum_j (r_j - e_j)^2.
       Four ratings per pass: four dot products in flight instead of one chain, and num, den in
       registers; one accumulator per f, so vectorising over f keeps every sum's order. */
    RK_CLONES static double rk_nmf_sums(rk_i64 lo, rk_i64 hi, const int* restrict rows, const double* restrict r,
                                        const double* restrict est, const double* restrict X,
                                        const double* restrict c, int k,
                                        double* restrict num, double* restrict den) {
        double loss = 0.0;
        for (int f = 0; f < k; f++) { num[f] = 0.0; den[f] = 0.0; }
        rk_i64 q = lo;
        for (; q + 4 <= hi; q += 4) {
            const double *restrict x0 = X + (rk_i64)rows[q] * k, *restrict x1 = X + (rk_i64)rows[q + 1] * k;
            const double *restrict x2 = X + (rk_i64)rows[q + 2] * k, *restrict x3 = X + (rk_i64)rows[q + 3] * k;
            double r0 = r[q], r1 = r[q + 1], r2 = r[q + 2], r3 = r[q + 3];
            double e0, e1, e2, e3;
            if (est) {
                e0 = est[q]; e1 = est[q + 1]; e2 = est[q + 2]; e3 = est[q + 3];
            } else {
                e0 = 0.0; e1 = 0.0; e2 = 0.0; e3 = 0.0;
                for (int f = 0; f < k; f++) {
                    double y = c[f];
                    e0 += x0[f] * y; e1 += x1[f] * y; e2 += x2[f] * y; e3 += x3[f] * y;
                }
            }
            double d0 = r0 - e0, d1 = r1 - e1, d2 = r2 - e2, d3 = r3 - e3;
            loss += d0 * d0; loss += d1 * d1; loss += d2 * d2; loss += d3 * d3;
            #pragma omp simd
            for (int f = 0; f < k; f++) {
                double n = num[f], d = den[f];
                n += x0[f] * r0; d += x0[f] * e0;
                n += x1[f] * r1; d += x1[f] * e1;
                n += x2[f] * r2; d += x2[f] * e2;
                n += x3[f] * r3; d += x3[f] * e3;
                num[f] = n; den[f] = d;
            }
        }
        for (; q < hi; q++) {
            const double *restrict x = X + (rk_i64)rows[q] * k;
            double rr = r[q], e = 0.0;
            if (est) e = est[q];
            else for (int f = 0; f < k; f++) e += x[f] * c[f];
            loss += (rr - e) * (rr - e);
            #pragma omp simd
            for (int f = 0; f < k; f++) { num[f] += x[f] * rr; den[f] += x[f] * e; }
        }
        return loss;
    }

    /* x <- x num / (den + n reg x), skipped where x == 0 or that denominator is 0 */
    static inline void rk_nmf_mul(double* restrict x, const double* restrict num, const double* restrict den,
                                  int n, double n_reg) {
        for (int f = 0; f < n; f++) {
            if (x[f] != 0.0) {
                double d = den[f] + n_reg * x[f];
                if (d != 0.0) x[f] *= num[f] / d;
            }
        }
    }
    /* The biases' SGD steps over all ratings, serially in scikit-surprise's order (est holds the
       dot products on entry, the full estimates on return; est_t[slot[p]] gets them too, in the
       items' order, for the items' pass: stores off this loop's critical path). b_u stays in a
       register across its user's ratings: scikit-surprise's operations in its order, without
       reloading b_u after every store to bi. Returns the sum of squared errors. */
    static double rk_nmf_biases(rk_i64 n_users, const rk_i64* indptr, const int* idx, const double* data,
                                double mu, double* bu, double* bi, double lr_bu, double lr_bi,
                                double reg_bu, double reg_bi, double* est, const rk_i64* slot,
                                double* est_t) {
        double loss = 0.0;
        for (rk_i64 u = 0; u < n_users; u++) {
            double b = bu[u];
            for (rk_i64 p = indptr[u]; p < indptr[u + 1]; p++) {
                int i = idx[p];
                double e = mu + b + bi[i] + est[p];
                double err = data[p] - e;
                est[p] = e;
                est_t[slot[p]] = e;
                loss += err * err;
                b += lr_bu * (err - reg_bu * b);
                bi[i] += lr_bi * (err - reg_bi * bi[i]);
            }
            bu[u] = b;
        }
        return loss;
    }
    /* num <- the stepped x (x num / (den + n reg x), or x where that step is skipped), element by
       element, so num may be overwritten: the users' new factors wait there while the items'
       pass still reads the old ones */
    static inline void rk_nmf_step_into(double* num, const double* restrict x, const double* restrict den,
                                        int n, double n_reg) {
        for (int f = 0; f < n; f++) {
            double v = x[f];
            if (v != 0.0) {
                double d = den[f] + n_reg * v;
                if (d != 0.0) v *= num[f] / d;
            }
            num[f] = v;
        }
    }
    """
    void rk_nmf_dots(i64 lo, i64 hi, const i32* idx, const double* qi, const double* pu, int k,
                     double* est) noexcept nogil
    double rk_nmf_sums(i64 lo, i64 hi, const i32* rows, const double* r, const double* est, const double* X,
                       const double* c, int k, double* num, double* den) noexcept nogil
    void rk_nmf_mul(double* x, const double* num, const double* den, int n, double n_reg) noexcept nogil
    double rk_nmf_biases(i64 n_users, const i64* indptr, const i32* idx, const double* data, double mu,
                         double* bu, double* bi, double lr_bu, double lr_bi, double reg_bu, double reg_bi,
                         double* est, const i64* slot, double* est_t) noexcept nogil
    void rk_nmf_step_into(double* num, const double* x, const double* den, int n, double n_reg) noexcept nogil


def nmf_epoch(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
              const i64[::1] t_indptr, const i32[::1] t_users, const double[::1] t_data, const i64[::1] t_slot,
              double global_mean, double[::1] bu, double[::1] bi, double[:, ::1] pu, double[:, ::1] qi,
              const double[::1] lr, const double[::1] reg, bint biased,
              double[::1] est, double[::1] est_t, double[:, ::1] user_num, double[:, ::1] user_den,
              double[:, ::1] item_num, double[:, ::1] item_den, int n_threads):
    """One NMF epoch; ``est``, ``est_t`` (nnz, read only when biased) and the (n, k) num/den
    arrays are scratch space."""
    cdef Py_ssize_t n_users = pu.shape[0], n_items = qi.shape[0], u, i
    cdef int k = pu.shape[1]
    cdef double loss = 0.0, sq = 0.0
    cdef double mu = global_mean if biased else 0.0
    cdef double reg_pu = reg[2], reg_qi = reg[3]
    if n_threads < 1:
        n_threads = 1
    if n_users == 0 or n_items == 0 or indices.shape[0] == 0:
        return _empty_epoch(indptr, t_indptr, pu, qi, reg_pu, reg_qi)
    cdef const i32* idx = &indices[0]
    cdef const i32* t_u = &t_users[0]
    cdef const double* r_ = &data[0]
    cdef const double* t_r = &t_data[0]
    cdef double* est_ = &est[0]
    cdef double* est_t_ = &est_t[0]
    cdef const double* e_u = est_ if biased else NULL  # NULL: the sums compute the estimates
    cdef const double* e_i = est_t_ if biased else NULL
    with nogil:
        if biased:
            # the dot products from the previous epoch's factors (parallel), then the biases'
            # SGD steps: serial, in scikit-surprise's order (each is read by the next estimate)
            for u in prange(n_users, num_threads=n_threads, schedule="guided"):
                rk_nmf_dots(indptr[u], indptr[u + 1], idx, &qi[0, 0], &pu[u, 0], k, est_)
            loss = rk_nmf_biases(n_users, &indptr[0], idx, r_, mu, &bu[0], &bi[0], lr[0], lr[1], reg[0], reg[1],
                                 est_, &t_slot[0], est_t_)
        # users: sums over the old item factors; each user's step goes into scratch space
        # (user_num), since the items' pass still reads the old user factors
        for u in prange(n_users, num_threads=n_threads, schedule="guided"):
            sq += rk_nmf_sums(indptr[u], indptr[u + 1], idx, r_, e_u, &qi[0, 0], &pu[u, 0], k,
                              &user_num[u, 0], &user_den[u, 0])
            rk_nmf_step_into(&user_num[u, 0], &pu[u, 0], &user_den[u, 0], k,
                             <double>(indptr[u + 1] - indptr[u]) * reg_pu)
        if not biased:  # the errors of the estimates the users' sums computed (biased: the biases' loop's)
            loss = sq
        # items: sums over the old user factors, then the multiplicative step (only item i
        # reads q_i, in its own sums, before the step)
        for i in prange(n_items, num_threads=n_threads, schedule="guided"):
            rk_nmf_sums(t_indptr[i], t_indptr[i + 1], t_u, t_r, e_i, &pu[0, 0], &qi[i, 0], k,
                        &item_num[i, 0], &item_den[i, 0])
            rk_nmf_mul(&qi[i, 0], &item_num[i, 0], &item_den[i, 0], k,
                       <double>(t_indptr[i + 1] - t_indptr[i]) * reg_qi)
        # the users' new factors (computed in their pass, kept in user_num) replace the old ones
        memcpy(&pu[0, 0], &user_num[0, 0], n_users * k * sizeof(double))
    return loss


def _empty_epoch(const i64[::1] indptr, const i64[::1] t_indptr, double[:, ::1] pu, double[:, ::1] qi,
                 double reg_pu, double reg_qi):
    """No ratings (or no users, or no items): all sums are 0; only a 0 / (0 + 0) could arise,
    which is skipped, so nothing changes. Kept apart so the kernel may take &array[0]."""
    return 0.0
