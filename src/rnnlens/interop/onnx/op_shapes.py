"""Op nodes that reduce or move axes, as ONNX operators; and the table of every op entry.

Reductions (``axis`` None / int / tuple, ``keepdims``)::

    sum, mean, max, amax, min, amin, prod   ReduceSum / ReduceMean / ReduceMax / ...
    all, any                                ReduceMin / ReduceMax of Cast(x != 0)
    var, std                                mean((x - mean x)^2), its Sqrt
    logsumexp                               m + log(sum(exp(x - m))), m = max (kept finite)
    argmax, argmin                          ArgMax / ArgMin (axis None: of the flat tensor)
    softmax, log_softmax, cumsum            Softmax / LogSoftmax / CumSum over one axis

Shapes: ``reshape`` (``newshape`` holds the batch axis, as Keras's op), ``transpose``,
``expand_dims``, ``squeeze`` (``axis=None``: the axes of static size 1), ``stack``,
``concatenate``, ``broadcast_to``, ``flip``, ``moveaxis``, ``swapaxes``, ``ravel`` and
``x[key]``::

    x[k_1, ..., k_n]  ->  Slice(starts, ends, axes, steps)   (ints: [i, i + 1))
                          Squeeze(the int axes), Unsqueeze(the None positions)

The ordering, piece, padding and diagonal ops (``sort``, ``top_k``, ``split``, ``pad``,
``roll``, ``cumprod``, ``tril``, ``diagonal``, ...) are in :mod:`.op_order`; an entry of
a multi-output op returns one ``(name, element type)`` per output, each cast to the
dtype rnnlens gives that output.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from rnnlens.interop.onnx.export import INT64_MAX, Call
from rnnlens.interop.onnx.op_nodes import (ENTRIES_A, _is_tensor, axes_of, cfg, fl, refuse,
                                          scalar)
from rnnlens.interop.onnx.op_order import ENTRIES_C, cum_input

_F, _B, _I64 = 1, 9, 7
_INT64_MIN = -(2 ** 63)


def _rank(value: Any) -> int:
    return len(value.shape) if _is_tensor(value) else np.ndim(value)


def _reduce(op_type: str, bool_input: bool = False) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        if cfg(call, "initial") is not None:
            raise refuse(call, "uses initial=..., which ONNX export does not write.")
        x = fl(ex, call, a[0])
        if bool_input:
            x = ex.one("Cast", [ex.as_bool(ex.raw_of(a[0]))], call.hint, to=_F)
        axes = axes_of(call, cfg(call, "axis"), _rank(a[0]))
        y = ex.reduce(op_type, x, axes, call.hint, keepdims=bool(cfg(call, "keepdims")))
        return y, (_B if bool_input else _F)
    return entry


def _moment(sqrt: bool) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        x, h = fl(ex, call, a[0]), call.hint
        axes = axes_of(call, cfg(call, "axis"), _rank(a[0]))
        d = ex.one("Sub", [x, ex.reduce("ReduceMean", x, axes, h)], h)
        y = ex.reduce("ReduceMean", ex.one("Mul", [d, d], h), axes, h,
                      keepdims=bool(cfg(call, "keepdims")))
        return (ex.one("Sqrt", [y], h) if sqrt else y), _F
    return entry


def _logsumexp(ex: Any, call: Call, a: list) -> tuple:
    x, h = fl(ex, call, a[0]), call.hint
    axes = axes_of(call, cfg(call, "axis"), _rank(a[0]))
    m = ex.reduce("ReduceMax", x, axes, h)
    finite = ex.one("Where", [ex.one("IsInf", [m], h), scalar(ex, 0.0), m], h)
    s = ex.reduce("ReduceSum", ex.one("Exp", [ex.one("Sub", [x, finite], h)], h), axes, h)
    y = ex.one("Add", [ex.one("Log", [s], h), finite], h)
    return (y if cfg(call, "keepdims") else ex.one("Squeeze", [y, ex.ints(axes)], h)), _F


def _arg(op_type: str) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        x, h, axis = fl(ex, call, a[0]), call.hint, cfg(call, "axis")
        keep = int(bool(cfg(call, "keepdims")))
        if axis is None:
            flat = ex.one("Reshape", [x, ex.ints([-1])], h)
            y = ex.one(op_type, [flat], h, axis=0, keepdims=0)
            if keep:
                y = ex.one("Reshape", [y, ex.ints([1] * _rank(a[0]))], h)
            return y, _I64
        return ex.one(op_type, [x], h, axis=axes_of(call, axis, _rank(a[0]))[0],
                      keepdims=keep), _I64
    return entry


def _one_axis(op_type: str) -> Callable:
    def entry(ex: Any, call: Call, a: list) -> tuple:
        x, h, axis = fl(ex, call, a[0]), call.hint, cfg(call, "axis")
        if op_type == "CumSum":
            x = cum_input(ex, call, x)
            if axis is None:
                x, axis = ex.one("Reshape", [x, ex.ints([-1])], h), 0
            return ex.one("CumSum", [x, ex.ints([int(axis)])], h), _F
        if not isinstance(axis, int):
            raise refuse(call, f"uses axis={axis}; ONNX export takes one integer axis.")
        return ex.one(op_type, [x], h, axis=axis_in(call, axis, _rank(a[0]))), _F
    return entry


def axis_in(call: Call, axis: int, rank: int) -> int:
    return axes_of(call, axis, rank)[0]


# -- shapes ---------------------------------------------------------------------------------


def _reshape(ex: Any, call: Call, a: list) -> tuple:
    new = cfg(call, "newshape")
    new = [-1 if d is None else int(d) for d in (new if isinstance(new, list) else [new])]
    if 0 in new:
        raise refuse(call, f"reshapes to {new}, with a size 0, which ONNX export does not "
                     "write.")
    return ex.one("Reshape", [fl(ex, call, a[0]), ex.ints(new)], call.hint), _F


def _transpose(ex: Any, call: Call, a: list) -> tuple:
    rank, axes = _rank(a[0]), cfg(call, "axes")
    perm = list(range(rank))[::-1] if axes is None else [int(p) % rank for p in axes]
    return ex.one("Transpose", [fl(ex, call, a[0])], call.hint, perm=perm), _F


def _moveaxis(ex: Any, call: Call, a: list) -> tuple:
    rank = _rank(a[0])
    src, dst = cfg(call, "source"), cfg(call, "destination")
    src = axes_of(call, src, rank) if isinstance(src, int) else \
        [int(s) % rank for s in src]
    dst = axes_of(call, dst, rank) if isinstance(dst, int) else \
        [int(d) % rank for d in dst]
    rest = [k for k in range(rank) if k not in src]
    perm: list[Any] = [None] * rank
    for s, d in zip(src, dst):
        perm[d] = s
    for k in range(rank):
        if perm[k] is None:
            perm[k] = rest.pop(0)
    return ex.one("Transpose", [fl(ex, call, a[0])], call.hint, perm=perm), _F


def _swapaxes(ex: Any, call: Call, a: list) -> tuple:
    rank = _rank(a[0])
    i, j = (axis_in(call, int(cfg(call, k)), rank) for k in ("axis1", "axis2"))
    perm = list(range(rank))
    perm[i], perm[j] = j, i
    return ex.one("Transpose", [fl(ex, call, a[0])], call.hint, perm=perm), _F


def _squeeze(ex: Any, call: Call, a: list) -> tuple:
    """``axis=None``: every axis of size 1 in the run (a batch of 1 too, as NumPy)."""
    x, axis = fl(ex, call, a[0]), cfg(call, "axis")
    if axis is None:
        return ex.one("Squeeze", [x], call.hint), _F
    axes = axes_of(call, axis, len(a[0].shape))
    return (ex.one("Squeeze", [x, ex.ints(axes)], call.hint) if axes else x), _F


def _expand_dims(ex: Any, call: Call, a: list) -> tuple:
    axis = cfg(call, "axis")
    n = len(axis) if isinstance(axis, list) else 1
    axes = axes_of(call, axis, _rank(a[0]) + n)
    return ex.one("Unsqueeze", [fl(ex, call, a[0]), ex.ints(axes)], call.hint), _F


def _concatenate(ex: Any, call: Call, a: list) -> tuple:
    parts = [fl(ex, call, v) for v in a[0]]
    axis = axis_in(call, int(cfg(call, "axis")), _rank(a[0][0]))
    return ex.one("Concat", parts, call.hint, axis=axis), _F


def _stack(ex: Any, call: Call, a: list) -> tuple:
    axis = axis_in(call, int(cfg(call, "axis")), _rank(a[0][0]) + 1)
    parts = [ex.one("Unsqueeze", [fl(ex, call, v), ex.ints([axis])], call.hint) for v in a[0]]
    return ex.one("Concat", parts, call.hint, axis=axis), _F


def _broadcast_to(ex: Any, call: Call, a: list) -> tuple:
    target = cfg(call, "shape")
    if any(d is None for d in target):
        raise refuse(call, f"broadcasts to {target}, with an unknown size.")
    return ex.one("Expand", [fl(ex, call, a[0]), ex.ints(target)], call.hint), _F


def _flip(ex: Any, call: Call, a: list) -> tuple:
    x = fl(ex, call, a[0])
    for axis in axes_of(call, cfg(call, "axis"), _rank(a[0])):
        x = ex.flip(x, axis, call.hint)
    return x, _F


def _ravel(ex: Any, call: Call, a: list) -> tuple:
    return ex.one("Reshape", [fl(ex, call, a[0]), ex.ints([-1])], call.hint), _F


def _key_items(call: Call, key: Any, rank: int) -> list:
    """``key`` as one item per output position: ints, slices and None, ``...`` expanded."""
    items = list(key) if isinstance(key, (list, tuple)) else [key]
    for item in items:
        ok = item is None or item is Ellipsis or isinstance(item, slice) or \
            (isinstance(item, (int, np.integer)) and not isinstance(item, bool))
        if not ok or (isinstance(item, slice) and not all(
                v is None or isinstance(v, (int, np.integer))
                for v in (item.start, item.stop, item.step))):
            raise refuse(call, f"indexes with {item!r}; ONNX export writes basic keys only "
                         "(ints, slices of ints, None, ...).")
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if sum(1 for i in items if i is Ellipsis) > 1 or used > rank:
        raise refuse(call, f"indexes a rank-{rank} tensor with {key!r}.")
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items[k:k + 1] = [slice(None)] * (rank - used)
    used = sum(1 for i in items if i is not None)
    return items + [slice(None)] * (rank - used)


def _bounds(call: Call, item: slice, step: int, size: int | None) -> tuple[int, int]:
    """ONNX Slice's start and end for ``item``: Python's own numbers on a known size;
    on an unknown one the same clamping, except a negative start beyond the axis with a
    negative step (Python: empty; ONNX: the first element), which is refused."""
    if size is not None:
        lo, hi, _ = item.indices(size)
        if step < 0 and lo < 0:                    # Python's "before the first": empty
            return 0, 0
        return lo, (_INT64_MIN if step < 0 and hi < 0 else hi)
    if step < 0 and item.start is not None and item.start < 0:
        raise refuse(call, f"slices an axis of unknown size with {item!r} (a negative start "
                     "and step); ONNX export needs the size or a non-negative start.")
    lo = item.start if item.start is not None else (0 if step > 0 else INT64_MAX)
    hi = item.stop if item.stop is not None else (INT64_MAX if step > 0 else _INT64_MIN)
    return lo, hi


def _get_item(ex: Any, call: Call, a: list) -> tuple:
    x, h = a[0], call.hint
    if len(a) < 2 or _is_tensor(a[1]) or isinstance(a[1], np.ndarray):
        raise refuse(call, "indexes with a tensor or an array; ONNX export writes basic keys "
                     "only (ints, slices, None, ...).")
    shape = tuple(x.shape)
    items = _key_items(call, a[1], len(shape))
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    d = out = 0
    for item in items:
        if item is None:
            new.append(out)
            out += 1
            continue
        if isinstance(item, slice):
            step = 1 if item.step is None else int(item.step)
            if step == 0:
                raise refuse(call, "uses a slice step of 0.")
            lo, hi = _bounds(call, item, step, shape[d])
            if (lo, hi, step) != (0, INT64_MAX, 1):
                starts, ends, axes, steps = starts + [int(lo)], ends + [int(hi)], \
                    axes + [d], steps + [step]
            out += 1
        else:
            i = int(item)
            if shape[d] is not None and not -shape[d] <= i < shape[d]:
                raise refuse(call, f"reads index {i} of an axis of size {shape[d]}.")
            starts, ends, axes, steps = starts + [i], ends + [INT64_MAX if i == -1 else i + 1], \
                axes + [d], steps + [1]
            drop.append(d)
        d += 1
    y = fl(ex, call, x)
    if axes:
        y = ex.one("Slice", [y, ex.ints(starts), ex.ints(ends), ex.ints(axes), ex.ints(steps)],
                   h)
    if drop:
        y = ex.one("Squeeze", [y, ex.ints(drop)], h)
    if new:
        y = ex.one("Unsqueeze", [y, ex.ints(new)], h)
    return y, _F


ENTRIES_B: dict[str, Callable] = {
    "Sum": _reduce("ReduceSum"), "Mean": _reduce("ReduceMean"), "Max": _reduce("ReduceMax"),
    "Amax": _reduce("ReduceMax"), "Min": _reduce("ReduceMin"), "Amin": _reduce("ReduceMin"),
    "Prod": _reduce("ReduceProd"), "All": _reduce("ReduceMin", bool_input=True),
    "Var": _moment(False), "Std": _moment(True), "Logsumexp": _logsumexp,
    "Argmax": _arg("ArgMax"), "Argmin": _arg("ArgMin"),
    "Softmax": _one_axis("Softmax"), "LogSoftmax": _one_axis("LogSoftmax"),
    "Cumsum": _one_axis("CumSum"),
    "Reshape": _reshape, "Transpose": _transpose, "Moveaxis": _moveaxis,
    "Swapaxes": _swapaxes, "Squeeze": _squeeze, "Stack": _stack,
    "BroadcastTo": _broadcast_to, "Flip": _flip, "Ravel": _ravel, "GetItem": _get_item,
}

#: Op classes whose entries are the mask ops of :mod:`.masks` (element types kept).
_MASK_OPS = ("NotEqual", "Equal", "Any", "ExpandDims", "ZerosLike", "OnesLike",
             "LogicalOr", "LogicalAnd", "Concatenate")


def _cast(ex: Any, call: Call, a: list) -> tuple:
    """``cast`` to a float type other than float32: rounded there, carried as float32."""
    x, want = fl(ex, call, a[0]), np.dtype(cfg(call, "dtype") or "float32")
    if np.issubdtype(want, np.floating) and want != np.float32:
        x = ex.one("Cast", [x], call.hint, to=ex.helper.np_dtype_to_tensor_dtype(want))
        x = ex.one("Cast", [x], call.hint, to=_F)
    return x, _F


def _relu_op(ex: Any, call: Call, a: list) -> tuple:
    """``keras.activations.relu(x, negative_slope, max_value, threshold)`` (Keras's ReLU
    operation): ``clip(where(x > t, x, 0), 0, m) - s relu(t - x)``."""
    x, h = fl(ex, call, a[0]), call.hint
    slope, top, t = (cfg(call, k) for k in ("negative_slope", "max_value", "threshold"))
    y = ex.one("Relu", [x], h) if not t else \
        ex.one("Where", [ex.one("Greater", [x, scalar(ex, float(t))], h), x, scalar(ex, 0.0)], h)
    if top is not None:
        y = ex.one("Clip", [y, scalar(ex, 0.0), scalar(ex, float(top))], h)
    if slope:
        below = ex.one("Relu", [ex.one("Sub", [scalar(ex, float(t or 0.0)), x], h)], h)
        y = ex.one("Sub", [y, ex.one("Mul", [scalar(ex, float(slope)), below], h)], h)
    return y, _F


def _one_hot(ex: Any, call: Call, a: list) -> tuple:
    """``one_hot(x, n)`` along the last axis: ``x[..., None] == [0, ..., n - 1]`` (ids
    outside ``[0, n)`` give zeros, as TensorFlow)."""
    if cfg(call, "axis") not in (-1, len(shape_of(a[0]))) or cfg(call, "sparse"):
        raise refuse(call, "uses axis != -1 or sparse=True; ONNX export writes the dense "
                     "one-hot along the last axis.")
    n = int(cfg(call, "num_classes"))
    ids = ex.one("Unsqueeze", [fl(ex, call, a[0]), ex.ints([-1])], call.hint)
    classes = ex.const(np.arange(n, dtype=np.float32), f"{call.hint}/classes")
    return ex.one("Equal", [ids, classes], call.hint), _B


def shape_of(value: Any) -> tuple:
    return tuple(value.shape) if _is_tensor(value) else np.shape(value)


def _take(ex: Any, call: Call, a: list) -> tuple:
    x, axis, h = fl(ex, call, a[0]), cfg(call, "axis"), call.hint
    if axis is None:
        x, axis = ex.one("Reshape", [x, ex.ints([-1])], h), 0
    else:
        axis = axis_in(call, int(axis), _rank(a[0]))
    idx = a[1]
    index = ex.one("Cast", [ex.raw_of(idx)], h, to=_I64) if _is_tensor(idx) else \
        ex.const(np.asarray(idx, np.int64), f"{h}/indices")
    return ex.one("Gather", [x, index], h, axis=axis), _F


def _tile(ex: Any, call: Call, a: list) -> tuple:
    reps = cfg(call, "repeats")
    reps = [int(r) for r in (reps if isinstance(reps, list) else [reps])]
    x, rank = fl(ex, call, a[0]), _rank(a[0])
    if len(reps) > rank:
        x = ex.one("Unsqueeze", [x, ex.ints(list(range(len(reps) - rank)))], call.hint)
    reps = [1] * (max(rank, len(reps)) - len(reps)) + reps
    return ex.one("Tile", [x, ex.ints(reps)], call.hint), _F


def _ENTRIES() -> dict[str, Callable]:
    return {**ENTRIES_A, **ENTRIES_B, **ENTRIES_C, "Cast": _cast, "SaturateCast": _cast,
            "OneHot": _one_hot, "Take": _take, "Tile": _tile}


def exported_ops() -> list[str]:
    """The Keras op classes ONNX export writes (every one a class of ``_op_table``)."""
    from rnnlens.layers._op_table import OPS

    known = {entry[0] for entry in OPS.values()} | {"ReLU"}
    return sorted((set(_ENTRIES()) | set(_MASK_OPS) | {"ReLU"}) & known)


def _finish(ex: Any, call: Call, entry: Callable) -> list[str]:
    """The entry's results (one, or a list for ``split``, ``top_k``, ...) each cast to the
    dtype rnnlens gives that output of the node."""
    made = entry(ex, call, list(call.args))
    made = made if isinstance(made, list) else [made]
    if len(made) != len(call.out_shapes):
        raise refuse(call, f"gives {len(call.out_shapes)} outputs in rnnlens, and ONNX export "
                     f"wrote {len(made)}.")                  # pragma: no cover - internal
    dtypes = call.out_dtypes or ["float32"] * len(made)
    names = []
    for (name, elem), dtype in zip(made, dtypes):
        want = np.dtype(dtype)
        target = _F if np.issubdtype(want, np.floating) else \
            ex.helper.np_dtype_to_tensor_dtype(want)
        if target != elem:
            name = ex.one("Cast", [name], call.hint, to=target)
        names.append(ex.mark(name, target))
    return names


@functools.lru_cache(maxsize=1)
def emitters_table() -> dict[type, Callable]:
    """Op node class -> emitter, for :func:`rnnlens.interop.onnx.export.emitters`."""
    from rnnlens.layers.op_nodes import OP_REGISTRY, ReLUOp

    table = {ReLUOp: functools.partial(_run, entry=_relu_op)}
    for name, entry in _ENTRIES().items():
        if name in OP_REGISTRY and name not in _MASK_OPS:
            table[OP_REGISTRY[name]] = functools.partial(_run, entry=entry)
    return table


def _run(ex: Any, call: Call, entry: Callable) -> list[str]:
    return _finish(ex, call, entry)


def op_export_markdown() -> str:
    """The text of ``docs/op_export.md``: every Keras op class, whether ONNX export and
    ``to_torch`` write it (``tests/test_onnx_op_nodes.py`` keeps the file equal)."""
    from rnnlens.interop.torch.op_shapes import converted_ops
    from rnnlens.layers._op_table import OPS

    onnx_ops, torch_ops = set(exported_ops()), set(converted_ops())
    rows = sorted([(entry[0], f"ops.{name}") for name, entry in OPS.items()]
                  + [("ReLU", "activations.relu")])
    both = sum(1 for cls, _ in rows if cls in onnx_ops and cls in torch_ops)
    lines = [
        "# Exporting Keras op nodes (ONNX, PyTorch)",
        "",
        "A functional model built with `rnnlens.ops` on symbolic tensors (`ops.exp(x)`, "
        "`x + 1`,",
        "`x[:, -1]`, `ops.sum(x, axis=1)`, ...) records one op node per call, as Keras "
        "does.",
        "`rnnlens.interop.onnx.to_onnx` writes these nodes as ONNX operators and",
        "`rnnlens.interop.to_torch` as torch operations, with rnnlens's numbers "
        "(float32,",
        "within 1e-5 in `tests/test_onnx_op_nodes.py` and `tests/test_torch_op_nodes.py`). "
        "Arithmetic",
        "runs in float32; comparisons give bool; each result is cast to the dtype "
        "rnnlens gives",
        "the node (`argmax`: int32, `x > 0`: bool). `x[key]` takes basic keys (ints, "
        "slices with",
        "any step, `None`, `...`); an array, list or tensor index is refused. Any op "
        "marked no",
        "below is a ValueError naming the node and the op (e.g. `Op node 'median' "
        "(ops.median,",
        "Keras's Median) is not supported by ONNX export`), as are settings the formulas "
        "do not",
        "cover (`round(decimals != 0)`, `max(initial=...)`, `cumsum(dtype='float16')`, "
        "`pad` with",
        "a tensor `constant_values`, softmax over several axes). Multi-output ops (`split`, "
        "`array_split`,",
        "`unstack`, `top_k`) write one output per piece. `sort` / `argsort` / `top_k` order "
        "ties as a",
        "stable sort (the lower index first); where NaN goes in a sort is not covered.",
        "",
        f"{len(onnx_ops)} of {len(rows)} op classes export to ONNX, {len(torch_ops)} "
        f"convert to PyTorch ({both} both).",
        "This file is generated by `rnnlens.interop.onnx.op_shapes.op_export_markdown()`.",
        "",
        "| Keras op class | rnnlens function | ONNX | PyTorch |",
        "|---|---|---|---|",
    ]
    for cls, name in rows:
        lines.append(f"| `{cls}` | `{name}` | {'yes' if cls in onnx_ops else 'no'} | "
                     f"{'yes' if cls in torch_ops else 'no'} |")
    return "\n".join(lines) + "\n"


__all__ = ["ENTRIES_B", "exported_ops", "emitters_table", "op_export_markdown"]
