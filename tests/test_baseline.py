"""BaselineOnly and Popular: scikit-surprise's numbers, the estimator contract, fallbacks."""

import numpy as np
import pytest

import reckernels as rk
from reckernels import BaselineOnly, Dataset, Popular

from .conftest import ML100K, needs_ml100k


def _read_split(name):
    a = np.loadtxt(ML100K / name, dtype=str)
    return a[:, 0], a[:, 1], a[:, 2].astype(float)


@needs_ml100k()
@pytest.mark.parametrize("method, backends", [("als", ["reference", "cython", "numba"]), ("sgd", ["cython", "numba"])])
def test_equals_scikit_surprise_on_movielens_100k(method, backends):
    surprise = pytest.importorskip("surprise")
    reader = surprise.Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
    trainset = surprise.Dataset.load_from_file(str(ML100K / "u1.base"), reader).build_full_trainset()
    theirs = surprise.BaselineOnly(bsl_options={"method": method}, verbose=False).fit(trainset)
    tu, ti, tr = _read_split("u1.base")
    su, si, _ = _read_split("u1.test")
    # unseen pairs too: ids that are not in the training data fall back to the partial baseline
    su = np.append(su, ["1", "99999", "99999"])
    si = np.append(si, ["99999", "1", "99998"])
    expected = np.array([theirs.predict(u, i).est for u, i in zip(su, si)])
    train = Dataset(tu, ti, tr, rating_scale=(1, 5))
    for backend in backends:
        ours = BaselineOnly(method=method, backend=backend).fit(train).predict(su, si)
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6, err_msg=backend)
        assert np.abs(ours - expected).max() < 1e-12  # in fact identical: same summation order


def test_unknown_ids_fall_back_to_the_partial_baseline(small_data):
    algo = BaselineOnly().fit(small_data)
    u0, i0 = small_data.user_ids[0], small_data.item_ids[0]
    est, impossible = algo.predict([u0, "nobody", u0, "nobody"], [i0, i0, "nothing", "nothing"],
                                   clip=False, return_impossible=True)
    mu, bu, bi = algo.global_mean_, algo.bu_[0], algo.bi_[0]
    np.testing.assert_allclose(est, [mu + bu + bi, mu + bi, mu + bu, mu])
    assert not impossible.any()  # scikit-surprise's BaselineOnly never declares a prediction impossible


def test_predictions_are_clipped_to_the_rating_scale():
    d = Dataset([1, 1, 2, 2], [1, 2, 1, 2], [5.0, 5.0, 5.0, 1.0], rating_scale=(1, 5))
    algo = BaselineOnly(reg_u=0, reg_i=0).fit(d)
    assert algo.predict([1], [1], clip=False)[0] > 5
    assert algo.predict([1], [1])[0] == 5


def test_recommend_excludes_seen_items_and_breaks_ties_by_item_order():
    d = Dataset([1, 1, 2, 3, 3], ["a", "b", "c", "c", "d"], [5, 5, 1, 5, 5], rating_scale=(1, 5))
    algo = Popular().fit(d)
    ids, scores = algo.recommend([1, 2, 99], k=3)
    # popularity: a=1, b=1, c=2, d=1; ties keep the data's first-seen order
    assert ids[0].tolist() == ["c", "d", ""]  # user 1 rated a and b; only two unseen items left
    assert scores[0, 2] == -np.inf
    assert ids[1].tolist() == ["a", "b", "d"]
    assert ids[2].tolist() == ["c", "a", "b"]  # unknown user: nothing to exclude
    ids_all, _ = algo.recommend([1], k=2, exclude_seen=False)
    assert ids_all[0].tolist() == ["c", "a"]


def test_baseline_recommend_ranks_by_item_bias(small_data):
    algo = BaselineOnly().fit(small_data)
    ids, scores = algo.recommend(["nobody"], k=5)
    best = small_data.item_ids[np.argsort(-algo.bi_, kind="stable")[:5]]
    assert ids[0].tolist() == best.tolist()
    assert np.all(np.diff(scores[0]) <= 0)


def test_params_round_trip_and_clone():
    algo = BaselineOnly(method="sgd", n_epochs=5, learning_rate=0.01, backend="numba", n_threads=1)
    assert algo.get_params()["learning_rate"] == 0.01
    copy = rk.clone(algo)
    assert copy.get_params() == algo.get_params() and copy is not algo
    algo.set_params(n_epochs=7)
    assert algo.n_epochs == 7
    with pytest.raises(TypeError, match="unknown option.*'lr'"):
        algo.set_params(lr=0.1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        BaselineOnly(lr=0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "newton"}, "method='newton' is not a known option"),
    ({"n_epochs": 0}, "n_epochs must be an integer >= 1"),
    ({"reg_u": -1}, "reg_u must be a finite number >= 0"),
    ({"backend": "gpu"}, "backend='gpu' is not a known option"),
    ({"n_threads": 0}, "n_threads must be an integer >= 1"),
])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        BaselineOnly(**kwargs)


def test_misuse_errors(small_data):
    with pytest.raises(rk.NotFittedError, match="call fit"):
        BaselineOnly().predict(["a"], ["b"])
    with pytest.raises(TypeError, match="must be a reckernels.Dataset"):
        BaselineOnly().fit([(1, 2, 3.0)])
    algo = BaselineOnly().fit(small_data)
    for k in (0, -3):
        with pytest.raises(ValueError, match="k must be an integer >= 1"):
            algo.recommend(["u1"], k=k)
    with pytest.raises(ValueError, match="same length"):
        algo.predict(["u1", "u2"], ["i1"])


def test_verbose_shows_a_progress_bar(small_data, capsys):
    BaselineOnly(verbose=True).fit(small_data)
    assert "BaselineOnly baseline als" in capsys.readouterr().err
