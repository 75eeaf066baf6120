"""Counter-based random integers shared by the BPR and LMF kernels (vectorised NumPy form).

The k-th draw (k = 0, 1, ...) of the stream with key ``key`` in [0, n) is
``((mix64(key + (k + 1) * GAMMA) >> 32) * n) >> 32``: splitmix64 read at position k (a pure
function of (key, k)), its high 32 bits scaled to [0, n) by a multiply and a shift (Lemire's
reduction: no division, which would cost more than the rest of a draw; the bias is below
n / 2**32, and n < 2**32 is required). Keys come from ``sampling.user_key(seed, epoch, stream)``. Every compiled backend
computes the same expression, so a draw depends on the seed, the epoch, the stream (a row)
and the draw's position, never on the thread that makes it or on the order of the work.
"""

import numpy as np

from .sampling import GAMMA, user_key

__all__ = ["GAMMA", "user_key", "draws"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (NumPy's uint64 arithmetic wraps modulo 2**64)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def draws(key: int, start: int, count: int, n: int) -> np.ndarray:
    """Draws ``start .. start + count - 1`` of stream ``key``, each in [0, n) (n < 2**32), as int64."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    k = np.arange(start + 1, start + count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = _mix64(np.uint64(key) + k * np.uint64(GAMMA))
    return (((x >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)).astype(np.int64)
