"""``AUC``: the area under the ROC or PR curve from thresholded counts, as Keras 3.15.1.

With ``TP_j, FP_j, TN_j, FN_j`` counted at thresholds ``θ_1 < ... < θ_T``
(``-eps, 1/(T-1), ..., 1 + eps``, or the given ones between ``-eps`` and ``1 + eps``):

.. math::

    \\text{AUC} = \\sum_{j=1}^{T-1} (x_j - x_{j+1})\\, h(y_j, y_{j+1})

with ``(x, y) = (FP/(FP+TN), TP/(TP+FN))`` for ROC, ``(recall, precision)`` for PR and
the gains for PRGAIN; ``h`` is the mean (interpolation), min (minoring) or max
(majoring). PR with interpolation integrates Davis & Goadrich's interpolated precision
instead:

.. math::

    \\sum_j \\frac{s_j \\left(\\Delta TP_j + (TP_{j+1} - s_j P_{j+1})
        \\log(P_j / P_{j+1})\\right)}{TP_{j+1} + FN_{j+1}},\\qquad
    s_j = \\frac{\\Delta TP_j}{\\max(\\Delta P_j, 0)},\\ P = TP + FP

(every division by zero gives 0). ``multi_label=True`` keeps one curve per label and
averages the areas (weighted by ``label_weights`` if given); otherwise every label is
pooled into one curve and ``label_weights`` weighs the entries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.losses.base import EPSILON, _to_float, check_number
from rnnlens.metrics.base import Metric, _as_result, _dtype
from rnnlens.metrics.confusion import _dnn, evenly_spaced, update_confusion_matrix

_CURVES = {"roc": "ROC", "ROC": "ROC", "pr": "PR", "PR": "PR", "prgain": "PRGAIN",
           "PRGAIN": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "Interpolation": "interpolation",
               "majoring": "majoring", "Majoring": "majoring", "minoring": "minoring",
               "Minoring": "minoring"}


def _lookup(table: dict[str, str], value: Any, name: str) -> str:
    value = getattr(value, "value", value)          # Keras's AUCCurve / AUCSummationMethod
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"Received {name}={value!r}, expected one of "
                         f"{sorted(set(table.values()))}.")
    return table[value]


class AUC(Metric):
    """Approximate area under the ROC / PR curve over ``num_thresholds`` thresholds.

    Args:
        num_thresholds: the number of thresholds (an int > 1; default 200).
        curve: ``"ROC"`` (default), ``"PR"`` or ``"PRGAIN"``.
        summation_method: ``"interpolation"`` (default), ``"minoring"`` or ``"majoring"``.
        name: the metric's name (default ``auc``, made unique).
        dtype: ``None`` or the current floatx.
        thresholds: explicit thresholds (sorted; ``num_thresholds`` becomes
            ``len(thresholds) + 2``). Like Keras, values outside [0, 1] are accepted.
        multi_label: one curve per label (``y_pred`` of shape ``(B, L)``), areas averaged.
        num_labels: the number of labels when ``multi_label`` (else built from the data).
        label_weights: per-label weights (pooled entries, or the average of the areas).
        from_logits: apply a sigmoid to ``y_pred`` first.
    """

    _direction = "up"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: Any = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        self.curve = _lookup(_CURVES, curve, "curve")
        self.summation_method = _lookup(_SUMMATIONS, summation_method, "summation_method")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            items = sorted(float(check_number(t, "thresholds"))
                           for t in np.asarray(thresholds, dtype=object).reshape(-1))
            self.num_thresholds = len(items) + 2
            self._evenly = evenly_spaced(np.array([0.0] + items + [1.0]))
        else:
            check_number(num_thresholds, "num_thresholds", low=2, integer=True)
            self.num_thresholds = num_thresholds
            items = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - EPSILON] + items + [1.0 + EPSILON])
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = None if num_labels is None else int(
            check_number(num_labels, "num_labels", low=1, integer=True))
        self.label_weights = None if label_weights is None else _to_float(
            label_weights, "label_weights")
        self._from_logits = bool(from_logits)
        if num_labels and not self.multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self._shape: tuple[int, ...] | None = None
        if self.multi_label and num_labels:
            self._build((self.num_thresholds, self.num_labels))
        elif not self.multi_label:
            self._build((self.num_thresholds,))

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used, ``-eps`` and ``1 + eps`` included."""
        return [float(t) for t in self._thresholds]

    def _build(self, shape: tuple[int, ...]) -> None:
        self._shape = shape
        self.reset_state()

    def reset_state(self) -> None:
        if self._shape is None:
            return
        for key in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, key, np.zeros(self._shape, _dtype()))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        yp = _to_float(y_pred, "y_pred")
        if self.multi_label:
            if yp.ndim != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found "
                                 f"rank {yp.ndim}. Full shape received for `y_pred`: {yp.shape}")
            if self._shape is None:
                self._build((self.num_thresholds, yp.shape[1]))
            elif self._shape[1] != yp.shape[1]:
                raise ValueError(f"AUC was built for {self._shape[1]} labels and received "
                                 f"y_pred.shape={yp.shape}.")
        if self._from_logits:
            with np.errstate(over="ignore"):
                yp = yp.dtype.type(1) / (yp.dtype.type(1) + np.exp(-yp))
        acc = {"tp": self.true_positives, "tn": self.true_negatives,
               "fp": self.false_positives, "fn": self.false_negatives}
        update_confusion_matrix(acc, y_true, yp, self._thresholds, sample_weight=sample_weight,
                                multi_label=self.multi_label, evenly=self._evenly,
                                label_weights=None if self.multi_label else self.label_weights)

    def _average(self, by_threshold: np.ndarray) -> Any:
        """Sum over thresholds, then (multi-label) the (weighted) mean over labels."""
        if not self.multi_label:
            return np.sum(by_threshold, dtype=_dtype())
        by_label = np.sum(by_threshold, axis=0, dtype=_dtype())
        if self.label_weights is None:
            return np.mean(by_label, dtype=_dtype())
        return _dnn(np.sum(by_label * self.label_weights, dtype=_dtype()),
                    np.sum(self.label_weights, dtype=_dtype()))

    def _interpolate_pr_auc(self) -> Any:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _dnn(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _dnn(p[:-1], np.maximum(p[1:], 0)), np.ones_like(p[1:]))
        with np.errstate(divide="ignore"):
            log_ratio = np.log(ratio)
        inc = _dnn(slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
        return self._average(inc)

    def _curve(self) -> tuple[np.ndarray, np.ndarray]:
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        recall = _dnn(tp, tp + fn)
        if self.curve == "ROC":
            return _dnn(fp, fp + tn), recall
        if self.curve == "PR":
            return recall, _dnn(tp, tp + fp)
        dt = _dtype()
        scale = _dnn(tp + fn, tn + fp)
        recall_gain = dt.type(1) - scale * _dnn(fn, tp)
        precision_gain = dt.type(1) - scale * _dnn(fp, tp)
        recall_gain = np.maximum(np.where(tp == 0, dt.type(0), recall_gain), dt.type(0))
        return recall_gain, np.where(tp == 0, dt.type(1), precision_gain)

    def result(self) -> float:
        if self._shape is None:
            return 0.0                     # multi-label, nothing seen: no labels yet
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _as_result(self._interpolate_pr_auc())
        x, y = self._curve()
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / _dtype().type(2)
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return _as_result(self._average((x[:-1] - x[1:]) * heights))

    def get_config(self) -> dict[str, Any]:
        """Keras's config; ``label_weights`` as a list of floats (Keras: a tensor)."""
        config = {
            **super().get_config(), "num_thresholds": self.num_thresholds,
            "curve": self.curve, "summation_method": self.summation_method,
            "multi_label": self.multi_label, "num_labels": self.num_labels,
            "label_weights": (None if self.label_weights is None
                              else self.label_weights.tolist()),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
