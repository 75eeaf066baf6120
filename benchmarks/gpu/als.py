"""ALS half-sweeps: CUDA vs Cython on a synthetic 1M-rating set (agreement and speed).

Checks, each on the same inputs for both backends:
- ImplicitALS half-sweep (users from items), CG 3 steps and Cholesky, float64 and float32,
  64 factors: the largest factor difference, then the time of 5 sweeps each;
- explicit ALS half-sweep (weighted-lambda with biases), Cholesky, float64, 64 factors;
- a whole ImplicitALS fit (15 epochs, float32) with backend="cuda" vs "cython".

The CUDA kernels take host arrays, so every timed call includes copying the CSR and factors
to the device and back (as a fit does).
"""

import time

import numpy as np

K = 64
#: synthetic data (users, items, ratings): the MovieLens 1M shape
SIZE = (6040, 3706, 1_000_000)


def _timed(fn, repeats):
    fn()  # warm-up: JIT compilation, device allocation
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def run(report):
    import reckernels as rk
    from reckernels.backends import get_backend

    data = rk.datasets.make_ratings(*SIZE, timestamps=False, random_state=0)
    u, it = data.csr, data.csc
    cy, cu = get_backend("cython"), get_backend("cuda")
    rng = np.random.default_rng(0)
    threads = 16

    for dtype in (np.float64, np.float32):
        Y = rng.normal(0, 0.1, (data.n_items, K)).astype(dtype)
        X0 = rng.normal(0, 0.1, (data.n_users, K)).astype(dtype)
        for solver in ("cg", "cholesky"):
            out = {}
            for name, module in (("cython", cy), ("cuda", cu)):
                X = X0.copy()
                module.als_implicit_half(u.indptr, u.indices, u.data, 1.0, Y, 0.01, X, solver, 3, threads)
                seconds = _timed(lambda: module.als_implicit_half(u.indptr, u.indices, u.data, 1.0, Y, 0.01,
                                                                  X0.copy(), solver, 3, threads), 5)
                out[name] = (X, seconds)
            diff = float(np.abs(out["cython"][0].astype(np.float64) - out["cuda"][0]).max())
            report("als", f"implicit half {solver} {np.dtype(dtype).name} k={K}", diff, out["cython"][1],
                   out["cuda"][1], f"{len(data):,} ratings, {data.n_users} rows")

    Q = rng.normal(0, 0.1, (data.n_items, K))
    bi = rng.normal(0, 0.1, data.n_items)
    out = {}
    for name, module in (("cython", cy), ("cuda", cu)):
        P, bu = rng.normal(0, 0.1, (data.n_users, K)), np.zeros(data.n_users)
        module.als_explicit_half(u.indptr, u.indices, u.data, data.global_mean, Q, bi, 0.1, P, bu, "cholesky", 3,
                                 threads)
        seconds = _timed(lambda: module.als_explicit_half(u.indptr, u.indices, u.data, data.global_mean, Q, bi, 0.1,
                                                          P.copy(), bu.copy(), "cholesky", 3, threads), 5)
        out[name] = (P, bu, seconds)
    diff = float(max(np.abs(out["cython"][0] - out["cuda"][0]).max(), np.abs(out["cython"][1] - out["cuda"][1]).max()))
    report("als", f"explicit half cholesky float64 k={K}", diff, out["cython"][2], out["cuda"][2])

    fits = {}
    for backend in ("cython", "cuda"):
        rk.ImplicitALS(n_factors=K, n_epochs=1, backend=backend, n_threads=threads).fit(data)  # warm-up
        model = rk.ImplicitALS(n_factors=K, alpha=1.0, backend=backend, n_threads=threads, random_state=0)
        start = time.perf_counter()
        model.fit(data)
        fits[backend] = (model, time.perf_counter() - start)
    users = data.user_ids[:200]
    same = np.mean(fits["cython"][0].recommend(users, k=10)[0] == fits["cuda"][0].recommend(users, k=10)[0])
    diff = float(np.abs(fits["cython"][0].item_factors_ - fits["cuda"][0].item_factors_).max())
    report("als", "ImplicitALS fit 15 epochs float32", diff, fits["cython"][1], fits["cuda"][1],
           f"top-10 slots equal: {100 * same:.1f}%")
