"""Recurrent layers as torch modules with rnnlens's masking, for :mod:`.model`'s converter.

``Recurrent`` runs one ``LSTM``, ``GRU`` (``reset_after`` True or False), ``SimpleRNN``,
``RNN`` around a built-in cell or Keras 2's cuDNN layers, with every flag
(``return_sequences``, ``return_state``, ``go_backwards``, ``zero_output_for_mask``,
initial states). Two paths, both exact to rnnlens:

* no mask, and a cell torch has (LSTM / ``reset_after`` GRU with tanh and sigmoid,
  SimpleRNN with tanh or relu): torch's own ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (with
  the weights of :mod:`.weights`);
* otherwise the loop of :mod:`rnnlens.recurrence`, step by step::

      xp = x @ W + b_x                                  (B, T, G), x flipped for go_backwards
      for each processed step t, keep_t = mask[:, t]:
          out_t, new = cell(xp[:, t], states)
          states = where(keep_t, new, states)           # a masked step changes no state
          y_t = where(keep_t, out_t, 0 if zero_output_for_mask else y_tm1),  y_-1 = 0

  with the cells' equations of :mod:`rnnlens.interop.onnx.scan` (any Keras activation,
  applied gate by gate).

``Bidirectional`` runs a forward and a backward ``Recurrent`` on the same input and
mask, flips the backward sequence into time order (``return_sequences``) and merges
(concat, sum, ave, mul, or both for ``merge_mode=None``); states: forward's, then
backward's.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from rnnlens.interop.torch import activations as acts
from rnnlens.interop.torch.layers import base, publish
from rnnlens.interop.torch.weights import _TO_TORCH, _import_torch


def _kind(cell: Any) -> str:
    from rnnlens.cells import GRUCell, LSTMCell

    return "LSTM" if isinstance(cell, LSTMCell) else "GRU" if isinstance(cell, GRUCell) \
        else "RNN"


def _native_mode(cell: Any, act: str, rec: str | None) -> str | None:
    """torch's RNN mode computing this cell exactly, or None."""
    kind = _kind(cell)
    if kind == "LSTM" or (kind == "GRU" and cell.reset_after):
        return kind if (act, rec) == ("tanh", "sigmoid") else None
    if kind == "RNN" and act in ("tanh", "relu"):
        return "RNN_TANH" if act == "tanh" else "RNN_RELU"
    return None


def _native_module(torch: Any, cell: Any, mode: str) -> Any:
    cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}.get(mode, torch.nn.RNN)
    kw: dict = {"bias": bool(cell.use_bias), "batch_first": True}
    if cls is torch.nn.RNN:
        kw["nonlinearity"] = "relu" if mode == "RNN_RELU" else "tanh"
    rnn = cls(int(cell.input_dim), int(cell.units), **kw)
    with torch.no_grad():
        for key, value in _TO_TORCH[mode](*cell.get_weights()).items():
            getattr(rnn, f"{key}_l0").copy_(torch.as_tensor(value))
    return rnn


@functools.lru_cache(maxsize=1)
def classes() -> Any:
    torch = _import_torch()
    Base = base()

    class Recurrent(Base):
        """One recurrent layer; ``run(x, mask, states) -> (output, final states)``."""

        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            cell = layer.cell
            where = f"Layer '{layer.name}' ({type(layer).__name__})"
            self.kind, self.units = _kind(cell), int(cell.units)
            self.activation = acts.name_of(cell.activation, where)
            self.recurrent_activation = None if self.kind == "RNN" else acts.name_of(
                cell.recurrent_activation, where, "recurrent_activation")
            self.reset_after = bool(getattr(cell, "reset_after", True))
            self.param("kernel", cell.kernel)
            self.param("recurrent_kernel", cell.recurrent_kernel)
            self.has_bias = bool(cell.use_bias)
            if self.has_bias:
                bias = np.asarray(cell.bias, np.float32)
                split = self.kind == "GRU" and self.reset_after
                self.param("bias_x", bias[0] if split else bias)
                if split:
                    self.param("bias_h", bias[1])
            for flag in ("return_sequences", "return_state", "go_backwards",
                         "zero_output_for_mask", "unroll", "masked_output_from_state"):
                setattr(self, flag, bool(getattr(layer, flag, False)))
            self.n_states = 2 if self.kind == "LSTM" else 1
            mode = _native_mode(cell, self.activation, self.recurrent_activation)
            self.native = None if mode is None else _native_module(torch, cell, mode)

        def forward(self, x: Any, mask: Any = None, initial_state: Any = None) -> tuple:
            mask = mask[0] if isinstance(mask, (list, tuple)) else mask
            out, states = self.run(x, mask, initial_state)
            outs = [out] + (list(states) if self.return_state else [])
            masks = [mask if self.return_sequences else None] + [None] * (len(outs) - 1)
            return outs, masks

        def run(self, x: Any, mask: Any, states: Any) -> tuple:
            if mask is None and self.native is not None:
                return self._native(x, states)
            seq, states, last = self._loop(x, mask, states)
            return (seq if self.return_sequences else last), states

        def _native(self, x: Any, states: Any) -> tuple:
            if self.go_backwards:
                x = torch.flip(x, dims=(1,))
            hidden = None
            if states is not None:
                given = [s.unsqueeze(0).contiguous() for s in states]
                hidden = tuple(given) if self.kind == "LSTM" else given[0]
            seq, hidden = self.native(x, hidden)
            finals = [h[0] for h in hidden] if self.kind == "LSTM" else [hidden[0]]
            return (seq if self.return_sequences else finals[0]), finals

        def _loop(self, x: Any, mask: Any, states: Any) -> tuple:
            quirk = (self.unroll and self.go_backwards and self.zero_output_for_mask
                     and self.return_sequences and mask is not None)
            keep = mask
            if self.go_backwards:
                x = torch.flip(x, dims=(1,))
                keep = None if mask is None else torch.flip(mask, dims=(1,))
            xp = torch.matmul(x, self.kernel)                            # (B, T, G)
            if self.has_bias:
                xp = xp + self.bias_x
            zeros = torch.zeros(x.shape[0], self.units, dtype=x.dtype, device=x.device)
            states = [zeros] * self.n_states if states is None else list(states)
            y = states[0] if self.masked_output_from_state else zeros
            zero_out = self.zero_output_for_mask and not quirk
            outs = []
            for t in range(x.shape[1]):
                new = self._step(xp[:, t], states)
                if keep is None:
                    states, y = new, new[0]
                else:
                    k = keep[:, t].unsqueeze(-1)
                    states = [torch.where(k, n, s) for n, s in zip(new, states)]
                    y = torch.where(k, new[0], zeros if zero_out else y)
                outs.append(y)
            seq = torch.stack(outs, dim=1)                               # (B, T, u)
            if quirk:                   # Keras 3.15.1: zeroed where the input-order mask is
                seq = seq * mask.unsqueeze(-1).to(seq.dtype)
            return seq, states, y

        def _step(self, xp_t: Any, states: list) -> list:
            u, h = self.units, states[0]
            act, rec = acts.get(self.activation), acts.get(self.recurrent_activation or "linear")
            if self.kind == "LSTM":
                zi, zf, zc, zo = torch.split(xp_t + h @ self.recurrent_kernel, u, dim=-1)
                c = rec(zf) * states[1] + rec(zi) * act(zc)
                return [rec(zo) * act(c), c]
            if self.kind == "RNN":
                return [act(xp_t + h @ self.recurrent_kernel)]
            x_z, x_r, x_h = torch.split(xp_t, u, dim=-1)
            uu = self.recurrent_kernel
            if self.reset_after:
                rh = h @ uu
                if self.has_bias:
                    rh = rh + self.bias_h
                r_z, r_r, r_h = torch.split(rh, u, dim=-1)
                z, r = rec(x_z + r_z), rec(x_r + r_r)
                cand = act(x_h + r * r_h)
            else:
                r_z, r_r = torch.split(h @ uu[:, :2 * u], u, dim=-1)
                z, r = rec(x_z + r_z), rec(x_r + r_r)
                cand = act(x_h + (r * h) @ uu[:, 2 * u:])
            return [z * h + (1 - z) * cand]

        def extra_repr(self) -> str:
            flags = [f for f in ("return_sequences", "return_state", "go_backwards",
                                 "zero_output_for_mask") if getattr(self, f)]
            return (f"name={self.keras_name!r}, {self.kind}({self.units}), "
                    f"native={self.native is not None}" + "".join(f", {f}" for f in flags))

    class Bidirectional(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            self.forward_layer = Recurrent(layer.forward_layer)
            self.backward_layer = Recurrent(layer.backward_layer)
            self.merge_mode = layer.merge_mode
            self.return_sequences = bool(layer.return_sequences)
            self.return_state = bool(layer.return_state)
            self.n_forward = self.forward_layer.n_states

        def forward(self, x: Any, mask: Any = None, initial_state: Any = None) -> tuple:
            mask = mask[0] if isinstance(mask, (list, tuple)) else mask
            split = [None, None] if initial_state is None else \
                [initial_state[:self.n_forward], initial_state[self.n_forward:]]
            y, states_f = self.forward_layer.run(x, mask, split[0])
            y_rev, states_b = self.backward_layer.run(x, mask, split[1])
            if self.return_sequences:
                y_rev = torch.flip(y_rev, dims=(1,))                   # into time order
            heads = self._merge(y, y_rev)
            outs = heads + (list(states_f) + list(states_b) if self.return_state else [])
            out_mask = mask if self.return_sequences else None
            return outs, [out_mask] * len(heads) + [None] * (len(outs) - len(heads))

        def _merge(self, y: Any, y_rev: Any) -> list:
            mode = self.merge_mode
            if mode is None:
                return [y, y_rev]
            if mode == "concat":
                return [torch.cat([y, y_rev], dim=-1)]
            if mode == "sum":
                return [y + y_rev]
            if mode == "ave":
                return [(y + y_rev) / 2]
            return [y * y_rev]

    return publish(__name__, Recurrent=Recurrent, Bidirectional=Bidirectional)


def __getattr__(name: str) -> Any:
    found = getattr(classes(), name, None)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found


__all__ = ["classes"]
