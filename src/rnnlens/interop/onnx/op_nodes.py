"""Keras op nodes (``y = ops.exp(x)``, ``x + 1``, ``x[:, -1]``, ...) as ONNX operators.

A model built with ``rnnlens.ops`` on symbolic tensors records one node per op
(:mod:`rnnlens.layers.op_nodes`). Each exported op class has an entry of :data:`OPS`::

    entry(ex, call, a) -> (ONNX name, ONNX element type)

``a`` are the node's call arguments (symbolic tensors, numbers, arrays, keys); the
constructor arguments are ``call.layer.op_config``. Arithmetic runs in float32 (what
rnnlens computes for float inputs; integer values are exact up to 2^24), comparisons
give bool; the result is then cast to the dtype rnnlens gives the node's output
(``int32`` for ``argmax``, ``bool`` for ``x > 0``, ``int32`` for ``ids + 1``), so the
next node sees the same element type as in rnnlens. The families:

* elementwise: ONNX's own operator (``Exp``, ``Log``, ``Abs``, ``Neg``, ``Sin``, ...) or
  the formula rnnlens computes (``square = x * x``, ``rsqrt = 1 / sqrt(x)``,
  ``gelu(approximate=True) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``,
  the activations of :mod:`.activations`);
* binary with NumPy broadcasting, operands tensors or constants (``Add``, ``Sub``,
  ``Mul``, ``Div``, ``Pow``, ``Max``, ``Min``, comparisons, ``floor_divide``,
  ``mod = x - floor(x / y) y``, ``logaddexp = max + log(1 + exp(-|x - y|))``,
  ``MatMul``, ``Einsum``, ``Where``, ``Clip``);
* reductions over ``axis`` (None, int or tuple) with ``keepdims`` (``ReduceSum`` & co.,
  ``var = mean((x - mean x)^2)``, ``logsumexp = m + log(sum(exp(x - m)))``,
  ``ArgMax`` / ``ArgMin``, ``Softmax`` / ``LogSoftmax``, ``CumSum``);
* shapes: ``Reshape``, ``Transpose``, ``Unsqueeze`` / ``Squeeze``, ``Concat`` (stack:
  Unsqueeze then Concat), ``Expand``, ``Flip``, ``moveaxis`` / ``swapaxes``, ``Cast``,
  and ``x[key]`` for basic keys (ints, slices with steps, ``None``, ``...``) as one
  ``Slice`` then ``Squeeze`` / ``Unsqueeze``.

Keras's ``ReLU`` operation (``keras.activations.relu`` on a symbolic tensor) is written
by :mod:`.op_shapes` too. Any other op (or a setting an entry does not take, e.g.
``max(initial=...)``, a fancy index) is a ValueError naming the node and the op;
``op_shapes.exported_ops`` lists the exported op classes and ``docs/op_export.md``
tabulates them.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from rnnlens.interop.onnx import activations as act
from rnnlens.interop.onnx.export import Call

_F = 1                    # onnx.TensorProto.FLOAT
_B = 9                    # onnx.TensorProto.BOOL


def refuse(call: Call, reason: str) -> ValueError:
    op = getattr(call.layer, "op_name", "") or type(call.layer).__name__
    return ValueError(f"Op node '{call.hint}' (ops.{op}, Keras's {type(call.layer).__name__}) "
                      f"{reason}")


# -- operands ----------------------------------------------------------------------------


def scalar(ex: Any, value: float, dtype: Any = np.float32) -> str:
    """A 0-d constant (one initializer per value), so that a 0-d result (``ops.min(x) + 1``)
    stays 0-d (``ex.scalar`` is 0-d too, float32 only; ``ex.const`` writes a 0-d array as [1])."""
    key = ("0-d", np.dtype(dtype).name, repr(np.asarray(value, dtype).item()))  # NaN too
    if key not in ex.cache:
        name = ex.fresh(f"const_{np.dtype(dtype).name}_0d")
        ex.initializers.append(ex.onnx.numpy_helper.from_array(np.asarray(value, dtype), name))
        ex.cache[key] = name
    return ex.cache[key]


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and not isinstance(value, (np.ndarray, np.generic))


def fl(ex: Any, call: Call, value: Any) -> str:
    """An operand as float32: a graph tensor (cast once) or a constant."""
    if _is_tensor(value):
        return ex.name_of(value)
    if value is None or isinstance(value, (str, slice)):
        raise refuse(call, f"takes an operand {value!r} that ONNX export cannot write.")
    array = np.asarray(value, np.float32)
    return scalar(ex, float(array)) if array.ndim == 0 else ex.const(array, f"{call.hint}/c")


def _bool_const(ex: Any, call: Call, value: Any) -> str:
    """A bool constant; 0-d (``np.bool_(True)``, ``True``) stays 0-d."""
    array = np.asarray(value, bool)
    return scalar(ex, array, bool) if array.ndim == 0 else ex.const(array, f"{call.hint}/c")


def shape(value: Any) -> tuple:
    return tuple(value.shape) if _is_tensor(value) else np.shape(value)


def cfg(call: Call, key: str) -> Any:
    return call.layer.op_config.get(key)


def axes_of(call: Call, axis: Any, rank: int) -> list[int]:
    """``axis`` (None: all, int, list) as sorted non-negative axes of a rank-``rank`` tensor."""
    if axis is None:
        return list(range(rank))
    found = [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    if any(not -rank <= a < rank for a in found):
        raise refuse(call, f"uses axis={axis} on a tensor of rank {rank}.")
    return sorted(a % rank for a in found)


# -- elementwise --------------------------------------------------------------------------


def _unary(op_type: str, **attrs: Any) -> Callable:
    return lambda ex, call, a: (ex.one(op_type, [fl(ex, call, a[0])], call.hint, **attrs), _F)


def _activation(name: str) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        last = shape(a[0])[-1] if shape(a[0]) else None          # 0-d: no last axis
        return act.emit(ex, name, fl(ex, call, a[0]), call.hint, last), _F
    return entry


def _chain(*steps: Any) -> Callable:
    """Unary formulas: each step ``(op_type, constant or None, constant first)``."""
    def entry(ex: Any, call: Call, a: list) -> tuple:
        y = fl(ex, call, a[0])
        for op_type, const, first in steps:
            ins = [y] if const is None else [scalar(ex, const), y] if first else \
                [y, scalar(ex, const)]
            y = ex.one(op_type, ins, call.hint)
        return y, _F
    return entry


def _square(ex: Any, call: Call, a: list) -> tuple:
    x = fl(ex, call, a[0])
    return ex.one("Mul", [x, x], call.hint), _F


def _gelu(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    if not cfg(call, "approximate"):
        return act.emit(ex, "gelu", x, h), _F
    cube = ex.one("Mul", [scalar(ex, 0.044715), ex.one("Mul", [x, ex.one("Mul", [x, x], h)], h)],
                  h)
    inner = ex.one("Mul", [scalar(ex, math.sqrt(2.0 / math.pi)), ex.one("Add", [x, cube], h)], h)
    one_plus = ex.one("Add", [scalar(ex, 1.0), ex.one("Tanh", [inner], h)], h)
    return ex.one("Mul", [ex.one("Mul", [scalar(ex, 0.5), x], h), one_plus], h), _F


def _with_config(make: Callable[[Call], tuple]) -> Callable:
    """ONNX operator whose attributes come from the op's config: ``make(call)`` gives
    ``(op_type, attrs)``."""
    def entry(ex: Any, call: Call, a: list) -> tuple:
        op_type, attrs = make(call)
        return ex.one(op_type, [fl(ex, call, a[0])], call.hint, **attrs), _F
    return entry


def _squareplus(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    root = ex.one("Sqrt", [ex.one("Add", [ex.one("Mul", [x, x], h),
                                          scalar(ex, float(cfg(call, "b")))], h)], h)
    return ex.one("Mul", [ex.one("Add", [x, root], h), scalar(ex, 0.5)], h), _F


def _threshold(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    above = ex.one("Greater", [x, scalar(ex, float(cfg(call, "threshold")))], h)
    return ex.one("Where", [above, x, scalar(ex, float(cfg(call, "default_value")))], h), _F


def _trunc(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    mag = ex.one("Floor", [ex.one("Abs", [x], h)], h)
    return ex.one("Mul", [ex.one("Sign", [x], h), mag], h), _F


def _cbrt(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    root = ex.one("Pow", [ex.one("Abs", [x], h), scalar(ex, 1.0 / 3.0)], h)
    return ex.one("Mul", [ex.one("Sign", [x], h), root], h), _F


def _fmod(ex: Any, call: Call, a: list) -> tuple:
    """``x - trunc(x / y) y`` (C's fmod: the sign of x)."""
    x, y, h = fl(ex, call, a[0]), fl(ex, call, a[1]), call.hint
    q = ex.one("Div", [x, y], h)
    t = ex.one("Mul", [ex.one("Sign", [q], h), ex.one("Floor", [ex.one("Abs", [q], h)], h)], h)
    return ex.one("Sub", [x, ex.one("Mul", [t, y], h)], h), _F


def _round(ex: Any, call: Call, a: list) -> tuple:
    if cfg(call, "decimals"):
        raise refuse(call, "uses decimals != 0, which ONNX export does not write.")
    return ex.one("Round", [fl(ex, call, a[0])], call.hint), _F


def _bool_unary(op_type: str, of_bool: bool = False) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        x = ex.as_bool(ex.raw_of(a[0])) if of_bool else fl(ex, call, a[0])
        return ex.one(op_type, [x], call.hint), _B
    return entry


def _isfinite(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    bad = ex.one("Or", [ex.one("IsNaN", [x], h), ex.one("IsInf", [x], h)], h)
    return ex.one("Not", [bad], h), _B


# -- binary -------------------------------------------------------------------------------


def _binary(op_type: str, out: int = _F) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        return ex.one(op_type, [fl(ex, call, a[0]), fl(ex, call, a[1])], call.hint), out
    return entry


def _add(ex: Any, call: Call, a: list) -> tuple:
    """``x1 + x2`` as rnnlens's (Keras on TensorFlow's) add: when x2 squeezes to one axis
    of size c > 1 equal to x1's last axis (else its axis 1), x2 is a bias along that axis
    (``tf.nn.bias_add``), not NumPy-broadcast. Decided here from static sizes, else in
    the file by an ``If`` on the run's sizes (x2's batch axis may be that one axis)."""
    x1, x2 = fl(ex, call, a[0]), fl(ex, call, a[1])
    s1, s2 = shape(a[0]), shape(a[1])
    if len(s1) < 2 or not len(s2):
        return ex.one("Add", [x1, x2], call.hint), _F
    big = [d for d in s2 if d is None or d > 1]
    if None not in big and len(big) != 1:
        return ex.one("Add", [x1, x2], call.hint), _F
    if None not in big and s1[-1] is not None and s1[1] is not None:
        if big[0] not in (s1[1], s1[-1]):
            return ex.one("Add", [x1, x2], call.hint), _F
        return _bias_add(ex, x1, x2, len(s1), big[0] == s1[-1], call.hint), _F
    return _runtime_add(ex, x1, x2, len(s1), call.hint), _F


def _bias_add(ex: Any, x1: str, x2: str, rank: int, last: bool, hint: str) -> str:
    target = [-1] if last else [1, -1] + [1] * (rank - 2)
    return ex.one("Add", [x1, ex.one("Reshape", [x2, ex.ints(target)], hint)], hint)


def _branch(ex: Any, make: Callable[[], str], hint: str) -> Any:
    """A subgraph (no inputs, one float output) of the nodes ``make`` emits."""
    saved, ex.nodes = ex.nodes, []
    try:
        out = ex.one("Identity", [make()], hint)
        nodes = ex.nodes
    finally:
        ex.nodes = saved
    info = ex.helper.make_tensor_value_info(out, _F, None)
    return ex.helper.make_graph(nodes, ex.fresh(f"{hint}/branch"), [], [info])


def _runtime_add(ex: Any, x1: str, x2: str, rank: int, hint: str) -> str:
    s1, s2 = ex.one("Shape", [x1], hint), ex.one("Shape", [x2], hint)
    count = ex.reduce("ReduceSum", ex.one("Cast", [ex.one("Greater", [s2, ex.ints([1])], hint)],
                                          hint, to=7), [0], hint, keepdims=False)
    big = ex.reduce("ReduceMax", s2, [0], hint, keepdims=False)
    at = {k: ex.one("Gather", [s1, ex.const(np.asarray(k, np.int64), f"{hint}/axis")], hint)
          for k in (-1, 1)}
    is_last = ex.one("Equal", [big, at[-1]], hint)
    match = ex.one("Or", [is_last, ex.one("Equal", [big, at[1]], hint)], hint)
    route = ex.one("And", [ex.one("Equal", [count, ex.const(np.asarray(1, np.int64),
                                                             f"{hint}/one")], hint), match], hint)
    as_bias = _branch(ex, lambda: ex.one("If", [is_last], hint, then_branch=_branch(
        ex, lambda: _bias_add(ex, x1, x2, rank, True, hint), hint), else_branch=_branch(
        ex, lambda: _bias_add(ex, x1, x2, rank, False, hint), hint)), hint)
    plain = _branch(ex, lambda: ex.one("Add", [x1, x2], hint), hint)
    return ex.one("If", [route], hint, then_branch=as_bias, else_branch=plain)


def _logical(op_type: str) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        x, y = (ex.as_bool(ex.raw_of(v)) if _is_tensor(v) else
                _bool_const(ex, call, v) for v in a[:2])
        return ex.one(op_type, [x, y], call.hint), _B
    return entry


def _floor_divide(ex: Any, call: Call, a: list) -> tuple:
    return ex.one("Floor", [_binary("Div")(ex, call, a)[0]], call.hint), _F


def _mod(ex: Any, call: Call, a: list) -> tuple:
    x, y, h = fl(ex, call, a[0]), fl(ex, call, a[1]), call.hint
    q = ex.one("Floor", [ex.one("Div", [x, y], h)], h)
    return ex.one("Sub", [x, ex.one("Mul", [q, y], h)], h), _F


def _logaddexp(ex: Any, call: Call, a: list) -> tuple:
    x, y, h = fl(ex, call, a[0]), fl(ex, call, a[1]), call.hint
    gap = ex.one("Neg", [ex.one("Abs", [ex.one("Sub", [x, y], h)], h)], h)
    soft = ex.one("Log", [ex.one("Add", [scalar(ex, 1.0), ex.one("Exp", [gap], h)], h)], h)
    return ex.one("Add", [ex.one("Max", [x, y], h), soft], h), _F


def _hypot(ex: Any, call: Call, a: list) -> tuple:
    x, y, h = fl(ex, call, a[0]), fl(ex, call, a[1]), call.hint
    total = ex.one("Add", [ex.one("Mul", [x, x], h), ex.one("Mul", [y, y], h)], h)
    return ex.one("Sqrt", [total], h), _F


def _einsum(ex: Any, call: Call, a: list) -> tuple:
    names = [fl(ex, call, v) for v in a]
    return ex.one("Einsum", names, call.hint, equation=str(cfg(call, "subscripts"))), _F


def _where(ex: Any, call: Call, a: list) -> tuple:
    if len(a) < 3 or a[1] is None or a[2] is None:
        raise refuse(call, "is where(condition) without values; ONNX export needs both.")
    c = a[0]
    cond = ex.as_bool(ex.raw_of(c)) if _is_tensor(c) else _bool_const(ex, call, c)
    return ex.one("Where", [cond, fl(ex, call, a[1]), fl(ex, call, a[2])], call.hint), _F


def _clip(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    low = ex.one("Max", [x, fl(ex, call, cfg(call, "x_min"))], h)
    return ex.one("Min", [low, fl(ex, call, cfg(call, "x_max"))], h), _F


ENTRIES_A: dict[str, Callable] = {
    **{k: _unary(v) for k, v in {
        "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Absolute": "Abs", "Fabs": "Abs",
        "Negative": "Neg", "Sin": "Sin", "Cos": "Cos", "Tan": "Tan", "Tanh": "Tanh",
        "Arcsin": "Asin", "Arccos": "Acos", "Arctan": "Atan", "Arcsinh": "Asinh",
        "Arccosh": "Acosh", "Arctanh": "Atanh", "Sinh": "Sinh", "Cosh": "Cosh",
        "Sigmoid": "Sigmoid", "Relu": "Relu", "Softplus": "Softplus", "Softsign": "Softsign",
        "Floor": "Floor", "Ceil": "Ceil", "Sign": "Sign", "Reciprocal": "Reciprocal",
        "Erf": "Erf", "Selu": "Selu", "Copy": "Identity", "StopGradient": "Identity",
        "ConvertToTensor": "Identity",
    }.items()},
    **{k: _activation(v) for k, v in {
        "Silu": "silu", "HardSigmoid": "hard_sigmoid", "HardSilu": "hard_silu",
        "LogSigmoid": "log_sigmoid", "Relu6": "relu6", "HardTanh": "hard_tanh",
        "TanhShrink": "tanh_shrink", "SparsePlus": "sparse_plus",
        "SparseSigmoid": "sparse_sigmoid"}.items()},
    "Square": _square,
    "Rsqrt": _chain(("Sqrt", None, False), ("Reciprocal", None, False)),
    "Expm1": _chain(("Exp", None, False), ("Sub", 1.0, False)),
    "Log1p": _chain(("Add", 1.0, False), ("Log", None, False)),
    "Log2": _chain(("Log", None, False), ("Div", math.log(2.0), False)),
    "Log10": _chain(("Log", None, False), ("Div", math.log(10.0), False)),
    "Deg2rad": _chain(("Mul", math.pi / 180.0, False)),
    "Rad2deg": _chain(("Mul", 180.0 / math.pi, False)),
    "Cbrt": _cbrt,
    "Fmod": _fmod,
    "Gelu": _gelu,
    "Elu": _with_config(lambda c: ("Elu", {"alpha": float(cfg(c, "alpha"))})),
    "Celu": _with_config(lambda c: ("Celu", {"alpha": float(cfg(c, "alpha"))})),
    "LeakyRelu": _with_config(lambda c: ("LeakyRelu",
                                         {"alpha": float(cfg(c, "negative_slope"))})),
    "SoftShrink": _with_config(lambda c: ("Shrink", {"bias": float(cfg(c, "threshold")),
                                                     "lambd": float(cfg(c, "threshold"))})),
    "HardShrink": _with_config(lambda c: ("Shrink", {"bias": 0.0,
                                                     "lambd": float(cfg(c, "threshold"))})),
    "Squareplus": _squareplus,
    "Threshold": _threshold,
    "Trunc": _trunc,
    "Round": _round,
    "LogicalNot": _bool_unary("Not", of_bool=True),
    "Isnan": _bool_unary("IsNaN"),
    "Isinf": _bool_unary("IsInf"),
    "Isfinite": _isfinite,
    **{k: _binary(v) for k, v in {
        "Subtract": "Sub", "Multiply": "Mul", "Divide": "Div",
        "TrueDivide": "Div", "Power": "Pow", "Maximum": "Max", "Minimum": "Min",
        "Matmul": "MatMul"}.items()},
    **{k: _binary(v, _B) for k, v in {
        "Greater": "Greater", "GreaterEqual": "GreaterOrEqual", "Less": "Less",
        "LessEqual": "LessOrEqual"}.items()},
    "Add": _add,
    "LogicalXor": _logical("Xor"),
    "FloorDivide": _floor_divide,
    "Mod": _mod,
    "Logaddexp": _logaddexp,
    "Hypot": _hypot,
    "Einsum": _einsum,
    "Where": _where,
    "Clip": _clip,
}

__all__ = ["ENTRIES_A", "refuse", "fl", "shape", "cfg", "axes_of", "scalar"]
