"""Op nodes that sort, split, pad, repeat, roll, accumulate or take diagonals, as ONNX.

Each entry has the form of :mod:`.op_nodes` (``entry(ex, call, a) -> (name, element
type)``; a multi-output op returns a list of them, one per output)::

    sort, argsort         TopK(x, k = n, largest=0, sorted=1) along the axis (None: flat)
    top_k                 TopK(x, k, largest=1, sorted=1) on the last axis: values, indices
    split, array_split    x[..., c_i:c_(i+1), ...] per piece (Slice); an int count of
                          equal pieces on an axis of unknown size: ONNX Split
    unstack               x[..., i, ...] per index (Slice, Squeeze)
    pad                   Pad(constant); reflect:   Concat(flip(x[1:b+1]), x, flip(x[-e-1:-1]))
                                         symmetric: Concat(flip(x[:b]),    x, flip(x[-e:]))
    repeat                Gather(x, [0]*r_0 + [1]*r_1 + ...) on a known size, else
                          Reshape(Tile(Unsqueeze(x, a + 1), r)), each element r times
    roll                  Concat(x[n - s:], x[:n - s]), s = shift mod n (n of the run)
    cumprod               Scan along the axis: y_t = y_(t-1) x_t, y_(-1) = 1
    tril, triu            Where(j - i <= k (triu: >= k), x, 0) on the last two axes
    diagonal, diag, trace x moved to (..., n0, n1), flattened, Gather(i (n1 + 1) + o);
                          diag of a vector: Where(j - i == k, x_pad[min(i, j)], 0)
    ptp                   ReduceMax - ReduceMin
    nanmax, nanmin        ReduceMax(Where(IsNaN(x), -inf, x)) (min: +inf), all NaN: NaN
    fliplr, flipud        flip of axis 1 / axis 0

Orders follow a stable sort (TopK breaks ties by the lower index, as rnnlens); NaN
has no defined place in ONNX's TopK, so sorting NaN is not covered. Sizes the graph
does not know (the batch, unknown steps) are read from the run (``Shape``), so every
entry works on them except where it says otherwise (a ValueError naming the node).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.interop.onnx.export import INT64_MAX, Call
from rnnlens.interop.onnx.op_nodes import _is_tensor, axes_of, cfg, fl, refuse, scalar, shape

_F, _B, _I64 = 1, 9, 7


def _rank(value: Any) -> int:
    return len(value.shape) if _is_tensor(value) else np.ndim(value)


def _one_axis(call: Call, axis: Any, rank: int) -> int:
    if isinstance(axis, (list, tuple)) or isinstance(axis, bool):
        raise refuse(call, f"uses axis={axis}; ONNX export takes one integer axis.")
    return axes_of(call, int(axis), rank)[0]


def _size(ex: Any, x: str, axis: int, h: str) -> str:
    """The run's size of ``axis`` as an int64 scalar."""
    return ex.one("Squeeze", [ex.shape_of(x, axis, axis + 1, h), ex.ints([0])], h)


def _i64(ex: Any, value: int, h: str) -> str:
    """An int64 scalar (0-d)."""
    return scalar(ex, value, np.int64)


def _f32(ex: Any, value: float, h: str = "") -> str:
    """A float32 scalar (0-d, so that a 0-d result stays 0-d)."""
    return scalar(ex, value)


def _range(ex: Any, n: str, h: str) -> str:
    """``[0, 1, ..., n - 1]`` (int64) for an int64 scalar ``n``."""
    return ex.one("Range", [_i64(ex, 0, h), n, _i64(ex, 1, h)], h)


# -- order ----------------------------------------------------------------------------------


def _order(values: bool) -> Callable:
    """``sort`` (values) / ``argsort`` (indices): an ascending TopK over the whole axis."""
    def entry(ex: Any, call: Call, a: list) -> tuple:
        rank, axis = _rank(a[0]), cfg(call, "axis")
        if rank == 0:
            raise refuse(call, "orders a 0-d tensor; ONNX export needs rank >= 1.")
        x, h = fl(ex, call, a[0]), call.hint
        if axis is None:
            x, axis = ex.one("Reshape", [x, ex.ints([-1])], h), 0
        else:
            axis = _one_axis(call, axis, rank)
        k = ex.shape_of(x, axis, axis + 1, h)
        v, i = ex.op("TopK", [x, k], h, n_out=2, axis=axis, largest=0, sorted=1)
        return (v, _F) if values else (i, _I64)
    return entry


def _top_k(ex: Any, call: Call, a: list) -> list:
    """The k largest along the last axis, sorted (rnnlens sorts for ``sorted=False`` too)."""
    x, h = fl(ex, call, a[0]), call.hint
    v, i = ex.op("TopK", [x, ex.ints([int(cfg(call, "k"))])], h, n_out=2, axis=-1,
                 largest=1, sorted=1)
    return [(v, _F), (i, _I64)]


# -- pieces ---------------------------------------------------------------------------------


def _split(even: bool) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> list:
        x, h, rank = fl(ex, call, a[0]), call.hint, _rank(a[0])
        axis = _one_axis(call, cfg(call, "axis"), rank)
        ios, n = cfg(call, "indices_or_sections"), shape(a[0])[axis]
        if isinstance(ios, int) and n is None:
            if not even:
                raise refuse(call, "splits an axis of unknown size into unequal pieces; "
                             "ONNX export needs the size (or use ops.split).")
            attrs = {"num_outputs": ios} if ex.opset >= 18 else {}
            return [(o, _F) for o in ex.op("Split", [x], h, n_out=ios, axis=axis, **attrs)]
        if isinstance(ios, int):
            cuts = np.cumsum([len(p) for p in np.array_split(np.arange(n), ios)])[:-1]
        else:
            cuts = [int(i) for i in ios]
        starts, ends = [0] + [int(c) for c in cuts], [int(c) for c in cuts] + [INT64_MAX]
        return [(ex.slice(x, axis, s, e, h), _F) for s, e in zip(starts, ends)]
    return entry


def _unstack(ex: Any, call: Call, a: list) -> list:
    x, h = fl(ex, call, a[0]), call.hint
    axis = _one_axis(call, cfg(call, "axis"), _rank(a[0]))
    return [(ex.squeeze(ex.slice(x, axis, i, i + 1, h), axis, h), _F)
            for i in range(len(call.out_shapes))]


# -- pad, repeat, roll ----------------------------------------------------------------------


def _pad_widths(call: Call, rank: int) -> np.ndarray:
    """``pad_width`` as (rank, 2) pairs, read as rnnlens reads it."""
    pw = np.asarray(cfg(call, "pad_width"))
    pw = np.stack([pw, pw]).T.reshape(-1, 2) if pw.ndim == 0 else (
        pw.reshape(1, 2) if pw.ndim == 1 and pw.size == 2 else pw)
    if pw.ndim == 2 and pw.shape[1] == 1:
        pw = np.concatenate([pw, pw], 1)
    if pw.shape != (rank, 2) or pw.dtype.kind not in "iu":
        raise refuse(call, f"uses pad_width={cfg(call, 'pad_width')} on a rank-{rank} tensor.")
    return pw.astype(np.int64)


def _pad(ex: Any, call: Call, a: list) -> tuple:
    x, h, rank = fl(ex, call, a[0]), call.hint, _rank(a[0])
    pw, mode = _pad_widths(call, rank), cfg(call, "mode")
    if mode == "constant":
        value = call.named.get("constant_values")
        if _is_tensor(value) or np.ndim(value) != 0:
            raise refuse(call, "pads with a tensor or an array as constant_values; ONNX "
                         "export takes a number.")
        fill = _f32(ex, float(np.asarray(0.0 if value is None else value, np.float32)), h)
        pads = ex.ints([int(b) for b in pw[:, 0]] + [int(e) for e in pw[:, 1]])
        return ex.one("Pad", [x, pads, fill], h, mode="constant"), _F
    if mode not in ("reflect", "symmetric"):
        raise refuse(call, f"uses mode={mode!r}; ONNX export writes constant, reflect and "
                     "symmetric.")
    edge = 1 if mode == "reflect" else 0              # reflect leaves out the edge itself
    for d, (b, e) in enumerate(pw):
        parts = [x]
        if b:
            parts.insert(0, ex.flip(ex.slice(x, d, edge, int(b) + edge, h), d, h))
        if e:
            parts.append(ex.flip(ex.slice(x, d, -int(e) - edge,
                                          -edge if edge else INT64_MAX, h), d, h))
        x = ex.one("Concat", parts, h, axis=d) if len(parts) > 1 else x
    return x, _F


def _repeat(ex: Any, call: Call, a: list) -> tuple:
    x, h, rank, axis = fl(ex, call, a[0]), call.hint, _rank(a[0]), cfg(call, "axis")
    r = np.asarray(cfg(call, "repeats"), np.int64).reshape(-1)
    if axis is None:
        dims = shape(a[0])
        n = None if None in dims else int(np.prod(dims, dtype=np.int64))
        x, axis, rank = ex.one("Reshape", [x, ex.ints([-1])], h), 0, 1
    else:
        axis = _one_axis(call, axis, rank)
        n = shape(a[0])[axis]
    if n is not None:
        index = np.repeat(np.arange(n, dtype=np.int64), r if r.size > 1 else int(r[0]))
        return ex.one("Gather", [x, ex.const(index, f"{h}/index")], h, axis=axis), _F
    if r.size != 1:
        raise refuse(call, "repeats each element its own count along an axis of unknown "
                     "size; ONNX export needs the size.")
    reps = [1] * (rank + 1)
    reps[axis + 1] = int(r[0])
    tiled = ex.one("Tile", [ex.unsqueeze(x, axis + 1, h), ex.ints(reps)], h)
    target = ex.one("Concat", [ex.shape_of(x, 0, axis, h), ex.ints([-1]),
                               ex.shape_of(x, axis + 1, rank, h)], h, axis=0)
    return ex.one("Reshape", [tiled, target], h), _F


def _roll_axis(ex: Any, x: str, axis: int, shift: int, h: str) -> str:
    n = ex.shape_of(x, axis, axis + 1, h)
    cut = ex.one("Sub", [n, ex.one("Mod", [ex.ints([shift]), n], h)], h)
    tail = ex.one("Slice", [x, cut, ex.ints([INT64_MAX]), ex.ints([axis])], h)
    head = ex.one("Slice", [x, ex.ints([0]), cut, ex.ints([axis])], h)
    return ex.one("Concat", [tail, head], h, axis=axis)


def _roll(ex: Any, call: Call, a: list) -> tuple:
    x, h, rank = fl(ex, call, a[0]), call.hint, _rank(a[0])
    shift, axis = cfg(call, "shift"), cfg(call, "axis")
    shifts = [int(s) for s in (shift if isinstance(shift, list) else [shift])]
    if axis is None:                            # NumPy: the shifts add up on the flat tensor
        flat = _roll_axis(ex, ex.one("Reshape", [x, ex.ints([-1])], h), 0, sum(shifts), h)
        return ex.one("Reshape", [flat, ex.one("Shape", [x], h)], h), _F
    axes = [_one_axis(call, d, rank) for d in (axis if isinstance(axis, list) else [axis])]
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise refuse(call, f"uses shift={shift} with axis={axis} (different lengths).")
    for d, s in zip(axes, shifts):
        x = _roll_axis(ex, x, d, s, h)
    return x, _F


# -- cumprod, triangles, diagonals ----------------------------------------------------------


def cum_input(ex: Any, call: Call, x: str) -> str:
    """``cumsum`` / ``cumprod``'s input as rnnlens casts it to ``dtype`` first (an integer
    type truncates; float64 is carried as float32); float16 / bfloat16 are refused."""
    dtype = cfg(call, "dtype")
    if dtype is None or np.dtype(dtype) in (np.float32, np.float64):
        return x
    want = np.dtype(dtype)
    if want.kind not in "iu":
        raise refuse(call, f"uses dtype={dtype!r}; ONNX export accumulates in float32 (dtype "
                     "None, an integer type, float32 or float64).")
    exact = ex.one("Cast", [x], call.hint, to=ex.helper.np_dtype_to_tensor_dtype(want))
    return ex.one("Cast", [exact], call.hint, to=_F)


def _cumprod(ex: Any, call: Call, a: list) -> tuple:
    """A Scan along the axis carrying the running product (NumPy's order of products)."""
    x, h, rank, axis = fl(ex, call, a[0]), call.hint, _rank(a[0]), cfg(call, "axis")
    x = cum_input(ex, call, x)
    if axis is None:
        x, axis, rank = ex.one("Reshape", [x, ex.ints([-1])], h), 0, 1
    else:
        axis = _one_axis(call, axis, rank)
    rest = ex.one("Concat", [ex.shape_of(x, 0, axis, h), ex.shape_of(x, axis + 1, rank, h)],
                  h, axis=0)
    one = ex.helper.make_tensor("value", _F, [1], [1.0])
    start = ex.one("ConstantOfShape", [rest], h, value=one)
    state, step = ex.fresh(f"{h}/prod_in"), ex.fresh(f"{h}/x_t")
    saved, ex.nodes = ex.nodes, []
    try:
        new = ex.one("Mul", [state, step], h)
        out = ex.one("Identity", [new], h)
        body_nodes = ex.nodes
    finally:
        ex.nodes = saved
    info = [ex.helper.make_tensor_value_info(n, _F, None) for n in (state, step, new, out)]
    body = ex.helper.make_graph(body_nodes, ex.fresh(f"{h}/cumprod"), info[:2], info[2:])
    _, y = ex.op("Scan", [start, x], h, n_out=2, body=body, num_scan_inputs=1,
                 scan_input_axes=[axis], scan_output_axes=[axis])
    return y, _F


def _positions(ex: Any, x: str, axis: int, size: Any, h: str) -> str:
    """``[0, ..., n - 1]`` (int64) along ``axis``: a constant when its size is known
    (ONNX's shape inference refuses a Range over sizes it folds into constants)."""
    if size is not None:
        return ex.const(np.arange(int(size), dtype=np.int64), f"{h}/positions")
    return _range(ex, _size(ex, x, axis, h), h)


def _grid(ex: Any, x: str, sizes: tuple, a0: int, a1: int, h: str) -> tuple[str, str]:
    """Row indices (n0, 1) and column indices (1, n1) (int64) of axes a0, a1 of ``x``."""
    rows = ex.unsqueeze(_positions(ex, x, a0, sizes[a0], h), 1, h)
    cols = ex.unsqueeze(_positions(ex, x, a1, sizes[a1], h), 0, h)
    return rows, cols


def _tri(upper: bool) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        x, h, rank = fl(ex, call, a[0]), call.hint, _rank(a[0])
        if rank < 2:
            raise refuse(call, f"takes a triangle of a rank-{rank} tensor (needs rank >= 2).")
        rows, cols = _grid(ex, x, shape(a[0]), rank - 2, rank - 1, h)
        gap = ex.one("Sub", [cols, rows], h)                        # j - i, (n0, n1)
        keep = ex.one("GreaterOrEqual" if upper else "LessOrEqual",
                      [gap, _i64(ex, int(cfg(call, "k")), h)], h)
        return ex.one("Where", [keep, x, _f32(ex, 0.0)], h), _F
    return entry


def _diagonal_of(ex: Any, x: str, sizes: tuple, axes: tuple[int, int], k: int,
                 h: str) -> str:
    """NumPy's ``diagonal(x, k, a1, a2)``: the other axes first, the diagonal last; the
    flat positions ``i (n1 + 1) + r0 n1 + c0`` are constants when n0, n1 are known."""
    rank, (a1, a2) = len(sizes), axes
    r0, c0 = max(-k, 0), max(k, 0)
    if sizes[a1] is not None and sizes[a2] is not None:
        n0, n1 = int(sizes[a1]), int(sizes[a2])
        positions = np.arange(max(0, min(n0 - r0, n1 - c0)), dtype=np.int64) * (n1 + 1)
        index = ex.const(positions + r0 * n1 + c0, f"{h}/index")
    else:
        n0, n1 = _size(ex, x, a1, h), _size(ex, x, a2, h)
        length = ex.one("Max", [_i64(ex, 0, h), ex.one("Min", [
            ex.one("Sub", [n0, _i64(ex, r0, h)], h), ex.one("Sub", [n1, _i64(ex, c0, h)], h)],
            h)], h)
        stride = ex.one("Add", [n1, _i64(ex, 1, h)], h)
        first = ex.one("Add", [ex.one("Mul", [n1, _i64(ex, r0, h)], h), _i64(ex, c0, h)], h)
        index = ex.one("Add", [ex.one("Mul", [_range(ex, length, h), stride], h), first], h)
    moved = ex.transpose(x, [d for d in range(rank) if d not in (a1, a2)] + [a1, a2], h)
    target = ex.one("Concat", [ex.shape_of(moved, 0, rank - 2, h), ex.ints([-1])], h, axis=0)
    flat = ex.one("Reshape", [moved, target], h)
    return ex.one("Gather", [flat, index], h, axis=rank - 2)


def _diag_axes(call: Call, rank: int) -> tuple[int, int]:
    a1, a2 = (_one_axis(call, cfg(call, key), rank) for key in ("axis1", "axis2"))
    if rank < 2 or a1 == a2:
        raise refuse(call, f"takes the diagonal of axes {a1}, {a2} of a rank-{rank} tensor.")
    return a1, a2


def _diagonal(ex: Any, call: Call, a: list) -> tuple:
    rank = _rank(a[0])
    if rank < 2:
        raise refuse(call, f"takes the diagonal of a rank-{rank} tensor (needs rank >= 2).")
    a1, a2 = _diag_axes(call, rank)
    return _diagonal_of(ex, fl(ex, call, a[0]), shape(a[0]), (a1, a2),
                        int(cfg(call, "offset")), call.hint), _F


def _trace(ex: Any, call: Call, a: list) -> tuple:
    y, _ = _diagonal(ex, call, a)
    return ex.reduce("ReduceSum", y, [_rank(a[0]) - 2], call.hint, keepdims=False), _F


def _diag(ex: Any, call: Call, a: list) -> tuple:
    x, h, rank, k = fl(ex, call, a[0]), call.hint, _rank(a[0]), int(cfg(call, "k"))
    if rank == 2:
        return _diagonal_of(ex, x, shape(a[0]), (0, 1), k, h), _F
    if rank != 1:
        raise refuse(call, f"takes diag of a rank-{rank} tensor (needs rank 1 or 2).")
    padded = ex.one("Pad", [x, ex.ints([0, abs(k)]), _f32(ex, 0.0, h)], h, mode="constant")
    n = shape(a[0])[0]
    rows, cols = _grid(ex, padded, (None if n is None else n + abs(k),), 0, 0, h)  # (m,1) (1,m)
    values = ex.one("Gather", [padded, ex.one("Min", [rows, cols], h)], h, axis=0)
    on = ex.one("Equal", [ex.one("Sub", [cols, rows], h), _i64(ex, k, h)], h)
    return ex.one("Where", [on, values, _f32(ex, 0.0)], h), _F


# -- reductions -----------------------------------------------------------------------------


def _reduce_axes(call: Call, rank: int) -> list[int]:
    axis = cfg(call, "axis")
    if isinstance(axis, list) and not axis:
        raise refuse(call, "reduces over axis=() (no axes); ONNX export needs axes or None.")
    return axes_of(call, axis, rank)


def _ptp(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    axes, keep = _reduce_axes(call, _rank(a[0])), bool(cfg(call, "keepdims"))
    hi = ex.reduce("ReduceMax", x, axes, h, keepdims=keep)
    return ex.one("Sub", [hi, ex.reduce("ReduceMin", x, axes, h, keepdims=keep)], h), _F


def _nan_extreme(big: bool) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        x, h = fl(ex, call, a[0]), call.hint
        axes, keep = _reduce_axes(call, _rank(a[0])), bool(cfg(call, "keepdims"))
        nan = ex.one("IsNaN", [x], h)
        clean = ex.one("Where", [nan, _f32(ex, -np.inf if big else np.inf, h), x], h)
        y = ex.reduce("ReduceMax" if big else "ReduceMin", clean, axes, h, keepdims=keep)
        all_nan = ex.reduce("ReduceMin", ex.one("Cast", [nan], h, to=_F), axes, h,
                            keepdims=keep)
        none = _f32(ex, float("nan"), h)
        return ex.one("Where", [ex.one("Cast", [all_nan], h, to=_B), none, y], h), _F
    return entry


def _flip_axis(axis: int) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        if _rank(a[0]) <= axis:
            raise refuse(call, f"flips axis {axis} of a rank-{_rank(a[0])} tensor.")
        return ex.flip(fl(ex, call, a[0]), axis, call.hint), _F
    return entry


ENTRIES_C: dict[str, Callable] = {
    "Sort": _order(True), "Argsort": _order(False), "TopK": _top_k,
    "Split": _split(True), "ArraySplit": _split(False), "Unstack": _unstack,
    "Pad": _pad, "Repeat": _repeat, "Roll": _roll, "Cumprod": _cumprod,
    "Tril": _tri(False), "Triu": _tri(True), "Diagonal": _diagonal, "Diag": _diag,
    "Trace": _trace, "Ptp": _ptp, "Nanmax": _nan_extreme(True),
    "Nanmin": _nan_extreme(False), "Fliplr": _flip_axis(1), "Flipud": _flip_axis(0),
}

__all__ = ["ENTRIES_C", "cum_input"]
