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
a*b + c, so the factors agree with scikit-surprise's bit for bit. The epoch's loss is kept per
user and summed afterwards (unbiased), or added rating by rating (biased), so it does not
depend on the thread count either.

Bounds checks are off: reckernels.backends.cython.nmf checks the shapes, and the Dataset (or
the estimator's by-item view) guarantees every index is in range.
"""

from cython.parallel cimport prange

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
       reloading b_u after every store to bi. Users lo .. hi - 1; returns loss plus their squared
       errors, added one by one (so consecutive ranges, each given the last one's result, add
       exactly what one range does). */
    static double rk_nmf_biases(rk_i64 lo, rk_i64 hi, const rk_i64* indptr, const int* idx, const double* data,
                                double mu, double* bu, double* bi, double lr_bu, double lr_bi,
                                double reg_bu, double reg_bi, double* est, const rk_i64* slot,
                                double* est_t, double loss) {
        for (rk_i64 u = lo; u < hi; u++) {
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
    double rk_nmf_biases(i64 lo, i64 hi, const i64* indptr, const i32* idx, const double* data, double mu,
                         double* bu, double* bi, double lr_bu, double lr_bi, double reg_bu, double reg_bi,
                         double* est, const i64* slot, double* est_t, double loss) noexcept nogil
    void rk_nmf_step_into(double* num, const double* x, const double* den, int n, double n_reg) noexcept nogil


# The epoch's passes, each over a range of rows [lo, hi) (reckernels.backends.cython.nmf calls them
# on consecutive ranges, so Ctrl-C is answered between calls): the rows of a parallel pass are
# independent and the biases' pass carries its running loss from one range to the next, so the
# epoch is the same bits however it is cut. The users' new factors wait in user_num until the
# items' pass is done; the caller then copies them over pu.

def nmf_dots(const i64[::1] indptr, const i32[::1] indices, const double[:, ::1] pu, const double[:, ::1] qi,
             double[::1] est, Py_ssize_t lo, Py_ssize_t hi, int n_threads):
    """biased: est[p] = q_i . p_u for the ratings of users lo .. hi - 1 (the previous epoch's factors)."""
    cdef Py_ssize_t u
    cdef int k = pu.shape[1]
    if lo >= hi or indices.shape[0] == 0:
        return
    for u in prange(lo, hi, nogil=True, num_threads=max(1, n_threads), schedule="guided"):
        rk_nmf_dots(indptr[u], indptr[u + 1], &indices[0], &qi[0, 0], &pu[u, 0], k, &est[0])


def nmf_biases(const i64[::1] indptr, const i32[::1] indices, const double[::1] data, const i64[::1] t_slot,
               double mu, double[::1] bu, double[::1] bi, const double[::1] lr, const double[::1] reg,
               double[::1] est, double[::1] est_t, Py_ssize_t lo, Py_ssize_t hi, double loss):
    """biased: the biases' SGD steps over the ratings of users lo .. hi - 1, serially in scikit-surprise's
    order (est: the dot products in, the estimates out, also into est_t by item); returns loss plus
    their squared errors."""
    if lo >= hi or indices.shape[0] == 0:
        return loss
    with nogil:
        loss = rk_nmf_biases(lo, hi, &indptr[0], &indices[0], &data[0], mu, &bu[0], &bi[0], lr[0], lr[1],
                             reg[0], reg[1], &est[0], &t_slot[0], &est_t[0], loss)
    return loss


def nmf_users(const i64[::1] indptr, const i32[::1] indices, const double[::1] data, const double[::1] est,
              const double[:, ::1] pu, const double[:, ::1] qi, double reg_pu, bint biased,
              double[:, ::1] user_num, double[:, ::1] user_den, double[::1] user_loss,
              Py_ssize_t lo, Py_ssize_t hi, int n_threads):
    """Users lo .. hi - 1: sums over the old item factors, each user's stepped factors into user_num
    (the items' pass still reads the old ones); unbiased, user_loss[u] = its squared errors (the
    sums compute the estimates; biased, they read est)."""
    cdef Py_ssize_t u
    cdef int k = pu.shape[1]
    cdef const double* e_u = &est[0] if biased else NULL  # NULL: the sums compute the estimates
    cdef double sq
    if lo >= hi or indices.shape[0] == 0:
        return
    for u in prange(lo, hi, nogil=True, num_threads=max(1, n_threads), schedule="guided"):
        sq = rk_nmf_sums(indptr[u], indptr[u + 1], &indices[0], &data[0], e_u, &qi[0, 0], &pu[u, 0], k,
                         &user_num[u, 0], &user_den[u, 0])
        user_loss[u] = sq
        rk_nmf_step_into(&user_num[u, 0], &pu[u, 0], &user_den[u, 0], k,
                         <double>(indptr[u + 1] - indptr[u]) * reg_pu)


def nmf_items(const i64[::1] t_indptr, const i32[::1] t_users, const double[::1] t_data, const double[::1] est_t,
              const double[:, ::1] pu, double[:, ::1] qi, double reg_qi, bint biased,
              double[:, ::1] item_num, double[:, ::1] item_den, Py_ssize_t lo, Py_ssize_t hi, int n_threads):
    """Items lo .. hi - 1: sums over the old user factors, then the multiplicative step (only item i
    reads q_i, in its own sums, before the step)."""
    cdef Py_ssize_t i
    cdef int k = qi.shape[1]
    cdef const double* e_i = &est_t[0] if biased else NULL
    if lo >= hi or t_users.shape[0] == 0:
        return
    for i in prange(lo, hi, nogil=True, num_threads=max(1, n_threads), schedule="guided"):
        rk_nmf_sums(t_indptr[i], t_indptr[i + 1], &t_users[0], &t_data[0], e_i, &pu[0, 0], &qi[i, 0], k,
                    &item_num[i, 0], &item_den[i, 0])
        rk_nmf_mul(&qi[i, 0], &item_num[i, 0], &item_den[i, 0], k, <double>(t_indptr[i + 1] - t_indptr[i]) * reg_qi)
