"""``reckernels.distributed.fit``: train a model on a Dask cluster from a Dataset or a Dask DataFrame.

- ALS and ImplicitALS run their half-sweeps on the workers (:mod:`reckernels.distributed.als`).
- UserKNN and ItemKNN compute their top-M similarity by row blocks on the workers
  (:mod:`reckernels.distributed.knn`); from a Dask DataFrame the whole fit runs in a task on one
  worker, which spreads the row blocks over the cluster from there.
- Every other model is fitted whole, as one task on one worker (its kernels use that worker's
  threads), and comes back to the client: the documented fallback, useful to keep the client
  light, not faster than a local fit.

The fitted model is an ordinary reckernels model: predict, recommend, save, pickle.
"""

from __future__ import annotations

import pandas as pd

from ..algorithms.als import ALS, ImplicitALS
from ..algorithms.base import Estimator
from ..algorithms.knn import _KNN
from ..data import Dataset
from . import data as _data
from ._cluster import n_workers, resolve_client
from .als import fit_als
from .knn import topm_runner


def _is_dask_dataframe(obj) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, dd.DataFrame)


def _dataset_from_partitions(cols, rating_scale, *parts) -> Dataset:
    """The Dataset of the concatenated partitions (runs on a worker): the local ``from_pandas``."""
    user_col, item_col, rating_col = cols
    return Dataset.from_pandas(pd.concat(parts, ignore_index=True), user_col, item_col, rating_col,
                               rating_scale=rating_scale)


def _fit_whole(model, data, cols=None, rating_scale=None, *parts):
    """Fit ``model`` in this task (runs on a worker); KNN spreads its similarity from here."""
    if data is None:
        data = _dataset_from_partitions(cols, rating_scale, *parts)
    if isinstance(model, _KNN):
        from distributed import worker_client

        with worker_client() as client:
            return _fit_knn(model, data, client)
    return model.fit(data)


def _fit_knn(model, data, client):
    model._topm_runner = topm_runner(client, model.n_threads)
    try:
        return model.fit(data)
    finally:
        del model._topm_runner


def fit(model: Estimator, data, *, client=None, user_col="user", item_col="item", rating_col="rating",
        rating_scale=None, n_blocks: int | None = None, callback=None, max_retries: int = 3) -> Estimator:
    """Fit ``model`` on the cluster; returns the fitted model (``model`` itself for ALS / k-NN
    from a Dataset, else the copy that was fitted on a worker).

    ``data``: a reckernels Dataset, or a ``dask.dataframe.DataFrame`` with the columns
    ``user_col``, ``item_col`` and ``rating_col`` (None for implicit data: every rating 1),
    ``rating_scale`` as in ``Dataset.from_pandas``. ``n_blocks``: row blocks per side for ALS
    (default: one per worker). ``callback(epoch, model)`` after each ALS epoch. ``max_retries``:
    how often an ALS half-sweep is resubmitted after losing a worker. See the module docstring
    for what runs where.
    """
    if not isinstance(model, Estimator):
        raise TypeError(f"model must be a reckernels estimator, got {type(model).__name__}.")
    frame = _is_dask_dataframe(data)
    if not frame and not isinstance(data, Dataset):
        raise TypeError(f"data must be a reckernels.Dataset or a dask.dataframe.DataFrame, got {type(data).__name__}; "
                        "for a pandas DataFrame use Dataset.from_pandas(df) or dask.dataframe.from_pandas(df, ...).")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable as callback(epoch, model), got {callback!r}.")
    client = resolve_client(client)
    cols = (user_col, item_col, rating_col)
    if isinstance(model, (ALS, ImplicitALS)):
        blocks = n_workers(client) if n_blocks is None else int(n_blocks)
        if blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}.")
        if frame:
            blocked = _data.from_dask_dataframe(client, data, blocks, user_col=user_col, item_col=item_col,
                                                rating_col=rating_col, rating_scale=rating_scale)
        else:
            blocked = _data.from_dataset(client, data, blocks)
        return fit_als(model, blocked, client, callback=callback, max_retries=max_retries)
    if callback is not None:
        raise ValueError(f"callback is supported for ALS and ImplicitALS on the cluster; {type(model).__name__} "
                         "is fitted in one task (fit it locally to follow its epochs).")
    if isinstance(model, _KNN) and not frame:
        return _fit_knn(model, data, client)
    if frame:
        parts = client.compute(data.to_delayed())
        return client.submit(_fit_whole, model, None, cols, rating_scale, *parts, pure=False).result()
    return client.submit(_fit_whole, model, data, pure=False).result()
