"""The NCF protocol: sampled negatives, HR@k / NDCG@k on a hand-worked case, any model."""

import numpy as np
import pytest

from reckernels import BaselineOnly, Dataset, Popular
from reckernels.algorithms.base import Estimator
from reckernels.sampled_ranking import (Candidates, hit_rate_ndcg, sample_candidates,
                                        sampled_ranking_evaluation)
from reckernels.split import leave_one_out


class FixedScores(Estimator):
    """A model whose ranking scores are a given (n_users x n_items) table."""

    def __init__(self, table=None, *, backend="reference", n_threads=None, random_state=None, verbose=False):
        self.table = table
        self._init_common(backend, n_threads, random_state, verbose)

    def _fit(self, dataset):
        pass

    def _estimate(self, users, items):
        return self.table[users, items], np.zeros(len(users), bool)

    def _score(self, users):
        return self.table[users]


class RatingsOnly(FixedScores):
    """The same table, but the model does not rank: the protocol must fall back to predict()."""

    _score = Estimator._score


def _grid_data(n_users, n_items):
    u, i = np.divmod(np.arange(n_users * n_items), n_items)
    return Dataset(u, i, np.ones(len(u)), rating_scale=(0, 1))


def test_hand_worked_case():
    # 3 users, candidates = item 0 (held out) and items 1, 2, 3 (negatives), k = 2
    table = np.array([[0.9, 0.1, 0.2, 0.3],   # nothing above 0.9: rank 0 -> hit, gain 1/log2(2) = 1
                      [0.5, 0.6, 0.1, 0.2],   # 0.6 above: rank 1 -> hit, gain 1/log2(3) = 0.6309...
                      [0.2, 0.2, 0.9, 0.1]])  # 0.9 above, 0.2 ties (ties count against): rank 2 -> miss
    candidates = Candidates(np.array([0, 1, 2]), np.tile(np.arange(4), (3, 1)))
    want_hr, want_ndcg = 2 / 3, (1 + 1 / np.log2(3)) / 3  # = 0.5436...
    for cls in (FixedScores, RatingsOnly):
        model = cls(table).fit(_grid_data(3, 4))
        result = sampled_ranking_evaluation(model, candidates=candidates, k=2)
        np.testing.assert_array_equal(result["ranks"], [0, 1, 2])
        assert result["hit_rate"] == pytest.approx(want_hr) and result["ndcg"] == pytest.approx(want_ndcg)
        assert result["n_cases"] == 3 and result["k"] == 2
    assert hit_rate_ndcg(np.array([0, 1, 2]), k=3) == pytest.approx((1.0, (1 + 1 / np.log2(3) + 0.5) / 3))


def test_constant_scores_are_all_misses():
    model = FixedScores(np.zeros((2, 5))).fit(_grid_data(2, 5))
    candidates = Candidates(np.array([0, 1]), np.tile(np.arange(5), (2, 1)))
    result = sampled_ranking_evaluation(model, candidates=candidates, k=4)  # 4 negatives tie: rank 4
    assert result["hit_rate"] == 0.0 and result["ndcg"] == 0.0


@pytest.fixture(scope="module")
def split():
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 60
    keys = rng.choice(n_users * n_items, size=500, replace=False)
    data = Dataset([f"u{k // n_items}" for k in keys], keys % n_items, rng.integers(1, 6, 500).astype(float),
                   timestamps=rng.permutation(500), rating_scale=(1, 5))
    return data, *leave_one_out(data)


def test_candidates_are_untouched_distinct_and_reproducible(split):
    data, train, test = split
    c = sample_candidates(train, test, n_negatives=20, random_state=5)
    assert c.items.shape == (len(test), 21)
    np.testing.assert_array_equal(c.users, test.users)
    np.testing.assert_array_equal(c.items[:, 0], test.items)
    touched = set(zip(data.users.tolist(), data.items.tolist()))
    train_items = set(train.item_ids.tolist())
    for user, row in zip(c.users, c.items):
        assert len(set(row.tolist())) == 21
        assert all((user, item) not in touched and item in train_items for item in row[1:].tolist())
    again = sample_candidates(train, test, n_negatives=20, random_state=5)
    np.testing.assert_array_equal(c.items, again.items)
    assert not np.array_equal(c.items, sample_candidates(train, test, n_negatives=20, random_state=6).items)


def test_same_negatives_for_every_model(split):
    _, train, test = split
    results = [sampled_ranking_evaluation(m.fit(train), train, test, n_negatives=20, random_state=1)
               for m in (Popular(), BaselineOnly())]
    candidates = sample_candidates(train, test, n_negatives=20, random_state=1)
    for model, result in zip((Popular().fit(train), BaselineOnly().fit(train)), results):
        assert 0 <= result["hit_rate"] <= 1 and result["n_cases"] == len(test)
        np.testing.assert_array_equal(sampled_ranking_evaluation(model, candidates=candidates)["ranks"],
                                      result["ranks"])


def test_popular_by_hand():
    # every user touched 3 of the 5 items, so the 2 negatives are exactly the 2 untouched ones;
    # training counts: a 3, b 2, c 1, d 1, e 1 (the last rating of each user is held out)
    rows = [("u1", "a"), ("u1", "b"), ("u1", "c"), ("u2", "a"), ("u2", "b"), ("u2", "d"),
            ("u3", "a"), ("u3", "c"), ("u3", "e"), ("u5", "d"), ("u5", "e"), ("u5", "a")]
    users, items = zip(*rows)
    data = Dataset(users, items, np.ones(12), timestamps=[1, 2, 3] * 4)
    train, test = leave_one_out(data)
    result = sampled_ranking_evaluation(Popular().fit(train), train, test, n_negatives=2, k=1)
    # u1: c (1) vs d (1), e (1): two ties -> rank 2; u2: d (1) vs c (1), e (1) -> rank 2;
    # u3: e (1) vs b (2), d (1) -> rank 2; u5: a (3) vs b (2), c (1) -> rank 0, a hit
    np.testing.assert_array_equal(result["ranks"], [2, 2, 2, 0])
    assert result["hit_rate"] == 0.25 and result["ndcg"] == 0.25


def test_unknown_held_out_item_is_a_miss():
    train = Dataset(["u", "u", "v"], ["a", "b", "a"], np.ones(3))
    test = Dataset(["v"], ["new"], np.ones(1))
    result = sampled_ranking_evaluation(Popular().fit(train), train, test, n_negatives=1, k=1)
    assert result["ranks"].tolist() == [1] and result["hit_rate"] == 0.0


def test_bad_arguments_are_refused(split):
    _, train, test = split
    model = Popular().fit(train)
    with pytest.raises(ValueError, match="lower n_negatives"):
        sample_candidates(train, test, n_negatives=59)
    with pytest.raises(ValueError, match="pass train and test"):
        sampled_ranking_evaluation(model)
    with pytest.raises(ValueError, match="not both"):
        sampled_ranking_evaluation(model, train, test, candidates=sample_candidates(train, test, n_negatives=5))
    with pytest.raises(TypeError, match="train must be a reckernels.Dataset"):
        sample_candidates(train.to_pandas(), test)
    with pytest.raises(ValueError, match="k must be"):
        sampled_ranking_evaluation(model, train, test, k=0)
