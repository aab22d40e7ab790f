"""Weight constraints as Keras 3.15.1 (TensorFlow backend) computes them.

A constraint ``c`` maps a weight array to its projection, ``c(w) -> w'`` (same shape, in
``rnnlens.backend.floatx()``); training applies it to a weight after every optimizer
update. With ``norms = sqrt(sum(w ** 2, axis, keepdims=True))`` and ``eps = 1e-7``
(Keras's ``backend.epsilon()``), in Keras's order of operations::

    MaxNorm(max_value, axis):  w * (clip(norms, 0, max_value) / (eps + norms))
    NonNeg():                  maximum(w, 0)                      (NaN stays NaN)
    UnitNorm(axis):            w / (eps + norms)
    MinMaxNorm(min_value, max_value, rate, axis):
        desired = rate * clip(norms, min_value, max_value) + (1 - rate) * norms
        w * (desired / (eps + norms))

``axis`` is an int, a list or tuple of ints, or None (all axes), as Keras (which hands it
to ``reduce_sum``). ``clip(x, lo, hi)`` is TensorFlow's ``max(min(x, hi), lo)``.

Identifiers (``get``) are what ``keras.constraints.get`` takes: None, an instance, a class,
a name (``"max_norm"``, ``"MaxNorm"``, ``"non_neg"``, ``"unit_norm"``, ``"min_max_norm"``,
...), a Keras 3 or Keras 2 config dict, or a function ``f(w) -> w'`` (wrapped; its result
must keep ``w``'s shape). Config dicts are looked up in a fixed table, never imported or
evaluated; anything else is a ValueError naming it.

Stricter than Keras, on purpose: norms must be non-negative numbers (not NaN; inf is
allowed for ``max_value``), ``min_value <= max_value``, ``0 <= rate <= 1``, and an
``axis`` outside the weight's rank or repeated is a ValueError (Keras lets TensorFlow
fail, or silently zeroes the weights for a negative ``max_value``).
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np

from rnnlens.backend import FLOATX
from rnnlens.regularizers import F32_MAX, as_numeric, check_config, object_from_dict, short

EPSILON = 1e-7  # keras.backend.epsilon()

_MODULE = "keras.constraints"


# ---------------------------------------------------------------------------- helpers
def _weights(w: Any) -> np.ndarray:
    """``w`` as an array of the compute dtype; TypeError for non-numeric input."""
    return as_numeric(w, "w").astype(FLOATX.dtype, copy=False)


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_norm(value: Any, name: str) -> int | float:
    """A non-negative number (inf allowed, NaN not), kept as a Python int or float."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(
            value, (bool, np.bool_)):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative "
                         f"number. Received: {name}={short(value)}")
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, int) and abs(value) > 2 ** 128:
        value = float("inf") if value > 0 else -1.0    # past float32: no cap, or an error
    if math.isnan(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative "
                         f"number. Received: {name}={value!r}")
    return value


def _check_axis(axis: Any) -> Any:
    """None, an int, or a list / tuple of ints (kept as given, NumPy ints made Python)."""
    if axis is None:
        return None
    if _is_int(axis):
        return int(axis)
    if isinstance(axis, (list, tuple)) and all(_is_int(a) for a in axis):
        return type(axis)(int(a) for a in axis)
    raise ValueError(f"Invalid value for argument axis: expected an int, a list of ints or "
                     f"None. Received: axis={short(axis)}")


def _axes_for(axis: Any, ndim: int, name: str) -> tuple[int, ...] | None:
    """``axis`` as NumPy reduction axes for a rank-``ndim`` weight; ValueError if invalid."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    bad = [a for a in axes if not -ndim <= a < ndim]
    if bad:
        raise ValueError(f"{name}: axis={short(axis)} is out of range for a weight of rank {ndim}; "
                         f"use axes in [{-ndim}, {ndim}) or axis=None.")
    norm = tuple(a % ndim for a in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(f"{name}: axis={short(axis)} repeats an axis; list each axis once.")
    return norm


def _norms(w: np.ndarray, axis: Any, name: str) -> np.ndarray:
    """``sqrt(sum(w ** 2, axis, keepdims=True))``."""
    axes = _axes_for(axis, w.ndim, name)
    return np.sqrt(np.sum(np.square(w), axis=axes, keepdims=True))


def _clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """TensorFlow's ``clip_by_value``: ``max(min(x, hi), lo)`` in ``x``'s dtype."""
    with np.errstate(over="ignore"):          # a bound past float32 becomes inf
        lo_t, hi_t = np.asarray(lo, x.dtype), np.asarray(hi, x.dtype)
    return np.maximum(np.minimum(x, hi_t), lo_t)


# ---------------------------------------------------------------------------- classes
class Constraint:
    """Base class: ``c(w)`` returns the projected weight (here ``w`` unchanged)."""

    def __call__(self, w: Any) -> np.ndarray:
        """Applies the constraint to the weight ``w``."""
        return _weights(w)

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Constraint:
        """The constraint that ``get_config`` describes (ValueError for unknown keys)."""
        return cls(**check_config(cls, config))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Caps the norm of the weights incident to each unit at ``max_value``.

    ``w * (clip(norms, 0, max_value) / (eps + norms))``: weights with a norm below
    ``max_value`` shrink by the tiny factor ``norm / (eps + norm)``, as in Keras.

    Args:
        max_value: the maximum norm (a non-negative number; inf means no cap).
        axis: int, list of ints or None: the axes the norms are taken over. For a
            ``Dense`` kernel ``(input_dim, units)``, ``axis=0`` constrains each unit's
            incoming weight vector.
    """

    def __init__(self, max_value: float = 2, axis: Any = 0):
        self.max_value = _check_norm(max_value, "max_value")
        self.axis = _check_axis(axis)

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        t = w.dtype.type
        norms = _norms(w, self.axis, "MaxNorm")
        desired = _clip(norms, 0.0, self.max_value)
        return w * (desired / (t(EPSILON) + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to 0: ``maximum(w, 0)``."""

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        return np.maximum(w, w.dtype.type(0.0))


class UnitNorm(Constraint):
    """Scales the weights incident to each unit to unit norm: ``w / (eps + norms)``.

    Args:
        axis: int, list of ints or None: the axes the norms are taken over.
    """

    def __init__(self, axis: Any = 0):
        self.axis = _check_axis(axis)

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        norms = _norms(w, self.axis, "UnitNorm")
        return w / (w.dtype.type(EPSILON) + norms)

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keeps the norm of the weights incident to each unit in ``[min_value, max_value]``.

    ``desired = rate * clip(norms, min_value, max_value) + (1 - rate) * norms`` and
    ``w * (desired / (eps + norms))``: ``rate=1`` enforces the bounds at once, a smaller
    rate moves the norms part of the way each step.

    Args:
        min_value: the minimum norm (non-negative).
        max_value: the maximum norm (``>= min_value``; inf allowed).
        rate: in ``[0, 1]``, how far to move towards the bounds each time.
        axis: int, list of ints or None: the axes the norms are taken over.
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Any = 0):
        self.min_value = _check_norm(min_value, "min_value")
        if self.min_value > F32_MAX:
            raise ValueError(f"Invalid value for argument min_value: expected a number no "
                             f"larger than {F32_MAX:.8g} (float32). Received: "
                             f"min_value={short(min_value)}")
        self.max_value = _check_norm(max_value, "max_value")
        if self.min_value > self.max_value:
            raise ValueError(f"Received min_value={min_value!r} > max_value={max_value!r}; "
                             "expected min_value <= max_value.")
        rate_value = _check_norm(rate, "rate")
        if rate_value > 1:
            raise ValueError(f"Invalid value for argument rate: expected a number in [0, 1]. "
                             f"Received: rate={rate!r}")
        self.rate = rate_value
        self.axis = _check_axis(axis)

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        t = w.dtype.type
        norms = _norms(w, self.axis, "MinMaxNorm")
        desired = (t(self.rate) * _clip(norms, self.min_value, self.max_value)
                   + t(1 - self.rate) * norms)
        return w * (desired / (t(EPSILON) + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


class FunctionConstraint(Constraint):
    """A plain function ``fn(w) -> w'`` used as a constraint (``get(fn)``); its result must
    be numeric and keep ``w``'s shape."""

    def __init__(self, fn: Callable[[np.ndarray], Any]):
        if not callable(fn) or inspect.isclass(fn):
            raise TypeError(f"Received fn={fn!r}, expected a function fn(w) -> w.")
        self.fn = fn

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        out = as_numeric(self.fn(w), "the constraint function's result")
        if out.shape != w.shape:
            raise ValueError(f"Constraint function {_fn_name(self.fn)} returned shape "
                             f"{out.shape} for a weight of shape {w.shape}; a constraint "
                             "must keep the shape.")
        return out.astype(FLOATX.dtype, copy=False)

    def get_config(self) -> dict:
        raise NotImplementedError("a function constraint is serialized by name (serialize)")

    def __repr__(self) -> str:
        return f"FunctionConstraint({_fn_name(self.fn)})"


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


# Keras's aliases: the lower-case names are the classes themselves.
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

ALL_OBJECTS: dict[str, type] = {
    "Constraint": Constraint, "constraint": Constraint,
    "MaxNorm": MaxNorm, "max_norm": MaxNorm, "NonNeg": NonNeg, "non_neg": NonNeg,
    "UnitNorm": UnitNorm, "unit_norm": UnitNorm,
    "MinMaxNorm": MinMaxNorm, "min_max_norm": MinMaxNorm,
}


# ---------------------------------------------------------------------------- identifiers
def _wrap(obj: Any) -> Constraint:
    if isinstance(obj, Constraint):
        return obj
    if inspect.isclass(obj):
        if not issubclass(obj, Constraint):
            raise ValueError(f"Could not interpret constraint identifier: {obj!r} (a class "
                             "that is not a rnnlens Constraint).")
        return obj()
    return FunctionConstraint(obj)


def serialize(constraint: Any) -> dict | None:
    """The dict Keras 3.15.1's ``keras.constraints.serialize`` writes (None for None):
    ``{"module": "keras.constraints", "class_name": ..., "config": get_config(),
    "registered_name": None}`` for built-in classes; see ``regularizers.serialize`` for
    subclasses and functions."""
    if constraint is None:
        return None
    if inspect.isclass(constraint):
        raise TypeError(f"Cannot serialize the class {constraint!r}; pass an instance.")
    if not isinstance(constraint, Constraint) and callable(constraint):
        constraint = FunctionConstraint(constraint)
    if not isinstance(constraint, Constraint):
        raise TypeError(f"Cannot serialize {short(constraint)}: expected a Constraint, a "
                        "function or None.")
    if isinstance(constraint, FunctionConstraint):
        name = _fn_name(constraint.fn)
        if name == "<lambda>" or not name.isidentifier():
            raise ValueError(f"Cannot serialize the constraint function {name}: use a named "
                             "function or a Constraint subclass with get_config.")
        return {"module": "builtins", "class_name": "function", "config": name,
                "registered_name": "function"}
    cls = type(constraint)
    builtin = ALL_OBJECTS.get(cls.__name__) is cls
    return {"module": _MODULE if builtin else cls.__module__, "class_name": cls.__name__,
            "config": constraint.get_config(),
            "registered_name": None if builtin else cls.__name__}


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Constraint:
    """The constraint a ``serialize`` dict (Keras 3 or Keras 2 form) or a name describes."""
    if isinstance(config, str):
        if config in (custom_objects or {}):
            return _wrap(custom_objects[config])
        if config not in ALL_OBJECTS:
            raise ValueError(f"Could not interpret constraint identifier: {short(config)} "
                             f"(known names: {sorted(ALL_OBJECTS)}).")
        return ALL_OBJECTS[config]()
    if not isinstance(config, dict):
        raise ValueError(f"Could not interpret constraint identifier: {short(config)} "
                         "(expected a config dict or a name).")
    return _wrap(object_from_dict(config, ALL_OBJECTS, "constraint", custom_objects))


def get(identifier: Any) -> Constraint | None:
    """Keras's ``keras.constraints.get``: None, an instance, a class, a name, a config dict
    or a function ``f(w) -> w'`` (wrapped as ``FunctionConstraint``)."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, Constraint) or callable(identifier):
        return _wrap(identifier)
    raise ValueError(f"Could not interpret constraint identifier: {short(identifier)}")


__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "FunctionConstraint",
           "max_norm", "non_neg", "unit_norm", "min_max_norm", "get", "serialize",
           "deserialize"]
