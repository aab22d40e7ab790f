"""``CuDNNLSTM`` and ``CuDNNGRU``: Keras 2's GPU-only recurrent layers, run on the CPU.

Keras 2.0.9 - 2.15 (``keras.layers.CuDNNLSTM``, ``tf.compat.v1.keras.layers``) ran these
through cuDNN, so their files load here as the equivalent exact layers:

* ``CuDNNLSTM(units)`` is ``LSTM(units, activation="tanh",
  recurrent_activation="sigmoid")``; ``CuDNNGRU(units)`` is ``GRU(units,
  reset_after=True, recurrent_activation="sigmoid")``. Their activations are fixed.
* Their file weights are cuDNN's parameters in Keras's shapes. Keras handed each gate's
  block to cuDNN by flattening it **without transposing**, so cuDNN's gate matrix is
  ``kernel_g.reshape(u, F)`` (u units, F features) and the equivalent Keras kernel is its
  transpose; the recurrent blocks are transposed likewise. The LSTM bias (8u,) holds the
  input and recurrent biases, which add up; the GRU bias (6u,) is Keras's (2, 3u)
  ``reset_after`` bias. ``legacy_weights`` converts them when a file is loaded, as
  Keras 2's own ``_convert_rnn_weights`` did for a non-cuDNN layer.
* cuDNN refuses masks; so do these.

``get_weights()`` returns the converted (standard LSTM / GRU) weights, and saving such a
model writes an ``LSTM`` / ``GRU`` (Keras 3 has no cuDNN layers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.layers.recurrent import GRU, LSTM


def _gates(kernel: np.ndarray, gates: int) -> np.ndarray:
    """cuDNN's per-gate ``reshape(u, F)`` of each (F, u) block, as a Keras (F, Gu) kernel."""
    f, gu = kernel.shape
    u = gu // gates
    blocks = [kernel[:, g * u:(g + 1) * u].reshape(u, f).T for g in range(gates)]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float32)


class _CuDNN:
    """What both cuDNN layers share: fixed activations, no masks, weight conversion."""

    keras_module = "keras.layers"
    gates = 4
    keras2_defaults: dict = {}                  # every argument is fixed or written

    def legacy_weights(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """cuDNN-layout file weights -> this layer's Keras-layout weights."""
        if len(arrays) != 3:
            return arrays
        kernel, recurrent, bias = (np.asarray(a, np.float32) for a in arrays)
        if kernel.ndim != 2 or recurrent.ndim != 2 or kernel.shape[1] % self.gates:
            return arrays                                 # shapes are checked next
        return [_gates(kernel, self.gates), _gates(recurrent, self.gates),
                self._bias(bias)]

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        return None

    def _run(self, inputs: Any, initial_state: Any, mask: Any, training: Any,
             keep: bool) -> Any:
        if mask is not None:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) does not support "
                             "masks (cuDNN never did); pad with real values or use an LSTM "
                             "/ GRU layer.")
        return super()._run(inputs, initial_state, mask, training, keep)

    @property
    def saved_as(self) -> type:
        """Keras 3 has no cuDNN layers: files written by rnnlens hold the equivalent one."""
        return type(self).__mro__[2]



class CuDNNLSTM(_CuDNN, LSTM):
    """Keras 2's ``CuDNNLSTM``: an LSTM with tanh / sigmoid, from cuDNN weights.

    Args:
        units, kernel_initializer, recurrent_initializer, bias_initializer,
        unit_forget_bias, regularizers, constraints, return_sequences, return_state,
        go_backwards, stateful: as ``LSTM``.
    """

    gates = 4
    supports_masking = False

    @classmethod
    def _declared_params(cls) -> dict:
        keep = ("units", "kernel_initializer", "recurrent_initializer", "bias_initializer",
                "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
                "bias_regularizer", "activity_regularizer", "kernel_constraint",
                "recurrent_constraint", "bias_constraint", "return_sequences",
                "return_state", "go_backwards", "stateful")
        return {k: v for k, v in LSTM._declared_params().items() if k in keep}

    def __init__(self, units: int, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, **kwargs: Any):
        kwargs.pop("time_major", None)
        LSTM.__init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                      kernel_initializer=kernel_initializer,
                      recurrent_initializer=recurrent_initializer,
                      bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                      kernel_regularizer=kernel_regularizer,
                      recurrent_regularizer=recurrent_regularizer,
                      bias_regularizer=bias_regularizer,
                      activity_regularizer=activity_regularizer,
                      kernel_constraint=kernel_constraint,
                      recurrent_constraint=recurrent_constraint,
                      bias_constraint=bias_constraint, return_sequences=return_sequences,
                      return_state=return_state, go_backwards=go_backwards,
                      stateful=stateful, **kwargs)

    def _bias(self, bias: np.ndarray) -> np.ndarray:
        half = bias.shape[0] // 2
        return (bias[:half] + bias[half:]).astype(np.float32)   # input + recurrent biases


class CuDNNGRU(_CuDNN, GRU):
    """Keras 2's ``CuDNNGRU``: a ``reset_after`` GRU with tanh / sigmoid, from cuDNN weights.

    Args:
        units, initializers, regularizers, constraints, return_sequences, return_state,
        go_backwards, stateful: as ``GRU``.
    """

    gates = 3
    supports_masking = False

    @classmethod
    def _declared_params(cls) -> dict:
        keep = ("units", "kernel_initializer", "recurrent_initializer", "bias_initializer",
                "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                "bias_constraint", "return_sequences", "return_state", "go_backwards",
                "stateful")
        return {k: v for k, v in GRU._declared_params().items() if k in keep}

    def __init__(self, units: int, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, **kwargs: Any):
        kwargs.pop("time_major", None)
        GRU.__init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                     reset_after=True, kernel_initializer=kernel_initializer,
                     recurrent_initializer=recurrent_initializer,
                     bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                     recurrent_regularizer=recurrent_regularizer,
                     bias_regularizer=bias_regularizer,
                     activity_regularizer=activity_regularizer,
                     kernel_constraint=kernel_constraint,
                     recurrent_constraint=recurrent_constraint,
                     bias_constraint=bias_constraint, return_sequences=return_sequences,
                     return_state=return_state, go_backwards=go_backwards, stateful=stateful,
                     **kwargs)

    def _bias(self, bias: np.ndarray) -> np.ndarray:
        return bias.reshape(2, -1).astype(np.float32)          # [input; recurrent] rows


__all__ = ["CuDNNLSTM", "CuDNNGRU"]
