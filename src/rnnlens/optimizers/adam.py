"""Adam (optionally AMSGrad) and AdamW as Keras 3.15.1 applies them."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float
from rnnlens.optimizers.clipping import dense, square


class Adam(Optimizer):
    """Adam (optionally AMSGrad), exactly as Keras 3.

    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` with ``t = iterations + 1``;
    ``m += (g - m) * (1 - beta_1)``; ``v += (g**2 - v) * (1 - beta_2)``;
    (AMSGrad: ``v_hat = max(v_hat, v)``, used instead of ``v``);
    ``var -= m * alpha / (sqrt(v) + epsilon)``. Note epsilon is added to ``sqrt(v)`` and
    is *not* bias-corrected (the "epsilon hat" of the Adam paper), default 1e-7.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1, beta_2: decay rates of the first and second moment estimates.
        epsilon: added to ``sqrt(v)``.
        amsgrad: use the running maximum of ``v`` (AMSGrad).
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: Any = None,
                 clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: Any = None, loss_scale_factor: Any = None,
                 gradient_accumulation_steps: Any = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.beta_1 = check_float("beta_1", beta_1)
        self.beta_2 = check_float("beta_2", beta_2)
        self.epsilon = check_float("epsilon", epsilon)
        self.amsgrad = amsgrad

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots(["momentum", "velocity"])
        if self.amsgrad:
            self._add_slots("velocity_hat")

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        local_step = f(self.iterations + 1)
        beta_1_power = np.power(f(self.beta_1), local_step)
        beta_2_power = np.power(f(self.beta_2), local_step)
        m = self._slots["momentum"][index]
        v = self._slots["velocity"][index]
        alpha = lr * np.sqrt(f(1) - beta_2_power) / (f(1) - beta_1_power)
        if not dense(grad):                    # an embedding's rows: squared row by row
            m += (grad - m) * f(1 - self.beta_1)
            v += (square(grad) - v) * f(1 - self.beta_2)
            self._finish(m, v, var, alpha, index)
            return
        # In place, Keras's float32 operations in Keras's order; ``grad`` is the
        # optimizer's own copy and serves as the second buffer.
        tmp = self._work(index, var)
        np.subtract(grad, m, out=tmp)
        np.multiply(tmp, f(1 - self.beta_1), out=tmp)
        np.add(m, tmp, out=m)                                # m += (g - m) * (1 - beta_1)
        np.square(grad, out=grad)
        np.subtract(grad, v, out=grad)
        np.multiply(grad, f(1 - self.beta_2), out=grad)
        np.add(v, grad, out=v)                               # v += (g**2 - v) * (1 - beta_2)
        self._finish(m, v, var, alpha, index, spare=grad)

    def _finish(self, m: np.ndarray, v: np.ndarray, var: np.ndarray, alpha: np.floating,
                index: int, spare: np.ndarray | None = None) -> None:
        """``var -= (m * alpha) / (sqrt(v_hat or v) + epsilon)``, in place."""
        f = var.dtype.type
        if self.amsgrad:
            v_hat = self._slots["velocity_hat"][index]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        tmp = self._work(index, var)
        spare = np.empty_like(var) if spare is None else spare
        np.multiply(m, alpha, out=tmp)
        np.sqrt(v, out=spare)
        np.add(spare, f(self.epsilon), out=spare)
        np.divide(tmp, spare, out=tmp)
        np.subtract(var, tmp, out=var)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), exactly as Keras 3: Adam
    whose ``weight_decay`` defaults to 0.004 and must be set. Before each update
    ``var -= var * weight_decay * lr``, then the Adam step.

    Args:
        learning_rate, weight_decay, beta_1, beta_2, epsilon, amsgrad, ...: as
            :class:`Adam` (Keras's argument order: ``weight_decay`` second).
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: Any = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: Any = None, loss_scale_factor: Any = None,
                 gradient_accumulation_steps: Any = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
