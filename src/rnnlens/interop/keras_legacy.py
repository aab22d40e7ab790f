"""Legacy HDF5 files: whole models (``model.save("x.h5")``) and Keras 2 weight files.

Keras 1 - 3 all wrote this layout: the model's config as JSON in the ``model_config``
attribute, ``keras_version`` and ``backend`` attributes, and the weights in
``model_weights`` (or at the top of a weights-only file) with one group per layer, listed
in order by ``layer_names``, each naming its datasets in ``weight_names``. Weights are
matched to layers by position, as Keras does, or by layer name (``by_name=True``). A
layer whose file weights have another layout (``CuDNNLSTM``'s) converts them with its
``legacy_weights`` method before the shapes are checked.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from rnnlens.interop.keras_config import Limits, UnsafeModelError, read_model_config
from rnnlens.interop.keras_h5 import attr_strings, attr_text, read_dataset
from rnnlens.interop.safe_io import NotAModelError, guarded, open_h5, refuse
from rnnlens.interop.semantics import detect, named


def load_legacy_model(data: bytes, path: Any, limits: Limits, semantics: Any = None) -> Any:
    """The model of a legacy ``.h5`` file (any Keras version), with its weights."""
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
    return model


def _file_layers(group: Any, path: Any) -> list[tuple[str, list[str]]]:
    """``(layer name, [weight names])`` for each file layer that holds weights."""
    out = []
    for name in attr_strings(group, "layer_names", path):
        with guarded(path, f"layer group {name!r}"):
            sub = group.get(name)
            names = [] if sub is None else attr_strings(sub, "weight_names", path)
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


__all__ = ["load_legacy_model", "load_legacy_weights"]
