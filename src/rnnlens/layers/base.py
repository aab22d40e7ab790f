"""The ``Layer`` base class: names, weights, and the eager / symbolic split.

Calling a layer on NumPy data runs it at once and returns NumPy arrays, as a
Keras layer does in eager mode. Calling it on a symbolic tensor (from
``Input``) records a node in the graph instead (``rnnlens.functional``).
A subclass declares its Keras arguments at the top of the class
(``rnnlens.params``), creates its weights with ``add_weight`` in
``build(input_shape)`` and implements ``call(...)`` on arrays,
``compute_output_shape(...)`` and, to train, ``backward`` beside ``forward``.
Its ``__init__``, ``get_config``, file reading and writing follow from the
declaration; built-in classes are registered by their Keras name
(:data:`REGISTRY`), the allow-list of the model-file reader.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rnnlens import naming
from rnnlens import params as P
from rnnlens.autodiff.tape import ACTIVE as _TAPE
from rnnlens.backend import FLOATX
from rnnlens.weights import WeightOwner


def snake_case(name: str) -> str:
    """``TimeDistributed`` -> ``time_distributed`` (Keras's default layer names)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def format_shape(shape: Any) -> str:
    """``(None, 3, 1)`` as Keras prints it; a list of shapes as ``[(..), (..)]``."""
    if isinstance(shape, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                        for d in shape):
        dims = ", ".join("None" if d is None else str(int(d)) for d in shape)
        return f"({dims},)" if len(shape) == 1 else f"({dims})"
    return "[" + ", ".join(format_shape(s) for s in shape) + "]"


def flatten(structure: Any) -> list:
    """Leaves of nested lists / tuples / dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def to_float_array(value: Any, what: str) -> np.ndarray:
    """Converts user data to float32, with a clear error for non-numeric data."""
    if type(value) is np.ndarray and value.dtype == FLOATX:
        return value
    try:
        arr = np.asarray(value)
        if type(arr) is not np.ndarray:
            arr = arr.view(np.ndarray)                  # Tensor, ArrayWithMask, ...
    except (ValueError, TypeError) as err:
        raise TypeError(f"Received {what} that is not a numeric array ({err}).") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise TypeError(
            f"Received {what} of dtype {arr.dtype}, expected numbers (float32). "
            "Convert the data to a numeric NumPy array first."
        )
    return arr.astype(FLOATX, copy=False)


def _cast_floats(value: Any) -> Any:
    """Float arrays (nested in lists / tuples / dicts too) as ``FLOATX``; others as given."""
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.floating) and value.dtype != FLOATX:
            return value.astype(FLOATX)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floats(v) for v in value)
    if isinstance(value, dict):
        return {k: _cast_floats(v) for k, v in value.items()}
    return value


class ArrayWithMask(np.ndarray):
    """A NumPy array carrying a Keras mask as ``_keras_mask`` ((B, T) bool).

    Returned by eager calls whose output has a mask, so that the next eager
    layer call sees it, as in Keras. Arrays computed from it carry no mask.
    """

    _keras_mask: np.ndarray | None = None


def carried_mask(value: Any) -> Any:
    """The ``_keras_mask`` of an array (a list for a list of arrays), or None."""
    if isinstance(value, (list, tuple)):
        masks = [getattr(v, "_keras_mask", None) for v in value]
        return None if all(m is None for m in masks) else masks
    return getattr(value, "_keras_mask", None)


def strip_mask(value: Any) -> Any:
    """Plain ndarrays (views) instead of ``ArrayWithMask``."""
    if isinstance(value, ArrayWithMask):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(strip_mask(v) for v in value)
    return value


def attach_mask(out: Any, mask: Any) -> Any:
    """``out`` with ``mask`` attached (per element for tuple / list outputs)."""
    if mask is None:
        return out
    if isinstance(out, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] + [None] * (len(out) - 1)
        return type(out)(attach_mask(o, m) for o, m in zip(out, masks))
    if not isinstance(out, np.ndarray) or mask is None:
        return out
    view = out.view(ArrayWithMask)
    view._keras_mask = np.asarray(mask, dtype=bool)
    return view


#: Keras class name -> rnnlens class, for the classes defined by rnnlens itself. This is
#: the model-file reader's allow-list: user subclasses are never built from a file.
REGISTRY: dict[str, type] = {}

_DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                 "registered_name": None}


def dtype_policy(name: str = "float32") -> dict:
    """Keras 3's serialized ``DTypePolicy`` for ``name``."""
    return {**_DTYPE_POLICY, "config": {"name": name}}


class Layer(WeightOwner):
    """Base class of every layer.

    Args:
        name: unique name; Keras's default is the snake_case class name with a
            counter (``lstm``, ``lstm_1``, ...).
        dtype: only ``"float32"`` (or None, or Keras's float32 ``DTypePolicy``).
        trainable: whether training updates its weights.
        activity_regularizer: a penalty on the layer's output added to the loss.
        weights: initial weights, set once the layer is built (as Keras 2 allowed).
        input_shape: optional (T, F, ...) without the batch, as Keras accepts on
            the first layer of a ``Sequential`` (``input_dim=F`` is ``(F,)``).

    Class attributes:
        keras_name: the class name in Keras files (default: the Python name).
        keras_module: the ``module`` written to Keras configs.
        supports_masking: whether a mask passes through the layer to the next.
    """

    supports_masking = False
    keras_module = "keras.layers"
    keras_name: str = "Layer"
    _params: dict = {}
    _generated_init = False

    def __new__(cls, *args: Any, **kwargs: Any) -> "Layer":
        obj = super().__new__(cls)
        if not cls.__module__.startswith("rnnlens."):        # a user's class: Keras's
            from rnnlens.saving.auto_config import auto_config   # automatic get_config

            obj.__dict__["_auto_config"] = auto_config(cls, args, kwargs)
        return obj

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.keras_name = cls.__dict__.get("keras_name", cls.__name__)
        cls._params = cls._declared_params()
        if "__init__" not in cls.__dict__ and _inherits_generated_init(cls):
            cls.__init__ = _make_init(cls)
        if cls.__module__.startswith("rnnlens.") and not cls.__name__.startswith("_") \
                and cls.__dict__.get("registered", True) and not getattr(cls, "is_op", False):
            REGISTRY.setdefault(cls.keras_name, cls)

    @classmethod
    def _declared_params(cls) -> dict:
        return P.declared(cls)

    def __init__(self, *, name: str | None = None, dtype: Any = None, trainable: bool = True,
                 input_shape: Any = None, input_dim: Any = None,
                 activity_regularizer: Any = None, autocast: bool = True,
                 weights: Any = None, **kwargs: Any):
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        self._init_registry()
        check_dtype(dtype, type(self).__name__)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Received name={name!r}, expected a string.")
        self.name = name or naming.unique(snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.built = False
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        self.input_shape_arg = None if input_shape is None else tuple(input_shape)
        self.activity_regularizer = P.Regularizer().check(activity_regularizer, self)
        self._initial_weights = weights                  # Keras's weights=[...] argument
        self._inbound_nodes: list = []

    def __post_init__(self) -> None:
        """Derives what the declared arguments imply (after they are set and checked)."""

    # -- calling -------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        keywords = None
        if not type(self).__module__.startswith("rnnlens."):
            args, kwargs, keywords = self._keras_call_rules(args, kwargs)
            if not self.built:
                self._build_from_call(args, kwargs)
        elif len(args) > 1:
            args, kwargs = self._builtin_positional(args, kwargs)
        if keywords is not None:
            return self._keyword_call(args, kwargs, keywords)
        if _TAPE.get() is not None:                 # inside a call being differentiated
            from rnnlens.autodiff.layers import traced_call

            return traced_call(self, args, kwargs)
        self.__dict__.pop("_rt_losses", None)       # add_loss values of the previous call
        if not kwargs and len(args) == 1 and type(args[0]) is np.ndarray:
            return self._eager_with_masks(args[0], (), {})     # the common eager case
        from rnnlens import functional

        if any(isinstance(v, functional.SymbolicTensor) for v in flatten([args, kwargs])):
            return functional.symbolic_call(self, args, kwargs)
        if not args:
            raise TypeError(f"Layer '{self.name}' was called without an input.")
        return self._eager_with_masks(args[0], args[1:], kwargs)

    def _keras_call_rules(self, args: tuple, kwargs: dict) -> tuple[tuple, dict, Any]:
        """A user layer's call checked as Keras checks it (only tensors by position, no
        tensor in the ``training`` slot); a call by keywords only runs with ``call``'s
        first argument as the input, its keywords kept (as given) for the graph node."""
        from rnnlens.layers import _build_shapes

        if args:
            _build_shapes.check_positional(self, args)
            return args, kwargs, None
        if not kwargs:
            return args, kwargs, None
        new_args, rest = _build_shapes.keyword_call(self, kwargs)
        return new_args, rest, dict(kwargs)

    def _builtin_positional(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """A built-in layer's arguments after the input, bound as Keras binds them
        (``rnnlens.layers._build_shapes.builtin_positional``); models and preprocessing
        layers (Keras lets them take any value by position) keep theirs."""
        from rnnlens.layers import _build_shapes
        from rnnlens.models import Model

        if isinstance(self, Model) or _build_shapes.takes_non_tensors(self):
            return args, kwargs
        from rnnlens import functional

        symbolic = any(isinstance(v, functional.SymbolicTensor) for v in flatten(list(args)))
        return _build_shapes.builtin_positional(self, args, kwargs, symbolic)

    def _keyword_call(self, args: tuple, kwargs: dict, keywords: dict) -> Any:
        """``layer(a=x, b=y)``: run as ``layer(x, b=y)``; a graph node records the call
        as Keras's does (``args`` empty, the keywords as given; ``input_tensors`` in
        Keras's flattening order, keys sorted)."""
        count = len(self._inbound_nodes)
        out = self(*args, **kwargs)
        if len(self._inbound_nodes) > count:
            from rnnlens import functional

            node = self._inbound_nodes[-1]
            node.keras_call = ((), keywords)
            node.input_tensors = [v for v in flatten([keywords[k] for k in sorted(keywords)])
                                  if isinstance(v, functional.SymbolicTensor)]
        return out

    def _eager_with_masks(self, inputs: Any, rest: tuple, kwargs: dict) -> Any:
        """Eager call that passes Keras masks along, as ``x._keras_mask`` does in Keras.

        A mask carried by the input (from ``Masking``, ``Embedding(mask_zero=True)``
        or an upstream ``return_sequences`` layer) is used when ``mask`` is not
        given, and the output carries this layer's output mask.
        """
        carried = carried_mask(inputs)
        plain = strip_mask(inputs)
        previous = kwargs["mask"] if kwargs.get("mask") is not None else carried
        # Keras fills ``mask`` only for a call with one tensor argument: a layer given
        # initial_state runs unmasked (spec section 10.1); its output mask still follows.
        more = any(kwargs.get(k) is not None for k in ("initial_state", "constants")) or \
            any(isinstance(v, np.ndarray) for v in flatten(list(rest)))
        if carried is not None and self.supports_masking and kwargs.get("mask") is None \
                and not more:
            kwargs = {**kwargs, "mask": carried}
        out = self.eager_call(plain, *rest, **kwargs)
        return attach_mask(out, self.compute_mask(plain, previous))

    def eager_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Runs the layer on arrays: convert, build on first use, call. A user's layer
        takes further tensor arguments (``layer(a, b)``, ``layer(a, b=b)``), cast to
        float32 when they are floats as Keras converts them (other dtypes kept)."""
        user = False
        if args or kwargs or isinstance(inputs, (list, tuple, dict)):
            from rnnlens.layers import _build_shapes

            user = _build_shapes.own_call(type(self))
        if args and not user:
            raise TypeError(f"Layer '{self.name}' ({type(self).__name__}) takes one input "
                            f"but received {1 + len(args)} positional arguments; pass a "
                            "list of inputs, or the other values by keyword.")
        if user and type(self).convert_inputs is Layer.convert_inputs and \
                _build_shapes.is_nest_of_arrays(inputs, self.name):
            inputs, shape = _build_shapes.convert_nest(inputs, self.name)  # [a, b]: as given
            if not isinstance(shape, dict):
                self.check_input_shape(list(shape))
        else:
            inputs = self.convert_inputs(inputs)
            shape = ([tuple(x.shape) for x in inputs] if isinstance(inputs, list)
                     else tuple(inputs.shape))
            self.check_input_shape(shape)
        self.maybe_build(shape)
        if user and (args or kwargs):
            args = tuple(_cast_floats(a) for a in args)
            kwargs = {k: (v if k == "mask" else _cast_floats(v)) for k, v in kwargs.items()}
        return self.call(inputs, *args, **kwargs)

    def _build_from_call(self, args: tuple, kwargs: dict) -> None:
        """A user's own ``build`` gets its call's tensor shapes as Keras gives them:
        ``build(self, input_shape)`` the first one's, ``build(self, a_shape, b_shape)``
        each by name for ``call(self, a, b)`` (``rnnlens.layers._build_shapes``)."""
        from rnnlens.layers import _build_shapes

        names = _build_shapes.build_names(self)
        if names is not None:
            _build_shapes.build_from_call(self, names, args, kwargs)

    def maybe_build(self, input_shape: Any) -> None:
        """``build`` on first use, then the ``weights=[...]`` given to the constructor."""
        if not self.built:
            self.build(input_shape)
            self._build_input_shape = input_shape
            if not type(self).__module__.startswith("rnnlens."):
                self.built = True                   # Keras's build wrapper does this
        initial = self.__dict__.get("_initial_weights")
        if initial is not None:
            self._initial_weights = None
            self.set_weights(initial)

    def get_build_config(self) -> dict | None:
        """Keras's ``get_build_config``: ``{"input_shape": s}`` for a layer built with
        one shape, ``{"shapes_dict": {...}}`` for several (``build(self, a_shape,
        b_shape)``), None before it is built."""
        hook = getattr(self, "keras_build_config", None)      # MultiHeadAttention's
        if hook is not None:
            return hook()
        shapes = self.__dict__.get("_build_shapes_dict")
        if shapes is not None:
            if len(shapes) == 1:
                return {"input_shape": next(iter(shapes.values()))}
            return {"shapes_dict": dict(shapes)}
        shape = self.__dict__.get("_build_input_shape")
        return None if shape is None or not self.built else {"input_shape": shape}

    def build_from_config(self, config: Any) -> None:
        """Keras's ``build_from_config``: ``build(config["input_shape"])``, else
        ``build(**config["shapes_dict"])``. A user's ``build`` gets the values as
        stored (lists after a JSON round trip, as Keras passes them); rnnlens's layers
        get tuples."""
        if not config or not isinstance(config, dict):
            return
        if "input_shape" in config:
            shapes = {None: config["input_shape"]}
        elif "shapes_dict" in config and isinstance(config["shapes_dict"], dict):
            shapes = dict(config["shapes_dict"])
        else:
            return
        if type(self).__module__.startswith("rnnlens."):
            if None in shapes:
                self.maybe_build(_as_shape(shapes[None]))
            else:                                   # MultiHeadAttention's shapes
                given = {k: _as_shape(v) for k, v in shapes.items()}
                self.build(**given)
                self.built = True
                if self.__dict__.get("_build_input_shape") is None:
                    self._build_input_shape = list(given.values())
            return
        import inspect

        if None in shapes:
            self.build(shapes[None])
            bound = inspect.signature(self.build).bind(shapes[None])
        else:
            self.build(**shapes)
            bound = inspect.signature(self.build).bind(**shapes)
        self.built = True                                # Keras's build wrapper
        self._build_shapes_dict = dict(bound.arguments)
        self._build_input_shape = next(iter(bound.arguments.values()), None)

    def convert_inputs(self, inputs: Any) -> Any:
        return to_float_array(inputs, f"input to layer '{self.name}'")

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        """Raises a clear ValueError for an input this layer cannot take (by default, one
        that does not fit an ``input_spec`` the layer set: Keras's ``InputSpec`` check)."""
        spec = self.__dict__.get("input_spec")
        if spec is not None:
            from rnnlens.layers.input_spec import assert_input_compatibility

            assert_input_compatibility(spec, shape, self.name)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        """Subclasses define it; for a user class without it, ``call`` runs on zeros."""
        if type(self).__module__.startswith("rnnlens."):
            raise NotImplementedError
        from rnnlens.autodiff.layers import infer_output_shape

        return infer_output_shape(self, input_shape)

    def add_loss(self, loss: Any) -> None:
        """Adds ``sum(loss)`` to the training loss, as Keras's ``add_loss`` (call it in
        ``call``); it is differentiated with the layer (``rnnlens.autodiff``)."""
        from rnnlens.autodiff.layers import add_loss

        add_loss(self, loss)

    @property
    def losses(self) -> list:
        """The ``add_loss`` values of the latest call (sublayers' too), then the weight
        regularization penalties, as Keras's ``layer.losses``."""
        from rnnlens.autodiff.layers import layer_losses

        return layer_losses(self)

    def forward(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``call`` plus the cache that ``backward`` needs (training)."""
        return self.call(*args, **kwargs), None

    def backward(self, cache: Any, d_out: Any) -> tuple[Any, dict, list[np.ndarray]]:
        """``(dL/d input, dL/d other tensor arguments, weight gradients)``."""
        raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) has no backward pass, "
                         "so a model containing it cannot be trained by rnnlens.")

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """The mask of the output, given the input's (None: no mask)."""
        return mask if self.supports_masking else None

    # -- graph tensors (the first call's, as Keras 3) ---------------------------

    @property
    def input(self) -> Any:
        """The input tensor(s) of the layer's first call in a graph (Keras's ``input``)."""
        return self._first_node_attribute("input_tensors", "input")

    @property
    def output(self) -> Any:
        """The output tensor(s) of the layer's first call in a graph (Keras's ``output``)."""
        return self._first_node_attribute("outputs", "output")

    def _first_node_attribute(self, attr: str, what: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {what}.")
        values = getattr(self._inbound_nodes[0], attr)
        return values[0] if isinstance(values, list) and len(values) == 1 else list(values)

    # -- weights (the registry is WeightOwner's) -------------------------------

    def require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' has no weights yet, so {what}() cannot be used. "
                "Build it first: call it on data or on an Input, or call "
                "layer.build(input_shape)."
            )

    def set_weights(self, weights: Any) -> None:
        """Replaces the weights; count and shapes must match ``get_weights()``."""
        self.require_built("set_weights")
        super().set_weights(weights)

    # -- config --------------------------------------------------------------

    def get_config(self) -> dict:
        """Keras 3.15.1's config: the base entries, then each declared argument (for a
        user's class without ``get_config``, Keras's config of its constructor's
        arguments)."""
        if "_auto_config" in self.__dict__:                  # a user's class
            from rnnlens.saving import auto_config

            if auto_config.applies(type(self)):
                return {**auto_config.layer_config(self), "trainable": self.trainable,
                        "dtype": dtype_policy()}
        config = {"name": self.name, "trainable": self.trainable, "dtype": dtype_policy()}
        for key, param in getattr(self, "saved_as", type(self))._params.items():
            config[key] = param.dump(self.config_value(key))
        if "activity_regularizer" not in config and self.activity_regularizer is not None:
            config["activity_regularizer"] = P.Regularizer().dump(self.activity_regularizer)
        return config

    def apply_semantics(self, semantics: Any) -> list[str]:
        """Adopts an older Keras's definitions for a layer loaded from its file.

        ``semantics`` is ``rnnlens.interop.semantics.Semantics``; a class whose
        computation changed between Keras versions overrides this and returns the
        choices it made (one line each). The default changes nothing.
        """
        return []

    def config_value(self, key: str) -> Any:
        """The value written for the declared argument ``key`` (its attribute)."""
        return getattr(self, key)

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """A new layer from ``get_config()`` (or a Keras config dict)."""
        config = dict(config)
        dtype = config.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name")
        for key, param in cls._params.items():          # nested layer configs -> layers
            if isinstance(param, P.Nested) and isinstance(config.get(key), (dict, list)):
                config[key] = param.check(config[key])
        return cls(**config, dtype=dtype)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _as_shape(shape: Any) -> Any:
    """A stored shape as rnnlens's layers take it: a tuple, or a list of tuples."""
    if not isinstance(shape, (list, tuple)):
        raise ValueError(f"Invalid build_config shape {shape!r}: expected a list of "
                         "dimensions (ints or None), or a list of such lists.")
    if shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [tuple(s) for s in shape]
    return tuple(shape)


def check_dtype(dtype: Any, owner: str) -> None:
    """Accepts float32 in any of Keras's spellings; refuses other compute dtypes."""
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    name = getattr(dtype, "name", dtype)
    if dtype is not None and name not in ("float32", np.float32):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            pass
        if name != "float32":
            raise ValueError(f"Received dtype={dtype!r} for {owner}, expected 'float32' (or "
                             "None): rnnlens computes in float32.")


def _inherits_generated_init(cls: type) -> bool:
    for klass in cls.__mro__[1:]:
        if "__init__" in klass.__dict__:
            init = klass.__dict__["__init__"]
            return klass is Layer or getattr(init, "_generated", False)
    return False


#: ``Layer.__init__``'s parameters after ``self`` (the tail of every generated signature).
_BASE_PARAMS: list = []


def _make_init(cls: type) -> Any:
    """The ``__init__`` a declared class gets: bind, check, store, ``__post_init__``."""
    import inspect

    def __init__(self: Layer, *args: Any, **kwargs: Any) -> None:
        params = cls._params
        for old, new in getattr(cls, "keras_aliases", {}).items():
            if old in kwargs:                     # e.g. LeakyReLU(alpha=...), Keras 2's name
                if new in kwargs:
                    raise TypeError(f"{cls.__name__} received both `{old}` (its old name) "
                                    f"and `{new}`; pass `{new}` only.")
                kwargs[new] = kwargs.pop(old)
        values, rest = P.bind(cls, params, args, kwargs)
        Layer.__init__(self, **rest)
        for key, value in values.items():
            setattr(self, key, params[key].check(value, self))
        self.__post_init__()

    if not _BASE_PARAMS:                                     # Layer's, computed once
        _BASE_PARAMS.extend(p for k, p in inspect.signature(Layer.__init__).parameters.items()
                            if k != "self")
    __init__.__signature__ = P.signature(cls._params, _BASE_PARAMS)  # type: ignore[attr-defined]
    __init__.__doc__ = f"Creates a {cls.__name__} (arguments as in Keras; see the class)."
    __init__._generated = True                                     # type: ignore[attr-defined]
    return __init__
