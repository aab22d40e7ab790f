"""Schedule-free AdamW (Defazio et al., 2024) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float, check_int
from rnnlens.optimizers.clipping import plain, square


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW, exactly as Keras 3 on TensorFlow.

    The ``momentum`` slot holds the base sequence ``z`` (starting at the variable), the
    variable holds ``y``; with ``t = iterations + 1`` and ``lr`` ramped by
    ``min(t / warmup_steps, 1)``::

        v += (g**2 - v) * (1 - beta_2)
        z -= lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)
        x = (y - (1 - beta_1) z) / beta_1          # z *after* its update, as Keras's
        x = (1 - 1/t) x + (1/t) z                  # TensorFlow path reads it
        y = (1 - beta_1) z + beta_1 x

    (Keras's code reads the old ``z`` through ``momentum.value``, which on TensorFlow is
    the live variable, so it sees the updated one; rnnlens computes what Keras computes.)
    ``z`` starts as a copy of the variable when the optimizer is built eagerly
    (``apply``, ``build``, a loaded model), but at **zero** when ``fit`` /
    ``train_on_batch`` build it (not ``run_eagerly``): Keras builds it inside its traced
    train function, where that copy belongs to the first, discarded trace. rnnlens's
    ``fit`` reproduces both.

    Args:
        learning_rate: float, schedule or callable (default 0.0025).
        beta_1: interpolation between ``z`` and the average ``x``; beta_2: decay of ``v``.
        epsilon: added to the denominator (default 1e-8).
        warmup_steps: linear learning-rate warmup (0: none).
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, weight_decay: Any = None,
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
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 0, allow_none=False)

    def _build(self, var_list: list[np.ndarray]) -> None:
        momentums, _ = self._add_slots(["momentum", "velocity"])
        if getattr(self, "_traced_build", False):
            return                  # Keras's fit: the copy ran in a discarded trace only
        for z, var in zip(momentums, var_list):
            z[...] = var

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        local_step = f(self.iterations + 1)
        beta_1, beta_2 = f(self.beta_1), f(self.beta_2)
        if self.warmup_steps > 0:
            lr = lr * np.minimum(local_step / f(self.warmup_steps), f(1.0))
        z = self._slots["momentum"][index]
        v = self._slots["velocity"][index]
        bias_correction_2 = f(1) - np.power(beta_2, local_step)
        v += (square(grad) - v) * (f(1) - beta_2)
        denom = np.sqrt(v / bias_correction_2) + f(self.epsilon)
        z -= (lr * plain(grad)) / denom
        weight = f(1.0) / local_step
        x_old = (var - (f(1) - beta_1) * z) / beta_1
        x_new = (f(1) - weight) * x_old + weight * z
        var[...] = (f(1) - beta_1) * z + beta_1 * x_new

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "warmup_steps": self.warmup_steps}


__all__ = ["ScheduleFreeAdamW"]
