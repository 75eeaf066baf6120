"""Model files: .npz + JSON, loaded without pickle; truncated and foreign files are refused."""

import json
import zipfile

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
