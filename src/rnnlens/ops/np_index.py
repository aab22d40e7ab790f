"""Gathering, diagonals, triangles, searching and counting.

``take``/``take_along_axis`` accept negative indices (counted from the end); an index
outside ``[-n, n)`` raises a ValueError (TensorFlow's gather raises on CPU too).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.ops._common import as_int, norm_axis
from rnnlens.ops._dispatch import cast_array, convert, fail, keras_op
from rnnlens.ops._dtypes import floatx, result_type, standardize_dtype


def _indices(idx: np.ndarray, n: int, op: str) -> np.ndarray:
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and np.all(np.isfinite(idx)):
            idx = idx.astype("int64")
        else:
            raise TypeError(f"ops.{op}: indices must be integers, received {idx.dtype}.")
    idx = idx.astype("int64")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise fail(op, f"indices must lie in [-{n}, {n}), received values from "
                   f"{idx.min()} to {idx.max()}.")
    return np.where(idx < 0, idx + n, idx)


@keras_op("take", "x indices")
def take(x: np.ndarray, indices: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Elements of ``x`` at ``indices`` along ``axis`` (None: of the flattened x)."""
    if axis is None:
        x, axis = x.reshape(-1), 0
    a = norm_axis(axis, x.ndim, "take")
    out_shape = x.shape[:a] + indices.shape + x.shape[a + 1:]
    if not int(np.prod(out_shape)):    # nothing is gathered: TF checks no index
        return np.zeros(out_shape, x.dtype)
    return np.take(x, _indices(indices, x.shape[a], "take"), axis=a)


@keras_op("take_along_axis", "x indices")
def take_along_axis(x: np.ndarray, indices: np.ndarray, axis: int | None = None) -> np.ndarray:
    if axis is None:
        if indices.ndim != 1:
            raise fail("take_along_axis", f"indices must be 1-D when axis=None, received "
                       f"shape {indices.shape}.")
        x, axis = x.reshape(-1), 0
    a = norm_axis(axis, x.ndim, "take_along_axis")
    if indices.ndim != x.ndim:
        raise fail("take_along_axis", f"indices of rank {indices.ndim} for x of rank "
                   f"{x.ndim}; they must match.")
    idx = _indices(indices, x.shape[a], "take_along_axis")
    xs, ids = list(x.shape), list(idx.shape)
    xs[a] = ids[a] = 1
    try:
        b = np.broadcast_shapes(tuple(xs), tuple(ids))
    except ValueError:
        raise fail("take_along_axis", f"shapes {x.shape} and {indices.shape} do not "
                   "broadcast outside the axis.") from None
    xb = np.broadcast_to(x, b[:a] + (x.shape[a],) + b[a + 1:])
    ib = np.broadcast_to(idx, b[:a] + (idx.shape[a],) + b[a + 1:])
    return np.take_along_axis(xb, ib, axis=a)


@keras_op("diag", "x")
def diag(x: np.ndarray, k: int = 0) -> np.ndarray:
    if x.ndim not in (1, 2):
        raise fail("diag", f"x must be 1-D or 2-D, received shape {x.shape}.")
    k = as_int(k, "k", "diag")
    if x.ndim == 2:
        _check_offset(x.shape, k, "diag")
    return np.diag(x, k).copy()


def _check_offset(shape: tuple[int, ...], k: int, op: str) -> None:
    if k <= -shape[0] or k >= shape[1]:
        raise fail(op, f"diagonal offset {k} lies outside a {shape[0]}x{shape[1]} matrix.")


@keras_op("diagflat", "x")
def diagflat(x: np.ndarray, k: int = 0) -> np.ndarray:
    return np.diagflat(x, as_int(k, "k", "diagflat"))


@keras_op("diagonal", "x")
def diagonal(x: np.ndarray, offset: int = 0, axis1: int = 0, axis2: int = 1) -> np.ndarray:
    if x.ndim < 2:
        raise fail("diagonal", f"needs rank >= 2, received shape {x.shape}.")
    a1 = norm_axis(axis1, x.ndim, "diagonal", "axis1")
    a2 = norm_axis(axis2, x.ndim, "diagonal", "axis2")
    if a1 == a2:
        raise fail("diagonal", "axis1 and axis2 must differ.")
    k = as_int(offset, "offset", "diagonal")
    _check_offset((x.shape[a1], x.shape[a2]), k, "diagonal")
    return np.diagonal(x, k, a1, a2).copy()


def _tri(x: np.ndarray, k: Any, op: str, f: Callable) -> np.ndarray:
    if x.ndim < 2:
        raise fail(op, f"needs rank >= 2, received shape {x.shape}.")
    return f(x, as_int(k, "k", op))


@keras_op("tril", "x")
def tril(x: np.ndarray, k: int = 0) -> np.ndarray:
    """Lower triangle (``k > 0`` keeps k more diagonals); ``k`` beyond the columns raises
    (TensorFlow's band_part does)."""
    if x.ndim >= 2 and as_int(k, "k", "tril") > x.shape[-1]:
        raise fail("tril", f"k={k} exceeds the {x.shape[-1]} columns.")
    return _tri(x, k, "tril", np.tril)


@keras_op("triu", "x")
def triu(x: np.ndarray, k: int = 0) -> np.ndarray:
    if x.ndim >= 2 and -as_int(k, "k", "triu") > x.shape[-2]:
        raise fail("triu", f"k={k} lies below the {x.shape[-2]} rows.")
    return _tri(x, k, "triu", np.triu)


@keras_op("searchsorted", "sorted_sequence values")
def searchsorted(sorted_sequence: np.ndarray, values: np.ndarray,
                 side: str = "left") -> np.ndarray:
    if sorted_sequence.ndim != 1 or values.ndim != 1:
        raise fail("searchsorted", f"sorted_sequence and values must be 1-D (as TensorFlow), "
                   f"received shapes {sorted_sequence.shape} and {values.shape}.")
    if side not in ("left", "right"):
        raise fail("searchsorted", f"side={side!r}; expected 'left' or 'right'.")
    d = result_type(sorted_sequence.dtype.name, values.dtype.name)
    r = np.searchsorted(cast_array(sorted_sequence, d), cast_array(values, d), side=side)
    return np.asarray(r).astype("int32")


@keras_op("digitize", "x")
def digitize(x: np.ndarray, bins: Any) -> np.ndarray:
    b = np.asarray([float(v) for v in np.asarray(bins).reshape(-1)], "float64")
    if b.size > 1 and np.any(np.diff(b) < 0):
        raise fail("digitize", "bins must be sorted in increasing order.")
    xx = x.astype("float64") if x.dtype.kind != "c" else x
    return np.searchsorted(b, xx, side="right").astype("int32")


@keras_op("unravel_index", "indices")
def unravel_index(indices: np.ndarray, shape: Any) -> tuple[np.ndarray, ...]:
    dims = [as_int(d, "shape", "unravel_index") for d in shape]
    if any(d <= 0 for d in dims):
        raise fail("unravel_index", f"shape={tuple(dims)} must hold positive sizes.")
    if indices.dtype.kind not in "iu":
        raise TypeError("ops.unravel_index: indices must be integers.")
    coords, rest = [], indices
    for n in reversed(dims):
        coords.append((rest % n).astype(indices.dtype))
        rest = rest // n
    return tuple(reversed(coords))


@keras_op("isin", "x1 x2")
def isin(x1: np.ndarray, x2: np.ndarray, assume_unique: bool = False,
         invert: bool = False) -> np.ndarray:
    d = result_type(x1.dtype.name, x2.dtype.name)
    return np.isin(cast_array(x1, d), cast_array(x2, d), invert=invert)


@keras_op("bincount", "x weights")
def bincount(x: np.ndarray, weights: Any = None, minlength: int = 0,
             sparse: bool = False) -> np.ndarray:
    """Counts of each non-negative int in 1-D ``x`` (or each row of 2-D ``x``)."""
    if sparse:
        raise fail("bincount", "sparse=True is not supported; rnnlens tensors are dense.")
    if x.dtype.kind not in "biu":
        raise TypeError(f"ops.bincount: x must hold integers, received {x.dtype}.")
    if x.ndim not in (1, 2) or (x.size and x.min() < 0):
        raise fail("bincount", "x must be a 1-D or 2-D tensor of non-negative integers.")
    minlength = as_int(minlength, "minlength", "bincount")
    d = "int32" if weights is None else result_type(x.dtype.name, weights.dtype.name)
    if weights is not None and weights.shape != x.shape:
        raise fail("bincount", f"weights of shape {weights.shape} must match x {x.shape}.")
    n = max(minlength, int(x.max()) + 1 if x.size else 0)
    rows = x.reshape(1, -1) if x.ndim == 1 else x
    w = None if weights is None else weights.reshape(rows.shape).astype("float64")
    out = np.stack([np.bincount(r.astype("int64"), None if w is None else w[i], n)
                    for i, r in enumerate(rows)]) if rows.shape[0] else np.zeros((0, n))
    out = cast_array(out, d)
    return out[0] if x.ndim == 1 else out


@keras_op("histogram", "x")
def histogram(x: np.ndarray, bins: int = 10, range: Any = None) -> tuple[np.ndarray, ...]:  # noqa: A002
    """Counts and edges of ``bins`` equal bins over ``range`` (default: min..max)."""
    if x.ndim != 1:
        raise fail("histogram", f"x must be 1-D, received shape {x.shape}.")
    bins = as_int(bins, "bins", "histogram")
    if bins <= 0:
        raise fail("histogram", f"bins={bins} must be positive.")
    if range is not None and (len(range) != 2 or range[0] > range[1]):
        raise fail("histogram", f"range={range!r} must be (min, max) with min <= max.")
    if range is None and not x.size:
        raise fail("histogram", "an empty x needs an explicit range.")
    lo, hi = (x.min(), x.max()) if range is None else range
    counts, edges = np.histogram(x, bins=bins, range=(float(lo), float(hi)))
    d = x.dtype.name
    return counts.astype(d), edges.astype(d)


@keras_op("unique", "x")
def unique(x: np.ndarray, sorted: bool = True, return_index: bool = False,  # noqa: A002
           return_inverse: bool = False, return_counts: bool = False, axis: Any = None,
           size: int | None = None, fill_value: Any = None) -> Any:
    """Unique elements (or slices along ``axis``), sorted; optionally padded to ``size``."""
    a = None if axis is None else norm_axis(axis, x.ndim, "unique")
    u, idx, inv, cnt = np.unique(x, return_index=True, return_inverse=True,
                                 return_counts=True, axis=a)
    if not sorted:
        order = np.argsort(idx, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        u, idx, cnt, inv = np.take(u, order, axis=a or 0), idx[order], cnt[order], rank[inv]
    if size is not None:
        size = as_int(size, "size", "unique")
        n = u.shape[a or 0]
        if n < size:
            fv = (np.take(u, [0], axis=a or 0) if fill_value is None and n else
                  np.full((1,), 0 if fill_value is None else fill_value, x.dtype))
            pad = np.repeat(fv.reshape((1,) if a is None else fv.shape), size - n,
                            axis=a or 0)
            u = np.concatenate([u, pad.astype(x.dtype)], axis=a or 0)
            idx = np.concatenate([idx, np.zeros(size - n, idx.dtype)])
            cnt = np.concatenate([cnt, np.zeros(size - n, cnt.dtype)])
        else:
            u, idx, cnt = np.take(u, range(size), axis=a or 0), idx[:size], cnt[:size]
    out = [u]
    if return_index:
        out.append(idx.astype("int32"))
    if return_inverse:
        out.append(inv.reshape(x.shape if a is None else -1).astype("int32"))
    if return_counts:
        out.append(cnt.astype("int32"))
    return out[0] if len(out) == 1 else tuple(out)


@keras_op("view", "x")
def view(x: np.ndarray, dtype: Any = None) -> np.ndarray:
    """The bytes of ``x`` reinterpreted as ``dtype`` (the last axis rescales)."""
    d = np.dtype(standardize_dtype(dtype, "view") if dtype is not None else x.dtype)
    if x.ndim == 0 and d.itemsize != x.dtype.itemsize:
        raise fail("view", "a 0-d tensor can only be viewed as a dtype of the same size.")
    if x.ndim and (x.shape[-1] * x.dtype.itemsize) % d.itemsize:
        raise fail("view", f"cannot view shape {x.shape} of {x.dtype} as {d}: the bytes "
                   "of the last axis do not divide by the new item size.")
    return np.ascontiguousarray(x).view(d).copy()


@keras_op("vectorize")
def vectorize(pyfunc: Callable, *, excluded: Any = None, signature: str | None = None):
    """``np.vectorize`` whose outputs are rnnlens tensors (NumPy arrays)."""
    vf = np.vectorize(pyfunc, excluded=excluded or set(), signature=signature)

    def call(*args: Any, **kwargs: Any) -> Any:
        return vf(*[convert(a, op="vectorize") if not callable(a) else a for a in args],
                  **kwargs)

    return call


__all__ = ["take", "take_along_axis", "diag", "diagflat", "diagonal", "tril", "triu",
           "searchsorted", "digitize", "unravel_index", "isin", "bincount", "histogram",
           "unique", "view", "vectorize", "floatx"]
