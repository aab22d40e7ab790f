"""The one time loop every recurrent layer runs: directions, masks, states.

``run`` follows Keras 3.15.1 on the TensorFlow backend (spec §2, §10):

* ``go_backwards`` consumes ``x[:, T-1]`` first; the mask is reversed with
  the input and the returned sequence stays in processing order.
* For each processed step t, with ``keep = mask[:, t]``::

      out_t, new = cell(x_t, states)
      states = where(keep, new, states)          # masked steps change no state
      y_t    = where(keep, out_t, 0 if zero_output_for_mask else y_tm1)

  with ``y_-1 = 0`` (so leading masked steps output 0 even with a non-zero
  initial state, as on TensorFlow). The last output is ``y_(T-1)``.
* ``unroll`` changes nothing numerically on the TensorFlow backend.

Speed: the input half of every step is one matrix multiply (``cell.project``);
the loop allocates nothing per step. With ``record=True`` the states and
gates are written straight into (T, B, ·) arrays, which is what ``trace`` and
the backward pass read; without it nothing is kept. For the built-in cells
with their default activations and no recurrent dropout, both loops run in C
(``rnnlens.cells._kernels``, the same equations; ``rnnlens.backend.kernel()``
says which path runs); everything else runs the NumPy loops below.

Shape legend: B batch, T time steps, F features, u units, G gate width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnlens.cells import _kernels, workspace
from rnnlens.cells.base import FLOATX, RecurrentCell


@dataclass
class Record:
    """What one call computed at every step, in processing order.

    Attributes:
        states: one (T, B, s) array per state (LSTM: [h, c]), after each step,
            masks applied (a masked step repeats the previous state).
        gates: (T, B, G) post-activation gate values (the cell's packed order;
            ``cell.gate_views`` names them).
        initial_states: the (B, s) states before the first step.
        mask: (T, B) bool, or None.
        input_masks, recurrent_masks: the dropout masks used, or None.
    """

    states: list[np.ndarray]
    gates: np.ndarray
    initial_states: list[np.ndarray]
    mask: np.ndarray | None
    input_masks: list[np.ndarray] | None = None
    recurrent_masks: list[np.ndarray] | None = None
    outputs: np.ndarray | None = field(default=None, repr=False)


@dataclass
class RunResult:
    """``output`` (B, T, u) or (B, u), ``states`` [(B, s), ...], ``record`` or None."""

    output: np.ndarray
    states: list[np.ndarray]
    record: Record | None


def run(cell: RecurrentCell, x: np.ndarray, initial_states: list[np.ndarray], *,
        mask: np.ndarray | None = None, go_backwards: bool = False,
        return_sequences: bool = False, zero_output_for_mask: bool = False,
        training: bool = False, record: bool = False,
        initial_output: np.ndarray | None = None) -> RunResult:
    """Runs ``cell`` over the time axis of ``x`` (B, T, F) float32.

    Args:
        cell: a built cell whose ``input_dim`` equals F.
        x: (B, T, F) float32 input, T >= 1.
        initial_states: one (B, s) float32 array per state; never modified.
        mask: (B, T) bool, True where a step is used, or None.
        go_backwards: process from the last step to the first.
        return_sequences: return (B, T, u) instead of the last output (B, u).
        zero_output_for_mask: masked steps output 0 instead of repeating.
        training: draw dropout masks (once for the whole call).
        record: keep every step's states and gates in ``result.record``.
        initial_output: what a masked step repeats before any step was used
            (``y_-1``); zeros by default, as Keras 3 and tf.keras. Standalone
            Keras <= 2.2.5 repeated the previous *state* h, so files it saved
            pass ``h0`` here.
    """
    batch, steps, _ = x.shape
    xs = workspace.time_major(x, go_backwards)                        # (T, B, F)
    in_masks, rec_masks = cell.dropout_masks(batch, training)
    keep = _time_major_mask(mask, go_backwards)                       # (T, B, 1) or None
    width = cell.output_size
    seq = np.empty((batch, steps, width), FLOATX) if return_sequences else None
    slots, out_index = _slots(cell)
    states_tm1 = list(initial_states) + [np.zeros((batch, s), FLOATX)
                                         for s in slots[len(initial_states):]]
    spec = _kernels.usable(cell, xs.dtype, rec_masks) if xs.dtype == FLOATX.dtype else None
    if spec is not None:                                              # the C loop
        shape = (steps, batch, spec["U"].shape[1])
        rec = _new_record(slots, shape, states_tm1, keep, in_masks, rec_masks, record)
        x_in = xs if in_masks is None else xs * in_masks[0]           # one mask here
        y_t, final = _kernels.forward(spec["kind"], spec, x_in, states_tm1, keep,
                                      initial_output, zero_output_for_mask, seq, rec)
        return RunResult(seq if seq is not None else y_t, final, rec)
    xp = cell.project(xs, in_masks)                                   # (T, B, G)
    y = None
    if keep is not None:
        y = np.zeros((batch, width), FLOATX) if initial_output is None else \
            np.array(initial_output, FLOATX, copy=True)
    rec = _new_record(slots, xp.shape, states_tm1, keep, in_masks, rec_masks, record)
    bufs, gates = _workspace(slots, batch, xp.shape[-1], rec)
    step = cell.stepper(batch, rec_masks, gates if rec is None else rec.gates,
                        training=training)
    for t in range(steps):
        states = bufs[t % 2] if rec is None else [s[t] for s in rec.states]
        step(t, xp[t], states_tm1, states)
        if keep is None:
            y_t = states[out_index]
        else:
            _apply_mask(keep[t], states_tm1, states, y, states[out_index],
                        zero_output_for_mask)
            y_t = y
        if seq is not None:
            seq[:, t] = y_t
        states_tm1 = states
    output = seq if seq is not None else y_t.copy()
    final = [s.copy() for s in states_tm1[: len(cell.state_size)]]
    return RunResult(output, final, rec)


def _slots(cell: RecurrentCell) -> tuple[tuple[int, ...], int]:
    """State buffers the loop keeps, and which one is the step's output.

    Built-in cells output their first state (h). A cell whose output is not
    one of its states (a user cell, stacked cells) declares extra
    ``slot_sizes`` after its states and an ``output_index``.
    """
    return (tuple(getattr(cell, "slot_sizes", cell.state_size)),
            int(getattr(cell, "output_index", 0)))


def _apply_mask(keep_t: np.ndarray, states_tm1: list[np.ndarray], states: list[np.ndarray],
                y: np.ndarray, out_t: np.ndarray, zero_output_for_mask: bool) -> None:
    """Masked samples keep their states; ``y`` becomes this step's output."""
    skip = ~keep_t                                                    # (B, 1)
    for s, s_tm1 in zip(states, states_tm1):
        np.copyto(s, s_tm1, where=skip)
    if zero_output_for_mask:
        y.fill(0.0)
    np.copyto(y, out_t, where=keep_t)


def _time_major_mask(mask: np.ndarray | None, go_backwards: bool) -> np.ndarray | None:
    """(B, T) bool -> (T, B, 1) bool in processing order."""
    if mask is None:
        return None
    m = mask[:, ::-1] if go_backwards else mask
    return np.ascontiguousarray(m.T)[:, :, None]


def _new_record(slots: tuple[int, ...], xp_shape: tuple, initial_states: list[np.ndarray],
                keep: np.ndarray | None, in_masks, rec_masks, record: bool) -> Record | None:
    if not record:
        return None
    steps, batch, width = xp_shape
    return Record(
        states=[workspace.take((steps, batch, s), FLOATX.dtype) for s in slots],
        gates=workspace.take((steps, batch, width), FLOATX.dtype),
        initial_states=[s.copy() for s in initial_states],
        mask=None if keep is None else keep[:, :, 0],
        input_masks=in_masks,
        recurrent_masks=rec_masks,
    )


def _workspace(slots: tuple[int, ...], batch: int, width: int, rec: Record | None):
    """Two ping-pong state buffers and a gate buffer (none needed when recording)."""
    if rec is not None:
        return None, None
    bufs = [[np.empty((batch, s), FLOATX) for s in slots] for _ in range(2)]
    return bufs, np.empty((batch, width), FLOATX)


def backward(cell: RecurrentCell, xs: np.ndarray, rec: Record, *,
             d_seq: np.ndarray | None = None, d_last: np.ndarray | None = None,
             d_states: list[np.ndarray | None] | None = None,
             zero_output_for_mask: bool = False
             ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Backpropagation through time for one call of ``run`` (in processing order).

    The reverse of the loop above: the masking rule is undone step by step
    (a masked step passes its state gradients straight to the previous
    state, and its carried output's gradient to the previous output), and
    the cell's ``backward_step`` undoes each step. Weight gradients are then
    a few large matrix multiplies over all steps.

    Args:
        cell: the cell that ran, with the same weights.
        xs: (T, B, F) the inputs in processing order (as ``run`` saw them).
        rec: the ``Record`` of that run (``run(..., record=True)``).
        d_seq: (T, B, u) dL/d(output at each step), processing order, or None.
        d_last: (B, u) dL/d(last output), or None.
        d_states: dL/d(final states), one per state (None entries allowed).
        zero_output_for_mask: as in the forward call.

    Returns:
        ``(d_xs (T, B, F), d_initial_states, weight gradients in get_weights order)``.
    """
    if not hasattr(cell, "backward_step"):
        raise ValueError(f"Cell {getattr(cell, 'name', cell)!r} has no backward pass: "
                         "rnnlens trains its built-in cells only (LSTM, GRU, SimpleRNN).")
    spec = _kernels.usable(cell, rec.gates.dtype, rec.recurrent_masks)
    if spec is not None:                                              # the C loop
        return cell.kernel_backward(xs, rec, spec, d_seq=d_seq, d_last=d_last,
                                    d_states=d_states, zero_output=zero_output_for_mask)
    steps, batch, _ = xs.shape
    ctx = cell.backward_prepare(xs, rec)
    dxp = np.zeros(rec.gates.shape, FLOATX)
    d_s = [np.zeros((batch, s), FLOATX) if d is None else np.asarray(d, FLOATX)
           for s, d in zip(cell.state_size, d_states or [None] * len(cell.state_size))]
    keep = None if rec.mask is None else rec.mask[:, :, None]         # (T, B, 1)
    d_carry = np.zeros((batch, cell.output_size), FLOATX)
    for t in range(steps - 1, -1, -1):
        d_y = d_carry.copy()
        if d_seq is not None:
            d_y += d_seq[t]
        if d_last is not None and t == steps - 1:
            d_y += d_last
        if keep is None:
            d_new = [d_s[0] + d_y, *d_s[1:]]
            d_pass = None
        else:
            k = keep[t]
            d_new = [np.where(k, d, 0.0) for d in d_s]
            d_new[0] += np.where(k, d_y, 0.0)
            d_pass = [np.where(k, 0.0, d) for d in d_s]
            if not zero_output_for_mask:
                d_carry = np.where(k, 0.0, d_y).astype(FLOATX)
        d_tm1 = cell.backward_step(t, d_new, ctx, dxp)
        d_s = d_tm1 if d_pass is None else [a + b for a, b in zip(d_tm1, d_pass)]
    grads, d_xs = cell.backward_weights(xs, ctx, dxp)
    return d_xs, d_s, grads
