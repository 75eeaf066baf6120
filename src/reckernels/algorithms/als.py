"""ALS (explicit ratings) and ImplicitALS (implicit feedback): matrix factorisation by alternating least squares.

Each epoch is two half-sweeps: every user's factors are solved exactly (or by a few CG steps)
from the item factors, then every item's from the user factors; within a half-sweep the rows
are independent and run in parallel. The kernels are ``als_explicit_half`` and
``als_implicit_half`` of the chosen backend (reckernels.backends.reference.als documents the
systems they solve).

**ALS** (Zhou et al. 2008, with biases): r_ui ~ mu + b_u + b_i + p_u . q_i. The biases are
learnt jointly with the factors by augmenting the vectors: solving for user u, the unknown is
(p_u, b_u) and each rated item contributes the feature (q_i, 1) and the target
r_ui - mu - b_i; items likewise. The regularisation is weighted-lambda: ``reg * n_u`` for a user
with n_u ratings (``reg * n_i`` for items), applied to the factors and the bias alike.
Factors start as N(0, init_std_dev), biases 0. An unknown user or item gets the partial
baseline mu + (the known bias), as scikit-surprise's biased SVD does.

**ImplicitALS** (Hu, Koren, Volinsky 2008): preference p_ui = 1 on the observed pairs and 0
elsewhere, confidence ``c_ui = 1 + alpha * r_ui`` on the observed pairs and 1 elsewhere,
regularisation ``reg * I`` (unweighted). Note the convention: implicit 0.7's
``AlternatingLeastSquares`` uses ``c_ui = alpha * r_ui`` (it multiplies by alpha but does not
add 1), so our model with ``alpha=a`` on strengths r equals implicit's with ``alpha=1`` on the
matrix ``1 + a * r``. Factors start uniform in [0, 0.01) as in implicit; ``solver="cg"`` (3
steps, warm-started from the previous factors) is implicit's default, and ``dtype="float32"``
too. ``predict`` estimates the preference x_u . y_i, a score never clipped (it is not a rating);
an unknown user or item is impossible (estimate 0). ``recommend`` ranks the items the user has
not interacted with by x_u . y_i; an unknown user has no factors and gets the items ranked by
popularity (number of training users).

Both: a row (user or item) without any training rating gets factors (and bias) 0. With
``solver="cholesky"`` a system that is not positive definite in the chosen precision (only
possible in float32 with extreme values) raises instead of leaving a silent NaN.
Factors are ``user_factors_`` / ``item_factors_`` (plus ``user_bias_`` / ``item_bias_`` for
ALS); row r belongs to inner id r, i.e. raw id ``user_map_.raw_ids[r]``.
"""

from __future__ import annotations

import time

import numpy as np

from .. import backends as _backends
from .._validation import check_choice, check_nonnegative_float, check_positive_int
from ..data import CSR, Dataset, IdMap, _as_id_array
from ..persistence import register
from ..persistence import Arr
from .base import Estimator, IterativeModel
from .baseline import baseline_estimate

SOLVERS = ("cholesky", "cg")
DTYPES = ("float64", "float32")
#: ratings per chunk when the training loss is evaluated (bounds the temporary arrays)
_LOSS_CHUNK = 1 << 18


def _check_reg(reg) -> float:
    reg = check_nonnegative_float("reg", reg)
    if reg == 0.0:
        raise ValueError("reg must be > 0: without regularisation a row with fewer ratings than factors has a "
                         "singular system. Use a small value such as 0.01.")
    return reg


def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    return np.random.default_rng(random_state)


class _ALSModel(IterativeModel):
    """What ALS and ImplicitALS share: options, the epoch loop with callback and progress bar, saving."""

    _arrays = ("user_factors_", "item_factors_")

    def _init_als(self, n_factors, n_epochs, reg, solver, cg_steps, dtype):
        self.n_factors = check_positive_int("n_factors", n_factors)
        self.n_epochs = check_positive_int("n_epochs", n_epochs)
        self.reg = _check_reg(reg)
        self.solver = check_choice("solver", solver, SOLVERS)
        self.cg_steps = check_positive_int("cg_steps", cg_steps)
        self.dtype = check_choice("dtype", dtype, DTYPES)

    def _file_spec(self, meta):
        spec = {name: Arr("dtype", a.shape) for name, a in super()._file_spec(meta).items()}
        if "item_popularity_" in self._arrays:
            spec["item_popularity_"] = Arr("float64", ("n_items",))
        return spec

    @staticmethod
    def _check_callback(callback):
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable as callback(epoch, model), got {callback!r}.")

    def _train(self, by_user: CSR, by_item: CSR, n_epochs: int, warm: bool, validation, callback):
        """Run n_epochs epochs (from a fresh initialisation unless warm), recording history_."""
        if not warm:
            self._initialise(by_user.n_rows, by_item.n_rows)
            self.history_ = []
            self.epochs_done_ = 0
        monitor = bool(self.verbose) or callback is not None or validation is not None
        with self._progress(n_epochs, "epochs") as bar:
            for _ in range(n_epochs):
                self._epoch(by_user, by_item)
                self._check_epoch(self.epochs_done_)
                record = {"epoch": self.epochs_done_}
                self.epochs_done_ += 1
                if monitor:
                    record.update(self._monitor(by_user, validation))
                self.history_.append(record)
                bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
                bar.update(1)
                if callback is not None:
                    callback(record["epoch"], self)

    def _check_half(self, failed: int, side: str, *arrays) -> None:
        if failed:
            raise FloatingPointError(
                f"{type(self).__name__}: the Cholesky factorisation failed for {failed} {side} system(s) (not "
                f"positive definite in {self.dtype}). Use dtype='float64', solver='cg' or a larger reg.")
        if not all(np.isfinite(a).all() for a in arrays):
            raise FloatingPointError(
                f"{type(self).__name__}: the {side} factors overflowed to inf/NaN in {self.dtype}. Use "
                "dtype='float64', smaller strengths or alpha, or a larger reg.")

    def _check_same_ids(self, user_ids, item_ids) -> None:
        if not (np.array_equal(user_ids, self.user_map_.raw_ids) and np.array_equal(item_ids, self.item_map_.raw_ids)):
            raise ValueError("partial_fit needs the users and items of the first fit, in the same order; "
                             "call fit() to start over on different data.")

    # hooks ------------------------------------------------------------------
    def _initialise(self, n_users: int, n_items: int) -> None:
        raise NotImplementedError

    def _epoch(self, by_user: CSR, by_item: CSR) -> None:
        raise NotImplementedError

    def _monitor(self, by_user: CSR, validation) -> dict:
        raise NotImplementedError



@register
class ALS(_ALSModel):
    """Biased matrix factorisation of explicit ratings by alternating least squares.

    Weighted-lambda regularisation (Zhou et al. 2008), biases learnt jointly with the factors;
    see the module docstring. ``solver="cholesky"`` solves each (n_factors + 1)-unknown system
    exactly; ``solver="cg"`` takes ``cg_steps`` conjugate-gradient steps from the current factors.
    """

    _arrays = _ALSModel._arrays + ("user_bias_", "item_bias_")

    def __init__(self, n_factors=100, n_epochs=15, reg=0.1, init_std_dev=0.1, *, solver="cholesky", cg_steps=3,
                 dtype="float64", backend="auto", n_threads=None, random_state=None, verbose=False):
        self._init_als(n_factors, n_epochs, reg, solver, cg_steps, dtype)
        self.init_std_dev = check_nonnegative_float("init_std_dev", init_std_dev)
        self._init_common(backend, n_threads, random_state, verbose)

    def fit(self, dataset: Dataset, validation: Dataset | None = None, callback=None) -> "ALS":
        """Train ``n_epochs`` epochs from a fresh random initialisation.

        With ``verbose``, a ``callback`` or a ``validation`` set, every epoch records its training
        RMSE (and the RMSE on ``validation``, a Dataset with raw ids) in ``history_`` and on the
        progress bar; ``callback(epoch, model)`` is called after every epoch.
        """
        return self._fit_epochs(dataset, self.n_epochs, validation, callback, warm=False)

    def partial_fit(self, dataset: Dataset, n_epochs: int = 1, validation=None, callback=None) -> "ALS":
        """Train ``n_epochs`` more epochs from the current factors (a warm start).

        ``dataset`` must hold the same users and items, in the same inner order, as the data of
        the first fit. On an unfitted model this is ``fit`` with ``n_epochs`` epochs.
        """
        n_epochs = check_positive_int("n_epochs", n_epochs)
        warm = hasattr(self, "user_map_")
        if warm:
            if not isinstance(dataset, Dataset):
                raise TypeError(f"dataset must be a reckernels.Dataset, got {type(dataset).__name__}.")
            self._check_same_ids(dataset.user_ids, dataset.item_ids)
        return self._fit_epochs(dataset, n_epochs, validation, callback, warm=warm)

    def _fit_epochs(self, dataset, n_epochs, validation, callback, warm):
        if validation is not None and not isinstance(validation, Dataset):
            raise TypeError(f"validation must be a reckernels.Dataset, got {type(validation).__name__}.")
        self._check_callback(callback)
        self._run = (n_epochs, validation, callback, warm)
        try:
            return Estimator.fit(self, dataset)
        finally:
            del self._run

    def _fit(self, dataset):
        n_epochs, validation, callback, warm = self._run
        self._train(dataset.csr, dataset.csc, n_epochs, warm, validation, callback)

    def _initialise(self, n_users, n_items):
        rng = _rng(self.random_state)
        dtype = np.dtype(self.dtype)
        self.user_factors_ = rng.normal(0.0, self.init_std_dev, (n_users, self.n_factors)).astype(dtype)
        self.item_factors_ = rng.normal(0.0, self.init_std_dev, (n_items, self.n_factors)).astype(dtype)
        self.user_bias_ = np.zeros(n_users, dtype=dtype)
        self.item_bias_ = np.zeros(n_items, dtype=dtype)

    def _epoch(self, by_user, by_item):
        half = self._kernels.als_explicit_half
        P, Q, bu, bi = self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_
        opts = (self.solver, self.cg_steps, self.n_threads_)
        self._check_half(half(*by_user, self.global_mean_, Q, bi, self.reg, P, bu, *opts), "user", P, bu)
        self._check_half(half(*by_item, self.global_mean_, P, bu, self.reg, Q, bi, *opts), "item", Q, bi)

    def _monitor(self, by_user, validation):
        users = np.repeat(np.arange(by_user.n_rows, dtype=np.int32), by_user.row_lengths())
        est, _ = self._estimate(users, by_user.indices)
        record = {"train_rmse": float(np.sqrt(np.mean((est - by_user.data) ** 2)))}
        if validation is not None:
            pred = self.predict(validation.users, validation.items)
            record["val_rmse"] = float(np.sqrt(np.mean((pred - validation.ratings) ** 2)))
        return record

    def _estimate(self, users, items):
        est = baseline_estimate(self.global_mean_, self.user_bias_.astype(np.float64),
                                self.item_bias_.astype(np.float64), users, items)
        both = np.flatnonzero((users >= 0) & (items >= 0))
        for lo in range(0, len(both), _LOSS_CHUNK):
            rows = both[lo:lo + _LOSS_CHUNK]
            est[rows] += np.einsum("ij,ij->i", self.user_factors_[users[rows]].astype(np.float64),
                                   self.item_factors_[items[rows]].astype(np.float64))
        return est, np.zeros(len(est), dtype=bool)

    def _score(self, users):
        """mu + b_u + b_i + p_u . q_i for every item; an unknown user gets mu + b_i."""
        known = users >= 0
        scores = np.zeros((len(users), len(self.item_factors_)))
        scores[known] = self.user_factors_[users[known]] @ self.item_factors_.T
        scores[known] += self.user_bias_[users[known], None]
        scores += self.global_mean_ + self.item_bias_[None, :]
        return scores


@register
class ImplicitALS(_ALSModel):
    """Implicit-feedback ALS (Hu, Koren, Volinsky 2008) with conjugate gradient (Takacs et al. 2011).

    Train on a :class:`reckernels.Dataset` (its ratings are the interaction strengths r) or on
    a ``scipy.sparse`` users x items matrix. Confidence is ``1 + alpha * r`` (see the module
    docstring for how this relates to implicit's ``alpha``). Defaults follow implicit 0.7:
    100 factors, reg 0.01, 15 epochs, CG with 3 steps, float32.
    """

    predicts_ratings = False  # predict gives scores x_u . y_i, never clipped: rank with them, no RMSE

    _arrays = _ALSModel._arrays + ("item_popularity_",)

    def __init__(self, n_factors=100, n_epochs=15, reg=0.01, alpha=40.0, *, solver="cg", cg_steps=3,
                 dtype="float32", backend="auto", n_threads=None, random_state=None, verbose=False):
        self._init_als(n_factors, n_epochs, reg, solver, cg_steps, dtype)
        self.alpha = check_nonnegative_float("alpha", alpha)
        self._init_common(backend, n_threads, random_state, verbose)

    def fit(self, data, user_ids=None, item_ids=None, callback=None) -> "ImplicitALS":
        """Train ``n_epochs`` epochs from a fresh random initialisation.

        ``data`` is a Dataset, or a scipy.sparse matrix with one row per user and one column per
        item holding non-negative strengths (zeros are no interaction). For a matrix, row u is
        the user with raw id ``user_ids[u]`` (default: u itself) and column i the item
        ``item_ids[i]``. With ``verbose`` or a ``callback``, every epoch records implicit's
        normalised training loss in ``history_``; ``callback(epoch, model)`` runs after every epoch.
        """
        return self._fit_epochs(data, user_ids, item_ids, self.n_epochs, callback, warm=False)

    def partial_fit(self, data, n_epochs: int = 1, user_ids=None, item_ids=None, callback=None) -> "ImplicitALS":
        """Train ``n_epochs`` more epochs from the current factors (same users and items as the first fit)."""
        n_epochs = check_positive_int("n_epochs", n_epochs)
        return self._fit_epochs(data, user_ids, item_ids, n_epochs, callback, warm=hasattr(self, "user_map_"))

    def _fit_epochs(self, data, user_ids, item_ids, n_epochs, callback, warm):
        self._check_callback(callback)
        by_user, user_ids, item_ids = _implicit_input(data, user_ids, item_ids)
        if warm:
            self._check_same_ids(user_ids, item_ids)
        with self._transaction():
            return self._fit_implicit(by_user, user_ids, item_ids, n_epochs, callback, warm)

    def _fit_implicit(self, by_user, user_ids, item_ids, n_epochs, callback, warm):
        _bind_implicit(self, by_user, user_ids, item_ids, (0.0, 1.0))  # the preference scale; predict does not clip to it
        by_item = _transpose(by_user, len(item_ids))
        self.item_popularity_ = by_item.row_lengths().astype(np.float64)
        start = time.perf_counter()
        self._train(by_user, by_item, n_epochs, warm, None, callback)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _initialise(self, n_users, n_items):
        rng = _rng(self.random_state)
        dtype = np.dtype(self.dtype)
        self.user_factors_ = (rng.random((n_users, self.n_factors)) * 0.01).astype(dtype)
        self.item_factors_ = (rng.random((n_items, self.n_factors)) * 0.01).astype(dtype)

    def _epoch(self, by_user, by_item):
        half = self._kernels.als_implicit_half
        X, Y = self.user_factors_, self.item_factors_
        opts = (self.solver, self.cg_steps, self.n_threads_)
        self._check_half(half(*by_user, self.alpha, Y, self.reg, X, *opts), "user", X)
        self._check_half(half(*by_item, self.alpha, X, self.reg, Y, *opts), "item", Y)

    def _monitor(self, by_user, validation):
        return {"train_loss": implicit_loss(by_user, self.user_factors_, self.item_factors_, self.alpha, self.reg)}

    def _estimate(self, users, items):
        both = (users >= 0) & (items >= 0)
        est = np.zeros(len(users))
        est[both] = np.einsum("ij,ij->i", self.user_factors_[users[both]].astype(np.float64),
                              self.item_factors_[items[both]].astype(np.float64))
        return est, ~both

    def _score(self, users):
        """x_u . y_i for every item; an unknown user gets the items' popularity."""
        known = users >= 0
        scores = np.empty((len(users), len(self.item_factors_)))
        scores[known] = self.user_factors_[users[known]] @ self.item_factors_.T
        scores[~known] = self.item_popularity_
        return scores


def _bind_implicit(model, by_user: CSR, user_ids, item_ids, rating_scale) -> None:
    """Set on ``model`` what Estimator.fit sets for a Dataset, for either kind of implicit input."""
    model.backend_ = _backends.resolve(model.backend)
    model._kernels = _backends.get_backend(model.backend_)
    model.user_map_, model.item_map_ = IdMap(user_ids), IdMap(item_ids)
    model.rating_scale_ = rating_scale
    model.global_mean_ = 0.0
    model.seen_ = (by_user.indptr, by_user.indices)


def _implicit_input(data, user_ids, item_ids, model="ImplicitALS") -> tuple[CSR, np.ndarray, np.ndarray]:
    """(by-user CSR with float64 strengths and no zeros, user raw ids, item raw ids) from a Dataset or a scipy matrix.

    ``model`` is the estimator's name, for the error messages.
    """
    import scipy.sparse as sp

    if isinstance(data, Dataset):
        if user_ids is not None or item_ids is not None:
            raise ValueError("user_ids / item_ids are only for a scipy.sparse matrix; a Dataset carries its own ids.")
        csr = data.csr
        indptr, indices, values = csr.indptr, csr.indices, csr.data
        user_ids, item_ids = data.user_ids, data.item_ids
        name = "the Dataset's ratings"
    elif sp.issparse(data):
        if data.ndim != 2:
            raise ValueError(f"user_items must be a 2-d users x items matrix, got shape {data.shape}.")
        m = sp.csr_matrix(data)  # a copy for COO/CSC input; duplicates of a COO are summed
        if m.dtype.kind not in "iufb":
            raise TypeError(f"user_items must hold numbers, got dtype {m.dtype}.")
        m.sum_duplicates()
        n_users, n_items = m.shape
        user_ids = np.arange(n_users) if user_ids is None else _as_id_array(user_ids, "user_ids")
        item_ids = np.arange(n_items) if item_ids is None else _as_id_array(item_ids, "item_ids")
        for side, ids, n in (("user_ids", user_ids, n_users), ("item_ids", item_ids, n_items)):
            if len(ids) != n:
                raise ValueError(f"user_items has shape {m.shape} but {side} has {len(ids)} entries; "
                                 f"pass one id per {'row' if side == 'user_ids' else 'column'}.")
            if len(np.unique(ids)) != n:
                raise ValueError(f"{side} holds repeated ids; every row/column needs its own id.")
        indptr, indices, values = m.indptr, m.indices, m.data
        name = "user_items"
    else:
        raise TypeError(f"{model} trains on a reckernels.Dataset or a scipy.sparse users x items matrix, "
                        f"got {type(data).__name__}; for a dense array use scipy.sparse.csr_matrix(array).")
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{name} hold {int(bad.sum())} NaN or infinite value(s); strengths must be finite "
                         "numbers >= 0. Drop or fill them first.")
    if (values < 0).any():
        raise ValueError(f"{name} hold {int((values < 0).sum())} negative value(s) (the first: "
                         f"{values[values < 0][0]}); {model} needs interaction strengths >= 0.")
    keep = values != 0  # a zero strength means no interaction, as in a sparse matrix
    row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))[keep]
    new_indptr = np.zeros(len(indptr), dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=len(indptr) - 1), out=new_indptr[1:])
    if new_indptr[-1] == 0:
        raise ValueError(f"{name} hold no interaction (every strength is 0); there is nothing to learn from.")
    by_user = CSR(new_indptr, np.ascontiguousarray(indices[keep], dtype=np.int32),
                  np.ascontiguousarray(values[keep]))
    return by_user, user_ids, item_ids


def _transpose(csr: CSR, n_cols: int) -> CSR:
    """The same matrix by column (stable: each column lists its rows in increasing order)."""
    rows = np.repeat(np.arange(csr.n_rows, dtype=np.int32), csr.row_lengths())
    order = np.argsort(csr.indices, kind="stable")
    indptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(csr.indices, minlength=n_cols), out=indptr[1:])
    return CSR(indptr, np.ascontiguousarray(rows[order]), np.ascontiguousarray(csr.data[order]))


def implicit_loss(by_user: CSR, X: np.ndarray, Y: np.ndarray, alpha: float, reg: float) -> float:
    """implicit's normalised training loss of the HKV objective (as ``calculate_training_loss``).

    sum over all (u, i) of c_ui (p_ui - x_u.y_i)^2 + reg (|X|^2 + |Y|^2), divided by
    sum of c_ui over all pairs; the sum over the unobserved pairs comes from x_u^T (Y^T Y) x_u.
    """
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    loss = float(np.einsum("ij,jk,ik->", X64, Y64.T @ Y64, X64))  # every pair as if unobserved: (x.y)^2
    users = np.repeat(np.arange(by_user.n_rows, dtype=np.int32), by_user.row_lengths())
    for lo in range(0, len(users), _LOSS_CHUNK):
        u, i = users[lo:lo + _LOSS_CHUNK], by_user.indices[lo:lo + _LOSS_CHUNK]
        c = 1.0 + alpha * by_user.data[lo:lo + _LOSS_CHUNK]
        s = np.einsum("ij,ij->i", X64[u], Y64[i])
        loss += float(np.sum(c * (1.0 - s) ** 2 - s ** 2))
    loss += reg * (float(np.sum(X64 ** 2)) + float(np.sum(Y64 ** 2)))
    total_confidence = X.shape[0] * Y.shape[0] + alpha * float(by_user.data.sum())
    return loss / total_confidence
