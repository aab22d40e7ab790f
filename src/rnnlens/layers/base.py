"""The ``Layer`` base class: names, weights, and the eager / symbolic split.

Calling a layer on NumPy data runs it at once and returns NumPy arrays, as a
Keras layer does in eager mode. Calling it on a symbolic tensor (from
``Input``) records a node in the graph instead (``rnnlens.functional``).
A subclass implements ``build(input_shape)``, ``call(...)`` on arrays and
``compute_output_shape(...)``; the graph never needs anything else.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from rnnlens import naming
from rnnlens.cells.base import FLOATX
from rnnlens.weights import as_list


def snake_case(name: str) -> str:
    """``TimeDistributed`` -> ``time_distributed`` (Keras's default layer names)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def format_shape(shape: Any) -> str:
    """``(None, 3, 1)`` as Keras prints it; a list of shapes as ``[(..), (..)]``."""
    if isinstance(shape, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                        for d in shape):
        dims = ", ".join("None" if d is None else str(int(d)) for d in shape)
        return f"({dims},)" if len(shape) == 1 else f"({dims})"
    return "[" + ", ".join(format_shape(s) for s in shape) + "]"


def flatten(structure: Any) -> list:
    """Leaves of nested lists / tuples / dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def to_float_array(value: Any, what: str) -> np.ndarray:
    """Converts user data to float32, with a clear error for non-numeric data."""
    if isinstance(value, np.ndarray) and value.dtype == FLOATX:
        return value
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise TypeError(f"Received {what} that is not a numeric array ({err}).") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise TypeError(
            f"Received {what} of dtype {arr.dtype}, expected numbers (float32). "
            "Convert the data to a numeric NumPy array first."
        )
    return arr.astype(FLOATX, copy=False)


class ArrayWithMask(np.ndarray):
    """A NumPy array carrying a Keras mask as ``_keras_mask`` ((B, T) bool).

    Returned by eager calls whose output has a mask, so that the next eager
    layer call sees it, as in Keras. Arrays computed from it carry no mask.
    """

    _keras_mask: np.ndarray | None = None


def carried_mask(value: Any) -> Any:
    """The ``_keras_mask`` of an array (a list for a list of arrays), or None."""
    if isinstance(value, (list, tuple)):
        masks = [getattr(v, "_keras_mask", None) for v in value]
        return None if all(m is None for m in masks) else masks
    return getattr(value, "_keras_mask", None)


def strip_mask(value: Any) -> Any:
    """Plain ndarrays (views) instead of ``ArrayWithMask``."""
    if isinstance(value, ArrayWithMask):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(strip_mask(v) for v in value)
    return value


def attach_mask(out: Any, mask: Any) -> Any:
    """``out`` with ``mask`` attached (per element for tuple / list outputs)."""
    if mask is None:
        return out
    if isinstance(out, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] + [None] * (len(out) - 1)
        return type(out)(attach_mask(o, m) for o, m in zip(out, masks))
    if not isinstance(out, np.ndarray) or mask is None:
        return out
    view = out.view(ArrayWithMask)
    view._keras_mask = np.asarray(mask, dtype=bool)
    return view


class Layer:
    """Base class of every layer.

    Args:
        name: unique name; Keras's default is the snake_case class name with a
            counter (``lstm``, ``lstm_1``, ...).
        dtype: only ``"float32"`` (or None) is supported.
        trainable: recorded for summaries and training.
        input_shape: optional (T, F, ...) without the batch, as Keras accepts on
            the first layer of a ``Sequential``.
    """

    supports_masking = False

    def __init__(self, name: str | None = None, dtype: Any = None, trainable: bool = True,
                 input_shape: Sequence[int | None] | None = None, **kwargs: Any):
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"Received dtype={dtype!r}, expected 'float32' (or None).")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Received name={name!r}, expected a string.")
        self.name = name or naming.unique(snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.built = False
        self.input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._inbound_nodes: list = []

    # -- calling -------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and len(args) == 1 and type(args[0]) is np.ndarray:
            return self._eager_with_masks(args[0], (), {})     # the common eager case
        from rnnlens import functional

        if any(isinstance(v, functional.SymbolicTensor) for v in flatten([args, kwargs])):
            return functional.symbolic_call(self, args, kwargs)
        if not args:
            raise TypeError(f"Layer '{self.name}' was called without an input.")
        return self._eager_with_masks(args[0], args[1:], kwargs)

    def _eager_with_masks(self, inputs: Any, rest: tuple, kwargs: dict) -> Any:
        """Eager call that passes Keras masks along, as ``x._keras_mask`` does in Keras.

        A mask carried by the input (from ``Masking``, ``Embedding(mask_zero=True)``
        or an upstream ``return_sequences`` layer) is used when ``mask`` is not
        given, and the output carries this layer's output mask.
        """
        carried = carried_mask(inputs)
        plain = strip_mask(inputs)
        if carried is not None and self.supports_masking and kwargs.get("mask") is None:
            kwargs = {**kwargs, "mask": carried}
        out = self.eager_call(plain, *rest, **kwargs)
        return attach_mask(out, self.compute_mask(plain, kwargs.get("mask")))

    def eager_call(self, inputs: Any, **kwargs: Any) -> Any:
        """Runs the layer on arrays: convert, build on first use, call."""
        inputs = self.convert_inputs(inputs)
        shape = ([tuple(x.shape) for x in inputs] if isinstance(inputs, list)
                 else tuple(inputs.shape))
        self.check_input_shape(shape)
        if not self.built:
            self.build(shape)
        return self.call(inputs, **kwargs)

    def convert_inputs(self, inputs: Any) -> Any:
        return to_float_array(inputs, f"input to layer '{self.name}'")

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        """Raises a clear ValueError for an input this layer cannot take."""

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def forward(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``call`` plus the cache that ``backward`` needs (training)."""
        return self.call(*args, **kwargs), None

    def backward(self, cache: Any, d_out: Any) -> tuple[Any, dict, list[np.ndarray]]:
        """``(dL/d input, dL/d other tensor arguments, weight gradients)``."""
        raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) has no backward pass, "
                         "so a model containing it cannot be trained by rnnlens.")

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """The mask of the output, given the input's (None: no mask)."""
        return mask if self.supports_masking else None

    # -- weights -------------------------------------------------------------

    @property
    def weights(self) -> list[np.ndarray]:
        return []

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return self.weights if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [] if self.trainable else self.weights

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [w.shape for w in self.weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras's order."""
        return [np.array(w, copy=True) for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replaces the weights; count and shapes must match ``get_weights()``."""
        self.require_built("set_weights")
        weights = as_list(weights, self.name)
        if weights:
            raise ValueError(
                f"Layer '{self.name}' has no weights, but set_weights received "
                f"{len(weights)} arrays."
            )

    def weights_changed(self) -> None:
        """Call after changing weight arrays in place (optimizers do): drops caches."""

    def count_params(self) -> int:
        return int(sum(int(np.prod(s)) for s in self.weight_shapes())) if self.built else 0

    def require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' has no weights yet, so {what}() cannot be used. "
                "Build it first: call it on data or on an Input, or call "
                "layer.build(input_shape)."
            )

    # -- config --------------------------------------------------------------

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, "dtype": "float32"}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
