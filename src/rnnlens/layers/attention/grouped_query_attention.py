"""``GroupQueryAttention`` (Ainslie et al., 2023), as Keras 3.15.1 computes it.

N query heads share K key / value heads (N = K R): with head size H, query (B, T, E)
and value / key (B, S, E_v) / (B, S, E_k)::

    Q = query Wq + bq   (B, T, N, H)        K = key Wk + bk   (B, S, K, H)
    V = value Wv + bv   (B, S, K, H)        K', V' = each head repeated R times (N heads;
                                             query head u reads key / value head u // R)
    S = (Q / sqrt(H)) K'^T per head          (B, N, T, S)
    P = masked softmax of S over S; in training P' = dropout(P)
    O = P' V'           (B, T, N, H);        with use_gate: O = O * sigmoid(query Wg + bg)
    y = O Wo + bo       (B, T, E)

The mask of S is the AND of: the query mask (the ``query_mask`` argument, else the
query's Keras mask: unlike MultiHeadAttention, an explicit query mask counts), the value
and key masks (B, 1, S), ``use_causal_mask`` (j <= i), ``sliding_window``
(|i - j| < window) and ``attention_mask`` (B, T, S). The masked softmax is Keras's
Softmax layer's (a fully masked row is 0) when the scores are returned or there is
dropout, else TensorFlow's fused kernel's (a fully masked row is uniform), as in Keras.
The attention core, its masks and its backward are MultiHeadAttention's (``_heads``);
the gradients of the repeated key / value heads are summed back onto their K heads.

Weights (Keras's order; Keras's file paths ``_query_dense``, ``_key_dense``,
``_gate_dense``, ``_value_dense``, ``_output_dense``): query/kernel (E, N, H), query/bias
(N, H), key/kernel (E_k, K, H), key/bias (K, H), [gate/kernel (E, N, H), gate/bias,]
value/kernel (E_v, K, H), value/bias (K, H), attention_output/kernel (N, H, E),
attention_output/bias (E,). Keras's class is ``GroupedQueryAttention``, exported (and
written in ``.keras`` files) as ``GroupQueryAttention``; legacy ``.h5`` files name it
``GroupedQueryAttention``, which the reader accepts too.

Shape legend: B batch, T query steps, S key / value steps, N query heads, K key / value
heads, H head size, E features.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import naming
from rnnlens import params as P
from rnnlens import trace as trace_mod
from rnnlens.layers.attention import _heads
from rnnlens.layers.attention._einsum_dense import _EinsumDense
from rnnlens.layers.attention.attention import _bind_call
from rnnlens.layers.attention.multi_head_attention import MultiHeadAttention as _MHA
from rnnlens.layers.base import REGISTRY, Layer

_CONFIG_KEYS = ("head_dim", "num_query_heads", "num_key_value_heads", "use_bias", "use_gate",
                "sliding_window", "dropout", "kernel_initializer", "bias_initializer",
                "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "bias_constraint", "seed")
_DENSE = ("_query_dense", "_key_dense", "_gate_dense", "_value_dense", "_output_dense")


class GroupedQueryAttention(Layer):
    """Grouped-query attention (see the module docstring).

    Args:
        head_dim: size H of each head.
        num_query_heads: N, the number of query heads.
        num_key_value_heads: K, the number of key / value heads (N must be a multiple).
        dropout: dropout rate of the attention probabilities in training.
        use_bias: whether the projections have biases.
        sliding_window: a query step attends only to key steps within
            ``sliding_window - 1`` of it.
        flash_attention: None or False (no flash attention in NumPy).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for every projection.
        activity_regularizer: must be None (Keras applies it to each projection).
        use_gate: gate the attention output with ``sigmoid(query Wg + bg)``.
        seed: seed of the dropout.

    Call arguments: ``query``, ``value``, ``key=None``, ``query_mask``, ``value_mask``,
    ``key_mask``, ``attention_mask`` (B, T, S), ``return_attention_scores``,
    ``training``, ``use_causal_mask``.
    """

    keras_name = "GroupQueryAttention"

    head_dim = P.Int(min=1, cap="max_units")
    num_query_heads = P.Int(min=1, cap="max_units")
    num_key_value_heads = P.Int(min=1, cap="max_units")
    dropout = P.Float(0.0, min=0.0, max=1.0)
    use_bias = P.Bool(True)
    sliding_window = P.Int(None, min=1)
    flash_attention = P.Bool(None)
    kernel_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    kernel_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    activity_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    use_gate = P.Bool(False)
    seed = P.Seed()

    supports_masking = True
    traced_extras = ("attention_scores",)
    call_keywords = _MHA.call_keywords
    _call_arguments = _MHA._call_arguments

    # MultiHeadAttention's helpers, unchanged (they read the attributes set below).
    _attend = _MHA._attend
    _attend_backward = _MHA._attend_backward
    _attention_mask = _MHA._attention_mask
    keras_node = _MHA.keras_node
    keras_build_config = _MHA.keras_build_config
    convert_inputs = _MHA.convert_inputs
    compute_mask = _MHA.compute_mask

    def __post_init__(self) -> None:
        if self.num_query_heads % self.num_key_value_heads != 0:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`.")
        if self.flash_attention:
            raise ValueError(f"{self._kind()}: flash_attention=True is not available: "
                             "rnnlens computes attention in NumPy. Pass flash_attention=None.")
        if self.activity_regularizer is not None:
            raise ValueError(f"{self._kind()}: rnnlens does not support activity_regularizer "
                             "here (Keras applies it to the output of each projection). Pass "
                             "activity_regularizer=None, or regularize the kernels instead.")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self.head_dim))
        self.attention_axes = (1,)
        self._axes = _heads.HeadAxes(4, (1,))
        self._returns_scores = False
        self._scores_mask: tuple = (False, None)

    def _kind(self) -> str:
        return f"Layer '{self.name}' (GroupQueryAttention)"

    def get_config(self) -> dict:
        """Keras's keys in Keras's order (``flash_attention`` is not written)."""
        config = super().get_config()
        base = {k: config[k] for k in ("name", "trainable", "dtype")}
        return {**base, **{k: config[k] for k in _CONFIG_KEYS}}

    # -- calling ------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``layer(query, value, key=None, ...)``; the graph records ``[query, value(,
        key)]`` as one input list, as for MultiHeadAttention."""
        bound = _bind_call(self, self._call_arguments, args, kwargs)
        if bound.get("value") is None:
            raise TypeError(f"{self._kind()} needs a `value`: call it as layer(query, value) "
                            "(layer(x, x) for self-attention).")
        inputs = [bound.pop("query"), bound.pop("value")]
        if bound.get("key") is not None:
            inputs.append(bound.pop("key"))
        self._returns_scores = bool(bound.get("return_attention_scores", False))
        try:
            return Layer.__call__(self, inputs, **bound)
        finally:
            self._returns_scores = False

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, (list, tuple)) or not 2 <= len(shape) <= 3 or \
                not all(isinstance(s, tuple) for s in shape):
            raise ValueError(f"{self._kind()} takes query, value and an optional key tensor; "
                             f"received shapes {shape}.")
        q, v = shape[0], shape[1]
        k = shape[2] if len(shape) > 2 else v
        if any(len(s) != 3 for s in (q, v, k)):
            raise ValueError(f"{self._kind()} expects query, value and key of shape (batch, "
                             f"steps, features); received {[q, v, k][:len(shape)]}.")
        if q[-1] != v[-1]:
            raise ValueError(f"The last dimension of `query_shape` and `value_shape` must be "
                             f"equal, but are {q[-1]}, {v[-1]}. Received: query_shape={q}, "
                             f"value_shape={v}")
        if v[1:-1] != k[1:-1]:
            raise ValueError(f"All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received: value_shape={v} and key_shape={k}")
        built = getattr(self, "_built_shapes", None)
        if built is not None and [s[-1] for s in built] != [s[-1] for s in (q, v, k)]:
            raise ValueError(f"{self._kind()} was built for inputs with feature sizes "
                             f"{[s[-1] for s in built]} (query, value, key), received shapes "
                             f"{[q, v, k]}.")

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        """Creates the projections (Keras's ``build(query_shape, value_shape,
        key_shape)``; a list of the shapes works too)."""
        if value_shape is None and isinstance(query_shape, (list, tuple)) and query_shape \
                and isinstance(query_shape[0], (list, tuple)):
            shapes = [tuple(s) for s in query_shape]
        else:
            shapes = [tuple(query_shape), tuple(value_shape or ())] + \
                ([tuple(key_shape)] if key_shape is not None else [])
        self.check_input_shape(shapes)
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        if any(d is None for d in (q[-1], v[-1], k[-1])):
            raise ValueError(f"{self._kind()} needs known feature sizes, received {shapes}.")
        self._make_projections(q, v, k)
        from rnnlens.layers.regularization import Dropout

        naming.unique("softmax")
        self._dropout_layer = Dropout(rate=self.dropout, seed=self.seed)
        self._built_shapes = [q, v, k]
        self.built = True

    def _make_projections(self, q: tuple, v: tuple, k: tuple) -> None:
        common = dict(use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                      bias_initializer=self.bias_initializer,
                      kernel_regularizer=self.kernel_regularizer,
                      bias_regularizer=self.bias_regularizer,
                      kernel_constraint=self.kernel_constraint,
                      bias_constraint=self.bias_constraint)
        heads = (self.num_query_heads, self.head_dim)
        kv = (self.num_key_value_heads, self.head_dim)
        made = {"_query_dense": (_EinsumDense(1, heads, name="query", **common), q),
                "_key_dense": (_EinsumDense(1, kv, name="key", **common), k)}
        if self.use_gate:
            made["_gate_dense"] = (_EinsumDense(1, heads, activation="sigmoid", name="gate",
                                                **common), q)
        made["_value_dense"] = (_EinsumDense(1, kv, name="value", **common), v)
        made["_output_dense"] = (_EinsumDense(2, (q[-1],), name="attention_output",
                                              **common), (None, None, *heads))
        for attr in _DENSE:
            layer, shape = made.get(attr, (None, None))
            object.__setattr__(self, attr, layer)
            if layer is not None:                      # Keras's file paths: _query_dense, ...
                layer.build(shape)
                self.__dict__["_tracked"][attr] = layer

    # -- running ------------------------------------------------------------------

    def call(self, inputs: list[np.ndarray], mask: Any = None, training: Any = None,
             **kwargs: Any) -> Any:
        return self.forward(inputs, mask=mask, training=training, **kwargs)[0]

    def forward(self, inputs: list[np.ndarray], mask: Any = None, training: Any = None,
                query_mask: Any = None, value_mask: Any = None, key_mask: Any = None,
                attention_mask: Any = None, return_attention_scores: bool = False,
                use_causal_mask: bool = False) -> tuple[Any, dict]:
        q_in, v_in = inputs[0], inputs[1]
        k_in = inputs[2] if len(inputs) > 2 else v_in
        carried = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        if query_mask is not None:
            carried = [query_mask] + carried[1:]
        keep = self._attention_mask(inputs, carried, value_mask, key_mask, attention_mask,
                                    bool(use_causal_mask))
        fast = not (self.dropout > 0 or return_attention_scores)
        gate, gate_cache = (self._gate_dense.forward(q_in) if self._gate_dense is not None
                            else (None, None))
        qp, q_cache = self._query_dense.forward(q_in)                 # (B, T, N, H)
        kp, k_cache = self._key_dense.forward(k_in)                   # (B, S, K, H)
        vp, v_cache = self._value_dense.forward(v_in)                 # (B, S, K, H)
        r = self.num_repeats
        core = self._attend(qp, np.repeat(kp, r, axis=2), np.repeat(vp, r, axis=2), keep,
                            fast, bool(training))
        o = core["out"] if gate is None else core["out"] * gate
        y, o_cache = self._output_dense.forward(o)                    # (B, T, E)
        scores = core["scores"]                                       # (B, N, T, S)
        self._scores_mask = (bool(return_attention_scores), core["mask"])
        recorder = trace_mod.current()
        if recorder is not None:
            recorder.add_extra(self, "attention_scores", scores)
        cache = {"core": core, "caches": (q_cache, k_cache, v_cache, o_cache),
                 "gate": (gate, gate_cache, core["out"]), "has_key": len(inputs) > 2,
                 "scores_out": bool(return_attention_scores)}
        return ((y, scores) if return_attention_scores else y), cache

    def backward(self, cache: dict, d_out: Any) -> tuple[list, dict, list]:
        """``d[query, value(, key)]``, weight gradients (``_heads.attention_backward``)."""
        return _heads.attention_backward(tuple(getattr(self, a) for a in _DENSE),
                                         self._attend_backward, cache, d_out, self._unrepeat)

    def _unrepeat(self, d: np.ndarray) -> np.ndarray:
        """The gradient of ``np.repeat(x, R, axis=2)``: the R copies summed."""
        b, s, _, h = d.shape
        return d.reshape(b, s, self.num_key_value_heads, self.num_repeats, h).sum(axis=3)

    # -- shapes -------------------------------------------------------------------

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        """The query's shape; with ``return_attention_scores`` also the scores'
        ``(B, N, T, S)``."""
        shapes = [tuple(s) for s in input_shape]
        self.check_input_shape(shapes)
        q = shapes[0]
        if self._returns_scores:
            return q, (q[0], self.num_query_heads, q[1], shapes[-1][1])
        return q


GroupQueryAttention = GroupedQueryAttention
#: Keras's legacy ``.h5`` files name the class by its Python name.
REGISTRY.setdefault("GroupedQueryAttention", GroupedQueryAttention)

__all__ = ["GroupQueryAttention", "GroupedQueryAttention"]
