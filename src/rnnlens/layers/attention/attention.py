"""``Attention``: dot-product (Luong-style) attention, as Keras 3.15.1 defines it.

Inputs ``[query, value]`` or ``[query, value, key]`` (key defaults to value), with
``query`` (B, Tq, d), ``value`` (B, Tv, dv), ``key`` (B, Tv, d)::

    dot:     S = Q K^T                      (times the scalar ``scale`` if use_scale)
    concat:  S_ij = c * sum_d tanh(a (q_i + k_j))_d     (a = scale or 1, c = concat weight)
    masking: S = where(keep, S, S - 1e9)    keep = value mask (B, 1, Tv) and / or the
             causal mask j <= i (1, Tq, Tv)
    weights: W = softmax(S) over Tv;  in training W = dropout(W)
    output:  O = W V;  O = where(query mask (B, Tq, 1), O, 0)

The second output (``return_attention_scores=True``) is W (after dropout, as in
Keras). ``- 1e9`` is computed in float32, so a row whose every step is masked gets
(nearly) uniform weights, as in Keras. Backward: ``dV = W^T dO``, ``dW = dO V^T``
(plus the scores' own gradient), ``dS = W * (dW - sum(dW * W))``; the score functions'
derivatives are in ``_score_backward`` and ``AdditiveAttention``.

The weights are recorded by ``rnnlens.trace`` as ``attention_scores`` (see
``Trace.extras``), so an explainer can show which value step each query step read.

Shape legend: B batch, Tq query steps, Tv value steps, d / dv feature sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens import trace as trace_mod
from rnnlens.layers.base import Layer, to_float_array
from rnnlens.random import generator

#: Keras's bias for masked scores (float32: ``scores - 1e9``).
MASK_BIAS = 1.0e9


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sums ``grad`` over the axes broadcasting added to reach it from ``shape``."""
    lead = grad.ndim - len(shape)
    if lead > 0:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def softmax_last(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(w: np.ndarray, d_w: np.ndarray) -> np.ndarray:
    """``dS`` for ``W = softmax(S)`` over the last axis."""
    return w * (d_w - np.sum(d_w * w, axis=-1, keepdims=True))


def causal_mask(tq: int, tv: int) -> np.ndarray:
    """(1, Tq, Tv) lower-triangular: position i sees j <= i (Keras's cumsum form)."""
    return (np.arange(tq)[:, None] >= np.arange(tv)[None, :])[None]


def as_bool_mask(mask: Any, what: str, owner: str) -> np.ndarray | None:
    """A mask as a bool array (nonzero = keep), or None."""
    if mask is None:
        return None
    try:
        arr = np.asarray(mask)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {what} is not an array.") from None
    if arr.dtype == object or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"{owner}: {what} should be a boolean array, received dtype "
                        f"{arr.dtype}.")
    return arr.astype(bool, copy=False)


class Attention(Layer):
    """Dot-product attention, a.k.a. Luong-style attention (see the module docstring).

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores ("dot"), or the
            sum inside tanh ("concat").
        score_mode: ``"dot"`` (query-key dot product) or ``"concat"`` (tanh of the sum
            of query and key, summed, times the weight ``concat_score_weight``).
        dropout: fraction of the attention weights dropped in training.
        seed: seed of the layer's own dropout generator.

    Call arguments:
        inputs: ``[query, value]`` or ``[query, value, key]``.
        mask: ``[query_mask, value_mask]`` (B, Tq) / (B, Tv) bool; taken from the
            inputs' Keras masks (``Embedding(mask_zero=True)``, ...) when not given.
        training: apply dropout.
        return_attention_scores: also return the weights W (B, Tq, Tv).
        use_causal_mask: query step i attends to value steps j <= i only.

    Weights: ``scale`` () if use_scale; ``concat_score_weight`` () for "concat".
    """

    use_scale = P.Bool(False)
    score_mode = P.Choice("dot", ("dot", "concat"))
    dropout = P.Float(0.0, min=0.0, max=1.0)
    seed = P.Seed()

    supports_masking = True
    traced_extras = ("attention_scores",)        # what rnnlens.trace records
    _call_arguments = ("inputs", "mask", "training", "return_attention_scores",
                       "use_causal_mask")

    #: Call arguments besides ``mask`` that a model file's node carries (Keras writes them
    #: in the node's ``kwargs``); the model-file reader and writer read this.
    call_keywords: tuple[str, ...] = ("return_attention_scores", "use_causal_mask")

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None
        self._returns_scores = False              # set while a symbolic call is recorded

    # -- calling ------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Keras's call signature: ``layer([q, v(, k)], mask=None, training=None,
        return_attention_scores=False, use_causal_mask=False)``."""
        bound = _bind_call(self, self._call_arguments, args, kwargs)
        inputs = bound.pop("inputs")
        self._returns_scores = bool(bound.get("return_attention_scores", False))
        try:
            return super().__call__(inputs, **bound)
        finally:
            self._returns_scores = False

    def _kind(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    def keras_node(self, node: Any) -> tuple[list, dict]:
        """A graph node as Keras writes it in a model file: ``(args, kwargs)``."""
        keep = ("mask",) + self.call_keywords
        return list(node.args), {k: v for k, v in node.kwargs.items() if k in keep}

    def convert_inputs(self, inputs: Any) -> list[np.ndarray]:
        self._check_list(inputs, "inputs")
        return [to_float_array(x, f"input {k} to layer '{self.name}'")
                for k, x in enumerate(inputs)]

    def _check_list(self, value: Any, what: str) -> None:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{self._kind()} must be called on a list of {what}, namely "
                             f"[query, value] or [query, value, key]. Received: "
                             f"{type(value).__name__}.")
        if not 2 <= len(value) <= 3:
            raise ValueError(f"{self._kind()} accepts {what} lists of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: "
                             f"{len(value)}.")

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        self._check_list(shape, "inputs")
        if not all(isinstance(s, tuple) for s in shape):
            raise ValueError(f"{self._kind()} expects tensors as inputs, received shapes "
                             f"{shape}.")
        q, v = shape[0], shape[1]
        k = shape[2] if len(shape) > 2 else v
        if any(len(s) < 3 for s in shape) or len({len(s) for s in shape}) > 1:
            raise ValueError(f"{self._kind()} expects query, value and key of the same rank "
                             f">= 3, (batch, steps, features); received shapes {list(shape)}.")
        if _known(k[-2]) and _known(v[-2]) and k[-2] != v[-2]:
            raise ValueError(f"{self._kind()}: key and value need the same number of steps "
                             f"(axis -2); received key {k} and value {v}.")
        if _known(q[-1]) and _known(k[-1]) and q[-1] != k[-1]:
            raise ValueError(f"{self._kind()}: query and key need the same feature size "
                             f"(last axis) to be scored; received query {q} and key {k}.")

    def build(self, input_shape: Any) -> None:
        self.check_input_shape(input_shape if isinstance(input_shape, list)
                               else list(input_shape))
        self.scale = self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(),
                                                       initializer="ones")
        self.built = True

    def call(self, inputs: list[np.ndarray], mask: Any = None, training: Any = False,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        out, _ = self.forward(inputs, mask=mask, training=training,
                              return_attention_scores=return_attention_scores,
                              use_causal_mask=use_causal_mask)
        return out

    def forward(self, inputs: list[np.ndarray], mask: Any = None, training: Any = False,
                return_attention_scores: bool = False, use_causal_mask: bool = False
                ) -> tuple[Any, dict]:
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask, v_mask = self._masks(mask, q, v)
        scores, score_cache = self._scores(q, k)                        # (B, Tq, Tv)
        keep = self._score_mask(scores.shape, v_mask, bool(use_causal_mask))
        if keep is not None:
            scores = np.where(keep, scores, scores - scores.dtype.type(MASK_BIAS))
        w = softmax_last(scores)                                       # (B, Tq, Tv)
        w_out, drop = w, None
        if training and self.dropout > 0:
            w_out, drop = self._drop(w)
        out = w_out @ v                                                # (B, Tq, dv)
        if q_mask is not None:
            out = np.where(q_mask[..., None], out, out.dtype.type(0))
        recorder = trace_mod.current()
        if recorder is not None:
            recorder.add_extra(self, "attention_scores", w_out)
        cache = {"q": q, "v": v, "k": k, "has_key": len(inputs) > 2, "w": w, "w_out": w_out,
                 "drop": drop, "q_mask": q_mask, "scores": score_cache,
                 "scores_out": bool(return_attention_scores)}
        return ((out, w_out) if return_attention_scores else out), cache

    def backward(self, cache: dict, d_out: Any) -> tuple[list, dict, list]:
        """``d[query, value(, key)]`` and the weights' gradients (module docstring)."""
        d_w_extra = None
        if cache["scores_out"]:
            d_out, d_w_extra = d_out
        q, v, k, w_out = cache["q"], cache["v"], cache["k"], cache["w_out"]
        d_out = np.zeros((*q.shape[:-1], v.shape[-1]), w_out.dtype) if d_out is None \
            else np.asarray(d_out, w_out.dtype)
        if cache["q_mask"] is not None:
            d_out = np.where(cache["q_mask"][..., None], d_out, d_out.dtype.type(0))
        d_w = d_out @ np.swapaxes(v, -1, -2)                           # (B, Tq, Tv)
        if d_w_extra is not None:
            d_w = d_w + d_w_extra
        d_v = unbroadcast(np.swapaxes(w_out, -1, -2) @ d_out, v.shape)
        if cache["drop"] is not None:
            keep, factor = cache["drop"]
            d_w = np.where(keep, d_w * factor, d_w.dtype.type(0))
        d_s = softmax_backward(cache["w"], d_w)
        d_q, d_k, grads = self._score_backward(cache["scores"], d_s, q, k)
        if cache["has_key"]:
            return [d_q, d_v, d_k], {}, grads
        return [d_q, d_v + d_k], {}, grads

    # -- the pieces ---------------------------------------------------------------

    def _masks(self, mask: Any, q: np.ndarray, v: np.ndarray) -> tuple[Any, Any]:
        if mask is None:
            return None, None
        self._check_list(mask, "masks")
        q_mask = as_bool_mask(mask[0], "the query mask", self._kind())
        v_mask = as_bool_mask(mask[1], "the value mask", self._kind())
        if (q_mask is not None or v_mask is not None) and q.ndim != 3:
            raise ValueError(f"{self._kind()}: masks are supported for inputs of shape "
                             f"(batch, steps, features); received query {q.shape} and value "
                             f"{v.shape}.")
        for m, x, what in ((q_mask, q, "query"), (v_mask, v, "value")):
            if m is not None and m.shape != x.shape[:-1]:
                raise ValueError(f"{self._kind()}: the {what} mask has shape {m.shape}, "
                                 f"expected the {what}'s shape without its last axis, "
                                 f"{x.shape[:-1]}.")
        return q_mask, v_mask

    def _score_mask(self, shape: tuple, v_mask: Any, causal: bool) -> Any:
        """Where the scores count: value mask (B, 1, Tv) and / or causal (1, Tq, Tv)."""
        keep = None if v_mask is None else v_mask[..., None, :]
        if causal:
            tri = causal_mask(shape[-2], shape[-1])
            keep = tri if keep is None else np.logical_and(keep, tri)
        return keep

    def _drop(self, w: np.ndarray) -> tuple[np.ndarray, tuple]:
        """Keras's dropout of the weights: ``where(u >= rate, w / (1 - rate), 0)``."""
        if self.dropout >= 1.0:
            return np.zeros_like(w), (np.zeros(w.shape, bool), w.dtype.type(0))
        rng = self._rng if self._rng is not None else generator()
        keep = rng.random(w.shape, dtype=np.float32) >= self.dropout
        factor = w.dtype.type(1.0 / (1.0 - self.dropout))
        return np.where(keep, w * factor, w.dtype.type(0)), (keep, factor)

    def _scores(self, q: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, Any]:
        """Scores (B, Tq, Tv) and what ``_score_backward`` needs."""
        if self.score_mode == "dot":
            raw = q @ np.swapaxes(k, -1, -2)                           # (B, Tq, Tv)
            return (raw * self.scale if self.scale is not None else raw), raw
        z = q[..., :, None, :] + k[..., None, :, :]                    # (B, Tq, Tv, d)
        inner = self.scale * z if self.scale is not None else z
        t = np.tanh(inner)
        total = t.sum(axis=-1)
        return self.concat_score_weight * total, (z, t, total)

    def _score_backward(self, cache: Any, d_s: np.ndarray, q: np.ndarray, k: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, list]:
        grads = []
        if self.score_mode == "dot":
            raw = cache
            if self.scale is not None:
                grads.append(np.asarray(np.sum(d_s * raw), d_s.dtype))
                d_s = d_s * self.scale
            d_q = d_s @ k
            d_k = np.swapaxes(d_s, -1, -2) @ q
            return unbroadcast(d_q, q.shape), unbroadcast(d_k, k.shape), grads
        z, t, total = cache
        d_t = (d_s * self.concat_score_weight)[..., None] * (1.0 - t * t)   # d inner
        if self.scale is not None:
            grads.append(np.asarray(np.sum(d_t * z), d_s.dtype))
            d_t = d_t * self.scale
        grads.append(np.asarray(np.sum(d_s * total), d_s.dtype))
        return (unbroadcast(d_t.sum(axis=-2), q.shape), unbroadcast(d_t.sum(axis=-3), k.shape),
                grads)

    # -- shapes and masks ---------------------------------------------------------

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        q, v = tuple(input_shape[0]), tuple(input_shape[1])
        k = tuple(input_shape[2]) if len(input_shape) > 2 else v
        out = (*q[:-1], v[-1])
        if self._returns_scores:
            return out, (*q[:-1], k[-2])
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The query's mask (Keras: ``mask[0]``), or None."""
        if mask is None:
            return None
        self._check_list(mask, "masks")
        return None if mask[0] is None else np.asarray(mask[0])


def _known(d: Any) -> bool:
    return d is not None


def _bind_call(layer: Layer, names: tuple, args: tuple, kwargs: dict) -> dict:
    """Keras's call arguments by name; those left at None (or a flag left False) are
    dropped, so a graph node records what Keras's does (an explicit ``training`` stays)."""
    if len(args) > len(names):
        raise TypeError(f"{type(layer).__name__}.call takes at most {len(names)} positional "
                        f"arguments ({', '.join(names)}), received {len(args)}.")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"{type(layer).__name__}.call got an unexpected keyword argument "
                            f"'{key}' (it takes {', '.join(names)}).")
        if key in bound:
            raise TypeError(f"{type(layer).__name__}.call got multiple values for '{key}'.")
        bound[key] = value
    if names[0] not in bound:
        raise TypeError(f"Layer '{layer.name}' was called without an input.")
    flags = ("return_attention_scores", "use_causal_mask")
    return {k: v for k, v in bound.items()
            if k == names[0] or (v is not None and not (k in flags and v is False))}


__all__ = ["Attention"]
