"""``InputSpec``: what a layer expects of its inputs (Keras 3.15.1's class and checks).

A layer sets ``self.input_spec = InputSpec(ndim=3)`` (or a list of specs, one per
input); every call (eager or on symbolic tensors) then checks the input shapes against
it with :func:`assert_input_compatibility`, raising Keras's ValueError messages:
rank (``ndim``, ``min_ndim``, ``max_ndim``), fixed axis sizes (``axes={-1: 8}``) and the
whole ``shape`` (None matches anything; with ``allow_last_axis_squeeze`` a trailing
size-1 axis is ignored on either side). ``dtype`` is kept and written by ``get_config``
but not checked (rnnlens converts inputs to its compute dtype).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _standardize_shape(shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if not isinstance(shape, (list, tuple)):
        raise ValueError(f"Cannot convert '{shape}' to a shape.")
    out = []
    for d in shape:
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer))
                              or d < 0):
            raise ValueError(f"Cannot convert '{shape}' to a shape. Found invalid dimension "
                             f"'{d}'.")
        out.append(None if d is None else int(d))
    return tuple(out)


class InputSpec:
    """Specifies the rank, dtype and shape of every input to a layer (Keras's class).

    Args:
        dtype: expected dtype of the input (kept, not checked).
        shape: expected shape, batch axis included (None for any size).
        ndim: expected rank.
        max_ndim, min_ndim: rank bounds.
        axes: ``{axis: size}`` for axes of a fixed size.
        allow_last_axis_squeeze: ignore a trailing axis of size 1 on either side.
        name: the key of this input when inputs are passed as a dict.
        optional: whether the input may be None.
    """

    def __init__(self, dtype: Any = None, shape: Any = None, ndim: int | None = None,
                 max_ndim: int | None = None, min_ndim: int | None = None,
                 axes: Any = None, allow_last_axis_squeeze: bool = False,
                 name: str | None = None, optional: bool = False):
        self.dtype = None if dtype is None else np.dtype(dtype).name
        if shape is not None:
            self.shape = _standardize_shape(shape)
            self.ndim = len(self.shape)
        else:
            self.ndim, self.shape = ndim, None
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            axes = axes or {}
            self.axes = {int(k): axes[k] for k in axes}
        except (ValueError, TypeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: "
                            f"axes={axes}") from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            max_dim = (self.ndim if self.ndim else self.max_ndim) - 1
            if max(self.axes) > max_dim:
                raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed "
                                 f"value: {max_dim}")

    def __repr__(self) -> str:
        parts = [f"dtype={self.dtype}" if self.dtype else "",
                 f"shape={self.shape}" if self.shape else "",
                 f"ndim={self.ndim}" if self.ndim else "",
                 f"max_ndim={self.max_ndim}" if self.max_ndim else "",
                 f"min_ndim={self.min_ndim}" if self.min_ndim else "",
                 f"axes={self.axes}" if self.axes else ""]
        return f"InputSpec({', '.join(p for p in parts if p)})"

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes,
                "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict) -> "InputSpec":
        return cls(**config)


def _flat(structure: Any) -> list:
    if isinstance(structure, (list, tuple)) and not _is_shape(structure):
        return [leaf for item in structure for leaf in _flat(item)]
    return [structure]


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value)


def assert_input_compatibility(input_spec: Any, shapes: Any, layer_name: str) -> None:
    """Keras's check of the input ``shapes`` (one shape or a list) against ``input_spec``
    (an InputSpec, a list of them, or None); a ValueError names the mismatch."""
    if not input_spec:
        return
    specs = _flat(input_spec)
    shapes = _flat(shapes)
    if len(shapes) != len(specs):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
                         f"{len(shapes)} input tensors. Input shapes received: {shapes}")
    for index, (shape, spec) in enumerate(zip(shapes, specs)):
        if spec is not None:
            _check_one(index, tuple(shape), spec, layer_name)


def _check_one(index: int, shape: tuple, spec: InputSpec, layer: str) -> None:
    head = (f"Input {index} with name '{spec.name}' of layer '{layer}' is incompatible with "
            "the layer:")
    ndim = len(shape)
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
        raise ValueError(f"{head} expected ndim={spec.ndim}, found ndim={ndim}. Full shape "
                         f"received: {shape}")
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        raise ValueError(f"{head} expected max_ndim={spec.max_ndim}, found ndim={ndim}")
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        raise ValueError(f"{head} expected min_ndim={spec.min_ndim}, found ndim={ndim}. Full "
                         f"shape received: {shape}")
    for axis, value in (spec.axes or {}).items():
        if not -ndim <= axis < ndim:
            raise ValueError(f"{head} expected axis {axis} of input shape to have value "
                             f"{value}, but received input with shape {shape}")
        if value is not None and shape[axis] not in (value, None):
            raise ValueError(f"{head} expected axis {axis} of input shape to have value "
                             f"{value}, but received input with shape {shape}")
    if spec.shape is not None:
        expected, got = spec.shape, shape
        if spec.allow_last_axis_squeeze:
            got = got[:-1] if got and got[-1] == 1 else got
            expected = expected[:-1] if expected and expected[-1] == 1 else expected
        for want, dim in zip(expected, got):
            if want is not None and dim is not None and want != dim:
                raise ValueError(f"{head} expected shape={spec.shape}, found shape={got}")


__all__ = ["InputSpec", "assert_input_compatibility"]
