"""Attention layers: Attention, AdditiveAttention, MultiHeadAttention (MatMul, Softmax, masks).

``Attention`` / ``AdditiveAttention`` (inputs ``[query, value(, key)]``, (B, Tq, d) /
(B, Tv, dv))::

    dot      S = MatMul(q, k^T) (* scale)        concat   S = c * ReduceSum(tanh(a (q_i + k_j)))
    additive S = ReduceSum(scale * tanh(q_i + k_j))
    S = Where(keep, S, S - 1e9),  keep = value mask (B, 1, Tv) AND causal (Tq, Tv)
    W = Softmax(S);  O = MatMul(W, v);  O = Where(query mask, O, 0)

``MultiHeadAttention`` on (B, T, E) inputs (the default ``attention_axes``)::

    Q = (q Wq + bq) as (B, N, T, H), K, V likewise;  S = MatMul(Q, K^T) * (1 / sqrt(H))
    keep = attention_mask AND query mask (B, T, 1) AND value / key masks (B, 1, S)
           AND causal (T, S) AND sliding window |i - j| < w, expanded to (B, 1, T, S)
    P = Softmax(Where(keep, S, -0.7 * 3.38953e38))              TensorFlow's fused kernel
        (no dropout rate and no returned scores), else Keras's Softmax layer:
        Where(keep, Softmax(Where(keep, S, -1e9)), 0)
    O = MatMul(P, V) as (B, T, N Hv) (* sigmoid(q Wg + bg) with use_gate);  y = O Wo + bo

exactly rnnlens's equations (``rnnlens.layers.attention``). The masks are the Keras masks
the layers receive (``Embedding(mask_zero=True)``, ``Masking``, ``mask=``) and, for
MultiHeadAttention, its ``value_mask`` / ``key_mask`` / ``attention_mask`` arguments
from the graph. The causal and sliding-window masks are built from the steps' sizes at
run time (``Range``). The returned scores are the second output
(``return_attention_scores``). MultiHeadAttention with other ``attention_axes`` or inputs
of rank above 3 is refused, as is any attention with dropout in training mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.interop.onnx import activations as acts
from rnnlens.interop.onnx.export import Call
from rnnlens.interop.onnx.masks import handles_masks
from rnnlens.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from rnnlens.layers.attention._heads import SOFTMAX_LARGE_NEGATIVE, TF_LARGE_NEGATIVE
from rnnlens.layers.attention.attention import MASK_BIAS


def _flag(call: Call, name: str) -> bool:
    value = call.named.get(name, False)
    if not isinstance(value, (bool, int, np.integer)):
        raise ValueError(f"{call.where} is called with {name}={value!r}; ONNX export needs "
                         "True or False.")
    return bool(value)


def _refuse_dropout(call: Call) -> None:
    if call.training and call.layer.dropout > 0:
        raise ValueError(f"{call.where} is called with training=True and dropout="
                         f"{call.layer.dropout}; ONNX export does not support dropout in "
                         "training mode (random numbers).")


def _masks(call: Call, n: int) -> list:
    mask = call.mask
    if not isinstance(mask, (list, tuple)):
        return [None] * n
    return (list(mask) + [None] * n)[:n]


def _steps_grid(ex: Any, scores: str, hint: str) -> tuple[str, str]:
    """Query and key positions as (Tq, 1) and (1, Tk) int64, from the scores' shape."""
    tq = ex.squeeze(ex.shape_of(scores, -2, -1, hint), 0, hint)
    tk = ex.squeeze(ex.shape_of(scores, -1, 2 ** 63 - 1, hint), 0, hint)
    zero, one = ex.const(np.asarray(0, np.int64), "zero"), ex.const(np.asarray(1, np.int64),
                                                                      "one")
    i = ex.unsqueeze(ex.one("Range", [zero, tq, one], hint), 1, hint)
    j = ex.unsqueeze(ex.one("Range", [zero, tk, one], hint), 0, hint)
    return i, j


def _and(ex: Any, parts: list[str], hint: str) -> str | None:
    keep = None
    for part in parts:
        keep = part if keep is None else ex.one("And", [keep, part], hint)
    return keep


def _causal(ex: Any, scores: str, hint: str) -> str:
    i, j = _steps_grid(ex, scores, hint)
    return ex.one("GreaterOrEqual", [i, j], hint)                        # (Tq, Tk)


# -- Attention / AdditiveAttention ---------------------------------------------------------


@handles_masks
def _attention(ex: Any, call: Call) -> list[str]:
    layer, hint = call.layer, call.hint
    _refuse_dropout(call)
    q, v = call.inputs[0].name, call.inputs[1].name
    k = call.inputs[2].name if len(call.inputs) > 2 else v
    rank = len(call.inputs[0].shape)
    q_mask, v_mask = _masks(call, 2)
    scores = _scores(ex, layer, q, k, rank, hint)                         # (B, Tq, Tv)
    parts = [] if v_mask is None else [ex.unsqueeze(v_mask, -2, hint)]
    if _flag(call, "use_causal_mask"):
        parts.append(_causal(ex, scores, hint))
    keep = _and(ex, parts, hint)
    if keep is not None:
        lowered = ex.one("Sub", [scores, ex.scalar(MASK_BIAS)], hint)
        scores = ex.one("Where", [keep, scores, lowered], hint)
    w = ex.one("Softmax", [scores], hint, axis=-1)
    out = ex.one("MatMul", [w, v], hint)
    if q_mask is not None:
        out = ex.one("Where", [ex.unsqueeze(q_mask, -1, hint), out, ex.scalar(0.0)], hint)
    call.out_masks = [q_mask]
    return [out, w] if _flag(call, "return_attention_scores") else [out]


def _scores(ex: Any, layer: Any, q: str, k: str, rank: int, hint: str) -> str:
    perm = [*range(rank - 2), rank - 1, rank - 2]
    if isinstance(layer, AdditiveAttention):
        z = ex.one("Add", [ex.unsqueeze(q, -2, hint), ex.unsqueeze(k, -3, hint)], hint)
        t = ex.one("Tanh", [z], hint)
        if layer.scale is not None:
            t = ex.one("Mul", [t, ex.weight(layer, "scale", lambda: layer.scale)], hint)
        return ex.reduce("ReduceSum", t, [-1], hint, keepdims=False)
    if layer.score_mode == "dot":
        raw = ex.one("MatMul", [q, ex.transpose(k, perm, hint)], hint)
        if layer.scale is None:
            return raw
        return ex.one("Mul", [raw, ex.weight(layer, "scale", lambda: layer.scale)], hint)
    z = ex.one("Add", [ex.unsqueeze(q, -2, hint), ex.unsqueeze(k, -3, hint)], hint)
    if layer.scale is not None:
        z = ex.one("Mul", [ex.weight(layer, "scale", lambda: layer.scale), z], hint)
    total = ex.reduce("ReduceSum", ex.one("Tanh", [z], hint), [-1], hint, keepdims=False)
    weight = ex.weight(layer, "concat_score_weight", lambda: layer.concat_score_weight)
    return ex.one("Mul", [weight, total], hint)


# -- MultiHeadAttention ---------------------------------------------------------------------


def _projection(ex: Any, dense: Any, x: str, hint: str, heads: bool = True) -> str:
    """An EinsumDense of MultiHeadAttention: (B, T, E) -> (B, N, T, H) (or (B, T, *out))."""
    n_in = int(np.prod(dense.in_shape))
    n_out = int(np.prod(dense.out_shape))
    w = ex.weight(dense, "kernel", lambda: np.reshape(dense.kernel, (n_in, n_out)))
    y = x if dense.bound == 1 else ex.one("Reshape", [x, ex.ints([0, 0, n_in])], hint)
    y = ex.one("MatMul", [y, w], hint)
    if dense.bias is not None:
        y = ex.one("Add", [y, ex.weight(dense, "bias", lambda: np.reshape(dense.bias, -1))],
                   hint)
    y = acts.emit(ex, acts.check(dense.activation, f"Layer '{hint}'"), y, hint)
    y = ex.one("Reshape", [y, ex.ints([0, 0, *dense.out_shape])], hint)
    return ex.transpose(y, [0, 2, 1, 3], hint) if heads else y


def _mha_keep(ex: Any, call: Call, scores: str, n_inputs: int) -> str | None:
    """Keras's ``_compute_attention_mask`` (B, T, S), expanded to (B, 1, T, S)."""
    layer, hint, named = call.layer, call.hint, call.named
    carried = _masks(call, 3)
    explicit = {key: (None if named.get(key) is None else
                      ex.as_bool(ex.raw_of(named[key])))
                for key in ("value_mask", "key_mask", "attention_mask")}
    v_mask = explicit["value_mask"] or carried[1]
    k_mask = explicit["key_mask"] or (carried[2] if n_inputs > 2 else None)
    parts = [] if carried[0] is None else [ex.unsqueeze(carried[0], -1, hint)]
    parts += [ex.unsqueeze(m, -2, hint) for m in (v_mask, k_mask) if m is not None]
    if _flag(call, "use_causal_mask"):
        parts.append(_causal(ex, scores, hint))
    if layer.sliding_window is not None:
        i, j = _steps_grid(ex, scores, hint)
        distance = ex.one("Abs", [ex.one("Sub", [i, j], hint)], hint)
        parts.append(ex.one("Less", [distance, ex.const(np.asarray(layer.sliding_window,
                                                                   np.int64), "window")],
                            hint))
    if explicit["attention_mask"] is not None:
        parts.insert(0, explicit["attention_mask"])
    keep = _and(ex, parts, hint)
    return None if keep is None else ex.unsqueeze(keep, -3, hint)       # (B, 1, T, S)


@handles_masks
def _multi_head(ex: Any, call: Call) -> list[str]:
    layer, hint = call.layer, call.hint
    _refuse_dropout(call)
    if any(len(v.shape) != 3 for v in call.inputs) or tuple(layer.attention_axes) != (1,):
        raise ValueError(f"{call.where} has inputs of rank {len(call.inputs[0].shape)} / "
                         f"attention_axes={layer.attention_axes}; ONNX export writes "
                         "MultiHeadAttention on (batch, steps, features) inputs with the "
                         "default attention_axes.")
    q, v = call.inputs[0].name, call.inputs[1].name
    k = call.inputs[2].name if len(call.inputs) > 2 else v
    qp = _projection(ex, layer.query_dense, q, hint)                     # (B, N, T, H)
    kp = _projection(ex, layer.key_dense, k, hint)                       # (B, N, S, H)
    vp = _projection(ex, layer.value_dense, v, hint)                     # (B, N, S, Hv)
    raw = ex.one("MatMul", [qp, ex.transpose(kp, [0, 1, 3, 2], hint)], hint)
    s = ex.one("Mul", [raw, ex.scalar(float(np.float32(layer.inverse_sqrt_key_dim)))], hint)
    keep = _mha_keep(ex, call, s, len(call.inputs))
    scores_out = _flag(call, "return_attention_scores")
    fast = not (layer.dropout > 0 or scores_out)
    if keep is None:
        p = ex.one("Softmax", [s], hint, axis=-1)
    elif fast:
        p = ex.one("Softmax", [ex.one("Where", [keep, s, ex.scalar(TF_LARGE_NEGATIVE)], hint)],
                   hint, axis=-1)
    else:
        p = ex.one("Softmax", [ex.one("Where", [keep, s, ex.scalar(SOFTMAX_LARGE_NEGATIVE)],
                                      hint)], hint, axis=-1)
        p = ex.one("Where", [keep, p, ex.scalar(0.0)], hint)
    o = ex.transpose(ex.one("MatMul", [p, vp], hint), [0, 2, 1, 3], hint)   # (B, T, N, Hv)
    if layer._gate_dense is not None:
        o = ex.one("Mul", [o, _projection(ex, layer._gate_dense, q, hint, heads=False)], hint)
    y = _projection(ex, layer.output_dense, o, hint, heads=False)      # (B, T, *out)
    q_mask = _masks(call, 1)[0]
    call.out_masks = [q_mask] + ([None if fast else keep] if scores_out else [])
    return [y, p] if scores_out else [y]


EMITTERS = {
    Attention: _attention,
    AdditiveAttention: _attention,
    MultiHeadAttention: _multi_head,
}

__all__ = ["EMITTERS"]
