"""Drop-in replacements for implicit 0.7's models and evaluation functions.

    # from implicit.als import AlternatingLeastSquares
    from reckernels.compat.implicit import AlternatingLeastSquares

Same constructor arguments and defaults (except ``use_gpu``, which defaults to False here and
maps to reckernels' cuda backend), the same ``fit(user_items)`` on a users x items CSR, the same
``recommend`` / ``similar_items`` / ``similar_users`` results (int32 ids, 1-d for one id and 2-d
for an array), ``save`` / ``load`` as .npz without pickle, picklable models. Importing this
package does not need implicit.
"""

from ._common import ModelFitError, ParameterWarning
from .als import AlternatingLeastSquares
from .bpr import BayesianPersonalizedRanking
from .evaluation import (AUC_at_k, leave_k_out_split, mean_average_precision_at_k, ndcg_at_k, precision_at_k,
                         ranking_metrics_at_k, train_test_split)
from .lmf import LogisticMatrixFactorization
from .nearest_neighbours import (BM25Recommender, CosineRecommender, ItemItemRecommender, TFIDFRecommender,
                                 bm25_weight, normalize, tfidf_weight)

__all__ = [
    "AlternatingLeastSquares", "BayesianPersonalizedRanking", "LogisticMatrixFactorization",
    "ItemItemRecommender", "CosineRecommender", "TFIDFRecommender", "BM25Recommender",
    "train_test_split", "leave_k_out_split", "precision_at_k", "mean_average_precision_at_k", "ndcg_at_k",
    "AUC_at_k", "ranking_metrics_at_k", "tfidf_weight", "bm25_weight", "normalize",
    "ParameterWarning", "ModelFitError",
]
