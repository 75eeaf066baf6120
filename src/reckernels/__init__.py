"""reckernels: recommender systems whose hot loops are compiled kernels.

Importing the package is cheap: NumPy and the light modules only. Numba kernels compile on
first use, TensorFlow and numba-cuda are imported only by the models/backends that need them.
"""

__version__ = "0.1.0"

from . import datasets, evaluation, metrics, split  # noqa: E402
from .algorithms import BaselineOnly, Estimator, NotFittedError, Popular, clone, get_algorithm  # noqa: E402
from .algorithms import ItemKNN, UserKNN  # noqa: E402
from .algorithms import SVD, SVDpp  # noqa: E402
from .algorithms import ALS, ImplicitALS  # noqa: E402
from .algorithms import BPR, LogisticMF  # noqa: E402
from .algorithms import ItemItem  # noqa: E402
from .backends import available as available_backends  # noqa: E402
from .data import Dataset  # noqa: E402
from .persistence import load  # noqa: E402

#: public names whose module is heavy (TensorFlow): imported on first attribute access
_LAZY = {"NeuMF": "reckernels.algorithms.ncf:NeuMF", "GMF": "reckernels.algorithms.ncf:GMF",
         "MLP": "reckernels.algorithms.ncf:MLP"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name].split(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'reckernels' has no attribute {name!r}")


__all__ = [
    "Dataset", "datasets", "split", "metrics", "evaluation", "load", "clone", "get_algorithm",
    "available_backends", "Estimator", "NotFittedError", "BaselineOnly", "Popular",
]
__all__ += ["UserKNN", "ItemKNN"]
__all__ += ["SVD", "SVDpp"]
__all__ += ["ALS", "ImplicitALS"]
__all__ += ["BPR", "LogisticMF"]
__all__ += ["ItemItem"]
