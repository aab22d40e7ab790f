"""``keras.ops.ctc_loss`` and ``keras.ops.ctc_decode`` as Keras 3.15.1 computes them on
TensorFlow (``tf.nn.ctc_loss``'s dense kernel, ``ctc_greedy_decoder``,
``ctc_beam_search_decoder``).

**Loss.** For logits ``z`` (B, T, C), labels ``y`` (B, L) and the blank ``k`` (moved to
class 0, labels below it shifted up), the per-frame log-probabilities are
``p_t = log_softmax(z_t)``. The alignment lattice has ``S = 2 (L + 1)`` states: a start
state, the label states ``1..L`` and the blank states ``0..L`` after each of them.
Transitions: self-loops, start -> label 1, label ``l`` -> blank ``l``, blank ``l - 1`` ->
label ``l``, label ``l - 1`` -> label ``l`` unless ``y_l = y_{l-1}``. In log space, with
every step renormalized (as TensorFlow does):

.. math::

    \\alpha_{t+1} = \\operatorname{norm}\\big(\\operatorname{lse}_j(\\alpha_t[j]
                    + \\log A[i, j]) + p_t[s_i]\\big),\\qquad
    \\beta_t = \\operatorname{norm}\\big(\\operatorname{lse}_j(\\beta_{t+1}[j] + p_t[s_j]
               + \\log A[j, i])\\big)

(``norm`` subtracts the logsumexp over states; ``beta`` restarts from the final states,
``log_0 = log(1e-307)`` elsewhere, beyond each sequence's length). The loss is
``-(beta_0[start] + sum_t c_t)`` with ``c_t`` the backward normalizers, and its gradient
with respect to ``z_t`` is ``softmax(z_t) - gamma_t`` with ``gamma_t[c]`` the posterior of
emitting ``c`` at ``t`` (``exp`` of the normalized ``alpha + beta`` summed per class),
zero beyond each output length. Everything is float32 (float64 inputs are computed in
float32 and cast back, as Keras does).

**Decoding.** ``"greedy"``: the first maximum per frame, repeats merged
(``merge_repeated``), blanks dropped; the score is ``-sum_t max_c z_t[c]``. ``"beam_search"``
is TensorFlow's ``CTCBeamSearchDecoder`` (blank moved last, ``log_softmax`` of each frame
as log-probabilities, a trie of prefixes with blank / non-blank probabilities combined
with float32 ``log1p(exp(.))``, the beam kept as TensorFlow's ``TopN``; ``merge_repeated``
is not used, as in Keras); the scores are the paths' log-probabilities. Decoded labels
are ``(top_paths, B, T)`` int32 padded with -1. Keras moves the blank last with the slices
``[:k]``, ``[k + 1:]``, ``[k:k + 1]`` even for a negative ``mask_index`` (where they
overlap, e.g. ``-1`` duplicates the classes); rnnlens slices the same way, but the
duplicated classes tie exactly and TensorFlow's tie order is not reproduced (see
``_ctc_beam``).

Bad inputs (a label longer than its output, lengths out of range, labels outside the
classes or equal to the blank, wrong ranks or dtypes) raise a ``ValueError`` /
``TypeError``; TensorFlow returns a loss near ``706.9`` (``-log_0``) for a label longer
than the output, which rnnlens refuses. Alignments that fit the frames only without
the blanks repeated labels need (``L <= T < L + repeats``) keep TensorFlow's value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.ops._common import as_int
from rnnlens.ops._dispatch import cast_array, fail, keras_op

_LOG_0 = np.float32(np.log(np.float64(0) + 1e-307))
_NEG = np.float32(-np.inf)


# ---------------------------------------------------------------------------- checks
def _ints(x: np.ndarray, name: str, op: str) -> np.ndarray:
    if x.dtype.kind not in "iuf":
        raise TypeError(f"ops.{op}: {name} must hold integers, received {x.dtype}.")
    return cast_array(x, "int32")


def _check_loss_args(target: np.ndarray, output: np.ndarray, target_length: np.ndarray,
                     output_length: np.ndarray, mask_index: Any) -> tuple:
    op = "ctc_loss"
    if output.ndim != 3:
        raise fail(op, f"output must be (batch, frames, classes), received shape "
                   f"{output.shape}.")
    if output.dtype.kind not in "biuf":
        raise TypeError(f"ops.ctc_loss: output must be a real tensor, received {output.dtype}.")
    b, t, c = output.shape
    if target.ndim != 2 or target.shape[0] != b:
        raise fail(op, f"target must be (batch, max_length) with batch {b}, received shape "
                   f"{target.shape}.")
    y = _ints(target, "target", op)
    lengths = []
    for name, v, top in (("target_length", target_length, target.shape[1]),
                         ("output_length", output_length, t)):
        v = _ints(v, name, op)
        if v.shape != (b,):
            raise fail(op, f"{name} must have shape ({b},), received {v.shape}.")
        if v.size and (v.min() < 0 or v.max() > top):
            raise fail(op, f"{name} must lie in [0, {top}], received {v.min()}..{v.max()}.")
        lengths.append(v)
    yl, ol = lengths
    if c < 1:
        raise fail(op, "output needs at least one class (the blank).")
    k = as_int(mask_index, "mask_index", op)
    if not -c <= k < c:
        raise fail(op, f"mask_index={k} is outside the {c} classes.")
    k %= c
    long = np.nonzero(yl > ol)[0]
    if long.size:
        i = int(long[0])
        raise fail(op, f"sample {i} has a label of length {yl[i]} but only {ol[i]} output "
                   "frames; CTC needs at least one frame per label (TensorFlow returns a "
                   "meaningless loss near 707 there). Shorten the label or lengthen the "
                   "output.")
    inside = np.arange(y.shape[1])[None, :] < yl[:, None]
    bad = inside & ((y < 0) | (y >= c) | (y == k))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise fail(op, f"target[{i}, {j}]={y[i, j]} is not a label: labels lie in [0, {c}) "
                   f"and differ from mask_index={k} (the blank) within target_length.")
    return y, yl, ol, k


# ---------------------------------------------------------------------------- loss
def _lse(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """TensorFlow's reduce_logsumexp (a non-finite maximum is replaced by 0)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, np.float32(0))
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis)


def _transitions(y: np.ndarray) -> np.ndarray:
    """``log A`` (B, S, S) indexed ``[to, from]`` (0 allowed, -inf not)."""
    b, n = y.shape
    m = n + 1
    s = 2 * m
    a = np.eye(s, dtype=np.float32)
    a[1, 0] = 1                                                  # start -> label 1
    lab = np.arange(m)
    a[lab[1:], m + lab[:-1]] = 1                                 # blank l-1 -> label l
    a[m + lab, lab] = 1                                          # label l -> blank l
    a = np.broadcast_to(a, (b, s, s)).copy()
    if n > 1:
        keep = (y[:, :-1] != y[:, 1:]).astype(np.float32)        # label l-1 -> label l
        a[:, lab[2:], lab[1:-1]] = keep
    with np.errstate(divide="ignore"):
        return np.log(a)


def _observed(logp: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(T, B, S) log-probabilities of each state's symbol (start: -inf)."""
    t, b, c = logp.shape
    safe = np.clip(y, 0, c - 1)
    lab = np.take_along_axis(logp, np.broadcast_to(safe[None], (t,) + y.shape), axis=2)
    lab = np.where(((y >= 0) & (y < c))[None], lab, np.float32(0))
    blank = np.repeat(logp[:, :, :1], y.shape[1] + 1, axis=2)
    start = np.full((t, b, 1), _NEG, np.float32)
    return np.concatenate([start, lab, blank], axis=2)


def _forward_backward(obs: np.ndarray, log_a: np.ndarray, yl: np.ndarray, ol: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Normalized ``alpha + beta`` (T, B, S) and the log-likelihoods (B,)."""
    t, b, s = obs.shape
    m = s // 2
    init = np.full((b, s), _LOG_0, np.float32)
    init[:, 0] = 0
    final = np.full((b, s), _LOG_0, np.float32)
    rows = np.arange(b)
    ok = yl <= m - 1
    final[rows[ok], yl[ok]] = 0
    final[rows[ok], m + yl[ok]] = 0
    fwd = np.empty((t, b, s), np.float32)
    state = init
    for k in range(t):
        state = _lse(state[:, None, :] + log_a, -1) + obs[k]
        state = state - _lse(state, -1, keepdims=True)
        fwd[k] = state
    mask = (np.arange(t)[:, None] < ol[None, :]).astype(np.float32)        # (T, B)
    bwd = np.empty((t + 1, b, s), np.float32)
    bwd[t] = final
    state, cum = final, np.zeros(b, np.float32)
    back_a = np.swapaxes(log_a, 1, 2)
    for k in range(t - 1, -1, -1):
        x = _lse((state + obs[k])[:, None, :] + back_a, -1)
        norm = _lse(x, -1, keepdims=True)
        x = x - norm
        cum = cum + norm[:, 0] * mask[k]
        keep = mask[k][:, None]
        with np.errstate(invalid="ignore"):
            state = x * keep + final * (1 - keep)
        bwd[k] = state
    post = fwd + bwd[1:]
    post = post - _lse(post, 2, keepdims=True)
    with np.errstate(divide="ignore"):
        post = post + np.log(mask)[:, :, None]
    return post, bwd[0, :, 0] + cum


def _emissions(post: np.ndarray, y: np.ndarray, c: int) -> np.ndarray:
    """(T, B, C) log posterior of emitting each class (TensorFlow's _state_to_olabel)."""
    n = y.shape[1]
    labels, blanks = post[:, :, 1:n + 1], post[:, :, n + 1:]
    onehot = np.where((y - 1)[..., None] == np.arange(c - 1), np.float32(0), _NEG)  # (B,L,C-1)
    lab = _lse(labels[..., None] + onehot[None], 2)                       # (T, B, C-1)
    return np.concatenate([_lse(blanks, 2, keepdims=True), lab], axis=2)


def ctc_loss_forward(target: Any, output: Any, target_length: Any, output_length: Any,
                     mask_index: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """``ctc_loss`` and its gradient with respect to ``output`` (the backward's cache)."""
    from rnnlens.ops._dispatch import to_array
    from rnnlens.ops._dtypes import result_type

    arrays = [to_array(v, "ctc_loss") for v in (target, output, target_length,
                                                 output_length)]
    target, output, target_length, output_length = arrays
    y, yl, ol, k = _check_loss_args(target, output, target_length, output_length,
                                    mask_index)
    out_dtype = result_type(output.dtype.name, "float32")
    z = cast_array(output, "float32").transpose(1, 0, 2)                  # (T, B, C)
    c = z.shape[2]
    if k:
        z = np.concatenate([z[:, :, k:k + 1], z[:, :, :k], z[:, :, k + 1:]], axis=2)
        y = np.where(y < k, y + 1, y)
    with np.errstate(all="ignore"):
        zs = z - np.max(z, axis=2, keepdims=True)
        logp = (zs - np.log(np.sum(np.exp(zs), axis=2, keepdims=True))).astype(np.float32)
        post, loglik = _forward_backward(_observed(logp, y), _transitions(y), yl, ol)
        grad = np.exp(logp) - np.exp(_emissions(post, y, c))
    grad = grad * (np.arange(z.shape[0])[:, None] < ol[None, :])[:, :, None]
    if k:
        grad = np.concatenate([grad[:, :, 1:k + 1], grad[:, :, :1], grad[:, :, k + 1:]], 2)
    grad = grad.transpose(1, 0, 2)
    return cast_array(-loglik, out_dtype), cast_array(grad, out_dtype)


def ctc_loss_backward(cache: np.ndarray, d_loss: Any) -> np.ndarray:
    """``dL/d output`` given ``dL/d loss`` (B,)."""
    return np.asarray(d_loss, cache.dtype)[:, None, None] * cache


@keras_op("ctc_loss", "target output target_length output_length")
def ctc_loss(target: np.ndarray, output: np.ndarray, target_length: np.ndarray,
             output_length: np.ndarray, mask_index: int = 0) -> np.ndarray:
    """CTC loss per sample (B,) of logits ``output`` (B, T, C) and labels ``target``
    (B, L) with their lengths; ``mask_index`` is the blank (see the module docstring)."""
    return ctc_loss_forward(target, output, target_length, output_length, mask_index)[0]


# ---------------------------------------------------------------------------- decoding
def _check_decode_args(inputs: np.ndarray, lengths: np.ndarray, strategy: Any,
                       beam_width: Any, top_paths: Any, mask_index: Any) -> tuple:
    op = "ctc_decode"
    if inputs.ndim != 3:
        raise fail(op, f"inputs must be (batch, frames, classes), received shape "
                   f"{inputs.shape}.")
    if inputs.dtype.kind not in "biuf":
        raise TypeError(f"ops.ctc_decode: inputs must be real, received {inputs.dtype}.")
    b, t, c = inputs.shape
    if not inputs.size:
        raise fail(op, f"inputs must not be empty (as TensorFlow), received shape "
                   f"{inputs.shape}.")
    n = _ints(lengths, "sequence_lengths", op)
    if n.shape != (b,):
        raise fail(op, f"sequence_lengths must have shape ({b},), received {n.shape}.")
    if n.size and (n.min() < 0 or n.max() > t):
        raise fail(op, f"sequence_lengths must lie in [0, {t}], received {n.min()}.."
                   f"{n.max()}.")
    if strategy not in ("greedy", "beam_search"):
        raise fail(op, f"Invalid strategy {strategy}. Supported values are 'greedy' and "
                   "'beam_search'.")
    if mask_index is not None:
        k = as_int(mask_index, "mask_index", op)
        if not -c <= k < c:
            raise fail(op, f"mask_index={k} is outside the {c} classes.")
        mask_index = k
    width = paths = 1
    if strategy == "beam_search":
        width = as_int(beam_width, "beam_width", op)
        paths = as_int(top_paths, "top_paths", op)
        if width < 1 or paths < 1 or paths > width:
            raise fail(op, f"needs 1 <= top_paths <= beam_width, received top_paths={paths}"
                       f", beam_width={width}.")
    return n, mask_index, width, paths


def _greedy(x: np.ndarray, n: np.ndarray, merge: bool, blank: int
            ) -> tuple[list[list[int]], np.ndarray]:
    b = x.shape[0]
    score = np.zeros((b, 1), x.dtype)
    paths = []
    for i in range(b):
        best = np.argmax(x[i, :n[i]], axis=-1)
        seq, prev = [], -1
        for t, cls in enumerate(best.tolist()):
            score[i, 0] += -x[i, t, cls]
            if cls != blank and not (merge and cls == prev):
                seq.append(cls)
            prev = cls
        paths.append(seq)
    return paths, score


def _dense(paths: list[list[list[int]]], b: int, t: int) -> np.ndarray:
    out = np.full((len(paths), b, t), -1, np.int32)
    for p, per_batch in enumerate(paths):
        for i, seq in enumerate(per_batch):
            out[p, i, :len(seq)] = seq
    return out


@keras_op("ctc_decode", "inputs sequence_lengths")
def ctc_decode(inputs: np.ndarray, sequence_lengths: np.ndarray, strategy: str = "greedy",
               beam_width: int = 100, top_paths: int = 1, merge_repeated: bool = True,
               mask_index: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Decoded labels ``(top_paths, B, T)`` (-1 padded, int32) and their scores ``(B,
    top_paths)`` (see the module docstring)."""
    from rnnlens.ops._dtypes import result_type

    n, k, width, npaths = _check_decode_args(inputs, sequence_lengths, strategy, beam_width,
                                             top_paths, mask_index)
    d = result_type(inputs.dtype.name, "float32")
    x = cast_array(inputs, d)
    b, t, c = x.shape
    if strategy == "greedy":
        blank = c - 1 if k is None else k % c
        paths, score = _greedy(x, n, bool(merge_repeated), blank)
        return _dense([paths], b, t), score
    if k is not None:
        # Keras's slices, kept literally: with a negative mask_index, x[..., k:k + 1] is
        # empty for k = -1 and the classes come out duplicated, as Keras's do.
        x = np.concatenate([x[..., :k], x[..., k + 1:], x[..., k:k + 1]], axis=-1)
    from rnnlens.ops._ctc_beam import BeamSearch

    found = [[None] * b for _ in range(npaths)]
    score = np.zeros((b, npaths), d)
    for i in range(b):
        best = BeamSearch(x.shape[-1], width).run(x[i, :n[i]].astype(np.float32), npaths)
        for p, (seq, logp) in enumerate(best):
            found[p][i] = seq
            score[i, p] = logp
    out = _dense(found, b, t)
    if k is not None:
        k = k + c if k < 0 else k
        out = np.where(out >= k, out + 1, out).astype(np.int32)
    return out, score


__all__ = ["ctc_loss", "ctc_decode", "ctc_loss_forward", "ctc_loss_backward"]
