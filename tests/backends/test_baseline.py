"""Contract: the baseline kernels of every backend equal the reference, bit for bit.

Both kernels sum each row left to right in the data's order, like the reference, so the
results agree exactly (the CUDA simulator included).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckernels import Dataset


def _random_data(seed, n_users, n_items, density, constant=False):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[rng.integers(0, n_users), :] = False  # an empty row, dropped by Dataset (users must rate)
    u, i = np.nonzero(mask)
    order = rng.permutation(len(u))
    if len(u) == 0:
        u, i, order = np.array([0]), np.array([0]), np.array([0])
    r = np.full(len(order), 3.0) if constant else rng.integers(1, 6, len(order)).astype(float)
    return Dataset(u[order], i[order], r, rating_scale=(1, 5))


def _run(module, data, method, epochs):
    bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)
    u, it = data.csr, data.csc
    for _ in range(epochs):
        if method == "als":
            module.baseline_als_epoch(u.indptr, u.indices, u.data, it.indptr, it.indices, it.data,
                                      data.global_mean, 15.0, 10.0, bu, bi, 2)
        else:
            module.baseline_sgd_epoch(u.indptr, u.indices, u.data, data.global_mean, 0.02, 0.005, bu, bi)
    return bu, bi


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 12), n_items=st.integers(1, 12),
       density=st.floats(0.05, 1.0), method=st.sampled_from(["als", "sgd"]))
def test_compiled_equals_reference_on_random_data(backend, reference, seed, n_users, n_items, density, method):
    name, module = backend
    data = _random_data(seed, n_users, n_items, density)
    got = _run(module, data, method, 2)
    want = _run(reference, data, method, 2)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("method", ["als", "sgd"])
@pytest.mark.parametrize("case", ["single_rating", "all_equal", "one_user"])
def test_edge_cases(backend, reference, method, case):
    _, module = backend
    if case == "single_rating":
        data = Dataset([1], [1], [4.0])
    elif case == "all_equal":
        data = _random_data(3, 8, 6, 0.5, constant=True)
    else:
        data = Dataset([1, 1, 1], [1, 2, 3], [1.0, 3.0, 5.0])
    got = _run(module, data, method, 3)
    want = _run(reference, data, method, 3)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert np.all(np.isfinite(got[0])) and np.all(np.isfinite(got[1]))
