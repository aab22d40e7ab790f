"""``keras.ops.image`` on NumPy, as Keras 3.15.1 computes it on TensorFlow.

Every function takes a single image ``(H, W, C)`` or a batch ``(B, H, W, C)``
(``(C, H, W)`` / ``(B, C, H, W)`` with ``data_format="channels_first"``; None is
``rnnlens.backend.image_data_format()``):

* ``resize``: ``tf.image.resize`` ("bilinear", "bicubic", "lanczos3", "lanczos5",
  "nearest", "area"; ``antialias`` widens the kernel when downscaling), after an optional
  centred crop (``crop_to_aspect_ratio``) or ``fill_value`` padding
  (``pad_to_aspect_ratio``) to the target aspect ratio; integer images come back rounded
  and saturated to their dtype;
* ``affine_transform`` / ``perspective_transform``: ``ImageProjectiveTransformV3`` (the
  homography solves the 8 x 8 system of the four point pairs in float32);
* ``map_coordinates`` (order 0 / 1, five fill modes), ``gaussian_blur`` (a depthwise
  convolution with ``k_y k_x^T``, "same" padding), ``elastic_transform`` (random
  displacements blurred and scaled; TensorFlow draws dx and dy from one seed, so they are
  equal, and so are rnnlens's), ``scale_and_translate`` (Keras's dense weight matrices);
* ``rgb_to_grayscale`` (``0.2989 R + 0.5870 G + 0.1140 B``), ``rgb_to_hsv`` /
  ``hsv_to_rgb`` (TensorFlow's formulas), ``sobel_edges`` (reflect-padded 3 x 3 Sobel
  kernels, ``[dy, dx]`` last), ``ssim``;
* ``crop_images`` / ``pad_images`` (two of offset / size per axis), ``extract_patches``
  (2-D or 3-D, an identity-kernel convolution).

The kernels are in ``rnnlens.ops._resize`` and ``rnnlens.ops._image_kernels``. These
functions are not differentiated by rnnlens's tape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.ops import _image_kernels as K
from rnnlens.ops import _resize as R
from rnnlens.ops._dispatch import to_array

F32 = np.float32
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
AFFINE_FILL_MODES = ("constant", "nearest", "wrap", "reflect")


def _fmt(data_format: Any) -> str:
    if data_format is None:
        from rnnlens.backend import image_data_format

        return image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    return data_format


def _images(images: Any, op: str, ranks: tuple = (3, 4)) -> np.ndarray:
    x = to_array(images, f"image.{op}")
    if x.ndim not in ranks:
        raise ValueError(f"ops.image.{op}: invalid images rank: expected rank 3 (single "
                         f"image) or rank 4 (batch of images). Received input with shape: "
                         f"images.shape={x.shape}")
    return x


def _to_last(x: np.ndarray, fmt: str) -> tuple[np.ndarray, bool]:
    """(B, H, W, C) from any accepted layout, and whether the input was a single image."""
    single = x.ndim == 3
    x = x[None] if single else x
    return (np.moveaxis(x, 1, -1) if fmt == "channels_first" else x), single


def _from_last(y: np.ndarray, fmt: str, single: bool) -> np.ndarray:
    y = np.moveaxis(y, -1, 1) if fmt == "channels_first" else y
    return y[0] if single else y


def rgb_to_grayscale(images: Any, data_format: Any = None) -> np.ndarray:
    """``0.2989 R + 0.5870 G + 0.1140 B`` on the channel axis (kept, size 1)."""
    x, fmt = _images(images, "rgb_to_grayscale"), _fmt(data_format)
    axis = -1 if fmt == "channels_last" else -3
    if x.shape[axis] not in (1, 3):
        raise ValueError("Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received "
                         f"input with shape: images.shape={x.shape}")
    if x.shape[axis] == 1:
        return x.copy()
    d = x.dtype if x.dtype.kind == "f" else np.dtype(F32)
    w = np.array([0.2989, 0.5870, 0.1140], d)
    xf = np.moveaxis(x.astype(d, copy=False), axis, -1)
    g = xf[..., 0] * w[0] + xf[..., 1] * w[1] + xf[..., 2] * w[2]
    g = np.expand_dims(g, axis)
    return g.astype(x.dtype) if x.dtype.kind == "f" else np.trunc(g).astype(x.dtype)


def _hsv_input(images: Any, op: str, data_format: Any) -> tuple[np.ndarray, str]:
    x, fmt = _images(images, op), _fmt(data_format)
    if x.dtype.kind != "f":
        raise ValueError(f"Invalid images dtype: expected float dtype. Received: "
                         f"images.dtype={x.dtype}")
    axis = -1 if fmt == "channels_last" else -3
    if x.shape[axis] != 3:
        raise ValueError("Input images must have 3 channels, but received images with "
                         f"{x.shape[axis]} channels.")
    return np.moveaxis(x, axis, -1), fmt


def rgb_to_hsv(images: Any, data_format: Any = None) -> np.ndarray:
    """TensorFlow's RGB -> HSV (all in [0, 1] for inputs in [0, 1])."""
    x, fmt = _hsv_input(images, "rgb_to_hsv", data_format)
    one = x.dtype.type(1)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = np.maximum(np.maximum(r, g), b)
    rng = v - np.minimum(np.minimum(r, g), b)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, rng / v, 0).astype(x.dtype)
        norm = (one / rng) * (one / x.dtype.type(6))
        h = np.where(r == v, norm * (g - b), np.where(
            g == v, norm * (b - r) + x.dtype.type(2) / x.dtype.type(6),
            norm * (r - g) + x.dtype.type(4) / x.dtype.type(6)))
    h = np.where(rng > 0, h, 0)
    h = np.where(h < 0, h + one, h).astype(x.dtype)
    out = np.stack([h, s, v], axis=-1)
    return np.moveaxis(out, -1, -1 if fmt == "channels_last" else -3)


def hsv_to_rgb(images: Any, data_format: Any = None) -> np.ndarray:
    """TensorFlow's HSV -> RGB."""
    x, fmt = _hsv_input(images, "hsv_to_rgb", data_format)
    t = x.dtype.type
    h, s, v = x[..., 0], x[..., 1], x[..., 2]
    dh = h * t(6)
    dr = np.clip(np.abs(dh - t(3)) - t(1), 0, 1)
    dg = np.clip(-np.abs(dh - t(2)) + t(2), 0, 1)
    db = np.clip(-np.abs(dh - t(4)) + t(2), 0, 1)
    one_s = -s + t(1)
    out = np.stack([(one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v],
                   axis=-1).astype(x.dtype)
    return np.moveaxis(out, -1, -1 if fmt == "channels_last" else -3)


def _aspect_crop(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = x.shape[1:3]
    ch = max(min(h, int(F32(w * size[0]) / F32(size[1]))), 1)
    cw = max(min(w, int(F32(h * size[1]) / F32(size[0]))), 1)
    top, left = int(F32(h - ch) / F32(2)), int(F32(w - cw) / F32(2))
    return x[:, top:top + ch, left:left + cw]


def _aspect_pad(x: np.ndarray, size: tuple[int, int], fill_value: float) -> np.ndarray:
    h, w = x.shape[1:3]
    ph = max(h, int(F32(w * size[0]) / F32(size[1])))
    pw = max(w, int(F32(h * size[1]) / F32(size[0])))
    top, left = int(F32(ph - h) / F32(2)), int(F32(pw - w) / F32(2))
    fill = (np.ones((), x.dtype) * np.asarray(fill_value).astype(x.dtype)).astype(x.dtype)
    if top > 0:
        band = np.full((x.shape[0], top, w, x.shape[3]), fill, x.dtype)
        x = np.concatenate([band, x, band], axis=1)
    if left > 0:
        band = np.full((x.shape[0], x.shape[1], left, x.shape[3]), fill, x.dtype)
        x = np.concatenate([band, x, band], axis=2)
    return x


def tf_resize(x: np.ndarray, size: tuple[int, int], interpolation: str,
              antialias: bool) -> np.ndarray:
    """``tf.image.resize`` of (B, H, W, C): float32 out (nearest keeps the dtype)."""
    if interpolation == "nearest":
        return K.resize_nearest(x, size)
    if interpolation == "area":
        return K.resize_area(x, size)
    xf = x.astype(F32, copy=False)
    if antialias or interpolation in ("lanczos3", "lanczos5"):
        return K.resize_scale_translate(xf, size, interpolation, antialias)
    return R.resize(xf, size, interpolation)


def resize(images: Any, size: Any, interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
           fill_mode: str = "constant", fill_value: float = 0.0,
           data_format: Any = None) -> np.ndarray:
    """Resizes images to ``size`` = (height, width) (see the module docstring)."""
    size = _size_pair(size)
    x, fmt = _images(images, "resize"), _fmt(data_format)
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be "
                         "`True`.")
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{RESIZE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode != "constant":
        raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is "
                         f"supported. Received: fill_mode={fill_mode}")
    xl, single = _to_last(x, fmt)
    if 0 in xl.shape[1:3]:
        raise ValueError(f"ops.image.resize: the images are empty (shape {x.shape}).")
    if crop_to_aspect_ratio:
        xl = _aspect_crop(xl, size)
    elif pad_to_aspect_ratio:
        xl = _aspect_pad(xl, size, fill_value)
    out = tf_resize(xl, size, interpolation, bool(antialias))
    if out.dtype != x.dtype:
        out = saturate_cast(np.round(out) if x.dtype.kind in "iu" else out, x.dtype)
    return _from_last(out, fmt, single)


def _size_pair(size: Any) -> tuple[int, int]:
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers. Received: size={size}")
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
        raise TypeError(f"`size` must hold integers. Received: size={size}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"`size` must have positive height and width. Received: size={size}")
    return int(size[0]), int(size[1])


def saturate_cast(x: np.ndarray, dtype: Any) -> np.ndarray:
    """``ops.saturate_cast``: clipped to the target's range before the cast."""
    d = np.dtype(dtype)
    if d.kind in "iu" and x.dtype.kind == "f":
        info = np.iinfo(d)
        return np.clip(np.nan_to_num(x), info.min, info.max).astype(d)
    return x.astype(d)


def _check_affine(interpolation: str, fill_mode: str | None) -> None:
    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode is not None and fill_mode not in AFFINE_FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{AFFINE_FILL_MODES}. Received: fill_mode={fill_mode}")


def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0,
                     data_format: Any = None) -> np.ndarray:
    """Applies projective transforms ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (one, or one per
    image) mapping output to input coordinates (see the module docstring)."""
    _check_affine(interpolation, fill_mode)
    x, fmt = _images(images, "affine_transform"), _fmt(data_format)
    t = to_array(transform, "image.affine_transform")
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError("Invalid transform: expected shape (8,) or (N, 8). Received input "
                         f"with shape: transform.shape={t.shape}")
    xl, single = _to_last(x, fmt)
    t = t[None] if t.ndim == 1 else t
    if t.shape[0] not in (1, xl.shape[0]):
        raise ValueError(f"ops.image.affine_transform: {t.shape[0]} transforms for "
                         f"{xl.shape[0]} images; pass one, or one per image.")
    out = K.projective_transform(xl, t, interpolation, fill_mode, fill_value)
    return _from_last(out, fmt, single)


def compute_homography_matrix(start_points: np.ndarray, end_points: np.ndarray
                              ) -> np.ndarray:
    """(N, 8) transforms mapping ``end_points`` to ``start_points`` (TensorFlow's system,
    solved in float32)."""
    s, e = start_points.astype(F32), end_points.astype(F32)
    rows = []
    zero, one = np.zeros_like(e[:, 0, 0]), np.ones_like(e[:, 0, 0])
    for k in range(4):
        ex, ey, sx, sy = e[:, k, 0], e[:, k, 1], s[:, k, 0], s[:, k, 1]
        rows.append(np.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], -1))
        rows.append(np.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], -1))
    a = np.stack(rows, axis=1)                                           # (N, 8, 8)
    target = s.reshape(s.shape[0], 8)[..., None]                          # (N, 8, 1)
    try:
        return np.linalg.solve(a, target).reshape(-1, 8).astype(F32)
    except np.linalg.LinAlgError:
        raise ValueError("ops.image.perspective_transform: the points do not define a "
                         "perspective transform (degenerate quadrilateral).") from None


def _points(p: Any, name: str) -> np.ndarray:
    arr = to_array(p, "image.perspective_transform").astype(F32)
    if arr.ndim not in (2, 3) or arr.shape[-2:] != (4, 2):
        raise ValueError(f"Invalid {name} shape: expected (4,2) for a single image or (N,4,2) "
                         f"for a batch. Received shape: {arr.shape}")
    return arr[None] if arr.ndim == 2 else arr


def perspective_transform(images: Any, start_points: Any, end_points: Any,
                          interpolation: str = "bilinear", fill_value: float = 0,
                          data_format: Any = None) -> np.ndarray:
    """Warps the quadrilateral ``start_points`` onto ``end_points`` ((4, 2) or (N, 4, 2)
    corners as (x, y)); outside the input, ``fill_value``."""
    _check_affine(interpolation, None)
    x, fmt = _images(images, "perspective_transform"), _fmt(data_format)
    s, e = _points(start_points, "start_points"), _points(end_points, "end_points")
    if s.shape != e.shape:
        raise ValueError("start_points and end_points must have the same shape. Received "
                         f"start_points.shape={s.shape}, end_points.shape={e.shape}")
    xl, single = _to_last(x, fmt)
    t = compute_homography_matrix(s, e)
    out = K.projective_transform(xl, t, interpolation, "constant", fill_value)
    return _from_last(out, fmt, single)


from rnnlens.ops._image_more import (crop_images, elastic_transform, extract_patches,  # noqa: E402
                                     extract_patches_3d, gaussian_blur, map_coordinates,
                                     pad_images, scale_and_translate, sobel_edges, ssim)

__all__ = ["affine_transform", "crop_images", "elastic_transform", "extract_patches",
           "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates",
           "pad_images", "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
           "scale_and_translate", "sobel_edges", "ssim"]
