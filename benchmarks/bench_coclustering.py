"""CoClustering and NormalPredictor against scikit-surprise's, side by side in one run.

    python benchmarks/bench_coclustering.py [--ml1m PATH] [--ml100k DIR] [--threads 2] [--repeat 3]

1. Fit and prediction speed on the ML-1M prefix (487,650 ratings), 80/20 split
   (train_test_split(test_size=0.2, random_state=0): the same rows in both libraries):
   scikit-surprise's CoClustering, reckernels' native CoClustering (cython and numba
   backends, --threads threads) and the drop-in compat.surprise.CoClustering (which also
   converts the Trainset). Medians of --repeat fits, wall and CPU time (time.process_time:
   all threads' CPU seconds, the fairer measure on a loaded machine). Prediction rate: the
   native predict() on the test pairs tiled to 2 M, and scikit-surprise's test().
2. 5-fold KFold(5, random_state=0) RMSE on ML-100K, same folds: scikit-surprise's, the
   compat class's (on Surprise's folds) and the native class's (on reckernels.split.KFold's,
   which are the same rows), all with random_state=0. NormalPredictor's RMSE is random: the
   distribution over --seeds seeds for both libraries, and the exact agreement under the
   same np.random.seed.
Writes benchmarks/coclustering.png beside RESULTS.md.
"""

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def surprise_data(ds):
    import pandas as pd
    import surprise

    df = pd.DataFrame({"u": ds.users, "i": ds.items, "r": ds.ratings})
    return surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=ds.rating_scale))


def speed(args):
    import surprise
    from surprise.model_selection import train_test_split as s_split

    import reckernels as rk
    from reckernels.compat import surprise as compat

    data = rk.datasets.read_ratings(args.ml1m)
    train, test = rk.split.train_test_split(data, test_size=0.2, random_state=0)
    s_train, s_test = s_split(surprise_data(data), test_size=0.2, random_state=0)
    from reckernels.algorithms.coclustering import _STEPS_PER_UNIT

    used = rk.backends.threads_for(len(train) * 3 // _STEPS_PER_UNIT, args.threads)
    print(f"ML-1M prefix: {data}; train {len(train)} / test {len(test)} ratings; n_threads={args.threads} "
          f"(the fit kernels use {used} at this size: backends.threads_for)")
    times = {}
    for _ in range(args.repeat):
        theirs, w, c = timed(lambda: surprise.CoClustering(random_state=0).fit(s_train))
        times.setdefault("scikit-surprise", []).append((w, c))
        for backend in ("cython", "numba"):
            rk.CoClustering(random_state=0, backend=backend, n_threads=args.threads).fit(train)  # JIT warm-up
            ours, w, c = timed(lambda: rk.CoClustering(random_state=0, backend=backend,
                                                       n_threads=args.threads).fit(train))
            times.setdefault(f"reckernels {backend}", []).append((w, c))
        drop, w, c = timed(lambda: compat.CoClustering(random_state=0).fit(s_train))
        times.setdefault("compat (Trainset in)", []).append((w, c))
    base_w = statistics.median(w for w, _ in times["scikit-surprise"])
    base_c = statistics.median(c for _, c in times["scikit-surprise"])
    fit_rows = []
    print(f"  fit (20 epochs), median of {args.repeat}:")
    for name, t in times.items():
        w, c = statistics.median(x for x, _ in t), statistics.median(y for _, y in t)
        fit_rows.append((name, w, c))
        print(f"    {name:<22} wall {w:7.3f} s  x{base_w / w:6.1f}   CPU {c:7.3f} s  x{base_c / c:6.1f}")

    s_est = np.array([p.est for p in theirs.test(s_test)])
    su, si = test.users, test.items
    est = ours.predict(su, si)
    print(f"  same predictions as scikit-surprise: native max |diff| {np.abs(est - s_est).max():.1e}, "
          f"compat {np.abs(np.array([p.est for p in drop.test(s_test)]) - s_est).max():.1e}")
    reps = max(1, 2_000_000 // len(test))
    bu, bi = np.tile(su, reps), np.tile(si, reps)
    u, i = ours.user_map_.to_inner(bu), ours.item_map_.to_inner(bi)
    ours.predict(bu[:10], bi[:10])
    rates = {}
    _, w, c = timed(lambda: ours.predict(bu, bi))
    rates["native predict (raw ids)"] = (len(bu) / w, len(bu) / c)
    _, w, c = timed(lambda: ours._estimate(u, i))
    rates["native kernel (inner ids)"] = (len(bu) / w, len(bu) / c)
    _, w, c = timed(lambda: drop.test(s_test))
    rates["compat test()"] = (len(s_test) / w, len(s_test) / c)
    _, w, c = timed(lambda: theirs.test(s_test))
    rates["scikit-surprise test()"] = (len(s_test) / w, len(s_test) / c)
    print("  prediction rate:")
    for name, (w, c) in rates.items():
        print(f"    {name:<26} {w / 1e6:8.3f} M/s wall   {c / 1e6:8.3f} M/s per CPU second")
    return fit_rows, rates


def accuracy(args):
    import surprise
    from surprise.accuracy import rmse
    from surprise.model_selection import KFold

    import reckernels as rk
    from reckernels.compat import surprise as compat

    reader = surprise.Reader("ml-100k")
    s_data = surprise.Dataset.load_from_file(str(args.ml100k / "u.data"), reader)
    data = rk.datasets.read_ratings(args.ml100k / "u.data")
    folds = list(KFold(5, random_state=0).split(s_data))
    theirs = [rmse(surprise.CoClustering(random_state=0).fit(a).test(b), verbose=False) for a, b in folds]
    drop = [rmse(compat.CoClustering(random_state=0).fit(a).test(b), verbose=False) for a, b in folds]
    native = rk.evaluation.cross_validate(rk.CoClustering(random_state=0, n_threads=args.threads), data,
                                          cv=rk.split.KFold(5, random_state=0), measures=("rmse",))["test_rmse"]
    print("\nML-100K, KFold(5, random_state=0), CoClustering(random_state=0) RMSE per fold:")
    print(f"  scikit-surprise {np.round(theirs, 6).tolist()}  mean {np.mean(theirs):.6f}")
    for name, got in (("compat", drop), ("native", native)):
        print(f"  {name:<15} {np.round(got, 6).tolist()}  max |diff| {np.abs(np.subtract(got, theirs)).max():.1e}")

    def normal_rmse(cls, seed):
        np.random.seed(seed)
        return [rmse(cls().fit(a).test(b), verbose=False) for a, b in folds]

    same = [normal_rmse(surprise.NormalPredictor, s) == normal_rmse(compat.NormalPredictor, s) for s in range(3)]
    s_dist = np.array([normal_rmse(surprise.NormalPredictor, 100 + s) for s in range(args.seeds)])
    c_dist = np.array([normal_rmse(compat.NormalPredictor, 500 + s) for s in range(args.seeds)])
    print(f"NormalPredictor RMSE (5 folds x {args.seeds} seeds, different seeds per library): "
          f"scikit-surprise {s_dist.mean():.4f} +- {s_dist.std():.4f}, compat {c_dist.mean():.4f} +- "
          f"{c_dist.std():.4f}; identical under the same np.random.seed: {all(same)}")
    return theirs, drop, native, s_dist.ravel(), c_dist.ravel()


def plot(fit_rows, rates, acc, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    names = [n for n, _, _ in fit_rows]
    x = np.arange(len(names))
    ax[0].bar(x - 0.2, [w for _, w, _ in fit_rows], 0.4, label="wall")
    ax[0].bar(x + 0.2, [c for _, _, c in fit_rows], 0.4, label="CPU")
    ax[0].set_xticks(x, names, rotation=20, ha="right", fontsize=8)
    ax[0].set_yscale("log")
    ax[0].set_ylabel("seconds")
    ax[0].set_title("CoClustering fit, ML-1M prefix (390k ratings)")
    ax[0].legend()
    rn = list(rates)
    ax[1].barh(rn, [rates[n][0] / 1e6 for n in rn])
    ax[1].set_xscale("log")
    ax[1].set_xlabel("M predictions / s (wall)")
    ax[1].set_title("prediction rate")
    theirs, drop, native, s_dist, c_dist = acc
    f = np.arange(1, 6)
    ax[2].plot(f, theirs, "o-", label="CoClustering scikit-surprise")
    ax[2].plot(f, drop, "x--", label="CoClustering compat")
    ax[2].plot(f, native, "+:", label="CoClustering native")
    ax[2].set_xlabel("fold")
    ax[2].set_ylabel("RMSE")
    ax[2].set_title("ML-100K 5-fold RMSE")
    ins = ax[2].inset_axes([0.55, 0.45, 0.42, 0.3])
    ins.hist([s_dist, c_dist], bins=10, label=["Surprise", "compat"])
    ins.set_title("NormalPredictor RMSE", fontsize=7)
    ins.tick_params(labelsize=6)
    ins.legend(fontsize=6)
    ax[2].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nplot: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ml1m", type=Path, default=SHARED / "ml-1m-partial" / "ratings.first487650.dat.gz")
    ap.add_argument("--ml100k", type=Path, default=SHARED / "ml-100k")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"command: python benchmarks/bench_coclustering.py --threads {args.threads} --repeat {args.repeat} "
          f"--seeds {args.seeds}\n")
    fit_rows, rates = speed(args)
    acc = accuracy(args)
    plot(fit_rows, rates, acc, Path(__file__).resolve().parent / "coclustering.png")


if __name__ == "__main__":
    main()
