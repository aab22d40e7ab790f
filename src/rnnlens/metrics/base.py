"""The metric base classes: ``Metric``, ``Mean``, ``Sum`` and ``MeanMetricWrapper``.

Keras's ``reduce_to_samplewise_values`` turns the values of one ``update_state`` into one
number per sample: with weights ``w`` (after the rank fix, broadcast to the values)

.. math::

    v_b = \\operatorname{reduce}_{j}(v_{b j} w_{b j}),\\qquad
    w_b = \\operatorname{reduce}_{j}(w_{b j})

(``reduce`` is the mean for ``Mean``, the sum for ``Sum``; values of higher rank than the
weights are first reduced over their extra axes). ``Mean`` keeps ``total += sum_b v_b``
and ``count += sum_b w_b`` (or the number of samples), ``result = total / count`` (0 when
``count == 0``); ``Sum`` keeps ``total``. Accumulators are ``backend.floatx()`` scalars,
like Keras's float32 variables.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from rnnlens import naming
from rnnlens.backend import FLOATX
from rnnlens.losses.base import apply_mask, as_numeric, check_dtype, squeeze_or_expand_to_same_rank


def _dtype() -> np.dtype:
    return FLOATX.dtype


def to_snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``"TopKCategoricalAccuracy" -> "top_k_categorical_accuracy"``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _as_result(x: Any) -> Any:
    """A 0-d result as a Python float, anything else as a float array."""
    arr = np.asarray(x, dtype=_dtype())
    return float(arr) if arr.ndim == 0 else arr


class Metric:
    """Base class: ``update_state``, ``result``, ``reset_state``, ``name``.

    Args:
        name: the metric's name; ``None`` gives the snake-case class name, made unique
            in the session (``precision``, ``precision_1``, ...) as Keras's ``auto_name``.
        dtype: accepted for Keras compatibility; must be ``None`` or the current floatx.
    """

    #: "up" if larger is better, "down" if smaller is better, None if unknown
    #: (EarlyStopping/ModelCheckpoint use it in mode="auto").
    _direction: str | None = None

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Received name={name!r}, expected a string or None.")
        check_dtype(dtype)
        self.name = name or naming.unique(to_snake_case(type(self).__name__))
        self.dtype = _dtype().name

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> Any:
        raise NotImplementedError

    def reset_state(self) -> None:
        """Every variable from ``add_variable`` back to zeros (Keras's default)."""
        variables = self.__dict__.get("_variables")
        if variables is None:
            raise NotImplementedError
        for v in variables:
            v.assign(np.zeros(v.shape, v.dtype))

    # -- state variables, as a Keras metric subclass creates them ------------------------

    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> "MetricVariable":
        """A state variable (Keras's ``add_variable``): an array with ``assign``,
        ``assign_add`` and ``assign_sub``, reset to zeros by ``reset_state``."""
        from rnnlens import initializers

        dt = np.dtype(dtype if dtype is not None else _dtype())
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape or ())
        init = initializers.get("zeros" if initializer is None else initializer)
        value = np.asarray(init(shape, dt), dtype=dt)
        if value.shape != shape:
            raise ValueError(f"The initializer of metric variable '{name}' returned shape "
                             f"{value.shape}, expected {shape}.")
        variable = np.array(value).view(MetricVariable)
        variable.name = name or f"variable_{len(self.__dict__.get('_variables', []))}"
        self.__dict__.setdefault("_variables", []).append(variable)
        return variable

    def add_weight(self, shape: Any = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None) -> "MetricVariable":
        """Keras's backwards-compatible alias of :meth:`add_variable`."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype,
                                 name=name)

    @property
    def variables(self) -> list:
        """The state variables (``add_variable``), as Keras's ``metric.variables``."""
        return list(self.__dict__.get("_variables", []))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``update_state(...)`` then ``result()``, as Keras's ``Metric.__call__``."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        if not isinstance(config, dict):
            raise TypeError(f"Received config={config!r}, expected a dict.")
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class MetricVariable(np.ndarray):
    """A metric's state variable: a NumPy array updated in place by ``assign``,
    ``assign_add`` and ``assign_sub`` (Keras's variable API); arithmetic on it gives
    plain arrays."""

    name: str = "variable"

    def assign(self, value: Any) -> "MetricVariable":
        self.view(np.ndarray)[...] = np.asarray(value, self.dtype)
        return self

    def assign_add(self, value: Any) -> "MetricVariable":
        return self.assign(self.view(np.ndarray) + np.asarray(value, self.dtype))

    def assign_sub(self, value: Any) -> "MetricVariable":
        return self.assign(self.view(np.ndarray) - np.asarray(value, self.dtype))

    @property
    def value(self) -> np.ndarray:
        return np.array(self.view(np.ndarray))

    def numpy(self) -> np.ndarray:
        return np.array(self.view(np.ndarray))

    def __array_wrap__(self, arr: Any, context: Any = None, return_scalar: bool = False
                       ) -> Any:
        arr = np.asarray(arr).view(np.ndarray)
        return arr[()] if return_scalar else arr


def reduce_to_samplewise(
    values: np.ndarray, sample_weight: Any, reduce_fn: Callable[..., np.ndarray] = np.mean
) -> tuple[np.ndarray, np.ndarray | None]:
    """Keras's ``reduce_to_samplewise_values`` (``reduce_fn`` is ``np.mean`` or ``np.sum``)."""
    values = values.astype(_dtype(), copy=False)
    sw = None
    if sample_weight is not None:
        sw = as_numeric(sample_weight, "sample_weight").astype(_dtype())
        values, sw = squeeze_or_expand_to_same_rank(values, sw)
        if values.ndim > sw.ndim:
            values = reduce_fn(values, axis=tuple(range(sw.ndim, values.ndim)))
        try:
            sw = np.broadcast_to(sw, values.shape)
        except ValueError:
            raise ValueError(
                f"Received sample_weight of shape {np.shape(sample_weight)}, expected a shape "
                f"that broadcasts to the metric values of shape {values.shape}."
            ) from None
        values = values * sw
        if sw.ndim > 1:
            sw = reduce_fn(sw, axis=tuple(range(1, sw.ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sw


_reduce_to_samplewise = reduce_to_samplewise  # the name earlier rnnlens code used


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``.

    Values of shape ``(B, ...)`` count as ``B`` samples, each the mean of its row; a
    scalar counts as one sample; ``sample_weight`` (per sample or per element) weights
    them, and the count becomes the sum of the weights.
    """

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = _dtype().type(0)
        self.count = _dtype().type(0)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        dt = _dtype()
        vals, sw = reduce_to_samplewise(as_numeric(values, "values"), sample_weight)
        self.total = dt.type(self.total + np.sum(vals, dtype=dt))
        if sw is not None:
            n = np.sum(sw, dtype=dt)
        elif vals.ndim >= 1:
            n = vals.shape[0]
        else:
            n = 1
        self.count = dt.type(self.count + dt.type(n))

    def result(self) -> float:
        if self.count == 0:
            return 0.0  # divide_no_nan
        return float(_dtype().type(self.total / self.count))


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state(values, sample_weight)``."""

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = _dtype().type(0)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        dt = _dtype()
        vals, _ = reduce_to_samplewise(as_numeric(values, "values"), sample_weight, np.sum)
        self.total = dt.type(self.total + np.sum(vals, dtype=dt))

    def result(self) -> float:
        return float(self.total)


class MeanMetricWrapper(Mean):
    """``Mean`` of ``fn(y_true, y_pred, **kwargs)``.

    ``update_state(y_true, y_pred, sample_weight=None)``; a Keras mask on ``y_pred``
    (``_keras_mask``) weighs masked entries 0, as Keras's wrapper does.
    """

    def __init__(self, fn: Callable[..., np.ndarray], name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"Received fn={fn!r}, expected a function (y_true, y_pred).")
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"),
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)
        with np.errstate(all="ignore"):
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=apply_mask(sample_weight, mask, "sum"))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": getattr(self._fn, "__name__", repr(self._fn)),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        config = dict(config)
        if isinstance(config.get("fn"), str):
            from rnnlens.metrics import function_by_name  # noqa: PLC0415

            config["fn"] = function_by_name(config["fn"])
        return super().from_config(config)


class _Wrapped(MeanMetricWrapper):
    """A ``MeanMetricWrapper`` subclass whose config is Keras's ``{name, dtype}``."""

    def get_config(self) -> dict[str, Any]:
        return Metric.get_config(self)
