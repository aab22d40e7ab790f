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
from rnnlens.cells.base import (
    FLOATX, RecurrentCell, StepFn, last_dim, project_inputs, sigmoid_block)


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

    gate_names = ("z", "r", "hh")
    weight_names = ("kernel", "recurrent_kernel", "bias")

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 reset_after: bool = True, seed: int | None = None):
        super().__init__(units, activation, recurrent_activation, use_bias,
                         kernel_initializer, recurrent_initializer, bias_initializer,
                         dropout, recurrent_dropout, seed)
        self.reset_after = bool(reset_after)
        self.state_size = (self.units,)
        if not self.use_bias:
            self.weight_names = ("kernel", "recurrent_kernel")
        self._packed: tuple | None = None

    def weight_shapes(self) -> list[tuple[int, ...]]:
        u, f = self.units, self.input_dim
        shapes = [(f, 3 * u), (u, 3 * u)]
        if not self.use_bias:
            return shapes
        return shapes + [(2, 3 * u) if self.reset_after else (3 * u,)]

    def build(self, input_dim: int) -> None:
        """Creates W, U and the bias with the configured initializers."""
        u = self.units
        self.input_dim = last_dim(input_dim)
        self.kernel = self.kernel_initializer((self.input_dim, 3 * u), FLOATX)
        self.recurrent_kernel = self.recurrent_initializer((u, 3 * u), FLOATX)
        if self.use_bias:
            shape = (2, 3 * u) if self.reset_after else (3 * u,)
            self.bias = self.bias_initializer(shape, FLOATX)
        self._version += 1

    def set_weights(self, weights: Sequence[Any], owner: str = "cell") -> None:
        if self.use_bias and len(list(weights)) == 3:
            bias = np.asarray(weights[2])
            want = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            if bias.shape != want and bias.size in (3 * self.units, 6 * self.units):
                raise ValueError(
                    f"Layer '{owner}' has reset_after={self.reset_after}, whose bias has shape "
                    f"{want}; received a bias of shape {bias.shape}, which belongs to a GRU "
                    f"with reset_after={not self.reset_after}. Create the layer with "
                    f"reset_after={not self.reset_after} to use these weights."
                )
        super().set_weights(weights, owner)

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

    def gate_views(self, gates: np.ndarray) -> dict[str, np.ndarray]:
        u = self.units
        return {"z": gates[..., :u], "r": gates[..., u:2 * u], "hh": gates[..., 2 * u:]}

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}
