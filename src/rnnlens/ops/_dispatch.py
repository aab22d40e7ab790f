"""The one decorator every op goes through, and TensorFlow-like tensor conversion.

``@keras_op("add", tensors="x1 x2")`` registers an op under its Keras name. A call

1. converts the arguments named in ``tensors`` with ``convert_to_tensor`` (a name ending in
   ``*`` is a list of tensors, as ``concatenate``'s ``xs``); with ``weak=True`` a Python
   ``int``/``float`` is passed on as it is, so that the op can apply Keras's weak typing
   (``int8_array + 1 -> int8``);
2. calls the op's NumPy implementation, a plain function of arrays and static arguments;
3. returns arrays (a NumPy scalar becomes a 0-d array), silences NumPy's floating-point
   warnings (TensorFlow produces NaN and inf silently), and turns a stray NumPy error
   (IndexError, AxisError, ZeroDivisionError, a broadcasting ValueError) into a
   ValueError that names the op.

A call with a symbolic tensor (``rnnlens.Input`` or a layer's output in a graph) among
its arguments records Keras's op node instead (``rnnlens.layers._op_probe``), as
``keras.ops`` does on a ``KerasTensor``.

This is the single place where ops are recorded for differentiation: while a gradient
tape (``rnnlens.autodiff.Tape``) is active the call goes through ``tape.run_op``, which
records the op's inputs and output for its VJP; otherwise the cost is one context-variable
lookup. ``OPS`` maps each name to its implementation and the names of its tensor
arguments.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Callable, NamedTuple

import numpy as np

from rnnlens.autodiff.tape import ACTIVE as _TAPE
from rnnlens.ops import _dtypes

_INT32 = np.iinfo(np.int32)
_AxisError = getattr(getattr(np, "exceptions", np), "AxisError", IndexError)


class OpSpec(NamedTuple):
    name: str
    impl: Callable[..., Any]
    tensors: tuple[str, ...]
    weak: bool


#: Keras op name -> OpSpec, filled by ``keras_op``.
OPS: dict[str, OpSpec] = {}
#: Keras op name -> the public (decorated) function.
PUBLIC: dict[str, Callable[..., Any]] = {}


class OpError(ValueError):
    """Internal marker: an error raised by an op itself (already names the op)."""


def _python_leaves(x: Any) -> list[Any] | None:
    """The leaves of a nested list/tuple of Python scalars, or None if anything else."""
    out: list[Any] = []
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, (bool, int, float, complex)) and not isinstance(v, np.generic):
            out.append(v)
        else:
            return None
    return out


def _python_dtype(leaves: list[Any]) -> str | None:
    """TensorFlow's dtype for Python scalars: int32 (int64 if too big), float32, bool."""
    if not leaves:
        return None
    if any(isinstance(v, complex) for v in leaves):
        return "complex128"
    if any(isinstance(v, float) for v in leaves):
        return "float32"
    if all(isinstance(v, bool) for v in leaves):
        return "bool"
    if any(isinstance(v, bool) for v in leaves):
        raise TypeError("cannot mix bools and numbers in one nested list")
    if all(_INT32.min <= v <= _INT32.max for v in leaves):
        return "int32"
    return "int64"


def to_array(x: Any, op: str = "convert_to_tensor") -> np.ndarray:
    """``x`` as a NumPy array with TensorFlow's dtype inference (no dtype change)."""
    op = op if op.startswith("ops.") else f"ops.{op}"
    if isinstance(x, np.ndarray):
        arr = x
    elif x is None:
        raise TypeError(f"{op}: received None where a tensor was expected.")
    else:
        if hasattr(x, "numpy") and not isinstance(x, np.generic):
            x = x.numpy()
        leaves = _python_leaves(x)
        if leaves is not None:
            try:
                d = _python_dtype(leaves)
            except TypeError as e:
                raise TypeError(f"{op}: {e}") from None
            try:
                arr = np.asarray(x, dtype=d or _dtypes.floatx())
            except (ValueError, OverflowError) as e:
                raise ValueError(f"{op}: cannot convert {_short(x)} to a tensor "
                                 f"(ragged or out of range: {e}).") from None
        else:
            try:
                arr = np.asarray(x)
            except (ValueError, TypeError) as e:
                raise ValueError(f"{op}: cannot convert {_short(x)} to a tensor "
                                 f"({e}).") from None
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{op}: cannot convert {_short(x)} of dtype {arr.dtype} to a "
                        "numeric tensor.")
    _dtypes.standardize_dtype(arr.dtype, op)
    return arr


def convert(x: Any, dtype: Any = None, op: str = "convert_to_tensor") -> np.ndarray:
    """``to_array`` then, with ``dtype``, a cast (float -> int truncates, as tf.cast)."""
    arr = to_array(x, op)
    if dtype is not None:
        d = _dtypes.standardize_dtype(dtype, op)
        if arr.dtype != d:
            arr = cast_array(arr, d)
    return arr


def cast_array(arr: np.ndarray, d: str) -> np.ndarray:
    """``arr.astype(d)`` without NumPy's warnings (NaN -> int is undefined, as in TF)."""
    with np.errstate(all="ignore"):
        if np.dtype(d).kind == "b" and arr.dtype.kind == "c":
            return arr != 0
        if arr.dtype.kind == "c" and np.dtype(d).kind != "c":
            arr = arr.real
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return arr.astype(d)


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) <= 60 else s[:57] + "..."


def _to_output(out: Any) -> Any:
    if isinstance(out, np.generic):
        return np.asarray(out)
    if isinstance(out, tuple):
        return tuple(_to_output(o) for o in out)
    if isinstance(out, list):
        return [_to_output(o) for o in out]
    return out


def _convert_arg(v: Any, weak: bool, name: str) -> Any:
    if weak and (_dtypes.is_weak(v) or isinstance(v, bool)):
        return v
    return to_array(v, name)


def keras_op(name: str, tensors: str = "", weak: bool = False) -> Callable:
    """Register ``fn`` as the Keras op ``name``; see the module docstring."""
    names = tuple(tensors.split())

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        params = list(sig.parameters)
        plan = []
        for t in names:
            seq = t.endswith("*")
            t = t.rstrip("*")
            var = sig.parameters[t].kind is inspect.Parameter.VAR_POSITIONAL
            plan.append((t, params.index(t), "var" if var else seq))

        @functools.wraps(fn)
        def op(*args: Any, **kwargs: Any) -> Any:
            if _has_symbolic(args, kwargs):
                from rnnlens.layers._op_probe import symbolic_op

                return symbolic_op(name, args, kwargs)
            try:
                args = list(args)
                for t, pos, seq in plan:
                    if seq == "var":
                        args[pos:] = [_convert_arg(a, weak, name) for a in args[pos:]]
                    elif pos < len(args):
                        args[pos] = _convert_slot(args[pos], seq, weak, name)
                    elif t in kwargs:
                        kwargs[t] = _convert_slot(kwargs[t], seq, weak, name)
                tape = _TAPE.get()
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)   # NaN/inf as TF: silent
                    if tape is None:
                        return _to_output(fn(*args, **kwargs))
                    return _to_output(tape.run_op(name, fn, args, kwargs))
            except OpError as e:
                raise ValueError(str(e)) from None
            except (IndexError, ZeroDivisionError, _AxisError, OverflowError) as e:
                raise ValueError(f"ops.{name}: {e}") from None
            except (ValueError, TypeError) as e:
                msg = str(e)
                if msg.startswith("ops."):
                    raise
                kind = TypeError if isinstance(e, TypeError) else ValueError
                raise kind(f"ops.{name}: {msg}") from None

        op.keras_name = name  # type: ignore[attr-defined]
        if name in OPS:
            raise RuntimeError(f"op {name!r} registered twice")
        OPS[name] = OpSpec(name, fn, tuple(p for p, _, _ in plan), weak)
        PUBLIC[name] = op
        return op

    return wrap


_SYMBOLIC: list = []


def _has_symbolic(args: tuple, kwargs: dict) -> bool:
    """Whether a symbolic tensor is an argument (or in a list / tuple argument)."""
    if not _SYMBOLIC:
        from rnnlens.functional import SymbolicTensor

        _SYMBOLIC.append(SymbolicTensor)
    sym = _SYMBOLIC[0]
    for v in (*args, *kwargs.values()):
        if isinstance(v, sym):
            return True
        if isinstance(v, (list, tuple)) and any(
                isinstance(x, sym) or (isinstance(x, (list, tuple)) and
                                       any(isinstance(y, sym) for y in x)) for x in v):
            return True
    return False


def _convert_slot(v: Any, seq: bool, weak: bool, name: str) -> Any:
    if not seq:
        return _convert_arg(v, weak, name)
    if isinstance(v, np.ndarray) and v.ndim:
        return list(v)
    if not isinstance(v, (list, tuple)):
        raise TypeError(f"ops.{name}: expected a list or tuple of tensors, received "
                        f"{type(v).__name__}.")
    return [_convert_arg(x, weak, name) for x in v]


def fail(op: str, msg: str) -> OpError:
    """An error to raise from an op: ``raise fail("sum", "axis 3 is out of range")``."""
    return OpError(f"ops.{op}: {msg}")
