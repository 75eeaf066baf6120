"""CoClustering: George and Merugu's co-clustering (2005), as scikit-surprise 1.1.5 runs it."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_positive_int
from ..backends import threads_for
from ..persistence import register
from ..persistence import Arr
from .base import Estimator

#: co-clustering kernel steps per unit of work of backends.threads_for
_STEPS_PER_UNIT = 8


@register
class CoClustering(Estimator):
    """Users in ``n_cltr_u`` clusters, items in ``n_cltr_i`` clusters, k-means style.

    The estimate of (u, i) with user cluster cu and item cluster ci is

        avg_co[cu, ci] + (user_mean[u] - avg_u[cu]) + (item_mean[i] - avg_i[ci])

    (co-cluster, user-cluster and item-cluster mean ratings; an empty cluster's mean is the
    global mean). Clusters start at random: ``randint(n_cltr_u, size=n_users)`` then
    ``randint(n_cltr_i, size=n_items)`` from scikit-surprise's RNG rule (``random_state=None``:
    NumPy's global RandomState; an int: ``RandomState(seed)``; a RandomState or Generator is
    used as it is, a Generator through ``integers``). Each of ``n_epochs`` epochs computes the
    averages, moves every user to the user cluster with the least squared error over its
    ratings, then every item likewise (seeing the users' new clusters, the same averages);
    ties go to the first cluster. The averages are computed once more at the end.

    An unknown user or item gets the global mean, as scikit-surprise's code does (its
    docstring promises the item or user mean, but the code returns the global mean);
    ``predict(..., return_impossible=True)`` marks those rows.

    Fitted: ``user_clusters_``, ``item_clusters_`` (int64), ``user_cluster_means_``,
    ``item_cluster_means_``, ``cocluster_means_`` (n_cltr_u x n_cltr_i), ``user_means_``,
    ``item_means_``; ``moved_`` holds, per epoch, how many users and items changed cluster.
    ``fit(data, callback=f)`` calls ``f(epoch, model)`` after each epoch.

    Note: scikit-surprise truncates every rating to an int (``cdef int r``) before it sums or
    compares; this class uses the ratings as they are. ``reckernels.compat.surprise`` feeds it
    truncated ratings and so reproduces scikit-surprise exactly.
    """

    def __init__(self, n_cltr_u=3, n_cltr_i=3, n_epochs=20, *, backend="auto", n_threads=None,
                 random_state=None, verbose=False):
        self.n_cltr_u = check_positive_int("n_cltr_u", n_cltr_u)
        self.n_cltr_i = check_positive_int("n_cltr_i", n_cltr_i)
        self.n_epochs = check_positive_int("n_epochs", n_epochs)
        self._init_common(backend, n_threads, random_state, verbose)

    def fit(self, dataset, callback=None):
        """Fit on ``dataset``; ``callback(epoch, model)``, if given, runs after each epoch."""
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable as callback(epoch, model), got {callback!r}.")
        self._callback = callback
        try:
            return Estimator.fit(self, dataset)
        finally:
            del self._callback

    def _fit(self, dataset):
        rng = surprise_rng(self.random_state)
        draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
        self.user_clusters_ = np.asarray(draw(self.n_cltr_u, size=dataset.n_users), dtype=np.int64)
        self.item_clusters_ = np.asarray(draw(self.n_cltr_i, size=dataset.n_items), dtype=np.int64)
        u, it = dataset.csr, dataset.csc
        self.user_means_ = _row_means(u)
        self.item_means_ = _row_means(it)
        self.user_cluster_means_ = np.empty(self.n_cltr_u)
        self.item_cluster_means_ = np.empty(self.n_cltr_i)
        self.cocluster_means_ = np.empty((self.n_cltr_u, self.n_cltr_i))
        k = self._kernels
        # one step here (a rating x a candidate cluster: 4 flops, 2 gathers) costs ~1.5 ns, about
        # an eighth of what threads_for's unit assumes (measured on the 2-core machine: 390k
        # ratings x 3 clusters took 1.8 ms a call on one thread, 10 ms of CPU on two, loaded)
        work = dataset.n_ratings * max(self.n_cltr_u, self.n_cltr_i) // _STEPS_PER_UNIT
        threads = threads_for(work, self.n_threads_)
        means = (self.user_means_, self.item_means_, self.user_clusters_, self.item_clusters_)
        avgs = (self.user_cluster_means_, self.item_cluster_means_, self.cocluster_means_)
        self.moved_ = []
        with self._progress(self.n_epochs, "epochs") as bar:
            for epoch in range(self.n_epochs):
                self._averages(dataset, threads)
                mu = k.cocluster_assign_users(u.indptr, u.indices, u.data, *means, *avgs, threads)
                mi = k.cocluster_assign_items(it.indptr, it.indices, it.data, *means, *avgs, threads)
                self.moved_.append((mu, mi))
                bar.set_postfix({"moved_users": mu, "moved_items": mi})
                bar.update(1)
                if self._callback is not None:
                    self._callback(epoch, self)
        self._averages(dataset, threads)

    def _averages(self, dataset, threads):
        u = dataset.csr
        self._kernels.cocluster_averages(u.indptr, u.indices, u.data, self.user_clusters_, self.item_clusters_,
                                         self.global_mean_, self.user_cluster_means_, self.item_cluster_means_,
                                         self.cocluster_means_, threads)

    def _estimate(self, users, items):
        out = np.empty(len(users))
        self._kernels.cocluster_predict(users, items, self.user_means_, self.item_means_, self.user_clusters_,
                                        self.item_clusters_, self.user_cluster_means_, self.item_cluster_means_,
                                        self.cocluster_means_, self.global_mean_, out,
                                        threads_for(len(users), self.n_threads_))
        return out, (users < 0) | (items < 0)

    def _score(self, users):
        known = users >= 0
        uu = np.maximum(users, 0)
        cu = self.user_clusters_[uu]
        ci = self.item_clusters_
        scores = (self.cocluster_means_[cu][:, ci] + (self.user_means_[uu] - self.user_cluster_means_[cu])[:, None]
                  + (self.item_means_ - self.item_cluster_means_[ci])[None, :])
        scores[~known] = self.global_mean_
        return scores

    _arrays = ("user_clusters_", "item_clusters_", "user_means_", "item_means_", "user_cluster_means_",
               "item_cluster_means_", "cocluster_means_")

    def _state(self):
        return {"moved": [list(m) for m in self.moved_]}, {name: getattr(self, name) for name in self._arrays}

    def _file_spec(self, meta):
        return {"user_clusters_": Arr("int64", ("n_users",), lo=0, hi="n_cltr_u"),
                "item_clusters_": Arr("int64", ("n_items",), lo=0, hi="n_cltr_i"),
                "user_means_": Arr("float64", ("n_users",)), "item_means_": Arr("float64", ("n_items",)),
                "user_cluster_means_": Arr("float64", ("n_cltr_u",)),
                "item_cluster_means_": Arr("float64", ("n_cltr_i",)),
                "cocluster_means_": Arr("float64", ("n_cltr_u", "n_cltr_i"))}

    def _restore(self, meta, arrays):
        for name in self._arrays:
            setattr(self, name, arrays[name])
        self.moved_ = [tuple(m) for m in meta["moved"]]


def surprise_rng(random_state):
    """scikit-surprise's ``get_rng``: None -> NumPy's global RandomState, int -> RandomState(seed);
    a RandomState or Generator is used as it is."""
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.RandomState(random_state)
    return random_state


def _row_means(csr):
    """Mean of each row (bincount sums left to right in data order); rows are never empty."""
    lengths = np.diff(csr.indptr)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    sums = np.bincount(rows, weights=csr.data, minlength=len(lengths))
    return sums / np.maximum(lengths, 1)
