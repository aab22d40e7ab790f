"""``timeseries_dataset_from_array``: Keras 3.15.1's sliding windows, as NumPy batches.

With ``s = start_index or 0``, ``e = end_index`` (``len(data)`` when ``None``), sequence
length ``L``, sampling rate ``r`` and stride ``k``, Keras's ``tf`` format builds::

    num_seqs = e - s - (L - 1) r            (then min(num_seqs, len(targets)))
    starts   = 0, k, 2k, ... < num_seqs     (positions relative to s)
    window j = data[s + starts[j] + r * (0, 1, ..., L - 1)]        # (L, ...)
    target j = targets[s : e][starts[j]]

and batches ``batch_size`` windows at a time (the last batch smaller). rnnlens yields the
same windows and targets, gathered one batch at a time (memory grows with the batch, not
with the number of windows). ``shuffle=True`` does what Keras does: the start positions
are permuted once with ``np.random.RandomState(seed)`` (the same permutation as Keras's),
then every pass goes through a shuffle buffer of ``8 * batch_size`` windows (1024 when
unbatched), reshuffled every pass; the buffer's random numbers are NumPy's, not
TensorFlow's, so only that local reordering differs from Keras.

Argument checks are Keras's, in Keras's order (including its quirks: ``start_index=0`` and
``end_index=0`` skip the checks, ``end_index`` must be ``< len(data)``, ``sampling_rate`` and
``sequence_stride`` must be ``< len(data)``). rnnlens adds: every size must be an int
(TypeError), ``sequence_length >= 1`` and ``batch_size >= 1`` (ValueError; Keras gives
empty windows or fails later inside TensorFlow), and a target position outside
``targets[s:e]`` (``targets`` shorter than ``e`` with ``s > 0``) is a ValueError here, not
an error from ``tf.gather`` while iterating.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.random import generator
from rnnlens.utils.dataset import ArrayDataset, _Plan, _Shuffler, as_array, check_int


class WindowSource:
    """Window ``j`` starts at ``starts[j]`` of ``data`` and takes every ``rate``-th step."""

    def __init__(self, data: np.ndarray, targets: np.ndarray | None, starts: np.ndarray,
                 length: int, rate: int) -> None:
        self.data = data
        self.targets = targets
        self.starts = starts
        self.offsets = np.arange(length, dtype=np.int64) * rate     # (L,)
        self.n = len(starts)

    def gather(self, sel: slice | np.ndarray) -> Any:
        pos = self.starts[sel].astype(np.int64)                     # (B,)
        windows = self.data[pos[:, None] + self.offsets]            # (B, L, ...)
        if self.targets is None:
            return windows
        return windows, self.targets[pos]                           # (B, ...)

    def element(self, i: int) -> Any:
        pos = int(self.starts[i])
        window = self.data[pos + self.offsets]                      # (L, ...)
        if self.targets is None:
            return window
        return window, np.array(self.targets[pos])


def timeseries_dataset_from_array(
    data: Any,
    targets: Any,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int | None = 128,
    shuffle: bool = False,
    seed: int | None = None,
    start_index: int | None = None,
    end_index: int | None = None,
    format: str = "tf",
) -> ArrayDataset:
    """Creates a dataset of sliding windows over a timeseries provided as array.

    Args:
        data: Array (or nested list) of consecutive data points; axis 0 is time.
        targets: Targets, ``targets[i]`` belonging to the window that starts at ``i``
            (relative to ``start_index``); ``None`` to yield only the windows.
        sequence_length: Length of the output sequences, in timesteps.
        sequence_stride: Period between the starts of successive sequences.
        sampling_rate: Period between successive timesteps within a sequence.
        batch_size: Windows per batch (the last one may be smaller); ``None`` yields
            single windows.
        shuffle: Whether to shuffle the windows (see the module docstring).
        seed: Optional int, seed for shuffling.
        start_index: Optional int; data points before it are not used.
        end_index: Optional int; data points from it on are not used.
        format: ``"tf"`` (default) or ``"grain"``; both give the same rnnlens dataset
            (with the ``"tf"`` format's target indexing).

    Returns:
        An :class:`~rnnlens.utils.ArrayDataset` yielding ``(windows, targets)`` batches of
        shape ``(B, sequence_length, ...)`` and ``(B, ...)``, or only the windows when
        ``targets`` is None.
    """
    data = _series(data, "data")
    targets = None if targets is None else _series(targets, "targets")
    n = len(data)
    for name, value in (("sequence_length", sequence_length),
                        ("sequence_stride", sequence_stride),
                        ("sampling_rate", sampling_rate)):
        check_int(value, name)
    for name, value in (("start_index", start_index), ("end_index", end_index),
                        ("batch_size", batch_size), ("seed", seed)):
        if value is not None:
            check_int(value, name)
    _check_keras_arguments(n, start_index, end_index, sequence_stride, sampling_rate)
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    check_int(sequence_length, "sequence_length", 1)
    if batch_size is not None:
        check_int(batch_size, "batch_size", 1)
    start = int(start_index or 0)
    end = n if end_index is None else int(end_index)
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    index_dtype = np.int32 if num_seqs < 2147483647 else np.int64
    starts = np.arange(0, num_seqs, sequence_stride, dtype=index_dtype)
    if shuffle:
        if seed is None:
            seed = int(generator(None).integers(10**6))
        np.random.RandomState(seed).shuffle(starts)
    target_rows = None
    if targets is not None:
        target_rows = targets[start:end]
        if len(starts) and int(starts.max()) >= len(target_rows):
            raise ValueError(
                f"The window starting at position {int(starts.max())} (after start_index="
                f"{start}) has no target: targets[start_index:end_index] has only "
                f"{len(target_rows)} rows. Pass targets as long as data (Keras fails here "
                "inside tf.gather)."
            )
    source = WindowSource(data[start:end], target_rows, starts, sequence_length,
                          sampling_rate)
    shuffler = None
    if shuffle:
        buffer = 1024 if batch_size is None else 8 * batch_size
        shuffler = _Shuffler(buffer, seed, True)
    plan = _Plan(source, shuffler, batch_size=batch_size)
    lead = (sequence_length, *data.shape[1:]) if targets is None else ()
    return ArrayDataset._from_plan(plan, batch_size, (None, *lead) if batch_size else lead)


def _series(x: Any, name: str) -> np.ndarray:
    arr = as_array(x, name)
    if arr.ndim == 0:
        raise TypeError(f"Received a 0-d {name}; expected an array whose axis 0 is time.")
    return arr


def _check_keras_arguments(n: int, start_index: Any, end_index: Any, sequence_stride: int,
                           sampling_rate: int) -> None:
    """Keras's checks, same order and conditions (0 / None indices skip them)."""
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= n:
            raise ValueError(f"`{name}` must be lower than the length of the data. "
                             f"Received: {name}={value}, for data of length {n}")
