"""Regularization layers against live Keras 3.15.1 (TensorFlow): Dropout, SpatialDropout1D /
2D / 3D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization.

TensorFlow's random numbers cannot be reproduced, so the training-time semantics are
tested by *recovering* the noise Keras drew from its output (keep masks from zeros,
additive / multiplicative noise from ``y - x`` / ``y / x``, AlphaDropout's drops from its
saturation value) and handing the same noise to rnnlens (each layer draws through
``_draw(shape, dtype)``, replaced here): the outputs then equal Keras's, the requested
shape of the draw is the concrete noise shape (None entries, broadcasting, spatial
channels), and gradients with ``training=True`` equal ``tf.GradientTape``'s. The noise
itself is checked by its statistics (zero fraction, mean, variance) on large seeded draws.

Also: inference is the identity (values eager and in models, masks into an LSTM),
gradients with ``training=False``, ``get_config`` equal to Keras's (key order too),
``.keras`` / legacy ``.h5`` files both ways, ``summary()`` text, Keras's argument checks
(hypothesis fuzz accepting only ValueError / TypeError), and clear errors at call time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from regact_parity import (check_rel, compare_gradients, file_round_trips, keras_module,
                          summary_text, tape_gradients, twins)
from rnnlens import layers as RL
from rnnlens.training import gradients

ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


def _x(shape: tuple, seed: int = 0, low: float = 0.5, high: float = 1.5) -> np.ndarray:
    """Inputs bounded away from 0 (so that a dropped unit is recognisable)."""
    rng = np.random.default_rng(seed)
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return (sign * rng.uniform(low, high, shape)).astype(np.float32)


# ------------------------------------------------------------------ noise recovered from Keras
def _reduce_to(arr: np.ndarray, shape: tuple) -> np.ndarray:
    """``arr`` (the input's shape) reduced to the noise ``shape`` it broadcasts from,
    checking that it is constant along every broadcast axis."""
    padded = (1,) * (arr.ndim - len(shape)) + tuple(shape)
    for axis, n in enumerate(padded):
        if n == 1 and arr.shape[axis] > 1:
            first = np.take(arr, [0], axis=axis)
            assert np.array_equal(np.broadcast_to(first, arr.shape), arr), \
                f"Keras's noise is not constant along axis {axis}"
            arr = first
    return arr.reshape(shape)


def _alpha_const(rate: float) -> np.float32:
    t = np.float32
    a = ((1 - rate) * (1 + rate * ALPHA_P ** 2)) ** -0.5
    return t(a) * t(ALPHA_P) + t(-a * ALPHA_P * rate)


def recovered_draw(kind: str, rate: float, x: np.ndarray, y: np.ndarray,
                   noise_shape: tuple) -> np.ndarray:
    """The ``_draw`` value that makes rnnlens compute Keras's ``y`` from ``x``."""
    if kind in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"):
        return _reduce_to((y != 0).astype(np.float32), noise_shape)   # 1 >= rate keeps
    if kind == "AlphaDropout":
        dropped = np.isclose(y, _alpha_const(rate), rtol=0, atol=1e-6)
        return _reduce_to((~dropped).astype(np.float32), noise_shape)
    if kind == "GaussianNoise":
        return (y - x).astype(np.float32)
    if kind == "GaussianDropout":
        return (y / x).astype(np.float32)
    raise AssertionError(kind)


def inject(layer: Any, draw: np.ndarray, expect_shape: tuple) -> list:
    """Replaces ``layer._draw``; records the shapes it was asked for."""
    asked: list = []

    def fake(shape: tuple, dtype: Any) -> np.ndarray:
        asked.append(tuple(shape))
        assert tuple(shape) == tuple(expect_shape), f"draw of {shape}, expected {expect_shape}"
        return draw.astype(dtype)

    layer._draw = fake
    return asked


# (kind, kwargs, input shape, concrete noise shape)
SEMANTICS = [
    ("Dropout", {"rate": 0.4}, (6, 5, 4), (6, 5, 4)),
    ("Dropout", {"rate": 0.4, "noise_shape": (None, 1, None)}, (6, 5, 4), (6, 1, 4)),
    ("Dropout", {"rate": 0.5, "noise_shape": (None, 1, 4)}, (6, 5, 4), (6, 1, 4)),
    ("Dropout", {"rate": 0.3, "noise_shape": (6, 5, 1)}, (6, 5, 4), (6, 5, 1)),
    ("Dropout", {"rate": 0.5, "noise_shape": (4,)}, (6, 5, 4), (4,)),
    ("Dropout", {"rate": 0.5, "noise_shape": (5, 4)}, (6, 5, 4), (5, 4)),
    ("Dropout", {"rate": 0.25, "noise_shape": (None, 1)}, (8, 4), (8, 1)),
    ("Dropout", {"rate": 0.6}, (7, 3, 2, 4), (7, 3, 2, 4)),
    ("SpatialDropout1D", {"rate": 0.5}, (6, 5, 4), (6, 1, 4)),
    ("SpatialDropout2D", {"rate": 0.5}, (5, 3, 4, 6), (5, 1, 1, 6)),
    ("SpatialDropout2D", {"rate": 0.5, "data_format": "channels_first"}, (5, 6, 3, 4),
     (5, 6, 1, 1)),
    ("SpatialDropout3D", {"rate": 0.5}, (4, 2, 3, 2, 5), (4, 1, 1, 1, 5)),
    ("SpatialDropout3D", {"rate": 0.5, "data_format": "channels_first"}, (4, 5, 2, 3, 2),
     (4, 5, 1, 1, 1)),
    ("AlphaDropout", {"rate": 0.3}, (6, 5, 4), (6, 5, 4)),
    ("AlphaDropout", {"rate": 0.4, "noise_shape": (None, 1, None)}, (6, 5, 4), (6, 1, 4)),
    ("GaussianNoise", {"stddev": 0.7}, (6, 5, 4), (6, 5, 4)),
    ("GaussianDropout", {"rate": 0.3}, (6, 5, 4), (6, 5, 4)),
]
SEMANTICS_IDS = [f"{k}-{'-'.join(f'{a}={v}' for a, v in kw.items())}"
                 for k, kw, _, _ in SEMANTICS]


def _rate(kwargs: dict) -> float:
    return kwargs.get("rate", kwargs.get("stddev", 0.0))


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs, shape, noise", SEMANTICS, ids=SEMANTICS_IDS)
def test_training_output_equals_keras_given_its_noise(K: Any, parity: Any, kind: str,
                                                      kwargs: dict, shape: tuple,
                                                      noise: tuple) -> None:
    x = _x(shape, seed=len(shape))
    klayer = getattr(K.layers, kind)(**kwargs, seed=11)
    y = np.asarray(klayer(x, training=True))
    draw = recovered_draw(kind, _rate(kwargs), x, y, noise)
    ours = getattr(RL, kind)(**kwargs, seed=11)
    asked = inject(ours, draw, noise)
    out = ours(x, training=True)
    assert asked == [noise]
    assert out.dtype == np.float32 and out.shape == x.shape
    parity(out, y, name=f"{kind} training output")
    np.testing.assert_array_equal(ours(x), x)                   # inference: the identity
    np.testing.assert_array_equal(ours(x, training=False), x)


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", [
    ("Dropout", {"rate": 0.0}), ("Dropout", {"rate": 1.0}), ("GaussianNoise", {"stddev": 0.0}),
    ("GaussianDropout", {"rate": 0.0}), ("AlphaDropout", {"rate": 0.0}),
    ("SpatialDropout1D", {"rate": 1.0}), ("ActivityRegularization", {"l1": 0.5}),
])
def test_deterministic_training_values_equal_keras(K: Any, parity: Any, kind: str,
                                                   kwargs: dict) -> None:
    """Rate / stddev 0 is the identity in training too; Dropout rate 1 gives zeros."""
    x = _x((4, 5, 3))
    expected = np.asarray(getattr(K.layers, kind)(**kwargs)(x, training=True))
    parity(getattr(RL, kind)(**kwargs)(x, training=True), expected, name=f"{kind} {kwargs}")


# ------------------------------------------------------------------ inference, masks, models
LAYERS = [
    ("Dropout", {"rate": 0.5}),
    ("Dropout", {"rate": 0.3, "noise_shape": (None, 1, None), "seed": 4}),
    ("SpatialDropout1D", {"rate": 0.5}),
    ("GaussianNoise", {"stddev": 0.3, "seed": 2}),
    ("GaussianDropout", {"rate": 0.4}),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": (None, 5, 1)}),
    ("ActivityRegularization", {"l1": 0.01, "l2": 0.02}),
]
LAYER_IDS = [k for k, _ in LAYERS]


def _masked_lstm(kind: str, kwargs: dict) -> Any:
    def build(lib: Any) -> Any:
        x = lib.Input((6, 3), name="x")
        h = lib.layers.Masking(name="m")(x)
        h = getattr(lib.layers, kind)(**kwargs, name="reg")(h)
        h = lib.layers.LSTM(4, return_sequences=True, name="lstm")(h)
        h = getattr(lib.layers, kind)(**kwargs, name="reg2")(h)
        return lib.Model(x, lib.layers.LSTM(2, name="last")(h), name="masked")
    return build


def _padded(seed: int = 1) -> np.ndarray:
    x = _x((3, 6, 3), seed=seed)
    x[0, 3:] = 0.0
    x[1, :2] = 0.0
    x[2, 2] = 0.0
    return x


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", LAYERS, ids=LAYER_IDS)
def test_inference_masks_into_lstm_equal_keras(K: Any, parity: Any, kind: str,
                                               kwargs: dict) -> None:
    """Masking -> layer -> LSTM -> layer -> LSTM: the mask passes through both uses."""
    kmodel, rmodel = twins(K, _masked_lstm(kind, kwargs))
    x = _padded()
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x, training=False)),
           name=f"{kind} masked model")
    kmask = K.layers.Masking()(x)
    theirs = getattr(K.layers, kind)(**kwargs)(kmask)
    ours = getattr(RL, kind)(**kwargs)(RL.Masking()(x))
    np.testing.assert_array_equal(ours._keras_mask, np.asarray(theirs._keras_mask))
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", LAYERS[:-1], ids=LAYER_IDS[:-1])
def test_gradients_inference_equal_tape(K: Any, parity: Any, kind: str, kwargs: dict) -> None:
    """training=False: the layer is the identity for the backward pass too."""
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5, 3)), lib.layers.Dense(4, activation="tanh"),
                               getattr(lib.layers, kind)(**kwargs), lib.layers.LSTM(3)])
    kmodel, rmodel = twins(K, build)
    x = _x((4, 5, 3), seed=5)
    y = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    compare_gradients(parity, K, kmodel, rmodel, x, y, f"{kind} training=False")


TRAINING = [case for case in SEMANTICS if len(case[2]) == 3]


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs, shape, noise", TRAINING,
                         ids=[i for i, c in zip(SEMANTICS_IDS, SEMANTICS) if len(c[2]) == 3])
def test_gradients_training_equal_tape_given_keras_noise(K: Any, parity: Any, kind: str,
                                                         kwargs: dict, shape: tuple,
                                                         noise: tuple) -> None:
    """training=True: Keras's noise of the taped call is recovered and given to rnnlens."""
    def build(lib: Any, outputs: str) -> Any:
        x = lib.Input(shape[1:], name="x")
        pre = lib.layers.Dense(shape[-1], name="pre")(x)
        post = getattr(lib.layers, kind)(**kwargs, name="noise")(pre)
        out = lib.layers.Dense(2, name="out")(post)
        return lib.Model(x, [pre, post, out] if outputs == "all" else out)

    kmodel, rmodel = twins(K, lambda lib: build(lib, "all" if lib is K else "out"))
    x = _x(shape, seed=9)
    y = np.random.default_rng(1).normal(size=(*shape[:-1], 2)).astype(np.float32)
    theirs, (pre, post, _) = tape_gradients(K, kmodel, x, y, True, pick=lambda o: o[2])
    pre, post = np.asarray(pre), np.asarray(post)
    draw = recovered_draw(kind, _rate(kwargs), pre, post, noise)
    inject(rmodel.get_layer("noise"), draw, noise)
    ours = gradients(rmodel, x, y, loss="mse", training=True)
    for k, (g, t) in enumerate(zip(ours, theirs)):
        check_rel(parity, g, t, 1e-4, f"{kind} training=True grad[{k}]")


# ------------------------------------------------------------------ statistics of the noise
def _ones(shape: tuple) -> np.ndarray:
    return np.ones(shape, np.float32)


def _within(value: float, expected: float, sd: float, name: str) -> None:
    assert abs(value - expected) <= 6 * sd, f"{name}: {value} vs {expected} (6 sd = {6 * sd})"


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_statistics(rate: float) -> None:
    n = 200_000
    out = RL.Dropout(rate, seed=3)(_ones((n,)), training=True)
    zeros = float(np.mean(out == 0))
    _within(zeros, rate, math.sqrt(rate * (1 - rate) / n), "zero fraction")
    kept = out[out != 0]
    np.testing.assert_array_equal(kept, np.float32(1.0 / (1.0 - rate)))   # exact scale
    _within(float(out.mean()), 1.0, math.sqrt(rate / (1 - rate) / n), "mean")


def test_dropout_noise_shape_statistics() -> None:
    out = RL.Dropout(0.5, noise_shape=(None, 1, None), seed=5)(_ones((400, 7, 50)),
                                                               training=True)
    assert (out == out[:, :1, :]).all()               # the same units drop at every step
    _within(float(np.mean(out[:, 0] == 0)), 0.5, math.sqrt(0.25 / 20_000), "zero fraction")
    out = RL.SpatialDropout1D(0.3, seed=6)(_ones((400, 7, 50)), training=True)
    assert (out == out[:, :1, :]).all()
    _within(float(np.mean(out[:, 0] == 0)), 0.3, math.sqrt(0.21 / 20_000), "spatial zeros")


@pytest.mark.parametrize("stddev", [0.1, 1.0])
def test_gaussian_noise_statistics(stddev: float) -> None:
    n = 200_000
    x = np.linspace(-2, 2, n).astype(np.float32)
    noise = RL.GaussianNoise(stddev, seed=1)(x, training=True) - x
    _within(float(noise.mean()), 0.0, stddev / math.sqrt(n), "mean")
    _within(float(noise.var()), stddev ** 2, stddev ** 2 * math.sqrt(2 / n), "variance")


@pytest.mark.parametrize("rate", [0.2, 0.6])
def test_gaussian_dropout_statistics(rate: float) -> None:
    n = 200_000
    var = rate / (1 - rate)
    noise = RL.GaussianDropout(rate, seed=2)(_ones((n,)), training=True)
    _within(float(noise.mean()), 1.0, math.sqrt(var / n), "mean")
    _within(float(noise.var()), var, var * math.sqrt(2 / n), "variance")


@pytest.mark.parametrize("rate", [0.1, 0.4])
def test_alpha_dropout_keeps_mean_and_variance(rate: float) -> None:
    """On SELU-like (standard normal) inputs the output keeps mean 0 and variance 1."""
    n = 400_000
    x = np.random.default_rng(7).standard_normal(n).astype(np.float32)
    out = RL.AlphaDropout(rate, seed=3)(x, training=True)
    dropped = float(np.mean(np.isclose(out, _alpha_const(rate), rtol=0, atol=1e-6)))
    _within(dropped, rate, math.sqrt(rate * (1 - rate) / n), "drop fraction")
    _within(float(out.mean()), 0.0, 2 / math.sqrt(n), "mean")
    _within(float(out.var()), 1.0, 4 / math.sqrt(n), "variance")


def test_seeds_reproduce_and_calls_differ() -> None:
    x = _ones((50, 20))
    a, b = RL.Dropout(0.5, seed=9), RL.Dropout(0.5, seed=9)
    first = a(x, training=True)
    np.testing.assert_array_equal(first, b(x, training=True))
    assert not np.array_equal(first, a(x, training=True))       # a new draw per call
    rnnlens.random.set_random_seed(4)
    c = RL.GaussianNoise(0.5)(x, training=True)
    rnnlens.random.set_random_seed(4)
    np.testing.assert_array_equal(c, RL.GaussianNoise(0.5)(x, training=True))


# ------------------------------------------------------------------ configs, files, summary
CONFIGS = [
    ("Dropout", {"rate": 0.5}),
    ("Dropout", {"rate": 0.25, "noise_shape": (None, 1, 3), "seed": 7}),
    ("Dropout", {"rate": 1}),
    ("SpatialDropout1D", {"rate": 0.3, "seed": 2}),
    ("SpatialDropout2D", {"rate": 0.3}),
    ("SpatialDropout2D", {"rate": 0.3, "data_format": "channels_first", "seed": 1}),
    ("SpatialDropout3D", {"rate": 0.1, "data_format": "CHANNELS_LAST"}),
    ("GaussianNoise", {"stddev": 0.2, "seed": 3}),
    ("GaussianDropout", {"rate": 0.6}),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": (None, 1, None), "seed": 5}),
    ("ActivityRegularization", {}),
    ("ActivityRegularization", {"l1": 0.1, "l2": 2}),
    ("ActivityRegularization", {"l1": None, "l2": 0.5}),
]


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", CONFIGS, ids=[k for k, _ in CONFIGS])
def test_config_equals_keras(K: Any, kind: str, kwargs: dict) -> None:
    theirs = getattr(K.layers, kind)(**kwargs, name="lay").get_config()
    ours = getattr(RL, kind)(**kwargs, name="lay").get_config()
    assert ours == theirs
    assert list(ours) == list(theirs)                        # same key order
    again = getattr(RL, kind).from_config(theirs).get_config()
    assert again == theirs
    assert getattr(K.layers, kind).from_config(ours).get_config() == theirs


def _sequential(kind: str, kwargs: dict, shape: tuple) -> Any:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input(shape), lib.layers.Dense(4, name="d"),
                               getattr(lib.layers, kind)(**kwargs, name="reg"),
                               lib.layers.Dense(2, name="out")], name="seq")
    return build


FILES = [("Dropout", {"rate": 0.3, "noise_shape": (None, 1, None), "seed": 2}, (5, 3)),
         ("SpatialDropout1D", {"rate": 0.4}, (5, 3)),
         ("SpatialDropout2D", {"rate": 0.4, "data_format": "channels_first"}, (2, 3, 3)),
         ("SpatialDropout3D", {"rate": 0.4}, (2, 2, 3, 3)),
         ("GaussianNoise", {"stddev": 0.5, "seed": 1}, (5, 3)),
         ("GaussianDropout", {"rate": 0.5}, (5, 3)),
         ("AlphaDropout", {"rate": 0.5, "noise_shape": (None, 5, 1)}, (5, 3)),
         ("ActivityRegularization", {"l1": 0.1, "l2": 0.01}, (5, 3))]


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs, shape", FILES, ids=[f[0] for f in FILES])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, kind: str, kwargs: dict,
                         shape: tuple) -> None:
    file_round_trips(parity, K, _sequential(kind, kwargs, shape), _x((3, *shape)), tmp_path,
                     kind)


@pytest.mark.keras
def test_functional_masked_file_both_ways(K: Any, parity: Any, tmp_path: Path) -> None:
    file_round_trips(parity, K, _masked_lstm("Dropout", {"rate": 0.5, "seed": 1}), _padded(),
                     tmp_path, "masked")


@pytest.mark.keras
def test_summary_equals_keras(K: Any) -> None:
    def build(lib: Any) -> Any:
        L = lib.layers
        return lib.Sequential([
            lib.Input((5, 3)), L.Dropout(0.2, name="dropout"),
            L.SpatialDropout1D(0.1, name="spatial_dropout1d"),
            L.GaussianNoise(0.1, name="gaussian_noise"),
            L.GaussianDropout(0.1, name="gaussian_dropout"),
            L.AlphaDropout(0.1, name="alpha_dropout"),
            L.ActivityRegularization(0.1, name="activity_regularization"),
            L.LSTM(2, name="lstm")], name="regs")
    assert summary_text(build(rnnlens)) == summary_text(build(K))

    def build_2d(lib: Any) -> Any:
        x = lib.Input((4, 4, 3), name="img")
        a = lib.layers.SpatialDropout2D(0.5, name="sd2")(x)
        b = lib.layers.GaussianNoise(0.5, name="gn")(x)
        return lib.Model(x, lib.layers.Concatenate(name="cat")([a, b]), name="two")
    assert summary_text(build_2d(rnnlens)) == summary_text(build_2d(K))


# ------------------------------------------------------------------ activity regularization
@pytest.mark.keras
def test_activity_regularization_loss_and_gradients_equal_keras(K: Any, parity: Any) -> None:
    """Keras adds ``L1L2(l1, l2)(output) / batch`` to the loss (fit, evaluate, the tape)."""
    build = _sequential("ActivityRegularization", {"l1": 0.05, "l2": 0.1}, (5, 3))
    kmodel, rmodel = twins(K, build)
    x, y = _x((4, 5, 3), seed=3), np.random.default_rng(2).normal(size=(4, 5, 2))
    y = y.astype(np.float32)
    theirs, _ = tape_gradients(K, kmodel, x, y, False, extra_losses=True)
    ours = gradients(rmodel, x, y, loss="mse")
    for k, (g, t) in enumerate(zip(ours, theirs)):
        check_rel(parity, g, t, 1e-4, f"ActivityRegularization grad[{k}]")
    for model in (kmodel, rmodel):
        model.compile(optimizer="sgd", loss="mse")
    parity(rmodel.evaluate(x, y, verbose=0), kmodel.evaluate(x, y, verbose=0),
           name="ActivityRegularization evaluate")


@pytest.mark.keras
def test_fit_history_with_deterministic_noise_layers_equals_keras(K: Any, parity: Any) -> None:
    """Rate / stddev 0 layers in training: the history equals Keras's exactly."""
    def build(lib: Any) -> Any:
        L = lib.layers
        return lib.Sequential([lib.Input((5, 3)), L.Dense(4, name="d"), L.Dropout(0.0),
                               L.GaussianNoise(0.0), L.AlphaDropout(0.0),
                               L.GaussianDropout(0.0), L.LSTM(2, name="l")])
    kmodel, rmodel = twins(K, build)
    x, y = _x((8, 5, 3), seed=4), np.random.default_rng(3).normal(size=(8, 2))
    for model in (kmodel, rmodel):
        model.compile(optimizer="sgd", loss="mse")
    kh = kmodel.fit(x, y.astype(np.float32), epochs=3, batch_size=4, shuffle=False, verbose=0)
    rh = rmodel.fit(x, y.astype(np.float32), epochs=3, batch_size=4, shuffle=False, verbose=0)
    parity(rh.history["loss"], kh.history["loss"], name="fit loss history")
    parity(rmodel.get_weights(), kmodel.get_weights(), name="fit weights")


# ------------------------------------------------------------------ errors and fuzz
def test_call_time_errors_are_clear() -> None:
    x = _ones((2, 4, 3))
    with pytest.raises(ValueError, match="noise must broadcast"):
        RL.Dropout(0.5, noise_shape=(2, 5, 3))(x, training=True)
    with pytest.raises(ValueError, match="noise must broadcast"):
        RL.AlphaDropout(0.5, noise_shape=(2, 4, 3, 1))(x, training=True)
    with pytest.raises(ValueError, match="None entries"):
        RL.Dropout(0.5, noise_shape=(None, None, None, None))(x, training=True)
    np.testing.assert_array_equal(RL.Dropout(0.5, noise_shape=(7,))(x), x)  # inference: ok
    with pytest.raises(ValueError, match="rate=1.0"):
        RL.GaussianDropout(1.0)(x, training=True)
    with pytest.raises(ValueError, match="rate=1.0"):
        RL.AlphaDropout(1.0)(x, training=True)
    with pytest.raises(ValueError, match="expected ndim=3"):
        RL.SpatialDropout1D(0.5)(_ones((2, 3)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        RL.SpatialDropout2D(0.5)(x)
    with pytest.raises(TypeError, match="activity_regularizer"):
        RL.ActivityRegularization(0.1, activity_regularizer="l2")
    with pytest.raises(ValueError, match="data_format"):
        RL.SpatialDropout2D(0.5, data_format="channels_middle")


@pytest.mark.keras
@pytest.mark.parametrize("kind, arg, value", [
    ("Dropout", "rate", 1.5), ("Dropout", "rate", -0.1), ("Dropout", "rate", float("nan")),
    ("Dropout", "rate", "a"), ("Dropout", "noise_shape", (0,)),
    ("Dropout", "noise_shape", (1.5,)), ("Dropout", "noise_shape", "ab"),
    ("Dropout", "noise_shape", 3), ("Dropout", "noise_shape", [None, -1]),
    ("GaussianNoise", "stddev", 2.0), ("GaussianNoise", "stddev", -1.0),
    ("GaussianNoise", "stddev", float("inf")), ("GaussianDropout", "rate", 1.01),
    ("AlphaDropout", "rate", -1), ("SpatialDropout1D", "rate", 2),
    ("ActivityRegularization", "l1", -0.5), ("ActivityRegularization", "l2", float("nan")),
])
def test_bad_arguments_refused_as_keras_refuses(K: Any, kind: str, arg: str,
                                                value: Any) -> None:
    kwargs = {arg: value, **({"rate": 0.5} if arg == "noise_shape" else {})}
    with pytest.raises((ValueError, TypeError)):
        getattr(K.layers, kind)(**kwargs)
    with pytest.raises((ValueError, TypeError)) as info:
        getattr(RL, kind)(**kwargs)
    assert arg in str(info.value)


_NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                     st.none(), st.text(max_size=3), st.booleans())
_DIMS = st.one_of(st.none(), st.integers(-3, 8), st.floats(-2, 8), st.text(max_size=2))
_NOISE = st.one_of(st.none(), st.lists(_DIMS, max_size=5), st.tuples(_DIMS, _DIMS, _DIMS),
                   st.integers(-2, 4), st.text(max_size=3))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise",
                             "SpatialDropout1D", "ActivityRegularization"]),
       value=_NUMBERS, noise=_NOISE, training=st.booleans(),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_fuzz_arguments_and_calls(kind: str, value: Any, noise: Any, training: bool,
                                  shape: list) -> None:
    """Any argument and input rank: a correct result or a ValueError / TypeError."""
    arg = {"GaussianNoise": "stddev", "ActivityRegularization": "l1"}.get(kind, "rate")
    kwargs: dict = {arg: value}
    if kind in ("Dropout", "AlphaDropout"):
        kwargs["noise_shape"] = noise
    try:
        layer = getattr(RL, kind)(**kwargs)
    except (ValueError, TypeError):
        return
    x = _ones(tuple(shape)) * 2.0
    try:
        out = layer(x, training=training)
    except (ValueError, TypeError):
        return
    assert out.shape == x.shape and out.dtype == np.float32
    if not training or kind == "ActivityRegularization" or not getattr(layer, arg):
        np.testing.assert_array_equal(out, x)
    elif kind in ("Dropout", "SpatialDropout1D"):
        assert set(np.unique(out)) <= {0.0, np.float32(2.0 / (1.0 - layer.rate))} \
            if layer.rate < 1 else not out.any()
