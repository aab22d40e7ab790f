"""The tape's gradients against ``tf.GradientTape`` on the same ``keras.ops`` expressions.

Each expression is written once over an ops module (``rnnlens.ops`` or ``keras.ops``) and
differentiated in float32 with a random cotangent; the inputs include TensorFlow's
conventions at kinks and ties (``relu`` at 0, ``maximum`` / ``max`` / ``clip`` at ties and
bounds, ``abs`` at 0, ``where``, the crossentropies' clipping), where the gradient is a
convention rather than a limit. Relative difference ``max|a - e| / max|e|`` <= 1e-5.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import rnnlens
from oracle import keras_available

WORST: dict[str, Any] = {"err": 0.0, "where": ""}


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on TensorFlow is not importable")
    import keras  # noqa: PLC0415

    return keras


@pytest.fixture(scope="module")
def tf(K: Any) -> Any:
    import tensorflow  # noqa: PLC0415

    return tensorflow


def teardown_module(module: Any) -> None:
    print(f"\ntape vs tf.GradientTape: worst relative difference {WORST['err']:.3e} "
          f"({WORST['where']})")


KINKS = np.array([[-1.5, 0.0, 0.0, 2.0, 6.0, -3.0], [3.0, 0.5, -0.5, 1.0, 1.0, 0.25]],
                 "float32")


def _r(shape: tuple, lo: float = -2, hi: float = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype("float32")


#: name -> (expression over (ops, *args), args, indices to differentiate)
EXPRESSIONS: list[tuple[str, Callable, list, tuple]] = [
    ("relu-kinks", lambda o, x: o.relu(x) + o.relu6(x) + o.leaky_relu(x), [KINKS], (0,)),
    ("abs-sign", lambda o, x: o.abs(x) * 2.0 + o.sign(x), [KINKS], (0,)),
    ("maximum-ties", lambda o, x, y: o.maximum(x, y) - o.minimum(x, y) * 2.0,
     [KINKS, KINKS[:, ::-1].copy()], (0, 1)),
    ("max-ties", lambda o, x: o.max(x, axis=1) + o.sum(o.min(x + o.round(x), axis=0)) +
     o.max(x), [KINKS], (0,)),
    ("clip-bounds", lambda o, x: o.clip(x, -0.5, 1.0), [KINKS], (0,)),
    ("hard-activations", lambda o, x: o.hard_sigmoid(x) + o.hard_tanh(x) + o.hard_silu(x),
     [KINKS], (0,)),
    ("elu-selu-celu", lambda o, x: o.elu(x, 0.7) + o.selu(x) + o.celu(x, 2.0), [KINKS], (0,)),
    ("gelu-silu-softplus", lambda o, x: o.gelu(x) + o.gelu(x, False) + o.silu(x) +
     o.softplus(x) + o.log_sigmoid(x) + o.softsign(x), [_r((3, 4))], (0,)),
    ("sqrt-at-zero-free", lambda o, x: o.sqrt(o.square(x) + 1.0) + o.rsqrt(o.exp(x)),
     [_r((3, 4))], (0,)),
    ("softmax-logsumexp", lambda o, x: o.softmax(x, axis=0) * o.log_softmax(x) +
     o.logsumexp(x, axis=-1, keepdims=True), [_r((3, 4))], (0,)),
    ("sparsemax", lambda o, x: o.sparsemax(x), [_r((2, 5), seed=3)], (0,)),
    ("where-divide", lambda o, x, y: o.where(x > 0, x / y, y * y) + o.divide_no_nan(x, y),
     [_r((3, 4)), _r((3, 4), 0.5, 2.0, 1)], (0, 1)),
    ("power-mod", lambda o, x, y: o.power(x, y) + o.mod(x, y), [_r((3,), 0.5, 2.0),
                                                               _r((3,), 0.3, 1.0, 1)], (0, 1)),
    ("reductions", lambda o, x: o.std(x, axis=0) + o.var(x, axis=0) + o.prod(x, axis=0) +
     o.mean(x, axis=0) + o.median(x, axis=0), [_r((4, 3))], (0,)),
    ("cumulative", lambda o, x: o.cumsum(x, axis=1) * o.cumprod(x, axis=1), [_r((2, 4))],
     (0,)),
    ("sort-topk", lambda o, x: o.sort(x, axis=-1) * o.arange(4.0) +
     o.sum(o.top_k(x, 2)[0], axis=-1, keepdims=True), [_r((3, 4))], (0,)),
    ("matmul-einsum", lambda o, a, b: o.einsum("bij,jk->bik", o.matmul(a, a[0]), b),
     [_r((2, 3, 3)), _r((3, 2), seed=1)], (0, 1)),
    ("tensordot-dot", lambda o, a, b: o.tensordot(a, b, axes=1) + o.dot(a, b),
     [_r((2, 3)), _r((3, 4), seed=1)], (0, 1)),
    ("indexing", lambda o, x: o.take(x, [2, 0, 2], axis=1) * 2.0 + o.take_along_axis(
        x, np.array([[0, 0, 1]]), axis=1), [_r((2, 3))], (0,)),
    ("shapes", lambda o, x: o.concatenate([o.transpose(x), o.reshape(x, (3, 2)) * 2.0],
                                           axis=1), [_r((2, 3))], (0,)),
    ("pad-tile-repeat", lambda o, x: o.sum(o.pad(x, [[1, 0], [0, 2]], mode="reflect")) +
     o.sum(o.tile(x, [2, 1]) * o.repeat(x, 2, axis=0), 0), [_r((2, 3))], (0,)),
    ("linalg", lambda o, a: o.inv(a) + o.det(a) + o.solve(a, a[0]) + o.slogdet(a)[1],
     [_r((3, 3)) + 3 * np.eye(3, dtype="float32")], (0,)),
    ("norms", lambda o, x: o.norm(x, axis=-1) + o.normalize(x)[..., 0] +
     o.layer_normalization(x)[..., 1] + o.rms_normalization(x)[..., 2],
     [_r((3, 4))], (0,)),
    ("bce", lambda o, t, p: o.binary_crossentropy(t, p), [
        np.array([[0.0, 1.0, 0.3]], "float32"), np.array([[1e-9, 0.5, 1.0]], "float32")],
     (0, 1)),
    ("cce", lambda o, p: o.categorical_crossentropy(np.array([[0, 1, 0.0]], "float32"), p),
     [np.array([[0.2, 0.7, 1e-9]], "float32")], (0,)),
    ("cce-logits", lambda o, p: o.categorical_crossentropy(
        np.array([[0.2, 0.3, 0.1]], "float32"), p, from_logits=True), [_r((1, 3))], (0,)),
    ("scce", lambda o, p: o.sparse_categorical_crossentropy(np.array([0, 2]), p) +
     o.sparse_categorical_crossentropy(np.array([1, 1]), p, from_logits=True),
     [np.array([[0.2, 0.7, 1e-9], [0.1, 0.1, 0.8]], "float32")], (0,)),
    ("moments-batchnorm", lambda o, x, m: o.moments(x, [0])[1] + o.batch_normalization(
        x, m, m * m + 1.0, axis=-1)[0], [_r((3, 2)), _r((2,), seed=2)], (0, 1)),
    ("attention", lambda o, q, k: o.dot_product_attention(q, k, k), [
        _r((1, 3, 2, 4)), _r((1, 3, 2, 4), seed=1)], (0, 1)),
    ("conv-pool", lambda o, x, w: o.max_pool(o.conv(x, w, padding="same"), 2) +
     o.average_pool(x[..., :1] * 1.0, 2), [_r((2, 6, 3)), _r((3, 3, 1), seed=1)], (0, 1)),
    ("segments", lambda o, d: o.segment_sum(d, np.array([0, 0, 1]), num_segments=2) +
     o.segment_max(d, np.array([1, 0, 1]), num_segments=2), [_r((3, 2))], (0,)),
]


@pytest.mark.parametrize("name,expr,args,wrt", EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_gradient_matches_tensorflow(K: Any, tf: Any, name: str, expr: Callable, args: list,
                                     wrt: tuple) -> None:
    from rnnlens.autodiff import Tape

    out_shape = np.shape(expr(rnnlens.ops, *args))
    cot = np.random.default_rng(7).normal(size=out_shape).astype("float32")
    with tf.GradientTape() as tape:
        tvars = [tf.constant(a) if i in wrt else a for i, a in enumerate(args)]
        for i in wrt:
            tape.watch(tvars[i])
        y = tf.reduce_sum(expr(K.ops, *tvars) * cot)
    expected = [g.numpy() for g in tape.gradient(y, [tvars[i] for i in wrt])]
    with Tape() as rtape:
        rargs = [rtape.watch(a) if i in wrt else a for i, a in enumerate(args)]
        ry = rnnlens.ops.sum(expr(rnnlens.ops, *rargs) * cot)
    got = rtape.gradient(ry, [rargs[i] for i in wrt])
    for i, g, e in zip(wrt, got, expected):
        g = np.zeros_like(e) if g is None else np.asarray(g)
        scale = max(float(np.abs(e).max()), 1.0)
        err = float(np.abs(g - e).max()) / scale
        if err > WORST["err"]:
            WORST.update(err=err, where=f"{name} arg {i}")
        assert err <= 1e-5, f"{name} arg {i}:\nrnnlens\n{g}\ntensorflow\n{e}"
