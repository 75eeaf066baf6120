"""reckernels.compat.implicit against implicit 0.7.3, side by side in one run on the same CSR.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_implicit.py [--threads 2] [--runs 3] [--models als bpr ...]

Data: MovieLens 100K and the MovieLens 1M prefix (../shared/data; skipped when absent). Ratings >= 4
are the interactions (value 1); each user's latest interaction (by timestamp) is held out, users
with fewer than two keep everything in train. Both libraries get the same users x items float32 CSR.

For each model (ALS: 64 factors, 15 iterations; BPR, LMF: implicit's defaults; BM25, TF-IDF,
cosine: K=20) and each library: fit time, the time to recommend the top 10 for every user (one
batched ``recommend`` call, already liked items filtered), and HR@10 / nDCG@10 of the held-out item
over the full catalogue. Times are medians of --runs runs, wall clock (``time.perf_counter``) and
CPU (``time.process_time``, steadier on a shared machine); ratios are implicit / ours (> 1: ours
faster). Writes bench_implicit.png beside RESULTS.md and prints a Markdown table.
Models whose native estimator is missing from this reckernels build are skipped with a note.
"""

import argparse
import gzip
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # what implicit asks for

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

HERE = Path(__file__).resolve().parent
#: ../shared/data beside the checkout (override with --data-dir or RECKERNELS_SHARED_DATA)
SHARED = Path(os.environ.get("RECKERNELS_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
FILES = {"ml-100k": Path("ml-100k") / "u.data",
         "ml-1m-prefix": Path("ml-1m-partial") / "ratings.first487650.dat.gz"}
MODELS = ("als", "bpr", "lmf", "bm25", "tfidf", "cosine")


def read(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        text = f.read()
    sep = "::" if "::" in text[:200] else "\t"
    arr = np.array([line.split(sep) for line in text.splitlines() if line], dtype=np.int64)
    return arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]


def leave_latest_out(path: Path):
    """(train CSR users x items float32, held-out item per user or -1)."""
    users, items, ratings, ts = read(path)
    keep = ratings >= 4
    users, items, ts = users[keep], items[keep], ts[keep]
    _, u = np.unique(users, return_inverse=True)
    _, i = np.unique(items, return_inverse=True)
    n_users, n_items = u.max() + 1, i.max() + 1
    order = np.lexsort((i, ts, u))  # by user, then time (ties by item)
    u, i = u[order], i[order]
    last = np.r_[u[1:] != u[:-1], True]
    counts = np.bincount(u, minlength=n_users)
    held = last & (counts[u] >= 2)
    heldout = np.full(n_users, -1)
    heldout[u[held]] = i[held]
    train = sp.csr_matrix((np.ones((~held).sum(), np.float32), (u[~held], i[~held])), shape=(n_users, n_items))
    return train, heldout


def accuracy(ids, heldout):
    users = np.flatnonzero(heldout >= 0)
    rec = ids[users]
    pos = np.argmax(rec == heldout[users, None], axis=1)
    hit = (rec == heldout[users, None]).any(axis=1)
    return float(hit.mean()), float(np.where(hit, 1.0 / np.log2(pos + 2), 0.0).mean())


def make(kind, lib, threads):
    if lib == "implicit":
        import implicit.bpr
        import implicit.cpu.als
        import implicit.lmf
        import implicit.nearest_neighbours as nn

        return {"als": lambda: implicit.cpu.als.AlternatingLeastSquares(factors=64, iterations=15, num_threads=threads,
                                                                         random_state=0),
                "bpr": lambda: implicit.bpr.BayesianPersonalizedRanking(use_gpu=False, num_threads=threads,
                                                                        random_state=0),
                "lmf": lambda: implicit.lmf.LogisticMatrixFactorization(use_gpu=False, num_threads=threads,
                                                                        random_state=0),
                "bm25": lambda: nn.BM25Recommender(K=20, num_threads=threads),
                "tfidf": lambda: nn.TFIDFRecommender(K=20, num_threads=threads),
                "cosine": lambda: nn.CosineRecommender(K=20, num_threads=threads)}[kind]()
    import reckernels.compat.implicit as ci

    return {"als": lambda: ci.AlternatingLeastSquares(factors=64, iterations=15, num_threads=threads, random_state=0),
            "bpr": lambda: ci.BayesianPersonalizedRanking(num_threads=threads, random_state=0),
            "lmf": lambda: ci.LogisticMatrixFactorization(num_threads=threads, random_state=0),
            "bm25": lambda: ci.BM25Recommender(K=20, num_threads=threads),
            "tfidf": lambda: ci.TFIDFRecommender(K=20, num_threads=threads),
            "cosine": lambda: ci.CosineRecommender(K=20, num_threads=threads)}[kind]()


def native_available(kind):
    import importlib

    module = {"bpr": "bpr", "lmf": "lmf", "bm25": "itemitem", "tfidf": "itemitem", "cosine": "itemitem"}.get(kind)
    if module is None:
        return True
    try:
        importlib.import_module(f"reckernels.algorithms.{module}")
        return True
    except ImportError:
        return False


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run_one(kind, lib, train, heldout, threads, runs):
    fits, recs = [], []
    for _ in range(runs):
        model = make(kind, lib, threads)
        _, fw, fc = timed(lambda: model.fit(train, show_progress=False))
        users = np.arange(train.shape[0])
        (ids, _), rw, rc = timed(lambda: model.recommend(users, train, N=10))
        fits.append((fw, fc))
        recs.append((rw, rc))
    hr, ndcg = accuracy(np.asarray(ids), heldout)
    med = lambda xs, j: statistics.median(x[j] for x in xs)  # noqa: E731
    return {"fit_wall": med(fits, 0), "fit_cpu": med(fits, 1), "rec_wall": med(recs, 0), "rec_cpu": med(recs, 1),
            "hr": hr, "ndcg": ndcg}


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['data']}\n{r['model']}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows)), 4))
    ax.bar(x - 0.2, [r["theirs"]["fit_cpu"] / r["ours"]["fit_cpu"] for r in rows], 0.4, label="fit")
    ax.bar(x + 0.2, [r["theirs"]["rec_cpu"] / r["ours"]["rec_cpu"] for r in rows], 0.4, label="recommend all users")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("implicit 0.7.3 CPU time / ours")
    ax.set_title("reckernels.compat.implicit vs implicit (same CSR, same threads; > 1: ours faster)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--data", nargs="+", default=list(FILES), choices=list(FILES))
    ap.add_argument("--data-dir", type=Path, default=SHARED)
    ap.add_argument("--plot", default=str(HERE / "bench_implicit.png"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import implicit

    print(f"# reckernels.compat.implicit vs implicit {implicit.__version__}: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.threads} threads, medians of {args.runs} runs, load "
          f"{os.getloadavg()[0]:.1f}")
    print("| data | model | fit s (theirs / ours, CPU ratio) | recommend all s (theirs / ours, CPU ratio) "
          "| HR@10 theirs / ours | nDCG@10 theirs / ours |")
    print("|---|---|---|---|---|---|")
    rows = []
    for name in args.data:
        path = args.data_dir / FILES[name]
        if not path.exists():
            print(f"| {name} | - | skipped: {path} not found | | | |")
            continue
        train, heldout = leave_latest_out(path)
        for kind in args.models:
            if not native_available(kind):
                print(f"| {name} | {kind} | skipped: the native estimator is not in this build | | | |")
                continue
            theirs = run_one(kind, "implicit", train, heldout, args.threads, args.runs)
            ours = run_one(kind, "ours", train, heldout, args.threads, args.runs)
            rows.append({"data": name, "model": kind, "theirs": theirs, "ours": ours})
            print(f"| {name} ({train.shape[0]} users, {train.shape[1]} items, {train.nnz} train) | {kind} "
                  f"| {theirs['fit_wall']:.3f} / {ours['fit_wall']:.3f} ({theirs['fit_cpu'] / ours['fit_cpu']:.2f}x) "
                  f"| {theirs['rec_wall']:.3f} / {ours['rec_wall']:.3f} ({theirs['rec_cpu'] / ours['rec_cpu']:.2f}x) "
                  f"| {theirs['hr']:.4f} / {ours['hr']:.4f} | {theirs['ndcg']:.4f} / {ours['ndcg']:.4f} |", flush=True)
    if rows and args.plot:
        plot(rows, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
