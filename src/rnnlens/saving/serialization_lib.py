"""``serialize_keras_object`` / ``deserialize_keras_object`` for rnnlens's objects.

The serialized form is Keras 3.15.1's (``keras/src/saving/serialization_lib.py``)::

    {"module": "keras.layers", "class_name": "Dense", "config": {...},
     "registered_name": None, "build_config": {"input_shape": (None, 4)}}

* built-in classes carry their public Keras module (``keras.layers``,
  ``keras.initializers``, ``keras.regularizers``, ``keras.constraints``,
  ``keras.losses``, ``keras.metrics``, ``keras.optimizers``,
  ``keras.optimizers.schedules``, ``keras.random``, ``keras`` for ``DTypePolicy``)
  and ``registered_name`` None;
* functions are ``{"module": "builtins", "class_name": "function", "config":
  <registered name or __name__>, "registered_name": "function"}``;
* other classes carry their Python module (None for ``__main__``) and their
  registered name (``"package>Name"``, else ``__name__``);
* ``None``, str, int, float, bool pass through, lists and tuples and dicts are
  serialized item by item, NumPy arrays become ``__numpy__`` entries and NumPy
  scalars Python numbers; bytes, slices and Ellipsis have Keras's special entries.

Deserialization builds only rnnlens's built-in classes and functions (looked up by
name in rnnlens's own tables) and the objects the caller registered or passed in
``custom_objects``; module strings are never imported and no code in a config is
run: ``__lambda__`` entries are refused whatever ``safe_mode`` says.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

import numpy as np

from rnnlens.saving import object_registration as reg

PLAIN_TYPES = (str, int, float, bool)
#: Keras's public APIs that a config may never name (``NON_MODELING_APIS``).
NON_MODELING_APIS = frozenset({
    "keras.backend.clear_session", "keras.config.enable_unsafe_deserialization",
    "keras.models.load_model", "keras.models.model_from_json", "keras.models.save_model",
    "keras.saving.deserialize_keras_object", "keras.saving.load_model",
    "keras.saving.load_weights", "keras.saving.register_keras_serializable",
    "keras.saving.save_model", "keras.saving.save_weights",
    "keras.saving.serialize_keras_object", "keras.utils.clear_session",
    "keras.utils.deserialize_keras_object", "keras.utils.get_file",
    "keras.utils.register_keras_serializable", "keras.utils.serialize_keras_object",
})
_MODELS = ("Functional", "Model", "Sequential")


# ---------------------------------------------------------------------------- tables
def _members(module: Any, base: type | None) -> dict[str, Any]:
    """Public classes (subclasses of ``base``) or, for None, functions in ``__all__``."""
    out = {}
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, None)
        if base is None and isinstance(obj, types.FunctionType):
            out[name] = obj
        elif base is not None and inspect.isclass(obj) and issubclass(obj, base):
            out[name] = obj
    return out


@functools.lru_cache(maxsize=1)
def class_tables() -> dict[str, dict[str, type]]:
    """Public Keras module -> {class name: rnnlens class} for every built-in class."""
    from rnnlens import config, constraints, initializers, losses, metrics, optimizers
    from rnnlens import random, regularizers
    from rnnlens.layers.base import REGISTRY
    from rnnlens.optimizers import schedules

    layers = {k: v for k, v in REGISTRY.items() if k not in _MODELS}
    return {
        "keras.layers": layers,
        "keras.initializers": _members(initializers, initializers.Initializer),
        "keras.regularizers": _members(regularizers, regularizers.Regularizer),
        "keras.constraints": _members(constraints, constraints.Constraint),
        "keras.losses": _members(losses, losses.Loss),
        "keras.metrics": _members(metrics, metrics.Metric),
        "keras.optimizers": _members(optimizers, optimizers.Optimizer),
        "keras.optimizers.schedules": _members(schedules, schedules.LearningRateSchedule),
        "keras.random": {"SeedGenerator": random.SeedGenerator},
        "keras": {"DTypePolicy": config.DTypePolicy},
        "keras.dtype_policies": {"DTypePolicy": config.DTypePolicy},
    }


@functools.lru_cache(maxsize=1)
def function_tables() -> dict[str, dict[str, Any]]:
    """Public Keras module -> {name: function} for the built-in functions."""
    from rnnlens import activations, losses, metrics

    skip = {"get", "serialize", "deserialize", "apply_mask", "as_numeric",
            "squeeze_or_expand_to_same_rank", "standardize_reduction", "function_by_name",
            "is_binary_or_sparse_categorical"}
    return {f"keras.{m.__name__.rsplit('.', 1)[-1]}":
            {k: v for k, v in _members(m, None).items() if k not in skip}
            for m in (activations, losses, metrics)}


def _public_module(cls: type) -> str | None:
    """The Keras module under which ``cls`` is a built-in, or None."""
    for module, table in class_tables().items():
        if table.get(getattr(cls, "keras_name", cls.__name__)) is cls \
                and module != "keras.dtype_policies":
            return module
    return None


def _canonical(module: Any) -> str | None:
    """``keras.src.layers.core.dense`` -> ``keras.layers`` (Keras's own class paths)."""
    if not isinstance(module, str):
        return None
    if not module.startswith("keras.src."):
        return module
    parts = module.split(".")
    if "schedules" in parts:
        return "keras.optimizers.schedules"
    if parts[2] == "models":
        return "keras.models"
    return f"keras.{parts[2]}"


# ---------------------------------------------------------------------------- serialize
def serialize_keras_object(obj: Any) -> Any:
    """The Python dict (or plain value) representing ``obj``, as Keras writes it.

    Raises:
        ValueError: for a lambda (rnnlens never writes code; Keras writes its bytecode).
        TypeError: for an object that is neither a plain value, a container, an array,
            a function nor an object with ``get_config()``.
    """
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return serialize_dict(obj)
    special = _serialize_special(obj)
    if special is not None:
        return special
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        raise ValueError("Cannot serialize a lambda: Keras would write its bytecode, which "
                         "rnnlens never loads. Use a named function (registered with "
                         "register_keras_serializable) instead.")
    from rnnlens.layers.base import Layer

    cls = type(obj)
    if isinstance(obj, Layer) and (_public_module(cls) == "keras.layers"
                                   or _is_builtin_model(obj)):
        from rnnlens.layers import serialize as serialize_layer

        return _tuple_build_config(serialize_layer(obj))
    if inspect.isclass(obj) or not hasattr(obj, "get_config"):
        return _named(obj)
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"The `get_config()` method of {obj!r} should return a dict. It "
                        f"returned: {config!r}")
    module = _public_module(cls)
    if module is not None:
        entry = {"module": module, "class_name": cls.__name__,
                 "config": serialize_dict(config), "registered_name": None}
    else:
        entry = {"module": None if cls.__module__ == "__main__" else cls.__module__,
                 "class_name": cls.__name__, "config": serialize_dict(config),
                 "registered_name": reg.get_registered_name(cls)}
    return _with_build_config(obj, entry)


def _with_build_config(obj: Any, entry: dict) -> dict:
    """Keras's ``get_build_and_compile_config`` for a user's layer: its
    ``get_build_config()`` (``{"shapes_dict": ...}`` for ``build(self, a_shape,
    b_shape)``) as ``build_config``."""
    from rnnlens.layers.base import Layer

    if isinstance(obj, Layer) and hasattr(obj, "get_build_config"):
        build = obj.get_build_config()
        if build is not None:
            entry["build_config"] = serialize_dict(build)
    return entry


def serialize_dict(obj: dict) -> dict:
    return {key: serialize_keras_object(value) for key, value in obj.items()}


def _serialize_special(obj: Any) -> Any:
    """Keras's entries for bytes, slices, Ellipsis, symbolic tensors and NumPy values."""
    from rnnlens.functional import SymbolicTensor

    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start),
            "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, SymbolicTensor):
        return {"class_name": "__keras_tensor__", "config": {
            "shape": obj.shape, "dtype": obj.dtype,
            "keras_history": [obj.layer.name, obj.node_index, obj.tensor_index]}}
    if isinstance(obj, np.ndarray) and obj.ndim > 0:
        from rnnlens.backend import standardize_dtype

        return {"class_name": "__numpy__",
                "config": {"value": obj.tolist(), "dtype": standardize_dtype(obj.dtype)}}
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.item()
    return None


def _named(obj: Any) -> dict:
    """Functions, classes and other objects without ``get_config``: by their name."""
    if not isinstance(getattr(obj, "__name__", None), str):
        raise TypeError(f"Cannot serialize object {obj!r} of type {type(obj)}. To be "
                        "serializable, a class must implement the `get_config()` method.")
    cls = type(obj)
    return {"module": cls.__module__, "class_name": cls.__name__,
            "config": reg.get_registered_name(obj),
            "registered_name": reg.get_registered_name(cls)}


def _is_builtin_model(obj: Any) -> bool:
    from rnnlens.models import Model

    return isinstance(obj, Model) and type(obj).__module__.startswith("rnnlens.")


def _tuple_build_config(entry: dict) -> dict:
    """Build shapes as tuples (Keras's ``serialize_keras_object`` keeps tuples)."""
    build = entry.get("build_config")
    if isinstance(build, dict) and isinstance(build.get("input_shape"), list):
        shape = build["input_shape"]
        nested = bool(shape) and all(isinstance(s, (list, tuple)) for s in shape)
        shape = [tuple(s) for s in shape] if nested else tuple(shape)
        entry = {**entry, "build_config": {**build, "input_shape": shape}}
    return entry


# ---------------------------------------------------------------------------- deserialize
def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None,
                             safe_mode: bool = True, **kwargs: Any) -> Any:
    """The object a serialized config describes (the inverse of serialization).

    Args:
        config: what :func:`serialize_keras_object` returns (Keras's form).
        custom_objects: ``{name: class or function}`` for objects that are not built in;
            looked up with the registry and the active ``custom_object_scope``.
        safe_mode: accepted for Keras compatibility; rnnlens never runs code from a
            config, so lambdas are refused either way.
        module_objects: (keyword) Keras's table of ``{name: object}`` to resolve bare
            names and ``{"class_name", "config"}`` dicts against.

    Raises:
        TypeError: for a class or function that cannot be located (Keras's error),
            or a malformed config.
        ValueError: for code (``__lambda__``), non-modeling APIs, whole models (use
            ``rnnlens.saving.load_model`` for model files) and invalid configs.
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object got unexpected arguments {sorted(kwargs)}.")
    custom = {**reg._check_objects(custom_objects), **reg._scope_dict(),
              **reg.GLOBAL_CUSTOM_OBJECTS}
    if config is None:
        return None
    if isinstance(config, str) and custom.get(config) is not None:
        return custom[config]
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, custom) for x in config]
    if module_objects is not None:
        return _from_module_objects(config, module_objects, custom)
    if isinstance(config, PLAIN_TYPES):
        return config
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom) for k, v in config.items()}
    inner = config["config"] if config["config"] is not None else {}
    special = _deserialize_special(config, inner, custom)
    if special is not _NOT_SPECIAL:
        return special
    return _deserialize_object(config, inner, custom)


_NOT_SPECIAL = object()


def _deserialize_special(config: dict, inner: Any, custom: dict) -> Any:
    name = config["class_name"]
    if not isinstance(name, str) or not name.startswith("__"):
        return _NOT_SPECIAL
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {name}, received {inner!r}.")
    if name in ("__numpy__", "__tensor__"):
        return _array(inner)
    if name == "__bytes__":
        return str(inner.get("value", "")).encode("utf-8")
    if name == "__ellipsis__":
        return Ellipsis
    if name == "__slice__":
        return slice(*(deserialize_keras_object(inner.get(k), custom)
                       for k in ("start", "stop", "step")))
    if name == "__lambda__":
        raise ValueError("Requested the deserialization of a Python lambda. rnnlens never "
                         "deserializes code, with or without safe_mode; replace the lambda "
                         "by a named function registered with register_keras_serializable.")
    if name == "__keras_tensor__":
        raise ValueError("A symbolic tensor (__keras_tensor__) cannot be rebuilt on its own; "
                         "model configs are read by rnnlens.saving.load_model.")
    raise TypeError(f"Cannot deserialize the special entry {name!r} (rnnlens supports "
                    "__numpy__, __tensor__, __bytes__, __slice__ and __ellipsis__).")


def _array(inner: dict) -> np.ndarray:
    from rnnlens.backend import standardize_dtype

    dtype = standardize_dtype(inner.get("dtype"))
    if dtype in ("bfloat16", "string", "float8_e4m3fn", "float8_e5m2"):
        raise TypeError(f"Cannot rebuild an array of dtype {dtype!r} (no NumPy equivalent).")
    try:
        return np.array(inner.get("value"), dtype=dtype)
    except (ValueError, TypeError, OverflowError) as err:
        raise ValueError(f"Invalid array entry {str(inner)[:80]!r}: {err}") from None


def _deserialize_object(config: dict, inner: Any, custom: dict) -> Any:
    class_name = config["class_name"]
    if not isinstance(class_name, str):
        raise TypeError(f"'class_name' must be a string, received {class_name!r}.")
    module = config.get("module")
    registered = config.get("registered_name", class_name)
    if class_name == "function":
        if not isinstance(inner, str):
            raise TypeError("Expected 'config' to be a non-null str for a function "
                            f"classname, instead got {type(inner)}. Full config: {config}")
        return _retrieve(inner, registered, module, "function", config, custom)
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name}, instead got "
                        f"{type(inner)}. Full config: {config}")
    cls = _retrieve(class_name, registered, module, "class", config, custom)
    if isinstance(cls, types.FunctionType):
        return cls
    builtin = _public_module(cls) is not None
    if not hasattr(cls, "from_config") and not builtin:
        raise TypeError(f"Unable to reconstruct an instance of '{class_name}' because the "
                        f"class is missing a `from_config()` method. Full object config: "
                        f"{config}")
    make = getattr(cls, "from_config", None) or (lambda c: cls(**c))   # Keras's default
    if builtin and _public_module(cls) == "keras.optimizers":
        inner = _without_unsupported_defaults(cls, inner)
    with reg.CustomObjectScope(custom):
        try:
            instance = make(inner)
        except TypeError as err:
            raise TypeError(f"{cls} could not be deserialized properly: {err}. Full "
                            f"config: {str(config)[:300]}") from None
        _build(instance, config.get("build_config"))
    return instance


#: Keras optimizer arguments rnnlens's optimizers may not take; at these values they
#: change nothing, so a config holding them loads (other values still raise).
_OPTIMIZER_DEFAULTS = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99,
                       "ema_overwrite_frequency": None, "loss_scale_factor": None,
                       "gradient_accumulation_steps": None}


def _without_unsupported_defaults(cls: type, inner: dict) -> dict:
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return inner
    return {k: v for k, v in inner.items()
            if k in params or k not in _OPTIMIZER_DEFAULTS or v != _OPTIMIZER_DEFAULTS[k]}


def _build(instance: Any, build_config: Any) -> None:
    """Keras's ``build_from_config``: build a layer for the recorded input shape."""
    from rnnlens.layers.base import Layer

    if not build_config or not isinstance(instance, Layer) or instance.built:
        return
    if not type(instance).__module__.startswith("rnnlens.") or \
            "shapes_dict" in build_config:
        instance.build_from_config(build_config)      # a user's build gets the values
        instance.built = True                         # as stored, as Keras gives them
        return
    shape = build_config.get("input_shape") if isinstance(build_config, dict) else None
    if shape is None:
        return
    if not isinstance(shape, (list, tuple)):
        raise ValueError(f"Invalid build_config input_shape {shape!r}.")
    nested = bool(shape) and all(isinstance(s, (list, tuple)) for s in shape)
    shape = [tuple(s) for s in shape] if nested else tuple(shape)
    instance.maybe_build(shape)


def _retrieve(name: str, registered: Any, module: Any, obj_type: str, config: dict,
              custom: dict) -> Any:
    """A registered / custom object, else rnnlens's built-in of that name and module."""
    found = reg.get_registered_object(name if obj_type == "function" else registered,
                                      custom_objects=custom)
    if found is not None:
        return found
    canonical = _canonical(module)
    if isinstance(module, str) and f"{module}.{name}" in NON_MODELING_APIS:
        raise ValueError(f"Cannot deserialize `{module}.{name}` because it is not a modeling "
                         "function. Non-modeling APIs are disallowed during deserialization "
                         "for security.")
    if obj_type == "class" and name in _MODELS and canonical in ("keras", "keras.models"):
        raise ValueError(f"deserialize_keras_object does not rebuild whole models ({name}) in "
                         "rnnlens; load model files with rnnlens.saving.load_model.")
    table = (function_tables() if obj_type == "function" else class_tables()).get(canonical)
    if table and name in table:
        _no_registered_name(config, name)
        return table[name]
    if obj_type == "function" and module == "builtins":
        for fns in function_tables().values():
            if name in fns:
                _no_registered_name(config, name)
                return fns[name]
        if ">" not in name:             # Keras <= 3.6 wrote custom functions by bare name
            for key, obj in custom.items():
                if isinstance(key, str) and key.endswith(f">{name}"):
                    return obj
    if obj_type == "class" and (canonical in class_tables() or canonical == "keras.models"):
        raise ValueError(f"Could not deserialize '{module}.{name}': rnnlens has no built-in "
                         f"class of that name in {canonical} (known: "
                         f"{sorted(class_tables().get(canonical, {}))}).")
    raise TypeError(f"Could not locate {obj_type} '{name}'. Make sure custom classes and "
                    "functions are decorated with `@keras.saving.register_keras_serializable"
                    "()` or passed in custom_objects; rnnlens never imports the module a "
                    f"config names. Full object config: {str(config)[:300]}")


def _no_registered_name(config: dict, name: str) -> None:
    explicit = config.get("registered_name")
    if explicit and explicit not in (name, config.get("class_name"), "function"):
        raise ValueError(f"`registered_name={explicit!r}` was provided in the config, but "
                         f"'{name}' resolved to a built-in, which does not use registered "
                         f"names. Full object config: {str(config)[:300]}")


def _from_module_objects(config: Any, module_objects: Any, custom: dict) -> Any:
    """Keras's ``module_objects`` path: names resolved in a caller's table."""
    if not isinstance(module_objects, dict):
        raise TypeError(f"module_objects must be a dict, received {module_objects!r}.")
    inner = None
    if isinstance(config, dict):
        if "class_name" not in config:
            raise ValueError(f"Unknown `config` as a `dict`, config={config}")
        inner = config.get("config")
        keys = (config["class_name"], config.get("registered_name"), inner)
        hit = next((k for k in keys if isinstance(k, str) and k in custom), None)
        if hit is not None:
            return _call_or_build(custom[hit], inner)
        if config["class_name"] == "function":
            config = config["config"] if config.get("module") == "builtins" \
                else config.get("registered_name")
        else:
            config = config["class_name"]
    if not isinstance(config, str) or config not in module_objects:
        return config
    return _call_or_build(module_objects[config], inner)


def _call_or_build(obj: Any, inner: Any) -> Any:
    if inspect.isclass(obj):
        if not hasattr(obj, "from_config"):
            raise TypeError(f"Unable to reconstruct an instance of {obj!r}: it has no "
                            "`from_config()` method.")
        return obj.from_config(inner if isinstance(inner, dict) else {})
    return obj


__all__ = ["serialize_keras_object", "deserialize_keras_object", "serialize_dict",
           "class_tables", "function_tables"]
