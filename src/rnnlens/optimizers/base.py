"""The optimizer base class: Keras 3.15.1's ``BaseOptimizer`` as its TensorFlow backend
applies it, in NumPy.

One ``apply(grads, variables)`` (or ``apply_gradients(pairs)``), in Keras's order:

1. ``None`` gradients are dropped (with Keras's warning); none at all is an error.
2. ``loss_scale_factor``: ``g = g / loss_scale_factor``.
3. ``gradient_accumulation_steps = n``: unless ``(iterations_raw + 1) % n == 0`` the
   gradients are only added to the accumulators; on that step ``g = (g + acc) / n``,
   the update below runs and the accumulators are zeroed. ``iterations`` then reads
   ``iterations_raw // n`` (what the update formulas and EMA see), while schedules are
   evaluated at the raw count.
4. Clipping (``clipnorm`` / ``global_clipnorm`` / ``clipvalue``, :mod:`.clipping`).
5. Decoupled weight decay: ``var -= var * weight_decay * lr`` (variables excluded with
   ``exclude_from_weight_decay`` keep theirs).
6. The optimizer's own ``update_step`` for each variable, with ``lr`` evaluated once.
7. ``use_ema``: ``average = m * average + (1 - m) * var`` with ``m = ema_momentum``
   (0 on the first step); every ``ema_overwrite_frequency`` steps ``var = average``;
   ``finalize_variable_values`` copies the averages into the variables (``fit`` does so
   after its last epoch, as Keras's).
8. ``iterations_raw += 1``.

Variables are ``np.ndarray``s updated **in place**. Optimizer state lives in
:class:`OptimizerVariable` objects, listed by ``optimizer.variables`` in Keras's order
and with Keras's names and paths: ``iteration`` (int64), ``learning_rate`` (float32, only
for a float rate), EMA ``average``\\ s, ``gradient_accumulator``\\ s, then the optimizer's
slots interleaved variable by variable (``adam/dense_kernel_momentum``,
``adam/dense_kernel_velocity``, ...). ``save_own_variables`` / ``load_own_variables`` write
and read them as ``"0"``, ``"1"``, ... as Keras does (``optimizer/vars/<k>`` in a
``.weights.h5``). Slots are kept by position: every call passes the variables in the
order the optimizer was built with (same shapes; a mismatch is a ``ValueError``).
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from rnnlens.optimizers import clipping, schedules
from rnnlens.optimizers.common import (OptimizerVariable, check_float, check_int,
                                       check_schedule, is_schedule)
from rnnlens.optimizers.state import StateMixin

_VAR_DTYPES = (np.dtype("float32"), np.dtype("float64"))


class Optimizer(StateMixin):
    """Base class with Keras's learning rate, clipping, weight decay, EMA, gradient
    accumulation, loss scaling, iteration counter and variables.

    Args:
        learning_rate: a float, a ``rnnlens.optimizers.schedules`` schedule (called with
            the raw iteration count) or a callable of no arguments.
        weight_decay: decoupled weight decay ``var -= var * weight_decay * lr``.
        clipnorm, clipvalue, global_clipnorm: gradient clipping (at most one).
        use_ema, ema_momentum, ema_overwrite_frequency: exponential moving average of
            the variables (see the module docstring).
        loss_scale_factor: ``fit`` multiplies the loss (so the gradients) by it, the
            optimizer divides the gradients by it.
        gradient_accumulation_steps: an int >= 2: update every that many steps with the
            mean of the accumulated gradients.
        name: the optimizer's name (default: the snake_case class name, made unique).
    """

    def __init__(self, learning_rate: Any, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 loss_scale_factor: Any = None, gradient_accumulation_steps: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self._check_base_args(weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
                              ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                              gradient_accumulation_steps, name)
        from rnnlens import naming
        from rnnlens.layers.base import snake_case

        self.name = name or naming.unique(snake_case(type(self).__name__))
        self.weight_decay, self.clipnorm = weight_decay, clipnorm
        self.global_clipnorm, self.clipvalue = global_clipnorm, clipvalue
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._variables: list[OptimizerVariable] = []
        self._iteration = self._new_variable("iteration", np.zeros((), np.int64))
        self._lr_var: OptimizerVariable | None = None
        self._learning_rate: Any = None
        self._init_learning_rate(learning_rate)
        self._lr_now: Any = None
        self._reset_build()

    @staticmethod
    def _check_base_args(weight_decay: Any, clipnorm: Any, clipvalue: Any,
                         global_clipnorm: Any, use_ema: Any, ema_momentum: Any,
                         ema_overwrite_frequency: Any, loss_scale_factor: Any,
                         gradient_accumulation_steps: Any, name: Any) -> None:
        for arg, val in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                         ("global_clipnorm", global_clipnorm)):
            check_float(arg, val, allow_none=True, low=0.0)
        check_float("weight_decay", weight_decay, allow_none=True)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps:
            if isinstance(gradient_accumulation_steps, bool) or not isinstance(
                    gradient_accumulation_steps, (int, np.integer)) or \
                    not gradient_accumulation_steps >= 2:
                raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. "
                                 "Received: gradient_accumulation_steps="
                                 f"{gradient_accumulation_steps}")
        check_float("ema_momentum", ema_momentum)
        if use_ema:
            check_float("ema_momentum", ema_momentum, low=0.0, high=1.0)
            if ema_overwrite_frequency and (
                    isinstance(ema_overwrite_frequency, bool) or
                    not isinstance(ema_overwrite_frequency, (int, np.integer)) or
                    ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        if loss_scale_factor is not None:
            check_float("loss_scale_factor", loss_scale_factor)
            if not loss_scale_factor > 0:
                raise ValueError(f"Received loss_scale_factor={loss_scale_factor!r}, "
                                 "expected a float > 0 (or None).")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Received name={name!r}, expected a str.")

    def _reset_build(self) -> None:
        self._shapes: list[tuple[tuple[int, ...], np.dtype]] | None = None
        self._slots: dict[str, list[Any]] = {}
        self._trainable_variables: list[np.ndarray] = []
        self._var_names: list[str] = []
        self._var_paths: list[str] = []
        self._ema: list[np.ndarray] | None = None
        self._accumulators: list[np.ndarray] | None = None

    # ------------------------------------------------------------------ variables
    def _new_variable(self, name: str, value: np.ndarray) -> OptimizerVariable:
        """Keras's ``add_variable``: path ``<name scopes>/<optimizer name>/<name>``."""
        scope = getattr(self, "_scope", "")
        prefix = scope if scope.endswith(f"{self.name}/") else f"{scope}{self.name}/"
        var = OptimizerVariable(name, prefix + name, value)
        self._variables.append(var)
        return var

    def _plain_variable(self, name: str, value: np.ndarray) -> np.ndarray:
        """A variable Keras creates with ``backend.Variable`` rather than
        ``add_variable`` (Nadam's product, Adafactor's placeholders): its path is the
        current name scope (the optimizer's own inside ``apply``, none in ``build``) and
        its name; listed in ``variables`` unless a ``LossScaleOptimizer`` builds this
        optimizer, whose build turns Keras's automatic tracking off."""
        var = OptimizerVariable(name, getattr(self, "_scope", "") + name, value)
        if not getattr(self, "_untracked_build", False):
            self._variables.append(var)
        return value

    def _add_slots(self, names: str | Sequence[str], fills: Any = 0.0) -> Any:
        """Keras's ``add_optimizer_variables``: one variable per name for each trainable
        variable, interleaved variable by variable; registered in ``slots``."""
        single = isinstance(names, str)
        names = [names] if single else list(names)
        fills = list(fills) if isinstance(fills, (list, tuple)) else [fills] * len(names)
        out: tuple[list, ...] = tuple([] for _ in names)
        for i, (shape, dtype) in enumerate(self._shapes or []):
            for k, (name, fill) in enumerate(zip(names, fills)):
                out[k].append(self._slot_variable(i, name, np.full(shape, fill, dtype)))
        for name, arrays in zip(names, out):
            self._slots[name] = arrays
        return out[0] if single else out

    def _slot_variable(self, index: int, name: str, value: np.ndarray) -> np.ndarray:
        """Keras's ``add_variable_from_reference``: named after the variable's path."""
        ref = self._var_paths[index].replace("/", "_")
        return self._new_variable(f"{ref}_{name}", value).value

    @property
    def variables(self) -> list[OptimizerVariable]:
        """Every optimizer variable, in Keras's ``optimizer.variables`` order."""
        return list(self._variables)

    @property
    def slots(self) -> dict[str, list[np.ndarray]]:
        """Slot name -> one array per variable (None where Keras makes none)."""
        return self._slots

    @property
    def built(self) -> bool:
        return self._shapes is not None

    @property
    def iterations(self) -> int:
        """Update steps taken (Keras's ``iterations``; with gradient accumulation, the
        raw count divided by ``gradient_accumulation_steps``)."""
        raw = int(self._iteration.value)
        steps = self.gradient_accumulation_steps
        return raw // steps if steps else raw

    @iterations.setter
    def iterations(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise TypeError(f"Received iterations={value!r}, expected an int >= 0.")
        self._iteration.value[...] = int(value)

    @property
    def _raw_iterations(self) -> int:
        return int(self._iteration.value)

    # ------------------------------------------------------------------ learning rate
    def _init_learning_rate(self, learning_rate: Any) -> None:
        if is_schedule(learning_rate):
            self._learning_rate = check_schedule(learning_rate)
            return
        if isinstance(learning_rate, bool) or not isinstance(
                learning_rate, (float, np.floating)) or not math.isfinite(learning_rate):
            # Keras: "Argument `learning_rate` should be float ..." (an int is refused too).
            raise ValueError(
                f"Received learning_rate={learning_rate!r} of type "
                f"{type(learning_rate).__name__}, expected a finite float, a "
                "LearningRateSchedule or a callable (Keras refuses ints here as well: "
                "write 1.0, not 1).")
        self._lr_var = self._new_variable("learning_rate", np.array(learning_rate, np.float32))

    @property
    def learning_rate(self) -> float:
        """The learning rate for the next update, as Keras reads it: the float32 variable,
        a schedule evaluated at the raw iteration count, or the callable's value."""
        return float(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if is_schedule(value):
            self._learning_rate = check_schedule(value)
            if self._lr_var is not None:                     # Keras untracks it
                self._variables.remove(self._lr_var)
                self._lr_var = None
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument.")
        if self._lr_var is None:
            raise TypeError("This optimizer's learning rate is a callable; set another "
                            "callable or schedule, or create the optimizer with a float.")
        if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            raise ValueError(f"Received learning_rate={value!r}, expected a finite float.")
        self._lr_var.value[...] = np.float32(value)

    def _current_learning_rate(self) -> np.float32:
        """Keras's ``_get_current_learning_rate``."""
        if self._lr_var is not None:
            return self._lr_var.value[()]
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return np.float32(self._learning_rate(self._raw_iterations))
        return np.float32(self._learning_rate())

    def _lr(self, var: np.ndarray) -> np.floating:
        """The step's learning rate (evaluated once per update) in ``var``'s dtype."""
        return var.dtype.type(self._lr_now)

    # ------------------------------------------------------------------ building
    def build(self, var_list: Sequence[np.ndarray], paths: Sequence[str] | None = None
              ) -> None:
        """Creates the optimizer's variables for ``var_list`` (the first ``apply`` does).

        Args:
            var_list: the arrays the optimizer will update, in order.
            paths: their Keras paths (``lstm/lstm_cell/kernel``), which name the slots
                (``adam/lstm_lstm_cell_kernel_momentum``); default ``variable``,
                ``variable_1``, ... as unnamed ``keras.Variable``s.
        """
        if self.built:
            return
        var_list = [self._check_variable(v, i) for i, v in enumerate(var_list)]
        if paths is None:
            paths = ["variable" if i == 0 else f"variable_{i}" for i in range(len(var_list))]
        if len(paths) != len(var_list) or not all(isinstance(p, str) for p in paths):
            raise ValueError(f"Received {len(paths)} paths for {len(var_list)} variables, "
                             "expected one path (a str) per variable.")
        self._shapes = [(v.shape, v.dtype) for v in var_list]
        self._var_paths = list(paths)
        self._var_names = [p.rsplit("/", 1)[-1] for p in paths]
        self._trainable_variables = list(var_list)
        if self.use_ema:
            self._ema = self._add_slots("average")
        if self.gradient_accumulation_steps:
            self._accumulators = self._add_slots("gradient_accumulator")
        self._build(var_list)

    def build_in_scope(self, var_list: Sequence[np.ndarray],
                       paths: Sequence[str] | None = None) -> None:
        """``build`` as Keras's ``apply`` runs it, inside the optimizer's name scope
        (which names the variables Keras creates without ``add_variable``)."""
        outer = getattr(self, "_scope", "")
        self._scope = outer if outer.endswith(f"{self.name}/") else f"{outer}{self.name}/"
        try:
            self.build(var_list, paths)
        finally:
            self._scope = outer

    def _build(self, var_list: list[np.ndarray]) -> None:
        """The optimizer's own slots (subclasses)."""

    @staticmethod
    def _check_variable(v: Any, i: int) -> np.ndarray:
        if not isinstance(v, np.ndarray):
            raise TypeError(f"Received variable {i} of type {type(v).__name__}, expected an "
                            "np.ndarray (the optimizer updates it in place).")
        if v.dtype not in _VAR_DTYPES:
            raise TypeError(f"Received variable {i} of dtype {v.dtype}, expected float32 "
                            "(or float64).")
        if not v.flags.writeable:
            raise ValueError(f"Received variable {i} that is read-only, expected a "
                             "writeable array.")
        return v

    def _check_known(self, variables: list[np.ndarray]) -> None:
        assert self._shapes is not None
        if len(variables) != len(self._shapes):
            raise ValueError(
                f"Received {len(variables)} variables, expected the {len(self._shapes)} this "
                "optimizer was built with (slots are kept by position: pass the same list "
                "every step).")
        for i, v in enumerate(variables):
            self._check_variable(v, i)
            if (v.shape, v.dtype) != self._shapes[i]:
                raise ValueError(
                    f"Received variable {i} with shape {v.shape} and dtype {v.dtype}, expected "
                    f"shape {self._shapes[i][0]} and dtype {self._shapes[i][1]} as when the "
                    "optimizer was built (slots are kept by position).")

    # ------------------------------------------------------------------ applying
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, np.ndarray]]) -> int:
        """Apply ``[(grad, var), ...]``; returns the new (raw) iteration count."""
        pairs = list(grads_and_vars)
        for p in pairs:
            if not isinstance(p, (tuple, list)) or len(p) != 2:
                raise TypeError(f"Received an item {p!r} in grads_and_vars, expected "
                                "(gradient, variable) pairs.")
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._raw_iterations

    def apply(self, grads: Sequence[Any], variables: Sequence[np.ndarray] | None = None
              ) -> None:
        """Updates ``variables`` in place from ``grads`` (one per variable, same order);
        ``variables`` may be left out once the optimizer is built."""
        grads = list(grads)
        if len(grads) == 0:
            return                  # Keras: an empty gradient list is a no-op
        if variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already "
                    "be built on a list of variables. Call `optimizer.build("
                    "trainable_variables)` first.")
            variables = self._trainable_variables
        variables = list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"Received {len(grads)} gradients and {len(variables)} "
                             "variables, expected one gradient per variable.")
        if not self.built:
            self.build_in_scope(variables)
        self._check_known(variables)
        self._trainable_variables = variables
        idx, gs = self._filter_gradients(grads, variables)
        if self.loss_scale_factor is not None:
            gs = [clipping.divided(g, g.dtype.type(self.loss_scale_factor)) for g in gs]
        self._apply_filtered(idx, gs, variables)
        self._iteration.value += 1

    def _filter_gradients(self, grads: list, variables: list) -> tuple[list[int], list]:
        """Drops ``None`` gradients (Keras warns) and copies the others into the
        variables' dtype (the copies belong to the optimizer)."""
        from rnnlens.weights import RowGradient

        idx, gs = [], []
        for i, (g, v) in enumerate(zip(grads, variables)):
            if g is None:
                continue
            if hasattr(g, "numpy") and not isinstance(g, np.ndarray):
                g = g.numpy()
            if not isinstance(g, RowGradient):
                g = np.asarray(g)
            if g.dtype.kind not in "biuf":
                raise TypeError(f"Received gradient {i} of dtype {g.dtype}, expected numbers.")
            if g.shape != v.shape:
                raise ValueError(f"Received gradient {i} of shape {g.shape} for a variable "
                                 f"of shape {v.shape}, expected equal shapes.")
            idx.append(i)
            gs.append(clipping.as_grad(g, v.dtype))
        if not gs:
            raise ValueError("No gradients provided for any variable.")
        if len(gs) < len(grads):
            missing = [i for i in range(len(grads)) if i not in idx]
            warnings.warn(f"Gradients do not exist for variables at positions {missing}; "
                          "they are not updated this step.", stacklevel=3)
        return idx, gs

    def _apply_filtered(self, idx: list[int], gs: list, variables: list) -> None:
        """Keras's ``_backend_apply_gradients``: accumulation, the update, EMA."""
        steps = self.gradient_accumulation_steps
        if steps:
            accs = [self._accumulators[i] for i in idx]
            if (self._raw_iterations + 1) % steps == 0:
                f = variables[idx[0]].dtype.type
                gs = [(clipping.plain(g) + a) / f(steps) for g, a in zip(gs, accs)]
                self._update(idx, gs, variables)
                for a in self._accumulators:
                    a[...] = 0
            else:
                for g, a in zip(gs, accs):
                    np.add(a, clipping.plain(g), out=a)
        else:
            self._update(idx, gs, variables)
        if self.use_ema:
            self._update_ema()

    def _update(self, idx: list[int], gs: list, variables: list) -> None:
        gs = clipping.clip(gs, self.clipnorm, self.global_clipnorm, self.clipvalue)
        self._apply_weight_decay(idx, variables)
        self._lr_now = self._current_learning_rate()
        self._before_updates(variables)
        for i, g in zip(idx, gs):
            if not isinstance(g, np.ndarray):              # a 0-d gradient after clipping
                g = np.array(g, dtype=variables[i].dtype)
            self._update_step(g, variables[i], i)

    def _before_updates(self, variables: list) -> None:
        """Runs once per update before the per-variable steps (Nadam's ``u_product``)."""

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        raise NotImplementedError

    def _work(self, index: int, var: np.ndarray) -> np.ndarray:
        """A scratch array shaped as variable ``index``, kept between steps (so the
        in-place updates allocate nothing); not a variable, never saved."""
        work = self.__dict__.setdefault("_scratch", {})
        buf = work.get(index)
        if buf is None or buf.shape != var.shape or buf.dtype != var.dtype:
            buf = work[index] = np.empty_like(var)
        return buf

    # ------------------------------------------------------------------ weight decay
    def exclude_from_weight_decay(self, var_list: Any = None, var_names: Any = None) -> None:
        """Variables (arrays) in ``var_list``, or whose Keras name contains one of the
        ``var_names`` (a regular expression search), get no weight decay."""
        self._wd_exclude = {id(v) for v in var_list} if var_list else set()
        self._wd_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, index: int, variable: np.ndarray) -> bool:
        if id(variable) in getattr(self, "_wd_exclude", ()):
            return False
        pattern = getattr(self, "_wd_pattern", None)
        return pattern is None or pattern.search(self._var_names[index]) is None

    def _apply_weight_decay(self, idx: list[int], variables: list) -> None:
        """``var -= var * wd * lr`` for the variables with a gradient (TF's order)."""
        if self.weight_decay is None:
            return
        lr = self._current_learning_rate()
        for i in idx:
            v = variables[i]
            if self._use_weight_decay(i, v):
                f = v.dtype.type
                v -= (v * f(self.weight_decay)) * f(lr)

    # ------------------------------------------------------------------ config
    def _learning_rate_config(self) -> Any:
        if self._lr_var is not None:
            return float(self._lr_var.value)
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return schedules.serialize(self._learning_rate)
        from rnnlens.saving import serialize_keras_object

        return serialize_keras_object(self._learning_rate)

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the base arguments, then the optimizer's own."""
        return {"name": self.name, "learning_rate": self._learning_rate_config(),
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> "Optimizer":
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            if "module" in lr:
                from rnnlens.saving import deserialize_keras_object

                config["learning_rate"] = deserialize_keras_object(
                    lr, custom_objects=custom_objects)
            else:
                config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)

    def __repr__(self) -> str:
        lr = self._lr_var.value if self._lr_var is not None else self._learning_rate
        return f"<{type(self).__name__} name={self.name} learning_rate={lr!r}>"


__all__ = ["Optimizer", "OptimizerVariable", "check_float", "check_int"]
