"""The catalogue of bad inputs in docs/errors.md, one case per row (the ids match the table's).

Each case is a function that provokes the row's input; the expectation is the exception class and a
regex its message must match, or, for rows that end without an error, a check of what happens.
``test_every_row_of_the_table_has_a_case`` keeps the table and these cases in step.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import reckernels as rk
from reckernels.algorithms.base import NotFittedError
from reckernels.backends import ThreadCapWarning, available_cores

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def _data():
    return rk.datasets.make_ratings(20, 15, 100, random_state=0)


def _ds(users=(1, 2), items=(3, 4), ratings=(1.0, 2.0), **kw):
    return rk.Dataset.from_arrays(users, items, ratings, **kw)


def _saved(tmp_path, model=None):
    model = model or rk.SVD(n_factors=3, n_epochs=1, random_state=0).fit(_data())
    return model.save(tmp_path / "m.npz")


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for name, fn in changes.items():
        arrays[name] = fn(arrays[name])
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


# id -> (provoke(tmp_path), exception class, message regex)
RAISES = {
    "data-nan": (lambda t: _ds(ratings=(1.0, np.nan)), ValueError, r"ratings holds 1 NaN or infinite"),
    "data-inf": (lambda t: _ds(ratings=(np.inf, 1.0)), ValueError, r"NaN or infinite value"),
    "data-scale": (lambda t: _ds(ratings=(1.0, 9.0), rating_scale=(1, 5)), ValueError, r"outside rating_scale"),
    "data-2d": (lambda t: _ds(ratings=np.ones((2, 3))), ValueError, r"ratings must be a 1-d array"),
    "data-length": (lambda t: _ds(users=(1, 2, 3)), ValueError, r"users has 3, items has 2"),
    "data-empty": (lambda t: _ds((), (), ()), ValueError, r"the data is empty"),
    "data-duplicates": (lambda t: _ds(users=(1, 1), items=(3, 3)), ValueError, r"duplicate \(user, item\)"),
    "data-timestamps": (lambda t: _ds(timestamps=("a", "b")), ValueError, r"timestamps must be finite"),
    "ids-int-str": (lambda t: _ds(users=[1, "1"]), ValueError, r"users mixes kinds of ids \(.*int.*str"),
    "ids-int-float": (lambda t: _ds(users=np.array([1, 1.0], dtype=object)), ValueError,
                      r"users mixes kinds of ids \(.*int.*float"),
    "ids-missing": (lambda t: _ds(items=np.array(["a", None], dtype=object)), ValueError, r"items holds missing"),
    "ids-fraction": (lambda t: _ds(users=np.array([1.5, 2.0])), ValueError, r"non-integer floats"),
    "ids-2d": (lambda t: _ds(users=np.ones((2, 1), int)), ValueError, r"users must be one-dimensional"),
    "param-unknown": (lambda t: rk.SVD().set_params(n_factor=3), TypeError, r"unknown option\(s\) 'n_factor'"),
    "param-k": (lambda t: rk.ItemKNN(k=0), ValueError, r"k must be an integer >= 1"),
    "param-negative": (lambda t: rk.SVD(lr_all=-0.1), ValueError, r"lr_all must be a finite number >= 0"),
    "param-backend": (lambda t: rk.SVD(backend="gpu"), ValueError, r"backend='gpu' is not a known option"),
    "param-threads": (lambda t: rk.SVD(n_threads=0), ValueError, r"n_threads must be an integer >= 1"),
    "fit-not-dataset": (lambda t: rk.SVD().fit([(1, 2, 3.0)]), TypeError, r"dataset must be a reckernels.Dataset"),
    "predict-unfitted": (lambda t: rk.SVD().predict([1], [2]), NotFittedError, r"not fitted yet"),
    "predict-shape": (lambda t: rk.BaselineOnly().fit(_data()).predict([1, 2], [3]), ValueError,
                      r"users and items must be 1-d arrays of the same length"),
    "recommend-k": (lambda t: rk.BaselineOnly().fit(_data()).recommend([1], k=0), ValueError,
                    r"k must be an integer >= 1"),
    "fit-diverges": (lambda t: rk.SVD(lr_all=5.0, n_epochs=3).fit(_data()), FloatingPointError,
                     r"SVD diverged in epoch 0: .*lower the learning rate .*lr_all=5\.0, reg_all=0\.02"),
    "fit-diverges-baseline": (lambda t: rk.BaselineOnly(method="sgd", learning_rate=1e3).fit(_data()),
                              FloatingPointError, r"sgd baselines diverged .*learning_rate=1000\.0"),
    "file-missing": (lambda t: rk.load(t / "none.npz"), FileNotFoundError, r"does not exist"),
    "file-truncated": (lambda t: rk.load(_cut(_saved(t))), ValueError, r"truncated or corrupt"),
    "file-foreign": (lambda t: rk.load(_foreign(t)), ValueError, r"not a reckernels model"),
    "file-class": (lambda t: rk.ALS.load(_saved(t)), TypeError, r"holds a SVD model, not a ALS"),
    "file-array-shape": (lambda t: rk.load(_rewrite(_saved(t), m_item_factors_=lambda a: a[:-1])), ValueError,
                         r"m\.npz.*array 'item_factors_' has shape"),
    # schedule="exact" saves float64 arrays (the default blocked schedule saves float32, which this retyping would keep)
    "file-array-dtype": (lambda t: rk.load(_rewrite(_saved(t, rk.SVD(n_factors=3, n_epochs=1, random_state=0,
                                                                     schedule="exact").fit(_data())),
                                                    m_user_bias_=lambda a: a.astype(np.float32))),
                         ValueError, r"array 'user_bias_' has dtype float32, expected float64"),
    "file-array-nan": (lambda t: rk.load(_rewrite(_saved(t), m_user_factors_=lambda a: a * np.nan)), ValueError,
                       r"array 'user_factors_' holds NaN"),
    "file-indices": (lambda t: rk.load(_rewrite(_saved(t), seen_indices=lambda a: a + 1000)), ValueError,
                     r"'seen_indices' holds values outside \[0, "),
    "file-indptr": (lambda t: rk.load(_rewrite(_saved(t), seen_indptr=lambda a: a[::-1].copy())), ValueError,
                    r"'seen_indptr' is not a valid row pointer"),
    "file-meta": (lambda t: rk.load(_meta(_saved(t), rating_scale="1-5")), ValueError, r"rating_scale '1-5'"),
}


def _cut(path):
    path.write_bytes(path.read_bytes()[:-100])
    return path


def _foreign(t):
    np.savez(t / "x.npz", x=np.arange(3))
    return t / "x.npz"


def _meta(path, **changes):
    import json

    def edit(blob):
        meta = {**json.loads(blob.tobytes()), **changes}
        return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return _rewrite(path, __reckernels_meta__=edit)


@pytest.mark.parametrize("row", sorted(RAISES))
def test_row_raises(row, tmp_path):
    provoke, exc, pattern = RAISES[row]
    with pytest.raises(exc, match=pattern):
        provoke(tmp_path)


# rows that end without an error: id -> check(tmp_path)
def _threads_capped(t):
    with pytest.warns(ThreadCapWarning, match=r"n_threads=10000 is more than"):
        model = rk.SVD(n_factors=3, n_epochs=1, n_threads=10000)
    assert model.n_threads == 10000 and model.n_threads_ == available_cores()
    model.fit(_data())


def _blocks_capped(t):
    data = _data()
    model = rk.SVD(n_factors=3, n_epochs=1, schedule="blocked", n_blocks=10**6, random_state=0).fit(data)
    assert np.isfinite(model.predict(data.users, data.items)).all()


def _unknown_ids(t):
    model = rk.ItemKNN(k=3).fit(_data())
    est, impossible = model.predict(["nobody"], ["nothing"], return_impossible=True)
    assert est[0] == pytest.approx(model.global_mean_) and impossible[0]


def _scores_unclipped(t):
    ones = rk.Dataset.from_arrays(np.repeat(np.arange(8), 4), np.tile(np.arange(4), 8) + 8 * (np.arange(32) % 2),
                                  np.ones(32))
    assert ones.rating_scale == (1.0, 1.0)
    model = rk.ImplicitALS(n_factors=3, n_epochs=1, random_state=0).fit(ones)
    est = model.predict(ones.users, ones.items)
    assert not model.predicts_ratings and np.unique(est).size > 1
    np.testing.assert_array_equal(est, model.predict(ones.users, ones.items, clip=False))


def _interrupted(t):
    import os
    import signal
    import threading

    data = _data()
    model = rk.SVD(n_factors=3, n_epochs=2, random_state=0).fit(data)
    before = model.predict(data.users, data.items)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.set_params(n_epochs=10**7).fit(data, callback=lambda epoch, m: None)
    finally:
        timer.cancel()
    np.testing.assert_array_equal(model.predict(data.users, data.items), before)


CHECKS = {"fit-interrupted": _interrupted, "threads-capped": _threads_capped, "blocks-capped": _blocks_capped,
          "predict-unknown": _unknown_ids,
          "scores-unclipped": _scores_unclipped}


@pytest.mark.parametrize("row", sorted(CHECKS))
def test_row_behaves(row, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThreadCapWarning)
        CHECKS[row](tmp_path)


def test_every_row_of_the_table_has_a_case():
    rows = set(re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|", DOC.read_text(), flags=re.M))
    assert rows == set(RAISES) | set(CHECKS), (rows ^ (set(RAISES) | set(CHECKS)))


def test_neumf_implicit_scores_are_not_clipped_to_a_scale_of_ones():
    pytest.importorskip("tensorflow")
    users, items = np.repeat(np.arange(8), 3), (np.arange(24) * 5) % 11
    ones = rk.Dataset.from_arrays(users, items, np.ones(24))
    model = rk.NeuMF(task="implicit", factors=4, layers=(8, 4), n_epochs=1, batch_size=64, n_negatives=1,
                     random_state=0).fit(ones)
    est = model.predict(ones.users, ones.items)
    assert not model.predicts_ratings and np.isfinite(est).all() and (est < 1.0).all() and np.unique(est).size > 1


def test_divergence_names_the_inputs_scale_as_a_cause():
    # huge interaction strengths overflow LogisticMF at its default learning rate: the message must
    # not blame the learning rate alone, but name the input's scale (and the knobs) as causes
    import scipy.sparse as sp

    m = sp.random(40, 30, density=0.3, format="csr", random_state=0)
    m.data[:] = 1e38
    with pytest.raises(FloatingPointError) as info:
        rk.LogisticMF(n_factors=4, n_epochs=3, random_state=0).fit(m)
    text = str(info.value)
    assert "scale" in text and "rescale the input" in text
    assert "learning rate is too large or the regularisation too small" in text
    assert "learning_rate=1.0" in text and "reg=0.6" in text
