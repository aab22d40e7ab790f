"""``Pipeline``: a plain layer that applies a list of layers in turn (Keras 3.15.1).

    y = layers[n-1]( ... layers[1](layers[0](x)) ... )

Unlike a ``Sequential`` model it is a layer: its weights are its layers' (in files under
``layers/<name>``), its config is Keras's ``{"layers": [...], "name": ...}`` (no
``trainable`` / ``dtype``), and called on its own it runs in training mode
(``training=True`` is Keras's default for ``Pipeline.call``; inside a model, the model's
mode applies). Each layer gets the mask the previous one produced (Keras reads it off
the tensors) and the pipeline's output carries the last one's. Backward: the layers'
backward passes in reverse order.
"""

from __future__ import annotations

from typing import Any

from rnnlens import params as P
from rnnlens.layers.base import Layer


def _check_layers(value: Any) -> list:
    if not isinstance(value, (list, tuple)) or not value or \
            not all(isinstance(v, Layer) for v in value):
        raise ValueError(f"`Pipeline` needs a non-empty list of layers, received "
                         f"{str(value)[:80]}.")
    return list(value)


def _accepts(layer: Layer, name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Pipeline(Layer):
    """Applies ``layers`` one after the other (see the module docstring).

    Args:
        layers: the list of layers.
        name: the layer's name.
    """

    layers = P.Nested(accept=_check_layers, many=True)

    def get_config(self) -> dict:
        return {"layers": type(self)._params["layers"].dump(self.layers), "name": self.name}

    def convert_inputs(self, inputs: Any) -> Any:
        return self.layers[0].convert_inputs(inputs)       # what the first layer takes

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        self.layers[0].check_input_shape(shape, source)

    def build(self, input_shape: Any) -> None:
        shape = input_shape
        for layer in self.layers:
            layer.maybe_build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def _kwargs(self, layer: Layer, training: Any, mask: Any) -> dict:
        kwargs = {}
        if mask is not None and _accepts(layer, "mask"):
            kwargs["mask"] = mask
        if training is not None and _accepts(layer, "training"):
            kwargs["training"] = training
        return kwargs

    def call(self, inputs: Any, training: Any = True, mask: Any = None) -> Any:
        for layer in self.layers:
            out = layer.call(layer.convert_inputs(inputs), **self._kwargs(layer, training, mask))
            mask = layer.compute_mask(inputs, mask)
            inputs = out
        self._out_mask = mask
        return inputs

    def forward(self, inputs: Any, training: Any = True, mask: Any = None
                ) -> tuple[Any, list]:
        caches = []
        for layer in self.layers:
            out, cache = layer.forward(layer.convert_inputs(inputs),
                                       **self._kwargs(layer, training, mask))
            caches.append(cache)
            mask = layer.compute_mask(inputs, mask)
            inputs = out
        self._out_mask = mask
        return inputs, caches

    def backward(self, cache: list, d_out: Any) -> tuple[Any, dict, list]:
        grads: list = []
        for layer, c in zip(reversed(self.layers), reversed(cache)):
            d_out, _, g = layer.backward(c, d_out)
            grads = list(g) + grads
        return d_out, {}, grads

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        return self.__dict__.get("_out_mask")

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        shape = input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape


__all__ = ["Pipeline"]
