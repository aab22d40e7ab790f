"""Color augmentation layers (Keras 3.15.1): ``RandomBrightness``, ``RandomContrast``,
``RandomHue``, ``RandomSaturation``, ``RandomSharpness``, ``RandomGrayscale``,
``RandomInvert``, ``RandomColorDegeneration``, ``RandomColorJitter``. Identity in
inference; with ``training=True``, per image (``[lo, hi]`` is the layer's factor range,
``[a, b]`` its ``value_range``, results clipped to ``[a, b]`` where Keras clips):

* brightness: ``y = x + d (b - a)``, ``d ~ U[lo, hi]``;
* contrast: ``y = (x - m) c + m``, m the per-channel mean over the image,
  ``c ~ U[1 - lo, 1 + hi]`` (Keras's range);
* hue: in HSV of ``(x - a) / (b - a)``: ``h + s h_0`` wrapped into [0, 1],
  ``s = +-1``, ``h_0 ~ U[lo, hi] / 2``;
* saturation: in HSV of x: ``s * f / (1 - f + 1e-7)`` clipped to ``[a, b]``,
  ``f ~ U[lo, hi]``;
* sharpness: ``y = x + (1 - 2 f) (blur(x) - x)``, blur the 3 x 3 kernel
  ``[1 1 1; 1 5 1; 1 1 1] / 13`` ("same" zero padding);
* grayscale: with probability ``factor``, ``gray(x)`` on every channel;
* invert: with probability ``U[lo, hi]``, ``y = b - x``;
* color degeneration: ``y = x + f (gray(x) - x)``, ``f ~ U[lo, hi]``;
* color jitter: brightness, contrast, saturation and hue in that order (those whose
  factor is set).

Segmentation masks and labels pass unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.preprocessing.image._base import (DataFormat, ImageLayer, Range,
                                                      ValueRange, box_format, lazy)
from rnnlens.layers.preprocessing.image._mixins import ColorFactor, RandomDraw
from rnnlens.layers.preprocessing.image._mixins import batch_size as _batch

IMG = lazy("rnnlens.ops.image")

F32 = np.float32


def to_range(images: np.ndarray, source: Any, target: Any) -> np.ndarray:
    """Keras's ``_transform_value_range`` (float32)."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    lo, hi = F32(source[0]), F32(source[1])
    tlo, thi = F32(target[0]), F32(target[1])
    out = (images.astype(F32) - lo) / (hi - lo)
    return (out * (thi - tlo) + tlo).astype(F32)


class _Color(ImageLayer):
    """Color layers: masks pass unchanged."""

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return masks


class RandomBrightness(_Color):
    """Adds a random brightness offset (see the module docstring).

    Args:
        factor: a fraction of the value range in [-1, 1], or a pair.
        value_range: the images' range ``[a, b]``.
        seed: random seed.
    """

    factor = Range(bounds=(-1, 1))
    value_range = ValueRange()
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "value_range", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        images = data["images"] if isinstance(data, dict) else data
        shape = (1, 1, 1) if _batch(images) and images.ndim == 3 else \
            (images.shape[0], 1, 1, 1)
        if not training:
            return {"rgb_delta": np.zeros(shape, F32)}
        delta = self.uniform(self._generator(seed), shape, *self.factor)
        return {"rgb_delta": delta * F32(self.value_range[1] - self.value_range[0])}

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        out = images + np.asarray(transformation["rgb_delta"]).astype(images.dtype)
        return np.clip(out, self.value_range[0], self.value_range[1]).astype(images.dtype)


class RandomContrast(_Color):
    """Scales each channel's deviation from its mean by a random factor.

    Args:
        factor: in [0, 1], or a pair.
        value_range: the images' range.
        seed: random seed.
    """

    factor = Range(bounds=(0, 1))
    value_range = ValueRange(sort=False)
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "value_range", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        images = data["images"] if isinstance(data, dict) else data
        shape = (1, 1, 1) if _batch(images) and images.ndim == 3 else \
            (images.shape[0], 1, 1, 1)
        if not training:
            return {"contrast_factor": np.zeros(shape, F32)}
        return {"contrast_factor": self.uniform(self._generator(seed), shape,
                                                1.0 - self.factor[0], 1.0 + self.factor[1])}

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        c = np.asarray(transformation["contrast_factor"], F32)
        mean = np.mean(images, axis=self.height_axis, keepdims=True, dtype=F32)
        mean = np.mean(mean, axis=self.width_axis, keepdims=True, dtype=F32)
        out = (images - mean) * c + mean
        return np.clip(out, self.value_range[0], self.value_range[1]).astype(F32)


class RandomHue(ColorFactor, _Color):
    """Shifts the hue by a random amount (see the module docstring).

    Args:
        factor: in [0, 1] (a fraction of half the hue circle), or a pair.
        value_range: the images' range.
        data_format: "channels_last" or "channels_first".
        seed: random seed.
    """

    factor = Range(bounds=(0, 1))
    value_range = ValueRange(sort=False)
    channels = 3

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        invert = np.where(self.uniform(rng, (b,)) > 0.5, F32(-1), F32(1))
        factor = self.uniform(rng, (b,), *self.factor)
        return {"factor": (invert * factor * F32(0.5)).astype(F32)}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        x = to_range(images.astype(F32), self.value_range, (0, 1))
        f = np.asarray(transformation["factor"], F32)[:, None, None]
        hsv = IMG.rgb_to_hsv(x, data_format=self.data_format)
        axis = self.channel_axis
        h = np.take(hsv, 0, axis=axis) + f
        h = np.where(h > 1.0, h - F32(1), h)
        h = np.where(h < 0.0, h + F32(1), h)
        hsv = np.stack([h, np.take(hsv, 1, axis=axis), np.take(hsv, 2, axis=axis)], axis=axis)
        rgb = np.clip(IMG.hsv_to_rgb(hsv.astype(F32), data_format=self.data_format), 0, 1)
        return to_range(rgb, (0, 1), self.value_range).astype(F32)


class RandomSaturation(ColorFactor, _Color):
    """Scales the saturation by a random factor (see the module docstring).

    Args:
        factor: in [-1, 1] (0.5 keeps the saturation on average), or a pair.
        value_range: the images' range (the saturation is clipped to it).
        data_format, seed: as ``RandomHue``.
    """

    channels = 3

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        f = self.uniform(rng, (b,), *self.factor)
        return {"factor": (f / (F32(1) - f + F32(1e-7))).astype(F32)}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        f = np.asarray(transformation["factor"], F32)[:, None, None]
        hsv = IMG.rgb_to_hsv(images.astype(F32), data_format=self.data_format)
        axis = self.channel_axis
        s = np.clip(np.take(hsv, 1, axis=axis) * f, self.value_range[0], self.value_range[1])
        hsv = np.stack([np.take(hsv, 0, axis=axis), s.astype(F32), np.take(hsv, 2, axis=axis)],
                       axis=axis)
        return IMG.hsv_to_rgb(hsv, data_format=self.data_format)


class RandomSharpness(ColorFactor, _Color):
    """Sharpens or blurs by a random amount (see the module docstring).

    Args:
        factor: in [0, 1] (0.5 keeps the image), or a pair.
        value_range: the images' range.
        data_format, seed: as ``RandomHue``.
    """

    factor = Range(bounds=(0, 1))

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        return {"factor": self.uniform(rng, (b,), *self.factor)}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        from rnnlens.ops.nn_conv import depthwise_conv

        x = images.astype(F32)
        if not training:
            return x
        if self.data_format == "channels_first":
            x = np.swapaxes(x, -3, -1)
        f = (np.asarray(transformation["factor"], F32) * F32(2)).reshape(-1, 1, 1, 1)
        a, b = F32(1.0 / 13.0), F32(5.0 / 13.0)
        kernel = np.array([[a, a, a], [a, b, a], [a, a, a]], F32)[:, :, None, None]
        kernel = np.tile(kernel, (1, 1, x.shape[-1], 1))
        smooth = np.asarray(depthwise_conv(x, kernel, 1, "same", "channels_last"), F32)
        x = x + (F32(1) - f) * (smooth - x)
        x = np.clip(x, self.value_range[0], self.value_range[1]).astype(F32)
        return np.swapaxes(x, -3, -1) if self.data_format == "channels_first" else x


class _Probability(P.Float):
    """``RandomGrayscale.factor``: a probability in [0, 1], kept as given."""

    def __init__(self) -> None:
        super().__init__(0.5, min=0.0, max=1.0)

    def validate(self, value: Any, owner: Any) -> Any:
        super().validate(value, owner)
        return value


class RandomGrayscale(RandomDraw, _Color):
    """Turns each image gray (on every channel) with probability ``factor``.

    Args:
        factor: the probability, in [0, 1].
        data_format: "channels_last" or "channels_first".
        seed: random seed (not in Keras's config).
    """

    factor = _Probability()
    data_format = DataFormat()
    seed = P.Seed()
    bounding_box_format = box_format()

    config_order = ("factor",)
    draws_in_inference = check_rank = True

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        return (self.uniform(rng, (b,)) < F32(self.factor))[:, None, None, None]

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        if transformation is None:
            transformation = self.get_random_transformation(images)
        gray = IMG.rgb_to_grayscale(images, data_format=self.data_format)
        return np.where(np.asarray(transformation), gray, images).astype(images.dtype)


class RandomInvert(RandomDraw, _Color):
    """Inverts images (``b - x``) with a random probability.

    Args:
        factor: the probability range, in [0, 1].
        value_range: the images' range.
        seed, data_format: as ``RandomHue``.
    """

    factor = Range(1.0, (0, 1))
    value_range = ValueRange(sort=False)
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "value_range", "seed")
    check_rank = True

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        probability = self.uniform(rng, (b,), *self.factor)
        return {"apply_inversion": self.uniform(rng, (b,)) < probability}

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        apply = np.asarray(transformation["apply_inversion"])[:, None, None, None]
        x = images.astype(F32)
        return np.where(apply, F32(self.value_range[1]) - x, x).astype(F32)


class RandomColorDegeneration(ColorFactor, _Color):
    """Blends images toward their grayscale version by a random amount.

    Args:
        factor: in [-1, 1], or a pair.
        value_range: the images' range.
        data_format, seed: as ``RandomHue``.
    """

    channels = 3

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        return {"factor": self.uniform(rng, (b, 1, 1, 1), *self.factor)}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        x = images.astype(F32)
        f = np.asarray(transformation["factor"], F32)
        gray = IMG.rgb_to_grayscale(x, data_format=self.data_format)
        return np.clip(x + f * (gray - x), self.value_range[0],
                       self.value_range[1]).astype(F32)


class _OptionalFactor(P.Param):
    """A color jitter factor: None or what the sub-layer accepts (checked there)."""

    def __init__(self) -> None:
        super().__init__(None, none=True)

    def validate(self, value: Any, owner: Any) -> Any:
        from rnnlens.layers.preprocessing.image._base import _num

        if _num(value) or (isinstance(value, (list, tuple)) and len(value) == 2
                           and all(_num(v) for v in value)):
            return value
        raise self.fail(value, owner)


class RandomColorJitter(_Color):
    """Random brightness, contrast, saturation and hue, in that order (see the module).

    Args:
        value_range: the images' range.
        brightness_factor, contrast_factor, saturation_factor, hue_factor: the
            sub-layers' factors (None skips one).
        seed, data_format: as ``RandomHue``.
    """

    value_range = ValueRange(sort=False)
    brightness_factor = _OptionalFactor()
    contrast_factor = _OptionalFactor()
    saturation_factor = _OptionalFactor()
    hue_factor = _OptionalFactor()
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("value_range", "brightness_factor", "contrast_factor",
                    "saturation_factor", "hue_factor", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        kw = {"value_range": self.value_range, "seed": self.seed}
        self._steps = []
        for cls, factor in ((RandomBrightness, self.brightness_factor),
                            (RandomContrast, self.contrast_factor),
                            (RandomSaturation, self.saturation_factor),
                            (RandomHue, self.hue_factor)):
            if factor is not None:
                self._steps.append(cls(factor=factor, **kw))

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32)
        if not training:
            return x
        rng = self._generator()
        for layer in self._steps:
            x = layer.transform_images(x, layer.get_random_transformation(x, seed=rng))
        return x.astype(F32)


__all__ = ["RandomBrightness", "RandomContrast", "RandomHue", "RandomSaturation",
           "RandomSharpness", "RandomGrayscale", "RandomInvert", "RandomColorDegeneration",
           "RandomColorJitter", "to_range"]
