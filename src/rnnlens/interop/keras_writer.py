"""rnnlens models as Keras 3 ``config.json`` (what ``keras.models.load_model`` reads)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.functional import SymbolicTensor
from rnnlens.layers.base import dtype_policy

def layer_entry(layer: Any) -> dict:
    """Keras's full entry for a layer: module, class_name, config, build_config.

    The config is the layer's ``get_config()``, which its declared arguments
    make Keras 3.15.1's. Only rnnlens's own (registered) classes can be written.
    """
    from rnnlens.layers.base import REGISTRY
    from rnnlens.layers.op_nodes import OP_REGISTRY
    from rnnlens.models import Model

    if isinstance(layer, Model):
        return model_config(layer)
    cls = type(layer)
    op = getattr(layer, "is_op", False)
    refusal = getattr(cls, "save_refusal", None)
    if refusal:
        raise ValueError(f"Cannot save layer '{getattr(layer, 'name', layer)}': {refusal}")
    if (OP_REGISTRY if op else REGISTRY).get(cls.keras_name) is not cls and \
            not getattr(cls, "keras_activation_op", False):   # keras.activations.relu's op
        if not op and not cls.__module__.startswith("rnnlens."):
            return custom_entry(layer)
        raise ValueError(f"Cannot save layer '{getattr(layer, 'name', layer)}' of type "
                         f"{cls.__name__}: only rnnlens's built-in layers have a Keras config "
                         "that Keras can load.")
    saved = getattr(layer, "saved_as", cls)                  # CuDNNLSTM -> LSTM
    config = layer.get_config()
    _refuse_legacy(layer, config)
    entry = {"module": saved.keras_module, "class_name": saved.keras_name,
             "config": config, "registered_name": cls.keras_name if op else None}
    hook = getattr(layer, "keras_build_config", None)       # MultiHeadAttention's shapes
    shape = _build_shape(layer) if not op else None       # an op's first argument may be 2
    if hook is not None and not op:
        build = hook()
        if build is not None:
            entry["build_config"] = build
    elif shape is not None and not op:
        entry["build_config"] = {"input_shape": shape}
    return entry


def custom_entry(layer: Any) -> dict:
    """A user's layer class, as Keras writes a registered one: ``module`` (None for
    ``__main__``), ``class_name``, its ``get_config()``, ``registered_name``
    (``"package>Name"``) and ``build_config``. An unregistered class is refused: its file
    could not be loaded (``load_model`` finds custom classes by their registered name)."""
    import json

    from rnnlens.saving.object_registration import GLOBAL_CUSTOM_NAMES

    cls, name = type(layer), getattr(layer, "name", type(layer).__name__)
    registered = GLOBAL_CUSTOM_NAMES.get(cls)
    if registered is None:
        raise ValueError(
            f"Cannot save layer '{name}' of the custom class {cls.__name__}: it is not "
            "registered. Decorate the class with "
            "@keras.saving.register_keras_serializable() (rnnlens.saving."
            "register_keras_serializable) so that load_model can find it by name, and "
            "give it a get_config() returning its constructor's arguments.")
    config = layer.get_config()
    try:
        json.dumps(config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Cannot save layer '{name}' ({cls.__name__}): its get_config() "
                         f"returned a value that is not JSON data ({err}).") from None
    entry = {"module": None if cls.__module__ == "__main__" else cls.__module__,
             "class_name": cls.__name__, "config": config, "registered_name": registered}
    shapes = layer.__dict__.get("_build_shapes_dict")     # build(self, a_shape, b_shape)
    shape = _build_shape(layer)
    if shapes is not None and len(shapes) != 1:
        entry["build_config"] = {"shapes_dict": {k: _listed(v) for k, v in shapes.items()}}
    elif shape is not None:
        entry["build_config"] = {"input_shape": shape}
    return entry


def _listed(shape: Any) -> Any:
    """A shape (or a nest of shapes) with lists for tuples, as Keras's JSON has them."""
    if isinstance(shape, dict):
        return {k: _listed(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_listed(v) for v in shape]
    return shape


def _refuse_legacy(layer: Any, config: Any, key: str = "") -> None:
    """A definition of older Keras (Keras 2's hard_sigmoid) has no Keras 3 name."""
    from rnnlens import activations

    if isinstance(config, dict):
        for k, v in config.items():
            _refuse_legacy(layer, v, k)
    elif isinstance(config, (list, tuple)):
        for v in config:
            _refuse_legacy(layer, v, key)
    elif any(config is fn for fn in activations.LEGACY.values()):
        raise ValueError(
            f"Cannot save layer '{layer.name}': its `{key}` computes Keras 2's hard_sigmoid "
            "(clip(0.2 x + 0.5, 0, 1)), which Keras 3 has no name for. Load the file with "
            "semantics='keras3' to convert it (its numbers then change), or keep it in its "
            "Keras 2 file.")


def layer_config(layer: Any) -> dict:
    """The ``config`` dict Keras 3.15.1 writes for ``layer``."""
    return layer_entry(layer)["config"]


def _build_shape(layer: Any) -> Any:
    shape = getattr(layer, "_build_input_shape", None)
    if shape is not None:
        return _as_list(shape)
    nodes = getattr(layer, "_inbound_nodes", [])
    if nodes and nodes[0].args:
        first = nodes[0].args[0]
        if isinstance(first, SymbolicTensor):
            return list(first.shape)
        return [list(t.shape) for t in first]
    return None


def _as_list(shape: Any) -> Any:
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [list(s) for s in shape]
    return list(shape)


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
        if isinstance(v, slice):                         # x[1:, 0] (a GetItem op's key)
            return {"class_name": "__slice__", "config": {
                "start": self.value(v.start), "stop": self.value(v.stop),
                "step": self.value(v.step)}}
        if v is Ellipsis:
            return {"class_name": "__ellipsis__", "config": {}}
        if isinstance(v, np.ndarray) and v.ndim:           # x * np.arange(4), as Keras
            return {"class_name": "__numpy__",
                    "config": {"value": v.tolist(), "dtype": v.dtype.name}}
        if isinstance(v, (np.generic, np.ndarray)):
            return v.item()
        return v

    def history(self, t: SymbolicTensor) -> list:
        """A model input's / output's reference; Keras 3 counts a nested Functional's
        construction as its node 0 here (not in ``inbound_nodes``), so its calls start at 1."""
        from rnnlens.models import Functional

        shift = int(isinstance(t.layer, Functional))
        return [t.layer.name, self.index.get(id(t.node), 0) + shift, t.tensor_index]


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
        entry["inbound_nodes"] = [_node_entry(layer, node, refs)
                                  for node in layer._inbound_nodes if id(node) in in_model]
        entries.append(entry)
    ins = [refs.history(t) for t in model.inputs]
    return {"name": model.name, "trainable": True, "layers": entries,
            "input_layers": ins[0] if len(ins) == 1 else ins,
            "output_layers": _nested_refs(model._output_structure, refs)}


def _node_entry(layer: Any, node: Any, refs: _Refs) -> dict:
    """One inbound node as Keras writes it; a layer with ``keras_node`` (the attention
    layers) gives its own Keras form of the call (arguments and call keywords)."""
    hook = getattr(layer, "keras_node", None)
    if hook is not None:
        args, kwargs = hook(node)
        given = getattr(node, "call_kwargs", None) or {}
        if "training" in given and _has_training(layer):   # a training= given is kept
            kwargs = {**kwargs, "training": given["training"]}
    elif getattr(node, "keras_call", None) is not None:   # a user layer called by keywords
        args, kwargs = node.keras_call
    elif getattr(layer, "is_op", False):                   # an op's call, as given
        args, kwargs = list(node.args), node.kwargs
    elif getattr(node, "call_kwargs", None) is not None:
        args, kwargs = list(node.args), node_kwargs(layer, node)
    else:                                                  # a node recorded elsewhere
        args = list(node.args)
        custom = not type(layer).__module__.startswith("rnnlens.")
        kwargs = {k: v for k, v in node.kwargs.items()
                  if k in ("initial_state", "mask") or custom}
    return {"args": [refs.value(a) for a in args],
            "kwargs": {k: refs.value(v) for k, v in kwargs.items()}}


#: Keras 3.15.1 layers whose ``call`` has a ``training`` argument with a default other
#: than None (``call(inputs, training=False)``), and that default.
TRAINING_DEFAULT = {
    **dict.fromkeys((
        "AdditiveAttention", "AlphaDropout", "Attention", "ConvLSTM1D", "ConvLSTM2D",
        "ConvLSTM3D", "Dropout", "GRU", "GRUCell", "GaussianDropout", "GaussianNoise", "LSTM",
        "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell", "SpatialDropout1D",
        "SpatialDropout2D", "SpatialDropout3D", "SpectralNormalization",
        "StackedRNNCells"), False),
    **dict.fromkeys((
        "AugMix", "AutoContrast", "CenterCrop", "ContrastLimitedAdaptiveHistogramEqualization",
        "CutMix", "Equalization", "MaxNumBoundingBoxes", "MixUp", "Pipeline", "RandAugment",
        "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast",
        "RandomCrop", "RandomElasticTransform", "RandomErasing", "RandomFlip",
        "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
        "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation",
        "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom", "Resizing",
        "Solarization"), True)}


def _has_training(layer: Any) -> bool:
    """Whether Keras's ``call`` of the layer (one with a ``keras_node`` hook) takes
    ``training``."""
    names = {getattr(c, "keras_name", c.__name__) for c in type(layer).__mro__}
    return bool(names & {"MultiHeadAttention", "GroupedQueryAttention", "Attention",
                         "AdditiveAttention", "SpectralNormalization"})


def node_kwargs(layer: Any, node: Any) -> dict:
    """The ``kwargs`` Keras 3.15.1 keeps in a layer's node.

    Keras's ``Layer.__call__`` records the keywords as given when it converted the
    arguments first (any keyword, more than one positional argument, a list, or a tensor
    of another dtype). Otherwise the node holds the dict that ``__call__`` then fills:
    ``training`` with the default of ``call``'s ``training`` when that is not None
    (``Dropout``, the recurrent layers: ``False``), then ``mask`` with the input's mask
    (``null`` when it has none) when ``call`` takes ``mask``. An input mask that rnnlens
    only knows at run time (no recorded mask tensor) is left out.
    """
    from rnnlens.layers import _mask_nodes
    from rnnlens.models import Model

    given = node.call_kwargs
    nested = isinstance(layer, Model)                 # Keras's Functional: no conversion
    if not nested and _mask_nodes._converted(layer, node.args, given):
        return dict(given)
    training, takes_mask = _call_signature(layer)
    kwargs = dict(given)
    if training is not None and kwargs.get("training") is None:
        kwargs["training"] = training
    if not takes_mask or _mask_nodes._tensor_arguments(node.args, given) != 1 or \
            given.get("mask") is not None:
        return kwargs
    if node.kwargs.get("mask") is not None:           # the mask tensor rnnlens recorded
        kwargs["mask"] = node.kwargs["mask"]
        return kwargs
    mask = _mask_nodes.mask_of(node.args[0]) if node.args else None
    if mask is None or (isinstance(mask, list) and all(m is None for m in mask)):
        kwargs["mask"] = mask
    return kwargs


def _call_signature(layer: Any) -> tuple[Any, bool]:
    """``(training default or None, whether call takes mask=None)`` of Keras's ``call``:
    from the table for rnnlens's classes, from the signature of a user's own ``call``."""
    import inspect

    from rnnlens.layers import _mask_nodes
    from rnnlens.models import Model

    if isinstance(layer, Model):
        return None, True                             # call(inputs, training=None, mask=None)
    owner = next((c for c in type(layer).__mro__ if "call" in c.__dict__), type(layer))
    if owner.__module__.startswith("rnnlens."):
        names = [getattr(c, "keras_name", c.__name__) for c in type(layer).__mro__] + \
            [c.__name__ for c in type(layer).__mro__]
        training = next((TRAINING_DEFAULT[n] for n in names if n in TRAINING_DEFAULT), None)
        return training, any(n in _mask_nodes.CALL_TAKES_MASK for n in names)
    try:
        params = inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return None, False
    training = params["training"].default if "training" in params else None
    if training is inspect.Parameter.empty:
        training = None
    return training, "mask" in params and params["mask"].default is None


def _nested_refs(structure: Any, refs: _Refs) -> Any:
    """``output_layers`` in the nesting of the model's outputs (Keras keeps it)."""
    if isinstance(structure, SymbolicTensor):
        return refs.history(structure)
    if isinstance(structure, dict):
        return [_nested_refs(v, refs) for v in structure.values()]
    return [_nested_refs(v, refs) for v in structure]


def _entry(layer: Any) -> dict:
    from rnnlens.models import Model

    if isinstance(layer, Model):
        cfg = model_config(layer)
        cfg.pop("compile_config", None)
        return cfg
    return layer_entry(layer)


def model_config(model: Any) -> dict:
    """The whole ``config.json`` object for a Functional or Sequential model, with its
    ``compile_config`` once compiled (as Keras's ``serialize_keras_object``)."""
    from rnnlens.interop.keras_compile import compile_config

    config = _model_entry(model)
    compiled = compile_config(model)
    if compiled is not None:
        config["compile_config"] = compiled
    return config


def _model_entry(model: Any) -> dict:
    from rnnlens.models import Sequential

    if isinstance(model, Sequential):
        layers = [_input_entry(model._input.layer)] if model._input is not None else []
        for layer in model.layers:
            layers.append(layer_entry(layer))
        for entry in layers:
            entry.pop("inbound_nodes", None)
            entry.pop("name", None)
        shape = list(model._input.shape) if model._input is not None else None
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": model.name, "trainable": True, "dtype": dtype_policy(),
                           "layers": layers},
                "registered_name": None, "build_config": {"input_shape": shape}}
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": _functional_body(model), "registered_name": "Functional",
            "build_config": {"input_shape": None}}


__all__ = ["model_config", "layer_config", "layer_entry"]
