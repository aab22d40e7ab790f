"""Dense, RepeatVector and Concatenate, as Keras 3 defines them."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens import activations, initializers
from rnnlens.cells.base import FLOATX, check_units
from rnnlens.layers.base import Layer, to_float_array
from rnnlens.weights import checked


class Dense(Layer):
    """``activation(x @ kernel + bias)`` on the last axis of any input.

    Weights: kernel (F, units), bias (units,) if use_bias.

    Args:
        units: output size.
        activation: name, callable or None (linear).
        use_bias: add ``bias``.
        kernel_initializer, bias_initializer: as in Keras (glorot_uniform, zeros).
    """

    supports_masking = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any):
        for key, value in dict(kernel_regularizer=kernel_regularizer,
                               bias_regularizer=bias_regularizer,
                               activity_regularizer=activity_regularizer,
                               kernel_constraint=kernel_constraint,
                               bias_constraint=bias_constraint).items():
            if value is not None:
                raise ValueError(f"Received {key}={value!r} for Dense, which rnnlens does "
                                 "not support yet; leave it as None.")
        super().__init__(**kwargs)
        self.units = check_units(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_dim: int | None = None

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) < 2:
            raise ValueError(
                f"Layer '{self.name}' (Dense) expects an input with at least 2 dimensions "
                f"(batch, ..., features), received shape {shape}."
            )
        if self.input_dim is not None and shape[-1] != self.input_dim:
            raise ValueError(
                f"Layer '{self.name}' was built for {self.input_dim} input features (the last "
                f"axis), received an input of shape {shape} with {shape[-1]}."
            )

    def build(self, input_shape: tuple) -> None:
        if input_shape[-1] is None:
            raise ValueError(f"Layer '{self.name}' needs a known last dimension, "
                             f"received shape {input_shape}.")
        self.input_dim = int(input_shape[-1])
        self.kernel = self.kernel_initializer((self.input_dim, self.units), FLOATX)
        if self.use_bias:
            self.bias = self.bias_initializer((self.units,), FLOATX)
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        y = inputs @ self.kernel                                   # (..., units)
        if self.use_bias:
            y += self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return (*input_shape[:-1], self.units)

    @property
    def weights(self) -> list[np.ndarray]:
        if not self.built:
            return []
        return [self.kernel, self.bias] if self.use_bias else [self.kernel]

    def weight_shapes(self) -> list[tuple[int, ...]]:
        if not self.built:
            return []
        shapes = [(self.input_dim, self.units)]
        return shapes + [(self.units,)] if self.use_bias else shapes

    def set_weights(self, weights: Sequence[Any]) -> None:
        self.require_built("set_weights")
        names = ["kernel", "bias"][: 2 if self.use_bias else 1]
        arrays = checked(weights, names, self.weight_shapes(), self.name)
        self.kernel = arrays[0]
        if self.use_bias:
            self.bias = arrays[1]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"units": self.units, "activation": activations.serialize(self.activation),
                       "use_bias": self.use_bias})
        return config


class RepeatVector(Layer):
    """Repeats a (B, F) input ``n`` times: (B, n, F). Used to feed a decoder."""

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"Received n={n!r} for RepeatVector, expected a positive integer.")
        self.n = int(n)

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) != 2:
            raise ValueError(f"Layer '{self.name}' (RepeatVector) expects a 2-D input "
                             f"(batch, features), received shape {shape}.")

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return np.repeat(inputs[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class Concatenate(Layer):
    """Joins a list of inputs along ``axis``; all other dimensions must agree."""

    supports_masking = True

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = int(axis)

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

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class InputLayer(Layer):
    """The node that an ``Input`` tensor comes from (no weights)."""

    def __init__(self, shape: tuple, batch_size: int | None = None, name: str | None = None):
        super().__init__(name=name)
        self.batch_shape = (batch_size, *shape)
        self.built = True

    def call(self, inputs: Any, **kwargs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return self.batch_shape
