"""SVD and SVD++ (SGD) against scikit-surprise, side by side in one run.

    python benchmarks/bench_sgd.py                       # every section
    python benchmarks/bench_sgd.py --section speed --section synthetic --repeat 3 --threads 2

Sections:

- ``accuracy``: 5-fold RMSE on MovieLens 100K (u.data) with reckernels.split.KFold(5,
  random_state=0) and scikit-surprise's KFold(5, random_state=0) (the same folds, row for
  row): reckernels' defaults (SVD: blocked float32; SVD++: Hogwild float32) and the exact
  schedule beside scikit-surprise's SVD and SVDpp, all with random_state=0 and the default
  hyper-parameters; then the same on the ML-1M prefix's 80/20 split.
- ``speed``: SVD with 100 factors, 20 epochs, on the MovieLens 1M prefix (80/20 split,
  random_state=0): rating updates per second of scikit-surprise, of ``rk.SVD()`` as a user
  gets it and of the other kernels, wall time (median of --repeat fits, the fit includes
  building the grid and drawing the factors) and, for the single-thread lines, CPU time
  (time.process_time: less disturbed by other jobs on a shared machine); then the default fit's
  grid build, compiled (what ``rk.SVD()`` runs) against NumPy's sort, beside the factor draws.
- ``grid``: ``rk.SVD()`` (100 factors, 20 epochs, --threads threads) on the ML-1M prefix with
  n_blocks = 1, 2, 4 and 8 per thread (the default is ``BLOCKS_PER_THREAD``, see
  reckernels/algorithms/svd.py): updates/s (median of --repeat fits, rounds interleaved so that
  a burst of load hits every grid alike) and test RMSE against the exact schedule's.
- ``svdpp``: one SVD++ epoch (20 factors) on fold 1 of MovieLens 100K: scikit-surprise (one
  epoch, timed --repeat times) against ours (20 epochs, per epoch).
- ``synthetic``: SVD on make_ratings(69878, 10677, 10M) (MovieLens 10M's shape), 100
  factors: scikit-surprise for one epoch (extrapolated to 20) against ``rk.SVD()`` and the
  other kernels for 20 epochs, and the grid build as in ``speed``.

Every speed section also times the float32 GEMM of the same run (numpy, 2048 x 2048, --threads
BLAS threads) and reports each kernel's share of it. Flops per SVD update with k factors are
counted as the update rule is written (and as scikit-surprise executes it): the dot product 2k,
each of the two factor updates 5k (err*q, reg*p, subtract, times lr, add), the error and the
biases 10, so 12k + 10. (The Cython cell rewrites the step as a*p + b*q and executes 8k + ~20:
its share of the GEMM rate on this count is the algorithm's throughput, not the FPU's.)

``--plot`` (default: benchmarks/sgd_speed.png) draws updates/s per kernel against
scikit-surprise and the GEMM rate expressed in updates/s (GEMM FLOP/s / (12k + 10)).
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

#: ../shared/data beside the checkout, or $RECKERNELS_SHARED_DATA (e.g. from a git worktree)
SHARED = Path(os.environ.get("RECKERNELS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
ML100K = SHARED / "ml-100k" / "u.data"
PREFIX = SHARED / "ml-1m-partial" / "ratings.first487650.dat.gz"
K = 100  # factors in the speed sections


def flops_per_update(k):
    return 12 * k + 10


def gemm_rate(threads, n=2048, repeat=3):
    """float32 FLOP/s of numpy's matmul (n x n) on ``threads`` BLAS threads, median of ``repeat``."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    with threadpool_limits(threads):
        a @ b
        t, _ = median_time(lambda: a @ b, repeat)
    return 2 * n ** 3 / t


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def median_times(fn, repeat):
    """(median wall seconds, median CPU seconds of this process, the last result)."""
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), result


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
    prefix = rk.datasets.read_ratings(PREFIX)
    split = [rk.split.train_test_split(prefix, test_size=0.2, random_state=0)]
    print(f"Test RMSE, random_state=0, default hyper-parameters; reckernels on {args.threads} threads")
    configs = [("SVD", rk.SVD, SVD, {}), ("SVDpp", rk.SVDpp, SVDpp, {"cache_ratings": True})]
    for set_name, sets, theirs_sets in ((f"{ML100K.name} 5-fold", folds, s_folds), ("ML-1M prefix 80/20", split, None)):
        for name, ours, theirs, their_extra in configs:
            rows = {}
            for label, kwargs in ((f"rk.{name}() (default: {ours().schedule} float32)", {}),
                                  ("schedule='exact' (float64)", {"schedule": "exact"})):
                rows[label] = [rmse(ours(n_threads=args.threads, random_state=0, **kwargs).fit(train), test)
                               for train, test in sets]
            if theirs_sets is not None and not (name == "SVDpp" and args.skip_surprise_svdpp):
                rows["scikit-surprise"] = [s_rmse(theirs(random_state=0, **their_extra).fit(tr).test(te),
                                                  verbose=False) for tr, te in theirs_sets]
            exact = np.mean(rows["schedule='exact' (float64)"])
            for label, values in rows.items():
                print(f"  {set_name:<20} {name:<6} {label:<40} mean {np.mean(values):.4f} "
                      f"(- exact {np.mean(values) - exact:+.4f}; goal <= +0.002)  folds {np.round(values, 4).tolist()}")


def svd_kernels(threads, large=False):
    """(label, constructor kwargs) of the SVD kernels a speed section times; the first is what
    ``rk.SVD()`` gives a user. ``large`` (10M ratings) leaves out the slow serial orders."""
    kernels = [("rk.SVD() default (cython blocked float32)", {"n_threads": threads}),
               ("cython blocked float32, 1 thread", {"n_threads": 1}),
               ("cython blocked float64", {"dtype": "float64", "n_threads": threads}),
               ("cython exact float64 (= scikit-surprise)", {"schedule": "exact"}),
               ("numba blocked float32", {"backend": "numba", "n_threads": threads}),
               ("numba blocked float32, 1 thread", {"backend": "numba", "n_threads": 1})]
    return [(label, kw) for label, kw in kernels if not (large and ("exact" in label or "numba" in label
                                                                   and kw["n_threads"] == 1))]


def time_svd_kernels(args, train, test, n_epochs, base_rate, gemm, rows):
    """Fit each kernel (a 1-epoch warm-up first: Numba's JIT) and print/append its row."""
    import reckernels as rk

    n_up = n_epochs * len(train)
    for label, kwargs in svd_kernels(args.threads, large=len(train) > 5_000_000):
        rk.SVD(n_factors=K, n_epochs=1, random_state=0, **kwargs).fit(train)
        model = rk.SVD(n_factors=K, n_epochs=n_epochs, random_state=0, **kwargs)
        wall, cpu, _ = median_times(lambda: model.fit(train), args.repeat)
        rate, cpu_rate = n_up / wall, n_up / cpu
        flops = rate * flops_per_update(K)
        quality = (f"test RMSE {rmse(model, test):.4f}" if test is not None
                   else f"train RMSE {model.history_[-1]['train_rmse']:.4f}")
        one_thread = kwargs.get("n_threads") == 1 or kwargs.get("schedule") == "exact"
        cpu_note = f"  cpu {cpu:6.2f} s = {cpu_rate / 1e6:6.2f} M upd/cpu-s" if one_thread else ""
        print(f"  {label:<44} {wall:7.2f} s  {rate / 1e6:6.2f} M upd/s   x{rate / base_rate:6.1f} surprise   "
              f"{flops / 1e9:5.1f} GFLOP/s = {100 * flops / gemm:4.1f}% of GEMM   {quality}{cpu_note}", flush=True)
        rows.append((label, rate))


def print_gemm(args):
    gemm = gemm_rate(args.threads)
    print(f"  {'numpy float32 GEMM 2048^2, ' + str(args.threads) + ' threads':<44} {gemm / 1e9:7.1f} GFLOP/s = "
          f"{gemm / flops_per_update(K) / 1e6:.1f} M 'updates'/s at {flops_per_update(K)} flops per update")
    return gemm


def speed(args):
    import reckernels as rk
    from surprise import SVD

    data = rk.datasets.read_ratings(PREFIX)
    train, test = rk.split.train_test_split(data, test_size=0.2, random_state=0)
    n_up = 20 * len(train)
    print(f"SVD, {K} factors, 20 epochs on the ML-1M prefix: train {train}; {n_up:,} updates per fit; "
          f"median of {args.repeat}; load average {os.getloadavg()[0]:.1f}")
    gemm = print_gemm(args)
    trainset = surprise_trainset(train)
    t_s, c_s, algo = median_times(lambda: SVD(random_state=0).fit(trainset), args.repeat)
    base = n_up / t_s
    print(f"  {'scikit-surprise SVD':<44} {t_s:7.2f} s  {base / 1e6:6.2f} M upd/s   x{1.0:6.1f} surprise   "
          f"test RMSE {surprise_rmse(algo, test):.4f}  cpu {c_s:6.2f} s = {n_up / c_s / 1e6:6.2f} M upd/cpu-s")
    rows = [("scikit-surprise SVD", base)]
    time_svd_kernels(args, train, test, 20, base, gemm, rows)
    PLOT_DATA["ML-1M prefix (390k ratings)"] = (rows, gemm)
    print_grid_build(args, train)


def synthetic(args):
    import reckernels as rk
    from surprise import SVD

    start = time.perf_counter()
    data = rk.datasets.make_ratings(69878, 10677, 10_000_000, random_state=0, timestamps=False)
    print(f"SVD, {K} factors on make_ratings(69878, 10677, 10M) ({data}, built in "
          f"{time.perf_counter() - start:.0f} s): scikit-surprise 1 epoch (1 run, its rate stands for 20), "
          f"ours 20 epochs (median of {args.repeat}); load average {os.getloadavg()[0]:.1f}")
    gemm = print_gemm(args)
    trainset = surprise_trainset(data)
    start = time.perf_counter()
    SVD(n_epochs=1, random_state=0).fit(trainset)
    base = len(data) / (time.perf_counter() - start)
    del trainset
    print(f"  {'scikit-surprise SVD, 1 epoch':<44} {len(data) / base:7.2f} s  {base / 1e6:6.2f} M upd/s   "
          f"x{1.0:6.1f} surprise   (20 epochs ~ {20 * len(data) / base:.0f} s)")
    rows = [("scikit-surprise SVD", base)]
    time_svd_kernels(args, data, None, 20, base, gemm, rows)
    PLOT_DATA["10M synthetic"] = (rows, gemm)
    print_grid_build(args, data)


def print_grid_build(args, data):
    """The blocked schedule's grid for the default fit (BLOCKS_PER_THREAD blocks per thread): the
    compiled counting sort that ``rk.SVD()`` uses against NumPy's stable sort, which defines it,
    and the factor draws that run beside it in a fit on more than one thread."""
    from reckernels.algorithms.svd import BLOCKS_PER_THREAD, build_grid, row_blocks, numpy_grid

    c, n_blocks = data.csr, BLOCKS_PER_THREAD * args.threads
    blocks = row_blocks(c, n_blocks)
    compiled = median_time(lambda: build_grid(c, n_blocks, np.dtype(np.float32)), args.repeat)[0]
    plain = median_time(lambda: numpy_grid(c, *blocks, n_blocks, np.dtype(np.float32)), args.repeat)[0]
    draws = median_time(lambda: np.random.RandomState(0).normal(0, 0.1, (data.n_users + data.n_items, K)),
                        args.repeat)[0]
    print(f"  grid of {n_blocks} x {n_blocks} cells: compiled {compiled * 1e3:.1f} ms, NumPy sort {plain * 1e3:.1f} ms "
          f"(x{plain / compiled:.1f}); the factor draws beside it {draws * 1e3:.1f} ms (median of {args.repeat})")


PLOT_DATA = {}


def plot(path):
    """updates/s per kernel (log scale), one panel per data set, scikit-surprise and the GEMM
    rate (in updates/s) as reference lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PLOT_DATA), figsize=(7 * len(PLOT_DATA), 5), squeeze=False)
    for ax, (title, (rows, gemm)) in zip(axes[0], PLOT_DATA.items()):
        labels = [label for label, _ in rows]
        rates = np.array([rate for _, rate in rows]) / 1e6
        colours = ["tab:grey"] + ["tab:blue" if "cython" in l or "default" in l else "tab:orange" for l in labels[1:]]
        ax.barh(range(len(rows)), rates, color=colours)
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(rates[0], color="tab:grey", linestyle=":", label="scikit-surprise")
        ax.axvline(gemm / flops_per_update(K) / 1e6, color="tab:red", linestyle="--",
                   label=f"float32 GEMM ({gemm / 1e9:.0f} GFLOP/s) / {flops_per_update(K)} flops")
        for y, r in enumerate(rates):
            ax.text(r, y, f" {r:.1f} (x{r / rates[0]:.0f})", va="center", fontsize=8)
        ax.set_xlabel("million rating updates per second (SVD, 100 factors)")
        ax.set_title(title)
        ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"{cpu_name()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                 f"load average {os.getloadavg()[0]:.1f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


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
                                         ("hogwild", "float32", args.threads)):  # the last: rk.SVDpp()
            model = rk.SVDpp(schedule=schedule, dtype=dtype, n_threads=threads, backend=backend, random_state=0)
            model.set_params(n_epochs=1).fit(train)  # JIT warm-up
            model.set_params(n_epochs=20)
            t, _ = median_time(lambda: model.fit(train), args.repeat)
            print(f"  {backend + ' ' + schedule + ' ' + dtype + f' {threads}T':<40} {t / 20:7.3f} s/epoch   "
                  f"x{t_s / (t / 20):7.1f}   (20 epochs {t:.2f} s, test RMSE {rmse(model, test):.4f})")


def grid(args):
    import reckernels as rk
    from reckernels.algorithms.svd import BLOCKS_PER_THREAD

    data = rk.datasets.read_ratings(PREFIX)
    train, test = rk.split.train_test_split(data, test_size=0.2, random_state=0)
    n_up = 20 * len(train)
    exact = rmse(rk.SVD(n_factors=K, schedule="exact", random_state=0).fit(train), test)
    print(f"rk.SVD() ({K} factors, 20 epochs, {args.threads} threads) on the ML-1M prefix by grid size; "
          f"median of {args.repeat}; default {BLOCKS_PER_THREAD} blocks per thread; exact schedule's test RMSE "
          f"{exact:.4f}; load average {os.getloadavg()[0]:.1f}")
    per_thread = (1, 2, 4, 8)
    models = {m: rk.SVD(n_factors=K, n_blocks=m * args.threads, n_threads=args.threads, random_state=0)
              for m in per_thread}
    times = {m: [] for m in per_thread}
    for model in models.values():
        model.fit(train)  # warm-up
    for _ in range(args.repeat):  # rounds interleaved: load that comes and goes hits every grid alike
        for m, model in models.items():
            start = time.perf_counter()
            model.fit(train)
            times[m].append(time.perf_counter() - start)
    for m, model in models.items():
        wall = statistics.median(times[m])
        print(f"  n_blocks={m * args.threads:<4} ({m} per thread){' default' if m == BLOCKS_PER_THREAD else '        '}"
              f"  {wall:6.3f} s  {n_up / wall / 1e6:6.2f} M upd/s  (best {n_up / min(times[m]) / 1e6:6.2f})  "
              f"test RMSE {rmse(model, test):.4f} ({rmse(model, test) - exact:+.4f} vs exact)", flush=True)


SECTIONS = {"accuracy": accuracy, "grid": grid, "speed": speed, "svdpp": svdpp, "synthetic": synthetic}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--section", choices=sorted(SECTIONS), action="append",
                    help="run only this section (repeatable); default: all")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-surprise-svdpp", action="store_true",
                    help="leave out scikit-surprise's 5-fold SVDpp in the accuracy section (minutes)")
    ap.add_argument("--plot", default=str(Path(__file__).resolve().parent / "sgd_speed.png"),
                    help="PNG of the speed sections ('' for none)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {cpu_name()}, {os.cpu_count()} cores; threads: {args.threads}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"command: python {' '.join(sys.argv)}\n")
    for name in args.section or list(SECTIONS):
        start = time.perf_counter()
        SECTIONS[name](args)
        print(f"[{name}: {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f}]\n", flush=True)
    if PLOT_DATA and args.plot:
        plot(args.plot)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


if __name__ == "__main__":
    main()
