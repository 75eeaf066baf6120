"""Plain-Python bodies that both numba backends compile (njit on the CPU, a device function on CUDA).

``dot4_rows`` is reckernels.backends.reference.lmf's dot product: four lanes (column f in lane
f mod 4, each left to right), combined (lane 0 + lane 1) + (lane 2 + lane 3).
"""


def dot4_rows(X, r, Y, i, zero):
    """X[r] . Y[i] in four lanes, in the arrays' dtype (``zero`` is 0 of that dtype)."""
    K = X.shape[1]
    s0 = s1 = s2 = s3 = zero
    n4 = K - K % 4
    for f in range(0, n4, 4):
        s0 = s0 + X[r, f] * Y[i, f]
        s1 = s1 + X[r, f + 1] * Y[i, f + 1]
        s2 = s2 + X[r, f + 2] * Y[i, f + 2]
        s3 = s3 + X[r, f + 3] * Y[i, f + 3]
    if n4 < K:
        s0 = s0 + X[r, n4] * Y[i, n4]
    if n4 + 1 < K:
        s1 = s1 + X[r, n4 + 1] * Y[i, n4 + 1]
    if n4 + 2 < K:
        s2 = s2 + X[r, n4 + 2] * Y[i, n4 + 2]
    return (s0 + s1) + (s2 + s3)
