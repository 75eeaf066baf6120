"""Model files: .npz + JSON, loaded without pickle; truncated and foreign files are refused."""

import json
import zipfile
import zlib

import numpy as np
import pytest

import reckernels as rk
from reckernels import BaselineOnly, Popular


@pytest.mark.parametrize("cls", [BaselineOnly, Popular])
def test_round_trip_gives_identical_predictions_and_rankings(cls, small_data, tmp_path):
    algo = cls().fit(small_data)
    path = algo.save(tmp_path / "model.npz")
    for loaded in (rk.load(path), cls.load(path)):
        assert type(loaded) is cls
        assert loaded.get_params() == algo.get_params()
        users = np.append(small_data.users[:50], "stranger")
        items = np.append(small_data.items[:50], "i0")
        np.testing.assert_array_equal(loaded.predict(users, items), algo.predict(users, items))
        for a, b in zip(loaded.recommend(users[:5], k=7), algo.recommend(users[:5], k=7)):
            np.testing.assert_array_equal(a, b)


def test_suffix_is_added_and_files_open_without_pickle(small_data, tmp_path):
    path = BaselineOnly().fit(small_data).save(tmp_path / "model")
    assert path.name == "model.npz"
    with np.load(path, allow_pickle=False) as npz:  # nothing in it needs pickle
        meta = json.loads(npz["__reckernels_meta__"].tobytes())
    assert meta["class"] == "BaselineOnly" and meta["format_version"] == 1


def test_truncated_file_is_refused(small_data, tmp_path):
    path = BaselineOnly().fit(small_data).save(tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        rk.load(path)


def test_damaged_array_header_is_refused(small_data, tmp_path):
    """A flipped byte that unbalances a .npy header's braces makes numpy's header parser raise
    tokenize.TokenError; load says the file is corrupt instead."""
    path = BaselineOnly().fit(small_data).save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    name = "m_user_bias_.npy" if "m_user_bias_.npy" in entries else sorted(entries)[-1]
    entries[name] = entries[name].replace(b"}", b" ", 1)
    with zipfile.ZipFile(path, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        rk.load(path)


def test_file_of_another_class_is_refused(small_data, tmp_path):
    path = Popular().fit(small_data).save(tmp_path / "m.npz")
    with pytest.raises(TypeError, match="holds a Popular model, not a BaselineOnly"):
        BaselineOnly.load(path)


def test_foreign_npz_and_newer_format_are_refused(small_data, tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ValueError, match="not a reckernels model"):
        rk.load(foreign)
    path = BaselineOnly().fit(small_data).save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(np.lib.format.read_array(__import__("io").BytesIO(entries["__reckernels_meta__.npy"])).tobytes())
    meta["format_version"] = 99
    newer = tmp_path / "newer.npz"
    arrays = {n[:-4]: np.lib.format.read_array(__import__("io").BytesIO(b)) for n, b in entries.items()}
    arrays["__reckernels_meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(newer, **arrays)
    with pytest.raises(ValueError, match="format version 99"):
        rk.load(newer)


def test_missing_file_and_unfitted_save(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rk.load(tmp_path / "nope.npz")
    with pytest.raises(rk.NotFittedError):
        BaselineOnly().save(tmp_path / "x.npz")


def test_a_lazily_imported_class_loads_in_a_fresh_process(tmp_path):
    """reckernels.load finds models whose module is imported only on demand (NCF, TensorFlow)."""
    pytest.importorskip("tensorflow")
    import subprocess
    import sys

    code = (
        "import numpy as np, reckernels as rk, sys\n"
        "d = rk.Dataset(np.repeat(np.arange(6), 3), np.tile(np.arange(3), 6), np.ones(18), rating_scale=(0, 1))\n"
        "m = rk.GMF(n_epochs=1, random_state=0).fit(d)\n"
        "m.save(sys.argv[1])\n"
    )
    path = tmp_path / "gmf.npz"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True)
    check = "import reckernels as rk, sys; print(type(rk.load(sys.argv[1])).__name__)"
    out = subprocess.run([sys.executable, "-c", check, str(path)], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "GMF"


# ---------------------------------------------------------------------- tampered files, every model class
import time

from tests._models import fit, model_cases, tiny_data

CASES = model_cases()
IDS = [c[0] for c in CASES]


def _npz_arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _use(model, data):
    """Whatever loads must predict and recommend, with finite results of the right shapes."""
    users, items = data.users[:20], data.items[:20]
    est = model.predict(users, items)
    assert est.shape == (20,) and np.isfinite(est).all()
    ids, scores = model.recommend(users[:3], k=4)
    assert ids.shape == scores.shape == (3, 4)


def _tampered_arrays(arrays, rng):
    """(what, arrays) with one array rewritten: cut, grown, reshaped, retyped, NaN, out-of-range values."""
    for name, a in arrays.items():
        if name == "__reckernels_meta__":
            continue
        variants = {"cut": a[:-1] if a.ndim and len(a) else np.zeros(3, a.dtype),
                    "grown": np.concatenate([a, a[:1]]) if a.ndim and len(a) else np.zeros(2, a.dtype),
                    "2-d": a.reshape(1, *a.shape), "flat": a.reshape(-1)[:-1] if a.size else a.reshape(-1)}
        if a.dtype.kind in "fiu" and a.size:
            variants["retyped"] = a.astype(np.float32 if a.dtype != np.float32 else np.float64)
        if a.dtype.kind == "f" and a.size:
            bad = a.copy()
            bad.reshape(-1)[rng.integers(a.size)] = np.nan
            variants["nan"] = bad
        if a.dtype.kind in "iu" and a.size:
            for label, v in (("huge", np.iinfo(a.dtype).max), ("negative", -7 if a.dtype.kind == "i" else 0)):
                bad = a.copy()
                bad.reshape(-1)[rng.integers(a.size)] = v
                variants[label] = bad
        for what, bad in variants.items():
            if bad.shape == a.shape and bad.dtype == a.dtype and np.array_equal(bad, a, equal_nan=True):
                continue
            yield f"{name} {what}", {**arrays, name: bad}


def _write(path, arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("label,cls,params", CASES, ids=IDS)
def test_rewritten_arrays_raise_value_error_or_load_consistently(label, cls, params, tmp_path):
    data = tiny_data()
    model = fit(cls, params, data)
    path = model.save(tmp_path / "m.npz")
    clean = rk.load(path)  # the untampered file loads and predicts exactly as the model does
    np.testing.assert_array_equal(clean.predict(data.users[:20], data.items[:20]),
                                  model.predict(data.users[:20], data.items[:20]))
    _use(clean, data)
    arrays = _npz_arrays(path)
    rng = np.random.default_rng(0)
    for what, bad in _tampered_arrays(arrays, rng):
        target = tmp_path / "bad.npz"
        _write(target, bad)
        try:
            loaded = rk.load(target)
        except ValueError as exc:
            assert "bad.npz" in str(exc), (what, exc)
            continue
        except OSError:
            continue
        # loaded: the change must have been harmless (same sizes everywhere), and the model usable
        _use(loaded, data)


@pytest.mark.parametrize("label,cls,params", CASES, ids=IDS)
def test_fuzzed_bytes_raise_only_value_or_os_error(label, cls, params, tmp_path):
    data = tiny_data()
    path = fit(cls, params, data).save(tmp_path / "m.npz")
    _use(rk.load(path), data)
    blob = path.read_bytes()
    rng = np.random.default_rng(zlib.crc32(label.encode()))  # the same cases in every process (hash() is salted)
    deadline = time.monotonic() + 10.0  # bounded: at most about 10 s of cases per class
    target = tmp_path / "fuzz.npz"
    for case in range(120):
        if time.monotonic() > deadline:
            break
        if case % 2:
            target.write_bytes(blob[:rng.integers(len(blob))])
        else:
            b = bytearray(blob)
            for pos in rng.integers(len(b), size=rng.integers(1, 4)):
                b[pos] ^= 1 << int(rng.integers(8))
            target.write_bytes(bytes(b))
        try:
            loaded = rk.load(target)
        except (ValueError, OSError):
            continue
        _use(loaded, data)


def test_inconsistent_file_names_file_and_array(small_data, tmp_path):
    path = rk.SVD(n_factors=3, n_epochs=1).fit(small_data).save(tmp_path / "m.npz")
    arrays = _npz_arrays(path)
    arrays["m_item_factors_"] = arrays["m_item_factors_"][:-2]
    _write(path, arrays)
    with pytest.raises(ValueError, match=r"m\.npz.*'item_factors_' has shape"):
        rk.load(path)
    arrays = _npz_arrays(path)
    arrays["m_item_factors_"] = np.zeros((len(arrays["item_ids"]), 3))
    arrays["seen_indices"] = arrays["seen_indices"] + 10**6
    _write(path, arrays)
    with pytest.raises(ValueError, match=r"'seen_indices' holds values outside"):
        rk.load(path)


def _tampered_meta(meta):
    """(what, meta) with one metadata field changed: a parameter off by one or of the wrong type, a
    field removed or replaced by a list."""
    for key, value in meta.get("params", {}).items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            yield f"params.{key}+1", {**meta, "params": {**meta["params"], key: value + 1}}
        yield f"params.{key} wrong type", {**meta, "params": {**meta["params"], key: [value]}}
    for key in meta:
        if key in ("class", "format_version"):
            continue
        yield f"{key} removed", {k: v for k, v in meta.items() if k != key}
        yield f"{key} a list", {**meta, key: [1, 2, 3]}


@pytest.mark.parametrize("label,cls,params", CASES, ids=IDS)
def test_tampered_metadata_raises_value_error_or_loads_consistently(label, cls, params, tmp_path):
    data = tiny_data()
    path = fit(cls, params, data).save(tmp_path / "m.npz")
    arrays = _npz_arrays(path)
    meta = json.loads(arrays["__reckernels_meta__"].tobytes())
    for what, bad in _tampered_meta(meta):
        target = tmp_path / "bad.npz"
        blob = np.frombuffer(json.dumps(bad).encode(), dtype=np.uint8)
        _write(target, {**arrays, "__reckernels_meta__": blob})
        try:
            loaded = rk.load(target)
        except (ValueError, OSError):
            continue
        _use(loaded, data)
