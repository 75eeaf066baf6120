"""implicit's item-item k-NN recommenders: ItemItemRecommender, Cosine, TF-IDF and BM25.

fit() hands the users x items matrix to reckernels.algorithms.itemitem.ItemItem with the
class's weighting ("none", "cosine", "tfidf", "bm25": implicit's formulas, see that module), whose
compiled kernels keep the K largest dot products of every weighted item column with the others
(itself included): ``similarity`` is that items x items CSR, as in implicit. The weighting helpers
implicit exports (``normalize``, ``tfidf_weight``, ``bm25_weight``) are here too, same formulas.
Values must be >= 0 (the weightings take square roots and logarithms of counts).

recommend() scores a user as implicit's scorer does, sum_j w_uj * S[j, :] over the user's row
(the raw values w_uj), for all users at once with ItemItem's compiled ``itemitem_topk`` kernel:
implicit's sparse accumulator and size-N heap per user (same summation order, same visiting
order, same tie rule), so the lists are implicit's; only items reached through some neighbour are
candidates; already liked items get score 0 (and stay candidates), as in implicit. One id gives
arrays as long as the candidates (at most N); an array of ids gives (n, N) arrays padded with id
-1 and score -finfo(float32).max, as implicit's batch mode. One difference: with ``filter_items``
and one id, implicit can return up to N + len(filter_items) results; here at most N (the same
first N). The userid itself is not used (implicit scores the given row), only checked to be >= 0.
"""

from __future__ import annotations

import numpy as np

from . import _common as C
from ._native import native

_NEG32 = -np.finfo(np.float32).max


def normalize(X):
    """Each row divided by its Euclidean norm (COO out, as implicit's)."""
    import scipy.sparse as sp

    X = sp.coo_matrix(X, dtype=np.float64)
    norms = np.sqrt(np.bincount(X.row, X.data ** 2, minlength=X.shape[0]))
    X.data = X.data / norms[X.row]
    return X


def tfidf_weight(X):
    """sqrt(tf) * idf, idf = log(n_rows) - log1p(entries per column) (COO out, as implicit's)."""
    import scipy.sparse as sp

    X = sp.coo_matrix(X, dtype=np.float64)
    idf = np.log(float(X.shape[0])) - np.log1p(np.bincount(X.col, minlength=X.shape[1]))
    X.data = np.sqrt(X.data) * idf[X.col]
    return X


def bm25_weight(X, K1=100, B=0.8):
    """Okapi BM25 weights of each row (a document) over the columns (terms), as implicit's."""
    import scipy.sparse as sp

    X = sp.coo_matrix(X, dtype=np.float64)
    idf = np.log(float(X.shape[0])) - np.log1p(np.bincount(X.col, minlength=X.shape[1]))
    row_sums = np.bincount(X.row, X.data, minlength=X.shape[0])
    length_norm = (1.0 - B) + B * row_sums / row_sums.mean()
    X.data = X.data * (K1 + 1.0) / (K1 * length_norm[X.row] + X.data) * idf[X.col]
    return X


class ItemItemRecommender:
    """implicit.nearest_neighbours.ItemItemRecommender on reckernels' ItemItem (module docstring)."""

    #: ItemItem's weighting for this class
    _weighting = "none"

    def __init__(self, K=20, num_threads=0):
        if isinstance(K, (bool, np.bool_)) or not isinstance(K, (int, np.integer)) or K < 1:
            raise ValueError(f"K must be an int >= 1 (neighbours kept per item), got {K!r}.")
        self.similarity = None
        self.K = int(K)
        self.num_threads = num_threads

    # ---------------------------------------------------------------- fitting
    def _native(self, show_progress):
        ItemItem = native("itemitem", "ItemItem")
        return ItemItem(K=self.K, weighting=self._weighting, backend="auto", n_threads=C.n_threads(self.num_threads),
                        verbose=bool(show_progress))

    def fit(self, user_items, show_progress=True, callback=None):
        """Compute and store the item-item similarity of a users x items matrix."""
        import scipy.sparse as sp

        if callback:
            raise NotImplementedError("callback isn't support on ItemItemRecommender.fit")
        m = C.check_csr(user_items)
        C.check_values(m, allow_negative=False, why=f"{type(self).__name__} needs counts or confidences >= 0.")
        if not (m.data != 0).any():
            raise ValueError("user_items holds no interaction; there is nothing to learn from.")
        model = self._native(show_progress).fit(m)
        self.similarity = sp.csr_matrix(model.similarity_matrix(), dtype=np.float64)

    # ---------------------------------------------------------------- recommend
    def _check_fitted(self):
        if self.similarity is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit(user_items) first.")

    def recommend(self, userid, user_items, N=10, filter_already_liked_items=True, filter_items=None,
                  recalculate_user=False, items=None):
        """Top-N items from each user's row of user_items: (ids, scores) as implicit's."""
        import scipy.sparse as sp

        self._check_fitted()
        N = C.check_n(N)
        if not isinstance(user_items, sp.csr_matrix):
            raise ValueError("user_items needs to be a CSR sparse matrix (one row per user in userid), got "
                             f"{type(user_items).__name__}.")
        scalar = np.isscalar(userid)
        count = 1 if scalar else len(userid)
        if user_items.shape[0] != count:
            raise ValueError(f"user_items must contain 1 row for every user in userids: got {user_items.shape[0]} "
                             f"row(s) for {count} user(s); pass user_items[userids].")
        C.check_ids(userid, np.iinfo(np.int64).max, "userid", type(self).__name__)
        n_items = self.similarity.shape[0]
        if user_items.shape[1] != n_items:
            raise ValueError(
                f"user_items has {user_items.shape[1]} columns but the model was fitted on {n_items} items. "
                "fit() and recommend() take users x items matrices: if one of them is item x user, pass its "
                "transpose (m.T.tocsr()).")
        if filter_items is not None and items is not None:
            raise ValueError("Can't specify both filter_items and items")
        if items is not None:
            items = np.array(items)
            if items.size == 0 or items.max() >= n_items or items.min() < 0:
                raise IndexError("Some of selected itemids are not in the model")
        if filter_items is not None:
            filter_items = np.asarray(filter_items, dtype=np.int64).ravel()
        # implicit's scorer keeps a heap of N + len(filter_items) (all items with ``items``), then masks
        k = n_items if items is not None else min(n_items, N + (0 if filter_items is None else len(filter_items)))
        width = N if items is None else len(items)
        S = self.similarity
        sim = (S.indptr.astype(np.int64), S.indices.astype(np.int32), S.data.astype(np.float64))
        U = user_items
        ui = (U.indptr.astype(np.int64), U.indices.astype(np.int32), U.data.astype(np.float64))
        kernel = C.kernels("auto").itemitem_topk  # sparse accumulator + k-heap per user, implicit's order
        threads = C.n_threads(self.num_threads)
        out_ids = np.full((count, width), -1, dtype=np.int32)
        out_scores = np.full((count, width), _NEG32, dtype=np.float64)
        lengths = np.zeros(count, dtype=np.int64)
        rows = count if k <= 4 * N + 64 else max(1, (32 << 20) // (12 * k))  # a wide heap: in row blocks
        for lo in range(0, count, rows):
            hi = min(count, lo + rows)
            ids = np.full((hi - lo, k), -1, dtype=np.int32)
            vals = np.full((hi - lo, k), _NEG32, dtype=np.float64)
            n = np.empty(hi - lo, dtype=np.int64)
            kernel(*ui, np.arange(lo, hi, dtype=np.int32), *sim, bool(filter_already_liked_items), ids, vals, n,
                   threads)
            found = np.arange(k) < n[:, None]
            if filter_items is not None or items is not None:
                if filter_items is not None:
                    found &= ~np.isin(ids, filter_items)
                else:
                    found &= np.isin(ids, items)
                # the kept entries first, in their order (a stable sort of the mask), then cut
                order = np.argsort(~found, axis=1, kind="stable")[:, :width]
                ids, vals = np.take_along_axis(ids, order, 1), np.take_along_axis(vals, order, 1)
                found = np.take_along_axis(found, order, 1)
            else:
                ids, vals, found = ids[:, :width], vals[:, :width], found[:, :width]
            n_found = found.sum(axis=1)
            if items is not None:  # the selected items no neighbour reached come last, as in implicit
                for r in np.flatnonzero(n_found < width):
                    missing = items[np.isin(items, ids[r, :n_found[r]], invert=True)]
                    ids[r, n_found[r]:n_found[r] + len(missing)] = missing
                    vals[r, n_found[r]:n_found[r] + len(missing)] = -np.finfo(np.float64).max
                    found[r, n_found[r]:n_found[r] + len(missing)] = True
                n_found = found.sum(axis=1)
            ids[~found] = -1
            vals[~found] = _NEG32
            out_ids[lo:hi, :ids.shape[1]] = ids
            out_scores[lo:hi, :ids.shape[1]] = vals
            lengths[lo:hi] = n_found
        if scalar:
            return out_ids[0, :lengths[0]], out_scores[0, :lengths[0]]
        return out_ids, out_scores

    def rank_items(self, userid, user_items, selected_items, recalculate_user=False):
        """Deprecated in implicit: recommend(..., items=selected_items, filter_already_liked_items=False)."""
        import warnings

        warnings.warn("rank_items is deprecated. Use recommend with the 'items' parameter instead",
                      DeprecationWarning, stacklevel=2)
        return self.recommend(userid, user_items, recalculate_user=recalculate_user, items=selected_items,
                              filter_already_liked_items=False)

    def similar_users(self, userid, N=10, filter_users=None, users=None):
        raise NotImplementedError("similar_users isn't implemented for item-item recommenders")

    def similar_items(self, itemid, N=10, recalculate_item=False, item_users=None, filter_items=None, items=None):
        """The stored neighbours of itemid, best first: (ids, scores) as implicit's."""
        self._check_fitted()
        N = C.check_n(N)
        if recalculate_item:
            raise NotImplementedError("Recalculate_item isn't implemented")
        if filter_items is not None and items is not None:
            raise ValueError("Can't specify both filter_items and items")
        if not np.isscalar(itemid):
            itemid = np.asarray(itemid)
            out_ids = np.full((len(itemid), N), -1, dtype=np.int32)
            out_scores = np.full((len(itemid), N), _NEG32, dtype=np.float64)
            for r, i in enumerate(itemid):  # one CSR row each: a slice, no scoring
                ids, scores = self.similar_items(int(i), N, filter_items=filter_items, items=items)
                out_ids[r, :len(ids)], out_scores[r, :len(ids)] = ids[:N], scores[:N]
            return out_ids, out_scores
        C.check_ids(itemid, np.iinfo(np.int64).max, "itemid", type(self).__name__)
        if itemid >= self.similarity.shape[0]:
            return np.array([], dtype=np.int32), np.array([])
        lo, hi = self.similarity.indptr[itemid], self.similarity.indptr[itemid + 1]
        ids = self.similarity.indices[lo:hi].astype(np.int32)
        scores = self.similarity.data[lo:hi]
        if filter_items is not None:
            keep = np.isin(ids, filter_items, invert=True)
            ids, scores = ids[keep], scores[keep]
        elif items is not None:
            items = np.asarray(items)
            keep = np.isin(ids, items)
            ids, scores = ids[keep], scores[keep]
            missing = items[np.isin(items, ids, invert=True)]
            ids = np.append(ids, missing).astype(np.int32)
            scores = np.append(scores, np.full(missing.size, -np.finfo(np.float64).max))
        best = np.lexsort((-ids.astype(np.int64), -scores))[:N]  # equal scores: larger id first, as implicit
        return ids[best], scores[best]

    # ---------------------------------------------------------------- saving
    def save(self, fileobj_or_path):
        """.npz with implicit's names (K, shape, data, indptr, indices); no pickled objects."""
        args = {"K": self.K, **{k: getattr(self, k) for k in ("K1", "B") if hasattr(self, k)}}
        m = self.similarity
        if m is not None:
            args.update({"shape": m.shape, "data": m.data, "indptr": m.indptr, "indices": m.indices})
        np.savez(fileobj_or_path, **args)

    @classmethod
    def load(cls, fileobj_or_path):
        """A model written by save() (ours or implicit's); never unpickles."""
        import scipy.sparse as sp

        if isinstance(fileobj_or_path, str) and not fileobj_or_path.endswith(".npz"):
            fileobj_or_path = fileobj_or_path + ".npz"
        ret = cls()
        with np.load(fileobj_or_path, allow_pickle=False) as data:
            if "K" not in data.files:
                raise ValueError(f"{fileobj_or_path!r} is not a saved item-item model (no 'K' entry).")
            if "data" in data.files:
                ret.similarity = sp.csr_matrix((data["data"], data["indices"], data["indptr"]),
                                               shape=tuple(data["shape"]))
            ret.K = int(data["K"])
            for k in ("K1", "B"):
                if k in data.files and hasattr(ret, k):
                    setattr(ret, k, float(data[k]))
        return ret


class CosineRecommender(ItemItemRecommender):
    """Item-item on cosine similarity (each item column normalised)."""

    _weighting = "cosine"


class TFIDFRecommender(ItemItemRecommender):
    """Item-item on TF-IDF weights (items as documents, users as terms), then normalised."""

    _weighting = "tfidf"


class BM25Recommender(ItemItemRecommender):
    """Item-item on BM25 weights (items as documents, users as terms)."""

    _weighting = "bm25"

    def __init__(self, K=20, K1=1.2, B=0.75, num_threads=0):
        super().__init__(K, num_threads)
        self.K1 = K1
        self.B = B

    def _native(self, show_progress):
        ItemItem = native("itemitem", "ItemItem")
        return ItemItem(K=self.K, weighting="bm25", K1=self.K1, B=self.B, backend="auto",
                        n_threads=C.n_threads(self.num_threads), verbose=bool(show_progress))
