"""Pooling layers, as Keras 3 defines them: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D
(aliases MaxPool1D, AvgPool2D, ...), GlobalMaxPooling1D/2D/3D, GlobalAveragePooling1D/2D/3D
(GlobalMaxPool1D, GlobalAvgPool2D, ...), on bases over N spatial dimensions
(``BasePooling``, ``BaseGlobalPooling``) so each layer is one small class.

Windowed pooling (``pool_size`` k, ``strides`` s, defaulting to k; "same" pads as
TensorFlow, and padding never enters a window's value)::

    MaxPooling:      y[b, o, c] = max_{j < k} x[b, o s + j, c]
    AveragePooling:  y[b, o, c] = mean of x[b, o s + j, c] over the real (unpadded) j

Global pooling over every spatial axis (``keepdims`` keeps them with size 1)::

    GlobalMaxPooling:      y[b, c] = max_t x[b, t, c]
    GlobalAveragePooling:  y[b, c] = sum_t m[b, t] x[b, t, c] / sum_t m[b, t]
                           (m: the mask, all ones without one; a fully masked row gives
                           0 / 0 = NaN, as in Keras)

Backward: a 1-D / 2-D max pool window sends its gradient to its first maximum
(TensorFlow's MaxPoolGrad), a 3-D one to every entry within 1e-5 of its maximum
(TensorFlow's MaxPool3DGrad on CPU); a global max splits it equally between tied maxima
(TensorFlow's ``reduce_max`` gradient); averages spread ``dy / count`` over the entries they read.

Masks: only GlobalAveragePooling1D reads a mask, and it returns none; the other layers
(GlobalAveragePooling2D / 3D too) drop an incoming mask, as in Keras 3.

Shape legend: B batch, T steps, C channels; o and j are multi-indices in 2-D / 3-D.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers._spatial import (SpatialLayer, SpatialTuple, data_format_param,
                                     output_length, resolve_data_format)
from rnnlens.layers.base import REGISTRY


class BasePooling(SpatialLayer):
    """Max or average pooling over windows of the spatial axes (``pool_mode``).

    Args:
        pool_size: int or tuple of ``rank`` ints: the window.
        strides: int, tuple or None (= pool_size): the step between windows.
        padding: "valid" (whole windows only) or "same" (``ceil(n / s)`` outputs),
            case-insensitive.
        data_format: "channels_last" (B, *spatial, C) or "channels_first" (B, C, *spatial);
            None is ``image_data_format()``.
    """

    registered = False
    pool_mode = "max"
    config_order = ("pool_size", "padding", "strides", "data_format")

    pool_size = SpatialTuple()
    strides = SpatialTuple(None)
    padding = P.Choice("valid", ("valid", "same"), lower=True)
    data_format = data_format_param()

    def __post_init__(self) -> None:
        self.data_format = resolve_data_format(self.data_format)
        if self.strides is None:
            self.strides = self.pool_size

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        self.check_rank(shape)
        self._output_spatial(tuple(shape[a] for a in self.spatial_axes()))

    def _output_spatial(self, sizes: tuple) -> tuple:
        out = tuple(output_length(n, k, s, 1, self.padding)
                    for n, k, s in zip(sizes, self.pool_size, self.strides))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(f"{self._kind()}: computed output size would be zero or "
                             f"negative. Received inputs of spatial shape {sizes}, "
                             f"pool_size={self.pool_size}, strides={self.strides}, "
                             f"padding={self.padding!r}. Use a longer input, a smaller "
                             "pool_size, or padding='same'.")
        return out

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        out = self._output_spatial(tuple(input_shape[a] for a in self.spatial_axes()))
        c = input_shape[self.channel_axis]
        return (input_shape[0], *out, c) if self.channel_axis == -1 else \
            (input_shape[0], c, *out)

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        self.check_input_shape(tuple(inputs.shape))
        from rnnlens.ops import nn_conv as NC

        op = NC.max_pool_forward if self.pool_mode == "max" else NC.average_pool_forward
        return op(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        from rnnlens.ops import nn_conv as NC

        op = NC.max_pool_backward if self.pool_mode == "max" else NC.average_pool_backward
        return op(cache, d_out), {}, []


class MaxPooling1D(BasePooling):
    """Max pooling over time: (B, T, C) -> (B, T', C); see :class:`BasePooling`."""

    rank = 1
    pool_size = SpatialTuple(2)


class AveragePooling1D(BasePooling):
    """Average pooling over time; see :class:`BasePooling` (``pool_size`` is required, as
    in Keras 3)."""

    rank = 1
    pool_mode = "average"


class BaseGlobalPooling(SpatialLayer):
    """Max (``pool_mode = "max"``) or average over every spatial axis.

    Args:
        data_format: where the channels are (see :class:`BasePooling`).
        keepdims: keep the spatial axes with size 1 ((B, 1, C) instead of (B, C)).
    """

    registered = False
    pool_mode = "max"

    data_format = data_format_param()
    keepdims = P.Bool(False)

    def __post_init__(self) -> None:
        self.data_format = resolve_data_format(self.data_format)

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        self.check_rank(shape)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        c = input_shape[self.channel_axis]
        if not self.keepdims:
            return (input_shape[0], c)
        ones = (1,) * self.rank
        return (input_shape[0], *ones, c) if self.channel_axis == -1 else \
            (input_shape[0], c, *ones)

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs, mask=mask)[0]

    def _expand(self, dy: np.ndarray) -> np.ndarray:
        """``dy`` with the reduced spatial axes back (size 1)."""
        return dy if self.keepdims else np.expand_dims(dy, self.spatial_axes())

    def _mask(self, inputs: np.ndarray, mask: Any) -> np.ndarray | None:
        """The mask broadcastable against the inputs (layers that read one), or None."""
        return None

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        self.check_input_shape(tuple(inputs.shape))
        if self.pool_mode == "max":
            return self._max_forward(inputs)
        return self._mean_forward(inputs, self._mask(inputs, mask))

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        if self.pool_mode == "max":
            x, y = cache
            hits = (x == y).astype(x.dtype)                               # ties share
            share = hits / hits.sum(axis=self.spatial_axes(), keepdims=True)
            return share * self._expand(d_out), {}, []
        shape, m, count = cache
        with np.errstate(invalid="ignore", divide="ignore"):
            share = self._expand(d_out / count)
        if m is None:
            return np.broadcast_to(share, shape).astype(d_out.dtype), {}, []
        return np.where(m > 0, share, 0).astype(d_out.dtype), {}, []

    def _max_forward(self, inputs: np.ndarray) -> tuple[np.ndarray, tuple]:
        axes = self.spatial_axes()
        if 0 in (inputs.shape[a] for a in axes):
            raise ValueError(f"{self._kind()} cannot take the maximum over an empty axis "
                             f"(input shape {inputs.shape}).")
        y = inputs.max(axis=axes, keepdims=True)
        return (y if self.keepdims else y.squeeze(axes)), (inputs, y)

    def _mean_forward(self, inputs: np.ndarray, m: np.ndarray | None
                      ) -> tuple[np.ndarray, tuple]:
        axes = self.spatial_axes()
        if m is None:
            count = np.asarray(np.prod([inputs.shape[a] for a in axes]), inputs.dtype)
            total = inputs.sum(axis=axes, keepdims=self.keepdims)
        else:
            count = m.sum(axis=axes, keepdims=self.keepdims)
            total = np.where(m > 0, inputs, 0).sum(axis=axes, keepdims=self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = (total / count).astype(inputs.dtype, copy=False)
        return y, (inputs.shape, m, count)


class GlobalMaxPooling1D(BaseGlobalPooling):
    """``max_t x[b, t, c]``; see :class:`BaseGlobalPooling`."""

    rank = 1


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean over time of the unmasked steps; see :class:`BaseGlobalPooling`."""

    rank = 1
    pool_mode = "average"
    supports_masking = True

    def _mask(self, inputs: np.ndarray, mask: Any) -> np.ndarray | None:
        """The mask as (B, 1, T) / (B, T, 1) floats, or None."""
        if mask is None:
            return None
        m = np.asarray(mask)
        steps = inputs.shape[self.spatial_axes()[0]]
        if m.shape != (inputs.shape[0], steps):
            raise ValueError(f"{self._kind()} received a mask of shape {m.shape}, expected "
                             f"(batch, steps) = {(inputs.shape[0], steps)}.")
        m = m.astype(bool).astype(inputs.dtype)
        return m[:, :, None] if self.channel_axis == -1 else m[:, None, :]

    def compute_mask(self, inputs: Any, mask: Any) -> None:
        return None


# -- 2-D and 3-D: one class each (no masks, as in Keras 3) ---------------------------


class MaxPooling2D(BasePooling):
    """Max pooling over images: (B, H, W, C) -> (B, H', W', C); see :class:`BasePooling`."""

    rank = 2
    pool_size = SpatialTuple(2)


class MaxPooling3D(BasePooling):
    """Max pooling over volumes; see :class:`BasePooling`. Backward as TensorFlow's
    MaxPool3DGrad: every window entry within 1e-5 of the maximum receives the gradient."""

    rank = 3
    pool_size = SpatialTuple(2)


class AveragePooling2D(BasePooling):
    """Average pooling over images; see :class:`BasePooling` (``pool_size`` required)."""

    rank = 2
    pool_mode = "average"


class AveragePooling3D(BasePooling):
    """Average pooling over volumes; see :class:`BasePooling` (``pool_size`` required)."""

    rank = 3
    pool_mode = "average"


class GlobalMaxPooling2D(BaseGlobalPooling):
    """``max_{h, w} x[b, h, w, c]``; see :class:`BaseGlobalPooling`."""

    rank = 2


class GlobalMaxPooling3D(BaseGlobalPooling):
    """``max_{d, h, w} x[b, d, h, w, c]``; see :class:`BaseGlobalPooling`."""

    rank = 3


class GlobalAveragePooling2D(BaseGlobalPooling):
    """The mean over height and width (a mask is ignored, as in Keras 3); see
    :class:`BaseGlobalPooling`."""

    rank = 2
    pool_mode = "average"


class GlobalAveragePooling3D(BaseGlobalPooling):
    """The mean over the three spatial axes; see :class:`BaseGlobalPooling`."""

    rank = 3
    pool_mode = "average"


#: Keras's other names for the same classes.
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool3D = GlobalAveragePooling3D
ALIASES = {"MaxPool1D": MaxPooling1D, "AvgPool1D": AveragePooling1D,
           "GlobalMaxPool1D": GlobalMaxPooling1D, "GlobalAvgPool1D": GlobalAveragePooling1D,
           "MaxPool2D": MaxPooling2D, "AvgPool2D": AveragePooling2D,
           "GlobalMaxPool2D": GlobalMaxPooling2D, "GlobalAvgPool2D": GlobalAveragePooling2D,
           "MaxPool3D": MaxPooling3D, "AvgPool3D": AveragePooling3D,
           "GlobalMaxPool3D": GlobalMaxPooling3D, "GlobalAvgPool3D": GlobalAveragePooling3D}
for _alias, _cls in ALIASES.items():
    REGISTRY.setdefault(_alias, _cls)

__all__ = ["BasePooling", "BaseGlobalPooling", "MaxPooling1D", "AveragePooling1D",
           "GlobalMaxPooling1D", "GlobalAveragePooling1D", "MaxPooling2D", "MaxPooling3D",
           "AveragePooling2D", "AveragePooling3D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
           "GlobalAveragePooling2D", "GlobalAveragePooling3D", *ALIASES]
