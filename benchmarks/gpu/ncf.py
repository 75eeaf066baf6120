"""NeuMF training speed on the GPU (TensorFlow), implicit task, ML-1M-sized synthetic data.

TensorFlow needs its CUDA build for this (pip install "reckernels[deep-gpu]"); with the CPU
build the section says so and skips. For each setting: one timed epoch after a first
(tracing) epoch, samples/s, the epoch's negative-sampling time, and as the agreement check
the largest difference between the trained model's scores computed on the GPU and the same
weights run on the CPU (float32: ~1e-6; mixed float16: ~1e-3).
"""

import numpy as np


def run(report):
    from reckernels.algorithms._tf import import_keras

    tf, _ = import_keras()
    if not tf.config.list_physical_devices("GPU"):
        report("ncf", "NeuMF training on the GPU", float("nan"),
               note="skipped: TensorFlow sees no GPU (CPU build?); pip install 'reckernels[deep-gpu]'")
        return
    import reckernels as rk
    from reckernels.algorithms.ncf import NeuMF

    data = rk.datasets.make_ratings(6040, 3706, 1_000_000, implicit=True, random_state=0)
    n_samples = len(data) * 5  # each positive and its 4 negatives
    rng = np.random.default_rng(0)
    users = rng.integers(0, data.n_users, 200_000)
    items = rng.integers(0, data.n_items, 200_000)
    for batch, mixed in ((1024, "auto"), (1024, False), (256, "auto")):
        model = NeuMF(task="implicit", n_epochs=2, batch_size=batch, mixed_precision=mixed, random_state=0)
        model.fit(data)
        epoch, sampling = model.history_["epoch_time"][1], model.history_["sampling_time"][1]
        on_gpu = model._score_pairs(users, items)
        with tf.device("/CPU:0"):
            model._predict_fn = None  # retrace the scorer inside the CPU scope
            on_cpu = model._score_pairs(users, items)
        model._predict_fn = None
        precision = "mixed_float16" if model.mixed_ else "float32"
        report("ncf", f"NeuMF epoch, batch {batch}, {precision}", float(np.abs(on_gpu - on_cpu).max()),
               note=f"{n_samples / epoch:,.0f} samples/s ({epoch:.2f} s/epoch, negative sampling {sampling:.3f} s)")
