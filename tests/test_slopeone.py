"""rk.SlopeOne: the estimate's definition, storages and memory_limit, the estimator contract."""

import numpy as np
import pytest

import reckernels as rk
from reckernels import Dataset, SlopeOne
from reckernels.algorithms.slopeone import DENSE_BYTES_PER_PAIR


def _brute_force(ds, users, items):
    """The definition, straight from a dense rating matrix (NaN = not rated)."""
    r = np.full((ds.n_users, ds.n_items), np.nan)
    csr = ds.csr
    r[np.repeat(np.arange(ds.n_users), np.diff(csr.indptr)), csr.indices] = csr.data
    out = []
    for u, i in zip(ds.to_inner_users(users), ds.to_inner_items(items)):
        if u < 0 or i < 0:
            out.append(ds.global_mean)
            continue
        devs = []
        for j in np.flatnonzero(~np.isnan(r[u])):
            common = ~np.isnan(r[:, i]) & ~np.isnan(r[:, j])
            if common.any():
                devs.append(np.mean(r[common, i] - r[common, j]))
        out.append(np.nanmean(r[u]) + (np.mean(devs) if devs else 0.0))
    return np.clip(out, *ds.rating_scale)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
@pytest.mark.parametrize("backend", ["reference", "cython", "numba"])
def test_estimates_follow_the_definition(small_data, storage, backend):
    algo = SlopeOne(storage=storage, backend=backend).fit(small_data)
    assert algo.storage_ == storage
    users = np.append(small_data.user_ids[:15].repeat(3), ["nobody", small_data.user_ids[0]])
    items = np.append(np.tile(small_data.item_ids[:3], 15), [small_data.item_ids[0], "nothing"])
    est, impossible = algo.predict(users, items, return_impossible=True)
    np.testing.assert_allclose(est, _brute_force(small_data, users, items), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(impossible, np.r_[np.zeros(45, bool), True, True])


def test_memory_limit_picks_the_storage_and_both_agree():
    small_data = rk.datasets.make_ratings(30, 200, 400, random_state=1)  # sparse: few co-rated pairs
    n = small_data.n_items
    dense = SlopeOne().fit(small_data)
    assert dense.storage_ == "dense" and dense.dev_.shape == (n, n) and dense.freq_.dtype == np.int32
    sparse = SlopeOne(memory_limit=n * n * DENSE_BYTES_PER_PAIR - 1).fit(small_data)
    assert sparse.storage_ == "sparse" and sparse.nbytes_ < dense.nbytes_ / 3
    dev, freq = sparse.to_dense()
    np.testing.assert_array_equal(dev, dense.dev_)
    np.testing.assert_array_equal(freq, dense.freq_)
    u, i = np.meshgrid(small_data.user_ids, small_data.item_ids)
    np.testing.assert_array_equal(sparse.predict(u.ravel(), i.ravel()), dense.predict(u.ravel(), i.ravel()))


def test_auto_beyond_its_dense_threshold_takes_the_smaller_store(small_data, monkeypatch):
    import reckernels.algorithms.slopeone as so

    monkeypatch.setattr(so, "AUTO_DENSE_BYTES", 0)  # every dense store is "large": the count decides
    assert SlopeOne().fit(small_data).storage_ == "dense"  # every pair co-rated: dense is smaller
    assert SlopeOne().fit(rk.datasets.make_ratings(30, 200, 400, random_state=1)).storage_ == "sparse"


def test_large_predict_calls_group_pairs_by_item_without_changing_results(small_data):
    algo = SlopeOne().fit(small_data)
    rng = np.random.default_rng(0)
    users = np.append(rng.choice(small_data.user_ids, 6000), "nobody")
    items = np.append(rng.choice(np.append(small_data.item_ids, "nothing"), 6000), small_data.item_ids[0])
    est, imp = algo.predict(users, items, return_impossible=True)  # sorted by item inside
    parts = [algo.predict(users[k:k + 100], items[k:k + 100], return_impossible=True) for k in range(0, 6001, 100)]
    np.testing.assert_array_equal(est, np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(imp, np.concatenate([p[1] for p in parts]))


def test_memory_errors_name_the_bytes_and_the_fix(small_data):
    with pytest.raises(MemoryError, match="storage='dense' needs .* use storage='sparse'"):
        SlopeOne(storage="dense", memory_limit=1000).fit(small_data)
    with pytest.raises(MemoryError, match="storage='sparse' needs .*raise memory_limit"):
        SlopeOne(storage="sparse", memory_limit=1000).fit(small_data)
    with pytest.raises(MemoryError, match="to_dense"):
        SlopeOne(storage="sparse").fit(small_data).to_dense(memory_limit=100)


def test_truncate_ratings_is_scikit_surprises_int_cast():
    ds = Dataset(["a", "a", "b", "c"], ["x", "y", "y", "z"], [3.5, 2.0, 4.9, 1.0], rating_scale=(1, 5))
    real = SlopeOne().fit(ds)
    cast = SlopeOne(truncate_ratings=True).fit(ds)
    x, y = ds.to_inner_items(["x", "y"])
    assert real.dev_[x, y] == 1.5 and cast.dev_[x, y] == 1.0
    np.testing.assert_array_equal(real.user_mean_, cast.user_mean_)  # means use the real ratings
    assert cast.predict(["a"], ["y"])[0] == pytest.approx(2.75 - 0.5)


def test_recommend_ranks_by_the_predictions(small_data):
    algo = SlopeOne().fit(small_data)
    users = small_data.user_ids[:4]
    ids, scores = algo.recommend(users, k=5)
    for u, row_ids, row_scores in zip(users, ids, scores):
        np.testing.assert_array_equal(algo.predict([u] * 5, row_ids), row_scores)
        seen = set(small_data.items[small_data.users == u])
        assert not set(row_ids) & seen
    assert np.all(np.diff(scores, axis=1) <= 0)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_save_load_round_trip(small_data, tmp_path, storage):
    algo = SlopeOne(storage=storage, n_threads=1).fit(small_data)
    path = algo.save(tmp_path / "so")
    back = rk.load(path)
    assert isinstance(back, SlopeOne) and back.storage_ == storage and back.get_params() == algo.get_params()
    u, i = small_data.user_ids[:20], small_data.item_ids[:20]
    np.testing.assert_array_equal(back.predict(u, i), algo.predict(u, i))


def test_params_registry_and_determinism(small_data):
    algo = SlopeOne(storage="sparse", random_state=3)
    assert algo.get_params() == {"storage": "sparse", "memory_limit": None, "truncate_ratings": False,
                                 "backend": "auto", "n_threads": None, "random_state": 3, "verbose": False}
    assert rk.get_algorithm("slopeone") is SlopeOne
    a = algo.fit(small_data).predict(small_data.user_ids[:9], small_data.item_ids[:9])
    b = rk.clone(algo).set_params(random_state=99).fit(small_data).predict(small_data.user_ids[:9],
                                                                          small_data.item_ids[:9])
    np.testing.assert_array_equal(a, b)  # deterministic: random_state changes nothing


def test_verbose_shows_a_progress_bar(small_data, capsys):
    SlopeOne(storage="sparse", verbose=True).fit(small_data)
    assert "SlopeOne deviations" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"storage": "topm"}, ValueError, "storage"),
    ({"memory_limit": 0}, ValueError, "memory_limit"),
    ({"truncate_ratings": "yes"}, TypeError, "truncate_ratings"),
    ({"backend": "gpu"}, ValueError, "backend"),
    ({"n_threads": 0}, ValueError, "n_threads"),
])
def test_bad_arguments_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SlopeOne(**kwargs)


def test_predict_before_fit_says_so():
    with pytest.raises(rk.NotFittedError, match="fit"):
        SlopeOne().predict(["a"], ["b"])
