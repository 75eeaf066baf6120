"""NumPy reference backend: plain, obviously correct loops and array expressions.

It is the oracle: every other backend is tested against it. Speed is not its job.
"""

from .als import als_explicit_half, als_implicit_half
from .coclustering import (centered_sum_squares, cocluster_assign_items, cocluster_assign_users,
                           cocluster_averages, cocluster_predict)
from .baseline import baseline_als_epoch, baseline_sgd_epoch
from .bpr import bpr_epoch
from .itemitem import itemitem_scores, itemitem_topk
from .nmf import nmf_epoch
from .lmf import lmf_half
from .knn import knn_predict, knn_recommend, knn_score
from .sgd import svd_epoch, svd_epoch_blocked, svdpp_epoch, svdpp_epoch_hogwild
from .sampling import sample_negatives
from .similarity import mirror_upper, similarity_topm, similarity_upper
from .topn import topk_rows
from .slopeone import (slopeone_count, slopeone_dense, slopeone_mirror, slopeone_predict_dense,
                       slopeone_predict_sparse, slopeone_sparse)

__all__ = ["baseline_als_epoch", "baseline_sgd_epoch", "sample_negatives"]
__all__ += ["similarity_upper", "similarity_topm", "mirror_upper"]
__all__ += ["als_explicit_half", "als_implicit_half"]
__all__ += ["svd_epoch", "svd_epoch_blocked", "svdpp_epoch", "svdpp_epoch_hogwild"]
__all__ += ["knn_predict", "knn_recommend", "knn_score", "topk_rows"]
__all__ += ["cocluster_averages", "cocluster_assign_users", "cocluster_assign_items", "cocluster_predict",
            "centered_sum_squares"]
__all__ += ["slopeone_dense", "slopeone_mirror", "slopeone_count", "slopeone_sparse", "slopeone_predict_dense", "slopeone_predict_sparse"]
__all__ += ["nmf_epoch"]
__all__ += ["bpr_epoch", "lmf_half"]
__all__ += ["itemitem_scores", "itemitem_topk"]
