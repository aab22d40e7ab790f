"""Convolutional LSTM layers, as Keras 3.15.1 defines them: ConvLSTM1D, ConvLSTM2D, ConvLSTM3D.

A ConvLSTM is an LSTM whose states are feature maps and whose two matrix products are
convolutions (``rnnlens.cells.ConvLSTMCell`` has the equations). Inputs are sequences of
images ``(B, T, *S, C)`` (``data_format="channels_last"``) or ``(B, T, C, *S)``; the
output is ``h`` after the last step ``(B, *O, F)`` or after every step ``(B, T, *O, F)``
(``(..., F, *O)`` for channels_first), where O is the input convolution's output size
(``padding``, ``strides``, ``dilation_rate``) and F the ``filters``.

The layer is an ``RNN`` (``rnnlens.layers.recurrent``) with Keras's flags, run by the
one time loop (``rnnlens.recurrence``) on flattened maps:

* ``go_backwards`` consumes ``x[:, T-1]`` first and returns the sequence in processing
  order; ``return_state`` adds ``h_T, c_T``; ``stateful`` carries them to the next call;
* a mask (B, T) (from ``Masking`` upstream, or ``mask=``) holds both states at masked
  steps, where the output repeats the last one (0 before any, or with
  ``zero_output_for_mask``), as Keras's TensorFlow loop;
* ``initial_state=[h0, c0]`` takes maps of the state's shape ``(B, *O, F)``;
* ``backward`` is backpropagation through time (``rnnlens.recurrence.backward``) with
  the cell's convolution gradients; ``rnnlens.trace`` records ``h``, ``c`` and the gates
  as feature maps ``(B, T, *O, F)``.

Shape legend: B batch, T steps, S input spatial sizes, C channels, O output spatial
sizes, F filters.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens import recurrence
from rnnlens import trace as trace_mod
from rnnlens.cells.conv_lstm import ConvLSTMCell
from rnnlens.layers.base import Layer, format_shape, to_float_array
from rnnlens.layers.recurrent import RNN

_FLAGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
          "zero_output_for_mask")


class ConvLSTM(RNN):
    """N-D convolutional LSTM (base of ConvLSTM1D / 2D / 3D; ``rank`` spatial axes).

    Weights (``get_weights()`` order): kernel (*k, C, 4F), recurrent_kernel (*k, F, 4F),
    bias (4F,) if use_bias; gate order i, f, c, o.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
        recurrent_activation, use_bias, *_initializer, unit_forget_bias, *_regularizer,
        *_constraint, dropout, recurrent_dropout, seed: the cell's
        (``rnnlens.cells.ConvLSTMCell``).
        activity_regularizer: a penalty on the output.
        return_sequences, return_state, go_backwards, stateful: as ``LSTM``'s.
        unroll, zero_output_for_mask: keywords, as Keras passes them to its ``RNN``.

    Returns:
        The output ``(B, *O, F)`` or ``(B, T, *O, F)``; with ``return_state=True`` the
        tuple ``(output, h_T, c_T)``, each state ``(B, *O, F)``.
    """

    registered = False
    rank = 1
    cell_class = ConvLSTMCell
    activity_regularizer = P.Regularizer()
    state_names = ("h", "c")

    @classmethod
    def _declared_params(cls) -> dict:
        """Keras's signature order: the cell's arguments (no ``rank``) with
        ``activity_regularizer`` after ``bias_regularizer``, then the RNN flags."""
        own = P.declared(cls)
        out: dict = {}
        for key, param in ConvLSTMCell._params.items():
            if key != "rank":
                out[key] = param
            if key == "bias_regularizer":
                out["activity_regularizer"] = own["activity_regularizer"]
        out.update({k: own[k] for k in _FLAGS})
        return out

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        values, rest = P.bind(cls, cls._params, args, kwargs)
        cell_args = {k: v for k, v in values.items() if k in ConvLSTMCell._params}
        cell = ConvLSTMCell(rank=cls.rank, **cell_args, name="conv_lstm_cell",
                            trainable=rest.get("trainable", True))
        rest["activity_regularizer"] = values["activity_regularizer"]
        RNN.__init__(self, cell, **{k: values[k] for k in _FLAGS}, **rest)

    def get_config(self) -> dict:
        """Keras's key order: name, trainable, dtype (then activity_regularizer when set,
        where Keras's base ``Layer.get_config`` puts it), the RNN flags, the rest."""
        config = super().get_config()
        keys = ["name", "trainable", "dtype"]
        if config.get("activity_regularizer") is not None:
            keys.append("activity_regularizer")
        keys += _FLAGS
        keys += [k for k in config if k not in keys]
        return {k: config[k] for k in keys}

    # -- shapes ----------------------------------------------------------------

    def _kind(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple):
            raise TypeError(f"{self._kind()} expects one input tensor, received "
                            f"{len(shape)} inputs. Pass initial states with "
                            "initial_state=[h, c].")
        r = self.rank
        if len(shape) != r + 3:
            dims = ", ".join(["dim1", "dim2", "dim3"][:r])
            order = f"{dims}, channels" if self.cell.data_format == "channels_last" \
                else f"channels, {dims}"
            hint = (" The input must be a sequence of feature maps; a single map per "
                    "sample needs a time axis of length 1." if len(shape) == r + 2 else "")
            raise ValueError(f"Input 0 of {self._kind()} is incompatible with the layer: "
                             f"expected ndim={r + 3} (batch, time, {order}), found "
                             f"ndim={len(shape)}. Full shape received: "
                             f"{format_shape(shape)}.{hint}")
        for axis, what in ((0, "an empty batch (0 samples)"), (1, "0 time steps")):
            if shape[axis] == 0:
                raise ValueError(f"{self._kind()} received {what}, shape "
                                 f"{format_shape(shape)}; expected at least one.")
        spatial, channels = self.cell.split_shape(shape[2:])
        if any(d is None for d in spatial):
            raise ValueError("ConvLSTM layers only support static input shapes for the "
                             f"spatial dimension. Received invalid input shape: "
                             f"input_shape={format_shape(shape)} ({self._kind()}).")
        if channels is None:
            raise ValueError(f"{self._kind()}: the channel dimension of the inputs should "
                             f"be defined. Found None. Full input shape received: "
                             f"{format_shape(shape)}.")
        if 0 in spatial or channels == 0:
            raise ValueError(f"{self._kind()} received an input with an empty spatial or "
                             f"channel axis, shape {format_shape(shape)}.")
        if self.cell.built and (tuple(spatial), channels) != (self.cell.spatial,
                                                              self.cell.input_channels):
            raise ValueError(f"{self._kind()} was built for steps of shape "
                             f"{format_shape(self.cell.step_shape())}, received an input of "
                             f"shape {format_shape(shape)}. Feed steps of the same shape, or "
                             "use a new layer.")
        self.cell.output_spatial(spatial)

    def build(self, input_shape: tuple) -> None:
        shape = tuple(input_shape)
        self.check_input_shape(shape)
        if not self.cell.built:
            self.cell.build((shape[0], *shape[2:]))
        if self.stateful:
            self._check_stateful_batch(shape[0])
            self._batch = int(shape[0])
            self._states = self.cell.zero_states(self._batch)
        self.built = True

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> Any:
        batch, steps = input_shape[0], input_shape[1]
        spatial, _ = self.cell.split_shape(input_shape[2:])
        out = self.cell.output_spatial(spatial)
        f = self.cell.filters
        state = (*out, f) if self.cell.data_format == "channels_last" else (f, *out)
        output = (batch, steps, *state) if self.return_sequences else (batch, *state)
        if self.return_state:
            return (output, (batch, *state), (batch, *state))
        return output

    # -- calling ---------------------------------------------------------------

    def _run(self, inputs: Any, initial_state: Any, mask: Any, training: Any,
             keep: bool) -> tuple[Any, dict | None]:
        x = to_float_array(inputs, f"input to layer '{self.name}'")
        self.check_input_shape(tuple(x.shape))
        batch, steps = x.shape[0], x.shape[1]
        xf = self.cell.flat_inputs(x)                               # (B, T, prod(S) C)
        states = self._initial_states(initial_state, batch)         # flat, (B, P F) each
        mask = self._check_mask(mask, batch, steps)
        recorder = trace_mod.current()
        quirk = self._unrolled_backward_zero_quirk(mask)
        result = recurrence.run(
            self.cell, xf, states, mask=mask, go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask and not quirk,
            training=bool(training), record=keep or recorder is not None,
            initial_output=states[0] if self.masked_output_from_state else None)
        if quirk:
            result.output *= mask[:, :, None]
        if self.stateful:
            self._states = [s.copy() for s in result.states]
        result.output = self.cell.feature_maps(result.output)
        if recorder is not None:
            recorder.add(self, result)
        cache = None
        if keep:
            cache = {"x": xf, "record": result.record, "quirk": quirk, "mask": mask,
                     "given_states": initial_state is not None}
        if self.return_state:
            return (result.output, *[self.cell.feature_maps(s) for s in result.states]), cache
        return result.output, cache

    def backward(self, cache: dict, d_out: Any) -> tuple[np.ndarray, dict, list[np.ndarray]]:
        """dL/d(input), dL/d(initial_state) and the weight gradients of one call (the
        feature maps flattened for ``RNN.backward``, the results reshaped back)."""
        flat = (lambda d: None if d is None else self.cell.flat_maps(np.asarray(d)))
        d_out = tuple(flat(d) for d in d_out) if self.return_state else flat(d_out)
        d_x, extra, grads = super().backward(cache, d_out)
        if "initial_state" in extra:
            extra = {"initial_state": [self.cell.feature_maps(d)
                                       for d in extra["initial_state"]]}
        return self.cell.input_maps(d_x), extra, grads

    def _check_mask(self, mask: Any, batch: int, steps: int) -> np.ndarray | None:
        """A (B, T) mask; a mask per position of each step (what ``Masking`` gives on
        feature maps, where Keras's loop fails inside TensorFlow) is refused with a hint."""
        shape = np.shape(mask) if mask is not None else ()
        if len(shape) > 2 and tuple(shape[:2]) == (batch, steps) and \
                any(d != 1 for d in shape[2:]):
            raise ValueError(
                f"{self._kind()} received a mask of shape {tuple(shape)}, one value per "
                "position of each step (a Masking layer on feature maps gives such a mask). "
                "A ConvLSTM masks whole steps: pass mask= of shape (batch, timesteps), e.g. "
                "the steps where any value is non-zero.")
        return super()._check_mask(mask, batch, steps)

    # -- states ----------------------------------------------------------------

    def _initial_states(self, initial_state: Any, batch: int) -> list[np.ndarray]:
        """The flat states to start from: given, stored (stateful) or zeros."""
        if self.stateful:
            self._check_stateful_batch(batch)
        if initial_state is None:
            return self._states if self.stateful else self.cell.zero_states(batch)
        return self._check_states(initial_state, batch, "initial_state")

    def _check_states(self, states: Any, batch: int, what: str) -> list[np.ndarray]:
        """[h, c] feature maps (B, *O, F) / (B, F, *O), checked, flattened."""
        if not isinstance(states, (list, tuple)):
            states = [states]
        shape = (batch, *self.cell.state_shape())
        if len(states) != 2:
            raise ValueError(f"Layer '{self.name}' expects 2 states in {what} ([h, c], each "
                             f"of shape {shape}), received {len(states)}.")
        out = []
        for k, s in enumerate(states):
            arr = to_float_array(s, f"{what}[{k}] of layer '{self.name}'")
            if arr.shape != shape:
                raise ValueError(f"Layer '{self.name}' received {what}[{k}] of shape "
                                 f"{arr.shape}, expected (batch, *state) = {shape}.")
            out.append(self.cell.flat_maps(arr))
        return out

    @property
    def states(self) -> list[np.ndarray] | None:
        """The stored states [h, c] of a stateful layer as feature maps, else None."""
        if self._states is None:
            return None
        return [self.cell.feature_maps(s) for s in self._states]

    def reset_state(self, states: Any = None) -> None:
        """Zeros the stored states of a stateful layer (or sets them to ``states``, maps);
        does nothing for a layer that keeps none."""
        if self._states is None:
            if states is not None:
                raise ValueError(f"Layer '{self.name}' keeps no states (stateful=False or not "
                                 "built), so states cannot be set; create it with "
                                 "stateful=True.")
            return
        self._states = self.cell.zero_states(self._batch) if states is None else \
            self._check_states(states, self._batch, "states")

    reset_states = reset_state

    def step(self, x_t: Any, states: Any = None, mask: Any = None,
             training: bool = False) -> tuple[np.ndarray, list]:
        """One time step on maps: ``(h, [h, c]) = layer.step(x_t, [h, c])``.

        Args:
            x_t: (B, *S, C) / (B, C, *S) input at this step.
            states: [h, c] maps; None for the stored states (stateful) or zeros.
            mask: optional (B,) bool; samples where it is False keep their states and
                output their previous ``h``.
            training: apply dropout (fresh masks each call).
        """
        x = to_float_array(x_t, f"x_t given to {self.name}.step")
        if x.ndim != self.rank + 2:
            raise ValueError(f"{self.name}.step takes one time step of ndim {self.rank + 2} "
                             f"(batch, *spatial, channels), received shape {x.shape}. To "
                             "run a whole sequence, call the layer instead.")
        shape = (x.shape[0], 1, *x.shape[1:])
        if not self.built:
            self.build(shape)
        self.check_input_shape(shape)
        prev = self._initial_states(states, x.shape[0])
        new = self.cell.step_into(self.cell.flat_inputs(x), prev, training)
        if mask is not None:
            keep = self._check_mask(np.asarray(mask).reshape(-1, 1), x.shape[0], 1)
            new = [np.where(keep, n, p) for n, p in zip(new, prev)]
        if self.stateful:
            self._states = [s.copy() for s in new]
        maps = [self.cell.feature_maps(s) for s in new]
        return maps[0].copy(), maps


ConvLSTM.__init__.__signature__ = P.signature(  # type: ignore[attr-defined]
    ConvLSTM._params,
    [p for k, p in inspect.signature(Layer.__init__).parameters.items() if k != "self"])


class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM: inputs (B, T, steps, C), states (B, steps', F); see
    :class:`ConvLSTM` and ``rnnlens.cells.ConvLSTMCell``."""

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM: inputs (B, T, rows, cols, C), states (B, rows', cols', F)
    (the layer of Keras's next-frame video prediction example); see :class:`ConvLSTM`."""

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM: inputs (B, T, d1, d2, d3, C), states (B, d1', d2', d3', F);
    see :class:`ConvLSTM`."""

    rank = 3


__all__ = ["ConvLSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
