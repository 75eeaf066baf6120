"""Contract: the LogisticMF half-epoch kernels equal the reference, for any thread count.

Rows of a half-epoch are independent (they read only the fixed side), so even several threads
must reproduce the reference: float32 at 1e-5 (the same operations in the same order, up to
the exponential's last bit), float64 at 1e-12.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def _interactions(seed, n_rows, n_cols, density, full_rows=0, empty_rows=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_rows, n_cols)) < density
    mask[:full_rows] = True
    if empty_rows:
        mask[-empty_rows:] = False
    indptr = np.zeros(n_rows + 1, np.int64)
    indptr[1:] = np.cumsum(mask.sum(axis=1))
    data = (1 + np.round(3 * rng.random(int(mask.sum())))).astype(dtype)
    return indptr, np.nonzero(mask)[1].astype(np.int32), data


def _model(seed, n_rows, n_cols, k, dtype):
    rng = np.random.default_rng(seed + 1)
    return (rng.standard_normal((n_rows, k)).astype(dtype), rng.standard_normal((n_cols, k)).astype(dtype),
            np.zeros((n_rows, k), dtype))


def _run(fn, csr, X, Y, G, halves, lr=1.0, reg=0.6, neg_prop=3, max_neg=5, fixed=-2, seed=11, n_threads=1):
    X, G = X.copy(), G.copy()
    sums = [fn(*csr, X, Y, G, lr, reg, neg_prop, max_neg, fixed, seed, h, n_threads) for h in range(halves)]
    return X, G, sums


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def _compare(got, want, dtype, k, fixed):
    np.testing.assert_allclose(got[0], want[0], **_tol(dtype))
    np.testing.assert_allclose(got[1], want[1], **_tol(dtype))
    np.testing.assert_allclose(np.array(got[2]), np.array(want[2]), rtol=1e-6)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), n_rows=st.integers(1, 8), n_cols=st.integers(1, 10),
       density=st.floats(0.0, 1.0), k=st.integers(2, 6), neg_prop=st.integers(0, 4), max_neg=st.integers(0, 12),
       dtype=st.sampled_from([np.float32, np.float64]), full_rows=st.integers(0, 1), empty_rows=st.integers(0, 2),
       n_threads=st.integers(1, 3))
def test_equals_reference(backend, reference, seed, n_rows, n_cols, density, k, neg_prop, max_neg, dtype, full_rows,
                          empty_rows, n_threads):
    name, module = backend
    full_rows = min(full_rows, n_rows)
    csr = _interactions(seed % 1000, n_rows, n_cols, density, full_rows, min(empty_rows, n_rows - full_rows), dtype)
    X, Y, G = _model(seed % 1000, n_rows, n_cols, k, dtype)
    fixed = -1 - seed % 2
    halves = 1 if name == "cuda" else 3
    want = _run(reference.lmf_half, csr, X, Y, G, halves, neg_prop=neg_prop, max_neg=max_neg, fixed=fixed, seed=seed)
    got = _run(module.lmf_half, csr, X, Y, G, halves, neg_prop=neg_prop, max_neg=max_neg, fixed=fixed, seed=seed,
               n_threads=n_threads)
    _compare(got, want, dtype, k, fixed)
    np.testing.assert_array_equal(got[0][:, fixed], X[:, fixed])  # the constant column stays
    empty = np.diff(csr[0]) == 0
    np.testing.assert_array_equal(got[0][empty], X[empty])  # rows without interactions are left alone


def test_edge_cases(backend, reference):
    """A row with every column (its negatives are all positives too), a single interaction, no interaction at all."""
    name, module = backend
    for csr in [(np.array([0, 4], np.int64), np.arange(4, dtype=np.int32), np.ones(4, np.float32)),
                (np.array([0, 0, 1, 1], np.int64), np.array([2], np.int32), np.array([3.0], np.float32)),
                (np.zeros(3, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))]:
        n_rows, n_cols = len(csr[0]) - 1, 4
        X, Y, G = _model(0, n_rows, n_cols, 3, np.float32)
        want = _run(reference.lmf_half, csr, X, Y, G, 2)
        got = _run(module.lmf_half, csr, X, Y, G, 2, n_threads=2)
        _compare(got, want, np.float32, 3, -2)
    assert got[2] == [(0.0, 0.0), (0.0, 0.0)]


def test_ties_equal_rows_get_equal_updates(backend):
    """Two identical rows with the same factors differ only through their own draws (different streams)."""
    name, module = backend
    csr = (np.array([0, 2, 4], np.int64), np.array([0, 1, 0, 1], np.int32), np.ones(4, np.float32))
    X, Y, G = _model(1, 2, 2, 3, np.float32)
    X[1] = X[0]
    got = _run(module.lmf_half, csr, X, Y, G, 1, neg_prop=1, max_neg=0)  # no negatives: only the positives count
    np.testing.assert_array_equal(got[0][0], got[0][1])


def test_bad_input_raises(backend):
    name, module = backend
    csr = _interactions(0, 4, 5, 0.5)
    X, Y, G = _model(0, 4, 5, 3, np.float32)
    with pytest.raises(ValueError, match="data float32"):
        module.lmf_half(csr[0], csr[1], csr[2].astype(np.float64), X, Y, G, 1.0, 0.1, 2, 3, -1, 0, 0, 1)
    with pytest.raises(ValueError, match="column indices must lie"):
        module.lmf_half(*csr, X, Y[:2].copy(), G, 1.0, 0.1, 2, 3, -1, 0, 0, 1)
    with pytest.raises(ValueError, match="G X's shape"):
        module.lmf_half(*csr, X, Y, G[:, :2].copy(), 1.0, 0.1, 2, 3, -1, 0, 0, 1)
    with pytest.raises(ValueError, match="fixed_col"):
        module.lmf_half(*csr, X, Y, G, 1.0, 0.1, 2, 3, 7, 0, 0, 1)
    with pytest.raises(ValueError, match="reg must be a finite"):
        module.lmf_half(*csr, X, Y, G, 1.0, -0.1, 2, 3, -1, 0, 0, 1)
