"""Geometric augmentation layers (Keras 3.15.1): ``RandomFlip``, ``RandomRotation``,
``RandomZoom``, ``RandomTranslation``, ``RandomShear``, ``RandomPerspective``,
``RandomCrop``, ``RandomElasticTransform``. In inference each returns its input (``RandomCrop``
too, uncropped, as Keras does); with ``training=True`` it draws per image:

* flip: ``u <= 1/2`` flips horizontally and / or vertically (``mode``);
* rotation: ``theta ~ U[360 f_lo, 360 f_hi]`` degrees about the centre ``c = ((W - 1)/2,
  (H - 1)/2)``; the output pixel p reads ``R(theta) (p - c) + c`` (Keras's
  ``_compute_affine_matrix`` with unit scale and no shear);
* zoom: ``z ~ U[1 + lo, 1 + hi]`` per axis (the width's equal to the height's when
  ``width_factor`` is None); reads ``z (p - c) + c``;
* translation: ``t ~ U[lo, hi] * size`` per axis; reads ``p - t``;
* shear: ``s_x, s_y ~ U`` times a random sign; reads ``(x + s_x y, s_y x + y)``;
* perspective: with probability ``U[f_lo, f_hi]``, the corners ``q`` move to
  ``q (1 + d)``, ``d ~ U[-scale/2, scale/2]`` ((4, 2) per image);
* crop: a random ``(height, width)`` window (the centred largest window of that aspect
  ratio, resized bilinearly, when the input is not larger on both axes);
* elastic: with probability ``U[f_lo, f_hi]``, ``ops.image.elastic_transform`` with
  ``alpha = 0.1 k max(H, W)``, ``sigma = 0.05 k min(H, W)``, ``k ~ U[scale]``, then a clip
  to ``value_range``.

Pixels are read by ``ops.image.affine_transform`` / ``perspective_transform``
(``interpolation``, ``fill_mode``, ``fill_value``); segmentation masks take the same
transformation with nearest interpolation, labels pass unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.preprocessing.image._base import (DataFormat, ImageLayer, Number, Range,
                                                      ValueRange, box_format,
                                                      fill_mode_param, interpolation_param,
                                                      lazy)
from rnnlens.layers.preprocessing.image._mixins import (FactorPair, HeightWidthFactors,
                                                        RandomDraw)

IMG = lazy("rnnlens.ops.image")
_more = lazy("rnnlens.ops._image_more")

F32 = np.float32


def _hw_batch(layer: ImageLayer, images: np.ndarray) -> tuple[int, int, int]:
    b = images.shape[0] if images.ndim == 4 else 1
    return images.shape[layer.height_axis], images.shape[layer.width_axis], b


def _images_of(data: Any) -> np.ndarray:
    return data["images"] if isinstance(data, dict) else data


def affine_matrix(angle: np.ndarray, tx: np.ndarray, ty: np.ndarray, scale: np.ndarray,
                  shear_x: np.ndarray, shear_y: np.ndarray, height: int,
                  width: int) -> np.ndarray:
    """Keras's ``_compute_affine_matrix`` (float32; angles in degrees) -> (B, 8)."""
    rad = F32(math.pi / 180.0)
    angle, shx, shy = (np.asarray(v, F32) * rad for v in (angle, shear_x, shear_y))
    cx, cy = F32(0.5) * (F32(width) - F32(1)), F32(0.5) * (F32(height) - F32(1))
    cos, sin = np.cos(angle), np.sin(angle)
    shx, shy = np.tan(shx), np.tan(shy)
    a0 = scale * (cos + shx * sin)
    a1 = scale * (-sin + shx * cos)
    a2 = tx + cx - cx * a0 - cy * a1
    b0 = scale * (shy * cos + sin)
    b1 = scale * (shy * -sin + cos)
    b2 = ty + cy - cx * b0 - cy * b1
    zeros = np.zeros_like(a0)
    return np.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1).astype(F32)


class _Affine(RandomDraw, ImageLayer):
    """Layers that warp by ``affine_transform`` with a (B, 8) matrix."""

    def _warp(self, images: np.ndarray, matrix: np.ndarray, interpolation: str
              ) -> np.ndarray:
        return IMG.affine_transform(images, matrix, interpolation, self.fill_mode,
                                  self.fill_value, self.data_format)


class RandomFlip(RandomDraw, ImageLayer):
    """Flips images at random (see the module docstring).

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical".
        seed: random seed.
        data_format: "channels_last" or "channels_first".
    """

    mode = P.Choice("horizontal_and_vertical", ("horizontal", "vertical",
                                                "horizontal_and_vertical"))
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("seed", "mode", "data_format")

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        shape = (1, 1, 1) if images.ndim == 3 else (images.shape[0], 1, 1, 1)
        return {"flips": self.uniform(rng, shape) <= F32(0.5), "input_shape": images.shape}

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        images = images.astype(F32, copy=False)
        if not training or transformation is None:
            return images
        flips = np.asarray(transformation["flips"])
        out = images
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            out = np.where(flips, np.flip(out, axis=self.width_axis), out)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            out = np.where(flips, np.flip(out, axis=self.height_axis), out)
        return out

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return self.transform_images(masks, transformation, training)

    def input_gradient(self, cache: Any, d_out: np.ndarray) -> Any:
        if isinstance(cache[0], dict) or cache[1] is None:
            return super().input_gradient(cache, d_out)
        single = cache[0].ndim == 3
        d = d_out[None] if single else d_out
        d = self.transform_images(d, cache[1], True)          # a flip is its own inverse
        return d[0] if single else d


class RandomRotation(_Affine):
    """Rotates images by a random angle (a fraction of a full turn; see the module).

    Args:
        factor: a fraction of 2 pi: f (``[-f, f]``) or a pair.
        fill_mode: "reflect", "wrap", "constant" or "nearest".
        interpolation: "bilinear" or "nearest".
        seed: random seed.
        fill_value: the value outside with "constant".
        data_format: "channels_last" or "channels_first".
    """

    factor = Range(bounds=(-1, 1))
    fill_mode = fill_mode_param()
    interpolation = interpolation_param()
    seed = P.Seed()
    fill_value = Number(0.0)
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "data_format", "fill_mode", "fill_value", "interpolation",
                    "seed")

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        h, w, _ = _hw_batch(self, images)
        angle = self.uniform(rng, (b,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        zeros, ones = np.zeros(b, F32), np.ones(b, F32)
        matrix = affine_matrix(angle, zeros, zeros, ones, zeros, zeros, h, w)
        if images.ndim == 3:
            matrix = matrix[0]
        return {"angle": angle, "rotation_matrix": matrix, "image_height": h,
                "image_width": w, "batch_size": b}

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        if transformation is None:
            return images
        return self._warp(images, np.asarray(transformation["rotation_matrix"]), interpolation)


class RandomZoom(HeightWidthFactors, _Affine):
    """Zooms images in or out at random (see the module docstring).

    Args:
        height_factor: a fraction in (-1, 1] (negative zooms in) or a pair.
        width_factor: likewise, or None to keep the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as ``RandomRotation``.
    """

    height_factor = FactorPair(open_lo=True)
    width_factor = FactorPair(None, open_lo=True, none=True)

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        lo, hi = FactorPair.bounds(self.height_factor)
        height = self.uniform(rng, (b, 1), 1.0 + lo, 1.0 + hi)
        if self.width_factor is not None:
            wlo, whi = FactorPair.bounds(self.width_factor)
            width = self.uniform(rng, (b, 1), 1.0 + wlo, 1.0 + whi)
        else:
            width = height
        return {"height_zoom": height, "width_zoom": width, "input_shape": images.shape}

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        if transformation is None:
            return images
        zooms = np.concatenate([np.asarray(transformation["width_zoom"], F32),
                                np.asarray(transformation["height_zoom"], F32)], axis=1)
        h, w = images.shape[self.height_axis], images.shape[self.width_axis]
        x_off = (F32(w) - F32(1)) / F32(2) * (F32(1) - zooms[:, 0:1])
        y_off = (F32(h) - F32(1)) / F32(2) * (F32(1) - zooms[:, 1:])
        z = np.zeros((zooms.shape[0], 1), F32)
        matrix = np.concatenate([zooms[:, 0:1], z, x_off, z, zooms[:, 1:], y_off, z, z], 1)
        return self._warp(images, matrix, interpolation)


class RandomTranslation(HeightWidthFactors, _Affine):
    """Translates images at random (see the module docstring).

    Args:
        height_factor, width_factor: fractions of the size in [-1, 1] (or pairs).
        fill_mode, interpolation, seed, fill_value, data_format: as ``RandomRotation``.
    """

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        h, w, _ = _hw_batch(self, images)
        hy = self.uniform(rng, (b, 1), *FactorPair.bounds(self.height_factor)) * F32(h)
        wx = self.uniform(rng, (b, 1), *FactorPair.bounds(self.width_factor)) * F32(w)
        return {"translations": np.concatenate([wx, hy], axis=1).astype(F32),
                "input_shape": images.shape}

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        if transformation is None:
            return images
        t = np.asarray(transformation["translations"], F32)
        one, zero = np.ones((t.shape[0], 1), F32), np.zeros((t.shape[0], 1), F32)
        matrix = np.concatenate([one, zero, -t[:, 0:1], zero, one, -t[:, 1:], zero, zero], 1)
        return self._warp(images, matrix, interpolation)


class RandomShear(_Affine):
    """Shears images at random along x and / or y (see the module docstring).

    Args:
        x_factor, y_factor: shear amounts in [0, 1] (a number f is ``[-f, f]``) or pairs.
        interpolation, fill_mode, fill_value, data_format, seed: as ``RandomRotation``.
    """

    x_factor = Range(0.0, (0, 1), number="free", strict=True, pair_bounds=(-1, 1))
    y_factor = Range(0.0, (0, 1), number="free", strict=True, pair_bounds=(-1, 1))
    interpolation = interpolation_param()
    fill_mode = fill_mode_param()
    fill_value = Number(0.0)
    data_format = DataFormat()
    seed = P.Seed()
    bounding_box_format = box_format()

    config_order = ("x_factor", "y_factor", "fill_mode", "interpolation", "seed",
                    "fill_value", "data_format")

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        invert = np.where(self.uniform(rng, (b, 1)) > 0.5, F32(-1), F32(1))
        shear_y = self.uniform(rng, (b, 1), *self.y_factor)
        shear_x = self.uniform(rng, (b, 1), *self.x_factor)
        factor = np.concatenate([shear_x, shear_y], axis=1) * invert
        return {"shear_factor": factor.astype(F32), "input_shape": images.shape}

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        if transformation is None:
            return images
        s = np.asarray(transformation["shear_factor"], F32)
        one, zero = np.ones(s.shape[0], F32), np.zeros(s.shape[0], F32)
        matrix = np.stack([one, s[:, 0], zero, s[:, 1], one, zero, zero, zero], axis=1)
        return self._warp(images, matrix, interpolation)


class RandomPerspective(RandomDraw, ImageLayer):
    """Applies a random perspective warp to each image with a random probability.

    Args:
        factor: the probability range in [0, 1].
        scale: how far the corners move, in [0, 1].
        interpolation: "bilinear" or "nearest".
        fill_value: the value outside the warped image.
        seed, data_format: as ``RandomRotation``.
    """

    factor = Range(1.0, (0, 1))
    scale = P.Float(1.0, min=0.0, max=1.0)
    interpolation = interpolation_param()
    fill_value = Number(0.0)
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "scale", "interpolation", "fill_value", "seed")

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        h, w, _ = _hw_batch(self, images)
        probability = self.uniform(rng, (b,), *self.factor)
        apply = self.uniform(rng, (b,)) < probability
        d = self.uniform(rng, (b, 4, 2), -0.5 * self.scale, 0.5 * self.scale)
        start = np.array([[[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]]], F32)
        start = np.repeat(start, b, axis=0)
        return {"apply_perspective": apply, "start_points": start,
                "end_points": start + start * d, "input_shape": images.shape}

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        if transformation is None:
            return images
        out = IMG.perspective_transform(images, np.asarray(transformation["start_points"]),
                                      np.asarray(transformation["end_points"]),
                                      interpolation, self.fill_value, self.data_format)
        apply = np.asarray(transformation["apply_perspective"])[:, None, None, None]
        return np.where(apply, out, images)


class _CropSeed(P.Seed):
    """``RandomCrop.seed``: Keras draws one when None (its config holds an integer)."""

    def check(self, value: Any, owner: Any = None) -> Any:
        if value is None and owner is not None:
            from rnnlens.random import generator

            return int(generator().integers(1, 10**9))
        return super().check(value, owner)


class RandomCrop(ImageLayer):
    """Crops a random ``(height, width)`` window in training; returns its input unchanged
    in inference, as Keras 3.15.1 does (see the module docstring).

    Args:
        height, width: the crop size.
        seed: random seed (drawn when None, as Keras).
        data_format: "channels_last" or "channels_first".
    """

    height = P.Int(min=1)
    width = P.Int(min=1)
    seed = _CropSeed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("height", "width", "seed", "data_format")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        images = _images_of(data)
        h, w = images.shape[self.height_axis], images.shape[self.width_axis]
        if training and h > self.height and w > self.width:
            rng = self._generator(seed)
            top = int(self.uniform(rng, (), 0, float(h - self.height + 1)))
            left = int(self.uniform(rng, (), 0, float(w - self.width + 1)))
            return top, left
        ch = max(min(h, int(float(w * self.height) / self.width)), 1)
        cw = max(min(w, int(float(h * self.width) / self.height)), 1)
        return int(float(h - ch) / 2), int(float(w - cw) / 2)

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        top, left = (int(v) for v in transformation)
        index = [slice(None)] * images.ndim
        index[self.height_axis] = slice(top, top + self.height)
        index[self.width_axis] = slice(left, left + self.width)
        out = images.astype(F32, copy=False)[tuple(index)]
        if out.shape[self.height_axis] != self.height or \
                out.shape[self.width_axis] != self.width:
            out = IMG.resize(out, (self.height, self.width), data_format=self.data_format)
        return out

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return self.transform_images(masks, transformation)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        shape = list(input_shape)
        shape[self.height_axis], shape[self.width_axis] = self.height, self.width
        return tuple(shape)


class RandomElasticTransform(ImageLayer):
    """Elastic distortion with a random probability and strength (see the module).

    Args:
        factor: the probability range in [0, 1].
        scale: the distortion strength range in [0, 1].
        interpolation: "bilinear" or "nearest".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: the value outside with "constant".
        value_range: the images' range (outputs are clipped to it).
        seed, data_format: as ``RandomRotation``.
    """

    factor = Range(1.0, (0, 1))
    scale = Range(1.0, (0, 1))
    interpolation = interpolation_param()
    fill_mode = fill_mode_param("reflect", ("constant", "nearest", "wrap", "mirror",
                                            "reflect"))
    fill_value = Number(0.0)
    value_range = ValueRange(sort=False)
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "scale", "interpolation", "fill_mode", "fill_value",
                    "value_range", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        images = _images_of(data)
        b = images.shape[0] if images.ndim == 4 else 1
        rng = self._generator(seed)
        probability = self.uniform(rng, (b,), *self.factor)
        apply = self.uniform(rng, (b,)) < probability
        strength = self.uniform(rng, (), *self.scale)
        return {"apply_transform": apply, "distortion_factor": strength,
                "seed": int(rng.integers(0, 2**31 - 1))}

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        if transformation is None:
            return images
        h, w = images.shape[self.height_axis], images.shape[self.width_axis]
        k = F32(transformation["distortion_factor"])
        alpha, sigma = F32(max(h, w)) * (F32(0.1) * k), F32(min(h, w)) * (F32(0.05) * k)
        seed = transformation["seed"]
        rng = seed if isinstance(seed, np.random.Generator) else \
            np.random.default_rng(int(np.asarray(seed).ravel()[0]))
        noise = rng.standard_normal((images.shape[0], h, w)).astype(F32)
        warped = _more.warp_with_noise(images, noise, alpha, sigma, interpolation, self.fill_mode,
                                 self.fill_value, self.data_format)
        apply = np.asarray(transformation["apply_transform"])[:, None, None, None]
        out = np.where(apply, warped, images)
        return np.clip(out, self.value_range[0], self.value_range[1]).astype(F32)


__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomShear",
           "RandomPerspective", "RandomCrop", "RandomElasticTransform", "affine_matrix"]
