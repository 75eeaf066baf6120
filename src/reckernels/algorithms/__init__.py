"""Estimator classes. The deep models (TensorFlow) are imported only when first used."""

from __future__ import annotations

import importlib

from .als import ALS, ImplicitALS
from .base import Estimator, NotFittedError, clone
from .baseline import BaselineOnly
from .coclustering import CoClustering
from .bpr import BPR
from .itemitem import ItemItem
from .knn import ItemKNN, UserKNN
from .normal import NormalPredictor
from .nmf import NMF
from .bpr import BPR
from .lmf import LogisticMF
from .popular import Popular
from .slopeone import SlopeOne
from .svd import SVD, SVDpp

#: name used by the CLI and benchmarks -> "module:Class" (imported on demand, so a model whose
#: optional dependency is missing does not break the others)
REGISTRY = {
    "baseline": "reckernels.algorithms.baseline:BaselineOnly",
    "popular": "reckernels.algorithms.popular:Popular",
    "gmf": "reckernels.algorithms.ncf:GMF",
    "mlp": "reckernels.algorithms.ncf:MLP",
    "neumf": "reckernels.algorithms.ncf:NeuMF",
    "svd": "reckernels.algorithms.svd:SVD",
    "svdpp": "reckernels.algorithms.svd:SVDpp",
    "nmf": "reckernels.algorithms.nmf:NMF",
    "userknn": "reckernels.algorithms.knn:UserKNN",
    "itemknn": "reckernels.algorithms.knn:ItemKNN",
    "als": "reckernels.algorithms.als:ALS",
    "implicit_als": "reckernels.algorithms.als:ImplicitALS",
    "coclustering": "reckernels.algorithms.coclustering:CoClustering",
    "normal": "reckernels.algorithms.normal:NormalPredictor",
    "slopeone": "reckernels.algorithms.slopeone:SlopeOne",
    "bpr": "reckernels.algorithms.bpr:BPR",
    "lmf": "reckernels.algorithms.lmf:LogisticMF",
    "itemitem": "reckernels.algorithms.itemitem:ItemItem",
}


def get_algorithm(name: str) -> type:
    """The estimator class registered under ``name`` (see ``REGISTRY``)."""
    if name not in REGISTRY:
        raise ValueError(f"algorithm {name!r} is not known; choose one of {', '.join(sorted(REGISTRY))}.")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["Estimator", "NotFittedError", "clone", "BaselineOnly", "Popular", "REGISTRY", "get_algorithm"]
__all__ += ["UserKNN", "ItemKNN"]
__all__ += ["SVD", "SVDpp"]
__all__ += ["ALS", "ImplicitALS"]
__all__ += ["CoClustering", "NormalPredictor"]
__all__ += ["SlopeOne"]
__all__ += ["NMF"]
__all__ += ["BPR", "LogisticMF"]
__all__ += ["ItemItem"]
