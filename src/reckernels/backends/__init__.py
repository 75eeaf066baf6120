"""Backend registry: the same kernel functions in NumPy, Cython, Numba CPU and Numba CUDA.

``get_backend(name)`` returns the backend's module; every backend module exposes the same
functions with the same signatures (plain arrays in, arrays out, in-place where documented),
so an estimator picks a module once and calls through it. ``reference`` is the oracle every
other backend is tested against (tests/backends/).

``auto`` resolves to ``cython`` when the compiled extension is importable, else ``numba``,
else ``reference``. Cython is the default because it needs no JIT warm-up (numba compiles
each kernel on first use, ~1-3 s, cached on disk afterwards) and measured as fast or faster
on every kernel family so far (benchmarks/RESULTS.md). ``cuda`` is never chosen by ``auto``:
it has to be asked for.
"""

from __future__ import annotations

import importlib
import os
import warnings

BACKENDS = ("reference", "cython", "numba", "cuda")
CHOICES = BACKENDS + ("auto",)

_MODULES = {
    "reference": "reckernels.backends.reference",
    "cython": "reckernels.backends.cython",
    "numba": "reckernels.backends.numba_cpu",
    "cuda": "reckernels.backends.numba_cuda",
}


class BackendUnavailable(RuntimeError):
    """The backend exists but cannot run here (missing extension, package or GPU)."""


def _check_name(name: str) -> None:
    if name not in CHOICES:
        raise ValueError(f"backend={name!r} is not a known backend; choose one of {', '.join(map(repr, CHOICES))}.")


def resolve(name: str) -> str:
    """The concrete backend that ``name`` means here ("auto" picks the fastest available)."""
    _check_name(name)
    if name != "auto":
        return name
    for candidate in ("cython", "numba"):
        if is_available(candidate):
            return candidate
    return "reference"


def get_backend(name: str):
    """The module implementing backend ``name`` (after resolving "auto")."""
    name = resolve(name)
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError as exc:
        raise BackendUnavailable(_why_unavailable(name, exc)) from exc
    check = getattr(module, "ensure_available", None)
    if check is not None:
        check()
    return module


def _why_unavailable(name: str, exc: Exception) -> str:
    if name == "cython":
        return (f"backend='cython' needs the compiled extension reckernels._cy, which did not import ({exc}). "
                "Reinstall from a wheel or build it: pip install --no-build-isolation -e . (needs a C compiler); "
                "or use backend='numba'.")
    if name == "numba":
        return f"backend='numba' needs numba: pip install numba ({exc})."
    if name == "cuda":
        return f"backend='cuda' needs numba-cuda and an NVIDIA GPU: pip install 'reckernels[cuda]' ({exc})."
    return str(exc)


def is_available(name: str) -> bool:
    try:
        get_backend(name)
    except (BackendUnavailable, ImportError):
        return False
    return True


def available() -> dict[str, bool]:
    """Which concrete backends can run on this machine."""
    return {name: is_available(name) for name in BACKENDS}


def diagnose() -> dict[str, str | None]:
    """For each concrete backend: None where it can run here, else the reason it cannot
    (the message ``get_backend`` would raise)."""
    reasons = {}
    for name in BACKENDS:
        try:
            get_backend(name)
            reasons[name] = None
        except (BackendUnavailable, ImportError) as exc:
            reasons[name] = str(exc)
    return reasons


class ThreadCapWarning(RuntimeWarning):
    """n_threads asked for more threads than this process may run on; it was capped."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def default_threads(n_threads: int | None, *, warn: bool = True) -> int:
    """The thread count a kernel gets: ``None`` or ``-1`` means every core this process may use,
    and a larger count is capped to that, with a :class:`ThreadCapWarning`.

    This is the one place every estimator's thread count passes through (``Estimator.n_threads_``),
    Estimators warn once, when constructed, and cap silently afterwards (``warn=False``),
    so no kernel starts more threads than there are cores (10000 OpenMP threads fail to start) and
    per-thread buffers (a row of n_items scores, a k x k system) add up to at most cores x that.
    """
    cores = available_cores()
    if n_threads is None or n_threads == -1:
        return cores
    n = int(n_threads)
    if n > cores:
        if warn:
            warnings.warn(f"n_threads={n} is more than the {cores} core(s) this process may use; using {cores}.",
                          ThreadCapWarning, stacklevel=4)
        return cores
    return n


#: the most blocks per side of the parallel SGD grid: its B x B cell table (8 B^2 bytes of offsets)
#: stays under 8 MiB; more blocks than threads gain nothing anyway (LIBMF uses about 2 per thread)
MAX_BLOCKS = 1024


def bound_blocks(n_blocks: int, n_rows: int, n_cols: int) -> int:
    """``n_blocks`` capped at MAX_BLOCKS and at the smaller side of the matrix (a block needs a row)."""
    return max(1, min(int(n_blocks), MAX_BLOCKS, int(n_rows), int(n_cols)))


#: below this many inner-loop steps per thread a parallel region costs more than it saves
#: (measured: an ALS baseline sweep over 80k ratings took 2 ms on one thread and 0.4-0.6 s on
#: two threads of a loaded 2-core machine, where every OpenMP barrier waits for a time slice)
MIN_WORK_PER_THREAD = 250_000


def threads_for(work: int, n_threads: int) -> int:
    """How many of ``n_threads`` to use for a kernel call doing about ``work`` steps."""
    return max(1, min(int(n_threads), int(work) // MIN_WORK_PER_THREAD))

