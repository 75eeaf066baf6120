"""SlopeOne: item-to-item average deviations (Lemire & Maclachlan 2005), scikit-surprise's SlopeOne.

dev(i, j) is the mean of r_ui - r_uj over the users who rated both, freq(i, j) their number
(the support). The estimate for (u, i) is

    mu_u + sum(dev(i, j) for j in R_i(u)) / |R_i(u)|,

R_i(u) = the items j rated by u with freq(i, j) > 0 (summed in u's rating order), mu_u the mean
of u's training ratings; just mu_u when R_i(u) is empty. An unknown user or item is impossible:
the global mean. Estimates are clipped to the rating scale. This is scikit-surprise 1.1.5's
SlopeOne, except that it computes the deviations from the ratings cast to C ints (3.5 counts as
3): ``truncate_ratings=True`` reproduces that (``reckernels.compat.surprise.SlopeOne`` sets it).

Storage (``storage``, ``memory_limit``): "dense" keeps (n_items, n_items) arrays dev (float64)
and freq (int32), 12 bytes a pair; "sparse" keeps only the pairs with freq > 0 as CSR rows
(int32 index, float64 dev, int32 freq: 16 bytes a pair), computed block by block after a
counting pass; "auto" (default) takes dense when it fits ``memory_limit`` (bytes, default
reckernels.similarity.default_memory_limit(): half the available memory) and is either at most
256 MiB or no larger than the sparse store (which the counting pass measures), else sparse:
e.g. MovieLens 1M (3.7k items, 164 MB dense) is dense, ml-latest-small (9.7k items, 1.1 GB dense,
28% of the pairs co-rated: 0.42 GB sparse) sparse. Both give
the same predictions, bit for bit. A storage that does not fit ``memory_limit`` raises MemoryError
naming the bytes it needs.

The model is deterministic (no random initialisation, sums in a fixed order), so ``random_state``
is accepted for the common signature but changes nothing.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_positive_int
from ..backends import threads_for
from ..persistence import CSR as _FileCSR, Arr, register
from ..similarity import _rows_ascending, default_memory_limit, transpose_csr
from .base import Estimator

STORAGES = ("auto", "dense", "sparse")
DENSE_BYTES_PER_PAIR = 8 + 4  # dev float64 + freq int32
SPARSE_BYTES_PER_PAIR = 4 + 8 + 4  # index int32 + dev float64 + freq int32
#: rows per kernel call: bounds the CUDA backend's device buffers to about block x n_items x 12
#: bytes; on CPU it only sets how often control returns to Python (progress bar)
_DEVICE_BLOCK_BYTES = 2**28
#: predict() sorts the pairs by item from this many pairs on (see _estimate)
_SORT_PAIRS_FROM = 4096
_MIN_BLOCK_ROWS = 256
#: "auto" takes a dense store up to this size without looking further; beyond it, the counting
#: pass decides (dense only when it is not larger than the sparse store)
AUTO_DENSE_BYTES = 256 * 2**20


@register
class SlopeOne(Estimator):
    """Slope One rating prediction; see the module docstring for the estimate and the storages.

    Parameters: ``storage`` ("auto", "dense" or "sparse"), ``memory_limit`` (bytes, or None for
    half the available memory), ``truncate_ratings`` (compute the deviations from int-truncated
    ratings, as scikit-surprise 1.1.5 does), and the common ``backend``, ``n_threads``,
    ``random_state`` (no effect: the model is deterministic) and ``verbose``.
    """

    def __init__(self, storage="auto", memory_limit=None, truncate_ratings=False, *, backend="auto", n_threads=None,
                 random_state=None, verbose=False):
        self.storage = check_choice("storage", storage, STORAGES)
        self.memory_limit = None if memory_limit is None else check_positive_int("memory_limit", memory_limit)
        if not isinstance(truncate_ratings, (bool, np.bool_)):
            raise TypeError(f"truncate_ratings must be True or False, got {truncate_ratings!r}.")
        self.truncate_ratings = bool(truncate_ratings)
        self._init_common(backend, n_threads, random_state, verbose)

    # ------------------------------------------------------------------ fitting
    def _fit(self, dataset):
        csr = dataset.csr
        n_users, n_items = dataset.n_users, dataset.n_items
        counts = np.diff(csr.indptr)
        sums = np.bincount(np.repeat(np.arange(n_users), counts), weights=csr.data, minlength=n_users)
        self.user_mean_ = np.where(counts > 0, sums / np.maximum(counts, 1), dataset.global_mean)
        # the walk needs each item's raters in ascending user order (the order of the sums)
        csc = dataset.csc
        if not _rows_ascending(csc.indptr, csc.indices):
            csc = transpose_csr(csr.indptr, csr.indices, csr.data, n_items)
        by_item = csc
        if self.truncate_ratings:
            by_item = type(csc)(csc.indptr, csc.indices, np.trunc(csc.data))
        # the by-user copy with each user's items ascending (the pair sums do not depend on its order)
        by_user = transpose_csr(by_item.indptr, by_item.indices, by_item.data, n_users)
        result = compute_deviations(self._kernels, by_item, by_user, storage=self.storage,
                                    memory_limit=self.memory_limit, n_threads=self.n_threads_,
                                    progress=self._progress)
        self.storage_, self.dev_, self.freq_, self.pair_indptr_, self.pair_indices_ = result

    @property
    def nbytes_(self) -> int:
        """Bytes the fitted deviations and supports take."""
        arrays = (self.dev_, self.freq_, self.pair_indptr_, self.pair_indices_)
        return sum(a.nbytes for a in arrays if a is not None)

    def to_dense(self, memory_limit=None):
        """(dev, freq) as dense (n_items, n_items) arrays (float64, int32), inner item ids; a pair
        nobody co-rated has dev 0 and freq 0. Raises MemoryError beyond ``memory_limit``."""
        self._check_fitted()
        if self.storage_ == "dense":
            return self.dev_, self.freq_
        n = len(self.pair_indptr_) - 1
        limit = default_memory_limit() if memory_limit is None else check_positive_int("memory_limit", memory_limit)
        if n * n * DENSE_BYTES_PER_PAIR > limit:
            raise MemoryError(f"to_dense() needs {n * n * DENSE_BYTES_PER_PAIR:,} bytes for {n} x {n} deviations, "
                              f"more than memory_limit={limit:,}.")
        dev = np.zeros((n, n))
        freq = np.zeros((n, n), dtype=np.int32)
        rows = np.repeat(np.arange(n), np.diff(self.pair_indptr_))
        dev[rows, self.pair_indices_] = self.dev_
        freq[rows, self.pair_indices_] = self.freq_
        return dev, freq

    # ------------------------------------------------------------------ prediction
    def _estimate(self, users, items):
        users = np.ascontiguousarray(users, dtype=np.int32)
        items = np.ascontiguousarray(items, dtype=np.int32)
        order = None
        if len(items) > _SORT_PAIRS_FROM:
            # pairs grouped by item: consecutive pairs then read the same dev/freq row (in cache);
            # this made 1M random pairs 7x faster. Each pair's arithmetic is unchanged.
            keys = items.astype(np.uint16) + 1 if len(self.item_map_) < 2**16 - 1 else items
            order = np.argsort(keys, kind="stable")  # a radix sort for 16-bit keys
            users, items = users[order], items[order]
        est = np.empty(len(users))
        impossible = np.empty(len(users), dtype=np.uint8)
        u_indptr, u_indices = self.seen_
        work = len(users) * max(1, len(u_indices) // max(1, len(u_indptr) - 1))
        n_threads = threads_for(work, self.n_threads_)
        if self.storage_ == "dense":
            self._kernels.slopeone_predict_dense(users, items, u_indptr, u_indices, self.user_mean_, self.dev_,
                                                 self.freq_, self.global_mean_, est, impossible, n_threads)
        else:
            self._kernels.slopeone_predict_sparse(users, items, u_indptr, u_indices, self.user_mean_,
                                                  self.pair_indptr_, self.pair_indices_, self.dev_,
                                                  self.global_mean_, est, impossible, n_threads)
        if order is not None:
            est[order] = est.copy()
            impossible[order] = impossible.copy()
        return est, impossible.view(bool)

    def _score(self, users):
        # every (user, item) of the block through the prediction kernel: recommend ranks by the
        # very estimates predict gives
        n_items = len(self.item_map_)
        est, _ = self._estimate(np.repeat(users, n_items), np.tile(np.arange(n_items, dtype=np.int32), len(users)))
        return est.reshape(len(users), n_items)

    # ------------------------------------------------------------------ saving
    def _state(self):
        arrays = {"user_mean": self.user_mean_, "dev": self.dev_, "freq": self.freq_}
        if self.storage_ == "sparse":
            arrays.update(pair_indptr=self.pair_indptr_, pair_indices=self.pair_indices_)
        return {"storage_": self.storage_}, arrays

    def _file_spec(self, meta):
        storage = meta["storage_"]
        if storage not in ("dense", "sparse"):
            raise ValueError(f"its storage_ {storage!r} is neither 'dense' nor 'sparse'; the file is damaged.")
        spec = {"user_mean": Arr("float64", ("n_users",))}
        if storage == "dense":
            pairs = ("n_items", "n_items")
        else:  # the CSR store of the co-rated pairs: dev and freq have one entry per stored pair
            spec["pair"] = _FileCSR("n_items", "n_items")
            pairs = ("__pair_nnz",)
        spec["dev"] = Arr("float64", pairs)
        spec["freq"] = Arr("int32", pairs, lo=0, hi=2**31 - 1)
        return spec

    def _restore(self, meta, arrays):
        self.storage_ = meta["storage_"]
        self.user_mean_, self.dev_, self.freq_ = arrays["user_mean"], arrays["dev"], arrays["freq"]
        sparse = self.storage_ == "sparse"
        self.pair_indptr_ = arrays["pair_indptr"] if sparse else None
        self.pair_indices_ = arrays["pair_indices"] if sparse else None


def compute_deviations(kernels, by_item, by_user, *, storage="auto", memory_limit=None, n_threads=1,
                       block_rows=None, progress=None):
    """Slope One's deviations and supports with ``kernels`` (a backend module).

    ``by_item``: the (indptr, indices, data) of the ratings by item, each item's users ascending;
    ``by_user``: the same ratings by user (each user's items ascending lets the Cython kernel
    compute half the dense matrix and mirror it; any order gives the same result). Returns (storage, dev, freq, pair_indptr, pair_indices):
    dense (n_items, n_items) dev/freq and None, None; or the CSR store of the pairs with freq > 0.
    See the module docstring for storage and memory_limit.
    """
    storage = check_choice("storage", storage, STORAGES)
    limit = default_memory_limit() if memory_limit is None else check_positive_int("memory_limit", memory_limit)
    n = len(by_item.indptr) - 1
    dense_bytes = n * n * DENSE_BYTES_PER_PAIR
    if storage == "dense" and dense_bytes > limit:
        raise MemoryError(f"storage='dense' needs {dense_bytes:,} bytes for {n} x {n} deviations and supports, "
                          f"more than memory_limit={limit:,}; use storage='sparse' (or 'auto'), or raise memory_limit.")
    if block_rows is None:
        block_rows = max(_MIN_BLOCK_ROWS, _DEVICE_BLOCK_BYTES // max(1, DENSE_BYTES_PER_PAIR * n))
    blocks = [(lo, min(n, lo + block_rows)) for lo in range(0, n, block_rows)]
    args = (by_item.indptr, by_item.indices, by_item.data, by_user.indptr, by_user.indices, by_user.data)
    count_first = storage == "sparse" or (storage == "auto" and dense_bytes > min(limit, AUTO_DENSE_BYTES))
    bar_ctx = progress(len(blocks) * (1 + count_first), "deviations") if progress else None
    bar = bar_ctx.__enter__() if bar_ctx else None
    try:
        indptr = None
        if count_first:
            counts = np.zeros(n, dtype=np.int64)
            for lo, hi in blocks:
                kernels.slopeone_count(by_item.indptr, by_item.indices, by_user.indptr, by_user.indices, lo, hi,
                                       counts, n_threads)
                bar and bar.update(1)
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(counts, out=indptr[1:])
            del counts
            sparse_bytes = int(indptr[-1]) * SPARSE_BYTES_PER_PAIR + indptr.nbytes
            if storage == "auto":
                storage = "dense" if dense_bytes <= min(limit, sparse_bytes) else "sparse"
        elif storage == "auto":
            storage = "dense"
        if storage == "dense":
            dev = np.empty((n, n))
            freq = np.empty((n, n), dtype=np.int32)
            for lo, hi in blocks:
                kernels.slopeone_dense(*args, lo, hi, dev, freq, n_threads)
                bar and bar.update(1)
            kernels.slopeone_mirror(dev, freq, n_threads)
            return "dense", dev, freq, None, None
        nnz = int(indptr[-1])
        need = nnz * SPARSE_BYTES_PER_PAIR + indptr.nbytes + n_threads * n * DENSE_BYTES_PER_PAIR
        if need > limit:
            raise MemoryError(f"storage='sparse' needs about {need:,} bytes for {nnz:,} co-rated item pairs "
                              f"(and {n_threads} row buffers), more than memory_limit={limit:,}; raise memory_limit.")
        indices = np.empty(nnz, dtype=np.int32)
        dev = np.empty(nnz)
        freq = np.empty(nnz, dtype=np.int32)
        for lo, hi in blocks:
            kernels.slopeone_sparse(*args, lo, hi, indptr, indices, dev, freq, n_threads)
            bar and bar.update(1)
        return "sparse", dev, freq, indptr, indices
    finally:
        if bar_ctx:
            bar_ctx.__exit__(None, None, None)
