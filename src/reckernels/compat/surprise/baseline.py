"""scikit-surprise's BaselineOnly, computed by reckernels.

Same arguments, ``verbose=True`` by default with scikit-surprise's trace line ("Estimating
biases using als..."), and the fitted ``bu`` and ``bi`` arrays.
"""

from surprise import AlgoBase

from ...algorithms.baseline import BaselineOnly as _BaselineOnly
from ._adapter import SurpriseAdapter, dataset_from_trainset


class BaselineOnly(SurpriseAdapter):
    """Same arguments as ``surprise.BaselineOnly(bsl_options={}, verbose=True)``."""

    def __init__(self, bsl_options={}, verbose=True):  # noqa: B006 - scikit-surprise's signature
        SurpriseAdapter.__init__(self, bsl_options=bsl_options)
        self.verbose = verbose

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)
        if self.verbose:
            print("Estimating biases using", self.bsl_options.get("method", "als") + "...")
        self.model = self._build_model()
        self.model.fit(dataset_from_trainset(trainset))
        self.bu, self.bi = self.model.bu_, self.model.bi_
        return self

    def _build_model(self):
        return baseline_model(self.bsl_options)


def baseline_model(bsl_options) -> _BaselineOnly:
    """A reckernels BaselineOnly configured from a scikit-surprise ``bsl_options`` dict."""
    opts = dict(bsl_options)
    method = opts.pop("method", "als")
    known = {"n_epochs", "reg_u", "reg_i", "reg", "learning_rate"}
    unknown = set(opts) - known
    if unknown:
        raise ValueError(f"bsl_options has unknown key(s) {sorted(unknown)}; known keys are "
                         f"'method', {', '.join(map(repr, sorted(known)))}.")
    model = _BaselineOnly(method=method, **opts)
    model.check_divergence = False  # scikit-surprise carries on with NaN estimates
    return model
