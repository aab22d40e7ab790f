"""Op nodes that reduce or move axes, as torch operations; the op module and its table.

Reductions take ``axis`` (None / int / tuple) and ``keepdims`` as rnnlens; ``x[key]``
applies the key item by item (ints ``select``, slices with a positive step narrow,
negative steps ``index_select`` the indices Python's ``range(n)[slice]`` gives, None
``unsqueeze``), so ``x[:, ::-1]`` works although torch has no negative-step slices.
The ordering, piece, padding and diagonal ops are in :mod:`.ops_order` (a multi-output
op's function returns a list; ``OpModule`` casts each to its output's dtype).
:func:`converted_ops` lists the op classes converted (``docs/op_export.md``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from rnnlens.interop.torch.ops import OPS_A, _axes, _dtype, fl, is_graph_tensor
from rnnlens.interop.torch.ops_order import OPS_C, cum_input, unsupported


def _x(torch: Any, a: list) -> Any:
    return fl(torch, a[0], _dtype(torch, a))


def _reduce(name: str) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        if c.get("initial") is not None:
            raise ValueError(f"{name}(initial=...) is not converted to PyTorch.")
        x = a[0].bool().to(_dtype(torch, a)) if name in ("all", "any") else _x(torch, a)
        dims, keep = _axes(c.get("axis"), x.dim()), bool(c.get("keepdims"))
        if name in ("sum", "mean"):
            return getattr(torch, name)(x, dim=dims, keepdim=keep) if dims else x
        if name in ("amax", "amin", "all", "any"):
            fn = torch.amin if name in ("amin", "all") else torch.amax
            y = fn(x, dim=dims, keepdim=keep) if dims else x
            return y.bool() if name in ("all", "any") else y
        for d in sorted(dims, reverse=True):                       # prod: one axis at a time
            x = torch.prod(x, dim=d, keepdim=keep)
        return x
    return entry


def _moment(sqrt: bool) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        x = _x(torch, a)
        dims = _axes(c.get("axis"), x.dim())
        d = x - torch.mean(x, dim=dims, keepdim=True)
        y = torch.mean(d * d, dim=dims, keepdim=bool(c.get("keepdims")))
        return torch.sqrt(y) if sqrt else y
    return entry


def _logsumexp(torch: Any, c: dict, a: list) -> Any:
    x = _x(torch, a)
    dims = _axes(c.get("axis"), x.dim())
    m = torch.amax(x, dim=dims, keepdim=True)
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    y = torch.log(torch.sum(torch.exp(x - m), dim=dims, keepdim=True)) + m
    return y if c.get("keepdims") else y.squeeze(dim=tuple(dims)) if dims else y


def _arg(fn_name: str) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        x, axis, keep = _x(torch, a), c.get("axis"), bool(c.get("keepdims"))
        fn = getattr(torch, fn_name)
        if axis is None:
            y = fn(x.reshape(-1))
            return y.reshape([1] * x.dim()) if keep else y
        return fn(x, dim=int(axis), keepdim=keep)
    return entry


def _softmax(log: bool) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        x, axis = _x(torch, a), c.get("axis")
        if not isinstance(axis, int):
            raise ValueError(f"softmax over axis={axis} is not converted to PyTorch.")
        fn = torch.log_softmax if log else torch.softmax
        return fn(x, dim=axis)
    return entry


def _cumsum(torch: Any, c: dict, a: list) -> Any:
    x, axis = cum_input(torch, c, _x(torch, a)), c.get("axis")
    return torch.cumsum(x.reshape(-1), 0) if axis is None else torch.cumsum(x, int(axis))


def _reshape(torch: Any, c: dict, a: list) -> Any:
    new = c["newshape"]
    new = [-1 if d is None else int(d) for d in (new if isinstance(new, list) else [new])]
    return _x(torch, a).reshape(new)


def _transpose(torch: Any, c: dict, a: list) -> Any:
    x = _x(torch, a)
    axes = c.get("axes")
    return x.permute(*(range(x.dim() - 1, -1, -1) if axes is None else axes))


def _squeeze(torch: Any, c: dict, a: list) -> Any:
    """``axis=None``: every axis of size 1 in the run (a batch of 1 too, as NumPy)."""
    x, axis = _x(torch, a), c.get("axis")
    if axis is None:
        return x.squeeze()
    dims = _axes(axis, x.dim())
    return x.squeeze(dim=tuple(dims)) if dims else x


def _expand_dims(torch: Any, c: dict, a: list) -> Any:
    x, axis = _x(torch, a), c["axis"]
    n = len(axis) if isinstance(axis, list) else 1
    for d in _axes(axis, x.dim() + n):
        x = x.unsqueeze(d)
    return x


def _stack(torch: Any, c: dict, a: list) -> Any:
    dtype = _dtype(torch, a)
    return torch.stack([fl(torch, v, dtype) for v in a[0]], dim=int(c["axis"]))


def _concatenate(torch: Any, c: dict, a: list) -> Any:
    dtype = _dtype(torch, a)
    return torch.cat([fl(torch, v, dtype) for v in a[0]], dim=int(c["axis"]))


def _flip(torch: Any, c: dict, a: list) -> Any:
    x = _x(torch, a)
    return torch.flip(x, dims=_axes(c.get("axis"), x.dim()))


def _swapaxes(torch: Any, c: dict, a: list) -> Any:
    return _x(torch, a).transpose(int(c["axis1"]), int(c["axis2"]))


def _moveaxis(torch: Any, c: dict, a: list) -> Any:
    return torch.movedim(_x(torch, a), c["source"], c["destination"])


def _broadcast_to(torch: Any, c: dict, a: list) -> Any:
    return _x(torch, a).expand(*[int(d) for d in c["shape"]])


def _cast(torch: Any, c: dict, a: list) -> Any:
    """To a float type other than the module's: rounded there, carried back."""
    x, want = _x(torch, a), np.dtype(c.get("dtype") or "float32")
    if np.issubdtype(want, np.floating) and want != np.float32:
        return x.to(getattr(torch, want.name)).to(x.dtype)
    return x


def _one_hot(torch: Any, c: dict, a: list) -> Any:
    """``x[..., None] == [0, ..., n - 1]`` (ids outside ``[0, n)``: zeros, as TF)."""
    x = _x(torch, a)
    return x.unsqueeze(-1) == torch.arange(int(c["num_classes"]), dtype=x.dtype,
                                           device=x.device)


def _take(torch: Any, c: dict, a: list) -> Any:
    x, axis = _x(torch, a), c.get("axis")
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = int(axis) % x.dim()
    idx = a[1].long() if torch.is_tensor(a[1]) else torch.as_tensor(np.asarray(a[1], np.int64))
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    flat = torch.index_select(x, axis, idx.reshape(-1))
    return flat.reshape(*x.shape[:axis], *idx.shape, *x.shape[axis + 1:])


def _tile(torch: Any, c: dict, a: list) -> Any:
    x, reps = _x(torch, a), c["repeats"]
    reps = [int(r) for r in (reps if isinstance(reps, list) else [reps])]
    return x.repeat(*([1] * (x.dim() - len(reps)) + reps))


def _get_item(torch: Any, c: dict, a: list) -> Any:
    x, key = _x(torch, a), a[1]
    items = list(key) if isinstance(key, (list, tuple)) else [key]
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items[k:k + 1] = [slice(None)] * (x.dim() - used)
    d = 0
    for item in items:
        if item is None:
            x, d = x.unsqueeze(d), d + 1
        elif isinstance(item, slice):
            if item.step is not None and item.step < 0:
                index = list(range(x.shape[d]))[item]
                x = torch.index_select(x, d, torch.as_tensor(index, dtype=torch.long,
                                                             device=x.device))
            else:
                x = x[(slice(None),) * d + (item,)]
            d += 1
        else:
            x = x.select(d, int(item))
    return x


def _relu_op(torch: Any, c: dict, a: list) -> Any:
    """``keras.activations.relu``: ``clip(where(x > t, x, 0), 0, m) - s relu(t - x)``."""
    x = _x(torch, a)
    slope, top, t = c.get("negative_slope"), c.get("max_value"), c.get("threshold") or 0.0
    y = torch.relu(x) if not t else torch.where(x > t, x, torch.zeros_like(x))
    if top is not None:
        y = torch.clamp(y, 0.0, float(top))
    return y - float(slope) * torch.relu(t - x) if slope else y


OPS_B: dict[str, Callable] = {
    "Sum": _reduce("sum"), "Mean": _reduce("mean"), "Max": _reduce("amax"),
    "Amax": _reduce("amax"), "Min": _reduce("amin"), "Amin": _reduce("amin"),
    "Prod": _reduce("prod"), "All": _reduce("all"), "Any": _reduce("any"),
    "Var": _moment(False), "Std": _moment(True), "Logsumexp": _logsumexp,
    "Argmax": _arg("argmax"), "Argmin": _arg("argmin"), "Softmax": _softmax(False),
    "LogSoftmax": _softmax(True), "Cumsum": _cumsum, "Reshape": _reshape,
    "Transpose": _transpose, "Moveaxis": _moveaxis, "Swapaxes": _swapaxes,
    "Squeeze": _squeeze, "ExpandDims": _expand_dims, "Stack": _stack,
    "Concatenate": _concatenate, "BroadcastTo": _broadcast_to, "Flip": _flip,
    "Ravel": lambda t, c, a: _x(t, a).reshape(-1), "GetItem": _get_item,
    "Cast": _cast, "SaturateCast": _cast, "OneHot": _one_hot, "Take": _take, "Tile": _tile,
}

#: Op classes converted by the mask-op module of :mod:`.conv` (element types kept).
_MASK_OPS = ("NotEqual", "Equal", "Any", "ExpandDims", "ZerosLike", "OnesLike",
             "LogicalOr", "LogicalAnd", "Concatenate")


def converted_ops() -> list[str]:
    """The Keras op classes ``to_torch`` converts (every one a class of ``_op_table``)."""
    from rnnlens.layers._op_table import OPS

    known = {entry[0] for entry in OPS.values()} | {"ReLU"}
    return sorted((set(OPS_A) | set(OPS_B) | set(OPS_C) | set(_MASK_OPS) | {"ReLU"}) & known)


@functools.lru_cache(maxsize=1)
def op_converters() -> dict[type, Callable]:
    """Op node class -> ``make(layer, node) -> module`` for :mod:`.model`'s table."""
    from rnnlens.layers.op_nodes import OP_REGISTRY, ReLUOp

    table = {ReLUOp: functools.partial(_make, fn=_relu_op)}
    for name, fn in {**OPS_A, **OPS_B, **OPS_C}.items():
        # concatenate here rather than as a mask op: NumPy constants among the parts
        if name in OP_REGISTRY and (name not in _MASK_OPS or name == "Concatenate"):
            table[OP_REGISTRY[name]] = functools.partial(_make, fn=fn)
    return table


def _make(layer: Any, node: Any, fn: Callable) -> Any:
    args = node.args
    if type(layer).__name__ == "GetItem" and (len(args) < 2 or is_graph_tensor(args[1])
                                              or isinstance(args[1], np.ndarray)
                                              or _fancy(args[1])):
        raise ValueError(f"Cannot convert op node '{layer.name}' (ops.get_item, Keras's "
                         "GetItem) to PyTorch: it indexes with a tensor, an array or a list; "
                         "basic keys only (ints, slices, None, ...).")
    cls = type(layer).__name__
    reason = _unsupported_setting(cls, layer.op_config, args) or \
        (unsupported(cls, layer.op_config, node) if cls in OPS_C or cls == "Cumsum" else "")
    if reason:
        raise ValueError(f"Cannot convert op node '{layer.name}' (ops.{layer.op_name}, "
                         f"Keras's {cls}) to PyTorch: {reason}")
    extra = {"constant_values": node.kwargs.get("constant_values")} if cls == "Pad" else {}
    return op_module()(layer, fn, [str(t.dtype) for t in node.outputs], extra)


def _unsupported_setting(cls: str, c: dict, args: tuple) -> str:
    """Why a setting of an otherwise converted op has no torch form here ('' if none)."""
    if cls == "OneHot" and (c.get("axis") != -1 or c.get("sparse")):
        return "one_hot with axis != -1 or sparse=True is not converted."
    if cls == "Round" and c.get("decimals"):
        return "decimals != 0 is not converted."
    if c.get("initial") is not None:
        return "initial=... is not converted."
    if cls in ("Softmax", "LogSoftmax") and not isinstance(c.get("axis"), int):
        return f"axis={c.get('axis')} is not one integer axis."
    if cls == "Where" and (len(args) < 3 or args[1] is None or args[2] is None):
        return "where(condition) without values is not converted."
    return ""


def _fancy(key: Any) -> bool:
    items = list(key) if isinstance(key, (list, tuple)) else [key]
    return not all(i is None or i is Ellipsis or isinstance(i, slice) or
                   (isinstance(i, (int, np.integer)) and not isinstance(i, bool)) for i in items)


@functools.lru_cache(maxsize=1)
def op_module() -> type:
    """``OpModule``: one op node; ``call(args, mask)`` runs its function on the arguments
    and casts each result (one, or a list for ``split``, ``top_k``, ...) to the dtype of
    that output of the node."""
    from rnnlens.interop.torch.layers import base, publish
    from rnnlens.interop.torch.weights import _import_torch

    torch = _import_torch()

    class OpModule(base()):
        def __init__(self, layer: Any, fn: Callable, dtypes: list[str],
                     extra: dict | None = None):
            super().__init__(layer.name, bool(layer.supports_masking))
            self.fn, self.config = fn, {**layer.op_config, **(extra or {})}
            self.out_dtypes = list(dtypes)

        def forward(self, x: Any, mask: Any = None, initial_state: Any = None) -> tuple:
            y = self.fn(torch, self.config, list(x))
            outs = list(y) if isinstance(y, (list, tuple)) else [y]
            made = [self._cast(v, d, list(x)) for v, d in zip(outs, self.out_dtypes)]
            return made, [self.compute_mask(x, mask)] * len(made)

        def call(self, x: Any, mask: Any) -> Any:
            return self.forward(x, mask)[0][0]

        def _cast(self, y: Any, dtype: str, args: list) -> Any:
            if np.issubdtype(np.dtype(dtype), np.floating):
                return y if y.is_floating_point() else y.to(_dtype(torch, args))
            return y.to(getattr(torch, dtype))

        def extra_repr(self) -> str:
            return f"name={self.keras_name!r}, op={getattr(self.fn, 'func', self.fn)!r}"

    return publish(__name__, OpModule=OpModule).OpModule


def __getattr__(name: str) -> Any:
    if name == "OpModule":                  # made on first use (subclasses nn.Module)
        return op_module()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["OPS_B", "converted_ops", "op_converters", "op_module"]
