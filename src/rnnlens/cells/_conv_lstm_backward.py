"""The ConvLSTM cell's backward pass (``rnnlens.cells.conv_lstm`` has the forward step).

The LSTM's reverse step on feature maps, with Keras's gate order i, f, c, o. With
``a_c = act(c_t)`` and ``dz`` the gradient of the pre-activations (B * P rows, 4F)::

    dc  += act'(c_t) * (dh * o)                 # h_t = o * act(c_t)
    dz_i = dc * g,  dz_f = dc * c_tm1,  dz_c = dc * i,  dz_o = dh * a_c,  times σ' / act'
    dh_tm1 = col2im(dz U^T)                     # conv_h(h_tm1, U), "same", stride 1
    dc_tm1 = dc * f

and once over all steps: ``dW = im2col(x)^T dz``, ``dx = col2im(dz W^T)`` (the input
convolution), ``dU = im2col(h_prev)^T dz``, ``db = sum dz``; each dropout mask multiplies
its gate's input (4 masks per kind). The all-steps products run over chunks of steps, so
that no im2col matrix holds more than ``CHUNK_ELEMENTS`` numbers (video-sized inputs
would otherwise need gigabytes at once).

Shape legend: T steps, B batch, S / O input / output spatial sizes, P = prod(O), C input
channels, F filters, K = prod(kernel_size).
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import numpy as np

from rnnlens import activations
from rnnlens.backend import FLOATX
from rnnlens.cells.backprop import needs_preactivation, prev_states

#: The largest im2col matrix (in numbers) one chunk of steps may build.
CHUNK_ELEMENTS = 1 << 24


def time_chunks(steps: int, per_step: int) -> Iterator[slice]:
    """Consecutive slices of ``range(steps)`` with at most ``CHUNK_ELEMENTS`` numbers
    (``per_step`` each), at least one step per slice."""
    size = max(1, CHUNK_ELEMENTS // max(1, per_step))
    for lo in range(0, steps, size):
        yield slice(lo, min(lo + size, steps))


def _core() -> Any:
    from rnnlens.ops import _conv_core

    return _conv_core


class _ConvLSTMBackward:
    """``backward_prepare`` / ``backward_step`` / ``backward_weights`` for ConvLSTMCell."""

    def _grad(self, fn: Any, z: np.ndarray | None, y: np.ndarray, dy: np.ndarray
              ) -> np.ndarray:
        """dL/dz of ``y = fn(z)`` on (N, F) rows (z may be None for tanh / sigmoid /
        linear, whose derivative follows from y); softmax-like ones on the maps."""
        z = y if z is None else z
        if activations.is_elementwise(fn):
            return activations.backward(fn, z, y, dy)
        to_maps = (lambda a: self._first(a.reshape(-1, *self.out_spatial, self.filters)))
        d = activations.backward(fn, to_maps(z), to_maps(y), to_maps(dy))
        return self._last(d).reshape(dy.shape)

    def backward_prepare(self, xs: np.ndarray, record: Any) -> dict:
        """What the reverse loop needs that does not depend on the future."""
        t, b = xs.shape[:2]
        f, n = self.filters, b * math.prod(self.out_spatial)
        gates = record.gates.reshape(t, n, 4 * f)
        h_prev = prev_states(record, 0)                               # (T, B, P F)
        c_prev = prev_states(record, 1).reshape(t, n, f)
        c_new = gates[..., f:2 * f] * c_prev + gates[..., :f] * gates[..., 2 * f:3 * f]
        a_c = self._apply(self.activation, c_new.reshape(t * n, f)).reshape(t, n, f)
        z = None
        if needs_preactivation(self.activation, self.recurrent_activation):
            z = self.project(xs, record.input_masks).reshape(t, n, 4 * f)
            for part in time_chunks(t, n * f * math.prod(self.kernel_size)):
                z[part] += self._recurrent_conv(h_prev[part], record.recurrent_masks
                                                ).reshape(-1, n, 4 * f)
        return {"gates": gates, "h_prev": h_prev, "c_prev": c_prev, "c_new": c_new,
                "a_c": a_c, "z": z, "batch": b, "n": n, "in_m": record.input_masks,
                "rm": record.recurrent_masks}

    def backward_step(self, t: int, d_new: Sequence[np.ndarray], ctx: dict,
                      dxp: np.ndarray) -> list[np.ndarray]:
        """Given dL/d(h_t, c_t) before masking, returns dL/d(h_tm1, c_tm1); fills dxp[t]."""
        f, n, b = self.filters, ctx["n"], ctx["batch"]
        dh, dc = d_new[0].reshape(n, f), d_new[1].reshape(n, f)
        g = ctx["gates"][t]
        i, fg, gg, o = g[:, :f], g[:, f:2 * f], g[:, 2 * f:3 * f], g[:, 3 * f:]
        a_c = ctx["a_c"][t]
        dc = dc + self._grad(self.activation, ctx["c_new"][t], a_c, dh * o)
        dz = dxp[t].reshape(n, 4 * f)                                 # i, f, c, o
        dz[:, :f] = dc * gg                                           # c_t = f c + i g
        dz[:, f:2 * f] = dc * ctx["c_prev"][t]
        dz[:, 2 * f:3 * f] = dc * i
        dz[:, 3 * f:] = dh * a_c                                      # h_t = o act(c_t)
        z_t = ctx["z"]
        for k, fn in enumerate((self.recurrent_activation, self.recurrent_activation,
                                self.activation, self.recurrent_activation)):
            blk = slice(k * f, (k + 1) * f)
            dz[:, blk] = self._grad(fn, None if z_t is None else z_t[t][:, blk], g[:, blk],
                                    dz[:, blk])
        d_h = self._recurrent_input_grad(dz, b, ctx["rm"])           # (B, P F)
        return [d_h, (dc * fg).reshape(b, -1)]

    def _recurrent_input_grad(self, dz: np.ndarray, batch: int,
                              masks: list[np.ndarray] | None) -> np.ndarray:
        """dL/dh_tm1 of ``conv_h(h_tm1 [* m_k], U_k)``: col2im(dz U^T) (* m_k)."""
        core, f, geo, u = _core(), self.filters, self._geometry(True), self._recurrent_matrix()
        if masks is None:
            d = core.col2im(dz @ u.T, geo, batch, f, "conv")
            return d.reshape(batch, -1)
        total = np.zeros((batch, self.state_size[0]), FLOATX)
        for k in range(4):
            blk = slice(k * f, (k + 1) * f)
            d = core.col2im(dz[:, blk] @ u[:, blk].T, geo, batch, f, "conv")
            total += d.reshape(batch, -1) * masks[k]
        return total

    def backward_weights(self, xs: np.ndarray, ctx: dict, dxp: np.ndarray
                         ) -> tuple[list[np.ndarray], np.ndarray]:
        """[dW, dU, db] (Keras's order) and dL/dxs (T, B, prod(S) C), all steps at once."""
        f = self.filters
        dz = dxp.reshape(xs.shape[0], -1, 4 * f)                     # (T, B P, 4F)
        d_kernel, d_xs = self._input_grads(xs, dz, ctx["in_m"])
        d_rec = self._kernel_grad(ctx["h_prev"], dz, ctx["rm"], self._geometry(True),
                                  self.out_spatial, f, self.recurrent_kernel.shape)
        grads = [d_kernel, d_rec]
        if self.use_bias:
            grads.append(dz.sum(axis=(0, 1)))
        return grads, d_xs

    def _input_grads(self, xs: np.ndarray, dz: np.ndarray, masks: list[np.ndarray] | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """dW = im2col(x)^T dz and dx = col2im(dz W^T) of the input convolution."""
        core, f, c = _core(), self.filters, self.input_channels
        t, b = xs.shape[:2]
        geo = self._geometry(False)
        d_kernel = self._kernel_grad(xs, dz, masks, geo, self.spatial, c, self.kernel.shape)
        w = core.kernel_matrix(self.kernel)                          # (C K, 4F)
        d_xs = np.zeros(xs.shape, FLOATX)
        for part in time_chunks(t, dz.shape[1] * w.shape[0]):
            rows = dz[part].reshape(-1, 4 * f)
            steps = rows.shape[0] // dz.shape[1]
            for k in range(1 if masks is None else 4):
                blk = slice(0, 4 * f) if masks is None else slice(k * f, (k + 1) * f)
                d_x = core.col2im(rows[:, blk] @ w[:, blk].T, geo, steps * b, c, "conv")
                d_x = d_x.reshape(steps, b, -1)
                d_xs[part] += d_x if masks is None else d_x * masks[k]
        return d_kernel, d_xs

    def _kernel_grad(self, inputs: np.ndarray, dz: np.ndarray,
                     masks: list[np.ndarray] | None, geo: Any, spatial: tuple,
                     channels: int, shape: tuple) -> np.ndarray:
        """``sum over steps and positions of im2col(inputs [* m_k])^T dz_k`` as a kernel
        of ``shape``; inputs (T, B, prod(spatial) channels), dz (T, B P, 4F)."""
        core, f = _core(), self.filters
        b = inputs.shape[1]
        m = np.zeros((channels * math.prod(self.kernel_size), 4 * f), FLOATX)
        for part in time_chunks(inputs.shape[0], dz.shape[1] * m.shape[0]):
            rows = dz[part].reshape(-1, 4 * f)
            images = (rows.shape[0] // dz.shape[1] * b, *spatial, channels)
            for k in range(1 if masks is None else 4):
                blk = slice(0, 4 * f) if masks is None else slice(k * f, (k + 1) * f)
                x = inputs[part] if masks is None else inputs[part] * masks[k]
                m[:, blk] += core.im2col(x.reshape(images), geo, "conv").T @ rows[:, blk]
        return core.kernel_from_matrix(m, shape)


__all__ = ["CHUNK_ELEMENTS", "time_chunks"]
