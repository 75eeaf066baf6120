"""Pairwise similarity of the rows of a ratings matrix, stored dense or as top-M neighbours.

``compute_similarity`` compares the ROWS of a CSR matrix (users: ``Dataset.csr``; items:
``Dataset.csc``) over the columns they share, with scikit-surprise 1.1.5's formulas:

- ``pearson``: (n*Sxy - Sx*Sy) / sqrt((n*Sxx - Sx^2) * (n*Syy - Sy^2)) over the n common columns;
- ``pearson_baseline``: the same correlation of the values as given (pass baseline residuals
  r - ((mu + b_col) + b_row), see ``baseline_residuals``; they are not re-centred), times
  (n - 1) / (n - 1 + shrinkage), with an effective min_support of max(min_support, 2);
- ``cosine``: Sxy / sqrt(Sxx * Syy) (safe on signed, e.g. mean-centred, data);
- ``msd``: 1 / (sum of (x - y)^2 / n + 1);
- ``dot``: Sxy, the plain sum of products over the common columns, unnormalised (not a
  scikit-surprise similarity: implicit's item-item co-occurrence, which reckernels.ItemItem
  computes on its weighted item columns). Its dense diagonal is each row's Sxx, not 1.

A pair with fewer than ``min_support`` common columns, with none, or whose formula has a zero
denominator (zero variance, a single common column for Pearson) gets 0: never NaN or inf,
where scikit-surprise would divide by zero. The diagonal is 1, as in scikit-surprise
(``dot``: the row's own sum of squares; ``to_dense()`` of a top-M ``dot`` leaves it 0).

Storage. ``"dense"``: the (n_rows, n_rows) matrix. ``"topm"``: for each row only the
``max_neighbors`` = M other rows with the largest NONZERO similarity (largest value first,
whatever its sign, so a negative one is kept only when fewer than M rows are more similar;
ties: the smaller row index), stored as ``idx`` (n_rows, M) int32 sorted ascending within each
row and ``sim`` (n_rows, M), padded with -1 / 0. It is computed row by row without any n x n
array: peak memory is the result plus n_threads row buffers of n_rows x 68 bytes, plus the
column-major copy of the input unless ``transposed`` is given. ``"auto"``: dense when the
dense result fits ``memory_limit``, else top-M with M = ``max_neighbors`` or 100.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from . import backends as _backends
from ._validation import check_choice, check_nonnegative_float, check_positive_int, check_ratings
from .backends._checks import check_csr, validate_csr_indices
from .backends.reference.similarity import ALL_KINDS, KINDS
from .data import CSR

STORAGES = ("auto", "dense", "topm")
DTYPES = (np.float64, np.float32)
DEFAULT_MAX_NEIGHBORS = 100
#: bytes of per-thread row workspace per row of the result (up to eight float64 sums + a row list)
_WORKSPACE_PER_ROW = 8 * 8 + 4
#: CUDA keeps block_rows x n_rows x 56 bytes on the device; the default block keeps it near this
_DEVICE_BLOCK_BYTES = 2**28
_MIN_BLOCK_ROWS = 256

__all__ = ["KINDS", "ALL_KINDS", "STORAGES", "DEFAULT_MAX_NEIGHBORS", "Similarity", "compute_similarity",
           "transpose_csr", "baseline_residuals", "default_memory_limit"]


def default_memory_limit() -> int:
    """Half of the memory the machine has available now (physical memory if that is unknown)."""
    page = os.sysconf("SC_PAGE_SIZE")
    for name in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            pages = os.sysconf(name)
        except (ValueError, OSError):
            continue
        if pages > 0:
            return int(pages * page // 2)
    return 2**31  # no sysconf on this platform: assume 2 GiB


def transpose_csr(indptr, indices, data, n_cols) -> CSR:
    """The same matrix by column: row lists stay in ascending row order (a stable sort).

    The compiled counting sort is used when the extension is built (faster, and no temporary
    as long as the data); NumPy's stable argsort otherwise."""
    try:
        from reckernels._cy.similarity import transpose
    except ImportError:
        pass
    else:
        return CSR(*transpose(np.ascontiguousarray(indptr, dtype=np.int64),
                              np.ascontiguousarray(indices, dtype=np.int32),
                              np.ascontiguousarray(data, dtype=np.float64), int(n_cols)))
    keys = indices.astype(np.uint16) if n_cols <= np.iinfo(np.uint16).max + 1 else indices
    order = np.argsort(keys, kind="stable")  # a radix sort for 16-bit keys, several times faster
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))
    t_indptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_cols), out=t_indptr[1:])
    return CSR(t_indptr, rows[order], np.ascontiguousarray(data[order]))


def baseline_residuals(indptr, indices, data, global_mean, row_bias, col_bias) -> np.ndarray:
    """r - ((mu + b_col) + b_row) per stored rating, in scikit-surprise's operation order.

    This is what ``kind="pearson_baseline"`` correlates: rows are the compared entities
    (``row_bias`` = bu for user-based, bi for item-based), columns the co-rated dimension.
    """
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return data - ((global_mean + np.asarray(col_bias)[indices]) + np.asarray(row_bias)[rows])


class Similarity:
    """The similarities of ``n_rows`` rows: ``dense`` (storage="dense") or ``idx``/``sim`` (topm)."""

    def __init__(self, kind, storage, n_rows, *, dense=None, idx=None, sim=None, memory_limit=None):
        self.kind = kind
        self.storage = storage
        self.n_rows = n_rows
        self.dense = dense
        self.idx = idx
        self.sim = sim
        self.memory_limit = default_memory_limit() if memory_limit is None else memory_limit

    @property
    def dtype(self) -> np.dtype:
        return (self.dense if self.storage == "dense" else self.sim).dtype

    @property
    def max_neighbors(self) -> int | None:
        return None if self.storage == "dense" else self.idx.shape[1]

    @property
    def nbytes(self) -> int:
        if self.storage == "dense":
            return self.dense.nbytes
        return self.idx.nbytes + self.sim.nbytes

    def _check_row(self, r) -> int:
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or not 0 <= r < self.n_rows:
            raise IndexError(f"r must be a row index in [0, {self.n_rows}), got {r!r}.")
        return int(r)

    def row(self, r):
        """(indices ascending, similarities) of the other rows with a nonzero similarity to r."""
        r = self._check_row(r)
        if self.storage == "dense":
            idx = np.flatnonzero(self.dense[r]).astype(np.int32)
            idx = idx[idx != r]
            return idx, self.dense[r, idx]
        keep = self.idx[r] >= 0
        return self.idx[r, keep], self.sim[r, keep]

    def top_neighbors(self, r, k):
        """The k most similar other rows to r (ties: smaller index first), most similar first.

        Dense storage ranks every other row, zero and negative similarities included (as
        scikit-surprise's ``get_neighbors``), so it returns min(k, n_rows - 1) rows; top-M
        storage ranks the stored neighbours only, so it returns at most min(k, M) rows.
        """
        r = self._check_row(r)
        k = check_positive_int("k", k)
        if self.storage == "dense":
            cand = np.arange(self.n_rows, dtype=np.int32)
            cand = cand[cand != r]
            sims = self.dense[r, cand]
        else:
            cand, sims = self.row(r)
        order = np.lexsort((cand, -sims.astype(np.float64)))[:k]
        return cand[order], sims[order]

    def to_dense(self) -> np.ndarray:
        """The similarities as an (n_rows, n_rows) array (a top-M matrix is zero off its lists)."""
        if self.storage == "dense":
            return self.dense
        need = self.n_rows * self.n_rows * self.sim.itemsize
        if need > self.memory_limit:
            raise MemoryError(f"to_dense() needs {need:,} bytes for {self.n_rows} x {self.n_rows} similarities, "
                              f"more than memory_limit={self.memory_limit:,}; read rows with row(r) instead.")
        out = np.zeros((self.n_rows, self.n_rows), dtype=self.sim.dtype)
        rows = np.repeat(np.arange(self.n_rows), self.idx.shape[1])
        keep = self.idx.ravel() >= 0
        out[rows[keep], self.idx.ravel()[keep]] = self.sim.ravel()[keep]
        if self.kind != "dot":  # top-M dot products keep no diagonal (it is not 1)
            np.fill_diagonal(out, 1)
        return out

    def __repr__(self) -> str:
        extra = "" if self.storage == "dense" else f", max_neighbors={self.max_neighbors}"
        return f"Similarity(kind={self.kind!r}, storage={self.storage!r}, n_rows={self.n_rows}{extra}, nbytes={self.nbytes:,})"


def compute_similarity(indptr, indices, data, n_cols, *, kind="pearson", min_support=1, shrinkage=100.0,
                       storage="auto", max_neighbors=None, memory_limit=None, dtype=np.float64,
                       backend="auto", n_threads=None, block_rows=None, transposed=None,
                       implicit_order=False) -> Similarity:
    """Similarities between the rows of the CSR (indptr, indices, data) over its ``n_cols`` columns.

    See the module docstring for the kinds and storages. ``min_support``: pairs with fewer
    common columns get 0. ``shrinkage`` applies to pearson_baseline only (as in scikit-surprise).
    ``memory_limit`` (bytes, default half the available memory) bounds the result plus the
    workspace; a storage that cannot fit it raises ``MemoryError`` naming the bytes needed.
    ``dtype``: float64 or float32 for the stored similarities (always computed in float64;
    top-M selection uses the float64 values). ``block_rows``: rows per kernel call (default
    max(256, 2**28 / (56 n_rows))); it bounds the CUDA backend's device memory to about
    block_rows x n_rows x 56 bytes, and on CPU only sets how often control returns to Python.
    ``transposed``: the same matrix by column (e.g. ``Dataset.csc`` when rows are users), to
    save building that copy (for storage="dense" it is used only when each column lists its
    rows in ascending order, else a sorted copy is built).
    ``implicit_order`` (kind="dot", storage="topm" only): choose each row's M as implicit
    0.7.3's all_pairs_knn does: the row itself is a candidate (its own sum of squares), every
    row sharing a column counts (a zero product too), and ties at the M-th value go the way its
    walk goes (rows offered in reverse order of first meeting them, each column's rows in the
    transposed matrix's order, which must then be ascending as transpose_csr builds it).
    """
    kind = check_choice("kind", kind, ALL_KINDS)
    storage = check_choice("storage", storage, STORAGES)
    min_support = check_positive_int("min_support", min_support, minimum=0)
    shrinkage = check_nonnegative_float("shrinkage", shrinkage)
    if max_neighbors is not None:
        max_neighbors = check_positive_int("max_neighbors", max_neighbors)
        if storage == "dense":
            raise ValueError("max_neighbors applies to storage='topm'; with storage='dense' leave it None.")
    if memory_limit is None:
        memory_limit = default_memory_limit()
    else:
        memory_limit = check_positive_int("memory_limit", memory_limit)
    dtype = _check_dtype(dtype)
    backend = check_choice("backend", backend, _backends.CHOICES)
    if n_threads is not None and n_threads != -1:
        check_positive_int("n_threads", n_threads)
    n_threads = _backends.default_threads(n_threads)
    if block_rows is not None:
        block_rows = check_positive_int("block_rows", block_rows)
    if implicit_order and (kind != "dot" or storage == "dense"):
        raise ValueError("implicit_order applies to kind='dot' with storage='topm' only.")
    if implicit_order:
        storage = "topm"

    n_cols = check_positive_int("n_cols", n_cols, minimum=0)
    indptr, indices, data = _checked_csr(indptr, indices, data, n_cols, "")
    n_rows = len(indptr) - 1
    copy_bytes = (n_cols + 1) * 8 + len(indices) * (4 + 8 + 8)  # transposed copy + sort permutation
    t_indptr = t_indices = t_data = None
    if transposed is not None:
        t_indptr, t_indices, t_data = _checked_transpose(transposed, indptr, indices, n_rows, n_cols)
    # the dense kernel needs each column's rows ascending: a given transpose that is not gets copied
    maybe_dense = storage == "dense" or (storage == "auto" and max_neighbors is None)
    t_ascending = t_indptr is not None and maybe_dense and _rows_ascending(t_indptr, t_indices)

    def workspace(storage):
        copied = t_indptr is None or (storage == "dense" and not t_ascending)
        return copied * copy_bytes + n_threads * n_rows * _WORKSPACE_PER_ROW

    dense_bytes = n_rows * n_rows * dtype.itemsize
    if storage == "auto":
        fits = dense_bytes + workspace("dense") <= memory_limit
        storage = "dense" if max_neighbors is None and fits else "topm"
    if storage == "topm" and max_neighbors is None:
        max_neighbors = DEFAULT_MAX_NEIGHBORS
    result_bytes = dense_bytes if storage == "dense" else n_rows * max_neighbors * (4 + dtype.itemsize)
    workspace = workspace(storage)
    if result_bytes + workspace > memory_limit:
        hint = ("use storage='topm' with a small max_neighbors" if storage == "dense"
                else "lower max_neighbors or use fewer threads")
        raise MemoryError(f"storage={storage!r} needs about {result_bytes + workspace:,} bytes "
                          f"({result_bytes:,} for the result, {workspace:,} workspace) for {n_rows} rows, "
                          f"more than memory_limit={memory_limit:,}; raise memory_limit or {hint}.")

    if t_indptr is None or (storage == "dense" and not t_ascending):
        t_indptr, t_indices, t_data = transpose_csr(indptr, indices, data, n_cols)
    name = _backends.resolve(backend)
    module = _backends.get_backend(name)
    if block_rows is None:
        block_rows = max(_MIN_BLOCK_ROWS, _DEVICE_BLOCK_BYTES // max(1, 56 * n_rows))
    args = (indptr, indices, data, t_indptr, t_indices, t_data)

    if storage == "dense":
        out = np.empty((n_rows, n_rows), dtype=dtype)
        for start in range(0, n_rows, block_rows):
            stop = min(n_rows, start + block_rows)
            module.similarity_upper(*args, start, stop, kind, min_support, shrinkage, out, n_threads)
        module.mirror_upper(out, n_threads)
        if kind == "dot":  # a row's dot product with itself, summed in its stored order
            rows = np.repeat(np.arange(n_rows), np.diff(indptr))
            np.fill_diagonal(out, np.bincount(rows, weights=data * data, minlength=n_rows))
        return Similarity(kind, "dense", n_rows, dense=out, memory_limit=memory_limit)

    out_idx = np.empty((n_rows, max_neighbors), dtype=np.int32)
    out_sim = np.empty((n_rows, max_neighbors), dtype=dtype)
    for start in range(0, n_rows, block_rows):
        stop = min(n_rows, start + block_rows)
        module.similarity_topm(*args, start, stop, kind, min_support, shrinkage, out_idx, out_sim, n_threads,
                               implicit_order=bool(implicit_order))
    return Similarity(kind, "topm", n_rows, idx=out_idx, sim=out_sim, memory_limit=memory_limit)


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise TypeError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}.")
    return dt


def _checked_csr(indptr, indices, data, n_cols, prefix):
    """Contiguous int64 / int32 / float64 arrays, lengths consistent, indices in range, data finite."""
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    for name, arr in ((prefix + "indptr", indptr), (prefix + "indices", indices)):
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise TypeError(f"{name} must be a one-dimensional integer array, got dtype {arr.dtype}, shape {arr.shape}.")
    if len(indptr) == 0:
        raise ValueError(f"{prefix}indptr must have length n_rows + 1 >= 1, got an empty array.")
    validate_csr_indices(indptr, indices, n_cols)
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    data = _check_data(prefix + "data", data)
    check_csr(indptr, indices, data, n_rows=len(indptr) - 1)
    return indptr, indices, data


def _checked_transpose(transposed, indptr, indices, n_rows, n_cols):
    try:
        t_indptr, t_indices, t_data = transposed
    except (TypeError, ValueError):
        raise TypeError("transposed must be a (indptr, indices, data) triple such as Dataset.csc.") from None
    t_indptr, t_indices, t_data = _checked_csr(t_indptr, t_indices, t_data, n_rows, "transposed ")
    if len(t_indptr) != n_cols + 1 or len(t_indices) != len(indices) or not np.array_equal(
            np.diff(t_indptr), _column_counts(indices, n_cols)):
        raise ValueError("transposed is not the column-major copy of the same matrix (its column counts "
                         "differ); pass Dataset.csc for Dataset.csr (or the reverse), or leave it None.")
    return t_indptr, t_indices, t_data


def _column_counts(indices, n_cols, chunk=1 << 20) -> np.ndarray:
    """np.bincount(indices, minlength=n_cols), a chunk at a time: bincount copies its input to
    int64, which for the whole array would be a temporary twice the size of the indices."""
    counts = np.zeros(n_cols, dtype=np.int64)
    for lo in range(0, len(indices), chunk):
        counts += np.bincount(indices[lo:lo + chunk], minlength=n_cols)
    return counts


def _rows_ascending(t_indptr, t_indices, chunk=1 << 20) -> bool:
    """Whether every column's row list is in ascending order (repeats allowed); O(chunk) memory."""
    starts = t_indptr[1:-1]
    boundary = starts[(starts > 0) & (starts < len(t_indices))] - 1  # steps between two columns
    for lo in range(0, max(0, len(t_indices) - 1), chunk):
        hi = min(len(t_indices) - 1, lo + chunk)
        ok = t_indices[lo + 1:hi + 1] >= t_indices[lo:hi]
        inside = boundary[(boundary >= lo) & (boundary < hi)]
        ok[inside - lo] = True
        if not ok.all():
            return False
    return True


def _check_data(name, data, chunk=1 << 20) -> np.ndarray:
    """float64 and finite, checked a chunk at a time (no temporary as large as the data)."""
    data = np.asarray(data)
    if data.dtype != np.float64 or data.ndim != 1:
        return check_ratings(name, data)
    data = np.ascontiguousarray(data)
    for lo in range(0, len(data), chunk):
        if not np.isfinite(data[lo:lo + chunk]).all():
            return check_ratings(name, data)  # raises, naming the first bad position
    return data
