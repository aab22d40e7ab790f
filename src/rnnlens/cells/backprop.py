"""Pieces every cell's backward pass shares.

A cell's forward step works on one (B, ·) slice; its backward step does the
same in reverse. What does not depend on the future (the states before each
step, activation derivatives, the weight gradients) is computed here for all
steps at once, as a few large matrix multiplies over (T*B, ·).

Dropout masks follow the forward pass: one mask for every gate
(implementation 2) or one per gate block (implementation 1, with recurrent
dropout).

Shape legend: T steps, B batch, F features, u units, G = n_gates * u.
"""

from __future__ import annotations

import numpy as np

from rnnlens import activations
from rnnlens.cells import workspace


def prev_states(record, k: int) -> np.ndarray:
    """State k before every step: (T, B, s), ``[s_0, s_1 .. s_(T-1)]``."""
    states = record.states[k]
    out = workspace.take(states.shape, states.dtype)
    out[0] = record.initial_states[k]
    out[1:] = states[:-1]
    return out


def derivative(fn, z: np.ndarray | None, y: np.ndarray) -> np.ndarray | None:
    """dy/dz for an elementwise activation (None for softmax-like ones).

    ``z`` may be None when the derivative follows from ``y`` alone (tanh,
    sigmoid, linear), which is the common case and saves recomputing z.
    """
    if not activations.is_elementwise(fn):
        return None
    name = activations.serialize(fn)
    if z is None:
        if name == "tanh":
            return 1.0 - y * y
        if name == "sigmoid":
            return y * (1.0 - y)
        if name == "linear":
            return np.ones_like(y)
        raise ValueError("pre-activation needed")
    return activations.backward(fn, z, y, np.ones_like(y))


def needs_preactivation(*fns) -> bool:
    """True unless every activation's derivative follows from its output."""
    return any(activations.serialize(f) not in ("tanh", "sigmoid", "linear") for f in fns)


def apply_derivative(fn, d: np.ndarray | None, z: np.ndarray | None, y: np.ndarray,
                     dy: np.ndarray) -> np.ndarray:
    """dL/dz from dL/dy: elementwise via ``d``, else the activation's own rule."""
    if d is not None:
        return dy * d
    return activations.backward(fn, z, y, dy)


def masked_inputs(xs: np.ndarray, masks: list[np.ndarray] | None, k: int) -> np.ndarray:
    """The input gate block k saw: x, x * m, or x * m_k (per-gate masks)."""
    if masks is None:
        return xs
    return xs * masks[0 if len(masks) == 1 else k]


def weight_grad(inputs: np.ndarray, d_out: np.ndarray, masks: list[np.ndarray] | None,
                u: int) -> np.ndarray:
    """``sum_t inputs_t^T @ d_out_t`` with each gate block's dropout mask.

    inputs: (T, B, F); d_out: (T, B, G). Returns (F, G).
    """
    t, b, f = inputs.shape
    flat_d = d_out.reshape(t * b, -1)
    if masks is None or len(masks) == 1:
        return masked_inputs(inputs, masks, 0).reshape(t * b, f).T @ flat_d
    blocks = [masked_inputs(inputs, masks, k).reshape(t * b, f).T @ flat_d[:, k * u:(k + 1) * u]
              for k in range(flat_d.shape[1] // u)]
    return np.concatenate(blocks, axis=1)


def input_grad(d_out: np.ndarray, w: np.ndarray, masks: list[np.ndarray] | None,
               u: int) -> np.ndarray:
    """dL/d inputs of ``(inputs * mask) @ w``: (..., G) -> (..., F)."""
    if masks is None or len(masks) == 1:
        d = workspace.matmul(d_out, w.T)
        return d if masks is None else d * masks[0]
    return sum((d_out[..., k * u:(k + 1) * u] @ w[:, k * u:(k + 1) * u].T) * masks[k]
               for k in range(d_out.shape[-1] // u))
