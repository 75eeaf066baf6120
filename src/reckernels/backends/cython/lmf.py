"""Logistic MF half-epochs via the compiled kernel in kernels/lmf.pyx (checked entry point)."""

import numpy as np

from reckernels._cy import lmf as _cy

from .._slices import Pace, run_sliced
from ..reference.lmf import check_lmf_input, lmf_work

_PACE = Pace()  # the halves' slice sizes, carried from one epoch to the next


def lmf_half(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col, seed, stream,
             n_threads=1):
    """See reckernels.backends.reference.lmf."""
    check_lmf_input(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col,
                    seed, stream)
    n_threads = max(1, int(n_threads))
    row_sums = np.zeros((X.shape[0], 2))
    # one gradient row per thread, written on every product: rows padded to whole cache lines
    # plus one spare line, so two threads never write the same line (false sharing had 2
    # threads no faster than 1 at 32 columns)
    per_line = 64 // X.dtype.itemsize
    scratch = np.empty((n_threads, -(-X.shape[1] // per_line) * per_line + per_line), X.dtype)
    args = (float(learning_rate), X.dtype.type(reg), int(neg_prop), int(max_negatives), int(fixed_col) % X.shape[1],
            int(seed), int(stream), scratch, row_sums)
    # rows are independent: calls on ranges of them, so Ctrl-C is answered (backends/_slices.py)
    run_sliced(lambda lo, hi: _cy.lmf_half(indptr, indices, data, X, Y, G, *args, lo, hi), 0, X.shape[0], indptr,
               **lmf_work(X.shape[1], neg_prop, max_negatives), pace=_PACE)
    return float(row_sums[:, 0].sum()), float(row_sums[:, 1].sum())
