"""Keras 3 model configs (``config.json``) to rnnlens layers and graphs, and back.

Reading is an allow-list derived from the layers' own declarations: a class
name not registered by rnnlens (``rnnlens.layers.base.REGISTRY``,
``rnnlens.layers.op_nodes.OP_REGISTRY``) is refused, ``module`` strings are
never imported, a config key a class does not declare is refused, every value
is checked by its declared ``Param``, and every size is checked against
:class:`Limits` before any weight is allocated (the parameter count while
the graph is built, by ``rnnlens.weights.allocation_budget``). The one exception is
a user's layer class that the caller passed in ``custom_objects`` or registered
(``register_keras_serializable``): it is found by the entry's ``registered_name`` and
built by its own ``from_config`` from the config as data, under the same caps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.interop.keras_graph import GraphReader
from rnnlens.layers.base import REGISTRY, Layer, snake_case

_ACTIVITY = P.Regularizer()
_ACTIVITY.name = "activity_regularizer"


class UnsafeModelError(ValueError):
    """A model file was refused: it names the file and the reason."""


@dataclass(frozen=True)
class Limits:
    """What a model file may ask for (documented in the README).

    Attributes:
        max_archive_bytes: size of a ``.keras`` file on disk.
        max_member_bytes: uncompressed size of any one zip member.
        max_config_bytes: size of ``config.json`` / ``model_config``.
        max_members: entries in the zip.
        max_units: ``units`` / ``output_dim`` of any layer.
        max_dim: any dimension of an input shape, ``input_dim``, ``n``.
        max_layers: layers and op nodes in one model.
        max_params: total weights (float32) the configs imply.
        max_depth: nesting of configs (models in models).
    """

    max_archive_bytes: int = 4 << 30
    max_member_bytes: int = 2 << 30
    max_config_bytes: int = 16 << 20
    max_members: int = 64
    max_units: int = 1 << 16
    max_dim: int = 1 << 20
    max_layers: int = 10_000
    max_params: int = 500_000_000
    max_depth: int = 16


#: Keys any layer config may hold besides its declared arguments.
_BASE_KEYS = ("name", "trainable", "dtype")


def allowed_classes() -> list[str]:
    """The layer classes a model file may name (rnnlens's registered layers)."""
    from rnnlens.layers.base import REGISTRY

    return sorted(k for k in REGISTRY if k not in ("Functional", "Model", "Sequential"))


class _Reader(GraphReader):
    """Turns one file's config into rnnlens objects, checking as it goes.

    Every layer entry is checked against its class's declared Keras arguments
    (``rnnlens.params``): unknown classes and unknown keys are refused, each value
    is checked, and sizes are capped by :class:`Limits` before anything exists.
    """

    def __init__(self, source: str, limits: Limits, semantics: Any = None):
        from rnnlens.interop.semantics import KERAS3

        self.source, self.limits = source, limits
        self.semantics = semantics or KERAS3
        self.notes: list[str] = []
        self.count = 0
        self.depth = 0

    def note(self, text: str) -> None:
        """Records a version-dependent choice (shown by ``rnnlens inspect``)."""
        if text not in self.notes and len(self.notes) < 1000:
            self.notes.append(text)

    def refuse(self, reason: str) -> UnsafeModelError:
        return UnsafeModelError(f"Refusing to load {self.source}: {reason}")

    # -- checks --------------------------------------------------------------

    def int_in(self, value: Any, what: str, upper: int, lower: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or not lower <= value <= upper:
            raise self.refuse(f"{what}={value!r} is outside [{lower}, {upper}].")
        return int(value)

    def cap(self, value: int, field: str, what: str) -> None:
        """Refuses ``value`` above the :class:`Limits` field ``field``."""
        upper = getattr(self.limits, field)
        if value > upper:
            raise self.refuse(f"`{what}`={value!r} is over the limit {field}={upper}.")

    def shape(self, shape: Any, what: str) -> tuple:
        if not isinstance(shape, (list, tuple)) or len(shape) > 8:
            raise self.refuse(f"{what} has an invalid shape {shape!r}.")
        return tuple(None if d is None else self.int_in(d, what, self.limits.max_dim)
                     for d in shape)

    def tick(self) -> None:
        self.count += 1
        if self.count > self.limits.max_layers:
            raise self.refuse(f"more than {self.limits.max_layers} layers.")

    def name(self, config: dict) -> str | None:
        name = config.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 256):
            raise self.refuse(f"invalid layer name {name!r}.")
        return name

    # -- layers --------------------------------------------------------------

    def nested(self, item: Any, what: str) -> Any:
        """A layer inside a layer (``Bidirectional.layer``, ``RNN.cell``, ...)."""
        return self.layer(item, self.depth + 1)

    def layer(self, item: dict, depth: int = 0) -> Layer:
        """An rnnlens layer (not yet built) from one ``{"class_name", "config"}``."""
        from rnnlens.layers.base import REGISTRY

        if depth > self.limits.max_depth:
            raise self.refuse("configs nested too deeply.")
        if not isinstance(item, dict):
            raise self.refuse(f"a layer entry is not an object: {str(item)[:80]!r}.")
        cls_name, config = item.get("class_name"), item.get("config", {})
        if cls_name in ("Functional", "Model", "Sequential"):
            if not isinstance(config, dict):
                raise self.refuse(f"the config of a {cls_name} is not an object.")
            self.tick()
            return self.sequential(config, depth + 1) if cls_name == "Sequential" \
                else self.functional(config, depth + 1)
        cls = REGISTRY.get(cls_name) if isinstance(cls_name, str) else None
        if cls is None:
            custom = custom_class(item)
            if custom is not None and REGISTRY.get(getattr(custom, "keras_name", "")) \
                    is not custom:
                return self.custom_layer(custom, config)
            cls = custom
        if cls is None:
            raise self.refuse(f"layer class {cls_name!r} is not one rnnlens knows (allowed: "
                              f"{', '.join(allowed_classes())}, and classes passed in "
                              "custom_objects or registered with "
                              "keras.saving.register_keras_serializable); nothing from the "
                              "file is executed or imported.")
        if not isinstance(config, dict):
            raise self.refuse(f"the config of a {cls_name} layer is not an object.")
        self.tick()
        _check_dtype(self, config)
        outer, self.depth = self.depth, depth
        try:
            kwargs = self.arguments(cls, config)
        finally:
            self.depth = outer
        try:
            layer = cls(**kwargs)
            for text in layer.apply_semantics(self.semantics):
                self.note(text)
        except UnsafeModelError:
            raise
        except (ValueError, TypeError) as err:
            raise self.refuse(f"layer '{kwargs.get('name')}' ({cls_name}) has an invalid "
                              f"config: {err}") from None
        return layer

    def custom_layer(self, cls: type, config: Any) -> Layer:
        """A user's layer class (from ``custom_objects`` or the registry) built with its
        ``from_config`` from the file's config, as Keras's safe mode builds it: the config
        stays data (no lambdas, no imports), weights are counted and zero-filled under the
        same caps, and any error of the class's own code is a refusal."""
        if not isinstance(config, dict):
            raise self.refuse(f"the config of a {cls.__name__} layer is not an object.")
        self.tick()
        _check_dtype(self, config)
        name = self.name(config)
        try:
            layer = cls.from_config(dict(config))
        except UnsafeModelError:
            raise
        except Exception as err:  # noqa: BLE001  (the user's from_config / __init__)
            raise self.refuse(f"custom layer '{name}' ({cls.__name__}) could not be built from "
                              f"its config: {type(err).__name__}: {err}") from None
        if not isinstance(layer, Layer):
            raise self.refuse(f"{cls.__name__}.from_config returned "
                              f"{type(layer).__name__}, not a layer.")
        return layer

    def arguments(self, cls: type, config: dict) -> dict:
        """The constructor's keywords from a config: declared keys only, each checked."""
        kwargs: dict[str, Any] = {"name": self.name(config)}
        if "trainable" in config:
            kwargs["trainable"] = bool(config["trainable"])
        extra = getattr(cls, "accepted_config_keys", ())
        if self.semantics.keras2:                   # Keras 2 defaults for keys it omitted
            for key, value in getattr(cls, "keras2_defaults", {}).items():
                if key not in config:
                    kwargs[key] = value
                    self.note(f"'{kwargs['name']}' ({cls.keras_name}): `{key}` absent, "
                              f"Keras 2's {value!r}")
        aliases = getattr(cls, "keras_aliases", {})     # an older Keras's argument names
        config = {(aliases[k] if k in aliases and aliases[k] not in config else k): v
                  for k, v in config.items()}
        nested_first = sorted(config, key=lambda k: not isinstance(cls._params.get(k),
                                                                   P.Nested))
        for key in nested_first:
            raw = config[key]
            if key in _BASE_KEYS or self.legacy_key(cls, key, raw, kwargs["name"]):
                continue
            param = cls._params.get(key)
            if param is None and key == "activity_regularizer":
                param = _ACTIVITY
            if param is not None:
                try:
                    kwargs[key] = param.load(raw, self)
                except UnsafeModelError:
                    raise
                except (ValueError, TypeError) as err:
                    raise self.refuse(f"layer '{kwargs['name']}' ({cls.keras_name}): "
                                      f"`{key}`={str(raw)[:80]} is invalid: {err}") from None
            elif key in extra:
                kwargs[key] = raw
            else:
                raise self.refuse(f"layer '{kwargs['name']}' ({cls.keras_name}) has the config "
                                  f"key {key!r}, which rnnlens does not know (known: "
                                  f"{', '.join(list(cls._params) + list(extra))}).")
        return kwargs

    def op(self, cls_name: str, config: dict) -> Layer:
        """A Keras op node (mask computations) from its config."""
        from rnnlens.layers.op_nodes import OP_REGISTRY

        cls = OP_REGISTRY[cls_name]
        if not isinstance(config, dict):
            raise self.refuse(f"the config of op {cls_name!r} is not an object.")
        return cls(**self.arguments(cls, {k: v for k, v in config.items()
                                          if k != "dtype" or "dtype" in cls._params}))


def custom_class(item: dict) -> type | None:
    """The user's ``Layer`` class a file's entry names, if the caller made it known:
    ``registered_name`` (``"package>Name"``; the class name for files without one) looked
    up in ``custom_objects`` (the active custom-object scope) and the registry, as Keras's
    ``_retrieve_class_or_fn`` does. Nothing is imported."""
    import inspect

    from rnnlens.saving import object_registration as reg

    name = item.get("registered_name") or item.get("class_name")
    if not isinstance(name, str) or len(name) > 512:
        return None
    found = reg.get_registered_object(name)
    if inspect.isclass(found) and issubclass(found, Layer):
        return found
    return None


def _check_dtype(reader: _Reader, config: dict) -> None:
    dtype = config.get("dtype")
    name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if name not in (None, "float32", "int32", "int64", "bool"):
        raise reader.refuse(f"layer '{config.get('name')}' uses dtype policy {name!r}; "
                            "rnnlens computes in float32 only.")


def is_op_entry(entry: dict) -> bool:
    """A Keras op node (``keras.src.ops...``), as opposed to a layer of the same name."""
    from rnnlens.layers.op_nodes import OP_REGISTRY

    cls, module = entry.get("class_name"), entry.get("module")
    if cls not in OP_REGISTRY:
        return False
    if isinstance(module, str):
        return module.startswith("keras.src.ops")
    config = entry.get("config")                    # legacy .h5 configs name no module:
    if cls not in REGISTRY:                         # a name that is also a layer's
        return True                                 # (Reshape, Concatenate, ...) is an op
    return isinstance(config, dict) and "trainable" not in config   # only without trainable


def read_model_config(config: Any, source: str, limits: Limits, semantics: Any = None,
                      what: str = "config.json", initialize: bool = False) -> Any:
    """The rnnlens model a Keras model config (already parsed JSON) describes.

    While the graph is built, every weight is counted against ``max_params``
    and allocated as zeros (``rnnlens.weights.allocation_budget``): no
    initializer runs, and the file's weights replace the zeros afterwards.
    ``semantics`` (``rnnlens.interop.semantics``) says which Keras's definitions
    apply; the choices made are in ``model.keras_file_info``. With ``initialize`` the
    weights are initialized as the config says (``model_from_json``), still counted.
    """
    from rnnlens.weights import allocation_budget

    reader = _Reader(source, limits, semantics)
    if not isinstance(config, dict):
        raise reader.refuse(f"{what} is not an object.")
    cls = config.get("class_name")
    body = config.get("config")
    if not isinstance(body, dict) and not (cls == "Sequential" and isinstance(body, list)):
        raise reader.refuse(f"{what} has no model config.")
    if cls not in ("Functional", "Model", "Sequential"):
        raise reader.refuse(f"model class {cls!r} is not allowed (allowed: Functional, "
                            "Sequential); subclassed models carry code and cannot be loaded.")
    try:
        with allocation_budget(limits.max_params, reader.refuse, zeros=not initialize):
            model = reader.sequential(body) if cls == "Sequential" else \
                reader.functional(body)
        model.keras_file_info = {"semantics": reader.semantics.flavor,
                                 "keras_version": reader.semantics.version,
                                 "source": reader.semantics.source,
                                 "choices": list(reader.notes)}
        return model
    except UnsafeModelError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError,
            RecursionError) as err:
        raise reader.refuse(f"its config is invalid ({type(err).__name__}: {err})") from None


__all__ = ["Limits", "UnsafeModelError", "read_model_config", "snake_case", "allowed_classes"]
