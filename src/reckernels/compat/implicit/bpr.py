"""BayesianPersonalizedRanking with implicit 0.7's signature, defaults, factor layout and results.

Training is reckernels.algorithms.bpr.BPR (compiled SGD); its factors have implicit's layout
(``factors + 1`` columns: the last user column is 1 and the last item column the item bias), so
recommend / similar_* are implicit's. Every stored entry counts as a like (implicit ignores the
values); negative or NaN entries are refused because they cannot mean a like. An empty matrix
gives implicit's result (zero factors, user bias column 1).
"""

from __future__ import annotations

import time

import numpy as np

from . import _common as C
from ._mf import MatrixFactorizationBase
from ._native import native
from .als import _check_dtype, _int, _number


class BayesianPersonalizedRanking(MatrixFactorizationBase):
    """implicit.bpr.BayesianPersonalizedRanking on reckernels' BPR (see the module docstring).

    ``callback(epoch, elapsed, correct, skipped)`` after every epoch, as implicit's.
    """

    _saved_params = ("regularization", "factors", "learning_rate", "verify_negative_samples", "num_threads",
                     "iterations", "dtype", "random_state", "use_gpu")

    def __init__(self, factors=100, learning_rate=0.01, regularization=0.01, dtype=np.float32, iterations=100,
                 use_gpu=False, num_threads=0, verify_negative_samples=True, random_state=None):
        super().__init__(num_threads=num_threads, use_gpu=use_gpu)
        self.factors = _int("factors", factors, 1)
        self.learning_rate = _number("learning_rate", learning_rate)
        self.regularization = _number("regularization", regularization)
        self.dtype = _check_dtype(dtype)
        self.iterations = _int("iterations", iterations, 0)
        self.verify_negative_samples = bool(verify_negative_samples)
        self.random_state = random_state

    def fit(self, user_items, show_progress=True, callback=None):
        """Learn the factors from a users x items CSR of likes (values ignored)."""
        m = C.check_csr(user_items)
        C.check_values(m, allow_negative=False, why="BPR treats every stored entry as a like.")
        m = m.copy()
        m.eliminate_zeros()
        n_users, n_items = m.shape
        self._invalidate()
        if m.nnz == 0 or self.iterations == 0:
            self._untrained(m)
            return
        C.check_gpu_kernel(self._backend, "bpr_epoch", "BayesianPersonalizedRanking")
        BPR = native("bpr", "BPR")
        model = BPR(n_factors=self.factors, learning_rate=self.learning_rate, reg=self.regularization,
                    n_epochs=self.iterations, verify_negative_samples=self.verify_negative_samples,
                    dtype=self.dtype.name, backend=self._backend, n_threads=self._threads,
                    random_state=_seed(self.random_state), verbose=bool(show_progress))
        model.fit(m, callback=_epoch_callback(callback, with_counts=True, samples=m.nnz))
        self.user_factors = np.ascontiguousarray(model.user_factors_, dtype=self.dtype)
        self.item_factors = np.ascontiguousarray(model.item_factors_, dtype=self.dtype)
        self._check_fit_errors()

    def _untrained(self, m):
        """implicit's factors before any epoch: random, zero where a user / item has no entry."""
        rs = np.random.default_rng(_seed(self.random_state))
        n_users, n_items = m.shape
        items = (rs.random((n_items, self.factors + 1), dtype=self.dtype) - 0.5) / self.factors
        items[np.bincount(m.indices, minlength=n_items) == 0] = 0
        users = (rs.random((n_users, self.factors + 1), dtype=self.dtype) - 0.5) / self.factors
        users[np.diff(m.indptr) == 0] = 0
        users[:, self.factors] = 1.0
        self.user_factors, self.item_factors = users, items


def _seed(random_state):
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31))
    return random_state


def _epoch_callback(callback, with_counts: bool, samples: int = 0):
    """The native callback(epoch, model) turned into implicit's (epoch, elapsed[, correct, skipped]).

    BPR's counts come from the native ``history_`` record: its train_auc (correct / non-skipped
    samples) and skipped (skipped / samples) fractions over the ``samples`` draws of an epoch."""
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError("callback must be callable.")
    last = [time.time()]

    def adapter(epoch, model):
        now = time.time()
        elapsed, last[0] = now - last[0], now
        if not with_counts:
            return callback(epoch, elapsed)
        record = model.history_[-1] if getattr(model, "history_", None) else {}
        skipped = int(round(record.get("skipped", 0.0) * samples))
        auc = record.get("train_auc", 0.0)
        correct = int(round(auc * (samples - skipped))) if np.isfinite(auc) else 0
        return callback(epoch, elapsed, correct, skipped)

    return adapter
