"""Estimator classes. The deep models (TensorFlow) are imported only when first used."""

from .base import Estimator, NotFittedError, clone
from .baseline import BaselineOnly
from .popular import Popular

__all__ = ["Estimator", "NotFittedError", "clone", "BaselineOnly", "Popular"]
