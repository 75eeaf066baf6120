"""Contract: the Slope One kernels of every backend equal the reference.

Every backend sums a pair (i, j) over i's raters in ascending user order and divides once, so
deviations, supports and predictions agree bit for bit with the reference (asserted exactly),
in dense and in sparse (CSR) storage, computed in one call or block by block.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckernels.algorithms.slopeone import compute_deviations
from reckernels.data import CSR
from reckernels.similarity import transpose_csr


def _ratings(mask, values, seed=0):
    """(by_item, by_user) CSR pairs of the masked entries; each user's items in shuffled order."""
    rng = np.random.default_rng(seed)
    indptr, indices, data = [0], [], []
    for u in range(mask.shape[0]):
        cols = np.flatnonzero(mask[u])
        rng.shuffle(cols)
        indices.extend(cols)
        data.extend(values[u, cols])
        indptr.append(len(indices))
    by_user = CSR(np.array(indptr, np.int64), np.array(indices, np.int32), np.array(data, np.float64))
    by_item = CSR(*transpose_csr(*by_user, mask.shape[1]))
    return by_item, by_user


def _random(seed, n_users, n_items, density, kind):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    if kind == "int":
        values = rng.integers(1, 6, (n_users, n_items)).astype(float)
    elif kind == "half":
        values = rng.integers(1, 11, (n_users, n_items)) / 2
    else:
        values = rng.normal(0, 1.5, (n_users, n_items))
    return _ratings(mask, values, seed)


def _fit(module, by_item, by_user, storage, block_rows=None):
    return compute_deviations(module, by_item, by_user, storage=storage, n_threads=2, block_rows=block_rows)


def _predict(module, fitted, by_user, users, items, global_mean=3.0):
    storage, dev, freq, s_indptr, s_indices = fitted
    n_users = len(by_user.indptr) - 1
    counts = np.diff(by_user.indptr)
    mean = np.where(counts > 0, np.bincount(np.repeat(np.arange(n_users), counts), weights=by_user.data,
                                            minlength=n_users) / np.maximum(counts, 1), global_mean)
    users = np.asarray(users, np.int32)
    items = np.asarray(items, np.int32)
    est = np.full(len(users), np.nan)
    imp = np.full(len(users), 7, np.uint8)
    if storage == "dense":
        module.slopeone_predict_dense(users, items, by_user.indptr, by_user.indices, mean, dev, freq, global_mean,
                                      est, imp, 2)
    else:
        module.slopeone_predict_sparse(users, items, by_user.indptr, by_user.indices, mean, s_indptr, s_indices, dev,
                                       global_mean, est, imp, 2)
    return est, imp


def _all_pairs(n_users, n_items):
    u, i = np.meshgrid(np.arange(-1, n_users), np.arange(-1, n_items), indexing="ij")
    return u.ravel(), i.ravel()


def _assert_same_fit(got, want):
    assert got[0] == want[0]
    for g, w in zip(got[1:], want[1:]):
        if w is None:
            assert g is None
        else:
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def _check_backend(backend, reference, by_item, by_user, storage, block_rows=None):
    """Fits and predictions equal the reference's, with the by-user lists in insertion order and
    ascending (where the Cython dense kernel walks half the pairs and mirrors them)."""
    _, module = backend
    got = _fit(module, by_item, by_user, storage, block_rows)
    want = _fit(reference, by_item, by_user, storage, block_rows)
    _assert_same_fit(got, want)
    ascending = CSR(*transpose_csr(*by_item, len(by_user.indptr) - 1))
    _assert_same_fit(_fit(module, by_item, ascending, storage, block_rows), want)
    pairs = _all_pairs(len(by_user.indptr) - 1, len(by_item.indptr) - 1)
    e1, i1 = _predict(module, got, by_user, *pairs)
    e2, i2 = _predict(reference, want, by_user, *pairs)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(i1, i2)
    assert not np.isnan(e1).any()
    return got, e1, i1


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 9), n_items=st.integers(1, 8),
       density=st.floats(0.1, 1.0), kind=st.sampled_from(["int", "half", "real"]),
       storage=st.sampled_from(["dense", "sparse"]), block_rows=st.sampled_from([None, 1, 3]))
def test_compiled_equals_reference_on_random_data(backend, reference, seed, n_users, n_items, density, kind, storage,
                                                  block_rows):
    by_item, by_user = _random(seed, n_users, n_items, density, kind)
    _check_backend(backend, reference, by_item, by_user, storage, block_rows)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_a_larger_set_in_blocks(backend, reference, storage):
    n_users, n_items = (8, 10) if backend[0] == "cuda" else (40, 60)
    by_item, by_user = _random(5, n_users, n_items, 0.2, "real")
    _check_backend(backend, reference, by_item, by_user, storage, block_rows=7)


def test_reference_matches_the_definition(reference):
    """dev(i, j) = mean over common users of r_ui - r_uj; the estimate as scikit-surprise's."""
    rng = np.random.default_rng(2)
    mask = rng.random((12, 9)) < 0.5
    values = rng.normal(3, 1, (12, 9))
    by_item, by_user = _ratings(mask, values)
    storage, dev, freq, _, _ = _fit(reference, by_item, by_user, "dense")
    for i in range(9):
        for j in range(9):
            common = mask[:, i] & mask[:, j]
            assert freq[i, j] == common.sum()
            want = 0.0 if i == j or not common.any() else np.mean(values[common, i] - values[common, j])
            assert dev[i, j] == pytest.approx(want, abs=1e-12)
    est, imp = _predict(reference, (storage, dev, freq, None, None), by_user, [3], [4])
    rated = [j for j in by_user.indices[by_user.indptr[3]:by_user.indptr[4]] if freq[4, j] > 0]
    want = values[3, mask[3]].mean() + (np.mean([dev[4, j] for j in rated]) if rated else 0.0)
    assert est[0] == pytest.approx(want, abs=1e-12) and imp[0] == 0


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_edge_cases(backend, reference, storage):
    # user 0 rated items 0, 1 (4 and 2); user 1 rated item 1 only; user 2 rated item 2 only (nobody
    # co-rated item 2 with another); item 3 has no rating at all; user 3 has no rating
    mask = np.zeros((4, 4), bool)
    mask[0, [0, 1]] = mask[1, 1] = mask[2, 2] = True
    values = np.array([[4.0, 2.0, 0, 0], [0, 5.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 0, 0]])
    by_item, by_user = _ratings(mask, values)
    (st_, dev, freq, s_indptr, s_indices), est, imp = _check_backend(backend, reference, by_item, by_user, storage)
    if storage == "dense":
        np.testing.assert_array_equal(freq, [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
        np.testing.assert_array_equal(dev, [[0, 2, 0, 0], [-2, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    else:
        np.testing.assert_array_equal(s_indptr, [0, 2, 4, 5, 5])
        np.testing.assert_array_equal(s_indices, [0, 1, 0, 1, 2])
        np.testing.assert_array_equal(freq, [1, 1, 1, 2, 1])
        np.testing.assert_array_equal(dev, [0, 2, -2, 0, 0])
    u, i = _all_pairs(4, 4)
    table = dict(zip(zip(u.tolist(), i.tolist()), zip(est.tolist(), imp.tolist())))
    assert table[(-1, 0)] == (3.0, 1) and table[(0, -1)] == (3.0, 1) and table[(-1, -1)] == (3.0, 1)
    assert table[(1, 0)] == (5.0 + 2.0, 0)  # user 1's one item: mean 5 + dev(0, 1)
    assert table[(0, 2)] == (3.0, 0)  # nothing co-rated with item 2: the user's mean alone
    assert table[(2, 2)] == (3.0, 0)  # a single rating: its own diagonal, dev 0
    assert table[(3, 0)] == (3.0, 0)  # a user without ratings: the mean passed in for them


def test_all_equal_ratings_give_zero_deviations(backend, reference):
    rng = np.random.default_rng(4)
    mask = rng.random((7, 6)) < 0.6
    by_item, by_user = _ratings(mask, np.full((7, 6), 3.5))
    for storage in ("dense", "sparse"):
        got, est, imp = _check_backend(backend, reference, by_item, by_user, storage)
        assert not got[1].any()
        np.testing.assert_array_equal(est, np.where(imp == 1, 3.0, 3.5))


def test_dense_and_sparse_give_the_same_predictions(backend, reference):
    by_item, by_user = _random(9, 9, 12, 0.3, "real")
    _, module = backend
    dense = _fit(module, by_item, by_user, "dense")
    sparse = _fit(module, by_item, by_user, "sparse", block_rows=5)
    rows = np.repeat(np.arange(12), np.diff(sparse[3]))
    np.testing.assert_array_equal(dense[2][rows, sparse[4]], sparse[2])
    np.testing.assert_array_equal(dense[1][rows, sparse[4]], sparse[1])
    assert (dense[2] > 0).sum() == len(sparse[4])
    pairs = _all_pairs(9, 12)
    np.testing.assert_array_equal(_predict(module, dense, by_user, *pairs)[0], _predict(module, sparse, by_user, *pairs)[0])


def test_kernels_reject_wrong_shapes(backend):
    _, module = backend
    by_item, by_user = _random(1, 4, 3, 0.7, "int")
    with pytest.raises(ValueError, match="dev must be"):
        module.slopeone_dense(*by_item, *by_user, 0, 3, np.zeros((3, 2)), np.zeros((3, 3), np.int32), 1)
    with pytest.raises(ValueError, match="not within"):
        module.slopeone_dense(*by_item, *by_user, 0, 4, np.zeros((3, 3)), np.zeros((3, 3), np.int32), 1)
    with pytest.raises(ValueError, match="counts must be"):
        module.slopeone_count(by_item.indptr, by_item.indices, by_user.indptr, by_user.indices, 0, 3,
                              np.zeros(2, np.int64), 1)
    with pytest.raises(ValueError, match="same length|one length"):
        module.slopeone_predict_dense(np.zeros(2, np.int32), np.zeros(1, np.int32), by_user.indptr, by_user.indices,
                                      np.zeros(4), np.zeros((3, 3)), np.zeros((3, 3), np.int32), 3.0, np.zeros(2),
                                      np.zeros(2, np.uint8), 1)
