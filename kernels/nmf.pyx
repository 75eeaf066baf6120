# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -ffp-contract=off
"""NMF epoch (scikit-surprise's multiplicative updates); see reckernels/backends/reference/nmf.py
for the definition. This file computes the same numbers, bit for bit, in parallel:

- every estimate of an epoch uses the previous epoch's factors, so the dot products run on
  parallel threads over users; with ``biased=False`` (the default) each user's numerators and
  denominators are summed in the same pass;
- ``biased=True``: b_u and b_i change after every rating and the next rating's estimate reads
  them, so that part (a scalar step per rating) runs serially in scikit-surprise's order; the
  O(k) work per rating (dot products, numerators, denominators) stays parallel;
- each user's multiplicative step is taken at the end of its pass, into scratch space (the
  items' pass still reads the old factors), and copied over once the items are done;
- items run on parallel threads over the by-item view (each item's ratings in CSR order, i.e.
  users in increasing inner order, which is the order scikit-surprise adds them in), each
  taking its step right after its sums. So an unbiased epoch is two parallel loops.

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

    /* num = sum_j x_j r_j, den = sum_j x_j est_j over the entries q in [lo, hi), in that order:
       row x_j = X[rows[q]], rating and estimate at position pos[q] (pos == NULL: q itself).
       One accumulator per f, so vectorising over f keeps every sum's order; four entries per
       pass over f keep num and den in registers. */
    RK_CLONES static void rk_nmf_sums(rk_i64 lo, rk_i64 hi, const int* rows, const rk_i64* pos,
                                      const double* data, const double* est, const double* X, int k,
                                      double* restrict num, double* restrict den) {
        for (int f = 0; f < k; f++) { num[f] = 0.0; den[f] = 0.0; }
        rk_i64 q = lo;
        for (; q + 4 <= hi; q += 4) {
            const double *restrict x0 = X + (rk_i64)rows[q] * k, *restrict x1 = X + (rk_i64)rows[q + 1] * k;
            const double *restrict x2 = X + (rk_i64)rows[q + 2] * k, *restrict x3 = X + (rk_i64)rows[q + 3] * k;
            rk_i64 p0 = pos ? pos[q] : q, p1 = pos ? pos[q + 1] : q + 1;
            rk_i64 p2 = pos ? pos[q + 2] : q + 2, p3 = pos ? pos[q + 3] : q + 3;
            double r0 = data[p0], r1 = data[p1], r2 = data[p2], r3 = data[p3];
            double e0 = est[p0], e1 = est[p1], e2 = est[p2], e3 = est[p3];
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
            rk_i64 p = pos ? pos[q] : q;
            double r = data[p], e = est[p];
            #pragma omp simd
            for (int f = 0; f < k; f++) { num[f] += x[f] * r; den[f] += x[f] * e; }
        }
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
       dot products on entry, the full estimates on return). b_u stays in a register across its
       user's ratings: scikit-surprise's operations in its order, without reloading b_u after
       every store to bi. Returns the sum of squared errors. */
    static double rk_nmf_biases(rk_i64 n_users, const rk_i64* indptr, const int* idx, const double* data,
                                double mu, double* bu, double* bi, double lr_bu, double lr_bi,
                                double reg_bu, double reg_bi, double* est) {
        double loss = 0.0;
        for (rk_i64 u = 0; u < n_users; u++) {
            double b = bu[u];
            for (rk_i64 p = indptr[u]; p < indptr[u + 1]; p++) {
                int i = idx[p];
                double e = mu + b + bi[i] + est[p];
                double err = data[p] - e;
                est[p] = e;
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
    void rk_nmf_sums(i64 lo, i64 hi, const i32* rows, const i64* pos, const double* data, const double* est,
                     const double* X, int k, double* num, double* den) noexcept nogil
    void rk_nmf_mul(double* x, const double* num, const double* den, int n, double n_reg) noexcept nogil
    double rk_nmf_biases(i64 n_users, const i64* indptr, const i32* idx, const double* data, double mu,
                         double* bu, double* bi, double lr_bu, double lr_bi, double reg_bu, double reg_bi,
                         double* est) noexcept nogil
    void rk_nmf_step_into(double* num, const double* x, const double* den, int n, double n_reg) noexcept nogil


def nmf_epoch(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
              const i64[::1] t_indptr, const i64[::1] t_pos, const i32[::1] t_users, double global_mean,
              double[::1] bu, double[::1] bi, double[:, ::1] pu, double[:, ::1] qi,
              const double[::1] lr, const double[::1] reg, bint biased,
              double[::1] est, double[:, ::1] user_num, double[:, ::1] user_den,
              double[:, ::1] item_num, double[:, ::1] item_den, int n_threads):
    """One NMF epoch; ``est`` (nnz) and the (n, k) num/den arrays are scratch space."""
    cdef Py_ssize_t n_users = pu.shape[0], n_items = qi.shape[0], u, i, p, q
    cdef int k = pu.shape[1]
    cdef double e, err, r, loss = 0.0
    cdef double mu = global_mean if biased else 0.0
    cdef double reg_pu = reg[2], reg_qi = reg[3]
    if n_threads < 1:
        n_threads = 1
    if n_users == 0 or n_items == 0 or indices.shape[0] == 0:
        return _empty_epoch(indptr, t_indptr, pu, qi, reg_pu, reg_qi)
    cdef const i32* idx = &indices[0]
    cdef const i32* t_u = &t_users[0]
    cdef const i64* t_p = &t_pos[0]
    cdef const double* r_ = &data[0]
    cdef double* est_ = &est[0]
    with nogil:
        # the epoch's estimates from the previous epoch's factors: users on parallel threads
        for u in prange(n_users, num_threads=n_threads, schedule="guided"):
            rk_nmf_dots(indptr[u], indptr[u + 1], idx, &qi[0, 0], &pu[u, 0], k, est_)
            if not biased:  # est is final: the user's sums right away, while its rows are in cache
                rk_nmf_sums(indptr[u], indptr[u + 1], idx, NULL, r_, est_, &qi[0, 0], k,
                            &user_num[u, 0], &user_den[u, 0])
                rk_nmf_step_into(&user_num[u, 0], &pu[u, 0], &user_den[u, 0], k,
                                 <double>(indptr[u + 1] - indptr[u]) * reg_pu)
                for p in range(indptr[u], indptr[u + 1]):
                    err = r_[p] - est_[p]
                    loss += err * err
        if biased:
            # the biases' SGD steps: serial, in scikit-surprise's order (each is read by the next est)
            loss = rk_nmf_biases(n_users, &indptr[0], idx, r_, mu, &bu[0], &bi[0], lr[0], lr[1], reg[0], reg[1],
                                 est_)
            for u in prange(n_users, num_threads=n_threads, schedule="guided"):
                rk_nmf_sums(indptr[u], indptr[u + 1], idx, NULL, r_, est_, &qi[0, 0], k,
                            &user_num[u, 0], &user_den[u, 0])
                rk_nmf_step_into(&user_num[u, 0], &pu[u, 0], &user_den[u, 0], k,
                                 <double>(indptr[u + 1] - indptr[u]) * reg_pu)
        # items: sums over the old user factors, then the multiplicative step (qi is no longer read)
        for i in prange(n_items, num_threads=n_threads, schedule="guided"):
            rk_nmf_sums(t_indptr[i], t_indptr[i + 1], t_u, t_p, r_, est_, &pu[0, 0], k,
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
