"""ItemItem: the estimator contract, bad input, and agreement with implicit 0.7.3 itself.

Similarities and scores sum the same float64 products in the same order as implicit, and the
top-K choice breaks ties at the K-th value as implicit's walk does, so the similarity matrices
are equal to the bit, ties included. Recommendations are compared wherever the score is not
tied within the user's row (implicit orders equal scores by its heap, we by item id).
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import reckernels as rk
from reckernels.algorithms import REGISTRY, get_algorithm
from reckernels.algorithms.itemitem import WEIGHTINGS, ItemItem

from .conftest import ML100K

# a worktree has no ../shared beside it: RECKERNELS_SHARED_DATA may point at the data folder
if not (ML100K / "u.data").exists() and os.environ.get("RECKERNELS_SHARED_DATA"):
    ML100K = Path(os.environ["RECKERNELS_SHARED_DATA"]) / "ml-100k"
needs_ml100k = pytest.mark.skipif(not (ML100K / "u.data").exists(), reason=f"MovieLens 100K not found in {ML100K}")

nn = pytest.importorskip("implicit.nearest_neighbours")
IMPLICIT = {"none": nn.ItemItemRecommender, "cosine": nn.CosineRecommender, "tfidf": nn.TFIDFRecommender,
            "bm25": nn.BM25Recommender}
BACKENDS = ["reference", "cython", "numba"]


def _strengths(seed=0, n_users=40, n_items=30, density=0.2, integer=False):
    rng = np.random.default_rng(seed)
    m = sp.random(n_users, n_items, density=density, format="csr", random_state=seed)
    m.data = rng.integers(1, 4, m.nnz).astype(float) if integer else rng.exponential(2.0, m.nnz) + 0.1
    return m


def _implicit(weighting, m, K, **kw):
    model = IMPLICIT[weighting](K=K, num_threads=1, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(m, show_progress=False)
    return model


def _assert_same_similarity(ours, theirs):
    """The same entries with the same float64 values (explicit zeros aside: implicit pads short
    rows with zeros at (0, 0), and both keep co-occurring pairs whose product is 0)."""
    S = ours.similarity_matrix().copy()
    T = theirs.similarity.tocsr()
    S.eliminate_zeros()
    T.eliminate_zeros()
    assert S.shape == T.shape and S.nnz == T.nnz
    assert (S != T).nnz == 0


def _recommend_pairs(ours, theirs, m, N=10):
    """(slots compared, mismatched ids, score lists equal) over every user, skipping the slots
    whose score ties within the user's row and those implicit left unfilled or scored 0 (it
    also returns untouched and already-liked items at 0, we rank those at -inf or by id)."""
    users = np.arange(m.shape[0])
    ids, scores = theirs.recommend(users, m, N=N)
    our_ids, our_scores = ours.recommend(users, k=N)
    full = ours._score(users.astype(np.int32))
    compared = mismatched = 0
    for u in users:
        for j in range(N):
            s = scores[u, j]
            if s == 0 or s < -1e30:
                continue
            assert our_scores[u, j] == s  # the same scores in the same order
            if (full[u] == s).sum() == 1:
                compared += 1
                mismatched += our_ids[u, j] != ids[u, j]
    return compared, mismatched


# ------------------------------------------------------------------ agreement with implicit
@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_equals_implicit_on_synthetic_data(weighting, backend):
    """Real-valued strengths (no ties): the same similarity to the bit, the same lists."""
    m = _strengths()
    for K in (1, 5, 100):
        kw = dict(K1=1.7, B=0.4) if weighting == "bm25" else {}
        theirs = _implicit(weighting, m, K, **kw)
        ours = ItemItem(K=K, weighting=weighting, backend=backend, n_threads=2, **kw).fit(m)
        _assert_same_similarity(ours, theirs)
        compared, mismatched = _recommend_pairs(ours, theirs, m)
        assert mismatched == 0 and compared > (100 if K > 1 else -1)  # K = 1 keeps only the item itself


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_equals_implicit_with_integer_strengths_and_many_ties(weighting, backend):
    m = _strengths(seed=3, integer=True, density=0.3)
    for K in (2, 6):
        theirs = _implicit(weighting, m, K)
        ours = ItemItem(K=K, weighting=weighting, backend=backend).fit(m)
        _assert_same_similarity(ours, theirs)
        compared, mismatched = _recommend_pairs(ours, theirs, m)
        assert mismatched == 0


def _ml100k_matrix():
    data = np.loadtxt(ML100K / "u.data", dtype=np.int64)
    data = data[data[:, 2] >= 4]
    return sp.csr_matrix((np.ones(len(data)), (data[:, 0] - 1, data[:, 1] - 1)))


@needs_ml100k
@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_equals_implicit_on_movielens_100k(weighting):
    m = _ml100k_matrix()
    theirs = _implicit(weighting, m, 50)
    ours = ItemItem(K=50, weighting=weighting).fit(m)
    _assert_same_similarity(ours, theirs)  # 0/1 strengths: many ties at the K-th value, all resolved alike
    compared, mismatched = _recommend_pairs(ours, theirs, m)
    assert compared > 5000 and mismatched == 0


# ------------------------------------------------------------------ the estimator contract
def test_contract_dataset_and_matrix_inputs():
    m = _strengths()
    users, items = m.nonzero()
    data = rk.Dataset(users, items, np.asarray(m[users, items]).ravel())
    a = rk.ItemItem(K=8, weighting="bm25").fit(data)
    b = ItemItem(K=8, weighting="bm25").fit(data.to_scipy(), user_ids=data.user_ids, item_ids=data.item_ids)
    assert a.predicts_ratings is False and REGISTRY["itemitem"].endswith(":ItemItem")
    assert get_algorithm("itemitem") is ItemItem
    # the matrix path sorts each row's items: only the summation order of the scores differs
    np.testing.assert_allclose(a.similarity_matrix().toarray(), b.similarity_matrix().toarray(), rtol=1e-12)
    ids_a, sc_a = a.recommend(data.user_ids[:5], k=4)
    ids_b, sc_b = b.recommend(data.user_ids[:5], k=4)
    np.testing.assert_allclose(sc_a, sc_b, rtol=1e-12)
    assert a.similarity_matrix().dtype == np.float64 and a.sim_indptr_.dtype == np.int64
    assert np.all(np.diff(a.sim_indptr_) <= 8)


def test_recommend_excludes_seen_predict_and_cold_start():
    m = _strengths()
    model = ItemItem(K=10, weighting="cosine").fit(m, user_ids=[f"u{i}" for i in range(40)])
    ids, scores = model.recommend(["u0", "u1", "nobody"], k=5)
    for row, u in enumerate([0, 1]):
        assert not set(ids[row][np.isfinite(scores[row])]) & set(m[u].indices)
    # a user nobody knows gets the items by popularity
    pop = np.diff(m.tocsc().indptr)
    assert pop[ids[2][0]] == pop.max()
    # predict gives the scores recommend ranks by (not clipped to any scale)
    est, impossible = model.predict(["u0", "u0", "nobody"], [ids[0][0], 0, 0], return_impossible=True)
    assert est[0] == pytest.approx(scores[0][0], rel=1e-12) and impossible.tolist() == [False, False, True]
    full = model.score_rows(m[:1])
    assert est[1] == pytest.approx(full[0, 0], rel=1e-12, abs=1e-15)


def test_user_without_interactions_and_isolated_item():
    m = sp.lil_matrix((4, 5))
    m[0, 0] = m[0, 1] = m[1, 1] = m[2, 2] = 1.0  # user 3 has nothing; item 2 co-occurs with nobody; item 4 unused
    model = ItemItem(K=3).fit(m.tocsr())
    S = model.similarity_matrix().toarray()
    assert S[2].tolist() == [0, 0, 1, 0, 0] and (S[4] == 0).all()
    ids, scores = model.recommend([3], k=2, exclude_seen=False)
    assert (scores == 0).all()  # no interactions: every score is 0, ties by item id
    ids, scores = model.similar_items([0, 2, 4], k=3)
    assert ids[0].tolist() == [1, 0, -1] or ids[0].tolist() == [0, 1, -1]
    assert ids[1].tolist() == [2, -1, -1] and ids[2].tolist() == [-1, -1, -1]
    with pytest.raises(ValueError, match="unknown id"):
        model.similar_items([99])


def test_similar_items_ranks_the_stored_row():
    m = _strengths()
    model = ItemItem(K=6, weighting="tfidf").fit(m)
    ids, sims = model.similar_items([3], k=10)
    row = model.similarity_matrix()[3]
    want = row.indices[np.lexsort((row.indices, -row.data))]
    assert ids[0][:len(want)].tolist() == want.tolist() and ids[0][0] == 3  # itself first (cosine-normalised)
    assert np.isneginf(sims[0][len(want):]).all()


@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_backends_and_threads_agree(backend):
    m = _strengths(seed=5)
    want = ItemItem(K=7, weighting="bm25", backend="reference").fit(m)
    got = ItemItem(K=7, weighting="bm25", backend=backend, n_threads=2).fit(m)
    assert (want.similarity_matrix() != got.similarity_matrix()).nnz == 0
    users = np.arange(40).astype(np.int32)
    np.testing.assert_array_equal(got._score(users), want._score(users))


def test_save_load_and_params(tmp_path):
    m = _strengths()
    model = ItemItem(K=5, weighting="bm25", K1=2.0, B=0.5).fit(m, item_ids=[f"i{j}" for j in range(30)])
    back = rk.load(model.save(tmp_path / "itemitem"))
    assert isinstance(back, ItemItem) and back.get_params() == model.get_params()
    assert (back.similarity_matrix() != model.similarity_matrix()).nnz == 0
    for users in ([0, 3], [999]):
        np.testing.assert_array_equal(back.recommend(users, k=4)[0], model.recommend(users, k=4)[0])
    clone = ItemItem(**model.get_params()).set_params(K=9)
    assert clone.K == 9 and clone.weighting == "bm25" and clone.K1 == 2.0


def test_verbose_progress(capsys):
    ItemItem(K=3, verbose=True).fit(_strengths())
    assert "ItemItem fit" in capsys.readouterr().err


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(K=0), "K must be an integer >= 1"), (dict(K=2.5), "K must be an integer"),
    (dict(weighting="bm26"), "weighting='bm26' is not a known option"),
    (dict(K1=0.0), "K1 must be a finite number > 0"), (dict(K1=-1), "K1 must be"),
    (dict(K1=float("nan")), "K1 must be"), (dict(B=1.5), r"B must be a number in \[0, 1\]"),
    (dict(B=-0.1), "B must be"), (dict(backend="gpu"), "backend='gpu'"),
])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ItemItem(**kwargs)


@pytest.mark.parametrize("value, match", [(-1.0, "1 negative value.*ItemItem needs"),
                                          (np.nan, "NaN or infinite"), (np.inf, "NaN or infinite")])
def test_bad_strengths(value, match):
    m = _strengths()
    m.data[3] = value
    with pytest.raises(ValueError, match=match):
        ItemItem().fit(m)


def test_bad_fit_inputs():
    m = _strengths()
    with pytest.raises(TypeError, match="ItemItem trains on a reckernels.Dataset"):
        ItemItem().fit(m.toarray())
    with pytest.raises(ValueError, match="item_ids has 3 entries"):
        ItemItem().fit(m, item_ids=[1, 2, 3])
    with pytest.raises(ValueError, match="no interaction"):
        ItemItem().fit(sp.csr_matrix((3, 4)))
    with pytest.raises(rk.algorithms.NotFittedError):
        ItemItem().recommend([0])
    model = ItemItem().fit(m)
    with pytest.raises(ValueError, match="one column per fitted item"):
        model.score_rows(sp.csr_matrix((2, 7)))
