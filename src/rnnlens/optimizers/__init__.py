"""Every Keras 3.15.1 optimizer (TensorFlow backend), in NumPy, operation for operation.

``opt.apply_gradients([(grad, var), ...])`` or ``opt.apply(grads, variables)`` updates each
``var`` (a float32 ``np.ndarray``) **in place**, so the caller's arrays change, then adds one
to the iteration count. ``learning_rate`` is a float (held as a float32 variable, as
Keras's), a schedule from :mod:`rnnlens.optimizers.schedules` (evaluated at the iteration
count before the update) or a callable of no arguments; ``opt.learning_rate`` reads the
value for the next update. The arithmetic is Keras's in the variable's dtype (float32):
hyper-parameters are cast to it where Keras casts them, powers of the betas are taken in
float32, and Python-float constants enter as Keras's tensors do.

The classes, one module per family: :class:`SGD` (``sgd``), :class:`Adam` and
:class:`AdamW` (``adam``), :class:`Adamax`, :class:`Nadam`, :class:`Lamb`
(``adam_variants``), :class:`Adagrad`, :class:`Adadelta`, :class:`Ftrl` (``adagrad``),
:class:`RMSprop`, :class:`Lion`, :class:`Adafactor`, :class:`Muon`,
:class:`ScheduleFreeAdamW` (``schedule_free``), :class:`LossScaleOptimizer`
(``loss_scale``) and :class:`MultiOptimizer` with :class:`OptimizerMap` (``multi``: an
optimizer per variable path). Every one takes Keras's common arguments (``weight_decay``, clipping,
EMA, ``loss_scale_factor``, ``gradient_accumulation_steps``; see :class:`Optimizer` and
:mod:`rnnlens.optimizers.base`) and exposes ``variables`` with Keras's names, paths and
order, ``get_config`` / ``from_config`` equal to Keras's, and
``save_own_variables`` / ``load_own_variables`` in Keras's layout.

An ``Embedding``'s gradient (TensorFlow's ``IndexedSlices``) is squared, clipped and
measured row by row where Keras's operations do so (:mod:`rnnlens.optimizers.clipping`).
A ``None`` gradient skips its variable for that step (Keras warns and skips too).
"""

from __future__ import annotations

import inspect
from typing import Any

from rnnlens.optimizers import schedules
from rnnlens.optimizers.adafactor import Adafactor
from rnnlens.optimizers.adagrad import Adadelta, Adagrad, Ftrl
from rnnlens.optimizers.adam import Adam, AdamW
from rnnlens.optimizers.adam_variants import Adamax, Lamb, Nadam
from rnnlens.optimizers.base import Optimizer
from rnnlens.optimizers.lion import Lion
from rnnlens.optimizers.loss_scale import LossScaleOptimizer
from rnnlens.optimizers.multi import MultiOptimizer, OptimizerMap
from rnnlens.optimizers.muon import Muon
from rnnlens.optimizers.rmsprop import RMSprop
from rnnlens.optimizers.schedule_free import ScheduleFreeAdamW
from rnnlens.optimizers.sgd import SGD

#: Keras's ``ALL_OBJECTS_DICT``: class names and their lower-case aliases.
_CLASSES: tuple[type[Optimizer], ...] = (
    Adam, SGD, RMSprop, Adadelta, AdamW, Adagrad, Adamax, Adafactor, Nadam, Ftrl, Lion,
    Lamb, LossScaleOptimizer, MultiOptimizer, Muon, ScheduleFreeAdamW)
_BY_NAME: dict[str, type[Optimizer]] = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{cls.__name__.lower(): cls for cls in _CLASSES}}


def _lookup(name: str) -> type[Optimizer] | None:
    return _BY_NAME.get(name) or _BY_NAME.get(name.lower())


def get(identifier: Any) -> Optimizer | None:
    """An optimizer from a name (``"adam"``, ``"AdamW"``, ..., default arguments), a
    config dict (``serialize``'s, or ``{"class_name": ..., "config": {...}}``), an
    instance (returned as is), a class, or ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer) \
            and identifier is not Optimizer:
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _lookup(identifier)
        if cls is None or cls in (LossScaleOptimizer, MultiOptimizer):
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} "
                             f"(rnnlens knows {sorted(c.__name__ for c in _CLASSES)}).")
        return cls()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} (expected "
                     "a name such as 'adam', an rnnlens optimizer, a config dict or None).")


def serialize(optimizer: Any) -> Any:
    """Keras's serialized form of a built-in optimizer (``keras.optimizers.serialize``)."""
    from rnnlens.saving import serialize_keras_object

    return serialize_keras_object(optimizer)


def deserialize(config: Any, custom_objects: Any = None) -> Optimizer:
    """A built-in optimizer from ``serialize``'s dict or a legacy ``{"class_name",
    "config"}`` dict; nothing is imported or executed."""
    from rnnlens.saving import deserialize_keras_object

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret optimizer config: {str(config)[:200]!r} "
                         "(expected a dict with 'class_name' and 'config').")
    if config.get("module") is not None:
        obj = deserialize_keras_object(config, custom_objects=custom_objects)
        if not isinstance(obj, Optimizer):
            raise ValueError(f"The config names {type(obj).__name__}, not an optimizer.")
        return obj
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) if isinstance(name, str) else None
    cls = cls or (_lookup(name) if isinstance(name, str) else None)
    if cls is None:
        raise ValueError(f"Could not interpret optimizer config: class_name={name!r} is not "
                         f"one of {sorted(c.__name__ for c in _CLASSES)}.")
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise ValueError(f"Optimizer config for {name!r} must be a dict, got "
                         f"{type(inner).__name__}.")
    return cls.from_config(dict(inner), custom_objects=custom_objects)


__all__ = ["serialize", "deserialize", "get", "schedules", "Optimizer", "SGD", "Adam",
           "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Adafactor", "Nadam", "Ftrl",
           "Lion", "Lamb", "Muon", "ScheduleFreeAdamW", "LossScaleOptimizer",
           "MultiOptimizer", "OptimizerMap"]
