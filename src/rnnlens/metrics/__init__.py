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

The package: ``base`` (``Metric``, ``Mean``, ``Sum``, ``MeanMetricWrapper``),
``accuracy`` (accuracies, top-k), ``regression`` (MSE, MAE, MAPE, MSLE, RMSE,
LogCoshError, CosineSimilarity, R2Score), ``probabilistic`` (hinge, KL divergence,
Poisson and crossentropy means), ``confusion`` (TP/TN/FP/FN counts, Precision, Recall)
and ``auc``. Every metric has Keras's ``get_config`` / ``from_config``. A metric with
several thresholds returns an array from ``result()``, as Keras; every other one a float.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from rnnlens import losses as _losses
from rnnlens.losses import (  # the loss functions keras.metrics exports too
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from rnnlens.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    in_top_k,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from rnnlens.metrics.auc import AUC
from rnnlens.metrics.base import (
    Mean,
    MeanMetricWrapper,
    Metric,
    Sum,
    _reduce_to_samplewise,
    reduce_to_samplewise,
    to_snake_case,
)
from rnnlens.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
    update_confusion_matrix,
)
from rnnlens.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from rnnlens.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
)

# ---------------------------------------------------------------------------- get
_CLASS_LIST: tuple[type[Metric], ...] = (
    Mean, Sum, MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError,
    R2Score, AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives,
    TruePositives, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Accuracy,
    BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
)
_CLASSES: dict[str, type[Metric]] = {c.__name__: c for c in _CLASS_LIST}
#: Keras's ``metrics.ALL_OBJECTS_DICT`` for these classes: class names, their snake-case
#: names and the short aliases.
_NAMES: dict[str, type[Metric]] = {
    **_CLASSES, **{to_snake_case(c.__name__): c for c in _CLASS_LIST},
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
}
#: metric functions with a metric class computing the same thing with default arguments.
_FUNCTIONS: dict[Any, type[Metric]] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    hinge: Hinge, squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge,
    kl_divergence: KLDivergence, poisson: Poisson,
    binary_accuracy: BinaryAccuracy, categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy, accuracy: Accuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
}
#: every function a ``MeanMetricWrapper`` config may name.
_ALL_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{name: getattr(_losses, name) for name in _losses.__all__
       if inspect.isfunction(getattr(_losses, name)) and name not in ("get", "apply_mask",
       "as_numeric", "squeeze_or_expand_to_same_rank", "standardize_reduction")},
    **{fn.__name__: fn for fn in _FUNCTIONS},
}
_ALL_FUNCTIONS["cosine_similarity"] = cosine_similarity   # the metric's sign, as keras.metrics


def function_by_name(name: str) -> Callable[..., Any]:
    """The metric function called ``name`` (for ``MeanMetricWrapper.from_config``)."""
    if name not in _ALL_FUNCTIONS:
        raise ValueError(f"Received fn={name!r}, expected one of {sorted(_ALL_FUNCTIONS)}.")
    return _ALL_FUNCTIONS[name]


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


def _accuracy_for(identifier: str, y_true_shape: Any, y_pred_shape: Any) -> Metric:
    if y_true_shape is None or y_pred_shape is None:
        raise ValueError(
            f"Received metric={identifier!r} without shapes, expected y_true_shape "
            "and y_pred_shape to choose between binary, sparse and categorical accuracy."
        )
    is_binary, is_sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
    cls: type[Metric] = (BinaryAccuracy if is_binary else
                         SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy)
    return cls(name=identifier)


def get(identifier: Any, y_true_shape: Any = None, y_pred_shape: Any = None,
        loss: Any = None) -> Metric:
    """A metric object as Keras 3's ``compile(metrics=[...])`` builds it.

    ``"accuracy"``/``"acc"`` (any case) -> chosen from the shapes, exactly as
    ``keras/src/trainers/compile_utils.py`` does: ``BinaryAccuracy`` if ``y_pred``'s last
    dim is 1; else ``SparseCategoricalAccuracy`` if ``y_true`` has fewer dims than
    ``y_pred`` or a last dim of 1 (while ``y_pred``'s is > 1); else ``CategoricalAccuracy``.
    The metric is named by the string given (``"acc"`` logs as ``acc``). ``loss`` is
    accepted for compatibility but, as in Keras 3 (unlike tf.keras 2), not consulted.

    Other strings: what ``keras.metrics.get`` knows for these metrics, i.e. the class
    names (``"AUC"``, ``"Precision"``, ...), their snake-case names (``"auc"``,
    ``"precision"``, ``"top_k_categorical_accuracy"``, ``"root_mean_squared_error"``,
    ``"log_cosh_error"``, ``"r2_score"``, ``"sum"``, ...) and ``"mse"``, ``"mae"``,
    ``"mape"``, ``"msle"``, ``"bce"`` (and their upper-case forms); each gives the class with
    default arguments, named by the string. A :class:`Metric` instance is returned as is, a
    class is instantiated, ``{"class_name": ..., "config": ...}`` goes through
    ``from_config``, and a function ``fn(y_true, y_pred)`` is wrapped in a
    :class:`MeanMetricWrapper` named ``fn.__name__``.
    """
    del loss  # Keras 3 resolves "accuracy" from the shapes only.
    if identifier is None:
        raise ValueError("Received metric=None, expected a metric name or object.")
    if isinstance(identifier, Metric):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))  # type: ignore[arg-type]
        if cls is None:
            raise ValueError(
                f"Received a metric config with class_name={identifier.get('class_name')!r}, "
                f"expected one of {sorted(_CLASSES)}.")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            return _accuracy_for(identifier, y_true_shape, y_pred_shape)
        if identifier not in _NAMES:
            raise ValueError(
                f"Received an unknown metric identifier: {identifier!r}, expected 'accuracy', "
                f"'acc' or one of {sorted(_NAMES)}.")
        metric = _NAMES[identifier]()
        metric.name = identifier
        return metric
    if callable(identifier) and not inspect.isclass(identifier):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier](name=name)
        return MeanMetricWrapper(identifier, name=name)
    raise TypeError(
        f"Received metric={identifier!r} of type {type(identifier).__name__}, expected a "
        "metric name, a function (y_true, y_pred) or an rnnlens.metrics.Metric."
    )


__all__ = ["serialize", "deserialize",
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "RootMeanSquaredError",
    "LogCoshError", "CosineSimilarity", "R2Score", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Accuracy", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "TruePositives", "TrueNegatives", "FalsePositives",
    "FalseNegatives", "Precision", "Recall", "AUC",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "cosine_similarity",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence",
    "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy",
    "squared_hinge", "in_top_k", "is_binary_or_sparse_categorical", "get", "function_by_name",
    "reduce_to_samplewise", "update_confusion_matrix", "to_snake_case",
]

_PRIVATE = (_reduce_to_samplewise,)


def serialize(obj: Any) -> Any:
    """Keras's serialized form of a built-in metric (``keras.metrics.serialize``)."""
    from rnnlens.saving import serialize_keras_object

    return serialize_keras_object(obj)


def deserialize(config: Any, custom_objects: Any = None) -> Any:
    """A built-in metric from ``serialize``'s dict (nothing is imported)."""
    from rnnlens.saving import deserialize_keras_object

    if isinstance(config, dict) and "module" in config:
        return deserialize_keras_object(config, custom_objects=custom_objects)
    return get(config)
