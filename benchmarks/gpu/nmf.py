"""NMF epoch: CUDA vs Cython on a synthetic 1M-rating set (unbiased: all parallel; biased: the
biases' serial pass runs in one GPU thread, so it measures correctness more than speed)."""

import time

import numpy as np


def run(report):
    import reckernels as rk
    from reckernels.algorithms.nmf import by_item_view
    from reckernels.backends import get_backend

    data = rk.datasets.make_ratings(6040, 3706, 1_000_000, random_state=0)
    c = data.csr
    view = by_item_view(c, data.n_items)
    lr, reg = [0.005, 0.005], [0.02, 0.02, 0.06, 0.06]
    init = np.random.RandomState(0)
    pu0, qi0 = init.uniform(0, 1, (data.n_users, 15)), init.uniform(0, 1, (data.n_items, 15))
    for biased, epochs in ((False, 10), (True, 2)):
        results = {}
        for name in ("cython", "cuda"):
            k = get_backend(name)
            model = [np.zeros(data.n_users), np.zeros(data.n_items), pu0.copy(), qi0.copy()]
            k.nmf_epoch(c.indptr, c.indices, c.data, *view, data.global_mean, *[a.copy() for a in model], lr, reg,
                        biased, 16)  # warm-up / JIT
            start = time.perf_counter()
            for _ in range(epochs):
                k.nmf_epoch(c.indptr, c.indices, c.data, *view, data.global_mean, *model, lr, reg, biased, 16)
            results[name] = (time.perf_counter() - start, model)
        diff = max(np.abs(a - b).max() for a, b in zip(results["cython"][1], results["cuda"][1]))
        report("nmf", f"{'biased' if biased else 'unbiased'} {epochs} epochs, 1M ratings, k=15", diff,
               results["cython"][0], results["cuda"][0])
