"""reckernels.compat.surprise's KNN classes against scikit-surprise itself.

On MovieLens 100K u1.base / u1.test (skipped when the data is absent): all four estimators x
{pearson, cosine, msd, pearson_baseline} x {user-based, item-based} give the same estimates
(to 1e-6; in practice ~1e-15), the same ``details`` (actual_k, was_impossible, reason) and the
same similarity matrix. To keep the run short, scikit-surprise computes each (sim, user_based)
matrix once and its four estimators reuse it, and the test set is every 16th pair of u1.test
(1,250 pairs) plus pairs with an unknown user and an unknown item.
"""

import numpy as np
import pytest

surprise = pytest.importorskip("surprise")

from surprise.model_selection import GridSearchCV, KFold, PredefinedKFold, cross_validate  # noqa: E402

import reckernels.compat.surprise as rs  # noqa: E402

from .conftest import ML100K, needs_ml100k  # noqa: E402

CLASSES = ("KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline")
SIMS = ("pearson", "cosine", "msd", "pearson_baseline")


@pytest.fixture(scope="module")
def u1():
    reader = surprise.Reader("ml-100k")
    folds = [(str(ML100K / "u1.base"), str(ML100K / "u1.test"))]
    data = surprise.Dataset.load_from_folds(folds, reader)
    trainset, testset = next(PredefinedKFold().split(data))
    testset = testset[::16] + [("unknown user", "50", 4.0), ("1", "unknown item", 3.0), ("no", "none", 1.0)]
    return trainset, testset


@pytest.fixture(scope="module")
def surprise_runs(u1):
    """(sim, user_based) -> (similarity matrix, {class name: predictions}), computed once."""
    trainset, testset = u1
    cache = {}

    def get(sim, user_based):
        if (sim, user_based) not in cache:
            options = {"name": sim, "user_based": user_based}
            first = surprise.KNNBaseline(sim_options=dict(options), verbose=False).fit(trainset)
            preds = {"KNNBaseline": first.test(testset)}
            for name in CLASSES[:3]:
                algo = getattr(surprise, name)(sim_options=dict(options), verbose=False)
                algo.compute_similarities = lambda s=first.sim: s  # the same matrix, not computed again
                preds[name] = algo.fit(trainset).test(testset)
            cache[sim, user_based] = (first.sim, preds)
        return cache[sim, user_based]

    return get


@needs_ml100k()
@pytest.mark.parametrize("user_based", [True, False], ids=["user", "item"])
@pytest.mark.parametrize("sim", SIMS)
def test_equal_to_scikit_surprise_on_ml100k(u1, surprise_runs, sim, user_based):
    trainset, testset = u1
    want_sim, want = surprise_runs(sim, user_based)
    for name in CLASSES:
        ours = getattr(rs, name)(sim_options={"name": sim, "user_based": user_based}, verbose=False).fit(trainset)
        np.testing.assert_allclose(ours.sim, want_sim, rtol=0, atol=1e-12)
        got = ours.test(testset)
        np.testing.assert_allclose([p.est for p in got], [p.est for p in want[name]], rtol=0, atol=1e-6,
                                   err_msg=name)
        assert [p.details for p in got] == [p.details for p in want[name]], name
        assert [(p.uid, p.iid, p.r_ui) for p in got] == [(p.uid, p.iid, p.r_ui) for p in want[name]]


@needs_ml100k()
def test_predict_estimate_and_neighbours_as_scikit_surprise(u1, surprise_runs):
    trainset, _ = u1
    want_sim, _ = surprise_runs("pearson", False)
    theirs = surprise.KNNBaseline(sim_options={"name": "pearson", "user_based": False}, verbose=False)
    theirs.compute_similarities = lambda: want_sim
    theirs.fit(trainset)
    ours = rs.KNNBaseline(sim_options={"name": "pearson", "user_based": False}, verbose=False).fit(trainset)
    for uid, iid in (("196", "242"), ("196", "unknown"), ("unknown", "242"), ("1", "1")):
        a, b = ours.predict(uid, iid, r_ui=3), theirs.predict(uid, iid, r_ui=3)
        assert a.est == pytest.approx(b.est, abs=1e-12) and a.details == b.details
    (a, a_details), (b, b_details) = ours.estimate(0, 5), theirs.estimate(0, 5)
    assert a == pytest.approx(b, abs=1e-12) and a_details == b_details
    assert ours.estimate("UKN__x", 5) == pytest.approx(theirs.estimate("UKN__x", 5), abs=1e-12)
    for inner in (0, 17, 300):
        assert ours.get_neighbors(inner, 10) == theirs.get_neighbors(inner, 10)
    np.testing.assert_array_equal(ours.compute_similarities(), ours.sim)
    np.testing.assert_allclose(ours.bu, theirs.bu, atol=1e-12)


@pytest.fixture(scope="module")
def small_surprise_data():
    rng = np.random.default_rng(5)
    import pandas as pd

    keys = rng.choice(60 * 50, 1200, replace=False)
    df = pd.DataFrame({"u": (keys // 50).astype(str), "i": (keys % 50).astype(str),
                       "r": rng.integers(1, 6, len(keys)).astype(float)})
    return surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(1, 5)))


@pytest.mark.parametrize("name", CLASSES)
def test_cross_validate_identical(small_surprise_data, name):
    options = {"name": "pearson_baseline", "user_based": name != "KNNWithZScore", "min_support": 2}
    results = []
    for module in (surprise, rs):
        algo = getattr(module, name)(k=10, min_k=2, sim_options=dict(options), verbose=False)
        out = cross_validate(algo, small_surprise_data, measures=["rmse", "mae"], cv=KFold(3, random_state=0))
        results.append(out)
    for key in ("test_rmse", "test_mae"):
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=0, atol=1e-9)


def test_grid_search_over_k_identical(small_surprise_data):
    grid = {"k": [2, 5, 20], "sim_options": {"name": ["msd", "cosine"], "user_based": [False]}}
    found = []
    for module in (surprise, rs):
        gs = GridSearchCV(module.KNNWithMeans, grid, measures=["rmse"], cv=KFold(3, random_state=0))
        gs.fit(small_surprise_data)
        found.append((gs.best_params["rmse"], gs.cv_results["mean_test_rmse"]))
    assert found[0][0] == found[1][0]
    np.testing.assert_allclose(found[1][1], found[0][1], rtol=0, atol=1e-9)


def test_options_checked():
    with pytest.raises(ValueError, match="sim_options has unknown key"):
        rs.KNNBasic(sim_options={"name": "msd", "userbased": False})
    with pytest.raises(TypeError, match="unknown argument"):
        rs.KNNWithMeans(kk=3)
    algo = rs.KNNBasic(sim_options={})
    assert algo.sim_options == {"user_based": True}  # scikit-surprise's default filled in
