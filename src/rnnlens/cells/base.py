"""What every recurrent cell shares: weights, validation, dropout masks.

A cell does one time step. The layer (``rnnlens.layers.recurrent``) runs it
over time through the single loop in ``rnnlens.recurrence``. The contract the
loop relies on:

* ``project(xs, input_masks)``: the input half of every step at once, one
  matrix multiply over all time steps, ``(T, B, F) -> (T, B, G)``.
* ``stepper(batch, recurrent_masks, gates)``: a function
  ``step(t, xp_t, states_tm1, states)`` that reads the previous states and
  writes the new ones into the given buffers (no allocation). ``gates`` is
  its (B, G) workspace, or a (T, B, G) record whose slice t step t fills;
  either way it ends up holding the post-activation gate values, which the
  trace and the backward pass read.
* ``gate_views(gates)``: names those values (``{"i": (..., u), ...}``).

Shape legend: B batch, T time steps, F features, u units, G gate width.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from rnnlens import activations
from rnnlens.backend import FLOATX
from rnnlens.cells import workspace
from rnnlens.layers.base import Layer
from rnnlens.random import generator

StepFn = Callable[[int, np.ndarray, Sequence[np.ndarray], Sequence[np.ndarray]], None]


def check_units(units: Any, name: str = "units") -> int:
    """Validates a size argument the way Keras does, with its message."""
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a positive "
            f"integer, got {units}."
        )
    return int(units)


class RecurrentCell(Layer):
    """Base class of the built-in cells (LSTM, GRU, SimpleRNN): a Keras cell layer.

    A subclass declares its Keras arguments (``rnnlens.params``) and sets:
        state_size: size of each state, e.g. ``(u, u)`` for LSTM's ``[h, c]``.
        gate_names: names of the recorded gate blocks, in Keras's order.
        gate_count: how many u-wide blocks W, U and b have (4 for LSTM).

    Its weights (kernel W (F, Gu), recurrent_kernel U (u, Gu), bias) are
    created by ``build`` with ``add_weight``; any change to them bumps
    ``_version``, which keys the repacked copies the fast step uses.
    """

    state_size: tuple[int, ...]
    gate_names: tuple[str, ...] = ()
    gate_count = 1
    registered = False                       # a base class, not one of Keras's

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None
        self.input_dim: int | None = None
        self.state_size = (self.units,)

    @property
    def output_size(self) -> int:
        return self.units

    # -- one step on arrays (Keras's cell API, and streaming) ----------------

    def __call__(self, inputs: Any, states: Any = None, training: bool = False
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One step: ``(output, new_states) = cell(x_t, states)``, as a Keras cell.

        Args:
            inputs: x_t, (B, F).
            states: the states before the step, a list of (B, s) arrays (a single
                array is accepted for one-state cells); None for zeros.
            training: apply dropout (fresh masks each call).
        """
        x = _as_step_input(inputs, self)
        if not self.built:
            self.build(x.shape[-1])
        elif x.shape[-1] != self.input_dim:
            raise ValueError(f"Cell '{self.name}' was built for {self.input_dim} features, "
                             f"received x_t of shape {x.shape}.")
        states = _as_step_states(states, self, x.shape[0])
        new = self.step_into(x, states, training)
        return new[0].copy(), new

    call = __call__

    def step_into(self, x: np.ndarray, states: list[np.ndarray], training: bool = False,
                  out: list[np.ndarray] | None = None) -> list[np.ndarray]:
        """The step on checked float32 arrays; returns (or fills) the new states."""
        batch = x.shape[0]
        in_masks, rec_masks = self.dropout_masks(batch, training)
        key = (batch, self._version)
        cached = None if training else getattr(self, "_step_cache", None)
        if cached is None or cached[0] != key:
            width = self.project(np.zeros((1, 1, self.input_dim), FLOATX), None).shape[-1]
            gates = np.empty((batch, width), FLOATX)
            cached = (key, self.stepper(batch, rec_masks, gates))
            if not training:
                self._step_cache = cached
        xp = self.project(x[None], in_masks)[0]
        new = out if out is not None else [np.empty((batch, s), FLOATX)
                                           for s in self.state_size]
        cached[1](0, xp, states, new)
        return new

    # -- weights -------------------------------------------------------------

    def build(self, input_shape: Any) -> None:
        """Creates W (F, Gu), U (u, Gu) and the bias with the configured initializers."""
        u, g = self.units, self.gate_count
        self.input_dim = last_dim(input_shape)
        self.kernel = self.add_weight(
            shape=(self.input_dim, g * u), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(u, g * u), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(), initializer=self.bias_init(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                name="bias")
        self.built = True
        self.weights_changed()

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gate_count * self.units,)

    def bias_init(self) -> Any:
        return self.bias_initializer

    def weight_shapes(self) -> list[tuple[int, ...]]:
        if not self.built:
            return []
        return [w.shape for w in self.weights]

    # -- states and dropout --------------------------------------------------

    def get_initial_state(self, batch: int) -> list[np.ndarray]:
        """Zeros of shape (B, s) for each state."""
        return [np.zeros((batch, s), dtype=FLOATX) for s in self.state_size]

    def _draw_mask(self, shape: tuple[int, ...], rate: float) -> np.ndarray:
        """Inverted dropout of ones: 0 with probability ``rate``, else 1/(1-rate)."""
        rng = self._rng if self._rng is not None else generator()
        keep = rng.random(shape) >= rate
        return (keep / (1.0 - rate)).astype(FLOATX)

    def dropout_masks(self, batch: int, training: bool
                      ) -> tuple[list[np.ndarray] | None, list[np.ndarray] | None]:
        """Masks drawn once per layer call and reused at every time step.

        Returns ``(input_masks, recurrent_masks)``; each is None when that
        dropout is off (inference, or a rate outside (0, 1)). With recurrent
        dropout the cell uses one mask per gate (Keras's implementation 1),
        otherwise a single input mask.
        """
        if not training:
            return None, None
        n = self.mask_count() if 0.0 < self.recurrent_dropout < 1.0 else 1
        inp = rec = None
        if 0.0 < self.dropout < 1.0:
            inp = [self._draw_mask((batch, self.input_dim), self.dropout) for _ in range(n)]
        if 0.0 < self.recurrent_dropout < 1.0:
            rec = [self._draw_mask((batch, self.units), self.recurrent_dropout)
                   for _ in range(n)]
        return inp, rec

    def mask_count(self) -> int:
        """Masks per dropout kind in implementation 1 (one per gate)."""
        return len(self.gate_names)


def project_inputs(xs: np.ndarray, w: np.ndarray, input_masks: list[np.ndarray] | None,
                   u: int) -> np.ndarray:
    """(T, B, F) @ W in one multiply; per-gate input masks use one per block."""
    t, batch, f = xs.shape
    n_gates = w.shape[1] // u
    if input_masks is None or len(input_masks) == 1:
        x = xs if input_masks is None else xs * input_masks[0]
        return workspace.matmul(x, w)                                  # (T, B, G)
    xp = np.empty((t, batch, n_gates * u), FLOATX)
    for k in range(n_gates):
        xk = (xs * input_masks[k]).reshape(t * batch, f)
        xp[..., k * u:(k + 1) * u] = (xk @ w[:, k * u:(k + 1) * u]).reshape(t, batch, u)
    return xp


def sigmoid_block(cell: "RecurrentCell"):
    """In-place σ for a block of σ gates (pre-halved tanh trick when fused)."""
    rec_act, u = cell.recurrent_activation, cell.units
    fused = getattr(cell, "fused", False)
    elementwise = activations.is_elementwise(rec_act)

    def activate(block: np.ndarray) -> None:
        if fused:
            np.tanh(block, out=block)
            block *= 0.5
            block += 0.5
        elif elementwise:
            block[...] = rec_act(block)
        else:                                                  # softmax-like: gate by gate
            for k in range(block.shape[1] // u):
                part = block[:, k * u:(k + 1) * u]
                part[...] = rec_act(part)

    return activate


def _as_step_input(inputs: Any, cell: RecurrentCell) -> np.ndarray:
    try:
        x = np.asarray(inputs, dtype=FLOATX)
    except (TypeError, ValueError):
        raise TypeError(f"Cell '{cell.name}' received x_t that is not numeric.") from None
    if x.ndim != 2:
        raise ValueError(f"Cell '{cell.name}' takes one time step x_t of shape (batch, "
                         f"features), received shape {x.shape}.")
    return x


def _as_step_states(states: Any, cell: RecurrentCell, batch: int) -> list[np.ndarray]:
    if states is None:
        return cell.get_initial_state(batch)
    if isinstance(states, np.ndarray):
        states = [states]
    states = list(states)
    if len(states) != len(cell.state_size):
        raise ValueError(f"Cell '{cell.name}' has {len(cell.state_size)} states, received "
                         f"{len(states)}.")
    out = []
    for k, (st, size) in enumerate(zip(states, cell.state_size)):
        arr = np.asarray(st, dtype=FLOATX)
        if arr.shape != (batch, size):
            raise ValueError(f"Cell '{cell.name}' state {k} should have shape ({batch}, "
                             f"{size}), received {arr.shape}.")
        out.append(arr)
    return out


def last_dim(input_shape: Any) -> int:
    """F from an input dimension or a shape like (None, F) / (B, T, F)."""
    if isinstance(input_shape, (tuple, list)):
        input_shape = input_shape[-1]
    if input_shape is None or int(input_shape) <= 0:
        raise ValueError(f"Received input_shape={input_shape!r}, expected a known positive "
                         "number of features.")
    return int(input_shape)
