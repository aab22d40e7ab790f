"""Reading the graph of a model config: Functional and Sequential, Keras 3 and Keras 2.

Keras 3 writes a layer's inbound nodes as ``{"args": [...], "kwargs": {...}}`` with
``__keras_tensor__`` references; Keras 2 / tf.keras write them as lists of
``[layer_name, node_index, tensor_index, kwargs]`` entries, where a recurrent layer
called with ``initial_state`` lists the states after its input (``[x, h, c]``) and a
merge layer lists its inputs. Keras 2 Sequentials carry the input shape as
``batch_input_shape`` on their first layer, and Keras <= 2.2 wrote the Sequential config
as a bare list of layers. All of them are read here into the same rnnlens graph.

Nodes are processed as Keras processes them: layer by layer in config order, each
layer's nodes in order, and a node whose inputs do not exist yet waits for a later pass
(shared layers at different depths); a pass that makes no progress is a refusal, so a
malformed file cannot loop.
"""

from __future__ import annotations

from typing import Any

from rnnlens.functional import Input, SymbolicTensor
from rnnlens.layers.base import flatten

#: Keys Keras 2 / tf.keras configs hold that rnnlens reads elsewhere or that change no
#: number: key -> the only accepted value (None: any value).
KERAS2_KEYS: dict[str, Any] = {"batch_input_shape": None, "batch_size": None,
                               "input_length": None, "time_major": False,
                               "implementation": None, "input_dim": None}
_SEMANTIC_KEYS = {"time_major": "time-major inputs (batch second)"}


#: dtypes a NumPy constant in a graph may have (``__numpy__`` arguments of op nodes).
_NUMPY_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                 "uint8", "uint16", "uint32", "uint64", "bool")


def _functional_refs(outputs_of: dict, nested: set) -> dict:
    """Node outputs as Keras 3 numbers them in ``input_layers`` / ``output_layers``.

    There a nested Functional's construction counts as its node 0, so its k-th call in
    ``inbound_nodes`` is node k + 1 (``functional_from_config``'s ``get_tensor`` reads
    ``node_index - 1``); node 0 reads index -1, i.e. its last call, as in Keras.
    """
    shifted = {(n, k + (n in nested)): v for (n, k), v in outputs_of.items()}
    for name in nested:
        calls = [k for (n, k) in outputs_of if n == name]
        if calls:
            shifted[(name, 0)] = outputs_of[(name, max(calls))]
    return shifted


class _NotYet(Exception):
    """A node refers to a tensor that a later pass will create."""


class GraphReader:
    """The model-level half of the file reader (``keras_config._Reader``)."""

    semantics = "keras3"

    # -- Keras 2 leftovers in layer configs ------------------------------------

    def legacy_key(self, cls: type, key: str, raw: Any, layer: Any) -> bool:
        """True for a Keras 2 key that is read elsewhere or changes nothing (the global
        ``KERAS2_KEYS`` and a class's own ``keras2_keys``: key -> the only accepted
        value, None for any)."""
        known = {**KERAS2_KEYS, **getattr(cls, "keras2_keys", {})}
        if key not in known or key in cls._params:
            return False
        fixed = known[key]
        if fixed is not None and raw != fixed:
            raise self.refuse(f"layer '{layer}' ({cls.keras_name}) has {key}={raw!r}: "
                              f"rnnlens does not support {_SEMANTIC_KEYS.get(key, key)}.")
        return True

    def _inputlayer(self, config: dict, item: dict, depth: int) -> Any:
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        shape = self.shape(shape, f"input '{config.get('name')}'")
        dtype = config.get("dtype", "float32")
        dtype = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
        if dtype not in ("float32", "int32", "int64", "bool", "float64", "float16", "string"):
            raise self.refuse(f"input dtype {dtype!r} is not supported.")
        if dtype in ("float64", "float16"):
            dtype = "float32"
        return Input(batch_shape=shape, dtype=dtype, name=self.name(config))

    # -- Functional ------------------------------------------------------------

    def functional(self, config: dict, depth: int = 0) -> Any:
        """A Functional model: every layer first, then the calls, as Keras replays them."""
        from rnnlens.interop.keras_config import is_op_entry
        from rnnlens.layers.op_nodes import is_activation_op
        from rnnlens.models import Model

        entries = config.get("layers")
        if not isinstance(entries, list):
            raise self.refuse("the model config has no list of layers.")
        made: dict[str, Any] = {}
        outputs_of: dict[tuple[str, int], Any] = {}
        queue: list[tuple[str, list]] = []
        nested: set[str] = set()                  # nested Functional models (Keras 3 refs)
        for entry in entries:
            name, cls = self._entry_name(entry)
            if cls in ("Functional", "Model") and "input_layers" in (entry.get("config") or {}):
                nested.add(name)
            if name in made or (name, 0) in outputs_of:
                raise self.refuse(f"two layers are named '{name}'.")
            self.tick()
            if is_op_entry(entry) or is_activation_op(entry):
                made[name] = self.op_node(cls, entry.get("config") or {})
            elif cls == "InputLayer":
                outputs_of[(name, 0)] = self._inputlayer(entry.get("config") or {}, entry,
                                                         depth)
                continue
            else:
                self.count -= 1                          # layer() counts it
                made[name] = self.layer(entry, depth)
            nodes = entry.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                raise self.refuse(f"inbound_nodes of '{name}' is not a list.")
            queue.append((name, list(nodes)))
        self._replay(queue, made, outputs_of)
        if not self.semantics.keras2 and nested:
            outputs_of = _functional_refs(outputs_of, nested)
        inputs = self.refs(config.get("input_layers"), outputs_of)
        outputs = self.refs(config.get("output_layers"), outputs_of)
        return Model(inputs, outputs, name=self.name(config))

    def op_node(self, cls_name: str, config: Any) -> Any:
        """A Keras op node (``rnnlens.layers.op_nodes``): its config keys must be the
        constructor arguments of Keras's class, each plain data; the op checks their
        values when the node is called on its inputs."""
        from rnnlens.layers.op_nodes import OP_REGISTRY, ReLUOp, check_data

        cls = ReLUOp if cls_name == "ReLU" else OP_REGISTRY[cls_name]
        if not isinstance(config, dict):
            raise self.refuse(f"the config of op {cls_name!r} is not an object.")
        name = self.name(config)
        values = {}
        for key, raw in config.items():
            if key == "name" or (key in ("dtype", "trainable") and key not in cls.init_params):
                continue
            if key not in cls.init_params:
                raise self.refuse(f"op '{name}' ({cls_name}) has the config key {key!r}, which "
                                  f"Keras's {cls_name} does not take (known: "
                                  f"{', '.join(cls.init_params) or 'none'}).")
            try:
                values[key] = check_data(raw, f"`{key}` of op '{name}'")
            except TypeError as err:
                raise self.refuse(str(err)) from None
        try:
            return cls(name=name, **values)
        except (TypeError, ValueError) as err:
            raise self.refuse(f"op '{name}' ({cls_name}): {err}") from None

    def _entry_name(self, entry: Any) -> tuple[str, Any]:
        if not isinstance(entry, dict):
            raise self.refuse("a layer entry is not an object.")
        inner = entry.get("config")
        name = entry.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
        if not isinstance(name, str) or not isinstance(inner, (dict, type(None))):
            raise self.refuse(f"a layer entry has an invalid name or config: "
                              f"{str(entry)[:80]!r}.")
        return name, entry.get("class_name")

    def _replay(self, queue: list, made: dict, outputs_of: dict) -> None:
        """Calls each layer on its inbound nodes; a node waits until its inputs exist.

        Keras 2 counted a nested model's own construction as its node 0, so its first
        call in the file is node 1 (tf.keras's ``_should_skip_first_node``).
        """
        from rnnlens.models import Model

        done = {name: int(self.semantics.keras2 and isinstance(made[name], Model)
                          and made[name].built) for name, _ in queue}
        while any(nodes for _, nodes in queue):
            progress, waiting = False, None
            for name, nodes in queue:
                while nodes:
                    try:
                        args, kwargs = self.node_args(nodes[0], outputs_of, name, made[name])
                    except _NotYet as err:
                        waiting = waiting or str(err)
                        break
                    outputs_of[(name, done[name])] = made[name](*args, **kwargs)
                    done[name] += 1
                    nodes.pop(0)
                    progress = True
            if not progress:
                raise self.refuse(waiting or "the graph's nodes cannot be ordered.")

    def node_args(self, node: Any, outputs_of: dict, layer: str, obj: Any = None
                  ) -> tuple[list, dict]:
        if isinstance(node, list):
            return self._keras2_node(node, outputs_of, layer, obj)
        if not isinstance(node, dict):
            raise self.refuse(f"an inbound node of '{layer}' is not an object.")
        raw_args, raw_kwargs = node.get("args", []), node.get("kwargs") or {}
        if not isinstance(raw_args, list) or not isinstance(raw_kwargs, dict):
            raise self.refuse(f"an inbound node of '{layer}' has malformed arguments.")
        args = [self.value(a, outputs_of, layer) for a in raw_args]
        known = ("initial_state", "mask", "training") + tuple(getattr(obj, "call_keywords", ()))
        if obj is not None and not type(obj).__module__.startswith("rnnlens."):
            known = tuple(raw_kwargs)                # a user's class: its own call's keywords
        unknown = [k for k, v in raw_kwargs.items() if k not in known and v not in (None, False)]
        if unknown:
            raise self.refuse(f"a call of '{layer}' passes {unknown}, which rnnlens does not "
                              "know for this layer (it would compute something else).")
        kwargs = {k: self.value(v, outputs_of, layer) for k, v in raw_kwargs.items()
                  if k in known}
        if not isinstance(kwargs.get("training"), bool):
            kwargs.pop("training", None)  # kept when a bool: it holds where a call gives none
        if "mask" in kwargs and kwargs["mask"] is None:
            del kwargs["mask"]           # Keras fills a None mask from the input at run time
        return args, kwargs

    def _keras2_node(self, node: list, outputs_of: dict, layer: str, obj: Any
                     ) -> tuple[list, dict]:
        """``[[name, node, tensor, kwargs], ...]`` -> the call Keras 2 made."""
        from rnnlens.layers import RNN, Bidirectional

        items = _entries(node, self.limits.max_depth)
        if not items or any(not _is_ref(e, 4) for e in items):
            raise self.refuse(f"an inbound node of '{layer}' is malformed: "
                              f"{str(node)[:120]!r}.")
        tensors = [self.tensor(list(e[:3]), outputs_of, layer) for e in items]
        raw_kwargs = items[0][3] if len(items[0]) == 4 else {}
        if not isinstance(raw_kwargs, dict):
            raise self.refuse(f"an inbound node of '{layer}' has malformed arguments.")
        kwargs = {k: self._keras2_value(v, outputs_of, layer) for k, v in raw_kwargs.items()
                  if k in ("initial_state", "mask", "training", "constants")}
        kwargs.pop("training", None)
        if kwargs.pop("constants", None) is not None:
            raise self.refuse(f"'{layer}' is called with constants, which rnnlens's "
                              "recurrent layers do not take.")
        if len(tensors) == 1:
            return [tensors[0]], kwargs
        if isinstance(obj, (RNN, Bidirectional)):           # Keras 2: [x, *initial_state]
            kwargs["initial_state"] = tensors[1:]
            return [tensors[0]], kwargs
        return [tensors], kwargs

    def _keras2_value(self, v: Any, outputs_of: dict, layer: str, depth: int = 0) -> Any:
        if depth > self.limits.max_depth:
            raise self.refuse(f"an argument of '{layer}' is nested too deeply.")
        if _is_ref(v, 3) and len(v) == 3:
            return self.tensor(list(v), outputs_of, layer)
        if isinstance(v, list):
            return [self._keras2_value(x, outputs_of, layer, depth + 1) for x in v]
        return self.value(v, outputs_of, layer)

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
        if isinstance(v, dict) and v.get("class_name") in ("__slice__", "__ellipsis__"):
            return self._index_value(v, layer)
        if isinstance(v, dict) and v.get("class_name") in ("__numpy__", "__tensor__"):
            return self._numpy_value(v, layer)
        raise self.refuse(f"an argument of '{layer}' has an unsupported form {str(v)[:80]!r}.")

    def _numpy_value(self, v: dict, layer: str) -> Any:
        """Keras's serialized constant (``x * np.arange(4)``; a tensor): numbers of a numeric
        dtype, as large as the config (whose size is capped) holds."""
        import numpy as np

        config = v.get("config")
        dtype = config.get("dtype") if isinstance(config, dict) else None
        if dtype not in _NUMPY_DTYPES or not isinstance(config.get("value"), list):
            raise self.refuse(f"a constant argument of '{layer}' is malformed or has dtype "
                              f"{dtype!r}: {str(v)[:80]!r}.")
        try:
            return np.array(config["value"], dtype=dtype)
        except (TypeError, ValueError, OverflowError) as err:
            raise self.refuse(f"a constant argument of '{layer}' is invalid: {err}") from None

    def _index_value(self, v: dict, layer: str) -> Any:
        """Keras's serialized ``slice(start, stop, step)`` (integers or None) and ``...``
        (the key of a ``GetItem`` op: ``x[:, 0]``)."""
        if v["class_name"] == "__ellipsis__":
            return Ellipsis
        config = v.get("config")
        parts = [config.get(k) for k in ("start", "stop", "step")] \
            if isinstance(config, dict) else None
        if parts is None or not all(p is None or (isinstance(p, int) and not isinstance(p, bool))
                                    for p in parts):
            raise self.refuse(f"a slice argument of '{layer}' is malformed: {str(v)[:80]!r}.")
        return slice(*parts)

    def tensor(self, hist: Any, outputs_of: dict, layer: str) -> SymbolicTensor:
        if not (isinstance(hist, list) and len(hist) == 3):
            raise self.refuse(f"a tensor reference of '{layer}' is malformed: {hist!r}.")
        name, node, index = hist
        if not isinstance(name, str) or isinstance(node, bool) or not isinstance(node, int):
            raise self.refuse(f"a tensor reference of '{layer}' is malformed: {hist!r}.")
        out = outputs_of.get((name, node))
        if out is None:
            raise _NotYet(f"'{layer}' refers to node {node} of '{name}', which does not exist.")
        flat = flatten(out)                         # Keras counts the flattened outputs
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(flat):
            raise self.refuse(f"'{layer}' refers to output {index!r} of '{name}'.")
        return flat[index]

    def refs(self, refs: Any, outputs_of: dict, depth: int = 0) -> Any:
        if depth > self.limits.max_depth:
            raise self.refuse("the model's inputs or outputs are nested too deeply.")
        if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
            try:
                return self.tensor(refs, outputs_of, "the model")
            except _NotYet as err:
                raise self.refuse(str(err)) from None
        if not isinstance(refs, list) or not refs:
            raise self.refuse("the model's inputs or outputs are missing.")
        if self.semantics.keras2 and depth == 0 and len(refs) == 1:
            return self.refs(refs[0], outputs_of, depth + 1)   # Keras 2 unnests one tensor
        return [self.refs(r, outputs_of, depth + 1) for r in refs]

    # -- Sequential ------------------------------------------------------------

    def sequential(self, config: Any, depth: int = 0) -> Any:
        """A Sequential: Keras 3's, Keras 2's (``batch_input_shape`` on the first
        layer) or Keras <= 2.2's (the config is the bare list of layers)."""
        from rnnlens.models import Sequential

        entries = config if isinstance(config, list) else config.get("layers")
        if not isinstance(entries, list):
            raise self.refuse("the Sequential config has no list of layers.")
        name = None if isinstance(config, list) else self.name(config)
        model = Sequential(name=name)
        for k, entry in enumerate(entries):
            if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
                self.tick()
                model.add(self._inputlayer(entry.get("config") or {}, entry, depth))
                continue
            first = k == 0 or (k == 1 and model._input is not None and not model._stack)
            inner = entry.get("config") if isinstance(entry, dict) else None
            if first and model._input is None and isinstance(inner, dict):
                shape = _keras2_input_shape(inner)
                if shape is not None:
                    model.add(Input(batch_shape=self.shape(shape, "Sequential input"),
                                    dtype=_input_dtype(inner)))
            model.add(self.layer(entry, depth))
        build = None if isinstance(config, list) else (
            config.get("build_input_shape") or (entries and isinstance(entries[0], dict) and
                                                (entries[0].get("build_config") or {})
                                                .get("input_shape")))
        if not model.built and build:
            model.build(self.shape(build, "Sequential input"))
        return model


def _entries(node: list, max_depth: int, depth: int = 0) -> list:
    """The ``[name, node, tensor(, kwargs)]`` entries of a Keras 2 node, flattened."""
    if depth > max_depth or not isinstance(node, list):
        return []
    if _is_ref(node, 4):
        return [node]
    out = []
    for item in node:
        out.extend(_entries(item, max_depth, depth + 1))
    return out


def _is_ref(v: Any, max_len: int) -> bool:
    return (isinstance(v, list) and 3 <= len(v) <= max_len and isinstance(v[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in v[1:3]))


def _keras2_input_shape(config: dict) -> Any:
    """The input shape a Keras 2 first layer carries, with the batch dimension."""
    if config.get("batch_input_shape") is not None:
        return config["batch_input_shape"]
    shape = config.get("input_shape")
    if isinstance(shape, list):
        return [None, *shape]
    return None


def _input_dtype(config: dict) -> str:
    """Embeddings take ids: their Keras 2 input was int32 (Keras 2 wrote float32 there)."""
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    return "float32" if dtype in (None, "float32", "float16", "float64") else str(dtype)


__all__ = ["GraphReader", "KERAS2_KEYS"]
