"""Cross-validation of rating accuracy, and top-k ranking evaluation of a fitted model."""

from __future__ import annotations

import numbers
import time

import numpy as np

from . import metrics as _metrics
from ._validation import check_positive_int
from .backends import default_threads
from .algorithms.base import Estimator, clone
from .data import Dataset
from .split import KFold

#: error measures cross_validate knows (the names scikit-surprise's accuracy module uses)
ACCURACY_MEASURES = {"rmse": _metrics.rmse, "mse": _metrics.mse, "mae": _metrics.mae}


def _check_measures(measures) -> list[str]:
    if isinstance(measures, str):
        measures = (measures,)
    names = [str(m).lower() for m in measures]
    unknown = [m for m in names if m not in ACCURACY_MEASURES]
    if unknown or not names:
        raise ValueError(f"measures holds unknown name(s) {unknown or 'none at all'}; known measures are "
                         f"{', '.join(ACCURACY_MEASURES)}.")
    return names


def _folds(cv, data, random_state):
    """The (train, test) pairs of ``cv``: an int (KFold), a splitter with ``.split(data)``, or an iterable of pairs."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        return KFold(check_positive_int("cv", cv, minimum=2), random_state=random_state).split(data)
    if random_state is not None:
        raise ValueError("random_state applies only when cv is an int (the number of folds); give your splitter "
                         "its own random_state instead.")
    if hasattr(cv, "split") and not isinstance(cv, str):
        return cv.split(data)
    if hasattr(cv, "__iter__") and not isinstance(cv, str):
        return iter(cv)
    raise TypeError(f"cv must be an int (number of folds), a splitter with .split(data) such as KFold, or an "
                    f"iterable of (train, test) Datasets, got {type(cv).__name__}.")


def _check_fold(fold, index: int) -> tuple[Dataset, Dataset]:
    if not (isinstance(fold, tuple) and len(fold) == 2 and all(isinstance(d, Dataset) for d in fold)):
        raise TypeError(f"cv fold {index} is not a (train, test) pair of reckernels Datasets; got "
                        f"{type(fold).__name__}.")
    return fold


def _scores(est: Estimator, part: Dataset, measures) -> dict:
    est_ratings = est.predict(part.users, part.items)
    return {m: ACCURACY_MEASURES[m](part.ratings, est_ratings) for m in measures}


def _check_n_jobs(n_jobs) -> int:
    """Worker processes for ``n_jobs``: None or 1 (none: run here), a positive int, or -1 for every core
    (-2 all but one, ...), as joblib."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a positive int, or -1 for one process per core (None: 1), got {n_jobs!r}.")
    if n_jobs > 0:
        return int(n_jobs)
    cores = default_threads(None)
    if cores + 1 + n_jobs < 1:
        raise ValueError(f"n_jobs={n_jobs} leaves no process on this machine's {cores} core(s); use n_jobs=-1 "
                         "(every core) or a positive number.")
    return cores + 1 + int(n_jobs)


def _run_fold(algo: Estimator, train: Dataset, test: Dataset, names, train_measures: bool):
    """Fit a fresh copy of ``algo`` on one fold: (test scores, train scores or None, fit time, test time).

    Module-level so a worker process can run it (the arguments travel pickled)."""
    est = clone(algo)
    start = time.perf_counter()
    est.fit(train)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    test_scores = _scores(est, test, names)
    test_time = time.perf_counter() - start
    return test_scores, (_scores(est, train, names) if train_measures else None), fit_time, test_time


def _run_folds_in_processes(algo, folds, names, train_measures, n_jobs):
    if isinstance(algo.random_state, (np.random.Generator, np.random.RandomState)):
        raise ValueError(f"with n_jobs > 1 each fold's process would get its own copy of the random_state Generator, "
                         f"so the folds would not draw what they draw with n_jobs=1; give {type(algo).__name__} an "
                         f"int random_state (or None), or use n_jobs=1.")
    # "spawn": fresh interpreters, never a fork of a process whose OpenMP, Numba or TensorFlow
    # threads are running (a forked child can deadlock on their locks)
    if not folds:
        return []
    import multiprocessing  # here, not at import: `import reckernels` stays light
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(folds)), mp_context=context) as pool:
        futures = [pool.submit(_run_fold, algo, train, test, names, train_measures) for train, test in folds]
        return [f.result() for f in futures]


def cross_validate(algo: Estimator, data: Dataset, cv=5, *, measures=("rmse", "mae"), random_state=None,
                   return_train_measures: bool = False, n_jobs: int = 1, verbose: bool = False) -> dict:
    """Fit a fresh copy of ``algo`` on each training fold and measure its errors on the test fold.

    ``cv`` is an int (``KFold(cv, random_state=random_state)``, scikit-surprise's folds), a
    splitter with ``.split(data)``, or an iterable of ``(train, test)`` Datasets. Returns a
    dict shaped like scikit-surprise's: ``test_<measure>`` (one value per fold), ``fit_time``
    and ``test_time`` (seconds per fold), and ``train_<measure>`` when
    ``return_train_measures``; all numpy arrays. ``verbose`` prints scikit-surprise's table.

    ``n_jobs`` folds run at once, each in its own worker process (``concurrent.futures`` with
    the "spawn" start method; -1 means one per core, -2 all but one, None is 1, as joblib).
    The estimator and the folds are pickled to the workers (see :mod:`reckernels.algorithms.base`),
    and every fold gives the same numbers as with ``n_jobs=1`` (an estimator with a random_state
    Generator is refused there: give it an int).
    Each worker's model still uses ``n_threads`` threads: to avoid oversubscribing the cores,
    give the estimator ``n_threads`` of about cores / n_jobs (results of the threaded
    schedules can depend on it). As with every spawned process pool, a script that calls this
    with ``n_jobs > 1`` must do so under ``if __name__ == "__main__":``.
    """
    if not isinstance(algo, Estimator):
        raise TypeError(f"algo must be a reckernels estimator (such as BaselineOnly()), got {type(algo).__name__}.")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a reckernels.Dataset, got {type(data).__name__}.")
    names = _check_measures(measures)
    n_jobs = _check_n_jobs(n_jobs)
    if not algo.predicts_ratings:
        raise ValueError(f"{type(algo).__name__} scores items for ranking (its predict is not a rating), so "
                         f"{', '.join(names)} would not measure it; use reckernels.evaluation.evaluate_ranking "
                         "on a split instead.")
    folds = (_check_fold(fold, index) for index, fold in enumerate(_folds(cv, data, random_state)))
    if n_jobs == 1:
        runs = [_run_fold(algo, train, test, names, return_train_measures) for train, test in folds]
    else:
        runs = _run_folds_in_processes(algo, list(folds), names, return_train_measures, n_jobs)
    result = _collect_runs(runs, names, return_train_measures)
    if verbose:
        print(format_summary(type(algo).__name__, names, result))
    return result


def _collect_runs(runs, names, train_measures: bool) -> dict:
    """cross_validate's result dict from the ``_run_fold`` results of every fold."""
    if not runs:
        raise ValueError("cv produced no fold; give at least one (train, test) pair.")
    test_scores, train_scores, fit_times, test_times = zip(*runs)
    result = {f"test_{m}": np.array([s[m] for s in test_scores]) for m in names}
    if train_measures:
        result.update({f"train_{m}": np.array([s[m] for s in train_scores]) for m in names})
    result["fit_time"] = np.array(fit_times)
    result["test_time"] = np.array(test_times)
    return result


def format_summary(algo_name: str, measures, result: dict) -> str:
    """scikit-surprise's per-fold table: one column per fold, then the mean and the (population) std."""
    n_folds = len(result["fit_time"])
    row = "{:<18}" + "{:<8}" * (n_folds + 2)

    def line(label, values, fmt):
        return row.format(label, *[format(v, fmt) for v in values], format(np.mean(values), fmt),
                          format(np.std(values), fmt))

    lines = [f"Evaluating {', '.join(m.upper() for m in measures)} of algorithm {algo_name} on {n_folds} split(s).",
             "", row.format("", *[f"Fold {i + 1}" for i in range(n_folds)], "Mean", "Std")]
    lines += [line(f"{m.upper()} (testset)", result[f"test_{m}"], "1.4f") for m in measures]
    lines += [line(f"{m.upper()} (trainset)", result[f"train_{m}"], "1.4f") for m in measures
              if f"train_{m}" in result]
    lines += [line("Fit time", result["fit_time"], ".2f"), line("Test time", result["test_time"], ".2f")]
    return "\n".join(lines)


def _relevant_by_user(test: Dataset, relevance_threshold) -> tuple[np.ndarray, list]:
    """Raw ids of the test users with at least one relevant item, and each one's relevant raw item ids."""
    keep = np.ones(len(test), dtype=bool)
    if relevance_threshold is not None:
        if isinstance(relevance_threshold, bool) or not isinstance(relevance_threshold, numbers.Real) \
                or not np.isfinite(relevance_threshold):
            raise ValueError(f"relevance_threshold must be a finite number or None, got {relevance_threshold!r}.")
        keep = test.ratings >= relevance_threshold
    if not keep.any():
        raise ValueError(f"no test rating reaches relevance_threshold={relevance_threshold}, so no user has a "
                         "relevant item; lower the threshold.")
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(test.inner_users[rows], kind="stable")]  # grouped by user, data order within
    users, starts = np.unique(test.inner_users[rows], return_index=True)
    return test.user_ids[users], np.split(test.items[rows], starts[1:])


def evaluate_ranking(algo: Estimator, train: Dataset, test: Dataset, *, k: int = 10,
                     metrics=_metrics.RANKING_METRICS, relevance_threshold=None, exclude_seen: bool = True) -> dict:
    """Top-k ranking quality of ``algo`` (already fitted on ``train``) against the items of ``test``.

    Every test user with at least one relevant item (a test item rated >= ``relevance_threshold``,
    or any test item when it is None) gets a top-k list from one batched ``recommend`` call.
    Returns ``{"<metric>@k": mean over those users}`` for each of ``metrics`` (see
    :mod:`reckernels.metrics`), plus ``"coverage@k"`` (share of train's items recommended to
    anyone) and ``"novelty@k"`` (mean self-information in bits, popularity = share of train's
    users who rated the item).
    """
    if not isinstance(algo, Estimator):
        raise TypeError(f"algo must be a fitted reckernels estimator, got {type(algo).__name__}.")
    for name, value in (("train", train), ("test", test)):
        if not isinstance(value, Dataset):
            raise TypeError(f"{name} must be a reckernels.Dataset, got {type(value).__name__}.")
    k = check_positive_int("k", k)
    if isinstance(metrics, str):
        metrics = (metrics,)
    users, relevant = _relevant_by_user(test, relevance_threshold)
    recommended, _ = algo.recommend(users, k, exclude_seen=exclude_seen)
    result = {f"{m}@{k}": v for m, v in _metrics.ranking_metrics(recommended, relevant, k, tuple(metrics)).items()}
    result[f"coverage@{k}"] = _metrics.catalogue_coverage(recommended, train.n_items)
    item_ids, shares = _metrics.popularity_shares(train)
    result[f"novelty@{k}"] = _metrics.novelty(recommended, shares, item_ids=item_ids)
    return result

from .sampled_ranking import sample_candidates, sampled_ranking_evaluation  # noqa: E402,F401
