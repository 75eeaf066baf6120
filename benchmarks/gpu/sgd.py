"""SGD kernels (SVD, SVD++): CUDA against Cython on the same inputs, then the speed of each.

Agreement: the serial epochs on a small set (the GPU runs them in one thread) and SVD's blocked
epoch on 1M ratings with the same grid on both (the same arithmetic up to rounding and the
GPU's fused multiply-adds). SVD++'s Hogwild epoch is not deterministic with many updaters:
its line compares the epoch's training loss. Speed compares each backend at its own setting:
Cython with a 2T x 2T grid (SVD) or T threads (SVD++) on every CPU core, CUDA with the
estimators' 256 x 256 grid (SVD) or 1024 updaters (SVD++).
"""

import os
import time

import numpy as np

FACTORS = 100


def _model(data, k, dtype, seed=0, implicit=False):
    rng = np.random.RandomState(seed)
    arrays = [np.zeros(data.n_users, dtype), np.zeros(data.n_items, dtype),
              rng.normal(0, 0.1, (data.n_users, k)).astype(dtype), rng.normal(0, 0.1, (data.n_items, k)).astype(dtype)]
    if implicit:
        arrays.append(rng.normal(0, 0.1, (data.n_items, k)).astype(dtype))
    return arrays


def _max_diff(a, b):
    return max(float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max()) for x, y in zip(a, b))


def _timed(fn, repeat=3):
    fn()  # compile / warm up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def run(report):
    import reckernels as rk
    from reckernels.algorithms.svd import CUDA_BLOCKS, CUDA_UPDATERS, build_grid
    from reckernels.backends import get_backend

    cy, gpu = get_backend("cython"), get_backend("cuda")
    cpus = os.cpu_count() or 1
    lr4, reg4 = np.full(4, 0.005), np.full(4, 0.02)
    lr5, reg5 = np.full(5, 0.007), np.full(5, 0.02)

    # serial epochs (scikit-surprise's order): one GPU thread, so a small set
    small = rk.datasets.make_ratings(300, 200, 5_000, random_state=0)
    c = small.csr
    models = [_model(small, 20, np.float64) for _ in range(2)]
    for kernels, m in zip((cy, gpu), models):
        kernels.svd_epoch(c.indptr, c.indices, c.data, small.global_mean, *m, lr4, reg4, True)
    report("sgd", "SVD serial epoch 5k float64", _max_diff(*models), note="one GPU thread")
    models = [_model(small, 20, np.float64, implicit=True) for _ in range(2)]
    for kernels, m in zip((cy, gpu), models):
        kernels.svdpp_epoch(c.indptr, c.indices, c.data, small.global_mean, *m, lr5, reg5)
    report("sgd", "SVD++ serial epoch 5k float64", _max_diff(*models), note="one GPU thread")

    # blocked epochs: the same grid on both, then each at its own grid size
    data = rk.datasets.make_ratings(6040, 3706, 1_000_000, random_state=0)
    c = data.csr
    mu = data.global_mean
    for dtype in (np.float32, np.float64):
        grid = build_grid(c, CUDA_BLOCKS, np.dtype(dtype))
        lr, reg = lr4.astype(dtype), reg4.astype(dtype)
        models = [_model(data, FACTORS, dtype) for _ in range(2)]
        cy.svd_epoch_blocked(*grid, mu, *models[0], lr, reg, True, cpus)
        gpu.svd_epoch_blocked(*grid, mu, *models[1], lr, reg, True)
        own = build_grid(c, 2 * cpus, np.dtype(dtype))
        m_cpu, m_gpu = _model(data, FACTORS, dtype), _model(data, FACTORS, dtype)
        cpu_s = _timed(lambda: cy.svd_epoch_blocked(*own, mu, *m_cpu, lr, reg, True, cpus))
        gpu_s = _timed(lambda: gpu.svd_epoch_blocked(*grid, mu, *m_gpu, lr, reg, True))
        report("sgd", f"SVD blocked epoch 1M k=100 {np.dtype(dtype).name}", _max_diff(*models),
               cpu_s, gpu_s, note=f"{len(data) / gpu_s / 1e6:.0f}M upd/s on the GPU (incl. transfers)")

        # SVD++ Hogwild: not deterministic with many updaters, so compare the epoch's training loss
        lr, reg = lr5.astype(dtype), reg5.astype(dtype)
        data_d = c.data.astype(dtype)
        models = [_model(data, 20, dtype, implicit=True) for _ in range(2)]
        loss_cpu = cy.svdpp_epoch_hogwild(c.indptr, c.indices, data_d, mu, *models[0], lr, reg, cpus)
        loss_gpu = gpu.svdpp_epoch_hogwild(c.indptr, c.indices, data_d, mu, *models[1], lr, reg, CUDA_UPDATERS)
        m_cpu, m_gpu = _model(data, 20, dtype, implicit=True), _model(data, 20, dtype, implicit=True)
        cpu_s = _timed(lambda: cy.svdpp_epoch_hogwild(c.indptr, c.indices, data_d, mu, *m_cpu, lr, reg, cpus))
        gpu_s = _timed(lambda: gpu.svdpp_epoch_hogwild(c.indptr, c.indices, data_d, mu, *m_gpu, lr, reg,
                                                       CUDA_UPDATERS))
        report("sgd", f"SVD++ hogwild epoch 1M k=20 {np.dtype(dtype).name}", _max_diff(*models), cpu_s, gpu_s,
               note=f"Hogwild: factors differ by design; epoch loss rel. diff {abs(loss_gpu / loss_cpu - 1):.1e}")
