"""The estimator contract every algorithm follows.

``fit(dataset) -> self``, ``predict(users, items)``, ``recommend(users, k)``, ``save(path)`` /
``load(path)``, ``get_params()`` / ``set_params()``. Subclasses implement three hooks on inner
ids: ``_fit(dataset)``, ``_estimate(users, items) -> (est, impossible)`` and, for ranking,
``_score(users) -> (n_users, n_items) scores``; plus ``_state()`` / ``_restore()`` for saving.
Unknown raw ids arrive at the hooks as -1.

Two ways to keep a model, for two jobs:

- ``save(path)`` / ``reckernels.load(path)``: an ``.npz`` archive plus JSON metadata, read with
  ``allow_pickle=False``, so loading a model file never runs code. Use it for model files.
- ``pickle`` (and joblib, Dask, ``surprise.dump``, process pools): every estimator, fitted or
  not, pickles. The backend's kernel module is not stored: ``__getstate__`` drops it and
  ``__setstate__`` looks it up again from ``backend_``. Every fitted array is a host NumPy
  array (the CUDA kernels copy their results back), so a model fitted with ``backend="cuda"``
  unpickles on a machine without a GPU too: it then warns (:class:`BackendFallbackWarning`)
  and predicts with the "auto" CPU backend, whose results agree with cuda's to rounding;
  ``backend`` keeps "cuda", so a refit there raises the usual "no GPU" error until
  ``set_params(backend="auto")``. The same holds for any backend missing where the model is
  loaded. Unpickling runs code chosen by whoever wrote the bytes: unpickle only data from a
  trusted source (``reckernels.load`` stays pickle-free for everything else).
"""

from __future__ import annotations

import inspect
import time
import warnings
from contextlib import contextmanager

import numpy as np

from .. import __version__
from .. import backends as _backends
from .._validation import check_choice, check_positive_int, check_unknown_params
from ..data import Dataset, IdMap
from ..persistence import CSR, FORMAT_VERSION, Arr, check_arrays, check_ids, write_model
from ..persistence import _Dims as _FileDims, load as _load_any


class NotFittedError(RuntimeError):
    """predict/recommend/save called before fit."""


class BackendFallbackWarning(RuntimeWarning):
    """A loaded model's backend cannot run here, so it runs on the "auto" CPU backend instead."""


class Estimator:
    """Base class: parameters, id mapping, clipping, batching, saving. See the module docstring."""

    #: rows of users scored at once by ``recommend`` (one dense block of block x n_items floats),
    #: fewer when such a block would take more than ``recommend_block_bytes``
    recommend_block = 1024
    recommend_block_bytes = 64 * 2**20
    #: whether ``predict`` estimates ratings on the data's scale (so RMSE and MAE measure it);
    #: False for models of implicit feedback, whose scores only rank items
    predicts_ratings = True
    #: pairs estimated at once by ``predict``: the raw -> inner id arrays and the model's
    #: temporaries are per chunk (about 100 bytes a pair), so 10M pairs need the output arrays
    #: plus about 100 MiB, not a copy of everything per step
    predict_chunk = 1 << 20
    #: whether fits raise FloatingPointError when training diverges (``_check_epoch``); the
    #: scikit-surprise drop-ins turn it off on their models, since scikit-surprise itself carries
    #: on with NaN estimates and its own tests expect that
    check_divergence = True

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    def get_params(self, deep: bool = False) -> dict:
        """The constructor arguments (so ``type(est)(**est.get_params())`` is an unfitted copy)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "Estimator":
        check_unknown_params(type(self).__name__, params, self._param_names())
        merged = {**self.get_params(), **params}
        self.__init__(**merged)  # re-run the constructor's checks on the new values
        return self

    def _init_common(self, backend, n_threads, random_state, verbose) -> None:
        check_choice("backend", backend, _backends.CHOICES)
        if n_threads is not None and n_threads != -1:
            check_positive_int("n_threads", n_threads)
            _backends.default_threads(n_threads)  # warns now if it will be capped to the cores
        if random_state is not None and not isinstance(random_state, (int, np.integer, np.random.Generator,
                                                                       np.random.RandomState)):
            raise TypeError(f"random_state must be None, an int or a numpy Generator, got {random_state!r}.")
        self.backend = backend
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ pickling
    #: attributes never pickled: the kernel module (looked up again on load) and the arguments
    #: of a fit in progress (``_run``, ``_fit_args``: a callback that pickles the model as a
    #: checkpoint must not need its own callback picklable); subclasses add their own
    #: unpicklable caches (compiled functions) to this tuple
    _unpicklable = ("_kernels", "_run", "_fit_args")

    def __getstate__(self) -> dict:
        """Everything but the kernel module (see the module docstring; pickles are trusted data only)."""
        return {k: v for k, v in self.__dict__.items() if k not in self._unpicklable}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "backend_" in state:  # fitted: the kernels of the backend it was fitted with, if it runs here
            self._kernels = self._kernels_for_loaded_model()

    def _kernels_for_loaded_model(self):
        """The kernel module of ``backend_``; the "auto" CPU backend, with a warning, when it cannot run here."""
        try:
            return _backends.get_backend(self.backend_)
        except _backends.BackendUnavailable as exc:
            fallback = _backends.resolve("auto")
            warnings.warn(
                f"this {type(self).__name__} was fitted with backend={self.backend_!r}, which cannot run here "
                f"({exc}); it predicts with backend={fallback!r} instead (its fitted arrays are NumPy arrays, so "
                f"the results agree to rounding). A refit still asks for backend={self.backend!r}: call "
                f"set_params(backend='auto') to refit on this machine.", BackendFallbackWarning, stacklevel=3)
            self.backend_ = fallback
            return _backends.get_backend(fallback)

    # ------------------------------------------------------------------ fitting
    def fit(self, dataset: Dataset) -> "Estimator":
        """Learn from ``dataset`` (a :class:`reckernels.Dataset`); returns ``self``."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a reckernels.Dataset, got {type(dataset).__name__}; build one with "
                            "Dataset.from_arrays, Dataset.from_pandas or reckernels.datasets.read_ratings.")
        with self._transaction():
            return self._fit_dataset(dataset)

    def _fit_dataset(self, dataset: Dataset) -> "Estimator":
        self.backend_ = _backends.resolve(self.backend)
        self._kernels = _backends.get_backend(self.backend_)
        self.user_map_ = dataset.user_map
        self.item_map_ = dataset.item_map
        self.rating_scale_ = dataset.rating_scale
        self.global_mean_ = dataset.global_mean
        self.seen_ = dataset.csr[:2]  # (indptr, indices): what each user rated, for exclude_seen
        start = time.perf_counter()
        self._fit(dataset)
        self.fit_time_ = time.perf_counter() - start
        return self

    @contextmanager
    def _transaction(self):
        """All or nothing: when a fit raises (an error, divergence, Ctrl-C), the estimator is put back
        as it was before, unfitted or at its previous fitted state, never half-updated. The fitted
        attributes are rebound by a fit, not changed in place (``_protect_arrays`` copies those a
        warm start would update in place), so keeping the old attribute dict is enough."""
        before = dict(self.__dict__)
        self._protect_arrays()
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _protect_arrays(self) -> None:
        """Copy the fitted arrays a warm-started fit updates in place (see IterativeModel)."""

    def _check_epoch(self, epoch: int, loss=None) -> None:
        """After every epoch of an iterative fit: see :func:`check_finite_epoch` (the fit's
        transaction then restores the estimator)."""
        if not self.check_divergence:
            return
        # the knobs are looked up only when an epoch diverged: get_params walks the signature
        def knobs():
            return {k: v for k, v in self.get_params().items()
                    if k.startswith(("lr", "learning_rate", "reg", "alpha")) and v is not None}
        arrays = {name: self.__dict__.get(name) for name in getattr(self, "_arrays", ())}
        check_finite_epoch(type(self).__name__, epoch, knobs, loss, arrays, getattr(self, "dtype", None))

    @property
    def n_threads_(self) -> int:
        # capped to the cores this process may use (a model unpickled on a smaller machine too)
        return _backends.default_threads(self.n_threads, warn=False)

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_map_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(dataset) first.")

    @contextmanager
    def _progress(self, total: int, desc: str):
        """A tqdm bar when verbose, else a no-op with the same interface."""
        if self.verbose:
            from tqdm.auto import tqdm

            with tqdm(total=total, desc=f"{type(self).__name__} {desc}", leave=False) as bar:
                yield bar
        else:
            yield _NoBar()

    # ------------------------------------------------------------------ prediction
    def predict(self, users, items, *, clip: bool = True, return_impossible: bool = False):
        """Estimated ratings (float64) for parallel arrays of raw user and item ids.

        Unknown users or items never raise: each model falls back as scikit-surprise does
        (global mean or partial baseline). ``return_impossible=True`` also returns a boolean
        array marking the rows whose estimate is such a fallback. Estimates are clipped to the
        rating scale (``clip``) only by models that predict ratings (``predicts_ratings``):
        the scores of implicit-feedback models are not ratings and are returned as they are.
        The pairs are mapped and estimated ``predict_chunk`` at a time, so the working memory
        beyond the output stays bounded however many pairs are asked for.
        """
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users))
        items = np.atleast_1d(np.asarray(items))
        if users.shape != items.shape or users.ndim != 1:
            raise ValueError(f"users and items must be 1-d arrays of the same length, got shapes "
                             f"{users.shape} and {items.shape}.")
        n, step = len(users), max(1, int(self.predict_chunk))
        est = np.empty(n, dtype=np.float64)
        impossible = np.empty(n, dtype=bool)
        for start in range(0, n, step):
            part = slice(start, start + step)
            u, i = self.user_map_.to_inner(users[part]), self.item_map_.to_inner(items[part])
            e, m = self._estimate(u, i)
            est[part], impossible[part] = e, m
        if clip and self.predicts_ratings:
            lo, hi = self.rating_scale_
            np.clip(est, lo, hi, out=est)
        return (est, impossible) if return_impossible else est

    def _inner_pairs(self, users, items) -> tuple[np.ndarray, np.ndarray]:
        """Inner ids (-1 = unknown) of parallel arrays of raw user and item ids, checked."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users))
        items = np.atleast_1d(np.asarray(items))
        if users.shape != items.shape or users.ndim != 1:
            raise ValueError(f"users and items must be 1-d arrays of the same length, got shapes "
                             f"{users.shape} and {items.shape}.")
        return self.user_map_.to_inner(users), self.item_map_.to_inner(items)

    def recommend(self, users, k: int = 10, *, exclude_seen: bool = True):
        """Top-k items for each raw user id: ``(ids, scores)``, both of shape (n_users, k).

        Items the user rated in training are left out when ``exclude_seen``. Equal scores are
        ordered by inner item id. Where fewer than k items remain, the trailing slots hold score
        -inf and id -1 (integer ids) or "" (string ids). Unknown users get the ranking of the
        model's cold-start estimate.
        """
        self._check_fitted()
        k = check_positive_int("k", k)
        inner = self.user_map_.to_inner(np.atleast_1d(np.asarray(users)))
        idx, scores = self._recommend_inner(inner, k, exclude_seen)
        ids = self.item_map_.raw_ids[np.maximum(idx, 0)]
        missing = ~np.isfinite(scores)
        if missing.any():
            ids = ids.copy()
            ids[missing] = "" if ids.dtype.kind == "U" else -1
        return ids, scores

    def _recommend_inner(self, users: np.ndarray, k: int, exclude: bool):
        """Score users block by block (``_score``) and select each row's top k with the backend's
        ``topk_rows`` kernel (seen items excluded, ties by smaller item id, -1 / -inf padding)."""
        n_items = len(self.item_map_)
        rows = max(1, min(self.recommend_block, self.recommend_block_bytes // max(1, 8 * n_items)))
        users = np.ascontiguousarray(users, dtype=np.int32)
        out_idx = np.empty((len(users), k), dtype=np.int64)
        out_scores = np.empty((len(users), k))
        for start in range(0, len(users), rows):
            block = users[start:start + rows]
            # a C-ordered copy that is ours: topk_rows overwrites the seen items with -inf
            scores = np.array(self._score(block), dtype=np.float64, order="C", copy=True)
            idx, val = self._kernels.topk_rows(scores, block, *self.seen_, k, exclude, self.n_threads_)
            out_idx[start:start + len(block)] = idx
            out_scores[start:start + len(block)] = val
        return out_idx, out_scores

    # hooks ------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        raise NotImplementedError

    def _estimate(self, users: np.ndarray, items: np.ndarray):
        raise NotImplementedError

    def _score(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not rank items")

    # ------------------------------------------------------------------ saving
    def save(self, path):
        """Write the fitted model to ``path`` (.npz + JSON metadata); returns the path written."""
        self._check_fitted()
        meta_extra, arrays = self._state()
        params = {k: v for k, v in self.get_params().items()
                  if not isinstance(v, (np.random.Generator, np.random.RandomState))}
        meta = {
            "class": type(self).__name__, "format_version": FORMAT_VERSION, "library_version": __version__,
            "params": _jsonable(params), "rating_scale": list(self.rating_scale_),
            "global_mean": self.global_mean_, "backend_": self.backend_, **meta_extra,
        }
        base = {"user_ids": self.user_map_.raw_ids, "item_ids": self.item_map_.raw_ids,
                "seen_indptr": self.seen_[0], "seen_indices": self.seen_[1]}
        return write_model(path, meta, {**base, **{f"m_{k}": v for k, v in arrays.items()}})

    @classmethod
    def load(cls, path):
        """Load a model saved by ``save``; raises if the file holds another class."""
        return _load_any(path, expected=cls)

    @classmethod
    def _from_saved(cls, path, meta: dict, arrays: dict):
        """Rebuild a model from a file's metadata and arrays, checking every array first (see
        ``_file_spec``): a damaged or tampered file raises ValueError naming the file and the part."""
        where = f"model file {str(path)!r}"
        try:
            params = meta["params"]
            if not isinstance(params, dict):
                raise ValueError(f"{where}: its 'params' record is not a JSON object; the file is damaged.")
            est = cls(**params)
            check_ids(path, "user_ids", arrays["user_ids"])
            check_ids(path, "item_ids", arrays["item_ids"])
            scale, mean = meta["rating_scale"], meta["global_mean"]
            # the scale of a model that only ranks may be (-inf, inf): its scores are never clipped
            if (not isinstance(scale, list) or len(scale) != 2 or not all(_number(v) for v in scale)
                    or not scale[0] <= scale[1] or not _finite_number(mean)):
                raise ValueError(f"{where}: its rating_scale {scale!r} or global_mean {mean!r} is not valid "
                                 "(two numbers lo <= hi, and a finite number); the file is damaged.")
            model = {k[2:]: v for k, v in arrays.items() if k.startswith("m_")}
            dims = _FileDims({"n_users": len(arrays["user_ids"]), "n_items": len(arrays["item_ids"])}, est)
            check_arrays(path, {"seen": CSR("n_users", "n_items")}, arrays, dims)
            est.user_map_ = IdMap(arrays["user_ids"])
            est.item_map_ = IdMap(arrays["item_ids"])
            check_arrays(path, est._file_spec(meta), model, dims)
            est.seen_ = (arrays["seen_indptr"], arrays["seen_indices"])
            est.rating_scale_ = tuple(float(v) for v in scale)
            est.global_mean_ = float(mean)
            est.backend_ = _backends.resolve(est.backend)
            est._kernels = est._kernels_for_loaded_model()
            try:
                est._restore(meta, model)
            except (KeyError, ValueError, TypeError):
                raise
            except Exception as exc:  # an opaque payload (a Keras archive) that its own reader refused
                raise ValueError(f"{where}: its {cls.__name__} payload could not be restored "
                                 f"({type(exc).__name__}: {exc}); the file is damaged.") from exc
        except KeyError as exc:
            raise ValueError(f"{where} lacks the entry {exc}; it is damaged or was not "
                             f"written by {cls.__name__}.save().") from None
        except ValueError as exc:
            if where in str(exc):
                raise
            raise ValueError(f"{where} is inconsistent: {exc}") from exc
        except (TypeError, AttributeError, IndexError, OverflowError) as exc:
            # the metadata is JSON anyone can edit: a wrong type anywhere is a damaged file, not a bug to crash on
            raise ValueError(f"{where} is inconsistent ({type(exc).__name__}: {exc}); it is damaged or was not "
                             f"written by {cls.__name__}.save().") from exc
        return est

    def _file_spec(self, meta: dict) -> dict:
        """name -> :class:`reckernels.persistence.Arr` / ``CSR`` of the arrays ``_state`` saves, checked
        by ``load`` before ``_restore`` sees them. The default asks only that every float array be
        finite; model classes declare their shapes (in n_users, n_items and their parameters)."""
        return {}

    def _state(self) -> tuple[dict, dict]:
        """(JSON-able metadata, name -> array) of the fitted model beyond what the base saves."""
        raise NotImplementedError

    def _restore(self, meta: dict, arrays: dict) -> None:
        raise NotImplementedError


class IterativeModel(Estimator):
    """Base of the models trained epoch by epoch (SGD, ALS): saves the fitted arrays named in
    ``_arrays`` plus ``epochs_done_`` and the per-epoch ``history_``."""

    _arrays: tuple = ()

    def _protect_arrays(self):
        for name in self._arrays:
            a = self.__dict__.get(name)
            if isinstance(a, np.ndarray):
                setattr(self, name, a.copy())


    def _state(self):
        return ({"epochs_done": self.epochs_done_, "history": self.history_},
                {name: getattr(self, name) for name in self._arrays})

    def _file_spec(self, meta):
        """By naming convention, unless a class declares more: ``user_*`` rows are users, ``item_*`` and
        ``implicit_*`` rows are items; ``*factors*`` are 2-d with ``n_factors`` columns, ``*bias*`` 1-d."""
        spec = {}
        for name in self._arrays:
            rows = ("n_users" if name.startswith("user_") else
                    "n_items" if name.startswith(("item_", "implicit_")) else f"__{name}_rows")
            if "factors" in name:
                spec[name] = Arr("float", (rows, "n_factors" if hasattr(self, "n_factors") else f"__{name}_cols"))
            elif "bias" in name:
                spec[name] = Arr("float", (rows,))
        return spec

    def _restore(self, meta, arrays):
        for name in self._arrays:
            setattr(self, name, arrays[name])
        self.epochs_done_ = int(meta["epochs_done"])
        self.history_ = list(meta["history"])


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass


def check_finite_epoch(owner: str, epoch: int, knobs: dict, loss=None, arrays=None, dtype=None) -> None:
    """Raise FloatingPointError when an epoch's loss or any of ``arrays`` (name -> array) became NaN or
    infinite, naming the learning rates and regularisation (``knobs``) to change. Cheap: one min and
    one max per array, against an epoch that touches every rating."""
    bad = "the training loss" if loss is not None and not np.isfinite(loss) else None
    for name, a in () if bad else (arrays or {}).items():
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size \
                and not (np.isfinite(a.min()) and np.isfinite(a.max())):
            bad = name
            break
    if bad is None:
        return
    knobs = knobs() if callable(knobs) else knobs  # a callable is evaluated only on failure
    listed = ", ".join(f"{k}={v!r}" for k, v in knobs.items()) or "its parameters"
    # the usual causes, not one blamed: a step too large for the data, too little regularisation, or
    # data of a huge scale (LMF's gradients grow with the interaction strengths, SGD's with the ratings)
    raise FloatingPointError(
        f"{owner} diverged in epoch {epoch}: {bad} became NaN or infinite. The updates grew without bound: the "
        f"learning rate is too large or the regularisation too small for this data, or the input's values are of "
        f"a very large scale (ratings, or interaction strengths / confidences far above 1): lower the learning "
        f"rate or raise the regularisation ({listed}), or rescale the input (e.g. log1p of the strengths)"
        + (", or use dtype='float64'." if dtype == "float32" else "."))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not np.isnan(value)


def _finite_number(value) -> bool:
    return _number(value) and bool(np.isfinite(value))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def clone(estimator: Estimator) -> Estimator:
    """An unfitted copy with the same parameters."""
    return type(estimator)(**estimator.get_params())
