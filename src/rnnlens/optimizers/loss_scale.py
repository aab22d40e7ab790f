"""LossScaleOptimizer (dynamic loss scaling) as Keras 3.15.1 applies it."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens.optimizers.base import Optimizer, OptimizerVariable, check_float, check_int
from rnnlens.optimizers.clipping import divided, plain

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                  "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                  "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


def _finite(g: Any, k: int) -> bool:
    arr = plain(np.asarray(g))
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Received gradient {k} of dtype {arr.dtype}, expected numbers.")
    return bool(np.all(np.isfinite(arr)))


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around another optimizer, exactly as Keras 3.

    ``fit`` multiplies the loss (so every gradient) by ``dynamic_scale``. Each ``apply``:
    when every gradient is finite, the gradients are divided by the scale and handed to
    ``inner_optimizer``, and after ``dynamic_growth_steps`` such steps in a row the scale
    doubles; otherwise nothing is updated, the scale halves and the count restarts.

    Variables: its own ``iteration`` and ``learning_rate`` (unused, as Keras's),
    ``step_counter`` (int64) and ``dynamic_scale`` (float32), then the inner optimizer's.
    ``learning_rate`` and ``iterations`` are the inner optimizer's.

    Args:
        inner_optimizer: the rnnlens optimizer that applies the updates.
        initial_scale: the starting scale (default ``2**15``).
        dynamic_growth_steps: finite steps before the scale doubles.
        name: the optimizer's name.
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None,
                 **kwargs: Any) -> None:
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, "
                             "simply set `loss_scale_factor` directly on the "
                             "`inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set "
                                 f"`{arg}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs.keys())}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"Received inner_optimizer={inner_optimizer!r}, expected an "
                            "rnnlens optimizer (e.g. rnnlens.optimizers.Adam()).")
        super().__init__(learning_rate=0.0, name=name)
        check_float("initial_scale", initial_scale)
        if not initial_scale > 0:
            raise ValueError(f"Received initial_scale={initial_scale!r}, expected > 0.")
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = check_int("dynamic_growth_steps", dynamic_growth_steps, 1,
                                              allow_none=False)
        self.inner_optimizer.loss_scale_factor = None

    def build(self, var_list: Sequence[np.ndarray], paths: Sequence[str] | None = None
              ) -> None:
        if self.built:
            return
        self.step_counter = self._new_variable("step_counter", np.zeros((), np.int64))
        self.dynamic_scale = self._new_variable(
            "dynamic_scale", np.array(self.initial_scale, np.float32))
        inner = self.inner_optimizer
        inner._untracked_build = True       # Keras: no automatic tracking in this build
        inner._traced_build = getattr(self, "_traced_build", False)
        inner._scope = getattr(self, "_scope", "")       # nested in this name scope
        try:
            inner.build(var_list, paths)
        finally:
            del inner._untracked_build, inner._scope, inner._traced_build
        super().build(var_list, paths)

    @property
    def variables(self) -> list[OptimizerVariable]:
        return list(self._variables) + self.inner_optimizer.variables

    def _saveables(self) -> list[tuple[str, Any]]:
        """What Keras writes: ``optimizer/vars`` (all variables) and
        ``optimizer/inner_optimizer/vars``."""
        return [("", self), ("inner_optimizer/", self.inner_optimizer)]

    @property
    def iterations(self) -> int:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.inner_optimizer.iterations = value

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if hasattr(self, "inner_optimizer"):
            self.inner_optimizer.learning_rate = value
        else:                                  # the base constructor's own 0.0
            Optimizer.learning_rate.fset(self, value)

    def apply(self, grads: Sequence[Any], variables: Sequence[np.ndarray] | None = None
              ) -> None:
        grads = list(grads)
        if variables is not None:
            variables = list(variables)
            if not self.built:
                self.build_in_scope(variables)
        elif not self.built:
            raise ValueError("When passing `grads` without `variables`, the optimizer must "
                             "already be built on a list of variables.")
        finite = all(_finite(g, k) for k, g in enumerate(grads) if g is not None)
        counter, scale = self.step_counter.value, self.dynamic_scale.value
        if finite:
            f = np.float32
            unscaled = [g if g is None else divided(g if isinstance(g, np.ndarray)
                                                    else np.asarray(g), scale)
                        for g in grads]
            self.inner_optimizer.apply(unscaled, variables)
            if counter == self.dynamic_growth_steps - 1:
                counter[...] = 0
                scale[...] = scale * f(2.0)
            else:
                counter += 1
        else:
            counter[...] = 0
            scale[...] = scale * np.float32(0.5)

    def scale_loss(self, loss: Any) -> Any:
        scale = float(self.dynamic_scale.value) if self.built else self.initial_scale
        return loss * scale

    def finalize_variable_values(self, var_list: Sequence[np.ndarray]) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self) -> dict[str, Any]:
        from rnnlens.saving import serialize_keras_object

        return {"name": self.name,
                "inner_optimizer": serialize_keras_object(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None
                    ) -> "LossScaleOptimizer":
        from rnnlens import optimizers

        config = dict(config)
        inner = optimizers.deserialize(config.pop("inner_optimizer"),
                                       custom_objects=custom_objects)
        return cls(inner, **config)


__all__ = ["LossScaleOptimizer"]
