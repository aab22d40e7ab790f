"""Compact embedding of arrays in the page: float16 or float32 bytes, packed bits, base64.

Every array travels as ``{"t": kind, "s": shape, "b": base64 of the bytes}``:

* ``"f2"``: IEEE float16, little-endian: 11 significant bits, a relative rounding
  error of at most 2**-11 = 4.9e-4 (about 3.3 significant decimal digits) for
  |v| >= 6.1e-5 and an absolute error of at most 3e-8 below. Used whenever every
  value fits (|v| <= 65504, or non-finite values, which float16 keeps).
* ``"f4"``: float32, for arrays with finite values beyond float16's range.
* ``"b1"``: bools packed 8 per byte, least significant bit first
  (``np.packbits(..., bitorder="little")``) in C order.

base64 costs 4 bytes of text per 3 bytes of data; ``b64_len`` gives that size
so a page's size is known before it is assembled.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

F16_MAX = 65504.0


def b64_len(nbytes: int) -> int:
    """Characters of base64 text for ``nbytes`` bytes (with padding)."""
    return 4 * math.ceil(nbytes / 3)


def floats(values: Any) -> dict:
    """An array of floats as float16 (or float32 when float16 cannot hold it)."""
    arr = np.asarray(values, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    small = finite.size == 0 or float(np.max(np.abs(finite))) <= F16_MAX
    kind, dtype = ("f2", "<f2") if small else ("f4", "<f4")
    data = np.ascontiguousarray(arr, dtype=dtype).tobytes()
    return {"t": kind, "s": list(arr.shape), "b": base64.b64encode(data).decode("ascii")}


def bits(values: Any) -> dict:
    """An array of bools packed 8 to a byte."""
    arr = np.asarray(values, dtype=bool)
    packed = np.packbits(arr.ravel(), bitorder="little")
    return {"t": "b1", "s": list(arr.shape), "b": base64.b64encode(packed.tobytes()).decode()}


def decode(item: dict) -> np.ndarray:
    """The array back from ``floats`` / ``bits`` (what the page's decoder computes)."""
    raw = base64.b64decode(item["b"])
    shape = tuple(item["s"])
    if item["t"] == "b1":
        n = int(np.prod(shape))
        return np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")[:n] \
            .astype(bool).reshape(shape)
    dtype = {"f2": "<f2", "f4": "<f4"}[item["t"]]
    return np.frombuffer(raw, dtype).astype(np.float32).reshape(shape)


def float_size(count: int) -> int:
    """Page bytes of ``count`` float16 values (the usual case)."""
    return b64_len(2 * count) + 40


def bits_size(count: int) -> int:
    """Page bytes of ``count`` packed bools."""
    return b64_len(math.ceil(count / 8)) + 40


def rounded(value: float, digits: int = 4) -> float | None:
    """A scalar for the page's JSON: ``digits`` significant digits, None if not finite."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")
