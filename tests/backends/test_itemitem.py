"""Contract: itemitem_scores (a user's row times the sparse item-item similarity) equals the
reference in every backend.

The CPU backends add each product as its own term in the user's stored order, as the
reference does, so float64 scores agree exactly; CUDA on a real GPU may fuse a multiply-add,
so it is compared at 1e-12 (under the simulator it is exact too).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def _csr(mask, values, rng):
    """CSR of the masked entries, each row's columns in a shuffled (insertion-like) order."""
    indptr, indices, data = [0], [], []
    for r in range(mask.shape[0]):
        cols = np.flatnonzero(mask[r])
        rng.shuffle(cols)
        indices.extend(cols)
        data.extend(values[r, cols])
        indptr.append(len(indices))
    return np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int32), np.array(data, dtype=np.float64)


def _similarity(rng, n_items, k, ties=False):
    """A top-k-like item x item CSR: row i holds up to k neighbours (itself maybe), ascending."""
    indptr, indices, data = [0], [], []
    for i in range(n_items):
        nb = np.sort(rng.choice(n_items, size=rng.integers(0, min(k, n_items) + 1), replace=False))
        indices.extend(nb)
        data.extend(np.ones(len(nb)) if ties else rng.normal(0, 1, len(nb)))
        indptr.append(len(indices))
    return np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int32), np.array(data, dtype=np.float64)


def _both(backend, reference, ui, users, sim, n_items, n_threads=2):
    name, module = backend
    got = np.full((len(users), n_items), np.nan)
    want = np.full((len(users), n_items), np.nan)
    module.itemitem_scores(*ui, users, *sim, got, n_threads)
    reference.itemitem_scores(*ui, users, *sim, want, 1)
    if name == "cuda":
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, want)
    return got


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 8), n_items=st.integers(1, 9),
       density=st.floats(0.0, 1.0), k=st.integers(1, 6), ties=st.booleans())
def test_compiled_equals_reference_on_random_data(backend, reference, seed, n_users, n_items, density, k, ties):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    values = np.ones(mask.shape) if ties else rng.exponential(2.0, mask.shape)
    ui = _csr(mask, values, rng)
    sim = _similarity(rng, n_items, k, ties)
    users = rng.integers(-1, n_users, size=rng.integers(0, 2 * n_users + 1)).astype(np.int32)
    got = _both(backend, reference, ui, users, sim, n_items)
    assert (got[users < 0] == 0).all()


def _dense_check(ui, users, sim, n_items, got):
    """The scores are C[users] @ S, computed densely (small inputs only)."""
    n_users = len(ui[0]) - 1
    C = np.zeros((n_users, n_items))
    S = np.zeros((n_items, n_items))
    for u in range(n_users):
        C[u, ui[1][ui[0][u]:ui[0][u + 1]]] = ui[2][ui[0][u]:ui[0][u + 1]]
    for i in range(n_items):
        S[i, sim[1][sim[0][i]:sim[0][i + 1]]] = sim[2][sim[0][i]:sim[0][i + 1]]
    want = np.where((users >= 0)[:, None], C[np.maximum(users, 0)] @ S, 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["no_cooccurrence", "single_interaction", "all_equal", "ties",
                                  "k_larger_than_candidates", "user_without_interactions", "empty_similarity"])
def test_edge_cases(backend, reference, case):
    rng = np.random.default_rng(7)
    n_users, n_items = 4, 6
    mask = rng.random((n_users, n_items)) < 0.5
    values = rng.exponential(1.0, mask.shape)
    sim = _similarity(rng, n_items, 3)
    if case == "no_cooccurrence":  # item 5's similarity row holds only itself, nobody lists it
        sp_indptr, sp_indices, sp_data = sim
        keep = sp_indices != 5
        rows = np.repeat(np.arange(n_items), np.diff(sp_indptr))[keep]
        idx, dat = list(sp_indices[keep]), list(sp_data[keep])
        counts = np.bincount(rows, minlength=n_items)
        counts[5] = 0
        order = np.argsort(rows, kind="stable")
        idx = list(np.asarray(idx)[order][: counts.sum()]) + [5]
        dat = list(np.asarray(dat)[order][: counts.sum()]) + [2.0]
        counts[5] = 1
        indptr = np.zeros(n_items + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        sim = (indptr, np.array(idx, dtype=np.int32), np.array(dat))
    elif case == "single_interaction":
        mask = np.zeros((n_users, n_items), dtype=bool)
        mask[2, 3] = True
    elif case == "all_equal":
        values = np.full(mask.shape, 3.0)
        sim = (sim[0], sim[1], np.full(len(sim[2]), 0.5))
    elif case == "ties":
        mask[:] = True
        values = np.ones(mask.shape)
        sim = _similarity(rng, n_items, 3, ties=True)
    elif case == "k_larger_than_candidates":  # every item lists every item
        sim = _similarity(np.random.default_rng(1), n_items, 50)
    elif case == "user_without_interactions":
        mask[1] = False
    else:
        sim = (np.zeros(n_items + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0))
    ui = _csr(mask, values, rng)
    users = np.array([0, 1, 2, 3, -1, 1], dtype=np.int32)
    got = _both(backend, reference, ui, users, sim, n_items)
    _dense_check(ui, users, sim, n_items, got)
    if case in ("user_without_interactions", "empty_similarity"):
        assert (got[users == 1] == 0).all()
    if case == "single_interaction":
        assert (got[users != 2] == 0).all()


def test_no_users_and_no_items(backend, reference):
    _, module = backend
    ui = (np.array([0, 0], dtype=np.int64), np.zeros(0, np.int32), np.zeros(0))
    sim = (np.zeros(1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0))
    out = np.zeros((1, 0))
    module.itemitem_scores(*ui, np.array([0], np.int32), *sim, out, 1)
    out = np.zeros((0, 3))
    sim3 = (np.zeros(4, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0))
    module.itemitem_scores(*ui, np.zeros(0, np.int32), *sim3, out, 1)


@pytest.mark.parametrize("bad", ["out_shape", "out_dtype", "lengths", "user_range", "indptr_end"])
def test_kernel_checks_its_arguments(backend, bad):
    _, module = backend
    rng = np.random.default_rng(2)
    mask = rng.random((3, 4)) < 0.6
    indptr, indices, data = _csr(mask, np.ones(mask.shape), rng)
    sim = list(_similarity(rng, 4, 2))
    users = np.array([0, 2], dtype=np.int32)
    out = np.zeros((2, 4))
    if bad == "out_shape":
        out = np.zeros((2, 5))
    elif bad == "out_dtype":
        out = np.zeros((2, 4), dtype=np.float32)
    elif bad == "lengths":
        data = data[:-1]
    elif bad == "user_range":
        users = np.array([0, 3], dtype=np.int32)
    else:
        sim[0] = sim[0].copy()
        sim[0][-1] += 1
    with pytest.raises(ValueError):
        module.itemitem_scores(indptr, indices, data, users, *sim, out, 1)


# ---------------------------------------------------------------- itemitem_topk (fused sum + k-heap)
def _topk_both(backend, reference, ui, users, sim, n_items, k, filter_seen, n_threads=2):
    """Every backend's itemitem_topk equals the reference's, lengths, ids and scores, bit for bit."""
    name, module = backend
    out = []
    for mod, threads in ((module, n_threads), (reference, 1)):
        ids = np.full((len(users), k), -7, dtype=np.int32)  # sentinels: the rows past a length stay untouched
        scores = np.full((len(users), k), 9.5)
        lengths = np.full(len(users), -3, dtype=np.int64)
        mod.itemitem_topk(*ui, users, *sim, filter_seen, ids, scores, lengths, threads)
        out.append((ids, scores, lengths))
    (gi, gs, gl), (wi, ws, wl) = out
    np.testing.assert_array_equal(gl, wl)
    np.testing.assert_array_equal(gi, wi)
    if name == "cuda":
        np.testing.assert_allclose(gs, ws, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(gs, ws)
    return wi, ws, wl


def _topk_invariants(ui, users, sim, n_items, k, filter_seen, ids, scores, lengths, reference):
    """The reference's lists against the dense scores: the candidates are the reached items, the
    kept scores are the k largest of them, decreasing, and rows end where their length says."""
    dense = np.zeros((len(users), n_items))
    reference.itemitem_scores(*ui, users, *sim, dense, 1)
    reached = np.zeros((len(users), n_items))
    reference.itemitem_scores(ui[0], ui[1], np.ones(len(ui[2])), users, sim[0], sim[1], np.ones(len(sim[2])),
                              reached, 1)
    for r, u in enumerate(users.tolist()):
        if u < 0:
            assert lengths[r] == 0
            continue
        cand = np.flatnonzero(reached[r] > 0)
        row = dense[r].copy()
        if filter_seen:
            row[ui[1][ui[0][u]:ui[0][u + 1]]] = 0.0
        n = lengths[r]
        assert n == min(k, len(cand))
        assert set(ids[r, :n].tolist()) <= set(cand.tolist())
        np.testing.assert_array_equal(scores[r, :n], np.sort(row[cand])[::-1][:n])
        np.testing.assert_array_equal(scores[r, :n], row[ids[r, :n]])
        assert (ids[r, n:] == -7).all() and (scores[r, n:] == 9.5).all()
        # equal scores: larger id first
        same = scores[r, 1:n] == scores[r, :max(0, n - 1)]
        assert (ids[r, 1:n][same] < ids[r, :max(0, n - 1)][same]).all()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 8), n_items=st.integers(1, 9),
       density=st.floats(0.0, 1.0), k_sim=st.integers(1, 6), k=st.integers(1, 12), ties=st.booleans(),
       filter_seen=st.booleans())
def test_topk_equals_reference_on_random_data(backend, reference, seed, n_users, n_items, density, k_sim, k, ties,
                                              filter_seen):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    values = np.ones(mask.shape) if ties else rng.exponential(2.0, mask.shape)
    ui = _csr(mask, values, rng)
    sim = _similarity(rng, n_items, k_sim, ties)
    users = rng.integers(-1, n_users, size=rng.integers(0, 2 * n_users + 1)).astype(np.int32)
    got = _topk_both(backend, reference, ui, users, sim, n_items, k, filter_seen)
    _topk_invariants(ui, users, sim, n_items, k, filter_seen, *got, reference)


@pytest.mark.parametrize("case", ["single_interaction", "all_equal", "ties", "k_larger_than_candidates",
                                  "user_without_interactions", "empty_similarity", "negative_scores"])
@pytest.mark.parametrize("filter_seen", [True, False])
def test_topk_edge_cases(backend, reference, case, filter_seen):
    rng = np.random.default_rng(11)
    n_users, n_items, k = 4, 7, 3
    mask = rng.random((n_users, n_items)) < 0.5
    values = rng.exponential(1.0, mask.shape)
    sim = _similarity(rng, n_items, 3)
    if case == "single_interaction":
        mask = np.zeros((n_users, n_items), dtype=bool)
        mask[2, 3] = True
    elif case == "all_equal":  # every reached item ties: which k stay is the visiting order's (implicit's)
        values = np.ones(mask.shape)
        sim = (sim[0], sim[1], np.full(len(sim[2]), 0.5))
    elif case == "ties":
        mask[:] = True
        values = np.ones(mask.shape)
        sim = _similarity(rng, n_items, 3, ties=True)
    elif case == "k_larger_than_candidates":
        k = 50
    elif case == "user_without_interactions":
        mask[1] = False
    elif case == "negative_scores":  # a liked item at 0 then outranks the negative ones
        sim = (sim[0], sim[1], -np.abs(sim[2]) - 0.1)
    else:
        sim = (np.zeros(n_items + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0))
    ui = _csr(mask, values, rng)
    users = np.array([0, 1, 2, 3, -1, 1, 2], dtype=np.int32)
    ids, scores, lengths = _topk_both(backend, reference, ui, users, sim, n_items, k, filter_seen)
    _topk_invariants(ui, users, sim, n_items, k, filter_seen, ids, scores, lengths, reference)
    if case in ("user_without_interactions", "empty_similarity"):
        assert (lengths[users == 1] == 0).all()
    if case == "single_interaction":
        assert (lengths[users != 2] == 0).all()


def test_topk_keeps_the_first_visited_at_a_tie(reference):
    """implicit's rule, by hand: user 0 likes items 0 then 1; item 0 reaches 2, 3; item 1 reaches 4.
    First touches 2, 3, 4, visited newest first: 4, 3, 2, all scoring 1. A heap of 2 takes 4, 3;
    2 does not beat the smallest (strictly), so 4 and 3 stay, larger id first."""
    ui = (np.array([0, 2], np.int64), np.array([0, 1], np.int32), np.ones(2))
    sim = (np.array([0, 2, 3, 3, 3, 3], np.int64), np.array([2, 3, 4], np.int32), np.ones(3))
    ids, scores, n = np.zeros((1, 2), np.int32), np.zeros((1, 2)), np.zeros(1, np.int64)
    reference.itemitem_topk(*ui, np.array([0], np.int32), *sim, True, ids, scores, n, 1)
    assert n.tolist() == [2] and ids.tolist() == [[4, 3]] and scores.tolist() == [[1.0, 1.0]]


def test_topk_no_users_no_items_and_k_zero(backend):
    _, module = backend
    ui = (np.array([0, 1], dtype=np.int64), np.zeros(1, np.int32), np.ones(1))
    sim = (np.array([0, 1], dtype=np.int64), np.zeros(1, np.int32), np.ones(1))
    empty = (np.zeros((0, 2), np.int32), np.zeros((0, 2)), np.zeros(0, np.int64))
    module.itemitem_topk(*ui, np.zeros(0, np.int32), *sim, True, *empty, 1)
    n = np.full(1, 5, np.int64)
    module.itemitem_topk(*ui, np.array([0], np.int32), *sim, True, np.zeros((1, 0), np.int32), np.zeros((1, 0)), n, 1)
    assert n.tolist() == [0]
    ui0 = (np.array([0, 0], dtype=np.int64), np.zeros(0, np.int32), np.zeros(0))
    sim0 = (np.zeros(1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0))
    n = np.full(1, 5, np.int64)
    module.itemitem_topk(*ui0, np.array([0], np.int32), *sim0, False, np.zeros((1, 3), np.int32), np.zeros((1, 3)),
                         n, 1)
    assert n.tolist() == [0]


@pytest.mark.parametrize("bad", ["ids_dtype", "scores_shape", "len_shape", "user_range", "lengths"])
def test_topk_checks_its_arguments(backend, bad):
    _, module = backend
    rng = np.random.default_rng(2)
    mask = rng.random((3, 4)) < 0.6
    indptr, indices, data = _csr(mask, np.ones(mask.shape), rng)
    sim = _similarity(rng, 4, 2)
    users = np.array([0, 2], dtype=np.int32)
    ids, scores, n = np.zeros((2, 3), np.int32), np.zeros((2, 3)), np.zeros(2, np.int64)
    if bad == "ids_dtype":
        ids = ids.astype(np.int64)
    elif bad == "scores_shape":
        scores = np.zeros((2, 4))
    elif bad == "len_shape":
        n = np.zeros(3, np.int64)
    elif bad == "user_range":
        users = np.array([0, 3], dtype=np.int32)
    else:
        data = data[:-1]
    with pytest.raises(ValueError):
        module.itemitem_topk(indptr, indices, data, users, *sim, True, ids, scores, n, 1)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 7), n_mid=st.integers(1, 9), n_cols=st.integers(1, 9),
       k=st.integers(1, 10))
def test_topk_with_a_non_square_S(backend, reference, seed, n_rows, n_mid, n_cols, k):
    """The fit's use: rows = items by user, S = weights by user (n_users x n_items, n_cols given)."""
    rng = np.random.default_rng(seed)
    ui = _csr(rng.random((n_rows, n_mid)) < 0.6, rng.exponential(1.0, (n_rows, n_mid)), rng)
    s = _csr(rng.random((n_mid, n_cols)) < 0.5, rng.exponential(1.0, (n_mid, n_cols)), rng)
    users = np.arange(n_rows, dtype=np.int32)
    name, module = backend
    got = []
    for mod in (module, reference):
        ids, scores, n = np.full((n_rows, k), -7, np.int32), np.zeros((n_rows, k)), np.zeros(n_rows, np.int64)
        mod.itemitem_topk(*ui, users, *s, False, ids, scores, n, 2, n_cols=n_cols)
        got.append((ids, scores, n))
    np.testing.assert_array_equal(got[0][2], got[1][2])
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-12 if name == "cuda" else 0, atol=0)
    assert (got[1][0] < n_cols).all()


def test_topk_rejects_a_bad_n_cols(backend):
    _, module = backend
    ui = (np.array([0, 1], dtype=np.int64), np.zeros(1, np.int32), np.ones(1))
    with pytest.raises(ValueError, match="n_cols"):
        module.itemitem_topk(*ui, np.array([0], np.int32), *ui, False, np.zeros((1, 2), np.int32), np.zeros((1, 2)),
                             np.zeros(1, np.int64), 1, n_cols=-1)
