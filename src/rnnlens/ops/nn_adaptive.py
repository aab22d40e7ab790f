"""``keras.ops.adaptive_average_pool`` / ``adaptive_max_pool`` on NumPy.

Each spatial axis of length L is pooled to ``o`` outputs with the windows Keras's
TensorFlow backend gathers (its "two-pool gather": pools of the small window
``k = ceil(L / o)`` and of ``k + 1``, indexed per output)::

    start_i = floor(i L / o),  end_i = ceil((i + 1) L / o)     (float32, as TensorFlow)
    window_i = [start_i, start_i + (k + 1 if end_i - start_i == k + 1 else k))

which are PyTorch's adaptive windows. The axes are pooled one after the other (depth,
height, width), as Keras does; for an average the result is the mean over the window
box, for a max its maximum. Inputs are ``(B, *spatial, C)`` (channels_last) or
``(B, C, *spatial)``, with 1, 2 or 3 spatial axes.

Backward (``<op>_forward`` returns the cache ``<op>_backward`` takes), per axis in
reverse order: an average spreads ``dy / window size`` over its window; a max sends
``dy`` to the window's first maximum with 1 or 2 spatial axes (TensorFlow's MaxPoolGrad)
and, with 3, to every entry within 1e-5 of the maximum (MaxPool3DGrad on CPU).

Where the large window is longer than the axis (``o == 1`` or ``L == 1``) Keras's max
pooling crashes TensorFlow (a floating-point exception in an empty pool); rnnlens
returns the windows' maxima (what the average already uses).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens.ops._conv_core import MAX_ELEMENTS
from rnnlens.ops._dispatch import cast_array, fail, keras_op, to_array
from rnnlens.ops.nn_conv import (MAX_POOL_3D_TOLERANCE, _back, _check_rank, _data_format,
                                 _dtypes, _last, spatial_tuple)

#: Largest (output x input) averaging matrix built for one axis; beyond it, a loop.
_MATRIX_LIMIT = 1 << 22


def adaptive_windows(length: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, sizes)`` of the ``out`` windows over an axis of ``length``."""
    small = math.ceil(length / out)
    i = np.arange(out, dtype=np.float32)
    n, o = np.float32(length), np.float32(out)
    starts = np.floor(i * n / o).astype(np.int64)
    ends = np.ceil((i + np.float32(1)) * n / o).astype(np.int64)
    ends, starts = np.minimum(ends, length), np.minimum(starts, length - 1)
    sizes = np.where(ends - starts == small + 1, small + 1, small)
    return starts, np.minimum(sizes, length - starts)


def _setup(op: str, inputs: Any, output_size: Any, data_format: Any, floats: bool) -> tuple:
    x = to_array(inputs, op)
    n = _check_rank(x, op)
    df = _data_format(data_format, op)
    compute, dtype = _dtypes(op, x, floats_only=floats)
    if np.dtype(dtype).kind in "iu":
        compute = dtype
    size = spatial_tuple(output_size, n, "output_size", op)
    xl = _last(x, df).astype(compute, copy=False)
    if 0 in xl.shape[1:-1]:
        raise fail(op, f"every spatial axis must be non-empty, received shape {x.shape}.")
    count = math.prod((xl.shape[0], *size, xl.shape[-1]))
    if count > MAX_ELEMENTS:
        raise fail(op, f"the output would hold {count} elements (output_size {size}), over "
                   f"rnnlens's limit of {MAX_ELEMENTS} (rnnlens.ops._conv_core.MAX_ELEMENTS).")
    return xl, size, df, dtype


def _average_axis(x: np.ndarray, axis: int, out: int) -> tuple[np.ndarray, Any]:
    starts, sizes = adaptive_windows(x.shape[axis], out)
    length = x.shape[axis]
    if out * length <= _MATRIX_LIMIT:
        m = np.zeros((out, length), x.dtype)
        for i, (s, k) in enumerate(zip(starts, sizes)):
            m[i, s:s + k] = x.dtype.type(1) / x.dtype.type(k)
        y = np.moveaxis(np.tensordot(m, x, axes=(1, axis)), 0, axis)
        return y, ("matrix", m)
    parts = [np.take(x, range(s, s + k), axis=axis).mean(axis=axis, keepdims=True)
             for s, k in zip(starts, sizes)]
    return np.concatenate(parts, axis=axis), ("loop", starts, sizes, length)


def _average_axis_backward(cache: Any, g: np.ndarray, axis: int) -> np.ndarray:
    if cache[0] == "matrix":
        m = cache[1]
        return np.moveaxis(np.tensordot(m.T, g, axes=(1, axis)), 0, axis)
    _, starts, sizes, length = cache
    shape = list(g.shape)
    shape[axis] = length
    d = np.zeros(shape, g.dtype)
    for i, (s, k) in enumerate(zip(starts, sizes)):
        share = np.take(g, [i], axis=axis) / g.dtype.type(k)
        idx = [slice(None)] * g.ndim
        idx[axis] = slice(s, s + k)
        d[tuple(idx)] += share
    return d


def _max_axis(x: np.ndarray, axis: int, out: int) -> tuple[np.ndarray, Any]:
    starts, sizes = adaptive_windows(x.shape[axis], out)
    parts = [np.take(x, range(s, s + k), axis=axis).max(axis=axis, keepdims=True)
             for s, k in zip(starts, sizes)]
    y = np.concatenate(parts, axis=axis)
    return y, (x, starts, sizes, y)


def _max_axis_backward(cache: Any, g: np.ndarray, axis: int, spatial: int) -> np.ndarray:
    x, starts, sizes, y = cache
    d = np.zeros(x.shape, g.dtype)
    for i, (s, k) in enumerate(zip(starts, sizes)):
        window = np.moveaxis(np.take(x, range(s, s + k), axis=axis), axis, -1)
        top = np.moveaxis(np.take(y, [i], axis=axis), axis, -1)
        gi = np.moveaxis(np.take(g, [i], axis=axis), axis, -1)
        if spatial == 3:
            hit = np.abs(window - top) < MAX_POOL_3D_TOLERANCE
        else:
            hit = np.zeros(window.shape, bool)
            np.put_along_axis(hit, (window == top).argmax(axis=-1)[..., None], True, axis=-1)
        share = np.where(hit, gi, g.dtype.type(0))
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(s, s + k)
        d[tuple(idx)] += np.moveaxis(share, -1, axis)
    return d


def adaptive_pool_forward(inputs: Any, output_size: Any, data_format: Any = None,
                          kind: str = "average") -> tuple[np.ndarray, tuple]:
    """``adaptive_<kind>_pool`` and the cache ``adaptive_pool_backward`` needs."""
    op = f"adaptive_{kind}_pool"
    x, size, df, dtype = _setup(op, inputs, output_size, data_format, kind == "average")
    step = _average_axis if kind == "average" else _max_axis
    caches, y = [], x
    for axis, out in enumerate(size, start=1):
        y, c = step(y, axis, out)
        caches.append(c)
    result = _back(cast_array(y, dtype), df)
    return np.ascontiguousarray(result), (kind, caches, df, len(size), x.dtype)


def adaptive_pool_backward(cache: tuple, d_out: Any) -> np.ndarray:
    """``dL/d inputs`` of :func:`adaptive_pool_forward`."""
    kind, caches, df, n, dtype = cache
    g = _last(np.asarray(d_out), df).astype(dtype, copy=False)
    for axis in range(n, 0, -1):
        c = caches[axis - 1]
        g = (_average_axis_backward(c, g, axis) if kind == "average"
             else _max_axis_backward(c, g, axis, n))
    return np.ascontiguousarray(_back(g, df))


@keras_op("adaptive_average_pool", "inputs")
def adaptive_average_pool(inputs: np.ndarray, output_size: Any,
                          data_format: str | None = None) -> np.ndarray:
    """Average pooling to a fixed ``output_size`` (an int or one per spatial axis)."""
    return adaptive_pool_forward(inputs, output_size, data_format, "average")[0]


@keras_op("adaptive_max_pool", "inputs")
def adaptive_max_pool(inputs: np.ndarray, output_size: Any,
                      data_format: str | None = None) -> np.ndarray:
    """Max pooling to a fixed ``output_size`` (an int or one per spatial axis)."""
    return adaptive_pool_forward(inputs, output_size, data_format, "max")[0]


__all__ = ["adaptive_average_pool", "adaptive_max_pool", "adaptive_pool_forward",
           "adaptive_pool_backward", "adaptive_windows"]
