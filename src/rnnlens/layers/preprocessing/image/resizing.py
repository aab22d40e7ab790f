"""``Rescaling``, ``Resizing`` and ``CenterCrop`` (Keras 3.15.1): deterministic, applied
in training and inference alike, with exact backward passes.

* ``Rescaling``: ``y = float32(x) * scale + offset`` (``scale`` / ``offset`` numbers or
  arrays that broadcast; under a channels-first ``image_data_format()`` a vector
  ``scale`` is reshaped to ``(C, 1, 1)``); ``dx = sum_broadcast(dy * scale)``.
* ``Resizing``: ``ops.image.resize`` to ``(height, width)`` with the layer's
  interpolation, antialiasing and optional centred aspect-ratio crop or ``fill_value``
  padding; integer images come back rounded and saturated to their dtype. Each method is
  a linear map per axis, ``y = A_h x A_w^T`` (nearest: one-hot rows; area: overlaps / s;
  the others: their taps), so ``dx = A_h^T dy A_w`` (plus the crop's zeros / the pad's
  slice).
* ``CenterCrop``: the centred ``(height, width)`` window when the input is at least that
  large; otherwise Keras's ``smart_resize`` (the largest centred window of the target
  aspect ratio, resized bilinearly).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer, to_float_array
from rnnlens.layers.preprocessing.image._base import (DataFormat, ImageLayer, Number, box_format,
                                                      lazy)

K = lazy("rnnlens.ops._image_kernels")
R = lazy("rnnlens.ops._resize")
IMG = lazy("rnnlens.ops.image")

F32 = np.float32


# --------------------------------------------------------------------------- Rescaling
class _ArrayOrNumber(P.Param):
    """``scale`` / ``offset``: a number, a (nested) list, an array, or Keras's serialized
    ``{"class_name": "__numpy__", ...}``; written back in the form given."""

    expected = "a number or an array of numbers"

    def validate(self, value: Any, owner: Any) -> Any:
        if isinstance(value, dict):
            cfg = value.get("config") if value.get("class_name") == "__numpy__" else None
            if not isinstance(cfg, dict) or "value" not in cfg:
                raise self.fail(value, owner)
            arr = np.asarray(cfg["value"], dtype=cfg.get("dtype", "float32"))
            value = arr
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.fail(value, owner, error=TypeError) from None
        if isinstance(value, bool) or arr.size > 1 << 20 or not np.all(np.isfinite(arr)):
            raise self.fail(value, owner)
        return value

    def dump(self, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return {"class_name": "__numpy__", "config": {"value": value.tolist(),
                                                          "dtype": str(value.dtype)}}
        return value


class Rescaling(Layer):
    """Rescales inputs: ``y = x * scale + offset`` (see the module docstring).

    Args:
        scale: the scale (a number or an array broadcasting against the input).
        offset: the offset (likewise).
    """

    scale = _ArrayOrNumber()
    offset = _ArrayOrNumber(0.0)
    supports_masking = True

    def _factors(self) -> tuple[np.ndarray, np.ndarray]:
        from rnnlens.backend import image_data_format

        scale = np.asarray(self.scale.tolist() if isinstance(self.scale, np.ndarray)
                           else self.scale, F32)
        offset = np.asarray(self.offset, F32)
        if scale.ndim and image_data_format() == "channels_first":
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        return scale, offset

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        x = to_float_array(inputs, f"input to layer '{self.name}'")
        scale, offset = self._factors()
        try:
            return (x * scale + offset).astype(F32, copy=False)
        except ValueError:
            raise ValueError(f"Layer '{self.name}' (Rescaling): scale {scale.shape} / offset "
                             f"{offset.shape} do not broadcast against inputs of shape "
                             f"{x.shape}.") from None

    def forward(self, inputs: Any, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        return self.call(inputs), tuple(np.shape(inputs))

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return _unbroadcast(d_out * self._factors()[0], cache), {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


def _unbroadcast(d: np.ndarray, shape: tuple) -> np.ndarray:
    """``d`` summed down to ``shape`` (the adjoint of broadcasting)."""
    while d.ndim > len(shape):
        d = d.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and d.shape[axis] != 1:
            d = d.sum(axis=axis, keepdims=True)
    return d.astype(F32, copy=False)


# ---------------------------------------------------------------------------- Resizing
def aspect_padding(hw: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """(top, left) padding of ``pad_to_aspect_ratio`` (float32, as TensorFlow's)."""
    h, w = hw
    ph = max(h, int(F32(w * size[0]) / F32(size[1])))
    pw = max(w, int(F32(h * size[1]) / F32(size[0])))
    return int(F32(ph - h) / F32(2)), int(F32(pw - w) / F32(2))


def aspect_window(hw: tuple[int, int], size: tuple[int, int], mode: str | None) -> tuple:
    """((top, bottom), (left, right)) of the region resized: the centred crop of the
    target aspect ratio ("crop"), the padded image ("pad") or the whole image."""
    h, w = hw
    if mode == "crop":
        ch = max(min(h, int(F32(w * size[0]) / F32(size[1]))), 1)
        cw = max(min(w, int(F32(h * size[1]) / F32(size[0]))), 1)
        top, left = int(F32(h - ch) / F32(2)), int(F32(w - cw) / F32(2))
        return (top, top + ch), (left, left + cw)
    if mode == "pad":
        ph, pw = aspect_padding(hw, size)
        return (0, h + 2 * ph), (0, w + 2 * pw)
    return (0, h), (0, w)


def _taps(method: str, n: int, m: int, antialias: bool) -> tuple[np.ndarray, np.ndarray]:
    """(m, k) indices and weights of one axis of ``tf_resize`` (n -> m steps)."""
    if method == "nearest":
        return K.nearest_index(n, m)[:, None], np.ones((m, 1), F32)
    if method == "area":
        a = K.area_matrix(n, m) / F32(F32(n) / F32(m))
        return np.broadcast_to(np.arange(n), (m, n)), a
    if antialias or method in ("lanczos3", "lanczos5"):
        return K.scale_translate_taps(n, m, method, antialias)
    if method == "bilinear":
        lo, hi, t = R.linear_taps(n, m)
        return np.stack([lo, hi], 1), np.stack([1 - t, t], 1)
    return R.cubic_taps(n, m)


def resize_backward(dy: np.ndarray, in_hw: tuple[int, int], method: str,
                    antialias: bool) -> np.ndarray:
    """dL/dx of ``ops.image.tf_resize`` for (B, H, W, C) inputs of spatial ``in_hw``."""
    (m, k), (h, w) = dy.shape[1:3], in_hw
    d = R._adjoint(dy.astype(F32), 1, h, *_taps(method, h, m, antialias))
    return R._adjoint(d, 2, w, *_taps(method, w, k, antialias))


def window_resize_gradient(x: np.ndarray, d_out: np.ndarray, size: tuple[int, int],
                           mode: str | None, method: str, antialias: bool,
                           data_format: str) -> np.ndarray:
    """dL/dx of ``ops.image.resize`` (crop / pad / plain, any layout, batched or not)."""
    single, first = x.ndim == 3, data_format == "channels_first"
    xl, dl = (v[None] if single else v for v in (x, d_out))
    if first:
        xl, dl = np.moveaxis(xl, 1, -1), np.moveaxis(dl, 1, -1)
    (t, b), (le, r) = aspect_window(xl.shape[1:3], size, mode)
    dwin = resize_backward(dl, (b - t, r - le), method, antialias)
    dx = np.zeros(xl.shape, F32)
    if mode == "pad":
        ph, pw = aspect_padding(xl.shape[1:3], size)
        dx[:] = dwin[:, ph:ph + xl.shape[1], pw:pw + xl.shape[2]]
    else:
        dx[:, t:b, le:r] = dwin
    dx = np.moveaxis(dx, -1, 1) if first else dx
    return dx[0] if single else dx


def _crop_resize_gradient(x: np.ndarray, d_out: np.ndarray, size: tuple[int, int],
                          data_format: str) -> np.ndarray:
    return window_resize_gradient(x, d_out, size, "crop", "bilinear", False, data_format)


class Resizing(ImageLayer):
    """Resizes images to ``(height, width)``; see the module docstring.

    Args:
        height, width: the output size.
        interpolation: "bilinear", "nearest", "bicubic", "area", "lanczos3" or
            "lanczos5" (Keras's TensorFlow backend refuses "gaussian" and
            "mitchellcubic", and so does rnnlens, when called).
        crop_to_aspect_ratio / pad_to_aspect_ratio: crop (centred) or pad with
            ``fill_value`` to the target aspect ratio first (at most one).
        fill_mode: "constant" only.
        fill_value: the padding value.
        antialias: widen the kernel when downscaling (ScaleAndTranslate).
        data_format: "channels_last" or "channels_first".
    """

    height = P.Int(min=1)
    width = P.Int(min=1)
    interpolation = P.Str("bilinear", max_len=32)
    crop_to_aspect_ratio = P.Bool(False)
    pad_to_aspect_ratio = P.Bool(False)
    fill_mode = P.Str("constant", max_len=32)
    fill_value = Number(0.0)
    antialias = P.Bool(False)
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("height", "width", "interpolation", "crop_to_aspect_ratio",
                    "pad_to_aspect_ratio", "fill_mode", "fill_value", "antialias",
                    "data_format")

    def _images(self, images: Any) -> np.ndarray:
        arr = np.asarray(images)
        if arr.dtype.kind in "iu" and arr.dtype.itemsize <= 4:
            return arr                          # integer images keep their dtype (Keras)
        return to_float_array(images, f"input to layer '{self.name}'")

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        return self._transform_images(images, transformation, self.interpolation)

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        try:
            return IMG.resize(images, (self.height, self.width), interpolation, self.antialias,
                            self.crop_to_aspect_ratio, self.pad_to_aspect_ratio,
                            self.fill_mode, self.fill_value, self.data_format)
        except ValueError as err:
            raise ValueError(f"{self._kind()}: {err}") from None

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any = None,
                                     training: bool = True) -> np.ndarray:
        return self._transform_images(masks, transformation, "nearest")

    def changes_input(self, training: bool) -> bool:
        return True

    def input_gradient(self, cache: Any, d_out: np.ndarray) -> np.ndarray:
        x = cache[0]["images"] if isinstance(cache[0], dict) else cache[0]
        mode = "crop" if self.crop_to_aspect_ratio else \
            "pad" if self.pad_to_aspect_ratio else None
        return window_resize_gradient(x, d_out, (self.height, self.width), mode,
                                      self.interpolation, self.antialias, self.data_format)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        shape = list(input_shape)
        shape[self.height_axis], shape[self.width_axis] = self.height, self.width
        return tuple(shape)

    @property
    def output_dtype(self) -> str:
        return "float32"


# --------------------------------------------------------------------------- CenterCrop
class CenterCrop(ImageLayer):
    """Crops the centre ``(height, width)`` of images (``smart_resize`` when smaller).

    Args:
        height, width: the output size.
        data_format: "channels_last" or "channels_first".
    """

    height = P.Int(min=1)
    width = P.Int(min=1)
    data_format = DataFormat()
    bounding_box_format = box_format()

    config_order = ("height", "width", "data_format")

    def transform_images(self, images: np.ndarray, transformation: Any = None,
                         training: bool = True) -> np.ndarray:
        x = images.astype(F32, copy=False)
        h, w = x.shape[self.height_axis], x.shape[self.width_axis]
        dh, dw = h - self.height, w - self.width
        if dh >= 0 and dw >= 0:
            index = [slice(None)] * x.ndim
            index[self.height_axis] = slice(dh // 2, dh // 2 + self.height)
            index[self.width_axis] = slice(dw // 2, dw // 2 + self.width)
            return x[tuple(index)]
        return self._smart(x)

    def _smart(self, x: np.ndarray) -> np.ndarray:
        (t, b), (le, r) = aspect_window((x.shape[self.height_axis], x.shape[self.width_axis]),
                                        (self.height, self.width), "crop")
        index = [slice(None)] * x.ndim
        index[self.height_axis], index[self.width_axis] = slice(t, b), slice(le, r)
        return IMG.resize(x[tuple(index)], (self.height, self.width), "bilinear",
                        data_format=self.data_format)

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        return self.transform_images(masks, transformation, training)

    def changes_input(self, training: bool) -> bool:
        return True

    def input_gradient(self, cache: Any, d_out: np.ndarray) -> np.ndarray:
        x = cache[0]["images"] if isinstance(cache[0], dict) else cache[0]
        h, w = x.shape[self.height_axis], x.shape[self.width_axis]
        dh, dw = h - self.height, w - self.width
        if dh < 0 or dw < 0:
            return _crop_resize_gradient(x, d_out, (self.height, self.width),
                                         self.data_format)
        dx = np.zeros(x.shape, F32)
        index = [slice(None)] * x.ndim
        index[self.height_axis] = slice(dh // 2, dh // 2 + self.height)
        index[self.width_axis] = slice(dw // 2, dw // 2 + self.width)
        dx[tuple(index)] = d_out
        return dx

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError("`input_shape` must be a non-nested tuple or list of rank-1 with "
                             "size 3 (unbatched) or 4 (batched). ")
        shape[self.height_axis], shape[self.width_axis] = self.height, self.width
        return tuple(shape)


__all__ = ["Rescaling", "Resizing", "CenterCrop", "resize_backward"]
