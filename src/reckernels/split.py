"""Train/test splits of a :class:`reckernels.Dataset`: random, per user, by time, k-fold, leave-one-out.

Every split returns reckernels Datasets built with :meth:`Dataset.subset`, so inner ids are
renumbered by first appearance in each part, like a scikit-surprise trainset. Users and
items of a test set that never occur in its training set are kept (they are the cold-start
cases a model must fall back on).

``random_state`` is an int (a new ``numpy.random.RandomState(seed)`` each time, as
scikit-surprise's ``get_rng`` does, so the same seed gives the very same split), a numpy
``RandomState`` or ``Generator`` (used as is, so its state advances), or None (numpy's
global RandomState, as in scikit-surprise: ``np.random.seed`` makes it reproducible).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import check_choice, check_positive_int
from .data import Dataset

SPLIT_STRATEGIES = ("random", "user", "time")


def _check_data(data) -> Dataset:
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a reckernels.Dataset, got {type(data).__name__}; build one with "
                        "Dataset.from_arrays, Dataset.from_pandas or reckernels.datasets.read_ratings.")
    return data


def get_rng(random_state):
    """The random generator a split uses for ``random_state`` (see the module docstring)."""
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a seed >= 0, got {random_state}.")
        return np.random.RandomState(int(random_state))
    raise TypeError(f"random_state must be None, an int seed, a numpy RandomState or Generator, "
                    f"got {random_state!r}.")


def _n_test(test_size, n: int) -> int:
    """Number of test ratings: ``ceil(test_size * n)`` for a fraction (scikit-surprise's rounding), or the count."""
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        if not 1 <= test_size <= n - 1:
            raise ValueError(f"test_size={test_size} is a count of test ratings and must be in [1, {n - 1}] "
                             f"for a data set of {n} ratings; pass a smaller count or a fraction in (0, 1).")
        return int(test_size)
    if isinstance(test_size, numbers.Real) and not isinstance(test_size, bool) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
        if n_test >= n:
            raise ValueError(f"test_size={test_size} would leave no training rating out of {n}; "
                             "pass a smaller fraction.")
        return n_test
    raise ValueError(f"test_size must be a fraction strictly between 0 and 1 or an int count of test ratings, "
                     f"got {test_size!r}.")


def train_test_split(data: Dataset, test_size=0.2, *, random_state=None, strategy: str = "random"):
    """Split ``data`` into ``(train, test)`` Datasets.

    - ``strategy="random"``: scikit-surprise's ``train_test_split`` exactly. The rows are
      permuted by ``rng.permutation(n)``; the first ``n - n_test`` go to train and the rest to
      test, each in permuted order, with ``n_test = ceil(test_size * n)`` (or the int count).
    - ``"user"``: holds out ``ceil(test_size * n_u)`` of each user's ``n_u`` ratings, chosen at
      random, but at most ``n_u - 1``, so users with one rating stay in train. ``test_size``
      must be a fraction here.
    - ``"time"``: the latest ``n_test`` ratings by timestamp go to test (equal timestamps: the
      later row is the later rating). Needs timestamps.

    With "user" and "time" both parts keep the data's row order.
    """
    data = _check_data(data)
    check_choice("strategy", strategy, SPLIT_STRATEGIES)
    n = len(data)
    if strategy == "user":
        test_mask = _per_user_test_mask(data, test_size, get_rng(random_state))
        if not test_mask.any():
            raise ValueError("strategy='user' holds out nothing here: every user has a single rating, which stays "
                             "in train; use strategy='random' or data with users of two ratings or more.")
        return data.subset(~test_mask), data.subset(test_mask)
    n_test = _n_test(test_size, n)
    if strategy == "time":
        if random_state is not None:
            raise ValueError("random_state has no effect with strategy='time' (the split is by timestamp); "
                             "leave it as None.")
        if data.timestamps is None:
            raise ValueError("strategy='time' needs timestamps, and this data set has none; build it with "
                             "timestamps or choose strategy='random' or 'user'.")
        order = np.argsort(data.timestamps, kind="stable")
        test_mask = np.zeros(n, dtype=bool)
        test_mask[order[n - n_test:]] = True
        return data.subset(~test_mask), data.subset(test_mask)
    permutation = get_rng(random_state).permutation(n)
    return data.subset(permutation[:n - n_test]), data.subset(permutation[n - n_test:])


def _per_user_test_mask(data: Dataset, test_size, rng) -> np.ndarray:
    """Rows held out by the "user" strategy (a random ceil(test_size * n_u), at most n_u - 1, per user)."""
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1 with strategy='user' "
                         f"(the share of each user's ratings held out), got {test_size!r}.")
    users = data.inner_users
    counts = np.bincount(users)
    n_test_of_user = np.minimum(np.ceil(test_size * counts), counts - 1).astype(np.int64)
    rank = _rank_within_user(users, counts, rng.random(len(users)))
    return rank < n_test_of_user[users]


def _rank_within_user(users: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each row, its position (0-based) among its user's rows sorted by ``keys`` (ties: row order)."""
    order = np.lexsort((keys, users))  # grouped by user, then by key; lexsort is stable
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - starts[users[order]]
    return rank


class KFold:
    """K-fold cross-validation with scikit-surprise's folds.

    ``split(data)`` shuffles the row indices with ``rng.shuffle`` (when ``shuffle``), cuts them
    into ``n_splits`` consecutive folds (the first ``n % n_splits`` folds one row longer) and
    yields ``(train, test)`` Datasets: test holds fold f's rows in shuffled order, train the
    rows before then after it. This is scikit-surprise's ``model_selection.KFold`` row for
    row, so figures computed on these folds compare with its own. ``random_state`` is used
    only when ``shuffle`` is True.
    """

    def __init__(self, n_splits: int = 5, *, random_state=None, shuffle: bool = True):
        self.n_splits = check_positive_int("n_splits", n_splits, minimum=2)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError("random_state has no effect with shuffle=False; leave it as None or set shuffle=True.")
        get_rng(random_state)  # check it now rather than at split time
        self.shuffle = bool(shuffle)
        self.random_state = random_state

    def __repr__(self) -> str:
        return f"KFold(n_splits={self.n_splits}, random_state={self.random_state!r}, shuffle={self.shuffle})"

    def get_n_folds(self) -> int:
        return self.n_splits

    def split(self, data: Dataset):
        """Yield ``(train, test)`` Datasets, one pair per fold."""
        data = _check_data(data)
        for train_rows, test_rows in self.split_rows(len(data)):
            yield data.subset(train_rows), data.subset(test_rows)

    def split_rows(self, n: int):
        """Yield ``(train_rows, test_rows)`` index arrays of each fold of ``n`` ratings (what
        ``split`` takes subsets of; the shuffle is drawn once, when the first fold is asked for)."""
        if self.n_splits > n:
            raise ValueError(f"n_splits={self.n_splits} is more than the {n} ratings of the data; "
                             f"use at most {n} folds.")
        indices = np.arange(n)
        if self.shuffle:
            get_rng(self.random_state).shuffle(indices)
        bounds = np.full(self.n_splits, n // self.n_splits)
        bounds[:n % self.n_splits] += 1
        stops = np.cumsum(bounds)
        for start, stop in zip(stops - bounds, stops):
            yield np.concatenate((indices[:start], indices[stop:])), indices[start:stop]


def leave_one_out(data: Dataset, *, random_state=None, min_ratings: int = 2):
    """Hold out one rating per user: ``(train, test)``.

    With timestamps each user's latest rating goes to test (equal timestamps: the later row);
    without them a random one (seeded by ``random_state``). Users with fewer than
    ``min_ratings`` ratings keep all of theirs in train (``min_ratings=1`` moves the only
    rating of one-rating users to test, making them cold-start users). Both parts keep the
    data's row order. Vectorised: one sort of all ratings, no loop over users.
    """
    data = _check_data(data)
    min_ratings = check_positive_int("min_ratings", min_ratings)
    if data.timestamps is not None:
        if random_state is not None:
            raise ValueError("random_state has no effect when the data has timestamps (the latest rating is "
                             "held out); leave it as None.")
        keys = data.timestamps
    else:
        keys = get_rng(random_state).random(len(data))
    users = data.inner_users
    counts = np.bincount(users)
    rank = _rank_within_user(users, counts, keys)
    test_mask = (rank == counts[users] - 1) & (counts[users] >= min_ratings)
    if not test_mask.any():
        raise ValueError(f"no user has min_ratings={min_ratings} or more ratings, so the test set would be "
                         "empty; lower min_ratings.")
    if test_mask.all():
        raise ValueError(f"every user has a single rating, so with min_ratings={min_ratings} the training set "
                         "would be empty; use min_ratings=2.")
    return data.subset(~test_mask), data.subset(test_mask)
