"""The contract suite: every kernel family in every backend, compared with ``reference``.

Each test file in this folder takes the ``backend`` fixture, calls the same function in that
backend and in the reference backend on the same inputs, and compares. The ``cuda`` backend
runs under NUMBA_ENABLE_CUDASIM=1 (set in tests/conftest.py), where a kernel executes about
1e4 threads per second: give it small inputs (``is_cuda`` tells a test to shrink them).
"""

import pytest

from reckernels import backends

COMPILED = ("cython", "numba", "cuda")


@pytest.fixture(params=COMPILED, scope="session")
def backend(request):
    """(name, module) of a compiled backend; skips a backend that cannot run here.

    Session-scoped so hypothesis tests may take it (it holds no state between examples).
    """
    name = request.param
    try:
        module = backends.get_backend(name)
    except backends.BackendUnavailable as exc:
        pytest.skip(str(exc))
    return name, module


@pytest.fixture(scope="session")
def reference():
    return backends.get_backend("reference")
