"""NCF (GMF, MLP, NeuMF) against the library's other models; training throughput; the sampler.

    python benchmarks/bench_ncf.py defaults [--keras-epochs 3]
    python benchmarks/bench_ncf.py sweep --configs '{"lr_decay": 1.0}' '{"n_negatives": 4, "random_state": 1}'
    python benchmarks/bench_ncf.py ranking [--data ml-100k | ml-1m-prefix] [--epochs 20]
    python benchmarks/bench_ncf.py rating [--epochs 20]
    python benchmarks/bench_ncf.py throughput [--data ml-1m-prefix]
    python benchmarks/bench_ncf.py sampling [--data ml-1m-prefix] [--repeat 7]
    python benchmarks/bench_ncf.py steps [--data ml-100k]

defaults: ``rk.NeuMF(task="implicit", random_state=0)`` with every other option at its default
(a GMF and an MLP pretrained, then fine-tuned), and the same with ``pretrain=False``, on the
ML-1M prefix under the NCF protocol (below): HR@10, NDCG@10 and fit time after the last
epoch, and HR@10 after every NeuMF epoch against the training time so far (the evaluation
itself is not counted); ImplicitALS (64 factors) beside them, fitted for 1..15 epochs. Then
the plain Keras NeuMF a user would write (Embedding, Flatten, Multiply/Concatenate, Dense,
Adam(0.001), binary cross-entropy, ``model.fit`` on NumPy arrays at batch 256, Keras's
compile defaults), the same architecture as our defaults (32 factors, tower 128-64-32), trained for --keras-epochs epochs
on the same samples (every positive and n_negatives negatives each, 8 by default, drawn by the same sampler):
samples/s of its epochs after the first (tracing) beside ours (the NeuMF epochs after the first
of the fit from scratch, negative sampling and input pipeline included), by wall time and by
CPU time. Writes
ncf_defaults.png (HR@10 against training time) beside RESULTS.md.

sweep: ``rk.NeuMF(task="implicit", random_state=0)`` with each --configs JSON object's options
changed (any constructor argument), on the data and protocol of ``defaults``; HR@10 / NDCG@10
after every epoch, so that one fit shows where more epochs stop helping.

ranking: leave-one-out (each user's latest rating held out), the held-out item ranked against
99 sampled items the user never touched, the same candidates for every model (seed 0);
HR@10 and NDCG@10. The NCF models and ImplicitALS see the training ratings as implicit
interactions; BaselineOnly and ItemKNN rank by predicted rating; Popular by rating count.
Fixed epochs, no early stopping (the only held-out data is the test set).

rating: KFold(5, random_state=0) on ML-100K, RMSE of NeuMF/MLP with task="rating" beside SVD
and BaselineOnly, same folds.

throughput: one epoch of implicit training (positives + 4 negatives each) at batch 1024 and
256 for each architecture; the first epoch (graph tracing) is not timed. Reports samples/s
and the epoch's negative-sampling time beside its training time.

steps: epoch time with 1 and with ncf.STEPS_PER_EXECUTION (32) training steps per TensorFlow
call, batch 256, implicit task, second epoch of each fit.

sampling: the negative sampler alone for one epoch (4 negatives per positive), Cython and
Numba, 1 and 2 threads, median of --repeat runs.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = {"ml-100k": SHARED / "ml-100k" / "u.data",
        "ml-1m-prefix": SHARED / "ml-1m-partial" / "ratings.first487650.dat.gz"}


def load(name):
    import reckernels as rk

    return rk.datasets.read_ratings(DATA[name])


def header(args):
    import tensorflow as tf

    print(f"# {' '.join([Path(sys.argv[0]).name] + sys.argv[1:])}")
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}, intra-op threads {tf.config.threading.get_intra_op_parallelism_threads()}"
          f" (0 = all cores), GPU: {bool(tf.config.list_physical_devices('GPU'))}", flush=True)


def ncf_models(args, task):
    from reckernels.algorithms.ncf import NeuMF

    common = dict(task=task, n_epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                  n_negatives=4, random_state=0)
    models = {
        "gmf": (f"GMF (factors={args.factors})", lambda: NeuMF(arch="gmf", factors=args.factors, **common)),
        "mlp": (f"MLP (layers={args.layers})", lambda: NeuMF(arch="mlp", layers=args.layers, **common)),
        "neumf": (f"NeuMF (factors={args.factors}, layers={args.layers})",
                  lambda: NeuMF(arch="neumf", factors=args.factors, layers=args.layers, **common)),
    }
    return dict(models[arch] for arch in args.archs)


def plain_keras_neumf(keras, n_users, n_items, factors, layers):
    """The NeuMF a Keras user writes from the paper: four Embedding tables, Flatten, Dense."""
    L = keras.layers
    user, item = keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32")
    gmf = L.Multiply()([L.Flatten()(L.Embedding(n_users, factors)(user)),
                        L.Flatten()(L.Embedding(n_items, factors)(item))])
    x = L.Concatenate()([L.Flatten()(L.Embedding(n_users, layers[0] // 2)(user)),
                         L.Flatten()(L.Embedding(n_items, layers[0] // 2)(item))])
    for width in layers[1:]:
        x = L.Dense(width, activation="relu")(x)
    out = L.Dense(1, activation="sigmoid")(L.Concatenate()([gmf, x]))
    model = keras.Model([user, item], out)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="binary_crossentropy")
    return model


def defaults(args):
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import reckernels as rk
    from reckernels.algorithms.ncf import NeuMF
    from reckernels.backends import get_backend
    from reckernels.sampled_ranking import sample_candidates, sampled_ranking_evaluation
    from reckernels.split import leave_one_out

    data = load("ml-1m-prefix")
    train, test = leave_one_out(data)
    implicit = rk.Dataset.from_arrays(train.users, train.items)
    candidates = sample_candidates(train, test, n_negatives=99, random_state=0)
    print(f"# ml-1m-prefix: {data}; train {len(train):,}, test {len(test):,} users; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)

    class Traced(NeuMF):
        """Evaluates after every epoch, outside the timed training (the fit is otherwise the default's)."""

        def _check_epoch(self, epoch, loss=None):
            super()._check_epoch(epoch, loss)
            start, cpu = time.perf_counter(), time.process_time()
            res = sampled_ranking_evaluation(self, candidates=candidates)
            self.eval_s += time.perf_counter() - start
            self.eval_cpu += time.process_time() - cpu
            self.curve.append((time.perf_counter() - self.t0 - self.eval_s, res["hit_rate"], res["ndcg"]))
            self.cpu.append(time.process_time() - self.cpu0 - self.eval_cpu)

    def traced_fit(**options):
        model = Traced(task="implicit", random_state=0, **options)
        model.curve, model.cpu, model.eval_s, model.eval_cpu = [], [], 0.0, 0.0
        model.t0, model.cpu0 = time.perf_counter(), time.process_time()
        model.fit(implicit)
        return model, time.perf_counter() - model.t0 - model.eval_s

    # the defaults pretrain a GMF and an MLP first (their epochs untraced: other models), then
    # fine-tune; the same model trained from scratch beside it, whose epochs give the throughput
    ours, fit_s = traced_fit()
    scratch, scratch_s = traced_fit(pretrain=False)
    params = {k: v for k, v in ours.get_params().items() if k not in ("backend", "n_threads", "verbose")}
    print("| model | HR@10 | NDCG@10 | fit (s) |\n|---|---|---|---|")
    for name, model, seconds in ((f"NeuMF defaults ({params})", ours, fit_s),
                                 ("NeuMF(pretrain=False), the same trained from scratch", scratch, scratch_s)):
        res = sampled_ranking_evaluation(model, candidates=candidates)
        print(f"| {name} | {res['hit_rate']:.4f} | {res['ndcg']:.4f} | {seconds:.1f} |", flush=True)
    als_curve = []
    for n in (1, 2, 3, 5, 8, 15):
        als = rk.get_algorithm("implicit_als")(n_factors=64, n_epochs=n, random_state=0)
        start = time.perf_counter()
        als.fit(implicit)
        als_s = time.perf_counter() - start
        r = sampled_ranking_evaluation(als, candidates=candidates)
        als_curve.append((als_s, r["hit_rate"], r["ndcg"]))
    print(f"| ImplicitALS (64 factors, 15 epochs, alpha=40) | {r['hit_rate']:.4f} | {r['ndcg']:.4f} | "
          f"{als_s:.1f} |", flush=True)

    # throughput: ours from the fit from scratch (NeuMF epochs, as the plain Keras model's), the
    # plain Keras model on one epoch of the same samples
    n_samples = len(implicit) * (1 + ours.n_negatives)
    ours_wall = statistics.median(scratch.history_["epoch_time"][1:])
    ours_cpu = statistics.median(np.diff(scratch.cpu)[0:])
    order = np.lexsort((implicit.inner_items, implicit.inner_users))
    pos_u = implicit.inner_users[order].astype(np.int32)
    pos_i = implicit.inner_items[order].astype(np.int32)
    indptr = np.zeros(implicit.n_users + 1, np.int64)
    np.cumsum(np.bincount(pos_u, minlength=implicit.n_users), out=indptr[1:])
    neg = np.empty(len(pos_u) * ours.n_negatives, np.int32)
    get_backend("cython").sample_negatives(indptr, pos_i, implicit.n_items, ours.n_negatives, 0, 0, neg, 2)
    users = np.concatenate((pos_u, np.repeat(pos_u, ours.n_negatives)))
    items = np.concatenate((pos_i, neg))
    labels = np.concatenate((np.ones(len(pos_u), np.float32), np.zeros(len(neg), np.float32)))
    keras.utils.set_random_seed(0)
    plain = plain_keras_neumf(keras, implicit.n_users, implicit.n_items, ours.factors, ours.layers)

    class Clock(keras.callbacks.Callback):
        wall, cpu = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            self.wall.append(time.perf_counter() - self.start[0])
            self.cpu.append(time.process_time() - self.start[1])

    clock = Clock()
    plain.fit([users, items], labels, batch_size=256, epochs=args.keras_epochs, shuffle=True, verbose=0,
              callbacks=[clock])
    plain_wall, plain_cpu = statistics.median(clock.wall[1:]), statistics.median(clock.cpu[1:])
    print(f"\n{n_samples:,} samples per epoch ({len(implicit):,} positives + {ours.n_negatives} negatives each); "
          f"median of epochs 2.. ; load average {os.getloadavg()[0]:.2f}")
    print("| trainer | batch | epoch (s) | samples/s | CPU s per epoch | samples per CPU s |\n|---|---|---|---|---|---|")
    print(f"| plain Keras (jit_compile={plain.jit_compile}, steps_per_execution=1) | 256 | {plain_wall:.1f} | "
          f"{n_samples / plain_wall:,.0f} | {plain_cpu:.1f} | {n_samples / plain_cpu:,.0f} |")
    print(f"| rk.NeuMF defaults, NeuMF epochs | {ours.batch_size} | {ours_wall:.1f} | {n_samples / ours_wall:,.0f} | "
          f"{ours_cpu:.1f} | {n_samples / ours_cpu:,.0f} |")
    print(f"speed-up: {plain_wall / ours_wall:.2f}x by wall time, {plain_cpu / ours_cpu:.2f}x by CPU time", flush=True)

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    t, hr, _ = zip(*ours.curve)
    ax.plot(t, hr, "o-", label=f"NeuMF defaults (GMF and MLP {ours.n_epochs} epochs each, then "
                               f"{ours.finetune_epochs} fine-tuning)")
    t, hr, _ = zip(*scratch.curve)
    ax.plot(t, hr, "^-", label=f"NeuMF(pretrain=False), {scratch.n_epochs} epochs")
    t, hr, _ = zip(*als_curve)
    ax.plot(t, hr, "s-", label="ImplicitALS (64 factors, 1-15 epochs)")
    ax.axhline(0.70, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("training time (s, wall)")
    ax.set_ylabel("HR@10 (99 sampled negatives)")
    ax.set_title(f"ML-1M prefix, leave-one-out, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(__file__).resolve().parent / "ncf_defaults.png"
    fig.savefig(out, dpi=120)
    print(f"# wrote {out}")


def sweep(args):
    import json

    import reckernels as rk
    from reckernels.algorithms.ncf import NeuMF
    from reckernels.sampled_ranking import sample_candidates, sampled_ranking_evaluation
    from reckernels.split import leave_one_out

    data = load("ml-1m-prefix")
    train, test = leave_one_out(data)
    implicit = rk.Dataset.from_arrays(train.users, train.items)
    candidates = sample_candidates(train, test, n_negatives=99, random_state=0)

    class Traced(NeuMF):
        def _check_epoch(self, epoch, loss=None):
            super()._check_epoch(epoch, loss)
            res = sampled_ranking_evaluation(self, candidates=candidates)
            self.curve.append(f"{res['hit_rate']:.4f}/{res['ndcg']:.4f}")

    print("| options (besides the defaults) | HR@10 / NDCG@10 after each epoch | fit (s, evaluation included) |\n|---|---|---|")
    for text in args.configs:
        options = {"random_state": 0, **json.loads(text)}
        model = Traced(task="implicit", **options)
        model.curve = []
        start = time.perf_counter()
        model.fit(implicit)
        print(f"| `{text}` | {' '.join(model.curve)} | {time.perf_counter() - start:.0f} |", flush=True)


def ranking(args):
    import reckernels as rk
    from reckernels.sampled_ranking import sample_candidates, sampled_ranking_evaluation
    from reckernels.split import leave_one_out

    data = load(args.data)
    train, test = leave_one_out(data)
    implicit = rk.Dataset.from_arrays(train.users, train.items)  # interactions only
    candidates = sample_candidates(train, test, n_negatives=99, random_state=0)
    print(f"# {args.data}: {data}; train {len(train):,}, test {len(test):,} users; "
          f"{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, 4 negatives", flush=True)
    models = {"Popular": (rk.Popular(), train),
              "BaselineOnly (ALS)": (rk.BaselineOnly(), train),
              "ItemKNN (k=40, pearson_baseline, baseline)": (
                  rk.ItemKNN(k=40, sim="pearson_baseline", center="baseline"), train),
              "ImplicitALS (64 factors, 15 epochs, alpha=40)": (
                  rk.get_algorithm("implicit_als")(n_factors=64, random_state=0), implicit)}
    models.update({name: (make(), implicit) for name, make in ncf_models(args, "implicit").items()})
    print(f"| model | HR@10 | NDCG@10 | fit (s) |\n|---|---|---|---|")
    fitted = {}
    for name, (model, part) in models.items():
        start = time.perf_counter()
        model.fit(part)
        fit_s = time.perf_counter() - start
        res = sampled_ranking_evaluation(model, candidates=candidates)
        fitted[name] = model
        print(f"| {name} | {res['hit_rate']:.4f} | {res['ndcg']:.4f} | {fit_s:.1f} |", flush=True)
    if args.pretrain and {"gmf", "mlp"} <= set(args.archs):
        from reckernels.algorithms.ncf import NeuMF

        gmf, mlp = (m for n, m in fitted.items() if n.startswith(("GMF", "MLP")))
        model = NeuMF(arch="neumf", task="implicit", factors=args.factors, layers=args.layers, n_epochs=args.epochs,
                      batch_size=args.batch_size, learning_rate=args.lr, random_state=0)
        start = time.perf_counter()
        model.fit(implicit, pretrain=(gmf, mlp), alpha=0.5)
        res = sampled_ranking_evaluation(model, candidates=candidates)
        print(f"| NeuMF pretrained from the GMF and MLP above (alpha=0.5) | {res['hit_rate']:.4f} | "
              f"{res['ndcg']:.4f} | {time.perf_counter() - start:.1f} (+ GMF and MLP) |", flush=True)


def rating(args):
    import reckernels as rk
    from reckernels.algorithms.ncf import NeuMF
    from reckernels.evaluation import cross_validate
    from reckernels.split import KFold

    data = load("ml-100k")
    models = {"SVD (defaults)": rk.get_algorithm("svd")(random_state=0), "BaselineOnly (ALS)": rk.BaselineOnly()}
    for arch in args.archs:
        models[f"{arch} task=rating (factors={args.factors}, layers={args.layers}, reg={args.reg})"] = NeuMF(
            arch=arch, task="rating", factors=args.factors, layers=args.layers, n_epochs=args.epochs,
            batch_size=args.batch_size, learning_rate=args.lr, reg=args.reg, random_state=0)
    print(f"# ml-100k {data}; KFold(5, random_state=0); NCF: {args.epochs} epochs, batch {args.batch_size}, "
          f"lr {args.lr}", flush=True)
    print("| model | RMSE (mean of 5 folds) | MAE | fit s / fold |\n|---|---|---|---|")
    for name, model in models.items():
        res = cross_validate(model, data, cv=KFold(5, random_state=0), measures=("rmse", "mae"))
        print(f"| {name} | {res['test_rmse'].mean():.4f} | {res['test_mae'].mean():.4f} | "
              f"{np.mean(res['fit_time']):.1f} |", flush=True)


def throughput(args):
    import reckernels as rk
    from reckernels.algorithms.ncf import NeuMF

    data = load(args.data)
    implicit = rk.Dataset.from_arrays(data.users, data.items)
    n_samples = len(implicit) * 5
    print(f"# {args.data}: {len(implicit):,} positives + 4 negatives each = {n_samples:,} samples per epoch")
    print("| arch | batch | epoch (s) | samples/s | negative sampling (s) | sampling share |\n|---|---|---|---|---|---|")
    for batch in (1024, 256):
        for arch in args.archs:
            model = NeuMF(arch=arch, task="implicit", factors=args.factors, layers=args.layers, n_epochs=2,
                          batch_size=batch, random_state=0).fit(implicit)
            epoch, sampling = model.history_["epoch_time"][1], model.history_["sampling_time"][1]
            print(f"| {arch} | {batch} | {epoch:.1f} | {n_samples / epoch:,.0f} | {sampling:.3f} | "
                  f"{sampling / epoch:.2%} |", flush=True)


def steps(args):
    import reckernels as rk
    from reckernels.algorithms import ncf

    data = load(args.data)
    implicit = rk.Dataset.from_arrays(data.users, data.items)
    default = ncf.STEPS_PER_EXECUTION
    print(f"# {args.data}: {len(implicit) * 5:,} samples per epoch, batch {args.batch_size}")
    print("| arch | steps per call | epoch (s) |\n|---|---|---|")
    for arch in args.archs:
        for n in (1, default):
            ncf.STEPS_PER_EXECUTION = n
            model = ncf.NeuMF(arch=arch, task="implicit", n_epochs=2, batch_size=args.batch_size,
                              random_state=0).fit(implicit)
            print(f"| {arch} | {n} | {model.history_['epoch_time'][1]:.1f} |", flush=True)
    ncf.STEPS_PER_EXECUTION = default


def sampling(args):
    from reckernels.backends import get_backend

    data = load(args.data)
    order = np.lexsort((data.inner_items, data.inner_users))
    indices = data.inner_items[order].astype(np.int32)
    indptr = np.zeros(data.n_users + 1, np.int64)
    np.cumsum(np.bincount(data.inner_users, minlength=data.n_users), out=indptr[1:])
    out = np.empty(len(indices) * 4, np.int32)
    print(f"# {args.data}: {len(indices):,} positives x 4 negatives = {len(out):,} draws; median of {args.repeat}")
    print("| backend | threads | one epoch (s) | draws/s |\n|---|---|---|---|")
    for name in ("cython", "numba"):
        k = get_backend(name)
        for threads in (1, 2):
            k.sample_negatives(indptr, indices, data.n_items, 4, 0, 0, out, threads)  # warm-up / JIT
            times = []
            for epoch in range(args.repeat):
                start = time.perf_counter()
                k.sample_negatives(indptr, indices, data.n_items, 4, 0, epoch, out, threads)
                times.append(time.perf_counter() - start)
            med = statistics.median(times)
            print(f"| {name} | {threads} | {med:.4f} | {len(out) / med:,.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=("defaults", "sweep", "ranking", "rating", "throughput", "steps", "sampling"))
    parser.add_argument("--configs", nargs="+", default=["{}"], help="sweep: NeuMF options as JSON objects")
    parser.add_argument("--data", choices=tuple(DATA), default=None,
                        help="ml-100k for ranking, ml-1m-prefix for throughput and sampling by default")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--reg", type=float, default=0.0, help="L2 on the embeddings (rating section)")
    parser.add_argument("--factors", type=int, default=8)
    parser.add_argument("--layers", type=lambda s: tuple(int(x) for x in s.split(",")), default=(64, 32, 16, 8))
    parser.add_argument("--archs", type=lambda s: s.split(","), default=["gmf", "mlp", "neumf"],
                        help="which NCF architectures to run, comma separated")
    parser.add_argument("--pretrain", action="store_true", help="ranking: also NeuMF initialised from GMF and MLP")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keras-epochs", type=int, default=3, help="defaults: epochs of the plain Keras model")
    args = parser.parse_args()
    if args.data is None:
        args.data = "ml-100k" if args.section in ("ranking", "rating", "steps") else "ml-1m-prefix"
    if args.section != "sampling":
        header(args)
    sections = {"defaults": defaults, "sweep": sweep, "ranking": ranking, "rating": rating, "throughput": throughput, "steps": steps, "sampling": sampling}
    sections[args.section](args)


if __name__ == "__main__":
    main()
