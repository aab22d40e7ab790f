"""Helpers shared by the op modules: axes, shapes, weak-typed binary operands, dtype checks."""

from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np

from rnnlens.ops._dispatch import cast_array, convert, fail
from rnnlens.ops._dtypes import dtype_of, floatx, result_type, standardize_dtype


def as_int(v: Any, name: str, op: str) -> int:
    """A Python int from an int-like (bool refused)."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"ops.{op}: {name} must be an integer, received {v!r}.")
    try:
        return operator.index(v)
    except TypeError:
        if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu":
            return int(v)
        raise TypeError(f"ops.{op}: {name} must be an integer, received {v!r}.") from None


def norm_axis(axis: Any, ndim: int, op: str, name: str = "axis") -> int:
    a = as_int(axis, name, op)
    if not -ndim <= a < ndim:
        raise fail(op, f"{name}={a} is out of range for a tensor of rank {ndim}.")
    return a % ndim


def norm_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """None, an int or a sequence of ints -> a sorted tuple of distinct axes in range."""
    if axis is None:
        return None
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    out = []
    for a in items:
        a = as_int(a, "axis", op)
        if not -ndim <= a < ndim:
            raise fail(op, f"axis={a} is out of range for a tensor of rank {ndim}.")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise fail(op, f"axis={axis!r} repeats an axis.")
    return tuple(sorted(out))


def as_shape(shape: Any, op: str, name: str = "shape") -> tuple[int, ...]:
    """An int or a sequence of non-negative ints."""
    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if not isinstance(shape, (list, tuple)):
        shape = (shape,)
    dims = tuple(as_int(d, name, op) for d in shape)
    if any(d < 0 for d in dims):
        raise fail(op, f"{name}={dims} has a negative dimension.")
    return dims


def weak_pair(x1: Any, x2: Any, op: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Both operands cast to Keras's promoted dtype (Python scalars weakly typed)."""
    d = result_type(dtype_of(x1), dtype_of(x2))
    return to_dtype(x1, d), to_dtype(x2, d), d


def strong_pair(x1: Any, x2: Any, op: str) -> tuple[np.ndarray, np.ndarray, str]:
    """As ``weak_pair`` with Python scalars first converted as tensors (no weak typing)."""
    a, b = convert(x1, op=op), convert(x2, op=op)
    d = result_type(a.dtype.name, b.dtype.name)
    return to_dtype(a, d), to_dtype(b, d), d


def to_dtype(x: Any, d: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x if x.dtype == d else cast_array(x, d)
    if isinstance(x, float) and np.dtype(d).kind in "iub":
        return cast_array(np.asarray(x), d)
    with np.errstate(all="ignore"):
        try:
            return np.asarray(x, dtype=d)
        except OverflowError:
            return cast_array(np.asarray(x), d)


def check_broadcast(op: str, *shapes: Sequence[int]) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise fail(op, "shapes " + ", ".join(str(tuple(s)) for s in shapes)
                   + " cannot be broadcast together.") from None


def no_bool(x: np.ndarray, op: str, d: str | None = None) -> None:
    if (d or x.dtype.name) == "bool":
        raise TypeError(f"ops.{op}: TensorFlow has no {op} for bool tensors; cast to an int "
                        "or float dtype first.")


def need_float(x: np.ndarray, op: str) -> None:
    """Keras (TF) refuses int and bool inputs for most activations."""
    if x.dtype.kind not in "fc":
        raise TypeError(f"ops.{op}: expected a floating-point tensor, received {x.dtype}; "
                        f"cast it first, e.g. ops.cast(x, '{floatx()}').")


def to_float(x: np.ndarray) -> np.ndarray:
    """Floats keep their dtype; ints and bools become floatx (Keras's TF rule)."""
    if x.dtype.kind in "fc":
        return x
    return cast_array(x, floatx())


def weak_float(x: np.ndarray) -> np.ndarray:
    """Cast to ``result_type(x.dtype, float)`` (floats keep theirs, ints -> floatx)."""
    d = result_type(x.dtype.name, float)
    return x if x.dtype == d else cast_array(x, d)


def keep_dims(y: np.ndarray, x: np.ndarray, axis: tuple[int, ...] | None) -> np.ndarray:
    shape = [1] * x.ndim if axis is None else [1 if i in axis else n
                                                for i, n in enumerate(x.shape)]
    return y.reshape(shape)


__all__ = ["as_int", "norm_axis", "norm_axes", "as_shape", "weak_pair", "strong_pair",
           "to_dtype", "check_broadcast", "no_bool", "need_float", "to_float", "weak_float",
           "keep_dims", "standardize_dtype"]
