"""VJPs of ``stft`` and ``istft``: both are linear in the signal, so each VJP is the
adjoint of the forward's steps, applied in reverse (as TensorFlow's gradients of
``tf.signal.stft`` / ``inverse_stft``; see ``rnnlens.ops.signal`` for the forward).

stft, with ``F = rfft(I_N)`` (``(N, N // 2 + 1)``: row n is the spectrum of a unit
impulse at n) and the zero-padded window ``w``::

    X = frames(pad(x)) w F        ->   frames_bar = (re_bar Re(F)^T + im_bar Im(F)^T) w
    x_bar = pad^T(overlap_add(frames_bar))

``overlap_add`` is the adjoint of framing; ``pad^T`` of ``center=True``'s reflection adds
each padded sample's cotangent to the sample it mirrors.

istft, with ``M_re = irfft(I_K)`` and ``M_im = irfft(i I_K)`` (``(K, N)``; the imaginary
parts of the first bin, and of the last for even N, are ignored by irfft, so their rows
are 0)::

    y = crop(overlap_add(scale (re M_re + im M_im)))
    frames_bar = scale frame(uncrop(y_bar)),  re_bar = frames_bar M_re^T,
    im_bar = frames_bar M_im^T.

Gradients with respect to a tensor ``window`` are not implemented (a ``ValueError`` asks
for ``ops.stop_gradient``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.autodiff.vjps import vjp


def _setup(ctx: Any, op: str) -> tuple[int, int, int, np.ndarray | None, np.dtype]:
    from rnnlens.ops.signal import _lengths, _window

    a = ctx.args
    dtype = (ctx.out[0] if isinstance(ctx.out, (list, tuple)) else ctx.out).dtype
    n, s, f = _lengths(a["sequence_length"], a["sequence_stride"], a["fft_length"], op)
    win = _window(a.get("window", "hann"), n, dtype, op)
    if win is not None:
        left = (f - n) // 2
        win = np.pad(win, (left, f - n - left))                     # (N,)
    return n, s, f, win, dtype


@vjp("stft")
def _stft(ctx: Any, g: list) -> dict:
    _, s, f, win, dtype = _setup(ctx, "stft")
    x = np.asarray(ctx.args["x"])
    g_re, g_im = (np.asarray(v, dtype) for v in g)                  # (..., K, N // 2 + 1)
    spec = np.fft.rfft(np.eye(f), n=f, axis=-1)                     # (N, N // 2 + 1)
    d_frames = g_re @ spec.real.T.astype(dtype) + g_im @ spec.imag.T.astype(dtype)
    if win is not None:
        d_frames = d_frames * win                                   # (..., K, N)
    half = f // 2 if ctx.args.get("center", True) else 0
    length = x.shape[-1] + 2 * half
    d_padded = np.zeros(x.shape[:-1] + (length,), dtype)
    for i in range(d_frames.shape[-2]):
        d_padded[..., i * s:i * s + f] += d_frames[..., i, :]
    if not half:
        return {"x": d_padded}
    source = np.pad(np.arange(x.shape[-1]), half, mode="reflect")  # padded -> sample
    fold = np.zeros((length, x.shape[-1]), dtype)
    fold[np.arange(length), source] = 1.0
    return {"x": d_padded @ fold}


@vjp("istft")
def _istft(ctx: Any, g: np.ndarray) -> dict:
    _, s, f, win, dtype = _setup(ctx, "istft")
    a = ctx.args
    re_ = np.asarray(a["x"][0])
    k, bins = re_.shape[-2], re_.shape[-1]
    total = f + s * (k - 1)
    start = f // 2 if a.get("center", True) else 0
    if a.get("length") is not None:
        crop = slice(start, start + int(a["length"]))
    else:
        crop = slice(start, -(f // 2)) if a.get("center", True) else slice(0, total)
    d_total = np.zeros(re_.shape[:-2] + (total,), dtype)
    d_total[..., crop] = np.asarray(g, dtype)
    d_frames = np.stack([d_total[..., i * s:i * s + f] for i in range(k)], axis=-2)
    if win is not None:
        over = -(-f // s)
        denom = np.pad(win * win, (0, over * s - f)).reshape(over, s).sum(0)
        d_frames = d_frames * (win / np.tile(denom, over)[:f]).astype(dtype)
    eye = np.eye(bins)
    m_re = np.fft.irfft(eye, n=f, axis=-1)[..., :f].astype(dtype)        # (K, N)
    m_im = np.fft.irfft(1j * eye, n=f, axis=-1)[..., :f].astype(dtype)
    return {"x": [d_frames @ m_re.T, d_frames @ m_im.T]}
