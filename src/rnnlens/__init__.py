"""rnnlens: Keras-exact recurrent networks in NumPy that let you see inside.

``import rnnlens as keras`` works for Keras-style code: ``rnnlens.layers``,
``rnnlens.models``, ``rnnlens.initializers``, ``rnnlens.activations``,
``rnnlens.utils``. ``rnnlens.trace`` records every step's states and gates.
"""

from rnnlens import activations, backend, initializers, layers, models, utils
from rnnlens.functional import Input
from rnnlens.models import Model, Sequential
from rnnlens.trace import LayerTrace, trace

__version__ = "0.1.0"

__all__ = ["activations", "backend", "initializers", "layers", "models", "utils",
           "Input", "Model", "Sequential", "trace", "LayerTrace", "__version__"]
