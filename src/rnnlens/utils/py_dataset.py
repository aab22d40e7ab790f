"""``PyDataset`` (alias ``Sequence``) and the ``(x, y, sample_weight)`` packing helpers.

A ``PyDataset`` is Keras 3.15.1's base class for batches computed in Python: subclass it,
implement ``__getitem__(index)`` (batch ``index``: ``x``, ``(x,)``, ``(x, y)`` or
``(x, y, sample_weight)``) and ``__len__`` (the number of batches) or the ``num_batches``
property (``None`` for an endless dataset), and optionally ``on_epoch_begin`` /
``on_epoch_end``. Iterating yields ``self[0], self[1], ...``.

``workers``, ``use_multiprocessing`` and ``max_queue_size`` are accepted and stored as in
Keras (so subclasses that forward ``**kwargs`` keep working), but rnnlens always computes
the batches in order, one at a time, in the calling process: no threads, no processes.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any, Iterator

_DEFAULTS = {"_workers": 1, "_use_multiprocessing": False, "_max_queue_size": 10}


class PyDataset:
    """Base class for a dataset of batches computed by Python code.

    Args:
        workers: Number of workers Keras would use; stored, unused (rnnlens is serial).
        use_multiprocessing: Whether Keras would use processes; stored, unused.
        max_queue_size: Batches Keras would queue ahead; stored, unused.

    Example:

    >>> class Batches(PyDataset):
    ...     def __init__(self, x, y, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return -(-len(self.x) // self.batch_size)
    ...     def __getitem__(self, idx):
    ...         lo = idx * self.batch_size
    ...         return self.x[lo:lo + self.batch_size], self.y[lo:lo + self.batch_size]
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        missing = [k for k in _DEFAULTS if not hasattr(self, k)]
        for key in missing:
            setattr(self, key, _DEFAULTS[key])
        if missing:
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.",
                stacklevel=3,
            )

    @property
    def workers(self) -> int:
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        """Gets batch at position ``index``."""
        del index
        raise NotImplementedError

    @property
    def num_batches(self) -> int | None:
        """Number of batches, or None for an infinite dataset (defaults to ``len(self)``)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "You need to implement the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n  return ..."
        )

    def __iter__(self) -> Iterator[Any]:
        try:
            num_batches = self.num_batches
        except NotImplementedError:
            num_batches = None
        indices = itertools.count() if num_batches is None else range(num_batches)
        for index in indices:
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Method called at the beginning of every epoch."""

    def on_epoch_end(self) -> None:
        """Method called at the end of every epoch."""


Sequence = PyDataset


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sw)``,
    with None for what is missing (a list counts as a tuple; a dict is one ``x``)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(data)} items: "
                     f"{str(data)[:200]}")


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The tuple ``Model.fit`` reads: ``x`` alone (``(x,)`` when ``x`` is a tuple/list),
    ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return x, y
    return x, y, sample_weight
