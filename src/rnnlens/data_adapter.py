"""The data forms ``fit`` / ``evaluate`` / ``predict`` take, iterated as Keras 3.15.1 does.

* **Arrays** (NumPy arrays, nested Python lists of numbers, a list / dict of them for
  several inputs or outputs): checked once (shapes, the same number of samples
  everywhere: Keras's "Data cardinality is ambiguous" otherwise), then cut into batches
  of ``batch_size`` (default 32, or ``ceil(n / steps)`` when only ``steps`` is given),
  the last one partial, in a new random order (``rnnlens.random``) each time the data
  is iterated anew when ``shuffle``.
* **Generators** and other **iterators** yielding ``(x,)``, ``(x, y)`` or ``(x, y,
  sample_weight)`` tuples. As Keras's TensorFlow trainer, the first two batches are read
  ahead and *replayed* each time the data is iterated anew, then the rest of the
  generator follows (an exhausted generator thus replays its first two batches).
  A non-iterator **iterable** (an object with ``__iter__``, such as a dataset from
  ``rnnlens.utils``) is iterated afresh each time, like a ``tf.data.Dataset`` in Keras:
  its ``len()`` (if any) is the number of batches, and it may yield bare inputs.
* **PyDataset-like** objects (duck typing: ``__getitem__`` plus ``__len__`` or a
  ``num_batches`` property, ``None`` meaning endless; optional ``on_epoch_begin`` /
  ``on_epoch_end``): batch ``i`` is ``dataset[i]`` (a tuple as above, a list, a bare
  array, or a dict of inputs); ``shuffle`` visits the batches in a random order.
  ``workers`` / ``use_multiprocessing`` are not used: batches are read in order, in the
  calling thread.

:class:`EpochIterator` is Keras's: ``steps_per_epoch`` limits an epoch and then the
next epoch continues the same iterator; data that runs out ends the epoch early with
Keras's warning ("Your input ran out of data; interrupting training. ...").
"""

from __future__ import annotations

import itertools
import math
import types
import warnings
from typing import Any, Iterator

import numpy as np

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset "
           "or generator can generate at least `steps_per_epoch * epochs` batches. You may "
           "need to use the `.repeat()` function when building your dataset.")


# ---------------------------------------------------------------------------- tuples
def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """Keras's ``unpack_x_y_sample_weight``: ``x``, ``(x,)``, ``(x, y)``, ``(x, y, sw)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return (tuple(data) + (None, None))[:3]
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(data)} items.")


def class_weight_to_sample_weights(y: np.ndarray, class_weight: dict) -> np.ndarray:
    """Keras's conversion: one weight per sample from its class (argmax of one-hot
    targets, the value of ``(N,)`` / ``(N, 1)`` targets, rounded)."""
    from rnnlens.backend import floatx

    y = np.asarray(y)
    weights = np.ones((y.shape[0],), floatx())
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else np.squeeze(y, axis=-1)
    if y.ndim != 1:
        raise ValueError(
            f"class_weight needs one class per sample, but the targets give {y.shape[1:]} "
            "classes per sample (a sequence output). Pass sample_weight of shape "
            "(samples, timesteps) instead, computed from the classes.")
    classes = np.round(y.astype(np.float64)).astype(np.int32)
    for i, c in enumerate(classes):
        weights[i] = class_weight.get(int(c), 1.0)
    return weights


def check_class_weight(class_weight: Any) -> None:
    if class_weight is None:
        return
    if not isinstance(class_weight, dict):
        raise TypeError(f"Received class_weight of type {type(class_weight).__name__}, "
                        "expected a dict {class index: weight}.")
    for k, v in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"Received class_weight key {k!r}, expected int class indices.")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise TypeError(f"Received class_weight[{k}]={v!r}, expected a number.")


# ---------------------------------------------------------------------------- kinds
def is_generator(x: Any) -> bool:
    """A generator or any other iterator (``__next__``)."""
    return isinstance(x, types.GeneratorType) or (
        hasattr(x, "__next__") and hasattr(x, "__iter__") and not _array_like(x))


def is_py_dataset(x: Any) -> bool:
    """Keras's ``PyDataset`` protocol, by duck typing."""
    if _array_like(x) or isinstance(x, (list, tuple, dict, str, bytes)):
        return False
    return hasattr(type(x), "__getitem__") and (
        hasattr(type(x), "__len__") or hasattr(x, "num_batches"))


def is_iterable(x: Any) -> bool:
    return (hasattr(x, "__iter__") and not _array_like(x)
            and not isinstance(x, (list, tuple, dict, str, bytes)))


def is_array_data(x: Any) -> bool:
    return not (is_generator(x) or is_py_dataset(x) or is_iterable(x))


def _array_like(x: Any) -> bool:
    return isinstance(x, np.ndarray) or hasattr(x, "__array__")


def describe(x: Any) -> str:
    if is_generator(x):
        return "generator"
    if is_py_dataset(x):
        return "PyDataset"
    return "iterable"


def raise_unsupported_arg(arg_name: str, arg_description: str, input_type: str) -> None:
    raise ValueError(f"When providing `x` as a {input_type}, `{arg_name}` should not be "
                     f"passed. Instead, {arg_description} should be included as part of the "
                     f"{input_type}.")


# ---------------------------------------------------------------------------- adapters
class DataAdapter:
    """Iterates batches ``(x, y, sample_weight)``; ``num_batches`` may be None."""

    num_batches: int | None = None

    def get_iterator(self) -> Iterator[tuple]:
        raise NotImplementedError

    def on_epoch_begin(self) -> None:
        """Before an epoch's first batch."""

    def on_epoch_end(self) -> None:
        """After an epoch (and when the iterator is reset)."""


class ArrayAdapter(DataAdapter):
    """Batches of standardized arrays: ``data`` is ``(xs, ys, sws)`` of flat lists."""

    def __init__(self, data: tuple, num_samples: int, batch_size: int | None,
                 steps: int | None, shuffle: Any):
        if not batch_size:
            batch_size = int(math.ceil(num_samples / steps)) if steps else 32
        self.data, self.n, self.batch_size = data, num_samples, int(batch_size)
        self.num_batches = int(math.ceil(num_samples / self.batch_size))
        self.shuffle = shuffle

    def get_iterator(self) -> Iterator[tuple]:
        from rnnlens.random import generator

        order = np.arange(self.n)
        if self.shuffle and self.shuffle != "batch":
            order = generator().permutation(self.n)
        for k in range(self.num_batches):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            if self.shuffle == "batch":
                idx = generator().permutation(idx)
            yield tuple(None if part is None else [None if a is None else a[idx] for a in part]
                        for part in self.data)


class GeneratorAdapter(DataAdapter):
    """A generator / iterator (first two batches replayed, as Keras) or an iterable."""

    def __init__(self, source: Any):
        self.source = source
        if is_generator(source):
            self.first = list(itertools.islice(source, 2))
            if not self.first:
                raise ValueError("When passing a Python generator to a Keras model, the "
                                 "generator must yield at least one batch. Received an empty "
                                 "generator.")
        else:
            self.first = list(itertools.islice(iter(source), 1))
            if not self.first:
                raise ValueError("The iterable passed as data yields no batch; pass at least "
                                 "one (x, y) tuple.")
        if is_generator(source) and not isinstance(self.first[0], tuple):
            raise ValueError("When passing a Python generator to a Keras model, the generator "
                             "must return a tuple, either (input,) or (inputs, targets) or "
                             "(inputs, targets, sample_weights). Received: "
                             f"{_short(self.first[0])}")
        try:
            self.num_batches = None if is_generator(source) else len(source)
        except (TypeError, ValueError):
            self.num_batches = None

    def get_iterator(self) -> Iterator[tuple]:
        if is_generator(self.source):
            return itertools.chain(self.first, self.source)
        return iter(self.source)


class PyDatasetAdapter(DataAdapter):
    """Keras's ``PyDatasetAdapter`` for any object with the protocol."""

    def __init__(self, dataset: Any, class_weight: dict | None, shuffle: Any):
        self.dataset, self.class_weight, self.shuffle = dataset, class_weight, shuffle
        self._within_epoch = False
        nb = getattr(dataset, "num_batches", None) if hasattr(dataset, "num_batches") \
            else len(dataset)
        if nb is not None and (isinstance(nb, bool) or not isinstance(nb, (int, np.integer))
                               or nb < 0):
            raise ValueError(f"The PyDataset's length / num_batches is {nb!r}, expected an "
                             "int >= 0 (or None for an endless dataset).")
        if nb == 0:
            raise ValueError("The PyDataset has length 0")
        self.num_batches = None if nb is None else int(nb)

    def _standardize(self, batch: Any) -> Any:
        if isinstance(batch, dict):
            return batch
        if isinstance(batch, np.ndarray):
            batch = (batch,)
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
            raise ValueError("PyDataset.__getitem__() must return a tuple or a dict. If a "
                             "tuple, it must be ordered either (input,) or (inputs, targets) "
                             "or (inputs, targets, sample_weights). Received: "
                             f"{_short(batch)} of type {type(batch)}")
        if self.class_weight is not None:
            if len(batch) == 3:
                raise ValueError("You cannot specify `class_weight` and `sample_weight` at "
                                 "the same time.")
            if len(batch) == 2:
                batch = batch + (class_weight_to_sample_weights(batch[1], self.class_weight),)
        return batch

    def get_iterator(self) -> Iterator[tuple]:
        from rnnlens.random import generator

        if self.num_batches is None:
            indices: Any = itertools.count()
        else:
            indices = range(self.num_batches)
            if self.shuffle:
                indices = generator().permutation(self.num_batches).tolist()
        for i in indices:
            yield self._standardize(self.dataset[i])

    def on_epoch_begin(self) -> None:
        self._within_epoch = True
        hook = getattr(self.dataset, "on_epoch_begin", None)
        if callable(hook):
            hook()

    def on_epoch_end(self) -> None:
        hook = getattr(self.dataset, "on_epoch_end", None)
        if callable(hook):
            hook()
        self._within_epoch = False


def _short(value: Any) -> str:
    text = str(value)
    return text[:100] + ("..." if len(text) > 100 else "")


# ---------------------------------------------------------------------------- epochs
class EpochIterator:
    """Keras's ``EpochIterator`` (TensorFlow trainer): yields step numbers; ``next_batch``
    reads the batch of the current step and raises ``StopIteration`` when the data runs
    out (the trainer then calls :meth:`ran_out`)."""

    def __init__(self, adapter: DataAdapter, steps_per_epoch: int | None = None):
        self.adapter = adapter
        self.steps_per_epoch = steps_per_epoch
        self._num_batches = adapter.num_batches
        self._current: Iterator | None = None
        self._steps_seen = 0

    @property
    def num_batches(self) -> int | None:
        return self.steps_per_epoch or self._num_batches

    def reset(self) -> None:
        self._current = None
        self._num_batches = self.adapter.num_batches
        self._steps_seen = 0
        self.adapter.on_epoch_end()

    def _warn(self) -> None:
        warnings.warn(RAN_OUT, stacklevel=4)

    def steps(self) -> Iterator[int]:
        """The epoch's step numbers (Keras's ``_enumerate_iterator``)."""
        self.adapter.on_epoch_begin()
        steps = self.steps_per_epoch or self._num_batches or -1
        if steps > 0:
            if self._current is None or self.steps_per_epoch is None:
                self._current, self._steps_seen = self.adapter.get_iterator(), 0
            for step in range(steps):
                if self._num_batches and self._steps_seen >= self._num_batches:
                    if self.steps_per_epoch:
                        self._warn()
                    break
                self._steps_seen += 1
                yield step
            if self._num_batches and self._steps_seen >= self._num_batches:
                self._current, self._steps_seen = self.adapter.get_iterator(), 0
        else:
            self._current = self.adapter.get_iterator()
            for step in itertools.count():
                self._steps_seen = step + 1
                yield step
        self.adapter.on_epoch_end()

    def next_batch(self) -> Any:
        assert self._current is not None
        return next(self._current)

    def ran_out(self) -> None:
        """The data ran out mid-epoch: remember the length, warn, start over next time."""
        if self._num_batches is None:
            self._num_batches = self._steps_seen
        self._warn()
        self._current = None
        self.adapter.on_epoch_end()


__all__ = ["unpack_x_y_sample_weight", "class_weight_to_sample_weights", "EpochIterator",
           "ArrayAdapter", "GeneratorAdapter", "PyDatasetAdapter", "DataAdapter"]
