"""compat.surprise.SVD / SVDpp against scikit-surprise itself.

SVD reproduces scikit-surprise bit for bit (asserted to 1e-6 on the predictions as the issue
asks, and exactly on the factors). SVD++ keeps the implicit sum incrementally instead of
recomputing it for every rating, which changes only the rounding: factors agree to 1e-10 and
predictions to 1e-6 after two epochs (scikit-surprise needs ~2 s per epoch on u1 here).
"""

import numpy as np
import pandas as pd
import pytest

surprise = pytest.importorskip("surprise")

from surprise.model_selection import GridSearchCV, KFold, cross_validate  # noqa: E402

from reckernels.compat import surprise as compat  # noqa: E402

from .conftest import needs_ml100k  # noqa: E402


def estimates(algo, testset):
    return np.array([p.est for p in algo.test(testset)])


@needs_ml100k()
def test_svd_matches_scikit_surprise_on_u1(u1):
    train, test = u1
    theirs = surprise.SVD(random_state=0).fit(train)
    ours = compat.SVD(random_state=0).fit(train)
    np.testing.assert_array_equal(ours.pu, theirs.pu)
    np.testing.assert_array_equal(ours.qi, theirs.qi)
    np.testing.assert_array_equal(ours.bu, theirs.bu)
    np.testing.assert_array_equal(ours.bi, theirs.bi)
    np.testing.assert_allclose(estimates(ours, test), estimates(theirs, test), rtol=0, atol=1e-6)


@needs_ml100k()
def test_svdpp_matches_scikit_surprise_on_u1(u1):
    train, test = u1
    theirs = surprise.SVDpp(random_state=0, n_epochs=2).fit(train)
    ours = compat.SVDpp(random_state=0, n_epochs=2).fit(train)
    for name in ("pu", "qi", "yj", "bu", "bi"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=0, atol=1e-10)
    np.testing.assert_allclose(estimates(ours, test), estimates(theirs, test), rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    keys = rng.choice(60 * 40, size=700, replace=False)
    df = pd.DataFrame({"user": [f"u{k // 40}" for k in keys], "item": [f"i{k % 40}" for k in keys],
                       "rating": rng.integers(1, 6, size=700).astype(float)})
    return surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(1, 5)))


def test_unbiased_svd_predictions_and_unknowns(small):
    train = small.build_full_trainset()
    theirs = surprise.SVD(biased=False, n_factors=4, n_epochs=3, random_state=1).fit(train)
    ours = compat.SVD(biased=False, n_factors=4, n_epochs=3, random_state=1).fit(train)
    pairs = [("u1", "i3", 4.0), ("nobody", "i3", 3.0), ("u1", "nothing", None)]
    for uid, iid, r in pairs:
        a, b = ours.predict(uid, iid, r), theirs.predict(uid, iid, r)
        assert a.est == pytest.approx(b.est, abs=1e-12) and a.details == b.details


def test_svd_predict_unknown_user_matches(small):
    train = small.build_full_trainset()
    theirs = surprise.SVD(n_factors=4, n_epochs=3, random_state=2, lr_bu=0.02, reg_qi=0.1).fit(train)
    ours = compat.SVD(n_factors=4, n_epochs=3, random_state=2, lr_bu=0.02, reg_qi=0.1).fit(train)
    for uid, iid in [("u1", "i3"), ("nobody", "i3"), ("u2", "nothing")]:
        a, b = ours.predict(uid, iid), theirs.predict(uid, iid)
        assert a.est == pytest.approx(b.est, abs=1e-12) and a.details == b.details


@pytest.mark.parametrize("ours, theirs", [(compat.SVD, surprise.SVD), (compat.SVDpp, surprise.SVDpp)])
def test_cross_validate_same_numbers(small, ours, theirs):
    kwargs = {"n_factors": 3, "n_epochs": 2, "random_state": 0}
    a = cross_validate(ours(**kwargs), small, measures=["rmse"], cv=KFold(3, random_state=0))
    b = cross_validate(theirs(**kwargs), small, measures=["rmse"], cv=KFold(3, random_state=0))
    np.testing.assert_allclose(a["test_rmse"], b["test_rmse"], rtol=0, atol=1e-9)


def test_grid_search_runs_unchanged(small):
    grid = {"n_factors": [2, 4], "lr_all": [0.005, 0.01], "n_epochs": [2], "random_state": [0]}
    ours = GridSearchCV(compat.SVD, grid, measures=["rmse"], cv=KFold(2, random_state=0))
    theirs = GridSearchCV(surprise.SVD, grid, measures=["rmse"], cv=KFold(2, random_state=0))
    ours.fit(small)
    theirs.fit(small)
    assert ours.best_params["rmse"] == theirs.best_params["rmse"]
    assert ours.best_score["rmse"] == pytest.approx(theirs.best_score["rmse"], abs=1e-9)
    GridSearchCV(compat.SVDpp, {"n_factors": [2], "n_epochs": [1], "cache_ratings": [True, False]},
                 cv=KFold(2, random_state=0)).fit(small)


def test_verbose_prints_epochs(small, capsys):
    compat.SVD(n_factors=2, n_epochs=2, verbose=True).fit(small.build_full_trainset())
    assert "Processing epoch 1" in capsys.readouterr().out


@needs_ml100k()
def test_schedule_buys_speed_with_the_same_accuracy(u1):
    """The one extra keyword: the parallel float32 kernels, scikit-surprise's accuracy on u1."""
    train, test = u1
    truth = np.array([r for _, _, r in test])
    theirs = np.sqrt(np.mean((estimates(surprise.SVD(random_state=0).fit(train), test) - truth) ** 2))
    fast = compat.SVD(random_state=0, schedule="blocked").fit(train)
    assert fast.pu.dtype == np.float32
    assert abs(np.sqrt(np.mean((estimates(fast, test) - truth) ** 2)) - theirs) < 0.003


def test_schedule_defaults_to_exact_and_is_checked(small):
    train = small.build_full_trainset()
    assert compat.SVD().schedule == "exact" and compat.SVDpp().schedule == "exact"
    assert compat.SVD(n_factors=3, n_epochs=2).fit(train).pu.dtype == np.float64
    fast = compat.SVDpp(n_factors=3, n_epochs=2, random_state=0, schedule="hogwild").fit(train)
    assert fast.yj.dtype == np.float32 and np.isfinite(fast.predict("u1", "i3").est)
    with pytest.raises(ValueError, match="schedule='blocked' is not a known option"):
        compat.SVDpp(schedule="blocked").fit(train)
