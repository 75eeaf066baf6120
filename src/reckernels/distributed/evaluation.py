"""Cross-validation and grid search with every (candidate, fold) fit as a task on the cluster.

The data set is scattered to the workers once; each task receives only its fold's row indices
(for an int ``cv`` or a :class:`reckernels.split.KFold`, drawn on the client exactly as a local
run draws them), builds the fold with ``Dataset.subset`` on the worker, fits a fresh copy of the
estimator and returns its scores. So the numbers are those of
:func:`reckernels.evaluation.cross_validate` on the same folds. Any other splitter or iterable of
(train, test) pairs is split on the client and each fold is shipped with its task.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from .._validation import check_positive_int
from ..algorithms.base import Estimator
from ..data import Dataset
from ..evaluation import _check_fold, _check_measures, _collect_runs, _folds, _run_fold
from ..split import KFold
from ._cluster import resolve_client


def _fold_task(algo, data, train_rows, test_rows, fold, names, return_train):
    """One fold's fit and scores (runs on a worker). ``data`` is the scattered Dataset, or with
    ``train_rows is None`` ``fold`` is the (train, test) pair itself."""
    train, test = fold if train_rows is None else (data.subset(train_rows), data.subset(test_rows))
    return _run_fold(algo, train, test, names, return_train)


def _fold_specs(cv, data, random_state):
    """[(train_rows, test_rows, fold)] with rows for KFold-like cv, else the fold pairs themselves."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        cv = KFold(check_positive_int("cv", cv, minimum=2), random_state=random_state)
    elif random_state is not None:
        raise ValueError("random_state applies only when cv is an int (the number of folds); give your splitter "
                         "its own random_state instead.")
    if isinstance(cv, KFold):
        return [(tr, te, None) for tr, te in cv.split_rows(len(data))]
    folds = [_check_fold(f, k) for k, f in enumerate(_folds(cv, data, None))]
    return [(None, None, f) for f in folds]


def _check_inputs(algo, data, measures):
    if not isinstance(algo, Estimator):
        raise TypeError(f"algo must be a reckernels estimator (such as BaselineOnly()), got {type(algo).__name__}.")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a reckernels.Dataset, got {type(data).__name__}.")
    names = _check_measures(measures)
    if not algo.predicts_ratings:
        raise ValueError(f"{type(algo).__name__} scores items for ranking (its predict is not a rating), so "
                         f"{', '.join(names)} would not measure it; use reckernels.evaluation.evaluate_ranking.")
    return names


def _submit_folds(client, algo, params_list, data, specs, names, return_train):
    """Futures [[fold results] per candidate], the data scattered once for all of them."""
    data_f = client.scatter(data, broadcast=True) if any(s[0] is not None for s in specs) else None
    return [[client.submit(_fold_task, type(algo)(**params), data_f, tr, te, fold, names, return_train, pure=False)
             for tr, te, fold in specs] for params in params_list]


def cross_validate(algo: Estimator, data: Dataset, cv=5, *, client=None, measures=("rmse", "mae"),
                   random_state=None, return_train_measures: bool = False) -> dict:
    """:func:`reckernels.evaluation.cross_validate` with the folds fitted as tasks on a Dask cluster.

    Same arguments and the same result dict (``test_<measure>``, ``fit_time``, ``test_time``,
    and ``train_<measure>`` when asked), with the same numbers as a local run on the same folds.
    ``client``: a ``distributed.Client`` (default: the current one).
    """
    names = _check_inputs(algo, data, measures)
    client = resolve_client(client)
    specs = _fold_specs(cv, data, random_state)
    futures = _submit_folds(client, algo, [algo.get_params()], data, specs, names, return_train_measures)[0]
    return _collect_runs(client.gather(futures), names, return_train_measures)


def grid_search(algo: Estimator, param_grid: dict, data: Dataset, cv=5, *, client=None, measures=("rmse", "mae"),
                random_state=None, return_train_measures: bool = False) -> dict:
    """Cross-validate every combination of ``param_grid`` (name -> list of values) at once on the cluster.

    All (candidate, fold) fits are tasks submitted together, over one scattered copy of the
    data. Returns ``best_params`` / ``best_score`` / ``best_index`` (dicts keyed by measure: the
    lowest mean test error), ``params`` (the candidates, in ``itertools.product`` order of the
    grid) and ``cv_results``: for each measure ``mean_test_<m>``, ``std_test_<m>``,
    ``rank_test_<m>`` and ``split<k>_test_<m>``, plus ``mean_fit_time`` and ``mean_test_time``
    (scikit-surprise's GridSearchCV layout). The scores equal a local
    :func:`reckernels.evaluation.cross_validate` of each candidate on the same folds.
    """
    names = _check_inputs(algo, data, measures)
    if not isinstance(param_grid, dict) or not param_grid:
        raise TypeError("param_grid must be a non-empty dict of parameter name -> list of values, "
                        "e.g. {'n_factors': [50, 100], 'reg_all': [0.02, 0.05]}.")
    known = set(algo.get_params())
    unknown = sorted(set(param_grid) - known)
    if unknown:
        raise ValueError(f"param_grid names unknown parameter(s) {unknown} of {type(algo).__name__}; "
                         f"its parameters are {', '.join(sorted(known))}.")
    for name, values in param_grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or len(list(values)) == 0:
            raise ValueError(f"param_grid[{name!r}] must be a non-empty list of values, got {values!r}.")
    keys = list(param_grid)
    candidates = [dict(zip(keys, combo)) for combo in itertools.product(*(list(param_grid[k]) for k in keys))]
    params_list = []
    for cand in candidates:
        params = {**algo.get_params(), **cand}
        type(algo)(**params)  # a bad value raises here, on the client, before anything is submitted
        params_list.append(params)
    client = resolve_client(client)
    specs = _fold_specs(cv, data, random_state)
    futures = _submit_folds(client, algo, params_list, data, specs, names, return_train_measures)
    per_candidate = [_collect_runs(client.gather(row), names, return_train_measures) for row in futures]

    cv_results: dict = {"params": candidates}
    best_index, best_params, best_score = {}, {}, {}
    for m in names:
        scores = np.array([r[f"test_{m}"] for r in per_candidate])  # (n_candidates, n_folds)
        means = scores.mean(axis=1)
        for k in range(scores.shape[1]):
            cv_results[f"split{k}_test_{m}"] = scores[:, k]
        cv_results[f"mean_test_{m}"] = means
        cv_results[f"std_test_{m}"] = scores.std(axis=1)
        order = np.argsort(means, kind="stable")
        ranks = np.empty(len(means), dtype=np.int64)
        ranks[order] = np.arange(1, len(means) + 1)
        cv_results[f"rank_test_{m}"] = ranks
        best_index[m] = int(order[0])
        best_params[m] = candidates[order[0]]
        best_score[m] = float(means[order[0]])
    cv_results["mean_fit_time"] = np.array([r["fit_time"].mean() for r in per_candidate])
    cv_results["mean_test_time"] = np.array([r["test_time"].mean() for r in per_candidate])
    return {"best_params": best_params, "best_score": best_score, "best_index": best_index,
            "params": candidates, "cv_results": cv_results}
