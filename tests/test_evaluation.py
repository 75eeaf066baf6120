"""cross_validate against a manual loop and scikit-surprise; evaluate_ranking on a hand-worked case."""

import math

import numpy as np
import pytest

from reckernels import SVD, BaselineOnly, Dataset, ImplicitALS, ItemKNN, NotFittedError, Popular
from reckernels.evaluation import cross_validate, evaluate_ranking
from reckernels.metrics import mae, rmse
from reckernels.split import KFold, train_test_split

from .conftest import ML100K, needs_ml100k


# ---------------------------------------------------------------------- cross_validate
def test_cross_validate_equals_a_manual_loop(small_data):
    algo = BaselineOnly(n_epochs=5, reg_u=3.0)
    result = cross_validate(algo, small_data, cv=3, random_state=0, return_train_measures=True)
    expected = {"test_rmse": [], "test_mae": [], "train_rmse": [], "train_mae": []}
    for train, test in KFold(3, random_state=0).split(small_data):
        est = BaselineOnly(n_epochs=5, reg_u=3.0).fit(train)
        for part, ds in (("test", test), ("train", train)):
            pred = est.predict(ds.users, ds.items)
            expected[f"{part}_rmse"].append(rmse(ds.ratings, pred))
            expected[f"{part}_mae"].append(mae(ds.ratings, pred))
    assert sorted(result) == sorted([*expected, "fit_time", "test_time"])
    for key, values in expected.items():
        np.testing.assert_array_equal(result[key], values)
    for key in ("fit_time", "test_time"):
        assert isinstance(result[key], np.ndarray) and result[key].shape == (3,) and (result[key] >= 0).all()
    assert not hasattr(algo, "bu_")  # each fold fits a clone; the given estimator stays unfitted


def test_cross_validate_accepts_splitters_and_fold_lists(small_data):
    by_int = cross_validate(BaselineOnly(), small_data, cv=4, random_state=2, measures=["RMSE"])
    by_splitter = cross_validate(BaselineOnly(), small_data, cv=KFold(4, random_state=2), measures=("rmse",))
    folds = list(KFold(4, random_state=2).split(small_data))
    by_list = cross_validate(BaselineOnly(), small_data, cv=folds, measures="rmse")
    assert set(by_int) == {"test_rmse", "fit_time", "test_time"}
    np.testing.assert_array_equal(by_int["test_rmse"], by_splitter["test_rmse"])
    np.testing.assert_array_equal(by_int["test_rmse"], by_list["test_rmse"])
    one = [train_test_split(small_data, random_state=0)]
    assert cross_validate(BaselineOnly(), small_data, cv=one, measures=["mse"])["test_mse"].shape == (1,)


def test_cross_validate_verbose_prints_surprises_table(small_data, capsys):
    cross_validate(BaselineOnly(), small_data, cv=2, random_state=0, return_train_measures=True, verbose=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Evaluating RMSE, MAE of algorithm BaselineOnly on 2 split(s)."
    assert out[2].split() == ["Fold", "1", "Fold", "2", "Mean", "Std"]
    labels = [line[:18].strip() for line in out[3:]]
    assert labels == ["RMSE (testset)", "MAE (testset)", "RMSE (trainset)", "MAE (trainset)", "Fit time", "Test time"]


def test_cross_validate_rejects_bad_arguments(small_data):
    with pytest.raises(ValueError, match="measures holds unknown name.*'fcp'.*rmse, mse, mae"):
        cross_validate(BaselineOnly(), small_data, measures=("rmse", "fcp"))
    with pytest.raises(ValueError, match="measures"):
        cross_validate(BaselineOnly(), small_data, measures=())
    with pytest.raises(ValueError, match="cv"):
        cross_validate(BaselineOnly(), small_data, cv=1)
    with pytest.raises(ValueError, match="random_state"):
        cross_validate(BaselineOnly(), small_data, cv=KFold(3), random_state=0)
    with pytest.raises(TypeError, match="cv must be"):
        cross_validate(BaselineOnly(), small_data, cv=2.5)
    with pytest.raises(TypeError, match="cv fold 0"):
        cross_validate(BaselineOnly(), small_data, cv=[(small_data,)])
    with pytest.raises(ValueError, match="no fold"):
        cross_validate(BaselineOnly(), small_data, cv=[])
    with pytest.raises(TypeError, match="algo"):
        cross_validate("BaselineOnly", small_data)
    with pytest.raises(TypeError, match="data"):
        cross_validate(BaselineOnly(), small_data.to_pandas())


def _same_measures(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        if key not in ("fit_time", "test_time"):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_cross_validate_in_processes_gives_the_same_numbers(small_data):
    """n_jobs > 1: folds fitted in spawned worker processes (the estimator and folds pickled), same numbers."""
    algo = SVD(n_factors=3, n_epochs=3, random_state=0, n_threads=1)
    serial = cross_validate(algo, small_data, cv=3, random_state=1, return_train_measures=True)
    parallel = cross_validate(algo, small_data, cv=3, random_state=1, return_train_measures=True, n_jobs=2)
    _same_measures(serial, parallel)
    assert parallel["fit_time"].shape == (3,) and (parallel["fit_time"] > 0).all()
    assert not hasattr(algo, "user_map_")
    folds = list(KFold(2, random_state=0).split(small_data))
    knn = ItemKNN(k=5, sim="cosine")
    _same_measures(cross_validate(knn, small_data, cv=folds, measures=["mae"]),
                   cross_validate(knn, small_data, cv=folds, measures=["mae"], n_jobs=-1))


def test_cross_validate_n_jobs_checked(small_data):
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_jobs must be a positive int, or -1"):
            cross_validate(BaselineOnly(), small_data, cv=2, n_jobs=bad)
    with pytest.raises(ValueError, match="n_jobs=-1000 leaves no process"):
        cross_validate(BaselineOnly(), small_data, cv=2, n_jobs=-1000)
    # a Generator would be copied into each process, so the folds would draw other numbers than with n_jobs=1
    with pytest.raises(ValueError, match="int random_state"):
        cross_validate(SVD(random_state=np.random.default_rng(0)), small_data, cv=2, n_jobs=2)
    with pytest.raises(ValueError, match="no fold"):
        cross_validate(BaselineOnly(), small_data, cv=[], n_jobs=2)
    _same_measures(cross_validate(BaselineOnly(), small_data, cv=2, random_state=0, n_jobs=None),
                   cross_validate(BaselineOnly(), small_data, cv=2, random_state=0))


def test_cross_validate_refuses_models_that_only_rank(small_data):
    """ImplicitALS predicts preferences in [0, 1]: an RMSE against ratings would be meaningless."""
    assert BaselineOnly.predicts_ratings and not ImplicitALS.predicts_ratings
    with pytest.raises(ValueError, match="ImplicitALS scores items for ranking.*evaluate_ranking"):
        cross_validate(ImplicitALS(n_factors=4, n_epochs=1), small_data, cv=2)


@needs_ml100k()
def test_cross_validate_matches_surprise_on_movielens_100k():
    surprise = pytest.importorskip("surprise")
    from surprise.model_selection import KFold as SurpriseKFold, cross_validate as surprise_cv

    path = ML100K / "u.data"
    raw = np.loadtxt(path, dtype=str)  # user, item, rating, timestamp; ids kept as strings, file order
    ours = Dataset(raw[:, 0], raw[:, 1], raw[:, 2].astype(float), raw[:, 3].astype(np.int64), rating_scale=(1, 5))
    theirs = surprise.Dataset.load_from_file(str(path), surprise.Reader("ml-100k"))
    result = cross_validate(BaselineOnly(), ours, cv=KFold(5, random_state=0))
    expected = surprise_cv(surprise.BaselineOnly(verbose=False), theirs, cv=SurpriseKFold(5, random_state=0))
    np.testing.assert_allclose(result["test_rmse"], expected["test_rmse"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result["test_mae"], expected["test_mae"], rtol=0, atol=1e-6)


# ---------------------------------------------------------------------- evaluate_ranking
@pytest.fixture
def tiny():
    """Popular on 4 users: x is rated by 3 users, y by 2, z and w by 1 each (inner ids x, y, z, w)."""
    train = Dataset(["a", "b", "c", "b", "c", "c", "d"], ["x", "x", "x", "y", "y", "z", "w"], np.full(7, 3.0),
                    rating_scale=(1, 5))
    test = Dataset(["a", "a", "b", "d"], ["y", "z", "z", "y"], [5.0, 2.0, 4.0, 1.0], rating_scale=(1, 5))
    return Popular().fit(train), train, test


def test_evaluate_ranking_hand_worked(tiny):
    algo, train, test = tiny
    # top-2 by popularity, seen items left out (ties z, w: the earlier inner id, z):
    #   a (seen x): [y, z], relevant {y, z} -> hits [1, 1]: P 1,   R 1, nDCG 1,             AP 1,   MRR 1
    #   b (seen x, y): [z, w], relevant {z} -> hits [1, 0]: P 1/2, R 1, nDCG 1,             AP 1,   MRR 1
    #   d (seen w): [x, y], relevant {y}    -> hits [0, 1]: P 1/2, R 1, nDCG 1/log2(3) / 1, AP 1/2, MRR 1/2
    # coverage {x, y, z, w} / 4 = 1; shares x 3/4, y 2/4, z 1/4, w 1/4 -> novelty per list
    #   a (1 + 2) / 2 = 1.5, b (2 + 2) / 2 = 2, d (-log2(3/4) + 1) / 2
    result = evaluate_ranking(algo, train, test, k=2)
    expected = {"precision@2": 2 / 3, "recall@2": 1.0, "ndcg@2": (2 + 1 / math.log2(3)) / 3,
                "map@2": 2.5 / 3, "hit_rate@2": 1.0, "mrr@2": 2.5 / 3, "coverage@2": 1.0,
                "novelty@2": (1.5 + 2 + (1 - math.log2(0.75)) / 2) / 3}
    assert result == pytest.approx(expected)
    assert list(result) == list(expected)


def test_evaluate_ranking_with_a_threshold_and_seen_items(tiny):
    algo, train, test = tiny
    # rating >= 3 keeps a: {y} and b: {z}; d's only test rating (1) is not relevant, so d is left out
    #   a: [y, z] hits [1, 0]; b: [z, w] hits [1, 0] -> P 1/2, MRR 1; coverage {y, z, w} = 3/4; novelty (1.5 + 2) / 2
    result = evaluate_ranking(algo, train, test, k=2, metrics=("precision", "mrr"), relevance_threshold=3)
    assert result == pytest.approx({"precision@2": 0.5, "mrr@2": 1.0, "coverage@2": 0.75, "novelty@2": 1.75})
    # without excluding seen items everyone gets [x, y]: a hits [0, 1], b [0, 0] -> MRR (1/2 + 0) / 2
    unseen = evaluate_ranking(algo, train, test, k=2, metrics=["mrr"], relevance_threshold=3, exclude_seen=False)
    assert unseen["mrr@2"] == pytest.approx(0.25)


def test_evaluate_ranking_rejects_bad_arguments(tiny):
    algo, train, test = tiny
    with pytest.raises(ValueError, match="relevance_threshold=6"):
        evaluate_ranking(algo, train, test, relevance_threshold=6)
    with pytest.raises(ValueError, match="relevance_threshold"):
        evaluate_ranking(algo, train, test, relevance_threshold=float("nan"))
    with pytest.raises(ValueError, match="unknown name"):
        evaluate_ranking(algo, train, test, metrics=("auc",))
    with pytest.raises(ValueError, match="k must be"):
        evaluate_ranking(algo, train, test, k=0)
    with pytest.raises(TypeError, match="test"):
        evaluate_ranking(algo, train, test.to_pandas())
    with pytest.raises(NotFittedError):
        evaluate_ranking(Popular(), train, test)
