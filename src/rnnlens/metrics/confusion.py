"""Confusion-matrix metrics (TP/TN/FP/FN counts, Precision, Recall, AUC) as Keras 3.15.1.

For thresholds ``θ_1..θ_T`` a prediction counts as positive at ``θ_j`` when
``y_pred > θ_j`` (strictly), a label as positive when ``y_true != 0``; every count is the
sum of the sample weights (times ``label_weights`` for AUC) of the matching entries, over
every element of ``y_true`` / ``y_pred`` (all labels pooled unless ``multi_label``).

* ``Precision = TP / (TP + FP)``, ``Recall = TP / (TP + FN)`` (0 when the denominator is 0),
  one value per threshold (a float for one threshold, an array otherwise). ``top_k``
  keeps only each row's ``k`` largest predictions (the others become ``-1e10``; ties go to
  the lower index, as TF's ``top_k``); ``class_id`` looks at one column only.
* ``AUC``: the area under the ROC (``x = FP / (FP + TN)``, ``y = recall``), PR
  (``x = recall``, ``y = precision``) or PR-gain curve, by a Riemann sum whose heights
  are the mean (``interpolation``), min (``minoring``) or max (``majoring``) of
  neighbouring ``y``; PR with interpolation uses Davis & Goadrich's interpolation, as
  Keras. Thresholds are ``-eps, 1/(n-1), ..., (n-2)/(n-1), 1 + eps``.

Evenly spaced thresholds take Keras's bucketing shortcut: ``bucket = ceil(p (T - 1)) - 1``
on ``p = clip(y_pred, 0, 1)``, counts summed per bucket and accumulated from the top,
with its float32 rounding. A NaN prediction counts as negative at every threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.losses.base import (
    EPSILON,
    _to_float,
    as_numeric,
    check_number,
    squeeze_or_expand_to_same_rank,
)
from rnnlens.metrics.base import Metric, _as_result, _dtype

NEG_INF = -1e10
_CONDITIONS = ("tp", "fp", "tn", "fn")
_CHUNK = 1 << 22                   # elements of one (thresholds x predictions) comparison


def parse_thresholds(thresholds: Any, default: float) -> list[float]:
    """Keras's ``parse_init_thresholds``: a list of floats in ``[0, 1]``."""
    if thresholds is None:
        return [default]
    items = (list(np.asarray(thresholds).reshape(-1))
             if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds])
    out = []
    for t in items:
        check_number(t, "thresholds")
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"Received thresholds={thresholds!r}: threshold values must be in "
                             "[0, 1].")
        out.append(float(t))
    return out


def evenly_spaced(thresholds: Any) -> bool:
    """Keras's ``is_evenly_distributed_thresholds``."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def _dnn(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``divide_no_nan``."""
    with np.errstate(all="ignore"):
        return np.where(den == 0, num.dtype.type(0), num / np.where(den == 0, 1, den))


def _filter_top_k(x: np.ndarray, k: int) -> np.ndarray:
    if k > x.shape[-1]:
        raise ValueError(f"Received top_k={k} for y_pred.shape={x.shape}, expected top_k <= "
                         f"the number of classes ({x.shape[-1]}).")
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, x.dtype)
    np.put_along_axis(keep, idx, x.dtype.type(1), axis=-1)
    return x * keep + x.dtype.type(NEG_INF) * (x.dtype.type(1) - keep)


def _prepare(y_true: Any, y_pred: Any, sample_weight: Any, top_k: Any, class_id: Any):
    """Rank fix, weights, ``top_k`` and ``class_id`` as Keras's update does them."""
    dt = _dtype()
    yt = as_numeric(y_true, "y_true").astype(dt)
    yp = _to_float(y_pred, "y_pred")
    yp, yt = squeeze_or_expand_to_same_rank(yp, yt)
    if yt.shape != yp.shape:
        raise ValueError(f"Received y_true.shape={yt.shape} and y_pred.shape={yp.shape}, "
                         "expected equal shapes (or shapes that differ by a trailing 1).")
    sw = None
    if sample_weight is not None:
        sw = as_numeric(sample_weight, "sample_weight").astype(dt)[..., None]
        _, sw = squeeze_or_expand_to_same_rank(yt, sw, expand_rank_1=False)
    if top_k is not None:
        if yp.ndim < 1:
            raise ValueError("Received a 0-d y_pred with top_k, expected rank >= 1.")
        yp = _filter_top_k(yp, top_k)
    if class_id is not None:
        if yp.ndim <= 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {yp.shape}")
        if not -yp.shape[-1] <= class_id < yp.shape[-1]:
            raise ValueError(f"Received class_id={class_id} for y_pred.shape={yp.shape}, "
                             f"expected an id in [0, {yp.shape[-1]}).")
        yt, yp = yt[..., class_id, None], yp[..., class_id, None]
    if sw is not None:
        try:
            sw = np.broadcast_to(sw, yp.shape)
        except ValueError:
            raise ValueError(f"Received sample_weight of shape {np.shape(sample_weight)}, "
                             f"expected one that broadcasts to {yp.shape}.") from None
    return yt, yp, sw


def update_confusion_matrix(
    acc: dict[str, np.ndarray], y_true: Any, y_pred: Any, thresholds: Any,
    top_k: Any = None, class_id: Any = None, sample_weight: Any = None,
    multi_label: bool = False, label_weights: Any = None, evenly: bool = False,
) -> None:
    """Keras's ``update_confusion_matrix_variables``: adds to the arrays in ``acc``
    (keys among ``"tp"``, ``"fp"``, ``"tn"``, ``"fn"``) in place."""
    dt = _dtype()
    yt, yp, sw = _prepare(y_true, y_pred, sample_weight, top_k, class_id)
    if multi_label and yp.ndim != 2:
        raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                         f"{yp.ndim}. Full shape received for `y_pred`: {yp.shape}")
    weights = sw
    if label_weights is not None and not multi_label:
        try:
            lw = np.broadcast_to(np.expand_dims(label_weights, 0), yp.shape)
        except ValueError:
            raise ValueError(f"Received label_weights of shape {np.shape(label_weights)}, "
                             f"expected one that broadcasts to {yp.shape}.") from None
        weights = lw if weights is None else weights * lw
    with_eps = evenly and (thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thr = np.asarray(thresholds, dtype=dt)
    if evenly:
        counts = _bucketed(yt, yp, weights, len(thr), multi_label, with_eps)
    else:
        counts = _compared(yt, yp, weights, thr, multi_label)
    for key in acc:
        acc[key] += counts[key].astype(dt)


def _compared(yt: np.ndarray, yp: np.ndarray, w: np.ndarray | None, thr: np.ndarray,
              multi_label: bool) -> dict[str, np.ndarray]:
    """The direct path: ``y_pred > threshold`` for every threshold (in chunks)."""
    dt = _dtype()
    lead = yp.shape if multi_label else (yp.size,)
    preds, labels = yp.reshape(lead), (yt != 0).reshape(lead)
    w = None if w is None else w.reshape(lead)
    out = {key: np.zeros((len(thr),) + lead[1:], dt) for key in _CONDITIONS}
    step = max(1, _CHUNK // max(1, preds.size))
    for s in range(0, len(thr), step):
        t = thr[s:s + step].reshape((-1,) + (1,) * len(lead))
        pos = preds[None] > t                                       # (chunk, *lead)
        for key, cond in (("tp", labels & pos), ("fn", labels & ~pos),
                          ("fp", ~labels & pos), ("tn", ~labels & ~pos)):
            hit = cond.astype(dt) if w is None else np.where(cond, w, dt.type(0))
            out[key][s:s + step] = np.sum(hit, axis=1, dtype=dt)
    return out


def _bucketed(yt: np.ndarray, yp: np.ndarray, w: np.ndarray | None, n: int,
              multi_label: bool, with_eps: bool) -> dict[str, np.ndarray]:
    """Keras's shortcut for evenly spaced thresholds: one bucket per prediction."""
    dt = _dtype()
    one = dt.type(1)
    weights = one if w is None else w
    lead = yp.shape if multi_label else (yp.size,)
    labels = (yt != 0).astype(dt)
    true_w = np.broadcast_to(labels * weights, yp.shape).reshape(lead)
    false_w = np.broadcast_to((one - labels) * weights, yp.shape).reshape(lead)
    with np.errstate(invalid="ignore"):
        bucket = np.ceil(np.clip(yp, 0, 1) * dt.type(n - 1)) - one
        if with_eps:
            bucket = np.maximum(bucket, 0)
    bucket = np.where(np.isnan(bucket), -1, bucket).astype(np.int64).reshape(lead)
    cols = 1 if not multi_label else lead[1]
    b2, tw, fw = bucket.reshape(-1, cols), true_w.reshape(-1, cols), false_w.reshape(-1, cols)
    ids = b2 + n * np.arange(cols)[None, :]                      # per-label buckets
    keep = b2 >= 0                                               # unsorted_segment_sum drops < 0
    sums = [np.bincount(ids[keep], weights=x[keep], minlength=n * cols).reshape(cols, n).T
            .astype(dt) for x in (tw, fw)]                       # (n, cols)
    tp, fp = (np.flip(np.cumsum(np.flip(s, 0), axis=0, dtype=dt), 0) for s in sums)
    total_true, total_false = np.sum(tw, axis=0, dtype=dt), np.sum(fw, axis=0, dtype=dt)
    out = {"tp": tp, "fp": fp, "tn": total_false - fp, "fn": total_true - tp}
    return {k: (v if multi_label else v[:, 0]) for k, v in out.items()}


# ---------------------------------------------------------------------------- counts
def _check_optional_int(value: Any, name: str, low: int | None = None) -> Any:
    return None if value is None else int(check_number(value, name, low=low, integer=True))


class _ConfusionMatrixConditionCount(Metric):
    """The (weighted) count of one confusion-matrix cell per threshold."""

    _cond = "tp"

    def __init__(self, thresholds: Any = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5)
        self._evenly = evenly_spaced(self.thresholds)
        self.reset_state()

    def reset_state(self) -> None:
        self.accumulator = np.zeros(len(self.thresholds), _dtype())

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        update_confusion_matrix({self._cond: self.accumulator}, y_true, y_pred,
                                self.thresholds, sample_weight=sample_weight,
                                evenly=self._evenly)

    def result(self) -> Any:
        return _as_result(self.accumulator[0] if len(self.thresholds) == 1
                          else self.accumulator)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true != 0`` and ``y_pred > threshold``."""

    _cond = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true == 0`` and ``y_pred > threshold``."""

    _cond = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true == 0`` and ``y_pred <= threshold``."""

    _cond = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true != 0`` and ``y_pred <= threshold``."""

    _cond = "fn"


class _PrecisionRecall(Metric):
    """``TP / (TP + other)`` per threshold, with Keras's ``top_k`` and ``class_id``.

    Args:
        thresholds: a float or a list of floats in [0, 1] (default 0.5; with ``top_k``
            the default is ``-1e10``, so every kept prediction counts as positive).
        top_k: keep only each row's ``top_k`` largest predictions (an int >= 1).
        class_id: look at this column of the last axis only.
    """

    _direction = "up"
    _other = "fp"

    def __init__(self, thresholds: Any = None, top_k: Any = None, class_id: Any = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        _check_optional_int(top_k, "top_k", low=1)
        _check_optional_int(class_id, "class_id")
        self.top_k, self.class_id = top_k, class_id       # as given, for the config
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_spaced(self.thresholds)
        self.reset_state()

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.true_positives = np.zeros(n, _dtype())
        setattr(self, self._other_name, np.zeros(n, _dtype()))

    @property
    def _other_name(self) -> str:
        return "false_positives" if self._other == "fp" else "false_negatives"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        update_confusion_matrix(
            {"tp": self.true_positives, self._other: getattr(self, self._other_name)},
            y_true, y_pred, self.thresholds, top_k=self.top_k, class_id=self.class_id,
            sample_weight=sample_weight, evenly=self._evenly)

    def result(self) -> Any:
        tp = self.true_positives
        out = _dnn(tp, tp + getattr(self, self._other_name))
        return _as_result(out[0] if len(self.thresholds) == 1 else out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """Precision ``TP / (TP + FP)`` per threshold (arguments: see ``_PrecisionRecall``)."""

    _other = "fp"


class Recall(_PrecisionRecall):
    """Recall ``TP / (TP + FN)`` per threshold (arguments: see ``_PrecisionRecall``)."""

    _other = "fn"
