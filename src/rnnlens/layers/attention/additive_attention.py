"""``AdditiveAttention``: Bahdanau-style attention, as Keras 3.15.1 defines it.

Everything is ``Attention``'s (masks, causal mask, dropout, the returned weights)
except the scores, a sum over the features of ``tanh(query + key)``::

    S_ij = sum_d scale_d * tanh(q_i + k_j)_d          (scale_d = 1 without use_scale)

with ``scale`` (d,) a learned vector (glorot_uniform). Backward, with
``T = tanh(q_i + k_j)``: ``d scale = sum_ij dS_ij T_ij``,
``dZ_ij = dS_ij * scale * (1 - T_ij^2)``, ``dq_i = sum_j dZ_ij``, ``dk_j = sum_i dZ_ij``.

Shape legend: B batch, Tq query steps, Tv value steps, d features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.attention.attention import Attention, unbroadcast


class AdditiveAttention(Attention):
    """Additive attention, a.k.a. Bahdanau-style attention.

    Args:
        use_scale: learn the vector ``scale`` (d,) weighting the tanh features
            (default True).
        dropout: fraction of the attention weights dropped in training.
        seed: seed of the layer's own dropout generator.

    Call arguments: as ``Attention`` (inputs ``[query, value(, key)]``, ``mask``,
    ``training``, ``return_attention_scores``, ``use_causal_mask``).

    Weights: ``scale`` (d,) if use_scale, d the query's feature size.
    """

    use_scale = P.Bool(True)
    score_mode = None                 # not an argument of AdditiveAttention

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        super().check_input_shape(shape, source)
        scale = getattr(self, "scale", None)
        if scale is not None and shape[0][-1] != scale.shape[0]:
            raise ValueError(f"{self._kind()} was built for queries of {scale.shape[0]} "
                             f"features, received shape {shape[0]}.")

    def build(self, input_shape: Any) -> None:
        self.check_input_shape(list(input_shape))
        dim = input_shape[0][-1]
        if dim is None:
            raise ValueError(f"{self._kind()} needs a known query feature size, received "
                             f"shape {input_shape[0]}.")
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(int(dim),),
                                         initializer="glorot_uniform")
        self.built = True

    def _scores(self, q: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, Any]:
        t = np.tanh(q[..., :, None, :] + k[..., None, :, :])          # (B, Tq, Tv, d)
        weighted = t * self.scale if self.scale is not None else t
        return weighted.sum(axis=-1), t                               # (B, Tq, Tv)

    def _score_backward(self, cache: Any, d_s: np.ndarray, q: np.ndarray, k: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, list]:
        t = cache
        d_t = np.broadcast_to(d_s[..., None], t.shape)
        grads = []
        if self.scale is not None:
            grads.append(np.sum(d_t * t, axis=tuple(range(t.ndim - 1))).astype(d_s.dtype))
            d_t = d_t * self.scale
        d_z = d_t * (1.0 - t * t)
        return (unbroadcast(d_z.sum(axis=-2), q.shape), unbroadcast(d_z.sum(axis=-3), k.shape),
                grads)


__all__ = ["AdditiveAttention"]
