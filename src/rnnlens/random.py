"""``keras.random``: seeded draws from the usual distributions, and ``SeedGenerator``.

Every function takes Keras 3.15.1's arguments and defaults (float draws in
``floatx()``, ``randint`` and ``categorical`` in int32) and a ``seed`` that is

* ``None``: the global generator, which :func:`set_random_seed` makes reproducible;
* an ``int``: the same values on every call (the seed pair ``[seed, 0]``);
* a :class:`SeedGenerator`: its state ``[seed, counter]``, advanced by each call, so
  repeated calls differ but the sequence is reproducible. ``normal(s, seed=7)`` and
  the first draw of ``SeedGenerator(7)`` are the same, as in Keras.

A seed pair selects a NumPy ``Generator``; TensorFlow's Philox streams cannot be
reproduced, so the numbers differ from Keras's while the distributions agree:

    normal               x = mean + stddev * z,                     z ~ N(0, 1)
    truncated_normal     the same, redrawn while |z| > 2
    uniform              x = minval + (maxval - minval) * u,        u ~ U[0, 1)
    randint              uniform integers in [minval, maxval)
    dropout              x * [u >= rate] / (1 - rate), u drawn over noise_shape
    categorical          P(k) = softmax(logits)_k per row
    gamma, beta, binomial  NumPy's samplers; beta = g_a / (g_a + g_b) in law

Draws are made in float64 and rounded to the requested dtype. Arguments that
TensorFlow turns into NaN or out-of-range values (negative ``alpha``, probabilities
outside [0, 1], all-``-inf`` logits, integer bounds outside the dtype) raise
``ValueError`` here instead.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from rnnlens import backend as _backend
from rnnlens import naming

_GLOBAL: dict = {"rng": None}        # made on first use: numpy.random costs ~20 ms to import
_INT64 = (-(1 << 63), (1 << 63) - 1)


def set_random_seed(seed: int) -> None:
    """Makes every later default initialisation and dropout draw reproducible.

    Like ``keras.utils.set_random_seed``: after ``set_random_seed(7)`` the same
    program builds the same weights every run; Python's ``random`` and NumPy's global
    generator (``np.random.shuffle``, ...) are seeded too, as Keras seeds them.
    """
    import random

    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"Received seed={seed!r}, expected an integer.")
    if not 0 <= seed < 2**32:
        raise ValueError(f"Received seed={seed!r}; expected an integer in [0, 2**32) "
                         "(NumPy's global generator takes no other seeds).")
    random.seed(int(seed))
    np.random.seed(int(seed))
    _GLOBAL["rng"] = np.random.default_rng(int(seed))


def generator(seed: int | None = None) -> np.random.Generator:
    """A fresh generator for an explicit ``seed``, else the global one."""
    if seed is None:
        if _GLOBAL["rng"] is None:
            _GLOBAL["rng"] = np.random.default_rng()
        return _GLOBAL["rng"]
    return np.random.default_rng(int(seed))


# ---------------------------------------------------------------------------- seeds
class SeedGenerator:
    """A seed that advances on every draw (``keras.random.SeedGenerator``).

    The state is the int64 pair ``[seed, counter]``; :meth:`next` returns it and adds 1
    to the counter. Passing the generator as ``seed=`` to the functions of this module
    gives new values on each call, reproducibly for a fixed ``seed``.

    Args:
        seed: an int, or None for a seed drawn from the global generator (so
            :func:`set_random_seed` makes it reproducible).
        name: defaults to ``"seed_generator"`` with Keras's counter (``_1``, ...).

    Example:

    >>> gen = SeedGenerator(seed=42)
    >>> a = normal((2, 3), seed=gen)
    >>> b = normal((2, 3), seed=gen)       # different from a
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any):
        if kwargs.pop("backend", None) is not None:
            raise ValueError("rnnlens has a single (NumPy) backend; remove `backend`.")
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Received name={name!r}, expected a string.")
        self.name = name if name is not None else naming.unique("seed_generator")
        self._initial_seed = seed
        if seed is None:
            seed = int(generator().integers(1, 10**9 + 1))
        if not _is_int(seed):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        _check_int64(seed)
        self.state = np.array([seed, 0], dtype=np.int64)              # (2,)

    def next(self, ordered: bool = True) -> np.ndarray:
        """The current ``[seed, counter]`` (a copy), then advances the state.

        ``ordered=False`` scrambles the state instead, as Keras's global generator does:
        ``state <- (state + 1) * 5387 mod 933199``.
        """
        value = self.state.copy()
        if ordered:
            self.state = self.state + np.array([0, 1], dtype=np.int64)
        else:
            self.state = (self.state + 1) * 5387 % 933199
        return value

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "SeedGenerator":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name} state={self.state.tolist()}>"


def _is_int(x: Any) -> bool:
    """A Python int (Keras's test; bool is refused as TensorFlow refuses it)."""
    return isinstance(x, int) and not isinstance(x, bool)


def _check_int64(seed: int) -> None:
    if not _INT64[0] <= seed <= _INT64[1]:
        raise ValueError(f"Received seed={seed}, which does not fit in int64 (TensorFlow's "
                         "seed dtype); use a smaller integer.")


def draw_seed(seed: Any) -> np.ndarray | None:
    """The ``[seed, counter]`` pair a ``seed`` argument stands for (None: global)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if _is_int(seed):
        _check_int64(seed)
        return np.array([seed, 0], dtype=np.int64)
    if seed is None:
        return None
    raise ValueError("Argument `seed` must be either an integer or an instance of "
                     f"`SeedGenerator`. Received: seed={seed} (of type {type(seed)})")


def _rng(seed: Any) -> np.random.Generator:
    pair = draw_seed(seed)
    if pair is None:
        return generator()
    return np.random.default_rng([int(p) % (1 << 64) for p in pair])


# ---------------------------------------------------------------------------- checks
def _shape(shape: Any, fn: str) -> tuple[int, ...]:
    """A tuple of non-negative ints from a list, tuple or 1-D integer array."""
    if isinstance(shape, np.ndarray) and shape.ndim == 1 and shape.dtype.kind in "iu":
        shape = shape.tolist()
    if not isinstance(shape, (list, tuple)):
        raise TypeError(f"keras.random.{fn}: `shape` must be a tuple or list of ints, "
                        f"received {shape!r} (write ({shape!r},) for one dimension).")
    dims = []
    for d in shape:
        if d is None:
            raise ValueError(f"keras.random.{fn}: `shape`={tuple(shape)} has an unknown "
                             "(None) dimension; random values need a fully known shape.")
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"keras.random.{fn}: `shape` entries must be ints, received "
                            f"{d!r} in {shape!r}.")
        if d < 0:
            raise ValueError(f"keras.random.{fn}: `shape`={tuple(shape)} has a negative "
                             "dimension.")
        dims.append(int(d))
    return tuple(dims)


def _dtype(dtype: Any, fn: str, kinds: str, error: type = TypeError) -> np.dtype:
    """The NumPy dtype for a Keras dtype-like whose kind is in ``kinds`` ("f", "i")."""
    try:
        name = _backend.standardize_dtype(dtype)
    except (ValueError, TypeError):
        raise error(f"keras.random.{fn}: invalid dtype {dtype!r}.") from None
    ok = ("f" in kinds and _backend.is_float_dtype(name)) or \
         ("i" in kinds and _backend.is_int_dtype(name))
    if not ok:
        want = {"f": "a floating point", "i": "an integer", "fi": "a numeric"}[kinds]
        raise error(f"keras.random.{fn} requires {want} `dtype`. Received: dtype={name}")
    if name == "bfloat16":
        raise TypeError(f"keras.random.{fn}: dtype 'bfloat16' has no NumPy equivalent; use "
                        "float16, float32 or float64.")
    return np.dtype(name)


def _real(value: Any, name: str, fn: str) -> np.ndarray:
    """A finite real float64 array (a scalar or an array)."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"keras.random.{fn}: `{name}` must be a number or an array of "
                        f"numbers, received {value!r}.")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        raise TypeError(f"keras.random.{fn}: `{name}` must be a number or an array of "
                        f"numbers, received {value!r}.") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"keras.random.{fn}: `{name}` must be real numbers, received "
                        f"dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"keras.random.{fn}: `{name}` must be finite, received {value!r}.")
    return arr


def _fits(param: np.ndarray, shape: tuple, name: str, fn: str) -> None:
    try:
        ok = np.broadcast_shapes(param.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"keras.random.{fn}: `{name}` of shape {param.shape} does not "
                         f"broadcast to shape {shape}.")


def _out(x: Any, dtype: np.dtype) -> np.ndarray:
    return np.asarray(x).astype(dtype, copy=False)


# ---------------------------------------------------------------------------- continuous
def normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = None,
           seed: Any = None) -> np.ndarray:
    """Samples from N(mean, stddev^2): ``mean + stddev * z``.

    Args:
        shape: the output shape (a tuple of ints).
        mean, stddev: floats, or arrays broadcastable to ``shape``.
        dtype: a float dtype; defaults to ``floatx()``.
        seed: None, an int or a :class:`SeedGenerator` (see the module docstring).
    """
    dt = _dtype(dtype or _backend.floatx(), "normal", "f")
    shape = _shape(shape, "normal")
    m, s = _real(mean, "mean", "normal"), _real(stddev, "stddev", "normal")
    _fits(m, shape, "mean", "normal")
    _fits(s, shape, "stddev", "normal")
    z = _rng(seed).standard_normal(shape)
    return _out(m + s * z, dt)


def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = None,
                     seed: Any = None) -> np.ndarray:
    """Samples from N(mean, stddev^2) conditioned on |x - mean| <= 2 |stddev|
    (draws beyond two standard deviations are redrawn), as TensorFlow's."""
    dt = _dtype(dtype or _backend.floatx(), "truncated_normal", "f")
    shape = _shape(shape, "truncated_normal")
    m = _real(mean, "mean", "truncated_normal")
    s = _real(stddev, "stddev", "truncated_normal")
    _fits(m, shape, "mean", "truncated_normal")
    _fits(s, shape, "stddev", "truncated_normal")
    rng = _rng(seed)
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while bad.any():                       # 4.6% redrawn per round: ends in a few rounds
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return _out(m + s * z, dt)


def uniform(shape: Any, minval: Any = 0.0, maxval: Any = 1.0, dtype: Any = None,
            seed: Any = None) -> np.ndarray:
    """Samples from U[minval, maxval): ``minval + (maxval - minval) * u``.

    ``dtype`` must be a float dtype (``ValueError`` otherwise, as Keras); values that
    round up to ``maxval`` in a narrow dtype are moved to the float just below it.
    """
    if dtype and not _backend.is_float_dtype(dtype):
        raise ValueError("`keras.random.uniform` requires a floating point `dtype`. "
                         f"Received: dtype={dtype} ")
    dt = _dtype(dtype or _backend.floatx(), "uniform", "f", ValueError)
    shape = _shape(shape, "uniform")
    lo, hi = _real(minval, "minval", "uniform"), _real(maxval, "maxval", "uniform")
    _fits(lo, shape, "minval", "uniform")
    _fits(hi, shape, "maxval", "uniform")
    u = _rng(seed).random(shape)
    x = _out(lo + (hi - lo) * u, dt)
    top = np.broadcast_to(hi, shape).astype(dt)
    below = np.nextafter(top, np.asarray(-np.inf, dt))
    clash = (x >= top) & (np.broadcast_to(lo, shape) < np.broadcast_to(hi, shape))
    return np.where(clash, below, x).astype(dt) if clash.any() else x


def gamma(shape: Any, alpha: Any, dtype: Any = None, seed: Any = None) -> np.ndarray:
    """Samples from Gamma(alpha, 1): density x^(alpha-1) e^(-x) / Gamma(alpha), x > 0.

    ``alpha`` (> 0) is a float or an array whose shape ends ``shape`` (TensorFlow's rule).
    """
    dt = _dtype(dtype or _backend.floatx(), "gamma", "f")
    shape = _shape(shape, "gamma")
    a = _positive(alpha, "alpha", "gamma")
    if a.ndim and shape[len(shape) - a.ndim:] != a.shape:
        raise ValueError(f"keras.random.gamma: `shape`={shape} must end with the shape "
                         f"of `alpha` {a.shape}.")
    return _out(_rng(seed).gamma(a, size=shape), dt)


def beta(shape: Any, alpha: Any, beta: Any, dtype: Any = None, seed: Any = None
         ) -> np.ndarray:
    """Samples from Beta(alpha, beta): density x^(a-1) (1-x)^(b-1) / B(a, b) on (0, 1).

    ``alpha`` and ``beta`` (> 0) are floats or arrays broadcastable to ``shape``.
    """
    dt = _dtype(dtype or _backend.floatx(), "beta", "f")
    shape = _shape(shape, "beta")
    a, b = _positive(alpha, "alpha", "beta"), _positive(beta, "beta", "beta")
    _fits(a, shape, "alpha", "beta")
    _fits(b, shape, "beta", "beta")
    return _out(_rng(seed).beta(a, b, size=shape), dt)


def _positive(value: Any, name: str, fn: str) -> np.ndarray:
    arr = _real(value, name, fn)
    if np.any(arr <= 0):
        raise ValueError(f"keras.random.{fn}: `{name}` must be > 0, received {value!r} "
                         "(TensorFlow returns NaN there).")
    return arr


# ---------------------------------------------------------------------------- discrete
def _int_scalar(value: Any, name: str, fn: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"keras.random.{fn}: `{name}` must be an integer, received {value!r}.")
    try:
        return operator.index(value)
    except TypeError:
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
            return int(value)
        raise TypeError(f"keras.random.{fn}: `{name}` must be an integer, received "
                        f"{value!r}.") from None


def randint(shape: Any, minval: Any, maxval: Any, dtype: Any = "int32", seed: Any = None
            ) -> np.ndarray:
    """Uniform integers in ``[minval, maxval)``.

    ``dtype`` must be an integer dtype (``ValueError`` otherwise, as Keras); bounds
    must be integers with ``minval < maxval`` and every value must fit ``dtype``.
    """
    if dtype and not _backend.is_int_dtype(dtype):
        raise ValueError("`keras.random.randint` requires an integer `dtype`. "
                         f"Received: dtype={dtype} ")
    if not dtype:
        raise TypeError(f"keras.random.randint: received dtype={dtype!r}, expected an "
                        "integer dtype such as 'int32'.")
    dt = _dtype(dtype, "randint", "i", ValueError)
    shape = _shape(shape, "randint")
    lo = _int_scalar(minval, "minval", "randint")
    hi = _int_scalar(maxval, "maxval", "randint")
    if lo >= hi:
        raise ValueError(f"keras.random.randint: need minval < maxval, got {lo} >= {hi}.")
    info = np.iinfo(dt)
    if lo < info.min or hi - 1 > info.max:
        raise ValueError(f"keras.random.randint: [{lo}, {hi}) does not fit dtype {dt.name} "
                         f"([{info.min}, {info.max}]).")
    return _rng(seed).integers(lo, hi, size=shape, dtype=np.int64).astype(dt)


def binomial(shape: Any, counts: Any, probabilities: Any, dtype: Any = None,
             seed: Any = None) -> np.ndarray:
    """Samples from Binomial(counts, probabilities): successes in ``counts`` trials.

    ``counts`` (whole numbers >= 0) and ``probabilities`` (in [0, 1]) are numbers or
    arrays broadcastable to ``shape``; ``dtype`` is a float (default ``floatx()``) or
    an integer dtype, as TensorFlow's ``output_dtype``.
    """
    dt = _dtype(dtype or _backend.floatx(), "binomial", "fi")
    shape = _shape(shape, "binomial")
    n = _real(counts, "counts", "binomial")
    p = _real(probabilities, "probabilities", "binomial")
    if np.any(n < 0) or np.any(n != np.floor(n)) or np.any(n > _INT64[1]):
        raise ValueError(f"keras.random.binomial: `counts` must be whole numbers >= 0, "
                         f"received {counts!r}.")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"keras.random.binomial: `probabilities` must be in [0, 1], "
                         f"received {probabilities!r}.")
    _fits(n, shape, "counts", "binomial")
    _fits(p, shape, "probabilities", "binomial")
    if dt.kind in "iu" and np.any(n > np.iinfo(dt).max):
        raise ValueError(f"keras.random.binomial: `counts` up to {n.max():.0f} do not fit "
                         f"dtype {dt.name}.")
    return _out(_rng(seed).binomial(n.astype(np.int64), p, size=shape), dt)


def categorical(logits: Any, num_samples: Any, dtype: Any = "int32", seed: Any = None
                ) -> np.ndarray:
    """Class indices drawn with P(k) = softmax(logits[b])_k, ``num_samples`` per row.

    Args:
        logits: (batch_size, num_classes) unnormalized log-probabilities; ``-inf``
            marks an impossible class.
        num_samples: samples per row (the second output dimension).
        dtype: the output dtype (int32 by default).

    Returns:
        (batch_size, num_samples) class indices.
    """
    x = _real_logits(logits)
    if x.ndim != 2:
        raise ValueError("`logits` should be a 2-D tensor with shape [batch_size, "
                         f"num_classes]. Received: logits={logits}")
    n = _int_scalar(num_samples, "num_samples", "categorical")
    if n < 0:
        raise ValueError(f"keras.random.categorical: num_samples should be non-negative, "
                         f"got {n}.")
    if dtype is None:
        raise TypeError("keras.random.categorical: received dtype=None, expected a dtype "
                        "such as 'int32'.")
    dt = _dtype(dtype, "categorical", "fi")
    batch, classes = x.shape
    if classes == 0:
        raise ValueError("keras.random.categorical: `logits` has 0 classes.")
    if dt.kind in "iu" and classes - 1 > np.iinfo(dt).max:
        raise ValueError(f"keras.random.categorical: {classes} classes do not fit dtype "
                         f"{dt.name}.")
    top = x.max(axis=1, keepdims=True)                                   # (B, 1)
    if not np.all(np.isfinite(top)):
        raise ValueError("keras.random.categorical: every row of `logits` needs a finite "
                         "largest value (rows of -inf, +inf or NaN have no distribution).")
    cdf = np.cumsum(np.exp(x - top), axis=1)                             # (B, C)
    u = _rng(seed).random((batch, n))                                    # (B, n)
    out = np.empty((batch, n), dtype=np.int64)
    for b in range(batch):
        last = int(np.flatnonzero(np.diff(cdf[b], prepend=0.0) > 0)[-1])   # last possible
        idx = np.searchsorted(cdf[b], u[b] * cdf[b, -1], side="right")
        out[b] = np.minimum(idx, last)
    return out.astype(dt)


def _real_logits(logits: Any) -> np.ndarray:
    try:
        x = np.asarray(logits)
    except (ValueError, TypeError):
        raise TypeError(f"keras.random.categorical: `logits` must be numbers, received "
                        f"{logits!r}.") from None
    if x.dtype.kind not in "iuf":
        raise TypeError(f"keras.random.categorical: `logits` must be real numbers, "
                        f"received dtype {x.dtype}.")
    x = x.astype(np.float64)
    if np.isnan(x).any() or np.isposinf(x).any():
        raise ValueError("keras.random.categorical: `logits` contain NaN or +inf.")
    return x


# ---------------------------------------------------------------------------- tensors
def _tensor(x: Any, fn: str) -> np.ndarray:
    from rnnlens.ops import convert_to_tensor  # noqa: PLC0415  (lazy: NumPy-only, larger)

    try:
        return convert_to_tensor(x)
    except (ValueError, TypeError) as err:
        raise type(err)(f"keras.random.{fn}: {err}") from None


def dropout(inputs: Any, rate: Any, noise_shape: Any = None, seed: Any = None) -> Any:
    """Zeroes each entry with probability ``rate`` and scales the rest by 1/(1 - rate).

    Args:
        inputs: a float tensor (Python lists become float32, as in Keras).
        rate: in [0, 1]; 0 returns ``inputs`` unchanged, 1 returns zeros.
        noise_shape: the shape of the keep mask, broadcast against ``inputs``
            (``None`` entries take the input's dimension at that position).
        seed: None, an int or a :class:`SeedGenerator`.
    """
    r = _rate(rate)
    x = _tensor(inputs, "dropout")
    if r == 1.0:
        return np.zeros_like(x)
    if r == 0.0:
        return x
    if x.dtype.kind != "f":
        raise ValueError("`x.dtype` must be a floating point tensor as `x` will be scaled. "
                         f"Received: x_dtype={x.dtype.name}")
    mask_shape = _noise_shape(noise_shape, x.shape)
    keep = _rng(seed).random(mask_shape) >= r                             # noise_shape
    scale = x.dtype.type(1.0 / (1.0 - r))          # as TensorFlow: in Python, then cast
    return np.where(keep, x * scale, x.dtype.type(0)).astype(x.dtype)


def _rate(rate: Any) -> float:
    arr = np.asarray(rate) if not isinstance(rate, (str, bytes)) else np.asarray(None)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise ValueError(f"`rate` must be a scalar or scalar tensor. Received: rate={rate}")
    r = float(arr)
    if not 0.0 <= r <= 1.0:
        raise ValueError("`rate` must be a scalar tensor or a float in the range [0, 1). "
                         f"Received: rate={rate}")
    return r


def _noise_shape(noise_shape: Any, shape: tuple) -> tuple[int, ...]:
    if noise_shape is None:
        return shape
    if not isinstance(noise_shape, (list, tuple)):
        raise TypeError(f"keras.random.dropout: `noise_shape` must be a tuple, received "
                        f"{noise_shape!r}.")
    dims = []
    for i, d in enumerate(noise_shape):
        if d is None:
            if i >= len(shape):
                raise ValueError(f"keras.random.dropout: noise_shape={tuple(noise_shape)} "
                                 f"has a None at position {i}, beyond the input's rank "
                                 f"{len(shape)}.")
            d = shape[i]
        dims.append(d)
    dims = _shape(dims, "dropout")
    try:
        ok = np.broadcast_shapes(dims, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"keras.random.dropout: noise_shape={tuple(noise_shape)} does not "
                         f"broadcast to the input shape {shape}.")
    return dims


def shuffle(x: Any, axis: Any = 0, seed: Any = None) -> np.ndarray:
    """``x`` with its slices along ``axis`` in a uniformly random order."""
    arr = _tensor(x, "shuffle")
    if arr.ndim == 0:
        raise ValueError("keras.random.shuffle: cannot shuffle a scalar (0-d) tensor.")
    a = _int_scalar(axis, "axis", "shuffle")
    if not -arr.ndim <= a < arr.ndim:
        raise ValueError(f"keras.random.shuffle: axis={a} is out of range for a tensor of "
                         f"rank {arr.ndim}.")
    perm = _rng(seed).permutation(arr.shape[a])
    return np.take(arr, perm, axis=a)


__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma",
           "generator", "normal", "randint", "set_random_seed", "shuffle",
           "truncated_normal", "uniform"]
