"""Seeing inside: every step's hidden state, cell state, gates and mask.

``trace(model_or_layer, x)`` runs ``x`` once with recording switched on and
returns, for each recurrent layer (by name), a :class:`LayerTrace`:

* ``h``     (B, T, u) hidden state after every step,
* ``c``     (B, T, u) cell state after every step (None without one),
* ``gates`` dict of (B, T, u) post-activation gates (LSTM: ``i``, ``f``,
  ``g``, ``o``),
* ``mask``  (B, T) bool, or None,

(ConvLSTM layers: ``h``, ``c`` and each gate are feature maps (B, T, *O, F), or
(B, T, F, *O) for ``channels_first``, so ``c = f * c_prev + i * g`` elementwise)
in the same step order as the layer's ``return_sequences`` output (so for
``go_backwards=True`` index 0 is the step that consumed ``x[:, -1]``). At a
masked step ``h`` and ``c`` repeat the previous state, which is what the
layer carries; its *output* there may be 0 (``zero_output_for_mask``).

Example::

    >>> import numpy as np, rnnlens
    >>> from rnnlens.layers import Input, LSTM
    >>> from rnnlens.models import Model
    >>> rnnlens.utils.set_random_seed(1)
    >>> inputs = Input(shape=(3, 1))
    >>> model = Model(inputs, LSTM(1, name="lstm")(inputs))
    >>> t = rnnlens.trace(model, np.array([0.1, 0.2, 0.3]).reshape(1, 3, 1))
    >>> t["lstm"].c.shape          # the cell state at every step
    (1, 3, 1)
    >>> bool(np.allclose(t["lstm"].c, t["lstm"].gates["f"] * t["lstm"].c_prev
    ...                  + t["lstm"].gates["i"] * t["lstm"].gates["g"]))
    True

Layers that are not recurrent may add named arrays of their own to the running
recorder (``Recorder.add_extra``); they are in ``Trace.extras`` by layer name. The
attention layers add their weights, so for an attention encoder-decoder::

    t = rnnlens.trace(model, [source, decoder_input])
    t.extras["attention"]["attention_scores"]    # (B, Tq, Tv): decoder step -> source step

Recording is off unless ``trace`` is running: plain calls and ``predict``
only pay one ``is None`` check per layer call.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("rnnlens_trace", default=None)


def current() -> "Recorder | None":
    """The recorder of the running ``trace`` call, or None (the usual case)."""
    return _ACTIVE.get()


@dataclass
class LayerTrace:
    """Per-step internals of one recurrent layer call. Shapes (B, T, u).

    Attributes:
        layer: the layer's name.
        h: hidden state after every step.
        c: cell state after every step, or None for layers without one.
        gates: post-activation gates by name, each (B, T, u).
        mask: (B, T) bool in step order, or None.
        states: every state the loop carried, each (B, T, s) (for stacked or user
            cells: each cell's states in order, then the step output).
        initial_states: the states before the first step, each (B, u).
        output: what the layer returned as its first output.
        go_backwards: True when step 0 consumed the last input step.
    """

    layer: str
    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray]
    mask: np.ndarray | None
    states: list[np.ndarray] = field(repr=False)
    initial_states: list[np.ndarray] = field(repr=False)
    output: np.ndarray = field(repr=False)
    go_backwards: bool = False

    output_index: int = 0

    @property
    def h_prev(self) -> np.ndarray:
        """h before every step: (B, T, u), ``h_prev[:, t] = h[:, t-1]``."""
        first = self.initial_states[self.output_index]
        return np.concatenate([first[:, None], self.h[:, :-1]], axis=1)

    @property
    def c_prev(self) -> np.ndarray | None:
        """c before every step, or None (see ``h_prev``)."""
        if self.c is None:
            return None
        return np.concatenate([self.initial_states[1][:, None], self.c[:, :-1]], axis=1)

    def __repr__(self) -> str:
        parts = [f"h={self.h.shape}", f"c={None if self.c is None else self.c.shape}",
                 f"gates={sorted(self.gates)}",
                 f"mask={None if self.mask is None else self.mask.shape}"]
        return f"LayerTrace({self.layer!r}, " + ", ".join(parts) + ")"

    def _repr_html_(self) -> str:
        """Jupyter: the explainer's heatmaps of this layer (``rnnlens.explain.inline``)."""
        from rnnlens.explain.inline import trace_html

        return trace_html({self.layer: self}, title=self.layer)

    def plot(self, sample: int = 0, what: Any = ("h", "c", "gates"), ax: Any = None) -> Any:
        """Heatmaps (units x steps) with matplotlib; see ``rnnlens.plot.heatmaps``."""
        from rnnlens.plot import heatmaps

        return heatmaps(self, sample=sample, what=what, axes=ax)


class Recorder:
    """Collects a :class:`LayerTrace` per recurrent layer call, and the named arrays
    other layers add (``add_extra``)."""

    def __init__(self) -> None:
        self.traces: dict[str, LayerTrace] = {}
        self.extras: dict[str, dict[str, np.ndarray]] = {}

    def add_extra(self, layer: Any, name: str, array: Any) -> None:
        """Records ``array`` as ``extras[layer.name][name]``.

        A layer called more than once gets ``name_call_1``, ``name_call_2``, ... for its
        later calls (the first entry that does not hold ``name`` yet), as ``traces``.
        """
        key, n = layer.name, 1
        while name in self.extras.get(key, {}):
            key, n = f"{layer.name}_call_{n}", n + 1
        self.extras.setdefault(key, {})[name] = np.array(array, copy=True)

    def add(self, layer: Any, result: Any) -> None:
        rec = result.record
        # ConvLSTM cells keep flat states and name them as feature maps (B, *O, F)
        maps = layer.cell.feature_maps if hasattr(type(layer.cell), "feature_maps") \
            else (lambda a: a)
        to_bt = (lambda a: np.ascontiguousarray(np.swapaxes(a, 0, 1)))  # (T,B,..)->(B,T,..)
        states = [to_bt(maps(s)) for s in rec.states]
        gates = {k: to_bt(v) for k, v in layer.cell.gate_views(rec.gates).items()}
        has_c = type(layer.cell).__name__ in ("LSTMCell", "ConvLSTMCell")
        out_index = getattr(layer.cell, "output_index", 0)
        item = LayerTrace(
            layer=layer.name, h=states[out_index], c=states[1] if has_c else None,
            states=states,
            gates=gates, mask=None if rec.mask is None else np.ascontiguousarray(rec.mask.T),
            initial_states=[maps(s) for s in rec.initial_states], output=result.output,
            go_backwards=layer.go_backwards, output_index=out_index,
        )
        key, n = layer.name, 1
        while key in self.traces:                      # a layer called more than once
            key, n = f"{layer.name}_call_{n}", n + 1
        self.traces[key] = item


class Trace(dict):
    """A ``{layer name: LayerTrace}`` mapping, in call order.

    Attributes:
        extras: ``{layer name: {array name: array}}`` added by non-recurrent layers
            (the attention layers' ``attention_scores``), in call order.
    """

    def __init__(self, traces: Any = (), extras: dict | None = None):
        super().__init__(traces)
        self.extras: dict[str, dict[str, np.ndarray]] = dict(extras or {})

    def __repr__(self) -> str:
        return "Trace(" + ", ".join(f"{k}: {v!r}" for k, v in self.items()) + ")"

    def _repr_html_(self) -> str | None:
        """Jupyter: the explainer's heatmaps of every layer call (``rnnlens.explain.inline``)."""
        from rnnlens.explain.inline import trace_html

        return trace_html(self) if len(self) else None


def trace(model_or_layer: Any, x: Any, **call_kwargs: Any) -> Trace:
    """Runs ``x`` through a model or layer and records every recurrent layer.

    Args:
        model_or_layer: a ``Model``/``Sequential`` or a recurrent layer.
        x: the input (as for ``model(x)``; a list for several inputs).
        **call_kwargs: passed to the call (``initial_state``, ``mask``,
            ``training``).

    Returns:
        ``{layer name: LayerTrace}``; a layer called twice appears as ``name``
        and ``name_call_1``. ``.extras`` holds the attention layers' weights.
    """
    _check_recurrent(model_or_layer)
    recorder = Recorder()
    token = _ACTIVE.set(recorder)
    try:
        model_or_layer(x, **call_kwargs)
    finally:
        _ACTIVE.reset(token)
    return Trace(recorder.traces, recorder.extras)


def _recurrent_layers(obj: Any, seen: set | None = None) -> list:
    """The recurrent layers inside ``obj`` (itself, sublayers, a model's layers)."""
    from rnnlens.layers.recurrent import RNN

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, RNN) or getattr(obj, "traced_extras", ()):
        return [obj]
    found = []
    for sub in list(getattr(obj, "layers", []) or []) + (obj._sublayers()
                                                        if hasattr(obj, "_sublayers") else []):
        found += _recurrent_layers(sub, seen)
    return found


def _check_recurrent(obj: Any) -> None:
    """``trace`` records recurrent layers; a model or layer without one gets an error."""
    if not callable(obj):
        raise TypeError(f"trace expects a model or a layer, received {type(obj).__name__}.")
    if _recurrent_layers(obj):
        return
    layers = getattr(obj, "layers", None)
    listing = ("; its layers are " + ", ".join(f"{lyr.name} ({type(lyr).__name__})"
                                               for lyr in layers)) if layers else ""
    raise ValueError(
        f"{type(obj).__name__} '{getattr(obj, 'name', obj)}' has no recurrent layer, so trace "
        f"has nothing to record{listing}. trace records the steps of LSTM, GRU, SimpleRNN, "
        "RNN (any cell), Bidirectional and ConvLSTM layers, and the weights of the "
        "attention layers; to see other layers' outputs, build a Model whose outputs are "
        "their tensors.")
