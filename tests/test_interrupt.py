"""Ctrl-C during a long fit (or recommend) returns within about a second, and the estimator is left
unfitted or at its previous fit, never half-updated (docs/errors.md, row fit-interrupted).

Each case starts a call whose single kernel call would take seconds unsliced (one similarity,
one ALS half-sweep, one SlopeOne deviation pass...), sends SIGINT from a timer thread after
DELAY seconds (``_thread.interrupt_main``, what Ctrl-C does to the interpreter) and measures how
late KeyboardInterrupt arrives. The bound is loose (LATENCY_BOUND, for a loaded machine);
the measured latencies are printed (``pytest -s``). The second half checks that cutting a
kernel call into slices (backends/_slices.py) gives the same bits as one call.
"""

import _thread
import threading
import time

import numpy as np
import pytest

import reckernels as rk
from reckernels.backends import _slices

DELAY = 0.3
LATENCY_BOUND = 3.0  # seconds after the signal; measured typically ~0.1 s (see the printed figures)
BACKENDS = ["cython", "numba"]

pytestmark = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                reason="signals go to the main thread")


@pytest.fixture(scope="module")
def small():
    return rk.datasets.make_ratings(60, 40, 600, random_state=1)


@pytest.fixture(scope="module")
def big():
    # dense enough that one similarity / deviation pass / ALS half-sweep is seconds of kernel time
    return rk.datasets.make_ratings(6000, 3000, 2_400_000, random_state=2)


def _interrupted(call):
    """Run call() with SIGINT DELAY seconds in; the seconds from the signal to KeyboardInterrupt."""
    timer = threading.Timer(DELAY, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    try:
        call()
    except KeyboardInterrupt:
        latency = time.perf_counter() - (start + DELAY)
        timer.join()
        return latency
    try:  # finished first: the interrupt still lands, here
        timer.join()
        time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    pytest.fail("the call finished before the signal: the case's data are too small to test an interrupt")


# (name, constructor, where: "fit" or "recommend"); each fit's first long call is one kernel call
CASES = [
    ("UserKNN", lambda b: rk.UserKNN(k=20, backend=b), "fit"),
    ("ItemKNN", lambda b: rk.ItemKNN(k=20, backend=b), "fit"),
    ("SlopeOne", lambda b: rk.SlopeOne(backend=b), "fit"),
    ("ItemItem", lambda b: rk.ItemItem(K=20, backend=b), "fit"),
    ("ALS", lambda b: rk.ALS(n_factors=160, n_epochs=2, backend=b, random_state=0), "fit"),
    ("ImplicitALS", lambda b: rk.ImplicitALS(n_factors=256, n_epochs=2, solver="cholesky", dtype="float64", backend=b,
                                             random_state=0), "fit"),
    ("CoClustering", lambda b: rk.CoClustering(n_cltr_u=200, n_cltr_i=200, n_epochs=2, backend=b,
                                               random_state=0), "fit"),
    ("SVD-exact", lambda b: rk.SVD(n_factors=400, n_epochs=2, schedule="exact", backend=b, random_state=0), "fit"),
    ("SVDpp", lambda b: rk.SVDpp(n_factors=200, n_epochs=2, backend=b, random_state=0), "fit"),
    ("SVD-blocked", lambda b: rk.SVD(n_factors=2000, n_epochs=2, backend=b, random_state=0), "fit"),  # rk.SVD()'s
    ("UserKNN.recommend", lambda b: rk.UserKNN(k=40, backend=b), "recommend"),
    ("ItemKNN.recommend", lambda b: rk.ItemKNN(k=40, backend=b), "recommend"),
]
LATENCIES = {}

# NMF's epoch: its users' pass and items' pass are each one kernel call of ~1.7 s when unsliced
CASES += [
    ("NMF", lambda b: rk.NMF(n_factors=1500, n_epochs=2, backend=b, random_state=0), "fit"),
    ("NMF-biased", lambda b: rk.NMF(n_factors=1500, n_epochs=2, biased=True, backend=b, random_state=0), "fit"),
]

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,make,where", CASES, ids=[c[0] for c in CASES])
def test_ctrl_c_returns_fast_and_leaves_the_previous_state(name, make, where, backend, small, big):
    pairs = (small.users[:50], small.items[:50])
    previous = make(backend).fit(small)  # fitted (and compiled) on small data
    before = previous.predict(*pairs)
    if where == "fit":
        latency = _interrupted(lambda: previous.fit(big))
        np.testing.assert_array_equal(previous.predict(*pairs), before)  # the previous fit, untouched
        fresh = make(backend)
        latency = max(latency, _interrupted(lambda: fresh.fit(big)))
        assert not hasattr(fresh, "user_map_")  # unfitted, not half-fitted
    else:
        model = make(backend).fit(big)
        users = np.tile(big.user_map.raw_ids, 20)  # recommend for everyone, many times over
        latency = _interrupted(lambda: model.recommend(users, k=10))
    LATENCIES[f"{name}/{backend}"] = latency
    print(f"\n{name} {backend}: KeyboardInterrupt {latency:.3f} s after the signal")
    assert latency < LATENCY_BOUND


# ------------------------------------------------------------------ slicing changes no bit
def _fitted_arrays(model):
    return {k: v.copy() for k, v in vars(model).items() if isinstance(v, np.ndarray)}


SAME_BITS = [
    lambda b: rk.UserKNN(k=5, backend=b),
    lambda b: rk.ItemKNN(k=5, sim="pearson_baseline", max_neighbors=7, backend=b),
    lambda b: rk.SlopeOne(storage="sparse", backend=b),
    lambda b: rk.SlopeOne(storage="dense", backend=b),
    lambda b: rk.ItemItem(K=5, backend=b),
    lambda b: rk.ALS(n_factors=4, n_epochs=2, backend=b, random_state=0),
    lambda b: rk.ImplicitALS(n_factors=4, n_epochs=2, backend=b, random_state=0),
    lambda b: rk.CoClustering(n_cltr_u=3, n_cltr_i=2, n_epochs=3, backend=b, random_state=0),
    lambda b: rk.SVD(n_factors=4, n_epochs=2, schedule="exact", backend=b, random_state=0),
    lambda b: rk.SVDpp(n_factors=3, n_epochs=2, schedule="exact", backend=b, random_state=0),
    lambda b: rk.SVDpp(n_factors=3, n_epochs=2, n_threads=1, backend=b, random_state=0),
    lambda b: rk.SVD(n_factors=4, n_epochs=2, backend=b, random_state=0),  # blocked float32, rk.SVD()'s schedule
    lambda b: rk.SVD(n_factors=5, n_epochs=2, n_blocks=3, n_threads=2, dtype="float64", backend=b, random_state=0),
]

SAME_BITS += [
    lambda b: rk.NMF(n_factors=3, n_epochs=2, backend=b, random_state=0),
    lambda b: rk.NMF(n_factors=3, n_epochs=2, biased=True, backend=b, random_state=0),
    lambda b: rk.BPR(n_factors=3, n_epochs=2, n_threads=1, backend=b, random_state=0),  # Hogwild: one updater
    lambda b: rk.LogisticMF(n_factors=3, n_epochs=2, backend=b, random_state=0),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", SAME_BITS, ids=[f"{type(m('auto')).__name__}{i}" for i, m in enumerate(SAME_BITS)])
def test_one_row_slices_give_the_bits_of_one_call(make, backend, small, monkeypatch):
    whole = make(backend).fit(small)
    users = small.user_map.raw_ids
    ids, scores = whole.recommend(users, k=5)
    est = whole.predict(small.users, small.items)
    # every sliced call cut into ranges of a single row: the worst case for any order dependence
    monkeypatch.setattr(_slices, "FIRST_WORK", 1e-9)
    monkeypatch.setattr(_slices, "MAX_GROWTH", 1.0)
    sliced = make(backend).fit(small)
    a, b = _fitted_arrays(whole), _fitted_arrays(sliced)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    np.testing.assert_array_equal(sliced.predict(small.users, small.items), est)
    ids2, scores2 = sliced.recommend(users, k=5)
    np.testing.assert_array_equal(ids2, ids)
    np.testing.assert_array_equal(scores2, scores)


def test_run_sliced_covers_the_range_once_in_order():
    indptr = np.cumsum(np.r_[0, np.random.default_rng(0).integers(0, 50, 5000)])
    for first in (1e-9, 10.0, 1e12):
        _slices.FIRST_WORK, saved = first, _slices.FIRST_WORK
        try:
            calls = _slices.run_sliced(lambda lo, hi: (lo, hi), 7, 4990, indptr, per_row=3)
        finally:
            _slices.FIRST_WORK = saved
        assert calls[0][0] == 7 and calls[-1][1] == 4990
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(calls, calls[1:]))
        assert (len(calls) == 1) == (first == 1e12)
    assert _slices.run_sliced(lambda lo, hi: 1 / 0, 5, 5) == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_blocks", [1, 3])
def test_blocked_sgd_waves_give_the_bits_of_one_call(backend, n_blocks, small, monkeypatch):
    """The blocked SGD epoch cut into waves of one rating per cell (steps split into parts), one wave
    per call: the factors, the biases and the loss (history_) of one call per epoch."""
    import importlib

    from reckernels.backends.reference import sgd as ref_sgd

    kernels = importlib.import_module(f"reckernels.backends.{'numba_cpu' if backend == 'numba' else backend}.sgd")
    make = lambda: rk.SVD(n_factors=5, n_epochs=3, n_blocks=n_blocks, n_threads=2, backend=backend, random_state=0)
    whole = make().fit(small)
    monkeypatch.setattr(ref_sgd, "WAVE_RATINGS", 1)
    monkeypatch.setattr(_slices, "FIRST_WORK", 1e-9)
    monkeypatch.setattr(_slices, "MAX_GROWTH", 1.0)
    n_calls = []
    real = kernels.run_sliced
    monkeypatch.setattr(kernels, "run_sliced", lambda call, *a, **k: n_calls.append(len(real(call, *a, **k))))
    sliced = make().fit(small)
    assert min(n_calls) > n_blocks * 10  # many waves per step
    a, b = _fitted_arrays(whole), _fitted_arrays(sliced)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert whole.history_ == sliced.history_


# BPR's epoch (Hogwild samples) and LogisticMF's halves: one kernel call of seconds each when unsliced,
# after ~0.8 s of sorting the input and drawing the factors: the signal comes later, inside an epoch
IMPLICIT_CASES = [
    ("BPR", lambda b: rk.BPR(n_factors=1000, n_epochs=2, backend=b, random_state=0)),
    ("LogisticMF", lambda b: rk.LogisticMF(n_factors=600, n_epochs=2, backend=b, random_state=0)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,make", IMPLICIT_CASES, ids=[c[0] for c in IMPLICIT_CASES])
def test_ctrl_c_returns_fast_inside_an_implicit_epoch(name, make, backend, small, big, monkeypatch):
    monkeypatch.setitem(globals(), "DELAY", 2.0)  # read by _interrupted
    test_ctrl_c_returns_fast_and_leaves_the_previous_state(name, make, "fit", backend, small, big)


EPOCH_BITS = SAME_BITS[-4:]  # the models whose epochs' records are a function of the factors alone


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", EPOCH_BITS, ids=[f"{type(m('auto')).__name__}{i}" for i, m in enumerate(EPOCH_BITS)])
def test_one_row_slices_keep_the_epoch_records(make, backend, small, monkeypatch):
    # NMF's loss is kept per user (or added rating by rating, biased), BPR's and LogisticMF's counts
    # and sums per row or updater: the history is the same however the epochs are cut
    whole = make(backend).fit(small)
    monkeypatch.setattr(_slices, "FIRST_WORK", 1e-9)
    monkeypatch.setattr(_slices, "MAX_GROWTH", 1.0)
    assert make(backend).fit(small).history_ == whole.history_


def test_a_pace_starts_the_next_run_at_its_last_budget():
    pace = _slices.Pace()
    rows = np.arange(0, 2_000_001, 10)  # 200,000 rows of 10 entries: 2.2e6 units, over FIRST_WORK
    first = _slices.run_sliced(lambda lo, hi: (lo, hi), 0, len(rows) - 1, rows, pace=pace)
    assert len(first) > 1 and pace.budget > 0  # no pace yet: from FIRST_WORK up
    assert first[0][1] - first[0][0] <= _slices.FIRST_WORK // 11 + 1
    pace.budget = 1e12  # as after a fast run: the next is one call
    assert _slices.run_sliced(lambda lo, hi: (lo, hi), 0, len(rows) - 1, rows, pace=pace) == [(0, len(rows) - 1)]
    # never more than PACE_STEPS growth steps above FIRST_WORK (so FIRST_WORK still bounds the first slice)
    saved = _slices.FIRST_WORK
    _slices.FIRST_WORK, pace.budget = 1.0, 1e12
    try:
        calls = _slices.run_sliced(lambda lo, hi: (lo, hi), 0, len(rows) - 1, rows, pace=pace)
    finally:
        _slices.FIRST_WORK = saved
    assert calls[0][1] - calls[0][0] <= _slices.MAX_GROWTH ** _slices.PACE_STEPS / 11 + 1
