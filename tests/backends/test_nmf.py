"""Contract tests for the NMF epoch: every compiled backend against the reference.

The compiled kernels sum every numerator, denominator and dot product in the reference's order
(scikit-surprise's), so they agree to the last bits; tolerances are 1e-12 (the reference's
loops and the compiled ones may round a product differently only where a compiler fuses it,
which the kernels forbid). The unbiased epoch is parallel over users and items; its factors must
not depend on the thread count at all.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckernels import backends
from reckernels.algorithms.nmf import by_item_view
from reckernels.data import CSR

LR = [0.01, 0.012]
REG = [0.02, 0.03, 0.06, 0.05]


def problem(seed, n_users, n_items, n, k, low=1):
    """By-user CSR (ratings in data order) with edge cases: the last user and the last item have
    no ratings (as after subsetting), the one before has a single rating; factors uniform [0, 1)."""
    rng = np.random.default_rng(seed)
    keys = rng.choice((n_users - 2) * (n_items - 1), size=n, replace=False)
    users = np.append(keys // (n_items - 1), n_users - 2)
    items = np.append(keys % (n_items - 1), rng.integers(0, n_items - 1))
    ratings = rng.integers(low, 6, size=n + 1).astype(float)
    order = np.argsort(users, kind="stable")
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(users, minlength=n_users), out=indptr[1:])
    c = CSR(indptr, items[order].astype(np.int32), ratings[order])
    init = np.random.RandomState(seed)
    model = [np.zeros(n_users), np.zeros(n_items), init.uniform(0, 1, (n_users, k)), init.uniform(0, 1, (n_items, k))]
    return c, by_item_view(c, n_items), float(ratings.mean()), model


def copies(model):
    return [np.array(a, dtype=np.float64) for a in model]


def sizes(name):
    return (10, 8, 30, 3) if name == "cuda" else (30, 20, 200, 6)


def run(kernels, c, view, mu, model, biased, epochs=3, lr=LR, reg=REG, n_threads=1, data=None):
    if data is None:
        data = c.data
    else:  # the by-item view carries the ratings: that of these ones
        view = by_item_view(CSR(c.indptr, c.indices, data), len(view[0]) - 1)
    loss = None
    for _ in range(epochs):
        loss = kernels.nmf_epoch(c.indptr, c.indices, data, *view, mu, *model, lr, reg, biased, n_threads)
    return loss


def assert_close(got, want, tol=1e-12):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=tol)


@pytest.mark.parametrize("biased", [False, True])
def test_nmf_epoch_matches_reference(backend, reference, biased):
    name, kernels = backend
    c, view, mu, model = problem(1, *sizes(name))
    want, got = copies(model), copies(model)
    loss_want = run(reference, c, view, mu, want, biased)
    loss_got = run(kernels, c, view, mu, got, biased)
    assert_close(got, want)
    assert loss_got == pytest.approx(loss_want, rel=1e-12)
    assert (got[2] >= 0).all() and (got[3] >= 0).all()  # non-negative ratings keep the factors >= 0
    if not biased:
        assert not got[0].any() and not got[1].any()
    # the user and the item without ratings keep their factors (0 / 0 is skipped)
    np.testing.assert_array_equal(got[2][-1], model[2][-1])
    np.testing.assert_array_equal(got[3][-1], model[3][-1])


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), k=st.integers(1, 9), biased=st.booleans(),
       shape=st.tuples(st.integers(3, 16), st.integers(2, 12)))
def test_nmf_epoch_random_shapes(seed, k, biased, shape):
    n_users, n_items = shape
    n = int(np.random.default_rng(seed).integers(1, (n_users - 2) * (n_items - 1) + 1))
    c, view, mu, model = problem(seed, n_users, n_items, n, k, low=0)
    reference = backends.get_backend("reference")
    want = copies(model)
    loss_want = run(reference, c, view, mu, want, biased, epochs=2)
    for name in ("cython", "numba"):
        if not backends.is_available(name):
            continue
        got = copies(model)
        loss_got = run(backends.get_backend(name), c, view, mu, got, biased, epochs=2, n_threads=2)
        assert_close(got, want)
        assert loss_got == pytest.approx(loss_want, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("biased", [False, True])
def test_nmf_epoch_independent_of_threads(biased):
    c, view, mu, model = problem(4, 40, 25, 300, 5)
    for name in ("cython", "numba"):
        if not backends.is_available(name):
            continue
        kernels = backends.get_backend(name)
        one, two = copies(model), copies(model)
        run(kernels, c, view, mu, one, biased, n_threads=1)
        run(kernels, c, view, mu, two, biased, n_threads=2)
        for a, b in zip(one, two):
            np.testing.assert_array_equal(a, b)


def test_nmf_single_rating(backend, reference):
    _, kernels = backend
    c = CSR(np.array([0, 1], dtype=np.int64), np.array([0], dtype=np.int32), np.array([4.0]))
    view = by_item_view(c, 1)
    model = [np.zeros(1), np.zeros(1), np.array([[0.5, 0.25]]), np.array([[0.75, 0.1]])]
    for biased in (False, True):
        want, got = copies(model), copies(model)
        run(reference, c, view, 4.0, want, biased, epochs=2)
        run(kernels, c, view, 4.0, got, biased, epochs=2)
        assert_close(got, want)
        assert np.isfinite(got[2]).all() and np.isfinite(got[3]).all()


def test_nmf_all_equal_ratings(backend, reference):
    name, kernels = backend
    c, view, _, model = problem(2, *sizes(name))
    data = np.full_like(c.data, 3.0)
    for biased in (False, True):
        want, got = copies(model), copies(model)
        run(reference, c, view, 3.0, want, biased, data=data)
        run(kernels, c, view, 3.0, got, biased, data=data)
        assert_close(got, want)
        assert np.isfinite(got[2]).all() and np.isfinite(got[3]).all()


def test_nmf_zero_denominators(backend, reference):
    """reg = 0 and a factor column that is 0 for every item: each user's sums in that column are
    0 / 0. The update is skipped (scikit-surprise would raise ZeroDivisionError); no NaN appears.
    Zero factors stay zero, and zero ratings drive the factors of their user to 0."""
    name, kernels = backend
    c, view, mu, model = problem(5, *sizes(name))
    model[3][:, 0] = 0.0  # items' factor 0: users' column 0 sums to 0 / 0
    data = c.data.copy()
    data[c.indptr[0]:c.indptr[1]] = 0.0  # user 0 rates everything 0: num = 0
    reg = [0.0, 0.0, 0.0, 0.0]
    want, got = copies(model), copies(model)
    run(reference, c, view, mu, want, False, reg=reg, data=data)
    run(kernels, c, view, mu, got, False, reg=reg, data=data)
    assert_close(got, want)
    for a in got:
        assert np.isfinite(a).all()
    np.testing.assert_array_equal(got[2][:, 0], model[2][:, 0])  # 0 / 0 skipped: unchanged
    assert not got[3][:, 0].any()  # zero stays zero
    assert not got[2][0, 1:].any()  # all-zero ratings: num = 0


def test_nmf_empty_and_checks(reference):
    """No ratings at all: nothing changes; bad shapes are refused with the argument named."""
    for name in ("reference", "cython", "numba"):
        if not backends.is_available(name):
            continue
        kernels = backends.get_backend(name)
        c = CSR(np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0))
        model = [np.zeros(2), np.zeros(2), np.full((2, 3), 0.5), np.full((2, 3), 0.5)]
        got = copies(model)
        assert run(kernels, c, by_item_view(c, 2), 0.0, got, True, epochs=1) == 0.0
        assert_close(got, model, 0)
        with pytest.raises(ValueError, match="lr must hold"):
            kernels.nmf_epoch(c.indptr, c.indices, c.data, *by_item_view(c, 2), 0.0, *got, [0.1], REG, False)
        with pytest.raises(ValueError, match="by-item view"):
            kernels.nmf_epoch(c.indptr, c.indices, c.data, *by_item_view(c, 3), 0.0, *got, LR, REG, False)


def test_by_item_view_is_the_stable_transpose():
    """Each item's ratings in CSR order, for 16-bit item ids (radix sort) and wider ones, with
    their users and ratings; t_slot maps every CSR position to its place in the view."""
    rng = np.random.default_rng(0)
    for n_items in (50, 70_000):
        indptr = np.array([0, 3, 3, 7], dtype=np.int64)
        indices = rng.integers(0, n_items, size=7).astype(np.int32)
        indices[4] = indices[0]  # an item rated by two users
        data = rng.integers(1, 6, size=7).astype(float)
        t_indptr, t_users, t_data, t_slot = by_item_view(CSR(indptr, indices, data), n_items)
        users = np.repeat(np.arange(3), np.diff(indptr))
        assert sorted(t_slot.tolist()) == list(range(7))
        for i in range(n_items):
            want = [p for p in range(7) if indices[p] == i]
            assert t_slot[want].tolist() == list(range(t_indptr[i], t_indptr[i + 1]))
            assert t_users[t_indptr[i]:t_indptr[i + 1]].tolist() == users[want].tolist()
            assert t_data[t_indptr[i]:t_indptr[i + 1]].tolist() == data[want].tolist()
