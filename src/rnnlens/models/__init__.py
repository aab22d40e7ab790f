"""Models, with Keras's import path: ``from rnnlens.models import Model``."""

from typing import Any

from rnnlens.models.model import Functional, Model, Sequential


def load_model(filepath: Any, limits: Any = None) -> Model:
    """Loads a Keras 3 ``.keras`` file or a legacy Keras ``.h5`` model, safely.

    Nothing in the file is executed or imported: only known layer classes are
    built, sizes are checked before allocation (``rnnlens.interop.Limits``),
    and every refusal is a ``ValueError`` naming the file and the reason.
    """
    from rnnlens.interop.keras_format import load_model as _load

    return _load(filepath, limits)


def save_model(model: Model, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
    """``model.save(filepath)`` (Keras's ``keras.models.save_model``)."""
    from rnnlens.saving import save_model as _save

    _save(model, filepath, overwrite=overwrite, **kwargs)


__all__ = ["Model", "Functional", "Sequential", "load_model", "save_model"]
