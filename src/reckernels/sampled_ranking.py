"""The NCF evaluation protocol (He et al. 2017): each held-out item ranked against sampled negatives.

For every test interaction (u, i) (typically the latest one per user, from
``reckernels.split.leave_one_out``), ``n_negatives`` items (99 by default) are drawn without
replacement among the training items u never interacted with, in training or test. The model
scores the 1 + n_negatives candidates; the held-out item's rank is the number of negatives
scoring at least as high (ties count against it, so a constant model scores 0, not 1), and

    HR@k   = mean(rank < k)
    NDCG@k = mean(1 / log2(rank + 2) if rank < k else 0)

It works for every model in the library. Scores come from, in order of preference, the
model's ``_score_pairs(users, items)`` (inner ids; models that can score single pairs cheaply,
like NeuMF), its ``_score(users)`` (the ranking hook ``recommend`` uses; the candidate columns
are picked out of each user's row) or, for a model that does not rank, ``predict`` on the raw
pairs. A held-out item that never occurs in training cannot be recommended by any model and
counts as a miss. The candidates depend only on (train, test, n_negatives, random_state), so
the same seed gives every model the same negatives; ``sample_candidates`` returns them for
reuse.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import check_positive_int
from .algorithms.base import Estimator
from .data import Dataset


class Candidates(NamedTuple):
    """The items to rank for each test interaction (raw ids)."""

    users: np.ndarray  # (n_cases,) raw user id of each test interaction
    items: np.ndarray  # (n_cases, 1 + n_negatives) raw item ids; column 0 is the held-out item


def sample_candidates(train: Dataset, test: Dataset, *, n_negatives: int = 99, random_state=0) -> Candidates:
    """Draw the negatives of every test interaction; deterministic given ``random_state``.

    ``random_state`` is an int seed, a numpy Generator or None (fresh entropy, not reproducible).
    Raises if a user has fewer than ``n_negatives`` training items left to draw from.
    """
    for name, part in (("train", train), ("test", test)):
        if not isinstance(part, Dataset):
            raise TypeError(f"{name} must be a reckernels.Dataset, got {type(part).__name__}.")
    n_negatives = check_positive_int("n_negatives", n_negatives)
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    test_users = test.users
    train_u = train.to_inner_users(test_users)
    test_i = train.to_inner_items(test.items)  # -1: the held-out item is not in training
    indptr, indices = train.csr.indptr, train.csr.indices
    negatives = np.empty((len(test), n_negatives), dtype=np.int64)
    # every test item of a user is "touched", not only the one being ranked
    by_user = np.argsort(test.inner_users, kind="stable")
    bounds = np.flatnonzero(np.diff(test.inner_users[by_user])) + 1
    for rows in np.split(by_user, bounds):
        u = train_u[rows[0]]
        seen = indices[indptr[u]:indptr[u + 1]] if u >= 0 else indices[:0]
        touched = np.unique(np.concatenate((seen, test_i[rows][test_i[rows] >= 0])))
        n_free = train.n_items - len(touched)
        if n_free < n_negatives:
            raise ValueError(f"user {test_users[rows[0]].item()!r} has only {n_free} training items left to sample as "
                             f"negatives; lower n_negatives (now {n_negatives}).")
        for r in rows:
            # a rank among the free items, mapped to its item id (touched[k] - k counts free items below it)
            ranks = rng.choice(n_free, size=n_negatives, replace=False)
            negatives[r] = ranks + np.searchsorted(touched - np.arange(len(touched)), ranks, side="right")
    items = np.concatenate((test.items[:, None], train.item_ids[negatives]), axis=1)
    return Candidates(test_users, items)


def candidate_scores(model, candidates: Candidates, *, block: int = 1024) -> np.ndarray:
    """(n_cases, 1 + n_negatives) float64 scores; -inf for an item the model never saw."""
    model._check_fitted()
    users = model.user_map_.to_inner(candidates.users)
    items = model.item_map_.to_inner(candidates.items.ravel()).reshape(candidates.items.shape)
    known = items >= 0
    scores = np.full(items.shape, -np.inf)
    pair_hook = getattr(model, "_score_pairs", None)
    if pair_hook is not None:
        rows, cols = np.nonzero(known)
        scores[rows, cols] = pair_hook(users[rows], items[rows, cols])
    elif type(model)._score is not Estimator._score:
        for start in range(0, len(users), block):
            grid = np.asarray(model._score(users[start:start + block]), dtype=np.float64)
            part = items[start:start + block]
            ok = known[start:start + block]
            rows, cols = np.nonzero(ok)
            scores[start + rows, cols] = grid[rows, part[rows, cols]]
    else:  # a model that does not rank: its rating estimates
        rows, cols = np.nonzero(known)
        scores[rows, cols] = model.predict(candidates.users[rows], candidates.items[rows, cols], clip=False)
    scores[np.isnan(scores)] = -np.inf
    return scores


def held_out_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank (from 0) of column 0 among its row: how many other columns score at least as high."""
    return np.sum(scores[:, 1:] >= scores[:, :1], axis=1)


def hit_rate_ndcg(ranks: np.ndarray, k: int = 10) -> tuple[float, float]:
    """HR@k and NDCG@k from the held-out items' ranks."""
    k = check_positive_int("k", k)
    ranks = np.asarray(ranks)
    hit = ranks < k
    gain = np.where(hit, 1.0 / np.log2(np.maximum(ranks, 0) + 2.0), 0.0)
    return float(hit.mean()), float(gain.mean())


def sampled_ranking_evaluation(model, train: Dataset | None = None, test: Dataset | None = None, *, k: int = 10,
                               n_negatives: int = 99, random_state=0, candidates: Candidates | None = None) -> dict:
    """HR@k and NDCG@k of a fitted ``model`` under the NCF protocol (see the module docstring).

    Pass ``train`` and ``test`` (the negatives are drawn from them with ``random_state``), or
    ``candidates`` from :func:`sample_candidates` to reuse the same negatives across models.
    Returns ``{"hit_rate", "ndcg", "k", "n_cases", "ranks"}``.
    """
    k = check_positive_int("k", k)
    if candidates is None:
        if train is None or test is None:
            raise ValueError("pass train and test (to draw the negatives), or candidates from sample_candidates().")
        candidates = sample_candidates(train, test, n_negatives=n_negatives, random_state=random_state)
    elif train is not None or test is not None:
        raise ValueError("pass either train and test or candidates, not both (candidates already fix the negatives).")
    ranks = held_out_ranks(candidate_scores(model, candidates))
    hr, ndcg = hit_rate_ndcg(ranks, k)
    return {"hit_rate": hr, "ndcg": ndcg, "k": k, "n_cases": len(ranks), "ranks": ranks}
