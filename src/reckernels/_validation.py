"""Argument checks shared by every public entry point.

Each check raises an exception whose message names the argument, says what was wrong and
what to do instead. The compiled kernels rely on these checks: they run without bounds
checking, so everything they index must have been validated here first.
"""

from __future__ import annotations

import numbers

import numpy as np


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def check_nonnegative_float(name: str, value) -> float:
    """Return ``value`` as a float, or raise if it is negative, NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a non-negative number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}.")
    return value


def check_choice(name: str, value, choices) -> str:
    """Raise unless ``value`` is one of ``choices`` (listed in the message)."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={value!r} is not a known option; choose one of {listed}.")
    return value


def check_fraction(name: str, value, *, one: bool = False, hint: str = "") -> float:
    """A number strictly between 0 and 1 (``one``: 1 allowed too); ``hint`` is added to the message."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not (0.0 < float(value) <= 1.0 if one else 0.0 < float(value) < 1.0)):
        span = "in (0, 1]" if one else "strictly between 0 and 1"
        raise ValueError(f"{name} must be a number {span}{hint}, got {value!r}.")
    return float(value)


def check_ratings(name: str, ratings: np.ndarray, rating_scale=None) -> np.ndarray:
    """Ratings as float64: finite, and inside ``rating_scale`` when one is declared."""
    r = np.asarray(ratings)
    if r.dtype.kind not in "iufb":
        try:
            r = r.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numeric; could not convert values of dtype {r.dtype}.") from None
    r = np.ascontiguousarray(r, dtype=np.float64)
    bad = ~np.isfinite(r)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first at position {pos} "
            f"({r[pos]}); drop or fill those rows before building the data set."
        )
    if rating_scale is not None and r.size:
        lo, hi = rating_scale
        out = (r < lo) | (r > hi)
        if out.any():
            pos = int(np.flatnonzero(out)[0])
            raise ValueError(
                f"{name} holds {int(out.sum())} value(s) outside rating_scale=({lo}, {hi}), the first at "
                f"position {pos} ({r[pos]}); fix the data or declare a wider rating_scale."
            )
    return r


def check_rating_scale(rating_scale) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in rating_scale)
    except (TypeError, ValueError):
        raise ValueError(f"rating_scale must be a pair (low, high), got {rating_scale!r}.") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"rating_scale must be finite with low <= high, got {rating_scale!r}.")
    return lo, hi


def check_1d(name: str, values) -> np.ndarray:
    """``values`` as an array that must be 1-d: one entry per rating (a column, not a table)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array with one value per rating, got shape {arr.shape}; "
                         f"pass one column (for example {name}[:, 0]) or build the data set with Dataset.from_pandas.")
    return arr


def id_kinds(values) -> dict[str, int]:
    """The kinds of the ids in an object array: "int", "float", "str" or a type's name -> how many."""
    kinds: dict[str, int] = {}
    for v in values:
        if isinstance(v, (bool, np.bool_)):
            kind = "bool"
        elif isinstance(v, (int, np.integer)):
            kind = "int"
        elif isinstance(v, (float, np.floating)):
            kind = "float"
        elif isinstance(v, str):
            kind = "str"
        else:
            kind = type(v).__name__
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def check_same_length(**arrays) -> int:
    """All arrays must have the same length; the message lists each one's length."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"arrays must have the same length: {desc}.")
    return next(iter(lengths.values())) if lengths else 0


def check_unknown_params(cls_name: str, given: dict, known) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(
            f"{cls_name} got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"known options are {', '.join(sorted(known))}."
        )
