"""Learning-rate schedules as Keras 3.15.1 computes them (TensorFlow backend), in float32.

A schedule is called with the optimizer's step (``optimizer.iterations``, the number of
updates already applied) and returns the learning rate for the next update as a
``np.float32``. Every operation is done in float32, in Keras's order, so the values
match Keras's to the last bit or so (``np.cos`` / ``np.power`` may differ from
TensorFlow's by one ulp). With ``s = float32(step)``:

* :class:`ExponentialDecay`: ``lr0 * rate ** p`` with ``p = s / decay_steps``
  (``floor(p)`` when ``staircase``).
* :class:`PiecewiseConstantDecay`: ``values[0]`` while ``step <= boundaries[0]``,
  ``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the
  last boundary (each piece added as ``indicator * value``, as Keras does).
* :class:`PolynomialDecay`: ``(lr0 - end) * (1 - p) ** power + end`` with
  ``p = min(s, decay_steps) / decay_steps``; with ``cycle`` the horizon grows to
  ``decay_steps * ceil(s / decay_steps)`` (1 at step 0) instead of stopping.
* :class:`InverseTimeDecay`: ``lr0 / (1 + rate * p)`` (``p`` as for exponential decay).
* :class:`CosineDecay`: ``lr * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) +
  alpha)`` with ``s`` capped at ``decay_steps``; with ``warmup_target`` the rate first
  rises linearly from ``lr0`` to ``warmup_target`` over ``warmup_steps``, then decays
  from ``warmup_target``.
* :class:`CosineDecayRestarts` (SGDR): cosine decay restarted after ``first_decay_steps``,
  each period ``t_mul`` times longer and ``m_mul`` times lower.

``get_config`` / ``from_config`` round-trip; :func:`serialize` gives Keras's dict
(``{"module": "keras.optimizers.schedules", "class_name": ..., "config": ...,
"registered_name": None}``) and :func:`deserialize` reads it back.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_F = np.float32


def _step(step: Any) -> np.float32:
    """``ops.cast(step, float32)``."""
    value = np.asarray(step)
    if value.dtype.kind not in "biuf" or value.ndim != 0:
        raise TypeError(f"Received step={step!r}, expected a number (the optimizer's "
                        "iterations).")
    return _F(value)


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Received {name}={value!r}, expected a number > 0.")
    if not value > 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


def _number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Received {name}={value!r}, expected a number.")


class LearningRateSchedule:
    """Base class: subclasses define ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step: Any) -> np.float32:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps per factor of ``decay_rate`` (> 0).
        decay_rate: the factor.
        staircase: decay at whole multiples of ``decay_steps`` only.
        name: a name (kept for the config).
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        _number("initial_learning_rate", initial_learning_rate)
        _number("decay_rate", decay_rate)
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        p = _step(step) / _F(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _F(_F(self.initial_learning_rate) * np.power(_F(self.decay_rate), p))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate per interval of steps.

    Args:
        boundaries: increasing step boundaries (``n - 1`` of them).
        values: the ``n`` rates: ``values[0]`` up to and including ``boundaries[0]``, ...
        name: a name (kept for the config).
    """

    def __init__(self, boundaries: Any, values: Any, name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        for k, b in enumerate(boundaries):
            _number(f"boundaries[{k}]", b)
        for k, v in enumerate(values):
            _number(f"values[{k}]", v)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        s = np.asarray(step)
        if s.ndim != 0 or s.dtype.kind not in "biuf":
            raise TypeError(f"Received step={step!r}, expected a number.")
        # Keras casts the boundaries to the step's dtype: an integer step truncates them.
        if s.dtype.kind in "biu":
            s, bounds = int(s), [int(b) for b in self.boundaries]
        else:
            s, bounds = _F(s), [_F(b) for b in self.boundaries]
        values = [_F(v) for v in self.values]
        result = _F(0)
        result += _F(s <= bounds[0]) * values[0]
        result += _F(s > bounds[-1]) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            result += _F(low < s <= high) * value
        return _F(result)

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(lr0 - end) * (1 - step / decay_steps) ** power + end``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the steps to reach ``end_learning_rate`` (> 0).
        end_learning_rate: the final rate.
        power: the polynomial's power.
        cycle: restart beyond ``decay_steps`` (with a longer horizon) instead of staying at
            ``end_learning_rate``.
        name: a name (kept for the config).
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay") -> None:
        _number("initial_learning_rate", initial_learning_rate)
        _number("end_learning_rate", end_learning_rate)
        _number("power", power)
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        lr0, end = _F(self.initial_learning_rate), _F(self.end_learning_rate)
        s, horizon = _step(step), _F(self.decay_steps)
        if self.cycle:
            multiplier = _F(1.0) if s == 0 else np.ceil(s / _F(self.decay_steps))
            horizon = horizon * multiplier
        else:
            s = np.minimum(s, horizon)
        p = s / horizon
        return _F((lr0 - end) * np.power(_F(1) - p, _F(self.power)) + end)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the step unit (> 0).
        decay_rate: the decay per unit.
        staircase: decay at whole multiples of ``decay_steps`` only.
        name: a name (kept for the config).
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        _number("initial_learning_rate", initial_learning_rate)
        _number("decay_rate", decay_rate)
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        p = _step(step) / _F(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _F(_F(self.initial_learning_rate) / (_F(1) + _F(self.decay_rate) * p))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


def _cosine(step: np.float32, decay_steps: np.float32, lr: np.float32,
            alpha: float) -> np.float32:
    """Keras's ``CosineDecay._decay_function`` (``alpha`` a Python float, as there)."""
    fraction = step / decay_steps
    decayed = _F(0.5) * (_F(1.0) + np.cos(_F(math.pi) * fraction))
    decayed = _F(1 - alpha) * decayed + _F(alpha)
    return _F(lr * decayed)


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or from ``warmup_target`` after a
    linear warmup) to ``alpha`` times that over ``decay_steps``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the steps of the decay (> 0).
        alpha: the final fraction of the rate.
        name: a name (kept for the config).
        warmup_target: the rate reached after the warmup (None: no warmup).
        warmup_steps: the warmup's length.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: float = 0) -> None:
        _number("initial_learning_rate", initial_learning_rate)
        _number("alpha", alpha)
        _number("warmup_steps", warmup_steps)
        if warmup_target is not None:
            _number("warmup_target", warmup_target)
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def __call__(self, step: Any) -> np.float32:
        lr0, horizon, s = _F(self.initial_learning_rate), _F(self.decay_steps), _step(step)
        if self.warmup_target is None:
            return _cosine(np.minimum(s, horizon), horizon, lr0, self.alpha)
        target, warm = _F(self.warmup_target), _F(self.warmup_steps)
        s = np.minimum(s, horizon + warm)
        if s < warm:
            return _F((target - lr0) * (s / warm) + lr0)
        return _cosine(_F(s - warm), horizon, target, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter).

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: the first period (> 0).
        t_mul: each period is ``t_mul`` times the previous one.
        m_mul: each restart starts ``m_mul`` times lower.
        alpha: the final fraction of each period's rate.
        name: a name (kept for the config).
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: float,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str = "SGDRDecay") -> None:
        for arg, value in (("initial_learning_rate", initial_learning_rate), ("t_mul", t_mul),
                           ("m_mul", m_mul), ("alpha", alpha)):
            _number(arg, value)
        _positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        lr0, alpha = _F(self.initial_learning_rate), _F(self.alpha)
        t_mul, m_mul = _F(self._t_mul), _F(self._m_mul)
        fraction = _step(step) / _F(self.first_decay_steps)
        with np.errstate(divide="ignore", invalid="ignore"):
            if t_mul == _F(1.0):
                i_restart = np.floor(fraction)
                fraction = fraction - i_restart
            else:
                i_restart = np.floor(np.log(_F(1.0) - fraction * (_F(1.0) - t_mul))
                                     / np.log(t_mul))
                sum_r = (_F(1.0) - np.power(t_mul, i_restart)) / (_F(1.0) - t_mul)
                fraction = (fraction - sum_r) / np.power(t_mul, i_restart)
            m_fac = np.power(m_mul, i_restart)
            cosine = _F(0.5) * m_fac * (_F(1.0) + np.cos(_F(math.pi) * fraction))
            decayed = (_F(1) - alpha) * cosine + alpha
        return _F(lr0 * decayed)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras's serialized form: module, class name, config."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"Received {schedule!r}, expected a LearningRateSchedule.")
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None
                ) -> LearningRateSchedule:
    """A schedule from :func:`serialize`'s dict (or ``{"class_name", "config"}``)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"Received {config!r}, expected a dict with 'class_name' and "
                        "'config' (what serialize returns).")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule class_name={name!r}; expected one "
                         f"of {sorted(_CLASSES)} (or pass it in custom_objects).")
    return cls.from_config(dict(config.get("config", {})))


__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]
