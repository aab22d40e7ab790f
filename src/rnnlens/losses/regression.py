"""Regression losses, as Keras 3.15.1 computes them, with TensorFlow's gradients.

With ``e = y_pred - y_true`` and ``k`` the size of the last axis (``mean`` over it):

* mean squared error: ``mean(e^2)``; mean absolute error: ``mean(|e|)``
* mean absolute percentage error: ``100 mean(|(y_true - y_pred) / max(|y_true|, eps)|)``
* mean squared logarithmic error:
  ``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2)``; the gradient flows
  where ``y_pred >= eps`` (TF's ``maximum`` passes it on ties)
* Huber: ``mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2)``
* log-cosh: ``mean(e + softplus(-2 e) - log 2)``, whose derivative is ``tanh(e) / k``
* cosine similarity: ``-sum(normalize(y_true) * normalize(y_pred), axis)`` with
  ``normalize(x) = x * min(rsqrt(sum(x^2)), 1 / eps)``: a zero vector normalises to 0, and
  its gradient is ``1e7`` times the other side's unit vector, as TensorFlow's.

``eps = 1e-7`` (``keras.backend.epsilon()``). ``|x|`` differentiates to ``sign(x)`` (0 at 0).
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
    squeeze_or_expand_to_same_rank,
)


def _prepare(y_true: np.ndarray, y_pred: np.ndarray, fn: str) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, fn)
    return y_true, y_pred


# ---------------------------------------------------------------------------- per-sample losses
def _mse_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_error")
    diff = y_true - y_pred
    values, back = _mean_last(np.square(diff))

    def vjp(g: np.ndarray) -> np.ndarray:
        return -(back(g) * (diff * y_pred.dtype.type(2)))

    return values, vjp


def _mae_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_error")
    diff = y_true - y_pred
    values, back = _mean_last(np.abs(diff))

    def vjp(g: np.ndarray) -> np.ndarray:
        return -(back(g) * np.sign(diff))

    return values, vjp


def _mape_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_percentage_error")
    dt = y_pred.dtype
    den = np.maximum(np.abs(y_true), dt.type(EPSILON))
    q = (y_true - y_pred) / den
    mean, back = _mean_last(np.abs(q))
    hundred = dt.type(100)

    def vjp(g: np.ndarray) -> np.ndarray:
        return -(back(np.asarray(g, dt) * hundred) * np.sign(q)) / den

    return hundred * mean, vjp


def _msle_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    dt = y_pred.dtype
    eps, one = dt.type(EPSILON), dt.type(1)
    a = np.maximum(y_pred, eps) + one                       # (..., k)
    d = np.log(a) - np.log(np.maximum(y_true, eps) + one)
    values, back = _mean_last(np.square(d))
    passes = y_pred >= eps                                  # TF maximum: ties go to y_pred

    def vjp(g: np.ndarray) -> np.ndarray:
        d_a = (back(g) * (d * dt.type(2))) / a
        return np.where(passes, d_a, dt.type(0))

    return values, vjp


def _huber_fwd(y_true: np.ndarray, y_pred: np.ndarray, delta: float = 1.0
               ) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = _prepare(y_true, y_pred, "huber")
    dt = y_pred.dtype
    err = y_pred - y_true
    ab = np.abs(err)
    d, half = dt.type(delta), dt.type(0.5)
    quad = ab <= d
    elem = np.where(quad, half * np.square(err), d * ab - half * np.square(d))
    values, back = _mean_last(elem)

    def vjp(g: np.ndarray) -> np.ndarray:
        ge = back(g)
        return np.where(quad, (ge * half) * (err * dt.type(2)), (ge * d) * np.sign(err))

    return values, vjp


def _log_cosh_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = _prepare(y_true, y_pred, "log_cosh")
    dt = y_pred.dtype
    x = y_pred - y_true
    z = x * dt.type(-2.0)
    elem = (x + np.logaddexp(dt.type(0), z)) - dt.type(np.log(np.float32(2.0)))
    values, back = _mean_last(elem)

    def vjp(g: np.ndarray) -> np.ndarray:
        ge = back(g)
        d_sp = ge / (dt.type(1) + np.exp(-z))               # TF SoftplusGrad: g * sigmoid(z)
        return ge + d_sp * dt.type(-2.0)

    return values, vjp


def _l2_normalize(x: np.ndarray, axis: int):
    """Keras's ``normalize(x, order=2)``: ``x * min(rsqrt(sum(x^2)), 1/eps)`` and its vjp."""
    dt = x.dtype
    s = np.sum(np.square(x), axis=axis, keepdims=True)
    r = dt.type(1) / np.sqrt(s)                             # rsqrt (inf where s == 0)
    cap = dt.type(1.0 / EPSILON)
    inv = np.minimum(r, cap)
    passes = r <= cap                                       # TF minimum: ties go to r

    def vjp(d_out: np.ndarray) -> np.ndarray:
        d_inv = np.sum(d_out * x, axis=axis, keepdims=True)
        r3 = np.where(passes, r, dt.type(0)) ** 3
        d_s = np.where(passes, d_inv * dt.type(-0.5) * r3, dt.type(0))
        return d_out * inv + d_s * (x * dt.type(2))

    return x * inv, vjp


def _cosine_fwd(y_true: np.ndarray, y_pred: np.ndarray, axis: int = -1
                ) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = _prepare(y_true, y_pred, "cosine_similarity")
    if not -y_pred.ndim <= axis < y_pred.ndim:
        raise ValueError(
            f"cosine_similarity: received axis={axis} for inputs of rank {y_pred.ndim}, "
            f"expected an axis in [{-y_pred.ndim}, {y_pred.ndim})."
        )
    tn, _ = _l2_normalize(y_true, axis)
    pn, p_vjp = _l2_normalize(y_pred, axis)
    values = -np.sum(tn * pn, axis=axis)

    def vjp(g: np.ndarray) -> np.ndarray:
        return p_vjp(-np.expand_dims(np.asarray(g, y_pred.dtype), axis) * tn)

    return values, vjp


# ---------------------------------------------------------------------------- functional forms
def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(square(y_true - y_pred), axis=-1)``."""
    return _mse_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(abs(y_true - y_pred), axis=-1)``."""
    return _mae_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)``."""
    return _mape_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)))``."""
    return _msle_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> np.ndarray:
    """Per-sample Huber loss with threshold ``delta``, averaged over the last axis."""
    delta = check_number(delta, "delta", low=0.0)
    with np.errstate(all="ignore"):
        return _huber_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"), delta)[0]


def log_cosh(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(log(cosh(y_pred - y_true)), axis=-1)``."""
    with np.errstate(all="ignore"):
        return _log_cosh_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> np.ndarray:
    """Per-sample ``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``."""
    axis = check_number(axis, "axis", integer=True)
    with np.errstate(all="ignore"):
        return _cosine_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                           int(axis))[0]


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error


# ---------------------------------------------------------------------------- loss objects
class _Plain(Loss):
    """A loss with Keras's ``(reduction, name, dtype)`` signature and no other argument."""

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)


class MeanSquaredError(_Plain):
    """``mean(square(y_true - y_pred), axis=-1)``, then reduced."""

    _fn_name = "mean_squared_error"

    def _forward(self, y_true, y_pred):
        return _mse_fwd(y_true, y_pred)


class MeanAbsoluteError(_Plain):
    """``mean(abs(y_true - y_pred), axis=-1)``, then reduced."""

    _fn_name = "mean_absolute_error"

    def _forward(self, y_true, y_pred):
        return _mae_fwd(y_true, y_pred)


class MeanAbsolutePercentageError(_Plain):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)``."""

    _fn_name = "mean_absolute_percentage_error"

    def _forward(self, y_true, y_pred):
        return _mape_fwd(y_true, y_pred)


class MeanSquaredLogarithmicError(_Plain):
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)``."""

    _fn_name = "mean_squared_logarithmic_error"

    def _forward(self, y_true, y_pred):
        return _msle_fwd(y_true, y_pred)


class LogCosh(_Plain):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed as Keras does."""

    _fn_name = "log_cosh"

    def _forward(self, y_true, y_pred):
        return _log_cosh_fwd(y_true, y_pred)


class Huber(Loss):
    """Quadratic for ``|e| <= delta``, linear beyond (``e = y_pred - y_true``).

    Args:
        delta: where the loss turns from quadratic to linear (a float >= 0).

    As Keras 3.15.1, ``get_config()`` holds only ``name`` and ``reduction`` (``delta``
    is not saved, so ``from_config`` gives ``delta=1.0``).
    """

    _fn_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = check_number(delta, "delta", low=0.0)

    def _forward(self, y_true, y_pred):
        return _huber_fwd(y_true, y_pred, self.delta)


class CosineSimilarity(Loss):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for equal directions.

    Args:
        axis: the axis the similarity is computed along (default -1).

    As Keras 3.15.1, ``get_config()`` holds only ``name`` and ``reduction``.
    """

    _fn_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = int(check_number(axis, "axis", integer=True))

    def _forward(self, y_true, y_pred):
        return _cosine_fwd(y_true, y_pred, self.axis)
