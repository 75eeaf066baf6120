"""Drop-in replacements for scikit-surprise's algorithms, computed by reckernels' kernels.

Change ``from surprise import KNNWithMeans`` to ``from reckernels.compat.surprise import
KNNWithMeans`` and the rest of the pipeline (``cross_validate``, ``GridSearchCV``, ``test``,
``Prediction`` objects with their ``details``) runs unchanged and gives the same numbers.
These classes fit on a scikit-surprise ``Trainset``; scikit-surprise must be installed.
"""

from .baseline import BaselineOnly
from .knn import KNNBaseline, KNNBasic, KNNWithMeans, KNNWithZScore
from .mf import SVD, SVDpp
from .nmf import NMF

__all__ = ["BaselineOnly"]
__all__ += ["SVD", "SVDpp"]
__all__ += ["KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline"]
__all__ += ["NMF"]
