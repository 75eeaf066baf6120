"""Item-item neighbourhood scores via the compiled kernel in kernels/itemitem.pyx."""

import numpy as np

from reckernels._cy import itemitem as _cy

from ..reference.itemitem import check_itemitem_args


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    _cy.itemitem_scores(np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(indices, dtype=np.int32),
                        np.ascontiguousarray(data, dtype=np.float64), np.ascontiguousarray(users, dtype=np.int32),
                        np.ascontiguousarray(s_indptr, dtype=np.int64),
                        np.ascontiguousarray(s_indices, dtype=np.int32),
                        np.ascontiguousarray(s_data, dtype=np.float64), out, max(1, int(n_threads)))
