"""rnnlens models as Keras 3 ``config.json`` (what ``keras.models.load_model`` reads)."""

from __future__ import annotations

from typing import Any

from rnnlens import activations
from rnnlens.functional import SymbolicTensor

_DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
          "registered_name": None}
_NONE_EXTRAS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                "bias_constraint")


def _init(init: Any) -> dict:
    return {"module": "keras.initializers", "class_name": type(init).__name__,
            "config": init.get_config(), "registered_name": None}


def _act(fn: Any) -> Any:
    name = activations.serialize(fn)
    if not isinstance(name, str):
        raise ValueError(f"Cannot save activation {fn!r}: only Keras's named activations "
                         "can be written to a .keras file.")
    return name


def _base(layer: Any) -> dict:
    return {"name": layer.name, "trainable": layer.trainable, "dtype": dict(_DTYPE)}


def _cell_config(cell: Any) -> dict:
    kind = type(cell).__name__
    config = {"units": cell.units, "activation": _act(cell.activation)}
    if kind != "SimpleRNNCell":
        config["recurrent_activation"] = _act(cell.recurrent_activation)
    config.update({
        "use_bias": cell.use_bias, "kernel_initializer": _init(cell.kernel_initializer),
        "recurrent_initializer": _init(cell.recurrent_initializer),
        "bias_initializer": _init(cell.bias_initializer),
        "dropout": cell.dropout, "recurrent_dropout": cell.recurrent_dropout,
        "seed": cell.seed})
    if kind == "LSTMCell":
        config["unit_forget_bias"] = cell.unit_forget_bias
    if kind == "GRUCell":
        config["reset_after"] = cell.reset_after
    return config


def _rnn_config(layer: Any) -> dict:
    config = _base(layer)
    config.update({"return_sequences": layer.return_sequences,
                   "return_state": layer.return_state, "go_backwards": layer.go_backwards,
                   "stateful": layer.stateful, "unroll": layer.unroll,
                   "zero_output_for_mask": layer.zero_output_for_mask})
    kind = type(layer).__name__
    if kind == "RNN":
        config["cell"] = _cell_entry(layer.cell)
        return config
    config.update(_cell_config(layer.cell))
    config.update({k: None for k in _NONE_EXTRAS})
    return config


def _cell_entry(cell: Any) -> dict:
    from rnnlens.cells.generic import StackedRNNCells

    if isinstance(cell, StackedRNNCells):
        return {"module": "keras.layers", "class_name": "StackedRNNCells",
                "config": {"cells": [_cell_entry(c) for c in cell.cells]},
                "registered_name": None}
    if type(cell).__name__ not in ("LSTMCell", "GRUCell", "SimpleRNNCell"):
        raise ValueError(f"Cannot save cell {cell!r}: only LSTMCell, GRUCell and "
                         "SimpleRNNCell have a Keras config.")
    return {"module": "keras.layers", "class_name": type(cell).__name__,
            "config": {"name": cell.name, "trainable": True, "dtype": dict(_DTYPE),
                       **_cell_config(cell)}, "registered_name": None}


def layer_config(layer: Any) -> dict:
    """The ``config`` dict Keras 3.15.1 writes for ``layer``."""
    from rnnlens import layers as L

    kind = type(layer).__name__
    if isinstance(layer, L.RNN):
        return _rnn_config(layer)
    config = _base(layer)
    if isinstance(layer, L.Bidirectional):
        config.update({"merge_mode": layer.merge_mode,
                       "layer": _nested(layer.forward_layer),
                       "backward_layer": _nested(layer.backward_layer)})
    elif isinstance(layer, L.TimeDistributed):
        config["layer"] = _nested(layer.layer)
    elif isinstance(layer, L.Dense):
        config.update({"units": layer.units, "activation": _act(layer.activation),
                       "use_bias": layer.use_bias,
                       "kernel_initializer": _init(layer.kernel_initializer),
                       "bias_initializer": _init(layer.bias_initializer),
                       "kernel_regularizer": None, "bias_regularizer": None,
                       "kernel_constraint": None, "bias_constraint": None})
    elif isinstance(layer, L.RepeatVector):
        config["n"] = layer.n
    elif isinstance(layer, L.Concatenate):
        config["axis"] = layer.axis
    elif isinstance(layer, L.Masking):
        config["mask_value"] = layer.mask_value
    elif isinstance(layer, L.Embedding):
        config.update({"input_dim": layer.input_dim, "output_dim": layer.output_dim,
                       "embeddings_initializer": _init(layer.embeddings_initializer),
                       "embeddings_regularizer": None, "activity_regularizer": None,
                       "embeddings_constraint": None, "mask_zero": layer.mask_zero})
    else:
        raise ValueError(f"Cannot save layer '{layer.name}' of type {kind} to a .keras file.")
    return config


def _nested(layer: Any) -> dict:
    entry = {"module": "keras.layers", "class_name": type(layer).__name__,
             "config": layer_config(layer), "registered_name": None}
    shape = _build_shape(layer)
    if shape is not None:
        entry["build_config"] = {"input_shape": shape}
    return entry


def _build_shape(layer: Any) -> Any:
    for attr in ("_built_shape",):
        if getattr(layer, attr, None) is not None:
            return list(getattr(layer, attr))
    nodes = getattr(layer, "_inbound_nodes", [])
    if nodes and nodes[0].args:
        first = nodes[0].args[0]
        if isinstance(first, SymbolicTensor):
            return list(first.shape)
        return [list(t.shape) for t in first]
    cell = getattr(layer, "cell", None) or getattr(getattr(layer, "forward_layer", None),
                                                   "cell", None)
    if cell is not None and getattr(cell, "input_dim", None):
        return [None, None, cell.input_dim]
    inner = getattr(layer, "layer", None)
    if inner is not None and getattr(inner, "input_dim", None):
        return [None, None, inner.input_dim]
    if getattr(layer, "input_dim", None) and type(layer).__name__ == "Dense":
        return [None, layer.input_dim]
    return None


class _Refs:
    """Keras's node indices count only the nodes inside the model being saved."""

    def __init__(self, model: Any):
        self.index: dict[int, int] = {}
        in_model = {id(n) for n in model._node_depth}
        for layer in model._layers:                  # ops included
            k = 0
            for node in layer._inbound_nodes:
                if id(node) in in_model:
                    self.index[id(node)] = k
                    k += 1

    def tensor(self, t: SymbolicTensor) -> dict:
        node = t.node
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype,
                           "keras_history": [t.layer.name, self.index.get(id(node), 0),
                                             t.tensor_index]}}

    def value(self, v: Any) -> Any:
        if isinstance(v, SymbolicTensor):
            return self.tensor(v)
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        return v

    def history(self, t: SymbolicTensor) -> list:
        return [t.layer.name, self.index.get(id(t.node), 0), t.tensor_index]


def _input_entry(layer: Any) -> dict:
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": list(layer.batch_shape),
                       "dtype": layer._inbound_nodes[0].outputs[0].dtype,
                       "sparse": False, "ragged": False, "name": layer.name,
                       "optional": False},
            "registered_name": None, "name": layer.name, "inbound_nodes": []}


def _functional_body(model: Any) -> dict:
    from rnnlens.layers import InputLayer

    refs = _Refs(model)
    in_model = set(id(n) for n in model._node_depth)
    entries = []
    for layer in model._layers:                      # the mask ops a loaded graph kept too
        if isinstance(layer, InputLayer):
            entries.append(_input_entry(layer))
            continue
        entry = _entry(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": [refs.value(a) for a in node.args],
             "kwargs": {k: refs.value(v) for k, v in node.kwargs.items()
                        if k in ("initial_state", "mask")}}
            for node in layer._inbound_nodes if id(node) in in_model]
        entries.append(entry)
    ins = [refs.history(t) for t in model.inputs]
    return {"name": model.name, "trainable": True, "layers": entries,
            "input_layers": ins[0] if len(ins) == 1 else ins,
            "output_layers": _nested_refs(model._output_structure, refs)}


def _nested_refs(structure: Any, refs: _Refs) -> Any:
    """``output_layers`` in the nesting of the model's outputs (Keras keeps it)."""
    if isinstance(structure, SymbolicTensor):
        return refs.history(structure)
    if isinstance(structure, dict):
        return [_nested_refs(v, refs) for v in structure.values()]
    return [_nested_refs(v, refs) for v in structure]


def _entry(layer: Any) -> dict:
    from rnnlens.interop.keras_config import AnyOp
    from rnnlens.models import Model, Sequential

    if getattr(layer, "is_op", False):                      # mask ops Keras recorded
        kind = type(layer).__name__
        config = {"name": layer.name}
        if isinstance(layer, AnyOp):
            config.update({"axis": layer.axis, "keepdims": layer.keepdims})
        for attr in ("axis", "dtype"):
            if attr not in config and hasattr(layer, attr):
                config[attr] = getattr(layer, attr)
        return {"module": "keras.src.ops.numpy", "class_name": kind, "config": config,
                "registered_name": kind}
    if isinstance(layer, Model):
        cfg = model_config(layer)
        cfg.pop("compile_config", None)
        return cfg
    entry = _nested(layer)
    return entry if isinstance(layer, Sequential) else entry


def model_config(model: Any) -> dict:
    """The whole ``config.json`` object for a Functional or Sequential model."""
    from rnnlens.models import Sequential

    if isinstance(model, Sequential):
        layers = [_input_entry(model._input.layer)] if model._input is not None else []
        for layer in model.layers:
            layers.append(_nested(layer))
        for entry in layers:
            entry.pop("inbound_nodes", None)
            entry.pop("name", None)
        shape = list(model._input.shape) if model._input is not None else None
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": model.name, "trainable": True, "dtype": dict(_DTYPE),
                           "layers": layers},
                "registered_name": None, "build_config": {"input_shape": shape}}
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": _functional_body(model), "registered_name": "Functional",
            "build_config": {"input_shape": None}}


__all__ = ["model_config", "layer_config"]
