"""What BPR and LogisticMF share: implicit-feedback input, the epoch loop, scores and saving.

Both keep implicit 0.7.3's factor layout: a few extra columns hold biases, with a constant 1
on the other side, so that the score of (u, i) is ``user_factors_[u] . item_factors_[i]``.
An unknown user scores the items as a user without interactions does in implicit (factors 0
and the constant column 1): by the item bias, i.e. ``item_factors_[:, cold_column]``.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import check_choice, check_nonnegative_float, check_positive_int
from ..data import CSR
from .als import _bind_implicit, _implicit_input, _rng
from ..persistence import Arr
from .base import IterativeModel

DTYPES = ("float32", "float64")


def check_rate(name: str, value) -> float:
    value = check_nonnegative_float(name, value)
    if value == 0.0:
        raise ValueError(f"{name} must be > 0 (with 0 training changes nothing); use a small value such as 0.01.")
    return value


def sorted_rows(by_user: CSR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, indices, data) with each row's items in increasing order (the kernels binary-search rows)."""
    rows = np.repeat(np.arange(by_user.n_rows, dtype=np.int64), by_user.row_lengths())
    order = np.lexsort((by_user.indices, rows))
    return (np.ascontiguousarray(by_user.indptr, dtype=np.int64),
            np.ascontiguousarray(by_user.indices[order], dtype=np.int32), np.ascontiguousarray(by_user.data[order]))


class ImplicitMF(IterativeModel):
    """Base of BPR and LogisticMF (see the module docstring)."""

    predicts_ratings = False  # scores rank items; they are not ratings
    _arrays = ("user_factors_", "item_factors_")
    #: the item_factors_ column an unknown user is scored by (the item bias)
    cold_column = -1

    def _init_mf(self, n_factors, learning_rate, reg, n_epochs, dtype):
        self.n_factors = check_positive_int("n_factors", n_factors)
        self.learning_rate = check_rate("learning_rate", learning_rate)
        self.reg = check_nonnegative_float("reg", reg)
        self.n_epochs = check_positive_int("n_epochs", n_epochs)
        self.dtype = check_choice("dtype", dtype, DTYPES)

    def fit(self, data, user_ids=None, item_ids=None, callback=None):
        """Train ``n_epochs`` epochs from a fresh random initialisation.

        ``data`` is a Dataset, or a scipy.sparse matrix with one row per user and one column per
        item holding non-negative strengths (zeros are no interaction). For a matrix, row u is
        the user with raw id ``user_ids[u]`` (default: u itself) and column i the item
        ``item_ids[i]``. Every epoch appends a record to ``history_``; ``callback(epoch, model)``
        runs after every epoch.
        """
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable as callback(epoch, model), got {callback!r}.")
        with self._transaction():  # an error, divergence or Ctrl-C leaves the previous state
            return self._fit_implicit(data, user_ids, item_ids, callback)

    def _fit_implicit(self, data, user_ids, item_ids, callback):
        by_user, user_ids, item_ids = _implicit_input(data, user_ids, item_ids, type(self).__name__)
        _bind_implicit(self, by_user, user_ids, item_ids, self._rating_scale)
        start = time.perf_counter()
        rng = _rng(self.random_state)
        self._prepare(sorted_rows(by_user), len(item_ids), rng)
        self.seed_ = int(rng.integers(0, 2**63))  # keys the kernels' counter-based draws
        self.history_ = []
        self.epochs_done_ = 0
        try:
            with self._progress(self.n_epochs, "epochs") as bar:
                for epoch in range(self.n_epochs):
                    record = {"epoch": epoch, **self._epoch(epoch)}
                    self._check_epoch(epoch)
                    self.epochs_done_ += 1
                    self.history_.append(record)
                    bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
                    bar.update(1)
                    if callback is not None:
                        callback(epoch, self)
        finally:
            del self._train_data  # the sorted copy of the input: not part of the fitted model
        self.fit_time_ = time.perf_counter() - start
        return self

    def _n_updaters(self, work: int) -> int:
        """Concurrent updaters: CPU threads, or on the GPU enough threads to fill it."""
        if self.backend_ == "cuda":
            return max(1, min(work, 1 << 15))
        return self.n_threads_

    # scores ------------------------------------------------------------------
    def _raw_scores(self, users, items):
        both = (users >= 0) & (items >= 0)
        est = np.zeros(len(users))
        est[both] = np.einsum("ij,ij->i", self.user_factors_[users[both]].astype(np.float64),
                              self.item_factors_[items[both]].astype(np.float64))
        cold = (users < 0) & (items >= 0)
        est[cold] = self.item_factors_[items[cold], self.cold_column]
        return est, ~both

    def _score(self, users):
        """user_factors_[u] . item_factors_[i] for every item; an unknown user gets the item biases."""
        known = users >= 0
        scores = np.empty((len(users), len(self.item_factors_)))
        scores[known] = self.user_factors_[users[known]] @ self.item_factors_.T
        scores[~known] = self.item_factors_[:, self.cold_column]
        return scores

    def _state(self):
        meta, arrays = super()._state()
        return {**meta, "seed": self.seed_}, arrays

    #: columns beyond n_factors (the bias and constant columns of implicit's layout)
    extra_columns = 1

    def _file_spec(self, meta):
        cols = self.n_factors + self.extra_columns
        return {"user_factors_": Arr("dtype", ("n_users", cols)), "item_factors_": Arr("dtype", ("n_items", cols))}

    def _restore(self, meta, arrays):
        super()._restore(meta, arrays)
        seed = meta["seed"]
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ValueError(f"its seed {seed!r} is not an integer in [0, 2**63); the file is damaged.")
        self.seed_ = seed

    # hooks ------------------------------------------------------------------
    _rating_scale = (-np.inf, np.inf)

    def _prepare(self, rows, n_items, rng) -> None:
        """Initialise the factors from ``rng`` and keep what the epochs need in ``self._train_data``."""
        raise NotImplementedError

    def _epoch(self, epoch: int) -> dict:
        raise NotImplementedError
