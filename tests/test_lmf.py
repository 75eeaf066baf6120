"""LogisticMF: the estimator contract, bad input, and ranking quality against implicit 0.7.3 itself."""

import numpy as np
import pytest
import scipy.sparse as sp

import reckernels as rk
from reckernels.algorithms.lmf import LogisticMF

from .conftest import needs_ml100k
from .test_bpr import _likes, _ml100k, precision_at_10

SMALL = dict(n_factors=4, n_epochs=3, random_state=0, n_threads=1)


def test_layout_matches_implicit():
    m = _likes().tolil()
    m[5, :] = 0  # a user without interactions
    m[:, 7] = 0  # an item nobody liked
    m = m.tocsr()
    m.eliminate_zeros()
    model = LogisticMF(**SMALL).fit(m)
    X, Y = model.user_factors_, model.item_factors_
    assert X.shape == (30, 6) and Y.shape == (20, 6) and X.dtype == np.float32 and not model.predicts_ratings
    np.testing.assert_array_equal(X[:, -2], 1)
    np.testing.assert_array_equal(Y[:, -1], 1)
    np.testing.assert_array_equal(np.delete(X[5], 4), 0)
    np.testing.assert_array_equal(Y[7, :-1], 0)
    assert [h["epoch"] for h in model.history_] == [0, 1, 2]
    assert all(0 < h["neg_prob"] < 1 and 0 < h["pos_prob"] < 1 for h in model.history_)


def test_initialisation_is_implicits():
    m = _likes()
    rng = np.random.default_rng(4)
    items = rng.standard_normal((20, 6), dtype=np.float32)
    users = rng.standard_normal((30, 6), dtype=np.float32)
    model = LogisticMF(**{**SMALL, "random_state": 4, "learning_rate": 1e-30}).fit(m)  # steps too small to move
    items[:, -1], users[:, -2] = 1, 1
    items[np.diff(m.tocsc().indptr) == 0, :-1] = 0
    np.testing.assert_array_equal(model.item_factors_, items)
    np.testing.assert_array_equal(model.user_factors_, users)


def test_scores_predict_recommend_and_cold_start():
    m = _likes()
    model = LogisticMF(**SMALL).fit(m)
    logits = model.user_factors_.astype(np.float64) @ model.item_factors_.T.astype(np.float64)
    est, impossible = model.predict([0, 10_000, 0], [3, 3, 99], return_impossible=True)
    assert impossible.tolist() == [False, True, True]
    assert est[0] == pytest.approx(1 / (1 + np.exp(-logits[0, 3])), rel=1e-5)
    assert est[1] == pytest.approx(1 / (1 + np.exp(-model.item_factors_[3, -2])), rel=1e-6)  # unknown user: item bias
    ids, _ = model.recommend([0, 10_000], k=5)
    expect = [i for i in np.argsort(-logits[0], kind="stable") if i not in set(m[0].indices)][:5]
    np.testing.assert_array_equal(ids[0], expect)
    np.testing.assert_array_equal(ids[1], np.argsort(-model.item_factors_[:, -2], kind="stable")[:5])


def test_threads_and_backends_agree_and_callback():
    m = _likes(2, 50, 40)
    seen = []
    one = LogisticMF(**SMALL).fit(m, callback=lambda epoch, model: seen.append(epoch))
    assert seen == [0, 1, 2]
    two = LogisticMF(**{**SMALL, "n_threads": 2}).fit(m)
    np.testing.assert_array_equal(one.user_factors_, two.user_factors_)  # rows are independent: same for any threads
    ref = LogisticMF(**{**SMALL, "backend": "reference"}).fit(m)
    np.testing.assert_allclose(one.item_factors_, ref.item_factors_, rtol=1e-5, atol=1e-5)
    f64 = LogisticMF(**SMALL, dtype="float64").fit(m)
    assert f64.user_factors_.dtype == np.float64
    np.testing.assert_allclose(f64.user_factors_, one.user_factors_, atol=1e-3)


def test_strengths_weight_the_positives():
    m = _likes()
    ones = m.copy()
    ones.data[:] = 1
    assert not np.allclose(LogisticMF(**SMALL).fit(m).user_factors_, LogisticMF(**SMALL).fit(ones).user_factors_)


def test_save_load_round_trip(tmp_path):
    model = LogisticMF(**SMALL).fit(_likes(), item_ids=[f"i{i}" for i in range(20)])
    back = rk.load(model.save(tmp_path / "lmf"))
    assert isinstance(back, LogisticMF) and back.get_params() == model.get_params()
    for users in ([0, 3], [12345]):
        np.testing.assert_array_equal(back.recommend(users, k=4)[0], model.recommend(users, k=4)[0])
    np.testing.assert_array_equal(back.predict([0], ["i3"]), model.predict([0], ["i3"]))


def test_registry():
    assert rk.algorithms.get_algorithm("lmf") is LogisticMF is rk.LogisticMF


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_factors=0), "n_factors"), (dict(learning_rate=-1), "learning_rate"), (dict(reg=-0.1), "reg"),
    (dict(neg_prop=0), "neg_prop"), (dict(n_epochs=0), "n_epochs"), (dict(dtype="int8"), "dtype")])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LogisticMF(**kwargs)


@pytest.mark.parametrize("value, match", [(-2.0, "negative value"), (np.inf, "NaN or infinite")])
def test_bad_matrix_values(value, match):
    m = _likes()
    m.data[0] = value
    with pytest.raises(ValueError, match=match):
        LogisticMF(**SMALL).fit(m)
    with pytest.raises(TypeError, match="LogisticMF trains on"):
        LogisticMF(**SMALL).fit(m.toarray())
    with pytest.raises(ValueError, match="no interaction"):
        LogisticMF(**SMALL).fit(sp.csr_matrix((2, 2)))


def test_overflow_is_an_error_not_nan():
    m = _likes()
    m.data[:] = 1e38
    with pytest.raises(FloatingPointError, match=r"diverged in epoch \d+: .* became NaN or infinite"):
        LogisticMF(**SMALL).fit(m)


@needs_ml100k()
@pytest.mark.filterwarnings("ignore:OpenBLAS is configured to use")
def test_ranking_quality_matches_implicit():
    """ML-100K u1, ratings >= 4 as likes, implicit's defaults: precision@10 within 5% (mean of two seeds each)."""
    implicit_lmf = pytest.importorskip("implicit.cpu.lmf")
    train, test = _ml100k("u1.base"), _ml100k("u1.test")
    ours, theirs = [], []
    for seed in (0, 1):
        model = LogisticMF(random_state=seed, n_threads=2).fit(train)
        ours.append(precision_at_10(model.user_factors_, model.item_factors_, train, test))
        peer = implicit_lmf.LogisticMatrixFactorization(random_state=seed, num_threads=2)
        peer.fit(train, show_progress=False)
        theirs.append(precision_at_10(peer.user_factors, peer.item_factors, train, test))
    assert np.mean(ours) >= 0.95 * np.mean(theirs), (ours, theirs)
    assert np.mean(ours) > 0.15


@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_other_backends_give_the_same_fit(backend):
    from reckernels import backends

    try:
        backends.get_backend(backend)
    except backends.BackendUnavailable as exc:
        pytest.skip(str(exc))
    m = _likes(3, 20, 15)
    base = LogisticMF(**SMALL).fit(m)
    other = LogisticMF(**{**SMALL, "backend": backend}).fit(m)
    np.testing.assert_allclose(other.user_factors_, base.user_factors_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(other.item_factors_, base.item_factors_, rtol=1e-5, atol=1e-5)
