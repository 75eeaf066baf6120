"""NormalPredictor: a random rating drawn from the normal law fitted to the training ratings."""

from __future__ import annotations

import numpy as np

from ..persistence import register
from .base import Estimator
from .coclustering import surprise_rng


@register
class NormalPredictor(Estimator):
    """Predicts a draw from N(mu, sigma), mu and sigma the training ratings' mean and population
    standard deviation (maximum likelihood, divided by n, as scikit-surprise computes it:
    ``sqrt(sum((r - mu) ** 2) / n)`` summed in the data's order; the sum is the backends'
    ``centered_sum_squares`` kernel).

    The random stream: ``fit`` takes its generator from ``random_state`` by scikit-surprise's
    rule (None: NumPy's global RandomState, looked up at each draw; an int: a new
    ``RandomState(seed)``; a RandomState or Generator: that object). Each ``predict`` call then
    draws one normal per pair, in the order given (``rng.normal(mu, sigma, size=n)``), and
    continues the stream: the same seed, fit and sequence of calls give the same numbers, and
    with an int seed ``s`` they are the numbers scikit-surprise's NormalPredictor gives after
    ``np.random.seed(s)``. ``recommend`` ranks random scores drawn the same way, a block of
    (users x items) draws at a time in row order, so it is reproducible too. Fitting again,
    or loading a saved model, restarts the stream from ``random_state``.
    """

    def __init__(self, *, backend="auto", n_threads=None, random_state=None, verbose=False):
        self._init_common(backend, n_threads, random_state, verbose)

    def _fit(self, dataset):
        self.mu_ = float(dataset.global_mean)
        css = self._kernels.centered_sum_squares(dataset.csr.data, self.mu_)
        self.sigma_ = float(np.sqrt(css / dataset.n_ratings))
        self._start_stream()

    def _start_stream(self):
        # None keeps no generator: NumPy's global one is looked up at each draw (and pickling
        # the model does not copy it)
        self._rng = None if self.random_state is None else surprise_rng(self.random_state)

    def _draw(self, size):
        rng = np.random.mtrand._rand if self._rng is None else self._rng
        return rng.normal(self.mu_, self.sigma_, size=size)

    def _estimate(self, users, items):
        return self._draw(len(users)), np.zeros(len(users), dtype=bool)

    def _score(self, users):
        return self._draw((len(users), len(self.item_map_)))

    def _state(self):
        return {"mu": self.mu_, "sigma": self.sigma_}, {}

    def _restore(self, meta, arrays):
        self.mu_ = float(meta["mu"])
        self.sigma_ = float(meta["sigma"])
        self._start_stream()
