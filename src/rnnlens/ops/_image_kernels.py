"""TensorFlow's image kernels on NumPy, for ``rnnlens.ops.image`` (``tf.image.resize``'s
"nearest" / "area" / antialiased methods, ``ImageProjectiveTransformV3``).

Arrays are channels-last ``(B, H, W, C)``; everything is float32 arithmetic in
TensorFlow's order of operations.

**Nearest** (``ResizeNearestNeighbor``, half-pixel centres): along an axis of n steps
resized to m, ``j(i) = max(0, min(floor((i + 1/2) n / m), n - 1))``.

**Area** (``ResizeArea``): output step i averages the input over ``[i s, (i + 1) s)``
with ``s = n / m``; input step j weighs its overlap ``min(j + 1, (i + 1) s) - max(j, i s)``,
and the sum is divided by ``s`` (per axis: ``y = A_h x A_w^T`` with these weights).

**ScaleAndTranslate** (``tf.image.resize`` with ``antialias=True``, and the Lanczos
methods): with ``k`` the kernel (triangle for "bilinear", Keys' cubic for "bicubic",
Lanczos of radius 3 / 5), ``s = m / n`` and ``c_i = (i + 1/2) / s`` the sampling
centre, the kernel is widened by ``r = max(1 / s, 1)`` when antialiasing a downscale::

    y_i = sum_j w_ij x_j,   w_ij = k(|j + 1/2 - c_i| / r) / sum_j k(...),
    j in [ceil(c_i - R r - 1/2), floor(c_i + R r - 1/2)] (clipped to the input)

**Projective transform** (``ImageProjectiveTransformV3``): the output pixel (x, y) reads
the input at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``;
the coordinates are mapped into the image by the fill mode ("reflect" ``dcba|abcd|dcba``,
"wrap" ``abcd|abcd``, "nearest" clamps, "constant" reads ``fill_value`` outside), then
read by nearest (``round`` half away from zero) or bilinear interpolation.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from rnnlens.ops._conv_core import check_budget
from rnnlens.ops._resize import _normalized, taps_axis

F32 = np.float32


# ------------------------------------------------------------------------------ nearest
def nearest_index(n: int, m: int) -> np.ndarray:
    """Input step read by each of m output steps (half-pixel centres, TensorFlow's)."""
    scale = F32(F32(n) / F32(m))
    src = np.floor((np.arange(m, dtype=F32) + F32(0.5)) * scale).astype(np.intp)
    return np.clip(src, 0, n - 1)


def resize_nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``x`` (B, H, W, C) resized by nearest neighbour (dtype kept)."""
    check_budget("resize", "output", (x.shape[0], *size, x.shape[-1]))
    rows, cols = nearest_index(x.shape[1], size[0]), nearest_index(x.shape[2], size[1])
    return x[:, rows][:, :, cols]


# --------------------------------------------------------------------------------- area
def area_matrix(n: int, m: int) -> np.ndarray:
    """(m, n) overlap weights of ``ResizeArea`` along one axis (not yet divided by s)."""
    scale = F32(F32(n) / F32(m))
    start = np.arange(m, dtype=F32) * scale                                # (m,)
    end = (np.arange(m, dtype=F32) + F32(1)) * scale
    j = np.arange(n, dtype=F32)
    lo = np.maximum(j[None, :], start[:, None])
    hi = np.minimum(j[None, :] + F32(1), end[:, None])
    return np.maximum(hi - lo, F32(0)).astype(F32)                          # (m, n)


def resize_area(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``x`` (B, H, W, C) resized by area averaging (float32)."""
    (h, w), (m, k) = x.shape[1:3], size
    check_budget("resize", "output", (x.shape[0], m, k, x.shape[-1]))
    a, b = area_matrix(h, m), area_matrix(w, k)
    inv = F32(1) / (F32(F32(h) / F32(m)) * F32(F32(w) / F32(k)))
    y = np.einsum("ih,bhwc->biwc", a, x.astype(F32, copy=False))
    y = np.einsum("jw,biwc->bijc", b, y)
    return (y * inv).astype(F32)


# ------------------------------------------------------------------- scale and translate
def _triangle(x: np.ndarray) -> np.ndarray:
    return np.where(x < 1, F32(1) - x, F32(0)).astype(F32)


def _keys_cubic(x: np.ndarray) -> np.ndarray:
    near = ((F32(1.5) * x - F32(2.5)) * x) * x + F32(1)
    far = ((F32(-0.5) * x + F32(2.5)) * x - F32(4)) * x + F32(2)
    return np.where(x >= 2, F32(0), np.where(x >= 1, far, near)).astype(F32)


def _lanczos(radius: float) -> Callable[[np.ndarray], np.ndarray]:
    r, pi = F32(radius), F32(3.14159265359)

    def kernel(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            w = r * np.sin(pi * x) * np.sin(pi * x / r) / (pi * pi * x * x)
        return np.where(x > r, F32(0), np.where(x <= F32(1e-3), F32(1), w)).astype(F32)

    return kernel


#: ``tf.image.resize`` method -> (ScaleAndTranslate kernel, its radius).
KERNELS = {"bilinear": (_triangle, 1.0), "bicubic": (_keys_cubic, 2.0),
           "lanczos3": (_lanczos(3.0), 3.0), "lanczos5": (_lanczos(5.0), 5.0)}


def scale_translate_taps(n: int, m: int, method: str, antialias: bool
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``(j, w)``, each (m, span): ScaleAndTranslate's spans for n -> m steps."""
    kernel, radius = KERNELS[method]
    scale = F32(F32(m) / F32(n))
    inv = F32(1.0 / float(scale))
    kscale = max(inv, F32(1)) if antialias else F32(1)
    span = min(2 * int(np.ceil(radius * kscale)) + 1, n)
    centre = (np.arange(m, dtype=F32) + F32(0.5)) * inv
    reach = F32(radius) * kscale
    lo = np.clip(np.ceil(centre - reach - F32(0.5)), 0, n - 1).astype(np.intp)
    hi = np.clip(np.floor(centre + reach - F32(0.5)), 0, n - 1).astype(np.intp) + 1
    idx = lo[:, None] + np.arange(span)
    pos = np.abs((idx.astype(F32) + F32(0.5) - centre[:, None]) / kscale)
    w = np.where(idx < hi[:, None], kernel(pos), F32(0)).astype(F32)
    outside = (centre < 0) | (centre > n)
    return _normalized(np.where(outside[:, None], -1, idx), w, n)


def resize_scale_translate(x: np.ndarray, size: tuple[int, int], method: str,
                           antialias: bool) -> np.ndarray:
    """``x`` (B, H, W, C) resized by ScaleAndTranslate: the width, then the height."""
    x = x.astype(F32, copy=False)
    (h, w) = x.shape[1:3]
    y = taps_axis(x, 2, scale_translate_taps(w, size[1], method, antialias))
    return taps_axis(y, 1, scale_translate_taps(h, size[0], method, antialias))


# ------------------------------------------------------------------ projective transform
def _trunc_int(v: np.ndarray) -> np.ndarray:
    return np.trunc(v).astype(np.int64)


def map_fill(coord: np.ndarray, length: int, mode: str) -> np.ndarray:
    """TensorFlow's ``MapCoordinate`` for one axis (float32 in, float32 out)."""
    c = coord.astype(F32, copy=True)
    top = F32(length - 1)
    if mode == "constant":
        return c
    if mode == "nearest":
        return np.clip(c, F32(0), top)
    if length <= 1:
        return np.zeros_like(c)
    if mode == "reflect":
        sz2 = F32(2 * length)
        neg = c < 0
        cn = np.where(neg & (c < sz2), sz2 * _trunc_int(-c / sz2).astype(F32) + c, c)
        cn = np.where(cn < -length, cn + sz2, -cn - F32(1))
        pos = c > top
        cp = c - sz2 * _trunc_int(c / sz2).astype(F32)
        cp = np.where(cp >= length, sz2 - cp - F32(1), cp)
        c = np.where(neg, cn, np.where(pos, cp, c))
    else:                                                             # "wrap"
        sz = F32(length - 1)
        n = F32(length)
        cn = c + n * (_trunc_int(-c / sz) + 1).astype(F32)
        cp = c - n * _trunc_int(c / sz).astype(F32)
        c = np.where(c < 0, cn, np.where(c > top, cp, c))
    return np.clip(c.astype(F32), F32(0), top)


def _read(img: np.ndarray, yi: np.ndarray, xi: np.ndarray, fill: np.float32) -> np.ndarray:
    """``img[b, y, x, :]`` for in-range integer coordinates, ``fill`` elsewhere."""
    h, w = img.shape[1:3]
    ok = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)                      # (B, H', W')
    b = np.arange(img.shape[0])[:, None, None]
    vals = img[b, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]            # (B, H', W', C)
    return np.where(ok[..., None], vals, fill)


def projective_transform(images: np.ndarray, transforms: np.ndarray, interpolation: str,
                         fill_mode: str, fill_value: float) -> np.ndarray:
    """``ImageProjectiveTransformV3`` on (B, H, W, C) with (1 or B, 8) float32 transforms."""
    b, h, w, _ = images.shape
    t = np.broadcast_to(transforms.astype(F32), (b, 8))[:, :, None, None]   # (B, 8, 1, 1)
    ys, xs = np.meshgrid(np.arange(h, dtype=F32), np.arange(w, dtype=F32), indexing="ij")
    proj = t[:, 6] * xs + t[:, 7] * ys + F32(1)                            # (B, H, W)
    with np.errstate(divide="ignore", invalid="ignore"):
        in_x = (t[:, 0] * xs + t[:, 1] * ys + t[:, 2]) / proj
        in_y = (t[:, 3] * xs + t[:, 4] * ys + t[:, 5]) / proj
    x = map_fill(in_x, w, fill_mode)
    y = map_fill(in_y, h, fill_mode)
    src = images.astype(F32, copy=False)
    fill = F32(fill_value)
    if interpolation == "nearest":
        out = _read(src, _round_away(y), _round_away(x), fill)
    else:
        y0, x0 = np.floor(y), np.floor(x)
        y1, x1 = y0 + F32(1), x0 + F32(1)
        iy0, ix0, iy1, ix1 = (_trunc_int(v) for v in (y0, x0, y1, x1))
        wx1, wx0 = (x - x0)[..., None], (x1 - x)[..., None]
        top = wx0 * _read(src, iy0, ix0, fill) + wx1 * _read(src, iy0, ix1, fill)
        bottom = wx0 * _read(src, iy1, ix0, fill) + wx1 * _read(src, iy1, ix1, fill)
        out = (y1 - y)[..., None] * top + (y - y0)[..., None] * bottom
    out = np.where((proj == 0)[..., None], fill, out)
    return out.astype(images.dtype) if images.dtype.kind == "f" else \
        _saturate_int(out, images.dtype)


def _round_away(v: np.ndarray) -> np.ndarray:
    """``std::round``: halves away from zero."""
    return (np.sign(v) * np.floor(np.abs(v) + F32(0.5))).astype(np.int64)


def _saturate_int(v: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``T(value)`` of a float for an integer T: truncation (clipped to the range)."""
    info = np.iinfo(dtype)
    return np.clip(np.trunc(np.nan_to_num(v)), info.min, info.max).astype(dtype)


__all__ = ["nearest_index", "resize_nearest", "area_matrix", "resize_area", "KERNELS",
           "scale_translate_taps", "resize_scale_translate", "map_fill",
           "projective_transform"]
