"""``compile`` / ``fit`` / ``evaluate`` / ``train_on_batch`` against a live Keras 3.15.1.

The same model is built with Keras (``keras.Input`` ...) and with rnnlens, Keras's random
weights are copied into rnnlens with ``set_weights``, and both train on the same data with
``shuffle=False``. The loss history (and metrics, ``val_*``) and the final weights must
agree to a relative 1e-4 (per weight array, relative to ``max |keras weight|``), for each
optimizer (SGD, momentum, Nesterov, Adam, RMSprop with momentum / centered, clipnorm,
clipvalue, global_clipnorm) and each loss (mse, mae, binary / categorical / sparse
categorical crossentropy, also from logits), with ``validation_split`` /
``validation_data`` and batch sizes that do not divide the data. Keras runs eagerly
(``run_eagerly=True``), which is quicker for these tiny runs and gives the same numbers.

Also: ``evaluate`` and ``train_on_batch`` equal Keras's; ``EarlyStopping`` stops at
Keras's epoch; a user callback sees Keras's ``on_epoch_end`` keys; ``verbose=0`` prints
nothing and ``verbose=1`` prints Keras's progress lines. The worst history / weight
difference per optimizer is written to the terminal at the end of the session.

Every test here needs Keras; they skip when it is not importable.
"""

from __future__ import annotations

import sys
import zlib
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from oracle import assert_close, keras_available
from rnnlens import callbacks as C
from rnnlens import losses as L
from rnnlens import optimizers as O
from rnnlens.backend import floatx

pytestmark = pytest.mark.keras

RTOL = 1e-4
N, T, F = 40, 5, 3
EPOCHS = 3

WORST: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session", autouse=True)
def _fit_summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Writes the worst differences per optimizer after pytest's own summary."""
    yield
    request.config.add_cleanup(_write_fit_summary)


def _write_fit_summary() -> None:
    out = sys.__stdout__
    if out is None or not WORST:
        return
    for opt in sorted(WORST):
        w = WORST[opt]
        out.write(f"fit parity [{opt}]: {w['runs']} matching fit run(s); worst relative "
                  f"difference over all its comparisons: "
                  f"history {w['history']:.3e} ({w['history_where']}), weights "
                  f"{w['weights']:.3e} ({w['weights_where']})\n")
    out.flush()


def _entry(opt: str) -> dict[str, Any]:
    return WORST.setdefault(opt, {"runs": 0, "history": 0.0, "history_where": "",
                                  "weights": 0.0, "weights_where": ""})


def _track(opt: str, kind: str, value: float, where: str) -> None:
    w = _entry(opt)
    if value > w[kind]:
        w[kind], w[f"{kind}_where"] = value, where


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); fit parity skipped")
    import keras  # noqa: PLC0415

    return keras


def _seed(name: str) -> int:
    return zlib.crc32(name.encode()) % 2**31


def rel_close(actual: Any, expected: Any, name: str, rtol: float = RTOL) -> float:
    """``max |a - e| / max |e| <= rtol`` (through ``assert_close``); returns the ratio."""
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
    scale = float(np.max(np.abs(e))) if e.size and np.max(np.abs(e)) > 0 else 1.0
    ratio = float(np.max(np.abs(a - e))) / scale if e.size else 0.0
    assert_close(a / scale, e / scale, atol=rtol, name=name)
    return ratio


class NS:
    """Keras's or rnnlens's layers / Model / Input / losses / optimizers."""

    def __init__(self, keras_mod: Any = None):
        if keras_mod is None:
            import rnnlens.layers as layers  # noqa: PLC0415
            from rnnlens.models import Model  # noqa: PLC0415

            self.L, self.Model, self.Input = layers, Model, layers.Input
            self.losses, self.optimizers, self.callbacks = L, O, C
            self.keras = None
        else:
            self.L, self.Model, self.Input = keras_mod.layers, keras_mod.Model, keras_mod.Input
            self.losses, self.optimizers = keras_mod.losses, keras_mod.optimizers
            self.callbacks, self.keras = keras_mod.callbacks, keras_mod

    def dec_mask(self, ids: Any) -> dict:
        """Keras 3 drops the upstream mask of a call with initial_state (spec 10.1), and
        so does rnnlens: both decoders get it explicitly, ``mask=ops.not_equal(ids, 0)``
        (an op node on the symbolic ids in both libraries)."""
        import rnnlens.ops

        ops = rnnlens.ops if self.keras is None else self.keras.ops
        return {"mask": ops.not_equal(ids, 0)}


# ---------------------------------------------------------------------------- models
def head(ns: NS, units: int, act: str | None) -> Any:
    return ns.L.Dense(units, activation=act)


def m_lstm(ns: NS, units: int, act: str | None) -> Any:
    inp = ns.Input((T, F))
    return ns.Model(inp, head(ns, units, act)(ns.L.LSTM(4)(inp)))


def m_gru(ns: NS, units: int, act: str | None) -> Any:
    inp = ns.Input((T, F))
    return ns.Model(inp, head(ns, units, act)(ns.L.GRU(4)(inp)))


def m_bidi(ns: NS, units: int, act: str | None) -> Any:
    inp = ns.Input((T, F))
    return ns.Model(inp, head(ns, units, act)(ns.L.Bidirectional(ns.L.SimpleRNN(3))(inp)))


def m_encdec(ns: NS, units: int, act: str | None) -> Any:
    """Encoder LSTM states -> decoder LSTM (initial_state) -> TimeDistributed softmax."""
    enc, dec = ns.Input((T, F)), ns.Input((4, 2))
    _, h, c = ns.L.LSTM(4, return_state=True)(enc)
    seq = ns.L.LSTM(4, return_sequences=True)(dec, initial_state=[h, c])
    return ns.Model([enc, dec], ns.L.TimeDistributed(ns.L.Dense(units, activation=act))(seq))


def m_encdec_masked(ns: NS, units: int, act: str | None) -> Any:
    """As above with token ids and Embedding(mask_zero=True) on both sides."""
    enc, dec = ns.Input((T,), dtype="int32"), ns.Input((4,), dtype="int32")
    _, h, c = ns.L.LSTM(4, return_state=True)(ns.L.Embedding(6, 3, mask_zero=True)(enc))
    d = ns.L.Embedding(6, 3, mask_zero=True)(dec)
    seq = ns.L.LSTM(4, return_sequences=True)(d, initial_state=[h, c], **ns.dec_mask(dec))
    return ns.Model([enc, dec], ns.L.TimeDistributed(ns.L.Dense(units, activation=act))(seq))


MODELS: dict[str, Callable[..., Any]] = {"lstm": m_lstm, "gru": m_gru, "bidi": m_bidi,
                                         "encdec": m_encdec, "encdec_masked": m_encdec_masked}

# loss key -> (units, output activation, rnnlens / Keras loss from a namespace, target kind)
LOSSES: dict[str, tuple[int, str | None, Callable[[NS], Any], str]] = {
    "mse": (2, None, lambda ns: "mse", "real"),
    "mae": (2, None, lambda ns: "mae", "real"),
    "binary_crossentropy": (1, "sigmoid", lambda ns: "binary_crossentropy", "binary"),
    "bce_logits": (1, None, lambda ns: ns.losses.BinaryCrossentropy(from_logits=True),
                   "binary"),
    "categorical_crossentropy": (3, "softmax", lambda ns: "categorical_crossentropy",
                                 "onehot"),
    "cce_logits": (3, None, lambda ns: ns.losses.CategoricalCrossentropy(from_logits=True),
                   "onehot"),
    "sparse_categorical_crossentropy": (3, "softmax",
                                        lambda ns: "sparse_categorical_crossentropy", "ids"),
    "scce_logits": (3, None,
                    lambda ns: ns.losses.SparseCategoricalCrossentropy(from_logits=True), "ids"),
}


def make_data(model_key: str, loss_key: str, seed: int, n: int = N) -> tuple[Any, np.ndarray]:
    rng = np.random.default_rng(seed)
    units, _, _, kind = LOSSES[loss_key]
    if model_key == "encdec":
        x: Any = [rng.normal(size=(n, T, F)).astype(np.float32),
                  rng.normal(size=(n, 4, 2)).astype(np.float32)]
        lead: tuple = (n, 4)
    elif model_key == "encdec_masked":
        enc = rng.integers(1, 6, size=(n, T))
        dec = rng.integers(1, 6, size=(n, 4))
        for i in range(n):                                  # right-padded sequences
            enc[i, int(rng.integers(2, T + 1)):] = 0
            dec[i, int(rng.integers(1, 5)):] = 0
        x, lead = [enc.astype(np.int32), dec.astype(np.int32)], (n, 4)
    else:
        x, lead = rng.normal(size=(n, T, F)).astype(np.float32), (n,)
    if kind == "real":
        y = rng.normal(size=(*lead, units)).astype(np.float32)
    elif kind == "binary":
        y = (rng.random((*lead, 1)) > 0.5).astype(np.float32)
    elif kind == "onehot":
        y = np.eye(units, dtype=np.float32)[rng.integers(0, units, size=lead)]
    else:
        y = rng.integers(0, units, size=lead).astype(np.int32)
    return x, y


OPTIMIZERS: dict[str, tuple[str, dict]] = {
    "SGD": ("SGD", {"learning_rate": 0.1}),
    "SGD-momentum": ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    "SGD-nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "SGD-clipnorm": ("SGD", {"learning_rate": 0.1, "clipnorm": 0.1}),
    "SGD-momentum-global_clipnorm": ("SGD", {"learning_rate": 0.05, "momentum": 0.5,
                                             "global_clipnorm": 0.2}),
    "Adam": ("Adam", {"learning_rate": 0.01}),
    "Adam-clipvalue": ("Adam", {"learning_rate": 0.01, "clipvalue": 0.01}),
    "Adam-amsgrad-clipnorm": ("Adam", {"learning_rate": 0.01, "amsgrad": True,
                                       "clipnorm": 0.05}),
    "RMSprop": ("RMSprop", {"learning_rate": 0.01}),
    "RMSprop-momentum": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
    "RMSprop-centered": ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    "RMSprop-centered-momentum-clipvalue": ("RMSprop", {"learning_rate": 0.01,
                                                        "centered": True, "momentum": 0.3,
                                                        "clipvalue": 0.02}),
}


class Pair:
    """The Keras model and its rnnlens twin with the same (random) weights."""

    def __init__(self, K: Any, model_key: str, loss_key: str, seed: int):
        units, act, _, _ = LOSSES[loss_key]
        K.utils.set_random_seed(seed)
        self.keras = MODELS[model_key](NS(K), units, act)
        self.ours = MODELS[model_key](NS(), units, act)
        shapes = [tuple(w.shape) for w in self.keras.trainable_weights]
        assert len(self.keras.weights) == len(shapes)
        assert shapes == [tuple(s) for s in self.ours.weight_shapes()]   # same order
        rng = np.random.default_rng(seed)
        self.keras.set_weights([rng.normal(scale=0.4, size=s).astype(np.float32)
                                for s in shapes])
        self.ours.set_weights(self.keras.get_weights())
        self.loss_key, self.K = loss_key, K

    def compile(self, opt_key: str, metrics: list | None) -> None:
        name, kw = OPTIMIZERS[opt_key]
        make_loss = LOSSES[self.loss_key][2]
        self.keras.compile(optimizer=getattr(self.K.optimizers, name)(**kw),
                           loss=make_loss(NS(self.K)), metrics=metrics, run_eagerly=True)
        self.ours.compile(optimizer=getattr(O, name)(**kw), loss=make_loss(NS()),
                          metrics=metrics)

    def check_weights(self, where: str, opt_key: str) -> None:
        for k, (a, e) in enumerate(zip(self.ours.get_weights(), self.keras.get_weights())):
            assert a.dtype == np.float32
            _track(opt_key, "weights", rel_close(a, e, f"{where} weight {k}"), where)


def check_history(ours: dict, theirs: dict, where: str, opt_key: str) -> None:
    assert sorted(ours) == sorted(theirs), f"{where}: history keys {sorted(ours)} != " \
        f"Keras's {sorted(theirs)}"
    for key in theirs:
        assert len(ours[key]) == len(theirs[key]), f"{where} {key}: epochs differ"
        _track(opt_key, "history", rel_close(ours[key], theirs[key], f"{where} {key}"),
               f"{where} {key}")


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def fit_both(pair: Pair, opt_key: str, x: Any, y: Any, where: str, **kw: Any) -> tuple:
    assert floatx() == "float32"
    kw = {"epochs": EPOCHS, "shuffle": False, "verbose": 0, **kw}
    before = [np.asarray(p) for p in _as_list(pair.keras(x, training=False))]
    assert_close(_as_list(pair.ours.predict(x)), before, atol=1e-5, name=f"{where} forward")
    theirs = pair.keras.fit(x, y, **kw)
    ours = pair.ours.fit(x, y, **kw)
    check_history(ours.history, theirs.history, where, opt_key)
    pair.check_weights(where, opt_key)
    _entry(opt_key)["runs"] += 1                            # fit runs that matched
    return ours, theirs


# ---------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("opt_key", sorted(OPTIMIZERS))
def test_fit_matches_keras_for_each_optimizer(K, opt_key):
    """LSTM -> Dense, mse, metrics ["mae"], 40 samples in batches of 16 (16, 16, 8)."""
    pair = Pair(K, "lstm", "mse", _seed(opt_key))
    pair.compile(opt_key, ["mae"])
    x, y = make_data("lstm", "mse", _seed(opt_key))
    fit_both(pair, opt_key, x, y, f"{opt_key} lstm/mse", batch_size=16)


# ---------------------------------------------------------------------------- losses x models
LOSS_CASES = [
    # (model, loss, optimizer, metrics, fit arguments)
    ("lstm", "mse", "Adam", ["mae"], {"batch_size": 12, "validation_split": 0.2}),
    ("gru", "mae", "RMSprop", ["mae"], {"batch_size": 16, "validation_data": True}),
    ("bidi", "binary_crossentropy", "Adam", ["accuracy"], {"batch_size": 16}),
    ("lstm", "bce_logits", "SGD-momentum", ["accuracy"], {"batch_size": 7,
                                                          "validation_split": 0.25}),
    ("gru", "categorical_crossentropy", "Adam", ["accuracy"], {"batch_size": 16,
                                                               "validation_split": 0.2}),
    ("bidi", "cce_logits", "RMSprop-centered", ["accuracy"], {"batch_size": 9}),
    ("lstm", "sparse_categorical_crossentropy", "SGD-nesterov", ["accuracy"],
     {"batch_size": 16, "validation_data": True}),
    ("gru", "scce_logits", "Adam-amsgrad-clipnorm", ["accuracy"], {"batch_size": 16}),
    ("bidi", "mse", "RMSprop-momentum", ["mae"], {"batch_size": 32, "validation_split": 0.1}),
    ("encdec", "categorical_crossentropy", "Adam", ["accuracy"], {"batch_size": 16}),
    ("encdec", "sparse_categorical_crossentropy", "RMSprop", ["accuracy"],
     {"batch_size": 12, "validation_split": 0.2}),
    ("encdec", "scce_logits", "SGD-clipnorm", ["accuracy"], {"batch_size": 16,
                                                             "validation_data": True}),
]


def _case_id(case: tuple) -> str:
    model, loss, opt, _, kw = case
    return f"{model}-{loss}-{opt}-b{kw['batch_size']}" + "".join(
        f"-{k}" for k in kw if k.startswith("validation"))


@pytest.mark.slow
@pytest.mark.parametrize("case", LOSS_CASES, ids=_case_id)
def test_fit_matches_keras_for_each_loss_and_model(K, case):
    model_key, loss_key, opt_key, metrics, kw = case
    where = _case_id(case)
    pair = Pair(K, model_key, loss_key, _seed(where))
    pair.compile(opt_key, metrics)
    x, y = make_data(model_key, loss_key, _seed(where))
    kw = dict(kw)
    if kw.get("validation_data"):
        kw["validation_data"] = make_data(model_key, loss_key, _seed(where) + 1, n=13)
    ours, theirs = fit_both(pair, opt_key, x, y, where, **kw)
    if "validation_split" in kw or "validation_data" in kw:
        assert "val_loss" in theirs.history and "val_loss" in ours.history


@pytest.mark.slow
@pytest.mark.parametrize("loss_key", ["categorical_crossentropy", "mse"])
def test_fit_masked_encoder_decoder_matches_keras(K, loss_key):
    """Embedding(mask_zero=True) encoder / decoder, TimeDistributed output. Keras's fit
    masks the loss by the output's mask (padded decoder steps get weight 0, the others
    total / valid), and so does rnnlens's. The embeddings' gradients are TensorFlow
    IndexedSlices, which Keras's Adam squares row by row (rnnlens's RowGradient).
    (Both decoders get the mask explicitly: Keras 3 drops it with initial_state.)"""
    where = f"encdec_masked-{loss_key}"
    pair = Pair(K, "encdec_masked", loss_key, _seed(where))
    pair.compile("Adam", ["accuracy"] if loss_key != "mse" else ["mae"])
    x, y = make_data("encdec_masked", loss_key, _seed(where))
    fit_both(pair, "Adam", x, y, where, batch_size=16)


# ---------------------------------------------------------------------------- evaluate / tob
@pytest.mark.slow
@pytest.mark.parametrize("model_key,loss_key,metrics", [
    ("lstm", "mse", ["mae"]), ("gru", "sparse_categorical_crossentropy", ["accuracy"]),
    ("bidi", "binary_crossentropy", ["accuracy"]),
    ("encdec", "categorical_crossentropy", ["accuracy"]),
])
def test_evaluate_and_train_on_batch_match_keras(K, model_key, loss_key, metrics):
    where = f"evaluate-{model_key}-{loss_key}"
    pair = Pair(K, model_key, loss_key, _seed(where))
    pair.compile("Adam", metrics)
    x, y = make_data(model_key, loss_key, _seed(where))
    for batch_size in (16, 40, None):                       # 16 does not divide 40
        theirs = pair.keras.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        ours = pair.ours.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            rel_close(ours[key], theirs[key], f"{where} evaluate b{batch_size} {key}")
    plain_k = pair.keras.evaluate(x, y, verbose=0)
    plain_o = pair.ours.evaluate(x, y, verbose=0)
    assert isinstance(plain_o, list) and len(plain_o) == len(plain_k)
    rel_close(plain_o, plain_k, f"{where} evaluate list")
    rows = [slice(0, 16), slice(16, 30), slice(30, 40), slice(0, 16)]
    for step, rows_ in enumerate(rows):
        xb = [v[rows_] for v in x] if isinstance(x, list) else x[rows_]
        theirs = pair.keras.train_on_batch(xb, y[rows_], return_dict=True)
        ours = pair.ours.train_on_batch(xb, y[rows_], return_dict=True)
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            rel_close(ours[key], theirs[key], f"{where} train_on_batch {step} {key}")
        pair.check_weights(f"{where} train_on_batch {step}", "Adam")
    loss_k = pair.keras.train_on_batch(x, y)
    loss_o = pair.ours.train_on_batch(x, y)
    rel_close(loss_o, loss_k, f"{where} train_on_batch list")
    pair.check_weights(f"{where} train_on_batch last", "Adam")


# ---------------------------------------------------------------------------- callbacks
@pytest.mark.slow
def test_early_stopping_stops_at_keras_epoch(K):
    """A learning rate high enough that the validation loss turns up: both stop at the
    same epoch, before the last, and restore the same best weights."""
    where = "early-stopping"
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile("SGD-momentum", None)
    x, y = make_data("lstm", "mse", _seed(where))
    cbs = {}
    for side, ns in (("keras", NS(K)), ("ours", NS())):
        cbs[side] = ns.callbacks.EarlyStopping(monitor="val_loss", patience=1,
                                               restore_best_weights=True)
    epochs = 30
    theirs = pair.keras.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
                            validation_split=0.25, callbacks=[cbs["keras"]])
    ours = pair.ours.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
                         validation_split=0.25, callbacks=[cbs["ours"]])
    assert len(theirs.history["loss"]) < epochs, "the Keras run should stop early"
    assert ours.epoch == theirs.epoch
    assert cbs["ours"].stopped_epoch == cbs["keras"].stopped_epoch
    assert cbs["ours"].best_epoch == cbs["keras"].best_epoch
    check_history(ours.history, theirs.history, where, "SGD-momentum")
    pair.check_weights(where, "SGD-momentum")


def test_user_callback_sees_keras_epoch_logs(K):
    where = "user-callback"
    pair = Pair(K, "gru", "categorical_crossentropy", _seed(where))
    pair.compile("Adam", ["accuracy"])
    x, y = make_data("gru", "categorical_crossentropy", _seed(where))
    seen: dict[str, list] = {"keras": [], "ours": []}

    def recorder(ns: NS, side: str) -> Any:
        class Recorder(ns.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                seen[side].append((epoch, dict(logs or {})))

            def on_train_batch_end(self, batch, logs=None):
                seen[side].append((f"batch{batch}", sorted(logs or {})))
        return Recorder()

    pair.keras.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                   validation_split=0.2, callbacks=[recorder(NS(K), "keras")])
    pair.ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                  validation_split=0.2, callbacks=[recorder(NS(), "ours")])
    assert len(seen["ours"]) == len(seen["keras"])
    for (ek, lk), (eo, lo) in zip(seen["keras"], seen["ours"]):
        assert eo == ek
        if isinstance(lk, dict):
            assert sorted(lo) == sorted(lk) == ["accuracy", "loss", "val_accuracy", "val_loss"]
            for key in lk:
                rel_close(lo[key], lk[key], f"{where} epoch {ek} {key}")
        else:
            assert lo == lk


def test_verbose_output(K, capsys):
    pair = Pair(K, "lstm", "mse", _seed("verbose"))
    pair.compile("SGD", ["mae"])
    x, y = make_data("lstm", "mse", _seed("verbose"))
    pair.ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    pair.ours.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""
    pair.ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=1,
                  validation_split=0.2)
    ours = capsys.readouterr().out
    pair.keras.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=1,
                   validation_split=0.2)
    theirs = capsys.readouterr().out
    for text in ("Epoch 1/2", "Epoch 2/2", "2/2", "\u2501", "loss:", "mae:", "val_loss:"):
        assert text in theirs, f"Keras's output lacks {text!r}: the check is out of date"
        assert text in ours, f"rnnlens's verbose=1 output lacks {text!r}:\n{ours}"


def m_two_heads(ns: NS) -> Any:
    inp = ns.Input((T, F))
    h = ns.L.LSTM(4)(inp)
    return ns.Model(inp, [ns.L.Dense(2, name="a")(h),
                          ns.L.Dense(3, activation="softmax", name="b")(h)])


@pytest.mark.slow
def test_multi_output_fit_and_evaluate_log_per_output_losses_like_keras(K):
    """Two outputs with loss_weights: the total loss, metrics and weights agree; Keras
    also logs each output's (unweighted) loss as ``<output>_loss`` / ``val_<output>_loss``
    in the history and in ``evaluate(return_dict=True)``."""
    where = "two-heads"
    K.utils.set_random_seed(_seed(where))
    kmodel, ours = m_two_heads(NS(K)), m_two_heads(NS())
    rng = np.random.default_rng(_seed(where))
    kmodel.set_weights([rng.normal(scale=0.4, size=w.shape).astype(np.float32)
                        for w in kmodel.get_weights()])
    ours.set_weights(kmodel.get_weights())
    x = rng.normal(size=(N, T, F)).astype(np.float32)
    ys = [rng.normal(size=(N, 2)).astype(np.float32),
          np.eye(3, dtype=np.float32)[rng.integers(0, 3, N)]]
    compile_kw = dict(loss=["mse", "categorical_crossentropy"], loss_weights=[1.0, 0.5],
                      metrics=[["mae"], ["accuracy"]])
    kmodel.compile(optimizer=K.optimizers.Adam(0.01), run_eagerly=True, **compile_kw)
    ours.compile(optimizer=O.Adam(0.01), **compile_kw)
    fit_kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0, validation_split=0.2)
    theirs, mine = kmodel.fit(x, ys, **fit_kw).history, ours.fit(x, ys, **fit_kw).history
    for key in sorted(set(theirs) & set(mine)):
        rel_close(mine[key], theirs[key], f"{where} {key}")
    for k, (a, e) in enumerate(zip(ours.get_weights(), kmodel.get_weights())):
        rel_close(a, e, f"{where} weight {k}")
    ev_k = kmodel.evaluate(x, ys, verbose=0, return_dict=True)
    ev_o = ours.evaluate(x, ys, verbose=0, return_dict=True)
    for key in sorted(set(ev_k) & set(ev_o)):
        rel_close(ev_o[key], ev_k[key], f"{where} evaluate {key}")
    assert sorted(mine) == sorted(theirs), (
        f"fit history keys {sorted(mine)} != Keras's {sorted(theirs)} "
        f"(missing {sorted(set(theirs) - set(mine))})")
    assert sorted(ev_o) == sorted(ev_k), f"evaluate keys {sorted(ev_o)} != {sorted(ev_k)}"
