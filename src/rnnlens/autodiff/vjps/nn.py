"""VJPs of ``keras.ops.nn`` (activations, softmax, crossentropies, statistics, the
convolutions, ``ctc_loss``) and of the composite ops.

Activations (``s = sigmoid(x)``): ``relu``: ``g [x > 0]``; ``relu6``: ``g [0 < x < 6]``;
``sigmoid``: ``g y (1 - y)``; ``softplus``: ``g s``; ``silu``: ``g (s + x s (1 - s))``;
``elu``: ``g`` or ``g alpha e^x``; ``gelu`` the derivative of its formula; ``softmax``:
``y (g - sum(g y))``; ``log_softmax``: ``g - e^y sum(g)``.

Crossentropies as TensorFlow: from logits the fused kernels' ``softmax(z) - t`` and
``sigmoid(z) - t`` (times ``g``); from probabilities the derivative of Keras's formula
after the clip to ``[1e-7, 1 - 1e-7]`` (0 where it clips).

Composites replay Keras's formula with ``rnnlens.ops`` on a nested tape:
``layer_normalization`` (``moments``, ``rsqrt``), ``rms_normalization``, ``normalize``,
``norm``, ``cdist``, ``psnr``, ``dot_product_attention``, ``trapezoid`` and ``sparsemax``
(Keras 3.15.1's formula, whose threshold sums the support's cumulative sums, so its
outputs need not sum to 1: rnnlens reproduces it and its gradient).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.autodiff.vjps import FUSED, vjp

_EPS = 1e-7


def _x(ctx: Any, name: str = "x") -> np.ndarray:
    y = ctx.out[0] if isinstance(ctx.out, (list, tuple)) else ctx.out
    x = np.asarray(ctx.args[name])
    return x.astype(y.dtype, copy=False) if y.dtype.kind in "fc" else x


def _act(*names: str) -> Callable:
    def register(d: Callable) -> Callable:
        @vjp(*names)
        def f(ctx: Any, g: np.ndarray) -> dict:
            with np.errstate(all="ignore"):
                return {"x": d(ctx, _x(ctx), ctx.out, g)}
        return d
    return register


def _sig(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@_act("relu")
def _relu(ctx, x, y, g): return np.where(y > 0, g, 0)


@_act("relu6")
def _relu6(ctx, x, y, g): return np.where((x > 0) & (x < 6), g, 0)


@_act("sigmoid")
def _sigmoid(ctx, x, y, g): return g * y * (1 - y)


@_act("softplus")
def _softplus(ctx, x, y, g): return g * _sig(x)


@_act("softsign")
def _softsign(ctx, x, y, g): return g / np.square(1 + np.abs(x))


@_act("silu", "swish")
def _silu(ctx, x, y, g):
    s = _sig(x)
    return g * (s + x * s * (1 - s))


@_act("log_sigmoid")
def _log_sigmoid(ctx, x, y, g): return g * _sig(-x)


@_act("leaky_relu")
def _leaky(ctx, x, y, g):
    return np.where(x > 0, g, g * x.dtype.type(ctx.args["negative_slope"]))


@_act("hard_sigmoid")
def _hard_sigmoid(ctx, x, y, g): return np.where((x > -3) & (x < 3), g / 6, 0)


@_act("hard_silu", "hard_swish")
def _hard_silu(ctx, x, y, g):
    hs = np.clip(x + 3, 0, 6) / 6
    return g * (hs + np.where((x > -3) & (x < 3), x / 6, 0))


@_act("elu")
def _elu(ctx, x, y, g):
    a = x.dtype.type(ctx.args["alpha"])
    return np.where(x > 0, g, g * a * np.exp(np.minimum(x, 0)))


@_act("selu")
def _selu(ctx, x, y, g):
    a, s = x.dtype.type(1.6732632423543772), x.dtype.type(1.0507009873554805)
    return np.where(x < 0, g * s * a * np.exp(np.minimum(x, 0)), g * s)   # TF: x < 0


@_act("celu")
def _celu(ctx, x, y, g):
    a = x.dtype.type(ctx.args["alpha"])         # max(x, 0) + a expm1(min(x, 0) / a):
    return g * ((x >= 0) + (x <= 0) * np.exp(np.minimum(x, 0) / a))   # both at x = 0


@_act("gelu")
def _gelu(ctx, x, y, g):
    if ctx.args["approximate"]:
        c = x.dtype.type(np.sqrt(2 / np.pi))
        k = x.dtype.type(0.044715)
        t = np.tanh(c * (x + k * x ** 3))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * k * x * x))
    from rnnlens.ops.math import _erf64

    cdf = 0.5 * (1 + _erf64(x / np.sqrt(2.0)))
    return g * (cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)).astype(x.dtype)


@_act("hard_tanh")
def _hard_tanh(ctx, x, y, g): return np.where((x >= -1) & (x <= 1), g, 0)


@_act("hard_shrink", "soft_shrink")
def _shrink(ctx, x, y, g):
    return np.where(np.abs(x) > x.dtype.type(ctx.args["threshold"]), g, 0)


@_act("tanh_shrink")
def _tanh_shrink(ctx, x, y, g): return g * np.square(np.tanh(x))


@_act("sparse_plus")
def _sparse_plus(ctx, x, y, g):
    return g * np.where(x <= -1, 0, np.where(x < 1, 0.5 * (x + 1), 1))


@_act("sparse_sigmoid")
def _sparse_sigmoid(ctx, x, y, g): return np.where((x > -1) & (x < 1), g * 0.5, 0)


@_act("squareplus")
def _squareplus(ctx, x, y, g):
    return g * 0.5 * (1 + x / np.sqrt(x * x + x.dtype.type(ctx.args["b"])))


@_act("threshold")
def _threshold(ctx, x, y, g): return np.where(x > ctx.args["threshold"], g, 0)


@vjp("glu")
def _glu(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    a = int(ctx.args["axis"]) % x.ndim
    x1, x2 = np.split(x, 2, axis=a)
    s = _sig(x2)
    return {"x": np.concatenate([g * s, g * x1 * s * (1 - s)], axis=a)}


def _softmax_axes(x: np.ndarray, axis: Any) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(x.ndim))
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    return tuple(int(a) % max(x.ndim, 1) for a in items)


@vjp("softmax")
def _softmax(ctx: Any, g: np.ndarray) -> dict:
    y = ctx.out
    ax = _softmax_axes(y, ctx.args["axis"])
    return {"x": y * (g - np.sum(g * y, axis=ax, keepdims=True))}


@vjp("log_softmax")
def _log_softmax(ctx: Any, g: np.ndarray) -> dict:
    y = ctx.out
    ax = _softmax_axes(y, ctx.args["axis"])
    return {"x": g - np.exp(y) * np.sum(g, axis=ax, keepdims=True)}


# ---------------------------------------------------------------------------- crossentropy
def _clip_mask(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = p.dtype.type(_EPS), p.dtype.type(1 - _EPS)
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


@vjp("binary_crossentropy")
def _bce(ctx: Any, g: np.ndarray) -> dict:
    o = _x(ctx, "output")
    t = np.asarray(ctx.args["target"]).astype(o.dtype)
    with np.errstate(all="ignore"):
        if ctx.args["from_logits"]:
            return {"output": g * (_sig(o) - t), "target": -g * o}
        p, keep = _clip_mask(o)
        d = -(t / p - (1 - t) / (1 - p))
        return {"output": np.where(keep, g * d, 0),
                "target": -g * (np.log(p) - np.log(1 - p))}


@vjp("categorical_crossentropy")
def _cce(ctx: Any, g: np.ndarray) -> dict:
    o = _x(ctx, "output")
    t = np.asarray(ctx.args["target"]).astype(o.dtype)
    a = int(ctx.args["axis"]) % o.ndim
    gk = np.expand_dims(g, a)
    with np.errstate(all="ignore"):
        if ctx.args["from_logits"]:
            s = o - np.max(o, axis=a, keepdims=True)
            logp = s - np.log(np.sum(np.exp(s), axis=a, keepdims=True))
            return {"output": gk * (np.exp(logp) - t), "target": -gk * logp}
        total = np.sum(o, axis=a, keepdims=True)
        q = o / total
        p, keep = _clip_mask(q)
        dq = np.where(keep, -gk * t / p, 0)
        do = dq / total - np.sum(dq * o, axis=a, keepdims=True) / (total * total)
        return {"output": do, "target": -gk * np.log(p)}


@vjp("sparse_categorical_crossentropy")
def _scce(ctx: Any, g: np.ndarray) -> dict:
    o = _x(ctx, "output")
    y = np.asarray(ctx.args["target"]).astype(np.int64)
    if y.ndim == o.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    onehot = (y[..., None] == np.arange(o.shape[-1])).astype(o.dtype)
    with np.errstate(all="ignore"):
        z = o if ctx.args["from_logits"] else None
        if z is None:
            p, keep = _clip_mask(o)
            z = np.log(p)
        s = z - np.max(z, axis=-1, keepdims=True)
        soft = np.exp(s) / np.sum(np.exp(s), axis=-1, keepdims=True)
        dz = g[..., None] * (soft - onehot)
        if ctx.args["from_logits"]:
            return {"output": dz}
        return {"output": np.where(keep, dz / p, 0)}


# ---------------------------------------------------------------------------- statistics
@vjp("moments")
def _moments(ctx: Any, g: list) -> dict:
    x = _x(ctx)
    ax = _softmax_axes(x, ctx.args["axes"])
    keep = ctx.args["keepdims"]
    n = x.dtype.type(int(np.prod([x.shape[i] for i in ax], dtype=np.int64)))

    def k(v: np.ndarray) -> np.ndarray:
        return v if keep else np.reshape(v, [1 if i in ax else s
                                             for i, s in enumerate(x.shape)])
    m = np.mean(x, axis=ax, keepdims=True)
    return {"x": k(g[0]) / n + k(g[1]) * 2 * (x - m) / n}


@vjp("batch_normalization")
def _batch_norm(ctx: Any, g: np.ndarray) -> dict:
    x = _x(ctx)
    a = int(ctx.args["axis"]) % x.ndim
    shape = [1] * x.ndim
    shape[a] = x.shape[a]
    rest = tuple(i for i in range(x.ndim) if i != a)

    def b(name: str) -> Any:
        v = ctx.args[name]
        return None if v is None else np.asarray(v).astype(x.dtype).reshape(shape)

    m, v, s = b("mean"), b("variance"), b("scale")
    inv = 1 / np.sqrt(v + x.dtype.type(ctx.args["epsilon"]))
    scale = s if s is not None else 1
    out: dict[str, Any] = {"x": g * inv * scale}

    def red(t: np.ndarray, name: str) -> np.ndarray:
        return np.sum(np.broadcast_to(t, x.shape), axis=rest).reshape(
            np.shape(ctx.args[name]))
    if "mean" in ctx.need:
        out["mean"] = red(-g * inv * scale, "mean")
    if "variance" in ctx.need:
        out["variance"] = red(g * (x - m) * scale * -0.5 * inv ** 3, "variance")
    if "offset" in ctx.need:
        out["offset"] = red(g, "offset")
    if "scale" in ctx.need:
        out["scale"] = red(g * (x - m) * inv, "scale")
    return out


# ---------------------------------------------------------------------------- composites
def composite(*names: str) -> Callable:
    """Registers ``formula(**args)`` (written with ``rnnlens.ops``) as the VJP source."""
    def register(formula: Callable) -> Callable:
        @vjp(*names)
        def f(ctx: Any, g: Any) -> dict:
            from rnnlens.autodiff.tape import Tape

            args = dict(ctx.args)
            extra = args.pop("kwargs", None) or {}
            with Tape() as tape:
                watched = {}
                for p in ctx.need:
                    v = args[p]
                    if isinstance(v, (list, tuple)):
                        args[p] = [tape.watch(i) for i in v]
                    else:
                        args[p] = tape.watch(v)
                    watched[p] = args[p]
                out = formula(**args, **extra)
            names_ = list(watched)
            flat = [w for p in names_ for w in (watched[p] if isinstance(watched[p], list)
                                                else [watched[p]])]
            grads = tape.gradient(out, flat, output_gradients=g)
            result, k = {}, 0
            for p in names_:
                if isinstance(watched[p], list):
                    n = len(watched[p])
                    result[p] = grads[k:k + n]
                    k += n
                else:
                    result[p] = grads[k]
                    k += 1
            return result
        return formula
    return register


def _o() -> Any:
    from rnnlens import ops

    return ops


@composite("layer_normalization")
def _layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    ops = _o()
    eps = _EPS if epsilon is None else epsilon
    comp = "float64" if x.dtype == np.float64 else "float32"
    xc = ops.cast(x, comp)
    axes = sorted([axis] if isinstance(axis, int) else list(axis))
    axes = [a % xc.ndim for a in axes]
    shape = [xc.shape[i] if i in axes else 1 for i in range(xc.ndim)]

    def b(v):
        if v is None:
            return None
        v = ops.cast(v, comp)
        return ops.reshape(v, shape) if v.ndim != xc.ndim and axes != [xc.ndim - 1] else v
    gamma, beta = b(gamma), b(beta)
    if kwargs.get("rms_scaling"):
        inv = ops.rsqrt(ops.var(xc, axis=axes, keepdims=True) + eps)
        out = xc * inv
        return ops.cast(out * gamma if gamma is not None else out, x.dtype)
    mean, var = ops.moments(xc, axes=axes, keepdims=True)
    inv = ops.rsqrt(var + eps)
    if gamma is not None:
        inv = inv * gamma
    res = -mean * inv
    if beta is not None:
        res = res + beta
    return ops.cast(xc * inv + res, x.dtype)


@composite("rms_normalization")
def _rms_norm(x, scale=None, axis=-1, epsilon=None):
    ops = _o()
    eps = _EPS if epsilon is None else epsilon
    comp = "float64" if x.dtype == np.float64 else "float32"
    xc = ops.cast(x, comp)
    if xc.ndim == 0:
        xc = ops.expand_dims(xc, 0)
    r = ops.rsqrt(ops.mean(ops.square(xc), axis=axis, keepdims=True) + eps)
    out = xc * r
    if scale is not None:
        out = out * ops.cast(scale, comp)
    return ops.cast(out, x.dtype)


@composite("normalize")
def _normalize(x, axis=-1, order=2, epsilon=None):
    ops = _o()
    eps = _EPS if epsilon is None else epsilon
    if x.ndim == 0:
        x = ops.expand_dims(x, 0)
    if order == 2:
        sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
        return x * ops.rsqrt(ops.maximum(sq, eps * eps))
    n = ops.norm(x, ord=order, axis=axis, keepdims=True)
    return x / ops.maximum(n, eps)


@composite("norm")
def _norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    ops = _o()
    x = ops.cast(x, "float64" if x.dtype == np.float64 else "float32")
    ax = tuple(range(x.ndim)) if axis is None else (
        (axis,) if isinstance(axis, int) else tuple(axis))
    if len(ax) == 1 or ord in (None, "fro"):
        if ord in (None, 2, "fro"):
            return ops.sqrt(ops.sum(ops.square(x), axis=ax, keepdims=keepdims))
        a = ops.abs(x)
        if ord == np.inf:
            return ops.max(a, axis=ax, keepdims=keepdims)
        if ord == -np.inf:
            return ops.min(a, axis=ax, keepdims=keepdims)
        if ord == 1:
            return ops.sum(a, axis=ax, keepdims=keepdims)
        if ord == 0:
            raise ValueError("ops.norm: ord=0 (a count) has no gradient.")
        return ops.power(ops.sum(ops.power(a, ord), axis=ax, keepdims=keepdims), 1.0 / ord)
    r, c = ax
    a = ops.abs(x)
    if ord in (1, -1):
        s = ops.sum(a, axis=r, keepdims=True)
        out = (ops.max if ord == 1 else ops.min)(s, axis=c, keepdims=True)
    elif ord in (np.inf, -np.inf):
        s = ops.sum(a, axis=c, keepdims=True)
        out = (ops.max if ord == np.inf else ops.min)(s, axis=r, keepdims=True)
    else:
        raise ValueError(f"ops.norm: the matrix norm ord={ord!r} has no gradient in rnnlens "
                         "(it needs singular vectors).")
    return out if keepdims else ops.squeeze(out, axis=ax)


@composite("sparsemax")
def _sparsemax(x, axis=-1):
    """Keras's formula as written (``tau`` sums the support's cumulative sums)."""
    ops = _o()
    srt = ops.flip(ops.sort(x, axis=axis), axis=axis)
    cs = ops.cumsum(srt, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = np.asarray(plain_of(srt - (cs - 1) / r)) > 0
    k = np.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    tau = (ops.sum(ops.where(support, cs, 0.0), axis=axis, keepdims=True) - 1) / k
    return ops.maximum(x - tau, 0.0)


def plain_of(v):
    from rnnlens.autodiff.traced import plain

    return plain(v)


@composite("cdist")
def _cdist(x, y):
    ops = _o()
    d = ops.expand_dims(x, -2) - ops.expand_dims(y, -3)
    return ops.sqrt(ops.sum(ops.square(d), axis=-1))


@composite("psnr")
def _psnr(x1, x2, max_val):
    ops = _o()
    mse = ops.mean(ops.square(x1 - x2))
    return 20 * ops.log10(ops.cast(max_val, x2.dtype)) - 10 * ops.log10(mse)


@composite("dot_product_attention")
def _attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
               flash_attention=None, attn_logits_soft_cap=None):
    ops = _o()
    nq, nk = query.shape[2], key.shape[2]
    if nq > nk > 1:
        key = ops.repeat(key, nq // nk, axis=2)
        value = ops.repeat(value, nq // nk, axis=2)
    sc = (1.0 / np.sqrt(np.float32(key.shape[-1]))) if scale is None else scale
    logits = ops.einsum("btnh,bsnh->bnts", query, key) * sc
    if bias is not None:
        logits = logits + ops.cast(bias, logits.dtype)
    if mask is not None or is_causal:
        keep = np.ones(logits.shape, bool)
        if mask is not None:
            keep = keep & np.asarray(mask).astype(bool)
        if is_causal:
            keep = keep & np.tril(np.ones(logits.shape[2:], bool))
        logits = ops.where(keep, logits, np.asarray(3.38953e38 * -0.7, logits.dtype))
    probs = ops.softmax(logits, axis=-1)
    return ops.einsum("bnts,bsnh->btnh", probs, value)


@composite("trapezoid")
def _trapezoid(y, x=None, dx=1.0, axis=-1):
    ops = _o()
    n = y.shape[axis]
    if n < 2:                                       # one sample: the integral is 0
        return ops.sum(y, axis=axis) * 0.0
    lo, hi = ops.take(y, np.arange(n - 1), axis=axis), ops.take(y, np.arange(1, n), axis=axis)
    if x is None:
        return ops.sum((lo + hi) * (0.5 * dx), axis=axis)
    d = ops.diff(x, axis=-1 if x.ndim == 1 else axis)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[axis] = n - 1
        d = ops.reshape(d, shape)
    return ops.sum((lo + hi) * d * 0.5, axis=axis)


# ---------------------------------------------------------------------------- fused
def _fused() -> None:
    from rnnlens.ops import nn_conv as C

    for name in ("conv", "depthwise_conv", "separable_conv", "conv_transpose", "max_pool",
                 "average_pool"):
        FUSED[name] = getattr(C, f"{name}_forward")
        backward = getattr(C, f"{name}_backward")
        params = {"conv": ("inputs", "kernel"), "depthwise_conv": ("inputs", "kernel"),
                  "conv_transpose": ("inputs", "kernel"),
                  "separable_conv": ("inputs", "depthwise_kernel", "pointwise_kernel"),
                  "max_pool": ("inputs",), "average_pool": ("inputs",)}[name]

        def f(ctx: Any, g: np.ndarray, backward=backward, params=params) -> dict:
            grads = backward(ctx.cache, g)
            grads = grads if isinstance(grads, tuple) else (grads,)
            return dict(zip(params, grads))
        vjp(name)(f)


_fused()


def _fused_adaptive() -> None:
    try:
        from rnnlens.ops import nn_adaptive as A
    except ImportError:                                  # an older rnnlens.ops
        return
    for kind in ("average", "max"):
        def forward(inputs: Any, output_size: Any, data_format: Any = None,
                    kind: str = kind) -> Any:
            return A.adaptive_pool_forward(inputs, output_size, data_format, kind)

        FUSED[f"adaptive_{kind}_pool"] = forward
        vjp(f"adaptive_{kind}_pool")(
            lambda ctx, g: {"inputs": A.adaptive_pool_backward(ctx.cache, g)})


_fused_adaptive()


def _fused_ctc() -> None:
    from rnnlens.ops import ctc as C

    FUSED["ctc_loss"] = C.ctc_loss_forward
    vjp("ctc_loss")(lambda ctx, g: {"output": C.ctc_loss_backward(ctx.cache, g)})


_fused_ctc()
