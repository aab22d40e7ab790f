"""BatchNormalization and LayerNormalization against live Keras 3.15.1 (TensorFlow backend).

* values: eager calls over many shapes and axes (2-D, 3-D sequences, 4-D, axis lists,
  center / scale off, rms_scaling, renorm, synchronized), at inference and in training
  mode (outputs and the moving statistics after several calls), with masks;
* models: a ``fit`` history and all four BatchNormalization weights against Keras's
  (Masking -> BatchNormalization -> LSTM -> LayerNormalization), a frozen
  (``trainable=False``) BatchNormalization that Keras 3 runs in inference mode even in
  ``fit``, renorm in ``fit``;
* gradients: ``rnnlens.training.gradients`` against ``tf.GradientTape`` in both modes
  (the moving statistics the tape's forward updates compared too), ``Model.backward``
  against the tape on the inputs, and float64 finite differences of every branch;
* ``get_config()`` equal to Keras's (LayerNormalization's axis becomes a sorted list once
  built), ``.keras`` / ``.h5`` files both ways, tf.keras 2 ``.h5`` files (axis saved as a
  list) trained a few steps by ``tf_keras``, ``summary()`` with non-trainable params;
* hypothesis: training-mode outputs have mean 0 / variance var/(var+eps) per channel,
  LayerNormalization of ``a x + b`` is LayerNormalization of ``x`` with epsilon / a^2;
  fuzz of bad arguments and inputs (only a ValueError / TypeError raised by rnnlens).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from merge_reshape_parity import (assert_raised_by_rnnlens, build_pair, check_rel,
                                  files_both_ways, floats, leaves, load_keras, np_mask,
                                  padded, plain_config, summary_text)
from oracle import assert_close
from rnnlens import layers as RL

pytestmark = pytest.mark.filterwarnings("ignore:.*rms_scaling.*:UserWarning")


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


def _stat_weights(layer: Any, seed: int) -> list[np.ndarray]:
    """Random weights with positive variances (moving_variance, stddevs)."""
    rng = np.random.default_rng(seed)
    out = []
    for w in layer.weights:
        name = w.path.split("/")[-1] if hasattr(w, "path") else ""
        low = 0.2 if "var" in name or "stddev" in name or "gamma" in name else -1.0
        out.append(rng.uniform(low, 1.5, size=tuple(w.shape)).astype(np.float32))
    return out


def _layer_pair(K: Any, cls: str, kwargs: dict, shape: tuple, seed: int) -> tuple[Any, Any]:
    kl, rl = getattr(K.layers, cls)(**kwargs), getattr(RL, cls)(**kwargs)
    kl.build(shape)
    rl.build(shape)
    weights = _stat_weights(kl, seed)
    kl.set_weights(weights)
    rl.set_weights(weights)
    return kl, rl


# ---------------------------------------------------------------------------- eager values
BN_CASES = [({}, (6, 5, 3)), ({"axis": 1}, (6, 5, 3)), ({"axis": -2}, (4, 5, 3)),
            ({}, (7, 4)), ({"axis": 0}, (7, 4)), ({"axis": 1}, (3, 4, 5, 2)),
            ({"axis": 2}, (3, 4, 5, 2)), ({}, (3, 4, 5, 2)), ({"center": False}, (6, 5, 3)),
            ({"scale": False}, (6, 5, 3)), ({"center": False, "scale": False}, (6, 5, 3)),
            ({"momentum": 0.5, "epsilon": 0.1}, (6, 5, 3)), ({"synchronized": True}, (6, 5, 3)),
            ({"renorm": True}, (6, 5, 3)),
            ({"renorm": True, "renorm_clipping": {"rmax": 1.1, "rmin": 0.9, "dmax": 0.05},
              "renorm_momentum": 0.8}, (6, 5, 3)),
            ({"renorm": True, "scale": False, "center": False}, (6, 5, 3)),
            ({}, (5, 1))]


@pytest.mark.parametrize("kwargs,shape", BN_CASES, ids=[f"{k}{s}" for k, s in BN_CASES])
def test_batchnorm_eager(K: Any, parity: Any, kwargs: dict, shape: tuple) -> None:
    """Inference, then training-mode outputs and the statistics after each of 3 calls."""
    kl, rl = _layer_pair(K, "BatchNormalization", kwargs, shape, seed=len(shape))
    x = floats(shape, 1, scale=2.0) + 1.5
    parity(rl(x), np.asarray(kl(x)), name="inference")
    for step in range(3):
        xs = x * (1 + step) - step
        parity(rl(xs, training=True), np.asarray(kl(xs, training=True)), name=f"train {step}")
        parity(rl.get_weights(), kl.get_weights(), name=f"weights after {step}")
    parity(rl(x), np.asarray(kl(x)), name="inference after training")


def test_batchnorm_synchronized_statistics(K: Any, parity: Any) -> None:
    """Keras's synchronized=True uses E[x^2] - mean^2 (visible with a large mean)."""
    x = floats((8, 5, 3), 2, scale=0.01) + 300.0
    outs = {}
    for sync in (False, True):
        kl, rl = _layer_pair(K, "BatchNormalization", {"synchronized": sync}, x.shape, 3)
        outs[sync] = np.asarray(kl(x, training=True))
        parity(rl(x, training=True), outs[sync], name=f"synchronized={sync}")
        parity(rl.get_weights(), kl.get_weights(), name=f"weights synchronized={sync}")
    assert np.abs(outs[True] - outs[False]).max() > 1e-3      # the two formulas differ


def test_batchnorm_masked_training(K: Any, parity: Any) -> None:
    """Masked steps are left out of the batch statistics (Keras's masked moments)."""
    for shape, axis in (((5, 6, 3), -1), ((5, 6, 3), 1), ((4, 6, 1), -1),
                        ((3, 4, 2, 3), -1)):
        kl, rl = _layer_pair(K, "BatchNormalization", {"axis": axis}, shape, 4)
        x = floats(shape, 5) + 0.5
        mask = np.random.default_rng(6).random(shape[:-1]) > 0.3
        mask[0] = False                                       # a fully masked sample
        for _ in range(2):
            parity(rl(x, training=True, mask=mask),
                   np.asarray(kl(x, training=True, mask=mask)), name=f"masked {shape}")
        parity(rl.get_weights(), kl.get_weights(), name=f"masked weights {shape}")
        parity(rl(x, mask=mask), np.asarray(kl(x, mask=mask)), name="masked inference")


LN_CASES = [({}, (6, 5, 3)), ({"axis": 1}, (6, 5, 3)), ({"axis": (1, 2)}, (6, 5, 3)),
            ({"axis": [2, 1]}, (6, 5, 3)), ({"axis": [-1, 1]}, (4, 5, 3)), ({}, (7, 4)),
            ({"axis": (1, 3)}, (3, 4, 5, 2)), ({"axis": -2}, (3, 4, 5, 2)),
            ({"center": False}, (6, 5, 3)), ({"scale": False}, (6, 5, 3)),
            ({"center": False, "scale": False, "epsilon": 0.5}, (6, 5, 3)),
            ({"rms_scaling": True}, (6, 5, 3)), ({"rms_scaling": True, "axis": (1, 2)},
                                                 (6, 5, 3)),
            ({"rms_scaling": True, "scale": False}, (6, 5, 3)), ({"axis": 0}, (4, 3))]


@pytest.mark.parametrize("kwargs,shape", LN_CASES, ids=[f"{k}{s}" for k, s in LN_CASES])
def test_layernorm_eager(K: Any, parity: Any, kwargs: dict, shape: tuple) -> None:
    kl, rl = _layer_pair(K, "LayerNormalization", kwargs, shape, seed=len(shape))
    x = floats(shape, 7, scale=3.0) - 1.0
    parity(rl(x), np.asarray(kl(x)), name="values")
    parity(rl(x, training=True), np.asarray(kl(x, training=True)), name="training")
    assert rl.get_config() == kl.get_config()


def test_masks_pass_through(K: Any) -> None:
    """Both layers keep the input's mask (eager ``_keras_mask``), as Keras."""
    x = padded((4, 5, 3), 8)
    for cls in ("BatchNormalization", "LayerNormalization"):
        outs = []
        for lib in (K, rnnlens):
            masked = lib.layers.Masking()(x)
            outs.append(np_mask(getattr(lib.layers, cls)()(masked, training=True)))
        np.testing.assert_array_equal(outs[1], outs[0])
        assert outs[1] is not None


# ---------------------------------------------------------------------------- models
def _masked_rnn(lib: Any) -> Any:
    inp = lib.Input((6, 3))
    x = lib.layers.BatchNormalization()(lib.layers.Masking()(inp))
    x = lib.layers.LSTM(4, return_sequences=True)(x)
    x = lib.layers.LayerNormalization()(x)
    return lib.Model(inp, lib.layers.Dense(2)(lib.layers.LSTM(3)(x)))


def _sequence_out(lib: Any) -> Any:
    inp = lib.Input((6, 3))
    x = lib.layers.BatchNormalization(momentum=0.8)(lib.layers.Masking()(inp))
    x = lib.layers.LSTM(4, return_sequences=True)(x)
    x = lib.layers.LayerNormalization(axis=(1, 2))(x)
    return lib.Model(inp, lib.layers.Dense(1)(x))


def _dense_bn(lib: Any) -> Any:
    """No bias right before a normalization, and no linear map alone between two: those
    gradients are zero up to rounding noise, which Adam would amplify into updates."""
    return lib.Sequential([lib.Input((5,)), lib.layers.Dense(4, use_bias=False),
                           lib.layers.BatchNormalization(renorm=True, renorm_momentum=0.9),
                           lib.layers.Dense(4, activation="tanh", use_bias=False),
                           lib.layers.BatchNormalization(axis=1, center=False),
                           lib.layers.LayerNormalization(rms_scaling=True),
                           lib.layers.Dense(2)])


def _frozen(lib: Any) -> Any:
    inp = lib.Input((6, 3))
    bn = lib.layers.BatchNormalization(name="frozen_bn")
    bn.trainable = False
    x = lib.layers.LSTM(4, return_sequences=True)(bn(inp))
    return lib.Model(inp, lib.layers.Dense(2)(lib.layers.LSTM(3)(x)))


def _conv_like(lib: Any) -> Any:
    inp = lib.Input((4, 5, 3))
    x = lib.layers.BatchNormalization(axis=1)(inp)
    x = lib.layers.Dense(3, activation="tanh")(x)
    x = lib.layers.LayerNormalization(axis=(2, 3))(x)
    x = lib.layers.Reshape((4, 15))(x)
    return lib.Model(inp, lib.layers.Dense(2)(lib.layers.GRU(3)(x)))


MODELS: dict[str, tuple[Callable[[Any], Any], Callable[[], np.ndarray]]] = {
    "masked_rnn": (_masked_rnn, lambda: padded((8, 6, 3), 9)),
    "sequence_out": (_sequence_out, lambda: padded((8, 6, 3), 10)),
    "dense_bn": (_dense_bn, lambda: floats((8, 5), 11)),
    "frozen": (_frozen, lambda: floats((8, 6, 3), 12)),
    "conv_like": (_conv_like, lambda: floats((8, 4, 5, 3), 13)),
}


def _pair(K: Any, case: str, seed: int) -> tuple[Any, Any, np.ndarray]:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=seed)
    weights = [np.abs(w) + 0.1 if "variance" in v.path or "stddev" in v.path else w
               for w, v in zip(km.get_weights(), km.weights)]
    km.set_weights(weights)
    rm.set_weights(weights)
    return km, rm, make()


@pytest.mark.parametrize("case", list(MODELS))
def test_models_predict(K: Any, parity: Any, case: str) -> None:
    km, rm, x = _pair(K, case, 1)
    parity(leaves(rm.predict(x, batch_size=4)), leaves(km.predict(x, batch_size=4, verbose=0)),
           name=f"{case} predict")
    parity(leaves(rm(x, training=True)), leaves(km(x, training=True)),
           name=f"{case} model(x, training=True)")
    parity(rm.get_weights(), km.get_weights(), name=f"{case} statistics after training call")


@pytest.mark.parametrize("case", list(MODELS))
def test_fit_history_and_statistics(K: Any, parity: Any, case: str) -> None:
    """Losses per epoch and every weight (moving statistics included) after ``fit``."""
    km, rm, x = _pair(K, case, 2)
    y = floats(np.shape(km(x)), 14)
    before = [w.copy() for w in rm.get_weights()]
    for model, lib in ((km, K), (rm, rnnlens)):
        model.compile(optimizer=lib.optimizers.Adam(0.02), loss="mse")
    k_hist = km.fit(x, y, batch_size=3, epochs=3, shuffle=False, verbose=0).history
    r_hist = rm.fit(x, y, batch_size=3, epochs=3, shuffle=False, verbose=0).history
    parity(np.asarray(r_hist["loss"]), np.asarray(k_hist["loss"]), name=f"{case} fit loss")
    for ours, theirs, v in zip(rm.get_weights(), km.get_weights(), km.weights):
        parity(ours, theirs, name=f"{case} {v.path} after fit")
    moved = [not np.array_equal(a, b) for a, b in zip(before, rm.get_weights())]
    names = [v.path for v in km.weights]
    stats_moved = [m for m, n in zip(moved, names) if "moving" in n]
    if case == "frozen":
        assert not any(m for m, n in zip(moved, names) if "frozen_bn" in n)
    else:
        assert stats_moved and all(stats_moved)
    parity(leaves(rm.predict(x)), leaves(km.predict(x, verbose=0)), name=f"{case} after fit")


def test_frozen_runs_in_inference_mode(K: Any, parity: Any) -> None:
    """Keras 3 runs a BatchNormalization with trainable=False with its moving statistics,
    even when called with training=True, and leaves them unchanged."""
    kl, rl = _layer_pair(K, "BatchNormalization", {}, (6, 5, 3), 15)
    kl.trainable = rl.trainable = False
    x = floats((6, 5, 3), 16) + 2.0
    before = rl.get_weights()
    parity(rl(x, training=True), np.asarray(kl(x, training=True)), name="frozen training=True")
    parity(rl(x, training=True), rl(x), name="frozen = inference")
    parity(rl.get_weights(), before, name="frozen statistics unchanged")
    parity(rl.get_weights(), kl.get_weights(), name="frozen statistics as Keras")


def _tape_grads(K: Any, model: Any, x: np.ndarray, y: np.ndarray, training: bool) -> list:
    import tensorflow as tf  # noqa: PLC0415

    with tf.GradientTape() as tape:
        pred = tf.identity(model(x, training=training))
        loss = K.losses.MeanSquaredError()(y, pred)
    grads = tape.gradient(loss, model.trainable_weights)
    return [np.asarray(tf.convert_to_tensor(g)) for g in grads]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("case", ["masked_rnn", "dense_bn", "frozen", "conv_like"])
def test_weight_gradients(K: Any, parity: Any, case: str, training: bool) -> None:
    km, rm, x = _pair(K, case, 3)
    y = floats(np.shape(km(x)), 17)
    expected = _tape_grads(K, km, x, y, training)
    ours = rnnlens.training.gradients(rm, x, y, "mse", training=training)
    trainable = {id(w) for w in rm.trainable_weights}
    ours = [g for g, w in zip(ours, rm.weights) if id(w) in trainable]
    assert len(ours) == len(expected)
    for k, (a, e) in enumerate(zip(ours, expected)):
        check_rel(parity, np.asarray(a), e, f"{case} training={training} grad {k}")
    parity(rm.get_weights(), km.get_weights(), name="statistics after the tape's forward")


INPUT_GRADS = [("BatchNormalization", {}, (6, 5, 3)), ("BatchNormalization", {"axis": 1},
                                                      (3, 4, 5, 2)),
               ("BatchNormalization", {"synchronized": True, "center": False}, (6, 4)),
               ("BatchNormalization", {"renorm": True, "renorm_clipping": {"rmax": 1.05}},
                (6, 5, 3)),
               ("LayerNormalization", {}, (6, 5, 3)), ("LayerNormalization", {"axis": (1, 2)},
                                                       (6, 5, 3)),
               ("LayerNormalization", {"rms_scaling": True}, (6, 5, 3))]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("cls,kwargs,shape", INPUT_GRADS,
                         ids=[f"{c}{k}{s}" for c, k, s in INPUT_GRADS])
def test_input_gradients(K: Any, parity: Any, cls: str, kwargs: dict, shape: tuple,
                         training: bool) -> None:
    """Model.backward on the input against the tape, at inference and in training."""
    import tensorflow as tf  # noqa: PLC0415

    kl, rl = _layer_pair(K, cls, kwargs, shape, 18)
    x = floats(shape, 19) * 2 + 1
    d_out = floats(shape, 20)
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        out = kl(t, training=training)
    expected = np.asarray(tape.gradient(out, t, output_gradients=tf.constant(d_out)))
    i = rnnlens.Input(shape[1:])
    rm = rnnlens.Model(i, rl(i))
    _, cache = rm.forward(x, training=training)
    ours, _, _ = rm.backward(cache, d_out)
    check_rel(parity, ours, expected, f"{cls} d input training={training}", rtol=1e-5)


# ---------------------------------------------------------------------------- configs, files
CONFIGS = [("BatchNormalization", {}),
           ("BatchNormalization", {"axis": 1, "momentum": 0.9, "epsilon": 1e-5,
                                   "center": False, "scale": False,
                                   "beta_initializer": "ones", "gamma_initializer": "zeros",
                                   "moving_mean_initializer": "ones",
                                   "moving_variance_initializer": "zeros",
                                   "beta_regularizer": "l2", "gamma_regularizer": "l1",
                                   "beta_constraint": "non_neg",
                                   "gamma_constraint": "unit_norm", "synchronized": True}),
           ("BatchNormalization", {"renorm": True}),
           ("BatchNormalization", {"renorm": True, "renorm_clipping": {"rmax": 3.0},
                                   "renorm_momentum": 0.5}),
           ("LayerNormalization", {}), ("LayerNormalization", {"axis": (2, 1)}),
           ("LayerNormalization", {"axis": [1], "epsilon": 0.1, "center": False,
                                   "scale": False, "beta_regularizer": "l2",
                                   "gamma_constraint": "non_neg"}),
           ("LayerNormalization", {"rms_scaling": True, "name": "ln", "trainable": False})]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[f"{c}{k}" for c, k in CONFIGS])
def test_get_config(K: Any, cls: str, kwargs: dict) -> None:
    """Equal to Keras's before and after build (LayerNormalization's axis turns into a
    sorted list), key order included; from_config both ways."""
    K.backend.clear_session()
    rnnlens.utils.clear_session()
    kl, rl = getattr(K.layers, cls)(**kwargs), getattr(RL, cls)(**kwargs)
    assert rl.get_config() == kl.get_config()
    assert list(rl.get_config()) == list(kl.get_config())
    kl.build((2, 3, 4))
    rl.build((2, 3, 4))
    theirs = kl.get_config()
    assert rl.get_config() == theirs
    assert [tuple(w.shape) for w in kl.weights] == [w.shape for w in rl.weights]
    assert [w.path.split("/")[-1] for w in kl.weights] == [r.name for r in
                                                           rl.weight_records()]
    assert getattr(RL, cls).from_config(theirs).get_config() == theirs
    assert getattr(K.layers, cls).from_config(rl.get_config()).get_config() == theirs
    assert plain_config(RL.deserialize(RL.serialize(rl)).get_config()) == plain_config(theirs)


@pytest.mark.parametrize("case", ["masked_rnn", "sequence_out", "dense_bn", "conv_like",
                                  "frozen"])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    km, rm, x = _pair(K, case, 4)
    files_both_ways(K, parity, km, rm, x, tmp_path, case)


def _tf_keras() -> Any:
    try:
        import tf_keras  # noqa: PLC0415
    except ImportError:
        pytest.skip("tf_keras is not installed")
    return tf_keras


def test_tf_keras_h5_files(K: Any, parity: Any, tmp_path: Path) -> None:
    """tf.keras 2 saves BatchNormalization's axis as [2] and LayerNormalization's as a
    list; after a few training steps (non-trivial moving statistics) the .h5 file loads in
    rnnlens with equal predictions and weights."""
    tk = _tf_keras()
    tk.utils.set_random_seed(0)
    L = tk.layers
    seq = tk.Sequential([L.Masking(input_shape=(6, 3)), L.BatchNormalization(),
                         L.LSTM(4, return_sequences=True), L.LayerNormalization(axis=[1, 2]),
                         L.LayerNormalization(), L.Dense(1)])
    inp = tk.Input((5,))
    h = L.BatchNormalization(axis=1, momentum=0.7)(L.Dense(4)(inp))
    func = tk.Model(inp, L.Dense(2)(L.LayerNormalization(epsilon=0.01)(h)))
    for model, x in ((seq, padded((9, 6, 3), 21)), (func, floats((9, 5), 22))):
        y = floats(tuple(model.output_shape[1:]), 23)[None].repeat(len(x), 0)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0)
        path = tmp_path / f"{model.name}.h5"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(path)
        loaded = rnnlens.models.load_model(path)
        parity(loaded.get_weights(), model.get_weights(), name=f"{model.name} weights")
        assert not np.allclose(loaded.get_weights()[2], 0)           # moving mean moved
        parity(leaves(loaded.predict(x)), leaves(model.predict(x, verbose=0)),
               name=f"{model.name} predict")


def test_tf_keras_multi_axis_batchnorm_refused(tmp_path: Path) -> None:
    """tf.keras's BatchNormalization over several axes has no Keras 3 equivalent."""
    tk = _tf_keras()
    model = tk.Sequential([tk.Input((4, 3)), tk.layers.BatchNormalization(axis=[1, 2])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "multi.h5")
    with pytest.raises(ValueError, match="several"):
        rnnlens.models.load_model(tmp_path / "multi.h5")


@pytest.mark.parametrize("case", ["conv_like", "dense_bn", "frozen"])
def test_summary_equals_keras(K: Any, case: str) -> None:
    """Non-trainable params (the moving statistics, a frozen layer) counted as Keras.

    (Models with Masking are left out: Keras 3 records the mask computation of a layer
    whose ``call`` takes ``mask`` as NotEqual / Any op rows of its summary.)"""
    km, rm, _ = _pair(K, case, 5)
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"


# ---------------------------------------------------------------------------- errors
def _bad(lib: Any) -> dict[str, Callable[[], Any]]:
    L = lib.layers
    x = np.ones((2, 3, 4), np.float32)
    return {
        "bn axis list": lambda: L.BatchNormalization(axis=[1, 2]),
        "bn axis None": lambda: L.BatchNormalization(axis=None),
        "bn clipping keys": lambda: L.BatchNormalization(renorm=True,
                                                         renorm_clipping={"x": 1}),
        "bn clipping order": lambda: L.BatchNormalization(renorm=True,
                                                          renorm_clipping={"rmax": 1,
                                                                           "rmin": 2}),
        "bn clipping dmax": lambda: L.BatchNormalization(renorm=True,
                                                         renorm_clipping={"dmax": -1}),
        "bn mask rank": lambda: L.BatchNormalization()(x, training=True,
                                                       mask=np.ones((2,), bool)),
        "ln axis float": lambda: L.LayerNormalization(axis=1.0),
        "ln axis None": lambda: L.LayerNormalization(axis=None),
        "bn unknown kwarg": lambda: L.BatchNormalization(fused=True),
    }


@pytest.mark.parametrize("case", list(_bad(rnnlens)))
def test_errors_like_keras(K: Any, case: str) -> None:
    with pytest.raises((ValueError, TypeError)) as theirs:
        _bad(K)[case]()
    with pytest.raises(theirs.type):
        _bad(rnnlens)[case]()


def test_clear_errors_where_keras_fails_deep_inside() -> None:
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="out of bounds"):
        RL.BatchNormalization(axis=2)(x)
    with pytest.raises(ValueError, match="out of bounds"):
        RL.LayerNormalization(axis=(1, 4))(x)
    with pytest.raises(ValueError, match="repeats"):
        RL.LayerNormalization(axis=(1, -1))(x)
    with pytest.raises(ValueError, match="known size"):
        RL.BatchNormalization(axis=1)(rnnlens.Input((None, 3)))
    with pytest.raises(ValueError, match="built for"):
        bn = RL.BatchNormalization()
        bn(x)
        bn(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="built for"):
        ln = RL.LayerNormalization()
        ln(x)
        ln(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        RL.BatchNormalization()(np.ones((2, 3, 4), np.float32), training=True,
                                mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="epsilon"):
        RL.LayerNormalization(epsilon=-1.0)
    with pytest.raises(TypeError, match="momentum"):
        RL.BatchNormalization(momentum="a")            # Keras: float('a') fails
    with pytest.raises(ValueError, match="renorm_clipping"):
        RL.BatchNormalization(renorm_clipping={"rmax": float("nan")})


# ---------------------------------------------------------------------------- properties
def _shaped(draw: Any) -> np.ndarray:
    shape = tuple(draw(st.lists(st.integers(2, 4), min_size=2, max_size=4)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * rng.uniform(0.5, 5) + rng.uniform(-5, 5)).astype(
        np.float32)


shaped = st.composite(_shaped)()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shaped, st.data())
def test_property_batchnorm_training_statistics(x: np.ndarray, data: Any) -> None:
    """Per channel, the training output has mean 0 and variance var / (var + eps); the
    moving statistics move by (1 - momentum) towards the batch's."""
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    momentum = data.draw(st.floats(0.0, 1.0))
    layer = RL.BatchNormalization(axis=axis, momentum=momentum)
    y = layer(x, training=True).astype(np.float64)
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    var = np.var(x.astype(np.float64), axis=axes)
    assert_close(np.mean(y, axis=axes), np.zeros_like(var), atol=1e-4, name="mean")
    assert_close(np.var(y, axis=axes), var / (var + 1e-3), atol=1e-4, name="variance")
    mean = np.mean(x.astype(np.float64), axis=axes)
    assert_close(layer.moving_mean, mean * (1 - momentum), atol=1e-4, name="moving mean")
    assert_close(layer.moving_variance, momentum + var * (1 - momentum),
                 atol=1e-4 * max(1.0, float(var.max())), name="moving variance")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shaped, st.data())
def test_property_layernorm_shift_scale(x: np.ndarray, data: Any) -> None:
    """LN(a x + b) = LN(x) with epsilon / a^2, for a, b per sample (a > 0)."""
    ndim = x.ndim
    axes = sorted(set(data.draw(st.lists(st.integers(1, ndim - 1), min_size=1,
                                         max_size=ndim - 1))))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    a = rng.uniform(0.5, 3.0, size=(x.shape[0],) + (1,) * (ndim - 1))
    b = rng.uniform(-4, 4, size=a.shape)
    eps = 1e-2
    shifted = RL.LayerNormalization(axis=tuple(axes), epsilon=eps)(
        (x.astype(np.float64) * a + b).astype(np.float32))
    for k in range(x.shape[0]):
        base = RL.LayerNormalization(axis=tuple(a - 1 for a in axes),
                                     epsilon=eps / float(a[k].item()) ** 2)(x[k])
        assert_close(shifted[k], base, atol=2e-4, name=f"sample {k}")


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-40, 40), st.floats(allow_nan=True),
                  st.text(max_size=3), st.lists(st.one_of(st.integers(-4, 4), st.none(),
                                                          st.floats()), max_size=4),
                  st.dictionaries(st.sampled_from(["rmax", "rmin", "dmax", "x"]),
                                  st.floats(allow_nan=True), max_size=3))
_BN_ARGS = ["axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
            "gamma_regularizer", "beta_constraint", "renorm", "renorm_clipping",
            "renorm_momentum", "synchronized"]
_LN_ARGS = ["axis", "epsilon", "center", "scale", "gamma_initializer", "rms_scaling"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["BatchNormalization", "LayerNormalization"]), st.data(), _JUNK,
       st.one_of(st.lists(st.integers(0, 4), max_size=5), st.sampled_from(["x", None, 2.5])),
       st.booleans(), st.one_of(st.none(), st.lists(st.integers(0, 4), max_size=4)))
def test_fuzz_bad_arguments_and_inputs(cls: str, data: Any, value: Any, shape: Any,
                                       training: bool, mask_shape: Any) -> None:
    """Random arguments, inputs and masks: a correct result or a ValueError / TypeError
    raised by rnnlens."""
    key = data.draw(st.sampled_from(_BN_ARGS if cls == "BatchNormalization" else _LN_ARGS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            layer = getattr(RL, cls)(**{key: value})
        except (ValueError, TypeError) as err:
            assert_raised_by_rnnlens(err)
            return
    x: Any = np.ones(shape, np.float32) if isinstance(shape, list) else shape
    mask = None if mask_shape is None else np.ones(mask_shape, bool)
    try:
        with np.errstate(all="raise"):
            out = layer(x, training=training, mask=mask)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    except FloatingPointError:
        return                                    # e.g. epsilon=0 on a constant input
    assert isinstance(out, np.ndarray) and out.shape == np.shape(x)


# ---------------------------------------------------------------------------- finite differences
#: Keras stops the gradient through renorm's r and d, so finite differences agree only
#: where both are clipped to constants: r = 1.3, d = -1e-3 (renorm_mean set far above).
_FIXED_RD = {"rmin": 1.3, "rmax": 1.3, "dmax": 1e-3}
FD_CASES = [("BatchNormalization", {}, (4, 3, 2), False, False),
            ("BatchNormalization", {}, (4, 3, 2), True, False),
            ("BatchNormalization", {"axis": 1, "center": False}, (3, 4, 2), True, False),
            ("BatchNormalization", {"synchronized": True}, (5, 3), True, False),
            ("BatchNormalization", {}, (4, 3, 2), True, True),
            ("BatchNormalization", {"renorm": True, "renorm_clipping": _FIXED_RD},
             (4, 3, 2), True, False),
            ("BatchNormalization", {"renorm": True, "scale": False,
                                    "renorm_clipping": _FIXED_RD}, (4, 3, 2), True, False),
            ("LayerNormalization", {}, (3, 4), False, False),
            ("LayerNormalization", {"axis": (1, 2)}, (2, 3, 2), False, False),
            ("LayerNormalization", {"rms_scaling": True}, (2, 3, 4), False, False),
            ("LayerNormalization", {"axis": [-1, 1]}, (2, 3, 2), False, False)]


@pytest.fixture
def float64() -> Any:
    from rnnlens.backend import floatx, set_floatx  # noqa: PLC0415

    before = floatx()
    set_floatx("float64")
    yield
    set_floatx(before)


@pytest.mark.parametrize("cls,kwargs,shape,training,masked", FD_CASES,
                         ids=[f"{c}{k}{s}{t}{m}" for c, k, s, t, m in FD_CASES])
def test_backward_finite_differences(float64: Any, cls: str, kwargs: dict, shape: tuple,
                                     training: bool, masked: bool) -> None:
    """Input and weight gradients against central differences in float64."""
    rng = np.random.default_rng(len(shape) + len(kwargs))
    layer = getattr(RL, cls)(**kwargs)
    layer.build(shape)
    weights = [rng.uniform(0.5, 1.5, size=w.shape) + 50 * (r.name == "renorm_mean")
               for w, r in zip(layer.get_weights(), layer.weight_records())]
    layer.set_weights(weights)
    x = rng.normal(size=shape) * 2 + 1
    mask = None
    if masked:
        mask = rng.random(shape[:-1]) > 0.3
        mask[0] = False

    def run(xv: np.ndarray) -> tuple[np.ndarray, Any]:
        layer.set_weights(weights)                # the statistics move on every forward
        return layer.forward(xv, training=training, mask=mask)

    out, cache = run(x)
    g = rng.normal(size=out.shape)
    d_x, _, d_w = layer.backward(cache, g)
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += 1e-5
        minus[idx] -= 1e-5
        fd[idx] = (np.sum(run(plus)[0] * g) - np.sum(run(minus)[0] * g)) / 2e-5
    assert_close(d_x, fd, atol=2e-4, name=f"{cls} d input")
    n_trainable = len([r for r in layer.weight_records() if r.trainable])
    for k in range(n_trainable):
        fd_w = np.zeros(weights[k].shape)
        for idx in np.ndindex(weights[k].shape):
            for sign in (1, -1):
                moved = [w.copy() for w in weights]
                moved[k][idx] += sign * 1e-5
                layer.set_weights(moved)
                fd_w[idx] += sign * np.sum(layer.forward(x, training=training,
                                                         mask=mask)[0] * g) / 2e-5
        assert_close(d_w[k], fd_w, atol=2e-4, name=f"{cls} d weight {k}")


@pytest.mark.keras
def test_time_distributed_batch_normalization_trains_step_by_step_like_keras(K):
    """Keras's TimeDistributed loops over time steps, so a BatchNormalization inside it
    sees per-step batch statistics and updates its moving averages once per step."""
    import rnnlens

    def build(m):
        inp = m.Input((4, 3))
        x = m.layers.TimeDistributed(m.layers.BatchNormalization())(inp)
        return m.Model(inp, m.layers.LSTM(2)(x))

    km, rm = build(K), build(rnnlens)
    rm.set_weights(km.get_weights())
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(8, 4, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    km.compile(optimizer=K.optimizers.SGD(0.05), loss="mse")
    rm.compile(optimizer=rnnlens.optimizers.SGD(0.05), loss="mse")
    kh = km.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    rh = rm.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(rh, kh, rtol=1e-5)
    for ours, theirs in zip(rm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
