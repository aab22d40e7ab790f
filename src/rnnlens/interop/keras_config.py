"""Keras 3 model configs (``config.json``) to rnnlens layers and graphs, and back.

Reading is an allow-list: a class name not in ``LAYER_CLASSES`` / ``OP_CLASSES``
is refused, ``module`` strings are never imported, and every size a config
states is checked against :class:`Limits` (with the parameter count
estimated from the configs) before any weight is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from rnnlens import layers as L
from rnnlens.functional import Input, SymbolicTensor
from rnnlens.layers.base import Layer, flatten, snake_case


class UnsafeModelError(ValueError):
    """A model file was refused: it names the file and the reason."""


@dataclass(frozen=True)
class Limits:
    """What a model file may ask for (documented in the README).

    Attributes:
        max_archive_bytes: size of a ``.keras`` file on disk.
        max_member_bytes: uncompressed size of any one zip member.
        max_config_bytes: size of ``config.json`` / ``model_config``.
        max_members: entries in the zip.
        max_units: ``units`` / ``output_dim`` of any layer.
        max_dim: any dimension of an input shape, ``input_dim``, ``n``.
        max_layers: layers and op nodes in one model.
        max_params: total weights (float32) the configs imply.
        max_depth: nesting of configs (models in models).
    """

    max_archive_bytes: int = 4 << 30
    max_member_bytes: int = 2 << 30
    max_config_bytes: int = 16 << 20
    max_members: int = 64
    max_units: int = 1 << 16
    max_dim: int = 1 << 20
    max_layers: int = 10_000
    max_params: int = 500_000_000
    max_depth: int = 16


_RNN_KEYS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
             "zero_output_for_mask")
_CELL_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
              "dropout", "recurrent_dropout", "seed", "reset_after")
LAYER_CLASSES = ("InputLayer", "LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional",
                 "TimeDistributed", "Dense", "RepeatVector", "Concatenate", "Masking",
                 "Embedding", "Functional", "Model", "Sequential")
CELL_CLASSES = {"LSTMCell": L.LSTMCell, "GRUCell": L.GRUCell,
                "SimpleRNNCell": L.SimpleRNNCell}


class _Reader:
    """Turns one file's config into rnnlens objects, checking as it goes."""

    def __init__(self, source: str, limits: Limits):
        self.source, self.limits = source, limits
        self.params = 0
        self.count = 0

    def refuse(self, reason: str) -> UnsafeModelError:
        return UnsafeModelError(f"Refusing to load {self.source}: {reason}")

    # -- checks --------------------------------------------------------------

    def int_in(self, value: Any, what: str, upper: int, lower: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or not lower <= value <= upper:
            raise self.refuse(f"{what}={value!r} is outside [{lower}, {upper}].")
        return int(value)

    def shape(self, shape: Any, what: str) -> tuple:
        if not isinstance(shape, (list, tuple)) or len(shape) > 8:
            raise self.refuse(f"{what} has an invalid shape {shape!r}.")
        return tuple(None if d is None else self.int_in(d, what, self.limits.max_dim)
                     for d in shape)

    def add_params(self, n: int, layer: str) -> None:
        self.params += int(n)
        if self.params > self.limits.max_params:
            raise self.refuse(f"layer '{layer}' brings the parameter count to {self.params}, "
                              f"over the limit of {self.limits.max_params}.")

    def tick(self) -> None:
        self.count += 1
        if self.count > self.limits.max_layers:
            raise self.refuse(f"more than {self.limits.max_layers} layers.")

    def name(self, config: dict) -> str | None:
        name = config.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 256):
            raise self.refuse(f"invalid layer name {name!r}.")
        return name

    def activation(self, value: Any, layer: str) -> Any:
        if value is None or isinstance(value, str):
            return value
        raise self.refuse(f"layer '{layer}' uses a serialized custom activation {value!r}; "
                          "only Keras's named activations can be loaded.")

    # -- layers --------------------------------------------------------------

    def layer(self, item: dict, depth: int = 0) -> Layer:
        """An rnnlens layer (not yet built) from one ``{"class_name", "config"}``."""
        if depth > self.limits.max_depth:
            raise self.refuse("configs nested too deeply.")
        if not isinstance(item, dict):
            raise self.refuse(f"a layer entry is not an object: {str(item)[:80]!r}.")
        cls, config = item.get("class_name"), item.get("config", {})
        if cls not in LAYER_CLASSES:
            raise self.refuse(f"layer class {cls!r} is not one rnnlens knows (allowed: "
                              f"{', '.join(LAYER_CLASSES)}); nothing from the file is "
                              "executed or imported.")
        if not isinstance(config, dict):
            raise self.refuse(f"the config of a {cls} layer is not an object.")
        self.tick()
        _check_dtype(self, config)
        build = getattr(self, f"_{cls.lower()}", None)
        return build(config, item, depth)

    def _common(self, config: dict) -> dict:
        out = {"name": self.name(config)}
        if "trainable" in config:
            out["trainable"] = bool(config["trainable"])
        return out

    def _cell_kwargs(self, config: dict, layer: str) -> dict:
        kw = {k: config[k] for k in _CELL_KEYS if k in config}
        kw["units"] = self.int_in(config.get("units"), f"units of '{layer}'",
                                  self.limits.max_units)
        for key in ("activation", "recurrent_activation"):
            if key in kw:
                kw[key] = self.activation(kw[key], layer)
        for key in ("dropout", "recurrent_dropout"):
            if key in kw and not isinstance(kw[key], (int, float)):
                raise self.refuse(f"{key}={kw[key]!r} in '{layer}' is not a number.")
        return kw

    def _rnn_flags(self, config: dict) -> dict:
        return {k: bool(config[k]) for k in _RNN_KEYS if k in config}

    def _recurrent(self, cls: type, config: dict, item: dict) -> Layer:
        name = self.name(config) or cls.__name__
        kw = self._cell_kwargs(config, name)
        if cls is L.SimpleRNN:
            kw.pop("recurrent_activation", None)
            kw.pop("unit_forget_bias", None)
        if cls is not L.GRU:
            kw.pop("reset_after", None)
        if cls is not L.LSTM:
            kw.pop("unit_forget_bias", None)
        self._estimate(cls.__name__, kw, item, name)
        return cls(**kw, **self._rnn_flags(config), **self._common(config))

    def _lstm(self, config: dict, item: dict, depth: int) -> Layer:
        return self._recurrent(L.LSTM, config, item)

    def _gru(self, config: dict, item: dict, depth: int) -> Layer:
        return self._recurrent(L.GRU, config, item)

    def _simplernn(self, config: dict, item: dict, depth: int) -> Layer:
        return self._recurrent(L.SimpleRNN, config, item)

    def _estimate(self, kind: str, kw: dict, item: dict, name: str) -> None:
        shape = (item.get("build_config") or {}).get("input_shape")
        feats = shape[-1] if isinstance(shape, (list, tuple)) and shape else None
        f = self.int_in(feats, f"input features of '{name}'", self.limits.max_dim) \
            if feats is not None else 0
        u = kw["units"]
        gates = {"LSTM": 4, "LSTMCell": 4, "GRU": 3, "GRUCell": 3}.get(kind, 1)
        self.add_params(gates * u * (f + u + 2), name)

    def _rnn(self, config: dict, item: dict, depth: int) -> Layer:
        cell_item = config.get("cell")
        cells = cell_item.get("config", {}).get("cells") \
            if isinstance(cell_item, dict) and cell_item.get("class_name") == "StackedRNNCells" \
            else cell_item
        if isinstance(cells, list):
            built = [self.cell(c) for c in cells]
        else:
            built = self.cell(cells)
        return L.RNN(built, **self._rnn_flags(config), **self._common(config))

    def cell(self, item: Any) -> Any:
        if not isinstance(item, dict) or item.get("class_name") not in CELL_CLASSES:
            cls = item.get("class_name") if isinstance(item, dict) else item
            raise self.refuse(f"RNN cell class {cls!r} is not allowed (allowed: "
                              f"{', '.join(CELL_CLASSES)}).")
        self.tick()
        config = item.get("config", {})
        cls = CELL_CLASSES[item["class_name"]]
        kw = self._cell_kwargs(config, item["class_name"])
        if cls is L.SimpleRNNCell:
            kw.pop("recurrent_activation", None)
        if cls is not L.GRUCell:
            kw.pop("reset_after", None)
        if cls is not L.LSTMCell:
            kw.pop("unit_forget_bias", None)
        self._estimate(item["class_name"], kw, item, item["class_name"])
        return cls(**kw)

    def _bidirectional(self, config: dict, item: dict, depth: int) -> Layer:
        inner = self.layer(config.get("layer"), depth + 1)
        back = config.get("backward_layer")
        backward = self.layer(back, depth + 1) if back is not None else None
        mode = config.get("merge_mode", "concat")
        return L.Bidirectional(inner, merge_mode=mode, backward_layer=backward,
                               **self._common(config))

    def _timedistributed(self, config: dict, item: dict, depth: int) -> Layer:
        return L.TimeDistributed(self.layer(config.get("layer"), depth + 1),
                                 **self._common(config))

    def _dense(self, config: dict, item: dict, depth: int) -> Layer:
        name = self.name(config) or "dense"
        units = self.int_in(config.get("units"), f"units of '{name}'", self.limits.max_units)
        shape = (item.get("build_config") or {}).get("input_shape")
        if isinstance(shape, (list, tuple)) and shape and shape[-1] is not None:
            self.add_params((self.int_in(shape[-1], f"input of '{name}'",
                                         self.limits.max_dim) + 1) * units, name)
        return L.Dense(units, activation=self.activation(config.get("activation"), name),
                       use_bias=bool(config.get("use_bias", True)), **self._common(config))

    def _repeatvector(self, config: dict, item: dict, depth: int) -> Layer:
        return L.RepeatVector(self.int_in(config.get("n"), "RepeatVector n",
                                          self.limits.max_dim), **self._common(config))

    def _concatenate(self, config: dict, item: dict, depth: int) -> Layer:
        return L.Concatenate(axis=self.int_in(config.get("axis", -1), "axis", 8, -8),
                             **self._common(config))

    def _masking(self, config: dict, item: dict, depth: int) -> Layer:
        value = config.get("mask_value", 0.0)
        if not isinstance(value, (int, float)):
            raise self.refuse(f"mask_value={value!r} is not a number.")
        return L.Masking(mask_value=float(value), **self._common(config))

    def _embedding(self, config: dict, item: dict, depth: int) -> Layer:
        name = self.name(config) or "embedding"
        n_in = self.int_in(config.get("input_dim"), f"input_dim of '{name}'",
                           self.limits.max_dim)
        n_out = self.int_in(config.get("output_dim"), f"output_dim of '{name}'",
                            self.limits.max_units)
        self.add_params(n_in * n_out, name)
        return L.Embedding(n_in, n_out, mask_zero=bool(config.get("mask_zero", False)),
                           **self._common(config))

    def _inputlayer(self, config: dict, item: dict, depth: int) -> Any:
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        shape = self.shape(shape, f"input '{config.get('name')}'")
        dtype = config.get("dtype", "float32")
        dtype = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
        if dtype not in ("float32", "int32", "int64", "bool", "float64", "float16"):
            raise self.refuse(f"input dtype {dtype!r} is not supported.")
        if dtype in ("float64", "float16"):
            dtype = "float32"
        return Input(batch_shape=shape, dtype=dtype, name=self.name(config))

    def _functional(self, config: dict, item: dict, depth: int) -> Layer:
        return self.functional(config, depth + 1)

    _model = _functional

    def _sequential(self, config: dict, item: dict, depth: int) -> Layer:
        return self.sequential(config, depth + 1)

    # -- models --------------------------------------------------------------

    def functional(self, config: dict, depth: int = 0) -> Any:
        """A Functional model: layers, then each layer's inbound nodes, in order."""
        from rnnlens.models import Model

        entries = config.get("layers")
        if not isinstance(entries, list):
            raise self.refuse("the model config has no list of layers.")
        made: dict[str, Any] = {}
        outputs_of: dict[tuple[str, int], Any] = {}
        for entry in entries:
            if not isinstance(entry, dict):
                raise self.refuse("a layer entry is not an object.")
            cls = entry.get("class_name")
            inner = entry.get("config")
            name = entry.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
            if not isinstance(name, str) or not isinstance(inner, (dict, type(None))):
                raise self.refuse(f"a layer entry has an invalid name or config: "
                                  f"{str(entry)[:80]!r}.")
            if is_op_entry(entry):
                self.tick()
                made[name] = OP_CLASSES[cls](self, entry.get("config") or {})
            elif cls == "InputLayer":
                self.tick()
                outputs_of[(name, 0)] = self._inputlayer(entry.get("config", {}), entry, depth)
                continue
            else:
                made[name] = self.layer(entry, depth)
            nodes = entry.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                raise self.refuse(f"inbound_nodes of '{name}' is not a list.")
            for k, node in enumerate(nodes):
                args, kwargs = self.node_args(node, outputs_of, name)
                outputs_of[(name, k)] = made[name](*args, **kwargs)
        inputs = self.refs(config.get("input_layers"), outputs_of)
        outputs = self.refs(config.get("output_layers"), outputs_of)
        return Model(inputs, outputs, name=self.name(config))

    def node_args(self, node: Any, outputs_of: dict, layer: str) -> tuple[list, dict]:
        if not isinstance(node, dict):
            raise self.refuse(f"an inbound node of '{layer}' is not an object.")
        raw_args, raw_kwargs = node.get("args", []), node.get("kwargs") or {}
        if not isinstance(raw_args, list) or not isinstance(raw_kwargs, dict):
            raise self.refuse(f"an inbound node of '{layer}' has malformed arguments.")
        args = [self.value(a, outputs_of, layer) for a in raw_args]
        kwargs = {k: self.value(v, outputs_of, layer) for k, v in raw_kwargs.items()
                  if k in ("initial_state", "mask", "training")}
        kwargs.pop("training", None)
        return args, kwargs

    def value(self, v: Any, outputs_of: dict, layer: str, depth: int = 0) -> Any:
        if depth > self.limits.max_depth:
            raise self.refuse(f"an argument of '{layer}' is nested too deeply.")
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            config = v.get("config")
            hist = config.get("keras_history") if isinstance(config, dict) else None
            return self.tensor(hist, outputs_of, layer)
        if isinstance(v, list):
            return [self.value(x, outputs_of, layer, depth + 1) for x in v]
        if isinstance(v, (int, float, bool)) or v is None:
            return v
        raise self.refuse(f"an argument of '{layer}' has an unsupported form {str(v)[:80]!r}.")

    def tensor(self, hist: Any, outputs_of: dict, layer: str) -> SymbolicTensor:
        if not (isinstance(hist, list) and len(hist) == 3):
            raise self.refuse(f"a tensor reference of '{layer}' is malformed: {hist!r}.")
        name, node, index = hist
        if not isinstance(name, str) or isinstance(node, bool) or not isinstance(node, int):
            raise self.refuse(f"a tensor reference of '{layer}' is malformed: {hist!r}.")
        out = outputs_of.get((name, node))
        if out is None:
            raise self.refuse(f"'{layer}' refers to node {node} of '{name}', which does not "
                              "exist (yet).")
        flat = flatten(out)                         # Keras counts the flattened outputs
        if not isinstance(index, int) or not 0 <= index < len(flat):
            raise self.refuse(f"'{layer}' refers to output {index!r} of '{name}'.")
        return flat[index]

    def refs(self, refs: Any, outputs_of: dict, depth: int = 0) -> Any:
        if depth > self.limits.max_depth:
            raise self.refuse("the model's inputs or outputs are nested too deeply.")
        if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
            return self.tensor(refs, outputs_of, "the model")
        if not isinstance(refs, list) or not refs:
            raise self.refuse("the model's inputs or outputs are missing.")
        return [self.refs(r, outputs_of, depth + 1) for r in refs]

    def sequential(self, config: dict, depth: int = 0) -> Any:
        from rnnlens.models import Sequential

        entries = config.get("layers")
        if not isinstance(entries, list):
            raise self.refuse("the Sequential config has no list of layers.")
        model = Sequential(name=self.name(config))
        for entry in entries:
            if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
                self.tick()
                model.add(self._inputlayer(entry.get("config", {}), entry, depth))
            else:
                model.add(self.layer(entry, depth))
        build = (config.get("build_input_shape") or
                 (entries and isinstance(entries[0], dict) and
                  (entries[0].get("build_config") or {}).get("input_shape")))
        if not model.built and build:
            model.build(self.shape(build, "Sequential input"))
        return model


def _check_dtype(reader: _Reader, config: dict) -> None:
    dtype = config.get("dtype")
    name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if name not in (None, "float32", "int32", "int64", "bool"):
        raise reader.refuse(f"layer '{config.get('name')}' uses dtype policy {name!r}; "
                            "rnnlens computes in float32 only.")


# -- the few Keras ops a Functional config records for masks --------------------


class _Op(Layer):
    """A Keras op recorded as a graph node (mask computations); not in ``model.layers``."""

    is_op = True

    def __init__(self, reader: _Reader, config: dict):
        super().__init__(name=reader.name(config))
        self.built = True

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        pass

    def convert_inputs(self, inputs: Any) -> Any:
        return np.asarray(inputs)


class NotEqual(_Op):
    """``x != y``."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.not_equal(x, y)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return tuple(input_shape)


class Equal(NotEqual):
    """``x == y``."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.equal(x, y)


class AnyOp(_Op):
    """``any(x, axis, keepdims)``."""

    def __init__(self, reader: _Reader, config: dict):
        super().__init__(reader, config)
        self.axis = reader.int_in(config.get("axis", -1), "axis", 8, -8)
        self.keepdims = bool(config.get("keepdims", False))

    def call(self, x: Any, training: bool = False) -> np.ndarray:
        return np.any(x, axis=self.axis, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = list(input_shape)
        axis = self.axis % len(shape)
        if self.keepdims:
            shape[axis] = 1
        else:
            shape.pop(axis)
        return tuple(shape)


AnyOp.__name__ = AnyOp.__qualname__ = "Any"             # Keras's op name in summaries


class ExpandDims(_Op):
    """``expand_dims(x, axis)``."""

    def __init__(self, reader: _Reader, config: dict):
        super().__init__(reader, config)
        self.axis = reader.int_in(config.get("axis", -1), "axis", 8, -8)

    def call(self, x: Any, training: bool = False) -> np.ndarray:
        return np.expand_dims(x, self.axis)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = list(input_shape)
        axis = self.axis % (len(shape) + 1)
        return tuple(shape[:axis] + [1] + shape[axis:])


class _FilledLike(_Op):
    """``zeros_like`` / ``ones_like`` with a dtype (Keras's mask merges use bool)."""

    fill = 0

    def __init__(self, reader: _Reader, config: dict):
        super().__init__(reader, config)
        dtype = config.get("dtype") or "float32"
        if dtype not in ("bool", "float32", "int32"):
            raise reader.refuse(f"op dtype {dtype!r} is not supported.")
        self.dtype = dtype

    def call(self, x: Any, training: bool = False) -> np.ndarray:
        return np.full(np.shape(x), self.fill, dtype=self.dtype)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return tuple(input_shape)


class ZerosLike(_FilledLike):
    """``zeros_like(x, dtype)``."""


class OnesLike(_FilledLike):
    """``ones_like(x, dtype)``."""

    fill = 1


class LogicalOr(_Op):
    """``x | y`` (broadcast)."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.logical_or(x, y)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return (*tuple(input_shape)[:-1], None)


class LogicalAnd(LogicalOr):
    """``x & y`` (broadcast)."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.logical_and(x, y)


class ConcatenateOp(_Op):
    """``ops.concatenate(xs, axis)`` (not the layer)."""

    def __init__(self, reader: _Reader, config: dict):
        super().__init__(reader, config)
        self.axis = reader.int_in(config.get("axis", -1), "axis", 8, -8)

    def convert_inputs(self, inputs: Any) -> Any:
        return [np.asarray(x) for x in inputs]

    def call(self, xs: Any, training: bool = False) -> np.ndarray:
        return np.concatenate(list(xs), axis=self.axis)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = list(input_shape[0])
        shape[self.axis % len(shape)] = None
        return tuple(shape)


ConcatenateOp.__name__ = ConcatenateOp.__qualname__ = "Concatenate"

OP_CLASSES: dict[str, Callable[..., Layer]] = {
    "NotEqual": NotEqual, "Equal": Equal, "Any": AnyOp, "ExpandDims": ExpandDims,
    "ZerosLike": ZerosLike, "OnesLike": OnesLike, "LogicalOr": LogicalOr,
    "LogicalAnd": LogicalAnd, "Concatenate": ConcatenateOp}


def is_op_entry(entry: dict) -> bool:
    """A Keras op node (``keras.src.ops...``), as opposed to a layer of the same name."""
    cls, module = entry.get("class_name"), entry.get("module")
    if cls not in OP_CLASSES:
        return False
    if isinstance(module, str):
        return module.startswith("keras.src.ops")
    config = entry.get("config")                    # legacy .h5 configs name no module
    return cls != "Concatenate" or (isinstance(config, dict) and "trainable" not in config)


class _Budget:
    """Stands in for every initializer while a file's graph is built.

    Each weight the graph allocates is counted against ``max_params`` before
    it exists (the file's weights replace these zeros afterwards), so no
    config, however it states or omits its shapes, can allocate past the limit.
    """

    def __init__(self, reader: _Reader):
        self.reader, self.used = reader, 0

    def get_config(self) -> dict:
        return {}

    def __call__(self, shape: tuple, dtype: Any = "float32") -> np.ndarray:
        self.used += int(np.prod(shape))
        if self.used > self.reader.limits.max_params:
            raise self.reader.refuse(
                f"a weight of shape {tuple(shape)} brings the parameter count to "
                f"{self.used}, over the limit of {self.reader.limits.max_params}.")
        return np.zeros(shape, dtype)


_INIT_ATTRS = ("kernel_initializer", "recurrent_initializer", "bias_initializer",
               "embeddings_initializer")


def _swap_initializers(budget: Any) -> Any:
    """Makes every layer / cell built from now on use ``budget``; returns an undo."""
    from rnnlens import initializers

    saved = initializers.get

    def guarded(identifier: Any) -> Any:
        if not isinstance(identifier, _Budget) and not (
                isinstance(identifier, dict) and identifier.get("class_name") == "_Budget"):
            saved(identifier)                      # still validates the name
        return budget

    initializers.get = guarded

    def undo() -> None:
        initializers.get = saved

    return undo


def _restore_initializers(model: Any) -> None:
    """Keras's default initializers again, for layers loaded under the budget."""
    from rnnlens import initializers

    defaults = {"kernel_initializer": "glorot_uniform", "recurrent_initializer": "orthogonal",
                "bias_initializer": "zeros", "embeddings_initializer": "uniform"}
    for obj in _owners(model):
        for attr in _INIT_ATTRS:
            if isinstance(getattr(obj, attr, None), _Budget):
                setattr(obj, attr, initializers.get(defaults[attr]))


def _owners(model: Any) -> list:
    """Every layer and cell inside ``model`` that may hold initializers."""
    out, todo = [], list(getattr(model, "layers", []))
    while todo:
        obj = todo.pop()
        out.append(obj)
        for attr in ("cell", "layer", "forward_layer", "backward_layer"):
            if getattr(obj, attr, None) is not None:
                todo.append(getattr(obj, attr))
        todo.extend(getattr(obj, "cells", []))
        todo.extend(getattr(obj, "layers", []) if hasattr(obj, "_nodes") else [])
    return out


def read_model_config(config: Any, source: str, limits: Limits) -> Any:
    """The rnnlens model a Keras ``config.json`` (already parsed) describes."""
    reader = _Reader(source, limits)
    if not isinstance(config, dict):
        raise reader.refuse("config.json is not an object.")
    cls = config.get("class_name")
    body = config.get("config")
    if not isinstance(body, dict):
        raise reader.refuse("config.json has no model config.")
    if cls not in ("Functional", "Model", "Sequential"):
        raise reader.refuse(f"model class {cls!r} is not allowed (allowed: Functional, "
                            "Sequential); subclassed models carry code and cannot be loaded.")
    undo = _swap_initializers(_Budget(reader))
    try:
        model = reader.sequential(body) if cls == "Sequential" else reader.functional(body)
    except UnsafeModelError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError,
            RecursionError) as err:
        raise reader.refuse(f"its config is invalid ({type(err).__name__}: {err})") from None
    finally:
        undo()
    _restore_initializers(model)
    return model


__all__ = ["Limits", "UnsafeModelError", "read_model_config", "snake_case"]
