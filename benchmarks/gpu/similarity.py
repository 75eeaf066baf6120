"""Similarity kernels: CUDA vs Cython on a synthetic MovieLens-1M-shaped set (6,040 x 3,706, 1M ratings).

User-based pearson into dense storage and item-based pearson / msd top-50, each checked for
agreement (dense: max |diff|; top-M: max |diff| of the similarities and how many rows' lists
differ) and timed (median of 3 after a warm-up that compiles the kernels).
"""

import statistics
import time

import numpy as np


def _median_time(fn, repeat=3):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run(report, n_users=6040, n_items=3706, n_ratings=1_000_000):
    import reckernels as rk
    from reckernels.similarity import compute_similarity

    data = rk.datasets.make_ratings(n_users, n_items, n_ratings, random_state=0)
    cases = [("user pearson dense", data.csr, data.csc, data.n_items, "pearson", "dense"),
             ("item pearson top-50", data.csc, data.csr, data.n_users, "pearson", "topm"),
             ("item msd top-50", data.csc, data.csr, data.n_users, "msd", "topm")]
    for label, rows, cols, n_cols, kind, storage in cases:
        extra = dict(max_neighbors=50) if storage == "topm" else {}
        res = {}
        for backend in ("cython", "cuda"):
            res[backend] = _median_time(lambda: compute_similarity(
                rows.indptr, rows.indices, rows.data, n_cols, kind=kind, storage=storage, backend=backend,
                n_threads=16, transposed=cols, **extra))
        cpu, gpu = res["cython"][1], res["cuda"][1]
        if storage == "dense":
            diff, note = float(np.abs(cpu.dense - gpu.dense).max()), ""
        else:
            diff = float(np.abs(cpu.sim - gpu.sim).max())
            note = f"rows whose lists differ: {int((cpu.idx != gpu.idx).any(axis=1).sum())}"
        report("similarity", f"{label} ({rows.n_rows} rows)", diff, res["cython"][0], res["cuda"][0], note)
