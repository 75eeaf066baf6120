"""Logistic MF half-epochs via the compiled kernel in kernels/lmf.pyx (checked entry point)."""

import numpy as np

from reckernels._cy import lmf as _cy

from ..reference.lmf import check_lmf_input


def lmf_half(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col, seed, stream,
             n_threads=1):
    """See reckernels.backends.reference.lmf."""
    check_lmf_input(indptr, indices, data, X, Y, G, learning_rate, reg, neg_prop, max_negatives, fixed_col,
                    seed, stream)
    n_threads = max(1, int(n_threads))
    row_sums = np.zeros((X.shape[0], 2))
    _cy.lmf_half(indptr, indices, data, X, Y, G, float(learning_rate), X.dtype.type(reg), int(neg_prop),
                 int(max_negatives), int(fixed_col) % X.shape[1], int(seed), int(stream),
                 np.empty((n_threads, X.shape[1]), X.dtype), row_sums)
    return float(row_sums[:, 0].sum()), float(row_sums[:, 1].sum())
