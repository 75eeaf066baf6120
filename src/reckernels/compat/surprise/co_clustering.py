"""scikit-surprise's CoClustering, computed by reckernels' co-clustering kernels.

The same clusters and the same estimates, bit for bit, from the same ``random_state``: the
initial clusters are drawn by the same calls on the same RNG; like scikit-surprise (whose
Cython loops hold each rating in a ``cdef int``) the model sees every rating truncated
towards zero, while the global mean (empty clusters, unknown users or items) stays the
Trainset's. An unknown user or item is not "impossible": the estimate is the global mean
and ``details`` is ``{'was_impossible': False}``, as in scikit-surprise.
"""

import numpy as np
from surprise import AlgoBase

from ...algorithms.coclustering import CoClustering as _CoClustering
from ...data import CSR
from ._adapter import SurpriseAdapter, dataset_from_trainset


class CoClustering(SurpriseAdapter):
    """Same arguments as ``surprise.CoClustering``; fitted attributes ``cltr_u``, ``cltr_i``,
    ``user_mean``, ``item_mean``, ``avg_cltr_u``, ``avg_cltr_i``, ``avg_cocltr``."""

    def __init__(self, n_cltr_u=3, n_cltr_i=3, n_epochs=20, random_state=None, verbose=False):
        SurpriseAdapter.__init__(self)
        self.n_cltr_u, self.n_cltr_i, self.n_epochs = n_cltr_u, n_cltr_i, n_epochs
        self.random_state, self.verbose = random_state, verbose

    def _build_model(self):
        if self.random_state is not None and not isinstance(self.random_state, (int, np.integer,
                                                                                np.random.RandomState)):
            raise ValueError("Wrong random state. Expecting None, an int or a numpy RandomState instance, got a "
                             f"{type(self.random_state)}")
        return _CoClustering(n_cltr_u=self.n_cltr_u, n_cltr_i=self.n_cltr_i, n_epochs=self.n_epochs,
                             random_state=self.random_state)

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        self.model = self._build_model()
        callback = None
        if self.verbose:  # scikit-surprise prints before each epoch
            print("Processing epoch 0")
            callback = _EpochPrinter(self.n_epochs)
        self.model.fit(truncated(dataset_from_trainset(trainset)), callback=callback)
        m = self.model
        self.cltr_u, self.cltr_i = m.user_clusters_.astype(np.intp), m.item_clusters_.astype(np.intp)
        self.user_mean, self.item_mean = m.user_means_, m.item_means_
        self.avg_cltr_u, self.avg_cltr_i, self.avg_cocltr = (m.user_cluster_means_, m.item_cluster_means_,
                                                             m.cocluster_means_)
        return self

    def _batch(self, inner_u, inner_i):
        est, _ = self.model._estimate(inner_u, inner_i)
        n = len(est)
        return est, np.zeros(n, dtype=bool), np.full(n, "", dtype=object), {}


class _EpochPrinter:
    """Prints "Processing epoch e" before each epoch e, as scikit-surprise does: epoch 0 is
    printed before fitting, each later one after the previous epoch ends."""

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs

    def __call__(self, epoch, _model):
        if epoch + 1 < self.n_epochs:
            print(f"Processing epoch {epoch + 1}")


def truncated(ds):
    """``ds`` with its ratings truncated towards zero (scikit-surprise's int conversion); the
    global mean is kept."""
    for name in ("csr", "csc"):
        m = ds.__dict__[name]
        ds.__dict__[name] = CSR(m.indptr, m.indices, np.trunc(m.data))
    return ds
