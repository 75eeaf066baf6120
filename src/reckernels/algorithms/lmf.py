"""LogisticMF: logistic matrix factorisation for implicit feedback (Johnson 2014), as implicit 0.7.3 trains it.

The probability that user u likes item i is sigma(x_u . y_i + b_u + b_i). Each epoch is a
user pass then an item pass; a pass gives every row one AdaGrad step (learning rate
``learning_rate``, L2 ``reg``) on the log-likelihood of its row: its interactions are
positives weighted by their strength, and the negatives are interactions drawn uniformly from
the whole list (items by popularity in the user pass, users by activity in the item pass),
``min(n_factors + 2, n_seen * neg_prop)`` of them per row. That cap is what implicit 0.7.3
computes (its kernel bounds the count by the factor matrix's column count, where the item
count seems intended) and it is kept so that a drop-in trains the same model in the same
time. Within a pass the rows are independent, so threads change nothing: a fit is the same
for any ``n_threads``. reckernels.backends.reference.lmf has the exact update.

Factors follow implicit's layout: ``user_factors_`` (n_users, n_factors + 2) and
``item_factors_`` (n_items, n_factors + 2); the user's column -2 is 1 and the item's column -2
its bias, the user's column -1 its bias and the item's column -1 is 1, so the logit is
``user_factors_ @ item_factors_.T``. Initialisation as implicit: standard normal in float32
(items first, then users, from ``random_state``), rows without interactions 0 apart from the
constant column.

``predict`` gives the probability sigma(logit) in [0, 1]; ``recommend`` ranks by the logit;
an unknown user gets the items ranked by their bias. ``history_`` records the mean predicted
probability of the positives and of the sampled negatives in each epoch's user pass (computed
by the kernel as it goes, so free).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int
from ..data import CSR
from ..persistence import register
from ._implicit_mf import ImplicitMF
from .als import _transpose


@register
class LogisticMF(ImplicitMF):
    """Logistic matrix factorisation (implicit 0.7.3's defaults)."""

    cold_column = -2
    extra_columns = 2
    _rating_scale = (0.0, 1.0)

    def __init__(self, n_factors=30, learning_rate=1.0, reg=0.6, n_epochs=30, neg_prop=30, dtype="float32", *,
                 backend="auto", n_threads=None, random_state=None, verbose=False):
        self._init_mf(n_factors, learning_rate, reg, n_epochs, dtype)
        self.neg_prop = check_positive_int("neg_prop", neg_prop)
        self._init_common(backend, n_threads, random_state, verbose)

    def _prepare(self, rows, n_items, rng):
        indptr, indices, data = rows
        n_users, K = len(indptr) - 1, self.n_factors + 2
        dtype = np.dtype(self.dtype)
        Y = rng.standard_normal((n_items, K), dtype=np.float32).astype(dtype)
        X = rng.standard_normal((n_users, K), dtype=np.float32).astype(dtype)
        Y[np.bincount(indices, minlength=n_items) == 0] = 0
        X[np.diff(indptr) == 0] = 0
        Y[:, -1] = 1  # implicit resets these after every pass; a row without interactions gets its 1 too
        X[:, -2] = 1
        self.user_factors_, self.item_factors_ = X, Y
        by_user = CSR(indptr, indices, data.astype(dtype))
        by_item = _transpose(by_user, n_items)
        by_item = CSR(np.ascontiguousarray(by_item.indptr, dtype=np.int64), by_item.indices, by_item.data)
        self._train_data = (by_user, by_item, np.zeros_like(X), np.zeros_like(Y))

    def _epoch(self, epoch):
        by_user, by_item, gx, gy = self._train_data
        half, X, Y = self._kernels.lmf_half, self.user_factors_, self.item_factors_
        opts = (self.learning_rate, self.reg, self.neg_prop, self.n_factors + 2)
        pos, neg = half(*by_user, X, Y, gx, *opts, -2, self.seed_, 2 * epoch, self._n_updaters(X.shape[0]))
        half(*by_item, Y, X, gy, *opts, -1, self.seed_, 2 * epoch + 1, self._n_updaters(Y.shape[0]))
        n_pos = len(by_user.indices)
        n_neg = int(np.minimum(self.n_factors + 2, np.diff(by_user.indptr) * self.neg_prop).sum())
        return {"pos_prob": pos / n_pos, "neg_prob": neg / n_neg if n_neg else float("nan")}

    def _estimate(self, users, items):
        logit, impossible = self._raw_scores(users, items)
        return 0.5 * (1.0 + np.tanh(0.5 * logit)), impossible  # sigma without overflow
