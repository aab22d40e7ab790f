"""Stateful metrics as Keras 3.15.1 accumulates them over an epoch, in NumPy.

Every metric has ``update_state(...)``, ``result() -> float`` and ``reset_state()``.
They follow Keras's ``Mean``: each ``update_state`` turns its values into one number per
sample (the mean over every axis after the first, e.g. over the timesteps of a
``(B, T)`` array), adds their (weighted) sum to ``total`` and the number of samples (or
the sum of the sample weights) to ``count``; ``result()`` is ``total / count`` (0 when
nothing was seen). Like Keras, ``total`` and ``count`` are float32 accumulators.

So an epoch's accuracy for sequence outputs ``(B, T, k)`` is the mean over samples of
each sample's mean over timesteps, which equals the mean over all ``(sample, step)``
pairs as long as every batch has the same ``T``.

``get(identifier, y_true_shape, y_pred_shape, loss=None)`` resolves names the way
Keras's ``compile`` does, including ``"accuracy"``/``"acc"`` (see :func:`get`).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from rnnlens.backend import FLOATX
from rnnlens.losses import (
    _to_float,
    as_numeric,
    mean_absolute_error,
    mean_squared_error,
    squeeze_or_expand_to_same_rank,
)


def _dtype() -> np.dtype:
    return FLOATX.dtype


# ---------------------------------------------------------------------------- metric functions
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
    return np.equal(np.argmax(yt, axis=-1), np.argmax(yp, axis=-1)).astype(_dtype())


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1.0 where ``y_true == argmax(y_pred)`` (integer labels, optional trailing axis of 1)."""
    yp = _to_float(y_pred, "y_pred")
    yt = as_numeric(y_true, "y_true").astype(yp.dtype)
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


# ---------------------------------------------------------------------------- metric objects
class Metric:
    """Base class: ``update_state``, ``result``, ``reset_state``, ``name``."""

    #: "up" if larger is better, "down" if smaller is better, None if unknown
    #: (EarlyStopping/ModelCheckpoint use it in mode="auto").
    _direction: str | None = None

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__.lower()

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset_state(self) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} result={self.result():.6g}>"


def _reduce_to_samplewise(
    values: np.ndarray, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray | None]:
    """Keras's ``reduce_to_samplewise_values`` with ``reduce_fn=mean`` (no masks)."""
    values = values.astype(_dtype(), copy=False)
    sw = None
    if sample_weight is not None:
        sw = as_numeric(sample_weight, "sample_weight").astype(_dtype())
        values, sw = squeeze_or_expand_to_same_rank(values, sw)
        if values.ndim > sw.ndim:
            values = np.mean(values, axis=tuple(range(sw.ndim, values.ndim)))
        try:
            sw = np.broadcast_to(sw, values.shape)
        except ValueError:
            raise ValueError(
                f"Received sample_weight of shape {np.shape(sample_weight)}, expected a shape "
                f"that broadcasts to the metric values of shape {values.shape}."
            ) from None
        values = values * sw
        if sw.ndim > 1:
            sw = np.mean(sw, axis=tuple(range(1, sw.ndim)))
    if values.ndim > 1:
        values = np.mean(values, axis=tuple(range(1, values.ndim)))
    return values, sw


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``.

    Values of shape ``(B, ...)`` count as ``B`` samples, each the mean of its row; a
    scalar counts as one sample; ``sample_weight`` (per sample or per element) weights
    them, and the count becomes the sum of the weights.
    """

    def __init__(self, name: str = "mean") -> None:
        super().__init__(name)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = _dtype().type(0)
        self.count = _dtype().type(0)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        dt = _dtype()
        vals, sw = _reduce_to_samplewise(as_numeric(values, "values"), sample_weight)
        self.total = dt.type(self.total + np.sum(vals, dtype=dt))
        if sw is not None:
            n = np.sum(sw, dtype=dt)
        elif vals.ndim >= 1:
            n = vals.shape[0]
        else:
            n = 1
        self.count = dt.type(self.count + dt.type(n))

    def result(self) -> float:
        if self.count == 0:
            return 0.0  # divide_no_nan
        return float(_dtype().type(self.total / self.count))


class MeanMetricWrapper(Mean):
    """``Mean`` of ``fn(y_true, y_pred, **kwargs)``.

    ``update_state(y_true, y_pred, sample_weight=None)``."""

    def __init__(self, fn: Callable[..., np.ndarray], name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"))
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)


class MeanSquaredError(MeanMetricWrapper):
    """Mean over samples of ``mean(square(y_true - y_pred), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "mean_squared_error") -> None:
        super().__init__(mean_squared_error, name=name)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean over samples of ``mean(abs(y_true - y_pred), axis=-1)``."""

    _direction = "down"

    def __init__(self, name: str = "mean_absolute_error") -> None:
        super().__init__(mean_absolute_error, name=name)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``(y_pred > threshold)`` equals ``y_true``."""

    _direction = "up"

    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise TypeError(f"Received threshold={threshold!r}, expected a float.")
        super().__init__(binary_accuracy, name=name, threshold=threshold)
        self.threshold = threshold

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)`` (one-hot labels)."""

    _direction = "up"

    def __init__(self, name: str = "categorical_accuracy") -> None:
        super().__init__(categorical_accuracy, name=name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals the integer label ``y_true``."""

    _direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy") -> None:
        super().__init__(sparse_categorical_accuracy, name=name)


# ---------------------------------------------------------------------------- get
_CLASSES: dict[str, type[Metric]] = {
    "Mean": Mean, "MeanSquaredError": MeanSquaredError, "MeanAbsoluteError": MeanAbsoluteError,
    "BinaryAccuracy": BinaryAccuracy, "CategoricalAccuracy": CategoricalAccuracy,
    "SparseCategoricalAccuracy": SparseCategoricalAccuracy,
}
_NAMES: dict[str, type[Metric]] = {
    "mean": Mean,
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
}
_FUNCTIONS: dict[Any, type[Metric]] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    binary_accuracy: BinaryAccuracy, categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
}


def _shape(s: Any, name: str) -> tuple:
    if hasattr(s, "shape") and not isinstance(s, tuple):
        s = s.shape
    try:
        return tuple(s)
    except TypeError:
        raise TypeError(f"Received {name}={s!r}, expected a shape tuple or an array.") from None


def is_binary_or_sparse_categorical(y_true_shape: Any, y_pred_shape: Any) -> tuple[bool, bool]:
    """Keras ``compile_utils.is_binary_or_sparse_categorical`` on shapes (or arrays)."""
    ts, ps = _shape(y_true_shape, "y_true_shape"), _shape(y_pred_shape, "y_pred_shape")
    if len(ts) == 0 or len(ps) == 0:
        raise ValueError(
            f"Received y_true_shape={ts} and y_pred_shape={ps}, expected rank >= 1 shapes."
        )
    is_binary = ps[-1] == 1
    is_sparse = len(ts) < len(ps) or (ts[-1] == 1 and ps[-1] > 1)
    return is_binary, is_sparse


def get(identifier: Any, y_true_shape: Any = None, y_pred_shape: Any = None,
        loss: Any = None) -> Metric:
    """A metric object as Keras 3's ``compile(metrics=[...])`` builds it.

    ``"accuracy"``/``"acc"`` (any case) -> chosen from the shapes, exactly as
    ``keras/src/trainers/compile_utils.py`` does: ``BinaryAccuracy`` if ``y_pred``'s last
    dim is 1; else ``SparseCategoricalAccuracy`` if ``y_true`` has fewer dims than
    ``y_pred`` or a last dim of 1 (while ``y_pred``'s is > 1); else ``CategoricalAccuracy``.
    The metric is named by the string given (``"acc"`` logs as ``acc``). ``loss`` is
    accepted for compatibility but, as in Keras 3 (unlike tf.keras 2), not consulted.

    Other names: ``"mse"``, ``"mean_squared_error"``, ``"mae"``, ``"mean_absolute_error"``,
    ``"binary_accuracy"``, ``"categorical_accuracy"``, ``"sparse_categorical_accuracy"``,
    ``"mean"`` and the class names; a string identifier becomes the metric's name.
    A :class:`Metric` instance is returned as is, a class is instantiated, one of this
    module's metric functions is wrapped.
    """
    del loss  # Keras 3 resolves "accuracy" from the shapes only.
    if identifier is None:
        raise ValueError("Received metric=None, expected a metric name or object.")
    if isinstance(identifier, Metric):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            if y_true_shape is None or y_pred_shape is None:
                raise ValueError(
                    f"Received metric={identifier!r} without shapes, expected y_true_shape "
                    "and y_pred_shape to choose between binary, sparse and categorical accuracy."
                )
            is_binary, is_sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
            cls: type[Metric] = (BinaryAccuracy if is_binary else
                                 SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy)
        elif identifier in _CLASSES:
            cls = _CLASSES[identifier]
        elif identifier in _NAMES:
            cls = _NAMES[identifier]
        else:
            raise ValueError(
                f"Received an unknown metric identifier: {identifier!r}, expected 'accuracy', "
                f"'acc' or one of {sorted(set(_NAMES) | set(_CLASSES))}."
            )
        return cls(name=identifier)
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier](name=identifier.__name__)
    raise TypeError(
        f"Received metric={identifier!r} of type {type(identifier).__name__}, expected a "
        "metric name or an rnnlens.metrics.Metric."
    )


__all__ = [
    "Metric", "Mean", "MeanMetricWrapper", "MeanSquaredError", "MeanAbsoluteError",
    "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "is_binary_or_sparse_categorical", "get",
]
