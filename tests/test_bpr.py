"""BPR: the estimator contract, bad input, and ranking quality against implicit 0.7.3 itself."""

import numpy as np
import pytest
import scipy.sparse as sp

import reckernels as rk
from reckernels.algorithms.bpr import BPR

from .conftest import ML100K, needs_ml100k

SMALL = dict(n_factors=4, n_epochs=3, learning_rate=0.05, random_state=0, n_threads=1)


def _likes(seed=0, n_users=30, n_items=20, density=0.25):
    rng = np.random.default_rng(seed)
    m = sp.random(n_users, n_items, density=density, format="csr", random_state=rng, dtype=np.float64)
    m.data = 1.0 + np.round(4 * m.data)
    return m


def test_layout_matches_implicit():
    m = _likes()
    m = m.tolil()
    m[5, :] = 0  # a user without interactions
    m[:, 7] = 0  # an item nobody liked
    m = m.tocsr()
    m.eliminate_zeros()
    model = BPR(**SMALL).fit(m)
    assert model.user_factors_.shape == (30, 5) and model.item_factors_.shape == (20, 5)
    assert model.user_factors_.dtype == np.float32 and not model.predicts_ratings
    np.testing.assert_array_equal(model.user_factors_[:, -1], 1)  # the item bias's partner column
    np.testing.assert_array_equal(model.user_factors_[5, :-1], 0)
    np.testing.assert_array_equal(model.item_factors_[7], 0)
    assert [h["epoch"] for h in model.history_] == [0, 1, 2]
    assert all(0 <= h["train_auc"] <= 1 and 0 <= h["skipped"] < 1 for h in model.history_)


def test_initialisation_is_implicits():
    """Zero epochs are not allowed, so compare the first epoch's start: implicit's draws in implicit's order."""
    m = _likes()
    rng = np.random.default_rng(3)
    items = (rng.random((20, 5), dtype=np.float32) - 0.5) / 4
    users = (rng.random((30, 5), dtype=np.float32) - 0.5) / 4
    model = BPR(**{**SMALL, "random_state": 3, "learning_rate": 1e-30}).fit(m)  # steps too small to move float32
    items[np.diff(m.tocsc().indptr) == 0] = 0
    users[:, -1] = 1
    np.testing.assert_array_equal(model.item_factors_, items)
    np.testing.assert_array_equal(model.user_factors_, users)


def test_scores_recommend_predict_and_cold_start():
    m = _likes()
    model = BPR(**SMALL).fit(m)
    scores = model.user_factors_.astype(np.float64) @ model.item_factors_.T.astype(np.float64)
    ids, top = model.recommend([0, 10_000], k=5)
    seen = set(m[0].indices)
    expect = [i for i in np.argsort(-scores[0], kind="stable") if i not in seen][:5]
    np.testing.assert_array_equal(ids[0], expect)
    bias = model.item_factors_[:, -1].astype(np.float64)
    np.testing.assert_allclose(top[1], np.sort(bias)[::-1][:5], rtol=1e-6)  # unknown user: ranked by item bias
    est, impossible = model.predict([0, 10_000, 0], [3, 3, 99], return_impossible=True)
    assert impossible.tolist() == [False, True, True]
    assert est[0] == pytest.approx(scores[0, 3], rel=1e-5) and est[1] == pytest.approx(bias[3]) and est[2] == 0


def test_dataset_and_matrix_inputs_agree_and_ids():
    m = _likes()
    users, items = m.nonzero()
    data = rk.Dataset([f"u{u}" for u in users], [f"i{i}" for i in items], np.asarray(m[users, items]).ravel())
    a = BPR(**SMALL).fit(data)
    u_ids, i_ids = data.user_ids, data.item_ids
    perm = sp.csr_matrix(m)[[int(u[1:]) for u in u_ids]][:, [int(i[1:]) for i in i_ids]]
    b = BPR(**SMALL).fit(perm, user_ids=u_ids, item_ids=i_ids)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.recommend(["u1"], k=3)[0], b.recommend(["u1"], k=3)[0])


def test_reproducible_callback_and_threads():
    m = _likes(1, 60, 40)
    seen = []
    a = BPR(**SMALL).fit(m, callback=lambda epoch, model: seen.append((epoch, model.epochs_done_)))
    assert seen == [(0, 1), (1, 2), (2, 3)]
    b = BPR(**SMALL).fit(m)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    ref = BPR(**{**SMALL, "backend": "reference"}).fit(m)
    np.testing.assert_allclose(a.item_factors_, ref.item_factors_, rtol=1e-5, atol=1e-6)
    two = BPR(**{**SMALL, "n_threads": 2}).fit(m)
    assert np.isfinite(two.item_factors_).all()
    assert [h["skipped"] for h in two.history_] == [h["skipped"] for h in a.history_]  # same draws


def test_save_load_round_trip(tmp_path):
    model = BPR(**SMALL).fit(_likes(), user_ids=[f"u{i}" for i in range(30)])
    back = rk.load(model.save(tmp_path / "bpr"))
    assert isinstance(back, BPR) and back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.item_factors_, model.item_factors_)
    for users in (["u0", "u3"], ["unknown"]):
        np.testing.assert_array_equal(back.recommend(users, k=4)[0], model.recommend(users, k=4)[0])
    assert back.history_ == model.history_


def test_registry_and_params():
    assert rk.algorithms.get_algorithm("bpr") is BPR is rk.BPR
    model = BPR(n_factors=8).set_params(reg=0.1)
    assert model.reg == 0.1 and model.n_factors == 8 and rk.algorithms.clone(model).reg == 0.1


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_factors=0), ValueError, "n_factors"), (dict(learning_rate=-0.1), ValueError, "learning_rate"),
    (dict(learning_rate=0), ValueError, "learning_rate must be > 0"), (dict(reg=-1), ValueError, "reg"),
    (dict(n_epochs=0), ValueError, "n_epochs"), (dict(dtype="float16"), ValueError, "dtype"),
    (dict(verify_negative_samples="yes"), TypeError, "verify_negative_samples"),
    (dict(backend="gpu"), ValueError, "backend")])
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        BPR(**kwargs)


@pytest.mark.parametrize("value, match", [(-1.0, "1 negative value"), (np.nan, "NaN or infinite")])
def test_bad_matrix_values(value, match):
    m = _likes()
    m.data[3] = value
    with pytest.raises(ValueError, match=match) as info:
        BPR(**SMALL).fit(m)
    assert "BPR" in str(info.value) or "user_items" in str(info.value)


def test_bad_inputs():
    with pytest.raises(TypeError, match="BPR trains on a reckernels.Dataset"):
        BPR(**SMALL).fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match="no interaction"):
        BPR(**SMALL).fit(sp.csr_matrix((3, 4)))
    with pytest.raises(TypeError, match="callback must be callable"):
        BPR(**SMALL).fit(_likes(), callback=3)
    with pytest.raises(rk.NotFittedError):
        BPR().recommend([0])


def test_overflow_is_an_error_not_nan():
    with pytest.raises(FloatingPointError, match=r"diverged in epoch \d+: .* became NaN or infinite"):
        BPR(n_factors=4, n_epochs=5, learning_rate=1e30, random_state=0, n_threads=1).fit(_likes())


def _ml100k(name):
    a = np.loadtxt(ML100K / name, dtype=np.int64)
    a = a[a[:, 2] >= 4]
    return sp.csr_matrix((np.ones(len(a), np.float32), (a[:, 0] - 1, a[:, 1] - 1)), shape=(943, 1682))


def precision_at_10(user_factors, item_factors, train, test):
    scores = user_factors.astype(np.float64) @ item_factors.T.astype(np.float64)
    scores[train.nonzero()] = -np.inf
    top = np.argsort(-scores, axis=1)[:, :10]
    users = np.flatnonzero(np.diff(test.indptr))
    return np.mean([len(set(top[u]) & set(test[u].indices)) for u in users]) / 10


@needs_ml100k()
@pytest.mark.filterwarnings("ignore:OpenBLAS is configured to use")
def test_ranking_quality_matches_implicit():
    """ML-100K u1, ratings >= 4 as likes: precision@10 within 5% of implicit's (mean of two seeds each)."""
    implicit_bpr = pytest.importorskip("implicit.cpu.bpr")
    train, test = _ml100k("u1.base"), _ml100k("u1.test")
    ours, theirs = [], []
    for seed in (0, 1):
        model = BPR(n_factors=32, n_epochs=60, learning_rate=0.02, random_state=seed, n_threads=2).fit(train)
        ours.append(precision_at_10(model.user_factors_, model.item_factors_, train, test))
        peer = implicit_bpr.BayesianPersonalizedRanking(factors=32, iterations=60, learning_rate=0.02,
                                                        random_state=seed, num_threads=2)
        peer.fit(train, show_progress=False)
        theirs.append(precision_at_10(peer.user_factors, peer.item_factors, train, test))
    assert np.mean(ours) >= 0.95 * np.mean(theirs), (ours, theirs)
    assert np.mean(ours) > 0.15  # popularity alone gets about 0.1 here


@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_other_backends_fit(backend):
    """numba on one thread is the serial order; cuda races its updaters (one per sample here) but draws the same."""
    from reckernels import backends

    try:
        backends.get_backend(backend)
    except backends.BackendUnavailable as exc:
        pytest.skip(str(exc))
    m = _likes(3, 20, 15)
    base = BPR(**SMALL).fit(m)
    other = BPR(**{**SMALL, "backend": backend}).fit(m)
    assert [h["skipped"] for h in other.history_] == [h["skipped"] for h in base.history_]
    if backend == "numba":
        np.testing.assert_allclose(other.item_factors_, base.item_factors_, rtol=1e-5, atol=1e-6)
    assert np.isfinite(other.item_factors_).all() and other.backend_ == backend
