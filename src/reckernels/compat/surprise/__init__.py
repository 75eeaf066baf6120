"""Drop-in replacements for scikit-surprise's algorithms, computed by reckernels' kernels.

Change ``from surprise import KNNWithMeans`` to ``from reckernels.compat.surprise import
KNNWithMeans`` and the rest of the pipeline (``cross_validate``, ``GridSearchCV``, ``test``,
``Prediction`` objects with their ``details``) runs unchanged and gives the same numbers.
These classes fit on a scikit-surprise ``Trainset``; scikit-surprise must be installed.

Fitted or not, they pickle, so ``surprise.dump.dump`` / ``dump.load`` and scikit-surprise's
``cross_validate(..., n_jobs=2)`` and ``GridSearchCV(..., n_jobs=2)`` (joblib processes) work
with them; unpickle only files from a trusted source. An unknown similarity name raises
:class:`UnknownSimilarityError` (a NameError, as in scikit-surprise, and a ValueError).
"""

from .baseline import BaselineOnly
from .co_clustering import CoClustering
from .knn import KNNBaseline, KNNBasic, KNNWithMeans, KNNWithZScore, UnknownSimilarityError  # noqa: F401
from .mf import SVD, SVDpp
from .random_pred import NormalPredictor
from .slope_one import SlopeOne
from .nmf import NMF

__all__ = ["BaselineOnly"]
__all__ += ["SVD", "SVDpp"]
__all__ += ["KNNBasic", "KNNWithMeans", "KNNWithZScore", "KNNBaseline"]
__all__ += ["CoClustering", "NormalPredictor"]
__all__ += ["SlopeOne"]
__all__ += ["NMF"]
