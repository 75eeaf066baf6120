"""Finding the GPU, and moving arrays to and from it."""

import os

from numba import cuda


def simulated() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def ensure_available() -> None:
    from .. import BackendUnavailable

    if not cuda.is_available():
        raise BackendUnavailable(
            "backend='cuda' found no usable NVIDIA GPU (numba.cuda.is_available() is False). "
            "Install the driver and pip install 'reckernels[cuda]', or use backend='cython' / 'numba'. "
            "(NUMBA_ENABLE_CUDASIM=1 runs the kernels in numba's CPU simulator, for testing.)"
        )


def blocks_for(n: int, threads: int = 128) -> tuple[int, int]:
    """Grid for one thread per element: (blocks, threads per block)."""
    return max(1, (n + threads - 1) // threads), threads
