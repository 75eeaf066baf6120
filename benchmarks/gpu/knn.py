"""k-NN prediction, k-NN top-N scoring and top-k selection: CUDA vs Cython on a synthetic 1M-rating set.

Item-based KNNWithMeans semantics (pearson, k=40, dense float64 similarity fitted once on the
CPU). Agreement: the largest |difference| of the estimates / scores (the backends sum in the
same order, so 0 is expected; the GPU may contract a multiply-add, so ~1e-15 is fine) and
whether actual_k and the codes are identical. Times include the host <-> device copies.
"""

import time

import numpy as np

#: (users, items, ratings) of the synthetic set and users per top-N block
SHAPE = (6040, 3706, 1_000_000)
BLOCK = 1024


def _timed(fn):
    fn()  # warm-up: JIT compilation and first transfers
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run(report):
    import reckernels as rk
    from reckernels.backends import default_threads, get_backend

    data = rk.datasets.make_ratings(*SHAPE, random_state=0)
    model = rk.ItemKNN(k=40, sim="pearson", center="mean", storage="dense", backend="cython").fit(data)
    args = model._kernel_args()
    threads = default_threads(None)
    order = np.argsort(data.inner_items, kind="stable")  # grouped by item, as ItemKNN.predict sends them
    users = np.ascontiguousarray(data.inner_users[order], dtype=np.int32)
    items = np.ascontiguousarray(data.inner_items[order], dtype=np.int32)

    def predict(name):
        est, actual_k, code = np.empty(len(users)), np.empty(len(users), np.int32), np.empty(len(users), np.int8)
        get_backend(name).knn_predict(users, items, *args, est, actual_k, code, threads)
        return est, actual_k, code

    (cpu_s, cpu), (gpu_s, gpu) = _timed(lambda: predict("cython")), _timed(lambda: predict("cuda"))
    same = np.array_equal(cpu[1], gpu[1]) and np.array_equal(cpu[2], gpu[2])
    report("knn", f"predict {len(users):,} pairs, k=40", float(np.abs(cpu[0] - gpu[0]).max()), cpu_s, gpu_s,
           f"actual_k/codes {'equal' if same else 'DIFFER'}")

    block = np.arange(min(BLOCK, data.n_users), dtype=np.int32)

    def score(name):
        out = np.empty((len(block), data.n_items))
        get_backend(name).knn_score(block, *args, out, threads)
        return out

    (cpu_s, cpu_scores), (gpu_s, gpu_scores) = _timed(lambda: score("cython")), _timed(lambda: score("cuda"))
    report("knn", f"score {len(block)} users x {data.n_items} items", float(np.abs(cpu_scores - gpu_scores).max()),
           cpu_s, gpu_s)

    seen_indptr, seen_indices = data.csr.indptr, data.csr.indices

    def top(name):
        return get_backend(name).topk_rows(cpu_scores.copy(), block, seen_indptr, seen_indices, 10, True, threads)

    (cpu_s, (cpu_idx, cpu_val)), (gpu_s, (gpu_idx, gpu_val)) = _timed(lambda: top("cython")), _timed(lambda: top("cuda"))
    filled = np.isfinite(cpu_val)  # slots left empty hold -inf in both
    diff = float(np.abs(cpu_val[filled] - gpu_val[filled]).max()) if filled.any() else 0.0
    report("knn", f"top-10 of {len(block)} x {data.n_items}, seen excluded", diff, cpu_s, gpu_s,
           f"items {'equal' if np.array_equal(cpu_idx, gpu_idx) else 'DIFFER'}")
