"""Reshaping layers, as Keras 3 defines them: RepeatVector.

Shape legend: B batch, T time steps, F features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer


class RepeatVector(Layer):
    """Repeats a (B, F) input ``n`` times: (B, n, F). Used to feed a decoder.

    Args:
        n: how many times to repeat.
    """

    n = P.Int(min=1, cap="max_dim")

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) != 2:
            raise ValueError(f"Layer '{self.name}' (RepeatVector) expects a 2-D input "
                             f"(batch, features), received shape {shape}.")

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return np.repeat(inputs[:, None, :], self.n, axis=1)      # (B, n, F)

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return d_out.sum(axis=1), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return (input_shape[0], self.n, input_shape[1])


__all__ = ["RepeatVector"]
