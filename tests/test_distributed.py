"""reckernels.distributed on a two-process LocalCluster: the same numbers as the local functions.

One cluster (two worker processes, one thread each) serves the module; a test that kills a
worker gets a cluster of its own.
"""

import os
import pickle
import signal

import numpy as np
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import reckernels as rk  # noqa: E402
import reckernels.distributed as rkd  # noqa: E402
from reckernels.split import KFold  # noqa: E402


def _cluster():
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                    silence_logs=40)


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    return rk.datasets.make_ratings(200, 150, 4000, random_state=1)


@pytest.fixture(scope="module")
def frame(data):
    return data.to_pandas()


def test_no_client_is_a_clear_error():  # first in the file: before the module's client exists
    try:
        distributed.get_client()
    except ValueError:
        with pytest.raises(ValueError, match="no Dask client"):
            rkd.cross_validate(rk.BaselineOnly(), rk.datasets.make_ratings(20, 10, 100, random_state=0))
    else:  # pragma: no cover - a client from another test is still the default
        pytest.skip("a default Dask client exists in this process")


def test_cross_validate_equals_the_local_run(client, data):
    for cv, rs in ((3, 0), (KFold(3, random_state=5), None)):
        local = rk.evaluation.cross_validate(rk.BaselineOnly(), data, cv=cv, random_state=rs)
        dist = rkd.cross_validate(rk.BaselineOnly(), data, cv=cv, client=client, random_state=rs)
        assert set(local) == set(dist)
        np.testing.assert_array_equal(dist["test_rmse"], local["test_rmse"])
        np.testing.assert_array_equal(dist["test_mae"], local["test_mae"])


def test_cross_validate_takes_explicit_folds(client, data):
    folds = list(KFold(2, random_state=3).split(data))
    local = rk.evaluation.cross_validate(rk.SVD(n_epochs=2, schedule="exact", random_state=0), data, cv=folds)
    dist = rkd.cross_validate(rk.SVD(n_epochs=2, schedule="exact", random_state=0), data, cv=folds, client=client,
                              return_train_measures=True)
    np.testing.assert_array_equal(dist["test_rmse"], local["test_rmse"])
    assert "train_rmse" in dist


def test_grid_search_scores_every_candidate_as_a_local_run(client, data):
    base = rk.SVD(n_epochs=2, schedule="exact", random_state=0)
    grid = {"n_factors": [4, 8], "reg_all": [0.02, 0.1]}
    out = rkd.grid_search(base, grid, data, cv=3, client=client, random_state=0)
    assert len(out["params"]) == 4
    for k, cand in enumerate(out["params"]):
        local = rk.evaluation.cross_validate(rk.clone(base).set_params(**cand), data, cv=3, random_state=0)
        np.testing.assert_array_equal([out["cv_results"][f"split{f}_test_rmse"][k] for f in range(3)],
                                      local["test_rmse"])
    best = int(np.argmin(out["cv_results"]["mean_test_rmse"]))
    assert out["best_params"]["rmse"] == out["params"][best] and out["cv_results"]["rank_test_rmse"][best] == 1


def test_grid_search_refuses_unknown_parameters(client, data):
    with pytest.raises(ValueError, match="unknown parameter"):
        rkd.grid_search(rk.SVD(), {"n_factorz": [5]}, data, client=client)
    with pytest.raises(ValueError, match="non-empty list"):
        rkd.grid_search(rk.SVD(), {"n_factors": []}, data, client=client)


@pytest.mark.parametrize("make", [lambda: rk.ALS(n_factors=6, n_epochs=3, random_state=0),
                                  lambda: rk.ALS(n_factors=6, n_epochs=3, solver="cg", random_state=0),
                                  lambda: rk.ImplicitALS(n_factors=6, n_epochs=3, dtype="float64", random_state=0)],
                         ids=["als", "als-cg", "implicit-als"])
def test_als_on_the_cluster_equals_the_local_fit(client, data, frame, make):
    local = make().fit(data)
    for source in (data, dd.from_pandas(frame, npartitions=3)):
        model = rkd.fit(make(), source, client=client, n_blocks=3)
        np.testing.assert_array_equal(model.user_map_.raw_ids, local.user_map_.raw_ids)
        np.testing.assert_allclose(model.user_factors_, local.user_factors_, rtol=0, atol=1e-6)
        np.testing.assert_allclose(model.item_factors_, local.item_factors_, rtol=0, atol=1e-6)
        users, items = frame.user.to_numpy()[:100], frame.item.to_numpy()[::37][:100]
        np.testing.assert_allclose(model.predict(users, items), local.predict(users, items), rtol=0, atol=1e-6)
        ids, _ = model.recommend(users[:5], k=5)
        np.testing.assert_array_equal(ids, local.recommend(users[:5], k=5)[0])
        again = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(again.predict(users, items), model.predict(users, items))
        assert set(model.bytes_shipped_) == {"user", "item"} and len(model.history_) == 3


def test_als_fit_saves_and_loads(client, data, tmp_path):
    model = rkd.fit(rk.ALS(n_factors=4, n_epochs=2, random_state=0), data, client=client)
    same = rk.load(model.save(tmp_path / "als.npz"))
    np.testing.assert_array_equal(same.user_factors_, model.user_factors_)


@pytest.mark.parametrize("cls", [rk.ItemKNN, rk.UserKNN])
def test_knn_top_m_on_the_cluster_equals_the_local_one(client, data, frame, cls):
    local = cls(k=10, max_neighbors=15).fit(data)
    for source in (data, dd.from_pandas(frame, npartitions=2)):
        model = rkd.fit(cls(k=10, max_neighbors=15), source, client=client)
        np.testing.assert_array_equal(model.similarity_.idx, local.similarity_.idx)
        np.testing.assert_array_equal(model.similarity_.sim, local.similarity_.sim)
        users, items = frame.user.to_numpy()[:50], frame.item.to_numpy()[:50]
        np.testing.assert_array_equal(model.predict(users, items), local.predict(users, items))


def test_other_models_are_fitted_whole_on_a_worker(client, data, frame):
    make = lambda: rk.SVD(n_factors=5, n_epochs=2, schedule="exact", random_state=0)  # noqa: E731
    local = make().fit(data)
    for source in (data, dd.from_pandas(frame, npartitions=2)):
        model = rkd.fit(make(), source, client=client)
        np.testing.assert_array_equal(model.user_factors_, local.user_factors_)


def test_recommend_all_equals_recommend_and_writes_parquet(client, data, tmp_path):
    model = rk.ItemKNN(k=10).fit(data)
    frame = rkd.recommend_all(model, k=5, client=client, block_users=64)
    assert frame.npartitions == -(-data.n_users // 64)
    out = frame.compute()
    assert list(out.columns) == ["user", "rank", "item", "score"]
    ids, scores = model.recommend(data.user_ids, k=5)
    mine = out.sort_values(["user", "rank"], kind="stable")
    want = {(u, r + 1): (i, s) for u, row_i, row_s in zip(data.user_ids, ids, scores)
            for r, (i, s) in enumerate(zip(row_i, row_s)) if np.isfinite(s)}
    got = {(u, r): (i, s) for u, r, i, s in mine.itertuples(index=False)}
    assert got == want
    frame.to_parquet(tmp_path / "top5")
    assert len(list((tmp_path / "top5").glob("*.parquet"))) == frame.npartitions
    some = rkd.recommend_all(model, k=3, client=client, users=data.user_ids[:7]).compute()
    assert set(some.user) == set(data.user_ids[:7])


def test_bad_input_gets_clear_errors(client, data, frame):
    with pytest.raises(TypeError, match="Dataset or a dask.dataframe"):
        rkd.fit(rk.ALS(), frame, client=client)
    with pytest.raises(TypeError, match="reckernels estimator"):
        rkd.fit("als", data, client=client)
    with pytest.raises(KeyError, match="user_col"):
        rkd.fit(rk.ALS(), dd.from_pandas(frame, npartitions=2), client=client, user_col="who")
    twice = dd.from_pandas(frame.iloc[np.r_[0:50, 0:10]], npartitions=2)
    with pytest.raises(ValueError, match="repeated"):
        rkd.fit(rk.ALS(n_epochs=1), twice, client=client)
    bad = frame.copy()
    bad.loc[3, "rating"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rkd.fit(rk.ALS(n_epochs=1), dd.from_pandas(bad, npartitions=2), client=client)
    with pytest.raises(ValueError, match="callback"):
        rkd.fit(rk.SVD(), data, client=client, callback=lambda e, m: None)
    with pytest.raises(ValueError, match="ranking"):
        rkd.cross_validate(rk.ImplicitALS(), data, client=client)


def test_a_worker_killed_mid_fit_costs_one_half_sweep_and_the_result_is_unchanged(data):
    """Dask retries: the killed worker's blocks are recomputed from the broadcast data, the
    half-sweep is submitted again, and the fit ends with the local fit's factors."""
    local = rk.ALS(n_factors=5, n_epochs=4, random_state=0).fit(data)
    with _cluster() as cluster, distributed.Client(cluster) as c:
        pids = list(c.run(os.getpid).values())

        def kill_one(epoch, model):
            if epoch == 1:
                os.kill(pids[0], signal.SIGKILL)

        model = rkd.fit(rk.ALS(n_factors=5, n_epochs=4, random_state=0), data, client=c, callback=kill_one)
    np.testing.assert_allclose(model.user_factors_, local.user_factors_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.item_factors_, local.item_factors_, rtol=0, atol=1e-6)
