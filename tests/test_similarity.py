"""compute_similarity against scikit-surprise's own similarity functions, plus the API's checks.

scikit-surprise sums each pair over the co-rated columns in column order, we sum in the
row's stored order: with integer ratings the sums are exact either way (results are equal),
with baseline residuals they differ by rounding (asserted to 1e-12, 1e-9 on MovieLens).
"""

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from reckernels import backends
from reckernels.similarity import (KINDS, Similarity, baseline_residuals, compute_similarity,
                                   transpose_csr)

from .conftest import ML100K, needs_ml100k

surprise = pytest.importorskip("surprise")
from surprise import similarities as sims  # noqa: E402

from reckernels.compat.surprise._adapter import dataset_from_trainset  # noqa: E402

FAST = backends.resolve("auto")


def _trainset(df):
    reader = surprise.Reader(rating_scale=(1, 5))
    return surprise.Dataset.load_from_df(df[["u", "i", "r"]], reader).build_full_trainset()


def _theirs(ts, kind, user_based, min_support=1, shrinkage=100.0):
    n_x, yr = (ts.n_users, ts.ir) if user_based else (ts.n_items, ts.ur)
    if kind != "pearson_baseline":
        return getattr(sims, kind)(n_x, yr, min_support)
    algo = surprise.BaselineOnly(verbose=False).fit(ts)
    bx, by = (algo.bu, algo.bi) if user_based else (algo.bi, algo.bu)
    return sims.pearson_baseline(n_x, yr, min_support, ts.global_mean, bx, by, shrinkage)


def _ours(ts, kind, user_based, backend, min_support=1, shrinkage=100.0, **kw):
    ds = dataset_from_trainset(ts)
    m, t, n_cols = (ds.csr, ds.csc, ds.n_items) if user_based else (ds.csc, ds.csr, ds.n_users)
    data = m.data
    if kind == "pearson_baseline":
        algo = surprise.BaselineOnly(verbose=False).fit(ts)
        bx, by = (algo.bu, algo.bi) if user_based else (algo.bi, algo.bu)
        data = baseline_residuals(m.indptr, m.indices, m.data, ts.global_mean, bx, by)
        t = transpose_csr(m.indptr, m.indices, data, n_cols)  # the residuals by column
    return compute_similarity(m.indptr, m.indices, data, n_cols, kind=kind, min_support=min_support,
                              shrinkage=shrinkage, backend=backend, transposed=t, **kw)


@pytest.fixture(scope="module")
def small_trainset():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"u": rng.integers(0, 30, n), "i": rng.integers(0, 25, n),
                       "r": rng.integers(1, 6, n).astype(float)}).drop_duplicates(["u", "i"])
    return _trainset(df)


@pytest.mark.parametrize("backend", ["reference", FAST])
@pytest.mark.parametrize("user_based", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_equals_scikit_surprise_on_synthetic_data(small_trainset, backend, user_based, kind):
    for min_support, shrinkage in ((1, 100.0), (3, 7.5)):
        want = _theirs(small_trainset, kind, user_based, min_support, shrinkage)
        got = _ours(small_trainset, kind, user_based, backend, min_support, shrinkage, storage="dense")
        np.testing.assert_allclose(got.dense, want, rtol=0, atol=1e-12)


@needs_ml100k()
@pytest.mark.parametrize("user_based", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_equals_scikit_surprise_on_movielens_100k(user_based, kind):
    df = pd.read_csv(ML100K / "u1.base", sep="\t", names=["u", "i", "r", "t"])
    ts = _trainset(df)
    got = _ours(ts, kind, user_based, FAST, storage="dense")
    want = _theirs(ts, kind, user_based)
    np.testing.assert_allclose(got.dense, want, rtol=0, atol=1e-9)
    # and the top-M lists are the M largest nonzero entries of each row (ties: smaller index)
    top = _ours(ts, kind, user_based, FAST, storage="topm", max_neighbors=20)
    for r in range(0, top.n_rows, 50):
        row = want[r].copy()
        row[r] = 0
        cand = np.flatnonzero(row)
        keep = np.sort(cand[np.lexsort((cand, -row[cand]))[:20]])
        np.testing.assert_array_equal(top.row(r)[0], keep)


def _csr(seed=0, n_rows=30, n_cols=20, density=0.3):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_rows, n_cols)) < density
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, cols.astype(np.int32), rng.integers(1, 6, len(cols)).astype(float), n_cols


def test_baseline_residuals_use_scikit_surprise_operation_order():
    indptr, indices, data, n_cols = _csr()
    rng = np.random.default_rng(1)
    bu, bi = rng.normal(size=len(indptr) - 1), rng.normal(size=n_cols)
    got = baseline_residuals(indptr, indices, data, 3.3, bu, bi)
    for x in range(len(indptr) - 1):
        for p in range(indptr[x], indptr[x + 1]):
            partial = 3.3 + bi[indices[p]]
            assert got[p] == data[p] - (partial + bu[x])


def test_storage_auto_picks_dense_when_it_fits_else_top_m():
    csr = _csr(n_rows=300)  # dense: 720,000 bytes; top-100: 360,000 bytes
    assert compute_similarity(*csr, backend=FAST).storage == "dense"
    small = compute_similarity(*csr, backend=FAST, memory_limit=500_000, n_threads=1)
    assert small.storage == "topm" and small.max_neighbors == 100 and small.idx.shape == (300, 100)
    chosen = compute_similarity(*csr, backend=FAST, max_neighbors=3)
    assert chosen.storage == "topm" and chosen.idx.shape == (300, 3)


def test_memory_limit_that_cannot_be_met_raises_with_the_bytes_needed():
    csr = _csr()
    with pytest.raises(MemoryError, match="memory_limit=1,000.*storage='topm'"):
        compute_similarity(*csr, storage="dense", memory_limit=1000)
    with pytest.raises(MemoryError, match="needs about .* bytes.*memory_limit=100"):
        compute_similarity(*csr, storage="topm", max_neighbors=50, memory_limit=100)


def test_top_m_never_allocates_n_by_n():
    """Peak traced memory of a top-M run stays far below the n x n matrix it replaces."""
    indptr, indices, data, n_cols = _csr(seed=2, n_rows=3000, n_cols=60, density=0.1)
    t = transpose_csr(indptr, indices, data, n_cols)
    tracemalloc.start()
    try:
        s = compute_similarity(indptr, indices, data, n_cols, storage="topm", max_neighbors=10,
                               backend=FAST, n_threads=2, transposed=t)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3000 * 3000 * 8 / 20
    assert peak < 3 * s.nbytes + 2 * 3000 * 68 + 200_000


def test_similarity_object_reads():
    csr = _csr(seed=4, n_rows=12, n_cols=8, density=0.5)
    dense = compute_similarity(*csr, backend=FAST, kind="msd", storage="dense")
    top = compute_similarity(*csr, backend=FAST, kind="msd", storage="topm", max_neighbors=4)
    assert isinstance(dense, Similarity) and dense.kind == "msd" and dense.n_rows == 12
    assert dense.nbytes == 12 * 12 * 8 and top.nbytes == 12 * 4 * (4 + 8)
    for r in range(12):
        idx, s = dense.row(r)
        assert r not in idx and (s != 0).all() and (np.diff(idx) > 0).all()
        k_idx, k_sim = dense.top_neighbors(r, 4)
        others = [x for x in range(12) if x != r]  # scikit-surprise's get_neighbors: stable sort
        expected = sorted(others, key=lambda x: dense.dense[r, x], reverse=True)[:4]
        np.testing.assert_array_equal(k_idx, expected)
        np.testing.assert_array_equal(np.sort(top.top_neighbors(r, 4)[0]), top.row(r)[0])
    full = top.to_dense()
    assert full.shape == (12, 12) and (np.diag(full) == 1).all()
    for r in range(12):
        idx, s = top.row(r)
        np.testing.assert_array_equal(full[r, idx], s)
    top.memory_limit = 100
    with pytest.raises(MemoryError, match="memory_limit"):
        top.to_dense()
    with pytest.raises(IndexError, match="r must be a row index"):
        dense.row(12)
    with pytest.raises(ValueError, match="k must be"):
        dense.top_neighbors(0, 0)


def test_transposed_given_or_built_gives_the_same_result():
    indptr, indices, data, n_cols = _csr(seed=5)
    t = transpose_csr(indptr, indices, data, n_cols)
    shuffled = t.indices.copy(), t.data.copy()  # row lists of the transpose in another order
    for c in range(n_cols):
        lo, hi = t.indptr[c], t.indptr[c + 1]
        order = np.arange(lo, hi)[::-1]
        shuffled[0][lo:hi], shuffled[1][lo:hi] = t.indices[order], t.data[order]
    a = compute_similarity(indptr, indices, data, n_cols, backend=FAST)
    b = compute_similarity(indptr, indices, data, n_cols, backend=FAST, transposed=(t.indptr, *shuffled))
    np.testing.assert_array_equal(a.dense, b.dense)
    with pytest.raises(ValueError, match="transposed"):
        compute_similarity(indptr, indices, data, n_cols, transposed=(indptr, indices, data))


def test_no_rows_and_no_ratings():
    empty = (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0), 5)
    assert compute_similarity(*empty).dense.shape == (0, 0)
    no_ratings = (np.zeros(4, np.int64), np.zeros(0, np.int32), np.zeros(0), 5)
    np.testing.assert_array_equal(compute_similarity(*no_ratings, backend=FAST).dense, np.eye(3))
    top = compute_similarity(*no_ratings, backend=FAST, max_neighbors=2)
    assert (top.idx == -1).all() and (top.sim == 0).all()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(kind="jaccard"), ValueError, "kind='jaccard'"),
    (dict(min_support=-1), ValueError, "min_support"),
    (dict(shrinkage=-1.0), ValueError, "shrinkage"),
    (dict(shrinkage=float("nan")), ValueError, "shrinkage"),
    (dict(max_neighbors=0), ValueError, "max_neighbors"),
    (dict(storage="sparse"), ValueError, "storage='sparse'"),
    (dict(storage="dense", max_neighbors=5), ValueError, "max_neighbors"),
    (dict(dtype=np.int32), TypeError, "dtype"),
    (dict(memory_limit=0), ValueError, "memory_limit"),
    (dict(backend="gpu"), ValueError, "backend='gpu'"),
    (dict(n_threads=0), ValueError, "n_threads"),
    (dict(block_rows=0), ValueError, "block_rows"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        compute_similarity(*_csr(), **kwargs)


def test_bad_matrices_are_named():
    indptr, indices, data, n_cols = _csr()
    with pytest.raises(ValueError, match="column indices"):
        compute_similarity(indptr, indices, data, n_cols - 5)
    bad = data.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="data holds 1 NaN"):
        compute_similarity(indptr, indices, bad, n_cols)
    with pytest.raises(ValueError, match="indptr"):
        compute_similarity(indptr[:-1], indices, data, n_cols)
    with pytest.raises(TypeError, match="indices must be"):
        compute_similarity(indptr, indices.astype(float), data, n_cols)


def test_ascending_check_across_chunks_and_column_boundaries():
    from reckernels.similarity import _rows_ascending

    t_indptr = np.array([0, 3, 3, 7, 9])
    ascending = np.array([0, 4, 9, 1, 2, 2, 8, 0, 5], dtype=np.int32)  # drops only between columns
    for chunk in (1, 2, 3, 100):
        assert _rows_ascending(t_indptr, ascending, chunk=chunk)
        bad = np.array([0, 4, 9, 1, 3, 2, 8, 0, 5], dtype=np.int32)  # 3 then 2 inside column 2
        assert not _rows_ascending(t_indptr, bad, chunk=chunk)


@pytest.mark.parametrize("n_rows, n_cols, nnz", [(1, 1, 0), (5, 7, 0), (6, 4, 10), (50, 80, 600)])
def test_transpose_csr_is_a_stable_sort_by_column(n_rows, n_cols, nnz, monkeypatch):
    """The compiled counting sort and the NumPy fallback both give each column's rows in
    ascending order with their values; empty rows and columns included."""
    rng = np.random.default_rng(nnz)
    rows = np.sort(rng.integers(0, n_rows, nnz))
    cols = rng.integers(0, n_cols, nnz).astype(np.int32)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    data = rng.normal(size=nnz)
    order = np.lexsort((rows, cols))
    want_indptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=n_cols), out=want_indptr[1:])
    compiled = transpose_csr(indptr, cols, data, n_cols)
    import reckernels._cy.similarity as cy
    monkeypatch.delattr(cy, "transpose")  # the NumPy fallback
    fallback = transpose_csr(indptr, cols, data, n_cols)
    for got in (compiled, fallback):
        np.testing.assert_array_equal(got.indptr, want_indptr)
        np.testing.assert_array_equal(got.indices, rows[order])
        np.testing.assert_array_equal(got.data, data[order])


def test_compiled_transpose_refuses_columns_out_of_range():
    cy = pytest.importorskip("reckernels._cy.similarity")
    with pytest.raises(ValueError, match=r"column indices must lie in \[0, 3\)"):
        cy.transpose(np.array([0, 2], dtype=np.int64), np.array([0, 3], dtype=np.int32), np.ones(2), 3)
