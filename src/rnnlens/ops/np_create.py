"""Tensor creation: constants, ranges, grids and window functions.

Default dtypes (Keras 3.15.1, TensorFlow): ``ones``/``zeros``/``full``/``eye``/``tri``
give floatx (``full((2,), 3)`` is float32); ``*_like`` keep ``x``'s dtype; ``arange``
promotes its arguments with Python scalars weak (``arange(3)`` is int32, ``arange(3.0)``
float32); ``linspace`` promotes ``start``, ``stop`` and ``float`` (ints floor when an
int dtype is asked for).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens.ops._common import as_int, as_shape, to_dtype
from rnnlens.ops._dispatch import cast_array, convert, fail, keras_op
from rnnlens.ops._dtypes import dtype_of, floatx, result_type, standardize_dtype


def _dt(dtype: Any, op: str) -> str:
    return standardize_dtype(dtype, op) if dtype is not None else floatx()


@keras_op("zeros")
def zeros(shape: Any, dtype: Any = None) -> np.ndarray:
    return np.zeros(as_shape(shape, "zeros"), _dt(dtype, "zeros"))


@keras_op("ones")
def ones(shape: Any, dtype: Any = None) -> np.ndarray:
    return np.ones(as_shape(shape, "ones"), _dt(dtype, "ones"))


@keras_op("empty")
def empty(shape: Any, dtype: Any = None) -> np.ndarray:
    """Zeros (TensorFlow has no uninitialised tensors)."""
    return np.zeros(as_shape(shape, "empty"), _dt(dtype, "empty"))


@keras_op("full")
def full(shape: Any, fill_value: Any, dtype: Any = None) -> np.ndarray:
    """``shape`` filled with ``fill_value`` (broadcast) in ``dtype`` (default floatx)."""
    v = convert(fill_value, _dt(dtype, "full"), "full")
    shape = as_shape(shape, "full")
    try:
        return np.broadcast_to(v, shape).copy()
    except ValueError:
        raise fail("full", f"fill_value of shape {v.shape} cannot be broadcast to "
                   f"{shape}.") from None


def _like(x: np.ndarray, dtype: Any, op: str) -> str:
    return standardize_dtype(dtype, op) if dtype is not None else x.dtype.name


@keras_op("zeros_like", "x")
def zeros_like(x: np.ndarray, dtype: Any = None) -> np.ndarray:
    return np.zeros(x.shape, _like(x, dtype, "zeros_like"))


@keras_op("ones_like", "x")
def ones_like(x: np.ndarray, dtype: Any = None) -> np.ndarray:
    return np.ones(x.shape, _like(x, dtype, "ones_like"))


@keras_op("empty_like", "x")
def empty_like(x: np.ndarray, dtype: Any = None) -> np.ndarray:
    return np.zeros(x.shape, _like(x, dtype, "empty_like"))


@keras_op("full_like", "x")
def full_like(x: np.ndarray, fill_value: Any, dtype: Any = None) -> np.ndarray:
    v = convert(fill_value, _like(x, dtype, "full_like"), "full_like")
    try:
        return np.broadcast_to(v, x.shape).copy()
    except ValueError:
        raise fail("full_like", f"fill_value of shape {v.shape} cannot be broadcast to "
                   f"{x.shape}.") from None


@keras_op("array")
def array(x: Any, dtype: Any = None) -> np.ndarray:
    return convert(x, dtype, "array").copy()


@keras_op("eye")
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> np.ndarray:
    n = as_int(N, "N", "eye")
    m = n if M is None else as_int(M, "M", "eye")
    if n < 0 or m < 0:
        raise fail("eye", f"N={n} and M={m} must be non-negative.")
    return np.eye(n, m, as_int(k, "k", "eye"), dtype=_dt(dtype, "eye"))


@keras_op("identity")
def identity(n: int, dtype: Any = None) -> np.ndarray:
    return eye.__wrapped__(n, n, 0, dtype)


@keras_op("tri")
def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> np.ndarray:
    n = as_int(N, "N", "tri")
    m = n if M is None else as_int(M, "M", "tri")
    if n < 0 or m < 0:
        raise fail("tri", f"N={n} and M={m} must be non-negative.")
    return np.tri(n, m, as_int(k, "k", "tri"), dtype=_dt(dtype, "tri"))


_MAX_RANGE = 2 ** 31


@keras_op("arange")
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> np.ndarray:
    """``[start, stop)`` by ``step``; the dtype promotes the arguments (ints -> int32)."""
    args = [a for a in (start, stop, step) if a is not None]
    vals = [convert(a, op="arange") if not isinstance(a, (int, float)) else a for a in args]
    for v in vals:
        if isinstance(v, np.ndarray) and v.ndim:
            raise fail("arange", "start, stop and step must be scalars.")
    d = standardize_dtype(dtype, "arange") if dtype is not None else result_type(
        *[dtype_of(v) for v in vals])
    if np.dtype(d).kind in "iub" and any(isinstance(v, float) and dtype_of(v) is float
                                         for v in vals):
        raise TypeError(f"ops.arange: float arguments with dtype={d} (Keras on TensorFlow "
                        "refuses them); pass ints.")
    if d in ("uint8", "bool"):
        raise TypeError(f"ops.arange: TensorFlow's range has no {d} version; use int32 and "
                        "cast.")
    nums = [v.item() if isinstance(v, np.ndarray) else v for v in vals]
    lo, hi = (0, nums[0]) if stop is None else (nums[0], nums[1])
    st = nums[-1] if step is not None else 1
    if st == 0:
        raise fail("arange", "step must not be zero.")
    if (hi - lo) * st < 0:
        raise fail("arange", f"start={lo} cannot reach stop={hi} with step={st} "
                   "(TensorFlow refuses an empty range in the wrong direction).")
    n = math.ceil((hi - lo) / st) if all(map(math.isfinite, (lo, hi, st))) else -1
    if n > _MAX_RANGE or n == -1 and (hi - lo) / st > 0:
        raise fail("arange", f"the range ({lo}, {hi}, {st}) is too long or infinite.")
    with np.errstate(all="ignore"):
        if np.dtype(d).kind in "iub" and all(isinstance(v, int) for v in (lo, hi, st)):
            return np.arange(lo, hi, st).astype(d)
        comp = d if np.dtype(d).kind == "f" else "float32"
        return cast_array(np.arange(lo, hi, st, dtype="float64").astype(comp), d)


def _space(start: Any, stop: Any, num: Any, endpoint: bool, dtype: Any, axis: int,
           op: str) -> tuple[np.ndarray, np.ndarray, str]:
    num = as_int(num, "num", op)
    if num < 0:
        raise fail(op, f"num={num} must be a non-negative integer.")
    d = standardize_dtype(dtype, op) if dtype is not None else result_type(
        dtype_of(start), dtype_of(stop), float)
    comp = d if np.dtype(d).kind == "f" else result_type(d, float)
    a = to_dtype(start if not isinstance(start, list) else convert(start, op=op), comp)
    b = to_dtype(stop if not isinstance(stop, list) else convert(stop, op=op), comp)
    nd = np.broadcast_shapes(a.shape, b.shape)
    if not -len(nd) - 1 <= axis <= len(nd):
        raise fail(op, f"axis={axis} is out of range for {len(nd) + 1}-D output.")
    with np.errstate(all="ignore"):
        r, step = np.linspace(a, b, num, endpoint=endpoint, retstep=True, axis=axis,
                              dtype=comp)
    return r, np.asarray(step, comp), d


@keras_op("linspace")
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    r, step, d = _space(start, stop, num, endpoint, dtype, axis, "linspace")
    if "int" in d:
        r = np.floor(r)
    r = cast_array(r, d)
    return (r, step) if retstep else r


@keras_op("logspace")
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10,
             dtype: Any = None, axis: int = 0) -> np.ndarray:
    r, _, d = _space(start, stop, num, endpoint, dtype, axis, "logspace")
    if "int" in d:
        r = np.floor(r)
    r = cast_array(r, d)
    with np.errstate(all="ignore"):
        return cast_array(np.power(np.asarray(base).astype(d), r), d)


@keras_op("geomspace")
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
              dtype: Any = None, axis: int = 0) -> np.ndarray:
    d = _dt(dtype, "geomspace")
    a, b = convert(start, op="geomspace"), convert(stop, op="geomspace")
    with np.errstate(all="ignore"):
        la = np.log(np.abs(a).astype(d)) / np.log(np.asarray(10.0, d))
        lb = np.log(np.abs(b).astype(d)) / np.log(np.asarray(10.0, d))
    r = logspace.__wrapped__(la, lb, num, endpoint, 10, dtype, axis)
    return (r * np.sign(a.astype(d))).astype(r.dtype)


# ---------------------------------------------------------------------------- windows
def _window_len(x: Any, op: str) -> int:
    n = as_int(x.item() if isinstance(x, np.ndarray) else x, "x", op)
    if n < 0:
        raise fail(op, f"window length {n} must be non-negative.")
    return n


@keras_op("bartlett")
def bartlett(x: Any) -> np.ndarray:
    n = _window_len(x, "bartlett")
    return np.bartlett(n).astype(floatx())


@keras_op("blackman")
def blackman(x: Any) -> np.ndarray:
    n = _window_len(x, "blackman")
    return np.blackman(n).astype(floatx())


@keras_op("hamming")
def hamming(x: Any) -> np.ndarray:
    n = _window_len(x, "hamming")
    return np.hamming(n).astype("float32")


@keras_op("hanning")
def hanning(x: Any) -> np.ndarray:
    n = _window_len(x, "hanning")
    return np.hanning(n).astype("float32")


@keras_op("kaiser")
def kaiser(x: Any, beta: float) -> np.ndarray:
    n = _window_len(x, "kaiser")
    if n == 0:
        raise fail("kaiser", "window length 0 is not supported (TensorFlow fails too).")
    return np.kaiser(n, float(beta)).astype("float32")


@keras_op("meshgrid", "x*")
def meshgrid(*x: np.ndarray, indexing: str = "xy") -> list[np.ndarray]:
    if indexing not in ("xy", "ij"):
        raise fail("meshgrid", f"indexing={indexing!r}; expected 'xy' or 'ij'.")
    xs = [convert(a, op="meshgrid") for a in x]
    return [g.copy() for g in np.meshgrid(*xs, indexing=indexing)]


@keras_op("vander", "x")
def vander(x: np.ndarray, N: int | None = None, increasing: bool = False) -> np.ndarray:
    if x.ndim != 1:
        raise fail("vander", f"x must be 1-D, received shape {x.shape}.")
    n = x.shape[0] if N is None else as_int(N, "N", "vander")
    if n < 0:
        raise fail("vander", f"N={n} must be non-negative.")
    comp = result_type(x.dtype.name, "float32")
    p = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    with np.errstate(all="ignore"):
        return cast_array(np.power(x.astype(comp)[:, None], p.astype(comp)), x.dtype.name)
