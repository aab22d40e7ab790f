"""``to_categorical`` and ``normalize`` with Keras 3.15.1's results.

``to_categorical(x, num_classes)``: labels cast to int64 (floats truncate towards zero),
one row ``e_k`` (float64, as Keras's NumPy path) per label ``k``; the output shape is
``x.shape + (num_classes,)`` except that a trailing axis of size 1 of an ``x`` of rank
>= 2 is dropped first (``(B, 1) -> (B, num_classes)``, ``(B,) -> (B, num_classes)``,
``(B, T, 1) -> (B, T, num_classes)``). ``num_classes`` None or 0 means ``max(x) + 1``.
A negative label (Keras silently marks the last class) or a label ``>= num_classes``
(IndexError in Keras) is a ValueError here.

``normalize(x, axis=-1, order=2)``, for a NumPy array (Keras's NumPy path)::

    n = atleast_1d(norm(x, order, axis));  n[n == 0] = 1;  x / expand_dims(n, axis')

with NumPy's ``np.linalg.norm`` and ``axis' = -1`` when ``axis`` is None (so a 1-D ``x``
gives shape ``(1, d)``, as in Keras). Keras writes ``axis' = axis or -1``, which sends
``axis=0`` to -1 and divides by the wrong norms (or fails to broadcast); rnnlens uses
``axis' = 0`` there, the per-column normalisation ``axis=0`` asks for (equal to Keras's
``axis=-ndim``). For anything else (lists, Python numbers, NumPy scalars) Keras converts
to a tensor (Python floats to float32) and computes ``ops.normalize``::

    order == 2:  x * min(1 / sqrt(sum(x**2, axis)), 1 / eps)       eps = 1e-7
    otherwise:   x / max(norm(x, order, axis), eps)                order an int >= 1

which rnnlens reproduces in NumPy (float32 for Python floats), returning a NumPy array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.utils.dataset import as_array

EPSILON = 1e-7


# ---------------------------------------------------------------------------- to_categorical
def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """Converts a class vector (integers) to a binary class matrix.

    Args:
        x: Array-like of class values (integers from 0 to ``num_classes - 1``).
        num_classes: Total number of classes; ``None`` (or 0) infers ``max(x) + 1``.

    Returns:
        A float64 NumPy array; the class axis is last.

    Example:

    >>> to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    labels = _int64_labels(x)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)                                       # (N,)
    if not num_classes:
        if flat.size == 0:
            raise ValueError("Received an empty x and num_classes=None: the number of "
                             "classes cannot be inferred; pass num_classes.")
        num_classes = int(flat.max()) + 1
    elif not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"Received num_classes={num_classes!r} of type "
                        f"{type(num_classes).__name__}, expected an int or None.")
    num_classes = int(num_classes)
    if num_classes < 0:
        raise ValueError(f"Received num_classes={num_classes}, expected an int >= 1.")
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        bad = flat.min() if flat.min() < 0 else flat.max()
        raise ValueError(f"Received the label {bad}, outside [0, {num_classes}) for "
                         f"num_classes={num_classes}; labels must be 0 ... num_classes - 1.")
    try:
        categorical = np.zeros((flat.size, num_classes))                # (N, C)
    except MemoryError:
        raise ValueError(f"A ({flat.size}, {num_classes}) one-hot array does not fit in "
                         "memory; check num_classes and the largest label.") from None
    categorical[np.arange(flat.size), flat] = 1.0
    return categorical.reshape(shape + (num_classes,))


def _int64_labels(x: Any) -> np.ndarray:
    """``np.array(x, dtype="int64")`` as Keras, refusing NaN/inf and out-of-range floats."""
    if x is None:
        raise TypeError("Received x=None, expected an array of integer class labels.")
    try:
        raw = np.asarray(x)
        if raw.dtype.kind == "f":
            if not np.isfinite(raw).all():
                raise ValueError("NaN or infinite labels")
            if raw.size and (raw.min() < -2.0**63 or raw.max() >= 2.0**63):
                raise ValueError("labels outside the int64 range")
        return np.array(raw if raw.dtype.kind in "biuf" else x, dtype=np.int64)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"Could not read x as integer class labels: {exc}.") from None
    except TypeError as exc:
        raise TypeError(f"Could not read x as integer class labels: {exc}.") from None


# ---------------------------------------------------------------------------- normalize
def normalize(x: Any, axis: Any = -1, order: Any = 2) -> np.ndarray:
    """Normalizes an array.

    Args:
        x: Array to normalize.
        axis: Axis along which to normalize (None: over the whole array, with NumPy's
            matrix norms for a 2-D NumPy array).
        order: Normalization order (e.g. ``order=2`` for the L2 norm).

    Returns:
        A normalized copy of the array (always a NumPy array).
    """
    if isinstance(x, np.ndarray):
        return _normalize_numpy(x, axis, order)
    return _normalize_tensor(x, axis, order)


def _normalize_numpy(x: np.ndarray, axis: Any, order: Any) -> np.ndarray:
    try:
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    except (ValueError, IndexError) as exc:     # AxisError is both
        raise ValueError(f"normalize: cannot take the order={order!r} norm of an array of "
                         f"shape {x.shape} along axis={axis!r}: {exc}.") from None
    except TypeError as exc:
        raise TypeError(f"normalize: received an array of dtype {x.dtype}, expected "
                        f"numbers: {exc}.") from None
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, -1 if axis is None else axis)


def _normalize_tensor(x: Any, axis: Any, order: Any) -> np.ndarray:
    if not isinstance(order, int) or not order >= 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    arr = as_array(x, "x")
    if arr.ndim == 0:
        arr = arr[None]                                             # (1,)
    if arr.dtype.kind not in "iuf" or (order == 2 and arr.dtype.kind != "f"):
        raise TypeError(
            f"normalize: Keras computes a non-NumPy x as a tensor of dtype {arr.dtype}, which "
            f"its order={order} norm refuses; pass floats (or a NumPy array)."
        )
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    eps = arr.dtype.type(EPSILON)
    try:
        if order == 2:
            square_sum = np.sum(np.square(arr), axis=axis, keepdims=True)
            with np.errstate(divide="ignore"):
                inv_norm = 1 / np.sqrt(square_sum)
            return arr * np.minimum(inv_norm, 1 / eps)
        norm = np.linalg.norm(arr, ord=order, axis=axis, keepdims=True)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"normalize: cannot take the order={order} norm of an array of "
                         f"shape {arr.shape} along axis={axis!r}: {exc}.") from None
    return arr / np.maximum(norm, eps)
