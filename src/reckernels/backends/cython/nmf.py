"""NMF via the compiled kernel in kernels/nmf.pyx (checked entry point, scratch allocated here)."""

import numpy as np

from reckernels._cy import nmf as _cy

from ..reference.nmf import check_nmf


def nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, global_mean, bu, bi, pu, qi, lr, reg, biased,
              n_threads=1):
    lr, reg = check_nmf(indptr, indices, data, t_indptr, t_users, t_data, t_slot, bu, bi, pu, qi, lr, reg)
    # the estimates are kept (twice: by user and by item) only when biased; unbiased, the sums compute them
    n = len(indices) if biased else 1
    est, est_t = np.empty(n), np.empty(n)
    user_num, user_den = np.empty_like(pu), np.empty_like(pu)
    item_num, item_den = np.empty_like(qi), np.empty_like(qi)
    return _cy.nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, float(global_mean), bu, bi, pu,
                         qi, lr, reg, bool(biased), est, est_t, user_num, user_den, item_num, item_den,
                         int(n_threads))
