"""``Normalization``: feature-wise standardization, as Keras 3.15.1 computes it.

    y = (x - mean) / max(sqrt(variance), 1e-7)          (invert: y = mean + x * max(...))
    dL/dx = dL/dy / max(sqrt(variance), 1e-7)           (invert: times it)

``mean`` and ``variance`` have one entry per position of the kept ``axis`` (default
-1, the features) and broadcast over the other axes. They are given (a scalar or an
array aligned with the kept axes from the right), or learned by ``adapt``: on a NumPy
array ``np.mean`` / ``np.var`` over the reduced axes; on an iterable of batches
(``ArrayDataset``, a list of arrays, a generator) the batch moments are merged as Keras
does::

    w = n_batch / n_total;  m' = (1 - w) m + w m_b
    v' = (1 - w) (v + (m - m')**2) + w (v_b + (m_b - m')**2)

Adapted moments are the weights ``mean``, ``variance`` and ``count`` (Keras keeps
``count`` at 0, int64; rnnlens stores it as a float) in ``.keras`` files.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers.preprocessing import _common as C

EPSILON = 1e-7


def _check_axis(value: Any) -> tuple:
    if value is None:
        return ()
    if C.is_int(value):
        return (int(value),)
    if isinstance(value, (list, tuple)) and len(value) <= 32 and all(C.is_int(v)
                                                                     for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(value)


def _check_moments(value: Any) -> Any:
    arr = np.asarray(value, dtype=object)
    if arr.size > 1 << 24 or not all(isinstance(v, (int, float, np.number)) and
                                     not isinstance(v, (bool, np.bool_)) and
                                     math.isfinite(float(v)) for v in arr.reshape(-1)):
        raise ValueError(value)
    return value


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance per feature.

    Args:
        axis: the axis (or axes) with separate statistics; None: one mean and variance
            for everything.
        mean, variance: the statistics (both or neither); otherwise call ``adapt``.
        invert: undo the normalization instead.
    """

    axis = P.Json(-1, validate=_check_axis, none=True, expected="an int, a tuple of ints "
                                                                 "or None")
    mean = P.Json(None, validate=_check_moments, none=True, expected="None or numbers")
    variance = P.Json(None, validate=_check_moments, none=True, expected="None or numbers")
    invert = P.Bool(False)

    supports_masking = True
    config_order = ("axis", "invert", "mean", "variance")
    integer_weights = ("count",)          # int64 in Keras's files (rnnlens.interop)

    def __post_init__(self) -> None:
        self.axis = _check_axis(self.axis)
        self.input_mean, self.input_variance = self.mean, self.variance
        if (self.mean is not None) != (self.variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={self.mean} and "
                             f"variance={self.variance}")
        if self.mean is not None:
            if np.shape(self.mean) != np.shape(self.variance):
                raise ValueError("When setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape "
                                 f"{np.shape(self.mean)} and variance shape "
                                 f"{np.shape(self.variance)}")
            if np.any(np.asarray(self.variance, np.float64) < 0):
                raise ValueError(f"Received a negative `variance` {self.variance}; its square "
                                 "root would be NaN (Keras would return NaN outputs).")
            if np.ndim(self.mean) > len(self.axis):
                raise ValueError("The rank of `mean` must be less than or equal to the "
                                 f"number of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(self.mean)} for axis {self.axis}")
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    def config_value(self, key: str) -> Any:
        if key in ("mean", "variance"):
            value = self.input_mean if key == "mean" else self.input_variance
            return np.array(value).tolist()
        return getattr(self, key)

    def get_config(self) -> dict:
        return C.ordered(super().get_config(), self.config_order)

    # -- building -----------------------------------------------------------------

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        ndim = len(shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        if len(set(keep)) != len(keep):
            raise ValueError(f"Layer '{self.name}': `axis`={self.axis} repeats an axis of the "
                             f"{ndim}-D input.")
        for d in keep:
            if shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={shape}, with "
                                 f"unknown axis at index {d}")
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(shape[d] if d in keep else 1 for d in range(ndim))
        self._moments_shape = tuple(shape[d] for d in keep)
        self._build_input_shape = shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._moments_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=self._moments_shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), initializer="zeros",
                                         trainable=False)
        else:
            self._stats = (self._given(self.input_mean), self._given(self.input_variance))
        self.built = True

    def _given(self, value: Any) -> np.ndarray:
        """A given statistic broadcast to the input's rank (Keras's right alignment)."""
        arr = np.asarray(value, np.float32)
        if arr.ndim:
            expanded = [1] * len(self._broadcast_shape)
            for i in range(1, arr.ndim + 1):
                expanded[self._keep_axis[-i]] = arr.shape[-i]
            arr = arr.reshape(expanded)
        try:
            return np.broadcast_to(arr, self._broadcast_shape).astype(np.float32)
        except ValueError:
            raise ValueError(f"Layer '{self.name}': mean / variance of shape "
                             f"{np.shape(value)} do not broadcast to the kept axes "
                             f"{self._moments_shape}.") from None

    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        if self._stats is not None:
            return self._stats
        return (self.adapt_mean.reshape(self._broadcast_shape),
                self.adapt_variance.reshape(self._broadcast_shape))

    # -- adapt --------------------------------------------------------------------

    def adapt(self, data: Any) -> None:
        """Learns ``mean`` and ``variance`` from a NumPy array or an iterable of batches."""
        if isinstance(data, np.ndarray):
            self._adapt_shape(data.shape)
            mean = np.mean(data, axis=self._reduce_axis)
            var = np.var(data, axis=self._reduce_axis)
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            mean, var = self._adapt_batches(iter(data))
        else:
            raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports NumPy "
                            "arrays and iterables of batches (e.g. a list of arrays, a "
                            "generator, an ArrayDataset).")
        np.copyto(self.adapt_mean, np.asarray(mean, np.float32))
        np.copyto(self.adapt_variance, np.asarray(var, np.float32))
        self.weights_changed()

    def _adapt_shape(self, shape: tuple) -> None:
        if not self.built:
            self.build(shape)
        elif any(shape[d] != self._build_input_shape[d] for d in self._keep_axis):
            raise ValueError(f"The layer was built with input_shape={self._build_input_shape}"
                             ", but adapt() is being called with data with an incompatible "
                             f"shape, data.shape={shape}")
        if self.input_mean is not None:
            raise ValueError(f"Layer '{self.name}' was given `mean` and `variance`; it has "
                             "nothing to adapt.")

    def _adapt_batches(self, batches: Any) -> tuple[np.ndarray, np.ndarray]:
        first = next(batches, None)
        if first is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at "
                             "least one batch.")
        first = _batch_x(first)
        if not hasattr(first, "shape"):
            raise TypeError("adapt() expects an iterable that yields arrays with a `.shape` "
                            f"attribute. Got an element of type {type(first).__name__}.")
        self._adapt_shape(tuple(first.shape))
        mean = np.zeros(self._moments_shape, np.float32)
        var = np.zeros(self._moments_shape, np.float32)
        total = 0
        for batch in _chain(first, batches):
            batch = np.asarray(_batch_x(batch), np.float32)
            if batch.ndim != len(self._build_input_shape) or any(
                    batch.shape[d] != self._build_input_shape[d] for d in self._keep_axis):
                raise ValueError("adapt() yielded a batch with incompatible shape. Expected "
                                 f"{self._build_input_shape}, got {tuple(batch.shape)}.")
            b_mean = np.mean(batch, axis=self._reduce_axis)
            b_var = np.var(batch, axis=self._reduce_axis)
            count = math.prod(batch.shape[d] for d in self._reduce_axis)
            total += count
            w = np.float32(float(count) / total) if total else np.float32(0.0)
            keep_w = np.float32(1.0) - w
            new_mean = mean * keep_w + b_mean * w
            var = (var + (mean - new_mean) ** 2) * keep_w + (b_var + (b_mean - new_mean) ** 2) * w
            mean = new_mean
        return mean, var

    # -- calling ------------------------------------------------------------------

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: Any, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(inputs, np.float32)
        mean, variance = self._moments()
        scale = np.maximum(np.sqrt(variance), np.float32(EPSILON))
        if self.invert:
            return mean + x * scale, scale
        return (x - mean) / scale, scale

    def backward(self, cache: np.ndarray, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        d_in = d_out * cache if self.invert else d_out / cache
        return d_in, {}, [np.zeros_like(w) for w in self.weights]

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return tuple(input_shape)


def _batch_x(batch: Any) -> Any:
    return batch[0] if isinstance(batch, tuple) else batch


def _chain(first: Any, rest: Any) -> Any:
    yield first
    yield from rest


__all__ = ["Normalization"]
