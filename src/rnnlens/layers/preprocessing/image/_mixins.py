"""What several image augmentation layers share beyond ``_base``: the opening of
``get_random_transformation`` (``RandomDraw``) and two argument sets (``HeightWidthFactors``
of ``RandomTranslation`` / ``RandomZoom``, ``ColorFactor`` of the hue / saturation family).

``rnnlens.params.declared`` collects a class's params along its MRO, bases first, and a
re-declared param keeps its inherited place: a mixin's declarations fix the constructor's
argument order (Keras's signature), and a layer re-declares one (another range or
default) without moving it. ``get_config``'s keys and order come from ``config_order``.
A mixin goes before the layer base in the class's bases (``class L(Mixin, ImageLayer)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.preprocessing.image._base import (DataFormat, Number, Range, ValueRange,
                                                      _num, box_format, fill_mode_param,
                                                      interpolation_param)


def batch_size(images: np.ndarray) -> int:
    """The batch size of an image (1) or a batch; other ranks refused as Keras's color
    layers refuse them."""
    if images.ndim not in (3, 4):
        raise ValueError("Expected the input image to be rank 3 or 4. Received "
                         f"inputs.shape={images.shape}")
    return images.shape[0] if images.ndim == 4 else 1


class RandomDraw:
    """``get_random_transformation(data, training=True, seed=None)`` as::

        images = data["images"] (or data);   b = batch size (1 for a single image)
        None in inference (unless draws_in_inference), else
        self._draw(images, b, rng),          rng = self._generator(seed)

    Class attributes:
        draws_in_inference: draw in inference too (Keras's color layers do).
        check_rank: refuse images of a rank other than 3 / 4 (``batch_size``).
    """

    draws_in_inference = False
    check_rank = False

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        if not (training or self.draws_in_inference):
            return None
        images = data["images"] if isinstance(data, dict) else data
        b = batch_size(images) if self.check_rank else \
            (images.shape[0] if images.ndim == 4 else 1)
        return self._draw(images, b, self._generator(seed))  # type: ignore[attr-defined]

    def _draw(self, images: np.ndarray, b: int, rng: np.random.Generator) -> Any:
        raise NotImplementedError


class FactorPair(P.Param):
    """``height_factor`` / ``width_factor`` of ``RandomZoom`` / ``RandomTranslation``: a
    number or a pair in ``(lo, 1]`` (kept as given; the range is derived)."""

    def __init__(self, default: Any = P.REQUIRED, *, lo: float = -1.0, open_lo: bool = False,
                 none: bool = False):
        super().__init__(default, none=none)
        self.lo, self.open_lo = lo, open_lo

    @property
    def expected(self) -> str:
        left = "(" if self.open_lo else "["
        return f"a number (or a list of two numbers) in the range {left}{self.lo}, 1.0]"

    def _ok(self, v: Any) -> bool:
        return _num(v) and v <= 1.0 and (v > self.lo if self.open_lo else v >= self.lo)

    def validate(self, value: Any, owner: Any) -> Any:
        pair = isinstance(value, (list, tuple))
        if (pair and (len(value) != 2 or not all(self._ok(v) for v in value))) or \
                (not pair and not self._ok(value)):
            raise self.fail(value, owner)
        return value

    @staticmethod
    def bounds(value: Any) -> tuple[float, float]:
        if isinstance(value, (list, tuple)):
            a, b = sorted(value)
            return a, b
        return -abs(value), abs(value)


class HeightWidthFactors(RandomDraw):
    """``RandomTranslation``'s arguments, in Keras's order (``RandomZoom`` re-declares the
    factors: open at -1, and ``width_factor`` may be None)."""

    height_factor = FactorPair()
    width_factor = FactorPair()
    fill_mode = fill_mode_param()
    interpolation = interpolation_param()
    seed = P.Seed()
    fill_value = Number(0.0)
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("height_factor", "width_factor", "fill_mode", "interpolation", "seed",
                    "fill_value", "data_format")


class ColorFactor(RandomDraw):
    """The hue / saturation family's arguments, in Keras's order (a layer re-declares
    ``factor`` / ``value_range`` where its range or sorting differs). These layers draw in
    inference too and refuse ranks other than 3 / 4, as Keras's do."""

    factor = Range(bounds=(-1, 1))
    value_range = ValueRange()
    data_format = DataFormat()
    seed = P.Seed()
    bounding_box_format = box_format()

    config_order = ("factor", "value_range", "seed")
    draws_in_inference = True
    check_rank = True


__all__ = ["RandomDraw", "HeightWidthFactors", "ColorFactor", "FactorPair", "batch_size"]
