"""Symbolic tensors, ``Input``, and the graph that ``Model`` runs.

Calling a layer on a :class:`SymbolicTensor` checks the shapes, builds the
layer's weights, and records a :class:`Node`; nothing is computed. A
``Model`` orders the nodes between its inputs and outputs exactly as Keras's
``map_graph`` does (so ``model.layers`` and ``get_weights()`` come in Keras's
order) and runs them on arrays, passing masks along as Keras does.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any

import numpy as np

from rnnlens.layers.base import Layer, flatten
from rnnlens.layers.core import InputLayer


class SymbolicTensor:
    """A placeholder for data in a graph: shape (None for unknown), dtype, origin.

    Attributes:
        shape: e.g. ``(None, 3, 1)``; the batch is None unless fixed.
        dtype: ``"float32"`` (or the dtype given to ``Input``).
        layer, node_index, tensor_index: where it was produced.
    """

    def __init__(self, shape: tuple, dtype: str, layer: Layer, node_index: int,
                 tensor_index: int, name: str):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.layer, self.node_index, self.tensor_index = layer, node_index, tensor_index
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def node(self) -> "Node":
        return self.layer._inbound_nodes[self.node_index]

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __iter__(self):
        raise TypeError(
            f"Cannot unpack the single output {self.name} of layer '{self.layer.name}'. "
            "A recurrent layer returns (output, *states) only with return_state=True."
        )

    # -- operators record Keras's op nodes (as KerasTensor's) ----------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``array * x`` (NumPy on the left) records the operator's op like ``x * array``;
        any other NumPy function of a symbolic tensor is a clear TypeError."""
        name = _UFUNC_OPS.get(ufunc.__name__) if method == "__call__" and not kwargs \
            else None
        if name is None:
            raise TypeError(f"NumPy's {ufunc.__name__} cannot take the symbolic tensor "
                            f"'{self.name}' (it has no values yet). Use rnnlens.ops."
                            f"{ufunc.__name__} (it records Keras's op node), a layer, or "
                            "call it inside a custom layer's call().")
        return _op(name, *inputs)

    def reshape(self, newshape: Any) -> "SymbolicTensor":
        return _op("reshape", self, newshape)

    def squeeze(self, axis: Any = None) -> "SymbolicTensor":
        return _op("squeeze", self, axis)

    def __getitem__(self, key: Any) -> "SymbolicTensor":
        return _op("get_item", self, key)

    def __round__(self, ndigits: Any = None) -> "SymbolicTensor":
        return _op("round", self, ndigits or 0)

    def __neg__(self) -> "SymbolicTensor":
        return _op("negative", self)

    def __abs__(self) -> "SymbolicTensor":
        return _op("absolute", self)

    def __invert__(self) -> "SymbolicTensor":
        return _op("logical_not", self)


#: NumPy ufuncs reached through Python operators -> the op Keras records for them.
_UFUNC_OPS = {"add": "add", "subtract": "subtract", "multiply": "multiply",
              "divide": "true_divide", "floor_divide": "floor_divide", "remainder": "mod",
              "power": "power", "matmul": "matmul", "less": "less", "less_equal": "less_equal",
              "greater": "greater", "greater_equal": "greater_equal", "not_equal": "not_equal",
              "equal": "equal", "bitwise_and": "logical_and", "bitwise_or": "logical_or",
              "bitwise_xor": "logical_xor", "logical_and": "logical_and",
              "logical_or": "logical_or", "logical_xor": "logical_xor",
              "negative": "negative", "absolute": "absolute", "invert": "logical_not"}


def _op(name: str, *args: Any) -> Any:
    """``rnnlens.ops.<name>(*args)`` (imported on first use: ``import rnnlens`` stays
    light); on symbolic tensors it records the op's node."""
    from rnnlens.layers.op_nodes import _op_function

    return _op_function(name)[0](*args)


def _binary(name: str) -> tuple:
    def forward(self: SymbolicTensor, other: Any) -> Any:
        return _op(name, self, other)

    def reflected(self: SymbolicTensor, other: Any) -> Any:
        return _op(name, other, self)

    return forward, reflected


for _name, _ops in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                    ("matmul", "matmul"), ("truediv", "true_divide"),
                    ("floordiv", "floor_divide"), ("mod", "mod"), ("pow", "power"),
                    ("and", "logical_and"), ("or", "logical_or"), ("xor", "logical_xor")):
    _fwd, _rev = _binary(_ops)
    setattr(SymbolicTensor, f"__{_name}__", _fwd)
    setattr(SymbolicTensor, f"__r{_name}__", _rev)
for _name, _ops in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                    ("ge", "greater_equal"), ("ne", "not_equal")):
    setattr(SymbolicTensor, f"__{_name}__", _binary(_ops)[0])
SymbolicTensor.__hash__ = object.__hash__      # identity (== stays identity, as Keras's)


class Node:
    """One call of a layer in a graph: its arguments and output tensors."""

    def __init__(self, layer: Layer, args: tuple, kwargs: dict):
        self.layer, self.args, self.kwargs = layer, args, kwargs
        self.input_tensors = [v for v in flatten([list(args), kwargs])
                              if isinstance(v, SymbolicTensor)]
        self.outputs: list[SymbolicTensor] = []
        self.output_structure: Any = None
        self.is_input = isinstance(layer, InputLayer)
        self.call_kwargs: dict | None = None    # the keywords as given (Keras's node keeps)

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors]


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                            for d in value)


def _make_outputs(layer: Layer, node: Node, shapes: Any, dtype: str) -> Any:
    """SymbolicTensors for a (nested) output shape, registered on ``node``."""
    if _is_shape(shapes):
        index = len(node.outputs)
        name = layer.name if index == 0 else f"{layer.name}_{index}"
        tensor = SymbolicTensor(shapes, dtype, layer, len(layer._inbound_nodes) - 1, index, name)
        node.outputs.append(tensor)
        return tensor
    made = [_make_outputs(layer, node, s, dtype) for s in shapes]
    return tuple(made) if isinstance(shapes, tuple) else made


def op_call(op: Layer, args: tuple, kwargs: dict) -> Any:
    """Records a Keras op node (``rnnlens.layers.op_nodes``) called on ``args``, which hold
    symbolic tensors among plain values; returns its outputs."""
    specs = op.output_specs(args, kwargs)
    node = Node(op, tuple(args), dict(kwargs))
    op._inbound_nodes.append(node)
    node.output_structure = _spec_outputs(op, node, specs)
    return node.output_structure


def _spec_outputs(op: Layer, node: Node, specs: Any) -> Any:
    if isinstance(specs, tuple) and len(specs) == 2 and isinstance(specs[1], str):
        shape, dtype = specs
        index = len(node.outputs)
        name = op.name if index == 0 else f"{op.name}_{index}"
        tensor = SymbolicTensor(shape, dtype, op, len(op._inbound_nodes) - 1, index, name)
        node.outputs.append(tensor)
        return tensor
    made = [_spec_outputs(op, node, s) for s in specs]
    return tuple(made) if isinstance(specs, tuple) else made


def _input_shape(value: Any) -> Any:
    if isinstance(value, SymbolicTensor):
        return value.shape
    if isinstance(value, (list, tuple)) and all(isinstance(v, SymbolicTensor) for v in value):
        return [v.shape for v in value]
    raise TypeError(
        "Received a mix of symbolic tensors (from Input) and arrays as a layer's inputs; "
        "inside a model every input must come from Input or another layer."
    )


def symbolic_call(layer: Layer, args: tuple, kwargs: dict) -> Any:
    """Records ``layer(*args, **kwargs)`` in the graph and returns its outputs."""
    if not args:
        raise TypeError(f"Layer '{layer.name}' was called without an input.")
    primary = args[0]
    shape = _input_shape(primary)
    source = primary.layer if isinstance(primary, SymbolicTensor) else None
    layer.check_input_shape(shape if isinstance(shape, tuple) else list(shape), source)
    check_symbolic = getattr(layer, "check_symbolic_call", None)
    if check_symbolic is not None:
        check_symbolic(shape, kwargs)
    layer.maybe_build(shape)
    from rnnlens.layers import _mask_nodes

    given = dict(kwargs)
    kwargs = _mask_nodes.mask_kwargs(layer, args, kwargs)     # Keras's mask= of the node
    node = Node(layer, args, kwargs)
    node.call_kwargs = given
    layer._inbound_nodes.append(node)
    out_shapes = _output_shapes(layer, shape, args, kwargs)
    dtype = getattr(layer, "output_dtype", None)              # preprocessing layers
    node.output_structure = _make_outputs(layer, node, out_shapes,
                                          dtype if isinstance(dtype, str) else "float32")
    _mask_nodes.set_output_masks(layer, primary, node.outputs,   # its mask ops, as Keras
                                 kwargs.get("mask"))
    return node.output_structure


def _output_shapes(layer: Layer, shape: Any, args: tuple, kwargs: dict) -> Any:
    """``compute_output_shape`` called as Keras's ``compute_output_spec`` calls it: a
    user's method with several ``<argument>_shape`` parameters gets each tensor argument's
    shape by name (``compute_output_shape(a_shape, b_shape)`` for ``call(a, b)``)."""
    if type(layer).__module__.startswith("rnnlens."):
        return layer.compute_output_shape(shape)
    try:
        params = [n for n, p in inspect.signature(layer.compute_output_shape).parameters.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        return layer.compute_output_shape(shape)
    if len(params) <= 1:
        return layer.compute_output_shape(shape)
    try:
        bound = inspect.signature(layer.call).bind_partial(*args, **kwargs).arguments
    except TypeError as err:
        raise TypeError(f"Layer '{layer.name}' was called with arguments its call() does "
                        f"not take: {err}.") from None
    shapes = {}
    for name in params:
        argument = name[:-len("_shape")] if name.endswith("_shape") else None
        if argument is None or argument not in inspect.signature(layer.call).parameters:
            raise ValueError(
                f"For a `compute_output_shape()` method with more than one argument, all "
                f"arguments should have a `_shape` suffix and match an argument from "
                f"`call()`, e.g. `compute_output_shape(self, foo_shape, bar_shape)`; "
                f"'{name}' of layer '{layer.name}' does not.")
        value = bound.get(argument)
        tensors = value if isinstance(value, (list, tuple)) and value else [value]
        if argument != "mask" and all(isinstance(t, SymbolicTensor) for t in tensors):
            shapes[name] = _input_shape(value)
    return layer.compute_output_shape(**shapes)


def Input(shape: Any = None, batch_size: int | None = None, dtype: Any = None,
          name: str | None = None, batch_shape: Any = None) -> SymbolicTensor:
    """A symbolic input of shape ``(batch_size, *shape)`` (batch None by default).

    Args:
        shape: the shape of one sample, e.g. ``(3, 1)`` for 3 steps of 1 feature;
            None for a dimension of any size (e.g. variable timesteps).
        batch_size: fix the batch size (stateful layers need it).
        dtype: ``"float32"`` by default; ``"bool"``/``"int32"`` for masks or ids;
            ``"string"`` for text (preprocessing layers).
        name: the input's name (default ``input_layer``, ``input_layer_1``, ...).
        batch_shape: alternatively the full shape including the batch.
    """
    if batch_shape is not None:
        batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
    if shape is None:
        raise ValueError("Input needs shape=(...) (one sample, without the batch) or "
                         "batch_shape=(batch, ...).")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)) or not all(
            d is None or (isinstance(d, (int, np.integer)) and d > 0) for d in shape):
        raise ValueError(f"Received shape={shape!r} for Input, expected a tuple of positive "
                         "integers (or None), without the batch: e.g. shape=(3, 1).")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer))
                                   or batch_size <= 0):
        raise ValueError(f"Received batch_size={batch_size!r}, expected a positive integer.")
    dtype = "float32" if dtype is None else _dtype_name(dtype)
    layer = InputLayer(tuple(shape), batch_size=batch_size, name=name)
    node = Node(layer, (), {})
    layer._inbound_nodes.append(node)
    tensor = SymbolicTensor(layer.batch_shape, dtype, layer, 0, 0, layer.name)
    node.outputs.append(tensor)
    node.output_structure = tensor
    return tensor


def _dtype_name(dtype: Any) -> str:
    """Keras's dtype name: ``"string"`` for text (``str``, ``"string"``), else NumPy's."""
    if dtype in (str, bytes) or (isinstance(dtype, str) and dtype in ("string", "str")):
        return "string"
    try:
        return str(np.dtype(dtype))
    except TypeError:
        raise TypeError(f"Received dtype={dtype!r} for Input; expected a NumPy dtype name "
                        "or 'string'.") from None


# -- graph ordering (Keras's map_graph) ---------------------------------------


def _build_map(outputs: list[SymbolicTensor]) -> tuple[list[Node], dict[Layer, int]]:
    """Depth-first order of the nodes behind ``outputs``, and first-visit indices."""
    finished: set = set()
    in_progress: set = set()
    ordered: list[Node] = []
    indices: dict[Layer, int] = {}

    def visit(tensor: SymbolicTensor) -> None:
        node = tensor.node
        if node in finished:
            return
        if node in in_progress:
            raise ValueError(f"Tensor {tensor.name} is part of a cycle.")
        indices.setdefault(tensor.layer, len(indices))
        in_progress.add(node)
        for t in node.input_tensors:
            visit(t)
        finished.add(node)
        in_progress.discard(node)
        ordered.append(node)

    for out in outputs:
        visit(out)
    return ordered, indices


def map_graph(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]
              ) -> tuple[list[Node], list[Layer], dict[Node, int]]:
    """Nodes in execution order, layers in Keras's ``model.layers`` order, node depths."""
    ordered, indices = _build_map(outputs)
    in_graph = set(ordered)
    node_depth: dict[Node, int] = {}
    layer_depth: dict[Layer, int] = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = depth
        node_depth[node] = depth
        for parent in node.parent_nodes:
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in inputs:                                   # inputs not connected to outputs
        if t.layer not in layer_depth:
            layer_depth[t.layer], indices[t.layer] = 0, -1
            node_depth[t.node] = 0
    by_depth: dict[int, list[Layer]] = defaultdict(list)
    for layer, depth in layer_depth.items():
        by_depth[depth].append(layer)
    layers = [lyr for d in sorted(by_depth, reverse=True)
              for lyr in sorted(by_depth[d], key=lambda lyr: indices[lyr])]
    nodes = sorted(node_depth, key=lambda n: -node_depth[n])
    _check_connected(inputs, nodes)
    return nodes, layers, node_depth


def _check_connected(inputs: list[SymbolicTensor], nodes: list[Node]) -> None:
    known = {id(t) for t in inputs}
    for node in nodes:
        if node.is_input and id(node.outputs[0]) not in known:
            raise ValueError(
                f"Graph disconnected: the outputs depend on input '{node.layer.name}', which "
                "is not among the model's inputs. Pass it in Model(inputs=[...])."
            )
        known.update(id(t) for t in node.outputs)


def get_source_inputs(tensor: Any) -> list:
    """The ``Input`` tensors that ``tensor`` is computed from (Keras's
    ``keras.utils.get_source_inputs``), in first-seen order, without repeats."""
    if not isinstance(tensor, SymbolicTensor):
        return tensor
    node = tensor.node
    if node.is_input:
        return list(node.outputs)
    sources: list = []
    for t in node.input_tensors:
        for x in get_source_inputs(t):
            if all(x is not s for s in sources):
                sources.append(x)
    return sources
