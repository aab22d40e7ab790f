"""The machinery every loss shares: input checks, Keras's rank fix, reduction and masks.

A loss object computes per-sample values ``v = f(y_true, y_pred)`` (one per row of the
last axis, or whatever shape ``f`` returns) and reduces them as Keras's
``reduce_weighted_values`` does:

.. math::

    L = \\frac{\\sum_i w_i v_i}{D},\\qquad
    D = \\begin{cases}
        N = \\text{number of elements of } v & \\text{sum\\_over\\_batch\\_size, mean} \\\\
        \\sum_i w_i & \\text{mean\\_with\\_sample\\_weight} \\\\
        1 & \\text{sum}
    \\end{cases}

(``divide_no_nan``: ``L = 0`` when ``D = 0``). The backward pass is
``dL/dy_pred = vjp(w / D)``: every loss defines ``_forward(y_true, y_pred) ->
(values, vjp)`` where ``vjp(g)`` maps the cotangent of the per-sample values to the
gradient with respect to ``y_pred``, written op by op as TensorFlow differentiates
Keras's formula (so clipped entries get 0, ``abs`` gets ``sign``, ``maximum`` passes the
gradient on ties, ...).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.backend import FLOATX

EPSILON = 1e-7  # keras.backend.epsilon()

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")

Vjp = Callable[[np.ndarray], np.ndarray]


# ---------------------------------------------------------------------------- input helpers
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
    try:
        arr = np.asarray(x)
    except ValueError:  # ragged nested lists
        raise TypeError(
            f"Received a ragged {name}, expected a rectangular array of numbers."
        ) from None
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
    if y_pred.shape[-1] == 0:
        raise ValueError(
            f"{fn}: received y_pred.shape={y_pred.shape}, expected a last axis of size >= 1."
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


def _clip_probs(p: np.ndarray, hi: float = 1.0 - EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """``clip(p, eps, hi)`` and the mask where TF's clip passes the gradient."""
    dt = p.dtype
    lo, top = dt.type(EPSILON), dt.type(hi)
    # tf.clip_by_value is maximum(minimum(p, hi), lo): the gradient flows where lo <= p <= hi.
    return np.clip(p, lo, top), (p >= lo) & (p <= top)


def _mean_last(elem: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``mean(elem, axis=-1)`` and the map from its cotangent to ``elem``'s."""
    dt = elem.dtype
    k = dt.type(elem.shape[-1])

    def back(g: np.ndarray) -> np.ndarray:
        return np.broadcast_to((np.asarray(g, dt) / k)[..., None], elem.shape)

    return np.mean(elem, axis=-1), back


def check_number(value: Any, name: str, low: float | None = None, high: float | None = None,
                 integer: bool = False) -> Any:
    """``value`` if it is a (finite) real number in ``[low, high]``; else TypeError/ValueError."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "an int" if integer else "a float"
        raise TypeError(f"Received {name}={value!r}, expected {what}.")
    if not np.isfinite(float(value)):
        raise ValueError(f"Received {name}={value!r}, expected a finite number.")
    if (low is not None and value < low) or (high is not None and value > high):
        rng = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"Received {name}={value!r}, expected a number in {rng}.")
    return value


def check_last_axis(axis: Any) -> int:
    """rnnlens reduces the last axis only (Keras's default); TypeError/ValueError otherwise."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"Received axis={axis!r}, expected an int (rnnlens supports axis=-1).")
    if int(axis) != -1:
        raise ValueError(
            f"Received axis={axis!r}: rnnlens computes this loss over the last axis only; "
            "move the class axis last and pass axis=-1."
        )
    return int(axis)


def check_dtype(dtype: Any) -> None:
    """Keras's ``dtype`` argument: rnnlens computes in ``backend.floatx()``."""
    if dtype is not None and str(getattr(dtype, "name", dtype)) != FLOATX.dtype.name:
        raise ValueError(
            f"Received dtype={dtype!r}: rnnlens computes every loss and metric in "
            f"backend.floatx() ({FLOATX.dtype.name!r}); pass dtype=None or change it with "
            "rnnlens.backend.set_floatx."
        )


# ---------------------------------------------------------------------------- reduction
def standardize_reduction(reduction: Any) -> Any:
    if not isinstance(reduction, (str, type(None))) or reduction not in _REDUCTIONS:
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
    """Base class: subclasses define ``_forward(y_true, y_pred) -> (values, vjp)``.

    Args:
        name: the loss's name (default: the Keras default of the subclass).
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
        dtype: accepted for Keras compatibility; must be ``None`` or the current floatx.
    """

    _fn_name = "loss"

    def __init__(self, name: str | None = None, reduction: Any = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Received name={name!r}, expected a string or None.")
        check_dtype(dtype)
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
        from rnnlens.losses.custom import traced_forward, user_call

        if user_call(type(self)):        # a user's Loss subclass: its call, on the tape
            yp = yp0
            values, vjp = traced_forward(self.call, yt, yp0)
        else:
            # LossFunctionWrapper.call: match ranks before the loss function sees them.
            yt, yp = squeeze_or_expand_to_same_rank(yt, yp0)
            with np.errstate(all="ignore"):  # NaN / inf follow from the data, as in Keras
                values, vjp = self._forward(yt, yp)
        values = np.asarray(values, yp.dtype)
        out, backward = _reduce(values, sample_weight, self.reduction)
        return yp0.shape, out, vjp, backward

    def call(self, y_true: Any, y_pred: Any) -> np.ndarray:
        """The per-sample losses, before any weighting or reduction."""
        yt = _to_float(y_true, "y_true")
        yt, yp = squeeze_or_expand_to_same_rank(yt, _to_float(y_pred, "y_pred"))
        with np.errstate(all="ignore"):
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
        with np.errstate(all="ignore"):
            grad = np.asarray(vjp(backward()), _dtype())
        return _as_result(out), np.ascontiguousarray(grad.reshape(shape))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        if not isinstance(config, dict):
            raise TypeError(f"Received config={config!r}, expected a dict.")
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _as_result(out: Any) -> Any:
    arr = np.asarray(out)
    return float(arr) if arr.ndim == 0 else arr


def _check_smoothing(s: Any) -> float:
    if isinstance(s, bool) or not isinstance(s, (int, float, np.floating, np.integer)):
        raise TypeError(f"Received label_smoothing={s!r}, expected a float in [0, 1].")
    if not 0.0 <= float(s) <= 1.0:
        raise ValueError(f"Received label_smoothing={s!r}, expected a float in [0, 1].")
    return float(s)
