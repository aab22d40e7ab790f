"""Models, with Keras's import path: ``from rnnlens.models import Model``."""

from rnnlens.models.model import Model, Sequential

__all__ = ["Model", "Sequential"]
