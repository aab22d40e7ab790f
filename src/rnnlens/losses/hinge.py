"""Hinge losses and the overlap losses (Dice, Tversky), as Keras 3.15.1 on TensorFlow.

* Hinge: ``mean(max(1 - t p, 0))``; squared hinge: ``mean(max(1 - t p, 0)^2)``. When every
  ``y_true`` of the batch is 0 or 1 it is first mapped to ``2 t - 1`` (so labels are
  -1 / 1). TF's ``maximum`` passes the gradient on ties, so ``t p = 1`` exactly still
  gets ``-t / k``.
* Categorical hinge: ``max(max((1 - t) p) - sum(t p) + 1, 0)``; a tie for the largest
  ``(1 - t) p`` shares the gradient equally, as TF's ``reduce_max`` does.
* Dice: ``1 - 2 sum(t p) / (sum(t) + sum(p) + eps)``; Tversky:
  ``1 - I / (I + alpha sum((1 - p) t) + beta sum(p (1 - t)) + eps)`` with ``I = sum(t p)``.
  Both sum over ``axis`` (``None``, Keras's default: every axis, one number for the whole
  batch; e.g. ``axis=-1`` or ``(1, 2)`` for one value per sample).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.losses.base import (
    EPSILON,
    Loss,
    Vjp,
    _check_same_shape,
    _mean_last,
    _to_float,
    check_number,
)


# ---------------------------------------------------------------------------- per-sample losses
def _hinge_labels(y_true: np.ndarray) -> np.ndarray:
    """Keras's ``convert_binary_labels_to_hinge``: 0/1 labels (all of them) -> -1/1."""
    dt = y_true.dtype
    if np.all((y_true == 0) | (y_true == 1)):
        return dt.type(2.0) * y_true - dt.type(1.0)
    return y_true


def _hinge_fwd(y_true: np.ndarray, y_pred: np.ndarray, squared: bool = False
               ) -> tuple[np.ndarray, Vjp]:
    _check_same_shape(y_true, y_pred, "squared_hinge" if squared else "hinge")
    dt = y_pred.dtype
    t = _hinge_labels(y_true)
    z = dt.type(1.0) - t * y_pred
    m = np.maximum(z, dt.type(0))
    passes = z >= 0                                          # TF maximum: ties go to z
    values, back = _mean_last(np.square(m) if squared else m)

    def vjp(g: np.ndarray) -> np.ndarray:
        d_m = back(g)
        if squared:
            d_m = d_m * (m * dt.type(2))
        return -np.where(passes, d_m, dt.type(0)) * t

    return values, vjp


def _categorical_hinge_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    _check_same_shape(y_true, y_pred, "categorical_hinge")
    dt = y_pred.dtype
    one = dt.type(1.0)
    pos = np.sum(y_true * y_pred, axis=-1)
    u = (one - y_true) * y_pred
    neg = np.max(u, axis=-1)
    v = neg - pos + one
    passes = v >= 0

    def vjp(g: np.ndarray) -> np.ndarray:
        d_v = np.where(passes, np.asarray(g, dt), dt.type(0))[..., None]
        ties = (u == neg[..., None]).astype(dt)
        d_u = (ties / np.sum(ties, axis=-1, keepdims=True)) * d_v
        return d_u * (one - y_true) - d_v * y_true

    return np.maximum(v, dt.type(0)), vjp


def _sum_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Keras's ``axis`` for Dice / Tversky (None, an int or a list of ints) as a tuple."""
    if axis is None:
        return tuple(range(ndim))
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    out = []
    for a in items:
        check_number(a, "axis", integer=True)
        if not -ndim <= a < ndim:
            raise ValueError(f"Received axis={axis!r} for inputs of rank {ndim}, expected "
                             f"axes in [{-ndim}, {ndim}).")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"Received axis={axis!r} with a repeated axis.")
    return tuple(sorted(out))


def _overlap_fwd(y_true: np.ndarray, y_pred: np.ndarray, axis: Any, alpha: float | None,
                 beta: float | None) -> tuple[np.ndarray, Vjp]:
    """Dice (``alpha is None``) or Tversky, summed over ``axis``."""
    _check_same_shape(y_true, y_pred, "dice" if alpha is None else "tversky")
    dt = y_pred.dtype
    one, eps = dt.type(1), dt.type(EPSILON)
    axes = _sum_axes(axis, y_pred.ndim)
    t = y_true
    inter = np.sum(t * y_pred, axis=axes)
    if alpha is None:
        num = dt.type(2.0) * inter
        den = np.sum(t, axis=axes) + np.sum(y_pred, axis=axes) + eps
    else:
        num = inter
        fp = np.sum((one - y_pred) * t, axis=axes)
        fn = np.sum(y_pred * (one - t), axis=axes)
        den = inter + fp * dt.type(alpha) + fn * dt.type(beta) + eps

    def vjp(g: np.ndarray) -> np.ndarray:
        d_ratio = -np.expand_dims(np.asarray(g, dt), axes)
        d_num = d_ratio / np.expand_dims(den, axes)
        d_den = d_ratio * np.expand_dims((-num / den) / den, axes)
        if alpha is None:
            return (d_num * dt.type(2.0)) * t + d_den
        d_inter = d_num + d_den
        return (d_inter * t - (d_den * dt.type(alpha)) * t
                + (d_den * dt.type(beta)) * (one - t))

    return one - num / den, vjp


# ---------------------------------------------------------------------------- functional forms
def hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``."""
    return _hinge_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def squared_hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""
    return _hinge_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"), True)[0]


def categorical_hinge(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""
    return _categorical_hinge_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def dice(y_true: Any, y_pred: Any, axis: Any = None) -> np.ndarray:
    """``1 - 2 sum(y_true y_pred) / (sum(y_true) + sum(y_pred) + eps)`` over ``axis``."""
    with np.errstate(all="ignore"):
        return _overlap_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                            axis, None, None)[0]


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5,
            axis: Any = None) -> np.ndarray:
    """``1 - TP / (TP + alpha FN' + beta FP' + eps)`` over ``axis`` (Keras's naming)."""
    alpha, beta = _check_tversky(alpha, beta)
    with np.errstate(all="ignore"):
        return _overlap_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                            axis, alpha, beta)[0]


def _check_tversky(alpha: Any, beta: Any) -> tuple[float, float]:
    return float(check_number(alpha, "alpha")), float(check_number(beta, "beta"))


def _check_axis_arg(axis: Any) -> Any:
    if axis is None:
        return None
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    for a in items:
        check_number(a, "axis", integer=True)
    return axis


# ---------------------------------------------------------------------------- loss objects
class Hinge(Loss):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)`` (0/1 labels become -1/1)."""

    _fn_name = "hinge"
    _squared = False

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _forward(self, y_true, y_pred):
        return _hinge_fwd(y_true, y_pred, self._squared)


class SquaredHinge(Hinge):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)`` (0/1 labels -> -1/1)."""

    _fn_name = "squared_hinge"
    _squared = True


class CategoricalHinge(Loss):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""

    _fn_name = "categorical_hinge"

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _forward(self, y_true, y_pred):
        return _categorical_hinge_fwd(y_true, y_pred)


class Dice(Loss):
    """``1 - 2 |t p| / (|t| + |p| + eps)`` summed over ``axis``.

    Args:
        axis: ``None`` (every axis: one value for the batch), an int or a list of ints.
    """

    _fn_name = "dice"

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 axis: Any = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = _check_axis_arg(axis)

    def _forward(self, y_true, y_pred):
        return _overlap_fwd(y_true, y_pred, self.axis, None, None)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Tversky(Loss):
    """``1 - I / (I + alpha sum((1 - p) t) + beta sum(p (1 - t)) + eps)`` over ``axis``.

    Args:
        alpha: the weight of ``sum((1 - y_pred) * y_true)`` (a float).
        beta: the weight of ``sum(y_pred * (1 - y_true))`` (a float).
        axis: ``None`` (every axis), an int or a list of ints.
    """

    _fn_name = "tversky"

    def __init__(self, alpha: float = 0.5, beta: float = 0.5,
                 reduction: Any = "sum_over_batch_size", name: str | None = None,
                 axis: Any = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_tversky(alpha, beta)
        self.alpha, self.beta = alpha, beta
        self.axis = _check_axis_arg(axis)

    def _forward(self, y_true, y_pred):
        return _overlap_fwd(y_true, y_pred, self.axis, self.alpha, self.beta)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}
