"""Interop: Keras files, PyTorch modules and ONNX export.

``from_torch`` / ``to_torch`` import torch only when called, ``to_onnx``
imports onnx only when called, and the Keras file functions need h5py only
when called, so ``import rnnlens.interop`` stays light.
"""

from rnnlens.interop.keras_config import Limits, UnsafeModelError
from rnnlens.interop.keras_format import load_model, load_weights, save_model, save_weights
from rnnlens.interop.onnx import to_onnx
from rnnlens.interop.torch import (from_torch, gru_weights_keras_to_torch,
                                   gru_weights_torch_to_keras, lstm_weights_keras_to_torch,
                                   lstm_weights_torch_to_keras,
                                   simple_rnn_weights_keras_to_torch,
                                   simple_rnn_weights_torch_to_keras, states_from_torch,
                                   states_to_torch, to_torch)

__all__ = ["Limits", "UnsafeModelError", "load_model", "load_weights", "save_model",
           "save_weights", "to_onnx", "from_torch", "to_torch", "states_to_torch",
           "states_from_torch",
           "lstm_weights_keras_to_torch", "lstm_weights_torch_to_keras",
           "gru_weights_keras_to_torch", "gru_weights_torch_to_keras",
           "simple_rnn_weights_keras_to_torch", "simple_rnn_weights_torch_to_keras"]
