"""Shape, joining, splitting and rearranging ops (dtype kept unless stated).

``concatenate``/``append``/``hstack``/``vstack``/``dstack`` promote their inputs with
Keras's ``result_type``; ``stack`` and ``where`` treat Python scalars as weak types.
"""

from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from rnnlens.ops._common import (as_int, as_shape, check_broadcast, norm_axes, norm_axis,
                                 to_dtype)
from rnnlens.ops._dispatch import cast_array, convert, fail, keras_op
from rnnlens.ops._dtypes import dtype_of, result_type


@keras_op("reshape", "x")
def reshape(x: np.ndarray, newshape: Any) -> np.ndarray:
    """``x`` with shape ``newshape`` (one entry may be -1)."""
    if isinstance(newshape, np.ndarray):
        newshape = newshape.tolist()
    dims = [as_int(d, "newshape", "reshape") for d in (
        newshape if isinstance(newshape, (list, tuple)) else [newshape])]
    if builtins.sum(d == -1 for d in dims) > 1 or builtins.any(d < -1 for d in dims):
        raise fail("reshape", f"newshape={tuple(dims)}: at most one -1 and no other negative "
                   "dimension.")
    known = int(np.prod([d for d in dims if d != -1]))
    if -1 in dims and x.size == 0:     # TensorFlow: the non-zero dims decide the -1
        num = int(np.prod([d for d in x.shape if d]))
        den = int(np.prod([d for d in dims if d not in (0, -1)]))
        if den and num % den == 0:
            dims[dims.index(-1)] = num // den
            known = int(np.prod(dims))
    if (-1 not in dims and known != x.size) or (-1 in dims and (
            known == 0 or x.size % known)):
        raise fail("reshape", f"cannot reshape a tensor of shape {x.shape} ({x.size} "
                   f"elements) to {tuple(dims)}.")
    return x.reshape(dims)


@keras_op("transpose", "x")
def transpose(x: np.ndarray, axes: Any = None) -> np.ndarray:
    if axes is None:
        return x.T.copy()
    ax = [norm_axis(a, x.ndim, "transpose", "axes") for a in axes]
    if sorted(ax) != list(range(x.ndim)):
        raise fail("transpose", f"axes={tuple(axes)} is not a permutation of the "
                   f"{x.ndim} axes.")
    return np.transpose(x, ax).copy()


@keras_op("expand_dims", "x")
def expand_dims(x: np.ndarray, axis: Any) -> np.ndarray:
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    out_ndim = x.ndim + len(items)
    ax = norm_axes(items, out_ndim, "expand_dims")
    return np.expand_dims(x, ax)


@keras_op("squeeze", "x")
def squeeze(x: np.ndarray, axis: Any = None) -> np.ndarray:
    ax = norm_axes(axis, x.ndim, "squeeze")
    if ax is not None and builtins.any(x.shape[a] != 1 for a in ax):
        raise fail("squeeze", f"cannot squeeze axis {axis} of shape {x.shape}: its size "
                   "is not 1.")
    return np.squeeze(x, ax)


@keras_op("ravel", "x")
def ravel(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1).copy()


@keras_op("broadcast_to", "x")
def broadcast_to(x: np.ndarray, shape: Any) -> np.ndarray:
    shape = as_shape(shape, "broadcast_to")
    if check_broadcast("broadcast_to", x.shape, shape) != shape:
        raise fail("broadcast_to", f"cannot broadcast shape {x.shape} to {shape}.")
    return np.broadcast_to(x, shape).copy()


def _join_dtype(xs: list[Any]) -> str:
    return result_type(*{dtype_of(x) for x in xs})


def _same_dtype(xs: list[np.ndarray], op: str) -> list[np.ndarray]:
    if not xs:
        raise fail(op, "needs at least one tensor.")
    d = _join_dtype(xs)
    return [to_dtype(x, d) for x in xs]


@keras_op("concatenate", "xs*")
def concatenate(xs: list[np.ndarray], axis: Any = 0) -> np.ndarray:
    """Join tensors along an existing ``axis``; the other dimensions must agree."""
    xs = _same_dtype(xs, "concatenate")
    nd = xs[0].ndim
    if nd == 0 or builtins.any(x.ndim != nd for x in xs):
        raise fail("concatenate", "all tensors need the same rank >= 1, received shapes "
                   + ", ".join(str(x.shape) for x in xs) + ".")
    if axis is None:
        raise fail("concatenate", "axis=None is not supported (as Keras on TensorFlow); "
                   "flatten the tensors first.")
    a = norm_axis(axis, nd, "concatenate")
    rest = {tuple(s for i, s in enumerate(x.shape) if i != a) for x in xs}
    if len(rest) > 1:
        raise fail("concatenate", f"shapes {[x.shape for x in xs]} differ outside "
                   f"axis {axis}.")
    return np.concatenate(xs, axis=a)


@keras_op("append", "x1 x2")
def append(x1: np.ndarray, x2: np.ndarray, axis: Any = None) -> np.ndarray:
    if axis is None:
        return concatenate.__wrapped__([x1.reshape(-1), x2.reshape(-1)], 0)
    return concatenate.__wrapped__([x1, x2], axis)


@keras_op("stack", "x*", weak=True)
def stack(x: list[Any], axis: Any = 0) -> np.ndarray:
    """Join equally shaped tensors along a new ``axis``."""
    xs = _same_dtype(x, "stack")
    if len({a.shape for a in xs}) > 1:
        raise fail("stack", f"all tensors need the same shape, received "
                   f"{[a.shape for a in xs]}.")
    return np.stack(xs, axis=norm_axis(axis, xs[0].ndim + 1, "stack"))


@keras_op("hstack", "xs*")
def hstack(xs: list[np.ndarray]) -> np.ndarray:
    xs = _same_dtype(xs, "hstack")
    return concatenate.__wrapped__(xs, 0 if xs[0].ndim == 1 else 1)


@keras_op("vstack", "xs*", weak=True)
def vstack(xs: list[Any]) -> np.ndarray:
    xs = [np.atleast_2d(a) for a in _same_dtype(xs, "vstack")]
    return concatenate.__wrapped__(xs, 0)


@keras_op("dstack", "xs*")
def dstack(xs: list[np.ndarray]) -> np.ndarray:
    xs = [np.atleast_3d(a) for a in _same_dtype(xs, "dstack")]
    return concatenate.__wrapped__(xs, 2)


def _split(x: np.ndarray, ios: Any, axis: Any, op: str, even: bool) -> list[np.ndarray]:
    a = norm_axis(axis, x.ndim, op)
    n = x.shape[a]
    if isinstance(ios, (int, np.integer)) and not isinstance(ios, bool):
        k = int(ios)
        if k <= 0:
            raise fail(op, f"indices_or_sections={k} must be positive.")
        if even and n % k:
            raise fail(op, f"cannot split an axis of size {n} into {k} equal sections.")
        return list(np.array_split(x, k, axis=a))
    idx = [as_int(i, "indices_or_sections", op) for i in (
        ios.tolist() if isinstance(ios, np.ndarray) else ios)]
    return list(np.split(x, idx, axis=a))


@keras_op("split", "x")
def split(x: np.ndarray, indices_or_sections: Any, axis: Any = 0) -> list[np.ndarray]:
    """Split into equal sections (int) or at the given indices along ``axis``."""
    return _split(x, indices_or_sections, axis, "split", True)


@keras_op("array_split", "x")
def array_split(x: np.ndarray, indices_or_sections: Any, axis: Any = 0) -> list[np.ndarray]:
    if not isinstance(indices_or_sections, (int, np.integer)):
        raise TypeError("ops.array_split: indices_or_sections must be an int.")
    return _split(x, indices_or_sections, axis, "array_split", False)


@keras_op("hsplit", "x")
def hsplit(x: np.ndarray, indices_or_sections: Any) -> list[np.ndarray]:
    return _split(x, indices_or_sections, 0 if x.ndim == 1 else 1, "hsplit", True)


@keras_op("vsplit", "x")
def vsplit(x: np.ndarray, indices_or_sections: Any) -> list[np.ndarray]:
    return _split(x, indices_or_sections, 0, "vsplit", True)


@keras_op("dsplit", "x")
def dsplit(x: np.ndarray, indices_or_sections: Any) -> list[np.ndarray]:
    if x.ndim < 3:
        raise fail("dsplit", f"needs a tensor of rank >= 3, received shape {x.shape}.")
    return _split(x, indices_or_sections, 2, "dsplit", True)


@keras_op("tile", "x")
def tile(x: np.ndarray, repeats: Any) -> np.ndarray:
    reps = as_shape(repeats, "tile", "repeats")
    return np.tile(x, reps)


@keras_op("repeat", "x")
def repeat(x: np.ndarray, repeats: Any, axis: Any = None) -> np.ndarray:
    r = np.asarray(repeats.tolist() if isinstance(repeats, np.ndarray) else repeats)
    if r.dtype.kind not in "iu" or np.any(r < 0):
        raise fail("repeat", f"repeats must be non-negative integers, received {repeats!r}.")
    if axis is None:
        x, axis = x.reshape(-1), 0
    a = norm_axis(axis, x.ndim, "repeat")
    if r.ndim and r.size not in (1, x.shape[a]):
        raise fail("repeat", f"{r.size} repeats for an axis of size {x.shape[a]}.")
    return np.repeat(x, r, axis=a)


_PAD_MODES = ("constant", "reflect", "symmetric")


@keras_op("pad", "x")
def pad(x: np.ndarray, pad_width: Any, mode: str = "constant",
        constant_values: Any = None) -> np.ndarray:
    """Pad with ``((before, after), ...)`` per axis (or one pair / int for all axes)."""
    if mode not in _PAD_MODES:
        raise fail("pad", f"mode={mode!r}; the TensorFlow backend supports {_PAD_MODES}.")
    if constant_values is not None and mode != "constant":
        raise fail("pad", f"constant_values can only be given with mode='constant', "
                   f"received mode={mode!r}.")
    pw = np.asarray(pad_width)
    if pw.dtype.kind not in "iu" or np.any(pw < 0):
        raise fail("pad", f"pad_width={pad_width!r} must hold non-negative integers.")
    pw = np.stack([pw, pw]).T.reshape(-1, 2) if pw.ndim == 0 else (
        pw.reshape(1, 2) if pw.ndim == 1 and pw.size == 2 else pw)
    if pw.ndim == 2 and pw.shape[1] == 1:
        pw = np.concatenate([pw, pw], 1)
    if pw.shape != (x.ndim, 2):
        raise fail("pad", f"pad_width={pad_width!r} must give (before, after) for each of "
                   f"the {x.ndim} axes (TensorFlow does not broadcast one pair).")
    if x.dtype == bool and constant_values is not None and not isinstance(
            constant_values, (bool, np.bool_)):
        raise TypeError(f"ops.pad: constant_values={constant_values!r} for a bool tensor "
                        "(TensorFlow refuses); pass True or False.")
    if mode == "constant":
        cv = 0 if constant_values is None else constant_values
        return np.pad(x, pw, mode="constant", constant_values=np.asarray(cv).astype(x.dtype))
    lim = [n - 1 if mode == "reflect" else n for n in x.shape]
    if builtins.any(p > m for p, m in zip(pw.max(axis=1), lim)):
        raise fail("pad", f"pad_width={pad_width!r} is too large for mode={mode!r} and "
                   f"shape {x.shape}.")
    return np.pad(x, pw, mode=mode)


@keras_op("flip", "x")
def flip(x: np.ndarray, axis: Any = None) -> np.ndarray:
    return np.flip(x, norm_axes(axis, x.ndim, "flip")).copy()


@keras_op("fliplr", "x")
def fliplr(x: np.ndarray) -> np.ndarray:
    if x.ndim < 2:
        raise fail("fliplr", f"needs rank >= 2, received shape {x.shape}.")
    return x[:, ::-1].copy()


@keras_op("flipud", "x")
def flipud(x: np.ndarray) -> np.ndarray:
    if x.ndim < 1:
        raise fail("flipud", "needs rank >= 1.")
    return x[::-1].copy()


@keras_op("roll", "x")
def roll(x: np.ndarray, shift: Any, axis: Any = None) -> np.ndarray:
    if axis is None:
        return np.roll(x.reshape(-1), shift).reshape(x.shape)
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    ax = tuple(norm_axis(a, x.ndim, "roll") for a in items)
    sh = shift if isinstance(shift, (list, tuple)) else [shift] * len(ax)
    if len(sh) != len(ax):
        raise fail("roll", f"shift={shift!r} and axis={axis!r} differ in length.")
    return np.roll(x, tuple(int(s) for s in sh), ax)


@keras_op("rot90", "array")
def rot90(array: np.ndarray, k: int = 1, axes: Sequence[int] = (0, 1)) -> np.ndarray:
    if array.ndim < 2:
        raise fail("rot90", f"needs rank >= 2, received shape {array.shape}.")
    ax = [norm_axis(a, array.ndim, "rot90", "axes") for a in axes]
    if len(ax) != 2 or ax[0] == ax[1]:
        raise fail("rot90", f"axes={tuple(axes)} must be two different axes.")
    return np.rot90(array, as_int(k, "k", "rot90"), ax).copy()


@keras_op("moveaxis", "x")
def moveaxis(x: np.ndarray, source: Any, destination: Any) -> np.ndarray:
    s = [norm_axis(a, x.ndim, "moveaxis", "source") for a in np.atleast_1d(source)]
    d = [norm_axis(a, x.ndim, "moveaxis", "destination") for a in np.atleast_1d(destination)]
    if len(s) != len(d):
        raise fail("moveaxis", f"source={source!r} and destination={destination!r} differ in "
                   "length.")
    return np.moveaxis(x, s, d).copy()


@keras_op("swapaxes", "x")
def swapaxes(x: np.ndarray, axis1: int, axis2: int) -> np.ndarray:
    return np.swapaxes(x, norm_axis(axis1, x.ndim, "swapaxes", "axis1"),
                       norm_axis(axis2, x.ndim, "swapaxes", "axis2")).copy()


@keras_op("where", "condition x1 x2", weak=True)
def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """``x1`` where ``condition`` else ``x2`` (broadcast); alone: ``nonzero(condition)``."""
    cond = convert(condition, op="where")
    cond = cond if cond.dtype == bool else cast_array(cond, "bool")
    if x1 is None and x2 is None:
        return tuple(i.astype("int32") for i in np.nonzero(cond))
    if x1 is None or x2 is None:
        raise fail("where", "x1 and x2 must both be given or both be None.")
    d = result_type(dtype_of(x1), dtype_of(x2))
    a, b = to_dtype(x1, d), to_dtype(x2, d)
    check_broadcast("where", cond.shape, a.shape, b.shape)
    return np.where(cond, a, b)


@keras_op("select", "condlist* choicelist*", weak=True)
def select(condlist: list[Any], choicelist: list[Any], default: Any = 0) -> np.ndarray:
    if len(condlist) != len(choicelist) or not condlist:
        raise fail("select", "condlist and choicelist need the same, non-zero length.")
    d = result_type(*[dtype_of(c) for c in choicelist])
    conds = [convert(c, op="select").astype(bool) for c in condlist]
    choices = [to_dtype(c, d) for c in choicelist]
    check_broadcast("select", *[c.shape for c in conds + choices])
    return np.select(conds, choices, default=np.asarray(default).astype(d))


@keras_op("nonzero", "x")
def nonzero(x: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(i.astype("int32") for i in np.nonzero(np.atleast_1d(x)))


@keras_op("size", "x")
def size(x: np.ndarray) -> np.ndarray:
    return np.asarray(x.size, "int32")


@keras_op("ndim", "x")
def ndim(x: np.ndarray) -> int:
    return x.ndim


@keras_op("get_item", "x")
def get_item(x: np.ndarray, key: Any) -> np.ndarray:
    """``x[key]`` (NumPy basic and advanced indexing)."""
    if isinstance(key, list):
        key = np.asarray(key)
    return np.asarray(x[key]).copy()


@keras_op("diff", "a")
def diff(a: np.ndarray, n: int = 1, axis: int = -1) -> np.ndarray:
    n = as_int(n, "n", "diff")
    if n < 0:
        raise fail("diff", f"order n={n} must be non-negative.")
    if n == 0:
        return a.copy()
    if a.ndim == 0:
        raise fail("diff", "needs a tensor of rank >= 1.")
    ax = norm_axis(axis, a.ndim, "diff")
    for _ in range(n):
        lo = np.take(a, range(0, builtins.max(a.shape[ax] - 1, 0)), axis=ax)
        hi = np.take(a, range(1, a.shape[ax]), axis=ax)
        with np.errstate(over="ignore"):
            a = hi != lo if a.dtype == bool else np.subtract(hi, lo)
    return a
