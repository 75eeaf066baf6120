"""SVD and SVD++ (SGD) against scikit-surprise, side by side in one run.

    python benchmarks/bench_sgd.py                       # every section
    python benchmarks/bench_sgd.py --section speed --repeat 3 --threads 2

Sections:

- ``accuracy``: 5-fold RMSE on MovieLens 100K (u.data) with reckernels.split.KFold(5,
  random_state=0) and scikit-surprise's KFold(5, random_state=0) (the same folds, row for
  row), our parallel kernels (SVD blocked, SVD++ Hogwild) beside scikit-surprise's SVD and SVDpp, all with
  random_state=0 and the default hyper-parameters.
- ``speed``: SVD with 100 factors, 20 epochs, on the MovieLens 1M prefix (80/20 split,
  random_state=0): rating updates per second of scikit-surprise and of each of our kernels,
  median of --repeat fits, and the share of the machine's FLOP rate and memory bandwidth.
- ``svdpp``: one SVD++ epoch (20 factors) on fold 1 of MovieLens 100K: scikit-surprise (one
  epoch, timed --repeat times) against ours (20 epochs, per epoch). scikit-surprise's 5-fold
  x 20-epoch time is scaled from its epoch: 100 fold-epochs.
- ``synthetic``: SVD on make_ratings(69878, 10677, 10M) (MovieLens 10M's shape), 100
  factors: scikit-surprise for one epoch against our blocked float32 kernel for 20 epochs (the
  fastest setting on the prefix), as rating updates per second.

Flop count per SVD update with k factors: the dot product 2k, each of the two factor updates
5k (err*q, reg*p, subtract, times lr, add), so 12k (+10 for the biases). Bytes per update:
the user's and the item's factor rows read and written (4k values) plus the rating's
(user, item, rating) record; most of it hits the caches, so the bandwidth share is an
upper bound of DRAM traffic, not a measurement of it.
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
ML100K = SHARED / "ml-100k" / "u.data"
PREFIX = SHARED / "ml-1m-partial" / "ratings.first487650.dat.gz"
PEAK_FLOPS = 214e9  # float32, 2 cores (float64: half)
PEAK_BYTES = 30e9


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def rmse(model, test):
    est = model.predict(test.users, test.items)
    return float(np.sqrt(np.mean((est - test.ratings) ** 2)))


def surprise_trainset(ds):
    import pandas as pd
    from surprise import Dataset, Reader

    df = pd.DataFrame({"u": ds.users, "i": ds.items, "r": ds.ratings})
    return Dataset.load_from_df(df, Reader(rating_scale=ds.rating_scale)).build_full_trainset()


def surprise_rmse(algo, test):
    preds = algo.test(list(zip(test.users, test.items, test.ratings)))
    return float(np.sqrt(np.mean([(p.est - p.r_ui) ** 2 for p in preds])))


# ------------------------------------------------------------------------------------- sections
def accuracy(args):
    import reckernels as rk
    from surprise import SVD, Dataset, Reader, SVDpp
    from surprise.accuracy import rmse as s_rmse
    from surprise.model_selection import KFold

    data = rk.datasets.read_ratings(ML100K)
    folds = list(rk.split.KFold(5, random_state=0).split(data))
    s_data = Dataset.load_from_file(str(ML100K), Reader("ml-100k"))
    s_folds = list(KFold(5, random_state=0).split(s_data))
    assert [len(t) for _, t in folds] == [len(t) for _, t in s_folds], "the two KFolds disagree"
    print(f"5-fold RMSE on {ML100K.name} ({data}), random_state=0, default hyper-parameters")
    configs = [
        ("SVD", rk.SVD, "blocked", SVD, {}),
        ("SVDpp", rk.SVDpp, "hogwild", SVDpp, {"cache_ratings": True}),
    ]
    for name, ours, schedule, theirs, their_extra in configs:
        rows = {}
        for dtype in ("float64", "float32"):
            label = f"reckernels {schedule} {dtype}, {args.threads} threads"
            model = ours(schedule=schedule, dtype=dtype, n_threads=args.threads, random_state=0)
            rows[label] = [rmse(model.fit(train), test) for train, test in folds]
        if name == "SVDpp" and args.skip_surprise_svdpp:
            print("  (scikit-surprise SVDpp skipped: --skip-surprise-svdpp)")
        else:
            rows["scikit-surprise"] = [s_rmse(theirs(random_state=0, **their_extra).fit(tr).test(te), verbose=False)
                                       for tr, te in s_folds]
        for label, values in rows.items():
            print(f"  {name:<6} {label:<38} mean {np.mean(values):.4f}  folds {np.round(values, 4).tolist()}")
        if "scikit-surprise" in rows:
            base = np.mean(rows["scikit-surprise"])
            for label, values in rows.items():
                if label != "scikit-surprise":
                    print(f"  {name:<6} {label:<38} - scikit-surprise = {np.mean(values) - base:+.4f} (goal <= +0.002)")


def speed(args):
    import reckernels as rk
    from surprise import SVD

    data = rk.datasets.read_ratings(PREFIX)
    train, test = rk.split.train_test_split(data, test_size=0.2, random_state=0)
    n_up = 20 * len(train)
    print(f"SVD, 100 factors, 20 epochs on the ML-1M prefix: train {train}; {n_up:,} updates per fit; "
          f"median of {args.repeat}")
    trainset = surprise_trainset(train)
    t_s, algo = median_time(lambda: SVD(random_state=0).fit(trainset), args.repeat)
    base = n_up / t_s
    print(f"  {'scikit-surprise SVD':<40} {t_s:7.2f} s  {base / 1e6:6.2f} M upd/s   x{1.0:6.1f}   "
          f"test RMSE {surprise_rmse(algo, test):.4f}")
    configs = [("exact", "float64", 1), ("blocked", "float64", args.threads), ("blocked", "float32", args.threads)]
    for backend in ("cython", "numba"):
        rk.SVD(n_epochs=1, backend=backend, schedule="blocked", dtype="float32").fit(train)  # JIT warm-up
        rk.SVD(n_epochs=1, backend=backend, schedule="blocked").fit(train)
        rk.SVD(n_epochs=1, backend=backend).fit(train)
        for schedule, dtype, threads in configs:
            model = rk.SVD(schedule=schedule, dtype=dtype, n_threads=threads, backend=backend, random_state=0)
            t, _ = median_time(lambda: model.fit(train), args.repeat)
            rate = n_up / t
            size = np.dtype(dtype).itemsize
            flops = rate * (12 * 100 + 10)
            peak = PEAK_FLOPS if dtype == "float32" else PEAK_FLOPS / 2
            traffic = rate * (4 * 100 * size + 4 + 4 + size)
            print(f"  {backend + ' ' + schedule + ' ' + dtype + f' {threads}T':<40} {t:7.2f} s  {rate / 1e6:6.2f} M upd/s"
                  f"   x{rate / base:6.1f}   test RMSE {rmse(model, test):.4f}   {flops / 1e9:5.1f} GFLOP/s "
                  f"({100 * flops / peak:4.1f}% of peak {dtype})  {traffic / 1e9:5.1f} GB/s "
                  f"({100 * traffic / PEAK_BYTES:4.0f}% of 30 GB/s)")


def svdpp(args):
    import reckernels as rk
    from surprise import SVDpp

    data = rk.datasets.read_ratings(ML100K)
    train, test = next(iter(rk.split.KFold(5, random_state=0).split(data)))
    trainset = surprise_trainset(train)
    print(f"SVD++ (20 factors) on ML-100K fold 1: train {train}; median of {args.repeat}")
    t_s, _ = median_time(lambda: SVDpp(n_epochs=1, random_state=0, cache_ratings=True).fit(trainset), args.repeat)
    print(f"  {'scikit-surprise SVDpp, 1 epoch':<40} {t_s:7.3f} s/epoch   x{1.0:7.1f}   "
          f"(5 folds x 20 epochs ~ {100 * t_s:.0f} s)")
    for backend in ("cython", "numba"):
        for schedule, dtype, threads in (("exact", "float64", 1), ("hogwild", "float64", args.threads),
                                         ("hogwild", "float32", args.threads)):
            model = rk.SVDpp(schedule=schedule, dtype=dtype, n_threads=threads, backend=backend, random_state=0)
            model.set_params(n_epochs=1).fit(train)  # JIT warm-up
            model.set_params(n_epochs=20)
            t, _ = median_time(lambda: model.fit(train), args.repeat)
            print(f"  {backend + ' ' + schedule + ' ' + dtype + f' {threads}T':<40} {t / 20:7.3f} s/epoch   "
                  f"x{t_s / (t / 20):7.1f}   (20 epochs {t:.2f} s, test RMSE {rmse(model, test):.4f})")


def synthetic(args):
    import reckernels as rk
    from surprise import SVD

    start = time.perf_counter()
    data = rk.datasets.make_ratings(69878, 10677, 10_000_000, random_state=0, timestamps=False)
    print(f"SVD, 100 factors on make_ratings(69878, 10677, 10M) ({data}, built in "
          f"{time.perf_counter() - start:.0f} s): scikit-surprise 1 epoch (1 run), ours 20 epochs "
          f"(median of {args.repeat}; the fit includes building the grid)")
    trainset = surprise_trainset(data)
    start = time.perf_counter()
    SVD(n_epochs=1, random_state=0).fit(trainset)
    base = len(data) / (time.perf_counter() - start)
    del trainset
    print(f"  {'scikit-surprise SVD, 1 epoch':<40} {len(data) / base:7.2f} s  {base / 1e6:6.2f} M upd/s   x{1.0:6.1f}")
    for backend in ("cython", "numba"):
        model = rk.SVD(n_epochs=20, schedule="blocked", dtype="float32", n_threads=args.threads, backend=backend,
                       random_state=0)
        t, _ = median_time(lambda: model.fit(data), args.repeat)
        rate = 20 * len(data) / t
        print(f"  {backend + ' blocked float32' + f' {args.threads}T, 20 epochs':<40} {t:7.2f} s  "
              f"{rate / 1e6:6.2f} M upd/s   x{rate / base:6.1f}   train RMSE {model.history_[-1]['train_rmse']:.4f}")


SECTIONS = {"accuracy": accuracy, "speed": speed, "svdpp": svdpp, "synthetic": synthetic}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--section", choices=sorted(SECTIONS), action="append",
                    help="run only this section (repeatable); default: all")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-surprise-svdpp", action="store_true",
                    help="leave out scikit-surprise's 5-fold SVDpp in the accuracy section (minutes)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {platform.processor()}, {os.cpu_count()} cores; threads: {args.threads}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"command: python {' '.join(sys.argv)}\n")
    for name in args.section or list(SECTIONS):
        start = time.perf_counter()
        SECTIONS[name](args)
        print(f"[{name}: {time.perf_counter() - start:.0f} s]\n", flush=True)


if __name__ == "__main__":
    main()
