"""SVD and SVDpp estimators: schedules, cold start, callbacks, warm starts, saving, bad input."""

import numpy as np
import pytest

import reckernels as rk
from reckernels.algorithms.svd import implicit_sums

SMALL = {"n_factors": 5, "n_epochs": 3, "random_state": 0}
#: the schedule that reproduces scikit-surprise's order (float64), for the bit-for-bit tests
EXACT = {"schedule": "exact"}
#: a reproducible run of each model's default schedule (SVD++'s Hogwild is with one thread)
REPRODUCIBLE = {rk.SVD: {}, rk.SVDpp: {"n_threads": 1}}


@pytest.fixture(params=[rk.SVD, rk.SVDpp], ids=["svd", "svdpp"])
def cls(request):
    return request.param


def test_fit_predict_recommend(cls, small_data):
    model = cls(**SMALL).fit(small_data)
    est = model.predict(small_data.users[:20], small_data.items[:20])
    assert est.shape == (20,) and np.all((est >= 1) & (est <= 5))
    assert model.user_factors_.shape == (small_data.n_users, 5)
    assert model.item_factors_.shape == (small_data.n_items, 5)
    assert model.user_bias_.shape == (small_data.n_users,) and model.item_bias_.shape == (small_data.n_items,)
    ids, scores = model.recommend(small_data.user_ids[:3], k=4)
    assert ids.shape == (3, 4) and np.all(np.diff(scores, axis=1) <= 0)
    assert len(model.history_) == 3 and model.history_[-1]["train_rmse"] < model.history_[0]["train_rmse"]


@pytest.mark.parametrize("schedule, tol", [("exact", 1e-12), ("default", 1e-5)])
def test_scores_equal_unclipped_predictions(cls, small_data, schedule, tol):
    """recommend's scores are predict's estimates (float32 factors: to float32 rounding)."""
    model = cls(**SMALL, **(EXACT if schedule == "exact" else {})).fit(small_data)
    users = np.array([small_data.user_ids[0], "nobody"])
    scores = model._score(model.user_map_.to_inner(users))
    for row, user in enumerate(users):
        est = model.predict(np.repeat(user, small_data.n_items), small_data.item_ids, clip=False)
        np.testing.assert_allclose(scores[row], est, rtol=0, atol=tol)


@pytest.mark.parametrize("schedule, tol", [("exact", 1e-12), ("default", 1e-5)])
def test_reference_and_compiled_backends_agree(cls, small_data, schedule, tol):
    kwargs = {**SMALL, **(EXACT if schedule == "exact" else REPRODUCIBLE[cls])}
    models = [cls(**kwargs, backend=b).fit(small_data) for b in ("reference", "auto")]
    for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        np.testing.assert_allclose(getattr(models[0], name), getattr(models[1], name), rtol=0, atol=tol)


def test_unknown_ids_get_the_partial_baseline(cls, small_data):
    model = cls(**SMALL).fit(small_data)
    item = small_data.item_ids[0]
    est, impossible = model.predict(["nobody", "nobody"], [item, "nothing"], clip=False, return_impossible=True)
    assert est[0] == pytest.approx(small_data.global_mean + model.item_bias_[0])
    assert est[1] == pytest.approx(small_data.global_mean)
    assert not impossible.any()


def test_unbiased_svd_is_pmf_and_unknowns_are_impossible(small_data):
    model = rk.SVD(biased=False, **SMALL).fit(small_data)
    assert not model.user_bias_.any() and not model.item_bias_.any()
    u, i = small_data.user_ids[0], small_data.item_ids[0]
    est, impossible = model.predict([u, "nobody"], [i, i], clip=False, return_impossible=True)
    assert est[0] == pytest.approx(model.user_factors_[0] @ model.item_factors_[0])
    assert impossible.tolist() == [False, True] and est[1] == small_data.global_mean


def test_svdpp_estimate_formula(small_data):
    model = rk.SVDpp(**SMALL, **EXACT).fit(small_data)
    rated = small_data.csr.indices[small_data.csr.indptr[2]:small_data.csr.indptr[3]]
    implicit = model.implicit_factors_[rated].sum(axis=0) / np.sqrt(len(rated))
    want = (small_data.global_mean + model.user_bias_[2] + model.item_bias_[7]
            + model.item_factors_[7] @ (model.user_factors_[2] + implicit))
    got = model.predict(small_data.user_ids[2], small_data.item_ids[7], clip=False)[0]
    assert got == pytest.approx(want, abs=1e-12)
    np.testing.assert_allclose(implicit_sums(small_data.csr, model.implicit_factors_)[2], implicit, atol=1e-15)


def test_blocked_one_thread_is_the_reference_order_and_as_good_as_exact(small_data):
    """One thread: one cell, its halves interleaved (not scikit-surprise's order, but the same
    model quality); every backend makes exactly the reference's updates."""
    exact = rk.SVD(**SMALL, **EXACT).fit(small_data)
    blocked = rk.SVD(**SMALL, schedule="blocked", dtype="float64", n_threads=1).fit(small_data)
    oracle = rk.SVD(**SMALL, schedule="blocked", dtype="float64", n_threads=1, backend="reference").fit(small_data)
    np.testing.assert_allclose(blocked.user_factors_, oracle.user_factors_, rtol=0, atol=1e-12)
    assert abs(blocked.history_[-1]["train_rmse"] - exact.history_[-1]["train_rmse"]) < 0.01


def test_blocked_depends_on_the_grid_not_the_threads(small_data):
    a = rk.SVD(**SMALL, schedule="blocked", n_blocks=3, n_threads=1).fit(small_data)
    b = rk.SVD(**SMALL, schedule="blocked", n_blocks=3, n_threads=2).fit(small_data)
    assert np.array_equal(a.user_factors_, b.user_factors_) and np.array_equal(a.item_factors_, b.item_factors_)



def test_default_grid_is_blocks_per_thread_and_bounded(small_data, monkeypatch):
    """n_blocks=None: one block on one thread, BLOCKS_PER_THREAD per thread on more, never more than
    MAX_BLOCKS per side (the cell table and per-epoch buffers stay bounded) however many threads."""
    import warnings

    from reckernels import backends
    from reckernels.algorithms.svd import BLOCKS_PER_THREAD

    for backend in ("cython", "numba"):
        assert rk.SVD(**SMALL, n_threads=1, backend=backend).fit(small_data)._grid_blocks() == 1
        if backends.available_cores() >= 2:
            assert rk.SVD(**SMALL, n_threads=2, backend=backend).fit(small_data)._grid_blocks() == 2 * BLOCKS_PER_THREAD
    with pytest.warns(backends.ThreadCapWarning):
        capped = rk.SVD(**SMALL, n_threads=10000)
    assert capped.n_threads_ == backends.available_cores()
    monkeypatch.setattr(backends, "available_cores", lambda: 5000)  # a huge machine: the grid is capped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", backends.ThreadCapWarning)
        huge = rk.SVD(**SMALL, n_threads=10000, backend="cython")
    huge.backend_ = "cython"
    assert huge._grid_blocks() == 5000 * BLOCKS_PER_THREAD
    assert backends.bound_blocks(huge._grid_blocks(), 10 ** 7, 10 ** 7) == backends.MAX_BLOCKS


def test_hogwild_one_thread_is_the_exact_svdpp(small_data):
    exact = rk.SVDpp(**SMALL, **EXACT).fit(small_data)
    hogwild = rk.SVDpp(**SMALL, schedule="hogwild", dtype="float64", n_threads=1).fit(small_data)
    np.testing.assert_allclose(hogwild.implicit_factors_, exact.implicit_factors_, rtol=0, atol=1e-12)
    two = rk.SVDpp(**SMALL, schedule="hogwild", n_threads=2).fit(small_data)
    assert two.history_[-1]["train_rmse"] == pytest.approx(exact.history_[-1]["train_rmse"], rel=1e-2)


PARALLEL = {rk.SVD: {"schedule": "blocked", "n_blocks": 2}, rk.SVDpp: {"schedule": "hogwild", "n_threads": 1}}


def test_float32_parallel(cls, small_data):
    m64 = cls(**SMALL, **PARALLEL[cls], dtype="float64").fit(small_data)
    m32 = cls(**SMALL, **PARALLEL[cls], dtype="float32").fit(small_data)
    assert m32.user_factors_.dtype == np.float32 and m32.user_bias_.dtype == np.float32
    np.testing.assert_allclose(m32.user_factors_, m64.user_factors_, atol=1e-5)
    assert m32.predict(small_data.users[:5], small_data.items[:5]).dtype == np.float64


def test_callback_validation_and_history(cls, small_data):
    seen = []
    model = cls(**SMALL).fit(small_data, validation=small_data, callback=lambda e, m: seen.append((e, m)))
    assert [e for e, _ in seen] == [0, 1, 2] and all(m is model for _, m in seen)
    assert all("val_rmse" in h for h in model.history_)
    est = model.predict(small_data.users, small_data.items)
    assert model.history_[-1]["val_rmse"] == pytest.approx(np.sqrt(np.mean((est - small_data.ratings) ** 2)))


def test_verbose_progress_bar(cls, small_data):
    cls(**SMALL, verbose=True).fit(small_data, validation=small_data)


def test_partial_fit_continues_exactly(cls, small_data):
    full = cls(**{**SMALL, "n_epochs": 4}, **REPRODUCIBLE[cls]).fit(small_data)
    warm = cls(**{**SMALL, "n_epochs": 2}, **REPRODUCIBLE[cls]).fit(small_data).partial_fit(small_data, n_epochs=2)
    np.testing.assert_array_equal(warm.user_factors_, full.user_factors_)
    assert warm.epochs_done_ == 4 and len(warm.history_) == 4
    fresh = cls(**SMALL).partial_fit(small_data, n_epochs=2)
    assert fresh.epochs_done_ == 2
    other = rk.Dataset(["a", "b"], ["x", "y"], [1.0, 5.0])
    with pytest.raises(ValueError, match="same order"):
        warm.partial_fit(other)


def test_save_load_round_trip(cls, small_data, tmp_path):
    model = cls(**SMALL).fit(small_data)
    path = model.save(tmp_path / "model.npz")
    loaded = rk.load(path)
    assert type(loaded) is cls and loaded.get_params() == model.get_params()
    users, items = small_data.users[:30], small_data.items[:30]
    np.testing.assert_array_equal(loaded.predict(users, items), model.predict(users, items))
    np.testing.assert_array_equal(loaded.recommend(small_data.user_ids[:2], 3)[0], model.recommend(small_data.user_ids[:2], 3)[0])
    assert loaded.history_ == model.history_


def test_random_state_kinds(small_data):
    a = rk.SVD(**{**SMALL, "random_state": np.random.RandomState(0)}).fit(small_data)
    b = rk.SVD(**SMALL).fit(small_data)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)  # an int seeds a RandomState
    rk.SVD(**{**SMALL, "random_state": np.random.default_rng(0)}).fit(small_data)


def test_overrides_and_clone(small_data):
    model = rk.SVDpp(lr_all=0.01, reg_yj=0.5, lr_bu=0.0)
    lr, reg = model._rates()
    assert lr.tolist() == [0.0, 0.01, 0.01, 0.01, 0.01] and reg.tolist() == [0.02] * 4 + [0.5]
    model.fit(small_data)
    assert not model.user_bias_.any()  # lr_bu = 0 freezes the user biases
    assert rk.clone(model).get_params() == model.get_params()
    assert model.set_params(n_factors=3).n_factors == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"n_factors": 0}, "n_factors must be an integer >= 1"),
    ({"n_factors": 2.5}, "n_factors must be an integer"),
    ({"n_epochs": 0}, "n_epochs must be an integer >= 1"),
    ({"lr_all": -0.1}, "lr_all must be a finite number >= 0"),
    ({"lr_qi": -1}, "lr_qi must be a finite number >= 0"),
    ({"reg_all": -0.02}, "reg_all must be a finite number >= 0"),
    ({"reg_bu": float("nan")}, "reg_bu must be a finite number >= 0"),
    ({"init_std_dev": -0.1}, "init_std_dev must be a finite number >= 0"),
    ({"init_std_dev": float("inf")}, "init_std_dev must be a finite number >= 0"),
    ({"init_mean": float("nan")}, "init_mean must be a finite number"),
    ({"schedule": "racy"}, "schedule='racy' is not a known option"),
    ({"dtype": "float16"}, "dtype='float16' is not a known option"),
    ({"dtype": "float32", "schedule": "exact"}, "dtype='float32' needs schedule='(blocked|hogwild)'"),
])
def test_bad_options(cls, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cls(**kwargs)


def test_defaults_are_the_parallel_float32_schedules(cls, small_data):
    """rk.SVD() / rk.SVDpp() get the fast kernels; exact is float64; dtype overrides either."""
    default = cls(**SMALL).fit(small_data)
    assert default.schedule == ("blocked" if cls is rk.SVD else "hogwild") and default.dtype is None
    assert default.user_factors_.dtype == np.float32 and default.item_bias_.dtype == np.float32
    assert cls(**SMALL, **EXACT).fit(small_data).user_factors_.dtype == np.float64
    assert cls(**SMALL, dtype="float64").fit(small_data).user_factors_.dtype == np.float64
    assert cls(**SMALL).get_params()["dtype"] is None


def test_schedules_belong_to_their_model():
    with pytest.raises(ValueError, match="schedule='hogwild' is not a known option"):
        rk.SVD(schedule="hogwild")
    with pytest.raises(ValueError, match="schedule='blocked' is not a known option"):
        rk.SVDpp(schedule="blocked")
    with pytest.raises(ValueError, match="n_blocks must be an integer >= 1"):
        rk.SVD(n_blocks=0)


def test_bad_fit_arguments(small_data):
    with pytest.raises(TypeError, match="biased must be True or False"):
        rk.SVD(biased="yes")
    with pytest.raises(TypeError, match="validation must be a reckernels.Dataset"):
        rk.SVD(**SMALL).fit(small_data, validation=[1, 2])
    with pytest.raises(TypeError, match="callback must be callable"):
        rk.SVD(**SMALL).fit(small_data, callback=3)
    with pytest.raises(ValueError, match="n_epochs must be an integer >= 1"):
        rk.SVD(**SMALL).partial_fit(small_data, n_epochs=0)
    with pytest.raises(rk.NotFittedError):
        rk.SVD().predict([1], [2])


def test_cuda_estimators_match_the_cpu(small_data):
    """The estimators' cuda path (under the simulator here): tiny grid and one updater."""
    from reckernels import backends

    if not backends.is_available("cuda"):
        pytest.skip("no cuda backend (numba-cuda missing)")
    tiny = small_data.subset(np.arange(60))
    kwargs = {"n_factors": 3, "n_epochs": 1, "random_state": 0}
    gpu = rk.SVD(**kwargs, schedule="blocked", n_blocks=2, dtype="float64", backend="cuda").fit(tiny)
    cpu = rk.SVD(**kwargs, schedule="blocked", n_blocks=2, dtype="float64", backend="reference").fit(tiny)
    np.testing.assert_allclose(gpu.user_factors_, cpu.user_factors_, rtol=0, atol=1e-12)
    gpu = rk.SVDpp(**kwargs, schedule="hogwild", dtype="float64", n_threads=1, backend="cuda").fit(tiny)
    cpu = rk.SVDpp(**kwargs, **EXACT, backend="reference").fit(tiny)
    np.testing.assert_allclose(gpu.implicit_factors_, cpu.implicit_factors_, rtol=0, atol=1e-12)
