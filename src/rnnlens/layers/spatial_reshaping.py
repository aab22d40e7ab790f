"""The 2-D and 3-D padding, cropping and upsampling layers, as Keras 3 defines them:
ZeroPadding2D / 3D, Cropping2D / 3D, UpSampling2D / 3D (``rnnlens.layers.reshaping`` has
the 1-D ones and re-exports these).

Each family has a base over N spatial axes; a layer only sets ``rank`` and its defaults.
With ``(a_i, b_i)`` the pairs of spatial axis i (n_i steps)::

    ZeroPadding:  y = x with a_i zeros before and b_i after along each axis i
                  (n_i -> a_i + n_i + b_i);   backward: dx = dy[a_i : a_i + n_i]
    Cropping:     y = x[a_i : n_i - b_i] along each axis (at least one step must remain);
                  backward: dy padded back with zeros
    UpSampling:   "nearest" (and UpSampling2D's "area", equal for integer factors): each
                  step repeated s_i times (n_i -> s_i n_i);
                  backward: the gradients of the copies summed.
                  "bilinear", "bicubic", "lanczos3", "lanczos5" (UpSampling2D): TensorFlow's
                  ``tf.image.resize`` with half-pixel centres (``rnnlens.ops._resize``), a
                  linear map along each axis; backward: its adjoint.

Masks: none of these layers supports masking (as in Keras 3): an incoming mask stops here.

Shape legend: B batch, C channels, S the spatial axes (H, W or D, H, W).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers._spatial import (PadPairs, SpatialLayer, SpatialTuple, data_format_param,
                                     resolve_data_format)


class _SpatialRearrange(SpatialLayer):
    """What the padding, cropping and upsampling layers share: the data format, the rank
    check, the per-axis output sizes (``_axis_size``) and ``call``."""

    registered = False

    def __post_init__(self) -> None:
        self.data_format = resolve_data_format(self.data_format)

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        self.check_rank(shape)
        out = self.compute_output_shape(shape)
        from rnnlens.ops._conv_core import MAX_ELEMENTS

        count = math.prod(d for d in out if d is not None)        # unknown sizes count 1
        if count > MAX_ELEMENTS:
            raise ValueError(f"{self._kind()}: the output of shape {out} would hold at least "
                             f"{count} elements, over rnnlens's limit of {MAX_ELEMENTS} "
                             "(rnnlens.ops._conv_core.MAX_ELEMENTS); check the padding / "
                             "size arguments.")

    def _axis_size(self, i: int, n: int) -> int:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        out = list(input_shape)
        for i, axis in enumerate(self.spatial_axes()):
            if out[axis] is not None:
                out[axis] = self._axis_size(i, out[axis])
        return tuple(out)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs)[0]

    def _pairs_full(self, pairs: tuple) -> list:
        """``pairs`` per spatial axis as ``np.pad`` widths for every axis of the input."""
        widths = [(0, 0)] * (self.rank + 2)
        for axis, pair in zip(self.spatial_axes(), pairs):
            widths[axis] = pair
        return widths


# -- ZeroPadding ---------------------------------------------------------------------


class BaseZeroPadding(_SpatialRearrange):
    """Zeros around the spatial axes (see the module).

    Args:
        padding: an int (every side of every axis), a tuple of ``rank`` ints (both sides
            of each axis) or ``rank`` pairs ``(before, after)``; non-negative.
        data_format: "channels_last" (B, *S, C) or "channels_first" (B, C, *S); None is
            ``image_data_format()``.
    """

    registered = False

    padding = PadPairs(2, (1, 1))
    data_format = data_format_param()

    def _axis_size(self, i: int, n: int) -> int:
        return n + sum(self.padding[i])

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        self.check_input_shape(tuple(inputs.shape))
        return np.pad(inputs, self._pairs_full(self.padding)), inputs.shape     # (B, *S', C)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        keep = [slice(None)] * d_out.ndim
        for axis, (a, _) in zip(self.spatial_axes(), self.padding):
            keep[axis] = slice(a, a + cache[axis])
        return np.ascontiguousarray(d_out[tuple(keep)]), {}, []


class ZeroPadding2D(BaseZeroPadding):
    """Zeros around images: (B, H, W, C) -> (B, H + a + b, W + c + d, C); see
    :class:`BaseZeroPadding` (``padding=((a, b), (c, d))``)."""

    rank = 2


class ZeroPadding3D(BaseZeroPadding):
    """Zeros around volumes (B, D, H, W, C); see :class:`BaseZeroPadding`."""

    rank = 3
    padding = PadPairs(3, ((1, 1), (1, 1), (1, 1)))


# -- Cropping ------------------------------------------------------------------------


class BaseCropping(_SpatialRearrange):
    """Steps removed at both ends of each spatial axis (see the module).

    Args:
        cropping: an int, a tuple of ``rank`` ints or ``rank`` pairs ``(start, end)``, as
            :class:`BaseZeroPadding`'s ``padding``; each axis must keep at least one step.
        data_format: as :class:`BaseZeroPadding`.
    """

    registered = False

    cropping = PadPairs(2, ((0, 0), (0, 0)))
    data_format = data_format_param()

    def _axis_size(self, i: int, n: int) -> int:
        if sum(self.cropping[i]) >= n:
            raise ValueError(f"{self._kind()}: values in `cropping` should be smaller than "
                             "the corresponding spatial dimension of the input. Received: "
                             f"spatial size {n} along spatial axis {i}, cropping="
                             f"{self.cropping}")
        return n - sum(self.cropping[i])

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, None]:
        self.check_input_shape(tuple(inputs.shape))
        keep = [slice(None)] * inputs.ndim
        for axis, (a, b) in zip(self.spatial_axes(), self.cropping):
            keep[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(keep)], None                                       # (B, *S', C)

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return np.pad(d_out, self._pairs_full(self.cropping)), {}, []


class Cropping2D(BaseCropping):
    """Crops images: (B, H, W, C) -> (B, H - a - b, W - c - d, C); see
    :class:`BaseCropping` (``cropping=((a, b), (c, d))``)."""

    rank = 2


class Cropping3D(BaseCropping):
    """Crops volumes (B, D, H, W, C); see :class:`BaseCropping` (Keras's default crops one
    step at each end of each axis)."""

    rank = 3
    cropping = PadPairs(3, ((1, 1), (1, 1), (1, 1)))


# -- UpSampling ----------------------------------------------------------------------


class BaseUpSampling(_SpatialRearrange):
    """Each spatial axis i stretched ``size[i]`` times (see the module).

    Args:
        size: an int or a tuple of ``rank`` positive ints: the factor of each axis.
        data_format: as :class:`BaseZeroPadding`.
    """

    registered = False
    interpolation = "nearest"

    size = SpatialTuple(2)
    data_format = data_format_param()

    def _axis_size(self, i: int, n: int) -> int:
        return n * self.size[i]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        self.check_input_shape(tuple(inputs.shape))
        if self.interpolation not in ("nearest", "area"):
            from rnnlens.ops import _resize

            x = inputs if self.channel_axis == -1 else np.moveaxis(inputs, 1, -1)
            out = tuple(n * s for n, s in zip(x.shape[1:-1], self.size))
            y = _resize.resize(x.astype(np.float32, copy=False) if x.dtype.kind != "f"
                               else x, out, self.interpolation)               # (B, *S', C)
            y = y if self.channel_axis == -1 else np.moveaxis(y, -1, 1)
            return np.ascontiguousarray(y), inputs.shape
        y = inputs
        for axis, s in zip(self.spatial_axes(), self.size):
            y = np.repeat(y, s, axis=axis)
        return y, inputs.shape

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        if self.interpolation not in ("nearest", "area"):
            from rnnlens.ops import _resize

            dy = d_out if self.channel_axis == -1 else np.moveaxis(d_out, 1, -1)
            sizes = tuple(cache[a] for a in self.spatial_axes())
            dx = _resize.resize_backward(dy, sizes, self.interpolation)
            dx = dx if self.channel_axis == -1 else np.moveaxis(dx, -1, 1)
            return np.ascontiguousarray(dx), {}, []
        d = d_out
        for axis, s in zip(self.spatial_axes(), self.size):
            shape = d.shape[:axis] + (d.shape[axis] // s, s) + d.shape[axis + 1:]
            d = d.reshape(shape).sum(axis=axis + 1)
        return d, {}, []


class UpSampling2D(BaseUpSampling):
    """Upsamples images: (B, H, W, C) -> (B, s_1 H, s_2 W, C); see :class:`BaseUpSampling`.

    Args:
        interpolation: "nearest" (repeat rows and columns), or ``tf.image.resize``'s
            "bilinear", "bicubic", "lanczos3", "lanczos5" (half-pixel centres, no
            antialiasing; ``rnnlens.ops._resize``), or "area" (for the integer factors
            here, the values of "nearest", which TensorFlow's ``ResizeArea`` gives up to
            rounding; it has no gradient in TensorFlow, rnnlens trains it as "nearest").
    """

    rank = 2
    interpolation = P.Choice("nearest", ("nearest", "bilinear", "bicubic", "lanczos3",
                                         "lanczos5", "area"), lower=True)


class UpSampling3D(BaseUpSampling):
    """Upsamples volumes by repetition: (B, D, H, W, C) -> (B, s_1 D, s_2 H, s_3 W, C);
    see :class:`BaseUpSampling`."""

    rank = 3


__all__ = ["BaseZeroPadding", "BaseCropping", "BaseUpSampling", "ZeroPadding2D",
           "ZeroPadding3D", "Cropping2D", "Cropping3D", "UpSampling2D", "UpSampling3D"]
