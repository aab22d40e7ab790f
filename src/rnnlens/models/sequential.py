"""``Sequential``: a linear stack of layers, as ``keras.Sequential``."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens.functional import Input, SymbolicTensor
from rnnlens.layers.base import Layer
from rnnlens.layers.core import InputLayer
from rnnlens.models.model import Model


class Sequential(Model):
    """A linear stack of layers, as ``keras.Sequential``.

    The input shape comes from an ``Input`` given first, from ``input_shape=``
    on the first layer, or from the first data it sees.

    Args:
        layers: the layers, first to last.
        name: the model's name (default ``sequential``, ...).
    """

    _keras_kind = "Sequential"

    def __init__(self, layers: Sequence[Any] | None = None, name: str | None = None,
                 **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self._stack: list[Layer] = []
        self._input: SymbolicTensor | None = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Any) -> None:
        """Appends a layer (or sets the input with an ``Input`` tensor)."""
        if isinstance(layer, SymbolicTensor):
            if not isinstance(layer.layer, InputLayer) or self._stack:
                raise ValueError("Sequential only takes an Input(...) tensor as its first item.")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a layer, received {layer!r}.")
        if any(layer is existing for existing in self._stack):
            raise ValueError(f"Layer '{layer.name}' is already in this Sequential model.")
        if not self._stack and self._input is None and layer.input_shape_arg is not None:
            self._input = Input(shape=layer.input_shape_arg)
        self._stack.append(layer)
        if self._input is not None:
            last = self.outputs[0] if self.built and len(self._stack) > 1 else None
            self._connect() if last is None else self._set_graph(self._input, layer(last))

    def pop(self) -> Layer:
        """Removes and returns the last layer."""
        if not self._stack:
            raise ValueError("There are no layers in the model to pop.")
        layer = self._stack.pop()
        if self._input is not None and self._stack:
            self._connect()
        return layer

    def build(self, input_shape: Any = None) -> None:
        """Builds every layer for inputs of ``(batch, *shape)``."""
        if input_shape is not None and self._input is None:
            self._input = Input(batch_shape=tuple(input_shape))
        if self._input is None:
            raise ValueError("Sequential.build needs an input_shape, e.g. (None, 3, 1).")
        self._connect()

    def _connect(self) -> None:
        x = self._input
        for layer in self._stack:
            x = layer(x)
        self._set_graph(self._input, x)

    def _ensure_graph(self, data: Any) -> None:
        if self._input is None and data is not None and self._stack:
            arr = np.asarray(data[0] if isinstance(data, (list, tuple)) and data
                             and isinstance(data[0], np.ndarray) else data)
            self._input = Input(shape=arr.shape[1:])
            self._connect()
        if not self.built or not self._stack:
            raise ValueError(f"Sequential model '{self.name}' has no layers or no input shape "
                             "yet; add layers and call it on data, or pass an Input first.")

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)


__all__ = ["Sequential"]
