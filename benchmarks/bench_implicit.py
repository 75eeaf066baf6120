"""reckernels against implicit 0.7.3: ALS, BPR, LMF, BM25, TF-IDF, cosine, side by side in one run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_implicit.py [--data ml-100k ml-1m-prefix synthetic-10m]
        [--models als bpr lmf bm25 tfidf cosine] [--seeds 5] [--runs 3] [--threads 2] [--json out.json]
    python benchmarks/bench_implicit.py --from-json a.json b.json   # table and plot of earlier runs

Both libraries get the same users x items float32 CSR of interactions (value 1) and the same
hyperparameters, on --threads threads; ours is ``reckernels.compat.implicit`` (implicit's
signature over the native rk.ImplicitALS / rk.BPR / rk.LogisticMF / rk.ItemItem).

Data (each user's latest interaction, by timestamp, is held out when the user has at least two;
the rest is the training CSR):

- ``ml-100k``: MovieLens 100K ``u.data``, ratings >= 4 are the interactions;
- ``ml-1m-prefix``: the first 487,650 ratings of MovieLens 1M, ratings >= 4;
- ``synthetic-10m``: ``reckernels.datasets.make_ratings(69878, 10677, 10_000_000, implicit=True,
  random_state=0)``, MovieLens-10M's shape: Zipf item popularity (weight 1 / rank), log-normal
  user activity, pairs accepted with probability sigmoid(taste / 0.15) from a 10-factor latent
  model (users interact more with what they like), 10M distinct pairs, every one an interaction;
  timestamps per user in time order.

Models (the issue's anchors): ALS 64 factors, 15 iterations (implicit's other defaults: reg 0.01,
alpha 1, CG 3 steps); BPR 64 factors, 100 iterations (lr 0.01, reg 0.01, verified negatives);
LMF 30 factors, 30 iterations (lr 1.0, reg 0.6, neg_prop 30); BM25 (K1 1.2, B 0.75), TF-IDF and
cosine with K=100.

Per model and library: fit time and the time to recommend the top 10 for every user (one batched
``recommend`` call, liked items filtered), wall (perf_counter) and CPU (process_time: all
threads, steadier on a shared machine), medians over the runs; HR@10 and nDCG@10 of the held-out
item over the full catalogue, from those recommendations. The factor models run once per seed
(--seeds: random_state 0, 1, ...; both libraries, ours and theirs alternating), accuracy is the
mean over the seeds with its seed-to-seed standard deviation; the item-item models are
deterministic and run --runs times. For them the recommendations are also compared user by
user: "identical" is the share of users whose 10 ids equal implicit's, "tie-equal" the share
whose 10 scores equal implicit's position by position (ids then differ only among equal scores).
Ratios are ours / implicit: below 1 is faster, above 1 more accurate.
Writes the raw figures to --json, a Markdown table to stdout and a PNG (--plot).
"""

import argparse
import gzip
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # what implicit asks for

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
#: ../shared/data beside the checkout (override with --data-dir or RECKERNELS_SHARED_DATA)
SHARED = Path(os.environ.get("RECKERNELS_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
FILES = {"ml-100k": Path("ml-100k") / "u.data",
         "ml-1m-prefix": Path("ml-1m-partial") / "ratings.first487650.dat.gz"}
SYNTHETIC = {"synthetic-10m": dict(n_users=69878, n_items=10677, n_ratings=10_000_000)}
DATASETS = (*FILES, *SYNTHETIC)
FACTOR_MODELS = ("als", "bpr", "lmf")
MODELS = (*FACTOR_MODELS, "bm25", "tfidf", "cosine")
PARAMS = {"als": dict(factors=64, iterations=15), "bpr": dict(factors=64, iterations=100),
          "lmf": dict(factors=30, iterations=30), "bm25": dict(K=100), "tfidf": dict(K=100), "cosine": dict(K=100)}


# ------------------------------------------------------------------ data
def read_file(path: Path):
    """(user, item, rating, timestamp) int64 columns of a MovieLens ratings file (tab or ::)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        text = f.read()
    sep = "::" if "::" in text[:200] else "\t"
    arr = np.array([line.split(sep) for line in text.splitlines() if line], dtype=np.int64)
    return arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]


def leave_latest_out(users, items, ts):
    """(train CSR users x items float32 of ones, held-out item per user or -1).

    Each user's latest interaction (ties: the larger item id) is held out when the user has two or more."""
    import scipy.sparse as sp

    _, u = np.unique(users, return_inverse=True)
    _, i = np.unique(items, return_inverse=True)
    n_users, n_items = int(u.max()) + 1, int(i.max()) + 1
    order = np.lexsort((i, ts, u))  # by user, then time, then item
    u, i = u[order], i[order]
    last = np.r_[u[1:] != u[:-1], True]
    counts = np.bincount(u, minlength=n_users)
    held = last & (counts[u] >= 2)
    heldout = np.full(n_users, -1, dtype=np.int64)
    heldout[u[held]] = i[held]
    train = sp.csr_matrix((np.ones(int((~held).sum()), np.float32), (u[~held], i[~held])),
                          shape=(n_users, n_items))
    train.sort_indices()
    return train, heldout


def load(name: str, data_dir: Path):
    if name in SYNTHETIC:
        import reckernels as rk

        data = rk.datasets.make_ratings(**SYNTHETIC[name], implicit=True, random_state=0)
        return leave_latest_out(data.users, data.items, data.timestamps)
    path = data_dir / FILES[name]
    if not path.exists():
        return None
    users, items, ratings, ts = read_file(path)
    keep = ratings >= 4
    return leave_latest_out(users[keep], items[keep], ts[keep])


# ------------------------------------------------------------------ models
def make(kind: str, lib: str, threads: int, seed: int):
    params = dict(PARAMS[kind], num_threads=threads)
    if kind in FACTOR_MODELS:
        params["random_state"] = seed
    if lib == "implicit":
        import implicit.cpu.als
        import implicit.cpu.bpr
        import implicit.cpu.lmf
        import implicit.nearest_neighbours as nn

        cls = {"als": implicit.cpu.als.AlternatingLeastSquares, "bpr": implicit.cpu.bpr.BayesianPersonalizedRanking,
               "lmf": implicit.cpu.lmf.LogisticMatrixFactorization, "bm25": nn.BM25Recommender,
               "tfidf": nn.TFIDFRecommender, "cosine": nn.CosineRecommender}[kind]
    else:
        import reckernels.compat.implicit as ci

        cls = {"als": ci.AlternatingLeastSquares, "bpr": ci.BayesianPersonalizedRanking,
               "lmf": ci.LogisticMatrixFactorization, "bm25": ci.BM25Recommender, "tfidf": ci.TFIDFRecommender,
               "cosine": ci.CosineRecommender}[kind]
    return cls(**params)


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def accuracy(ids, heldout):
    """(HR@10, nDCG@10) of the held-out items in the top-10 lists."""
    users = np.flatnonzero(heldout >= 0)
    match = np.asarray(ids)[users, :10] == heldout[users, None]
    hit = match.any(axis=1)
    return float(hit.mean()), float(np.where(hit, 1.0 / np.log2(np.argmax(match, axis=1) + 2), 0.0).mean())


def run_once(kind, lib, train, heldout, threads, seed):
    model = make(kind, lib, threads, seed)
    _, fw, fc = timed(lambda: model.fit(train, show_progress=False))
    users = np.arange(train.shape[0], dtype=np.int32)
    (ids, scores), rw, rc = timed(lambda: model.recommend(users, train, N=10))
    hr, ndcg = accuracy(ids, heldout)
    return dict(fit_wall=fw, fit_cpu=fc, rec_wall=rw, rec_cpu=rc, hr=hr, ndcg=ndcg), np.asarray(ids), np.asarray(scores)


def compare_lists(ours, theirs, our_scores, their_scores):
    """(share of users with identical ids, share with position-wise equal scores)."""
    identical = (ours == theirs).all(axis=1)
    tie_equal = np.isclose(our_scores, their_scores, rtol=1e-5, atol=1e-7).all(axis=1)
    return float(identical.mean()), float((identical | tie_equal).mean())


def bench_model(kind, train, heldout, args):
    repeats = range(args.seeds) if kind in FACTOR_MODELS else range(args.runs)
    out = {"implicit": [], "ours": []}
    small = train[:200]
    for lib in out:  # warm-up on a slice: imports, first-call set-up, caches
        run_once(kind, lib, small, heldout[:200], args.threads, seed=0)
    for r in repeats:
        # alternate who goes first so that drifting load hits both alike
        for lib in (("implicit", "ours") if r % 2 == 0 else ("ours", "implicit")):
            figures, ids, scores = run_once(kind, lib, train, heldout, args.threads, seed=r)
            out[lib].append(figures)
            if lib == "implicit":
                their_ids, their_scores = ids, scores
            else:
                our_ids, our_scores = ids, scores
    row = {"model": kind, "params": PARAMS[kind]}
    if kind not in FACTOR_MODELS:
        row["identical"], row["tie_equal"] = compare_lists(our_ids, their_ids, our_scores, their_scores)
    for lib, runs in out.items():
        row[lib] = {k: statistics.median(r[k] for r in runs) for k in ("fit_wall", "fit_cpu", "rec_wall", "rec_cpu")}
        for k in ("hr", "ndcg"):
            values = [r[k] for r in runs]
            row[lib][k], row[lib][k + "_sd"] = float(np.mean(values)), float(np.std(values, ddof=1) if len(values) > 1 else 0.0)
            row[lib][k + "_runs"] = values
        row[lib]["fit_wall_runs"] = [r["fit_wall"] for r in runs]
    return row


# ------------------------------------------------------------------ report
def ratio(row, key):
    return row["ours"][key] / row["implicit"][key] if row["implicit"][key] else float("nan")


def print_table(results):
    print("| data | model | fit s ours / implicit (wall; CPU ratio) | recommend all s ours / implicit (wall; CPU ratio) "
          "| HR@10 ours / implicit (ratio) | nDCG@10 ours / implicit (ratio) | runs | lists identical / tie-equal |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        o, t = r["ours"], r["implicit"]
        pm = lambda d, k: f"{d[k]:.4f}" + (f" ± {d[k + '_sd']:.4f}" if d[k + "_sd"] else "")  # noqa: E731
        lists = f"{r['identical']:.1%} / {r['tie_equal']:.1%}" if "identical" in r else "- (own random draws)"
        print(f"| {r['data']} | {r['model']} | {o['fit_wall']:.2f} / {t['fit_wall']:.2f} = {ratio(r, 'fit_wall'):.2f}; "
              f"{ratio(r, 'fit_cpu'):.2f} | {o['rec_wall']:.2f} / {t['rec_wall']:.2f} = {ratio(r, 'rec_wall'):.2f}; "
              f"{ratio(r, 'rec_cpu'):.2f} | {pm(o, 'hr')} / {pm(t, 'hr')} ({ratio(r, 'hr'):.3f}) "
              f"| {pm(o, 'ndcg')} / {pm(t, 'ndcg')} ({ratio(r, 'ndcg'):.3f}) | {len(o['hr_runs'])} | {lists} |",
              flush=True)


def plot(results, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['data']}\n{r['model']}" for r in results]
    x = np.arange(len(results))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8, 0.75 * len(results)), 7), sharex=True)
    for off, key, label in ((-0.3, "fit_wall", "fit (wall)"), (-0.1, "fit_cpu", "fit (CPU)"),
                            (0.1, "rec_wall", "recommend all (wall)"), (0.3, "rec_cpu", "recommend all (CPU)")):
        ax1.bar(x + off, [ratio(r, key) for r in results], 0.2, label=label)
    ax1.axhline(1.0, color="black", lw=0.8)
    ax1.set_ylabel("time, ours / implicit\n(goal <= 1)")
    ax1.legend(fontsize=7, ncol=4)
    for off, key, label in ((-0.15, "hr", "HR@10"), (0.15, "ndcg", "nDCG@10")):
        ax2.bar(x + off, [ratio(r, key) for r in results], 0.3, label=label,
                yerr=[_ratio_sd(r, key) for r in results], capsize=2)
    ax2.axhline(1.0, color="black", lw=0.8)
    ax2.axhline(0.98, color="red", lw=0.8, ls="--", label="goal 0.98")
    ax2.set_ylim(0.8, 1.2)
    ax2.set_ylabel("accuracy, ours / implicit\n(mean over seeds; goal >= 0.98)")
    ax2.set_xticks(x, labels, fontsize=7)
    ax2.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _ratio_sd(row, key):
    """Standard error of ours/implicit from the two seed-to-seed spreads (0 for a single run)."""
    o, t = row["ours"], row["implicit"]
    n = len(o[key + "_runs"])
    if n < 2 or not t[key] or not o[key]:
        return 0.0
    rel = np.hypot(o[key + "_sd"] / o[key], t[key + "_sd"] / t[key]) / np.sqrt(n)
    return float(ratio(row, key) * rel)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5, help="fits per library of the factor models (random_state 0..)")
    ap.add_argument("--runs", type=int, default=3, help="fits per library of the item-item models")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--data", nargs="+", default=list(FILES), choices=DATASETS)
    ap.add_argument("--data-dir", type=Path, default=SHARED)
    ap.add_argument("--json", type=Path, help="write the raw figures here")
    ap.add_argument("--from-json", nargs="+", type=Path, help="only print and plot these earlier --json outputs")
    ap.add_argument("--plot", default=str(HERE / "bench_implicit.png"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    if args.from_json:
        runs = [json.loads(p.read_text()) for p in args.from_json]
        results = [r for run in runs for r in run["results"]]
        for run in runs:
            print(f"# {run['header']}")
        print_table(results)
        if args.plot:
            loads = ", ".join(run["header"].split("load average at start ")[1].split()[0] for run in runs)
            plot(results, args.plot, f"reckernels vs implicit 0.7.3, 2 threads, same CSR (runs' starting load {loads})")
            print(f"plot: {args.plot}")
        return

    import implicit

    header = (f"implicit {implicit.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"{args.threads} threads, seeds {args.seeds} / runs {args.runs}, load average at start "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"# {header}", flush=True)
    results = []
    for name in args.data:
        t0 = time.perf_counter()
        data = load(name, args.data_dir)
        if data is None:
            print(f"# {name}: skipped, {args.data_dir / FILES[name]} not found")
            continue
        train, heldout = data
        print(f"# {name}: {train.shape[0]} users x {train.shape[1]} items, {train.nnz} train interactions, "
              f"{int((heldout >= 0).sum())} held out (loaded in {time.perf_counter() - t0:.1f} s)", flush=True)
        for kind in args.models:
            row = bench_model(kind, train, heldout, args)
            row["data"] = name
            row["load_after"] = os.getloadavg()[0]
            results.append(row)
            print_table([row])
            if args.json:  # after every model: a long run killed midway keeps what it measured
                args.json.write_text(json.dumps({"header": header, "results": results}, indent=1))
    header += f"; load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    print(f"# {header}")
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps({"header": header, "results": results}, indent=1))
    if results and args.plot:
        plot(results, args.plot, f"reckernels vs implicit 0.7.3, {args.threads} threads, same CSR "
                                 f"(load {os.getloadavg()[0]:.1f} at the end)")
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
