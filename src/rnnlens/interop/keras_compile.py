"""A compiled model's state in Keras files: ``compile_config`` (``.keras`` config.json and
``to_json``), ``training_config`` (legacy ``.h5``) and the optimizer's variables.

Layout, as Keras 3.15.1 writes it:

* ``config.json``: ``"compile_config": {"optimizer": <serialized optimizer>, "loss": ...,
  "loss_weights", "metrics", "weighted_metrics", "run_eagerly", "steps_per_execution",
  "jit_compile"}`` once the model is compiled.
* ``model.weights.h5``: ``optimizer/vars/0 .. N-1`` = ``optimizer.variables`` (``0`` the
  int64 iteration count, ``1`` the float32 learning rate when it is a float, then the
  slots), the ``vars`` group's ``name`` attribute the optimizer's name. A
  ``LossScaleOptimizer`` also writes its inner optimizer under
  ``optimizer/inner_optimizer/vars``.
* Legacy ``.h5``: the ``training_config`` attribute (the compile arguments in Keras's
  legacy form, the optimizer under ``optimizer_config``) and the ``optimizer_weights``
  group (``weight_names`` = the variables' paths, one dataset per path).

Reading is safe: the configs are walked first and only Keras's built-in optimizers,
schedules, losses and metrics (or objects the caller registered / passed as
``custom_objects``) may be named; a config naming anything else (a layer, an unknown
function, a ``__lambda__``) is not compiled, with a ``UserWarning`` saying why (Keras
would raise; the model itself is still usable, as with ``compile=False``). Optimizer
variables are read through the same guarded HDF5 access as weights (hard links only,
no external storage, sizes bounded, numbers only) and must have the shapes of the
optimizer built for the model; a different count is skipped with Keras's warning.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from rnnlens.interop.keras_h5 import _node, attr_strings
from rnnlens.interop.safe_io import guarded, refuse

COMPILE_KEYS = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics",
                "run_eagerly", "steps_per_execution", "jit_compile")
_MODULES = ("keras.optimizers", "keras.optimizers.schedules", "keras.losses", "keras.metrics")
_MAX_ITEMS = 10_000               # entries in any list / dict of a compile config
_MAX_VARIABLES = 1_000_000        # optimizer variables in a file


# -- writing ---------------------------------------------------------------------------


def compile_config(model: Any) -> dict | None:
    """Keras's ``model.get_compile_config()`` serialized, or None when not compiled (or
    when an argument cannot be written without code, with a warning)."""
    from rnnlens.saving import serialize_keras_object

    compiled = getattr(model, "_compiled", None)
    if compiled is None:
        return None
    try:
        return serialize_keras_object({"optimizer": compiled.optimizer, **compiled.arguments})
    except (ValueError, TypeError) as err:
        warnings.warn(f"Model '{model.name}': its compile arguments are not written to the "
                      f"file ({err}); it will load uncompiled.", UserWarning, stacklevel=3)
        return None


def _legacy(obj: Any) -> Any:
    """Keras's legacy serialization of a compile argument (``_serialize_nested_config``)."""
    from rnnlens.saving import serialize_keras_object

    if isinstance(obj, (list, tuple)):
        return [_legacy(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _legacy(v) for k, v in obj.items()}
    if callable(obj) and hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    if callable(obj):
        entry = serialize_keras_object(obj)
        return entry["config"] if isinstance(entry, dict) else entry
    return obj


def training_config(model: Any) -> dict | None:
    """The legacy ``.h5`` ``training_config`` attribute (None when not compiled)."""
    compiled = getattr(model, "_compiled", None)
    if compiled is None:
        return None
    out = {k: _legacy(v) for k, v in compiled.arguments.items()}
    optimizer = compiled.optimizer
    out["optimizer_config"] = {"class_name": type(optimizer).__name__,
                               "config": optimizer.get_config()}
    return out


def _saveables(optimizer: Any) -> list[tuple[str, Any]]:
    hook = getattr(optimizer, "_saveables", None)
    return hook() if callable(hook) else [("", optimizer)]


def write_optimizer(h5: Any, model: Any) -> None:
    """``optimizer/vars/<k>`` (and a LossScaleOptimizer's inner group) into ``h5``."""
    compiled = getattr(model, "_compiled", None)
    if compiled is None:
        return
    for sub, owner in _saveables(compiled.optimizer):
        group = h5.require_group(f"optimizer/{sub}vars")
        group.attrs["name"] = owner.name
        for k, var in enumerate(owner.variables):
            group.create_dataset(str(k), data=np.asarray(var.value))


def check_legacy_optimizer(model: Any) -> None:
    """Refuses (before anything is written) an optimizer whose variables share a path
    (Adafactor's): one HDF5 dataset per path; Keras fails on such a file too."""
    compiled = getattr(model, "_compiled", None)
    paths = [v.path for v in compiled.optimizer.variables] if compiled is not None else []
    if len(set(paths)) != len(paths):
        raise ValueError(f"Cannot write the state of optimizer '{compiled.optimizer.name}' to "
                         "a legacy .h5 file: several of its variables share a path (HDF5 "
                         "needs one dataset per path; Keras 3.15.1 fails here too). Save a "
                         ".keras file, or pass include_optimizer=False.")


def write_legacy_optimizer(h5: Any, model: Any) -> None:
    """The legacy ``optimizer_weights`` group (Keras's ``save_optimizer_weights...``)."""
    compiled = getattr(model, "_compiled", None)
    if compiled is None or not compiled.optimizer.variables:
        return
    check_legacy_optimizer(model)
    variables = compiled.optimizer.variables
    paths = [v.path for v in variables]
    group = h5.create_group("optimizer_weights")
    from rnnlens.interop.keras_legacy import write_strings

    write_strings(group, "weight_names", paths)
    for path, var in zip(paths, variables):
        group.create_dataset(path, data=np.asarray(var.value))


# -- reading: compile arguments ------------------------------------------------------


def _known(entry: dict) -> bool:
    """A class or function entry rnnlens may build from a compile config."""
    from rnnlens.saving import object_registration as reg
    from rnnlens.saving.serialization_lib import _canonical

    name = entry.get("class_name")
    registered = entry.get("registered_name")
    module = _canonical(entry.get("module"))
    if name == "function":
        target = entry.get("config")
        return isinstance(target, str) and (module == "builtins" or module in _MODULES or
                                            reg.get_registered_object(target) is not None)
    if module in _MODULES:
        return True
    custom = registered if isinstance(registered, str) else name
    return isinstance(custom, str) and reg.get_registered_object(custom) is not None


def check_config(value: Any, where: str = "compile_config", depth: int = 0) -> None:
    """Refuses (ValueError) a compile config naming anything but Keras's optimizers,
    schedules, losses and metrics or registered objects; bounds its size."""
    if depth > 32:
        raise ValueError(f"{where} is nested too deeply.")
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS:
            raise ValueError(f"{where} has {len(value)} entries, over {_MAX_ITEMS}.")
        if "class_name" in value:
            name = value.get("class_name")
            if name == "__lambda__" or not isinstance(name, str):
                raise ValueError(f"{where} holds code ({str(name)[:40]!r}); rnnlens never "
                                 "runs code from a file.")
            if "module" in value and not _known(value):
                raise ValueError(f"{where} names {value.get('module')}.{name}, which is not "
                                 "a Keras optimizer, schedule, loss or metric (nor an "
                                 "object registered with rnnlens).")
        for key, item in value.items():
            check_config(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, (list, tuple)):
        if len(value) > _MAX_ITEMS:
            raise ValueError(f"{where} lists {len(value)} items, over {_MAX_ITEMS}.")
        for k, item in enumerate(value):
            check_config(item, f"{where}[{k}]", depth + 1)


def _compile(model: Any, arguments: dict, source: str) -> bool:
    """``model.compile(**arguments)`` and the optimizer built for the model (Keras's
    ``compile_from_config``); a failure leaves the model uncompiled, with a warning."""
    from rnnlens import training

    try:
        model.compile(**arguments)
        optimizer = training._require_compiled(model).optimizer
        if not optimizer.built and model.inputs_known():
            arrays, paths = training.trainable_variables(model)
            optimizer.build(arrays, paths)
    except (ValueError, TypeError, KeyError) as err:
        model._compiled, model.optimizer = None, None
        warnings.warn(f"{source}: the model was not compiled ({str(err)[:300]}); it is "
                      "returned as with compile=False: call model.compile(...) to train it.",
                      UserWarning, stacklevel=4)
        return False
    return True


def compile_from_config(model: Any, config: Any, source: str) -> bool:
    """Compiles ``model`` from a ``.keras`` / ``to_json`` ``compile_config``."""
    from rnnlens.saving import deserialize_keras_object

    try:
        if not isinstance(config, dict):
            raise ValueError(f"compile_config is not a dict: {str(config)[:80]}")
        unknown = sorted(set(config) - set(COMPILE_KEYS))
        if unknown:
            raise ValueError(f"compile_config has unknown keys {unknown[:5]}")
        check_config(config)
        arguments = deserialize_keras_object(config)
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        warnings.warn(f"{source}: the model was not compiled ({str(err)[:300]}); it is "
                      "returned as with compile=False.", UserWarning, stacklevel=3)
        return False
    return _compile(model, arguments, source)


def compile_from_training_config(model: Any, config: Any, source: str) -> bool:
    """Compiles ``model`` from a legacy ``training_config`` (Keras 1 - 3)."""
    from rnnlens import optimizers

    try:
        if not isinstance(config, dict) or not isinstance(config.get("optimizer_config"),
                                                          dict):
            raise ValueError("training_config has no optimizer_config")
        check_config(config, "training_config")
        from rnnlens import losses, metrics

        arguments = {"optimizer": optimizers.deserialize(config["optimizer_config"]),
                     "loss": _nested(config.get("loss"), losses.deserialize),
                     "metrics": _nested(config.get("metrics"), metrics.deserialize),
                     "weighted_metrics": _nested(config.get("weighted_metrics"),
                                                 metrics.deserialize),
                     "loss_weights": config.get("loss_weights")}
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        warnings.warn(f"{source}: the model was not compiled ({str(err)[:300]}); it is "
                      "returned as with compile=False.", UserWarning, stacklevel=3)
        return False
    return _compile(model, arguments, source)


def _nested(config: Any, deserialize: Any) -> Any:
    """Keras's ``_deserialize_nested_config``: a ``{"class_name", "config"}`` dict is one
    object; other dicts and lists hold one per output; names stay names."""
    if config is None or isinstance(config, str):
        return config
    if isinstance(config, dict) and "class_name" in config:
        return deserialize(config)
    if isinstance(config, dict):
        return {k: _nested(v, deserialize) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_nested(v, deserialize) for v in config]
    raise ValueError(f"Saved configuration not understood: {str(config)[:80]}")


def parse_json(text: str | None, path: Any, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise refuse(path, f"{what} is not valid JSON ({err}).") from None


# -- reading: optimizer variables ----------------------------------------------------


def _dataset(h5: Any, h5_path: str, path: Any, max_values: int) -> np.ndarray:
    """One optimizer variable, its link, storage, size and dtype checked."""
    import h5py

    node = _node(h5, h5_path, path)
    if not isinstance(node, h5py.Dataset):
        raise refuse(path, f"optimizer variable {h5_path!r} is not a dataset.")
    if node.external or node.is_virtual:
        raise refuse(path, f"optimizer variable {h5_path!r} points at storage outside the "
                           "file.")
    if int(np.prod(node.shape, dtype=object)) > max_values:
        raise refuse(path, f"optimizer variable {h5_path!r} of shape {node.shape} is over "
                           f"the parameter limit of {max_values}.")
    if node.dtype.kind not in "fiu":
        raise refuse(path, f"optimizer variable {h5_path!r} has dtype {node.dtype}, "
                           "expected numbers.")
    return np.asarray(node[()])


def _checked(owner: Any, values: list[np.ndarray], path: Any) -> None:
    for k, (var, value) in enumerate(zip(owner.variables, values)):
        if value.shape != var.value.shape:
            raise refuse(path, f"optimizer variable {k} ({var.path}) has shape "
                               f"{value.shape} in the file, the optimizer built for this "
                               f"model needs {var.value.shape}.")


def read_optimizer(h5: Any, model: Any, path: Any, limits: Any) -> None:
    """Restores the compiled optimizer's variables from ``optimizer/vars/<k>`` (Keras's
    ``load_own_variables``: another count is skipped with a warning)."""
    compiled = getattr(model, "_compiled", None)
    if compiled is None:
        return
    for sub, owner in _saveables(compiled.optimizer):
        group_path = f"optimizer/{sub}vars"
        with guarded(path, f"the optimizer group {group_path!r}"):
            group = h5.get(group_path) if group_path in h5 else None
            keys = [] if group is None else list(group.keys())
            if len(keys) > _MAX_VARIABLES:
                raise refuse(path, f"{group_path} holds {len(keys)} entries, over "
                                   f"{_MAX_VARIABLES}.")
            if sorted(keys, key=lambda k: (len(k), k)) != [str(k) for k in range(len(keys))]:
                raise refuse(path, f"{group_path} holds entries other than 0 .. "
                                   f"{len(keys) - 1}.")
            values = None if len(keys) != len(owner.variables) else \
                [_dataset(h5, f"{group_path}/{k}", path, limits.max_params)
                 for k in range(len(keys))]
        if values is None:
            owner.load_own_variables({k: None for k in keys})      # Keras's warning
            continue
        _checked(owner, values, path)
        owner.load_own_variables({str(k): v for k, v in enumerate(values)})


def read_legacy_optimizer(h5: Any, model: Any, path: Any, limits: Any) -> None:
    """Restores the optimizer from a legacy ``optimizer_weights`` group: every variable,
    in order, for the optimizer built on the model's trainable weights; another count
    or shape (a Keras 2 optimizer's layout) leaves it fresh, with Keras's warning.

    Keras 3.15.1 itself builds the optimizer on ``model._trainable_variables`` (empty
    for Functional and Sequential models) here, so it restores only ``iteration`` and
    ``learning_rate`` and its loaded model cannot train; rnnlens restores the state."""
    compiled = getattr(model, "_compiled", None)
    if compiled is None or "optimizer_weights" not in h5:
        return
    group = h5["optimizer_weights"]
    names = attr_strings(group, "weight_names", path)
    if len(names) > _MAX_VARIABLES:
        raise refuse(path, f"optimizer_weights lists {len(names)} names.")
    with guarded(path, "the optimizer_weights group"):
        values = [_dataset(group, name, path, limits.max_params) for name in names]
    try:
        optimizer = compiled.optimizer
        if len(values) != len(optimizer.variables):
            raise ValueError(f"the file holds {len(values)} optimizer variables, "
                             f"{type(optimizer).__name__} built for this model has "
                             f"{len(optimizer.variables)}")
        _checked(optimizer, values, path)
        optimizer.load_own_variables({str(k): v for k, v in enumerate(values)})
    except ValueError as err:
        warnings.warn(f"{path}: Error in loading the saved optimizer state ({err}). As a "
                      "result, your model is starting with a freshly initialized optimizer.",
                      UserWarning, stacklevel=3)


__all__ = ["compile_config", "training_config", "compile_from_config",
           "compile_from_training_config", "write_optimizer", "write_legacy_optimizer",
           "read_optimizer", "read_legacy_optimizer", "check_config"]
