"""ALS and ImplicitALS trained on a Dask cluster, half-sweep by half-sweep (Spark MLlib's pattern).

Users and items are cut into contiguous row blocks, one or more per worker
(:mod:`reckernels.distributed.data`); a block's ratings stay on its worker for the whole fit.
Each half-sweep broadcasts the other side's factors (and biases) to every worker, each worker
solves its block's rows with the compiled ``als_explicit_half`` / ``als_implicit_half`` kernel
of the model's backend, and the new rows come back to the client, which holds the factors
between half-sweeps. A row's solve depends only on its own ratings and the other side's
factors, so the result equals a local fit's (the same initialisation, drawn on the client by
the model itself, and the same kernels): to rounding of the global mean, about 1e-12.

Shipped per half-sweep (W workers, k factors, b bytes per value, n_own / n_other the rows of the
side being solved / the other side): the broadcast ``W * n_other * (k + 1) * b`` plus the warm
starts out and the solved rows back, ``2 * n_own * (k + 1) * b``. The ratings never move after
the blocks are built.

A lost worker costs one half-sweep: the client still holds the factors, its blocks are
recomputed by Dask from their lineage (the DataFrame's partitions, or the broadcast Dataset),
and the half-sweep is submitted again on the workers left (up to ``max_retries`` times).
"""

from __future__ import annotations

import time

import numpy as np

from .. import backends as _backends
from ..algorithms.als import ALS, ImplicitALS
from ..data import CSR, IdMap

#: errors that mean "a worker went away", after which a half-sweep is submitted again
try:
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    _LOST = (KilledWorker, FutureCancelledError, CommClosedError, OSError)
except ImportError:  # pragma: no cover - distributed is checked by _cluster on import
    _LOST = (OSError,)


def _worker_threads(requested):
    """The model's n_threads, or on a worker the worker's own thread count (no oversubscription)."""
    if requested not in (None, -1):
        return int(requested)
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return _backends.default_threads(None)


def _implicit_block(csr: CSR) -> CSR:
    """A block's strengths checked (finite, >= 0) with the zeros dropped, as ImplicitALS.fit does."""
    bad = ~np.isfinite(csr.data)
    if bad.any():
        raise ValueError(f"the strengths hold {int(bad.sum())} NaN or infinite value(s); they must be finite numbers "
                         ">= 0. Drop or fill them first.")
    if (csr.data < 0).any():
        raise ValueError(f"the strengths hold {int((csr.data < 0).sum())} negative value(s); ImplicitALS needs "
                         "interaction strengths >= 0.")
    keep = csr.data != 0
    if keep.all():
        return csr
    rows = np.repeat(np.arange(len(csr.indptr) - 1), np.diff(csr.indptr))[keep]
    indptr = np.zeros(len(csr.indptr), dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(csr.indptr) - 1), out=indptr[1:])
    return CSR(indptr, np.ascontiguousarray(csr.indices[keep]), np.ascontiguousarray(csr.data[keep]))


def _solve_block(spec: dict, block: CSR, other, other_bias, own, own_bias):
    """Solve one block's rows (runs on a worker): (factors, bias or None, failed rows)."""
    kernels = _backends.get_backend(spec["backend"])
    own = np.array(own, copy=True)  # inputs may be shared with other tasks on this worker
    threads = _worker_threads(spec["n_threads"])
    if spec["implicit"]:
        failed = kernels.als_implicit_half(*block, spec["alpha"], other, spec["reg"], own, spec["solver"],
                                           spec["cg_steps"], threads)
        return own, None, int(failed)
    own_bias = np.array(own_bias, copy=True)
    failed = kernels.als_explicit_half(*block, spec["global_mean"], other, other_bias, spec["reg"], own, own_bias,
                                       spec["solver"], spec["cg_steps"], threads)
    return own, own_bias, int(failed)


def _row_counts(block: CSR) -> np.ndarray:
    return np.diff(block.indptr)


def _seen(block: CSR):
    return block.indptr, block.indices


def fit_als(model, blocked, client, *, callback=None, max_retries: int = 3):
    """Train ``model`` (ALS or ImplicitALS) on ``blocked`` ratings; returns the fitted model.

    Afterwards the model is an ordinary fitted reckernels model (predict, recommend, save,
    pickle), with ``history_`` holding one record per epoch and ``bytes_shipped_`` the bytes
    of factors sent per half-sweep (the model of the module docstring, as counted here).
    """
    implicit = isinstance(model, ImplicitALS)
    if not isinstance(model, (ALS, ImplicitALS)):
        raise TypeError(f"fit_als trains ALS or ImplicitALS, got {type(model).__name__}.")
    start = time.perf_counter()
    user_blocks, item_blocks = blocked.user_blocks, blocked.item_blocks
    if implicit:
        user_blocks = [client.submit(_implicit_block, b) for b in user_blocks]
        item_blocks = [client.submit(_implicit_block, b) for b in item_blocks]

    # what Estimator.fit sets, without a Dataset on the client
    model.backend_ = _backends.resolve(model.backend)
    model._kernels = _backends.get_backend(model.backend_)
    model.user_map_, model.item_map_ = IdMap(blocked.user_ids), IdMap(blocked.item_ids)
    if implicit:
        model.rating_scale_, model.global_mean_ = (0.0, 1.0), 0.0
        model.item_popularity_ = np.concatenate(client.gather([client.submit(_row_counts, b) for b in item_blocks]))
        model.item_popularity_ = model.item_popularity_.astype(np.float64)
    else:
        model.rating_scale_, model.global_mean_ = tuple(blocked.rating_scale), float(blocked.global_mean)
    seen = client.gather([client.submit(_seen, b) for b in user_blocks])
    offsets = np.cumsum([0] + [int(p[-1]) for p, _ in seen])
    model.seen_ = (np.concatenate([p[:-1] + off for (p, _), off in zip(seen, offsets)] + [offsets[-1:]]),
                   np.concatenate([i for _, i in seen]).astype(np.int32))

    model._initialise(blocked.n_users, blocked.n_items)  # the model's own RNG draw: the local fit's start
    model.history_, model.epochs_done_ = [], 0
    spec = {"backend": model.backend_, "n_threads": model.n_threads, "implicit": implicit, "reg": model.reg,
            "solver": model.solver, "cg_steps": model.cg_steps, "alpha": getattr(model, "alpha", 0.0),
            "global_mean": model.global_mean_}
    itemsize = np.dtype(model.dtype).itemsize
    k1 = model.n_factors + (0 if implicit else 1)
    model.bytes_shipped_ = {}
    for epoch in range(model.n_epochs):
        for side in ("user", "item"):
            rows_own = blocked.user_bounds if side == "user" else blocked.item_bounds
            blocks = user_blocks if side == "user" else item_blocks
            _half_sweep(model, client, spec, side, blocks, rows_own, max_retries)
            n_other = blocked.n_items if side == "user" else blocked.n_users
            n_own = blocked.n_users if side == "user" else blocked.n_items
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            model.bytes_shipped_[side] = int((workers * n_other + 2 * n_own) * k1 * itemsize)
        model.epochs_done_ += 1
        model.history_.append({"epoch": epoch})
        if callback is not None:
            callback(epoch, model)
    model.fit_time_ = time.perf_counter() - start
    return model


def _half_sweep(model, client, spec, side, blocks, bounds, max_retries):
    """Solve one side's rows on the workers; resubmitted when a worker is lost meanwhile."""
    implicit = spec["implicit"]
    if side == "user":
        own, other = model.user_factors_, model.item_factors_
        own_b, other_b = (None, None) if implicit else (model.user_bias_, model.item_bias_)
    else:
        own, other = model.item_factors_, model.user_factors_
        own_b, other_b = (None, None) if implicit else (model.item_bias_, model.user_bias_)
    for attempt in range(max_retries + 1):
        try:
            # scattered to one worker; Dask copies it to each worker whose blocks need it (a
            # broadcast scatter would wait for a worker that just died)
            other_f = client.scatter(other)
            other_bf = None if other_b is None else client.scatter(other_b)
            futures = [client.submit(_solve_block, spec, blk, other_f, other_bf, own[lo:hi],
                                     None if own_b is None else own_b[lo:hi], pure=False)
                       for blk, lo, hi in zip(blocks, bounds[:-1], bounds[1:])]
            results = client.gather(futures)
            break
        except _LOST:
            if attempt == max_retries:
                raise RuntimeError(f"{type(model).__name__}: the {side} half-sweep lost a worker {max_retries + 1} "
                                   "times in a row; check the cluster's health (memory, restarts) and fit again.")
    failed = sum(r[2] for r in results)
    for (lo, hi), (rows, bias, _) in zip(zip(bounds[:-1], bounds[1:]), results):
        own[lo:hi] = rows
        if bias is not None:
            own_b[lo:hi] = bias
    model._check_half(failed, side, own, *(() if own_b is None else (own_b,)))
