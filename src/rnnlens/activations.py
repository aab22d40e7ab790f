"""Activation functions, by the names Keras 3 gives them.

Each function takes a float32 array and returns a new float32 array with the
same shape, computed as Keras 3.15.1's TensorFlow backend defines it.
``get`` resolves a name (``"tanh"``), ``None`` (identity) or a callable.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

Activation = Callable[[np.ndarray], np.ndarray]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def linear(x: np.ndarray) -> np.ndarray:
    """Identity: ``x``."""
    return x


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3's piecewise-linear sigmoid: ``relu6(x + 3) / 6``."""
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``."""
    return np.maximum(x, 0.0)


def relu6(x: np.ndarray) -> np.ndarray:
    """``min(max(x, 0), 6)``."""
    return np.clip(x, 0.0, 6.0)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """``x`` if ``x >= 0`` else ``negative_slope * x``."""
    return np.where(x >= 0, x, negative_slope * x)


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def selu(x: np.ndarray) -> np.ndarray:
    """Scaled ELU with Klambauer et al.'s constants."""
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def celu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return np.maximum(x, 0.0) + np.minimum(0.0, alpha * np.expm1(np.minimum(x, 0.0) / alpha))


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))``, stable for large ``|x|``."""
    return np.logaddexp(np.zeros((), x.dtype), x)


def softsign(x: np.ndarray) -> np.ndarray:
    """``x / (1 + |x|)``."""
    return x / (np.abs(x) + 1.0)


def silu(x: np.ndarray) -> np.ndarray:
    """``x * sigmoid(x)`` (also called swish)."""
    return x * sigmoid(x)


def hard_silu(x: np.ndarray) -> np.ndarray:
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    return x * hard_sigmoid(x)


def mish(x: np.ndarray) -> np.ndarray:
    """``x * tanh(softplus(x))``."""
    return x * np.tanh(softplus(x))


def exponential(x: np.ndarray) -> np.ndarray:
    """``exp(x)``."""
    return np.exp(x)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """Gaussian error linear unit; Keras's default is the exact (erf) form."""
    if approximate:
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype)


def hard_tanh(x: np.ndarray) -> np.ndarray:
    """``clip(x, -1, 1)``."""
    return np.clip(x, -1.0, 1.0)


def tanh_shrink(x: np.ndarray) -> np.ndarray:
    """``x - tanh(x)``."""
    return x - np.tanh(x)


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(-x)


def squareplus(x: np.ndarray, b: float = 4.0) -> np.ndarray:
    """``(x + sqrt(x**2 + b)) / 2``."""
    return (x + np.sqrt(x * x + b)) / 2.0


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Normalised exponential over ``axis`` (the last by default)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(x))``, computed stably."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def hard_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``x`` where ``|x| > threshold``, else 0."""
    return np.where(np.abs(x) > threshold, x, 0.0).astype(x.dtype)


def soft_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``x - threshold`` above it, ``x + threshold`` below ``-threshold``, else 0."""
    return np.where(x > threshold, x - threshold,
                    np.where(x < -threshold, x + threshold, 0.0)).astype(x.dtype)


def sparse_plus(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``|x| < 1``, ``x`` above."""
    return np.where(x <= -1, 0.0, np.where(x < 1, 0.25 * (x + 1) ** 2, x)).astype(x.dtype)


def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    return np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, 0.5 * (x + 1))).astype(x.dtype)


def sparsemax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Euclidean projection onto the simplex along ``axis`` (Martins & Astudillo)."""
    srt = -np.sort(-x, axis=axis)
    cum = np.cumsum(srt, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = srt - (cum - 1) / r > 0
    k = np.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    tau = (np.sum(np.where(support, cum, 0.0), axis=axis, keepdims=True) - 1) / k
    return np.maximum(x - tau, 0.0).astype(x.dtype)


def glu(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves of ``axis``."""
    if x.shape[axis] % 2:
        raise ValueError(f"glu needs an even size along axis {axis}, received shape {x.shape}.")
    a, b = np.split(x, 2, axis=axis)
    return a * sigmoid(b)


#: Activations that are not elementwise (they mix values along an axis).
NOT_ELEMENTWISE = frozenset({"softmax", "log_softmax", "sparsemax", "glu"})


_ACTIVATIONS: dict[str, Activation] = {
    "linear": linear,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "relu": relu,
    "relu6": relu6,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "celu": celu,
    "softplus": softplus,
    "softsign": softsign,
    "silu": silu,
    "swish": silu,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "mish": mish,
    "exponential": exponential,
    "gelu": gelu,
    "hard_tanh": hard_tanh,
    "tanh_shrink": tanh_shrink,
    "log_sigmoid": log_sigmoid,
    "squareplus": squareplus,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "hard_shrink": hard_shrink,
    "soft_shrink": soft_shrink,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax,
    "glu": glu,
}


def get(identifier: str | Activation | None) -> Activation:
    """Resolves an activation by Keras name, ``None`` (linear) or callable.

    Raises:
        ValueError: for an unknown name, listing the known ones.
        TypeError: for anything that is neither a string nor callable.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _ACTIVATIONS.get(identifier.lower())
        if fn is None:
            raise ValueError(
                f"Received an unknown activation: {identifier!r}, expected one of "
                f"{sorted(_ACTIVATIONS)} (or None for linear, or a callable)."
            )
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Received activation={identifier!r} of type {type(identifier).__name__}, "
        "expected a name such as 'tanh', None, or a callable."
    )


def is_elementwise(fn: Activation) -> bool:
    """False for softmax-like activations, which must see one gate at a time."""
    return serialize(fn) not in NOT_ELEMENTWISE


def serialize(fn: Activation) -> str | Activation:
    """Returns the Keras name of a built-in activation (or the callable itself)."""
    for name, known in _ACTIVATIONS.items():
        if known is fn:
            return name
    return fn


__all__ = ["get", "serialize", *sorted(set(_ACTIVATIONS))]

swish = silu
hard_swish = hard_silu
