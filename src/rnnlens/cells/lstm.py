"""The LSTM cell: one time step, exactly as Keras 3's ``LSTMCell``.

Equations (σ = ``recurrent_activation``, act = ``activation``; Keras's gate
order i, f, c, o along the 4u axis of W, U and b)::

    z   = x_t @ W + h_tm1 @ U + b          # (B, 4u)
    i   = σ(z[:, 0u:1u])                   # input gate
    f   = σ(z[:, 1u:2u])                   # forget gate
    g   = act(z[:, 2u:3u])                 # candidate ("c" block in Keras)
    o   = σ(z[:, 3u:4u])                   # output gate
    c_t = f * c_tm1 + i * g                # (B, u) cell state
    h_t = o * act(c_t)                     # (B, u) hidden state = output

How it runs fast: the weights are kept in Keras's layout for ``get_weights``
and repacked (once per weight change) into the order i, f, o, g so that the
three σ gates are one contiguous block. With the default activations the
σ columns are also pre-scaled by 1/2 (exact in binary floating point), so a
single ``tanh`` over the whole (B, 4u) block gives ``tanh(z/2)`` for the σ
gates and ``tanh(z)`` for g, and ``σ(z) = tanh(z/2)/2 + 1/2`` finishes them.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.cells.backprop import (apply_derivative, derivative, input_grad, masked_inputs,
                                     needs_preactivation, prev_states, weight_grad)
from rnnlens.cells import _kernels
from rnnlens.cells.base import FLOATX, RecurrentCell, StepFn, project_inputs

# Column blocks of Keras's (i, f, c, o) layout, in the packed order (i, f, o, g).
_PACK = (0, 1, 3, 2)


class LSTMCell(RecurrentCell):
    """Long short-term memory cell.

    Weights (Keras's names and shapes):
        kernel: W (F, 4u). recurrent_kernel: U (u, 4u). bias: b (4u,), if use_bias.

    Args:
        units: u, size of ``h`` and ``c``.
        activation: act for the candidate and for ``c_t`` (default tanh).
        recurrent_activation: σ for the i, f, o gates (default sigmoid).
        use_bias: whether to add ``b``.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers
            (names, instances or callables).
        unit_forget_bias: set the forget block of ``b`` to exactly 1.0 at build.
        dropout, recurrent_dropout: rates in [0, 1] (training only).
        seed: seed of this cell's dropout generator.
    """

    units = P.Int(min=1, cap="max_units")
    activation = P.Activation("tanh")
    recurrent_activation = P.Activation("sigmoid")
    use_bias = P.Bool(True)
    kernel_initializer = P.Initializer("glorot_uniform")
    recurrent_initializer = P.Initializer("orthogonal")
    bias_initializer = P.Initializer("zeros")
    unit_forget_bias = P.Bool(True)
    kernel_regularizer = P.Regularizer()
    recurrent_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    recurrent_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    dropout = P.Rate(0.0)
    recurrent_dropout = P.Rate(0.0)
    seed = P.Seed()

    gate_names = ("i", "f", "g", "o")
    gate_count = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        self.state_size = (self.units, self.units)
        self._packed: tuple | None = None

    # -- weights -------------------------------------------------------------

    def bias_init(self) -> Any:
        """Keras's ``unit_forget_bias``: the forget block of b starts at exactly 1."""
        if not self.unit_forget_bias:
            return self.bias_initializer
        from rnnlens import initializers

        init = self.bias_initializer or initializers.get("glorot_uniform")   # None: as add_weight
        u = self.units

        def forget_one(shape: tuple, dtype: Any = None) -> np.ndarray:
            return np.concatenate([init((u,), FLOATX), np.ones((u,), FLOATX),
                                   init((2 * u,), FLOATX)]).astype(FLOATX)

        return forget_one

    @property
    def fused(self) -> bool:
        """True for the default activations, which run as one tanh per step."""
        return (self.activation is activations.tanh
                and self.recurrent_activation is activations.sigmoid)

    def packed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(W, U, b) in gate order i, f, o, g; σ columns halved when fused."""
        if self._packed is None or self._packed[0] != self._version:
            u = self.units
            cols = np.concatenate([np.arange(k * u, (k + 1) * u) for k in _PACK])
            scale = np.ones(4 * u, FLOATX)
            if self.fused:
                scale[: 3 * u] = 0.5
            w = np.ascontiguousarray(self.kernel[:, cols] * scale)
            uu = np.ascontiguousarray(self.recurrent_kernel[:, cols] * scale)
            b = self.bias[cols] * scale if self.use_bias else None
            self._packed = (self._version, w, uu, b)
        return self._packed[1:]

    # -- the step ------------------------------------------------------------

    def project(self, xs: np.ndarray, input_masks: list[np.ndarray] | None) -> np.ndarray:
        """``x_t @ W + b`` for every step at once: (T, B, F) -> (T, B, 4u)."""
        w, _, b = self.packed()
        masks = None if input_masks is None else (
            input_masks if len(input_masks) == 1 else [input_masks[k] for k in _PACK])
        xp = project_inputs(xs, w, masks, self.units)
        if b is not None:
            xp += b
        return xp

    def stepper(self, batch: int, recurrent_masks: list[np.ndarray] | None,
                gates: np.ndarray, training: bool = False) -> StepFn:
        """The per-step function for a batch size, with its workspace.

        ``gates`` is the (B, 4u) scratch block, or a (T, B, 4u) record whose
        slice ``gates[t]`` step t fills. With the default activations, no
        recurrent dropout and no record, the gate views are made once here and
        the step is eleven NumPy calls with no allocation.
        """
        _, uu, _ = self.packed()
        u = self.units
        ig = np.empty((batch, u), FLOATX)                      # workspace for i * g
        views = (lambda z: (z, z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]))
        if self.fused and recurrent_masks is None and gates.ndim == 2:
            return _fused_step(uu, views(gates), ig, u)
        activate = self._activate_fn()
        rm = None if recurrent_masks is None else [recurrent_masks[k] for k in _PACK]
        hm = np.empty((batch, u), FLOATX)

        def step(t: int, xp_t: np.ndarray, states_tm1: Sequence[np.ndarray],
                 states: Sequence[np.ndarray]) -> None:
            h_tm1, c_tm1 = states_tm1
            h, c = states
            z, i, f, o, g = views(gates[t] if gates.ndim == 3 else gates)
            if rm is None:
                np.dot(h_tm1, uu, out=z)                       # (B, 4u)
            else:
                for k in range(4):                             # per-gate recurrent dropout
                    np.multiply(h_tm1, rm[k], out=hm)
                    np.matmul(hm, uu[:, k * u:(k + 1) * u], out=z[:, k * u:(k + 1) * u])
            z += xp_t
            activate(z)                                        # i, f, o, g in place
            np.multiply(f, c_tm1, out=c)                       # f * c_tm1
            np.multiply(i, g, out=ig)                          # i * g
            c += ig                                            # c_t
            h[...] = self.activation(c)
            h *= o                                             # h_t = o * act(c_t)

        return step

    def _activate_fn(self):
        """In-place activation of a (B, 4u) packed block: σ on i, f, o; act on g."""
        u, rec_act, act = self.units, self.recurrent_activation, self.activation
        fused = self.fused
        elementwise = (activations.is_elementwise(act)
                       and activations.is_elementwise(rec_act))

        def activate(z: np.ndarray) -> None:
            if fused:
                np.tanh(z, out=z)                              # tanh(z/2) | tanh(z)
                sig = z[:, : 3 * u]
                sig *= 0.5
                sig += 0.5                                     # σ(z) for i, f, o
            elif elementwise:
                z[:, : 3 * u] = rec_act(z[:, : 3 * u])
                z[:, 3 * u:] = act(z[:, 3 * u:])
            else:                                              # softmax-like: gate by gate
                for k in range(4):
                    block = z[:, k * u:(k + 1) * u]
                    block[...] = (rec_act if k < 3 else act)(block)

        return activate

    # -- backward: the same step in reverse, same names ---------------------

    def _unpacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Column order i, f, o, g of Keras's layout, and W, U in that order (unscaled)."""
        if getattr(self, "_unpacked_cache", (None,))[0] != self._version:
            u = self.units
            cols = np.concatenate([np.arange(k * u, (k + 1) * u) for k in _PACK])
            self._unpacked_cache = (self._version, cols, np.ascontiguousarray(
                self.kernel[:, cols]), np.ascontiguousarray(self.recurrent_kernel[:, cols]))
        return self._unpacked_cache[1:]

    # -- the compiled loop (rnnlens.cells._kernels) -------------------------

    def kernel_spec(self) -> dict | None:
        """What the C loop needs (``_fused.c``): the packed W, b, U (σ columns halved)
        for the forward pass, the unscaled W, U for the backward; None when the
        activations are not the default ones (the NumPy loop runs)."""
        if not self.fused:
            return None
        return _kernels.cached_spec(self, lambda: {
            "kind": 0, "W": self.packed()[0], "b": self.packed()[2], "U": self.packed()[1],
            "W_back": self._unpacked()[1], "U_back": self._unpacked()[2]})

    def kernel_backward(self, xs: np.ndarray, rec: Any, spec: dict, **grads_of: Any
                        ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """``recurrence.backward`` in C: (d_xs, d_initial, grads in Keras's layout)."""
        d_xs, d_init, (d_w, d_u, d_b) = _kernels.backward(
            0, spec, rec, _kernels.input_of(xs, rec), **grads_of)
        back = np.argsort(self._unpacked()[0])                 # i, f, o, g -> i, f, c, o
        grads = [d_w[:, back], d_u[:, back]] + ([d_b[back]] if self.use_bias else [])
        if rec.input_masks is not None:
            d_xs = d_xs * rec.input_masks[0]
        return d_xs, d_init, grads

    def backward_prepare(self, xs: np.ndarray, record: Any) -> dict:
        """Everything the reverse loop needs that does not depend on the future."""
        u = self.units
        cols, w, uu = self._unpacked()
        in_m, rm = _packed_masks(record.input_masks), _packed_masks(record.recurrent_masks)
        gates = record.gates                                   # (T, B, 4u): i, f, o, g
        h_prev, c_prev = prev_states(record, 0), prev_states(record, 1)
        c_new = gates[..., u:2 * u] * c_prev + gates[..., :u] * gates[..., 3 * u:]
        a_c = self.activation(c_new)                           # act(c_t), (T, B, u)
        z = None
        if needs_preactivation(self.activation, self.recurrent_activation):
            z = project_inputs(xs, w, in_m, u) + sum(
                masked_inputs(h_prev, rm, k) @ uu[:, k * u:(k + 1) * u]
                for k in range(4)) if rm else project_inputs(xs, w, in_m, u) + h_prev @ uu
            if self.use_bias:
                z += self.bias[cols]
        zs = None if z is None else z[..., :3 * u]
        zg = None if z is None else z[..., 3 * u:]
        return {"w": w, "uu": uu, "in_m": in_m, "rm": rm, "gates": gates, "z": z,
                "h_prev": h_prev, "c_prev": c_prev, "c_new": c_new, "a_c": a_c,
                "d_sig": derivative(self.recurrent_activation, zs, gates[..., :3 * u]),
                "d_g": derivative(self.activation, zg, gates[..., 3 * u:]),
                "d_c": derivative(self.activation, c_new, a_c)}

    def backward_step(self, t: int, d_new: Sequence[np.ndarray], ctx: dict,
                      dxp: np.ndarray) -> list[np.ndarray]:
        """Given dL/d(h_t, c_t) before masking, returns dL/d(h_tm1, c_tm1); fills dxp[t]."""
        u = self.units
        dh, dc = d_new
        g = ctx["gates"][t]
        i, f, o, gg = g[:, :u], g[:, u:2 * u], g[:, 2 * u:3 * u], g[:, 3 * u:]
        do = dh * ctx["a_c"][t]                                # h_t = o * act(c_t)
        dc = dc + apply_derivative(self.activation, _at(ctx["d_c"], t), ctx["c_new"][t],
                                   ctx["a_c"][t], dh * o)
        dz = dxp[t]                                            # (B, 4u): i, f, o, g
        dz[:, :u] = dc * gg                                    # c_t = f * c_tm1 + i * g
        dz[:, u:2 * u] = dc * ctx["c_prev"][t]
        dz[:, 2 * u:3 * u] = do
        dz[:, 3 * u:] = dc * i
        z_t = None if ctx["z"] is None else ctx["z"][t]
        if ctx["d_sig"] is not None:
            dz[:, :3 * u] *= ctx["d_sig"][t]
        else:                                                  # softmax-like: gate by gate
            for k in range(3):
                blk = slice(k * u, (k + 1) * u)
                dz[:, blk] = apply_derivative(self.recurrent_activation, None, z_t[:, blk],
                                              g[:, blk], dz[:, blk])
        dz[:, 3 * u:] = apply_derivative(self.activation, _at(ctx["d_g"], t),
                                         None if z_t is None else z_t[:, 3 * u:], gg,
                                         dz[:, 3 * u:])
        dh_tm1 = input_grad(dz, ctx["uu"], ctx["rm"], u)     # z = ... + h_tm1 @ U
        return [dh_tm1, dc * f]

    def backward_weights(self, xs: np.ndarray, ctx: dict, dxp: np.ndarray
                         ) -> tuple[list[np.ndarray], np.ndarray]:
        """Weight gradients (Keras's layout and order) and dL/dxs, all steps at once."""
        u = self.units
        back = np.argsort(self._unpacked()[0])                 # i, f, o, g -> i, f, c, o
        d_kernel = weight_grad(xs, dxp, ctx["in_m"], u)[:, back]
        d_recurrent = weight_grad(ctx["h_prev"], dxp, ctx["rm"], u)[:, back]
        grads = [d_kernel, d_recurrent]
        if self.use_bias:
            grads.append(dxp.sum(axis=(0, 1))[back])
        return grads, input_grad(dxp, ctx["w"], ctx["in_m"], u)

    def gate_views(self, gates: np.ndarray) -> dict[str, np.ndarray]:
        """Names the packed gate block (..., 4u) as Keras's i, f, g, o."""
        u = self.units
        return {"i": gates[..., :u], "f": gates[..., u:2 * u],
                "g": gates[..., 3 * u:], "o": gates[..., 2 * u:3 * u]}


def _packed_masks(masks: list[np.ndarray] | None) -> list[np.ndarray] | None:
    """Per-gate dropout masks in the packed order i, f, o, g."""
    if masks is None or len(masks) == 1:
        return masks
    return [masks[k] for k in _PACK]


def _at(arr: np.ndarray | None, t: int) -> np.ndarray | None:
    return None if arr is None else arr[t]


def _fused_step(uu: np.ndarray, views: tuple, ig: np.ndarray, u: int) -> StepFn:
    """The hot loop body for tanh / sigmoid LSTMs (weights pre-halved on σ gates)."""
    z, i, f, o, g = views
    sig = z[:, : 3 * u]
    dot, tanh, mul, add = np.dot, np.tanh, np.multiply, np.add

    def step(t: int, xp_t: np.ndarray, states_tm1: Sequence[np.ndarray],
             states: Sequence[np.ndarray]) -> None:
        h_tm1, c_tm1 = states_tm1
        h, c = states
        dot(h_tm1, uu, z)                                      # z = h_tm1 @ U      (B, 4u)
        add(z, xp_t, z)                                        #   + x_t @ W + b
        tanh(z, z)                                             # tanh(z/2) | tanh(z)
        mul(sig, 0.5, sig)
        add(sig, 0.5, sig)                                     # i, f, o = σ(z)
        mul(f, c_tm1, c)                                       # c = f * c_tm1
        mul(i, g, ig)
        add(c, ig, c)                                          #   + i * g          (B, u)
        tanh(c, h)
        mul(h, o, h)                                           # h = o * tanh(c)    (B, u)

    return step


__all__ = ["LSTMCell"]
