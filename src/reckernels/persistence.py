"""Model files: one ``.npz`` holding the model's arrays plus a JSON metadata record.

Loading uses ``allow_pickle=False``, so a model file can never run code. The metadata names
the class, the file-format version and the library version; a file of another class, a newer
format, or a truncated/corrupt archive is refused with a message that says which.

Estimators also pickle (for joblib, Dask, process pools and ``surprise.dump``; see
:mod:`reckernels.algorithms.base`), but unpickling runs whatever code the bytes name: load a
pickle only from a trusted source. ``load`` below never unpickles, so it is the way to read a
model file from anywhere else.
"""

from __future__ import annotations

import json
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
_META_KEY = "__reckernels_meta__"
_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by name from a model file."""
    _REGISTRY[cls.__name__] = cls
    return cls


def write_model(path, meta: dict, arrays: dict[str, np.ndarray]) -> Path:
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # np.savez would add it silently; say it here
    bad = [k for k, a in arrays.items() if np.asarray(a).dtype == object]
    if bad:
        raise TypeError(f"cannot save object arrays {bad} without pickle; this is a bug in the model class.")
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:  # write then rename: a crash never leaves half a model under the real name
        np.savez(fh, **{_META_KEY: blob}, **arrays)
    tmp.replace(path)
    return path


def read_model(path) -> tuple[dict, dict[str, np.ndarray]]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if _META_KEY not in npz.files:
                raise ValueError(f"{str(path)!r} is an .npz file but not a reckernels model (no metadata record).")
            meta = json.loads(npz[_META_KEY].tobytes().decode("utf-8"))
            arrays = {k: npz[k] for k in npz.files if k != _META_KEY}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError, UnicodeDecodeError, NotImplementedError,
            RuntimeError, KeyError, OverflowError, MemoryError, zlib.error, struct.error, SyntaxError,
            tokenize.TokenError) as exc:
        # zipfile reports a damaged archive in many ways (a flipped compression-method byte raises
        # NotImplementedError, an encryption flag RuntimeError, a cut central directory KeyError);
        # numpy parses a damaged .npy header with tokenize, which raises TokenError past its own checks
        raise ValueError(
            f"model file {str(path)!r} is truncated or corrupt ({type(exc).__name__}: {exc}); save the model again."
        ) from None
    except ValueError as exc:
        if "reckernels" in str(exc):
            raise
        raise ValueError(f"model file {str(path)!r} could not be read without pickle ({exc}).") from None
    if not isinstance(meta, dict):
        raise ValueError(f"model file {str(path)!r} has a metadata record that is not a JSON object; it is damaged.")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"model file {str(path)!r} has format version {version!r}; this reckernels reads versions up to "
            f"{FORMAT_VERSION}. Upgrade reckernels (the file was written by {meta.get('library_version', '?')})."
        )
    return meta, arrays


def load(path, expected: type | None = None):
    """Load any reckernels model saved with ``.save(path)``; ``expected`` checks its class."""
    meta, arrays = read_model(path)
    name = meta.get("class")
    cls = _REGISTRY.get(name)
    if cls is None:
        # heavy models (TensorFlow) register themselves when their module is first imported,
        # which reckernels' lazy attribute does
        import reckernels

        if name in reckernels._LAZY:
            getattr(reckernels, name)
        cls = _REGISTRY.get(name)
    if cls is None:
        raise ValueError(f"model file {str(path)!r} holds an unknown model class {name!r}.")
    if expected is not None and not issubclass(cls, expected):
        raise TypeError(f"model file {str(path)!r} holds a {name} model, not a {expected.__name__}; "
                        f"load it with reckernels.load() or {name}.load().")
    return cls._from_saved(path, meta, arrays)


# ---------------------------------------------------------------------- checking a loaded file
# Every array of a model file is checked against the metadata before any kernel sees it. A model
# class declares its arrays once (``Estimator._file_spec``): name -> Arr(...) or CSR(...); shapes
# are written in symbols ("n_users", "n_items", a parameter such as "n_factors", or a free name such
# as "nnz" that binds to the first size seen and must then agree everywhere). ``check_arrays``
# checks them all; a mismatch raises ValueError naming the file and the array.

_INT_KINDS, _FLOAT_KINDS = "iu", "f"


class Arr:
    """One saved array: its dtype ("float64", "int32", ... ; "float"/"int" for any of the kind;
    "dtype" for the model's ``dtype`` parameter), its shape in symbols (a tuple of alternatives
    for one dimension, e.g. ``((0, "n_users"),)`` for "empty or one per user"), for integer arrays
    the range ``[lo, hi)`` of its values, whether floats must be finite, whether it may be absent."""

    def __init__(self, dtype, shape, *, lo=None, hi=None, finite=True, optional=False):
        self.dtype, self.shape, self.lo, self.hi = dtype, tuple(shape), lo, hi
        self.finite, self.optional = finite, optional


class CSR:
    """Three saved arrays ``<name>_indptr``, ``<name>_indices`` and (when ``data`` names a dtype)
    ``<name>_data`` of a compressed sparse matrix with ``rows`` rows and ``cols`` columns."""

    def __init__(self, rows, cols, data=None, *, indptr="int64", indices="int32", optional=False):
        self.rows, self.cols, self.data = rows, cols, data
        self.indptr, self.indices, self.optional = indptr, indices, optional


class _Dims:
    """Symbol -> size: the fixed ones, the model's integer parameters, then free names bound on first use."""

    def __init__(self, fixed: dict, model):
        self.values = dict(fixed)
        self.model = model

    def known(self, sym):
        if isinstance(sym, (int, np.integer)):
            return int(sym)
        if sym in self.values:
            return self.values[sym]
        value = getattr(self.model, sym, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        return None

    def match(self, spec, actual: int) -> bool:
        options = spec if isinstance(spec, tuple) else (spec,)
        for sym in options:
            value = self.known(sym)
            if value == actual:
                return True
        free = [s for s in options if isinstance(s, str) and self.known(s) is None]
        if free:
            self.values[free[0]] = int(actual)
            return True
        return False

    def describe(self, spec) -> str:
        options = spec if isinstance(spec, tuple) else (spec,)
        return " or ".join(f"{s}={self.known(s)}" if isinstance(s, str) else str(s) for s in options)


def _dtype_ok(want: str, dtype: np.dtype, model) -> bool:
    if want == "float":
        return dtype.kind in _FLOAT_KINDS
    if want == "int":
        return dtype.kind in _INT_KINDS
    if want == "dtype":
        want = model_dtype(model)
    return dtype == np.dtype(want)


def model_dtype(model) -> str:
    """The dtype of a model's fitted arrays: its ``_dtype()`` where the ``dtype`` parameter may be
    None (resolved per schedule, as SVD's), else the parameter, else float64."""
    resolve = getattr(model, "_dtype", None)
    if callable(resolve):
        return np.dtype(resolve()).name
    return getattr(model, "dtype", None) or "float64"


def check_arrays(path, spec: dict, arrays: dict, dims: _Dims) -> None:
    """Check ``arrays`` against ``spec`` (see :class:`Arr`, :class:`CSR`); ValueError on the first mismatch."""
    where = f"model file {str(path)!r}"
    for name, item in spec.items():
        if isinstance(item, CSR):
            _check_csr(where, name, item, arrays, dims)
        else:
            _check_one(where, name, item, arrays, dims)


def _check_one(where, name, item: Arr, arrays, dims) -> None:
    if name not in arrays:
        if item.optional:
            return
        raise ValueError(f"{where} lacks the array {name!r}; it is damaged or was written by another class.")
    a = arrays[name]
    if not _dtype_ok(item.dtype, a.dtype, dims.model):
        want = model_dtype(dims.model) if item.dtype == "dtype" else item.dtype
        raise ValueError(f"{where}: array {name!r} has dtype {a.dtype}, expected {want}; the file is damaged.")
    if a.ndim != len(item.shape) or not all(dims.match(s, n) for s, n in zip(item.shape, a.shape)):
        want = ", ".join(dims.describe(s) for s in item.shape)
        raise ValueError(f"{where}: array {name!r} has shape {a.shape}, expected ({want}) from the id maps and "
                         "parameters; the file is damaged or cut.")
    if a.dtype.kind in _FLOAT_KINDS and item.finite and a.size and not np.isfinite(a).all():
        raise ValueError(f"{where}: array {name!r} holds NaN or infinite values; the file is damaged.")
    if a.dtype.kind in _INT_KINDS and a.size and (item.lo is not None or item.hi is not None):
        lo = dims.known(item.lo) if item.lo is not None else None
        hi = dims.known(item.hi) if item.hi is not None else None
        if (lo is not None and a.min() < lo) or (hi is not None and a.max() >= hi):
            raise ValueError(f"{where}: array {name!r} holds values outside [{lo}, {hi}) (min {a.min()}, "
                             f"max {a.max()}); the file is damaged.")


def _check_csr(where, name, item: CSR, arrays, dims) -> None:
    if item.optional and f"{name}_indptr" not in arrays:
        return
    _check_one(where, f"{name}_indptr", Arr(item.indptr, (f"__{name}_rows_plus_1",)), arrays, dims)
    indptr = arrays[f"{name}_indptr"]
    n_rows = dims.known(item.rows)
    if n_rows is None:
        dims.values[item.rows] = n_rows = len(indptr) - 1
    if len(indptr) != n_rows + 1:
        raise ValueError(f"{where}: array {name + '_indptr'!r} has length {len(indptr)}, expected "
                         f"{item.rows}+1={n_rows + 1}; the file is damaged or cut.")
    _check_one(where, f"{name}_indices", Arr(item.indices, (f"__{name}_nnz",), lo=0, hi=item.cols), arrays, dims)
    nnz = len(arrays[f"{name}_indices"])
    if indptr[0] != 0 or indptr[-1] != nnz or (np.diff(indptr) < 0).any():
        raise ValueError(f"{where}: array {name + '_indptr'!r} is not a valid row pointer (it must start at 0, "
                         f"never decrease and end at {nnz}, the length of {name + '_indices'!r}); the file is damaged.")
    if item.data is not None:
        _check_one(where, f"{name}_data", Arr(item.data, (f"__{name}_nnz",)), arrays, dims)


def check_ids(path, name: str, ids: np.ndarray) -> None:
    """Raw ids: a 1-d array of integers or strings, without repeats."""
    if ids.ndim != 1 or ids.dtype.kind not in "iuU":
        raise ValueError(f"model file {str(path)!r}: array {name!r} must be a 1-d array of integer or string ids, "
                         f"got dtype {ids.dtype} and shape {ids.shape}; the file is damaged.")
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"model file {str(path)!r}: array {name!r} holds repeated ids; the file is damaged.")
