"""Op nodes from op calls on symbolic tensors, and their output shapes.

:func:`symbolic_op` is what ``rnnlens.ops.<name>(...)`` does when a symbolic tensor is
among its arguments: it splits the call as Keras's op function does (``_op_table``:
constructor arguments -> the node's config, the rest -> the node's call) and records the
node. :func:`output_specs` gives the node's output shapes and dtypes the way a custom
layer's are inferred (``rnnlens.autodiff.layers.infer_output_shape``): the op runs on
dummy arrays whose unknown sizes are 2, then 7 (2: below the known sizes, so that
min(None, 3) is unknown as in Keras); a size that changes between the two is
unknown (None) in the output. The dummies are bounded (:data:`MAX_ELEMENTS`), so a graph
cannot ask for unbounded memory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FILLS = (2, 7)
MAX_ELEMENTS = 1 << 24


def _query_shape(x: Any) -> tuple:
    return tuple(x.shape)


def _query_dtype(x: Any) -> str:
    return x.dtype


def _query_is_tensor(x: Any) -> bool:
    return True


#: Ops that answer about a symbolic tensor instead of recording a node (as Keras's).
_QUERIES = {"shape": _query_shape, "dtype": _query_dtype, "is_tensor": _query_is_tensor}


def symbolic_op(name: str, args: tuple, kwargs: dict) -> Any:
    """``ops.<name>(*args, **kwargs)`` with symbolic tensors: records Keras's node."""
    from rnnlens.layers.op_nodes import ALIASES, OP_REGISTRY, _op_function, _table

    name = ALIASES.get(name, name)
    if name in _QUERIES:
        return _QUERIES[name](*args, **kwargs)
    entry = _table().get(name)
    if entry is None:
        raise TypeError(f"ops.{name} cannot be called on symbolic tensors (from Input or a "
                        "layer): Keras records no graph node for it, or the node would hold "
                        "a Python function. Call it inside a custom layer's call() instead.")
    _fn, sig = _op_function(name)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"ops.{name}: {err}") from None
    bound.apply_defaults()
    values = _standardize(name, bound.arguments)
    cls = OP_REGISTRY[entry[0]]
    node = cls(**{k: values[k] for k in cls.init_params if k in values})
    call_args: list = []
    for key in cls.call_args:
        if key.startswith("*"):
            call_args.extend(values.get(key[1:], ()))
        else:
            call_args.append(values[key])
    return node(*call_args, **{k: values[k] for k in cls.call_keywords})


#: ``keras.activations`` name -> the op its function calls on a symbolic tensor.
_ACTIVATION_OPS = {"exponential": "exp", "swish": "silu", "hard_swish": "hard_silu"}


def symbolic_activation(name: str, x: Any, *args: Any, **kwargs: Any) -> Any:
    """``rnnlens.activations.<name>(x, ...)`` on a symbolic tensor: the node Keras's
    ``keras.activations.<name>`` records (``relu`` -> ``activations.ReLU``, ``gelu`` ->
    ``Gelu`` with the activation's ``approximate=False``, ``exponential`` -> ``Exp``,
    ``linear`` -> ``x`` itself, ...)."""
    import inspect

    from rnnlens import activations
    from rnnlens.layers.op_nodes import ReLUOp, _op_function

    if name == "linear":
        return x
    if name == "relu":
        return ReLUOp(*args, **kwargs)(x)
    op = _ACTIVATION_OPS.get(name, name)
    fn = getattr(activations, name, None)
    try:
        public = _op_function(op)[0]
    except KeyError:
        public = None
    if fn is None or public is None:
        raise TypeError(f"activations.{name} has no Keras op to record on a symbolic "
                        "tensor; use it in a layer (Activation) instead.")
    bound = inspect.signature(fn).bind(x, *args, **kwargs)
    bound.apply_defaults()                         # the activation's defaults (gelu: exact)
    return public(x, **dict(list(bound.arguments.items())[1:]))


#: Ops whose Keras function turns a None dtype into floatx before recording the node.
_DTYPE_DEFAULTS = {"one_hot", "multi_hot", "cast", "saturate_cast"}


def _standardize(name: str, values: dict) -> dict:
    """The constructor arguments as Keras's op function passes them (its own
    normalizations: dtype names, ``data_format``, lowercase ``padding``, ``newshape``
    as a tuple)."""
    from rnnlens.backend import image_data_format
    from rnnlens.ops._dtypes import standardize_dtype

    values = dict(values)
    dtype = values.get("dtype")
    if "dtype" in values and (dtype is not None or name in _DTYPE_DEFAULTS):
        values["dtype"] = standardize_dtype(dtype, f"ops.{name}")
    if "data_format" in values and values["data_format"] is None:
        values["data_format"] = image_data_format()
    for key in ("padding", "reduction"):
        if isinstance(values.get(key), str):
            values[key] = values[key].lower()
    if name == "reshape" and not isinstance(values.get("newshape"), (list, tuple)):
        values["newshape"] = (values["newshape"],)
    return values


def output_specs(layer: Any, args: tuple, kwargs: dict) -> Any:
    """The node's outputs as ``(shape, dtype)`` leaves (nested as the op returns them)."""
    from rnnlens.functional import SymbolicTensor

    tensors = [t for t in _leaves([args, kwargs]) if isinstance(t, SymbolicTensor)]
    bad = [t for t in tensors if t.dtype == "string"]
    if bad:
        raise TypeError(f"ops.{layer.op_name} cannot take the string tensor '{bad[0].name}'.")
    unknown = any(d is None for t in tensors for d in t.shape)
    fills = FILLS if unknown else FILLS[:1]
    size = sum(math.prod(d or fills[-1] for d in t.shape) for t in tensors)
    if size > MAX_ELEMENTS:
        raise ValueError(f"ops.{layer.op_name} on symbolic tensors of shapes "
                         f"{[t.shape for t in tensors]}: the inputs are too large "
                         f"(> {MAX_ELEMENTS} values) to infer the output shape.")
    growth = _growth(layer, args, size)
    if size * growth > MAX_ELEMENTS:
        raise ValueError(f"ops.{layer.op_name} with {layer.op_config} on symbolic tensors of "
                         f"shapes {[t.shape for t in tensors]} would make more than "
                         f"{MAX_ELEMENTS} values while inferring its output shape.")
    outs = [_probe(layer, args, kwargs, fill, tensors) for fill in fills]
    return _merge(outs[0], outs[-1], layer)


def _ints(value: Any) -> list[int]:
    return [abs(int(v)) for v in _leaves([value]) if isinstance(v, (int, np.integer, float))
            and not isinstance(v, bool) and math.isfinite(v)]


def _growth(layer: Any, args: tuple, size: int) -> float:
    """An upper bound of (output size / input size) for the ops whose arguments set the
    output's size (``tile``, ``pad``, ``one_hot``, ``outer``, ``arange``, ...), checked
    before the probe runs: a file cannot make it allocate without bound."""
    config, name = layer.op_config, layer.op_name
    numbers = _ints([config, [a for a in args if not hasattr(a, "shape")]])
    if name == "pad" and args and hasattr(args[0], "shape"):
        dims = [FILLS[-1] if d is None else d for d in args[0].shape]
        widths = _ints(config.get("pad_width"))
        per_axis = [sum(widths[2 * k:2 * k + 2]) if len(widths) >= 2 * len(dims) else
                    2 * max(widths or [0]) for k in range(len(dims))]
        return math.prod((d + w) / d for d, w in zip(dims, per_axis))
    if name in ("tile", "broadcast_to", "repeat", "one_hot", "multi_hot", "bincount",
                "histogram", "arange", "linspace", "logspace", "geomspace", "rfft", "irfft",
                "stft", "istft", "extract_sequences", "vander"):
        return float(math.prod(1 + n for n in numbers))
    if name in ("outer", "kron", "tensordot", "meshgrid", "einsum", "cross"):
        return float(size)
    return 1.0


def _probe(layer: Any, args: tuple, kwargs: dict, fill: int, tensors: list) -> Any:
    from rnnlens.autodiff.tape import ACTIVE

    token = ACTIVE.set(None)
    try:
        errors = []
        for kind in ("uniform", "eye"):
            dummies = {id(t): _dummy(t, fill, kind, k) for k, t in enumerate(tensors)}
            try:
                with np.errstate(all="ignore"):
                    return layer.call(*_substitute(args, dummies),
                                      **_substitute(kwargs, dummies))
            except (ValueError, TypeError, IndexError, ZeroDivisionError) as err:
                errors.append(err)
        shapes = ", ".join(str(t.shape) for t in tensors)
        message = str(errors[0])
        kind = TypeError if isinstance(errors[0], TypeError) else ValueError
        raise kind(message if message.startswith("ops.") else
                   f"ops.{layer.op_name} on symbolic tensors of shapes {shapes}: "
                   f"{message}") from None
    finally:
        ACTIVE.reset(token)


def _dummy(t: Any, fill: int, kind: str, k: int) -> np.ndarray:
    """Values for a symbolic tensor: uniform in (0.1, 0.9) (ints 0, bools True); or,
    if the op refused those, identity matrices (an invertible, positive definite input)."""
    shape = tuple(fill if d is None else d for d in t.shape)
    dtype = np.dtype(t.dtype)
    if dtype.kind == "b":
        return np.ones(shape, dtype)
    if dtype.kind in "iu":
        return np.zeros(shape, dtype)
    if kind == "eye" and len(shape) >= 2 and shape[-1] == shape[-2]:
        return np.broadcast_to(np.eye(shape[-1], dtype=dtype), shape).copy()
    return np.random.default_rng(k).uniform(0.1, 0.9, shape).astype(dtype)


def _substitute(value: Any, dummies: dict) -> Any:
    if id(value) in dummies:
        return dummies[id(value)]
    if isinstance(value, (list, tuple)):
        made = [_substitute(v, dummies) for v in value]
        return tuple(made) if isinstance(value, tuple) else made
    if isinstance(value, dict):
        return {k: _substitute(v, dummies) for k, v in value.items()}
    return value


def _merge(a: Any, b: Any, layer: Any) -> Any:
    """``(shape, dtype)`` leaves; sizes that differ between the two probes are None."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        made = [_merge(x, y, layer) for x, y in zip(a, b)]
        return tuple(made) if isinstance(a, tuple) else made
    if isinstance(a, (np.generic, int, float, bool)):    # ops.ndim, ops.size: a number
        a, b = np.asarray(a), np.asarray(b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == b.ndim:
        shape = tuple(int(x) if x == y else None for x, y in zip(a.shape, b.shape))
        return shape, _dtype_name(a.dtype)
    raise ValueError(f"ops.{layer.op_name} on symbolic tensors: the structure of its output "
                     "depends on the unknown sizes, so it cannot be part of a graph.")


def _dtype_name(dtype: np.dtype) -> str:
    return "bool" if dtype.kind == "b" else dtype.name


def _leaves(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _leaves(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _leaves(item)]
    return [value]


__all__ = ["symbolic_op", "symbolic_activation", "output_specs", "FILLS", "MAX_ELEMENTS"]
