"""The gradient tape (``rnnlens.autodiff``) against float64 central finite differences.

Every differentiable op is run on small float64 inputs drawn by hypothesis (shapes and
seeds); the tape's gradient of ``sum(op(args) * R)`` (a random cotangent ``R``) with
respect to each float argument must match central differences (step 1e-6) within
``1e-6 (1 + |fd|)``. Then: every op is classified (a VJP, a gather, zero, recorded
through what it runs, no float output, or a listed no-gradient op that raises a
ValueError naming it), NumPy operators and functions on traced values record or raise a
TypeError naming the function, and the control-flow ops, ``custom_gradient`` and
``stop_gradient`` behave as on TensorFlow.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlens import ops
from rnnlens.autodiff import Tape, value_and_grad
from rnnlens.autodiff.traced import plain
from rnnlens.autodiff.vjps import NO_GRADIENT, coverage

WORST: dict[str, Any] = {"err": 0.0, "where": ""}
FD_STEP = 1e-6


# ---------------------------------------------------------------------------- finite diffs
def _scalarize(out: Any, weights: list[np.ndarray]) -> Any:
    outs = out if isinstance(out, (list, tuple)) else [out]
    total = 0.0
    for o, w in zip(outs, weights):
        if w is not None:
            total = total + ops.sum(ops.multiply(o, w))
    return total


def _weights(out: Any, rng: np.random.Generator) -> list:
    outs = out if isinstance(out, (list, tuple)) else [out]
    return [rng.normal(size=np.shape(o)) if np.asarray(o).dtype.kind == "f" else None
            for o in outs]


def fd_check(name: str, fn: Callable, args: list, wrt: tuple[int, ...], seed: int,
             tol: float = 1e-6, step: float = FD_STEP, record: bool = True) -> None:
    """The tape's gradient of ``sum(fn(*args) * R)`` against central differences
    (``record``: count it in this module's worst float64 error)."""
    rng = np.random.default_rng(seed)
    weights = _weights(fn(*args), rng)
    with Tape() as tape:
        traced = list(args)
        for k in wrt:
            traced[k] = tape.watch(args[k])
        loss = _scalarize(fn(*traced), weights)
    grads = tape.gradient(loss, [traced[k] for k in wrt])

    def value(k: int, flat_i: int, delta: float) -> float:
        moved = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
        moved[k].reshape(-1)[flat_i] += delta
        return float(plain(_scalarize(fn(*moved), weights)))

    for k, g in zip(wrt, grads):
        g = np.zeros_like(args[k]) if g is None else np.asarray(g)
        assert g.shape == args[k].shape, f"{name}: gradient shape {g.shape} != {args[k].shape}"
        fd = np.array([(value(k, i, step) - value(k, i, -step)) / (2 * step)
                       for i in range(args[k].size)]).reshape(args[k].shape)
        err = np.abs(g - fd) / (1 + np.abs(fd))
        worst = float(err.max()) if err.size else 0.0
        if record and worst > WORST["err"]:
            WORST.update(err=worst, where=f"{name} arg {k} {args[k].shape}")
        assert worst <= tol, f"{name} arg {k}: tape\n{g}\nfd\n{fd}"


def teardown_module(module: Any) -> None:
    print(f"\ntape vs finite differences: worst scaled error {WORST['err']:.3e} "
          f"({WORST['where']})")


# ---------------------------------------------------------------------------- the catalog
def U(r: np.random.Generator, shape: tuple, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    return r.uniform(lo, hi, shape)


def away(r: np.random.Generator, shape: tuple, gap: float = 0.2) -> np.ndarray:
    """Values at least ``gap`` from 0 (and from each other, roughly): no kinks, no ties."""
    x = r.uniform(gap, 2.0, shape) * r.choice([-1.0, 1.0], shape)
    return x + np.arange(x.size).reshape(shape) * 1e-3


def distinct(r: np.random.Generator, shape: tuple) -> np.ndarray:
    """Distinct values (no ties for max / sort / quantiles), at least 2 along the last
    axis (a 1-element std is sqrt at 0: NaN gradient, as TensorFlow's)."""
    shape = shape[:-1] + (max(2, shape[-1]),)
    n = int(np.prod(shape))
    return (r.permutation(n) * 0.37 + r.uniform(0, 0.1, n)).reshape(shape) - n * 0.18


def unary(name: str, lo: float = -2.0, hi: float = 2.0, gen: Callable | None = None,
          **kw: Any) -> tuple:
    def build(r, s):
        x = gen(r, s) if gen is not None else U(r, s, lo, hi)
        return (lambda a: getattr(ops, name)(a, **kw)), [x], (0,)
    return name, build


def binary(name: str, gen2: Callable | None = None) -> tuple:
    def build(r, s):
        b = gen2(r, s) if gen2 is not None else U(r, s[-1:])      # broadcasting
        return getattr(ops, name), [U(r, s), b], (0, 1)
    return name, build


def custom(name: str, build: Callable) -> tuple:
    return name, build


def bind(f: Callable, **consts: Any) -> Callable:
    """``f`` with some keyword arguments fixed (drawn once, outside the function)."""
    return lambda *args: f(*args, **consts)


def reduction(name: str, over: str) -> tuple:
    """A reduction over the last axis (kept, except for mean) or over everything."""
    def build(r, s):
        if over == "all":
            return (lambda x: getattr(ops, name)(x)), [distinct(r, s)], (0,)
        return (lambda x: getattr(ops, name)(x, axis=-1, keepdims=name != "mean"),
                [distinct(r, s)], (0,))
    return f"{name}-{over}", build


POS = dict(lo=0.3, hi=2.0)
UNIT = dict(lo=-0.8, hi=0.8)
CATALOG = [
    *(unary(n) for n in ("exp", "exp2", "expm1", "sin", "cos", "arctan", "sinh",
                         "cosh", "tanh", "arcsinh", "negative", "copy", "square", "deg2rad",
                         "rad2deg", "erf", "erfc", "sigmoid", "softplus", "softsign",
                         "silu", "swish", "log_sigmoid", "selu", "gelu", "tanh_shrink",
                         "squareplus", "i0", "cbrt", "nan_to_num", "real", "conj")),
    *(unary(n, **POS) for n in ("log", "log2", "log10", "sqrt", "rsqrt", "reciprocal")),
    *(unary(n, **UNIT) for n in ("arcsin", "arccos", "arctanh", "erfinv", "log1p")),
    unary("arccosh", 1.2, 3.0), unary("tan", -1.2, 1.2),   # away from the poles at +-pi/2 unary("gelu", approximate=False),
    *(unary(n, gen=away) for n in ("abs", "absolute", "fabs", "relu", "leaky_relu", "elu",
                                    "celu", "hard_sigmoid", "hard_silu", "hard_swish",
                                    "hard_tanh", "sparse_plus", "sparse_sigmoid", "sinc",
                                    "relu6")),
    unary("hard_shrink", gen=away, threshold=0.1), unary("soft_shrink", gen=away, threshold=0.1),
    unary("threshold", gen=away, threshold=0.1, default_value=2.0),
    unary("elu", gen=away, alpha=0.5),
    *(binary(n) for n in ("add", "subtract", "multiply", "maximum", "minimum", "fmax", "fmin",
                          "logaddexp", "logaddexp2", "hypot", "arctan2")),
    binary("divide", lambda r, s: U(r, s[-1:], 0.5, 2.0)),
    binary("true_divide", lambda r, s: U(r, s[-1:], 0.5, 2.0)),
    binary("divide_no_nan", lambda r, s: U(r, s[-1:], 0.5, 2.0)),
    custom("power", lambda r, s: (ops.power, [U(r, s, 0.5, 2.0), U(r, s, -1.5, 1.5)],
                                  (0, 1))),
    custom("mod", lambda r, s: (ops.mod, [U(r, s, 0.1, 3.0) + 0.013, np.full(s, 0.7)],
                                (0, 1))),
    custom("fmod", lambda r, s: (ops.fmod, [U(r, s, 0.1, 3.0) + 0.013, np.full(s, 0.7)],
                                 (0, 1))),
    custom("clip", lambda r, s: (lambda x: ops.clip(x, -0.5, 0.6), [away(r, s, 0.05)], (0,))),
    custom("where", lambda r, s: (bind(lambda a, b, c: ops.where(c, a, b), c=U(r, s) > 0),
                                  [U(r, s), U(r, s)], (0, 1))),
    custom("ldexp", lambda r, s: (lambda a: ops.ldexp(a, np.full(s, 2, "int32")),
                                  [U(r, s)], (0,))),
    # reductions
    *(reduction(n, "axis") for n in ("sum", "mean", "max", "min", "amax", "amin", "prod",
                                      "std", "var", "logsumexp", "ptp", "nansum", "nanmean",
                                      "nanmax", "nanmin", "nanstd", "nanvar", "nanprod",
                                      "median", "nanmedian")),
    *(reduction(n, "all") for n in ("sum", "mean", "max", "prod", "std", "logsumexp",
                                    "median")),
    custom("quantile", lambda r, s: (lambda x: ops.quantile(x, [0.3, 0.8], axis=0),
                                     [distinct(r, s)], (0,))),
    custom("percentile", lambda r, s: (lambda x: ops.percentile(x, 40.0, method="nearest"),
                                       [distinct(r, s)], (0,))),
    custom("cumsum", lambda r, s: (lambda x: ops.cumsum(x, axis=0), [U(r, s)], (0,))),
    custom("cumprod", lambda r, s: (lambda x: ops.cumprod(x), [U(r, s, 0.5, 1.5)], (0,))),
    custom("nancumsum", lambda r, s: (lambda x: ops.nancumsum(x, axis=-1), [U(r, s)], (0,))),
    custom("sort", lambda r, s: (lambda x: ops.sort(x, axis=-1), [distinct(r, s)], (0,))),
    custom("top_k", lambda r, s: (lambda x: ops.top_k(x, 1)[0], [distinct(r, s)], (0,))),
    custom("average", lambda r, s: (lambda x, w: ops.average(x, axis=-1, weights=w),
                                    [U(r, s), U(r, s[-1:], 0.5, 1.5)], (0, 1))),
    custom("softmax", lambda r, s: (lambda x: ops.softmax(x, axis=-1), [U(r, s)], (0,))),
    custom("softmax-all", lambda r, s: (lambda x: ops.softmax(x, axis=None), [U(r, s)], (0,))),
    custom("log_softmax", lambda r, s: (lambda x: ops.log_softmax(x, axis=0), [U(r, s)],
                                        (0,))),
    custom("sparsemax", lambda r, s: (lambda x: ops.sparsemax(x), [distinct(r, s) * 0.3],
                                      (0,))),
    # shapes and indexing (gathers)
    custom("reshape", lambda r, s: (lambda x: ops.reshape(x, (-1,)), [U(r, s)], (0,))),
    custom("transpose", lambda r, s: (lambda x: ops.transpose(x), [U(r, s)], (0,))),
    custom("expand_dims+squeeze", lambda r, s: (lambda x: ops.squeeze(ops.expand_dims(x, 0), 0),
                                           [U(r, s)], (0,))),
    custom("broadcast_to", lambda r, s: (lambda x: ops.broadcast_to(x, (3,) + s), [U(r, s)],
                                         (0,))),
    custom("concatenate", lambda r, s: (lambda a, b: ops.concatenate([a, b, a], axis=-1),
                                        [U(r, s), U(r, s)], (0, 1))),
    custom("stack", lambda r, s: (lambda a, b: ops.stack([a, b], axis=1), [U(r, s), U(r, s)],
                                  (0, 1))),
    custom("split", lambda r, s: (lambda a: ops.split(ops.concatenate([a, a], 0), 2, axis=0),
                                  [U(r, s)], (0,))),
    custom("unstack", lambda r, s: (lambda a: ops.unstack(a, axis=0), [U(r, s)], (0,))),
    custom("get_item", lambda r, s: (lambda a: a[..., ::-1][0], [U(r, s)], (0,))),
    custom("get_item-fancy", lambda r, s: (lambda a: ops.get_item(a, np.array([0, 0, -1])),
                                           [U(r, s)], (0,))),
    custom("take", lambda r, s: (lambda a: ops.take(a, np.array([[0, 0], [-1, 0]]), axis=0),
                                 [U(r, s)], (0,))),
    custom("take_along_axis", lambda r, s: (
        lambda a: ops.take_along_axis(a, np.zeros(s, "int64"), axis=-1), [U(r, s)], (0,))),
    custom("pad", lambda r, s: (lambda a: ops.pad(a, [(1, 2)] * len(s), constant_values=3.0),
                                [U(r, s)], (0,))),
    custom("pad-reflect", lambda r, s: (
        lambda a: ops.pad(ops.tile(a, [2] * len(s)), [(1, 1)] * len(s), mode="reflect"),
        [U(r, s)], (0,))),
    custom("tile", lambda r, s: (lambda a: ops.tile(a, [2] + [1] * (len(s) - 1)), [U(r, s)],
                                 (0,))),
    custom("repeat", lambda r, s: (lambda a: ops.repeat(a, 3, axis=-1), [U(r, s)], (0,))),
    custom("roll+flip", lambda r, s: (lambda a: ops.flip(ops.roll(a, 1, axis=0), axis=-1),
                                      [U(r, s)], (0,))),
    custom("moveaxis", lambda r, s: (lambda a: ops.moveaxis(a, 0, -1), [U(r, s)], (0,))),
    custom("tril+triu", lambda r, s: (lambda a: ops.tril(ops.outer(a, a + 1.0)) +
                                      ops.triu(ops.outer(a, a), 1), [U(r, s)], (0,))),
    custom("diagonal+trace", lambda r, s: (lambda a: ops.trace(ops.outer(a, a)) + ops.sum(
        ops.diagonal(ops.outer(ops.concatenate([a, a]), a), -1)), [U(r, s)], (0,))),
    custom("add-operator", lambda r, s: (lambda a, b: a + b, [U(r, (1, 3)), U(r, (3, 1))],
                                         (0, 1))),
    custom("slice_update", lambda r, s: (
        lambda a, u: ops.slice_update(a, [0] * len(s), u), [U(r, s), U(r, (1,) * len(s))],
        (0, 1))),
    custom("scatter", lambda r, s: (lambda v: ops.scatter(np.array([[0], [0], [1]]), v,
                                                          (2, 3)), [U(r, (3, 3))], (0,))),
    custom("segment_sum", lambda r, s: (lambda d: ops.segment_sum(d, np.array([0, 1, 0]),
                                                                  num_segments=2),
                                        [U(r, (3, 2))], (0,))),
    custom("diff", lambda r, s: (lambda a: ops.diff(a, n=2, axis=-1) if s[-1] > 2 else
                                 ops.diff(a, axis=0), [U(r, s)], (0,))),
    custom("extract_sequences", lambda r, s: (
        lambda a: ops.extract_sequences(ops.reshape(a, (-1,)), 1, 1), [U(r, s)], (0,))),
    # products and linear algebra
    custom("matmul", lambda r, s: (ops.matmul, [U(r, (2, 3, 4)), U(r, (4, 2))], (0, 1))),
    custom("matmul-vec", lambda r, s: (ops.matmul, [U(r, (4,)), U(r, (2, 4, 3))], (0, 1))),
    custom("matvec", lambda r, s: (ops.matmul, [U(r, (3, 4)), U(r, (4,))], (0, 1))),
    custom("dot", lambda r, s: (ops.dot, [U(r, (2, 3)), U(r, (4, 3, 2))], (0, 1))),
    custom("inner", lambda r, s: (ops.inner, [U(r, (2, 3)), U(r, (4, 3))], (0, 1))),
    custom("outer+vdot", lambda r, s: (lambda a, b: ops.outer(a, b) * ops.vdot(a, a),
                                       [U(r, s), U(r, (3,))], (0, 1))),
    custom("tensordot", lambda r, s: (lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])),
                                      [U(r, (2, 3, 4)), U(r, (4, 2, 5))], (0, 1))),
    custom("einsum", lambda r, s: (lambda a, b: ops.einsum("bij,jk->bik", a, b),
                                   [U(r, (2, 3, 4)), U(r, (4, 2))], (0, 1))),
    custom("einsum-ellipsis", lambda r, s: (lambda a, b: ops.einsum("...ij,...j->...i", a, b),
                                            [U(r, (2, 3, 4)), U(r, (4,))], (0, 1))),
    custom("einsum-sum", lambda r, s: (lambda a, b: ops.einsum("ij,k->i", a, b),
                                       [U(r, (2, 3)), U(r, (4,))], (0, 1))),
    custom("cross", lambda r, s: (ops.cross, [U(r, (2, 3)), U(r, (3,))], (0, 1))),
    custom("inv+det", lambda r, s: (lambda a: ops.inv(a) * ops.det(a),
                                    [U(r, (3, 3)) + 3 * np.eye(3)], (0,))),
    custom("slogdet", lambda r, s: (lambda a: ops.slogdet(a)[1], [U(r, (2, 3, 3)) +
                                                                  3 * np.eye(3)], (0,))),
    custom("solve", lambda r, s: (ops.solve, [U(r, (3, 3)) + 3 * np.eye(3), U(r, (3, 2))],
                                  (0, 1))),
    custom("solve-vec", lambda r, s: (ops.solve, [U(r, (3, 3)) + 3 * np.eye(3), U(r, (3,))],
                                      (0, 1))),
    custom("solve_triangular", lambda r, s: (
        lambda a, b: ops.solve_triangular(a, b, lower=True),
        [U(r, (3, 3)) + 3 * np.eye(3), U(r, (3, 2))], (0, 1))),
    custom("cholesky", lambda r, s: (lambda a: ops.cholesky(ops.matmul(a, ops.transpose(a))),
                                     [U(r, (3, 3)) + 3 * np.eye(3)], (0,))),
    custom("eigh", lambda r, s: (lambda a: ops.eigh(a + ops.transpose(a))[0],
                                 [U(r, (3, 3)) + np.diag([0.0, 3.0, 6.0])], (0,))),
    custom("logdet", lambda r, s: (lambda a: ops.logdet(ops.matmul(a, ops.transpose(a))),
                                   [U(r, (3, 3)) + 3 * np.eye(3)], (0,))),
    custom("norm", lambda r, s: (lambda a: ops.norm(a, axis=-1) + ops.norm(a, ord=1,
                                                                           axis=-1),
                                 [away(r, s)], (0,))),
    custom("norm-matrix", lambda r, s: (lambda a: ops.norm(a, ord="fro", axis=(0, 1)),
                                        [U(r, (3, 2))], (0,))),
    # nn
    custom("glu", lambda r, s: (lambda a: ops.glu(a, axis=-1), [U(r, s[:-1] + (4,))], (0,))),
    custom("moments", lambda r, s: (lambda a: ops.moments(a, axes=[0]), [U(r, s)], (0,))),
    custom("batch_normalization", lambda r, s: (
        lambda x, m, v, o, sc: ops.batch_normalization(x, m, v, axis=-1, offset=o, scale=sc),
        [U(r, (4, 3)), U(r, (3,)), U(r, (3,), 0.5, 2), U(r, (3,)), U(r, (3,))],
        (0, 1, 2, 3, 4))),
    custom("layer_normalization", lambda r, s: (
        lambda x, g, b: ops.layer_normalization(x, g, b, axis=-1),
        [U(r, (2, 4)), U(r, (4,)), U(r, (4,))], (0, 1, 2))),
    custom("rms_normalization", lambda r, s: (
        lambda x, g: ops.rms_normalization(x, g, axis=-1), [U(r, (2, 4)), U(r, (4,))],
        (0, 1))),
    custom("normalize", lambda r, s: (lambda x: ops.normalize(x, axis=-1), [U(r, (2, 3))],
                                      (0,))),
    custom("cdist", lambda r, s: (ops.cdist, [U(r, (2, 3)), U(r, (4, 3))], (0, 1))),
    custom("psnr", lambda r, s: (lambda a, b: ops.psnr(a, b, 2.0), [U(r, s), U(r, s)],
                                 (0, 1))),
    custom("binary_crossentropy", lambda r, s: (
        lambda t, p: ops.binary_crossentropy(t, p), [U(r, s, 0, 1), U(r, s, 0.1, 0.9)],
        (0, 1))),
    custom("binary_crossentropy-logits", lambda r, s: (
        bind(lambda p, t: ops.binary_crossentropy(t, p, from_logits=True), t=U(r, s, 0, 1)),
        [U(r, s)], (0,))),
    custom("categorical_crossentropy", lambda r, s: (
        lambda p: ops.categorical_crossentropy(np.eye(3)[[0, 2]], p),
        [U(r, (2, 3), 0.1, 0.9)], (0,))),
    custom("categorical_crossentropy-logits", lambda r, s: (
        lambda p: ops.categorical_crossentropy(np.eye(3)[[0, 2]], p, from_logits=True),
        [U(r, (2, 3))], (0,))),
    custom("sparse_categorical_crossentropy", lambda r, s: (
        lambda p: ops.sparse_categorical_crossentropy(np.array([1, 2]), p),
        [U(r, (2, 3), 0.1, 0.9)], (0,))),
    custom("sparse_categorical_crossentropy-logits", lambda r, s: (
        lambda p: ops.sparse_categorical_crossentropy(np.array([1, 2]), p, from_logits=True),
        [U(r, (2, 3))], (0,))),
    custom("dot_product_attention", lambda r, s: (
        lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True),
        [U(r, (1, 3, 2, 2)), U(r, (1, 3, 2, 2)), U(r, (1, 3, 2, 2))], (0, 1, 2))),
    custom("conv", lambda r, s: (lambda x, w: ops.conv(x, w, padding="same"),
                                 [U(r, (2, 5, 3)), U(r, (3, 3, 2))], (0, 1))),
    custom("depthwise_conv", lambda r, s: (lambda x, w: ops.depthwise_conv(x, w, strides=2),
                                           [U(r, (1, 5, 5, 2)), U(r, (2, 2, 2, 1))], (0, 1))),
    custom("conv_transpose", lambda r, s: (
        lambda x, w: ops.conv_transpose(x, w, strides=2), [U(r, (1, 3, 2)), U(r, (2, 4, 2))],
        (0, 1))),
    custom("max_pool", lambda r, s: (lambda x: ops.max_pool(x, 2), [distinct(r, (1, 4, 2))],
                                     (0,))),
    custom("average_pool", lambda r, s: (lambda x: ops.average_pool(x, 2, padding="same"),
                                         [U(r, (1, 5, 2))], (0,))),
    custom("adaptive_average_pool+adaptive_max_pool", lambda r, s: (
        lambda x: ops.adaptive_average_pool(x, 2) + ops.adaptive_max_pool(x, 2),
        [distinct(r, (1, 5, 3))], (0,))),
    custom("cast+convert_to_tensor", lambda r, s: (lambda x: ops.cast(ops.convert_to_tensor(x),
                                                                          "float64"),
                                 [U(r, s)], (0,))),
    custom("trapezoid", lambda r, s: (lambda y: ops.trapezoid(y, dx=0.5), [U(r, s)], (0,))),
    custom("array+saturate_cast+full+conjugate", lambda r, s: (
        lambda x: ops.saturate_cast(ops.array(x, "float64"), "float64") * ops.full(s, ops.sum(x), "float64") +
        ops.conjugate(x), [U(r, s)], (0,))),
    custom("bincount", lambda r, s: (lambda w: ops.bincount(np.array([0, 2, 2]), weights=w),
                                     [U(r, (3,))], (0,))),
    custom("nanpercentile+nanquantile", lambda r, s: (
        lambda x: ops.nanpercentile(x, 30.0, axis=-1) + ops.nanquantile(x, 0.7, axis=-1),
        [distinct(r, s)], (0,))),
    custom("scatter_update", lambda r, s: (
        lambda x, u: ops.scatter_update(x, np.array([[0, 1], [1, 0]]), u) +
        ops.scatter_update(x, np.array([[0, 0], [0, 0]]), u, reduction="add"),
        [U(r, (2, 3)), U(r, (2,))], (0, 1))),
    custom("segment_max+segment_min", lambda r, s: (
        lambda d: ops.segment_max(d, np.array([0, 1, 1]), num_segments=2) +
        ops.segment_min(d, np.array([1, 1, 0]), num_segments=2), [distinct(r, (3, 2))],
        (0,))),
    custom("select", lambda r, s: (
        lambda a, b, d: ops.select([np.array([True, False, False]),
                                    np.array([True, True, False])], [a, b], d),
        [U(r, (3,)), U(r, (3,)), U(r, (3,))], (0, 1, 2))),
    custom("separable_conv", lambda r, s: (
        lambda x, d, p: ops.separable_conv(x, d, p, padding="same"),
        [U(r, (1, 4, 2)), U(r, (2, 2, 2)), U(r, (1, 4, 3))], (0, 1, 2))),
    custom("append+array_split+hsplit+vsplit+dsplit+hstack+vstack+dstack", lambda r, s: (
        lambda a: ops.sum(ops.stack(ops.array_split(ops.append(a, a), 2))) +
        ops.sum(ops.hstack(ops.hsplit(a, 2))) + ops.sum(ops.vstack(ops.vsplit(a, 2)) ** 2) +
        ops.sum(ops.dstack(ops.dsplit(ops.reshape(a, (2, 2, 2)), 2)) ** 3),
        [U(r, (2, 4))], (0,))),
    custom("depth_to_space+space_to_depth", lambda r, s: (
        bind(lambda a, w: ops.depth_to_space(ops.space_to_depth(a, 2) * w, 2),
             w=U(r, (1, 1, 1, 8))),
        [U(r, (1, 2, 4, 2))], (0,))),
    custom("diag+diagflat", lambda r, s: (lambda a: ops.diag(ops.diagflat(a) * 2.0, 0) +
                                          ops.sum(ops.diag(a, 1)), [U(r, (3,))], (0,))),
    custom("fliplr+flipud+rot90", lambda r, s: (
        bind(lambda a, w: ops.fliplr(ops.flipud(ops.rot90(a))) * w, w=U(r, (3, 2))),
        [U(r, (2, 3))], (0,))),
    custom("meshgrid", lambda r, s: (lambda a, b: ops.meshgrid(a, b)[0] * ops.meshgrid(a, b)[1],
                                     [U(r, (2,)), U(r, (3,))], (0, 1))),
    custom("stft", lambda r, s: (
        lambda x: ops.stft(x, 5, 2, 8, window="hann", center=True), [U(r, s[:-1] + (9,))],
        (0,))),
    custom("stft-plain", lambda r, s: (
        lambda x: ops.stft(x, 4, 3, 4, window=None, center=False), [U(r, (2, 10))], (0,))),
    custom("istft", lambda r, s: (
        lambda a, b: ops.istft((a, b), 5, 2, 8, window="hamming"),
        [U(r, s[:-1] + (4, 5)), U(r, s[:-1] + (4, 5))], (0, 1))),
    custom("istft-length", lambda r, s: (
        lambda a, b: ops.istft((a, b), 4, 2, 7, length=5, window=None, center=False),
        [U(r, (3, 4)), U(r, (3, 4))], (0, 1))),
    custom("ravel+slice+swapaxes", lambda r, s: (
        lambda a: ops.ravel(ops.slice(ops.swapaxes(a, 0, 1), [0, 1], [2, 1])),
        [U(r, (2, 3))], (0,))),
]


@pytest.mark.parametrize("name,build", CATALOG, ids=[c[0] for c in CATALOG])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       seed=st.integers(0, 2 ** 16))
def test_vjp_matches_finite_differences(name: str, build: Callable, shape: tuple,
                                        seed: int) -> None:
    rng = np.random.default_rng(seed)
    fn, args, wrt = build(rng, shape)
    args = [np.asarray(a, "float64") if isinstance(a, np.ndarray) and a.dtype.kind == "f"
            else a for a in args]
    tol = 3e-6 if name.startswith(("cumprod", "prod", "nanprod", "inv", "solve", "eigh",
                                   "cholesky", "logdet", "slogdet")) else 1e-6
    fd_check(name, fn, args, wrt, seed, tol)


def test_trapezoid_of_one_sample_has_a_zero_gradient() -> None:
    """One sample along the axis integrates to 0 (the composite took empty slices)."""
    for shape in ((1,), (3, 1), (2, 2, 1)):
        y = np.random.default_rng(0).normal(size=shape)
        fd_check("trapezoid-one", lambda a: ops.trapezoid(a, dx=0.5), [y], (0,), 0)
        with Tape() as tape:
            yt, xt = tape.watch(y), tape.watch(np.array([0.5]))
            loss = ops.sum(ops.trapezoid(yt, x=xt))
        gy, gx = tape.gradient(loss, [yt, xt])
        np.testing.assert_array_equal(gy, np.zeros(shape))
        assert gx is None


#: Ops computed in float32 whatever the input (as TensorFlow's kernels): checked against
#: float32-sized finite differences in tests/test_tape_special.py, and against
#: tf.GradientTape in their own tests.
FLOAT32_ONLY = {"ctc_loss": "tests/test_ctc.py"}


# ---------------------------------------------------------------------------- classification
def test_every_op_is_classified() -> None:
    """Each op has a VJP, is a gather, is zero / not float / special, or is listed."""
    kinds = coverage()
    assert sorted(kinds["none"]) == sorted(NO_GRADIENT)
    total = sum(len(v) for v in kinds.values())
    from rnnlens.ops._dispatch import OPS

    assert total == len(OPS)
    tested = {n for c in CATALOG for n in c[0].split("-")[0].split("+")} | set(FLOAT32_ONLY)
    untested = [n for n in kinds["written"] + kinds["gather"] if n not in tested]
    assert untested == [], untested


@pytest.mark.parametrize("name,call", [
    ("svd", lambda x: ops.svd(x, compute_uv=False)),
    ("qr", lambda x: ops.qr(x)[1]),
    ("kron", lambda x: ops.kron(x, x)),
    ("pinv", lambda x: ops.pinv(x)),
    ("vander", lambda x: ops.vander(x[0])),
])
def test_no_gradient_ops_raise_naming_the_op(name: str, call: Callable) -> None:
    x = np.random.default_rng(0).normal(size=(3, 3))
    with Tape() as tape:
        xt = tape.watch(x)
        y = ops.sum(call(xt))
    with pytest.raises(ValueError, match=f"ops.{name} has no gradient"):
        tape.gradient(y, xt)
    # through stop_gradient nothing is differentiated, so nothing raises
    with Tape() as tape:
        xt = tape.watch(x)
        y = ops.sum(ops.stop_gradient(call(xt))) + ops.sum(xt)
    np.testing.assert_array_equal(tape.gradient(y, xt), np.ones((3, 3)))


def test_zero_gradient_ops_and_ints() -> None:
    x = np.array([0.3, 1.7, -2.2])
    with Tape() as tape:
        xt = tape.watch(x)
        y = ops.sum(ops.floor(xt) + ops.round(xt) * ops.sign(xt)) + ops.sum(
            ops.cast(ops.argmax(xt), "float64"))
    assert tape.gradient(y, xt) is None
    with pytest.raises(TypeError, match="only float tensors"):
        Tape().watch(np.array([1, 2]))


# ---------------------------------------------------------------------------- NumPy on tensors
def test_numpy_operators_and_methods_record() -> None:
    rng = np.random.default_rng(1)
    a, w = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 2))

    def f(x):
        z = (x @ w) * 2.0 - 1.0
        z = -z / 3.0 + abs(z) ** 2
        z = np.tanh(z).sum(axis=-1).T.reshape(-1)[::2]
        return np.sum(np.concatenate([z, np.exp(x).mean(axis=(1, 2))])) + x.max()

    def g(x):
        z = ops.subtract(ops.multiply(ops.matmul(x, w), 2.0), 1.0)
        z = ops.negative(z) / 3.0 + ops.power(ops.abs(z), 2)
        z = ops.reshape(ops.transpose(ops.sum(ops.tanh(z), axis=-1)), (-1,))[::2]
        return ops.sum(ops.concatenate([z, ops.mean(ops.exp(x), axis=(1, 2))])) + ops.max(x)

    vf, gf = value_and_grad(f)(a)
    vg, gg = value_and_grad(g)(a)
    np.testing.assert_allclose(vf, vg, rtol=1e-12)
    np.testing.assert_allclose(gf, gg, rtol=1e-12)
    fd_check("numpy-operators", f, [a], (0,), 3)


def test_numpy_without_a_gradient_raises() -> None:
    x = np.arange(4.0)
    with Tape() as tape:
        xt = tape.watch(x)
        with pytest.raises(TypeError, match="np.convolve"):
            np.convolve(xt, [1.0, 2.0])
        with pytest.raises(TypeError, match="in place"):
            xt[0] = 3.0
        with pytest.raises(TypeError, match="derived from a recorded tensor"):
            ops.sum(xt.take([0, 1]))             # an ndarray method the tape cannot see
        assert np.shape(xt) == (4,) and float(np.max(xt)) == 3.0   # non-float results ok
    assert np.asarray(xt * 2).tolist() == [0.0, 2.0, 4.0, 6.0]    # outside: a plain array


def test_no_tape_no_recording() -> None:
    from rnnlens.autodiff import ACTIVE

    x = np.ones(3)
    y = ops.exp(x)
    assert type(y) is np.ndarray and ACTIVE.get() is None


# ---------------------------------------------------------------------------- control flow
def test_control_flow_records_what_it_runs() -> None:
    x = np.array([0.5, -1.0, 2.0])

    def f(v):
        v = ops.cond(ops.sum(v) > 0, lambda: v * 2.0, lambda: v * 3.0)
        v = ops.fori_loop(0, 3, lambda i, c: ops.sin(c) + c, v)
        carry, ys = ops.scan(lambda c, e: (c * e, c + e), ops.ones(()), v)
        mapped = ops.map(lambda e: e * e, v)
        w = ops.while_loop(lambda c: ops.sum(c) < 50.0, lambda c: c * 1.5, v + 3.0)
        acc = ops.associative_scan(lambda a, b: a + b, v)
        return carry + ops.sum(ys) + ops.sum(mapped) + ops.sum(w) + ops.sum(acc)

    fd_check("control-flow", f, [x], (0,), 5)


def test_custom_gradient_and_stop_gradient() -> None:
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

        return ops.log(1 + e), grad

    x = np.array([0.0, 1.0, 100.0])
    value, g = value_and_grad(lambda v: ops.sum(log1pexp(v)))(x)
    np.testing.assert_allclose(g, [0.5, 1 / (1 + np.exp(-1.0)), 1.0])   # finite at 100
    assert np.isfinite(value)
    _, g2 = value_and_grad(lambda v: ops.sum(ops.stop_gradient(v) * v))(x)
    np.testing.assert_allclose(g2, x)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2 ** 16))
def test_gradient_is_linear_in_the_cotangent(seed: int) -> None:
    """Property: grad of sum(f * (a R1 + b R2)) = a grad(R1) + b grad(R2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 2))
    r1, r2 = rng.normal(size=(3,)), rng.normal(size=(3,))
    with Tape() as tape:
        xt = tape.watch(x)
        y = ops.sum(ops.softmax(xt * xt, axis=0) @ np.ones(2), axis=-1) if False else \
            ops.logsumexp(ops.tanh(xt) @ rng.normal(size=(2, 2)), axis=-1)
    a, b = rng.normal(), rng.normal()
    g1 = tape.gradient(y, xt, output_gradients=r1)
    g2 = tape.gradient(y, xt, output_gradients=r2)
    g12 = tape.gradient(y, xt, output_gradients=a * r1 + b * r2)
    np.testing.assert_allclose(g12, a * g1 + b * g2, rtol=1e-10, atol=1e-12)
