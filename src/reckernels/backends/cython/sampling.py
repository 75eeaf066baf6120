"""Negative sampling via the compiled kernel in kernels/sampling.pyx."""

from reckernels._cy import sampling as _cy

from ..reference.sampling import check_sampling_input


def sample_negatives(indptr, indices, n_items, n_negatives, seed, epoch, out, n_threads=1):
    check_sampling_input(indptr, indices, n_items, n_negatives, seed, epoch, out)
    _cy.sample_negatives(indptr, indices, int(n_items), int(n_negatives), int(seed), int(epoch), out,
                         int(n_threads))
