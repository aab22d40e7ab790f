"""rnnlens.ops reductions, cumulative ops, sorting and order statistics against keras.ops
(TensorFlow): every dtype, several shapes, axes (None, ints, negative, tuples) and
keepdims."""

from __future__ import annotations

import numpy as np
import pytest

from test_ops_support import DTYPES, check, keras_module, make, ops

pytestmark = pytest.mark.keras

REDUCE = ("sum prod mean max min amax amin all any std var count_nonzero ptp median "
          "nansum nanprod nanmean nanmax nanmin nanstd nanvar nanmedian logsumexp").split()
NO_KEEPDIMS = {"count_nonzero"}
AXES = [None, 0, -1, 1, (0, 2), (-1, 0)]


@pytest.fixture(scope="module")
def K():
    return keras_module()


@pytest.mark.parametrize("name", REDUCE)
def test_reductions(K, name):
    for kind in DTYPES:
        x = make(kind, (2, 3, 4), seed=len(name), lo=-4, hi=4)
        for axis in AXES:
            if name in NO_KEEPDIMS:
                check(K, name, x, axis=axis)
                continue
            for keepdims in (False, True):
                check(K, name, x, axis=axis, keepdims=keepdims)
    check(K, name, 3.0)
    check(K, name, make("float32", ()))


@pytest.mark.parametrize("name", REDUCE)
def test_reductions_nan_and_empty(K, name):
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], "float32")
    for axis in [None, 0, 1]:
        check(K, name, x, axis=axis)
    check(K, name, np.zeros((0, 3), "float32"))
    check(K, name, np.zeros((0, 3), "float32"), axis=1)


def test_reduction_bad_axis(K):
    x = make("float32", (2, 3))
    for name in ["sum", "mean", "max", "argmax", "std", "cumsum", "sort", "argsort"]:
        check(K, name, x, axis=2)
        check(K, name, x, axis=-3)


def test_max_min_initial(K):
    for kind in ["bool", "int32", "float32"]:
        x = make(kind, (2, 3))
        for name in ["max", "min"]:
            check(K, name, x, initial=1)
            check(K, name, x, axis=0, initial=0, keepdims=True)


@pytest.mark.parametrize("name", ["argmax", "argmin", "nanargmax", "nanargmin"])
def test_arg_reductions(K, name):
    for kind in DTYPES:
        x = make(kind, (3, 4, 2), seed=2)
        for axis in [None, 0, 1, -1]:
            for keepdims in (False, True):
                check(K, name, x, axis=axis, keepdims=keepdims)
    check(K, name, np.array([0.0, -0.0, np.nan, 1.0, 1.0], "float32"))
    check(K, name, np.array([[np.nan, np.nan], [1.0, np.nan]], "float32"), axis=1)
    check(K, name, np.zeros((0,), "float32"))


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
def test_cumulative(K, name):
    for kind in DTYPES:
        x = make(kind, (2, 3, 2), seed=3, lo=-2, hi=2)
        for axis in [None, 0, 1, -1]:
            check(K, name, x, axis=axis)
        check(K, name, x, axis=1, dtype="float32")
    check(K, name, np.array([1.0, np.nan, 2.0], "float32"))


@pytest.mark.parametrize("name", ["sort", "argsort"])
def test_sorting(K, name):
    for kind in DTYPES:
        x = make(kind, (3, 5), seed=4)
        for axis in [-1, 0, None]:
            check(K, name, x, axis=axis)
    check(K, name, np.array([3.0, 1.0, -np.inf, 2.0, np.inf, 1.0], "float32"))
    check(K, name, make("float32", ()))


def test_argpartition(K):
    # Keras (TF) casts to int32 and masks with 0: it agrees only on positive ints, 1-D
    for kind in ["int32", "int8", "uint8"]:
        for kth in [0, 2, 5]:
            check(K, "argpartition", make(kind, (6,), seed=kth, lo=1, hi=9) + 1, kth)
    x = make("float32", (3, 6), seed=5, lo=-9, hi=9)
    out = ops.argpartition(x, 2)
    part = np.take_along_axis(x, out, -1)
    assert sorted(map(tuple, np.sort(out, -1))) == [tuple(range(6))] * 3
    assert np.all(part[:, :2] <= part[:, 2:3]) and np.all(part[:, 3:] >= part[:, 2:3])


@pytest.mark.parametrize("name", ["quantile", "percentile", "nanquantile", "nanpercentile"])
def test_quantiles(K, name):
    scale = 100 if "percent" in name else 1
    for kind in ["int32", "float32", "float64", "bool"]:
        x = make(kind, (4, 5), seed=6)
        for q in [0.5 * scale, [0.1 * scale, 0.9 * scale], np.array([0.0, 1.0]) * scale]:
            for method in ["linear", "lower", "higher", "midpoint", "nearest"]:
                check(K, name, x, q, axis=1, method=method)
            check(K, name, x, q)
            check(K, name, x, q, axis=0, keepdims=True)
    check(K, name, np.array([1.0, np.nan, 2.0], "float32"), 0.5 * scale)


def test_average(K):
    x = make("float32", (3, 4), seed=7)
    for kind in ["int32", "float32", "float64"]:
        check(K, "average", make(kind, (3, 4)))
        check(K, "average", make(kind, (3, 4)), axis=1)
    check(K, "average", x, axis=1, weights=np.arange(1, 5, dtype="float32"))
    check(K, "average", x, axis=0, weights=np.arange(1, 4, dtype="int32"))
    check(K, "average", x, weights=np.ones((3, 4), "float64"))
    check(K, "average", x, axis=1, weights=np.ones((3,), "float32"))


def test_trace_diff(K):
    for kind in DTYPES:
        x = make(kind, (3, 4, 2), seed=8)
        check(K, "trace", x)
        check(K, "trace", x, offset=1, axis1=1, axis2=2)
        check(K, "diff", x)
        check(K, "diff", x, n=2, axis=1)
        check(K, "diff", x, n=0)
