# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""ALS half-sweeps for explicit (biased, weighted-lambda) and implicit (confidence-weighted) data.

The systems and their semantics are those of reckernels.backends.reference.als (read its
docstring): per row, A x = b with A = base + lam * I + sum_j w_j y_j y_j^T and b = sum_j t_j y_j,
where base is the shared Gram matrix Y^T Y for implicit data (0 for explicit), y_j = Y[j] for
implicit data and (Y[j], 1) for explicit data (the unknown then carries the bias), and w_j, t_j
come from the rating. The Gram matrix is never rebuilt per row: only the row's nonzeros add
their corrections, which is what makes implicit ALS linear in the number of ratings.

Rows run in parallel (OpenMP prange, guided schedule); each thread allocates its scratch once
(one d x d matrix and five d-vectors) for the whole half-sweep. The small dense algebra goes
through scipy's BLAS/LAPACK (cython_blas / cython_lapack), as benfred/implicit does: the
CG step is symv plus one dot and one axpy per nonzero, the exact solve is syr per nonzero,
then potrf/potrs. BLAS sees column-major storage; every matrix here is symmetric, so only the
triangle that BLAS calls "U" is built and read.

Bounds checks are off: the Python entry points in reckernels.backends.cython check shapes
and dtypes, and the Dataset (or the validated CSR) guarantees every index is in range.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport daxpy, ddot, dsymv, dsyr, saxpy, sdot, ssymv, ssyr
from scipy.linalg.cython_lapack cimport dpotrf, dpotrs, spotrf, spotrs

ctypedef long long i64
ctypedef int i32

# CG stops once r.r falls below this (the value benfred/implicit uses)
cdef double CG_EPS = 1e-20


cdef inline floating _dot(int n, floating* x, floating* y) noexcept nogil:
    cdef int one = 1
    if floating is float:
        return sdot(&n, x, &one, y, &one)
    else:
        return ddot(&n, x, &one, y, &one)


cdef inline void _axpy(int n, floating a, floating* x, floating* y) noexcept nogil:
    """y += a * x"""
    cdef int one = 1
    if floating is float:
        saxpy(&n, &a, x, &one, y, &one)
    else:
        daxpy(&n, &a, x, &one, y, &one)


cdef inline void _symv(int n, floating a, floating* A, floating* x, floating* y) noexcept nogil:
    """y = a * A x (A symmetric, its "U" triangle read)"""
    cdef int one = 1
    cdef char uplo = b"U"
    cdef floating zero = 0
    if floating is float:
        ssymv(&uplo, &n, &a, A, &n, x, &one, &zero, y, &one)
    else:
        dsymv(&uplo, &n, &a, A, &n, x, &one, &zero, y, &one)


cdef inline void _syr(int n, floating a, floating* x, floating* A) noexcept nogil:
    """A += a * x x^T on the "U" triangle"""
    cdef int one = 1
    cdef char uplo = b"U"
    if floating is float:
        ssyr(&uplo, &n, &a, x, &one, A, &n)
    else:
        dsyr(&uplo, &n, &a, x, &one, A, &n)


cdef inline int _cholesky_solve(int n, floating* A, floating* b) noexcept nogil:
    """Factor A (in place) and overwrite b with the solution; nonzero if A is not positive definite."""
    cdef int info = 0, one = 1
    cdef char uplo = b"U"
    if floating is float:
        spotrf(&uplo, &n, A, &n, &info)
        if info == 0:
            spotrs(&uplo, &n, &one, A, &n, b, &n, &info)
    else:
        dpotrf(&uplo, &n, A, &n, &info)
        if info == 0:
            dpotrs(&uplo, &n, &one, A, &n, b, &n, &info)
    return info


cdef inline floating* _feature(const floating* Y, int k, i32 j, bint implicit, floating* buf) noexcept nogil:
    """Column j's feature vector: Y[j] itself (implicit), or (Y[j], 1) copied into buf (explicit)."""
    if implicit:
        return <floating*> (Y + <i64> j * k)
    memcpy(buf, Y + <i64> j * k, k * sizeof(floating))
    buf[k] = 1
    return buf


cdef void _matvec(i64 lo, i64 hi, const i32* indices, const double* data, const floating* Y,
                  const floating* base, floating lam, bint implicit, floating alpha, int k, int d,
                  floating* v, floating* out, floating* buf) noexcept nogil:
    """out = A v without forming A."""
    cdef i64 q
    cdef floating* y
    cdef floating s
    if implicit:
        _symv(d, 1, <floating*> base, v, out)
    else:
        memset(out, 0, d * sizeof(floating))
    _axpy(d, lam, v, out)
    for q in range(lo, hi):
        y = _feature(Y, k, indices[q], implicit, buf)
        s = _dot(d, y, v)
        if implicit:
            s = s * <floating> (alpha * data[q])
        _axpy(d, s, y, out)


cdef int _solve_row(i64 lo, i64 hi, const i32* indices, const double* data, const floating* Y,
                    const floating* other_bias, const floating* base, floating lam, bint implicit,
                    floating alpha, floating mu, int k, int d, bint cholesky, int cg_steps,
                    floating* x, floating* A, floating* r, floating* p, floating* Ap, floating* buf) noexcept nogil:
    """Solve one row's system into x (which holds the warm start); nonzero if Cholesky failed."""
    cdef i64 q
    cdef int a, it
    cdef floating* y
    cdef floating w, t, step, rs_old, rs_new
    if cholesky:
        if implicit:
            memcpy(A, base, d * d * sizeof(floating))
        else:
            memset(A, 0, d * d * sizeof(floating))
        for a in range(d):
            A[a * d + a] += lam
        memset(x, 0, d * sizeof(floating))
        for q in range(lo, hi):
            y = _feature(Y, k, indices[q], implicit, buf)
            if implicit:
                w = <floating> (alpha * data[q])
                t = 1 + w
            else:
                w = 1
                t = <floating> (data[q] - mu - other_bias[indices[q]])
            _syr(d, w, y, A)
            _axpy(d, t, y, x)
        return _cholesky_solve(d, A, x)

    # CG (Takacs et al. 2011): r = b - A x in one pass over the nonzeros, then cg_steps steps
    if implicit:
        _symv(d, -1, <floating*> base, x, r)
    else:
        memset(r, 0, d * sizeof(floating))
    _axpy(d, -lam, x, r)
    for q in range(lo, hi):
        y = _feature(Y, k, indices[q], implicit, buf)
        if implicit:
            w = <floating> (alpha * data[q])
            t = 1 + w
        else:
            w = 1
            t = <floating> (data[q] - mu - other_bias[indices[q]])
        _axpy(d, t - w * _dot(d, y, x), y, r)
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


def als_half(const i64[::1] indptr, const i32[::1] indices, const double[::1] data,
             const floating[:, ::1] Y, const floating[::1] other_bias, const floating[:, ::1] base,
             double reg, bint implicit, double alpha, double mu,
             floating[:, ::1] X, floating[::1] x_bias, bint cholesky, int cg_steps, int n_threads):
    """One half-sweep in place over the rows of X; returns the number of rows whose Cholesky failed.

    implicit: base is Y^T Y (d x d, d = k), lam = reg, x_bias and other_bias are unused.
    explicit: base is unused, lam = reg * n_row, d = k + 1 and the last unknown is x_bias[row].
    Rows without ratings get zeros. Raises MemoryError if a thread's scratch cannot be allocated.
    """
    cdef Py_ssize_t n_rows = X.shape[0]
    cdef int k = X.shape[1]
    cdef int d = k if implicit else k + 1
    cdef Py_ssize_t row
    cdef i64 lo, hi
    cdef int a, failed = 0, out_of_memory = 0
    cdef int* oom = &out_of_memory  # written through a pointer: names assigned in parallel() are private
    cdef floating lam
    cdef floating* scratch = NULL
    cdef floating* x = NULL
    cdef const floating* base_ptr = &base[0, 0]
    cdef const floating* bias_ptr = &other_bias[0]
    if n_rows == 0:
        return 0
    with nogil, parallel(num_threads=n_threads):
        scratch = <floating*> malloc((d * d + 6 * d) * sizeof(floating))
        if scratch == NULL:
            oom[0] = 1
        else:
            x = scratch + d * d
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
                              <floating> alpha, <floating> mu, k, d, cholesky, cg_steps,
                              x, scratch, x + d, x + 2 * d, x + 3 * d, x + 4 * d) != 0:
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
