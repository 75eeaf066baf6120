"""Baseline biases via the compiled kernels in kernels/baseline.pyx."""

from reckernels._cy import baseline as _cy

from .._checks import check_csr


def baseline_als_epoch(u_indptr, u_indices, u_data, i_indptr, i_indices, i_data,
                       global_mean, reg_u, reg_i, bu, bi, n_threads=1):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(bu), n_cols=len(bi))
    check_csr(i_indptr, i_indices, i_data, n_rows=len(bi), n_cols=len(bu))
    _cy.baseline_als_epoch(u_indptr, u_indices, u_data, i_indptr, i_indices, i_data,
                           float(global_mean), float(reg_u), float(reg_i), bu, bi, int(n_threads))


def baseline_sgd_epoch(u_indptr, u_indices, u_data, global_mean, reg, lr, bu, bi):
    check_csr(u_indptr, u_indices, u_data, n_rows=len(bu), n_cols=len(bi))
    _cy.baseline_sgd_epoch(u_indptr, u_indices, u_data, float(global_mean), float(reg), float(lr), bu, bi)
