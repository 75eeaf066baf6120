"""Run the CUDA kernels against the CPU ones on a real GPU; print agreement and speed.

    python benchmarks/gpu_check.py            # every section, a few minutes in all
    python benchmarks/gpu_check.py baseline   # one section

Each section lives in benchmarks/gpu/<name>.py and defines ``run(report)``; ``report`` prints
one aligned line per check. Must run on a machine with an NVIDIA GPU and numba-cuda, with
NUMBA_ENABLE_CUDASIM unset.
"""

import importlib
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def report(section, check, agree, cpu_s=None, gpu_s=None, note=""):
    speed = f"cpu {cpu_s:8.4f}s  gpu {gpu_s:8.4f}s  x{cpu_s / gpu_s:6.1f}" if cpu_s and gpu_s else ""
    print(f"{section:10s} {check:42s} max|diff|={agree:9.2e}  {speed}  {note}", flush=True)


def main(argv):
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        sys.exit("gpu_check needs a real GPU: unset NUMBA_ENABLE_CUDASIM")
    from numba import cuda

    if not cuda.is_available():
        sys.exit("no CUDA GPU found (numba.cuda.is_available() is False)")
    print(f"GPU: {cuda.get_current_device().name.decode() if isinstance(cuda.get_current_device().name, bytes) else cuda.get_current_device().name}; "
          f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", flush=True)
    sections = argv or sorted(p.stem for p in (HERE / "gpu").glob("*.py") if not p.stem.startswith("_"))
    for name in sections:
        start = time.perf_counter()
        importlib.import_module(f"gpu.{name}").run(report)
        print(f"{name}: {time.perf_counter() - start:.1f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
