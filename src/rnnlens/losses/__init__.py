"""Losses as Keras 3.15.1 (TensorFlow backend) computes them, with hand-written gradients.

Every loss object has

* ``loss(y_true, y_pred, sample_weight=None)``: the reduced loss as a Python float, exactly
  Keras's value (same clipping to ``[1e-7, 1 - 1e-7]``, same renormalisation, same
  reduction). With ``reduction=None``/``"none"`` it returns the per-sample array instead.
* ``loss.gradient(y_true, y_pred, sample_weight=None)``: ``dloss/dy_pred``, an array of
  ``y_pred``'s shape and dtype, equal to what ``tf.GradientTape`` gives for the same Keras
  loss: zero where Keras clips a probability, TensorFlow's ``softmax - labels`` for the
  fused logits kernels, and so on. With ``reduction=None`` it is the gradient of the sum
  of the per-sample losses (what a tape gives for a non-scalar target).
* ``loss.value_and_gradient(...)``: both at once; ``loss.call(y_true, y_pred)``: the
  per-sample losses before reduction.

What Keras does, and rnnlens with it:

* The per-sample loss reduces the last axis: ``(B, k) -> (B,)``, ``(B, T, k) -> (B, T)``.
  Before that, ``y_true`` and ``y_pred`` are brought to the same rank by squeezing or
  adding one trailing axis of size 1 (``(B,)`` against ``(B, 1)`` -> both ``(B, 1)``;
  ``(B, T)`` against ``(B, T, 1)`` -> both ``(B, T)``, so then the loss averages over T).
* ``"sum_over_batch_size"`` (default) and ``"mean"``: sum of the (weighted) per-sample
  losses divided by their *number of elements* (``B*T`` for sequence outputs), never by
  the sum of the weights; ``"sum"``: the sum; ``"mean_with_sample_weight"``: the sum divided
  by the sum of the weights; ``None``/``"none"``: no reduction. A 0-d per-sample array
  (``y_pred`` of rank 1) is returned as it is, for every reduction.
* ``sample_weight`` multiplies the per-sample losses with NumPy (= TF) broadcasting after
  the same rank fix. For sequence losses ``(B, T)`` pass ``(B, 1)`` or ``(B, T)`` weights:
  ``(B,)`` lines up with T, an error in Keras and here, and a silent mix-up when
  ``B == T`` (in Keras too). ``"mean_with_sample_weight"`` divides by the sum of the
  weights as given (a ``(B, 1)`` weight counts once per sequence, not once per step).
* ``binary_crossentropy`` on probabilities clips to ``[1e-7, 1 - 1e-7]`` then takes
  ``-(t log p + (1 - t) log(1 - p))``; ``label_smoothing`` maps ``t -> t (1 - s) + s / 2``.
* ``categorical_crossentropy`` on probabilities first renormalises ``p / sum(p)`` along
  the last axis, then clips, then ``-sum(t log p)``.
* ``sparse_categorical_crossentropy`` on probabilities clips, takes the log and feeds it
  to TF's fused softmax-crossentropy: the loss is ``-log(c_y / sum(c))`` with
  ``c = clip(p)``, a renormalisation *after* clipping. Labels are cast to int64 (so 2.7
  counts as class 2); a label outside ``[0, k)`` raises ``ValueError``.
* ``from_logits=True`` uses TF's fused kernels, whose gradient is ``softmax(z) - t`` (even
  when the rows of ``t`` do not sum to 1) and ``sigmoid(z) - t`` for the binary case.

One documented difference: Keras 3's TF ``softmax``/``sigmoid`` tag their output with the
logits (``_keras_logits``) and crossentropy then silently computes from those logits.
rnnlens only sees the probabilities, so it computes from them; the two agree except where
a probability falls below 1e-7 (or above 1 - 1e-7), where Keras's value keeps growing and
its gradient stays non-zero while the clipped one does not.

All arithmetic is in ``rnnlens.backend.floatx()`` (float32 by default), like Keras.

The package: ``base`` (input checks, rank fix, reduction, masks, the ``Loss`` class),
``regression`` (MSE, MAE, MAPE, MSLE, Huber, LogCosh, CosineSimilarity), ``crossentropy``
(binary, categorical, sparse), ``probabilistic`` (KLDivergence, Poisson, the focal
crossentropies) and ``hinge`` (Hinge, SquaredHinge, CategoricalHinge, Dice, Tversky).
``ctc`` (``CTC``, connectionist temporal classification, through ``rnnlens.ops.ctc_loss``)
and ``custom`` (``LossFunctionWrapper``: a user's function of ``(y_true, y_pred)`` written
with ``rnnlens.ops``, and ``Loss`` subclasses with their own ``call``, differentiated by
``rnnlens.autodiff``). Each of those modules states its formulas. ``Circle`` and
``CategoricalGeneralizedCrossEntropy`` are not implemented.
"""

from __future__ import annotations

import inspect
from typing import Any

from rnnlens.losses.base import (
    EPSILON,
    Loss,
    Vjp,
    _as_result,
    _check_same_shape,
    _check_smoothing,
    _clip_probs,
    _dtype,
    _reduce,
    _to_float,
    _unbroadcast,
    apply_mask,
    as_numeric,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)
from rnnlens.losses.crossentropy import (
    BCE,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    _bce_fwd,
    _cce_fwd,
    _scce_fwd,
    _sparse_labels,
    bce,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from rnnlens.losses.ctc import CTC, ctc
from rnnlens.losses.custom import LossFunctionWrapper
from rnnlens.losses.hinge import (
    CategoricalHinge,
    Dice,
    Hinge,
    SquaredHinge,
    Tversky,
    categorical_hinge,
    dice,
    hinge,
    squared_hinge,
    tversky,
)
from rnnlens.losses.probabilistic import (
    KLD,
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    KLDivergence,
    Poisson,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    kld,
    poisson,
)
from rnnlens.losses.regression import (
    MAE,
    MAPE,
    MSE,
    MSLE,
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    _mae_fwd,
    _mse_fwd,
    cosine_similarity,
    huber,
    log_cosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
)

# ---------------------------------------------------------------------------- get
_CLASSES: dict[str, type[Loss]] = {
    c.__name__: c for c in (
        MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh,
        BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
        KLDivergence, Poisson, BinaryFocalCrossentropy, CategoricalFocalCrossentropy,
        Hinge, SquaredHinge, CategoricalHinge, Dice, Tversky, CTC,
    )
}
#: Keras's function names (and the aliases ``keras.losses.get`` knows) -> the class that
#: computes the same function with default arguments.
_FN_OBJECTS: dict[Any, type[Loss]] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    cosine_similarity: CosineSimilarity, huber: Huber, log_cosh: LogCosh,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence, poisson: Poisson,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    hinge: Hinge, squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge,
    dice: Dice, tversky: Tversky, ctc: CTC,
}
_FUNCTIONS: dict[str, type[Loss]] = {
    **{fn.__name__: cls for fn, cls in _FN_OBJECTS.items()},
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "kld": KLDivergence, "KLD": KLDivergence,
}
#: tf.keras 2 names that Keras 3.15.1's ``losses.get`` no longer knows.
_LEGACY = {"logcosh": "log_cosh", "kullback_leibler_divergence": "kl_divergence",
           "huber_loss": "huber"}


def _from_shapes(identifier: str, y_true_shape: Any, y_pred_shape: Any) -> Loss:
    """``"crossentropy"`` / ``"ce"``: binary, sparse or categorical from the shapes."""
    if y_true_shape is None or y_pred_shape is None:
        raise ValueError(
            f"Received loss={identifier!r} without shapes, expected y_true_shape and "
            "y_pred_shape to choose between binary, sparse and categorical."
        )
    from rnnlens.metrics import is_binary_or_sparse_categorical  # noqa: PLC0415

    is_binary, is_sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
    cls = (BinaryCrossentropy if is_binary else
           SparseCategoricalCrossentropy if is_sparse else CategoricalCrossentropy)
    return cls(name=identifier)


def _from_string(identifier: str, y_true_shape: Any, y_pred_shape: Any) -> Loss:
    if identifier.lower() in ("crossentropy", "ce"):
        return _from_shapes(identifier, y_true_shape, y_pred_shape)
    if identifier in _CLASSES:
        return _CLASSES[identifier]()
    if identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier](name=identifier)
    hint = (f" (Keras 3 calls it {_LEGACY[identifier]!r})" if identifier in _LEGACY else "")
    raise ValueError(
        f"Received an unknown loss identifier: {identifier!r}{hint}, expected one of "
        f"{sorted(set(_FUNCTIONS) | set(_CLASSES))}."
    )


def get(identifier: Any, y_true_shape: Any = None, y_pred_shape: Any = None) -> Loss | None:
    """A loss object from a Keras loss identifier, as ``keras.losses.get`` + ``compile``.

    * ``None`` -> ``None``; a :class:`Loss` instance -> itself; a Loss subclass -> an instance.
    * Function names and aliases (``"mse"``, ``"mae"``, ``"mape"``, ``"msle"``, ``"bce"``,
      ``"kld"``/``"KLD"``, ``"huber"``, ``"log_cosh"``, ``"kl_divergence"``, ``"poisson"``,
      ``"cosine_similarity"``, ``"hinge"``, ``"squared_hinge"``, ``"categorical_hinge"``,
      ``"dice"``, ``"tversky"``, the crossentropies and focal crossentropies) and the
      functions of this package -> the matching object with default arguments, named by
      the string (as ``compile`` names its ``LossFunctionWrapper``).
    * Class names (``"MeanSquaredError"``, ``"Huber"``, ...) -> an instance with default
      arguments and the class's default name.
    * ``{"class_name": ..., "config": {...}}`` -> ``cls.from_config(config)``.
    * ``"crossentropy"``/``"ce"`` -> picked from the shapes as Keras's ``compile`` does
      (binary if ``y_pred``'s last dim is 1, sparse if ``y_true`` has lower rank or a last
      dim of 1, else categorical); needs ``y_true_shape`` and ``y_pred_shape``.

    Names Keras 3.15.1 does not resolve (``"logcosh"``, ``"huber_loss"``, ...) raise
    ``ValueError`` here too.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))  # type: ignore[arg-type]
        if cls is None:
            raise ValueError(
                f"Received a loss config with class_name={identifier.get('class_name')!r}, "
                f"expected one of {sorted(_CLASSES)}."
            )
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, str):
        return _from_string(identifier, y_true_shape, y_pred_shape)
    if callable(identifier) and identifier in _FN_OBJECTS:
        return _FN_OBJECTS[identifier](name=identifier.__name__)
    if callable(identifier) and not inspect.isclass(identifier):
        # A user's function of (y_true, y_pred) written with rnnlens.ops: its gradient
        # comes from the tape (as Keras's compile wraps it in a LossFunctionWrapper).
        name = getattr(identifier, "__name__", None) or type(identifier).__name__
        return LossFunctionWrapper(identifier, name=name)
    raise TypeError(
        f"Received loss={identifier!r} of type {type(identifier).__name__}, expected a loss "
        "name, an rnnlens.losses.Loss instance or class, a function (y_true, y_pred) or "
        "None."
    )


__all__ = ["serialize", "deserialize",
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy",
    "Hinge", "SquaredHinge", "CategoricalHinge", "Dice", "Tversky", "CTC", "ctc",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "kl_divergence", "poisson", "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "hinge", "squared_hinge", "categorical_hinge", "dice", "tversky",
    "mse", "mae", "mape", "msle", "MSE", "MAE", "MAPE", "MSLE", "bce", "BCE", "kld", "KLD",
    "LossFunctionWrapper", "get", "apply_mask", "as_numeric", "squeeze_or_expand_to_same_rank",
    "standardize_reduction", "EPSILON", "Vjp",
]

# Helpers other rnnlens modules (and older code) import from here.
_PRIVATE = (_as_result, _check_same_shape, _check_smoothing, _clip_probs, _dtype, _reduce,
            _to_float, _unbroadcast, _bce_fwd, _cce_fwd, _scce_fwd, _sparse_labels,
            _mae_fwd, _mse_fwd)


def serialize(obj: Any) -> Any:
    """Keras's serialized form of a built-in losse (``keras.losses.serialize``)."""
    from rnnlens.saving import serialize_keras_object

    return serialize_keras_object(obj)


def deserialize(config: Any, custom_objects: Any = None) -> Any:
    """A built-in losse from ``serialize``'s dict (nothing is imported)."""
    from rnnlens.saving import deserialize_keras_object

    if isinstance(config, dict) and "module" in config:
        return deserialize_keras_object(config, custom_objects=custom_objects)
    return get(config)
