"""reckernels: recommender systems whose hot loops are compiled kernels.

Importing the package is cheap: NumPy and the light modules only. Numba kernels compile on
first use, TensorFlow and numba-cuda are imported only by the models/backends that need them.
"""

__version__ = "0.1.0"

from . import datasets, evaluation, metrics, split  # noqa: E402
from .algorithms import BaselineOnly, Estimator, NotFittedError, Popular, clone  # noqa: E402
from .backends import available as available_backends  # noqa: E402
from .data import Dataset  # noqa: E402
from .persistence import load  # noqa: E402

__all__ = [
    "Dataset", "datasets", "split", "metrics", "evaluation", "load", "clone", "available_backends",
    "Estimator", "NotFittedError", "BaselineOnly", "Popular",
]
