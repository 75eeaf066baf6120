"""The NMF estimator: fit/predict/recommend, cold start, callbacks, warm starts, saving, bad input."""

import numpy as np
import pytest

import reckernels as rk

SMALL = {"n_factors": 4, "n_epochs": 5, "random_state": 0}


@pytest.mark.parametrize("biased", [False, True])
def test_fit_predict_recommend(small_data, biased):
    model = rk.NMF(**SMALL, biased=biased).fit(small_data)
    est = model.predict(small_data.users[:20], small_data.items[:20])
    assert est.shape == (20,) and np.all((est >= 1) & (est <= 5))
    assert model.user_factors_.shape == (small_data.n_users, 4) and model.item_factors_.shape == (small_data.n_items, 4)
    assert (model.user_factors_ >= 0).all() and (model.item_factors_ >= 0).all()
    assert model.user_bias_.any() == biased and model.item_bias_.any() == biased
    ids, scores = model.recommend(small_data.user_ids[:3], k=4)
    assert ids.shape == (3, 4) and np.all(np.diff(scores, axis=1) <= 0)
    assert len(model.history_) == 5 and model.history_[-1]["train_rmse"] < model.history_[0]["train_rmse"]


def test_estimate_formula_and_initialisation(small_data):
    model = rk.NMF(**SMALL, biased=True).fit(small_data)
    u, i = model.user_map_.to_inner(small_data.users[:9]), model.item_map_.to_inner(small_data.items[:9])
    want = (small_data.global_mean + model.user_bias_[u] + model.item_bias_[i]
            + np.einsum("ij,ij->i", model.user_factors_[u], model.item_factors_[i]))
    np.testing.assert_allclose(model.predict(small_data.users[:9], small_data.items[:9], clip=False), want, atol=1e-12)
    # factors start uniform in [init_low, init_high), users first, then items, from RandomState(seed)
    start = rk.NMF(n_factors=3, n_epochs=1, init_low=0.2, init_high=0.7, random_state=5)
    start._initialise(small_data, np.random.RandomState(5))
    rng = np.random.RandomState(5)
    np.testing.assert_array_equal(start.user_factors_, rng.uniform(0.2, 0.7, (small_data.n_users, 3)))
    np.testing.assert_array_equal(start.item_factors_, rng.uniform(0.2, 0.7, (small_data.n_items, 3)))


def test_unknown_ids(small_data):
    unbiased = rk.NMF(**SMALL).fit(small_data)
    est, impossible = unbiased.predict(["nobody", small_data.user_ids[0]], [small_data.item_ids[0], "nothing"],
                                       return_impossible=True)
    assert impossible.all()
    np.testing.assert_allclose(est, small_data.global_mean)
    biased = rk.NMF(**SMALL, biased=True).fit(small_data)
    est, impossible = biased.predict(["nobody"], [small_data.item_ids[0]], clip=False, return_impossible=True)
    assert not impossible.any()
    inner = biased.item_map_.to_inner(np.array([small_data.item_ids[0]]))[0]
    assert est[0] == pytest.approx(small_data.global_mean + biased.item_bias_[inner])


def test_scores_equal_unclipped_predictions(small_data):
    for biased in (False, True):
        model = rk.NMF(**SMALL, biased=biased).fit(small_data)
        users = np.array([small_data.user_ids[0], "nobody"])
        scores = model._score(model.user_map_.to_inner(users))
        for row, user in enumerate(users):
            est = model.predict(np.repeat(user, small_data.n_items), small_data.item_ids, clip=False)
            np.testing.assert_allclose(scores[row], est, rtol=0, atol=1e-12)


@pytest.mark.parametrize("biased", [False, True])
def test_backends_and_threads_agree(small_data, biased):
    ref = rk.NMF(**SMALL, biased=biased, backend="reference").fit(small_data)
    for backend, threads in (("cython", 1), ("cython", 2), ("numba", 2)):
        if not rk.available_backends().get(backend):
            continue
        got = rk.NMF(**SMALL, biased=biased, backend=backend, n_threads=threads).fit(small_data)
        for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
            np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=0, atol=1e-12)


def test_cuda_estimator_matches_the_cpu(small_data):
    from reckernels import backends

    if not backends.is_available("cuda"):
        pytest.skip("no cuda backend (numba-cuda missing)")
    tiny = small_data.subset(np.arange(40))
    for biased in (False, True):
        gpu = rk.NMF(n_factors=2, n_epochs=1, random_state=0, biased=biased, backend="cuda").fit(tiny)
        cpu = rk.NMF(n_factors=2, n_epochs=1, random_state=0, biased=biased, backend="reference").fit(tiny)
        np.testing.assert_allclose(gpu.user_factors_, cpu.user_factors_, rtol=0, atol=1e-12)
        np.testing.assert_allclose(gpu.item_bias_, cpu.item_bias_, rtol=0, atol=1e-12)


def test_callback_history_partial_fit(small_data):
    seen = []
    model = rk.NMF(**SMALL).fit(small_data, validation=small_data, callback=lambda e, m: seen.append(e))
    assert seen == [0, 1, 2, 3, 4] and all("val_rmse" in h for h in model.history_)
    full = rk.NMF(**{**SMALL, "n_epochs": 4}).fit(small_data)
    warm = rk.NMF(**{**SMALL, "n_epochs": 2}).fit(small_data).partial_fit(small_data, n_epochs=2)
    np.testing.assert_array_equal(warm.user_factors_, full.user_factors_)
    assert warm.epochs_done_ == 4
    rk.NMF(**SMALL, verbose=True).fit(small_data)


def test_save_load_and_params(small_data, tmp_path):
    model = rk.NMF(**SMALL, biased=True).fit(small_data)
    loaded = rk.load(model.save(tmp_path / "nmf.npz"))
    assert type(loaded) is rk.NMF and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(small_data.users[:30], small_data.items[:30]),
                                  model.predict(small_data.users[:30], small_data.items[:30]))
    assert rk.clone(model).get_params() == model.get_params()
    assert model.set_params(n_factors=3).n_factors == 3
    assert rk.get_algorithm("nmf") is rk.NMF
    defaults = rk.NMF().get_params()
    assert {k: defaults[k] for k in ("n_factors", "n_epochs", "biased", "reg_pu", "reg_qi", "reg_bu", "reg_bi",
                                     "lr_bu", "lr_bi", "init_low", "init_high")} == {
        "n_factors": 15, "n_epochs": 50, "biased": False, "reg_pu": 0.06, "reg_qi": 0.06, "reg_bu": 0.02,
        "reg_bi": 0.02, "lr_bu": 0.005, "lr_bi": 0.005, "init_low": 0.0, "init_high": 1.0}


@pytest.mark.parametrize("kwargs, match", [
    ({"n_factors": 0}, "n_factors must be an integer >= 1"),
    ({"n_epochs": 0}, "n_epochs must be an integer >= 1"),
    ({"reg_pu": -0.1}, "reg_pu must be a finite number >= 0"),
    ({"reg_qi": float("nan")}, "reg_qi must be a finite number >= 0"),
    ({"reg_bu": -1}, "reg_bu must be a finite number >= 0"),
    ({"reg_bi": -1}, "reg_bi must be a finite number >= 0"),
    ({"lr_bu": -0.005}, "lr_bu must be a finite number >= 0"),
    ({"lr_bi": -0.005}, "lr_bi must be a finite number >= 0"),
    ({"init_low": -0.5}, "init_low must be >= 0"),
    ({"init_low": 0.8, "init_high": 0.2}, r"init_low \(0.8\) must not exceed init_high \(0.2\)"),
    ({"init_high": float("inf")}, "init_high must be a finite number"),
    ({"biased": "yes"}, "biased must be True or False"),
    ({"backend": "gpu"}, "backend='gpu' is not a known"),
])
def test_bad_options(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        rk.NMF(**kwargs)


def test_negative_ratings_are_refused_with_the_fix():
    data = rk.Dataset(["a", "a", "b"], ["x", "y", "x"], [-2.0, 3.0, 1.0], rating_scale=(-5, 5))
    with pytest.raises(ValueError, match=r"non-negative ratings.*down to -2.*add 2 to every rating.*or use SVD"):
        rk.NMF(n_epochs=1).fit(data)
    rk.NMF(n_epochs=2, random_state=0).fit(rk.Dataset(["a", "b"], ["x", "x"], [0.0, 2.0]))  # zeros are fine
