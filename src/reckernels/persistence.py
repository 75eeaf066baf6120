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
import zipfile
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
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"model file {str(path)!r} is truncated or corrupt ({type(exc).__name__}: {exc}); save the model again."
        ) from None
    except ValueError as exc:
        if "reckernels" in str(exc):
            raise
        raise ValueError(f"model file {str(path)!r} could not be read without pickle ({exc}).") from None
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
