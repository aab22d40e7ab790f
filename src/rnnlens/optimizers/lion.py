"""Lion (EvoLved Sign Momentum, Chen et al. 2023) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float
from rnnlens.optimizers.clipping import plain


class Lion(Optimizer):
    """Lion, exactly as Keras 3:
    ``var -= lr * sign(beta_1 m + (1 - beta_1) g)``; ``m = beta_2 m + (1 - beta_2) g``
    (``1 - beta`` in float32).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: in (0, 1], mixes momentum and gradient in the sign; beta_2: decay of m.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.beta_1 = check_float("beta_1", beta_1)
        self.beta_2 = check_float("beta_2", beta_2)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots("momentum")

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        beta_1, beta_2 = f(self.beta_1), f(self.beta_2)
        g = plain(grad)
        m = self._slots["momentum"][index]
        var -= lr * np.sign(m * beta_1 + g * (f(1.0) - beta_1))
        m[...] = m * beta_2 + g * (f(1.0) - beta_2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


__all__ = ["Lion"]
