"""Long compiled calls cut into slices of a fraction of a second, so Ctrl-C stays prompt.

A compiled kernel keeps the interpreter until it returns, and CPython raises a pending
KeyboardInterrupt (SIGINT, Ctrl-C) only between bytecodes: one 700-second kernel call is 700
seconds of ignored Ctrl-C. The checked entry points of the cython and numba_cpu backends
therefore run a loop over independent rows (users, items, pairs, samples) as calls on
consecutive ranges, ``run_sliced(call, start, stop, indptr)``, and the interpreter raises the
KeyboardInterrupt between two of them; the estimator's fit transaction then puts the model back
(``Estimator._transaction``).

The ranges are sized by measured time, not by a guess per kernel: the first covers
``FIRST_WORK`` units of work (rows, or rows plus their CSR entries), each next one is scaled so a call
takes about ``SLICE_SECONDS`` (growing at most 8x a step). A call shorter than the first slice
runs as one call, so small inputs pay nothing; a long one pays one Python call and one thread
fork/join per ~0.1 s of work (well under 1%). Only loops whose rows are independent are sliced,
so the results are the same bits however they are cut (tests/test_interrupt.py checks it with
one-row slices against one call).
"""

from __future__ import annotations

import time

import numpy as np

#: target duration of one sliced call, seconds (Ctrl-C is answered within about this much)
SLICE_SECONDS = 0.1
#: work units of the first slice (a unit is one row, or one entry of ``cost``'s increments)
FIRST_WORK = 1 << 16  # entries of a similarity row pass, or ~1e7 flops of an ALS solve
#: the most a slice's budget may grow from one call to the next (timing noise on short calls)
MAX_GROWTH = 8.0
#: a run given a Pace starts from the budget its last run ended with, at most this many growth steps above FIRST_WORK
PACE_STEPS = 6


class Pace:
    """The slice budget the last run of one call site ended with (``run_sliced(..., pace=)``), where
    an epoch's passes are called again and again: the next epoch starts at about SLICE_SECONDS of
    work instead of FIRST_WORK, so an epoch shorter than that is one call per pass, at no cost.
    Only the sizes of the slices depend on it, never a result."""

    __slots__ = ("budget",)

    def __init__(self):
        self.budget = 0.0


def run_sliced(call, start: int, stop: int, indptr=None, per_row: float = 1.0, per_entry: float = 1.0,
               pace: Pace | None = None) -> list:
    """``call(lo, hi)`` on consecutive ranges covering [start, stop); returns the calls' results.

    Row r's work is ``per_row`` units plus, with ``indptr`` (a CSR row pointer covering rows
    start .. stop), ``per_entry`` units for each of its ``indptr[r + 1] - indptr[r]`` entries.
    Nothing is called for an empty range. With ``pace`` (a :class:`Pace` kept by the caller) the
    first slice is sized by the rate its previous run measured, and this run's is kept there.
    """
    start, stop = int(start), int(stop)
    if start >= stop:
        return []
    budget = float(FIRST_WORK)
    if pace is not None:
        budget = min(max(budget, pace.budget), budget * MAX_GROWTH ** PACE_STEPS)
    total = per_row * (stop - start) + (0.0 if indptr is None else per_entry * float(indptr[stop] - indptr[start]))
    if total <= budget:
        if pace is None:
            return [call(start, stop)]  # the common small case: one call, no cost array
        began = time.perf_counter()
        result = call(start, stop)
        _remember(pace, total, time.perf_counter() - began, budget)
        return [result]
    # cost[r - start]: the work of rows start .. r - 1
    cost = per_row * np.arange(stop - start + 1, dtype=np.float64)
    if indptr is not None:
        cost += per_entry * (np.asarray(indptr[start:stop + 1], dtype=np.float64) - float(indptr[start]))
    results = []
    lo = start
    while lo < stop:
        base = cost[lo - start]
        hi = start + int(np.searchsorted(cost, base + budget, side="right")) - 1
        hi = min(stop, max(lo + 1, hi))
        work = max(1e-9, cost[hi - start] - base)
        began = time.perf_counter()
        results.append(call(lo, hi))
        took = time.perf_counter() - began
        lo = hi
        # the next slice: the work done at this speed in SLICE_SECONDS, grown at most MAX_GROWTH-fold
        rate = work / max(took, 1e-6)
        budget = max(1e-9, min(rate * SLICE_SECONDS, max(budget, work) * MAX_GROWTH))
    if pace is not None:
        pace.budget = budget
    return results


def _remember(pace: Pace, work: float, took: float, budget: float) -> None:
    """A one-call run's rate, for the next run's first slice (grown at most MAX_GROWTH-fold)."""
    pace.budget = max(1e-9, min(work / max(took, 1e-6) * SLICE_SECONDS, max(budget, work) * MAX_GROWTH))


def score_row_work(indptr, s_indptr, n_cols: int) -> float:
    """The mean work of scoring one row against every column (in entries): its dense output row plus
    its average entries times the average length of the lists they expand into."""
    return float(n_cols) + mean_row_length(indptr) * max(1.0, mean_row_length(s_indptr))


def mean_row_length(indptr) -> float:
    """The mean number of entries per row of a CSR row pointer (0 for no rows)."""
    return float(indptr[-1] - indptr[0]) / (len(indptr) - 1) if len(indptr) > 1 else 0.0
