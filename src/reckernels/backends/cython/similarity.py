"""Row-row similarity via the compiled kernels in kernels/similarity.pyx."""

from reckernels._cy import similarity as _cy

from .._exact import float32_exact_sums
from .._slices import run_sliced
from ..reference.similarity import check_kernel_args, check_square, kind_code


def similarity_upper(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                     kind, min_support, shrinkage, out, n_threads=1):
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out.shape, (len(indptr) - 1, len(indptr) - 1))
    exact = float32_exact_sums(indptr, data, kind)
    # rows are independent: cut into short calls so Ctrl-C is answered (backends/_slices.py)
    run_sliced(lambda lo, hi: _cy.similarity_upper(indptr, indices, data, t_indptr, t_indices, t_data, lo, hi,
                                                   kind_code(kind), int(min_support), float(shrinkage), out,
                                                   max(1, int(n_threads)), exact),
               row_start, row_stop, indptr)


def similarity_topm(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    kind, min_support, shrinkage, out_idx, out_sim, n_threads=1, implicit_order=False):
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out_sim.shape, out_idx.shape, implicit_order)
    exact = float32_exact_sums(indptr, data, kind)
    run_sliced(lambda lo, hi: _cy.similarity_topm(indptr, indices, data, t_indptr, t_indices, t_data, lo, hi,
                                                  kind_code(kind), int(min_support), float(shrinkage), out_idx,
                                                  out_sim, max(1, int(n_threads)), exact, bool(implicit_order)),
               row_start, row_stop, indptr)


def mirror_upper(out, n_threads=1):
    """out's upper triangle copied onto its lower one, in place (a square C-contiguous array)."""
    check_square(out)
    _cy.mirror_upper(out, max(1, int(n_threads)))
