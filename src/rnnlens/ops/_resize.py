"""Image resizing along spatial axes as TensorFlow's ``tf.image.resize`` computes it for the
methods ``UpSampling2D`` offers (``antialias=False``, half-pixel centres): "bilinear",
"bicubic", "lanczos3", "lanczos5".

For an axis of n input steps resized to m, the output step i samples the input at::

    src(i) = (i + 1/2) (n / m) - 1/2                      (float32, as TensorFlow)

"bilinear" (``ResizeBilinear``): ``lo = max(floor(src), 0)``, ``hi = min(ceil(src), n - 1)``,
``t = src - floor(src)``, and along each axis ``y = x[lo] + (x[hi] - x[lo]) t``: the width
first, then the height, in TensorFlow's order of operations. An interpolation along
one axis is a linear map ``y = A x`` with ``A[i, lo] += 1 - t``, ``A[i, hi] += t``; the
backward pass is ``dx = A^T dy``, axis by axis (summed tap by tap, A is never formed).

"bicubic" (``ResizeBicubic``, Keys' cubic with a = -1/2): the taps ``floor(src) - 1 ..
floor(src) + 2`` with weights read from TensorFlow's 1025-entry table at
``round(1024 (src - floor(src)))``; taps outside the input get weight 0 and the others
are renormalized to sum to 1.

"lanczos3" / "lanczos5" (``ScaleAndTranslate`` without antialiasing): sampling at
``c = (i + 1/2) n / m``, the input steps j with ``ceil(c - r - 1/2) <= j <= floor(c + r -
1/2)`` (clipped to the input) weigh ``L(j + 1/2 - c)``, ``L(x) = r sin(pi x) sin(pi x / r) /
(pi x)^2`` (1 near 0, 0 past r), renormalized to sum to 1.

Those are ``y = sum_t w_t x[j_t]`` along an axis (width first, then height, accumulated
tap by tap as TensorFlow does); their backward is the same ``A^T dy``.

Arrays here are channels-last ``(B, *S, C)``; ``axis`` is the array axis resized.
"""

from __future__ import annotations

import numpy as np

from rnnlens.ops._conv_core import check_budget


def linear_taps(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lo, hi, t)`` of each of the m output steps of a bilinear resize from n steps."""
    scale = np.float32(np.float32(n) / np.float32(m))
    src = (np.arange(m, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(src)
    lo = np.maximum(floor, 0).astype(np.intp)
    hi = np.minimum(np.ceil(src), n - 1).astype(np.intp)
    return lo, hi, (src - floor).astype(np.float32)


def _along(t: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """``t`` (m,) shaped to broadcast along ``axis`` of an ndim array."""
    shape = [1] * ndim
    shape[axis] = t.size
    return t.reshape(shape)


def linear_axis(x: np.ndarray, axis: int, m: int) -> np.ndarray:
    """``x`` resized to m steps along ``axis`` by linear interpolation (TensorFlow's)."""
    lo, hi, t = linear_taps(x.shape[axis], m)
    shape = list(x.shape)
    shape[axis] = m
    check_budget("resize", "output", tuple(shape))
    a, b = np.take(x, lo, axis=axis), np.take(x, hi, axis=axis)
    return a + (b - a) * _along(t.astype(x.dtype, copy=False), axis, x.ndim)


#: Above this many entries (m * n) an axis's interpolation matrix is not formed.
_DENSE_LIMIT = 1 << 22


def linear_axis_backward(dy: np.ndarray, axis: int, n: int) -> np.ndarray:
    """The adjoint of ``linear_axis`` (to n steps): ``dx = A^T dy`` along ``axis``."""
    lo, hi, t = linear_taps(n, dy.shape[axis])
    return _adjoint(dy, axis, n, np.stack([lo, hi], 1), np.stack([1 - t, t], 1))


def _adjoint(dy: np.ndarray, axis: int, n: int, idx: np.ndarray, w: np.ndarray
             ) -> np.ndarray:
    """``dx[j] = sum_{i, t: idx[i, t] = j} w[i, t] dy[i]`` along ``axis``: ``A^T dy`` with a
    dense ``A`` (m, n) when it is small (one matmul), else without forming A: each tap's
    indices never decrease with i, so their runs are summed with ``np.add.reduceat``."""
    m = idx.shape[0]
    if m * n <= _DENSE_LIMIT:
        a = np.zeros((m, n), dy.dtype)
        np.add.at(a, (np.repeat(np.arange(m), idx.shape[1]), idx.ravel()), w.ravel())
        return np.moveaxis(np.tensordot(dy, a, axes=([axis], [0])), -1, axis)
    moved = np.moveaxis(dy, axis, 0)
    d2 = np.ascontiguousarray(moved).reshape(moved.shape[0], -1)          # (m, rest)
    dx = np.zeros((n, d2.shape[1]), dy.dtype)
    for t in range(idx.shape[1]):
        j = idx[:, t]
        starts = np.flatnonzero(np.r_[True, j[1:] != j[:-1]])
        contrib = d2 * w[:, t, None].astype(dy.dtype)
        dx[j[starts]] += np.add.reduceat(contrib, starts, axis=0)
    return np.moveaxis(dx.reshape(n, *moved.shape[1:]), 0, axis)


_TABLE = 1024


def _keys_table() -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's cubic coefficient table (computed in double, stored in float32)."""
    a, x = -0.5, np.arange(_TABLE + 1) / _TABLE
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    x = x + 1.0
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return near.astype(np.float32), far.astype(np.float32)


def _normalized(idx: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Taps outside [0, n) get weight 0; each row's weights are scaled to sum to 1."""
    w = np.where((idx >= 0) & (idx < n), w, np.float32(0)).astype(np.float32)
    total = np.zeros(w.shape[0], np.float32)
    for t in range(w.shape[1]):
        total += w[:, t]
    big = np.abs(total) >= 1000 * np.finfo(np.float32).tiny
    inv = np.float32(1) / np.where(big, total, np.float32(1))
    return np.clip(idx, 0, n - 1), np.where(big[:, None], w * inv[:, None], w)


def cubic_taps(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(j, w)``, each (m, 4): TensorFlow's half-pixel bicubic taps (see the module)."""
    near, far = _keys_table()
    scale = np.float32(np.float32(n) / np.float32(m))
    src = (np.arange(m, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    loc = np.floor(src)
    off = np.rint((src - loc) * np.float32(_TABLE)).astype(np.intp)
    idx = loc.astype(np.intp)[:, None] + np.arange(-1, 3)
    w = np.stack([far[off], near[off], near[_TABLE - off], far[_TABLE - off]], axis=1)
    return _normalized(idx, w, n)


def lanczos_taps(n: int, m: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """``(j, w)``, each (m, span): ScaleAndTranslate's Lanczos taps (see the module)."""
    scale = np.float32(np.float32(m) / np.float32(n))
    inv = np.float32(1.0 / float(scale))
    centre = (np.arange(m, dtype=np.float32) + np.float32(0.5)) * inv
    r = np.float32(radius)
    lo = np.clip(np.ceil(centre - r - np.float32(0.5)), 0, n - 1).astype(np.intp)
    hi = np.clip(np.floor(centre + r - np.float32(0.5)), 0, n - 1).astype(np.intp) + 1
    span = min(2 * radius + 1, n)
    idx = lo[:, None] + np.arange(span)
    pos = np.abs(idx.astype(np.float32) + np.float32(0.5) - centre[:, None])
    pi = np.float32(3.14159265359)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = r * np.sin(pi * pos) * np.sin(pi * pos / r) / (pi * pi * pos * pos)
    w = np.where(pos <= np.float32(1e-3), np.float32(1), np.where(pos > r, 0, w))
    w = np.where(idx < hi[:, None], w, np.float32(0)).astype(np.float32)
    outside = (centre < 0) | (centre > n)
    return _normalized(np.where(outside[:, None], -1, idx), w, n)


def taps_axis(x: np.ndarray, axis: int, taps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``y[i] = sum_t w[i, t] x[j[i, t]]`` along ``axis``, accumulated tap by tap."""
    idx, w = taps
    shape = list(x.shape)
    shape[axis] = idx.shape[0]
    check_budget("resize", "output", tuple(shape))
    y = np.zeros(shape, x.dtype)
    for t in range(idx.shape[1]):
        y += np.take(x, idx[:, t], axis=axis) * _along(w[:, t].astype(x.dtype), axis, x.ndim)
    return y


def taps_axis_backward(dy: np.ndarray, axis: int, n: int,
                       taps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The adjoint of ``taps_axis`` (to n steps): ``dx = A^T dy`` along ``axis``."""
    return _adjoint(dy, axis, n, *taps)


def _taps(method: str, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    if method == "bicubic":
        return cubic_taps(n, m)
    return lanczos_taps(n, m, 3 if method == "lanczos3" else 5)


def resize(x: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """``x`` (B, H, W, C) resized to (B, *size, C) by "bilinear", "bicubic", "lanczos3" or
    "lanczos5" as ``tf.image.resize`` (``antialias=False``): the width, then the height."""
    if method == "bilinear":
        return bilinear(x, size)
    (h, w) = x.shape[1:3]
    return taps_axis(taps_axis(x, 2, _taps(method, w, size[1])), 1, _taps(method, h, size[0]))


def resize_backward(dy: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """``dL/dx`` of ``resize`` for an input of spatial ``size`` (H, W)."""
    if method == "bilinear":
        return bilinear_backward(dy, size)
    (m, k) = dy.shape[1:3]
    d = taps_axis_backward(dy, 1, size[0], _taps(method, size[0], m))
    return taps_axis_backward(d, 2, size[1], _taps(method, size[1], k))


def bilinear(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``x`` (B, H, W, C) resized to (B, *size, C): the width first, then the height."""
    return linear_axis(linear_axis(x, 2, size[1]), 1, size[0])


def bilinear_backward(dy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``dL/dx`` of ``bilinear`` for an input of spatial ``size`` (H, W)."""
    return linear_axis_backward(linear_axis_backward(dy, 1, size[0]), 2, size[1])


__all__ = ["linear_taps", "linear_axis", "linear_axis_backward", "bilinear",
           "bilinear_backward", "cubic_taps", "lanczos_taps", "taps_axis", "taps_axis_backward",
           "resize", "resize_backward"]
