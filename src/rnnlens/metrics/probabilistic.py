"""Hinge, KL divergence, Poisson and crossentropy metrics, as Keras 3.15.1 has them.

Each is the ``Mean`` over samples of the loss function of the same name (see
``rnnlens.losses``), called directly, without the rank fix a loss object applies
(as Keras's ``MeanMetricWrapper`` does), so ``y_true`` and ``y_pred`` need equal shapes.
"""

from __future__ import annotations

from typing import Any

from rnnlens.losses.base import _check_smoothing, check_last_axis
from rnnlens.losses.crossentropy import (
    _check_ignore_class,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from rnnlens.losses.hinge import categorical_hinge, hinge, squared_hinge
from rnnlens.losses.probabilistic import kl_divergence, poisson
from rnnlens.metrics.base import Metric, _Wrapped


class Hinge(_Wrapped):
    """Mean over samples of ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(_Wrapped):
    """Mean over samples of ``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "squared_hinge", dtype: Any = None) -> None:
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_Wrapped):
    """Mean over samples of the categorical hinge loss."""

    _direction = "down"

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None) -> None:
        super().__init__(categorical_hinge, name=name, dtype=dtype)


class KLDivergence(_Wrapped):
    """Mean over samples of ``sum(t log(t / p), axis=-1)`` (clipped to ``[eps, 1]``)."""

    _direction = "down"

    def __init__(self, name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(_Wrapped):
    """Mean over samples of ``mean(y_pred - y_true log(y_pred + eps), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(poisson, name=name, dtype=dtype)


class BinaryCrossentropy(_Wrapped):
    """Mean over samples of the binary crossentropy (``from_logits``, ``label_smoothing``)."""

    _direction = "down"

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0) -> None:
        _check_smoothing(label_smoothing)
        super().__init__(binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self) -> dict[str, Any]:
        return {**Metric.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_Wrapped):
    """Mean over samples of the categorical crossentropy (one-hot or soft ``y_true``)."""

    _direction = "down"

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0,
                 axis: int = -1) -> None:
        _check_smoothing(label_smoothing)
        super().__init__(categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=check_last_axis(axis))
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {**Metric.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(_Wrapped):
    """Mean over samples of the crossentropy with integer labels."""

    _direction = "down"

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, ignore_class: Any = None, axis: int = -1) -> None:
        _check_ignore_class(ignore_class)
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=check_last_axis(axis))
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {**Metric.get_config(self), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}
