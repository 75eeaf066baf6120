"""The package itself: a light import, the backend registry, clear errors for backends."""

import subprocess
import sys

import pytest

from reckernels import backends


def test_import_is_light():
    code = ("import sys, time; t = time.perf_counter(); import reckernels; dt = time.perf_counter() - t; "
            "heavy = [m for m in ('tensorflow', 'keras', 'numba.cuda', 'numba_cuda', 'surprise', 'pandas') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_registry_resolves_and_names_unknown_backends():
    assert backends.resolve("reference") == "reference"
    assert backends.resolve("auto") in ("cython", "numba", "reference")
    with pytest.raises(ValueError, match="backend='torch' is not a known backend"):
        backends.get_backend("torch")
    assert set(backends.available()) == set(backends.BACKENDS)


def test_auto_prefers_the_compiled_extension():
    if backends.is_available("cython"):
        assert backends.resolve("auto") == "cython"


def test_cuda_without_a_gpu_says_so(monkeypatch):
    module = pytest.importorskip("reckernels.backends.numba_cuda._device")
    monkeypatch.setattr(module.cuda, "is_available", lambda: False)
    with pytest.raises(backends.BackendUnavailable, match="found no usable NVIDIA GPU.*reckernels\\[cuda\\]"):
        module.ensure_available()
