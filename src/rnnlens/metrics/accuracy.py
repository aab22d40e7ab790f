"""Accuracy metrics, as Keras 3.15.1 computes them (each a mean over samples).

* ``accuracy``: ``y_true == y_pred``; ``binary_accuracy``: ``(y_pred > threshold) == y_true``.
* ``categorical_accuracy``: ``argmax(y_true) == argmax(y_pred)``;
  ``sparse_categorical_accuracy``: ``y_true == argmax(y_pred)``.
* ``top_k_categorical_accuracy`` / ``sparse_top_k_categorical_accuracy``: TF's
  ``in_top_k``: the true class is a hit when fewer than ``k`` classes score strictly
  higher (so ties at the boundary count as hits), and never when the row holds a
  non-finite score or the label is outside ``[0, num_classes)``. With
  ``from_sorted_ids=True`` ``y_pred`` holds class ids sorted by score and a hit is
  ``y_true`` among the first ``k`` of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.losses.base import _to_float, as_numeric, check_number, squeeze_or_expand_to_same_rank
from rnnlens.metrics.base import Metric, _dtype, _Wrapped


# ---------------------------------------------------------------------------- metric functions
def accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1.0 where ``y_true == y_pred`` (element-wise, after the rank fix)."""
    yp = _to_float(y_pred, "y_pred")
    yt = as_numeric(y_true, "y_true").astype(yp.dtype)
    yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
    if yt.shape != yp.shape:
        raise ValueError(f"accuracy: received y_true.shape={yt.shape} and y_pred.shape="
                         f"{yp.shape}, expected equal shapes.")
    return np.equal(yt, yp).astype(_dtype())


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """1.0 where ``(y_pred > threshold) == y_true``, else 0.0 (element-wise)."""
    yt = as_numeric(y_true, "y_true")
    yp = _to_float(y_pred, "y_pred")
    yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
    pred = (yp > yp.dtype.type(threshold)).astype(yt.dtype)
    return np.equal(yt, pred).astype(_dtype())


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` along the last axis."""
    yt = as_numeric(y_true, "y_true")
    yp = _to_float(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(
            f"categorical_accuracy: received y_true.shape={yt.shape} and y_pred.shape="
            f"{yp.shape}, expected equal shapes (one-hot y_true; use "
            "sparse_categorical_accuracy for integer labels)."
        )
    _check_classes(yp, "categorical_accuracy", rank=1)
    return np.equal(np.argmax(yt, axis=-1), np.argmax(yp, axis=-1)).astype(_dtype())


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1.0 where ``y_true == argmax(y_pred)`` (integer labels, optional trailing axis of 1)."""
    yp = _to_float(y_pred, "y_pred")
    yt = as_numeric(y_true, "y_true").astype(yp.dtype)
    _check_classes(yp, "sparse_categorical_accuracy", rank=1)
    org_shape = yt.shape
    reshape = False
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = np.squeeze(yt, -1)
        reshape = True
    if yt.shape != yp.shape[:-1]:
        raise ValueError(
            f"sparse_categorical_accuracy: received y_true.shape={org_shape} and y_pred.shape="
            f"{yp.shape}, expected y_true.shape == y_pred.shape[:-1] (or with a trailing 1)."
        )
    matches = np.equal(yt, np.argmax(yp, axis=-1).astype(yp.dtype)).astype(_dtype())
    if reshape:
        matches = matches.reshape(org_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = np.squeeze(matches, -1)
    return matches


def _check_classes(yp: np.ndarray, fn: str, rank: int = 2) -> None:
    if yp.ndim < rank or yp.shape[-1] == 0:
        raise ValueError(f"{fn}: received y_pred.shape={yp.shape}, expected rank >= {rank} "
                         "with at least one class on the last axis.")


def in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    """TF's ``in_top_k``: ``targets (N,)`` int, ``predictions (N, C)`` -> bool ``(N,)``."""
    n, c = predictions.shape
    valid = (targets >= 0) & (targets < c)
    picked = predictions[np.arange(n), np.where(valid, targets, 0)]          # (N,)
    finite = np.all(np.isfinite(predictions), axis=1)
    above = np.sum(predictions > picked[:, None], axis=1)
    return valid & finite & (above < k)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> np.ndarray:
    """1.0 where the class of ``argmax(y_true)`` is among the top ``k`` of ``y_pred``."""
    k = _check_k(k)
    yp = _to_float(y_pred, "y_pred")
    yt = as_numeric(y_true, "y_true").astype(yp.dtype)
    _check_classes(yp, "top_k_categorical_accuracy")
    if yt.shape != yp.shape:
        raise ValueError(
            f"top_k_categorical_accuracy: received y_true.shape={yt.shape} and y_pred.shape="
            f"{yp.shape}, expected equal shapes (one-hot y_true; use "
            "sparse_top_k_categorical_accuracy for integer labels)."
        )
    labels = np.argmax(yt, axis=-1)                                          # (B, ...)
    hits = in_top_k(labels.reshape(-1), yp.reshape(-1, yp.shape[-1]), k)
    return hits.reshape(labels.shape).astype(_dtype())


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5,
                                      from_sorted_ids: bool = False) -> np.ndarray:
    """1.0 where the integer label ``y_true`` is among the top ``k`` classes of ``y_pred``.

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted by decreasing score
    (``(B, N)``, any ``N``) and a hit is ``y_true`` among its first ``k`` columns.
    """
    k = _check_k(k)
    yp = _to_float(y_pred, "y_pred")
    yt = as_numeric(y_true, "y_true")
    _check_classes(yp, "sparse_top_k_categorical_accuracy")
    rows = int(np.prod(yp.shape[:-1]))
    if yt.size != rows or yt.ndim < 1:
        raise ValueError(
            f"sparse_top_k_categorical_accuracy: received y_true.shape={yt.shape} and "
            f"y_pred.shape={yp.shape}, expected one label per row of y_pred "
            f"({rows} labels, e.g. shape {yp.shape[:-1]})."
        )
    flat = yp.reshape(rows, yp.shape[-1])
    if from_sorted_ids:
        hits = np.any(yt.astype(yp.dtype).reshape(-1)[:, None] == flat[:, :k], axis=1)
    else:
        if not np.all(np.isfinite(yt)):
            raise ValueError("sparse_top_k_categorical_accuracy: received non-finite labels.")
        hits = in_top_k(yt.reshape(-1).astype(np.int64), flat, k)           # tf.cast truncates
    return hits.reshape(yt.shape).astype(_dtype())


def _check_k(k: Any) -> int:
    return int(check_number(k, "k", low=1, integer=True))


# ---------------------------------------------------------------------------- metric objects
class Accuracy(_Wrapped):
    """How often ``y_pred`` equals ``y_true`` exactly."""

    _direction = "up"

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(_Wrapped):
    """How often ``(y_pred > threshold)`` equals ``y_true``."""

    _direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None,
                 threshold: float = 0.5) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise TypeError(f"Received threshold={threshold!r}, expected a float.")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self) -> dict[str, Any]:
        return {**Metric.get_config(self), "threshold": self.threshold}


class CategoricalAccuracy(_Wrapped):
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)`` (one-hot labels)."""

    _direction = "up"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_Wrapped):
    """How often ``argmax(y_pred)`` equals the integer label ``y_true``."""

    _direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_Wrapped):
    """How often the one-hot target's class is among the ``k`` highest predictions.

    Args:
        k: how many top classes count as a hit (an int >= 1).
    """

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))
        self.k = k

    def get_config(self) -> dict[str, Any]:
        return {**Metric.get_config(self), "k": self.k}


class SparseTopKCategoricalAccuracy(_Wrapped):
    """How often the integer label is among the ``k`` highest predictions.

    Args:
        k: how many top classes count as a hit (an int >= 1).
        from_sorted_ids: ``y_pred`` holds class ids sorted by score, not scores.
    """

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None, from_sorted_ids: bool = False) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype,
                         k=_check_k(k), from_sorted_ids=bool(from_sorted_ids))
        self.k = k
        self.from_sorted_ids = bool(from_sorted_ids)

    def get_config(self) -> dict[str, Any]:
        config = {**Metric.get_config(self), "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
