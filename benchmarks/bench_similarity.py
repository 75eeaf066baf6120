"""Similarity computation: reckernels against scikit-surprise and the dense BLAS bound, in one run.

    python benchmarks/bench_similarity.py                  # every data set below, a few minutes
    python benchmarks/bench_similarity.py --sets ml-100k --repeat 5
    python benchmarks/bench_similarity.py --scale item-20m # one scale run (see --help)

For each data set, orientation (user-based: rows are users; item-based: rows are items) and
kind (pearson, msd) it times, side by side:

- scikit-surprise 1.1.5's ``similarities.pearson`` / ``msd`` on the Trainset's ir / ur (what
  ``compute_similarities`` calls), one run; its peak memory is the n x n arrays it allocates
  (7 for pearson, 3 for msd: checked with tracemalloc on ml-100k);
- the dense BLAS bound: the products a dense formulation of the same computation needs
  (pearson: X Xt, I It, X It, X^2 It; msd: X Xt, I It, X^2 It; X the zero-filled ratings,
  I the rated indicator, float64, NumPy's BLAS on every core), densification not timed;
- ``compute_similarity(storage="dense")`` with the cython and numba backends at 1 and 2
  threads (medians of --repeat runs, after one warm-up), and top-M (M=50) with cython at
  2 threads; peak memory with tracemalloc (every array here is a NumPy allocation);
- CPU seconds (time.process_time) of scikit-surprise and of cython on one thread: on a
  shared machine the wall times of both swing with the other load, their CPU work much less.

Nothing is written: copy the printed table into benchmarks/RESULTS.md.
"""

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = {
    "ml-100k": DATA / "ml-100k" / "u.data",
    "ml-1m-prefix": DATA / "ml-1m-partial" / "ratings.first487650.dat.gz",
    "ml-latest-small": DATA / "ml-latest-small" / "ratings.csv",
    "synthetic-1m": None,  # make_ratings(6040, 3706, 1_000_000)
}


def load(name):
    import reckernels as rk

    if SETS[name] is None:
        return rk.datasets.make_ratings(6040, 3706, 1_000_000, random_state=0)
    return rk.datasets.read_ratings(SETS[name])


def surprise_trainset(ds):
    import pandas as pd
    from surprise import Dataset, Reader

    df = pd.DataFrame({"u": ds.users, "i": ds.items, "r": ds.ratings})
    lo, hi = ds.rating_scale
    return Dataset.load_from_df(df, Reader(rating_scale=(lo, hi))).build_full_trainset()


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_timed(fn, repeat):
    """Median CPU seconds of this process (all threads): the work, less exposed to a busy machine."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def traced_peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def blas_bound(rows, n_cols, kind, repeat):
    """Median time of the dense products, and the bytes they hold (X, I, X^2 and the products)."""
    n = rows.n_rows
    X = np.zeros((n, n_cols))
    X[np.repeat(np.arange(n), np.diff(rows.indptr)), rows.indices] = rows.data
    ind = (X != 0).astype(np.float64)
    sq = X * X

    def products():
        out = [X @ X.T, ind @ ind.T, sq @ ind.T]
        if kind == "pearson":
            out.append(X @ ind.T)
        return out

    seconds = timed(products, repeat)
    held = 3 * X.nbytes + (4 if kind == "pearson" else 3) * n * n * 8
    return seconds, held


def run_ours(rows, cols, n_cols, kind, backend, threads, storage):
    from reckernels.similarity import compute_similarity

    kw = dict(max_neighbors=50) if storage == "topm" else {}
    return compute_similarity(rows.indptr, rows.indices, rows.data, n_cols, kind=kind, storage=storage,
                              backend=backend, n_threads=threads, transposed=cols, **kw)


def ours(rows, cols, n_cols, kind, backend, threads, storage, repeat):
    """Median time after a warm-up run (numba compiles on first use; cached on disk after)."""
    result = run_ours(rows, cols, n_cols, kind, backend, threads, storage)
    return timed(lambda: run_ours(rows, cols, n_cols, kind, backend, threads, storage), repeat), result


def bench_set(name, repeat, blas_repeat, skip_surprise, orients):
    from surprise import similarities

    ds = load(name)
    ts = None if skip_surprise else surprise_trainset(ds)
    print(f"\n{name}: {ds.n_users} users x {ds.n_items} items, {ds.n_ratings} ratings", flush=True)
    for orient in orients:
        rows, cols, n_cols = (ds.csr, ds.csc, ds.n_items) if orient == "user" else (ds.csc, ds.csr, ds.n_users)
        n = rows.n_rows
        for kind in ("pearson", "msd"):
            line = {}
            if ts is not None:
                n_x, yr = (ts.n_users, ts.ir) if orient == "user" else (ts.n_items, ts.ur)
                start, cpu = time.perf_counter(), time.process_time()
                theirs = getattr(similarities, kind)(n_x, yr, 1)
                line["surprise"] = time.perf_counter() - start
                line["surprise_cpu"] = time.process_time() - cpu
                line["surprise_mb"] = (7 if kind == "pearson" else 3) * n * n * 8 / 1e6
            line["blas"], line["blas_mb"] = blas_bound(rows, n_cols, kind, blas_repeat)
            line["blas_mb"] /= 1e6
            for backend in ("cython", "numba"):
                for threads in (1, 2):
                    line[f"{backend}{threads}"], result = ours(rows, cols, n_cols, kind, backend, threads, "dense", repeat)
            if ts is not None:
                line["diff"] = float(np.abs(result.dense - theirs).max())
                del theirs
            line["cpu1"] = cpu_timed(lambda: run_ours(rows, cols, n_cols, kind, "cython", 1, "dense"), repeat)
            line["topm"], _ = ours(rows, cols, n_cols, kind, "cython", 2, "topm", repeat)
            del result
            peak = traced_peak(lambda: run_ours(rows, cols, n_cols, kind, "cython", 2, "dense"))
            line["result_mb"] = n * n * 8 / 1e6
            line["peak_ratio"] = peak / (n * n * 8)
            report(name, orient, kind, n, line)


HEADER = (f"{'data':16s} {'rows':5s} {'kind':8s} {'n':>6s} {'surprise':>9s} {'BLAS':>8s} {'cy 1t':>8s} "
          f"{'cy 2t':>8s} {'nb 1t':>8s} {'nb 2t':>8s} {'top50':>8s} {'x surpr':>8s} {'BLAS/cy':>8s} "
          f"{'result':>9s} {'peak/res':>8s} {'surpr MB':>9s} {'BLAS MB':>8s} {'max|diff|':>9s} "
          f"{'surpr cpu':>9s} {'cy1 cpu':>8s} {'x cpu':>6s}")


def report(name, orient, kind, n, d):
    best = min(d["cython2"], d["numba2"])
    s = d.get("surprise")
    print(f"{name:16s} {orient:5s} {kind:8s} {n:6d} {s if s else float('nan'):9.3f} {d['blas']:8.3f} "
          f"{d['cython1']:8.4f} {d['cython2']:8.4f} {d['numba1']:8.4f} {d['numba2']:8.4f} {d['topm']:8.4f} "
          f"{(s / best) if s else float('nan'):8.1f} {d['blas'] / d['cython2']:8.1f} "
          f"{d['result_mb']:7.1f}MB {d['peak_ratio']:8.2f} {d.get('surprise_mb', float('nan')):9.0f} "
          f"{d['blas_mb']:8.0f} {d.get('diff', float('nan')):9.1e} "
          f"{d.get('surprise_cpu', float('nan')):9.3f} {d['cpu1']:8.4f} "
          f"{d.get('surprise_cpu', float('nan')) / d['cpu1']:6.1f}", flush=True)


def scale_run(which, threads, max_neighbors):
    """One large top-M run on synthetic data; prints time and peak memory (tracemalloc)."""
    import reckernels as rk
    from reckernels.similarity import compute_similarity

    if which == "item-20m":
        ds = rk.datasets.make_ratings(138_000, 27_000, 20_000_000, random_state=0)
        rows, cols, n_cols = ds.csc, ds.csr, ds.n_users
    else:
        # user-150k: 150k users x 20k items, 6M ratings. The work is the sum over items of
        # (raters)^2; with make_ratings' default Zipf popularity (exponent 1) the head items are
        # rated by most of the 150k users (~1e11 pair updates), so this set uses popularity=0.5
        ds = rk.datasets.make_ratings(150_000, 20_000, 6_000_000, popularity=0.5, random_state=0)
        rows, cols, n_cols = ds.csr, ds.csc, ds.n_items
    counts = np.diff(cols.indptr).astype(np.float64)
    print(f"pair updates (sum over the co-rated dimension of count^2): {np.sum(counts ** 2):.3g}", flush=True)
    print(f"{which}: {ds.n_users} users x {ds.n_items} items, {ds.n_ratings} ratings; "
          f"{rows.n_rows} rows compared; pearson, max_neighbors={max_neighbors}, {threads} threads", flush=True)
    tracemalloc.start()
    start = time.perf_counter()
    sim = compute_similarity(rows.indptr, rows.indices, rows.data, n_cols, kind="pearson", storage="topm",
                             max_neighbors=max_neighbors, n_threads=threads, transposed=cols)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{which}: {seconds:.1f} s, peak traced memory {peak / 1e6:.0f} MB for a {sim.nbytes / 1e6:.0f} MB result "
          f"(input CSR+CSC {(rows.indptr.nbytes + rows.indices.nbytes + rows.data.nbytes) * 2 / 1e6:.0f} MB, "
          f"not counted); a dense float64 matrix would need {rows.n_rows ** 2 * 8 / 1e9:.1f} GB", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of ours (median)")
    ap.add_argument("--blas-repeat", type=int, default=1, help="timed runs of the BLAS bound (median)")
    ap.add_argument("--no-surprise", action="store_true", help="skip scikit-surprise")
    ap.add_argument("--orient", nargs="*", default=["user", "item"], choices=["user", "item"],
                    help="user-based (rows are users) and/or item-based")
    ap.add_argument("--scale", choices=["item-20m", "user-150k"],
                    help="instead: item-item pearson top-M on a synthetic MovieLens-20M shape (138k x 27k, "
                         "20M ratings) or user-based on 150k users x 20k items (6M ratings, popularity 0.5)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-neighbors", type=int, default=50)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {platform.processor()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}", flush=True)
    if args.scale:
        scale_run(args.scale, args.threads, args.max_neighbors)
        return
    print("wall seconds (medians); x surpr = scikit-surprise / best of our 2-thread runs; BLAS/cy = BLAS "
          "bound / cython 2 threads; peak/res = our peak traced memory / stored result (cython, 2 threads, "
          "dense); surpr cpu, cy1 cpu = CPU seconds of scikit-surprise and of cython on 1 thread, x cpu their "
          "ratio (the work, less exposed to other load on the machine)")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(HEADER)
    for name in args.sets:
        bench_set(name, args.repeat, args.blas_repeat, args.no_surprise, args.orient)


if __name__ == "__main__":
    main()
