"""Item-item nearest neighbours for implicit feedback (implicit 0.7.3's ItemItemRecommender family).

Fit: weight the users x items strengths C, then keep for every item i its K largest dot
products ``S[i, j] = sum_u W[u, i] W[u, j]`` (the item itself included, as implicit keeps it),
with W given by ``weighting``:

- ``"none"``: W = C (implicit's ItemItemRecommender);
- ``"cosine"``: every item column of C scaled to unit L2 norm (CosineRecommender);
- ``"tfidf"``: W[u, i] = sqrt(C[u, i]) * idf[u], item columns then L2-normalised, with
  idf[u] = log(n_items) - log1p(number of items of u) (TFIDFRecommender);
- ``"bm25"``: W[u, i] = C[u, i] (K1 + 1) / (K1 len[i] + C[u, i]) * idf[u], same idf, with
  len[i] = (1 - B) + B * colsum[i] / mean(colsum) (BM25Recommender), not normalised.

An item column whose norm is 0 (all its users have idf 0) stays 0 where implicit would divide
by zero. The dot products come from the backend's ``itemitem_topk`` kernel run as implicit's
all_pairs_knn: for item i, W[u, i] * W[u, :] summed over its users into a sparse accumulator,
then a K-heap over the items reached (the item itself included, a zero product too), visited in
implicit's order with its tie rule, so the kept neighbours are implicit's, not just their values.

Score (``recommend``): ``C[u] @ S``, the user's row of the UN-weighted strengths times the
top-K similarity, as implicit's recommend does, computed by the ``itemitem_scores`` kernel
(users in parallel, no dense n_items x n_items array); the implicit drop-in's recommend uses
the fused ``itemitem_topk`` instead (sparse accumulator and N-heap per user, no score rows). Every product is summed in the same
order as implicit, so similarities and scores equal implicit's to the bit in float64 (for
input whose rows list their items in ascending order, as a scipy CSR does). Recommendations
then differ only in the order of equal scores (ours: smaller item id first) and where a user
has fewer than N candidate items (implicit returns untouched and already-liked items at score
0 then; ours excludes the liked ones and ranks the rest by score).
"""

from __future__ import annotations

import numbers
import time

import numpy as np

from .. import backends as _backends
from .._validation import check_choice, check_positive_int
from ..data import CSR, IdMap
from ..persistence import CSR as FileCSR, Arr, register
from .als import _implicit_input
from .base import Estimator

WEIGHTINGS = ("none", "cosine", "tfidf", "bm25")


def _check_k1(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"K1 must be a finite number > 0 (BM25's term-frequency saturation, implicit's default "
                         f"1.2), got {value!r}.")
    return float(value)


def _check_b(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"B must be a number in [0, 1] (BM25's length normalisation, implicit's default 0.75), "
                         f"got {value!r}.")
    return float(value)


def item_weights(by_item: CSR, n_users: int, weighting: str, K1: float = 1.2, B: float = 0.75) -> np.ndarray:
    """W's values in by_item's order (each item's users ascending), with implicit's arithmetic.

    ``by_item`` holds C by item; the sums (norms, column sums) run over each item's users in
    ascending order, as scipy's and implicit's do for a CSR input, so W equals theirs exactly."""
    data = by_item.data
    if weighting == "none":
        return data
    n_items = by_item.n_rows
    item_of = np.repeat(np.arange(n_items), by_item.row_lengths())
    if weighting in ("tfidf", "bm25"):
        # idf per user: log(N) - log1p(df), N the number of items, df the user's item count
        df = np.bincount(by_item.indices, minlength=n_users)
        idf = np.log(float(n_items)) - np.log1p(df)
    if weighting == "bm25":
        col_sums = np.bincount(item_of, weights=data, minlength=n_items)
        length_norm = (1.0 - B) + B * col_sums / col_sums.mean()
        return data * (K1 + 1.0) / (K1 * length_norm[item_of] + data) * idf[by_item.indices]
    w = np.sqrt(data) * idf[by_item.indices] if weighting == "tfidf" else data
    norms = np.sqrt(np.bincount(item_of, weights=w ** 2, minlength=n_items))
    safe = np.where(norms > 0, norms, 1.0)  # an all-zero column stays zero (implicit: 0 / 0)
    return w / safe[item_of]


def user_item_weights(by_user: CSR, n_items: int, weighting: str, K1: float = 1.2, B: float = 0.75) -> np.ndarray:
    """item_weights' W in by_user's order (each user's items ascending), to the bit.

    The per-item sums (column sums, norms) are bincounts over the entries in by_user's order,
    which visits each item's users in ascending order too, so they equal item_weights'; the fit
    then needs one transpose (W by item from W by user) instead of two."""
    data = by_user.data
    if weighting == "none":
        return data
    lengths = by_user.row_lengths()
    items = by_user.indices
    if weighting in ("tfidf", "bm25"):
        idf = np.repeat(np.log(float(n_items)) - np.log1p(lengths), lengths)  # per user, as item_weights
    if weighting == "bm25":
        col_sums = np.bincount(items, weights=data, minlength=n_items)
        length_norm = (1.0 - B) + B * col_sums / col_sums.mean()
        # data * (K1 + 1) / (K1 * len[i] + data) * idf, in place (fewer 10M-entry temporaries), same bits
        w = data * (K1 + 1.0)
        den = (K1 * length_norm)[items]
        den += data
        w /= den
        w *= idf
        return w
    if weighting == "tfidf":
        w = np.sqrt(data)
        w *= idf
    else:
        w = data
    norms = np.sqrt(np.bincount(items, weights=w * w, minlength=n_items))
    safe = np.where(norms > 0, norms, 1.0)  # an all-zero column stays zero (implicit: 0 / 0)
    out = safe[items]
    np.divide(w, out, out=out)
    return out


def _itemitem_input(data, user_ids, item_ids):
    """als._implicit_input's (by-user CSR, user ids, item ids), without its copies in the common case.

    A canonical scipy CSR (sorted, no duplicates) of finite strengths > 0 and no ids given is
    already what _implicit_input would build: its arrays are taken as they are (float64 values).
    Anything else, bad input included, goes through _implicit_input (its checks and messages)."""
    import scipy.sparse as sp

    if user_ids is None and item_ids is None and sp.issparse(data) and data.format == "csr" and data.ndim == 2 \
            and data.dtype.kind in "uif" and data.has_canonical_format and data.nnz:
        values = np.asarray(data.data, dtype=np.float64)
        if np.isfinite(values).all() and (values > 0).all():
            n_users, n_items = data.shape
            return (CSR(np.asarray(data.indptr, dtype=np.int64), np.ascontiguousarray(data.indices, dtype=np.int32),
                        np.ascontiguousarray(values)), np.arange(n_users), np.arange(n_items))
    return _implicit_input(data, user_ids, item_ids, model="ItemItem")


@register
class ItemItem(Estimator):
    """Item-item neighbourhood model on implicit feedback: see the module docstring.

    ``K``: neighbours kept per item (the item itself counts, as in implicit). ``weighting``:
    "none", "cosine", "tfidf" or "bm25"; ``K1`` and ``B`` are BM25's (used by "bm25" only).
    Train on a :class:`reckernels.Dataset` (ratings = strengths) or a scipy.sparse users x items
    matrix. The fitted similarity is ``sim_indptr_`` / ``sim_indices_`` / ``sim_data_`` (CSR,
    item x item, float64; row i = item i's neighbours, ascending), see ``similarity_matrix()``.
    """

    predicts_ratings = False  # scores rank items; they are not ratings

    def __init__(self, K=20, weighting="none", K1=1.2, B=0.75, *, backend="auto", n_threads=None,
                 random_state=None, verbose=False):
        self.K = check_positive_int("K", K)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.K1 = _check_k1(K1)
        self.B = _check_b(B)
        self._init_common(backend, n_threads, random_state, verbose)

    # ------------------------------------------------------------------ fitting
    def fit(self, data, user_ids=None, item_ids=None) -> "ItemItem":
        """Compute the top-K item-item similarity from ``data``.

        ``data`` is a Dataset or a scipy.sparse users x items matrix of strengths >= 0 (zeros are
        no interaction); for a matrix, row u is the user ``user_ids[u]`` (default u) and column
        i the item ``item_ids[i]`` (default i), as :meth:`ImplicitALS.fit`.
        """
        with self._transaction():  # an error or Ctrl-C leaves the previous state
            return self._fit_itemitem(data, user_ids, item_ids)

    def _fit_itemitem(self, data, user_ids, item_ids):
        by_user, user_ids, item_ids = _itemitem_input(data, user_ids, item_ids)
        self.backend_ = _backends.resolve(self.backend)
        self._kernels = _backends.get_backend(self.backend_)
        self.user_map_, self.item_map_ = IdMap(user_ids), IdMap(item_ids)
        self.rating_scale_ = (-np.inf, np.inf)  # scores are not on a rating scale: never clipped
        self.global_mean_ = 0.0
        self.seen_ = (by_user.indptr, by_user.indices)
        start = time.perf_counter()
        with self._progress(3, "fit") as bar:
            self._fit_similarity(by_user, len(user_ids), len(item_ids), bar)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _fit_similarity(self, by_user: CSR, n_users: int, n_items: int, bar) -> None:
        from ..similarity import transpose_csr

        self.user_items_ = by_user
        # W by user, then by item (one compiled counting sort: users ascending per item)
        w_by_user = user_item_weights(by_user, n_items, self.weighting, self.K1, self.B)
        by_item = transpose_csr(by_user.indptr, by_user.indices, w_by_user, n_items)
        self.item_popularity_ = by_item.row_lengths().astype(np.float64)
        bar.update()
        # implicit's all_pairs_knn, fused: for item i, sum W[u, i] * W[u, :] over its users u
        # (ascending) into a sparse accumulator, then a K-heap over the items it reached, visited
        # newest first (the item itself included, zero products too): the kernel that recommends,
        # with item i's users as the "user's items" and W by user as the "similarity"
        k = min(self.K, max(1, n_items))
        ids = np.empty((n_items, k), dtype=np.int32)
        sims = np.empty((n_items, k))
        lengths = np.empty(n_items, dtype=np.int64)
        self._kernels.itemitem_topk(by_item.indptr, by_item.indices, by_item.data, np.arange(n_items, dtype=np.int32),
                                    by_user.indptr, by_user.indices, w_by_user, False, ids, sims,
                                    lengths, self.n_threads_, n_cols=n_items)
        bar.update()
        # each row's kept neighbours by ascending id (implicit's CSR after tocsr); padding sorts last
        keep = np.arange(k) < lengths[:, None]
        ids[~keep] = np.iinfo(np.int32).max
        order = np.argsort(ids, axis=1)
        ids, sims = np.take_along_axis(ids, order, 1), np.take_along_axis(sims, order, 1)
        self.sim_indptr_ = np.zeros(n_items + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.sim_indptr_[1:])
        self.sim_indices_ = np.ascontiguousarray(ids[keep], dtype=np.int32)
        self.sim_data_ = np.ascontiguousarray(sims[keep], dtype=np.float64)
        bar.update()

    # ------------------------------------------------------------------ the similarity
    def similarity_matrix(self):
        """The fitted top-K similarity as a scipy.sparse.csr_matrix (n_items, n_items)."""
        import scipy.sparse as sp

        self._check_fitted()
        n = len(self.item_map_)
        return sp.csr_matrix((self.sim_data_, self.sim_indices_, self.sim_indptr_), shape=(n, n))

    def similar_items(self, raw_ids, k: int = 10):
        """Each item's k stored neighbours (itself included, as implicit's similar_items), most
        similar first (ties: smaller inner id): (raw ids, similarities), both (n, k); slots left
        over hold id -1 (or "") and similarity -inf. Unknown ids raise."""
        self._check_fitted()
        k = check_positive_int("k", k)
        raw = np.atleast_1d(np.asarray(raw_ids))
        inner = self.item_map_.to_inner(raw)
        if (inner < 0).any():
            raise ValueError(f"unknown id(s) {raw[inner < 0][:5].tolist()}: they are not in the training data.")
        idx = np.full((len(inner), k), -1, dtype=np.int64)
        sims = np.full((len(inner), k), -np.inf)
        for row, x in enumerate(inner.tolist()):
            lo, hi = self.sim_indptr_[x], self.sim_indptr_[x + 1]
            cand, val = self.sim_indices_[lo:hi], self.sim_data_[lo:hi]
            best = np.lexsort((cand, -val))[:k]
            idx[row, :len(best)] = cand[best]
            sims[row, :len(best)] = val[best]
        ids = self.item_map_.raw_ids[np.maximum(idx, 0)]
        if (idx < 0).any():
            ids = ids.copy()
            ids[idx < 0] = "" if ids.dtype.kind == "U" else -1
        return ids, sims

    # ------------------------------------------------------------------ scoring
    def _score(self, users):
        """C[u] @ S for every item (the kernel); an unknown user (-1) gets the items' popularity."""
        users = np.ascontiguousarray(users, dtype=np.int32)
        out = np.empty((len(users), len(self.item_map_)))
        ui = self.user_items_
        self._kernels.itemitem_scores(ui.indptr, ui.indices, ui.data, users, self.sim_indptr_, self.sim_indices_,
                                      self.sim_data_, out, self.n_threads_)
        out[users < 0] = self.item_popularity_
        return out

    def score_rows(self, user_items):
        """Scores (n_rows, n_items) of the rows of a scipy.sparse matrix of strengths over the
        fitted items (e.g. users not seen in training): each row times the similarity."""
        import scipy.sparse as sp

        self._check_fitted()
        m = sp.csr_matrix(user_items)
        n_items = len(self.item_map_)
        if m.ndim != 2 or m.shape[1] != n_items:
            raise ValueError(f"user_items must have one column per fitted item ({n_items}), got shape {m.shape}.")
        data = np.asarray(m.data, dtype=np.float64)
        if not np.isfinite(data).all():
            raise ValueError("user_items hold NaN or infinite values; strengths must be finite.")
        out = np.empty(m.shape)
        self._kernels.itemitem_scores(m.indptr.astype(np.int64), m.indices.astype(np.int32), data,
                                      np.arange(m.shape[0], dtype=np.int32), self.sim_indptr_, self.sim_indices_,
                                      self.sim_data_, out, self.n_threads_)
        return out

    def _estimate(self, users, items):
        """The score of each (user, item) pair; 0 and impossible when either is unknown."""
        both = (users >= 0) & (items >= 0)
        est = np.zeros(len(users))
        uniq, where = np.unique(users[both], return_inverse=True)
        pos = np.flatnonzero(both)
        rows = max(1, self.recommend_block_bytes // max(1, 8 * len(self.item_map_)))
        for lo in range(0, len(uniq), rows):
            block = self._score(uniq[lo:lo + rows])
            take = (where >= lo) & (where < lo + rows)
            est[pos[take]] = block[where[take] - lo, items[pos[take]]]
        return est, ~both

    # ------------------------------------------------------------------ saving
    def _state(self):
        ui = self.user_items_
        return {}, {"sim_indptr": self.sim_indptr_, "sim_indices": self.sim_indices_, "sim_data": self.sim_data_,
                    "ui_indptr": ui.indptr, "ui_indices": ui.indices, "ui_data": ui.data,
                    "item_popularity": self.item_popularity_}

    def _file_spec(self, meta):
        # the top-K similarity (items x items) and the training interactions (users x items)
        return {"sim": FileCSR("n_items", "n_items", "float64"), "ui": FileCSR("n_users", "n_items", "float64"),
                "item_popularity": Arr("float64", ("n_items",))}

    def _restore(self, meta, arrays):
        self.sim_indptr_, self.sim_indices_, self.sim_data_ = (arrays["sim_indptr"], arrays["sim_indices"],
                                                               arrays["sim_data"])
        self.user_items_ = CSR(arrays["ui_indptr"], arrays["ui_indices"], arrays["ui_data"])
        self.item_popularity_ = arrays["item_popularity"]


__all__ = ["ItemItem", "WEIGHTINGS", "item_weights", "user_item_weights"]
