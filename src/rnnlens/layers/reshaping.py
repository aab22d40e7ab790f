"""Reshaping layers, as Keras 3 defines them: RepeatVector, Flatten, Reshape, Permute, and
the 1-D ones around convolutions: ZeroPadding1D, Cropping1D, UpSampling1D (the 2-D / 3-D
ones, in ``spatial_reshaping``, are re-exported here).

All keep the batch axis and move values without changing them, so each backward
pass is the inverse rearrangement of the gradient (RepeatVector sums the copies).
As in Keras, Flatten, Reshape and Permute do not support masking: a mask on their
input stops there (Keras warns; the layers after them see no mask).

Shape legend: B batch, T time steps, F features.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers._spatial import PadPair, SpatialLayer, data_format_param, resolve_data_format
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


def _single(layer: Layer, shape: Any, min_rank: int = 1) -> None:
    """Refuses a list of inputs or one without a batch axis."""
    kind = f"Layer '{layer.name}' ({type(layer).__name__})"
    if not isinstance(shape, tuple):
        raise ValueError(f"{kind} expects a single input, received shapes {shape}.")
    if len(shape) < min_rank:
        raise ValueError(f"{kind} expects an input with at least {min_rank} dimension(s) "
                         f"(the batch first), received shape {shape}.")


class Flatten(Layer):
    """Flattens each sample: (B, d_1, ..., d_k) -> (B, d_1 * ... * d_k); (B,) -> (B, 1).

    With ``data_format="channels_first"`` the channels axis (axis 1) is moved last
    first, so the values come out in channels-last order.

    Args:
        data_format: ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
    """

    data_format = P.Choice(None, ("channels_last", "channels_first", None), lower=True)

    def __post_init__(self) -> None:
        if self.data_format is None:
            self.data_format = "channels_last"           # Keras's image_data_format()

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        _single(self, shape)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs)[0]

    def _order(self, rank: int) -> tuple[int, ...] | None:
        if self.data_format == "channels_first" and rank > 2:
            return (0, *range(2, rank), 1)
        return None

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        _single(self, tuple(inputs.shape))
        order = self._order(inputs.ndim)
        x = inputs if order is None else np.transpose(inputs, order)
        return x.reshape(x.shape[0], math.prod(x.shape[1:])), (x.shape, order)  # (B, F)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        shape, order = cache
        d = d_out.reshape(shape)
        return (d if order is None else np.transpose(d, np.argsort(order))), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        rest = input_shape[1:]
        size = None if None in rest else math.prod(rest)
        return (input_shape[0], size)


def _reshape_dims(in_dims: tuple, target: tuple) -> tuple:
    """Keras's ``compute_reshape_output_shape``: resolves -1 (None if unknown)."""
    if None in in_dims:
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(in_dims)
    if -1 not in target:
        if size != math.prod(target):
            raise ValueError("The total size of the tensor must be unchanged. Received: "
                             f"input_shape={in_dims}, target_shape={target}")
        return target
    known = math.prod(d for d in target if d != -1)
    if known == 0 or size % known:
        raise ValueError("The total size of the tensor must be unchanged, however, the input "
                         "size cannot by divided by the specified dimensions in target_shape. "
                         f"Received: input_shape={in_dims}, target_shape={target}")
    return tuple(size // known if d == -1 else d for d in target)


class _TargetShape(P.IntTuple):
    """Reshape's ``target_shape``: non-negative ints and at most one -1 (a tuple)."""

    expected = "a tuple of non-negative integers with at most one -1"

    def __init__(self) -> None:
        super().__init__(min=-1)

    def validate(self, value: Any, owner: Any) -> tuple:
        if isinstance(value, (str, bytes)):
            raise self.fail(value, owner, error=TypeError)
        if not isinstance(value, (list, tuple)):
            raise self.fail(value, owner, error=TypeError)
        shape = super().validate(value, owner)
        if shape.count(-1) > 1:
            raise ValueError(f"There must be at most one unknown dimension (-1) in "
                             f"`target_shape`. Received: target_shape={shape}.")
        return shape

    def dump(self, value: Any) -> Any:
        return tuple(value)                                # Keras keeps a tuple


class Reshape(Layer):
    """Reshapes each sample to ``target_shape``: (B, ...) -> (B, *target_shape).

    One entry may be -1: it is inferred from the sample size (None when the input
    has an unknown dimension).

    Args:
        target_shape: the new shape without the batch, e.g. ``(3, -1)``.
    """

    target_shape = _TargetShape()

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        _single(self, shape)
        self._dims(shape)

    def _dims(self, shape: tuple) -> tuple:
        try:
            return _reshape_dims(tuple(shape[1:]), self.target_shape)
        except ValueError as err:
            raise ValueError(f"Layer '{self.name}' (Reshape): {err}") from None

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        _single(self, tuple(inputs.shape))
        dims = self._dims(inputs.shape)
        return inputs.reshape((inputs.shape[0], *dims)), inputs.shape

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return d_out.reshape(cache), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return (input_shape[0], *self._dims(input_shape))


class _Dims(P.IntTuple):
    """Permute's ``dims``: a permutation of 1..n (a tuple)."""

    expected = "a permutation of 1..n, e.g. (2, 1)"

    def __init__(self) -> None:
        super().__init__(min=None)

    def validate(self, value: Any, owner: Any) -> tuple:
        if not isinstance(value, (list, tuple)):
            raise self.fail(value, owner, error=TypeError)
        dims = super().validate(value, owner)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set "
                             "of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        return dims

    def dump(self, value: Any) -> Any:
        return tuple(value)                                # Keras keeps a tuple


class Permute(Layer):
    """Permutes the axes after the batch: ``y = transpose(x, (0, *dims))``.

    Args:
        dims: a permutation of ``1..n`` for an input of rank n + 1 (the batch axis
            is 0 and stays first); e.g. ``(2, 1)`` swaps time and features.
    """

    dims = _Dims()

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        _single(self, shape)
        if len(shape) != len(self.dims) + 1:
            raise ValueError(f"Input 0 of layer '{self.name}' (Permute) is incompatible with "
                             f"the layer: expected ndim={len(self.dims) + 1}, found "
                             f"ndim={len(shape)}. Full shape received: {shape}")

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, None]:
        self.check_input_shape(tuple(inputs.shape))
        return np.transpose(inputs, (0, *self.dims)), None

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return np.transpose(d_out, np.argsort((0, *self.dims))), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return (input_shape[0], *(input_shape[d] for d in self.dims))


__all__ = ["RepeatVector", "Flatten", "Reshape", "Permute"]


# -- 1-D padding, cropping, upsampling (masks: none supported, as in Keras) -------------


class ZeroPadding1D(SpatialLayer):
    """Adds zero steps at both ends of the time axis: (B, T, C) -> (B, a + T + b, C).

    Backward: the gradient of the original steps, ``dy[:, a:a + T]``.

    Args:
        padding: an int (both ends) or ``(a, b)``: steps added before and after.
        data_format: "channels_last" (B, T, C) or "channels_first" (B, C, T).
    """

    padding = PadPair(1)
    data_format = data_format_param()

    def __post_init__(self) -> None:
        self.data_format = resolve_data_format(self.data_format)

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        self.check_rank(shape)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, int]:
        self.check_input_shape(tuple(inputs.shape))
        axis = self.spatial_axes()[0]
        pads = [(0, 0)] * 3
        pads[axis] = self.padding
        return np.pad(inputs, pads), inputs.shape[axis]

    def backward(self, cache: int, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        keep = [slice(None)] * 3
        keep[self.spatial_axes()[0]] = slice(self.padding[0], self.padding[0] + cache)
        return np.ascontiguousarray(d_out[tuple(keep)]), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        out = list(input_shape)
        axis = self.spatial_axes()[0]
        if out[axis] is not None:
            out[axis] += sum(self.padding)
        return tuple(out)


class Cropping1D(SpatialLayer):
    """Removes steps at both ends of the time axis: (B, T, C) -> (B, T - a - b, C).

    Backward: ``dy`` padded back with zeros where the cropped steps were.

    Args:
        cropping: an int (both ends) or ``(a, b)``: steps removed at the start and end;
            at least one step must remain.
    """

    cropping = PadPair((1, 1))

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        self.check_rank(shape)
        self.compute_output_shape(shape)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, None]:
        self.check_input_shape(tuple(inputs.shape))
        a, b = self.cropping
        return inputs[:, a:inputs.shape[1] - b], None

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return np.pad(d_out, ((0, 0), self.cropping, (0, 0))), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        length = input_shape[1]
        if length is not None:
            length -= sum(self.cropping)
            if length <= 0:
                raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller "
                                 f"than the input length. Received: input_shape={input_shape}"
                                 f", cropping={self.cropping}")
        return (input_shape[0], length, input_shape[2])


class UpSampling1D(SpatialLayer):
    """Repeats each step ``size`` times: (B, T, C) -> (B, size T, C).

    Backward: the gradients of the copies of each step summed.

    Args:
        size: the upsampling factor.
    """

    size = P.Int(2, min=1, cap="max_dim")

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        self.check_rank(shape)

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, None]:
        self.check_input_shape(tuple(inputs.shape))
        return np.repeat(inputs, self.size, axis=1), None

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        b, t, c = d_out.shape
        return d_out.reshape(b, t // self.size, self.size, c).sum(axis=2), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        length = input_shape[1]
        return (input_shape[0], None if length is None else length * self.size,
                input_shape[2])


__all__ += ["ZeroPadding1D", "Cropping1D", "UpSampling1D"]

# The 2-D / 3-D ones live in ``spatial_reshaping`` (this module's size); Keras's layout has
# them here, so they are importable from here too.
from rnnlens.layers.spatial_reshaping import (Cropping2D, Cropping3D,  # noqa: E402
                                              UpSampling2D, UpSampling3D, ZeroPadding2D,
                                              ZeroPadding3D)

__all__ += ["ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D", "UpSampling2D",
            "UpSampling3D"]
