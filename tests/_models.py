"""Tiny fitted models of every class in ``reckernels.algorithms.REGISTRY`` (and so of every model
merged later), for the reliability tests: fuzzed model files, thread bounds, concurrent use.

``small_params(cls)`` picks the smallest sizes among the parameters a class has, so a model added
on another branch is covered without editing this file; the TensorFlow models only when
TensorFlow imports.
"""

from __future__ import annotations

import importlib.util
import inspect

import reckernels as rk
from reckernels.algorithms import REGISTRY, get_algorithm

#: the smallest sizes worth testing, for whichever of these parameters a class takes
SMALL = {"n_factors": 4, "factors": 4, "layers": (8, 4), "n_epochs": 2, "k": 5, "n_cltr_u": 2, "n_cltr_i": 2,
         "batch_size": 64, "n_negatives": 1, "max_neighbors": 5}
#: extra variants whose saved arrays differ (top-M neighbours with baselines, float32 blocked SGD)
VARIANTS = {"itemknn": [{"storage": "topm", "max_neighbors": 5, "sim": "pearson_baseline", "center": "baseline"}],
            "userknn": [{"center": "zscore"}],
            "svd": [{"schedule": "blocked", "dtype": "float32", "n_blocks": 2}]}

HAS_TF = importlib.util.find_spec("tensorflow") is not None


def tiny_data():
    return rk.datasets.make_ratings(30, 20, 200, random_state=0)


def needs_tf(name: str) -> bool:
    return REGISTRY[name].startswith("reckernels.algorithms.ncf:")


def small_params(cls, **extra) -> dict:
    names = inspect.signature(cls.__init__).parameters
    params = {k: v for k, v in SMALL.items() if k in names}
    if "random_state" in names:
        params["random_state"] = 0
    return {**params, **{k: v for k, v in extra.items() if k in names}}


def model_cases(include_tf: bool = True):
    """(label, class, params) for every registered model and the variants above."""
    cases = []
    for name in sorted(REGISTRY):
        if needs_tf(name) and not (include_tf and HAS_TF):
            continue
        cls = get_algorithm(name)
        cases.append((name, cls, small_params(cls)))
        for k, extra in enumerate(VARIANTS.get(name, [])):
            cases.append((f"{name}-{k}", cls, small_params(cls, **extra)))
    return cases


def fit(cls, params, data=None, **overrides):
    data = tiny_data() if data is None else data
    return cls(**{**params, **overrides}).fit(data)
