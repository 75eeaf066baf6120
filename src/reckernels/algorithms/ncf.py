"""Neural collaborative filtering (He et al. 2017): GMF, MLP and NeuMF in Keras 3 on TensorFlow.

TensorFlow is imported inside the methods only, so this module (and ``import reckernels``)
loads without it; building or loading a model without it raises one ImportError that says
``pip install "reckernels[deep]"``.

Architecture (the paper's):

- GMF: user and item embeddings of size ``factors``, multiplied element-wise;
- MLP: separate user and item embeddings of size ``layers[0] // 2`` each, concatenated and
  passed through ReLU Dense layers of widths ``layers[1:]``;
- NeuMF: both towers with their own embeddings, their last vectors concatenated;
- one final Dense(1): a linear output for ``task="rating"`` (its bias starts at the global
  mean; trained with MSE; ``predict`` clips to the rating scale as every model does), a
  sigmoid for ``task="implicit"`` (binary cross-entropy; every interaction is a positive and
  ``n_negatives`` unrated items per positive are drawn afresh each epoch by the compiled
  sampler; scores and ``predict(..., clip=False)`` are probabilities).

``fit(dataset, validation=...)`` early-stops on the validation RMSE (rating) or on HR@10 under
the sampled NCF protocol (implicit; negatives drawn once, see reckernels.sampled_ranking)
and restores the best epoch's weights.

Pretraining (the paper's, section 3.4.1): a NeuMF starts from fitted GMF and MLP models,
their embeddings and tower copied and the output weights mixed as
``[alpha * h_gmf, (1 - alpha) * h_mlp]``, then trains ``finetune_epochs`` more at
``finetune_learning_rate``. ``pretrain="auto"`` (the default) does this for the implicit
task: ``fit`` first trains a GMF and an MLP with this model's options and seed. Or pass
fitted ones, ``fit(..., pretrain=(gmf, mlp), alpha=0.5)``.

Reproducibility: with ``random_state`` set, ``fit`` seeds Python, NumPy and TensorFlow
(``keras.utils.set_random_seed``); training steps run under XLA (``JIT_COMPILE``), which is
deterministic on CPU, so two fits give identical predictions there (TensorFlow's op-determinism
switch is not turned on: Keras disables XLA under it). The negative sampler's draws
depend only on (seed, epoch, user), whatever the thread count. ``n_threads`` is the
sampler's thread count; TensorFlow sizes its own thread pools (``tf.config.threading``).
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from .. import sampled_ranking as _sr
from .._validation import check_choice, check_fraction, check_nonnegative_float, check_positive_int
from ..data import Dataset
from ..persistence import register
from ._tf import gpu_present, import_keras
from ..persistence import Arr
from .base import Estimator, NotFittedError, check_finite_epoch

ARCHS = ("gmf", "mlp", "neumf")
TASKS = ("rating", "implicit")
#: (user, item) pairs per forward pass when scoring (a few MB of activations)
SCORE_BATCH = 1 << 16
#: training steps per TensorFlow call: a small model's step is mostly dispatch overhead, and
#: running many steps per call made an epoch about 3x faster on CPU (benchmarks/RESULTS.md, NCF)
STEPS_PER_EXECUTION = 32
#: compile each training step with XLA: fuses the small ops of the towers and the optimizer update
JIT_COMPILE = True


@register
class NeuMF(Estimator):
    """Neural collaborative filtering: ``arch="gmf" | "mlp" | "neumf"``, ``task="rating" | "implicit"``.

    ``factors`` is the GMF embedding size (gmf, neumf); ``layers`` the MLP tower (mlp, neumf):
    ``layers[0]`` is the width of the concatenated user and item embeddings (half each), the
    rest are the ReLU Dense layers, as in the paper's code. ``reg`` is an L2 penalty on every
    embedding. Trained by Adam with ``learning_rate`` in mini-batches of ``batch_size`` for at
    most ``n_epochs``. ``n_negatives`` negatives per positive (task="implicit" only).
    ``mixed_precision``: "auto" (float16 compute when a GPU is present), True (requires a
    GPU) or False. ``lr_decay``: epoch e trains at ``learning_rate * lr_decay ** e`` (1.0: a
    constant rate). ``backend`` picks the negative sampler's kernels.

    ``pretrain``: "auto" (arch="neumf" with task="implicit", where it was measured), True
    (arch="neumf" only) or False. Pretrained, ``fit`` trains a GMF and an MLP with this model's
    options (``n_epochs`` each; their histories in ``pretrain_history_``), then this NeuMF from
    them for ``finetune_epochs`` epochs starting at ``finetune_learning_rate`` (decaying by
    ``lr_decay``); not pretrained, it trains ``n_epochs`` from ``learning_rate``.

    Defaults (32 factors, tower (128, 64, 32), 8 epochs of batch 2048 from learning rate 0.004
    decaying by 0.6 per epoch, reg 1e-6, 8 negatives per positive) were chosen on the ML-1M
    prefix under the NCF protocol, implicit task (benchmarks/bench_ncf.py defaults; the sweep
    is in benchmarks/RESULTS.md). With a constant rate the HR@10 peaked at epoch 2-3 (0.68)
    and fell; the decay, the light L2 and 8 negatives (4 is the paper's) brought it to
    0.695 / NDCG@10 0.421 on average over three seeds. Larger batches than the paper's 256 cut
    the per-step overhead, the 4x learning rate keeps the progress per epoch. On ML-100K's
    u1 split, task="rating", the same defaults give RMSE 0.939 against 0.957 before.
    Pretraining (implicit task; the GMF and the MLP with these options, then 2 epochs from
    0.0005) brought the five-seed mean to HR@10 0.706 / NDCG@10 0.429, every seed at 0.70 or
    above, for 1.2x the training time (benchmarks/RESULTS.md).
    """

    def __init__(self, arch="neumf", task="rating", factors=32, layers=(128, 64, 32), n_epochs=8, batch_size=2048,
                 learning_rate=0.004, reg=1e-6, n_negatives=8, mixed_precision="auto", *, lr_decay=0.6,
                 pretrain="auto", finetune_epochs=2, finetune_learning_rate=0.0005, backend="auto", n_threads=None,
                 random_state=None, verbose=False):
        self.arch = check_choice("arch", arch, ARCHS)
        self.task = check_choice("task", task, TASKS)
        self.factors = check_positive_int("factors", factors)
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") or len(layers) == 0:
            raise TypeError(f"layers must be a non-empty sequence of widths such as (64, 32, 16, 8), got {layers!r}.")
        self.layers = tuple(check_positive_int(f"layers[{k}]", w, minimum=2 if k == 0 else 1)
                            for k, w in enumerate(layers))
        if self.layers[0] % 2:
            raise ValueError(f"layers[0]={self.layers[0]} must be even: it is split between the user and item "
                             "embeddings of the MLP tower.")
        self.n_epochs = check_positive_int("n_epochs", n_epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.learning_rate = check_nonnegative_float("learning_rate", learning_rate)
        self.reg = check_nonnegative_float("reg", reg)
        self.n_negatives = check_positive_int("n_negatives", n_negatives)
        self.lr_decay = check_fraction("lr_decay", lr_decay, one=True,
                                       hint=" (the learning rate's factor per epoch; 1.0 keeps it constant)")
        self.mixed_precision = check_choice("mixed_precision", mixed_precision, (True, False, "auto"))
        self.pretrain = check_choice("pretrain", pretrain, (True, False, "auto"))
        if self.pretrain is True and self.arch != "neumf":
            raise ValueError(f"pretrain=True initialises a NeuMF from a GMF and an MLP; arch={self.arch!r} has "
                             "nothing to pretrain. Use pretrain='auto' or False.")
        self.finetune_epochs = check_positive_int("finetune_epochs", finetune_epochs)
        self.finetune_learning_rate = check_nonnegative_float("finetune_learning_rate", finetune_learning_rate)
        self._init_common(backend, n_threads, random_state, verbose)
        import_keras()  # fail here, with the install hint, rather than halfway through fit

    @property
    def predicts_ratings(self) -> bool:
        """task="implicit" predicts the probability of an interaction, not a rating."""
        return self.task == "rating"

    # ------------------------------------------------------------------ fitting
    def fit(self, dataset: Dataset, validation: Dataset | None = None, *, patience: int = 3, pretrain=None,
            alpha: float = 0.5) -> "NeuMF":
        """Train on ``dataset``; see the module docstring.

        ``validation`` (a Dataset, e.g. the test part of ``split.leave_one_out``): after each
        epoch compute the validation RMSE (rating) or HR@10 on 99 sampled negatives
        (implicit); stop after ``patience`` epochs without improvement and restore the best
        epoch's weights (of each stage, when pretrained). ``pretrain=(gmf, mlp)``: fitted GMF and
        MLP models of the same task and data whose weights initialise this NeuMF, output weights
        mixed by ``alpha`` (None: as the ``pretrain`` option says).
        """
        if validation is not None and not isinstance(validation, Dataset):
            raise TypeError(f"validation must be a reckernels.Dataset or None, got {type(validation).__name__}.")
        patience = check_positive_int("patience", patience)
        alpha = check_nonnegative_float("alpha", alpha)
        if alpha > 1:
            raise ValueError(f"alpha must lie in [0, 1] (the GMF share of the output layer), got {alpha}.")
        if pretrain is not None:
            self._check_pretrain(pretrain, dataset)
        self._fit_args = (validation, patience, pretrain, alpha)
        try:
            return super().fit(dataset)
        finally:
            del self._fit_args

    def _fit(self, dataset):
        tf, keras = import_keras()
        validation, patience, pretrain, alpha = self._fit_args
        gpu = gpu_present()
        if self.mixed_precision is True and not gpu:
            raise ValueError("mixed_precision=True needs a GPU and TensorFlow sees none; use mixed_precision='auto' "
                             "(float16 only when a GPU is present) or False.")
        self.mixed_ = gpu and self.mixed_precision in (True, "auto")
        self.seed_ = _draw_seed(self.random_state)
        self.__dict__.pop("pretrain_history_", None)  # from an earlier fit
        if pretrain is None and self._pretrains():
            pretrain = self._pretrained_towers(dataset, validation, patience)
            self.pretrain_history_ = {"gmf": pretrain[0].history_, "mlp": pretrain[1].history_}
        keras.utils.set_random_seed(self.seed_)
        self.model_ = self._build(keras, dataset.n_users, dataset.n_items, dataset.global_mean)
        n_epochs, rate = self.n_epochs, self.learning_rate
        if pretrain is not None:
            self._load_pretrained(*pretrain, alpha)
            n_epochs, rate = self.finetune_epochs, self.finetune_learning_rate
        self._rate = ("learning_rate" if pretrain is None else "finetune_learning_rate", rate)  # for _check_epoch
        adam = keras.optimizers.Adam(rate)
        optimizer = keras.optimizers.LossScaleOptimizer(adam) if self.mixed_ else adam
        loss = "mse" if self.task == "rating" else "binary_crossentropy"
        self.model_.compile(optimizer=optimizer, loss=loss, steps_per_execution=STEPS_PER_EXECUTION,
                            jit_compile=JIT_COMPILE)
        self._predict_fn = None

        epoch_data = self._epoch_arrays(dataset)
        monitor = self._validation_metric(validation, dataset) if validation is not None else None
        rng = np.random.default_rng(self.seed_)
        self.history_ = {"loss": [], "val": [], "epoch_time": [], "sampling_time": []}
        self.__dict__.pop("best_epoch_", None)  # from an earlier fit with validation
        best, best_weights, waited = None, None, 0
        with self._progress(n_epochs, f"{self.arch} {self.task}") as bar:
            for epoch in range(n_epochs):
                start = time.perf_counter()
                # staircase decay: a variable the compiled step reads, so no retracing
                adam.learning_rate.assign(rate * self.lr_decay ** epoch)
                users, items, labels = epoch_data(epoch)
                sampled = time.perf_counter()
                hist = self.model_.fit(self._pipeline(tf, users, items, labels, rng), epochs=1, verbose=0,
                                       shuffle=False)  # _pipeline has shuffled
                self.history_["loss"].append(float(hist.history["loss"][0]))
                self.history_["sampling_time"].append(sampled - start)
                self.history_["epoch_time"].append(time.perf_counter() - start)
                self._check_epoch(epoch, self.history_["loss"][-1])
                bar.update(1)
                if monitor is None:
                    continue
                value = monitor()
                self.history_["val"].append(value)
                bar.set_postfix(loss=self.history_["loss"][-1], val=value)
                if best is None or _better(value, best, self.task):
                    best, best_weights, waited, self.best_epoch_ = value, self.model_.get_weights(), 0, epoch
                else:
                    waited += 1
                    if waited >= patience:
                        break
        if best_weights is not None:
            self.model_.set_weights(best_weights)

    def _pretrains(self) -> bool:
        return self.pretrain is True or (self.pretrain == "auto" and self.arch == "neumf" and self.task == "implicit")

    def _pretrained_towers(self, dataset, validation, patience):
        """The GMF and the MLP that initialise this NeuMF: its options and seed, fitted on ``dataset``."""
        common = dict(task=self.task, n_epochs=self.n_epochs, batch_size=self.batch_size,
                      learning_rate=self.learning_rate, reg=self.reg, n_negatives=self.n_negatives,
                      mixed_precision=self.mixed_precision, lr_decay=self.lr_decay, backend=self.backend,
                      n_threads=self.n_threads, random_state=self.seed_, verbose=self.verbose)
        towers = []
        for tower in (GMF(factors=self.factors, **common), MLP(layers=self.layers, **common)):
            try:
                towers.append(tower.fit(dataset, validation, patience=patience))
            except FloatingPointError as err:  # say which stage of this model's fit it was
                raise FloatingPointError(f"NeuMF's pretraining (pretrain={self.pretrain!r}): {err}") from err
        return tuple(towers)

    def _check_epoch(self, epoch: int, loss=None) -> None:
        """The loss (base class), then every Keras weight: Adam with a far too large learning rate
        can overflow the weights while the clipped cross-entropy still reads finite."""
        super()._check_epoch(epoch, loss)
        if self.check_divergence:
            name, rate = getattr(self, "_rate", ("learning_rate", self.learning_rate))
            knobs = {name: rate, "lr_decay": self.lr_decay, "reg": self.reg}
            weights = {f"the weights {w.path!r}": np.asarray(w) for w in self.model_.weights}
            check_finite_epoch(type(self).__name__, epoch, knobs, None, weights)

    def _epoch_arrays(self, dataset):
        """A function epoch -> (users, items, labels) arrays of that epoch's training samples."""
        users = dataset.inner_users.astype(np.int32)
        items = dataset.inner_items.astype(np.int32)
        if self.task == "rating":
            ratings = dataset.ratings.astype(np.float32)
            return lambda epoch: (users, items, ratings)
        # positives grouped by user with each row's items sorted, as the sampler needs
        order = np.lexsort((items, users))
        pos_u, pos_i = users[order], items[order]
        indptr = np.zeros(dataset.n_users + 1, np.int64)
        np.cumsum(np.bincount(pos_u, minlength=dataset.n_users), out=indptr[1:])
        neg_u = np.repeat(pos_u, self.n_negatives)
        labels = np.concatenate((np.ones(len(pos_u), np.float32), np.zeros(len(neg_u), np.float32)))
        out = np.empty(len(neg_u), np.int32)

        def arrays(epoch):
            self._kernels.sample_negatives(indptr, pos_i, dataset.n_items, self.n_negatives, self.seed_, epoch,
                                           out, self.n_threads_)
            ok = out >= 0  # -1: the user rated every item, no negative exists
            if ok.all():
                return np.concatenate((pos_u, neg_u)), np.concatenate((pos_i, out)), labels
            return (np.concatenate((pos_u, neg_u[ok])), np.concatenate((pos_i, out[ok])),
                    labels[:len(pos_u) + int(ok.sum())])

        return arrays

    def _pipeline(self, tf, users, items, labels, rng):
        """tf.data: this epoch's samples in a seeded random order, already cut into batches.

        The shuffle is one NumPy permutation of the whole epoch (an exact shuffle in one
        vectorised step) rather than tf.data's per-element shuffle buffer, and the batches are
        rows of (n_batches, batch_size) arrays, so tf.data hands out whole batches instead of
        assembling them element by element; the last, shorter batch follows on its own.
        """
        perm = rng.permutation(len(labels))
        users, items, labels = users[perm], items[perm], labels[perm]
        size = self.batch_size
        full = len(labels) // size * size

        def part(sl, shape):
            inputs = {"user": users[sl].reshape(shape), "item": items[sl].reshape(shape)}
            return tf.data.Dataset.from_tensor_slices((inputs, labels[sl].reshape(shape)))

        ds = part(slice(0, full), (-1, size))
        if full < len(labels):
            ds = ds.concatenate(part(slice(full, None), (1, -1)))
        return ds.prefetch(tf.data.AUTOTUNE)

    def _validation_metric(self, validation, dataset):
        if self.task == "rating":
            users = self.user_map_.to_inner(validation.users)
            items = self.item_map_.to_inner(validation.items)
            lo, hi = self.rating_scale_

            def rmse():
                est = np.clip(self._estimate(users, items)[0], lo, hi)
                return float(np.sqrt(np.mean((est - validation.ratings) ** 2)))

            return rmse
        candidates = _sr.sample_candidates(dataset, validation, n_negatives=99, random_state=self.seed_)
        return lambda: _sr.sampled_ranking_evaluation(self, candidates=candidates)["hit_rate"]

    # ------------------------------------------------------------------ the network
    def _build(self, keras, n_users, n_items, global_mean):
        L = keras.layers
        dtype = "mixed_float16" if self.mixed_ else "float32"
        init = keras.initializers.RandomNormal(stddev=0.01)  # the paper's N(0, 0.01) embeddings
        reg = keras.regularizers.L2(self.reg) if self.reg > 0 else None

        def embedding(name, n, dim):
            return L.Embedding(n, dim, embeddings_initializer=init, embeddings_regularizer=reg, name=name, dtype=dtype)

        user = keras.Input(shape=(), dtype="int32", name="user")
        item = keras.Input(shape=(), dtype="int32", name="item")
        towers = []
        if self.arch in ("gmf", "neumf"):
            towers.append(L.Multiply(name="gmf", dtype=dtype)(
                [embedding("gmf_user", n_users, self.factors)(user), embedding("gmf_item", n_items, self.factors)(item)]))
        if self.arch in ("mlp", "neumf"):
            half = self.layers[0] // 2
            x = L.Concatenate(name="mlp_concat", dtype=dtype)(
                [embedding("mlp_user", n_users, half)(user), embedding("mlp_item", n_items, half)(item)])
            for k, width in enumerate(self.layers[1:]):
                x = L.Dense(width, activation="relu", name=f"mlp_dense_{k}", dtype=dtype)(x)
            towers.append(x)
        x = towers[0] if len(towers) == 1 else L.Concatenate(name="fuse", dtype=dtype)(towers)
        rating = self.task == "rating"
        out = L.Dense(1, activation=None if rating else "sigmoid", name="output", dtype="float32",
                      bias_initializer=keras.initializers.Constant(global_mean if rating else 0.0))(x)
        return keras.Model({"user": user, "item": item}, L.Flatten(name="score", dtype="float32")(out), name=self.arch)

    def _check_pretrain(self, pretrain, dataset):
        if self.arch != "neumf":
            raise ValueError(f"pretrain initialises a NeuMF from a GMF and an MLP; this model has arch={self.arch!r}.")
        if not isinstance(pretrain, (tuple, list)) or len(pretrain) != 2:
            raise TypeError("pretrain must be a pair (gmf_model, mlp_model) of fitted models.")
        for model, arch in zip(pretrain, ("gmf", "mlp")):
            if not isinstance(model, NeuMF) or model.arch != arch:
                raise TypeError(f"pretrain needs a fitted {arch.upper()} (NeuMF with arch={arch!r}) in that slot, "
                                f"got {model!r}.")
            if not hasattr(model, "model_"):
                raise NotFittedError(f"the pretrained {arch.upper()} is not fitted; fit it on the same data first.")
            if model.task != self.task:
                raise ValueError(f"the pretrained {arch.upper()} has task={model.task!r}, this model {self.task!r}.")
            if not (np.array_equal(model.user_map_.raw_ids, dataset.user_ids)
                    and np.array_equal(model.item_map_.raw_ids, dataset.item_ids)):
                raise ValueError(f"the pretrained {arch.upper()} was fitted on other users or items; fit it on "
                                 "the same data set.")
        if pretrain[0].factors != self.factors or pretrain[1].layers != self.layers:
            raise ValueError(f"the pretrained models' sizes (factors={pretrain[0].factors}, layers={pretrain[1].layers})"
                             f" must equal this model's (factors={self.factors}, layers={self.layers}).")

    def _load_pretrained(self, gmf, mlp, alpha):
        """Copy GMF's and MLP's weights; output = [alpha * h_gmf, (1 - alpha) * h_mlp] (He et al. 2017, 3.4.1)."""
        names = ["gmf_user", "gmf_item"]
        for name in names:
            self.model_.get_layer(name).set_weights(gmf.model_.get_layer(name).get_weights())
        for name in ["mlp_user", "mlp_item"] + [f"mlp_dense_{k}" for k in range(len(self.layers) - 1)]:
            self.model_.get_layer(name).set_weights(mlp.model_.get_layer(name).get_weights())
        (wg, bg), (wm, bm) = gmf.model_.get_layer("output").get_weights(), mlp.model_.get_layer("output").get_weights()
        self.model_.get_layer("output").set_weights(
            [np.concatenate((alpha * wg, (1 - alpha) * wm)), alpha * bg + (1 - alpha) * bm])

    # ------------------------------------------------------------------ scoring
    def _forward(self, users, items) -> np.ndarray:
        """Model outputs (float64) for known inner (user, item) pairs, SCORE_BATCH pairs per call."""
        if getattr(self, "_predict_fn", None) is None:
            tf, _ = import_keras()
            spec = tf.TensorSpec([None], tf.int32)  # one trace for every batch length
            self._predict_fn = tf.function(lambda u, i: self.model_({"user": u, "item": i}, training=False),
                                           input_signature=[spec, spec])
        out = np.empty(len(users), np.float64)
        for s in range(0, len(users), SCORE_BATCH):
            u = np.ascontiguousarray(users[s:s + SCORE_BATCH], dtype=np.int32)
            i = np.ascontiguousarray(items[s:s + SCORE_BATCH], dtype=np.int32)
            out[s:s + SCORE_BATCH] = self._predict_fn(u, i).numpy().reshape(-1)
        return out

    @property
    def _fallback(self) -> float:
        """The estimate for an unknown user or item: the global mean (rating) or 0 (implicit)."""
        return self.global_mean_ if self.task == "rating" else 0.0

    def _estimate(self, users, items):
        known = (users >= 0) & (items >= 0)
        est = np.full(len(users), self._fallback)
        est[known] = self._forward(users[known], items[known])
        return est, ~known

    def _score_pairs(self, users, items):
        """Scores of inner (user, item) pairs (the sampled-ranking protocol's hook): only those pairs run."""
        return self._estimate(users, items)[0]

    def _score(self, users):
        """All items for a block of users: the (user, item) grid, SCORE_BATCH pairs per forward pass."""
        n_items = len(self.item_map_)
        scores = np.full((len(users), n_items), self._fallback)
        known = np.flatnonzero(users >= 0)
        rows_per_call = max(1, SCORE_BATCH // max(n_items, 1))
        all_items = np.arange(n_items, dtype=np.int32)
        for s in range(0, len(known), rows_per_call):
            rows = known[s:s + rows_per_call]
            grid_u = np.repeat(users[rows].astype(np.int32), n_items)
            scores[rows] = self._forward(grid_u, np.tile(all_items, len(rows))).reshape(len(rows), n_items)
        return scores

    # ------------------------------------------------------------------ saving
    def _state(self):
        meta = {"seed_": self.seed_, "mixed_": bool(self.mixed_), "history_": self.history_}
        if hasattr(self, "best_epoch_"):
            meta["best_epoch_"] = self.best_epoch_
        return meta, {"keras": np.frombuffer(_keras_bytes(self.model_), dtype=np.uint8)}

    def _file_spec(self, meta):
        return {"keras": Arr("uint8", ("__keras_bytes",))}

    def _restore(self, meta, arrays):
        self.model_ = _keras_model(arrays["keras"].tobytes())
        for layer in self.model_.layers:  # embeddings sized for other id maps would index out of range
            side = layer.name.rpartition("_")[2]
            if side in ("user", "item") and hasattr(layer, "input_dim"):
                want = len(self.user_map_ if side == "user" else self.item_map_)
                if layer.input_dim != want:
                    raise ValueError(f"its Keras embedding {layer.name!r} has {layer.input_dim} rows, but the file "
                                     f"has {want} {side} ids; the file is damaged.")
        self._predict_fn = None
        self.seed_, self.mixed_, self.history_ = meta["seed_"], meta["mixed_"], meta["history_"]
        if "best_epoch_" in meta:
            self.best_epoch_ = meta["best_epoch_"]

    # ------------------------------------------------------------------ pickling
    # the Keras model travels as the bytes of a .keras file (weights and architecture, no
    # optimizer state) and the traced predict function is traced again on first use
    _unpicklable = Estimator._unpicklable + ("_predict_fn",)

    def __getstate__(self):
        state = super().__getstate__()
        if "model_" in state:
            state["model_"] = _keras_bytes(state["model_"])
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "model_" in state:
            state["model_"] = _keras_model(state["model_"])
        super().__setstate__(state)
        self._predict_fn = None


def _keras_bytes(model) -> bytes:
    """A Keras model as the bytes of its native .keras file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def _keras_model(blob: bytes):
    """The Keras model saved by ``_keras_bytes`` (uncompiled: it only predicts until the next fit)."""
    _, keras = import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(blob)
        return keras.saving.load_model(path, compile=False, safe_mode=True)  # safe_mode: no lambdas run


@register
class GMF(NeuMF):
    """NeuMF with ``arch="gmf"``: generalised matrix factorisation (embeddings multiplied, one output)."""

    def __init__(self, task="rating", factors=32, n_epochs=8, batch_size=2048, learning_rate=0.004, reg=1e-6,
                 n_negatives=8, mixed_precision="auto", *, lr_decay=0.6, backend="auto", n_threads=None,
                 random_state=None, verbose=False):
        super().__init__("gmf", task, factors, (128, 64, 32), n_epochs, batch_size, learning_rate, reg, n_negatives,
                         mixed_precision, lr_decay=lr_decay, backend=backend, n_threads=n_threads,
                         random_state=random_state, verbose=verbose)


@register
class MLP(NeuMF):
    """NeuMF with ``arch="mlp"``: embeddings concatenated through a ReLU tower (the embedding-concat-dense model)."""

    def __init__(self, task="rating", layers=(128, 64, 32), n_epochs=8, batch_size=2048, learning_rate=0.004,
                 reg=1e-6, n_negatives=8, mixed_precision="auto", *, lr_decay=0.6, backend="auto", n_threads=None,
                 random_state=None, verbose=False):
        super().__init__("mlp", task, 32, layers, n_epochs, batch_size, learning_rate, reg, n_negatives,
                         mixed_precision, lr_decay=lr_decay, backend=backend, n_threads=n_threads,
                         random_state=random_state, verbose=verbose)


def _better(value, best, task) -> bool:
    return value < best if task == "rating" else value > best


def _draw_seed(random_state) -> int:
    """A 32-bit seed for TensorFlow, NumPy and the sampler from the estimator's random_state."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**32, dtype=np.uint64))
    return int(random_state) % 2**32
