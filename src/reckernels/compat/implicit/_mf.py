"""implicit's MatrixFactorizationBase: recommend / similar_items / similar_users over factor
matrices, save / load as .npz without pickle, to_gpu / to_cpu.

Scores are computed as implicit does (``user_factors @ item_factors.T`` in the factors' dtype,
cosine for the similar_* calls), block by block; filtered items get ``-finfo(dtype).max`` and stay
selectable when N reaches them, as in implicit; each block's top N comes from the backend's
compiled ``topk_rows`` (equal scores: larger id first, as implicit's heap
returns them). Returned ids are int32, scores the factors' dtype;
one id in gives 1-d arrays, an array of ids gives 2-d arrays. N larger than the candidates is
cut to the number of candidates (implicit pads with id 0 and score 0 there).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from . import _common as C

#: dense score block budget (bytes) for recommend / similar_*
_BLOCK_BYTES = 32 * 2**20


class MatrixFactorizationBase:
    """Shared by AlternatingLeastSquares, BayesianPersonalizedRanking, LogisticMatrixFactorization."""

    #: attributes written by save() (besides the factors), in implicit's names
    _saved_params: tuple = ()

    def __init__(self, num_threads=0, use_gpu=False):
        self.item_factors = None
        self.user_factors = None
        self._user_norms, self._item_norms = None, None
        self.num_threads = num_threads
        self.use_gpu = bool(use_gpu)
        if self.use_gpu:
            C.kernels("cuda")  # says why right away where numba-cuda or a GPU is missing

    # ---------------------------------------------------------------- plumbing
    @property
    def _backend(self) -> str:
        return C.backend_name(self.use_gpu)

    @property
    def _threads(self) -> int:
        return C.n_threads(self.num_threads)

    def _check_fitted(self):
        if self.user_factors is None or self.item_factors is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit(user_items) first.")

    def _check_user_items(self, userid, user_items, required: bool):
        """implicit's checks (CSR, one row per user) plus the shape check of implicit issues #481/#484."""
        import scipy.sparse as sp

        if user_items is None:
            if required:
                raise ValueError("user_items needs to be a CSR sparse matrix (one row per user in userid)")
            return None
        if not isinstance(user_items, sp.csr_matrix):
            if required:
                raise ValueError("user_items needs to be a CSR sparse matrix (one row per user in userid), got "
                                 f"{type(user_items).__name__}; convert it with .tocsr().")
            return None
        count = 1 if np.isscalar(userid) else len(userid)
        if required and user_items.shape[0] != count:
            raise ValueError(f"user_items must contain 1 row for every user in userids: got {user_items.shape[0]} "
                             f"row(s) for {count} user(s); pass user_items[userids].")
        n_items = self.item_factors.shape[0]
        if user_items.shape[1] > n_items:
            raise ValueError(
                f"user_items has {user_items.shape[1]} columns but the model was fitted on {n_items} items. "
                "Since implicit 0.5 fit() and recommend() take users x items matrices: if you fitted on an "
                "item x user matrix, fit on its transpose (m.T.tocsr()).")
        if user_items.shape[1] < n_items and user_items.shape[1] == self.user_factors.shape[0]:
            # fewer columns is fine (items added by partial_fit_items since); as many as users smells of a swap
            warnings.warn(f"user_items has {user_items.shape[1]} columns, the number of users of the model, not "
                          f"its {n_items} items: is it an item x user matrix? recommend() takes the users' rows "
                          "of the users x items matrix.", C.ParameterWarning, stacklevel=3)
        return user_items

    def _user_hint(self) -> str:
        return (f" (The model has {self.item_factors.shape[0]} items: if fit() got an item x user matrix, "
                "the two sides are swapped; fit on m.T.tocsr().)")

    # ---------------------------------------------------------------- recommend
    def recommend(self, userid, user_items, N=10, filter_already_liked_items=True, filter_items=None,
                  recalculate_user=False, items=None):
        """Top-N items for one user id or an array of them: (ids, scores), as implicit's."""
        self._check_fitted()
        N = C.check_n(N)
        needs_rows = bool(filter_already_liked_items or recalculate_user)
        user_items = self._check_user_items(userid, user_items, needs_rows)
        if recalculate_user:
            user = self.recalculate_user(userid, user_items)
        else:
            C.check_ids(userid, self.user_factors.shape[0], "userid", type(self).__name__, self._user_hint())
            user = self.user_factors[userid]
        user = np.atleast_2d(user)
        item_factors = self.item_factors
        n_items = item_factors.shape[0]
        liked = user_items if filter_already_liked_items else None
        if items is not None:
            if filter_items is not None and len(filter_items):
                raise ValueError("Can't set both items and filter_items in recommend call")
            items = np.sort(np.array(items))
            if items.size == 0 or items.max() >= n_items or items.min() < 0:
                raise IndexError("Some itemids in the items parameter in are not in the model")
            N = min(N, len(items))
            item_factors = item_factors[items]
            if liked is not None:
                liked = _restrict_columns(liked, items)
        filter_items = self._check_filter(filter_items, n_items)
        ids, scores = self._topk(user, item_factors, N, liked, filter_items, None)
        if np.isscalar(userid):
            ids, scores = ids[0], scores[0]
        if items is not None:
            ids = items[ids].astype(np.int32)
        return ids, scores

    def rank_items(self, userid, user_items, selected_items, recalculate_user=False):
        """Deprecated in implicit: recommend(..., items=selected_items, filter_already_liked_items=False)."""
        warnings.warn("rank_items is deprecated. Use recommend with the 'items' parameter instead",
                      DeprecationWarning, stacklevel=2)
        return self.recommend(userid, user_items, recalculate_user=recalculate_user, items=selected_items,
                              filter_already_liked_items=False)

    def recommend_all(self, user_items, N=10, recalculate_user=False, filter_already_liked_items=True,
                      filter_items=None, users_items_offset=0):
        """Deprecated in implicit: the ids of recommend(arange(n) + users_items_offset, user_items)."""
        import scipy.sparse as sp

        warnings.warn("recommend_all is deprecated. Use recommend with an array of userids instead", DeprecationWarning,
                      stacklevel=2)
        userids = np.arange(user_items.shape[0]) + users_items_offset
        ids, _ = self.recommend(userids, sp.csr_matrix(user_items), N=N, recalculate_user=recalculate_user,
                                filter_already_liked_items=filter_already_liked_items, filter_items=filter_items)
        return ids

    def _check_filter(self, filter_ids, n):
        if filter_ids is None:
            return None
        filter_ids = np.asarray(filter_ids, dtype=np.int64).ravel()
        if filter_ids.size and (filter_ids.min() < 0 or filter_ids.max() >= n):
            raise IndexError(f"filter ids must lie in [0, {n}), got {filter_ids[(filter_ids < 0) | (filter_ids >= n)][0]}.")
        return filter_ids

    def _topk(self, query, factors, N, liked, filter_ids, norms):
        """Blocks of ``query @ factors.T`` (divided by ``norms`` if given), filtered, top N each."""
        dtype = np.result_type(query.dtype, factors.dtype)
        neg = -np.finfo(dtype).max
        n_rows, n_cols = query.shape[0], factors.shape[0]
        N = min(N, n_cols)
        out_ids = np.zeros((n_rows, N), np.int32)
        out_scores = np.zeros((n_rows, N), dtype)
        rows = max(1, min(1024, _BLOCK_BYTES // max(1, 8 * n_cols)))
        for lo in range(0, n_rows, rows):
            hi = min(n_rows, lo + rows)
            block = query[lo:hi].dot(factors.T)
            if norms is not None:
                block = block / norms
            if liked is not None:
                C.set_rows_to(block, liked.indptr[lo:hi + 1], liked.indices, neg)
            if filter_ids is not None and filter_ids.size:
                block[:, filter_ids] = neg
            out_ids[lo:hi], out_scores[lo:hi] = C.topk(block, N, self._backend, self._threads, larger_first=True)
        return out_ids, out_scores

    def recalculate_user(self, userid, user_items):
        raise NotImplementedError("recalculate_user is not supported with this model")

    def recalculate_item(self, itemid, item_users):
        raise NotImplementedError("recalculate_item is not supported with this model")

    # ---------------------------------------------------------------- similarity
    def similar_users(self, userid, N=10, filter_users=None, users=None):
        """Most similar users by cosine of the user factors: (ids, scores)."""
        self._check_fitted()
        N = C.check_n(N)
        C.check_ids(userid, self.user_factors.shape[0], "userid", type(self).__name__, self._user_hint())
        return self._similar(self.user_factors[userid], self.user_norms[userid], self.user_factors,
                             self.user_norms, N, filter_users, users, "users")

    def similar_items(self, itemid, N=10, recalculate_item=False, item_users=None, filter_items=None, items=None):
        """Most similar items by cosine of the item factors: (ids, scores)."""
        self._check_fitted()
        N = C.check_n(N)
        if recalculate_item:
            factor = self.recalculate_item(itemid, item_users)
            norm = np.linalg.norm(factor, axis=-1)
            norm = np.where(norm == 0, 1e-10, norm) if np.ndim(norm) else (norm if norm != 0 else 1e-10)
        else:
            C.check_ids(itemid, self.item_factors.shape[0], "itemid", type(self).__name__)
            factor, norm = self.item_factors[itemid], self.item_norms[itemid]
        return self._similar(factor, norm, self.item_factors, self.item_norms, N, filter_items, items, "items")

    def _similar(self, factor, norm, factors, norms, N, filter_ids, subset, what):
        n = factors.shape[0]
        if subset is not None:
            if filter_ids is not None and len(filter_ids):
                raise ValueError(f"Can't set both {what} and filter_{what} in similar_{what} call")
            subset = np.array(subset)
            if subset.size == 0 or subset.max() >= n or subset.min() < 0:
                raise IndexError(f"Some ids in the {what} parameter are not in the model")
            factors, norms = factors[subset], norms[subset]
        filter_ids = self._check_filter(filter_ids, n)
        ids, scores = self._topk(np.atleast_2d(factor), factors, N, None, filter_ids, norms)
        if np.isscalar(norm) or np.ndim(norm) == 0:
            ids, scores = ids[0], scores[0] / norm
        else:
            scores = scores / np.asarray(norm)[:, None]
        if subset is not None:
            ids = subset[ids].astype(np.int32)
        return ids, scores

    @property
    def user_norms(self):
        if self._user_norms is None:
            self._user_norms = _norms(self.user_factors)
        return self._user_norms

    @property
    def item_norms(self):
        if self._item_norms is None:
            self._item_norms = _norms(self.item_factors)
        return self._item_norms

    def _invalidate(self):
        self._user_norms = self._item_norms = None

    def _check_fit_errors(self):
        if np.isnan(self.user_factors).any() or np.isnan(self.item_factors).any():
            raise C.ModelFitError("NaN encountered in factors")

    # ---------------------------------------------------------------- devices
    def to_gpu(self):
        """This model on the GPU: the same object type computing with reckernels' cuda backend.

        Raises reckernels.backends.BackendUnavailable with the reason when no GPU is usable."""
        C.kernels("cuda")  # the clear error where numba-cuda or a GPU is missing
        ret = copy.deepcopy(self)
        ret.use_gpu = True
        return ret

    def to_cpu(self):
        """This model on the CPU (a copy; factors are host arrays either way)."""
        ret = copy.deepcopy(self)
        ret.use_gpu = False
        return ret

    # ---------------------------------------------------------------- saving
    def save(self, fileobj_or_path):
        """Write the model as .npz (implicit's names; no pickled objects)."""
        args = {name: getattr(self, name) for name in ("user_factors", "item_factors") + self._saved_params}
        if "dtype" in args:
            args["dtype"] = np.dtype(args["dtype"]).name
        args = {k: v for k, v in args.items()
                if v is not None and (isinstance(v, (np.ndarray, str, bool, int, float, np.generic)))}
        np.savez(fileobj_or_path, **args)

    @classmethod
    def load(cls, fileobj_or_path):
        """A model written by save() (or by implicit's save for the same class); never unpickles."""
        if isinstance(fileobj_or_path, str) and not fileobj_or_path.endswith(".npz"):
            fileobj_or_path = fileobj_or_path + ".npz"
        ret = cls()
        known = set(vars(ret))
        with np.load(fileobj_or_path, allow_pickle=False) as data:
            unknown = sorted(set(data.files) - known)
            if unknown:
                raise ValueError(f"{fileobj_or_path!r} holds {unknown}, which a {cls.__name__} does not have: it "
                                 "was saved by another model class.")
            for k in data.files:
                v = data[k]
                if k == "dtype":
                    v = np.dtype(str(v))
                elif v.shape == ():
                    v = v.item()
                setattr(ret, k, v)
        return ret


def _norms(factors):
    norms = np.linalg.norm(factors, axis=-1)
    norms[norms == 0] = 1e-10  # as implicit: no division by zero in similar_*
    return norms


def _restrict_columns(m, items):
    """The CSR rows of m with columns renumbered to positions in the sorted ``items`` (others dropped)."""
    import scipy.sparse as sp

    coo = m.tocoo()
    pos = np.clip(np.searchsorted(items, coo.col), 0, len(items) - 1)
    keep = items[pos] == coo.col
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], pos[keep])), shape=(m.shape[0], len(items)))
