"""rnnlens.ops core functions against keras.ops (TensorFlow): conversion and dtype
inference, casts, shapes, slicing, scatter, and eager control flow."""

from __future__ import annotations

import numpy as np
import pytest

from test_ops_support import DTYPES, assert_same, check, keras_module, make, ops

pytestmark = pytest.mark.keras

PY_VALUES = [1, 2.5, True, [1, 2], [1.0, 2], [[True, False]], 2 ** 40, [], (3, 4),
             np.float64(1.5), np.int64(3), np.array([1, 2], "int16"), np.float32(2.0)]


@pytest.fixture(scope="module")
def K():
    return keras_module()


def test_convert_to_tensor_dtype_inference(K):
    for v in PY_VALUES:
        check(K, "convert_to_tensor", v)
        check(K, "convert_to_numpy", v)
        for d in ["float32", "int32", "bool", "float16"]:
            check(K, "convert_to_tensor", v, dtype=d)
    check(K, "convert_to_tensor", [[1, 2], [3]])
    with pytest.raises(TypeError, match="numeric"):    # Keras makes a string tensor
        ops.convert_to_tensor("text")
    check(K, "convert_to_tensor", None)


def test_cast_and_saturate_cast(K):
    x = np.array([-300.7, -1.5, -0.5, 0.0, 0.4, 1.5, 2.5, 254.9, 70000.0], "float32")
    for src in DTYPES:
        for dst in DTYPES:
            check(K, "cast", make(src, (2, 3), lo=-3, hi=3), dst)
    for dst in DTYPES:
        check(K, "cast", x, dst) if dst in ("float16", "float64", "float32", "bool",
                                            "int32", "int64") else None
        check(K, "saturate_cast", x, dst)
        ints = np.array([-5, 0, 300, 70000], "int32")
        if "float" in dst:     # Keras's TF saturate_cast int -> float overflows its bounds
            top = np.finfo(dst).max
            np.testing.assert_array_equal(ops.saturate_cast(ints, dst),
                                          np.clip(ints, -top, top).astype(dst))
        else:
            check(K, "saturate_cast", ints, dst)
    check(K, "cast", x, "not_a_dtype")


def test_shape_dtype_is_tensor(K):
    for kind in DTYPES:
        x = make(kind, (2, 3))
        assert ops.shape(x) == tuple(K.ops.shape(x))
        assert ops.dtype(x) == K.ops.dtype(K.ops.convert_to_tensor(x))
    assert ops.shape(3.0) == ()
    assert ops.is_tensor(ops.ones((2,))) and not ops.is_tensor([1, 2])
    check(K, "stop_gradient", make("float32", (2,)))
    check(K, "unstack", make("float32", (3, 2)))
    check(K, "unstack", make("int32", (3, 2)), axis=1)
    check(K, "unstack", make("int32", (3, 2)), num=3)


def test_slice_and_update(K):
    x = make("float32", (4, 5, 3))
    for start, shape in [((0, 0, 0), (2, 3, 1)), ((1, 2, 0), (-1, 2, -1)), ((3, 4, 2), (1, 1, 1)),
                         ((3, 0, 0), (2, 1, 1)), ((0, 0), (1, 1))]:
        check(K, "slice", x, start, shape)
    for start, upd in [((0, 0, 0), make("float32", (2, 2, 3))), ((2, 3, 1), make("int32", (1, 2, 2))),
                       (np.array([1, 1, 0]), make("float32", (3, 4, 3)))]:
        check(K, "slice_update", x, start, upd)


def test_scatter(K):
    idx = np.array([[0, 1], [2, 0], [0, 1]], "int32")
    vals = np.array([1.0, 2.0, 3.0], "float32")
    check(K, "scatter", idx, vals, (3, 2))
    check(K, "scatter", np.array([[1], [0]]), make("int32", (2, 3)), (4, 3))
    x = make("float32", (3, 2))
    check(K, "scatter_update", x, idx[:2], vals[:2])
    for red in ["add", "max", "min", "mul"]:
        check(K, "scatter_update", x, idx, vals, reduction=red)
    check(K, "scatter_update", x, np.array([[1]]), np.array([[9.0, 8.0]], "float32"))
    check(K, "scatter", np.array([[5, 0]]), np.array([1.0], "float32"), (3, 2))


def test_control_flow(K):
    def body(i, s):
        return i + 1, s * 2

    for args in [((lambda i, s: i < 5), body, (0, ops.ones((2,)))),
                 ((lambda i, s: i < 5), body, [0, 1.0])]:
        ours = ops.while_loop(*args)
        theirs = K.ops.while_loop(*args)
        assert_same(ours[1], K.ops.convert_to_numpy(theirs[1]), "while_loop")
    r = ops.while_loop(lambda x: x < 100, lambda x: x + 1, 0, maximum_iterations=7)
    assert r == 7 and isinstance(r, np.ndarray) and r.dtype == np.int32
    f = lambda i, v: v + i  # noqa: E731
    assert_same(ops.fori_loop(0, 5, f, ops.zeros((2,))),
                K.ops.convert_to_numpy(K.ops.fori_loop(0, 5, f, K.ops.zeros((2,)))), "fori")
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.cond(np.array(False), lambda: 1, lambda: 2) == 2
    for i in [-1, 0, 1, 5]:
        br = [lambda x: x + 1, lambda x: x * 10]
        assert_same(ops.switch(i, br, np.float32(2)),
                    K.ops.convert_to_numpy(K.ops.switch(i, br, np.float32(2))), "switch")


def test_scan_map_associative(K):
    xs = make("float32", (5, 3))

    def step(c, x):
        return c + x, c * x

    for rev in (False, True):
        ours = ops.scan(step, np.zeros((3,), "float32"), xs, reverse=rev)
        theirs = K.ops.scan(step, K.ops.zeros((3,)), xs, reverse=rev)
        assert_same(ours, tuple(K.ops.convert_to_numpy(t) for t in theirs), "scan")
    carry, ys = ops.scan(lambda c, _: (c + 1, None), 0, length=4)
    assert carry == 4 and carry.dtype == np.int32 and ys is None
    nested = {"a": xs, "b": make("int32", (5,))}
    ours = ops.map(lambda d: d["a"].sum() + d["b"], nested)
    theirs = K.ops.map(lambda d: K.ops.sum(d["a"]) + K.ops.cast(d["b"], "float32"), nested)
    np.testing.assert_allclose(ours, K.ops.convert_to_numpy(theirs), rtol=1e-6)
    assert_same(ops.vectorized_map(lambda r: r * 2, xs),
                K.ops.convert_to_numpy(K.ops.vectorized_map(lambda r: r * 2, xs)), "vmap")
    for rev in (False, True):
        for axis in (0, 1):
            assert_same(ops.associative_scan(np.add, xs, reverse=rev, axis=axis),
                        K.ops.convert_to_numpy(K.ops.associative_scan(
                            K.ops.add, xs, reverse=rev, axis=axis)), "associative_scan")
    pair = (xs, xs * 2)
    ours = ops.associative_scan(lambda a, b: (a[0] + b[0], np.maximum(a[1], b[1])), pair)
    theirs = K.ops.associative_scan(lambda a, b: (a[0] + b[0], K.ops.maximum(a[1], b[1])),
                                    pair)
    assert_same(ours, tuple(K.ops.convert_to_numpy(t) for t in theirs), "assoc pair")


def test_custom_gradient_and_vectorize(K):
    @ops.custom_gradient
    def f(x):
        return x * 2, lambda dy: dy
    np.testing.assert_array_equal(f(np.ones(2, "float32")), [2.0, 2.0])
    vf = ops.vectorize(lambda a, b: a + b)
    np.testing.assert_array_equal(vf(np.arange(3), 1), [1, 2, 3])


def test_errors_name_the_op():
    with pytest.raises(TypeError, match=r"ops\.cond: true_fn must be callable"):
        ops.cond(True, 1, lambda: 2)
    with pytest.raises(ValueError, match=r"ops\.slice: "):
        ops.slice(np.ones((2, 2)), (1, 1), (2, 2))
    with pytest.raises(ValueError, match=r"ops\.scatter_update: reduction="):
        ops.scatter_update(np.ones((2,)), np.array([[0]]), np.ones((1,)), reduction="avg")
    with pytest.raises(TypeError, match=r"convert_to_tensor.*None"):
        ops.convert_to_tensor(None)


def test_floatx_float64_follows_keras(K):
    from rnnlens.backend import set_floatx

    old = K.config.floatx()
    set_floatx("float64")
    K.config.set_floatx("float64")
    try:
        for name, args in [("ones", ((2,),)), ("arange", (3,)), ("arange", (1.5,)),
                           ("mean", (np.arange(4, dtype="int32"),)), ("add", (1, 2.5)),
                           ("exp", (np.arange(3, dtype="int32"),)),
                           ("linspace", (0, 1, 3)), ("full", ((2,), 3)),
                           ("divide", (np.arange(3, dtype="int8"), 2)),
                           ("one_hot", (np.array([0, 2]), 3))]:
            check(K, name, *args)
    finally:
        set_floatx("float32")
        K.config.set_floatx(old)
