"""KL divergence, Poisson and the focal crossentropies, as Keras 3.15.1 on TensorFlow.

* KL divergence: ``sum(t log(t / p))`` over the last axis with ``t = clip(y_true, eps, 1)``
  and ``p = clip(y_pred, eps, 1)``; the gradient is ``-t / p`` where ``eps <= y_pred <= 1``
  and 0 where the clip bites.
* Poisson: ``mean(p - t log(p + eps))``; ``y_pred < -eps`` gives NaN, as in Keras.
* Binary focal crossentropy (Lin et al. 2017):
  ``mean(w (1 - p_t)^gamma bce(t, p))`` with ``p_t = t p + (1 - t)(1 - p)``,
  ``w = t alpha + (1 - t)(1 - alpha)`` when ``apply_class_balancing`` (else 1) and ``bce``
  Keras's clipped binary crossentropy. With ``from_logits`` ``p = sigmoid(z)`` and, as in
  Keras (whose ``sigmoid`` output carries its logits), ``bce`` is TF's
  ``sigmoid_cross_entropy_with_logits(t, z)``.
* Categorical focal crossentropy:
  ``sum(alpha (1 - c)^gamma (-t log c))`` with ``c = clip(p / sum(p), eps, 1 - eps)``
  (``p = softmax(z)`` with ``from_logits``).

``(1 - p_t)^gamma`` differentiates as TensorFlow's ``Pow``: ``gamma (1 - p_t)^(gamma - 1)``,
so ``gamma < 1`` at ``p_t = 1`` gives the same NaN gradient as Keras.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.losses.base import (
    EPSILON,
    Loss,
    Vjp,
    _check_same_shape,
    _check_smoothing,
    _clip_probs,
    _mean_last,
    _to_float,
    check_last_axis,
    check_number,
)
from rnnlens.losses.crossentropy import (
    _bce_probs,
    _renormalise,
    _sigmoid_ce_logits,
    _smooth_binary,
    _smooth_categorical,
    _warn_one_class,
)


# ---------------------------------------------------------------------------- per-sample losses
def _kld_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    _check_same_shape(y_true, y_pred, "kl_divergence")
    dt = y_pred.dtype
    t, _ = _clip_probs(y_true, hi=1.0)
    p, passes = _clip_probs(y_pred, hi=1.0)
    r = t / p
    values = np.sum(t * np.log(r), axis=-1)

    def vjp(g: np.ndarray) -> np.ndarray:
        d_r = (np.asarray(g, dt)[..., None] * t) * (dt.type(1) / r)
        return np.where(passes, d_r * ((-t / p) / p), dt.type(0))

    return values, vjp


def _poisson_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    _check_same_shape(y_true, y_pred, "poisson")
    dt = y_pred.dtype
    shifted = y_pred + dt.type(EPSILON)
    values, back = _mean_last(y_pred - y_true * np.log(shifted))

    def vjp(g: np.ndarray) -> np.ndarray:
        ge = back(g)
        return ge + (-ge * y_true) * (dt.type(1) / shifted)

    return values, vjp


def _pow_vjp(base: np.ndarray, gamma: Any, d_out: np.ndarray) -> np.ndarray:
    """TF's Pow gradient with respect to the base: ``d_out * gamma * base^(gamma - 1)``."""
    dt = base.dtype
    return d_out * (dt.type(gamma) * np.power(base, dt.type(gamma) - dt.type(1)))


def _binary_focal_fwd(
    y_true: np.ndarray, y_pred: np.ndarray, apply_class_balancing: bool = False,
    alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, Vjp]:
    dt = y_pred.dtype
    one = dt.type(1)
    t = _smooth_binary(y_true, dt, label_smoothing)
    _check_same_shape(t, y_pred, "binary_focal_crossentropy")
    if from_logits:
        q = one / (one + np.exp(-y_pred))                   # sigmoid
        bce, bce_vjp = _sigmoid_ce_logits(t, y_pred)         # Keras uses the tagged logits
    else:
        q = y_pred
        bce, bce_vjp = _bce_probs(t, y_pred)
    base = one - (t * q + (one - t) * (one - q))             # 1 - p_t
    focal_factor = np.power(base, dt.type(gamma))
    weight = t * dt.type(alpha) + (one - t) * (one - dt.type(alpha))
    elem = focal_factor * bce
    if apply_class_balancing:
        elem = weight * elem
    values, back = _mean_last(elem)

    def vjp(g: np.ndarray) -> np.ndarray:
        ge = back(g)
        if apply_class_balancing:
            ge = ge * weight
        d_pt = -_pow_vjp(base, gamma, ge * bce)
        d_q = d_pt * t - d_pt * (one - t)
        d_bce = bce_vjp(ge * focal_factor)
        if from_logits:
            return (d_q * q) * (one - q) + d_bce             # TF SigmoidGrad: dy y (1 - y)
        return d_q + d_bce

    return values, vjp


def _categorical_focal_fwd(
    y_true: np.ndarray, y_pred: np.ndarray, alpha: float = 0.25, gamma: float = 2.0,
    from_logits: bool = False, label_smoothing: float = 0.0,
) -> tuple[np.ndarray, Vjp]:
    dt = y_pred.dtype
    one = dt.type(1)
    _warn_one_class(y_pred, "categorical_focal_crossentropy")
    t = _smooth_categorical(y_true, dt, label_smoothing)
    _check_same_shape(t, y_pred, "categorical_focal_crossentropy")
    s = None
    if from_logits:
        ex = np.exp(y_pred - np.max(y_pred, axis=-1, keepdims=True))
        s = ex / np.sum(ex, axis=-1, keepdims=True)          # (..., k) softmax
    o, norm_vjp = _renormalise(y_pred if s is None else s)
    c, passes = _clip_probs(o)
    cce = -t * np.log(c)
    base = one - c
    weighting = np.power(base, dt.type(gamma)) * dt.type(alpha)
    values = np.sum(weighting * cce, axis=-1)

    def vjp(g: np.ndarray) -> np.ndarray:
        ge = np.broadcast_to(np.asarray(g, dt)[..., None], y_pred.shape)
        d_base = _pow_vjp(base, gamma, (ge * cce) * dt.type(alpha))
        d_c = ((ge * weighting) * -t) * (one / c) - d_base
        d_in = norm_vjp(np.where(passes, d_c, dt.type(0)))
        if s is None:
            return d_in
        return (d_in - np.sum(d_in * s, axis=-1, keepdims=True)) * s  # TF SoftmaxGrad

    return values, vjp


# ---------------------------------------------------------------------------- functional forms
def kl_divergence(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``sum(t * log(t / p), axis=-1)`` on ``[eps, 1]``-clipped inputs."""
    with np.errstate(all="ignore"):
        return _kld_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def poisson(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``."""
    with np.errstate(all="ignore"):
        return _poisson_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def binary_focal_crossentropy(
    y_true: Any, y_pred: Any, apply_class_balancing: bool = False, alpha: float = 0.25,
    gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
    axis: int = -1,
) -> np.ndarray:
    """Per-sample binary focal crossentropy, averaged over the last axis."""
    check_last_axis(axis)
    alpha, gamma = _check_focal(alpha, gamma)
    with np.errstate(all="ignore"):
        return _binary_focal_fwd(
            _to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
            bool(apply_class_balancing), alpha, gamma, bool(from_logits),
            _check_smoothing(label_smoothing))[0]


def categorical_focal_crossentropy(
    y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0,
    from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
) -> np.ndarray:
    """Per-sample categorical focal crossentropy over the last axis."""
    check_last_axis(axis)
    alpha, gamma = _check_focal(alpha, gamma)
    with np.errstate(all="ignore"):
        return _categorical_focal_fwd(
            _to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"), alpha, gamma,
            bool(from_logits), _check_smoothing(label_smoothing))[0]


kld = KLD = kl_divergence


def _check_focal(alpha: Any, gamma: Any) -> tuple[float, float]:
    return (float(check_number(alpha, "alpha")),
            float(check_number(gamma, "gamma", low=0.0)))


# ---------------------------------------------------------------------------- loss objects
class KLDivergence(Loss):
    """``sum(t * log(t / p), axis=-1)`` on ``[eps, 1]``-clipped inputs, then reduced."""

    _fn_name = "kl_divergence"

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _forward(self, y_true, y_pred):
        return _kld_fwd(y_true, y_pred)


class Poisson(Loss):
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``, then reduced."""

    _fn_name = "poisson"

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _forward(self, y_true, y_pred):
        return _poisson_fwd(y_true, y_pred)


class BinaryFocalCrossentropy(Loss):
    """Binary crossentropy down-weighted by ``(1 - p_t)^gamma``, averaged over the last axis.

    Args:
        apply_class_balancing: weight positives by ``alpha`` and negatives by
            ``1 - alpha``.
        alpha: the balancing weight (a float).
        gamma: the focusing exponent (a float >= 0).
        from_logits: ``y_pred`` holds logits.
        label_smoothing: a float in [0, 1]; targets become ``t (1 - s) + s / 2``.
        axis: the reduced axis; rnnlens supports -1 (Keras's default) only.
    """

    _fn_name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_focal(alpha, gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)
        self.axis = check_last_axis(axis)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha, self.gamma = alpha, gamma

    def _forward(self, y_true, y_pred):
        return _binary_focal_fwd(y_true, y_pred, self.apply_class_balancing, self.alpha,
                                 self.gamma, self.from_logits, self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}


class CategoricalFocalCrossentropy(Loss):
    """Categorical crossentropy weighted by ``alpha (1 - p)^gamma`` per class.

    Args:
        alpha: the weighting factor (a float).
        gamma: the focusing exponent (a float >= 0).
        from_logits: ``y_pred`` holds logits (softmax first).
        label_smoothing: a float in [0, 1]; targets become ``t (1 - s) + s / k``.
        axis: the class axis; rnnlens supports -1 (Keras's default) only.
    """

    _fn_name = "categorical_focal_crossentropy"

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_focal(alpha, gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)
        self.axis = check_last_axis(axis)
        self.alpha, self.gamma = alpha, gamma

    def _forward(self, y_true, y_pred):
        return _categorical_focal_fwd(y_true, y_pred, self.alpha, self.gamma,
                                      self.from_logits, self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "alpha": self.alpha, "gamma": self.gamma}
