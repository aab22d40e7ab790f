"""Training callbacks with Keras 3.15.1's hooks and rules, plus a Keras-style progress bar.

A trainer calls ``set_model(model)`` and ``set_params({"epochs": ..., "steps": ...,
"verbose": ...})`` on each callback, then the hooks: ``on_train_begin(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
``on_train_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``
(and the ``on_test_*``/``on_predict_*`` ones). :class:`CallbackList` does this for a list,
adds :class:`History` (and :class:`ProgbarLogger` when ``verbose``) like Keras's ``fit``, and
turns log values into Python floats with the keys sorted, as Keras's ``pythonify_logs``
does (so ``history.history`` lists ``accuracy``, ``loss``, ``val_accuracy``, ``val_loss``).

* :class:`History`: ``history.history`` (metric name -> list of per-epoch values) and
  ``history.epoch``; also sets ``model.history``.
* :class:`EarlyStopping`: Keras 3's rules exactly (see the class docstring); stops by
  setting ``model.stop_training = True``; ``restore_best_weights`` uses
  ``model.get_weights()``/``model.set_weights()``.
* :class:`LambdaCallback`: hooks from plain functions.
* :class:`ModelCheckpoint`: calls ``model.save(path)``/``model.save_weights(path)``;
  a model without that method gets a clear ``TypeError``.
* :class:`Progbar` / :class:`ProgbarLogger`: Keras's progress lines on stdout.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
import time
import warnings
from typing import Any, Callable, Iterable, TextIO

import numpy as np


# ---------------------------------------------------------------------------- base
class Callback:
    """Base class: every hook does nothing. ``model`` and ``params`` are set by the trainer."""

    def __init__(self) -> None:
        self.params: dict[str, Any] | None = None
        self._model: Any = None

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    # Keras's generic aliases, called by the train-batch hooks.
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """A backwards-compatible alias for ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """A backwards-compatible alias for ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """At the start of an epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """At the end of an epoch; ``logs`` holds the epoch's metrics (and ``val_*``)."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before a batch in ``evaluate`` (or validation)."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After a batch in ``evaluate`` (or validation)."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before a batch in ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After a batch in ``predict``."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """At the start of ``fit``."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """At the end of ``fit``; ``logs`` are the last epoch's."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """At the start of ``evaluate``."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """At the end of ``evaluate``."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """At the start of ``predict``."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """At the end of ``predict``."""


def pythonify_logs(logs: dict | None) -> dict[str, Any]:
    """Keras's ``pythonify_logs``: keys sorted, nested dicts flattened, values made
    Python floats where ``float(value)`` works."""
    result: dict[str, Any] = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
        else:
            try:
                value = float(value)
            except (TypeError, ValueError):
                pass
            result[key] = value
    return result


class CallbackList(Callback):
    """Calls every hook on each callback, in order, with the logs pythonified.

    ``add_history=True`` appends a :class:`History` (reachable as ``.history``), and
    ``add_progbar=True`` a :class:`ProgbarLogger`, unless such callbacks are already in the
    list, as Keras's ``fit`` does. ``model`` and keyword ``params`` are passed on.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        super().__init__()
        self.callbacks: list[Callback] = []
        for cb in list(callbacks or []):
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"Received a callback of type {type(cb).__name__}, expected an "
                    "rnnlens.callbacks.Callback."
                )
            self.callbacks.append(cb)
        self.history: History | None = None
        for cb in self.callbacks:
            if isinstance(cb, History):
                self.history = cb
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def _call(self, hook: str, *args: Any, logs: dict | None = None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)


# ---------------------------------------------------------------------------- History
class History(Callback):
    """Records each epoch's logs: ``history.history[name]`` is the list of per-epoch values,
    ``history.epoch`` the epoch indices. Sets ``model.history = self`` at each epoch end."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []  # Keras resets the epoch list, not the history dict

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


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


# ---------------------------------------------------------------------------- Lambda
class LambdaCallback(Callback):
    """Callback from plain functions: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``; extra
    keyword arguments become attributes (any other hook, e.g. ``on_test_end=f``)."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
              "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, on_epoch_begin: Callable | None = None,
                 on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None,
                 on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None,
                 on_train_batch_end: Callable | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.__dict__.update(kwargs)
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in given.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"Received {name}={fn!r}, expected a callable.")
                setattr(self, name, fn)


# ---------------------------------------------------------------------------- ModelCheckpoint
class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save(path)``) or its weights (``model.save_weights(path)``)
    at each epoch end, or every ``save_freq`` batches.

    ``filepath`` may hold ``{epoch:02d}`` (1-based) and any log key (``{val_loss:.2f}``).
    With ``save_best_only`` the model is saved only when ``monitor`` improved (the first
    value always does; a missing monitor saves with a warning, as Keras). Unlike Keras,
    rnnlens does not insist on a ``.keras``/``.weights.h5`` extension, since its file
    formats are its own. A model without the needed method raises ``TypeError`` when
    the first save is due.
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: Any = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"Received filepath={filepath!r}, expected a str or path.")
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(
                f"Received save_freq={save_freq!r}, expected 'epoch' or an int >= 1."
            )
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:  # type: ignore[operator]
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch: int, logs: dict, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=2)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                      f"{current:.5f}, saving model to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}",
                  flush=True)
        return False

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}'
            ) from None

    def _save_model(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        method_name = "save_weights" if self.save_weights_only else "save"
        method = getattr(self.model, method_name, None)
        if not callable(method):
            raise TypeError(
                f"Received a model of type {type(self.model).__name__} without a "
                f"{method_name}() method, expected one for ModelCheckpoint"
                f"(save_weights_only={self.save_weights_only}). (rnnlens models gain saving "
                "in a later release.)"
            )
        dirname = os.path.dirname(filepath)
        if dirname and not os.path.exists(dirname):
            os.makedirs(dirname, exist_ok=True)
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used "
                f"is an existing directory: {filepath}"
            )
        if _accepts_kwarg(method, "overwrite"):
            method(filepath, overwrite=True)
        else:
            method(filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)


def _accepts_kwarg(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


# ---------------------------------------------------------------------------- progress bar
class Progbar:
    """Keras's progress bar, printed to ``sys.stdout`` (or ``stream``).

    ``verbose=1``: ``"32/100 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.1234"``. When the
    stream is a terminal the line is redrawn in place with ``\\r`` (at most every
    ``interval`` seconds, always at the end) with Keras's bold/colour escapes; otherwise
    (a file, a pipe, a notebook capture) only the final line of each bar is printed, so a
    log gets one line per epoch. ``verbose=2``: one line at the end, Keras's semi-verbose
    format ``"100/100 - 0s - 2ms/step - loss: 0.1234"``. ``verbose=0``: nothing.

    ``update(current, values, finalize=None)``: ``values`` is a list of ``(name, value)``.
    Metrics listed in ``stateful_metrics`` are shown as given; the others are averaged
    over the steps seen (weighted by the steps since the last update), as in Keras. Pass
    ``stateless_metrics=set()`` (what :class:`ProgbarLogger` does) to show every value as
    given. ``dynamic`` forces (True) or forbids (False) the in-place display.
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Iterable[str] | None = None,
                 stateless_metrics: Iterable[str] | None = None, unit_name: str = "step",
                 stream: TextIO | None = None, dynamic: bool | None = None) -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Received both stateful_metrics and stateless_metrics, expected at most one."
            )
        if target is not None and (isinstance(target, bool) or not isinstance(
                target, (int, np.integer)) or target < 0):
            raise TypeError(f"Received target={target!r}, expected an int >= 0 or None.")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Received verbose={verbose!r}, expected 0, 1 or 2.")
        self.target = None if target is None else int(target)
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateful_metrics is not None:
            self.stateful_metrics: set[str] | None = set(stateful_metrics)
            self.stateless_metrics: set[str] | None = None
        elif stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set()
            self.stateless_metrics = None
        self._stream = stream
        self._dynamic = dynamic
        self._seen_so_far = 0
        self._values: dict[str, list[Any]] = {}
        self._values_order: list[str] = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    @property
    def dynamic_display(self) -> bool:
        if self._dynamic is not None:
            return self._dynamic
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed stream
            return False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def update(self, current: int, values: list[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if self.stateful_metrics is not None:
                stateless = k not in self.stateful_metrics
            else:
                stateless = k in (self.stateless_metrics or set())
            if stateless:
                if finalize:
                    self._values[k] = [v, 1]
                else:
                    base = max(current - self._seen_so_far, 1)
                    if k not in self._values:
                        self._values[k] = [v * base, base]
                    else:
                        self._values[k][0] += v * base
                        self._values[k][1] += base
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            dynamic = self.dynamic_display
            if not dynamic and not finalize:
                self._last_update = now
                return  # not a terminal: only the final line of the bar is printed
            if dynamic and now - self._last_update < self.interval and not finalize:
                return
            bar, info, special = self._verbose1_parts(current, now, time_per_unit, dynamic,
                                                      finalize)
            total_width = len(bar) + len(info) - special
            message = ("\b" * self._prev_total_width + "\r") if dynamic else ""
            message += bar + info
            if dynamic and self._prev_total_width > total_width:
                message += " " * (self._prev_total_width - total_width)
            if finalize:
                message += "\n"
            self._write(message)
            self._prev_total_width = total_width
        elif self.verbose == 2:
            if finalize and self.target is not None and self.target > 0:
                numdigits = int(math.log10(self.target)) + 1
                count = f"{current:{numdigits}d}/{self.target}"
                info = f"{count} - {now - self._start:.0f}s"
                info += f" -{self._format_time(time_per_unit, self.unit_name)}"
                for k in self._values_order:
                    info += f" - {k}: {self._format_value(self._average(k), signed=False)}"
                self._write(info + "\n")
        self._last_update = now

    def add(self, n: int, values: list[tuple[str, Any]] | None = None) -> None:
        self.update(self._seen_so_far + n, values)

    # -- formatting
    def _verbose1_parts(self, current: int, now: float, time_per_unit: float,
                        ansi: bool, finalize: bool) -> tuple[str, str, int]:
        bold, end, green, grey = ("\x1b[1m", "\x1b[0m", "\33[32m", "\33[37m") if ansi else (
            "", "", "", "")
        special = 0
        if self.target is not None and self.target > 0:
            numdigits = int(math.log10(self.target)) + 1
            bar = f"{bold}{current:{numdigits}d}/{self.target}{end} "
            special += 8 if ansi else 0
            prog_width = int(self.width * min(float(current) / self.target, 1.0))
            if prog_width > 0:
                bar += f"{green}{'━' * prog_width}{end}"
                special += 9 if ansi else 0
            bar += f"{grey}{'━' * (self.width - prog_width)}{end}"
            special += 9 if ansi else 0
        else:
            bar = f"{current:7d}/Unknown"
        if self.target is not None and self.target > 0 and not finalize:
            eta = time_per_unit * (self.target - current)
            if eta > 3600:
                eta_format = f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_format = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_format = f"{int(eta)}s"
            info = f" {bold}{eta_format}{end}"
        else:
            info = f" {bold}{now - self._start:.0f}s{end}"
        special += 8 if ansi else 0
        info += self._format_time(time_per_unit, self.unit_name)
        for k in self._values_order:
            info += f" - {k}: {self._format_value(self._average(k), signed=True)}"
        return bar, info, special

    def _average(self, k: str) -> Any:
        entry = self._values[k]
        if not isinstance(entry, list):
            return entry
        values, count = entry
        if not isinstance(values, float):
            values = np.mean(values)
        return values / max(1, count)

    @staticmethod
    def _format_value(avg: Any, signed: bool) -> str:
        try:
            big = abs(avg) > 1e-3 if signed else avg > 1e-3
        except TypeError:
            return str(avg)
        return f"{avg:.4f}" if big else f"{avg:.4e}"

    @staticmethod
    def _format_time(time_per_unit: float, unit_name: str) -> str:
        if time_per_unit >= 1 or time_per_unit == 0:
            return f" {time_per_unit:.0f}s/{unit_name}"
        if time_per_unit >= 1e-3:
            return f" {time_per_unit * 1000.0:.0f}ms/{unit_name}"
        return f" {time_per_unit * 1000000.0:.0f}us/{unit_name}"

    def _estimate_step_duration(self, current: int, now: float) -> float:
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit


class ProgbarLogger(Callback):
    """Keras's ``ProgbarLogger``: ``"Epoch 1/3"`` at each epoch start (when ``epochs > 1``),
    then a :class:`Progbar` fed the batch logs as they are (no averaging: the logs already
    hold running means). Reads ``verbose`` (``"auto"`` means 1), ``epochs`` and ``steps``
    from ``params``. Prints nothing with ``verbose=0``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.seen = 0
        self.progbar: Progbar | None = None
        self.target: int | None = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False
        self._stream = stream

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _print(self, text: str) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            self._print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self) -> None:
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self) -> None:
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   unit_name="step", stateless_metrics=set(),
                                   stream=self._stream)

    def _update_progbar(self, batch: int, logs: dict | None) -> None:
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            assert self.progbar is not None
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs: dict | None) -> None:
        self._maybe_init_progbar()
        assert self.progbar is not None
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


__all__ = [
    "Callback", "CallbackList", "History", "MonitorCallback", "EarlyStopping",
    "LambdaCallback", "ModelCheckpoint", "Progbar", "ProgbarLogger", "pythonify_logs",
]
