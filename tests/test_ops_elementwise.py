"""rnnlens.ops element-wise ops against keras.ops (TensorFlow): values and dtypes.

Every unary op runs over bool, int8, uint8, int16, int32, int64, float16, float32 and
float64 arrays of several shapes and over Python scalars; every binary op over all pairs
of those kinds (Python scalars are Keras's weak types) with broadcasting shapes. Where
Keras raises, rnnlens must raise a ValueError or TypeError (``test_ops_support.check``).
"""

from __future__ import annotations

import numpy as np
import pytest

from test_ops_support import DTYPES, MAIN_DTYPES, PY, check, keras_module, make

pytestmark = pytest.mark.keras

UNARY = ("abs absolute angle arccos arccosh arcsin arcsinh arctan arctanh cbrt ceil conj "
         "conjugate copy cos cosh deg2rad exp exp2 expm1 fabs floor i0 imag isfinite isinf "
         "isnan isneginf isposinf isreal log log10 log1p log2 logical_not negative rad2deg "
         "real reciprocal round sign signbit sin sinc sinh sqrt square tan tanh trunc "
         "nan_to_num bitwise_not bitwise_invert").split()
BINARY_WEAK = ("add subtract multiply divide true_divide floor_divide power maximum minimum "
               "fmax fmin divide_no_nan").split()
BINARY_STRONG = ("mod fmod arctan2 logaddexp logaddexp2 heaviside hypot equal not_equal "
                 "greater greater_equal less less_equal logical_and logical_or logical_xor "
                 "isclose nextafter").split()
BITWISE = ("bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift "
           "left_shift right_shift gcd lcm").split()


@pytest.fixture(scope="module")
def K():
    return keras_module()


@pytest.mark.parametrize("name", UNARY)
def test_unary(K, name):
    for kind in DTYPES + PY:
        for shape in [(2, 3), (), (4,)]:
            if kind in PY and shape != ():
                continue
            check(K, name, make(kind, shape, seed=len(name)))


def test_unary_special_values(K):
    x = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, 88.0, -88.0, 0.5,
                  2.5, -2.5], "float32")
    for name in UNARY:
        check(K, name, x)
        check(K, name, x.astype("float64"))


def test_round_decimals(K):
    for kind in ["int32", "int64", "float32", "float64"]:
        x = make(kind, (3, 4), lo=-300, hi=300)
        for d in [-2, -1, 1, 2]:
            check(K, "round", x, d)


def test_nan_to_num_arguments(K):
    x = np.array([np.nan, np.inf, -np.inf, 1.0], "float32")
    check(K, "nan_to_num", x, nan=3.0, posinf=7.0, neginf=-7.0)
    check(K, "nan_to_num", x.astype("float64"), nan=-1.0)


def _pairs(name):
    kinds = MAIN_DTYPES + ["pyint", "pyfloat"]
    for a in kinds:
        for b in kinds:
            if a in PY and b in PY:
                continue
            yield a, b


@pytest.mark.parametrize("name", BINARY_WEAK + BINARY_STRONG)
def test_binary_dtype_pairs(K, name):
    for a, b in _pairs(name):
        x1 = make(a, (2, 3), seed=1, lo=1, hi=4)
        x2 = make(b, (3,), seed=2, lo=1, hi=3)
        check(K, name, x1, x2)


@pytest.mark.parametrize("name", BINARY_WEAK + BINARY_STRONG)
def test_binary_broadcasting_and_signs(K, name):
    for d in ["int32", "float32", "float64"]:
        x1 = make(d, (2, 1, 4), seed=3)
        x2 = make(d, (3, 1), seed=4)
        check(K, name, x1, x2)
        check(K, name, x2, x1)
        check(K, name, make(d, (), seed=5), x1)


def test_binary_shape_mismatch_raises(K):
    for name in BINARY_WEAK + BINARY_STRONG:
        check(K, name, np.ones((2, 3), "float32"), np.ones((4,), "float32"))


@pytest.mark.parametrize("name", BITWISE)
def test_bitwise(K, name):
    for a in ["bool", "int8", "uint8", "int16", "int32", "int64", "float32"]:
        for b in ["bool", "int8", "uint8", "int32", "int64"]:
            check(K, name, make(a, (2, 3), seed=6, lo=0, hi=5), make(b, (3,), seed=7, lo=0,
                                                                      hi=3))


def test_bitwise_unary_scalar_shift(K):
    x = make("int32", (5,), lo=-8, hi=8)
    for name in ["bitwise_left_shift", "bitwise_right_shift"]:
        check(K, name, x, 2)


def test_ldexp_allclose_heaviside(K):
    for a in ["int32", "float32", "float64", "float16"]:
        for b in ["int8", "int32", "int64", "float32"]:
            check(K, "ldexp", make(a, (2, 3)), make(b, (3,), lo=-2, hi=3))
    for a in MAIN_DTYPES:
        check(K, "allclose", make(a, (3,)), make(a, (3,)))
        check(K, "allclose", make("float32", (3,)), make("float32", (3,)) + 1e-3)
    check(K, "isclose", np.array([np.nan, 1.0]), np.array([np.nan, 1.0 + 1e-9]),
          equal_nan=True)


def test_integer_division_by_zero_raises(K):
    a = np.array([1, 2, 3], "int32")
    b = np.array([1, 0, 2], "int32")
    for name in ["floor_divide", "mod"]:
        check(K, name, a, b)
    check(K, "divide", a, b)          # float result: inf
    check(K, "divide_no_nan", a, b)   # 0 where b == 0
