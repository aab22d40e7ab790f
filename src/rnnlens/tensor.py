"""``Tensor``: a NumPy array that also answers TensorFlow's ``.numpy()``.

Keras code written for the TensorFlow backend calls ``.numpy()`` on what
datasets and ops hand it (``inputs.numpy().shape``, ``y[0].numpy()``). rnnlens
hands out this thin ndarray subclass in those places so that such code runs
unchanged; everywhere else it is an ordinary array. rnnlens's layers convert
their inputs to plain arrays, so the subclass never enters a computation.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Tensor(np.ndarray):
    """An ndarray with ``numpy()`` (a plain-array view), as a TensorFlow eager tensor has."""

    def numpy(self) -> np.ndarray:
        """The same data as a plain NumPy array (no copy)."""
        return self.view(np.ndarray)


def as_tensor(value: Any) -> Any:
    """``value`` (an array, or a tuple / list / dict of them) with arrays as :class:`Tensor`."""
    if isinstance(value, np.ndarray):
        return value.view(Tensor)
    if isinstance(value, tuple):
        return tuple(as_tensor(v) for v in value)
    if isinstance(value, list):
        return [as_tensor(v) for v in value]
    if isinstance(value, dict):
        return {k: as_tensor(v) for k, v in value.items()}
    return value


__all__ = ["Tensor", "as_tensor"]
