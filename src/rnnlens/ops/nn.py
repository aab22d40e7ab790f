"""``keras.ops`` neural-network functions: activations, softmax, one-hot, crossentropies,
moments and normalisation, attention, pixel shuffles.

Activations follow TensorFlow: they take float tensors and keep their dtype (ints and
bools raise a TypeError, as ``tf.nn.*`` does); ``relu``/``relu6`` also take ints.

* ``softmax(x) = exp(x - max) / sum(exp(x - max))`` along ``axis`` (an int, a tuple, or
  None for all axes); ``log_softmax = x - max - log(sum(exp(x - max)))``.
* ``gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (``approximate=True``,
  Keras's default) or ``0.5 x (1 + erf(x / sqrt 2))``.

The crossentropies, moments, normalisations and attention live in ``nn_stats`` and are
re-exported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.ops._common import as_int, need_float, norm_axes, norm_axis
from rnnlens.ops._dispatch import cast_array, fail, keras_op
from rnnlens.ops._dtypes import floatx, standardize_dtype
from rnnlens.ops.math import _erf64
from rnnlens.ops.np_elementwise import tanh  # noqa: F401  (ops.nn.tanh, as rnnlens's)


def _f(x: np.ndarray, op: str) -> np.ndarray:
    need_float(x, op)
    return x


def _c(x: np.ndarray, v: float) -> Any:
    return x.dtype.type(v)


# ---------------------------------------------------------------------------- activations
@keras_op("relu", "x")
def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``; ints keep their dtype."""
    if x.dtype == bool:
        raise TypeError("ops.relu: TensorFlow has no relu for bool tensors.")
    return np.maximum(x, x.dtype.type(0))


@keras_op("relu6", "x")
def relu6(x: np.ndarray) -> np.ndarray:
    if x.dtype == bool:
        raise TypeError("ops.relu6: TensorFlow has no relu6 for bool tensors.")
    return np.minimum(np.maximum(x, x.dtype.type(0)), x.dtype.type(6))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@keras_op("sigmoid", "x")
def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return _sigmoid(_f(x, "sigmoid"))


@keras_op("softplus", "x")
def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``."""
    _f(x, "softplus")
    with np.errstate(over="ignore"):
        return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)


@keras_op("softsign", "x")
def softsign(x: np.ndarray) -> np.ndarray:
    return (_f(x, "softsign") / (1 + np.abs(x))).astype(x.dtype)


@keras_op("silu", "x")
def silu(x: np.ndarray) -> np.ndarray:
    """``x * sigmoid(x)``."""
    return (_f(x, "silu") * _sigmoid(x)).astype(x.dtype)


@keras_op("swish", "x")
def swish(x: np.ndarray) -> np.ndarray:
    return (_f(x, "swish") * _sigmoid(x)).astype(x.dtype)


@keras_op("log_sigmoid", "x")
def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``-softplus(-x)``."""
    _f(x, "log_sigmoid")
    with np.errstate(over="ignore"):
        return (np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)


@keras_op("leaky_relu", "x")
def leaky_relu(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """``x`` if ``x >= 0`` else ``negative_slope * x``; ints compute in floatx."""
    if x.dtype == bool:
        raise TypeError("ops.leaky_relu: TensorFlow has no leaky_relu for bool tensors.")
    if x.dtype.kind in "iu":
        x = x.astype(floatx())
    return np.where(x >= 0, x, x * _c(x, negative_slope)).astype(x.dtype)


@keras_op("hard_sigmoid", "x")
def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """``relu6(x + 3) / 6``."""
    _f(x, "hard_sigmoid")
    return (np.clip(x + _c(x, 3), 0, 6) / _c(x, 6)).astype(x.dtype)


@keras_op("hard_silu", "x")
def hard_silu(x: np.ndarray) -> np.ndarray:
    _f(x, "hard_silu")
    return (x * (np.clip(x + _c(x, 3), 0, 6) / _c(x, 6))).astype(x.dtype)


@keras_op("hard_swish", "x")
def hard_swish(x: np.ndarray) -> np.ndarray:
    return hard_silu.__wrapped__(x)


@keras_op("elu", "x")
def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``x`` if ``x > 0`` else ``alpha (exp(x) - 1)``."""
    _f(x, "elu")
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, _c(x, alpha) * np.expm1(np.minimum(x, 0))).astype(x.dtype)


@keras_op("selu", "x")
def selu(x: np.ndarray) -> np.ndarray:
    _f(x, "selu")
    a, s = 1.6732632423543772, 1.0507009873554805
    with np.errstate(over="ignore"):
        return (_c(x, s) * np.where(x > 0, x, _c(x, a) * np.expm1(np.minimum(x, 0)))
                ).astype(x.dtype)


@keras_op("celu", "x")
def celu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    _f(x, "celu")
    a = _c(x, alpha)
    return (np.maximum(x, 0) + a * np.expm1(np.minimum(x, 0) / a)).astype(x.dtype)


@keras_op("gelu", "x")
def gelu(x: np.ndarray, approximate: bool = True) -> np.ndarray:
    """Gaussian error linear unit (tanh approximation by default, as Keras)."""
    _f(x, "gelu")
    if approximate:
        c = _c(x, np.sqrt(2 / np.pi))
        return (_c(x, 0.5) * x * (1 + np.tanh(c * (x + _c(x, 0.044715) * x ** 3)))
                ).astype(x.dtype)
    return (x * (0.5 * (1 + _erf64(x / np.sqrt(2.0))))).astype(x.dtype)


@keras_op("glu", "x")
def glu(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``x`` along ``axis``."""
    _f(x, "glu")
    a = norm_axis(axis, x.ndim, "glu")
    if x.shape[a] % 2:
        raise fail("glu", f"axis {axis} has odd size {x.shape[a]}; it must split in two.")
    x1, x2 = np.split(x, 2, axis=a)
    return (x1 * _sigmoid(x2)).astype(x.dtype)


@keras_op("hard_tanh", "x")
def hard_tanh(x: np.ndarray) -> np.ndarray:
    return np.clip(_f(x, "hard_tanh"), -1, 1).astype(x.dtype)


@keras_op("hard_shrink", "x")
def hard_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    _f(x, "hard_shrink")
    return np.where(np.abs(x) > threshold, x, 0).astype(x.dtype)


@keras_op("soft_shrink", "x", weak=True)
def soft_shrink(x: Any, threshold: float = 0.5) -> np.ndarray:
    """``x - t`` above ``t``, ``x + t`` below ``-t``, else 0. Int and bool tensors keep
    their dtype (the shifted values truncate, as in Keras on TensorFlow)."""
    if isinstance(x, (int, bool)):
        raise TypeError("ops.soft_shrink: a Python int or bool is not accepted (as Keras on "
                        "TensorFlow); pass a float or a tensor.")
    if isinstance(x, float):
        x = np.asarray(x, floatx())
    xf = x.astype("float64") if x.dtype.kind not in "fc" else x
    t = xf.dtype.type(threshold)
    r = np.where(xf > t, xf - t, np.where(xf < -t, xf + t, 0))
    return cast_array(np.asarray(r), x.dtype.name)


@keras_op("tanh_shrink", "x")
def tanh_shrink(x: np.ndarray) -> np.ndarray:
    return (_f(x, "tanh_shrink") - np.tanh(x)).astype(x.dtype)


@keras_op("sparse_plus", "x")
def sparse_plus(x: np.ndarray) -> np.ndarray:
    _f(x, "sparse_plus")
    return np.where(x <= -1, 0, np.where(x < 1, _c(x, 0.25) * (x + 1) ** 2, x)
                    ).astype(x.dtype)


@keras_op("sparse_sigmoid", "x")
def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    _f(x, "sparse_sigmoid")
    return np.where(x <= -1, 0, np.where(x >= 1, 1, _c(x, 0.5) * (x + 1))).astype(x.dtype)


@keras_op("squareplus", "x")
def squareplus(x: np.ndarray, b: float = 4) -> np.ndarray:
    """``(x + sqrt(x^2 + b)) / 2``."""
    _f(x, "squareplus")
    return ((x + np.sqrt(x * x + _c(x, b))) / _c(x, 2)).astype(x.dtype)


@keras_op("threshold", "x")
def threshold(x: np.ndarray, threshold: float, default_value: float) -> np.ndarray:
    """``x`` where ``x > threshold`` else ``default_value``."""
    if x.dtype.kind in "biu" and isinstance(default_value, float):
        raise TypeError(f"ops.threshold: default_value={default_value!r} cannot fill a "
                        f"{x.dtype} tensor (TensorFlow refuses); pass an int.")
    return np.where(x > threshold, x, np.asarray(default_value).astype(x.dtype))


# ---------------------------------------------------------------------------- softmax
def _move_to_last(x: np.ndarray, axis: Any, op: str) -> tuple[np.ndarray, Any]:
    """Flatten the softmax axes into the last one; returns x' and an undo function."""
    if axis is None:
        return x.reshape(-1), lambda y: y.reshape(x.shape)
    ax = norm_axes(axis, x.ndim, op)
    keep = [i for i in range(x.ndim) if i not in ax]
    perm = keep + list(ax)
    xt = np.transpose(x, perm)
    flat = xt.reshape([x.shape[i] for i in keep] + [-1])
    inv = np.argsort(perm)
    return flat, lambda y: np.transpose(y.reshape(xt.shape), inv)


@keras_op("softmax", "x")
def softmax(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (int, tuple or None)."""
    _f(x, "softmax")
    if x.ndim == 0 and axis is not None:
        raise fail("softmax", "a 0-d tensor needs axis=None.")
    if x.size == 0:
        norm_axes(axis, x.ndim, "softmax")
        return x.copy()
    flat, undo = _move_to_last(x, axis, "softmax")
    with np.errstate(all="ignore"):
        e = np.exp(flat - np.max(flat, axis=-1, keepdims=True))
        return undo((e / np.sum(e, axis=-1, keepdims=True)).astype(x.dtype))


@keras_op("log_softmax", "x")
def log_softmax(x: np.ndarray, axis: Any = -1) -> np.ndarray:
    _f(x, "log_softmax")
    if x.ndim == 0 and axis is not None:
        raise fail("log_softmax", "a 0-d tensor needs axis=None.")
    if x.size == 0:
        norm_axes(axis, x.ndim, "log_softmax")
        return x.copy()
    flat, undo = _move_to_last(x, axis, "log_softmax")
    with np.errstate(all="ignore"):
        s = flat - np.max(flat, axis=-1, keepdims=True)
        return undo((s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))).astype(x.dtype))


@keras_op("sparsemax", "x")
def sparsemax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Euclidean projection of ``x`` onto the simplex along ``axis``."""
    _f(x, "sparsemax")
    a = norm_axis(axis, x.ndim, "sparsemax")
    z = np.moveaxis(x, a, -1)
    zs = -np.sort(-z, axis=-1)
    cs = np.cumsum(zs, axis=-1)
    r = np.arange(1, z.shape[-1] + 1, dtype=x.dtype)
    support = zs - (cs - 1) / r > 0
    k = np.sum(support, axis=-1, keepdims=True).astype(x.dtype)
    tau = (np.sum(np.where(support, cs, 0), axis=-1, keepdims=True) - 1) / k
    return np.moveaxis(np.maximum(z - tau, 0), -1, a).astype(x.dtype)


# ---------------------------------------------------------------------------- encodings
@keras_op("one_hot", "x")
def one_hot(x: np.ndarray, num_classes: int, axis: int = -1, dtype: Any = None,
            sparse: bool = False) -> np.ndarray:
    """``(…) -> (…, num_classes)`` with 1 at each index (out-of-range rows stay 0)."""
    if sparse:
        raise fail("one_hot", "sparse=True is not supported; rnnlens tensors are dense.")
    n = as_int(num_classes, "num_classes", "one_hot")
    if n < 0:
        raise fail("one_hot", f"num_classes={n} must be non-negative.")
    d = standardize_dtype(dtype, "one_hot") if dtype is not None else floatx()
    idx = cast_array(x, "int64")
    a = norm_axis(axis, x.ndim + 1, "one_hot")
    out = idx[..., None] == np.arange(n)
    return np.moveaxis(out, -1, a).astype(d)


@keras_op("multi_hot", "inputs")
def multi_hot(inputs: np.ndarray, num_classes: int | None = None, axis: int = -1,
              dtype: Any = None, sparse: bool = False, **kwargs: Any) -> np.ndarray:
    """One row of 0/1 per batch element marking every class that occurs in it."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise fail("multi_hot", "num_classes must be given.")
    oh = one_hot.__wrapped__(inputs, num_classes, axis, dtype, sparse)
    red = 1 if inputs.ndim > 1 else 0
    return np.any(oh, axis=red) if oh.dtype == bool else np.max(oh, axis=red)


from rnnlens.ops.nn_stats import (  # noqa: E402,F401  (keras.ops.nn's second half)
    batch_normalization, binary_crossentropy, categorical_crossentropy, depth_to_space,
    dot_product_attention, layer_normalization, moments, normalize, polar, psnr,
    rms_normalization, sparse_categorical_crossentropy, space_to_depth)

from rnnlens.ops.ctc import ctc_decode, ctc_loss  # noqa: E402,F401  (keras.ops.nn's CTC)
