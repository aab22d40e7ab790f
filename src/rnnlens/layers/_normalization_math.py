"""The arithmetic of BatchNormalization and LayerNormalization, forward and backward.

Both layers normalize with statistics reduced over a set of axes ``R`` (kept as size-1
dimensions) and then apply TensorFlow's ``tf.nn.batch_normalization`` graph, in its
operation order (``keras.ops.batch_normalization`` and ``layer_normalization`` on the
TensorFlow backend)::

    r   = rsqrt(var + epsilon)
    inv = r * scale                      # scale: gamma (broadcast), or absent
    y   = x * inv + (offset - mean * inv)

Statistics (``tf.nn.moments``; ``Keras``'s masked moments; the ``synchronized`` form)::

    mean = sum_R(w * x) / D              # w: 1, or the mask (0 / 1) broadcast over x
    var  = sum_R((w * (x - mean)) ** 2) / D
    D    = N (the number of reduced elements), or sum_R(w) + 1e-7 with a mask
    synchronized: var = max(sum_R(x ** 2) / N - mean ** 2, 0)

Backward, with ``g = dL/dy`` (``tf.nn.moments`` stops the gradient of the mean inside
the variance; Keras's masked moments do not, which adds the last term)::

    dx    = g * inv + w * (dvar * 2 * w * (x - mean) / D) + w * dmean / D
    dinv  = g * (x - mean)                dscale  = sum(dinv * r)  (to scale's shape)
    dr    = sum_R(dinv * scale)           doffset = sum(g)         (to offset's shape)
    dvar  = -dr * r ** 3 / 2
    dmean = -sum_R(g * inv) [- sum_R(w * dvar * 2 * w * (x - mean) / D)  with a mask]

Shape legend: ``x`` any shape; statistics keep the reduced axes as size 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: ``keras.config.epsilon()``: Keras's masked moments divide by ``sum(mask) + 1e-7``.
MASK_EPSILON = 1e-7


def sum_to(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` summed over the axes where ``shape`` (same rank) has size 1."""
    axes = tuple(i for i, (n, m) in enumerate(zip(a.shape, shape)) if m == 1 and n != 1)
    return np.sum(a, axis=axes, keepdims=True) if axes else a


def moments(x: np.ndarray, axes: tuple[int, ...], weights: np.ndarray | None = None,
            synchronized: bool = False) -> dict:
    """Mean and variance over ``axes`` (kept), as Keras's TensorFlow backend computes them.

    Args:
        x: the input.
        axes: the reduced axes (non-negative).
        weights: the mask as 0 / 1 floats broadcast to ``x`` (Keras's masked moments),
            or None (``tf.nn.moments``).
        synchronized: ``var = max(E[x^2] - mean^2, 0)`` (Keras's ``synchronized=True``).

    Returns:
        ``{"mean", "var", "denom", "weights", "diff", "kind"}``: what the backward needs.
    """
    dt = x.dtype.type
    with np.errstate(all="ignore"):
        if weights is not None:
            denom = np.sum(weights, axis=axes, keepdims=True) + dt(MASK_EPSILON)
            mean = np.sum(np.where(weights > 0, x, 0), axis=axes, keepdims=True) / denom
            diff = np.where(weights > 0, x - mean, 0).astype(x.dtype, copy=False)
            var = np.sum(np.square(diff), axis=axes, keepdims=True) / denom
            return {"mean": mean, "var": var, "denom": denom, "weights": weights,
                    "diff": diff, "kind": "masked"}
        n = dt(int(np.prod([x.shape[a] for a in axes], dtype=np.int64)))
        mean = np.mean(x, axis=axes, keepdims=True)
        diff = x - mean
        if synchronized:
            raw = np.sum(np.square(x), axis=axes, keepdims=True) / n - np.square(mean)
            var = np.maximum(raw, dt(0))
            kind = "sync"
            return {"mean": mean, "var": var, "denom": n, "weights": None, "diff": diff,
                    "kind": kind, "live": raw >= 0}
        var = np.mean(np.square(diff), axis=axes, keepdims=True)
    return {"mean": mean, "var": var, "denom": n, "weights": None, "diff": diff,
            "kind": "plain"}


def normalize(x: np.ndarray, mean: np.ndarray, var: np.ndarray, epsilon: float,
              scale: np.ndarray | None, offset: np.ndarray | None
              ) -> tuple[np.ndarray, dict]:
    """``tf.nn.batch_normalization``: ``x * inv + (offset - mean * inv)``, and its cache."""
    dt = x.dtype.type
    with np.errstate(all="ignore"):
        r = (1 / np.sqrt(var + dt(epsilon))).astype(x.dtype, copy=False)
        inv = r if scale is None else r * scale
        shift = -mean * inv if offset is None else offset - mean * inv
        y = x * inv + shift
    return y, {"x": x, "mean": mean, "r": r, "inv": inv, "scale": scale, "offset": offset}


def normalize_backward(cache: dict, g: np.ndarray) -> tuple[np.ndarray, dict]:
    """dL/dx with the statistics held constant, and the partials the caller chains.

    Returns:
        ``(dx, {"d_scale", "d_offset" (full shape, or None), "d_mean", "d_r"})``.
    """
    x, mean, r, inv, scale = cache["x"], cache["mean"], cache["r"], cache["inv"], cache["scale"]
    with np.errstate(all="ignore"):
        d_inv = g * (x - mean)                                # (x.shape)
        parts = {"d_scale": None if scale is None else d_inv * r,
                 "d_offset": None if cache["offset"] is None else g,
                 "d_mean": -(g * inv),                         # summed over R by the caller
                 "d_r": d_inv if scale is None else d_inv * scale}
        return g * inv, parts


def moments_backward(stats: dict, axes: tuple[int, ...], d_mean: np.ndarray,
                     d_var: np.ndarray) -> np.ndarray:
    """dL/dx from gradients of the (kept-axes) mean and variance of :func:`moments`."""
    w, diff, denom = stats["weights"], stats["diff"], stats["denom"]
    with np.errstate(all="ignore"):
        if stats["kind"] == "sync":
            d_var = np.where(stats["live"], d_var, 0)          # tf.maximum's gradient
        d_diff = d_var * 2 * diff / denom                     # (x.shape)
        if w is not None:
            d_diff = np.where(w > 0, d_diff, 0)
            d_mean = d_mean - np.sum(d_diff, axis=axes, keepdims=True)
            return d_diff + np.where(w > 0, d_mean / denom, 0)
        return d_diff + d_mean / denom


def batch_stats_backward(ncache: dict, stats: dict, axes: tuple[int, ...], g: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward of ``normalize(x, *moments(x))``: ``(dx, d_scale (full), d_offset (full))``.

    The full-shape parameter gradients are summed to the parameters' shapes by the caller.
    """
    dx, parts = normalize_backward(ncache, g)
    r = ncache["r"]
    d_r = np.sum(parts["d_r"], axis=axes, keepdims=True)
    d_var = d_r * (-0.5) * r ** 3
    d_mean = np.sum(parts["d_mean"], axis=axes, keepdims=True)
    dx = dx + moments_backward(stats, axes, d_mean, d_var)
    return dx, parts["d_scale"], parts["d_offset"]


def rms_scaled(x: np.ndarray, axes: tuple[int, ...], epsilon: float, gamma: Any
               ) -> tuple[np.ndarray, dict]:
    """Keras's deprecated ``rms_scaling``: ``x * rsqrt(var(x) + epsilon) * gamma``."""
    stats = moments(x, axes)
    with np.errstate(all="ignore"):
        r = (1 / np.sqrt(stats["var"] + x.dtype.type(epsilon))).astype(x.dtype, copy=False)
        y = x * r
        if gamma is not None:
            y = y * gamma
    return y, {"x": x, "r": r, "gamma": gamma, "stats": stats}


def rms_scaled_backward(cache: dict, axes: tuple[int, ...], g: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray | None]:
    """``(dx, d_gamma (full shape))`` of :func:`rms_scaled`."""
    x, r, gamma, stats = cache["x"], cache["r"], cache["gamma"], cache["stats"]
    with np.errstate(all="ignore"):
        gy = g if gamma is None else g * gamma                 # dL/d(x * r)
        d_gamma = None if gamma is None else g * x * r
        d_r = np.sum(gy * x, axis=axes, keepdims=True)
        d_var = d_r * (-0.5) * r ** 3
        dx = gy * r + moments_backward(stats, axes, np.zeros_like(d_r), d_var)
    return dx, d_gamma


__all__ = ["MASK_EPSILON", "sum_to", "moments", "normalize", "normalize_backward",
           "moments_backward", "batch_stats_backward", "rms_scaled", "rms_scaled_backward"]
