"""Bounded stress on every model in REGISTRY: concurrent predict/recommend, huge thread counts,
and predict's chunking (bounded memory for many pairs)."""

from __future__ import annotations

import re
import time
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import reckernels as rk
from reckernels.backends import ThreadCapWarning
from tests._models import fit, model_cases, tiny_data

CASES = model_cases()
IDS = [c[0] for c in CASES]


def _queries(data):
    users = np.append(data.users[:40], [data.users[0]])
    items = np.append(data.items[:40], [data.items[1]])
    return users, items, data.user_ids[:6]


def _run(model, users, items, top):
    est = model.predict(users, items)
    ids, scores = model.recommend(top, k=5)
    return est, ids, scores


@pytest.mark.parametrize("label,cls,params", CASES, ids=IDS)
def test_sixteen_threads_give_the_single_threaded_results(label, cls, params):
    data = tiny_data()
    model = fit(cls, params, data)
    users, items, top = _queries(data)
    ref = _run(model, users, items, top)
    deterministic = all(np.array_equal(a, b) for a, b in zip(ref, _run(model, users, items, top)))
    deadline = time.monotonic() + 15.0  # bounded soak: rounds until 15 s or 8 rounds per thread

    def worker(_):
        out = []
        for _ in range(8):
            if time.monotonic() > deadline:
                break
            out.append(_run(model, users, items, top))
        return out

    with ThreadPoolExecutor(16) as pool:
        results = [r for rounds in pool.map(worker, range(16)) for r in rounds]
    assert results
    for got in results:
        for a, b in zip(got, ref):
            assert a.shape == b.shape
            if deterministic:  # NormalPredictor draws: only shapes can agree
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("label,cls,params", CASES, ids=IDS)
def test_ten_thousand_threads_are_capped(label, cls, params):
    data = tiny_data()
    with pytest.warns(ThreadCapWarning):
        model = cls(**{**params, "n_threads": 10000})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThreadCapWarning)
        model.fit(data)
        est, ids, _ = _run(model, *_queries(data))
    assert est.shape == (41,) and ids.shape == (6, 5)
    assert model.n_threads_ <= rk.backends.available_cores()


def test_predict_runs_in_chunks_with_bounded_memory():
    data = rk.datasets.make_ratings(200, 100, 3000, random_state=0)
    model = rk.SVD(n_factors=8, n_epochs=2, random_state=0).fit(data)
    rng = np.random.default_rng(0)
    n = 200_000
    users = data.user_ids[rng.integers(len(data.user_ids), size=n)]
    items = data.item_ids[rng.integers(len(data.item_ids), size=n)]
    whole = model.predict(users, items)
    model.predict_chunk = 1000
    tracemalloc.start()
    try:
        chunked, impossible = model.predict(users, items, return_impossible=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(chunked, whole)
    output = chunked.nbytes + impossible.nbytes
    # the output plus the temporaries of one chunk of 1000 pairs (a few hundred bytes a pair);
    # without chunking the temporaries alone are several times the output
    assert peak < output + 1_000_000, (peak, output)


# ---------------------------------------------------------------------- divergence and interrupts
import os
import signal
import threading


CPU_BACKENDS = ["cython", "numba"]


def _diverging(cls):
    """Parameters that make a model trained by SGD diverge (None for the others; the Keras models'
    Adam steps stay bounded, they are left out)."""
    names = cls._param_names()
    if cls is rk.LogisticMF:
        # AdaGrad divides each step by the root of the summed squared gradients, so no component
        # moves by more than learning_rate in a step: with 1e3 the factors stay below ~1e3 per
        # epoch, finite. Only a rate near float32's range (3.4e38) overflows, in the first epoch.
        return {"learning_rate": 1e38}
    for name in ("lr_all", "learning_rate"):
        if name in names and not cls.__module__.endswith(".ncf"):
            return {name: 1e3, **({"method": "sgd"} if "method" in names else {})}
    return None


DIVERGE = [(label, cls, params) for label, cls, params in CASES if _diverging(cls)]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("label,cls,params", DIVERGE, ids=[c[0] for c in DIVERGE])
def test_divergence_raises_naming_the_learning_rate_and_keeps_the_old_state(label, cls, params, backend):
    data = tiny_data()
    model = fit(cls, params, data, backend=backend)
    before = model.predict(data.users, data.items)
    bad = _diverging(cls)
    lr, value = next(iter(bad.items()))
    model.set_params(**bad, **({"n_epochs": 3} if "n_epochs" in cls._param_names() else {}))
    with pytest.raises(FloatingPointError, match=rf"diverged in epoch \d+: .*{lr}={re.escape(repr(value))}"):
        model.fit(data)
    # the failed fit left the previous fitted state: same predictions, no NaN
    np.testing.assert_array_equal(model.predict(data.users, data.items), before)
    fresh = cls(**{**params, **model.get_params()})
    with pytest.raises(FloatingPointError):
        fresh.fit(data)
    assert not hasattr(fresh, "user_map_")  # unfitted: no NaN model to predict with


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals go to the main thread")
@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("cls", [rk.SVD, rk.ALS])
def test_ctrl_c_during_fit_restores_the_previous_state(cls, backend):
    data = rk.datasets.make_ratings(300, 200, 6000, random_state=0)
    model = cls(n_factors=8, n_epochs=2, backend=backend, random_state=0).fit(data)  # compiled, fitted
    before = {name: getattr(model, name).copy() for name in model._arrays}
    epochs = []
    model.set_params(n_epochs=100_000)

    def slow(epoch, _):  # a long fit: each epoch yields to the interpreter, where the signal is handled
        epochs.append(epoch)
        time.sleep(0.001)

    timer = _interrupt_after(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(data, callback=slow)
    finally:
        timer.cancel()
    assert 0 < len(epochs) < 100_000  # stopped early, between epochs
    for name, a in before.items():
        np.testing.assert_array_equal(getattr(model, name), a)
    assert model.epochs_done_ == 2 and len(model.history_) == 2
    unfitted = cls(n_factors=8, n_epochs=100_000, backend=backend)
    timer = _interrupt_after(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            unfitted.fit(data, callback=slow)
    finally:
        timer.cancel()
    assert not hasattr(unfitted, "user_map_")
