"""Muon (momentum orthogonalized by Newton-Schulz) as Keras 3.15.1 applies it."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rnnlens.optimizers.base import Optimizer, check_float, check_int
from rnnlens.optimizers.clipping import plain, square


class Muon(Optimizer):
    """Muon, exactly as Keras 3: 2-D variables (not embeddings, not ``exclude_layers``)
    take the Muon step, all others an AdamW step.

    Muon step (``m`` the momentum)::

        m += g + m * (momentum - 1)                    # m = momentum m + g
        G = g + momentum * m  (nesterov)  or  m
        O = NS5(G)   # 5-step Newton-Schulz: X = G / (||G||_F + 1e-7);
                     # A = X X^T; X = a X + (b A + c A A) X   (on the wide orientation)
        var -= lr * O * sqrt(max(rows, cols)) * rms_rate

    AdamW step: Adam with ``adam_beta_1``, ``adam_beta_2``, ``epsilon`` and the learning
    rate times ``adam_lr_ratio``. Weight decay is ``adam_weight_decay`` for AdamW
    variables and ``weight_decay`` for Muon ones (``var -= var * wd * lr``).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        adam_beta_1, adam_beta_2, adam_weight_decay, epsilon, adam_lr_ratio: the AdamW
            step's settings.
        weight_decay: decay of the Muon variables (default 0.004).
        exclude_layers: regular expressions; variables whose path matches one take AdamW.
        exclude_embeddings: variables with "embedding" in their path take AdamW.
        muon_a, muon_b, muon_c: the Newton-Schulz polynomial; ns_steps: its iterations.
        momentum, nesterov: Muon's momentum.
        rms_rate: the update-RMS matching factor (None: no adjustment).
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            see :class:`rnnlens.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate: Any = 0.001, adam_beta_1: float = 0.9,
                 adam_beta_2: float = 0.999, adam_weight_decay: Any = 0.004,
                 epsilon: float = 1e-7, weight_decay: Any = 0.004, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, exclude_layers: Any = None,
                 exclude_embeddings: bool = True, muon_a: float = 3.4445,
                 muon_b: float = -4.7750, muon_c: float = 2.0315, adam_lr_ratio: float = 1,
                 momentum: float = 0.95, ns_steps: int = 5, nesterov: bool = True,
                 rms_rate: Any = 0.2, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)
        for arg in ("adam_beta_1", "adam_beta_2", "epsilon", "muon_a", "muon_b", "muon_c",
                    "adam_lr_ratio", "momentum"):
            setattr(self, arg, check_float(arg, locals()[arg]))
        self.adam_weight_decay = check_float("adam_weight_decay", adam_weight_decay,
                                             allow_none=True)
        self.rms_rate = check_float("rms_rate", rms_rate, allow_none=True)
        self.ns_steps = check_int("ns_steps", ns_steps, 0, allow_none=False)
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        if exclude_layers is not None and (isinstance(exclude_layers, str) or not all(
                isinstance(k, str) for k in exclude_layers)):
            raise TypeError(f"Received exclude_layers={exclude_layers!r}, expected a list of "
                            "regular expressions (str).")
        self.exclude_layers = list(exclude_layers or [])

    def _should_use_adamw(self, index: int, shape: tuple) -> bool:
        path = self._var_paths[index]
        if len(shape) != 2:
            return True
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def _build(self, var_list: list[np.ndarray]) -> None:
        self._slots["momentum"] = [None] * len(var_list)
        self._slots["velocity"] = [None] * len(var_list)
        for i, var in enumerate(var_list):
            self._slots["momentum"][i] = self._slot_variable(
                i, "momentum", np.zeros(var.shape, var.dtype))
            if self._should_use_adamw(i, var.shape):
                self._slots["velocity"][i] = self._slot_variable(
                    i, "velocity", np.zeros(var.shape, var.dtype))

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        m = self._slots["momentum"][index]
        v = self._slots["velocity"][index]
        if v is not None:
            self._adamw_step(grad, var, m, v)
        else:
            self._muon_step(plain(grad), var, m)

    def _adamw_step(self, grad: np.ndarray, var: np.ndarray, m: np.ndarray,
                    v: np.ndarray) -> None:
        f = var.dtype.type
        lr = self._lr(var) * f(self.adam_lr_ratio)
        local_step = f(self.iterations + 1)
        b1_power = np.power(f(self.adam_beta_1), local_step)
        b2_power = np.power(f(self.adam_beta_2), local_step)
        alpha = lr * np.sqrt(f(1) - b2_power) / (f(1) - b1_power)
        m += (plain(grad) - m) * f(1 - self.adam_beta_1)
        v += (square(grad) - v) * f(1 - self.adam_beta_2)
        var -= (m * alpha) / (np.sqrt(v) + f(self.epsilon))

    def _muon_step(self, grad: np.ndarray, var: np.ndarray, m: np.ndarray) -> None:
        f = var.dtype.type
        m += grad + m * f(self.momentum - 1)
        g = grad + f(self.momentum) * m if self.nesterov else m
        update = self.zeropower_via_newtonschulz5(g, self.ns_steps)
        x = self._lr(var) * update
        if self.rms_rate is not None:
            x = x * np.sqrt(f(max(x.shape[0], x.shape[1]))) * f(self.rms_rate)
        var -= x

    def zeropower_via_newtonschulz5(self, x: np.ndarray, steps: int) -> np.ndarray:
        """Keras's quintic Newton-Schulz iteration towards the nearest semi-orthogonal
        matrix (on the last two axes), in ``x``'s dtype."""
        if x.ndim < 2:
            raise ValueError("Expected gradient or momentum to have at least 2 dimensions. "
                             f"Received: shape={x.shape}")
        f = x.dtype.type
        a, b, c = f(self.muon_a), f(self.muon_b), f(self.muon_c)
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = np.swapaxes(x, -1, -2)
        norm = np.sqrt(np.sum(x * x, axis=(-2, -1), keepdims=True, dtype=x.dtype))
        x = x / (norm + f(1e-7))
        for _ in range(steps):
            temp_a = x @ np.swapaxes(x, -1, -2)
            temp_b = b * temp_a + (c * temp_a) @ temp_a
            x = a * x + temp_b @ x
        return np.swapaxes(x, -1, -2) if tall else x

    def _apply_weight_decay(self, idx: list[int], variables: list) -> None:
        lr = self._current_learning_rate()
        for i in idx:
            var = variables[i]
            if not self._use_weight_decay(i, var):
                continue
            wd = self.adam_weight_decay if self._should_use_adamw(i, var.shape) \
                else self.weight_decay
            if wd is None:
                continue
            f = var.dtype.type
            var -= (var * f(wd)) * f(lr)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}


__all__ = ["Muon"]
