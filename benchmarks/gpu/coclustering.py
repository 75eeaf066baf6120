"""CoClustering (fit, predict) and NormalPredictor's sum of squares: CUDA vs Cython, 1M ratings."""

import time

import numpy as np


def run(report):
    import reckernels as rk

    data = rk.datasets.make_ratings(6040, 3706, 1_000_000, random_state=0)
    fits, times = {}, {}
    for name in ("cython", "cuda"):
        rk.CoClustering(n_epochs=1, random_state=0, backend=name, n_threads=16).fit(data)  # warm-up / JIT
        start = time.perf_counter()
        fits[name] = rk.CoClustering(random_state=0, backend=name, n_threads=16).fit(data)
        times[name] = time.perf_counter() - start
    same = (np.array_equal(fits["cython"].user_clusters_, fits["cuda"].user_clusters_)
            and np.array_equal(fits["cython"].item_clusters_, fits["cuda"].item_clusters_))
    report("cocluster", "fit 20 epochs, 3x3 clusters, 1M ratings",
           float(np.abs(fits["cython"].cocluster_means_ - fits["cuda"].cocluster_means_).max()),
           times["cython"], times["cuda"], f"same clusters: {same}")
    users, items = data.users, data.items
    est, t = {}, {}
    for name, m in fits.items():
        m.predict(users[:10], items[:10])
        start = time.perf_counter()
        est[name] = m.predict(users, items)
        t[name] = time.perf_counter() - start
    report("cocluster", "predict 1M pairs", float(np.abs(est["cython"] - est["cuda"]).max()), t["cython"], t["cuda"])
    sig = {name: rk.NormalPredictor(backend=name).fit(data).sigma_ for name in ("cython", "cuda")}
    report("cocluster", "NormalPredictor sigma", abs(sig["cython"] - sig["cuda"]))
