"""Multi-head scaled dot-product attention over any ``attention_axes`` (Keras's einsums).

The projected tensors have shape ``(B, <other axes>, N, H)``: rank r, heads at r - 2,
channels at r - 1. Keras's ``_build_attention_equation`` treats every axis that is
neither an attention axis nor the channels as a batch axis (the heads included), so
with ``perm = batch axes + attention axes + [r - 1]`` each tensor becomes a stack of
matrices and both einsums are matrix products::

    Q' = Q.transpose(perm) -> (batch..., Tq, H)      Tq = product of the attention sizes
    S  = Q' K'^T          -> (batch..., Tq, Tk)      scores, Keras's layout before reshape
    O' = P V'             -> (batch..., Tq, Hv),     O = O'.transpose(inverse perm)

``P`` is the masked softmax over the key attention axes: Keras's ``Softmax`` layer
(``where(mask, S, -1e9)``, softmax, ``where(mask, P, 0)``, so a fully masked row is
0) when the scores are returned, there is dropout or the inputs are not 3-D; else
TensorFlow's ``dot_product_attention`` (``where(mask, S, -0.7 * 3.38953e38)``,
softmax, so a fully masked row is uniform).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens.layers.attention.attention import softmax_backward, softmax_last

#: TensorFlow's ``_get_large_negative(float32)`` in ``dot_product_attention``.
TF_LARGE_NEGATIVE = 3.38953e38 * -0.7
#: Keras's ``Softmax`` layer's ``_large_negative_number(float32)``.
SOFTMAX_LARGE_NEGATIVE = -1e9


class HeadAxes:
    """The permutation that turns Keras's attention einsums into matrix products.

    Args:
        rank: rank of the projected tensors (input rank + 1).
        attention_axes: the normalized attention axes (in Keras's order).
    """

    def __init__(self, rank: int, attention_axes: tuple[int, ...]):
        self.rank, self.axes = rank, tuple(attention_axes)
        self.batch = tuple(i for i in range(rank) if i not in self.axes and i != rank - 1)
        self.perm = self.batch + self.axes + (rank - 1,)
        self.inverse = tuple(int(i) for i in np.argsort(self.perm))

    def split(self, x: np.ndarray) -> tuple[np.ndarray, tuple, tuple]:
        """``x`` as (batch..., T, C), with its batch sizes and attention sizes."""
        t = x.transpose(self.perm)
        nb = len(self.batch)
        batch, attn = t.shape[:nb], t.shape[nb:-1]
        return t.reshape(batch + (math.prod(attn), t.shape[-1])), batch, attn

    def merge(self, y: np.ndarray, batch: tuple, attn: tuple) -> np.ndarray:
        """Inverse of ``split`` for a (batch..., T, C) array."""
        return y.reshape(batch + attn + (y.shape[-1],)).transpose(self.inverse)

    def score_shape(self, batch: tuple, q_attn: tuple, k_attn: tuple) -> tuple:
        """Keras's scores layout: (batch..., query attention..., key attention...)."""
        return batch + q_attn + k_attn


def expand_mask(mask: np.ndarray, n_axes: int, rank: int, owner: str) -> np.ndarray:
    """Keras's ``_masked_softmax`` expansion: insert axes at ``-2 * n_axes - 1``."""
    axis = -2 * n_axes - 1
    while mask.ndim < rank:
        if axis < -mask.ndim - 1:
            raise ValueError(f"{owner}: an attention mask of shape {mask.shape} cannot be "
                             f"expanded to the scores' rank {rank} (Keras inserts axes at "
                             f"{axis}); pass a mask of rank >= {-axis - 1}.")
        mask = np.expand_dims(mask, axis)
    return mask


def fit_mask(mask: np.ndarray, shape: tuple, owner: str) -> np.ndarray:
    """``mask`` broadcast to the scores' ``shape``, or a ValueError that says why."""
    if mask.ndim > len(shape) or any(m not in (1, s) for m, s in zip(mask.shape[::-1],
                                                                      shape[::-1])):
        raise ValueError(f"{owner}: the attention mask of shape {mask.shape} (after Keras's "
                         f"broadcasting) does not fit the attention scores of shape {shape}; "
                         "each mask dimension must be 1 or match. An attention_mask is "
                         "(batch, query steps, key steps).")
    return np.broadcast_to(mask, shape)


def masked_softmax(scores: np.ndarray, keep: np.ndarray | None, fast: bool
                   ) -> np.ndarray:
    """P over the last axis, masked as Keras's Softmax layer or TF's fused attention."""
    if keep is None:
        return softmax_last(scores)
    if fast:
        return softmax_last(np.where(keep, scores, scores.dtype.type(TF_LARGE_NEGATIVE)))
    p = softmax_last(np.where(keep, scores, scores.dtype.type(SOFTMAX_LARGE_NEGATIVE)))
    return np.where(keep, p, p.dtype.type(0))


def masked_softmax_backward(p: np.ndarray, keep: np.ndarray | None, d_p: np.ndarray
                            ) -> np.ndarray:
    """dS for ``masked_softmax`` (masked entries get no gradient)."""
    zero = d_p.dtype.type(0)
    if keep is None:
        return softmax_backward(p, d_p)
    return np.where(keep, softmax_backward(p, np.where(keep, d_p, zero)), zero)


def attention_backward(dense: tuple, attend_backward: Any, cache: dict, d_out: Any,
                       fold: Any = None) -> tuple[list, dict, list]:
    """MultiHeadAttention's / GroupQueryAttention's backward; ``dense`` is their (query,
    key, gate or None, value, output) projections, ``fold`` GroupQueryAttention's sum of
    the repeated key / value heads' gradients::

        dO = dy Wo^T;  with a gate g: d(gate input) = dO * O,  dO = dO * g
        dQ, dK, dV = the attention core's backward of dO (and of d scores when returned)
        d query = dQ Wq^T (+ the gate's),  d key = fold(dK) Wk^T,  d value = fold(dV) Wv^T

    Returns ``[d query, d value(, d key)]`` (no key: its gradient adds to the value's),
    ``{}`` and the weight gradients in Keras's order."""
    query, key, gate_dense, value, output = dense
    d_out, d_scores = d_out if cache["scores_out"] else (d_out, None)
    q_cache, k_cache, v_cache, o_cache = cache["caches"]
    y = o_cache[2]
    d_y = np.zeros_like(y) if d_out is None else np.asarray(d_out, y.dtype)   # (B, T, E)
    d_o, _, g_out = output.backward(o_cache, d_y)                             # (B, T, N, Hv)
    gate, gate_cache, o = cache["gate"]
    g_gate, d_q_gate = [], None
    if gate is not None:
        d_q_gate, _, g_gate = gate_dense.backward(gate_cache, d_o * o)
        d_o = d_o * gate
    d_qp, d_kp, d_vp = attend_backward(cache["core"], d_o, d_scores)          # (B, T, N, H)
    if fold is not None:
        d_kp, d_vp = fold(d_kp), fold(d_vp)                                  # (B, S, K, H)
    d_q, _, g_q = query.backward(q_cache, d_qp)
    d_k, _, g_k = key.backward(k_cache, d_kp)
    d_v, _, g_v = value.backward(v_cache, d_vp)
    d_q = d_q if d_q_gate is None else d_q + d_q_gate
    d_in = [d_q, d_v, d_k] if cache["has_key"] else [d_q, d_v + d_k]
    return d_in, {}, g_q + g_k + g_gate + g_v + g_out
