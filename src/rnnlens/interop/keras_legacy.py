"""Legacy HDF5 files: whole models (``model.save("x.h5")``) and Keras 2 weight files,
read and (models) written.

Keras 1 - 3 all wrote this layout: the model's config as JSON in the ``model_config``
attribute, ``keras_version`` and ``backend`` attributes, and the weights in
``model_weights`` (or at the top of a weights-only file) with one group per layer, listed
in order by ``layer_names``, each naming its datasets in ``weight_names``. Weights are
matched to layers by position, as Keras does, or by layer name (``by_name=True``). A
layer whose file weights have another layout (``CuDNNLSTM``'s) converts them with its
``legacy_weights`` method before the shapes are checked.

A compiled model's file also holds ``training_config`` (the compile arguments) and
``optimizer_weights``; ``load_legacy_model(compile=True)`` compiles from them and restores
the optimizer as Keras 3 does (:mod:`rnnlens.interop.keras_compile`).
:func:`save_legacy_model` writes what Keras 3.15.1's ``legacy_h5_format`` writes: the
legacy ``model_config`` (layer entries as ``{"class_name", "config"}``), ``model_weights``
with one group per layer (sorted by name) holding the weights under their variable paths
(trainable then non-trainable), ``top_level_model_weights``, and, once compiled,
``training_config`` and ``optimizer_weights``.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

from rnnlens.interop import keras_compile
from rnnlens.interop.keras_config import Limits, UnsafeModelError, read_model_config
from rnnlens.interop.keras_h5 import attr_strings, attr_text, read_dataset
from rnnlens.interop.safe_io import NotAModelError, guarded, open_h5, refuse
from rnnlens.interop.semantics import detect, named


def load_legacy_model(data: bytes, path: Any, limits: Limits, semantics: Any = None,
                      compile: bool = True) -> Any:
    """The model of a legacy ``.h5`` file (any Keras version), with its weights (and,
    with ``compile``, compiled from its ``training_config`` with its optimizer state)."""
    h5 = open_h5(data, path, "the HDF5 file")
    with guarded(path, "the HDF5 file"), h5:
        raw = attr_text(h5, "model_config", path, limits.max_config_bytes)
        if raw is None and not ("layer_names" in h5.attrs or "layers" in h5 or "vars" in h5):
            raise refuse(path, "it is an HDF5 file with no model_config attribute and no "
                               "Keras weights layout: not a Keras model or weights file.")
        if raw is None:
            raise NotAModelError(
                f"{path} holds weights only (no model_config attribute): it is a weights "
                "file, not a model. Build the model in code and call "
                "model.load_weights(path).")
        version = attr_text(h5, "keras_version", path, 64)
        chosen = named(semantics) if semantics is not None else \
            detect(version, "legacy .h5")
        try:
            config = json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as err:
            raise refuse(path, f"model_config is not valid JSON ({err}).") from None
        model = read_model_config(config, str(path), limits, chosen, what="model_config")
        group = h5["model_weights"] if "model_weights" in h5 else h5
        try:
            load_legacy_weights(model, group, path, limits)
        except (UnsafeModelError, NotAModelError):
            raise
        except ValueError as err:
            raise refuse(path, f"its weights do not fit its own config ({err})") from None
        if compile:
            _compile(model, h5, path, limits)
    return model


def _compile(model: Any, h5: Any, path: Any, limits: Limits) -> None:
    raw = attr_text(h5, "training_config", path, limits.max_config_bytes)
    if raw is None:
        return              # Keras logs "No training configuration found" and moves on
    config = keras_compile.parse_json(raw, path, "training_config")
    if keras_compile.compile_from_training_config(model, config, os.fspath(path)):
        keras_compile.read_legacy_optimizer(h5, model, path, limits)


def _file_layers(group: Any, path: Any) -> list[tuple[str, list[str]]]:
    """``(layer name, [weight names])`` for each file layer that holds weights."""
    out = []
    for name in strings(group, "layer_names", path):
        with guarded(path, f"layer group {name!r}"):
            sub = group.get(name)
            names = [] if sub is None else strings(sub, "weight_names", path)
        if names:
            out.append((name, names))
    return out


def load_legacy_weights(model: Any, group: Any, path: Any, limits: Limits | None = None,
                        by_name: bool = False, skip_mismatch: bool = False) -> None:
    """Sets ``model``'s weights from a legacy layout, by position or by layer name."""
    limits = limits or Limits()
    file_layers = _file_layers(group, path)
    layers = [layer for layer in model.layers if layer.weights]
    if by_name:
        pairs = _pairs_by_name(layers, file_layers)
    else:
        if len(file_layers) != len(layers):
            listing = ", ".join(f"'{layer.name}'" for layer in layers)
            raise ValueError(
                f"{path} has weights for {len(file_layers)} layers "
                f"({', '.join(n for n, _ in file_layers)[:300]}), but the model has "
                f"{len(layers)} layers with weights ({listing}). The architectures differ: "
                "build the model the file came from, or pass by_name=True to match layers "
                "by name.")
        pairs = list(zip(layers, file_layers))
    for layer, (name, weight_names) in pairs:
        arrays = [read_dataset(group, f"{name}/{w}", None, path, limits.max_params)
                  for w in weight_names]
        convert = getattr(layer, "legacy_weights", None)
        if convert is not None:
            arrays = convert(arrays)
        expected = [w.shape for w in layer.weights]
        found = [a.shape for a in arrays]
        if found != expected:
            message = (f"{path}: layer '{layer.name}' needs weights of shapes {expected}, the "
                       f"file's '{name}' has {found}.")
            if skip_mismatch:
                warnings.warn(message + " Skipped (skip_mismatch=True).", stacklevel=3)
                continue
            raise ValueError(message + " The layers differ; pass skip_mismatch=True to "
                                       "skip such layers.")
        layer.set_weights(arrays)


def _pairs_by_name(layers: list, file_layers: list) -> list:
    by_name = dict(file_layers)
    return [(layer, (layer.name, by_name[layer.name])) for layer in layers
            if layer.name in by_name]


def strings(group: Any, key: str, path: Any) -> list[str]:
    """A string-list attribute, also when Keras split it into ``key0``, ``key1``, ...
    (attributes over HDF5's 64 KiB header limit)."""
    if key in group.attrs or f"{key}0" not in group.attrs:
        return attr_strings(group, key, path)
    out: list[str] = []
    for k in range(100_000):
        if f"{key}{k}" not in group.attrs:
            break
        out += attr_strings(group, f"{key}{k}", path)
    return out


# -- writing ---------------------------------------------------------------------------

_HEADER_LIMIT = 64512               # Keras's HDF5_OBJECT_HEADER_LIMIT


def write_strings(group: Any, key: str, values: list[str]) -> None:
    """Keras's ``save_attributes_to_hdf5_group``: the UTF-8 names as one attribute, or
    split into ``key0``, ``key1``, ... when it would pass HDF5's header limit."""
    data = [v.encode("utf8") for v in values]
    if any(len(x) > _HEADER_LIMIT for x in data):
        raise ValueError(f"Cannot write {key}: a name is over {_HEADER_LIMIT} bytes (HDF5's "
                         "attribute limit, as in Keras).")
    array = np.asarray(data)
    chunks = 1
    while any(part.nbytes > _HEADER_LIMIT for part in np.array_split(array, chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[key] = data
        return
    for k, part in enumerate(np.array_split(array, chunks)):
        group.attrs[f"{key}{k}"] = part


def legacy_model_config(model: Any) -> dict:
    """``model_config`` as Keras writes it in legacy mode: every layer entry
    ``{"class_name", "config"}`` (plus ``name`` / ``inbound_nodes`` in a functional
    model), a Sequential's config with its ``build_input_shape``."""
    from rnnlens.interop.keras_writer import model_config

    entry = model_config(model)
    entry.pop("compile_config", None)
    return _legacy_entry(entry)


def _legacy_entry(entry: dict) -> dict:
    out = {"class_name": entry["class_name"], "config": dict(entry["config"])}
    for key in ("name", "inbound_nodes"):
        if key in entry:
            out[key] = entry[key]
    config = out["config"]
    if isinstance(config.get("layers"), list) and entry["class_name"] in (
            "Sequential", "Functional", "Model"):
        config["layers"] = [_legacy_entry(e) for e in config["layers"]]
        shape = (entry.get("build_config") or {}).get("input_shape")
        if entry["class_name"] == "Sequential" and shape is not None:
            config["build_input_shape"] = shape
    return out


def save_legacy_model(model: Any, path: Any, include_optimizer: bool = True) -> None:
    """Writes ``model`` as a legacy HDF5 file that Keras 3.15.1's ``load_model`` reads."""
    from rnnlens.interop.keras_format import KERAS_VERSION, _h5py
    from rnnlens.training import _variable_paths

    h5py = _h5py()
    if include_optimizer:
        keras_compile.check_legacy_optimizer(model)
    config = json.dumps(legacy_model_config(model)).encode("utf8")
    training = keras_compile.training_config(model) if include_optimizer else None
    paths = _variable_paths(model)
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = KERAS_VERSION
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["model_config"] = config
        if training is not None:
            h5.attrs["training_config"] = json.dumps(training).encode("utf8")
        group = h5.create_group("model_weights")
        write_strings(group, "layer_names", [layer.name for layer in _all_layers(model)])
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
        for layer in sorted(_all_layers(model), key=lambda lyr: lyr.name):
            _write_layer(group.create_group(layer.name), layer, paths)
        write_strings(group.create_group("top_level_model_weights"), "weight_names", [])
        if include_optimizer:
            keras_compile.write_legacy_optimizer(h5, model)


def _all_layers(model: Any) -> list:
    """``model.layers`` (a functional model's input layers included, as Keras's)."""
    return list(model.layers)


def _write_layer(group: Any, layer: Any, paths: dict) -> None:
    weights = list(layer.trainable_weights) + list(layer.non_trainable_weights)
    names = [paths.get(id(w), f"{layer.name}/weight_{k}") for k, w in enumerate(weights)]
    write_strings(group, "weight_names", names)
    for name, value in zip(names, weights):
        group.create_dataset(name, data=np.asarray(value))


__all__ = ["load_legacy_model", "load_legacy_weights", "save_legacy_model",
           "legacy_model_config"]
