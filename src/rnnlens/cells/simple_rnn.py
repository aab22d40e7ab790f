"""The SimpleRNN cell: one time step, exactly as Keras 3's ``SimpleRNNCell``.

Equations (act = ``activation``, tanh by default)::

    a   = x_t @ W + b + h_tm1 @ U          # (B, u) pre-activation
    h_t = act(a)                           # output and the only state
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.cells.backprop import (apply_derivative, derivative, input_grad, prev_states,
                                     weight_grad)
from rnnlens.cells import _kernels
from rnnlens.cells.base import FLOATX, RecurrentCell, StepFn, project_inputs


class SimpleRNNCell(RecurrentCell):
    """Fully connected recurrent cell.

    Weights: kernel W (F, u), recurrent_kernel U (u, u), bias b (u,) if use_bias.

    Args:
        units: u, size of ``h``.
        activation: act (default tanh; None means linear).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer:
            as in Keras.
        dropout, recurrent_dropout: rates in [0, 1] (training only).
        seed: seed of this cell's dropout generator.
    """

    units = P.Int(min=1, cap="max_units")
    activation = P.Activation("tanh")
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
    seed = P.Seed()

    gate_names = ()
    recurrent_activation = None                 # (a plain attribute: SimpleRNN has none)

    def mask_count(self) -> int:
        return 1                                               # one mask per dropout kind

    def project(self, xs: np.ndarray, input_masks: list[np.ndarray] | None) -> np.ndarray:
        """``x_t @ W + b`` for every step at once: (T, B, F) -> (T, B, u)."""
        xp = project_inputs(xs, self.kernel, input_masks, self.units)
        if self.use_bias:
            xp += self.bias
        return xp

    def stepper(self, batch: int, recurrent_masks: list[np.ndarray] | None,
                gates: np.ndarray, training: bool = False) -> StepFn:
        """The per-step function; ``gates`` holds the pre-activation ``a``."""
        uu = self.recurrent_kernel
        act = self.activation
        tanh = act is activations.tanh
        hm = np.empty((batch, self.units), FLOATX)
        rm = None if recurrent_masks is None else recurrent_masks[0]

        def step(t: int, xp_t: np.ndarray, states_tm1: Sequence[np.ndarray],
                 states: Sequence[np.ndarray]) -> None:
            (h_tm1,), (h,) = states_tm1, states
            a = gates[t] if gates.ndim == 3 else gates
            if rm is not None:
                np.multiply(h_tm1, rm, out=hm)
                h_tm1 = hm
            np.matmul(h_tm1, uu, out=a)                        # h_tm1 @ U        (B, u)
            a += xp_t                                          #   + x_t @ W + b
            if tanh:
                np.tanh(a, out=h)
            else:
                h[...] = act(a)                                # h_t = act(a)

        return step

    # -- the compiled loop (rnnlens.cells._kernels) -------------------------

    def kernel_spec(self) -> dict | None:
        """What the C loop needs (``_fused.c``); None unless the activation is tanh."""
        if self.activation is not activations.tanh:
            return None
        return _kernels.cached_spec(self, lambda: {
            "kind": 2, "W": self.kernel, "b": self.bias if self.use_bias else None,
            "U": self.recurrent_kernel, "W_back": self.kernel, "U_back": self.recurrent_kernel})

    def kernel_backward(self, xs: np.ndarray, rec: Any, spec: dict, **grads_of: Any
                        ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """``recurrence.backward`` in C: (d_xs, d_initial, grads in Keras's layout)."""
        d_xs, d_init, (d_w, d_u, d_b) = _kernels.backward(
            2, spec, rec, _kernels.input_of(xs, rec), **grads_of)
        grads = [d_w, d_u] + ([d_b] if self.use_bias else [])
        if rec.input_masks is not None:
            d_xs = d_xs * rec.input_masks[0]
        return d_xs, d_init, grads

    # -- backward: the same step in reverse, same names ---------------------

    def backward_prepare(self, xs: np.ndarray, record: Any) -> dict:
        a, h = record.gates, record.states[0]                  # pre-activation, output
        return {"a": a, "h": h, "h_prev": prev_states(record, 0),
                "d_act": derivative(self.activation, a, h),
                "in_m": record.input_masks, "rm": record.recurrent_masks}

    def backward_step(self, t: int, d_new: Sequence[np.ndarray], ctx: dict,
                      dxp: np.ndarray) -> list[np.ndarray]:
        """Given dL/dh_t before masking, returns [dL/dh_tm1]; fills dxp[t] = dL/da_t."""
        (dh,) = d_new
        d_act = None if ctx["d_act"] is None else ctx["d_act"][t]
        dxp[t] = apply_derivative(self.activation, d_act, ctx["a"][t], ctx["h"][t], dh)
        return [input_grad(dxp[t], self.recurrent_kernel, ctx["rm"], self.units)]

    def backward_weights(self, xs: np.ndarray, ctx: dict, dxp: np.ndarray
                         ) -> tuple[list[np.ndarray], np.ndarray]:
        u = self.units
        grads = [weight_grad(xs, dxp, ctx["in_m"], u),
                 weight_grad(ctx["h_prev"], dxp, ctx["rm"], u)]
        if self.use_bias:
            grads.append(dxp.sum(axis=(0, 1)))
        return grads, input_grad(dxp, self.kernel, ctx["in_m"], u)

    def gate_views(self, gates: np.ndarray) -> dict[str, np.ndarray]:
        return {}

