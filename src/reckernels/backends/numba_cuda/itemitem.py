"""Item-item neighbourhood scores on the GPU: one thread per user row, no atomics.

Each thread owns its user's row of the score block in device memory and adds the products in
the user's stored order, as the CPU kernels do. On a GPU the compiler may fuse a product into
its sum (one rounding instead of two), so scores can differ from the CPU's in the last bit
(the contract test allows 1e-12); the simulator computes exactly as the reference."""

import numpy as np
from numba import cuda

from ..reference.itemitem import check_itemitem_args
from ._device import blocks_for, simulated


@cuda.jit
def _scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out):
    r = cuda.grid(1)
    if r >= out.shape[0]:
        return
    for j in range(out.shape[1]):
        out[r, j] = 0.0
    u = users[r]
    if u < 0:
        return
    for p in range(indptr[u], indptr[u + 1]):
        i = indices[p]
        w = data[p]
        for q in range(s_indptr[i], s_indptr[i + 1]):
            out[r, s_indices[q]] += s_data[q] * w


def itemitem_scores(indptr, indices, data, users, s_indptr, s_indices, s_data, out, n_threads=1):
    check_itemitem_args(indptr, indices, data, users, s_indptr, s_indices, s_data, out)
    if out.size == 0:
        return
    d = [cuda.to_device(np.ascontiguousarray(a, dtype=t)) for a, t in (
        (indptr, np.int64), (indices, np.int32), (data, np.float64), (users, np.int32),
        (s_indptr, np.int64), (s_indices, np.int32), (s_data, np.float64))]
    d_out = cuda.device_array(out.shape, dtype=np.float64)
    blocks, threads = blocks_for(out.shape[0], 16 if simulated() else 128)
    _scores[blocks, threads](*d, d_out)
    d_out.copy_to_host(out)
