"""splitmix64 on the GPU (the draws of reckernels.backends.reference._counter_rng), and a guard for the simulator.

Every constant is a uint64 so the arithmetic stays in uint64. In numba's CUDA simulator the
device code runs as Python on NumPy uint64 scalars, whose (intended) wrap-around warns:
``quiet_overflow`` silences that around a simulated launch (warning filters are process-wide,
so they reach the simulator's threads; NumPy's errstate would not).
"""

import warnings
from contextlib import contextmanager

import numpy as np
from numba import cuda

from ._device import simulated

GAMMA = np.uint64(0x9E3779B97F4A7C15)
ONE = np.uint64(1)
S32 = np.uint64(32)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


@cuda.jit(device=True, inline=True)
def mix64(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@contextmanager
def quiet_overflow():
    if not simulated():
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        yield
