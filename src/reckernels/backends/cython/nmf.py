"""NMF via the compiled kernels in kernels/nmf.pyx (checked entry point, scratch allocated here).

The epoch's passes run as calls on consecutive ranges of rows (backends/_slices.py), so Ctrl-C is
answered between them; the results are the bits of one call (see kernels/nmf.pyx).
"""

import numpy as np

from reckernels._cy import nmf as _cy

from .._slices import Pace, run_sliced
from ..reference.nmf import check_nmf

# the passes' slice sizes, carried from one epoch to the next
_PACES = {name: Pace() for name in ("dots", "biases", "users", "items")}


def nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, global_mean, bu, bi, pu, qi, lr, reg, biased,
              n_threads=1):
    lr, reg = check_nmf(indptr, indices, data, t_indptr, t_users, t_data, t_slot, bu, bi, pu, qi, lr, reg)
    n_users, n_items, k = pu.shape[0], qi.shape[0], pu.shape[1]
    if n_users == 0 or n_items == 0 or len(indices) == 0:
        return 0.0  # all sums are 0: only a 0 / (0 + 0) step could arise, which is skipped
    biased, threads, mu = bool(biased), int(n_threads), float(global_mean) if biased else 0.0
    # the estimates are kept (twice: by user and by item) only when biased; unbiased, the sums compute them
    n = len(indices) if biased else 1
    est, est_t = np.empty(n), np.empty(n)
    user_num, user_den = np.empty_like(pu), np.empty_like(pu)
    item_num, item_den = np.empty_like(qi), np.empty_like(qi)
    user_loss = np.empty(n_users)
    # a rating's work in multiply-adds: k for its dot product, 2 k for the sums
    loss = [0.0]
    if biased:
        run_sliced(lambda lo, hi: _cy.nmf_dots(indptr, indices, pu, qi, est, lo, hi, threads), 0, n_users, indptr,
                   per_row=k, per_entry=k, pace=_PACES["dots"])
        # serial, in scikit-surprise's order; the running loss goes from one range to the next
        def biases(lo, hi):
            loss[0] = _cy.nmf_biases(indptr, indices, data, t_slot, mu, bu, bi, lr, reg, est, est_t, lo, hi, loss[0])
        run_sliced(biases, 0, n_users, indptr, pace=_PACES["biases"])
    run_sliced(lambda lo, hi: _cy.nmf_users(indptr, indices, data, est, pu, qi, float(reg[2]), biased, user_num,
                                            user_den, user_loss, lo, hi, threads), 0, n_users, indptr,
               per_row=k, per_entry=3 * k, pace=_PACES["users"])
    run_sliced(lambda lo, hi: _cy.nmf_items(t_indptr, t_users, t_data, est_t, pu, qi, float(reg[3]), biased, item_num,
                                            item_den, lo, hi, threads), 0, n_items, t_indptr,
               per_row=k, per_entry=3 * k, pace=_PACES["items"])
    np.copyto(pu, user_num)  # the users' new factors, computed in their pass while the items read the old
    return loss[0] if biased else float(np.sum(user_loss))
