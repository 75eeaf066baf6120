"""UserKNN and ItemKNN: neighbourhood collaborative filtering, scikit-surprise's k-NN estimators.

Prediction for (u, i), user-based: the k users most similar to u among those who rated i;
item-based: the k items most similar to i among those u rated. Of these, the ones with
similarity <= 0 are dropped (``actual_k`` is what remains), and the estimate is

- ``center="none"``: sum(sim * r) / sum(sim)                                   (KNNBasic)
- ``center="mean"``: mu_x + sum(sim * (r - mu_x')) / sum(sim)                   (KNNWithMeans)
- ``center="zscore"``: mu_x + sigma_x * sum(sim * (r - mu_x') / sigma_x') / sum(sim) (KNNWithZScore)
- ``center="baseline"``: b_ui + sum(sim * (r - b_x'y)) / sum(sim)               (KNNBaseline)

where x is u (user-based) or i (item-based), mu_x the mean of all of x's training ratings and
sigma_x their population standard deviation (the standard deviation of all ratings where it is
0, and 1 where that is 0 too: scikit-surprise returns NaN there). With fewer than ``min_k``
neighbours (or none) the neighbour term is left out: "none" falls back to the global mean,
the others to mu_x or b_ui. An unknown user or item gives the global mean (b_ui with the
unknown side's bias taken as 0 for "baseline"). ``predict(..., return_impossible=True)`` marks
every such fallback; ``predict_details`` also gives ``actual_k`` and the reason code.

Similarity storage (``storage``/``max_neighbors``/``memory_limit``, see
:func:`reckernels.similarity.compute_similarity`): dense reproduces scikit-surprise exactly.
With top-M storage a pair that is not among the M stored neighbours counts as similarity 0, and
so does x with itself (scikit-surprise's diagonal is 1: that matters only when predicting a
training pair); this is the one place results can differ from scikit-surprise.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_choice, check_nonnegative_float, check_positive_int
from ..backends._knn import CENTERS, POSSIBLE, TOO_FEW, UNKNOWN
from ..persistence import register
from ..similarity import STORAGES, Similarity, baseline_residuals, compute_similarity
from ..persistence import CSR, Arr
from .base import Estimator
from .baseline import BaselineOnly, fit_baselines

SIMS = ("pearson", "pearson_baseline", "cosine", "msd", "adjusted_cosine")
_BSL_KEYS = ("method", "n_epochs", "reg_u", "reg_i", "reg", "learning_rate")
_NO_SIM = np.empty((0, 0), np.int32)  # sim_idx for dense storage
_EMPTY = np.empty(0)


class KNNDetails(NamedTuple):
    """Per-prediction details from :meth:`UserKNN.predict_details` / :meth:`ItemKNN.predict_details`.

    ``code``: 0 the neighbour estimate, 1 unknown user or item, 2 fewer than max(min_k, 1)
    neighbours (the estimate is the fallback described in the module docstring).
    """

    est: np.ndarray
    actual_k: np.ndarray
    code: np.ndarray


CODE_POSSIBLE, CODE_UNKNOWN, CODE_TOO_FEW = POSSIBLE, UNKNOWN, TOO_FEW


class _KNN(Estimator):
    """Shared by UserKNN and ItemKNN; ``user_based`` is the only difference."""

    user_based: bool

    def __init__(self, k=40, min_k=1, sim="pearson", center="mean", min_support=1, shrinkage=100.0,
                 max_neighbors=None, storage="auto", memory_limit=None, dtype="float64", bsl_options=None, *,
                 backend="auto", n_threads=None, random_state=None, verbose=False):
        self.k = check_positive_int("k", k)
        self.min_k = check_positive_int("min_k", min_k, minimum=0)
        if self.min_k > self.k:
            raise ValueError(f"min_k={min_k} is larger than k={k}: no prediction could ever use its neighbours; "
                             f"choose min_k <= k.")
        self.sim = check_choice("sim", sim, SIMS)
        if sim == "adjusted_cosine" and self.user_based:
            raise ValueError("sim='adjusted_cosine' compares items over user-mean-centred ratings (Sarwar et al.) "
                             "and is defined for ItemKNN only; for users, sim='pearson' centres on the means.")
        self.center = check_choice("center", center, tuple(CENTERS))
        self.min_support = check_positive_int("min_support", min_support, minimum=0)
        self.shrinkage = check_nonnegative_float("shrinkage", shrinkage)
        self.max_neighbors = None if max_neighbors is None else check_positive_int("max_neighbors", max_neighbors)
        self.storage = check_choice("storage", storage, STORAGES)
        if self.storage == "dense" and self.max_neighbors is not None:
            raise ValueError("max_neighbors keeps only the top-M neighbours, which needs storage='topm' or 'auto'; "
                             "with storage='dense' leave it None.")
        self.memory_limit = None if memory_limit is None else check_positive_int("memory_limit", memory_limit)
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise TypeError(f"dtype must be float64 or float32 (the similarity storage type), got {dtype!r}.")
        self.dtype = dt.name
        self.bsl_options = None if bsl_options is None else dict(bsl_options)
        self._baseline_model()  # checks bsl_options now, not at fit
        self._init_common(backend, n_threads, random_state, verbose)

    def _baseline_model(self) -> BaselineOnly:
        opts = dict(self.bsl_options or {})
        unknown = sorted(set(opts) - set(_BSL_KEYS))
        if unknown:
            raise ValueError(f"bsl_options has unknown key(s) {unknown}; known keys are {', '.join(_BSL_KEYS)}.")
        return BaselineOnly(**opts)

    # ------------------------------------------------------------------ fitting
    def _fit(self, dataset):
        ub = self.user_based
        xr = dataset.csr if ub else dataset.csc  # rows: the compared entities
        yr = dataset.csc if ub else dataset.csr  # candidates: the raters of an item / the items of a user
        self._cand = (yr.indptr, yr.indices, yr.data)
        counts = np.diff(xr.indptr)
        self.means_ = np.add.reduceat(xr.data, xr.indptr[:-1]) / counts
        self.sigmas_ = _EMPTY
        if self.center == "zscore":
            dev = xr.data - np.repeat(self.means_, counts)
            sigmas = np.sqrt(np.add.reduceat(dev * dev, xr.indptr[:-1]) / counts)
            overall = float(np.std(dataset.ratings))
            self.sigmas_ = np.where(sigmas == 0.0, overall if overall > 0 else 1.0, sigmas)
        self.bu_ = self.bi_ = _EMPTY
        if self.center == "baseline" or self.sim == "pearson_baseline":
            b = self._baseline_model()
            self.bu_, self.bi_ = fit_baselines(self._kernels, dataset, method=b.method, n_epochs=b.n_epochs,
                                               reg_u=b.reg_u, reg_i=b.reg_i, reg=b.reg,
                                               learning_rate=b.learning_rate, n_threads=self.n_threads_,
                                               progress=self._progress, check=self.check_divergence)
        data, transposed = xr.data, self._cand
        kind = self.sim
        if self.sim == "pearson_baseline":
            bx, by = (self.bu_, self.bi_) if ub else (self.bi_, self.bu_)
            data, transposed = baseline_residuals(xr.indptr, xr.indices, xr.data, dataset.global_mean, bx, by), None
        elif self.sim == "adjusted_cosine":  # items compared over their ratings minus each user's mean
            user_means = np.add.reduceat(dataset.csr.data, dataset.csr.indptr[:-1]) / np.diff(dataset.csr.indptr)
            data, transposed, kind = xr.data - user_means[xr.indices], None, "cosine"
        self.similarity_ = compute_similarity(
            xr.indptr, xr.indices, data, yr.n_rows, kind=kind, min_support=self.min_support,
            shrinkage=self.shrinkage, storage=self.storage, max_neighbors=self.max_neighbors,
            memory_limit=self.memory_limit, dtype=np.dtype(self.dtype), backend=self.backend_,
            n_threads=self.n_threads_, transposed=transposed,
            topm_runner=getattr(self, "_topm_runner", None))  # set during reckernels.distributed.fit only
        self._set_similarity_arrays()

    def _set_similarity_arrays(self):
        s = self.similarity_
        self._sim_idx, self._sim_val = (_NO_SIM, s.dense) if s.storage == "dense" else (s.idx, s.sim)

    # ------------------------------------------------------------------ prediction
    def _kernel_args(self):
        return (*self._cand, self._sim_idx, self._sim_val, self.k, self.min_k, CENTERS[self.center],
                self.user_based, self.means_ if self.center in ("mean", "zscore") else _EMPTY, self.sigmas_,
                self.bu_ if self.center == "baseline" else _EMPTY,
                self.bi_ if self.center == "baseline" else _EMPTY, self.global_mean_)

    def _details_inner(self, users, items) -> KNNDetails:
        """Unclipped estimates, actual_k and codes for inner ids (-1 = unknown)."""
        # pairs grouped by x (the user, or the item item-based): consecutive pairs then read the same
        # similarity row, which stays in cache (about 2x faster than the test set's order on ML-100K)
        x = users if self.user_based else items
        if self.similarity_.n_rows < np.iinfo(np.uint16).max:  # a radix sort; -1 (unknown) sorts last
            x = x.astype(np.uint16)
        order = np.argsort(x, kind="stable")
        users = np.ascontiguousarray(users[order], dtype=np.int32)
        items = np.ascontiguousarray(items[order], dtype=np.int32)
        n = len(users)
        est, actual_k, code = np.empty(n), np.empty(n, np.int32), np.empty(n, np.int8)
        self._kernels.knn_predict(users, items, *self._kernel_args(), est, actual_k, code, self.n_threads_)
        out = KNNDetails(np.empty(n), np.empty(n, np.int32), np.empty(n, np.int8))
        for dst, src in zip(out, (est, actual_k, code)):
            dst[order] = src
        return out

    def _estimate(self, users, items):
        d = self._details_inner(users, items)
        return d.est, d.code != CODE_POSSIBLE

    def predict_details(self, users, items, *, clip: bool = True) -> KNNDetails:
        """Like ``predict``, plus ``actual_k`` (neighbours used) and ``code`` (see :class:`KNNDetails`)."""
        d = self._details_inner(*self._inner_pairs(users, items))
        if clip:
            np.clip(d.est, *self.rating_scale_, out=d.est)
        return d

    def _score(self, users):
        """Unclipped estimates of every item for each user of the block, by the k-NN scorer kernel."""
        users = np.ascontiguousarray(users, dtype=np.int32)
        scores = np.empty((len(users), len(self.item_map_)))
        self._kernels.knn_score(users, *self._kernel_args(), scores, self.n_threads_)
        return scores

    def _recommend_inner(self, users, k, exclude):
        """Scoring and top-k selection fused in the backend's knn_recommend (no score block)."""
        users = np.ascontiguousarray(users, dtype=np.int32)
        # the dense similarity is symmetric (compute_similarity mirrors it): the item-based kernel relies on it
        symmetric = self.similarity_.storage == "dense"
        return self._kernels.knn_recommend(users, *self._kernel_args(), *self.seen_, len(self.item_map_), k,
                                           exclude, symmetric, self.n_threads_)

    # ------------------------------------------------------------------ neighbours
    def _similar(self, raw_ids, k, id_map):
        self._check_fitted()
        k = check_positive_int("k", k)
        raw = np.atleast_1d(np.asarray(raw_ids))
        inner = id_map.to_inner(raw)
        if (inner < 0).any():
            raise ValueError(f"unknown id(s) {raw[inner < 0][:5].tolist()}: they are not in the training data.")
        idx = np.full((len(inner), k), -1, dtype=np.int64)
        sims = np.full((len(inner), k), -np.inf)
        for row, x in enumerate(inner):
            nb, s = self.similarity_.top_neighbors(int(x), k)
            idx[row, :len(nb)] = nb
            sims[row, :len(nb)] = s
        ids = id_map.raw_ids[np.maximum(idx, 0)]
        if (idx < 0).any():
            ids = ids.copy()
            ids[idx < 0] = "" if ids.dtype.kind == "U" else -1
        return ids, sims

    # ------------------------------------------------------------------ saving
    def _state(self):
        s = self.similarity_
        arrays = {"cand_indptr": self._cand[0], "cand_indices": self._cand[1], "cand_data": self._cand[2],
                  "means": self.means_, "sigmas": self.sigmas_, "bu": self.bu_, "bi": self.bi_}
        if s.storage == "dense":
            arrays["sim_dense"] = s.dense
        else:
            arrays["sim_idx"], arrays["sim_val"] = s.idx, s.sim
        return {"sim_storage": s.storage, "sim_kind": s.kind}, arrays

    def _file_spec(self, meta):
        # exactly the arrays _fit makes for these parameters: a kernel never sees an empty stand-in
        rows, others = ("n_users", "n_items") if self.user_based else ("n_items", "n_users")
        baselines = self.center == "baseline" or self.sim == "pearson_baseline"
        spec = {"cand": CSR(others, rows, data="float64"), "means": Arr("float64", (rows,)),
                "sigmas": Arr("float64", (rows if self.center == "zscore" else 0,)),
                "bu": Arr("float64", ("n_users" if baselines else 0,)),
                "bi": Arr("float64", ("n_items" if baselines else 0,))}
        if meta["sim_storage"] == "dense":
            spec["sim_dense"] = Arr("dtype", (rows, rows), finite=False)
        else:
            spec["sim_idx"] = Arr("int32", (rows, "__max_neighbors"), lo=-1, hi=rows)
            spec["sim_val"] = Arr("dtype", (rows, "__max_neighbors"), finite=False)
        return spec

    def _restore(self, meta, arrays):
        self._cand = (arrays["cand_indptr"], arrays["cand_indices"], arrays["cand_data"])
        self.means_, self.sigmas_, self.bu_, self.bi_ = arrays["means"], arrays["sigmas"], arrays["bu"], arrays["bi"]
        n_rows = len(self.user_map_) if self.user_based else len(self.item_map_)
        if meta["sim_storage"] == "dense":
            self.similarity_ = Similarity(meta["sim_kind"], "dense", n_rows, dense=arrays["sim_dense"],
                                          memory_limit=self.memory_limit)
        else:
            self.similarity_ = Similarity(meta["sim_kind"], "topm", n_rows, idx=arrays["sim_idx"],
                                          sim=arrays["sim_val"], memory_limit=self.memory_limit)
        self._set_similarity_arrays()


@register
class UserKNN(_KNN):
    """User-based k-NN (scikit-surprise's KNN* with ``user_based=True``); see the module docstring.

    ``k`` neighbours at most, ``min_k`` at least for the neighbour term; ``sim`` one of "pearson",
    "pearson_baseline", "cosine", "msd" (scikit-surprise's formulas over co-rated items);
    ``center`` "none" | "mean" | "zscore" | "baseline"; ``min_support`` and ``shrinkage`` (for
    pearson_baseline) as scikit-surprise; ``storage``, ``max_neighbors``, ``memory_limit`` and
    ``dtype`` choose how the similarities are kept (see :func:`reckernels.similarity.compute_similarity`);
    ``bsl_options`` configures the baselines (keys as :class:`reckernels.BaselineOnly`: method,
    n_epochs, reg_u, reg_i, reg, learning_rate). ``random_state`` is accepted for the common
    estimator contract; k-NN is deterministic and does not use it.
    """

    user_based = True

    def similar_users(self, raw_ids, k: int = 10):
        """The k users most similar to each given user: (raw ids, similarities), both (n, k).

        Most similar first, ties by the smaller inner id; with dense storage every other user
        is ranked (as scikit-surprise's ``get_neighbors``), with top-M only the stored ones.
        Slots left over hold id -1 (or "") and similarity -inf.
        """
        return self._similar(raw_ids, k, self.user_map_)


@register
class ItemKNN(_KNN):
    """Item-based k-NN (scikit-surprise's KNN* with ``user_based=False``); see the module docstring.

    Options as :class:`UserKNN`, plus ``sim="adjusted_cosine"``: the cosine of item vectors
    whose ratings are centred on each user's mean over all the user's ratings (Sarwar et al.).
    """

    user_based = False

    def similar_items(self, raw_ids, k: int = 10):
        """The k items most similar to each given item: (raw ids, similarities), both (n, k).

        Most similar first, ties by the smaller inner id; with dense storage every other item
        is ranked (as scikit-surprise's ``get_neighbors``), with top-M only the stored ones.
        Slots left over hold id -1 (or "") and similarity -inf.
        """
        return self._similar(raw_ids, k, self.item_map_)


__all__ = ["UserKNN", "ItemKNN", "KNNDetails", "SIMS", "CODE_POSSIBLE", "CODE_UNKNOWN", "CODE_TOO_FEW"]
