"""Custom objects: the global registry, ``register_keras_serializable`` and scopes.

As in Keras 3.15.1 (``keras/src/saving/object_registration.py``):

* ``@register_keras_serializable(package="Custom", name=None)`` stores a class or
  function under ``"package>name"`` (``name`` defaults to ``__name__``);
  :func:`get_custom_objects` is that live dict, :func:`get_registered_name` the
  reverse lookup.
* ``with custom_object_scope({"name": obj}):`` makes ``obj`` known by ``name`` inside
  the block; the dict *replaces* any enclosing scope's, as in Keras.
* :func:`get_registered_object` looks a name up in the scope, then the registry, then
  the ``custom_objects`` and ``module_objects`` it is given.

These are the only places deserialization finds non-built-in objects: nothing is
imported by name.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

#: ``"package>name"`` -> registered class or function (Keras's GLOBAL_CUSTOM_OBJECTS).
GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
#: registered object -> ``"package>name"``.
GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_SCOPE = threading.local()


def _scope_dict() -> dict[str, Any]:
    return getattr(_SCOPE, "objects", {})


def _check_objects(custom_objects: Any) -> dict[str, Any]:
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, dict):
        raise TypeError(f"Received custom_objects={custom_objects!r} of type "
                        f"{type(custom_objects).__name__}, expected a dict of "
                        "{name: class or function}.")
    return custom_objects


class CustomObjectScope:
    """Makes custom classes and functions known by name inside a ``with`` block.

    Args:
        custom_objects: a dict ``{name: class or function}`` (None means {}).

    Example:

    >>> with CustomObjectScope({"my_reg": my_reg}):
    ...     layer = deserialize_keras_object(config)     # config names "my_reg"
    """

    def __init__(self, custom_objects: dict[str, Any] | None):
        self.custom_objects = _check_objects(custom_objects)
        self.backup: dict[str, Any] | None = None

    def __enter__(self) -> "CustomObjectScope":
        self.backup = _scope_dict().copy()
        _SCOPE.objects = self.custom_objects.copy()
        return self

    def __exit__(self, *args: Any) -> None:
        _SCOPE.objects = (self.backup or {}).copy()


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict[str, Any]:
    """The live global dict of registered objects (``"package>name"`` -> object).

    Objects of a ``custom_object_scope`` are not in it.
    """
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Any:
    """A decorator registering a class or function as ``"package>name"``.

    Classes must have ``get_config()`` (``ValueError`` otherwise, as Keras).

    Example:

    >>> @register_keras_serializable("my_package")
    ... class MyDense(rnnlens.layers.Dense):
    ...     pass
    >>> get_registered_name(MyDense)
    'my_package>MyDense'
    """
    if not isinstance(package, str):
        raise TypeError(f"Received package={package!r}, expected a string.")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"Received name={name!r}, expected a string or None.")

    def decorator(arg: Any) -> Any:
        if not callable(arg) or not hasattr(arg, "__name__"):
            raise TypeError(f"register_keras_serializable decorates a class or a function, "
                            f"received {arg!r}.")
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() "
                             "method.")
        registered_name = f"{package}>{name if name is not None else arg.__name__}"
        GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj: Any) -> str:
    """``"package>name"`` for a registered object, else its ``__name__``."""
    try:
        if obj in GLOBAL_CUSTOM_NAMES:
            return GLOBAL_CUSTOM_NAMES[obj]
    except TypeError:                                   # unhashable: never registered
        pass
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"Cannot name {obj!r}: it is not registered and has no __name__.")
    return name


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None,
                          module_objects: dict[str, Any] | None = None) -> Any:
    """The object known as ``name``, or None.

    Looks in the active ``custom_object_scope``, then the global registry, then
    ``custom_objects``, then ``module_objects``.
    """
    scope = _scope_dict()
    try:
        if name in scope:
            return scope[name]
        if name in GLOBAL_CUSTOM_OBJECTS:
            return GLOBAL_CUSTOM_OBJECTS[name]
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        if module_objects and name in module_objects:
            return module_objects[name]
    except TypeError:                                   # an unhashable name names nothing
        return None
    return None


__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable"]
