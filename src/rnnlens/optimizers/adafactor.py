"""Adafactor (Shazeer & Stern, 2018) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float
from rnnlens.optimizers.clipping import dense, square
from rnnlens.weights import RowGradient


def _rms(x: np.ndarray) -> np.floating:
    """``sqrt(mean(x**2))``, summed in C order whatever ``x``'s memory layout (so a
    loaded model, whose arrays may be laid out differently, resumes bit for bit)."""
    return np.sqrt(np.mean(np.square(np.ascontiguousarray(x)), dtype=x.dtype))


class Adafactor(Optimizer):
    """Adafactor, exactly as Keras 3. With ``t = iterations + 1``::

        rho = min(lr, 1 / sqrt(t));  alpha = max(epsilon_2, rms(var)) * rho
        G = g**2 + epsilon_1;        beta = 1 - t ** beta_2_decay
        rank >= 2:  r = beta r + (1 - beta) mean(G, -1);  c = beta c + (1 - beta) mean(G, -2)
                    v = r / mean(r, -1) [..., None] * c[..., None, :]   (factored)
        rank < 2:   v = beta v + (1 - beta) G
        u = g / sqrt(v);  var -= alpha * u / max(1, rms(u) / clip_threshold)

    Variables per trainable variable, in Keras's order: ``r``, ``c`` (for rank < 2 Keras's
    unused 0-d int32 placeholders, named after the variable), then ``velocity``.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_2_decay: exponent of the second-moment decay schedule.
        epsilon_1: added to the squared gradient; epsilon_2: floor of ``rms(var)``.
        clip_threshold: the update's RMS is clipped to it.
        relative_step: cap the rate at ``1 / sqrt(t)`` (Keras caps ``rho`` either way).
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_2_decay: float = -0.8,
                 epsilon_1: float = 1e-30, epsilon_2: float = 1e-3, clip_threshold: float = 1.0,
                 relative_step: bool = True, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.beta_2_decay = check_float("beta_2_decay", beta_2_decay)
        self.epsilon_1 = check_float("epsilon_1", epsilon_1)
        self.epsilon_2 = check_float("epsilon_2", epsilon_2)
        self.clip_threshold = check_float("clip_threshold", clip_threshold)
        if not clip_threshold > 0:
            raise ValueError(f"Received clip_threshold={clip_threshold!r}, expected > 0.")
        self.relative_step = relative_step

    def _build(self, var_list: list[np.ndarray]) -> None:
        r_list, c_list = [], []
        for i, var in enumerate(var_list):
            name = self._var_names[i]
            if var.ndim < 2:           # Keras's unused placeholders, outside its name scope
                r = self._plain_variable(name, np.zeros((), np.int32))
                c = self._plain_variable(name, np.zeros((), np.int32))
            else:
                r = self._new_variable(name, np.zeros(var.shape[:-1], var.dtype)).value
                c = self._new_variable(
                    name, np.zeros(var.shape[:-2] + var.shape[-1:], var.dtype)).value
            r_list.append(r)
            c_list.append(c)
            self._slots.setdefault("velocity", []).append(
                self._slot_variable(i, "velocity", np.zeros(var.shape, var.dtype)))
        self._slots["r"], self._slots["c"] = r_list, c_list

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        local_step = f(self.iterations + 1)
        inv_sqrt = f(1) / np.sqrt(local_step)
        rho_t = np.minimum(lr, inv_sqrt)          # (relative_step's cap is the same min)
        alpha_t = np.maximum(f(self.epsilon_2), _rms(var)) * rho_t
        regulated = square(grad) + f(self.epsilon_1)
        beta_2_t = f(1) - np.power(local_step, f(self.beta_2_decay))
        v = self._slots["velocity"][index]
        if var.ndim >= 2:
            r, c = self._slots["r"][index], self._slots["c"][index]
            r[...] = beta_2_t * r + (f(1) - beta_2_t) * np.mean(regulated, axis=-1,
                                                                 dtype=var.dtype)
            c[...] = beta_2_t * c + (f(1) - beta_2_t) * np.mean(regulated, axis=-2,
                                                                 dtype=var.dtype)
            v[...] = np.expand_dims(r / np.mean(r, axis=-1, keepdims=True, dtype=var.dtype),
                                    -1) * np.expand_dims(c, -2)
        else:
            v[...] = beta_2_t * v + (f(1) - beta_2_t) * regulated
        if dense(grad):
            u_t = grad / np.sqrt(v)
            rms_u = _rms(u_t)
        else:                      # TensorFlow keeps u as rows: its RMS squares row by row
            values = grad.values / np.sqrt(v[grad.rows])
            u_t = np.asarray(RowGradient.from_rows(var.shape, grad.rows, values))
            rms_u = np.sqrt(np.mean(square(RowGradient.of(u_t, grad.rows, values)),
                                    dtype=var.dtype))
        u_t_hat = u_t / np.maximum(f(1), rms_u / f(self.clip_threshold))
        var -= alpha_t * u_t_hat

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}


__all__ = ["Adafactor"]
