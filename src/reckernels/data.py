"""The rating data set: raw ids <-> inner ids, a CSR by user and a CSC by item.

Inner ids are dense int32 numbers from 0, given in order of first appearance in the data,
and each user's (and item's) ratings keep the order in which they appear. That is how
scikit-surprise builds its ``Trainset``, and that order decides ties and the SGD order,
so the compat layer can promise the same numbers.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

import numpy as np

from ._validation import check_1d, check_choice, check_rating_scale, check_ratings, check_same_length, id_kinds

DUPLICATE_POLICIES = ("error", "first", "last", "mean")


class CSR(NamedTuple):
    """A compressed sparse row matrix as plain arrays (what the kernels take).

    Row ``r`` holds ``indices[indptr[r]:indptr[r + 1]]`` with values ``data[...]``, in the
    order the ratings appear in the data. For the by-item matrix (CSC) rows are items and
    ``indices`` are users.
    """

    indptr: np.ndarray  # int64, length n_rows + 1
    indices: np.ndarray  # int32
    data: np.ndarray  # float64

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[r], self.indptr[r + 1]
        return self.indices[lo:hi], self.data[lo:hi]

    def row_lengths(self) -> np.ndarray:
        return np.diff(self.indptr)


def _as_id_array(values, name: str) -> np.ndarray:
    """Raw ids as a 1-d numpy array of ints or strings (never a mixed object array)."""
    # a list like [1, "1"] would become the strings "1", "1" in np.asarray: look at its items as they are
    arr = np.asarray(values, dtype=object) if isinstance(values, (list, tuple)) else np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind in "US":
        return arr.astype(str, copy=False)
    if arr.dtype.kind == "f":
        if arr.size and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            raise ValueError(f"{name} holds non-integer floats; ids must be integers or strings.")
        return arr.astype(np.int64)
    if arr.dtype.kind == "O":
        # one rule: an id array holds one kind of id. Mixing kinds (1 and "1", or 1 and 1.0) is refused
        # rather than guessed at, since no single conversion keeps every such pair apart or together.
        if any(v is None or (isinstance(v, float) and v != v) for v in arr):
            raise ValueError(f"{name} holds missing values (None or NaN); every rating needs an id.")
        kinds = id_kinds(arr)
        if len(kinds) > 1 or (kinds and next(iter(kinds)) not in ("int", "float", "str")):
            listed = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
            raise ValueError(f"{name} mixes kinds of ids ({listed}); ids must be all integers or all strings. "
                             f"Convert the column first, e.g. {name}.astype(str) or {name}.astype(int).")
        if "str" in kinds:
            return arr.astype(str)
        return _as_id_array(arr.astype(np.float64 if "float" in kinds else np.int64), name)
    raise TypeError(f"{name} must hold integers or strings, got dtype {arr.dtype}.")


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int32) numbering the distinct values by first appearance, and those values."""
    if values.size == 0:
        return np.empty(0, np.int32), values[:0]
    uniques, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(uniques), dtype=np.int32)
    rank[order] = np.arange(len(uniques), dtype=np.int32)
    return rank[inverse.ravel()], uniques[order]


def _pack(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each string of up to 8 characters below U+0100 as a uint64 of its bytes, first character
    in the top byte (so integer order is string order), and a mask of the strings that pack."""
    width = strings.dtype.itemsize // 4
    codes = np.ascontiguousarray(strings).view(np.uint32).reshape(len(strings), width)
    keys = np.zeros(len(strings), dtype=np.uint64)
    seen = np.zeros(len(strings), dtype=np.uint32)  # OR of the codes: >= 256 if one does not fit
    for j in range(width):  # column by column: NumPy reduces short rows slowly
        column = codes[:, j]
        if j < 8:
            keys |= column.astype(np.uint64) << np.uint64(8 * (7 - j))
            seen |= column
        else:
            seen |= (column != 0).view(np.uint8).astype(np.uint32) << np.uint32(8)
    return keys, seen < 256


class IdMap:
    """Raw id <-> inner id for one side (users or items), vectorised."""

    # integer ids spanning at most this many values times the number of ids (and at most
    # _TABLE_MAX values) are looked up in a dense table: one read per id instead of a binary search
    _TABLE_SPREAD = 8
    _TABLE_MAX = 1 << 24

    def __init__(self, raw_ids: np.ndarray):
        self.raw_ids = raw_ids  # raw id of each inner id
        self._sorter = np.argsort(raw_ids, kind="stable")
        self._sorted = raw_ids[self._sorter]
        self._table = None  # built on first lookup, when the ids suit one (see _lookup_table)
        self._packed = None  # likewise (see _packed_keys)

    def __len__(self) -> int:
        return len(self.raw_ids)

    def _coerce(self, raw) -> tuple[np.ndarray, np.ndarray]:
        """Query ids in the map's dtype, and a mask of those that could be converted at all."""
        arr = np.asarray(raw)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if self.raw_ids.dtype.kind == "U":
            return arr.astype(str, copy=False), np.ones(arr.shape, dtype=bool)
        if arr.dtype.kind in "iu":
            return arr.astype(np.int64), np.ones(arr.shape, dtype=bool)
        # integer ids queried with strings or floats: "42" and 42.0 mean 42, anything else is unknown
        out = np.zeros(arr.shape, dtype=np.int64)
        ok = np.zeros(arr.shape, dtype=bool)
        for k, v in enumerate(arr.tolist()):
            try:
                f = float(v)
            except (TypeError, ValueError):
                continue
            if np.isfinite(f) and f == int(f):
                out[k], ok[k] = int(f), True
        return out, ok

    def _lookup_table(self):
        """(first id, table) with table[raw - first] = inner id or -1, for compact integer ids."""
        if self._table is None:
            self._table = False
            if self.raw_ids.dtype.kind == "i" and len(self._sorted):
                first, last = int(self._sorted[0]), int(self._sorted[-1])
                span = last - first + 1
                if span <= min(self._TABLE_MAX, self._TABLE_SPREAD * len(self._sorted) + 1024):
                    table = np.full(span, -1, dtype=np.int32)
                    table[self.raw_ids - first] = np.arange(len(self.raw_ids), dtype=np.int32)
                    self._table = (first, table)
        return self._table

    def _packed_keys(self):
        """The sorted ids packed into uint64 (see _pack), when every id packs; else False."""
        if self._packed is None:
            self._packed = False
            if self.raw_ids.dtype.kind == "U":
                keys, packs = _pack(self._sorted)
                if packs.all():
                    self._packed = keys
        return self._packed

    def to_inner(self, raw) -> np.ndarray:
        """Inner ids (int32) for raw ids; -1 where the id is unknown."""
        arr, ok = self._coerce(raw)
        if len(self._sorted) == 0 or arr.size == 0:
            return np.full(arr.shape, -1, dtype=np.int32)
        table = self._lookup_table()
        if table:
            first, table = table
            offset = arr - first
            inside = ok & (offset >= 0) & (offset < len(table))
            return np.where(inside, table[np.where(inside, offset, 0)], -1).astype(np.int32, copy=False)
        packed = self._packed_keys()
        if packed is not False:  # integer search instead of string comparisons (about 5x faster)
            keys, packs = _pack(arr)
            pos = np.minimum(np.searchsorted(packed, keys), len(packed) - 1)
            found = ok & packs & (packed[pos] == keys)
            return np.where(found, self._sorter[pos], -1).astype(np.int32)
        pos = np.minimum(np.searchsorted(self._sorted, arr), len(self._sorted) - 1)
        found = ok & (self._sorted[pos] == arr)
        return np.where(found, self._sorter[pos], -1).astype(np.int32)

    def to_raw(self, inner) -> np.ndarray:
        inner = np.asarray(inner)
        if inner.size and (inner.min() < 0 or inner.max() >= len(self.raw_ids)):
            raise IndexError(f"inner ids must be in [0, {len(self.raw_ids)}); got values outside that range.")
        return self.raw_ids[inner]


class Dataset:
    """Explicit or implicit ratings with raw and inner ids.

    Build one with :meth:`from_arrays`, :meth:`from_pandas`, :func:`reckernels.datasets.read_ratings`
    or :func:`reckernels.datasets.load_movielens`.

    Per-rating arrays (all of length ``n_ratings``, in the data's order): ``users`` and
    ``items`` (raw ids), ``inner_users`` and ``inner_items`` (int32), ``ratings`` (float64),
    ``timestamps`` (int64 or None). Per-id arrays: ``user_ids`` / ``item_ids`` give the raw id
    of each inner id. ``csr`` (by user) and ``csc`` (by item) are built on first use.
    """

    def __init__(self, users, items, ratings, timestamps=None, *, rating_scale=None, duplicates="error"):
        check_choice("duplicates", duplicates, DUPLICATE_POLICIES)
        users = _as_id_array(users, "users")
        items = _as_id_array(items, "items")
        ratings = check_1d("ratings", ratings)
        timestamps = None if timestamps is None else check_1d("timestamps", timestamps)
        n = check_same_length(users=users, items=items, ratings=ratings, timestamps=timestamps)
        if n == 0:
            raise ValueError("the data is empty (0 ratings); a data set needs at least one rating.")
        if rating_scale is not None:
            rating_scale = check_rating_scale(rating_scale)
        ratings = check_ratings("ratings", ratings, rating_scale)
        if timestamps is not None:
            timestamps = np.asarray(timestamps)
            if timestamps.dtype.kind not in "iuf" or (timestamps.dtype.kind == "f" and not np.isfinite(timestamps).all()):
                raise ValueError("timestamps must be finite numbers (for example seconds since the epoch).")
            timestamps = timestamps.astype(np.int64) if timestamps.dtype.kind != "f" else timestamps.astype(np.float64)
        if rating_scale is None:
            rating_scale = (float(ratings.min()), float(ratings.max()))

        u_codes, u_raw = factorize(users)
        i_codes, i_raw = factorize(items)
        keep = _resolve_duplicates(u_codes, i_codes, ratings, u_raw, i_raw, duplicates)
        if keep is not None:
            rows, ratings = keep
            users, items = users[rows], items[rows]
            timestamps = None if timestamps is None else timestamps[rows]
            u_codes, u_raw = factorize(users)
            i_codes, i_raw = factorize(items)
        self._set(u_codes, i_codes, IdMap(u_raw), IdMap(i_raw), ratings, timestamps, rating_scale)

    def _set(self, u_codes, i_codes, user_map, item_map, ratings, timestamps, rating_scale):
        self.inner_users = u_codes
        self.inner_items = i_codes
        self.user_map = user_map
        self.item_map = item_map
        self.ratings = ratings
        self.timestamps = timestamps
        self.rating_scale = tuple(rating_scale)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, users, items, ratings=None, timestamps=None, *, rating_scale=None, duplicates="error"):
        """Build from parallel arrays. ``ratings=None`` means implicit feedback (all ones)."""
        if ratings is None:
            ratings = np.ones(len(np.asarray(users)), dtype=np.float64)
        return cls(users, items, ratings, timestamps, rating_scale=rating_scale, duplicates=duplicates)

    @classmethod
    def from_pandas(cls, df, user_col="user", item_col="item", rating_col="rating", timestamp_col=None, *,
                    rating_scale=None, duplicates="error"):
        """Build from a DataFrame; the column names are arguments (``rating_col=None`` for implicit data)."""
        for arg, col in (("user_col", user_col), ("item_col", item_col), ("rating_col", rating_col),
                         ("timestamp_col", timestamp_col)):
            if col is not None and col not in df.columns:
                raise KeyError(f"{arg}={col!r} is not a column of the DataFrame; its columns are {list(df.columns)}.")
        ratings = None if rating_col is None else df[rating_col].to_numpy()
        ts = None if timestamp_col is None else df[timestamp_col].to_numpy()
        return cls.from_arrays(df[user_col].to_numpy(), df[item_col].to_numpy(), ratings, ts,
                               rating_scale=rating_scale, duplicates=duplicates)

    def subset(self, rows) -> "Dataset":
        """A new data set holding the given rating rows (indices or a boolean mask), in that order.

        Inner ids are renumbered by first appearance in the subset, exactly as if the subset
        had been read on its own (this is how a scikit-surprise trainset is built from a fold).
        """
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        if rows.size == 0:
            raise ValueError("the subset is empty (0 ratings); a data set needs at least one rating.")
        u_codes, u_old = factorize(self.inner_users[rows])
        i_codes, i_old = factorize(self.inner_items[rows])
        out = object.__new__(Dataset)
        out._set(u_codes, i_codes, IdMap(self.user_map.raw_ids[u_old]), IdMap(self.item_map.raw_ids[i_old]),
                 self.ratings[rows], None if self.timestamps is None else self.timestamps[rows], self.rating_scale)
        return out

    # ------------------------------------------------------------------ sizes and ids
    def __len__(self) -> int:
        return len(self.ratings)

    @property
    def n_ratings(self) -> int:
        return len(self.ratings)

    @property
    def n_users(self) -> int:
        return len(self.user_map)

    @property
    def n_items(self) -> int:
        return len(self.item_map)

    @property
    def user_ids(self) -> np.ndarray:
        """Raw id of each inner user id."""
        return self.user_map.raw_ids

    @property
    def item_ids(self) -> np.ndarray:
        return self.item_map.raw_ids

    @property
    def users(self) -> np.ndarray:
        """Raw user id of each rating."""
        return self.user_map.raw_ids[self.inner_users]

    @property
    def items(self) -> np.ndarray:
        return self.item_map.raw_ids[self.inner_items]

    def to_inner_users(self, raw) -> np.ndarray:
        """Inner ids (int32) of raw user ids, -1 for users not in the data."""
        return self.user_map.to_inner(raw)

    def to_inner_items(self, raw) -> np.ndarray:
        return self.item_map.to_inner(raw)

    @cached_property
    def global_mean(self) -> float:
        return float(np.mean(self.ratings))

    # ------------------------------------------------------------------ sparse views
    @cached_property
    def csr_order(self) -> np.ndarray:
        """Permutation of rating rows that groups them by user, keeping the data's order."""
        return np.argsort(self.inner_users, kind="stable")

    @cached_property
    def csc_order(self) -> np.ndarray:
        return np.argsort(self.inner_items, kind="stable")

    @cached_property
    def csr(self) -> CSR:
        """Ratings by user: row u lists u's items and ratings in the data's order."""
        return self._compress(self.inner_users, self.inner_items, self.csr_order, self.n_users)

    @cached_property
    def csc(self) -> CSR:
        """Ratings by item: row i lists i's users and ratings in the data's order."""
        return self._compress(self.inner_items, self.inner_users, self.csc_order, self.n_items)

    def _compress(self, rows, cols, order, n_rows) -> CSR:
        counts = np.bincount(rows, minlength=n_rows)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return CSR(indptr, np.ascontiguousarray(cols[order], dtype=np.int32),
                   np.ascontiguousarray(self.ratings[order], dtype=np.float64))

    def to_scipy(self, *, by="user"):
        """The ratings as a ``scipy.sparse.csr_matrix`` (users x items, or items x users with by="item")."""
        import scipy.sparse as sp

        check_choice("by", by, ("user", "item"))
        m = self.csr if by == "user" else self.csc
        shape = (self.n_users, self.n_items) if by == "user" else (self.n_items, self.n_users)
        return sp.csr_matrix((m.data, m.indices, m.indptr), shape=shape)

    def to_pandas(self):
        import pandas as pd

        cols = {"user": self.users, "item": self.items, "rating": self.ratings}
        if self.timestamps is not None:
            cols["timestamp"] = self.timestamps
        return pd.DataFrame(cols)

    def __repr__(self) -> str:
        lo, hi = self.rating_scale
        return (f"Dataset({self.n_ratings:,} ratings, {self.n_users:,} users, {self.n_items:,} items, "
                f"rating_scale=({lo:g}, {hi:g}){', timestamps' if self.timestamps is not None else ''})")


def _resolve_duplicates(u_codes, i_codes, ratings, u_raw, i_raw, policy):
    """None when every (user, item) pair is unique; else (rows to keep, their ratings)."""
    key = u_codes.astype(np.int64) * max(len(i_raw), 1) + i_codes
    uniq, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    if len(uniq) == len(key):
        return None
    if policy == "error":
        dup_rows = np.flatnonzero(counts[inverse] > 1)
        # the first pair (in data order) that appears a second time
        second = dup_rows[np.argmax(first[inverse[dup_rows]] != dup_rows)]
        pair = (u_raw[u_codes[second]].tolist(), i_raw[i_codes[second]].tolist())
        raise ValueError(
            f"duplicate (user, item) pairs: {len(key) - len(uniq)} extra row(s); the first is user={pair[0]!r}, "
            f"item={pair[1]!r} at row {int(second)} (first seen at row {int(first[inverse[second]])}). "
            f"Pass duplicates='first', 'last' or 'mean' to choose which rating to keep."
        )
    if policy == "first":
        rows = np.sort(first)
        return rows, ratings[rows]
    if policy == "last":
        last = np.zeros(len(uniq), dtype=np.int64)
        np.maximum.at(last, inverse.ravel(), np.arange(len(key)))
        rows = np.sort(last)
        return rows, ratings[rows]
    # mean: one row per pair at its first position, rating = mean of the pair's ratings
    sums = np.bincount(inverse.ravel(), weights=ratings, minlength=len(uniq))
    means = sums / counts
    order = np.argsort(first)
    return first[order], means[order]
