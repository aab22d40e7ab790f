"""Regularization layers, as Keras 3 defines them: Dropout and its spatial versions,
GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization.

Every layer here is the identity at inference (``training=False``, the default of
``predict`` / ``evaluate``) and passes masks through unchanged. With
``training=True`` (``fit``, or ``layer(x, training=True)``) they apply Keras's noise:

* ``Dropout``: ``y = where(u >= rate, x * s, 0)`` with ``u ~ U[0, 1)`` drawn with the
  ``noise_shape`` (None entries take the input's size, and the draw broadcasts over the
  input) and ``s = 1 / (1 - rate)`` in float32, as ``tf.nn.experimental.stateless_dropout``;
  ``rate == 1`` gives zeros, as Keras's TensorFlow backend;
* ``SpatialDropout1D/2D/3D``: Dropout with noise shape ``(B, 1, C)``, ``(B, 1, 1, C)``,
  ``(B, 1, 1, 1, C)`` (``(B, C, 1, ...)`` for ``channels_first``): whole channels drop;
* ``GaussianNoise``: ``y = x + n``, ``n ~ N(0, stddev^2)``;
* ``GaussianDropout``: ``y = x * n``, ``n ~ N(1, rate / (1 - rate))``;
* ``AlphaDropout``: with ``k = [u >= rate]``, ``alpha' = -selu_alpha * selu_scale``,
  ``a = ((1 - rate) (1 + rate alpha'^2))^{-1/2}`` and ``b = -a alpha' rate``:
  ``y = a (x k + alpha' (1 - k)) + b`` (mean and variance of SELU activations are kept);
* ``ActivityRegularization``: ``y = x``; the layer's activity regularizer
  ``L1L2(l1, l2)`` adds ``(l1 sum|y| + l2 sum y^2) / batch`` to the training loss.

The backward passes are exact for the drawn noise: ``dx = where(u >= rate, dy * s, 0)``,
``dx = dy``, ``dx = dy * n``, ``dx = (dy * a) * k``, ``dx = dy``.

Random numbers come from ``rnnlens.random.generator()`` (a layer with a ``seed`` keeps
its own generator, so successive calls draw new noise); they cannot equal TensorFlow's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.random import generator

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class _NoiseShape(P.IntTuple):
    """Keras's ``noise_shape``: positive integers or None; ``get_config`` gives a tuple."""

    def __init__(self) -> None:
        super().__init__(None, items_none=True, min=1)

    def dump(self, value: Any) -> Any:
        return value


class _Regularization(Layer):
    """Shared machinery: identity at inference, masks pass, output shape = input shape.

    Subclasses implement ``_active()`` (whether training changes anything) and
    ``_apply(x)`` -> ``(y, cache)`` and ``_back(cache, dy)`` for training.
    """

    supports_masking = True
    #: Keras's ``get_config`` key order after the base keys.
    _config_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seed = getattr(self, "seed", None)
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _generator(self) -> np.random.Generator:
        return self._rng if self._rng is not None else generator()

    def _active(self) -> bool:
        return False

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs, training=training)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, Any]:
        if not training or not self._active():
            return inputs, None
        return self._apply(inputs)

    def backward(self, cache: Any, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        return (d_out if cache is None else self._back(cache, d_out)), {}, []

    def _apply(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _back(self, cache: Any, d_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        base = {k: v for k, v in config.items() if k not in type(self)._params}
        return {**base, **{k: config[k] for k in self._config_keys}}

    # -- helpers shared by the dropout family --------------------------------------

    def _noise_shape(self, shape: tuple) -> tuple:
        """The concrete shape of the random draw (Keras's ``_get_concrete_noise_shape``)."""
        spec = getattr(self, "noise_shape", None)
        if spec is None:
            return tuple(shape)
        if any(d is None for d in spec[len(shape):]):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) has noise_shape={spec}, whose "
                f"None entries must lie within the input's {len(shape)} dimensions (input "
                f"shape {tuple(shape)}).")
        concrete = tuple(shape[i] if d is None else d for i, d in enumerate(spec))
        try:
            ok = np.broadcast_shapes(concrete, tuple(shape)) == tuple(shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) has noise_shape={spec}, i.e. "
                f"{concrete} for an input of shape {tuple(shape)}; the noise must broadcast to "
                "the input's shape: each entry equal to the input's size, 1, or None.")
        return concrete

    def _uniform(self, shape: tuple, dtype: Any) -> np.ndarray:
        """``U[0, 1)`` of ``shape`` (the draw a keep mask compares with ``rate``)."""
        return self._generator().random(shape, dtype=np.float32).astype(dtype, copy=False)

    def _refuse_rate_one(self) -> None:
        raise ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) has rate=1.0, which Keras accepts "
            "but cannot apply in training (its noise scale divides by 1 - rate = 0). Use a "
            "rate below 1.")


class Dropout(_Regularization):
    """Sets a fraction ``rate`` of the inputs to 0 in training and scales the rest by
    ``1 / (1 - rate)``, so that the expected sum is unchanged.

    Args:
        rate: float in [0, 1], the fraction of the input units to drop.
        noise_shape: shape of the binary keep mask, broadcast over the input; e.g.
            ``(batch, 1, features)`` (or ``(None, 1, None)``) drops the same features at
            every time step. None entries take the input's size. Default: the input's shape.
        seed: integer seed of the layer's own generator (None: the global one).
    """

    rate = P.Float(min=0.0, max=1.0)
    noise_shape = _NoiseShape()
    seed = P.Seed()

    _config_keys = ("rate", "seed", "noise_shape")

    def _active(self) -> bool:
        return self.rate > 0

    def _draw(self, shape: tuple, dtype: Any) -> np.ndarray:
        """The uniform draw of the keep mask (``keep = draw >= rate``); tests replace it."""
        return self._uniform(shape, dtype)

    def _noise_shape_for(self, shape: tuple) -> tuple:
        return self._noise_shape(shape)

    def _apply(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        if self.rate >= 1.0:                               # Keras's TF backend: zeros
            return np.zeros_like(x), (np.zeros((1,) * x.ndim, bool), x.dtype.type(0))
        keep = self._draw(self._noise_shape_for(x.shape), x.dtype) >= self.rate  # noise shape
        scale = x.dtype.type(1.0 / (1.0 - self.rate))
        return np.where(keep, x * scale, x.dtype.type(0)), (keep, scale)

    def _back(self, cache: tuple, d_out: np.ndarray) -> np.ndarray:
        keep, scale = cache
        return np.where(keep, d_out * scale, d_out.dtype.type(0))


class _SpatialDropout(Dropout):
    """Dropout of whole channels: the noise shape keeps the batch and channel axes."""

    noise_shape = None
    ndim = 3
    keras2_keys = {"noise_shape": None}      # tf.keras wrote noise_shape: null here
    #: the declared arguments in Keras's signature order.
    _signature: tuple[str, ...] = ("rate", "seed")

    @classmethod
    def _declared_params(cls) -> dict:
        params = P.declared(cls)
        return {k: params[k] for k in cls._signature if k in params}

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple) or len(shape) != self.ndim:
            raise ValueError(
                f"Input 0 of layer '{self.name}' ({type(self).__name__}) is incompatible with "
                f"the layer: expected ndim={self.ndim}, found shape {shape}.")

    def _noise_shape_for(self, shape: tuple) -> tuple:
        if getattr(self, "data_format", "channels_last") == "channels_first":
            return (shape[0], shape[1]) + (1,) * (len(shape) - 2)
        return (shape[0],) + (1,) * (len(shape) - 2) + (shape[-1],)

    def get_config(self) -> dict:
        """Keras's spatial dropouts write only these keys (no ``trainable``)."""
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": "float32"}
        if "data_format" in type(self)._params:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of entire feature maps of a (B, T, C) input: noise shape (B, 1, C).

    Args:
        rate: float in [0, 1], the fraction of the channels to drop.
        seed: integer seed of the layer's own generator.
    """

    ndim = 3


class _SpatialDropoutND(_SpatialDropout):
    """2D / 3D spatial dropout, with a channel axis given by ``data_format``."""

    data_format = P.Choice(None, ("channels_last", "channels_first", None), lower=True)
    _signature = ("rate", "data_format", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.data_format is None:
            self.data_format = "channels_last"         # Keras's image_data_format()


class SpatialDropout2D(_SpatialDropoutND):
    """Dropout of entire 2D feature maps of a 4D input.

    Noise shape (B, 1, 1, C) for ``channels_last`` (default), (B, C, 1, 1) for
    ``channels_first``.

    Args:
        rate: float in [0, 1], the fraction of the channels to drop.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: integer seed of the layer's own generator.
    """

    ndim = 4


class SpatialDropout3D(_SpatialDropoutND):
    """Dropout of entire 3D feature maps of a 5D input.

    Noise shape (B, 1, 1, 1, C) for ``channels_last`` (default), (B, C, 1, 1, 1) for
    ``channels_first``.

    Args:
        rate: float in [0, 1], the fraction of the channels to drop.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: integer seed of the layer's own generator.
    """

    ndim = 5


class GaussianNoise(_Regularization):
    """Adds zero-centred Gaussian noise in training: ``y = x + n``, ``n ~ N(0, stddev^2)``.

    Args:
        stddev: float in [0, 1] (Keras's bounds), the noise's standard deviation.
        seed: integer seed of the layer's own generator.
    """

    stddev = P.Float(min=0.0, max=1.0)
    seed = P.Seed()

    _config_keys = ("stddev", "seed")

    def _active(self) -> bool:
        return self.stddev > 0

    def _draw(self, shape: tuple, dtype: Any) -> np.ndarray:
        """The additive noise ``N(0, stddev^2)``; tests replace it."""
        n = self._generator().standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)
        return n * dtype.type(self.stddev)

    def _apply(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return x + self._draw(x.shape, x.dtype), ()                  # (..., same as x)

    def _back(self, cache: Any, d_out: np.ndarray) -> np.ndarray:
        return d_out


class GaussianDropout(_Regularization):
    """Multiplies by 1-centred Gaussian noise in training: ``y = x * n``,
    ``n ~ N(1, rate / (1 - rate))``.

    Args:
        rate: float in [0, 1], as for Dropout (``rate = 1`` cannot train: infinite variance).
        seed: integer seed of the layer's own generator.
    """

    rate = P.Float(min=0.0, max=1.0)
    seed = P.Seed()

    _config_keys = ("rate", "seed")

    def _active(self) -> bool:
        return self.rate > 0

    def _draw(self, shape: tuple, dtype: Any) -> np.ndarray:
        """The multiplicative noise ``N(1, rate / (1 - rate))``; tests replace it."""
        stddev = dtype.type(math.sqrt(self.rate / (1.0 - self.rate)))
        n = self._generator().standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)
        return n * stddev + dtype.type(1.0)

    def _apply(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        if self.rate >= 1.0:
            self._refuse_rate_one()
        noise = self._draw(x.shape, x.dtype)
        return x * noise, noise

    def _back(self, cache: np.ndarray, d_out: np.ndarray) -> np.ndarray:
        return d_out * cache


class AlphaDropout(_Regularization):
    """Dropout for SELU networks: dropped units take SELU's negative saturation value and
    an affine map restores the mean and variance (see the module docstring).

    Args:
        rate: float in [0, 1], the fraction of the input units to drop (``rate = 1``
            cannot train).
        noise_shape: shape of the keep mask, broadcast over the input (None entries take
            the input's size).
        seed: integer seed of the layer's own generator.
    """

    rate = P.Float(min=0.0, max=1.0)
    noise_shape = _NoiseShape()
    seed = P.Seed()

    _config_keys = ("rate", "seed", "noise_shape")

    def _active(self) -> bool:
        return self.rate > 0

    def _draw(self, shape: tuple, dtype: Any) -> np.ndarray:
        """The uniform draw of the keep mask (``keep = draw >= rate``); tests replace it."""
        return self._uniform(shape, dtype)

    def _apply(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        if self.rate >= 1.0:
            self._refuse_rate_one()
        t = x.dtype.type
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        kept = (self._draw(self._noise_shape(x.shape), x.dtype) >= self.rate).astype(x.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        y = t(a) * (x * kept + t(alpha_p) * (t(1) - kept)) + t(b)
        return y, (kept, t(a))

    def _back(self, cache: tuple, d_out: np.ndarray) -> np.ndarray:
        kept, a = cache
        return (d_out * a) * kept


class ActivityRegularization(_Regularization):
    """The identity, with an activity regularizer ``L1L2(l1, l2)`` on its output: training
    adds ``(l1 * sum(|y|) + l2 * sum(y^2)) / batch_size`` to the loss.

    Args:
        l1: L1 factor (non-negative float).
        l2: L2 factor (non-negative float).
    """

    l1 = P.Float(0.0, min=0.0, none=True)
    l2 = P.Float(0.0, min=0.0, none=True)

    _config_keys = ("l1", "l2")

    def __post_init__(self) -> None:
        from rnnlens.regularizers import L1L2

        super().__post_init__()
        if self.activity_regularizer is not None:
            raise TypeError("ActivityRegularization got multiple values for "
                            "`activity_regularizer`: it sets its own, L1L2(l1, l2).")
        self.activity_regularizer = L1L2(self.l1, self.l2)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return config


__all__ = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
           "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"]
