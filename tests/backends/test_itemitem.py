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
