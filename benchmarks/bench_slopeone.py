"""SlopeOne against scikit-surprise's, side by side in one run.

    python benchmarks/bench_slopeone.py [--threads 2] [--repeat 5] [--surprise-pairs 20000]

1. The ML-1M prefix (../shared/data/ml-1m-partial, 487,650 ratings), an 80/20
   train_test_split(random_state=0): fit time of reckernels.SlopeOne (median of --repeat runs)
   and of scikit-surprise's SlopeOne on the same training set, wall and CPU time (process_time:
   the fairer ratio on a loaded machine); prediction rate of ours over >= 1M pairs (the test
   pairs repeated) and of scikit-surprise's ``test`` over --surprise-pairs pairs, and the largest
   difference between the two libraries' estimates on those pairs.
2. Memory: the tracemalloc peak of our fit against the size of the stored result (the ML-1M
   prefix above), and on ml-latest-small the fit's tracemalloc peak and the whole process's RSS
   high-water mark (fresh subprocesses: import, read, fit with the defaults; the RSS one runs
   without tracemalloc, whose bookkeeping would inflate it).
3. ML-100K u.data, KFold(5, random_state=0): per-fold RMSE of ours (reckernels.evaluation with
   reckernels.split.KFold, which reproduces scikit-surprise's folds, and compat.surprise.SlopeOne
   in scikit-surprise's cross_validate) and of scikit-surprise's SlopeOne.

Writes benchmarks/bench_slopeone.png (fit times, prediction rates, memory) beside RESULTS.md
and prints the figures; copy them into RESULTS.md by hand.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")
ML1M_PREFIX = DATA / "ml-1m-partial" / "ratings.first487650.dat.gz"
ML_SMALL = DATA / "ml-latest-small" / "ratings.csv"
ML100K = DATA / "ml-100k" / "u.data"
PNG = Path(__file__).resolve().parent / "bench_slopeone.png"


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def surprise_trainset(ds):
    import pandas as pd
    import surprise

    df = pd.DataFrame({"u": ds.users, "i": ds.items, "r": ds.ratings})
    return surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=ds.rating_scale)).build_full_trainset()


def section_ml1m(args):
    import surprise

    import reckernels as rk

    data = rk.datasets.read_ratings(ML1M_PREFIX)
    train, test = rk.split.train_test_split(data, test_size=0.2, random_state=0)
    print(f"== ML-1M prefix: {data}; train {train.n_ratings:,}, test {test.n_ratings:,} ratings, "
          f"{train.n_items:,} items; {args.threads} threads")
    ts = surprise_trainset(train)
    theirs, s_wall, s_cpu = timed(lambda: surprise.SlopeOne().fit(ts))
    runs = [timed(lambda: rk.SlopeOne(n_threads=args.threads).fit(train)) for _ in range(args.repeat)]
    ours = runs[-1][0]
    o_wall = statistics.median(r[1] for r in runs)
    o_cpu = statistics.median(r[2] for r in runs)
    print(f"fit   scikit-surprise: {s_wall:.3f} s wall, {s_cpu:.3f} s CPU")
    print(f"fit   reckernels ({ours.storage_}, {ours.backend_}): {o_wall:.3f} s wall, {o_cpu:.3f} s CPU "
          f"(median of {args.repeat}; runs {', '.join(f'{r[1]:.3f}' for r in runs)} s)")
    print(f"      ratio: {s_wall / o_wall:.1f}x wall, {s_cpu / o_cpu:.1f}x CPU (CPU: ours over {args.threads} threads)")
    # one thread: no OpenMP spin-waiting in the CPU time (it inflates it on a loaded machine)
    one = [timed(lambda: rk.SlopeOne(n_threads=1).fit(train)) for _ in range(args.repeat)]
    one_cpu = statistics.median(r[2] for r in one)
    print(f"fit   reckernels, 1 thread: {statistics.median(r[1] for r in one):.3f} s wall, {one_cpu:.3f} s CPU: "
          f"{s_cpu / one_cpu:.1f}x less CPU than scikit-surprise")

    reps = max(1, -(-1_000_000 // test.n_ratings))
    users, items = np.tile(test.users, reps), np.tile(test.items, reps)
    ours.predict(users[:1000], items[:1000])  # warm
    pruns = [timed(lambda: ours.predict(users, items)) for _ in range(args.repeat)]
    p_wall = statistics.median(r[1] for r in pruns)
    p_cpu = statistics.median(r[2] for r in pruns)
    sub = list(zip(test.users[:args.surprise_pairs], test.items[:args.surprise_pairs],
                   test.ratings[:args.surprise_pairs]))
    preds, sp_wall, sp_cpu = timed(lambda: theirs.test(sub))
    diff = np.abs(np.array([p.est for p in preds]) - ours.predict(test.users[:len(sub)], test.items[:len(sub)])).max()
    print(f"predict reckernels: {len(users) / p_wall / 1e6:.2f} M pairs/s wall, {len(users) / p_cpu / 1e6:.2f} M/s "
          f"per CPU second ({len(users):,} pairs, median of {args.repeat})")
    print(f"predict scikit-surprise: {len(sub) / sp_wall / 1e3:.1f} k pairs/s wall, {len(sub) / sp_cpu / 1e3:.1f} k/s "
          f"per CPU second ({len(sub):,} pairs); ratio {len(users) / p_wall / (len(sub) / sp_wall):.0f}x wall")
    print(f"      largest |ours - scikit-surprise| on those pairs: {diff:.2e}")

    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    model = rk.SlopeOne(n_threads=args.threads).fit(train)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    print(f"memory fit peak (tracemalloc): {peak / 2**20:.1f} MiB for a stored result of "
          f"{model.nbytes_ / 2**20:.1f} MiB ({model.storage_}): {peak / model.nbytes_:.2f}x\n")
    return {"s_wall": s_wall, "s_cpu": s_cpu, "o_wall": o_wall, "o_cpu": one_cpu,
            "p_rate": len(users) / p_wall, "sp_rate": len(sub) / sp_wall, "peak": peak, "stored": model.nbytes_}


_CHILD = """
import json, sys, time, tracemalloc
import reckernels as rk
data = rk.datasets.read_ratings(sys.argv[1])
threads, traced = int(sys.argv[2]), sys.argv[3] == "1"
if traced:  # tracemalloc's own bookkeeping inflates the RSS: the RSS run goes without it
    tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
t = time.perf_counter()
m = rk.SlopeOne(n_threads=threads).fit(data)
wall = time.perf_counter() - t
peak = tracemalloc.get_traced_memory()[1] - base
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec from the forked parent
hwm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"storage": m.storage_, "stored": m.nbytes_, "peak": peak, "wall": wall, "items": data.n_items,
                  "maxrss": hwm}))
"""


def section_small(args):
    def child(traced):
        out = subprocess.run([sys.executable, "-c", _CHILD, str(ML_SMALL), str(args.threads), str(int(traced))],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    r = child(False)
    r["peak"] = child(True)["peak"]
    print(f"== ml-latest-small ({r['items']:,} items), defaults (storage='auto'), fresh process")
    print(f"storage {r['storage']}: stored {r['stored'] / 2**20:.0f} MiB, fit peak (tracemalloc) "
          f"{r['peak'] / 2**20:.0f} MiB ({r['peak'] / r['stored']:.2f}x), process RSS high-water "
          f"{r['maxrss'] / 2**30:.2f} GiB (dense would store {r['items'] ** 2 * 12 / 2**30:.2f} GiB); "
          f"fit {r['wall']:.2f} s wall\n")
    return r


def section_cv(args):
    import surprise
    from surprise.model_selection import KFold, cross_validate

    import reckernels as rk
    from reckernels.compat import surprise as compat

    data = surprise.Dataset.load_from_file(str(ML100K), surprise.Reader("ml-100k"))
    theirs = cross_validate(surprise.SlopeOne(), data, measures=["rmse"], cv=KFold(5, random_state=0))
    drop_in = cross_validate(compat.SlopeOne(), data, measures=["rmse"], cv=KFold(5, random_state=0))
    native = rk.evaluation.cross_validate(rk.SlopeOne(n_threads=args.threads), rk.datasets.read_ratings(ML100K),
                                          cv=rk.split.KFold(5, random_state=0), measures=("rmse",))
    t, d, n = (np.asarray(x["test_rmse"]) for x in (theirs, drop_in, native))
    print("== ML-100K u.data, KFold(5, random_state=0) RMSE per fold")
    print("scikit-surprise        ", " ".join(f"{v:.6f}" for v in t), f"mean {t.mean():.6f}")
    print("compat.surprise        ", " ".join(f"{v:.6f}" for v in d), f"max diff {np.abs(d - t).max():.1e}")
    print("reckernels.SlopeOne    ", " ".join(f"{v:.6f}" for v in n), f"max diff {np.abs(n - t).max():.1e}")
    print(f"fit+test time, 5 folds: scikit-surprise {sum(theirs['fit_time']) + sum(theirs['test_time']):.2f} s, "
          f"compat {sum(drop_in['fit_time']) + sum(drop_in['test_time']):.2f} s, "
          f"native {sum(native['fit_time']) + sum(native['test_time']):.2f} s\n")


def plot(r1, r2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    x = np.arange(2)
    ax[0].bar(x - 0.2, [r1["s_wall"], r1["o_wall"]], 0.4, label="wall")
    ax[0].bar(x + 0.2, [r1["s_cpu"], r1["o_cpu"]], 0.4, label="CPU (ours: 1 thread)")
    ax[0].set_xticks(x, ["scikit-surprise", "reckernels"])
    ax[0].set_ylabel("seconds")
    ax[0].set_title(f"SlopeOne fit, ML-1M prefix 80%\n{r1['s_cpu'] / r1['o_cpu']:.0f}x less CPU, "
                    f"{r1['s_wall'] / r1['o_wall']:.0f}x wall")
    ax[0].legend()
    ax[1].bar(x, [r1["sp_rate"], r1["p_rate"]], color=["tab:gray", "tab:green"])
    ax[1].set_yscale("log")
    ax[1].set_xticks(x, ["scikit-surprise", "reckernels"])
    ax[1].set_ylabel("predictions / s")
    ax[1].set_title(f"predict: {r1['p_rate'] / r1['sp_rate']:.0f}x")
    mib = 2**20
    ax[2].bar(x - 0.2, [r1["stored"] / mib, r2["stored"] / mib], 0.4, label="stored result")
    ax[2].bar(x + 0.2, [r1["peak"] / mib, r2["peak"] / mib], 0.4, label="fit peak (tracemalloc)")
    ax[2].set_xticks(x, ["ML-1M prefix (dense)", f"ml-latest-small ({r2['storage']})"])
    ax[2].set_ylabel("MiB")
    ax[2].set_title("memory")
    ax[2].legend()
    fig.suptitle(f"reckernels.SlopeOne vs scikit-surprise 1.1.5 ({os.cpu_count()} cores, loaded machine)")
    fig.tight_layout()
    fig.savefig(PNG, dpi=110)
    print(f"wrote {PNG}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--surprise-pairs", type=int, default=20_000)
    ap.add_argument("--no-plot", dest="plot", action="store_false")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"command: python benchmarks/bench_slopeone.py --threads {args.threads} --repeat {args.repeat}\n")
    r1 = section_ml1m(args)
    r2 = section_small(args)
    section_cv(args)
    if args.plot:
        plot(r1, r2)


if __name__ == "__main__":
    main()
