"""Recurrent layers with ONNX's own LSTM / GRU / RNN operators.

* ``LSTM``, ``GRU`` (``reset_after`` True or False), ``SimpleRNN``, ``RNN`` around a
  built-in cell, and Keras 2's ``CuDNNLSTM`` / ``CuDNNGRU`` (after loading, an LSTM / a
  ``reset_after`` GRU with converted weights), with ``return_sequences``,
  ``return_state``, ``go_backwards``, ``use_bias`` and initial states from the graph.
* ``Bidirectional`` with every merge mode, one ``direction="bidirectional"`` operator when
  both directions have the same kind and size, two operators otherwise.

Layout: the operators run time-major (``layout=0``), so the (B, T, F) input is transposed
once per tensor. ONNX returns a reverse direction's sequence aligned with the input
steps, while Keras returns a ``go_backwards`` sequence in processing order, so that
sequence is flipped back with a ``Slice`` (a ``Bidirectional``'s backward sequence, which
Keras flips into time order, needs no flip).

Weights: Keras keeps (F, G*u) kernels, ONNX wants (G*u, F); LSTM gates go from Keras's
i, f, c, o to ONNX's i, o, f, c; GRU's z, r, h order is the same in both (with
``reset_after`` the bias rows are ONNX's Wb and Rb, otherwise Rb is zero).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.cells.generic import StackedRNNCells
from rnnlens.cells.gru import GRUCell
from rnnlens.cells.lstm import LSTMCell
from rnnlens.cells.simple_rnn import SimpleRNNCell
from rnnlens.interop.onnx import activations as acts
from rnnlens.interop.onnx import scan
from rnnlens.interop.onnx.masks import handles_masks
from rnnlens.layers.cudnn import CuDNNGRU, CuDNNLSTM
from rnnlens.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from rnnlens.layers.wrappers import Bidirectional

_LAYERS = (LSTM, GRU, SimpleRNN, RNN, CuDNNLSTM, CuDNNGRU)


@handles_masks
def emit_recurrent(ex: Any, call: Any) -> list[str]:
    """A recurrent layer or a Bidirectional: [output, *states]."""
    layer, named = call.layer, call.named
    states = named.get("initial_state")
    if states is not None:
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        states = [ex.name_of(s) for s in states]
    x = call.x.name
    mask = call.mask[0] if isinstance(call.mask, (list, tuple)) else call.mask
    if isinstance(layer, Bidirectional):
        return _bidirectional(ex, layer, x, states, call.training, mask)
    check_recurrent(layer, f"'{layer.name}'", call.training)
    _check_mask(layer, f"'{layer.name}'", mask)
    if mask is None and native(layer):
        seq, final = _run_directions(ex, [layer], x, [states], flips=[layer.go_backwards],
                                     hint=layer.name)
        out = seq[0] if layer.return_sequences else final[0][0]
        return [out] + (final[0] if layer.return_state else [])
    seq, finals, last = _scan(ex, layer, x, mask, states, layer.name)
    out = seq if layer.return_sequences else last
    return [out] + (finals if layer.return_state else [])


def _scan(ex: Any, layer: Any, x: str, mask: str | None, states: list[str] | None,
          hint: str) -> tuple[str, list[str], str]:
    """The layer as a Scan (see :mod:`.scan`): (sequence, final states, last output)."""
    keep = None
    if mask is not None:
        key = ("keep_tm", mask)
        if key not in ex.cache:
            ex.cache[key] = ex.unsqueeze(ex.transpose(mask, [1, 0], hint), -1, hint)
        keep = ex.cache[key]                                             # (T, B, 1)
    seq, finals, last = scan.scan_layer(ex, layer, ex.time_major(x), keep, states, hint)
    return scan.quirk_zeroing(ex, layer, seq, mask, hint), finals, last


def native(layer: Any) -> bool:
    """Whether ONNX's own operator computes the layer (activations it has)."""
    for arg in _activation_args(layer.cell):
        key = acts.A.serialize(getattr(layer.cell, arg))
        if not (isinstance(key, str) and key in acts.RECURRENT):
            return False
    return True


def _check_mask(layer: Any, name: str, mask: Any) -> None:
    if mask is not None and isinstance(layer, (CuDNNLSTM, CuDNNGRU)):
        raise ValueError(f"Layer {name} ({type(layer).__name__}) receives a mask; cuDNN "
                         "layers do not support masks (rnnlens refuses them too).")


def _bidirectional(ex: Any, layer: Any, x: str, states: list[str] | None,
                   training: bool, mask: str | None) -> list[str]:
    if layer.stateful:
        raise ValueError(_stateful_message(f"'{layer.name}'"))
    fw, bw = layer.forward_layer, layer.backward_layer
    for sub in (fw, bw):
        check_recurrent(sub, f"'{layer.name}' (its {sub.name})", training)
    n = len(fw.cell.state_size)
    split = [None, None] if states is None else [states[:n], states[n:]]
    if mask is not None or not (native(fw) and native(bw)):
        (seq_f, fin_f, last_f), (seq_b, fin_b, last_b) = (
            _scan(ex, sub, x, mask, part, f"{layer.name}/{sub.name}")
            for sub, part in ((fw, split[0]), (bw, split[1])))
        if layer.return_sequences:                       # Keras flips y_rev into time order
            y_f, y_b = seq_f, ex.flip(seq_b, 1, layer.name)
        else:
            y_f, y_b = last_f, last_b
        merged = _merge(ex, layer.merge_mode, y_f, y_b, layer.name)
        return merged + ((fin_f + fin_b) if layer.return_state else [])
    # Keras returns the backward layer's sequence flipped into time order; ONNX returns
    # a reverse direction's sequence in time order already.
    flips = [fw.go_backwards, not bw.go_backwards]
    if _one_operator(fw, bw):
        seq, final = _run_directions(ex, [fw, bw], x, split, flips, layer.name)
    else:
        seq_f, final_f = _run_directions(ex, [fw], x, [split[0]], flips[:1],
                                         f"{layer.name}/{fw.name}")
        seq_b, final_b = _run_directions(ex, [bw], x, [split[1]], flips[1:],
                                         f"{layer.name}/{bw.name}")
        seq, final = seq_f + seq_b, final_f + final_b
    if layer.return_sequences:
        y_f, y_b = seq
    else:
        y_f, y_b = final[0][0], final[1][0]
    merged = _merge(ex, layer.merge_mode, y_f, y_b, layer.name)
    return merged + ((final[0] + final[1]) if layer.return_state else [])


def _merge(ex: Any, mode: str | None, a: str, b: str, hint: str) -> list[str]:
    if mode is None:
        return [a, b]
    if mode == "concat":
        return [ex.one("Concat", [a, b], hint, axis=-1)]
    if mode == "sum":
        return [ex.one("Add", [a, b], hint)]
    if mode == "ave":
        return [ex.one("Div", [ex.one("Add", [a, b], hint), ex.scalar(2.0)], hint)]
    if mode == "mul":
        return [ex.one("Mul", [a, b], hint)]
    raise ValueError(f"Layer '{hint}' has merge_mode={mode!r}, which ONNX export does "
                     "not know.")                    # pragma: no cover - checked by Keras


def _run_directions(ex: Any, layers: list, x: str, states: list, flips: list[bool],
                    hint: str) -> tuple[list[str], list[list[str]]]:
    """One ONNX LSTM / GRU / RNN op for one layer or a forward + backward pair.

    Returns each direction's (B, T, u) sequence (flipped where ``flips`` says)
    and its final states [h] or [h, c] as (B, u).
    """
    first = layers[0]
    cell = first.cell
    op_type, gates = _op_kind(cell)
    u = cell.units
    w, r, b = zip(*(_onnx_weights(lyr.cell) for lyr in layers))
    w_name = ex.const(np.stack(w), f"{hint}/W")
    r_name = ex.const(np.stack(r), f"{hint}/R")
    b_name = ""
    if any(bk is not None for bk in b):
        b_name = ex.const(np.stack([np.zeros(2 * gates * u, np.float32) if bk is None
                                    else bk for bk in b]), f"{hint}/B")
    if len(layers) == 2:
        direction = "bidirectional"
    else:
        direction = "reverse" if first.go_backwards else "forward"
    init = ["", ""]
    if any(s is not None for s in states):
        for k in range(len(cell.state_size)):
            parts = [ex.unsqueeze(s[k], 0, f"{hint}/initial_{k}") for s in states]
            init[k] = parts[0] if len(parts) == 1 else ex.one(
                "Concat", parts, f"{hint}/initial_{k}", axis=0)
    attrs = _attributes(layers, direction)
    if op_type == "GRU":
        attrs["linear_before_reset"] = int(cell.reset_after)
    inputs = [ex.time_major(x), w_name, r_name, b_name, "", init[0]]
    if op_type == "LSTM":
        inputs.append(init[1])
    need_seq = first.return_sequences
    n_out = 3 if op_type == "LSTM" else 2
    outs = [ex.fresh(f"{hint}/{op_type}_{k}") for k in ("Y", "Y_h", "Y_c")[:n_out]]
    if not need_seq:
        outs[0] = ""
    ex.op(op_type, inputs, hint, outputs=outs, **attrs)
    return _sequences(ex, outs[0], len(layers), flips, hint) if need_seq else [], \
        _finals(ex, outs[1:], len(layers))


def _attributes(layers: list, direction: str) -> dict:
    names, alphas, betas = [], [], []
    for lyr in layers:
        for arg in _activation_args(lyr.cell):
            onnx_name, alpha, beta = _recurrent_activation(lyr, arg)
            names.append(onnx_name)
            if alpha is not None:
                alphas.append(alpha)
            if beta is not None:
                betas.append(beta)
    attrs: dict[str, Any] = {"hidden_size": layers[0].cell.units, "direction": direction,
                             "activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def _sequences(ex: Any, y: str, n_dir: int, flips: list[bool], hint: str) -> list[str]:
    """(T, dirs, B, u) -> each direction's (B, T, u)."""
    parts = ([y] if n_dir == 1 else
             ex.op("Split", [y, ex.ints([1] * n_dir)], f"{hint}/Y", n_out=n_dir, axis=1))
    seqs = []
    for k, part in enumerate(parts):
        seq = ex.squeeze(part, 1, f"{hint}/Y")           # (T, B, u)
        if flips[k]:
            seq = ex.flip(seq, 0, f"{hint}/Y")
        seqs.append(ex.one("Transpose", [seq], f"{hint}/Y", perm=[1, 0, 2]))
    return seqs


def _finals(ex: Any, states: list[str], n_dir: int) -> list[list[str]]:
    """(dirs, B, u) states -> per direction [h] or [h, c] as (B, u)."""
    finals: list[list[str]] = [[] for _ in range(n_dir)]
    for state in states:
        parts = ([state] if n_dir == 1 else
                 ex.op("Split", [state, ex.ints([1] * n_dir)], state, n_out=n_dir, axis=0))
        for k, part in enumerate(parts):
            finals[k].append(ex.squeeze(part, 0, state))
    return finals


# -- checks and weights -------------------------------------------------------------------


def _stateful_message(name: str) -> str:
    return (f"Layer {name} uses stateful=True; ONNX export does not support stateful "
            "layers (the exported graph keeps no states between runs). Create the layer "
            "with stateful=False, or pass the states as model inputs and outputs.")


def check_recurrent(layer: Any, name: str, training: bool) -> None:
    """Refuses what ONNX cannot run; ``name`` is the quoted label for messages."""
    if type(layer) not in _LAYERS:
        raise ValueError(f"Layer {name} is a {type(layer).__name__}, a subclass of a "
                         "recurrent layer; ONNX export supports only LSTM, GRU, SimpleRNN and "
                         "RNN around a built-in cell.")
    cell = layer.cell
    if isinstance(cell, StackedRNNCells):
        raise ValueError(f"Layer {name} uses stacked cells (RNN([cell, cell, ...])); ONNX "
                         "export does not support stacked cells. Stack separate recurrent "
                         "layers with return_sequences=True instead.")
    if type(cell) not in (LSTMCell, GRUCell, SimpleRNNCell):
        user = type(getattr(cell, "cell", cell)).__name__
        raise ValueError(f"Layer {name} uses a user cell ({user}); ONNX export supports only "
                         "the built-in LSTMCell, GRUCell and SimpleRNNCell.")
    if layer.stateful:
        raise ValueError(_stateful_message(name))
    if training and (cell.dropout > 0 or cell.recurrent_dropout > 0):
        raise ValueError(f"Layer {name} is called with training=True and dropout="
                         f"{cell.dropout} / recurrent_dropout={cell.recurrent_dropout}; ONNX "
                         "export does not support dropout in training mode (random masks). "
                         "Call the layer without training=True.")
    scan.activation_names(layer, f"Layer {name}")


def _activation_args(cell: Any) -> list[str]:
    """The cell's activation arguments in ONNX's order (LSTM f, g, h; GRU f, g; RNN f)."""
    if isinstance(cell, LSTMCell):
        return ["recurrent_activation", "activation", "activation"]
    if isinstance(cell, GRUCell):
        return ["recurrent_activation", "activation"]
    return ["activation"]


def _recurrent_activation(layer: Any, arg: str, name: str | None = None
                          ) -> tuple[str, float | None, float | None]:
    fn = getattr(layer.cell, arg)
    key = acts.A.serialize(fn)
    if isinstance(key, str) and key in acts.RECURRENT:
        return acts.RECURRENT[key]
    raise ValueError(
        f"Layer {name or repr(layer.name)} uses {arg}={acts.label(fn)!r}; the ONNX "
        f"{_op_kind(layer.cell)[0]} operator cannot express it (supported: "
        f"{', '.join(acts.RECURRENT)}).")


def _op_kind(cell: Any) -> tuple[str, int]:
    if isinstance(cell, LSTMCell):
        return "LSTM", 4
    if isinstance(cell, GRUCell):
        return "GRU", 3
    return "RNN", 1


def _one_operator(fw: Any, bw: Any) -> bool:
    """Whether one ONNX op with direction="bidirectional" runs both directions."""
    a, b = fw.cell, bw.cell
    return (type(a) is type(b) and a.units == b.units and not fw.go_backwards
            and bw.go_backwards and getattr(a, "reset_after", None)
            == getattr(b, "reset_after", None))


def _onnx_weights(cell: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """W (G*u, F), R (G*u, u), B (2*G*u,) or None for one direction, in ONNX's layout.

    Keras keeps (F, G*u) kernels; ONNX wants (G*u, F). LSTM gates go from Keras's
    i, f, c, o to ONNX's i, o, f, c. GRU's z, r, h order is the same in both; with
    reset_after the bias rows are ONNX's Wb (input) and Rb (recurrent), otherwise
    the single bias is Wb and Rb is zero. SimpleRNN's bias is Wb.
    """
    kind, gates = _op_kind(cell)
    u = cell.units
    kernel = np.asarray(cell.kernel, np.float32)
    recurrent = np.asarray(cell.recurrent_kernel, np.float32)
    bias = np.asarray(cell.bias, np.float32) if cell.use_bias else None
    if kind == "LSTM":
        cols = np.concatenate([np.arange(k * u, (k + 1) * u) for k in (0, 3, 1, 2)])
        kernel, recurrent = kernel[:, cols], recurrent[:, cols]
        bias = None if bias is None else bias[cols]
    if bias is not None:
        if kind == "GRU" and cell.reset_after:
            bias = np.concatenate([bias[0], bias[1]])
        else:
            bias = np.concatenate([bias, np.zeros(gates * u, np.float32)])
    return (np.ascontiguousarray(kernel.T), np.ascontiguousarray(recurrent.T), bias)


EMITTERS = {cls: emit_recurrent for cls in (*_LAYERS, Bidirectional)}

__all__ = ["EMITTERS", "emit_recurrent", "check_recurrent"]
