"""BPR: Bayesian Personalized Ranking (Rendle et al. 2009) by SGD, as implicit 0.7.3 trains it.

Each epoch draws as many (user, liked item, other item) triples as there are interactions:
an interaction is drawn uniformly (so its user in proportion to activity) and the other item
is the item of a second uniformly drawn interaction (by popularity). With
``verify_negative_samples`` a triple whose other item the user liked is skipped. The SGD step
raises sigma(x_u . (y_i - y_j)) with L2 regularisation ``reg`` on every factor it touches
(reckernels.backends.reference.bpr has the exact update). Threads run Hogwild: each takes a
contiguous share of the epoch's samples and updates the shared factors without locks.
Random draws are counter based, a function of (seed, epoch, sample), so a single-threaded fit
is reproducible bit for bit and every backend draws the same samples.

Factors follow implicit's layout: ``user_factors_`` is (n_users, n_factors + 1) with a last
column of 1s, ``item_factors_`` (n_items, n_factors + 1) whose last column is the item bias,
so the score is ``user_factors_ @ item_factors_.T``. Initialisation as implicit: uniform
``(rand - 0.5) / n_factors`` (items first, then users, from ``random_state``), rows of users
and items without interactions set to 0 (a user's last column stays 1). The strengths in the
matrix are ignored: any non-zero is a like.

``predict`` gives the raw score (not clipped); ``recommend`` ranks by it; an unknown user
gets the items ranked by their bias. ``history_`` records implicit's training "AUC" (the
fraction of non-skipped samples the model already ranked right before the step) and the
fraction of samples skipped.
"""

from __future__ import annotations

import numpy as np

from ..persistence import register
from ._implicit_mf import ImplicitMF


@register
class BPR(ImplicitMF):
    """Bayesian Personalized Ranking matrix factorisation (implicit 0.7.3's defaults)."""

    cold_column = -1

    def __init__(self, n_factors=100, learning_rate=0.01, reg=0.01, n_epochs=100, verify_negative_samples=True,
                 dtype="float32", *, backend="auto", n_threads=None, random_state=None, verbose=False):
        self._init_mf(n_factors, learning_rate, reg, n_epochs, dtype)
        if not isinstance(verify_negative_samples, (bool, np.bool_)):
            raise TypeError(f"verify_negative_samples must be True or False, got {verify_negative_samples!r}.")
        self.verify_negative_samples = bool(verify_negative_samples)
        self._init_common(backend, n_threads, random_state, verbose)

    def _prepare(self, rows, n_items, rng):
        indptr, indices, _ = rows
        dtype, F = np.dtype(self.dtype), self.n_factors
        Y = (rng.random((n_items, F + 1), dtype=dtype) - dtype.type(0.5)) / dtype.type(F)
        Y[np.bincount(indices, minlength=n_items) == 0] = 0
        X = (rng.random((len(indptr) - 1, F + 1), dtype=dtype) - dtype.type(0.5)) / dtype.type(F)
        X[np.diff(indptr) == 0] = 0
        X[:, F] = 1
        self.user_factors_, self.item_factors_ = X, Y
        self._train_data = (indptr, indices)

    def _epoch(self, epoch):
        indptr, indices = self._train_data
        correct, skipped = self._kernels.bpr_epoch(
            indptr, indices, self.user_factors_, self.item_factors_, self.learning_rate, self.reg,
            self.verify_negative_samples, self.seed_, epoch, self._n_updaters(len(indices)))
        total = len(indices)
        return {"train_auc": correct / (total - skipped) if total > skipped else float("nan"),
                "skipped": skipped / total}

    def _estimate(self, users, items):
        return self._raw_scores(users, items)
