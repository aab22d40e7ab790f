"""The ConvLSTM cell: one time step on feature maps, exactly as Keras 3's ``ConvLSTMCell``.

The LSTM equations with both matrix products replaced by convolutions (Shi et al., 2015,
without the peephole terms; Keras's gate order i, f, c, o along the 4F output channels of
the kernels and the bias). ``*`` is the elementwise product, ``conv_x`` the convolution
with the layer's ``strides``, ``padding`` and ``dilation_rate``, ``conv_h`` a "same"
convolution with stride 1 and no dilation (so the state keeps its spatial size)::

    z   = conv_x(x_t, W) + b + conv_h(h_tm1, U)    # (B, *O, 4F)
    i   = σ(z[..., 0F:1F])                          # input gate
    f   = σ(z[..., 1F:2F])                          # forget gate
    g   = act(z[..., 2F:3F])                        # candidate ("c" block in Keras)
    o   = σ(z[..., 3F:4F])                          # output gate
    c_t = f * c_tm1 + i * g                         # (B, *O, F) cell state
    h_t = o * act(c_t)                              # (B, *O, F) hidden state = output

Weights: kernel W (*k, C, 4F), recurrent_kernel U (*k, F, 4F), bias b (4F,).

How it fits the one time loop (``rnnlens.recurrence``): the loop keeps (B, s) states, so
the cell works on *flattened* feature maps, always in channels-last order: an input step
is ``(B, prod(S) * C)`` and each state ``(B, prod(O) * F)``; ``state_size`` is that flat
size. ``project`` runs the input convolution for every step at once (one im2col + one
matrix multiply over T * B images); the step runs the recurrent convolution (im2col of
``h_tm1`` + one multiply) and the gate arithmetic on (B * prod(O), 4F) views of the
flat buffers. Where this differs from the dense cells:

* ``gate_views`` returns feature maps ``(..., *O, F)`` (``(..., F, *O)`` for
  ``channels_first``), not (..., u) blocks; ``feature_maps`` turns a flat state into
  maps the same way (``rnnlens.trace`` uses both).
* ``get_initial_state`` returns maps, as Keras's; the layer uses ``zero_states`` (flat).
* dropout always draws 4 masks per kind (Keras's ``dropout_mask_count = 4``), one per
  gate, over every element of the step input / of ``h_tm1``.
* a softmax-like activation is applied to the maps in the layer's data format along the
  last axis, as Keras applies it to its tensors (channels for ``channels_last``, the last
  spatial axis for ``channels_first``).

Backward (``backward_prepare`` / ``backward_step`` / ``backward_weights``, in
``rnnlens.cells._conv_lstm_backward``): the LSTM's reverse step on the same views;
``dh_tm1 = col2im(dz U^T)`` per step, and the weight gradients ``dW = im2col(x)^T dz``,
``dU = im2col(h_prev)^T dz``, ``db = sum dz`` once over all steps.

Memory: the all-steps convolutions (``project`` and the weight gradients) run over
chunks of steps whose im2col matrices hold at most ``CHUNK_ELEMENTS`` (2**24) numbers.

Shape legend: B batch, T steps, S input spatial sizes, C input channels, O output spatial
sizes, P = prod(O), F filters, k kernel size.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.cells._conv_lstm_backward import _ConvLSTMBackward, time_chunks
from rnnlens.cells.base import FLOATX, RecurrentCell, StepFn
from rnnlens.layers._spatial import (SpatialTuple, data_format_param, output_length,
                                     resolve_data_format)


def _core() -> Any:
    """``rnnlens.ops._conv_core``, imported on first use (``import rnnlens`` stays light)."""
    from rnnlens.ops import _conv_core

    return _conv_core


def _nn_conv() -> Any:
    from rnnlens.ops import nn_conv

    return nn_conv


class ConvLSTMCell(_ConvLSTMBackward, RecurrentCell):
    """Convolutional LSTM cell over ``rank`` spatial dimensions (1, 2 or 3).

    Args:
        rank: the number of spatial dimensions.
        filters: F, the channels of ``h`` and ``c``.
        kernel_size: int or tuple of ``rank`` ints, for both convolutions.
        strides: int or tuple; of the input convolution. ``strides > 1`` cannot go with
            ``dilation_rate > 1``.
        padding: "valid" or "same" (case-insensitive), of the input convolution (the
            recurrent one is always "same").
        data_format: "channels_last" (B, *S, C) or "channels_first" (B, C, *S); None is
            ``image_data_format()``.
        dilation_rate: int or tuple; of the input convolution.
        activation: act for the candidate and for ``c_t`` (default tanh).
        recurrent_activation: σ for the i, f, o gates (default sigmoid).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        *_regularizer, *_constraint: as Keras's.
        unit_forget_bias: the forget block of the bias starts at exactly 1.0.
        dropout, recurrent_dropout: rates in [0, 1] (training only).
        seed: seed of this cell's dropout generator.
    """

    registered = False                  # Keras exports no ConvLSTMCell; files never name it

    rank = P.Int(min=1, max=3, cap=None)
    filters = P.Int(min=1, cap="max_units")
    kernel_size = SpatialTuple()
    strides = SpatialTuple(1)
    padding = P.Choice("valid", ("valid", "same"), lower=True)
    data_format = data_format_param()
    dilation_rate = SpatialTuple(1)
    activation = P.Activation("tanh")
    recurrent_activation = P.Activation("sigmoid")
    use_bias = P.Bool(True)
    kernel_initializer = P.Initializer("glorot_uniform")
    recurrent_initializer = P.Initializer("orthogonal")
    bias_initializer = P.Initializer("zeros")
    unit_forget_bias = P.Bool(True)
    kernel_regularizer = P.Regularizer()
    recurrent_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    recurrent_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    dropout = P.Rate(0.0)
    recurrent_dropout = P.Rate(0.0)
    seed = P.Seed()

    gate_names = ("i", "f", "g", "o")
    gate_count = 4

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None
        self.data_format = resolve_data_format(self.data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "Specifying `strides > 1` is not compatible with `dilation_rate > 1`. Please "
                f"provide `strides=1` or `dilation_rate=1`. Received: strides={self.strides} "
                f"and dilation_rate={self.dilation_rate}")
        self.input_dim: int | None = None
        self.spatial: tuple[int, ...] | None = None            # S
        self.input_channels: int | None = None                 # C
        self.out_spatial: tuple[int, ...] | None = None        # O
        self.state_size = (-1, -1)                             # Keras's "custom" until built
        self._umat: tuple | None = None

    @property
    def output_size(self) -> int:
        return self.state_size[0]

    def get_config(self) -> dict:
        """Keras's cell config (which has no ``rank``: ``from_config`` infers it)."""
        config = super().get_config()
        config.pop("rank", None)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "ConvLSTMCell":
        config = dict(config)
        if "rank" not in config and isinstance(config.get("kernel_size"), (list, tuple)):
            config["rank"] = len(config["kernel_size"])
        return super().from_config(config)

    # -- shapes --------------------------------------------------------------

    def split_shape(self, dims: Sequence[Any]) -> tuple[tuple, Any]:
        """(spatial sizes, channels) of a step shape without its batch axis."""
        dims = tuple(dims)
        if self.data_format == "channels_last":
            return dims[:-1], dims[-1]
        return dims[1:], dims[0]

    def output_spatial(self, sizes: Sequence[Any]) -> tuple:
        """O for input spatial sizes S (None stays None); a ValueError if O <= 0."""
        out = tuple(output_length(n, k, s, d, self.padding) for n, k, s, d in
                    zip(sizes, self.kernel_size, self.strides, self.dilation_rate))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(
                f"ConvLSTM cell '{self.name}': the input convolution's output would be empty "
                f"or negative. Received inputs of spatial shape {tuple(sizes)}, kernel_size="
                f"{self.kernel_size}, dilation_rate={self.dilation_rate}, strides="
                f"{self.strides}, padding={self.padding!r}. Use larger inputs, a smaller "
                "kernel, or padding='same'.")
        return out

    def state_shape(self) -> tuple[int, ...]:
        """One sample's state in the data format: (*O, F) or (F, *O)."""
        o, f = self.out_spatial, self.filters
        return (*o, f) if self.data_format == "channels_last" else (f, *o)

    # -- flat <-> maps (the loop's layout is flat, channels-last) ------------

    def _last(self, a: np.ndarray) -> np.ndarray:
        """(..., C, *S) -> (..., *S, C) for channels_first; unchanged otherwise."""
        if self.data_format == "channels_last":
            return a
        return np.moveaxis(a, -self.rank - 1, -1)

    def _first(self, a: np.ndarray) -> np.ndarray:
        """(..., *S, C) -> the data format's layout."""
        if self.data_format == "channels_last":
            return a
        return np.moveaxis(a, -1, -self.rank - 1)

    def flat_inputs(self, x: np.ndarray) -> np.ndarray:
        """Steps (..., *S, C) / (..., C, *S) -> (..., prod(S) * C), channels-last order."""
        x = self._last(x)
        return np.ascontiguousarray(x).reshape(*x.shape[: -self.rank - 1], -1)

    def input_maps(self, flat: np.ndarray) -> np.ndarray:
        """The inverse of ``flat_inputs``."""
        maps = flat.reshape(*flat.shape[:-1], *self.spatial, self.input_channels)
        return np.ascontiguousarray(self._first(maps))

    def feature_maps(self, flat: np.ndarray) -> np.ndarray:
        """A flat state (..., P * F) as maps in the data format: (..., *O, F) / (..., F, *O)."""
        maps = flat.reshape(*flat.shape[:-1], *self.out_spatial, self.filters)
        return np.ascontiguousarray(self._first(maps))

    def flat_maps(self, maps: np.ndarray) -> np.ndarray:
        """The inverse of ``feature_maps``: (..., *O, F) / (..., F, *O) -> (..., P * F)."""
        maps = self._last(maps)
        return np.ascontiguousarray(maps).reshape(*maps.shape[: -self.rank - 1], -1)

    # -- weights -------------------------------------------------------------

    def build(self, input_shape: Any) -> None:
        """Creates W (*k, C, 4F), U (*k, F, 4F) and b (4F,) for steps of ``input_shape``
        ((B, *S, C) or (B, C, *S))."""
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"ConvLSTM cell '{self.name}' (rank {self.rank}) takes steps of "
                             f"ndim {self.rank + 2} (batch, *spatial, channels), received "
                             f"shape {shape}.")
        spatial, channels = self.split_shape(shape[1:])
        if any(d is None for d in spatial):
            raise ValueError("ConvLSTM layers only support static input shapes for the "
                             f"spatial dimension. Received invalid input shape: "
                             f"input_shape={shape}")
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found "
                             f"None. Full input shape received: input_shape={shape}")
        self.out_spatial = self.output_spatial(spatial)
        self.spatial, self.input_channels = tuple(int(d) for d in spatial), int(channels)
        self.input_dim = math.prod(self.spatial) * self.input_channels
        size = math.prod(self.out_spatial) * self.filters
        self.state_size = (size, size)
        f4 = 4 * self.filters
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, self.input_channels, f4),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(*self.kernel_size, self.filters, f4), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(f4,), initializer=self.bias_init(), regularizer=self.bias_regularizer,
                constraint=self.bias_constraint, name="bias")
        self.built = True
        self.weights_changed()

    def bias_init(self) -> Any:
        """``unit_forget_bias``: [init(F), ones(F), init(2F)], as Keras's."""
        if not self.unit_forget_bias:
            return self.bias_initializer
        from rnnlens import initializers

        init = self.bias_initializer or initializers.get("glorot_uniform")
        f = self.filters

        def forget_one(shape: tuple, dtype: Any = None) -> np.ndarray:
            return np.concatenate([init((f,), FLOATX), np.ones((f,), FLOATX),
                                   init((2 * f,), FLOATX)]).astype(FLOATX)

        return forget_one

    def _recurrent_matrix(self) -> np.ndarray:
        """U as the (F * prod(k), 4F) matrix of im2col rows (kept per weight version)."""
        if self._umat is None or self._umat[0] != self._version:
            self._umat = (self._version, _core().kernel_matrix(self.recurrent_kernel))
        return self._umat[1]

    def _geometry(self, recurrent: bool) -> Any:
        """The windows of the recurrent ("same", stride 1) or the input convolution."""
        ones = (1,) * self.rank
        if recurrent:
            return _core().geometry(self.out_spatial, self.kernel_size, ones, ones, "same",
                                    "conv")
        return _core().geometry(self.spatial, self.kernel_size, self.strides,
                                self.dilation_rate, self.padding, "conv")

    # -- states and dropout --------------------------------------------------

    def get_initial_state(self, batch: int) -> list[np.ndarray]:
        """Zero maps [h, c], each (B, *O, F) / (B, F, *O), as Keras's cell returns."""
        return [np.zeros((batch, *self.state_shape()), FLOATX) for _ in range(2)]

    def zero_states(self, batch: int) -> list[np.ndarray]:
        """Zero flat states [h, c], each (B, P * F): what the loop starts from."""
        return [np.zeros((batch, s), FLOATX) for s in self.state_size]

    def dropout_masks(self, batch: int, training: bool
                      ) -> tuple[list[np.ndarray] | None, list[np.ndarray] | None]:
        """Four masks per dropout kind (one per gate), drawn once per layer call."""
        if not training:
            return None, None
        inp = rec = None
        if 0.0 < self.dropout < 1.0:
            inp = [self._draw_mask((batch, self.input_dim), self.dropout) for _ in range(4)]
        if 0.0 < self.recurrent_dropout < 1.0:
            rec = [self._draw_mask((batch, self.state_size[0]), self.recurrent_dropout)
                   for _ in range(4)]
        return inp, rec

    def mask_count(self) -> int:
        return 4

    # -- one step on maps (Keras's cell API) ---------------------------------

    def __call__(self, inputs: Any, states: Any = None, training: bool = False
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One step: ``(h, [h, c]) = cell(x_t, [h_tm1, c_tm1])``, all feature maps.

        Args:
            inputs: x_t, (B, *S, C) or (B, C, *S).
            states: [h_tm1, c_tm1] maps (B, *O, F) / (B, F, *O); None for zeros.
            training: apply dropout (fresh masks each call).
        """
        from rnnlens.layers.base import to_float_array

        x = to_float_array(inputs, f"x_t given to cell '{self.name}'")
        if not self.built:
            self.build(x.shape)
        if x.ndim != self.rank + 2 or self.split_shape(x.shape[1:]) != (
                self.spatial, self.input_channels):
            raise ValueError(f"Cell '{self.name}' was built for steps of shape (batch, "
                             f"{', '.join(map(str, self.step_shape()))}), received "
                             f"x_t of shape {x.shape}.")
        batch = x.shape[0]
        if states is None:
            flat = self.zero_states(batch)
        else:
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            if len(states) != 2:
                raise ValueError(f"Cell '{self.name}' has 2 states [h, c], received "
                                 f"{len(states)}.")
            flat = []
            for k, s in enumerate(states):
                arr = to_float_array(s, f"state {k} of cell '{self.name}'")
                if arr.shape != (batch, *self.state_shape()):
                    raise ValueError(f"Cell '{self.name}' state {k} should have shape "
                                     f"{(batch, *self.state_shape())}, received {arr.shape}.")
                flat.append(self.flat_maps(arr))
        new = self.step_into(self.flat_inputs(x), flat, training)
        maps = [self.feature_maps(s) for s in new]
        return maps[0].copy(), maps

    call = __call__

    def step_shape(self) -> tuple[int, ...]:
        """One step's input shape without the batch, in the data format."""
        s, c = self.spatial, self.input_channels
        return (*s, c) if self.data_format == "channels_last" else (c, *s)

    # -- the loop's contract -------------------------------------------------

    def project(self, xs: np.ndarray, input_masks: list[np.ndarray] | None) -> np.ndarray:
        """``conv_x(x_t, W) + b`` for every step at once: (T, B, prod(S) C) -> (T, B, P 4F).

        One convolution of the step images (channels-last) per chunk of steps; with input
        dropout, one per gate on its masked input and its block of W.
        """
        t, b, _ = xs.shape
        f = self.filters
        conv = _nn_conv().conv_forward
        args = (self.strides, self.padding, "channels_last", self.dilation_rate)
        z = np.empty((t, b * math.prod(self.out_spatial), 4 * f), FLOATX)   # (T, B P, 4F)
        per_step = b * math.prod(self.out_spatial) * self.input_channels * math.prod(
            self.kernel_size)
        for part in time_chunks(t, per_step):
            x = xs[part]
            images = (x.shape[0] * b, *self.spatial, self.input_channels)
            for k in range(1 if input_masks is None else 4):
                blk = slice(0, 4 * f) if input_masks is None else slice(k * f, (k + 1) * f)
                xk = x if input_masks is None else x * input_masks[k]
                z[part, :, blk] = conv(xk.reshape(images), self.kernel[..., blk], *args)[0] \
                    .reshape(x.shape[0], -1, blk.stop - blk.start)
        if self.use_bias:
            z += self.bias
        return z.reshape(t, b, -1)

    def _recurrent_conv(self, h: np.ndarray, masks: list[np.ndarray] | None,
                        out: np.ndarray | None = None) -> np.ndarray:
        """``conv_h(h, U)`` for flat states h (..., P F) -> (prod(...) P, 4F) rows."""
        core, f, geo, u = _core(), self.filters, self._geometry(True), self._recurrent_matrix()
        lead = math.prod(h.shape[:-1])

        def cols(k: int) -> np.ndarray:                    # (lead P, F prod(k))
            hk = h if masks is None else h * masks[k]
            return core.im2col(hk.reshape(lead, *self.out_spatial, f), geo, "conv")

        if masks is None:
            return np.matmul(cols(0), u, out=out)
        out = np.empty((lead * math.prod(self.out_spatial), 4 * f), FLOATX) if out is None \
            else out
        for k in range(4):
            np.matmul(cols(k), u[:, k * f:(k + 1) * f], out=out[:, k * f:(k + 1) * f])
        return out

    def stepper(self, batch: int, recurrent_masks: list[np.ndarray] | None,
                gates: np.ndarray, training: bool = False) -> StepFn:
        """The per-step function: ``gates`` is the (B, P 4F) workspace or a (T, B, P 4F)
        record; each step views it (and the flat states) as (B P, ·) rows."""
        f = self.filters
        n = batch * math.prod(self.out_spatial)
        ig = np.empty((n, f), FLOATX)

        def step(t: int, xp_t: np.ndarray, states_tm1: Sequence[np.ndarray],
                 states: Sequence[np.ndarray]) -> None:
            h_tm1, c_tm1 = states_tm1
            z = (gates[t] if gates.ndim == 3 else gates).reshape(n, 4 * f)
            self._recurrent_conv(h_tm1, recurrent_masks, out=z)     # conv_h(h_tm1, U)
            z += xp_t.reshape(n, 4 * f)                             #   + conv_x(x_t, W) + b
            self._activate(z)                                       # i, f, g, o in place
            c, h = states[1].reshape(n, f), states[0].reshape(n, f)
            np.multiply(z[:, f:2 * f], c_tm1.reshape(n, f), out=c)  # f * c_tm1
            np.multiply(z[:, :f], z[:, 2 * f:3 * f], out=ig)        # i * g
            c += ig                                                 # c_t
            h[...] = self._apply(self.activation, c)
            h *= z[:, 3 * f:]                                       # h_t = o * act(c_t)

        return step

    def _activate(self, z: np.ndarray) -> None:
        """σ on the i, f, o blocks and act on g of (N, 4F) rows, in place."""
        f, rec, act = self.filters, self.recurrent_activation, self.activation
        if activations.is_elementwise(rec) and activations.is_elementwise(act):
            z[:, :2 * f] = rec(z[:, :2 * f])
            z[:, 3 * f:] = rec(z[:, 3 * f:])
            z[:, 2 * f:3 * f] = act(z[:, 2 * f:3 * f])
            return
        for k, fn in enumerate((rec, rec, act, rec)):
            block = z[:, k * f:(k + 1) * f]
            block[...] = self._apply(fn, block)

    def _apply(self, fn: Any, a: np.ndarray) -> np.ndarray:
        """``fn`` on (N, F) rows of maps; softmax-like ones on the maps in the data format."""
        if activations.is_elementwise(fn):
            return fn(a)
        maps = self._first(a.reshape(-1, *self.out_spatial, self.filters))
        return self._last(fn(maps)).reshape(a.shape)

    def gate_views(self, gates: np.ndarray) -> dict[str, np.ndarray]:
        """Names the gate record (..., P 4F) as maps i, f, g, o, each (..., *O, F) in the
        data format ((..., F, *O) for channels_first)."""
        f = self.filters
        z = gates.reshape(*gates.shape[:-1], *self.out_spatial, 4 * f)
        return {name: self._first(z[..., k * f:(k + 1) * f])
                for k, name in enumerate(("i", "f", "g", "o"))}


__all__ = ["ConvLSTMCell"]
