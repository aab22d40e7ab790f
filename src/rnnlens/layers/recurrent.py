"""Recurrent layers: a cell run over time, with Keras's flags.

The cell (``rnnlens.cells``) does one step; the layer owns what Keras's
``RNN`` base owns: ``return_sequences``, ``return_state``, ``go_backwards``,
``stateful``, ``unroll``, ``zero_output_for_mask``, initial states and masks.
Every layer runs through the one loop in ``rnnlens.recurrence``.

Shape legend: B batch, T time steps, F features, u units.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens import params as P
from rnnlens import recurrence
from rnnlens import trace as trace_mod
from rnnlens.backend import FLOATX
from rnnlens.cells import _kernels, workspace
from rnnlens.cells.base import RecurrentCell
from rnnlens.cells.generic import CellAdapter, StackedRNNCells
from rnnlens.cells.gru import GRUCell
from rnnlens.cells.lstm import LSTMCell
from rnnlens.cells.simple_rnn import SimpleRNNCell
from rnnlens.layers.base import Layer, format_shape, snake_case, to_float_array


def as_cell(cell: Any) -> Any:
    """The cell an RNN runs: a built-in cell, a stack for a list, an adapter otherwise."""
    if isinstance(cell, (list, tuple)):
        return StackedRNNCells(list(cell))
    if isinstance(cell, (RecurrentCell, StackedRNNCells, CellAdapter)):
        return cell
    return CellAdapter(cell)                        # a user cell: state_size + call()


class RNN(Layer):
    """Runs a recurrent cell over the time axis (base of LSTM, GRU, SimpleRNN).

    Args:
        cell: a built-in cell (``LSTMCell``).
        return_sequences: return h after every step (B, T, u) instead of the
            last one (B, u).
        return_state: also return the final states: ``(output, h_T, c_T)``
            for an LSTM.
        go_backwards: process the sequence from last step to first; the
            returned sequence stays in processing order (Keras's behaviour).
        stateful: keep the final states of each call as the initial states of
            the next (needs a fixed batch size); ``reset_state()`` zeros them.
        unroll: accepted for Keras compatibility; the numbers are identical.
        zero_output_for_mask: masked steps output 0 instead of repeating the
            last valid output.

    Call arguments:
        inputs: (B, T, F) float data.
        initial_state: list of (B, u) arrays, one per state (LSTM: [h, c]).
        mask: (B, T) bool, True where a step is real.
        training: apply dropout (masks drawn once per call).
    """

    cell = P.Nested(accept=as_cell)
    return_sequences = P.Bool(False)
    return_state = P.Bool(False)
    go_backwards = P.Bool(False)
    stateful = P.Bool(False)
    unroll = P.Bool(False)
    zero_output_for_mask = P.Bool(False)

    supports_masking = True
    cell_class: type | None = None          # LSTM, GRU, SimpleRNN: the cell they are made of
    config_excludes: tuple = ()             # cell arguments Keras leaves out of the config

    @classmethod
    def _declared_params(cls) -> dict:
        """A cell layer's config is its cell's arguments plus the RNN flags, as in Keras."""
        own = P.declared(cls)
        if cls.cell_class is None:
            return own
        own.pop("cell", None)
        merged = {**cls.cell_class._params, **own}
        return {k: v for k, v in merged.items() if k not in cls.config_excludes}

    def __post_init__(self) -> None:
        self._states: list[np.ndarray] | None = None
        self._batch: int | None = None
        self.masked_output_from_state = False   # standalone Keras <= 2.2.5 (apply_semantics)
        self.mask_with_initial_state = False    # Keras 2 / tf.keras files (apply_semantics)

    def apply_semantics(self, semantics: Any) -> list[str]:
        """Standalone Keras <= 2.2.5 repeated the previous *state* at masked steps, so
        leading masked steps output h0 (a non-zero initial state shows it). Keras 2 and
        tf.keras kept the input's mask in a call with ``initial_state`` (``RNN.__call__``
        passed ``[inputs, *states]`` and used the first mask); Keras 3 drops it."""
        notes = []
        if semantics.keras2:
            self.mask_with_initial_state = True
        if semantics.masked_output_from_state and isinstance(self.cell, RecurrentCell):
            self.masked_output_from_state = True
            notes.append(f"{self.name}: masked steps before the first real step output the "
                         f"initial state ({semantics.label}; later Keras outputs 0)")
        return notes

    def __getattr__(self, name: str) -> Any:
        # Keras exposes the cell's settings and weights on the layer (layer.units, ...).
        cell = self.__dict__.get("cell")
        if cell is not None and (name in getattr(type(cell), "_params", ())
                                 or name in _CELL_WEIGHTS):
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # -- validation ----------------------------------------------------------

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple):
            raise TypeError(
                f"Layer '{self.name}' expects one input tensor (B, T, F), received "
                f"{len(shape)} inputs. Pass initial states with initial_state=[...]."
            )
        if len(shape) != 3:
            raise ValueError(self._ndim_message(shape, source))
        if shape[0] == 0:
            raise ValueError(
                f"Layer '{self.name}' received an empty batch (0 samples), shape "
                f"{format_shape(shape)}; pass at least one sample."
            )
        if shape[1] == 0:
            raise ValueError(
                f"Layer '{self.name}' received an input with 0 time steps, shape "
                f"{format_shape(shape)}; expected at least one step."
            )
        if shape[2] is None:
            raise ValueError(
                f"Layer '{self.name}' needs a known number of features (the last axis), "
                f"received shape {format_shape(shape)}."
            )
        if self.cell.built and shape[2] != self.cell.input_dim:
            raise ValueError(
                f"Layer '{self.name}' was built for inputs with {self.cell.input_dim} "
                f"features (the last axis), received an input of shape {format_shape(shape)} "
                f"with {shape[2]} features. Feed {self.cell.input_dim} features per step, "
                "or use a new layer for the new size."
            )

    def _ndim_message(self, shape: tuple, source: Layer | None) -> str:
        head = (f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"ndim=3 (batch, timesteps, features), found ndim={len(shape)}. Full shape "
                f"received: {format_shape(shape)}.")
        if len(shape) == 2 and isinstance(source, RNN) and not source.return_sequences:
            return (head + f" The input is the output of recurrent layer '{source.name}', "
                    "which returns only its last step. Set return_sequences=True on "
                    f"'{source.name}' to pass the whole sequence (as when stacking LSTMs).")
        if len(shape) == 2:
            return (head + " A recurrent layer needs a sequence: if this input is the "
                    "output of another recurrent layer, set return_sequences=True on it; "
                    "if it is a (batch, timesteps) series, reshape it to "
                    "(batch, timesteps, 1).")
        if len(shape) > 3:
            return (head + " To run a recurrent layer on each item of a 4-D input, wrap it "
                    "in TimeDistributed, or reshape the input to (batch, timesteps, features).")
        return head

    def _check_stateful_batch(self, batch: int | None) -> None:
        if batch is None:
            raise ValueError(
                f"Layer '{self.name}' has stateful=True, which needs a fixed batch size, but "
                "the batch size is not known. Pass batch_size=... to Input (or "
                "batch_shape), as Keras requires: 'When using `stateful=True` in a RNN, "
                "the batch size must be static.'"
            )
        if self._batch is not None and batch != self._batch:
            raise ValueError(
                f"Layer '{self.name}' is stateful with batch size {self._batch}, received a "
                f"batch of {batch}. A stateful RNN keeps one state per sample, so every call "
                f"must have the same batch size (Expected batch size: {self._batch} - "
                f"Received batch size: {batch}). Use batch_size={self._batch} in predict, "
                "or create the layer again for the new batch size."
            )

    def eager_call(self, inputs: Any, **kwargs: Any) -> Any:
        """Builds on first use, then ``call`` (which validates everything)."""
        if not self.built:
            x = to_float_array(inputs, f"input to layer '{self.name}'")
            self.check_input_shape(tuple(x.shape))
            self.maybe_build(tuple(x.shape))
        return self.call(inputs, **kwargs)

    # -- building ------------------------------------------------------------

    def build(self, input_shape: tuple) -> None:
        self.check_input_shape(tuple(input_shape))
        if not self.cell.built:
            self.cell.build(input_shape[-1])
        if self.stateful:
            self._check_stateful_batch(input_shape[0])
            self._batch = int(input_shape[0])
            self._states = self.cell.get_initial_state(self._batch)
        self.built = True

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> Any:
        batch, steps = input_shape[0], input_shape[1]
        u = self.cell.output_size
        out = (batch, steps, u) if self.return_sequences else (batch, u)
        if not self.return_state:
            return out
        return (out, *self._nest([(batch, s) for s in self.cell.state_size], symbolic=True))

    def _nest(self, flat: list, symbolic: bool = False, like: Any = None) -> list:
        """Flat states as the layer returns them: grouped per cell for stacked cells.

        As Keras 3.15.1: in a graph (and so from ``predict``) a one-state cell
        of a stack gives its state bare and a multi-state cell a list; an
        eager call gives every built-in cell's states as a list, and a user
        cell whose ``state_size`` is an int its state bare.
        """
        if not isinstance(self.cell, StackedRNNCells):
            return flat
        out = []
        given = list(like) if isinstance(like, (list, tuple)) and \
            len(like) == len(self.cell.cells) else [None] * len(self.cell.cells)
        for cell, group, item in zip(self.cell.cells, self.cell.group(flat), given):
            user_int = isinstance(cell, CellAdapter) and \
                not isinstance(cell.cell.state_size, (list, tuple))
            bare = len(group) == 1 and (symbolic or user_int)
            if item is not None:                   # eager: mirror the given nesting
                bare = not isinstance(item, (list, tuple))
                group = tuple(group) if isinstance(item, tuple) else group
            out.append(group[0] if bare and len(group) == 1 else group)
        return out

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * len(self.cell.state_size)
        return out_mask

    # -- calling -------------------------------------------------------------

    def call(self, inputs: np.ndarray, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        return self._run(inputs, initial_state, mask, training, keep=False)[0]

    def forward(self, inputs: np.ndarray, initial_state: Any = None, mask: Any = None,
                training: bool = False) -> tuple[Any, dict]:
        """``call`` that also returns the cache ``backward`` needs."""
        return self._run(inputs, initial_state, mask, training, keep=True)

    def _run(self, inputs: Any, initial_state: Any, mask: Any, training: Any,
             keep: bool) -> tuple[Any, dict | None]:
        x = to_float_array(inputs, f"input to layer '{self.name}'")
        self.check_input_shape(tuple(x.shape))
        batch, steps = x.shape[0], x.shape[1]
        states = self._initial_states(initial_state, batch)
        mask = self._check_mask(mask, batch, steps)
        recorder = trace_mod.current()
        quirk = self._unrolled_backward_zero_quirk(mask)
        result = recurrence.run(
            self.cell, x, states, mask=mask, go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask and not quirk,
            training=bool(training), record=keep or recorder is not None,
            initial_output=states[0] if self.masked_output_from_state else None,
        )
        if quirk:
            result.output *= mask[:, :, None]
        if self.stateful:
            self._states = [s.copy() for s in result.states]
        if recorder is not None:
            recorder.add(self, result)
        cache = None
        if keep:
            cache = {"x": x, "record": result.record, "quirk": quirk, "mask": mask,
                     "given_states": initial_state is not None}
        if self.return_state:
            return (result.output, *self._nest(result.states, like=initial_state)), cache
        return result.output, cache

    def backward(self, cache: dict, d_out: Any) -> tuple[np.ndarray, dict, list[np.ndarray]]:
        """dL/d(input), dL/d(initial_state) and the weight gradients of one call.

        Args:
            cache: from ``forward``.
            d_out: dL/d(output), or ``(d_output, *d_states)`` with return_state;
                None for an output the loss does not use.
        """
        if self.masked_output_from_state and cache["mask"] is not None:
            raise ValueError(
                f"Layer '{self.name}' computes standalone Keras 2.2's masking (masked steps "
                "repeat the initial state), which rnnlens does not train. Load the file with "
                "semantics='keras3' to train it.")
        d_states = None
        if self.return_state:
            d_out, d_states = d_out[0], list(d_out[1:])
        d_seq = d_last = None
        if d_out is not None and self.return_sequences:
            d_out = d_out * cache["mask"][:, :, None] if cache["quirk"] else d_out
            d_seq = workspace.time_major(np.asarray(d_out))               # (T, B, u)
        elif d_out is not None:
            d_last = d_out
        x = cache["x"]
        xs = workspace.time_major(x, self.go_backwards)                  # (T, B, F)
        d_xs, d_initial, grads = recurrence.backward(
            self.cell, xs, cache["record"], d_seq=d_seq, d_last=d_last, d_states=d_states,
            zero_output_for_mask=self.zero_output_for_mask and not cache["quirk"])
        d_x = d_xs[::-1] if self.go_backwards else d_xs
        extra = {"initial_state": d_initial} if cache["given_states"] else {}
        return np.ascontiguousarray(d_x.transpose(1, 0, 2)), extra, grads

    def _unrolled_backward_zero_quirk(self, mask: np.ndarray | None) -> bool:
        """Keras 3.15.1 on TensorFlow, ``unroll=True`` + ``go_backwards`` + a mask +
        ``zero_output_for_mask`` + ``return_sequences``: the outputs are carried,
        then zeroed where the mask *in input order* is False, while the sequence
        is in processing order (``tensorflow/rnn.py``). rnnlens reproduces it;
        with ``unroll=False`` (the default) the right steps are zeroed.
        """
        return (self.unroll and self.go_backwards and self.zero_output_for_mask
                and self.return_sequences and mask is not None)

    def _initial_states(self, initial_state: Any, batch: int) -> list[np.ndarray]:
        """The states to start from: given, stored (stateful) or zeros."""
        if self.stateful:
            self._check_stateful_batch(batch)
        if initial_state is None:
            if self.stateful:
                return self._states
            return self.cell.get_initial_state(batch)
        return self._check_states(initial_state, batch, "initial_state")

    def _check_states(self, states: Any, batch: int, what: str) -> list[np.ndarray]:
        n = len(self.cell.state_size)
        if not isinstance(states, (list, tuple)):
            states = [states]
        if isinstance(self.cell, StackedRNNCells):            # [[h1, c1], [h2]] -> flat
            states = [leaf for item in states for leaf in
                      (item if isinstance(item, (list, tuple)) else [item])]
        if len(states) != n:
            raise ValueError(self._state_count_message(len(states), what))
        out = []
        for k, (s, size) in enumerate(zip(states, self.cell.state_size)):
            arr = to_float_array(s, f"{what}[{k}] of layer '{self.name}'")
            if arr.shape != (batch, size):
                raise ValueError(
                    f"Layer '{self.name}' received {what}[{k}] of shape {arr.shape}, expected "
                    f"(batch, units) = ({batch}, {size})."
                )
            out.append(arr)
        return out

    def _state_count_message(self, got: int, what: str) -> str:
        names = getattr(self, "state_names", None) or [f"s{k}" for k in
                                                        range(len(self.cell.state_size))]
        return (f"Layer '{self.name}' expects {len(names)} states in {what} "
                f"([{', '.join(names)}], each (batch, {self.units})), received {got}.")

    def _check_mask(self, mask: Any, batch: int, steps: int) -> np.ndarray | None:
        if mask is None:
            return None
        arr = np.asarray(mask)
        if arr.dtype == object or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
            raise TypeError(
                f"Layer '{self.name}' received a mask of dtype {arr.dtype}, expected booleans "
                "(True where a time step is real)."
            )
        if arr.ndim == 3 and arr.shape[2] == 1:           # Keras also takes (B, T, 1)
            arr = arr[:, :, 0]
        if arr.shape != (batch, steps):
            raise ValueError(
                f"Layer '{self.name}' received a mask of shape {arr.shape}, expected "
                f"(batch, timesteps) = ({batch}, {steps}) to match the input."
            )
        return arr.astype(bool, copy=False)

    # -- streaming -----------------------------------------------------------

    def step(self, x_t: Any, states: Any = None, mask: Any = None,
             training: bool = False) -> tuple[np.ndarray, list]:
        """One time step: ``(output, new_states) = layer.step(x_t, states)``.

        Numerically identical to the step inside a whole-sequence call, with
        little overhead (the cell's step function and buffers are kept between
        calls), for feeding samples as they arrive. A stateful layer starts
        from, and updates, its stored states.

        Args:
            x_t: (B, F) input at this step.
            states: the states before the step (as ``initial_state``); None for
                the stored states (stateful) or zeros.
            mask: optional (B,) bool; samples where it is False keep their states
                and output their previous ``h``.
            training: apply dropout (fresh masks each call).

        Returns:
            The output (B, u) and the new states (a list, as ``initial_state``).
        """
        x = x_t if type(x_t) is np.ndarray and x_t.dtype == FLOATX.dtype else \
            to_float_array(x_t, f"x_t given to {self.name}.step")
        if self.__dict__.get("_step_checked") != (x.shape, self.cell.__dict__.get("input_dim")):
            self._check_step_input(x)
        prev = self._step_states(states, x.shape[0])
        cell = self.cell
        if isinstance(cell, RecurrentCell):
            new = cell.step_into(x, prev, training)
            out = new[0]
        else:
            run = recurrence.run(cell, x[:, None], prev, training=training)
            new, out = run.states, run.output
        if mask is not None:
            keep = self._check_mask(np.asarray(mask).reshape(-1, 1), x.shape[0], 1)
            new = [np.where(keep, n, p) for n, p in zip(new, prev)]
            out = np.where(keep, out, self._previous_output(prev, out))
        if self.stateful:
            self._states = [s.copy() for s in new]
        return out.copy(), (new if type(cell) is not StackedRNNCells else self._nest(new))

    def _check_step_input(self, x: np.ndarray) -> None:
        """``step``'s input checks (building the layer on the first step); the checked
        ``(x.shape, input_dim)`` is kept so that the next steps of that shape skip them."""
        if x.ndim != 2:
            raise ValueError(
                f"{self.name}.step takes one time step of shape (batch, features), received "
                f"shape {x.shape}. To run a whole (batch, timesteps, features) sequence, "
                "call the layer instead.")
        shape = (x.shape[0], 1, x.shape[1])
        if not self.built:
            self.build(shape)
        self.check_input_shape(shape)
        self.__dict__["_step_checked"] = (x.shape, self.cell.__dict__.get("input_dim"))

    def _step_states(self, states: Any, batch: int) -> list[np.ndarray]:
        """``_initial_states`` for ``step``: a list of ``FLOATX`` arrays of the right
        shapes (what the previous step returned) is taken as it is, without copies;
        anything else goes through the full checks and conversions."""
        sizes = self.cell.state_size
        if type(states) is list and len(states) == len(sizes) and not self.stateful and \
                type(self.cell) is not StackedRNNCells:
            dtype = FLOATX.dtype
            for s, size in zip(states, sizes):
                if type(s) is not np.ndarray or s.dtype != dtype or s.shape != (batch, size):
                    break
            else:
                return states
        return self._initial_states(states, batch)

    def _previous_output(self, prev: list[np.ndarray], out: np.ndarray) -> np.ndarray:
        """What a masked sample outputs: the last output, read from the states.

        Built-in cells output their h (state 0); a stack outputs its last
        cell's output; a user cell's output is not a state, so 0.
        """
        if isinstance(self.cell, RecurrentCell):
            return prev[0]
        if isinstance(self.cell, StackedRNNCells):
            last = self.cell.cells[-1]
            if isinstance(last, RecurrentCell):
                return prev[len(self.cell.state_size) - len(last.state_size)]
        return np.zeros_like(out)

    # -- states and weights --------------------------------------------------

    @property
    def states(self) -> list[np.ndarray] | None:
        """The stored states of a stateful layer (copies), else None."""
        return None if self._states is None else [s.copy() for s in self._states]

    def reset_state(self, states: Sequence[Any] | None = None) -> None:
        """Zeros the stored states of a stateful layer (or sets them to ``states``).

        As in Keras, this does nothing for a layer that keeps no states (not
        stateful, or not built yet), so it is safe to call on every layer.
        """
        if self._states is None:
            if states is not None:
                raise ValueError(
                    f"Layer '{self.name}' keeps no states (stateful=False or not built), so "
                    "states cannot be set; create it with stateful=True."
                )
            return
        if states is None:
            self._states = self.cell.get_initial_state(self._batch)
        else:
            self._states = [s.copy() for s in self._check_states(states, self._batch, "states")]

    reset_states = reset_state



_CELL_WEIGHTS = frozenset({"kernel", "recurrent_kernel", "bias", "state_size"})


def run_pair(layers: Sequence[RNN], inputs: Any, training: Any, first: Any, second: Any
             ) -> tuple[Any, Any]:
    """``(first(), second())`` for Bidirectional's two directions (calls or backward
    passes of ``layers``), run at once when both run the C loop (which releases
    the GIL) and the input is large enough; one after the other otherwise: with
    a ``trace`` recording (the order of its records), or dropout in training
    (the order of the random draws), so the results never depend on it.
    """
    cells = [layer.cell for layer in layers]
    x = np.shape(inputs)
    safe = (len(x) == 3 and trace_mod.current() is None
            and all(getattr(c, "kernel_spec", None) is not None and c.built
                    and c.kernel_spec() is not None for c in cells)
            and not (training and any(c.dropout or c.recurrent_dropout for c in cells)))
    if not safe:
        return first(), second()
    work = x[0] * x[1] * sum(c.units * c.units * c.gate_count for c in cells)
    return _kernels.concurrently(first, second, work)


def _check_use_cudnn(use_cudnn: Any) -> None:
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"Received use_cudnn={use_cudnn!r}, expected 'auto', True or False.")
    if use_cudnn is True:
        raise ValueError(
            "Received use_cudnn=True, but rnnlens runs on NumPy and has no cuDNN path. "
            "Use use_cudnn='auto' (the default) or False; the numbers are the same."
        )


def _init_cell_layer(layer: RNN, args: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """LSTM / GRU / SimpleRNN: builds the cell from its arguments, then the RNN.

    ``args`` are the explicit arguments of the layer's signature; the cell takes
    those its class declares, the RNN the flags, the base Layer the rest.
    """
    _check_use_cudnn(kwargs.pop("use_cudnn", "auto"))
    kwargs.pop("implementation", None)       # numerically irrelevant, as in Keras
    cell_cls = type(layer).cell_class
    cell_args = {k: args[k] for k in cell_cls._params if k in args}
    cell = cell_cls(**cell_args, name=f"{snake_case(cell_cls.__name__)}",
                    trainable=kwargs.get("trainable", True))
    flags = {k: args[k] for k in RNN._params if k in args and k != "cell"}
    RNN.__init__(layer, cell, **flags, **kwargs)


class LSTM(RNN):
    """Long short-term memory layer, numerically identical to Keras 3's ``LSTM``.

    Weights (``get_weights()`` order): kernel (F, 4u), recurrent_kernel (u, 4u),
    bias (4u,) if use_bias; gate order i, f, c, o. See ``rnnlens.cells.LSTMCell``
    for the equations and the arguments. Also accepted, as in Keras:
    ``use_cudnn``, ``implementation`` (no effect on the numbers).

    Returns:
        ``return_sequences=False``: h_T (B, u). ``True``: h after every step
        (B, T, u). With ``return_state=True``: the tuple ``(output, h_T, c_T)``,
        where ``h_T`` is the last hidden state (equal to the output's last step
        when there is no mask) and ``c_T`` the last cell state.
    """

    cell_class = LSTMCell
    activity_regularizer = P.Regularizer()
    state_names = ("h", "c")

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 **kwargs: Any):
        args = dict(locals())
        kwargs["activity_regularizer"] = activity_regularizer
        _init_cell_layer(self, args, kwargs)


class GRU(RNN):
    """Gated recurrent unit layer, numerically identical to Keras 3's ``GRU``.

    Weights: kernel (F, 3u), recurrent_kernel (u, 3u), bias (2, 3u) when
    ``reset_after=True`` (the default) or (3u,); gate order z, r, h. See
    ``rnnlens.cells.GRUCell`` for the equations and the arguments.

    Returns:
        The output (B, u) or (B, T, u); with ``return_state=True`` the tuple
        ``(output, h_T)``.
    """

    cell_class = GRUCell
    activity_regularizer = P.Regularizer()
    keras2_defaults = {"reset_after": False}   # Keras <= 2.1.4 wrote no reset_after
    state_names = ("h",)

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, **kwargs: Any):
        args = dict(locals())
        kwargs["activity_regularizer"] = activity_regularizer
        _init_cell_layer(self, args, kwargs)


class SimpleRNN(RNN):
    """Fully connected RNN layer, numerically identical to Keras 3's ``SimpleRNN``.

    Weights: kernel (F, u), recurrent_kernel (u, u), bias (u,). See
    ``rnnlens.cells.SimpleRNNCell`` for the arguments.

    Returns:
        The output (B, u) or (B, T, u); with ``return_state=True`` the tuple
        ``(output, h_T)``.
    """

    cell_class = SimpleRNNCell
    activity_regularizer = P.Regularizer()
    config_excludes = ("seed",)          # Keras's SimpleRNN config omits its cell's seed
    state_names = ("h",)

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 **kwargs: Any):
        args = dict(locals())
        kwargs["activity_regularizer"] = activity_regularizer
        _init_cell_layer(self, args, kwargs)


__all__ = ["RNN", "LSTM", "GRU", "SimpleRNN", "as_cell"]
