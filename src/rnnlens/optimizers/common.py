"""Pieces shared by the optimizers: :class:`OptimizerVariable` (Keras's optimizer
variable: name, path and an array updated in place) and the argument checks."""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from rnnlens.optimizers import schedules


class OptimizerVariable:
    """One optimizer variable: Keras's ``name`` and ``path`` and its array ``value``
    (updated in place by the optimizer). ``numpy()`` returns a copy."""

    __slots__ = ("name", "path", "value")

    def __init__(self, name: str, path: str, value: np.ndarray) -> None:
        self.name, self.path, self.value = name, path, value

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> str:
        return str(self.value.dtype)

    def numpy(self) -> np.ndarray:
        return np.array(self.value, copy=True)

    def assign(self, value: Any) -> None:
        """Sets the value in place (shape must match)."""
        arr = np.asarray(value)
        if arr.shape != self.value.shape:
            raise ValueError(f"Cannot assign a value of shape {arr.shape} to optimizer "
                             f"variable '{self.path}' of shape {self.value.shape}.")
        self.value[...] = arr.astype(self.value.dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype)

    def __repr__(self) -> str:
        return (f"<OptimizerVariable path={self.path} shape={self.value.shape} "
                f"dtype={self.value.dtype}>")


def is_schedule(value: Any) -> bool:
    return isinstance(value, schedules.LearningRateSchedule) or (
        callable(value) and not isinstance(value, (np.generic, np.ndarray)))


def check_schedule(value: Any) -> Any:
    """A schedule (called with the step) or a callable of no arguments, as Keras takes."""
    if isinstance(value, schedules.LearningRateSchedule):
        return value
    try:
        inspect.signature(value).bind()
    except TypeError:
        raise TypeError(
            f"Received learning_rate={value!r}, a callable that needs arguments. As in Keras, "
            "a plain callable is called with no arguments at every update; to depend on "
            "the step, pass a schedule from rnnlens.optimizers.schedules (a "
            "LearningRateSchedule subclass), or a float.") from None
    except ValueError:              # no signature (a builtin): trust it
        pass
    return value


def check_float(name: str, value: Any, *, allow_none: bool = False, low: float | None = None,
                high: float | None = None) -> Any:
    """A finite number (returned as given), optionally within ``[low, high]``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Received {name}={value!r}, expected a float.")
    if not math.isfinite(float(value)):
        raise ValueError(f"Received {name}={value!r}, expected a finite float.")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"in [{low}, {high}]" if low is not None and high is not None else \
            (f">= {low}" if low is not None else f"<= {high}")
        raise ValueError(f"Received {name}={value!r}, expected a float {span}.")
    return value


def check_int(name: str, value: Any, low: int, allow_none: bool = True) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"Received {name}={value!r}, expected an integer >= {low}.")
    return int(value)


__all__ = ["OptimizerVariable"]
