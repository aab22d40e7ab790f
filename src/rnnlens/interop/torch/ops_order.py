"""Op nodes that sort, split, pad, repeat, roll, accumulate or take diagonals, as torch.

Functions ``f(torch, config, args)`` as in :mod:`.ops` (a multi-output op returns a
list, one tensor per output of the node)::

    sort, argsort         torch.sort(x, dim, stable=True) (axis None: of the flat tensor)
    top_k                 the first k of a stable descending sort of the last axis
    split, array_split    x[..., c_i:c_(i+1), ...] per piece (NumPy's cut points)
    unstack               torch.unbind(x, axis)
    pad                   constant: F.pad; reflect: cat(flip(x[1:b+1]), x, flip(x[-e-1:-1]))
                          symmetric: cat(flip(x[:b]), x, flip(x[-e:])), axis by axis
    repeat                torch.repeat_interleave (axis None: of the flat tensor)
    roll                  torch.roll (NumPy's rule: axis None rolls the flat tensor)
    cumprod               torch.cumprod
    tril, triu            torch.tril / torch.triu on the last two axes
    diagonal, diag, trace torch.diagonal (the diagonal last) / torch.diag / its sum
    ptp                   amax - amin;  nanmax, nanmin: NaN ignored, all NaN -> NaN
    fliplr, flipud        flip of axis 1 / axis 0

:func:`unsupported` says why a setting has no torch form here, checked when the model
is converted (a ValueError naming the node), not when it runs.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.interop.torch.ops import _axes, _dtype, fl, is_graph_tensor


def _x(torch: Any, a: list) -> Any:
    return fl(torch, a[0], _dtype(torch, a))


def _flat_axis(x: Any, axis: Any) -> tuple[Any, int]:
    return (x.reshape(-1), 0) if axis is None else (x, int(axis) % x.dim())


def _sort(values: bool) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        x, dim = _flat_axis(_x(torch, a), c.get("axis"))
        v, i = torch.sort(x, dim=dim, stable=True)
        return v if values else i
    return entry


def _top_k(torch: Any, c: dict, a: list) -> list:
    v, i = torch.sort(_x(torch, a), dim=-1, descending=True, stable=True)
    k = int(c["k"])
    return [v[..., :k], i[..., :k]]


def _cuts(n: int, ios: Any) -> list[int]:
    if isinstance(ios, int):
        return [int(v) for v in np.cumsum([len(p) for p in np.array_split(np.arange(n),
                                                                        ios)])[:-1]]
    return [int(i) for i in ios]


def _split(even: bool) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> list:
        x, ios = _x(torch, a), c["indices_or_sections"]
        dim = int(c.get("axis", 0)) % x.dim()
        if even and isinstance(ios, int) and x.shape[dim] % ios:
            raise ValueError(f"ops.split: cannot split an axis of size {x.shape[dim]} into "
                             f"{ios} equal sections.")
        cuts = _cuts(x.shape[dim], ios)
        bounds = zip([0] + cuts, cuts + [None])
        return [x[(slice(None),) * dim + (slice(lo, hi),)] for lo, hi in bounds]
    return entry


def _pad(torch: Any, c: dict, a: list) -> Any:
    x = _x(torch, a)
    pw, mode = pad_widths(c["pad_width"], x.dim()), c.get("mode", "constant")
    if mode == "constant":
        pairs = [int(v) for b, e in pw[::-1] for v in (b, e)]
        value = float(c.get("constant_values") or 0.0)
        return torch.nn.functional.pad(x, pairs, mode="constant", value=value)
    edge = 1 if mode == "reflect" else 0              # reflect leaves out the edge itself
    for d, (b, e) in enumerate(pw):
        n, pre = x.shape[d], (slice(None),) * d
        parts = [x]
        if b:
            parts.insert(0, torch.flip(x[pre + (slice(edge, int(b) + edge),)], [d]))
        if e:
            parts.append(torch.flip(x[pre + (slice(n - int(e) - edge, n - edge),)], [d]))
        x = torch.cat(parts, dim=d)
    return x


def pad_widths(pad_width: Any, rank: int) -> np.ndarray:
    """``pad_width`` as (rank, 2) pairs (rnnlens's reading), or a ValueError."""
    pw = np.asarray(pad_width)
    pw = np.stack([pw, pw]).T.reshape(-1, 2) if pw.ndim == 0 else (
        pw.reshape(1, 2) if pw.ndim == 1 and pw.size == 2 else pw)
    if pw.ndim == 2 and pw.shape[1] == 1:
        pw = np.concatenate([pw, pw], 1)
    if pw.shape != (rank, 2) or pw.dtype.kind not in "iu":
        raise ValueError(f"pad_width={pad_width} does not fit a rank-{rank} tensor.")
    return pw.astype(np.int64)


def _repeat(torch: Any, c: dict, a: list) -> Any:
    x, dim = _flat_axis(_x(torch, a), c.get("axis"))
    r = np.asarray(c["repeats"], np.int64).reshape(-1)
    reps = int(r[0]) if r.size == 1 else torch.as_tensor(r, device=x.device)
    return torch.repeat_interleave(x, reps, dim=dim)


def _roll(torch: Any, c: dict, a: list) -> Any:
    x, shift, axis = _x(torch, a), c["shift"], c.get("axis")
    shifts = [int(s) for s in (shift if isinstance(shift, list) else [shift])]
    if axis is None:
        return torch.roll(x.reshape(-1), sum(shifts)).reshape(x.shape)
    dims = [int(d) for d in (axis if isinstance(axis, list) else [axis])]
    return torch.roll(x, shifts * len(dims) if len(shifts) == 1 else shifts, dims)


def cum_input(torch: Any, c: dict, x: Any) -> Any:
    """``x`` as rnnlens casts it to ``dtype`` before a cumsum / cumprod (integers truncate)."""
    dtype = c.get("dtype")
    if dtype is not None and np.dtype(dtype).kind in "iu":
        return x.to(getattr(torch, np.dtype(dtype).name)).to(x.dtype)
    return x


def _cumprod(torch: Any, c: dict, a: list) -> Any:
    x, dim = _flat_axis(cum_input(torch, c, _x(torch, a)), c.get("axis"))
    return torch.cumprod(x, dim)


def _diagonal(torch: Any, c: dict, a: list) -> Any:
    return torch.diagonal(_x(torch, a), int(c["offset"]), int(c["axis1"]), int(c["axis2"]))


def _nan_extreme(big: bool) -> Callable:
    def entry(torch: Any, c: dict, a: list) -> Any:
        x = _x(torch, a)
        dims, keep = _axes(c.get("axis"), x.dim()), bool(c.get("keepdims"))
        nan = torch.isnan(x)
        clean = torch.where(nan, torch.full_like(x, -np.inf if big else np.inf), x)
        y = (torch.amax if big else torch.amin)(clean, dim=dims, keepdim=keep)
        every = torch.all(nan, dim=tuple(dims), keepdim=keep) if dims else nan
        return torch.where(every, torch.full_like(y, np.nan), y)
    return entry


def _ptp(torch: Any, c: dict, a: list) -> Any:
    x = _x(torch, a)
    dims, keep = _axes(c.get("axis"), x.dim()), bool(c.get("keepdims"))
    return torch.amax(x, dim=dims, keepdim=keep) - torch.amin(x, dim=dims, keepdim=keep)


OPS_C: dict[str, Callable] = {
    "Sort": _sort(True), "Argsort": _sort(False), "TopK": _top_k,
    "Split": _split(True), "ArraySplit": _split(False),
    "Unstack": lambda t, c, a: list(t.unbind(_x(t, a), int(c.get("axis", 0)))),
    "Pad": _pad, "Repeat": _repeat, "Roll": _roll, "Cumprod": _cumprod,
    "Tril": lambda t, c, a: t.tril(_x(t, a), int(c.get("k", 0))),
    "Triu": lambda t, c, a: t.triu(_x(t, a), int(c.get("k", 0))),
    "Diagonal": _diagonal, "Diag": lambda t, c, a: t.diag(_x(t, a), int(c.get("k", 0))),
    "Trace": lambda t, c, a: _diagonal(t, c, a).sum(-1), "Ptp": _ptp,
    "Nanmax": _nan_extreme(True), "Nanmin": _nan_extreme(False),
    "Fliplr": lambda t, c, a: t.flip(_x(t, a), [1]),
    "Flipud": lambda t, c, a: t.flip(_x(t, a), [0]),
}


def unsupported(cls: str, c: dict, node: Any) -> str:
    """Why a setting of one of :data:`OPS_C` has no torch form here ('' if none)."""
    rank = len(node.args[0].shape) if node.args and hasattr(node.args[0], "shape") else None
    if cls in ("Sort", "Argsort") and rank == 0:
        return "ordering a 0-d tensor is not converted."
    dtype = c.get("dtype")
    if cls in ("Cumsum", "Cumprod") and dtype is not None and \
            np.dtype(dtype) not in (np.float32, np.float64) and np.dtype(dtype).kind not in "iu":
        return f"dtype={dtype!r} is not converted (it accumulates in float32)."
    if cls == "Pad":
        value = node.kwargs.get("constant_values")
        if is_graph_tensor(value) or np.ndim(value) != 0:
            return "constant_values must be a number, not a tensor or an array."
        if c.get("mode") not in ("constant", "reflect", "symmetric"):
            return f"mode={c.get('mode')!r} is not converted."
        if rank is not None:
            try:
                pad_widths(c.get("pad_width"), rank)
            except ValueError as err:
                return str(err)
    if cls in ("Ptp", "Nanmax", "Nanmin") and c.get("axis") == []:
        return "axis=() (no axes) is not converted."
    return ""


__all__ = ["OPS_C", "unsupported", "pad_widths", "cum_input"]
