"""NMF (scikit-surprise's multiplicative updates, Luo et al. 2014): the oracle for the other backends.

One epoch, as ``surprise.NMF.sgd`` runs it:

1. walk every rating (u, i, r) in the by-user CSR's order (users in inner order, each user's
   ratings in data order) with the factors of the previous epoch:
   est = mu + b_u + b_i + q_i . p_u (``biased=False``: mu = b_u = b_i = 0, est = q_i . p_u);
   when biased, b_u and b_i take an SGD step on err = r - est right away (so a later rating's
   est sees them); then num_u += q_i r, den_u += q_i est, num_i += p_u r, den_i += p_u est;
2. p_uf <- p_uf * num_uf / (den_uf + |I_u| reg_pu p_uf) for every user, then the same for
   every item with |U_i| and reg_qi; a factor that is 0 stays 0 (the update is skipped).

Where the denominator is 0 (only possible for a user or item without ratings, with reg = 0,
or when est <= 0 in the biased model) scikit-surprise raises ZeroDivisionError; every backend
here skips that one update instead (the factor keeps its value), so no NaN or inf appears.

``lr = [lr_bu, lr_bi]``, ``reg = [reg_bu, reg_bi, reg_pu, reg_qi]``. The by-item view
(``reckernels.algorithms.nmf.by_item_view``) holds the same ratings item by item, each item's
in CSR order (its users in increasing inner order): ``t_indptr`` (n_items + 1), ``t_users``
and ``t_data`` (the user and the rating of each), and ``t_slot`` (for each CSR position, its
place in the view). It only serves the parallel backends, which sum each item's terms in that
same order and read them in sequence; it must be the view of these ``data``. Factors and
biases are updated in place; the return value is the sum of the squared errors r - est.
"""

import numpy as np

from .._checks import check_csr
from .sgd import check_model


def nmf_epoch(indptr, indices, data, t_indptr, t_users, t_data, t_slot, global_mean, bu, bi, pu, qi, lr, reg, biased,
              n_threads=1):
    """One epoch of scikit-surprise's NMF in its order (see the module docstring)."""
    lr, reg = check_nmf(indptr, indices, data, t_indptr, t_users, t_data, t_slot, bu, bi, pu, qi, lr, reg)
    lr_bu, lr_bi = lr
    reg_bu, reg_bi, reg_pu, reg_qi = reg
    mu = global_mean if biased else 0.0
    user_num, user_den = np.zeros_like(pu), np.zeros_like(pu)
    item_num, item_den = np.zeros_like(qi), np.zeros_like(qi)
    loss = 0.0
    for u in range(len(pu)):
        for p in range(indptr[u], indptr[u + 1]):
            i, r = indices[p], data[p]
            dot = 0.0
            for f in range(pu.shape[1]):  # left to right, as scikit-surprise
                dot += qi[i, f] * pu[u, f]
            est = mu + bu[u] + bi[i] + dot
            err = r - est
            loss += err * err
            if biased:
                bu[u] += lr_bu * (err - reg_bu * bu[u])
                bi[i] += lr_bi * (err - reg_bi * bi[i])
            user_num[u] += qi[i] * r
            user_den[u] += qi[i] * est
            item_num[i] += pu[u] * r
            item_den[i] += pu[u] * est
    _multiply(pu, user_num, user_den, np.diff(indptr), reg_pu)
    _multiply(qi, item_num, item_den, np.diff(t_indptr), reg_qi)
    return float(loss)


def _multiply(x, num, den, counts, reg):
    """x <- x * num / (den + n reg x) where x != 0 and that denominator != 0."""
    den = den + (counts[:, None] * reg) * x
    step = (x != 0) & (den != 0)
    x[step] = x[step] * (num[step] / den[step])


def check_nmf(indptr, indices, data, t_indptr, t_users, t_data, t_slot, bu, bi, pu, qi, lr, reg):
    """Shapes of an NMF epoch's arrays agree (O(1) checks); returns (lr, reg) as float64 arrays."""
    check_model(bu, bi, pu, qi, dtype=np.float64)
    check_csr(indptr, indices, data, n_rows=len(bu), n_cols=len(bi))
    n = len(indices)
    if len(t_indptr) != len(bi) + 1 or not len(t_users) == len(t_data) == len(t_slot) == n:
        raise ValueError(f"the by-item view must have n_items + 1 = {len(bi) + 1} pointers and one user, rating "
                         f"and slot per rating ({n}); got {len(t_indptr)}, {len(t_users)}, {len(t_data)}, "
                         f"{len(t_slot)}. Build it with reckernels.algorithms.nmf.by_item_view.")
    if len(bi) and (t_indptr[0] != 0 or t_indptr[-1] != len(indices)):
        raise ValueError("t_indptr must start at 0 and end at the number of ratings.")
    out = []
    for name, value, n, parts in (("lr", lr, 2, "[lr_bu, lr_bi]"), ("reg", reg, 4, "[reg_bu, reg_bi, reg_pu, reg_qi]")):
        a = np.ascontiguousarray(value, dtype=np.float64)
        if a.shape != (n,) or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must hold {parts}, finite and >= 0; got {value!r}.")
        out.append(a)
    return out
