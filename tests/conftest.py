"""Shared fixtures. The CUDA backend runs in numba's simulator here (CI has no GPU)."""

import os

# must be set before numba.cuda is first imported; a real GPU run sets it to 0 explicitly
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: ../shared/data beside the checkout (research data: tests using it skip when it is absent)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ML100K = SHARED_DATA / "ml-100k"


def needs_ml100k():
    return pytest.mark.skipif(not (ML100K / "u.data").exists(), reason=f"MovieLens 100K not found in {ML100K}")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def small_data():
    """A small explicit data set with string ids, built in the test (no external files)."""
    from reckernels import Dataset

    r = np.random.default_rng(7)
    n_users, n_items, n = 40, 30, 500
    keys = r.choice(n_users * n_items, size=n, replace=False)
    users = np.array([f"u{k // n_items}" for k in keys])
    items = np.array([f"i{k % n_items}" for k in keys])
    ratings = r.integers(1, 6, size=n).astype(float)
    return Dataset(users, items, ratings, rating_scale=(1, 5))


@pytest.fixture(scope="session")
def u1():
    """scikit-surprise's (Trainset, testset) of MovieLens 100K u1.base / u1.test, read once."""
    surprise = pytest.importorskip("surprise")
    reader = surprise.Reader(line_format="user item rating timestamp", sep="\t")
    train = surprise.Dataset.load_from_file(str(ML100K / "u1.base"), reader).build_full_trainset()
    test = surprise.Dataset.load_from_file(str(ML100K / "u1.test"), reader).build_full_trainset().build_testset()
    return train, test
