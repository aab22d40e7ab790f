"""The optimizer base class: Keras's clipping, iteration counter, learning rate (a float
or a schedule) and slot bookkeeping, shared by SGD, Adam and RMSprop."""

from __future__ import annotations

import inspect
import math
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from rnnlens.optimizers import schedules
from rnnlens.weights import RowGradient

_SLOT_DTYPES = (np.dtype("float32"), np.dtype("float64"))


def _is_schedule(value: Any) -> bool:
    return isinstance(value, schedules.LearningRateSchedule) or (
        callable(value) and not isinstance(value, (np.generic, np.ndarray)))


def _check_schedule(value: Any) -> Any:
    """A schedule (called with the step) or a callable of no arguments, as Keras takes."""
    if isinstance(value, schedules.LearningRateSchedule):
        return value
    try:
        inspect.signature(value).bind()
    except TypeError:
        raise TypeError(
            f"Received learning_rate={value!r}, a callable that needs arguments. As in Keras, "
            "a plain callable is called with no arguments at every update; to depend on "
            "the step, pass a schedule from rnnlens.optimizers.schedules (a "
            "LearningRateSchedule subclass), or a float.") from None
    except ValueError:              # no signature (a builtin): trust it
        pass
    return value


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
        if not _is_schedule(learning_rate) and (isinstance(learning_rate, bool) or not
                                                 isinstance(learning_rate, (float, np.floating))):
            # Keras: "Argument `learning_rate` should be float ..." (an int is refused too).
            raise ValueError(
                f"Received learning_rate={learning_rate!r} of type "
                f"{type(learning_rate).__name__}, expected a float, a LearningRateSchedule "
                "or a callable of the step (Keras refuses ints here as well: write 1.0, not 1)."
            )
        self._iterations = 0
        self._lr_now: Any = None             # the learning rate of the update under way
        self.learning_rate = learning_rate
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
        """The learning rate for the next update, as Keras reads it: the float32 variable,
        or the schedule evaluated at ``iterations``."""
        return float(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if _is_schedule(value):
            self._learning_rate = _check_schedule(value)
            return
        if _is_schedule(getattr(self, "_learning_rate", None)):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument.")
        if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            raise ValueError(f"Received learning_rate={value!r}, expected a finite float.")
        self._learning_rate = np.float32(value)

    def _current_learning_rate(self) -> np.float32:
        """Keras's ``_get_current_learning_rate``: a schedule is called with the step, any
        other callable with no arguments."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return np.float32(self._learning_rate(self._iterations))
        if _is_schedule(self._learning_rate):
            return np.float32(self._learning_rate())
        return self._learning_rate

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
        self._lr_now = self._current_learning_rate()
        for i, g, v in zip(idx, gs, vs):
            if not isinstance(g, np.ndarray):              # a 0-d gradient after clipping
                g = np.array(g, dtype=v.dtype)
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
        """The step's learning rate (evaluated once per ``apply``) in ``var``'s dtype."""
        return var.dtype.type(self._lr_now)

    def _work(self, index: int, var: np.ndarray) -> np.ndarray:
        """A scratch array shaped as variable ``index``, kept between steps (so the
        in-place updates allocate nothing); not a slot, never saved."""
        work = self.__dict__.setdefault("_scratch", {})
        buf = work.get(index)
        if buf is None or buf.shape != var.shape or buf.dtype != var.dtype:
            buf = work[index] = np.empty_like(var)
        return buf

    # ------------------------------------------------------------------ state
    def save_own_variables(self, store: dict) -> None:
        """Writes the optimizer's state into ``store`` (a dict of NumPy arrays):
        ``iterations``, ``learning_rate`` (a float rate only), and each slot array as
        ``"<slot>/<variable index>"`` (what ``BackupAndRestore`` keeps)."""
        store["iterations"] = np.asarray(self._iterations, np.int64)
        if not _is_schedule(self._learning_rate):
            store["learning_rate"] = np.asarray(self._learning_rate, np.float32)
        for name, arrays in self._slots.items():
            for i, arr in enumerate(arrays):
                store[f"{name}/{i}"] = np.array(arr, copy=True)

    def load_own_variables(self, store: Any) -> None:
        """Restores what ``save_own_variables`` wrote; the slots are rebuilt for the
        saved shapes, to be used with the same variables in the same order."""
        self.iterations = int(np.asarray(store["iterations"]))
        if "learning_rate" in store and not _is_schedule(self._learning_rate):
            self.learning_rate = float(np.asarray(store["learning_rate"]))
        names = self._slot_names_built()
        keys = [k for k in store if "/" in k]
        if not keys:
            return
        count = 1 + max(int(k.rsplit("/", 1)[1]) for k in keys)
        missing = [f"{n}/{i}" for n in names for i in range(count) if f"{n}/{i}" not in store]
        if missing:
            raise ValueError(f"The saved optimizer state lacks {missing[:3]}: it was saved "
                             f"by another optimizer than this {type(self).__name__}.")
        self._slots = {n: [np.array(store[f"{n}/{i}"], copy=True) for i in range(count)]
                       for n in names}
        self._shapes = [(a.shape, a.dtype) for a in self._slots[names[0]]] if names else None

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif not callable(lr):
            lr = float(lr)
        return {"name": self.name, "learning_rate": lr,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _as_grad(g: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float copy of a gradient in the variable's dtype (rows kept for embeddings).

    The copy belongs to the optimizer: ``_update_step`` may overwrite it (``_dense``)."""
    if isinstance(g, RowGradient) and g.rows is not None:
        return RowGradient.of(np.array(g, dtype=dtype), g.rows, g.values.astype(dtype))
    return np.array(g, dtype=dtype, copy=True)


def _dense(g: np.ndarray) -> bool:
    """True for a plain gradient (not an embedding's rows): updated in place."""
    return not (isinstance(g, RowGradient) and g.rows is not None)


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


