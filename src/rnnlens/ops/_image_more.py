"""The rest of ``keras.ops.image`` (see ``rnnlens.ops.image``): cropping and padding,
``map_coordinates``, Gaussian blur and elastic transforms, patches, ``scale_and_translate``,
Sobel edges and SSIM, following Keras 3.15.1's TensorFlow backend.

``map_coordinates`` (order 0 or 1) interpolates ``inputs`` at ``coordinates`` (one row
per input axis): each axis contributes the nodes ``round(c)`` (order 0) or ``floor(c)``,
``floor(c) + 1`` with weights ``1 - t``, ``t``; out-of-range nodes are mapped by the fill
mode (``constant`` reads ``fill_value`` when any node of a product is outside), and the
output is the sum over node combinations of the product of weights times the value.

``gaussian_blur``: ``g_k = exp(-(k - (n - 1) / 2)^2 / (2 sigma^2)) / sum``, the 2-D kernel
``g_y g_x^T`` (reshaped to ``kernel_size``, as TensorFlow's code does), applied per
channel with "same" zero padding.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from rnnlens.ops._dispatch import to_array

F32 = np.float32


def _fmt(data_format: Any) -> str:
    from rnnlens.ops.image import _fmt as fmt

    return fmt(data_format)


def _images(images: Any, op: str, ranks: tuple = (3, 4)) -> np.ndarray:
    from rnnlens.ops.image import _images as im

    return im(images, op, ranks)


def _two_of(a: Any, b: Any, size: Any, names: tuple[str, str, str]) -> None:
    if [a, b, size].count(None) != 1:
        raise ValueError(f"Must specify exactly two of {', '.join(names)}. Received: "
                         f"{names[0]}={a}, {names[1]}={b}, {names[2]}={size}")
    for value, name in zip((a, b, size), names):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")


def _axes(x: np.ndarray, fmt: str) -> tuple[int, int]:
    return (x.ndim - 3, x.ndim - 2) if fmt == "channels_last" else (x.ndim - 2, x.ndim - 1)


def crop_images(images: Any, top_cropping: Any = None, left_cropping: Any = None,
                bottom_cropping: Any = None, right_cropping: Any = None,
                target_height: Any = None, target_width: Any = None,
                data_format: Any = None) -> np.ndarray:
    """Crops to ``target_height`` x ``target_width`` (two of the three per axis given)."""
    x, fmt = _images(images, "crop_images"), _fmt(data_format)
    _two_of(top_cropping, bottom_cropping, target_height,
            ("top_cropping", "bottom_cropping", "target_height"))
    _two_of(left_cropping, right_cropping, target_width,
            ("left_cropping", "right_cropping", "target_width"))
    ha, wa = _axes(x, fmt)
    h, w = x.shape[ha], x.shape[wa]
    top = h - target_height - bottom_cropping if top_cropping is None else top_cropping
    th = h - bottom_cropping - top if target_height is None else target_height
    left = w - target_width - right_cropping if left_cropping is None else left_cropping
    tw = w - right_cropping - left if target_width is None else target_width
    for value, name in ((top, "top_cropping"), (th, "target_height"),
                        (left, "left_cropping"), (tw, "target_width")):
        if value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    if top + th > h or left + tw > w:
        raise ValueError(f"ops.image.crop_images: the crop ({top}+{th}, {left}+{tw}) does "
                         f"not fit images of height {h} and width {w}.")
    index = [slice(None)] * x.ndim
    index[ha], index[wa] = slice(top, top + th), slice(left, left + tw)
    return x[tuple(index)].copy()


def pad_images(images: Any, top_padding: Any = None, left_padding: Any = None,
               bottom_padding: Any = None, right_padding: Any = None,
               target_height: Any = None, target_width: Any = None,
               data_format: Any = None) -> np.ndarray:
    """Zero-pads to ``target_height`` x ``target_width`` (two of the three per axis given)."""
    x, fmt = _images(images, "pad_images"), _fmt(data_format)
    _two_of(top_padding, bottom_padding, target_height,
            ("top_padding", "bottom_padding", "target_height"))
    _two_of(left_padding, right_padding, target_width,
            ("left_padding", "right_padding", "target_width"))
    ha, wa = _axes(x, fmt)
    h, w = x.shape[ha], x.shape[wa]
    top = target_height - bottom_padding - h if top_padding is None else top_padding
    bottom = target_height - top - h if bottom_padding is None else bottom_padding
    left = target_width - right_padding - w if left_padding is None else left_padding
    right = target_width - left - w if right_padding is None else right_padding
    for value, name in ((top, "top_padding"), (left, "left_padding"),
                        (right, "right_padding"), (bottom, "bottom_padding")):
        if value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    pads = [(0, 0)] * x.ndim
    pads[ha], pads[wa] = (top, bottom), (left, right)
    from rnnlens.ops._conv_core import check_budget

    check_budget("pad_images", "output", tuple(
        n + p[0] + p[1] for n, p in zip(x.shape, pads)))
    return np.pad(x, pads)


# ------------------------------------------------------------------------ map_coordinates
MAP_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _fix(coords: np.ndarray, size: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Keras's ``process_coordinates``: (safe index, valid)."""
    if mode == "constant":
        return np.clip(coords, 0, size - 1), (coords >= 0) & (coords < size)
    ok = np.ones(coords.shape, bool)
    if mode == "nearest":
        return np.clip(coords, 0, size - 1), ok
    if mode == "wrap":
        return np.mod(coords, size), ok
    c = np.abs(coords)
    mod = np.mod(c, 2 * size)
    under = mod < size
    c = np.where(under, mod, 2 * size - mod)
    if mode == "reflect":
        c = np.where(~under, c - 1, c)
    return c, ok


def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> np.ndarray:
    """``inputs`` sampled at ``coordinates`` (``(inputs.ndim, ...)``); see the module."""
    x = to_array(inputs, "image.map_coordinates")
    c = to_array(coordinates, "image.map_coordinates")
    if c.ndim < 2:
        raise ValueError("Invalid coordinates rank: expected at least rank 2. Received input "
                         f"with shape: {c.shape}")
    if c.shape[0] != x.ndim:
        raise ValueError("First dim of `coordinates` must be the same as the rank of "
                         f"`inputs`. Received inputs with shape: {x.shape} and coordinate "
                         f"leading dim of {c.shape[0]}")
    if fill_mode not in MAP_FILL_MODES:
        raise ValueError(f"Invalid value for argument `fill_mode`. Expected one of "
                         f"{set(MAP_FILL_MODES)}. Received: fill_mode={fill_mode}")
    if order not in (0, 1):
        raise ValueError(f"map_coordinates currently requires order<=1, received {order}.")
    if 0 in x.shape:
        raise ValueError(f"ops.image.map_coordinates: the input is empty ({x.shape}).")
    cf = c if c.dtype.kind == "f" else c.astype(F32)
    per_axis = []
    for coord, size in zip(cf, x.shape):
        if order == 0:
            nodes = [(np.round(coord).astype(np.int64), np.ones((), cf.dtype))]
        else:
            lower = np.floor(coord)
            t = coord - lower
            idx = lower.astype(np.int64)
            nodes = [(idx, 1 - t), (idx + 1, t)]
        fixed = [(*_fix(i, size, fill_mode), w) for i, w in nodes]
        if any(np.any((i < 0) | (i >= size)) for i, _, _ in fixed):
            raise ValueError(f"ops.image.map_coordinates: fill_mode={fill_mode!r} maps a "
                             f"coordinate to index {size} of an axis of {size} (Keras's "
                             "TensorFlow backend fails there too); use 'reflect'.")
        per_axis.append(fixed)
    result = None
    for items in itertools.product(*per_axis):
        idx, valid, weights = zip(*items)
        gathered = x[tuple(np.asarray(i, np.int64) for i in idx)].astype(cf.dtype)
        if fill_mode == "constant":
            gathered = np.where(np.all(valid, axis=0), gathered, cf.dtype.type(fill_value))
        term = np.prod(np.broadcast_arrays(*weights), axis=0) * gathered
        result = term if result is None else result + term
    if x.dtype.kind in "iu":
        result = np.round(result)
    return result.astype(x.dtype)


# ------------------------------------------------------------------------ blur and warps
def _pair(value: Any, name: str, kind: type) -> tuple:
    pair = tuple(value) if isinstance(value, (list, tuple, np.ndarray)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, float, np.number)) and
                                 not isinstance(v, bool) for v in pair):
        raise ValueError(f"ops.image.gaussian_blur: `{name}` must be a number or a pair of "
                         f"numbers, received {value!r}.")
    return tuple(kind(v) for v in pair)


def gaussian_kernel(kernel_size: tuple, sigma: tuple, dtype: Any) -> np.ndarray:
    """TensorFlow's (kernel_size[0], kernel_size[1]) Gaussian kernel (see the module)."""
    t = np.dtype(dtype).type

    def one(size: int, s: Any) -> np.ndarray:
        k = np.arange(size, dtype=dtype) - (t(size) - t(1)) / t(2)
        g = np.exp(t(-0.5) * (k / t(s)) ** 2).astype(dtype)
        return (g / g.sum(dtype=dtype)).astype(dtype)

    kx, ky = one(kernel_size[0], sigma[0]), one(kernel_size[1], sigma[1])
    return np.multiply.outer(ky, kx).reshape(kernel_size).astype(dtype)


def gaussian_blur(images: Any, kernel_size: Any = (3, 3), sigma: Any = (1.0, 1.0),
                  data_format: Any = None) -> np.ndarray:
    """Blurs each channel with a Gaussian kernel ("same" zero padding)."""
    from rnnlens.ops.image import _from_last, _to_last
    from rnnlens.ops.nn_conv import depthwise_conv

    x = _images(images, "gaussian_blur")
    fmt = _fmt(data_format)
    if x.dtype.kind != "f":
        raise TypeError(f"ops.image.gaussian_blur: expects float images, received {x.dtype}.")
    ks = _pair(kernel_size, "kernel_size", int)
    if min(ks) < 1:
        raise ValueError(f"ops.image.gaussian_blur: kernel_size must be positive, received "
                         f"{kernel_size!r}.")
    xl, single = _to_last(x, fmt)
    kernel = gaussian_kernel(ks, _pair(sigma, "sigma", float), x.dtype)
    kernel = np.tile(kernel[:, :, None, None], (1, 1, xl.shape[-1], 1))
    out = depthwise_conv(xl, kernel, 1, "same", "channels_last")
    return _from_last(np.asarray(out, x.dtype), fmt, single)


def elastic_transform(images: Any, alpha: float = 20.0, sigma: float = 5.0,
                      interpolation: str = "bilinear", fill_mode: str = "reflect",
                      fill_value: float = 0.0, seed: Any = None,
                      data_format: Any = None) -> np.ndarray:
    """Random elastic deformation: a normal displacement field ``d`` (TensorFlow draws dx
    and dy with one seed, so ``dx = dy``), blurred by ``gaussian_blur`` with sigma and
    kernel ``6 int(sigma) | 1``, scaled by ``alpha``; each pixel reads ``map_coordinates``
    at ``(y + alpha dy, x + alpha dx)``."""
    from rnnlens.ops.image import AFFINE_FILL_MODES, AFFINE_INTERPOLATIONS
    from rnnlens.random import _rng

    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode not in AFFINE_FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{AFFINE_FILL_MODES}. Received: fill_mode={fill_mode}")
    x, fmt = _images(images, "elastic_transform"), _fmt(data_format)
    rng = seed if isinstance(seed, np.random.Generator) else _rng(seed)
    noise = rng.standard_normal((x.shape[0] if x.ndim == 4 else 1,
                                 *_hw(x, fmt))).astype(x.dtype)
    return warp_with_noise(x, noise, alpha, sigma, interpolation, fill_mode, fill_value, fmt)


def _hw(x: np.ndarray, fmt: str) -> tuple[int, int]:
    ha, wa = _axes(x, fmt)
    return x.shape[ha], x.shape[wa]


def warp_with_noise(x: np.ndarray, noise: np.ndarray, alpha: float, sigma: float,
                    interpolation: str, fill_mode: str, fill_value: float,
                    fmt: str) -> np.ndarray:
    """The deterministic part of ``elastic_transform`` for a drawn (B, H, W) ``noise``."""
    from rnnlens.ops.image import _from_last, _to_last

    xl, single = _to_last(x, fmt)
    d = xl.dtype if xl.dtype.kind == "f" else np.dtype(F32)
    a, s = np.asarray(alpha, d), np.asarray(sigma, d)
    k = 6 * int(np.trunc(float(sigma))) | 1
    field = noise.astype(d) * s
    disp = gaussian_blur(field[..., None], (k, k), (float(s), float(s)),
                         "channels_last")[..., 0]
    h, w = xl.shape[1:3]
    yy, xx = np.meshgrid(np.arange(h, dtype=d), np.arange(w, dtype=d), indexing="ij")
    dy = yy[None] + a * disp
    dxx = xx[None] + a * disp
    order = 0 if interpolation == "nearest" else 1
    out = np.empty(xl.shape, xl.dtype)
    for b in range(xl.shape[0]):
        for c in range(xl.shape[-1]):
            out[b, ..., c] = map_coordinates(xl[b, ..., c], np.stack([dy[b], dxx[b]]), order,
                                             fill_mode, fill_value)
    return _from_last(out, fmt, single)


# ----------------------------------------------------------------------------- patches
def extract_patches(images: Any, size: Any, strides: Any = None, dilation_rate: Any = 1,
                    padding: str = "valid", data_format: Any = None) -> np.ndarray:
    """Patches of ``size`` (2 or 3 ints) as the last axis (an identity-kernel conv)."""
    from rnnlens.ops.nn_conv import conv

    if not isinstance(size, (int, np.integer)):
        if not isinstance(size, (tuple, list)):
            raise TypeError("Invalid `size` argument. Expected an int or a tuple. Received: "
                            f"size={size} of type {type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError("Invalid `size` argument. Expected a tuple of length 2 or 3. "
                             f"Received: size={size} with length {len(size)}")
    three = not isinstance(size, (int, np.integer)) and len(size) == 3
    rank = 3 if three else 2
    x = to_array(images, "image.extract_patches")
    if x.ndim not in (rank + 1, rank + 2):
        raise ValueError(f"ops.image.extract_patches: expected rank {rank + 1} or {rank + 2} "
                         f"inputs for {rank}-D patches, received shape {x.shape}.")
    fmt = _fmt(data_format)
    dims = (int(size),) * rank if isinstance(size, (int, np.integer)) else tuple(size)
    channels = x.shape[-1] if fmt == "channels_last" else x.shape[-rank - 1]
    out_dim = int(np.prod(dims)) * channels
    kernel = np.eye(out_dim, dtype=x.dtype).reshape(*dims, channels, out_dim)
    single = x.ndim == rank + 1
    xb = x[None] if single else x
    out = conv(xb, kernel, strides=dims if not strides else strides, padding=padding,
               data_format=fmt, dilation_rate=dilation_rate)
    return out[0] if single else out


def extract_patches_3d(volumes: Any, size: Any, strides: Any = None, dilation_rate: Any = 1,
                       padding: str = "valid", data_format: Any = None) -> np.ndarray:
    """3-D patches (``size`` an int or 3 ints)."""
    size = (size,) * 3 if isinstance(size, (int, np.integer)) else size
    return extract_patches(volumes, size, strides, dilation_rate, padding, data_format)


# --------------------------------------------------------------- scale_and_translate & co
def _st_kernel(method: str) -> Any:
    if method in ("linear", "bilinear", "trilinear", "triangle"):
        return lambda x: np.maximum(0, 1 - np.abs(x))
    if method in ("cubic", "bicubic", "tricubic"):
        def cubic(x: np.ndarray) -> np.ndarray:
            out = ((1.5 * x - 2.5) * x) * x + 1.0
            out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
            return np.where(x >= 2.0, 0.0, out)
        return cubic
    radius = 3.0 if method == "lanczos3" else 5.0

    def lanczos(x: np.ndarray) -> np.ndarray:
        y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1), 1)
        return np.where(x > radius, 0.0, out)
    return lanczos


def scale_and_translate(images: Any, output_shape: Any, scale: Any, translation: Any,
                        spatial_dims: Any, method: str, antialias: bool = True) -> np.ndarray:
    """Keras's ``scale_and_translate``: per spatial dim a dense (in, out) weight matrix."""
    methods = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
               "lanczos5")
    if method not in methods:
        raise ValueError(f"Invalid value for argument `method`. Expected of one {set(methods)}"
                         f". Received: method={method}")
    x = to_array(images, "image.scale_and_translate")
    sc, tr = to_array(scale, "image.scale_and_translate"), to_array(translation,
                                                                    "image.scale_and_translate")
    d = np.result_type(sc.dtype, tr.dtype, np.float32) if sc.dtype.kind != "f" else sc.dtype
    sc, tr = sc.astype(d), tr.astype(d)
    kernel = _st_kernel(method)
    out = x.astype(F32) if x.dtype.kind in "iu" else x.copy()
    for i, dim in enumerate(spatial_dims):
        dim = dim % x.ndim
        m, n = x.shape[dim], int(output_shape[dim])
        inv = d.type(1) / sc[i]
        kscale = max(inv, d.type(1)) if antialias else d.type(1)
        sample = (np.arange(n, dtype=d) + d.type(0.5)) * inv - tr[i] * inv - d.type(0.5)
        pos = np.abs(sample[None, :] - np.arange(m, dtype=d)[:, None]) / kscale
        w = kernel(pos).astype(d)
        total = w.sum(axis=0, keepdims=True)
        w = np.where(np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
                     w / np.where(total != 0, total, 1), 0)
        w = np.where(((sample >= -0.5) & (sample <= m - 0.5))[None, :], w, 0)
        out = np.moveaxis(np.tensordot(out, w.astype(out.dtype), axes=(dim, 0)), -1, dim)
    if x.dtype.kind in "iu":
        out = np.clip(np.round(out), x.min(), x.max()).astype(x.dtype)
    return out


def sobel_edges(images: Any, data_format: Any = None) -> np.ndarray:
    """``tf.image.sobel_edges``: (..., C, 2) with ``[dy, dx]`` per channel."""
    x = _images(images, "sobel_edges", (4,))
    fmt = _fmt(data_format)
    xl = np.moveaxis(x, 1, -1) if fmt == "channels_first" else x
    p = np.pad(xl, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    ky = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], xl.dtype)
    h, w = xl.shape[1:3]
    outs = []
    for k in (ky, ky.T):
        acc = np.zeros(xl.shape, xl.dtype)
        for i in range(3):
            for j in range(3):
                if k[i, j]:
                    acc = acc + k[i, j] * p[:, i:i + h, j:j + w]
        outs.append(acc)
    out = np.stack(outs, axis=-1)                                       # (B, H, W, C, 2)
    return np.moveaxis(out, 3, 1) if fmt == "channels_first" else out


def ssim(image1: Any, image2: Any, max_val: float = 1.0, filter_size: int = 11,
         filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
         data_format: Any = None) -> np.ndarray:
    """Mean structural similarity per image (Gaussian window, "valid" convolution)."""
    from rnnlens.ops.nn_conv import conv

    a, b = _images(image1, "ssim"), _images(image2, "ssim")
    if a.shape != b.shape:
        raise ValueError(f"ops.image.ssim: the images have shapes {a.shape} and {b.shape}; "
                         "they must be equal.")
    d = a.dtype if a.dtype.kind == "f" else np.dtype(F32)
    single = a.ndim == 3
    a, b = (v[None] if single else v for v in (a, b))
    if _fmt(data_format) == "channels_first":
        a, b = np.moveaxis(a, 1, -1), np.moveaxis(b, 1, -1)
    n, h, w, c = a.shape
    g = (np.arange(filter_size, dtype=d) - (filter_size - 1) / 2.0).astype(d)
    g = np.exp(-(g ** 2) / (2.0 * filter_sigma ** 2)).astype(d)
    g = g / g.sum()
    kernel = np.outer(g, g).astype(d)[:, :, None, None]
    a2 = np.transpose(a.astype(d), (0, 3, 1, 2)).reshape(-1, h, w, 1)
    b2 = np.transpose(b.astype(d), (0, 3, 1, 2)).reshape(-1, h, w, 1)

    def blur(v: np.ndarray) -> np.ndarray:
        return np.asarray(conv(v, kernel, 1, "valid", "channels_last"))

    mu1, mu2 = blur(a2), blur(b2)
    s1, s2 = blur(a2 * a2) - mu1 * mu1, blur(b2 * b2) - mu2 * mu2
    s12 = blur(a2 * b2) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    smap = ((2.0 * mu1 * mu2 + c1) * (2.0 * s12 + c2)) / \
        ((mu1 * mu1 + mu2 * mu2 + c1) * (s1 + s2 + c2))
    out = smap.mean(axis=(1, 2, 3)).reshape(n, c).mean(axis=-1).astype(d)
    return out[0] if single else out


__all__ = ["crop_images", "pad_images", "map_coordinates", "gaussian_kernel",
           "gaussian_blur", "elastic_transform", "warp_with_noise", "extract_patches",
           "extract_patches_3d", "scale_and_translate", "sobel_edges", "ssim"]
