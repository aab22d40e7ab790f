"""One torch RNN module for one recurrent layer, or for a plain stack of them.

``rnn_to_torch(layer_or_model)`` turns an rnnlens ``LSTM``, ``GRU`` (``reset_after=True``),
``SimpleRNN`` (tanh / relu), ``RNN`` around those cells (also stacked cells),
``Bidirectional`` of them, or a model that is a plain stack of them, into a
:class:`KerasLikeRNN`: an ``nn.Module`` holding one ``batch_first=True`` torch RNN
(``.rnn``) whose ``forward`` returns exactly what the rnnlens layer or model returns
(``return_sequences``, ``return_state``, ``go_backwards``, every ``Bidirectional``
merge mode). :func:`rnnlens.interop.torch.to_torch` uses it for layers and for models
it can express as one torch RNN; other models go through :mod:`.model`.

What is not carried over: dropout (it only acts when training), masks and ``stateful``
(torch's RNN modules have neither; stateful layers are refused).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from rnnlens.interop.torch.weights import (_GATES, _N_STATES, _TO_TORCH, _flat,
                                           _import_torch)


# ============================================================================ the wrapper
def _restructure(template: Any, flat: Sequence[Any]) -> Any:
    """Replaces every int in a nested list / tuple template by ``flat[int]``."""
    if isinstance(template, int):
        return flat[template]
    made = [_restructure(t, flat) for t in template]
    return tuple(made) if isinstance(template, tuple) else made


def _max_index(template: Any) -> int:
    if isinstance(template, int):
        return template
    return max((_max_index(t) for t in template), default=-1)


@functools.lru_cache(maxsize=1)
def wrapper_class() -> type:
    torch = _import_torch()

    class KerasLikeRNN(torch.nn.Module):
        """A torch RNN module that returns exactly what an rnnlens / Keras layer returns.

        Holds one ``batch_first=True`` ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` as
        ``self.rnn`` (use it directly when you only want torch's ``output``) and
        reproduces the Keras layer's flags around it:

        * ``go_backwards``: the input is flipped in time; the returned sequence
          stays in processing order, as Keras.
        * ``return_sequences=False``: the last processed step, i.e. torch's
          ``h_n`` of the top layer (for a bidirectional layer: the forward
          direction's last step and the backward direction's last processed step,
          which is its output at time 0).
        * ``merge_mode`` of ``Bidirectional``: "concat" (torch's layout), "sum",
          "ave", "mul" or None (a list of both directions).
        * ``return_state``: the final states in Keras's order, as the rnnlens
          layer returns them (nested per cell for stacked cells).

        Built by :func:`to_torch`; ``from_torch`` turns it back into an rnnlens
        model. ``forward(x, initial_state=None)`` takes x (B, T, F) and optional
        initial states in Keras's flat order (for every layer and direction:
        h, and c for an LSTM).

        Args:
            rnn: a ``batch_first=True`` torch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``.
            go_backwards, return_sequences, merge_mode: the Keras flags (merge_mode
                only matters for a bidirectional ``rnn``; "concat" otherwise).
            structure: what ``forward`` returns, as a nested list / tuple of indices
                into ``[*heads, *states]``: heads are the output (two for
                ``merge_mode=None``), states are torch's final states in Keras's
                order (layer, direction, then h / c). ``0`` is the output alone,
                ``(0, 1, 2)`` an LSTM layer's ``(output, h, c)``.
            stacked_cells: the source was one ``RNN`` over stacked cells (so
                ``from_torch`` rebuilds it as one).
            nest_like_initial_state: ``structure`` is ``(output, group_1, ...)``
                with one state group per stacked cell, and - as an eager rnnlens
                call does - a group comes back bare or as a tuple when the
                matching item of a per-cell ``initial_state`` is.
        """

        def __init__(self, rnn: Any, go_backwards: bool = False, return_sequences: bool = True,
                     merge_mode: str | None = "concat", structure: Any = 0,
                     stacked_cells: bool = False, nest_like_initial_state: bool = False):
            super().__init__()
            if not isinstance(rnn, torch.nn.RNNBase) or rnn.mode not in _GATES:
                raise TypeError(f"KerasLikeRNN wraps a torch.nn.LSTM, GRU or RNN, received "
                                f"{type(rnn).__name__}.")
            if not rnn.batch_first:
                raise ValueError("KerasLikeRNN needs a batch_first=True torch module.")
            if merge_mode not in ("concat", "sum", "ave", "mul", None):
                raise ValueError(f"Invalid merge_mode {merge_mode!r}.")
            self.rnn = rnn
            self.go_backwards = bool(go_backwards)
            self.return_sequences = bool(return_sequences)
            self.merge_mode = merge_mode if rnn.bidirectional else "concat"
            self.stacked_cells = bool(stacked_cells)
            self.nest_like_initial_state = bool(nest_like_initial_state)
            self.structure = structure
            if _max_index(structure) >= self.n_heads + self.n_states:
                raise ValueError("KerasLikeRNN: the output structure refers to more values "
                                 "than the module computes.")

        @property
        def n_heads(self) -> int:
            """How many output tensors come before the states (2 for merge_mode=None)."""
            return 2 if self.merge_mode is None else 1

        @property
        def n_states(self) -> int:
            """Number of final-state tensors: layers x directions x (2 for LSTM, else 1)."""
            d = 2 if self.rnn.bidirectional else 1
            return self.rnn.num_layers * d * _N_STATES[self.rnn.mode]

        @property
        def return_state(self) -> bool:
            return any(k >= self.n_heads for k in _flat(self.structure))

        def _initial(self, initial_state: Any, x: Any) -> Any:
            if initial_state is None:
                return None
            flat = [s if torch.is_tensor(s) else torch.as_tensor(np.asarray(s))
                    for s in _flat(list(initial_state) if isinstance(initial_state, (list, tuple))
                                   else [initial_state])]
            if len(flat) != self.n_states:
                raise ValueError(f"KerasLikeRNN expects {self.n_states} initial states "
                                 "(Keras order: for each layer and direction h"
                                 f"{', c' if self.rnn.mode == 'LSTM' else ''}), "
                                 f"received {len(flat)}.")
            flat = [s.to(dtype=x.dtype, device=x.device) for s in flat]
            n = _N_STATES[self.rnn.mode]
            h0 = torch.stack(flat[0::n]).contiguous()
            return (h0, torch.stack(flat[1::n]).contiguous()) if n == 2 else h0

        def forward(self, x: Any, initial_state: Any = None) -> Any:
            """Runs the RNN; returns what the rnnlens layer / model returns."""
            if not torch.is_tensor(x):
                x = torch.as_tensor(np.asarray(x), dtype=self.rnn.weight_ih_l0.dtype)
            if self.go_backwards:
                x = torch.flip(x, dims=(1,))
            out, hidden = self.rnn(x, self._initial(initial_state, x))
            lstm = self.rnn.mode == "LSTM"
            h_n, c_n = hidden if lstm else (hidden, None)
            d = 2 if self.rnn.bidirectional else 1
            u = self.rnn.hidden_size
            top = (self.rnn.num_layers - 1) * d
            if self.return_sequences:
                if d == 1 or self.merge_mode == "concat":
                    heads = [out]
                    y_f = y_b = None
                else:
                    y_f, y_b = out[..., :u], out[..., u:]
            elif d == 1:
                heads, y_f, y_b = [h_n[top]], None, None
            else:
                y_f, y_b = h_n[top], h_n[top + 1]
            if y_f is not None:
                if self.merge_mode == "concat":
                    heads = [torch.cat([y_f, y_b], dim=-1)]
                elif self.merge_mode == "sum":
                    heads = [y_f + y_b]
                elif self.merge_mode == "ave":
                    heads = [(y_f + y_b) / 2]
                elif self.merge_mode == "mul":
                    heads = [y_f * y_b]
                else:
                    heads = [y_f, y_b]
            states = []
            for k in range(h_n.shape[0]):
                states.append(h_n[k])
                if lstm:
                    states.append(c_n[k])
            return _restructure(self._structure_for(initial_state), heads + states)

        def _structure_for(self, initial_state: Any) -> Any:
            """The output template; per-cell groups follow a per-cell initial_state."""
            structure = self.structure
            given = initial_state if isinstance(initial_state, (list, tuple)) else None
            if (not self.nest_like_initial_state or given is None
                    or len(given) != len(structure) - 1):
                return structure
            groups = [structure[0]]
            for group, item in zip(structure[1:], given):
                flat = _flat(group)
                if not isinstance(item, (list, tuple)) and len(flat) == 1:
                    groups.append(flat[0])
                else:
                    groups.append(tuple(flat) if isinstance(item, tuple) else list(flat))
            return tuple(groups)

        def extra_repr(self) -> str:
            return (f"go_backwards={self.go_backwards}, return_sequences="
                    f"{self.return_sequences}, return_state={self.return_state}, "
                    f"merge_mode={self.merge_mode!r}, stacked_cells={self.stacked_cells}")

    KerasLikeRNN.__module__ = __name__
    KerasLikeRNN.__qualname__ = "KerasLikeRNN"
    return KerasLikeRNN


def __getattr__(name: str) -> Any:
    # ``KerasLikeRNN`` subclasses torch.nn.Module, so it is made on first use.
    if name == "KerasLikeRNN":
        return wrapper_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Spec:
    """One torch-expressible recurrent stack: its shape, weights and Keras flags."""

    def __init__(self, mode: str, input_size: int, units: int, num_layers: int,
                 bidirectional: bool, bias: bool, weights: list[list[np.ndarray]],
                 go_backwards: bool = False, return_sequences: bool = True,
                 merge_mode: str | None = "concat", structure: Any = 0,
                 stacked_cells: bool = False, nest_like_initial_state: bool = False):
        self.mode, self.input_size, self.units = mode, input_size, units
        self.num_layers, self.bidirectional, self.bias = num_layers, bidirectional, bias
        self.weights = weights            # Keras weight lists, index layer * D + direction
        self.go_backwards, self.return_sequences = go_backwards, return_sequences
        self.merge_mode, self.structure = merge_mode, structure
        self.stacked_cells = stacked_cells
        self.nest_like_initial_state = nest_like_initial_state

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1


# ============================================================================ to_torch
def _refuse(layer: Any, reason: str) -> ValueError:
    return ValueError(f"Cannot convert layer '{layer.name}' ({type(layer).__name__}) to "
                      f"PyTorch: {reason}")


def _act_name(fn: Any) -> str:
    from rnnlens import activations

    name = activations.serialize(fn)
    return name if isinstance(name, str) else getattr(fn, "__name__", repr(fn))


def _cell_mode(layer: Any, cell: Any, where: str = "") -> str:
    """torch's mode for one built-in cell, or a ValueError naming the layer and reason."""
    from rnnlens import activations
    from rnnlens.cells import GRUCell, LSTMCell, SimpleRNNCell

    act, ract = cell.activation, getattr(cell, "recurrent_activation", None)
    if isinstance(cell, LSTMCell) or isinstance(cell, GRUCell):
        kind = "LSTM" if isinstance(cell, LSTMCell) else "GRU"
        if isinstance(cell, GRUCell) and not cell.reset_after:
            raise _refuse(layer, f"{where}reset_after=False applies the reset gate before the "
                          "recurrent matrix multiply; torch.nn.GRU only implements "
                          "reset_after=True (Keras's default). Keep this layer in rnnlens, or "
                          "use GRU(reset_after=True).")
        if act is not activations.tanh:
            raise _refuse(layer, f"{where}activation='{_act_name(act)}': torch.nn.{kind} "
                          "always uses tanh.")
        if ract is not activations.sigmoid:
            raise _refuse(layer, f"{where}recurrent_activation='{_act_name(ract)}': "
                          f"torch.nn.{kind} always uses sigmoid for its gates.")
        return kind
    if isinstance(cell, SimpleRNNCell):
        if act is activations.tanh:
            return "RNN_TANH"
        if act is activations.relu:
            return "RNN_RELU"
        raise _refuse(layer, f"{where}activation='{_act_name(act)}': torch.nn.RNN only has "
                      "nonlinearity 'tanh' or 'relu'.")
    raise _refuse(layer, f"{where}its cell {type(cell).__name__} is not an LSTMCell, GRUCell "
                  "or SimpleRNNCell.")


def _describe_rnn(layer: Any) -> tuple[str, list[Any]]:
    """(mode, cells) of an rnnlens RNN layer that torch can express, else ValueError."""
    from rnnlens.cells.generic import StackedRNNCells
    from rnnlens.layers import RNN

    if not isinstance(layer, RNN):
        raise _refuse(layer, "only LSTM, GRU, SimpleRNN, RNN over their cells and "
                      "Bidirectional of those can be converted.")
    if not layer.built:
        raise _refuse(layer, "it is not built yet (it has no weights); call it on data or on "
                      "an Input first.")
    if layer.stateful:
        raise _refuse(layer, "stateful=True keeps states between calls, which a torch RNN "
                      "module does not; create the layer with stateful=False (pass the states "
                      "as initial_state instead).")
    cells = list(layer.cell.cells) if isinstance(layer.cell, StackedRNNCells) else [layer.cell]
    modes = [_cell_mode(layer, c, f"cell {k} ({type(c).__name__}): " if len(cells) > 1 else "")
             for k, c in enumerate(cells)]
    for k, c in enumerate(cells[1:], 1):
        if modes[k] != modes[0] or c.units != cells[0].units or c.use_bias != cells[0].use_bias:
            raise _refuse(layer, "its stacked cells differ (kind, units or use_bias); a "
                          "multi-layer torch RNN needs identical layers.")
    return modes[0], cells


def _eager_template(layer: Any, input_dim: int) -> Any:
    """What an eager call of ``layer`` returns, with its leaves numbered 0, 1, ...

    The numbering follows rnnlens's flat order (outputs, then the states in Keras's
    order), which is the order :class:`KerasLikeRNN` computes them in; probing with
    one zero step keeps the nesting (list / tuple / bare) exactly the layer's own.
    """
    counter = iter(range(1 << 30))

    def number(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            made = [number(v) for v in value]
            return tuple(made) if isinstance(value, tuple) else made
        return next(counter)

    from rnnlens.backend import FLOATX

    return number(layer(np.zeros((1, 1, input_dim), FLOATX)))


def _layer_spec(layer: Any) -> _Spec:
    """The spec of one rnnlens RNN or Bidirectional layer."""
    from rnnlens.layers import Bidirectional

    if isinstance(layer, Bidirectional):
        fw, bw = layer.forward_layer, layer.backward_layer
        if not layer.built:
            raise _refuse(layer, "it is not built yet (it has no weights); call it on data or "
                          "on an Input first.")
        mode, cells = _describe_rnn(fw)
        mode_b, cells_b = _describe_rnn(bw)
        if len(cells) > 1:
            raise _refuse(layer, "Bidirectional over stacked cells runs each direction's "
                          "stack separately, while a bidirectional multi-layer torch RNN feeds "
                          "both directions into every next layer.")
        if fw.go_backwards or not bw.go_backwards:
            raise _refuse(layer, "its forward layer must have go_backwards=False and its "
                          "backward layer go_backwards=True, as torch's bidirectional RNN.")
        c, cb = cells[0], cells_b[0]
        if (mode_b != mode or len(cells_b) != 1 or cb.units != c.units
                or cb.use_bias != c.use_bias):
            raise _refuse(layer, "its backward_layer differs from the forward layer (kind, "
                          "units or use_bias); torch's bidirectional RNN uses one "
                          "configuration for both directions.")
        return _Spec(mode, c.input_dim, c.units, 1, True, c.use_bias,
                     [fw.get_weights(), bw.get_weights()],
                     return_sequences=layer.return_sequences, merge_mode=layer.merge_mode,
                     structure=_eager_template(layer, c.input_dim))
    from rnnlens.cells.generic import StackedRNNCells

    mode, cells = _describe_rnn(layer)
    stacked = isinstance(layer.cell, StackedRNNCells)
    return _Spec(mode, cells[0].input_dim, cells[0].units, len(cells), False,
                 cells[0].use_bias, [c.get_weights() for c in cells],
                 go_backwards=layer.go_backwards, return_sequences=layer.return_sequences,
                 structure=_eager_template(layer, cells[0].input_dim), stacked_cells=stacked,
                 nest_like_initial_state=stacked and layer.return_state)


def _model_spec(model: Any) -> _Spec:
    """The spec of a model that is a plain chain of torch-expressible recurrent layers."""
    from rnnlens.layers import RNN, Bidirectional

    if not model.built or not getattr(model, "_nodes", None):
        raise ValueError(f"Cannot convert model '{model.name}' to PyTorch: it is not built "
                         "(or has no layers); call it on an Input or on data first.")
    if len(model.inputs) != 1:
        raise ValueError(f"Cannot convert model '{model.name}' to PyTorch: it has "
                         f"{len(model.inputs)} inputs; a torch RNN takes one.")
    nodes = list(model._nodes)
    prev = model.inputs[0]
    for node in nodes:
        if not isinstance(node.layer, (RNN, Bidirectional)):
            raise ValueError(
                f"Cannot convert model '{model.name}' to PyTorch: layer '{node.layer.name}' "
                f"({type(node.layer).__name__}) is not a recurrent layer. to_torch converts "
                "models that are a plain stack of LSTM / GRU / SimpleRNN / Bidirectional "
                "layers; convert the recurrent layers one by one with to_torch(layer).")
    specs = []
    for k, node in enumerate(nodes):
        layer = node.layer
        extra = {key: v for key, v in node.kwargs.items() if v is not None and key != "training"}
        if extra or len(node.input_tensors) != 1 or node.input_tensors[0] is not prev:
            raise _refuse(layer, "in this model it does not simply take the previous layer's "
                          "output (it takes initial_state, a mask or another input), which a "
                          "multi-layer torch RNN cannot express; convert it with "
                          "to_torch(layer).")
        spec = _layer_spec(layer)
        last = k == len(nodes) - 1
        if not last and (not spec.return_sequences or spec.go_backwards
                         or spec.merge_mode != "concat"):
            raise _refuse(layer, "a layer feeding the next one must have "
                          "return_sequences=True, go_backwards=False and (Bidirectional) "
                          "merge_mode='concat' to become part of a multi-layer torch RNN.")
        if spec.num_layers > 1 and len(nodes) > 1:
            raise _refuse(layer, "stacked cells inside a stack of layers cannot be one torch "
                          "RNN; convert the layers one by one.")
        if spec.go_backwards and len(nodes) > 1:
            raise _refuse(layer, "go_backwards=True in a stack of layers cannot be one torch "
                          "RNN; convert the layers one by one.")
        if specs:
            first = specs[0]
            same = (spec.mode, spec.units, spec.bidirectional, spec.bias) == (
                first.mode, first.units, first.bidirectional, first.bias)
            if not same:
                raise _refuse(layer, "it differs from the first recurrent layer of the model "
                              "(kind, units, bidirectional or use_bias); a multi-layer torch "
                              "RNN needs identical layers. Convert the layers one by one.")
        specs.append(spec)
        prev = node.outputs[0]
    top = specs[-1]
    heads_n = 2 if top.merge_mode is None else 1
    n_each = top.directions * _N_STATES[top.mode]
    index: dict[int, int] = {id(t): i for i, t in enumerate(nodes[-1].outputs[:heads_n])}
    for k, node in enumerate(nodes):
        h = heads_n if k == len(nodes) - 1 else 1
        for j, t in enumerate(node.outputs[h:]):
            index[id(t)] = heads_n + k * n_each + j

    def template(s: Any) -> Any:
        if isinstance(s, (list, tuple)):
            made = [template(v) for v in s]
            return tuple(made) if isinstance(s, tuple) else made
        if isinstance(s, dict) or id(s) not in index:
            raise ValueError(
                f"Cannot convert model '{model.name}' to PyTorch: its output "
                f"'{getattr(s, 'name', s)}' is not the last layer's output or a final state "
                "(a torch RNN only returns its top layer's sequence and the final states).")
        return index[id(s)]

    structure = template(model._output_structure)
    if len(specs) == 1 and not top.stacked_cells:
        return _Spec(top.mode, top.input_size, top.units, 1, top.bidirectional, top.bias,
                     top.weights, go_backwards=top.go_backwards,
                     return_sequences=top.return_sequences, merge_mode=top.merge_mode,
                     structure=structure)
    if len(specs) == 1:                            # one RNN over stacked cells
        return _Spec(top.mode, top.input_size, top.units, top.num_layers, False, top.bias,
                     top.weights, go_backwards=top.go_backwards,
                     return_sequences=top.return_sequences, structure=structure,
                     stacked_cells=True)
    return _Spec(top.mode, specs[0].input_size, top.units, len(specs), top.bidirectional,
                 top.bias, [w for s in specs for w in s.weights],
                 return_sequences=top.return_sequences, merge_mode=top.merge_mode,
                 structure=structure)


def _module_from_spec(spec: _Spec, dtype: Any) -> Any:
    torch = _import_torch()
    cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}.get(spec.mode, torch.nn.RNN)
    kw = dict(num_layers=spec.num_layers, bias=spec.bias, batch_first=True,
              bidirectional=spec.bidirectional, dtype=dtype)
    if cls is torch.nn.RNN:
        kw["nonlinearity"] = "relu" if spec.mode == "RNN_RELU" else "tanh"
    rnn = cls(spec.input_size, spec.units, **kw)
    d = spec.directions
    with torch.no_grad():
        for i, keras_weights in enumerate(spec.weights):
            layer, direction = divmod(i, d)
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            for key, value in _TO_TORCH[spec.mode](*keras_weights).items():
                getattr(rnn, f"{key}{sfx}").copy_(torch.as_tensor(value))
    wrapper = wrapper_class()(rnn, go_backwards=spec.go_backwards,
                               return_sequences=spec.return_sequences,
                               merge_mode=spec.merge_mode, structure=spec.structure,
                               stacked_cells=spec.stacked_cells,
                               nest_like_initial_state=spec.nest_like_initial_state)
    return wrapper.eval()


def rnn_to_torch(layer_or_model: Any, dtype: Any = None) -> Any:
    """An rnnlens recurrent layer (or a stack of them) as a torch module, same outputs.

    Converts ``LSTM``, ``GRU`` (``reset_after=True``), ``SimpleRNN`` (activation
    tanh or relu), an ``RNN`` over one or several identical such cells,
    ``Bidirectional`` of a single such layer (every merge mode), and a ``Model`` /
    ``Sequential`` that is a plain chain of identical such layers (every layer but
    the last with ``return_sequences=True``, no ``go_backwards``, Bidirectional
    ``merge_mode="concat"``), which becomes one multi-layer torch RNN.
    ``use_bias=False`` becomes ``bias=False``. Dropout settings are not carried
    over (they only act in training).

    Returns:
        A :class:`KerasLikeRNN` (in eval mode) whose ``forward(x)`` on a (B, T, F)
        tensor returns what the rnnlens layer / model returns (same nesting), and
        whose ``.rnn`` is the plain ``batch_first=True`` ``nn.LSTM`` / ``nn.GRU`` /
        ``nn.RNN``. Relation to the plain module's ``output, h_n = rnn(x)``:
        ``return_sequences=True`` (forward, or Bidirectional "concat") is
        ``output``; ``return_sequences=False`` is ``output[:, -1]`` = ``h_n[-1]``
        for one direction, and ``cat(h_n[-2], h_n[-1])`` = ``cat(output[:, -1, :u],
        output[:, 0, u:])`` for a bidirectional layer; ``go_backwards=True`` is
        ``rnn(x.flip(1))`` (the sequence stays in processing order).

    Args:
        layer_or_model: a built rnnlens layer or model.
        dtype: the torch dtype of the parameters (default ``torch.float32``).

    Raises:
        ValueError: naming the layer and why, for what torch cannot express:
            ``GRU(reset_after=False)``; LSTM / GRU activations other than tanh and
            sigmoid; SimpleRNN activations other than tanh / relu; stateful layers;
            unbuilt layers; Bidirectional with a different backward layer or over
            stacked cells; models with other layers or other wiring.
    """
    torch = _import_torch()
    from rnnlens.layers import RNN, Bidirectional
    from rnnlens.models import Model

    dtype = torch.float32 if dtype is None else dtype
    if isinstance(layer_or_model, Model):
        spec = _model_spec(layer_or_model)
    elif isinstance(layer_or_model, (RNN, Bidirectional)):
        spec = _layer_spec(layer_or_model)
    elif hasattr(layer_or_model, "name") and hasattr(layer_or_model, "weights"):
        raise _refuse(layer_or_model, "only LSTM, GRU, SimpleRNN, RNN over their cells, "
                      "Bidirectional of those, and models stacking them can be converted.")
    else:
        raise TypeError(f"to_torch expects an rnnlens layer or model, received "
                        f"{type(layer_or_model).__name__}.")
    return _module_from_spec(spec, dtype)


__all__ = ["rnn_to_torch", "wrapper_class"]
