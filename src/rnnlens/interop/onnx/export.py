"""Export an rnnlens model to ONNX, with ONNX's own LSTM / GRU / RNN operators.

``to_onnx(model, path)`` writes a file that ONNX Runtime runs with rnnlens's
numbers (max abs difference ~1e-6 in float32)::

    from rnnlens.interop.onnx import to_onnx
    to_onnx(model, "model.onnx")
    import onnxruntime as ort
    sess = ort.InferenceSession("model.onnx")
    outs = sess.run(None, {"input_layer": x})      # one array per model output

What it exports:

* ``LSTM``, ``GRU`` (``reset_after`` True or False), ``SimpleRNN`` and ``RNN``
  around a built-in cell, with ``return_sequences``, ``return_state``,
  ``go_backwards``, ``use_bias`` and initial states taken from the graph
  (an encoder's ``state_h`` / ``state_c`` feeding a decoder, or model inputs).
  ``unroll`` and ``dropout`` / ``recurrent_dropout`` at inference change no
  numbers and are accepted.
* ``Bidirectional`` with every merge mode (``concat``, ``sum``, ``ave``, ``mul``,
  None), ``return_sequences``, ``return_state``, initial states and a custom
  ``backward_layer``.
* ``Dense`` and ``TimeDistributed(Dense)`` (MatMul + Add + activation),
  ``RepeatVector``, ``Concatenate`` and models used as layers (inlined).

Activations inside the recurrent operators: tanh, sigmoid, relu, hard_sigmoid
(Keras 3's ``relu6(x + 3) / 6``, i.e. ONNX HardSigmoid alpha=1/6, beta=0.5),
linear, softsign, softplus, elu and leaky_relu. Dense takes those plus softmax,
log_softmax, selu, celu, exponential, relu6, hard_tanh, silu / swish,
hard_silu / hard_swish, gelu, mish, tanh_shrink, log_sigmoid, hard_shrink and
soft_shrink. Anything else is refused with a ValueError naming the layer and
the argument, as are masks (``Masking``, ``Embedding``, a ``mask=`` argument,
``zero_output_for_mask``), ``stateful`` layers, dropout forced on with
``training=True``, user cells and stacked cells.

The file's inputs carry the names of the model's ``Input`` layers, its outputs
the names of the model's output tensors (``lstm``; a ``return_state`` layer's
states are ``lstm_1``, ``lstm_2``, ...; a repeated name gets a ``_<k>``
suffix), in ``model.outputs`` order. The batch axis is symbolic (``batch``), and
so is the time axis of an ``Input`` whose time steps are None (``time``, or
``<input>_time`` when several inputs have one).

Layout: ONNX's recurrent operators run time-major (``layout=0``), so the
(B, T, F) input is transposed once per tensor; ONNX returns a reverse
direction's sequence aligned with the input steps, while Keras returns a
``go_backwards`` sequence in processing order, so that sequence is flipped back
with a ``Slice`` (and a ``Bidirectional``'s backward sequence, which Keras flips
into time order, needs no flip at all).

``onnx`` is imported only when ``to_onnx`` runs; it is an optional dependency.
"""

from __future__ import annotations

import inspect
import math
import os
from typing import Any

import numpy as np

#: The lowest opset ``to_onnx`` writes (Squeeze / Unsqueeze with axes as inputs,
#: Softmax over one axis).
MIN_OPSET = 13

_INT64_MIN_PLUS_1 = -(2 ** 63 - 1)

# Activations ONNX's LSTM / GRU / RNN operators take: name -> (ONNX name, alpha, beta).
# ONNX Runtime consumes activation_alpha / activation_beta in order, one value per
# activation that uses it (HardSigmoid, Affine: alpha and beta; LeakyRelu, Elu: alpha).
_RECURRENT_ACTIVATIONS: dict[str, tuple[str, float | None, float | None]] = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "linear": ("Affine", 1.0, 0.0),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    "elu": ("Elu", 1.0, None),
    "leaky_relu": ("LeakyRelu", 0.2, None),
}

_DENSE_ACTIVATIONS = (
    "linear", "relu", "tanh", "sigmoid", "softmax", "log_softmax", "elu", "selu", "celu",
    "softplus", "softsign", "hard_sigmoid", "exponential", "leaky_relu", "relu6", "hard_tanh",
    "silu", "swish", "hard_silu", "hard_swish", "gelu", "mish", "tanh_shrink", "log_sigmoid",
    "hard_shrink", "soft_shrink",
)


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as err:
        raise ImportError(
            "rnnlens.interop.onnx.to_onnx needs the optional 'onnx' package, which is not "
            "installed: pip install onnx (and onnxruntime to run the exported file)."
        ) from err
    return onnx


# -- public API --------------------------------------------------------------------------


def to_onnx(model: Any, path: Any, opset: int = 17) -> Any:
    """Exports ``model`` to the ONNX file ``path``; returns ``path``.

    Args:
        model: a functional ``Model``, a ``Sequential`` with a known input, or a
            single built recurrent layer (``LSTM``, ``GRU``, ``SimpleRNN``, ``RNN``,
            ``Bidirectional``), exported as a model with one (batch, time, features)
            input named ``<layer>_input``.
        path: where to write the file (str or path-like). Nothing else is written.
        opset: the ONNX opset of the file, 13 or newer (default 17).

    Returns:
        ``path``, as given.

    Raises:
        ImportError: onnx is not installed (``pip install onnx``).
        ValueError: the model holds a layer or a setting ONNX export does not
            support; the message names the layer and the setting.
    """
    onnx = _import_onnx()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise ValueError(f"Received opset={opset!r}, expected an integer >= {MIN_OPSET}.")
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(f"Received opset={opset}; ONNX export writes opsets {MIN_OPSET} to "
                         f"{newest} (the newest this onnx {onnx.__version__} knows).")
    graph = _graph_of(model)
    proto = _Exporter(onnx, int(opset), graph).build()
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
    return path


# -- the graph to export --------------------------------------------------------------------


class _GraphView:
    """Inputs, outputs and nodes (execution order) of what is being exported."""

    def __init__(self, name: str, inputs: list, outputs: list, nodes: list):
        self.name, self.inputs, self.outputs, self.nodes = name, inputs, outputs, nodes


def _graph_of(model: Any) -> _GraphView:
    from rnnlens.layers.base import Layer
    from rnnlens.layers.recurrent import RNN
    from rnnlens.layers.wrappers import Bidirectional
    from rnnlens.models.model import Model

    if isinstance(model, Model):
        if not getattr(model, "built", False) or not getattr(model, "inputs", None):
            raise ValueError(
                f"Model '{model.name}' has no input shape yet, so it cannot be exported; give "
                "it an Input (or call it on data) first.")
        return _GraphView(model.name, list(model.inputs), list(model.outputs),
                          list(model._nodes))
    if isinstance(model, (RNN, Bidirectional)):
        return _wrap_layer(model)
    if isinstance(model, Layer):
        raise ValueError(
            f"Layer '{model.name}' ({type(model).__name__}) cannot be exported on its own; "
            "to_onnx takes a Model, a Sequential, or a single recurrent layer. Wrap it: "
            "Model(inputs, layer(inputs)).")
    raise ValueError(f"to_onnx expects an rnnlens Model, Sequential or recurrent layer, "
                     f"received {type(model).__name__}.")


def _wrap_layer(layer: Any) -> _GraphView:
    """A one-node graph around a built recurrent layer, without touching the layer."""
    from rnnlens.functional import Node, SymbolicTensor

    sub = getattr(layer, "forward_layer", layer)
    if not layer.built or not sub.cell.built:
        raise ValueError(f"Layer '{layer.name}' has no weights yet, so it cannot be exported; "
                         "build it first (call it on data or layer.build(input_shape)).")
    shape = (None, None, int(sub.cell.input_dim))
    x = SymbolicTensor(shape, "float32", None, 0, 0, f"{layer.name}_input")
    node = Node(layer, (x,), {})
    shapes = _shape_leaves(layer.compute_output_shape(shape))
    for k, s in enumerate(shapes):
        name = layer.name if k == 0 else f"{layer.name}_{k}"
        node.outputs.append(SymbolicTensor(s, "float32", layer, 0, k, name))
    return _GraphView(layer.name, [x], list(node.outputs), [node])


def _shape_leaves(shapes: Any) -> list:
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                         for d in shapes):
        return [shapes]
    return [leaf for s in shapes for leaf in _shape_leaves(s)]


def _call_arguments(layer: Any, args: tuple, kwargs: dict) -> dict:
    """The node's arguments by name (``initial_state``, ``mask``, ``training``)."""
    try:
        bound = inspect.signature(layer.call).bind(*args, **kwargs)
    except TypeError:
        return {"inputs": args[0] if args else None, **kwargs}
    named = dict(bound.arguments)
    extra = named.pop("kwargs", None)
    if isinstance(extra, dict):
        named.update(extra)
    return named


# -- the exporter --------------------------------------------------------------------------


class _Exporter:
    """Builds the ONNX graph node by node; keeps a name for every symbolic tensor."""

    def __init__(self, onnx: Any, opset: int, graph: _GraphView):
        self.onnx, self.helper = onnx, onnx.helper
        self.opset, self.graph = opset, graph
        self.nodes: list = []
        self.initializers: list = []
        self.used: set[str] = set()
        self.tensors: dict[int, str] = {}          # id(SymbolicTensor) -> ONNX name
        self.cache: dict[Any, str] = {}            # shared constants and transposes

    # -- names and primitive ops ----------------------------------------------------------

    def fresh(self, hint: str) -> str:
        name, k = hint, 1
        while name in self.used:
            name, k = f"{hint}_{k}", k + 1
        self.used.add(name)
        return name

    def const(self, array: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array),
                                                                   name))
        return name

    def ints(self, values: list[int]) -> str:
        key = ("int64", tuple(values))
        if key not in self.cache:
            self.cache[key] = self.const(np.asarray(values, np.int64), "const_i64")
        return self.cache[key]

    def scalar(self, value: float) -> str:
        key = ("float32", float(value))
        if key not in self.cache:
            self.cache[key] = self.const(np.asarray(value, np.float32), "const_f32")
        return self.cache[key]

    def op(self, op_type: str, inputs: list[str], hint: str, n_out: int = 1,
           outputs: list[str] | None = None, **attrs: Any) -> list[str]:
        outs = outputs if outputs is not None else [self.fresh(f"{hint}/{op_type}"
                                                               + (f"_{k}" if n_out > 1 else ""))
                                                    for k in range(n_out)]
        while inputs and inputs[-1] == "":              # trailing optional inputs omitted
            inputs = inputs[:-1]
        self.nodes.append(self.helper.make_node(op_type, inputs, outs,
                                                name=self.fresh(f"{hint}/{op_type}_node"),
                                                **attrs))
        return outs

    def one(self, op_type: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        return self.op(op_type, inputs, hint, **attrs)[0]

    def squeeze(self, x: str, axis: int, hint: str) -> str:
        return self.one("Squeeze", [x, self.ints([axis])], hint)

    def unsqueeze(self, x: str, axis: int, hint: str) -> str:
        return self.one("Unsqueeze", [x, self.ints([axis])], hint)

    def flip(self, x: str, axis: int, hint: str) -> str:
        """Reverses ``axis`` (any length) with a negative-step Slice."""
        return self.one("Slice", [x, self.ints([-1]), self.ints([_INT64_MIN_PLUS_1]),
                                  self.ints([axis]), self.ints([-1])], hint)

    def time_major(self, x: str) -> str:
        """(B, T, F) -> (T, B, F), once per tensor."""
        key = ("time_major", x)
        if key not in self.cache:
            self.cache[key] = self.one("Transpose", [x], f"{x}/time_major", perm=[1, 0, 2])
        return self.cache[key]

    # -- the whole graph ------------------------------------------------------------------

    def build(self) -> Any:
        helper, onnx = self.helper, self.onnx
        g = self.graph
        in_names = [t.name for t in g.inputs]
        if len(set(in_names)) != len(in_names):
            raise ValueError(f"Model '{g.name}' has several inputs with the same name "
                             f"({in_names}); ONNX needs distinct input names.")
        self.used.update(in_names)
        out_names = []
        for t in g.outputs:
            out_names.append(self.fresh(t.name))
        dynamic_time = [t for t in g.inputs if len(t.shape) > 1 and t.shape[1] is None]
        inputs_info = []
        for t in g.inputs:
            dtype = np.dtype(t.dtype)
            dims = []
            for k, d in enumerate(t.shape):
                if k == 0:
                    dims.append("batch")
                elif d is not None:
                    dims.append(int(d))
                elif k == 1:
                    dims.append("time" if len(dynamic_time) == 1 else f"{t.name}_time")
                else:
                    dims.append(f"{t.name}_dim{k}")
            inputs_info.append(helper.make_tensor_value_info(
                t.name, helper.np_dtype_to_tensor_dtype(dtype), dims))
            name = t.name
            if dtype != np.float32:
                name = self.one("Cast", [name], t.name, to=onnx.TensorProto.FLOAT)
            self.tensors[id(t)] = name
        self._emit_nodes(g.nodes, training=False)
        outputs_info = []
        for t, name in zip(g.outputs, out_names):
            self.op("Identity", [self.tensors[id(t)]], name, outputs=[name])
            # Only the rank and the batch here; ONNX's shape inference fills in the rest
            # below (rnnlens's static shapes copy Keras's, which are wrong for a
            # Bidirectional whose backward layer has other units).
            dims = ["batch"] + [None] * (len(t.shape) - 1)
            outputs_info.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                              dims))
        graph = helper.make_graph(self.nodes, g.name, inputs_info, outputs_info,
                                  self.initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        from rnnlens import __version__

        proto = helper.make_model(graph, opset_imports=opsets, producer_name="rnnlens",
                                  producer_version=__version__)
        proto.ir_version = helper.find_min_ir_version_for(opsets, ignore_unknown=True)
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
        for out, found in zip(proto.graph.output, inferred.graph.output):
            out.type.CopyFrom(found.type)
        return proto

    def _emit_nodes(self, nodes: list, training: bool) -> None:
        for node in nodes:
            self._emit_node(node, training)

    def _emit_node(self, node: Any, training: bool) -> None:
        from rnnlens.layers.base import flatten
        from rnnlens.layers import (Concatenate, Dense, Embedding, InputLayer, Masking,
                                    RepeatVector)
        from rnnlens.layers.recurrent import RNN
        from rnnlens.layers.wrappers import Bidirectional, TimeDistributed
        from rnnlens.models.model import Model

        layer = node.layer
        if isinstance(layer, InputLayer):
            return
        named = _call_arguments(layer, node.args, node.kwargs)
        if named.get("mask") is not None:
            raise ValueError(
                f"Layer '{layer.name}' is called with mask=...; ONNX export does not support "
                "masks (the exported graph has no mask input). Pad with real values and "
                "remove the mask, or run the model in rnnlens.")
        if not isinstance(named.get("training", False), (bool, int, np.integer)):
            raise ValueError(f"Layer '{layer.name}' is called with training="
                             f"{named['training']!r}; ONNX export needs True or False.")
        node_training = bool(named.get("training", training) or False)
        x = named.get("inputs")
        kind = type(layer)
        if isinstance(layer, Model):
            self._emit_model(layer, node, named, node_training)
            return
        if kind is Masking or kind is Embedding:
            why = ("emits a mask" if kind is Masking else
                   "maps integer ids (and may emit a mask)")
            raise ValueError(
                f"Layer '{layer.name}' ({kind.__name__}) {why}; ONNX export does not support "
                f"{kind.__name__} layers or masks. Supported: LSTM, GRU, SimpleRNN, "
                "Bidirectional, Dense, TimeDistributed(Dense), RepeatVector, Concatenate.")
        if isinstance(layer, (RNN, Bidirectional)):
            outs = self._emit_recurrent(layer, node, named, node_training)
        elif kind is Dense:
            outs = [self._dense(layer, self._name(x), layer.name)]
        elif kind is TimeDistributed:
            if type(layer.layer) is not Dense:
                raise ValueError(
                    f"Layer '{layer.name}' is TimeDistributed({type(layer.layer).__name__}); "
                    "ONNX export supports TimeDistributed only around Dense.")
            outs = [self._dense(layer.layer, self._name(x), layer.name)]
        elif kind is RepeatVector:
            up = self.unsqueeze(self._name(x), 1, layer.name)
            outs = [self.one("Expand", [up, self.ints([1, layer.n, 1])], layer.name)]
        elif kind is Concatenate:
            parts = [self._name(t) for t in flatten(x)]
            outs = [self.one("Concat", parts, layer.name, axis=int(layer.axis))]
        else:
            raise ValueError(
                f"Layer '{layer.name}' ({kind.__name__}) is not supported by ONNX export. "
                "Supported: LSTM, GRU, SimpleRNN, RNN (built-in cells), Bidirectional, Dense, "
                "TimeDistributed(Dense), RepeatVector, Concatenate, and models of them.")
        if len(outs) != len(node.outputs):                   # pragma: no cover - internal
            raise RuntimeError(f"ONNX export of layer '{layer.name}' made {len(outs)} "
                               f"outputs, the graph has {len(node.outputs)}.")
        for t, name in zip(node.outputs, outs):
            self.tensors[id(t)] = name

    def _name(self, tensor: Any) -> str:
        return self.tensors[id(tensor)]

    def _emit_model(self, model: Any, node: Any, named: dict, training: bool) -> None:
        """A model used as a layer: its nodes inlined, its inputs bound to the node's."""
        from rnnlens.layers.base import flatten

        given = named.get("inputs")
        if isinstance(given, dict):
            flat = [given[t.name] for t in model.inputs]
        else:
            flat = flatten(given)
        if len(flat) != len(model.inputs):
            raise ValueError(f"Model '{model.name}' is called on {len(flat)} inputs, expects "
                             f"{len(model.inputs)}.")
        for inner, outer in zip(model.inputs, flat):
            self.tensors[id(inner)] = self._name(outer)
        self._emit_nodes(model._nodes, training)
        for t, inner in zip(node.outputs, model.outputs):
            self.tensors[id(t)] = self._name(inner)

    # -- Dense ----------------------------------------------------------------------------

    def _dense(self, layer: Any, x: str, hint: str) -> str:
        from rnnlens import activations

        name = activations.serialize(layer.activation)
        if not isinstance(name, str) or name not in _DENSE_ACTIVATIONS:
            label = name if isinstance(name, str) else getattr(name, "__name__", repr(name))
            raise ValueError(
                f"Layer '{hint}' uses activation={label!r}; ONNX export does not support it "
                f"for Dense (supported: {', '.join(_DENSE_ACTIVATIONS)}).")
        kernel = self._weight(layer, "kernel", lambda: layer.kernel.astype(np.float32))
        y = self.one("MatMul", [x, kernel], hint)
        if layer.use_bias:
            bias = self._weight(layer, "bias", lambda: layer.bias.astype(np.float32))
            y = self.one("Add", [y, bias], hint)
        return self._activation(name, y, hint)

    def _weight(self, layer: Any, what: str, make: Any) -> str:
        """One initializer per layer weight, shared by every call of a shared layer."""
        key = ("weight", id(layer), what)
        if key not in self.cache:
            self.cache[key] = self.const(make(), f"{layer.name}/{what}")
        return self.cache[key]

    def _activation(self, name: str, x: str, hint: str) -> str:
        one = self.one
        if name == "linear":
            return x
        simple = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softplus": "Softplus",
                  "softsign": "Softsign", "exponential": "Exp", "selu": "Selu"}
        if name in simple:
            return one(simple[name], [x], hint)
        if name == "softmax":
            return one("Softmax", [x], hint, axis=-1)
        if name == "log_softmax":
            return one("LogSoftmax", [x], hint, axis=-1)
        if name == "elu":
            return one("Elu", [x], hint, alpha=1.0)
        if name == "celu":
            return one("Celu", [x], hint, alpha=1.0)
        if name == "hard_sigmoid":
            return one("HardSigmoid", [x], hint, alpha=1.0 / 6.0, beta=0.5)
        if name == "leaky_relu":
            return one("LeakyRelu", [x], hint, alpha=0.2)
        if name == "relu6":
            return one("Clip", [x, self.scalar(0.0), self.scalar(6.0)], hint)
        if name == "hard_tanh":
            return one("Clip", [x, self.scalar(-1.0), self.scalar(1.0)], hint)
        if name in ("silu", "swish"):
            return one("Mul", [x, one("Sigmoid", [x], hint)], hint)
        if name in ("hard_silu", "hard_swish"):
            return one("Mul", [x, one("HardSigmoid", [x], hint, alpha=1.0 / 6.0, beta=0.5)],
                       hint)
        if name == "gelu":                              # Keras's exact (erf) form
            erf = one("Erf", [one("Div", [x, self.scalar(math.sqrt(2.0))], hint)], hint)
            half_x = one("Mul", [x, self.scalar(0.5)], hint)
            return one("Mul", [half_x, one("Add", [erf, self.scalar(1.0)], hint)], hint)
        if name == "mish":
            return one("Mul", [x, one("Tanh", [one("Softplus", [x], hint)], hint)], hint)
        if name == "tanh_shrink":
            return one("Sub", [x, one("Tanh", [x], hint)], hint)
        if name == "log_sigmoid":
            return one("Neg", [one("Softplus", [one("Neg", [x], hint)], hint)], hint)
        if name == "hard_shrink":
            return one("Shrink", [x], hint, bias=0.0, lambd=0.5)
        if name == "soft_shrink":
            return one("Shrink", [x], hint, bias=0.5, lambd=0.5)
        raise AssertionError(name)                       # pragma: no cover - table above

    # -- recurrent layers -----------------------------------------------------------------

    def _emit_recurrent(self, layer: Any, node: Any, named: dict, training: bool) -> list[str]:
        from rnnlens.layers.wrappers import Bidirectional

        states = named.get("initial_state")
        if states is not None:
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            states = [self._name(s) for s in states]
        x = self._name(named.get("inputs"))
        if isinstance(layer, Bidirectional):
            return self._bidirectional(layer, x, states, training)
        _check_recurrent(layer, f"'{layer.name}'", training, standalone=True)
        seq, final = self._run_directions([layer], x, [states], flips=[layer.go_backwards],
                                          hint=layer.name)
        out = seq[0] if layer.return_sequences else final[0][0]
        return [out] + (final[0] if layer.return_state else [])

    def _bidirectional(self, layer: Any, x: str, states: list[str] | None,
                       training: bool) -> list[str]:
        if layer.stateful:
            raise ValueError(_stateful_message(f"'{layer.name}'"))
        fw, bw = layer.forward_layer, layer.backward_layer
        for sub in (fw, bw):
            _check_recurrent(sub, f"'{layer.name}' (its {sub.name})", training,
                             standalone=False)
        n = len(fw.cell.state_size)
        split = [None, None] if states is None else [states[:n], states[n:]]
        # Keras returns the backward layer's sequence flipped into time order; ONNX returns
        # a reverse direction's sequence in time order already.
        flips = [fw.go_backwards, not bw.go_backwards]
        if _one_operator(fw, bw):
            seq, final = self._run_directions([fw, bw], x, split, flips, layer.name)
        else:
            seq_f, final_f = self._run_directions([fw], x, [split[0]], flips[:1],
                                                  f"{layer.name}/{fw.name}")
            seq_b, final_b = self._run_directions([bw], x, [split[1]], flips[1:],
                                                  f"{layer.name}/{bw.name}")
            seq, final = seq_f + seq_b, final_f + final_b
        if layer.return_sequences:
            y_f, y_b = seq
        else:
            y_f, y_b = final[0][0], final[1][0]
        merged = self._merge(layer.merge_mode, y_f, y_b, layer.name)
        return merged + ((final[0] + final[1]) if layer.return_state else [])

    def _merge(self, mode: str | None, a: str, b: str, hint: str) -> list[str]:
        if mode is None:
            return [a, b]
        if mode == "concat":
            return [self.one("Concat", [a, b], hint, axis=-1)]
        if mode == "sum":
            return [self.one("Add", [a, b], hint)]
        if mode == "ave":
            return [self.one("Div", [self.one("Add", [a, b], hint), self.scalar(2.0)], hint)]
        if mode == "mul":
            return [self.one("Mul", [a, b], hint)]
        raise ValueError(f"Layer '{hint}' has merge_mode={mode!r}, which ONNX export does "
                         "not know.")                    # pragma: no cover - checked by Keras

    def _run_directions(self, layers: list, x: str, states: list, flips: list[bool],
                        hint: str) -> tuple[list[str], list[list[str]]]:
        """One ONNX LSTM / GRU / RNN op for one layer or a forward + backward pair.

        Returns each direction's (B, T, u) sequence (flipped where ``flips`` says)
        and its final states [h] or [h, c] as (B, u).
        """
        first = layers[0]
        cell = first.cell
        op_type, gates = _op_kind(cell)
        u = cell.units
        w, r, b = [], [], []
        for lyr in layers:
            wk, rk, bk = _onnx_weights(lyr.cell)
            w.append(wk)
            r.append(rk)
            b.append(bk)
        w_name = self.const(np.stack(w), f"{hint}/W")
        r_name = self.const(np.stack(r), f"{hint}/R")
        b_name = ""
        if any(bk is not None for bk in b):
            b_name = self.const(np.stack([np.zeros(2 * gates * u, np.float32) if bk is None
                                          else bk for bk in b]), f"{hint}/B")
        if len(layers) == 2:
            direction = "bidirectional"
        else:
            direction = "reverse" if first.go_backwards else "forward"
        n_states = len(cell.state_size)
        init = ["", ""]
        if any(s is not None for s in states):
            for k in range(n_states):
                parts = [self.unsqueeze(s[k], 0, f"{hint}/initial_{k}") for s in states]
                init[k] = parts[0] if len(parts) == 1 else self.one(
                    "Concat", parts, f"{hint}/initial_{k}", axis=0)
        acts, alphas, betas = [], [], []
        for lyr in layers:
            for arg in _activation_args(lyr.cell):
                onnx_name, alpha, beta = _recurrent_activation(lyr, arg)
                acts.append(onnx_name)
                if alpha is not None:
                    alphas.append(alpha)
                if beta is not None:
                    betas.append(beta)
        attrs: dict[str, Any] = {"hidden_size": u, "direction": direction, "activations": acts}
        if alphas:
            attrs["activation_alpha"] = alphas
        if betas:
            attrs["activation_beta"] = betas
        if op_type == "GRU":
            attrs["linear_before_reset"] = int(cell.reset_after)
        inputs = [self.time_major(x), w_name, r_name, b_name, "", init[0]]
        if op_type == "LSTM":
            inputs.append(init[1])
        need_seq = first.return_sequences
        n_out = 3 if op_type == "LSTM" else 2
        outs = [self.fresh(f"{hint}/{op_type}_{k}") for k in ("Y", "Y_h", "Y_c")[:n_out]]
        if not need_seq:
            outs[0] = ""
        self.op(op_type, inputs, hint, outputs=outs, **attrs)
        n_dir = len(layers)
        seqs: list[str] = []
        if need_seq:
            y = outs[0]                                    # (T, dirs, B, u)
            parts = ([y] if n_dir == 1 else
                     self.op("Split", [y, self.ints([1] * n_dir)], f"{hint}/Y", n_out=n_dir,
                             axis=1))
            for k, part in enumerate(parts):
                seq = self.squeeze(part, 1, f"{hint}/Y")  # (T, B, u)
                if flips[k]:
                    seq = self.flip(seq, 0, f"{hint}/Y")
                seqs.append(self.one("Transpose", [seq], f"{hint}/Y", perm=[1, 0, 2]))
        finals: list[list[str]] = [[] for _ in layers]
        for state in outs[1:]:                             # (dirs, B, u)
            parts = ([state] if n_dir == 1 else
                     self.op("Split", [state, self.ints([1] * n_dir)], state, n_out=n_dir,
                             axis=0))
            for k, part in enumerate(parts):
                finals[k].append(self.squeeze(part, 0, state))
        return seqs, finals


# -- recurrent layers: checks and weights -----------------------------------------------------


def _stateful_message(name: str) -> str:
    return (f"Layer {name} uses stateful=True; ONNX export does not support stateful "
            "layers (the exported graph keeps no states between runs). Create the layer "
            "with stateful=False, or pass the states as model inputs and outputs.")


def _check_recurrent(layer: Any, name: str, training: bool, standalone: bool) -> None:
    """Refuses what ONNX cannot run; ``name`` is the quoted label for messages."""
    from rnnlens.cells.generic import StackedRNNCells
    from rnnlens.cells.gru import GRUCell
    from rnnlens.cells.lstm import LSTMCell
    from rnnlens.cells.simple_rnn import SimpleRNNCell
    from rnnlens.layers.recurrent import GRU, LSTM, RNN, SimpleRNN

    if type(layer) not in (LSTM, GRU, SimpleRNN, RNN):
        raise ValueError(f"Layer {name} is a {type(layer).__name__}, a subclass of a "
                         "recurrent layer; ONNX export supports only LSTM, GRU, SimpleRNN and "
                         "RNN around a built-in cell.")
    cell = layer.cell
    if isinstance(cell, StackedRNNCells):
        raise ValueError(f"Layer {name} uses stacked cells (RNN([cell, cell, ...])); ONNX "
                         "export does not support stacked cells. Stack separate recurrent "
                         "layers with return_sequences=True instead.")
    if type(cell) not in (LSTMCell, GRUCell, SimpleRNNCell):
        user = type(getattr(cell, "cell", cell)).__name__
        raise ValueError(f"Layer {name} uses a user cell ({user}); ONNX export supports only "
                         "the built-in LSTMCell, GRUCell and SimpleRNNCell.")
    if layer.stateful:
        raise ValueError(_stateful_message(name))
    if standalone and layer.zero_output_for_mask:
        raise ValueError(f"Layer {name} uses zero_output_for_mask=True, which only matters "
                         "with a mask; ONNX export does not support masks. Create the layer "
                         "with zero_output_for_mask=False (without a mask the numbers are the "
                         "same).")
    if training and (cell.dropout > 0 or cell.recurrent_dropout > 0):
        raise ValueError(f"Layer {name} is called with training=True and dropout="
                         f"{cell.dropout} / recurrent_dropout={cell.recurrent_dropout}; ONNX "
                         "export does not support dropout in training mode (random masks). "
                         "Call the layer without training=True.")
    for arg in _activation_args(cell):
        _recurrent_activation(layer, arg, name)


def _activation_args(cell: Any) -> list[str]:
    """The cell's activation arguments in ONNX's order (LSTM f, g, h; GRU f, g; RNN f)."""
    from rnnlens.cells.gru import GRUCell
    from rnnlens.cells.lstm import LSTMCell

    if isinstance(cell, LSTMCell):
        return ["recurrent_activation", "activation", "activation"]
    if isinstance(cell, GRUCell):
        return ["recurrent_activation", "activation"]
    return ["activation"]


def _recurrent_activation(layer: Any, arg: str, name: str | None = None
                          ) -> tuple[str, float | None, float | None]:
    from rnnlens import activations

    fn = getattr(layer.cell, arg)
    key = activations.serialize(fn)
    if isinstance(key, str) and key in _RECURRENT_ACTIVATIONS:
        return _RECURRENT_ACTIVATIONS[key]
    label = key if isinstance(key, str) else getattr(key, "__name__", repr(key))
    raise ValueError(
        f"Layer {name or repr(layer.name)} uses {arg}={label!r}; the ONNX "
        f"{_op_kind(layer.cell)[0]} operator cannot express it (supported: "
        f"{', '.join(_RECURRENT_ACTIVATIONS)}).")


def _op_kind(cell: Any) -> tuple[str, int]:
    from rnnlens.cells.gru import GRUCell
    from rnnlens.cells.lstm import LSTMCell

    if isinstance(cell, LSTMCell):
        return "LSTM", 4
    if isinstance(cell, GRUCell):
        return "GRU", 3
    return "RNN", 1


def _one_operator(fw: Any, bw: Any) -> bool:
    """Whether one ONNX op with direction="bidirectional" runs both directions."""
    a, b = fw.cell, bw.cell
    return (type(a) is type(b) and a.units == b.units and not fw.go_backwards
            and bw.go_backwards and getattr(a, "reset_after", None)
            == getattr(b, "reset_after", None))


def _onnx_weights(cell: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """W (G*u, F), R (G*u, u), B (2*G*u,) or None for one direction, in ONNX's layout.

    Keras keeps (F, G*u) kernels; ONNX wants (G*u, F). LSTM gates go from Keras's
    i, f, c, o to ONNX's i, o, f, c. GRU's z, r, h order is the same in both; with
    reset_after the bias rows are ONNX's Wb (input) and Rb (recurrent), otherwise
    the single bias is Wb and Rb is zero. SimpleRNN's bias is Wb.
    """
    kind, gates = _op_kind(cell)
    u = cell.units
    kernel = np.asarray(cell.kernel, np.float32)
    recurrent = np.asarray(cell.recurrent_kernel, np.float32)
    bias = np.asarray(cell.bias, np.float32) if cell.use_bias else None
    if kind == "LSTM":
        cols = np.concatenate([np.arange(k * u, (k + 1) * u) for k in (0, 3, 1, 2)])
        kernel, recurrent = kernel[:, cols], recurrent[:, cols]
        bias = None if bias is None else bias[cols]
    if bias is not None:
        if kind == "GRU" and cell.reset_after:
            bias = np.concatenate([bias[0], bias[1]])
        else:
            bias = np.concatenate([bias, np.zeros(gates * u, np.float32)])
    return (np.ascontiguousarray(kernel.T), np.ascontiguousarray(recurrent.T), bias)


__all__ = ["to_onnx", "MIN_OPSET"]
