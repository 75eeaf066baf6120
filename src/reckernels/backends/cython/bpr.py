"""BPR epochs via the compiled kernel in kernels/bpr.pyx (checked entry point)."""

from reckernels._cy import bpr as _cy

from ..reference.bpr import check_bpr_input


def bpr_epoch(indptr, indices, X, Y, learning_rate, reg, verify_negative, seed, epoch, n_threads=1):
    """See reckernels.backends.reference.bpr; rows must be sorted when ``verify_negative``
    (the estimator sorts them once per fit: unsorted rows give wrong skips, never a bad access)."""
    check_bpr_input(indptr, indices, X, Y, learning_rate, reg, seed, epoch)
    t = X.dtype.type
    return _cy.bpr_epoch(indptr, indices, X, Y, t(learning_rate), t(reg), bool(verify_negative), int(seed),
                         int(epoch), int(n_threads))
