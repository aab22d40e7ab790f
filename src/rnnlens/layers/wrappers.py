"""Wrappers: ``TimeDistributed`` applies a layer to every time step."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens.layers.base import Layer


class TimeDistributed(Layer):
    """Applies ``layer`` to each time step of a (B, T, ...) input, same weights.

    ``y[:, t] = layer(x[:, t])`` for every t. The steps are folded into the
    batch (one call on (B*T, ...)), which gives Keras's per-step loop's numbers.
    The mask passes through unchanged.

    Args:
        layer: the layer to apply, e.g. ``Dense(1)``.
    """

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs: Any):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a layer instance. "
                             f"Received: {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple) or len(shape) < 3:
            raise ValueError(
                f"`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                f"dimensions, received: {shape}. Layer '{self.name}' needs (batch, timesteps, "
                "...); if its input comes from a recurrent layer, set return_sequences=True "
                "on that layer."
            )
        self.layer.check_input_shape((shape[0], *shape[2:]))

    def build(self, input_shape: tuple) -> None:
        if not self.layer.built:
            self.layer.build((input_shape[0], *input_shape[2:]))
        self.built = True

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        batch, steps = inputs.shape[:2]
        folded = inputs.reshape(batch * steps, *inputs.shape[2:])
        y = self.layer.call(folded, training=training)
        return y.reshape(batch, steps, *y.shape[1:])

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        inner = self.layer.compute_output_shape((input_shape[0], *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])

    @property
    def weights(self) -> list[np.ndarray]:
        return self.layer.weights

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return self.layer.weight_shapes()

    def set_weights(self, weights: Sequence[Any]) -> None:
        self.layer.set_weights(weights)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": {"class_name": type(self.layer).__name__,
                                                  "config": self.layer.get_config()}}
