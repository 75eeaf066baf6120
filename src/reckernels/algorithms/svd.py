"""SVD and SVD++: matrix factorisation trained by SGD, with scikit-surprise's update rules.

``schedule`` chooses the epoch kernel. The defaults are the fast ones whose accuracy matches
the exact order (SVD: "blocked", SVD++: "hogwild", both in float32; on MovieLens 100K 5-fold
and the ML-1M prefix their test RMSE is within 0.002 of the exact schedule's, see
benchmarks/RESULTS.md); ``schedule="exact"`` is the order that reproduces scikit-surprise.

- ``"exact"`` is bit for bit scikit-surprise: it walks users in inner order and each user's
  ratings in data order, one rating at a time, in float64: SVD agrees with ``surprise.SVD``
  bit for bit given the same ``random_state``; SVD++ makes the same updates in the same order
  but keeps the current user's implicit sum incrementally (O(k) per rating instead of
  O(k |I_u|)), which changes only the rounding (agreement about 1e-12).
  reckernels.compat.surprise uses it by default.
- ``"blocked"`` (SVD's default) is the parallel LIBMF-style epoch: users and items are split
  into ``n_blocks`` ranges of consecutive inner ids each, holding about equal numbers of
  ratings (see ``block_of``), the ratings into the B x B cells, and the epoch runs B steps; in
  step s the cells (r, (r + s) % B) share no user and no item and run on parallel threads.
  Within a cell the ratings keep the data order with the cell's four quarters interleaved
  (see ``build_grid``), so that the CPU kernel can overlap four independent updates. The
  result depends on ``n_blocks`` only, never on the thread timing: the same ``n_blocks``
  gives the same numbers on any number of threads. ``n_blocks=None`` means 1 for one thread,
  else four times the thread count (``BLOCKS_PER_THREAD``; 256 on cuda, where each cell is one GPU
  thread), at most ``reckernels.backends.MAX_BLOCKS`` and the number of users or items: pass
  ``n_blocks`` to get the same numbers on machines with different core counts.
- ``"hogwild"`` (SVD++'s default) runs users on parallel threads, each user's ratings as in
  the exact epoch, updating the shared item parameters without locks (Hogwild, Recht et al.
  2011). With one thread it is the exact epoch (to rounding: the parallel kernel's dot
  products reassociate); with more, a concurrent update of a shared item is lost now and
  then, so results vary slightly from run to run. (A blocked SVD++ that defers the y_j
  updates to the end of the epoch was measured and rejected: its RMSE on MovieLens 100K was
  0.08 worse, because each popular item's y_j then takes hundreds of stale steps at once.)
  On cuda, ``n_threads`` is the number of concurrent GPU updaters (default 1024).

``dtype=None`` (default) is float32 for the parallel schedules (half the memory traffic and
twice the SIMD lanes) and float64 for the exact one; ``dtype="float64"`` makes a parallel
schedule compute in float64. ``dtype="float32"`` needs a parallel schedule: the exact one
reproduces scikit-surprise in float64.

Factors are exposed as ``user_factors_`` (pu), ``item_factors_`` (qi), ``user_bias_``,
``item_bias_`` (and ``implicit_factors_`` (yj) and ``user_implicit_`` = |I_u|^-1/2 sum y_j for
SVD++); row r belongs to inner id r, i.e. to raw id ``user_map_.raw_ids[r]`` /
``item_map_.raw_ids[r]``.

Unknown users or items get the partial baseline (global mean plus the known bias), as in
scikit-surprise; with ``biased=False`` an unknown user or item is impossible (the estimate is
the global mean and ``return_impossible`` marks it).
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

from .._validation import check_choice, check_nonnegative_float, check_positive_int
from ..data import Dataset
from .. import backends as _backends
from ..persistence import Arr, register
from .base import Estimator, IterativeModel
from .baseline import baseline_estimate

DTYPES = ("float64", "float32")
#: grid size on the GPU when n_blocks is None: concurrent updaters per step
CUDA_BLOCKS = 256
#: grid blocks per thread when n_blocks is None (CPU, more than one thread): each step's B cells go to
#: the threads as they finish, so more cells per thread even out their sizes, and smaller cells keep a
#: block's item rows in the core's L2. Measured (Zen 4, 2 threads, 100 float32 factors, kernel alone):
#: 10M synthetic ratings 46.6 M updates/s at 2 per thread, 52.5 at 4, 51.1 at 8, 41.0 at 16 (users
#: then rate too few items per cell to reuse their rows); the ML-1M prefix the same at 1 to 8 per thread
#: (its factors fit in L2 anyway). One thread keeps one block: its speed did not depend on B.
BLOCKS_PER_THREAD = 4
#: SVD++ Hogwild updaters on the GPU when n_threads is None
CUDA_UPDATERS = 1024


class _SGDModel(IterativeModel):
    """What SVD and SVD++ share: options, initialisation, the epoch loop, prediction, saving."""

    _parts = ("bu", "bi", "pu", "qi")  # the order of the lr / reg arrays the kernels take
    _schedules = ("exact",)
    biased = True

    def _init_sgd(self, n_factors, n_epochs, init_mean, init_std_dev, lr_all, reg_all, lrs, regs, schedule, dtype):
        self.n_factors = check_positive_int("n_factors", n_factors)
        self.n_epochs = check_positive_int("n_epochs", n_epochs)
        if isinstance(init_mean, bool) or not isinstance(init_mean, numbers.Real) or not np.isfinite(init_mean):
            raise ValueError(f"init_mean must be a finite number, got {init_mean!r}.")
        self.init_mean = init_mean
        self.init_std_dev = check_nonnegative_float("init_std_dev", init_std_dev)
        self.lr_all = check_nonnegative_float("lr_all", lr_all)
        self.reg_all = check_nonnegative_float("reg_all", reg_all)
        for prefix, values in (("lr", lrs), ("reg", regs)):
            for part, value in zip(self._parts, values):
                name = f"{prefix}_{part}"
                setattr(self, name, None if value is None else check_nonnegative_float(name, value))
        self.schedule = check_choice("schedule", schedule, self._schedules)
        self.dtype = None if dtype is None else check_choice("dtype", dtype, DTYPES)
        if dtype == "float32" and schedule == "exact":
            raise ValueError(f"dtype='float32' needs schedule={self._schedules[1]!r}; the exact schedule "
                             "reproduces scikit-surprise in float64.")

    def _dtype(self) -> np.dtype:
        """The factors' dtype: ``dtype``, or where it is None float64 for the exact schedule
        and float32 for a parallel one."""
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return np.dtype(np.float64 if self.schedule == "exact" else np.float32)

    def _rates(self):
        lr = [self.lr_all if getattr(self, f"lr_{p}") is None else getattr(self, f"lr_{p}") for p in self._parts]
        reg = [self.reg_all if getattr(self, f"reg_{p}") is None else getattr(self, f"reg_{p}") for p in self._parts]
        return np.array(lr), np.array(reg)

    # ------------------------------------------------------------------ fitting
    def fit(self, dataset: Dataset, validation: Dataset | None = None, callback=None) -> "_SGDModel":
        """Train ``n_epochs`` epochs from a fresh random initialisation.

        ``validation`` (a Dataset with raw ids) adds its RMSE to ``history_`` and to the
        progress bar after every epoch; ``callback(epoch, model)`` is called after every epoch.
        """
        return self._fit_epochs(dataset, self.n_epochs, validation, callback, warm=False)

    def partial_fit(self, dataset: Dataset, n_epochs: int = 1, validation=None, callback=None) -> "_SGDModel":
        """Train ``n_epochs`` more epochs, continuing from the current factors (a warm start).

        ``dataset`` must hold the same users and items, in the same inner order, as the data
        of the first fit (for example the same Dataset). On an unfitted model this is ``fit``
        with ``n_epochs`` epochs.
        """
        n_epochs = check_positive_int("n_epochs", n_epochs)
        warm = hasattr(self, "user_map_")
        if warm and not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a reckernels.Dataset, got {type(dataset).__name__}.")
        if warm and not (np.array_equal(dataset.user_ids, self.user_map_.raw_ids)
                         and np.array_equal(dataset.item_ids, self.item_map_.raw_ids)):
            raise ValueError("partial_fit needs the users and items of the first fit, in the same order; "
                             "call fit() to start over on different data.")
        return self._fit_epochs(dataset, n_epochs, validation, callback, warm=warm)

    def _fit_epochs(self, dataset, n_epochs, validation, callback, warm):
        if validation is not None and not isinstance(validation, Dataset):
            raise TypeError(f"validation must be a reckernels.Dataset, got {type(validation).__name__}.")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable as callback(epoch, model), got {callback!r}.")
        self._run = (n_epochs, validation, callback, warm)
        try:
            return Estimator.fit(self, dataset)
        finally:
            del self._run

    def _fit(self, dataset):
        n_epochs, validation, callback, warm = self._run
        dtype = self._dtype()
        # the epochs' fixed inputs (SVD: the grid) are built on a helper thread while the factors are
        # drawn, when the fit may use more than one core: both spend their time in NumPy loops that
        # release the GIL (about 10 of the 25 ms of a default fit that are not epochs, ML-1M prefix)
        prepared = _concurrently(lambda: self._prepare(dataset, dtype), self.n_threads_ > 1)
        if not warm:
            self._initialise(dataset, _rng(self.random_state))
            self.history_ = []
            self.epochs_done_ = 0
        self._prepared = prepared()  # for _epoch_runner, during this call only (as _run)
        try:
            epoch = self._epoch_runner(dataset, dtype)
        finally:
            del self._prepared
        with self._progress(n_epochs, "epochs") as bar:
            for e in range(n_epochs):
                loss = epoch()
                self._check_epoch(self.epochs_done_, loss,
                                  arrays=e == n_epochs - 1 or validation is not None or callback is not None)
                self.epochs_done_ += 1
                record = {"epoch": self.epochs_done_ - 1, "train_rmse": float(np.sqrt(loss / len(dataset)))}
                if validation is not None or callback is not None:
                    self._derive(dataset)
                if validation is not None:
                    est = self.predict(validation.users, validation.items)
                    record["val_rmse"] = float(np.sqrt(np.mean((est - validation.ratings) ** 2)))
                self.history_.append(record)
                bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
                bar.update(1)
                if callback is not None:
                    callback(record["epoch"], self)
        self._unpad()
        self._derive(dataset)

    def _check_epoch(self, epoch, loss=None, arrays=True) -> None:
        """The loss after every epoch, the arrays too where ``arrays`` (the run's last epoch, or when a
        callback or validation is about to see the model). Every epoch reads every parameter it updates
        again, in the error of a later rating (each epoch visits all ratings), so a NaN or infinity that
        an epoch leaves in the factors makes the next epoch's loss NaN or infinite: between epochs the
        loss alone tells, without the min and max over every factor (about 5% of a 20-epoch fit of 100
        factors on 390k ratings)."""
        if arrays or loss is None or not np.isfinite(loss):
            super()._check_epoch(epoch, loss)

    def _unpad(self) -> None:
        """After training: the fitted arrays as C-contiguous arrays of their own (the epochs may
        have run on padded rows, see ``padded_rows``; the factors were views of those meanwhile)."""
        for name in self._arrays:
            a = self.__dict__.get(name)
            if isinstance(a, np.ndarray) and not a.flags.c_contiguous:
                setattr(self, name, np.ascontiguousarray(a))

    def _initialise(self, dataset, rng):
        """Biases 0; factors N(init_mean, init_std_dev) drawn users first, then items (then y_j)."""
        dtype = self._dtype()
        self.user_bias_ = np.zeros(dataset.n_users, dtype=dtype)
        self.item_bias_ = np.zeros(dataset.n_items, dtype=dtype)
        shape_u, shape_i = (dataset.n_users, self.n_factors), (dataset.n_items, self.n_factors)
        self.user_factors_ = rng.normal(self.init_mean, self.init_std_dev, size=shape_u).astype(dtype)
        self.item_factors_ = rng.normal(self.init_mean, self.init_std_dev, size=shape_i).astype(dtype)

    def _derive(self, dataset) -> None:
        """State computed from the factors after training (SVD++: the users' implicit sums)."""

    def _prepare(self, dataset, dtype):
        """What the epochs need that does not depend on the parameters (``self._prepared`` in
        ``_epoch_runner``); None."""
        return None

    def _epoch_runner(self, dataset, dtype):
        raise NotImplementedError

    # ------------------------------------------------------------------ prediction
    def _user_vectors(self, users):
        return self.user_factors_[users]

    def _estimate(self, users, items):
        both = (users >= 0) & (items >= 0)
        dots = np.einsum("ij,ij->i", self._user_vectors(users[both]).astype(np.float64),
                         self.item_factors_[items[both]].astype(np.float64))
        if self.biased:
            est = baseline_estimate(self.global_mean_, self.user_bias_.astype(np.float64),
                                    self.item_bias_.astype(np.float64), users, items)
            est[both] += dots
            return est, np.zeros(len(est), dtype=bool)
        est = np.full(len(users), self.global_mean_)
        est[both] = dots
        return est, ~both

    def _score(self, users):
        known = users >= 0
        scores = np.empty((len(users), len(self.item_factors_)))
        scores[known] = self._user_vectors(users[known]) @ self.item_factors_.T
        if not self.biased:
            scores[~known] = self.global_mean_  # impossible: every item gets the fallback estimate
            return scores
        scores[known] += self.user_bias_[users[known], None]
        scores[~known] = 0.0
        scores += self.global_mean_ + self.item_bias_[None, :]
        return scores

    # ------------------------------------------------------------------ saving
    _arrays = ("user_bias_", "item_bias_", "user_factors_", "item_factors_")

    def _file_spec(self, meta):
        spec = {name: Arr("dtype", a.shape) for name, a in super()._file_spec(meta).items()}
        if "implicit_factors_" in self._arrays:
            spec["user_implicit_"] = Arr("dtype", ("n_users", "n_factors"))
        return spec


@register
class SVD(_SGDModel):
    """Biased matrix factorisation by SGD (Funk SVD as in Koren 2009), scikit-surprise's rule.

    r_ui = mu + b_u + b_i + q_i . p_u, learned by SGD over the training ratings with learning
    rates ``lr_*`` and regularisation ``reg_*`` (``lr_all`` / ``reg_all`` unless overridden per
    parameter). ``biased=False`` drops mu and the biases (probabilistic MF). Hyper-parameter
    defaults are scikit-surprise's. ``schedule`` is "blocked" (default: the parallel grid, in
    float32) or "exact" (bit for bit scikit-surprise, float64); see the module docstring for
    it, ``n_blocks`` and ``dtype``.
    """

    _schedules = ("exact", "blocked")

    def __init__(self, n_factors=100, n_epochs=20, biased=True, init_mean=0.0, init_std_dev=0.1, lr_all=0.005,
                 reg_all=0.02, lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None, reg_bu=None, reg_bi=None,
                 reg_pu=None, reg_qi=None, *, schedule="blocked", n_blocks=None, dtype=None, backend="auto",
                 n_threads=None, random_state=None, verbose=False):
        if not isinstance(biased, (bool, np.bool_)):
            raise TypeError(f"biased must be True or False, got {biased!r}.")
        self.biased = bool(biased)
        self._init_sgd(n_factors, n_epochs, init_mean, init_std_dev, lr_all, reg_all,
                       (lr_bu, lr_bi, lr_pu, lr_qi), (reg_bu, reg_bi, reg_pu, reg_qi), schedule, dtype)
        self.n_blocks = None if n_blocks is None else check_positive_int("n_blocks", n_blocks)
        self._init_common(backend, n_threads, random_state, verbose)

    def _grid_blocks(self) -> int:
        if self.n_blocks is not None:
            return self.n_blocks
        if self.backend_ == "cuda":
            return CUDA_BLOCKS
        return 1 if self.n_threads_ == 1 else BLOCKS_PER_THREAD * self.n_threads_

    def _prepare(self, dataset, dtype):
        if self.schedule == "exact":
            return None
        return build_grid(dataset.csr, _backends.bound_blocks(self._grid_blocks(), dataset.n_users, dataset.n_items),
                          dtype)

    def _epoch_runner(self, dataset, dtype):
        k, grid = self._kernels, self._prepared
        lr, reg = self._rates()
        mu = dataset.global_mean if self.biased else 0.0  # scikit-surprise drops mu when unbiased
        model = (self.user_bias_, self.item_bias_, self.user_factors_, self.item_factors_)
        if self.schedule == "exact":
            c = dataset.csr
            return lambda: k.svd_epoch(c.indptr, c.indices, c.data, mu, *model, lr, reg, self.biased)
        if self.backend_ in PADDED_BACKENDS:  # the kernels run on padded rows; the factors are views of them
            pu, qi = padded_rows(self.user_factors_), padded_rows(self.item_factors_)
            self.user_factors_, self.item_factors_ = pu[:, :self.n_factors], qi[:, :self.n_factors]
            model = (self.user_bias_, self.item_bias_, pu, qi)
        lr, reg, threads = lr.astype(dtype), reg.astype(dtype), self.n_threads_
        return lambda: k.svd_epoch_blocked(*grid, dtype.type(mu), *model, lr, reg, self.biased, threads)


@register
class SVDpp(_SGDModel):
    """SVD++ (Koren 2008): SVD plus implicit feedback, scikit-surprise's rule and defaults.

    r_ui = mu + b_u + b_i + q_i . (p_u + |I_u|^-1/2 sum_{j in I_u} y_j), where I_u are the
    items u rated. The exact schedule keeps the implicit sum of the current user up to date
    incrementally (see kernels/sgd.pyx), so an epoch costs O(k) per rating plus O(k) per rating
    once per user, instead of scikit-surprise's O(k |I_u|) per rating. ``schedule`` is
    "hogwild" (default: users on parallel threads, in float32; not reproducible run to run with
    more than one thread) or "exact" (scikit-surprise's order, float64); see the module
    docstring.
    """

    _parts = ("bu", "bi", "pu", "qi", "yj")
    _schedules = ("exact", "hogwild")
    _arrays = _SGDModel._arrays + ("implicit_factors_", "user_implicit_")

    def __init__(self, n_factors=20, n_epochs=20, init_mean=0.0, init_std_dev=0.1, lr_all=0.007, reg_all=0.02,
                 lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None, lr_yj=None, reg_bu=None, reg_bi=None,
                 reg_pu=None, reg_qi=None, reg_yj=None, *, schedule="hogwild", dtype=None, backend="auto",
                 n_threads=None, random_state=None, verbose=False):
        self._init_sgd(n_factors, n_epochs, init_mean, init_std_dev, lr_all, reg_all,
                       (lr_bu, lr_bi, lr_pu, lr_qi, lr_yj), (reg_bu, reg_bi, reg_pu, reg_qi, reg_yj), schedule,
                       dtype)
        self._init_common(backend, n_threads, random_state, verbose)

    def _initialise(self, dataset, rng):
        super()._initialise(dataset, rng)
        shape_i = (dataset.n_items, self.n_factors)
        self.implicit_factors_ = rng.normal(self.init_mean, self.init_std_dev, size=shape_i).astype(self._dtype())

    def _epoch_runner(self, dataset, dtype):
        k = self._kernels
        lr, reg = self._rates()
        c = dataset.csr
        model = (self.user_bias_, self.item_bias_, self.user_factors_, self.item_factors_, self.implicit_factors_)
        if self.schedule == "exact":
            return lambda: k.svdpp_epoch(c.indptr, c.indices, c.data, dataset.global_mean, *model, lr, reg)
        data = c.data.astype(dtype)
        updaters = self.n_threads_
        if self.backend_ == "cuda" and self.n_threads in (None, -1):
            updaters = CUDA_UPDATERS
        return lambda: k.svdpp_epoch_hogwild(c.indptr, c.indices, data, dtype.type(dataset.global_mean), *model,
                                             lr.astype(dtype), reg.astype(dtype), updaters)

    def _derive(self, dataset):
        self.user_implicit_ = implicit_sums(dataset.csr, self.implicit_factors_)

    def _user_vectors(self, users):
        return self.user_factors_[users] + self.user_implicit_[users]


#: backends whose parallel SGD kernels get factor rows padded to ``ROW_BYTES`` (the CPU ones: their
#: vector loops then have no partial last vector and no load or store splits a cache line; for 100
#: float32 factors the Cython cell ran about twice as fast on rows of 104)
PADDED_BACKENDS = ("cython", "numba")
ROW_BYTES = 32


def padded_rows(a: np.ndarray, row_bytes: int = ROW_BYTES) -> np.ndarray:
    """A copy of the 2-d array ``a`` whose rows are padded with zeros to a multiple of
    ``row_bytes`` bytes, the first row starting at a multiple of 64 bytes (so every row starts at a
    multiple of ``row_bytes``). The SGD update rules keep padding lanes at zero: they add products
    of the padding with the error, the other row's padding and the regularisation only."""
    n, k = a.shape
    per_row = max(row_bytes // a.itemsize, 1)
    width = -(-k // per_row) * per_row
    size = n * width * a.itemsize
    buf = np.zeros(size + 64, dtype=np.uint8)
    start = -buf.ctypes.data % 64
    out = buf[start:start + size].view(a.dtype).reshape(n, width)
    out[:, :k] = a
    return out


def implicit_sums(csr, yj) -> np.ndarray:
    """|I_u|^-1/2 * sum of y_j over the items u rated, for every user (0 for a user with none).

    The sum runs left to right in the CSR's order and is divided afterwards, as
    scikit-surprise's ``SVDpp.estimate`` computes it.
    """
    import scipy.sparse as sp

    n_users = len(csr.indptr) - 1
    indicator = sp.csr_matrix((np.ones(len(csr.indices), dtype=yj.dtype), csr.indices, csr.indptr),
                              shape=(n_users, len(yj)))
    counts = np.diff(csr.indptr)
    sums = np.asarray(indicator @ yj)
    return np.divide(sums, np.sqrt(counts)[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)


#: how many quarters of a cell the grid interleaves: the Cython kernel runs up to this many
#: consecutive ratings at once when they share no user and no item
INTERLEAVE = 4


def build_grid(csr, n_blocks, dtype, interleave=True):
    """(block_ptr, users, items, ratings) of the blocked schedule for a by-user CSR.

    Users and items go to B ranges of consecutive inner ids with about equal numbers of ratings
    (``block_of``: threads then write far-apart rows and biases, not neighbours sharing a cache
    line, and the cells of a step are about equally long); each cell keeps the CSR
    order (users in inner order, each user's ratings in data order), and with ``interleave``
    its four quarters then alternate (1st, 2nd, 3rd, 4th quarter's first rating, then their
    second ones, ...): four consecutive ratings then mostly share neither user nor item, which
    lets the Cython kernel run them together (the result is still that of this order, one
    rating after the other, on every backend).

    The compiled counting sort (kernels/sgd.pyx) builds it when the extension is there: the same
    arrays in 0.18-0.22 s instead of NumPy's 0.66-0.70 s on 10M ratings (B = 8), where it was the
    longest step before the first epoch (the factor draws beside it take 0.25 s); 6 ms instead of
    16 ms on the ML-1M prefix. ``numpy_grid`` otherwise, the definition the tests check it against.
    """
    c = csr
    user_block, item_block = row_blocks(c, n_blocks)
    try:
        from ..backends.cython.sgd import build_grid as compiled
    except ImportError:
        pass
    else:
        return compiled(c.indptr, c.indices, c.data, user_block, item_block, n_blocks,
                        INTERLEAVE if interleave else 1, dtype)
    return numpy_grid(c, user_block, item_block, n_blocks, dtype, interleave)


def row_blocks(csr, n_blocks):
    """(user_block, item_block): each user's and each item's block (``block_of`` their rating counts)."""
    n_items = int(csr.indices.max()) + 1 if len(csr.indices) else 0
    return (block_of(np.diff(csr.indptr), n_blocks),
            block_of(np.bincount(csr.indices, minlength=n_items), n_blocks))


def numpy_grid(c, user_block, item_block, n_blocks, dtype, interleave=True):
    """build_grid's arrays by NumPy's stable sort (the definition; see build_grid)."""
    users = np.repeat(np.arange(len(c.indptr) - 1, dtype=np.int32), np.diff(c.indptr))
    key = np.uint16 if n_blocks * n_blocks <= np.iinfo(np.uint16).max else np.int32  # n_blocks^2 < 2^31
    # 16-bit keys: NumPy's stable sort is then a radix sort, and the key arithmetic moves half the bytes
    cell = user_block.astype(key)[users] * key(n_blocks) + item_block.astype(key)[c.indices]
    order = np.argsort(cell, kind="stable")
    block_ptr = np.zeros(n_blocks * n_blocks + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=n_blocks * n_blocks), out=block_ptr[1:])
    if interleave:
        order = order[interleaved_positions(block_ptr, INTERLEAVE)]
    return (block_ptr, np.ascontiguousarray(users[order]), np.ascontiguousarray(c.indices[order]),
            np.ascontiguousarray(c.data[order], dtype=dtype))


def block_of(counts, n_blocks):
    """Block (0..B-1) of each row given its number of ratings: consecutive rows, the b-th block
    starting where the cumulative count reaches b/B of the total (int32)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = max(int(counts.sum()), 1)
    before = np.cumsum(counts) - counts  # ratings of the rows before this one
    return np.minimum(before * n_blocks // total, n_blocks - 1).astype(np.int32)


def interleaved_positions(block_ptr, ways):
    """For each position of the grid, the position it takes its rating from: each cell [lo, hi)
    is cut into ``ways`` consecutive parts (the first n % ways of them one longer) and position
    lo + r reads part r % ways at its (r // ways)-th place."""
    total = int(block_ptr[-1])
    it = np.int32 if total < np.iinfo(np.int32).max else np.int64  # 32-bit steps: half the memory traffic
    counts = np.diff(block_ptr).astype(it)
    lo = np.repeat(np.asarray(block_ptr[:-1]).astype(it), counts)
    size = np.repeat(counts, counts)
    r = np.arange(total, dtype=it) - lo
    if ways & (ways - 1) == 0:  # a power of two (the usual 4): shifts and masks instead of divisions
        shift = it(ways.bit_length() - 1)
        part = r & it(ways - 1)
        return lo + part * (size >> shift) + np.minimum(part, size & it(ways - 1)) + (r >> shift)
    part = r % ways
    # parts 0..j-1 hold j * (n // ways) ratings plus one for each of them below n % ways
    return lo + part * (size // ways) + np.minimum(part, size % ways) + r // ways


def _concurrently(fn, parallel: bool):
    """``fn()`` started on a helper thread when ``parallel`` (the caller does other work meanwhile),
    else called at once; returns a function that waits for fn's result (re-raising its exception)."""
    if not parallel:
        result = fn()
        return lambda: result
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller, who re-raises it
            box["error"] = exc

    thread = threading.Thread(target=run, name="reckernels-prepare", daemon=True)
    thread.start()

    def result():
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]
    return result


def _rng(random_state):
    """scikit-surprise's ``get_rng``: None -> NumPy's global RandomState, int -> RandomState(seed);
    a RandomState or Generator is used as it is."""
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.RandomState(random_state)
    return random_state
