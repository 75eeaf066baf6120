"""BPR and LogisticMF against implicit 0.7.3: fit time and HR@10, side by side in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_implicit_models.py [--sections bpr lmf] [--threads 2] [--runs 3] [--data DIR]

Data: the MovieLens 1M prefix (``ml-1m-partial/ratings.first487650.dat.gz`` under --data,
default ../shared/data beside the checkout); ratings >= 4 are the interactions (binary), each
user's latest one (by timestamp, the later row on ties) is held out when the user has at least
two. HR@10: the fraction of held-out users whose item is in the top 10 of the full catalogue,
training items excluded, from ``user_factors @ item_factors.T`` of each model (the same code
scores both libraries).

Sections, each with the peer's hyperparameters passed to both (the peer's defaults otherwise):

- ``bpr``: ``BayesianPersonalizedRanking(factors=64, iterations=100)`` vs ``rk.BPR(n_factors=64,
  n_epochs=100)``, learning rate 0.01, reg 0.01, negative verification on, float32;
- ``lmf``: ``LogisticMatrixFactorization(factors=30, iterations=30)`` vs ``rk.LogisticMF(n_factors=30,
  n_epochs=30)``, learning rate 1.0, reg 0.6, neg_prop 30, float32.

Each library fits --runs times with seeds 0, 1, ..., alternating ours and theirs so drifting
load hits both alike, on --threads threads. Reported: median wall and CPU (process) seconds,
their ratios (ours / implicit: below 1 is faster), and the mean HR@10 over the runs. The CPU
time is the steadier figure on a shared machine. --backends adds rows for other backends of
ours. A PNG (implicit_models.png) is written beside RESULTS.md.
"""

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import gzip  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"
PREFIX = Path("ml-1m-partial") / "ratings.first487650.dat.gz"


def load_split(path):
    """(train users x items float32 CSR of likes, held-out item per user or -1)."""
    import scipy.sparse as sp

    with gzip.open(path, "rt") as f:
        raw = np.array([line.split("::") for line in f.read().splitlines()], dtype=np.int64)
    raw = raw[raw[:, 2] >= 4]
    users, u = np.unique(raw[:, 0], return_inverse=True)
    items, i = np.unique(raw[:, 1], return_inverse=True)
    order = np.lexsort((np.arange(len(raw)), raw[:, 3], u))  # by user, then time, then file order
    last = np.ones(len(order), dtype=bool)
    last[:-1] = u[order][1:] != u[order][:-1]
    counts = np.bincount(u)
    held = order[last & (counts[u[order]] >= 2)]
    test = np.full(len(users), -1, dtype=np.int64)
    test[u[held]] = i[held]
    keep = np.ones(len(raw), dtype=bool)
    keep[held] = False
    train = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (u[keep], i[keep])), shape=(len(users), len(items)))
    return train, test


def hit_rate(user_factors, item_factors, train, test, k=10, block=1024):
    """HR@k over the users with a held-out item: full catalogue, training items excluded."""
    users = np.flatnonzero(test >= 0)
    U, V = np.asarray(user_factors, np.float64), np.asarray(item_factors, np.float64)
    hits = 0
    for lo in range(0, len(users), block):
        rows = users[lo:lo + block]
        scores = U[rows] @ V.T
        sub = train[rows]
        scores[np.repeat(np.arange(len(rows)), np.diff(sub.indptr)), sub.indices] = -np.inf
        target = scores[np.arange(len(rows)), test[rows]]
        hits += int(np.sum((scores > target[:, None]).sum(axis=1) < k))  # rank of the held-out item < k
    return hits / len(users)


def timed(fit):
    wall, cpu = time.perf_counter(), time.process_time()
    model = fit()
    return model, time.perf_counter() - wall, time.process_time() - cpu


SECTIONS = {
    "bpr": dict(title="BPR (64 factors, 100 iterations)", implicit="implicit.cpu.bpr:BayesianPersonalizedRanking",
                theirs=dict(factors=64, iterations=100, learning_rate=0.01, regularization=0.01),
                ours="BPR", our_kwargs=dict(n_factors=64, n_epochs=100, learning_rate=0.01, reg=0.01)),
    "lmf": dict(title="LogisticMF (30 factors, 30 iterations)",
                implicit="implicit.cpu.lmf:LogisticMatrixFactorization",
                theirs=dict(factors=30, iterations=30, learning_rate=1.0, regularization=0.6, neg_prop=30),
                ours="LogisticMF", our_kwargs=dict(n_factors=30, n_epochs=30, learning_rate=1.0, reg=0.6, neg_prop=30)),
}


def run_section(name, train, test, args):
    import importlib

    import reckernels as rk

    spec = SECTIONS[name]
    module, cls = spec["implicit"].split(":")
    Theirs = getattr(importlib.import_module(module), cls)
    Ours = getattr(rk, spec["ours"])
    print(f"\n== {spec['title']}: {train.shape[0]} users, {train.shape[1]} items, {train.nnz} likes, "
          f"{int((test >= 0).sum())} held out, {args.threads} threads", flush=True)
    Ours(**{**spec["our_kwargs"], "n_epochs": 1}, n_threads=args.threads).fit(train)  # warm-up (numba: compile)
    rows = {}
    labels = ["implicit 0.7.3"] + [f"reckernels {b}" for b in args.backends]
    for run in range(args.runs):
        def theirs():
            m = Theirs(**spec["theirs"], num_threads=args.threads, random_state=run)
            m.fit(train, show_progress=False)
            return m.user_factors, m.item_factors

        fits = [theirs]
        for backend in args.backends:
            fits.append(lambda b=backend: (lambda m: (m.user_factors_, m.item_factors_))(
                Ours(**spec["our_kwargs"], backend=b, n_threads=args.threads, random_state=run).fit(train)))
        for label, fit in zip(labels, fits):
            (U, V), wall, cpu = timed(fit)
            rows.setdefault(label, []).append((wall, cpu, hit_rate(U, V, train, test)))
    base = np.median(np.array(rows[labels[0]])[:, :2], axis=0)
    base_hr = np.mean(np.array(rows[labels[0]])[:, 2])
    print(f"{'':24s} {'wall s':>8s} {'CPU s':>8s} {'wall/impl':>9s} {'CPU/impl':>9s} {'HR@10':>7s} {'HR/impl':>7s}  "
          f"wall per run")
    summary = {}
    for label in labels:
        a = np.array(rows[label])
        wall, cpu = np.median(a[:, :2], axis=0)
        hr = float(np.mean(a[:, 2]))
        summary[label] = (wall, cpu, hr)
        print(f"{label:24s} {wall:8.3f} {cpu:8.2f} {wall / base[0]:9.2f} {cpu / base[1]:9.2f} {hr:7.4f} "
              f"{hr / base_hr:7.3f}  {[round(float(x), 2) for x in a[:, 0]]}", flush=True)
    return summary


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = list(results)
    labels = list(next(iter(results.values())))
    width = 0.8 / len(labels)
    for j, label in enumerate(labels):
        x = np.arange(len(names)) + j * width
        axes[0].bar(x, [results[n][label][0] for n in names], width, label=label)
        axes[1].bar(x, [results[n][label][2] for n in names], width, label=label)
    for ax, title in zip(axes, ["fit wall time (s, median)", "HR@10 (full catalogue, mean)"]):
        ax.set_xticks(np.arange(len(names)) + width * (len(labels) - 1) / 2, [n.upper() for n in names])
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    fig.suptitle("BPR and LogisticMF vs implicit 0.7.3, MovieLens 1M prefix (likes = ratings >= 4)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="fits per library and section (seeds 0, 1, ...)")
    ap.add_argument("--backends", nargs="+", default=["cython"], help="our backends to time (first is the one compared)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding ml-1m-partial/")
    ap.add_argument("--plot", type=Path, default=HERE / "implicit_models.png")
    args = ap.parse_args()
    path = args.data / PREFIX
    if not path.exists():
        raise SystemExit(f"{path} not found: pass --data with the folder holding {PREFIX.parent}/")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    train, test = load_split(path)
    results = {name: run_section(name, train, test, args) for name in args.sections}
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
