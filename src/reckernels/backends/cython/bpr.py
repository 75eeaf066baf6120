"""BPR epochs via the compiled kernel in kernels/bpr.pyx (checked entry point)."""

import numpy as np

from reckernels._cy import bpr as _cy

from .._slices import Pace, run_sliced
from ..reference.bpr import check_bpr_input

_PACE = Pace()  # the epochs' slice sizes, carried from one epoch to the next


def bpr_epoch(indptr, indices, X, Y, learning_rate, reg, verify_negative, seed, epoch, n_threads=1):
    """See reckernels.backends.reference.bpr; rows must be sorted when ``verify_negative``
    (the estimator sorts them once per fit: unsorted rows give wrong skips, never a bad access)."""
    check_bpr_input(indptr, indices, X, Y, learning_rate, reg, seed, epoch)
    nnz = len(indices)
    if nnz == 0:
        return 0, 0
    t = X.dtype.type
    T = max(1, min(int(n_threads), nnz))
    rows = np.empty(nnz, dtype=np.int32)
    _cy.bpr_rows(indptr, rows, T)
    counts = np.zeros(2 * T, dtype=np.int64)
    args = (t(learning_rate), t(reg), bool(verify_negative), int(seed), int(epoch), T)
    # the updaters advance through their chunks a range of steps per call, so Ctrl-C is answered
    # between calls (backends/_slices.py); a step is one sample on each of the T updaters
    run_sliced(lambda lo, hi: _cy.bpr_steps(indptr, indices, rows, X, Y, *args, lo, hi, counts), 0, -(-nnz // T),
               per_row=T * X.shape[1], pace=_PACE)
    return int(counts[0::2].sum()), int(counts[1::2].sum())
