"""Popular: the most-rated items first, the same list for everyone (a ranking baseline)."""

from __future__ import annotations

import numpy as np

from ..persistence import register
from ..persistence import Arr
from .base import Estimator


@register
class Popular(Estimator):
    """Ranks items by how many training ratings they have (ties: first-seen item first).

    ``predict`` returns each item's mean rating (the global mean for an unknown item, which
    is then flagged as impossible); it is here for ranking comparisons, not for accuracy.
    It is deterministic and runs no kernel: ``random_state``, ``backend`` and ``n_threads``
    are part of the common signature and change nothing here.
    """

    def __init__(self, *, backend="auto", n_threads=None, random_state=None, verbose=False):
        self._init_common(backend, n_threads, random_state, verbose)

    def _fit(self, dataset):
        csc = dataset.csc
        self.item_counts_ = np.diff(csc.indptr).astype(np.float64)
        sums = np.add.reduceat(csc.data, csc.indptr[:-1]) if len(csc.data) else np.zeros(dataset.n_items)
        self.item_means_ = sums / np.maximum(self.item_counts_, 1)

    def _estimate(self, users, items):
        known = items >= 0
        est = np.where(known, self.item_means_[np.maximum(items, 0)], self.global_mean_)
        return est, ~known

    def _score(self, users):
        return np.broadcast_to(self.item_counts_, (len(users), len(self.item_counts_)))

    def _state(self):
        return {}, {"item_counts": self.item_counts_, "item_means": self.item_means_}

    def _file_spec(self, meta):
        return {"item_counts": Arr("float64", ("n_items",)), "item_means": Arr("float64", ("n_items",))}

    def _restore(self, meta, arrays):
        self.item_counts_, self.item_means_ = arrays["item_counts"], arrays["item_means"]
