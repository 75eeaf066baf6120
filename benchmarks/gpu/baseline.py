"""Baseline ALS epoch: CUDA vs Cython on a synthetic 1M-rating set."""

import time

import numpy as np


def run(report):
    import reckernels as rk
    from reckernels.backends import get_backend

    data = rk.datasets.make_ratings(6040, 3706, 1_000_000, random_state=0)
    u, it = data.csr, data.csc
    results = {}
    for name in ("cython", "cuda"):
        k = get_backend(name)
        bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)
        k.baseline_als_epoch(u.indptr, u.indices, u.data, it.indptr, it.indices, it.data,
                             data.global_mean, 15.0, 10.0, bu, bi, 16)  # warm-up / JIT
        start = time.perf_counter()
        for _ in range(10):
            k.baseline_als_epoch(u.indptr, u.indices, u.data, it.indptr, it.indices, it.data,
                                 data.global_mean, 15.0, 10.0, bu, bi, 16)
        results[name] = (time.perf_counter() - start, bu, bi)
    diff = max(np.abs(results["cython"][1] - results["cuda"][1]).max(),
               np.abs(results["cython"][2] - results["cuda"][2]).max())
    report("baseline", "ALS 10 epochs, 1M ratings", diff, results["cython"][0], results["cuda"][0])
