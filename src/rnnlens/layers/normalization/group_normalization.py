"""``GroupNormalization`` (Wu & He, 2018), as Keras 3.15.1 computes it.

The C channels on ``axis`` are split into G groups of C / G; the input is reshaped to
``(..., G, C / G, ...)`` (G inserted before the channel axis) and each sample is
normalized over every axis of that shape but the batch and the group axis, with
``tf.nn.moments`` and ``tf.nn.batch_normalization``'s order of operations::

    mean, var = moments over (all axes but batch and G)
    inv = rsqrt(var + epsilon) * gamma          (gamma, beta: (C,) reshaped to (G, C/G))
    y   = x * inv + (beta - mean * inv)

``groups=-1`` is one group per channel (instance normalization), ``groups=1`` layer
normalization over everything but the batch. Backward: ``_normalization_math``
(the variance's mean gradient stopped, as ``tf.nn.moments``).

Masks pass through unchanged (Keras: ``supports_masking`` without using the mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers import _normalization_math as NM
from rnnlens.layers.base import Layer


def _groups(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            (value <= 0 and value != -1) or value > 1 << 24:
        raise ValueError(value)
    return int(value)


class GroupNormalization(Layer):
    """Group normalization (see the module docstring).

    Args:
        groups: number of groups G (a divisor of the channels), or -1 for one per channel.
        axis: the channel axis (an int; default -1).
        epsilon: added to the variance (default 1e-3).
        center, scale: use beta / gamma.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as in Keras.
    """

    groups = P.Json(32, validate=_groups, expected="a positive integer (or `-1` for "
                    "instance normalization)")
    axis = P.Axis(-1)
    epsilon = P.Float(1e-3, min=0.0)
    center = P.Bool(True)
    scale = P.Bool(True)
    beta_initializer = P.Initializer("zeros")
    gamma_initializer = P.Initializer("ones")
    beta_regularizer = P.Regularizer()
    gamma_regularizer = P.Regularizer()
    beta_constraint = P.Constraint()
    gamma_constraint = P.Constraint()

    supports_masking = True

    def _kind(self) -> str:
        return f"Layer '{self.name}' (GroupNormalization)"

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple) or len(shape) < 2 or \
                not -len(shape) <= self.axis < len(shape) or self.axis % len(shape) == 0:
            raise ValueError(f"{self._kind()} normalizes channel axis {self.axis} of a "
                             f"(batch, ...) input; received shape {shape}.")
        dim = getattr(self, "_channels", None)
        if dim is not None and len(shape) != self._ndim:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim={self._ndim}, found ndim={len(shape)}. Full "
                             f"shape received: {shape}")
        if dim is not None and shape[self.axis] not in (None, dim):
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected axis {self.axis} of input shape to have value {dim}, "
                             f"but received input with shape {shape}")

    def build(self, input_shape: tuple) -> None:
        self.check_input_shape(tuple(input_shape))
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined "
                             f"dimension but the layer received an input with shape "
                             f"{input_shape}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the "
                             f"number of channels ({dim}).")
        if dim % self.groups != 0:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({dim}).")
        self._channels, self._ndim = int(dim), len(input_shape)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(shape=(dim,), name="gamma",
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape=(dim,), name="beta",
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.built = True

    def _grouped_shape(self, shape: tuple) -> tuple[list, tuple[int, ...], list]:
        """The reshaped input, its reduction axes and the parameters' broadcast shape."""
        axis = self.axis % len(shape)
        grouped = list(shape)
        grouped[axis] = shape[axis] // self.groups
        grouped.insert(axis, self.groups)                                # (..., G, C/G, ...)
        axes = tuple(i for i in range(1, len(grouped)) if i != axis)
        bshape = [1] * len(grouped)
        bshape[axis], bshape[axis + 1] = self.groups, shape[axis] // self.groups
        return grouped, axes, bshape

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        grouped, axes, bshape = self._grouped_shape(inputs.shape)
        xr = inputs.reshape(grouped)
        stats = NM.moments(xr, axes)
        gamma = None if self.gamma is None else self.gamma.reshape(bshape)
        beta = None if self.beta is None else self.beta.reshape(bshape)
        y, ncache = NM.normalize(xr, stats["mean"], stats["var"], self.epsilon, gamma, beta)
        return y.reshape(inputs.shape), (ncache, stats, axes, bshape)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        ncache, stats, axes, bshape = cache
        g = d_out.reshape(ncache["x"].shape)
        dx, d_scale, d_offset = NM.batch_stats_backward(ncache, stats, axes, g)
        grads = []
        for flag, full in ((self.scale, d_scale), (self.center, d_offset)):
            if flag:
                summed = np.sum(full, axis=tuple(i for i, b in enumerate(bshape) if b == 1))
                grads.append(summed.reshape(-1).astype(dx.dtype, copy=False))
        return dx.reshape(d_out.shape), {}, grads

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        if self.axis >= len(input_shape) or self.axis < -len(input_shape):
            raise ValueError(f"Axis {self.axis} is out of bounds for input shape "
                             f"{input_shape}. Received: axis={self.axis}")
        return tuple(input_shape)


__all__ = ["GroupNormalization"]
