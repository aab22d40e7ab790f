"""Support for ``Lambda`` (``rnnlens.layers.core``): its arguments, which are Python code,
its Keras config, its output-shape inference, and its refusal to be trained through.

A Lambda is never read from a model file: its arguments are declared with
:class:`CodeParam`, whose ``load`` refuses, and the class is left out of the
reader's allow-list (``registered = False``).
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable

import numpy as np

from rnnlens import params as P
from rnnlens.backend import FLOATX

#: Keras's numpy backend fills unknown dimensions with these two sizes and marks the
#: output dimensions that differ between the two runs as unknown.
FILL_SIZES = (83, 89)
#: The largest dummy input (elements) shape inference will allocate.
MAX_DUMMY_ELEMENTS = 1 << 24


class CodeParam(P.Param):
    """An argument that holds Python code (a callable, or a value checked by ``check_fn``).

    Model files cannot hold such arguments: ``load`` refuses them.
    """

    def __init__(self, default: Any = P.REQUIRED, *, check_fn: Callable[[Any, str], Any],
                 doc: str = ""):
        super().__init__(default, doc=doc)
        self.check_fn = check_fn

    def validate(self, value: Any, owner: Any) -> Any:
        return self.check_fn(value, self.name)

    def load(self, raw: Any, reader: Any) -> Any:
        raise reader.refuse(f"`{self.name}` holds Python code, which rnnlens never loads.")


def check_callable(value: Any, name: str) -> Callable:
    if not callable(value):
        raise TypeError(f"Lambda expects `{name}` to be a callable, received {value!r} of "
                        f"type {type(value).__name__}.")
    return value


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0)
        for d in value)


def check_output_shape(value: Any, name: str) -> Any:
    """A callable, a shape without the batch, or a (nested) list of such shapes."""
    if callable(value):
        return value
    if _is_shape(value):
        return tuple(None if d is None else int(d) for d in value)
    if isinstance(value, (list, tuple)) and value and len(value) <= 64:
        return type(value)(check_output_shape(v, name) for v in value)
    raise TypeError(f"Lambda expects `{name}` to be a shape without the batch axis such as "
                    f"(4,), a list of shapes, or a callable f(input_shape); received "
                    f"{value!r}.")


def check_mask(value: Any, name: str) -> Any:
    """A callable ``f(inputs, mask)``, or a fixed mask (converted to a bool array)."""
    if callable(value):
        return value
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = np.asarray(None, dtype=object)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"Lambda expects `{name}` to be None, a callable f(inputs, mask) or a "
                        f"boolean array, received {value!r}.")
    return arr.astype(bool)


def check_arguments(value: Any, name: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise TypeError(f"Lambda expects `{name}` to be a dict of keyword arguments for the "
                        f"function (or None), received {value!r}.")
    return dict(value)


def expects(fn: Callable, arg: str) -> bool:
    """Whether ``fn`` takes an argument named ``arg`` (Keras: its ``getfullargspec``)."""
    try:
        return arg in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


# -- Keras's config of a Lambda ------------------------------------------------------


def serialize_function(fn: Callable) -> dict:
    """Keras's ``Lambda._serialize_function_to_config``: the bytecode of a Python lambda,
    the name of a named function."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        import base64
        import marshal

        code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}
    if isinstance(fn, types.FunctionType):
        return {"module": "builtins", "class_name": "function", "config": fn.__name__,
                "registered_name": "function"}
    return {"module": type(fn).__module__, "class_name": type(fn).__name__,
            "config": getattr(fn, "__name__", repr(fn)), "registered_name": None}


def serialize_value(value: Any) -> Any:
    """Keras's ``serialize_keras_object`` for plain values, containers and arrays."""
    if isinstance(value, dict):
        return {k: serialize_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [serialize_value(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return {"class_name": "__numpy__",
                "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    if isinstance(value, (np.generic, np.ndarray)):
        return value.item()
    if callable(value):
        return serialize_function(value)
    return value


# -- output shapes ---------------------------------------------------------------------


def _is_plain_shape(shape: Any) -> bool:
    return isinstance(shape, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                            for d in shape)


def _dummy(shape: Any, fill: int, dtype: Any) -> Any:
    if _is_plain_shape(shape):
        return np.zeros(tuple(fill if d is None else d for d in shape), dtype)
    return [_dummy(s, fill, dtype) for s in shape]


def _dummy_size(shape: Any, fill: int) -> int:
    if _is_plain_shape(shape):
        return int(np.prod([fill if d is None else d for d in shape], dtype=np.float64))
    return sum(_dummy_size(s, fill) for s in shape)


def _shapes(out: Any) -> Any:
    if isinstance(out, (list, tuple)):
        return type(out)(_shapes(o) for o in out)
    return tuple(int(d) for d in np.shape(out))


def _merge(a: Any, b: Any) -> Any:
    """Dimensions that differ between the two runs become None."""
    if _is_plain_shape(a) and _is_plain_shape(b) and len(a) == len(b):
        return tuple(x if x == y else None for x, y in zip(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return type(a)(_merge(x, y) for x, y in zip(a, b))
    raise ValueError("the function returns differently structured outputs for inputs of "
                     "different sizes")


def infer_output_shape(layer: Any, input_shape: Any) -> Any:
    """The output shape of ``layer.call`` on zeros of ``input_shape`` (Keras's numpy
    backend: unknown sizes are filled with 83, then 89, and sizes that change are None)."""
    dtype = FLOATX.dtype
    unknown = None in _flat_dims(input_shape)
    fills = FILL_SIZES if unknown else FILL_SIZES[:1]
    if _dummy_size(input_shape, fills[-1]) > MAX_DUMMY_ELEMENTS:
        raise ValueError(_no_shape(layer, f"the input shape {input_shape} is too large to run "
                                          "the function on a dummy batch"))
    shapes = []
    for fill in fills:
        try:
            with np.errstate(all="ignore"):
                out = layer.call(_dummy(input_shape, fill, dtype))
            shapes.append(_shapes(out))
        except Exception as err:  # noqa: BLE001  (any failure of user code)
            raise ValueError(_no_shape(layer, f"running it on a dummy batch raised "
                                              f"{type(err).__name__}: {err}")) from None
    try:
        return shapes[0] if len(shapes) == 1 else _merge(*shapes)
    except ValueError as err:
        raise ValueError(_no_shape(layer, str(err))) from None


def _flat_dims(shape: Any) -> list:
    if _is_plain_shape(shape):
        return list(shape)
    return [d for s in shape for d in _flat_dims(s)]


def _no_shape(layer: Any, why: str) -> str:
    return (f"Could not infer the output shape of Lambda layer '{layer.name}' ({why}). "
            "Pass `output_shape=` (the shape without the batch axis, or a function of the "
            "input shape).")


def add_batch(shape: Any, batch: Any) -> Any:
    """Keras: an ``output_shape`` without the batch gets the input's batch size."""
    if _is_plain_shape(shape):
        return (batch, *shape)
    return type(shape)(add_batch(s, batch) for s in shape)


# -- no backward --------------------------------------------------------------------------


class NoGradient:
    """The "gradient" a Lambda passes back: any use of it raises the Lambda's error.

    A Lambda whose inputs need no gradient (e.g. a preprocessing Lambda right after
    an ``Input``) does not stop training; one between trainable layers does, with a
    ValueError that names it, when an upstream backward pass reads this object.
    """

    __array_priority__ = 1e6

    def __init__(self, layer_name: str):
        self.message = (
            f"Cannot train through Lambda layer '{layer_name}': rnnlens cannot differentiate "
            "arbitrary Python code, and a layer before it needs the gradient. Write a Layer "
            "subclass with forward(inputs, training, mask) -> (output, cache) and "
            "backward(cache, d_out) -> (d_inputs, {}, []) instead.")

    def _raise(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(self.message)

    __array__ = __array_ufunc__ = __array_function__ = _raise
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _raise
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = _raise
    __getitem__ = __iter__ = __len__ = __float__ = __bool__ = _raise

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ValueError(self.message)


def no_gradient_for(layer_name: str, inputs_structure: Any) -> Any:
    """A :class:`NoGradient` per input (a list for a list of inputs)."""
    if isinstance(inputs_structure, (list, tuple)):
        return [NoGradient(layer_name) for _ in inputs_structure]
    return NoGradient(layer_name)


__all__ = ["CodeParam", "check_callable", "check_output_shape", "check_mask",
           "check_arguments", "expects", "serialize_function", "serialize_value",
           "infer_output_shape", "add_batch", "NoGradient", "no_gradient_for"]
