"""Accuracy, ranking and beyond-accuracy metrics, in plain vectorised NumPy.

Ranking metrics at k take ``recommended``, a 2-d array (n_users, width) of item ids (ints or
strings; -1 or "" pads a list shorter than its row, meaning "no item"), and ``relevant``, a
sequence with one array-like of relevant item ids per row (padding ids there are ignored).
A list shorter than k (width < k or padding) counts its missing slots as misses. An item
repeated within a list counts once, at its first position. Each returns the mean over the rows that have at least one relevant
item; ``per_user=True`` returns the per-row values of just those rows (rows without
relevant items are excluded, because recall, nDCG and AP are undefined for them).
"""

from __future__ import annotations


import numpy as np

from ._validation import check_positive_int
from .data import IdMap, _as_id_array

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")


# ---------------------------------------------------------------------- rating accuracy
def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Both as 1-d float64 arrays of equal, non-zero length with finite values."""
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        try:
            arr = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers; could not convert it to float.") from None
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first at position "
                             f"{int(np.flatnonzero(bad)[0])}; drop or fix those predictions before scoring.")
        arrays.append(arr)
    if len(arrays[0]) != len(arrays[1]):
        raise ValueError(f"y_true and y_pred must have the same length, got {len(arrays[0])} and {len(arrays[1])}.")
    if len(arrays[0]) == 0:
        raise ValueError("y_true and y_pred are empty; an error metric needs at least one rating.")
    return arrays[0], arrays[1]


def rmse(y_true, y_pred) -> float:
    """Root mean squared error: ``sqrt(mean((y_true - y_pred) ** 2))``."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mse(y_true, y_pred) -> float:
    """Mean squared error: ``mean((y_true - y_pred) ** 2)``."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mae(y_true, y_pred) -> float:
    """Mean absolute error: ``mean(|y_true - y_pred|)``."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


# ---------------------------------------------------------------------- ranking at k
def _check_recommended(recommended) -> np.ndarray:
    rec = np.asarray(recommended)
    if rec.ndim != 2:
        raise ValueError(f"recommended must be a 2-d array (n_users, list length) of item ids, got shape {rec.shape}.")
    if rec.dtype.kind not in "iuU":
        raise TypeError(f"recommended must hold integer or string item ids, got dtype {rec.dtype}.")
    return rec


def _padding(rec: np.ndarray) -> np.ndarray:
    """True where a slot of ``recommended`` holds no item (-1 or "")."""
    return rec == ("" if rec.dtype.kind == "U" else -1)


def _flatten_relevant(relevant, n_rows: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(row of each relevant id, the ids), with ids of the same kind ("int" or "str") as recommended."""
    if isinstance(relevant, (str, bytes)) or not hasattr(relevant, "__len__"):
        raise TypeError("relevant must be a sequence with one array-like of relevant item ids per row of "
                        f"recommended, got {type(relevant).__name__}.")
    if len(relevant) != n_rows:
        raise ValueError(f"relevant has {len(relevant)} rows but recommended has {n_rows}; give one array-like "
                         "of relevant item ids per recommended list.")
    parts = [np.asarray(list(r) if isinstance(r, (set, frozenset)) else r).reshape(-1) for r in relevant]
    lengths = np.array([len(p) for p in parts], dtype=np.int64)
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64 if kind == "int" else str)
    for p in parts:
        if (p.dtype.kind == "U") != (kind == "str"):
            raise TypeError(f"relevant holds ids of dtype {p.dtype} but recommended holds {kind} ids; "
                            "use the same kind of item id in both.")
    ids = _as_id_array(np.concatenate(parts), "relevant")
    is_item = ids != ("" if kind == "str" else -1)  # padding ids mean "no item" here too
    return np.repeat(np.arange(n_rows), lengths)[is_item], ids[is_item]


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (one sort: much faster than np.unique's hash path on large arrays)."""
    keys = np.sort(keys)
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys


def _member(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(keys, sorted_set)`` by binary search in the sorted distinct ``sorted_set``."""
    if sorted_set.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, keys), sorted_set.size - 1)
    return sorted_set[pos] == keys


def ranking_hits(recommended, relevant, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The (n_users, k) boolean hit matrix of the top-k lists and each row's number of distinct relevant items.

    ``hits[u, j]`` is True when the j-th item of row u is relevant to u (and not padding, and
    not a repeat of an earlier item of the list). Membership is one binary search of the
    combined (row, item) keys of the lists in those of the relevant items, with no loop over items.
    """
    k = check_positive_int("k", k)
    rec = _check_recommended(recommended)
    n_rows = rec.shape[0]
    top = rec[:, :k]
    rel_rows, rel_ids = _flatten_relevant(relevant, n_rows, "str" if rec.dtype.kind == "U" else "int")
    # one integer code per distinct id, so (row, item) pairs become single int64 keys
    uniques, codes = np.unique(np.concatenate((_as_id_array(top.reshape(-1), "recommended"), rel_ids)),
                               return_inverse=True)
    n_codes = max(len(uniques), 1)
    top_keys = np.repeat(np.arange(n_rows, dtype=np.int64), top.shape[1]) * n_codes + codes[:top.size]
    rel_keys = _sorted_unique(rel_rows * n_codes + codes[top.size:])
    n_relevant = np.bincount(rel_keys // n_codes, minlength=n_rows)

    first = np.zeros(top.size, dtype=bool)
    first[np.unique(top_keys, return_index=True)[1]] = True  # np.unique's index is the first occurrence
    hit = _member(top_keys, rel_keys) & first & ~_padding(top).reshape(-1)
    hits = np.zeros((n_rows, k), dtype=bool)
    hits[:, :top.shape[1]] = hit.reshape(top.shape)
    return hits, n_relevant


def _discounts(k: int) -> np.ndarray:
    """1 / log2(position + 1) for positions 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2))


def _precision(hits, n_rel):
    return hits.sum(axis=1) / hits.shape[1]


def _recall(hits, n_rel):
    return hits.sum(axis=1) / n_rel


def _ndcg(hits, n_rel):
    disc = _discounts(hits.shape[1])
    ideal = np.cumsum(disc)[np.minimum(n_rel, hits.shape[1]) - 1]
    return (hits * disc).sum(axis=1) / ideal


def _map(hits, n_rel):
    precision_at_j = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    return (precision_at_j * hits).sum(axis=1) / np.minimum(n_rel, hits.shape[1])


def _hit_rate(hits, n_rel):
    return hits.any(axis=1).astype(np.float64)


def _mrr(hits, n_rel):
    first = np.argmax(hits, axis=1)
    return np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0)


_RANKING_FORMULAE = {"precision": _precision, "recall": _recall, "ndcg": _ndcg, "map": _map,
                     "hit_rate": _hit_rate, "mrr": _mrr}


def _users_with_relevant(hits, n_rel):
    keep = n_rel > 0
    if not keep.any():
        raise ValueError("no row of relevant holds any item, so ranking metrics are undefined; give at least "
                         "one user a relevant item (or lower the relevance threshold).")
    return hits[keep], n_rel[keep]


def _ranking(name, recommended, relevant, k, per_user):
    hits, n_rel = _users_with_relevant(*ranking_hits(recommended, relevant, k))
    values = _RANKING_FORMULAE[name](hits, n_rel)
    return values if per_user else float(values.mean())


def ranking_metrics(recommended, relevant, k: int = 10, metrics=RANKING_METRICS) -> dict:
    """Several ranking metrics at k from one membership pass: ``{name: mean}`` for each of ``metrics``."""
    unknown = [m for m in metrics if m not in _RANKING_FORMULAE]
    if unknown:
        raise ValueError(f"metrics holds unknown name(s) {unknown}; known ranking metrics are "
                         f"{', '.join(RANKING_METRICS)}.")
    hits, n_rel = _users_with_relevant(*ranking_hits(recommended, relevant, k))
    return {m: float(_RANKING_FORMULAE[m](hits, n_rel).mean()) for m in metrics}


def precision_at_k(recommended, relevant, k: int = 10, *, per_user: bool = False):
    """Precision@k: ``|top-k ∩ relevant| / k`` (a list shorter than k still divides by k)."""
    return _ranking("precision", recommended, relevant, k, per_user)


def recall_at_k(recommended, relevant, k: int = 10, *, per_user: bool = False):
    """Recall@k: ``|top-k ∩ relevant| / |relevant|``."""
    return _ranking("recall", recommended, relevant, k, per_user)


def ndcg_at_k(recommended, relevant, k: int = 10, *, per_user: bool = False):
    """nDCG@k with binary relevance: ``DCG / IDCG``.

    ``DCG = sum_j rel_j / log2(j + 1)`` over positions j = 1..k, and
    ``IDCG = sum_{j=1..min(k, |relevant|)} 1 / log2(j + 1)`` (every relevant item ranked first).
    """
    return _ranking("ndcg", recommended, relevant, k, per_user)


def map_at_k(recommended, relevant, k: int = 10, *, per_user: bool = False):
    """MAP@k: the mean of AP@k, ``AP@k = sum_j P@j * rel_j / min(k, |relevant|)`` over positions j = 1..k."""
    return _ranking("map", recommended, relevant, k, per_user)


def hit_rate_at_k(recommended, relevant, k: int = 10, *, per_user: bool = False):
    """Hit rate@k: 1 if any of the top k is relevant, else 0."""
    return _ranking("hit_rate", recommended, relevant, k, per_user)


def mrr_at_k(recommended, relevant, k: int = 10, *, per_user: bool = False):
    """MRR@k: ``1 / rank`` of the first relevant item among the top k (0 when none is)."""
    return _ranking("mrr", recommended, relevant, k, per_user)


# ---------------------------------------------------------------------- beyond accuracy
def catalogue_coverage(recommended, n_items: int) -> float:
    """Share of the catalogue that is recommended to anyone: ``|distinct items in recommended| / n_items``.

    Padding (-1 / "") is not an item.
    """
    rec = _check_recommended(recommended)
    n_items = check_positive_int("n_items", n_items)
    n_distinct = len(_sorted_unique(rec[~_padding(rec)]))
    if n_distinct > n_items:
        raise ValueError(f"recommended holds {n_distinct} distinct items but n_items={n_items}; n_items must be "
                         "the size of the whole catalogue.")
    return n_distinct / n_items


def _item_rows(rec: np.ndarray, item_ids, n_table: int, table_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Row of ``table_name`` for each slot of ``rec`` (-1 for padding), and the padding mask.

    ``item_ids`` gives the item id of each table row; None means the ids are the row numbers.
    """
    pad = _padding(rec)
    if item_ids is None:
        if rec.dtype.kind == "U":
            raise TypeError(f"recommended holds string ids, so pass item_ids: the item id of each entry of "
                            f"{table_name}.")
        rows = rec.astype(np.int64)
        unknown = ~pad & ((rows < 0) | (rows >= n_table))
    else:
        ids = _as_id_array(item_ids, "item_ids")
        if len(ids) != n_table:
            raise ValueError(f"item_ids has {len(ids)} entries but {table_name} has {n_table}; give one id per entry.")
        rows = IdMap(ids).to_inner(rec.reshape(-1)).reshape(rec.shape).astype(np.int64)
        unknown = ~pad & (rows < 0)
    if unknown.any():
        raise ValueError(f"recommended holds {int(unknown.sum())} item(s) missing from {table_name}, the first "
                         f"is {rec[unknown][0]!r}; give every recommended item an entry.")
    return np.where(pad, -1, rows), pad


def novelty(recommended, item_popularity, *, item_ids=None) -> float:
    """Mean self-information of the recommended items, in bits.

    ``item_popularity[j]`` is the share of (training) users who interacted with item j, in
    (0, 1] (see :func:`popularity_shares`); ``item_ids`` gives each entry's item id (None: the
    ids are the positions 0..n-1). For a list L, ``novelty(L) = mean_{i in L} -log2(share_i)``;
    the result is the mean over the lists holding at least one item (Zhou et al., 2010).
    """
    rec = _check_recommended(recommended)
    shares = np.asarray(item_popularity, dtype=np.float64).reshape(-1)
    if shares.size and not (np.isfinite(shares).all() and (shares > 0).all() and (shares <= 1).all()):
        raise ValueError("item_popularity must hold shares of users in (0, 1]; an item nobody interacted with "
                         "cannot be scored (its self-information is infinite).")
    n_in_list = (~_padding(rec)).sum(axis=1)
    if not n_in_list.any():
        raise ValueError("recommended holds no item (only padding); novelty needs at least one recommendation.")
    rows, pad = _item_rows(rec, item_ids, len(shares), "item_popularity")
    info = np.where(pad, 0.0, -np.log2(shares[np.maximum(rows, 0)]))
    keep = n_in_list > 0
    return float((info.sum(axis=1)[keep] / n_in_list[keep]).mean())


def popularity_shares(dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(item_ids, shares)`` of a :class:`reckernels.Dataset`: each item's share of users who rated it.

    The arguments :func:`novelty` takes as ``item_ids`` and ``item_popularity``.
    """
    counts = np.diff(dataset.csc.indptr)  # a Dataset holds each (user, item) pair once
    return dataset.item_ids, counts / dataset.n_users


def intra_list_diversity(recommended, item_vectors, *, item_ids=None) -> float:
    """Mean pairwise cosine distance within each list: ``mean_{i<j in L} 1 - cos(v_i, v_j)``.

    ``item_vectors`` is (n_items, d), row j the vector of item ``item_ids[j]`` (None: of item
    j). The result is the mean over lists holding at least two items; padding is skipped.
    """
    rec = _check_recommended(recommended)
    vectors = np.asarray(item_vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"item_vectors must be a 2-d array (n_items, n_features), got shape {vectors.shape}.")
    rows, pad = _item_rows(rec, item_ids, len(vectors), "item_vectors")
    norms = np.linalg.norm(vectors, axis=1)
    used = _sorted_unique(rows[~pad])
    if not (np.isfinite(norms[used]).all() and (norms[used] > 0).all()):
        raise ValueError("item_vectors has an all-zero or non-finite row for a recommended item; cosine "
                         "similarity is undefined there, so give every recommended item a non-zero vector.")
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    lists = unit[np.maximum(rows, 0)]
    cosine = np.einsum("uid,ujd->uij", lists, lists)
    width = rec.shape[1]
    pairs = ~pad[:, :, None] & ~pad[:, None, :] & ~np.eye(width, dtype=bool)  # ordered pairs i != j of items
    n_in_list = (~pad).sum(axis=1)
    n_pairs = n_in_list * (n_in_list - 1)  # each unordered pair counted twice, in the sum and in the count
    distance_sum = ((1.0 - cosine) * pairs).sum(axis=(1, 2))
    keep = n_pairs > 0
    if not keep.any():
        raise ValueError("no list in recommended holds two items; intra-list diversity needs pairs.")
    return float((distance_sum[keep] / n_pairs[keep]).mean())
