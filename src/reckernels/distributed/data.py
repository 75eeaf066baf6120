"""Ratings partitioned across the workers: row blocks of the by-user and by-item matrices.

:class:`BlockedRatings` is the client's handle: the id maps, the sizes, and futures of the
blocks, each a CSR of a contiguous range of users (or items) with global column ids. A block
lives on a worker; the client never holds the rating table.

From a reckernels Dataset, each block is a task that carries its slice of the Dataset's
arrays. From a Dask DataFrame, nothing is gathered but the distinct ids:

1. each partition lists its distinct users and items in first-appearance order; concatenated
   in partition order and de-duplicated again on the client, they give the same inner ids as
   ``Dataset.from_pandas`` on the whole table (first appearance);
2. each partition maps its raw ids to inner ids and counts its ratings per user and item;
3. block bounds cut the users (items) into contiguous ranges of about equal rating counts;
4. each partition splits its ratings by block, and each block concatenates its pieces in
   partition order, so every row keeps the data's order, as in a local Dataset.

Both ways, a block is a task result that Dask can recompute if the worker holding it is lost.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from .._validation import check_rating_scale
from ..data import CSR, Dataset, IdMap, _as_id_array, factorize


@dataclass
class BlockedRatings:
    """What a distributed fit needs on the client: ids, sizes and the block futures."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    n_ratings: int
    global_mean: float
    rating_scale: tuple
    user_bounds: np.ndarray  # block b holds users [user_bounds[b], user_bounds[b + 1])
    item_bounds: np.ndarray
    user_blocks: list  # futures of CSR (rows: the block's users, indices: inner item ids)
    item_blocks: list  # futures of CSR (rows: the block's items, indices: inner user ids)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def balanced_bounds(counts: np.ndarray, n_blocks: int) -> np.ndarray:
    """Cut points splitting rows 0..n into at most ``n_blocks`` contiguous ranges of about equal
    total ``counts`` (every range non-empty)."""
    n = len(counts)
    n_blocks = max(1, min(int(n_blocks), n))
    cum = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
    targets = cum[-1] * np.arange(1, n_blocks) / n_blocks
    cuts = np.searchsorted(cum, targets, side="left")
    return np.unique(np.concatenate(([0], np.clip(cuts, 1, max(n - 1, 1)), [n])).astype(np.int64))


# ---------------------------------------------------------------------- tasks (run on workers)
def _slice_rows(csr: CSR, lo: int, hi: int) -> CSR:
    start, stop = int(csr.indptr[lo]), int(csr.indptr[hi])
    return CSR(csr.indptr[lo:hi + 1] - start, csr.indices[start:stop].copy(), csr.data[start:stop].copy())


def _copy_block(block: CSR) -> CSR:
    return CSR(*block)


def _partition_summary(df, user_col, item_col, rating_col):
    """(distinct users, distinct items in first-appearance order, n, sum, min, max) of a partition."""
    users = _as_id_array(df[user_col].to_numpy(), "users")
    items = _as_id_array(df[item_col].to_numpy(), "items")
    if rating_col is None:
        ratings = np.ones(len(df))
    else:
        ratings = np.asarray(df[rating_col].to_numpy(), dtype=np.float64)
        bad = ~np.isfinite(ratings)
        if bad.any():
            raise ValueError(f"column {rating_col!r} holds {int(bad.sum())} NaN or infinite rating(s); ratings must "
                             "be finite numbers. Drop or fill them first.")
    return (factorize(users)[1], factorize(items)[1], len(ratings), float(ratings.sum()),
            float(ratings.min()) if len(ratings) else np.inf, float(ratings.max()) if len(ratings) else -np.inf)


def _partition_codes(df, user_col, item_col, rating_col, user_map: IdMap, item_map: IdMap):
    """(inner users, inner items, ratings) of a partition, with its per-user and per-item counts."""
    u = user_map.to_inner(_as_id_array(df[user_col].to_numpy(), "users"))
    i = item_map.to_inner(_as_id_array(df[item_col].to_numpy(), "items"))
    r = np.ones(len(df)) if rating_col is None else np.asarray(df[rating_col].to_numpy(), dtype=np.float64)
    return u, i, r, np.bincount(u, minlength=len(user_map)), np.bincount(i, minlength=len(item_map))


def _sum_counts(*codes):
    return (np.sum([c[3] for c in codes], axis=0), np.sum([c[4] for c in codes], axis=0))


def _split_pieces(codes, bounds, by_user: bool):
    """The partition's ratings cut by row block: [(rows, cols, ratings) per block]."""
    u, i, r = codes[:3]
    rows, cols = (u, i) if by_user else (i, u)
    block = np.searchsorted(bounds, rows, side="right") - 1
    order = np.argsort(block, kind="stable")
    starts = np.searchsorted(block[order], np.arange(len(bounds)))
    return [(rows[order[a:b]], cols[order[a:b]], r[order[a:b]]) for a, b in zip(starts[:-1], starts[1:])]


def _assemble_block(lo: int, hi: int, by_user: bool, *pieces) -> CSR:
    """One block's CSR from its pieces (in partition order: each row keeps the data's order)."""
    rows = np.concatenate([p[0] for p in pieces]) - lo
    cols = np.concatenate([p[1] for p in pieces]).astype(np.int32)
    vals = np.concatenate([p[2] for p in pieces]).astype(np.float64)
    order = np.argsort(rows, kind="stable")
    rows, cols, vals = rows[order], cols[order], vals[order]
    indptr = np.zeros(hi - lo + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=hi - lo), out=indptr[1:])
    if by_user and len(cols) > 1:  # the same (user, item) twice: a local Dataset refuses it too
        key = rows.astype(np.int64) * (int(cols.max()) + 1) + cols
        if len(np.unique(key)) != len(key):
            raise ValueError("the ratings hold repeated (user, item) pairs; keep one rating per pair (for "
                             "example ddf.drop_duplicates([user, item])) or build a Dataset with "
                             "duplicates='mean'/'first'/'last'.")
    return CSR(indptr, np.ascontiguousarray(cols), np.ascontiguousarray(vals))


# ---------------------------------------------------------------------- building the blocks
def from_dataset(client, data: Dataset, n_blocks: int) -> BlockedRatings:
    """One task per block, holding its slice of ``data``'s arrays.

    The slices travel inside the tasks rather than as scattered data: Dask forgets scattered
    data when a worker holding it dies, while a task it can simply run again.
    """
    ub = balanced_bounds(np.diff(data.csr.indptr), n_blocks)
    ib = balanced_bounds(np.diff(data.csc.indptr), n_blocks)
    blocks = {}
    for by_user, bounds, csr in ((True, ub, data.csr), (False, ib, data.csc)):
        blocks[by_user] = [client.submit(_copy_block, _slice_rows(csr, int(lo), int(hi)))
                           for lo, hi in zip(bounds[:-1], bounds[1:])]
    return BlockedRatings(data.user_ids, data.item_ids, len(data), data.global_mean, data.rating_scale,
                          ub, ib, blocks[True], blocks[False])


def from_dask_dataframe(client, ddf, n_blocks: int, *, user_col="user", item_col="item", rating_col="rating",
                        rating_scale=None) -> BlockedRatings:
    """Blocks built from a Dask DataFrame without gathering it (see the module docstring)."""
    for arg, col in (("user_col", user_col), ("item_col", item_col), ("rating_col", rating_col)):
        if col is not None and col not in ddf.columns:
            raise KeyError(f"{arg}={col!r} is not a column of the DataFrame; its columns are {list(ddf.columns)}.")
    parts = client.compute(ddf.to_delayed())
    summaries = client.gather([client.submit(_partition_summary, p, user_col, item_col, rating_col) for p in parts])
    n = sum(s[2] for s in summaries)
    if n == 0:
        raise ValueError("the data is empty (0 ratings); a data set needs at least one rating.")
    user_ids = factorize(np.concatenate([s[0] for s in summaries if len(s[0])]))[1]
    item_ids = factorize(np.concatenate([s[1] for s in summaries if len(s[1])]))[1]
    lo_r, hi_r = min(s[4] for s in summaries), max(s[5] for s in summaries)
    if rating_scale is None:
        rating_scale = (lo_r, hi_r)
    else:
        rating_scale = check_rating_scale(rating_scale)
        if lo_r < rating_scale[0] or hi_r > rating_scale[1]:
            raise ValueError(f"ratings span [{lo_r}, {hi_r}], outside rating_scale={rating_scale}; widen the scale "
                             "or fix the data.")
    user_map, item_map = client.scatter([IdMap(user_ids), IdMap(item_ids)], broadcast=True)
    codes = [client.submit(_partition_codes, p, user_col, item_col, rating_col, user_map, item_map) for p in parts]
    user_counts, item_counts = client.submit(_sum_counts, *codes).result()
    ub, ib = balanced_bounds(user_counts, n_blocks), balanced_bounds(item_counts, n_blocks)
    blocks = {}
    for by_user, bounds in ((True, ub), (False, ib)):
        pieces = [client.submit(_split_pieces, c, bounds, by_user) for c in codes]
        blocks[by_user] = [
            client.submit(_assemble_block, int(lo), int(hi), by_user,
                          *[client.submit(operator.getitem, p, b) for p in pieces])
            for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))]
    total = sum(s[3] for s in summaries)
    return BlockedRatings(user_ids, item_ids, int(n), float(total / n), tuple(rating_scale), ub, ib,
                          blocks[True], blocks[False])
