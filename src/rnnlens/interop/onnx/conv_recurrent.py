"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D as an ONNX ``Scan`` over the time steps.

The cell's equations (:mod:`rnnlens.cells.conv_lstm`), on channels-first maps inside the
graph (B, C, *S) whatever the layer's data format::

    xp   = Conv(x_t, W (4F, C, *k), b; the layer's strides, dilation, padding)
           for all steps at once, the steps folded into the batch      (T, B, 4F, *O)
    Scan over t (reversed for go_backwards), keep_t = mask[:, t] (B, 1, ..):
        z    = xp_t + Conv(h, U (4F, F, *k); "same", stride 1)
        i, f, g, o = Split(z, 4, axis=1)
        c'   = rec(f) * c + rec(i) * act(g);  h' = rec(o) * act(c')
        h, c = Where(keep_t, (h', c'), (h, c))
        y_t  = Where(keep_t, h', 0 if zero_output_for_mask else y_tm1)

with ``y_-1 = 0``; the outputs go back to the layer's layout ((B, T, *O, F) or
(B, T, F, *O)). Softmax-like activations act along the last axis of the maps in the
layer's data format, as rnnlens and Keras apply them. Initial states are maps in the
layer's format. As for the other recurrent layers, stateful layers, dropout in training
mode and user activations are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.activations import NOT_ELEMENTWISE
from rnnlens.interop.onnx import activations as acts
from rnnlens.interop.onnx.export import Call
from rnnlens.interop.onnx.masks import handles_masks
from rnnlens.layers.convolutional_recurrent import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D


def _same_pads(n: int, e: int, s: int) -> list[int]:
    total = max((-(-n // s) - 1) * s + e - n, 0)
    return [total // 2, total - total // 2]


def _moved(kernel: Any) -> np.ndarray:
    """(*k, I, O) -> (O, I, *k)."""
    w = np.asarray(kernel, np.float32)
    r = w.ndim - 2
    return np.ascontiguousarray(w.transpose(r + 1, r, *range(r)))


def _check(call: Call) -> tuple[str, str]:
    layer, cell = call.layer, call.layer.cell
    if layer.stateful:
        raise ValueError(f"{call.where} uses stateful=True; ONNX export does not support "
                         "stateful layers (pass the states as model inputs instead).")
    if call.training and (cell.dropout > 0 or cell.recurrent_dropout > 0):
        raise ValueError(f"{call.where} is called with training=True and dropout; ONNX "
                         "export does not support dropout in training mode.")
    return (acts.check(cell.activation, call.where),
            acts.check(cell.recurrent_activation, call.where, arg="recurrent_activation"))


@handles_masks
def emit_conv_lstm(ex: Any, call: Call) -> list[str]:
    layer, cell, hint = call.layer, call.layer.cell, call.hint
    names = _check(call)
    rank, f = cell.rank, cell.filters
    last = cell.data_format == "channels_last"
    x = call.x.name                                          # (B, T, *S, C) / (B, T, C, *S)
    to_first = [1, 0, rank + 2, *range(2, rank + 2)] if last else [1, 0, *range(2, rank + 3)]
    xt = ex.transpose(x, to_first, hint)                     # (T, B, C, *S)
    folded = ex.one("Reshape", [xt, ex.ints([-1, cell.input_channels, *cell.spatial])], hint)
    ks, ss, ds = list(cell.kernel_size), list(cell.strides), list(cell.dilation_rate)
    pads = [[0, 0]] * rank if cell.padding == "valid" else \
        [_same_pads(n, (k - 1) * d + 1, s) for n, k, s, d in zip(cell.spatial, ks, ss, ds)]
    bias = ex.weight(cell, "bias", lambda: cell.bias) if cell.use_bias else ""
    xp = ex.one("Conv", [folded, ex.weight(cell, "kernel", lambda: _moved(cell.kernel)), bias],
                hint, strides=ss, dilations=ds, kernel_shape=ks,
                pads=[p[0] for p in pads] + [p[1] for p in pads])       # (T B, 4F, *O)
    steps_batch = ex.shape_of(xt, 0, 2, hint)
    xp = ex.one("Reshape", [xp, ex.one("Concat", [steps_batch, ex.ints([4 * f,
                                                                        *cell.out_spatial])],
                                       hint, axis=0)], hint)            # (T, B, 4F, *O)
    states = _initial(ex, call, xt)
    mask = call.mask[0] if isinstance(call.mask, (list, tuple)) else call.mask
    keep = None
    if mask is not None:                                     # (T, B, 1, .., 1)
        keep = ex.unsqueeze(ex.transpose(mask, [1, 0], hint), list(range(2, rank + 3)), hint)
    carried = states + ([states[0] if layer.masked_output_from_state else
                         _zeros(ex, xt, cell)] if keep is not None else [])
    scans = [xp] + ([keep] if keep is not None else [])
    zero = bool(layer.zero_output_for_mask) and not (layer.unroll and layer.go_backwards and
                                                     layer.return_sequences)
    body = _body(ex, cell, names, keep is not None, zero, hint)
    rev = int(bool(layer.go_backwards))
    outs = ex.op("Scan", carried + scans, hint, n_out=len(carried) + 1, body=body,
                 num_scan_inputs=len(scans), scan_input_directions=[rev] * len(scans),
                 scan_output_directions=[0])
    h, c, seq = outs[0], outs[1], outs[-1]
    y_last = outs[2] if keep is not None else h
    if keep is not None and not zero and layer.zero_output_for_mask:   # the unroll quirk
        seq = ex.one("Mul", [seq, ex.one("Cast", [keep], hint, to=ex.onnx.TensorProto.FLOAT)],
                     hint)
    back = [0, *range(2, rank + 2), 1] if last else list(range(rank + 2))
    seq_perm = [1, 0, *range(3, rank + 3), 2] if last else [1, 0, *range(2, rank + 3)]
    out = ex.transpose(seq, seq_perm, hint) if layer.return_sequences else \
        ex.transpose(y_last, back, hint)
    return [out] + ([ex.transpose(s, back, hint) for s in (h, c)] if layer.return_state
                    else [])


def _zeros(ex: Any, xt: str, cell: Any) -> str:
    shape = ex.one("Concat", [ex.shape_of(xt, 1, 2, cell.name),
                              ex.ints([cell.filters, *cell.out_spatial])], cell.name, axis=0)
    return ex.one("ConstantOfShape", [shape], cell.name,
                  value=ex.onnx.numpy_helper.from_array(np.zeros(1, np.float32)))


def _initial(ex: Any, call: Call, xt: str) -> list[str]:
    """[h0, c0] as channels-first maps (B, F, *O): given, or zeros."""
    cell, given = call.layer.cell, call.named.get("initial_state")
    if given is None:
        zeros = _zeros(ex, xt, cell)
        return [zeros, zeros]
    rank = cell.rank
    perm = [0, rank + 1, *range(1, rank + 1)] if cell.data_format == "channels_last" else None
    states = [ex.name_of(s) for s in given]
    return [s if perm is None else ex.transpose(s, perm, call.hint) for s in states]


def _body(ex: Any, cell: Any, names: tuple, masked: bool, zero: bool, hint: str) -> Any:
    tp, f = ex.onnx.TensorProto, cell.filters
    ins = [ex.fresh(f"{hint}/scan/{k}") for k in ("h", "c", "y")[:3 if masked else 2]]
    xp_t = ex.fresh(f"{hint}/scan/xp_t")
    keep_t = ex.fresh(f"{hint}/scan/keep_t") if masked else None
    act, rec = names
    saved, ex.nodes = ex.nodes, []
    try:
        h, c = ins[0], ins[1]
        ks = list(cell.kernel_size)
        pads = [(k - 1) // 2 for k in ks] + [k - 1 - (k - 1) // 2 for k in ks]
        u = ex.weight(cell, "recurrent_kernel", lambda: _moved(cell.recurrent_kernel))
        z = ex.one("Add", [xp_t, ex.one("Conv", [h, u], hint, kernel_shape=ks, pads=pads)],
                   hint)
        zi, zf, zg, zo = ex.op("Split", [z, ex.ints([f] * 4)], hint, n_out=4, axis=1)
        apply = lambda name, v: _maps_activation(ex, cell, name, v, hint)   # noqa: E731
        c_new = ex.one("Add", [ex.one("Mul", [apply(rec, zf), c], hint),
                               ex.one("Mul", [apply(rec, zi), apply(act, zg)], hint)], hint)
        h_new = ex.one("Mul", [apply(rec, zo), apply(act, c_new)], hint)
        new = [h_new, c_new]
        if masked:
            new = [ex.one("Where", [keep_t, n, s], hint) for n, s in zip(new, ins)]
            y = ex.one("Where", [keep_t, h_new, ex.scalar(0.0) if zero else ins[2]], hint)
            new.append(y)
        else:
            y = new[0]
        outs = [ex.one("Identity", [v], hint) for v in new + [y]]
        nodes = ex.nodes
    finally:
        ex.nodes = saved
    info = ex.helper.make_tensor_value_info
    inputs = [info(n, tp.FLOAT, None) for n in ins] + [info(xp_t, tp.FLOAT, None)]
    if masked:
        inputs.append(info(keep_t, tp.BOOL, None))
    return ex.helper.make_graph(nodes, ex.fresh(f"{hint}/scan_body"), inputs,
                                [info(n, tp.FLOAT, None) for n in outs])


def _maps_activation(ex: Any, cell: Any, name: str, v: str, hint: str) -> str:
    """``name`` on channels-first maps; softmax-like ones along the last axis of the
    layer's data format (the channels for channels_last)."""
    if name not in NOT_ELEMENTWISE or cell.data_format == "channels_first":
        return acts.emit(ex, name, v, hint, last_dim=cell.out_spatial[-1]
                         if cell.data_format == "channels_first" else cell.filters)
    rank = cell.rank
    moved = ex.transpose(v, [0, *range(2, rank + 2), 1], hint)
    y = acts.emit(ex, name, moved, hint, last_dim=cell.filters)
    return ex.transpose(y, [0, rank + 1, *range(1, rank + 1)], hint)


EMITTERS = {cls: emit_conv_lstm for cls in (ConvLSTM1D, ConvLSTM2D, ConvLSTM3D)}

__all__ = ["EMITTERS"]
