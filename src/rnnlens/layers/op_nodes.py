"""Keras ops recorded as graph nodes: ``keras.ops.*`` called on symbolic tensors.

Keras 3 records a call of an op on a symbolic tensor (``ops.exp(x)``, ``x + y``,
``x[:, 0]``, and the mask computations of its layers) as a node of the graph, made by the
op's ``Operation`` class (``Exp``, ``Add``, ``GetItem``, ``NotEqual``, ...). Its saved
config is ``{"name": ..., **constructor arguments}`` and its inbound node holds the call's
arguments (tensors and plain values such as the ``2`` of ``x * 2``). rnnlens does the
same: one :class:`KerasOpNode` subclass per Keras class, generated on first use from
``rnnlens.layers._op_table`` (Keras's own op -> class mapping), whose ``call`` runs the
rnnlens op on arrays

.. math::

    y = \\mathrm{op}(a_1, \\dots, a_n;\\ c_1, \\dots, c_m)

with the call arguments :math:`a_i` and the constructor (config) arguments :math:`c_j`.
Training goes through the autodiff tape: ``forward`` records the op and ``backward``
applies its vector-Jacobian product, :math:`\\bar a_i = (\\partial y / \\partial a_i)^\\top
\\bar y` (an op without a VJP raises the tape's error naming it).

Op nodes are in the graph but not in ``model.layers`` (as in Keras). :data:`OP_REGISTRY`
(Keras class name -> node class, kept apart from the layers: ``Concatenate`` is both a
layer and an op) is what the file reader allows; config values are data only (numbers,
strings, booleans, None and lists of them), checked again by the op when the node is
built.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from rnnlens.layers.base import Layer

#: Aliases Keras resolves to another op's node (``ops.abs`` records ``Absolute``).
ALIASES = {"abs": "absolute", "conj": "conjugate", "swish": "silu", "hard_swish": "hard_silu"}
_MAX_DATA_ITEMS = 4096


class _OpRegistry(dict):
    """Keras op class name -> node class; a class of ``_op_table`` is made on first use."""

    def __missing__(self, key: str) -> type:
        op = _by_class().get(key) if isinstance(key, str) else None
        if op is None:
            raise KeyError(key)
        return _generate(key, op)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (isinstance(key, str) and key in _by_class())

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default


#: Keras op class name -> node class (kept apart from the layers).
OP_REGISTRY: dict[str, type] = _OpRegistry()
_BY_CLASS: dict[str, str] = {}


def _table() -> dict:
    from rnnlens.layers._op_table import OPS

    return OPS


def _by_class() -> dict[str, str]:
    if not _BY_CLASS:
        _BY_CLASS.update({entry[0]: name for name, entry in _table().items()})
    return _BY_CLASS


class OpNode(Layer):
    """A Keras op as a graph node; ``call`` is the op on arrays."""

    is_op = True
    registered = False
    keras_module = "keras.src.ops.numpy"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_") and cls.__dict__.get("op_registered", True):
            dict.__setitem__(OP_REGISTRY, cls.keras_name, cls)

    def __post_init__(self) -> None:
        self.built = True

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        pass

    def convert_inputs(self, inputs: Any) -> Any:
        return np.asarray(inputs)


def is_activation_op(entry: dict) -> bool:
    """A file's entry for an operation of ``keras.activations`` (``ReLU``), which Keras
    saves with the module ``keras.src.activations.activations``."""
    return entry.get("module") == "keras.src.activations.activations" and \
        entry.get("class_name") in ("ReLU",)


def check_data(value: Any, what: str, depth: int = 0) -> Any:
    """``value`` if it is config data (None, bool, int, float, str, or lists / tuples of
    them, bounded), as tuples -> lists; else a TypeError naming ``what``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, (list, tuple)) and depth < 8 and len(value) <= _MAX_DATA_ITEMS:
        return [check_data(v, what, depth + 1) for v in value]
    raise TypeError(f"{what} must be plain data (numbers, strings, booleans, None or lists of "
                    f"them) to be recorded in a graph, received {_short(value)}.")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class KerasOpNode(OpNode):
    """One Keras op class as a graph node (subclasses are generated per class).

    Class attributes:
        op_name: the rnnlens / Keras op (``"exp"``).
        call_args: the op's arguments passed to the node's call, in order (``*name``
            for a variadic one); ``call_keywords`` those passed by keyword.
        init_params: ``{constructor parameter: default}`` in Keras's order (``...``:
            required); the config is ``{"name": ..., **these}``.
    """

    op_name = ""
    call_args: tuple = ()
    call_keywords: tuple = ()
    init_params: dict = {}

    def __init__(self, *args: Any, name: str | None = None, **config: Any):
        # Written by hand: the arguments come from the generated table, not declarations
        # (and some, as ``weights``, would shadow Layer attributes); ``op_config`` holds them.
        Layer.__init__(self, name=name)
        params = type(self).init_params
        if len(args) > len(params):
            raise TypeError(f"{type(self).__name__} takes at most {len(params)} arguments "
                            f"({', '.join(params)}), received {len(args)}.")
        values = dict(zip(params, args))
        for key, value in config.items():
            if key not in params or key in values:
                raise TypeError(f"{type(self).__name__} received an unexpected or repeated "
                                f"argument `{key}` (arguments: {', '.join(params) or 'none'}).")
            values[key] = value
        self.op_config = {}
        for key, default in params.items():
            if key not in values and default is ...:
                raise TypeError(f"{type(self).__name__} is missing the required argument "
                                f"`{key}`.")
            value = check_data(values.get(key, default), f"argument `{key}` of "
                               f"ops.{self.op_name}")
            self.op_config[key] = value
            if not hasattr(Layer, key) and key not in self.__dict__:
                setattr(self, key, value)             # e.g. layer.axis, as Keras's op has
        self.built = True

    # -- Keras config -------------------------------------------------------------

    def get_config(self) -> dict:
        """``{"name": ..., **constructor arguments}``, as Keras's ``Operation``."""
        return {"name": self.name, **self.op_config}

    @classmethod
    def from_config(cls, config: dict) -> "KerasOpNode":
        return cls(**config)

    # -- calling ------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from rnnlens import functional

        if any(isinstance(v, functional.SymbolicTensor) for v in _leaves([args, kwargs])):
            return functional.op_call(self, args, kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args: Any, training: bool = False, **kwargs: Any) -> Any:
        """The op on arrays: ``op(*call arguments, **keywords, **config)``."""
        fn, sig = _op_function(self.op_name)
        named, rest = self.bind_call(args, kwargs)
        named.update(kwargs)
        named.update({k: _tuples(v) for k, v in self.op_config.items()})
        params = sig.parameters
        for key in [k for k, v in named.items() if v is None and k in params
                    and params[k].default is None]:
            del named[key]                # None where None is the default: omitted
        positional: list = []
        if any(p.kind is p.VAR_POSITIONAL for p in params.values()):
            for key, param in params.items():    # einsum(subscripts, *operands)
                if param.kind is param.VAR_POSITIONAL:
                    positional.extend(rest)
                    break
                positional.append(named.pop(key))
        return fn(*positional, **named)

    def bind_call(self, args: tuple, kwargs: dict) -> tuple[dict, list]:
        """The call arguments by name, and those of a variadic argument."""
        unknown = [k for k in kwargs if k not in self.call_keywords]
        if unknown or len(args) < len([a for a in self.call_args if a[0] != "*"]):
            raise TypeError(f"ops.{self.op_name} node '{self.name}' is called with "
                            f"{len(args)} arguments and keywords {sorted(kwargs)}; it takes "
                            f"({', '.join(self.call_args)}; {', '.join(self.call_keywords)}).")
        named, rest = {}, []
        for k, key in enumerate(self.call_args):
            if key.startswith("*"):
                rest = list(args[k:])
                break
            named[key] = args[k]
        else:
            if len(args) > len(self.call_args):
                raise TypeError(f"ops.{self.op_name} node '{self.name}' takes "
                                f"{len(self.call_args)} arguments, received {len(args)}.")
        return named, rest

    def forward(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``call`` recorded on the autodiff tape (``rnnlens.autodiff.layers``)."""
        from rnnlens.autodiff.layers import layer_forward

        seen: set = set()                 # x * x: each argument its own leaf of the tape,
        args = _distinct(args, seen)      # so that each gets its own share of the gradient
        kwargs = {k: _distinct(v, seen) for k, v in kwargs.items()}
        return layer_forward(self, args, kwargs)

    def backward(self, cache: Any, d_out: Any) -> tuple[Any, dict, list[np.ndarray]]:
        """The op's VJP from the tape: ``(dL/d args[0], {position: dL/d arg}, [])``."""
        from rnnlens.autodiff.layers import layer_backward

        return layer_backward(self, cache, d_out)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        """The shapes of the node's outputs (known once it is in a graph)."""
        if not self._inbound_nodes:
            raise ValueError(f"Op node '{self.name}' has no output shape before it is called "
                             "on symbolic tensors.")
        node = self._inbound_nodes[-1]
        return tuple(node.outputs[0].shape) if len(node.outputs) == 1 else \
            [tuple(t.shape) for t in node.outputs]

    def output_specs(self, args: tuple, kwargs: dict) -> Any:
        """``(shape, dtype)`` of each output for symbolic arguments (``_op_probe``)."""
        from rnnlens.layers._op_probe import output_specs

        return output_specs(self, args, kwargs)


def _distinct(value: Any, seen: set) -> Any:
    """``value`` with an array met before replaced by a view of it (a distinct object)."""
    if isinstance(value, np.ndarray):
        if id(value) in seen:
            return value.view()
        seen.add(id(value))
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_distinct(v, seen) for v in value)
    return value


def _tuples(value: Any) -> Any:
    """Config lists as the tuples Keras's op functions are given (``axis=(1, 2)``)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _leaves(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _leaves(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _leaves(item)]
    return [value]


_FUNCTIONS: dict[str, tuple] = {}


def _op_function(op_name: str) -> tuple:
    """The public rnnlens op and its implementation's signature."""
    found = _FUNCTIONS.get(op_name)
    if found is None:
        import rnnlens.ops  # noqa: F401  (registers every op)
        from rnnlens.ops._dispatch import OPS, PUBLIC

        found = _FUNCTIONS[op_name] = (PUBLIC[op_name], inspect.signature(OPS[op_name].impl))
    return found


def _generate(keras_class: str, op_name: str) -> type:
    """The node class of one ``_op_table`` entry (registered by ``__init_subclass__``)."""
    _cls, module, positional, keywords, params = _table()[op_name]
    body = {"op_name": op_name, "call_args": tuple(positional.split()),
            "call_keywords": tuple(keywords.split()), "init_params": dict(params),
            "keras_module": f"keras.src.ops.{module}", "__module__": __name__,
            "__doc__": f"``ops.{op_name}`` as Keras's ``{keras_class}`` graph node."}
    base = _SPECIAL.get(keras_class, KerasOpNode)
    return type(keras_class, (base,), body)


class _GetItem(KerasOpNode):
    """``x[key]``: a key read back from a file is a list; Keras indexes with its tuple."""

    def call(self, x: Any, key: Any = None, training: bool = False) -> Any:
        if isinstance(key, list):
            key = tuple(key)
        return super().call(x, key, training=training)


_SPECIAL: dict[str, type] = {"GetItem": _GetItem}


class _BinaryMaskOp(KerasOpNode):
    """A two-operand mask op; ``call(x, y)`` names the operands as the exporters read them."""

    def call(self, x: Any, y: Any = None, training: bool = False) -> Any:
        return super().call(x, y, training=training)


class _UnaryMaskOp(KerasOpNode):
    """A one-operand mask op; ``call(x)`` as the exporters read it."""

    def call(self, x: Any, training: bool = False) -> Any:
        return super().call(x, training=training)


def _declare(op_name: str) -> Any:
    """Class decorator: an explicitly declared node (the mask ops the exporters know)
    takes its op's entry of ``_op_table``."""

    def apply(cls: type) -> type:
        _cls, module, positional, keywords, params = _table()[op_name]
        cls.op_name, cls.init_params = op_name, dict(params)
        cls.call_args, cls.call_keywords = tuple(positional.split()), tuple(keywords.split())
        cls.keras_module = f"keras.src.ops.{module}"
        return cls

    return apply


@_declare("not_equal")
class NotEqual(_BinaryMaskOp):
    """``x != y`` (Keras's mask of ``Embedding(mask_zero=True)``)."""


@_declare("equal")
class Equal(_BinaryMaskOp):
    """``x == y``."""


@_declare("any")
class AnyOp(_UnaryMaskOp):
    """``any(x, axis, keepdims)``."""

    keras_name = "Any"


@_declare("expand_dims")
class ExpandDims(_UnaryMaskOp):
    """``expand_dims(x, axis)``."""


@_declare("zeros_like")
class ZerosLike(_UnaryMaskOp):
    """``zeros_like(x, dtype)`` (Keras's mask merges use bool)."""

    fill = 0


@_declare("ones_like")
class OnesLike(_UnaryMaskOp):
    """``ones_like(x, dtype)``."""

    fill = 1


@_declare("logical_or")
class LogicalOr(_BinaryMaskOp):
    """``x | y`` (broadcast)."""


@_declare("logical_and")
class LogicalAnd(_BinaryMaskOp):
    """``x & y`` (broadcast)."""


@_declare("concatenate")
class ConcatenateOp(_UnaryMaskOp):
    """``ops.concatenate(xs, axis)`` (not the layer)."""

    keras_name = "Concatenate"


class ReLUOp(KerasOpNode):
    """``keras.activations.relu(x, negative_slope, max_value, threshold)`` on a symbolic
    tensor: Keras's ``activations.ReLU`` operation (not the ``ReLU`` layer),

    .. math::

        y = \\begin{cases} \\min(x, m) & x > t \\\\ 0 & \\text{otherwise}\\end{cases}
            \\; - \\; s\\,\\mathrm{relu}(t - x)

    computed with rnnlens's ops in Keras's order (``leaky_relu`` / ``relu6`` where Keras
    uses them), so that the tape differentiates it.
    """

    keras_name = "ReLU"
    keras_module = "keras.src.activations.activations"
    op_registered = False           # "ReLU" in OP_REGISTRY would shadow the layer in .h5 files
    keras_activation_op = True      # read by is_activation_op, written by the writer
    op_name = "relu"
    call_args = ("x",)
    init_params = {"negative_slope": 0.0, "max_value": None, "threshold": 0.0}

    def call(self, x: Any, training: bool = False) -> Any:
        o = _ops()
        slope, top, threshold = self.negative_slope, self.max_value, self.threshold
        if slope != 0.0:
            if top is None and threshold == 0:
                return o.leaky_relu(x, negative_slope=slope)
            negative = o.relu(o.add(o.negative(x), threshold) if threshold != 0 else
                              o.negative(x))
        clip = top is not None
        if threshold != 0:
            limit = o.cast(threshold, x.dtype)
            x = o.where(o.greater(x, limit), x, 0)
        elif top == 6:
            x, clip = o.relu6(x), False
        else:
            x = o.relu(x)
        if clip:
            x = o.clip(x, o.cast(0.0, x.dtype), o.cast(top, x.dtype))
        if slope != 0.0:
            x = o.subtract(x, o.multiply(slope, negative))
        return x


def _ops() -> Any:
    import rnnlens.ops

    return rnnlens.ops


ReLUOp.__name__ = ReLUOp.__qualname__ = "ReLU"
AnyOp.__name__ = AnyOp.__qualname__ = "Any"             # Keras's op name in summaries
ConcatenateOp.__name__ = ConcatenateOp.__qualname__ = "Concatenate"

__all__ = ["OP_REGISTRY", "OpNode", "KerasOpNode", "NotEqual", "Equal", "AnyOp", "ExpandDims",
           "ZerosLike", "OnesLike", "LogicalOr", "LogicalAnd", "ConcatenateOp", "ReLUOp",
           "check_data", "is_activation_op"]
