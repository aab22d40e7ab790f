"""The recurrence written out as an ONNX ``Scan``: masks, any activation, exactly as rnnlens.

ONNX's LSTM / GRU / RNN operators take ``sequence_lens``, which only describes right
padding, and a short list of activations. Where a layer receives a Keras mask, or uses
an activation the operators lack, the export writes rnnlens's loop
(:mod:`rnnlens.recurrence`) as a ``Scan`` over the time-major steps instead::

    xp = x @ W + b_x                                    (T, B, G), before the Scan
    Scan body, per processed step t with keep_t = mask[:, t] (B, 1):
        out_t, new = cell(xp_t, states)                 # the cell's equations below
        states = Where(keep_t, new, states)             # a masked step changes no state
        y_t    = Where(keep_t, out_t, 0 if zero_output_for_mask else y_tm1)
    y_-1 = 0 (h0 for a standalone-Keras-2.2 file), the last output is y_(T-1)

    LSTM   z = xp_t + h @ U;  i, f, c~, o = split(z, 4)
           c' = rec(f) * c + rec(i) * act(c~);  h' = rec(o) * act(c')
    GRU    reset_after: r_z, r_r, r_h = split(h @ U + b_h, 3)
               z = rec(x_z + r_z);  r = rec(x_r + r_r);  h~ = act(x_h + r * r_h)
           reset_before: z = rec(x_z + h @ U_z);  r = rec(x_r + h @ U_r)
               h~ = act(x_h + (r * h) @ U_h)
           h' = z * h + (1 - z) * h~
    SimpleRNN  h' = act(xp_t + h @ U)

``go_backwards`` scans the inputs (and the mask) in reverse (``scan_input_directions``)
and keeps the outputs in processing order, as Keras; a Bidirectional's backward
sequence is flipped into time order afterwards. Every Keras activation
(:data:`rnnlens.interop.onnx.activations.ALL`) can be used in the body. Without a mask
the body has no ``Where`` and ``y_t`` is ``h'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.cells.gru import GRUCell
from rnnlens.cells.lstm import LSTMCell
from rnnlens.interop.onnx import activations as acts


def _gates(cell: Any) -> int:
    return 4 if isinstance(cell, LSTMCell) else 3 if isinstance(cell, GRUCell) else 1


def _biases(cell: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(input bias, recurrent bias) of the cell (the recurrent one: reset_after GRU)."""
    if not cell.use_bias:
        return None, None
    bias = np.asarray(cell.bias, np.float32)
    if isinstance(cell, GRUCell) and cell.reset_after:
        return bias[0], bias[1]
    return bias, None


def activation_names(layer: Any, where: str) -> tuple[str, str | None]:
    """The Keras names of the cell's activation and recurrent activation (any of
    :data:`~rnnlens.interop.onnx.activations.ALL`), or a ValueError naming the layer."""
    cell = layer.cell
    act = acts.check(cell.activation, where)
    rec = None
    if isinstance(cell, (LSTMCell, GRUCell)):
        rec = acts.check(cell.recurrent_activation, where, arg="recurrent_activation")
    return act, rec


def scan_layer(ex: Any, layer: Any, x_tm: str, keep_tm: str | None, states: list | None,
               hint: str) -> tuple[str, list[str], str]:
    """Runs one recurrent layer over the time-major (T, B, F) input ``x_tm``.

    Args:
        keep_tm: the mask as (T, B, 1) bool in time order, or None.
        states: the initial states' names (B, u), or None for zeros.

    Returns:
        the (B, T, u) output sequence in processing order, the final states and the
        last output (B, u).
    """
    cell = layer.cell
    u = cell.units
    act, rec = activation_names(layer, f"Layer '{hint}'")
    b_x, b_h = _biases(cell)
    w = ex.weight(cell, "kernel", lambda: cell.kernel)
    xp = ex.one("MatMul", [x_tm, w], hint)                               # (T, B, G)
    if b_x is not None:
        xp = ex.one("Add", [xp, ex.weight(cell, "bias_x", lambda: b_x)], hint)
    n_states = 2 if isinstance(cell, LSTMCell) else 1
    if states is None:
        zeros = _zeros(ex, x_tm, u, hint)
        states = [zeros] * n_states
    masked = keep_tm is not None
    carried = list(states)
    if masked:
        y0 = states[0] if getattr(layer, "masked_output_from_state", False) else \
            _zeros(ex, x_tm, u, hint)
        carried.append(y0)
    scans = [xp] + ([keep_tm] if masked else [])
    zero = bool(layer.zero_output_for_mask) and not _unroll_quirk(layer, masked)
    body = _body(ex, layer, (act, rec), b_h, n_states, masked, zero, hint)
    reverse = int(bool(layer.go_backwards))
    outs = ex.op("Scan", carried + scans, hint, n_out=len(carried) + 1, body=body,
                 num_scan_inputs=len(scans), scan_input_directions=[reverse] * len(scans),
                 scan_output_directions=[0])
    finals, seq_tm = outs[:n_states], outs[-1]
    last = outs[n_states] if masked else finals[0]
    seq = ex.one("Transpose", [seq_tm], hint, perm=[1, 0, 2])           # (B, T, u)
    return seq, finals, last


def _unroll_quirk(layer: Any, masked: bool) -> bool:
    """rnnlens's ``_unrolled_backward_zero_quirk`` (the caller zeroes in input order)."""
    return bool(layer.unroll and layer.go_backwards and layer.zero_output_for_mask
                and layer.return_sequences and masked)


def quirk_zeroing(ex: Any, layer: Any, seq: str, mask: str | None, hint: str) -> str:
    """Keras 3.15.1's unroll + go_backwards + zero_output_for_mask sequence: carried
    outputs zeroed where the mask *in input order* is False."""
    if mask is None or not _unroll_quirk(layer, True):
        return seq
    keep = ex.one("Cast", [ex.unsqueeze(mask, -1, hint)], hint, to=ex.onnx.TensorProto.FLOAT)
    return ex.one("Mul", [seq, keep], hint)


def _zeros(ex: Any, x_tm: str, u: int, hint: str) -> str:
    """Zeros (B, u) for the batch of the time-major ``x_tm``."""
    key = ("zeros", x_tm, u)
    if key not in ex.cache:
        shape = ex.one("Concat", [ex.shape_of(x_tm, 1, 2, hint), ex.ints([u])], hint, axis=0)
        ex.cache[key] = ex.one("ConstantOfShape", [shape], hint,
                               value=ex.onnx.numpy_helper.from_array(np.zeros(1, np.float32)))
    return ex.cache[key]


def _body(ex: Any, layer: Any, names: tuple, b_h: Any, n_states: int, masked: bool,
          zero: bool, hint: str) -> Any:
    """The Scan body graph: (states[, y], xp_t[, keep_t]) -> (states'[, y'], y_t)."""
    tp = ex.onnx.TensorProto
    ins = [ex.fresh(f"{hint}/scan/{k}") for k in ("h", "c")[:n_states]]
    if masked:
        ins.append(ex.fresh(f"{hint}/scan/y"))
    xp_t = ex.fresh(f"{hint}/scan/xp_t")
    keep_t = ex.fresh(f"{hint}/scan/keep_t") if masked else None
    saved, ex.nodes = ex.nodes, []
    try:
        new, out = _cell_step(ex, layer, xp_t, ins[:n_states], names, b_h, f"{hint}/scan")
        if masked:
            new = [ex.one("Where", [keep_t, n, s], f"{hint}/scan") for n, s in zip(new, ins)]
            other = ex.scalar(0.0) if zero else ins[n_states]
            y = ex.one("Where", [keep_t, out, other], f"{hint}/scan")
            new.append(y)
        else:
            y = new[0]
        outs = [ex.one("Identity", [v], f"{hint}/scan") for v in new + [y]]
        nodes = ex.nodes
    finally:
        ex.nodes = saved
    info = ex.helper.make_tensor_value_info
    inputs = [info(n, tp.FLOAT, None) for n in ins] + [info(xp_t, tp.FLOAT, None)]
    if masked:
        inputs.append(info(keep_t, tp.BOOL, None))
    outputs = [info(n, tp.FLOAT, None) for n in outs]
    return ex.helper.make_graph(nodes, ex.fresh(f"{hint}/scan_body"), inputs, outputs)


def _cell_step(ex: Any, layer: Any, xp_t: str, states: list[str], names: tuple, b_h: Any,
               hint: str) -> tuple[list[str], str]:
    """One step of the cell: (new states, output)."""
    cell = layer.cell
    u = cell.units
    act, rec = names

    def a(v: str) -> str:
        return acts.emit(ex, act, v, hint, last_dim=u)

    def r(v: str) -> str:
        return acts.emit(ex, rec, v, hint, last_dim=u)

    uu = ex.weight(cell, "recurrent_kernel", lambda: cell.recurrent_kernel)
    h = states[0]
    if isinstance(cell, LSTMCell):
        z = ex.one("Add", [xp_t, ex.one("MatMul", [h, uu], hint)], hint)   # (B, 4u)
        zi, zf, zc, zo = ex.op("Split", [z, ex.ints([u] * 4)], hint, n_out=4, axis=1)
        c = ex.one("Add", [ex.one("Mul", [r(zf), states[1]], hint),
                           ex.one("Mul", [r(zi), a(zc)], hint)], hint)
        h_new = ex.one("Mul", [r(zo), a(c)], hint)
        return [h_new, c], h_new
    if isinstance(cell, GRUCell):
        x_z, x_r, x_h = ex.op("Split", [xp_t, ex.ints([u] * 3)], hint, n_out=3, axis=1)
        if cell.reset_after:
            rh = ex.one("MatMul", [h, uu], hint)
            if b_h is not None:
                rh = ex.one("Add", [rh, ex.weight(cell, "bias_h", lambda: b_h)], hint)
            r_z, r_r, r_h = ex.op("Split", [rh, ex.ints([u] * 3)], hint, n_out=3, axis=1)
            zg = r(ex.one("Add", [x_z, r_z], hint))
            rg = r(ex.one("Add", [x_r, r_r], hint))
            cand = ex.one("Add", [x_h, ex.one("Mul", [rg, r_h], hint)], hint)
        else:
            u_zr = ex.weight(cell, "recurrent_kernel_zr",
                             lambda: np.asarray(cell.recurrent_kernel)[:, :2 * u])
            u_h = ex.weight(cell, "recurrent_kernel_h",
                            lambda: np.asarray(cell.recurrent_kernel)[:, 2 * u:])
            r_z, r_r = ex.op("Split", [ex.one("MatMul", [h, u_zr], hint), ex.ints([u] * 2)],
                             hint, n_out=2, axis=1)
            zg = r(ex.one("Add", [x_z, r_z], hint))
            rg = r(ex.one("Add", [x_r, r_r], hint))
            cand = ex.one("Add", [x_h, ex.one("MatMul", [ex.one("Mul", [rg, h], hint), u_h],
                                              hint)], hint)
        hh = a(cand)
        one_minus = ex.one("Sub", [ex.scalar(1.0), zg], hint)
        h_new = ex.one("Add", [ex.one("Mul", [zg, h], hint),
                               ex.one("Mul", [one_minus, hh], hint)], hint)
        return [h_new], h_new
    h_new = a(ex.one("Add", [xp_t, ex.one("MatMul", [h, uu], hint)], hint))
    return [h_new], h_new


__all__ = ["scan_layer", "quirk_zeroing", "activation_names"]
