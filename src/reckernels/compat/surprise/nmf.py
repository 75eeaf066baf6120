"""scikit-surprise's NMF, computed by reckernels' NMF kernels.

Same constructor arguments and defaults, the same factors from the same ``random_state``
(users' factors drawn first, then items', by scikit-surprise's RNG rules), the same epoch (the
kernels sum in scikit-surprise's order, so the factors agree bit for bit), the same attributes
``pu``, ``qi``, ``bu``, ``bi``, the same "Processing epoch N" lines with ``verbose=True`` and the
same Prediction details. Like scikit-surprise (and unlike ``reckernels.NMF``) it trains on
negative ratings too; its factors may then turn negative.
"""

import numpy as np
from surprise import AlgoBase

from ...algorithms.nmf import NMF as _NMF
from ._adapter import SurpriseAdapter, dataset_from_trainset


class _AnySignNMF(_NMF):
    """reckernels.NMF without the non-negative ratings check, as scikit-surprise trains."""

    def _check_ratings(self, dataset):
        pass


class NMF(SurpriseAdapter):
    """Same arguments as ``surprise.NMF``. Unbiased, an unknown user or item makes the prediction
    impossible (scikit-surprise's reason text); biased, it gets the partial baseline."""

    def __init__(self, n_factors=15, n_epochs=50, biased=False, reg_pu=0.06, reg_qi=0.06, reg_bu=0.02, reg_bi=0.02,
                 lr_bu=0.005, lr_bi=0.005, init_low=0, init_high=1, random_state=None, verbose=False):
        self.n_factors, self.n_epochs, self.biased = n_factors, n_epochs, biased
        self.reg_pu, self.reg_qi, self.lr_bu, self.lr_bi = reg_pu, reg_qi, lr_bu, lr_bi
        self.reg_bu, self.reg_bi = reg_bu, reg_bi
        self.init_low, self.init_high = init_low, init_high
        self.random_state, self.verbose = random_state, verbose
        if self.init_low < 0:
            raise ValueError("init_low should be greater than zero")
        SurpriseAdapter.__init__(self)

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        self.model = _AnySignNMF(n_factors=self.n_factors, n_epochs=self.n_epochs, biased=self.biased,
                                 reg_pu=self.reg_pu, reg_qi=self.reg_qi, reg_bu=self.reg_bu, reg_bi=self.reg_bi,
                                 lr_bu=self.lr_bu, lr_bi=self.lr_bi, init_low=self.init_low,
                                 init_high=self.init_high, random_state=self.random_state)
        callback = (lambda epoch, _: print(f"Processing epoch {epoch}")) if self.verbose else None
        self.model.fit(dataset_from_trainset(trainset), callback=callback)
        m = self.model
        self.bu, self.bi, self.pu, self.qi = m.user_bias_, m.item_bias_, m.user_factors_, m.item_factors_
        return self

    def _batch(self, inner_u, inner_i):
        est, impossible, reasons, extra = super()._batch(inner_u, inner_i)
        return est, impossible, np.where(impossible, "User and item are unknown.", ""), extra
