"""What every implicit drop-in shares: implicit's warning and error classes, input checks, top-k.

``ParameterWarning`` and ``ModelFitError`` subclass implicit's own classes when implicit is
installed, so code that filters or catches implicit's keeps working after the import swap; without
implicit they are plain ``Warning`` / ``Exception`` subclasses (this module never needs implicit).
"""

from __future__ import annotations

import importlib.util
import time
import warnings

import numpy as np

from ... import backends as _backends


def _implicit_class(name: str, fallback: type) -> type:
    if importlib.util.find_spec("implicit") is None:
        return fallback
    try:
        if name == "ModelFitError":
            from implicit.recommender_base import ModelFitError as cls
        else:
            from implicit.utils import ParameterWarning as cls
    except Exception:  # a broken implicit install must not break ours
        return fallback
    return cls


class ParameterWarning(_implicit_class("ParameterWarning", Warning)):
    """A parameter or input that works but is probably not what was meant (as implicit's)."""


class ModelFitError(_implicit_class("ModelFitError", Exception)):
    """Fitting produced NaN factors (as implicit's)."""


def check_csr(user_items, name: str = "user_items"):
    """A scipy CSR matrix of numbers; other sparse formats are converted with a ParameterWarning
    (as implicit does), dense arrays and other objects are refused."""
    import scipy.sparse as sp

    if not sp.issparse(user_items):
        raise TypeError(f"{name} must be a scipy.sparse matrix (users x items, CSR), got "
                        f"{type(user_items).__name__}; wrap a dense array with scipy.sparse.csr_matrix(array).")
    if not isinstance(user_items, sp.csr_matrix):
        start = time.time()
        converted = sp.csr_matrix(user_items)
        warnings.warn(f"Method expects CSR input, and was passed {type(user_items).__name__} instead. "
                      f"Converting to CSR took {time.time() - start} seconds", ParameterWarning, stacklevel=3)
        user_items = converted
    if user_items.ndim != 2:
        raise ValueError(f"{name} must be 2-d, got shape {user_items.shape}.")
    if user_items.dtype.kind not in "iufb":
        raise TypeError(f"{name} must hold numbers, got dtype {user_items.dtype}.")
    return user_items


def check_values(user_items, name: str = "user_items", allow_negative: bool = True, why: str = ""):
    """Refuse NaN / infinite entries always, negative ones where the model gives them no meaning."""
    data = user_items.data
    if data.dtype.kind == "f":
        bad = ~np.isfinite(data)
        if bad.any():
            raise ValueError(f"{name} holds {int(bad.sum())} NaN or infinite value(s); confidences must be finite. "
                             "Drop or fill them first (e.g. m.data = np.nan_to_num(m.data); m.eliminate_zeros()).")
    if not allow_negative and data.size and data.min() < 0:
        raise ValueError(f"{name} holds {int((data < 0).sum())} negative value(s) (the first: {data[data < 0][0]}); "
                         f"{why} Clip them (m.data = np.maximum(m.data, 0); m.eliminate_zeros()) or drop them.")


def check_n(N) -> int:
    if isinstance(N, (bool, np.bool_)) or not isinstance(N, (int, np.integer)):
        raise TypeError(f"N must be an int >= 1, got {N!r}.")
    if N < 1:
        raise ValueError(f"N must be >= 1 (the number of results to return), got {N}.")
    return int(N)


def check_ids(ids, n: int, what: str, model: str, hint: str = ""):
    """Scalar or 1-d int ids within [0, n); an IndexError that says which and why otherwise."""
    arr = np.asarray(ids)
    if arr.dtype.kind not in "iu" or arr.ndim > 1:
        raise TypeError(f"{what} must be an int or a 1-d array of ints, got {ids!r}.")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr[(arr < 0) | (arr >= n)].ravel()[0]
        raise IndexError(f"{what} {bad} is out of range: the fitted {model} has {n} {what.split('id')[0]}s "
                         f"(ids 0..{n - 1}).{hint}")
    return arr


def n_threads(num_threads) -> int:
    """implicit's num_threads (0 = every core) as a thread count."""
    return _backends.default_threads(None if not num_threads else int(num_threads))


def backend_name(use_gpu: bool) -> str:
    return "cuda" if use_gpu else "auto"


def kernels(backend: str):
    """The backend module (looked up on every call, never stored: models stay picklable)."""
    return _backends.get_backend(backend)


def check_gpu_kernel(backend: str, kernel: str, model: str) -> None:
    """A clear error where the cuda backend lacks a model's kernel (or there is no GPU at all)."""
    if backend == "cuda" and not hasattr(kernels("cuda"), kernel):
        raise _backends.BackendUnavailable(f"{model} has no CUDA kernel ({kernel}) in this reckernels build; "
                                           "use use_gpu=False (or to_cpu()).")


def topk(scores: np.ndarray, N: int, backend: str, threads: int, larger_first: bool = False):
    """implicit's top-k of every row of a dense score block: (int32 ids, scores in the block's dtype).

    Filtered entries are expected to hold ``-finfo(dtype).max`` already (they stay selectable, as in
    implicit, when N reaches them). N is at most the number of columns. Ties: smaller id first, or
    larger id first with ``larger_first`` (implicit's order wherever all the tied items are kept).
    """
    n_rows, n_cols = scores.shape
    N = min(N, n_cols)
    if n_rows == 0 or N == 0:
        return np.zeros((n_rows, N), np.int32), np.zeros((n_rows, N), scores.dtype)
    block = np.ascontiguousarray(scores[:, ::-1] if larger_first else scores, dtype=np.float64)
    dummy_users = np.zeros(n_rows, dtype=np.int32)
    no_seen = (np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int32))
    idx, val = kernels(backend).topk_rows(block, dummy_users, *no_seen, N, False, threads)
    if larger_first:
        idx = n_cols - 1 - idx
    return idx.astype(np.int32), val.astype(scores.dtype)


def set_rows_to(scores: np.ndarray, indptr, indices, value) -> None:
    """scores[r, indices of CSR row r] = value for every row r (vectorised)."""
    lengths = np.diff(indptr)
    if lengths.sum() == 0:
        return
    rows = np.repeat(np.arange(len(lengths)), lengths)
    scores[rows, indices[indptr[0]:indptr[-1]]] = value
