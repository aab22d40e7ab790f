"""``MelSpectrogram`` (Keras 3.15.1): the mel-scaled power spectrogram of audio signals
``(B, T)`` (or one signal ``(T,)``), in decibels by default.

    S = |stft(x)|^mag_exp                      (ops.stft, center=True: (B, frames, N/2+1))
    M = S W                                    (W: triangular mel filters, (N/2+1, mels))
    dB = 10 log10(max(M, min_power)) - 10 log10(max(|ref_power|, min_power))
    out = max(dB, max(dB) - top_db)            (the maximum over the whole batch, as Keras)

transposed to ``(B, mels, frames)``. The filters are TensorFlow's
``linear_to_mel_weight_matrix``: ``mel(f) = 1127 ln(1 + f / 700)``; the bins' centres are
``linspace(0, rate / 2, N/2 + 1)[1:]``, the band edges ``mel_k`` evenly spaced from
``mel(min_freq)`` to ``mel(max_freq)``, and the weight of bin j in band k is
``max(0, min((m_j - mel_k) / (mel_{k+1} - mel_k), (mel_{k+2} - m_j) / (mel_{k+2} -
mel_{k+1})))`` (row 0, the DC bin, is zero). The layer has no weights and no backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer, to_float_array
from rnnlens.layers.preprocessing.image._base import lazy

_signal = lazy("rnnlens.ops.signal")

F32 = np.float32


def hertz_to_mel(f: np.ndarray) -> np.ndarray:
    return F32(1127.0) * np.log(F32(1) + f / F32(700.0))


def _linspace(start: np.float32, stop: np.float32, num: int) -> np.ndarray:
    """TensorFlow's float32 ``LinSpace``: ``start + i (stop - start) / (num - 1)``."""
    start, stop = F32(start), F32(stop)
    if num == 1:
        return np.array([start], F32)
    step = (stop - start) / F32(num - 1)
    return (start + np.arange(num, dtype=F32) * step).astype(F32)


def mel_matrix(num_mel_bins: int, num_bins: int, rate: float, lower: float,
               upper: float) -> np.ndarray:
    """TensorFlow's ``linear_to_mel_weight_matrix`` (float32, (num_bins, num_mel_bins))."""
    nyquist = F32(rate) / F32(2)
    freqs = _linspace(F32(0), nyquist, num_bins)[1:]
    bins_mel = hertz_to_mel(freqs)[:, None]
    edges = _linspace(hertz_to_mel(F32(lower)), hertz_to_mel(F32(upper)), num_mel_bins + 2)
    lo, centre, hi = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    with np.errstate(divide="ignore", invalid="ignore"):
        lower_slopes = (bins_mel - lo) / (centre - lo)
        upper_slopes = (hi - bins_mel) / (hi - centre)
    weights = np.maximum(F32(0), np.minimum(lower_slopes, upper_slopes))
    return np.pad(weights, [(1, 0), (0, 0)]).astype(F32)


class MelSpectrogram(Layer):
    """Mel spectrogram of audio signals (see the module docstring).

    Args:
        fft_length: the FFT size N.
        sequence_stride: the hop between frames.
        sequence_length: the window length (default ``fft_length``), at most N.
        window: "hann", "hamming" or None.
        sampling_rate: the signals' sample rate.
        num_mel_bins: the number of mel bands.
        min_freq, max_freq: the bands' range (``max_freq`` defaults to rate / 2).
        power_to_db: convert to decibels.
        top_db: the dynamic range kept in decibels.
        mag_exp: the magnitude exponent (2: power).
        min_power, ref_power: the decibel floor and reference.
    """

    fft_length = P.Int(2048, min=1)
    sequence_stride = P.Int(512, min=1)
    sequence_length = P.Int(None, min=1, none=True)
    window = P.Choice("hann", ("hann", "hamming", None))
    sampling_rate = P.Int(16000, min=1, cap=None)
    num_mel_bins = P.Int(128, min=1)
    min_freq = P.Float(20.0, min=0.0)
    max_freq = P.Float(None, min=0.0, none=True)
    power_to_db = P.Bool(True)
    top_db = P.Float(80.0)
    mag_exp = P.Float(2.0)
    min_power = P.Float(1e-10, min=0.0)
    ref_power = P.Float(1.0)

    def __post_init__(self) -> None:
        self.sequence_length = self.sequence_length or self.fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError("`fft_length` must be greater than or equal to   "
                             f"`sequence_length`. Received: `sequence_length`="
                             f"{self.sequence_length}, `fft_length`={self.fft_length}.")
        if self.max_freq is None:
            self.max_freq = int(self.sampling_rate / 2)

    def config_value(self, key: str) -> Any:
        value = getattr(self, key)
        if key == "max_freq" and isinstance(value, float) and value.is_integer():
            return int(value)                    # Keras's default int(sampling_rate / 2)
        return value

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple) or len(shape) not in (1, 2):
            raise ValueError(f"Layer '{self.name}' (MelSpectrogram) expects signals of shape "
                             f"(batch, samples) or (samples,), received {shape}.")

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        x = to_float_array(inputs, f"input to layer '{self.name}'")
        try:
            real, imag = _signal.stft(x, self.sequence_length, self.sequence_stride,
                                      self.fft_length, self.window, True)
        except ValueError as err:
            raise ValueError(f"Layer '{self.name}' (MelSpectrogram): {err}") from None
        spec = np.power(np.sqrt(np.square(real) + np.square(imag)), F32(self.mag_exp))
        weights = mel_matrix(self.num_mel_bins, spec.shape[-1], self.sampling_rate,
                             self.min_freq, self.max_freq)
        out = np.tensordot(spec, weights, axes=1).astype(F32)
        if self.power_to_db:
            out = self._db(out)
        return np.swapaxes(out, -1, -2).astype(F32)

    def _db(self, x: np.ndarray) -> np.ndarray:
        floor = F32(self.min_power)
        log = F32(10.0) * np.log10(np.maximum(x, floor))
        ref = np.abs(F32(self.ref_power))
        log = log - F32(10.0) * np.log10(np.maximum(ref, floor))
        return np.maximum(log, np.max(log) - F32(self.top_db)).astype(F32)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        t = input_shape[-1]
        frames = None if t is None else (t + self.sequence_stride + 1) // self.sequence_stride
        if len(input_shape) == 1:
            return (self.num_mel_bins, frames)
        return (input_shape[0], self.num_mel_bins, frames)


__all__ = ["MelSpectrogram", "mel_matrix"]
