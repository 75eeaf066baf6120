"""Splits: scikit-surprise's folds row for row, the per-user / time / leave-one-out rules, bad input."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from reckernels import Dataset
from reckernels.split import KFold, leave_one_out, train_test_split


def _triples(ds):
    return list(zip(ds.users.tolist(), ds.items.tolist(), ds.ratings.tolist()))


def _surprise_pair(n=203, n_users=15, seed=0):
    """The same ratings as a reckernels Dataset and a scikit-surprise Dataset (string ids, file order)."""
    pd = pytest.importorskip("pandas")
    surprise = pytest.importorskip("surprise")
    r = np.random.default_rng(seed)
    users = np.array([f"u{x}" for x in r.integers(0, n_users, n)])
    items = np.array([f"i{x}" for x in r.permutation(n)])
    ratings = r.integers(1, 6, n).astype(float)
    ours = Dataset(users, items, ratings, rating_scale=(1, 5))
    theirs = surprise.Dataset.load_from_df(pd.DataFrame({"u": users, "i": items, "r": ratings}),
                                           surprise.Reader(rating_scale=(1, 5)))
    return ours, theirs


def _same_trainset(ours, trainset):
    """Same inner ids (first appearance) and each user's ratings in the same order as a surprise Trainset."""
    assert ours.user_ids.tolist() == [trainset.to_raw_uid(u) for u in range(trainset.n_users)]
    assert ours.item_ids.tolist() == [trainset.to_raw_iid(i) for i in range(trainset.n_items)]
    for u in range(trainset.n_users):
        items, ratings = ours.csr.row(u)
        assert list(zip(items.tolist(), ratings.tolist())) == trainset.ur[u]


def _timed_data(n=60, n_users=8, seed=1, ties=True):
    r = np.random.default_rng(seed)
    users = r.integers(0, n_users, n)
    items = r.permutation(n)
    ts = r.integers(0, 10 if ties else 10**9, n)
    return Dataset(users, items, r.integers(1, 6, n).astype(float), ts)


# ---------------------------------------------------------------------- KFold
@pytest.mark.parametrize("n_splits,seed", [(5, 0), (3, 11), (7, 2)])
def test_kfold_matches_surprise_fold_for_fold(n_splits, seed):
    from surprise.model_selection import KFold as SurpriseKFold

    ours, theirs = _surprise_pair()
    pairs = list(zip(KFold(n_splits, random_state=seed).split(ours),
                     SurpriseKFold(n_splits, random_state=seed).split(theirs)))
    assert len(pairs) == n_splits
    for (train, test), (s_train, s_test) in pairs:
        assert _triples(test) == s_test
        assert len(train) == s_train.n_ratings
        _same_trainset(train, s_train)


def test_kfold_with_a_shared_randomstate_and_without_shuffle_match_surprise():
    from surprise.model_selection import KFold as SurpriseKFold

    ours, theirs = _surprise_pair(n=50)
    ours_rs, theirs_rs = np.random.RandomState(4), np.random.RandomState(4)
    for _ in range(2):  # the state advances between calls, in both
        for (_, test), (_, s_test) in zip(KFold(4, random_state=ours_rs).split(ours),
                                          SurpriseKFold(4, random_state=theirs_rs).split(theirs)):
            assert _triples(test) == s_test
    for (_, test), (_, s_test) in zip(KFold(4, shuffle=False).split(ours),
                                      SurpriseKFold(4, shuffle=False).split(theirs)):
        assert _triples(test) == s_test


def test_kfold_partitions_the_data_and_repeats_with_a_seed(small_data):
    cv = KFold(6, random_state=3)
    assert cv.get_n_folds() == 6
    folds = [sorted(_triples(test)) for _, test in cv.split(small_data)]
    assert folds == [sorted(_triples(test)) for _, test in cv.split(small_data)]
    assert sorted(sum(folds, [])) == sorted(_triples(small_data))
    assert [len(f) for f in folds] == [84, 84, 83, 83, 83, 83]  # 500 = 6 * 83 + 2


def test_kfold_with_a_generator_is_reproducible(small_data):
    a = [_triples(t) for _, t in KFold(3, random_state=np.random.default_rng(5)).split(small_data)]
    b = [_triples(t) for _, t in KFold(3, random_state=np.random.default_rng(5)).split(small_data)]
    assert a == b


def test_kfold_rejects_bad_arguments(small_data):
    with pytest.raises(ValueError, match="n_splits"):
        KFold(1)
    with pytest.raises(TypeError, match="n_splits"):
        KFold(2.5)
    with pytest.raises(ValueError, match="n_splits=501"):
        next(KFold(501).split(small_data))
    with pytest.raises(ValueError, match="random_state"):
        KFold(3, random_state=0, shuffle=False)
    with pytest.raises(TypeError, match="shuffle"):
        KFold(3, shuffle="yes")
    with pytest.raises(TypeError, match="random_state"):
        KFold(3, random_state="seed")
    with pytest.raises(ValueError, match="random_state"):
        KFold(3, random_state=-1)
    with pytest.raises(TypeError, match="data"):
        next(KFold(3).split([("u", "i", 1.0)]))


# ---------------------------------------------------------------------- train_test_split
@pytest.mark.parametrize("test_size,seed", [(0.2, 0), (0.25, 1), (0.33, 7), (40, 3)])
def test_random_split_matches_surprise(test_size, seed):
    from surprise.model_selection import train_test_split as surprise_split

    ours, theirs = _surprise_pair()
    train, test = train_test_split(ours, test_size, random_state=seed)
    s_train, s_test = surprise_split(theirs, test_size=test_size, random_state=seed)
    assert _triples(test) == s_test
    _same_trainset(train, s_train)
    expected = test_size if isinstance(test_size, int) else math.ceil(test_size * len(ours))
    assert len(test) == expected and len(train) == len(ours) - expected


def test_random_split_keeps_unseen_test_users(small_data):
    # one-rating users end up in the test set only some of the time; their rows are never dropped
    users = np.concatenate((small_data.users, [f"new{j}" for j in range(20)]))
    items = np.concatenate((small_data.items, ["i0"] * 20))
    data = Dataset(users, items, np.concatenate((small_data.ratings, np.full(20, 3.0))))
    train, test = train_test_split(data, 0.3, random_state=0)
    assert len(train) + len(test) == len(data)
    assert np.any(train.to_inner_users(test.users) == -1)


def test_random_split_reproducible_with_a_seed_or_generator(small_data):
    a = train_test_split(small_data, random_state=9)[1]
    b = train_test_split(small_data, random_state=9)[1]
    assert _triples(a) == _triples(b)
    c = train_test_split(small_data, random_state=np.random.default_rng(2))[1]
    d = train_test_split(small_data, random_state=np.random.default_rng(2))[1]
    assert _triples(c) == _triples(d)


@pytest.mark.parametrize("bad", [0, 0.0, 1.0, 1.5, -0.1, 500, True, "0.2", None])
def test_train_test_split_rejects_bad_test_size(small_data, bad):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(small_data, bad)


def test_train_test_split_rejects_a_fraction_that_leaves_no_training_data():
    data = Dataset([1, 2, 3], [1, 2, 3], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="test_size=0.9"):
        train_test_split(data, 0.9)  # ceil(2.7) = 3 = every rating


def test_train_test_split_rejects_unknown_strategy_and_non_datasets(small_data):
    with pytest.raises(ValueError, match="strategy"):
        train_test_split(small_data, strategy="users")
    with pytest.raises(TypeError, match="data"):
        train_test_split(small_data.to_pandas())


def test_user_split_holds_out_each_users_share():
    # user 0: 5 ratings -> ceil(0.4 * 5) = 2 in test; user 1: 2 ratings -> ceil(0.8) = 1;
    # user 2: 1 rating -> stays in train; user 3: 3 ratings -> ceil(1.2) = 2
    users = [0] * 5 + [1] * 2 + [2] + [3] * 3
    data = Dataset(users, np.arange(11), np.ones(11))
    train, test = train_test_split(data, 0.4, random_state=0, strategy="user")
    counts = {u: int((test.users == u).sum()) for u in range(4)}
    assert counts == {0: 2, 1: 1, 2: 0, 3: 2}
    assert sorted(_triples(train) + _triples(test)) == sorted(_triples(data))
    # both parts keep the data's row order
    assert np.all(np.diff(train.items) > 0) and np.all(np.diff(test.items) > 0)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6), st.floats(0.05, 0.95))
@example(205424, 0.5)  # five users with one rating each: nothing to hold out
def test_user_split_properties(seed, test_size):
    r = np.random.default_rng(seed)
    n = int(r.integers(5, 80))
    data = Dataset(r.integers(0, 10, n), np.arange(n), r.integers(1, 6, n).astype(float))
    if np.bincount(data.users).max() == 1:  # no user can give a test rating
        with pytest.raises(ValueError, match="every user has a single rating"):
            train_test_split(data, test_size, random_state=seed, strategy="user")
        return
    train, test = train_test_split(data, test_size, random_state=seed, strategy="user")
    assert sorted(_triples(train) + _triples(test)) == sorted(_triples(data))
    for u in np.unique(data.users):
        n_u = int((data.users == u).sum())
        assert (test.users == u).sum() == min(math.ceil(test_size * n_u), n_u - 1)


def test_user_split_of_single_rating_users_is_refused():
    """The case hypothesis found (seed 205424): five users with one rating each leave no test rating."""
    data = Dataset([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0, 4.0])
    with pytest.raises(ValueError, match="strategy='user' holds out nothing here.*strategy='random'"):
        train_test_split(data, 0.5, random_state=0, strategy="user")


def test_user_split_needs_a_fraction(small_data):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(small_data, 10, strategy="user")


def test_time_split_holds_out_the_latest_ratings():
    data = Dataset([0, 1, 0, 1, 2, 2], [0, 1, 2, 3, 4, 5], np.ones(6), [5, 1, 9, 5, 2, 9])
    # 0.5 * 6 = 3 latest: timestamp 9 (rows 2 and 5) and the later of the two 5s (row 3)
    train, test = train_test_split(data, 0.5, strategy="time")
    assert test.items.tolist() == [2, 3, 5]
    assert train.items.tolist() == [0, 1, 4]


def test_time_split_needs_timestamps_and_takes_no_seed(small_data):
    with pytest.raises(ValueError, match="timestamps"):
        train_test_split(small_data, strategy="time")
    with pytest.raises(ValueError, match="random_state"):
        train_test_split(_timed_data(), strategy="time", random_state=0)


# ---------------------------------------------------------------------- leave_one_out
def _loo_by_loop(data, min_ratings):
    """Row indices held out: per user with >= min_ratings ratings, the last row of the maximum timestamp."""
    held = []
    for u in np.unique(data.inner_users):
        rows = np.flatnonzero(data.inner_users == u)
        if len(rows) >= min_ratings:
            ts = data.timestamps[rows]
            held.append(rows[np.flatnonzero(ts == ts.max())[-1]])
    return sorted(held)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 4))
def test_leave_one_out_latest_matches_a_loop(seed, min_ratings):
    data = _timed_data(n=40, seed=seed)
    held = _loo_by_loop(data, min_ratings)
    if not held or len(held) == len(data):
        with pytest.raises(ValueError, match="min_ratings"):
            leave_one_out(data, min_ratings=min_ratings)
        return
    train, test = leave_one_out(data, min_ratings=min_ratings)
    assert test.items.tolist() == data.items[held].tolist()
    assert train.items.tolist() == np.delete(data.items, held).tolist()


def test_leave_one_out_hand_worked():
    # user a: timestamps 3, 7, 7 -> the later 7 (item 2); user b: one rating -> stays in train
    data = Dataset(["a", "a", "b", "a"], [0, 1, 5, 2], np.ones(4), [3, 7, 1, 7])
    train, test = leave_one_out(data)
    assert _triples(test) == [("a", 2, 1.0)]
    assert _triples(train) == [("a", 0, 1.0), ("a", 1, 1.0), ("b", 5, 1.0)]


def test_leave_one_out_without_timestamps_is_random_and_seeded(small_data):
    train, test = leave_one_out(small_data, random_state=0)
    counts = np.bincount(small_data.inner_users)
    assert len(test) == int((counts >= 2).sum())
    assert len(np.unique(test.users)) == len(test)
    assert _triples(test) == _triples(leave_one_out(small_data, random_state=0)[1])
    other_seeds = {tuple(leave_one_out(small_data, random_state=s)[1].items.tolist()) for s in range(1, 4)}
    assert len(other_seeds | {tuple(test.items.tolist())}) > 1
    assert sorted(_triples(train) + _triples(test)) == sorted(_triples(small_data))


def test_leave_one_out_rejects_bad_arguments(small_data):
    with pytest.raises(ValueError, match="min_ratings"):
        leave_one_out(small_data, min_ratings=0)
    with pytest.raises(ValueError, match="min_ratings=1000"):
        leave_one_out(small_data, min_ratings=1000)
    with pytest.raises(ValueError, match="min_ratings=1"):
        leave_one_out(Dataset([1, 2], [1, 2], [1.0, 2.0]), min_ratings=1, random_state=0)
    with pytest.raises(ValueError, match="random_state"):
        leave_one_out(_timed_data(), random_state=0)
    with pytest.raises(TypeError, match="data"):
        leave_one_out("ratings.csv")
