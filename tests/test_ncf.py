"""NeuMF / GMF / MLP (TensorFlow): shapes, memorisation, reproducibility, save/load, pretraining, errors.

TensorFlow is slow to start and train on a small CPU machine: every model here is tiny and
trained for a few epochs, and fitted models are shared between tests.
"""

import subprocess
import sys

import numpy as np
import pytest

from reckernels import Dataset

pytest.importorskip("tensorflow", reason="the deep models need TensorFlow (pip install 'reckernels[deep]')")

from reckernels.algorithms.ncf import GMF, MLP, NeuMF  # noqa: E402


def _ratings(seed=0, n_users=20, n_items=15, n=200):
    rng = np.random.default_rng(seed)
    keys = rng.choice(n_users * n_items, size=n, replace=False)
    return Dataset(keys // n_items, keys % n_items, rng.integers(1, 6, n).astype(float), rating_scale=(1, 5))


@pytest.fixture(scope="module")
def data():
    return _ratings()


@pytest.fixture(scope="module")
def fitted(data):
    """One small fitted model per architecture (rating task), shared by the read-only tests."""
    return {arch: NeuMF(arch=arch, factors=4, layers=(8, 4), n_epochs=2, batch_size=64, random_state=0).fit(data)
            for arch in ("gmf", "mlp", "neumf")}


def test_import_reckernels_does_not_import_tensorflow():
    code = "import reckernels, sys; reckernels.get_algorithm('neumf'); assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_tensorflow_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` raise ImportError
    with pytest.raises(ImportError, match=r'pip install "reckernels\[deep\]"'):
        NeuMF()


@pytest.mark.parametrize("arch", ["gmf", "mlp", "neumf"])
def test_shapes_and_unknown_ids(fitted, data, arch):
    model = fitted[arch]
    est, impossible = model.predict([0, 1, 999], [0, 999, 1], return_impossible=True)
    assert est.shape == (3,) and est.dtype == np.float64
    np.testing.assert_array_equal(impossible, [False, True, True])
    assert est[1] == est[2] == pytest.approx(data.global_mean)  # the fallback for unknown ids
    assert np.all((est >= 1) & (est <= 5))
    ids, scores = model.recommend([0, 1, 999], k=5)
    assert ids.shape == scores.shape == (3, 5)
    rated = set(data.items[data.users == 0].tolist())
    assert not rated & set(ids[0].tolist())  # seen items excluded
    grid = model._score(np.array([0, 3], dtype=np.int32))
    assert grid.shape == (2, data.n_items)
    # the grid and single pairs are the same forward pass
    np.testing.assert_allclose(grid[1], model._score_pairs(np.full(data.n_items, 3), np.arange(data.n_items)))


def test_memorises_a_small_data_set(data):
    model = NeuMF(factors=16, layers=(32, 16), n_epochs=60, batch_size=32, learning_rate=0.02, lr_decay=1.0,
                  random_state=1)
    model.fit(data)
    rmse = np.sqrt(np.mean((model.predict(data.users, data.items) - data.ratings) ** 2))
    assert rmse < 0.35 * data.ratings.std(), (rmse, data.ratings.std())


def test_same_random_state_same_predictions(data, fitted):
    again = NeuMF(arch="neumf", factors=4, layers=(8, 4), n_epochs=2, batch_size=64, random_state=0).fit(data)
    np.testing.assert_array_equal(again.predict(data.users, data.items), fitted["neumf"].predict(data.users, data.items))


@pytest.mark.parametrize("arch", ["gmf", "neumf"])
def test_save_load_round_trip(fitted, data, arch, tmp_path):
    model = fitted[arch]
    path = model.save(tmp_path / "ncf")
    loaded = NeuMF.load(path)
    assert type(loaded) is NeuMF and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(data.users, data.items), model.predict(data.users, data.items))
    np.testing.assert_array_equal(loaded.recommend([0, 5], k=4)[0], model.recommend([0, 5], k=4)[0])


def test_aliases_are_the_architectures(data, tmp_path):
    gmf, mlp = GMF(n_epochs=1), MLP(layers=(8, 4), n_epochs=1)
    assert (gmf.arch, mlp.arch, mlp.layers) == ("gmf", "mlp", (8, 4))
    assert "arch" not in gmf.get_params() and "layers" not in gmf.get_params()
    loaded = GMF.load(gmf.fit(data).save(tmp_path / "gmf"))
    assert type(loaded) is GMF


def test_pretrained_neumf_starts_as_the_alpha_mix(data):
    gmf = NeuMF(arch="gmf", factors=4, n_epochs=2, random_state=0).fit(data)
    mlp = NeuMF(arch="mlp", layers=(8, 4), n_epochs=2, random_state=0).fit(data)
    # a fine-tuning rate of 0 keeps the copied weights: the linear output is 0.3 * GMF's + 0.7 * MLP's
    neumf = NeuMF(factors=4, layers=(8, 4), finetune_epochs=1, finetune_learning_rate=0.0, random_state=0)
    neumf.fit(data, pretrain=(gmf, mlp), alpha=0.3)
    u, i = data.users, data.items
    want = 0.3 * gmf.predict(u, i, clip=False) + 0.7 * mlp.predict(u, i, clip=False)
    np.testing.assert_allclose(neumf.predict(u, i, clip=False), want, rtol=1e-5)


def test_early_stopping_restores_the_best_epoch(data):
    train, valid = data.subset(np.arange(160)), data.subset(np.arange(160, 200))
    model = NeuMF(factors=8, layers=(16, 8), n_epochs=12, batch_size=16, learning_rate=0.05, lr_decay=1.0,
                  random_state=0)
    model.fit(train, validation=valid, patience=2)
    val = model.history_["val"]
    assert model.best_epoch_ == int(np.argmin(val))
    assert len(val) == model.n_epochs or len(val) == model.best_epoch_ + 3  # stopped after 2 epochs without gain
    est = model.predict(valid.users, valid.items)
    assert np.sqrt(np.mean((est - valid.ratings) ** 2)) == pytest.approx(min(val), rel=1e-6)


def test_implicit_ranks_a_planted_item_first():
    """Every user but user 0 interacted with item 99: the model must put it first for user 0."""
    rng = np.random.default_rng(3)
    users, items = [], []
    for u in range(30):
        own = rng.choice(40, size=6, replace=False)
        users += [u] * (len(own) + (u > 0))
        items += own.tolist() + ([99] if u > 0 else [])
    data = Dataset.from_arrays(users, items)
    model = NeuMF(task="implicit", factors=8, layers=(16, 8), n_epochs=15, batch_size=64, learning_rate=0.01,
                  n_negatives=4, lr_decay=1.0, random_state=0).fit(data)
    ids, scores = model.recommend([0], k=3)
    assert ids[0, 0] == 99
    assert 0 < scores[0, 0] < 1  # a probability
    assert not model.predicts_ratings and NeuMF(task="rating").predicts_ratings


@pytest.mark.parametrize("task", ["rating", "implicit"])
def test_divergence_raises_and_keeps_the_previous_fit(data, task):
    """An absurd learning rate overflows the weights in the first epoch: fit names the knobs to
    change and leaves the estimator at its previous fit (the transaction in Estimator.fit)."""
    model = NeuMF(task=task, factors=4, layers=(8, 4), n_epochs=1, batch_size=64, pretrain=False,
                  random_state=0).fit(data)
    keras_model, before = model.model_, model.predict(data.users, data.items, clip=False)
    model.set_params(learning_rate=1e38, n_epochs=3)
    with pytest.raises(FloatingPointError, match=r"NeuMF diverged in epoch 0: .* became NaN or infinite.*"
                                                 r"lower the learning rate .*learning_rate=1e\+38, "
                                                 r"reg=1e-06, lr_decay=0\.6"):
        model.fit(data)
    assert model.model_ is keras_model and len(model.history_["loss"]) == 1
    np.testing.assert_array_equal(model.predict(data.users, data.items, clip=False), before)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"arch": "deep"}, ValueError, "arch"),
    ({"task": "ranking"}, ValueError, "task"),
    ({"layers": (63, 8)}, ValueError, "even"),
    ({"layers": ()}, TypeError, "layers"),
    ({"n_negatives": 0}, ValueError, "n_negatives"),
    ({"lr_decay": 0.0}, ValueError, "lr_decay"),
    ({"lr_decay": 1.5}, ValueError, "lr_decay"),
    ({"lr_decay": True}, ValueError, "lr_decay"),
    ({"mixed_precision": "yes"}, ValueError, "mixed_precision"),
    ({"pretrain": "yes"}, ValueError, "pretrain"),
    ({"arch": "gmf", "pretrain": True}, ValueError, "nothing to pretrain"),
    ({"finetune_epochs": 0}, ValueError, "finetune_epochs"),
    ({"finetune_learning_rate": -1e-3}, ValueError, "finetune_learning_rate"),
])
def test_bad_options_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        NeuMF(**kwargs)


def test_bad_fit_arguments_are_refused(data, fitted):
    with pytest.raises(ValueError, match="arch='gmf'"):
        NeuMF(arch="gmf").fit(data, pretrain=(fitted["gmf"], fitted["mlp"]))
    with pytest.raises(TypeError, match="MLP"):
        NeuMF(factors=4, layers=(8, 4)).fit(data, pretrain=(fitted["gmf"], fitted["gmf"]))
    with pytest.raises(ValueError, match="sizes"):
        NeuMF(factors=8, layers=(8, 4)).fit(data, pretrain=(fitted["gmf"], fitted["mlp"]))
    with pytest.raises(ValueError, match="alpha"):
        NeuMF().fit(data, alpha=1.5)
    with pytest.raises(TypeError, match="validation"):
        NeuMF().fit(data, validation="test.csv")
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        with pytest.raises(ValueError, match="needs a GPU"):
            NeuMF(mixed_precision=True, n_epochs=1).fit(data)


def test_learning_rate_decays_per_epoch(data):
    """Epoch e trains at learning_rate * lr_decay ** e: the optimizer ends at the last epoch's rate."""
    model = NeuMF(factors=4, layers=(8, 4), n_epochs=3, batch_size=64, learning_rate=0.01, lr_decay=0.5,
                  random_state=0).fit(data)
    assert float(np.asarray(model.model_.optimizer.learning_rate)) == pytest.approx(0.01 * 0.5 ** 2)
    flat = NeuMF(factors=4, layers=(8, 4), n_epochs=3, batch_size=64, learning_rate=0.01, lr_decay=1.0,
                 random_state=0).fit(data)
    assert float(np.asarray(flat.model_.optimizer.learning_rate)) == pytest.approx(0.01)
    assert not np.allclose(model.predict(data.users, data.items), flat.predict(data.users, data.items))


def _implicit(seed=4):
    rng = np.random.default_rng(seed)
    keys = rng.choice(30 * 25, size=240, replace=False)
    return Dataset.from_arrays(keys // 25, keys % 25)


def test_pretrain_auto_fits_gmf_and_mlp_then_finetunes():
    """The implicit task's default: fit trains a GMF and an MLP with the model's options and seed,
    then the NeuMF from them for finetune_epochs at finetune_learning_rate; the same as doing the
    three fits by hand (XLA on CPU is deterministic)."""
    data = _implicit()
    opts = dict(task="implicit", n_epochs=2, batch_size=64, n_negatives=2, random_state=3)
    model = NeuMF(factors=4, layers=(8, 4), finetune_epochs=3, finetune_learning_rate=0.002, **opts).fit(data)
    assert len(model.history_["loss"]) == 3
    assert [len(model.pretrain_history_[k]["loss"]) for k in ("gmf", "mlp")] == [2, 2]
    assert float(np.asarray(model.model_.optimizer.learning_rate)) == pytest.approx(0.002 * 0.6 ** 2)
    gmf, mlp = GMF(factors=4, **opts).fit(data), MLP(layers=(8, 4), **opts).fit(data)
    by_hand = NeuMF(factors=4, layers=(8, 4), finetune_epochs=3, finetune_learning_rate=0.002, **opts)
    by_hand.fit(data, pretrain=(gmf, mlp))
    assert not hasattr(by_hand, "pretrain_history_")  # given towers: nothing was pretrained here
    np.testing.assert_array_equal(model.predict(data.users, data.items, clip=False),
                                  by_hand.predict(data.users, data.items, clip=False))


def test_pretrain_false_and_the_rating_task_train_from_scratch(data):
    plain = NeuMF(task="implicit", factors=4, layers=(8, 4), n_epochs=2, batch_size=64, pretrain=False,
                  random_state=0).fit(_implicit())
    rating = NeuMF(factors=4, layers=(8, 4), n_epochs=2, batch_size=64, random_state=0).fit(data)
    for model in (plain, rating):
        assert len(model.history_["loss"]) == 2 and not hasattr(model, "pretrain_history_")
    forced = NeuMF(factors=4, layers=(8, 4), n_epochs=1, batch_size=64, pretrain=True, finetune_epochs=1,
                   random_state=0).fit(data)
    assert set(forced.pretrain_history_) == {"gmf", "mlp"}


def test_divergence_in_pretraining_names_the_stage():
    model = NeuMF(task="implicit", factors=4, layers=(8, 4), n_epochs=1, batch_size=64, learning_rate=1e38,
                  random_state=0)
    with pytest.raises(FloatingPointError, match=r"NeuMF's pretraining \(pretrain='auto'\): GMF diverged in epoch 0"):
        model.fit(_implicit())
    assert not hasattr(model, "model_")
