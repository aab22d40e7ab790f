"""Merging layers, as Keras 3 defines them: Concatenate.

Shape legend: B batch, T time steps, F features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer, to_float_array


class Concatenate(Layer):
    """Joins a list of inputs along ``axis``; all other dimensions must agree.

    Args:
        axis: the axis to join along (default -1, the features).
    """

    axis = P.Axis(-1)

    supports_masking = True

    def convert_inputs(self, inputs: Any) -> Any:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"Layer '{self.name}' (Concatenate) should be called on a list of "
                             "at least 2 inputs.")
        return [to_float_array(x, f"input {k} to layer '{self.name}'")
                for k, x in enumerate(inputs)]

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, list) or len(shape) < 2:
            raise ValueError(f"Layer '{self.name}' (Concatenate) should be called on a list of "
                             "at least 2 inputs.")
        ranks = {len(s) for s in shape}
        if 0 in ranks:
            raise ValueError(f"Layer '{self.name}' (Concatenate) cannot join scalars; received "
                             f"input shapes {shape}.")
        if len(ranks) != 1:
            raise ValueError(f"Layer '{self.name}' (Concatenate) received inputs of different "
                             f"ranks: {shape}.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"Layer '{self.name}' (Concatenate) has axis={self.axis}, outside "
                             f"the inputs' {rank} dimensions.")
        axis = self.axis % rank
        for dim in range(rank):
            sizes = {s[dim] for s in shape if s[dim] is not None}
            if dim != axis and len(sizes) > 1:
                raise ValueError(
                    f"Layer '{self.name}' (Concatenate) requires inputs with matching shapes "
                    f"except for the concatenation axis {self.axis}. Received: input_shape="
                    f"{shape}")

    def call(self, inputs: list[np.ndarray], training: bool = False, mask: Any = None
             ) -> np.ndarray:
        self.check_input_shape([tuple(x.shape) for x in inputs])
        return np.concatenate(inputs, axis=self.axis)

    def forward(self, inputs: list[np.ndarray], training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, list[int]]:
        return self.call(inputs), [x.shape[self.axis] for x in inputs]

    def backward(self, cache: list[int], d_out: np.ndarray) -> tuple[list, dict, list]:
        cuts = np.cumsum(cache)[:-1]
        return np.split(d_out, cuts, axis=self.axis), {}, []

    def compute_output_shape(self, input_shape: list, **kwargs: Any) -> tuple:
        out = list(input_shape[0])
        axis = self.axis % len(out)
        sizes = [s[axis] for s in input_shape]
        out[axis] = None if None in sizes else int(sum(sizes))
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """Keras: the output step is kept where any input's step is kept."""
        if mask is None or all(m is None for m in mask):
            return None
        ref = next(m for m in mask if m is not None)
        masks = [np.ones_like(ref, bool) if m is None else np.asarray(m, bool) for m in mask]
        if self.axis % len(inputs[0].shape) != len(inputs[0].shape) - 1:
            return np.concatenate(masks, axis=self.axis)
        return np.logical_or.reduce(masks)


__all__ = ["Concatenate"]
