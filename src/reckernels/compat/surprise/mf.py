"""scikit-surprise's SVD and SVDpp, computed by reckernels' SGD kernels.

Same constructor arguments, the same factors from the same ``random_state`` (users' factors
drawn first, then items', then SVD++'s y_j, from scikit-surprise's RNG rules), the same
epoch order (reckernels' exact schedule), the same attributes ``pu``, ``qi``, ``bu``, ``bi``
(and ``yj``) and the same estimates: SVD bit for bit, SVD++ to rounding (about 1e-12; its
implicit sum is kept incrementally instead of being recomputed for every rating).

As in scikit-surprise, the per-parameter rates are resolved at construction (``lr_bu`` is
``lr_all`` unless given, and so on), and ``verbose=True`` prints scikit-surprise's epoch lines
("Processing epoch 0" for SVD, " processing epoch 0" for SVD++).

One extra keyword buys speed at the cost of the identical numbers: ``schedule`` (default
"exact"). ``SVD(schedule="blocked")`` and ``SVDpp(schedule="hogwild")`` train with reckernels'
parallel float32 kernels, the defaults of ``reckernels.SVD`` / ``reckernels.SVDpp``: the same
model quality (test RMSE within 0.002 on MovieLens), not the same digits.
"""

import numpy as np
from surprise import AlgoBase

from ...algorithms.svd import SVD as _SVD, SVDpp as _SVDpp
from ._adapter import SurpriseAdapter, dataset_from_trainset


class _SGDAdapter(SurpriseAdapter):
    """Fits the reckernels model on the chosen schedule (exact unless told otherwise) and
    exposes its arrays under scikit-surprise's names (views, not copies)."""

    _epoch_line = "Processing epoch {}"

    def _set_rates(self, lr_all, reg_all, lrs: dict, regs: dict):
        """scikit-surprise's attributes: each rate given, else lr_all / reg_all."""
        self.lr_all, self.reg_all = lr_all, reg_all
        for name, value in lrs.items():
            setattr(self, name, lr_all if value is None else value)
        for name, value in regs.items():
            setattr(self, name, reg_all if value is None else value)

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        self.model = self._build_model()
        self.model.check_divergence = False  # scikit-surprise carries on with NaN estimates
        line = self._epoch_line
        # the model calls back after each epoch, scikit-surprise prints before it: the same lines
        callback = (lambda epoch, _: print(line.format(epoch))) if self.verbose else None
        self.model.fit(dataset_from_trainset(trainset), callback=callback)
        m = self.model
        self.bu, self.bi, self.pu, self.qi = m.user_bias_, m.item_bias_, m.user_factors_, m.item_factors_
        return self

    def _rates(self):
        names = [n for n in self._model_cls()._param_names() if n.startswith(("lr_", "reg_"))]
        return {n: getattr(self, n) for n in names}

    def _build_model(self):
        return self._model_cls()(n_factors=self.n_factors, n_epochs=self.n_epochs, init_mean=self.init_mean,
                                 init_std_dev=self.init_std_dev, random_state=self.random_state,
                                 schedule=self.schedule, **self._extra(), **self._rates())

    def _extra(self):
        return {}


class SVD(_SGDAdapter):
    """Same arguments as ``surprise.SVD``; ``biased=False`` is probabilistic MF, where an unknown
    user or item makes the prediction impossible (scikit-surprise's reason text included).

    ``schedule="exact"`` (default) gives scikit-surprise's numbers bit for bit.
    ``schedule="blocked"`` is the one argument that buys speed: reckernels' parallel float32
    grid (all cores, AVX-512/AVX2 kernels), the same accuracy but other digits (see the module
    docstring)."""

    def __init__(self, n_factors=100, n_epochs=20, biased=True, init_mean=0, init_std_dev=0.1, lr_all=0.005,
                 reg_all=0.02, lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None, reg_bu=None, reg_bi=None, reg_pu=None,
                 reg_qi=None, random_state=None, verbose=False, schedule="exact"):
        SurpriseAdapter.__init__(self)
        self.schedule = schedule
        self.n_factors, self.n_epochs, self.biased = n_factors, n_epochs, biased
        self.init_mean, self.init_std_dev = init_mean, init_std_dev
        self._set_rates(lr_all, reg_all, dict(lr_bu=lr_bu, lr_bi=lr_bi, lr_pu=lr_pu, lr_qi=lr_qi),
                        dict(reg_bu=reg_bu, reg_bi=reg_bi, reg_pu=reg_pu, reg_qi=reg_qi))
        self.random_state, self.verbose = random_state, verbose

    @staticmethod
    def _model_cls():
        return _SVD

    def _extra(self):
        return {"biased": self.biased}

    def _batch(self, inner_u, inner_i):
        est, impossible, reasons, extra = super()._batch(inner_u, inner_i)
        return est, impossible, np.where(impossible, "User and item are unknown.", ""), extra


class SVDpp(_SGDAdapter):
    """Same arguments as ``surprise.SVDpp``. ``cache_ratings`` is kept for compatibility: in
    scikit-surprise it trades memory for speed without changing the results; reckernels always
    reads the ratings from its CSR arrays, so both values run the same way.

    ``schedule="exact"`` (default) gives scikit-surprise's numbers (to rounding, about 1e-12).
    ``schedule="hogwild"`` is the one argument that buys speed: users on all cores in float32,
    the same accuracy but other digits, which also vary slightly from run to run."""

    def __init__(self, n_factors=20, n_epochs=20, init_mean=0, init_std_dev=0.1, lr_all=0.007, reg_all=0.02,
                 lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None, lr_yj=None, reg_bu=None, reg_bi=None, reg_pu=None,
                 reg_qi=None, reg_yj=None, random_state=None, verbose=False, cache_ratings=False, schedule="exact"):
        SurpriseAdapter.__init__(self)
        self.schedule = schedule
        self.n_factors, self.n_epochs = n_factors, n_epochs
        self.init_mean, self.init_std_dev = init_mean, init_std_dev
        self._set_rates(lr_all, reg_all, dict(lr_bu=lr_bu, lr_bi=lr_bi, lr_pu=lr_pu, lr_qi=lr_qi, lr_yj=lr_yj),
                        dict(reg_bu=reg_bu, reg_bi=reg_bi, reg_pu=reg_pu, reg_qi=reg_qi, reg_yj=reg_yj))
        self.random_state, self.verbose, self.cache_ratings = random_state, verbose, cache_ratings

    _epoch_line = " processing epoch {}"  # scikit-surprise's SVD++ prints it so

    @staticmethod
    def _model_cls():
        return _SVDpp

    def fit(self, trainset):
        super().fit(trainset)
        self.yj = self.model.implicit_factors_
        return self
