"""Gradient helpers shared by the optimizers: Keras's clipping and TensorFlow's
``IndexedSlices`` arithmetic for an embedding's gradient (:class:`RowGradient`).

Clipping, applied to the whole gradient list before any update, as Keras's base optimizer:

* ``clipnorm``: each gradient on its own, TF's ``clip_by_norm``:
  ``g * clipnorm / max(norm(g), clipnorm)`` (computed even when the norm is below
  ``clipnorm``; a zero gradient stays zero).
* ``global_clipnorm``: all gradients together,
  ``g * clip * min(1 / global_norm, 1 / clip)`` (+ ``global_norm - global_norm``, which turns
  an inf/NaN norm into NaN updates as in Keras).
* ``clipvalue``: ``clip(g, -clipvalue, clipvalue)``.

An embedding's gradient reaches Keras's optimizers as ``IndexedSlices`` (one row per
occurrence of an id): TensorFlow squares, clips and measures such a gradient row by row
before duplicate rows are summed. ``RowGradient`` keeps those rows, and the helpers below
do the same; every other use sees the summed dense array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.weights import RowGradient


def as_grad(g: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float copy of a gradient in the variable's dtype (rows kept for embeddings).

    The copy belongs to the optimizer: an update step may overwrite it (``dense``)."""
    if isinstance(g, RowGradient) and g.rows is not None:
        return RowGradient.of(np.array(g, dtype=dtype), g.rows, g.values.astype(dtype))
    return np.array(g, dtype=dtype, copy=True)


def dense(g: np.ndarray) -> bool:
    """True for a plain gradient (not an embedding's rows): updated in place."""
    return not (isinstance(g, RowGradient) and g.rows is not None)


def plain(g: np.ndarray) -> np.ndarray:
    """The summed dense gradient (what ``tf.convert_to_tensor(IndexedSlices)`` gives)."""
    return np.asarray(g) if not dense(g) else g


def square(g: np.ndarray) -> np.ndarray:
    """``square(gradient)`` as TensorFlow computes it: row by row for an embedding's
    IndexedSlices (duplicates summed after squaring), elementwise otherwise."""
    return rowwise(g, np.square)


def rowwise(g: np.ndarray, fn: Any) -> np.ndarray:
    """An elementwise function TensorFlow applies to IndexedSlices' values (``square``,
    ``abs``), summed into the dense shape afterwards."""
    if isinstance(g, RowGradient) and g.rows is not None:
        out = np.zeros(g.shape, g.dtype)
        np.add.at(out, g.rows, fn(g.values))
        return out
    return fn(g)


def scaled(g: np.ndarray, scale: Any) -> np.ndarray:
    """``g * scale`` keeping an embedding's rows."""
    if isinstance(g, RowGradient) and g.rows is not None:
        return RowGradient.of(np.asarray(g) * scale, g.rows, g.values * scale)
    return g * scale


def divided(g: np.ndarray, scale: Any) -> np.ndarray:
    """``g / scale`` keeping an embedding's rows (``loss_scale_factor``)."""
    if isinstance(g, RowGradient) and g.rows is not None:
        return RowGradient.of(np.asarray(g) / scale, g.rows, g.values / scale)
    return g / scale


def sum_of_squares(g: np.ndarray) -> Any:
    values = g.values if isinstance(g, RowGradient) and g.rows is not None else g
    return np.sum(np.square(values), dtype=g.dtype)


def clip_by_value(g: np.ndarray, clipvalue: float) -> np.ndarray:
    lo, hi = g.dtype.type(-clipvalue), g.dtype.type(clipvalue)
    if isinstance(g, RowGradient) and g.rows is not None:     # clipped row by row
        return RowGradient.from_rows(g.shape, g.rows, np.clip(g.values, lo, hi))
    return np.clip(g, lo, hi)


def clip_by_norm(g: np.ndarray, clipnorm: float) -> np.ndarray:
    """TF's ``clip_by_norm`` over all axes, with its safe norm (0 for an all-zero g)."""
    dt = g.dtype.type
    c = dt(clipnorm)
    l2sum = sum_of_squares(g)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return scaled(g, c / np.maximum(l2norm, c))


def clip_by_global_norm(grads: list[np.ndarray], clip_norm: float) -> list[np.ndarray]:
    """Keras's ``clip_by_global_norm``."""
    dt = grads[0].dtype.type
    squared = np.array([sum_of_squares(g) for g in grads], dtype=grads[0].dtype)
    use_norm = np.sqrt(np.sum(squared, dtype=squared.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = dt(1.0) / use_norm
        scale = dt(clip_norm) * np.minimum(inv, dt(1.0 / clip_norm))
        scale = scale + (use_norm - use_norm)
    # Keras scales with ``v * scale``, which turns TensorFlow's IndexedSlices into a
    # dense tensor: an embedding's rows are summed here (its norm above was not).
    return [np.asarray(g) * g.dtype.type(scale) for g in grads]


def clip(grads: list[np.ndarray], clipnorm: Any, global_clipnorm: Any,
         clipvalue: Any) -> list[np.ndarray]:
    """Keras's ``_clip_gradients``: the first of the three that is set and > 0."""
    if clipnorm and clipnorm > 0:
        return [clip_by_norm(g, clipnorm) for g in grads]
    if global_clipnorm and global_clipnorm > 0:
        return clip_by_global_norm(grads, global_clipnorm)
    if clipvalue and clipvalue > 0:
        return [clip_by_value(g, clipvalue) for g in grads]
    return grads


__all__: list[str] = []
