"""Interop: Keras files, PyTorch modules and ONNX export.

Each name is imported from its module on first use (``from_torch`` / ``to_torch``
import torch only when called, ``to_onnx`` onnx, the Keras file functions h5py), so
``import rnnlens.interop`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from rnnlens.interop.keras_config import Limits, UnsafeModelError

_WHERE = {
    "load_model": "keras_format", "load_weights": "keras_format",
    "save_model": "keras_format", "save_weights": "keras_format",
    "to_onnx": "onnx",
    **{name: "torch" for name in (
        "from_torch", "to_torch", "states_to_torch", "states_from_torch",
        "lstm_weights_keras_to_torch", "lstm_weights_torch_to_keras",
        "gru_weights_keras_to_torch", "gru_weights_torch_to_keras",
        "simple_rnn_weights_keras_to_torch", "simple_rnn_weights_torch_to_keras")},
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rnnlens.interop' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rnnlens.interop.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


__all__ = ["Limits", "UnsafeModelError", *_WHERE]
