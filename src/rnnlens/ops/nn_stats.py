"""``keras.ops.nn``, second half: crossentropies, moments and normalisation, attention,
pixel shuffles (re-exported by ``rnnlens.ops.nn``).

* ``binary_crossentropy = -(t log p + (1 - t) log(1 - p))`` with p clipped to
  ``[1e-7, 1 - 1e-7]``, element-wise; from logits ``max(z, 0) - z t + log(1 + e^-|z|)``.
* ``categorical_crossentropy = -sum(t log p)`` over ``axis`` after ``p / sum(p)`` and the
  clip; ``sparse_categorical_crossentropy = -log(c_y / sum(c))`` with ``c`` the clipped p.
* ``moments``: ``mean`` and ``mean((x - mean)^2)``; ``layer_normalization``:
  ``(x - mean) / sqrt(var + eps) * gamma + beta``; ``rms_normalization``:
  ``x / sqrt(mean(x^2) + eps) * scale``.
* ``dot_product_attention``: ``softmax(q k^T * scale + bias, masked) v`` on (B, T, N, H).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.ops._common import as_int, check_broadcast, need_float, norm_axes, norm_axis
from rnnlens.ops._dispatch import cast_array, convert, fail, keras_op
from rnnlens.ops._dtypes import result_type

EPSILON = 1e-7


def _c(x: np.ndarray, v: float) -> Any:
    return x.dtype.type(v)


# ---------------------------------------------------------------------------- losses
def _probs_pair(target: np.ndarray, output: np.ndarray, op: str) -> tuple[np.ndarray, ...]:
    need_float(output, op)
    t = cast_array(target, output.dtype.name)
    if t.shape != output.shape:
        raise fail(op, f"target.shape={target.shape} and output.shape={output.shape} must "
                   "be equal.")
    return t, output


@keras_op("binary_crossentropy", "target output")
def binary_crossentropy(target: np.ndarray, output: np.ndarray,
                        from_logits: bool = False) -> np.ndarray:
    """Element-wise binary crossentropy (no reduction)."""
    t, o = _probs_pair(target, output, "binary_crossentropy")
    with np.errstate(all="ignore"):
        if from_logits:
            return (np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))).astype(o.dtype)
        p = np.clip(o, _c(o, EPSILON), _c(o, 1 - EPSILON))
        return (-(t * np.log(p) + (1 - t) * np.log(1 - p))).astype(o.dtype)


@keras_op("categorical_crossentropy", "target output")
def categorical_crossentropy(target: np.ndarray, output: np.ndarray, from_logits: bool = False,
                             axis: int = -1) -> np.ndarray:
    """``-sum(t log p)`` over ``axis`` (probabilities renormalised and clipped first)."""
    t, o = _probs_pair(target, output, "categorical_crossentropy")
    if o.ndim < 1:
        raise fail("categorical_crossentropy", "output must have rank >= 1.")
    a = norm_axis(axis, o.ndim, "categorical_crossentropy")
    with np.errstate(all="ignore"):
        if from_logits:
            s = o - np.max(o, axis=a, keepdims=True)
            logp = s - np.log(np.sum(np.exp(s), axis=a, keepdims=True))
        else:
            p = o / np.sum(o, axis=a, keepdims=True)
            logp = np.log(np.clip(p, _c(o, EPSILON), _c(o, 1 - EPSILON)))
        return (-np.sum(t * logp, axis=a)).astype(o.dtype)


@keras_op("sparse_categorical_crossentropy", "target output")
def sparse_categorical_crossentropy(target: np.ndarray, output: np.ndarray,
                                    from_logits: bool = False, axis: int = -1) -> np.ndarray:
    """``-log softmax(z)[y]`` (logits) or ``-log(c_y / sum(c))`` for clipped probs ``c``."""
    need_float(output, "sparse_categorical_crossentropy")
    op = "sparse_categorical_crossentropy"
    if output.ndim < 1 or (axis != -1 and axis != output.ndim - 1):
        raise fail(op, f"only axis=-1 is supported, received axis={axis} for output of "
                   f"rank {output.ndim}.")
    y = cast_array(target, "int64")
    if y.ndim == output.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != output.shape[:-1]:
        raise fail(op, f"target.shape={target.shape} must equal output.shape[:-1]="
                   f"{output.shape[:-1]}.")
    k = output.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= k):
        raise fail(op, f"labels must lie in [0, {k}), received {y.min()}..{y.max()}.")
    with np.errstate(all="ignore"):
        z = output if from_logits else np.log(
            np.clip(output, _c(output, EPSILON), _c(output, 1 - EPSILON)))
        s = z - np.max(z, axis=-1, keepdims=True)
        logp = s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))
        return (-np.take_along_axis(logp, y[..., None], -1)[..., 0]).astype(output.dtype)


# ---------------------------------------------------------------------------- statistics
@keras_op("moments", "x")
def moments(x: np.ndarray, axes: Any, keepdims: bool = False,
            synchronized: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, variance)`` over ``axes``; float16 computes in float32."""
    ax = norm_axes(axes, x.ndim, "moments")
    d = x.dtype.name
    xc = x.astype("float32") if d == "float16" else x
    if xc.dtype.kind not in "fc":
        raise TypeError(f"ops.moments: expected a float tensor, received {d}.")
    with np.errstate(all="ignore"):
        m = np.mean(xc, axis=ax, keepdims=True)
        v = np.mean(np.square(xc - m), axis=ax, keepdims=keepdims)
        m = m if keepdims else np.squeeze(m, ax)
    if d == "float16":
        lim = np.finfo("float16").max
        return np.clip(m, -lim, lim).astype(d), np.clip(v, -lim, lim).astype(d)
    return m.astype(d), v.astype(d)


@keras_op("batch_normalization", "x mean variance offset scale")
def batch_normalization(x: np.ndarray, mean: np.ndarray, variance: np.ndarray, axis: int,
                        offset: Any = None, scale: Any = None,
                        epsilon: float = 1e-3) -> np.ndarray:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, stats along ``axis``."""
    need_float(x, "batch_normalization")
    a = norm_axis(axis, x.ndim, "batch_normalization")
    shape = [1] * x.ndim
    shape[a] = x.shape[a]

    def b(v: Any) -> Any:
        if v is None:
            return None
        v = v.astype(x.dtype)
        if v.size != x.shape[a]:
            raise fail("batch_normalization", f"statistics of shape {v.shape} do not fit "
                       f"axis {axis} of size {x.shape[a]}.")
        return v.reshape(shape)

    m, v, o, s = b(mean), b(variance), b(offset), b(scale)
    inv = 1 / np.sqrt(v + _c(x, epsilon))
    if s is not None:
        inv = inv * s
    return (x * inv + ((o if o is not None else 0) - m * inv)).astype(x.dtype)


@keras_op("normalize", "x")
def normalize(x: np.ndarray, axis: Any = -1, order: int = 2,
              epsilon: float | None = None) -> np.ndarray:
    """``x / max(||x||_order, epsilon)`` along ``axis`` (order 2: ``x * min(rsqrt(sum
    x^2), 1/eps)``)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise fail("normalize", f"order must be an int >= 1, received {order!r}.")
    need_float(x, "normalize")
    eps = EPSILON if epsilon is None else epsilon
    if x.ndim == 0:
        x = x[None]
    ax = norm_axes(axis, x.ndim, "normalize")
    with np.errstate(all="ignore"):
        if order == 2:
            inv = 1 / np.sqrt(np.sum(x * x, axis=ax, keepdims=True))
            return (x * np.minimum(inv, _c(x, 1.0 / eps))).astype(x.dtype)
        from rnnlens.ops.linalg import norm

        n = norm.__wrapped__(x, order, axis, True)
        return (x / np.maximum(n, _c(x, eps))).astype(x.dtype)


@keras_op("layer_normalization", "x gamma beta")
def layer_normalization(x: np.ndarray, gamma: Any = None, beta: Any = None, axis: Any = -1,
                        epsilon: float | None = None, **kwargs: Any) -> np.ndarray:
    """``(x - mean) / sqrt(var + eps) * gamma + beta`` over ``axis``."""
    rms = kwargs.pop("rms_scaling", False)
    d = x.dtype.name
    comp = result_type(d, "float32")
    xc = cast_array(x, comp)
    eps = EPSILON if epsilon is None else epsilon
    ax = norm_axes(axis, xc.ndim, "layer_normalization")
    shape = [xc.shape[i] if i in ax else 1 for i in range(xc.ndim)]

    def b(v: Any) -> Any:
        if v is None:
            return None
        v = cast_array(v, comp)
        return v.reshape(shape) if v.ndim != xc.ndim and list(ax) != [xc.ndim - 1] else v

    g, be = b(gamma), b(beta)
    with np.errstate(all="ignore"):
        m = np.mean(xc, axis=ax, keepdims=True)
        v = np.mean(np.square(xc - m), axis=ax, keepdims=True)
        inv = 1 / np.sqrt(v + np.asarray(eps, comp))
        if rms:
            out = xc * inv * (g if g is not None else 1)
        else:
            inv = inv * g if g is not None else inv
            out = xc * inv + ((be if be is not None else 0) - m * inv)
    return cast_array(np.asarray(out), d)


@keras_op("rms_normalization", "x scale")
def rms_normalization(x: np.ndarray, scale: Any = None, axis: Any = -1,
                      epsilon: float | None = None) -> np.ndarray:
    """``x / sqrt(mean(x^2) + eps) * scale`` over ``axis``."""
    d = x.dtype.name
    comp = result_type(d, "float32")
    xc = cast_array(x, comp)
    if xc.ndim == 0:
        xc = xc[None]
    eps = EPSILON if epsilon is None else epsilon
    ax = norm_axes(axis, xc.ndim, "rms_normalization")
    with np.errstate(all="ignore"):
        r = 1 / np.sqrt(np.mean(xc * xc, axis=ax, keepdims=True) + np.asarray(eps, comp))
        out = xc * r
        if scale is not None:
            check_broadcast("rms_normalization", out.shape, scale.shape)
            out = out * cast_array(scale, comp)
    return cast_array(out, d)


@keras_op("psnr", "x1 x2")
def psnr(x1: np.ndarray, x2: np.ndarray, max_val: Any) -> np.ndarray:
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mse)``."""
    if x1.shape != x2.shape:
        raise fail("psnr", f"shapes {x1.shape} and {x2.shape} must match.")
    d = x2.dtype
    mv = convert(max_val, op="psnr").astype(d)
    with np.errstate(all="ignore"):
        mse = np.mean(np.square(x1 - x2))
        return (20 * np.log10(mv) - 10 * np.log10(mse)).astype(d)


@keras_op("polar", "abs_ angle")
def polar(abs_: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``abs_ * (cos(angle) + 1j sin(angle))``."""
    d = "complex128" if "float64" in (abs_.dtype.name, angle.dtype.name) else "complex64"
    return (abs_ * np.cos(angle) + 1j * abs_ * np.sin(angle)).astype(d)


# ---------------------------------------------------------------------------- attention
@keras_op("dot_product_attention", "query key value bias mask")
def dot_product_attention(query: np.ndarray, key: np.ndarray, value: np.ndarray,
                          bias: Any = None, mask: Any = None, scale: Any = None,
                          is_causal: bool = False, flash_attention: Any = None,
                          attn_logits_soft_cap: Any = None) -> np.ndarray:
    """``softmax(q k^T * scale + bias, masked) v`` on ``(B, T, N, H)`` tensors."""
    op = "dot_product_attention"
    if flash_attention:
        raise fail(op, "flash attention is not available (as on TensorFlow).")
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise fail(op, f"needs 4-D (B, T, N, H) inputs, received {query.shape}, "
                   f"{key.shape}, {value.shape}.")
    d = result_type(query.dtype.name, key.dtype.name, value.dtype.name)
    q, k, v = (cast_array(t, d) for t in (query, key, value))
    nq, nk = q.shape[2], k.shape[2]
    if nq > nk > 1:
        if nq % nk:
            raise fail(op, f"{nq} query heads do not divide into {nk} key heads.")
        k, v = np.repeat(k, nq // nk, axis=2), np.repeat(v, nq // nk, axis=2)
    if q.shape[-1] != k.shape[-1] or k.shape[:2] != v.shape[:2]:
        raise fail(op, f"shapes {query.shape}, {key.shape}, {value.shape} do not fit.")
    sc = (1.0 / np.sqrt(np.float32(k.shape[-1]))) if scale is None else scale
    ld = result_type(d, "float32")
    logits = np.einsum("btnh,bsnh->bnts", q, k).astype(ld) * np.asarray(sc, ld)
    if bias is not None:
        logits = logits + cast_array(bias, ld)
    if mask is not None or is_causal:
        keep = np.ones(logits.shape, bool)
        if mask is not None:
            keep = keep & mask.astype(bool)
        if is_causal:
            t, s = logits.shape[2], logits.shape[3]
            keep = keep & np.tril(np.ones((t, s), bool))
        big = (65500.0 if ld == "float16" else 3.38953e38) * -0.7
        logits = np.where(keep, logits, np.asarray(big, ld))
    with np.errstate(all="ignore"):
        e = np.exp(logits - logits.max(-1, keepdims=True))
        probs = (e / e.sum(-1, keepdims=True)).astype(d)
    return np.einsum("bnts,bsnh->btnh", probs, v).astype(d)


# ---------------------------------------------------------------------------- pixel shuffle
def _nhwc(x: np.ndarray, data_format: str, op: str) -> np.ndarray:
    if x.ndim != 4:
        raise fail(op, f"needs a 4-D tensor, received shape {x.shape}.")
    if data_format not in ("channels_last", "channels_first"):
        raise fail(op, f"data_format={data_format!r}.")
    return x if data_format == "channels_last" else np.transpose(x, (0, 2, 3, 1))


def _back(x: np.ndarray, data_format: str) -> np.ndarray:
    return x if data_format == "channels_last" else np.transpose(x, (0, 3, 1, 2))


@keras_op("depth_to_space", "x")
def depth_to_space(x: np.ndarray, block_size: int,
                   data_format: str = "channels_last") -> np.ndarray:
    y = _nhwc(x, data_format, "depth_to_space")
    b = as_int(block_size, "block_size", "depth_to_space")
    n, h, w, c = y.shape
    if b < 2 or c % (b * b):
        raise fail("depth_to_space", f"channels {c} must divide by block_size^2={b * b}.")
    y = y.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
    return _back(y.reshape(n, h * b, w * b, c // (b * b)), data_format)


@keras_op("space_to_depth", "x")
def space_to_depth(x: np.ndarray, block_size: int,
                   data_format: str = "channels_last") -> np.ndarray:
    y = _nhwc(x, data_format, "space_to_depth")
    b = as_int(block_size, "block_size", "space_to_depth")
    n, h, w, c = y.shape
    if b < 2 or h % b or w % b:
        raise fail("space_to_depth", f"height {h} and width {w} must divide by "
                   f"block_size={b}.")
    y = y.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
    return _back(y.reshape(n, h // b, w // b, b * b * c), data_format)

