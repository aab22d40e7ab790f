"""SGD (optionally with momentum / Nesterov) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum, exactly as Keras 3.

    ``m = momentum * m - lr * g``; ``var += m`` (or, with ``nesterov``,
    ``var += momentum * m - lr * g`` using the new ``m``); without momentum ``var -= g * lr``.
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, name)
        if isinstance(momentum, bool) or not isinstance(momentum, (float, np.floating)) \
                or not 0.0 <= momentum <= 1.0:
            raise ValueError(
                f"Received momentum={momentum!r}, expected a float in [0, 1] (Keras refuses "
                "an int such as 0: write 0.0)."
            )
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _slot_groups(self) -> tuple[tuple[str, ...], ...]:
        return (("momentum",),) if self.momentum != 0 else ()

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        """In place, Keras's float32 operations in Keras's order; ``grad`` is the
        optimizer's own copy (``_as_grad``), so it holds ``grad * lr``."""
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
