"""Adaptive pooling layers of the pooling family, as Keras 3.15.1 defines them:
``AdaptiveAveragePooling1D/2D/3D`` and ``AdaptiveMaxPooling1D/2D/3D``.

Each pools every spatial axis to a fixed ``output_size``, whatever the input's size,
with the windows of ``rnnlens.ops.nn_adaptive`` (Keras's TensorFlow backend; PyTorch's
adaptive windows)::

    window_i over an axis of length L, o outputs: [floor(i L / o), ceil((i + 1) L / o))
    Average: y[b, i, c] = mean of x[b, window_i, c]      Max: the maximum instead

(per spatial axis in 2-D / 3-D). Backward: ``nn_adaptive``'s (an average spreads
``dy / size`` over its window; a max sends ``dy`` to the first maximum, in 3-D to every
entry within 1e-5 of it). Masks are dropped, as in Keras.

Shape legend: B batch, C channels; ``(B, *spatial, C)`` or ``(B, C, *spatial)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.layers._spatial import (SpatialLayer, SpatialTuple, data_format_param,
                                     resolve_data_format)


class BaseAdaptivePooling(SpatialLayer):
    """Pooling to a fixed spatial ``output_size`` (``pool_mode`` "average" or "max").

    Args:
        output_size: an int or a tuple of ``rank`` ints: the output's spatial sizes.
        data_format: "channels_last" (B, *spatial, C) or "channels_first" (B, C, *spatial);
            None is ``image_data_format()``.
    """

    registered = False
    pool_mode = "average"

    output_size = SpatialTuple()
    data_format = data_format_param()

    def __post_init__(self) -> None:
        self.data_format = resolve_data_format(self.data_format)

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        self.check_rank(shape)
        if any(shape[a] == 0 for a in self.spatial_axes()):
            raise ValueError(f"{self._kind()} needs non-empty spatial axes, received shape "
                             f"{shape}.")

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        from rnnlens.ops.nn_adaptive import adaptive_pool_forward   # (import stays light)

        return adaptive_pool_forward(inputs, self.output_size, self.data_format,
                                     self.pool_mode)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        from rnnlens.ops.nn_adaptive import adaptive_pool_backward

        return adaptive_pool_backward(cache, d_out), {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = tuple(input_shape)
        if self.data_format == "channels_last":
            return (shape[0], *self.output_size, shape[-1])
        return (shape[0], shape[1], *self.output_size)


class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    """Average pooling of (B, L, C) to (B, output_size, C)."""

    rank = 1


class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """Average pooling of (B, H, W, C) to (B, *output_size, C)."""

    rank = 2


class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """Average pooling of (B, D, H, W, C) to (B, *output_size, C)."""

    rank = 3


class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    """Max pooling of (B, L, C) to (B, output_size, C)."""

    rank = 1
    pool_mode = "max"


class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    """Max pooling of (B, H, W, C) to (B, *output_size, C)."""

    rank = 2
    pool_mode = "max"


class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    """Max pooling of (B, D, H, W, C) to (B, *output_size, C)."""

    rank = 3
    pool_mode = "max"


__all__ = ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]
