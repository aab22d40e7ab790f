"""SGD, Adam and RMSprop as Keras 3.15.1 (TensorFlow backend) applies them, in NumPy.

``opt.apply_gradients([(grad, var), ...])`` or ``opt.apply(grads, variables)`` updates each
``var`` (a float32 ``np.ndarray``) **in place**, so the caller's arrays change, then adds one
to ``opt.iterations``. The arithmetic is Keras's, operation for operation, in the
variable's dtype (float32): the learning rate is held as a float32 like Keras's
learning-rate variable, hyper-parameters are cast to the variable's dtype, and Adam's
bias correction uses ``beta ** (iterations + 1)`` in float32.

Gradient clipping, applied to the whole list before any update, as Keras's base optimizer:

* ``clipnorm``: each gradient on its own, TF's ``clip_by_norm``:
  ``g * clipnorm / max(norm(g), clipnorm)`` (computed even when the norm is below
  ``clipnorm``; a zero gradient stays zero).
* ``global_clipnorm``: all gradients together,
  ``g * clip * min(1 / global_norm, 1 / clip)`` (+ ``global_norm - global_norm``, which turns
  an inf/NaN norm into NaN updates as in Keras).
* ``clipvalue``: ``clip(g, -clipvalue, clipvalue)``.

At most one of the three may be set; a value of 0 (or ``None``) means no clipping.

Optimizer state ("slots": momentums, velocities, ...) is kept **by position**: the first
call builds one slot per variable, in the order given, and every later call must pass
the variables in the same order with the same shapes (the arrays themselves may be
replaced by others of the same shape; a mismatch raises ``ValueError``). A ``None``
gradient skips its variable for that step (Keras warns and skips too).
``opt.slots`` maps each slot name to its list of arrays, in variable order.
"""

from __future__ import annotations

import inspect
import math
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from rnnlens.weights import RowGradient

_SLOT_DTYPES = (np.dtype("float32"), np.dtype("float64"))


def _check_float(name: str, value: Any, *, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Received {name}={value!r}, expected a float.")
    if not math.isfinite(float(value)):
        raise ValueError(f"Received {name}={value!r}, expected a finite float.")
    return value


class Optimizer:
    """Base class with Keras's clipping, iteration counter and slot bookkeeping."""

    def __init__(
        self,
        learning_rate: float,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        for arg, val in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                         ("global_clipnorm", global_clipnorm)):
            _check_float(arg, val, allow_none=True)
            if val is not None and val < 0:
                raise ValueError(f"Received {arg}={val!r}, expected a float >= 0.")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self.name = name or type(self).__name__.lower()
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.learning_rate = learning_rate
        self._iterations = 0
        self._shapes: list[tuple[tuple[int, ...], np.dtype]] | None = None
        self._slots: dict[str, list[np.ndarray]] = {}

    # ------------------------------------------------------------------ properties
    @property
    def iterations(self) -> int:
        """How many times ``apply``/``apply_gradients`` has run (Keras's ``iterations``)."""
        return self._iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise TypeError(f"Received iterations={value!r}, expected an int >= 0.")
        self._iterations = int(value)

    @property
    def learning_rate(self) -> float:
        """The learning rate, held as float32 like Keras's learning-rate variable."""
        return float(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if callable(value):
            raise TypeError(
                f"Received learning_rate={value!r}, expected a float (rnnlens optimizers do "
                "not take learning-rate schedules)."
            )
        if isinstance(value, bool) or not isinstance(value, (float, np.floating)):
            # Keras: "Argument `learning_rate` should be float ..." (an int is refused too).
            raise ValueError(
                f"Received learning_rate={value!r} of type {type(value).__name__}, expected a "
                "float (Keras refuses ints here as well: write 1.0, not 1)."
            )
        self._learning_rate = np.float32(value)

    @property
    def built(self) -> bool:
        return self._shapes is not None

    @property
    def slots(self) -> dict[str, list[np.ndarray]]:
        """Slot name -> one array per variable, in the order of the variable list."""
        return self._slots

    @property
    def variables(self) -> list[np.ndarray]:
        """Every slot array in Keras's ``optimizer.variables`` order, less its first two
        (the iteration counter and the learning rate): slots created together are
        interleaved variable by variable (Adam: m0, v0, m1, v1, ..., then the v_hats)."""
        out: list[np.ndarray] = []
        for group in self._slot_groups():
            for i in range(len(self._shapes or ())):
                out.extend(self._slots[name][i] for name in group)
        return out

    # ------------------------------------------------------------------ building
    def _slot_groups(self) -> tuple[tuple[str, ...], ...]:
        """Slot names, grouped as Keras's ``build`` creates them."""
        return ()

    def _slot_names_built(self) -> tuple[str, ...]:
        return tuple(name for group in self._slot_groups() for name in group)

    def build(self, variables: Sequence[np.ndarray]) -> None:
        """Create zeroed slots for ``variables`` (done by the first ``apply``)."""
        variables = [self._check_variable(v, i) for i, v in enumerate(variables)]
        self._shapes = [(v.shape, v.dtype) for v in variables]
        self._slots = {
            name: [np.zeros(v.shape, v.dtype) for v in variables]
            for name in self._slot_names_built()
        }

    @staticmethod
    def _check_variable(v: Any, i: int) -> np.ndarray:
        if not isinstance(v, np.ndarray):
            raise TypeError(
                f"Received variable {i} of type {type(v).__name__}, expected an np.ndarray "
                "(the optimizer updates it in place)."
            )
        if v.dtype not in _SLOT_DTYPES:
            raise TypeError(
                f"Received variable {i} of dtype {v.dtype}, expected float32 (or float64)."
            )
        if not v.flags.writeable:
            raise ValueError(
                f"Received variable {i} that is read-only, expected a writeable array."
            )
        return v

    # ------------------------------------------------------------------ applying
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, np.ndarray]]) -> int:
        """Apply ``[(grad, var), ...]``; returns the new ``iterations``."""
        pairs = list(grads_and_vars)
        for p in pairs:
            if not isinstance(p, (tuple, list)) or len(p) != 2:
                raise TypeError(
                    f"Received an item {p!r} in grads_and_vars, expected (gradient, variable) "
                    "pairs."
                )
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads: Sequence[Any], variables: Sequence[np.ndarray] | None = None) -> None:
        """Update ``variables`` in place from ``grads`` (one per variable, same order)."""
        grads = list(grads)
        if len(grads) == 0:
            return  # Keras: an empty gradient list is a no-op (no iteration either)
        if variables is None:
            raise ValueError(
                "Received grads without variables, expected apply(grads, variables): rnnlens "
                "updates the arrays you pass, so it needs them every step."
            )
        variables = list(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Received {len(grads)} gradients and {len(variables)} variables, expected "
                "one gradient per variable."
            )
        if not self.built:
            self.build(variables)
        self._check_known(variables)

        idx, gs, vs = [], [], []
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
                raise ValueError(
                    f"Received gradient {i} of shape {g.shape} for a variable of shape "
                    f"{v.shape}, expected equal shapes."
                )
            idx.append(i)
            gs.append(_as_grad(g, v.dtype))
            vs.append(v)
        if not gs:
            raise ValueError("No gradients provided for any variable.")
        if len(gs) < len(grads):
            missing = [i for i in range(len(grads)) if i not in idx]
            warnings.warn(
                f"Gradients do not exist for variables at positions {missing}; they are not "
                "updated this step.", stacklevel=2,
            )
        gs = self._clip_gradients(gs)
        for i, g, v in zip(idx, gs, vs):
            self._update_step(g, v, i)
        self._iterations += 1

    def _check_known(self, variables: list[np.ndarray]) -> None:
        assert self._shapes is not None
        if len(variables) != len(self._shapes):
            raise ValueError(
                f"Received {len(variables)} variables, expected the {len(self._shapes)} this "
                "optimizer was built with (slots are kept by position: pass the same list "
                "every step)."
            )
        for i, v in enumerate(variables):
            self._check_variable(v, i)
            if (v.shape, v.dtype) != self._shapes[i]:
                raise ValueError(
                    f"Received variable {i} with shape {v.shape} and dtype {v.dtype}, expected "
                    f"shape {self._shapes[i][0]} and dtype {self._shapes[i][1]} as when the "
                    "optimizer was built (slots are kept by position)."
                )

    # ------------------------------------------------------------------ clipping
    def _clip_gradients(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        if self.clipnorm and self.clipnorm > 0:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [_clip_by_value(g, self.clipvalue) for g in grads]
        return grads

    # ------------------------------------------------------------------ subclasses
    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        raise NotImplementedError

    def _lr(self, var: np.ndarray) -> np.floating:
        return var.dtype.type(self._learning_rate)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "learning_rate": self.learning_rate,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Optimizer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _as_grad(g: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float copy of a gradient in the variable's dtype (rows kept for embeddings)."""
    if isinstance(g, RowGradient) and g.rows is not None:
        return RowGradient.of(np.array(g, dtype=dtype), g.rows, g.values.astype(dtype))
    return np.array(g, dtype=dtype, copy=True)


def _square(g: np.ndarray) -> np.ndarray:
    """``square(gradient)`` as TensorFlow computes it: row by row for an embedding's
    IndexedSlices (duplicates summed after squaring), elementwise otherwise."""
    if isinstance(g, RowGradient) and g.rows is not None:
        out = np.zeros(g.shape, g.dtype)
        np.add.at(out, g.rows, np.square(g.values))
        return out
    return np.square(g)


def _scaled(g: np.ndarray, scale: Any) -> np.ndarray:
    if isinstance(g, RowGradient) and g.rows is not None:
        return RowGradient.of(np.asarray(g) * scale, g.rows, g.values * scale)
    return g * scale


def _sum_of_squares(g: np.ndarray) -> Any:
    values = g.values if isinstance(g, RowGradient) and g.rows is not None else g
    return np.sum(np.square(values), dtype=g.dtype)


def _clip_by_value(g: np.ndarray, clipvalue: float) -> np.ndarray:
    lo, hi = g.dtype.type(-clipvalue), g.dtype.type(clipvalue)
    if isinstance(g, RowGradient) and g.rows is not None:     # clipped row by row
        return RowGradient.from_rows(g.shape, g.rows, np.clip(g.values, lo, hi))
    return np.clip(g, lo, hi)


def _clip_by_norm(g: np.ndarray, clipnorm: float) -> np.ndarray:
    """TF's ``clip_by_norm`` over all axes, with its safe norm (0 for an all-zero g)."""
    dt = g.dtype.type
    c = dt(clipnorm)
    l2sum = _sum_of_squares(g)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return _scaled(g, c / np.maximum(l2norm, c))


def _clip_by_global_norm(grads: list[np.ndarray], clip_norm: float) -> list[np.ndarray]:
    """Keras's ``clip_by_global_norm``."""
    dt = grads[0].dtype.type
    squared = np.array([_sum_of_squares(g) for g in grads], dtype=grads[0].dtype)
    use_norm = np.sqrt(np.sum(squared, dtype=squared.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = dt(1.0) / use_norm
        scale = dt(clip_norm) * np.minimum(inv, dt(1.0 / clip_norm))
        scale = scale + (use_norm - use_norm)
    # Keras scales with ``v * scale``, which turns TensorFlow's IndexedSlices into a
    # dense tensor: an embedding's rows are summed here (its norm above was not).
    return [np.asarray(g) * g.dtype.type(scale) for g in grads]


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
        lr = self._lr(var)
        if self.momentum != 0:
            m = self._slots["momentum"][index]
            mom = var.dtype.type(self.momentum)
            m[...] = m * mom - grad * lr
            if self.nesterov:
                var += m * mom - grad * lr
            else:
                var += m
        else:
            var -= grad * lr

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (optionally AMSGrad), exactly as Keras 3.

    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` with ``t = iterations + 1``;
    ``m += (g - m) * (1 - beta_1)``; ``v += (g**2 - v) * (1 - beta_2)``;
    (AMSGrad: ``v_hat = max(v_hat, v)``, used instead of ``v``);
    ``var -= m * alpha / (sqrt(v) + epsilon)``. Note epsilon is added to ``sqrt(v)`` and
    is *not* bias-corrected (the "epsilon hat" of the Adam paper), default 1e-7.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = float(_check_float("beta_1", beta_1))
        self.beta_2 = float(_check_float("beta_2", beta_2))
        self.epsilon = float(_check_float("epsilon", epsilon))
        self.amsgrad = bool(amsgrad)

    def _slot_groups(self) -> tuple[tuple[str, ...], ...]:
        groups: tuple[tuple[str, ...], ...] = (("momentum", "velocity"),)
        return groups + (("velocity_hat",),) if self.amsgrad else groups

    def _update_step(self, grad: np.ndarray, var: np.ndarray, index: int) -> None:
        f = var.dtype.type
        lr = self._lr(var)
        local_step = f(self._iterations + 1)
        beta_1_power = np.power(f(self.beta_1), local_step)
        beta_2_power = np.power(f(self.beta_2), local_step)
        m = self._slots["momentum"][index]
        v = self._slots["velocity"][index]
        alpha = lr * np.sqrt(f(1) - beta_2_power) / (f(1) - beta_1_power)
        m += (grad - m) * f(1 - self.beta_1)
        v += (_square(grad) - v) * f(1 - self.beta_2)
        if self.amsgrad:
            v_hat = self._slots["velocity_hat"][index]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        var -= (m * alpha) / (np.sqrt(v) + f(self.epsilon))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


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


_BY_NAME: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier: Any) -> Optimizer | None:
    """An optimizer from ``"sgd"``/``"adam"``/``"rmsprop"`` (any case, default arguments),
    a ``{"class_name": ..., "config": {...}}`` dict, an instance (returned as is), a class,
    or ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer) \
            and identifier is not Optimizer:
        return identifier()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _BY_NAME.get(str(name).lower())
        if cls is None:
            raise ValueError(
                f"Received an optimizer config with class_name={name!r}, expected one of "
                "'SGD', 'Adam', 'RMSprop'."
            )
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Received an unknown optimizer identifier: {identifier!r}, expected one of "
                "'sgd', 'adam', 'rmsprop'."
            )
        return cls()
    raise TypeError(
        f"Received optimizer={identifier!r} of type {type(identifier).__name__}, expected a "
        "name ('sgd', 'adam', 'rmsprop'), an rnnlens optimizer or None."
    )


__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "get"]
