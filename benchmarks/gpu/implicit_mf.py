"""BPR and LogisticMF kernels: CUDA vs Cython on a synthetic 1M-interaction set.

Agreement: one GPU updater is the serial order, so a short BPR epoch must equal Cython's on
one thread (float32, to rounding); LMF rows are independent, so a whole half-epoch must agree.
Speed: full epochs, the GPU with 32768 Hogwild updaters (as the estimator) against Cython on
all CPUs; for BPR the Hogwild runs are compared by the fraction of correctly ranked samples.
"""

import os
import time

import numpy as np


def _likes(n_users=6040, n_items=3706, nnz=1_000_000, seed=0):
    rng = np.random.default_rng(seed)
    pop = rng.zipf(1.3, 4 * nnz) % n_items
    users = rng.integers(0, n_users, 4 * nnz)
    pairs = np.unique(users.astype(np.int64) * n_items + pop)[:nnz]
    rng.shuffle(pairs)
    pairs = np.sort(pairs[:nnz])
    rows, cols = pairs // n_items, (pairs % n_items).astype(np.int32)
    indptr = np.zeros(n_users + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
    return indptr, cols, n_items


def _bpr(report, cy, cu, threads):
    indptr, indices, n_items = _likes()
    rng = np.random.default_rng(1)
    X = ((rng.random((len(indptr) - 1, 65)) - 0.5) / 64).astype(np.float32)
    X[:, -1] = 1
    Y = ((rng.random((n_items, 65)) - 0.5) / 64).astype(np.float32)
    m = min(200, len(indptr) - 1)  # 200 users: one GPU thread stays quick
    small = (indptr[:m + 1].copy(), indices[:indptr[m]].copy())
    a, b = (X[:m].copy(), Y.copy()), (X[:m].copy(), Y.copy())
    cy.bpr_epoch(*small, *a, 0.01, 0.01, True, 3, 0, 1)
    cu.bpr_epoch(*small, *b, 0.01, 0.01, True, 3, 0, 1)
    report("bpr", "1 updater vs 1 thread, one epoch", float(max(np.abs(a[0] - b[0]).max(), np.abs(a[1] - b[1]).max())))
    times = {}
    for name, k, n in (("cython", cy, threads), ("cuda", cu, 1 << 15)):
        Xk, Yk = X.copy(), Y.copy()
        k.bpr_epoch(indptr, indices, Xk, Yk, 0.01, 0.01, True, 3, 0, n)  # warm-up / JIT
        start = time.perf_counter()
        counts = [k.bpr_epoch(indptr, indices, Xk, Yk, 0.01, 0.01, True, 3, e, n) for e in range(1, 11)]
        times[name] = (time.perf_counter() - start, counts[-1])
    c, s = times["cuda"][1]
    c0, s0 = times["cython"][1]
    report("bpr", "10 epochs, 1M likes, 64 factors", 0.0, times["cython"][0], times["cuda"][0],
           f"correct after 10: cython {c0 / (len(indices) - s0):.3f} cuda {c / (len(indices) - s):.3f}")


def _lmf(report, cy, cu, threads):
    indptr, indices, n_items = _likes()
    data = np.ones(len(indices), np.float32)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((len(indptr) - 1, 32)).astype(np.float32)
    Y = rng.standard_normal((n_items, 32)).astype(np.float32)
    out, times = {}, {}
    for name, k in (("cython", cy), ("cuda", cu)):
        Xk, G = X.copy(), np.zeros_like(X)
        k.lmf_half(indptr, indices, data, Xk.copy(), Y, G.copy(), 1.0, 0.6, 30, 32, 30, 5, 0, threads)  # warm-up
        start = time.perf_counter()
        for h in range(10):
            k.lmf_half(indptr, indices, data, Xk, Y, G, 1.0, 0.6, 30, 32, 30, 5, h, threads)
        times[name] = time.perf_counter() - start
        out[name] = Xk
    report("lmf", "10 user half-epochs, 1M likes, 30 factors", float(np.abs(out["cython"] - out["cuda"]).max()),
           times["cython"], times["cuda"])


def run(report):
    from reckernels.backends import get_backend

    cy, cu = get_backend("cython"), get_backend("cuda")
    threads = os.cpu_count() or 1
    _bpr(report, cy, cu, threads)
    _lmf(report, cy, cu, threads)
