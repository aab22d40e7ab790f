"""SGD (optionally with momentum / Nesterov) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum, exactly as Keras 3.

    ``m = momentum * m - lr * g``; ``var += m`` (or, with ``nesterov``,
    ``var += momentum * m - lr * g`` using the new ``m``); without momentum ``var -= g * lr``.

    Args:
        learning_rate: float, schedule or callable (default 0.01).
        momentum: a float in [0, 1] (Keras refuses an int such as 0).
        nesterov: Nesterov momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (float, np.floating)) \
                or not 0.0 <= momentum <= 1.0:
            raise ValueError(
                f"Received momentum={momentum!r}, expected a float in [0, 1] (Keras refuses "
                "an int such as 0: write 0.0).")
        self.momentum = momentum
        self.nesterov = nesterov

    def _build(self, var_list: list[np.ndarray]) -> None:
        if self.momentum != 0:
            self._add_slots("momentum")

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        """In place, Keras's float32 operations in Keras's order; ``grad`` is the
        optimizer's own copy, so it holds ``grad * lr``."""
        lr = self._lr(var)
        np.multiply(grad, lr, out=grad)                      # g * lr
        if self.momentum != 0:
            m = self._slots["momentum"][index]
            mom = var.dtype.type(self.momentum)
            np.multiply(m, mom, out=m)
            np.subtract(m, grad, out=m)                      # m = m * mom - g * lr
            if self.nesterov:
                tmp = self._work(index, var)
                np.multiply(m, mom, out=tmp)
                np.subtract(tmp, grad, out=tmp)
                np.add(var, tmp, out=var)                    # var += m * mom - g * lr
            else:
                np.add(var, m, out=var)
        else:
            np.subtract(var, grad, out=var)                  # var -= g * lr

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
