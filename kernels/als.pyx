# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""ALS half-sweeps for explicit (biased, weighted-lambda) and implicit (confidence-weighted) data.

The systems and their semantics are those of reckernels.backends.reference.als (read its
docstring): per row, A x = b with A = base + lam * I + sum_j w_j y_j y_j^T and b = sum_j t_j y_j,
where base is the shared Gram matrix Y^T Y for implicit data (0 for explicit), y_j = Y[j] for
implicit data and (Y[j], 1) for explicit data (the unknown then carries the bias), and w_j, t_j
come from the rating. The Gram matrix is never rebuilt per row: only the row's nonzeros add
their corrections, which is what makes implicit ALS linear in the number of ratings.

Rows run in parallel (OpenMP prange, guided schedule); each thread allocates its scratch once
(one d x ld matrix, five d-vectors and a 32 x ld gather block, ld = d rounded up to 8) for the
whole half-sweep. The CG step costs one Gram-vector product (d^2) plus one dot and one axpy per
nonzero; the exact solve adds w_j y_j y_j^T to the upper triangle of A, 32 nonzeros per
register-blocked rank update, then factors A = U^T U (right-looking, blocks of 8 rows whose
contribution to the rest is again one rank update) and solves the two triangular systems.

The small dense algebra is written here rather than called from BLAS: inside OpenMP threads a
multithreaded BLAS (OpenBLAS by default) spawns its own threads for every small call, which
measured 2x (CG) to 40x (Cholesky) slower here unless OPENBLAS_NUM_THREADS=1 is set. The
primitives (dot, axpy, the implicit CG pass over a row's nonzeros, the rank update and the
Cholesky solve) are C in kernels/rk_als_dense.h, compiled for AVX2/FMA and for baseline x86-64
with the right one chosen at load time (GCC target_clones on x86-64 Linux; plain loops
elsewhere).

Bounds checks are off: the Python entry points in reckernels.backends.cython check shapes
and dtypes, and the Dataset (or the validated CSR) guarantees every index is in range.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

ctypedef long long i64
ctypedef int i32

# CG stops once r.r falls below this (the value benfred/implicit uses)
cdef double CG_EPS = 1e-20
# rows of Y per cache block when the Gram matrix is accumulated
cdef enum:
    GRAM_BLOCK = 256
# nonzeros gathered per rank update of A in the exact solve
cdef enum:
    GATHER = 32

cdef extern from *:
    """
    #include <math.h>
    #include "rk_simd.h"  /* RK_CLONES, the vectors rk_u8sf / rk_u4df */
    #define RK_T float
    #define RK_V rk_u8sf
    #define RK_NAME(f) rk_s##f
    #include "rk_als_dense.h"
    #undef RK_T
    #undef RK_V
    #undef RK_NAME
    #define RK_T double
    #define RK_V rk_u4df
    #define RK_NAME(f) rk_d##f
    #include "rk_als_dense.h"
    """
    float rk_sdot(int n, const float* x, const float* y) noexcept nogil
    double rk_ddot(int n, const double* x, const double* y) noexcept nogil
    void rk_saxpy(int n, float a, const float* x, float* y) noexcept nogil
    void rk_daxpy(int n, double a, const double* x, double* y) noexcept nogil
    int rk_scholesky_solve(int d, int ld, float* A, const float* b, float* x) noexcept nogil
    int rk_dcholesky_solve(int d, int ld, double* A, const double* b, double* x) noexcept nogil
    void rk_srank_update(int a0, int d, int ld, int m, const float* B, float* A, float sign) noexcept nogil
    void rk_drank_update(int a0, int d, int ld, int m, const double* B, double* A, double sign) noexcept nogil
    void rk_simplicit_pass(i64 lo, i64 hi, const i32* indices, const double* data, const float* Y, int k,
                           double alpha, const float* v, float* out, int residual) noexcept nogil
    void rk_dimplicit_pass(i64 lo, i64 hi, const i32* indices, const double* data, const double* Y, int k,
                           double alpha, const double* v, double* out, int residual) noexcept nogil


cdef inline void _rank_update(int d, int ld, int m, const floating* B, floating* A) noexcept nogil:
    if floating is float:
        rk_srank_update(0, d, ld, m, B, A, 1)
    else:
        rk_drank_update(0, d, ld, m, B, A, 1)


cdef inline void _implicit_pass(i64 lo, i64 hi, const i32* indices, const double* data, const floating* Y,
                                int k, double alpha, const floating* v, floating* out, bint residual) noexcept nogil:
    if floating is float:
        rk_simplicit_pass(lo, hi, indices, data, Y, k, alpha, v, out, residual)
    else:
        rk_dimplicit_pass(lo, hi, indices, data, Y, k, alpha, v, out, residual)


cdef inline floating _dot(int n, const floating* x, const floating* y) noexcept nogil:
    if floating is float:
        return rk_sdot(n, x, y)
    else:
        return rk_ddot(n, x, y)


cdef inline void _axpy(int n, floating a, const floating* x, floating* y) noexcept nogil:
    """y += a * x"""
    if floating is float:
        rk_saxpy(n, a, x, y)
    else:
        rk_daxpy(n, a, x, y)


cdef inline void _gram_matvec(int d, floating scale, const floating* G, const floating* v, floating* out) noexcept nogil:
    """out = scale * G v for the full symmetric d x d matrix G."""
    cdef int a
    for a in range(d):
        out[a] = scale * _dot(d, G + a * d, v)


cdef inline int _cholesky_solve(int d, int ld, floating* A, const floating* b, floating* x) noexcept nogil:
    if floating is float:
        return rk_scholesky_solve(d, ld, A, b, x)
    else:
        return rk_dcholesky_solve(d, ld, A, b, x)


cdef inline floating* _explicit_feature(const floating* Y, int k, i32 j, floating* buf) noexcept nogil:
    """Column j's feature vector for explicit ALS, (Y[j], 1), copied into buf."""
    memcpy(buf, Y + <i64> j * k, k * sizeof(floating))
    buf[k] = 1
    return buf


cdef void _matvec(i64 lo, i64 hi, const i32* indices, const double* data, const floating* Y,
                  const floating* base, floating lam, bint implicit, floating alpha, int k, int d,
                  floating* v, floating* out, floating* buf) noexcept nogil:
    """out = A v without forming A."""
    cdef i64 q
    cdef floating* y
    if implicit:
        _gram_matvec(d, 1, base, v, out)
    else:
        memset(out, 0, d * sizeof(floating))
    _axpy(d, lam, v, out)
    if implicit:
        _implicit_pass(lo, hi, indices, data, Y, k, alpha, v, out, False)
        return
    for q in range(lo, hi):
        y = _explicit_feature(Y, k, indices[q], buf)
        _axpy(d, _dot(d, y, v), y, out)


cdef int _solve_row(i64 lo, i64 hi, const i32* indices, const double* data, const floating* Y,
                    const floating* other_bias, const floating* base, floating lam, bint implicit,
                    floating alpha, floating mu, int k, int d, int ld, bint cholesky, int cg_steps,
                    floating* x, floating* A, floating* r, floating* p, floating* Ap, floating* buf,
                    floating* gathered) noexcept nogil:
    """Solve one row's system into x (which holds the warm start); nonzero if Cholesky failed.

    The exact solve gathers sqrt(w_j) y_j of up to GATHER nonzeros into ``gathered`` (rows of
    stride ld, zero past d) and adds them to A (d rows of stride ld) in one rank update (the
    weights are >= 0: 1, or alpha * r with alpha, r >= 0).
    """
    cdef i64 q
    cdef int a, it, m = 0
    cdef floating* y
    cdef floating w, t, step, rs_old, rs_new
    if cholesky:  # A's upper triangle and b (in r), then the exact solve
        for a in range(d):
            if implicit:
                memcpy(A + a * ld, base + a * d, d * sizeof(floating))
            else:
                memset(A + a * ld, 0, d * sizeof(floating))
            A[a * ld + a] += lam
        memset(r, 0, d * sizeof(floating))
        for q in range(lo, hi):
            y = gathered + m * ld
            if implicit:
                w = <floating> (alpha * data[q])
                t = 1 + w
                memcpy(y, Y + <i64> indices[q] * k, k * sizeof(floating))
            else:
                w = 1
                t = <floating> (data[q] - mu - other_bias[indices[q]])
                _explicit_feature(Y, k, indices[q], y)
            _axpy(d, t, y, r)
            if w != 1:
                w = sqrt(w)
                for a in range(d):
                    y[a] *= w
            m += 1
            if m == GATHER:
                _rank_update(d, ld, m, gathered, A)
                m = 0
        if m:
            _rank_update(d, ld, m, gathered, A)
        return _cholesky_solve(d, ld, A, r, x)

    # CG (Takacs et al. 2011): r = b - A x in one pass over the nonzeros, then cg_steps steps
    if implicit:
        _gram_matvec(d, -1, base, x, r)
    else:
        memset(r, 0, d * sizeof(floating))
    _axpy(d, -lam, x, r)
    if implicit:
        _implicit_pass(lo, hi, indices, data, Y, k, alpha, x, r, True)
    else:
        for q in range(lo, hi):
            y = _explicit_feature(Y, k, indices[q], buf)
            _axpy(d, <floating> (data[q] - mu - other_bias[indices[q]]) - _dot(d, y, x), y, r)
    memcpy(p, r, d * sizeof(floating))
    rs_old = _dot(d, r, r)
    if rs_old < CG_EPS:
        return 0
    for it in range(cg_steps):
        _matvec(lo, hi, indices, data, Y, base, lam, implicit, alpha, k, d, p, Ap, buf)
        step = rs_old / _dot(d, p, Ap)
        _axpy(d, step, p, x)
        _axpy(d, -step, Ap, r)
        rs_new = _dot(d, r, r)
        if rs_new < CG_EPS:
            break
        for a in range(d):
            p[a] = r[a] + (rs_new / rs_old) * p[a]
        rs_old = rs_new
    return 0


cdef void _gram(const floating* Y, Py_ssize_t n, int k, floating* G) noexcept nogil:
    """G = Y^T Y (k x k, full), Y being n rows of k, one block of GRAM_BLOCK rows of Y at a time
    so the block stays in cache while every row of G's lower triangle takes its share.

    Serial on purpose: it is n k^2 / 2 multiply-adds, a few percent of a half-sweep, and
    parallel blocks would need a barrier each (costly when the cores are shared).
    """
    cdef Py_ssize_t start = 0, j, stop
    cdef int a, b
    memset(G, 0, k * k * sizeof(floating))
    while start < n:
        stop = min(start + GRAM_BLOCK, n)
        for a in range(k):
            for j in range(start, stop):
                _axpy(a + 1, Y[j * k + a], Y + j * k, G + a * k)
        start = stop
    for a in range(k):
        for b in range(a + 1, k):
            G[a * k + b] = G[b * k + a]


def als_gram(const floating[:, ::1] Y, floating[:, ::1] G):
    """G = Y^T Y (k x k), as als_half uses it: computed once per half-sweep, which the Python entry
    point runs as several calls on ranges of rows (so Ctrl-C is answered between them)."""
    if G.shape[0] != Y.shape[1] or G.shape[1] != Y.shape[1]:
        raise ValueError(f"G must be ({Y.shape[1]}, {Y.shape[1]}), got ({G.shape[0]}, {G.shape[1]}).")
    if Y.shape[1] > 0:
        _gram(&Y[0, 0], Y.shape[0], Y.shape[1], &G[0, 0])


def als_half(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
             const floating[:, ::1] Y, const floating[::1] other_bias,
             double reg, bint implicit, double alpha, double mu,
             floating[:, ::1] X, floating[::1] x_bias, bint cholesky, int cg_steps, int n_threads,
             const floating[:, ::1] gram):
    """One half-sweep in place over the rows of X; returns the number of rows whose Cholesky failed.

    implicit: A shares the Gram matrix Y^T Y (``gram``, from als_gram; d = k), lam = reg; x_bias
    and other_bias are unused. explicit: lam = reg * n_row, d = k + 1 and the last unknown is
    x_bias[row]; ``gram`` is unused. Rows without ratings get zeros. ``indptr`` may be a slice
    of a longer row pointer (row r's entries are indptr[r] .. indptr[r + 1]), X and x_bias the
    matching rows. Raises MemoryError if a thread's scratch cannot be allocated.
    """
    cdef Py_ssize_t n_rows = X.shape[0]
    cdef int k = X.shape[1]
    cdef int d = k if implicit else k + 1
    cdef int ld = (d + 7) // 8 * 8  # row stride of A and of the gathered rows: whole vectors
    cdef Py_ssize_t row
    cdef i64 lo, hi
    cdef int a, failed = 0, out_of_memory = 0
    cdef int* oom = &out_of_memory  # written through a pointer: names assigned in parallel() are private
    cdef floating lam
    cdef floating* scratch = NULL
    cdef floating* x = NULL
    cdef const floating* bias_ptr = &other_bias[0]
    cdef const floating* base_ptr = NULL
    if n_rows == 0:
        return 0
    if implicit:
        if gram.shape[0] != k or gram.shape[1] != k:
            raise ValueError(f"gram must be the ({k}, {k}) Gram matrix from als_gram.")
        base_ptr = &gram[0, 0]
    with nogil, parallel(num_threads=n_threads):
        # calloc: the padding of the gathered rows must be finite (it feeds A's unread columns)
        scratch = <floating*> calloc(d * ld + 5 * d + GATHER * ld, sizeof(floating))
        if scratch == NULL:
            oom[0] = 1
        else:
            x = scratch + d * ld
            for row in prange(n_rows, schedule="guided"):
                lo = indptr[row]
                hi = indptr[row + 1]
                if hi == lo:
                    memset(&X[row, 0], 0, k * sizeof(floating))
                    if not implicit:
                        x_bias[row] = 0
                    continue
                lam = <floating> (reg if implicit else reg * (hi - lo))
                memcpy(x, &X[row, 0], k * sizeof(floating))
                if not implicit:
                    x[k] = x_bias[row]
                if _solve_row(lo, hi, &indices[0], &data[0], &Y[0, 0], bias_ptr, base_ptr, lam, implicit,
                              <floating> alpha, <floating> mu, k, d, ld, cholesky, cg_steps,
                              x, scratch, x + d, x + 2 * d, x + 3 * d, x + 4 * d, x + 5 * d) != 0:
                    failed += 1
                    continue
                memcpy(&X[row, 0], x, k * sizeof(floating))
                if not implicit:
                    x_bias[row] = x[k]
            free(scratch)
    if out_of_memory:
        raise MemoryError(f"ALS could not allocate its per-thread scratch ({d} x {d} floats); "
                          "use fewer factors or threads.")
    return failed
