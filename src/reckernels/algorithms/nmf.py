"""NMF: non-negative matrix factorisation with scikit-surprise's multiplicative updates.

r_ui = q_i . p_u (``biased=True``: mu + b_u + b_i + q_i . p_u) with p_u, q_i >= 0, trained as
in Luo et al. (2014) and ``surprise.NMF``: every epoch sums, over each user's ratings,
num_u = sum q_i r and den_u = sum q_i est (and the same over each item's raters), then
p_uf <- p_uf num_uf / (den_uf + |I_u| reg_pu p_uf), q_if likewise; the biases take an SGD step
per rating. Factors start uniform in [init_low, init_high], drawn users first, then items,
from scikit-surprise's RNG rules (None: NumPy's global RandomState; int: RandomState(seed)).

The epoch (reckernels/backends/*/nmf.py) is parallel over users and then items: the estimates
of an epoch depend only on the previous epoch's factors. With ``biased=True`` the biases'
steps run serially in scikit-surprise's order (each is read by the next estimate); the
O(n_factors) work per rating stays parallel. The factors equal scikit-surprise's bit for bit
on the same Trainset and ``random_state``, on any number of threads.

Ratings must be >= 0 (factors stay non-negative only then); a factor that reaches 0 stays 0,
and where a multiplicative step's denominator is 0 the factor keeps its value (scikit-surprise
raises ZeroDivisionError there). Unknown users or items: impossible (global mean) when
unbiased, the partial baseline when biased, as in scikit-surprise.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_nonnegative_float, check_positive_int
from ..persistence import register
from .svd import _SGDModel


@register
class NMF(_SGDModel):
    """Non-negative matrix factorisation (scikit-surprise's algorithm, parameters and defaults).

    Factors: ``user_factors_`` (pu), ``item_factors_`` (qi); biases ``user_bias_`` (bu),
    ``item_bias_`` (bi), zero unless ``biased``. ``fit(dataset, validation=None, callback=None)``
    records ``history_`` per epoch like SVD; ``partial_fit`` continues training.
    """

    dtype = "float64"  # the multiplicative updates reproduce scikit-surprise in float64

    def __init__(self, n_factors=15, n_epochs=50, biased=False, reg_pu=0.06, reg_qi=0.06, reg_bu=0.02, reg_bi=0.02,
                 lr_bu=0.005, lr_bi=0.005, init_low=0.0, init_high=1.0, *, backend="auto", n_threads=None,
                 random_state=None, verbose=False):
        if not isinstance(biased, (bool, np.bool_)):
            raise TypeError(f"biased must be True or False, got {biased!r}.")
        self.n_factors = check_positive_int("n_factors", n_factors)
        self.n_epochs = check_positive_int("n_epochs", n_epochs)
        self.biased = bool(biased)
        for name, value in (("reg_pu", reg_pu), ("reg_qi", reg_qi), ("reg_bu", reg_bu), ("reg_bi", reg_bi),
                            ("lr_bu", lr_bu), ("lr_bi", lr_bi)):
            setattr(self, name, check_nonnegative_float(name, value))
        self.init_low, self.init_high = _check_init(init_low, init_high)
        self._init_common(backend, n_threads, random_state, verbose)

    def _fit(self, dataset):
        self._check_ratings(dataset)
        super()._fit(dataset)

    def _check_ratings(self, dataset):
        low = float(dataset.csr.data.min()) if len(dataset) else 0.0
        if low < 0:
            raise ValueError(f"NMF needs non-negative ratings (its factors stay >= 0 only then); this data has "
                             f"ratings down to {low:g}. Shift them onto a non-negative scale first (add {-low:g} to "
                             f"every rating and to rating_scale), or use SVD, which takes ratings of any sign.")

    def _initialise(self, dataset, rng):
        """Biases 0; factors uniform in [init_low, init_high), users first, then items."""
        self.user_bias_ = np.zeros(dataset.n_users)
        self.item_bias_ = np.zeros(dataset.n_items)
        self.user_factors_ = rng.uniform(self.init_low, self.init_high, size=(dataset.n_users, self.n_factors))
        self.item_factors_ = rng.uniform(self.init_low, self.init_high, size=(dataset.n_items, self.n_factors))

    def _epoch_runner(self, dataset, dtype):
        c = dataset.csr
        view = by_item_view(c, dataset.n_items)
        lr = np.array([self.lr_bu, self.lr_bi])
        reg = np.array([self.reg_bu, self.reg_bi, self.reg_pu, self.reg_qi])
        model = (self.user_bias_, self.item_bias_, self.user_factors_, self.item_factors_)
        k, threads = self._kernels, self.n_threads_
        return lambda: k.nmf_epoch(c.indptr, c.indices, c.data, *view, dataset.global_mean, *model, lr, reg,
                                   self.biased, threads)


def by_item_view(csr, n_items):
    """(t_indptr, t_users, t_data, t_slot): the ratings item by item, each item's in CSR order
    (users in increasing inner order, as scikit-surprise's rating loop adds them), with the
    user and the rating of each, and for each CSR position its slot in this view. Built once
    per fit, so that the items' pass of every epoch reads its ratings in sequence."""
    keys = csr.indices.astype(np.uint16) if n_items <= 1 << 16 else csr.indices
    t_pos = np.argsort(keys, kind="stable")  # a radix sort for 16-bit keys
    t_indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(csr.indices, minlength=n_items), out=t_indptr[1:])
    users = np.repeat(np.arange(len(csr.indptr) - 1, dtype=np.int32), np.diff(csr.indptr))
    t_slot = np.empty(len(t_pos), dtype=np.int64)
    t_slot[t_pos] = np.arange(len(t_pos))
    t_data = np.ascontiguousarray(np.asarray(csr.data, dtype=np.float64)[t_pos])
    return t_indptr, np.ascontiguousarray(users[t_pos]), t_data, t_slot


def _check_init(init_low, init_high):
    for name, value in (("init_low", init_low), ("init_high", init_high)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if init_low < 0:
        raise ValueError(f"init_low must be >= 0 (NMF's factors must start non-negative), got {init_low!r}.")
    if init_low > init_high:
        raise ValueError(f"init_low ({init_low!r}) must not exceed init_high ({init_high!r}); swap them.")
    return init_low, init_high
