"""Every estimator pickles, fitted or not, and predicts and ranks the same afterwards.

The classes come from ``reckernels.algorithms.REGISTRY`` and ``reckernels.compat.surprise.__all__``,
so a model added to either is covered without touching this file. The kernel module is never
in the pickle (looked up again from ``backend_``); a model whose backend cannot run where it is
unpickled (a cuda model on a machine without a GPU, simulated by breaking the registry's cuda
entry) falls back to the "auto" CPU backend with a BackendFallbackWarning.
"""

import copy as copy_module
import inspect
import pickle
import warnings

import numpy as np
import pytest

import reckernels as rk
from reckernels import backends
from reckernels.algorithms import REGISTRY, get_algorithm
from reckernels.algorithms.base import BackendFallbackWarning

NATIVE = sorted(REGISTRY)
DEEP = {"gmf", "mlp", "neumf"}


def _params(cls):
    return set(inspect.signature(cls.__init__).parameters)


def _short(cls, **extra):
    """Constructor arguments that keep a fit short and deterministic, where the class has them."""
    kwargs = {}
    params = _params(cls)
    if "n_epochs" in params:
        kwargs["n_epochs"] = 1 if cls.__module__ == "reckernels.algorithms.ncf" else 2  # TensorFlow: keep it short
    if "random_state" in params:
        kwargs["random_state"] = 0
    if "verbose" in params:
        kwargs["verbose"] = False
    if "n_threads" in params and cls.__module__ != "reckernels.algorithms.ncf":
        kwargs["n_threads"] = 1  # Hogwild defaults (SVD++, BPR) race on shared rows with more threads
    return {**kwargs, **extra}


def _native(name):
    if name in DEEP:
        pytest.importorskip("tensorflow")
    return get_algorithm(name)


@pytest.fixture(scope="module")
def tiny():
    """30 users x 20 items, string ids, a few users and items with one rating."""
    r = np.random.default_rng(3)
    keys = r.choice(30 * 20, size=220, replace=False)
    return rk.Dataset(np.array([f"u{k // 20}" for k in keys]), np.array([f"i{k % 20}" for k in keys]),
                      r.integers(1, 6, size=len(keys)).astype(float), rating_scale=(1, 5))


def _queries(data):
    users = np.concatenate([data.users[::7], ["nobody", data.users[0]]])
    items = np.concatenate([data.items[::7], [data.items[0], "nothing"]])
    return users, items


def _outputs(model, data):
    """What must survive a pickle: estimates (with the impossible flags) and top-5 lists, or the error raised."""
    users, items = _queries(data)
    est, impossible = model.predict(users, items, clip=False, return_impossible=True)
    try:
        ranked = model.recommend(np.concatenate([data.user_ids[:6], ["nobody"]]), k=5)
    except NotImplementedError as exc:  # a model that does not rank: the same refusal after pickling
        ranked = (type(exc), str(exc))
    return est, impossible, ranked


def _assert_same_outputs(a, b, atol=0.0):
    np.testing.assert_allclose(a[0], b[0], rtol=0, atol=atol)
    np.testing.assert_array_equal(a[1], b[1])
    if isinstance(a[2][0], type):
        assert a[2] == b[2]
    else:
        np.testing.assert_array_equal(a[2][0], b[2][0])
        np.testing.assert_allclose(a[2][1], b[2][1], rtol=0, atol=atol)


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


# ---------------------------------------------------------------------------------- native estimators
@pytest.mark.parametrize("name", NATIVE)
def test_fitted_native_estimator_round_trips(name, tiny):
    cls = _native(name)
    model = cls(**_short(cls)).fit(tiny)
    state = model.__getstate__()
    assert "_kernels" not in state  # the module is looked up again, never stored
    if name in DEEP:  # the network travels as the bytes of a .keras file; the traced predict function does not
        assert isinstance(state["model_"], bytes) and "_predict_fn" not in state
    # every copy is taken before anything predicts: a model that draws at predict time
    # (NormalPredictor) carries its random stream's position in the pickle
    copy = _roundtrip(model)
    copy_of_copy = _roundtrip(copy)
    deep = None if name in DEEP else copy_module.deepcopy(model)  # the same __getstate__ / __setstate__
    assert type(copy) is cls and copy.get_params().keys() == model.get_params().keys()
    assert copy.backend_ == model.backend_ and copy._kernels is model._kernels
    before = _outputs(model, tiny)
    _assert_same_outputs(before, _outputs(copy, tiny))
    _assert_same_outputs(before, _outputs(copy_of_copy, tiny))
    if deep is not None:
        _assert_same_outputs(before, _outputs(deep, tiny))


@pytest.mark.parametrize("name", [n for n in NATIVE if n not in DEEP])
def test_unfitted_native_estimator_round_trips_and_fits_the_same(name, tiny):
    cls = _native(name)
    model = cls(**_short(cls))
    copy = _roundtrip(model)
    assert repr(copy) == repr(model) and not hasattr(copy, "backend_")
    _assert_same_outputs(_outputs(model.fit(tiny), tiny), _outputs(copy.fit(tiny), tiny))


def test_unfitted_deep_estimator_round_trips():
    pytest.importorskip("tensorflow")
    for name in sorted(DEEP):
        cls = get_algorithm(name)
        copy = _roundtrip(cls(**_short(cls)))
        assert repr(copy) == repr(cls(**_short(cls))) and not hasattr(copy, "model_")


# ---------------------------------------------------------------------------------- cuda without a GPU
def _cuda_cases():
    return [
        ("baseline", {}),
        ("itemknn", {"k": 5, "storage": "dense"}),
        ("userknn", {"k": 3, "max_neighbors": 4}),  # top-M storage: the other similarity kernel
        ("svd", {"n_factors": 2, "n_epochs": 1, "schedule": "blocked", "n_blocks": 2, "random_state": 0}),
        ("svdpp", {"n_factors": 2, "n_epochs": 1, "schedule": "hogwild", "n_threads": 1, "random_state": 0}),
        ("als", {"n_factors": 2, "n_epochs": 1, "random_state": 0}),
        ("implicit_als", {"n_factors": 2, "n_epochs": 1, "random_state": 0}),
    ]


@pytest.fixture
def small_for_cuda():
    r = np.random.default_rng(1)
    keys = r.choice(8 * 6, size=24, replace=False)
    return rk.Dataset(keys // 6, keys % 6, r.integers(1, 6, size=len(keys)).astype(float), rating_scale=(1, 5))


def _device_objects(value, depth=0):
    """numba (or other GPU library) objects inside a model's state: containers and plain objects searched."""
    if type(value).__module__.split(".")[0] in ("numba", "cupy", "torch"):
        return [type(value).__name__]
    if depth > 3 or isinstance(value, (np.ndarray, str, bytes, int, float, type(None))):
        return []
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, (list, tuple)):
        children = value
    else:
        children = getattr(value, "__dict__", {}).values()
    return [found for child in children for found in _device_objects(child, depth + 1)]


@pytest.mark.parametrize("name, kwargs", _cuda_cases(), ids=[c[0] for c in _cuda_cases()])
def test_cuda_model_unpickled_without_a_gpu_falls_back_to_the_cpu(name, kwargs, small_for_cuda, monkeypatch,
                                                                 tmp_path):
    if not backends.is_available("cuda"):
        pytest.skip("no cuda backend here (numba-cuda missing): nothing to fit on cuda")
    data = small_for_cuda
    model = get_algorithm(name)(**kwargs, backend="cuda").fit(data)
    before = _outputs(model, data)
    assert not _device_objects(model.__getstate__()), "a cuda model keeps device arrays: it would need a GPU to load"
    blob = pickle.dumps(model)
    saved = model.save(tmp_path / "model.npz")
    # "no GPU here": the registry's cuda entry no longer imports
    monkeypatch.setitem(backends._MODULES, "cuda", "reckernels.backends._no_such_gpu_backend")
    assert not backends.is_available("cuda")
    auto = backends.resolve("auto")
    with pytest.warns(BackendFallbackWarning, match=r"backend='cuda', which cannot run here.*backend='"
                                                    + auto + "' instead"):
        copy = pickle.loads(blob)
    assert copy.backend_ == auto and copy.backend == "cuda"
    assert copy._kernels is backends.get_backend(auto)
    _assert_same_outputs(before, _outputs(copy, data), atol=1e-9)  # host arrays: CPU kernels agree to rounding
    with pytest.warns(BackendFallbackWarning):  # a model file falls back the same way
        loaded = rk.load(saved)
    _assert_same_outputs(before, _outputs(loaded, data), atol=1e-9)
    with pytest.raises(backends.BackendUnavailable):  # a refit still asks for cuda, and says it cannot
        copy.fit(data)
    copy.set_params(backend="auto").fit(data)
    assert copy.backend_ == auto


def test_a_callback_can_pickle_the_model_as_a_checkpoint(tiny):
    checkpoints = []
    model = rk.SVD(n_factors=2, n_epochs=2, random_state=0)
    model.fit(tiny, callback=lambda epoch, m: checkpoints.append(pickle.dumps(m)))  # a lambda: not picklable
    last = pickle.loads(checkpoints[-1])
    assert not hasattr(last, "_run") and last.epochs_done_ == 2
    _assert_same_outputs(_outputs(model, tiny), _outputs(last, tiny))


def test_no_warning_when_the_backend_runs_here(tiny):
    model = rk.BaselineOnly(backend="reference").fit(tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _roundtrip(model).backend_ == "reference"


# ---------------------------------------------------------------------------------- compat.surprise
def _compat_classes():
    try:
        import reckernels.compat.surprise as rs
        from surprise import AlgoBase
    except ImportError:
        return []
    return [n for n in rs.__all__ if isinstance(getattr(rs, n), type) and issubclass(getattr(rs, n), AlgoBase)]


@pytest.fixture(scope="module")
def surprise_data():
    surprise = pytest.importorskip("surprise")
    import pandas as pd

    r = np.random.default_rng(4)
    keys = r.choice(30 * 20, size=200, replace=False)
    df = pd.DataFrame({"u": [f"u{k // 20}" for k in keys], "i": [f"i{k % 20}" for k in keys],
                       "r": r.integers(1, 6, size=len(keys)).astype(float)})
    trainset = surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
    testset = trainset.build_testset()[::5] + [("nobody", "i1", 3.0), ("u1", "nothing", 2.0), ("x", "y", 1.0)]
    return trainset, testset


def _compat(name):
    import reckernels.compat.surprise as rs

    cls = getattr(rs, name)
    return cls(**_short(cls))


def _predictions_equal(algo, copy, testset):
    """The copy predicts as the original; for a model whose predictions are random (NormalPredictor),
    that the original itself does not repeat them."""
    a, b = algo.test(testset), copy.test(testset)
    if a != b:
        assert algo.test(testset) != a, "the unpickled model predicts differently"
    assert [(p.uid, p.iid, p.r_ui) for p in a] == [(p.uid, p.iid, p.r_ui) for p in b]
    return a == b


@pytest.mark.parametrize("name", _compat_classes())
def test_compat_estimator_round_trips(name, surprise_data):
    trainset, testset = surprise_data
    unfitted = _roundtrip(_compat(name))
    assert type(unfitted).__name__ == name and not hasattr(unfitted, "trainset")
    algo = _compat(name).fit(trainset)
    copy = _roundtrip(algo)
    deterministic = _predictions_equal(algo, copy, testset)
    _predictions_equal(unfitted.fit(trainset), _compat(name).fit(trainset), testset)
    model = getattr(algo, "model", None)
    if isinstance(model, rk.algorithms.Estimator) and deterministic:  # the native model inside ranks the same
        users = np.array([trainset.to_raw_uid(u) for u in range(5)])
        try:
            want = model.recommend(users, k=4)
        except NotImplementedError:
            return
        got = copy.model.recommend(users, k=4)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("name", _compat_classes())
def test_surprise_dump_round_trips(name, surprise_data, tmp_path):
    from surprise import dump

    trainset, testset = surprise_data
    dump.dump(str(tmp_path / "unfitted"), algo=_compat(name))
    assert type(dump.load(str(tmp_path / "unfitted"))[1]).__name__ == name
    algo = _compat(name).fit(trainset)
    predictions = algo.test(testset)
    dump.dump(str(tmp_path / "fitted"), predictions, algo)
    loaded_predictions, loaded = dump.load(str(tmp_path / "fitted"))
    assert loaded_predictions == predictions
    _predictions_equal(algo, loaded, testset)
