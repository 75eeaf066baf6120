"""What every drop-in class shares: Trainset -> Dataset, batched test(), Prediction objects.

scikit-surprise calls ``estimate(u, i)`` once per pair from Python. The adapter instead maps
all pairs of a test set to inner ids at once, runs one batched kernel call through a
reckernels estimator, and only then builds the ``Prediction`` objects the pipeline expects.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

try:
    from surprise import AlgoBase, PredictionImpossible
    from surprise.prediction_algorithms.predictions import Prediction
except ImportError as exc:  # pragma: no cover - exercised only without scikit-surprise
    raise ImportError("reckernels.compat.surprise needs scikit-surprise: pip install scikit-surprise==1.1.5") from exc

from ...data import CSR, Dataset, IdMap

UNKNOWN_REASON = "User and/or item is unknown."


def dataset_from_trainset(trainset) -> Dataset:
    """A reckernels Dataset with exactly the Trainset's inner ids and rating order.

    The CSR is built from ``trainset.ur`` and the CSC from ``trainset.ir`` as they are, so sums
    over a user's or an item's ratings run in the same order as in scikit-surprise.
    """
    n_users, n_items = trainset.n_users, trainset.n_items
    user_raw = np.array([trainset.to_raw_uid(u) for u in range(n_users)])
    item_raw = np.array([trainset.to_raw_iid(i) for i in range(n_items)])
    csr = _compress(trainset.ur, n_users)
    csc = _compress(trainset.ir, n_items)
    users = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(csr.indptr))
    ds = object.__new__(Dataset)
    ds._set(users, csr.indices, IdMap(user_raw), IdMap(item_raw), csr.data, None, trainset.rating_scale)
    ds.__dict__["csr"] = csr  # cached_property slots: keep Surprise's own orders
    ds.__dict__["csc"] = csc
    ds.__dict__["global_mean"] = trainset.global_mean
    return ds


def _compress(lists, n_rows) -> CSR:
    rows = [lists[r] for r in range(n_rows)]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    # (id, rating) tuples flattened in one C-level pass: several times faster than np.array(list of tuples)
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(rows)), dtype=np.float64, count=2 * int(indptr[-1]))
    arr = flat.reshape(-1, 2)
    return CSR(indptr, arr[:, 0].astype(np.int32), np.ascontiguousarray(arr[:, 1]))


class SurpriseAdapter(AlgoBase):
    """Base of the drop-in classes: subclasses build ``self.model`` (a reckernels estimator).

    Subclasses implement ``_build_model()`` and may override ``_details(k, ...)`` to add
    per-prediction details (KNN adds ``actual_k``).
    """

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        self.model = self._build_model()
        self.model.fit(dataset_from_trainset(trainset))
        return self

    def _build_model(self):
        raise NotImplementedError

    # --- batched prediction -------------------------------------------------
    def _batch(self, inner_u: np.ndarray, inner_i: np.ndarray):
        """(est, impossible, reasons, extra) for inner ids (-1 = unknown), unclipped."""
        est, impossible = self.model._estimate(inner_u, inner_i)
        reasons = np.where((inner_u < 0) | (inner_i < 0), UNKNOWN_REASON, "")
        return np.asarray(est, dtype=np.float64), np.asarray(impossible, bool), reasons, {}

    def _inner(self, raw_u, raw_i):
        ts = self.trainset
        u = np.array([ts._raw2inner_id_users.get(x, -1) for x in raw_u], dtype=np.int32)
        i = np.array([ts._raw2inner_id_items.get(x, -1) for x in raw_i], dtype=np.int32)
        return u, i

    def test(self, testset, verbose=False):
        if not testset:
            return []
        raw_u, raw_i, r_ui = zip(*testset)
        u, i = self._inner(raw_u, raw_i)
        est, impossible, reasons, extra = self._batch(u, i)
        est = np.where(impossible, self.default_prediction(), est)
        lo, hi = self.trainset.rating_scale
        est = np.minimum(hi, np.maximum(lo, est))
        out = []
        for k in range(len(testset)):
            details = {key: int(v[k]) for key, v in extra.items() if not impossible[k]}
            details["was_impossible"] = bool(impossible[k])
            if impossible[k]:
                details["reason"] = str(reasons[k])
            pred = Prediction(raw_u[k], raw_i[k], r_ui[k], float(est[k]), details)
            if verbose:
                print(pred)
            out.append(pred)
        return out

    def predict(self, uid, iid, r_ui=None, clip=True, verbose=False):
        u, i = self._inner([uid], [iid])
        est, impossible, reasons, extra = self._batch(u, i)
        details = {key: int(v[0]) for key, v in extra.items() if not impossible[0]}
        details["was_impossible"] = bool(impossible[0])
        e = self.default_prediction() if impossible[0] else float(est[0])
        if impossible[0]:
            details["reason"] = str(reasons[0])
        if clip:
            lo, hi = self.trainset.rating_scale
            e = min(hi, max(lo, e))
        pred = Prediction(uid, iid, r_ui, e, details)
        if verbose:
            print(pred)
        return pred

    def estimate(self, u, i):
        """Single-pair estimate on inner ids, for code that calls it directly."""
        u = -1 if isinstance(u, str) else int(u)  # Surprise passes 'UKN__<raw>' for unknown ids
        i = -1 if isinstance(i, str) else int(i)
        est, impossible, reasons, extra = self._batch(np.array([u], np.int32), np.array([i], np.int32))
        if impossible[0]:
            raise PredictionImpossible(str(reasons[0]))
        details = {key: int(v[0]) for key, v in extra.items()}
        return (float(est[0]), details) if details else float(est[0])


__all__ = ["SurpriseAdapter", "dataset_from_trainset", "PredictionImpossible"]
