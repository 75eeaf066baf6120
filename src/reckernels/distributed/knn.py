"""UserKNN / ItemKNN with their top-M similarity computed by row blocks on the Dask workers.

The rating matrix and its transpose are scattered to every worker once; each task runs the
backend's ``similarity_topm`` kernel on a contiguous range of rows and returns that range of
the (n_rows, M) neighbour arrays, which the client stitches together. Each row's neighbours
depend only on the data, so the result equals the local computation exactly. Everything else of
the fit (means, baselines, the choice of storage) runs as in a local fit; a model whose storage
resolves to dense (small data, no ``max_neighbors``) computes its dense matrix locally, since
the dense matrix itself must fit on the client.
"""

from __future__ import annotations

import numpy as np

from .. import backends as _backends
from ._cluster import n_workers

#: row blocks per worker: enough to even out rows of different cost
BLOCKS_PER_WORKER = 4


def _topm_rows(args, start, stop, kind, min_support, shrinkage, max_neighbors, dtype, backend, n_threads):
    """Rows [start, stop) of the top-M neighbour arrays (runs on a worker)."""
    from .als import _worker_threads

    module = _backends.get_backend(backend)
    n_rows = len(args[0]) - 1
    idx = np.empty((n_rows, max_neighbors), dtype=np.int32)  # the kernel indexes rows globally
    sim = np.empty((n_rows, max_neighbors), dtype=dtype)
    module.similarity_topm(*args, start, stop, kind, min_support, shrinkage, idx, sim, _worker_threads(n_threads))
    return idx[start:stop].copy(), sim[start:stop].copy()


def topm_runner(client, n_threads):
    """A ``compute_similarity(topm_runner=...)`` that spreads the row blocks over the cluster."""

    def run(args, bounds, kind, min_support, shrinkage, max_neighbors, dtype, backend):
        n_rows = bounds[-1]
        n_blocks = max(1, min(n_rows, BLOCKS_PER_WORKER * n_workers(client)))
        cuts = np.linspace(0, n_rows, n_blocks + 1).round().astype(np.int64)
        args_f = client.scatter([tuple(args)], broadcast=True)[0]  # one object, not one future per array
        futures = [client.submit(_topm_rows, args_f, int(lo), int(hi), kind, min_support, shrinkage, max_neighbors,
                                 dtype, backend, n_threads, pure=False)
                   for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo]
        parts = client.gather(futures)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return run
