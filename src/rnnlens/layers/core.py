"""Dense, RepeatVector and Concatenate, as Keras 3 defines them."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens import activations, initializers
from rnnlens.cells.base import FLOATX, check_units
from rnnlens.layers.base import Layer, to_float_array
from rnnlens.weights import RowGradient, checked


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
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        a = inputs @ self.kernel                                   # (..., units)
        if self.use_bias:
            a += self.bias
        y = self.activation(a)
        return y, (inputs, a, y)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        x, a, y = cache
        da = activations.backward(self.activation, a, y, d_out)   # (..., units)
        x2, da2 = x.reshape(-1, x.shape[-1]), da.reshape(-1, da.shape[-1])
        grads = [x2.T @ da2] + ([da2.sum(axis=0)] if self.use_bias else [])
        return da @ self.kernel.T, {}, grads

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

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return d_out.sum(axis=1), {}, []

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


class Masking(Layer):
    """Marks time steps whose features all equal ``mask_value`` as padding.

    The output is the input with masked steps zeroed; the mask
    ``any(x != mask_value, axis=-1)`` (B, T) flows to the layers downstream
    (recurrent layers skip those steps).

    Args:
        mask_value: the padding value (default 0.0).
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) < 2:
            raise ValueError(f"Layer '{self.name}' (Masking) expects (batch, timesteps, ...), "
                             f"received shape {shape}.")

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, np.ndarray]:
        keep = np.any(inputs != self.mask_value, axis=-1, keepdims=True).astype(inputs.dtype)
        return inputs * keep, keep

    def backward(self, cache: np.ndarray, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return d_out * cache, {}, []

    def compute_mask(self, inputs: Any, mask: Any) -> np.ndarray:
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}


class Embedding(Layer):
    """Maps integer ids (B, T) to vectors (B, T, output_dim).

    Weights: embeddings (input_dim, output_dim), Keras's "uniform" initializer
    (U(-0.05, 0.05)) by default.

    Args:
        input_dim: vocabulary size; ids must lie in ``[0, input_dim)``.
        output_dim: size of each vector.
        embeddings_initializer: initializer of the table.
        mask_zero: treat id 0 as padding and emit the mask ``ids != 0``.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None,
                 mask_zero: bool = False, weights: Any = None, **kwargs: Any):
        for key, value in (("embeddings_regularizer", embeddings_regularizer),
                           ("embeddings_constraint", embeddings_constraint)):
            if value is not None:
                raise ValueError(f"Received {key}={value!r} for Embedding, which rnnlens does "
                                 "not support yet; leave it as None.")
        super().__init__(**kwargs)
        self.input_dim = check_units(input_dim, "input_dim")
        self.output_dim = check_units(output_dim, "output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self._initial_weights = weights

    def convert_inputs(self, inputs: Any) -> np.ndarray:
        return self._ids(inputs)

    def _ids(self, inputs: Any) -> np.ndarray:
        arr = np.asarray(inputs)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"Layer '{self.name}' (Embedding) expects integer token ids, "
                            f"received dtype {arr.dtype}.")
        if not np.issubdtype(arr.dtype, np.integer):
            arr = arr.astype(np.int32)                     # as Keras: cast to int32
        return arr

    def build(self, input_shape: Any) -> None:
        self.embeddings = self.embeddings_initializer((self.input_dim, self.output_dim), FLOATX)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        ids = self._ids(inputs)
        bad = (ids < 0) | (ids >= self.input_dim)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"Layer '{self.name}' (Embedding) received token id {int(ids[where])} at "
                f"position {where}, outside [0, input_dim={self.input_dim}). Every id must be "
                f"below input_dim; {int(bad.sum())} id(s) are out of range. Raise input_dim "
                "or map unknown tokens to a reserved id.")
        return self.embeddings[ids]

    def forward(self, inputs: Any, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, np.ndarray]:
        return self.call(inputs), self._ids(inputs)

    def backward(self, cache: np.ndarray, d_out: np.ndarray) -> tuple[None, dict, list]:
        rows = cache.reshape(-1)
        values = np.asarray(d_out).reshape(-1, self.output_dim)
        d_table = RowGradient.from_rows(self.embeddings.shape, rows, values)  # as IndexedSlices
        return None, {}, [d_table]                         # ids have no gradient

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        return np.asarray(inputs) != 0 if self.mask_zero else None

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return (*input_shape, self.output_dim)

    @property
    def weights(self) -> list[np.ndarray]:
        return [self.embeddings] if self.built else []

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [(self.input_dim, self.output_dim)] if self.built else []

    def set_weights(self, weights: Sequence[Any]) -> None:
        self.require_built("set_weights")
        (self.embeddings,) = checked(weights, ["embeddings"], self.weight_shapes(), self.name)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim, "mask_zero": self.mask_zero,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer)}
