"""Adamax, Nadam and Lamb as Keras 3.15.1 applies them (float32, Keras's order).

With ``t = iterations + 1`` and ``m``, ``v`` the first and second moments:

* :class:`Adamax`: ``m += (g - m) * (1 - beta_1)``; ``u = max(beta_2 * u, |g|)``;
  ``var -= lr * m / ((1 - beta_1**t) * (u + epsilon))``.
* :class:`Nadam`: Adam with Nesterov momentum and Dozat's momentum schedule
  ``mu_t = beta_1 * (1 - 0.5 * 0.96**t)``; ``prod_t = prod_{s<=t} mu_s`` (a variable);
  ``m_hat = mu_{t+1} m / (1 - prod_t mu_{t+1}) + (1 - mu_t) g / (1 - prod_t)``;
  ``v_hat = v / (1 - beta_2**t)``; ``var -= m_hat * lr / (sqrt(v_hat) + epsilon)``.
* :class:`Lamb`: ``update = m_hat / (sqrt(v_hat) + epsilon)`` (bias-corrected moments),
  scaled by the trust ratio ``||var|| / ||update||`` (1 when either norm is 0):
  ``var -= ratio * lr * update``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float
from rnnlens.optimizers.clipping import plain, rowwise, square

_BASE_DOC = """weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`."""


class _Moments(Optimizer):
    """Shared constructor of the optimizers with ``beta_1``, ``beta_2``, ``epsilon``."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        self.beta_1 = check_float("beta_1", beta_1)
        self.beta_2 = check_float("beta_2", beta_2)
        self.epsilon = check_float("epsilon", epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adamax(_Moments):
    """Adamax (Adam with the infinity norm), exactly as Keras 3.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first moment; beta_2: decay of the infinity norm.
        epsilon: added to the norm.
    """ + _BASE_DOC

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots(["momentum", "norm"])

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        beta_1_power = np.power(f(self.beta_1), f(self.iterations + 1))
        m = self._slots["momentum"][index]
        u = self._slots["norm"][index]
        m += (plain(grad) - m) * f(1 - self.beta_1)
        u[...] = np.maximum(f(self.beta_2) * u, rowwise(grad, np.abs))
        var -= (lr * m) / ((f(1) - beta_1_power) * (u + f(self.epsilon)))


class Nadam(_Moments):
    """Nadam (Adam with Nesterov momentum), exactly as Keras 3; its momentum-schedule
    product is the last optimizer variable, unnamed in Keras, so named by the session's
    counter as Keras's ``auto_name`` does (``variable``, ``variable_1``, ...; reset by
    ``clear_session``).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1, beta_2: decay rates of the moments; epsilon: added to ``sqrt(v_hat)``.
    """ + _BASE_DOC

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots(["momentum", "velocity"])
        dtype = var_list[0].dtype if var_list else np.dtype(np.float32)
        from rnnlens import naming

        self._u_product = self._plain_variable(naming.unique("variable"), np.ones((), dtype))

    def _before_updates(self, variables: list) -> None:
        u = self._u_product
        f = u.dtype.type
        decay = np.power(f(0.96), f(self.iterations + 1))
        u[...] = (u * f(self.beta_1)) * (f(1.0) - f(0.5) * decay)

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        local_step, next_step = f(self.iterations + 1), f(self.iterations + 2)
        beta_1, beta_2 = f(self.beta_1), f(self.beta_2)
        u_t = beta_1 * (f(1.0) - f(0.5) * np.power(f(0.96), local_step))
        u_t_1 = beta_1 * (f(1.0) - f(0.5) * np.power(f(0.96), next_step))
        u_product_t = f(self._u_product)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = np.power(beta_2, local_step)
        m = self._slots["momentum"][index]
        v = self._slots["velocity"][index]
        g = plain(grad)
        m += (g - m) * (f(1) - beta_1)
        v += (square(grad) - v) * (f(1) - beta_2)
        m_hat = (u_t_1 * m) / (f(1) - u_product_t_1) + ((f(1) - u_t) * g) / (f(1) - u_product_t)
        v_hat = v / (f(1) - beta_2_power)
        var -= (m_hat * lr) / (np.sqrt(v_hat) + f(self.epsilon))


class Lamb(_Moments):
    """LAMB (layer-wise adaptive moments), exactly as Keras 3.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1, beta_2: decay rates of the moments; epsilon: added to ``sqrt(v_hat)``.
    """ + _BASE_DOC

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._add_slots(["momentum", "velocity"])

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        local_step = f(self.iterations + 1)
        beta_1_power = np.power(f(self.beta_1), local_step)
        beta_2_power = np.power(f(self.beta_2), local_step)
        m = self._slots["momentum"][index]
        v = self._slots["velocity"][index]
        m += (plain(grad) - m) * f(1 - self.beta_1)
        v += (square(grad) - v) * f(1 - self.beta_2)
        m_t_hat = m / (f(1.0) - beta_1_power)
        v_sqrt = np.sqrt(v / (f(1.0) - beta_2_power)) + f(self.epsilon)
        update = m_t_hat / v_sqrt
        w_norm = np.sqrt(np.sum(np.square(np.ascontiguousarray(var)), dtype=var.dtype))
        g_norm = np.sqrt(np.sum(np.square(update), dtype=var.dtype))
        ratio = (w_norm / g_norm if g_norm > 0 else f(1.0)) if w_norm > 0 else f(1.0)
        var -= (f(ratio) * lr) * update


__all__ = ["Adamax", "Nadam", "Lamb"]
