"""Core layers, as Keras 3 defines them: Dense, Embedding, Masking, InputLayer, Identity,
Lambda; ``EinsumDense`` and ``ReversibleEmbedding`` are in their own modules.

Shape legend: B batch, T time steps, F features, u units, V vocabulary, D vector size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers import _lambda_code as LC
from rnnlens.layers.base import to_float_array
from rnnlens.weights import RowGradient


class Dense(Layer):
    """``activation(x @ kernel + bias)`` on the last axis of any input.

    Weights: kernel (F, units), bias (units,) if use_bias.

    Args:
        units: output size.
        activation: name, callable or None (linear).
        use_bias: add ``bias``.
        kernel_initializer, bias_initializer: as in Keras (glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer: penalties added to the training loss.
        kernel_constraint, bias_constraint: applied after every optimizer update.
    """

    units = P.Int(min=1, cap="max_units")
    activation = P.Activation(None)
    use_bias = P.Bool(True)
    kernel_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    kernel_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    quantization_config = P.Const(None, why="quantized models cannot be loaded")

    supports_masking = True

    def __post_init__(self) -> None:
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
        self.kernel = self.add_weight(shape=(self.input_dim, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
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


class InputLayer(Layer):
    """The node that an ``Input`` tensor comes from (no weights)."""

    registered = False                      # the file reader builds Inputs itself

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

    mask_value = P.Float(0.0)

    supports_masking = True

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) < 2:
            raise ValueError(f"Layer '{self.name}' (Masking) expects (batch, timesteps, ...), "
                             f"received shape {shape}.")

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, np.ndarray]:
        keep = np.any(inputs != self.mask_value, axis=-1, keepdims=True).astype(inputs.dtype)
        return inputs * keep, keep                               # (B, T, F), (B, T, 1)

    def backward(self, cache: np.ndarray, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return d_out * cache, {}, []

    def compute_mask(self, inputs: Any, mask: Any) -> np.ndarray:
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return tuple(input_shape)


class Embedding(Layer):
    """Maps integer ids (B, T) to vectors (B, T, output_dim).

    Weights: embeddings (input_dim, output_dim), Keras's "uniform" initializer
    (U(-0.05, 0.05)) by default.

    Args:
        input_dim: vocabulary size V; ids must lie in ``[0, V)``.
        output_dim: size D of each vector.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: as Keras.
        mask_zero: treat id 0 as padding and emit the mask ``ids != 0``.
        weights: an initial ``[table]`` (Keras's ``weights=`` argument, e.g. GloVe).
    """

    input_dim = P.Int(min=1, cap="max_dim")
    output_dim = P.Int(min=1, cap="max_units")
    embeddings_initializer = P.Initializer("uniform")
    embeddings_regularizer = P.Regularizer()
    embeddings_constraint = P.Constraint()
    mask_zero = P.Bool(False)
    quantization_config = P.Const(None, why="quantized models cannot be loaded")
    activity_regularizer = P.Regularizer()

    def __post_init__(self) -> None:
        self.supports_masking = self.mask_zero

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
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint,
            name="embeddings")
        self.built = True

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
        return self.embeddings[ids]                               # (B, T, D)

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


__all__ = ["Dense", "InputLayer", "Masking", "Embedding"]


# -- Identity and Lambda ----------------------------------------------------------------


def _convert_structure(layer: Layer, inputs: Any) -> Any:
    """An array, or a list / tuple of arrays (layers that take any structure)."""
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(_convert_structure(layer, x) for x in inputs)
    return to_float_array(inputs, f"input to layer '{layer.name}'")


def _structure_shape(inputs: Any) -> Any:
    if isinstance(inputs, (list, tuple)):
        return [_structure_shape(x) for x in inputs]
    return tuple(inputs.shape)


class Identity(Layer):
    """Returns its input unchanged (a placeholder): ``y = x``, ``dL/dx = dL/dy``.

    Takes one tensor or a list of them; masks pass through.
    """

    supports_masking = True

    def convert_inputs(self, inputs: Any) -> Any:
        return _convert_structure(self, inputs)

    def eager_call(self, inputs: Any, **kwargs: Any) -> Any:
        inputs = self.convert_inputs(inputs)
        self.maybe_build(_structure_shape(inputs))
        return self.call(inputs, **kwargs)

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        return inputs

    def backward(self, cache: Any, d_out: Any) -> tuple[Any, dict, list]:
        return d_out, {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


class Lambda(Layer):
    """Wraps a Python function of arrays as a layer: ``y = function(x, **arguments)``.

    The function receives NumPy arrays (a list of them for a list of inputs), plus
    ``mask=`` and ``training=`` if its signature names them. A Lambda runs and is
    summarized like any layer, but it holds code, so:

    * it is never read from a model file (a file naming ``Lambda`` is refused with
      ``UnsafeModelError``), and ``model.save`` refuses a model that contains one;
    * it has no backward pass: training is refused (a ValueError naming the layer) as
      soon as a layer before it needs a gradient through it. A Lambda applied to the
      model's inputs only (preprocessing) does not stop training.

    Args:
        function: the callable, with the input as first argument.
        output_shape: the output shape without the batch axis (the batch is the
            input's), a list of such shapes, or a function ``f(input_shape)`` giving the
            full shape. Default: run ``function`` on zeros (unknown sizes filled with 83,
            then 89; output sizes that change are None), as Keras's NumPy backend infers it.
        mask: None (the output has no mask), a function ``f(inputs, mask)``, or a fixed
            boolean mask.
        arguments: keyword arguments passed to ``function``.
    """

    function = LC.CodeParam(check_fn=LC.check_callable)
    output_shape = LC.CodeParam(None, check_fn=LC.check_output_shape)
    mask = LC.CodeParam(None, check_fn=LC.check_mask)
    arguments = LC.CodeParam(None, check_fn=LC.check_arguments)

    registered = False                  # code: never built from a file (not in REGISTRY)
    #: Why a model file cannot hold it (for the writer's error message).
    save_refusal = ("a Lambda layer holds Python code, which rnnlens never writes to a model "
                    "file. Replace it with built-in layers (or a Layer subclass), or save "
                    "only the weights with save_weights().")

    def __post_init__(self) -> None:
        self.arguments = dict(self.arguments or {})
        self._fn_expects_mask = LC.expects(self.function, "mask")
        self._fn_expects_training = LC.expects(self.function, "training")
        # Keras passes the incoming mask to call() whenever the function takes `mask`.
        self.supports_masking = self.mask is not None or self._fn_expects_mask

    def convert_inputs(self, inputs: Any) -> Any:
        return _convert_structure(self, inputs)

    def eager_call(self, inputs: Any, **kwargs: Any) -> Any:
        inputs = self.convert_inputs(inputs)
        self.maybe_build(_structure_shape(inputs))
        return self.call(inputs, **kwargs)

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask:
            kwargs["mask"] = mask
        if self._fn_expects_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def forward(self, inputs: Any, training: bool = False, mask: Any = None
                ) -> tuple[Any, Any]:
        return self.call(inputs, training=training, mask=mask), inputs

    def backward(self, cache: Any, d_out: Any) -> tuple[Any, dict, list]:
        """No derivative of Python code: a value that raises when a layer before uses it."""
        return LC.no_gradient_for(self.name, cache), {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        spec = self.output_shape
        if spec is None:
            return LC.infer_output_shape(self, input_shape)
        if callable(spec):
            return spec(input_shape)
        batch = _first_dim(input_shape)
        return LC.add_batch(spec, batch)

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self) -> dict:
        """Keras's config, with the function's bytecode (a lambda) or name (a function)."""
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": super().get_config()["dtype"],
                  "function": LC.serialize_function(self.function)}
        if self.output_shape is not None:
            config["output_shape"] = LC.serialize_value(self.output_shape)
        if self.mask is not None:
            config["mask"] = LC.serialize_value(self.mask)
        config["arguments"] = LC.serialize_value(self.arguments)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Lambda":
        """Only a config whose ``function`` is still a callable (rnnlens never turns code
        from a config back into a function)."""
        if not callable(config.get("function")):
            raise ValueError("rnnlens does not rebuild a Lambda from a serialized config: it "
                             "would execute code from the config. Create the Lambda in code.")
        return super().from_config(config)


def _first_dim(shape: Any) -> Any:
    while isinstance(shape, list) or (isinstance(shape, tuple) and shape
                                      and isinstance(shape[0], (tuple, list))):
        shape = shape[0]
    return shape[0] if shape else None


__all__ += ["Identity", "Lambda"]


# -- the core layers in their own modules (Keras's keras/src/layers/core/*.py) ----------

from rnnlens.layers.core.einsum_dense import EinsumDense  # noqa: E402
from rnnlens.layers.core.reversible_embedding import ReversibleEmbedding  # noqa: E402

__all__ += ["EinsumDense", "ReversibleEmbedding"]
