"""``Model`` (functional): run a graph of layers on arrays (``Sequential`` subclasses it)."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from rnnlens.autodiff import layers as autodiff_layers
from rnnlens.functional import Node, SymbolicTensor, map_graph
from rnnlens.layers.base import Layer, attach_mask, flatten, format_shape
from rnnlens.layers.core import InputLayer
from rnnlens.models.trainer_api import Trainer
from rnnlens.weights import as_list


def _restructure(structure: Any, flat: list) -> Any:
    """Puts ``flat`` values back into the nesting of ``structure``."""
    it = iter(flat)

    def build(s: Any) -> Any:
        if isinstance(s, SymbolicTensor):
            return next(it)
        if isinstance(s, dict):
            return {k: build(v) for k, v in s.items()}
        made = [build(v) for v in s]
        return tuple(made) if isinstance(s, tuple) else made

    return build(structure)


def _substitute(value: Any, tensors: dict[int, Any]) -> Any:
    if isinstance(value, SymbolicTensor):
        return tensors[id(value)]
    if isinstance(value, (list, tuple)):
        made = [_substitute(v, tensors) for v in value]
        return tuple(made) if isinstance(value, tuple) else made
    if isinstance(value, dict):
        return {k: _substitute(v, tensors) for k, v in value.items()}
    return value


class Model(Trainer, Layer):
    """A graph of layers from ``inputs`` to ``outputs``, as ``keras.Model``.

    Args:
        inputs: a tensor from ``Input``, or a list / dict of them.
        outputs: a tensor or a (nested) list / tuple / dict of tensors; ``model(x)``
            and ``predict`` return the same structure.
        name: the model's name (default ``functional``, ``functional_1``, ...).

    Training and inference (``compile``, ``fit``, ``evaluate``, ``predict``) come from
    ``rnnlens.models.trainer_api.Trainer``.
    """

    _keras_kind = "Functional"          # the class name Keras saves ("Sequential" there)

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        # As in Keras, Model(inputs, outputs) makes a Functional model.
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            cls = Functional
        return super().__new__(cls)

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None,
                 **kwargs: Any):
        super().__init__(name=name or _default_name(type(self)), **kwargs)
        self._nodes: list[Node] = []
        self._layers: list[Layer] = []
        self._node_depth: dict[Node, int] = {}
        if inputs is not None or outputs is not None:
            self._set_graph(inputs, outputs)

    # -- graph ---------------------------------------------------------------

    def _set_graph(self, inputs: Any, outputs: Any) -> None:
        flat_in, flat_out = flatten(inputs), flatten(outputs)
        for what, flat in (("inputs", flat_in), ("outputs", flat_out)):
            bad = [v for v in flat if not isinstance(v, SymbolicTensor)]
            if bad or not flat:
                raise TypeError(
                    f"Model {what} must be tensors made by Input(...) or by calling layers "
                    f"on them; received {bad[0] if bad else 'nothing'!r}."
                )
        for t in flat_in:
            if not isinstance(t.layer, InputLayer):
                raise ValueError(f"Model inputs must come from Input(...); '{t.name}' was "
                                 f"made by layer '{t.layer.name}'.")
        self._input_structure, self._output_structure = inputs, outputs
        self.inputs, self.outputs = flat_in, flat_out
        nodes, self._layers, self._node_depth = map_graph(flat_in, flat_out)
        self._nodes = [n for n in nodes if not n.is_input]
        self.built = True

    @property
    def input(self) -> Any:
        """The model's inputs as given to ``Model(inputs, ...)`` (Keras's ``model.input``)."""
        self._require_graph("input")
        return self._input_structure

    @property
    def output(self) -> Any:
        """The model's outputs as given to ``Model(..., outputs)``."""
        self._require_graph("output")
        return self._output_structure

    @property
    def input_shape(self) -> Any:
        self._require_graph("input_shape")
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        self._require_graph("output_shape")
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _require_graph(self, what: str) -> None:
        if "_input_structure" not in self.__dict__:
            raise AttributeError(f"Model '{self.name}' has no defined {what} yet: it is built "
                                 "when it gets an Input (or its first data).")

    @property
    def layers(self) -> list[Layer]:
        """The layers in Keras's order (InputLayers first, then by depth).

        As in Keras, the ops a loaded graph records for masks are nodes of the
        graph but not layers.
        """
        return [lyr for lyr in self._layers if not getattr(lyr, "is_op", False)]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position in ``layers``."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[lyr.name for lyr in self.layers]}.")

    # -- weights (WeightOwner's registry, over the layers in Keras's order) -----

    def _sublayers(self) -> list:
        return self.layers if "_layers" in self.__dict__ else []

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets every layer's weights from one list, in ``get_weights()`` order."""
        weights = as_list(weights, self.name)
        expected = self.weight_shapes()
        if len(weights) != len(expected):
            raise ValueError(
                f"Model '{self.name}' has {len(expected)} weight arrays, but set_weights "
                f"received {len(weights)}. Pass the list that get_weights() returns."
            )
        k = 0
        for layer in self.layers:
            n = len(layer.weights)
            if n:
                layer.set_weights(weights[k:k + n])
            k += n

    # -- running -------------------------------------------------------------

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        values = self._standardize(inputs, "model input")
        self._check_inputs(values)
        flat, cache = self._execute(values, training, keep=False)
        flat = [attach_mask(v, m) for v, m in zip(flat, cache["masks"])]   # as Keras's
        return _restructure(self._output_structure, flat)

    def eager_call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        self._ensure_graph(inputs)
        return self.call(inputs, training=training)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and any(isinstance(v, SymbolicTensor) for v in flatten(list(args))):
            self._ensure_graph(None)
            return _call_model_symbolically(self, args[0])
        return super().__call__(*args, **kwargs)

    def _ensure_graph(self, data: Any) -> None:
        if not self.inputs_known():
            raise ValueError(f"Model '{self.name}' has no inputs; build it with "
                             "Model(inputs, outputs).")

    def inputs_known(self) -> bool:
        return bool(self._layers)

    def _run(self, values: list[np.ndarray], training: bool) -> list[np.ndarray]:
        """Executes the nodes in order; returns the flat outputs."""
        return self._execute(values, training, keep=False)[0]

    def _execute(self, values: list[np.ndarray], training: bool, keep: bool
                 ) -> tuple[list[np.ndarray], dict]:
        """Runs every node (``forward`` with caches when ``keep``).

        Returns the flat outputs and ``{"nodes": per-node caches or None,
        "masks": each output's Keras mask or None, "activity_loss": the summed
        activity-regularization penalties of this call (inner models included),
        "activity_grads": {node index: their gradients per output} (with keep),
        "added_losses": how many add_loss values (summed into activity_loss)}``.
        """
        tensors: dict[int, Any] = {id(t): v for t, v in zip(self.inputs, values)}
        masks: dict[int, Any] = {}
        caches = [] if keep else None
        activity = {"loss": 0.0, "grads": {}}
        with autodiff_layers.collecting() as added:       # add_loss values of this call
            for k, node in enumerate(self._nodes):
                out = self._run_node(k, node, tensors, masks, training, keep, caches)
                _activity(node.layer, k, flatten(out) if isinstance(out, (list, tuple))
                          else [out], keep, activity)
        activity["loss"] += autodiff_layers.total(added)
        out_masks = [masks.get(id(t)) for t in self.outputs]
        self._last_activity_loss = activity["loss"]
        return [tensors[id(t)] for t in self.outputs], {
            "nodes": caches, "masks": out_masks, "activity_loss": activity["loss"],
            "activity_grads": activity["grads"], "added_losses": len(added)}

    def _run_node(self, k: int, node: Node, tensors: dict, masks: dict,
                  training: bool | None, keep: bool, caches: list | None) -> Any:
        """Runs one node (a custom layer on the tape when training), storing its outputs.

        ``training`` None (a call that did not say) leaves a node's own ``training=``
        (``Dropout(0.5)(x, training=True)``) in force; True or False (``fit``,
        ``predict``, ``model(x, training=False)``) overrides it, as Keras's functional
        models do. Nested models get None through; other layers False."""
        layer = node.layer
        args = _substitute(node.args, tensors)
        kwargs = _substitute(node.kwargs, tensors)
        in_mask = _incoming_mask(node, masks)
        previous = kwargs["mask"] if kwargs.get("mask") is not None else in_mask  # -> out mask
        if in_mask is not None and "mask" not in kwargs and not _states_given(node):
            kwargs["mask"] = in_mask
        if training is not None or "training" not in kwargs:
            kwargs["training"] = training if isinstance(layer, Model) else bool(training)
        mask = previous
        kwargs = autodiff_layers.call_kwargs(layer, kwargs)
        layer.__dict__.pop("_rt_losses", None)
        if keep and autodiff_layers.uses_tape(layer):
            out, cache = autodiff_layers.layer_forward(layer, args, kwargs)
            caches.append(cache)
        elif keep:
            out, cache = layer.forward(*args, **kwargs)
            caches.append(cache)
        else:
            out = layer.call(*args, **kwargs)
        out_mask = layer.compute_mask(args[0], mask)
        flat_out = flatten(out) if isinstance(out, (list, tuple)) else [out]
        flat_mask = (list(out_mask) if isinstance(out_mask, (list, tuple))
                     else [out_mask] + [None] * (len(flat_out) - 1))
        for t, v, m in zip(node.outputs, flat_out, flat_mask):
            tensors[id(t)] = v
            masks[id(t)] = m
        return out

    # -- training ------------------------------------------------------------

    def forward(self, inputs: Any, training: bool = False, mask: Any = None
                ) -> tuple[Any, list]:
        """``model(x)`` plus the per-node caches ``backward`` needs."""
        values = self._standardize(inputs, "model input")
        self._check_inputs(values)
        flat, cache = self._execute(values, bool(training), keep=True)
        return _restructure(self._output_structure, flat), cache

    def backward(self, cache: list, d_out: Any) -> tuple[Any, dict, list[np.ndarray]]:
        """Backpropagates dL/d(outputs) through the graph, last node first.

        Args:
            cache: from ``forward``.
            d_out: dL/d(output), in the structure of ``outputs`` (None entries
                for outputs the loss does not use).

        Returns:
            ``(dL/d inputs, {}, weight gradients aligned with get_weights())``.
        """
        flat_d = flatten(d_out) if isinstance(d_out, (list, tuple, dict)) else [d_out]
        grads: dict[int, Any] = {}
        for t, d in zip(self.outputs, flat_d):
            _accumulate(grads, t, d)
        for k, d_outputs in cache.get("activity_grads", {}).items():
            for t, d in zip(self._nodes[k].outputs, d_outputs):
                _accumulate(grads, t, d)                # activity_regularizer(output) / B
        weight_grads: dict[int, list] = {}
        for node, node_cache in zip(reversed(self._nodes), reversed(cache["nodes"])):
            d_node = [grads.get(id(t)) for t in node.outputs]
            taped = isinstance(node_cache, autodiff_layers.TapeCache)
            if all(d is None for d in d_node) and not (taped and node_cache.has_losses):
                continue
            structure = node.output_structure
            d_struct = d_node[0] if isinstance(structure, SymbolicTensor) else \
                _restructure(structure, d_node)
            if taped:                   # a custom layer: its recorded ops, in reverse
                d_in, d_extra, d_w = autodiff_layers.layer_backward(node.layer, node_cache,
                                                                    d_struct)
            else:
                d_in, d_extra, d_w = node.layer.backward(node_cache, d_struct)
            _accumulate(grads, node.args[0], d_in)
            for key, value in d_extra.items():
                target = node.args[key] if isinstance(key, int) else node.kwargs.get(key)
                _accumulate(grads, target, value)
            _add_weight_grads(weight_grads, node.layer, d_w)
        d_inputs = [grads.get(id(t)) for t in self.inputs]
        d_weights = []
        for layer in self.layers:
            got = weight_grads.get(id(layer))
            d_weights += got if got is not None else [np.zeros_like(w) for w in layer.weights]
        return (d_inputs[0] if len(d_inputs) == 1 else d_inputs), {}, d_weights

    def _standardize(self, data: Any, what: str) -> list[np.ndarray]:
        """The user's input as a list aligned with ``self.inputs``."""
        n = len(self.inputs)
        if isinstance(data, dict):
            names = [t.name for t in self.inputs]
            missing = [k for k in names if k not in data]
            if missing:
                raise ValueError(f"Model '{self.name}' expects inputs named {names}; the "
                                 f"{what} dict is missing {missing}.")
            data = [data[k] for k in names]
        elif not isinstance(data, (list, tuple)) or (n == 1 and _looks_like_array(data)):
            data = [data]
        data = list(data)
        if len(data) != n:
            raise ValueError(
                f"Model '{self.name}' expects {n} input(s) "
                f"({', '.join(format_shape(t.shape) for t in self.inputs)}), "
                f"received {len(data)}."
            )
        return [_to_array(v, t, self.name) for v, t in zip(data, self.inputs)]

    def _check_inputs(self, values: list[np.ndarray]) -> None:
        if any(v.ndim == 0 or v.shape[0] == 0 for v in values):
            raise ValueError(f"Model '{self.name}' received an empty input (0 samples); pass "
                             "at least one sample.")
        batches = {v.shape[0] for v in values}
        if len(batches) > 1:
            raise ValueError(f"Model '{self.name}' received inputs with different batch sizes "
                             f"{[v.shape[0] for v in values]}; all inputs need the same.")

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return _restructure(self._output_structure, [t.shape for t in self.outputs])

    # -- files (rnnlens.interop.keras_format does the work) ---------------------

    def save(self, filepath: Any) -> None:
        """Writes a Keras 3 ``.keras`` file (Keras's ``load_model`` opens it)."""
        from rnnlens.interop.keras_format import save_model

        save_model(self, filepath)

    def save_weights(self, filepath: Any) -> None:
        """Writes ``.weights.h5`` in Keras 3's layout."""
        from rnnlens.interop.keras_format import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, by_name: bool = False,
                     **kwargs: Any) -> None:
        """Reads weights into this model: a Keras 3 ``.weights.h5``, a Keras 2 weights
        file, or the weights inside a ``.keras`` / legacy ``.h5`` model.

        Args:
            filepath: the file.
            skip_mismatch: skip layers whose weights do not fit (legacy files), with
                a warning, instead of failing.
            by_name: match layers by name instead of by position (legacy files, as
                Keras 2's ``load_weights(by_name=True)``).
        """
        from rnnlens.interop.keras_format import load_weights

        if kwargs:
            raise ValueError(f"Unrecognized arguments to load_weights: {sorted(kwargs)}")
        load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def summary(self, print_fn: Any = None, line_length: int | None = None,
                **kwargs: Any) -> None:
        """Prints the layers, their output shapes and parameter counts, as Keras."""
        from rnnlens.models.summary import summary_text

        text = summary_text(self, line_length)
        (print_fn or print)(text)

    def _repr_html_(self) -> str | None:
        """Jupyter: the graph as ``rnnlens.explain`` draws it, and ``summary()``."""
        from rnnlens.explain.inline import model_html

        return model_html(self)

    def get_config(self) -> dict:
        """Keras 3's model config (the ``config`` of ``to_json``)."""
        from rnnlens.interop.keras_writer import model_config

        return model_config(self)["config"]

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> "Model":
        """A new model (fresh weights) from ``get_config()`` or Keras's."""
        from rnnlens.models.cloning import model_from_json

        return model_from_json(json.dumps({"class_name": cls._keras_kind, "config": config}))

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as Keras 3's JSON (``keras.models.model_from_json`` reads it)."""
        from rnnlens.models.cloning import to_json

        return to_json(self, **kwargs)


def _accumulate(grads: dict[int, Any], target: Any, d: Any) -> None:
    """Adds gradient ``d`` to the symbolic tensor(s) ``target`` (same nesting)."""
    if d is None or target is None:
        return
    if isinstance(target, SymbolicTensor):
        key = id(target)
        grads[key] = d if key not in grads else grads[key] + d
        return
    for t, g in zip(target, d):
        _accumulate(grads, t, g)


def _activity(layer: Layer, k: int, outputs: list, keep: bool, activity: dict) -> None:
    """Keras's activity regularization of one call: ``reg(output) / batch`` per output.

    Adds the penalties to ``activity["loss"]`` and, when training (``keep``), their
    gradients with respect to the outputs to ``activity["grads"][k]``. An inner
    model contributes the penalties of its own layers.
    """
    if isinstance(layer, Model):
        activity["loss"] += getattr(layer, "_last_activity_loss", 0.0)
    reg = getattr(layer, "activity_regularizer", None)
    if reg is None:
        return
    grads = []
    for out in outputs:
        if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
            grads.append(None)
            continue
        batch = out.shape[0] if out.ndim > 0 else 1
        scale = 1.0 / batch if batch else 0.0
        activity["loss"] += float(reg(out)) * scale
        grads.append(np.asarray(reg.gradient(out), out.dtype) * out.dtype.type(scale)
                     if keep else None)
    if keep:
        activity["grads"][k] = grads


def _add_weight_grads(store: dict[int, list], layer: Layer, d_w: list) -> None:
    """Sums the weight gradients of a layer used at several nodes."""
    got = store.get(id(layer))
    store[id(layer)] = list(d_w) if got is None else [a + b for a, b in zip(got, d_w)]


class Functional(Model):
    """The class of ``Model(inputs, outputs)``, as in Keras."""


def _looks_like_array(data: Any) -> bool:
    """A list of numbers (one input's data) rather than a list of inputs."""
    if isinstance(data, np.ndarray):
        return True
    first = data[0] if len(data) else None
    return not isinstance(first, np.ndarray) and not (
        isinstance(first, (list, tuple)) and len(data) > 1 and _ragged_top(data))


def _ragged_top(data: Any) -> bool:
    try:
        np.asarray(data, dtype=float)
        return False
    except (ValueError, TypeError):
        pass
    try:
        return np.asarray(data).dtype.kind not in "US"       # rectangular text: one input
    except (ValueError, TypeError):
        return True


def _to_array(value: Any, spec: SymbolicTensor, model: str) -> np.ndarray:
    """Converts one input and checks it against its ``Input`` shape."""
    from rnnlens.layers.base import to_float_array

    if spec.dtype == "float32":
        arr = to_float_array(value, f"input '{spec.name}' of model '{model}'")
    elif spec.dtype == "string":
        arr = _string_input(value, spec, model)
    else:
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"Received input '{spec.name}' of model '{model}' with dtype "
                            f"object, expected {spec.dtype}.")
        arr = arr.astype(spec.dtype, copy=False)
    expected = spec.shape
    fits = arr.ndim == len(expected) and all(
        e is None or e == a for e, a in zip(expected[1:], arr.shape[1:]))
    if not fits:
        raise ValueError(_shape_mismatch(arr.shape, expected, spec.name, model))
    return arr


def _string_input(value: Any, spec: SymbolicTensor, model: str) -> np.ndarray:
    """Text as an object array of ``str``, one axis added or dropped as Keras's
    ``_adjust_input_rank`` does (``["a", "b"]`` for ``Input(shape=(1,), dtype="string")``)."""
    from rnnlens.layers.preprocessing._strings import to_strings

    arr = to_strings(value, f"input '{spec.name}' of model '{model}'")
    rank = len(spec.shape)
    if arr.ndim == rank - 1 and spec.shape[-1] == 1:
        arr = arr[..., None]
    elif arr.ndim == rank + 1 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return arr


def _shape_mismatch(got: tuple, expected: tuple, name: str, model: str) -> str:
    msg = (f"Model '{model}' input '{name}' expects arrays of shape {format_shape(expected)} "
           f"(None: any size), received shape {got}.")
    if len(got) == len(expected) - 1 and expected[-1] == 1:
        msg += (" The features axis is missing: reshape the data to (samples, timesteps, "
                f"features), e.g. x.reshape({', '.join(map(str, got))}, 1).")
    elif len(got) == len(expected) - 1 and tuple(got) == tuple(expected[1:]):
        msg += " The batch axis is missing: pass x[None] for a single sample."
    return msg


def _states_given(node: Node) -> bool:
    """Keras fills ``mask`` only for a call with one tensor argument (``Layer.__call__``):
    ``LSTM(...)(masked_x, initial_state=[h, c])`` runs unmasked (spec section 10.1),
    while its output mask is still computed from ``masked_x``'s. Layers loaded from a
    Keras 2 / tf.keras file keep the mask, as that Keras did (``apply_semantics``)."""
    layer = node.layer
    inner = getattr(layer, "forward_layer", layer)                   # Bidirectional
    if getattr(layer, "mask_with_initial_state", False) or \
            getattr(inner, "mask_with_initial_state", False):
        return False
    return any(isinstance(v, SymbolicTensor) or (isinstance(v, (list, tuple)) and v and all(
        isinstance(t, SymbolicTensor) for t in flatten(v)))
        for k, v in node.kwargs.items() if k in ("initial_state", "constants"))


def _incoming_mask(node: Node, masks: dict[int, Any]) -> Any:
    """The mask carried by the node's main input (a list for several inputs)."""
    if not node.layer.supports_masking or not node.args:
        return None
    primary = node.args[0]
    if isinstance(primary, SymbolicTensor):
        return masks.get(id(primary))
    carried = [masks.get(id(t)) if isinstance(t, SymbolicTensor) else None for t in primary]
    return None if all(m is None for m in carried) else carried


def _default_name(cls: type) -> str:
    from rnnlens import naming

    return naming.unique(cls._keras_kind.lower())


def _call_model_symbolically(model: Model, inputs: Any) -> Any:
    """A model used as a layer inside another graph: one node for the model."""
    from rnnlens.functional import symbolic_call

    return symbolic_call(model, (inputs,), {})
