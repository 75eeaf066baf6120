"""reckernels.distributed on one machine: 1 against 2 Dask workers, and a local fit beside them.

    python benchmarks/bench_distributed.py                       # ALS on 10M, item-item top-M on the 20M shape
    python benchmarks/bench_distributed.py --als-ratings 2000000 --knn-ratings 4000000   # smaller, quicker

For each workload: the local fit (same threads in total), then LocalCluster(n_workers=W,
threads_per_worker=T/W, processes=True) for W = 1 and 2, the fit time (median of --repeat),
the largest factor difference to the local fit, and for ALS the bytes of factors shipped per
half-sweep (the model in reckernels/distributed/als.py, as counted by the fit) next to what
the workers report having received. Writes benchmarks/distributed.png.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

import reckernels as rk


def _received_bytes(client) -> int:
    """Bytes the workers have received from each other and from the client so far."""
    def total(dask_worker):
        log = getattr(dask_worker, "transfer_incoming_log", [])
        return int(sum(entry.get("total", 0) for entry in log))
    return sum(client.run(total).values())


def _time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(argv=None):
    import distributed

    import reckernels.distributed as rkd

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--als-ratings", type=int, default=10_000_000)
    p.add_argument("--knn-ratings", type=int, default=20_000_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--neighbors", type=int, default=50)
    p.add_argument("--plot", default=str(Path(__file__).with_name("distributed.png")))
    args = p.parse_args(argv)
    print(f"cpu: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.threads} threads in total")

    rows = []
    workloads = []
    if args.als_ratings:
        n = args.als_ratings  # the 10M MovieLens shape scaled: 69,878 users x 10,677 items at 10M
        data = rk.datasets.make_ratings(max(100, int(69878 * n / 1e7)), max(50, int(10677 * n / 1e7)), n,
                                        random_state=0)
        make = lambda: rk.ALS(n_factors=args.factors, n_epochs=args.epochs, solver="cg", dtype="float32",  # noqa: E731
                              random_state=0, n_threads=args.threads)
        workloads.append(("ALS", data, make, lambda m: m.item_factors_))
    if args.knn_ratings:
        n = args.knn_ratings  # the 20M MovieLens shape: 138,493 users x 26,744 items at 20M
        data = rk.datasets.make_ratings(max(100, int(138493 * n / 2e7)), max(50, int(26744 * n / 2e7)), n,
                                        random_state=0)
        make = lambda: rk.ItemKNN(max_neighbors=args.neighbors, n_threads=args.threads)  # noqa: E731
        workloads.append(("ItemKNN top-M", data, make, lambda m: m.similarity_.sim))

    for name, data, make, result in workloads:
        print(f"\n{name} on {data}")
        t_local, local = _time(lambda: make().fit(data), args.repeat)
        print(f"  local fit            {t_local:8.2f} s")
        rows.append((name, "local", t_local))
        for workers in (1, 2):
            per = max(1, args.threads // workers)
            with distributed.LocalCluster(n_workers=workers, threads_per_worker=per, processes=True,
                                          dashboard_address=None, silence_logs=40) as cluster, \
                    distributed.Client(cluster) as client:
                before = _received_bytes(client)
                t, model = _time(lambda: rkd.fit(make(), data, client=client), args.repeat)
                received = (_received_bytes(client) - before) / args.repeat
            diff = float(np.max(np.abs(result(model).astype(np.float64) - result(local).astype(np.float64))))
            line = f"  {workers} worker(s) x {per} thr {t:8.2f} s   max |diff| vs local {diff:.1e}"
            if hasattr(model, "bytes_shipped_"):
                shipped = model.bytes_shipped_
                line += (f"   shipped per half-sweep: users {shipped['user'] / 2**20:.1f} MiB, items "
                         f"{shipped['item'] / 2**20:.1f} MiB; workers received {received / 2**20:.1f} MiB per fit")
            print(line)
            rows.append((name, f"{workers} worker{'s' if workers > 1 else ''}", t))

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return 0
    names = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        sub = [r for r in rows if r[0] == name]
        ax.bar([r[1] for r in sub], [r[2] for r in sub], color=["#888", "#4c72b0", "#55a868"][:len(sub)])
        ax.set_title(name)
        ax.set_ylabel("fit time (s)")
    fig.suptitle(f"reckernels.distributed, {args.threads} threads in total on one machine")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)
    print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
