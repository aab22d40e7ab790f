"""Tone layers (Keras 3.15.1): ``RandomPosterization``, ``Solarization``,
``Equalization``, ``AutoContrast``, ``ContrastLimitedAdaptiveHistogramEqualization``.
Values are first mapped from ``value_range`` ``[a, b]`` to ``[0, 255]`` and back.

* posterization: ``y = (u8(x) >> s) << s`` with ``s = 8 - k``, ``k`` a random integer
  in ``[lo, hi)`` (``lo`` when the range is one value);
* solarization: ``r = clip(x + add, 0, 255)``, ``y = r < t ? r : 255 - r`` with
  ``add ~ U[lo_a, 255 hi_a]``, ``t ~ U[lo_t, 255 hi_t]``;
* equalization (training only): per channel, over the whole batch as Keras does, the
  ``bins``-bin histogram h of ``trunc(x (bins - 1) / 255)``, its cdf c and
  ``lut = round(255 (c - c_min) / (c_N - c_min))``; ``y = lut[trunc(x (bins - 1) / 255)]``
  (unchanged when at most one bin is used);
* auto contrast (always, training or not): per image and channel,
  ``y = 255 (x - min) / (max - min)`` over axes 1 and 2 (NaN, for a constant image,
  keeps x);
* CLAHE (always): per image and channel, clipped (``clip_limit``) and redistributed tile
  histograms on a ``tile_grid_size`` grid (the image reflected up to whole tiles), their
  cdfs mapped to [0, 255], and each pixel a bilinear blend of the four nearest tiles'
  mappings of its value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.preprocessing.image._base import (DataFormat, ImageLayer, Range,
                                                      ValueRange, box_format)
from rnnlens.layers.preprocessing.image.color import _batch, _Color, to_range

F32 = np.float32


class RandomPosterization(_Color):
    """Keeps the ``k`` high bits of each 8-bit value, ``k`` random.

    Args:
        factor: the number of bits kept, in [1, 8] (a number f is ``[1, f]``).
        value_range: the images' range.
        data_format, seed: as ``RandomHue``.
    """

    factor = Range(bounds=(1, 8))
    value_range = ValueRange()
    data_format = DataFormat()
    seed = P.Seed()
    bounding_box_format = box_format()

    config_order = ("factor", "value_range", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        images = data["images"] if isinstance(data, dict) else data
        b = _batch(images)
        lo, hi = int(self.factor[0]), int(self.factor[1])
        if lo != hi:
            k = self._generator(seed).integers(lo, hi, size=(b,)).astype(np.uint8)
        else:
            k = np.full((b,), lo, np.uint8)
        return {"shift_factor": (np.uint8(8) - k).astype(np.uint8)}

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        s = np.asarray(transformation["shift_factor"]).astype(np.uint8).reshape(-1, 1, 1, 1)
        x = to_range(images.astype(F32), self.value_range, (0, 255))
        u8 = np.clip(np.trunc(x), 0, 255).astype(np.uint8)
        u8 = np.left_shift(np.right_shift(u8, s), s)
        return to_range(u8.astype(F32), (0, 255), self.value_range).astype(F32)


class Solarization(_Color):
    """Adds a random amount and inverts the values above a random threshold.

    Args:
        addition_factor: in [0, 1] (a number f is ``[0, f]``), a fraction of 255.
        threshold_factor: likewise.
        value_range: the images' range.
        seed: random seed.
    """

    addition_factor = Range(0.0, (0, 1), number="zero", strict=True)
    threshold_factor = Range(0.0, (0, 1), number="zero", strict=True)
    value_range = ValueRange()
    seed = P.Seed()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("value_range", "addition_factor", "threshold_factor", "seed")

    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        shape = (images.shape[0], 1, 1, 1) if images.ndim == 4 else (1, 1, 1)
        rng = self._generator(seed)
        add = self.uniform(rng, shape, self.addition_factor[0], self.addition_factor[1] * 255)
        thr = self.uniform(rng, shape, self.threshold_factor[0],
                           self.threshold_factor[1] * 255)
        return {"additions": add, "thresholds": thr}

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32)
        if not training or transformation is None:
            return x
        x = to_range(x, self.value_range, (0, 255))
        r = np.clip(x + np.asarray(transformation["additions"], F32), 0, 255)
        r = np.where(r < np.asarray(transformation["thresholds"], F32), r, F32(255) - r)
        return to_range(r.astype(F32), (0, 255), self.value_range).astype(F32)


class Equalization(_Color):
    """Histogram equalization per channel (training only; see the module docstring).

    Args:
        value_range: the images' range.
        bins: the number of histogram bins.
        data_format: "channels_last" or "channels_first".
    """

    value_range = ValueRange()
    bins = P.Int(256, min=1, cap="max_dim")
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("bins", "value_range")

    def _indices(self, x: np.ndarray) -> np.ndarray:
        scaled = (x.astype(F32) - F32(0)) * F32(self.bins - 1) / F32(255)
        return np.clip(np.trunc(np.nan_to_num(scaled)), 0, self.bins - 1).astype(np.int64)

    def _channel(self, c: np.ndarray) -> np.ndarray:
        lo, hi = self.value_range
        scale = (255 - 0) / (hi - lo)
        c = (c * F32(scale) + F32(0 - lo * scale)).astype(F32)
        hist = np.bincount(self._indices(c).ravel(), minlength=self.bins)
        if np.count_nonzero(hist) <= 1:
            out = c.astype(np.float64)
        else:
            cdf = np.cumsum(hist)
            cmin = cdf[np.nonzero(cdf)[0][0]]
            den = cdf[-1] - cmin
            den = 1 if den == 0 else den
            lut = np.clip(np.round((cdf - cmin) * 255 / den), 0, 255)
            idx = np.clip(c / F32(255) * F32(self.bins - 1), 0, self.bins - 1)
            out = lut[np.trunc(idx).astype(np.int64)]
        back = (hi - lo) / (255 - 0)
        return out * back + (lo - 0 * back)

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        if not training:
            return images
        x = images.astype(F32)
        axis = self.channel_axis
        chans = [self._channel(np.take(x, i, axis=axis)) for i in range(x.shape[axis])]
        return np.stack(chans, axis=axis).astype(F32)


class AutoContrast(_Color):
    """Stretches each image's channels to the full value range (always applied).

    Args:
        value_range: the images' range.
    """

    value_range = ValueRange()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("value_range",)

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        x = to_range(images.astype(F32), self.value_range, (0, 255))
        low = np.min(x, axis=(1, 2), keepdims=True)
        high = np.max(x, axis=(1, 2), keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = F32(255) / (high - low)
            offset = -low * scale
            y = np.clip(x * scale + offset, 0, 255)
        y = to_range(y.astype(F32), (0, 255), self.value_range)
        return np.where(np.isnan(y), images.astype(F32), y).astype(F32)

    def changes_input(self, training: bool) -> bool:
        return True


class _GridSize(P.IntTuple):
    """``tile_grid_size``: two positive ints, kept in the form given."""

    def __init__(self) -> None:
        super().__init__((8, 8), length=2)

    def validate(self, value: Any, owner: Any) -> Any:
        super().validate(value, owner)
        return value

    def dump(self, value: Any) -> Any:
        return value


class ContrastLimitedAdaptiveHistogramEqualization(ImageLayer):
    """CLAHE on each channel of images in ``value_range`` (always applied).

    Args:
        value_range: the images' range.
        clip_limit: the histogram clip, relative to the uniform count (<= 0: no clip).
        tile_grid_size: (rows, columns) of tiles.
        data_format: "channels_last" or "channels_first".
    """

    value_range = ValueRange(sort=False)
    clip_limit = P.Float(4.0)
    tile_grid_size = _GridSize()
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("value_range", "clip_limit", "tile_grid_size", "data_format")

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return masks

    def changes_input(self, training: bool) -> bool:
        return True

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        x = np.moveaxis(images, 1, -1) if self.data_format == "channels_first" else images
        x = to_range(x.astype(F32), self.value_range, (0, 255))
        y = to_range(clahe(x, self.clip_limit, tuple(self.tile_grid_size)), (0, 255),
                     self.value_range).astype(F32)
        return np.moveaxis(y, -1, 1) if self.data_format == "channels_first" else y


def clahe(images: np.ndarray, clip_limit: float, grid: tuple[int, int]) -> np.ndarray:
    """Keras's ``_clahe`` on (B, H, W, C) float32 values in [0, 255]."""
    b, h, w, c = images.shape
    gh, gw = grid
    th, tw = -(-h // gh), -(-w // gw)
    pad_h, pad_w = th * gh - h, tw * gw - w
    padded = images
    if pad_h or pad_w:
        padded = np.pad(images, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
    tiles = padded.reshape(b, gh, th, gw, tw, c).transpose(0, 1, 3, 5, 2, 4)
    tiles = np.clip(tiles.reshape(b, gh, gw, c, th * tw).astype(np.int32), 0, 255)
    hists = np.zeros((b, gh, gw, c, 256), F32)
    np.add.at(hists, (*_tile_index(tiles.shape), tiles.reshape(-1)), F32(1))
    if clip_limit > 0:
        limit = F32(clip_limit * (th * tw) / 256.0)
        clipped = np.clip(hists, 0, limit)
        excess = np.sum(hists - clipped, axis=-1, keepdims=True, dtype=F32)
        hists = clipped + excess / F32(256)
    cdf = np.cumsum(hists, axis=-1, dtype=F32)
    cmin = np.min(cdf, axis=-1, keepdims=True)
    den = F32(th * tw) - cmin
    den = np.where(den == 0, F32(1), den)
    cdf = np.clip((cdf - cmin) * F32(255) / den, 0, 255).astype(F32)
    cdf = np.concatenate([cdf[:, :1], cdf, cdf[:, -1:]], axis=1)
    cdf = np.concatenate([cdf[:, :, :1], cdf, cdf[:, :, -1:]], axis=2)  # (B, gh+2, gw+2, C, 256)
    yg = (np.arange(th * gh, dtype=F32) - F32(th / 2.0)) / F32(th) + F32(1)
    xg = (np.arange(tw * gw, dtype=F32) - F32(tw / 2.0)) / F32(tw) + F32(1)
    y0, x0 = np.floor(yg), np.floor(xg)
    wy, wx = (yg - y0)[None, :, None, None], (xg - x0)[None, None, :, None]
    y1, x1 = (np.clip(v, 0, g + 1).astype(np.int64) for v, g in ((y0 + 1, gh), (x0 + 1, gw)))
    y0, x0 = np.clip(y0, 0, gh + 1).astype(np.int64), np.clip(x0, 0, gw + 1).astype(np.int64)
    pix = np.clip(padded, 0, 255).astype(np.int32)
    bi = np.arange(b)[:, None, None, None]
    ci = np.arange(c)[None, None, None, :]

    def look(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return cdf[bi, yy[None, :, None, None], xx[None, None, :, None], ci, pix]

    top = look(y0, x0) * (F32(1) - wx) + look(y0, x1) * wx
    bottom = look(y1, x0) * (F32(1) - wx) + look(y1, x1) * wx
    out = top * (F32(1) - wy) + bottom * wy
    return out[:, :h, :w, :].astype(F32)


def _tile_index(shape: tuple) -> tuple:
    """Index arrays (b, i, j, c) repeated for every pixel of each tile (for add.at)."""
    b, gh, gw, c, n = shape
    grids = np.indices((b, gh, gw, c)).reshape(4, -1)
    return tuple(np.repeat(g, n) for g in grids)


__all__ = ["RandomPosterization", "Solarization", "Equalization", "AutoContrast",
           "ContrastLimitedAdaptiveHistogramEqualization", "clahe"]
