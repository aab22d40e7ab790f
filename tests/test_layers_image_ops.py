"""``rnnlens.ops.image`` against ``keras.ops.image`` (Keras 3.15.1, TensorFlow backend):
every resize interpolation with and without antialiasing, aspect-ratio crop / pad, integer
images, both layouts; affine transforms for each interpolation and fill mode;
perspective transforms, map_coordinates, blur, crop / pad, patches, scale_and_translate,
color conversions, Sobel edges and SSIM; clear errors for bad arguments. Images are in
[0, 1] so that 1e-5 is a relative tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from oracle import keras_available
from rnnlens.ops import image as RI


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    import keras  # noqa: PLC0415

    return keras


X = np.random.default_rng(0).uniform(0, 1, (2, 7, 9, 3)).astype(np.float32)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area",
                                           "lanczos3", "lanczos5"])
@pytest.mark.parametrize("size", [(4, 5), (11, 13), (7, 3)])
@pytest.mark.parametrize("antialias", [False, True])
def test_resize(K: Any, parity: Any, interpolation: str, size: tuple, antialias: bool) -> None:
    parity(RI.resize(X, size, interpolation, antialias),
           K.ops.image.resize(X, size, interpolation, antialias), name="resize")


@pytest.mark.parametrize("kwargs", [dict(crop_to_aspect_ratio=True),
                                    dict(pad_to_aspect_ratio=True, fill_value=0.5),
                                    dict(data_format="channels_first")])
@pytest.mark.parametrize("size", [(4, 4), (3, 8), (10, 4)])
def test_resize_aspect_and_layout(K: Any, parity: Any, kwargs: dict, size: tuple) -> None:
    x = np.moveaxis(X, -1, 1) if kwargs.get("data_format") else X
    parity(RI.resize(x, size, **kwargs), K.ops.image.resize(x, size, **kwargs), name="resize")
    parity(RI.resize(x[0], size, **kwargs), K.ops.image.resize(x[0], size, **kwargs))


def test_resize_integer_images(K: Any) -> None:
    x = (X * 255).astype(np.uint8)
    out = RI.resize(x, (5, 4), "bicubic")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(K.ops.image.resize(x, (5, 4), "bicubic")))


T = np.array([[1.2, 0.3, -2.5, -0.2, 0.9, 1.5, 0, 0],
              [0.7, -0.4, 3.2, 0.5, 1.1, -2.0, 0.01, -0.02]], np.float32)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "reflect"])
def test_affine_transform(K: Any, parity: Any, interpolation: str, fill_mode: str) -> None:
    parity(RI.affine_transform(X, T, interpolation, fill_mode, 0.25),
           K.ops.image.affine_transform(X, T, interpolation, fill_mode, 0.25))
    parity(RI.affine_transform(X[0], T[0], interpolation, fill_mode),
           K.ops.image.affine_transform(X[0], T[0], interpolation, fill_mode))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_perspective_transform(K: Any, parity: Any, interpolation: str) -> None:
    start = np.array([[0, 0], [8, 0], [0, 6], [8, 6]], np.float32)
    end = start + np.random.default_rng(1).uniform(-1.5, 1.5, (4, 2)).astype(np.float32)
    parity(RI.perspective_transform(X, start, end, interpolation, 0.5),
           K.ops.image.perspective_transform(X, start, end, interpolation, 0.5))


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "reflect"])
def test_map_coordinates(K: Any, parity: Any, order: int, fill_mode: str) -> None:
    coords = np.random.default_rng(2).uniform(-3, 10, (2, 5, 6)).astype(np.float32)
    parity(RI.map_coordinates(X[0, ..., 0], coords, order, fill_mode, 0.5),
           K.ops.image.map_coordinates(X[0, ..., 0], coords, order, fill_mode, 0.5))


def test_other_ops(K: Any, parity: Any) -> None:
    KI = K.ops.image
    parity(RI.gaussian_blur(X, (3, 5), (1.0, 2.0)), KI.gaussian_blur(X, (3, 5), (1.0, 2.0)))
    parity(RI.crop_images(X, 1, 2, target_height=3, target_width=4),
           KI.crop_images(X, 1, 2, target_height=3, target_width=4))
    parity(RI.pad_images(X, 1, 2, target_height=10, target_width=14),
           KI.pad_images(X, 1, 2, target_height=10, target_width=14))
    parity(RI.extract_patches(X, (2, 3)), KI.extract_patches(X, (2, 3)))
    parity(RI.extract_patches(X, 3, strides=1, padding="same"),
           KI.extract_patches(X, 3, strides=1, padding="same"))
    parity(RI.rgb_to_grayscale(X), KI.rgb_to_grayscale(X))
    parity(RI.rgb_to_hsv(X), KI.rgb_to_hsv(X))
    parity(RI.hsv_to_rgb(RI.rgb_to_hsv(X)), KI.hsv_to_rgb(RI.rgb_to_hsv(X)))
    parity(RI.sobel_edges(X), KI.sobel_edges(X))
    y = np.clip(X + np.random.default_rng(3).normal(0, 0.1, X.shape), 0, 1).astype(np.float32)
    parity(RI.ssim(X, y, filter_size=5), KI.ssim(X, y, filter_size=5))
    for method in ("linear", "cubic", "lanczos3"):
        args = ((2, 5, 4, 3), np.array([0.6, 0.45], np.float32),
                np.array([0.3, -0.2], np.float32), (1, 2), method)
        parity(RI.scale_and_translate(X, *args), KI.scale_and_translate(X, *args))


def test_elastic_transform_shape_and_range() -> None:
    out = RI.elastic_transform(X, alpha=2.0, sigma=1.0, seed=3)
    assert out.shape == X.shape and out.dtype == np.float32
    assert not np.allclose(out, X)
    np.testing.assert_array_equal(out, RI.elastic_transform(X, alpha=2.0, sigma=1.0, seed=3))


@pytest.mark.parametrize("call, match", [
    (lambda: RI.resize(X, (3, 3), "gaussian"), "interpolation"),
    (lambda: RI.resize(X, (0, 3)), "positive"),
    (lambda: RI.resize(X[0, 0], (3, 3)), "rank"),
    (lambda: RI.affine_transform(X, T, fill_mode="mirror"), "fill_mode"),
    (lambda: RI.affine_transform(X, T[:, :5]), "transform"),
    (lambda: RI.crop_images(X, 1, target_height=3), "exactly two"),
    (lambda: RI.map_coordinates(X[0, ..., 0], np.full((2, 1), 7.0, np.float32), 1, "mirror"),
     "mirror"),
    (lambda: RI.rgb_to_hsv((X * 255).astype(np.uint8)), "float"),
])
def test_errors(call: Any, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()
