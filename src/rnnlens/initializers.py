"""Weight initializers with Keras 3's names, formulas and configs.

Values are drawn from NumPy's generator (``rnnlens.random``), so they follow
Keras's distributions but not its exact random numbers; copy weights with
``set_weights`` when you need identical models.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from rnnlens.random import generator

Shape = tuple[int, ...]


def compute_fans(shape: Shape, input_axes: Any = None, output_axes: Any = None
                 ) -> tuple[int, int]:
    """Keras's ``compute_fans``: (fan_in, fan_out) of a weight shape.

    With ``input_axes`` and ``output_axes`` (Keras 3.15, e.g. for EinsumDense),
    the fans are the products of those axes' sizes.
    """
    if input_axes is not None and output_axes is not None:
        try:
            return (int(math.prod(shape[a] for a in input_axes)),
                    int(math.prod(shape[a] for a in output_axes)))
        except (IndexError, TypeError):
            raise ValueError(f"input_axes={input_axes!r} / output_axes={output_axes!r} do "
                             f"not index a weight of shape {shape}.") from None
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: ``init(shape, dtype="float32")`` returns a new array."""

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self) -> dict:
        return {"value": self.value}


class Zeros(Constant):
    """All zeros."""

    def __init__(self):
        super().__init__(0.0)

    def get_config(self) -> dict:
        return {}


class Ones(Constant):
    """All ones."""

    def __init__(self):
        super().__init__(1.0)

    def get_config(self) -> dict:
        return {}


class _Seeded(Initializer):
    """An initializer drawing from ``rnnlens.random`` (or its own ``seed``)."""

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        return generator(self.seed)


class RandomNormal(_Seeded):
    """Normal draws with ``mean`` and ``stddev``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        return self._rng().normal(self.mean, self.stddev, size=shape).astype(dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    """Uniform draws in ``[minval, maxval)``."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        return self._rng().uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng: np.random.Generator, stddev: float, shape: Shape) -> np.ndarray:
    """Normal draws re-drawn until they lie within two standard deviations."""
    out = rng.normal(0.0, stddev, size=shape)
    bad = np.abs(out) > 2 * stddev
    while bad.any():
        out[bad] = rng.normal(0.0, stddev, size=int(bad.sum()))
        bad = np.abs(out) > 2 * stddev
    return out


class TruncatedNormal(_Seeded):
    """Normal draws cut at two standard deviations."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        return (self.mean + _truncated_normal(self._rng(), self.stddev, shape)).astype(dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Seeded):
    """Scale / fan draws, as Keras's ``VarianceScaling``."""

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes: Any = None,
        output_axes: Any = None,
    ):
        super().__init__(seed)
        self.input_axes = _axes(input_axes, "input_axes")
        self.output_axes = _axes(output_axes, "output_axes")
        if not isinstance(scale, (int, float)) or isinstance(scale, bool):
            raise TypeError(f"Received scale={scale!r}, expected a positive float.")
        if scale <= 0.0:
            raise ValueError(f"Received scale={scale}, expected a positive float.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Received mode={mode!r}, expected 'fan_in', 'fan_out' or 'fan_avg'.")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                f"Received distribution={distribution!r}, expected 'truncated_normal', "
                "'untruncated_normal' or 'uniform'."
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        fan_in, fan_out = compute_fans(tuple(shape), self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        var = self.scale / max(1.0, fan[self.mode])
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return rng.uniform(-limit, limit, size=shape).astype(dtype)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(var), size=shape).astype(dtype)
        stddev = math.sqrt(var) / 0.87962566103423978
        return _truncated_normal(rng, stddev, shape).astype(dtype)

    def get_config(self) -> dict:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            "input_axes": _list(self.input_axes),
            "output_axes": _list(self.output_axes),
        }


def _axes(axes: Any, name: str) -> tuple[int, ...] | None:
    if axes is None:
        return None
    if not isinstance(axes, (list, tuple)) or len(axes) > 32 or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in axes):
        raise ValueError(f"Received {name}={axes!r}, expected a list of integer axes or None.")
    return tuple(axes)


def _list(axes: Any) -> Any:
    return None if axes is None else list(axes)


def _scaling(name: str, scale: float, mode: str, distribution: str) -> type:
    """Makes a named VarianceScaling preset (GlorotUniform, HeNormal, ...)."""

    def __init__(self, seed: int | None = None, input_axes: Any = None,
                 output_axes: Any = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes,
                                 output_axes)

    def get_config(self) -> dict:
        return {"seed": self.seed, "input_axes": _list(self.input_axes),
                "output_axes": _list(self.output_axes)}

    doc = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc})


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(_Seeded):
    """A matrix with orthonormal rows or columns, times ``gain``.

    As Keras: QR of a (max(r, c), min(r, c)) normal draw, columns sign-fixed by
    ``diag(R)``, transposed when there are fewer rows than columns. For an LSTM's
    (u, 4u) recurrent kernel the whole matrix gets orthonormal rows.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        if len(shape) < 2:
            raise ValueError(
                f"Received shape={tuple(shape)} for an Orthogonal initializer, "
                "expected at least 2 dimensions."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        from rnnlens.cells._kernels import one_blas_thread

        a = self._rng().normal(size=(max(rows, cols), min(rows, cols)))
        with one_blas_thread():        # OpenBLAS's idle threads would spin after the QR
            q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape: Shape, dtype: Any = "float32") -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Received shape={tuple(shape)}, expected a 2-D shape for Identity.")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self) -> dict:
        return {"gain": self.gain}


_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (Constant, Zeros, Ones, RandomNormal, RandomUniform, TruncatedNormal,
                VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
                LecunUniform, LecunNormal, Orthogonal, Identity)
}


def _snake(name: str) -> str:
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_BY_NAME: dict[str, type] = {
    **{_snake(n): c for n, c in _CLASSES.items()},
    **{n: c for n, c in _CLASSES.items()},
    "zero": Zeros, "one": Ones, "uniform": RandomUniform, "normal": RandomNormal,
    "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
}
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
_ALIASES = {"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal}
# Keras's lowercase aliases (the classes themselves, as in keras.initializers).
constant, zeros, ones, identity, orthogonal = Constant, Zeros, Ones, Identity, Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform, glorot_normal, he_uniform, he_normal = (GlorotUniform, GlorotNormal,
                                                        HeUniform, HeNormal)
lecun_uniform, lecun_normal = LecunUniform, LecunNormal


from rnnlens._windows import STFT  # noqa: E402  (STFTSpectrogram's kernels)

STFTInitializer = stft = STFT
_CLASSES["STFT"] = STFT
_BY_NAME.update({"STFT": STFT, "stft": STFT, "STFTInitializer": STFT})


def get(identifier: str | Initializer | dict | None) -> Initializer | None:
    """Resolves an initializer from a Keras name, a config dict or an instance.

    Accepts ``"glorot_uniform"`` or ``"GlorotUniform"``, Keras's serialized form
    ``{"class_name": "Constant", "config": {"value": 1.0}}``, or any callable
    ``f(shape, dtype)``.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(
                f"Received an unknown initializer: {identifier!r}, expected one of "
                f"{sorted(k for k in _BY_NAME if k.islower())}."
            )
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("class_name", "")
        # Keras 3.0 - 3.4 save the orthogonal / identity initializers by their alias
        # class names ("OrthogonalInitializer", "IdentityInitializer").
        cls = _CLASSES.get(name) or _ALIASES.get(name)
        config = identifier.get("config", {})
        if cls is None or not isinstance(config, dict):
            raise ValueError(f"Received an unknown initializer config: {str(identifier)[:200]}.")
        try:
            return cls(**config)
        except TypeError as err:
            raise ValueError(f"Received an invalid {cls.__name__} config {config!r}: "
                             f"{err}.") from None
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Received initializer={identifier!r} of type {type(identifier).__name__}, "
        "expected a name such as 'glorot_uniform', an Initializer, or a callable."
    )


def deserialize(config: Any, custom_objects: Any = None) -> Initializer:
    """An initializer from ``serialize``'s dict (built-in classes only)."""
    if not isinstance(config, dict):
        raise ValueError(f"Could not interpret serialized initializer: {config!r}")
    return get(config)


def serialize(init: Initializer) -> dict:
    """Keras 3's serialized form ``{"module", "class_name", "config", "registered_name"}``."""
    if type(init).__name__ not in _CLASSES or not isinstance(init, Initializer):
        raise ValueError(f"Cannot serialize initializer {init!r}: only Keras's built-in "
                         "initializers have a config Keras can load.")
    return {"module": "keras.initializers", "class_name": type(init).__name__,
            "config": init.get_config(), "registered_name": None}


__all__ = ["get", "serialize", "deserialize", "compute_fans", "Initializer",
           "IdentityInitializer", "constant", "zeros", "ones", "identity", "orthogonal",
           "random_normal", "random_uniform", "truncated_normal", "variance_scaling",
           "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
           "lecun_normal",
           "OrthogonalInitializer", "STFTInitializer", "stft", *sorted(_CLASSES)]
