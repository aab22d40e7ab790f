"""Callbacks that watch a metric: ``MonitorCallback`` and ``EarlyStopping``."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from rnnlens.callbacks.base import Callback

# ---------------------------------------------------------------------------- monitoring
_KNOWN_DIRECTIONS = {
    "accuracy": "up", "acc": "up", "binary_accuracy": "up", "categorical_accuracy": "up",
    "sparse_categorical_accuracy": "up",
    "mse": "down", "mae": "down", "mean_squared_error": "down", "mean_absolute_error": "down",
    "binary_crossentropy": "down", "categorical_crossentropy": "down",
    "sparse_categorical_crossentropy": "down",
}


def _less(a: Any, b: Any) -> bool:
    return bool(np.less(a, b))


def _greater(a: Any, b: Any) -> bool:
    return bool(np.greater(a, b))


def _flatten_metrics(model: Any) -> list[Any]:
    out: list[Any] = []
    for m in getattr(model, "metrics", None) or []:
        inner = getattr(m, "metrics", None)
        if isinstance(inner, (list, tuple)):
            out.extend(inner)
        else:
            out.append(m)
    return out


class MonitorCallback(Callback):
    """Keras's ``MonitorCallback``: picks ``less``/``greater`` from ``mode`` and judges
    improvements as ``monitor_op(current - min_delta, reference)`` (with ``min_delta``
    negated for ``less``).

    ``mode="auto"``: ``"loss"``/``"val_loss"`` (any ``val_`` prefix removed) -> min; else the
    ``_direction`` of the model's metric of that name (``model.metrics``, looking inside
    metric lists); rnnlens falls back to the known direction of the built-in metric names
    (accuracies up; mse, mae, crossentropies down); otherwise ``ValueError`` as in Keras.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: Any = None,
                 min_delta: float = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        if not isinstance(monitor, str):
            raise TypeError(f"Received monitor={monitor!r}, expected a metric name (str).")
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[Any, Any], bool] | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = _less
        elif self.mode == "max":
            self.monitor_op = _greater
        else:
            metric_name = self.monitor.removeprefix("val_")
            if metric_name == "loss":
                self.monitor_op = _less
            for m in _flatten_metrics(self.model):
                if getattr(m, "name", None) == metric_name and \
                        getattr(m, "_direction", None) is not None:
                    self.monitor_op = _greater if m._direction == "up" else _less
            if self.monitor_op is None and metric_name in _KNOWN_DIRECTIONS:
                self.monitor_op = _greater if _KNOWN_DIRECTIONS[metric_name] == "up" else _less
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "rnnlens isn't able to automatically determine whether that metric should "
                    "be maximized or minimized. Pass `mode='max'` in order to monitor based on "
                    "the highest metric value, or pass `mode='min'` in order to use the lowest "
                    "value."
                )
        if self.monitor_op is _less:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value: Any, reference_value: Any) -> bool:
        if reference_value is None:
            return True
        assert self.monitor_op is not None
        return self.monitor_op(monitor_value - self.min_delta, reference_value)


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has stopped improving (Keras 3.15.1's rules).

    At each epoch end (from ``start_from_epoch`` on, and only if ``monitor`` is in the
    logs): ``wait += 1``; if ``current`` improves on ``best`` (``best`` is None at the
    first such epoch, so that epoch always counts as an improvement) then ``best =
    current`` (and the weights are remembered with ``restore_best_weights``) and ``wait``
    goes back to 0 -- but only if ``baseline`` is None or ``current`` also beats
    ``baseline``. Otherwise, if ``wait >= patience`` and ``epoch > 0``, training stops
    (``model.stop_training = True``). Improvement means ``current - min_delta > best``
    (max mode) or ``current + min_delta < best`` (min mode).

    With ``restore_best_weights``, the best epoch's weights are put back at train end
    (whether or not training stopped early), as long as any were recorded.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: Any = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) \
                or patience < 0:
            raise ValueError(f"Received patience={patience!r}, expected an int >= 0.")
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights: Any = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _weights(self) -> Any:
        get_weights = getattr(self.model, "get_weights", None)
        if get_weights is None:
            raise TypeError(
                f"Received a model of type {type(self.model).__name__} without get_weights(), "
                "expected one for EarlyStopping(restore_best_weights=True)."
            )
        return [np.array(w, copy=True) for w in get_weights()]

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self._weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.", flush=True)
            set_weights = getattr(self.model, "set_weights", None)
            if set_weights is None:
                raise TypeError(
                    f"Received a model of type {type(self.model).__name__} without "
                    "set_weights(), expected one for EarlyStopping(restore_best_weights=True)."
                )
            set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict | None) -> Any:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2,
            )
        return value
