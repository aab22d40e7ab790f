"""Keras op nodes (``ops.exp(x)``, ``x + 1``, ``x[:, -1]``, ...) as torch operations.

Every op class of :data:`OPS` maps to a function ``f(torch, config, args)`` with the
node's call arguments (tensors, numbers, keys) and constructor arguments. As in the
ONNX export (:mod:`rnnlens.interop.onnx.op_nodes`), arithmetic runs in the module's
float dtype (integer and bool operands cast to it, NumPy constants too), comparisons
give bool, and the result is cast to the dtype rnnlens gives the node's output
(``int32`` for ``argmax``, ``bool`` for ``x > 0``). The formulas are rnnlens's:
``gelu(approximate=True) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``,
``mod = x - floor(x / y) y``, ``var = mean((x - mean x)^2)``,
``logsumexp = m + log(sum(exp(x - m)))``; ``x[key]`` takes basic keys (ints, slices
with any step, None, ...). Any other op is refused by the converter with a ValueError
naming the node and the op.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np


def is_graph_tensor(value: Any) -> bool:
    """A symbolic graph tensor (not a constant: NumPy arrays, NumPy scalars such as
    ``np.float32(0.5)`` and 0-d arrays are constants although they have a ``shape``)."""
    return hasattr(value, "shape") and not isinstance(value, (np.ndarray, np.generic))


def _dtype(torch: Any, a: list) -> Any:
    for v in _leaves(a):
        if torch.is_tensor(v) and v.is_floating_point():
            return v.dtype
    return torch.float32


def _leaves(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _leaves(v)]
    return [value]


def fl(torch: Any, v: Any, dtype: Any) -> Any:
    """An operand in the float dtype: a tensor cast, or a constant."""
    if torch.is_tensor(v):
        return v if v.dtype == dtype else v.to(dtype)
    return torch.as_tensor(np.asarray(v, np.float64), dtype=dtype)


def _axes(axis: Any, rank: int) -> list[int]:
    if axis is None:
        return list(range(rank))
    return sorted(int(a) % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis]))


# -- elementwise ----------------------------------------------------------------------------


def _u(fn: Callable) -> Callable:
    """A unary float function ``fn(torch, x, config)``."""
    return lambda torch, c, a: fn(torch, fl(torch, a[0], _dtype(torch, a)), c)


def _gelu(torch: Any, x: Any, c: dict) -> Any:
    if c.get("approximate", True):
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + torch.tanh(inner))
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _relu6(torch: Any, x: Any, c: dict) -> Any:
    return torch.clamp(x, 0.0, 6.0)


def _hard_sigmoid(torch: Any, x: Any, c: dict) -> Any:
    return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


def _sparse_plus(torch: Any, x: Any, c: dict) -> Any:
    inner = torch.where(x < 1.0, 0.25 * (x + 1.0) ** 2, x)
    return torch.where(x <= -1.0, torch.zeros_like(x), inner)


def _sparse_sigmoid(torch: Any, x: Any, c: dict) -> Any:
    inner = torch.where(x >= 1.0, torch.ones_like(x), 0.5 * (x + 1.0))
    return torch.where(x <= -1.0, torch.zeros_like(x), inner)


def _shrink(soft: bool) -> Callable:
    def fn(torch: Any, x: Any, c: dict) -> Any:
        t = float(c["threshold"])
        keep = torch.abs(x) > t
        y = x - t * torch.sign(x) if soft else x
        return torch.where(keep, y, torch.zeros_like(x))
    return fn


def _round(torch: Any, x: Any, c: dict) -> Any:
    if c.get("decimals"):
        raise ValueError("round(decimals != 0) is not converted to PyTorch.")
    return torch.round(x)


def _elu(torch: Any, x: Any, c: dict) -> Any:
    return torch.where(x > 0, x, float(c["alpha"]) * torch.expm1(torch.clamp(x, max=0.0)))


def _celu(torch: Any, x: Any, c: dict) -> Any:
    alpha = float(c["alpha"])
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0) / alpha))


_UNARY: dict[str, Callable] = {
    "Exp": lambda t, x, c: t.exp(x), "Log": lambda t, x, c: t.log(x),
    "Sqrt": lambda t, x, c: t.sqrt(x), "Absolute": lambda t, x, c: t.abs(x),
    "Fabs": lambda t, x, c: t.abs(x), "Negative": lambda t, x, c: -x,
    "Sin": lambda t, x, c: t.sin(x), "Cos": lambda t, x, c: t.cos(x),
    "Tan": lambda t, x, c: t.tan(x), "Tanh": lambda t, x, c: t.tanh(x),
    "Arcsin": lambda t, x, c: t.asin(x), "Arccos": lambda t, x, c: t.acos(x),
    "Arctan": lambda t, x, c: t.atan(x), "Arcsinh": lambda t, x, c: t.asinh(x),
    "Arccosh": lambda t, x, c: t.acosh(x), "Arctanh": lambda t, x, c: t.atanh(x),
    "Sinh": lambda t, x, c: t.sinh(x), "Cosh": lambda t, x, c: t.cosh(x),
    "Sigmoid": lambda t, x, c: t.sigmoid(x), "Relu": lambda t, x, c: t.relu(x),
    "Softplus": lambda t, x, c: t.nn.functional.softplus(x),
    "Softsign": lambda t, x, c: x / (1.0 + t.abs(x)),
    "Floor": lambda t, x, c: t.floor(x), "Ceil": lambda t, x, c: t.ceil(x),
    "Sign": lambda t, x, c: t.sign(x), "Reciprocal": lambda t, x, c: 1.0 / x,
    "Erf": lambda t, x, c: t.erf(x), "Selu": lambda t, x, c: t.selu(x),
    "Copy": lambda t, x, c: x, "StopGradient": lambda t, x, c: x.detach(),
    "ConvertToTensor": lambda t, x, c: x,
    "Silu": lambda t, x, c: x * t.sigmoid(x), "HardSigmoid": _hard_sigmoid,
    "HardSilu": lambda t, x, c: x * _hard_sigmoid(t, x, c),
    "LogSigmoid": lambda t, x, c: -t.nn.functional.softplus(-x), "Relu6": _relu6,
    "HardTanh": lambda t, x, c: t.clamp(x, -1.0, 1.0),
    "TanhShrink": lambda t, x, c: x - t.tanh(x), "SparsePlus": _sparse_plus,
    "SparseSigmoid": _sparse_sigmoid, "Square": lambda t, x, c: x * x,
    "Rsqrt": lambda t, x, c: 1.0 / t.sqrt(x), "Expm1": lambda t, x, c: t.exp(x) - 1.0,
    "Log1p": lambda t, x, c: t.log(x + 1.0), "Log2": lambda t, x, c: t.log(x) / math.log(2.0),
    "Log10": lambda t, x, c: t.log(x) / math.log(10.0), "Gelu": _gelu, "Elu": _elu,
    "Celu": _celu,
    "LeakyRelu": lambda t, x, c: t.where(x > 0, x, float(c["negative_slope"]) * x),
    "SoftShrink": _shrink(True), "HardShrink": _shrink(False),
    "Squareplus": lambda t, x, c: 0.5 * (x + t.sqrt(x * x + float(c["b"]))),
    "Threshold": lambda t, x, c: t.where(x > float(c["threshold"]), x,
                                         t.full_like(x, float(c["default_value"]))),
    "Trunc": lambda t, x, c: t.trunc(x), "Round": _round,
    "Deg2rad": lambda t, x, c: x * (math.pi / 180.0),
    "Rad2deg": lambda t, x, c: x * (180.0 / math.pi),
    "Cbrt": lambda t, x, c: t.sign(x) * t.pow(t.abs(x), 1.0 / 3.0),
    "Isnan": lambda t, x, c: t.isnan(x), "Isinf": lambda t, x, c: t.isinf(x),
    "Isfinite": lambda t, x, c: t.isfinite(x),
}


# -- binary ---------------------------------------------------------------------------------


def _b(fn: Callable) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        dtype = _dtype(torch, a)
        return fn(torch, fl(torch, a[0], dtype), fl(torch, a[1], dtype))
    return entry


def _logical(fn: Callable) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        x, y = (v.bool() if torch.is_tensor(v) else torch.as_tensor(np.asarray(v, bool))
                for v in a[:2])
        return fn(x, y)
    return entry


def _add(torch: Any, x: Any, y: Any) -> Any:
    """rnnlens's (Keras on TensorFlow's) add: a y that squeezes to one axis of size c > 1
    equal to x's last axis (else its axis 1) is a bias along it (``tf.nn.bias_add``)."""
    big = [d for d in y.shape if d > 1]
    if x.dim() > 1 and len(big) == 1 and big[0] in (x.shape[1], x.shape[-1]):
        bias = y.reshape(-1)
        return x + (bias if x.shape[-1] == big[0] else
                    bias.reshape((1, -1) + (1,) * (x.dim() - 2)))
    return x + y


_BINARY: dict[str, Callable] = {
    "Add": _add, "Subtract": lambda t, x, y: x - y,
    "Multiply": lambda t, x, y: x * y, "Divide": lambda t, x, y: x / y,
    "TrueDivide": lambda t, x, y: x / y, "Power": lambda t, x, y: t.pow(x, y),
    "Maximum": lambda t, x, y: t.maximum(x, y), "Minimum": lambda t, x, y: t.minimum(x, y),
    "Matmul": lambda t, x, y: t.matmul(x, y), "Greater": lambda t, x, y: x > y,
    "GreaterEqual": lambda t, x, y: x >= y, "Less": lambda t, x, y: x < y,
    "LessEqual": lambda t, x, y: x <= y,
    "FloorDivide": lambda t, x, y: t.floor(x / y),
    "Mod": lambda t, x, y: x - t.floor(x / y) * y,
    "Logaddexp": lambda t, x, y: t.maximum(x, y) + t.log(1.0 + t.exp(-t.abs(x - y))),
    "Hypot": lambda t, x, y: t.sqrt(x * x + y * y),
    "Fmod": lambda t, x, y: x - t.trunc(x / y) * y,
}


def _einsum(torch: Any, c: dict, a: list) -> Any:
    dtype = _dtype(torch, a)
    return torch.einsum(str(c["subscripts"]), *[fl(torch, v, dtype) for v in a])


def _where(torch: Any, c: dict, a: list) -> Any:
    if len(a) < 3 or a[1] is None or a[2] is None:
        raise ValueError("where(condition) without values is not converted to PyTorch.")
    cond = a[0].bool() if torch.is_tensor(a[0]) else torch.as_tensor(np.asarray(a[0], bool))
    dtype = _dtype(torch, a[1:])
    return torch.where(cond, fl(torch, a[1], dtype), fl(torch, a[2], dtype))


def _clip(torch: Any, c: dict, a: list) -> Any:
    dtype = _dtype(torch, a)
    x = fl(torch, a[0], dtype)
    return torch.minimum(torch.maximum(x, fl(torch, c["x_min"], dtype)),
                         fl(torch, c["x_max"], dtype))


OPS_A: dict[str, Callable] = {
    **{k: _u(f) for k, f in _UNARY.items()},
    **{k: _b(f) for k, f in _BINARY.items()},
    "LogicalNot": lambda t, c, a: t.logical_not(a[0].bool()),
    "LogicalXor": _logical(lambda x, y: x ^ y),
    "Einsum": _einsum, "Where": _where, "Clip": _clip,
}

__all__ = ["OPS_A", "fl", "is_graph_tensor"]
