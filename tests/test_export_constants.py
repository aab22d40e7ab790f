"""NumPy constants in op nodes (``x + np.float32(nan)``, ``ops.maximum(x, np.float32(.5))``,
``x * np.int32(2)``, 0-d arrays) and 0-d results, through ``to_onnx`` (ONNX Runtime) and
``to_torch``, against ``model.predict``.

Every NumPy scalar type (float16/32/64, int32/64, uint8, bool) and 0-d array is a constant,
never a graph tensor; rnnlens promotes as Keras does (``x * np.float64(c)`` is float64,
checked against live Keras here), the exports compute in float32 and match ``predict``
within ``RTOL * max(1, |value|)``; NaN and inf must land where ``predict`` has them.
A 0-d tensor (``ops.sum(x)``) stays 0-d through the layers and ops that add constants to
it (ReLU, LeakyReLU, ELU, Activation, ops.where with a constant condition, ...): the
exporter's float constants are shape ``[]``, so ONNX's strict shape inference agrees
with rnnlens. Keras writes a NumPy scalar constant into ``config.json`` as a plain
number (``np.float64(0.1)`` -> ``0.1``, so a reloaded model promotes it weakly); a
Keras-saved model with such constants loads, predicts as Keras's reloaded model and
exports. Hypothesis draws the op, the constant's value and NumPy type and the operand
order.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from conftest import record_kind  # noqa: E402
from oracle import keras_available  # noqa: E402

import rnnlens  # noqa: E402
from rnnlens import ops as rops  # noqa: E402
from rnnlens.interop import to_torch  # noqa: E402
from rnnlens.interop.onnx import to_onnx  # noqa: E402
from rnnlens.layers import ELU, Activation, Input, LeakyReLU, ReLU  # noqa: E402
from rnnlens.models import Model  # noqa: E402

SUITE = "export constants"
RTOL = 1e-6
F = 4

#: f(ops, x) on a (B, 4) float32 input; ``ops`` is rnnlens.ops or keras.ops.
CASES: dict[str, Callable[[Any, Any], Any]] = {
    "add_f32_nan": lambda o, x: x + np.float32(np.nan),
    "add_f32": lambda o, x: o.add(x, np.float32(0.75)),
    "add_f64": lambda o, x: o.add(np.float64(0.1), x),
    "add_i64": lambda o, x: o.add(x, np.int64(3)),
    "sub_f32": lambda o, x: o.subtract(np.float32(1.0), x),
    "mul_i32": lambda o, x: x * np.int32(2),
    "mul_i64": lambda o, x: o.multiply(x, np.int64(-3)),
    "mul_f64": lambda o, x: x * np.float64(1.1),
    "mul_f16": lambda o, x: x * np.float16(0.3),
    "mul_u8": lambda o, x: o.multiply(x, np.uint8(5)),
    "div_i32": lambda o, x: o.divide(x, np.int32(4)),
    "max_f32": lambda o, x: o.maximum(x, np.float32(0.5)),
    "max_f32_inf": lambda o, x: o.maximum(x, np.float32(np.inf)),
    "min_f64": lambda o, x: o.minimum(np.float64(-0.25), x),
    "max_bool": lambda o, x: o.maximum(x, np.bool_(True)),
    "where_value_bool": lambda o, x: o.where(x > np.float32(0), x, np.bool_(True)),
    "where_cond_bool": lambda o, x: o.where(np.bool_(False), x, np.float32(2.0)),
    "where_value_i64": lambda o, x: o.where(x < 0, np.int64(-1), x),
    "where_value_f64": lambda o, x: o.where(x < 0, x, np.float64(0.3)),
    "d0_f32": lambda o, x: o.multiply(x, np.array(1.5, np.float32)),
    "d0_f64": lambda o, x: o.add(np.array(-0.5), x),
    "d0_i32": lambda o, x: x * np.array(3, np.int32),
    "d0_bool": lambda o, x: o.where(x > 0, np.array(True), x),
    "d0_cond": lambda o, x: o.where(np.array(True), x, np.array(0.5, np.float32)),
    "chain": lambda o, x: o.maximum(o.add(x * np.int32(2), np.float64(0.1)),
                                    np.float32(-0.5)),
}

#: f(ops, layers, x) giving a 0-d tensor: constants meet ``s = ops.sum(x)`` (batch gone).
ZERO_D: dict[str, Callable[[Any, Any, Any], Any]] = {
    "add_np": lambda o, L, x: o.sum(x) + np.float32(1.0),
    "max_0d_array": lambda o, L, x: o.maximum(o.sum(x), np.array(0.5, np.float32)),
    "where_const_cond": lambda o, L, x: o.where(np.bool_(True), o.sum(x), np.float32(0)),
    "where_value": lambda o, L, x: o.where(o.sum(x) > 0, o.sum(x), np.int32(-2)),
    "logical_or": lambda o, L, x: o.logical_or(o.sum(x) > 0, np.bool_(False)),
    "equal_np": lambda o, L, x: o.equal(o.sum(x) > 0, np.bool_(True)),
    "leaky_relu_layer": lambda o, L, x: L.LeakyReLU(negative_slope=0.2)(o.sum(x)),
    "relu_layer": lambda o, L, x: L.ReLU(max_value=2.0, negative_slope=0.1,
                                         threshold=0.1)(o.sum(x)),
    "elu_layer": lambda o, L, x: L.ELU(alpha=0.5)(o.sum(x)),
    "hard_sigmoid_layer": lambda o, L, x: L.Activation("hard_sigmoid")(o.sum(x) / 4.0),
    "gelu_layer": lambda o, L, x: L.Activation("gelu")(o.sum(x)),
    "sparse_plus_op": lambda o, L, x: o.sparse_plus(o.sum(x) / 4.0),
    "silu_op": lambda o, L, x: o.silu(o.sum(x)),
    "relu6_op": lambda o, L, x: o.relu6(o.sum(x)),
    "hard_tanh_op": lambda o, L, x: o.hard_tanh(o.sum(x) / 4.0),
}


class _Layers:
    """The layer classes ZERO_D uses, from rnnlens (``L`` there)."""

    LeakyReLU, ReLU, ELU, Activation = LeakyReLU, ReLU, ELU, Activation


def data(seed: int = 0, batch: int = 5) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(batch, F)).astype(np.float32)
    x[0, 0] = 0.0
    return x


def model_of(make: Callable[[Any], Any]) -> Model:
    x = Input((F,), name="x")
    return Model(x, make(x))


def run_onnx(model: Model, x: np.ndarray, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "model.onnx"
    to_onnx(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def run_torch(model: Model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return to_torch(model)(torch.as_tensor(x)).numpy()


def compare(kind: str, got: np.ndarray, want: np.ndarray) -> None:
    """Same shape, values within RTOL * max(1, max |finite want|); NaN / inf in place."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (kind, got.shape, want.shape)
    finite = want[np.isfinite(want)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    assert np.array_equal(np.isposinf(got), np.isposinf(want)), kind
    assert np.array_equal(np.isneginf(got), np.isneginf(want)), kind
    same_inf = np.isinf(want) & (got == want)
    record_kind(SUITE, kind, np.where(same_inf, 0.0, got), np.where(same_inf, 0.0, want),
                atol=RTOL * scale)


def check_exports(model: Model, x: np.ndarray, tmp_path: Path, kind: str) -> None:
    want = model.predict(x, verbose=0)
    got_onnx, got_torch = run_onnx(model, x, tmp_path), run_torch(model, x)
    compare(f"onnx/{kind}", got_onnx, want)
    compare(f"torch/{kind}", got_torch, want)
    if want.dtype.kind in "iub":         # the module keeps integer and bool dtypes
        assert got_torch.dtype == want.dtype, (got_torch.dtype, want.dtype)


# -- fixed cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_constant_exports(name: str, tmp_path: Path) -> None:
    check_exports(model_of(lambda x: CASES[name](rops, x)), data(), tmp_path, name)


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_zero_d_results_stay_zero_d(name: str, tmp_path: Path) -> None:
    model = model_of(lambda x: ZERO_D[name](rops, _Layers, x))
    assert model.predict(data(), verbose=0).shape == ()
    check_exports(model, data(), tmp_path, f"0-d/{name}")


def test_integer_input_with_numpy_constants(tmp_path: Path) -> None:
    ids = Input((F,), dtype="int32", name="ids")
    model = Model(ids, [ids * np.int32(2), rops.add(ids, np.int64(3)),
                        rops.maximum(ids, np.float32(4.5))])
    v = np.arange(-6, 6, dtype=np.int32).reshape(3, F)
    want = model.predict(v, verbose=0)
    with torch.no_grad():
        got = [t.numpy() for t in to_torch(model)(torch.as_tensor(v))]
    path = tmp_path / "ids.onnx"
    to_onnx(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for k, (g_onnx, g_torch, w) in enumerate(zip(sess.run(None, {"ids": v}), got, want)):
        compare(f"onnx/int input {k}", g_onnx, w)
        compare(f"torch/int input {k}", g_torch, w)
        assert g_torch.dtype == w.dtype


def test_layer_constants_are_zero_d(tmp_path: Path) -> None:
    """The float constants the layer exporters add are 0-d initializers (shape [])."""
    import onnx

    x = Input((F,), name="x")
    model = Model(x, ELU(alpha=0.5)(LeakyReLU(negative_slope=0.2)(x)))
    to_onnx(model, tmp_path / "m.onnx")
    inits = onnx.load(str(tmp_path / "m.onnx")).graph.initializer
    assert inits and all(list(t.dims) == [] for t in inits), [list(t.dims) for t in inits]


def test_numpy_int_key_and_pad_value_convert(tmp_path: Path) -> None:
    """A NumPy integer key is a basic key; a NumPy scalar pad value is a number."""
    check_exports(model_of(lambda x: x[:, np.int64(1)]), data(), tmp_path, "key np.int64")
    check_exports(model_of(lambda x: rops.pad(x, [[0, 0], [1, 2]],
                                              constant_values=np.float32(0.5))),
                  data(), tmp_path, "pad np.float32")


# -- Keras: predict and files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras

    return keras


@pytest.mark.parametrize("name", sorted(CASES))
def test_rnnlens_predict_equals_keras(keras: Any, name: str) -> None:
    """The reference the exports are checked against: rnnlens's promotion is Keras's."""
    kx = keras.Input((F,))
    kmodel = keras.Model(kx, CASES[name](keras.ops, kx))
    want = np.asarray(kmodel.predict(data(), verbose=0))
    got = model_of(lambda x: CASES[name](rops, x)).predict(data(), verbose=0)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    compare(f"keras/{name}", got, want)


@pytest.fixture(scope="module")
def keras_file(keras: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = keras.Input((F,), name="x")
    y = keras.ops.maximum(x + np.float32(0.5), np.float32(0.25)) * np.int32(2)
    y = keras.ops.add(y, np.float64(0.1))
    y = keras.ops.where(y > np.float32(1.0), y, np.array(3, np.int64))
    y = keras.ops.where(np.bool_(True), y, np.float32(np.nan))
    z = keras.layers.LeakyReLU(negative_slope=0.2)(keras.ops.sum(y) - np.float32(4))
    path = tmp_path_factory.mktemp("keras") / "constants.keras"
    keras.Model(x, [y, z]).save(path)
    return path


def test_keras_writes_numpy_constants_as_numbers(keras_file: Path) -> None:
    config = json.loads(zipfile.ZipFile(keras_file).read("config.json"))
    consts = [a for layer in config["config"]["layers"]
              for node in layer.get("inbound_nodes", []) for a in node["args"]
              if not isinstance(a, dict)]
    # np.int32(2) -> 2, np.float64(0.1) -> 0.1, np.array(3, np.int64) -> 3, np.bool_ -> true
    want = [0.5, 0.25, 2, 0.1, 1.0, 3, True, "nan", 4.0]
    assert [repr(c) if c != c else c for c in consts] == want, consts
    assert [type(c) for c in consts] == [float, float, int, float, float, int, bool, float,
                                         float], consts


def test_keras_saved_constants_load_predict_and_export(keras: Any, keras_file: Path,
                                                       tmp_path: Path) -> None:
    model = rnnlens.models.load_model(keras_file)
    want = [np.asarray(v) for v in keras.saving.load_model(keras_file).predict(data(),
                                                                               verbose=0)]
    got = model.predict(data(), verbose=0)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype and g.shape == w.shape, (k, g.dtype, w.dtype)
        compare(f"keras file/predict {k}", g, w)
    onnx_out = ort_run(model, data(), tmp_path)
    with torch.no_grad():
        torch_out = [t.numpy() for t in to_torch(model)(torch.as_tensor(data()))]
    for k, w in enumerate(got):
        compare(f"keras file/onnx {k}", onnx_out[k], w)
        compare(f"keras file/torch {k}", torch_out[k], w)


def ort_run(model: Model, x: np.ndarray, tmp_path: Path) -> list:
    path = tmp_path / "file.onnx"
    to_onnx(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})


# -- hypothesis --------------------------------------------------------------------------------

_TYPES = [np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_]
_OPS = ["add", "subtract", "multiply", "maximum", "minimum", "where"]


def binary(op: str, t: Any, const: Any, swap: bool) -> Any:
    """``op(t, const)`` (``op(const, t)`` if swapped); where: ``where(t > 0, t, const)``."""
    if op == "where":
        return rops.where(t > 0, const, t) if swap else rops.where(t > 0, t, const)
    fn = getattr(rops, op)
    return fn(const, t) if swap else fn(t, const)


@st.composite
def constants(draw: Any) -> Any:
    kind = draw(st.sampled_from(_TYPES))
    if kind is np.bool_:
        value = draw(st.booleans())
    elif np.dtype(kind).kind == "i":
        value = draw(st.integers(-1000, 1000))
    else:
        value = draw(st.one_of(st.floats(-1e3, 1e3, width=32),
                               st.sampled_from([np.nan, np.inf, -np.inf, -0.0])))
    const = kind(value)
    return np.asarray(const) if draw(st.booleans()) else const     # 0-d array or scalar


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(_OPS), const=constants(), swap=st.booleans(),
       zero_d=st.booleans(), seed=st.integers(0, 3))
def test_random_constants_export(tmp_path: Path, op: str, const: Any, swap: bool,
                                 zero_d: bool, seed: int) -> None:
    """Any op, NumPy type, value (NaN, inf, -0.0 too), order, on (B, 4) or a 0-d sum."""
    model = model_of(lambda x: binary(op, rops.sum(x) if zero_d else x, const, swap))
    check_exports(model, data(seed), tmp_path, f"hypothesis/{op}")
