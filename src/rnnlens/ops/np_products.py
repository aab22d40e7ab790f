"""Products and contractions: matmul, dot, einsum, tensordot, outer, kron, cross, ...

Keras (TensorFlow) computes integer products in floatx and casts back to the promoted
integer dtype (``int32 @ int32 -> int32``, exact below 2**24); ``int8 @ int8`` gives int32.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rnnlens.ops._common import as_int, check_broadcast, norm_axis, to_dtype
from rnnlens.ops._dispatch import cast_array, fail, keras_op
from rnnlens.ops._dtypes import result_type


def _compute(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Operands in ``result_type(.., float)`` and the integer/float result dtype."""
    rd = result_type(x1.dtype.name, x2.dtype.name)
    cd = result_type(rd, float)
    return cast_array(x1, cd), cast_array(x2, cd), rd


def _back(r: Any, rd: str) -> np.ndarray:
    return cast_array(np.asarray(r), rd)


@keras_op("matmul", "x1 x2")
def matmul(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Matrix product with batch broadcasting (NumPy ``@`` semantics)."""
    if x1.ndim == 0 or x2.ndim == 0:
        raise fail("matmul", "operands must be at least 1-D; use ops.multiply for scalars.")
    k1 = x1.shape[-1]
    k2 = x2.shape[-2] if x2.ndim > 1 else x2.shape[0]
    if k1 != k2:
        raise fail("matmul", f"inner dimensions differ: x1 {x1.shape} @ x2 {x2.shape}.")
    if x1.ndim > 2 or x2.ndim > 2:
        check_broadcast("matmul", x1.shape[:-2], x2.shape[:-2])
    if x1.dtype == np.int8 and x2.dtype == np.int8 and x1.ndim > 1 and x2.ndim > 1:
        return np.matmul(x1.astype("int32"), x2.astype("int32"))
    a, b, rd = _compute(x1, x2)
    return _back(np.matmul(a, b), rd)


@keras_op("dot", "x1 x2")
def dot(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """NumPy's ``dot``: sum over the last axis of x1 and the second-to-last of x2."""
    a, b, rd = _compute(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return _back(a * b, rd)
    kb = b.shape[-1] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != kb:
        raise fail("dot", f"shapes {x1.shape} and {x2.shape} are not aligned.")
    return _back(np.dot(a, b), rd)


@keras_op("vdot", "x1 x2")
def vdot(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    a, b, rd = _compute(x1, x2)
    if a.size != b.size:
        raise fail("vdot", f"sizes {a.size} and {b.size} differ.")
    return _back(np.vdot(a, b), rd)


@keras_op("inner", "x1 x2")
def inner(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    a, b, rd = _compute(x1, x2)
    if a.ndim and b.ndim and a.shape[-1] != b.shape[-1]:
        raise fail("inner", f"last dimensions differ: {x1.shape} and {x2.shape}.")
    return _back(np.inner(a, b), rd)


@keras_op("outer", "x1 x2")
def outer(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    d = result_type(x1.dtype.name, x2.dtype.name)
    with np.errstate(over="ignore"):
        return np.multiply.outer(to_dtype(x1, d).reshape(-1), to_dtype(x2, d).reshape(-1))


@keras_op("tensordot", "x1 x2")
def tensordot(x1: np.ndarray, x2: np.ndarray, axes: Any = 2) -> np.ndarray:
    rd = result_type(x1.dtype.name, x2.dtype.name)
    cd = rd if rd in ("int32", "int64", "float16", "float32", "float64", "complex64",
                      "complex128") else result_type(rd, float)
    a, b = cast_array(x1, cd), cast_array(x2, cd)
    try:
        with np.errstate(over="ignore"):
            r = np.tensordot(a, b, axes=axes)
    except (ValueError, IndexError, TypeError) as e:
        raise fail("tensordot", f"axes={axes!r} do not fit shapes {x1.shape} and "
                   f"{x2.shape} ({e}).") from None
    return _back(r, rd)


_EINSUM_OK = re.compile(r"^[a-zA-Z.,\->\s]*$")


@keras_op("einsum", "operands")
def einsum(subscripts: str, *operands: np.ndarray, **kwargs: Any) -> np.ndarray:
    """Einstein summation; ints compute in floatx and cast back (int8 -> int32)."""
    if not isinstance(subscripts, str) or not _EINSUM_OK.match(subscripts):
        raise fail("einsum", f"invalid subscripts {subscripts!r}.")
    if not operands:
        raise fail("einsum", "needs at least one operand.")
    if "..." in subscripts and "->" not in subscripts:
        raise fail("einsum", "subscripts with '...' need an explicit output ('->'), as on "
                   "TensorFlow.")
    dts = [o.dtype.name for o in operands]
    if all(d == "int8" for d in dts):
        rd = "int32"
    else:
        rd = result_type(*dts)
    cd = result_type(rd, float)
    ops_ = [cast_array(o, cd) for o in operands]
    try:
        r = np.einsum(subscripts, *ops_, **kwargs)
    except (ValueError, IndexError, TypeError) as e:
        raise fail("einsum", f"{subscripts!r} does not fit shapes "
                   f"{[o.shape for o in operands]} ({e}).") from None
    return _back(r, rd)


@keras_op("kron", "x1 x2")
def kron(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    d = result_type(x1.dtype.name, x2.dtype.name)
    with np.errstate(over="ignore"):
        return np.kron(to_dtype(x1, d), to_dtype(x2, d))


@keras_op("cross", "x1 x2")
def cross(x1: np.ndarray, x2: np.ndarray, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> np.ndarray:
    d = result_type(x1.dtype.name, x2.dtype.name)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = to_dtype(x1, d), to_dtype(x2, d)
    na = a.shape[norm_axis(axisa, a.ndim, "cross", "axisa")]
    nb = b.shape[norm_axis(axisb, b.ndim, "cross", "axisb")]
    if na not in (2, 3) or nb not in (2, 3):
        raise fail("cross", f"vectors must have 2 or 3 components, received {na} and {nb}.")
    with np.errstate(over="ignore"):
        return np.cross(a, b, axisa, axisb, axisc).astype(d)


@keras_op("correlate", "x1 x2")
def correlate(x1: np.ndarray, x2: np.ndarray, mode: str = "valid") -> np.ndarray:
    if mode not in ("valid", "same", "full"):
        raise fail("correlate", f"mode={mode!r}; expected 'valid', 'same' or 'full'.")
    if x1.ndim != 1 or x2.ndim != 1 or not x1.size or not x2.size:
        raise fail("correlate", "x1 and x2 must be non-empty 1-D tensors.")
    d = result_type(x1.dtype.name, x2.dtype.name)
    d = "float64" if d == "int64" else (d if d in ("float16", "float64") else "float32")
    return np.correlate(x1.astype(d), x2.astype(d), mode=mode).astype(d)


@keras_op("corrcoef", "x")
def corrcoef(x: np.ndarray) -> np.ndarray:
    from rnnlens.ops._dtypes import floatx

    d = floatx() if x.dtype.kind in "biu" and x.dtype.name != "int64" else x.dtype.name
    x = cast_array(x, d)
    if x.ndim == 0:
        return np.asarray(np.nan, floatx())
    with np.errstate(all="ignore"):
        c = x - x.mean(axis=-1, keepdims=True)
        cov = (c @ np.conj(c).swapaxes(-1, -2)) / x.dtype.type(x.shape[-1] - 1)
        sd = np.sqrt(np.real(np.diagonal(cov, axis1=-2, axis2=-1)))
        return np.clip(cov / np.multiply.outer(sd, sd), -1, 1).astype(d)


@keras_op("trapezoid", "y x")
def trapezoid(y: np.ndarray, x: Any = None, dx: float = 1.0, axis: int = -1) -> np.ndarray:
    d = result_type(y.dtype.name, float)
    yy = cast_array(y, d)
    a = norm_axis(axis, yy.ndim, "trapezoid")
    xx = None if x is None else cast_array(x, d)
    with np.errstate(all="ignore"):
        return np.asarray(np.trapezoid(yy, xx, dx=dx, axis=a) if hasattr(np, "trapezoid")
                          else np.trapz(yy, xx, dx=dx, axis=a)).astype(d)


@keras_op("clip", "x", weak=True)
def clip(x: Any, x_min: Any, x_max: Any) -> np.ndarray:
    """Values limited to ``[x_min, x_max]`` (TF order: ``max(min(x, hi), lo)``); bools
    become int32."""
    if not isinstance(x, np.ndarray):
        raise TypeError("ops.clip: x must be a tensor, not a Python scalar (Keras on "
                        "TensorFlow fails too); wrap it with ops.convert_to_tensor.")
    if x.dtype == bool:
        x = x.astype("int32")
    if x.dtype.kind in "iu" and any(isinstance(b, float) and not isinstance(b, np.generic)
                                    for b in (x_min, x_max)):
        raise TypeError(f"ops.clip: float bounds for a {x.dtype} tensor (TensorFlow refuses "
                        "them); pass int bounds or cast x.")
    lo, hi = np.asarray(x_min).astype(x.dtype), np.asarray(x_max).astype(x.dtype)
    return np.maximum(np.minimum(x, hi), lo).astype(x.dtype)   # TF: max(min(x, hi), lo)


@keras_op("trace", "x")
def trace(x: np.ndarray, offset: int = 0, axis1: int = 0, axis2: int = 1) -> np.ndarray:
    if x.ndim < 2:
        raise fail("trace", f"needs rank >= 2, received shape {x.shape}.")
    wide = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
            "uint16": "uint32"}.get(x.dtype.name, x.dtype.name)
    a1, a2 = norm_axis(axis1, x.ndim, "trace"), norm_axis(axis2, x.ndim, "trace")
    if a1 == a2:
        raise fail("trace", "axis1 and axis2 must differ.")
    return np.trace(x.astype(wide), as_int(offset, "offset", "trace"), a1, a2).astype(wide)


@keras_op("slogdet", "x")
def slogdet(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from rnnlens.ops.linalg import _square_float

    a = _square_float(x, "slogdet")
    s, ld = np.linalg.slogdet(a)
    return s.astype(a.dtype), ld.astype(a.dtype)
