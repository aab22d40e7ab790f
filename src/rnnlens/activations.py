"""Activation functions, by the names Keras 3 gives them.

Each function takes a float32 array and returns a new float32 array with the
same shape, computed as Keras 3.15.1's TensorFlow backend defines it.
``get`` resolves a name (``"tanh"``), ``None`` (identity) or a callable.

Called on a symbolic tensor (functional API: ``activations.gelu(Dense(4)(x))``), each
public activation records the op node ``keras.activations.<name>`` records in Keras 3
(``relu`` -> ``activations.ReLU``, ``gelu`` -> ``Gelu``, ``linear`` -> the tensor itself,
...; ``rnnlens.layers._op_probe.symbolic_activation``). Where Keras's own activation
cannot (``hard_silu`` / ``hard_swish`` and ``sparsemax`` raise on a KerasTensor), rnnlens
records the node of ``keras.ops.hard_silu`` / ``keras.ops.sparsemax``; ``mish`` has no
Keras op and raises a TypeError.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any, Callable

import numpy as np

Activation = Callable[[np.ndarray], np.ndarray]


def _symbolic(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor (none exists before ``rnnlens.functional`` is
    imported, so that module is looked up, never imported, here)."""
    functional = sys.modules.get("rnnlens.functional")
    return functional is not None and isinstance(x, functional.SymbolicTensor)


def _node(name: str, x: Any, *args: Any, **kwargs: Any) -> Any:
    from rnnlens.layers._op_probe import symbolic_activation  # noqa: PLC0415

    return symbolic_activation(name, x, *args, **kwargs)


def _records_node(fn: Activation) -> Activation:
    """Makes the public activation ``fn`` record Keras's op node when called on a
    symbolic tensor (``keras.activations.gelu(Dense(4)(x))`` in the functional API), as
    ``keras.activations.*`` do in Keras 3; on arrays it is ``fn`` behind one isinstance
    check (about 30 ns; a one-argument activation gets a one-argument wrapper, since
    packing ``*args, **kwargs`` would cost ten times that). The wrapper is what the
    module, ``get`` and ``serialize`` hold, so activations are still matched by
    identity."""
    name, array = fn.__name__, np.ndarray
    if fn.__code__.co_argcount == 1 and not fn.__code__.co_flags & 0x0C:   # x only

        def activation(x: Any) -> Any:
            if isinstance(x, array) or not _symbolic(x):
                return fn(x)
            return _node(name, x)
    else:

        def activation(x: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(x, array) or not _symbolic(x):
                return fn(x, *args, **kwargs)
            return _node(name, x, *args, **kwargs)

    return functools.wraps(fn)(activation)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@_records_node
def linear(x: np.ndarray) -> np.ndarray:
    """Identity: ``x``."""
    return x


@_records_node
def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(x)


@_records_node
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


@_records_node
def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3's piecewise-linear sigmoid: ``relu6(x + 3) / 6``."""
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def hard_sigmoid_keras2(x: np.ndarray) -> np.ndarray:
    """Keras 2's ``hard_sigmoid``: ``clip(0.2 * x + 0.5, 0, 1)`` (files saved by Keras 2
    compute with it; Keras 3 changed the definition)."""
    out = x * x.dtype.type(0.2) + x.dtype.type(0.5)
    return np.clip(out, 0.0, 1.0).astype(x.dtype)


@_records_node
def relu(x: np.ndarray, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> np.ndarray:
    """``max(x, 0)``; with Keras's arguments
    ``y = (x if x > threshold else 0), clipped to [0, max_value], - negative_slope *
    relu(threshold - x)`` (``leaky_relu`` when only ``negative_slope`` is given)."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return np.maximum(x, 0.0)
    return _relu_with_args(np.asarray(x), negative_slope, max_value, threshold)


def _relu_with_args(x: np.ndarray, slope: float, top: float | None,
                    threshold: float) -> np.ndarray:
    """Keras's ``ReLU.static_call`` with non-default arguments, in its order."""
    kind = x.dtype.type if x.dtype.kind == "f" else np.float32
    x = x.astype(kind, copy=False)
    if slope != 0.0 and top is None and threshold == 0:
        return leaky_relu(x, slope)
    negative = np.maximum(threshold - x if threshold != 0 else -x, 0).astype(kind) \
        if slope != 0.0 else None
    clip = top is not None
    if threshold != 0:
        x = x * (x > kind(threshold)).astype(kind)
    elif top == 6:
        x, clip = np.clip(x, 0.0, 6.0).astype(kind), False
    else:
        x = np.maximum(x, kind(0))
    if clip:
        x = np.clip(x, kind(0), kind(top)).astype(kind)
    if negative is not None:
        x = x - kind(slope) * negative
    return x


@_records_node
def relu6(x: np.ndarray) -> np.ndarray:
    """``min(max(x, 0), 6)``."""
    return np.clip(x, 0.0, 6.0)


@_records_node
def leaky_relu(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """``x`` if ``x >= 0`` else ``negative_slope * x``."""
    return np.where(x >= 0, x, negative_slope * x)


@_records_node
def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


@_records_node
def selu(x: np.ndarray) -> np.ndarray:
    """Scaled ELU with Klambauer et al.'s constants."""
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


@_records_node
def celu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return np.maximum(x, 0.0) + np.minimum(0.0, alpha * np.expm1(np.minimum(x, 0.0) / alpha))


@_records_node
def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))``, stable for large ``|x|``."""
    return np.logaddexp(np.zeros((), x.dtype), x)


@_records_node
def softsign(x: np.ndarray) -> np.ndarray:
    """``x / (1 + |x|)``."""
    return x / (np.abs(x) + 1.0)


@_records_node
def silu(x: np.ndarray) -> np.ndarray:
    """``x * sigmoid(x)`` (also called swish)."""
    return x * sigmoid(x)


@_records_node
def hard_silu(x: np.ndarray) -> np.ndarray:
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    return x * hard_sigmoid(x)


@_records_node
def mish(x: np.ndarray) -> np.ndarray:
    """``x * tanh(softplus(x))``."""
    return x * np.tanh(softplus(x))


@_records_node
def exponential(x: np.ndarray) -> np.ndarray:
    """``exp(x)``."""
    return np.exp(x)


_erf = np.vectorize(math.erf, otypes=[np.float64])


@_records_node
def gelu(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """Gaussian error linear unit; Keras's default is the exact (erf) form."""
    if approximate:
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype)


@_records_node
def hard_tanh(x: np.ndarray) -> np.ndarray:
    """``clip(x, -1, 1)``."""
    return np.clip(x, -1.0, 1.0)


@_records_node
def tanh_shrink(x: np.ndarray) -> np.ndarray:
    """``x - tanh(x)``."""
    return x - np.tanh(x)


@_records_node
def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(-x)


@_records_node
def squareplus(x: np.ndarray, b: float = 4.0) -> np.ndarray:
    """``(x + sqrt(x**2 + b)) / 2``."""
    return (x + np.sqrt(x * x + b)) / 2.0


@_records_node
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Normalised exponential over ``axis`` (the last by default)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@_records_node
def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(x))``, computed stably."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@_records_node
def hard_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``x`` where ``|x| > threshold``, else 0."""
    return np.where(np.abs(x) > threshold, x, 0.0).astype(x.dtype)


@_records_node
def soft_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``x - threshold`` above it, ``x + threshold`` below ``-threshold``, else 0."""
    return np.where(x > threshold, x - threshold,
                    np.where(x < -threshold, x + threshold, 0.0)).astype(x.dtype)


@_records_node
def sparse_plus(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``|x| < 1``, ``x`` above."""
    return np.where(x <= -1, 0.0, np.where(x < 1, 0.25 * (x + 1) ** 2, x)).astype(x.dtype)


@_records_node
def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    return np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, 0.5 * (x + 1))).astype(x.dtype)


@_records_node
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


@_records_node
def glu(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves of ``axis``."""
    if x.shape[axis] % 2:
        raise ValueError(f"glu needs an even size along axis {axis}, received shape {x.shape}.")
    a, b = np.split(x, 2, axis=axis)
    return a * sigmoid(b)


@_records_node
def threshold(x: np.ndarray, threshold: float, default_value: float) -> np.ndarray:
    """``x`` where ``x > threshold``, else ``default_value`` (Keras 3's ``threshold``)."""
    return np.where(x > threshold, x, default_value).astype(x.dtype)


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


#: Keras names of activations that take required arguments besides ``x``: ``get`` and
#: ``serialize`` know them (as Keras's ``ALL_OBJECTS_DICT`` does), but a layer given one
#: fails when called, as in Keras (``threshold() missing 2 required positional arguments``).
WITH_ARGUMENTS: dict[str, Activation] = {"threshold": threshold}


def get(identifier: str | Activation | None) -> Activation:
    """Resolves an activation by Keras name, ``None`` (linear) or callable.

    Names are exact, as in Keras (``"Softmax"`` is not ``"softmax"``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
        TypeError: for anything that is neither a string nor callable.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _ACTIVATIONS.get(identifier) or WITH_ARGUMENTS.get(identifier)
        if fn is None:
            known = sorted({*_ACTIVATIONS, *WITH_ARGUMENTS})
            hint = (f" (names are lower-case: {identifier.lower()!r})"
                    if identifier.lower() in known else "")
            raise ValueError(
                f"Received an unknown activation: {identifier!r}{hint}, expected one of "
                f"{known} (or None for linear, or a callable)."
            )
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Received activation={identifier!r} of type {type(identifier).__name__}, "
        "expected a name such as 'tanh', None, or a callable."
    )


def deserialize(config: Any, custom_objects: Any = None) -> Activation:
    """An activation from its serialized name (or Keras 3's ``{"config": name}`` dict)."""
    if isinstance(config, dict):
        config = config.get("config")
    if not isinstance(config, str):
        raise ValueError(f"Could not interpret serialized activation: {config!r}")
    if custom_objects and config in custom_objects:
        return custom_objects[config]
    return get(config)


def is_elementwise(fn: Activation) -> bool:
    """False for softmax-like activations, which must see one gate at a time."""
    return serialize(fn) not in NOT_ELEMENTWISE


#: Definitions of older Keras that files saved by it compute with (not Keras 3 names:
#: ``get`` does not resolve them and the model writer refuses them).
LEGACY: dict[str, Activation] = {"hard_sigmoid_keras2": hard_sigmoid_keras2}


def serialize(fn: Activation) -> str | Activation:
    """Returns the Keras name of a built-in activation (or the callable itself)."""
    for name, known in _ACTIVATIONS.items():
        if known is fn:
            return name
    for table in (WITH_ARGUMENTS, LEGACY):
        for name, known in table.items():
            if known is fn:
                return name
    return fn


__all__ = ["get", "serialize", "deserialize", "threshold", *sorted(set(_ACTIVATIONS))]

swish = silu
hard_swish = hard_silu


# -- derivatives (for training) --------------------------------------------------
# Each takes the pre-activation z and the output y = f(z) and returns dy/dz,
# elementwise, with TensorFlow's conventions at the kinks.

def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * np.tanh(0.5 * z) + 0.5


def _d_gelu(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (0.5 * (1.0 + _erf(z / math.sqrt(2.0))) + z * pdf).astype(z.dtype)


def _d_mish(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    t = np.tanh(softplus(z))
    return t + z * (1.0 - t * t) * _sig(z)


_DERIVATIVES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "linear": lambda z, y: np.ones_like(z),
    "tanh": lambda z, y: 1.0 - y * y,
    "sigmoid": lambda z, y: y * (1.0 - y),
    "hard_sigmoid": lambda z, y: (((z > -3.0) & (z < 3.0)) / 6.0).astype(z.dtype),
    "hard_sigmoid_keras2": lambda z, y: (((z > -2.5) & (z < 2.5)) * 0.2).astype(z.dtype),
    "relu": lambda z, y: (z > 0).astype(z.dtype),
    "relu6": lambda z, y: ((z > 0) & (z < 6)).astype(z.dtype),
    "leaky_relu": lambda z, y: np.where(z > 0, 1.0, 0.2).astype(z.dtype),
    "elu": lambda z, y: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0))).astype(z.dtype),
    "selu": lambda z, y: (_SELU_SCALE * np.where(
        z > 0, 1.0, _SELU_ALPHA * np.exp(np.minimum(z, 0.0)))).astype(z.dtype),
    "celu": lambda z, y: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0))).astype(z.dtype),
    "softplus": lambda z, y: _sig(z),
    "softsign": lambda z, y: 1.0 / (1.0 + np.abs(z)) ** 2,
    "silu": lambda z, y: _sig(z) * (1.0 + z * (1.0 - _sig(z))),
    "swish": lambda z, y: _sig(z) * (1.0 + z * (1.0 - _sig(z))),
    "hard_silu": lambda z, y: hard_sigmoid(z) + z * ((z > -3.0) & (z < 3.0)) / 6.0,
    "hard_swish": lambda z, y: hard_sigmoid(z) + z * ((z > -3.0) & (z < 3.0)) / 6.0,
    "mish": _d_mish,
    "exponential": lambda z, y: y,
    "gelu": _d_gelu,
    "hard_tanh": lambda z, y: ((z > -1.0) & (z < 1.0)).astype(z.dtype),
    "tanh_shrink": lambda z, y: np.tanh(z) ** 2,
    "log_sigmoid": lambda z, y: _sig(-z),
    "squareplus": lambda z, y: 0.5 * (1.0 + z / np.sqrt(z * z + 4.0)),
    "hard_shrink": lambda z, y: (np.abs(z) > 0.5).astype(z.dtype),
    "soft_shrink": lambda z, y: (np.abs(z) > 0.5).astype(z.dtype),
    "sparse_plus": lambda z, y: np.where(z <= -1, 0.0, np.where(z < 1, 0.5 * (z + 1), 1.0)
                                         ).astype(z.dtype),
    "sparse_sigmoid": lambda z, y: (((z > -1) & (z < 1)) * 0.5).astype(z.dtype),
}


def backward(fn: Activation, z: np.ndarray, y: np.ndarray, dy: np.ndarray,
             axis: int = -1) -> np.ndarray:
    """``dL/dz`` given ``dL/dy`` for ``y = fn(z)`` (softmax-like along ``axis``).

    Raises:
        ValueError: for a user callable, whose derivative rnnlens cannot know.
    """
    name = serialize(fn)
    if name in _DERIVATIVES:
        return (dy * _DERIVATIVES[name](z, y)).astype(dy.dtype, copy=False)
    if name == "softmax":
        return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))
    if name == "log_softmax":
        return dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)
    if name == "sparsemax":
        support = (y > 0).astype(y.dtype)
        mean = np.sum(dy * support, axis=axis, keepdims=True) / np.sum(
            support, axis=axis, keepdims=True)
        return support * (dy - mean)
    if name == "glu":
        a, b = np.split(z, 2, axis=axis)
        s = _sig(b)
        return np.concatenate([dy * s, dy * a * s * (1.0 - s)], axis=axis)
    raise ValueError(
        f"Received activation {fn!r}, whose derivative rnnlens does not know, so it cannot "
        "be trained. Use one of Keras's named activations (e.g. 'tanh', 'relu').")
