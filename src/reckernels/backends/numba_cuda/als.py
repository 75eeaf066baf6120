"""ALS half-sweeps on the GPU: one thread block per row, the row's vectors in shared memory.

Same systems and semantics as reckernels.backends.reference.als (read its docstring). Each
block loops over rows ``blockIdx, blockIdx + gridDim, ...``. Per row:

- CG: x, r, p and A p live in shared memory. A matrix-vector product is two parallel passes:
  the threads first compute ``w_j (y_j . v)`` for the row's nonzeros (one nonzero per thread,
  written to a global buffer at the nonzero's own position, so rows never collide), then each
  thread sums one component ``(base v)_a + lam v_a + sum_j s_j y_ja``. Dot products of the
  short d-vectors are done by thread 0 after a barrier (d <= MAX_D, cheap next to the matvec).
- Cholesky: the block builds A in a per-block d x d slab of global memory (threads over the
  entries), factors it column by column (thread 0 takes the pivot, the threads share the
  column below it), and thread 0 solves the two triangular systems.

Everything is accumulated in float64; factors may be float32 or float64. Arrays are copied to
the device and back on every call (the kernels take host arrays, like every backend).
"""

import math

import numpy as np
from numba import cuda, float64

from .._checks import check_csr
from ..reference.als import CG_EPS
from ._device import simulated

#: largest system the shared-memory vectors hold (factors + 1 for explicit ALS)
MAX_D = 256
#: upper bound on concurrently resident blocks (each owns one d x d Cholesky slab)
MAX_BLOCKS = 1024
#: threads per block under the simulator: fewer than d, so the strided loops are exercised, and cheap
SIM_THREADS = 4


@cuda.jit(device=True)
def _feature(Y, j, a):
    if a < Y.shape[1]:
        return float64(Y[j, a])
    return 1.0


@cuda.jit(device=True)
def _weight_target(value, ob, implicit, alpha, mu):
    if implicit:
        return alpha * value, 1.0 + alpha * value
    return 1.0, value - mu - ob


@cuda.jit(device=True)
def _matvec(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, v, out, s_buf):
    """out = A v (shared vectors); all threads of the block call it."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for q in range(lo + tid, hi, nt):
        j = indices[q]
        ob = 0.0 if implicit else float64(other_bias[j])
        w, _ = _weight_target(data[q], ob, implicit, alpha, mu)
        s = 0.0
        for a in range(d):
            s += _feature(Y, j, a) * v[a]
        s_buf[q] = w * s
    cuda.syncthreads()
    for a in range(tid, d, nt):
        acc = lam * v[a]
        if implicit:
            for c in range(d):
                acc += base[a, c] * v[c]
        for q in range(lo, hi):
            acc += s_buf[q] * _feature(Y, indices[q], a)
        out[a] = acc
    cuda.syncthreads()


@cuda.jit(device=True)
def _rhs(lo, hi, indices, data, Y, other_bias, implicit, alpha, mu, d, b):
    tid = cuda.threadIdx.x
    for a in range(tid, d, cuda.blockDim.x):
        acc = 0.0
        for q in range(lo, hi):
            j = indices[q]
            ob = 0.0 if implicit else float64(other_bias[j])
            _, t = _weight_target(data[q], ob, implicit, alpha, mu)
            acc += t * _feature(Y, j, a)
        b[a] = acc
    cuda.syncthreads()


@cuda.jit(device=True)
def _block_dot(u, v, d, scalars, slot):
    """scalars[slot] = u . v, visible to the whole block on return."""
    if cuda.threadIdx.x == 0:
        acc = 0.0
        for a in range(d):
            acc += u[a] * v[a]
        scalars[slot] = acc
    cuda.syncthreads()
    return scalars[slot]


@cuda.jit(device=True)
def _cg(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, steps, x, r, p, Ap, s_buf,
        scalars):
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    _rhs(lo, hi, indices, data, Y, other_bias, implicit, alpha, mu, d, r)
    _matvec(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, x, Ap, s_buf)
    for a in range(tid, d, nt):
        r[a] -= Ap[a]
        p[a] = r[a]
    cuda.syncthreads()
    rs_old = _block_dot(r, r, d, scalars, 0)
    if rs_old < CG_EPS:
        return
    for _ in range(steps):
        _matvec(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, p, Ap, s_buf)
        step = rs_old / _block_dot(p, Ap, d, scalars, 1)
        for a in range(tid, d, nt):
            x[a] += step * p[a]
            r[a] -= step * Ap[a]
        cuda.syncthreads()
        rs_new = _block_dot(r, r, d, scalars, 2)
        if rs_new < CG_EPS:
            return
        for a in range(tid, d, nt):
            p[a] = r[a] + (rs_new / rs_old) * p[a]
        cuda.syncthreads()
        rs_old = rs_new


@cuda.jit(device=True)
def _cholesky(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, A, x, b, scalars):
    """Solve A x = b exactly into x; returns False (for every thread) if A is not positive definite."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for e in range(tid, d * d, nt):
        a = e // d
        c = e - a * d
        acc = base[a, c] if implicit else 0.0
        if a == c:
            acc += lam
        for q in range(lo, hi):
            j = indices[q]
            ob = 0.0 if implicit else float64(other_bias[j])
            w, _ = _weight_target(data[q], ob, implicit, alpha, mu)
            acc += w * _feature(Y, j, a) * _feature(Y, j, c)
        A[a, c] = acc
    _rhs(lo, hi, indices, data, Y, other_bias, implicit, alpha, mu, d, b)
    for c in range(d):  # left-looking: column c of L from the columns before it
        if tid == 0:
            s = A[c, c]
            for m in range(c):
                s -= A[c, m] * A[c, m]
            scalars[3] = math.sqrt(s) if s > 0.0 else -1.0
        cuda.syncthreads()
        pivot = scalars[3]
        if pivot < 0.0:
            return False
        for i in range(c + 1 + tid, d, nt):
            s = A[i, c]
            for m in range(c):
                s -= A[i, m] * A[c, m]
            A[i, c] = s / pivot
        if tid == 0:
            A[c, c] = pivot
        cuda.syncthreads()
    if tid == 0:
        for i in range(d):  # L z = b
            s = b[i]
            for m in range(i):
                s -= A[i, m] * x[m]
            x[i] = s / A[i, i]
        for i in range(d - 1, -1, -1):  # L^T x = z
            s = x[i]
            for m in range(i + 1, d):
                s -= A[m, i] * x[m]
            x[i] = s / A[i, i]
    cuda.syncthreads()
    return True


@cuda.jit
def _half(indptr, indices, data, Y, other_bias, base, reg, implicit, alpha, mu, X, x_bias,
          cholesky, cg_steps, slabs, s_buf, failed):
    x = cuda.shared.array(MAX_D, float64)
    r = cuda.shared.array(MAX_D, float64)
    p = cuda.shared.array(MAX_D, float64)
    Ap = cuda.shared.array(MAX_D, float64)
    scalars = cuda.shared.array(4, float64)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    n_rows, k = X.shape
    d = k if implicit else k + 1
    row = cuda.blockIdx.x
    while row < n_rows:
        lo = indptr[row]
        hi = indptr[row + 1]
        if hi == lo:
            for a in range(tid, k, nt):
                X[row, a] = 0.0
            if tid == 0 and not implicit:
                x_bias[row] = 0.0
        else:
            lam = reg if implicit else reg * (hi - lo)
            for a in range(tid, k, nt):
                x[a] = X[row, a]
            if tid == 0 and not implicit:
                x[k] = x_bias[row]
            cuda.syncthreads()
            ok = True
            if cholesky:
                ok = _cholesky(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d,
                               slabs[cuda.blockIdx.x], x, r, scalars)
            else:
                _cg(lo, hi, indices, data, Y, other_bias, base, lam, implicit, alpha, mu, d, cg_steps,
                    x, r, p, Ap, s_buf, scalars)
            if ok:
                for a in range(tid, k, nt):
                    X[row, a] = x[a]
                if tid == 0 and not implicit:
                    x_bias[row] = x[k]
            elif tid == 0:
                cuda.atomic.add(failed, 0, 1)
        cuda.syncthreads()  # the shared vectors are reused by the next row
        row += cuda.gridDim.x


@cuda.jit
def _gram(Y, out):
    """out = Y^T Y, one thread per entry."""
    e = cuda.grid(1)
    k = Y.shape[1]
    if e < k * k:
        a = e // k
        c = e - a * k
        acc = 0.0
        for j in range(Y.shape[0]):
            acc += float64(Y[j, a]) * float64(Y[j, c])
        out[a, c] = acc


def _run(indptr, indices, data, Y, other_bias, base, reg, implicit, alpha, mu, X, x_bias, solver, cg_steps):
    n_rows, k = X.shape
    d = k if implicit else k + 1
    if d > MAX_D:
        raise ValueError(f"backend='cuda' solves systems of at most {MAX_D} unknowns; got {d} "
                         f"(n_factors={k}). Use fewer factors or another backend.")
    if n_rows == 0:
        return 0
    threads = SIM_THREADS if simulated() else 128
    blocks = min(n_rows, MAX_BLOCKS)
    cholesky = solver == "cholesky"
    slabs = cuda.device_array((blocks, d, d) if cholesky else (1, 1, 1), dtype=np.float64)
    s_buf = cuda.device_array(max(1, len(indices)), dtype=np.float64)
    failed = cuda.to_device(np.zeros(1, dtype=np.int64))
    d_X, d_xb = cuda.to_device(X), cuda.to_device(x_bias)
    _half[blocks, threads](cuda.to_device(np.ascontiguousarray(indptr)), cuda.to_device(np.ascontiguousarray(indices)),
                           cuda.to_device(np.ascontiguousarray(data)), Y, other_bias, base, np.float64(reg),
                           implicit, np.float64(alpha), np.float64(mu), d_X, d_xb, cholesky, np.int64(cg_steps),
                           slabs, s_buf, failed)
    d_X.copy_to_host(X)
    d_xb.copy_to_host(x_bias)
    return int(failed.copy_to_host()[0])


def als_explicit_half(indptr, indices, data, global_mean, other_factors, other_bias, reg,
                      factors, bias, solver="cholesky", cg_steps=3, n_threads=1):
    """Every row's factors and bias from the other side's (in place); returns the failed-row count."""
    check_csr(indptr, indices, data, n_rows=len(factors))
    no_base = cuda.to_device(np.zeros((1, 1), dtype=np.float64))
    return _run(indptr, indices, data, cuda.to_device(other_factors), cuda.to_device(other_bias), no_base,
                reg, False, 0.0, global_mean, factors, bias, solver, cg_steps)


def als_implicit_half(indptr, indices, data, alpha, other_factors, reg,
                      factors, solver="cg", cg_steps=3, n_threads=1):
    """Every row's factors from the other side's, confidence 1 + alpha * data (in place)."""
    check_csr(indptr, indices, data, n_rows=len(factors))
    k = factors.shape[1]
    d_Y = cuda.to_device(other_factors)
    gram = cuda.device_array((k, k), dtype=np.float64)
    threads = SIM_THREADS if simulated() else 128
    _gram[max(1, (k * k + threads - 1) // threads), threads](d_Y, gram)
    no_bias = np.zeros(1, dtype=factors.dtype)
    return _run(indptr, indices, data, d_Y, cuda.to_device(no_bias), gram, reg, True, alpha, 0.0,
                factors, no_bias, solver, cg_steps)
