"""``to_onnx`` and the exporter: the graph walk, tensor names, shared primitives, dispatch.

Every layer call of the model becomes ONNX nodes through an *emitter*, looked up by the
layer's exact class in the tables of the family modules (``recurrent``, ``core``,
``reshaping``, ``merging``, ``conv``, ``norm``)::

    emitter(exporter, call) -> [ONNX value name of each output of the call]

``call`` (:class:`Call`) holds the layer, its inputs as :class:`Value` (ONNX name and
rnnlens's static shape, batch first, None where unknown), the call's other arguments by
name, whether it runs in training mode, the name used in messages and the static
shapes of its outputs. Models used as layers are inlined; a layer whose class is in no
table is refused with a ValueError that names it and lists what is exported.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

#: The lowest opset ``to_onnx`` writes (Squeeze / Unsqueeze with axes as inputs,
#: Softmax over one axis).
MIN_OPSET = 13

INT64_MAX = 2 ** 63 - 1
_INT64_MIN_PLUS_1 = -(2 ** 63 - 1)


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
    proto = Exporter(onnx, int(opset), graph).build()
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


# -- what an emitter receives ---------------------------------------------------------------


class Value(NamedTuple):
    """A tensor of the ONNX graph: its name and rnnlens's static shape (batch first)."""

    name: str
    shape: tuple


@dataclass
class Call:
    """One layer call, as an emitter sees it.

    Attributes:
        layer: the layer.
        inputs: its input tensors, flattened in order (float32).
        named: the call's arguments by name (``initial_state``, ...; symbolic tensors).
        training: whether the call runs in training mode.
        hint: the name messages and ONNX node names use (a wrapper's for its inner layer).
        out_shapes: rnnlens's static shapes of the outputs.
        mask: the Keras mask the layer receives, as rnnlens passes it: None, the ONNX
            name of a bool tensor, or a list (one entry or None per input of a merge).
        raw: the inputs' ONNX names before any cast to float32 (integer ids, bools).
        out_masks: set by an emitter that computes its outputs' masks itself
            (``Masking``); otherwise :mod:`.masks` derives them as ``compute_mask``.
        args: an op node's call arguments as recorded (tensors, numbers, keys).
        out_dtypes: rnnlens's dtypes of the outputs (``"bool"`` for ``x > 0``).
    """

    layer: Any
    inputs: list[Value]
    named: dict = field(default_factory=dict)
    training: bool = False
    hint: str = ""
    out_shapes: list[tuple] = field(default_factory=list)
    mask: Any = None
    raw: list[str] = field(default_factory=list)
    out_masks: list | None = None
    args: tuple = ()
    out_dtypes: list = field(default_factory=list)

    @property
    def x(self) -> Value:
        return self.inputs[0]

    @property
    def where(self) -> str:
        """``Layer 'name' (Class)``, the start of every refusal."""
        return f"Layer '{self.hint}' ({type(self.layer).__name__})"


Emitter = Callable[["Exporter", Call], "list[str]"]


def emitters() -> dict[type, Emitter]:
    """Every family's table, merged: layer class -> emitter."""
    from rnnlens.interop.onnx import (attention, conv, conv_recurrent, core, masks, merging,
                                      norm, recurrent, reshaping)

    table: dict[type, Emitter] = {}
    for module in (recurrent, core, masks, reshaping, merging, conv, norm, conv_recurrent,
                   attention):
        table.update(module.EMITTERS)
    from rnnlens.interop.onnx.op_shapes import emitters_table

    table.update(emitters_table())
    return table


def exported_names() -> list[str]:
    """The layer class names ONNX export supports (for messages; no op nodes)."""
    from rnnlens.layers.op_nodes import OpNode

    return sorted({cls.__name__ for cls in emitters() if not issubclass(cls, OpNode)})


# -- the exporter --------------------------------------------------------------------------


class Exporter:
    """Builds the ONNX graph node by node; keeps a name for every symbolic tensor."""

    def __init__(self, onnx: Any, opset: int, graph: _GraphView):
        self.onnx, self.helper = onnx, onnx.helper
        self.opset, self.graph = opset, graph
        self.nodes: list = []
        self.initializers: list = []
        self.used: set[str] = set()
        self.tensors: dict[int, str] = {}          # id(SymbolicTensor) -> ONNX name
        self.masks: dict[int, str | None] = {}     # id(SymbolicTensor) -> its Keras mask
        self.types: dict[str, int] = {}            # ONNX name -> element type if not float
        self.cache: dict[Any, str] = {}            # shared constants and transposes
        self.table = emitters()

    # -- names and primitive ops ----------------------------------------------------------

    def fresh(self, hint: str) -> str:
        name, k = hint, 1
        while name in self.used:
            name, k = f"{hint}_{k}", k + 1
        self.used.add(name)
        return name

    def const(self, array: np.ndarray, hint: str) -> str:
        """An initializer; a 0-d array is written as shape [1] (``np.ascontiguousarray``),
        which the existing callers index and compare as 1-element tensors."""
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array),
                                                                   name))
        return name

    def ints(self, values: list[int]) -> str:
        key = ("int64", tuple(int(v) for v in values))
        if key not in self.cache:
            self.cache[key] = self.const(np.asarray(values, np.int64), "const_i64")
        return self.cache[key]

    def scalar(self, value: float) -> str:
        """A 0-d float32 constant (shape [], not [1]): it broadcasts like [1] against
        tensors of rank >= 1 and keeps a 0-d operand 0-d. One per value (-0.0, NaN too)."""
        array = np.asarray(value, np.float32)                   # ()
        key = ("float32", repr(array.item()))
        if key not in self.cache:
            name = self.fresh("const_f32")
            self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
            self.cache[key] = name
        return self.cache[key]

    def weight(self, layer: Any, what: str, make: Callable[[], np.ndarray]) -> str:
        """One initializer per layer weight, shared by every call of a shared layer."""
        key = ("weight", id(layer), what)
        if key not in self.cache:
            self.cache[key] = self.const(np.asarray(make(), np.float32), f"{layer.name}/{what}")
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

    def unsqueeze(self, x: str, axis: int | list[int], hint: str) -> str:
        axes = [axis] if isinstance(axis, int) else list(axis)
        return self.one("Unsqueeze", [x, self.ints(axes)], hint)

    def transpose(self, x: str, perm: list[int], hint: str) -> str:
        if list(perm) == sorted(perm):
            return x
        return self.one("Transpose", [x], hint, perm=list(perm))

    def slice(self, x: str, axis: int, start: int, end: int, hint: str, step: int = 1) -> str:
        return self.one("Slice", [x, self.ints([start]), self.ints([end]), self.ints([axis]),
                                  self.ints([step])], hint)

    def flip(self, x: str, axis: int, hint: str) -> str:
        """Reverses ``axis`` (any length) with a negative-step Slice."""
        return self.slice(x, axis, -1, _INT64_MIN_PLUS_1, hint, step=-1)

    def shape_of(self, x: str, start: int, end: int, hint: str) -> str:
        """``shape(x)[start:end]`` as a 1-D int64 tensor (dynamic sizes included)."""
        return self.slice(self.one("Shape", [x], hint), 0, start, end, hint)

    def reduce(self, op_type: str, x: str, axes: list[int], hint: str,
               keepdims: bool = True) -> str:
        """``ReduceMean`` & co.: axes as an attribute before opset 18, an input from 18
        (``ReduceSum``: an input from 13)."""
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.one(op_type, [x, self.ints(axes)], hint, keepdims=int(keepdims))
        return self.one(op_type, [x], hint, axes=list(axes), keepdims=int(keepdims))

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
        out_names = [self.fresh(t.name) for t in g.outputs]
        inputs_info = [self._input(t, g.inputs) for t in g.inputs]
        self.emit_nodes(g.nodes, training=False)
        outputs_info = []
        for t, name in zip(g.outputs, out_names):
            self.op("Identity", [self.name_of(t)], name, outputs=[name])
            # Only the rank and the batch here; ONNX's shape inference fills in the rest
            # below (rnnlens's static shapes copy Keras's, which are wrong for a
            # Bidirectional whose backward layer has other units).
            # (an op node's output may have any rank, the batch reduced away)
            dims = [("batch" if k == 0 and d is None else None) for k, d in enumerate(t.shape)]
            outputs_info.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                              dims))
        self._prune(out_names)
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

    def _prune(self, outputs: list[str]) -> None:
        """Drops nodes and initializers no output depends on (e.g. the float cast of ids
        only an Embedding reads); subgraphs' references to outer names count."""
        needed = set(outputs)
        kept = []
        for node in reversed(self.nodes):
            if not any(o in needed for o in node.output):
                continue
            kept.append(node)
            needed.update(node.input)
            for attr in node.attribute:
                if attr.type == self.onnx.AttributeProto.GRAPH:
                    needed.update(_graph_references(attr.g))
        self.nodes = kept[::-1]
        self.initializers = [t for t in self.initializers if t.name in needed]

    def _input(self, t: Any, inputs: list) -> Any:
        """The graph input of ``t`` (batch ``batch``, unknown steps ``time``); float32 inside."""
        dtype = np.dtype(t.dtype)
        dynamic_time = [i for i in inputs if len(i.shape) > 1 and i.shape[1] is None]
        dims: list[Any] = []
        for k, d in enumerate(t.shape):
            if k == 0:
                dims.append("batch")
            elif d is not None:
                dims.append(int(d))
            elif k == 1:
                dims.append("time" if len(dynamic_time) == 1 else f"{t.name}_time")
            else:
                dims.append(f"{t.name}_dim{k}")
        elem = self.helper.np_dtype_to_tensor_dtype(dtype)
        info = self.helper.make_tensor_value_info(t.name, elem, dims)
        name = t.name
        if np.issubdtype(dtype, np.floating) and dtype != np.float32:
            name = self.one("Cast", [name], t.name, to=self.onnx.TensorProto.FLOAT)
        elif dtype != np.float32:
            self.types[name] = elem             # ids and bools stay; name_of casts them
        self.tensors[id(t)] = name
        return info

    def emit_nodes(self, nodes: list, training: bool) -> None:
        for node in nodes:
            self._emit_node(node, training)

    def _emit_node(self, node: Any, training: bool) -> None:
        from rnnlens.interop.onnx import masks
        from rnnlens.layers.base import flatten
        from rnnlens.layers.core import InputLayer
        from rnnlens.layers.op_nodes import OpNode
        from rnnlens.models.model import Model, _states_given

        layer = node.layer
        if isinstance(layer, InputLayer):
            return
        named = _call_arguments(layer, node.args, node.kwargs)
        if not isinstance(named.get("training", False), (bool, int, np.integer)):
            raise ValueError(f"Layer '{layer.name}' is called with training="
                             f"{named['training']!r}; ONNX export needs True or False.")
        node_training = bool(named.get("training", training) or False)
        if isinstance(layer, Model):
            self._emit_model(layer, node, named, node_training)
            return
        given = node.args if isinstance(layer, OpNode) else named.get("inputs")
        tensors = [t for t in flatten(given) if hasattr(t, "shape") and id(t) in self.tensors]
        inputs = [Value(self.name_of(t), tuple(t.shape)) for t in tensors]
        carried = masks.incoming(self, node)
        states_given = _states_given(node) and "mask" not in node.kwargs
        call = Call(layer, inputs, named, node_training, layer.name,
                    [tuple(t.shape) for t in node.outputs],
                    mask=None if states_given else carried,
                    raw=[self.raw_of(t) for t in tensors],
                    args=tuple(node.args) if isinstance(layer, OpNode) else (),
                    out_dtypes=[str(t.dtype) for t in node.outputs])
        outs = self.emit(call)
        if states_given:
            # Keras runs a layer given initial_state unmasked; its output masks are still
            # computed from the carried mask (rnnlens.models.model._states_given)
            made = layer.compute_mask(None, carried)
            call.out_masks = list(made) if isinstance(made, (list, tuple)) else [made]
        if len(outs) != len(node.outputs):                   # pragma: no cover - internal
            raise RuntimeError(f"ONNX export of layer '{layer.name}' made {len(outs)} "
                               f"outputs, the graph has {len(node.outputs)}.")
        out_masks = masks.output_masks(self, call, len(outs))
        for t, name, mask in zip(node.outputs, outs, out_masks):
            self.tensors[id(t)] = name
            self.masks[id(t)] = mask

    def emit(self, call: Call) -> list[str]:
        """The layer's emitter from the tables, or a ValueError naming the layer."""
        from rnnlens.interop.onnx.masks import check_mask_use

        emitter = self.table.get(type(call.layer))
        if emitter is None:
            raise ValueError(unsupported_message(call))
        check_mask_use(call, emitter)
        return emitter(self, call)

    def name_of(self, tensor: Any) -> str:
        """The tensor as float32 (integer and bool tensors are cast once)."""
        return self.as_float(self.tensors[id(tensor)])

    def raw_of(self, tensor: Any) -> str:
        """The tensor with its own element type (ids stay integers)."""
        return self.tensors[id(tensor)]

    def as_float(self, name: str) -> str:
        if name not in self.types:
            return name
        key = ("float", name)
        if key not in self.cache:
            self.cache[key] = self.one("Cast", [name], f"{name}/float",
                                       to=self.onnx.TensorProto.FLOAT)
        return self.cache[key]

    def as_bool(self, name: str) -> str:
        """``name`` as a bool tensor (a float or integer mask: ``!= 0``, as NumPy's cast)."""
        bool_type = self.onnx.TensorProto.BOOL
        if self.types.get(name) == bool_type:
            return name
        key = ("bool", name)
        if key not in self.cache:
            self.cache[key] = self.mark(self.one("Cast", [name], f"{name}/bool", to=bool_type),
                                        bool_type)
        return self.cache[key]

    def mark(self, name: str, elem_type: int) -> str:
        """Records that ``name`` is not float32 (``elem_type``: an ONNX TensorProto type)."""
        if elem_type != self.onnx.TensorProto.FLOAT:
            self.types[name] = elem_type
        return name

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
            self.tensors[id(inner)] = self.raw_of(outer)
            self.masks.pop(id(inner), None)           # a model's inputs start unmasked
        self.emit_nodes(model._nodes, training)
        for t, inner in zip(node.outputs, model.outputs):
            self.tensors[id(t)] = self.raw_of(inner)
            self.masks[id(t)] = None                  # a model's outputs carry no mask


def _graph_references(graph: Any) -> set[str]:
    """Every name a (sub)graph's nodes read, nested subgraphs included."""
    names: set[str] = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            if attr.g is not None and attr.g.node:
                names.update(_graph_references(attr.g))
    return names


def unsupported_message(call: Call) -> str:
    """Why a layer class in no table is refused, and what is exported instead."""
    from rnnlens.layers.recurrent import RNN

    from rnnlens.interop.onnx.op_shapes import exported_ops
    from rnnlens.layers.op_nodes import OpNode

    layer = call.layer
    if isinstance(layer, OpNode):
        op = getattr(layer, "op_name", "") or type(layer).__name__
        return (f"Op node '{call.hint}' (ops.{op}, Keras's {type(layer).__name__}) is not "
                "supported by ONNX export. Exported ops (docs/op_export.md): "
                f"{', '.join(exported_ops())}.")
    if isinstance(layer, RNN):
        return (f"Layer '{call.hint}' is a {type(layer).__name__}, a subclass of a recurrent "
                "layer; ONNX export supports only LSTM, GRU, SimpleRNN and RNN around a "
                "built-in cell.")
    return (f"{call.where} is not supported by ONNX export. Supported: "
            f"{', '.join(exported_names())}, and models of them.")


__all__ = ["to_onnx", "MIN_OPSET", "Exporter", "Call", "Value", "Emitter", "emitters",
           "exported_names", "unsupported_message", "INT64_MAX"]
