"""Keras ops recorded as graph nodes (the mask computations Keras saves in graphs).

Keras 3 records a call of ``keras.ops.*`` on a symbolic tensor as a node of the
graph; a saved functional model lists it among its layers with
``module: keras.src.ops...``. These are not in ``model.layers`` (as in Keras).
Each declares its Keras arguments like a layer; the file reader builds them
from :data:`OP_REGISTRY`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer

#: Keras op class name -> node class (kept apart from the layers: ``Concatenate``
#: is both a layer and an op).
OP_REGISTRY: dict[str, type] = {}


class OpNode(Layer):
    """A Keras op as a graph node; ``call`` is the op on arrays."""

    is_op = True
    registered = False
    keras_module = "keras.src.ops.numpy"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            OP_REGISTRY[cls.keras_name] = cls

    def __post_init__(self) -> None:
        self.built = True

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        pass

    def convert_inputs(self, inputs: Any) -> Any:
        return np.asarray(inputs)

    def get_config(self) -> dict:
        config = {"name": self.name}
        for key, param in type(self)._params.items():
            config[key] = param.dump(getattr(self, key))
        return config


class NotEqual(OpNode):
    """``x != y``."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.not_equal(x, y)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return tuple(input_shape)


class Equal(NotEqual):
    """``x == y``."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.equal(x, y)


class AnyOp(OpNode):
    """``any(x, axis, keepdims)``."""

    keras_name = "Any"
    axis = P.Axis(None, none=True)
    keepdims = P.Bool(False)

    def call(self, x: Any, training: bool = False) -> np.ndarray:
        return np.any(x, axis=self.axis, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = list(input_shape)
        if self.axis is None:
            return tuple([1] * len(shape)) if self.keepdims else ()
        axis = self.axis % len(shape)
        if self.keepdims:
            shape[axis] = 1
        else:
            shape.pop(axis)
        return tuple(shape)


class ExpandDims(OpNode):
    """``expand_dims(x, axis)``."""

    axis = P.Axis()

    def call(self, x: Any, training: bool = False) -> np.ndarray:
        return np.expand_dims(x, self.axis)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = list(input_shape)
        axis = self.axis % (len(shape) + 1)
        return tuple(shape[:axis] + [1] + shape[axis:])


class _FilledLike(OpNode):
    """``zeros_like`` / ``ones_like`` with a dtype (Keras's mask merges use bool)."""

    dtype = P.Choice(None, ("bool", "float32", "int32", None))
    fill = 0

    def call(self, x: Any, training: bool = False) -> np.ndarray:
        return np.full(np.shape(x), self.fill, dtype=self.dtype or "float32")

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return tuple(input_shape)


class ZerosLike(_FilledLike):
    """``zeros_like(x, dtype)``."""


class OnesLike(_FilledLike):
    """``ones_like(x, dtype)``."""

    fill = 1


class LogicalOr(OpNode):
    """``x | y`` (broadcast)."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.logical_or(x, y)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return (*tuple(input_shape)[:-1], None)


class LogicalAnd(LogicalOr):
    """``x & y`` (broadcast)."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> np.ndarray:
        return np.logical_and(x, y)


class ConcatenateOp(OpNode):
    """``ops.concatenate(xs, axis)`` (not the layer)."""

    keras_name = "Concatenate"
    axis = P.Axis(0)

    def convert_inputs(self, inputs: Any) -> Any:
        return [np.asarray(x) for x in inputs]

    def call(self, xs: Any, training: bool = False) -> np.ndarray:
        return np.concatenate(list(xs), axis=self.axis)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = list(input_shape[0])
        shape[self.axis % len(shape)] = None
        return tuple(shape)


AnyOp.__name__ = AnyOp.__qualname__ = "Any"             # Keras's op name in summaries
ConcatenateOp.__name__ = ConcatenateOp.__qualname__ = "Concatenate"

__all__ = ["OP_REGISTRY", "OpNode", "NotEqual", "Equal", "AnyOp", "ExpandDims", "ZerosLike",
           "OnesLike", "LogicalOr", "LogicalAnd", "ConcatenateOp"]
