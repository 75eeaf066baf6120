"""scikit-surprise's BaselineOnly, computed by reckernels."""

from ...algorithms.baseline import BaselineOnly as _BaselineOnly
from ._adapter import SurpriseAdapter


class BaselineOnly(SurpriseAdapter):
    """Same arguments as ``surprise.BaselineOnly(bsl_options={}, verbose=True)``."""

    def __init__(self, bsl_options={}, verbose=True):  # noqa: B006 - scikit-surprise's signature
        SurpriseAdapter.__init__(self, bsl_options=bsl_options)
        self.verbose = verbose

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
    return _BaselineOnly(method=method, **opts)
