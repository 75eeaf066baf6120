"""k-NN prediction and top-N: reckernels' ItemKNN / UserKNN against scikit-surprise, in one run.

    python benchmarks/bench_knn.py                         # every data set below, ~10 minutes here
    python benchmarks/bench_knn.py --sets ml-100k --repeat 5
    python benchmarks/bench_knn.py --threads 1             # reckernels on one thread

Data sets: MovieLens 100K (u1.base / u1.test), the 487,650-rating MovieLens 1M prefix and a
synthetic set of MovieLens 1M shape (6,040 x 3,706, 1M ratings), the last two split 90/10 at
random (seed 0). Models: ``rk.ItemKNN()`` and ``rk.UserKNN()`` with their defaults (KNNWithMeans
semantics, pearson, k=40, min_k=1; storage "auto", dense on these sets; backend "auto"), against
scikit-surprise's KNNWithMeans with the same options.

For each data set and orientation (item-based, user-based) it measures, side by side:

- prediction throughput: reckernels' ``predict`` (raw ids in, estimates out; the test pairs
  repeated up to --pairs pairs) against scikit-surprise's ``test`` on the first
  --surprise-pairs test pairs, in predictions per second (medians of --repeat runs);
- top-10 for every user (seen items excluded): reckernels' ``recommend(all users, 10)``
  against scikit-surprise's anti-test-set route (``build_anti_testset`` + ``test`` + sort per
  user, as in its FAQ's ``get_top_n``), timed on the first --surprise-users users and
  extrapolated linearly to all users (the work per user is about the same); ours is timed on
  the fitted model's first call and as the median of --repeat further calls;
- wall seconds and CPU seconds (time.process_time, all threads): on this shared machine the
  wall times swing with the other load, the CPU work much less;
- peak memory (tracemalloc, in separate untimed runs; every array involved is a NumPy
  allocation): reckernels' fit, predict and recommend, and scikit-surprise's fit.

Fit times are printed for information (the similarity benchmark is bench_similarity.py).
The figures are printed and drawn in benchmarks/knn.png (top-10 seconds and prediction rates,
ours against scikit-surprise, wall and CPU); copy the printed lines into benchmarks/RESULTS.md.
"""

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = ("ml-100k", "ml-1m-prefix", "synthetic-1m")


def load(name):
    """(train, test) reckernels Datasets."""
    import reckernels as rk

    if name == "ml-100k":
        read = rk.datasets.read_ratings
        return read(DATA / "ml-100k" / "u1.base", id_type=int), read(DATA / "ml-100k" / "u1.test", id_type=int)
    if name == "ml-1m-prefix":
        data = rk.datasets.read_ratings(DATA / "ml-1m-partial" / "ratings.first487650.dat.gz", id_type=int)
    else:
        data = rk.datasets.make_ratings(6040, 3706, 1_000_000, random_state=0)
    return rk.split.train_test_split(data, test_size=0.1, random_state=0)


def surprise_sets(train, test):
    import pandas as pd
    from surprise import Dataset, Reader

    df = pd.DataFrame({"u": train.users, "i": train.items, "r": train.ratings})
    trainset = Dataset.load_from_df(df, Reader(rating_scale=train.rating_scale)).build_full_trainset()
    testset = list(zip(test.users.tolist(), test.items.tolist(), test.ratings.tolist()))
    return trainset, testset


def median_time(fn, repeat):
    """Median (wall seconds, CPU seconds of all this process's threads) over ``repeat`` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def peak_mib(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def surprise_top_n(algo, trainset, n_users, n=10):
    """scikit-surprise's anti-test-set route for the first n_users inner users (its FAQ's get_top_n)."""
    fill = trainset.global_mean
    anti = []
    for u in range(n_users):
        seen = {j for (j, _) in trainset.ur[u]}
        raw_u = trainset.to_raw_uid(u)
        anti += [(raw_u, trainset.to_raw_iid(i), fill) for i in trainset.all_items() if i not in seen]
    top = defaultdict(list)
    for p in algo.test(anti):
        top[p.uid].append((p.iid, p.est))
    return {uid: sorted(r, key=lambda x: x[1], reverse=True)[:n] for uid, r in top.items()}


def run_set(name, args, line, figures):
    import surprise

    import reckernels as rk

    train, test = load(name)
    trainset, testset = surprise_sets(train, test)
    n_users = train.n_users
    reps = -(-args.pairs // len(test))
    users, items = np.tile(test.users, reps)[:args.pairs], np.tile(test.items, reps)[:args.pairs]
    line(f"\n{name}: {train.n_ratings:,} train ratings, {train.n_users:,} users x {train.n_items:,} items; "
         f"{len(test):,} test pairs")
    for cls, user_based in ((rk.ItemKNN, False), (rk.UserKNN, True)):
        tag = f"{name} {cls.__name__}"
        make = lambda: cls(n_threads=args.threads)  # noqa: E731  (the defaults)
        start = time.perf_counter()
        model = make().fit(train)
        fit_s = time.perf_counter() - start
        model.predict(users[:1000], items[:1000])  # warm-up
        ours = median_time(lambda: model.predict(users, items), args.repeat)
        first = median_time(lambda: model.recommend(train.user_ids, 10), 1)
        rec = median_time(lambda: model.recommend(train.user_ids, 10), args.repeat)

        algo = surprise.KNNWithMeans(k=40, sim_options={"name": "pearson", "user_based": user_based}, verbose=False)
        start = time.perf_counter()
        algo.fit(trainset)
        s_fit = time.perf_counter() - start
        sub = testset[:args.surprise_pairs]
        theirs = median_time(lambda: algo.test(sub), max(1, args.repeat // 2))
        n_top = min(args.surprise_users, n_users)
        s_top = [t * n_users / n_top for t in median_time(lambda: surprise_top_n(algo, trainset, n_top), 1)]

        check = np.array([p.est for p in algo.test(testset[:500])])
        diff = np.abs(check - model.predict(test.users[:500], test.items[:500])).max()
        line(f"{tag:28s} fit: ours {fit_s:6.2f} s, surprise {s_fit:6.2f} s | max |est diff| on 500 pairs {diff:.1e}")
        n, m = len(users), len(sub)
        line(f"{tag:28s} predict/s: ours {n / ours[0]:10,.0f} wall, {n / ours[1]:10,.0f} per CPU-s ({n:,} pairs) | "
             f"surprise {m / theirs[0]:7,.0f} wall, {m / theirs[1]:7,.0f} per CPU-s ({m:,} pairs) | "
             f"x{(n / ours[0]) / (m / theirs[0]):,.0f} wall, x{(n / ours[1]) / (m / theirs[1]):,.0f} CPU")
        line(f"{tag:28s} top-10 all {n_users:,} users: ours {rec[0]:6.3f} s wall {rec[1]:6.3f} CPU-s "
             f"(first call {first[0]:.3f} wall {first[1]:.3f} CPU-s) | surprise "
             f"{s_top[0]:7.1f} s wall {s_top[1]:7.1f} CPU-s (run on {n_top} users, x{n_users / n_top:.1f}) | "
             f"x{s_top[0] / rec[0]:,.0f} wall, x{s_top[1] / rec[1]:,.0f} CPU; first call x{s_top[0] / first[0]:,.0f} "
             f"wall, x{s_top[1] / first[1]:,.0f} CPU")
        figures.append(dict(tag=tag, top=rec, first=first, s_top=s_top, pred=(n / ours[0], n / ours[1]),
                            s_pred=(m / theirs[0], m / theirs[1])))
        if args.memory:
            fresh = make()
            fit_mib = peak_mib(lambda: fresh.fit(train))
            pred_mib = peak_mib(lambda: model.predict(users, items))
            rec_mib = peak_mib(lambda: model.recommend(train.user_ids, 10))
            s_mib = peak_mib(lambda: surprise.KNNWithMeans(
                k=40, sim_options={"name": "pearson", "user_based": user_based}, verbose=False).fit(trainset))
            line(f"{tag:28s} peak MiB: ours fit {fit_mib:7.1f} (similarity {model.similarity_.nbytes / 2**20:.1f}), "
                 f"predict {pred_mib:6.1f}, recommend {rec_mib:6.1f} | surprise fit {s_mib:7.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {', '.join(SETS)}")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median)")
    parser.add_argument("--threads", type=int, default=None, help="reckernels threads (default: every core)")
    parser.add_argument("--pairs", type=int, default=1_000_000, help="pairs per reckernels predict call")
    parser.add_argument("--surprise-pairs", type=int, default=5_000, help="pairs per scikit-surprise test call")
    parser.add_argument("--surprise-users", type=int, default=20, help="users in scikit-surprise's top-N run")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the tracemalloc runs")
    args = parser.parse_args()
    import reckernels as rk

    threads = rk.backends.default_threads(args.threads)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, reckernels threads={threads}, load average "
          f"{os.getloadavg()[0]:.1f}; python benchmarks/bench_knn.py --sets {args.sets} --repeat {args.repeat}",
          flush=True)
    figures = []
    for name in args.sets.split(","):
        run_set(name, args, lambda s: print(s, flush=True), figures)
    plot(figures, Path(__file__).resolve().parent / "knn.png", f"load average {os.getloadavg()[0]:.1f}")


def plot(figures, path, note):
    """Two panels, log scale: top-10-for-all-users seconds and predictions per second, ours against
    scikit-surprise, wall and CPU, each bar labelled with its value; the ratios in the titles' axis labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = [f["tag"] for f in figures]
    x = np.arange(len(tags))
    fig, axes = plt.subplots(1, 2, figsize=(6 + 2.2 * len(tags), 4.8))
    panels = ((axes[0], "top", "s_top", "top-10 for every user, seconds (lower is better)", "{:.3g}"),
              (axes[1], "pred", "s_pred", "predictions per second from raw ids (higher is better)", "{:,.0f}"))
    for ax, ours, theirs, title, fmt in panels:
        bars = ((f"reckernels wall", [f[ours][0] for f in figures], "tab:blue"),
                (f"reckernels CPU", [f[ours][1] for f in figures], "lightsteelblue"),
                (f"scikit-surprise wall", [f[theirs][0] for f in figures], "tab:orange"),
                (f"scikit-surprise CPU", [f[theirs][1] for f in figures], "navajowhite"))
        for j, (label, vals, color) in enumerate(bars):
            rects = ax.bar(x + (j - 1.5) * 0.2, vals, 0.2, label=label, color=color)
            ax.bar_label(rects, [fmt.format(v) for v in vals], fontsize=6, rotation=90, padding=2)
        ratio = [f[theirs][0] / f[ours][0] if ours == "top" else f[ours][0] / f[theirs][0] for f in figures]
        ax.set_xticks(x, [f"{t}\nx{r:,.0f} wall" for t, r in zip(tags, ratio)], fontsize=7)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.margins(y=0.25)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"k-NN defaults (ItemKNN(), UserKNN()) against scikit-surprise KNNWithMeans, one run; {note}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
