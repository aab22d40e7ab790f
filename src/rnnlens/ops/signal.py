"""``keras.ops.stft`` / ``istft`` on NumPy, as Keras 3.15.1's TensorFlow backend computes
them (``tf.signal.stft`` / ``inverse_stft``), and the windows they use.

stft, for a signal x (last axis, length T), window w of ``sequence_length`` L zero-padded
to ``fft_length`` N (``(N - L) // 2`` on the left) and stride s::

    x' = reflect_pad(x, N // 2)  (center=True)
    X[..., k, f] = sum_n x'[k s + n] w[n] exp(-2 pi i f n / N),  k < 1 + (T' - N) // s

returned as ``(real, imag)``, each ``(..., frames, N // 2 + 1)``. "hann" / "hamming" are
TensorFlow's periodic raised cosines ``a - b cos(2 pi n / m)`` with ``m = L`` for even L
and ``L - 1`` for odd L.

istft inverts it: ``irfft`` of each frame (first N samples), times the window divided by
the sum of the squared windows overlapping each position, overlap-added, then cropped
(``N // 2`` at both ends with ``center=True``, or to ``length``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.ops._common import as_int
from rnnlens.ops._dispatch import fail, keras_op, to_array


def raised_cosine(length: int, a: float, b: float, dtype: Any) -> np.ndarray:
    """TensorFlow's periodic ``hann_window`` (a = b = 0.5) / ``hamming_window``."""
    t = np.dtype(dtype).type
    if length == 1:
        return np.ones(1, dtype)
    n = t(length + (1 - length % 2) - 1)
    arg = t(2 * np.pi) * np.arange(length, dtype=dtype) / n
    return (t(a) - t(b) * np.cos(arg)).astype(dtype)


def _window(window: Any, length: int, dtype: Any, op: str) -> np.ndarray | None:
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError('If a string is passed to `window`, it must be one of `"hann"`, '
                             f'`"hamming"`. Received: window={window}')
        return raised_cosine(length, 0.5, 0.5, dtype) if window == "hann" else \
            raised_cosine(length, 0.54, 0.46, dtype)
    w = to_array(window, op).astype(dtype)
    if w.ndim != 1 or w.shape[-1] != length:
        raise ValueError("The shape of `window` must be equal to [sequence_length]."
                         f"Received: window shape={w.shape}")
    return w


def _lengths(sequence_length: Any, sequence_stride: Any, fft_length: Any,
             op: str) -> tuple[int, int, int]:
    n = as_int(sequence_length, "sequence_length", op)
    s = as_int(sequence_stride, "sequence_stride", op)
    f = as_int(fft_length, "fft_length", op)
    if n < 1 or s < 1 or f < 1:
        raise fail(op, "sequence_length, sequence_stride and fft_length must be positive.")
    if f < n:
        raise ValueError("`fft_length` must equal or larger than `sequence_length`. "
                         f"Received: sequence_length={n}, fft_length={f}")
    return n, s, f


@keras_op("stft", "x")
def stft(x: np.ndarray, sequence_length: int, sequence_stride: int, fft_length: int,
         window: Any = "hann", center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Short-time Fourier transform of the last axis; ``(real, imag)`` (see the module)."""
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"Invalid input type. Expected `float32` or `float64`. Received: "
                        f"input type={x.dtype}")
    n, s, f = _lengths(sequence_length, sequence_stride, fft_length, "stft")
    win = _window(window, n, x.dtype, "stft")
    if center:
        if x.shape[-1] <= f // 2:
            raise fail("stft", f"center=True reflects {f // 2} samples at each end, so the "
                       f"signal needs more than {f // 2} samples; received {x.shape[-1]}.")
        pad = [(0, 0)] * (x.ndim - 1) + [(f // 2, f // 2)]
        x = np.pad(x, pad, mode="reflect")
    left = (f - n) // 2
    frames = 0 if x.shape[-1] < f else 1 + (x.shape[-1] - f) // s
    idx = np.arange(frames)[:, None] * s + np.arange(f)[None, :]
    framed = x[..., idx]                                            # (..., frames, f)
    if win is not None:
        framed = framed * np.pad(win, (left, f - n - left))
    spec = np.fft.rfft(framed, n=f, axis=-1)
    return np.real(spec).astype(x.dtype), np.imag(spec).astype(x.dtype)


@keras_op("istft")
def istft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int,
          length: int | None = None, window: Any = "hann",
          center: bool = True) -> np.ndarray:
    """Inverse of ``stft`` for ``x = (real, imag)`` (see the module docstring)."""
    from rnnlens.ops.math import _complex_pair

    z = _complex_pair(x, "istft")
    dtype = np.real(z).dtype
    n, s, f = _lengths(sequence_length, sequence_stride, fft_length, "istft")
    if z.ndim < 2:
        raise fail("istft", f"expects (..., frames, fft_length // 2 + 1), received {z.shape}.")
    frames = np.fft.irfft(z, n=f, axis=-1).astype(dtype)[..., :f]   # (..., K, f)
    win = _window(window, n, dtype, "istft")
    if win is not None:
        left = (f - n) // 2
        full = np.pad(win, (left, f - n - left))
        over = -(-f // s)
        denom = np.pad(full * full, (0, over * s - f)).reshape(over, s).sum(0)
        frames = frames * (full / np.tile(denom, over)[:f]).astype(dtype)
    k = frames.shape[-2]
    out = np.zeros(frames.shape[:-2] + (f + s * (k - 1),), dtype)
    for i in range(k):
        out[..., i * s:i * s + f] += frames[..., i, :]
    start = f // 2 if center else 0
    if length is not None:
        return out[..., start:start + as_int(length, "length", "istft")]
    return out[..., start:-(f // 2)] if center else out[..., :f + s * (k - 1)]


__all__ = ["stft", "istft", "raised_cosine"]
