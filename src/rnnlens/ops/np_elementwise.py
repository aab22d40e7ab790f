"""Element-wise math: unary functions, arithmetic, comparisons, logic and bitwise ops.

Dtype rules (Keras 3.15.1 on TensorFlow):

* transcendental ops (``exp``, ``log``, ``sin``, ``sqrt``, ``floor`` ...): floats keep
  their dtype, ints and bools give ``floatx()`` (float32);
* arithmetic (``add``, ``multiply``, ``power``, ``maximum`` ...): ``result_type`` of the
  operands with Python scalars *weak* (``int8 + 1 -> int8``, ``int32 * 0.5 -> float32``);
  ``divide`` adds ``float`` to the promotion (``int32 / int32 -> float32``);
* comparisons and logic return bool; ``mod`` and the comparisons convert Python
  scalars as tensors first (``int8 % 3 -> int32``), as Keras does.

TensorFlow has no bool arithmetic (``add``, ``subtract``, ``maximum``, ``power`` on two
bools raise), no ``negative``/``sign``/``round`` of bools and no ``negative`` of unsigned
ints; rnnlens raises a TypeError there instead of NumPy's silent bool algebra. Integer
division or modulo by zero raises a ValueError (TensorFlow raises too).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.ops._common import (check_broadcast, no_bool, strong_pair, to_dtype,
                                 to_float, weak_float, weak_pair)
from rnnlens.ops._dispatch import cast_array, fail, keras_op
from rnnlens.ops._dtypes import dtype_of, floatx, result_type

_ns: dict[str, Any] = globals()


# ---------------------------------------------------------------------------- unary floats
def _float_in(x: np.ndarray) -> np.ndarray:
    """TF rule of log/sin/floor...: int64 -> floatx, else result_type(x, float)."""
    if x.dtype == np.int64:
        return cast_array(x, floatx())
    return weak_float(x)


def _def_unary(name: str, f: Callable[[np.ndarray], np.ndarray], prep=_float_in) -> None:
    def impl(x: np.ndarray) -> np.ndarray:
        x = prep(x)
        with np.errstate(all="ignore"):
            return f(x).astype(x.dtype, copy=False)

    impl.__name__ = impl.__qualname__ = name
    impl.__doc__ = f"``{name}(x)`` element-wise; ints and bools compute in floatx()."
    _ns[name] = keras_op(name, "x")(impl)


def _sinc(x: np.ndarray) -> np.ndarray:
    px = x * x.dtype.type(np.pi)
    return np.where(x == 0, x.dtype.type(1), np.sin(px) / np.where(px == 0, 1, px))


def _angle(x: np.ndarray) -> np.ndarray:
    """TF: ``atan2(imag, real)``; for real x ``pi`` where ``x < 0`` else 0 (NaN -> 0)."""
    if x.dtype.kind == "c":
        return np.angle(x)
    return np.where(x < 0, x.dtype.type(np.pi), x.dtype.type(0))


def _exp2(x: np.ndarray) -> np.ndarray:
    return np.power(x.dtype.type(2), x)


def _f64_for_int64(x: np.ndarray) -> np.ndarray:
    """cbrt / deg2rad / rad2deg / i0: int64 -> float64, other ints -> floatx."""
    if x.dtype == np.int64:
        return cast_array(x, "float64")
    return to_float(x)


for _n, _f in [("arccos", np.arccos), ("arccosh", np.arccosh), ("arcsin", np.arcsin),
               ("arcsinh", np.arcsinh), ("arctan", np.arctan), ("arctanh", np.arctanh),
               ("ceil", np.ceil), ("cos", np.cos), ("cosh", np.cosh), ("floor", np.floor),
               ("log", np.log), ("log10", np.log10), ("log1p", np.log1p), ("log2", np.log2),
               ("sin", np.sin), ("sinh", np.sinh), ("sqrt", np.sqrt), ("tan", np.tan),
               ("tanh", np.tanh), ("sinc", _sinc), ("angle", _angle)]:
    _def_unary(_n, _f)
for _n, _f in [("exp", np.exp), ("exp2", _exp2), ("expm1", np.expm1), ("fabs", np.abs)]:
    _def_unary(_n, _f, to_float)
for _n, _f in [("cbrt", np.cbrt), ("deg2rad", np.deg2rad), ("rad2deg", np.rad2deg),
               ("i0", np.i0)]:
    _def_unary(_n, _f, _f64_for_int64)


# ---------------------------------------------------------------------------- unary, dtype kept
@keras_op("abs", "x")
def abs(x: np.ndarray) -> np.ndarray:  # noqa: A001
    """``|x|``; the dtype is kept (bools too)."""
    return x.copy() if x.dtype == bool else np.abs(x)


@keras_op("absolute", "x")
def absolute(x: np.ndarray) -> np.ndarray:
    return abs(x)


@keras_op("negative", "x")
def negative(x: np.ndarray) -> np.ndarray:
    """``-x``; bools and unsigned ints are refused (as TensorFlow)."""
    if x.dtype.kind in "bu":
        raise TypeError(f"ops.negative: TensorFlow has no negative for {x.dtype}; cast to a "
                        "signed dtype first.")
    with np.errstate(over="ignore"):
        return np.negative(x)


@keras_op("square", "x")
def square(x: np.ndarray) -> np.ndarray:
    """``x * x``; bools become int32."""
    if x.dtype == bool:
        x = x.astype("int32")
    with np.errstate(over="ignore"):
        return np.square(x)


@keras_op("sign", "x")
def sign(x: np.ndarray) -> np.ndarray:
    no_bool(x, "sign")
    if x.dtype.kind == "u":
        return (x > 0).astype(x.dtype)
    return np.sign(x)


@keras_op("round", "x")
def round(x: np.ndarray, decimals: int = 0) -> np.ndarray:  # noqa: A001
    """Round half to even; with ``decimals`` ``round(x * 10**d) / 10**d`` in x's dtype
    (ints with ``decimals < 0`` compute in floatx, as Keras)."""
    no_bool(x, "round")
    decimals = int(decimals)
    if decimals == 0:
        return np.round(x)
    if x.dtype.kind in "iu":
        if decimals > 0:
            return x.copy()
        f = np.asarray(10.0 ** decimals, floatx())
        with np.errstate(all="ignore"):
            return cast_array(np.round(x.astype(floatx()) * f) / f, x.dtype.name)
    f = np.asarray(10.0 ** decimals, x.dtype)
    with np.errstate(all="ignore"):
        return (np.round(x * f) / f).astype(x.dtype)


@keras_op("trunc", "x")
def trunc(x: np.ndarray) -> np.ndarray:
    return x.copy() if x.dtype.kind in "biu" else np.trunc(x)


@keras_op("reciprocal", "x")
def reciprocal(x: np.ndarray) -> np.ndarray:
    """``1 / x`` for float tensors (TensorFlow refuses ints)."""
    if x.dtype.kind not in "fc":
        raise TypeError(f"ops.reciprocal: expected a float tensor, received {x.dtype}; "
                        "use ops.divide(1, x) for ints.")
    with np.errstate(divide="ignore"):
        return np.reciprocal(x)


@keras_op("conj", "x")
def conj(x: np.ndarray) -> np.ndarray:
    no_bool(x, "conj")
    return np.conj(x)


@keras_op("conjugate", "x")
def conjugate(x: np.ndarray) -> np.ndarray:
    return conj(x)


@keras_op("real", "x")
def real(x: np.ndarray) -> np.ndarray:
    no_bool(x, "real")
    return np.real(x).copy()


@keras_op("imag", "x")
def imag(x: np.ndarray) -> np.ndarray:
    return np.imag(x).copy() if x.dtype.kind == "c" else np.zeros_like(x)


@keras_op("copy", "x")
def copy(x: np.ndarray) -> np.ndarray:
    return x.copy()


@keras_op("signbit", "x")
def signbit(x: np.ndarray) -> np.ndarray:
    if x.dtype == bool:
        return np.zeros(x.shape, bool)
    return np.signbit(x)


for _n, _f in [("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite),
               ("isneginf", np.isneginf), ("isposinf", np.isposinf),
               ("isreal", np.isreal)]:
    def _pred(x: np.ndarray, _f=_f) -> np.ndarray:
        if x.dtype.kind in "biu":
            return np.full(x.shape, _f is np.isfinite or _f is np.isreal)
        return _f(x)

    _pred.__name__ = _pred.__qualname__ = _n
    _ns[_n] = keras_op(_n, "x")(_pred)


@keras_op("nan_to_num", "x")
def nan_to_num(x: np.ndarray, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> np.ndarray:
    """NaN -> ``nan``, +inf -> ``posinf`` (dtype max), -inf -> ``neginf`` (dtype min)."""
    if x.dtype.kind not in "fc":
        return x.copy()
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


@keras_op("logical_not", "x")
def logical_not(x: np.ndarray) -> np.ndarray:
    return np.logical_not(x.astype(bool))


@keras_op("bitwise_invert", "x")
def bitwise_invert(x: np.ndarray) -> np.ndarray:
    _int_only(x.dtype.name, "bitwise_invert")
    return np.invert(x)


@keras_op("bitwise_not", "x")
def bitwise_not(x: np.ndarray) -> np.ndarray:
    _int_only(x.dtype.name, "bitwise_not")
    return np.invert(x)


def _int_only(d: str, op: str) -> None:
    if "int" not in d:
        raise TypeError(f"ops.{op}: expected integer tensors, received {d}.")


# ---------------------------------------------------------------------------- binary arithmetic
_NO_BOOL = ("add", "subtract", "multiply", "power", "maximum", "minimum", "floor_divide",
            "fmax", "fmin")


def _arith(name: str, f: Callable, floaty: bool = False) -> None:
    def impl(x1: Any, x2: Any) -> np.ndarray:
        if floaty:
            d = result_type(dtype_of(x1), dtype_of(x2), float)
            a, b = to_dtype(x1, d), to_dtype(x2, d)
        else:
            a, b, d = weak_pair(x1, x2, name)
            if d == "bool" and name in _NO_BOOL:
                raise TypeError(f"ops.{name}: TensorFlow has no {name} for two bool tensors; "
                                "cast them to int or float first.")
        check_broadcast(name, a.shape, b.shape)
        with np.errstate(all="ignore"):
            return np.asarray(f(a, b, name)).astype(d, copy=False)

    impl.__name__ = impl.__qualname__ = name
    impl.__doc__ = f"``{name}(x1, x2)`` with Keras's (weak) type promotion and broadcasting."
    _ns[name] = keras_op(name, "x1 x2", weak=True)(impl)


def _floordiv(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind in "iu":
        _int_nonzero(b, name)
        return np.floor_divide(a, b)
    return np.floor(a / b) if a.dtype.kind == "f" else np.floor_divide(a, b)


def _int_nonzero(b: np.ndarray, name: str) -> None:
    if b.dtype.kind in "iub" and np.any(b == 0):
        raise fail(name, "integer division by zero (TensorFlow raises here too); "
                   "use float inputs or ops.divide_no_nan.")


def _power(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind in "iu" and b.dtype.kind == "i" and np.any(b < 0):
        raise fail(name, "integers to negative integer powers are not allowed (as "
                   "TensorFlow); use float inputs.")
    return np.power(a, b)


def _fmax(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    return np.fmax(a, b)


def _fmin(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    return np.fmin(a, b)


def _divide_no_nan(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    zero = b == 0
    return np.where(zero, a.dtype.type(0), a / np.where(zero, b.dtype.type(1), b))


def _add(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    """Keras on TensorFlow routes ``x1 + bias`` to ``tf.nn.bias_add`` when x2 squeezes to
    one dimension of size c > 1 that equals x1's axis 1 or last axis: the bias then runs
    along x1's last axis, or along axis 1 (NCHW) when only axis 1 matches, without
    NumPy's broadcasting of x2's size-1 axes."""
    big = [d for d in b.shape if d > 1]
    if len(big) == 1 and a.ndim > 1 and big[0] in (a.shape[1], a.shape[-1]):
        if b.ndim > 1 and 0 in b.shape:
            raise fail(name, "a bias-like x2 with a zero-size axis (TensorFlow's bias_add "
                       "needs a 1-D bias).")
        bias = b.reshape(-1)
        if a.shape[-1] == big[0]:
            return a + bias
        return a + bias.reshape((1, -1) + (1,) * (a.ndim - 2))
    return np.add(a, b)


_arith("add", _add)
_arith("subtract", lambda a, b, n: np.subtract(a, b))
_arith("multiply", lambda a, b, n: np.multiply(a, b))
_arith("maximum", lambda a, b, n: np.maximum(a, b))
_arith("minimum", lambda a, b, n: np.minimum(a, b))
_arith("fmax", _fmax)
_arith("fmin", _fmin)
_arith("power", _power)
_arith("floor_divide", _floordiv)
_arith("divide", lambda a, b, n: np.true_divide(a, b), floaty=True)
_arith("true_divide", lambda a, b, n: np.true_divide(a, b), floaty=True)
_arith("divide_no_nan", _divide_no_nan, floaty=True)


def _strong(name: str, f: Callable, out: Callable[[str], str] | None = None,
            floaty: bool = False, bool_as: str | None = None) -> None:
    """Binary op that converts Python scalars as tensors first (no weak typing)."""
    def impl(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        d = result_type(x1.dtype.name, x2.dtype.name, *((float,) if floaty else ()))
        if bool_as and d == "bool":
            d = bool_as
        elif d == "bool" and name in _NO_BOOL_STRONG:
            raise TypeError(f"ops.{name}: TensorFlow has no {name} for two bool tensors; "
                            "cast them first.")
        if out is not None:
            d = out(d)
        a, b = to_dtype(x1, d), to_dtype(x2, d)
        check_broadcast(name, a.shape, b.shape)
        with np.errstate(all="ignore"):
            r = np.asarray(f(a, b, name))
        return r if r.dtype == bool else r.astype(d, copy=False)

    impl.__name__ = impl.__qualname__ = name
    impl.__doc__ = f"``{name}(x1, x2)``; Python scalars convert as tensors (no weak typing)."
    _ns[name] = keras_op(name, "x1 x2")(impl)


_NO_BOOL_STRONG = ("greater", "greater_equal", "less", "less_equal", "heaviside", "hypot")


def _mod(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind in "iu":
        _int_nonzero(b, name)
    return np.mod(a, b)


def _fmod(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind in "iu":
        _int_nonzero(b, name)
    return np.fmod(a, b)


def _int_to_float(d: str) -> str:
    """heaviside / hypot: int64 -> float64, other ints -> floatx."""
    if d == "int64":
        return "float64"
    return floatx() if "int" in d else d


def _logaddexp(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    return np.logaddexp(a, b)


def _heaviside(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    return np.where(a < 0, 0, np.where(a > 0, 1, b))


def _hypot(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    return np.hypot(a, b)


def _nextafter(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    return np.nextafter(a.astype("float64"), b.astype("float64"))


_strong("mod", _mod, bool_as="int32")
_strong("fmod", _fmod, bool_as="int32")
_strong("arctan2", lambda a, b, n: np.arctan2(a, b), floaty=True)
_strong("logaddexp", _logaddexp, floaty=True)
_strong("logaddexp2", lambda a, b, n: np.logaddexp2(a, b), floaty=True)
_strong("nextafter", _nextafter, floaty=True)
_strong("heaviside", _heaviside, out=_int_to_float)
_strong("hypot", _hypot, out=_int_to_float)
for _n, _f in [("equal", np.equal), ("not_equal", np.not_equal), ("greater", np.greater),
               ("greater_equal", np.greater_equal), ("less", np.less),
               ("less_equal", np.less_equal)]:
    _strong(_n, lambda a, b, n, _f=_f: _f(a, b))
for _n, _f in [("logical_and", np.logical_and), ("logical_or", np.logical_or),
               ("logical_xor", np.logical_xor)]:
    _strong(_n, lambda a, b, n, _f=_f: _f(a.astype(bool), b.astype(bool)))


def _bitwise(name: str, f: Callable) -> None:
    def impl(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d = result_type(x.dtype.name, y.dtype.name)
        _int_only(d, name)
        a, b = to_dtype(x, d), to_dtype(y, d)
        check_broadcast(name, a.shape, b.shape)
        return f(a, b)

    impl.__name__ = impl.__qualname__ = name
    _ns[name] = keras_op(name, "x y")(impl)


def _shift(f: Callable) -> Callable:
    def g(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        bits = a.dtype.itemsize * 8
        ok = (b >= 0) & (b < bits)
        return np.where(ok, f(a, np.where(ok, b, 0)), 0).astype(a.dtype)

    return g


_bitwise("bitwise_and", np.bitwise_and)
_bitwise("bitwise_or", np.bitwise_or)
_bitwise("bitwise_xor", np.bitwise_xor)
_bitwise("bitwise_left_shift", _shift(np.left_shift))
_bitwise("bitwise_right_shift", _shift(np.right_shift))
_bitwise("left_shift", _shift(np.left_shift))
_bitwise("right_shift", _shift(np.right_shift))


@keras_op("ldexp", "x1 x2")
def ldexp(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """``x1 * 2**x2``; ``x2`` must be an integer tensor."""
    if x2.dtype.kind not in "iu":
        raise TypeError(f"ops.ldexp: the exponent x2 must be an integer tensor, received "
                        f"{x2.dtype}.")
    d = result_type(x1.dtype.name, x2.dtype.name, float)
    a = to_dtype(x1, d)
    check_broadcast("ldexp", a.shape, x2.shape)
    with np.errstate(all="ignore"):
        r = a * np.power(a.dtype.type(2), x2.astype(d))
    return np.where(np.isinf(a) | (a == 0), a, r).astype(d)


@keras_op("isclose", "x1 x2")
def isclose(x1: np.ndarray, x2: np.ndarray, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> np.ndarray:
    """``|x1 - x2| <= atol + rtol * |x2|`` for floats, equality otherwise."""
    a, b, d = strong_pair(x1, x2, "isclose")
    check_broadcast("isclose", a.shape, b.shape)
    if "float" not in d:
        return np.equal(a, b)
    with np.errstate(all="ignore"):
        r = np.abs(a - b) <= (atol + rtol * np.abs(b))
    return r | (np.isnan(a) & np.isnan(b)) if equal_nan else r


@keras_op("allclose", "x1 x2")
def allclose(x1: np.ndarray, x2: np.ndarray, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> np.ndarray:
    return np.all(isclose(x1, x2, rtol, atol, equal_nan))


@keras_op("gcd", "x1 x2")
def gcd(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    a, b, d = strong_pair(x1, x2, "gcd")
    _int_only(d, "gcd")
    return np.gcd(a, b)


@keras_op("lcm", "x1 x2")
def lcm(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    _int_only(x1.dtype.name, "lcm")
    _int_only(x2.dtype.name, "lcm")
    a, b, d = strong_pair(x1, x2, "lcm")
    return np.lcm(a, b)
