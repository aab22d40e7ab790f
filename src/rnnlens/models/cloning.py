"""Models from their configs: ``to_json``, ``model_from_json``, ``clone_model``.

``model.to_json()`` is Keras 3's serialized model (the ``config.json`` of a ``.keras``
file, architecture only). ``model_from_json`` reads it with the same safe reader as
model files (allow-listed classes, every value checked, sizes capped) and initializes
fresh weights. ``clone_model`` builds the same graph with new layers (fresh weights),
replaying the model's calls on new inputs, as Keras's does.
"""

from __future__ import annotations

import json
from typing import Any, Callable


def to_json(model: Any, **kwargs: Any) -> str:
    """The model's architecture as Keras 3's JSON (``json.dumps`` kwargs accepted)."""
    from rnnlens.interop.keras_writer import model_config

    return json.dumps(model_config(model), **kwargs)


def model_from_json(json_string: str, custom_objects: Any = None) -> Any:
    """A new model (fresh weights) from ``to_json``'s text or Keras's ``model.to_json()``.

    Nothing is executed: only rnnlens's built-in classes are built (custom classes are
    refused, as in Keras's safe mode, unless rnnlens knows them). A ``compile_config``
    (``to_json`` of a compiled model) compiles the new model, as Keras's does.
    """
    from rnnlens.interop.keras_compile import compile_from_config
    from rnnlens.interop.keras_config import Limits, read_model_config

    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"model_from_json expects a JSON string, received "
                        f"{type(json_string).__name__}.")
    try:
        config = json.loads(json_string)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"model_from_json received invalid JSON ({err}).") from None
    compile_config = config.get("compile_config") if isinstance(config, dict) else None
    if isinstance(config, dict) and isinstance(config.get("config"), dict) and \
            "module" in config and config.get("class_name") in ("Functional", "Model"):
        config = {"class_name": "Functional", "config": config["config"]}
    model = read_model_config(config, "the JSON model", Limits(), what="the JSON",
                              initialize=True)
    if compile_config:
        compile_from_config(model, compile_config, "the JSON model")
    return model


def clone_model(model: Any, input_tensors: Any = None, clone_function: Callable | None = None,
                call_function: Callable | None = None, recursive: bool = False,
                **kwargs: Any) -> Any:
    """The same graph with new layers (fresh weights), as ``keras.models.clone_model``.

    Args:
        model: a Functional or Sequential model.
        input_tensors: inputs to build the clone on (default: new ``Input``s like the
            model's).
        clone_function: ``layer -> new layer`` (default: ``layer.from_config(
            layer.get_config())``).
        call_function: ``(layer, *args, **kwargs) -> outputs`` used instead of calling
            each new layer (Keras's hook).
        recursive: clone the layers of nested models too (else nested models are
            cloned whole by ``clone_function``).
    """
    from rnnlens.functional import Input
    from rnnlens.models.model import Model
    from rnnlens.models.sequential import Sequential

    if kwargs:
        raise ValueError(f"Unrecognized arguments to clone_model: {sorted(kwargs)}")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model expects a Model or Sequential, received "
                        f"{type(model).__name__}.")
    model._ensure_graph(None)
    make = clone_function or _fresh
    if isinstance(model, Sequential) and input_tensors is None:
        clone = Sequential(name=model.name)
        clone.add(Input(batch_shape=model.inputs[0].shape, dtype=model.inputs[0].dtype))
        for layer in model.layers:
            clone.add(_clone_layer(layer, make, recursive))
        return clone
    inputs = input_tensors if input_tensors is not None else [
        Input(batch_shape=t.shape, dtype=t.dtype, name=t.layer.name) for t in model.inputs]
    flat_inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if len(flat_inputs) != len(model.inputs):
        raise ValueError(f"clone_model received {len(flat_inputs)} input tensors for a model "
                         f"with {len(model.inputs)} inputs.")
    outputs = _replay(model, flat_inputs, make, call_function, recursive)
    structure = _restructure_like(model._output_structure, outputs)
    return Model(inputs if len(flat_inputs) > 1 else flat_inputs[0], structure,
                 name=model.name)


def _fresh(layer: Any) -> Any:
    return type(layer).from_config(layer.get_config())


def _clone_layer(layer: Any, make: Callable, recursive: bool) -> Any:
    from rnnlens.models.model import Model

    if recursive and isinstance(layer, Model):
        return clone_model(layer, clone_function=make, recursive=True)
    return make(layer)


def _replay(model: Any, inputs: list, make: Callable, call_function: Callable | None,
            recursive: bool) -> dict:
    """Calls a clone of each layer on the clones of its node's inputs, in graph order."""
    from rnnlens.models.model import _substitute

    tensors = {id(t): new for t, new in zip(model.inputs, inputs)}
    clones: dict[int, Any] = {}
    for node in model._nodes:
        layer = node.layer
        if id(layer) not in clones:
            clones[id(layer)] = layer if getattr(layer, "is_op", False) else \
                _clone_layer(layer, make, recursive)
        args = _substitute(node.args, tensors)
        kwargs = _substitute(node.kwargs, tensors)
        new = clones[id(layer)]
        out = call_function(new, *args, **kwargs) if call_function else new(*args, **kwargs)
        flat = _flatten(out)
        for t, v in zip(node.outputs, flat):
            tensors[id(t)] = v
    return tensors


def _flatten(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _restructure_like(structure: Any, tensors: dict) -> Any:
    from rnnlens.functional import SymbolicTensor

    if isinstance(structure, SymbolicTensor):
        return tensors[id(structure)]
    if isinstance(structure, dict):
        return {k: _restructure_like(v, tensors) for k, v in structure.items()}
    made = [_restructure_like(v, tensors) for v in structure]
    return tuple(made) if isinstance(structure, tuple) else made


__all__ = ["to_json", "model_from_json", "clone_model"]
