"""What ``reckernels info`` reports: the machine as the kernels see it.

A newcomer's first diagnostic: the CPU and the kernel clone it dispatches to, the OpenMP
runtime and thread count, the BLAS that NumPy uses and its threading, which backends run here
(and why not where one cannot), and which optional extras are installed. Nothing heavy is
imported to find out (TensorFlow, numba-cuda and Dask are looked up, not imported).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from importlib import metadata

from . import __version__
from . import backends as _backends


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what the platform module says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def kernel_dispatch() -> dict:
    """The compiled extension's view: clone targets, the clone this CPU gets, OpenMP."""
    try:
        from ._cy import runtime
    except ImportError as exc:
        return {"error": f"the compiled extension did not import ({exc})"}
    omp_version, omp_threads = runtime.openmp()
    return {"cpu_levels": runtime.cpu_levels(), "clone_targets": runtime.clone_targets(),
            "dispatched": runtime.dispatched_clone(), "openmp_version": omp_version, "omp_max_threads": omp_threads}


def blas() -> list[dict]:
    """The BLAS libraries loaded by NumPy/SciPy with their threading (threadpoolctl when installed)."""
    import numpy  # noqa: F401  (loads NumPy's BLAS so threadpoolctl can see it)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"internal_api": _numpy_blas_name(), "num_threads": None,
                 "note": "pip install threadpoolctl for the thread count"}]
    return [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]


def _numpy_blas_name() -> str:
    import numpy as np

    try:
        return str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"])
    except Exception:  # noqa: BLE001 - a diagnostic must not fail on an unusual NumPy build
        return "unknown"


def extras() -> dict[str, str | None]:
    """Installed version of each optional dependency (None when absent), found without importing it."""
    out = {}
    for extra, dist in (("deep", "tensorflow"), ("deep", "tensorflow-cpu"), ("cuda", "numba-cuda"),
                        ("dask", "dask"), ("dask", "distributed")):
        try:
            out[f"{dist} ({extra})"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[f"{dist} ({extra})"] = None
    return out


def report() -> str:
    import numpy as np

    lines = [f"reckernels {__version__}  python {sys.version.split()[0]}  numpy {np.__version__}  "
             f"numba {_version('numba')}  on {platform.system()} {platform.machine()}"]
    lines.append(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores, "
                 f"{_backends.default_threads(None)} usable by this process")
    k = kernel_dispatch()
    if "error" in k:
        lines.append(f"kernels: {k['error']}")
    else:
        if k["clone_targets"]:
            levels = ", ".join(f"{lvl} {'yes' if ok else 'no'}" for lvl, ok in k["cpu_levels"].items())
            lines.append(f"kernels: hot loops cloned for {' / '.join(k['clone_targets'])}; "
                         f"this CPU runs the {k['dispatched']} clone (supports {levels})")
        else:
            lines.append("kernels: compiled for the build's own target (no run-time CPU dispatch on this platform)")
        omp = f"OpenMP {k['openmp_version']}" if k["openmp_version"] else "no OpenMP (kernels run on one thread)"
        lines.append(f"threads: {omp}, omp_get_max_threads() = {k['omp_max_threads']}"
                     f"{', OMP_NUM_THREADS=' + os.environ['OMP_NUM_THREADS'] if 'OMP_NUM_THREADS' in os.environ else ''}; "
                     f"n_threads=None uses {_backends.default_threads(None)}")
    for lib in blas() or [{"internal_api": "none found"}]:
        desc = f"{lib.get('internal_api', '?')} {lib.get('version') or ''}".strip()
        extra = [f"{lib['num_threads']} threads" if lib.get("num_threads") else "",
                 f"threading layer {lib['threading_layer']}" if lib.get("threading_layer") else "",
                 f"core {lib['architecture']}" if lib.get("architecture") else "", lib.get("note", "")]
        lines.append(f"blas: {desc}" + "".join(f", {e}" for e in extra if e))
    for name, reason in _backends.diagnose().items():
        lines.append(f"  backend {name:<10} {'available' if reason is None else 'not available: ' + reason}")
    lines.append(f"  backend auto       -> {_backends.resolve('auto')}")
    lines.append("extras: " + ", ".join(f"{name} {ver or 'not installed'}" for name, ver in extras().items()))
    return "\n".join(lines)


def _version(module: str) -> str:
    if importlib.util.find_spec(module) is None:
        return "not installed"
    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return "?"
