"""rnnlens.ops nn, math, linalg and core functions against keras.ops (TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from test_ops_support import DTYPES, PY, assert_same, check, keras_module, make, ops

pytestmark = pytest.mark.keras

ACTIVATIONS = ("sigmoid relu relu6 gelu elu selu silu swish softplus softsign log_sigmoid "
               "hard_sigmoid hard_silu hard_swish leaky_relu celu hard_tanh hard_shrink "
               "soft_shrink tanh_shrink sparse_plus sparse_sigmoid squareplus").split()
AXIS_ACT = ["softmax", "log_softmax", "glu", "sparsemax"]
MATH_UNARY = ["erf", "erfc", "erfinv", "rsqrt"]


@pytest.fixture(scope="module")
def K():
    return keras_module()


@pytest.mark.parametrize("name", ACTIVATIONS + MATH_UNARY)
def test_unary_nn_math(K, name):
    for kind in DTYPES + PY:
        shape = () if kind in PY else (2, 4)
        lo, hi = (-0.99, 0.99) if name == "erfinv" else (-5, 5)
        check(K, name, make(kind, shape, seed=len(name), lo=lo, hi=hi))
    x = np.array([-80.0, -3.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 3.0, 80.0, np.inf, -np.inf,
                  np.nan], "float32")
    if name == "erfinv":
        x = np.array([-1.0, -0.999, -0.5, 0.0, 1e-4, 0.3, 0.95, 1.0, 1.5, np.nan], "float32")
    check(K, name, x)
    check(K, name, x.astype("float64"))


def test_activation_arguments(K):
    x = make("float32", (3, 4), lo=-3, hi=3)
    check(K, "gelu", x, approximate=False)
    check(K, "gelu", x.astype("float64"), approximate=False)
    check(K, "elu", x, alpha=0.5)
    check(K, "celu", x, alpha=2.0)
    check(K, "leaky_relu", x, negative_slope=0.01)
    check(K, "hard_shrink", x, threshold=1.0)
    check(K, "soft_shrink", x, threshold=1.5)
    check(K, "squareplus", x, b=1)
    for kind in ["float32", "int32", "float64"]:
        check(K, "threshold", make(kind, (3, 4)), 0.5, -1.0)


@pytest.mark.parametrize("name", AXIS_ACT)
def test_softmax_family(K, name):
    for kind in ["float16", "float32", "float64", "int32", "bool"]:
        x = make(kind, (2, 3, 4), lo=-4, hi=4)
        for axis in [-1, 0, 1]:
            check(K, name, x, axis=axis)
    x = make("float32", (2, 3, 4))
    if name in ("softmax", "log_softmax"):
        check(K, name, x, axis=(0, 2))
        check(K, name, x, axis=(1,))
        check(K, name, np.array([[1000.0, 0.0, -1000.0]], "float32"))
        check(K, name, np.array([[-np.inf, 0.0, 1.0]], "float32"))
    check(K, name, make("float32", (2, 3)), axis=3)


def test_one_hot_multi_hot(K):
    for kind in ["int32", "int64", "uint8", "float32"]:
        x = make(kind, (2, 3), lo=-1, hi=5)
        for axis in [-1, 0, 1]:
            check(K, "one_hot", x, 4, axis=axis)
        for d in [None, "int32", "bool", "float64"]:
            check(K, "one_hot", x, 5, dtype=d)
            check(K, "multi_hot", x, 5, dtype=d)
        check(K, "multi_hot", x[0], 6)
        check(K, "multi_hot", x, num_classes=4, axis=0)


def test_crossentropies(K):
    rng = np.random.default_rng(0)
    for d in ["float32", "float64"]:
        p = rng.uniform(0, 1, (4, 5)).astype(d)
        p[0, 0], p[1, 1], p[2, 2] = 0.0, 1.0, 1e-9
        t = (rng.uniform(0, 1, (4, 5)) > 0.5).astype(d)
        z = rng.normal(0, 3, (4, 5)).astype(d)
        check(K, "binary_crossentropy", t, p)
        check(K, "binary_crossentropy", t, z, from_logits=True)
        onehot = np.eye(5, dtype=d)[rng.integers(0, 5, 4)]
        check(K, "categorical_crossentropy", onehot, p)
        check(K, "categorical_crossentropy", onehot, z, from_logits=True)
        check(K, "categorical_crossentropy", onehot.T, p.T, axis=0)
        labels = rng.integers(0, 5, 4)
        check(K, "sparse_categorical_crossentropy", labels, p)
        check(K, "sparse_categorical_crossentropy", labels[:, None], z, from_logits=True)
        seq = rng.normal(0, 1, (2, 3, 5)).astype(d)
        check(K, "sparse_categorical_crossentropy", rng.integers(0, 5, (2, 3)), seq,
              from_logits=True)
    check(K, "binary_crossentropy", np.ones((2, 3)), np.ones((3, 2)))
    check(K, "sparse_categorical_crossentropy", np.array([0, 5]), np.ones((2, 5), "float32"))


def test_moments_and_normalization(K):
    for d in ["float16", "float32", "float64"]:
        x = make(d, (3, 4, 5), lo=-3, hi=3)
        for axes in [[0], [0, 1], [-1], (1, 2)]:
            check(K, "moments", x, axes)
            check(K, "moments", x, axes, keepdims=True)
        for axis in [-1, 1, (1, 2)]:
            for order in [1, 2, 3]:
                check(K, "normalize", x, axis=axis, order=order)
        g, b = make(d, (5,), seed=1), make(d, (5,), seed=2)
        check(K, "layer_normalization", x)
        check(K, "layer_normalization", x, g, b, epsilon=1e-5)
        check(K, "layer_normalization", x, make(d, (4, 5)), axis=(1, 2))
        check(K, "rms_normalization", x)
        check(K, "rms_normalization", x, g, axis=-1, epsilon=1e-3)
        m, v = make(d, (4,), seed=3), make(d, (4,), seed=4, lo=0.1, hi=2)
        check(K, "batch_normalization", x, m, v, axis=1)
        check(K, "batch_normalization", x, make(d, (5,)), make(d, (5,), lo=0.5, hi=2), -1,
              offset=b, scale=g, epsilon=1e-2)
    check(K, "normalize", make("float32", (3,)), order=0)
    check(K, "psnr", make("float32", (2, 8), lo=0, hi=1), make("float32", (2, 8), seed=1,
                                                                  lo=0, hi=1), 1.0)


def test_dot_product_attention(K):
    rng = np.random.default_rng(1)
    q = rng.normal(size=(2, 3, 4, 8)).astype("float32")
    k = rng.normal(size=(2, 5, 4, 8)).astype("float32")
    v = rng.normal(size=(2, 5, 4, 8)).astype("float32")
    check(K, "dot_product_attention", q, k, v)
    check(K, "dot_product_attention", q, k, v, scale=0.5)
    check(K, "dot_product_attention", q, k, v, bias=rng.normal(size=(2, 4, 3, 5)).astype(
        "float32"))
    mask = rng.uniform(size=(2, 4, 3, 5)) > 0.3
    check(K, "dot_product_attention", q, k, v, mask=mask)
    check(K, "dot_product_attention", q, k[:, :3], v[:, :3], is_causal=True)
    check(K, "dot_product_attention", q, k[:, :, :2], v[:, :, :2])   # grouped query heads


def test_pixel_shuffle_polar_threshold(K):
    x = make("float32", (2, 4, 6, 8))
    for fmt in ["channels_last", "channels_first"]:
        check(K, "depth_to_space", x, 2, data_format=fmt)
        check(K, "space_to_depth", x, 2, data_format=fmt)
    a, t = make("float32", (3,), lo=0, hi=2), make("float32", (3,), seed=1)
    check(K, "polar", a, t)


def test_logsumexp_top_k(K):
    for d in ["float16", "float32", "float64"]:
        x = make(d, (3, 4, 5), lo=-10, hi=10)
        for axis in [None, 0, -1, (1, 2)]:
            check(K, "logsumexp", x, axis=axis)
            check(K, "logsumexp", x, axis=axis, keepdims=True)
    check(K, "logsumexp", np.array([-np.inf, -np.inf], "float32"))
    for kind in ["float32", "int32", "float64", "int8", "bool"]:
        x = make(kind, (3, 6), lo=-3, hi=3)          # ties: the lower index first
        for k in [1, 3, 6]:
            check(K, "top_k", x, k)
        check(K, "top_k", x, 7)
    t = np.array([0, 3, 1], "int32")
    p = make("float32", (3, 5))
    for k in [1, 2, 5]:
        check(K, "in_top_k", t, p, k)


def test_segments(K):
    data = make("float32", (6, 3))
    ids = np.array([0, 0, 2, 2, 3, 1], "int32")
    for name in ["segment_sum", "segment_max", "segment_min", "segment_prod"]:
        check(K, name, data, ids)
        check(K, name, data, ids, num_segments=5)
        check(K, name, data[:, 0], ids, sorted=False)
        check(K, name, data, np.sort(ids), sorted=True)
        check(K, name, make("int32", (6,)), ids)


def test_extract_sequences_cdist_misc(K):
    x = make("float32", (2, 10))
    for n, s in [(3, 1), (4, 2), (10, 3), (11, 1)]:
        check(K, "extract_sequences", x, n, s)
    check(K, "cdist", make("float32", (4, 3)), make("float32", (5, 3), seed=1))
    check(K, "cdist", make("float32", (2, 4, 3)), make("float32", (2, 5, 3), seed=1))
    spd = np.array([[4.0, 1.0], [1.0, 3.0]], "float32")
    check(K, "logdet", spd)
    re, im = make("float32", (2, 8)), make("float32", (2, 8), seed=1)
    check(K, "fft", (re, im))
    check(K, "fft2", (re, im))
    check(K, "ifft2", (re, im))
    check(K, "rfft", re)
    check(K, "rfft", re, fft_length=6)
    check(K, "irfft", (re[:, :5], im[:, :5]))
    check(K, "irfft", (re[:, :5], im[:, :5]), fft_length=8)


def test_linalg(K):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 4, 4)).astype("float32")
    spd = a @ a.transpose(0, 2, 1) + 4 * np.eye(4, dtype="float32")
    b = rng.normal(size=(3, 4, 2)).astype("float32")
    for d in ["float32", "float64"]:
        A, S, B = a.astype(d), spd.astype(d), b.astype(d)
        check(K, "det", A, rtol=1e-4)
        check(K, "inv", S, rtol=1e-4)
        check(K, "solve", S, B, rtol=1e-4)
        check(K, "solve", S, B[..., 0], rtol=1e-4)
        check(K, "solve_triangular", np.tril(S), B, lower=True, rtol=1e-4)
        check(K, "solve_triangular", np.triu(S), B, rtol=1e-4)
        check(K, "cholesky", S, rtol=1e-4)
        check(K, "cholesky", S, upper=True, rtol=1e-4)
        check(K, "cholesky_inverse", np.linalg.cholesky(S), rtol=1e-3)
        check(K, "pinv", A[0], rtol=1e-3)
        check(K, "matrix_rank", A)
        check(K, "svd", S, compute_uv=False, rtol=1e-4)
        check(K, "slogdet", S, rtol=1e-4)
        check(K, "lstsq", A[0], B[0], rtol=1e-3)
        w, _ = ops.eigh(S)
        assert_same(w, K.ops.convert_to_numpy(K.ops.eigh(S)[0]), "eigh values", 1e-4)
        q, r = ops.qr(A)
        np.testing.assert_allclose(q @ r, A, atol=1e-4)
        u, s, vh = ops.svd(A)
        np.testing.assert_allclose((u * s[..., None, :]) @ vh, A, atol=1e-4)
        lu, piv = ops.lu_factor(S[0])
        k_lu, k_piv = K.ops.lu_factor(S[0])
        assert_same(lu, K.ops.convert_to_numpy(k_lu), "lu", 1e-4)
        assert_same(piv, K.ops.convert_to_numpy(k_piv), "lu pivots")
    for o in [None, 1, 2, np.inf, -np.inf, 0, 3]:
        check(K, "norm", a, ord=o, axis=-1)
    for o in [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]:
        check(K, "norm", a, ord=o, axis=(1, 2), rtol=1e-4)
    for kind in ["int32", "float32", "float64", "int64"]:
        check(K, "norm", make(kind, (3, 4)))
        check(K, "norm", make(kind, (3, 4)), axis=0, keepdims=True)
    check(K, "norm", a, ord="fro", axis=-1)
    check(K, "inv", np.zeros((2, 2), "float32"))


def test_products(K):
    for a in ["int8", "int32", "float32", "float64", "bool", "uint8", "float16"]:
        for b in ["int8", "int32", "float32"]:
            x, y = make(a, (2, 3, 4)), make(b, (4, 5), seed=1)
            check(K, "matmul", x, y)
            check(K, "dot", x, y)
            check(K, "tensordot", x, y, axes=1)
            check(K, "einsum", "bij,jk->bik", x, y)
            check(K, "outer", x[0, 0], y[0])
            check(K, "inner", x, make(b, (5, 4), seed=2))
            check(K, "vdot", x[0], make(b, (3, 4), seed=2))
            check(K, "kron", x[0], y[:2, :2])
            check(K, "cross", make(a, (4, 3)), make(b, (4, 3), seed=3))
    v = make("float32", (4,))
    check(K, "matmul", v, make("float32", (4, 2)))
    check(K, "matmul", make("float32", (3, 4)), v)
    check(K, "matmul", make("float32", (2, 1, 3, 4)), make("float32", (5, 4, 2)))
    check(K, "matmul", make("float32", (3, 4)), make("float32", (3, 4)))
    check(K, "dot", v, v)
    check(K, "dot", 2.0, v)
    check(K, "tensordot", make("float32", (3, 4, 5)), make("float32", (4, 5, 2)))
    check(K, "tensordot", make("float32", (3, 4)), make("float32", (4, 3)), axes=[[0], [1]])
    check(K, "einsum", "ii->i", make("float32", (3, 3)))
    check(K, "einsum", "i,i", v, v)
    check(K, "einsum", "...ij,...jk", make("float32", (2, 3, 4)), make("float32", (2, 4, 1)))
    check(K, "cross", make("float32", (4, 2)), make("float32", (4, 3), seed=3))
    for mode in ["valid", "same", "full"]:
        check(K, "correlate", make("float32", (6,)), make("float32", (3,), seed=1), mode=mode)
        check(K, "correlate", make("int32", (5,)), make("int32", (3,), seed=1), mode=mode)
    check(K, "corrcoef", make("float32", (3, 6)))
    check(K, "corrcoef", make("int32", (2, 5)))
    for kind in ["int32", "float32", "float64"]:
        y = make(kind, (3, 5))
        check(K, "trapezoid", y)
        check(K, "trapezoid", y, dx=0.5, axis=0)
        check(K, "trapezoid", y, x=np.linspace(0, 1, 5).astype("float32"))
    for kind in DTYPES:
        x = make(kind, (3, 4), lo=-5, hi=5)
        check(K, "clip", x, -2, 3)
        check(K, "clip", x, 0.5, 1.5)
