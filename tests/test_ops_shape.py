"""rnnlens.ops creation, shape, joining, splitting and indexing ops against keras.ops
(TensorFlow): values, dtypes and shapes for several input dtypes, shapes and axes."""

from __future__ import annotations

import numpy as np
import pytest

from test_ops_support import DTYPES, MAIN_DTYPES, check, keras_module, make, ops

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def K():
    return keras_module()


def test_creation_defaults(K):
    for shape in [(), (3,), (2, 3), [2, 0]]:
        for name in ["zeros", "ones", "empty"]:
            check(K, name, shape)
            for d in MAIN_DTYPES:
                check(K, name, shape, dtype=d)
        for v in [3, 2.5, True, np.float64(1.5), np.int8(4)]:
            check(K, "full", shape, v)
            check(K, "full", shape, v, dtype="int32")
    check(K, "full", (2, 3), np.arange(3, dtype="int32"))
    check(K, "full", (2, 3), [1, 2])


def test_like(K):
    for kind in DTYPES:
        x = make(kind, (2, 3))
        for name in ["zeros_like", "ones_like", "empty_like"]:
            check(K, name, x)
            check(K, name, x, dtype="float64")
        check(K, "full_like", x, 7)
        check(K, "full_like", x, 2.5, dtype="float32")


def test_arange(K):
    cases = [(3,), (3.0,), (1, 7), (1, 7, 2), (0.5, 3), (1, 2, 0.25), (5, 1, -1),
             (np.int64(4),), (np.float64(4.0),), (np.int8(2), 10), (10, 2), (0, 1, 0.1)]
    for args in cases:
        check(K, "arange", *args)
        for d in ["int32", "float32", "float64", "int64", "uint8"]:
            check(K, "arange", *args, dtype=d)
    check(K, "arange", 0, 3, 0)


def test_linspace_logspace_geomspace(K):
    for start, stop in [(0, 1), (1.0, 5.0), (2, 10), (np.array([0.0, 1.0]), 3.0)]:
        for num in [0, 1, 5]:
            for endpoint in (True, False):
                check(K, "linspace", start, stop, num, endpoint=endpoint)
                check(K, "linspace", start, stop, num, endpoint=endpoint, dtype="int32")
                check(K, "logspace", start, stop, num, endpoint=endpoint)
        check(K, "linspace", start, stop, 4, retstep=True)
    check(K, "linspace", 0, 1, -1)
    check(K, "logspace", 0, 3, 4, base=2)
    for start, stop in [(1, 1000), (2.0, 32.0), (-1.0, -100.0)]:
        check(K, "geomspace", start, stop, 4)
        check(K, "geomspace", start, stop, 4, endpoint=False)


def test_eye_identity_tri(K):
    for n, m, k in [(3, None, 0), (3, 4, 1), (2, 5, 3), (0, None, 0), (3, 4, -1), (4, 4, 2)]:
        check(K, "eye", n, m, k)
        check(K, "eye", n, m, k, dtype="int32")
        check(K, "tri", n, m, k)
        check(K, "tri", n, m, k, dtype="bool")
    # Keras's TF eye gives a (5, 3) matrix here; rnnlens the (4, 2) NumPy one (docs/ops.md)
    np.testing.assert_array_equal(ops.eye(4, 2, -1), np.eye(4, 2, -1, dtype="float32"))
    check(K, "identity", 3)
    check(K, "identity", 3, dtype="int8")


def test_windows_and_vander(K):
    for n in [0, 1, 5, 8]:
        for name in ["bartlett", "blackman", "hamming", "hanning"]:
            check(K, name, n)
        check(K, "kaiser", n, 3.0)
    for kind in ["int32", "float32", "float64"]:
        x = make(kind, (4,), lo=-2, hi=2)
        check(K, "vander", x)
        check(K, "vander", x, 3, increasing=True)


def test_reshape_transpose_dims(K):
    for kind in DTYPES:
        x = make(kind, (2, 3, 4))
        check(K, "reshape", x, (6, 4))
        check(K, "reshape", x, (-1, 2))
        check(K, "reshape", x, [4, -1, 3])
        check(K, "reshape", x, (5, -1))
        check(K, "transpose", x)
        check(K, "transpose", x, (1, 0, 2))
        check(K, "transpose", x, (0, 1))
        check(K, "expand_dims", x, 0)
        check(K, "expand_dims", x, -1)
        check(K, "expand_dims", x, (0, 2))
        check(K, "expand_dims", x, 4)
        check(K, "squeeze", x[:, :1], 1)
        check(K, "squeeze", x[:1, :1])
        check(K, "squeeze", x, 0)
        check(K, "ravel", x)
        check(K, "moveaxis", x, 0, -1)
        check(K, "moveaxis", x, (0, 1), (2, 0))
        check(K, "swapaxes", x, 0, 2)
        check(K, "broadcast_to", x[:1], (3, 3, 4))
        check(K, "broadcast_to", x, (2, 2, 4))


def test_join(K):
    for a in ["bool", "int8", "int32", "float16", "float32", "float64"]:
        for b in ["int32", "float32", "uint8"]:
            x, y = make(a, (2, 3)), make(b, (2, 3), seed=1)
            for axis in [0, 1, -1]:
                check(K, "concatenate", [x, y], axis=axis)
                check(K, "stack", [x, y], axis=axis)
            check(K, "concatenate", [x, y], axis=None)
            check(K, "append", x, y)
            check(K, "append", x, y, axis=1)
            check(K, "hstack", [x, y])
            check(K, "vstack", [x, y])
            check(K, "dstack", [x, y])
    check(K, "stack", [1, 2.0])
    check(K, "stack", [make("float32", (3,)), 2])
    check(K, "concatenate", [make("float32", (2, 3)), make("float32", (3, 3))], axis=1)
    check(K, "stack", [make("float32", (2, 3)), make("float32", (3, 3))])


def test_split(K):
    x = make("float32", (6, 4, 3))
    for ios in [2, 3, [1, 4], [2], [0, 3, 5]]:
        check(K, "split", x, ios)
        check(K, "split", x, ios, axis=0)
    check(K, "split", x, 2, axis=1)
    check(K, "split", x, 4, axis=0)
    for n in [1, 3, 4]:
        check(K, "array_split", x, n)
        check(K, "array_split", x, n, axis=2)
    check(K, "hsplit", x, 2)
    check(K, "vsplit", x, [2, 3])
    check(K, "dsplit", x, 3)


def test_tile_repeat_pad_flip_roll(K):
    for kind in ["bool", "int32", "float32", "uint8"]:
        x = make(kind, (2, 3))
        for reps in [2, (2, 1), (1, 2, 2), [3]]:
            check(K, "tile", x, reps)
        for reps, axis in [(2, None), (2, 0), ([1, 2], 0), ([1, 0, 2], 1), (3, -1)]:
            check(K, "repeat", x, reps, axis=axis)
        for pw in [1, (1, 2), ((1, 0), (2, 1)), [[0, 0], [1, 1]], [[2], [1]]]:
            check(K, "pad", x, pw)
        for mode in ["reflect", "symmetric"]:
            check(K, "pad", x, ((1, 1), (2, 2)), mode=mode)
        check(K, "pad", x, ((1, 1), (0, 3)), constant_values=7)
        check(K, "pad", x, ((1, 1), (1, 1)), mode="edge")
        for axis in [None, 0, 1, (0, 1), -1]:
            check(K, "flip", x, axis=axis)
        check(K, "fliplr", x)
        check(K, "flipud", x)
        for shift, axis in [(1, None), (-2, 0), (4, 1), ((1, 2), (0, 1))]:
            check(K, "roll", x, shift, axis=axis)
        for k in [0, 1, 3, -1, 5]:        # k = 2 on a non-square matrix: Keras is wrong
            check(K, "rot90", x, k)
        for k in [2, 4, -2]:
            check(K, "rot90", make(kind, (3, 3)), k)
        np.testing.assert_array_equal(ops.rot90(x, 2), np.rot90(x, 2))
        check(K, "rot90", make(kind, (2, 3, 4)), 1, axes=(1, 2))


def test_where_select(K):
    cond = make("bool", (2, 3), seed=3)
    for a in ["int8", "int32", "float32", "float64", "bool", "pyint", "pyfloat"]:
        for b in ["int32", "float16", "pyint", "pyfloat", "uint8"]:
            check(K, "where", cond, make(a, (2, 3)), make(b, (3,), seed=1))
    check(K, "where", cond)
    check(K, "where", make("int32", (2, 3)))
    check(K, "where", cond, 1.0)
    check(K, "where", cond, np.ones((4,)), np.zeros((2, 3)))
    conds = [make("bool", (4,), seed=1), make("bool", (4,), seed=2)]
    check(K, "select", conds, [make("float32", (4,)), make("float32", (4,), seed=3)])
    check(K, "select", conds, [make("int32", (4,)), make("int32", (4,), seed=3)], default=-1)


def test_take(K):
    for kind in ["int32", "float32", "bool", "uint8"]:
        x = make(kind, (3, 4, 2))
        for idx, axis in [([0, 2], 0), ([[1, 3], [0, 0]], 1), (np.array([-1, 0]), 2),
                          (1, 0), ([5, 1], None), (np.array([0, 3], "int64"), 1),
                          ([4], 1), ([-5], 1)]:
            check(K, "take", x, idx, axis=axis)
        idx = np.array([[[0], [1], [2], [3]]] * 3)
        check(K, "take_along_axis", x, idx, axis=1)
        check(K, "take_along_axis", x, np.argsort(x, axis=-1), axis=-1)
        check(K, "take_along_axis", x, np.array([0, 5, -1]), axis=None)
        check(K, "take_along_axis", x, np.zeros((1, 2, 2), "int32"), axis=0)
        check(K, "get_item", x, 1)
        check(K, "get_item", x, (slice(None), 2))


def test_diag_family(K):
    for kind in ["int32", "float32", "bool"]:
        v, m = make(kind, (3,)), make(kind, (3, 4))
        for k in [0, 1, -2, 5]:
            check(K, "diag", v, k)
            check(K, "diag", m, k)
            check(K, "diagflat", m, k)
            check(K, "tril", m, k)
            check(K, "triu", m, k)
            check(K, "diagonal", make(kind, (2, 3, 4)), k, 1, 2)
        check(K, "diagonal", m)
        check(K, "tril", make(kind, (2, 3, 3)), -1)


def test_search_count_unique(K):
    seq = np.array([1.0, 2.0, 2.0, 5.0, 7.0], "float32")
    vals = make("float32", (6,), lo=0, hi=8)
    for side in ["left", "right"]:
        check(K, "searchsorted", seq, vals, side=side)
        check(K, "searchsorted", np.arange(5, dtype="int32"), np.array([0, 3, 9], "int32"),
              side=side)
    for kind in ["float32", "int32", "uint8", "float64"]:
        check(K, "digitize", make(kind, (2, 4), lo=0, hi=8), [1.0, 3.0, 4.5])
    x = np.array([0, 1, 1, 3, 2, 1, 7], "int32")
    check(K, "bincount", x)
    check(K, "bincount", x, minlength=10)
    check(K, "bincount", x, weights=np.linspace(0, 1, 7).astype("float32"))
    check(K, "bincount", np.array([[0, 1, 1], [2, 2, 0]], "int32"))
    check(K, "bincount", x.astype("int64"), weights=np.arange(7, dtype="int32"))
    for idx, shape in [(np.array([0, 5, 11], "int32"), (3, 4)), (7, (2, 2, 2)),
                       (np.array([[1, 2]], "int64"), (3, 3))]:
        check(K, "unravel_index", idx, shape)
    check(K, "isin", make("int32", (2, 3)), np.array([0, 2], "int32"))
    check(K, "isin", make("float32", (2, 3)), np.array([0, 2], "int32"), invert=True)
    u = np.array([3, 1, 3, 2, 1, 1], "int32")
    check(K, "unique", u)
    check(K, "unique", u, return_index=True, return_inverse=True, return_counts=True)
    check(K, "unique", u, sorted=False, return_inverse=True)
    check(K, "unique", u, size=5, fill_value=-1)
    check(K, "unique", np.array([[1, 2], [1, 2], [0, 5]], "int32"), axis=0)
    check(K, "nonzero", make("int32", (3, 4)))
    check(K, "histogram", make("float32", (20,), lo=0, hi=10))
    check(K, "histogram", make("float32", (20,), lo=0, hi=10), bins=4, range=(2.0, 8.0))


def test_size_ndim_view(K):
    for kind in DTYPES:
        x = make(kind, (2, 4))
        check(K, "size", x)
        check(K, "ndim", x)
    check(K, "view", make("float32", (2, 4)), "int32")
    check(K, "view", make("int32", (2, 4)), "int16")
    check(K, "view", make("int16", (2, 4)), "float32")
    check(K, "view", make("int8", (2, 3)), "int16")
