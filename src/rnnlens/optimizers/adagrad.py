"""Adagrad, Adadelta and Ftrl (the accumulator optimizers) as Keras 3.15.1 applies them,
in float32 and Keras's order.

* :class:`Adagrad`: ``acc += g**2``; ``var -= lr * g / sqrt(acc + epsilon)``, the
  accumulators starting at ``initial_accumulator_value``.
* :class:`Adadelta`: ``acc_g = rho acc_g + (1 - rho) g**2``;
  ``delta = -sqrt(acc_d + eps) * g / sqrt(acc_g + eps)``;
  ``acc_d = rho acc_d + (1 - rho) delta**2``; ``var += lr * delta``.
* :class:`Ftrl` (follow the regularized leader, McMahan et al.), with ``p = -lr_power``:
  ``g' = g + 2 l2_shrinkage var``; ``n' = n + g**2``;
  ``z += g' - (n'**p - n**p) / lr * var``; ``q = n'**p / lr + 2 (l2 + beta / (2 lr))``;
  ``var = (clip(z, -l1, l1) - z) / q``; ``n = n'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float
from rnnlens.optimizers.clipping import dense, plain, square
from rnnlens.weights import RowGradient

_BASE = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
         "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
         "gradient_accumulation_steps", "name")


def _base(local: dict) -> list:
    return [local[k] for k in _BASE]


class Adagrad(Optimizer):
    """Adagrad, exactly as Keras 3.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        initial_accumulator_value: starting value of the accumulators (>= 0).
        epsilon: added inside the square root.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, *_base(locals()), **kwargs)
        self.initial_accumulator_value = check_float("initial_accumulator_value",
                                                     initial_accumulator_value)
        self.epsilon = check_float("epsilon", epsilon)

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots("accumulator", float(np.float32(self.initial_accumulator_value)))

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        acc = self._slots["accumulator"][index]
        acc += square(grad)
        var -= (lr * plain(grad)) / np.sqrt(acc + f(self.epsilon))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta, exactly as Keras 3 (with a learning rate, default 0.001).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        rho: decay rate of both averages.
        epsilon: added inside the square roots.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, *_base(locals()), **kwargs)
        self.rho = check_float("rho", rho)
        self.epsilon = check_float("epsilon", epsilon)

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots(["accumulated_grad", "accumulated_delta_var"])

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        rho, eps = f(self.rho), f(self.epsilon)
        acc_g = self._slots["accumulated_grad"][index]
        acc_d = self._slots["accumulated_delta_var"][index]
        acc_g[...] = rho * acc_g + f(1 - self.rho) * square(grad)
        if dense(grad):
            delta = -((np.sqrt(acc_d + eps) * grad) / np.sqrt(acc_g + eps))
            delta_sq = np.square(delta)
        else:                      # TensorFlow keeps delta as rows: squared row by row
            rows = grad.rows
            values = -((np.sqrt(acc_d[rows] + eps) * grad.values) / np.sqrt(acc_g[rows] + eps))
            delta = RowGradient.from_rows(var.shape, rows, values)
            delta_sq = square(delta)
        acc_d[...] = rho * acc_d + f(1 - self.rho) * delta_sq
        var += lr * np.asarray(delta)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """FTRL-proximal, exactly as Keras 3.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        learning_rate_power: <= 0; the accumulators' exponent is ``-learning_rate_power``.
        initial_accumulator_value: starting value of the accumulators (>= 0).
        l1_regularization_strength, l2_regularization_strength: >= 0.
        l2_shrinkage_regularization_strength: >= 0, a magnitude penalty on the gradient.
        beta: added to the l2 term as ``beta / (2 lr)``.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, *_base(locals()), **kwargs)
        for arg, value, sign in (
                ("initial_accumulator_value", initial_accumulator_value, "positive"),
                ("learning_rate_power", learning_rate_power, "negative"),
                ("l1_regularization_strength", l1_regularization_strength, "positive"),
                ("l2_regularization_strength", l2_regularization_strength, "positive"),
                ("l2_shrinkage_regularization_strength",
                 l2_shrinkage_regularization_strength, "positive")):
            check_float(arg, value)
            if (value < 0.0) if sign == "positive" else (value > 0.0):
                raise ValueError(f"`{arg}` needs to be {sign} or zero. Received: "
                                 f"{arg}={value}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = check_float("beta", beta)

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots(["accumulator", "linear"],
                        [float(np.float32(self.initial_accumulator_value)), 0.0])

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        accum = self._slots["accumulator"][index]
        linear = self._slots["linear"][index]
        power = f(-self.learning_rate_power)
        l2_reg = f(self.l2_regularization_strength) + f(self.beta) / (f(2.0) * lr)
        grad_to_use = plain(grad) + f(2 * self.l2_shrinkage_regularization_strength) * var
        new_accum = accum + square(grad)
        new_pow = np.power(new_accum, power)
        linear += grad_to_use - ((new_pow - np.power(accum, power)) / lr) * var
        quadratic = new_pow / lr + f(2) * l2_reg
        l1 = self.l1_regularization_strength
        clipped = np.clip(linear, f(-l1), f(l1))
        var[...] = (clipped - linear) / quadratic
        accum[...] = new_accum

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


__all__ = ["Adagrad", "Adadelta", "Ftrl"]
