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
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable

import numpy as np

from rnnlens.backend import FLOATX

EPSILON = 1e-7  # keras.backend.epsilon()

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")

Vjp = Callable[[np.ndarray], np.ndarray]


# ---------------------------------------------------------------------------- helpers
def _dtype() -> np.dtype:
    return FLOATX.dtype


def _to_float(x: Any, name: str) -> np.ndarray:
    """``x`` as an array of the compute dtype; TypeError for non-numeric input."""
    return as_numeric(x, name).astype(_dtype(), copy=False)


def as_numeric(x: Any, name: str) -> np.ndarray:
    """``x`` as a bool / int / float array (dtype kept); TypeError otherwise."""
    if x is None:
        raise TypeError(f"Received {name}=None, expected an array of numbers.")
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"Received {name} of dtype {arr.dtype}, expected an array of numbers "
            "(bool, int or float)."
        )
    return arr


def squeeze_or_expand_to_same_rank(
    x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Keras's ``squeeze_or_expand_to_same_rank``: fix a rank difference of exactly one
    trailing axis of size 1 (squeeze it, or, when the other side is rank 1, add one)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = np.expand_dims(x2, -1)
        else:
            x1 = np.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = np.expand_dims(x1, -1)
        else:
            x2 = np.squeeze(x2, -1)
    return x1, x2


def _check_same_shape(y_true: np.ndarray, y_pred: np.ndarray, fn: str) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{fn}: received y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}, "
            "expected equal shapes (or shapes that differ by one trailing axis of size 1)."
        )
    if y_pred.ndim < 1:
        raise ValueError(
            f"{fn}: received 0-d y_pred, expected at least rank 1 (the last axis is reduced)."
        )


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` down to ``shape`` (the gradient of a broadcast)."""
    if g.shape == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _clip_probs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``clip(p, eps, 1 - eps)`` and the mask where TF's clip passes the gradient."""
    dt = p.dtype
    lo, hi = dt.type(EPSILON), dt.type(1.0 - EPSILON)
    # tf.clip_by_value is maximum(minimum(p, hi), lo): the gradient flows where lo <= p <= hi.
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


# ---------------------------------------------------------------------------- per-sample losses
def _mse_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "mean_squared_error")
    diff = y_true - y_pred
    values = np.mean(np.square(diff), axis=-1)
    k = y_pred.dtype.type(y_pred.shape[-1])

    def vjp(g: np.ndarray) -> np.ndarray:
        gm = (np.asarray(g, y_pred.dtype) / k)[..., None]
        return -(gm * (diff * y_pred.dtype.type(2)))

    return values, vjp


def _mae_fwd(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "mean_absolute_error")
    diff = y_true - y_pred
    values = np.mean(np.abs(diff), axis=-1)
    k = y_pred.dtype.type(y_pred.shape[-1])

    def vjp(g: np.ndarray) -> np.ndarray:
        gm = (np.asarray(g, y_pred.dtype) / k)[..., None]
        return -(gm * np.sign(diff))

    return values, vjp


def _bce_fwd(
    y_true: np.ndarray, y_pred: np.ndarray, from_logits: bool = False,
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, Vjp]:
    dt = y_pred.dtype
    if label_smoothing:
        y_true = y_true * dt.type(1.0 - label_smoothing) + dt.type(0.5 * label_smoothing)
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    one = dt.type(1)
    if from_logits:
        # tf.nn.sigmoid_cross_entropy_with_logits, and autodiff through its ops.
        x = y_pred
        cond = x >= 0
        relu = np.where(cond, x, dt.type(0))
        nabs = np.where(cond, -x, x)
        e = np.exp(nabs)
        elem = (relu - x * y_true) + np.log1p(e)

        def elem_vjp(ge: np.ndarray) -> np.ndarray:
            via_exp = (ge * (one / (one + e))) * e
            return ge * cond.astype(dt) - ge * y_true + np.where(cond, -via_exp, via_exp)
    else:
        o, mask = _clip_probs(y_pred)
        elem = -(y_true * np.log(o) + (one - y_true) * np.log(one - o))

        def elem_vjp(ge: np.ndarray) -> np.ndarray:
            n = -ge
            d_o = (n * y_true) * (one / o) - (n * (one - y_true)) * (one / (one - o))
            return np.where(mask, d_o, dt.type(0))

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
    if y_pred.ndim >= 1 and y_pred.shape[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be "
            f"(batch_size, num_classes) with num_classes > 1. Received: y_pred.shape="
            f"{y_pred.shape}. Consider using 'binary_crossentropy' if you only have 2 "
            "classes.", SyntaxWarning, stacklevel=4,
        )
    if label_smoothing:
        k = dt.type(y_true.shape[-1])
        y_true = y_true * dt.type(1.0 - label_smoothing) + dt.type(label_smoothing) / k
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

    total = np.sum(y_pred, axis=-1, keepdims=True)
    o = y_pred / total
    c, mask = _clip_probs(o)
    values = -np.sum(y_true * np.log(c), axis=-1)

    def vjp(g: np.ndarray) -> np.ndarray:
        n = -np.asarray(g, dt)[..., None]
        d_o = np.where(mask, (n * y_true) * (dt.type(1) / c), dt.type(0))
        d_total = np.sum(d_o * ((-y_pred / total) / total), axis=-1, keepdims=True)
        return d_o / total + d_total

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
def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(square(y_true - y_pred), axis=-1)``."""
    return _mse_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample ``mean(abs(y_true - y_pred), axis=-1)``."""
    return _mae_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"))[0]


def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0
) -> np.ndarray:
    """Per-sample binary crossentropy, averaged over the last axis."""
    return _bce_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                    from_logits, label_smoothing)[0]


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0
) -> np.ndarray:
    """Per-sample categorical crossentropy over the last axis (one-hot ``y_true``)."""
    return _cce_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"),
                    from_logits, label_smoothing)[0]


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False
) -> np.ndarray:
    """Per-sample crossentropy with integer class ids in ``y_true``."""
    return _scce_fwd(_to_float(y_true, "y_true"), _to_float(y_pred, "y_pred"), from_logits)[0]


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
bce = BCE = binary_crossentropy


# ---------------------------------------------------------------------------- reduction
def standardize_reduction(reduction: Any) -> Any:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"Received reduction={reduction!r}, expected one of "
            "'sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight', 'none' or None."
        )
    return reduction


def _reduce(
    values: np.ndarray, sample_weight: Any, reduction: Any
) -> tuple[Any, Callable[[], np.ndarray]]:
    """Keras's ``reduce_weighted_values`` (without masks) and its backward pass.

    Returns the reduced loss and a function giving ``d(loss)/d(values)`` (for unreduced
    output: the gradient of its sum)."""
    dt = values.dtype
    sw = None
    v = values
    if sample_weight is not None:
        sw = _to_float(sample_weight, "sample_weight")
        v, sw = squeeze_or_expand_to_same_rank(values, sw)
        try:
            weighted = v * sw
        except ValueError:
            raise ValueError(
                f"Received sample_weight of shape {np.shape(sample_weight)}, expected a shape "
                f"that broadcasts against the per-sample losses of shape {values.shape}."
            ) from None
    else:
        weighted = v

    if reduction in (None, "none") or weighted.shape in ((), (0,)):
        out: Any = weighted
        d_weighted = np.ones(weighted.shape, dt)
    else:
        total = np.sum(weighted, dtype=dt)
        if reduction == "sum":
            out = total
            d_weighted = np.ones(weighted.shape, dt)
        else:
            if reduction == "mean_with_sample_weight" and sw is not None:
                divisor = np.sum(sw, dtype=dt)
            else:
                divisor = dt.type(weighted.size)
            inv = dt.type(1) / divisor if divisor != 0 else dt.type(0)  # divide_no_nan
            out = total / divisor if divisor != 0 else dt.type(0)
            d_weighted = np.full(weighted.shape, inv, dt)

    def backward() -> np.ndarray:
        if sw is None:
            return d_weighted.reshape(values.shape)
        d_v = _unbroadcast(d_weighted * sw, v.shape)
        return d_v.reshape(values.shape)

    return out, backward


def apply_mask(sample_weight: Any, mask: Any, reduction: Any) -> Any:
    """Keras's ``apply_mask``: a prediction's mask becomes sample weights.

    For mean-like reductions the kept entries weigh ``total / valid`` and the
    masked ones 0, so the loss averages over the real steps only; otherwise
    the mask weighs 1 / 0. Combined with ``sample_weight`` by product.
    """
    if mask is None:
        return sample_weight
    keep = np.asarray(mask, dtype=bool)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = int(keep.sum())
        weight = np.where(keep, keep.size / valid if valid else 0.0, 0.0).astype(_dtype())
    else:
        weight = keep.astype(_dtype())
    if sample_weight is None:
        return weight
    sw, weight = squeeze_or_expand_to_same_rank(np.asarray(sample_weight, _dtype()), weight)
    return sw * weight


# ---------------------------------------------------------------------------- loss objects
class Loss:
    """Base class: subclasses define ``_forward(y_true, y_pred) -> (values, vjp)``."""

    _fn_name = "loss"

    def __init__(self, name: str | None = None, reduction: Any = "sum_over_batch_size") -> None:
        self.name = name or self._fn_name
        self.reduction = standardize_reduction(reduction)

    # -- subclasses
    def _forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
        raise NotImplementedError

    # -- public API
    def _run(self, y_true: Any, y_pred: Any, sample_weight: Any):
        sample_weight = apply_mask(sample_weight, getattr(y_pred, "_keras_mask", None),
                                   self.reduction)
        yt = _to_float(y_true, "y_true")
        yp0 = _to_float(y_pred, "y_pred")
        # LossFunctionWrapper.call: match ranks before the loss function sees the arrays.
        yt, yp = squeeze_or_expand_to_same_rank(yt, yp0)
        values, vjp = self._forward(yt, yp)
        values = np.asarray(values, yp.dtype)
        out, backward = _reduce(values, sample_weight, self.reduction)
        return yp0.shape, out, vjp, backward

    def call(self, y_true: Any, y_pred: Any) -> np.ndarray:
        """The per-sample losses, before any weighting or reduction."""
        yt = _to_float(y_true, "y_true")
        yt, yp = squeeze_or_expand_to_same_rank(yt, _to_float(y_pred, "y_pred"))
        return np.asarray(self._forward(yt, yp)[0], yp.dtype)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        _, out, _, _ = self._run(y_true, y_pred, sample_weight)
        return _as_result(out)

    def gradient(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> np.ndarray:
        """``d loss / d y_pred``: same shape as ``y_pred``, compute dtype (float32)."""
        return self.value_and_gradient(y_true, y_pred, sample_weight)[1]

    def value_and_gradient(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> tuple[Any, np.ndarray]:
        shape, out, vjp, backward = self._run(y_true, y_pred, sample_weight)
        grad = np.asarray(vjp(backward()), _dtype())
        return _as_result(out), np.ascontiguousarray(grad.reshape(shape))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _as_result(out: Any) -> Any:
    arr = np.asarray(out)
    return float(arr) if arr.ndim == 0 else arr


class MeanSquaredError(Loss):
    """``mean(square(y_true - y_pred), axis=-1)``, then reduced."""

    _fn_name = "mean_squared_error"

    def _forward(self, y_true, y_pred):
        return _mse_fwd(y_true, y_pred)


class MeanAbsoluteError(Loss):
    """``mean(abs(y_true - y_pred), axis=-1)``, then reduced."""

    _fn_name = "mean_absolute_error"

    def _forward(self, y_true, y_pred):
        return _mae_fwd(y_true, y_pred)


class BinaryCrossentropy(Loss):
    """Binary crossentropy averaged over the last axis (``from_logits``, ``label_smoothing``)."""

    _fn_name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: Any = "sum_over_batch_size", name: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)

    def _forward(self, y_true, y_pred):
        return _bce_fwd(y_true, y_pred, self.from_logits, self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(Loss):
    """Crossentropy with one-hot (or soft) targets over the last axis."""

    _fn_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: Any = "sum_over_batch_size", name: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)

    def _forward(self, y_true, y_pred):
        return _cce_fwd(y_true, y_pred, self.from_logits, self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(Loss):
    """Crossentropy with integer class ids in ``y_true``."""

    _fn_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: Any = "sum_over_batch_size",
                 name: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)

    def _forward(self, y_true, y_pred):
        return _scce_fwd(y_true, y_pred, self.from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


def _check_smoothing(s: Any) -> float:
    if isinstance(s, bool) or not isinstance(s, (int, float, np.floating, np.integer)):
        raise TypeError(f"Received label_smoothing={s!r}, expected a float in [0, 1].")
    if not 0.0 <= float(s) <= 1.0:
        raise ValueError(f"Received label_smoothing={s!r}, expected a float in [0, 1].")
    return float(s)


# ---------------------------------------------------------------------------- get
_CLASSES: dict[str, type[Loss]] = {
    c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy,
                            CategoricalCrossentropy, SparseCategoricalCrossentropy)
}
_FUNCTIONS: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_FN_OBJECTS: dict[Any, type[Loss]] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}


def get(identifier: Any, y_true_shape: Any = None, y_pred_shape: Any = None) -> Loss | None:
    """A loss object from a Keras loss identifier.

    * ``None`` -> ``None``; a :class:`Loss` instance -> itself; a Loss subclass -> an instance.
    * Function names (``"mse"``, ``"mean_squared_error"``, ``"mae"``, ``"bce"``,
      ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
      ``"sparse_categorical_crossentropy"``) and the functions of this module -> the
      matching object with default arguments, named by the string (as ``compile`` does).
    * Class names (``"MeanSquaredError"``, ...) -> an instance with default arguments.
    * ``{"class_name": ..., "config": {...}}`` -> ``cls.from_config(config)``.
    * ``"crossentropy"``/``"ce"`` -> picked from the shapes as Keras's ``compile`` does
      (binary if ``y_pred``'s last dim is 1, sparse if ``y_true`` has lower rank or a last
      dim of 1, else categorical); needs ``y_true_shape`` and ``y_pred_shape``.
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
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, str):
        if identifier.lower() in ("crossentropy", "ce"):
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
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier](name=identifier)
        raise ValueError(
            f"Received an unknown loss identifier: {identifier!r}, expected one of "
            f"{sorted(set(_FUNCTIONS) | set(_CLASSES))}."
        )
    if callable(identifier) and identifier in _FN_OBJECTS:
        return _FN_OBJECTS[identifier](name=identifier.__name__)
    raise TypeError(
        f"Received loss={identifier!r} of type {type(identifier).__name__}, expected a loss "
        "name, an rnnlens.losses.Loss instance or class, or None (rnnlens needs the loss "
        "object to compute its gradient, so arbitrary callables are not accepted)."
    )


__all__ = [
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy",
    "mse", "mae", "MSE", "MAE", "bce", "BCE", "get", "squeeze_or_expand_to_same_rank",
    "standardize_reduction", "EPSILON",
]
