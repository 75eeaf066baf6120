"""compat.surprise.NMF against scikit-surprise itself.

The kernels sum in scikit-surprise's order, so the factors are equal bit for bit; predictions
(scikit-surprise's np.dot per pair vs a batched product) agree to rounding, asserted at 1e-9.
"""

import numpy as np
import pandas as pd
import pytest

surprise = pytest.importorskip("surprise")

from surprise.model_selection import KFold, cross_validate  # noqa: E402

from reckernels.compat import surprise as compat  # noqa: E402

from .conftest import needs_ml100k  # noqa: E402


@needs_ml100k()
@pytest.mark.parametrize("biased", [False, True])
def test_nmf_matches_scikit_surprise_on_u1(u1, biased):
    train, test = u1
    kwargs = {"random_state": 0, "biased": biased}  # scikit-surprise's defaults otherwise
    theirs = surprise.NMF(**kwargs).fit(train)
    ours = compat.NMF(**kwargs).fit(train)
    for name in ("pu", "qi", "bu", "bi"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))
    a, b = ours.test(test), theirs.test(test)
    np.testing.assert_allclose([p.est for p in a], [p.est for p in b], rtol=0, atol=1e-9)
    assert [p.details for p in a] == [p.details for p in b]
    assert [(p.uid, p.iid, p.r_ui) for p in a] == [(p.uid, p.iid, p.r_ui) for p in b]


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(4)
    keys = rng.choice(50 * 30, size=500, replace=False)
    df = pd.DataFrame({"user": [f"u{k // 30}" for k in keys], "item": [f"i{k % 30}" for k in keys],
                       "rating": rng.integers(1, 6, size=500).astype(float)})
    return surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(1, 5)))


@pytest.mark.parametrize("biased", [False, True])
def test_predictions_and_unknowns_match(small, biased):
    train = small.build_full_trainset()
    kwargs = {"n_factors": 3, "n_epochs": 4, "random_state": 1, "biased": biased, "reg_pu": 0.1, "lr_bi": 0.01,
              "init_low": 0.1, "init_high": 0.9}
    theirs, ours = surprise.NMF(**kwargs).fit(train), compat.NMF(**kwargs).fit(train)
    for uid, iid, r in [("u1", "i3", 4.0), ("nobody", "i3", 3.0), ("u1", "nothing", None), ("nobody", "nothing", 1)]:
        a, b = ours.predict(uid, iid, r), theirs.predict(uid, iid, r)
        assert a.est == pytest.approx(b.est, abs=1e-12) and a.details == b.details


def test_cross_validate_same_numbers(small):
    for biased in (False, True):
        kwargs = {"n_factors": 4, "n_epochs": 5, "random_state": 0, "biased": biased}
        a = cross_validate(compat.NMF(**kwargs), small, measures=["rmse", "mae"], cv=KFold(3, random_state=0))
        b = cross_validate(surprise.NMF(**kwargs), small, measures=["rmse", "mae"], cv=KFold(3, random_state=0))
        np.testing.assert_allclose(a["test_rmse"], b["test_rmse"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(a["test_mae"], b["test_mae"], rtol=0, atol=1e-9)


def test_negative_ratings_train_as_in_scikit_surprise():
    """scikit-surprise's own zero/negative-ratings case: trains, factors agree, no NaN."""
    df = pd.DataFrame({"u": [0, 1, 2, 3, 3, 4], "i": [0, 0, 0, 0, 1, 1], "r": [-10, 10, 0, -5, 0, 5]})
    train = surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(-10, 10))).build_full_trainset()
    ours = compat.NMF(n_factors=4, n_epochs=2, random_state=3).fit(train)
    theirs = surprise.NMF(n_factors=4, n_epochs=2, random_state=3).fit(train)
    np.testing.assert_array_equal(ours.pu, theirs.pu)
    np.testing.assert_array_equal(ours.qi, theirs.qi)


def test_signature_init_low_and_verbose(small, capsys):
    import inspect

    assert (inspect.signature(compat.NMF).parameters.keys() == inspect.signature(surprise.NMF).parameters.keys())
    with pytest.raises(ValueError, match="init_low should be greater than zero"):
        compat.NMF(init_low=-1)
    compat.NMF(n_factors=2, n_epochs=2, verbose=True).fit(small.build_full_trainset())
    assert capsys.readouterr().out == "Processing epoch 0\nProcessing epoch 1\n"
