"""ALS and ImplicitALS estimators: fitting, cold start, warm starts, saving, errors, agreement with implicit."""

import numpy as np
import pytest
import scipy.sparse as sp

import reckernels as rk
from reckernels.algorithms.als import ALS, ImplicitALS, implicit_loss

from .conftest import ML100K, needs_ml100k

SMALL = dict(n_factors=4, n_epochs=3, random_state=0, n_threads=2)


def _strengths(seed=0, n_users=30, n_items=20, density=0.2):
    rng = np.random.default_rng(seed)
    m = sp.random(n_users, n_items, density=density, random_state=seed, format="csr")
    m.data = rng.integers(1, 6, size=m.nnz).astype(np.float64)
    return m


# ---------------------------------------------------------------------------------------- ALS
@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_als_fits_and_tracks_history(small_data, solver):
    calls = []
    model = ALS(**SMALL, solver=solver).fit(small_data, validation=small_data,
                                             callback=lambda epoch, m: calls.append(epoch))
    assert calls == [0, 1, 2]
    assert [h["epoch"] for h in model.history_] == [0, 1, 2]
    assert model.history_[-1]["train_rmse"] < model.history_[0]["train_rmse"]
    # the same ratings: validation predictions are clipped to the rating scale, which can only help
    assert model.history_[-1]["train_rmse"] - 0.01 < model.history_[-1]["val_rmse"] <= model.history_[-1]["train_rmse"]
    est = model.predict(small_data.users, small_data.items)
    assert np.isfinite(est).all() and est.min() >= 1 and est.max() <= 5
    assert model.user_factors_.shape == (small_data.n_users, 4) and model.item_bias_.shape == (small_data.n_items,)


def test_als_cython_matches_reference_model(small_data):
    ref = ALS(**SMALL, backend="reference").fit(small_data)
    cy = ALS(**SMALL, backend="cython").fit(small_data)
    np.testing.assert_allclose(cy.user_factors_, ref.user_factors_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(cy.item_bias_, ref.item_bias_, rtol=1e-9, atol=1e-9)


def test_als_float32(small_data):
    model = ALS(**SMALL, dtype="float32").fit(small_data)
    assert model.user_factors_.dtype == np.float32 and model.user_bias_.dtype == np.float32
    ref = ALS(**SMALL).fit(small_data)
    np.testing.assert_allclose(model.predict(small_data.users, small_data.items),
                               ref.predict(small_data.users, small_data.items), atol=1e-3)


def test_als_cold_start_uses_partial_baseline(small_data):
    model = ALS(**SMALL).fit(small_data)
    item = small_data.item_ids[0]
    est, impossible = model.predict(["nobody", "nobody", small_data.user_ids[0]], [item, "nothing", "nothing"],
                                    clip=False, return_impossible=True)
    assert est[0] == pytest.approx(model.global_mean_ + model.item_bias_[0])
    assert est[1] == pytest.approx(model.global_mean_)
    assert est[2] == pytest.approx(model.global_mean_ + model.user_bias_[0])
    assert not impossible.any()
    ids, scores = model.recommend(["nobody"], k=3, exclude_seen=False)
    best = np.argsort(-model.item_bias_, kind="stable")[:3]
    np.testing.assert_array_equal(ids[0], small_data.item_ids[best])


def test_als_partial_fit_continues(small_data):
    once = ALS(**{**SMALL, "n_epochs": 3}).fit(small_data)
    twice = ALS(**{**SMALL, "n_epochs": 2}).fit(small_data).partial_fit(small_data, n_epochs=1)
    np.testing.assert_array_equal(twice.user_factors_, once.user_factors_)
    assert twice.epochs_done_ == 3
    other = rk.Dataset(["a", "b"], ["x", "y"], [1.0, 2.0])
    with pytest.raises(ValueError, match="partial_fit needs the users and items"):
        twice.partial_fit(other)


def test_als_save_load_round_trip(small_data, tmp_path):
    model = ALS(**SMALL).fit(small_data)
    path = model.save(tmp_path / "als.npz")
    back = rk.load(path)
    assert isinstance(back, ALS) and back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.predict(small_data.users, small_data.items),
                                  model.predict(small_data.users, small_data.items))
    np.testing.assert_array_equal(back.recommend(small_data.user_ids[:3], k=5)[0],
                                  model.recommend(small_data.user_ids[:3], k=5)[0])
    with pytest.raises(TypeError, match="holds a ALS model"):
        ImplicitALS.load(path)


@pytest.mark.parametrize("cls", [ALS, ImplicitALS])
@pytest.mark.parametrize("kwargs, match", [
    ({"n_factors": 0}, "n_factors must be an integer >= 1"),
    ({"n_epochs": 0}, "n_epochs must be an integer >= 1"),
    ({"reg": -0.1}, "reg must be a finite number >= 0"),
    ({"reg": 0.0}, "reg must be > 0"),
    ({"solver": "lu"}, "solver='lu' is not a known option"),
    ({"cg_steps": 0}, "cg_steps must be an integer >= 1"),
    ({"dtype": "float16"}, "dtype='float16' is not a known option"),
])
def test_bad_options_are_refused(cls, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cls(**kwargs)


def test_bad_fit_arguments(small_data):
    with pytest.raises(TypeError, match="callback must be callable"):
        ALS(**SMALL).fit(small_data, callback=3)
    with pytest.raises(TypeError, match="validation must be a reckernels.Dataset"):
        ALS(**SMALL).fit(small_data, validation=[1, 2])
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        ImplicitALS(alpha=-1)


def test_failed_or_overflowing_sweeps_raise(small_data, monkeypatch):
    """A kernel reporting failed Cholesky rows, or factors gone non-finite, stops the fit with advice."""
    from reckernels import backends

    module = backends.get_backend("reference")
    monkeypatch.setattr(module, "als_explicit_half", lambda *args: 2)
    with pytest.raises(FloatingPointError, match="Cholesky factorisation failed for 2 user system"):
        ALS(**SMALL, backend="reference").fit(small_data)

    def overflow(indptr, indices, data, alpha, other, reg, factors, *rest):
        factors[0, 0] = np.inf
        return 0

    monkeypatch.setattr(module, "als_implicit_half", overflow)
    with pytest.raises(FloatingPointError, match="overflowed to inf/NaN in float32"):
        ImplicitALS(**SMALL, backend="reference").fit(small_data)


@needs_ml100k()
def test_als_accuracy_on_ml100k_u1():
    import pandas as pd

    cols = ["user", "item", "rating", "ts"]
    base = pd.read_csv(ML100K / "u1.base", sep="\t", names=cols)
    test = pd.read_csv(ML100K / "u1.test", sep="\t", names=cols)
    train = rk.Dataset.from_pandas(base, rating_scale=(1, 5))
    model = ALS(n_factors=20, n_epochs=10, reg=0.1, random_state=0, n_threads=2).fit(train)
    rmse = np.sqrt(np.mean((model.predict(test.user.values, test.item.values) - test.rating.values) ** 2))
    assert rmse < 0.95  # measured 0.932 (benchmarks/RESULTS.md has the 5-fold figures)


# ------------------------------------------------------------------------------- ImplicitALS
def test_implicit_matrix_and_dataset_inputs_agree():
    m = _strengths()
    users, items = m.nonzero()
    data = rk.Dataset(users, items, np.asarray(m[users, items]).ravel())
    a = ImplicitALS(**SMALL, dtype="float64").fit(data)
    # the matrix path sorts each row's items (scipy's canonical format): only the summation order differs
    b = ImplicitALS(**SMALL, dtype="float64").fit(data.to_scipy(), user_ids=data.user_ids, item_ids=data.item_ids)
    np.testing.assert_allclose(a.user_factors_, b.user_factors_, rtol=1e-9)
    assert ImplicitALS(**SMALL).fit(data).user_factors_.dtype == np.float32


def test_implicit_recommend_excludes_seen_and_cold_start_by_popularity():
    m = _strengths()
    model = ImplicitALS(**SMALL).fit(m)
    ids, scores = model.recommend([0, 1, 10_000], k=5)
    for row, user in enumerate([0, 1]):
        assert not set(ids[row]) & set(m[user].indices)
        expect = np.argsort(-(model.user_factors_[user] @ model.item_factors_.T).astype(np.float64), kind="stable")
        expect = [i for i in expect if i not in set(m[user].indices)][:5]
        np.testing.assert_array_equal(ids[row], expect)
    popularity = np.diff(m.tocsc().indptr)
    np.testing.assert_array_equal(scores[2], np.sort(popularity)[::-1][:5])
    est, impossible = model.predict([0, 10_000], [0, 0], return_impossible=True)
    assert impossible.tolist() == [False, True] and est[1] == 0.0
    # a score, not a rating: never clipped to [0, 1] (predicts_ratings is False)
    assert est[0] == pytest.approx(float(model.user_factors_[0].astype(np.float64) @ model.item_factors_[0]))


def test_implicit_zero_strengths_are_no_interaction():
    with_zero = _strengths()
    with_zero.data[0] = 0.0  # stored explicitly, but a zero strength is no interaction
    without = with_zero.copy()
    without.eliminate_zeros()
    a = ImplicitALS(**SMALL).fit(with_zero)
    b = ImplicitALS(**SMALL).fit(without)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.seen_[1], without.indices)


@pytest.mark.parametrize("cls", [ALS, ImplicitALS])
def test_verbose_shows_progress_and_records_loss(cls, small_data, capsys):
    model = cls(**SMALL, verbose=True).fit(small_data)
    key = "train_rmse" if cls is ALS else "train_loss"
    assert all(key in h for h in model.history_)
    assert "epochs" in capsys.readouterr().err  # the tqdm bar


def test_implicit_history_loss_and_partial_fit():
    m = _strengths()
    seen = []
    model = ImplicitALS(**SMALL, alpha=2.0).fit(m, callback=lambda epoch, est: seen.append(epoch))
    assert seen == [0, 1, 2] and all("train_loss" in h for h in model.history_)
    loss = implicit_loss(_implicit_csr(m), model.user_factors_, model.item_factors_, 2.0, 0.01)
    assert model.history_[-1]["train_loss"] == pytest.approx(loss)
    again = ImplicitALS(**{**SMALL, "n_epochs": 2}, alpha=2.0).fit(m).partial_fit(m, n_epochs=1)
    np.testing.assert_array_equal(again.user_factors_, model.user_factors_)
    with pytest.raises(ValueError, match="partial_fit needs the users and items"):
        again.partial_fit(m[:10])


def _implicit_csr(m):
    from reckernels.data import CSR

    return CSR(m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float64))


def test_implicit_save_load_round_trip(tmp_path):
    model = ImplicitALS(**SMALL).fit(_strengths(), user_ids=[f"u{i}" for i in range(30)])
    back = ImplicitALS.load(model.save(tmp_path / "implicit"))
    for users in (["u0", "u3"], ["unknown"]):
        np.testing.assert_array_equal(back.recommend(users, k=4)[0], model.recommend(users, k=4)[0])
    assert back.alpha == model.alpha and back.item_popularity_.tolist() == model.item_popularity_.tolist()


@pytest.mark.parametrize("value, match", [(-1.0, "1 negative value"), (np.nan, "NaN or infinite"),
                                          (np.inf, "NaN or infinite")])
def test_implicit_bad_strengths(value, match):
    m = _strengths()
    m.data[3] = value
    with pytest.raises(ValueError, match=match):
        ImplicitALS(**SMALL).fit(m)


def test_implicit_bad_inputs():
    m = _strengths()
    with pytest.raises(ValueError, match=r"user_items has shape \(30, 20\) but user_ids has 29 entries"):
        ImplicitALS(**SMALL).fit(m, user_ids=np.arange(29))
    with pytest.raises(ValueError, match="item_ids has 21 entries"):
        ImplicitALS(**SMALL).fit(m, item_ids=np.arange(21))
    with pytest.raises(ValueError, match="repeated ids"):
        ImplicitALS(**SMALL).fit(m, user_ids=np.zeros(30, dtype=int))
    with pytest.raises(TypeError, match="scipy.sparse.csr_matrix"):
        ImplicitALS(**SMALL).fit(m.toarray())
    with pytest.raises(ValueError, match="no interaction"):
        ImplicitALS(**SMALL).fit(sp.csr_matrix((3, 4)))
    negative = rk.Dataset([1, 2], [1, 2], [1.0, -2.0])
    with pytest.raises(ValueError, match="negative value"):
        ImplicitALS(**SMALL).fit(negative)
    with pytest.raises(ValueError, match="only for a scipy.sparse matrix"):
        ImplicitALS(**SMALL).fit(negative, user_ids=[1, 2])


@pytest.mark.filterwarnings("ignore:OpenBLAS is configured to use")  # implicit's advice for speed, not results
@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_implicit_matches_implicit_library(solver):
    """Same data, same initial factors, float64: our fit equals implicit 0.7's AlternatingLeastSquares.

    implicit's confidence is alpha * value, ours 1 + alpha * r: implicit gets 1 + alpha * r with alpha=1.
    """
    implicit_als = pytest.importorskip("implicit.cpu.als")
    m, alpha, k = _strengths(3, 40, 30, 0.2), 3.0, 5
    ours = ImplicitALS(n_factors=k, n_epochs=4, reg=0.05, alpha=alpha, solver=solver, dtype="float64",
                       random_state=1, n_threads=1).fit(m)
    rng = np.random.default_rng(1)  # our initialisation, handed to implicit
    theirs = implicit_als.AlternatingLeastSquares(factors=k, regularization=0.05, alpha=1.0, dtype=np.float64,
                                                  use_cg=solver == "cg", iterations=4, num_threads=1)
    theirs.user_factors = rng.random((40, k)) * 0.01
    theirs.item_factors = rng.random((30, k)) * 0.01
    confidence = m.copy()
    confidence.data = 1.0 + alpha * confidence.data
    theirs.fit(confidence, show_progress=False)
    np.testing.assert_allclose(ours.user_factors_, theirs.user_factors, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.item_factors_, theirs.item_factors, rtol=1e-6, atol=1e-8)
