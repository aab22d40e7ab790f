"""Activation layers, as Keras 3 defines them (``keras.layers.activations``): Activation,
ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each layer applies a fixed function to its input, elementwise (or along an axis for
softmax-like functions), keeps the input's shape (except ``glu``, which halves the
last axis) and passes masks through. The backward pass is the activation's exact
derivative (``rnnlens.activations.backward``): for ``y = f(z)``,
``dL/dz = f'(z) * dL/dy`` elementwise, ``y * (dL/dy - sum(dL/dy * y))`` for softmax.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.layers.base import Layer


class Activation(Layer):
    """Applies an activation function: ``y = activation(x)``.

    Args:
        activation: a Keras activation name (``"relu"``, ``"softmax"``, ...), None
            (linear) or a callable on arrays. A callable runs, but cannot be trained
            through (rnnlens does not know its derivative) nor saved to a Keras file.
    """

    activation = P.Activation()

    supports_masking = True

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.activation(inputs)

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        y = self.activation(inputs)
        return y, (inputs, y)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        z, y = cache
        try:
            dz = activations.backward(self.activation, z, y, d_out)
        except ValueError as err:
            raise ValueError(f"Layer '{self.name}' (Activation): {err}") from None
        return dz, {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        if activations.serialize(self.activation) == "glu" and isinstance(input_shape, tuple) \
                and input_shape and input_shape[-1] is not None:
            return (*input_shape[:-1], input_shape[-1] // 2)   # glu halves the last axis
        return input_shape


def _relu_parts(x: np.ndarray, slope: float, max_value: float | None, threshold: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Keras's ``ReLU.static_call`` (TensorFlow ops) and its derivative, elementwise::

        y = clip(x > threshold ? x : 0, 0, max_value) - slope * max(threshold - x, 0)
        dy/dx = [x > threshold][x passes the clip] + slope * [x < threshold]

    with TensorFlow's edges: relu6 passes gradient on 0 < x < 6, clip on
    0 <= relu(x) <= max_value, relu on x > 0.
    """
    dtype = x.dtype.type
    if slope != 0.0 and max_value is None and threshold == 0:
        return np.where(x > 0, x, dtype(slope) * x), np.where(x > 0, 1, slope).astype(x.dtype)
    neg_active = (x < threshold) if slope != 0.0 else np.zeros(x.shape, bool)
    clip = max_value is not None
    if threshold != 0:
        y, dy = np.where(x > threshold, x, 0).astype(x.dtype), (x > threshold)
    elif max_value == 6:
        y, dy, clip = np.clip(x, 0, 6).astype(x.dtype), (x > 0) & (x < 6), False
    else:
        y, dy = np.maximum(x, 0).astype(x.dtype), x > 0
    if clip:
        dy = dy & (y <= max_value)
        y = np.clip(y, 0, dtype(max_value)).astype(x.dtype)
    if slope != 0.0:
        y = y - dtype(slope) * np.maximum(dtype(threshold) - x, 0)
    return y, (dy + slope * neg_active).astype(x.dtype)


class ReLU(Layer):
    """Rectified linear unit with Keras's options::

        y = max_value                      if x >= max_value
        y = x                              if threshold <= x < max_value
        y = negative_slope * (x - threshold)   otherwise

    Args:
        max_value: float >= 0 or None (unbounded).
        negative_slope: float >= 0, the slope below ``threshold``.
        threshold: float >= 0, where the linear part starts.
    """

    max_value = P.Float(None, min=0.0, none=True)
    negative_slope = P.Float(0.0, min=0.0)
    threshold = P.Float(0.0, min=0.0)

    supports_masking = True

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, np.ndarray]:
        y, dy = _relu_parts(inputs, self.negative_slope, self.max_value, self.threshold)
        return y, dy

    def backward(self, cache: np.ndarray, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return cache * d_out, {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


class LeakyReLU(Layer):
    """``y = x if x > 0 else negative_slope * x``.

    Args:
        negative_slope: float >= 0 (default 0.3; Keras 2's ``alpha`` is accepted).
    """

    negative_slope = P.Float(0.3, min=0.0)

    supports_masking = True
    keras_aliases = {"alpha": "negative_slope"}     # Keras 2's name for it

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, np.ndarray]:
        slope = inputs.dtype.type(self.negative_slope)
        return np.where(inputs > 0, inputs, slope * inputs), inputs > 0

    def backward(self, cache: np.ndarray, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return np.where(cache, d_out, d_out * d_out.dtype.type(self.negative_slope)), {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


class PReLU(Layer):
    """Leaky ReLU with a learned slope: ``y = relu(x) - alpha * relu(-x)``.

    Weights: alpha, shaped like one sample of the input with size 1 on ``shared_axes``.

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: for ``alpha``.
        shared_axes: input axes (1-based, the batch is 0) along which ``alpha`` is one
            value, e.g. ``[1, 2]`` for one slope per channel of an image.
    """

    alpha_initializer = P.Initializer("Zeros")
    alpha_regularizer = P.Regularizer()
    alpha_constraint = P.Constraint()
    shared_axes = P.IntTuple(None, none=True)

    supports_masking = True

    def __post_init__(self) -> None:
        if isinstance(self.shared_axes, int):
            self.shared_axes = (self.shared_axes,)

    def config_value(self, key: str) -> Any:
        value = getattr(self, key)
        return list(value) if key == "shared_axes" and value is not None else value

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) < 2:
            raise ValueError(f"Layer '{self.name}' (PReLU) expects (batch, ...) inputs, "
                             f"received shape {shape}.")
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(shape):
                shared = list(self.shared_axes)
                raise ValueError(f"Layer '{self.name}' (PReLU): shared_axes={shared} must "
                                 f"name axes 1..{len(shape) - 1} of inputs of shape {shape}.")

    def build(self, input_shape: tuple) -> None:
        self.check_input_shape(tuple(input_shape))
        shape = [1 if k + 1 in (self.shared_axes or ()) else d
                 for k, d in enumerate(input_shape[1:])]
        if any(d is None for d in shape):
            raise ValueError(f"Layer '{self.name}' (PReLU) needs the size of every axis it "
                             f"does not share; received input shape {input_shape}. Pass "
                             "shared_axes for the unknown axes.")
        self.alpha = self.add_weight(shape=tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint, name="alpha")
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, np.ndarray]:
        neg = np.maximum(-inputs, 0)                              # relu(-x)
        return np.maximum(inputs, 0) - self.alpha * neg, inputs

    def backward(self, cache: np.ndarray, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        """``dL/dx = dL/dy * ([x > 0] + alpha [x < 0])``,
        ``dL/dalpha = -sum over the batch and shared axes of dL/dy * relu(-x)``."""
        x = cache
        dx = d_out * ((x > 0) + self.alpha * (x < 0))
        d_alpha = -(d_out * np.maximum(-x, 0)).sum(axis=0, keepdims=True)
        shared = tuple(a for a in (self.shared_axes or ()))
        if shared:
            d_alpha = d_alpha.sum(axis=shared, keepdims=True)
        return dx.astype(x.dtype), {}, [d_alpha[0].astype(x.dtype)]

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


class ELU(Layer):
    """``y = x if x > 0 else alpha * (exp(x) - 1)``.

    Args:
        alpha: the scale of the negative part.
    """

    alpha = P.Float(1.0)

    supports_masking = True

    def get_config(self) -> dict:
        """Keras's automatic config (ELU does not override it): name, alpha, then the rest."""
        config = super().get_config()
        return {"name": config.pop("name"), "alpha": config.pop("alpha"), **config}

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        res = np.where(inputs > 0, inputs, np.exp(np.minimum(inputs, 0)) - 1).astype(inputs.dtype)
        alpha = inputs.dtype.type(self.alpha)
        y = res if self.alpha == 1 else np.where(inputs > 0, res, alpha * res)
        return y, (inputs, res)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        """``dL/dx = dL/dy`` for x > 0, else ``alpha * dL/dy * (res + 1)`` (res = exp(x)-1)."""
        x, res = cache
        neg = d_out * (res + 1) * (d_out.dtype.type(self.alpha) if self.alpha != 1 else 1)
        return np.where(x > 0, d_out, neg), {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


class Softmax(Layer):
    """``softmax`` over ``axis`` (several axes: ``exp(x - logsumexp(x, axis))``).

    A mask (1 keep, 0 drop; broadcastable to the input, e.g. (B, 1, Tk) for attention
    scores) sets masked inputs to -1e9 before and masked outputs to 0 after, as Keras.

    Args:
        axis: an axis or a list of axes.
    """

    axis = P.Axis(-1, multiple=True)

    supports_masking = True

    def _mask(self, inputs: np.ndarray, mask: Any) -> np.ndarray | None:
        if mask is None:
            return None
        m = np.asarray(mask)
        ok = m.ndim <= inputs.ndim and all(
            a == 1 or a == b for a, b in zip(m.shape[::-1], inputs.shape[::-1]))
        if not ok:
            raise ValueError("The `mask` must be broadcastable to `inputs`. Each mask dimension "
                             "must be 1 or match the corresponding input dimension. Received: "
                             f"inputs.shape={inputs.shape}, mask.shape={m.shape} (layer "
                             f"'{self.name}').")
        return m if m.dtype == bool else m > 0.5

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs, mask=mask)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        m = self._mask(inputs, mask)
        x = inputs if m is None else np.where(m, inputs, inputs.dtype.type(-1e9))
        axis = self.axis if isinstance(self.axis, int) else tuple(self.axis)
        shifted = x - np.max(x, axis=axis, keepdims=True)
        e = np.exp(shifted)
        y = (e / np.sum(e, axis=axis, keepdims=True)).astype(inputs.dtype)
        if m is not None:
            y = np.where(m, y, 0).astype(inputs.dtype)
        return y, (y, m, axis)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        """``dL/dx = y * (g - sum(g * y, axis))`` with ``g`` zero where masked."""
        y, m, axis = cache
        g = d_out if m is None else np.where(m, d_out, 0)
        dx = y * (g - np.sum(g * y, axis=axis, keepdims=True))
        return (dx if m is None else np.where(m, dx, 0)).astype(y.dtype), {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


__all__ = ["Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]
