"""``keras.ops`` math functions: logsumexp, top_k, segment reductions, erf, rsqrt, FFTs.

``erf``/``erfc``/``erfinv`` run in float64 (``math.erf`` element by element, Newton steps
for the inverse) and round to the input's float dtype, as TensorFlow's kernels agree with
to the last bit or so. Like TensorFlow they refuse int and bool inputs.
"""

from __future__ import annotations

import math as _m
from typing import Any

import numpy as np

from rnnlens.ops._common import as_int, need_float, norm_axes
from rnnlens.ops._dispatch import fail, keras_op
from rnnlens.ops._dtypes import result_type

_erf = np.frompyfunc(_m.erf, 1, 1)
_erfc = np.frompyfunc(_m.erfc, 1, 1)


def _erf64(x: np.ndarray) -> np.ndarray:
    return np.asarray(_erf(x.astype("float64")), dtype="float64")


@keras_op("erf", "x")
def erf(x: np.ndarray) -> np.ndarray:
    """``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt``."""
    need_float(x, "erf")
    r = _erf64(x)
    if x.dtype == np.float64:          # TensorFlow's float64 kernel gives NaN at +-inf
        r = np.where(np.isinf(x), np.nan, r)
    return r.astype(x.dtype)


@keras_op("erfc", "x")
def erfc(x: np.ndarray) -> np.ndarray:
    need_float(x, "erfc")
    return np.asarray(_erfc(x.astype("float64")), dtype="float64").astype(x.dtype)


@keras_op("erfinv", "x")
def erfinv(x: np.ndarray) -> np.ndarray:
    """Inverse of ``erf`` on (-1, 1); +-1 give +-inf and |x| > 1 NaN."""
    need_float(x, "erfinv")
    y = x.astype("float64")
    with np.errstate(all="ignore"):
        w = -np.log((1.0 - y) * (1.0 + y))
        z = np.where(w < 5.0, _giles_small(w - 2.5), _giles_big(np.sqrt(w) - 3.0)) * y
        for _ in range(3):   # Newton on erf(z) = y
            z = z - (_erf64(np.where(np.isfinite(z), z, 0)) - y) / (
                2.0 / np.sqrt(np.pi) * np.exp(-z * z))
        z = np.where(np.abs(y) == 1, np.sign(y) * np.inf, z)
        z = np.where(np.abs(y) > 1, np.nan, z)
    return z.astype(x.dtype)


def _giles_small(w: np.ndarray) -> np.ndarray:
    c = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
         -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
    p = np.zeros_like(w)
    for v in c:
        p = p * w + v
    return p


def _giles_big(w: np.ndarray) -> np.ndarray:
    c = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]
    p = np.zeros_like(w)
    for v in c:
        p = p * w + v
    return p


@keras_op("rsqrt", "x")
def rsqrt(x: np.ndarray) -> np.ndarray:
    """``1 / sqrt(x)`` for float tensors."""
    need_float(x, "rsqrt")
    with np.errstate(all="ignore"):
        return (1 / np.sqrt(x)).astype(x.dtype)


@keras_op("logsumexp", "x")
def logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(x)))`` computed as ``m + log(sum(exp(x - m)))``, ``m = max(x)``."""
    need_float(x, "logsumexp")
    ax = norm_axes(axis, x.ndim, "logsumexp")
    if x.size == 0:
        return np.full(np.sum(x, axis=ax, keepdims=keepdims).shape, -np.inf, x.dtype)
    m = np.max(x, axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    with np.errstate(all="ignore"):
        s = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
    return (s if keepdims else np.squeeze(s, ax)).astype(x.dtype)


@keras_op("top_k", "x")
def top_k(x: np.ndarray, k: int, sorted: bool = True) -> tuple[np.ndarray, np.ndarray]:  # noqa: A002
    """The ``k`` largest entries along the last axis and their int32 indices (ties:
    lower index first)."""
    k = as_int(k, "k", "top_k")
    if x.ndim == 0 or not 0 <= k <= x.shape[-1]:
        raise fail("top_k", f"k={k} must lie in [0, {x.shape[-1] if x.ndim else 0}] for "
                   f"x of shape {x.shape}.")
    if x.dtype == bool:
        raise TypeError("ops.top_k: TensorFlow has no top_k for bool tensors.")
    key = -x.astype("float64") if x.dtype.kind != "u" else -x.astype("float64")
    key = np.where(np.isnan(key), -np.inf, key)
    idx = np.argsort(key, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, idx, -1), idx.astype("int32")


@keras_op("in_top_k", "targets predictions")
def in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    """Whether ``predictions[i, targets[i]]`` is among row i's ``k`` largest (ties count)."""
    if predictions.ndim != 2 or targets.shape != predictions.shape[:1]:
        raise fail("in_top_k", f"expected targets (B,) and predictions (B, C), received "
                   f"{targets.shape} and {predictions.shape}.")
    if targets.dtype.kind not in "iu":
        raise TypeError("ops.in_top_k: targets must be integers.")
    n = predictions.shape[1]
    ok = (targets >= 0) & (targets < n)
    t = np.where(ok, targets, 0).astype("int64")
    p = predictions.astype("float64")
    tv = p[np.arange(p.shape[0]), t]
    better = np.sum(p > tv[:, None], axis=1)
    return ok & (better < as_int(k, "k", "in_top_k")) & np.isfinite(tv)


def _segments(data: np.ndarray, ids: np.ndarray, num: Any, sorted_: bool, op: str,
              default_max: bool) -> tuple[np.ndarray, int]:
    if ids.dtype.kind not in "iu":
        raise TypeError(f"ops.{op}: segment_ids must be integers, received {ids.dtype}.")
    if ids.ndim != 1 or data.ndim == 0 or ids.shape[0] != data.shape[0]:
        raise fail(op, f"segment_ids must be 1-D with data.shape[0]={data.shape[:1]} "
                   f"entries, received shape {ids.shape}.")
    if sorted_ and num is not None:
        raise fail(op, "num_segments cannot be set when sorted=True (as Keras on "
                   "TensorFlow).")
    if num is None:
        if sorted_ or default_max:
            n = int(ids.max()) + 1 if ids.size else 0
        else:
            n = len(np.unique(ids))
    else:
        n = as_int(num, "num_segments", op)
    if sorted_ and ids.size and (np.any(np.diff(ids) < 0) or ids.min() < 0):
        raise fail(op, "segment_ids must be sorted and non-negative when sorted=True.")
    return ids.astype("int64"), n


def _seg_reduce(data: np.ndarray, ids: np.ndarray, n: int, ufunc: Any,
                init: Any) -> np.ndarray:
    out = np.full((n,) + data.shape[1:], init, data.dtype)
    keep = (ids >= 0) & (ids < n)
    ufunc.at(out, ids[keep], data[keep])
    return out


def _seg(data: np.ndarray, segment_ids: np.ndarray, num_segments: Any, sorted_: bool,
         name: str) -> np.ndarray:
    big = name in ("segment_max", "segment_min")
    ids, n = _segments(data, segment_ids, num_segments, sorted_, name, big)
    if data.dtype == bool:
        raise TypeError(f"ops.{name}: TensorFlow has no {name} for bool data.")
    d = data.dtype
    ufunc, init = {"segment_sum": (np.add, 0), "segment_prod": (np.multiply, 1),
                   "segment_max": (np.maximum, _lowest(d)),
                   "segment_min": (np.minimum, _highest(d))}[name]
    return _seg_reduce(data, ids, n, ufunc, init)


def _lowest(d: np.dtype) -> Any:
    return np.finfo(d).min if d.kind == "f" else np.iinfo(d).min


def _highest(d: np.dtype) -> Any:
    return np.finfo(d).max if d.kind == "f" else np.iinfo(d).max


@keras_op("segment_sum", "data segment_ids")
def segment_sum(data: np.ndarray, segment_ids: np.ndarray, num_segments: Any = None,
                sorted: bool = False) -> np.ndarray:  # noqa: A002
    """Sum of the rows of ``data`` that share a segment id (empty segments: 0)."""
    return _seg(data, segment_ids, num_segments, sorted, "segment_sum")


@keras_op("segment_prod", "data segment_ids")
def segment_prod(data: np.ndarray, segment_ids: np.ndarray, num_segments: Any = None,
                 sorted: bool = False) -> np.ndarray:  # noqa: A002
    return _seg(data, segment_ids, num_segments, sorted, "segment_prod")


@keras_op("segment_max", "data segment_ids")
def segment_max(data: np.ndarray, segment_ids: np.ndarray, num_segments: Any = None,
                sorted: bool = False) -> np.ndarray:  # noqa: A002
    """Max per segment; empty segments hold the dtype's lowest value (as TensorFlow)."""
    return _seg(data, segment_ids, num_segments, sorted, "segment_max")


@keras_op("segment_min", "data segment_ids")
def segment_min(data: np.ndarray, segment_ids: np.ndarray, num_segments: Any = None,
                sorted: bool = False) -> np.ndarray:  # noqa: A002
    return _seg(data, segment_ids, num_segments, sorted, "segment_min")


@keras_op("extract_sequences", "x")
def extract_sequences(x: np.ndarray, sequence_length: int,
                      sequence_stride: int) -> np.ndarray:
    """Frames of ``sequence_length`` every ``sequence_stride`` along the last axis:
    ``(..., T) -> (..., n_frames, sequence_length)``."""
    n = as_int(sequence_length, "sequence_length", "extract_sequences")
    s = as_int(sequence_stride, "sequence_stride", "extract_sequences")
    if x.ndim == 0 or n <= 0 or s <= 0:
        raise fail("extract_sequences", "needs rank >= 1 and positive sequence_length "
                   "and sequence_stride.")
    t = x.shape[-1]
    frames = 0 if t < n else (t - n) // s + 1
    idx = np.arange(frames)[:, None] * s + np.arange(n)[None, :]
    return x[..., idx] if frames else np.zeros(x.shape[:-1] + (0, n), x.dtype)


@keras_op("cdist", "x y")
def cdist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of x (..., N, D) and y (..., M, D)."""
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise fail("cdist", f"inputs need rank >= 2 and equal last dimensions, received "
                   f"{x.shape} and {y.shape}.")
    d = result_type(x.dtype.name, y.dtype.name)
    diff = x[..., :, None, :].astype(d) - y[..., None, :, :].astype(d)
    return np.sqrt(np.sum(diff * diff, axis=-1))


@keras_op("logdet", "x")
def logdet(x: np.ndarray) -> np.ndarray:
    """``log(det(x))`` of a (batch of) symmetric positive definite matrices."""
    from rnnlens.ops.linalg import _square_float

    a = _square_float(x, "logdet")
    s, ld = np.linalg.slogdet(a)
    return np.where(s > 0, ld, np.nan).astype(a.dtype)


def _complex_pair(x: Any, op: str) -> np.ndarray:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise TypeError(f"ops.{op}: expects a tuple (real, imag) of float tensors.")
    from rnnlens.ops._dispatch import convert

    re_, im = convert(x[0], op=op), convert(x[1], op=op)
    if re_.shape != im.shape or re_.dtype.kind != "f" or im.dtype.kind != "f":
        raise TypeError(f"ops.{op}: real and imag must be float tensors of one shape.")
    return re_ + 1j * im.astype(re_.dtype)


def _split_complex(z: np.ndarray, d: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    return np.real(z).astype(d), np.imag(z).astype(d)


@keras_op("fft")
def fft(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """FFT over the last axis of ``(real, imag)``; returns ``(real, imag)``."""
    z = _complex_pair(x, "fft")
    return _split_complex(np.fft.fft(z, axis=-1), np.real(z).dtype)


@keras_op("fft2")
def fft2(x: Any) -> tuple[np.ndarray, np.ndarray]:
    z = _complex_pair(x, "fft2")
    return _split_complex(np.fft.fft2(z, axes=(-2, -1)), np.real(z).dtype)


@keras_op("ifft2")
def ifft2(x: Any) -> tuple[np.ndarray, np.ndarray]:
    z = _complex_pair(x, "ifft2")
    return _split_complex(np.fft.ifft2(z, axes=(-2, -1)), np.real(z).dtype)


@keras_op("rfft", "x")
def rfft(x: np.ndarray, fft_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real FFT over the last axis (``fft_length`` crops or zero-pads)."""
    need_float(x, "rfft")
    n = None if fft_length is None else as_int(fft_length, "fft_length", "rfft")
    return _split_complex(np.fft.rfft(x, n=n, axis=-1), x.dtype)


@keras_op("irfft")
def irfft(x: Any, fft_length: int | None = None) -> np.ndarray:
    z = _complex_pair(x, "irfft")
    n = None if fft_length is None else as_int(fft_length, "fft_length", "irfft")
    return np.fft.irfft(z, n=n, axis=-1).astype(np.real(z).dtype)


@keras_op("view_as_complex", "x")
def view_as_complex(x: np.ndarray) -> np.ndarray:
    """``(..., 2)`` real pairs -> complex ``(...)``."""
    if x.ndim == 0 or x.shape[-1] != 2 or x.dtype.kind != "f":
        raise fail("view_as_complex", f"needs a float tensor with last dimension 2, "
                   f"received {x.dtype} {x.shape}.")
    d = "complex128" if x.dtype == np.float64 else "complex64"
    return (x[..., 0] + 1j * x[..., 1]).astype(d)


@keras_op("view_as_real", "x")
def view_as_real(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind != "c":
        raise TypeError(f"ops.view_as_real: needs a complex tensor, received {x.dtype}.")
    return np.stack([np.real(x), np.imag(x)], axis=-1)


__all__ = ["erf", "erfc", "erfinv", "rsqrt", "logsumexp", "top_k", "in_top_k",
           "segment_sum", "segment_prod", "segment_max", "segment_min", "extract_sequences",
           "cdist", "logdet", "fft", "fft2", "ifft2", "rfft", "irfft", "view_as_complex",
           "view_as_real"]
