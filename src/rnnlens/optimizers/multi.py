"""MultiOptimizer and OptimizerMap: a different optimizer per variable, as Keras 3.15.1.

:class:`OptimizerMap` maps a variable's Keras path (``lstm/lstm_cell/kernel``) to an
optimizer: an exact key first, otherwise the one key that ``re.fullmatch``\\ es the path
(two matching keys are an error), otherwise ``default_optimizer``. :class:`MultiOptimizer`
takes such a map (or a callable ``variable -> optimizer``), builds each inner optimizer
on the variables given to it, and each ``apply`` hands every inner optimizer its own
gradients and variables::

    for opt in optimizers:                      # map values, then the default, then
        opt.apply(grads of opt, vars of opt)    # any the callable returned, in order
    iterations += 1

Variables: its own ``iteration`` and ``learning_rate`` (0.0, unused, as Keras's), then
each inner optimizer's; a ``.keras`` file holds them all in ``optimizer/vars`` and each
inner optimizer's again under ``optimizer/optimizers/<snake_case class name>/vars``
(``adam``, ``adam_1``, ...), as Keras's saver walks them.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from rnnlens.optimizers.base import Optimizer, OptimizerVariable
from rnnlens.optimizers.loss_scale import LossScaleOptimizer

_KERAS_MODULE = "keras.optimizers"


class OptimizerMap(MutableMapping):
    """Variable paths (exact, or regular expressions matched in full) -> optimizers.

    Args:
        default_optimizer: the optimizer of every variable no key matches.
        optimizer_map: ``{path or pattern: optimizer}`` (default: empty).
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict | None = None
                 ) -> None:
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("default_optimizer must be a Keras Optimizer instance. "
                            f"Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, opt in (optimizer_map or {}).items():
            self[key] = opt

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        """The optimizer of the variable path ``key``: the exact key, else the one
        pattern that ``re.fullmatch``\\ es it, else the default."""
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value "
                             f"{self._optimizer_map[key]}. Please make sure to not use "
                             "duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        try:
            re.compile(key)
        except re.error as err:
            raise ValueError(f"key {key!r} is not a valid regular expression ({err}).") \
                from None
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a Keras Optimizer instance. Received: "
                             f"{optimizer}")
        if isinstance(optimizer, LossScaleOptimizer):
            raise ValueError("optimizer cannot be LossScaleOptimizer.")
        if isinstance(optimizer, MultiOptimizer):
            raise ValueError("optimizer cannot be MultiOptimizer.")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, variable: Any) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict[str, Any]:
        from rnnlens.saving import serialize_keras_object

        return {"default_optimizer": serialize_keras_object(self._default_optimizer),
                "optimizer_map": serialize_keras_object(self._optimizer_map)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None
                    ) -> "OptimizerMap":
        from rnnlens import optimizers

        if not isinstance(config, dict) or not isinstance(config.get("optimizer_map", {}),
                                                          dict):
            raise ValueError(f"Could not interpret OptimizerMap config: {str(config)[:200]}")
        default = optimizers.deserialize(config.get("default_optimizer"), custom_objects)
        mapping = {k: optimizers.deserialize(v, custom_objects)
                   for k, v in (config.get("optimizer_map") or {}).items()}
        return cls(default, mapping)


class VariableRef:
    """What a callable ``optimizer_map`` receives for one variable: its Keras ``path``
    and ``name``, ``shape``, ``dtype`` and ``value`` (the array the optimizer updates)."""

    __slots__ = ("path", "name", "value")

    def __init__(self, path: str, value: np.ndarray) -> None:
        self.path, self.name, self.value = path, path.rsplit("/", 1)[-1], value

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> str:
        return str(self.value.dtype)

    def numpy(self) -> np.ndarray:
        return np.array(self.value, copy=True)

    def __repr__(self) -> str:
        return f"<VariableRef path={self.path} shape={self.value.shape}>"


class MultiOptimizer(Optimizer):
    """Delegates each variable to its own optimizer, exactly as Keras 3.

    ``learning_rate`` cannot be read or set (each inner optimizer has its own: use
    ``optimizers``); ``iterations`` counts the ``apply`` calls.

    Args:
        optimizer_map: an :class:`OptimizerMap`, or a callable taking a variable (a
            :class:`VariableRef`: ``path``, ``name``, ``shape``, ...) and returning an
            rnnlens optimizer.
        loss_scale_factor: set on every inner optimizer (``fit`` multiplies the loss by
            it, each inner optimizer divides its gradients by it).
        name: the optimizer's name.
    """

    def __init__(self, optimizer_map: OptimizerMap | Callable[[Any], Optimizer],
                 loss_scale_factor: Any = None, name: str | None = None) -> None:
        if not isinstance(optimizer_map, OptimizerMap) and not callable(optimizer_map):
            raise TypeError(f"Received optimizer_map={optimizer_map!r}, expected an "
                            "OptimizerMap or a callable variable -> optimizer.")
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        if isinstance(optimizer_map, OptimizerMap):
            for opt in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                self._adopt(opt)

    def _adopt(self, opt: Optimizer) -> int:
        """The index of ``opt`` among the inner optimizers (added on first sight, with
        this optimizer's ``loss_scale_factor``)."""
        for k, known in enumerate(self._inner_optimizers):
            if known is opt:
                return k
        opt.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(opt)
        return len(self._inner_optimizers) - 1

    @property
    def loss_scale_factor(self) -> Any:
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: Any) -> None:
        self._loss_scale_factor = value
        for opt in self.__dict__.get("_inner_optimizers", []):
            opt.loss_scale_factor = value

    @property
    def optimizers(self) -> list[Optimizer]:
        """The inner optimizers, in the order they apply."""
        return self._inner_optimizers

    @property
    def variables(self) -> list[OptimizerVariable]:
        """Its own ``iteration`` and ``learning_rate``, then every inner optimizer's."""
        out = list(self._variables)
        for opt in self._inner_optimizers:
            out += opt.variables
        return out

    @property
    def learning_rate(self) -> float:
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access "
                             "the learning rate on the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the "
                             "learning rate on the individual sub-optimizers instead.")

    # ------------------------------------------------------------------ building
    def _select(self, var: np.ndarray, path: str) -> Optimizer:
        chooser = self._optimizer_map
        opt = chooser[path] if isinstance(chooser, OptimizerMap) else \
            chooser(VariableRef(path, var))
        if not isinstance(opt, Optimizer):
            raise ValueError(f"Optimizer for variable {path} is not an Optimizer instance "
                             f"(got {type(opt).__name__}).")
        if isinstance(opt, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer cannot be used inside an MultiOptimizer.")
        if isinstance(opt, MultiOptimizer):
            raise ValueError("MultiOptimizer cannot be used inside an MultiOptimizer.")
        return opt

    def build(self, var_list: Sequence[np.ndarray], paths: Sequence[str] | None = None
              ) -> None:
        """Assigns every variable its optimizer and builds each inner optimizer on its
        variables (with their paths), then itself."""
        if self.built:
            return
        var_list = [self._check_variable(v, i) for i, v in enumerate(var_list)]
        if paths is None:
            paths = ["variable" if i == 0 else f"variable_{i}" for i in range(len(var_list))]
        paths = list(paths)
        if len(paths) != len(var_list):
            raise ValueError(f"Received {len(paths)} paths for {len(var_list)} variables.")
        owner = [self._adopt(self._select(v, p)) for v, p in zip(var_list, paths)]
        traced = getattr(self, "_traced_build", False)
        for k, opt in enumerate(self._inner_optimizers):
            mine = [i for i, o in enumerate(owner) if o == k]
            if mine:
                opt._traced_build = traced
                try:
                    opt.build([var_list[i] for i in mine], [paths[i] for i in mine])
                finally:
                    del opt._traced_build
        self._owner = owner
        super().build(var_list, paths)

    def build_in_scope(self, var_list: Sequence[np.ndarray],
                       paths: Sequence[str] | None = None) -> None:
        """Keras builds a MultiOptimizer outside any name scope (its ``apply`` calls
        ``build`` directly)."""
        self.build(var_list, paths)

    def _groups(self, items: Sequence[Any]) -> list[list[Any]]:
        groups: list[list[Any]] = [[] for _ in self._inner_optimizers]
        for k, item in zip(self._owner, items):
            groups[k].append(item)
        return groups

    # ------------------------------------------------------------------ applying
    def apply(self, grads: Sequence[Any], variables: Sequence[np.ndarray] | None = None
              ) -> None:
        """Each inner optimizer applies its own gradients; then ``iterations += 1``."""
        grads = list(grads)
        if not grads:
            return
        if variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already "
                    "be built on a list of variables. Call `optimizer.build("
                    "trainable_variables)` first.")
            variables = self._trainable_variables
        variables = list(variables)
        if not self.built:
            self.build(variables)
        if len(grads) != len(self._owner) or len(variables) != len(self._owner):
            raise ValueError("Gradients must match trainable variables one-to-one. Received "
                             f"{len(grads)} gradients and {len(self._owner)} variables.")
        self._check_known(variables)
        self._trainable_variables = variables
        for opt, sub_grads, sub_vars in zip(self._inner_optimizers, self._groups(grads),
                                            self._groups(variables)):
            if sub_grads:
                opt.apply(sub_grads, sub_vars)
        self._iteration.value += 1

    def scale_loss(self, loss: Any) -> Any:
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def finalize_variable_values(self, var_list: Sequence[np.ndarray]) -> None:
        """Each inner optimizer's ``finalize_variable_values`` on its variables."""
        if not self.built:
            return
        for opt, sub_vars in zip(self._inner_optimizers, self._groups(list(var_list))):
            if sub_vars:
                opt.finalize_variable_values(sub_vars)

    # ------------------------------------------------------------------ state / config
    def set_weights(self, weights: Sequence[Any]) -> None:
        """Its own variables, then each inner optimizer's, from one flat list."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not "
                             "yet been built. Please call `optimizer.build("
                             "trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        weights = [np.asarray(w) for w in weights]
        own = len(self._variables)
        self._assign_all(weights[:own], self._variables)
        start = own
        for opt in self._inner_optimizers:
            count = len(opt.variables)
            if count:
                opt.set_weights(weights[start:start + count])
                start += count

    def _saveables(self) -> list[tuple[str, Any]]:
        """``optimizer/vars`` (every variable) and one group per inner optimizer, named
        as Keras's saver names list items (snake_case class name, ``_1``, ...)."""
        from rnnlens.layers.base import snake_case

        out: list[tuple[str, Any]] = [("", self)]
        used: dict[str, int] = {}
        for opt in self._inner_optimizers:
            name = snake_case(type(opt).__name__)
            if name in used:
                used[name] += 1
                name = f"{name}_{used[name]}"
            else:
                used[name] = 0
            out.append((f"optimizers/{name}/", opt))
        return out

    def get_config(self) -> dict[str, Any]:
        from rnnlens.saving import serialize_keras_object

        chooser = self._optimizer_map
        if isinstance(chooser, OptimizerMap):
            mapping = {"module": _KERAS_MODULE, "class_name": "OptimizerMap",
                       "config": chooser.get_config(), "registered_name": None}
        else:
            mapping = serialize_keras_object(chooser)
        return {"optimizer_map": mapping, "loss_scale_factor": self.loss_scale_factor,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None
                    ) -> "MultiOptimizer":
        config = dict(config)
        entry = config.pop("optimizer_map", None)
        if isinstance(entry, dict) and entry.get("class_name") == "OptimizerMap":
            chooser: Any = OptimizerMap.from_config(entry.get("config"), custom_objects)
        elif isinstance(entry, dict):
            from rnnlens.saving import deserialize_keras_object

            chooser = deserialize_keras_object(entry, custom_objects=custom_objects)
        else:
            raise ValueError(f"Could not interpret MultiOptimizer config: optimizer_map="
                             f"{str(entry)[:200]!r}")
        return cls(chooser, **config)


__all__ = ["MultiOptimizer", "OptimizerMap", "VariableRef"]
