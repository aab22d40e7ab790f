"""Convolution, pooling and 1-D reshaping layers against live Keras 3.15.1 (TensorFlow) and,
for the files most models come in, tf_keras 2.21 (Keras 2).

* values: eager calls of every layer over its arguments (a table, and hypothesis over
  kernel sizes, strides, dilations, paddings incl. causal, groups, data formats and odd
  lengths for Conv1D / SeparableConv1D / DepthwiseConv1D / Conv1DTranspose / pooling);
  ``compute_output_shape`` and symbolic shapes with unknown lengths;
* masks as Keras 3 propagates them: the convolutions, windowed pooling, GlobalMaxPooling1D
  and the 1-D reshaping layers drop a mask; GlobalAveragePooling1D averages the unmasked
  steps (NaN for a fully masked row, as Keras) and returns none; models from Masking /
  Embedding(mask_zero) through Conv1D and pooling into LSTMs;
* training: ``rnnlens.training.gradients`` against ``tf.GradientTape`` on every weight,
  ``Model.backward`` on the inputs per layer, a ``fit`` history; backward passes against
  finite differences in float64 (no Keras);
* ``get_config()`` equal to Keras's (keys in Keras's order), ``from_config`` both ways;
  ``.keras`` / ``.h5`` files both ways with Keras 3; ``.h5`` files saved by tf_keras load
  with equal predictions (also Keras <= 2.2 configs without ``data_format``; Keras 2's
  extra keys read and ignored, other values refused); ``summary()`` equal to Keras's;
* errors: where Keras refuses an argument, rnnlens raises the same exception type; a fuzz
  of arguments and inputs accepts only results or ValueError / TypeError from rnnlens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from conv_pool_parity import CF, KERAS2_MODELS, MODELS, compare, keras2_h5, pair
from merge_reshape_parity import (assert_raised_by_rnnlens, build_pair, check_rel,
                                  check_weight_grads, files_both_ways, floats, ids, leaves,
                                  load_keras, np_mask, our_input_grads, padded, plain_config,
                                  summary_text, tape_input_grads)
from oracle import assert_close
from rnnlens import layers as RL

pytestmark = pytest.mark.filterwarnings("ignore:.*does not support masking",
                                        "ignore:.*HDF5 file")


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


# ---------------------------------------------------------------------------- eager values
EAGER = [
    ("Conv1D", dict(filters=3, kernel_size=1)), ("Conv1D", dict(filters=3, kernel_size=4)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same", activation="relu")),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=3)),
    ("Conv1D", dict(filters=6, kernel_size=2, groups=2, use_bias=False)),
    ("Conv1D", dict(filters=4, kernel_size=(3,), groups=4, padding="causal", **CF)),
    ("Conv1D", dict(filters=2, kernel_size=3, strides=3, activation="softmax", **CF)),
    ("SeparableConv1D", dict(filters=3, kernel_size=2)),
    ("SeparableConv1D", dict(filters=5, kernel_size=3, strides=2, dilation_rate=2,
                             padding="same", depth_multiplier=3)),
    ("SeparableConv1D", dict(filters=2, kernel_size=3, activation="tanh", **CF)),
    ("DepthwiseConv1D", dict(kernel_size=3)),
    ("DepthwiseConv1D", dict(kernel_size=2, strides=2, dilation_rate=3, padding="same",
                             depth_multiplier=2)),
    ("DepthwiseConv1D", dict(kernel_size=4, depth_multiplier=2, use_bias=False, **CF)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=1, strides=3)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=4, strides=2, padding="same")),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=3, output_padding=2)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same")),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same", **CF)),
    ("MaxPooling1D", dict()), ("MaxPooling1D", dict(pool_size=3, strides=1, padding="same")),
    ("MaxPooling1D", dict(pool_size=4, strides=3, **CF)),
    ("AveragePooling1D", dict(pool_size=2)),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="same")),
    ("AveragePooling1D", dict(pool_size=4, strides=1, padding="same", **CF)),
    ("GlobalMaxPooling1D", dict()), ("GlobalMaxPooling1D", dict(keepdims=True, **CF)),
    ("GlobalAveragePooling1D", dict()), ("GlobalAveragePooling1D", dict(keepdims=True)),
    ("GlobalAveragePooling1D", CF),
    ("ZeroPadding1D", dict()), ("ZeroPadding1D", dict(padding=(0, 3))),
    ("ZeroPadding1D", dict(padding=(2, 1), **CF)),
    ("Cropping1D", dict()), ("Cropping1D", dict(cropping=(0, 4))), ("Cropping1D", dict(
        cropping=3)),
    ("UpSampling1D", dict()), ("UpSampling1D", dict(size=3)),
    ("Convolution1D", dict(filters=2, kernel_size=2)), ("MaxPool1D", dict(pool_size=3)),
    ("AvgPool1D", dict(pool_size=2, padding="same")), ("GlobalAvgPool1D", dict()),
    ("GlobalMaxPool1D", dict()), ("SeparableConvolution1D", dict(filters=2, kernel_size=2)),
    ("Convolution1DTranspose", dict(filters=2, kernel_size=2, strides=2)),
]


@pytest.mark.parametrize("cls,kwargs", EAGER, ids=[f"{c}{k}" for c, k in EAGER])
@pytest.mark.parametrize("length", [9, 10])
def test_eager_values(K: Any, parity: Any, cls: str, kwargs: dict, length: int) -> None:
    x = floats((3, length, 4), length)
    compare(K, parity, cls, kwargs, x, seed=len(cls))


_FORMATS = st.sampled_from(["channels_last", "channels_first"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(["Conv1D", "SeparableConv1D", "DepthwiseConv1D",
                            "Conv1DTranspose"]),
       k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 3), groups=st.integers(1, 3),
       pad=st.sampled_from(["valid", "same", "causal"]), df=_FORMATS,
       length=st.integers(1, 12), channels=st.integers(1, 6), seed=st.integers(0, 99))
def test_hypothesis_convolutions(K: Any, parity: Any, cls: str, k: int, s: int, d: int,
                                 groups: int, pad: str, df: str, length: int, channels: int,
                                 seed: int) -> None:
    kwargs: dict = dict(kernel_size=k, strides=s, dilation_rate=d, padding=pad, data_format=df)
    if cls == "Conv1D":
        kwargs.update(filters=2 * groups, groups=groups)
    elif cls in ("SeparableConv1D", "Conv1DTranspose"):
        kwargs.update(filters=3)
    if cls != "Conv1D":
        kwargs["depth_multiplier" if cls != "Conv1DTranspose" else "filters"] = groups
    shape = (2, length, channels) if df == "channels_last" else (2, channels, length)
    compare(K, parity, cls, kwargs, floats(shape, seed), seed)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(["MaxPooling1D", "AveragePooling1D"]), k=st.integers(1, 5),
       s=st.one_of(st.none(), st.integers(1, 4)), pad=st.sampled_from(["valid", "same"]),
       df=_FORMATS, length=st.integers(1, 12), seed=st.integers(0, 99))
def test_hypothesis_pooling(K: Any, parity: Any, cls: str, k: int, s: Any, pad: str, df: str,
                            length: int, seed: int) -> None:
    shape = (2, length, 3) if df == "channels_last" else (2, 3, length)
    if pad == "valid" and k > length:
        # Keras's symbolic shape refuses, but its TensorFlow kernel crashes the process
        # (SIGFPE) when called eagerly on windows that do not fit: rnnlens refuses.
        with pytest.raises(ValueError, match="zero or negative"):
            getattr(RL, cls)(k, s, pad, df)(floats(shape, seed))
        return
    compare(K, parity, cls, dict(pool_size=k, strides=s, padding=pad, data_format=df),
            floats(shape, seed))


def test_channels_first_bias_where_keras_is_wrong(K: Any) -> None:
    x = floats((3, 9, 4), 2)                        # channels_first: C = 9, T = 4
    for cls, kwargs in [("Conv1D", dict(filters=3, kernel_size=2)),
                        ("SeparableConv1D", dict(filters=2, kernel_size=3)),
                        ("Conv1DTranspose", dict(filters=5, kernel_size=2))]:
        kl, rl = pair(K, cls, dict(kwargs, data_format="channels_first"), x)
        theirs, ours = np.asarray(kl(x)), rl(x)
        bias = rl.weights[-1]
        assert ours.shape[1] == ours.shape[-1] == bias.size
        plain = ours - bias[None, :, None]                       # the convolution itself
        np.testing.assert_allclose(theirs, plain + bias[None, None, :], atol=1e-5)


OUTPUT_SHAPES = [
    ("Conv1D", dict(filters=3, kernel_size=3, strides=2), (None, None, 4)),
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", **CF), (5, 4, None)),
    ("SeparableConv1D", dict(filters=3, kernel_size=2, padding="same"), (None, 9, 4)),
    ("DepthwiseConv1D", dict(kernel_size=2, depth_multiplier=3), (None, None, 4)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2), (None, None, 4)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same",
                             output_padding=1), (None, 7, 4)),
    ("MaxPooling1D", dict(pool_size=3, padding="same"), (None, None, 4)),
    ("AveragePooling1D", dict(pool_size=2, **CF), (2, 4, 9)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (None, None, 4)),
    ("GlobalAveragePooling1D", CF, (None, 4, None)),
    ("ZeroPadding1D", dict(padding=(1, 2)), (None, None, 4)),
    ("ZeroPadding1D", dict(padding=(1, 2), **CF), (None, 4, 6)),
    ("Cropping1D", dict(cropping=(1, 2)), (None, 9, 4)),
    ("UpSampling1D", dict(size=3), (None, None, 4)),
]


@pytest.mark.parametrize("cls,kwargs,shape", OUTPUT_SHAPES,
                         ids=[f"{c}{k}{s}" for c, k, s in OUTPUT_SHAPES])
def test_compute_output_shape(K: Any, cls: str, kwargs: dict, shape: tuple) -> None:
    theirs = tuple(getattr(K.layers, cls)(**kwargs).compute_output_shape(shape))
    assert getattr(RL, cls)(**kwargs).compute_output_shape(shape) == theirs
    sym = getattr(RL, cls)(**kwargs)(rnnlens.Input(batch_shape=shape))
    assert sym.shape == tuple(getattr(K.layers, cls)(**kwargs)(
        K.Input(batch_shape=shape)).shape)


# ---------------------------------------------------------------------------- masks
DROPS_MASK = [("Conv1D", dict(filters=2, kernel_size=3, padding="same")),
              ("SeparableConv1D", dict(filters=2, kernel_size=2)),
              ("DepthwiseConv1D", dict(kernel_size=2)),
              ("Conv1DTranspose", dict(filters=2, kernel_size=2)),
              ("MaxPooling1D", dict()), ("AveragePooling1D", dict(pool_size=2)),
              ("GlobalMaxPooling1D", dict()), ("ZeroPadding1D", dict()),
              ("Cropping1D", dict()), ("UpSampling1D", dict()),
              ("GlobalAveragePooling1D", dict()), ("GlobalAveragePooling1D", CF)]


@pytest.mark.parametrize("cls,kwargs", DROPS_MASK, ids=[f"{c}{k}" for c, k in DROPS_MASK])
def test_eager_masks(K: Any, parity: Any, cls: str, kwargs: dict) -> None:
    """No output carries a mask; GlobalAveragePooling1D averages the unmasked steps (a
    fully masked row is NaN, as Keras's 0 / 0)."""
    x = padded((4, 6, 6 if kwargs.get("data_format") else 5), 3)
    km, rm = K.layers.Masking(), RL.Masking()
    kl, rl = pair(K, cls, kwargs, x, seed=1)
    ko, ro = kl(km(x)), rl(rm(x))
    parity(ro, np.asarray(ko), name=f"{cls} after Masking")
    assert np_mask(ko) is None and np_mask(ro) is None
    if cls == "GlobalAveragePooling1D" and not kwargs:
        assert np.isnan(ro[3]).all() and not np.isnan(ro[:3]).any()


def test_global_average_explicit_mask(K: Any, parity: Any) -> None:
    x = floats((3, 5, 4), 1)
    mask = np.array([[1, 1, 0, 0, 1], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    for kwargs in (dict(), dict(keepdims=True), CF):
        xx = np.transpose(x, (0, 2, 1)) if kwargs.get("data_format") else x
        theirs = K.layers.GlobalAveragePooling1D(**kwargs)(xx, mask=mask)
        parity(RL.GlobalAveragePooling1D(**kwargs)(xx, mask=mask), np.asarray(theirs),
               name=f"masked mean {kwargs}")
    with pytest.raises(ValueError, match="mask of shape"):
        RL.GlobalAveragePooling1D()(x, mask=mask[:, :3])


# ---------------------------------------------------------------------------- models
@pytest.mark.parametrize("case", list(MODELS))
def test_models_predict_and_weight_gradients(K: Any, parity: Any, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=2)
    x = make()
    parity(leaves(rm.predict(x, batch_size=3)), leaves(km.predict(x, batch_size=3, verbose=0)),
           name=f"{case} predict")
    parity(leaves(rm(x)), leaves(km(x)), name=f"{case} model(x)")
    check_weight_grads(K, parity, km, rm, x, case)


ALIASES = ("Convolution1D", "SeparableConvolution1D", "Convolution1DTranspose", "MaxPool1D",
           "AvgPool1D", "GlobalMaxPool1D", "GlobalAvgPool1D")
INPUT_GRADS = [(c, k) for c, k in EAGER if c not in ALIASES]


@pytest.mark.parametrize("cls,kwargs", INPUT_GRADS, ids=[f"{c}{k}" for c, k in INPUT_GRADS])
def test_input_gradients(K: Any, parity: Any, cls: str, kwargs: dict) -> None:
    """Model.backward on the input against the tape."""
    x = floats((3, 9, 4), 13)
    x[0, 2:5] = 1.5                                  # ties for the max pools
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(np.transpose(x, (0, 2, 1)))
    models = []
    for lib in (K, rnnlens):
        i = lib.Input(x.shape[1:])
        models.append(lib.Model(i, getattr(lib.layers, cls)(**kwargs)(i)))
    km, rm = models
    weights = [floats(w.shape, 5, 0.5) for w in km.get_weights()]
    km.set_weights(weights)
    rm.set_weights(weights)
    d_out = floats(np.shape(km(x)), 14)
    (expected,), (ours,) = tape_input_grads(km, [x], d_out), our_input_grads(rm, [x], d_out)
    check_rel(parity, ours, expected, f"{cls}{kwargs} d input", rtol=1e-5)


def test_fit_history(K: Any, parity: Any) -> None:
    build, _ = MODELS["sequential"]
    km, rm = build_pair(K, build, seed=4)
    x, y = floats((12, 10, 3), 15), floats((12, 2), 16)
    for model, lib in ((km, K), (rm, rnnlens)):
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
    k_hist = km.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    r_hist = rm.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    parity(np.asarray(r_hist["loss"]), np.asarray(k_hist["loss"]), name="fit loss")
    parity(rm.get_weights(), km.get_weights(), name="weights after fit")


FD_CASES = [(c, k) for c, k in INPUT_GRADS if "activation" not in k]


@pytest.mark.parametrize("cls,kwargs", FD_CASES, ids=[f"{c}{k}" for c, k in FD_CASES])
def test_backward_finite_differences(cls: str, kwargs: dict) -> None:
    """Every backward (input and weights) against central differences in float64."""
    from rnnlens.backend import floatx, set_floatx  # noqa: PLC0415

    before = floatx()
    set_floatx("float64")
    try:
        rng = np.random.default_rng(len(cls))
        x = rng.normal(size=(2, 4, 7) if kwargs.get("data_format") else (2, 7, 4))
        layer = getattr(RL, cls)(**kwargs)
        layer.maybe_build(x.shape)
        out, cache = layer.forward(x)
        g = rng.normal(size=out.shape)
        d_x, _, d_w = layer.backward(cache, g)
        for target, grad, name in [(x, d_x, "input")] + [
                (w, d, f"weight {k}") for k, (w, d) in enumerate(zip(layer.weights, d_w))]:
            fd = np.zeros_like(target)
            for idx in np.ndindex(target.shape):
                old = target[idx]
                target[idx] = old + 1e-6
                plus = np.sum(layer.forward(x)[0] * g)
                target[idx] = old - 1e-6
                minus = np.sum(layer.forward(x)[0] * g)
                target[idx] = old
                fd[idx] = (plus - minus) / 2e-6
            assert_close(grad, fd, atol=1e-5, name=f"{cls} d {name}")
    finally:
        set_floatx(before)


# ---------------------------------------------------------------------------- configs, files
CONFIGS = [(c, k) for c, k in EAGER] + [
    ("Conv1D", dict(filters=2, kernel_size=2, padding="CAUSAL", name="c", trainable=False,
                    kernel_initializer="he_normal", bias_regularizer={"class_name": "L1",
                                                                      "config": {"l1": 0.1}},
                    activity_regularizer={"class_name": "L2", "config": {"l2": 0.2}})),
    ("SeparableConv1D", dict(filters=2, kernel_size=2, depthwise_initializer="ones",
                             pointwise_regularizer={"class_name": "L2",
                                                    "config": {"l2": 0.3}})),
    ("DepthwiseConv1D", dict(kernel_size=2, depthwise_constraint={"class_name": "NonNeg",
                                                                  "config": {}})),
    ("MaxPooling1D", dict(pool_size=[3], strides=[1], data_format="Channels_Last")),
]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[f"{c}{k}" for c, k in CONFIGS])
def test_get_config(K: Any, cls: str, kwargs: dict) -> None:
    K.backend.clear_session()
    rnnlens.utils.clear_session()
    theirs = getattr(K.layers, cls)(**kwargs).get_config()
    ours = getattr(RL, cls)(**kwargs).get_config()
    assert ours == theirs
    assert list(ours) == list(theirs)
    assert getattr(RL, cls).from_config(ours).get_config() == theirs
    assert getattr(K.layers, cls).from_config(ours).get_config() == theirs
    again = RL.deserialize(RL.serialize(getattr(RL, cls).from_config(theirs)))
    assert plain_config(again.get_config()) == plain_config(theirs)


@pytest.mark.parametrize("case", ["conv_stack", "pool_stack", "transpose_same",
                                  "channels_first", "embedding_pools", "sequential"])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=5)
    files_both_ways(K, parity, km, rm, make(), tmp_path, case)


@pytest.fixture(scope="module")
def tfk(K: Any) -> Any:
    return pytest.importorskip("tf_keras")


def _masked_mean_keras2(lib: Any) -> Any:
    """Keras 2 also averages only the unmasked steps."""
    i = lib.Input((8,), dtype="int32")
    e = lib.layers.Embedding(9, 4, mask_zero=True)(i)
    a = lib.layers.GlobalAveragePooling1D()(lib.layers.LSTM(3, return_sequences=True)(e))
    return lib.Model(i, lib.layers.Concatenate()([lib.layers.GlobalAveragePooling1D()(e), a]))


@pytest.mark.parametrize("case", KERAS2_MODELS + ["masked_mean"])
def test_tf_keras_h5_files_load(tfk: Any, parity: Any, tmp_path: Path, case: str) -> None:
    build, make = MODELS[case] if case in MODELS else (_masked_mean_keras2,
                                                       lambda: ids((6, 8), 9, 6))
    x = make()
    model = keras2_h5(tfk, build, tmp_path / "k2.h5", seed=6)
    loaded = rnnlens.models.load_model(tmp_path / "k2.h5")
    for ours, theirs in zip(leaves(loaded.predict(x)), leaves(model.predict(x, verbose=0))):
        check_rel(parity, ours, theirs, f"tf_keras {case}", rtol=1e-5)
    assert loaded.count_params() == model.count_params()


def _rewrite_config(path: Path, edit: Callable[[dict], None]) -> None:
    import h5py  # noqa: PLC0415

    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            edit(layer)
        f.attrs["model_config"] = json.dumps(config)


def test_keras22_configs_without_data_format(tfk: Any, parity: Any, tmp_path: Path) -> None:
    """Keras <= 2.2 wrote no data_format (always channels-last): such files load as
    channels-last, even when rnnlens's image_data_format is channels_first."""
    build, make = MODELS["pool_stack"]
    x, path = make(), tmp_path / "k22.h5"
    model = keras2_h5(tfk, build, path, seed=7)
    removed = []
    _rewrite_config(path, lambda lyr: removed.append(lyr["config"].pop("data_format", None)))
    assert removed.count("channels_last") >= 5
    for fmt in ("channels_last", "channels_first"):
        rnnlens.config.set_image_data_format(fmt)
        try:
            loaded = rnnlens.models.load_model(path)
        finally:
            rnnlens.config.set_image_data_format("channels_last")
        assert {lyr.data_format for lyr in loaded.layers if hasattr(lyr, "data_format")} \
            == {"channels_last"}
        check_rel(parity, leaves(loaded.predict(x)), leaves(model.predict(x, verbose=0)),
                  f"Keras 2.2 {fmt}", rtol=1e-5)
    assert all(getattr(RL, n).keras2_defaults == {"data_format": "channels_last"}
               for n in ("Conv1D", "SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose",
                         "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
                         "GlobalAveragePooling1D", "ZeroPadding1D"))
    assert RL.Cropping1D.keras2_defaults == {} == RL.UpSampling1D.keras2_defaults


def test_keras2_extra_keys(tfk: Any, tmp_path: Path) -> None:
    """tf_keras writes groups=1 for SeparableConv1D / DepthwiseConv1D / Conv1DTranspose
    and SeparableConv1D's unused kernel_* keys: read and ignored (Keras 3 cannot load such
    files); any other groups is refused, and rnnlens never writes them."""
    from rnnlens.interop.keras_config import UnsafeModelError  # noqa: PLC0415

    path = tmp_path / "k2.h5"
    keras2_h5(tfk, MODELS["conv_stack"][0], path, seed=8)
    loaded = rnnlens.models.load_model(path)
    kinds = {type(lyr).__name__: lyr.get_config() for lyr in loaded.layers}
    for name in ("SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose"):
        assert "groups" not in kinds[name]
    assert not {"kernel_initializer", "kernel_regularizer", "kernel_constraint"} & set(
        kinds["SeparableConv1D"])
    _rewrite_config(path, lambda lyr: lyr["config"].update(groups=2)
                    if lyr["class_name"] == "SeparableConv1D" else None)
    with pytest.raises(UnsafeModelError, match="groups"):
        rnnlens.models.load_model(path)


def _named(lib: Any) -> Any:
    L = lib.layers
    i = lib.Input((12, 3), name="x")
    x = L.Conv1D(4, 3, name="conv")(i)
    x = L.SeparableConv1D(3, 2, name="sep")(x)
    x = L.DepthwiseConv1D(2, depth_multiplier=2, name="dw")(x)
    x = L.Conv1DTranspose(2, 3, strides=2, name="up")(x)
    x = L.MaxPooling1D(name="pool")(L.ZeroPadding1D(name="pad")(x))
    x = L.AveragePooling1D(2, name="avg")(L.UpSampling1D(name="ups")(x))
    x = L.Cropping1D(name="crop")(x)
    out = [L.GlobalAveragePooling1D(name="gap")(x), L.GlobalMaxPooling1D(name="gmp")(x)]
    return lib.Model(i, out, name="convs")


@pytest.mark.parametrize("graph", [_named, MODELS["sequential"][0], MODELS["pool_stack"][0]])
def test_summary_equals_keras(K: Any, graph: Callable[[Any], Any]) -> None:
    km, rm = build_pair(K, graph)
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"


# ---------------------------------------------------------------------------- errors
def _bad(lib: Any) -> dict[str, Callable[[], Any]]:
    L = lib.layers
    x = np.ones((2, 6, 4), np.float32)
    return {
        "conv filters 0": lambda: L.Conv1D(0, 2),
        "conv kernel 0": lambda: L.Conv1D(2, 0),
        "conv kernel pair": lambda: L.Conv1D(2, (2, 2)),
        "conv kernel None": lambda: L.Conv1D(2, None),
        "conv strides 0": lambda: L.Conv1D(2, 2, strides=0),
        "conv padding": lambda: L.Conv1D(2, 2, padding="full"),
        "conv data_format": lambda: L.Conv1D(2, 2, data_format="NWC"),
        "conv groups filters": lambda: L.Conv1D(3, 2, groups=2),
        "conv groups 0": lambda: L.Conv1D(2, 2, groups=0),
        "conv stride and dilation": lambda: L.Conv1D(2, 2, strides=2, dilation_rate=2),
        "conv activation": lambda: L.Conv1D(2, 2, activation="nope"),
        "conv groups channels": lambda: L.Conv1D(2, 2, groups=2)(np.ones((2, 6, 3))),
        "conv too short": lambda: L.Conv1D(2, 7)(x),
        "conv too short symbolic": lambda: L.Conv1D(2, 7)(lib.Input((6, 4))),
        "conv rank 2": lambda: L.Conv1D(2, 2)(np.ones((2, 6), np.float32)),
        "conv channels changed": lambda: [c := L.Conv1D(2, 2), c(x), c(np.ones((2, 6, 5)))],
        "sep causal": lambda: L.SeparableConv1D(2, 2, padding="causal"),
        "dw causal": lambda: L.DepthwiseConv1D(2, padding="causal"),
        "dw multiplier 0": lambda: L.DepthwiseConv1D(2, depth_multiplier=0),
        "transpose output_padding": lambda: L.Conv1DTranspose(2, 3, strides=2,
                                                              output_padding=2),
        "transpose stride and dilation": lambda: L.Conv1DTranspose(2, 3, strides=2,
                                                                   dilation_rate=2),
        "pool size 0": lambda: L.MaxPooling1D(0),
        "pool padding": lambda: L.AveragePooling1D(2, padding="causal")(lib.Input((6, 4))),
        "pool too short symbolic": lambda: L.MaxPooling1D(7)(lib.Input((6, 4))),
        "pool rank": lambda: L.MaxPooling1D()(lib.Input((6, 4, 2))),
        "global rank": lambda: L.GlobalAveragePooling1D()(lib.Input((6,))),
        "zeropad negative": lambda: L.ZeroPadding1D(-1),
        "zeropad triple": lambda: L.ZeroPadding1D((1, 2, 3)),
        "crop too much": lambda: L.Cropping1D((3, 3))(x),
        "crop too much symbolic": lambda: L.Cropping1D(4)(lib.Input((6, 4))),
        "upsampling 0": lambda: L.UpSampling1D(0),
        "upsampling str": lambda: L.UpSampling1D("2"),
    }


@pytest.mark.parametrize("case", list(_bad(rnnlens)))
def test_errors_like_keras(K: Any, case: str) -> None:
    """Where Keras refuses, rnnlens refuses with the same exception type."""
    with pytest.raises((ValueError, TypeError)) as theirs:
        _bad(K)[case]()
    with pytest.raises(theirs.type) as ours:
        _bad(rnnlens)[case]()
    assert_raised_by_rnnlens(ours.value)


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2, 5), st.floats(-1, 4),
                  st.text(max_size=3), st.lists(st.integers(-1, 4), max_size=3),
                  st.sampled_from(["same", "valid", "causal", "channels_first"]))
_CLASSES = ["Conv1D", "SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose", "MaxPooling1D",
            "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D",
            "ZeroPadding1D", "Cropping1D", "UpSampling1D"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(_CLASSES), args=st.lists(_JUNK, max_size=4),
       shape=st.lists(st.integers(0, 6), max_size=4))
def test_fuzz_bad_arguments_and_inputs(cls: str, args: list, shape: list) -> None:
    """Random arguments and inputs: a result or a ValueError / TypeError from rnnlens."""
    try:
        layer = getattr(RL, cls)(*args)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    try:
        out = layer(np.ones(shape, np.float32))
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    assert isinstance(out, np.ndarray) and out.ndim in (2, 3) and len(shape) == 3
    assert np.isfinite(out).all() or 0 in shape
