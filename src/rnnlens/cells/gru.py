"""The GRU cell: one time step, exactly as Keras 3's ``GRUCell``.

Equations (σ = ``recurrent_activation``, act = ``activation``; Keras's gate
order z, r, h along the 3u axis of W, U and the biases)::

    x_z, x_r, x_h = split(x_t @ W + b_x, 3)                 # (B, u) each
    reset_after=True (default; bias (2, 3u) = [b_x, b_h]):
        r_z, r_r, r_h = split(h_tm1 @ U + b_h, 3)
        z  = σ(x_z + r_z);  r = σ(x_r + r_r)
        hh = act(x_h + r * r_h)
    reset_after=False (bias (3u,) = b_x):
        z  = σ(x_z + h_tm1 @ U[:, :u]);  r = σ(x_r + h_tm1 @ U[:, u:2u])
        hh = act(x_h + (r * h_tm1) @ U[:, 2u:])
    h_t = z * h_tm1 + (1 - z) * hh                          # z weights the OLD state

With the default activations the z and r columns are pre-scaled by 1/2 so
that ``σ(v) = tanh(v/2)/2 + 1/2`` runs as one ``tanh`` over the (B, 2u) block.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.cells.backprop import (apply_derivative, derivative, input_grad, masked_inputs,
                                     needs_preactivation, prev_states, weight_grad)
from rnnlens.cells import _kernels
from rnnlens.cells.base import (
    FLOATX, RecurrentCell, StepFn, project_inputs, sigmoid_block)


class GRUCell(RecurrentCell):
    """Gated recurrent unit cell.

    Weights (Keras's names and shapes):
        kernel: W (F, 3u). recurrent_kernel: U (u, 3u).
        bias: (2, 3u) rows [b_x, b_h] if reset_after, else (3u,); if use_bias.

    Args:
        units: u, size of ``h``.
        activation, recurrent_activation: act (tanh) and σ (sigmoid).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer:
            as in Keras.
        dropout, recurrent_dropout: rates in [0, 1] (training only).
        reset_after: apply the reset gate after the recurrent matrix multiply
            (Keras's default, cuDNN-compatible) or before it.
        seed: seed of this cell's dropout generator.
    """

    units = P.Int(min=1, cap="max_units")
    activation = P.Activation("tanh")
    recurrent_activation = P.Activation("sigmoid")
    use_bias = P.Bool(True)
    kernel_initializer = P.Initializer("glorot_uniform")
    recurrent_initializer = P.Initializer("orthogonal")
    bias_initializer = P.Initializer("zeros")
    kernel_regularizer = P.Regularizer()
    recurrent_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    recurrent_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    dropout = P.Rate(0.0)
    recurrent_dropout = P.Rate(0.0)
    reset_after = P.Bool(True)
    seed = P.Seed()

    gate_names = ("z", "r", "hh")
    gate_count = 3
    keras2_defaults = {"reset_after": False}   # Keras <= 2.1.4 wrote no reset_after

    def __post_init__(self) -> None:
        super().__post_init__()
        self._packed: tuple | None = None

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def explain_weights(self, weights: Any, owner: str) -> None:
        """A bias of the other ``reset_after`` layout gets a message saying so."""
        explain_bias_mismatch(self, weights, owner)

    @property
    def fused(self) -> bool:
        return (self.activation is activations.tanh
                and self.recurrent_activation is activations.sigmoid)

    def packed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(W, U, b_x, b_h) with the z, r columns halved when fused."""
        if self._packed is None or self._packed[0] != self._version:
            u = self.units
            scale = np.ones(3 * u, FLOATX)
            if self.fused:
                scale[: 2 * u] = 0.5
            w = np.ascontiguousarray(self.kernel * scale)
            uu = np.ascontiguousarray(self.recurrent_kernel * scale)
            b_x = b_h = None
            if self.use_bias:
                b_x = (self.bias[0] if self.reset_after else self.bias) * scale
                b_h = self.bias[1] * scale if self.reset_after else None
            self._packed = (self._version, w, uu, b_x, b_h)
        return self._packed[1:]

    def project(self, xs: np.ndarray, input_masks: list[np.ndarray] | None) -> np.ndarray:
        """``x_t @ W + b_x`` for every step at once: (T, B, F) -> (T, B, 3u)."""
        w, _, b_x, _ = self.packed()
        xp = project_inputs(xs, w, input_masks, self.units)
        if b_x is not None:
            xp += b_x
        return xp

    def stepper(self, batch: int, recurrent_masks: list[np.ndarray] | None,
                gates: np.ndarray, training: bool = False) -> StepFn:
        """The per-step function; ``gates`` (B, 3u) or a (T, B, 3u) record."""
        _, uu, _, b_h = self.packed()
        u = self.units
        rec = np.empty((batch, 3 * u), FLOATX)                 # h_tm1 @ U (+ b_h)
        tmp = np.empty((batch, u), FLOATX)
        hm = np.empty((batch, u), FLOATX)
        activate_zr = sigmoid_block(self)
        act = self.activation
        rm = recurrent_masks
        reset_after = self.reset_after

        def step(t: int, xp_t: np.ndarray, states_tm1: Sequence[np.ndarray],
                 states: Sequence[np.ndarray]) -> None:
            (h_tm1,), (h,) = states_tm1, states
            g = gates[t] if gates.ndim == 3 else gates
            zr, z, r, hh = g[:, :2 * u], g[:, :u], g[:, u:2 * u], g[:, 2 * u:]
            cols = 3 if reset_after else 2
            if rm is None:
                np.matmul(h_tm1, uu[:, :cols * u], out=rec[:, :cols * u])
            else:                                              # per-gate recurrent dropout
                for k in range(cols):
                    np.multiply(h_tm1, rm[k], out=hm)
                    np.matmul(hm, uu[:, k * u:(k + 1) * u], out=rec[:, k * u:(k + 1) * u])
            if b_h is not None:
                rec[:, :cols * u] += b_h[:cols * u]
            np.add(xp_t[:, :2 * u], rec[:, :2 * u], out=zr)
            activate_zr(zr)                                    # z, r
            if reset_after:
                np.multiply(r, rec[:, 2 * u:], out=hh)         # r * r_h
            else:
                np.multiply(r, h_tm1 if rm is None else h_tm1 * rm[2], out=tmp)
                np.matmul(tmp, uu[:, 2 * u:], out=hh)          # (r * h_tm1) @ U_h
            hh += xp_t[:, 2 * u:]
            hh[...] = act(hh)                                  # candidate
            np.multiply(z, h_tm1, out=h)                       # z * h_tm1
            np.subtract(1.0, z, out=tmp)
            np.multiply(tmp, hh, out=tmp)
            np.add(h, tmp, out=h)                              # + (1 - z) * hh

        return step

    # -- the compiled loop (rnnlens.cells._kernels) -------------------------

    def kernel_spec(self) -> dict | None:
        """What the C loop needs (``_fused.c``): W, b_x, U, b_h as the stepper uses them (z, r
        columns halved), the unscaled U for the backward; None for other activations."""
        if not self.fused:
            return None
        return _kernels.cached_spec(self, lambda: {
            "kind": 1, "W": self.packed()[0], "b": self.packed()[2], "U": self.packed()[1],
            "b_h": self.packed()[3],
            "reset_after": self.reset_after, "W_back": self.kernel,
            "U_back": self.recurrent_kernel,
            "b_h_back": self.bias[1] if self.use_bias and self.reset_after else None})

    def kernel_backward(self, xs: np.ndarray, rec: Any, spec: dict, **grads_of: Any
                        ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """``recurrence.backward`` in C: (d_xs, d_initial, grads in Keras's layout)."""
        d_xs, d_init, (d_w, d_u, d_b) = _kernels.backward(
            1, spec, rec, _kernels.input_of(xs, rec), **grads_of)
        grads = [d_w, d_u] + ([d_b] if self.use_bias else [])
        if rec.input_masks is not None:
            d_xs = d_xs * rec.input_masks[0]
        return d_xs, d_init, grads

    # -- backward: the same step in reverse, same names ---------------------

    def backward_prepare(self, xs: np.ndarray, record: Any) -> dict:
        """Everything the reverse loop needs that does not depend on the future."""
        u, uu = self.units, self.recurrent_kernel
        in_m, rm = record.input_masks, record.recurrent_masks
        gates = record.gates                                   # (T, B, 3u): z, r, hh
        h_prev = prev_states(record, 0)
        b_x = b_h = None
        if self.use_bias:
            b_x, b_h = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        r = gates[..., u:2 * u]
        if self.reset_after:                                   # r_z, r_r, r_h (with b_h)
            rec = _per_gate(h_prev, uu, rm, u, 3) + (0.0 if b_h is None else b_h)
            rh = None
            cand_rec = r * rec[..., 2 * u:]
        else:
            rec = _per_gate(h_prev, uu[:, :2 * u], rm, u, 2)
            rh = r * masked_inputs(h_prev, rm, 2)              # (r * h_tm1), (T, B, u)
            cand_rec = rh @ uu[:, 2 * u:]
        pre = None
        if needs_preactivation(self.activation, self.recurrent_activation):
            xp = project_inputs(xs, self.kernel, in_m, u) + (0.0 if b_x is None else b_x)
            pre = np.concatenate([xp[..., :2 * u] + rec[..., :2 * u],
                                  xp[..., 2 * u:] + cand_rec], axis=-1)
        return {"gates": gates, "h_prev": h_prev, "rec": rec, "rh": rh, "pre": pre,
                "in_m": in_m, "rm": rm, "drec": np.zeros_like(gates),
                "d_zr": derivative(self.recurrent_activation,
                                   None if pre is None else pre[..., :2 * u],
                                   gates[..., :2 * u]),
                "d_h": derivative(self.activation, None if pre is None else pre[..., 2 * u:],
                                  gates[..., 2 * u:])}

    def backward_step(self, t: int, d_new: Sequence[np.ndarray], ctx: dict,
                      dxp: np.ndarray) -> list[np.ndarray]:
        """Given dL/dh_t before masking, returns [dL/dh_tm1]; fills dxp[t]."""
        u, uu, rm = self.units, self.recurrent_kernel, ctx["rm"]
        (dh,) = d_new
        g, h_tm1 = ctx["gates"][t], ctx["h_prev"][t]
        z, r, hh = g[:, :u], g[:, u:2 * u], g[:, 2 * u:]
        pre = None if ctx["pre"] is None else ctx["pre"][t]
        dhh = dh * (1.0 - z)                                   # h = z*h_tm1 + (1-z)*hh
        dz = dh * (h_tm1 - hh)
        dh_tm1 = dh * z
        dx = dxp[t]                                            # (B, 3u): d(x_z, x_r, x_h)
        dx[:, 2 * u:] = apply_derivative(self.activation, _at(ctx["d_h"], t),
                                         None if pre is None else pre[:, 2 * u:], hh, dhh)
        da_h = dx[:, 2 * u:]
        if self.reset_after:                                   # hh = act(x_h + r * r_h)
            dr = da_h * ctx["rec"][t][:, 2 * u:]
            ctx["drec"][t][:, 2 * u:] = da_h * r
        else:                                                  # hh = act(x_h + (r*h) @ U_h)
            d_rh = da_h @ uu[:, 2 * u:].T
            dr = d_rh * masked_inputs(h_tm1, rm, 2)
            dh_tm1 += masked_inputs(d_rh * r, rm, 2)
        dx[:, :u], dx[:, u:2 * u] = dz, dr
        if ctx["d_zr"] is not None:
            dx[:, :2 * u] *= ctx["d_zr"][t]
        else:                                                  # softmax-like: gate by gate
            for k in range(2):
                blk = slice(k * u, (k + 1) * u)
                dx[:, blk] = apply_derivative(self.recurrent_activation, None, pre[:, blk],
                                              g[:, blk], dx[:, blk])
        if self.reset_after:
            ctx["drec"][t][:, :2 * u] = dx[:, :2 * u]
            dh_tm1 += input_grad(ctx["drec"][t], uu, rm, u)
        else:
            dh_tm1 += input_grad(dx[:, :2 * u], uu[:, :2 * u], rm, u)
        return [dh_tm1]

    def backward_weights(self, xs: np.ndarray, ctx: dict, dxp: np.ndarray
                         ) -> tuple[list[np.ndarray], np.ndarray]:
        """Weight gradients (Keras's layout and order) and dL/dxs, all steps at once."""
        u, rm = self.units, ctx["rm"]
        d_kernel = weight_grad(xs, dxp, ctx["in_m"], u)
        if self.reset_after:
            d_recurrent = weight_grad(ctx["h_prev"], ctx["drec"], rm, u)
            d_bias = np.stack([dxp.sum(axis=(0, 1)), ctx["drec"].sum(axis=(0, 1))])
        else:
            d_recurrent = np.concatenate([
                weight_grad(ctx["h_prev"], dxp[..., :2 * u], rm, u),
                weight_grad(ctx["rh"], dxp[..., 2 * u:], None, u)], axis=1)
            d_bias = dxp.sum(axis=(0, 1))
        grads = [d_kernel, d_recurrent] + ([d_bias] if self.use_bias else [])
        return grads, input_grad(dxp, self.kernel, ctx["in_m"], u)

    def gate_views(self, gates: np.ndarray) -> dict[str, np.ndarray]:
        u = self.units
        return {"z": gates[..., :u], "r": gates[..., u:2 * u], "hh": gates[..., 2 * u:]}


def _per_gate(h: np.ndarray, uu: np.ndarray, masks: list[np.ndarray] | None, u: int,
              n: int) -> np.ndarray:
    """``h @ U`` for n gate blocks, each with its recurrent dropout mask."""
    if masks is None:
        return h @ uu[:, :n * u]
    return np.concatenate([masked_inputs(h, masks, k) @ uu[:, k * u:(k + 1) * u]
                           for k in range(n)], axis=-1)


def _at(arr: np.ndarray | None, t: int) -> np.ndarray | None:
    return None if arr is None else arr[t]


def explain_bias_mismatch(cell: GRUCell, weights: Any, owner: str) -> None:
    """A GRU bias of the other ``reset_after`` layout gets a message saying so."""
    if not cell.use_bias or not isinstance(weights, (list, tuple)) or len(weights) != 3:
        return
    bias = np.asarray(weights[2])
    want = cell.bias_shape()
    if bias.shape != want and bias.size in (3 * cell.units, 6 * cell.units):
        raise ValueError(
            f"Layer '{owner}' has reset_after={cell.reset_after}, whose bias has shape "
            f"{want}; received a bias of shape {bias.shape}, which belongs to a GRU with "
            f"reset_after={not cell.reset_after}. Create the layer with "
            f"reset_after={not cell.reset_after} to use these weights.")
