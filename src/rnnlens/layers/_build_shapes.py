"""Keras's match of a user layer's ``build`` parameters with its ``call`` tensors.

Keras 3.15.1 (``Layer._maybe_build``) builds a layer on its first call with the
shapes of the tensor arguments of ``call``, each named after its argument:

    shapes = {f"{name}_shape": shape(value)
              for name, value in call's bound arguments (signature order)
              if value is a tensor, or a non-empty nest of tensors and None,
              and name not in ("mask", "args", "kwargs")}

A ``build`` with exactly one parameter gets the first of these, whatever the
parameter is called (``build(self, input_shape)``; a list input ``layer([a, b])``
gives it the list of shapes). A ``build`` with any other number of parameters
gets them by name: each must be ``<call argument>_shape``
(``build(self, a_shape, b_shape)`` for ``call(self, a, b)``), else Keras's
``ValueError``. The arguments ``build`` received are what Keras saves as its
``build_config``: ``{"input_shape": s}`` for one, ``{"shapes_dict": {...}}`` else.

``Layer.__call__`` uses this for a user's class with its own ``build`` and
``call`` (a nest keeps its lists and tuples: ``layer((a, b))`` builds with a tuple
of shapes, in a graph too).
"""

from __future__ import annotations

import contextvars
import inspect
from typing import Any

import numpy as np

#: The dummy batch size while ``infer_output_shape`` runs a layer's ``call`` on zeros
#: (None otherwise): a user layer built inside that call gets batch None in its shapes,
#: as Keras's symbolic call gives it.
PROBE_BATCH: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "rnnlens_probe_batch", default=None)


def symbolic_batch(shapes: Any) -> Any:
    """``shapes`` (a shape or a nest of them) with a leading dimension equal to the
    probe's dummy batch size as None."""
    batch = PROBE_BATCH.get()
    if batch is None:
        return shapes
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return (None,) + shapes[1:] if shapes and shapes[0] == batch else shapes
    if isinstance(shapes, dict):
        return {k: symbolic_batch(v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(symbolic_batch(v) for v in shapes)
    return shapes


#: class -> the names of its ``build`` parameters that Keras fills (None: Layer's own).
_BUILD_NAMES: dict[type, list[str] | None] = {}

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY,
          inspect.Parameter.KEYWORD_ONLY)


def _own(cls: type, method: str) -> bool:
    """Whether ``cls.<method>`` is defined by a user's class (not by rnnlens)."""
    owner = next((k for k in cls.__mro__ if method in k.__dict__), None)
    return owner is not None and not owner.__module__.startswith("rnnlens.")


_OWN_CALL: dict[type, bool] = {}


def own_call(cls: type) -> bool:
    """Whether a user's class defines ``call`` (it then takes Keras's call arguments)."""
    if cls not in _OWN_CALL:
        _OWN_CALL[cls] = _own(cls, "call")
    return _OWN_CALL[cls]


def build_names(layer: Any) -> list[str] | None:
    """The parameters of a user class's own ``build``, when its ``call`` is its own too
    (None otherwise: rnnlens's layers, and subclasses keeping their ``build`` or
    ``call``, build as rnnlens's class does)."""
    cls = type(layer)
    if cls not in _BUILD_NAMES:
        names = None
        if _own(cls, "build") and own_call(cls):
            try:
                params = inspect.signature(layer.build).parameters.values()
                names = [p.name for p in params if p.kind in _NAMED]
            except (TypeError, ValueError):
                names = None
        _BUILD_NAMES[cls] = names
    return _BUILD_NAMES[cls]


def is_tensor(value: Any) -> bool:
    """An array, a symbolic tensor (``Input``'s) or another array-like with a shape."""
    from rnnlens.functional import SymbolicTensor

    return isinstance(value, (np.ndarray, SymbolicTensor)) or (
        hasattr(value, "__array__") and hasattr(value, "shape"))


def _shape_of(value: Any) -> Any:
    """Keras's ``standardize_shape``: a tuple of ints and None (None stays None)."""
    if value is None:
        return None
    return tuple(None if d is None else int(d) for d in value.shape)


def _map(value: Any, fn: Any) -> Any:
    if isinstance(value, dict):
        return {k: _map(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, fn) for v in value)
    return fn(value)


def _leaves(value: Any) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def is_nest_of_arrays(value: Any, name: str) -> bool:
    """Whether a list / tuple / dict input holds arrays (Keras keeps its structure);
    nested Python numbers are one array. Arrays mixed with other values: ValueError."""
    if not isinstance(value, (list, tuple, dict)):
        return False
    leaves = _leaves(value)
    if not any(is_tensor(v) for v in leaves):
        return False
    if not all(v is None or is_tensor(v) for v in leaves):
        raise ValueError(
            "In a nested call() argument, you cannot mix tensors and non-tensors. "
            f"Received invalid mixed argument: {value!r} (layer '{name}'); pass arrays "
            "only (or None), and other values as separate arguments.")
    return isinstance(value, dict) or len(value) > 0


def convert_nest(value: Any, name: str) -> tuple[Any, Any]:
    """The nest with each array as float32 (None kept), and its nest of shapes."""
    from rnnlens.layers.base import to_float_array

    def convert(x: Any) -> Any:
        return None if x is None else to_float_array(x, f"input to layer '{name}'")

    converted = _map(value, convert)
    return converted, _map(converted, _shape_of)


def call_shapes(layer: Any, args: tuple, kwargs: dict) -> tuple[dict, list[str]]:
    """Keras's ``get_shapes_dict``: ``{"<argument>_shape": shape}`` for the tensor
    arguments of ``layer.call(*args, **kwargs)``, and the names ``call`` takes."""
    try:
        signature = inspect.signature(layer.call)
    except (TypeError, ValueError):
        return {}, []
    kwargs = {k: v for k, v in kwargs.items()           # Keras drops call-context arguments
              if k != "training" or k in signature.parameters}   # call() does not take
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"Layer '{layer.name}' ({type(layer).__name__}) was called with "
                        f"arguments its call() does not take: {err}.") from None
    shapes = {}
    for name, value in bound.arguments.items():
        if name in ("mask", "args", "kwargs"):
            continue
        if is_tensor(value):
            shapes[f"{name}_shape"] = _shape_of(value)
        elif isinstance(value, (list, tuple, dict)) and len(value) > 0:
            leaves = _leaves(value)
            if all(v is None or is_tensor(v) for v in leaves):
                shapes[f"{name}_shape"] = _map(value, _shape_of)
            elif any(is_tensor(v) for v in leaves):
                raise ValueError(
                    "In a nested call() argument, you cannot mix tensors and non-tensors. "
                    f"Received invalid mixed argument: {name}={value!r} (layer "
                    f"'{layer.name}'); pass the non-tensor values as separate arguments.")
    return shapes, list(signature.parameters)


def build_kwargs(layer: Any, names: list[str], shapes: dict, call_names: list[str]) -> dict:
    """Keras's ``update_shapes_dict_for_target_fn`` for a ``build`` of several (or no)
    parameters: each must be ``<call argument>_shape``; the shapes found are passed."""
    cls = type(layer).__name__
    preamble = ("For a `build()` method with more than one argument, all arguments should "
                "have a `_shape` suffix and match an argument from `call()`. E.g. "
                "`build(self, foo_shape, bar_shape)`.")
    found = {}
    for name in names:
        if not name.endswith("_shape"):
            raise ValueError(f"{preamble} For layer '{cls}', received `build()` argument "
                             f"`{name}`, which does not end in `_shape`.")
        if name[:-len("_shape")] not in call_names:
            raise ValueError(f"{preamble} For layer '{cls}', received `build()` argument "
                             f"`{name}`, but `call()` does not have argument "
                             f"`{name[:-len('_shape')]}`.")
        if name in shapes:
            found[name] = shapes[name]
    params = inspect.signature(layer.build).parameters
    missing = [n for n in names if n not in found and params[n].default is params[n].empty]
    if missing:
        wanted = ", ".join(f"`{n}`" for n in missing)
        absent = ", ".join(f"`{n[:-len('_shape')]}`" for n in missing)
        raise TypeError(
            f"Layer '{layer.name}' ({cls}): build() requires {wanted}, but the call gave "
            f"no tensor for {absent}. Pass a tensor for it, or give the build() argument "
            "a default (e.g. `=None`).")
    return found


def build_from_call(layer: Any, names: list[str], args: tuple, kwargs: dict) -> None:
    """Builds ``layer`` from the shapes of its call's tensor arguments, as Keras does,
    and records what ``build`` received (the ``build_config`` Keras would save). A
    one-parameter ``build`` whose call's first argument is no array (nested numbers),
    or whose call does not bind, is left to ``maybe_build`` (the call reports it)."""
    single = len(names) == 1
    try:
        shapes, call_names = call_shapes(layer, args, kwargs)
    except (TypeError, ValueError):
        if single:
            return
        raise
    shapes = symbolic_batch(shapes)
    first = next(iter(shapes.values()), None)
    lead = shapes.get(f"{call_names[0]}_shape") if call_names else None   # call's 1st arg
    if single and lead is None:
        return
    _check_spec(layer, lead)                          # Keras checks the input spec first
    if single:
        given = {names[0]: first}
        layer.build(first)
    else:
        given = build_kwargs(layer, names, shapes, call_names)
        layer.build(**given)
    layer.built = True                               # Keras's build wrapper does this
    layer._build_shapes_dict = given
    layer._build_input_shape = next(iter(given.values())) if len(given) == 1 else first
    _check_spec(layer, lead)                          # and again (build may set it)


def _check_spec(layer: Any, shape: Any) -> None:
    """``check_input_shape`` on the first argument's shape (a list for a nest)."""
    if shape is None or isinstance(shape, dict):
        return
    if isinstance(shape, tuple) and not all(d is None or isinstance(d, int) for d in shape):
        shape = list(shape)
    layer.check_input_shape(shape)


def _call_params(layer: Any) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(layer.call).parameters.values())
    except (TypeError, ValueError):
        return None


def keras_leaves(value: Any) -> list:
    """Keras's ``tree.flatten``: leaves in order, a dict's by sorted key."""
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in keras_leaves(value[k])]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in keras_leaves(v)]
    return [value]


def refuse_non_tensors(layer: Any, args: Any) -> None:
    """Keras's step 2 of ``Layer.__call__``: every leaf of the positional arguments
    must be a tensor (an array, a NumPy scalar, an ``Input``) or None."""
    for value in keras_leaves(list(args)):
        if value is not None and not is_tensor(value):
            raise ValueError(
                "Only input tensors may be passed as positional arguments. The following "
                f"argument value should be passed as a keyword argument: {value} (of type "
                f"{type(value)}) (layer '{layer.name}'; e.g. `layer(x, training=True)`, "
                "or `np.asarray(...)` for data).")


def check_positional(layer: Any, args: tuple) -> None:
    """Keras's rules for a user layer's positional arguments (``Layer.__call__``):

    - only tensors (or None) go by position, the input included: ``layer(x, True)``,
      ``layer([[1., 2.]])`` and ``layer(2.0)`` are Keras's ``ValueError`` ("Only input
      tensors may be passed as positional arguments"); NumPy arrays and scalars and
      lists of arrays are tensors;
    - a tensor in the ``training`` slot by position (``layer(x, t)`` for
      ``call(self, inputs, training=None)``) is Keras's ``TypeError`` (Keras passes
      ``training=`` by keyword as well: "got multiple values for argument").
    """
    if not args:
        return
    refuse_non_tensors(layer, args if own_call(type(layer)) else args[1:])
    if len(args) < 2:
        return
    params = _call_params(layer) or []
    slots = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if "training" in slots[1:len(args)] and args[slots.index("training")] is not None:
        raise TypeError(
            f"{type(layer).__name__}.call() got multiple values for argument 'training': "
            f"layer '{layer.name}' received a tensor for `training` by position, and "
            "Keras passes `training` by keyword too. Pass it as `training=...`.")


#: Keras 3.15.1's positional ``call`` arguments after the input, for rnnlens's layers
#: that go through ``Layer.__call__`` (others take the input alone).
_RNN_SLOTS = ("initial_state", "mask", "training")
KERAS_CALL_SLOTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("Dense", "EinsumDense", "Dropout", "AlphaDropout", "GaussianDropout",
                     "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
                     "SpatialDropout3D", "SpectralNormalization"), ("training",)),
    **dict.fromkeys(("BatchNormalization", "TimeDistributed"), ("training", "mask")),
    **dict.fromkeys(("RNN", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM1D",
                     "ConvLSTM2D", "ConvLSTM3D"), _RNN_SLOTS),
    **dict.fromkeys(("GlobalAveragePooling1D", "GlobalAvgPool1D", "Softmax"), ("mask",)),
}


def takes_non_tensors(layer: Any) -> bool:
    """Keras's ``_allow_non_tensor_positional_args``: its preprocessing layers (but
    ``STFTSpectrogram``) take any value by position."""
    return type(layer).__module__.startswith("rnnlens.layers.preprocessing") and \
        getattr(layer, "keras_name", "") != "STFTSpectrogram"


def builtin_positional(layer: Any, args: tuple, kwargs: dict,
                       symbolic: bool) -> tuple[tuple, dict]:
    """A built-in layer's positional arguments after the input, bound as Keras binds
    them: a non-tensor is Keras's ``ValueError``; more than Keras's ``call`` takes is
    its ``TypeError`` ("too many positional arguments"), as is a tensor in the
    ``training`` slot ("got multiple values"); None stays the default; a tensor goes
    to its argument by keyword (``LSTM(4)(x, [h, c])`` is ``initial_state``; kept by
    position in a graph, where Keras's node records it so)."""
    refuse_non_tensors(layer, args[1:])
    cls = type(layer).__name__
    slots = KERAS_CALL_SLOTS.get(getattr(layer, "keras_name", cls), ())
    if len(args) - 1 > len(slots):
        raise TypeError(f"too many positional arguments: {cls}.call() takes "
                        f"{1 + len(slots)} ({', '.join(('inputs',) + slots)}), layer "
                        f"'{layer.name}' received {len(args)}. Pass a list of inputs as "
                        "one argument, and other values by keyword.")
    kwargs = dict(kwargs)
    keep = list(args[:1])
    for name, value in zip(slots, args[1:]):
        if name in kwargs:
            raise TypeError(f"{cls}.call() got multiple values for argument '{name}' "
                            f"(layer '{layer.name}'; by position and by keyword).")
        if value is None:
            continue
        if name == "training":
            raise TypeError(f"{cls}.call() got multiple values for argument 'training': "
                            f"layer '{layer.name}' takes one input tensor by position and "
                            "received a tensor for `training`. Pass a list of inputs as "
                            "one argument, and `training=...` by keyword.")
        if symbolic and name == "initial_state" and len(keep) == 1:
            keep.append(value)
        else:
            kwargs[name] = value
    return tuple(keep), kwargs


def keyword_call(layer: Any, kwargs: dict) -> tuple[tuple, dict]:
    """A user layer called with keywords only (``layer(a=x, b=y)`` for
    ``call(self, a, b)``), as rnnlens runs it: ``call``'s first argument becomes the
    input (``layer(x, b=y)``, the same call). Keras's node keeps the keywords as given
    (``{"args": [], "kwargs": {"a": ..., "b": ...}}``); ``Layer.__call__`` records
    them on the node for the ``.keras`` writer."""
    params = _call_params(layer)
    first = params[0] if params else None
    if first is None or first.kind not in (first.POSITIONAL_ONLY,
                                           first.POSITIONAL_OR_KEYWORD) \
            or first.name not in kwargs:
        raise TypeError(
            f"Layer '{layer.name}' was called without an input: a call by keywords only "
            "needs the first argument of call()"
            + (f" (`{first.name}=`)" if first is not None else "") + " among them.")
    value = kwargs[first.name]
    if not (is_tensor(value) or (isinstance(value, (list, tuple, dict)) and value
                                 and all(v is None or is_tensor(v) for v in _leaves(value)))):
        raise TypeError(f"Layer '{layer.name}' received `{first.name}={value!r}`; the "
                        "first argument of call() must be a tensor (or a list of them).")
    rest = {k: v for k, v in kwargs.items() if k != first.name}
    return (value,), rest
