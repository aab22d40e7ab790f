"""RMSprop (centered, momentum) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float
from rnnlens.optimizers.clipping import dense, square


class RMSprop(Optimizer):
    """RMSprop (optionally centered, with momentum), exactly as Keras 3.

    ``v = rho * v + (1 - rho) * g**2``; centered: ``a = rho * a + (1 - rho) * g`` and
    ``denom = v - a**2 + epsilon``, else ``denom = v + epsilon`` (epsilon *inside* the
    square root); ``inc = lr * g / sqrt(denom)``; with momentum ``m = momentum * m + inc``,
    ``var -= m``, else ``var -= inc``.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        rho: decay of the squared-gradient average.
        momentum: momentum of the increments (0: none).
        epsilon: added inside the square root.
        centered: divide by the gradient's estimated variance instead of its second moment.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: Any = None,
                 clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: Any = None, loss_scale_factor: Any = None,
                 gradient_accumulation_steps: Any = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.rho = check_float("rho", rho)
        self.momentum = check_float("momentum", momentum)
        self.epsilon = check_float("epsilon", epsilon)
        self.centered = centered

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots("velocity")
        if self.momentum > 0:
            self._add_slots("momentum")
        if self.centered:
            self._add_slots("average_gradient")

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        rho = f(self.rho)
        one_minus_rho = f(1 - self.rho)
        velocity = self._slots["velocity"][index]
        tmp = self._work(index, var)
        np.multiply(velocity, rho, out=velocity)
        if dense(grad):
            np.square(grad, out=tmp)
        else:                                  # an embedding's rows: squared row by row
            tmp[...] = square(grad)
        np.multiply(tmp, one_minus_rho, out=tmp)
        np.add(velocity, tmp, out=velocity)   # v = rho * v + (1 - rho) * g**2
        if self.centered:
            avg = self._slots["average_gradient"][index]
            np.multiply(avg, rho, out=avg)
            np.multiply(grad, one_minus_rho, out=tmp)
            np.add(avg, tmp, out=avg)         # a = rho * a + (1 - rho) * g
            np.square(avg, out=tmp)
            np.subtract(velocity, tmp, out=tmp)
            np.add(tmp, f(self.epsilon), out=tmp)         # v - a**2 + epsilon
        else:
            np.add(velocity, f(self.epsilon), out=tmp)    # v + epsilon
        np.sqrt(tmp, out=tmp)
        grad = np.multiply(grad, lr, out=grad if dense(grad) else None)
        np.divide(grad, tmp, out=tmp)         # increment = (lr * g) / sqrt(denominator)
        if self.momentum > 0:
            m = self._slots["momentum"][index]
            np.multiply(m, f(self.momentum), out=m)
            np.add(m, tmp, out=m)             # m = momentum * m + increment
            np.subtract(var, m, out=var)
        else:
            np.subtract(var, tmp, out=var)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
