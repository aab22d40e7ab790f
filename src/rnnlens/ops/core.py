"""``keras.ops`` core: conversion, casting, shapes, slicing and scatter, and eager control
flow (``cond``, ``while_loop``, ``fori_loop``, ``scan``, ``map``, ``switch``, ...).

rnnlens tensors are NumPy arrays: ``convert_to_tensor`` infers dtypes as TensorFlow does
(Python ints -> int32, floats -> float32), ``is_tensor`` is true for ``np.ndarray``.
Control flow runs eagerly in Python; the callables receive and return rnnlens tensors.
Nested structures (lists, tuples, dicts) are supported where Keras supports them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.ops._common import as_int, norm_axis
from rnnlens.ops._dispatch import cast_array, convert, fail, keras_op, to_array
from rnnlens.ops._dtypes import standardize_dtype


# ---------------------------------------------------------------------------- trees
def _flatten(t: Any) -> list[Any]:
    if isinstance(t, (list, tuple)):
        return [v for item in t for v in _flatten(item)]
    if isinstance(t, dict):
        return [v for k in sorted(t) for v in _flatten(t[k])]
    return [t]


def _pack(like: Any, flat: list[Any]) -> Any:
    it = iter(flat)

    def build(t: Any) -> Any:
        if isinstance(t, (list, tuple)):
            items = [build(v) for v in t]
            return type(t)(items) if not hasattr(t, "_fields") else type(t)(*items)
        if isinstance(t, dict):
            return {k: build(t[k]) for k in sorted(t)}
        return next(it)

    return build(like)


def _is_nested(t: Any) -> bool:
    return isinstance(t, (list, tuple, dict))


def _tensors(t: Any, op: str) -> Any:
    """Every leaf of ``t`` as an array (loop variables, carries), as TF's loops do."""
    return _pack(t, [to_array(v, op) for v in _flatten(t)])


# ---------------------------------------------------------------------------- conversion
@keras_op("convert_to_tensor")
def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None,
                      ragged: Any = None) -> np.ndarray:
    """``x`` as an rnnlens tensor (NumPy array) with TensorFlow's dtype inference."""
    if sparse or ragged:
        raise fail("convert_to_tensor", "sparse and ragged tensors are not supported.")
    return convert(x, dtype, "convert_to_tensor")


@keras_op("convert_to_numpy")
def convert_to_numpy(x: Any) -> np.ndarray:
    """``np.array(x)``, as Keras on TensorFlow: Python values keep NumPy's dtypes
    (``convert_to_numpy(1)`` is int64, unlike ``convert_to_tensor(1)``)."""
    if hasattr(x, "numpy") and not isinstance(x, (np.ndarray, np.generic)):
        x = x.numpy()
    return np.array(x)


@keras_op("is_tensor")
def is_tensor(x: Any) -> bool:
    return isinstance(x, np.ndarray)


@keras_op("shape", "x")
def shape(x: np.ndarray) -> tuple[int, ...]:
    return tuple(int(d) for d in x.shape)


@keras_op("dtype", "x")
def dtype(x: np.ndarray) -> str:
    return standardize_dtype(x.dtype, "dtype")


@keras_op("cast", "x")
def cast(x: np.ndarray, dtype: Any) -> np.ndarray:
    """``x`` in ``dtype`` (floats truncate towards zero into ints, as ``tf.cast``)."""
    return cast_array(x, standardize_dtype(dtype, "cast"))


@keras_op("saturate_cast", "x")
def saturate_cast(x: np.ndarray, dtype: Any) -> np.ndarray:
    """``cast`` after clipping to the range of ``dtype`` (no wrap-around)."""
    d = np.dtype(standardize_dtype(dtype, "saturate_cast"))
    if d.kind in "iu" and x.dtype.kind in "biuf":
        info = np.iinfo(d)
        if x.dtype.kind == "f":
            lo, hi = max(float(info.min), -np.inf), float(info.max)
            y = np.clip(x.astype("float64"), lo, hi)
            y = np.where(y >= 2.0 ** (8 * d.itemsize - (d.kind == "i")), info.max, y)
            return cast_array(np.nan_to_num(y, nan=0.0), d.name)
        return np.clip(x.astype("int64") if x.dtype != np.uint64 else x, info.min,
                       info.max).astype(d)
    if d.kind == "b":
        return cast_array(np.clip(x, 0, 1) if x.dtype.kind in "iuf" else x, "bool")
    if d.kind == "f" and x.dtype.kind in "iuf":
        info = np.finfo(d)
        return cast_array(np.clip(x.astype("float64"), info.min, info.max), d.name)
    return cast_array(x, d.name)


@keras_op("stop_gradient", "variable")
def stop_gradient(variable: np.ndarray) -> np.ndarray:
    """Identity; under a gradient tape the result is a constant (no gradient flows)."""
    return variable


@keras_op("unstack", "x")
def unstack(x: np.ndarray, num: int | None = None, axis: int = 0) -> list[np.ndarray]:
    a = norm_axis(axis, x.ndim, "unstack")
    if num is not None and as_int(num, "num", "unstack") != x.shape[a]:
        raise fail("unstack", f"num={num} differs from the axis size {x.shape[a]}.")
    return [np.take(x, i, axis=a) for i in range(x.shape[a])]


# ---------------------------------------------------------------------------- slicing / scatter
def _starts(start_indices: Any, x: np.ndarray, op: str) -> list[int]:
    s = [as_int(v, "start_indices", op) for v in np.asarray(start_indices).reshape(-1)]
    if len(s) != x.ndim:
        raise fail(op, f"{len(s)} start indices for a tensor of rank {x.ndim}.")
    return s


@keras_op("slice", "inputs")
def slice(inputs: np.ndarray, start_indices: Any, shape: Any) -> np.ndarray:  # noqa: A001
    """``inputs[start : start + shape]`` per axis (a size of -1 runs to the end)."""
    st = _starts(start_indices, inputs, "slice")
    sz = [as_int(v, "shape", "slice") for v in np.asarray(shape).reshape(-1)]
    if len(sz) != inputs.ndim:
        raise fail("slice", f"shape has {len(sz)} entries for a tensor of rank "
                   f"{inputs.ndim}.")
    sz = [n - s if z == -1 else z for z, s, n in zip(sz, st, inputs.shape)]
    for s, z, n in zip(st, sz, inputs.shape):
        if s < 0 or z < 0 or s + z > n:
            raise fail("slice", f"start {st} with size {sz} does not fit shape "
                       f"{inputs.shape}.")
    return inputs[tuple(np.s_[s:s + z] for s, z in zip(st, sz))].copy()


@keras_op("slice_update", "inputs updates")
def slice_update(inputs: np.ndarray, start_indices: Any, updates: np.ndarray) -> np.ndarray:
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    st = _starts(start_indices, inputs, "slice_update")
    if updates.ndim != inputs.ndim:
        raise fail("slice_update", f"updates of rank {updates.ndim} for inputs of rank "
                   f"{inputs.ndim}.")
    st = [min(max(s, 0), n - z) for s, z, n in zip(st, updates.shape, inputs.shape)]
    if any(z > n for z, n in zip(updates.shape, inputs.shape)):
        raise fail("slice_update", f"updates {updates.shape} larger than inputs "
                   f"{inputs.shape}.")
    out = inputs.copy()
    out[tuple(np.s_[s:s + z] for s, z in zip(st, updates.shape))] = updates.astype(
        inputs.dtype)
    return out


def _scatter_index(indices: np.ndarray, shape: tuple[int, ...], op: str) -> tuple:
    if indices.dtype.kind not in "iu":
        raise TypeError(f"ops.{op}: indices must be integers, received {indices.dtype}.")
    if indices.ndim < 1 or indices.shape[-1] > len(shape):
        raise fail(op, f"indices of shape {indices.shape} do not index a tensor of shape "
                   f"{shape}.")
    k = indices.shape[-1]
    idx = indices.reshape(-1, k)
    lim = np.asarray(shape[:k])
    if idx.size and (np.any(idx < 0) or np.any(idx >= lim)):
        raise fail(op, f"indices out of range for shape {shape}.")
    return tuple(idx.T)


@keras_op("scatter", "indices values")
def scatter(indices: np.ndarray, values: np.ndarray, shape: Any) -> np.ndarray:
    """Zeros of ``shape`` with ``values`` added at ``indices`` (duplicates sum)."""
    from rnnlens.ops._common import as_shape

    shp = as_shape(shape, "scatter")
    ix = _scatter_index(indices, shp, "scatter")
    k = indices.shape[-1]
    want = indices.shape[:-1] + shp[k:]
    if values.shape != want:
        raise fail("scatter", f"values of shape {values.shape}; expected {want}.")
    out = np.zeros(shp, values.dtype)
    np.add.at(out, ix, values.reshape((-1,) + shp[k:]))
    return out


@keras_op("scatter_update", "inputs indices updates")
def scatter_update(inputs: np.ndarray, indices: np.ndarray, updates: np.ndarray,
                   reduction: str | None = None) -> np.ndarray:
    """A copy of ``inputs`` with ``updates`` written (or combined by ``reduction``: add,
    max, min, mul) at ``indices``."""
    ix = _scatter_index(indices, inputs.shape, "scatter_update")
    k = indices.shape[-1]
    want = indices.shape[:-1] + inputs.shape[k:]
    if updates.shape != want:
        raise fail("scatter_update", f"updates of shape {updates.shape}; expected {want}.")
    out = inputs.copy()
    u = updates.reshape((-1,) + inputs.shape[k:]).astype(inputs.dtype)
    funcs = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}
    if reduction is None:
        out[ix] = u
    elif reduction in funcs:
        funcs[reduction].at(out, ix, u)
    else:
        raise fail("scatter_update", f"reduction={reduction!r}; expected None, 'add', "
                   "'max', 'min' or 'mul'.")
    return out


# ---------------------------------------------------------------------------- control flow
def _callable(f: Any, name: str, op: str) -> None:
    if not callable(f):
        raise TypeError(f"ops.{op}: {name} must be callable, received {f!r}.")


@keras_op("cond")
def cond(pred: Any, true_fn: Callable, false_fn: Callable) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``."""
    _callable(true_fn, "true_fn", "cond")
    _callable(false_fn, "false_fn", "cond")
    p = convert(pred, op="cond")
    if p.size != 1:
        raise fail("cond", f"pred must be a scalar, received shape {p.shape}.")
    return true_fn() if bool(p.reshape(())) else false_fn()


@keras_op("switch")
def switch(index: Any, branches: list[Callable], *operands: Any) -> Any:
    """``branches[clip(index, 0, n - 1)](*operands)``."""
    if not branches:
        raise fail("switch", "branches must not be empty.")
    i = int(np.clip(convert(index, "int32", "switch"), 0, len(branches) - 1))
    return branches[i](*operands)


@keras_op("while_loop")
def while_loop(cond: Callable, body: Callable, loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """``while cond(*vars): vars = body(*vars)``, at most ``maximum_iterations`` times."""
    _callable(cond, "cond", "while_loop")
    _callable(body, "body", "while_loop")
    is_tuple = isinstance(loop_vars, (tuple, list))
    v = _tensors(tuple(loop_vars) if is_tuple else (loop_vars,), "while_loop")
    n = 0
    while (maximum_iterations is None or n < maximum_iterations) and bool(
            np.asarray(cond(*v))):
        out = body(*v)
        v = _tensors(tuple(out) if is_tuple else (out,), "while_loop")
        n += 1
    return v if is_tuple else v[0]


@keras_op("fori_loop")
def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)`` (``i`` a Python int,
    so that ``val + i`` keeps val's dtype under NumPy's rules too)."""
    _callable(body_fun, "body_fun", "fori_loop")
    val = _tensors(init_val, "fori_loop")
    for i in range(as_int(lower, "lower", "fori_loop"), as_int(upper, "upper", "fori_loop")):
        val = _tensors(body_fun(i, val), "fori_loop")
    return val


def _stack_tree(outs: list[Any], like: Any) -> Any:
    if not outs:
        return like
    flats = [_flatten(o) for o in outs]
    return _pack(outs[0], [np.stack([np.asarray(f[i]) for f in flats])
                           for i in range(len(flats[0]))])


@keras_op("scan")
def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int = 1) -> tuple[Any, Any]:
    """``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns
    ``(final carry, stacked ys)``."""
    _callable(f, "f", "scan")
    if xs is None and length is None:
        raise fail("scan", "needs xs or length.")
    flat = [convert(v, op="scan") for v in _flatten(xs)] if xs is not None else []
    n = int(length) if xs is None else (flat[0].shape[0] if flat else 0)
    if any(v.ndim == 0 or v.shape[0] != n for v in flat):
        raise fail("scan", "every xs leaf needs the same leading dimension.")
    carry, ys = _tensors(init, "scan"), []
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        x = _pack(xs, [v[i] for v in flat]) if xs is not None else None
        carry, y = f(carry, x)
        carry = _tensors(carry, "scan")
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (_stack_tree(ys, None) if ys and ys[0] is not None else None)


@keras_op("map")
def map(f: Callable, xs: Any) -> Any:  # noqa: A001
    """``stack([f(x) for x in xs])`` over the leading axis (nested xs and outputs)."""
    _callable(f, "f", "map")
    flat = [convert(v, op="map") for v in _flatten(xs)]
    n = flat[0].shape[0] if flat and flat[0].ndim else 0
    outs = [f(_pack(xs, [v[i] for v in flat]) if _is_nested(xs) else flat[0][i])
            for i in range(n)]
    return _stack_tree(outs, None)


@keras_op("vectorized_map")
def vectorized_map(function: Callable, elements: Any) -> Any:
    """``function`` applied to each slice of ``elements`` along axis 0, stacked."""
    return map.__wrapped__(function, elements)


@keras_op("associative_scan")
def associative_scan(f: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive scan with the associative ``f`` along ``axis`` (run sequentially)."""
    _callable(f, "f", "associative_scan")
    flat = [convert(v, op="associative_scan") for v in _flatten(elems)]
    if not flat:
        raise fail("associative_scan", "elems is empty.")
    a = norm_axis(axis, flat[0].ndim, "associative_scan")
    n = flat[0].shape[a]
    if any(v.shape[a] != n for v in flat):
        raise fail("associative_scan", "all elems need the same size along axis.")
    if reverse:
        flat = [np.flip(v, a) for v in flat]
    acc = [np.take(v, [0], axis=a) for v in flat]
    outs = [acc]
    for i in range(1, n):
        cur = [np.take(v, [i], axis=a) for v in flat]
        acc = _flatten(f(_pack(elems, acc), _pack(elems, cur)))
        outs.append([np.asarray(c) for c in acc])
    res = [np.concatenate([o[j] for o in outs], axis=a) for j in range(len(flat))]
    if reverse:
        res = [np.flip(r, a) for r in res]
    return _pack(elems, res)


@keras_op("custom_gradient")
def custom_gradient(f: Callable) -> Callable:
    """``f(*args) -> (value, grad_fn)`` as a function returning ``value``; under a gradient
    tape (``rnnlens.autodiff``) its gradient is ``grad_fn(upstream)``, one per argument."""
    _callable(f, "f", "custom_gradient")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rnnlens.autodiff.record import call_custom

        return call_custom(f, args, kwargs)

    return wrapper
