"""Optimizer state outside the update formulas, as Keras 3.15.1's base optimizer keeps
it: the exponential moving average of the variables (``use_ema``), loss scaling, and
``save_own_variables`` / ``load_own_variables`` / ``set_weights`` in Keras's layout."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from rnnlens.optimizers.common import OptimizerVariable


class StateMixin:
    """EMA, loss scaling and variable saving for :class:`rnnlens.optimizers.Optimizer`."""

    # ------------------------------------------------------------------ EMA
    def _update_ema(self) -> None:
        it = self.iterations
        for var, avg in zip(self._trainable_variables, self._ema or []):
            f = var.dtype.type
            momentum = f(it != 0) * f(self.ema_momentum)
            avg[...] = momentum * avg + (f(1) - momentum) * var
        freq = self.ema_overwrite_frequency
        if freq and (it + 1) % freq == 0:
            for var, avg in zip(self._trainable_variables, self._ema or []):
                var[...] = avg

    def finalize_variable_values(self, var_list: Sequence[np.ndarray]) -> None:
        """With ``use_ema``, overwrites the variables with their moving averages."""
        if not self.use_ema or self._ema is None:
            return
        var_list = list(var_list)
        if len(var_list) != len(self._ema):
            raise ValueError(
                f"The length of model variables ({len(var_list)}) to override does not "
                f"match the length of model variables stored in the optimizer "
                f"({len(self._ema)}). Please check if the optimizer was called on your "
                "model.")
        for var, avg in zip(var_list, self._ema):
            var[...] = avg

    def scale_loss(self, loss: Any) -> Any:
        """``loss * loss_scale_factor`` (the loss ``fit`` differentiates)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ------------------------------------------------------------------ state
    def save_own_variables(self, store: dict) -> None:
        """Writes ``store["0"]``, ``store["1"]``, ... = ``variables`` (as Keras)."""
        for i, var in enumerate(self.variables):
            store[str(i)] = np.array(var.value, copy=True)

    def load_own_variables(self, store: Any) -> None:
        """Reads what ``save_own_variables`` wrote; a different count is skipped with
        Keras's warning (an unbuilt optimizer has only its first variables)."""
        variables = self.variables
        if len(list(store.keys())) != len(variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has "
                   f"{len(variables)} variables whereas the saved optimizer has "
                   f"{len(list(store.keys()))} variables. ")
            if not self.built:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        values = [np.asarray(store[str(i)]) for i in range(len(variables))]
        self._assign_all(values, variables)

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets every variable (Keras's ``set_weights``; the optimizer must be built)."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not "
                             "yet been built. Please call `optimizer.build("
                             "trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        self._assign_all([np.asarray(w) for w in weights], self._variables)

    @staticmethod
    def _assign_all(values: list[np.ndarray], variables: list[OptimizerVariable]) -> None:
        """Checks every shape, then assigns (Keras zips: extra values are ignored)."""
        for var, value in zip(variables, values):
            if var.value.shape != value.shape:
                raise ValueError(f"Optimizer variable {var.path} has shape "
                                 f"{var.value.shape} not compatible with provided weight "
                                 f"shape {value.shape}.")
        for var, value in zip(variables, values):
            var.value[...] = value.astype(var.value.dtype)


__all__ = ["StateMixin"]
