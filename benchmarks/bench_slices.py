"""What cutting long kernel calls into ~0.1 s slices (backends/_slices.py) costs, and what it buys.

For a few fits whose long calls are sliced, on the cython and numba backends: the median fit
time with slicing (the default) and as one call per kernel (``FIRST_WORK`` = inf), side by side
in one run, and the Ctrl-C latency in both modes (SIGINT from a timer thread 0.3 s in).

    python benchmarks/bench_slices.py [--repeat 3] [--size small|large]

Prints a table; the overhead column is sliced / one-call - 1 (CPU time, less disturbed by load).
"""

import _thread
import argparse
import statistics
import threading
import time

import reckernels as rk
from reckernels.backends import _slices

MODELS = {
    "UserKNN": lambda b: rk.UserKNN(k=20, backend=b),
    "ItemItem": lambda b: rk.ItemItem(K=20, backend=b),
    "SlopeOne": lambda b: rk.SlopeOne(backend=b),
    "ALS": lambda b: rk.ALS(n_factors=64, n_epochs=2, backend=b, random_state=0),
    "ImplicitALS": lambda b: rk.ImplicitALS(n_factors=64, n_epochs=2, backend=b, random_state=0),
    "CoClustering": lambda b: rk.CoClustering(n_cltr_u=50, n_cltr_i=50, n_epochs=2, backend=b, random_state=0),
    "SVD-exact": lambda b: rk.SVD(n_factors=100, n_epochs=2, schedule="exact", backend=b, random_state=0),
    "NMF": lambda b: rk.NMF(n_epochs=20, backend=b, random_state=0),
    "NMF-biased": lambda b: rk.NMF(n_epochs=20, biased=True, backend=b, random_state=0),
    "BPR": lambda b: rk.BPR(n_factors=64, n_epochs=10, backend=b, random_state=0),
    "LogisticMF": lambda b: rk.LogisticMF(n_epochs=10, backend=b, random_state=0),
}
SIZES = {"small": (2000, 1000, 200_000), "large": (6000, 3000, 2_400_000)}


def _cpu_time(make, data):
    start = time.process_time()
    make().fit(data)
    return time.process_time() - start


def _latency(make, data):
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    try:
        make().fit(data)
    except KeyboardInterrupt:
        timer.join()
        return time.perf_counter() - start - 0.3
    try:
        timer.join()
        time.sleep(1)
    except KeyboardInterrupt:
        pass
    return float("nan")  # finished before the signal


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--latency", action="store_true", help="also measure the Ctrl-C latency (large data)")
    parser.add_argument("--models", nargs="*", default=None, help=f"a subset of {sorted(MODELS)}")
    args = parser.parse_args()
    data = rk.datasets.make_ratings(*SIZES[args.size], random_state=2)
    big = rk.datasets.make_ratings(*SIZES["large"], random_state=2) if args.latency else None
    warm = rk.datasets.make_ratings(60, 40, 600, random_state=1)
    print(f"{'model':14s} {'backend':8s} {'sliced s':>9s} {'one call s':>10s} {'overhead':>9s}"
          + (f" {'latency sliced':>15s} {'latency one call':>17s}" if args.latency else ""))
    first = _slices.FIRST_WORK
    for name, build in MODELS.items():
        if args.models and name not in args.models:
            continue
        for backend in ("cython", "numba"):
            def make():
                return build(backend)
            make().fit(warm)  # compiled
            times = {}
            lat = {}
            for mode, work in (("sliced", first), ("whole", float("inf"))):
                _slices.FIRST_WORK = work
                try:
                    times[mode] = statistics.median(_cpu_time(make, data) for _ in range(args.repeat))
                    if args.latency:
                        lat[mode] = _latency(make, big)
                finally:
                    _slices.FIRST_WORK = first
            line = (f"{name:14s} {backend:8s} {times['sliced']:9.3f} {times['whole']:10.3f} "
                    f"{times['sliced'] / times['whole'] - 1:+9.1%}")
            if args.latency:
                line += f" {lat['sliced']:15.3f} {lat['whole']:17.3f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
