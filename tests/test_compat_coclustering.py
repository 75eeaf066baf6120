"""compat.surprise.CoClustering / NormalPredictor against scikit-surprise 1.1.5 itself.

CoClustering reproduces scikit-surprise bit for bit (same initial draws, ratings truncated to
int as its Cython loops do, same summation orders): clusters and averages are asserted equal,
predictions to 1e-9 as the issue asks (they are identical). NormalPredictor has the same mu
and sigma exactly and, after the same ``np.random.seed``, the same draws.
"""

import numpy as np
import pandas as pd
import pytest

surprise = pytest.importorskip("surprise")

from surprise.model_selection import KFold, cross_validate  # noqa: E402

from reckernels.compat import surprise as compat  # noqa: E402

from .conftest import needs_ml100k  # noqa: E402

ATTRS = ("cltr_u", "cltr_i", "user_mean", "item_mean", "avg_cltr_u", "avg_cltr_i", "avg_cocltr")


@pytest.fixture(scope="module")
def u1_unknowns(u1):
    """u1 (tests/conftest.py) with test pairs of an unknown user, an unknown item and both."""
    train, test = u1
    return train, test + [("1", "nothing", 3.0), ("nobody", "1", 3.0), ("nobody", "nothing", 3.0)]


def _same_fit(ours, theirs):
    for name in ATTRS:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def _same_predictions(ours, theirs, testset):
    a, b = ours.test(testset), theirs.test(testset)
    np.testing.assert_allclose([p.est for p in a], [p.est for p in b], rtol=0, atol=1e-9)
    assert [p.details for p in a] == [p.details for p in b]
    assert [(p.uid, p.iid, p.r_ui) for p in a] == [(p.uid, p.iid, p.r_ui) for p in b]


@needs_ml100k()
@pytest.mark.parametrize("kwargs", [{"random_state": 0}, {"random_state": 5, "n_cltr_u": 4, "n_cltr_i": 2,
                                                          "n_epochs": 7}])
def test_coclustering_matches_scikit_surprise_on_u1(u1_unknowns, kwargs):
    train, test = u1_unknowns
    theirs = surprise.CoClustering(**kwargs).fit(train)
    ours = compat.CoClustering(**kwargs).fit(train)
    _same_fit(ours, theirs)
    _same_predictions(ours, theirs, test)
    assert ours.predict("nobody", "1").est == theirs.predict("nobody", "1").est == train.global_mean
    assert ours.estimate(0, 0) == pytest.approx(theirs.estimate(0, 0), abs=1e-12)


@pytest.fixture(scope="module")
def half_stars():
    """Half-star ratings: scikit-surprise truncates them to int inside CoClustering."""
    rng = np.random.default_rng(3)
    keys = rng.choice(50 * 30, size=600, replace=False)
    df = pd.DataFrame({"user": [f"u{k // 30}" for k in keys], "item": [f"i{k % 30}" for k in keys],
                       "rating": rng.integers(1, 11, size=600) / 2.0})
    return surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(0.5, 5)))


def test_half_star_ratings_are_truncated_as_scikit_surprise_does(half_stars):
    train = half_stars.build_full_trainset()
    theirs = surprise.CoClustering(n_cltr_u=5, n_cltr_i=4, random_state=2).fit(train)
    ours = compat.CoClustering(n_cltr_u=5, n_cltr_i=4, random_state=2).fit(train)
    _same_fit(ours, theirs)
    _same_predictions(ours, theirs, train.build_testset() + train.build_anti_testset()[:300])


def test_random_state_instance_and_global_rng(half_stars):
    train = half_stars.build_full_trainset()
    theirs = surprise.CoClustering(random_state=np.random.RandomState(9)).fit(train)
    ours = compat.CoClustering(random_state=np.random.RandomState(9)).fit(train)
    _same_fit(ours, theirs)
    np.random.seed(4)
    theirs = surprise.CoClustering(n_epochs=3).fit(train)
    np.random.seed(4)
    ours = compat.CoClustering(n_epochs=3).fit(train)
    _same_fit(ours, theirs)


def test_more_clusters_than_users_and_cross_validate(half_stars):
    train = half_stars.build_full_trainset()
    kwargs = {"n_cltr_u": 80, "n_cltr_i": 40, "n_epochs": 2, "random_state": 1}
    _same_fit(compat.CoClustering(**kwargs).fit(train), surprise.CoClustering(**kwargs).fit(train))
    a = cross_validate(compat.CoClustering(random_state=0), half_stars, measures=["rmse", "mae"],
                       cv=KFold(3, random_state=0))
    b = cross_validate(surprise.CoClustering(random_state=0), half_stars, measures=["rmse", "mae"],
                       cv=KFold(3, random_state=0))
    np.testing.assert_allclose(a["test_rmse"], b["test_rmse"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["test_mae"], b["test_mae"], rtol=0, atol=1e-12)


def test_verbose_prints_what_scikit_surprise_prints(half_stars, capsys):
    train = half_stars.build_full_trainset()
    surprise.CoClustering(n_epochs=3, random_state=0, verbose=True).fit(train)
    theirs = capsys.readouterr().out
    compat.CoClustering(n_epochs=3, random_state=0, verbose=True).fit(train)
    assert capsys.readouterr().out == theirs == "Processing epoch 0\nProcessing epoch 1\nProcessing epoch 2\n"


@pytest.mark.parametrize("kwargs, match", [({"n_cltr_u": 0}, "n_cltr_u"), ({"n_cltr_i": -1}, "n_cltr_i"),
                                           ({"n_epochs": 0}, "n_epochs"), ({"random_state": "x"}, "random state"),
                                           ({"random_state": np.random.default_rng(0)}, "random state")])
def test_bad_arguments_are_refused_at_fit(half_stars, kwargs, match):
    algo = compat.CoClustering(**kwargs)  # scikit-surprise checks nothing in __init__ either
    with pytest.raises((ValueError, TypeError), match=match):
        algo.fit(half_stars.build_full_trainset())


# ---------------------------------------------------------------- NormalPredictor
@needs_ml100k()
def test_normal_predictor_same_mu_sigma_and_draws_on_u1(u1_unknowns):
    train, test = u1_unknowns
    np.random.seed(123)
    theirs = surprise.NormalPredictor().fit(train)
    b = theirs.test(test)
    np.random.seed(123)
    ours = compat.NormalPredictor().fit(train)
    a = ours.test(test)
    assert ours.sigma == theirs.sigma
    assert ours.trainset.global_mean == theirs.trainset.global_mean
    assert [p.est for p in a] == [p.est for p in b]  # the very numbers, clipped the same way
    assert [p.details for p in a] == [p.details for p in b]
    np.random.seed(1)
    x = theirs.predict("1", "1")
    np.random.seed(1)
    assert ours.predict("1", "1").est == x.est


def test_normal_predictor_sigma_on_half_stars_and_distribution(half_stars):
    from scipy import stats

    train = half_stars.build_full_trainset()
    theirs = surprise.NormalPredictor().fit(train)
    ours = compat.NormalPredictor().fit(train)
    assert ours.sigma == theirs.sigma
    pairs = [("u1", "i1", None)] * 20000
    np.random.seed(8)
    a = np.array([p.est for p in ours.test(pairs)])
    np.random.seed(99)
    b = np.array([p.est for p in theirs.test(pairs)])
    assert stats.ks_2samp(a, b).pvalue > 1e-3
    assert abs(a.mean() - b.mean()) < 0.05 and abs(a.std() - b.std()) < 0.05


def test_normal_predictor_cross_validate_runs(half_stars):
    out = cross_validate(compat.NormalPredictor(), half_stars, measures=["rmse"], cv=KFold(2, random_state=0))
    assert len(out["test_rmse"]) == 2 and np.all(np.isfinite(out["test_rmse"]))
