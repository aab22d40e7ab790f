"""Image resizing along spatial axes as TensorFlow's ``tf.image.resize`` computes it for the
methods ``UpSampling2D`` offers (``antialias=False``, half-pixel centres).

For an axis of n input steps resized to m, the output step i samples the input at::

    src(i) = (i + 1/2) (n / m) - 1/2                      (float32, as TensorFlow)

"bilinear" (``ResizeBilinear``): ``lo = max(floor(src), 0)``, ``hi = min(ceil(src), n - 1)``,
``t = src - floor(src)``, and along each axis ``y = x[lo] + (x[hi] - x[lo]) t``: the width
first, then the height, in TensorFlow's order of operations. An interpolation along
one axis is a linear map ``y = A x`` with ``A[i, lo] += 1 - t``, ``A[i, hi] += t``; the
backward pass is ``dx = A^T dy``, axis by axis.

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


def linear_axis_backward(dy: np.ndarray, axis: int, n: int) -> np.ndarray:
    """The adjoint of ``linear_axis`` (to n steps): ``dx = A^T dy`` along ``axis``."""
    m = dy.shape[axis]
    check_budget("resize", "interpolation matrix", (m, n))
    lo, hi, t = linear_taps(n, m)
    a = np.zeros((m, n), dy.dtype)
    rows = np.arange(m)
    np.add.at(a, (rows, lo), 1 - t)
    np.add.at(a, (rows, hi), t)
    return np.moveaxis(np.tensordot(dy, a, axes=([axis], [0])), -1, axis)


def bilinear(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``x`` (B, H, W, C) resized to (B, *size, C): the width first, then the height."""
    return linear_axis(linear_axis(x, 2, size[1]), 1, size[0])


def bilinear_backward(dy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``dL/dx`` of ``bilinear`` for an input of spatial ``size`` (H, W)."""
    return linear_axis_backward(linear_axis_backward(dy, 1, size[0]), 2, size[1])


__all__ = ["linear_taps", "linear_axis", "linear_axis_backward", "bilinear",
           "bilinear_backward"]
