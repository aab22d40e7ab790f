"""Weight regularizers as Keras 3.15.1 (TensorFlow backend) computes them, with gradients.

Every regularizer ``reg`` maps a weight array ``w`` to a penalty that training adds to the
loss, and knows its gradient:

* ``reg(w)``: the penalty, a 0-d array of ``rnnlens.backend.floatx()`` (float32 unless
  changed), computed with Keras's operations in Keras's order.
* ``reg.gradient(w)``: ``d penalty / d w``, an array of ``w``'s shape and the compute dtype,
  equal to what ``tf.GradientTape`` gives for the Keras regularizer (``|x|`` has the
  subgradient ``sign(0) = 0``, as TensorFlow's ``Abs``).
* ``reg.value_and_gradient(w)``: both at once.

The penalties (``f32(c)`` is ``c`` rounded to float32 first, as Keras stores it)::

    L1(l1):       P = f32(l1) * sum(|w|)                       dP/dw = f32(l1) * sign(w)
    L2(l2):       P = l2 * sum(w ** 2)                         dP/dw = l2 * 2 w
    L1L2(l1, l2): P = 0 [+ l1 * sum(|w|)] [+ l2 * sum(w ** 2)] (a term only when its factor
                  is not 0: with l1 = l2 = 0 the penalty is 0 even for NaN weights)
    OrthogonalRegularizer(factor, mode), on a (n, m) matrix in "rows" mode (columns mode
    is the same on w.T):
        r_i = min(1 / sqrt(sum_k w_ik ** 2), 1 / 1e-7)         (Keras's ``normalize``)
        v_i = w_i * r_i                                        (unit rows; zero rows stay 0)
        G   = V V^T,   M = G * (1 - I)
        P   = f32(factor) * 0.5 * sum(|M|) / (n (n - 1) / 2)

Identifiers (``get``) are what Keras's ``keras.regularizers.get`` takes: None, an
instance, a class, a name (``"l1"``, ``"l2"``, ``"l1l2"``, ``"L1"``, ``"L2"``, ``"L1L2"``,
``"orthogonal_regularizer"``, ...; rnnlens also takes ``"l1_l2"``, the alias's name, which
Keras 3 refuses), a Keras 3 config dict ``{"module": ..., "class_name": "L2", "config":
{"l2": 0.01}, "registered_name": None}``, the Keras 2 / tf.keras form ``{"class_name":
"L1L2", "config": {...}}``, or a plain function ``f(w) -> penalty``, wrapped so that its
``gradient`` raises a TypeError (rnnlens cannot differentiate arbitrary Python).
Config dicts come from model files: they are looked up in a fixed table, never imported
or evaluated, and anything else is a ValueError that names it.

Differences from Keras, on purpose: ``OrthogonalRegularizer`` on fewer than 2 rows
(columns) raises ValueError where Keras returns NaN (0 / 0 pairs); factors above the
float32 range raise at construction (Keras fails later, or at the first call); NumPy
scalars are accepted as factors (Keras refuses ``np.float32``).
"""

from __future__ import annotations

import inspect
import math
import reprlib
from typing import Any, Callable

import numpy as np

from rnnlens.backend import FLOATX

EPSILON = 1e-7  # keras.backend.epsilon()
F32_MAX = float(np.finfo(np.float32).max)
#: Largest row (column) count OrthogonalRegularizer accepts: it builds (n, n) matrices.
MAX_ORTHOGONAL_SIZE = 8192

_MODULE = "keras.regularizers"
_DICT_KEYS = frozenset({"module", "class_name", "config", "registered_name",
                        "shared_object_id"})


# ---------------------------------------------------------------------------- helpers
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 3, 6, 6, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 80, 80, 40


def short(x: Any) -> str:
    """A bounded repr for error messages (configs come from untrusted files)."""
    return _REPR.repr(x)


def as_numeric(x: Any, name: str) -> np.ndarray:
    """``x`` as a bool / int / float array (dtype kept); TypeError otherwise."""
    if x is None:
        raise TypeError(f"Received {name}=None, expected an array of numbers.")
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:   # ragged lists and the like
        raise TypeError(f"Received {name} that is not an array of numbers ({exc}).") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Received {name} of dtype {arr.dtype}, expected an array of numbers "
                        "(bool, int or float).")
    return arr


def _weights(w: Any) -> np.ndarray:
    """``w`` as an array of the compute dtype; TypeError for non-numeric input."""
    return as_numeric(w, "w").astype(FLOATX.dtype, copy=False)


def validate_float_arg(value: Any, name: str) -> float:
    """Keras's ``validate_float_arg``: a finite non-negative number, as a Python float."""
    ok = isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        value = float(value)
        ok = not (math.isnan(value) or math.isinf(value) or value < 0)
    if not ok:
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={short(value)}"
        )
    if value > F32_MAX:
        raise ValueError(
            f"Invalid value for argument {name}: {short(value)} overflows float32 (the largest "
            f"is {F32_MAX:.8g}); use a smaller factor."
        )
    return value


def _f32(value: float) -> float:
    """``value`` rounded to float32, as a Python float (Keras keeps such factors as
    float32 tensors, so its configs hold e.g. 0.009999999776482582 for 0.01)."""
    return float(np.float32(value))


# ---------------------------------------------------------------------------- classes
class Regularizer:
    """Base class: ``reg(w)`` is the penalty (0 here) and ``reg.gradient(w)`` its gradient.

    Subclasses override ``__call__`` and ``gradient`` (both or neither: a subclass that only
    overrides ``__call__`` gets a TypeError from ``gradient`` rather than silent zeros) and
    ``get_config`` for serialization.
    """

    def __call__(self, x: Any) -> np.ndarray:
        """Compute a regularization penalty from an input tensor."""
        return np.zeros((), FLOATX.dtype)

    def gradient(self, x: Any) -> np.ndarray:
        """``d penalty / d x``, of ``x``'s shape."""
        if type(self).__call__ is not Regularizer.__call__:
            raise TypeError(
                f"{type(self).__name__} overrides __call__ but not gradient(w); rnnlens "
                "needs the gradient to train. Define gradient(w) returning d penalty / d w."
            )
        return np.zeros_like(_weights(x))

    def value_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(reg(x), reg.gradient(x))``."""
        return self(x), self.gradient(x)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config: dict) -> Regularizer:
        """The regularizer that ``get_config`` describes (ValueError for unknown keys)."""
        return cls(**check_config(cls, config))

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """L1 and L2 penalties: ``l1 * sum(|x|) + l2 * sum(x ** 2)``.

    Each term is added only when its factor is not 0 (Keras's order: 0, then L1, then L2).
    The gradient is ``l1 * sign(x) + l2 * 2 x`` with ``sign(0) = 0``.

    Args:
        l1: float, L1 regularization factor (None means 0).
        l2: float, L2 regularization factor (None means 0).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x: Any) -> np.ndarray:
        x = _weights(x)
        t = x.dtype.type
        out = t(0.0)
        if self.l1 != 0.0:
            out = out + t(self.l1) * np.sum(np.abs(x))
        if self.l2 != 0.0:
            out = out + t(self.l2) * np.sum(np.square(x))
        return np.asarray(out, dtype=x.dtype)

    def gradient(self, x: Any) -> np.ndarray:
        x = _weights(x)
        t = x.dtype.type
        grad = np.zeros_like(x)
        if self.l1 != 0.0:
            grad = grad + t(self.l1) * np.sign(x)
        if self.l2 != 0.0:
            grad = grad + t(self.l2) * (x * t(2.0))
        return grad

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """L1 penalty ``f32(l1) * sum(|x|)``; gradient ``f32(l1) * sign(x)`` (``sign(0) = 0``).

    Keras stores ``l1`` as a float32 tensor: the factor is rounded to float32 (also when
    computing in float64) and ``get_config`` reports the rounded value.

    Args:
        l1: float, L1 regularization factor (None means 0.01).
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = _f32(validate_float_arg(0.01 if l1 is None else l1, name="l1"))

    def __call__(self, x: Any) -> np.ndarray:
        x = _weights(x)
        return np.asarray(x.dtype.type(self.l1) * np.sum(np.abs(x)), dtype=x.dtype)

    def gradient(self, x: Any) -> np.ndarray:
        x = _weights(x)
        return x.dtype.type(self.l1) * np.sign(x)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    """L2 penalty ``l2 * sum(x ** 2)``; gradient ``l2 * 2 x``.

    Args:
        l2: float, L2 regularization factor (None means 0.01).
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, name="l2")

    def __call__(self, x: Any) -> np.ndarray:
        x = _weights(x)
        return np.asarray(x.dtype.type(self.l2) * np.sum(np.square(x)), dtype=x.dtype)

    def gradient(self, x: Any) -> np.ndarray:
        x = _weights(x)
        t = x.dtype.type
        return t(self.l2) * (x * t(2.0))

    def get_config(self) -> dict:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a rank-2 weight towards orthogonality.

    In ``"rows"`` mode, for ``x`` of shape ``(n, m)`` (columns mode: the same on ``x.T``)::

        r = min(rsqrt(sum(x ** 2, axis=1)), 1e7)        # (n, 1), Keras's normalize
        V = x * r                                        # (n, m)
        M = (V V^T) * (1 - I)                            # (n, n), off-diagonal products
        P = f32(factor) * 0.5 * sum(|M|) / (n (n - 1) / 2)

    Gradient (what TensorFlow's tape gives; ``sign(0) = 0``)::

        dM = (f32(factor) * 0.5 / pairs) * sign(M) * (1 - I)
        dV = dM V + dM^T V
        dx = dV * r + [r <= 1e7] * sum(dV * x, axis=1) * (-0.5 r ** 3) * 2 x

    A zero row keeps ``r = 1e7`` and gets no gradient through ``r``.

    Args:
        factor: float, the regularization factor (rounded to float32, as Keras).
        mode: ``"rows"`` (default) or ``"columns"``.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _f32(validate_float_arg(factor, name="factor"))
        if not isinstance(mode, str) or mode not in ("rows", "columns"):
            raise ValueError(
                "Invalid value for argument `mode`. Expected one of "
                f'{{"rows", "columns"}}. Received: mode={short(mode)}'
            )
        self.mode = mode

    def _matrix(self, x: Any) -> np.ndarray:
        """``x`` (rows mode) or ``x.T`` (columns mode), checked."""
        x = _weights(x)
        if x.ndim != 2:
            raise ValueError(
                "Inputs to OrthogonalRegularizer must have rank 2. Received: "
                f"inputs.shape={x.shape}"
            )
        a = x if self.mode == "rows" else x.T
        what = "rows" if self.mode == "rows" else "columns"
        if a.shape[0] < 2:
            raise ValueError(
                f"OrthogonalRegularizer(mode={self.mode!r}) needs at least 2 {what}; "
                f"received inputs.shape={x.shape} (Keras returns NaN here). Use the other "
                "mode or no regularizer."
            )
        if a.shape[0] > MAX_ORTHOGONAL_SIZE:
            raise ValueError(
                f"OrthogonalRegularizer(mode={self.mode!r}) on inputs.shape={x.shape} would "
                f"build a {a.shape[0]} x {a.shape[0]} matrix; rnnlens allows at most "
                f"{MAX_ORTHOGONAL_SIZE} {what}. Use the other mode or a smaller weight."
            )
        return a

    def _forward(self, a: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        t = a.dtype.type
        n = a.shape[0]
        s = np.sum(np.square(a), axis=1, keepdims=True)            # (n, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = t(1.0) / np.sqrt(s)                                 # (n, 1), inf for 0 rows
        r_clip = np.minimum(r, t(1.0 / EPSILON))
        v = a * r_clip                                              # (n, m)
        off = t(1.0) - np.eye(n, dtype=a.dtype)                     # (n, n)
        m = (v @ v.T) * off                                         # (n, n)
        pairs = t(n * (n - 1.0) / 2.0)
        value = (t(self.factor) * t(0.5) * np.sum(np.abs(m))) / pairs
        return np.asarray(value, dtype=a.dtype), {"r": r, "r_clip": r_clip, "v": v,
                                                  "m": m, "off": off, "pairs": pairs}

    def _backward(self, a: np.ndarray, c: dict[str, np.ndarray]) -> np.ndarray:
        t = a.dtype.type
        d_sum = (t(1.0) / c["pairs"]) * (t(self.factor) * t(0.5))
        dm = (d_sum * np.sign(c["m"])) * c["off"]                   # (n, n)
        v = c["v"]
        dv = dm @ v + dm.T @ v                                      # (n, m)
        da = dv * c["r_clip"]
        d_r = np.sum(dv * a, axis=1, keepdims=True)                 # (n, 1)
        r = c["r"]
        with np.errstate(over="ignore", invalid="ignore"):
            d_s = np.where(r <= t(1.0 / EPSILON), d_r * (t(-0.5) * (r * r * r)), t(0.0))
        return da + d_s * (a * t(2.0))

    def __call__(self, x: Any) -> np.ndarray:
        return self._forward(self._matrix(x))[0]

    def gradient(self, x: Any) -> np.ndarray:
        return self.value_and_gradient(x)[1]

    def value_and_gradient(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        a = self._matrix(x)
        value, cache = self._forward(a)
        grad = self._backward(a, cache)
        return value, (grad if self.mode == "rows" else np.ascontiguousarray(grad.T))

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


class FunctionRegularizer(Regularizer):
    """A plain function ``fn(w) -> penalty`` used as a regularizer (``get(fn)``).

    Calling it calls ``fn`` on the weight array and checks that the result is one number.
    It has no gradient: ``gradient`` raises TypeError.
    """

    def __init__(self, fn: Callable[[np.ndarray], Any]):
        if not callable(fn) or inspect.isclass(fn):
            raise TypeError(f"Received fn={fn!r}, expected a function fn(w) -> penalty.")
        self.fn = fn

    def __call__(self, x: Any) -> np.ndarray:
        out = as_numeric(self.fn(_weights(x)), "the regularizer function's result")
        if out.size != 1:
            raise ValueError(
                f"Regularizer function {_fn_name(self.fn)} returned shape {out.shape}; "
                "expected one number (a 0-d penalty)."
            )
        return out.astype(FLOATX.dtype).reshape(())

    def gradient(self, x: Any) -> np.ndarray:
        raise TypeError(
            f"Regularizer function {_fn_name(self.fn)} has no gradient: rnnlens computes "
            "gradients by hand. Use L1/L2/L1L2/OrthogonalRegularizer, or subclass "
            "rnnlens.regularizers.Regularizer and define __call__ and gradient(w)."
        )

    def get_config(self) -> dict:
        raise NotImplementedError("a function regularizer is serialized by name (serialize)")

    def __repr__(self) -> str:
        return f"FunctionRegularizer({_fn_name(self.fn)})"


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


# Keras's aliases: the lower-case names are the classes themselves.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS: dict[str, type] = {
    "Regularizer": Regularizer, "regularizer": Regularizer,
    "L1": L1, "l1": L1, "L2": L2, "l2": L2,
    "L1L2": L1L2, "l1l2": L1L2, "l1_l2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer,
    "orthogonal_regularizer": OrthogonalRegularizer,
}


# ---------------------------------------------------------------------------- config dicts
def check_config(cls: type, config: Any) -> dict:
    """``config`` as keyword arguments for ``cls``: a dict (None means {}) whose keys are
    parameters of ``cls.__init__``; ValueError naming anything else."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(
            f"Expected 'config' to be a dict for {cls.__name__}, received "
            f"{type(config).__name__}: {short(config)}"
        )
    params = ({} if cls.__init__ is object.__init__
              else inspect.signature(cls.__init__).parameters)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(config)
    allowed = [name for name in params if name != "self"]
    bad = [k for k in config if k not in allowed]
    if bad:
        raise ValueError(
            f"Unknown argument(s) {short(bad)} in the config of {cls.__name__}; expected only "
            f"{allowed}."
        )
    return dict(config)


def object_from_dict(config: dict, table: dict[str, type], kind: str,
                     custom_objects: dict[str, Any] | None) -> Any:
    """The object a Keras 3 or Keras 2 config dict describes, looked up in ``table`` (then
    in the caller's ``custom_objects``); returns a class-built instance or, for a
    serialized function, the function found by name. Never imports anything."""
    extra = sorted(str(k) for k in config if k not in _DICT_KEYS)
    if extra:
        raise ValueError(f"Unknown key(s) {short(extra)} in the {kind} config "
                         f"{short(config)}; expected {sorted(_DICT_KEYS)}.")
    name = config.get("class_name")
    if not isinstance(name, str):
        raise ValueError(f"Could not interpret {kind} identifier: {short(config)} "
                         "('class_name' must be a string).")
    if "module" in config and config["module"] is None:
        raise ValueError(f"Cannot deserialize {kind} `{name}` with module None (a custom "
                         "class): pass it in custom_objects.")
    custom = custom_objects or {}
    registered = config.get("registered_name")
    if name == "function":
        fn_name = config.get("config") if config.get("module") == "builtins" else registered
        if isinstance(fn_name, str) and callable(custom.get(fn_name)):
            return custom[fn_name]
        raise ValueError(f"Could not interpret {kind} identifier: {short(config)} (a "
                         "serialized function; pass it in custom_objects to load it).")
    cls = None
    for key in (name, registered):
        if isinstance(key, str) and inspect.isclass(custom.get(key)):
            cls = custom[key]
            break
    cls = cls or table.get(name)
    if cls is None:
        raise ValueError(f"Could not interpret {kind} identifier: {short(config)} (unknown "
                         f"class_name {short(name)}; known: {sorted(table)}).")
    if not hasattr(cls, "from_config"):          # a plain class from custom_objects
        return cls(**check_config(cls, config.get("config")))
    return cls.from_config(config.get("config"))


def _wrap(obj: Any) -> Regularizer:
    if isinstance(obj, Regularizer):
        return obj
    if inspect.isclass(obj):
        if not issubclass(obj, Regularizer):
            raise ValueError(f"Could not interpret regularizer identifier: {obj!r} (a class "
                             "that is not a rnnlens Regularizer).")
        return obj()
    return FunctionRegularizer(obj)


def serialize(regularizer: Any) -> dict | None:
    """The dict Keras 3.15.1's ``keras.regularizers.serialize`` writes (None for None).

    Built-in classes: ``{"module": "keras.regularizers", "class_name": ..., "config":
    get_config(), "registered_name": None}``; other subclasses carry their own module and
    class name as ``registered_name``; a named function becomes Keras's
    ``{"module": "builtins", "class_name": "function", "config": name,
    "registered_name": "function"}``. Lambdas are refused (Keras writes their bytecode).
    """
    if regularizer is None:
        return None
    if inspect.isclass(regularizer):
        raise TypeError(f"Cannot serialize the class {regularizer!r}; pass an instance.")
    if not isinstance(regularizer, Regularizer) and callable(regularizer):
        regularizer = FunctionRegularizer(regularizer)
    if not isinstance(regularizer, Regularizer):
        raise TypeError(f"Cannot serialize {short(regularizer)}: expected a Regularizer, a "
                        "function or None.")
    if isinstance(regularizer, FunctionRegularizer):
        name = _fn_name(regularizer.fn)
        if name == "<lambda>" or not name.isidentifier():
            raise ValueError(f"Cannot serialize the regularizer function {name}: use a named "
                             "function or a Regularizer subclass with get_config.")
        return {"module": "builtins", "class_name": "function", "config": name,
                "registered_name": "function"}
    cls = type(regularizer)
    builtin = ALL_OBJECTS.get(cls.__name__) is cls
    return {"module": _MODULE if builtin else cls.__module__, "class_name": cls.__name__,
            "config": regularizer.get_config(),
            "registered_name": None if builtin else cls.__name__}


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Regularizer:
    """The regularizer a ``serialize`` dict (Keras 3 or Keras 2 form) or a name describes."""
    if isinstance(config, str):
        if config in (custom_objects or {}):
            return _wrap(custom_objects[config])
        if config not in ALL_OBJECTS:
            raise ValueError(f"Could not interpret regularizer identifier: {short(config)} "
                             f"(known names: {sorted(ALL_OBJECTS)}).")
        return ALL_OBJECTS[config]()
    if not isinstance(config, dict):
        raise ValueError(f"Could not interpret regularizer identifier: {short(config)} "
                         "(expected a config dict or a name).")
    return _wrap(object_from_dict(config, ALL_OBJECTS, "regularizer", custom_objects))


def get(identifier: Any) -> Regularizer | None:
    """Keras's ``keras.regularizers.get``: None, an instance, a class, a name, a config
    dict or a function ``f(w) -> penalty`` (wrapped as ``FunctionRegularizer``)."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, Regularizer) or callable(identifier):
        return _wrap(identifier)
    raise ValueError(f"Could not interpret regularizer identifier: {short(identifier)}")


__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "FunctionRegularizer",
           "l1", "l2", "l1_l2", "orthogonal_regularizer", "get", "serialize", "deserialize",
           "validate_float_arg"]
