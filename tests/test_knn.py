"""UserKNN / ItemKNN: the estimator API, recommend, neighbours, save/load and argument errors."""

import numpy as np
import pytest

import reckernels as rk
from reckernels.algorithms.knn import CODE_POSSIBLE, CODE_TOO_FEW, CODE_UNKNOWN, ItemKNN, UserKNN
from reckernels.similarity import compute_similarity

from .conftest import ML100K, needs_ml100k

CLASSES = [UserKNN, ItemKNN]


@pytest.fixture(scope="module")
def data():
    """Integer ratings on 60 users x 40 items, every user with at least 5 ratings."""
    r = np.random.default_rng(11)
    n_users, n_items = 60, 40
    keys = r.choice(n_users * n_items, size=900, replace=False)
    users, items = keys // n_items, keys % n_items
    users = np.concatenate([np.repeat(np.arange(n_users), 5), users])
    items = np.concatenate([r.integers(0, n_items, 5 * n_users), items])
    ratings = r.integers(1, 6, len(users)).astype(float)
    return rk.Dataset(users, items, ratings, rating_scale=(1, 5), duplicates="first")


def ranking_by_predict(model, data, raw_user, k):
    """The top-k computed the slow way: every item's unclipped estimate, seen ones dropped."""
    u = data.to_inner_users([raw_user])[0]
    items = np.arange(data.n_items)
    d = model._details_inner(np.full(data.n_items, u, np.int32), items.astype(np.int32))
    seen = set(data.csr.row(u)[0].tolist()) if u >= 0 else set()
    order = sorted((i for i in items if i not in seen), key=lambda i: (-d.est[i], i))[:k]
    return data.item_ids[order], d.est[order]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("center", ["none", "mean", "zscore", "baseline"])
def test_recommend_equals_ranking_of_predictions(data, cls, center):
    model = cls(k=5, sim="pearson", center=center, backend="cython").fit(data)
    users = data.user_ids[:8]
    ids, scores = model.recommend(users, k=7)
    assert ids.shape == scores.shape == (8, 7)
    for row, raw in enumerate(users):
        want_ids, want_scores = ranking_by_predict(model, data, raw, 7)
        np.testing.assert_array_equal(ids[row], want_ids)
        np.testing.assert_array_equal(scores[row], want_scores)


def test_recommend_ties_by_inner_id_and_padding():
    """KNNBasic on all-equal ratings: every score is 3, so the order is the inner item order."""
    users = np.array([0, 0, 1, 1, 2, 2, 2])
    items = np.array([10, 11, 11, 12, 10, 12, 13])
    data = rk.Dataset(users, items, np.full(7, 3.0), rating_scale=(1, 5))
    model = ItemKNN(k=3, sim="cosine", center="none").fit(data)
    ids, scores = model.recommend([0, 1, 2, 99], k=4)
    np.testing.assert_array_equal(ids[0], [12, 13, -1, -1])
    np.testing.assert_array_equal(scores[0], [3.0, 3.0, -np.inf, -np.inf])
    np.testing.assert_array_equal(ids[2], [11, -1, -1, -1])
    np.testing.assert_array_equal(ids[3], [10, 11, 12, 13])  # unknown user: global mean for every item
    again, _ = model.recommend([0, 1, 2, 99], k=4)
    np.testing.assert_array_equal(ids, again)


@pytest.mark.parametrize("cls", CLASSES)
def test_predict_details_and_unknown_ids(data, cls):
    model = cls(k=4, min_k=2, sim="msd", center="mean").fit(data)
    users = np.concatenate([data.users[:30], ["nobody"]]) if data.users.dtype.kind == "U" else \
        np.concatenate([data.users[:30], [10_000]])
    items = np.concatenate([data.items[:30], data.items[:1]])
    d = model.predict_details(users, items)
    assert d.est.shape == d.actual_k.shape == d.code.shape == (31,)
    assert d.code[-1] == CODE_UNKNOWN and d.actual_k[-1] == 0
    assert d.est[-1] == pytest.approx(data.global_mean)
    assert set(np.unique(d.code[:-1])) <= {CODE_POSSIBLE, CODE_TOO_FEW}
    assert (d.actual_k[:-1] <= 4).all()
    assert ((d.code[:-1] == CODE_TOO_FEW) == (d.actual_k[:-1] < 2)).all()
    est, impossible = model.predict(users, items, return_impossible=True)
    np.testing.assert_array_equal(est, d.est)
    np.testing.assert_array_equal(impossible, d.code != CODE_POSSIBLE)
    assert ((est >= 1) & (est <= 5)).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_backends_agree(data, cls):
    users, items = data.users[::7], data.items[::7]
    ref = cls(k=6, sim="pearson_baseline", center="baseline", backend="reference").fit(data)
    for backend in ("cython", "numba"):
        other = cls(k=6, sim="pearson_baseline", center="baseline", backend=backend).fit(data)
        np.testing.assert_allclose(other.predict(users, items), ref.predict(users, items), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(other.recommend(data.user_ids[:5], 5)[0], ref.recommend(data.user_ids[:5], 5)[0])


@pytest.mark.parametrize("cls", CLASSES)
def test_topm_with_every_neighbour_equals_dense(data, cls):
    """Top-M keeps every nonzero similarity when M >= n - 1: unrated pairs then predict the same."""
    dense = cls(k=10, sim="cosine", storage="dense").fit(data)
    n = data.n_users if cls is UserKNN else data.n_items
    topm = cls(k=10, sim="cosine", max_neighbors=n - 1).fit(data)
    assert topm.similarity_.storage == "topm"
    rated = set(zip(data.inner_users.tolist(), data.inner_items.tolist()))
    pairs = [(u, i) for u in range(0, data.n_users, 3) for i in range(data.n_items) if (u, i) not in rated]
    u, i = (np.array(x) for x in zip(*pairs))
    np.testing.assert_allclose(topm.predict(data.user_ids[u], data.item_ids[i]),
                               dense.predict(data.user_ids[u], data.item_ids[i]), rtol=0, atol=1e-12)


def test_adjusted_cosine_is_cosine_of_user_centred_ratings(data):
    model = ItemKNN(sim="adjusted_cosine", storage="dense").fit(data)
    csr = data.csr
    user_means = np.add.reduceat(csr.data, csr.indptr[:-1]) / np.diff(csr.indptr)
    dense = np.zeros((data.n_users, data.n_items))
    dense[data.inner_users, data.inner_items] = data.ratings - user_means[data.inner_users]
    rated = np.zeros_like(dense, dtype=bool)
    rated[data.inner_users, data.inner_items] = True
    a, b = 3, 7
    both = rated[:, a] & rated[:, b]
    x, y = dense[both, a], dense[both, b]
    assert model.similarity_.dense[a, b] == pytest.approx(x @ y / np.sqrt((x @ x) * (y @ y)), abs=1e-12)


def test_zscore_with_all_equal_ratings_is_finite():
    data = rk.Dataset([0, 0, 1, 1, 2], [0, 1, 0, 1, 1], np.full(5, 4.0), rating_scale=(1, 5))
    for cls in CLASSES:
        est = cls(sim="msd", center="zscore").fit(data).predict([0, 1, 2], [1, 1, 0])
        np.testing.assert_array_equal(est, [4.0, 4.0, 4.0])


@pytest.mark.parametrize("storage", ["dense", "topm"])
@pytest.mark.parametrize("cls", CLASSES)
def test_save_load_round_trip(data, tmp_path, cls, storage):
    kw = {"max_neighbors": 8} if storage == "topm" else {"storage": "dense"}
    model = cls(k=5, sim="pearson", center="zscore", dtype=np.float32, **kw).fit(data)
    path = model.save(tmp_path / "knn.npz")
    same = rk.load(path)
    assert type(same) is cls and same.similarity_.storage == storage
    users, items = data.users[::5], data.items[::5]
    np.testing.assert_array_equal(same.predict(users, items), model.predict(users, items))
    for a, b in zip(same.recommend(data.user_ids[:6], 4), model.recommend(data.user_ids[:6], 4)):
        np.testing.assert_array_equal(a, b)
    near = same.similar_users if cls is UserKNN else same.similar_items
    ids = data.user_ids[:3] if cls is UserKNN else data.item_ids[:3]
    for a, b in zip(near(ids, 4), (model.similar_users if cls is UserKNN else model.similar_items)(ids, 4)):
        np.testing.assert_array_equal(a, b)


def test_similar_items_and_users(data):
    item_model = ItemKNN(sim="pearson", storage="dense").fit(data)
    ids, sims = item_model.similar_items(data.item_ids[:2], k=5)
    assert ids.shape == sims.shape == (2, 5)
    inner = data.to_inner_items(data.item_ids[0])[0]
    nb, s = item_model.similarity_.top_neighbors(int(inner), 5)
    np.testing.assert_array_equal(ids[0], data.item_ids[nb])
    assert (np.diff(sims, axis=1) <= 0).all()
    with pytest.raises(ValueError, match="unknown id"):
        item_model.similar_items(["no such item"], k=3)
    assert not hasattr(item_model, "similar_users")
    user_model = UserKNN(sim="pearson", max_neighbors=3).fit(data)
    ids, sims = user_model.similar_users(data.user_ids[:4], k=6)
    assert ids.shape == (4, 6) and (sims[:, 3:] == -np.inf).all() and (ids[:, 3:] == -1).all()


def test_registry_params_and_clone(data):
    assert rk.get_algorithm("userknn") is UserKNN and rk.get_algorithm("itemknn") is ItemKNN
    model = ItemKNN(k=7, sim="msd", bsl_options={"method": "sgd", "n_epochs": 3})
    assert model.get_params()["k"] == 7 and model.get_params()["dtype"] == "float64"
    copy = rk.clone(model.set_params(k=9))
    assert copy.k == 9 and copy.bsl_options == {"method": "sgd", "n_epochs": 3}


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sim="jaccard"), ValueError, "sim='jaccard' is not a known option"),
    (dict(k=0), ValueError, "k must be an integer >= 1"),
    (dict(k=3, min_k=4), ValueError, "min_k=4 is larger than k=3"),
    (dict(min_k=-1), ValueError, "min_k must be an integer >= 0"),
    (dict(shrinkage=-1.0), ValueError, "shrinkage must be a finite number >= 0"),
    (dict(max_neighbors=0), ValueError, "max_neighbors must be an integer >= 1"),
    (dict(storage="dense", max_neighbors=5), ValueError, "max_neighbors keeps only"),
    (dict(center="median"), ValueError, "center='median' is not a known option"),
    (dict(dtype=np.int32), TypeError, "dtype must be float64 or float32"),
    (dict(bsl_options={"lr": 0.1}), ValueError, "bsl_options has unknown key"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ItemKNN(**kwargs)


def test_adjusted_cosine_is_item_based_only():
    with pytest.raises(ValueError, match="defined for ItemKNN only"):
        UserKNN(sim="adjusted_cosine")


def test_memory_limit_the_storage_cannot_meet(data):
    with pytest.raises(MemoryError, match="memory_limit"):
        ItemKNN(storage="dense", memory_limit=1000).fit(data)
    with pytest.raises(MemoryError, match="memory_limit"):
        UserKNN(max_neighbors=20, memory_limit=1000).fit(data)


def test_unfitted_and_not_a_dataset():
    with pytest.raises(rk.NotFittedError):
        ItemKNN().predict([1], [2])
    with pytest.raises(TypeError, match="reckernels.Dataset"):
        UserKNN().fit([(1, 2, 3.0)])


def test_similarity_matches_compute_similarity(data):
    model = UserKNN(sim="msd", min_support=2, storage="dense").fit(data)
    want = compute_similarity(*data.csr, data.n_items, kind="msd", min_support=2, storage="dense")
    np.testing.assert_array_equal(model.similarity_.dense, want.dense)


@needs_ml100k()
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("options", [{}, {"dtype": "float32"}, {"center": "zscore", "k": 10},
                                     {"storage": "topm", "max_neighbors": 60}])
def test_fused_recommend_equals_score_block_on_ml100k(cls, options):
    """recommend's knn_recommend (item-based: streamed rows for the users with at most k ratings,
    score blocks for the others; user-based: fused per user) against knn_score + topk_rows."""
    from reckernels.algorithms.base import Estimator

    data = rk.datasets.read_ratings(ML100K / "u1.base", id_type=int)
    model = cls(**options).fit(data)
    if model.similarity_.storage == "dense":
        np.testing.assert_array_equal(model.similarity_.dense, model.similarity_.dense.T)  # what the kernel assumes
    counts = np.diff(data.csr.indptr)
    inner = np.concatenate([np.argsort(counts)[:30], np.argsort(counts)[-30:], [-1]]).astype(np.int32)
    got = model._recommend_inner(inner, 10, True)
    want = Estimator._recommend_inner(model, inner, 10, True)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
