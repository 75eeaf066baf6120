"""Contract: the BPR epoch kernels equal the reference on one thread, and stay sane Hogwild.

One thread is the serial order, so cython, numba and cuda (one GPU updater) must reproduce the
reference's factors (float32: the same operations in the same order, up to the exponential's
last bit; compared at 1e-5) and its correct/skipped counts exactly. Several threads race by
design (Hogwild); those runs are checked for the same draws (skipped is a function of the
draws only) and for finite factors.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def _interactions(seed, n_users, n_items, density, full_users=0, empty_users=0):
    """Sorted CSR rows; the first ``full_users`` liked every item, the last ``empty_users`` nothing."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[:full_users] = True
    if empty_users:
        mask[-empty_users:] = False
    indptr = np.zeros(n_users + 1, np.int64)
    indptr[1:] = np.cumsum(mask.sum(axis=1))
    return indptr, np.nonzero(mask)[1].astype(np.int32)


def _factors(seed, n_users, n_items, k, dtype):
    rng = np.random.default_rng(seed + 1)
    X = ((rng.random((n_users, k + 1)) - 0.5) / k).astype(dtype)
    X[:, k] = 1
    Y = ((rng.random((n_items, k + 1)) - 0.5) / k).astype(dtype)
    return X, Y


def _run(fn, indptr, indices, X, Y, epochs, lr=0.05, reg=0.01, verify=True, seed=7, n_threads=1):
    X, Y = X.copy(), Y.copy()
    counts = [fn(indptr, indices, X, Y, lr, reg, verify, seed, e, n_threads) for e in range(epochs)]
    return X, Y, counts


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), n_users=st.integers(1, 8), n_items=st.integers(1, 10),
       density=st.floats(0.05, 1.0), k=st.integers(1, 6), verify=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), full_users=st.integers(0, 1), empty_users=st.integers(0, 2))
def test_one_thread_equals_reference(backend, reference, seed, n_users, n_items, density, k, verify, dtype,
                                     full_users, empty_users):
    name, module = backend
    indptr, indices = _interactions(seed % 1000, n_users, n_items, density, min(full_users, n_users),
                                    min(empty_users, n_users - min(full_users, n_users)))
    X, Y = _factors(seed % 1000, n_users, n_items, k, dtype)
    epochs = 1 if name == "cuda" else 3
    want = _run(reference.bpr_epoch, indptr, indices, X, Y, epochs, verify=verify, seed=seed)
    got = _run(module.bpr_epoch, indptr, indices, X, Y, epochs, verify=verify, seed=seed)
    assert got[2] == want[2]
    np.testing.assert_allclose(got[0], want[0], **_tol(dtype))
    np.testing.assert_allclose(got[1], want[1], **_tol(dtype))
    np.testing.assert_array_equal(got[0][:, k], 1)  # the constant column is never trained


def test_edge_cases(backend, reference):
    """A user who liked everything (no negative exists: all skipped, no hang), an empty user, one interaction."""
    name, module = backend
    full = (np.array([0, 5], np.int64), np.arange(5, dtype=np.int32))
    X, Y = _factors(0, 1, 5, 3, np.float32)
    Xr, Yr, counts = _run(module.bpr_epoch, *full, X, Y, 2)
    assert counts == [(0, 5), (0, 5)]
    np.testing.assert_array_equal(Xr, X)
    one = (np.array([0, 0, 1, 1], np.int64), np.array([2], np.int32))  # users 0 and 2 have no interaction
    X, Y = _factors(1, 3, 4, 2, np.float64)
    for verify in (True, False):
        got = _run(module.bpr_epoch, *one, X, Y, 2, verify=verify)
        want = _run(reference.bpr_epoch, *one, X, Y, 2, verify=verify)
        assert got[2] == want[2] == ([(0, 1)] * 2 if verify else got[2])
        np.testing.assert_allclose(got[0], want[0], **_tol(np.float64))
        np.testing.assert_allclose(got[1], want[1], **_tol(np.float64))
        np.testing.assert_array_equal(got[0][[0, 2]], X[[0, 2]])  # users without interactions untouched
    empty = (np.zeros(3, np.int64), np.zeros(0, np.int32))
    X, Y = _factors(2, 2, 3, 2, np.float32)
    assert _run(module.bpr_epoch, *empty, X, Y, 1)[2] == [(0, 0)]


def test_without_verification_i_equals_j_is_a_step(backend, reference):
    """Unverified, a sample may pair an item with itself (it then moves only by regularisation and its bias step)."""
    name, module = backend
    ties = (np.array([0, 1, 2], np.int64), np.array([0, 0], np.int32))  # two users, one item: i == j always
    X, Y = _factors(3, 2, 1, 4, np.float32)
    got = _run(module.bpr_epoch, *ties, X, Y, 2, verify=False)
    want = _run(reference.bpr_epoch, *ties, X, Y, 2, verify=False)
    assert got[2] == want[2]
    np.testing.assert_allclose(got[1], want[1], **_tol(np.float32))


def test_hogwild_draws_same_samples(backend, reference):
    name, module = backend
    n_users, n_items = (12, 15) if name == "cuda" else (60, 80)
    indptr, indices = _interactions(5, n_users, n_items, 0.3)
    X, Y = _factors(5, n_users, n_items, 4, np.float32)
    want = _run(reference.bpr_epoch, indptr, indices, X, Y, 2)
    got = _run(module.bpr_epoch, indptr, indices, X, Y, 2, n_threads=3)
    assert [s for _, s in got[2]] == [s for _, s in want[2]]  # skips depend on the draws only
    assert np.isfinite(got[0]).all() and np.isfinite(got[1]).all()
    # the chunks run concurrently, so the factors differ from the serial order: quality is tested in tests/test_bpr.py


def test_seed_and_epoch_change_the_draws(backend):
    name, module = backend
    indptr, indices = _interactions(2, 10, 12, 0.3)
    X, Y = _factors(2, 10, 12, 3, np.float64)
    a = _run(module.bpr_epoch, indptr, indices, X, Y, 1, seed=1)
    b = _run(module.bpr_epoch, indptr, indices, X, Y, 1, seed=2)
    assert not np.array_equal(a[1], b[1])


def test_bad_input_raises(backend):
    name, module = backend
    indptr, indices = _interactions(0, 4, 5, 0.5)
    X, Y = _factors(0, 4, 5, 2, np.float32)
    with pytest.raises(ValueError, match="same dtype"):
        module.bpr_epoch(indptr, indices, X, Y.astype(np.float64), 0.1, 0.0, True, 0, 0, 1)
    with pytest.raises(ValueError, match="item indices must lie"):
        module.bpr_epoch(indptr, indices, X, Y[:2].copy(), 0.1, 0.0, True, 0, 0, 1)
    with pytest.raises(ValueError, match="indptr must have length"):
        module.bpr_epoch(indptr[:-1], indices, X, Y, 0.1, 0.0, True, 0, 0, 1)
    with pytest.raises(ValueError, match="learning_rate must be a finite"):
        module.bpr_epoch(indptr, indices, X, Y, np.nan, 0.0, True, 0, 0, 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        module.bpr_epoch(indptr, indices, np.asfortranarray(X), Y, 0.1, 0.0, True, 0, 0, 1)
