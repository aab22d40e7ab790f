"""Keras activations as ONNX operators: one table, shared by every layer with an activation.

Each entry writes exactly the function ``rnnlens.activations`` computes (Keras 3.15.1's
TensorFlow definitions)::

    hard_sigmoid   HardSigmoid(alpha=1/6, beta=0.5)     = relu6(x + 3) / 6
    relu6          Clip(x, 0, 6)            hard_tanh   Clip(x, -1, 1)
    silu / swish   x * Sigmoid(x)           hard_silu   x * HardSigmoid(x)
    gelu           0.5 x (1 + Erf(x / sqrt 2))           (Keras's exact form)
    mish           x * Tanh(Softplus(x))    tanh_shrink x - Tanh(x)
    log_sigmoid    -Softplus(-x)            celu        Celu(alpha=1)
    hard_shrink    Shrink(lambd=0.5)        soft_shrink Shrink(bias=0.5, lambd=0.5)
    squareplus     (x + Sqrt(x * x + 4)) / 2
    sparse_plus    Where(x <= -1, 0, Where(x < 1, (x + 1)^2 / 4, x))
    sparse_sigmoid Where(x <= -1, 0, Where(x >= 1, 1, (x + 1) / 2))
    softmax, log_softmax   over the last axis
    glu            a * Sigmoid(b), a, b the halves of the last axis (known size)
    sparsemax      Keras's sort / cumsum formula on TopK and CumSum
    hard_sigmoid_keras2    HardSigmoid(alpha=0.2, beta=0.5) (Keras 2 files)

A user callable has no ONNX form and is refused. Every layer takes every entry of
:data:`ALL`; inside ONNX's own LSTM / GRU / RNN operators only :data:`RECURRENT` can be
used, so a recurrent layer with another activation is written as a ``Scan``
(:mod:`.scan`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from rnnlens import activations as A

# Activations ONNX's LSTM / GRU / RNN operators take: name -> (ONNX name, alpha, beta).
# ONNX Runtime consumes activation_alpha / activation_beta in order, one value per
# activation that uses it (HardSigmoid, Affine: alpha and beta; LeakyRelu, Elu: alpha).
RECURRENT: dict[str, tuple[str, float | None, float | None]] = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "hard_sigmoid_keras2": ("HardSigmoid", 0.2, 0.5),
    "linear": ("Affine", 1.0, 0.0),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    "elu": ("Elu", 1.0, None),
    "leaky_relu": ("LeakyRelu", 0.2, None),
}

_SIMPLE = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softplus": "Softplus",
           "softsign": "Softsign", "exponential": "Exp", "selu": "Selu"}


def label(fn: Any) -> str:
    """The name messages show for an activation (a callable's ``__name__``)."""
    key = A.serialize(fn)
    return key if isinstance(key, str) else getattr(key, "__name__", repr(key))


def check(fn: Any, where: str, allowed: tuple[str, ...] | None = None,
          arg: str = "activation") -> str:
    """The Keras name of ``fn`` if ONNX export writes it (within ``allowed``), else a
    ValueError starting with ``where`` (``Layer 'name' (Class)``)."""
    key = A.serialize(fn)
    names = tuple(ALL) if allowed is None else allowed
    if isinstance(key, str) and key in names:
        return key
    raise ValueError(f"{where} uses {arg}={label(fn)!r}; ONNX export does not support it "
                     f"(supported: {', '.join(names)}).")


def emit(ex: Any, name: str, x: str, hint: str, last_dim: int | None = None) -> str:
    """``name``(x) as ONNX nodes; ``last_dim`` is the size of the last axis (glu needs it)."""
    if name in _SIMPLE:
        return ex.one(_SIMPLE[name], [x], hint)
    return ALL[name](ex, x, hint, last_dim)


# -- the entries -----------------------------------------------------------------------


def _half(ex: Any, x: str, hint: str) -> str:
    return ex.one("Mul", [x, ex.scalar(0.5)], hint)


def _gelu(ex: Any, x: str, hint: str, _: Any) -> str:
    erf = ex.one("Erf", [ex.one("Div", [x, ex.scalar(math.sqrt(2.0))], hint)], hint)
    return ex.one("Mul", [_half(ex, x, hint), ex.one("Add", [erf, ex.scalar(1.0)], hint)], hint)


def _squareplus(ex: Any, x: str, hint: str, _: Any) -> str:
    root = ex.one("Sqrt", [ex.one("Add", [ex.one("Mul", [x, x], hint), ex.scalar(4.0)], hint)],
                  hint)
    return ex.one("Div", [ex.one("Add", [x, root], hint), ex.scalar(2.0)], hint)


def _sparse_plus(ex: Any, x: str, hint: str, _: Any) -> str:
    up = ex.one("Add", [x, ex.scalar(1.0)], hint)
    quad = ex.one("Mul", [ex.scalar(0.25), ex.one("Mul", [up, up], hint)], hint)
    inner = ex.one("Where", [ex.one("Less", [x, ex.scalar(1.0)], hint), quad, x], hint)
    low = ex.one("LessOrEqual", [x, ex.scalar(-1.0)], hint)
    return ex.one("Where", [low, ex.scalar(0.0), inner], hint)


def _sparse_sigmoid(ex: Any, x: str, hint: str, _: Any) -> str:
    mid = ex.one("Mul", [ex.scalar(0.5), ex.one("Add", [x, ex.scalar(1.0)], hint)], hint)
    high = ex.one("GreaterOrEqual", [x, ex.scalar(1.0)], hint)
    inner = ex.one("Where", [high, ex.scalar(1.0), mid], hint)
    low = ex.one("LessOrEqual", [x, ex.scalar(-1.0)], hint)
    return ex.one("Where", [low, ex.scalar(0.0), inner], hint)


def _glu(ex: Any, x: str, hint: str, last_dim: int | None) -> str:
    if last_dim is None or last_dim % 2:
        raise ValueError(f"Layer '{hint}' uses activation='glu' on a last axis of size "
                         f"{last_dim}; ONNX export needs a known, even size there.")
    a, b = ex.op("Split", [x, ex.ints([last_dim // 2] * 2)], hint, n_out=2, axis=-1)
    return ex.one("Mul", [a, ex.one("Sigmoid", [b], hint)], hint)


def _sparsemax(ex: Any, x: str, hint: str, _: Any) -> str:
    """Keras's formula: sort descending, cumsum, support, tau from the summed cumsum."""
    n = ex.shape_of(x, -1, 2 ** 63 - 1, hint)                           # [size of -1]
    srt = ex.op("TopK", [x, n], hint, n_out=2, axis=-1, largest=1, sorted=1)[0]
    last = ex.ints([-1])
    cum = ex.one("CumSum", [srt, last], hint)
    ones = ex.one("ConstantOfShape", [ex.one("Shape", [x], hint)], hint,
                  value=ex.onnx.numpy_helper.from_array(np.ones(1, np.float32)))
    r = ex.one("CumSum", [ones, last], hint)                             # 1, 2, ..., n
    bound = ex.one("Div", [ex.one("Sub", [cum, ex.scalar(1.0)], hint), r], hint)
    support = ex.one("Greater", [ex.one("Sub", [srt, bound], hint), ex.scalar(0.0)], hint)
    k = ex.reduce("ReduceSum", ex.one("Cast", [support], hint, to=1), [-1], hint)
    kept = ex.reduce("ReduceSum", ex.one("Where", [support, cum, ex.scalar(0.0)], hint), [-1],
                     hint)
    tau = ex.one("Div", [ex.one("Sub", [kept, ex.scalar(1.0)], hint), k], hint)
    return ex.one("Max", [ex.one("Sub", [x, tau], hint), ex.scalar(0.0)], hint)


def _axis_op(op_type: str) -> Callable:
    return lambda ex, x, hint, _: ex.one(op_type, [x], hint, axis=-1)


def _clip(lo: float, hi: float) -> Callable:
    return lambda ex, x, hint, _: ex.one("Clip", [x, ex.scalar(lo), ex.scalar(hi)], hint)


def _attr_op(op_type: str, **attrs: Any) -> Callable:
    return lambda ex, x, hint, _: ex.one(op_type, [x], hint, **attrs)


def _times(op_type: str, **attrs: Any) -> Callable:
    return lambda ex, x, hint, _: ex.one("Mul", [x, ex.one(op_type, [x], hint, **attrs)], hint)


ALL: dict[str, Callable[..., str]] = {
    "linear": lambda ex, x, hint, _: x,
    **{name: (lambda ex, x, hint, _, op=op: ex.one(op, [x], hint))
       for name, op in _SIMPLE.items()},
    "softmax": _axis_op("Softmax"),
    "log_softmax": _axis_op("LogSoftmax"),
    "elu": _attr_op("Elu", alpha=1.0),
    "celu": _attr_op("Celu", alpha=1.0),
    "hard_sigmoid": _attr_op("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
    "hard_sigmoid_keras2": _attr_op("HardSigmoid", alpha=0.2, beta=0.5),
    "leaky_relu": _attr_op("LeakyRelu", alpha=0.2),
    "relu6": _clip(0.0, 6.0),
    "hard_tanh": _clip(-1.0, 1.0),
    "silu": _times("Sigmoid"),
    "swish": _times("Sigmoid"),
    "hard_silu": _times("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
    "hard_swish": _times("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
    "gelu": _gelu,
    "mish": lambda ex, x, hint, _: ex.one(
        "Mul", [x, ex.one("Tanh", [ex.one("Softplus", [x], hint)], hint)], hint),
    "tanh_shrink": lambda ex, x, hint, _: ex.one("Sub", [x, ex.one("Tanh", [x], hint)], hint),
    "log_sigmoid": lambda ex, x, hint, _: ex.one(
        "Neg", [ex.one("Softplus", [ex.one("Neg", [x], hint)], hint)], hint),
    "hard_shrink": _attr_op("Shrink", bias=0.0, lambd=0.5),
    "soft_shrink": _attr_op("Shrink", bias=0.5, lambd=0.5),
    "squareplus": _squareplus,
    "sparse_plus": _sparse_plus,
    "sparse_sigmoid": _sparse_sigmoid,
    "glu": _glu,
    "sparsemax": _sparsemax,
}

__all__ = ["RECURRENT", "ALL", "check", "emit", "label"]
