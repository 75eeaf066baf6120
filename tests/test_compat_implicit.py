"""reckernels.compat.implicit against implicit 0.7.3 itself, on small synthetic CSR matrices.

implicit's own suite runs with our classes swapped in (``python ../shared/tools/peer_suite.py
implicit``, in .ci/run); these tests check the same behaviours directly against the installed peer
and the bad inputs. Tests comparing with implicit skip where it is not installed.
"""

import io
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from reckernels.compat import implicit as ci


def _likes(n_users=60, n_items=40, density=0.15, seed=0, scale=5):
    m = sp.random(n_users, n_items, density=density, format="csr", random_state=seed, dtype=np.float64)
    m.data = np.ceil(m.data * scale)
    return m


def _checkerboard(n):
    dense = np.zeros((n, n))
    for i in range(n):
        dense[i, i % 2::2] = 1.0
    return sp.csr_matrix(dense - np.eye(n))


@pytest.fixture
def peer():
    pytest.importorskip("implicit")
    warnings.simplefilter("ignore")  # implicit's BLAS thread warning
    import implicit.cpu.als
    import implicit.evaluation
    import implicit.nearest_neighbours

    return implicit


def test_import_does_not_need_implicit():
    code = ("import sys; sys.modules['implicit'] = None; import reckernels.compat.implicit as ci; "
            "assert ci.ParameterWarning.__mro__[1] is Warning; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_signatures_and_defaults_match_implicit(peer):
    import inspect

    import implicit.cpu.als
    import implicit.nearest_neighbours as nn

    ours = inspect.signature(ci.AlternatingLeastSquares).parameters
    theirs = inspect.signature(peer.als.AlternatingLeastSquares).parameters
    assert list(ours) == list(theirs)
    for name in theirs:
        if name != "use_gpu":  # ours: False (nothing probed at construction); theirs: HAS_CUDA
            assert ours[name].default == theirs[name].default, name
    for cls in ("ItemItemRecommender", "BM25Recommender", "CosineRecommender", "TFIDFRecommender"):
        assert (inspect.signature(getattr(ci, cls)).parameters.keys()
                == inspect.signature(getattr(nn, cls)).parameters.keys())
    for name in ("bpr", "lmf"):
        cls = {"bpr": "BayesianPersonalizedRanking", "lmf": "LogisticMatrixFactorization"}[name]
        theirs = inspect.signature(getattr(getattr(peer, name), cls)).parameters
        ours = inspect.signature(getattr(ci, cls)).parameters
        assert set(ours) == set(theirs)
        assert all(ours[p].default == theirs[p].default for p in theirs if p != "use_gpu")


# ------------------------------------------------------------------ ALS
@pytest.mark.parametrize("kw", [{}, {"use_cg": False}, {"alpha": 0.5}, {"use_native": False},
                                {"dtype": np.float64}, {"regularization": 0.5, "alpha": 3.0}])
def test_als_fit_matches_implicit(peer, kw):
    m = _likes()
    theirs = peer.cpu.als.AlternatingLeastSquares(factors=8, random_state=3, iterations=6, **kw)
    theirs.fit(m, show_progress=False)
    ours = ci.AlternatingLeastSquares(factors=8, random_state=3, iterations=6, **kw)
    ours.fit(m, show_progress=False)
    # float32: both sum in float32, in different orders, sweep after sweep
    tol = 1e-7 if kw.get("dtype") == np.float64 else 5e-3
    np.testing.assert_allclose(ours.user_factors, theirs.user_factors, rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.item_factors, theirs.item_factors, rtol=tol, atol=tol)
    assert ours.user_factors.dtype == theirs.user_factors.dtype


def test_als_dislikes_match_implicit(peer):
    """Negative confidences are implicit's dislikes (preference 0): the NumPy solver handles them."""
    m = _likes(seed=4)
    m.data[::3] *= -1
    for use_cg in (True, False):
        theirs = peer.cpu.als.AlternatingLeastSquares(factors=6, random_state=1, use_cg=use_cg, regularization=1.0)
        theirs.fit(m, show_progress=False)
        ours = ci.AlternatingLeastSquares(factors=6, random_state=1, use_cg=use_cg, regularization=1.0)
        ours.fit(m, show_progress=False)
        np.testing.assert_allclose(ours.user_factors, theirs.user_factors, rtol=2e-3, atol=2e-3)


def _same_factors(theirs, ours):
    ours.user_factors = theirs.user_factors.copy()
    ours.item_factors = theirs.item_factors.copy()
    ours._invalidate()


def test_als_recommend_equals_implicit_given_the_same_factors(peer):
    m = _likes(80, 50)
    theirs = peer.cpu.als.AlternatingLeastSquares(factors=8, random_state=0)
    theirs.fit(m, show_progress=False)
    ours = ci.AlternatingLeastSquares(factors=8)
    _same_factors(theirs, ours)
    users = np.arange(80)
    for kwargs in ({}, {"filter_already_liked_items": False}, {"filter_items": [1, 5, 7]},
                   {"items": [3, 9, 2, 40, 11]}, {"N": 50}):
        a_ids, a_scores = theirs.recommend(users, m, **kwargs)
        b_ids, b_scores = ours.recommend(users, m, **kwargs)
        np.testing.assert_array_equal(b_ids, a_ids)  # filtered entries (tied at -max) too
        np.testing.assert_array_equal(b_scores, a_scores)
        assert b_ids.dtype == np.int32 and b_scores.dtype == np.float32
    a_ids, a_scores = theirs.recommend(7, m[7], N=5)
    b_ids, b_scores = ours.recommend(7, m[7], N=5)
    assert b_ids.shape == (5,) and np.array_equal(a_ids, b_ids) and np.array_equal(a_scores, b_scores)
    for call in ("similar_items", "similar_users"):
        a = getattr(theirs, call)(np.arange(20), N=6)
        b = getattr(ours, call)(np.arange(20), N=6)
        np.testing.assert_array_equal(b[0], a[0])
        np.testing.assert_allclose(b[1], a[1], rtol=1e-6)
    a = theirs.similar_items(3, N=4, filter_items=[0, 1])
    b = ours.similar_items(3, N=4, filter_items=[0, 1])
    assert np.array_equal(a[0], b[0]) and b[0].ndim == 1


def test_als_recalculate_partial_fit_and_explain_match_implicit(peer):
    m = _likes(seed=2)
    theirs = peer.cpu.als.AlternatingLeastSquares(factors=5, random_state=2, regularization=0.1)
    theirs.fit(m, show_progress=False)
    ours = ci.AlternatingLeastSquares(factors=5, regularization=0.1)
    _same_factors(theirs, ours)
    np.testing.assert_allclose(ours.recalculate_user(np.arange(10), m[:10]),
                               theirs.recalculate_user(np.arange(10), m[:10]), atol=1e-5)
    np.testing.assert_allclose(ours.recalculate_user(4, m[4]), theirs.recalculate_user(4, m[4]), atol=1e-5)
    a = theirs.recommend(np.arange(10), m[:10], recalculate_user=True)
    b = ours.recommend(np.arange(10), m[:10], recalculate_user=True)
    np.testing.assert_array_equal(a[0], b[0])
    for model in (theirs, ours):
        model.partial_fit_users([3, 70], m[[5, 6]])
        model.partial_fit_items([2, 45], m.T.tocsr()[[8, 9]])
    np.testing.assert_allclose(ours.user_factors, theirs.user_factors, atol=1e-5)
    np.testing.assert_allclose(ours.item_factors, theirs.item_factors, atol=1e-5)
    assert ours.user_factors.shape[0] == 71 and ours.item_factors.shape[0] == 46
    total_a, top_a, _ = theirs.explain(1, m, itemid=4, N=3)
    total_b, top_b, w = ours.explain(1, m, itemid=4, N=3)
    assert total_b == pytest.approx(total_a, abs=1e-5)
    assert [i for i, _ in top_b] == [i for i, _ in top_a]
    assert ours.explain(1, m, itemid=4, user_weights=w)[0] == pytest.approx(total_b)


def test_deprecated_rank_items_and_recommend_all_as_implicit(peer):
    m = _likes()
    theirs = peer.cpu.als.AlternatingLeastSquares(factors=4, random_state=0)
    theirs.fit(m, show_progress=False)
    ours = ci.AlternatingLeastSquares(factors=4)
    _same_factors(theirs, ours)
    with pytest.warns(DeprecationWarning):
        got = ours.rank_items(2, m[2], [5, 1, 9])
    assert np.array_equal(got[0], theirs.rank_items(2, m[2], [5, 1, 9])[0])
    with pytest.warns(DeprecationWarning):
        got = ours.recommend_all(m, N=3)
    assert np.array_equal(got, theirs.recommend_all(m, N=3))


def test_als_training_loss_and_callback(peer):
    m = _likes()
    seen = []
    ours = ci.AlternatingLeastSquares(factors=4, iterations=3, calculate_training_loss=True, random_state=0)
    ours.fit(m, show_progress=False, callback=lambda it, elapsed, loss: seen.append((it, loss)))
    assert [it for it, _ in seen] == [0, 1, 2]
    expected = peer.cpu.als.calculate_loss(m.astype(np.float32), ours.user_factors, ours.item_factors, 0.01)
    assert seen[-1][1] == pytest.approx(expected, rel=1e-4)
    assert ci.als.calculate_loss(m, ours.user_factors, ours.item_factors, 0.01) == pytest.approx(expected, rel=1e-4)


def test_als_warm_start_and_zero_iterations():
    m = _likes()
    model = ci.AlternatingLeastSquares(factors=4, iterations=0, random_state=5)
    model.fit(m, show_progress=False)
    start = model.user_factors.copy()
    assert np.all((start >= 0) & (start < 0.01))
    model.iterations = 2
    model.fit(m, show_progress=False)  # implicit: a second fit starts from the current factors
    assert not np.array_equal(model.user_factors, start)


# ------------------------------------------------------------------ saving, pickling, devices
def test_als_save_load_roundtrip_and_implicit_files(peer, tmp_path):
    m = _likes()
    ours = ci.AlternatingLeastSquares(factors=4, random_state=0)
    ours.fit(m, show_progress=False)
    path = tmp_path / "als.npz"
    ours.save(str(path))
    again = ci.AlternatingLeastSquares.load(str(path))
    assert np.array_equal(again.recommend(0, m[0])[0], ours.recommend(0, m[0])[0])
    buf = io.BytesIO()
    ours.save(buf)
    buf.seek(0)
    assert ci.AlternatingLeastSquares.load(buf).factors == 4
    theirs = peer.cpu.als.AlternatingLeastSquares(factors=3, random_state=0)
    theirs.fit(m, show_progress=False)
    theirs.save(str(tmp_path / "theirs.npz"))
    loaded = ci.AlternatingLeastSquares.load(str(tmp_path / "theirs"))
    assert np.array_equal(loaded.recommend(np.arange(5), m[:5])[0], theirs.recommend(np.arange(5), m[:5])[0])
    with pytest.raises(ValueError, match="another model class"):
        ci.LogisticMatrixFactorization.load(str(path))


def test_pickle_keeps_results():
    m = _likes()
    model = ci.AlternatingLeastSquares(factors=4, random_state=0)
    model.fit(m, show_progress=False)
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.recommend(np.arange(5), m[:5])[0], model.recommend(np.arange(5), m[:5])[0])
    pickle.loads(pickle.dumps(ci.AlternatingLeastSquares()))


def test_to_gpu_runs_on_the_cuda_backend_and_back():
    m = _likes(12, 10, density=0.3)
    model = ci.AlternatingLeastSquares(factors=2, iterations=1, random_state=0)
    model.fit(m, show_progress=False)
    gpu = model.to_gpu()  # CUDA simulator in the tests
    assert gpu.use_gpu and gpu._backend == "cuda" and not model.use_gpu
    np.testing.assert_array_equal(gpu.recommend(np.arange(3), m[:3], N=3)[0], model.recommend(np.arange(3), m[:3], N=3)[0])
    assert not gpu.to_cpu().use_gpu


def test_als_fit_on_the_cuda_backend_matches_the_cpu():
    m = _likes(12, 10, density=0.3)
    cpu = ci.AlternatingLeastSquares(factors=2, iterations=1, random_state=0)
    cpu.fit(m, show_progress=False)
    gpu = ci.AlternatingLeastSquares(factors=2, iterations=1, random_state=0, use_gpu=True)
    gpu.fit(m, show_progress=False)  # CUDA simulator in the tests
    np.testing.assert_allclose(gpu.user_factors, cpu.user_factors, rtol=1e-4, atol=1e-5)


def test_to_gpu_without_gpu_says_why(monkeypatch):
    from reckernels import backends

    def no_gpu(name):
        if backends.resolve(name) == "cuda":
            raise backends.BackendUnavailable("backend='cuda' needs numba-cuda and an NVIDIA GPU")
        return real(name)

    real = backends.get_backend
    monkeypatch.setattr(backends, "get_backend", no_gpu)
    with pytest.raises(backends.BackendUnavailable, match="GPU"):
        ci.AlternatingLeastSquares().to_gpu()
    with pytest.raises(backends.BackendUnavailable, match="GPU"):
        ci.BayesianPersonalizedRanking(use_gpu=True)


# ------------------------------------------------------------------ evaluation
def test_evaluation_functions_equal_implicit(peer):
    import implicit.evaluation as ie

    m = _likes(120, 60, density=0.2, seed=9)
    train, test = ci.train_test_split(m, 0.75, 11)
    t_train, t_test = ie.train_test_split(m, 0.75, 11)
    assert (train != t_train).nnz == 0 and (test != t_test).nnz == 0
    model = peer.cpu.als.AlternatingLeastSquares(factors=6, random_state=0)
    model.fit(train, show_progress=False)
    for K in (1, 5, 10):
        ours = ci.ranking_metrics_at_k(model, train, test, K=K, show_progress=False)
        theirs = ie.ranking_metrics_at_k(model, train, test, K=K, show_progress=False)
        assert ours == pytest.approx(theirs, rel=1e-12)
        assert ci.precision_at_k(model, train, test, K, False) == pytest.approx(theirs["precision"])
        assert ci.mean_average_precision_at_k(model, train, test, K, False) == pytest.approx(theirs["map"])
        assert ci.ndcg_at_k(model, train, test, K, False) == pytest.approx(theirs["ndcg"])
        assert ci.AUC_at_k(model, train, test, K, False) == pytest.approx(theirs["auc"])


def test_leave_k_out_equals_implicit_where_implicit_is_consistent(peer):
    import implicit.evaluation as ie

    m = sp.random(80, 50, density=0.4, format="csr", random_state=3)
    for K in (1, 3):
        np.random.seed(5)
        theirs = ie.leave_k_out_split(m, K=K, random_state=2)
        np.random.seed(5)
        ours = ci.leave_k_out_split(m, K=K, random_state=2)
        assert all((a != b).nnz == 0 for a, b in zip(ours, theirs))
    # users with too few entries leave gaps in the ids: ours still holds out K per eligible user
    sparse = _likes(200, 100, density=0.03, seed=1)
    train, test = ci.leave_k_out_split(sparse, K=2, train_only_size=0.2, random_state=0)
    assert ((train + test) - sparse).nnz == 0
    counts = np.diff(test.indptr)
    assert set(counts) <= {0, 2}


def test_evaluation_bad_input():
    with pytest.raises(ValueError, match="K"):
        ci.leave_k_out_split(None, K=0)
    with pytest.raises(ValueError, match="train_only_size"):
        ci.leave_k_out_split(None, K=1, train_only_size=1.0)
    with pytest.raises(ValueError, match="train_percentage"):
        ci.train_test_split(_likes(), 1.5)
    m = _likes()
    model = ci.AlternatingLeastSquares(factors=2, iterations=1)
    model.fit(m, show_progress=False)
    with pytest.raises(ValueError, match="same shape"):
        ci.precision_at_k(model, m, m[:10], show_progress=False)
    with pytest.raises(ValueError, match="no interaction"):
        ci.precision_at_k(model, m, sp.csr_matrix(m.shape), show_progress=False)


# ------------------------------------------------------------------ bad input
def test_nan_values_are_refused():
    m = _likes()
    m.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ci.AlternatingLeastSquares(factors=2).fit(m, show_progress=False)
    with pytest.raises(ValueError, match="NaN"):
        ci.BM25Recommender().fit(m, show_progress=False)


def test_negative_values_are_refused_where_they_mean_nothing():
    m = _likes()
    m.data[0] = -2.0
    for model in (ci.BayesianPersonalizedRanking(factors=2), ci.LogisticMatrixFactorization(factors=2),
                  ci.BM25Recommender(), ci.TFIDFRecommender()):
        with pytest.raises(ValueError, match="negative"):
            model.fit(m, show_progress=False)
    ci.AlternatingLeastSquares(factors=2, iterations=1).fit(m, show_progress=False)  # dislikes: meaningful


def test_item_user_matrix_where_user_items_is_expected():
    """implicit issues #481 / #484: a matrix of the wrong orientation is refused or warned about."""
    m = _likes(60, 40)
    model = ci.AlternatingLeastSquares(factors=2, iterations=1)
    model.fit(m, show_progress=False)
    with pytest.raises(ValueError, match="item x user"):
        model.recommend(0, m.T.tocsr()[0])  # 60 columns for a model of 40 items
    short = _likes(40, 30)
    model.fit(_likes(30, 40), show_progress=False)  # 30 users, 40 items
    with pytest.warns(ci.ParameterWarning, match="item x user"):
        model.recommend(0, short[:1])  # 30 columns = the number of users
    with pytest.raises(IndexError, match="swapped"), pytest.warns(ci.ParameterWarning):
        model.recommend(35, short[:1])  # userid beyond the 30 users: the hint says what may be swapped


def test_userid_out_of_range_and_bad_N():
    m = _likes()
    model = ci.AlternatingLeastSquares(factors=2, iterations=1)
    model.fit(m, show_progress=False)
    with pytest.raises(IndexError, match="userid 60 is out of range"):
        model.recommend(60, m[0])
    with pytest.raises(IndexError, match="out of range"):
        model.recommend(np.array([0, -1]), m[:2])
    with pytest.raises(IndexError, match="out of range"):
        model.similar_users(1000)
    for N in (0, -3):
        with pytest.raises(ValueError, match="N must be >= 1"):
            model.recommend(0, m[0], N=N)
        with pytest.raises(ValueError, match="N must be >= 1"):
            model.similar_items(0, N=N)
    with pytest.raises(ValueError, match="1 row for every user"):
        model.recommend(0, m[:2])
    with pytest.raises(ValueError, match="CSR"):
        model.recommend(0, m[0].tocsc())
    with pytest.raises(TypeError, match="scipy.sparse"):
        model.fit(m.toarray())
    with pytest.raises(RuntimeError, match="not fitted"):
        ci.AlternatingLeastSquares().recommend(0, m[0])


def test_constructor_rejects_nonsense():
    with pytest.raises(ValueError, match="factors"):
        ci.AlternatingLeastSquares(factors=0)
    with pytest.raises(ValueError, match="regularization"):
        ci.AlternatingLeastSquares(regularization=-1)
    with pytest.raises(ValueError, match="dtype"):
        ci.AlternatingLeastSquares(dtype=np.float16)
    with pytest.raises(ValueError, match="K must be"):
        ci.CosineRecommender(K=0)


def test_non_csr_input_warns_like_implicit():
    m = _checkerboard(20)
    with pytest.warns(ci.ParameterWarning):
        ci.AlternatingLeastSquares(factors=2, iterations=1).fit(m.tocoo(), show_progress=False)


def test_parameter_warning_is_implicits(peer):
    from implicit.utils import ParameterWarning

    assert issubclass(ci.ParameterWarning, ParameterWarning)


# ------------------------------------------------------------------ BPR and LMF (native rk.BPR / rk.LogisticMF)
@pytest.mark.parametrize("name,module,cls", [("bpr", "bpr", "BayesianPersonalizedRanking"),
                                             ("lmf", "lmf", "LogisticMatrixFactorization")])
def test_bpr_lmf_layout_callback_and_implicit_recommendations(peer, name, module, cls):
    pytest.importorskip(f"reckernels.algorithms.{module}")
    m = _likes(50, 30, density=0.2, seed=3)
    calls = []
    ours = getattr(ci, cls)(factors=4, iterations=3, random_state=0)
    ours.fit(m, show_progress=False, callback=lambda *args: calls.append(args))
    extra = 1 if name == "bpr" else 2
    assert ours.user_factors.shape == (50, 4 + extra) and ours.item_factors.shape == (30, 4 + extra)
    assert ours.user_factors.dtype == np.float32
    assert len(calls) == 3 and len(calls[0]) == (4 if name == "bpr" else 2)
    if name == "bpr":
        assert np.all(ours.user_factors[np.diff(m.indptr) > 0, -1] == 1.0)
        assert all(0 <= c[2] <= m.nnz and 0 <= c[3] <= m.nnz for c in calls)
    # recommend / similar_* are implicit's given the same factors
    theirs = getattr(getattr(peer, name), cls)(factors=4, iterations=3, random_state=0, use_gpu=False)
    theirs.fit(m, show_progress=False)
    _same_factors(theirs, ours)
    a, b = theirs.recommend(np.arange(50), m, N=5), ours.recommend(np.arange(50), m, N=5)
    np.testing.assert_array_equal(b[0], a[0])
    np.testing.assert_array_equal(b[1], a[1])
    np.testing.assert_array_equal(ours.similar_items(np.arange(30), N=4)[0], theirs.similar_items(np.arange(30), N=4)[0])


@pytest.mark.parametrize("cls", ["BayesianPersonalizedRanking", "LogisticMatrixFactorization"])
def test_bpr_lmf_zero_iterations_and_empty_input(cls):
    m = _likes(20, 10)
    model = getattr(ci, cls)(factors=3, iterations=0, random_state=1)
    model.fit(m, show_progress=False)  # implicit's initial factors, no native needed
    assert np.isfinite(model.user_factors).all() and model.user_factors.shape[0] == 20
    if cls == "BayesianPersonalizedRanking":
        ci.BayesianPersonalizedRanking(factors=2).fit(sp.csr_matrix((3, 3)), show_progress=False)  # implicit #264


def test_bpr_ranks_like_implicit_on_planted_data():
    pytest.importorskip("reckernels.algorithms.bpr")
    m = _checkerboard(40)
    model = ci.BayesianPersonalizedRanking(factors=3, regularization=0, random_state=42)
    model.fit(m, show_progress=False)
    ids, _ = model.recommend(np.arange(40), m, N=1)
    assert (ids[:, 0] == np.arange(40)).mean() >= 0.9


# ------------------------------------------------------------------ item-item (native rk.ItemItem)
@pytest.mark.parametrize("cls", ["ItemItemRecommender", "CosineRecommender", "TFIDFRecommender", "BM25Recommender"])
def test_item_item_equals_implicit(peer, cls):
    pytest.importorskip("reckernels.algorithms.itemitem")
    import implicit.nearest_neighbours as nn

    m = sp.random(70, 45, density=0.15, format="csr", random_state=5)  # continuous values: no ties
    m.data = 1 + 4 * m.data
    theirs = getattr(nn, cls)(K=8)
    theirs.fit(m, show_progress=False)
    ours = getattr(ci, cls)(K=8)
    ours.fit(m, show_progress=False)
    assert abs(theirs.similarity - ours.similarity).max() < 1e-9
    a, b = theirs.recommend(np.arange(70), m, N=6), ours.recommend(np.arange(70), m, N=6)
    np.testing.assert_array_equal(b[0], a[0])
    np.testing.assert_allclose(b[1], a[1], rtol=1e-9)
    assert b[0].dtype == np.int32 and b[1].dtype == np.float64
    for kw in ({}, {"filter_already_liked_items": False}, {"items": [1, 2, 3, 30, 31]}):
        x, y = theirs.recommend(5, m[5], N=8, **kw), ours.recommend(5, m[5], N=8, **kw)
        np.testing.assert_array_equal(y[0], x[0])
    x, y = theirs.recommend(5, m[5], N=4, filter_items=[0, 1]), ours.recommend(5, m[5], N=4, filter_items=[0, 1])
    np.testing.assert_array_equal(y[0], x[0][:4])  # implicit returns up to N + len(filter_items) here
    np.testing.assert_array_equal(ours.similar_items(np.arange(45), N=5)[0], theirs.similar_items(np.arange(45), N=5)[0])


@pytest.mark.parametrize("cls", ["ItemItemRecommender", "CosineRecommender"])
def test_item_item_ties_as_implicit(peer, cls):
    """Integer counts: many equal similarities and scores; lists still equal implicit's."""
    pytest.importorskip("reckernels.algorithms.itemitem")
    import implicit.nearest_neighbours as nn

    m = _likes(80, 50, density=0.15, seed=2)
    theirs = getattr(nn, cls)(K=10)
    theirs.fit(m, show_progress=False)
    ours = getattr(ci, cls)(K=10)
    ours.fit(m, show_progress=False)
    assert abs(theirs.similarity - ours.similarity).max() == 0
    for N in (10, 50):
        a, b = theirs.recommend(np.arange(80), m, N=N), ours.recommend(np.arange(80), m, N=N)
        np.testing.assert_array_equal(b[0], a[0])
        np.testing.assert_array_equal(b[1], a[1])


def test_item_item_save_load_pickle_and_bad_input(tmp_path):
    pytest.importorskip("reckernels.algorithms.itemitem")
    m = _likes()
    model = ci.BM25Recommender(K=5, K1=2.0, B=0.5)
    model.fit(m, show_progress=False)
    model.save(str(tmp_path / "knn"))
    again = ci.BM25Recommender.load(str(tmp_path / "knn"))
    assert (again.K, again.K1, again.B) == (5, 2.0, 0.5)
    assert np.array_equal(again.recommend(np.arange(5), m[:5])[0], model.recommend(np.arange(5), m[:5])[0])
    assert np.array_equal(pickle.loads(pickle.dumps(model)).similar_items(3)[0], model.similar_items(3)[0])
    with pytest.raises(ValueError, match="item x user"):
        model.recommend(0, m.T.tocsr()[0])
    with pytest.raises(ValueError, match="N must be >= 1"):
        model.recommend(0, m[0], N=0)
    with pytest.raises(NotImplementedError):
        model.fit(m, callback=print)


def test_weighting_helpers_equal_implicit(peer):
    import implicit.nearest_neighbours as nn

    m = sp.random(30, 20, density=0.3, format="csr", random_state=1)
    m.data = 1 + 4 * m.data
    for ours, theirs in ((ci.normalize(m), nn.normalize(m)), (ci.tfidf_weight(m), nn.tfidf_weight(m)),
                         (ci.bm25_weight(m, 1.2, 0.75), nn.bm25_weight(m, 1.2, 0.75)), (ci.bm25_weight(m), nn.bm25_weight(m))):
        assert abs(ours.tocsr() - theirs.tocsr()).max() < 1e-12
