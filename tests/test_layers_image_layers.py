"""The image preprocessing layers against Keras 3.15.1: for each layer, a transformation
drawn by Keras's ``get_random_transformation`` applied by rnnlens's ``transform_images``
equals Keras's output (both layouts); inference equals Keras's; deterministic layers
(Rescaling, Resizing, CenterCrop) equal Keras's eager calls; a model with augmentation
layers predicts as Keras's and loads from a Keras file; labels mix as Keras mixes them.
TensorFlow's random numbers cannot be reproduced, so draws are checked for shape and range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import keras_available
from rnnlens import layers as RL


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    import keras  # noqa: PLC0415

    return keras


def to_np(t: Any) -> Any:
    if isinstance(t, dict):
        return {k: to_np(v) for k, v in t.items()}
    if isinstance(t, (list, tuple)):
        return type(t)(to_np(v) for v in t)
    return t.numpy() if hasattr(t, "numpy") else t


X = np.random.default_rng(0).uniform(0, 1, (4, 7, 9, 3)).astype(np.float32)
VR = {"value_range": (0, 1)}
CASES = [
    ("RandomFlip", {}), ("RandomFlip", dict(mode="vertical")),
    ("RandomRotation", dict(factor=0.3)),
    ("RandomRotation", dict(factor=(-0.2, 0.4), fill_mode="constant", fill_value=0.3,
                            interpolation="nearest")),
    ("RandomZoom", dict(height_factor=(-0.3, 0.4), width_factor=0.2, fill_mode="wrap")),
    ("RandomTranslation", dict(height_factor=0.2, width_factor=(-0.3, 0.1),
                               fill_mode="nearest")),
    ("RandomShear", dict(x_factor=0.3, y_factor=(0.1, 0.5))),
    ("RandomPerspective", dict(factor=(0.3, 0.9), scale=0.6, fill_value=0.5)),
    ("RandomCrop", dict(height=4, width=5, seed=3)), ("RandomCrop", dict(height=8, width=5)),
    ("RandomBrightness", dict(factor=0.3, **VR)), ("RandomContrast", dict(factor=(0.2, 0.5))),
    ("RandomHue", dict(factor=0.6, **VR)), ("RandomSaturation", dict(factor=(0.2, 0.9))),
    ("RandomSharpness", dict(factor=0.7, **VR)), ("RandomGrayscale", dict(factor=0.6)),
    ("RandomInvert", dict(factor=0.7, **VR)), ("RandomColorDegeneration", dict(factor=0.7)),
    ("RandomPosterization", dict(factor=(2, 6), **VR)),
    ("Solarization", dict(addition_factor=0.3, threshold_factor=(0.2, 0.8), **VR)),
    ("Equalization", dict(bins=64, **VR)), ("AutoContrast", VR),
    ("ContrastLimitedAdaptiveHistogramEqualization", dict(tile_grid_size=(2, 4), **VR)),
    ("MixUp", dict(alpha=0.4)), ("CutMix", dict(factor=0.8)),
    ("RandomErasing", dict(factor=0.9, **VR)),
    ("RandomGaussianBlur", dict(kernel_size=5, sigma=(0.3, 0.9), **VR)),
    ("AugMix", dict(factor=0.5, **VR)), ("RandAugment", dict(num_ops=3, **VR)),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                     enumerate(CASES)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_transformation_equals_keras(K: Any, parity: Any, name: str, kwargs: dict,
                                     data_format: str) -> None:
    import tensorflow as tf  # noqa: PLC0415

    x = X if data_format == "channels_last" else np.moveaxis(X, -1, 1)
    theirs = getattr(K.layers, name)(**kwargs, data_format=data_format)
    ours = getattr(RL, name)(**kwargs, data_format=data_format)
    for _ in range(2):
        t = theirs.get_random_transformation(x, training=True)
        parity(ours.transform_images(x, to_np(t)),
               np.asarray(theirs.transform_images(tf.constant(x), t)), name=name)
    parity(ours(x, training=False), np.asarray(theirs(x, training=False)))
    drawn = ours(x)                                          # eager: training=True
    assert drawn.dtype == np.float32 and drawn.shape == np.asarray(theirs(x)).shape


@pytest.mark.parametrize("name", ["MixUp", "CutMix"])
def test_labels_mix_as_keras(K: Any, parity: Any, name: str) -> None:
    theirs, ours = getattr(K.layers, name)(), getattr(RL, name)()
    labels = np.eye(4, dtype=np.float32)
    t = theirs.get_random_transformation(X, training=True)
    parity(ours.transform_labels(labels, to_np(t)), np.asarray(theirs.transform_labels(labels, t)))
    out = ours({"images": X, "labels": labels})
    np.testing.assert_allclose(out["labels"].sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name, kwargs", [
    ("Rescaling", dict(scale=0.5, offset=1.0)), ("Rescaling", dict(scale=[1.0, 2.0, 3.0])),
    ("Resizing", dict(height=4, width=5)),
    ("Resizing", dict(height=11, width=4, interpolation="bicubic", crop_to_aspect_ratio=True)),
    ("Resizing", dict(height=5, width=5, pad_to_aspect_ratio=True, interpolation="area")),
    ("Resizing", dict(height=3, width=4, antialias=True, interpolation="lanczos3")),
    ("CenterCrop", dict(height=4, width=5)), ("CenterCrop", dict(height=3, width=12))])
def test_deterministic_layers(K: Any, parity: Any, name: str, kwargs: dict) -> None:
    parity(getattr(RL, name)(**kwargs)(X), np.asarray(getattr(K.layers, name)(**kwargs)(X)))
    parity(getattr(RL, name)(**kwargs)(X[0]),
           np.asarray(getattr(K.layers, name)(**kwargs)(X[0])))


def _model(lib: Any) -> Any:
    i = lib.Input((7, 9, 3))
    y = lib.layers.Rescaling(2.0, offset=-1.0)(i)
    y = lib.layers.RandomFlip(seed=1)(y)
    y = lib.layers.RandomRotation(0.2, seed=2)(y)
    y = lib.layers.Resizing(4, 5)(y)
    y = lib.layers.CenterCrop(3, 3)(y)
    return lib.Model(i, lib.layers.Dense(2)(lib.layers.Flatten()(y)))


def test_model_predict_and_files(K: Any, parity: Any, tmp_path: Path) -> None:
    kmodel = _model(K)
    path = tmp_path / "aug.keras"
    kmodel.save(path)
    loaded = rnnlens.models.load_model(path)
    parity(loaded.predict(X, verbose=0), np.asarray(kmodel(X, training=False)), name="file")
    native = _model(rnnlens)
    native.set_weights(kmodel.get_weights())
    native.save(tmp_path / "ours.keras")
    back = K.models.load_model(tmp_path / "ours.keras")
    parity(np.asarray(back(X, training=False)), np.asarray(kmodel(X, training=False)))


def test_fit_through_augmentation_at_the_input() -> None:
    model = _model(rnnlens)
    model.compile(optimizer="sgd", loss="mse")
    hist = model.fit(X, np.zeros((4, 2), np.float32), epochs=2, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))


def test_random_augmentation_after_trainable_layer_is_refused() -> None:
    i = rnnlens.Input((4, 4, 3))
    y = RL.RandomRotation(0.3)(RL.Dense(3)(i))
    model = rnnlens.Model(i, y)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="trainable weights precedes"):
        model.fit(X[:, :4, :4], np.zeros((4, 4, 4, 3), np.float32), verbose=0)


def test_draws_have_keras_ranges() -> None:
    layer = RL.RandomRotation((0.1, 0.2), seed=0)
    angle = layer.get_random_transformation(np.zeros((500, 4, 4, 3), np.float32))["angle"]
    assert angle.min() >= 36.0 and angle.max() < 72.0 and abs(angle.mean() - 54) < 1.0
    flips = RL.RandomFlip(seed=0).get_random_transformation(np.zeros((2000, 2, 2, 1)))["flips"]
    assert abs(flips.mean() - 0.5) < 0.05


@pytest.mark.parametrize("call, match", [
    (lambda: RL.RandomRotation(2.0), "factor"),
    (lambda: RL.RandomZoom(-1.0), "height_factor"),
    (lambda: RL.RandomFlip(mode="diagonal"), "mode"),
    (lambda: RL.RandomGaussianBlur(kernel_size=4), "kernel_size"),
    (lambda: RL.RandomFlip()(np.zeros((2, 3), np.float32)), "rank"),
    (lambda: RL.RandomHue(0.2)(np.zeros((1, 4, 4, 2), np.float32)), "3 channels"),
    (lambda: RL.RandomFlip()({"images": X, "bounding_boxes": {}}), "bounding_box_format"),
    (lambda: RL.RandomFlip(bounding_box_format="xyxy")(
        {"images": X, "bounding_boxes": {"boxes": np.zeros((4, 1, 4)),
                                         "labels": np.zeros((4, 1))}}), "bounding boxes"),
])
def test_errors(call: Any, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()
