"""scikit-surprise's KNNBasic, KNNWithMeans, KNNWithZScore and KNNBaseline, computed by reckernels.

Same arguments (``k``, ``min_k``, ``sim_options``, ``bsl_options``, ``verbose``), the same
dense similarity matrix (``sim``, ``compute_similarities()``), the same ``get_neighbors`` and
the same ``Prediction`` details: ``actual_k`` and ``was_impossible``, with the reasons
"User and/or item is unknown." and (KNNBasic) "Not enough neighbors."; KNNBaseline on an unknown
user or item returns the partial baseline with ``{"was_impossible": False}`` only.

Estimates equal scikit-surprise's to rounding (about 1e-15: the neighbour terms are summed in
candidate order, scikit-surprise sums them most similar first). Differences, all in cases where
scikit-surprise fails: ``sim_options`` keys other than name, user_based, min_support and
shrinkage raise instead of being ignored; ``min_k > k`` raises; KNNBasic with ``min_k=0`` and
no neighbour is impossible ("Not enough neighbors.") where scikit-surprise raises
ZeroDivisionError; KNNWithZScore on a training set whose ratings are all equal uses sigma 1
where scikit-surprise returns NaN.

As in scikit-surprise, an unknown similarity name raises at ``fit`` (NameError; here
:class:`UnknownSimilarityError`, which is also a ValueError as reckernels' own options are),
``verbose`` (default True) prints scikit-surprise's trace lines, and a fitted model has the
attributes a pipeline reads: ``trainset``, ``sim``, ``n_x``, ``n_y``, ``xr``, ``yr``, ``bu``,
``bi`` (arrays when baselines were estimated, else None), ``means``, ``sigmas``,
``overall_sigma``, ``bx``, ``by``, ``sim_options``, ``bsl_options``, ``k``, ``min_k``.
"""

import numpy as np
from surprise import AlgoBase

from ..._validation import check_choice
from ...algorithms.knn import CODE_POSSIBLE, CODE_UNKNOWN, SIMS, ItemKNN, UserKNN
from ._adapter import UNKNOWN_REASON, SurpriseAdapter, dataset_from_trainset

TOO_FEW_REASON = "Not enough neighbors."
_SIM_KEYS = ("name", "user_based", "min_support", "shrinkage")


class UnknownSimilarityError(NameError, ValueError):
    """An unknown ``sim_options["name"]``: scikit-surprise raises NameError, reckernels ValueError; this is both."""


class _SurpriseKNN(SurpriseAdapter):
    """Shared by the four classes; ``_center`` picks the estimator."""

    _center: str

    def __init__(self, k=40, min_k=1, sim_options={}, verbose=True, **kwargs):  # noqa: B006 - scikit-surprise's
        unknown = sorted(set(kwargs) - {"bsl_options"})
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown argument(s) {unknown}; it takes k, min_k, "
                            f"sim_options, bsl_options and verbose, as scikit-surprise's.")
        bad = sorted(set(sim_options) - set(_SIM_KEYS))
        if bad:
            raise ValueError(f"sim_options has unknown key(s) {bad}; known keys are {', '.join(_SIM_KEYS)}.")
        SurpriseAdapter.__init__(self, sim_options=sim_options, **kwargs)  # sets user_based=True if absent
        self.k = k
        self.min_k = min_k
        self.verbose = verbose

    def fit(self, trainset):
        AlgoBase.fit(self, trainset)  # trainset; bu = bi = None
        ub = self.sim_options["user_based"]
        self.n_x, self.n_y = (trainset.n_users, trainset.n_items) if ub else (trainset.n_items, trainset.n_users)
        self.xr, self.yr = (trainset.ur, trainset.ir) if ub else (trainset.ir, trainset.ur)
        name = self._sim_name()
        # scikit-surprise's trace, in its order: the baselines (KNNBaseline, or for pearson_baseline)
        # come before the similarity line, and the name is printed before it is checked
        if self.verbose:
            if self._center == "baseline" or name == "pearson_baseline":
                print("Estimating biases using", self.bsl_options.get("method", "als") + "...")
            print(f"Computing the {name} similarity matrix...")
        try:
            check_choice("sim", name, SIMS)
        except ValueError as exc:
            raise UnknownSimilarityError(f"{exc} (given as sim_options['name'])") from None
        self.model = self._build_model()
        dataset = dataset_from_trainset(trainset)
        self.model.fit(dataset)
        if self.verbose:
            print("Done computing similarity matrix.")
        self.sim = self.model.similarity_.dense
        if self._center == "baseline" or name == "pearson_baseline":  # scikit-surprise estimated them
            self.bu, self.bi = self.model.bu_, self.model.bi_
        self._set_attributes(dataset)
        return self

    def _sim_name(self) -> str:
        return self.sim_options.get("name", "msd").lower()

    def _set_attributes(self, dataset):
        """The fitted arrays scikit-surprise's class exposes besides ``sim``, ``bu`` and ``bi``."""

    def _build_model(self):
        cls = UserKNN if self.sim_options["user_based"] else ItemKNN
        model = cls(k=self.k, min_k=self.min_k, sim=self._sim_name(), center=self._center,
                    min_support=self.sim_options.get("min_support", 1),
                    shrinkage=self.sim_options.get("shrinkage", 100), storage="dense",
                    bsl_options=self.bsl_options)
        model.check_divergence = False  # scikit-surprise carries on with NaN estimates
        return model

    def compute_similarities(self):
        """The dense (n_x, n_x) similarity matrix of the fitted training set (as scikit-surprise's)."""
        return self.sim

    def get_neighbors(self, iid, k):
        """The k inner ids most similar to inner id ``iid`` (most similar first, ties by inner id)."""
        nb, _ = self.model.similarity_.top_neighbors(int(iid), k)
        return [int(x) for x in nb]

    def _batch(self, inner_u, inner_i):
        d = self.model._details_inner(inner_u, inner_i)
        unknown = d.code == CODE_UNKNOWN
        impossible = self._impossible(d.code)
        reasons = np.where(unknown, UNKNOWN_REASON, np.where(impossible, TOO_FEW_REASON, ""))
        return d.est, impossible, reasons, {"actual_k": d.actual_k}

    def _impossible(self, code):
        """Which outcomes scikit-surprise reports as impossible: unknown ids (all but KNNBaseline)."""
        return code == CODE_UNKNOWN


class KNNBasic(_SurpriseKNN):
    """Same arguments as ``surprise.KNNBasic`` (default similarity: msd, user-based)."""

    _center = "none"

    def _impossible(self, code):
        return code != CODE_POSSIBLE  # unknown, or fewer than min_k neighbours


class KNNWithMeans(_SurpriseKNN):
    """Same arguments as ``surprise.KNNWithMeans``; ``means`` as there."""

    _center = "mean"

    def _set_attributes(self, dataset):
        self.means = self.model.means_


class KNNWithZScore(_SurpriseKNN):
    """Same arguments as ``surprise.KNNWithZScore``; ``means`` and ``sigmas`` as there."""

    _center = "zscore"

    def _set_attributes(self, dataset):
        self.means = self.model.means_
        self.sigmas = self.model.sigmas_
        self.overall_sigma = np.std(dataset.csr.data)  # all ratings in trainset.all_ratings() order


class KNNBaseline(_SurpriseKNN):
    """Same arguments as ``surprise.KNNBaseline``; ``bu`` and ``bi`` as there."""

    _center = "baseline"

    def __init__(self, k=40, min_k=1, sim_options={}, bsl_options={}, verbose=True, **kwargs):  # noqa: B006
        _SurpriseKNN.__init__(self, k=k, min_k=min_k, sim_options=sim_options, bsl_options=bsl_options,
                              verbose=verbose, **kwargs)

    def _set_attributes(self, dataset):
        self.bx, self.by = (self.bu, self.bi) if self.sim_options["user_based"] else (self.bi, self.bu)

    def _impossible(self, code):
        return np.zeros(len(code), dtype=bool)  # an unknown id gives the partial baseline

    # scikit-surprise returns a bare estimate (no actual_k) for an unknown user or item
    def test(self, testset, verbose=False):
        preds = super().test(testset, verbose=verbose)
        if preds:
            raw_u, raw_i, _ = zip(*testset)
            u, i = self._inner(raw_u, raw_i)
            for k in np.flatnonzero((u < 0) | (i < 0)):
                preds[k].details.pop("actual_k", None)
        return preds

    def predict(self, uid, iid, r_ui=None, clip=True, verbose=False):
        pred = super().predict(uid, iid, r_ui=r_ui, clip=clip, verbose=verbose)
        u, i = self._inner([uid], [iid])
        if u[0] < 0 or i[0] < 0:
            pred.details.pop("actual_k", None)
        return pred

    def estimate(self, u, i):
        out = super().estimate(u, i)
        if isinstance(u, str) or isinstance(i, str):  # unknown: scikit-surprise's 'UKN__<raw>'
            return out[0] if isinstance(out, tuple) else out
        return out


__all__ = ["KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline", "UnknownSimilarityError"]
