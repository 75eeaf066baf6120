"""Contract: the similarity kernels of every backend equal the reference.

Every backend sums a pair (x, y) over x's columns in x's stored order and finishes with the
same scalar arithmetic, so float64 results agree exactly (asserted to 1e-12). float32 storage
is the float64 result rounded once, so it must equal the rounded reference exactly.
Top-M lists must hold the same neighbours (largest nonzero similarity, ties to the smaller
row index) in ascending index order.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reckernels.similarity import KINDS, compute_similarity, transpose_csr


def _csr(dense_values, mask):
    """CSR of the masked entries, each row's columns in a shuffled (insertion-like) order."""
    rng = np.random.default_rng(0)
    indptr, indices, data = [0], [], []
    for r in range(mask.shape[0]):
        cols = np.flatnonzero(mask[r])
        rng.shuffle(cols)
        indices.extend(cols)
        data.extend(dense_values[r, cols])
        indptr.append(len(indices))
    return (np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int32),
            np.array(data, dtype=np.float64), mask.shape[1])


def _random_csr(seed, n_rows, n_cols, density, signed):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_rows, n_cols)) < density
    values = rng.normal(0, 1.5, (n_rows, n_cols)) if signed else rng.integers(1, 6, (n_rows, n_cols)).astype(float)
    return _csr(values, mask)


def _both(name, csr, **kw):
    return (compute_similarity(*csr, backend=name, **kw), compute_similarity(*csr, backend="reference", **kw))


def _assert_same(got, want, exact_cast=False):
    assert got.storage == want.storage
    if got.storage == "dense":
        if exact_cast:
            np.testing.assert_array_equal(got.dense, want.dense)
        else:
            np.testing.assert_allclose(got.dense, want.dense, rtol=0, atol=1e-12)
        assert not np.isnan(got.dense).any()
    else:
        np.testing.assert_array_equal(got.idx, want.idx)
        np.testing.assert_allclose(got.sim, want.sim, rtol=0, atol=0 if exact_cast else 1e-12)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 10), n_cols=st.integers(1, 8),
       density=st.floats(0.1, 1.0), signed=st.booleans(), kind=st.sampled_from(KINDS),
       min_support=st.integers(0, 3), shrinkage=st.sampled_from([0.0, 2.5, 100.0]),
       m=st.integers(1, 5), topm=st.booleans())
def test_compiled_equals_reference_on_random_data(backend, seed, n_rows, n_cols, density, signed, kind,
                                                  min_support, shrinkage, m, topm):
    name, _ = backend
    csr = _random_csr(seed, n_rows, n_cols, density, signed)
    storage = dict(storage="topm", max_neighbors=m) if topm else dict(storage="dense")
    got, want = _both(name, csr, kind=kind, min_support=min_support, shrinkage=shrinkage, **storage)
    _assert_same(got, want)


@pytest.mark.parametrize("kind", KINDS)
def test_dense_and_topm_in_blocks_on_a_larger_set(backend, kind):
    """Several kernel calls (block_rows=7), integer ratings (exact sums, many ties), float32 too."""
    name, _ = backend
    n_rows = 10 if name == "cuda" else 40
    csr = _random_csr(11, n_rows, 12, 0.4, signed=False)
    for dtype in (np.float64, np.float32):
        got, want = _both(name, csr, kind=kind, storage="dense", block_rows=7, dtype=dtype, shrinkage=5.0)
        _assert_same(got, want, exact_cast=True)
        got, want = _both(name, csr, kind=kind, storage="topm", max_neighbors=4, block_rows=7, dtype=dtype)
        _assert_same(got, want, exact_cast=True)
    if name != "cuda":  # the thread count changes nothing (each row is summed by one thread)
        one = compute_similarity(*csr, kind=kind, backend=name, storage="topm", max_neighbors=5, n_threads=1)
        two = compute_similarity(*csr, kind=kind, backend=name, storage="topm", max_neighbors=5, n_threads=2)
        _assert_same(one, two, exact_cast=True)


def _edge_csr(case):
    nan = np.nan
    if case == "empty_row":  # row 1 rates nothing
        values = np.array([[5, 3, 1, 4], [nan] * 4, [4, 2, 2, 5], [1, nan, 3, 3]])
    elif case == "single_rating":  # row 0 has one rating
        values = np.array([[nan, 4, nan, nan], [5, 3, 1, 4], [4, 2, 2, 5]])
    elif case == "all_equal":  # zero variance everywhere: pearson 0, cosine 1, msd 1
        values = np.full((4, 5), 3.0)
    elif case == "one_common_column":
        values = np.array([[5, 2, nan, nan], [nan, 4, 1, nan], [nan, nan, 3, 5]])
    else:  # "ties": rows 1, 2, 3 are identical, so row 0 sees three equal similarities
        values = np.array([[5, 1, 3, 2], [4, 2, 3, 1], [4, 2, 3, 1], [4, 2, 3, 1], [1, 5, 2, 4]])
    mask = ~np.isnan(values)
    return _csr(np.nan_to_num(values), mask)


@pytest.mark.parametrize("case", ["empty_row", "single_rating", "all_equal", "one_common_column", "ties"])
@pytest.mark.parametrize("kind", KINDS)
def test_edge_cases(backend, case, kind):
    name, _ = backend
    csr = _edge_csr(case)
    n = len(csr[0]) - 1
    dense, want = _both(name, csr, kind=kind, storage="dense", shrinkage=1.0)
    _assert_same(dense, want)
    np.testing.assert_array_equal(np.diag(dense.dense), 1.0)
    # M larger than n_rows - 1: the lists are padded with -1 / 0
    got, want = _both(name, csr, kind=kind, storage="topm", max_neighbors=n + 2, shrinkage=1.0)
    _assert_same(got, want)
    assert (got.idx[:, n - 1:] == -1).all() and (got.sim[:, n - 1:] == 0).all()
    if case == "empty_row":
        assert (dense.dense[1, [0, 2, 3]] == 0).all() and (got.idx[1] == -1).all()
    if case == "all_equal":
        expected = {"pearson": 0.0, "pearson_baseline": 1.0 * 4 / 5, "cosine": 1.0, "msd": 1.0}[kind]
        np.testing.assert_allclose(dense.dense[0, 1:], expected, rtol=1e-12)
    if case == "one_common_column" and kind in ("pearson", "pearson_baseline"):
        assert (dense.dense[~np.eye(n, dtype=bool)] == 0).all()
    if case == "ties":
        top = compute_similarity(*csr, kind=kind, backend=name, storage="topm", max_neighbors=2)
        # rows 1, 2 and 3 tie for row 0 (and beat row 4): the smaller indices 1 and 2 are kept
        np.testing.assert_array_equal(top.idx[0], [1, 2])


@pytest.mark.parametrize("bad", ["out_shape", "row_range", "lengths", "kind"])
def test_kernels_check_their_arguments(backend, bad):
    _, module = backend
    indptr, indices, data, n_cols = _random_csr(1, 5, 4, 0.6, signed=False)
    t = transpose_csr(indptr, indices, data, n_cols)
    out = np.zeros((5, 5))
    start, stop, kind = 0, 5, "pearson"
    if bad == "out_shape":
        out = np.zeros((4, 5))
    elif bad == "row_range":
        stop = 6
    elif bad == "lengths":
        data = data[:-1]
    else:
        kind = "jaccard"
    with pytest.raises(ValueError):
        module.similarity_upper(indptr, indices, data, *t, start, stop, kind, 1, 100.0, out, 1)
    with pytest.raises(ValueError):
        module.similarity_topm(indptr, indices, data, *t, start, stop, kind, 1, 100.0,
                               np.zeros((out.shape[0], 2), np.int32), np.zeros((out.shape[0], 2)), 1)


@pytest.mark.parametrize("scale", [0.5, 0.25, 1 / 3, 1000.0])
def test_grid_ratings_equal_reference_exactly(backend, scale):
    """Half and quarter stars take the compiled kernels' float32-exact path, thirds (not on a
    binary grid) and large ratings (sums past 2^24) the float64 one: all equal the reference."""
    name, _ = backend
    rng = np.random.default_rng(3)
    mask = rng.random((14, 9)) < 0.6
    csr = _csr(rng.integers(1, 11, (14, 9)) * scale, mask)
    for kind in ("pearson", "cosine", "msd"):
        _assert_same(*_both(name, csr, kind=kind, storage="dense"))
        _assert_same(*_both(name, csr, kind=kind, storage="topm", max_neighbors=3))


def test_float32_exact_sums_decides_by_grid_and_size():
    from reckernels.backends._exact import float32_exact_sums

    indptr = np.array([0, 2, 4])
    assert float32_exact_sums(indptr, np.array([1.0, 5.0, 3.0, 4.0]), "pearson")
    assert float32_exact_sums(indptr, np.array([0.5, 4.5, 3.0, 4.25]), "pearson")
    assert not float32_exact_sums(indptr, np.array([0.1, 4.5, 3.0, 4.0]), "pearson")
    assert float32_exact_sums(indptr, np.array([2000.0, 1.0, 1.0, 1.0]), "pearson")  # 2 * 2000^2 < 2^24
    assert not float32_exact_sums(indptr, np.array([2000.0, 1.0, 1.0, 1.0]), "msd")  # 2 * 4000^2 > 2^24
    assert not float32_exact_sums(np.array([0, 5000]), np.full(5000, 100.0), "cosine")


@pytest.mark.parametrize("n", [1, 5, 33, 70])
def test_mirror_upper(backend, n):
    _, module = backend
    rng = np.random.default_rng(n)
    upper = np.triu(rng.random((n, n)))
    out = upper + np.tril(np.full((n, n), np.nan), -1)
    module.mirror_upper(out, 2)
    np.testing.assert_array_equal(out, upper + np.triu(upper, 1).T)


@pytest.mark.parametrize("signed", [False, True])
def test_dense_rows_sparse_and_dense(backend, signed):
    """Rows with a handful of co-rated entries (the dense kernel lists what it touches) and rows
    sharing columns with most others (it scans the whole row): both equal the reference, in
    float32 and float64 slots (integer and real ratings)."""
    name, _ = backend
    n_rows = 24 if name == "cuda" else 120
    rng = np.random.default_rng(5)
    mask = rng.random((n_rows, 30)) < 0.02
    mask[: n_rows // 4] |= rng.random((n_rows // 4, 30)) < 0.7  # a dense head of rows
    values = rng.normal(0, 1.5, mask.shape) if signed else rng.integers(1, 6, mask.shape).astype(float)
    csr = _csr(values, mask)
    for kind in KINDS:
        _assert_same(*_both(name, csr, kind=kind, storage="dense"))


# ---------------------------------------------------------------- kind="dot" (implicit's co-occurrence)

@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 10), n_cols=st.integers(1, 8),
       density=st.floats(0.1, 1.0), signed=st.booleans(), min_support=st.integers(0, 3),
       m=st.integers(1, 5), topm=st.booleans())
def test_dot_equals_reference_on_random_data(backend, seed, n_rows, n_cols, density, signed, min_support, m, topm):
    name, _ = backend
    csr = _random_csr(seed, n_rows, n_cols, density, signed)
    storage = dict(storage="topm", max_neighbors=m) if topm else dict(storage="dense")
    got, want = _both(name, csr, kind="dot", min_support=min_support, **storage)
    _assert_same(got, want)


def _dense_of(csr):
    indptr, indices, data, n_cols = csr
    X = np.zeros((len(indptr) - 1, n_cols))
    for r in range(len(indptr) - 1):
        X[r, indices[indptr[r]:indptr[r + 1]]] = data[indptr[r]:indptr[r + 1]]
    return X


@pytest.mark.parametrize("signed", [False, True])
def test_dot_is_the_plain_sum_of_products(backend, signed):
    """Dense dot = X X^T (the diagonal too: each row's sum of squares); top-M = the M largest
    nonzero off-diagonal products of each row, ties to the smaller index; float32 and blocks."""
    name, _ = backend
    n_rows = 10 if name == "cuda" else 40
    csr = _random_csr(4, n_rows, 12, 0.4, signed=signed)
    X = _dense_of(csr)
    full = X @ X.T
    for dtype in (np.float64, np.float32):
        got, want = _both(name, csr, kind="dot", storage="dense", block_rows=7, dtype=dtype)
        _assert_same(got, want, exact_cast=True)
        np.testing.assert_allclose(got.dense, full.astype(dtype), rtol=1e-6 if dtype == np.float32 else 1e-12,
                                   atol=1e-9)
        got, want = _both(name, csr, kind="dot", storage="topm", max_neighbors=4, block_rows=7, dtype=dtype)
        _assert_same(got, want, exact_cast=True)
    top = compute_similarity(*csr, kind="dot", backend=name, storage="topm", max_neighbors=4)
    for r in range(n_rows):
        row = full[r].copy()
        row[r] = 0
        cand = np.flatnonzero(row)
        keep = np.sort(cand[np.lexsort((cand, -row[cand]))[:4]])
        np.testing.assert_array_equal(top.row(r)[0], keep)


@pytest.mark.parametrize("case", ["empty_row", "single_rating", "all_equal", "one_common_column", "ties"])
def test_dot_edge_cases(backend, case):
    name, _ = backend
    csr = _edge_csr(case)
    n = len(csr[0]) - 1
    X = _dense_of(csr)
    dense, want = _both(name, csr, kind="dot", storage="dense")
    _assert_same(dense, want)
    np.testing.assert_allclose(dense.dense, X @ X.T, rtol=1e-12)
    got, want = _both(name, csr, kind="dot", storage="topm", max_neighbors=n + 2)  # M > candidates: padded
    _assert_same(got, want)
    assert (got.idx[:, n - 1:] == -1).all() and (got.sim[:, n - 1:] == 0).all()
    assert (got.to_dense().diagonal() == 0).all()  # top-M dot products keep no diagonal
    if case == "empty_row":
        assert (got.idx[1] == -1).all() and (dense.dense[1] == 0).all()
    if case == "all_equal":
        np.testing.assert_array_equal(dense.dense, np.full((n, n), 9.0 * 5))
    if case == "ties":  # rows 1, 2, 3 tie for row 0: the smaller indices are kept
        top = compute_similarity(*csr, kind="dot", backend=name, storage="topm", max_neighbors=2)
        np.testing.assert_array_equal(top.idx[0], [1, 2])


def test_dot_grid_and_real_values_take_both_accumulators(backend):
    """Integer strengths take the compiled kernels' float32-exact path, real ones float64: both
    equal the reference exactly."""
    name, _ = backend
    rng = np.random.default_rng(8)
    mask = rng.random((14, 9)) < 0.6
    for values in (rng.integers(1, 11, (14, 9)).astype(float), rng.exponential(1.0, (14, 9))):
        csr = _csr(values, mask)
        _assert_same(*_both(name, csr, kind="dot", storage="dense"))
        _assert_same(*_both(name, csr, kind="dot", storage="topm", max_neighbors=3))


# ------------------------------------- kind="dot", implicit_order=True (implicit's all_pairs_knn)

def _sorted_columns_csr(values, mask):
    """CSR with each row's columns ascending (implicit's input is canonical scipy CSR)."""
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=mask.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int32), values[rows, cols].astype(np.float64), mask.shape[1]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 10), n_cols=st.integers(1, 8),
       density=st.floats(0.1, 1.0), integer=st.booleans(), m=st.integers(1, 6), signed=st.booleans())
def test_implicit_order_equals_reference_on_random_data(backend, seed, n_rows, n_cols, density, integer, m, signed):
    name, _ = backend
    rng = np.random.default_rng(seed)
    mask = rng.random((n_rows, n_cols)) < density
    values = rng.integers(1, 3, mask.shape).astype(float) if integer else rng.exponential(1.0, mask.shape)
    if signed:  # sums that cancel to exactly 0 (still kept) and negative ones
        values *= rng.choice([-1.0, 1.0], mask.shape)
    csr = _sorted_columns_csr(values, mask)
    got, want = _both(name, csr, kind="dot", storage="topm", max_neighbors=m, implicit_order=True)
    _assert_same(got, want)


@pytest.mark.parametrize("case", ["empty_row", "single_rating", "all_equal", "ties", "zero_product"])
def test_implicit_order_edge_cases(backend, case):
    name, _ = backend
    if case == "zero_product":  # rows 0 and 1 co-occur with a product summing to exactly 0
        csr = _sorted_columns_csr(np.array([[1.0, 1.0, 0], [1.0, -1.0, 0], [0, 0, 2.0]]),
                                  np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool))
    else:
        indptr, indices, data, n_cols = _edge_csr(case)
        csr = _sorted_columns_csr(_dense_of((indptr, indices, data, n_cols)),
                                  _dense_of((indptr, indices, np.ones_like(data), n_cols)) > 0)
    n = len(csr[0]) - 1
    for m in (1, 2, n + 3):  # M larger than the candidates: padded with -1 / 0
        got, want = _both(name, csr, kind="dot", storage="topm", max_neighbors=m, implicit_order=True)
        _assert_same(got, want)
    X = _dense_of(csr)
    full = compute_similarity(*csr, kind="dot", backend=name, storage="topm", max_neighbors=n + 3,
                              implicit_order=True)
    co = (X != 0).astype(float) @ (X != 0).T > 0  # the rows sharing a column, the row itself included
    for r in range(n):
        np.testing.assert_array_equal(full.idx[r][full.idx[r] >= 0], np.flatnonzero(co[r]))
        np.testing.assert_allclose(full.sim[r][full.idx[r] >= 0], (X @ X.T)[r, co[r]], rtol=1e-12)
    if case == "zero_product":
        assert full.idx[0].tolist()[:2] == [0, 1] and full.sim[0, 1] == 0.0


def test_implicit_order_is_checked():
    csr = _random_csr(1, 5, 4, 0.6, signed=False)
    with pytest.raises(ValueError, match="implicit_order applies to kind='dot'"):
        compute_similarity(*csr, kind="cosine", storage="topm", implicit_order=True)
    with pytest.raises(ValueError, match="implicit_order applies to kind='dot'"):
        compute_similarity(*csr, kind="dot", storage="dense", implicit_order=True)
