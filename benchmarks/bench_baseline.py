"""BaselineOnly against scikit-surprise's, on the same 5 folds, in one run.

    python benchmarks/bench_baseline.py [--data ../shared/data/ml-100k/u.data] [--repeat 3]

Both libraries get the very same folds: reckernels.split.KFold(5, random_state=0) reproduces
surprise.model_selection.KFold(5, random_state=0) row for row. Prints per-fold RMSE for both,
the largest difference, and the median fit and test times of each library (and of each of our
backends) over --repeat runs of the whole 5-fold loop.
"""

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k" / "u.data"


def surprise_folds(path, method):
    from surprise import BaselineOnly, Dataset, Reader
    from surprise.accuracy import rmse
    from surprise.model_selection import KFold

    data = Dataset.load_from_file(str(path), Reader("ml-100k"))
    rmses, fit_s, test_s = [], 0.0, 0.0
    for train, test in KFold(5, random_state=0).split(data):
        t = time.perf_counter()
        algo = BaselineOnly(bsl_options={"method": method}, verbose=False).fit(train)
        fit_s += time.perf_counter() - t
        t = time.perf_counter()
        preds = algo.test(test)
        test_s += time.perf_counter() - t
        rmses.append(rmse(preds, verbose=False))
    return np.array(rmses), fit_s, test_s


def our_folds(data, method, backend):
    import reckernels as rk

    res = rk.evaluation.cross_validate(rk.BaselineOnly(method=method, backend=backend), data,
                                       cv=rk.split.KFold(5, random_state=0), measures=("rmse",))
    return np.asarray(res["test_rmse"]), float(np.sum(res["fit_time"])), float(np.sum(res["test_time"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import reckernels as rk

    data = rk.datasets.read_ratings(args.data)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; threads: all; data: {args.data.name} ({data})")
    print(f"command: python benchmarks/bench_baseline.py --repeat {args.repeat}\n")
    for method in ("als", "sgd"):
        runs = {"scikit-surprise": [], "cython": [], "numba": []}
        rmse = {}
        for _ in range(args.repeat):
            rmse["scikit-surprise"], fit, test = surprise_folds(args.data, method)
            runs["scikit-surprise"].append((fit, test))
            for backend in ("cython", "numba"):
                rmse[backend], fit, test = our_folds(data, method, backend)
                runs[backend].append((fit, test))
        ref = rmse["scikit-surprise"]
        print(f"BaselineOnly method={method}: 5-fold RMSE per fold (scikit-surprise) {np.round(ref, 6).tolist()}")
        print(f"  mean RMSE  scikit-surprise {ref.mean():.6f}   reckernels {rmse['cython'].mean():.6f}   "
              f"max |diff| over folds: cython {np.abs(rmse['cython'] - ref).max():.1e}, "
              f"numba {np.abs(rmse['numba'] - ref).max():.1e}")
        base_fit = statistics.median(f for f, _ in runs["scikit-surprise"])
        base_test = statistics.median(t for _, t in runs["scikit-surprise"])
        for name, timings in runs.items():
            fit = statistics.median(f for f, _ in timings)
            test = statistics.median(t for _, t in timings)
            print(f"  {name:<16} fit (5 folds) {fit:7.3f} s  x{base_fit / fit:6.1f}   "
                  f"test (5 x 20k) {test:7.3f} s  x{base_test / test:6.1f}")
        print()


if __name__ == "__main__":
    main()
