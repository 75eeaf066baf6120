"""Behaviours of reckernels.compat.surprise shared by every drop-in, checked against scikit-surprise.

- the fitted attributes: every attribute the real class has after fit exists on ours, of the
  same kind, with the same values (on a small trainset built here);
- ``verbose``: each class's default is scikit-surprise's, and fit prints the same lines;
- an unknown similarity name raises NameError at fit (and ValueError, our own options' contract);
- ``surprise.dump`` and joblib processes (``cross_validate`` / ``GridSearchCV`` with n_jobs=2).
"""

import os
import tempfile
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

surprise = pytest.importorskip("surprise")

from surprise import AlgoBase, dump  # noqa: E402
from surprise.model_selection import GridSearchCV, KFold, cross_validate  # noqa: E402

import reckernels.compat.surprise as rs  # noqa: E402
from reckernels.compat.surprise.knn import UnknownSimilarityError  # noqa: E402


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    keys = rng.choice(30 * 25, 260, replace=False)
    df = pd.DataFrame({"u": [f"u{k // 25}" for k in keys], "i": [f"i{k % 25}" for k in keys],
                       "r": rng.integers(1, 6, len(keys)).astype(float)})
    return surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(1, 5)))


@pytest.fixture(scope="module")
def trainset(data):
    return data.build_full_trainset()


#: (class name, constructor arguments): each class and the options that change its attributes
CASES = [
    ("BaselineOnly", {}),
    ("BaselineOnly", {"bsl_options": {"method": "sgd", "n_epochs": 5}}),
    ("KNNBasic", {"k": 5}),
    ("KNNBasic", {"sim_options": {"name": "pearson_baseline", "user_based": False}}),
    ("KNNWithMeans", {"sim_options": {"name": "cosine", "user_based": False}}),
    ("KNNWithZScore", {"k": 8, "sim_options": {"name": "pearson"}}),
    ("KNNBaseline", {"sim_options": {"name": "msd"}}),
    ("KNNBaseline", {"sim_options": {"name": "pearson_baseline", "user_based": False},
                     "bsl_options": {"method": "sgd"}}),
    ("SVD", {"n_factors": 4, "n_epochs": 3, "random_state": 0, "lr_bu": 0.01, "reg_qi": 0.05}),
    ("SVD", {"n_factors": 3, "n_epochs": 2, "biased": False, "random_state": 1}),
    ("SVDpp", {"n_factors": 3, "n_epochs": 2, "random_state": 0, "lr_yj": 0.01}),
]
IDS = [f"{name}-{k}" for k, (name, _) in enumerate(CASES)]


def _copy(kwargs):
    return {k: dict(v) if isinstance(v, dict) else v for k, v in kwargs.items()}


def _assert_same(name, ours, theirs, trainset, tol):
    if name == "trainset":
        assert ours is theirs is trainset
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.shape == theirs.shape, name
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=tol, err_msg=name)
    elif isinstance(theirs, (dict, defaultdict)):
        assert ours == theirs, name
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, abs=tol), name
    else:
        assert ours == theirs and type(ours) is type(theirs), name


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_fitted_attributes_as_scikit_surprise(trainset, name, kwargs):
    theirs = getattr(surprise, name)(**_copy(kwargs), verbose=False)
    ours = getattr(rs, name)(**_copy(kwargs), verbose=False)
    for attr, value in vars(theirs).items():  # before fit: the constructor's (lr_bu resolved from lr_all, ...)
        assert hasattr(ours, attr), f"unfitted {name} lacks scikit-surprise's attribute {attr!r}"
        _assert_same(attr, getattr(ours, attr), value, trainset, 0)
    theirs.fit(trainset)
    ours.fit(trainset)
    tol = 1e-10 if name == "SVDpp" else 1e-12  # SVD++: the incremental implicit sum rounds differently
    for attr, value in vars(theirs).items():
        assert hasattr(ours, attr), f"{name} lacks scikit-surprise's attribute {attr!r}"
        _assert_same(attr, getattr(ours, attr), value, trainset, tol)


def _public_attributes(algo):
    return {k for k in vars(algo) if not k.startswith("_")}


@pytest.mark.parametrize("name", [n for n in rs.__all__ if hasattr(surprise, n)])
def test_every_drop_in_has_surprises_attributes_after_fit(trainset, name):
    """Every class of the package (also those added later), defaults, one or two epochs: names and shapes."""
    params = _init_params(getattr(surprise, name))
    kwargs = {k: v for k, v in {"verbose": False, "n_epochs": 2, "random_state": 0}.items() if k in params}
    theirs = getattr(surprise, name)(**kwargs).fit(trainset)
    ours = getattr(rs, name)(**kwargs).fit(trainset)
    missing = sorted(a for a in _public_attributes(theirs) if not hasattr(ours, a))  # properties count
    assert not missing, f"{name} lacks scikit-surprise's attribute(s) {missing}"
    for attr in _public_attributes(theirs):
        a, b = getattr(ours, attr), getattr(theirs, attr)
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray) and a.shape == b.shape, attr
        elif b is None:
            assert a is None, attr


def _init_params(cls):
    import inspect

    return set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}


# ---------------------------------------------------------------------------------- verbose
@pytest.mark.parametrize("name", ["BaselineOnly", "KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline",
                                  "SVD", "SVDpp"])
def test_verbose_defaults_are_surprises(name):
    want = _init_signature_default(getattr(surprise, name), "verbose")
    assert _init_signature_default(getattr(rs, name), "verbose") is want
    assert getattr(rs, name)().verbose is getattr(surprise, name)().verbose


def _init_signature_default(cls, param):
    import inspect

    return inspect.signature(cls.__init__).parameters[param].default


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_verbose_prints_what_surprise_prints(trainset, name, kwargs, capsys):
    getattr(surprise, name)(**_copy(kwargs), verbose=True).fit(trainset)
    want = capsys.readouterr().out
    getattr(rs, name)(**_copy(kwargs), verbose=True).fit(trainset)
    got = capsys.readouterr().out
    assert got == want and want  # every case prints something
    getattr(rs, name)(**_copy(kwargs), verbose=False).fit(trainset)
    assert capsys.readouterr().out == ""


def test_verbose_predict_and_test_print_the_predictions(trainset, capsys):
    algo = rs.BaselineOnly(verbose=False).fit(trainset)
    pred = algo.predict("u1", "i2", r_ui=3.0, verbose=True)
    assert capsys.readouterr().out == f"{pred}\n"
    preds = algo.test([("u1", "i2", 3.0), ("nobody", "i2", 1.0)], verbose=True)
    assert capsys.readouterr().out == "".join(f"{p}\n" for p in preds)


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name", ["KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline"])
def test_unknown_similarity_is_a_name_error_and_a_value_error(trainset, name, capsys):
    options = {"name": "wrong_name"}
    theirs = getattr(surprise, name)(sim_options=dict(options))
    with pytest.raises(NameError):
        theirs.fit(trainset)
    want = capsys.readouterr().out
    algo = getattr(rs, name)(sim_options=dict(options))  # as in scikit-surprise: accepted until fit
    with pytest.raises(UnknownSimilarityError, match=r"sim='wrong_name' is not a known option.*sim_options\['name'\]"):
        algo.fit(trainset)
    assert capsys.readouterr().out == want  # the same trace before the error
    assert issubclass(UnknownSimilarityError, NameError) and issubclass(UnknownSimilarityError, ValueError)
    with pytest.raises(ValueError):
        getattr(rs, name)(sim_options={"name": "Wrong"}, verbose=False).fit(trainset)


def test_unknown_similarity_inside_surprises_cross_validate(data):
    with pytest.raises(NameError):
        cross_validate(rs.KNNBasic(sim_options={"name": "nope"}), data, ["rmse"], cv=2)


# ---------------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("name", ["BaselineOnly", "KNNWithZScore", "KNNBaseline", "SVD", "SVDpp"])
def test_surprise_dump_and_load(trainset, name):
    algo = getattr(rs, name)(verbose=False)
    testset = trainset.build_testset()[::3] + [("nobody", "i1", 3.0), ("u1", "nothing", 2.0)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "unfitted")
        dump.dump(path, algo=algo)
        _, unfitted = dump.load(path)
        assert type(unfitted) is type(algo) and not hasattr(unfitted, "trainset")
        predictions = algo.fit(trainset).test(testset)
        path = os.path.join(tmp, "fitted")
        dump.dump(path, predictions, algo)
        loaded_predictions, loaded = dump.load(path)
    assert loaded_predictions == predictions
    assert loaded.test(testset) == predictions
    assert loaded.predict("u1", "i1") == algo.predict("u1", "i1")


# ---------------------------------------------------------------------------------- joblib processes
@pytest.mark.parametrize("name, kwargs", [("KNNWithMeans", {"k": 5, "sim_options": {"name": "pearson"}}),
                                          ("SVD", {"n_factors": 3, "n_epochs": 2, "random_state": 0})])
def test_surprise_cross_validate_with_two_jobs(data, name, kwargs):
    results = [cross_validate(getattr(rs, name)(**_copy(kwargs), verbose=False), data, ["rmse", "mae"],
                              cv=KFold(3, random_state=0), n_jobs=n_jobs) for n_jobs in (1, 2)]
    for key in ("test_rmse", "test_mae"):
        np.testing.assert_array_equal(results[1][key], results[0][key])


def test_surprise_grid_search_with_two_jobs(data):
    grid = {"k": [3, 10], "sim_options": {"name": ["msd", "pearson_baseline"], "user_based": [True, False]},
            "verbose": [False]}
    found = []
    for n_jobs in (1, 2):
        gs = GridSearchCV(rs.KNNBaseline, grid, measures=["rmse"], cv=KFold(2, random_state=0), n_jobs=n_jobs)
        gs.fit(data)
        found.append((gs.best_params["rmse"], gs.cv_results["mean_test_rmse"]))
    assert found[0][0] == found[1][0]
    np.testing.assert_array_equal(found[1][1], found[0][1])
    assert isinstance(gs.best_estimator["rmse"], AlgoBase)
