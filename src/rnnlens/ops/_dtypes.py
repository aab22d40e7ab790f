"""Keras 3.15.1's dtype rules on the TensorFlow backend, for NumPy arrays.

Keras promotes dtypes on a lattice adapted from JAX (``keras.backend.result_type``)::

    bool -> i* -> {u8, i8} ...    i* (weak int)   -> u8, i8
    u8 -> {u16, i16}  u16 -> {u32, i32}  u32 -> {u64, i64}  u64 -> f*
    i8 -> i16 -> i32 -> i64 -> f*      f* (weak float) -> {bf16, f16} -> f32 -> f64

and the result of promoting ``a`` and ``b`` is their least upper bound. A Python ``int`` or
``float`` operand is *weak*: it takes the other operand's dtype (``int8 + 1 -> int8``,
``float16 * 0.5 -> float16``); two weak operands resolve with the precision of
``floatx()`` (``1 + 1.0 -> float32``). On TensorFlow 64-bit results stay 64-bit except
``uint64 -> uint32``. bfloat16 and the float8 types have no NumPy dtype and are refused.

``convert_to_tensor`` follows ``tf.convert_to_tensor``: Python ints become int32 (int64 when
they do not fit), Python floats float32, bools bool; NumPy arrays keep their dtype.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from rnnlens.backend import FLOATX

BOOL = ("bool",)
INTS = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOATS = ("float16", "float32", "float64")
COMPLEX = ("complex64", "complex128")
ALLOWED = BOOL + INTS + FLOATS + COMPLEX
UNSUPPORTED = ("bfloat16", "float8_e4m3fn", "float8_e5m2", "string")

_LATTICE = {
    "bool": ["int"], "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"],
    "uint32": ["int64", "uint64"], "uint64": ["float"], "int": ["uint8", "int8", "complex64"],
    "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["float16"], "float16": ["float32"], "float32": ["float64", "complex64"],
    "float64": ["complex128"], "complex64": ["complex128"], "complex128": [],
}
_TO_32 = {"uint64": "uint32", "complex128": "complex64"}


def _upper_bounds() -> dict[str, set[str]]:
    ub = {n: {n} for n in _LATTICE}
    changed = True
    while changed:
        changed = False
        for n in _LATTICE:
            new = set().union(*(set(_LATTICE[b]) for b in ub[n])) | ub[n]
            if new != ub[n]:
                ub[n], changed = new, True
    return ub


_UB = _upper_bounds()


def floatx() -> str:
    return FLOATX.dtype.name


def standardize_dtype(dtype: Any, op: str = "ops") -> str:
    """A dtype-like (``"float32"``, ``np.int8``, ``float``, a dtype object) as Keras's name."""
    if dtype is None:
        return floatx()
    if dtype is bool:
        return "bool"
    if dtype is int or dtype == "int":
        return "int64"
    if dtype is float:
        return "float32"
    if isinstance(dtype, str):
        name = dtype
    elif isinstance(dtype, type) and issubclass(dtype, np.generic) or isinstance(dtype, np.dtype):
        name = np.dtype(dtype).name
    else:
        name = getattr(dtype, "name", None) or str(dtype)
    if name in UNSUPPORTED:
        raise TypeError(f"{op}: dtype {name!r} has no NumPy equivalent; rnnlens supports "
                        f"{', '.join(ALLOWED)}.")
    if name not in ALLOWED:
        raise ValueError(f"{op}: invalid dtype {dtype!r}; expected one of "
                         f"{', '.join(ALLOWED)}.")
    return name


def is_weak(x: Any) -> bool:
    """A Python int or float (not bool): a weakly typed scalar."""
    return isinstance(x, (int, float)) and not isinstance(x, (bool, np.generic))


def dtype_of(x: Any) -> Any:
    """``x``'s dtype name, or the type ``int``/``float`` for a weak Python scalar."""
    if is_weak(x):
        return int if isinstance(x, int) else float
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, complex):
        return "complex128"
    return standardize_dtype(x.dtype)


@functools.lru_cache(512)
def _lub(*nodes: str) -> str:
    bounds = [_UB[n] for n in nodes]
    common = set.intersection(*bounds)
    least = (common & set(nodes)) or {c for c in common if common <= _UB[c]}
    if len(least) != 1:
        raise TypeError(f"dtypes {nodes} have no implicit promotion; cast them first.")
    return least.pop()


def _weak_name(d: str) -> str:
    if d == "bool":
        return d
    return "float" if "float" in d else ("int" if "int" in d else "complex64")


def _resolve(d: str, precision: str) -> str:
    if d == "int":
        return "int" + precision
    if d == "float":
        return "float" + precision
    return d


def result_type(*dtypes: Any) -> str:
    """Keras's ``result_type``: the promoted dtype of dtypes, weak ``int``/``float`` and
    ``None`` (= floatx). Raises TypeError for a pair with no promotion path."""
    if not dtypes:
        return floatx()
    pairs = []
    for d in dtypes:
        weak = d is int or d is float
        pairs.append((standardize_dtype(d if d is not None else floatx()), weak))
    names = [p[0] for p in pairs]
    weaks = [p[1] for p in pairs]
    if len(pairs) == 1:
        out, out_weak = names[0], weaks[0]
    elif len(set(names)) == 1 and not all(weaks):
        out, out_weak = names[0], False
    elif all(weaks):
        out, out_weak = _lub(*sorted(set(names))), True
    else:
        nodes = {_weak_name(n) if w else n for n, w in zip(names, weaks)}
        out = _lub(*sorted(nodes))
        out_weak = out in ("int", "float")
    if out_weak and out != "bool":
        out = _weak_name(out)
    out = _resolve(out, floatx()[-2:])
    return _TO_32.get(out, out)


def is_float(d: str) -> bool:
    return "float" in d


def is_int(d: str) -> bool:
    return "int" in d


def float_result(d: str) -> str:
    """The float dtype a transcendental op gives for input dtype ``d`` (TF backend)."""
    if "float" in d or "complex" in d:
        return d
    return floatx()
