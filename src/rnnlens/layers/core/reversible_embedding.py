"""``ReversibleEmbedding``: an ``Embedding`` that also projects back to the vocabulary.

    layer(ids)                 = E[ids]                          (B, T) -> (B, T, D)
    layer(h, reverse=True)     = c tanh((h R) / c)   or   h R     (B, T, D) -> (B, T, V)

with ``R = E^T`` (``tie_weights=True``, the default) or a separate trainable
``reverse_embeddings`` (D, V), and ``c = logit_soft_cap`` when given. Backward of the
reverse call: ``dL/dl = dL/dy (1 - tanh^2(l / c))`` with the cap, ``dh = dl R^T``,
``dR = h^T dl`` (``dE = dR^T`` when tied, a dense gradient, as TensorFlow's tape gives
for a matmul). The forward call's gradient is the embedding's row gradient.

Masks, as Keras 3.15.1: with ``mask_zero=True`` the forward call's output carries
``ids != 0`` (Keras sets it inside ``call``); the reverse call's output has no mask.
In a functional graph the same layer is usually called twice (forward on the ids,
reverse on the final hidden states), sharing its weights; the node's ``reverse``
argument is written to and read from Keras files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import to_float_array
from rnnlens.layers.core import Embedding

_SIGNATURE = ("input_dim", "output_dim", "tie_weights", "embeddings_initializer",
              "embeddings_regularizer", "embeddings_constraint", "mask_zero", "reverse_dtype",
              "logit_soft_cap")


class ReversibleEmbedding(Embedding):
    """Embedding with a reverse projection (see the module docstring).

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
        embeddings_constraint, mask_zero: as ``Embedding``.
        tie_weights: reverse with ``embeddings^T`` (True) or a separate
            ``reverse_embeddings`` weight (False).
        reverse_dtype: None or "float32" (rnnlens computes in float32).
        logit_soft_cap: if set, reverse logits are ``c * tanh(logits / c)``.

    Call arguments: ``inputs``, ``reverse=False``.
    """

    tie_weights = P.Bool(True)
    reverse_dtype = P.Choice(None, (None, "float32"))
    logit_soft_cap = P.Float(None, min=0.0)

    call_keywords = ("reverse",)        # a model file's node may pass reverse=True

    @classmethod
    def _declared_params(cls) -> dict:
        """Keras's signature order (``tie_weights`` third), then the rest."""
        params = P.declared(cls)
        order = [k for k in _SIGNATURE if k in params] + [k for k in params
                                                          if k not in _SIGNATURE]
        return {k: params[k] for k in order}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.logit_soft_cap == 0.0:
            raise ValueError(f"Layer '{self.name}' (ReversibleEmbedding): logit_soft_cap "
                             "must be positive (it divides the logits) or None.")
        self._reverse = False

    def get_config(self) -> dict:
        """Embedding's config, then ``tie_weights``, ``reverse_dtype``, ``logit_soft_cap``."""
        config = super().get_config()
        tail = ("tie_weights", "reverse_dtype", "logit_soft_cap")
        return {**{k: v for k, v in config.items() if k not in tail},
                **{k: config[k] for k in tail}}

    # -- calling ------------------------------------------------------------------

    def __call__(self, *args: Any, reverse: bool = False, **kwargs: Any) -> Any:
        """``layer(ids)`` or ``layer(hidden, reverse=True)``; the graph records
        ``reverse`` as a call argument."""
        if reverse:
            kwargs["reverse"] = True
        self._reverse = bool(reverse)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._reverse = False

    def keras_node(self, node: Any) -> tuple[list, dict]:
        """A graph node as Keras writes it: ``{"reverse": true}`` for a reverse call."""
        return list(node.args), ({"reverse": True} if node.kwargs.get("reverse") else {})

    def convert_inputs(self, inputs: Any) -> np.ndarray:
        if self._reverse:
            return to_float_array(inputs, f"input to layer '{self.name}' (reverse=True)")
        return super().convert_inputs(inputs)

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if self._reverse and (not isinstance(shape, tuple) or not shape
                              or shape[-1] not in (None, self.output_dim)):
            raise ValueError(f"Layer '{self.name}' (ReversibleEmbedding) called with "
                             f"reverse=True projects vectors of size output_dim="
                             f"{self.output_dim} back to the vocabulary; received shape "
                             f"{shape}.")

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim), initializer=self.embeddings_initializer,
                name="reverse_embeddings")
        self.built = True

    def _reverse_kernel(self) -> np.ndarray:
        return self.embeddings.T if self.tie_weights else self.reverse_embeddings

    def call(self, inputs: Any, training: bool = False, mask: Any = None,
             reverse: bool = False) -> np.ndarray:
        return self.forward(inputs, reverse=reverse)[0]

    def forward(self, inputs: Any, training: bool = False, mask: Any = None,
                reverse: bool = False) -> tuple[np.ndarray, Any]:
        self._last_reverse = bool(reverse)
        if not reverse:
            return Embedding.call(self, inputs), self._ids(inputs)
        h = to_float_array(inputs, f"input to layer '{self.name}' (reverse=True)")
        logits = h @ self._reverse_kernel()                           # (..., V)
        if self.logit_soft_cap is None:
            return logits, ("reverse", h, None)
        c = logits.dtype.type(self.logit_soft_cap)
        t = np.tanh(logits / c)
        return t * c, ("reverse", h, t)

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[Any, dict, list]:
        zeros = [np.zeros_like(w) for w in self.weights]
        if not (isinstance(cache, tuple) and cache and isinstance(cache[0], str)):
            _, _, grads = super().backward(cache, d_out)
            return None, {}, grads + zeros[1:]
        _, h, t = cache
        d_l = np.asarray(d_out, h.dtype)
        if t is not None:
            d_l = d_l * (1 - t * t)
        kernel = self._reverse_kernel()
        d_h = d_l @ kernel.T
        d_k = h.reshape(-1, h.shape[-1]).T @ d_l.reshape(-1, d_l.shape[-1])   # (D, V)
        if self.tie_weights:
            return d_h, {}, [np.ascontiguousarray(d_k.T)]
        return d_h, {}, [zeros[0], d_k]

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        reverse = self._reverse or getattr(self, "_last_reverse", False)
        return None if reverse else super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        if kwargs.get("reverse", self._reverse):
            return (*input_shape[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)


__all__ = ["ReversibleEmbedding"]
