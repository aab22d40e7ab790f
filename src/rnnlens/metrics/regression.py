"""Regression metrics, as Keras 3.15.1 accumulates them.

Each is the ``Mean`` over samples of the matching loss function (MSE, MAE, MAPE, MSLE,
log-cosh) except:

* ``RootMeanSquaredError``: ``sqrt(Mean((y_pred - y_true)^2))``, the mean taken over every
  element (not per row first);
* ``CosineSimilarity``: ``Mean(sum(l2_normalize(y_true) * l2_normalize(y_pred), axis))``
  (the loss's value with the opposite sign);
* ``R2Score``: per output column ``1 - SS_res / SS_tot`` from weighted running sums
  (``SS_tot = sum(w y^2) - (sum(w y))^2 / sum(w)``), averaged as ``class_aggregation``
  says, optionally adjusted for ``num_regressors``:
  ``1 - (1 - R^2)(n - 1) / (n - p - 1)`` with ``n`` the number of *elements* seen (as
  Keras counts).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rnnlens.losses.base import _to_float, check_number, squeeze_or_expand_to_same_rank
from rnnlens.losses.regression import (
    _cosine_fwd,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from rnnlens.metrics.base import Mean, Metric, _as_result, _dtype, _Wrapped


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> np.ndarray:
    """Per-sample ``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (1 = same)."""
    axis = int(check_number(axis, "axis", integer=True))
    with np.errstate(all="ignore"):
        return -_cosine_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"), axis)[0]


class MeanSquaredError(_Wrapped):
    """Mean over samples of ``mean(square(y_true - y_pred), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_Wrapped):
    """Mean over samples of ``mean(abs(y_true - y_pred), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_Wrapped):
    """Mean over samples of ``100 mean(abs((y_true - y_pred) / max(abs(y_true), eps)))``."""

    _direction = "down"

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_Wrapped):
    """Mean over samples of ``mean(square(log(p + 1) - log(t + 1)))`` (clipped at eps)."""

    _direction = "down"

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(_Wrapped):
    """Mean over samples of ``mean(log(cosh(y_pred - y_true)), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(log_cosh, name=name, dtype=dtype)


class CosineSimilarity(_Wrapped):
    """Mean over samples of the cosine similarity along ``axis`` (1 = same direction).

    As Keras 3.15.1, ``get_config()`` holds only ``name`` and ``dtype``.
    """

    _direction = "up"

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None,
                 axis: int = -1) -> None:
        axis = int(check_number(axis, "axis", integer=True))
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean of ``square(y_pred - y_true)`` over every element."""

    _direction = "down"

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        yt, yp = squeeze_or_expand_to_same_rank(_to_float(y_true, "y_true"),
                                                _to_float(y_pred, "y_pred"))
        if yt.shape != yp.shape:
            raise ValueError(f"root_mean_squared_error: received y_true.shape={yt.shape} and "
                             f"y_pred.shape={yp.shape}, expected equal shapes.")
        with np.errstate(all="ignore"):
            super().update_state(np.square(yp - yt), sample_weight=sample_weight)

    def result(self) -> float:
        return float(np.sqrt(_dtype().type(super().result())))


class R2Score(Metric):
    """The coefficient of determination over all the samples seen, per output column.

    Args:
        class_aggregation: ``"uniform_average"`` (mean over columns, default),
            ``"variance_weighted_average"`` (weighted by each column's variance) or
            ``None`` (one score per column).
        num_regressors: the number of independent variables, for the adjusted R^2
            (0: plain R^2).
    """

    _direction = "up"
    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation: Any = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(
                f"Received class_aggregation={class_aggregation!r}, expected one of "
                f"{self._AGGREGATIONS}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = check_number(num_regressors, "num_regressors", low=0,
                                           integer=True)
        self.reset_state()

    def reset_state(self) -> None:
        self._sums: dict[str, np.ndarray] | None = None
        self.num_samples = _dtype().type(0)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        dt = _dtype()
        yt, yp = squeeze_or_expand_to_same_rank(_to_float(y_true, "y_true"),
                                                _to_float(y_pred, "y_pred"))
        if yt.ndim != 2 or yp.shape != yt.shape:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received "
                f"input shapes: y_pred.shape={yp.shape} and y_true.shape={yt.shape}.")
        if self._sums is not None and self._sums["sum"].shape[0] != yp.shape[1]:
            raise ValueError(f"R2Score was built for {self._sums['sum'].shape[0]} outputs and "
                             f"received y_pred.shape={yp.shape}.")
        sw = np.asarray(1, dt) if sample_weight is None else _to_float(
            sample_weight, "sample_weight")
        if sw.ndim == 1:
            sw = sw[:, None]
        try:
            sw = np.broadcast_to(sw, yt.shape)
        except ValueError:
            raise ValueError(f"Received sample_weight of shape {np.shape(sample_weight)}, "
                             f"expected one that broadcasts to {yt.shape}.") from None
        if self._sums is None:
            self._sums = {key: np.zeros(yp.shape[1], dt)
                          for key in ("squared_sum", "sum", "residual", "count")}
        s, wy = self._sums, yt * sw
        with np.errstate(all="ignore"):
            s["sum"] = s["sum"] + np.sum(wy, axis=0)
            s["squared_sum"] = s["squared_sum"] + np.sum(yt * wy, axis=0)
            s["residual"] = s["residual"] + np.sum((yt - yp) ** 2 * sw, axis=0)
        s["count"] = s["count"] + np.sum(sw, axis=0)
        self.num_samples = dt.type(self.num_samples + dt.type(yt.size))

    def result(self) -> Any:
        if self._sums is None:
            raise ValueError("R2Score.result() before any update_state: no data seen yet.")
        s = self._sums
        with np.errstate(all="ignore"):
            mean = s["sum"] / s["count"]
            total = s["squared_sum"] - s["sum"] * mean
            raw = 1 - s["residual"] / total
            raw = np.where(np.isinf(raw), 0.0, raw).astype(_dtype())
            if self.class_aggregation == "uniform_average":
                score = np.mean(raw)
            elif self.class_aggregation == "variance_weighted_average":
                score = np.sum(total * raw) / np.sum(total)
            else:
                score = raw
            score = self._adjust(score)
        return _as_result(score)

    def _adjust(self, score: Any) -> Any:
        p, n = self.num_regressors, self.num_samples
        if p == 0:
            return score
        if p > n - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 "
                          "score. Falling back to standard R2 score.", stacklevel=3)
        elif p == n - 1:
            warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard "
                          "R2 score.", stacklevel=3)
        else:
            n32, p32 = np.float32(n), np.float32(p)
            score = 1.0 - ((1.0 - score) * (n32 - 1.0)) / ((n32 - p32) - 1.0)
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
