"""When the similarity kernels may sum in float32 and still get the float64 sums exactly.

The co-rated sums (count, Sx, Sy, Sxx, Syy, Sxy; msd: S(x-y)^2) are exact in float32 when every
rating is a multiple of 2^-e (whole or half stars, say) and no sum can exceed 2^24 units of
2^-2e: then each product and each partial sum is a float32 integer multiple of a power of two,
so float32 and float64 accumulation give the same numbers, in any order. The Cython kernels then
keep their per-pair sums in half the memory (kernels/similarity.pyx: rk_accumulate32).
"""

import numpy as np

_MAX_EXPONENT = 10  # ratings on a grid of 1/1024 at finest
_FLOAT32_INTEGERS = 2**24  # every integer below this is a float32
_CHUNK = 1 << 16  # values checked at a time: two 512 KB temporaries


def float32_exact_sums(indptr, data, kind: str) -> bool:
    """Whether every co-rated sum of the rows of the CSR (indptr, ., data) is exact in float32."""
    data = np.asarray(data)
    if data.size == 0:
        return True
    peak = max(abs(float(data.min())), abs(float(data.max())))
    if kind == "msd":
        peak *= 2  # |x - y| <= 2 max|r|
    max_common = int(np.diff(indptr).max())  # two rows share at most this many columns
    for e in range(_MAX_EXPONENT + 1):
        units = peak * 2**e  # the largest |value| counted in units of 2^-e
        if max_common * units * units >= _FLOAT32_INTEGERS:
            return False  # a finer grid only makes the sums larger
        if _on_grid(data, 2.0**e):
            return True
    return False


def _on_grid(data, scale) -> bool:
    for lo in range(0, len(data), _CHUNK):
        scaled = data[lo:lo + _CHUNK] * scale
        if not np.array_equal(scaled, np.round(scaled)):
            return False
    return True
