"""VJPs of products and linear algebra.

* ``matmul``: ``A_bar = g B^T``, ``B_bar = A^T g`` (batch axes summed by the tape; 1-D
  operands as NumPy promotes them); ``dot``, ``inner``, ``tensordot``, ``vdot`` and
  ``outer`` through ``einsum``;
* ``einsum``: operand ``k``'s gradient is the einsum of ``g`` with the other operands
  onto ``k``'s subscripts; letters only ``k`` has (summed inside it) broadcast back;
* ``inv``: ``-Y^T g Y^T``; ``det``: ``g det(X) X^-T``; ``slogdet`` / ``logdet``:
  ``g X^-T``; ``solve(A, B) = X``: ``B_bar = A^-T g``, ``A_bar = -B_bar X^T`` (triangular:
  the same, kept on the triangle); ``cholesky``: ``L^-H Phi(L^H L_bar) L^-1`` with ``Phi``
  the lower triangle with a halved diagonal, symmetrized; ``eigh``:
  ``D = V (diag(w_bar) + F o (V^T V_bar)) V^T`` with ``F_ij = 1 / (w_j - w_i)``, as
  TensorFlow the lower triangle of ``D + D^T`` with ``D``'s diagonal (eigh reads the
  lower triangle).
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from rnnlens.autodiff.vjps import vjp


def _t(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _ops2(ctx: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = ctx.out
    a, b = (np.asarray(ctx.args[k]) for k in ("x1", "x2"))
    dt = y.dtype if y.dtype.kind in "fc" else np.float32
    return a.astype(dt, copy=False), b.astype(dt, copy=False), y


@vjp("matmul")
def _matmul(ctx: Any, g: np.ndarray) -> dict:
    a, b, _ = _ops2(ctx)
    if a.ndim == 1 and b.ndim == 1:
        return {"x1": g * b, "x2": g * a}
    if a.ndim == 1:
        ga = (g[..., None, :] @ _t(b))[..., 0, :]
        gb = a[:, None] * g[..., None, :]
        return {"x1": ga, "x2": gb}
    if b.ndim == 1:
        return {"x1": g[..., None] * b, "x2": (_t(a) @ g[..., None])[..., 0]}
    return {"x1": g @ _t(b), "x2": _t(a) @ g}


# ---------------------------------------------------------------------------- einsum
def _parse(subscripts: str, shapes: list[tuple]) -> tuple[list[str], str]:
    """Explicit subscripts (``...`` expanded to letters), and the output's."""
    s = subscripts.replace(" ", "")
    ins, out = (s.split("->") + [None])[:2]
    parts = ins.split(",")
    used = set(s) - set(".,->")
    spare = [c for c in string.ascii_letters if c not in used]
    nell = max([len(shp) - len(p.replace("...", "")) for p, shp in zip(parts, shapes)
                if "..." in p] or [0])
    ell = "".join(spare[:nell])
    full = []
    for p, shp in zip(parts, shapes):
        if "..." in p:
            k = len(shp) - len(p.replace("...", ""))
            p = p.replace("...", ell[nell - k:] if k else "")
        full.append(p)
    if out is None:
        counts: dict[str, int] = {}
        for p in full:
            for c in p:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        out = out.replace("...", ell)
    return full, out


def einsum_grads(subs: list[str], out: str, operands: list[np.ndarray], g: np.ndarray,
                 need: set[int]) -> dict[int, np.ndarray]:
    """Gradient of each operand ``k in need`` of ``einsum(subs -> out, *operands)``."""
    result = {}
    for k in need:
        sk = subs[k]
        if len(set(sk)) != len(sk):
            raise ValueError(f"ops.einsum: no gradient in rnnlens for an operand with a "
                             f"repeated index ({sk!r}, a diagonal).")
        others = [(subs[j], operands[j]) for j in range(len(subs)) if j != k]
        present = set(out).union(*[set(s) for s, _ in others])
        kept = "".join(c for c in sk if c in present)
        spec = ",".join([out] + [s for s, _ in others]) + "->" + kept
        d = np.einsum(spec, g, *[o for _, o in others])
        if kept != sk:                     # letters summed inside operand k: broadcast
            shape = [operands[k].shape[i] if c in kept else 1 for i, c in enumerate(sk)]
            d = np.broadcast_to(d.reshape([operands[k].shape[i] if c in kept else 1
                                           for i, c in enumerate(sk)]), operands[k].shape) \
                if kept else np.broadcast_to(d, shape)
        result[k] = d
    return result


@vjp("einsum")
def _einsum(ctx: Any, g: np.ndarray) -> dict:
    ops_ = [np.asarray(o) for o in ctx.args["operands"]]
    dt = g.dtype
    ops_ = [o.astype(dt, copy=False) for o in ops_]
    subs, out = _parse(ctx.args["subscripts"], [o.shape for o in ops_])
    grads = einsum_grads(subs, out, ops_, g, set(range(len(ops_))))
    return {"operands": [grads[k] for k in range(len(ops_))]}


def _tensordot_subs(a: np.ndarray, b: np.ndarray, axes: Any) -> tuple[list[str], str]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ax_a, ax_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        ax_a, ax_b = [x % a.ndim for x in ax_a], [x % b.ndim for x in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + \
          [c for j, c in enumerate(sb) if j not in ax_b]
    return ["".join(sa), "".join(sb)], "".join(out)


def _pair_grads(ctx: Any, g: np.ndarray, subs: list[str], out: str, a: np.ndarray,
                b: np.ndarray) -> dict:
    grads = einsum_grads(subs, out, [a, b], np.asarray(g), {0, 1})
    return {"x1": grads[0], "x2": grads[1]}


@vjp("tensordot")
def _tensordot(ctx: Any, g: np.ndarray) -> dict:
    a, b, _ = _ops2(ctx)
    subs, out = _tensordot_subs(a, b, ctx.args["axes"])
    return _pair_grads(ctx, g, subs, out, a, b)


@vjp("dot", "inner")
def _dot(ctx: Any, g: np.ndarray) -> dict:
    a, b, _ = _ops2(ctx)
    if a.ndim == 0 or b.ndim == 0:
        return {"x1": g * b, "x2": g * a}
    if ctx.name == "inner":
        axes = ([a.ndim - 1], [b.ndim - 1])
    else:
        axes = ([a.ndim - 1], [b.ndim - 1 if b.ndim == 1 else b.ndim - 2])
    subs, out = _tensordot_subs(a, b, axes)
    return _pair_grads(ctx, g, subs, out, a, b)


@vjp("vdot")
def _vdot(ctx: Any, g: np.ndarray) -> dict:
    a, b, _ = _ops2(ctx)
    return {"x1": (g * b.reshape(-1)).reshape(a.shape),
            "x2": (g * a.reshape(-1)).reshape(b.shape)}


@vjp("outer")
def _outer(ctx: Any, g: np.ndarray) -> dict:
    a, b, _ = _ops2(ctx)
    return {"x1": (g @ b.reshape(-1)).reshape(a.shape),
            "x2": (a.reshape(-1) @ g).reshape(b.shape)}


@vjp("cross")
def _cross(ctx: Any, g: np.ndarray) -> dict:
    a, b, _ = _ops2(ctx)
    args = ctx.args
    if args["axis"] is not None or (args["axisa"], args["axisb"], args["axisc"]) != \
            (-1, -1, -1) or a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError("ops.cross: rnnlens differentiates only 3-vectors along the last "
                         "axis.")
    return {"x1": np.cross(b, g), "x2": np.cross(g, a)}


# ---------------------------------------------------------------------------- linalg
def _x(ctx: Any, name: str = "x") -> np.ndarray:
    y = ctx.out[0] if isinstance(ctx.out, (list, tuple)) else ctx.out
    return np.asarray(ctx.args[name]).astype(y.dtype, copy=False)


@vjp("inv")
def _inv(ctx: Any, g: np.ndarray) -> dict:
    y = ctx.out
    return {"x": -_t(y) @ g @ _t(y)}


@vjp("det")
def _det(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    with np.errstate(all="ignore"):
        return {"x": (g * ctx.out)[..., None, None] * _t(np.linalg.inv(x))}


@vjp("slogdet")
def _slogdet(ctx: Any, g: list) -> dict:
    x = _x(ctx)
    return {"x": g[1][..., None, None] * _t(np.linalg.inv(x))}


@vjp("logdet")
def _logdet(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    return {"x": g[..., None, None] * _t(np.linalg.inv(x))}


@vjp("solve", "solve_triangular")
def _solve(ctx: Any, g: np.ndarray) -> dict:
    a = np.asarray(ctx.args["a"]).astype(ctx.out.dtype, copy=False)
    if ctx.name == "solve_triangular":
        a = np.tril(a) if ctx.args["lower"] else np.triu(a)
    vec = ctx.out.ndim == a.ndim - 1
    gm = g[..., None] if vec else g
    xm = ctx.out[..., None] if vec else ctx.out
    gb = np.linalg.solve(_t(a), gm)
    ga = -gb @ _t(xm)
    if ctx.name == "solve_triangular":
        ga = np.tril(ga) if ctx.args["lower"] else np.triu(ga)
    return {"a": ga, "b": gb[..., 0] if vec else gb}


@vjp("cholesky")
def _cholesky(ctx: Any, g: np.ndarray) -> dict:
    low = ctx.out
    if ctx.args["upper"]:
        low, g = _t(low), _t(g)
    phi = np.tril(_t(low) @ g)
    idx = np.arange(phi.shape[-1])
    phi[..., idx, idx] *= 0.5
    inv = np.linalg.inv(low)
    s = _t(inv) @ phi @ inv
    return {"x": (s + _t(s)) / 2}


@vjp("eigh")
def _eigh(ctx: Any, g: list) -> dict:
    w, v = ctx.out
    gw, gv = g
    with np.errstate(all="ignore"):
        diff = w[..., None, :] - w[..., :, None]
        f = np.where(diff == 0, 0, 1 / np.where(diff == 0, 1, diff))
    inner = f * (_t(v) @ gv)
    idx = np.arange(w.shape[-1])
    inner[..., idx, idx] += gw
    d = v @ inner @ _t(v)
    d = np.tril(d + _t(d))                       # TensorFlow reads the lower triangle
    d[..., idx, idx] *= 0.5
    return {"x": d}
