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

from rnnlens import recurrence
from rnnlens import trace as trace_mod
from rnnlens.cells.base import RecurrentCell
from rnnlens.cells.generic import CellAdapter, StackedRNNCells
from rnnlens.cells.gru import GRUCell
from rnnlens.cells.lstm import LSTMCell
from rnnlens.cells.simple_rnn import SimpleRNNCell
from rnnlens.layers.base import Layer, format_shape, to_float_array


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

    supports_masking = True

    def __init__(self, cell: RecurrentCell, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        elif not isinstance(cell, (RecurrentCell, StackedRNNCells, CellAdapter)):
            cell = CellAdapter(cell)                # a user cell: state_size + call()
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._states: list[np.ndarray] | None = None
        self._batch: int | None = None

    _CELL_ATTRS = frozenset({
        "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
        "recurrent_initializer", "bias_initializer", "unit_forget_bias", "dropout",
        "recurrent_dropout", "seed", "reset_after", "kernel", "recurrent_kernel", "bias",
    })

    def __getattr__(self, name: str) -> Any:
        # Keras exposes the cell's settings and weights on the layer (layer.units, ...).
        if name in RNN._CELL_ATTRS and "cell" in self.__dict__:
            return getattr(self.__dict__["cell"], name)
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
            self.build(tuple(x.shape))
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
        d_states = None
        if self.return_state:
            d_out, d_states = d_out[0], list(d_out[1:])
        d_seq = d_last = None
        if d_out is not None and self.return_sequences:
            d_out = d_out * cache["mask"][:, :, None] if cache["quirk"] else d_out
            d_seq = np.ascontiguousarray(np.asarray(d_out).transpose(1, 0, 2))
        elif d_out is not None:
            d_last = d_out
        x = cache["x"]
        xs = np.ascontiguousarray((x[:, ::-1] if self.go_backwards else x).transpose(1, 0, 2))
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
        x = to_float_array(x_t, f"x_t given to {self.name}.step")
        if x.ndim != 2:
            raise ValueError(
                f"{self.name}.step takes one time step of shape (batch, features), received "
                f"shape {x.shape}. To run a whole (batch, timesteps, features) sequence, "
                "call the layer instead.")
        shape = (x.shape[0], 1, x.shape[1])
        if not self.built:
            self.build(shape)
        self.check_input_shape(shape)
        prev = self._initial_states(states, x.shape[0])
        if isinstance(self.cell, RecurrentCell):
            new = self.cell.step_into(x, prev, training)
            out = new[0]
        else:
            run = recurrence.run(self.cell, x[:, None], prev, training=training)
            new, out = run.states, run.output
        if mask is not None:
            keep = self._check_mask(np.asarray(mask).reshape(-1, 1), x.shape[0], 1)
            new = [np.where(keep, n, p) for n, p in zip(new, prev)]
            out = np.where(keep, out, self._previous_output(prev, out))
        if self.stateful:
            self._states = [s.copy() for s in new]
        return out.copy(), self._nest(new)

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

    @property
    def weights(self) -> list[np.ndarray]:
        return self.cell.weights if self.cell.built else []

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return self.cell.weight_shapes() if self.cell.built else []

    def set_weights(self, weights: Sequence[Any]) -> None:
        self.require_built("set_weights")
        self.cell.set_weights(weights, owner=self.name)

    def weights_changed(self) -> None:
        for cell in getattr(self.cell, "cells", [self.cell]):
            if hasattr(cell, "_version"):
                cell._version += 1

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self.cell.get_config())
        config.update({
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "stateful": self.stateful,
            "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
        })
        return config


def _no_extras(layer: str, **extras: Any) -> None:
    """Regularizers and constraints only matter when training; refuse them clearly."""
    for key, value in extras.items():
        if value is not None:
            raise ValueError(
                f"Received {key}={value!r} for {layer}, which rnnlens does not support "
                "yet; leave it as None."
            )


def _check_use_cudnn(use_cudnn: Any) -> None:
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"Received use_cudnn={use_cudnn!r}, expected 'auto', True or False.")
    if use_cudnn is True:
        raise ValueError(
            "Received use_cudnn=True, but rnnlens runs on NumPy and has no cuDNN path. "
            "Use use_cudnn='auto' (the default) or False; the numbers are the same."
        )


_EXTRAS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
           "activity_regularizer", "kernel_constraint", "recurrent_constraint",
           "bias_constraint")


def _split_layer_kwargs(layer: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Refuses regularizers / constraints and checks ``use_cudnn``; returns the rest."""
    _no_extras(layer, **{k: kwargs.pop(k, None) for k in _EXTRAS})
    _check_use_cudnn(kwargs.pop("use_cudnn", "auto"))
    kwargs.pop("implementation", None)       # numerically irrelevant, as in Keras
    return kwargs


class LSTM(RNN):
    """Long short-term memory layer, numerically identical to Keras 3's ``LSTM``.

    Weights (``get_weights()`` order): kernel (F, 4u), recurrent_kernel (u, 4u),
    bias (4u,) if use_bias; gate order i, f, c, o. See ``rnnlens.cells.LSTMCell``
    for the equations. Also accepted, as in Keras: ``use_cudnn``,
    ``implementation`` (no effect on the numbers), and regularizers /
    constraints set to None.

    Returns:
        ``return_sequences=False``: h_T (B, u). ``True``: h after every step
        (B, T, u). With ``return_state=True``: the tuple ``(output, h_T, c_T)``,
        where ``h_T`` is the last hidden state (equal to the output's last step
        when there is no mask) and ``c_T`` the last cell state.
    """

    state_names = ("h", "c")

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 **kwargs: Any):
        kwargs = _split_layer_kwargs("LSTM", kwargs)
        cell = LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation,
                        use_bias=use_bias, kernel_initializer=kernel_initializer,
                        recurrent_initializer=recurrent_initializer,
                        bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                        dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)


class GRU(RNN):
    """Gated recurrent unit layer, numerically identical to Keras 3's ``GRU``.

    Weights: kernel (F, 3u), recurrent_kernel (u, 3u), bias (2, 3u) when
    ``reset_after=True`` (the default) or (3u,); gate order z, r, h. See
    ``rnnlens.cells.GRUCell`` for the equations.

    Returns:
        The output (B, u) or (B, T, u); with ``return_state=True`` the tuple
        ``(output, h_T)``.
    """

    state_names = ("h",)

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, **kwargs: Any):
        kwargs = _split_layer_kwargs("GRU", kwargs)
        cell = GRUCell(units, activation=activation, recurrent_activation=recurrent_activation,
                       use_bias=use_bias, kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, reset_after=reset_after, seed=seed)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)

    @property
    def reset_after(self) -> bool:
        return self.cell.reset_after


class SimpleRNN(RNN):
    """Fully connected RNN layer, numerically identical to Keras 3's ``SimpleRNN``.

    Weights: kernel (F, u), recurrent_kernel (u, u), bias (u,).

    Returns:
        The output (B, u) or (B, T, u); with ``return_state=True`` the tuple
        ``(output, h_T)``.
    """

    state_names = ("h",)

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 **kwargs: Any):
        kwargs = _split_layer_kwargs("SimpleRNN", kwargs)
        cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias,
                             kernel_initializer=kernel_initializer,
                             recurrent_initializer=recurrent_initializer,
                             bias_initializer=bias_initializer, dropout=dropout,
                             recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)


__all__ = ["RNN", "LSTM", "GRU", "SimpleRNN"]
