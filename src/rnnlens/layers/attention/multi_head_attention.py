"""``MultiHeadAttention`` ("Attention is all you need"), as Keras 3.15.1 computes it.

With N heads of size H (``key_dim``) and Hv (``value_dim``), query (B, T, E) and
value / key (B, S, Ev) / (B, S, Ek)::

    Q = query Wq + bq   (B, T, N, H)     K = key Wk + bk (B, S, N, H)
    V = value Wv + bv   (B, S, N, Hv)
    S = (Q / sqrt(H)) K^T per head        (B, N, T, S)     the attention scores
    P = masked softmax of S over S;  in training P' = dropout(P)
    O = P' V            (B, T, N, Hv);   with use_gate: O = O * sigmoid(query Wg + bg)
    y = O Wo + bo       (B, T, E) or (B, T, *output_shape)

The mask of S is the AND of: the query's Keras mask (B, T, 1), the value's and the
key's (B, 1, S), ``use_causal_mask`` (1, T, S: j <= i), ``sliding_window``
(1, T, S: |i - j| < window) and ``attention_mask`` (B, T, S). As in Keras, an
explicit ``query_mask`` argument is ignored (Keras reads the query's own mask), and
the masked softmax is the Softmax layer's or TensorFlow's fused kernel's, by the
same rule as Keras (see ``_heads``). ``return_attention_scores=True`` also returns
P (before dropout). With ``attention_axes`` the attention runs over those axes of
(B, ..., E) inputs, every other axis acting as a batch axis.

Backward: the matrix-product rules of ``_heads`` and ``_einsum_dense``, the masked
softmax's ``dS = P * (dP - sum(dP * P))`` on kept entries, the gate's
``d gate = dO * O``; without a ``key`` the key's gradient adds to the value's.

Weights (Keras's order and names): query/kernel (E, N, H), query/bias (N, H),
key/kernel (Ek, N, H), key/bias, [gate/kernel (E, N, Hv), gate/bias,]
value/kernel (Ev, N, Hv), value/bias (N, Hv), attention_output/kernel (N, Hv, E'),
attention_output/bias (E',). ``rnnlens.trace`` records P as ``attention_scores``.

Not reproduced: Keras's ``call`` also removes the Keras masks of the query, value and
key tensors it receives (``set_keras_mask(x, None)``), so in Keras a layer that runs
after a MultiHeadAttention on one of those same tensors sees no mask; rnnlens keeps
them (its graph passes masks outside the arrays).

Shape legend: B batch, T query steps, S key / value steps, N heads, H head size.
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
from rnnlens.layers.attention.attention import _bind_call, as_bool_mask, causal_mask
from rnnlens.layers.base import Layer, to_float_array


def _output_shape(value: Any) -> tuple:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),)
    if not isinstance(value, (list, tuple)) or not value or len(value) > 8 or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 0 < d <= 2 ** 24
            for d in value):
        raise ValueError(value)
    return tuple(int(d) for d in value)


def _attention_axes(value: Any) -> Any:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),)
    if not isinstance(value, (list, tuple)) or not value or len(value) > 16 or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) and -32 <= a < 32
            for a in value):
        raise ValueError(value)
    return type(value)(int(a) for a in value)             # a list stays a list, as Keras


_CONFIG_KEYS = ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "use_gate",
                "output_shape", "attention_axes", "sliding_window", "kernel_initializer",
                "bias_initializer", "kernel_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "bias_constraint", "seed")


class MultiHeadAttention(Layer):
    """Multi-head attention (see the module docstring for the equations).

    Args:
        num_heads: number of attention heads N.
        key_dim: size H of each head for query and key.
        value_dim: size Hv of each head for value (default: key_dim).
        dropout: dropout rate of the attention probabilities in training.
        use_bias: whether the projections have biases.
        output_shape: the output's feature shape (an int or a tuple); default the
            query's last dimension.
        attention_axes: axes over which attention is applied (default: all axes but
            the batch, the heads and the features).
        sliding_window: a query step attends only to key steps within
            ``sliding_window - 1`` of it.
        flash_attention: None or False (rnnlens, like Keras's TensorFlow backend, has
            no flash attention).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for every projection.
        activity_regularizer: must be None (Keras applies it to each projection's
            output; rnnlens does not).
        use_gate: gate the attention output with ``sigmoid(query Wg + bg)``.
        seed: seed of the dropout.

    Call arguments: ``query``, ``value``, ``key=None``, ``query_mask`` (ignored, as
    Keras), ``value_mask``, ``key_mask``, ``attention_mask`` (B, T, S) bool,
    ``return_attention_scores``, ``training``, ``use_causal_mask``.
    """

    num_heads = P.Int(min=1, cap="max_units")
    key_dim = P.Int(min=1, cap="max_units")
    value_dim = P.Int(None, min=1, cap="max_units")
    dropout = P.Float(0.0, min=0.0, max=1.0)
    use_bias = P.Bool(True)
    output_shape = P.Json(None, validate=_output_shape, expected="an int or a tuple of "
                          "positive ints (the output's feature shape), or None")
    attention_axes = P.Json(None, validate=_attention_axes, expected="an int, or a list or "
                            "tuple of int axes, or None")
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
    traced_extras = ("attention_scores",)        # what rnnlens.trace records
    #: Call arguments a model file's node carries besides query and value (the model-file
    #: reader and writer read this).
    call_keywords: tuple[str, ...] = ("key", "query_mask", "value_mask", "key_mask",
                                      "attention_mask", "return_attention_scores",
                                      "use_causal_mask")
    _call_arguments = ("query", "value", "key", "query_mask", "value_mask", "key_mask",
                       "attention_mask", "return_attention_scores", "training",
                       "use_causal_mask")

    def __post_init__(self) -> None:
        if self.flash_attention:
            raise ValueError(f"{self._kind()}: flash_attention=True is not available: "
                             "rnnlens computes attention in NumPy (Keras's TensorFlow backend "
                             "refuses it too). Pass flash_attention=None.")
        if self.activity_regularizer is not None:
            raise ValueError(f"{self._kind()}: rnnlens does not support activity_regularizer "
                             "here (Keras applies it to the output of each projection). Pass "
                             "activity_regularizer=None, or regularize the kernels instead.")
        if not self.value_dim:
            self.value_dim = self.key_dim
        self.inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self.key_dim))
        self._returns_scores = False
        self._scores_mask: tuple = (False, None)      # the last call's, for compute_mask

    def _kind(self) -> str:
        return f"Layer '{self.name}' (MultiHeadAttention)"

    def keras_node(self, node: Any) -> tuple[list, dict]:
        """A graph node as Keras writes it: ``args`` [query, value], ``kwargs`` with
        ``key`` and the call arguments given (the graph records one input list)."""
        inputs = node.args[0]
        kwargs = {"key": inputs[2]} if len(inputs) > 2 else {}
        kwargs.update({k: v for k, v in node.kwargs.items() if k in self.call_keywords})
        return [inputs[0], inputs[1]], kwargs

    def keras_build_config(self) -> dict | None:
        """Keras's ``build_config``: ``{"shapes_dict": {"query_shape", "value_shape"(,
        "key_shape")}}`` (Keras calls ``build(**shapes_dict)`` when loading)."""
        shapes = getattr(self, "_build_input_shape", None)
        if not shapes:
            return None
        names = ("query_shape", "value_shape", "key_shape")
        return {"shapes_dict": {n: list(s) for n, s in zip(names, shapes)}}

    def get_config(self) -> dict:
        """Keras's keys in Keras's order (``flash_attention`` is not written)."""
        config = super().get_config()
        base = {k: config[k] for k in ("name", "trainable", "dtype")}
        return {**base, **{k: config[k] for k in _CONFIG_KEYS}}

    # -- calling ------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Keras's signature: ``layer(query, value, key=None, ..., use_causal_mask=False)``;
        the graph records ``[query, value(, key)]`` as one input list."""
        bound = _bind_call(self, self._call_arguments, args, kwargs)
        if bound.get("value") is None:
            raise TypeError(f"{self._kind()} needs a `value`: call it as layer(query, value) "
                            "(layer(x, x) for self-attention).")
        inputs = [bound.pop("query"), bound.pop("value")]
        if bound.get("key") is not None:
            inputs.append(bound.pop("key"))
        self._returns_scores = bool(bound.get("return_attention_scores", False))
        try:
            return super().__call__(inputs, **bound)
        finally:
            self._returns_scores = False

    def convert_inputs(self, inputs: Any) -> list[np.ndarray]:
        return [to_float_array(x, f"input {k} to layer '{self.name}'")
                for k, x in enumerate(inputs)]

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, (list, tuple)) or not 2 <= len(shape) <= 3 or \
                not all(isinstance(s, tuple) for s in shape):
            raise ValueError(f"{self._kind()} takes query, value and an optional key tensor; "
                             f"received shapes {shape}.")
        q, v = shape[0], shape[1]
        k = shape[2] if len(shape) > 2 else v
        if v[1:-1] != k[1:-1]:
            raise ValueError(f"{self._kind()}: all dimensions of `value` and `key`, except the "
                             f"last one, must be equal. Received: value_shape={v} and "
                             f"key_shape={k}")
        if len(q) < 3 or len(q) != len(v):
            raise ValueError(f"{self._kind()} expects query and value of the same rank >= 3, "
                             f"(batch, steps, features); received {q} and {v}.")
        built = getattr(self, "_built_shapes", None)
        if built is not None and [s[-1] for s in built] != [s[-1] for s in (q, v, k)]:
            raise ValueError(f"{self._kind()} was built for inputs with feature sizes "
                             f"{[s[-1] for s in built]} (query, value, key), received shapes "
                             f"{[q, v, k]}.")

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        """Creates the projections (Keras's ``build(query_shape, value_shape, key_shape)``;
        a list of the shapes works too)."""
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
        rank = len(v) + 1
        axes = self.attention_axes if self.attention_axes is not None else range(1, rank - 2)
        axes = tuple(a if a >= 0 else (rank - 1) + a for a in axes)
        if any(not 0 < a < rank - 2 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"{self._kind()}: attention_axes={self.attention_axes} must be "
                             f"distinct axes of the inputs between the batch axis and the "
                             f"features, i.e. in [1, {rank - 3}] (or negative), for inputs of "
                             f"rank {rank - 1}.")
        self.attention_axes = axes
        self._axes = _heads.HeadAxes(rank, axes)
        from rnnlens.layers.regularization import Dropout

        self._dropout_layer = Dropout(rate=self.dropout, seed=self.seed)   # Keras's names
        naming.unique("softmax")
        self._built_shapes = [q, v, k]
        self.built = True

    def _make_projections(self, q: tuple, v: tuple, k: tuple) -> None:
        """query, key, (gate,) value, attention_output: Keras's order and names."""
        common = dict(use_bias=self.use_bias, kernel_initializer=self.kernel_initializer,
                      bias_initializer=self.bias_initializer,
                      kernel_regularizer=self.kernel_regularizer,
                      bias_regularizer=self.bias_regularizer,
                      kernel_constraint=self.kernel_constraint,
                      bias_constraint=self.bias_constraint)
        heads = (self.num_heads, self.key_dim)
        value_heads = (self.num_heads, self.value_dim)
        self.query_dense = _EinsumDense(1, heads, name="query", **common)
        self.query_dense.build(q)
        self.key_dense = _EinsumDense(1, heads, name="key", **common)
        self.key_dense.build(k)
        self._gate_dense = None
        if self.use_gate:                 # Keras keeps it at `_gate_dense` in its files
            gate = _EinsumDense(1, value_heads, activation="sigmoid", name="gate", **common)
            gate.build(q)
            self._gate_dense = gate
            self.__dict__["_tracked"]["_gate_dense"] = gate
        self.value_dense = _EinsumDense(1, value_heads, name="value", **common)
        self.value_dense.build(v)
        out = self.output_shape if self.output_shape else (q[-1],)
        self.output_dense = _EinsumDense(2, tuple(out), name="attention_output", **common)
        self.output_dense.build((*q[:-1], *value_heads))

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
        keep = self._attention_mask(inputs, mask, value_mask, key_mask, attention_mask,
                                    bool(use_causal_mask))
        fast = not (self.dropout > 0 or return_attention_scores or q_in.ndim != 3)
        gate, gate_cache = (self._gate_dense.forward(q_in) if self._gate_dense is not None
                            else (None, None))
        qp, q_cache = self.query_dense.forward(q_in)                  # (B, T, N, H)
        kp, k_cache = self.key_dense.forward(k_in)                    # (B, S, N, H)
        vp, v_cache = self.value_dense.forward(v_in)                  # (B, S, N, Hv)
        core = self._attend(qp, kp, vp, keep, fast, bool(training))
        o = core["out"]
        if gate is not None:
            o = o * gate
        y, o_cache = self.output_dense.forward(o)
        scores = core["scores"]                                       # (B, N, T, S)
        # Keras's scores carry the Softmax layer's mask (the expanded attention mask).
        self._scores_mask = (bool(return_attention_scores), core["mask"])
        recorder = trace_mod.current()
        if recorder is not None:
            recorder.add_extra(self, "attention_scores", scores)
        cache = {"core": core, "caches": (q_cache, k_cache, v_cache, o_cache),
                 "gate": (gate, gate_cache, core["out"]), "has_key": len(inputs) > 2,
                 "scores_out": bool(return_attention_scores)}
        return ((y, scores) if return_attention_scores else y), cache

    def _attention_mask(self, inputs: list, mask: Any, value_mask: Any, key_mask: Any,
                        attention_mask: Any, causal: bool) -> Any:
        """Keras's ``_compute_attention_mask``: (B, T, S) bool, or None. (Keras runs its
        fused causal kernel when the causal mask is the only one: the same numbers.)"""
        carried = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        carried += [None] * (3 - len(carried))
        owner = self._kind()
        q_mask = as_bool_mask(carried[0], "the query's mask", owner)
        v_mask = as_bool_mask(value_mask if value_mask is not None else carried[1],
                              "the value mask", owner)
        k_mask = as_bool_mask(key_mask if key_mask is not None else
                              (carried[2] if len(inputs) > 2 else None), "the key mask", owner)
        extra = as_bool_mask(attention_mask, "attention_mask", owner)
        t, s = inputs[0].shape[1], inputs[1].shape[1]
        parts = []
        if q_mask is not None:
            parts.append(q_mask[..., None])                         # (B, T, 1)
        for m in (v_mask, k_mask):
            if m is not None:
                parts.append(np.expand_dims(m, -2))                 # (B, 1, S)
        if causal:
            parts.append(causal_mask(t, s))                         # (1, T, S)
        if self.sliding_window is not None:
            i, j = np.arange(t)[:, None], np.arange(s)[None, :]
            parts.append((np.abs(i - j) < self.sliding_window)[None])
        if extra is not None:
            parts.insert(0, extra)
        if not parts:
            return None
        try:
            keep = parts[0]
            for part in parts[1:]:
                keep = np.logical_and(keep, part)
        except ValueError:
            raise ValueError(f"{owner}: the masks do not fit together: shapes "
                             f"{[p.shape for p in parts]} (query mask (B, T), value / key "
                             "masks (B, S), attention_mask (B, T, S)).") from None
        return keep

    def _attend(self, qp: np.ndarray, kp: np.ndarray, vp: np.ndarray, keep: Any,
                fast: bool, training: bool) -> dict:
        """The attention core on projected tensors (``_heads``)."""
        ax = self._axes
        q2, q_batch, q_attn = ax.split(qp)                           # (b..., Tq, H)
        k2, k_batch, k_attn = ax.split(kp)
        v2, _, _ = ax.split(vp)
        if q_batch != k_batch:
            raise ValueError(f"{self._kind()}: query and key must agree on every axis that "
                             f"is not an attention axis; projected shapes {qp.shape} and "
                             f"{kp.shape} with attention_axes={self.attention_axes}.")
        c = qp.dtype.type(self.inverse_sqrt_key_dim)
        raw = q2 @ np.swapaxes(k2, -1, -2)                            # (b..., Tq, Tk)
        s = raw * c
        full = ax.score_shape(q_batch, q_attn, k_attn)
        if keep is not None:
            keep = _heads.expand_mask(keep, len(ax.axes), len(full), self._kind())
        flat_keep = None if keep is None else \
            _heads.fit_mask(keep, full, self._kind()).reshape(s.shape)
        p = _heads.masked_softmax(s, flat_keep, fast)
        p_used, drop = p, None
        if training and self.dropout > 0:
            p_used, drop = self._dropout_layer.forward(p, training=True)
        o2 = p_used @ v2                                              # (b..., Tq, Hv)
        return {"out": ax.merge(o2, q_batch, q_attn), "scores": p.reshape(full), "p": p,
                "mask": None if fast else keep,
                "p_used": p_used, "drop": drop, "keep": flat_keep, "q2": q2, "k2": k2,
                "v2": v2, "c": c, "batch": q_batch, "q_attn": q_attn, "k_attn": k_attn,
                "v_shape": vp.shape, "k_shape": kp.shape}

    def backward(self, cache: dict, d_out: Any) -> tuple[list, dict, list]:
        """``d[query, value(, key)]``, weight gradients (``_heads.attention_backward``)."""
        dense = (self.query_dense, self.key_dense, self._gate_dense, self.value_dense,
                 self.output_dense)
        return _heads.attention_backward(dense, self._attend_backward, cache, d_out)

    def _attend_backward(self, core: dict, d_o: np.ndarray, d_scores: Any
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ax = self._axes
        d_o2, _, _ = ax.split(d_o)                                    # (b..., Tq, Hv)
        d_p = d_o2 @ np.swapaxes(core["v2"], -1, -2)                  # (b..., Tq, Tk)
        d_v2 = np.swapaxes(core["p_used"], -1, -2) @ d_o2             # (b..., Tk, Hv)
        if core["drop"] is not None:
            d_p = self._dropout_layer.backward(core["drop"], d_p)[0]
        if d_scores is not None:
            d_p = d_p + np.asarray(d_scores, d_p.dtype).reshape(d_p.shape)
        d_s = _heads.masked_softmax_backward(core["p"], core["keep"], d_p) * core["c"]
        d_q2 = d_s @ core["k2"]
        d_k2 = np.swapaxes(d_s, -1, -2) @ core["q2"]
        batch = core["batch"]
        return (ax.merge(d_q2, batch, core["q_attn"]), ax.merge(d_k2, batch, core["k_attn"]),
                ax.merge(d_v2, batch, core["k_attn"]))

    # -- shapes and masks ---------------------------------------------------------

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        """The output's shape; with ``return_attention_scores`` also Keras's symbolic
        scores shape ``(B, N, T, T)`` (Keras 3.15.1 writes the query's length twice)."""
        shapes = [tuple(s) for s in input_shape]
        self.check_input_shape(shapes)
        q = shapes[0]
        out = (*q[:-1], *self.output_shape) if self.output_shape else q
        if self._returns_scores:
            return out, (q[0], self.num_heads, q[1], q[1])
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The query's mask (the first input's), or None; with the scores returned,
        also Keras's mask of the scores: the attention mask with Keras's expanded axes
        (e.g. (B, 1, T, S)) that the Softmax layer received, or None."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out = None if mask is None else np.asarray(mask)
        with_scores, scores_mask = self._scores_mask
        if with_scores:
            return [out, scores_mask] if scores_mask is not None or out is not None else None
        return out


__all__ = ["MultiHeadAttention"]
