"""Negative sampling for implicit feedback, written for clarity (the oracle of the compiled ones).

For every positive (u, i) of a CSR by user whose rows are sorted, draw ``n_negatives`` items
uniformly among the items u never interacted with. No rejection loop: a draw is a rank ``r``
in ``[0, n_items - len(row))`` and the r-th item missing from the row is found by binary
search, so a user who rated nearly everything costs no more than anyone else, and a user who
rated every item gets -1 (no negative exists) instead of a loop that never ends.

The random numbers are counter based (splitmix64's finaliser), keyed by (seed, epoch, user)
and the draw's position in the user's block, so the output does not depend on the thread
count or on the order users are processed; the three backends produce the same items.
"""

import numpy as np

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15  # splitmix64's increment (2^64 / golden ratio)


def mix64(z: int) -> int:
    """splitmix64's finaliser: a bijection of 64-bit integers that scrambles every bit."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def user_key(seed: int, epoch: int, user: int) -> int:
    """The key of one user's random stream in one epoch."""
    key = mix64((seed + GAMMA) & MASK64)
    key = mix64((key ^ ((epoch + 1) * GAMMA)) & MASK64)
    return mix64((key ^ ((user + 1) * GAMMA)) & MASK64)


def kth_missing(row: np.ndarray, r: int) -> int:
    """The r-th (from 0) integer >= 0 that is not in the strictly increasing array ``row``.

    ``row[k] - k`` counts the missing integers below ``row[k]`` and never decreases, so the
    answer is ``r + c`` with ``c`` the number of k for which ``row[k] - k <= r``.
    """
    lo, hi = 0, len(row)
    while lo < hi:
        mid = (lo + hi) // 2
        if row[mid] - mid <= r:
            lo = mid + 1
        else:
            hi = mid
    return r + lo


def check_sampling_input(indptr, indices, n_items, n_negatives, seed, epoch, out):
    """Validate what the unchecked compiled samplers index: lengths, ranges, sorted rows.

    O(nnz) and vectorised (a small fraction of the sampling itself, which does n_negatives
    binary searches per positive).
    """
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    if n_items < 0 or n_negatives < 1 or not 0 <= seed < 2**64 or not 0 <= epoch < 2**63:
        raise ValueError(f"need n_items >= 0, n_negatives >= 1, 0 <= seed < 2**64 and 0 <= epoch < 2**63; "
                         f"got {n_items}, {n_negatives}, {seed}, {epoch}.")
    if len(indptr) < 1 or indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must start at 0, never decrease and end at len(indices).")
    if len(out) != len(indices) * n_negatives:
        raise ValueError(f"out has length {len(out)}, expected len(indices) * n_negatives = "
                         f"{len(indices) * n_negatives}.")
    if len(indices):
        if indices.min() < 0 or indices.max() >= n_items:
            raise ValueError(f"item indices must lie in [0, n_items={n_items}).")
        steps = np.diff(indices)
        steps[indptr[1:-1][(indptr[1:-1] > 0) & (indptr[1:-1] < len(indices))] - 1] = 1  # row boundaries
        if np.any(steps <= 0):
            raise ValueError("indices must be strictly increasing within each row (sort each user's items, "
                             "without duplicates, before sampling).")


def sample_negatives(indptr, indices, n_items, n_negatives, seed, epoch, out, n_threads=1):
    """Fill ``out[p * n_negatives + j]`` with the j-th negative of the positive at CSR position p.

    ``indices`` must be strictly increasing within each row; ``out`` is int32 of length
    ``indptr[-1] * n_negatives``. Users who rated all ``n_items`` items get -1. ``n_threads``
    is part of the common signature; the reference runs serially.
    """
    check_sampling_input(indptr, indices, n_items, n_negatives, seed, epoch, out)
    for u in range(len(indptr) - 1):
        lo, hi = int(indptr[u]), int(indptr[u + 1])
        row = indices[lo:hi]
        n_free = n_items - (hi - lo)
        key = user_key(seed, epoch, u)
        for k in range((hi - lo) * n_negatives):
            if n_free <= 0:
                out[lo * n_negatives + k] = -1
                continue
            x = mix64((key + (k + 1) * GAMMA) & MASK64)
            out[lo * n_negatives + k] = kth_missing(row, x % n_free)
