"""scikit-surprise's SlopeOne, computed by reckernels.

Same signature (``SlopeOne()``, silent like scikit-surprise's), the same estimates (the
deviations come from the ratings cast to int, as scikit-surprise 1.1.5's fit does: 3.5 counts
as 3; the user means use the real ratings), the same ``Prediction`` details
(``{"was_impossible": False}``; unknown user or item: impossible, "User and/or item is
unknown.", the global mean) and the attributes scikit-surprise's class sets after ``fit``:

- ``dev``: (n_items, n_items) float64, dev[i, j] = mean of r_ui - r_uj over the common users,
  0 on the diagonal and NaN where nobody rated both (scikit-surprise's 0 / 0);
- ``freq``: (n_items, n_items) intp, the number of common users (freq[i, i] = i's rating count);
- ``user_mean``: a list of each user's mean rating.

``dev`` and ``freq`` are built from the model on first access (the fit itself keeps the smaller
stores of reckernels.SlopeOne: dense dev float64 + freq int32, or sparse when that does not fit
memory). Estimates equal scikit-surprise's to rounding (about 1e-15: the user means are summed
left to right where NumPy sums pairwise).
"""

import numpy as np

from ...algorithms.slopeone import SlopeOne as _SlopeOne
from ._adapter import SurpriseAdapter


class SlopeOne(SurpriseAdapter):
    """Same arguments as ``surprise.SlopeOne()`` (none)."""

    def __init__(self):
        SurpriseAdapter.__init__(self)

    def _build_model(self):
        return _SlopeOne(truncate_ratings=True)

    def fit(self, trainset):
        SurpriseAdapter.fit(self, trainset)
        self.__dict__.pop("_dense", None)
        self.user_mean = list(self.model.user_mean_)
        return self

    def _dense_arrays(self):
        if "_dense" not in self.__dict__:
            dev, freq = self.model.to_dense()
            freq = freq.astype(np.intp)
            dev = np.where(freq > 0, dev, np.nan)
            np.fill_diagonal(dev, 0.0)
            self._dense = (dev, freq)
        return self._dense

    @property
    def dev(self):
        return self._dense_arrays()[0]

    @property
    def freq(self):
        return self._dense_arrays()[1]
