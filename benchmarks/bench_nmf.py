"""NMF against scikit-surprise's NMF, side by side in one run.

    python benchmarks/bench_nmf.py                      # every section
    python benchmarks/bench_nmf.py --section speed --repeat 3 --threads 2

Sections:

- ``speed``: NMF with scikit-surprise's defaults (15 factors, 50 epochs), unbiased and
  biased, on the MovieLens 1M prefix (80/20 split, random_state=0): fit time of
  scikit-surprise and of our backends, median of --repeat fits, wall and CPU time
  (time.process_time: on a loaded machine the wall time of the threaded fits suffers most),
  the ratios, whether the factors are equal to scikit-surprise's, and the test RMSE. Then the
  prediction rate: ``predict`` on the test pairs (raw ids in, clipped estimates out) against
  scikit-surprise's ``test``.
- ``accuracy``: 5-fold RMSE on MovieLens 100K (u.data), reckernels.split.KFold(5,
  random_state=0) beside scikit-surprise's KFold(5, random_state=0) (the same folds, row for
  row), NMF(random_state=0) on both sides, unbiased and biased.

The plot (benchmarks/bench_nmf.png, beside RESULTS.md) shows the fit times of the speed
section and the speed-up over scikit-surprise in wall and CPU time.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
if not SHARED.exists():  # a worktree one level deeper than the main checkout
    SHARED = HERE.parents[2] / "shared" / "data"
ML100K = SHARED / "ml-100k" / "u.data"
PREFIX = SHARED / "ml-1m-partial" / "ratings.first487650.dat.gz"
PLOT = HERE / "bench_nmf.png"


def timed(fn, repeat):
    """(median wall s, median CPU s, last result) of ``repeat`` calls."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def rmse(est, truth):
    return float(np.sqrt(np.mean((np.asarray(est) - np.asarray(truth)) ** 2)))


def surprise_trainset(ds):
    import pandas as pd
    from surprise import Dataset, Reader

    df = pd.DataFrame({"u": ds.users, "i": ds.items, "r": ds.ratings})
    return Dataset.load_from_df(df, Reader(rating_scale=ds.rating_scale)).build_full_trainset()


# ------------------------------------------------------------------------------------- sections
def speed(args, rows):
    import reckernels as rk
    from surprise import NMF

    data = rk.datasets.read_ratings(PREFIX)
    train, test = rk.split.train_test_split(data, test_size=0.2, random_state=0)
    trainset = surprise_trainset(train)
    testset = list(zip(test.users, test.items, test.ratings))
    print(f"NMF, 15 factors, 50 epochs on the ML-1M prefix: train {train}; median of {args.repeat} fits "
          f"({args.surprise_repeat} for scikit-surprise)")
    for biased in (False, True):
        tag = "biased" if biased else "unbiased"
        w_s, c_s, theirs = timed(lambda: NMF(random_state=0, biased=biased).fit(trainset), args.surprise_repeat)
        their_rmse = rmse([p.est for p in theirs.test(testset)], test.ratings)
        print(f"  {tag:<8} {'scikit-surprise':<22} wall {w_s:7.3f} s  cpu {c_s:7.3f} s   x{1:6.1f} wall  "
              f"x{1:6.1f} cpu   test RMSE {their_rmse:.4f}")
        rows.append((f"surprise {tag}", w_s, c_s, 1.0, 1.0))
        for backend, threads in (("cython", 1), ("cython", args.threads), ("numba", args.threads)):
            rk.NMF(n_epochs=1, backend=backend, biased=biased).fit(train)  # JIT warm-up (numba)
            model = rk.NMF(random_state=0, biased=biased, backend=backend, n_threads=threads)
            w, c, _ = timed(lambda: model.fit(train), args.repeat)
            same = all(np.array_equal(getattr(model, a), getattr(theirs, b)) for a, b in
                       (("user_factors_", "pu"), ("item_factors_", "qi"), ("user_bias_", "bu"), ("item_bias_", "bi")))
            label = f"{backend} {threads}T"
            print(f"  {tag:<8} {label:<22} wall {w:7.3f} s  cpu {c:7.3f} s   x{w_s / w:6.1f} wall  "
                  f"x{c_s / c:6.1f} cpu   test RMSE {rmse(model.predict(test.users, test.items), test.ratings):.4f}"
                  f"   factors equal to scikit-surprise's: {same}")
            rows.append((f"{label} {tag}", w, c, w_s / w, c_s / c))
    model = rk.NMF(random_state=0, n_threads=args.threads).fit(train)
    reps = 20
    w, c, _ = timed(lambda: model.predict(test.users, test.items), reps)
    w_s, c_s, _ = timed(lambda: theirs.test(testset), 3)
    print(f"  predict {len(test):,} test pairs (raw ids): ours {len(test) / w / 1e6:6.2f} M/s wall "
          f"({len(test) / c / 1e6:6.2f} M/s cpu, median of {reps}); scikit-surprise test() "
          f"{len(test) / w_s / 1e6:6.3f} M/s wall; x{w_s / w:.0f} (goal >= 1 M/s)")


def accuracy(args, rows):
    import reckernels as rk
    from surprise import NMF, Dataset, Reader
    from surprise.accuracy import rmse as s_rmse
    from surprise.model_selection import KFold

    data = rk.datasets.read_ratings(ML100K)
    folds = list(rk.split.KFold(5, random_state=0).split(data))
    s_data = Dataset.load_from_file(str(ML100K), Reader("ml-100k"))
    s_folds = list(KFold(5, random_state=0).split(s_data))
    assert [len(t) for _, t in folds] == [len(t) for _, t in s_folds], "the two KFolds disagree"
    print(f"5-fold RMSE on {ML100K.name} ({data}), random_state=0, default hyper-parameters")
    for biased in (False, True):
        tag = "biased" if biased else "unbiased"
        ours = [rmse(rk.NMF(random_state=0, biased=biased, n_threads=args.threads).fit(tr).predict(te.users, te.items),
                     te.ratings) for tr, te in folds]
        theirs = [s_rmse(NMF(random_state=0, biased=biased).fit(tr).test(te), verbose=False) for tr, te in s_folds]
        print(f"  {tag:<8} reckernels      mean {np.mean(ours):.6f}  folds {np.round(ours, 6).tolist()}")
        print(f"  {tag:<8} scikit-surprise mean {np.mean(theirs):.6f}  folds {np.round(theirs, 6).tolist()}")
        print(f"  {tag:<8} max |difference| over the folds: {np.max(np.abs(np.subtract(ours, theirs))):.2e}")


def plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r[0] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    y = np.arange(len(rows))
    a.barh(y - 0.2, [r[1] for r in rows], 0.4, label="wall")
    a.barh(y + 0.2, [r[2] for r in rows], 0.4, label="CPU")
    a.set_yticks(y, labels)
    a.set_xscale("log")
    a.set_xlabel("fit time (s, log scale)")
    a.set_title("NMF fit, ML-1M prefix (390k ratings), 15 factors x 50 epochs")
    a.legend()
    b.barh(y - 0.2, [r[3] for r in rows], 0.4, label="wall")
    b.barh(y + 0.2, [r[4] for r in rows], 0.4, label="CPU")
    b.axvline(20, color="k", ls="--", lw=1, label="goal x20")
    b.set_yticks(y, [""] * len(rows))
    b.set_xlabel("speed-up over scikit-surprise")
    b.legend()
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    print(f"plot: {PLOT}")


SECTIONS = {"speed": speed, "accuracy": accuracy}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--section", choices=sorted(SECTIONS), action="append",
                    help="run only this section (repeatable); default: all")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--surprise-repeat", type=int, default=1, help="fits of scikit-surprise's NMF to take the median of")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {platform.processor()}, {os.cpu_count()} cores; threads: {args.threads}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"command: python {' '.join(sys.argv)}\n")
    rows = []
    for name in args.section or list(SECTIONS):
        start = time.perf_counter()
        SECTIONS[name](args, rows)
        print(f"[{name}: {time.perf_counter() - start:.0f} s]\n", flush=True)
    if rows:
        plot(rows)


if __name__ == "__main__":
    main()
