"""rnnlens.ops convolutions and pooling (``rnnlens.ops.nn_conv``) against keras.ops 3.15.1
on TensorFlow, and their hand-written backward passes against ``tf.GradientTape``.

* values: every op over a grid of 1-D arguments (padding valid / same, strides and
  dilations, both data formats, odd and even lengths, grouped convolutions), a hypothesis
  search over the same space, a smaller 2-D grid and a few 3-D cases; dtypes (float64,
  float16, int32, bools and int average pools refused);
* gradients: ``<op>_backward`` against the tape on the input and every kernel (1-D grid,
  2-D cases), max-pool ties (TensorFlow's first-maximum rule), 3-D max-pool over pool
  sizes / strides / paddings with exact and near ties (MaxPool3DGrad's 1e-5 rule);
* properties without Keras, in float64: each op is linear in each argument where it should
  be, so ``<y, dy> = <x, dx> = <W, dW>`` exactly (adjoint identities, any rank 1-3, groups,
  causal padding); the max-pool gradient equals finite differences away from ties;
* errors: bad arguments and inputs raise a ValueError / TypeError naming the op (a list and
  a hypothesis fuzz), including TensorFlow's impossible transposed shapes and the memory
  guard.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import record_parity
from merge_reshape_parity import assert_raised_by_rnnlens
from test_ops_support import check, keras_module

from rnnlens import ops
from rnnlens.ops import nn_conv as NC


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


def _x(shape: tuple, seed: int, dtype: str = "float32") -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _input(n_spatial: int, length: int, channels: int, df: str, seed: int,
           batch: int = 2) -> np.ndarray:
    spatial = (length,) * n_spatial
    shape = (batch, *spatial, channels) if df == "channels_last" else \
        (batch, channels, *spatial)
    return _x(shape, seed)


def _all_ops(K: Any, x: np.ndarray, k: int, s: int, d: int, pad: str, df: str,
             seed: int) -> None:
    """Every op on ``x`` with kernel / pool size k, strides s, dilation d; via ``check``
    (equal values, or both refuse)."""
    n = x.ndim - 2
    c = x.shape[-1] if df == "channels_last" else x.shape[1]
    kw = dict(padding=pad, data_format=df)
    conv_kw = dict(kw, strides=s, dilation_rate=d)
    length = min(x.shape[1:-1] if df == "channels_last" else x.shape[2:])
    convs = [("conv", [_x((k,) * n + (c, 5), seed)])]
    if c % 2 == 0:
        convs.append(("conv", [_x((k,) * n + (c // 2, 6), seed + 1)]))            # 2 groups
    depth = _x((k,) * n + (c, 2), seed + 2)
    if n < 3:
        convs += [("depthwise_conv", [depth]),
                  ("separable_conv", [depth, _x((1,) * n + (2 * c, 3), seed + 3)])]
    for name, kernels in convs:
        if pad == "valid" and (k - 1) * d + 1 > length and x.size:
            # Keras on TensorFlow returns a tensor of the input's shape here (its check
            # for an empty output does not run on NumPy inputs); rnnlens refuses.
            with pytest.raises(ValueError, match="empty output|strides > 1"):
                getattr(ops, name)(x, *kernels, **conv_kw)
            continue
        check(K, name, x, *kernels, **conv_kw)
    if s == 1 or d == 1:
        for opad in (None, s - 1):
            check(K, "conv_transpose", x, _x((k,) * n + (4, c), seed + 4),
                  output_padding=opad, **conv_kw)
    if pad == "valid" and k > length:
        # TensorFlow's pooling kernels crash the process (SIGFPE) on windows that do not
        # fit; rnnlens returns the empty result TensorFlow's shape function gives.
        for name in ("max_pool", "average_pool"):
            assert getattr(ops, name)(x, k, s, **kw).size == 0
        return
    check(K, "max_pool", x, k, s, **kw)
    check(K, "average_pool", x, k, s, **kw)


# ---------------------------------------------------------------------------- values
GRID_1D = [(k, s, d) for k in (1, 2, 3, 4) for s, d in ((1, 1), (2, 1), (3, 1), (1, 2),
                                                         (1, 3), (2, 2))]


@pytest.mark.parametrize("pad", ["valid", "same"])
@pytest.mark.parametrize("df", ["channels_last", "channels_first"])
@pytest.mark.parametrize("length", [9, 10])
def test_1d_grid_against_keras(K: Any, pad: str, df: str, length: int) -> None:
    for i, (k, s, d) in enumerate(GRID_1D):
        x = _input(1, length, 4, df, seed=i)
        _all_ops(K, x, k, s, d, pad, df, seed=i)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(length=st.integers(1, 13), channels=st.integers(1, 4), k=st.integers(1, 5),
       s=st.integers(1, 4), d=st.integers(1, 3), pad=st.sampled_from(["valid", "same"]),
       df=st.sampled_from(["channels_last", "channels_first"]), seed=st.integers(0, 99))
def test_1d_hypothesis_against_keras(K: Any, length: int, channels: int, k: int, s: int,
                                     d: int, pad: str, df: str, seed: int) -> None:
    """Any 1-D arguments: equal values, or Keras and rnnlens both refuse."""
    x = _input(1, length, channels, df, seed)
    _all_ops(K, x, k, s, d, pad, df, seed)


@pytest.mark.parametrize("pad", ["valid", "same"])
@pytest.mark.parametrize("k,s,d", [(1, 1, 1), (3, 1, 1), (2, 2, 1), (3, 2, 1), (3, 1, 2)])
def test_2d_against_keras(K: Any, pad: str, k: int, s: int, d: int) -> None:
    for df in ("channels_last", "channels_first"):
        _all_ops(K, _input(2, 7, 4, df, seed=k + s), k, s, d, pad, df, seed=k)
    x = _x((2, 7, 5, 2), 3)                                  # unequal spatial sizes
    check(K, "conv", x, _x((k, 2, 2, 3), 4), strides=(s, 1), padding=pad,
          dilation_rate=(1, d))
    check(K, "max_pool", x, (k, 2), (s, 1), pad)


@pytest.mark.parametrize("df", ["channels_last", "channels_first"])
def test_3d_against_keras(K: Any, df: str) -> None:
    x = _input(3, 5, 2, df, seed=1)
    for pad in ("valid", "same"):
        check(K, "conv", x, _x((2, 3, 2, 2, 3), 2), strides=(1, 2, 1), padding=pad,
              data_format=df)
        check(K, "conv", x, _x((2, 2, 2, 1, 4), 3), padding=pad, data_format=df)
        check(K, "conv_transpose", x, _x((2, 3, 2, 3, 2), 4), strides=2, padding=pad,
              data_format=df)
        check(K, "max_pool", x, 2, 1, pad, df)
        check(K, "average_pool", x, (2, 3, 1), 2, pad, df)


def test_dtypes(K: Any) -> None:
    x, k = _x((2, 8, 3), 0), _x((3, 3, 4), 1)
    check(K, "conv", x.astype("float64"), k.astype("float64"), padding="same")
    check(K, "conv", x.astype("float16"), k.astype("float16"), rtol=1e-2)
    xi = np.random.default_rng(0).integers(-5, 5, (2, 8, 3)).astype("int32")
    ki = np.random.default_rng(1).integers(-5, 5, (3, 3, 4)).astype("int32")
    check(K, "conv", xi, ki)
    check(K, "max_pool", xi, 2)
    check(K, "depthwise_conv", x.astype("float64"), _x((3, 3, 2), 2, "float64"))
    with pytest.raises(TypeError, match="ops.average_pool"):
        ops.average_pool(xi, 2)
    with pytest.raises(TypeError, match="ops.conv"):
        ops.conv(x > 0, k > 0)


def test_mixed_float_dtypes_promote() -> None:
    """TensorFlow refuses float32 with float64; rnnlens promotes (docs/ops.md)."""
    x, k = _x((2, 8, 3), 0), _x((3, 3, 4), 1, "float64")
    out = ops.conv(x, k)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ops.conv(x.astype("float64"), k), rtol=1e-12)


def test_list_inputs_and_empty_batch(K: Any) -> None:
    x, k = _x((2, 6, 2), 0), _x((2, 2, 3), 1)
    np.testing.assert_array_equal(ops.conv(x.tolist(), k.tolist()), ops.conv(
        x.astype("float32"), k.astype("float32")))
    assert ops.conv(x[:0], k).shape == (0, 5, 3)
    assert ops.max_pool(x[:, :1], 3).shape == (2, 0, 2)       # TensorFlow's shape: empty
    assert ops.average_pool(x[:, :1], 3, padding="valid", data_format="channels_last"
                            ).shape == (2, 0, 2)
    assert ops.max_pool(x[:0], 2).shape == (0, 3, 2)


# ---------------------------------------------------------------------------- gradients
def _tape(fn: Any, arrays: list[np.ndarray], dy: np.ndarray) -> list[np.ndarray]:
    import tensorflow as tf  # noqa: PLC0415

    ts = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        y = fn(*ts)
    return [np.asarray(g) for g in tape.gradient(y, ts, output_gradients=tf.constant(dy))]


def _rel(ours: list, theirs: list, what: str) -> None:
    for i, (a, e) in enumerate(zip(ours, theirs)):
        assert np.shape(a) == np.shape(e), f"{what}[{i}]: {np.shape(a)} vs {np.shape(e)}"
        scale = max(float(np.abs(e).max()), 1e-30) if np.size(e) else 1.0
        record_parity(np.asarray(a, np.float64) / scale, np.asarray(e, np.float64) / scale,
                      f"{what}[{i}]", what, atol=1e-5)


def _grads_1op(K: Any, name: str, x: np.ndarray, kernels: list, kw: dict, seed: int) -> None:
    fwd, bwd = getattr(NC, f"{name}_forward"), getattr(NC, f"{name}_backward")
    y, cache = fwd(x, *kernels, **kw)
    dy = _x(y.shape, seed)
    ours = bwd(cache, dy)
    ours = list(ours) if isinstance(ours, tuple) else [ours]
    theirs = _tape(lambda *a: getattr(K.ops, name)(*a, **kw), [x, *kernels], dy)
    _rel(ours, theirs, f"{name} {kw} {x.shape}")


@pytest.mark.parametrize("df", ["channels_last", "channels_first"])
@pytest.mark.parametrize("pad", ["valid", "same"])
def test_1d_gradients_against_tape(K: Any, df: str, pad: str) -> None:
    for i, (k, s, d) in enumerate([(3, 1, 1), (2, 2, 1), (3, 1, 2), (4, 3, 1), (1, 1, 1)]):
        x = _input(1, 11, 4, df, seed=i)
        kw = dict(strides=s, padding=pad, data_format=df, dilation_rate=d)
        _grads_1op(K, "conv", x, [_x((k, 4, 3), i)], kw, i)
        _grads_1op(K, "conv", x, [_x((k, 2, 4), i)], kw, i)                 # groups
        _grads_1op(K, "depthwise_conv", x, [_x((k, 4, 2), i)], kw, i)
        _grads_1op(K, "separable_conv", x, [_x((k, 4, 2), i), _x((1, 8, 3), i + 1)], kw, i)
        _grads_1op(K, "conv_transpose", x, [_x((k, 3, 4), i)],
                   dict(kw, output_padding=s - 1), i)
        _grads_1op(K, "max_pool", x, [], dict(pool_size=k, strides=s, padding=pad,
                                              data_format=df), i)
        _grads_1op(K, "average_pool", x, [], dict(pool_size=k, strides=s, padding=pad,
                                                  data_format=df), i)


def test_2d_gradients_against_tape(K: Any) -> None:
    x = _x((2, 7, 6, 4), 0)
    for pad in ("valid", "same"):
        kw = dict(strides=(2, 1), padding=pad)
        _grads_1op(K, "conv", x, [_x((3, 2, 2, 6), 1)], kw, 1)
        _grads_1op(K, "depthwise_conv", x, [_x((3, 3, 4, 2), 2)], kw, 2)
        _grads_1op(K, "separable_conv", x, [_x((2, 2, 4, 1), 3), _x((1, 1, 4, 5), 4)], kw, 3)
        _grads_1op(K, "conv_transpose", x, [_x((3, 3, 2, 4), 5)], kw, 5)
        _grads_1op(K, "max_pool", x, [], dict(pool_size=(3, 2), strides=(2, 1), padding=pad),
                   6)
        _grads_1op(K, "average_pool", x, [], dict(pool_size=3, strides=2, padding=pad), 7)


def test_max_pool_ties_follow_tensorflow(K: Any) -> None:
    """Each window's gradient goes to its first maximum (padding never wins, even when
    the real maximum is -inf)."""
    x = np.array([[1, 3, 3, 2, 3, 3, 0]], "float32")[..., None]
    for pad in ("valid", "same"):
        for s in (1, 2):
            _grads_1op(K, "max_pool", x, [], dict(pool_size=3, strides=s, padding=pad), s)
    x2 = np.full((1, 4, 4, 1), 2.0, "float32")
    _grads_1op(K, "max_pool", x2, [], dict(pool_size=2, strides=1, padding="same"), 3)
    y, cache = NC.max_pool_forward(np.full((1, 3, 1), -np.inf, "float32"), 2, 1, "same")
    d = NC.max_pool_backward(cache, np.ones_like(y))
    np.testing.assert_array_equal(d.ravel(), [1.0, 1.0, 1.0])


def test_max_pool_3d_near_ties_follow_tensorflow(K: Any) -> None:
    """Regression (hypothesis draws of the pooling property): with 3 spatial axes every
    entry within 1e-5 of its window's maximum receives the window's whole gradient, as
    TensorFlow's MaxPool3DGrad on CPU does, so ``dx.sum() != dy.sum()`` there. Both cases
    hold one such near tie (0.84146497 vs 0.84145889 in the first)."""
    cases = [((2, 1, 2, 4, 2), dict(pool_size=(1, 2, 2), strides=1, padding="valid",
                                     data_format="channels_last")),
             ((2, 2, 2, 2, 5), dict(pool_size=(2, 1, 1), strides=1, padding="valid",
                                     data_format="channels_first"))]
    for shape, kw in cases:
        x = _x(shape, 2, "float64").astype("float32")
        y, cache = NC.max_pool_forward(x, **kw)
        dy = _x(y.shape, 5, "float64").astype("float32")
        dx = NC.max_pool_backward(cache, dy)
        assert abs(float(dx.sum()) - float(dy.sum())) > 0.1            # the near tie
        (theirs,) = _tape(lambda a, kw=kw: K.ops.max_pool(a, **kw), [x], dy)
        _rel([dx], [theirs], f"max_pool near tie {shape} {kw}")


@pytest.mark.parametrize("df", ["channels_last", "channels_first"])
@pytest.mark.parametrize("pad", ["valid", "same"])
def test_3d_max_pool_gradients_against_tape(K: Any, df: str, pad: str) -> None:
    """3-D max-pool gradients over pool sizes and strides (strides above the pool, uneven
    "same" pads) on inputs rounded to a few values (exact ties), and on normal draws."""
    for i, (k, s) in enumerate([((2, 1, 1), 1), ((2, 2, 2), (2, 1, 3)), ((3, 1, 2), 3),
                                ((1, 2, 3), (1, 2, 1)), ((2, 2, 1), (3, 3, 2))]):
        x = _input(3, 5, 2, df, seed=10 + i)
        kw = dict(pool_size=k, strides=s, padding=pad, data_format=df)
        _grads_1op(K, "max_pool", np.round(x), [], kw, i)
        _grads_1op(K, "max_pool", x, [], kw, i + 20)


# ---------------------------------------------------------------------------- properties
def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)))


@st.composite
def _conv_case(draw: Any) -> dict:
    n = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cg = draw(st.integers(1, 2))
    size = tuple(draw(st.integers(1, 7)) for _ in range(n))
    k = tuple(draw(st.integers(1, 3)) for _ in range(n))
    stride_dims = draw(st.booleans())
    s = tuple(draw(st.integers(1, 3)) if stride_dims else 1 for _ in range(n))
    d = tuple(1 if stride_dims else draw(st.integers(1, 3)) for _ in range(n))
    pad = draw(st.sampled_from(["valid", "same", "causal"]))
    df = draw(st.sampled_from(["channels_last", "channels_first"]))
    seed = draw(st.integers(0, 2**16))
    return dict(n=n, groups=groups, cg=cg, size=size, k=k, s=s, d=d, pad=pad, df=df,
                seed=seed)


def _spatial_input(case: dict, channels: int) -> np.ndarray:
    shape = (2, *case["size"], channels) if case["df"] == "channels_last" else \
        (2, channels, *case["size"])
    return _x(shape, case["seed"], "float64")


@settings(max_examples=150, deadline=None)
@given(_conv_case())
def test_property_conv_adjoint_identities(case: dict) -> None:
    """conv is bilinear: <y, dy> = <x, dx> = <W, dW> for any rank, groups, padding."""
    c = case["groups"] * case["cg"]
    x = _spatial_input(case, c)
    w = _x((*case["k"], case["cg"], 2 * case["groups"]), case["seed"] + 1, "float64")
    try:
        y, cache = NC.conv_forward(x, w, case["s"], case["pad"], case["df"], case["d"])
    except ValueError as err:                       # an empty "valid" output
        assert "empty output" in str(err)
        return
    assert y.dtype == np.float64
    dy = _x(y.shape, case["seed"] + 2, "float64")
    dx, dw = NC.conv_backward(cache, dy)
    assert dx.shape == x.shape and dw.shape == w.shape
    np.testing.assert_allclose(_dot(x, dx), _dot(y, dy), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(_dot(w, dw), _dot(y, dy), rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(_conv_case())
def test_property_transpose_is_the_adjoint_of_conv(case: dict) -> None:
    """<conv(z, W), x> = <z, conv_transpose(x, W)> and the transposed backward identities."""
    if case["pad"] == "causal":
        case = dict(case, pad="same")
    c = case["cg"]
    x = _spatial_input(case, c)
    w = _x((*case["k"], 3, c), case["seed"] + 1, "float64")           # (*k, F, C)
    try:
        y, cache = NC.conv_transpose_forward(x, w, case["s"], case["pad"], None, case["df"],
                                             case["d"])
    except ValueError as err:
        assert "convolve back" in str(err)
        return
    back = NC.conv(y, w, case["s"], case["pad"], case["df"], case["d"])   # (..., C)
    assert back.shape == x.shape
    z = _x(y.shape, case["seed"] + 2, "float64")
    np.testing.assert_allclose(_dot(NC.conv(z, w, case["s"], case["pad"], case["df"],
                                            case["d"]), x), _dot(z, y), rtol=1e-9, atol=1e-9)
    dx, dw = NC.conv_transpose_backward(cache, z)
    np.testing.assert_allclose(_dot(x, dx), _dot(y, z), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(_dot(w, dw), _dot(y, z), rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(_conv_case())
def test_property_pooling_gradients(case: dict) -> None:
    """average_pool is linear (adjoint identity); on tie-free inputs max_pool's gradient
    sums to the sum of dy and ``<x, dx> = <y, dy>``.

    The inputs are a shuffled grid of distinct values 0.01 apart: with normal draws two
    entries of a 3-D window within 1e-5 of each other both receive the window's gradient
    (TensorFlow's MaxPool3DGrad, see ``test_max_pool_3d_near_ties_follow_tensorflow``), so
    the sum invariant would not hold."""
    if case["pad"] == "causal":
        return
    x = _spatial_input(case, 2)
    x = np.random.default_rng(case["seed"]).permutation(x.size).reshape(x.shape) * 0.01
    try:
        y, cache = NC.average_pool_forward(x, case["k"], case["s"], case["pad"], case["df"])
    except ValueError:
        return
    dy = _x(y.shape, case["seed"] + 3, "float64")
    np.testing.assert_allclose(_dot(x, NC.average_pool_backward(cache, dy)), _dot(y, dy),
                               rtol=1e-9, atol=1e-9)
    y, cache = NC.max_pool_forward(x, case["k"], case["s"], case["pad"], case["df"])
    dx = NC.max_pool_backward(cache, dy)
    np.testing.assert_allclose(dx.sum(), dy.sum(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(_dot(x, dx), _dot(y, dy), rtol=1e-9, atol=1e-9)


def test_max_pool_backward_equals_finite_differences() -> None:
    x = _x((2, 9, 3), 5, "float64")
    for pad in ("valid", "same"):
        y, cache = NC.max_pool_forward(x, 3, 2, pad)
        dy = _x(y.shape, 6, "float64")
        dx = NC.max_pool_backward(cache, dy)
        eps, fd = 1e-6, np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            xp = x.copy()
            xp[idx] += eps
            fd[idx] = (_dot(NC.max_pool(xp, 3, 2, pad), dy) - _dot(y, dy)) / eps
        np.testing.assert_allclose(dx, fd, atol=1e-5)


# ---------------------------------------------------------------------------- errors
X3 = np.ones((2, 8, 3), np.float32)
K3 = np.ones((3, 3, 4), np.float32)
BAD: dict[str, Any] = {
    "conv rank 2": lambda: ops.conv(np.ones((8, 3)), K3),
    "conv rank 6": lambda: ops.conv(np.ones((1, 2, 2, 2, 2, 3)), np.ones((1, 1, 1, 1, 3, 2))),
    "conv kernel rank": lambda: ops.conv(X3, np.ones((3, 4))),
    "conv channels": lambda: ops.conv(X3, np.ones((3, 2, 4))),
    "conv groups filters": lambda: ops.conv(np.ones((2, 8, 4)), np.ones((3, 2, 3))),
    "conv strides 0": lambda: ops.conv(X3, K3, strides=0),
    "conv strides length": lambda: ops.conv(X3, K3, strides=(1, 2)),
    "conv strides float": lambda: ops.conv(X3, K3, strides=1.5),
    "conv strides bool": lambda: ops.conv(X3, K3, strides=True),
    "conv padding": lambda: ops.conv(X3, K3, padding="full"),
    "conv padding causal": lambda: ops.conv(X3, K3, padding="causal"),
    "conv padding type": lambda: ops.conv(X3, K3, padding=1),
    "conv data_format": lambda: ops.conv(X3, K3, data_format="NWC"),
    "conv stride and dilation": lambda: ops.conv(X3, K3, strides=2, dilation_rate=2),
    "conv empty output": lambda: ops.conv(X3[:, :2], K3),
    "conv kernel zero": lambda: ops.conv(X3, np.ones((0, 3, 4))),
    "conv strings": lambda: ops.conv("abc", K3),
    "conv None": lambda: ops.conv(None, K3),
    "conv huge dilation": lambda: ops.conv(X3, K3, padding="same", dilation_rate=10**9),
    "transpose same even kernel": lambda: ops.conv_transpose(X3, np.ones((4, 5, 3)),
                                                             padding="same",
                                                             output_padding=0),
    "transpose output_padding": lambda: ops.conv_transpose(X3, np.ones((3, 5, 3)), 2,
                                                           output_padding=2),
    "transpose channels": lambda: ops.conv_transpose(X3, np.ones((3, 3, 5))),
    "transpose negative output_padding": lambda: ops.conv_transpose(
        X3, np.ones((3, 5, 3)), 2, output_padding=-1),
    "depthwise rank 5": lambda: ops.depthwise_conv(np.ones((1, 3, 3, 3, 2)),
                                                   np.ones((1, 1, 1, 2, 1))),
    "depthwise channels": lambda: ops.depthwise_conv(X3, np.ones((3, 2, 2))),
    "separable pointwise": lambda: ops.separable_conv(X3, np.ones((3, 3, 2)),
                                                      np.ones((1, 5, 4))),
    "separable pointwise size": lambda: ops.separable_conv(X3, np.ones((3, 3, 2)),
                                                           np.ones((2, 6, 4))),
    "max_pool size 0": lambda: ops.max_pool(X3, 0),
    "max_pool size tuple": lambda: ops.max_pool(X3, (2, 2)),
    "max_pool bool": lambda: ops.max_pool(X3 > 0, 2),
    "average_pool int": lambda: ops.average_pool(X3.astype("int32"), 2),
    "average_pool strides": lambda: ops.average_pool(X3, 2, -1),
    "average_pool rank": lambda: ops.average_pool(np.ones((2, 3)), 2),
}


@pytest.mark.parametrize("case", list(BAD))
def test_errors_name_the_op(case: str) -> None:
    with pytest.raises((ValueError, TypeError)) as err:
        BAD[case]()
    assert "ops." in str(err.value), str(err.value)
    assert_raised_by_rnnlens(err.value)


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.floats(-2, 4),
                  st.text(max_size=4), st.lists(st.integers(-1, 4), max_size=4),
                  st.sampled_from(["valid", "same", "SAME", "causal", "channels_first"]))


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(["conv", "conv_transpose", "depthwise_conv", "separable_conv",
                             "max_pool", "average_pool"]),
       shape=st.lists(st.integers(0, 5), min_size=0, max_size=5),
       kshape=st.lists(st.integers(0, 4), min_size=0, max_size=5),
       args=st.lists(_JUNK, max_size=4), dtype=st.sampled_from(["float32", "int32", "bool"]))
def test_fuzz_only_clear_errors(name: str, shape: list, kshape: list, args: list,
                                dtype: str) -> None:
    """Random shapes and arguments: a result or a ValueError / TypeError from rnnlens."""
    x = np.ones(shape, dtype)
    kernels = {"conv": 1, "conv_transpose": 1, "depthwise_conv": 1, "separable_conv": 2,
               "max_pool": 0, "average_pool": 0}[name]
    lead = [np.ones(kshape, "float32") for _ in range(kernels)]
    if not kernels:
        lead = [args.pop(0) if args else 2]
    try:
        out = getattr(ops, name)(x, *lead, *args)
    except (ValueError, TypeError) as err:
        assert f"ops.{name}" in str(err), str(err)
        assert_raised_by_rnnlens(err)
        return
    assert isinstance(out, np.ndarray) and out.ndim == x.ndim
