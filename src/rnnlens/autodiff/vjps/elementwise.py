"""VJPs of the element-wise ops, as TensorFlow's gradient functions compute them.

Unary ops: ``x_bar = g f'(x)``, written with the output ``y`` where TensorFlow does
(``exp``: ``g y``; ``sqrt``: ``g / (2 y)``; ``tanh``: ``g (1 - y^2)``; ``reciprocal``:
``-g y^2``). Binary ops (with broadcasting summed away by the tape):

* ``add`` / ``subtract``: ``g``, ``+-g``; ``multiply``: ``g x2``, ``g x1``;
* ``divide``: ``g / x2``, ``g (-x1 / x2) / x2``; ``divide_no_nan`` the same with
  ``divide_no_nan``;
* ``maximum`` (``minimum``): ``g`` to ``x1`` where ``x1 >= x2`` (``<=``), else to ``x2``;
* ``power``: ``g x2 x1^(x2 - 1)`` and ``g log(x1) y`` (0 where ``x1 <= 0``);
* ``mod``: ``g``, ``-g floor(x1 / x2)``; ``fmod``: ``g``, ``-g trunc(x1 / x2)``;
* ``arctan2(a, b)``: ``g b / (a^2 + b^2)``, ``-g a / (a^2 + b^2)``;
* ``logaddexp``: ``g e^(x1 - y)``, ``g e^(x2 - y)``; ``hypot``: ``g x1 / y``, ``g x2 / y``;
* ``clip(x, lo, hi)``: ``g`` where ``lo <= x <= hi`` (TensorFlow's clip_by_value), the
  rest to the bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.autodiff.vjps import vjp


def _arr(v: Any, like: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=like.dtype) if not isinstance(v, np.ndarray) else \
        v.astype(like.dtype, copy=False)


def _unary(*names: str):
    """Registers ``d(x, y, g) -> x_bar`` for unary ops with argument ``x``."""
    def register(d):
        @vjp(*names)
        def f(ctx: Any, g: np.ndarray) -> dict:
            y = ctx.out
            x = _arr(ctx.args["x"], y)
            with np.errstate(all="ignore"):
                return {"x": d(x, y, g)}
        return d
    return register


_LN2, _LN10 = np.log(2.0), np.log(10.0)


@_unary("exp")
def _exp(x, y, g): return g * y


@_unary("exp2")
def _exp2(x, y, g): return g * y * y.dtype.type(_LN2)


@_unary("expm1")
def _expm1(x, y, g): return g * np.exp(x)


@_unary("log")
def _log(x, y, g): return g * np.reciprocal(x)


@_unary("log2")
def _log2(x, y, g): return g / (x * x.dtype.type(_LN2))


@_unary("log10")
def _log10(x, y, g): return g / (x * x.dtype.type(_LN10))


@_unary("log1p")
def _log1p(x, y, g): return g * np.reciprocal(1 + x)


@_unary("sqrt")
def _sqrt(x, y, g): return g * y.dtype.type(0.5) / y


@_unary("rsqrt")
def _rsqrt(x, y, g): return g * y.dtype.type(-0.5) * y * y * y


@_unary("cbrt")
def _cbrt(x, y, g): return g / (3 * y * y)


@_unary("square")
def _square(x, y, g): return g * (2 * x)


@_unary("reciprocal")
def _reciprocal(x, y, g): return -g * y * y


@_unary("sin")
def _sin(x, y, g): return g * np.cos(x)


@_unary("cos")
def _cos(x, y, g): return -g * np.sin(x)


@_unary("tan")
def _tan(x, y, g): return g * np.square(np.reciprocal(np.cos(x)))


@_unary("arcsin")
def _arcsin(x, y, g): return g / np.sqrt(1 - x * x)


@_unary("arccos")
def _arccos(x, y, g): return -g / np.sqrt(1 - x * x)


@_unary("arctan")
def _arctan(x, y, g): return g / (1 + x * x)


@_unary("sinh")
def _sinh(x, y, g): return g * np.cosh(x)


@_unary("cosh")
def _cosh(x, y, g): return g * np.sinh(x)


@_unary("tanh")
def _tanh(x, y, g): return g * (1 - y * y)


@_unary("arcsinh")
def _arcsinh(x, y, g): return g / np.cosh(y)


@_unary("arccosh")
def _arccosh(x, y, g): return g / np.sinh(y)


@_unary("arctanh")
def _arctanh(x, y, g): return g / (1 - x * x)


@_unary("abs", "absolute", "fabs")
def _abs(x, y, g): return g * np.sign(x)


@_unary("negative")
def _neg(x, y, g): return -g


@_unary("copy", "conj", "conjugate", "real")
def _identity(x, y, g): return g


@_unary("deg2rad")
def _deg2rad(x, y, g): return g * y.dtype.type(np.pi / 180)


@_unary("rad2deg")
def _rad2deg(x, y, g): return g * y.dtype.type(180 / np.pi)


@_unary("nan_to_num")
def _nan_to_num(x, y, g): return np.where(np.isfinite(x), g, 0)


@_unary("sinc")
def _sinc(x, y, g):
    px = x * x.dtype.type(np.pi)
    safe = np.where(x == 0, 1, x)
    d = (np.cos(px) * px - np.sin(px)) / (px * safe)
    return g * np.where(x == 0, 0, d)


@_unary("erf")
def _erf(x, y, g): return g * x.dtype.type(2 / np.sqrt(np.pi)) * np.exp(-x * x)


@_unary("erfc")
def _erfc(x, y, g): return -g * x.dtype.type(2 / np.sqrt(np.pi)) * np.exp(-x * x)


@_unary("erfinv")
def _erfinv(x, y, g): return g * x.dtype.type(np.sqrt(np.pi) / 2) * np.exp(y * y)


@_unary("i0")
def _i0(x, y, g): return g * bessel_i1(x)


def bessel_i1(x: np.ndarray) -> np.ndarray:
    """The modified Bessel function ``I1`` by its power series (float64, |x| <= 700)."""
    xd = np.asarray(x, "float64")
    half = xd / 2
    term = half.copy()
    total = term.copy()
    for k in range(1, int(np.max(np.abs(xd), initial=0.0)) + 60):
        term = term * half * half / (k * (k + 1))
        total = total + term
    return total.astype(x.dtype)


# ---------------------------------------------------------------------------- binary
def _pair(ctx: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = ctx.out
    return _arr(ctx.args["x1"], y), _arr(ctx.args["x2"], y), y


def _bias_axis(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``add`` used Keras's NCHW bias rule (a 1-D-like ``b`` along axis 1)."""
    big = [d for d in b.shape if d > 1]
    return (len(big) == 1 and a.ndim > 1 and big[0] == a.shape[1]
            and a.shape[-1] != big[0])


@vjp("add")
def _add(ctx: Any, g: np.ndarray) -> dict:
    x1, x2 = np.asarray(ctx.args["x1"]), np.asarray(ctx.args["x2"])
    g2 = g
    if _bias_axis(x1, x2):
        g2 = g.sum(axis=tuple(i for i in range(g.ndim) if i != 1)).reshape(x2.shape)
    return {"x1": g, "x2": g2}


@vjp("subtract")
def _subtract(ctx: Any, g: np.ndarray) -> dict:
    return {"x1": g, "x2": -g}


@vjp("multiply")
def _multiply(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, _ = _pair(ctx)
    return {"x1": g * x2, "x2": g * x1}


@vjp("divide", "true_divide")
def _divide(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, _ = _pair(ctx)
    with np.errstate(all="ignore"):
        return {"x1": g / x2, "x2": g * ((-x1 / x2) / x2)}


def _div_no_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    zero = b == 0
    return np.where(zero, 0, a / np.where(zero, 1, b)).astype(np.result_type(a, b))


@vjp("divide_no_nan")
def _divide_no_nan(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, _ = _pair(ctx)
    with np.errstate(all="ignore"):
        return {"x1": _div_no_nan(g, x2), "x2": g * _div_no_nan(_div_no_nan(-x1, x2), x2)}


@vjp("maximum", "fmax")
def _maximum(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, _ = _pair(ctx)
    first = (x1 >= x2) | np.isnan(x2) if ctx.name == "fmax" else x1 >= x2
    return {"x1": np.where(first, g, 0), "x2": np.where(first, 0, g)}


@vjp("minimum", "fmin")
def _minimum(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, _ = _pair(ctx)
    first = (x1 <= x2) | np.isnan(x2) if ctx.name == "fmin" else x1 <= x2
    return {"x1": np.where(first, g, 0), "x2": np.where(first, 0, g)}


@vjp("power")
def _power(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, y = _pair(ctx)
    with np.errstate(all="ignore"):
        out = {"x1": g * x2 * np.power(x1, x2 - 1)}
        if "x2" in ctx.need:
            out["x2"] = g * np.log(np.where(x1 > 0, x1, 1)) * y
    return out


@vjp("mod")
def _mod(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, _ = _pair(ctx)
    with np.errstate(all="ignore"):
        return {"x1": g, "x2": -g * np.floor(x1 / x2)}


@vjp("fmod")
def _fmod(ctx: Any, g: np.ndarray) -> dict:
    x1, x2, _ = _pair(ctx)
    with np.errstate(all="ignore"):
        return {"x1": g, "x2": -g * np.trunc(x1 / x2)}


@vjp("arctan2")
def _arctan2(ctx: Any, g: np.ndarray) -> dict:
    a, b, _ = _pair(ctx)
    with np.errstate(all="ignore"):
        inv = g / (a * a + b * b)
        return {"x1": b * inv, "x2": -a * inv}


@vjp("logaddexp")
def _logaddexp(ctx: Any, g: np.ndarray) -> dict:
    a, b, y = _pair(ctx)
    with np.errstate(all="ignore"):
        return {"x1": g * np.exp(a - y), "x2": g * np.exp(b - y)}


@vjp("logaddexp2")
def _logaddexp2(ctx: Any, g: np.ndarray) -> dict:
    a, b, y = _pair(ctx)
    with np.errstate(all="ignore"):
        return {"x1": g * np.exp2(a - y), "x2": g * np.exp2(b - y)}


@vjp("hypot")
def _hypot(ctx: Any, g: np.ndarray) -> dict:
    a, b, y = _pair(ctx)
    with np.errstate(all="ignore"):
        return {"x1": g * a / y, "x2": g * b / y}


@vjp("ldexp")
def _ldexp(ctx: Any, g: np.ndarray) -> dict:
    y = ctx.out
    e = np.asarray(ctx.args["x2"]).astype(y.dtype)
    with np.errstate(all="ignore"):
        return {"x1": g * np.exp2(e)}


@vjp("clip")
def _clip(ctx: Any, g: np.ndarray) -> dict:
    y = ctx.out
    x = _arr(ctx.args["x"], y)
    lo, hi = _arr(ctx.args["x_min"], y), _arr(ctx.args["x_max"], y)
    below, above = x < lo, x > hi
    return {"x": np.where(below | above, 0, g), "x_min": np.where(below, g, 0),
            "x_max": np.where(above, g, 0)}


@vjp("where")
def _where(ctx: Any, g: np.ndarray) -> dict:
    cond = np.asarray(ctx.args["condition"]).astype(bool)
    return {"x1": np.where(cond, g, 0), "x2": np.where(cond, 0, g)}


@vjp("select")
def _select(ctx: Any, g: np.ndarray) -> dict:
    conds = [np.asarray(c).astype(bool) for c in ctx.args["condlist"]]
    taken = np.zeros(np.broadcast_shapes(g.shape, *[c.shape for c in conds]), bool)
    grads = []
    for c in conds:
        pick = c & ~taken
        grads.append(np.where(pick, g, 0))
        taken = taken | c
    return {"choicelist": grads, "default": np.where(taken, 0, g)}


@vjp("cast", "saturate_cast", "convert_to_tensor", "array")
def _cast(ctx: Any, g: np.ndarray) -> dict:
    name = "x"
    if ctx.out.dtype.kind not in "fc":
        return {name: None}
    return {name: g}


@vjp("full")
def _full(ctx: Any, g: np.ndarray) -> dict:
    return {"fill_value": g}
