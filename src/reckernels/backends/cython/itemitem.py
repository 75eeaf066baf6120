"""Item-item neighbourhood scores via the compiled kernel in kernels/itemitem.pyx."""

import numpy as np

from reckernels._cy import itemitem as _cy

from .._slices import mean_row_length, run_sliced, score_row_work
from ..reference.itemitem import check_itemitem_args, check_itemitem_topk_args, topk_work


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    indptr, indices = np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(indices, dtype=np.int32)
    data, users = np.ascontiguousarray(data, dtype=np.float64), np.ascontiguousarray(users, dtype=np.int32)
    s_indptr = np.ascontiguousarray(s_indptr, dtype=np.int64)
    s_indices = np.ascontiguousarray(s_indices, dtype=np.int32)
    s_data = np.ascontiguousarray(s_data, dtype=np.float64)
    # users are independent: short calls on ranges of them, so Ctrl-C is answered (backends/_slices.py)
    run_sliced(lambda lo, hi: _cy.itemitem_scores(indptr, indices, data, users[lo:hi], s_indptr, s_indices, s_data,
                                                  out[lo:hi], max(1, int(n_threads))),
               0, len(users), per_row=score_row_work(indptr, s_indptr, out.shape[1]))


def _inputs(indptr, indices, data, users, s_indptr, s_indices, s_data):
    return (np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(indices, dtype=np.int32),
            np.ascontiguousarray(data, dtype=np.float64), np.ascontiguousarray(users, dtype=np.int32),
            np.ascontiguousarray(s_indptr, dtype=np.int64), np.ascontiguousarray(s_indices, dtype=np.int32),
            np.ascontiguousarray(s_data, dtype=np.float64))


def itemitem_topk(indptr, indices, data, users, s_indptr, s_indices, s_data, filter_seen, out_ids, out_scores,
                  out_len, n_threads=1, n_cols=None):
    n_cols = check_itemitem_topk_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out_ids, out_scores,
                                      out_len, n_cols)
    indptr, indices, data, users, s_indptr, s_indices, s_data = _inputs(indptr, indices, data, users, s_indptr,
                                                                        s_indices, s_data)
    # a user costs its products plus a k-heap, not a catalogue row: sliced by that work (Ctrl-C, _slices.py)
    per_row, work = topk_work(indptr, users, s_indptr, out_ids.shape[1])
    run_sliced(lambda lo, hi: _cy.itemitem_topk(indptr, indices, data, users[lo:hi], s_indptr, s_indices, s_data,
                                                bool(filter_seen), out_ids[lo:hi], out_scores[lo:hi],
                                                out_len[lo:hi], max(1, int(n_threads)), n_cols),
               0, len(users), work, per_row=per_row, per_entry=max(1.0, mean_row_length(s_indptr)))
