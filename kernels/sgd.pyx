# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -ffp-contract=off
"""SGD matrix factorisation (SVD, SVD++): serial epochs in scikit-surprise's order, and parallel
epochs (SVD: LIBMF-style grid, diagonal schedule; SVD++: Hogwild over users). See
reckernels/backends/reference/sgd.py for the definitions; this file computes the same things.

``lr``/``reg`` hold [bu, bi, pu, qi(, yj)]. Each epoch returns the sum of squared errors seen.
Serial kernels are float64 and sum each dot product left to right, so SVD's agrees bit for bit
with scikit-surprise. The parallel kernels (SVD: blocked grid; SVD++: Hogwild over users) take
float32 or float64, every floating array in the factors' dtype. SVD's cell kernel is C
(kernels/rk_sgd_cell.h): AVX-512, AVX2/FMA and baseline clones chosen at load time
(kernels/rk_simd.h), up to four independent updates in flight, item rows prefetched.

``-ffp-contract=off`` keeps a native build (RECKERNELS_NATIVE=1, with FMA) from fusing a*b + c
into one rounding in the serial kernels, which would break the bit-for-bit agreement with
scikit-surprise; the cell kernel turns contraction back on for itself.

Bounds checks are off: the Python entry points in reckernels.backends.cython check shapes and
the Dataset guarantees every index is in range.
"""

from cython.parallel cimport prange, threadid
from cython cimport floating
from libc.math cimport sqrt

import numpy as np

ctypedef long long i64
ctypedef int i32

cdef extern from *:
    """
    /* dot products: the serial kernels need scikit-surprise's left-to-right order; the blocked
       ones may reassociate, which lets the compiler use SIMD lanes */
    static inline double rk_dot_seq(const double* a, const double* b, int n) {
        double s = 0.0;
        for (int f = 0; f < n; f++) s += a[f] * b[f];
        return s;
    }
    /* p += lr_p*(err*q_old - reg_p*p_old); q += lr_q*(err*p_old - reg_q*q_old), element by element */
    static inline void rk_step_d(double* restrict p, double* restrict q, int n, double err,
                                 double lr_p, double reg_p, double lr_q, double reg_q) {
        #pragma omp simd
        for (int f = 0; f < n; f++) {
            double pf = p[f], qf = q[f];
            p[f] = pf + lr_p * (err * qf - reg_p * pf);
            q[f] = qf + lr_q * (err * pf - reg_q * qf);
        }
    }
    #include <math.h>
    #include "rk_simd.h"  /* RK_CLONES, RK_PREFETCH_W, the unaligned vectors */
    #define RK_T float
    #define RK_V rk_u8sf
    #define RK_NAME(f) rk_s##f
    #include "rk_sgd_cell.h"  /* rk_ssvd_cell */
    #undef RK_T
    #undef RK_V
    #undef RK_NAME
    #define RK_T double
    #define RK_V rk_u4df
    #define RK_NAME(f) rk_d##f
    #include "rk_sgd_cell.h"  /* rk_dsvd_cell */
    """
    double rk_dot_seq(const double* a, const double* b, int n) noexcept nogil
    void rk_step_d(double* p, double* q, int n, double err, double lr_p, double reg_p,
                   double lr_q, double reg_q) noexcept nogil
    double rk_ssvd_cell(i64 lo, i64 hi, const i32* users, const i32* items, const float* ratings, float mu,
                        float* bu, float* bi, float* pu, float* qi, int k, const float* lr, const float* reg,
                        int biased, double loss) noexcept nogil
    double rk_dsvd_cell(i64 lo, i64 hi, const i32* users, const i32* items, const double* ratings, double mu,
                        double* bu, double* bi, double* pu, double* qi, int k, const double* lr,
                        const double* reg, int biased, double loss) noexcept nogil
    double rk_ssvdpp_user(i64 lo, i64 hi, i64 u, const i32* indices, const float* data, float mu, float* bu,
                          float* bi, float* pu, float* qi, float* yj, int k, const float* lr, const float* reg,
                          float* z, float* shift, float* implicit) noexcept nogil
    double rk_dsvdpp_user(i64 lo, i64 hi, i64 u, const i32* indices, const double* data, double mu, double* bu,
                          double* bi, double* pu, double* qi, double* yj, int k, const double* lr,
                          const double* reg, double* z, double* shift, double* implicit) noexcept nogil


# ---------------------------------------------------------------------------------------- SVD
def svd_epoch(const i64[::1] indptr, const i32[::1] indices, const double[::1] data, double global_mean,
              double[::1] bu, double[::1] bi, double[:, ::1] pu, double[:, ::1] qi,
              const double[::1] lr, const double[::1] reg, bint biased):
    """One epoch of scikit-surprise's SVD in its order (users in inner order, CSR order within)."""
    cdef Py_ssize_t u, p
    cdef i32 i
    cdef int k = pu.shape[1]
    cdef double err, loss = 0.0
    with nogil:
        for u in range(bu.shape[0]):
            for p in range(indptr[u], indptr[u + 1]):
                i = indices[p]
                err = data[p] - (global_mean + bu[u] + bi[i] + rk_dot_seq(&qi[i, 0], &pu[u, 0], k))
                loss += err * err
                if biased:
                    bu[u] += lr[0] * (err - reg[0] * bu[u])
                    bi[i] += lr[1] * (err - reg[1] * bi[i])
                rk_step_d(&pu[u, 0], &qi[i, 0], k, err, lr[2], reg[2], lr[3], reg[3])
    return loss


cdef inline double _svd_cell(i64 lo, i64 hi, const i32[::1] users, const i32[::1] items,
                             const floating[::1] ratings, floating global_mean,
                             floating[::1] bu, floating[::1] bi, floating[:, ::1] pu, floating[:, ::1] qi,
                             const floating[::1] lr, const floating[::1] reg, bint biased,
                             double loss) noexcept nogil:
    if floating is double:
        return rk_dsvd_cell(lo, hi, &users[0], &items[0], &ratings[0], global_mean, &bu[0], &bi[0], &pu[0, 0],
                            &qi[0, 0], pu.shape[1], &lr[0], &reg[0], biased, loss)
    else:
        return rk_ssvd_cell(lo, hi, &users[0], &items[0], &ratings[0], global_mean, &bu[0], &bi[0], &pu[0, 0],
                            &qi[0, 0], pu.shape[1], &lr[0], &reg[0], biased, loss)


def svd_epoch_blocked(const i64[::1] block_ptr, const i32[::1] users, const i32[::1] items,
                      const floating[::1] ratings, floating global_mean,
                      floating[::1] bu, floating[::1] bi, floating[:, ::1] pu, floating[:, ::1] qi,
                      const floating[::1] lr, const floating[::1] reg, bint biased, int n_blocks,
                      int n_threads, i64 wave_lo, i64 wave_hi, i64 parts, double[::1] cell_loss):
    """Waves wave_lo .. wave_hi - 1 of an SVD epoch over the B x B grid (backends/reference/sgd.py:
    grid_waves): wave s * parts + j runs part j of step s's B cells on parallel threads, and the
    waves of one step that the call covers run as one part. ``cell_loss[c]`` (B * B entries) adds up
    cell c's squared errors, so an epoch run in any number of calls gives the bits of one call."""
    cdef i64 s, j0, j1, n, lo
    cdef Py_ssize_t r, c
    if wave_lo >= wave_hi:
        return
    with nogil:
        for s in range(wave_lo // parts, (wave_hi + parts - 1) // parts):
            j0 = max(wave_lo - s * parts, 0)
            j1 = min(wave_hi - s * parts, parts)
            for r in prange(n_blocks, schedule="dynamic", num_threads=n_threads):
                c = r * n_blocks + (r + s) % n_blocks
                lo = block_ptr[c]
                n = block_ptr[c + 1] - lo
                cell_loss[c] = _svd_cell(lo + n * j0 // parts, lo + n * j1 // parts, users, items, ratings,
                                         global_mean, bu, bi, pu, qi, lr, reg, biased, cell_loss[c])


# ---------------------------------------------------------------------------------------- SVD++
cdef double _svdpp_user(i64 lo, i64 hi, Py_ssize_t u, const i32[::1] indices, const floating[::1] data,
                        floating global_mean, floating[::1] bu, floating[::1] bi, floating[:, ::1] pu,
                        floating[:, ::1] qi, floating[:, ::1] yj, const floating[::1] lr, const floating[::1] reg,
                        floating* z, floating* shift, floating* implicit) noexcept nogil:
    """User u's ratings (positions lo..hi of the CSR) in scikit-surprise's SVD++ order, O(k) each.

    While u's ratings are processed, only u's updates touch its items' y_j, and each one maps
    y -> decay*y + b with the same b for all of them. So y_j = A*y0_j + B (one scalar A and one
    k-vector B for the user) and the implicit sum is A*z0 + sqrt|I_u|*B, where z0 is the sum
    at the user's first rating. The y_j are written once, after the user's last rating. This
    is the same update algebraically; the rounding differs from recomputing the sum (about
    1e-16 relative per step) and the cost drops from O(k |I_u|) to O(k) per rating.
    """
    cdef i64 p, q
    cdef i32 i, j
    cdef int f, k = pu.shape[1]
    cdef floating err, dot, s, scale, puf, qif
    cdef floating decay = 1 - lr[4] * reg[4]
    cdef double loss = 0.0
    if lo == hi:
        return 0.0
    s = <floating>sqrt(<double>(hi - lo))
    for f in range(k):
        z[f] = 0
        shift[f] = 0
    for q in range(lo, hi):
        j = indices[q]
        for f in range(k):
            z[f] += yj[j, f] / s
    scale = 1
    for p in range(lo, hi):
        i = indices[p]
        dot = 0
        for f in range(k):
            implicit[f] = scale * z[f] + s * shift[f]
            dot += qi[i, f] * (pu[u, f] + implicit[f])
        err = data[p] - (global_mean + bu[u] + bi[i] + dot)
        loss += <double>err * err
        bu[u] += lr[0] * (err - reg[0] * bu[u])
        bi[i] += lr[1] * (err - reg[1] * bi[i])
        for f in range(k):
            puf = pu[u, f]
            qif = qi[i, f]
            pu[u, f] += lr[2] * (err * qif - reg[2] * puf)
            qi[i, f] += lr[3] * (err * (puf + implicit[f]) - reg[3] * qif)
            shift[f] = decay * shift[f] + lr[4] * (err * qif / s)
        scale = decay * scale
    for q in range(lo, hi):
        j = indices[q]
        for f in range(k):
            yj[j, f] = scale * yj[j, f] + shift[f]
    return loss


def svdpp_epoch(const i64[::1] indptr, const i32[::1] indices, const double[::1] data, double global_mean,
                double[::1] bu, double[::1] bi, double[:, ::1] pu, double[:, ::1] qi, double[:, ::1] yj,
                const double[::1] lr, const double[::1] reg):
    """One epoch of scikit-surprise's SVD++ in its order (see _svdpp_user)."""
    cdef Py_ssize_t u
    cdef int k = pu.shape[1]
    cdef double loss = 0.0
    cdef double[::1] scratch = np.zeros(3 * k)
    with nogil:
        for u in range(bu.shape[0]):
            loss += _svdpp_user(indptr[u], indptr[u + 1], u, indices, data, global_mean, bu, bi, pu, qi, yj,
                                lr, reg, &scratch[0], &scratch[k], &scratch[2 * k])
    return loss


cdef inline double _svdpp_user_c(i64 lo, i64 hi, Py_ssize_t u, const i32[::1] indices, const floating[::1] data,
                                 floating global_mean, floating[::1] bu, floating[::1] bi, floating[:, ::1] pu,
                                 floating[:, ::1] qi, floating[:, ::1] yj, const floating[::1] lr,
                                 const floating[::1] reg, floating* scratch) noexcept nogil:
    """The clones' version of _svdpp_user (kernels/rk_sgd_cell.h) for the Hogwild epoch."""
    cdef int k = pu.shape[1]
    if floating is double:
        return rk_dsvdpp_user(lo, hi, u, &indices[0], &data[0], global_mean, &bu[0], &bi[0], &pu[0, 0], &qi[0, 0],
                              &yj[0, 0], k, &lr[0], &reg[0], scratch, scratch + k, scratch + 2 * k)
    else:
        return rk_ssvdpp_user(lo, hi, u, &indices[0], &data[0], global_mean, &bu[0], &bi[0], &pu[0, 0], &qi[0, 0],
                              &yj[0, 0], k, &lr[0], &reg[0], scratch, scratch + k, scratch + 2 * k)


def svdpp_epoch_hogwild(const i64[::1] indptr, const i32[::1] indices, const floating[::1] data,
                        floating global_mean, floating[::1] bu, floating[::1] bi, floating[:, ::1] pu,
                        floating[:, ::1] qi, floating[:, ::1] yj, const floating[::1] lr,
                        const floating[::1] reg, int n_threads):
    """SVD++ epoch with users on parallel threads and lock-free item updates (Hogwild)."""
    cdef Py_ssize_t u, t
    cdef int k = pu.shape[1]
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] scratch = np.zeros((max(n_threads, 1), 3 * k), dtype=dtype)
    cdef double[::1] user_loss = np.zeros(bu.shape[0])
    with nogil:
        for u in prange(bu.shape[0], schedule="dynamic", chunksize=16, num_threads=n_threads):
            t = threadid()
            if indptr[u] < indptr[u + 1]:
                user_loss[u] = _svdpp_user_c(indptr[u], indptr[u + 1], u, indices, data, global_mean, bu, bi, pu,
                                             qi, yj, lr, reg, &scratch[t, 0])
    return float(np.sum(user_loss))


# ---------------------------------------------------------------------------------- the SVD grid
def build_grid(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
               const i32[::1] user_block, const i32[::1] item_block, int n_blocks, int ways,
               i64[::1] block_ptr, i32[::1] users, i32[::1] items, floating[::1] ratings):
    """The blocked schedule's grid (algorithms/svd.py: build_grid) by a counting sort: one pass
    counts each cell's ratings, a second writes every rating where the stable sort by cell and the
    interleaving of the cell's ``ways`` parts (1: none) put it. block_ptr has n_blocks^2 + 1
    entries, users/items/ratings one per rating; user_block / item_block hold each row's block,
    all below n_blocks (checked by the caller).

    A cell of n ratings is cut into ``ways`` consecutive parts, the first n % ways of them one
    longer; the t-th rating of part j goes to t * ways + j (the inverse of algorithms/svd.py:
    interleaved_positions). Each cell keeps its current (part, t) and advances it by one rating at
    a time: no division per rating."""
    cdef Py_ssize_t n_users = indptr.shape[0] - 1, n_cells = <Py_ssize_t>n_blocks * n_blocks, u, c
    cdef i64 p, base, n
    # per cell: its count, then t; part j; part j's size; n % ways
    cdef i64[:, ::1] cell = np.zeros((n_cells, 4), dtype=np.int64)
    cdef i64 *state
    with nogil:
        for u in range(n_users):
            base = <i64>user_block[u] * n_blocks
            for p in range(indptr[u], indptr[u + 1]):
                cell[base + item_block[indices[p]], 0] += 1
        block_ptr[0] = 0
        for c in range(n_cells):
            n = cell[c, 0]
            block_ptr[c + 1] = block_ptr[c] + n
            cell[c, 0] = 0
            cell[c, 1] = 0
            cell[c, 2] = n // ways + (1 if n % ways > 0 else 0)  # part 0's size
            cell[c, 3] = n % ways  # parts below this one are one longer
        for u in range(n_users):
            base = <i64>user_block[u] * n_blocks
            for p in range(indptr[u], indptr[u + 1]):
                c = base + item_block[indices[p]]
                state = &cell[c, 0]
                n = block_ptr[c] + state[0] * ways + state[1]  # t, j
                users[n] = <i32>u
                items[n] = indices[p]
                ratings[n] = <floating>data[p]
                state[0] += 1
                if state[0] == state[2]:  # part j is full: part j + 1 starts at its first place
                    state[0] = 0
                    state[1] += 1
                    if state[1] == state[3]:
                        state[2] -= 1
