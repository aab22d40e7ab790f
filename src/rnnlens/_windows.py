"""Window functions (``scipy.signal.get_window``'s, without SciPy) and Keras's ``STFT``
initializer (``keras.initializers.STFT``), which makes ``STFTSpectrogram``'s kernels.

Windows of length M (``periodic=True``: computed for M + 1 points, the last dropped):

    general cosine  w_n = sum_k a_k cos(k phi_n),  phi = linspace(-pi, pi, M)
                    hann [.5, .5], hamming [.54, .46], blackman [.42, .5, .08],
                    blackmanharris, nuttall, flattop (SciPy's coefficients)
    boxcar 1; bartlett and triang (triangles); cosine sin(pi (n + 1/2) / M);
    bohman, parzen, barthann (SciPy's formulas)

STFT kernel of shape ``(L, 1, F)`` (L the frame length, F = N / 2 + 1)::

    K[t, 0, f] = cos(-2 pi t f / N) w_t / s      ("real"; sin for "imag")

with ``s = sqrt(sum w^2)`` ("density"), ``sum |w|`` ("spectrum") or 1 (None).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.initializers import Initializer

_COSINE = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46), "blackman": (0.42, 0.50, 0.08),
           "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
           "nuttall": (0.3635819, 0.4891775, 0.1365995, 0.0106411),
           "flattop": (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368)}
_ALIASES = {"hanning": "hann", "han": "hann", "hamm": "hamming", "ham": "hamming",
            "black": "blackman", "blackharr": "blackmanharris", "nutl": "nuttall",
            "flat": "flattop", "flt": "flattop", "box": "boxcar", "ones": "boxcar",
            "rect": "boxcar", "rectangular": "boxcar", "bart": "bartlett",
            "brt": "bartlett", "triangle": "triang", "tri": "triang", "halfcosine":
            "cosine", "bman": "bohman", "bmn": "bohman", "parz": "parzen", "par": "parzen",
            "barthann": "barthann", "brthan": "barthann", "bth": "barthann"}
WINDOWS = tuple(sorted({*_COSINE, "boxcar", "bartlett", "triang", "cosine", "bohman",
                        "parzen", "barthann"}))


def _symmetric(name: str, m: int) -> np.ndarray:
    n = np.arange(m)
    if name in _COSINE:
        phi = np.linspace(-np.pi, np.pi, m)
        return sum(a * np.cos(k * phi) for k, a in enumerate(_COSINE[name]))
    if name == "boxcar":
        return np.ones(m)
    if name == "bartlett":
        return np.where(n <= (m - 1) / 2.0, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))
    if name == "triang":
        k = np.arange(1, (m + 1) // 2 + 1)
        if m % 2 == 0:
            w = (2 * k - 1.0) / m
            return np.r_[w, w[::-1]]
        w = 2 * k / (m + 1.0)
        return np.r_[w, w[-2::-1]]
    if name == "cosine":
        return np.sin(np.pi / m * (n + 0.5))
    if name == "bohman":
        fac = np.abs(np.linspace(-1, 1, m)[1:-1])
        return np.r_[0, (1 - fac) * np.cos(np.pi * fac) + np.sin(np.pi * fac) / np.pi, 0]
    if name == "parzen":
        k = np.arange(-(m - 1) / 2.0, (m - 1) / 2.0 + 0.5, 1.0)
        na, nb = k[k < -(m - 1) / 4.0], k[np.abs(k) <= (m - 1) / 4.0]
        wa = 2 * (1 - np.abs(na) / (m / 2.0)) ** 3.0
        wb = 1 - 6 * (np.abs(nb) / (m / 2.0)) ** 2.0 + 6 * (np.abs(nb) / (m / 2.0)) ** 3.0
        return np.r_[wa, wb, wa[::-1]]
    fac = np.abs(n / (m - 1.0) - 0.5)                                  # barthann
    return 0.62 - 0.48 * fac + 0.38 * np.cos(2 * np.pi * fac)


def get_window(window: str, length: int, periodic: bool = False) -> np.ndarray:
    """``scipy.signal.get_window(window, length, fftbins=periodic)`` (float64)."""
    name = _ALIASES.get(window, window) if isinstance(window, str) else window
    if name not in WINDOWS:
        raise ValueError(f"Unknown window {window!r}: rnnlens computes the parameter-free "
                         f"windows {list(WINDOWS)}; pass other windows as an array.")
    if length <= 1:
        return np.ones(max(length, 0))
    m = length + 1 if periodic else length
    w = np.asarray(_symmetric(name, m), np.float64)
    return w[:length] if periodic else w


def check_window(window: Any) -> Any:
    """A window name SciPy knows without parameters, an array, or None."""
    if window is None or not isinstance(window, str):
        return window
    get_window(window, 1)
    return window


class STFT(Initializer):
    """Kernels of a short-time Fourier transform as a convolution (see the module).

    Args:
        side: "real" or "imag".
        window: a window name, an array of length ``frame_length``, or None.
        scaling: "density", "spectrum" or None.
        periodic: a periodic (DFT-even) window.
    """

    def __init__(self, side: str = "real", window: Any = "hann", scaling: Any = "density",
                 periodic: bool = False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        check_window(window)
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape: Any, dtype: Any = "float32") -> np.ndarray:
        dtype = np.dtype(dtype or "float32")
        t = dtype.type
        if len(shape) != 3:
            raise ValueError(f"STFT kernels have shape (frame_length, 1, fft_length // 2 + 1),"
                             f" received {tuple(shape)}.")
        frame, _, bins = (int(v) for v in shape)
        scale = t(1)
        win = None
        if self.window is not None:
            win = get_window(self.window, frame, self.periodic) \
                if isinstance(self.window, str) else np.asarray(self.window)
            win = win.astype(dtype)
            if win.ndim != 1 or win.shape[-1] != frame:
                raise ValueError("The shape of `window` must be equal to [frame_length]."
                                 f"Received: window shape={win.shape}")
            win = win.reshape(frame, 1, 1)
            if self.scaling == "density":
                scale = np.sqrt(np.sum(np.square(win), dtype=dtype))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win), dtype=dtype)
        n = (bins - 1) * 2
        freq = (np.arange(bins, dtype=dtype) / t(n)).reshape(1, 1, bins)
        time = np.arange(frame, dtype=dtype).reshape(frame, 1, 1)
        args = (t(-2) * time) * freq * t(np.arccos(np.float32(-1)))
        kernel = (np.cos(args) if self.side == "real" else np.sin(args)).astype(dtype)
        if win is not None:
            kernel = (kernel * win / scale).astype(dtype)
        return kernel

    def get_config(self) -> dict:
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}


__all__ = ["STFT", "get_window", "check_window", "WINDOWS"]
