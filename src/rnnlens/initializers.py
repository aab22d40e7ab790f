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


def compute_fans(shape: Shape) -> tuple[int, int]:
    """Keras's ``compute_fans``: (fan_in, fan_out) of a weight shape."""
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
    ):
        super().__init__(seed)
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
        fan_in, fan_out = compute_fans(tuple(shape))
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
        }


def _scaling(name: str, scale: float, mode: str, distribution: str) -> type:
    """Makes a named VarianceScaling preset (GlorotUniform, HeNormal, ...)."""

    def __init__(self, seed: int | None = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}

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
        a = self._rng().normal(size=(max(rows, cols), min(rows, cols)))
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
        cls = _CLASSES.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"Received an unknown initializer config: {identifier!r}.")
        return cls(**identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Received initializer={identifier!r} of type {type(identifier).__name__}, "
        "expected a name such as 'glorot_uniform', an Initializer, or a callable."
    )


def serialize(init: Initializer) -> dict:
    """Keras's serialized form ``{"class_name": ..., "config": {...}}``."""
    return {"class_name": type(init).__name__, "config": init.get_config()}


__all__ = ["get", "serialize", "compute_fans", "Initializer", "IdentityInitializer",
           "OrthogonalInitializer", *sorted(_CLASSES)]
