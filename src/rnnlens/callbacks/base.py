"""The callback base class, the list that drives callbacks, and ``History``."""

from __future__ import annotations

from typing import Any, Iterable

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
        from rnnlens.callbacks.progbar import ProgbarLogger

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
