"""A whole rnnlens model as ONE ``torch.nn.Module`` (:class:`KerasLikeModel`).

``model_to_torch(model)`` walks the model's graph in rnnlens's execution order and
converts every layer into a module of :mod:`.layers`, :mod:`.recurrent` or :mod:`.conv`
(a model used as a layer becomes a nested :class:`KerasLikeModel`). ``forward`` replays
the graph with rnnlens's mask rules (``Model._execute``): a layer receives the
``mask=`` given in the graph, else - if it supports masking - the mask carried by its
first input(s), and its outputs carry the masks its module computes. It returns what
``model(x)`` returns (same nesting: a tensor, list, tuple or dict), float32.

Converted (inference): ``InputLayer``, ``Embedding`` (``mask_zero``), ``Masking``,
``LSTM`` / ``GRU`` / ``SimpleRNN`` / ``RNN`` around a built-in cell / ``CuDNNLSTM`` /
``CuDNNGRU`` and ``Bidirectional`` with every flag, ``Dense``, ``Activation``, ``ReLU``,
``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``,
``TimeDistributed`` (around any converted layer), ``Dropout`` and the other
regularization layers and ``Identity`` (identities), the merges (``Add``, ``Subtract``,
``Multiply``, ``Average``, ``Maximum``, ``Minimum``, ``Concatenate``, ``Dot``),
``RepeatVector``, ``Flatten``, ``Reshape``, ``Permute``, ``LayerNormalization``,
``BatchNormalization``, ``UnitNormalization``, ``Conv1D``, ``DepthwiseConv1D``,
``SeparableConv1D``, ``MaxPooling1D``, ``AveragePooling1D``,
``GlobalMax/AveragePooling1D``, the mask ops of Keras 3 files and the Keras op nodes
of :mod:`.op_shapes` (``docs/op_export.md``). Anything else is a
ValueError naming the layer and its class, as are ``stateful`` layers, user cells,
stacked cells, user activations and calls with ``training=True`` where it would
change the numbers. Not converted (yet): the 2-D / 3-D convolution, pooling, padding
and upsampling layers, ``Conv1DTranspose``, the 1-D padding / cropping / upsampling
layers, ``ConvLSTM1D/2D/3D``, the attention layers and the preprocessing layers
(``rnnlens.interop.onnx`` exports most of them).

The module is inference: dropout and noise layers are identities, BatchNormalization
uses its moving statistics. A recurrent layer keeps torch's own RNN module (``native``)
beside its ``kernel`` / ``recurrent_kernel`` parameters for calls without a mask, so
fine-tuning in torch trains one copy or the other depending on the masks.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from rnnlens.interop.torch.layers import publish
from rnnlens.interop.torch.ops import is_graph_tensor
from rnnlens.interop.torch.weights import _import_torch


def _refuse(layer: Any, reason: str) -> ValueError:
    return ValueError(f"Cannot convert layer '{layer.name}' ({type(layer).__name__}) to "
                      f"PyTorch: {reason}")


# -- the converters: rnnlens layer -> module --------------------------------------------------


@functools.lru_cache(maxsize=1)
def converters() -> dict[type, Any]:
    """Layer class -> ``make(layer, node, dtype) -> module``."""
    from rnnlens import layers as L
    from rnnlens.interop.torch import conv, layers, recurrent
    from rnnlens.layers import op_nodes, regularization
    from rnnlens.layers.cudnn import CuDNNGRU, CuDNNLSTM

    ns, rec, cv = layers.classes(), recurrent.classes(), conv.classes()

    def rank(node: Any) -> int:
        return len(node.input_tensors[0].shape)

    table: dict[type, Any] = {
        L.Embedding: lambda lyr, node: ns.Embedding(lyr),
        L.Masking: lambda lyr, node: ns.Masking(lyr),
        L.Dense: lambda lyr, node: ns.Dense(lyr),
        L.Activation: lambda lyr, node: ns.Activation(lyr),
        L.Identity: lambda lyr, node: ns.Identity(lyr.name, True),
        L.TimeDistributed: _time_distributed,
        L.Concatenate: lambda lyr, node: ns.Concatenate(lyr),
        L.Dot: lambda lyr, node: ns.Dot(lyr, tuple(len(t.shape) for t in node.input_tensors)),
        L.RepeatVector: lambda lyr, node: ns.RepeatVector(lyr),
        L.Flatten: lambda lyr, node: ns.Flatten(lyr),
        L.Reshape: lambda lyr, node: ns.Reshape(lyr),
        L.Permute: lambda lyr, node: ns.Permute(lyr),
        L.LayerNormalization: lambda lyr, node: ns.LayerNormalization(lyr, rank(node)),
        L.BatchNormalization: lambda lyr, node: ns.BatchNormalization(lyr, rank(node)),
        L.UnitNormalization: lambda lyr, node: ns.UnitNormalization(lyr, rank(node)),
        L.Bidirectional: lambda lyr, node: rec.Bidirectional(lyr),
    }
    for cls in (L.ReLU, L.LeakyReLU, L.PReLU, L.ELU, L.Softmax):
        table[cls] = lambda lyr, node: ns.ActivationLayer(lyr)
    for cls in (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum):
        table[cls] = lambda lyr, node: ns.Merge(lyr)
    for cls in (L.LSTM, L.GRU, L.SimpleRNN, L.RNN, CuDNNLSTM, CuDNNGRU):
        table[cls] = lambda lyr, node: rec.Recurrent(lyr)
    for cls in (L.Conv1D, L.DepthwiseConv1D, L.SeparableConv1D):
        table[cls] = lambda lyr, node: cv.Conv1D(lyr)
    for cls in (L.MaxPooling1D, L.AveragePooling1D):
        table[cls] = lambda lyr, node: cv.Pooling1D(lyr)
    for cls in (L.GlobalMaxPooling1D, L.GlobalAveragePooling1D):
        table[cls] = lambda lyr, node: cv.GlobalPooling1D(lyr)
    for cls in (regularization.Dropout, regularization.SpatialDropout1D,
                regularization.SpatialDropout2D, regularization.SpatialDropout3D,
                regularization.GaussianNoise, regularization.GaussianDropout,
                regularization.AlphaDropout, regularization.ActivityRegularization):
        table[cls] = lambda lyr, node: ns.Identity(lyr.name, True)
    for cls in (op_nodes.NotEqual, op_nodes.Equal, op_nodes.AnyOp, op_nodes.ExpandDims,
                op_nodes.ZerosLike, op_nodes.OnesLike, op_nodes.LogicalOr,
                op_nodes.LogicalAnd, op_nodes.ConcatenateOp):
        table[cls] = lambda lyr, node: cv.MaskOp(lyr)
    from rnnlens.interop.torch.op_shapes import op_converters

    table.update(op_converters())
    return table


def supported_names() -> list[str]:
    from rnnlens.layers.op_nodes import OpNode

    return sorted({c.__name__ for c in converters() if not issubclass(c, OpNode)})


def _time_distributed(layer: Any, node: Any) -> Any:
    from rnnlens.functional import Node, SymbolicTensor
    from rnnlens.interop.torch import layers
    from rnnlens.models import Model

    inner = layer.layer
    if isinstance(inner, Model) or type(inner) not in converters():
        raise _refuse(layer, f"it wraps {type(inner).__name__}, which is not converted "
                      f"(supported: {', '.join(supported_names())}).")
    shape = node.input_tensors[0].shape
    fake = Node(inner, (SymbolicTensor((None, *shape[2:]), "float32", None, 0, 0, "x"),), {})
    return layers.classes().TimeDistributed(layer, _convert(inner, fake, {}))


def _convert(layer: Any, node: Any, named: dict) -> Any:
    """One layer's module, after the checks that apply to every layer."""
    from rnnlens.layers.recurrent import RNN
    from rnnlens.layers.wrappers import Bidirectional

    make = converters().get(type(layer))
    if make is None and getattr(layer, "is_op", False):
        from rnnlens.interop.torch.op_shapes import converted_ops

        op = getattr(layer, "op_name", "") or type(layer).__name__
        raise ValueError(f"Cannot convert op node '{layer.name}' (ops.{op}, Keras's "
                         f"{type(layer).__name__}) to PyTorch: no PyTorch form is known for "
                         "this op. Converted ops (docs/op_export.md): "
                         f"{', '.join(converted_ops())}.")
    if make is None:
        reason = "no PyTorch form is known for this layer class"
        if isinstance(layer, RNN):
            reason = "it subclasses a recurrent layer; only LSTM, GRU, SimpleRNN and RNN " \
                     "around a built-in cell are converted"
        raise _refuse(layer, f"{reason}. Supported: {', '.join(supported_names())}.")
    subs = [layer.forward_layer, layer.backward_layer] if isinstance(layer, Bidirectional) \
        else [layer] if isinstance(layer, RNN) else []
    for sub in subs:
        _check_recurrent(layer, sub)
    _check_training(layer, bool(named.get("training") or False))
    return make(layer, node)


def _check_recurrent(layer: Any, sub: Any) -> None:
    from rnnlens.cells import GRUCell, LSTMCell, SimpleRNNCell
    from rnnlens.cells.generic import StackedRNNCells

    if not sub.built:
        raise _refuse(layer, "it is not built (it has no weights).")
    if sub.stateful:
        raise _refuse(layer, "stateful=True keeps states between calls, which the module "
                      "does not; pass the states as initial_state inputs instead.")
    if isinstance(sub.cell, StackedRNNCells):
        raise _refuse(layer, "stacked cells (RNN([cell, ...])) are not converted in a whole "
                      "model; stack recurrent layers with return_sequences=True instead.")
    if type(sub.cell) not in (LSTMCell, GRUCell, SimpleRNNCell):
        raise _refuse(layer, f"it uses a user cell ({type(sub.cell).__name__}).")


def _check_training(layer: Any, training: bool) -> None:
    if not training:
        return
    cell = getattr(layer, "cell", None) or getattr(getattr(layer, "forward_layer", None),
                                                   "cell", None)
    active = getattr(layer, "_active", None)
    if (cell is not None and (cell.dropout > 0 or cell.recurrent_dropout > 0)) \
            or (active is not None and active()) \
            or (type(layer).__name__ == "BatchNormalization" and layer.trainable):
        raise _refuse(layer, "it is called with training=True, where it draws random "
                      "numbers or uses batch statistics; the module computes inference.")


# -- the plan: slots for every tensor, one step per node -----------------------------------------


def _template(value: Any, slots: dict[int, int]) -> Any:
    """A call argument with every graph tensor replaced by ("slot", index)."""
    if isinstance(value, (list, tuple)):
        made = [_template(v, slots) for v in value]
        return tuple(made) if isinstance(value, tuple) else made
    if isinstance(value, dict):
        return {k: _template(v, slots) for k, v in value.items()}
    if id(value) in slots:
        return ("slot", slots[id(value)])
    if is_graph_tensor(value):
        raise ValueError(f"Tensor {getattr(value, 'name', value)!r} is not computed before "
                         "it is used.")                         # pragma: no cover - graph order
    # NumPy scalars and arrays (0-d too) are constants; the ops cast them to the float
    # dtype and the node's output to rnnlens's dtype (its promotion, Keras's)
    return ("const", value.tolist() if isinstance(value, np.ndarray) else value)


def _plan(model: Any) -> tuple[list, list, dict[int, int]]:
    """(modules, steps, slots): one step per node, slots numbering the model's tensors."""
    from rnnlens.interop.onnx.export import _call_arguments
    from rnnlens.layers.core import InputLayer
    from rnnlens.layers.op_nodes import OpNode
    from rnnlens.models.model import Model, _incoming_mask, _states_given

    slots = {id(t): k for k, t in enumerate(model.inputs)}
    modules, steps = [], []
    for node in model._nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        named = _call_arguments(layer, node.args, node.kwargs)
        if isinstance(layer, Model):
            module = _nested(layer)
        else:
            module = _convert(layer, node, named)
        primary = list(node.args) if isinstance(layer, OpNode) else named.get("inputs")
        explicit = "mask" in node.kwargs
        states = named.get("initial_state")
        if states is not None and not isinstance(states, (list, tuple)):
            states = [states]
        steps.append({
            "inputs": _template(primary, slots),
            "mask": _template(node.kwargs["mask"], slots) if explicit else None,
            # rnnlens's own rule picks the tensors whose masks are carried in
            "carried": None if explicit else _incoming_mask(
                node, {k: ("slot", v) for k, v in slots.items()}),
            "states": None if states is None else _template(list(states), slots),
            # Keras runs a layer given initial_state unmasked, its output mask still
            # computed from the carried one (rnnlens.models.model._states_given)
            "mask_rule": layer.compute_mask if _states_given(node) and not explicit else None,
        })
        for t in node.outputs:
            slots[id(t)] = len(slots)
        steps[-1]["outputs"] = [slots[id(t)] for t in node.outputs]
        modules.append(module)
    return modules, steps, slots


def _nested(model: Any) -> Any:
    if not getattr(model, "_nodes", None):
        raise _refuse(model, "it is a model without a graph.")
    return classes().Nested(model_to_torch(model))


# -- the module -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def classes() -> Any:
    torch = _import_torch()

    class KerasLikeModel(torch.nn.Module):
        """A converted rnnlens model: ``forward(*inputs)`` returns what ``model(x)`` does.

        Inputs may be tensors or arrays, one per model input (or one list / dict of
        them). Float inputs are cast to the parameters' dtype; integer ids stay integers.
        ``blocks[k]`` is the module of the k-th layer call (``keras_name`` holds the
        layer's name); ``layer(name)`` finds one by name.
        """

        def __init__(self, name: str, modules: list, steps: list, n_inputs: int,
                     input_names: list[str], input_float: list[bool], structure: Any):
            super().__init__()
            self.keras_name = name
            self.blocks = torch.nn.ModuleList(modules)
            self.steps, self.n_inputs = steps, n_inputs
            self.input_names, self.input_float = input_names, input_float
            self.structure = structure

        def layer(self, name: str) -> Any:
            for block in self.blocks:
                if block.keras_name == name:
                    return block
            raise ValueError(f"No converted layer named {name!r} in '{self.keras_name}'.")

        def _inputs(self, inputs: tuple) -> list:
            if len(inputs) == 1 and isinstance(inputs[0], dict):
                inputs = tuple(inputs[0][n] for n in self.input_names)
            elif len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) \
                    and self.n_inputs > 1:
                inputs = tuple(inputs[0])
            if len(inputs) != self.n_inputs:
                raise ValueError(f"Model '{self.keras_name}' expects {self.n_inputs} "
                                 f"input(s) ({', '.join(self.input_names)}), received "
                                 f"{len(inputs)}.")
            dtype = next((p.dtype for p in self.parameters()), torch.float32)
            made = []
            for value, is_float in zip(inputs, self.input_float):
                t = value if torch.is_tensor(value) else torch.as_tensor(np.asarray(value))
                made.append(t.to(dtype) if is_float else t)      # ids stay integers
            return made

        def forward(self, *inputs: Any) -> Any:
            values: dict[int, Any] = dict(enumerate(self._inputs(inputs)))
            masks: dict[int, Any] = {}
            for block, step in zip(self.blocks, self.steps):
                x = _fill(step["inputs"], values)
                if step["mask"] is not None:
                    mask = _fill(step["mask"], values)
                else:
                    mask = _carried(step["carried"], masks)
                states = None if step["states"] is None else _fill(step["states"], values)
                if step["mask_rule"] is not None:
                    outs, _ = block(x, None, states)
                    made = step["mask_rule"](None, mask)
                    out_masks = list(made) if isinstance(made, (list, tuple)) else [made]
                    out_masks += [None] * (len(outs) - len(out_masks))
                else:
                    outs, out_masks = block(x, mask, states)
                for slot, value, m in zip(step["outputs"], outs, out_masks):
                    values[slot], masks[slot] = value, m
            return _fill(self.structure, values)

        def extra_repr(self) -> str:
            return f"name={self.keras_name!r}"

    class Nested(torch.nn.Module):
        """A model used as a layer: its inputs flattened in, its outputs flat, no masks."""

        def __init__(self, inner: Any):
            super().__init__()
            self.inner, self.keras_name = inner, inner.keras_name

        def forward(self, x: Any, mask: Any = None, initial_state: Any = None) -> tuple:
            flat = _flat(x)
            out = _flat(self.inner(*flat) if len(flat) > 1 else self.inner(flat[0]))
            return out, [None] * len(out)

    return publish(__name__, KerasLikeModel=KerasLikeModel, Nested=Nested)


def _fill(template: Any, values: dict[int, Any]) -> Any:
    if isinstance(template, tuple) and len(template) == 2 and template[0] in ("slot", "const"):
        return values[template[1]] if template[0] == "slot" else template[1]
    if isinstance(template, (list, tuple)):
        made = [_fill(t, values) for t in template]
        return tuple(made) if isinstance(template, tuple) else made
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    return template


def _carried(template: Any, masks: dict[int, Any]) -> Any:
    """The masks of the tensors rnnlens's ``_incoming_mask`` picked (the first input's, or
    a list of them; None when none of them has one)."""
    if isinstance(template, tuple) and len(template) == 2 and template[0] == "slot":
        return masks.get(template[1])
    if isinstance(template, (list, tuple)):
        carried = [_carried(t, masks) for t in template]
        return None if all(m is None for m in carried) else carried
    return None


def _flat(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _flat(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _flat(v)]
    return [value]


def model_to_torch(model: Any, dtype: Any = None) -> Any:
    """The whole model as a :class:`KerasLikeModel` in eval mode (see the module docstring).

    Raises:
        ValueError: an unbuilt model, or a layer or setting that is not converted (the
            message names the layer and its class).
    """
    torch = _import_torch()
    if not getattr(model, "built", False) or not getattr(model, "inputs", None):
        raise ValueError(f"Cannot convert model '{model.name}' to PyTorch: it has no input "
                         "shape yet; give it an Input (or call it on data) first.")
    modules, steps, slots = _plan(model)
    structure = _template(model._output_structure, slots)
    floats = [np.issubdtype(np.dtype(t.dtype), np.floating) if t.dtype != "string" else False
              for t in model.inputs]
    module = classes().KerasLikeModel(model.name, modules, steps, len(model.inputs),
                                      [t.name for t in model.inputs], floats, structure)
    return module.to(torch.float32 if dtype is None else dtype).eval()


def __getattr__(name: str) -> Any:
    # the module classes subclass torch.nn.Module, so they are made on first use
    # (torch.load finds them here by name)
    found = getattr(classes(), name, None)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found


__all__ = ["model_to_torch", "classes", "converters", "supported_names"]
