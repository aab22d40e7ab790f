"""Reused buffers for the recurrent layers' large temporaries.

A training step of an LSTM allocates several (T, B, 4u) arrays (the input
projection, the recorded gates, their gradients) and frees them again. The C
library's allocator returns such blocks to the operating system and takes them
back on the next step, page by page: on a virtual machine that costs more than
the arithmetic (about 10 ms per step for the keras.io weather model). So the
time loops take their temporaries from here instead.

``take(shape, dtype)`` returns an array that nothing else references any more
(its reference count says so: any view, cache, record or output that still
holds it keeps it out of reach), or a new one, which is kept for later calls.
The contents are undefined, as ``np.empty``'s. At most ``CAP_BYTES`` are kept;
``clear()`` drops them all. Thread-safe (Bidirectional runs its two directions
in threads).
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

CAP_BYTES = 256 << 20          # bytes kept at most (arrays in use are never freed by us)
MIN_BYTES = 64 << 10           # smaller arrays are cheap to allocate: not kept

_LOCK = threading.Lock()
_KEPT: list[np.ndarray] = []


def take(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype`` that nobody else holds."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize * math.prod(shape)         # (np.prod: ~2 us per streaming step)
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    with _LOCK:
        for k in range(len(_KEPT)):                # (not enumerate: its tuple holds a ref)
            arr = _KEPT[k]
            # references: the list, ``arr``, getrefcount's argument -> free to reuse
            if arr.shape == shape and arr.dtype == dtype and sys.getrefcount(arr) == 3:
                _KEPT.append(_KEPT.pop(k))                     # most recently used last
                return arr
        arr = np.empty(shape, dtype)
        _KEPT.append(arr)
        total = sum(a.nbytes for a in _KEPT)
        while total > CAP_BYTES and len(_KEPT) > 1:            # forget the oldest
            total -= _KEPT.pop(0).nbytes
        return arr


def time_major(x: np.ndarray, reverse: bool = False) -> np.ndarray:
    """(B, T, F) -> a (T, B, F) contiguous copy (time reversed when ``reverse``)."""
    src = (x[:, ::-1] if reverse else x).transpose(1, 0, 2)
    out = take(src.shape, x.dtype)
    np.copyto(out, src)
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a (..., K) and a (K, N) into a kept buffer (one 2-D product)."""
    flat = a.reshape(-1, a.shape[-1])
    shape = (flat.shape[0], b.shape[1])
    if shape[0] * shape[1] * a.itemsize < MIN_BYTES:        # small (a streaming step): no take
        return np.matmul(flat, b).reshape(a.shape[:-1] + shape[1:])
    out = take(shape, a.dtype if a.dtype == b.dtype else np.result_type(a, b))
    np.matmul(flat, b, out=out)
    return out.reshape(a.shape[:-1] + shape[1:])


def clear() -> None:
    """Forgets every kept buffer (arrays still in use stay valid)."""
    with _LOCK:
        _KEPT.clear()


def kept_bytes() -> int:
    with _LOCK:
        return sum(a.nbytes for a in _KEPT)
