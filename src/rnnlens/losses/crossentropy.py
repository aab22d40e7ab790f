"""Crossentropy losses (binary, categorical, sparse) as Keras 3.15.1 on TensorFlow.

* ``binary_crossentropy`` on probabilities clips to ``[eps, 1 - eps]`` then takes
  ``-(t log p + (1 - t) log(1 - p))``, averaged over the last axis; ``label_smoothing``
  maps ``t -> t (1 - s) + s / 2``. From logits it is TF's
  ``sigmoid_cross_entropy_with_logits``: ``max(x, 0) - x t + log(1 + exp(-|x|))``.
* ``categorical_crossentropy`` on probabilities first renormalises ``p / sum(p)`` along
  the last axis, then clips, then ``-sum(t log p)``; smoothing maps
  ``t -> t (1 - s) + s / k``.
* ``sparse_categorical_crossentropy`` on probabilities clips, takes the log and feeds it
  to TF's fused softmax-crossentropy: the loss is ``-log(c_y / sum(c))`` with
  ``c = clip(p)``, a renormalisation *after* clipping. Labels are cast to int64 (so 2.7
  counts as class 2); a label outside ``[0, k)`` raises ``ValueError``.
* ``from_logits=True`` uses TF's fused kernels, whose gradient is ``softmax(z) - t`` (even
  when the rows of ``t`` do not sum to 1) and ``sigmoid(z) - t`` for the binary case.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from rnnlens.losses.base import (
    Loss,
    Vjp,
    _check_same_shape,
    _check_smoothing,
    _clip_probs,
    _to_float,
    check_last_axis,
)


# ---------------------------------------------------------------------------- element-wise parts
def _sigmoid_ce_logits(y_true: np.ndarray, x: np.ndarray
                       ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """tf.nn.sigmoid_cross_entropy_with_logits and autodiff through its ops."""
    dt = x.dtype
    one = dt.type(1)
    cond = x >= 0
    relu = np.where(cond, x, dt.type(0))
    nabs = np.where(cond, -x, x)
    e = np.exp(nabs)
    elem = (relu - x * y_true) + np.log1p(e)

    def elem_vjp(ge: np.ndarray) -> np.ndarray:
        via_exp = (ge * (one / (one + e))) * e
        return ge * cond.astype(dt) - ge * y_true + np.where(cond, -via_exp, via_exp)

    return elem, elem_vjp


def _bce_probs(y_true: np.ndarray, p: np.ndarray
               ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Keras's TF ``binary_crossentropy`` on probabilities (clip, two logs)."""
    dt = p.dtype
    one = dt.type(1)
    o, mask = _clip_probs(p)
    elem = -(y_true * np.log(o) + (one - y_true) * np.log(one - o))

    def elem_vjp(ge: np.ndarray) -> np.ndarray:
        n = -ge
        d_o = (n * y_true) * (one / o) - (n * (one - y_true)) * (one / (one - o))
        return np.where(mask, d_o, dt.type(0))

    return elem, elem_vjp


def _smooth_binary(y_true: np.ndarray, dt: np.dtype, label_smoothing: float) -> np.ndarray:
    if label_smoothing:
        return y_true * dt.type(1.0 - label_smoothing) + dt.type(0.5 * label_smoothing)
    return y_true


def _smooth_categorical(y_true: np.ndarray, dt: np.dtype, label_smoothing: float) -> np.ndarray:
    if label_smoothing:
        k = dt.type(y_true.shape[-1])
        return y_true * dt.type(1.0 - label_smoothing) + dt.type(label_smoothing) / k
    return y_true


def _warn_one_class(y_pred: np.ndarray, fn: str) -> None:
    if y_pred.ndim >= 1 and y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {fn}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=5,
        )


def _renormalise(y_pred: np.ndarray):
    """``o = p / sum(p, -1)`` and the vjp from ``d_o`` to ``d_p`` (TF's op by op)."""
    total = np.sum(y_pred, axis=-1, keepdims=True)
    o = y_pred / total

    def vjp(d_o: np.ndarray) -> np.ndarray:
        d_total = np.sum(d_o * ((-y_pred / total) / total), axis=-1, keepdims=True)
        return d_o / total + d_total

    return o, vjp


# ---------------------------------------------------------------------------- per-sample losses
def _bce_fwd(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False,
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, Vjp]:
    dt = y_pred.dtype
    y_true = _smooth_binary(y_true, dt, label_smoothing)
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    elem, elem_vjp = (_sigmoid_ce_logits if from_logits else _bce_probs)(y_true, y_pred)
    values = np.mean(elem, axis=-1)
    k = dt.type(y_pred.shape[-1])

    def vjp(g: np.ndarray) -> np.ndarray:
        ge = np.broadcast_to((np.asarray(g, dt) / k)[..., None], y_pred.shape)
        return elem_vjp(ge)

    return values, vjp


def _cce_fwd(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False,
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, Vjp]:
    dt = y_pred.dtype
    _warn_one_class(y_pred, "categorical_crossentropy")
    y_true = _smooth_categorical(y_true, dt, label_smoothing)
    _check_same_shape(y_true, y_pred, "categorical_crossentropy")
    if from_logits:
        # tf.nn.softmax_cross_entropy_with_logits: fused kernel, backprop = softmax - labels.
        shifted = y_pred - np.max(y_pred, axis=-1, keepdims=True)
        ex = np.exp(shifted)
        s = np.sum(ex, axis=-1, keepdims=True)
        values = np.sum(y_true * (np.log(s) - shifted), axis=-1)
        backprop = ex / s - y_true

        def vjp(g: np.ndarray) -> np.ndarray:
            return np.asarray(g, dt)[..., None] * backprop

        return values, vjp

    o, norm_vjp = _renormalise(y_pred)
    c, mask = _clip_probs(o)
    values = -np.sum(y_true * np.log(c), axis=-1)

    def vjp(g: np.ndarray) -> np.ndarray:
        n = -np.asarray(g, dt)[..., None]
        d_o = np.where(mask, (n * y_true) * (dt.type(1) / c), dt.type(0))
        return norm_vjp(d_o)

    return values, vjp


def _sparse_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_pred.ndim < 1:
        raise ValueError(
            "sparse_categorical_crossentropy: received 0-d y_pred, expected at least rank 1."
        )
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = np.squeeze(y_true, -1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy: received y_true.shape="
            f"{y_true.shape} and y_pred.shape={y_pred.shape}, expected y_true.shape == "
            "y_pred.shape[:-1] (integer class ids, optionally with a trailing axis of size 1)."
        )
    if not np.all(np.isfinite(y_true)):
        raise ValueError("sparse_categorical_crossentropy: received non-finite labels.")
    labels = y_true.astype(np.int64)  # tf.cast(float -> int64) truncates toward zero
    k = y_pred.shape[-1]
    bad = (labels < 0) | (labels >= k)
    if np.any(bad):
        raise ValueError(
            f"sparse_categorical_crossentropy: received a label value of "
            f"{labels[bad].flat[0]}, expected class ids in [0, {k})."
        )
    return labels


def _scce_fwd(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False
) -> tuple[np.ndarray, Vjp]:
    dt = y_pred.dtype
    labels = _sparse_labels(y_true, y_pred)
    if from_logits:
        logits, mask, c = y_pred, None, None
    else:
        c, mask = _clip_probs(y_pred)
        logits = np.log(c)
    # tf.nn.sparse_softmax_cross_entropy_with_logits: fused kernel, backprop = softmax - onehot.
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    ex = np.exp(shifted)
    s = np.sum(ex, axis=-1, keepdims=True)
    picked = np.take_along_axis(shifted, labels[..., None], axis=-1)[..., 0]
    values = np.log(s[..., 0]) - picked
    backprop = ex / s
    np.put_along_axis(
        backprop, labels[..., None],
        np.take_along_axis(backprop, labels[..., None], axis=-1) - dt.type(1), axis=-1,
    )

    def vjp(g: np.ndarray) -> np.ndarray:
        d_logits = np.asarray(g, dt)[..., None] * backprop
        if from_logits:
            return d_logits
        return np.where(mask, d_logits * (dt.type(1) / c), dt.type(0))

    return values, vjp


# ---------------------------------------------------------------------------- functional forms
def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
    axis: int = -1,
) -> np.ndarray:
    """Per-sample binary crossentropy, averaged over the last axis."""
    check_last_axis(axis)
    with np.errstate(all="ignore"):
        return _bce_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                        bool(from_logits), _check_smoothing(label_smoothing))[0]


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
    axis: int = -1,
) -> np.ndarray:
    """Per-sample categorical crossentropy over the last axis (one-hot ``y_true``)."""
    check_last_axis(axis)
    with np.errstate(all="ignore"):
        return _cce_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                        bool(from_logits), _check_smoothing(label_smoothing))[0]


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: Any = None,
    axis: int = -1,
) -> np.ndarray:
    """Per-sample crossentropy with integer class ids in ``y_true``."""
    check_last_axis(axis)
    _check_ignore_class(ignore_class)
    with np.errstate(all="ignore"):
        return _scce_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                         bool(from_logits))[0]


bce = BCE = binary_crossentropy


def _check_ignore_class(ignore_class: Any) -> None:
    if ignore_class is not None:
        raise ValueError(
            f"Received ignore_class={ignore_class!r}: rnnlens does not implement "
            "ignore_class; pass sample weights of 0 for the ignored labels instead."
        )


# ---------------------------------------------------------------------------- loss objects
class BinaryCrossentropy(Loss):
    """Binary crossentropy averaged over the last axis.

    Args:
        from_logits: ``y_pred`` holds logits (TF's fused sigmoid crossentropy).
        label_smoothing: a float in [0, 1]; targets become ``t (1 - s) + s / 2``.
        axis: the reduced axis; rnnlens supports -1 (Keras's default) only.
    """

    _fn_name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)
        self.axis = check_last_axis(axis)

    def _forward(self, y_true, y_pred):
        return _bce_fwd(y_true, y_pred, self.from_logits, self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(Loss):
    """Crossentropy with one-hot (or soft) targets over the last axis.

    Args:
        from_logits: ``y_pred`` holds logits (TF's fused softmax crossentropy).
        label_smoothing: a float in [0, 1]; targets become ``t (1 - s) + s / k``.
        axis: the class axis; rnnlens supports -1 (Keras's default) only.
    """

    _fn_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)
        self.axis = check_last_axis(axis)

    def _forward(self, y_true, y_pred):
        return _cce_fwd(y_true, y_pred, self.from_logits, self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """Crossentropy with integer class ids in ``y_true``.

    Args:
        from_logits: ``y_pred`` holds logits.
        ignore_class: must be ``None`` (rnnlens does not implement it).
        axis: the class axis; rnnlens supports -1 (Keras's default) only.
    """

    _fn_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_class: Any = None,
                 reduction: Any = "sum_over_batch_size", axis: int = -1,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        _check_ignore_class(ignore_class)
        self.ignore_class = ignore_class
        self.axis = check_last_axis(axis)

    def _forward(self, y_true, y_pred):
        return _scce_fwd(y_true, y_pred, self.from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}
