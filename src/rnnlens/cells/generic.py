"""Cells beyond the built-in three: your own cell, and stacks of cells.

``RNN(cell)`` accepts, as Keras does, any object with a ``state_size`` and a
``call(inputs, states)`` returning ``(output, new_states)``; ``RNN([c1, c2])``
runs the cells in order at every step (``StackedRNNCells``). Both are adapted
here to the loop's contract (``rnnlens.cells.base``): the input projection is
done per step (a user cell owns its maths), the states live in the loop's
buffers, and the step's output, when it is not itself a state, gets a buffer
of its own after the states (``slot_sizes`` / ``output_index``).

Shape legend: B batch, F features, s a state size.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import numpy as np

from rnnlens import params as P
from rnnlens.cells.base import FLOATX, RecurrentCell, StepFn, last_dim
from rnnlens.layers.base import Layer
from rnnlens.weights import Weight, WeightOwner, as_list


def _sizes(state_size: Any, owner: str) -> tuple[int, ...]:
    sizes = list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]
    flat = []
    for s in sizes:
        if isinstance(s, (list, tuple)):
            flat.extend(_sizes(s, owner))
        elif isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0:
            flat.append(int(s))
        else:
            raise ValueError(f"Cell {owner} has state_size={state_size!r}; expected a positive "
                             "integer or a list of them (one per state).")
    return tuple(flat)


def check_cell(cell: Any) -> None:
    """Keras's checks for a user cell, with the fix in the message."""
    if not callable(getattr(cell, "call", None)):
        raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell!r}")
    if not hasattr(cell, "state_size"):
        raise ValueError(
            f"The RNN cell should have a `state_size` attribute (the size of each state, e.g. "
            f"`self.state_size = units` or `[units, units]`). Received: cell={cell!r}")


class CellAdapter(WeightOwner):
    """Runs a user cell (``state_size`` + ``call(x_t, states)``) in the time loop.

    Parameters:
        cell: the user's cell; its ``call`` gets x_t (B, F) and a list of (B, s)
            states and returns ``(output, new_states)`` as arrays. A cell written
            as an rnnlens ``Layer`` (weights from ``add_weight``) has its weights
            tracked like any sublayer; another object's ``weights`` list is used as is.
    """

    gate_names: tuple[str, ...] = ()

    def __init__(self, cell: Any):
        self._init_registry()
        check_cell(cell)
        self.cell = cell
        self.state_size = _sizes(cell.state_size, repr(cell))
        out = getattr(cell, "output_size", None)
        self.units = self.output_size = int(out) if out is not None else self.state_size[0]
        self.slot_sizes = (*self.state_size, self.output_size)
        self.output_index = len(self.state_size)
        self.input_dim: int | None = None
        self._takes_training = "training" in inspect.signature(cell.call).parameters

    @property
    def name(self) -> str:
        return getattr(self.cell, "name", type(self.cell).__name__)

    @property
    def built(self) -> bool:
        return self.input_dim is not None

    def build(self, input_dim: Any) -> None:
        self.input_dim = last_dim(input_dim)
        build = getattr(self.cell, "build", None)
        if callable(build) and not getattr(self.cell, "built", False):
            build((None, self.input_dim))
            if hasattr(self.cell, "built"):
                self.cell.built = True

    def weight_records(self) -> list:
        if isinstance(self.cell, WeightOwner):
            return self.cell.weight_records()
        return [Weight(f"weight_{k}", np.asarray(w), True, None, None)
                for k, w in enumerate(getattr(self.cell, "weights", []))]

    def set_weights(self, weights: Sequence[Any]) -> None:
        if isinstance(self.cell, WeightOwner):
            self.cell.set_weights(weights)
        else:
            setter = getattr(self.cell, "set_weights", None)
            if not callable(setter):
                raise ValueError(f"Cell {self.name!r} has no set_weights.")
            setter(as_list(weights, self.name))
        self.weights_changed()

    def get_initial_state(self, batch: int) -> list[np.ndarray]:
        make = getattr(self.cell, "get_initial_state", None)
        if callable(make):
            states = make(batch)
            states = states if isinstance(states, (list, tuple)) else [states]
            return [np.asarray(s, FLOATX) for s in states]
        return [np.zeros((batch, s), FLOATX) for s in self.state_size]

    def dropout_masks(self, batch: int, training: bool) -> tuple[None, None]:
        return None, None                                   # a user cell owns its dropout

    def project(self, xs: np.ndarray, input_masks: Any) -> np.ndarray:
        return xs                                           # the cell sees raw x_t

    def stepper(self, batch: int, recurrent_masks: Any, gates: np.ndarray,
                training: bool = False) -> StepFn:
        n = len(self.state_size)
        kwargs = {"training": training} if self._takes_training else {}

        def step(t: int, x_t: np.ndarray, states_tm1: Sequence[np.ndarray],
                 states: Sequence[np.ndarray]) -> None:
            given = list(states_tm1[:n])
            output, new = self.cell.call(x_t, given if n > 1 else given, **kwargs)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if len(new) != n:
                raise ValueError(f"Cell {self.name!r} returned {len(new)} states, but its "
                                 f"state_size declares {n}.")
            for k, (buf, value) in enumerate(zip(states, new)):
                _store(buf, value, self.name, f"state {k}")
            _store(states[n], output, self.name, "output")

        return step

    def gate_views(self, gates: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def get_config(self) -> dict:
        get = getattr(self.cell, "get_config", None)
        return {"cell": get() if callable(get) else repr(self.cell)}


def _store(buf: np.ndarray, value: Any, cell: str, what: str) -> None:
    arr = np.asarray(value, dtype=FLOATX)
    if arr.shape != buf.shape:
        raise ValueError(f"Cell {cell!r} returned its {what} with shape {arr.shape}, expected "
                         f"{buf.shape} (batch, size) from its state_size / output_size.")
    buf[...] = arr


def _as_cells(cells: Any) -> list:
    """Keras's checks for ``StackedRNNCells(cells)``; user cells get an adapter."""
    if not isinstance(cells, (list, tuple)) or not cells:
        raise ValueError("RNN received an empty list of cells; pass at least one cell.")
    for cell in cells:
        if not isinstance(cell, (RecurrentCell, CellAdapter)) and \
                not callable(getattr(cell, "call", None)):
            raise ValueError("All cells must have a `call` method. Received cell without a "
                             f"`call` method: {cell!r}")
    return [c if isinstance(c, (RecurrentCell, CellAdapter)) else CellAdapter(c)
            for c in cells]


class StackedRNNCells(Layer):
    """Several cells run in order at every step, as Keras's ``StackedRNNCells``.

    Cell k reads cell k-1's output of the same step. States are kept flat in
    the loop (each cell's states in order) and grouped per cell on return,
    as Keras does: ``RNN([LSTMCell, GRUCell], return_state=True)`` gives
    ``(output, [h1, c1], [h2])``.

    Args:
        cells: built-in cells, or user cells (adapted with ``CellAdapter``).
    """

    cells = P.Nested(accept=_as_cells, many=True)

    gate_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.state_size = tuple(s for c in self.cells for s in c.state_size)
        self.units = self.output_size = self.cells[-1].output_size
        self.slot_sizes = (*self.state_size, self.output_size)
        self.output_index = len(self.state_size)
        self.input_dim: int | None = None

    @property
    def _version(self) -> int:
        return sum(getattr(c, "_version", 0) for c in self.cells)

    @_version.setter
    def _version(self, value: int) -> None:
        pass                                                # derived from the cells

    def build(self, input_dim: Any) -> None:
        self.input_dim = dim = last_dim(input_dim)
        for cell in self.cells:
            if not cell.built:
                cell.build(dim)
            dim = cell.output_size
        self.built = True

    def get_initial_state(self, batch: int) -> list[np.ndarray]:
        return [s for c in self.cells for s in c.get_initial_state(batch)]

    def dropout_masks(self, batch: int, training: bool) -> tuple[None, list]:
        """Each cell's (input, recurrent) masks, handed to the stepper together
        (the stack projects per step, so ``project`` has no use for them)."""
        return None, [c.dropout_masks(batch, training) for c in self.cells]

    def project(self, xs: np.ndarray, input_masks: Any) -> np.ndarray:
        return xs                                           # each cell projects per step

    def stepper(self, batch: int, masks: Any, gates: np.ndarray,
                training: bool = False) -> StepFn:
        parts = []
        for k, cell in enumerate(self.cells):
            in_masks, rec_masks = (None, None) if masks is None else masks[k]
            n = len(cell.state_size)
            slots, out_index = _slots_of(cell)
            extra = [np.empty((batch, s), FLOATX) for s in slots[n:]]   # e.g. a user output
            scratch = np.empty((batch, _gate_width(cell)), FLOATX)
            cell_step = cell.stepper(batch, rec_masks, scratch, training=training)
            parts.append((cell, n, out_index, extra, in_masks, cell_step))

        def step(t: int, x_t: np.ndarray, states_tm1: Sequence[np.ndarray],
                 states: Sequence[np.ndarray]) -> None:
            inp, offset = x_t, 0                            # cell k reads cell k-1's output
            for cell, n, out_index, extra, in_masks, cell_step in parts:
                xp = cell.project(inp[None], in_masks)[0]
                new = [*states[offset:offset + n], *extra]
                cell_step(t, xp, [*states_tm1[offset:offset + n], *extra], new)
                inp = new[out_index]
                offset += n
            states[-1][...] = inp                           # the stack's output slot

        return step

    def gate_views(self, gates: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def group(self, flat: list[Any]) -> list[list[Any]]:
        """Flat states -> one list per cell (Keras's nesting)."""
        out, k = [], 0
        for cell in self.cells:
            n = len(cell.state_size)
            out.append(list(flat[k:k + n]))
            k += n
        return out



def _slots_of(cell: Any) -> tuple[tuple[int, ...], int]:
    return (tuple(getattr(cell, "slot_sizes", cell.state_size)),
            int(getattr(cell, "output_index", 0)))


def _gate_width(cell: Any) -> int:
    if isinstance(cell, RecurrentCell):
        return cell.project(np.zeros((1, 1, cell.input_dim), FLOATX), None).shape[-1]
    return 0
