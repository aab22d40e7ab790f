"""RMSprop (centered, momentum) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, _check_float, _square


class RMSprop(Optimizer):
    """RMSprop (optionally centered, with momentum), exactly as Keras 3.

    ``v = rho * v + (1 - rho) * g**2``; centered: ``a = rho * a + (1 - rho) * g`` and
    ``denom = v - a**2 + epsilon``, else ``denom = v + epsilon`` (epsilon *inside* the
    square root); ``inc = lr * g / sqrt(denom)``; with momentum ``m = momentum * m + inc``,
    ``var -= m``, else ``var -= inc``.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, name)
        self.rho = float(_check_float("rho", rho))
        self.momentum = float(_check_float("momentum", momentum))
        self.epsilon = float(_check_float("epsilon", epsilon))
        self.centered = bool(centered)

    def _slot_groups(self) -> tuple[tuple[str, ...], ...]:
        groups = [("velocity",)]
        if self.momentum > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return tuple(groups)

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        rho = f(self.rho)
        one_minus_rho = f(1 - self.rho)
        velocity = self._slots["velocity"][index]
        velocity[...] = rho * velocity + one_minus_rho * _square(grad)
        if self.centered:
            avg = self._slots["average_gradient"][index]
            avg[...] = rho * avg + one_minus_rho * grad
            denominator = velocity - np.square(avg) + f(self.epsilon)
        else:
            denominator = velocity + f(self.epsilon)
        increment = (lr * grad) / np.sqrt(denominator)
        if self.momentum > 0:
            m = self._slots["momentum"][index]
            m[...] = f(self.momentum) * m + increment
            var -= m
        else:
            var -= increment

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
