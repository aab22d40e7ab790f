"""Callbacks that change the optimizer's learning rate, as Keras 3.15.1's.

* :class:`ReduceLROnPlateau`: at each epoch end, ``lr <- max(lr * factor, min_lr)`` once
  ``monitor`` has not improved for ``patience`` epochs (improvement:
  ``current < best - min_delta`` in min mode, ``current > best + min_delta`` in max
  mode), then waits ``cooldown`` epochs before counting again.
* :class:`LearningRateScheduler`: at each epoch start, ``lr <- schedule(epoch, lr)`` (or
  ``schedule(epoch)`` for a one-argument function), which must return a float.

Both add ``logs["learning_rate"]`` (the optimizer's rate as a Python float) at each epoch
end, so ``History`` and the callbacks after them see it, as in Keras. The new rate is
assigned to ``model.optimizer.learning_rate``: a float32 variable in Keras, a float32
in rnnlens, so the rate after ``k`` reductions is the same number in both. With
``verbose`` they print Keras's lines (``"\\nEpoch 3: ReduceLROnPlateau reducing learning
rate to 0.010000000149011612."``, the new rate as the Python float Keras prints).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from rnnlens.callbacks.base import Callback
from rnnlens.callbacks.monitor import MonitorCallback


def _optimizer(model: Any, who: str) -> Any:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{who} needs a compiled model whose optimizer has a "
                         "`learning_rate`: call model.compile(optimizer=...) first.")
    return optimizer


def _log_learning_rate(model: Any, logs: dict, who: str) -> None:
    logs["learning_rate"] = float(np.asarray(_optimizer(model, who).learning_rate))


class ReduceLROnPlateau(MonitorCallback):
    """Reduce the learning rate when a metric has stopped improving.

    Args:
        monitor: the log to watch (``"val_loss"``).
        factor: the multiplier, ``new_lr = lr * factor`` (must be < 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints a line at each reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"`` (as ``EarlyStopping``).
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the rate never goes below this.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs: Any) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        for name, value in (("factor", factor), ("min_lr", min_lr), ("min_delta", min_delta)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"Received {name}={value!r}, expected a float.")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Received {name}={value!r}, expected an int >= 0.")
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _reduce_lr(self, epoch: int) -> bool:
        optimizer = _optimizer(self.model, "ReduceLROnPlateau")
        old_lr = float(np.asarray(optimizer.learning_rate))
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                      f"{new_lr}.", flush=True)
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs or {}                     # as Keras: an empty dict is not written to
        _log_learning_rate(self.model, logs, "ReduceLROnPlateau")
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start from ``schedule(epoch, lr)``.

    Args:
        schedule: a function of ``(epoch, lr)`` (epoch from 0, ``lr`` the current rate
            as a float) or of ``epoch`` alone, returning the new rate as a float.
        verbose: 1 prints the new rate at each epoch start.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"Received schedule={schedule!r}, expected a function of "
                            "(epoch, lr) or of epoch.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _optimizer(self.model, "LearningRateScheduler")
        try:                                      # Keras: the new API first
            lr = self.schedule(epoch, float(np.asarray(optimizer.learning_rate)))
        except TypeError:                         # then the one-argument form
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. "
                             f"Got: {lr}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{lr}.", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        _log_learning_rate(self.model, logs or {}, "LearningRateScheduler")
