"""Top-N for every user on a Dask cluster, as a Dask DataFrame (user, rank, item, score).

The fitted model is scattered to every worker once; each partition is one block of users,
scored and selected on a worker by the model's own ``recommend`` (its compiled top-k kernel),
so the rows equal ``model.recommend`` for the same users. Nothing runs until the frame is
computed or written (``.to_parquet(path)`` writes one file per block from the workers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_positive_int
from ..algorithms.base import Estimator
from ._cluster import n_workers, resolve_client

#: users per partition when ``block_users`` is not given: a block's (block x n_items) float64
#: score matrix then stays near this many bytes (the model's own recommend_block_bytes)
_DEFAULT_BLOCK_BYTES = 64 * 2**20


def _block_frame(model, users, k, exclude_seen) -> pd.DataFrame:
    ids, scores = model.recommend(users, k, exclude_seen=exclude_seen)
    n = len(users)
    frame = pd.DataFrame({"user": np.repeat(users, k), "rank": np.tile(np.arange(1, k + 1, dtype=np.int64), n),
                          "item": ids.reshape(-1), "score": scores.reshape(-1)})
    return frame[np.isfinite(frame["score"].to_numpy())].reset_index(drop=True)  # fewer than k candidates


def recommend_all(model: Estimator, k: int = 10, *, client=None, users=None, exclude_seen: bool = True,
                  block_users: int | None = None):
    """The top ``k`` items of every user (or of ``users``, raw ids) as a Dask DataFrame.

    Columns: ``user`` and ``item`` (raw ids), ``rank`` (1..k), ``score``; one partition per block
    of ``block_users`` users (default: enough blocks for every worker, each block's score matrix
    bounded), users in the order given (default: the model's inner order). Where fewer than k
    items remain for a user, the missing ranks are absent (``model.recommend`` pads them with
    -inf). ``exclude_seen`` as in ``recommend``. Compute it (``.compute()``), or write it with
    ``.to_parquet(path)``.
    """
    import dask.dataframe as dd
    from dask import delayed

    if not isinstance(model, Estimator):
        raise TypeError(f"model must be a fitted reckernels estimator, got {type(model).__name__}.")
    model._check_fitted()
    k = check_positive_int("k", k)
    client = resolve_client(client)
    users = model.user_map_.raw_ids if users is None else np.atleast_1d(np.asarray(users))
    if users.ndim != 1 or len(users) == 0:
        raise ValueError("users must be a non-empty 1-d array of raw user ids (or None for every user).")
    if block_users is None:
        per_block = max(1, _DEFAULT_BLOCK_BYTES // max(1, 8 * len(model.item_map_)))
        block_users = max(1, min(per_block, -(-len(users) // n_workers(client))))
    else:
        block_users = check_positive_int("block_users", block_users)
    model_f = client.scatter(model, broadcast=True)
    meta = _block_frame(model, users[:1], k, exclude_seen).iloc[:0]
    parts = [delayed(_block_frame)(model_f, users[lo:lo + block_users], k, exclude_seen)
             for lo in range(0, len(users), block_users)]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)
