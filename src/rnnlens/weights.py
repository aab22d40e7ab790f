"""Checking weight lists given to ``set_weights`` (count, shapes, numbers)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens.backend import FLOATX



def as_list(weights: Any, owner: str) -> list:
    """``weights`` as a list, or a TypeError naming what was received."""
    if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
        raise TypeError(
            f"set_weights of '{owner}' expects a list of arrays (as get_weights() returns), "
            f"received {type(weights).__name__}."
        )
    return list(weights)


def checked(weights: Any, names: Sequence[str], shapes: Sequence[tuple], owner: str
            ) -> list[np.ndarray]:
    """Float32 copies of ``weights`` after checking their count and shapes."""
    weights = as_list(weights, owner)
    if len(weights) != len(shapes):
        listing = ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes))
        raise ValueError(f"Layer '{owner}' expects {len(shapes)} weights ({listing}), "
                         f"but received {len(weights)}.")
    out = []
    for name, shape, w in zip(names, shapes, weights):
        try:
            arr = np.array(w, dtype=FLOATX, copy=True)
        except (TypeError, ValueError):
            raise TypeError(f"Layer '{owner}' weight '{name}' must be numeric, received "
                            f"{type(w).__name__}.") from None
        if arr.shape != tuple(shape):
            raise ValueError(f"Layer '{owner}' weight '{name}' has shape {tuple(shape)}, "
                             f"received an array of shape {arr.shape}.")
        out.append(arr)
    return out


class RowGradient(np.ndarray):
    """The dense gradient of an embedding table, keeping its per-occurrence rows.

    TensorFlow hands Keras an embedding's gradient as ``IndexedSlices``: one row
    per occurrence of an id in the batch. Keras's optimizers then square (Adam,
    RMSprop), clip and measure norms row by row *before* summing duplicates, so
    an id used twice contributes ``g1**2 + g2**2``, not ``(g1 + g2)**2``. This
    array is the summed dense gradient (what every dense use sees) and carries
    ``rows`` (n,) and ``values`` (n, D) for the optimizers to do the same.
    """

    rows: np.ndarray | None = None
    values: np.ndarray | None = None

    @staticmethod
    def of(dense: np.ndarray, rows: np.ndarray, values: np.ndarray) -> "RowGradient":
        out = np.asarray(dense).view(RowGradient)
        out.rows, out.values = rows, values
        return out

    @staticmethod
    def from_rows(shape: tuple, rows: np.ndarray, values: np.ndarray) -> "RowGradient":
        dense = np.zeros(shape, values.dtype)
        np.add.at(dense, rows, values)
        return RowGradient.of(dense, rows, values)
