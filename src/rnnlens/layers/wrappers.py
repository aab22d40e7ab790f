"""Wrappers: ``TimeDistributed`` applies a layer to every time step, ``Bidirectional`` runs
a recurrent layer both ways; ``Wrapper`` is Keras's base class of such layers and
``SpectralNormalization`` normalizes a wrapped layer's kernel."""

from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.weights import as_list


def _check_inner(layer: Any) -> Layer:
    if not isinstance(layer, Layer):
        raise ValueError(f"Please initialize `TimeDistributed` layer with a layer instance. "
                         f"Received: {layer!r}")
    return layer


def _check_wrapped(layer: Any) -> Layer:
    if not isinstance(layer, Layer):
        raise ValueError(f"Layer {layer!r} supplied to Wrapper isn't a supported layer type. "
                         "Please ensure wrapped layer is a valid Keras layer.")
    return layer


class Wrapper(Layer):
    """Keras's abstract base of the layers that wrap another layer (``layer``).

    A subclass implements ``call`` (and, to train, ``forward`` / ``backward``) around
    ``self.layer``; ``build`` builds the wrapped layer, ``get_config`` writes it as
    ``{"layer": <its full Keras entry>}``, and its weights follow the wrapper's own in
    ``weights`` and in files (under ``layer/``), as in Keras. Not a layer by itself:
    model files never name it.

    Args:
        layer: the layer to wrap.
    """

    layer = P.Nested(accept=_check_wrapped)

    registered = False

    def build(self, input_shape: Any = None) -> None:
        if not self.layer.built:
            self.layer.maybe_build(input_shape)
        self.built = True


class TimeDistributed(Wrapper):
    """Applies ``layer`` to each time step of a (B, T, ...) input, same weights.

    ``y[:, t] = layer(x[:, t])`` for every t. The steps are folded into the
    batch (one call on (B*T, ...)), which gives Keras's per-step loop's numbers
    for every layer whose output for a sample depends on that sample alone. A
    layer whose training-mode output depends on the whole batch
    (``per_step_in_training``, e.g. BatchNormalization: batch statistics,
    moving averages) runs step by step in training, as Keras's loop runs it,
    with ``mask[:, t]``. The mask passes through unchanged.

    Args:
        layer: the layer to apply, e.g. ``Dense(1)``.
    """

    layer = P.Nested(accept=_check_inner)

    supports_masking = True

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) < 3:
            raise ValueError(
                f"`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                f"dimensions, received: {shape}. Layer '{self.name}' needs (batch, timesteps, "
                "...); if its input comes from a recurrent layer, set return_sequences=True "
                "on that layer."
            )
        self.layer.check_input_shape((shape[0], *shape[2:]))

    def build(self, input_shape: tuple) -> None:
        self.layer.maybe_build((input_shape[0], *input_shape[2:]))
        self.built = True

    def _per_step(self, training: bool) -> bool:
        return bool(training) and getattr(self.layer, "per_step_in_training", False) \
            and self.layer.trainable

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs, training=training, mask=mask)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        batch, steps = inputs.shape[:2]
        if self._per_step(training):                     # Keras's loop over time steps
            outs = [self.layer.forward(inputs[:, t], training=training,
                                       **({} if mask is None else {"mask": mask[:, t]}))
                    for t in range(steps)]
            y = np.stack([o for o, _ in outs], axis=1)   # (B, T, ...)
            return y, ("steps", [c for _, c in outs])
        folded = inputs.reshape(batch * steps, *inputs.shape[2:])
        y, inner = self.layer.forward(folded, training=training)
        return y.reshape(batch, steps, *y.shape[1:]), (batch, steps, inner)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        if cache[0] == "steps":
            results = [self.layer.backward(c, d_out[:, t]) for t, c in enumerate(cache[1])]
            grads = [sum(g) for g in zip(*(r[2] for r in results))]
            return np.stack([r[0] for r in results], axis=1), {}, grads
        batch, steps, inner = cache
        d_in, _, grads = self.layer.backward(inner, d_out.reshape(batch * steps,
                                                                  *d_out.shape[2:]))
        return d_in.reshape(batch, steps, *d_in.shape[1:]), {}, grads

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        inner = self.layer.compute_output_shape((input_shape[0], *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])



_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def clone_recurrent(layer: Any, **overrides: Any) -> Any:
    """A fresh layer from ``layer``'s config (new weights), with ``overrides``.

    Built-in layers are rebuilt from ``get_config()`` as Keras does; a generic
    ``RNN`` around user cells is deep-copied (its cells keep their weights).
    """
    from rnnlens.layers.recurrent import GRU, LSTM, SimpleRNN

    if type(layer) in (LSTM, GRU, SimpleRNN):
        config = layer.get_config()
        config.update(overrides)
        return type(layer).from_config(config)
    twin = copy.deepcopy(layer)
    twin._inbound_nodes = []
    for key, value in overrides.items():
        setattr(twin, key, value)
    return twin


def _removeprefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Wrapper):
    """Runs a recurrent layer forwards and backwards and merges the two outputs.

    As Keras 3.15.1: both directions are fresh copies of ``layer`` (new
    weights), named ``forward_<name>`` and ``backward_<name>``; the backward
    sequence is flipped back into time order when ``return_sequences=True``;
    ``initial_state`` is split in halves (LSTM: ``[h_f, c_f, h_b, c_b]``); with
    ``return_state=True`` the result is ``(output, *forward_states,
    *backward_states)``; weights are the forward layer's then the backward
    layer's. With a mask and ``return_sequences``, masked steps are 0 in both
    halves (``zero_output_for_mask`` is forced on, as in Keras).

    ``rnnlens.trace`` reports the two directions under ``forward_<name>`` and
    ``backward_<name>``; the backward record is in its processing order (step 0
    consumed the last input step), so flip it on axis 1 to align it in time.

    Args:
        layer: a recurrent layer (LSTM, GRU, SimpleRNN, RNN).
        merge_mode: "concat" (default), "sum", "ave", "mul" or None (a list of
            both outputs).
        weights: optional initial weights (forward's then backward's).
        backward_layer: a layer to use for the backward direction instead;
            it must have the opposite ``go_backwards`` and the same
            ``stateful``, ``return_sequences`` and ``return_state``.
    """

    layer = P.Nested()
    merge_mode = P.Choice("concat", _MERGE_MODES)
    backward_layer = P.Nested(None)

    supports_masking = True

    def __init__(self, layer: Any, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Any = None, **kwargs: Any):
        from rnnlens.layers.recurrent import RNN

        if not isinstance(layer, RNN):
            raise ValueError("Please initialize `Bidirectional` layer with a recurrent layer "
                             f"instance (LSTM, GRU, SimpleRNN or RNN). Received: {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, RNN):
            raise ValueError("`backward_layer` need to be a recurrent layer instance. "
                             f"Received: {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be "
                             'one of {"sum", "mul", "ave", "concat", None}')
        Layer.__init__(self, weights=weights, **kwargs)    # (its arguments are set below)
        self.forward_layer = clone_recurrent(
            layer, name=f"forward_{_removeprefix(layer.name, 'forward_')}")
        self.backward_layer = backward_layer if backward_layer is not None else clone_recurrent(
            layer, go_backwards=True, name=f"backward_{_removeprefix(layer.name, 'backward_')}")
        self._verify()
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def config_value(self, key: str) -> Any:
        return self.forward_layer if key == "layer" else super().config_value(key)

    def apply_semantics(self, semantics: Any) -> list[str]:
        """Standalone Keras 2 did not force ``zero_output_for_mask``: at masked steps the
        forward half carries its last output (the backward half's carry is 0)."""
        notes = [n for sub in (self.forward_layer, self.backward_layer)
                 for n in sub.apply_semantics(semantics)]
        if not semantics.bidirectional_zero_output and self.return_sequences:
            for sub in (self.forward_layer, self.backward_layer):
                sub.zero_output_for_mask = False
            notes.append(f"{self.name}: masked steps carry each direction's last output "
                         f"({semantics.label}; later Keras outputs 0)")
        return notes

    def _verify(self) -> None:
        fw, bw = self.forward_layer, self.backward_layer
        if fw.go_backwards == bw.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. "
                f"Received: forward_layer.go_backwards {fw.go_backwards}, "
                f"backward_layer.go_backwards={bw.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fw, attr) != getattr(bw, attr):
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for "
                    f'attribute "{attr}", got "{getattr(fw, attr)}" for forward layer and '
                    f'"{getattr(bw, attr)}" for backward layer')

    # -- shapes and building -------------------------------------------------

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        self.forward_layer.check_input_shape(shape, source)

    def check_symbolic_call(self, shape: Any, kwargs: dict) -> None:
        states = kwargs.get("initial_state")
        if states is not None:
            self._split_states(states)

    def build(self, input_shape: tuple) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            sub.maybe_build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> Any:
        out = self.forward_layer.compute_output_shape(input_shape)
        back = self.backward_layer.compute_output_shape(input_shape)
        states: tuple = ()
        back_states: tuple = ()
        if self.return_state:
            out, states = out[0], tuple(out[1:])
            back, back_states = back[0], tuple(back[1:])
        if self.merge_mode == "concat":                # a custom backward_layer may differ
            out = (*out[:-1], out[-1] + back[-1])
        elif self.merge_mode is None:
            out = (out, back)
        if self.return_state:
            head = tuple(out) if self.merge_mode is None else (out,)
            return head + states + back_states
        return out

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        if isinstance(mask, list):
            mask = mask[0]
        if self.return_sequences:
            out = [mask, mask] if self.merge_mode is None else mask
        else:
            out = [None, None] if self.merge_mode is None else None
        if self.return_state:
            n = (len(self.forward_layer.cell.state_size)
                 + len(self.backward_layer.cell.state_size))
            return (out if isinstance(out, list) else [out]) + [None] * n
        return out

    # -- calling -------------------------------------------------------------

    def _split_states(self, states: Any) -> tuple[list | None, list | None]:
        if states is None:
            return None, None
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        n = len(self.forward_layer.cell.state_size)
        names = getattr(self.forward_layer, "state_names", None) or [f"s{k}" for k in range(n)]
        if len(states) != 2 * n:
            listing = ", ".join([f"{s}_fwd" for s in names] + [f"{s}_bwd" for s in names])
            raise ValueError(
                f"Layer '{self.name}' (Bidirectional) expects {2 * n} initial states "
                f"([{listing}]: the forward layer's, then the backward layer's), received "
                f"{len(states)}.")
        return states[:n], states[n:]

    def call(self, inputs: np.ndarray, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        return self._run(inputs, initial_state, mask, training, keep=False)[0]

    def forward(self, inputs: np.ndarray, initial_state: Any = None, mask: Any = None,
                training: bool = False) -> tuple[Any, tuple]:
        return self._run(inputs, initial_state, mask, training, keep=True)

    def _run(self, inputs: np.ndarray, initial_state: Any, mask: Any, training: Any,
             keep: bool) -> tuple[Any, tuple | None]:
        fw_states, bw_states = self._split_states(initial_state)
        y, cache_f = self._sub(self.forward_layer, inputs, fw_states, mask, training, keep)
        y_rev, cache_b = self._sub(self.backward_layer, inputs, bw_states, mask, training, keep)
        cache = (cache_f, cache_b, y, y_rev, initial_state is not None) if keep else None
        return self._combine(y, y_rev), cache

    @staticmethod
    def _sub(layer: Any, inputs: Any, states: Any, mask: Any, training: Any,
             keep: bool) -> tuple[Any, Any]:
        if keep:
            return layer.forward(inputs, initial_state=states, mask=mask, training=training)
        return layer.call(inputs, initial_state=states, mask=mask, training=training), None

    def _combine(self, y: Any, y_rev: Any) -> Any:
        states: tuple = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]                          # back into time order
        output = self._merge(y, y_rev)
        if self.return_state:
            return (*output, *states) if self.merge_mode is None else (output, *states)
        return output

    def backward(self, cache: tuple, d_out: Any) -> tuple[np.ndarray, dict, list]:
        """Splits dL/d(merged output) between the directions and runs both backwards."""
        cache_f, cache_b, y, y_rev, given = cache
        n = len(self.forward_layer.cell.state_size)
        heads = 2 if self.merge_mode is None else 1
        d_list = list(d_out) if (self.return_state or heads == 2) else [d_out]
        d_f, d_b = self._unmerge(d_list[:heads], y, y_rev)
        d_states = d_list[heads:]
        results = []
        for layer, sub, d_y, d_s in ((self.forward_layer, cache_f, d_f, d_states[:n]),
                                     (self.backward_layer, cache_b, d_b, d_states[n:])):
            arg = (d_y, *d_s) if self.return_state else d_y
            results.append(layer.backward(sub, arg))
        (dx_f, ex_f, g_f), (dx_b, ex_b, g_b) = results
        extra = {"initial_state": ex_f["initial_state"] + ex_b["initial_state"]} if given else {}
        return dx_f + dx_b, extra, g_f + g_b

    def _unmerge(self, d_heads: list, y: Any, y_rev: Any) -> tuple[Any, Any]:
        """dL/d(forward output), dL/d(backward output in its own step order)."""
        y = y[0] if self.return_state else y
        y_rev = y_rev[0] if self.return_state else y_rev
        d = d_heads[0]
        if self.merge_mode is None:
            d_f, d_b = d_heads
        elif d is None:
            d_f = d_b = None
        elif self.merge_mode == "concat":
            half = d.shape[-1] // 2
            d_f, d_b = d[..., :half], d[..., half:]
        elif self.merge_mode == "sum":
            d_f = d_b = d
        elif self.merge_mode == "ave":
            d_f = d_b = d / 2
        else:                                              # mul: y * flip(y_rev)
            flipped = y_rev[:, ::-1] if self.return_sequences else y_rev
            d_f, d_b = d * flipped, d * y
        if d_b is not None and self.return_sequences:
            d_b = d_b[:, ::-1]                             # back into processing order
        return d_f, d_b

    def _merge(self, y: np.ndarray, y_rev: np.ndarray) -> Any:
        if self.merge_mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return (y, np.ascontiguousarray(y_rev))

    def step(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"Layer '{self.name}' (Bidirectional) cannot run one step at a time: its backward "
            "half reads the sequence from its end. Call it on the whole sequence.")

    # -- states and weights --------------------------------------------------

    def reset_state(self) -> None:
        """Zeros both directions' stored states (stateful layers only)."""
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    @property
    def states(self) -> Any:
        fw, bw = self.forward_layer.states, self.backward_layer.states
        return None if fw is None else fw + bw

    def set_weights(self, weights: Sequence[Any]) -> None:
        self.require_built("set_weights")
        weights = as_list(weights, self.name)
        n_fw, n_all = len(self.forward_layer.weights), len(self.weights)
        if len(weights) != n_all:
            raise ValueError(f"Layer '{self.name}' (Bidirectional) expects {n_all} weights "
                             f"(forward {n_fw}, then backward {n_all - n_fw}), received "
                             f"{len(weights)}.")
        self.forward_layer.set_weights(weights[:n_fw])
        self.backward_layer.set_weights(weights[n_fw:])


# -- Wrapper and SpectralNormalization ----------------------------------------------------


class SpectralNormalization(Wrapper):
    """Spectral normalization (Miyato et al., 2018) of a layer's kernel, as Keras 3.15.1.

    In training (``training=True``, e.g. in ``fit``), unless the kernel W is all
    zeros, each call first runs ``power_iterations`` steps of the power method from the
    stored ``vector_u`` u (1, n), with W as a (m, n) matrix (its last axis n)::

        v = l2_normalize(u W^T);   u = l2_normalize(v W)        (over all entries, eps 1e-7)
        sigma = v W u^T;           W <- W / sigma;   vector_u <- u

    writing the normalized kernel and u back into the weights (Keras assigns them), then
    calls the wrapped layer. In inference the layer runs with the stored weights as they
    are. The gradient is the wrapped layer's own, with respect to the kernel it used
    (Keras assigns the normalized kernel, so nothing flows through sigma or u). As in
    Keras, the output is cast to the input's dtype: around an Embedding called on integer
    ids the vectors are truncated to integers, and no gradient reaches the embeddings.

    Weights, in Keras's order: the wrapped layer's kernel (``embeddings`` for an
    Embedding), ``vector_u`` (1, n; non-trainable, TruncatedNormal(0.02) at first), then
    the wrapped layer's other weights. Keras's files hold the kernel twice (the
    wrapper's ``vars/0`` and the layer's own); both are written and read.

    Args:
        layer: a layer with a ``kernel`` (Dense, Conv*, ...) or ``embeddings``.
        power_iterations: the number of power-method steps per training call (>= 1).
    """

    power_iterations = P.Int(1, min=1, cap="max_units")

    def _kind(self) -> str:
        return f"Layer '{self.name}' (SpectralNormalization)"

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or not shape:
            raise ValueError(f"{self._kind()} expects one tensor, received shape {shape}.")
        self.layer.check_input_shape(shape, source)

    def build(self, input_shape: Any) -> None:
        from rnnlens import initializers

        super().build(input_shape)
        name = "kernel" if hasattr(self.layer, "kernel") else \
            "embeddings" if hasattr(self.layer, "embeddings") else None
        if name is None:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' "
                             "nor 'embeddings'")
        kernel = getattr(self.layer, name)
        record = next(w for w in self.layer.weight_records() if w.value is kernel)
        self._kernel_record = record
        self._own_weights.append(record)                 # Keras tracks it as the wrapper's
        self.vector_u = self.add_weight(shape=(1, kernel.shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, name="vector_u")
        self.built = True

    def normalized_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(u, W / sigma)`` after ``power_iterations`` steps (Keras's method)."""
        from rnnlens.layers.normalization import KERAS_EPSILON, l2_normalize

        kernel = self._kernel_record.value
        w = kernel.reshape(-1, kernel.shape[-1])                        # (m, n)
        u = self.vector_u
        for _ in range(self.power_iterations):
            v = l2_normalize(u @ w.T, (0, 1), KERAS_EPSILON)[0]        # (1, m)
            u = l2_normalize(v @ w, (0, 1), KERAS_EPSILON)[0]          # (1, n)
        sigma = (v @ w) @ u.T                                           # (1, 1)
        return u.astype(kernel.dtype), (kernel / sigma).astype(kernel.dtype)

    def _update(self, training: Any) -> None:
        kernel = self._kernel_record.value
        if training and not np.all(kernel == 0):
            u, new = self.normalized_weights()
            np.copyto(self.vector_u, u)
            np.copyto(kernel, new)
            self.weights_changed()

    def convert_inputs(self, inputs: Any) -> Any:
        return self.layer.convert_inputs(inputs)

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> Any:
        return self.forward(inputs, training=training)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[Any, Any]:
        self._update(training)
        out, cache = self.layer.forward(inputs, training=training)
        if np.issubdtype(np.asarray(inputs).dtype, np.integer):
            # Keras casts the output to the input's dtype: integer ids (an Embedding)
            # truncate the vectors, and nothing flows back to the wrapped layer.
            return np.trunc(out).astype(np.asarray(inputs).dtype), None
        return out, cache

    def backward(self, cache: Any, d_out: Any) -> tuple[Any, dict, list]:
        if cache is None:
            return None, {}, [np.zeros_like(w) for w in self.weights]
        d_in, extra, inner = self.layer.backward(cache, d_out)
        by_record = {id(r): g for r, g in zip(self.layer.weight_records(), inner)}
        grads = [by_record.get(id(r)) if id(r) in by_record else np.zeros_like(r.value)
                 for r in self.weight_records()]
        return d_in, extra, grads

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def legacy_weights(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """A legacy ``.h5`` holds the trainable weights first (kernel, bias, ...), then
        ``vector_u``: put them in ``weights`` order (kernel, vector_u, ...)."""
        records = self.weight_records()
        if not self.trainable or len(arrays) != len(records):
            return arrays
        order = [r for r in records if r.trainable] + [r for r in records if not r.trainable]
        by_record = {id(r): a for r, a in zip(order, arrays)}
        return [by_record[id(r)] for r in records]

    def keras_node(self, node: Any) -> tuple[list, dict]:
        """Keras records the call's default ``training=False`` in the node."""
        return list(node.args), {"training": False}

