"""SGD, Adam and RMSprop as Keras 3.15.1 (TensorFlow backend) applies them, in NumPy.

``opt.apply_gradients([(grad, var), ...])`` or ``opt.apply(grads, variables)`` updates each
``var`` (a float32 ``np.ndarray``) **in place**, so the caller's arrays change, then adds one
to ``opt.iterations``. ``learning_rate`` is a float, a schedule from
:mod:`rnnlens.optimizers.schedules` or a function of the step; a schedule is evaluated
once per update at ``iterations`` (before the increment), as Keras's base optimizer does,
and ``opt.learning_rate`` reads the value for the next update. The arithmetic is Keras's,
operation for operation, in the variable's dtype (float32): the learning rate is held as
a float32 like Keras's learning-rate variable, hyper-parameters are cast to the
variable's dtype, and Adam's bias correction uses ``beta ** (iterations + 1)`` in float32.

Gradient clipping, applied to the whole list before any update, as Keras's base optimizer:

* ``clipnorm``: each gradient on its own, TF's ``clip_by_norm``:
  ``g * clipnorm / max(norm(g), clipnorm)`` (computed even when the norm is below
  ``clipnorm``; a zero gradient stays zero).
* ``global_clipnorm``: all gradients together,
  ``g * clip * min(1 / global_norm, 1 / clip)`` (+ ``global_norm - global_norm``, which turns
  an inf/NaN norm into NaN updates as in Keras).
* ``clipvalue``: ``clip(g, -clipvalue, clipvalue)``.

At most one of the three may be set; a value of 0 (or ``None``) means no clipping.

Optimizer state ("slots": momentums, velocities, ...) is kept **by position**: the first
call builds one slot per variable, in the order given, and every later call must pass
the variables in the same order with the same shapes (the arrays themselves may be
replaced by others of the same shape; a mismatch raises ``ValueError``). A ``None``
gradient skips its variable for that step (Keras warns and skips too).
``opt.slots`` maps each slot name to its list of arrays, in variable order.
"""

from __future__ import annotations

import inspect
from typing import Any

from rnnlens.optimizers import schedules
from rnnlens.optimizers.adam import Adam
from rnnlens.optimizers.base import Optimizer
from rnnlens.optimizers.rmsprop import RMSprop
from rnnlens.optimizers.sgd import SGD

_BY_NAME: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier: Any) -> Optimizer | None:
    """An optimizer from ``"sgd"``/``"adam"``/``"rmsprop"`` (any case, default arguments),
    a ``{"class_name": ..., "config": {...}}`` dict, an instance (returned as is), a class,
    or ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer) \
            and identifier is not Optimizer:
        return identifier()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _BY_NAME.get(str(name).lower())
        if cls is None:
            raise ValueError(
                f"Received an optimizer config with class_name={name!r}, expected one of "
                "'SGD', 'Adam', 'RMSprop'."
            )
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Received an unknown optimizer identifier: {identifier!r}, expected one of "
                "'sgd', 'adam', 'rmsprop'."
            )
        return cls()
    raise TypeError(
        f"Received optimizer={identifier!r} of type {type(identifier).__name__}, expected a "
        "name ('sgd', 'adam', 'rmsprop'), an rnnlens optimizer or None."
    )


__all__ = ["serialize", "deserialize", "Optimizer", "SGD", "Adam", "RMSprop", "get", "schedules"]


def serialize(obj: Any) -> Any:
    """Keras's serialized form of a built-in optimizer (``keras.optimizers.serialize``)."""
    from rnnlens.saving import serialize_keras_object

    return serialize_keras_object(obj)


def deserialize(config: Any, custom_objects: Any = None) -> Any:
    """A built-in optimizer from ``serialize``'s dict (nothing is imported)."""
    from rnnlens.saving import deserialize_keras_object

    if isinstance(config, dict) and "module" in config:
        return deserialize_keras_object(config, custom_objects=custom_objects)
    return get(config)
