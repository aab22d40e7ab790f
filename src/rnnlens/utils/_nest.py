"""Nested structures of arrays, as tf.data sees a dataset element.

A *structure* is a leaf (a NumPy array or scalar) or a tuple / dict of structures. Lists
returned by user functions are read as tuples (what tf.data does with a ``map`` result).
Dict keys keep their insertion order.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def is_leaf(x: Any) -> bool:
    return not isinstance(x, (tuple, list, dict))


def flatten(x: Any) -> list[Any]:
    """The leaves of ``x``, depth first (dict values in key order)."""
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in flatten(v)]
    if isinstance(x, (tuple, list)):
        return [leaf for v in x for leaf in flatten(v)]
    return [x]


def map_structure(fn: Callable[..., Any], *xs: Any) -> Any:
    """``fn`` applied leaf by leaf to equally nested structures; TypeError otherwise."""
    first = xs[0]
    if isinstance(first, dict):
        for other in xs[1:]:
            if not isinstance(other, dict) or list(other) != list(first):
                raise TypeError(_mismatch(first, other))
        return {k: map_structure(fn, *(x[k] for x in xs)) for k in first}
    if isinstance(first, (tuple, list)):
        for other in xs[1:]:
            if not isinstance(other, (tuple, list)) or len(other) != len(first):
                raise TypeError(_mismatch(first, other))
        return tuple(map_structure(fn, *items) for items in zip(*xs))
    for other in xs[1:]:
        if not is_leaf(other):
            raise TypeError(_mismatch(first, other))
    return fn(*xs)


def _mismatch(a: Any, b: Any) -> str:
    return (f"Dataset elements have different structures: {_describe(a)} and {_describe(b)}; "
            "every element must have the same tuple/dict nesting.")


def _describe(x: Any) -> str:
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(_describe(v) for v in x) + ")"
    return "array"


def pack_as(structure: Any, leaves: Any) -> Any:
    """``leaves`` (in :func:`flatten` order) put back into the nesting of ``structure``."""
    it = iter(leaves)
    return map_structure(lambda _leaf: next(it), structure)


def stack(elements: list[Any]) -> Any:
    """Stack equally nested elements into one batch along a new axis 0."""

    def stack_leaves(*leaves: Any) -> np.ndarray:
        arrays = [np.asarray(v) for v in leaves]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(
                f"Cannot batch elements of different shapes {sorted(shapes)}; pad them to one "
                "shape first (rnnlens.utils.pad_sequences) or batch them one at a time."
            )
        return np.stack(arrays)

    return map_structure(stack_leaves, *elements)


def unstack(batch: Any) -> list[Any]:
    """Split a batch along axis 0 into its elements (the inverse of :func:`stack`)."""
    leaves = [np.asarray(v) for v in flatten(batch)]
    if any(a.ndim == 0 for a in leaves):
        raise ValueError("Cannot unbatch an element with a 0-d array: every array of a "
                         "batched element needs a leading batch axis.")
    sizes = {a.shape[0] for a in leaves}
    if len(sizes) > 1:
        raise ValueError(f"Cannot unbatch an element whose arrays have different leading "
                         f"sizes {sorted(sizes)}.")
    n = sizes.pop() if sizes else 0
    return [map_structure(lambda a, i=i: np.asarray(a)[i], batch) for i in range(n)]


def as_elements(x: Any) -> Any:
    """A user function's result as a structure: lists become tuples, scalars arrays."""
    if isinstance(x, dict):
        return {k: as_elements(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return tuple(as_elements(v) for v in x)
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)
