"""TensorFlow SavedModel directories written by tf.keras 2.x, loaded without TensorFlow.

The Keras config comes from ``keras_metadata.pb`` and the weights from the
``variables/`` TensorBundle (``rnnlens.interop.tf_bundle``, which checks every size and
checksum). A weight's bundle path follows Keras's attribute structure:
``layer_with_weights-k`` for the k-th layer of ``model.layers`` that has weights (nested
models repeat it), then the sublayer attributes (``cell``, ``cells/0``,
``forward_layer``, ``backward_layer``, ``layer``) and the weight's name (``kernel``,
``bias``, ...). rnnlens's layers keep those same names, so each weight is found by its
path, not by position.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from rnnlens.interop.keras_config import Limits, read_model_config
from rnnlens.interop.safe_io import refuse
from rnnlens.interop.semantics import detect, named


def is_savedmodel(directory: Any) -> bool:
    return os.path.isfile(os.path.join(directory, "keras_metadata.pb"))


def load_savedmodel(directory: Any, limits: Limits, semantics: Any = None) -> Any:
    """The Keras model a tf.keras SavedModel directory holds, with its weights."""
    from rnnlens.interop.tf_bundle import (TensorBundle, model_config, read_keras_metadata,
                                           variables_by_path)

    if not is_savedmodel(directory):
        hint = (" (a SavedModel without keras_metadata.pb, from TensorFlow <= 2.4 or not "
                "written by Keras, holds no Keras config)"
                if os.path.isfile(os.path.join(directory, "saved_model.pb")) else "")
        raise refuse(directory, "it is a directory but not a tf.keras SavedModel: it has no "
                                f"keras_metadata.pb{hint}.")
    meta_path = os.path.join(directory, "keras_metadata.pb")
    found = model_config(read_keras_metadata(meta_path, limits), meta_path)
    chosen = named(semantics) if semantics is not None else \
        detect(found.get("keras_version"), "SavedModel keras_metadata.pb")
    model = read_model_config({"class_name": found["class_name"], "config": found["config"]},
                              os.fspath(directory), limits, chosen, what="keras_metadata.pb")
    weights = variables_by_path(TensorBundle(directory, limits))
    arrays, used = [], set()
    for key, shape in weight_paths(model):
        if key not in weights:
            raise refuse(directory, f"the variables have no {key!r} (the model's weight "
                                    f"of shape {shape}).")
        value = np.asarray(weights[key], np.float32)
        if value.shape != tuple(shape):
            raise refuse(directory, f"variable {key!r} has shape {value.shape}, but the "
                                    f"config implies {tuple(shape)}.")
        arrays.append(value)
        used.add(key)
    model.set_weights(arrays)
    return model


def weight_paths(model: Any, prefix: str = "") -> list[tuple[str, tuple]]:
    """Each weight's SavedModel path and shape, in ``model.get_weights()`` order."""
    out = []
    for k, layer in enumerate(lyr for lyr in model.layers if lyr.weights):
        for path, owner in _walk(layer, f"{prefix}layer_with_weights-{k}", set()):
            out += [(f"{path}/{w.name}", w.value.shape) for w in _own(owner)]
    return out


def _own(owner: Any) -> list:
    from rnnlens.cells.generic import CellAdapter

    if isinstance(owner, CellAdapter):
        return owner.weight_records()
    own = owner.__dict__.get("_own_weights", [])
    return [w for w in own if w.created_trainable] + [w for w in own if not w.created_trainable]


def _walk(owner: Any, prefix: str, seen: set) -> Iterator[tuple[str, Any]]:
    from rnnlens.cells.generic import CellAdapter
    from rnnlens.models import Model

    if id(owner) in seen:
        return
    seen.add(id(owner))
    if isinstance(owner, CellAdapter) and hasattr(owner.cell, "_tracked"):
        yield from _walk(owner.cell, prefix, seen)
        return
    if isinstance(owner, Model):
        for k, layer in enumerate(lyr for lyr in owner.layers if lyr.weights):
            yield from _walk(layer, f"{prefix}/layer_with_weights-{k}", seen)
        return
    yield prefix, owner
    for attr, value in owner.__dict__.get("_tracked", {}).items():
        if isinstance(value, (list, tuple)):
            for j, item in enumerate(value):
                yield from _walk(item, f"{prefix}/{attr}/{j}", seen)
        else:
            yield from _walk(value, f"{prefix}/{attr}", seen)


__all__ = ["load_savedmodel", "is_savedmodel", "weight_paths"]
