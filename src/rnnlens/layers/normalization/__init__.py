"""Normalization layers, as Keras 3 defines them: UnitNormalization, BatchNormalization,
LayerNormalization here; GroupNormalization and RMSNormalization in their own modules.

L2 normalization is Keras's ``ops.normalize(x, axis, order=2, epsilon)``::

    s = sum(x ** 2, axis, keepdims=True)
    r = min(rsqrt(s), 1 / epsilon)                 # an all-zero slice gives 0, not NaN
    y = x * r

and its gradient, as TensorFlow differentiates that graph (``minimum`` sends the
gradient to ``rsqrt`` when ``rsqrt(s) <= 1 / epsilon``, to the constant otherwise)::

    dx = g * r - x * [rsqrt(s) <= 1/epsilon] * r ** 3 * sum(g * x, axis, keepdims=True)

``Dot(normalize=True)`` uses the same function with Keras's default epsilon 1e-7;
``UnitNormalization`` uses epsilon 1e-12.

Batch and layer normalization share TensorFlow's ``tf.nn.batch_normalization`` graph
(``rnnlens.layers._normalization_math`` has it, forward and backward)::

    y = x * inv + (beta - mean * inv),    inv = rsqrt(var + epsilon) * gamma

with the statistics of the batch (BatchNormalization in training: over every axis but
``axis``, masked steps left out), the moving averages (BatchNormalization at
inference), or of each sample (LayerNormalization: over ``axis``).

Shape legend: B batch, T time steps, F features, C channels (the normalized axis).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers import _normalization_math as NM
from rnnlens.layers.base import Layer

#: ``keras.config.epsilon()``, the epsilon of ``ops.normalize`` when none is given.
KERAS_EPSILON = 1e-7
#: The epsilon ``UnitNormalization`` passes to ``ops.normalize``.
UNIT_EPSILON = 1e-12


def resolve_axes(axis: Any, ndim: int, owner: str) -> tuple[int, ...]:
    """Non-negative axes for an int or a tuple of ints; clear errors for bad ones."""
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{owner}: axis {axis} is out of bounds for an input with "
                             f"{ndim} dimensions.")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{owner}: axis {axis} repeats an axis (the input has {ndim} "
                         "dimensions).")
    return tuple(out)


def l2_normalize(x: np.ndarray, axes: tuple[int, ...], epsilon: float
                 ) -> tuple[np.ndarray, tuple]:
    """``x * min(rsqrt(sum(x**2, axes)), 1/epsilon)`` and the cache for the backward."""
    s = np.sum(np.square(x), axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        rsqrt = 1.0 / np.sqrt(s)                          # inf for an all-zero slice
    cap = 1.0 / epsilon
    r = np.minimum(rsqrt, cap).astype(x.dtype, copy=False)
    return x * r, (x, r, rsqrt <= cap, axes)


def l2_normalize_backward(cache: tuple, d_out: np.ndarray) -> np.ndarray:
    """dL/dx of :func:`l2_normalize`, as TensorFlow's tape computes it."""
    x, r, unclipped, axes = cache
    dot = np.sum(d_out * x, axis=axes, keepdims=True)
    return d_out * r - x * np.where(unclipped, r ** 3 * dot, 0)


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm across ``axis``: ``y = x / ||x||``.

    Exactly Keras's ``ops.normalize(x, axis, order=2, epsilon=1e-12)``
    (see the module docstring): ``y = x * min(rsqrt(sum(x**2)), 1e12)``, so an
    all-zero slice stays zero. No weights; the input's mask passes through.

    Args:
        axis: the axis, or list of axes, to normalize across (default -1).
    """

    axis = P.Axis(-1, multiple=True)

    supports_masking = True

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple):
            raise ValueError(f"Layer '{self.name}' (UnitNormalization) expects a single "
                             f"input, received shapes {shape}.")
        resolve_axes(self.axis, max(len(shape), 1),
                     f"Layer '{self.name}' (UnitNormalization)")

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        x = inputs if inputs.ndim else inputs[None]      # as Keras: a scalar becomes (1,)
        axes = resolve_axes(self.axis, x.ndim, f"Layer '{self.name}' (UnitNormalization)")
        y, cache = l2_normalize(x, axes, UNIT_EPSILON)  # same shape as x
        return y, (cache, inputs.shape)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        inner, shape = cache
        return l2_normalize_backward(inner, d_out).reshape(shape), {}, []

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return tuple(input_shape)


class _BatchAxis(P.Axis):
    """BatchNormalization's ``axis``: an int; tf.keras files hold a list such as ``[2]``.

    Keras 3's legacy loader turns a one-element list into its int; a list of several
    axes (tf.keras's multi-axis batch normalization) has no Keras 3 equivalent. A list
    given to the constructor is a TypeError, as Keras's ``int(axis)``.
    """

    def validate(self, value: Any, owner: Any) -> Any:
        if isinstance(value, (list, tuple)):
            raise self.fail(value, owner, error=TypeError)
        return super().validate(value, owner)

    def load(self, raw: Any, reader: Any) -> Any:
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        elif isinstance(raw, list):
            raise reader.refuse(f"BatchNormalization `axis`={raw!r} normalizes over several "
                                "axes (tf.keras); Keras 3 and rnnlens normalize one axis.")
        return self.check(raw, None)


def _renorm_clipping(value: Any) -> dict:
    """Keras's ``renorm_clipping`` checks: keys rmax / rmin / dmax, rmin <= rmax, dmax >= 0."""
    if not isinstance(value, dict) or set(value) - {"rmax", "rmin", "dmax"} or not all(
            P._is_number(v) and not math.isnan(float(v)) for v in value.values()):
        raise ValueError(value)
    rmax, rmin, dmax = value.get("rmax"), value.get("rmin"), value.get("dmax")
    if (rmax is not None and rmin is not None and rmax < rmin) or \
            (dmax is not None and dmax < 0):
        raise ValueError(value)
    return dict(value)


def _move_key(config: dict, key: str, before: str) -> dict:
    """``config`` with ``key`` placed right before ``before`` (Keras's config order)."""
    value = config.pop(key)
    out = {}
    for k, v in config.items():
        if k == before:
            out[key] = value
        out[k] = v
    return out


def _stats_shape(ndim: int, axis: int, size: int) -> tuple:
    shape = [1] * ndim
    shape[axis] = size
    return tuple(shape)


class BatchNormalization(Layer):
    """Normalizes each channel with batch statistics in training, moving ones at inference.

    With ``C`` the size of ``axis`` and the statistics taken over every other axis::

        training (training=True and trainable):
            mean, var = moments(x)               # biased; masked steps left out
            y = x * inv + (beta - mean * inv),   inv = rsqrt(var + epsilon) * gamma
            moving_mean = moving_mean * momentum + mean * (1 - momentum)
            moving_variance = moving_variance * momentum + var * (1 - momentum)
        inference (training=False, or trainable=False as Keras 3 runs a frozen BN):
            y = x * inv + (beta - moving_mean * inv),
            inv = rsqrt(moving_variance + epsilon) * gamma

    The moving statistics are updated during the forward pass, as Keras's ``assign``
    does: once per training step in ``fit`` (and on every ``layer(x, training=True)``).
    With a mask (B, T) from ``Masking`` or ``Embedding(mask_zero=True)``, Keras's masked
    moments divide by ``sum(mask) + 1e-7``; the output keeps the mask.

    Batch renormalization (``renorm=True``, Ioffe 2017) uses, in training,
    ``r = clip(sqrt(var + eps) / max(renorm_stddev, sqrt(eps)), rmin, rmax)`` and
    ``d = clip((mean - renorm_mean) / max(renorm_stddev, sqrt(eps)), -dmax, dmax)``
    (no gradient through r, d): ``y = BN(x) with gamma' = r * gamma, beta' = d * gamma +
    beta``; it tracks ``moving_stddev`` and sets ``moving_variance = relu(moving_stddev^2 -
    epsilon)``.

    Weights: gamma (C,) if scale, beta (C,) if center (trainable); moving_mean,
    moving_variance (C,) (non-trainable); with renorm also moving_stddev, renorm_mean,
    renorm_stddev (C,).

    Args:
        axis: the channel axis (int; tf.keras's one-element list loads from files).
        momentum: momentum of the moving averages.
        epsilon: added to the variance.
        center, scale: use beta / gamma.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: as in Keras (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the training loss.
        beta_constraint, gamma_constraint: applied after every optimizer update.
        renorm, renorm_clipping, renorm_momentum: batch renormalization.
        synchronized: Keras's cross-replica moments; on one device the statistics are
            ``mean`` and ``max(E[x^2] - mean^2, 0)``, as Keras's TensorFlow backend.
    """

    axis = _BatchAxis(-1)
    momentum = P.Float(0.99)
    epsilon = P.Float(1e-3, min=0.0)
    center = P.Bool(True)
    scale = P.Bool(True)
    beta_initializer = P.Initializer("zeros")
    gamma_initializer = P.Initializer("ones")
    moving_mean_initializer = P.Initializer("zeros")
    moving_variance_initializer = P.Initializer("ones")
    beta_regularizer = P.Regularizer()
    gamma_regularizer = P.Regularizer()
    beta_constraint = P.Constraint()
    gamma_constraint = P.Constraint()
    renorm = P.Bool(False)
    renorm_clipping = P.Json(None, validate=_renorm_clipping, none=True,
                             expected="None or a dict with keys rmax, rmin, dmax "
                                      "(rmin <= rmax, dmax >= 0)")
    renorm_momentum = P.Float(0.99)
    synchronized = P.Bool(False)

    supports_masking = True
    per_step_in_training = True     # TimeDistributed runs it step by step, as Keras's loop

    def __post_init__(self) -> None:
        if self.renorm and self.renorm_clipping is None:
            self.renorm_clipping = {}                     # as Keras: `renorm_clipping or {}`
        self._ndim: int | None = None

    def get_config(self) -> dict:
        return _move_key(super().get_config(), "synchronized", "renorm")

    # -- shapes and weights ---------------------------------------------------------

    def _where(self) -> str:
        return f"Layer '{self.name}' (BatchNormalization)"

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple):
            raise ValueError(f"{self._where()} expects a single input, received shapes "
                             f"{shape}.")
        if not -len(shape) <= self.axis < len(shape):
            raise ValueError(f"{self._where()}: axis {self.axis} is out of bounds for an "
                             f"input of shape {shape}.")
        size = shape[self.axis]
        if size is None:
            raise ValueError(f"{self._where()} needs a known size on axis {self.axis}, "
                             f"received shape {shape}.")
        if self.built and (len(shape) != self._ndim or size != self.gamma_shape[0]):
            raise ValueError(f"{self._where()} was built for inputs of rank {self._ndim} "
                             f"with {self.gamma_shape[0]} channels on axis {self.axis}, "
                             f"received shape {shape}.")

    @property
    def gamma_shape(self) -> tuple:
        return tuple(self.moving_mean.shape)

    def build(self, input_shape: tuple) -> None:
        self.check_input_shape(tuple(input_shape))
        shape = (int(input_shape[self.axis]),)
        if self.scale:
            self.gamma = self.add_weight(shape=shape, name="gamma",
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True)
        if self.center:
            self.beta = self.add_weight(shape=shape, name="beta",
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True)
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean",
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)
        if self.renorm:
            self._build_renorm(shape)
        self._ndim = len(input_shape)
        self.built = True

    def _build_renorm(self, shape: tuple) -> None:
        from rnnlens import initializers

        variance_init = initializers.get(self.moving_variance_initializer)

        def stddev_init(shape: tuple, dtype: Any = None) -> np.ndarray:
            return np.sqrt(np.asarray(variance_init(shape, dtype)))

        self.moving_stddev = self.add_weight(shape=shape, name="moving_stddev",
                                             initializer=stddev_init, trainable=False)
        self.renorm_mean = self.add_weight(shape=shape, name="renorm_mean",
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.renorm_stddev = self.add_weight(shape=shape, name="renorm_stddev",
                                             initializer=stddev_init, trainable=False)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return tuple(input_shape)

    # -- running --------------------------------------------------------------------

    def _mask_weights(self, x: np.ndarray, mask: Any) -> np.ndarray | None:
        """The mask as 0 / 1 floats broadcast over ``x`` (Keras expands it on axis -1)."""
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.ndim != x.ndim - 1:
            raise ValueError(f"{self._where()}: the mask provided should be one dimension "
                             f"less than the inputs. Received: mask.shape={mask.shape}, "
                             f"inputs.shape={x.shape}.")
        try:
            return np.broadcast_to(mask[..., None].astype(bool), x.shape).astype(x.dtype)
        except ValueError:
            raise ValueError(f"{self._where()}: a mask of shape {mask.shape} does not fit "
                             f"inputs of shape {x.shape}.") from None

    def _affine(self, x: np.ndarray, shape: tuple) -> tuple[Any, Any]:
        gamma = self.gamma.astype(x.dtype).reshape(shape) if self.scale else None
        beta = self.beta.astype(x.dtype).reshape(shape) if self.center else None
        return gamma, beta

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs, training=training, mask=mask)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        x = inputs
        axis = self.axis % x.ndim
        shape = _stats_shape(x.ndim, axis, x.shape[axis])           # (1, .., C, .., 1)
        weights = self._mask_weights(x, mask)
        gamma, beta = self._affine(x, shape)
        if not (training and self.trainable):
            mean = self.moving_mean.astype(x.dtype).reshape(shape)
            var = self.moving_variance.astype(x.dtype).reshape(shape)
            y, ncache = NM.normalize(x, mean, var, self.epsilon, gamma, beta)
            return y, ("moving", ncache, shape)
        axes = tuple(a for a in range(x.ndim) if a != axis)
        stats = NM.moments(x, axes, weights, self.synchronized)     # (1, .., C, .., 1)
        mean, var = stats["mean"], stats["var"]
        renorm = None
        if self.renorm:
            renorm = self._renorm_correction(mean, var, shape)
            scale, offset = self._compose(renorm, gamma, beta)
            self._update_renorm(mean, var)
        else:
            scale, offset = gamma, beta
            self._update_moving(mean, var)
        y, ncache = NM.normalize(x, mean, var, self.epsilon, scale, offset)
        return y, ("batch", ncache, shape, stats, axes, renorm)

    def _update_moving(self, mean: np.ndarray, var: np.ndarray) -> None:
        """``moving = moving * momentum + batch * (1 - momentum)``, in float32 as Keras."""
        dt = mean.dtype.type
        m, k = dt(self.momentum), dt(1.0 - self.momentum)
        self.moving_mean[...] = self.moving_mean.astype(mean.dtype) * m + mean.reshape(-1) * k
        self.moving_variance[...] = (self.moving_variance.astype(var.dtype) * m
                                     + var.reshape(-1) * k)
        self.weights_changed()

    def _renorm_correction(self, mean: np.ndarray, var: np.ndarray, shape: tuple
                           ) -> tuple[np.ndarray, np.ndarray]:
        """Keras's ``(r, d)``, clipped by ``renorm_clipping``."""
        dt = mean.dtype.type
        stddev = np.sqrt(var + dt(self.epsilon))
        renorm_mean = self.renorm_mean.astype(mean.dtype).reshape(shape)
        renorm_stddev = np.maximum(self.renorm_stddev.astype(mean.dtype).reshape(shape),
                                   np.sqrt(dt(self.epsilon)))
        r = stddev / renorm_stddev
        d = (mean - renorm_mean) / renorm_stddev
        clip = self.renorm_clipping or {}
        if clip.get("rmin") is not None:
            r = np.maximum(r, dt(clip["rmin"]))
        if clip.get("rmax") is not None:
            r = np.minimum(r, dt(clip["rmax"]))
        if clip.get("dmax") is not None:
            d = np.clip(d, dt(-clip["dmax"]), dt(clip["dmax"]))
        return r, d

    @staticmethod
    def _compose(renorm: tuple, gamma: Any, beta: Any) -> tuple[np.ndarray, np.ndarray]:
        """``gamma' = r * gamma``, ``beta' = d * gamma + beta`` (Keras's _compose_transforms)."""
        r, d = renorm
        scale = r if gamma is None else r * gamma
        offset = d if gamma is None else d * gamma
        return scale, (offset if beta is None else offset + beta)

    def _update_renorm(self, mean: np.ndarray, var: np.ndarray) -> None:
        dt = mean.dtype.type
        stddev = np.sqrt(var + dt(self.epsilon)).reshape(-1)
        mean = mean.reshape(-1)

        def average(store: np.ndarray, value: np.ndarray, momentum: float) -> np.ndarray:
            return store.astype(value.dtype) * dt(momentum) + value * dt(1.0 - momentum)

        self.renorm_mean[...] = average(self.renorm_mean, mean, self.renorm_momentum)
        self.renorm_stddev[...] = average(self.renorm_stddev, stddev, self.renorm_momentum)
        self.moving_mean[...] = average(self.moving_mean, mean, self.momentum)
        new_stddev = average(self.moving_stddev, stddev, self.momentum)
        self.moving_stddev[...] = new_stddev
        self.moving_variance[...] = np.maximum(new_stddev * new_stddev - dt(self.epsilon), 0)
        self.weights_changed()

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        kind, ncache, shape = cache[:3]
        if kind == "moving":
            dx, parts = NM.normalize_backward(ncache, d_out)
            d_scale, d_offset = parts["d_scale"], parts["d_offset"]
        else:
            stats, axes, renorm = cache[3:]
            dx, d_scale, d_offset = NM.batch_stats_backward(ncache, stats, axes, d_out)
        d_scale = None if d_scale is None else NM.sum_to(d_scale, shape)
        d_offset = None if d_offset is None else NM.sum_to(d_offset, shape)
        if kind == "batch" and renorm is not None:
            r, d = renorm                                      # constants (stop_gradient)
            d_gamma = d_scale * r + d_offset * d
        else:
            d_gamma = d_scale
        grads = []
        if self.scale:
            grads.append(d_gamma.reshape(-1))
        if self.center:
            grads.append(d_offset.reshape(-1))
        grads += [np.zeros_like(w) for w in self.non_trainable_stats()]
        return dx, {}, grads

    def non_trainable_stats(self) -> list[np.ndarray]:
        """The moving statistics, in weight order (no gradient reaches them)."""
        stats = [self.moving_mean, self.moving_variance]
        if self.renorm:
            stats += [self.moving_stddev, self.renorm_mean, self.renorm_stddev]
        return stats


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (Ba et al., 2016), as Keras 3.15.1.

    With ``mean, var`` over the axes of ``axis`` for each sample (biased variance,
    ``tf.nn.moments``)::

        y = x * inv + (-mean * inv + beta),   inv = rsqrt(var + epsilon) * gamma
        rms_scaling=True (deprecated in Keras): y = x * rsqrt(var + epsilon) * gamma

    Weights: gamma (if scale or rms_scaling) and beta (if center and not rms_scaling),
    of shape ``[input_shape[a] for a in sorted(axis)]``, broadcast over the input as
    Keras reshapes them. Masks pass through unchanged.

    Args:
        axis: an axis or a list of axes to normalize over (Keras stores a sorted list
            once built).
        epsilon: added to the variance.
        center, scale: use beta / gamma.
        beta_initializer, gamma_initializer: as in Keras (zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the training loss.
        beta_constraint, gamma_constraint: applied after every optimizer update.
        rms_scaling: Keras's deprecated variance scaling (keyword only in Keras).
    """

    axis = P.Axis(-1, multiple=True)
    epsilon = P.Float(1e-3, min=0.0)
    center = P.Bool(True)
    scale = P.Bool(True)
    beta_initializer = P.Initializer("zeros")
    gamma_initializer = P.Initializer("ones")
    beta_regularizer = P.Regularizer()
    gamma_regularizer = P.Regularizer()
    beta_constraint = P.Constraint()
    gamma_constraint = P.Constraint()
    rms_scaling = P.Bool(False)

    supports_masking = True

    def __post_init__(self) -> None:
        if self.rms_scaling:
            warnings.warn("You passed `rms_scaling=True`, which is deprecated. This argument "
                          "incorrectly scales the input by the variance, not the root mean "
                          "square. To correctly use RMS Normalization, please use "
                          "`keras.layers.RMSNormalization` instead.", stacklevel=3)
        self._param_shape: tuple | None = None

    def get_config(self) -> dict:
        return _move_key(super().get_config(), "rms_scaling", "beta_initializer")

    def _where(self) -> str:
        return f"Layer '{self.name}' (LayerNormalization)"

    def _axes(self, ndim: int) -> tuple[int, ...]:
        return resolve_axes(self.axis, ndim, self._where())

    def check_input_shape(self, shape: Any, source: Layer | None = None) -> None:
        if not isinstance(shape, tuple):
            raise ValueError(f"{self._where()} expects a single input, received shapes "
                             f"{shape}.")
        axes = self._axes(len(shape))
        if any(shape[a] is None for a in axes):
            raise ValueError(f"{self._where()} needs known sizes on axis {self.axis}, "
                             f"received shape {shape}.")
        if self._param_shape is not None:
            got = tuple(shape[a] for a in self.axis)
            if got != self._param_shape:
                raise ValueError(f"{self._where()} was built for sizes {self._param_shape} "
                                 f"on axes {list(self.axis)}, received shape {shape}.")

    def build(self, input_shape: tuple) -> None:
        input_shape = tuple(input_shape)
        self.check_input_shape(input_shape)
        raw = sorted(self.axis) if isinstance(self.axis, tuple) else [self.axis]
        self.axis = tuple(raw)                               # Keras: a sorted list
        shape = tuple(int(input_shape[a]) for a in raw)
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(name="gamma", shape=shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(name="beta", shape=shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True)
        self._param_shape = shape
        self.built = True

    @property
    def _has_gamma(self) -> bool:
        return bool(self.scale or self.rms_scaling)

    @property
    def _has_beta(self) -> bool:
        return bool(self.center and not self.rms_scaling)

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        return tuple(input_shape)

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        x = inputs
        axes = self._axes(x.ndim)
        bshape = tuple(x.shape[a] if a in axes else 1 for a in range(x.ndim))

        def param(w: np.ndarray) -> np.ndarray:       # Keras's _broadcast: a reshape
            return w.astype(x.dtype).reshape(bshape)

        gamma = param(self.gamma) if self._has_gamma else None
        if self.rms_scaling:
            y, cache = NM.rms_scaled(x, axes, self.epsilon, gamma)
            return y, ("rms", cache, axes, bshape)
        beta = param(self.beta) if self._has_beta else None
        stats = NM.moments(x, axes)                          # (B, .., 1, ..)
        y, ncache = NM.normalize(x, stats["mean"], stats["var"], self.epsilon, gamma, beta)
        return y, ("plain", (ncache, stats), axes, bshape)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        kind, inner, axes, bshape = cache
        if kind == "rms":
            dx, d_gamma = NM.rms_scaled_backward(inner, axes, d_out)
            d_beta = None
        else:
            ncache, stats = inner
            dx, d_gamma, d_beta = NM.batch_stats_backward(ncache, stats, axes, d_out)
        grads = []
        if self._has_gamma:
            grads.append(NM.sum_to(d_gamma, bshape).reshape(self.gamma.shape))
        if self._has_beta:
            grads.append(NM.sum_to(d_beta, bshape).reshape(self.beta.shape))
        return dx, {}, grads


__all__ = ["UnitNormalization", "BatchNormalization", "LayerNormalization", "l2_normalize",
           "l2_normalize_backward", "resolve_axes", "KERAS_EPSILON", "UNIT_EPSILON"]


# -- the normalization layers in their own modules (Keras's layers/normalization/*.py) ----

from rnnlens.layers.normalization.group_normalization import GroupNormalization  # noqa: E402
from rnnlens.layers.normalization.rms_normalization import RMSNormalization  # noqa: E402

__all__ += ["GroupNormalization", "RMSNormalization"]
