"""Mixing, erasing and composite augmentation layers (Keras 3.15.1): ``MixUp``,
``CutMix``, ``RandomErasing``, ``RandomGaussianBlur``, ``AugMix``, ``RandAugment``, and
``MaxNumBoundingBoxes``.

* MixUp: ``y = w x + (1 - w) x[perm]``, ``w ~ Beta(alpha, alpha)`` per image, ``perm`` a
  random permutation of the batch; labels mix the same way.
* CutMix: a box of relative side ``sqrt(1 - w)`` (``w ~ Beta(a, a)``, ``a ~ U[factor]``)
  at a random position takes ``x[perm]``'s pixels; labels mix with ``1 - box area``.
* RandomErasing: with probability ``U[factor]``, a box of relative sides
  ``sqrt(U[scale])`` is filled with ``fill_value`` (None: ``N(0, 1) * b``), clipped to
  ``value_range``.
* RandomGaussianBlur: with probability ``U[factor]``, ``ops.image.gaussian_blur`` with
  ``kernel_size`` and ``sigma ~ U[sigma] + 1e-6`` (one pair per batch), then a clip.
* AugMix: ``num_chains`` chains of up to ``chain_depth`` random operations (shear,
  translation, rotation, posterization, solarization, auto contrast, equalization and,
  with ``all_ops``, brightness, color degeneration, contrast, sharpness), mixed with
  Dirichlet(alpha) weights, then ``y = m x + (1 - m) mix``, ``m ~ Beta(alpha, alpha)``.
* RandAugment: ``num_ops`` operations drawn uniformly from eleven.
* MaxNumBoundingBoxes: pads (``fill_value``) or truncates ``bounding_boxes["boxes"]``
  / ``["labels"]`` to ``max_number`` per image; images pass unchanged.

All are the identity in inference. AugMix and RandAugment choose their chains with
Python's ``random`` in Keras; rnnlens uses the layer's generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.preprocessing.image import color as C
from rnnlens.layers.preprocessing.image import geometric as G
from rnnlens.layers.preprocessing.image import tone as T
from rnnlens.layers.preprocessing.image._base import (DataFormat, ImageLayer, Range,
                                                      ValueRange, _num, box_format,
                                                      interpolation_param, lazy)

IMG = lazy("rnnlens.ops.image")

F32 = np.float32


def _batch(data: Any) -> tuple[np.ndarray, int]:
    images = data["images"] if isinstance(data, dict) else data
    return images, (images.shape[0] if images.ndim == 4 else 1)


def _box_masks(layer: ImageLayer, shape: tuple, corners: tuple) -> np.ndarray:
    """(B, H, W, C)-shaped booleans: ``x0 <= x < x1`` and ``y0 <= y < y1``."""
    h, w = shape[layer.height_axis], shape[layer.width_axis]
    gy, gx = np.meshgrid(np.arange(h, dtype=F32), np.arange(w, dtype=F32), indexing="ij")
    if layer.data_format == "channels_last":
        gy, gx = gy[None, :, :, None], gx[None, :, :, None]
    else:
        gy, gx = gy[None, None], gx[None, None]
    x0, x1, y0, y1 = (np.asarray(v, F32)[:, None, None, None] for v in corners)
    masks = (gx >= x0) & (gx < x1) & (gy >= y0) & (gy < y1)
    return np.repeat(masks, shape[layer.channel_axis], axis=layer.channel_axis)


def _crop_bounds(layer: ImageLayer, rng: np.random.Generator, b: int, length: int,
                 ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    crop = (ratio * F32(length)).astype(F32)
    start = layer.uniform(rng, (b,)) * (F32(length) - crop)
    return start, start + crop


class MixUp(ImageLayer):
    """Mixes each image (and label) with another of the batch (see the module).

    Args:
        alpha: the Beta distribution's parameter.
        data_format: "channels_last" or "channels_first".
        seed: random seed.
    """

    alpha = P.Float(0.2, min=0.0)
    data_format = DataFormat()
    seed = P.Seed()
    bounding_box_format = box_format()

    config_order = ("alpha", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        _, b = _batch(data)
        rng = self._generator(seed)
        return {"mix_weight": rng.beta(self.alpha, self.alpha, size=(b,)).astype(F32),
                "permutation_order": rng.permutation(b).astype(np.int64)}

    def _mix(self, x: np.ndarray, transformation: Any, shape: tuple) -> np.ndarray:
        w = np.asarray(transformation["mix_weight"], F32).reshape(shape)
        perm = np.asarray(transformation["permutation_order"])
        return (w * x + (F32(1) - w) * np.take(x, perm, axis=0)).astype(F32)

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        return self._mix(images.astype(F32), transformation, (-1, 1, 1, 1))

    def transform_labels(self, labels: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        return self._mix(labels, transformation, (-1, 1)) if training else labels

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return self._mix(masks, transformation, (-1, 1, 1, 1)) if training else masks


class CutMix(ImageLayer):
    """Pastes a random box of another image of the batch into each image (see the module).

    Args:
        factor: the range of the Beta parameter, in [0, 1].
        seed: random seed.
        data_format: "channels_last" or "channels_first".
    """

    factor = Range(1.0, (0, 1))
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        images, b = _batch(data)
        if not training or images.ndim == 3:
            return None
        h, w = images.shape[self.height_axis], images.shape[self.width_axis]
        rng = self._generator(seed)
        a = float(self.uniform(rng, (), *self.factor)) + 1e-6
        weight = rng.beta(a, a, size=(b,)).astype(F32)
        ratio = np.sqrt(F32(1) - weight)
        x0, x1 = _crop_bounds(self, rng, b, w, ratio)
        y0, y1 = _crop_bounds(self, rng, b, h, ratio)
        masks = _box_masks(self, images.shape, (x0, x1, y0, y1))
        mix = F32(1) - (x1 - x0) * (y1 - y0) / F32(w * h)
        return {"permutation_order": rng.permutation(b).astype(np.int32),
                "batch_masks": masks, "mix_weight": mix[:, None, None, None]}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32)
        if not training or transformation is None:
            return x
        perm = np.asarray(transformation["permutation_order"])
        return np.where(np.asarray(transformation["batch_masks"]), np.take(x, perm, axis=0), x)

    def transform_labels(self, labels: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        if not training or transformation is None:
            return labels
        perm = np.asarray(transformation["permutation_order"])
        w = np.asarray(transformation["mix_weight"], F32).reshape(-1, 1)
        return (w * labels + (F32(1) - w) * np.take(labels, perm, axis=0)).astype(F32)

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return self.transform_images(masks, transformation, training)


def _fill_value(value: Any) -> Any:
    if value is None or _num(value):
        return value
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(_num(v) for v in value):
        return value
    raise ValueError(value)


class RandomErasing(ImageLayer):
    """Erases a random box of each image with a random probability (see the module).

    Args:
        factor: the probability range, in [0, 1].
        scale: the range of the box's relative area per side (squared), in [0, 1].
        fill_value: a number, three numbers (per channel) or None (Gaussian noise).
        value_range: the images' range.
        seed, data_format: as ``MixUp``.
    """

    factor = Range(1.0, (0, 1))
    scale = Range((0.02, 0.33), (0, 1))
    fill_value = P.Json(None, validate=_fill_value, none=True,
                        expected="a number, a list of three numbers, or None")
    value_range = ValueRange(sort=False)
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("factor", "scale", "fill_value", "value_range", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        if not training:
            return None
        images, b = _batch(data)
        h, w = images.shape[self.height_axis], images.shape[self.width_axis]
        rng = self._generator(seed)
        weight = np.sqrt(self.uniform(rng, (b, 2), *self.scale))
        x0, x1 = _crop_bounds(self, rng, b, w, weight[:, 0])
        y0, y1 = _crop_bounds(self, rng, b, h, weight[:, 1])
        shape = images.shape if images.ndim == 4 else (1, *images.shape)
        masks = _box_masks(self, shape, (x0, x1, y0, y1))
        probability = self.uniform(rng, (b,), *self.factor)
        apply = self.uniform(rng, (b,)) < probability
        if self.fill_value is None:
            fill = rng.standard_normal(images.shape).astype(F32) * F32(self.value_range[1])
        else:
            try:
                fill = np.broadcast_to(np.asarray(self.fill_value, F32), images.shape)
            except ValueError:
                raise ValueError(f"{self._kind()}: fill_value={self.fill_value} does not "
                                 f"broadcast to images of shape {images.shape} (three values "
                                 "need channels-last images).") from None
        fill = np.clip(fill, self.value_range[0], self.value_range[1]).astype(F32)
        return {"apply_erasing": apply, "batch_masks": masks, "fill_value": fill}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32)
        if not training:
            return x
        erased = np.where(np.asarray(transformation["batch_masks"]),
                          np.asarray(transformation["fill_value"], F32), x)
        apply = np.asarray(transformation["apply_erasing"])[:, None, None, None]
        return np.where(apply, erased, x).astype(F32)

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return masks


class _KernelSize(P.Param):
    """``kernel_size``: an odd number ``k`` (``(k, k)``) or two odd numbers."""

    expected = "an odd number or a list of two odd numbers"

    def validate(self, value: Any, owner: Any) -> tuple:
        pair = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
        if len(pair) != 2 or not all(_num(v) and v % 2 == 1 and v >= 1 for v in pair):
            raise self.fail(value, owner)
        return pair

    def dump(self, value: Any) -> Any:
        return tuple(value)


class RandomGaussianBlur(ImageLayer):
    """Blurs each image with a random probability and a random sigma (see the module).

    Args:
        factor: the probability range, in [0, 1].
        kernel_size: an odd number or two.
        sigma: the sigma range, in [0, 1].
        value_range: the images' range.
        data_format, seed: as ``MixUp``.
    """

    factor = Range(1.0, (0, 1))
    kernel_size = _KernelSize(3)
    sigma = Range(1.0, (0, 1))
    value_range = ValueRange(sort=False)
    data_format = DataFormat()
    seed = P.Seed()
    bounding_box_format = box_format()

    config_order = ("factor", "kernel_size", "sigma", "value_range", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        if not training:
            return None
        _, b = _batch(data)
        rng = self._generator(seed)
        probability = self.uniform(rng, (b,), *self.factor)
        apply = self.uniform(rng, (b,)) < probability
        sigma = self.uniform(rng, (2,), *self.sigma) + F32(1e-6)
        return {"should_apply_blur": apply, "blur_factor": sigma.astype(F32)}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32)
        if not training or transformation is None:
            return x
        blurred = IMG.gaussian_blur(x, tuple(int(k) for k in self.kernel_size),
                                  tuple(np.asarray(transformation["blur_factor"], F32)),
                                  self.data_format)
        apply = np.asarray(transformation["should_apply_blur"])[:, None, None, None]
        out = np.where(apply, blurred, x)
        return np.clip(out, self.value_range[0], self.value_range[1]).astype(F32)

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return masks


def _operations(layer: Any, names: tuple[str, ...]) -> dict:
    """AugMix's / RandAugment's sub-layers, built as Keras builds them."""
    f, vr, kw = layer.factor, layer.value_range, {"seed": layer.seed,
                                                  "data_format": layer.data_format}
    make = {
        "random_shear": lambda: G.RandomShear(x_factor=f, y_factor=f,
                                              interpolation=layer.interpolation, **kw),
        "random_translation": lambda: G.RandomTranslation(
            height_factor=f, width_factor=f, interpolation=layer.interpolation, **kw),
        "random_rotation": lambda: G.RandomRotation(factor=f,
                                                    interpolation=layer.interpolation, **kw),
        "random_brightness": lambda: C.RandomBrightness(factor=f, value_range=vr, **kw),
        "random_color_degeneration": lambda: C.RandomColorDegeneration(
            factor=f, value_range=vr, **kw),
        "random_contrast": lambda: C.RandomContrast(factor=f, value_range=vr, **kw),
        "random_sharpness": lambda: C.RandomSharpness(factor=f, value_range=vr, **kw),
        "solarization": lambda: T.Solarization(addition_factor=f, threshold_factor=f,
                                               value_range=vr, **kw),
        "random_posterization": lambda: T.RandomPosterization(
            factor=max(1, int(8 * f[1])), value_range=vr, **kw),
        "auto_contrast": lambda: T.AutoContrast(value_range=vr,
                                                data_format=layer.data_format),
        "equalization": lambda: T.Equalization(value_range=vr,
                                               data_format=layer.data_format),
    }
    order = ("random_shear", "random_translation", "random_rotation", "solarization",
             "random_posterization", "auto_contrast", "equalization", "random_brightness",
             "random_color_degeneration", "random_contrast", "random_sharpness")
    built = {name: make[name]() for name in order if name in names}
    return {name: built[name] for name in names}


AUGMIX_ALL = ("random_shear", "random_translation", "random_rotation", "random_posterization",
              "solarization", "auto_contrast", "equalization", "random_brightness",
              "random_color_degeneration", "random_contrast", "random_sharpness")
RANDAUGMENT = ("random_shear", "random_translation", "random_rotation", "random_brightness",
               "random_color_degeneration", "random_contrast", "random_sharpness",
               "random_posterization", "solarization", "auto_contrast", "equalization")


class AugMix(ImageLayer):
    """AugMix (see the module docstring).

    Args:
        value_range: the images' range.
        num_chains: the number of chains.
        chain_depth: the most operations per chain.
        factor: the operations' strength range, in [0, 1].
        alpha: the Dirichlet / Beta parameter.
        all_ops: include brightness, color degeneration, contrast and sharpness.
        interpolation: "bilinear" or "nearest".
        seed, data_format: as ``MixUp``.
    """

    value_range = ValueRange(sort=False)
    num_chains = P.Int(3, min=1, cap="max_dim")
    chain_depth = P.Int(3, min=1, cap="max_dim")
    factor = Range(0.3, (0, 1))
    alpha = P.Float(1.0, min=0.0)
    all_ops = P.Bool(True)
    interpolation = interpolation_param()
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("value_range", "num_chains", "chain_depth", "factor", "alpha", "all_ops",
                    "interpolation", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        names = AUGMIX_ALL if self.all_ops else AUGMIX_ALL[:7]
        self._ops = _operations(self, names)

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        if not training:
            return None
        rng = self._generator(seed)
        g = rng.gamma(self.alpha, size=(self.num_chains,)).astype(F32)
        weights = (g / g.sum(dtype=F32)).astype(F32)
        sample = F32(rng.beta(self.alpha, self.alpha))
        names = list(self._ops) + [None]
        chains = []
        for _ in range(self.num_chains):
            steps = []
            for _ in range(self.chain_depth):
                name = names[int(rng.integers(len(names)))]
                if name is not None:
                    steps.append({"layer_name": name, "transformation":
                                  self._ops[name].get_random_transformation(data, seed=rng)})
            chains.append(steps)
        return {"chain_mixing_weights": weights, "weight_sample": sample,
                "chain_transforms": chains}

    def _chains(self, x: np.ndarray, transformation: Any, masks: bool) -> np.ndarray:
        weights = np.asarray(transformation["chain_mixing_weights"], F32)
        sample = F32(np.asarray(transformation["weight_sample"]))
        mixed = np.zeros_like(x)
        for k, chain in enumerate(transformation["chain_transforms"]):
            y = x.copy()
            for step in chain:
                op = self._ops[step["layer_name"]]
                fn = op.transform_segmentation_masks if masks else op.transform_images
                y = fn(y, step["transformation"])
            mixed = mixed + y * weights[k]
        return sample * x + (F32(1) - sample) * mixed

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32)
        if not training:
            return x
        out = self._chains(x, transformation, False)
        return np.clip(out, self.value_range[0], self.value_range[1]).astype(F32)

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return self._chains(masks, transformation, True) if training else masks


class RandAugment(ImageLayer):
    """RandAugment: ``num_ops`` random operations of strength ``factor`` (see the module).

    Args:
        value_range: the images' range.
        num_ops: the number of operations applied.
        factor: the operations' strength range, in [0, 1].
        interpolation: "bilinear" or "nearest".
        seed, data_format: as ``MixUp``.
    """

    value_range = ValueRange(sort=False)
    num_ops = P.Int(2, min=0, cap="max_dim")
    factor = Range(0.5, (0, 1))
    interpolation = interpolation_param()
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("value_range", "num_ops", "factor", "interpolation", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ops = _operations(self, RANDAUGMENT)

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        if not training:
            return None
        rng = self._generator(seed)
        idx = rng.integers(0, len(RANDAUGMENT), size=(self.num_ops,)).astype(np.int32)
        transforms = {name: op.get_random_transformation(data, training=training, seed=rng)
                      for name, op in self._ops.items()}
        return {"transforms": transforms, "layer_idxes": idx}

    def _apply_ops(self, x: np.ndarray, transformation: Any, masks: bool) -> np.ndarray:
        idx = np.asarray(transformation["layer_idxes"]).ravel()
        names = list(transformation["transforms"])
        for i in range(self.num_ops):
            name = names[int(idx[i])]
            op = self._ops[name]
            fn = op.transform_segmentation_masks if masks else op.transform_images
            x = fn(x, transformation["transforms"][name]).astype(F32)
        return x

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32)
        return self._apply_ops(x, transformation, False) if training else x

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return self._apply_ops(masks, transformation, True) if training else masks


class MaxNumBoundingBoxes(ImageLayer):
    """Pads or truncates bounding boxes to ``max_number`` per image (see the module).

    Args:
        max_number: the number of boxes per image.
        fill_value: the padding of boxes and labels.
    """

    max_number = P.Int(min=1, cap="max_dim")
    fill_value = P.Int(-1, cap=None)
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("max_number",)

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        return images

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any = None,
                                     training: bool = True) -> np.ndarray:
        return masks

    def transform_bounding_boxes(self, boxes: Any, transformation: Any,
                                 training: bool = True) -> Any:
        b, labels = np.asarray(boxes.get("boxes")), np.asarray(boxes.get("labels"))
        single = b.ndim == 2
        b, labels = (b[None], labels[None]) if single else (b, labels)
        if b.ndim != 3 or b.shape[-1] != 4 or labels.shape != b.shape[:2]:
            raise ValueError(f"{self._kind()}: bounding_boxes need 'boxes' (B, N, 4) and "
                             f"'labels' (B, N); received {b.shape} and {labels.shape}.")
        n, m = b.shape[1], self.max_number
        pad = max(m - n, 0)
        b = np.pad(b[:, :m], [(0, 0), (0, pad), (0, 0)], constant_values=self.fill_value)
        labels = np.pad(labels[:, :m], [(0, 0), (0, pad)], constant_values=self.fill_value)
        out = dict(boxes)
        out["boxes"], out["labels"] = (b[0], labels[0]) if single else (b, labels)
        return out

    def changes_input(self, training: bool) -> bool:
        return False


__all__ = ["MixUp", "CutMix", "RandomErasing", "RandomGaussianBlur", "AugMix", "RandAugment",
           "MaxNumBoundingBoxes"]
