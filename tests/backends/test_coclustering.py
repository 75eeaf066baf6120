"""Contract: the co-clustering and NormalPredictor kernels of every backend equal the reference.

Ratings here are multiples of 0.5, whose sums are exact in any order, so the cluster averages,
the clusters (errors summed in data order, first minimum wins) and the estimates agree bit
for bit, the CUDA simulator included. The CUDA sum of squares is a parallel reduction and is
compared to rounding.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckernels import Dataset


def _random_data(seed, n_users, n_items, density, constant=False):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[rng.integers(0, n_users), 0] = True  # at least one rating
    u, i = np.nonzero(mask)
    order = rng.permutation(len(u))
    r = np.full(len(order), 3.0) if constant else rng.integers(2, 11, len(order)) / 2.0
    return Dataset(u[order], i[order], r, rating_scale=(1, 5))


def _means(csr):
    n = np.diff(csr.indptr)
    return np.bincount(np.repeat(np.arange(len(n)), n), weights=csr.data, minlength=len(n)) / n


def _fit(module, data, n_cltr_u, n_cltr_i, epochs, seed):
    """The estimator's epoch loop, written against one backend's kernels."""
    rng = np.random.RandomState(seed)
    cu = rng.randint(n_cltr_u, size=data.n_users).astype(np.int64)
    ci = rng.randint(n_cltr_i, size=data.n_items).astype(np.int64)
    u, it = data.csr, data.csc
    means = (_means(u), _means(it), cu, ci)
    avgs = (np.empty(n_cltr_u), np.empty(n_cltr_i), np.empty((n_cltr_u, n_cltr_i)))
    moved = []
    for _ in range(epochs):
        module.cocluster_averages(u.indptr, u.indices, u.data, cu, ci, data.global_mean, *avgs, 2)
        moved.append(module.cocluster_assign_users(u.indptr, u.indices, u.data, *means, *avgs, 2))
        moved.append(module.cocluster_assign_items(it.indptr, it.indices, it.data, *means, *avgs, 2))
    module.cocluster_averages(u.indptr, u.indices, u.data, cu, ci, data.global_mean, *avgs, 2)
    # every pair, plus unknown users and items
    users = np.concatenate([np.repeat(np.arange(data.n_users), data.n_items), [-1, 0, -1]]).astype(np.int32)
    items = np.concatenate([np.tile(np.arange(data.n_items), data.n_users), [0, -1, -1]]).astype(np.int32)
    est = np.empty(len(users))
    module.cocluster_predict(users, items, *means, *avgs, data.global_mean, est, 2)
    return cu, ci, avgs, moved, est


def _compare(got, want, data):
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    for g, w in zip(got[2], want[2]):
        np.testing.assert_array_equal(g, w)
    assert got[3] == want[3]
    np.testing.assert_array_equal(got[4], want[4])
    assert np.all(got[4][-3:] == data.global_mean)  # unknown user, item, both
    assert np.all(np.isfinite(got[4]))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 10), n_items=st.integers(1, 10),
       density=st.floats(0.1, 1.0), n_cltr_u=st.integers(1, 4), n_cltr_i=st.integers(1, 4))
def test_compiled_equals_reference_on_random_data(backend, reference, seed, n_users, n_items, density,
                                                  n_cltr_u, n_cltr_i):
    _, module = backend
    data = _random_data(seed, n_users, n_items, density)
    _compare(_fit(module, data, n_cltr_u, n_cltr_i, 2, seed), _fit(reference, data, n_cltr_u, n_cltr_i, 2, seed),
             data)


@pytest.mark.parametrize("case", ["single_rating", "all_equal", "more_clusters_than_rows", "one_user",
                                  "single_rating_user"])
def test_edge_cases(backend, reference, case):
    _, module = backend
    n_cltr = (3, 3)
    if case == "single_rating":
        data = Dataset([1], [1], [4.0])
    elif case == "all_equal":  # every error ties: first cluster wins everywhere
        data = _random_data(3, 6, 5, 0.5, constant=True)
    elif case == "more_clusters_than_rows":  # empty clusters average to the global mean
        data = _random_data(4, 3, 4, 0.7)
        n_cltr = (7, 6)
    elif case == "one_user":
        data = Dataset([1, 1, 1], [1, 2, 3], [1.0, 3.0, 5.0])
    else:  # user 9 has a single rating
        data = Dataset([1, 1, 2, 2, 9], [1, 2, 1, 3, 2], [1.0, 4.5, 2.0, 5.0, 3.5])
    got = _fit(module, data, *n_cltr, 3, 0)
    want = _fit(reference, data, *n_cltr, 3, 0)
    _compare(got, want, data)
    if case == "all_equal":
        assert np.all(got[0] == 0) and np.all(got[1] == 0)
    if case == "more_clusters_than_rows":
        assert np.sum(got[2][0] == data.global_mean) >= n_cltr[0] - data.n_users


def test_ties_go_to_the_first_cluster(backend, reference):
    """Two identical empty clusters: every row picks the lower id (np.argmin's first minimum)."""
    _, module = backend
    data = Dataset([0, 0, 1, 1], [0, 1, 0, 1], [2.0, 4.0, 2.0, 4.0])
    cu, ci = np.array([2, 2], np.int64), np.array([1, 1], np.int64)
    avgs = (np.full(3, 3.0), np.full(2, 3.0), np.full((3, 2), 3.0))
    u = data.csr
    means = (_means(u), _means(data.csc), cu, ci)
    moved = module.cocluster_assign_users(u.indptr, u.indices, u.data, *means, *avgs, 2)
    assert moved == 2 and list(cu) == [0, 0]


@pytest.mark.parametrize("data", [np.array([3.0]), np.array([1.0, 2.0, 5.0, 4.5]),
                                  np.random.default_rng(0).uniform(1, 5, 300)])
def test_centered_sum_squares(backend, reference, data):
    name, module = backend
    center = float(np.mean(data))
    want = reference.centered_sum_squares(data, center)
    got = module.centered_sum_squares(data, center)
    if name == "cuda":  # parallel reduction with atomics: equal to rounding
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    else:
        assert got == want
        assert want == sum((r - center) ** 2 for r in data.tolist())  # Python's own sum, like scikit-surprise


def test_shape_mismatch_is_refused():
    from reckernels.backends import cython as cy

    data = Dataset([0, 1], [0, 1], [1.0, 2.0])
    u = data.csr
    with pytest.raises(ValueError, match="avg_co"):
        cy.cocluster_averages(u.indptr, u.indices, u.data, np.zeros(2, np.int64), np.zeros(2, np.int64), 1.5,
                              np.empty(2), np.empty(2), np.empty((3, 2)), 1)
    with pytest.raises(ValueError, match="inner ids"):
        cy.cocluster_predict(np.array([5], np.int32), np.array([0], np.int32), np.zeros(2), np.zeros(2),
                             np.zeros(2, np.int64), np.zeros(2, np.int64), np.zeros(1), np.zeros(1),
                             np.zeros((1, 1)), 1.5, np.empty(1), 1)
