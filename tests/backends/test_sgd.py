"""Contract tests for the SGD kernels (SVD, SVD++): every compiled backend against the reference.

Tolerances: float64 1e-12 (the compiled kernels sum the dot products in another order than
np.dot, and SVD++'s kernels keep the implicit sum incrementally where the reference recomputes
it: both change only the rounding); float32 1e-5 absolute on factors of size ~0.1 (about 100
float32 ulps after a few epochs). Hogwild with several threads is not deterministic: it is
tested for convergence, and with one thread against the reference.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckernels.algorithms.svd import block_of, build_grid, row_blocks, numpy_grid
from reckernels.data import CSR

LR = [0.01, 0.012, 0.011, 0.009]
REG = [0.02, 0.03, 0.025, 0.015]
LR_PP = LR + [0.013]
REG_PP = REG + [0.035]


def problem(seed, n_users, n_items, n, k):
    """By-user and by-item CSR with edge cases: one user with a single rating, one user and one
    item with none, ratings in the CSR in data order; plus a model initialised like SVD."""
    rng = np.random.default_rng(seed)
    keys = rng.choice((n_users - 2) * (n_items - 1), size=n, replace=False)
    users = np.append(keys // (n_items - 1), n_users - 2)
    items = np.append(keys % (n_items - 1), rng.integers(0, n_items - 1))
    ratings = rng.integers(1, 6, size=n + 1).astype(float)
    by_user = _csr(users, items, ratings, n_users)
    by_item = _csr(items, users, ratings, n_items)
    init = np.random.RandomState(seed)
    model = [np.zeros(n_users), np.zeros(n_items), init.normal(0, 0.1, (n_users, k)),
             init.normal(0, 0.1, (n_items, k)), init.normal(0, 0.1, (n_items, k))]
    return by_user, by_item, float(ratings.mean()), model


def _csr(rows, cols, values, n_rows):
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return CSR(indptr, cols[order].astype(np.int32), values[order].astype(np.float64))


def copies(model, dtype=np.float64):
    return [np.array(a, dtype=dtype) for a in model]


def sizes(name):
    return (12, 9, 40, 4) if name == "cuda" else (30, 20, 200, 6)


def assert_close(got, want, tol):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=tol)


# ---------------------------------------------------------------------------------------- SVD
@pytest.mark.parametrize("biased", [True, False])
def test_svd_epoch_matches_reference(backend, reference, biased):
    name, kernels = backend
    c, _, mu, model = problem(1, *sizes(name))
    mu = mu if biased else 0.0
    want, got = copies(model[:4]), copies(model[:4])
    for _ in range(3):
        loss_want = reference.svd_epoch(c.indptr, c.indices, c.data, mu, *want, LR, REG, biased)
        loss_got = kernels.svd_epoch(c.indptr, c.indices, c.data, mu, *got, LR, REG, biased)
    assert_close(got, want, 1e-12)
    assert loss_got == pytest.approx(loss_want, rel=1e-12)
    if not biased:
        assert not got[0].any() and not got[1].any()  # biases neither read as non-zero nor learned


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16), k=st.integers(1, 9))
def test_svd_epoch_random_shapes(seed, k):
    from reckernels import backends

    reference = backends.get_backend("reference")
    c, _, mu, model = problem(seed, 15, 11, 60, k)
    want = copies(model[:4])
    reference.svd_epoch(c.indptr, c.indices, c.data, mu, *want, LR, REG, True)
    for name in ("cython", "numba"):
        if not backends.is_available(name):
            continue
        got = copies(model[:4])
        backends.get_backend(name).svd_epoch(c.indptr, c.indices, c.data, mu, *got, LR, REG, True)
        assert_close(got, want, 1e-12)


def test_svd_all_equal_ratings(backend, reference):
    """Zero variance: every error is the same function of the factors, nothing degenerates."""
    name, kernels = backend
    c, _, _, model = problem(2, *sizes(name))
    data = np.full_like(c.data, 3.0)
    want, got = copies(model[:4]), copies(model[:4])
    reference.svd_epoch(c.indptr, c.indices, data, 3.0, *want, LR, REG, True)
    kernels.svd_epoch(c.indptr, c.indices, data, 3.0, *got, LR, REG, True)
    assert_close(got, want, 1e-12)
    assert np.isfinite(got[2]).all()


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_svd_blocked_matches_reference(backend, reference, dtype, tol):
    name, kernels = backend
    c, _, mu, model = problem(3, *sizes(name))
    grid = build_grid(c, 3, np.dtype(dtype))
    lr, reg = np.array(LR, dtype), np.array(REG, dtype)
    want, got = copies(model[:4], dtype), copies(model[:4], dtype)
    for _ in range(3):
        loss_want = reference.svd_epoch_blocked(*grid, dtype(mu), *want, lr, reg, True)
        loss_got = kernels.svd_epoch_blocked(*grid, mu, *got, lr, reg, True, 2)
    assert all(a.dtype == dtype for a in got)
    assert_close(got, want, tol)
    assert loss_got == pytest.approx(loss_want, rel=1e-5)


def test_svd_blocked_one_cell_is_the_exact_epoch(backend):
    name, kernels = backend
    c, _, mu, model = problem(4, *sizes(name))
    exact, blocked = copies(model[:4]), copies(model[:4])
    kernels.svd_epoch(c.indptr, c.indices, c.data, mu, *exact, LR, REG, True)
    grid = build_grid(c, 1, np.dtype(np.float64), interleave=False)
    kernels.svd_epoch_blocked(*grid, mu, *blocked, LR, REG, True, 1)
    assert_close(blocked, exact, 1e-12)


@pytest.mark.parametrize("k", [1, 3, 8, 16, 37])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_svd_blocked_neighbours_sharing_a_row(backend, reference, dtype, tol, k):
    """Runs of consecutive ratings that share the user, the item, both or neither (the Cython
    kernel runs up to four at a time when they share nothing), row lengths below, at and past
    its vector width, with and without a partial last vector: the result is the sequential one."""
    name, kernels = backend
    users = [0, 1, 1, 2, 3, 3, 0, 2, 1, 0, 3] + [0, 1, 2, 3, 1, 0, 3, 2, 0, 1, 2, 2, 3, 0, 1, 3]
    items = [0, 0, 1, 1, 2, 2, 3, 4, 4, 2, 1] + [0, 1, 2, 3, 4, 3, 1, 0, 2, 3, 3, 4, 0, 1, 2, 4]
    rng = np.random.RandomState(7)
    users = np.array(users + rng.randint(0, 4, 40).tolist(), dtype=np.int32)
    items = np.array(items + rng.randint(0, 5, 40).tolist(), dtype=np.int32)
    ratings = rng.randint(1, 6, len(users)).astype(dtype)
    grid = (np.array([0, len(users)], dtype=np.int64), users, items, ratings)
    model = [rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 5), rng.normal(0, 0.1, (4, k)), rng.normal(0, 0.1, (5, k))]
    lr, reg = np.array(LR, dtype), np.array(REG, dtype)
    want, got = copies(model, dtype), copies(model, dtype)
    for _ in range(3):
        loss_want = reference.svd_epoch_blocked(*grid, dtype(3.0), *want, lr, reg, True)
        loss_got = kernels.svd_epoch_blocked(*grid, dtype(3.0), *got, lr, reg, True, 1)
    assert_close(got, want, tol)
    assert loss_got == pytest.approx(loss_want, rel=1e-5)


def test_build_grid_interleaves_each_cell():
    c, _, _, _ = problem(8, 30, 20, 200, 2)
    plain = build_grid(c, 3, np.dtype(np.float64), interleave=False)
    mixed = build_grid(c, 3, np.dtype(np.float64))
    np.testing.assert_array_equal(plain[0], mixed[0])
    for lo, hi in zip(plain[0][:-1], plain[0][1:]):
        n = hi - lo  # four consecutive parts of sizes ceil((n - j) / 4), read in turn
        starts = np.concatenate([[0], np.cumsum([(n - j + 3) // 4 for j in range(4)])[:-1]])
        want = np.array([lo + starts[r % 4] + r // 4 for r in range(n)], dtype=np.int64)
        np.testing.assert_array_equal(np.sort(want), np.arange(lo, hi))
        for a, b in zip(plain[1:], mixed[1:]):
            np.testing.assert_array_equal(b[lo:hi], a[want])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), n_users=st.integers(3, 40), n_items=st.integers(2, 30),
       fill=st.floats(0.0, 0.6), n_blocks=st.integers(1, 9), interleave=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_compiled_grid_is_the_numpy_grid(seed, n_users, n_items, fill, n_blocks, interleave, dtype):
    """The counting sort (kernels/sgd.pyx) gives the stable sort's arrays: cells empty, shorter
    than the four interleaved parts, users and items without ratings, more blocks than rows."""
    n = int(fill * (n_users - 2) * (n_items - 1))
    c, _, _, _ = problem(seed, n_users, n_items, n, 1)
    got = build_grid(c, n_blocks, np.dtype(dtype), interleave)
    want = numpy_grid(c, *row_blocks(c, n_blocks), n_blocks, np.dtype(dtype), interleave)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_compiled_grid_of_no_ratings():
    c = CSR(np.zeros(4, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0))
    block_ptr, users, items, ratings = build_grid(c, 2, np.dtype(np.float32))
    assert block_ptr.tolist() == [0] * 5 and len(users) == len(items) == len(ratings) == 0


def test_compiled_grid_checks_its_inputs():
    from reckernels.backends.cython import sgd as compiled

    c, _, _, _ = problem(9, 10, 8, 30, 1)
    ub, ib = row_blocks(c, 3)
    args = (c.indptr, c.indices, c.data)
    with pytest.raises(ValueError, match="n_blocks and ways"):
        compiled.build_grid(*args, ub, ib, 0, 4, np.float32)
    with pytest.raises(ValueError, match="user_block"):
        compiled.build_grid(*args, ub + 3, ib, 3, 4, np.float32)
    with pytest.raises(ValueError, match="item_block"):
        compiled.build_grid(*args, ub, ib - 1, 3, 4, np.float32)
    with pytest.raises(ValueError, match="fewer than the items"):
        compiled.build_grid(*args, ub, ib[:2], 3, 4, np.float32)
    with pytest.raises(ValueError, match="indptr"):
        compiled.build_grid(c.indptr[:-1], c.indices, c.data, ub, ib, 3, 4, np.float32)


@pytest.mark.parametrize("counts, n_blocks, want", [
    ([5, 5, 5, 5], 2, [0, 0, 1, 1]),
    ([10, 1, 1, 1, 1], 2, [0, 1, 1, 1, 1]),  # a heavy row fills its block alone
    ([0, 3, 0, 3], 2, [0, 0, 1, 1]),  # rows without ratings ride along
    ([2, 2], 4, [0, 2]),  # more blocks than rows: some stay empty
    ([0, 0, 0], 3, [0, 0, 0]),
    ([], 3, []),
])
def test_block_of_cuts_consecutive_ranges_by_rating_count(counts, n_blocks, want):
    got = block_of(np.array(counts, dtype=np.int64), n_blocks)
    assert got.dtype == np.int32 and got.tolist() == want
    assert np.all(np.diff(got) >= 0)


def test_blocked_result_does_not_depend_on_threads(backend):
    name, kernels = backend
    if name == "cuda":
        pytest.skip("the cuda kernel takes no thread count (each grid cell is a GPU thread)")
    c, _, mu, model = problem(5, *sizes(name))
    grid = build_grid(c, 4, np.dtype(np.float64))
    results = []
    for n_threads in (1, 2):
        m = copies(model[:4])
        for _ in range(2):
            kernels.svd_epoch_blocked(*grid, mu, *m, LR, REG, True, n_threads)
        results.append(m)
    assert_close(results[0], results[1], 0.0)


@pytest.mark.parametrize("kind", ["svd", "svdpp"])
def test_parallel_loss_decreases(backend, kind):
    """Many concurrent updaters (SVD: a 2 x 2 grid; SVD++: Hogwild) still converge, in float32."""
    name, kernels = backend
    c, _, mu, model = problem(6, *sizes(name))
    m = copies(model, np.float32)
    lr, reg = np.full(5, 0.05, np.float32), np.full(5, 0.01, np.float32)
    grid = build_grid(c, 2, np.dtype(np.float32))
    data = c.data.astype(np.float32)
    losses = []
    for _ in range(6):
        if kind == "svd":
            losses.append(kernels.svd_epoch_blocked(*grid, mu, *m[:4], lr[:4], reg[:4], True, 2))
        else:
            losses.append(kernels.svdpp_epoch_hogwild(c.indptr, c.indices, data, mu, *m, lr, reg, 4))
    assert losses[-1] < 0.8 * losses[0]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert all(np.isfinite(a).all() for a in m)


# ---------------------------------------------------------------------------------------- SVD++
def test_svdpp_epoch_matches_reference(backend, reference):
    name, kernels = backend
    c, _, mu, model = problem(7, *sizes(name))
    want, got = copies(model), copies(model)
    for _ in range(3):
        loss_want = reference.svdpp_epoch(c.indptr, c.indices, c.data, mu, *want, LR_PP, REG_PP)
        loss_got = kernels.svdpp_epoch(c.indptr, c.indices, c.data, mu, *got, LR_PP, REG_PP)
    assert_close(got, want, 1e-12)
    assert loss_got == pytest.approx(loss_want, rel=1e-12)
    assert np.array_equal(got[4][-1], model[4][-1])  # the never-rated item's y_j is untouched


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_svdpp_hogwild_one_thread_matches_reference(backend, reference, dtype, tol):
    """With one thread Hogwild is the serial epoch, in either dtype."""
    name, kernels = backend
    c, _, mu, model = problem(8, *sizes(name))
    lr, reg = np.array(LR_PP, dtype), np.array(REG_PP, dtype)
    data = c.data.astype(dtype)
    want, got = copies(model, dtype), copies(model, dtype)
    for _ in range(3):
        reference.svdpp_epoch_hogwild(c.indptr, c.indices, data, dtype(mu), *want, lr, reg, 1)
        kernels.svdpp_epoch_hogwild(c.indptr, c.indices, data, mu, *got, lr, reg, 1)
    assert all(a.dtype == dtype for a in got)
    assert_close(got, want, tol)


# ---------------------------------------------------------------------------------------- bad input
def test_bad_arguments_are_refused(backend):
    name, kernels = backend
    c, ci, mu, model = problem(9, *sizes(name))
    bu, bi, pu, qi, yj = copies(model)
    with pytest.raises(ValueError, match="pu must be"):
        kernels.svd_epoch(c.indptr, c.indices, c.data, mu, bu, bi, pu[:-1].copy(), qi, LR, REG, True)
    with pytest.raises(ValueError, match="lr must hold 4"):
        kernels.svd_epoch(c.indptr, c.indices, c.data, mu, bu, bi, pu, qi, LR[:3], REG, True)
    with pytest.raises(ValueError, match="reg must hold"):
        kernels.svd_epoch(c.indptr, c.indices, c.data, mu, bu, bi, pu, qi, LR, [-1.0] * 4, True)
    with pytest.raises(ValueError, match="share memory"):
        kernels.svd_epoch(c.indptr, c.indices, c.data, mu, bu, bi, pu, pu[: len(bi)], LR, REG, True)
    with pytest.raises(ValueError, match="float64"):
        kernels.svdpp_epoch(c.indptr, c.indices, c.data, mu, bu, bi, pu, qi, yj.astype(np.float32), LR_PP, REG_PP)
    grid = list(build_grid(c, 2, np.dtype(np.float64)))
    with pytest.raises(ValueError, match="B\\*B \\+ 1"):
        kernels.svd_epoch_blocked(grid[0][:-1], *grid[1:], mu, bu, bi, pu, qi, LR, REG, True, 1)
    with pytest.raises(ValueError, match="dtype"):
        kernels.svd_epoch_blocked(*grid[:3], grid[3].astype(np.float32), mu, bu, bi, pu, qi, LR, REG, True, 1)
