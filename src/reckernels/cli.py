"""The ``reckernels`` command: demo, evaluate, recommend, info.

    reckernels demo                                   # every model on built-in synthetic data
    reckernels evaluate --data ml-100k --algo svd --cv 5
    reckernels recommend --data ratings.csv --algo itemknn --user 42 -k 10
    reckernels info                                   # versions and which backends run here
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .algorithms import REGISTRY, get_algorithm

#: settings that keep the demo under a minute on two cores (they are printed with the table)
DEMO_SETTINGS = {
    "neumf": {"n_epochs": 3},
    "gmf": {"n_epochs": 3},
    "mlp": {"n_epochs": 3},
}


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (ValueError, TypeError, KeyError, FileNotFoundError, ImportError, RuntimeError) as exc:
        print(f"reckernels {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="reckernels",
        description="Recommender systems with compiled kernels: k-NN, matrix factorisation and NCF.",
        epilog="Algorithms: " + ", ".join(sorted(REGISTRY)) + ". Data: a ratings file (u.data, ratings.dat, "
               "ratings.csv or any delimited file), a MovieLens name (ml-100k, ml-1m, ml-latest-small, ml-20m, "
               "ml-25m; downloaded once), or 'synthetic'.",
    )
    p.add_argument("--version", action="version", version=f"reckernels {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="fit every model on synthetic data; print accuracy and top-10 lists")
    demo.add_argument("--algos", default=None, help="comma-separated algorithm names (default: all available)")
    demo.add_argument("--n-users", type=int, default=943)
    demo.add_argument("--n-items", type=int, default=1682)
    demo.add_argument("--n-ratings", type=int, default=100_000)
    demo.add_argument("--seed", type=int, default=0)
    _add_common(demo)
    demo.set_defaults(run=_demo)

    ev = sub.add_parser("evaluate", help="cross-validate one algorithm (RMSE, MAE, times per fold)")
    _add_data(ev)
    ev.add_argument("--algo", required=True, help="algorithm name, e.g. baseline, svd, itemknn")
    ev.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    ev.add_argument("--seed", type=int, default=0, help="fold shuffling seed (default 0)")
    _add_common(ev)
    ev.set_defaults(run=_evaluate)

    rec = sub.add_parser("recommend", help="fit on all the data and print the top-k items for a user")
    _add_data(rec)
    rec.add_argument("--algo", required=True)
    rec.add_argument("--user", required=True, action="append", help="raw user id (repeat for several)")
    rec.add_argument("-k", type=int, default=10)
    rec.add_argument("--include-seen", action="store_true", help="do not leave out items the user rated")
    _add_common(rec)
    rec.set_defaults(run=_recommend)

    info = sub.add_parser("info", help="versions, and which backends can run on this machine")
    info.set_defaults(run=_info)
    return p


def _add_data(p):
    p.add_argument("--data", required=True, help="ratings file, MovieLens name, or 'synthetic'")
    p.add_argument("--format", default="auto",
                   help="file format for --data PATH: ml-100k, ml-1m, ml-latest, csv or auto (default)")
    p.add_argument("--sep", default=None, help="separator of a generic delimited file (implies --format csv)")
    p.add_argument("--header", action="store_true",
                   help="the file's first line names its columns (implies --format csv)")
    p.add_argument("--data-home", default=None, help="cache folder for downloaded MovieLens archives")


def _add_common(p):
    p.add_argument("--backend", default="auto", help="reference, cython, numba, cuda or auto (default)")
    p.add_argument("--threads", type=int, default=None, help="threads for the kernels (default: all cores)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="algorithm option, e.g. --param k=20 --param sim=\"'cosine'\" (repeatable)")


def _load_data(args):
    from . import datasets

    if args.data == "synthetic":
        return datasets.make_ratings(random_state=0)
    if Path(args.data).exists():
        csv = {"sep": args.sep} if args.sep else {}
        if args.header:
            csv["header"] = True
        return datasets.read_ratings(args.data, format=args.format, **csv)
    if args.data.startswith("ml-"):
        return datasets.load_movielens(args.data, data_home=args.data_home)
    raise FileNotFoundError(f"--data {args.data!r} is neither a file, a MovieLens name nor 'synthetic'.")


def _make(name: str, args, extra=None):
    params = {"backend": args.backend, "n_threads": args.threads, **(extra or {})}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param {item!r} must look like NAME=VALUE.")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value  # a bare word is a string: --param sim=cosine
    return get_algorithm(name)(**params)


def _available_algos(requested):
    names = requested.split(",") if requested else sorted(REGISTRY)
    out = []
    for name in names:
        try:
            get_algorithm(name)
        except ImportError as exc:
            print(f"  (skipping {name}: {exc})")
            continue
        out.append(name)
    return out


def _demo(args) -> int:
    import os

    from . import datasets, metrics, split

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter would bury the table

    t0 = time.perf_counter()
    data = datasets.make_ratings(args.n_users, args.n_items, args.n_ratings, random_state=args.seed)
    train, test = split.train_test_split(data, test_size=0.2, random_state=args.seed)
    print(f"reckernels {__version__} demo: synthetic {data}")
    print(f"train {train.n_ratings:,} / test {test.n_ratings:,} ratings; backend={args.backend}\n")
    header = f"{'algorithm':<14}{'RMSE':>8}{'MAE':>8}{'P@10':>8}{'nDCG@10':>9}{'fit s':>8}{'predict/s':>12}"
    print(header)
    print("-" * len(header))
    fitted, rankers = {}, []
    relevant = _relevant_items(test)
    for name in _available_algos(args.algos):
        try:
            algo = _make(name, args, DEMO_SETTINGS.get(name))
            algo.fit(train)
        except ImportError as exc:
            print(f"{name:<14}skipped: {exc}")
            continue
        start = time.perf_counter()
        est = algo.predict(test.users, test.items)
        pred_rate = len(est) / max(time.perf_counter() - start, 1e-9)
        users, rel = relevant
        recs, _ = algo.recommend(users, k=10)
        p10 = metrics.precision_at_k(recs, rel, k=10)
        n10 = metrics.ndcg_at_k(recs, rel, k=10)
        if algo.predicts_ratings:
            errors = f"{metrics.rmse(test.ratings, est):8.4f}{metrics.mae(test.ratings, est):8.4f}"
        else:
            errors = f"{'-':>8}{'-':>8}"
            rankers.append(name)
        print(f"{name:<14}{errors}{p10:8.4f}{n10:9.4f}{algo.fit_time_:8.2f}{pred_rate:12,.0f}")
        fitted[name] = algo
    if rankers:
        print(f"(-: models of implicit feedback ({', '.join(rankers)}) predict a preference, not a rating; "
              "RMSE and MAE do not apply, P@10 and nDCG@10 do)")
    shown = [u for u in train.user_ids[:3]]
    for name in [n for n in ("itemknn", "svd", "baseline") if n in fitted][:2]:
        ids, scores = fitted[name].recommend(shown, k=10)
        print(f"\ntop-10 by {name}:")
        for u, row in zip(shown, ids):
            print(f"  user {u}: {' '.join(str(x) for x in row)}")
    settings = {k: v for k, v in DEMO_SETTINGS.items() if k in fitted}
    if settings:
        print(f"\ndemo settings: {settings}")
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")
    return 0


def _relevant_items(test, threshold=4.0):
    """Users with at least one test rating >= threshold, and those items (the ranking ground truth)."""
    keep = test.ratings >= threshold
    users = test.inner_users[keep]
    order = np.argsort(users, kind="stable")
    uniq, starts = np.unique(users[order], return_index=True)
    items = test.items[keep][order]
    groups = np.split(items, starts[1:]) if len(uniq) else []
    return test.user_ids[uniq], groups


def _evaluate(args) -> int:
    from .evaluation import cross_validate
    from .split import KFold

    data = _load_data(args)
    algo = _make(args.algo, args)
    print(f"{algo!r}\non {data}, {args.cv}-fold cross-validation (seed {args.seed})")
    cross_validate(algo, data, cv=KFold(args.cv, random_state=args.seed), verbose=True)
    return 0


def _recommend(args) -> int:
    data = _load_data(args)
    algo = _make(args.algo, args).fit(data)
    ids, scores = algo.recommend(args.user, k=args.k, exclude_seen=not args.include_seen)
    for user, row_ids, row_scores in zip(args.user, ids, scores):
        known = data.to_inner_users([user])[0] >= 0
        print(f"user {user}{'' if known else ' (not in the data: cold-start ranking)'}:")
        for rank, (item, score) in enumerate(zip(row_ids, row_scores), 1):
            if np.isfinite(score):
                print(f"  {rank:>3}. {item}  {score:.4f}")
    return 0


def _info(args) -> int:
    from ._sysinfo import report

    print(report())
    print("  algorithms: " + ", ".join(sorted(REGISTRY)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
