"""VJPs of reductions, gathers (shape ops and indexing) and scatters.

Reductions over axes ``A`` (``N`` entries reduced), with ``g`` broadcast back over ``A``:

* ``sum``: ``g``; ``mean``: ``g / N``; ``var``: ``g 2 (x - m) / N``; ``std``:
  ``g (x - m) / (N s)``; ``logsumexp``: ``g e^(x - y)``;
* ``max`` / ``min``: ``g`` shared equally among the entries equal to the result (as
  TensorFlow's reduce_max); ``prod``: ``g`` times the product of the other entries
  (exclusive cumulative products, so zeros are exact);
* ``cumsum``: the reversed cumulative sum of ``g``; ``cumprod``:
  ``revcumsum(y g) / x``;
* ``quantile`` / ``percentile`` / ``median`` (and nan-variants): ``g`` to the one or two
  order statistics the result interpolates, with the interpolation weights;
* ``sort`` / ``top_k``: ``g`` back to the entries' original positions.

Gathers (see the package docstring) run the op on the positions ``1..n`` of its data
arguments and add ``g`` where each position landed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.autodiff.vjps import GATHER, gather, vjp


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    return tuple(sorted(int(a) % max(ndim, 1) for a in items))


def _keep(g: np.ndarray, shape: tuple, axes: tuple, keepdims: bool) -> np.ndarray:
    """``g`` with the reduced axes back as size 1."""
    if keepdims:
        return g
    return np.reshape(g, [1 if i in axes else n for i, n in enumerate(shape)])


def _x(ctx: Any, name: str = "x") -> np.ndarray:
    x = np.asarray(ctx.args[name])
    out = ctx.out[0] if isinstance(ctx.out, (list, tuple)) else ctx.out
    return x.astype(out.dtype, copy=False) if x.dtype.kind not in "fc" else x


@vjp("sum", "nansum")
def _sum(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    ax = _axes(ctx.args["axis"], x.ndim)
    gk = np.broadcast_to(_keep(g, x.shape, ax, ctx.args["keepdims"]), x.shape)
    return {"x": np.where(np.isnan(x), 0, gk) if ctx.name == "nansum" else gk}


@vjp("mean", "nanmean")
def _mean(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    ax = _axes(ctx.args["axis"], x.ndim)
    gk = _keep(g, x.shape, ax, ctx.args["keepdims"])
    if ctx.name == "nanmean":
        ok = ~np.isnan(x)
        n = ok.sum(axis=ax, keepdims=True).astype(x.dtype)
        return {"x": np.where(ok, gk / n, 0)}
    n = int(np.prod([x.shape[i] for i in ax], dtype=np.int64))
    return {"x": np.broadcast_to(gk / x.dtype.type(max(n, 1)), x.shape)}


@vjp("max", "min", "amax", "amin", "nanmax", "nanmin")
def _extreme(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    ax = _axes(ctx.args["axis"], x.ndim)
    keep = ctx.args["keepdims"]
    hit = (x == _keep(ctx.out, x.shape, ax, keep)).astype(x.dtype)
    count = hit.sum(axis=ax, keepdims=True)
    with np.errstate(all="ignore"):
        return {"x": hit * np.where(count > 0, _keep(g, x.shape, ax, keep) / count, 0)}


@vjp("ptp")
def _ptp(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    ax = _axes(ctx.args["axis"], x.ndim)
    gk = _keep(g, x.shape, ax, ctx.args["keepdims"])
    out = 0
    for f, sign in ((np.max, 1), (np.min, -1)):
        hit = (x == f(x, axis=ax, keepdims=True)).astype(x.dtype)
        out = out + sign * hit * gk / hit.sum(axis=ax, keepdims=True)
    return {"x": out}


def _exclusive_cumprod(v: np.ndarray, reverse: bool) -> np.ndarray:
    if reverse:
        v = v[..., ::-1]
    c = np.cumprod(np.concatenate([np.ones_like(v[..., :1]), v[..., :-1]], -1), -1)
    return c[..., ::-1] if reverse else c


@vjp("prod", "nanprod")
def _prod(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    if ctx.name == "nanprod":
        x = np.where(np.isnan(x), 1, x)
    ax = _axes(ctx.args["axis"], x.ndim)
    rest = [i for i in range(x.ndim) if i not in ax]
    perm = rest + list(ax)
    xt = np.transpose(x, perm)
    flat = xt.reshape(xt.shape[:len(rest)] + (-1,))
    others = _exclusive_cumprod(flat, False) * _exclusive_cumprod(flat, True)
    others = np.transpose(others.reshape(xt.shape), np.argsort(perm))
    d = others * _keep(g, x.shape, ax, ctx.args["keepdims"])
    if ctx.name == "nanprod":
        d = np.where(np.isnan(_x(ctx)), 0, d)
    return {"x": d}


@vjp("var", "std", "nanvar", "nanstd")
def _moment(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    ax = _axes(ctx.args["axis"], x.ndim)
    ok = ~np.isnan(x) if ctx.name.startswith("nan") else np.ones(x.shape, bool)
    n = ok.sum(axis=ax, keepdims=True).astype(x.dtype)
    xc = np.where(ok, x, 0)
    with np.errstate(all="ignore"):
        centred = np.where(ok, x - xc.sum(axis=ax, keepdims=True) / n, 0)
        gk = _keep(g, x.shape, ax, ctx.args["keepdims"])
        if ctx.name.endswith("std"):
            return {"x": gk * centred / (n * _keep(ctx.out, x.shape, ax,
                                                   ctx.args["keepdims"]))}
        return {"x": gk * 2 * centred / n}


@vjp("logsumexp")
def _logsumexp(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    ax = _axes(ctx.args["axis"], x.ndim)
    keep = ctx.args["keepdims"]
    with np.errstate(all="ignore"):
        return {"x": _keep(g, x.shape, ax, keep) * np.exp(x - _keep(ctx.out, x.shape, ax,
                                                                     keep))}


@vjp("average")
def _average(ctx: Any, g: np.ndarray) -> dict:
    x, w = _x(ctx), ctx.args["weights"]
    axis = ctx.args["axis"]
    ax = _axes(axis, x.ndim)
    gk = _keep(g, x.shape, ax, False)
    if w is None:
        n = int(np.prod([x.shape[i] for i in ax], dtype=np.int64))
        return {"x": np.broadcast_to(gk / x.dtype.type(max(n, 1)), x.shape)}
    w = np.asarray(w).astype(x.dtype)
    if w.ndim != x.ndim:
        shape = [1] * x.ndim
        shape[ax[0]] = w.shape[0]
        wb = w.reshape(shape)
    else:
        wb = w
    total = np.sum(np.broadcast_to(wb, x.shape), axis=ax, keepdims=True) if w.ndim == x.ndim \
        else np.sum(w)
    yk = _keep(ctx.out, x.shape, ax, False)
    with np.errstate(all="ignore"):
        dw = gk * (x - yk) / total
        if w.ndim != x.ndim:
            dw = dw.sum(axis=tuple(i for i in range(x.ndim) if i != ax[0])).reshape(w.shape)
        return {"x": gk * wb / total, "weights": dw}


def _along(x: np.ndarray, axis: Any) -> tuple[np.ndarray, int]:
    return (x.reshape(-1), 0) if axis is None else (x, int(axis) % max(x.ndim, 1))


@vjp("cumsum", "nancumsum")
def _cumsum(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    flat, a = _along(x, ctx.args["axis"])
    gr = np.flip(np.cumsum(np.flip(g.reshape(flat.shape), a), a), a).reshape(x.shape)
    return {"x": np.where(np.isnan(x), 0, gr) if ctx.name == "nancumsum" else gr}


@vjp("cumprod")
def _cumprod(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    flat, a = _along(x, ctx.args["axis"])
    prod = ctx.out.reshape(flat.shape) * g.reshape(flat.shape)
    with np.errstate(all="ignore"):
        rev = np.flip(np.cumsum(np.flip(prod, a), a), a)
        return {"x": (rev / flat).reshape(x.shape)}


@vjp("sort")
def _sort(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    a = int(ctx.args["axis"]) % max(x.ndim, 1)
    order = np.argsort(x, axis=a, kind="stable")
    out = np.zeros_like(x)
    np.put_along_axis(out, order, g, axis=a)
    return {"x": out}


@vjp("top_k")
def _top_k(ctx: Any, g: list) -> dict:
    x = _x(ctx)
    out = np.zeros_like(x)
    np.put_along_axis(out, np.asarray(ctx.out[1]).astype(np.int64), g[0], axis=-1)
    return {"x": out}


@vjp("quantile", "percentile", "median", "nanquantile", "nanpercentile", "nanmedian")
def _quantile(ctx: Any, g: np.ndarray) -> dict:
    """``g`` to the order statistics: ``y = (1 - f) s[lo] + f s[hi]`` for the method."""
    x = _x(ctx)
    args = ctx.args
    q = 0.5 if ctx.name.endswith("median") else np.asarray(args["q"], "float64")
    if ctx.name.endswith("percentile"):
        q = q / 100.0
    method = args.get("method", "linear")
    ax = _axes(args["axis"], x.ndim)
    rest = [i for i in range(x.ndim) if i not in ax]
    xt = np.transpose(x, rest + list(ax))
    flat = xt.reshape(xt.shape[:len(rest)] + (-1,))                    # (..., n)
    order = np.argsort(np.where(np.isnan(flat), np.inf, flat), axis=-1, kind="stable")
    n = (~np.isnan(flat)).sum(-1, keepdims=True) if ctx.name.startswith("nan") else \
        np.full(flat.shape[:-1] + (1,), flat.shape[-1])
    qs = np.atleast_1d(q).reshape((-1,) + (1,) * flat.ndim)             # (Q, 1.., 1)
    v = qs * (n - 1)
    lo, hi = np.floor(v), np.ceil(v)
    frac = v - lo
    w_lo, w_hi = {"linear": (1 - frac, frac), "lower": (1.0 + 0 * v, 0 * v),
                  "higher": (0 * v, 1.0 + 0 * v), "midpoint": (0.5 + 0 * v, 0.5 + 0 * v),
                  "nearest": ((np.round(v) == lo) * 1.0, (np.round(v) != lo) * 1.0)
                  }[method]
    gq = np.asarray(g)
    keep = args.get("keepdims", False)
    if np.ndim(q) == 0:
        gq = gq[None]
    gq = gq.reshape((qs.shape[0],) + flat.shape[:-1]) if not keep else \
        gq.reshape((qs.shape[0],) + tuple(x.shape[i] for i in rest))
    gq = gq[..., None]                                                  # (Q, ..., 1)
    d_sorted = np.zeros((qs.shape[0],) + flat.shape, "float64")
    for idx, w in ((lo, w_lo), (hi, w_hi)):
        pos = np.broadcast_to(np.clip(idx, 0, flat.shape[-1] - 1).astype(np.int64),
                              d_sorted.shape[:-1] + (1,))
        np.add.at(d_sorted, _index(pos, d_sorted.shape), (w * gq).reshape(pos.shape))
    d_flat = np.zeros(flat.shape, "float64")
    np.put_along_axis(d_flat, order, d_sorted.sum(0), axis=-1)
    d = np.transpose(d_flat.reshape(xt.shape), np.argsort(rest + list(ax)))
    return {"x": d.astype(x.dtype)}


def _index(pos: np.ndarray, shape: tuple) -> tuple:
    grids = np.indices(pos.shape, sparse=True)
    return tuple(grids[:-1]) + (pos,)


# ---------------------------------------------------------------------------- gathers
gather("reshape", "ravel", "squeeze", "expand_dims", "transpose", "swapaxes", "moveaxis",
       "broadcast_to", "flip", "fliplr", "flipud", "roll", "tile", "repeat", "pad",
       "get_item", "take", "take_along_axis", "diagonal", "diag", "diagflat",
       "tril", "triu", "extract_sequences", "depth_to_space", "space_to_depth", "copy")
gather("rot90", data=("array",))
gather("slice", data=("inputs",))
gather("concatenate", "hstack", "vstack", "dstack", data=("xs",))
gather("stack", data=("x",))
gather("append", data=("x1", "x2"))
gather("split", "array_split", "hsplit", "vsplit", "dsplit", "unstack", data=("x",))
gather("meshgrid", data=("x",))


def gather_vjp(ctx: Any, g: Any, data: tuple[str, ...]) -> dict:
    """``scatter_add(op(positions), g)`` (see the package docstring)."""
    from rnnlens.ops._dispatch import OPS

    args = dict(ctx.args)
    slots: list[tuple[str, Any, tuple]] = []
    total = 0

    def positions(value: Any) -> np.ndarray:
        nonlocal total
        shape = np.shape(value)
        size = int(np.prod(shape, dtype=np.int64))
        pos = np.arange(total + 1, total + size + 1, dtype=np.int64).reshape(shape)
        total += size
        return pos

    for name in data:
        value = args.get(name)
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            made = []
            for i, item in enumerate(value):
                made.append(positions(item))
                slots.append((name, i, np.shape(item)))
            args[name] = type(value)(made)
        else:
            args[name] = positions(value)
            slots.append((name, None, np.shape(value)))
    if ctx.name == "pad" and args.get("mode", "constant") == "constant":
        args["constant_values"] = 0
    moved = _call(OPS[ctx.name].impl, args)
    outs = moved if isinstance(moved, (list, tuple)) else [moved]
    gs = g if isinstance(g, (list, tuple)) else [g]
    flat = np.zeros(total + 1, _grad_dtype(gs))
    for o, gi in zip(outs, gs):
        if gi is not None:
            np.add.at(flat, np.asarray(o, np.int64).reshape(-1),
                      np.broadcast_to(gi, np.shape(o)).reshape(-1))
    result: dict[str, Any] = {}
    start = 1
    for name, index, shape in slots:
        size = int(np.prod(shape, dtype=np.int64))
        piece = flat[start:start + size].reshape(shape)
        start += size
        if index is None:
            result[name] = piece
        else:
            result.setdefault(name, []).append(piece)
    return result


def _grad_dtype(gs: list) -> Any:
    dts = [np.asarray(x).dtype for x in gs if x is not None]
    return np.result_type(*dts) if dts else np.float32


_PARAMS: dict = {}


def _call(fn: Any, args: dict) -> Any:
    """``fn`` called with the bound arguments ``args`` (``*args`` / ``**kwargs`` expanded)."""
    import inspect

    if fn not in _PARAMS:
        _PARAMS[fn] = inspect.signature(fn).parameters
    positional, keywords = [], {}
    for name, p in _PARAMS[fn].items():
        if name not in args:
            continue
        if p.kind is p.VAR_POSITIONAL:
            positional.extend(args[name])
        elif p.kind is p.VAR_KEYWORD:
            keywords.update(args[name])
        elif p.kind is p.POSITIONAL_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD
                                              and not keywords):
            positional.append(args[name])
        else:
            keywords[name] = args[name]
    return fn(*positional, **keywords)


@vjp("trace")
def _trace(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    a1, a2, off = ctx.args["axis1"], ctx.args["axis2"], ctx.args["offset"]
    pos = np.arange(x.size, dtype=np.int64).reshape(x.shape)
    diag = np.diagonal(pos, off, a1, a2)
    flat = np.zeros(x.size, g.dtype)
    np.add.at(flat, diag.reshape(-1), np.broadcast_to(np.asarray(g)[..., None],
                                                       diag.shape).reshape(-1))
    return {"x": flat.reshape(x.shape)}


@vjp("diff")
def _diff(ctx: Any, g: np.ndarray) -> dict:
    a = _x(ctx, "a")
    ax = int(ctx.args["axis"]) % a.ndim
    for _ in range(int(ctx.args["n"])):
        pad_lo = [(0, 0)] * g.ndim
        pad_hi = [(0, 0)] * g.ndim
        pad_lo[ax], pad_hi[ax] = (1, 0), (0, 1)
        g = np.pad(g, pad_lo) - np.pad(g, pad_hi)
    return {"a": g}


# ---------------------------------------------------------------------------- scatters
def _nd(indices: Any) -> tuple:
    idx = np.asarray(indices).astype(np.int64)
    return tuple(idx.reshape(-1, idx.shape[-1]).T)


@vjp("scatter")
def _scatter(ctx: Any, g: np.ndarray) -> dict:
    values = np.asarray(ctx.args["values"])
    return {"values": g[_nd(ctx.args["indices"])].reshape(values.shape)}


@vjp("scatter_update")
def _scatter_update(ctx: Any, g: np.ndarray) -> dict:
    reduction = ctx.args["reduction"]
    if reduction not in (None, "add"):
        raise ValueError(f"ops.scatter_update has no gradient in rnnlens for "
                         f"reduction={reduction!r} (None and 'add' have one).")
    ix = _nd(ctx.args["indices"])
    updates = np.asarray(ctx.args["updates"])
    d_in = np.array(g)
    if reduction is None:
        d_in[ix] = 0
    return {"inputs": d_in, "updates": g[ix].reshape(updates.shape)}


@vjp("slice_update")
def _slice_update(ctx: Any, g: np.ndarray) -> dict:
    inputs, updates = np.asarray(ctx.args["inputs"]), np.asarray(ctx.args["updates"])
    st = [int(v) for v in np.asarray(ctx.args["start_indices"]).reshape(-1)]
    st = [min(max(s, 0), n - z) for s, z, n in zip(st, updates.shape, inputs.shape)]
    block = tuple(slice(s, s + z) for s, z in zip(st, updates.shape))
    d_in = np.array(g)
    d_in[block] = 0
    return {"inputs": d_in, "updates": g[block]}


def _segments(ctx: Any) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(ctx.args["segment_ids"]).astype(np.int64)
    n = ctx.out.shape[0]
    return ids, (ids >= 0) & (ids < n)


@vjp("segment_sum")
def _segment_sum(ctx: Any, g: np.ndarray) -> dict:
    ids, ok = _segments(ctx)
    d = g[np.where(ok, ids, 0)]
    return {"data": np.where(ok.reshape(ok.shape + (1,) * (d.ndim - ok.ndim)), d, 0)}


@vjp("segment_max", "segment_min")
def _segment_extreme(ctx: Any, g: np.ndarray) -> dict:
    ids, ok = _segments(ctx)
    data = np.asarray(ctx.args["data"])
    safe = np.where(ok, ids, 0)
    hit = (data == ctx.out[safe]) & ok.reshape(ok.shape + (1,) * (data.ndim - ok.ndim))
    count = np.zeros(ctx.out.shape, data.dtype)
    np.add.at(count, safe, hit.astype(data.dtype))
    with np.errstate(all="ignore"):
        return {"data": np.where(hit, g[safe] / count[safe], 0)}


@vjp("bincount")
def _bincount(ctx: Any, g: np.ndarray) -> dict:
    x = np.asarray(ctx.args["x"]).astype(np.int64)
    return {"weights": g[..., x] if g.ndim == 1 else np.take_along_axis(g, x, -1)}


__all__ = ["gather_vjp", "GATHER"]
