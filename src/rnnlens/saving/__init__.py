"""``keras.saving``: model files, weights, and Keras's object (de)serialization.

* :func:`load_model`, :func:`save_model`, :func:`load_weights`, :func:`save_weights`:
  Keras 3 files through ``rnnlens.interop.keras_format`` (see ``saving_api`` for
  what is not supported yet).
* :func:`serialize_keras_object` / :func:`deserialize_keras_object`: Keras 3.15.1's
  ``{"module", "class_name", "config", "registered_name"}`` dicts for rnnlens's
  layers, initializers, regularizers, constraints, activations, losses, metrics,
  optimizers and schedules. Deserialization builds only built-in classes and the
  objects registered or passed by the caller; nothing is imported or evaluated.
* :func:`register_keras_serializable`, :func:`get_custom_objects`,
  :func:`custom_object_scope` / :class:`CustomObjectScope`,
  :func:`get_registered_name`, :func:`get_registered_object`.

Importing this package needs NumPy only.
"""

from rnnlens.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from rnnlens.saving.saving_api import load_model, load_weights, save_model, save_weights
from rnnlens.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "load_model", "load_weights", "register_keras_serializable", "save_model",
           "save_weights", "serialize_keras_object"]
