"""LogisticMatrixFactorization with implicit 0.7's signature, defaults, factor layout and results.

Training is reckernels.algorithms.lmf.LogisticMF (compiled AdaGrad updates, ``neg_prop`` negatives
per positive); its factors have implicit's layout (``factors + 2`` columns: user bias and a 1 for
users, a 1 and the item bias for items), so recommend / similar_* are implicit's. The stored
values are confidences: negative or NaN ones are refused.
"""

from __future__ import annotations

import numpy as np

from . import _common as C
from ._mf import MatrixFactorizationBase
from ._native import native
from .als import _check_dtype, _int, _number
from .bpr import _epoch_callback, _seed


class LogisticMatrixFactorization(MatrixFactorizationBase):
    """implicit.lmf.LogisticMatrixFactorization on reckernels' LogisticMF; callback(epoch, elapsed)."""

    _saved_params = ("regularization", "factors", "learning_rate", "neg_prop", "num_threads", "iterations",
                     "dtype", "random_state", "use_gpu")

    def __init__(self, factors=30, learning_rate=1.00, regularization=0.6, dtype=np.float32, iterations=30,
                 neg_prop=30, use_gpu=False, num_threads=0, random_state=None):
        super().__init__(num_threads=num_threads, use_gpu=use_gpu)
        self.factors = _int("factors", factors, 1)
        self.learning_rate = _number("learning_rate", learning_rate)
        self.regularization = _number("regularization", regularization)
        self.dtype = _check_dtype(dtype)
        self.iterations = _int("iterations", iterations, 0)
        self.neg_prop = _int("neg_prop", neg_prop, 0)
        self.random_state = random_state

    def fit(self, user_items, show_progress=True, callback=None):
        """Learn the factors from a users x items CSR of confidences (>= 0)."""
        m = C.check_csr(user_items)
        C.check_values(m, allow_negative=False, why="LMF weighs each like by its value (a confidence).")
        m = m.copy()
        m.eliminate_zeros()
        if m.nnz == 0:
            raise ValueError("user_items holds no interaction; there is nothing to learn from.")
        self._invalidate()
        if self.iterations == 0:
            self._untrained(m)
            return
        C.check_gpu_kernel(self._backend, "lmf_half", "LogisticMatrixFactorization")
        LogisticMF = native("lmf", "LogisticMF")
        model = LogisticMF(n_factors=self.factors, learning_rate=self.learning_rate, reg=self.regularization,
                           n_epochs=self.iterations, neg_prop=self.neg_prop, dtype=self.dtype.name,
                           backend=self._backend, n_threads=self._threads, random_state=_seed(self.random_state),
                           verbose=bool(show_progress))
        model.fit(m, callback=_epoch_callback(callback, with_counts=False))
        self.user_factors = np.ascontiguousarray(model.user_factors_, dtype=self.dtype)
        self.item_factors = np.ascontiguousarray(model.item_factors_, dtype=self.dtype)
        self._check_fit_errors()

    def _untrained(self, m):
        """implicit's factors before any epoch: N(0, 1), bias slots set, zero rows without entries."""
        rs = np.random.default_rng(_seed(self.random_state))
        n_users, n_items = m.shape
        items = rs.standard_normal(size=(n_items, self.factors + 2), dtype=np.float32)
        items[:, -1] = 1.0
        items[np.bincount(m.indices, minlength=n_items) == 0] = 0
        users = rs.standard_normal(size=(n_users, self.factors + 2), dtype=np.float32)
        users[:, -2] = 1.0
        users[np.diff(m.indptr) == 0] = 0
        self.user_factors, self.item_factors = users.astype(self.dtype), items.astype(self.dtype)
