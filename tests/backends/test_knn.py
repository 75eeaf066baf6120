"""Contract: the k-NN prediction and scoring kernels of every backend equal the reference.

Every backend selects the same neighbours and sums them in candidate order with the same
scalar arithmetic, so estimates agree exactly (float64 and float32 storage alike: a float32
similarity is widened to float64 identically everywhere); ``actual_k`` and the codes too.
The CUDA backend runs in the simulator: its inputs stay at a few hundred threads.
"""

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckernels import backends
from reckernels.backends._knn import BASELINE, MEAN, NONE, POSSIBLE, TOO_FEW, UNKNOWN, ZSCORE

NO_SIM = np.empty((0, 0), np.int32)


def _lists(mask, rng):
    """CSR of the True entries of ``mask``, each row's columns in a shuffled (data) order."""
    indptr, indices = [0], []
    for r in range(mask.shape[0]):
        cols = np.flatnonzero(mask[r])
        rng.shuffle(cols)
        indices.extend(cols)
        indptr.append(len(indices))
    return np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int32)


def make_model(seed, n_users, n_items, density, *, user_based, center, storage="dense", dtype=np.float64,
               ties=False, m=3, equal_ratings=False):
    """Kernel arguments for a random problem: candidates, similarity storage and centring arrays."""
    rng = np.random.default_rng(seed)
    n_x, n_y = (n_users, n_items) if user_based else (n_items, n_users)
    mask = rng.random((n_y, n_x)) < density  # rows: the targets y, columns: their candidates x
    indptr, indices = _lists(mask, rng)
    data = np.full(len(indices), 3.0) if equal_ratings else rng.integers(1, 6, len(indices)).astype(float)
    sim = rng.uniform(-1, 1, (n_x, n_x))
    if ties:
        sim = np.round(sim * 2) / 2  # few distinct values: many ties, and exact zeros
    if storage == "dense":
        sim_idx, sim_val = NO_SIM, sim.astype(dtype)
    else:
        sim_idx = np.full((n_x, m), -1, np.int32)
        sim_val = np.zeros((n_x, m), dtype)
        for x in range(n_x):
            keep = np.sort(rng.choice(n_x, rng.integers(0, min(m, n_x) + 1), replace=False))
            sim_idx[x, :len(keep)] = keep
            sim_val[x, :len(keep)] = sim[x, keep]
    means = rng.uniform(2, 4, n_x) if center in (MEAN, ZSCORE) else np.empty(0)
    sigmas = rng.uniform(0.5, 1.5, n_x) if center == ZSCORE else np.empty(0)
    bu = rng.normal(0, 0.3, n_users) if center == BASELINE else np.empty(0)
    bi = rng.normal(0, 0.3, n_items) if center == BASELINE else np.empty(0)
    return (indptr, indices, data, sim_idx, sim_val), (means, sigmas, bu, bi, 3.5)


def predict(module, users, items, model, k, min_k, center, user_based, n_threads=2):
    cand, (means, sigmas, bu, bi, gm) = model
    n = len(users)
    est, actual_k, code = np.empty(n), np.empty(n, np.int32), np.empty(n, np.int8)
    module.knn_predict(users, items, *cand, k, min_k, center, user_based, means, sigmas, bu, bi, gm,
                       est, actual_k, code, n_threads)
    return est, actual_k, code


def score(module, users, n_items, model, k, min_k, center, user_based, n_threads=2):
    cand, (means, sigmas, bu, bi, gm) = model
    out = np.empty((len(users), n_items))
    module.knn_score(users, *cand, k, min_k, center, user_based, means, sigmas, bu, bi, gm, out, n_threads)
    return out


def random_pairs(rng, n, n_users, n_items):
    """Pairs of inner ids, about one in ten unknown (-1) on either side."""
    users = rng.integers(-1, n_users, n).astype(np.int32)
    items = rng.integers(-1, n_items, n).astype(np.int32)
    return users, items


def assert_same(got, want):
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert np.isfinite(got[0]).all()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 9), n_items=st.integers(1, 9),
       density=st.floats(0.0, 1.0), user_based=st.booleans(), center=st.sampled_from([NONE, MEAN, ZSCORE, BASELINE]),
       storage=st.sampled_from(["dense", "topm"]), dtype=st.sampled_from([np.float64, np.float32]),
       ties=st.booleans(), k=st.integers(1, 6), min_k=st.integers(0, 3))
def test_predict_and_score_equal_reference(backend, reference, seed, n_users, n_items, density, user_based, center,
                                           storage, dtype, ties, k, min_k):
    name, module = backend
    model = make_model(seed, n_users, n_items, density, user_based=user_based, center=center, storage=storage,
                       dtype=dtype, ties=ties)
    users, items = random_pairs(np.random.default_rng(seed), 40, n_users, n_items)
    assert_same(predict(module, users, items, model, k, min_k, center, user_based),
                predict(reference, users, items, model, k, min_k, center, user_based))
    block = users[:4]
    np.testing.assert_array_equal(score(module, block, n_items, model, k, min_k, center, user_based),
                                  score(reference, block, n_items, model, k, min_k, center, user_based))


@pytest.mark.parametrize("user_based", [True, False])
@pytest.mark.parametrize("center", [NONE, MEAN, ZSCORE, BASELINE])
def test_larger_problem_with_ties(backend, reference, user_based, center):
    name, module = backend
    n_users, n_items, n = (12, 10, 60) if name == "cuda" else (40, 30, 500)
    model = make_model(7, n_users, n_items, 0.5, user_based=user_based, center=center, ties=True)
    users, items = random_pairs(np.random.default_rng(1), n, n_users, n_items)
    for k, min_k in ((1, 1), (3, 2), (50, 1)):  # k=50: more than any item's raters
        want = predict(reference, users, items, model, k, min_k, center, user_based)
        assert_same(predict(module, users, items, model, k, min_k, center, user_based), want)


@contextlib.contextmanager
def cython_loops(widest):
    """The Cython backend with its candidate pass and selection in the ``widest`` loops (AVX-512,
    AVX2, scalar), skipped where the CPU has not got them; the default is restored afterwards."""
    try:
        from reckernels._cy import knn as compiled
    except ImportError:
        pytest.skip("the Cython extension is not built")
    try:
        if compiled.use_simd(widest) != widest:
            pytest.skip(f"this CPU (or build) has no {widest} loops")
        yield backends.get_backend("cython")
    finally:
        compiled.use_simd(compiled.SIMD_LEVELS[-1])


@pytest.mark.parametrize("widest", ["avx512", "avx2", "scalar"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_x=st.integers(1, 70), n_y=st.integers(1, 12), density=st.floats(0.0, 1.0),
       user_based=st.booleans(), center=st.sampled_from([NONE, MEAN, BASELINE]),
       dtype=st.sampled_from([np.float64, np.float32]), ties=st.booleans(), k=st.integers(1, 40))
def test_cython_loops_equal_reference(widest, reference, seed, n_x, n_y, density, user_based, center, dtype,
                                      ties, k):
    """Candidate lists of every length around the 4- and 8-wide steps, with and without a selection
    (k below and above the positive candidates), ties included: every loop equals the reference.
    Enough pairs are asked for that the kernels use their selection guess as well."""
    n_users, n_items = (n_x, n_y) if user_based else (n_y, n_x)
    model = make_model(seed, n_users, n_items, density, user_based=user_based, center=center, dtype=dtype, ties=ties)
    rng = np.random.default_rng(seed)
    n = 16 * n_x + 40
    users, items = rng.integers(0, n_users, n).astype(np.int32), rng.integers(0, n_items, n).astype(np.int32)
    block = np.arange(n_users, dtype=np.int32)
    with cython_loops(widest) as module:
        assert_same(predict(module, users, items, model, k, 1, center, user_based),
                    predict(reference, users, items, model, k, 1, center, user_based))
        np.testing.assert_array_equal(score(module, block, n_items, model, k, 1, center, user_based),
                                      score(reference, block, n_items, model, k, 1, center, user_based))


def test_edge_cases(backend, reference):
    """Empty candidate rows, a single rating, equal ratings, unknown ids, k above the candidates."""
    name, module = backend
    for center in (NONE, MEAN, ZSCORE, BASELINE):
        model = make_model(3, 6, 5, 0.15, user_based=True, center=center, equal_ratings=True)
        indptr = model[0][0]
        assert (np.diff(indptr) == 0).any() and (np.diff(indptr) == 1).any()  # empty and single-rating items
        users = np.repeat(np.arange(-1, 6, dtype=np.int32), 6)
        items = np.tile(np.arange(-1, 5, dtype=np.int32), 7)
        got = predict(module, users, items, model, 10, 1, center, True)
        assert_same(got, predict(reference, users, items, model, 10, 1, center, True))
        est, actual_k, code = got
        unknown = (users < 0) | (items < 0)
        assert (code[unknown] == UNKNOWN).all() and (actual_k[unknown] == 0).all()
        assert (code[~unknown & (actual_k == 0)] == TOO_FEW).all()
        assert (code[actual_k > 0] == POSSIBLE).all()


def test_reference_follows_scikit_surprise_rules(reference):
    """Hand-checked: the k largest of any sign, then sim > 0; stable ties; min_k; fallbacks."""
    # one item (y = 0) rated by users 1..4 with ratings 5, 4, 3, 2; target user 0 (user-based)
    indptr = np.array([0, 4], np.int64)
    indices = np.array([1, 2, 3, 4], np.int32)
    data = np.array([5.0, 4.0, 3.0, 2.0])
    sim = np.zeros((5, 5))
    sim[0, 1:] = [0.5, -0.9, 0.5, 0.2]  # two tied at 0.5: the earlier candidate (user 1) wins at k=1
    cand = (indptr, indices, data, NO_SIM, sim)
    none = (np.empty(0), np.empty(0), np.empty(0), np.empty(0), 3.0)
    u, i = np.array([0], np.int32), np.array([0], np.int32)
    est, ak, code = predict(reference, u, i, (cand, none), 1, 1, NONE, True)
    assert (est[0], ak[0], code[0]) == (5.0, 1, POSSIBLE)
    est, ak, code = predict(reference, u, i, (cand, none), 3, 1, NONE, True)
    assert ak[0] == 3 and est[0] == pytest.approx((0.5 * 5 + 0.5 * 3 + 0.2 * 2) / 1.2, abs=1e-15)
    est, ak, code = predict(reference, u, i, (cand, none), 3, 4, NONE, True)  # min_k not reached
    assert (est[0], ak[0], code[0]) == (3.0, 3, TOO_FEW)
    means = np.array([2.5, 4.0, 4.0, 4.0, 4.0])
    est, ak, code = predict(reference, u, i, (cand, (means, np.empty(0), np.empty(0), np.empty(0), 3.0)),
                            3, 4, MEAN, True)
    assert (est[0], ak[0], code[0]) == (2.5, 3, TOO_FEW)  # mean of the target user alone


@pytest.mark.parametrize("bad, error, match", [
    (dict(users=np.zeros(3, np.int64)), TypeError, "users must be a C-contiguous"),
    (dict(items=np.zeros(2, np.int32)), ValueError, "same length"),
    (dict(users=np.full(3, 99, np.int32)), ValueError, "inner ids in"),
    (dict(k=0), ValueError, "k must be >= 1"),
    (dict(center=7), ValueError, "center code"),
    (dict(means=np.zeros(1)), ValueError, "means has length"),
])
def test_bad_arguments_are_named(backend, bad, error, match):
    name, module = backend
    cand, (means, sigmas, bu, bi, gm) = make_model(0, 4, 4, 0.5, user_based=True, center=MEAN)
    args = dict(users=np.zeros(3, np.int32), items=np.zeros(3, np.int32), k=2, center=MEAN, means=means)
    args.update(bad)
    n = len(args["users"])
    with pytest.raises(error, match=match):
        module.knn_predict(args["users"], args["items"], *cand, args["k"], 1, args["center"], True, args["means"],
                           sigmas, bu, bi, gm, np.empty(n), np.empty(n, np.int32), np.empty(n, np.int8), 1)


def recommend(module, users, n_users, n_items, model, k, min_k, center, user_based, seen, top, exclude,
              symmetric, n_threads=2):
    cand, (means, sigmas, bu, bi, gm) = model
    return module.knn_recommend(users, *cand, k, min_k, center, user_based, means, sigmas, bu, bi, gm, *seen,
                                n_items, top, exclude, symmetric, n_threads)


def symmetric_model(model, ties):
    """The same problem with a symmetric dense similarity (what compute_similarity builds)."""
    (indptr, indices, data, sim_idx, sim_val), rest = model
    sim = sim_val.astype(np.float64)
    sim = np.triu(sim) + np.triu(sim, 1).T
    if ties:
        sim = np.round(sim * 2) / 2
    return (indptr, indices, data, sim_idx, sim.astype(sim_val.dtype)), rest


def random_seen(rng, n_users, n_items):
    return _lists(rng.random((n_users, n_items)) < 0.3, rng)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 9), n_items=st.integers(1, 12),
       density=st.floats(0.0, 1.0), user_based=st.booleans(), center=st.sampled_from([NONE, MEAN, ZSCORE, BASELINE]),
       storage=st.sampled_from(["dense", "topm"]), dtype=st.sampled_from([np.float64, np.float32]),
       ties=st.booleans(), k=st.integers(1, 6), min_k=st.integers(0, 3), top=st.integers(1, 14),
       exclude=st.booleans())
def test_recommend_equals_reference(backend, reference, seed, n_users, n_items, density, user_based, center, storage,
                                    dtype, ties, k, min_k, top, exclude):
    """knn_recommend (Cython: symmetric dense item-based users with at most k ratings by streamed
    rows, the others by score blocks; user-based fused per user) equals the reference's score
    block + top-k."""
    name, module = backend
    model = make_model(seed, n_users, n_items, density, user_based=user_based, center=center, storage=storage,
                       dtype=dtype, ties=ties)
    symmetric = storage == "dense"
    if symmetric:
        model = symmetric_model(model, ties)
    rng = np.random.default_rng(seed)
    seen = random_seen(rng, n_users, n_items)
    users = rng.integers(-1, n_users, 6).astype(np.int32)
    got = recommend(module, users, n_users, n_items, model, k, min_k, center, user_based, seen, top, exclude,
                    symmetric)
    want = recommend(reference, users, n_users, n_items, model, k, min_k, center, user_based, seen, top, exclude,
                     symmetric)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("user_based", [True, False])
@pytest.mark.parametrize("center", [NONE, MEAN, ZSCORE, BASELINE])
def test_recommend_larger_problem_with_ties(backend, reference, user_based, center):
    """Many candidates per user (selection), few (the streamed rows), ties, k above the
    candidates, empty and single-rating rows, unknown users."""
    name, module = backend
    n_users, n_items = (8, 10) if name == "cuda" else (40, 60)
    for density, ties in ((0.6, True), (0.6, False), (0.05, False)):
        model = symmetric_model(make_model(7, n_users, n_items, density, user_based=user_based, center=center,
                                           ties=ties), ties)
        seen = random_seen(np.random.default_rng(2), n_users, n_items)
        users = np.arange(-1, n_users, dtype=np.int32)
        for k, min_k in ((1, 1), (3, 2), (12, 1), (500, 1)):
            want = recommend(reference, users, n_users, n_items, model, k, min_k, center, user_based, seen, 7,
                             True, True)
            got = recommend(module, users, n_users, n_items, model, k, min_k, center, user_based, seen, 7, True, True)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("item_walk", [True, False], ids=["walk", "per-pair"])
@pytest.mark.parametrize("center", [NONE, MEAN, ZSCORE, BASELINE])
@pytest.mark.parametrize("n_users", [40, 150])
@pytest.mark.parametrize("probes", [None, 0], ids=["unpruned", "pruned"])
def test_cython_item_based_recommend_routes_equal_reference(reference, item_walk, center, n_users, probes,
                                                            monkeypatch):
    """The Cython backend's two item-based routes (the walk over each item's sorted neighbours,
    the per-pair route), forced either way, on problems where each user has many candidates
    (ties among similarities and at the k-th place), few, or one. 150 users: walk blocks of 128
    rows (two 64-user words) and 22 (one word, partly filled). Pruned: the walk's probe items fewer than
    the items (28 of 60, for the top 7), so that the other items are walked only where their
    bound reaches each user's floor."""
    from reckernels.backends.cython import knn as cython_knn

    module = backends.get_backend("cython")
    if probes is not None:
        monkeypatch.setattr(cython_knn, "WALK_PROBES", probes)
    monkeypatch.setattr(cython_knn, "WALK_TIER_ROWS", 128)  # 150 users: two blocks, of two words and one
    _check_routes(module, reference, 11, 3, n_users, 60, center, user_based=False, item_walk=item_walk)


def _check_routes(module, reference, seed, seen_seed, n_users, n_items, center, user_based, **options):
    """module.knn_recommend (symmetric dense storage, top 7, two threads) equals the reference on
    models with many candidates per row (ties among similarities and at the k-th place, or not)
    and few, for k from 1 to more than the candidates, seen items excluded or not."""
    for density, ties in ((0.6, True), (0.6, False), (0.05, False)):
        model = symmetric_model(make_model(seed, n_users, n_items, density, user_based=user_based, center=center,
                                           ties=ties), ties)
        cand, (means, sigmas, bu, bi, gm) = model
        seen = random_seen(np.random.default_rng(seen_seed), n_users, n_items)
        users = np.arange(-1, n_users, dtype=np.int32)
        for k, min_k, exclude in ((1, 1, True), (3, 2, False), (12, 1, True), (500, 1, True)):
            want = recommend(reference, users, n_users, n_items, model, k, min_k, center, user_based, seen, 7,
                             exclude, True)
            got = module.knn_recommend(users, *cand, k, min_k, center, user_based, means, sigmas, bu, bi, gm, *seen,
                                       n_items, 7, exclude, True, 2, **options)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("density_rule", [0.0, np.inf], ids=["bit-walk", "plain-walk"])
@pytest.mark.parametrize("center", [NONE, MEAN, ZSCORE, BASELINE])
@pytest.mark.parametrize("n_items", [60, 150])
def test_cython_user_based_recommend_walks_equal_reference(reference, density_rule, center, n_items, monkeypatch):
    """The Cython backend's two user-based walks, forced either way (BIT_WALK_DENSITY 0: always
    over bit sets of items; infinite: never), on problems with many candidates per item (ties
    among similarities and at the k-th place), few, or one; k from 1 to more than the raters.
    150 items: bit sets of three words, the last one partly filled."""
    from reckernels.backends.cython import knn as cython_knn

    module = backends.get_backend("cython")
    monkeypatch.setattr(cython_knn, "BIT_WALK_DENSITY", density_rule)
    _check_routes(module, reference, 13, 5, 40, n_items, center, user_based=True)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(0, 30), n_cols=st.integers(0, 30),
       dtype=st.sampled_from([np.float64, np.float32]), ties=st.booleans())
def test_cython_sorted_neighbours_equal_numpy(seed, n_rows, n_cols, dtype, ties):
    """Each row's positive similarities, most similar first, with their columns: a stable NumPy
    sort of the same rows gives the same values, and each (value, column) pair is the row's own."""
    try:
        from reckernels._cy import knn as compiled
    except ImportError:
        pytest.skip("the Cython extension is not built")
    rng = np.random.default_rng(seed)
    sim = rng.uniform(-1, 1, (n_rows, n_cols))
    if ties:
        sim = np.round(sim * 3) / 3  # zeros and repeated values
    sim = sim.astype(dtype)
    empty = np.empty((0, 0), np.float64 if dtype == np.float32 else np.float32)
    pair = (empty, sim) if dtype == np.float32 else (sim, empty)
    indptr, s, v = compiled.knn_sorted_neighbours(*pair, 2)
    assert indptr.shape == (n_rows + 1,) and indptr[0] == 0
    for x in range(n_rows):
        row_s, row_v = s[indptr[x]:indptr[x + 1]], v[indptr[x]:indptr[x + 1]]
        want = np.sort(sim[x][sim[x] > 0].astype(np.float64))[::-1]
        np.testing.assert_array_equal(row_s, want)
        np.testing.assert_array_equal(sim[x][row_v].astype(np.float64), row_s)
        assert len(set(row_v.tolist())) == len(row_v)


def test_cython_sorted_neighbours_kept_while_the_array_lives():
    """The item walk sorts a similarity array's neighbours once: a second call on the same array
    returns the same lists, a new array gets its own, and the entry goes when the array does."""
    import gc

    try:
        from reckernels.backends.cython import knn as cython_knn
    except ImportError:
        pytest.skip("the Cython extension is not built")
    from reckernels.backends._knn import split_similarity

    rng = np.random.default_rng(0)
    sim = rng.uniform(-1, 1, (20, 20))
    first = cython_knn._sorted_neighbours(sim, *split_similarity(sim), 1)
    assert cython_knn._sorted_neighbours(sim, *split_similarity(sim), 1) is first
    other = sim.copy()
    again = cython_knn._sorted_neighbours(other, *split_similarity(other), 1)
    assert again is not first
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    key = id(sim)
    del sim
    gc.collect()
    assert key not in cython_knn._SORTED_NEIGHBOURS
