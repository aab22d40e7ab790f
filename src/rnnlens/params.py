"""Keras configs declared once: each argument of a layer is one line at the top of its class.

A layer (or cell) lists its Keras arguments as class attributes, in Keras's
signature order, the way it documents them::

    class Dropout(Layer):
        rate = P.Float(min=0.0, max=1.0)          # fraction of the inputs to drop
        noise_shape = P.IntTuple(None, items_none=True)
        seed = P.Seed()

Everything else is derived from that one declaration:

* ``__init__``: positional arguments in the declared order, then keywords; each value
  is checked as Keras checks it (``Param.check``) and stored as an attribute of the
  same name; the class's ``__post_init__`` then derives whatever else it needs;
* ``get_config()``: Keras 3.15.1's config entries (``Param.dump``);
* the file reader (``rnnlens.interop.keras_config``): the class names it accepts are
  the registered classes, the config keys it accepts are the declared ones, and each
  value from an untrusted file is checked (``Param.load``) against the same rules and
  against :class:`rnnlens.interop.Limits` (``cap``) before anything is allocated;
* the writer and ``summary``: the class's ``keras_name`` and ``get_config()``.

A ``Param`` is a non-data descriptor: on the class it is the declaration, on an
instance the attribute holds the checked value.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

REQUIRED = object()
_NO_INIT = object()


class Param:
    """One Keras argument: its default, its check, and how it is written and read.

    Args:
        default: the Keras default; ``REQUIRED`` for a positional argument without one.
        none: whether None is a valid value (besides the default).
        doc: one line for generated signatures and error messages.
    """

    expected = "a valid value"

    def __init__(self, default: Any = REQUIRED, *, none: bool = False, doc: str = ""):
        self.default = default
        self.none = none or default is None
        self.doc = doc
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        raise AttributeError(f"'{type(obj).__name__}' object has no attribute '{self.name}' "
                             "(its __init__ did not set it)")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    # -- the three views of one value ------------------------------------------

    def check(self, value: Any, owner: Any = None) -> Any:
        """The value to store, or a ValueError / TypeError that names the argument."""
        if value is None and self.none:
            return None
        return self.validate(value, owner)

    def validate(self, value: Any, owner: Any) -> Any:
        return value

    def dump(self, value: Any) -> Any:
        """The JSON value Keras writes in a config."""
        return value

    def load(self, raw: Any, reader: Any) -> Any:
        """The value for the constructor, from an untrusted config (checked, capped)."""
        return self.check(raw, None)

    def fail(self, value: Any, owner: Any, expected: str | None = None,
             error: type = ValueError) -> Exception:
        where = f" (in {_owner_name(owner)})" if owner is not None else ""
        return error(f"Received an invalid value for argument `{self.name}`, expected "
                     f"{expected or self.expected}, got {value!r}{where}.")


def _owner_name(owner: Any) -> str:
    if isinstance(owner, type):
        return owner.__name__
    name = getattr(owner, "name", None)
    kind = type(owner).__name__
    return f"{kind} '{name}'" if isinstance(name, str) else kind


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))


class Int(Param):
    """An integer in ``[min, max]``; ``cap`` names the :class:`Limits` field for files."""

    def __init__(self, default: Any = REQUIRED, *, min: int | None = None,
                 max: int | None = None, cap: str | None = "max_dim", none: bool = False,
                 doc: str = ""):
        super().__init__(default, none=none, doc=doc)
        self.min, self.max, self.cap = min, max, cap

    @property
    def expected(self) -> str:
        if self.min == 1 and self.max is None:
            return "a positive integer"
        if self.min == 0 and self.max is None:
            return "a non-negative integer"
        lo = "" if self.min is None else f" >= {self.min}"
        hi = "" if self.max is None else f" <= {self.max}"
        return f"an integer{lo}{' and' if lo and hi else ''}{hi}"

    def validate(self, value: Any, owner: Any) -> int:
        if not _is_int(value):
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)                     # Keras accepts 4.0 for 4
            else:
                raise self.fail(value, owner, error=TypeError if not _is_number(value)
                                else ValueError)
        value = int(value)
        if (self.min is not None and value < self.min) or \
                (self.max is not None and value > self.max):
            raise self.fail(value, owner)
        return value

    def load(self, raw: Any, reader: Any) -> Any:
        if isinstance(raw, float):
            raise reader.refuse(f"`{self.name}`={raw!r} is not an integer.")
        value = self.check(raw, None)
        if value is not None and self.cap is not None:
            reader.cap(value, self.cap, self.name)
        return value


class Float(Param):
    """A finite number in ``[min, max]`` (stored as a Python float)."""

    def __init__(self, default: Any = REQUIRED, *, min: float | None = None,
                 max: float | None = None, none: bool = False, doc: str = ""):
        super().__init__(default, none=none, doc=doc)
        self.min, self.max = min, max

    @property
    def expected(self) -> str:
        if self.min is not None and self.max is not None:
            return f"a float in [{self.min}, {self.max}]"
        if self.min is not None:
            return f"a float >= {self.min}"
        return "a float"

    def validate(self, value: Any, owner: Any) -> float:
        if not _is_number(value):
            raise self.fail(value, owner, error=TypeError)
        value = float(value)
        if not math.isfinite(value) or (self.min is not None and value < self.min) or \
                (self.max is not None and value > self.max):
            raise self.fail(value, owner)
        return value


class Rate(Param):
    """A dropout-like rate: any number, clipped into [0, 1] as Keras's cells clip it."""

    expected = "a float in [0, 1]"

    def validate(self, value: Any, owner: Any) -> float:
        if not _is_number(value) or math.isnan(float(value)):
            raise self.fail(value, owner, error=TypeError if not _is_number(value)
                            else ValueError)
        return min(1.0, max(0.0, float(value)))


class Bool(Param):
    """True or False (Keras also accepts 0 / 1)."""

    expected = "a boolean"

    def validate(self, value: Any, owner: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or (_is_int(value) and value in (0, 1)):
            return bool(value)
        raise self.fail(value, owner, error=TypeError)


class Choice(Param):
    """One of a fixed set of values (strings, or None)."""

    def __init__(self, default: Any = REQUIRED, options: tuple = (), *, lower: bool = False,
                 doc: str = ""):
        super().__init__(default, none=None in options, doc=doc)
        self.options, self.lower = tuple(options), lower

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def validate(self, value: Any, owner: Any) -> Any:
        if self.lower and isinstance(value, str):
            value = value.lower()
        if not isinstance(value, (str, type(None))) or value not in self.options:
            raise self.fail(value, owner)
        return value


class Str(Param):
    """Any string (names, formats); ``max_len`` bounds what a file may hold."""

    expected = "a string"

    def __init__(self, default: Any = REQUIRED, *, none: bool = False, max_len: int = 4096,
                 doc: str = ""):
        super().__init__(default, none=none, doc=doc)
        self.max_len = max_len

    def validate(self, value: Any, owner: Any) -> str:
        if not isinstance(value, str) or len(value) > self.max_len:
            raise self.fail(value, owner, error=TypeError)
        return value


class Const(Param):
    """A key Keras writes that rnnlens accepts with one value only (e.g. no quantization)."""

    def __init__(self, default: Any = None, *, why: str = "", doc: str = ""):
        super().__init__(default, doc=doc)
        self.why = why

    def check(self, value: Any, owner: Any = None) -> Any:
        if value != self.default:
            where = f" for {_owner_name(owner)}" if owner is not None else ""
            raise ValueError(f"Received {self.name}={value!r}{where}; rnnlens supports only "
                             f"{self.default!r}{': ' + self.why if self.why else ''}.")
        return self.default


class IntTuple(Param):
    """A shape-like tuple of integers (``length`` of them if given).

    Args:
        items_none: items may be None (unknown / broadcast dimensions).
        allow_int: an int ``n`` stands for ``(n,) * length`` (pool sizes, strides).
        min: lower bound of each item.
        cap: the :class:`Limits` field each item is checked against in files.
    """

    def __init__(self, default: Any = REQUIRED, *, length: int | None = None,
                 items_none: bool = False, allow_int: bool = False, min: int | None = 1,
                 cap: str | None = "max_dim", none: bool = False, doc: str = ""):
        super().__init__(default, none=none, doc=doc)
        self.length, self.items_none, self.allow_int = length, items_none, allow_int
        self.min, self.cap = min, cap

    @property
    def expected(self) -> str:
        n = f"{self.length} " if self.length else ""
        lo = "positive " if self.min == 1 else ("non-negative " if self.min == 0 else "")
        extra = " (or None)" if self.items_none else ""
        return f"a tuple of {n}{lo}integers{extra}"

    def validate(self, value: Any, owner: Any) -> tuple:
        if self.allow_int and _is_int(value):
            value = (int(value),) * (self.length or 1)
        if not isinstance(value, (tuple, list)) or len(value) > 32 or \
                (self.length is not None and len(value) != self.length):
            raise self.fail(value, owner)
        out = []
        for item in value:
            if item is None and self.items_none:
                out.append(None)
                continue
            if not _is_int(item) or (self.min is not None and item < self.min):
                raise self.fail(value, owner)
            out.append(int(item))
        return tuple(out)

    def dump(self, value: Any) -> Any:
        return None if value is None else list(value)

    def load(self, raw: Any, reader: Any) -> Any:
        value = self.check(raw, None)
        if value is not None and self.cap is not None:
            for item in value:
                if item is not None:
                    reader.cap(item, self.cap, self.name)
        return value


class Axis(Param):
    """An axis (int), or a tuple of axes when ``multiple``."""

    def __init__(self, default: Any = -1, *, multiple: bool = False, none: bool = False,
                 doc: str = ""):
        super().__init__(default, none=none, doc=doc)
        self.multiple = multiple

    @property
    def expected(self) -> str:
        return "an integer axis" + (" or a list of them" if self.multiple else "")

    def validate(self, value: Any, owner: Any) -> Any:
        if _is_int(value) and -32 <= value < 32:
            return int(value)
        if self.multiple and isinstance(value, (list, tuple)) and 0 < len(value) <= 32 and \
                all(_is_int(v) and -32 <= v < 32 for v in value):
            return tuple(int(v) for v in value)
        raise self.fail(value, owner, error=TypeError if not isinstance(
            value, (int, list, tuple)) else ValueError)

    def dump(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value


class Seed(Param):
    """A random seed: an integer or None (Keras cannot reproduce TF's draws anyway)."""

    expected = "an integer or None"

    def __init__(self, default: Any = None, doc: str = ""):
        super().__init__(default, none=True, doc=doc)

    def validate(self, value: Any, owner: Any) -> int:
        if not _is_int(value):
            raise self.fail(value, owner, error=TypeError)
        return int(value)


class Activation(Param):
    """An activation: a Keras name, None (linear) or a callable; files hold names only."""

    expected = "an activation name such as 'tanh', None, or a callable"

    def __init__(self, default: Any = REQUIRED, doc: str = ""):
        super().__init__(default, doc=doc)
        self.none = True

    def check(self, value: Any, owner: Any = None) -> Any:
        from rnnlens import activations

        if any(value is fn for fn in activations.LEGACY.values()):
            return value                            # a Keras 2 file's own definition
        return activations.get(value)

    def dump(self, value: Any) -> Any:
        from rnnlens import activations

        name = activations.serialize(value)
        if name in activations.LEGACY:
            return value            # in memory (get_config, clones); files refuse it
        if not isinstance(name, str):
            raise ValueError(f"Cannot save activation {value!r} of `{self.name}`: only "
                             "Keras's named activations can be written to a Keras file.")
        return name

    def load(self, raw: Any, reader: Any) -> Any:
        if isinstance(raw, dict) and raw.get("module") in ("keras.activations", None) \
                and isinstance(raw.get("config"), str):
            raw = raw["config"]                    # {"class_name": "function", "config": "relu"}
        if raw is not None and not isinstance(raw, str):
            raise reader.refuse(f"`{self.name}` is a serialized custom activation "
                                f"{str(raw)[:80]!r}; only Keras's named activations load.")
        semantics = getattr(reader, "semantics", None)
        if raw == "hard_sigmoid" and semantics is not None and semantics.keras2:
            from rnnlens import activations

            reader.note(f"`{self.name}`='hard_sigmoid' computed as Keras 2's "
                        "clip(0.2 x + 0.5, 0, 1)")
            return activations.hard_sigmoid_keras2
        return self.check(raw, None)


class _Registered(Param):
    """Initializers, regularizers, constraints: objects with a Keras config."""

    module = ""
    kind = ""

    def _mod(self) -> Any:
        raise NotImplementedError

    def check(self, value: Any, owner: Any = None) -> Any:
        if value is None:
            return None
        try:
            return self._mod().get(value)
        except (ValueError, TypeError) as err:
            raise type(err)(f"Received an invalid {self.kind} for argument `{self.name}`"
                            f"{' of ' + _owner_name(owner) if owner is not None else ''}: "
                            f"{err}") from None

    def dump(self, value: Any) -> Any:
        if value is None:
            return None
        return self._mod().serialize(value)

    def load(self, raw: Any, reader: Any) -> Any:
        if raw is not None and not isinstance(raw, (str, dict)):
            raise reader.refuse(f"`{self.name}` is not a {self.kind} name or config.")
        if isinstance(raw, dict) and not isinstance(raw.get("config", {}), dict):
            raise reader.refuse(f"`{self.name}` has a malformed {self.kind} config.")
        return self.check(raw, None)


class Initializer(_Registered):
    """An initializer (name, config dict, instance or callable ``f(shape, dtype)``)."""

    kind = "initializer"

    def _mod(self) -> Any:
        from rnnlens import initializers

        return initializers


class Regularizer(_Registered):
    """A weight or activity regularizer (``rnnlens.regularizers``)."""

    kind = "regularizer"

    def __init__(self, default: Any = None, doc: str = ""):
        super().__init__(default, none=True, doc=doc)

    def _mod(self) -> Any:
        from rnnlens import regularizers

        return regularizers


class Constraint(_Registered):
    """A weight constraint applied after every optimizer update (``rnnlens.constraints``)."""

    kind = "constraint"

    def __init__(self, default: Any = None, doc: str = ""):
        super().__init__(default, none=True, doc=doc)

    def _mod(self) -> Any:
        from rnnlens import constraints

        return constraints


class Nested(Param):
    """A layer (or cell) inside this one, written as its full Keras entry."""

    expected = "a layer instance"

    def __init__(self, default: Any = REQUIRED, *, accept: Callable[[Any], Any] | None = None,
                 many: bool = False, none: bool = False, doc: str = ""):
        super().__init__(default, none=none, doc=doc)
        self.accept, self.many = accept, many

    def check(self, value: Any, owner: Any = None) -> Any:
        if value is None and self.none:
            return None
        if isinstance(value, dict):                     # a config, as from_config passes
            from rnnlens.layers import deserialize

            value = deserialize(value)
        elif self.many and isinstance(value, (list, tuple)):
            from rnnlens.layers import deserialize

            value = [deserialize(v) if isinstance(v, dict) else v for v in value]
        return self.accept(value) if self.accept is not None else value

    def dump(self, value: Any) -> Any:
        if value is None:
            return None
        from rnnlens.interop.keras_writer import layer_entry

        if self.many:
            return [layer_entry(v) for v in value]
        return layer_entry(value)

    def load(self, raw: Any, reader: Any) -> Any:
        if raw is None and self.none:
            return None
        if self.many:
            if not isinstance(raw, list) or not raw:
                raise reader.refuse(f"`{self.name}` is not a non-empty list of layers.")
            return [reader.nested(item, self.name) for item in raw]
        return reader.nested(raw, self.name)


class Json(Param):
    """A small JSON value checked by a function (``validate(value) -> value``)."""

    def __init__(self, default: Any = REQUIRED, *, validate: Callable[[Any], Any],
                 expected: str = "a valid value", none: bool = False, doc: str = ""):
        super().__init__(default, none=none, doc=doc)
        self._validate, self.expected = validate, expected

    def validate(self, value: Any, owner: Any) -> Any:
        try:
            return self._validate(value)
        except (ValueError, TypeError):
            raise self.fail(value, owner) from None


# -- collecting a class's declarations ----------------------------------------------


def declared(cls: type) -> dict[str, Param]:
    """The class's params in declaration order, inherited ones first.

    A subclass removes an inherited param by setting its name to None
    (``noise_shape = None``), and re-declares one to change its default.
    """
    out: dict[str, Param] = {}
    for klass in reversed(cls.__mro__):
        for key, value in vars(klass).items():
            if isinstance(value, Param):
                out[key] = value
            elif value is None and key in out:
                del out[key]
    return out


def bind(cls: type, params: dict[str, Param], args: tuple, kwargs: dict
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Splits a call into declared values (defaults filled in) and the other keywords."""
    names = list(params)
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__} takes at most {len(names)} positional arguments "
                        f"({', '.join(names)}), received {len(args)}.")
    values = dict(zip(names, args))
    for key in list(kwargs):
        if key in params:
            if key in values:
                raise TypeError(f"{cls.__name__} received `{key}` twice (positionally and "
                                "as a keyword).")
            values[key] = kwargs.pop(key)
    for key, param in params.items():
        if key not in values:
            if param.required:
                raise TypeError(f"{cls.__name__} is missing the required argument `{key}`.")
            values[key] = param.default
    return values, kwargs


def signature(params: dict[str, Param], base: list) -> Any:
    """An ``inspect.Signature`` for a generated ``__init__`` (for help() and IDEs)."""
    import inspect

    items = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for key, param in params.items():
        default = inspect.Parameter.empty if param.required else param.default
        items.append(inspect.Parameter(key, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                       default=default))
    items += [p for p in base if p.name not in params]
    return inspect.Signature(items)


__all__ = ["Param", "Int", "Float", "Rate", "Bool", "Choice", "Str", "Const", "IntTuple", "Axis",
           "Seed", "Activation", "Initializer", "Regularizer", "Constraint", "Nested", "Json",
           "REQUIRED", "declared", "bind", "signature"]
