"""Models, with Keras's import path: ``from rnnlens.models import Model``."""

from typing import Any

from rnnlens.models.model import Functional, Model
from rnnlens.models.sequential import Sequential


def load_model(filepath: Any, limits: Any = None, semantics: Any = None, **kwargs: Any
               ) -> Model:
    """Loads a Keras model file, safely: a ``.keras`` file (Keras 3, tf.keras 2.13+), a
    legacy ``.h5`` model (Keras 1 - 3) or a tf.keras SavedModel directory.

    Nothing in the file is executed or imported: only known layer classes are
    built, sizes are checked before allocation (``rnnlens.interop.Limits``),
    and every refusal is a ``ValueError`` naming the file and the reason. The model
    computes what the Keras that saved it computed (``model.keras_file_info`` lists
    the version-dependent choices); ``semantics="keras3"`` (or ``"tf.keras"``,
    ``"keras2"``, a version such as ``"2.2.4"``) overrides the file's version.

    Args:
        filepath: the file or SavedModel directory.
        limits: size caps (``rnnlens.interop.Limits``).
        semantics: which Keras's definitions to compute with (default: the file's).
        compile, custom_objects, safe_mode: see ``rnnlens.saving.load_model``.
    """
    if kwargs:
        from rnnlens.saving import load_model as _saving_load

        return _saving_load(filepath, limits=limits, semantics=semantics, **kwargs)
    from rnnlens.interop.keras_format import load_model as _load

    return _load(filepath, limits, semantics)


def save_model(model: Model, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
    """``model.save(filepath)`` (Keras's ``keras.models.save_model``)."""
    from rnnlens.saving import save_model as _save

    _save(model, filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string: str, custom_objects: Any = None) -> Model:
    """A new model (fresh weights) from ``model.to_json()`` (rnnlens's or Keras's)."""
    from rnnlens.models.cloning import model_from_json as _from_json

    return _from_json(json_string, custom_objects)


def clone_model(model: Model, input_tensors: Any = None, clone_function: Any = None,
                call_function: Any = None, recursive: bool = False, **kwargs: Any) -> Model:
    """The same graph with new layers and fresh weights (``keras.models.clone_model``)."""
    from rnnlens.models.cloning import clone_model as _clone

    return _clone(model, input_tensors, clone_function, call_function, recursive, **kwargs)


__all__ = ["Model", "Functional", "Sequential", "load_model", "save_model", "model_from_json",
           "clone_model"]
