"""rnnlens: Keras-exact recurrent networks in NumPy that let you see inside.

``import rnnlens as keras`` works for Keras-style code: every Keras submodule
rnnlens implements is reachable from here (``keras.layers``, ``keras.ops``,
``keras.optimizers``, ``keras.callbacks``, ...), imported on first use so that
``import rnnlens`` stays fast and needs only NumPy. ``rnnlens.trace`` records
every step's states and gates.
"""

from __future__ import annotations

import importlib
from typing import Any

from rnnlens import activations, backend, initializers, layers, models, utils
from rnnlens.functional import Input
from rnnlens.functional import SymbolicTensor as KerasTensor
from rnnlens.layers import Layer
from rnnlens.models import Model, Sequential
from rnnlens.trace import LayerTrace, trace

__version__ = "0.1.0"

#: Submodules imported on first attribute access (Keras's namespaces).
_LAZY_MODULES = ("optimizers", "losses", "metrics", "callbacks", "regularizers", "constraints",
                 "ops", "preprocessing", "saving", "random", "config", "training",
                 "interop", "stream", "tour", "explain", "trace_stats", "plot")

#: Top-level classes Keras exports, from the module that defines them here.
_LAZY_NAMES = {"Loss": ("losses", "Loss"), "Metric": ("metrics", "Metric"),
               "Optimizer": ("optimizers", "Optimizer"),
               "Initializer": ("initializers", "Initializer"),
               "Regularizer": ("regularizers", "Regularizer"),
               "Constraint": ("constraints", "Constraint"),
               "Stream": ("stream", "Stream"),
               "InputSpec": ("layers", "InputSpec")}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        module = importlib.import_module(f"rnnlens.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        module_name, attr = _LAZY_NAMES[name]
        value = getattr(importlib.import_module(f"rnnlens.{module_name}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnnlens' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


def version() -> str:
    """rnnlens's version (``keras.version()`` returns Keras's)."""
    return __version__


__all__ = ["activations", "backend", "initializers", "layers", "models", "utils",
           *_LAZY_MODULES[:11], "Input", "Model", "Sequential", "Layer", "KerasTensor",
           "trace", "LayerTrace", "version", "__version__", *_LAZY_NAMES]
