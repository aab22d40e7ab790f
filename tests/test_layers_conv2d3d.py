"""2-D and 3-D convolution, pooling, padding, cropping and upsampling layers against live
Keras 3.15.1 (TensorFlow): values, shapes, masks and training.

* values: eager calls over a table of arguments and hypothesis over kernel sizes, strides,
  dilations, paddings, groups, depth multipliers, output paddings, data formats and odd
  sizes (Conv2D / Conv3D / SeparableConv2D / DepthwiseConv2D / Conv2DTranspose /
  Conv3DTranspose, the 2-D / 3-D windowed and global pooling, ZeroPadding / Cropping /
  UpSampling 2-D (nearest, bilinear, bicubic, lanczos3 / 5, area) and 3-D);
  ``compute_output_shape`` and symbolic shapes with unknown sizes; the aliases
  (Convolution2D, MaxPool3D, GlobalAvgPool2D, ...);
* masks: a Masking mask on an image is dropped by every 2-D layer, GlobalAveragePooling2D
  included (Keras 3 averages only in 1-D);
* training: ``rnnlens.training.gradients`` against ``tf.GradientTape`` on every weight of
  models (the keras.io OCR model among them), ``Model.backward`` on the inputs per layer
  (ties in the max pools: TensorFlow's MaxPoolGrad sends a 2-D window's gradient to its
  first maximum, MaxPool3DGrad to every entry within 1e-5 of it), a ``fit`` history;
  backward passes against central differences in float64.

``tests/test_layers_conv2d3d_io.py`` has the configs, files, summaries, errors, fuzz and
speed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from conv2d3d_parity import EAGER, MODELS, image
from conv_pool_parity import CF, compare, pair
from merge_reshape_parity import (build_pair, check_rel, check_weight_grads, floats, leaves,
                                  load_keras, np_mask, our_input_grads, tape_input_grads)
from oracle import assert_close
from rnnlens import layers as RL

pytestmark = pytest.mark.filterwarnings("ignore:.*does not support masking",
                                        "ignore:.*HDF5 file", "ignore:.*destroy the mask")


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


_IDS = [f"{c}{k}{s}" for c, k, s in EAGER]


def _input(kwargs: dict, shape: tuple, seed: int) -> np.ndarray:
    return image(shape, seed, kwargs.get("data_format") == "channels_first")


@pytest.mark.parametrize("cls,kwargs,shape", EAGER, ids=_IDS)
def test_eager_values(K: Any, parity: Any, cls: str, kwargs: dict, shape: tuple) -> None:
    compare(K, parity, cls, kwargs, _input(kwargs, shape, len(cls)), seed=len(_IDS[0]))


_FORMATS = st.sampled_from(["channels_last", "channels_first"])


@settings(max_examples=70, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(["Conv2D", "Conv3D", "SeparableConv2D", "DepthwiseConv2D",
                            "Conv2DTranspose", "Conv3DTranspose"]),
       data=st.data(), pad=st.sampled_from(["valid", "same"]), df=_FORMATS,
       groups=st.integers(1, 3), channels=st.integers(1, 4), seed=st.integers(0, 99))
def test_hypothesis_convolutions(K: Any, parity: Any, cls: str, data: Any, pad: str, df: str,
                                 groups: int, channels: int, seed: int) -> None:
    rank = 3 if "3D" in cls else 2
    ints = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * rank)  # noqa: E731
    k, s, d = data.draw(ints(1, 4)), data.draw(ints(1, 3)), data.draw(ints(1, 3))
    size = data.draw(ints(1, 9 if rank == 2 else 6))
    kwargs: dict = dict(kernel_size=k, strides=s, dilation_rate=d, padding=pad, data_format=df)
    if cls in ("Conv2D", "Conv3D"):
        kwargs.update(filters=2 * groups, groups=groups)
        channels *= groups
    elif cls in ("SeparableConv2D", "DepthwiseConv2D"):
        kwargs["depth_multiplier"] = groups
        if cls == "SeparableConv2D":
            kwargs["filters"] = 3
    else:
        kwargs["filters"] = groups
        if data.draw(st.booleans()):
            kwargs["output_padding"] = tuple(data.draw(st.integers(0, v - 1)) for v in s)
    x = image((2, *size, channels), seed, df == "channels_first")
    compare(K, parity, cls, kwargs, x, seed)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(["MaxPooling2D", "AveragePooling2D", "MaxPooling3D",
                            "AveragePooling3D"]),
       data=st.data(), pad=st.sampled_from(["valid", "same"]), df=_FORMATS,
       seed=st.integers(0, 99))
def test_hypothesis_pooling(K: Any, parity: Any, cls: str, data: Any, pad: str, df: str,
                            seed: int) -> None:
    rank = 3 if "3D" in cls else 2
    ints = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * rank)  # noqa: E731
    k, size = data.draw(ints(1, 4)), data.draw(ints(1, 8 if rank == 2 else 5))
    s = data.draw(st.one_of(st.none(), ints(1, 3)))
    x = image((2, *size, 3), seed, df == "channels_first")
    kwargs = dict(pool_size=k, strides=s, padding=pad, data_format=df)
    if pad == "valid" and any(a > n for a, n in zip(k, size)):
        # TensorFlow's kernels fail (or crash the process) on windows that do not fit;
        # Keras's symbolic shape refuses them: so does rnnlens.
        with pytest.raises(ValueError, match="zero or negative"):
            getattr(RL, cls)(**kwargs)(x)
        return
    compare(K, parity, cls, kwargs, x)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(["ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D",
                            "UpSampling2D", "UpSampling3D", "GlobalMaxPooling2D",
                            "GlobalAveragePooling3D"]),
       data=st.data(), df=_FORMATS, seed=st.integers(0, 99))
def test_hypothesis_rearrangements(K: Any, parity: Any, cls: str, data: Any, df: str,
                                   seed: int) -> None:
    rank = 3 if "3D" in cls else 2
    size = data.draw(st.tuples(*[st.integers(1, 6)] * rank))
    pairs = st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3))] * rank)
    kwargs: dict = dict(data_format=df)
    if cls.startswith("ZeroPadding"):
        kwargs["padding"] = data.draw(st.one_of(st.integers(0, 2), pairs))
    elif cls.startswith("Cropping"):
        kwargs["cropping"] = data.draw(st.one_of(st.integers(0, 2), pairs))
    elif cls.startswith("UpSampling"):
        kwargs["size"] = data.draw(st.tuples(*[st.integers(1, 4)] * rank))
        if rank == 2:
            kwargs["interpolation"] = data.draw(st.sampled_from(
                ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"]))
    else:
        kwargs["keepdims"] = data.draw(st.booleans())
    compare(K, parity, cls, kwargs, image((2, *size, 3), seed, df == "channels_first"))


def test_channels_first_bias_where_keras_is_wrong(K: Any) -> None:
    """rnnlens adds the bias along the channels; Keras along the last axis there."""
    x = image((2, 6, 5, 3), 2, channels_first=True)                # (B, 3, 6, 5)
    for cls, kwargs in [("Conv2D", dict(filters=4, kernel_size=(3, 2))),
                        ("SeparableConv2D", dict(filters=4, kernel_size=(3, 2))),
                        ("Conv2DTranspose", dict(filters=6, kernel_size=(1, 2)))]:
        kl, rl = pair(K, cls, dict(kwargs, data_format="channels_first"), x)
        theirs, ours = np.asarray(kl(x)), rl(x)
        bias = rl.weights[-1]
        assert ours.shape[1] == ours.shape[-1] == bias.size
        plain = ours - bias[None, :, None, None]
        np.testing.assert_allclose(theirs, plain + bias[None, None, None, :], atol=1e-5)


OUTPUT_SHAPES = [
    ("Conv2D", dict(filters=3, kernel_size=3, strides=2), (None, None, 9, 4)),
    ("Conv3D", dict(filters=3, kernel_size=2, padding="same", **CF), (5, 4, None, 6, None)),
    ("SeparableConv2D", dict(filters=3, kernel_size=2), (None, 7, None, 4)),
    ("DepthwiseConv2D", dict(kernel_size=2, depth_multiplier=3), (None, None, None, 4)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2), (None, None, 5, 4)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same",
                             output_padding=1), (None, 3, None, 5, 4)),
    ("MaxPooling2D", dict(pool_size=3, padding="same"), (None, None, 7, 4)),
    ("AveragePooling3D", dict(pool_size=2, **CF), (2, 4, 9, None, 5)),
    ("GlobalMaxPooling3D", dict(keepdims=True, **CF), (None, 4, None, None, None)),
    ("GlobalAveragePooling2D", dict(), (None, None, None, 4)),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 3))), (None, None, 5, 4)),
    ("ZeroPadding3D", dict(padding=1, **CF), (None, 4, 6, None, 2)),
    ("Cropping2D", dict(cropping=((1, 2), (0, 1))), (None, 9, None, 4)),
    ("Cropping3D", dict(**CF), (None, 4, None, 5, 3)),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear"), (None, None, 3, 4)),
    ("UpSampling3D", dict(size=(1, 2, 3), **CF), (None, 2, 3, None, 5)),
]


@pytest.mark.parametrize("cls,kwargs,shape", OUTPUT_SHAPES,
                         ids=[f"{c}{k}{s}" for c, k, s in OUTPUT_SHAPES])
def test_compute_output_shape(K: Any, cls: str, kwargs: dict, shape: tuple) -> None:
    theirs = tuple(getattr(K.layers, cls)(**kwargs).compute_output_shape(shape))
    assert getattr(RL, cls)(**kwargs).compute_output_shape(shape) == theirs
    sym = getattr(RL, cls)(**kwargs)(rnnlens.Input(batch_shape=shape))
    assert sym.shape == tuple(getattr(K.layers, cls)(**kwargs)(
        K.Input(batch_shape=shape)).shape)


def test_data_format_none_follows_image_data_format(K: Any, parity: Any) -> None:
    """data_format=None is the configured image_data_format() when the layer is made (and
    written resolved in the config, as Keras)."""
    x = image((2, 5, 6, 3), 21, channels_first=True)
    rnnlens.config.set_image_data_format("channels_first")
    K.config.set_image_data_format("channels_first")
    try:
        for cls, kwargs in [("Conv2D", dict(filters=2, kernel_size=2)),
                            ("MaxPooling2D", dict()), ("UpSampling2D", dict(
                                interpolation="bilinear")), ("ZeroPadding2D", dict()),
                            ("GlobalAveragePooling2D", dict())]:
            kl, rl = pair(K, cls, kwargs, x)
            assert rl.get_config()["data_format"] == "channels_first"
            parity(rl(x), np.asarray(kl(x)), name=f"{cls} image_data_format")
    finally:
        rnnlens.config.set_image_data_format("channels_last")
        K.config.set_image_data_format("channels_last")
    assert RL.Conv2D(2, 2).data_format == "channels_last"


# ---------------------------------------------------------------------------- masks
def test_masks_are_dropped(K: Any, parity: Any) -> None:
    """A Masking mask on an image stops at every 2-D layer (Keras 3 averages the unmasked
    steps only in GlobalAveragePooling1D)."""
    x = MODELS["masked_image"][1]()
    for cls, kwargs in [("Conv2D", dict(filters=2, kernel_size=2)),
                        ("MaxPooling2D", dict()), ("GlobalAveragePooling2D", dict()),
                        ("UpSampling2D", dict()), ("ZeroPadding2D", dict()),
                        ("Cropping2D", dict(cropping=1)), ("DepthwiseConv2D", dict(
                            kernel_size=2))]:
        kl, rl = pair(K, cls, kwargs, x, seed=1)
        ko, ro = kl(K.layers.Masking()(x)), rl(RL.Masking()(x))
        parity(ro, np.asarray(ko), name=f"{cls} after Masking")
        assert np_mask(ko) is None and np_mask(ro) is None


# ---------------------------------------------------------------------------- models
@pytest.mark.parametrize("case", list(MODELS))
def test_models_predict_and_weight_gradients(K: Any, parity: Any, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=2)
    x = make()
    parity(leaves(rm.predict(x, batch_size=2)), leaves(km.predict(x, batch_size=2, verbose=0)),
           name=f"{case} predict")
    parity(leaves(rm(x)), leaves(km(x)), name=f"{case} model(x)")
    check_weight_grads(K, parity, km, rm, x, case)


INPUT_GRADS = [(c, k, s) for c, k, s in EAGER
               if not (c.startswith("Convolution") or "Pool2D" in c or "Pool3D" in c
                       or k.get("interpolation") == "area")]


@pytest.mark.parametrize("cls,kwargs,shape", INPUT_GRADS,
                         ids=[f"{c}{k}{s}" for c, k, s in INPUT_GRADS])
def test_input_gradients(K: Any, parity: Any, cls: str, kwargs: dict, shape: tuple) -> None:
    """Model.backward on the input against the tape; the max pools see ties."""
    x = floats(shape, 13)
    x[0, :2] = 1.5                                   # ties for the max pools
    x[1, 1:3] = np.where(x[1, 1:3] > 0.5, 0.0, x[1, 1:3])  # a few more, near other values
    x = np.ascontiguousarray(np.moveaxis(x, -1, 1)) if kwargs.get("data_format") else x
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


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos5"])
def test_resize_backward_without_the_dense_matrix(K: Any, parity: Any, monkeypatch: Any,
                                                  method: str) -> None:
    """Large images take the banded backward (no (m, n) matrix): same gradients."""
    from rnnlens.ops import _resize  # noqa: PLC0415

    monkeypatch.setattr(_resize, "_DENSE_LIMIT", 0)
    x = floats((2, 5, 7, 3), 19)
    km, rm = (lib.Sequential([lib.Input(x.shape[1:]), lib.layers.UpSampling2D(
        (3, 2), interpolation=method)]) for lib in (K, rnnlens))
    d_out = floats((2, 15, 14, 3), 20)
    (expected,), (ours,) = tape_input_grads(km, [x], d_out), our_input_grads(rm, [x], d_out)
    check_rel(parity, ours, expected, f"{method} banded backward", rtol=1e-5)


def test_max_pool_3d_gradient_rule(K: Any, parity: Any) -> None:
    """TensorFlow's MaxPool3DGrad gives the whole gradient to every entry within 1e-5 of
    the window's maximum (ReLU zeros: all of them), MaxPoolGrad (2-D) to the first."""
    x = np.zeros((1, 2, 2, 2, 1), np.float32)
    x[0, 1, 1, 1, 0] = -1.0
    x[0, 0, 1, 0, 0] = 5e-6
    for cls, xx in (("MaxPooling3D", x), ("MaxPooling2D", x[:, 0])):
        km, rm = (lib.Sequential([lib.Input(xx.shape[1:]), getattr(lib.layers, cls)()])
                  for lib in (K, rnnlens))
        d_out = np.ones((1, *(1,) * (xx.ndim - 2), 1), np.float32)
        (expected,), (ours,) = tape_input_grads(km, [xx], d_out), our_input_grads(
            rm, [xx], d_out)
        parity(ours, expected, name=f"{cls} ties")
        assert (ours.sum() == 7.0) if cls == "MaxPooling3D" else (ours.sum() == 1.0)


def test_area_upsampling_trains_as_nearest(K: Any) -> None:
    """TensorFlow has no gradient for ResizeArea (Keras cannot train through it); for the
    integer factors of UpSampling2D its values are the nearest repeats, and so are rnnlens's
    gradients."""
    import tensorflow as tf  # noqa: PLC0415

    x = floats((2, 3, 4, 2), 17)
    t = tf.constant(x)
    with pytest.raises(LookupError, match="ResizeArea"), tf.GradientTape() as tape:
        tape.watch(t)
        tape.gradient(K.layers.UpSampling2D(interpolation="area")(t), t)
    area, nearest = RL.UpSampling2D(interpolation="area"), RL.UpSampling2D()
    d_out = floats((2, 6, 8, 2), 18)
    for layer in (area, nearest):
        layer.d_x = layer.backward(layer.forward(x)[1], d_out)[0]
    np.testing.assert_array_equal(area.d_x, nearest.d_x)
    assert not np.array_equal(area.d_x, np.zeros_like(x))


def test_fit_history(K: Any, parity: Any) -> None:
    build, _ = MODELS["ocr_deterministic"]
    km, rm = build_pair(K, build, seed=4)
    x = floats((8, 32, 16, 1), 15)
    y = np.random.default_rng(16).integers(0, 11, (8, 8))
    for model, lib in ((km, K), (rm, rnnlens)):               # SGD: Adam's m / sqrt(v)
        model.compile(optimizer=lib.optimizers.SGD(0.1, momentum=0.9),  # turns float noise
                      loss="sparse_categorical_crossentropy")  # in ~0 gradients into steps
    k_hist = km.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    r_hist = rm.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    check_rel(parity, r_hist["loss"], k_hist["loss"], "fit loss", rtol=1e-5)
    for k, (ours, theirs) in enumerate(zip(rm.get_weights(), km.get_weights())):
        check_rel(parity, ours, theirs, f"weight {k} after fit")      # as gradients: 1e-4


FD_CASES = [(c, k, s) for c, k, s in INPUT_GRADS
            if "activation" not in k and "Global" not in c and "MaxPool" not in c]


@pytest.mark.parametrize("cls,kwargs,shape", FD_CASES,
                         ids=[f"{c}{k}{s}" for c, k, s in FD_CASES])
def test_backward_finite_differences(cls: str, kwargs: dict, shape: tuple) -> None:
    """Every backward (input and weights) against central differences in float64."""
    from rnnlens.backend import floatx, set_floatx  # noqa: PLC0415

    before = floatx()
    set_floatx("float64")
    try:
        rng = np.random.default_rng(len(cls))
        x = rng.normal(size=(1, *shape[1:]))
        if kwargs.get("data_format"):
            x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
        layer = getattr(RL, cls)(**kwargs)
        layer.maybe_build(x.shape)
        out, cache = layer.forward(x)
        g = rng.normal(size=out.shape)
        d_x, _, d_w = layer.backward(cache, g)
        for target, grad, name in [(x, d_x, "input")] + [
                (w, d, f"weight {k}") for k, (w, d) in enumerate(zip(layer.weights, d_w))]:
            flat, fd = target.reshape(-1), np.zeros(target.size)
            for idx in range(flat.size):
                old = flat[idx]
                flat[idx] = old + 1e-6
                plus = np.sum(layer.forward(x)[0] * g)
                flat[idx] = old - 1e-6
                minus = np.sum(layer.forward(x)[0] * g)
                flat[idx] = old
                fd[idx] = (plus - minus) / 2e-6
            assert_close(grad, fd.reshape(target.shape), atol=1e-5, name=f"{cls} d {name}")
    finally:
        set_floatx(before)


@pytest.mark.parametrize("cls, size, kernel", [("Conv3DTranspose", (1, 1, 2), (1, 2, 2)),
                                               ("Conv2DTranspose", (1, 2), (2, 2))])
def test_transposed_output_empty_on_one_axis(K: Any, parity: Any, cls: str, size: tuple,
                                             kernel: tuple) -> None:
    """An axis of size 0 empties the output; TensorFlow then does not check that the
    other axes convolve back (found by the hypothesis test above)."""
    kwargs = dict(filters=1, kernel_size=kernel, strides=1, padding="same", output_padding=0)
    compare(K, parity, cls, kwargs, image((1, *size, 1), 0))
