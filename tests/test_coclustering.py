"""CoClustering and NormalPredictor: scikit-surprise's numbers, the estimator contract, bad input."""

import numpy as np
import pytest

import reckernels as rk
from reckernels import CoClustering, Dataset, NormalPredictor

from .conftest import ML100K, needs_ml100k


def _read_split(name):
    a = np.loadtxt(ML100K / name, dtype=str)
    return a[:, 0], a[:, 1], a[:, 2].astype(float)


@needs_ml100k()
def test_coclustering_equals_scikit_surprise_on_movielens_100k():
    surprise = pytest.importorskip("surprise")
    reader = surprise.Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
    trainset = surprise.Dataset.load_from_file(str(ML100K / "u1.base"), reader).build_full_trainset()
    theirs = surprise.CoClustering(random_state=0).fit(trainset)
    tu, ti, tr = _read_split("u1.base")
    su, si, _ = _read_split("u1.test")
    su = np.append(su, ["1", "99999", "99999"])
    si = np.append(si, ["99999", "1", "99998"])
    expected = np.array([theirs.predict(u, i).est for u, i in zip(su, si)])
    train = Dataset(tu, ti, tr, rating_scale=(1, 5))  # inner ids in first-seen order, as in a Trainset
    for backend in ("cython", "numba"):
        ours = CoClustering(random_state=0, backend=backend, n_threads=2).fit(train)
        np.testing.assert_array_equal(ours.user_clusters_, theirs.cltr_u)
        np.testing.assert_array_equal(ours.item_clusters_, theirs.cltr_i)
        np.testing.assert_array_equal(ours.cocluster_means_, theirs.avg_cocltr)
        np.testing.assert_allclose(ours.predict(su, si), expected, rtol=0, atol=1e-9, err_msg=backend)


def test_reference_equals_compiled(small_data):
    want = CoClustering(n_epochs=3, random_state=1, backend="reference").fit(small_data)
    got = CoClustering(n_epochs=3, random_state=1, backend="cython", n_threads=2).fit(small_data)
    for name in ("user_clusters_", "item_clusters_", "user_cluster_means_", "item_cluster_means_",
                 "cocluster_means_", "user_means_", "item_means_"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert got.moved_ == want.moved_


def test_random_state_rules(small_data):
    a = CoClustering(random_state=3).fit(small_data)
    b = CoClustering(random_state=np.random.RandomState(3)).fit(small_data)
    np.testing.assert_array_equal(a.user_clusters_, b.user_clusters_)
    np.random.seed(3)  # None: NumPy's global RandomState, as scikit-surprise
    c = CoClustering(random_state=None).fit(small_data)
    np.testing.assert_array_equal(a.item_clusters_, c.item_clusters_)
    g = CoClustering(random_state=np.random.default_rng(3)).fit(small_data)  # a Generator works too
    assert g.user_clusters_.max() < 3


def test_unknown_ids_get_the_global_mean(small_data):
    algo = CoClustering(random_state=0).fit(small_data)
    u0, i0 = small_data.user_ids[0], small_data.item_ids[0]
    est, impossible = algo.predict([u0, "nobody", u0, "nobody"], [i0, i0, "nothing", "nothing"],
                                   clip=False, return_impossible=True)
    assert np.all(est[1:] == small_data.global_mean)
    assert impossible.tolist() == [False, True, True, True]


def test_predictions_clip_and_recommend_ranks_the_estimates(small_data):
    algo = CoClustering(random_state=0, n_cltr_u=5, n_cltr_i=5).fit(small_data)
    users = small_data.user_ids[:4]
    est = algo.predict(np.repeat(users, small_data.n_items), np.tile(small_data.item_ids, 4), clip=False)
    assert np.all(algo.predict(np.repeat(users, small_data.n_items), np.tile(small_data.item_ids, 4)) <= 5)
    ids, scores = algo.recommend(users, k=5, exclude_seen=False)
    best = est.reshape(4, -1).max(axis=1)
    np.testing.assert_allclose(scores[:, 0], best, rtol=0, atol=1e-12)


def test_empty_clusters_average_to_the_global_mean():
    d = Dataset([1, 2], [1, 1], [2.0, 4.0])
    algo = CoClustering(n_cltr_u=6, n_cltr_i=4, random_state=0).fit(d)
    used_u = set(algo.user_clusters_.tolist())
    for cu in range(6):
        if cu not in used_u:
            assert algo.user_cluster_means_[cu] == d.global_mean
    assert np.isfinite(algo.cocluster_means_).all()


def test_callback_verbose_save_and_load(small_data, tmp_path, capsys):
    seen = []
    algo = CoClustering(n_epochs=4, random_state=0, verbose=True).fit(small_data,
                                                                      callback=lambda e, m: seen.append(e))
    assert seen == [0, 1, 2, 3] and len(algo.moved_) == 4
    path = algo.save(tmp_path / "cc.npz")
    same = rk.load(path)
    u, i = small_data.users[:50], small_data.items[:50]
    np.testing.assert_array_equal(same.predict(u, i), algo.predict(u, i))
    assert same.get_params() == {**algo.get_params(), "random_state": 0}


@pytest.mark.parametrize("kwargs, match", [
    ({"n_cltr_u": 0}, "n_cltr_u"), ({"n_cltr_i": 0}, "n_cltr_i"), ({"n_epochs": 0}, "n_epochs"),
    ({"n_cltr_u": 2.5}, "n_cltr_u"), ({"n_cltr_i": True}, "n_cltr_i"), ({"n_epochs": "3"}, "n_epochs"),
    ({"backend": "gpu"}, "backend"), ({"n_threads": 0}, "n_threads"), ({"random_state": "seed"}, "random_state"),
])
def test_bad_coclustering_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        CoClustering(**kwargs)


def test_bad_callback_and_data(small_data):
    with pytest.raises(TypeError, match="callback"):
        CoClustering().fit(small_data, callback=3)
    with pytest.raises(TypeError, match="Dataset"):
        CoClustering().fit([(1, 2, 3.0)])
    with pytest.raises(rk.NotFittedError):
        CoClustering().predict([1], [1])


# ---------------------------------------------------------------- NormalPredictor
def test_normal_predictor_moments_and_reproducibility(small_data):
    algo = NormalPredictor(random_state=7).fit(small_data)
    r = small_data.csr.data
    assert algo.mu_ == small_data.global_mean
    assert algo.sigma_ == np.sqrt(sum((x - algo.mu_) ** 2 for x in r.tolist()) / len(r))
    u = np.repeat(small_data.user_ids[:1], 20000)
    i = np.repeat(small_data.item_ids[:1], 20000)
    a = algo.predict(u, i, clip=False)
    assert abs(a.mean() - algo.mu_) < 4 * algo.sigma_ / np.sqrt(len(a))
    assert abs(a.std() - algo.sigma_) < 0.03 * algo.sigma_
    # the stream: one RandomState(7) normal per pair, in order; refitting restarts it
    np.testing.assert_array_equal(a, np.random.RandomState(7).normal(algo.mu_, algo.sigma_, len(a)))
    b = NormalPredictor(random_state=7).fit(small_data).predict(u, i, clip=False)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(algo.predict(u, i, clip=False), a)  # the stream goes on
    assert np.all((algo.predict(u, i) >= 1) & (algo.predict(u, i) <= 5))


def test_normal_predictor_global_rng_recommend_and_save(small_data, tmp_path):
    np.random.seed(11)
    algo = NormalPredictor().fit(small_data)
    x = algo.predict(small_data.users[:5], small_data.items[:5], clip=False)
    np.random.seed(11)
    np.testing.assert_array_equal(x, np.random.normal(small_data.global_mean, algo.sigma_, 5))
    assert algo.sigma_ == pytest.approx(np.std(small_data.csr.data), rel=1e-12)
    algo = NormalPredictor(random_state=2).fit(small_data)
    ids, scores = algo.recommend(small_data.user_ids[:3], k=4)
    assert ids.shape == (3, 4) and np.all(np.diff(scores, axis=1) <= 0)
    same = rk.load(algo.save(tmp_path / "np.npz"))
    assert (same.mu_, same.sigma_) == (algo.mu_, algo.sigma_)
    fresh = NormalPredictor(random_state=2).fit(small_data)
    u, i = small_data.users[:9], small_data.items[:9]
    np.testing.assert_array_equal(same.predict(u, i), fresh.predict(u, i))  # loading restarts the stream


@pytest.mark.parametrize("backend", ["reference", "cython", "numba"])
def test_normal_predictor_sigma_is_the_same_in_every_backend(small_data, backend):
    assert NormalPredictor(backend=backend).fit(small_data).sigma_ == NormalPredictor(
        backend="reference").fit(small_data).sigma_


@pytest.mark.parametrize("kwargs, match", [({"backend": "x"}, "backend"), ({"n_threads": -3}, "n_threads"),
                                           ({"random_state": 1.5}, "random_state")])
def test_bad_normal_predictor_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        NormalPredictor(**kwargs)


@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_every_backend_fits_the_same_model(backend):
    from reckernels import backends

    if not backends.is_available(backend):
        pytest.skip(f"backend {backend!r} is not available here")
    rng = np.random.default_rng(5)  # tiny: the CUDA simulator runs ~1e4 threads per second
    keys = rng.choice(12 * 9, size=50, replace=False)
    d = Dataset(keys // 9, keys % 9, rng.integers(2, 11, 50) / 2.0, rating_scale=(1, 5))
    want = CoClustering(n_cltr_u=3, n_cltr_i=2, n_epochs=2, random_state=4, backend="reference").fit(d)
    got = CoClustering(n_cltr_u=3, n_cltr_i=2, n_epochs=2, random_state=4, backend=backend).fit(d)
    np.testing.assert_array_equal(got.user_clusters_, want.user_clusters_)
    np.testing.assert_array_equal(got.item_clusters_, want.item_clusters_)
    np.testing.assert_array_equal(got.predict(d.users, d.items), want.predict(d.users, d.items))
    assert NormalPredictor(backend=backend).fit(d).sigma_ == pytest.approx(
        NormalPredictor(backend="reference").fit(d).sigma_, rel=1e-12)
