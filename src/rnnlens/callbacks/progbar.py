"""Keras's progress bar (``Progbar``) and the callback that prints it (``ProgbarLogger``)."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Iterable, TextIO

import numpy as np

from rnnlens.callbacks.base import Callback

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
