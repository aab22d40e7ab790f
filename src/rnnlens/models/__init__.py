"""Models, with Keras's import path: ``from rnnlens.models import Model``."""

from rnnlens.models.model import Functional, Model, Sequential

__all__ = ["Model", "Functional", "Sequential"]
