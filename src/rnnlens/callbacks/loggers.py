"""``CSVLogger`` (one CSV row per epoch) and ``TerminateOnNaN``, as Keras 3.15.1's.

``CSVLogger`` writes the header ``epoch`` followed by the sorted log keys of the first
epoch (plus a ``val_`` twin of each key when the first epoch had no ``val_`` key, whose
cells then read ``NA``), then one row per epoch: the 0-based epoch and each value as
Python writes it (``str(float)``); a list-like value is written ``"[a, b]"``. With
``append=True`` an existing file is continued and the header written only if the file
was empty. ``separator`` sets the delimiter. The file is flushed after every row and
closed at the end of training.

``TerminateOnNaN`` looks at ``logs["loss"]`` after each training batch: NaN or inf stops
training (``model.stop_training = True``, with Keras's line ``Batch 3: Invalid loss,
terminating training``) or, with ``raise_error=True``, raises ``RuntimeError``.
"""

from __future__ import annotations

import collections
import csv
import os
from typing import Any

import numpy as np

from rnnlens.callbacks.base import Callback


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file.

    Args:
        filename: the CSV file (``str`` or path).
        separator: the delimiter between cells.
        append: continue an existing file instead of overwriting it.
    """

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"Received filename={filename!r}, expected a str or path.")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"Received separator={separator!r}, expected one character.")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: Any = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = None
        self.keys = None

    @staticmethod
    def _cell(value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, collections.abc.Iterable) and not (
                isinstance(value, np.ndarray) and value.ndim == 0):
            return f'"[{", ".join(map(str, value))}]"'
        return value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:
            raise ValueError("CSVLogger's file is not open: the callback is used outside "
                             "fit (on_train_begin opens it).")
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if not self.writer:
            sep = self.sep

            class Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, self._cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or inf.

    Args:
        raise_error: raise ``RuntimeError`` instead of stopping quietly.
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or not (np.isnan(loss) or np.isinf(loss)):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                               f"{loss}. Terminating training immediately.")
        print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
        self.model.stop_training = True
