"""BaselineOnly: r_ui = mu + b_u + b_i, estimated by ALS or SGD exactly as scikit-surprise does."""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_nonnegative_float, check_positive_int
from ..backends import threads_for
from ..persistence import register
from ..persistence import Arr
from .base import Estimator, check_finite_epoch

_DEFAULT_EPOCHS = {"als": 10, "sgd": 20}


@register
class BaselineOnly(Estimator):
    """Global mean plus user and item biases (Koren 2010, section 2.1).

    ``method="als"`` alternates closed-form solves for the item then the user biases with
    regularisation ``reg_i`` / ``reg_u``; ``method="sgd"`` runs stochastic gradient descent
    with ``learning_rate`` and ``reg``. Defaults are scikit-surprise's: ALS, 10 epochs,
    reg_u=15, reg_i=10; SGD, 20 epochs, reg=0.02, learning_rate=0.005. An unknown user or
    item contributes a bias of 0 (the partial baseline), as in scikit-surprise.

    Both methods are deterministic (biases start at 0, ratings are visited in the data's
    order), so ``random_state`` is part of the common signature but changes nothing here.
    """

    def __init__(self, method="als", n_epochs=None, reg_u=15.0, reg_i=10.0, reg=0.02, learning_rate=0.005, *,
                 backend="auto", n_threads=None, random_state=None, verbose=False):
        self.method = check_choice("method", method, ("als", "sgd"))
        self.n_epochs = None if n_epochs is None else check_positive_int("n_epochs", n_epochs)
        self.reg_u = check_nonnegative_float("reg_u", reg_u)
        self.reg_i = check_nonnegative_float("reg_i", reg_i)
        self.reg = check_nonnegative_float("reg", reg)
        self.learning_rate = check_nonnegative_float("learning_rate", learning_rate)
        self._init_common(backend, n_threads, random_state, verbose)

    def _fit(self, dataset):
        self.bu_, self.bi_ = fit_baselines(self._kernels, dataset, method=self.method, n_epochs=self.n_epochs,
                                           reg_u=self.reg_u, reg_i=self.reg_i, reg=self.reg,
                                           learning_rate=self.learning_rate, n_threads=self.n_threads_,
                                           progress=self._progress, check=self.check_divergence)

    def _estimate(self, users, items):
        est = baseline_estimate(self.global_mean_, self.bu_, self.bi_, users, items)
        return est, np.zeros(len(est), dtype=bool)

    def _score(self, users):
        bu = np.where(users >= 0, self.bu_[np.maximum(users, 0)], 0.0)
        return self.global_mean_ + bu[:, None] + self.bi_[None, :]

    def _state(self):
        return {}, {"bu": self.bu_, "bi": self.bi_}

    def _file_spec(self, meta):
        return {"bu": Arr("float64", ("n_users",)), "bi": Arr("float64", ("n_items",))}

    def _restore(self, meta, arrays):
        self.bu_, self.bi_ = arrays["bu"], arrays["bi"]


def fit_baselines(kernels, dataset, *, method="als", n_epochs=None, reg_u=15.0, reg_i=10.0, reg=0.02,
                  learning_rate=0.005, n_threads=1, progress=None, check=True):
    """User and item biases (bu, bi) of ``dataset`` by the given backend's kernels.

    Shared by every model that needs baselines (BaselineOnly, KNN with baseline, SVD's init).
    """
    n_epochs = _DEFAULT_EPOCHS[method] if n_epochs is None else n_epochs
    bu = np.zeros(dataset.n_users)
    bi = np.zeros(dataset.n_items)
    u, it = dataset.csr, dataset.csc
    gm = dataset.global_mean
    n_threads = threads_for(dataset.n_ratings, n_threads)
    bar_ctx = progress(n_epochs, f"baseline {method}") if progress else None
    bar = bar_ctx.__enter__() if bar_ctx else None
    try:
        knobs = {"reg_u": reg_u, "reg_i": reg_i} if method == "als" else {"learning_rate": learning_rate, "reg": reg}
        for epoch in range(n_epochs):
            if method == "als":
                kernels.baseline_als_epoch(u.indptr, u.indices, u.data, it.indptr, it.indices, it.data,
                                           gm, reg_u, reg_i, bu, bi, n_threads)
            else:
                kernels.baseline_sgd_epoch(u.indptr, u.indices, u.data, gm, reg, learning_rate, bu, bi)
            if check:
                check_finite_epoch(f"the {method} baselines", epoch, knobs, arrays={"bu": bu, "bi": bi})
            if bar:
                bar.update(1)
    finally:
        if bar_ctx:
            bar_ctx.__exit__(None, None, None)
    return bu, bi


def baseline_estimate(global_mean, bu, bi, users, items):
    """mu + b_u + b_i with 0 for the bias of an unknown (-1) user or item."""
    est = np.full(len(users), global_mean, dtype=np.float64)
    ku, ki = users >= 0, items >= 0
    est[ku] += bu[users[ku]]
    est[ki] += bi[items[ki]]
    return est
