"""Normalization layers, as Keras 3 defines them: UnitNormalization.

L2 normalization is Keras's ``ops.normalize(x, axis, order=2, epsilon)``::

    s = sum(x ** 2, axis, keepdims=True)
    r = min(rsqrt(s), 1 / epsilon)                 # an all-zero slice gives 0, not NaN
    y = x * r

and its gradient, as TensorFlow differentiates that graph (``minimum`` sends the
gradient to ``rsqrt`` when ``rsqrt(s) <= 1 / epsilon``, to the constant otherwise)::

    dx = g * r - x * [rsqrt(s) <= 1/epsilon] * r ** 3 * sum(g * x, axis, keepdims=True)

``Dot(normalize=True)`` uses the same function with Keras's default epsilon 1e-7;
``UnitNormalization`` uses epsilon 1e-12.

Shape legend: B batch, F features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer

#: ``keras.config.epsilon()``, the epsilon of ``ops.normalize`` when none is given.
KERAS_EPSILON = 1e-7
#: The epsilon ``UnitNormalization`` passes to ``ops.normalize``.
UNIT_EPSILON = 1e-12


def resolve_axes(axis: Any, ndim: int, owner: str) -> tuple[int, ...]:
    """Non-negative axes for an int or a tuple of ints; clear errors for bad ones."""
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{owner}: axis {axis} is out of bounds for an input with "
                             f"{ndim} dimensions.")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{owner}: axis {axis} repeats an axis (the input has {ndim} "
                         "dimensions).")
    return tuple(out)


def l2_normalize(x: np.ndarray, axes: tuple[int, ...], epsilon: float
                 ) -> tuple[np.ndarray, tuple]:
    """``x * min(rsqrt(sum(x**2, axes)), 1/epsilon)`` and the cache for the backward."""
    s = np.sum(np.square(x), axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        rsqrt = 1.0 / np.sqrt(s)                          # inf for an all-zero slice
    cap = 1.0 / epsilon
    r = np.minimum(rsqrt, cap).astype(x.dtype, copy=False)
    return x * r, (x, r, rsqrt <= cap, axes)


def l2_normalize_backward(cache: tuple, d_out: np.ndarray) -> np.ndarray:
    """dL/dx of :func:`l2_normalize`, as TensorFlow's tape computes it."""
    x, r, unclipped, axes = cache
    dot = np.sum(d_out * x, axis=axes, keepdims=True)
    return d_out * r - x * np.where(unclipped, r ** 3 * dot, 0)


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm across ``axis``: ``y = x / ||x||``.

    Exactly Keras's ``ops.normalize(x, axis, order=2, epsilon=1e-12)``
    (see the module docstring): ``y = x * min(rsqrt(sum(x**2)), 1e12)``, so an
    all-zero slice stays zero. No weights; the input's mask passes through.

    Args:
        axis: the axis, or list of axes, to normalize across (default -1).
    """

    axis = P.Axis(-1, multiple=True)

    supports_masking = True

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple):
            raise ValueError(f"Layer '{self.name}' (UnitNormalization) expects a single "
                             f"input, received shapes {shape}.")
        resolve_axes(self.axis, max(len(shape), 1),
                     f"Layer '{self.name}' (UnitNormalization)")

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        x = inputs if inputs.ndim else inputs[None]      # as Keras: a scalar becomes (1,)
        axes = resolve_axes(self.axis, x.ndim, f"Layer '{self.name}' (UnitNormalization)")
        y, cache = l2_normalize(x, axes, UNIT_EPSILON)  # same shape as x
        return y, (cache, inputs.shape)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        inner, shape = cache
        return l2_normalize_backward(inner, d_out).reshape(shape), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return tuple(input_shape)


__all__ = ["UnitNormalization", "l2_normalize", "l2_normalize_backward", "resolve_axes",
           "KERAS_EPSILON", "UNIT_EPSILON"]
