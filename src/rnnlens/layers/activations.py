"""Activation layers, as Keras 3 defines them (``keras.layers.activations``): Activation.

Each layer applies a fixed function to its input, elementwise (or along an axis for
softmax-like functions), keeps the input's shape (except ``glu``, which halves the
last axis) and passes masks through. The backward pass is the activation's exact
derivative (``rnnlens.activations.backward``): for ``y = f(z)``,
``dL/dz = f'(z) * dL/dy`` elementwise, ``y * (dL/dy - sum(dL/dy * y))`` for softmax.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.layers.base import Layer


class Activation(Layer):
    """Applies an activation function: ``y = activation(x)``.

    Args:
        activation: a Keras activation name (``"relu"``, ``"softmax"``, ...), None
            (linear) or a callable on arrays. A callable runs, but cannot be trained
            through (rnnlens does not know its derivative) nor saved to a Keras file.
    """

    activation = P.Activation()

    supports_masking = True

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.activation(inputs)

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        y = self.activation(inputs)
        return y, (inputs, y)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        z, y = cache
        try:
            dz = activations.backward(self.activation, z, y, d_out)
        except ValueError as err:
            raise ValueError(f"Layer '{self.name}' (Activation): {err}") from None
        return dz, {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        if activations.serialize(self.activation) == "glu" and isinstance(input_shape, tuple) \
                and input_shape and input_shape[-1] is not None:
            return (*input_shape[:-1], input_shape[-1] // 2)   # glu halves the last axis
        return input_shape


__all__ = ["Activation"]
