"""Streaming: run a recurrent layer one time step at a time, sample by sample.

Keras's ``stateful=True`` needs a fixed batch and resets every sample at
once. A :class:`Stream` keeps one state per *slot* instead: each call steps
the slots you name (by default slots ``0..B-1``), new slots start from zero
states, and any slot can be reset on its own. It is what audio or control
code wants: samples arrive when they arrive, and a finished sequence makes
room for the next without disturbing the others.

Example::

    >>> import numpy as np
    >>> from rnnlens.layers import LSTM
    >>> from rnnlens.stream import Stream
    >>> layer = LSTM(4)
    >>> stream = Stream(layer)
    >>> y = stream.step(np.ones((2, 3)))                 # slots 0 and 1
    >>> y = stream.step(np.ones((1, 3)), rows=[1])       # only slot 1 moves on
    >>> y = stream.step(np.ones((3, 3)), reset=[True, False, False])  # slot 0 restarts,
    >>> stream.size                                      # slot 2 is new
    3
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens.cells.base import FLOATX


class Stream:
    """One state per slot for a recurrent layer fed step by step.

    Parameters:
        layer: a built-in recurrent layer or ``RNN`` (not ``Bidirectional``,
            which needs the future). Its own ``stateful`` flag is not used.
        max_slots: the largest number of slots it may hold (slot indices must be
            below it), so that a stray index cannot allocate unbounded memory.

    Attributes:
        states: the flat list of state arrays, each (slots, s).
    """

    def __init__(self, layer: Any, max_slots: int = 1 << 20):
        from rnnlens.layers.recurrent import RNN

        if not isinstance(layer, RNN):
            hint = (" A Bidirectional layer cannot stream: its backward half needs the end "
                    "of the sequence first." if type(layer).__name__ == "Bidirectional" else "")
            raise TypeError(
                f"Stream needs a recurrent layer (LSTM, GRU, SimpleRNN or RNN); received "
                f"{type(layer).__name__}.{hint}")
        if isinstance(max_slots, bool) or not isinstance(max_slots, (int, np.integer)) or \
                max_slots < 1:
            raise ValueError(f"Received max_slots={max_slots!r}, expected a positive integer.")
        self.layer, self.max_slots = layer, int(max_slots)
        self.states: list[np.ndarray] = [np.zeros((0, s), FLOATX)
                                         for s in layer.cell.state_size]

    @property
    def size(self) -> int:
        """How many slots have a state."""
        return self.states[0].shape[0]

    def step(self, x_t: Any, rows: Sequence[int] | None = None,
             reset: Any = None) -> np.ndarray:
        """Advances the given slots by one step and returns their outputs.

        Args:
            x_t: (B, F) inputs, one row per slot.
            rows: the slot of each row (default ``0..B-1``); unseen slots start
                from zero states.
            reset: optional (B,) bool: rows whose slot restarts from zeros
                before this step.

        Returns:
            (B, u) outputs, row for row.
        """
        try:
            x = np.asarray(x_t, dtype=FLOATX)
        except (TypeError, ValueError):
            raise TypeError(f"Stream.step takes numeric (batch, features) inputs, received "
                            f"{type(x_t).__name__}.") from None
        if x.ndim != 2:
            raise ValueError(f"Stream.step takes (batch, features), received shape {x.shape}.")
        if x.shape[0] == 0:
            raise ValueError("Stream.step received an empty batch (0 rows); pass at least one "
                             "row (one per slot to advance).")
        features = getattr(self.layer.cell, "input_dim", None)
        if features is not None and x.shape[1] != features:
            raise ValueError(f"Stream.step received {x.shape[1]} features per row, but layer "
                             f"'{self.layer.name}' takes {features} (x_t of shape "
                             f"({x.shape[0]}, {features})).")
        idx = self._rows(rows, x.shape[0])
        self._grow(int(idx.max()) + 1)
        if reset is not None:
            flags = np.asarray(reset, dtype=bool).reshape(-1)
            if flags.shape != (x.shape[0],):
                raise ValueError(f"reset must have one flag per row ({x.shape[0]}), received "
                                 f"shape {np.shape(reset)}.")
            self.reset(idx[flags])
        prev = [s[idx] for s in self.states]
        out, new = self.layer.step(x, prev)
        for store, value in zip(self.states, _flat(new)):
            store[idx] = value
        return out

    def set_states(self, slots: Any, states: Any) -> None:
        """Starts ``slots`` from given states, e.g. an encoder's ``[h, c]`` for a decoder.

        Args:
            slots: slot indices (new slots are created).
            states: one (len(slots), s) array per state, in the layer's order (LSTM:
                ``[h, c]``; a GRU or SimpleRNN takes ``[h]`` or just ``h``).

        Example::

            >>> _, h, c = encoder(x)                       # (B, u) each
            >>> stream.set_states(range(B), [h, c])        # decoder slots start there
        """
        idx = self._rows(list(np.asarray(slots).reshape(-1)), len(np.asarray(slots).reshape(-1)))
        states = [states] if isinstance(states, np.ndarray) else list(states)
        if len(states) != len(self.states):
            raise ValueError(f"Layer '{self.layer.name}' keeps {len(self.states)} states per "
                             f"slot, set_states received {len(states)}.")
        arrays = []
        for k, (value, store) in enumerate(zip(states, self.states)):
            try:
                arr = np.asarray(value, dtype=FLOATX)
            except (TypeError, ValueError):
                raise TypeError(f"set_states: state {k} is not numeric.") from None
            if arr.shape != (len(idx), store.shape[1]):
                raise ValueError(f"set_states: state {k} should have shape ({len(idx)}, "
                                 f"{store.shape[1]}) (slots, size), received {arr.shape}.")
            arrays.append(arr)
        self._grow(int(idx.max()) + 1)
        for store, arr in zip(self.states, arrays):
            store[idx] = arr

    def reset(self, slots: Any = None) -> None:
        """Zeros the states of ``slots`` (indices or a bool mask); all if None."""
        if slots is None:
            for s in self.states:
                s.fill(0.0)
            return
        slots = np.asarray(slots)
        if slots.dtype == bool:
            slots = np.flatnonzero(slots)
        if slots.dtype == object or not np.issubdtype(slots.dtype, np.integer) or \
                (slots.size and (slots.min() < 0 or slots.max() >= self.size)):
            raise ValueError(f"Stream.reset takes slot indices in [0, {self.size}) or a bool "
                             f"mask, received {slots!r}.")
        for s in self.states:
            s[slots] = 0.0

    def _rows(self, rows: Sequence[int] | None, batch: int) -> np.ndarray:
        if rows is None:
            if batch > self.max_slots:
                raise ValueError(f"Stream.step received {batch} rows, over max_slots="
                                 f"{self.max_slots}.")
            return np.arange(batch)
        idx = np.asarray(rows)
        if idx.shape != (batch,) or not np.issubdtype(idx.dtype, np.integer) or (idx < 0).any():
            raise ValueError(f"rows must give one non-negative slot index per row ({batch}), "
                             f"received {rows!r}.")
        if len(np.unique(idx)) != batch:
            raise ValueError(f"rows must not repeat a slot, received {rows!r}.")
        if idx.max() >= self.max_slots:
            raise ValueError(f"Slot {int(idx.max())} is beyond this Stream's max_slots="
                             f"{self.max_slots}; reuse freed slots (reset them) or create the "
                             "Stream with a larger max_slots.")
        return idx

    def _grow(self, size: int) -> None:
        if size > self.size:
            self.states = [np.concatenate([s, np.zeros((size - s.shape[0], s.shape[1]),
                                                       FLOATX)]) for s in self.states]


def _flat(states: list) -> list[np.ndarray]:
    return [leaf for item in states
            for leaf in (item if isinstance(item, (list, tuple)) else [item])]
