"""Keras's automatic ``get_config`` for a user's class that does not define one.

Keras's ``Operation.__new__`` binds the constructor's arguments to its signature, fills
in the defaults, expands ``**kwargs``, drops ``self`` and ``name``, and keeps the result
only when every value (nested lists and dicts included) is a ``str``, ``int``,
``float``, ``bool`` or ``None``; ``Layer.get_config`` then returns ``{"name", **those,
"trainable", "dtype"}`` (without ``"name"`` when the constructor takes neither ``name``
nor ``**kwargs``). This applies only while no class between the user's and ``Layer``
defines ``get_config`` (a subclass of a built-in layer keeps the built-in's config). A
class whose constructor takes positional-only or variadic positional arguments, or
non-plain values, gets no automatic config: its ``get_config`` raises
``NotImplementedError``, as Keras's does. Nothing here runs user code beyond reading the
signature.
"""

from __future__ import annotations

import inspect
from typing import Any

_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    return isinstance(value, _PLAIN)


def _keras_layer_init(self: Any, *, activity_regularizer: Any = None, trainable: bool = True,
                      dtype: Any = None, autocast: bool = True, name: Any = None,
                      **kwargs: Any) -> None:
    """The signature of Keras's ``Layer.__init__`` (a class without its own ``__init__``
    records these, in this order)."""


def auto_config(cls: type, args: tuple, kwargs: dict) -> dict | None:
    """The constructor arguments Keras would record for ``cls(*args, **kwargs)``."""
    from rnnlens.layers.base import Layer

    init = cls.__init__
    if init is Layer.__init__ or (getattr(init, "_generated", False) and not cls._params):
        init = _keras_layer_init                   # no constructor of the user's own
    try:
        signature = inspect.signature(init)
        spec = inspect.getfullargspec(init)
        bound = signature.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.POSITIONAL_ONLY for n, p in signature.parameters.items()
           if spec.args and n != spec.args[0]):
        return None
    bound.apply_defaults()
    values = dict(bound.arguments)
    if spec.varkw:
        values.update(values.pop(spec.varkw, {}))
    if spec.args:
        values.pop(spec.args[0], None)
    values.pop("name", None)
    if spec.varargs is not None and values.pop(spec.varargs, ()):
        return None
    return values if _plain(list(values.values())) else None


def applies(cls: type) -> bool:
    """Whether Keras would generate ``cls``'s config: no class from ``cls`` up to ``Layer``
    defines ``get_config``, and none is one of rnnlens's (declared) layers."""
    from rnnlens.layers.base import Layer

    for klass in cls.__mro__:
        if klass is Layer:
            return True
        if "get_config" in klass.__dict__ or klass.__module__.startswith("rnnlens."):
            return False
    return False


def layer_config(layer: Any) -> dict:
    """``{"name", **automatic config}`` of a user's layer, as Keras's
    ``Operation.get_config`` (the caller adds ``trainable`` and ``dtype``)."""
    auto = layer.__dict__.get("_auto_config")
    cls = type(layer)
    if auto is None:
        raise NotImplementedError(
            f"{cls.__name__} has no get_config(), and Keras's automatic config needs a "
            "constructor called with plain values (str, int, float, bool, None, and lists "
            "or dicts of them) and without positional-only or *args arguments. Define "
            f"get_config() returning {{**super().get_config(), <each constructor "
            f"argument>}} in {cls.__name__}.")
    config = {"name": layer.name, **auto}
    init = cls.__init__
    from rnnlens.layers.base import Layer

    if init is not Layer.__init__ and not getattr(init, "_generated", False):
        params = inspect.signature(init).parameters
        kwargs = params.get("kwargs")
        if "name" not in params and not (kwargs is not None and kwargs.kind is
                                         inspect.Parameter.VAR_KEYWORD):
            config.pop("name")          # the constructor could not take it back
    return config


__all__ = ["auto_config", "applies", "layer_config"]
