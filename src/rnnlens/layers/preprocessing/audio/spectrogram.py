"""``STFTSpectrogram`` (Keras 3.15.1): a short-time Fourier transform as two strided 1-D
convolutions with ``STFT``-initialized (trainable) kernels.

For inputs ``(B, T, C)`` (``(B, C, T)`` channels-first), every channel c is convolved
with the real and imaginary kernels ``K_r, K_i`` of shape ``(L, 1, F)``
(``F = fft_length / 2 + 1``, stride ``frame_step``, padding "valid" / "same")::

    r = x_c * K_r,  i = x_c * K_i,  p = r^2 + i^2
    real: r   imag: i   angle: atan2(i, r)   stft: [r, i] (2F bins)
    psd: p + p (interior bins counted twice)   magnitude: m = sqrt(max(p, eps))
    log: log(max(m, eps))

and the output is ``(B, frames, C F)`` (``(B, C F, frames)``), or with ``expand_dims``
``(B, frames, F, C)`` (``(B, C, frames, F)``). Backward: the modes' derivatives
(``dr = 2 r dp`` ..., ``d atan2 = (r di - i dr) / p``; ``max`` passes the gradient
where its first argument is larger), then the convolutions' backward passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens._windows import STFT, check_window
from rnnlens.layers.base import Layer
from rnnlens.layers.preprocessing.image._base import DataFormat, lazy

_conv = lazy("rnnlens.ops.nn_conv")

F32 = np.float32
EPS = F32(1e-7)


def _window(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return check_window(value)
    arr = np.asarray(value, np.float64)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)) or arr.size > 1 << 20:
        raise ValueError(value)
    return list(value) if not isinstance(value, np.ndarray) else value


class STFTSpectrogram(Layer):
    """Spectrogram of multi-channel signals (see the module docstring).

    Args:
        mode: "log", "magnitude", "psd", "real", "imag", "angle" or "stft".
        frame_length: the window length L.
        frame_step: the stride (default ``L // 2``), in ``[1, L]``.
        fft_length: the FFT size (default the next power of two >= L).
        window: a window name (``scipy.signal.get_window``'s parameter-free ones), an
            array of length L, or None.
        periodic: a periodic window.
        scaling: "density", "spectrum" or None.
        padding: "valid" or "same".
        expand_dims: keep channels and frequencies as separate axes.
        data_format: "channels_last" or "channels_first".
    """

    mode = P.Choice("log", ("log", "magnitude", "psd", "real", "imag", "angle", "stft"))
    frame_length = P.Int(256, min=1)
    frame_step = P.Int(None, min=1, none=True)
    fft_length = P.Int(None, min=1, none=True)
    window = P.Json("hann", validate=_window, none=True,
                    expected="a window name, an array, or None")
    periodic = P.Bool(False)
    scaling = P.Choice("density", ("density", "spectrum", None))
    padding = P.Choice("valid", ("valid", "same"))
    expand_dims = P.Bool(False)
    data_format = DataFormat()

    def __post_init__(self) -> None:
        if self.frame_step is not None and self.frame_step > self.frame_length:
            raise ValueError("`frame_step` should be a positive integer not greater than "
                             f"`frame_length`. Received frame_step={self.frame_step}, "
                             f"frame_length={self.frame_length}")
        if self.fft_length is not None and self.fft_length < self.frame_length:
            raise ValueError("`fft_length` should be not less than `frame_length`. Received "
                             f"fft_length={self.fft_length}, frame_length={self.frame_length}")
        self._step = self.frame_step or self.frame_length // 2
        self._fft = self.fft_length or 2 ** int(np.ceil(np.log2(self.frame_length)))
        if self._step < 1:
            raise ValueError(f"Layer '{self.name}' (STFTSpectrogram): frame_length=1 gives a "
                             "frame_step of 0; pass frame_step=1.")

    def get_config(self) -> dict:
        config = super().get_config()
        keys = ("name", "trainable", "dtype", "mode", "frame_length", "frame_step",
                "fft_length", "window", "periodic", "scaling", "padding", "data_format",
                "expand_dims")
        return {k: config[k] for k in keys}

    def build(self, input_shape: Any) -> None:
        shape = (self.frame_length, 1, self._fft // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape,
                initializer=STFT("real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape,
                initializer=STFT("imag", self.window, self.scaling, self.periodic))
        self.built = True

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple) or len(shape) != 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                             f"{shape}")

    # -- forward --------------------------------------------------------------------
    def _conv(self, x: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, tuple]:
        """(B, C, F, frames) and the conv cache."""
        if self.data_format == "channels_last":
            b, t, c = x.shape
            flat = np.transpose(x, (0, 2, 1)).reshape(-1, t, 1)
            y, cache = _conv.conv_forward(flat, kernel, self._step, self.padding, "channels_last")
            y = np.transpose(y, (0, 2, 1))
        else:
            b, c, t = x.shape
            y, cache = _conv.conv_forward(x.reshape(-1, 1, t), kernel, self._step, self.padding,
                                    "channels_first")
        return y.reshape(b, c, y.shape[1], y.shape[2]), cache

    def _adjust(self, y: np.ndarray) -> np.ndarray:
        b, c, f, t = y.shape
        if self.data_format == "channels_last":
            return np.transpose(y, (0, 3, 2, 1)) if self.expand_dims else \
                np.transpose(y.reshape(b, c * f, t), (0, 2, 1))
        return np.transpose(y, (0, 1, 3, 2)) if self.expand_dims else y.reshape(b, c * f, t)

    def _unadjust(self, d: np.ndarray, shape: tuple) -> np.ndarray:
        b, c, f, t = shape
        if self.data_format == "channels_last":
            return np.transpose(d, (0, 3, 2, 1)) if self.expand_dims else \
                np.transpose(d, (0, 2, 1)).reshape(shape)
        return np.transpose(d, (0, 1, 3, 2)) if self.expand_dims else d.reshape(shape)

    def forward(self, inputs: Any, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, dict]:
        x = self.convert_inputs(inputs)
        cache: dict = {}
        r = i = None
        if self.mode != "imag":
            r, cache["r"] = self._conv(x, self.real_kernel)
        if self.mode != "real":
            i, cache["i"] = self._conv(x, self.imag_kernel)
        cache.update(real=r, imag=i)
        mode = self.mode
        if mode == "real":
            return self._adjust(r), cache
        if mode == "imag":
            return self._adjust(i), cache
        if mode == "angle":
            return self._adjust(np.arctan2(i, r).astype(F32)), cache
        if mode == "stft":
            return self._adjust(np.concatenate([r, i], axis=2)), cache
        p = (np.square(r) + np.square(i)).astype(F32)
        if mode == "psd":
            inner = np.pad(p[:, :, 1:-1, :], [(0, 0), (0, 0), (1, 1), (0, 0)])
            return self._adjust(p + inner), cache
        m = np.sqrt(np.maximum(p, EPS))
        cache["p"], cache["m"] = p, m
        out = self._adjust(m)
        return (out if mode == "magnitude" else np.log(np.maximum(out, EPS))), cache

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    # -- backward -------------------------------------------------------------------
    def _mode_grads(self, cache: dict, d: np.ndarray) -> tuple[Any, Any]:
        r, i = cache["real"], cache["imag"]
        shape = (r if r is not None else i).shape
        mode = self.mode
        if mode == "stft":
            g = self._unadjust(d, (shape[0], shape[1], 2 * shape[2], shape[3]))
            return g[:, :, :shape[2]], g[:, :, shape[2]:]
        if mode == "log":
            m = self._adjust(cache["m"])
            d = np.where(m > EPS, d / np.maximum(m, EPS), 0)
        g = self._unadjust(d, shape)
        if mode == "real":
            return g, None
        if mode == "imag":
            return None, g
        if mode == "angle":
            p = r * r + i * i
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(p > 0, -i * g / p, 0), np.where(p > 0, r * g / p, 0)
        if mode == "psd":
            dp = g.copy()
            dp[:, :, 1:-1] += g[:, :, 1:-1]
        else:
            p, m = cache["p"], cache["m"]
            dp = np.where(p > EPS, g * F32(0.5) / m, 0)
        return 2 * r * dp, 2 * i * dp

    def _conv_back(self, cache: Any, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, c, f, t = d.shape
        if self.data_format == "channels_last":
            dy = np.transpose(d.reshape(b * c, f, t), (0, 2, 1))
            dx, dk = _conv.conv_backward(cache, dy)
            return np.transpose(dx.reshape(b, c, -1), (0, 2, 1)), dk
        dx, dk = _conv.conv_backward(cache, d.reshape(b * c, f, t))
        return dx.reshape(b, c, -1), dk

    def backward(self, cache: dict, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        dr, di = self._mode_grads(cache, np.asarray(d_out, F32))
        dx, grads = 0, []
        for key, g in (("r", dr), ("i", di)):
            if key in cache:
                if g is None:
                    g = np.zeros_like(cache["real" if key == "r" else "imag"])
                d_in, dk = self._conv_back(cache[key], g.astype(F32))
                dx = dx + d_in
                grads.append(dk.astype(F32))
        return np.asarray(dx, F32), {}, grads

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        first = self.data_format == "channels_first"
        b, c, t = (input_shape[0], input_shape[1], input_shape[2]) if first else \
            (input_shape[0], input_shape[2], input_shape[1])
        f = (self._fft // 2 + 1) * (2 if self.mode == "stft" else 1)
        if t is None:
            frames = None
        elif self.padding == "valid":
            frames = (t - self.frame_length) // self._step + 1
        else:
            frames = -(-t // self._step)
        if self.expand_dims:
            return (b, c, frames, f) if first else (b, frames, f, c)
        cf = None if c is None else c * f
        return (b, cf, frames) if first else (b, frames, cf)


__all__ = ["STFTSpectrogram"]
