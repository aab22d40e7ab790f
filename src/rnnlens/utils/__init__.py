"""Keras's ``keras.utils`` helpers that rnnlens has.

* ``set_random_seed``, ``clear_session``.
* Data: ``pad_sequences``, ``to_categorical``, ``normalize``,
  ``timeseries_dataset_from_array``, ``split_dataset``, ``ArrayDataset`` (the dataset
  those two return: a re-iterable stream of NumPy batches with tf.data's ``take``/``skip``/
  ``map``/``batch``/... methods), ``PyDataset`` (alias ``Sequence``),
  ``pack_x_y_sample_weight``, ``unpack_x_y_sample_weight``.
* ``Progbar`` (the one in ``rnnlens.callbacks``) and ``Config``.
* ``plot_model``, ``model_to_dot`` (Graphviz through pydot as Keras when installed, else
  drawn by rnnlens: SVG with NumPy only, images with matplotlib).

Everything but the first two is imported on first use, so ``import rnnlens`` stays cheap.
Not here: ``get_file`` (needs the network), the image/audio/text directory loaders,
and the serialization registry (``register_keras_serializable``, ...).
"""

from __future__ import annotations

import importlib
from typing import Any

from rnnlens.naming import clear_session
from rnnlens.random import set_random_seed

_LAZY = {
    "pad_sequences": "rnnlens.utils.sequence_utils",
    "to_categorical": "rnnlens.utils.numerical_utils",
    "normalize": "rnnlens.utils.numerical_utils",
    "timeseries_dataset_from_array": "rnnlens.utils.timeseries",
    "split_dataset": "rnnlens.utils.split",
    "ArrayDataset": "rnnlens.utils.dataset",
    "PyDataset": "rnnlens.utils.py_dataset",
    "Sequence": "rnnlens.utils.py_dataset",
    "pack_x_y_sample_weight": "rnnlens.utils.py_dataset",
    "unpack_x_y_sample_weight": "rnnlens.utils.py_dataset",
    "Config": "rnnlens.utils.config",
    "Progbar": "rnnlens.callbacks",
    "CustomObjectScope": "rnnlens.saving", "custom_object_scope": "rnnlens.saving",
    "deserialize_keras_object": "rnnlens.saving", "serialize_keras_object": "rnnlens.saving",
    "get_custom_objects": "rnnlens.saving", "get_registered_name": "rnnlens.saving",
    "get_registered_object": "rnnlens.saving", "register_keras_serializable": "rnnlens.saving",
    "standardize_dtype": "rnnlens.backend", "is_keras_tensor": "rnnlens.backend",
    "disable_interactive_logging": "rnnlens.config",
    "enable_interactive_logging": "rnnlens.config",
    "is_interactive_logging_enabled": "rnnlens.config",
    "get_source_inputs": "rnnlens.functional",
    "plot_model": "rnnlens.utils.model_visualization",
    "model_to_dot": "rnnlens.utils.model_visualization",
}

__all__ = ["set_random_seed", "clear_session", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnlens.utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
