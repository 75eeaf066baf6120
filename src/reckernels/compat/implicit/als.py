"""AlternatingLeastSquares with implicit 0.7's model, signature, defaults and results.

implicit's model (not reckernels.ImplicitALS's convention): the stored value of
``alpha * user_items`` is the confidence c itself (c > 0: liked with confidence c; c <= 0:
disliked with confidence |c|), unobserved pairs have confidence 1 and preference 0, and
regularisation is ``regularization * I`` (0 allowed). Factors start as implicit's
(``default_rng(random_state).random(...) * 0.01``, users then items) and a second fit() starts
from the current factors, as implicit's does.

Fitting runs reckernels' compiled half-sweep ``als_implicit_half`` (Cython with OpenMP, or the
CUDA kernel after to_gpu()) whenever it can express the system: it solves confidence
``1 + a * d``, so it gets ``a = 1, d = c - 1``; that needs every c > 0 for CG (implicit's default)
and c >= 1 for the exact solve. Other inputs (dislikes, small confidences with use_cg=False) and
``use_native=False`` use the vectorised NumPy solver of ``_als_solve``, which has implicit's
exact semantics. recalculate_user / partial_fit_* solve exactly from zero, as implicit does.
"""

from __future__ import annotations

import time

import numpy as np

from . import _common as C
from ._als_solve import solve_rows, training_loss
from ._mf import MatrixFactorizationBase
from ._tqdm import progress


def check_random_state(random_state):
    """implicit's: a numpy Generator from None, an int, a RandomState or a Generator."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    return np.random.default_rng(random_state)


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype} (float16 factors are not supported).")
    return dtype


def _number(name, value, minimum=0.0):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum}, got {value!r}.")
    return value


def _int(name, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


class AlternatingLeastSquares(MatrixFactorizationBase):
    """implicit.als.AlternatingLeastSquares on reckernels' kernels (see the module docstring).

    ``use_gpu=True`` computes with reckernels' cuda backend (a clear error where there is no GPU);
    the default is False, not "whether CUDA is there" as in implicit, so nothing is probed at
    construction. Attributes, methods and the .npz file have implicit's names.
    """

    _saved_params = ("regularization", "factors", "num_threads", "iterations", "use_native", "use_cg",
                     "cg_steps", "calculate_training_loss", "dtype", "random_state", "alpha", "use_gpu")

    def __init__(self, factors=100, regularization=0.01, alpha=1.0, dtype=np.float32, use_native=True,
                 use_cg=True, use_gpu=False, iterations=15, calculate_training_loss=False, num_threads=0,
                 random_state=None):
        super().__init__(num_threads=num_threads, use_gpu=use_gpu)
        self.factors = _int("factors", factors, 1)
        self.regularization = _number("regularization", regularization)
        self.alpha = _number("alpha", alpha)
        self.dtype = _check_dtype(dtype)
        self.use_native = bool(use_native)
        self.use_cg = bool(use_cg)
        self.iterations = _int("iterations", iterations, 0)
        self.calculate_training_loss = bool(calculate_training_loss)
        self.fit_callback = None
        self.cg_steps = 3
        self.random_state = random_state
        self._YtY = None
        self._XtX = None

    # ---------------------------------------------------------------- fitting
    def _confidences(self, user_items, name="user_items"):
        m = C.check_csr(user_items, name)
        C.check_values(m, name)
        data = m.data.astype(np.float32)
        if self.alpha != 1.0:
            data = (np.float32(self.alpha) * data).astype(np.float32)
        return m, data.astype(np.float64)

    def fit(self, user_items, show_progress=True, callback=None):
        """Factorize the users x items matrix of confidences (see the module docstring)."""
        import scipy.sparse as sp

        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable as callback(iteration, elapsed, loss).")
        rs = check_random_state(self.random_state)
        Cui, conf = self._confidences(user_items)
        n_users, n_items = Cui.shape
        if Cui.nnz and Cui.indices.max() >= n_items:
            raise ValueError("user_items has column indices beyond its shape.")
        Cui = sp.csr_matrix((conf, Cui.indices, Cui.indptr), shape=Cui.shape)
        Ciu = Cui.T.tocsr()
        if self.user_factors is None or self.user_factors.shape != (n_users, self.factors):
            self.user_factors = rs.random((n_users, self.factors), dtype=self.dtype) * np.asarray(0.01, self.dtype)
        if self.item_factors is None or self.item_factors.shape != (n_items, self.factors):
            self.item_factors = rs.random((n_items, self.factors), dtype=self.dtype) * np.asarray(0.01, self.dtype)
        self.user_factors = np.ascontiguousarray(self.user_factors, dtype=self.dtype)
        self.item_factors = np.ascontiguousarray(self.item_factors, dtype=self.dtype)
        self._invalidate()
        half = self._half_sweep(conf)
        by_user = _csr_arrays(Cui)
        by_item = _csr_arrays(Ciu)
        loss = None
        with progress(self.iterations, show_progress) as bar:
            for iteration in range(self.iterations):
                s = time.time()
                half(by_user, self.user_factors, self.item_factors)
                half(by_item, self.item_factors, self.user_factors)
                bar.update(1)
                if self.calculate_training_loss:
                    loss = training_loss(*by_user, self.user_factors, self.item_factors, self.regularization)
                    bar.set_postfix({"loss": loss})
                cb = callback or self.fit_callback
                if cb:
                    cb(iteration, time.time() - s, loss)
        self._invalidate()
        self._check_fit_errors()

    def _half_sweep(self, conf):
        """The solver for this input: the compiled kernel where it applies, else the NumPy one."""
        lowest = conf.min() if conf.size else 1.0
        compiled = self.use_native and (lowest > 0 if self.use_cg else lowest >= 1)
        reg, cg, steps = float(self.regularization), self.use_cg, self.cg_steps
        if not compiled:
            return lambda rows, X, Y: solve_rows(*rows, X, Y, reg, cg=cg, cg_steps=steps)
        kernel = C.kernels(self._backend).als_implicit_half
        solver, threads = ("cg" if cg else "cholesky"), self._threads

        def half(rows, X, Y):
            indptr, indices, c = rows
            failed = kernel(indptr, indices, c - 1.0, 1.0, Y, reg, X, solver, steps, threads)
            if failed:
                raise ValueError(f"the least-squares system of {failed} row(s) is not positive definite. "
                                 "Try increasing the regularization parameter.")
        return half

    # ---------------------------------------------------------------- recalculation
    def recalculate_user(self, userid, user_items):
        """Factors of userid (one id or an array) from their rows of user_items, solved exactly."""
        self._check_fitted()
        return self._recalculate(userid, user_items, self.item_factors, self.YtY, "user_items", "user")

    def recalculate_item(self, itemid, item_users):
        """Factors of itemid (one id or an array) from their rows of item_users, solved exactly."""
        self._check_fitted()
        return self._recalculate(itemid, item_users, self.user_factors, self.XtX, "item_users", "item")

    def _recalculate(self, ids, rows, other, gram, name, side):
        m, conf = self._confidences(rows, name)
        count = 1 if np.isscalar(ids) else len(ids)
        if m.shape[0] != count:
            raise ValueError(f"{name} should have one row for every {side} in {side}id: got {m.shape[0]} for {count}.")
        if m.shape[1] > other.shape[0]:
            raise ValueError(f"{name} has {m.shape[1]} columns but the model has {other.shape[0]} "
                             f"{'items' if side == 'user' else 'users'}; pass the {side}'s row of the "
                             f"{'users x items' if side == 'user' else 'items x users'} matrix.")
        out = np.zeros((count, self.factors), dtype=self.dtype)
        solve_rows(m.indptr, m.indices, conf, out, other, float(self.regularization), cg=False, YtY=gram)
        return out[0] if np.isscalar(ids) else out

    def partial_fit_users(self, userids, user_items):
        """Recompute (or add, growing the factors) the users userids from their rows of user_items."""
        self._check_fitted()
        userids = self._partial_ids(userids, user_items, "userids", "user_items")
        factors = self.recalculate_user(userids, user_items)
        self.user_factors = _grow(self.user_factors, int(userids.max()) + 1)
        self.user_factors[userids] = factors
        self._user_norms = None
        self._XtX = None

    def partial_fit_items(self, itemids, item_users):
        """Recompute (or add, growing the factors) the items itemids from their rows of item_users."""
        self._check_fitted()
        itemids = self._partial_ids(itemids, item_users, "itemids", "item_users")
        factors = self.recalculate_item(itemids, item_users)
        self.item_factors = _grow(self.item_factors, int(itemids.max()) + 1)
        self.item_factors[itemids] = factors
        self._item_norms = None
        self._YtY = None

    @staticmethod
    def _partial_ids(ids, rows, name, rows_name):
        ids = np.asarray(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu" or ids.size == 0 or ids.min() < 0:
            raise ValueError(f"{name} must be a non-empty 1-d array of ids >= 0, got {ids!r}.")
        if len(ids) != rows.shape[0]:
            raise ValueError(f"{rows_name} must contain 1 row for every id in {name}")
        return ids

    # ---------------------------------------------------------------- explain
    def explain(self, userid, user_items, itemid, user_weights=None, N=10):
        """(total score, top-N (itemid, contribution) list, user_weights) as implicit's explain."""
        import scipy.linalg

        self._check_fitted()
        N = C.check_n(N)
        m, conf = self._confidences(user_items)
        C.check_ids(userid, m.shape[0], "userid", "user_items matrix")
        C.check_ids(itemid, self.item_factors.shape[0], "itemid", type(self).__name__)
        lo, hi = m.indptr[userid], m.indptr[userid + 1]
        liked, c = m.indices[lo:hi], conf[lo:hi]
        if user_weights is None:
            Y = self.item_factors[liked].astype(np.float64)
            A = self.YtY.astype(np.float64) + self.regularization * np.eye(self.factors)
            A += (Y.T * (np.abs(c) - 1.0)) @ Y
            user_weights = scipy.linalg.cho_factor(A)
        weighted_item = scipy.linalg.cho_solve(user_weights, self.item_factors[itemid])
        keep = c >= 0
        liked, c = liked[keep], c[keep]
        scores = (self.item_factors[liked] @ weighted_item) * c
        total_score = float(scores.sum())
        order = np.lexsort((-liked, -scores))[:N]  # best first; equal scores: larger id first, as implicit's heap
        return total_score, [(int(liked[j]), float(scores[j])) for j in order], user_weights

    # ---------------------------------------------------------------- caches
    @property
    def YtY(self):
        if self._YtY is None:
            self._YtY = self.item_factors.T.dot(self.item_factors)
        return self._YtY

    @property
    def XtX(self):
        if self._XtX is None:
            self._XtX = self.user_factors.T.dot(self.user_factors)
        return self._XtX

    def _invalidate(self):
        super()._invalidate()
        self._YtY = self._XtX = None

    @property
    def solver(self):
        return "cg" if self.use_cg else "cholesky"


def _csr_arrays(m):
    """(int64 indptr, int32 indices, float64 confidences) as the kernels take them."""
    return (np.ascontiguousarray(m.indptr, dtype=np.int64), np.ascontiguousarray(m.indices, dtype=np.int32),
            np.ascontiguousarray(m.data, dtype=np.float64))


def _grow(factors, rows):
    if rows <= factors.shape[0]:
        return factors
    return np.concatenate([factors, np.zeros((rows - factors.shape[0], factors.shape[1]), dtype=factors.dtype)])


def calculate_loss(Cui, X, Y, regularization, num_threads=0):
    """implicit.cpu.als.calculate_loss on a CSR of confidences."""
    m = C.check_csr(Cui, "Cui")
    return training_loss(m.indptr, m.indices, m.data.astype(np.float64), X, Y, regularization)
