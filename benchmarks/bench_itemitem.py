"""ItemItem against implicit 0.7.3's item-item recommenders, in one run.

    python benchmarks/bench_itemitem.py [--threads 2] [--runs 5] [--K 100] [--data ../shared/data]

Data: the 487,650-rating MovieLens 1M prefix; ratings >= 4 are the interactions (strength 1),
each user's latest interaction is held out (reckernels.split.leave_one_out), the rest is the
users x items training matrix both libraries get. For each weighting (implicit's
BM25Recommender, CosineRecommender, TFIDFRecommender, ItemItemRecommender; K neighbours, BM25
with its defaults K1=1.2, B=0.75) and --threads threads each:

- fit: wall seconds and CPU seconds (time.process_time, all threads), medians of --runs runs,
  ours and theirs alternating;
- recommend: the top 10 of every held-out user, seen items excluded (ours: ``recommend(users,
  10)``, implicit: ``recommend(userids, user_items[userids], N=10)``), same medians;
- HR@10 over the full catalogue: the share of held-out items in the user's top 10;
- the share of users whose 10 ids are identical (they differ only where scores or neighbours
  tie: see tests/test_itemitem.py).

Wall times on this shared 2-core machine swing with the other load; the CPU seconds are the
steadier ratio. Prints a table and writes benchmarks/bench_itemitem.png.
"""

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"
PREFIX = Path("ml-1m-partial") / "ratings.first487650.dat.gz"
WEIGHTINGS = {"bm25": "BM25Recommender", "cosine": "CosineRecommender", "tfidf": "TFIDFRecommender",
              "none": "ItemItemRecommender"}


def load(data_dir: Path):
    import reckernels as rk

    data = rk.datasets.read_ratings(data_dir / PREFIX, format="ml-1m")
    keep = data.ratings >= 4
    liked = rk.Dataset(data.users[keep], data.items[keep], np.ones(int(keep.sum())), data.timestamps[keep])
    train, test = rk.split.leave_one_out(liked)
    m = train.to_scipy().tocsr().astype(np.float64)
    m.data[:] = 1.0
    users = train.to_inner_users(test.users)
    known = users >= 0
    held = train.item_map.to_inner(test.items)
    return m, users[known].astype(np.int32), held[known], train


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def hit_rate(rec: np.ndarray, held: np.ndarray) -> float:
    return float((rec[:, :10] == held[:, None]).any(axis=1).mean())


def run(weighting, m, users, held, args):
    import implicit.nearest_neighbours as nn

    import reckernels as rk

    cls = getattr(nn, WEIGHTINGS[weighting])
    times = {k: [] for k in ("our_fit", "our_fit_cpu", "their_fit", "their_fit_cpu",
                             "our_rec", "our_rec_cpu", "their_rec", "their_rec_cpu")}
    user_items = m[users]
    for _ in range(args.runs):
        ours, w, c = timed(lambda: rk.ItemItem(K=args.K, weighting=weighting, n_threads=args.threads).fit(m))
        times["our_fit"].append(w)
        times["our_fit_cpu"].append(c)
        theirs = cls(K=args.K, num_threads=args.threads)
        _, w, c = timed(lambda: theirs.fit(m, show_progress=False))
        times["their_fit"].append(w)
        times["their_fit_cpu"].append(c)
        (our_ids, _), w, c = timed(lambda: ours.recommend(users, k=10))
        times["our_rec"].append(w)
        times["our_rec_cpu"].append(c)
        (their_ids, _), w, c = timed(lambda: theirs.recommend(users, user_items, N=10))
        times["their_rec"].append(w)
        times["their_rec_cpu"].append(c)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {**med, "our_hr": hit_rate(our_ids, held), "their_hr": hit_rate(their_ids, held),
            "identical": float((our_ids == their_ids).all(axis=1).mean())}


def plot(results, path: Path, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    x = np.arange(len(names))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for off, key, label in ((-0.3, "fit", "fit (wall)"), (-0.1, "fit_cpu", "fit (CPU)"),
                            (0.1, "rec", "recommend (wall)"), (0.3, "rec_cpu", "recommend (CPU)")):
        ax1.bar(x + off, [results[n][f"our_{key}"] / results[n][f"their_{key}"] for n in names], 0.2, label=label)
    ax1.axhline(1.0, color="k", lw=0.8)
    ax1.set_xticks(x, names)
    ax1.set_ylabel("time, ours / implicit (lower is better)")
    ax1.legend(fontsize=8)
    ax2.bar(x - 0.2, [results[n]["our_hr"] for n in names], 0.4, label="reckernels")
    ax2.bar(x + 0.2, [results[n]["their_hr"] for n in names], 0.4, label="implicit 0.7.3")
    ax2.set_xticks(x, names)
    ax2.set_ylabel("HR@10 (full catalogue)")
    ax2.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--K", type=int, default=100)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weightings", nargs="+", default=list(WEIGHTINGS), choices=list(WEIGHTINGS))
    parser.add_argument("--plot", type=Path, default=HERE / "bench_itemitem.png")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="implicit")

    m, users, held, train = load(args.data)
    load_before = os.getloadavg()[0]
    print(f"## ItemItem vs implicit 0.7.3 on {PREFIX.name} (ratings >= 4, latest held out): "
          f"{m.shape[0]} users x {m.shape[1]} items, {m.nnz} interactions, {len(users)} test users; "
          f"K={args.K}, {args.threads} threads, medians of {args.runs} runs; load average {load_before:.1f}\n")
    print(f"{'weighting':>9} | {'fit s ours':>10} {'implicit':>8} {'ratio':>5} {'cpu ratio':>9} | "
          f"{'rec s ours':>10} {'implicit':>8} {'ratio':>5} {'cpu ratio':>9} | {'HR@10 ours':>10} "
          f"{'implicit':>8} {'ratio':>5} | identical lists")
    results = {}
    for weighting in args.weightings:
        r = results[weighting] = run(weighting, m, users, held, args)
        print(f"{weighting:>9} | {r['our_fit']:10.3f} {r['their_fit']:8.3f} {r['our_fit'] / r['their_fit']:5.2f} "
              f"{r['our_fit_cpu'] / r['their_fit_cpu']:9.2f} | {r['our_rec']:10.3f} {r['their_rec']:8.3f} "
              f"{r['our_rec'] / r['their_rec']:5.2f} {r['our_rec_cpu'] / r['their_rec_cpu']:9.2f} | "
              f"{r['our_hr']:10.4f} {r['their_hr']:8.4f} {r['our_hr'] / r['their_hr']:5.3f} | "
              f"{r['identical']:.3f}")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    plot(results, args.plot, f"ItemItem vs implicit 0.7.3, ML-1M prefix (ratings >= 4), K={args.K}, "
                             f"{args.threads} threads; load {load_before:.1f}")
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
