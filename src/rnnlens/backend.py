"""The little of ``keras.backend`` / ``keras.config`` that user code touches.

``FLOATX`` is the dtype every array is computed in: float32, as Keras. Tests
switch it to float64 (``set_floatx("float64")``) for finite-difference
gradient checks; everything that allocates reads it at call time.
"""

from __future__ import annotations

import numpy as np

from rnnlens.naming import clear_session


class _FloatX:
    """A switchable dtype: NumPy accepts any object with a ``dtype`` attribute."""

    dtype = np.dtype("float32")

    def __repr__(self) -> str:
        return f"FLOATX({self.dtype})"


FLOATX = _FloatX()


def floatx() -> str:
    """The compute dtype's name (``"float32"`` unless changed)."""
    return FLOATX.dtype.name


def set_floatx(name: str) -> None:
    """Computes in ``"float32"`` (default) or ``"float64"`` from now on."""
    if name not in ("float32", "float64"):
        raise ValueError(f"Received floatx={name!r}, expected 'float32' or 'float64'.")
    FLOATX.dtype = np.dtype(name)


def backend() -> str:
    return "numpy"


__all__ = ["clear_session", "floatx", "set_floatx", "backend", "FLOATX"]
