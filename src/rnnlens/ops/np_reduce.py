"""Reductions, cumulative ops, sorting and order statistics.

Dtypes (Keras 3.15.1, TensorFlow): ``sum``/``prod``/``trace`` widen bool, int8 and int16
to int32 and uint8/uint16 to uint32; ``std``/``var``/``median``/``quantile`` give floatx
for ints and bools (``mean`` float32) and keep float dtypes; ``max``/``min`` keep the dtype;
``argmax``/``argmin``/``argsort``/``count_nonzero`` give int32; ``cumsum``/``cumprod``
keep the dtype (bool -> int32). ``max``/``min``/``argmax``/``argmin`` of an empty tensor
raise (TensorFlow asserts), ``mean`` of one is NaN.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rnnlens.ops._common import as_int, keep_dims, norm_axes, norm_axis, weak_float
from rnnlens.ops._dispatch import cast_array, convert, fail, keras_op
from rnnlens.ops._dtypes import floatx, result_type, standardize_dtype

_WIDE = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
         "uint16": "uint32"}


def _widen(x: np.ndarray) -> np.ndarray:
    d = _WIDE.get(x.dtype.name)
    return x if d is None else x.astype(d)


def _nonempty(x: np.ndarray, op: str) -> None:
    if x.size == 0:
        raise fail(op, f"cannot compute the {op} of an empty tensor (shape {x.shape}).")


@keras_op("sum", "x")
def sum(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:  # noqa: A001
    """Sum over ``axis`` (None: all); small ints and bools accumulate in (u)int32."""
    ax = norm_axes(axis, x.ndim, "sum")
    x = _widen(x)
    acc = "float32" if x.dtype == np.float16 else x.dtype   # TF accumulates half in float
    return np.sum(x, axis=ax, keepdims=keepdims, dtype=acc).astype(x.dtype)


@keras_op("prod", "x")
def prod(x: np.ndarray, axis: Any = None, keepdims: bool = False,
         dtype: Any = None) -> np.ndarray:
    ax = norm_axes(axis, x.ndim, "prod")
    x = _widen(x) if dtype is None else cast_array(x, standardize_dtype(dtype, "prod"))
    acc = "float32" if x.dtype == np.float16 else x.dtype
    with np.errstate(over="ignore"):
        return np.prod(x, axis=ax, keepdims=keepdims, dtype=acc).astype(x.dtype)


@keras_op("mean", "x")
def mean(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """Mean; ints and bools give float32 (whatever floatx is, as Keras), float16 computes
    in float32 and casts back."""
    ax = norm_axes(axis, x.ndim, "mean")
    comp = result_type(x.dtype.name, "float32")   # ints -> float32 even under float64 floatx
    out_d = comp if x.dtype.kind in "biu" else x.dtype.name
    with np.errstate(all="ignore"):
        r = np.mean(cast_array(x, comp), axis=ax, keepdims=keepdims)
    return cast_array(np.asarray(r), out_d)


def _extreme(x: np.ndarray, axis: Any, keepdims: bool, initial: Any, op: str,
             big: bool) -> np.ndarray:
    ax = norm_axes(axis, x.ndim, op)
    f = np.max if big else np.min
    if initial is not None:
        if x.dtype == bool:
            r = (np.any if big else np.all)(x, axis=ax, keepdims=keepdims).astype("int32")
            g = np.maximum if big else np.minimum
            return g(r, int(initial)).astype(bool)
        if x.size == 0:
            shape = keep_dims(np.zeros(()), x, ax).shape if keepdims else tuple(
                n for i, n in enumerate(x.shape) if ax is not None and i not in ax)
            return np.full(shape, initial, x.dtype)
        r = f(x, axis=ax, keepdims=keepdims)
        return (np.maximum if big else np.minimum)(r, np.asarray(initial).astype(x.dtype))
    _nonempty(x, op)
    if x.dtype == bool:
        return (np.any if big else np.all)(x, axis=ax, keepdims=keepdims)
    return f(x, axis=ax, keepdims=keepdims)


@keras_op("max", "x")
def max(x: np.ndarray, axis: Any = None, keepdims: bool = False,  # noqa: A001
        initial: Any = None) -> np.ndarray:
    """Largest element over ``axis``; dtype kept; an empty tensor needs ``initial``."""
    return _extreme(x, axis, keepdims, initial, "max", True)


@keras_op("min", "x")
def min(x: np.ndarray, axis: Any = None, keepdims: bool = False,  # noqa: A001
        initial: Any = None) -> np.ndarray:
    return _extreme(x, axis, keepdims, initial, "min", False)


@keras_op("amax", "x")
def amax(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _extreme(x, axis, keepdims, None, "amax", True)


@keras_op("amin", "x")
def amin(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _extreme(x, axis, keepdims, None, "amin", False)


@keras_op("all", "x")
def all(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:  # noqa: A001
    return np.all(x.astype(bool), axis=norm_axes(axis, x.ndim, "all"), keepdims=keepdims)


@keras_op("any", "x")
def any(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:  # noqa: A001
    return np.any(x.astype(bool), axis=norm_axes(axis, x.ndim, "any"), keepdims=keepdims)


def _moment(x: np.ndarray, axis: Any, keepdims: bool, op: str, sqrt: bool) -> np.ndarray:
    ax = norm_axes(axis, x.ndim, op)
    out_d = result_type(x.dtype.name, float)
    comp = result_type(x.dtype.name, "float32")
    with np.errstate(all="ignore"):
        xc = cast_array(x, comp)
        if xc.dtype.kind == "c":
            m = np.mean(xc, axis=ax, keepdims=True)
            r = np.mean(np.abs(xc - m) ** 2, axis=ax, keepdims=keepdims)
        else:
            r = np.var(xc, axis=ax, keepdims=keepdims)
        r = np.sqrt(r) if sqrt else r
    return cast_array(np.asarray(r), out_d)


@keras_op("var", "x")
def var(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """Population variance ``mean((x - mean(x))**2)``; ints give floatx."""
    return _moment(x, axis, keepdims, "var", False)


@keras_op("std", "x")
def std(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """Population standard deviation ``sqrt(var(x))``; ints give floatx."""
    return _moment(x, axis, keepdims, "std", True)


@keras_op("average", "x weights")
def average(x: np.ndarray, axis: Any = None, weights: Any = None) -> np.ndarray:
    """``sum(x * w) / sum(w)`` over ``axis``; 1-D weights along ``axis`` or x's shape."""
    if weights is None:
        return np.asarray(np.mean(weak_float(x), axis=norm_axes(axis, x.ndim, "average")))
    d = result_type(x.dtype.name, weights.dtype.name, float)
    x, w = cast_array(x, d), cast_array(weights, d)
    if axis is None or x.ndim == w.ndim:
        if x.shape != w.shape:
            raise fail("average", f"weights of shape {w.shape} do not match x of shape "
                       f"{x.shape}.")
        ax = norm_axes(axis, x.ndim, "average")
        with np.errstate(all="ignore"):
            return (np.sum(x * w, axis=ax) / np.sum(w, axis=ax)).astype(d)
    a = norm_axis(axis, x.ndim, "average")
    if w.ndim != 1 or w.shape[0] != x.shape[a]:
        raise fail("average", f"1-D weights must have length x.shape[{a}]={x.shape[a]}, "
                   f"received shape {w.shape}.")
    with np.errstate(all="ignore"):
        return (np.tensordot(x, w, axes=([a], [0])) / np.sum(w)).astype(d)


@keras_op("count_nonzero", "x")
def count_nonzero(x: np.ndarray, axis: Any = None) -> np.ndarray:
    ax = norm_axes(axis, x.ndim, "count_nonzero")
    return np.count_nonzero(x, axis=ax).astype("int32") if ax != () else (x != 0).astype(
        "int32")


@keras_op("ptp", "x")
def ptp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """``max - min`` over ``axis`` (empty: ``lowest - highest``, as TensorFlow)."""
    if x.dtype == bool:
        raise TypeError("ops.ptp: TensorFlow cannot subtract bool tensors; cast first.")
    ax = norm_axes(axis, x.ndim, "ptp")
    lo, hi = _limits(x.dtype)
    with np.errstate(over="ignore"):
        return np.subtract(np.max(x, axis=ax, keepdims=keepdims, initial=lo),
                           np.min(x, axis=ax, keepdims=keepdims, initial=hi))


def _limits(d: np.dtype) -> tuple[Any, Any]:
    if d.kind == "f":
        return d.type(-np.inf), d.type(np.inf)
    info = np.iinfo(d)
    return d.type(info.min), d.type(info.max)


# ---------------------------------------------------------------------------- order statistics
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x: np.ndarray, q: Any, axis: Any, method: str, keepdims: bool,
              op: str) -> np.ndarray:
    if method not in _METHODS:
        raise fail(op, f"method={method!r}; expected one of {_METHODS}.")
    qa = convert(q, op=op).astype("float64")
    if np.any((qa < 0) | (qa > 1)) or np.any(np.isnan(qa)):
        raise fail(op, "quantiles must lie in [0, 1] (percentiles in [0, 100]).")
    ax = norm_axes(axis, x.ndim, op)
    d = result_type(x.dtype.name, float)
    xc = cast_array(x, d)
    if xc.size == 0:
        out = np.sum(xc, axis=ax, keepdims=keepdims)
        if out.size:
            raise fail(op, "cannot take a quantile over an empty axis.")
        return np.zeros(qa.shape + out.shape, d)
    with np.errstate(all="ignore"):
        r = np.quantile(xc.astype("float64"), qa, axis=ax, method=method,
                        keepdims=keepdims)
    if np.isnan(xc).any():
        nan = np.isnan(xc).any(axis=ax, keepdims=keepdims)
        r = np.where(nan, np.nan, r)
    return cast_array(np.asarray(r), d)


@keras_op("quantile", "x")
def quantile(x: np.ndarray, q: Any, axis: Any = None, method: str = "linear",
             keepdims: bool = False) -> np.ndarray:
    """The ``q``-th quantile(s) over ``axis``; q in [0, 1]; a q axis leads the result."""
    return _quantile(x, q, axis, method, keepdims, "quantile")


@keras_op("percentile", "x")
def percentile(x: np.ndarray, q: Any, axis: Any = None, method: str = "linear",
               keepdims: bool = False) -> np.ndarray:
    qa = convert(q, op="percentile").astype(floatx()) / np.asarray(100.0, floatx())
    return _quantile(x, qa, axis, method, keepdims, "percentile")


@keras_op("median", "x")
def median(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _quantile(x, 0.5, axis, "linear", keepdims, "median")


# ---------------------------------------------------------------------------- NaN-aware
def _nan_clean(x: np.ndarray, fill: float) -> np.ndarray:
    return np.where(np.isnan(x), x.dtype.type(fill), x) if x.dtype.kind in "fc" else x


@keras_op("nansum", "x")
def nansum(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return sum.__wrapped__(_nan_clean(x, 0), axis, keepdims)


@keras_op("nanprod", "x")
def nanprod(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return prod.__wrapped__(_nan_clean(x, 1), axis, keepdims)


@keras_op("nanmean", "x")
def nanmean(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    if axis == () or axis == []:
        return x.copy()
    if x.dtype.kind not in "fc":
        ax = norm_axes(axis, x.ndim, "nanmean")
        with np.errstate(all="ignore"):
            return np.mean(x.astype("float32"), axis=ax, keepdims=keepdims)
    ax = norm_axes(axis, x.ndim, "nanmean")
    with np.errstate(all="ignore"):
        s = np.sum(_nan_clean(x, 0), axis=ax, keepdims=keepdims)
        n = np.sum(~np.isnan(x), axis=ax, keepdims=keepdims).astype(x.dtype)
        return (s / n).astype(x.dtype)


def _nan_ext(x: np.ndarray, axis: Any, keepdims: bool, op: str, big: bool) -> np.ndarray:
    ax = norm_axes(axis, x.ndim, op)
    if x.dtype.kind not in "fc":
        return _extreme(x, axis, keepdims, None, op, big)
    clean = _nan_clean(x, -np.inf if big else np.inf)
    r = (np.max if big else np.min)(clean, axis=ax, keepdims=keepdims,
                                    initial=-np.inf if big else np.inf)
    return np.where(np.all(np.isnan(x), axis=ax, keepdims=keepdims), x.dtype.type(np.nan), r)


@keras_op("nanmax", "x")
def nanmax(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _nan_ext(x, axis, keepdims, "nanmax", True)


@keras_op("nanmin", "x")
def nanmin(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _nan_ext(x, axis, keepdims, "nanmin", False)


@keras_op("nanvar", "x")
def nanvar(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    d = result_type(x.dtype.name, float)
    xc = cast_array(x, d)
    ax = norm_axes(axis, x.ndim, "nanvar")
    with np.errstate(all="ignore"):
        m = np.nansum(xc, axis=ax, keepdims=True) / np.sum(~np.isnan(xc), axis=ax,
                                                            keepdims=True)
        c = np.where(np.isnan(xc), 0, xc - m)
        n = np.sum(~np.isnan(xc), axis=ax, keepdims=keepdims)
        return (np.sum(c * c, axis=ax, keepdims=keepdims) / n).astype(d)


@keras_op("nanstd", "x")
def nanstd(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.sqrt(nanvar.__wrapped__(x, axis, keepdims))


@keras_op("nanmedian", "x")
def nanmedian(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _nanquantile(x, 0.5, axis, "linear", keepdims, "nanmedian")


def _nanquantile(x: np.ndarray, q: Any, axis: Any, method: str, keepdims: bool,
                 op: str) -> np.ndarray:
    if method not in _METHODS:
        raise fail(op, f"method={method!r}; expected one of {_METHODS}.")
    if x.dtype.kind != "f" and axis is not None:
        raise TypeError(f"ops.{op}: TensorFlow's {op} along an axis needs a float tensor, "
                        f"received {x.dtype}; cast it first.")
    d = result_type(x.dtype.name, float)
    qa = convert(q, op=op).astype("float64")
    ax = norm_axes(axis, x.ndim, op)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = np.nanquantile(cast_array(x, d).astype("float64"), qa, axis=ax, method=method,
                           keepdims=keepdims)
    return cast_array(np.asarray(r), d)


@keras_op("nanquantile", "x")
def nanquantile(x: np.ndarray, q: Any, axis: Any = None, method: str = "linear",
                keepdims: bool = False) -> np.ndarray:
    return _nanquantile(x, q, axis, method, keepdims, "nanquantile")


@keras_op("nanpercentile", "x")
def nanpercentile(x: np.ndarray, q: Any, axis: Any = None, method: str = "linear",
                  keepdims: bool = False) -> np.ndarray:
    qa = convert(q, op="nanpercentile").astype(floatx()) / np.asarray(100.0, floatx())
    return _nanquantile(x, qa, axis, method, keepdims, "nanpercentile")


# ---------------------------------------------------------------------------- cumulative
def _cum(x: np.ndarray, axis: Any, dtype: Any, op: str, f: Any) -> np.ndarray:
    if dtype is not None:
        x = cast_array(x, standardize_dtype(dtype, op))
    if x.dtype == bool:
        x = x.astype("int32")
    if axis is None:
        return f(x.reshape(-1), axis=0, dtype=x.dtype)
    with np.errstate(over="ignore"):
        return f(x, axis=norm_axis(axis, x.ndim, op), dtype=x.dtype)


@keras_op("cumsum", "x")
def cumsum(x: np.ndarray, axis: Any = None, dtype: Any = None) -> np.ndarray:
    """Running sum along ``axis`` (None: flattened); dtype kept, bool -> int32."""
    return _cum(x, axis, dtype, "cumsum", np.cumsum)


@keras_op("cumprod", "x")
def cumprod(x: np.ndarray, axis: Any = None, dtype: Any = None) -> np.ndarray:
    return _cum(x, axis, dtype, "cumprod", np.cumprod)


@keras_op("nancumsum", "x")
def nancumsum(x: np.ndarray, axis: Any = None, dtype: Any = None) -> np.ndarray:
    return _cum(_nan_num(x), axis, dtype, "nancumsum", np.cumsum)


@keras_op("nancumprod", "x")
def nancumprod(x: np.ndarray, axis: Any = None, dtype: Any = None) -> np.ndarray:
    return _cum(_nan_clean(x, 1), axis, dtype, "nancumprod", np.cumprod)


def _nan_num(x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(x) if x.dtype.kind in "fc" else x


# ---------------------------------------------------------------------------- arg / sort
def _argext(x: np.ndarray, axis: Any, keepdims: bool, op: str, big: bool) -> np.ndarray:
    if axis is None or x.ndim == 0:
        _nonempty(x, op)
    elif x.size == 0:
        a = norm_axis(axis, x.ndim, op)
        shape = list(x.shape)
        if keepdims:
            shape[a] = 1
        else:
            del shape[a]
        if x.shape[a] == 0:
            raise fail(op, f"cannot take the {op} over an empty axis (shape {x.shape}).")
        return np.zeros(shape, "int32")
    f = np.argmax if big else np.argmin
    if x.dtype.kind == "f" and x.ndim:
        x = np.where((x == 0) & np.signbit(x), -np.finfo(x.dtype).tiny, x).astype(x.dtype)
        x = np.where(np.isnan(x), -np.inf if big else np.inf, x).astype(x.dtype)
    if axis is None:
        r = f(x.reshape(-1))
        return r.reshape([1] * x.ndim).astype("int32") if keepdims else r.astype("int32")
    a = norm_axis(axis, x.ndim, op)
    return f(x, axis=a, keepdims=keepdims).astype("int32")


@keras_op("argmax", "x")
def argmax(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """Index of the first largest element (int32); None: of the flattened tensor."""
    return _argext(x, axis, keepdims, "argmax", True)


@keras_op("argmin", "x")
def argmin(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _argext(x, axis, keepdims, "argmin", False)


def _nanarg(x: np.ndarray, axis: Any, keepdims: bool, op: str, big: bool) -> np.ndarray:
    if x.dtype.kind != "f":
        return _argext(x, axis, keepdims, op, big)
    nan = np.isnan(x)
    r = _argext(np.where(nan, -np.inf if big else np.inf, x).astype(x.dtype), axis,
                keepdims, op, big)
    ax = None if axis is None else (norm_axis(axis, x.ndim, op),)
    return np.where(np.all(nan, axis=ax, keepdims=keepdims), -1, r).astype("int32")


@keras_op("nanargmax", "x")
def nanargmax(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _nanarg(x, axis, keepdims, "nanargmax", True)


@keras_op("nanargmin", "x")
def nanargmin(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return _nanarg(x, axis, keepdims, "nanargmin", False)


@keras_op("argsort", "x")
def argsort(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    """Stable ascending order indices (int32); a 0-d tensor gives ``[0]``."""
    if x.ndim == 0:
        return np.zeros((1,), "int32")
    if axis is None:
        x, axis = x.reshape(-1), 0
    a = norm_axis(axis, x.ndim, "argsort")
    return np.argsort(x, axis=a, kind="stable").astype("int32")


@keras_op("sort", "x")
def sort(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.ndim == 0:
        raise fail("sort", "cannot sort a 0-d tensor; reshape it to 1-D first.")
    return np.sort(x, axis=norm_axis(axis, x.ndim, "sort"))


@keras_op("argpartition", "x")
def argpartition(x: np.ndarray, kth: Any, axis: Any = -1) -> np.ndarray:
    """Indices that partition ``x`` around its ``kth`` smallest element along ``axis``:
    the ``kth + 1`` smallest (stable order) first, then the rest from largest down, which is
    Keras's (TensorFlow) order for positive ints. Unlike Keras, floats are not cast to
    int32 and negative values do not produce repeated indices."""
    if axis is None:
        x, axis = x.reshape(-1), 0
    a = norm_axis(axis, x.ndim, "argpartition")
    k = as_int(kth, "kth", "argpartition")
    xs = np.moveaxis(x, a, -1)
    n = xs.shape[-1]
    k = int(np.clip(k, 0, n - 1)) if n else 0
    order = np.argsort(xs, axis=-1, kind="stable")
    bottom, rest = order[..., :k + 1], np.sort(order[..., k + 1:], axis=-1)
    vals = np.take_along_axis(xs, rest, -1)
    desc = np.argsort(-vals.astype("float64"), axis=-1, kind="stable")
    top = np.take_along_axis(rest, desc, -1)
    return np.moveaxis(np.concatenate([bottom, top], -1), -1, a).astype("int32")


__all__ = ["sum", "prod", "mean", "max", "min", "amax", "amin", "all", "any", "var", "std",
           "average", "count_nonzero", "ptp", "quantile", "percentile", "median", "nansum",
           "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd", "nanmedian",
           "nanquantile", "nanpercentile", "cumsum", "cumprod", "nancumsum", "nancumprod",
           "argmax", "argmin", "nanargmax", "nanargmin", "argsort", "sort", "argpartition"]
