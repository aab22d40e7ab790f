"""Regularizers and constraints against live Keras 3.15.1 (TensorFlow backend).

* Values of ``L1``/``L2``/``L1L2``/``OrthogonalRegularizer`` and of every constraint against
  ``keras.regularizers.*`` / ``keras.constraints.*`` on random float32 arrays of rank 0 to 3,
  zeros, exact zeros (L1's kink), zero rows (Keras's normalize clamp), axes and NaN.
* Regularizer gradients against ``tf.GradientTape`` on the Keras regularizer, and against
  central finite differences of rnnlens's own penalty in float64.
* ``get_config`` / ``serialize`` dicts equal to Keras's, round trips, ``get`` on every
  accepted identifier form (compared with ``keras.*.get``) and on bad ones.
* Hypothesis fuzz: random factors (negative, NaN, huge), shapes and identifiers give a
  correct result or a ValueError / TypeError raised by rnnlens.

"Relative" checks are ``max|actual - expected| / max|expected|`` <= 1e-5 (over the array).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import keras_available
from rnnlens import constraints as C
from rnnlens import regularizers as R
from rnnlens.backend import floatx, set_floatx

RTOL = 1e-5
SHAPES = [(), (7,), (4, 3), (2, 3, 4), (1, 5)]


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; "
                    "live parity tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


@pytest.fixture(scope="module")
def tf(K: Any) -> Any:
    import tensorflow  # noqa: PLC0415

    return tensorflow


@pytest.fixture
def float64() -> Any:
    """Compute in float64 for the test, then restore the previous dtype."""
    old = floatx()
    set_floatx("float64")
    yield
    set_floatx(old)


def rel(parity: Any, actual: Any, expected: Any, name: str, rtol: float = RTOL) -> None:
    """Relative check through the recorded ``parity`` fixture."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
    finite = np.abs(e[np.isfinite(e)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    parity(a / scale, e / scale, name=name, atol=rtol)


def weights(shape: tuple[int, ...], seed: int, zeros: int = 0) -> np.ndarray:
    """Random normal float32 weights with ``zeros`` entries set exactly to 0."""
    rng = np.random.default_rng(seed)
    w = np.asarray(rng.normal(size=shape), dtype=np.float32)
    if zeros and w.size:
        w.reshape(-1)[rng.choice(w.size, min(zeros, w.size), replace=False)] = 0.0
    return w


def keras_grad(tf: Any, reg: Any, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's penalty and tape gradient on a ``tf.Variable``."""
    with tf.GradientTape() as tape:
        value = reg(var := tf.Variable(w))
    grad = tape.gradient(value, var)            # None: the penalty does not depend on w
    return np.asarray(value), (np.zeros_like(w) if grad is None else np.asarray(grad))


def finite_diff(fn: Any, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``fn`` at the float64 ``w``."""
    steps = np.eye(w.size).reshape(w.size, *w.shape) * h
    g = [(float(fn(w + d)) - float(fn(w - d))) / (2 * h) for d in steps]
    return np.asarray(g).reshape(w.shape)


def pairs(K: Any) -> list[tuple[Any, Any, str]]:
    """(rnnlens regularizer, Keras regularizer, name) for the elementwise ones."""
    KR = K.regularizers
    return [
        (R.L1(0.01), KR.L1(0.01), "L1(0.01)"), (R.L1(0.37), KR.L1(0.37), "L1(0.37)"),
        (R.L2(0.01), KR.L2(0.01), "L2(0.01)"), (R.L2(1.3), KR.L2(1.3), "L2(1.3)"),
        (R.L1L2(0.02, 0.03), KR.L1L2(0.02, 0.03), "L1L2(0.02, 0.03)"),
        (R.L1L2(l2=0.5), KR.L1L2(l2=0.5), "L1L2(l2=0.5)"),
        (R.L1L2(l1=0.5), KR.L1L2(l1=0.5), "L1L2(l1=0.5)"),
        (R.L1L2(), KR.L1L2(), "L1L2()"),
    ]


ORTHO_CASES = [((4, 8), "rows"), ((4, 8), "columns"), ((8, 4), "rows"),
               ((8, 4), "columns"), ((3, 3), "rows"), ((2, 5), "rows")]


def ortho_weights(shape: tuple[int, ...], seed: int, zero_line: bool) -> np.ndarray:
    w = weights(shape, seed)
    if zero_line:
        w[1, :] = 0.0          # a zero row: Keras's normalize clamps 1/norm at 1e7
        w[:, 2] = 0.0          # a zero column
        w[-1, :] *= np.float32(1e-9)   # norm below 1e-7: the clamp keeps v = w * 1e7
        w[:, -1] *= np.float32(1e-9)
    return w


# ---------------------------------------------------------------------------- values
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["normal", "zeros", "exact_zeros", "large"])
def test_elementwise_values_match_keras(K: Any, tf: Any, parity: Any, shape: Any,
                                        kind: str) -> None:
    w = {"normal": weights(shape, 1), "zeros": np.zeros(shape, np.float32),
         "exact_zeros": weights(shape, 2, zeros=3),
         "large": weights(shape, 3) * np.float32(1e3)}[kind]
    for ours, theirs, name in pairs(K):
        value = ours(w)
        assert value.shape == () and value.dtype == np.float32, name
        rel(parity, value, np.asarray(theirs(tf.constant(w))), f"{name} {kind} {shape}")


@pytest.mark.parametrize("shape,mode", ORTHO_CASES)
@pytest.mark.parametrize("zero_line", [False, True])
def test_orthogonal_values_match_keras(K: Any, tf: Any, parity: Any, shape: Any, mode: str,
                                       zero_line: bool) -> None:
    w = ortho_weights(shape, 5, zero_line and min(shape) > 2)
    for factor in (0.01, 0.7):
        ours = R.OrthogonalRegularizer(factor, mode)(w)
        theirs = K.regularizers.OrthogonalRegularizer(factor, mode)(tf.constant(w))
        assert ours.shape == () and ours.dtype == np.float32
        rel(parity, ours, np.asarray(theirs), f"ortho {factor} {mode} {shape}")


def test_orthogonal_on_orthonormal_rows_is_zero_and_parallel_rows_is_factor() -> None:
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))[0][:4].astype(np.float32)
    assert abs(float(R.OrthogonalRegularizer(1.0)(q))) < 1e-6
    same = np.tile(np.arange(1, 5, dtype=np.float32), (3, 1))          # parallel rows
    # every |cos| = 1 and each pair counted twice: 2.0 * 0.5 * (2 * pairs) / pairs = 2.0
    assert abs(float(R.OrthogonalRegularizer(2.0)(same)) - 2.0) < 1e-6


# ---------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("shape", SHAPES)
def test_elementwise_gradients_match_tape(K: Any, tf: Any, parity: Any, shape: Any) -> None:
    w = weights(shape, 7, zeros=4)        # exact zeros: the subgradient sign(0) = 0
    for ours, theirs, name in pairs(K):
        v_k, g_k = keras_grad(tf, theirs, w)
        value, grad = ours.value_and_gradient(w)
        assert grad.shape == w.shape and grad.dtype == np.float32, name
        rel(parity, value, v_k, f"{name} value {shape}")
        rel(parity, grad, g_k, f"{name} grad {shape}")
        rel(parity, ours.gradient(w), g_k, f"{name} gradient() {shape}")


def test_l1_gradient_is_zero_at_zero(K: Any, tf: Any) -> None:
    w = np.array([0.0, -0.0, 1.5, -2.0], np.float32)
    _, g_k = keras_grad(tf, K.regularizers.L1(0.5), w)
    np.testing.assert_array_equal(R.L1(0.5).gradient(w), g_k)
    np.testing.assert_array_equal(g_k, [0.0, 0.0, 0.5, -0.5])


@pytest.mark.parametrize("shape,mode", ORTHO_CASES)
@pytest.mark.parametrize("zero_line", [False, True])
def test_orthogonal_gradients_match_tape(K: Any, tf: Any, parity: Any, shape: Any, mode: str,
                                         zero_line: bool) -> None:
    w = ortho_weights(shape, 11, zero_line and min(shape) > 2)
    ours = R.OrthogonalRegularizer(0.3, mode)
    v_k, g_k = keras_grad(tf, K.regularizers.OrthogonalRegularizer(0.3, mode), w)
    value, grad = ours.value_and_gradient(w)
    assert grad.shape == w.shape and grad.dtype == np.float32
    rel(parity, value, v_k, f"ortho value {mode} {shape}")
    rel(parity, grad, g_k, f"ortho grad {mode} {shape}")


def test_orthogonal_gradient_of_zero_matrix_matches_tape(K: Any, tf: Any) -> None:
    w = np.zeros((3, 4), np.float32)
    for mode in ("rows", "columns"):
        _, g_k = keras_grad(tf, K.regularizers.OrthogonalRegularizer(0.1, mode), w)
        np.testing.assert_array_equal(R.OrthogonalRegularizer(0.1, mode).gradient(w), g_k)


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 2, 3)])
def test_elementwise_gradients_match_finite_differences(float64: Any, shape: Any) -> None:
    rng = np.random.default_rng(3)
    w = np.asarray(rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape))  # off 0
    for reg in (R.L1(0.3), R.L2(0.7), R.L1L2(0.2, 0.4), R.L1L2(l2=0.1)):
        grad = reg.gradient(w)
        assert grad.dtype == np.float64 and reg(w).dtype == np.float64
        np.testing.assert_allclose(grad, finite_diff(reg, w), rtol=1e-7, atol=1e-8,
                                   err_msg=repr(reg))


@pytest.mark.parametrize("shape,mode", ORTHO_CASES)
def test_orthogonal_gradient_matches_finite_differences(float64: Any, shape: Any,
                                                        mode: str) -> None:
    w = np.random.default_rng(17).normal(size=shape)
    reg = R.OrthogonalRegularizer(0.9, mode)
    fd = finite_diff(reg, w, h=1e-7)
    np.testing.assert_allclose(reg.gradient(w), fd, rtol=1e-5, atol=1e-7)
    assert floatx() == "float64" and reg(w).dtype == np.float64


def test_float64_fixture_restores_float32() -> None:
    assert floatx() == "float32"
    assert R.L2()(np.ones(3)).dtype == np.float32


# ---------------------------------------------------------------------------- constraints
def constraint_pairs(K: Any) -> list[tuple[Any, Any, str]]:
    KC = K.constraints
    out = [(C.NonNeg(), KC.NonNeg(), "NonNeg"), (C.Constraint(), KC.Constraint(), "Constraint")]
    for axis in (0, -1, None, [0, 1]):
        out += [
            (C.MaxNorm(1.5, axis), KC.MaxNorm(1.5, axis), f"MaxNorm(1.5, {axis})"),
            (C.MaxNorm(axis=axis), KC.MaxNorm(axis=axis), f"MaxNorm(axis={axis})"),
            (C.UnitNorm(axis), KC.UnitNorm(axis), f"UnitNorm({axis})"),
            (C.MinMaxNorm(0.5, 1.2, 1.0, axis), KC.MinMaxNorm(0.5, 1.2, 1.0, axis),
             f"MinMaxNorm(0.5, 1.2, 1, {axis})"),
            (C.MinMaxNorm(0.8, 2.0, 0.3, axis), KC.MinMaxNorm(0.8, 2.0, 0.3, axis),
             f"MinMaxNorm(0.8, 2, 0.3, {axis})"),
        ]
    return out


@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4), (3, 1)])
@pytest.mark.parametrize("kind", ["normal", "small", "tiny", "large", "zeros", "zero_column"])
def test_constraints_match_keras(K: Any, tf: Any, parity: Any, shape: Any, kind: str) -> None:
    w = {"normal": weights(shape, 21), "small": weights(shape, 22) * np.float32(0.05),
         "tiny": weights(shape, 25) * np.float32(1e-7),        # norms ~ eps: eps matters
         "large": weights(shape, 23) * np.float32(40.0), "zeros": np.zeros(shape, np.float32),
         "zero_column": weights(shape, 24)}[kind]
    if kind == "zero_column":
        w[..., 0] = 0.0
    for ours, theirs, name in constraint_pairs(K):
        if isinstance(getattr(ours, "axis", None), list) and len(shape) < 2:
            continue
        out = ours(w)
        assert out.shape == w.shape and out.dtype == np.float32, name
        rel(parity, out, np.asarray(theirs(tf.constant(w))), f"{name} {kind} {shape}")


def test_constraints_on_nan_and_0d(K: Any, tf: Any, parity: Any) -> None:
    w = np.array([np.nan, -1.0, 2.0, -0.0], np.float32)
    parity(C.NonNeg()(w), np.asarray(K.constraints.NonNeg()(tf.constant(w))), "NonNeg nan")
    s = np.float32(-3.0)
    for ours, theirs in ((C.MaxNorm(2, None), K.constraints.MaxNorm(2, None)),
                         (C.UnitNorm(None), K.constraints.UnitNorm(None)),
                         (C.NonNeg(), K.constraints.NonNeg())):
        parity(ours(s), np.asarray(theirs(tf.constant(s))), f"{ours!r} 0-d")
    with pytest.raises(ValueError, match="out of range"):
        C.MaxNorm()(s)                                   # TF: invalid reduction dimension


def test_constraint_results_satisfy_their_bounds() -> None:
    w = weights((6, 5), 31) * np.float32(3.0)
    assert (np.linalg.norm(C.MaxNorm(1.0)(w), axis=0) <= 1.0 + 1e-6).all()
    np.testing.assert_allclose(np.linalg.norm(C.UnitNorm(1)(w), axis=1), 1.0, atol=1e-5)
    n = np.linalg.norm(C.MinMaxNorm(2.0, 3.0)(w), axis=0)
    assert ((n >= 2.0 - 1e-5) & (n <= 3.0 + 1e-5)).all()
    assert (C.NonNeg()(w) >= 0).all()


# ---------------------------------------------------------------------------- configs
def reg_objects(mod: Any) -> list[Any]:
    return [mod.L1(), mod.L1(0.3), mod.L2(), mod.L2(0.25), mod.L1L2(), mod.L1L2(0.01, 0.02),
            mod.L1L2(l2=1e-4), mod.OrthogonalRegularizer(),
            mod.OrthogonalRegularizer(0.3, "columns"), mod.L1(0), mod.L2(3)]


def con_objects(mod: Any) -> list[Any]:
    return [mod.MaxNorm(), mod.MaxNorm(3.5, [0, 1]), mod.MaxNorm(2, (0, 1)), mod.NonNeg(),
            mod.UnitNorm(), mod.UnitNorm(-1), mod.MinMaxNorm(), mod.MinMaxNorm(0.5, 4, 0.2, 1),
            mod.Constraint(), mod.MaxNorm(1, None)]


def test_regularizer_configs_match_keras(K: Any) -> None:
    for ours, theirs in zip(reg_objects(R), reg_objects(K.regularizers)):
        assert ours.get_config() == theirs.get_config()
        s = R.serialize(ours)
        assert s == K.regularizers.serialize(theirs)
        assert json.dumps(s) == json.dumps(K.regularizers.serialize(theirs))
        back = R.deserialize(json.loads(json.dumps(s)))
        assert type(back) is type(ours) and back.get_config() == ours.get_config()
        assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
        assert R.get(K.regularizers.serialize(theirs)).get_config() == ours.get_config()


def test_constraint_configs_match_keras(K: Any) -> None:
    for ours, theirs in zip(con_objects(C), con_objects(K.constraints)):
        assert ours.get_config() == theirs.get_config()
        s = C.serialize(ours)
        assert s == K.constraints.serialize(theirs)
        back = C.deserialize(json.loads(json.dumps(s)))
        assert type(back) is type(ours)
        assert json.dumps(back.get_config()) == json.dumps(ours.get_config())
        assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
        assert C.get(K.constraints.serialize(theirs)).get_config() == ours.get_config()


def test_aliases_are_the_classes() -> None:
    assert (R.l1, R.l2, R.l1_l2, R.orthogonal_regularizer) == (
        R.L1, R.L2, R.L1L2, R.OrthogonalRegularizer)
    assert (C.max_norm, C.non_neg, C.unit_norm, C.min_max_norm) == (
        C.MaxNorm, C.NonNeg, C.UnitNorm, C.MinMaxNorm)


# ---------------------------------------------------------------------------- get
REG_NAMES = ["l1", "l2", "l1l2", "L1", "L2", "L1L2", "orthogonal_regularizer",
             "OrthogonalRegularizer"]
CON_NAMES = ["max_norm", "MaxNorm", "non_neg", "NonNeg", "unit_norm", "UnitNorm",
             "min_max_norm", "MinMaxNorm", "constraint", "Constraint"]
KERAS2_REG = [{"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.009999999776482582}},
              {"class_name": "L2", "config": {"l2": 0.01}}, {"class_name": "l1"},
              {"class_name": "L1", "config": None},
              {"class_name": "OrthogonalRegularizer", "config": {"factor": 0.1,
                                                                 "mode": "columns"}},
              {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5},
               "registered_name": None},
              {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5},
               "registered_name": "foo>Bar", "shared_object_id": 3}]
KERAS2_CON = [{"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}},
              {"class_name": "NonNeg", "config": {}}, {"class_name": "NonNeg", "config": None},
              {"class_name": "max_norm", "config": {"max_value": 3}},
              {"class_name": "MinMaxNorm", "config": {"min_value": 0.0, "max_value": 1.0,
                                                      "rate": 1.0, "axis": 0}},
              {"module": "keras.constraints", "class_name": "UnitNorm", "config": {"axis": 1},
               "registered_name": None}]


def same(ours: Any, theirs: Any) -> bool:
    return (type(ours).__name__ == type(theirs).__name__
            and ours.get_config() == theirs.get_config())


@pytest.mark.parametrize("ident", REG_NAMES + KERAS2_REG)
def test_regularizers_get_matches_keras(K: Any, ident: Any) -> None:
    assert same(R.get(ident), K.regularizers.get(ident))


@pytest.mark.parametrize("ident", CON_NAMES + KERAS2_CON)
def test_constraints_get_matches_keras(K: Any, ident: Any) -> None:
    assert same(C.get(ident), K.constraints.get(ident))


def test_get_none_instances_classes() -> None:
    assert R.get(None) is None and C.get(None) is None
    r, c = R.L2(0.3), C.MaxNorm(4)
    assert R.get(r) is r and C.get(c) is c
    assert isinstance(R.get(R.L1), R.L1) and isinstance(C.get(C.NonNeg), C.NonNeg)
    assert float(R.get("regularizer")(np.ones(3))) == 0.0
    np.testing.assert_array_equal(R.get("regularizer").gradient(np.ones(3)), np.zeros(3))


def test_l1_l2_name_is_accepted_as_an_extension(K: Any) -> None:
    assert R.get("l1_l2").get_config() == K.regularizers.l1_l2().get_config()
    with pytest.raises(ValueError):
        K.regularizers.get("l1_l2")          # Keras 3 refuses it; rnnlens takes the alias


def test_function_regularizer(K: Any) -> None:
    def my_l1(w: np.ndarray) -> float:
        return 0.5 * float(np.abs(w).sum())

    reg = R.get(my_l1)
    assert isinstance(reg, R.FunctionRegularizer)
    value = reg(np.array([1.0, -2.0]))
    assert value.shape == () and value.dtype == np.float32 and float(value) == 1.5
    with pytest.raises(TypeError, match="has no gradient"):
        reg.gradient(np.ones(2))
    assert R.serialize(reg) == R.serialize(my_l1) == K.regularizers.serialize(my_l1)
    with pytest.raises(ValueError, match="custom_objects"):
        R.get(R.serialize(my_l1))
    assert R.deserialize(R.serialize(my_l1), custom_objects={"my_l1": my_l1}).fn is my_l1
    with pytest.raises(ValueError, match="lambda"):
        R.serialize(lambda w: 0.0)
    with pytest.raises(ValueError, match="one number"):
        R.get(lambda w: w)(np.ones(3))


def test_subclass_without_gradient_refuses() -> None:
    class Mine(R.Regularizer):
        def __call__(self, x: Any) -> np.ndarray:
            return np.asarray(1.0, np.float32)

    with pytest.raises(TypeError, match="gradient"):
        Mine().gradient(np.ones(2))
    with pytest.raises(NotImplementedError):
        R.serialize(Mine())
    with pytest.raises(TypeError, match="instance"):
        R.serialize(R.L2)


def test_custom_subclass_round_trip() -> None:
    class Shift(C.Constraint):
        def __init__(self, by: float = 1.0):
            self.by = by

        def __call__(self, w: Any) -> np.ndarray:
            return np.asarray(w, np.float32) + np.float32(self.by)

        def get_config(self) -> dict:
            return {"by": self.by}

    s = C.serialize(Shift(2.0))
    assert s["class_name"] == "Shift" and s["registered_name"] == "Shift"
    with pytest.raises(ValueError, match="unknown class_name"):
        C.get(s)
    assert C.deserialize(s, custom_objects={"Shift": Shift}).by == 2.0

    class Plain:                                  # no from_config: built from its config
        def __init__(self, a: float = 1.0):
            self.a = a

        def __call__(self, w: Any) -> np.ndarray:
            return np.asarray(w) * self.a

    plain = C.deserialize({"class_name": "Plain", "config": {"a": 3.0}}, {"Plain": Plain})
    np.testing.assert_array_equal(plain(np.ones(2)), [3.0, 3.0])
    with pytest.raises(ValueError, match="Unknown argument"):
        C.deserialize({"class_name": "Plain", "config": {"b": 3.0}}, {"Plain": Plain})


def test_function_constraint() -> None:
    con = C.get(lambda w: np.clip(w, -1, 1))
    np.testing.assert_array_equal(con(np.array([-3.0, 0.5])), [-1.0, 0.5])
    with pytest.raises(ValueError, match="keep the shape"):
        C.get(lambda w: w.sum())(np.ones(3))


BAD_IDENTIFIERS = [
    "bogus", "L3", "nonneg", "", 5, 1.5, [1], ("l2",), b"l2", object(),
    {"config": {"l2": 0.1}}, {"class_name": 1, "config": {}},
    {"class_name": "Bogus", "config": {}},
    {"class_name": "L2", "config": {"l2": 0.01, "extra": 1}},
    {"class_name": "L2", "config": {"l2": -1}}, {"class_name": "L2", "config": "l2"},
    {"class_name": "L2", "config": {"l2": "0.1"}}, {"class_name": "L2", "config": [0.1]},
    {"module": None, "class_name": "L2", "config": {"l2": 0.5}},
    {"class_name": "function", "module": "builtins", "config": "eval"},
    {"class_name": "function", "module": "os", "config": "system", "registered_name": "x"},
    {"class_name": "__lambda__", "config": {"value": ["AAAA", None, None]}},
    {"class_name": "L2", "config": {"l2": 0.1}, "module": "keras.regularizers", "evil": 1},
    {"module": "os", "class_name": "system", "config": {}},
    {"class_name": "MaxNorm", "config": {"max_value": 2}},
]


HOSTILE = [{"class_name": "L2", "config": {"l2": "x" * 10**6}}, {"class_name": "Q" * 10**6},
           {"class_name": "L2", "config": {"l2": [[[[[[1]]]]]] * 10**5}}]


@pytest.mark.parametrize("ident", BAD_IDENTIFIERS + HOSTILE, ids=lambda x: repr(x)[:40])
def test_bad_regularizer_identifiers(ident: Any) -> None:
    with pytest.raises(ValueError) as info:
        R.get(ident)
    assert 0 < len(str(info.value)) < 1000          # bounded, even for hostile configs


@pytest.mark.parametrize("ident", BAD_IDENTIFIERS[:13] + [
    {"class_name": "MaxNorm", "config": {"max_value": "2"}},
    {"class_name": "MaxNorm", "config": {"max_value": -1}},
    {"class_name": "MaxNorm", "config": {"axis": "0"}},
    {"class_name": "MaxNorm", "config": {"axis": [0, 1.5]}},
    {"class_name": "MinMaxNorm", "config": {"min_value": 2, "max_value": 1}},
    {"class_name": "MinMaxNorm", "config": {"rate": 1.5}},
    {"class_name": "MinMaxNorm", "config": {"rate": float("nan")}},
    {"class_name": "NonNeg", "config": {"axis": 0}},
    {"class_name": "L2", "config": {"l2": 0.1}},
], ids=lambda x: repr(x)[:40])
def test_bad_constraint_identifiers(ident: Any) -> None:
    with pytest.raises(ValueError):
        C.get(ident)


@pytest.mark.parametrize("cls,kw", [
    (R.L1, {"l1": -0.1}), (R.L2, {"l2": float("nan")}), (R.L2, {"l2": float("inf")}),
    (R.L1L2, {"l1": "0.1"}), (R.L1L2, {"l2": [0.1]}), (R.L2, {"l2": 1e39}),
    (R.OrthogonalRegularizer, {"factor": None}), (R.OrthogonalRegularizer, {"factor": -1}),
    (R.OrthogonalRegularizer, {"mode": "diag"}), (R.OrthogonalRegularizer, {"mode": None}),
    (R.OrthogonalRegularizer, {"mode": ["rows"]}),
])
def test_bad_regularizer_arguments(K: Any, cls: Any, kw: dict) -> None:
    with pytest.raises(ValueError, match="Invalid value for argument"):
        cls(**kw)
    with pytest.raises((ValueError, TypeError)):       # Keras refuses them too
        kcls = getattr(K.regularizers, cls.__name__)
        kcls(**kw)(K.ops.ones((2, 2)))


def test_bad_weights() -> None:
    with pytest.raises(ValueError, match="rank 2"):
        R.OrthogonalRegularizer()(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        R.OrthogonalRegularizer()(np.ones((1, 4)))       # Keras: NaN
    with pytest.raises(ValueError, match="at least 2 columns"):
        R.OrthogonalRegularizer(mode="columns").gradient(np.ones((4, 1)))
    with pytest.raises(ValueError, match="at most"):
        R.OrthogonalRegularizer()(np.zeros((R.MAX_ORTHOGONAL_SIZE + 1, 1), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        R.L2()(np.array(["a", "b"]))
    with pytest.raises(TypeError):
        C.MaxNorm()(None)
    with pytest.raises(ValueError, match="repeats"):
        C.UnitNorm((0, -2))(np.ones((2, 3)))


# ---------------------------------------------------------------------------- fuzz
FACTORS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                    st.integers(-10, 10**40), st.sampled_from([None, "0.1", True, [0.1]]))
SHAPE = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


def reference(name: str, factor: float, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Penalty and gradient in float64 from the textbook formula (factor in float32)."""
    w64, f = w.astype(np.float64), float(np.float32(factor))
    if name == "L1":
        return f * float(np.abs(w64).sum()), f * np.sign(w64)
    return f * float(np.square(w64).sum()), f * 2.0 * w64


def close_or_overflow(actual: Any, expected: Any) -> bool:
    """Within 1e-5 relative, or both beyond float32 (inf where the reference overflows)."""
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    big = np.abs(e) > 3.0e38
    ok = np.abs(a - e) <= 1e-5 * np.maximum(np.abs(e), 1.0)
    return bool(np.all(np.where(big, np.isinf(a) | ok, ok)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["L1", "L2"]), factor=FACTORS, shape=SHAPE, seed=st.integers(0, 99))
def test_fuzz_elementwise(name: str, factor: Any, shape: tuple, seed: int) -> None:
    try:
        reg = getattr(R, name)(factor)
    except ValueError as exc:
        assert "Invalid value for argument" in str(exc)
        number = isinstance(factor, (int, float))
        assert not number or not (0 <= float(factor) <= 3.4028234663852886e38)
        return
    w = weights(shape, seed) * np.float32(seed + 1)
    value, grad = reg.value_and_gradient(w)
    assert value.dtype == grad.dtype == np.float32 and grad.shape == w.shape
    expected, expected_grad = reference(name, 0.01 if factor is None else float(factor), w)
    assert close_or_overflow(value, expected), (float(value), expected)
    assert close_or_overflow(grad, expected_grad)


@settings(max_examples=100, deadline=None)
@given(factor=FACTORS, mode=st.sampled_from(["rows", "columns", "diag", None]),
       shape=SHAPE, seed=st.integers(0, 99))
def test_fuzz_orthogonal(factor: Any, mode: Any, shape: tuple, seed: int) -> None:
    try:
        reg = R.OrthogonalRegularizer(factor, mode)
    except ValueError as exc:
        assert "Invalid value for argument" in str(exc)
        return
    w = weights(shape, seed)
    try:
        value, grad = reg.value_and_gradient(w)
    except ValueError as exc:
        assert "rank 2" in str(exc) or "at least 2" in str(exc)
        n = w.shape[0 if mode == "rows" else 1] if w.ndim == 2 else None
        assert w.ndim != 2 or n < 2
        return
    assert value.shape == () and grad.shape == w.shape and not np.isnan(value)
    f = float(np.float32(factor))
    if f <= 1e30:                  # value = f * 0.5 * sum|cos| / pairs, each |cos| <= 1
        assert 0.0 <= float(value) <= f * (1 + 1e-5)
        assert np.all(np.isfinite(grad))


NUMBERS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**40), st.text(max_size=3),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.lists(st.integers(-4, 4), max_size=3))
CONFIG_DICTS = st.fixed_dictionaries(
    {"class_name": st.sampled_from(REG_NAMES + CON_NAMES + ["l1_l2", "Bogus", "function"])},
    optional={"config": st.one_of(st.none(), st.dictionaries(st.sampled_from(
                  ["l1", "l2", "factor", "mode", "max_value", "min_value", "rate", "axis", "x"]),
                  st.one_of(NUMBERS, st.sampled_from(["rows", "columns"])), max_size=4)),
              "module": st.sampled_from([None, "keras.regularizers", "keras.constraints", "os"]),
              "registered_name": st.sampled_from([None, "x>Y", "eval"])})
IDENTS = st.one_of(CONFIG_DICTS, st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
              st.sampled_from(REG_NAMES + CON_NAMES + ["function", "builtins", "os"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(
                                ["class_name", "config", "module", "registered_name", "l1",
                                 "l2", "axis", "max_value", "rate", "x"]), inner, max_size=4)),
    max_leaves=8))


@settings(max_examples=400, deadline=None)
@given(ident=IDENTS)
def test_fuzz_identifiers(ident: Any) -> None:
    for mod, base in ((R, R.Regularizer), (C, C.Constraint)):
        try:
            obj = mod.get(ident)
        except (ValueError, TypeError):
            continue
        assert obj is None or isinstance(obj, base)
        if obj is None or type(obj) in (R.Regularizer, R.FunctionRegularizer,
                                        C.FunctionConstraint):
            continue
        try:
            out = obj(np.ones((3, 3), np.float32))        # a usable, valid object
        except ValueError as exc:                         # e.g. axis=2 on a (3, 3) weight
            assert "axis" in str(exc)
        else:
            assert out.dtype == np.float32 and not np.any(np.isnan(out))
        assert mod.get(mod.serialize(obj)).get_config() == obj.get_config()
