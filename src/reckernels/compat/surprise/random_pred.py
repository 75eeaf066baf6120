"""scikit-surprise's NormalPredictor, computed by reckernels.

mu is the Trainset's global mean and sigma is summed exactly as scikit-surprise sums it, so
both are equal to scikit-surprise's. The draws come from NumPy's global RandomState, one per
predicted pair in order (``test`` draws all of a test set's at once with
``np.random.normal(mu, sigma, size=n)``, which yields the same sequence as n scalar draws):
after ``np.random.seed(s)`` the predictions are scikit-surprise's very numbers.
"""

from surprise import AlgoBase

from ...algorithms.normal import NormalPredictor as _NormalPredictor
from ._adapter import SurpriseAdapter, dataset_from_trainset


class NormalPredictor(SurpriseAdapter):
    """Same (empty) arguments as ``surprise.NormalPredictor``; fitted attribute ``sigma``."""

    def __init__(self):
        SurpriseAdapter.__init__(self)

    def _build_model(self):
        return _NormalPredictor(random_state=None)

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        self.model = self._build_model()
        self.model.fit(dataset_from_trainset(trainset))
        self.sigma = self.model.sigma_
        return self
