"""``RMSNormalization`` (Zhang & Sennrich, 2019), as Keras 3.15.1 computes it.

    r = rsqrt(mean(x ** 2 over axis, keepdims) + epsilon)
    y = x * r * scale

``scale`` (ones at first) has the sizes of the normalized axes, in sorted order, and
is multiplied with NumPy's (TensorFlow's) right-aligned broadcasting, exactly as
Keras's ``ops.rms_normalization`` does: for the last axis, or the trailing axes, this
is the usual per-feature scale; for other axes it broadcasts as Keras does (or is
refused, naming the shapes, where Keras's broadcast fails too). After building, the
layer's ``axis`` is a sorted list (``[-1]``), as Keras writes it in configs.

Backward, with ``n`` the number of normalized elements and ``g = dL/dy``::

    dx     = g * scale * r - x * r ** 3 / n * sum_axis(g * scale * x)
    dscale = sum over the broadcast axes of g * x * r

No mask support (a mask stops here, as in Keras).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers import _normalization_math as NM
from rnnlens.layers.base import Layer
from rnnlens.layers.normalization import resolve_axes


class RMSNormalization(Layer):
    """Root-mean-square normalization (see the module docstring).

    Args:
        axis: an axis or a list of axes to normalize over (default -1).
        epsilon: added to the mean square (default 1e-6).
    """

    axis = P.Axis(-1, multiple=True)
    epsilon = P.Float(1e-6, min=0.0)

    def _kind(self) -> str:
        return f"Layer '{self.name}' (RMSNormalization)"

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple) or not shape:
            raise ValueError(f"{self._kind()} expects a tensor with at least one axis, "
                             f"received shape {shape}.")
        resolve_axes(self.axis, len(shape), self._kind())
        built = getattr(self, "scale", None)
        if built is not None and self.built:
            sizes = tuple(shape[a] for a in self.axis)
            if any(s is not None and s != w for s, w in zip(sizes, built.shape)):
                raise ValueError(f"{self._kind()} was built for sizes {built.shape} on axes "
                                 f"{self.axis}, received shape {shape}.")

    def build(self, input_shape: tuple) -> None:
        axes = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        resolve_axes(axes, len(input_shape), self._kind())
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f"{self._kind()} needs known sizes on axes {axes}, received "
                             f"shape {input_shape}.")
        self.axis = axes
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        axes = resolve_axes(self.axis, inputs.ndim, self._kind())
        dt = inputs.dtype.type
        try:
            np.broadcast_shapes(inputs.shape, self.scale.shape)
        except ValueError:
            raise ValueError(f"{self._kind()}: its scale of shape {self.scale.shape} (axes "
                             f"{self.axis}) does not broadcast against the input of shape "
                             f"{inputs.shape} (Keras multiplies them right-aligned, which "
                             "fails too). Normalize over the trailing axes.") from None
        with np.errstate(all="ignore"):
            ms = np.mean(np.square(inputs), axis=axes, keepdims=True)
            r = (1 / np.sqrt(ms + dt(self.epsilon))).astype(inputs.dtype, copy=False)
            y = inputs * r * self.scale
        return y, (inputs, r, axes)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        x, r, axes = cache
        n = x.dtype.type(np.prod([x.shape[a] for a in axes]))
        with np.errstate(all="ignore"):
            gs = d_out * self.scale                                   # dL/d(x r)
            dot = np.sum(gs * x, axis=axes, keepdims=True)
            dx = gs * r - x * (r ** 3) * dot / n
            d_scale = d_out * x * r
        lead = d_scale.ndim - self.scale.ndim
        d_scale = d_scale.sum(axis=tuple(range(lead))) if lead else d_scale
        d_scale = NM.sum_to(d_scale, self.scale.shape).reshape(self.scale.shape)
        return dx.astype(x.dtype, copy=False), {}, [d_scale]

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        for a in axes:
            if a >= len(input_shape) or a < -len(input_shape):
                raise ValueError(f"Axis {a} is out of bounds for input shape {input_shape}. "
                                 f"Received: axis={self.axis}")
        return tuple(input_shape)


__all__ = ["RMSNormalization"]
