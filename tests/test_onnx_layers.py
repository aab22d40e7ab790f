"""ONNX export of the non-recurrent layers, against ONNX Runtime (see tests/_onnx_support.py).

Every model mixes the layer under test with LSTMs / GRUs, gets random weights, is
checked by ``onnx.checker.check_model`` and must give ``model.predict``'s numbers in
ONNX Runtime (max abs difference 2e-6) at two batch sizes, over several argument
combinations (hypothesis where the arguments combine freely). Refusals are ValueErrors
that name the layer and write nothing. Conv and pooling layers: test_onnx_layers_conv.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _onnx_support import (compare, export, op_types, randomize, refuses,  # noqa: E402
                           register_summary, roundtrip, session)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rnnlens import activations  # noqa: E402
from rnnlens.layers import (GRU, LSTM, ActivityRegularization, Activation,  # noqa: E402
                            Add, AlphaDropout, Average, BatchNormalization, Bidirectional,
                            Concatenate, CuDNNGRU, CuDNNLSTM, Dense, Dot, Dropout, Flatten, GaussianDropout, GaussianNoise,
                            Identity, Input, Lambda, LayerNormalization, Maximum, Minimum,
                            Multiply, Permute, Reshape, SpatialDropout1D, SpatialDropout2D,
                            SpatialDropout3D, Subtract, TimeDistributed, UnitNormalization)
from rnnlens.models import Model, Sequential  # noqa: E402
from rnnlens import layers as L  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
HYPOTHESIS = settings(max_examples=20, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Any:
    register_summary(request)
    yield


def _fresh(tmp_path: Path, name: str) -> Path:
    """A new empty directory per hypothesis example (export checks nothing else is there)."""
    k = 0
    while (tmp_path / f"{name}{k}").exists():
        k += 1
    (tmp_path / f"{name}{k}").mkdir()
    return tmp_path / f"{name}{k}"


def _emitted_by(proto: Any, layer_name: str) -> list[str]:
    return [n.op_type for n in proto.graph.node if n.name.startswith(f"{layer_name}/")]


# -- regularization layers and Identity -----------------------------------------------------

REGULARIZATION: dict[str, Callable[[], Any]] = {
    "dropout": lambda: Dropout(0.3, name="reg"),
    "dropout_noise_shape": lambda: Dropout(0.5, noise_shape=(None, 1, 4), seed=3, name="reg"),
    "spatial_dropout_1d": lambda: SpatialDropout1D(0.2, name="reg"),
    "gaussian_noise": lambda: GaussianNoise(0.4, name="reg"),
    "gaussian_dropout": lambda: GaussianDropout(0.3, name="reg"),
    "alpha_dropout": lambda: AlphaDropout(0.2, name="reg"),
    "activity_regularization": lambda: ActivityRegularization(l1=0.1, l2=0.1, name="reg"),
    "identity": lambda: Identity(name="reg"),
}


@pytest.mark.parametrize("kind", list(REGULARIZATION))
def test_regularization_layers_are_identities(kind: str, tmp_path: Path) -> None:
    x = Input((6, 3))
    y = REGULARIZATION[kind]()(LSTM(4, return_sequences=True)(x))
    proto = roundtrip(Model(x, [GRU(3)(y), LSTM(2, return_sequences=True)(y)]), tmp_path)
    assert _emitted_by(proto, "reg") == []                      # no node at all
    assert "RandomNormal" not in op_types(proto) and "Dropout" not in op_types(proto)


def test_spatial_dropout_2d_3d_between_recurrent_layers(tmp_path: Path) -> None:
    x = Input((4, 3, 2))
    y = SpatialDropout2D(0.4)(x)
    y = LSTM(3, return_sequences=True)(Reshape((4, 6))(y))
    z = Input((2, 2, 3, 2), name="volume")
    w = SpatialDropout3D(0.3, data_format="channels_first")(z)
    w = GRU(2)(Reshape((2, 12))(w))
    roundtrip(Model([x, z], [y, w]), tmp_path)


def test_identity_on_a_list_and_sequential(tmp_path: Path) -> None:
    a, b = Input((5, 3), name="a"), Input((5, 2), name="b")
    pa, pb = Identity()([LSTM(4, return_sequences=True)(a), b])
    roundtrip(Model([a, b], LSTM(3)(Concatenate()([pa, pb]))), tmp_path)
    model = Sequential([Input((6, 3)), LSTM(5, return_sequences=True), Dropout(0.2),
                        GaussianNoise(0.1), LSTM(4), Dropout(0.5), Dense(2)])
    roundtrip(model, _fresh(tmp_path, "seq"))


@pytest.mark.parametrize("make,fragment", [
    (lambda: Dropout(0.3, name="noisy"), "rate=0.3"),
    (lambda: SpatialDropout1D(0.2, name="noisy"), "rate=0.2"),
    (lambda: GaussianNoise(0.5, name="noisy"), "stddev=0.5"),
    (lambda: GaussianDropout(0.1, name="noisy"), "rate=0.1"),
    (lambda: AlphaDropout(0.4, name="noisy"), "rate=0.4"),
])
def test_refuses_noise_in_training_mode(make: Callable[[], Any], fragment: str,
                                        tmp_path: Path) -> None:
    x = Input((5, 3))
    y = LSTM(4)(make()(x, training=True))
    refuses(Model(x, y), tmp_path, "Layer 'noisy'", "training=True", fragment)


def test_training_mode_without_noise_is_exported(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = Dropout(0.0)(LSTM(4, return_sequences=True)(x), training=True)
    y = ActivityRegularization(l2=0.3)(y, training=True)
    y = GaussianNoise(0.0)(y, training=True)
    roundtrip(Model(x, LSTM(2)(y)), tmp_path)


# -- Activation -----------------------------------------------------------------------------

ACTIVATIONS = [n for n in activations.__all__
               if n not in ("get", "serialize", "deserialize", "threshold")]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_keras_activation(name: str, tmp_path: Path) -> None:
    """Every named activation of rnnlens (Keras 3.15.1), on LSTM features and past its
    kinks (Dense pre-activations up to ~±6)."""
    x = Input((5, 4))
    seq = LSTM(6, return_sequences=True)(x)
    pre = Dense(6)(seq)
    y = Activation(name, name="act")(pre)
    last = Activation(name)(Dense(4)(LSTM(3)(y if name != "glu" else pre)))
    roundtrip(Model(x, [y, last]), tmp_path, scale=1.5, data_scale=2.0)


@pytest.mark.parametrize("name", ["relu6", "hard_tanh", "hard_sigmoid", "hard_silu",
                                  "hard_shrink", "soft_shrink", "sparse_plus",
                                  "sparse_sigmoid", "sparsemax", "squareplus", "elu", "selu",
                                  "celu", "leaky_relu", "softmax", "gelu"])
def test_activation_wide_inputs(name: str, tmp_path: Path) -> None:
    """Raw inputs from -9 to 9 (kinks at ±0.5, ±1, ±3, 6; sparsemax supports of any size)."""
    x = Input((7, 8))
    y = Activation(name)(x)
    model = Model(x, [y, LSTM(3)(y)])
    path = export(model, tmp_path)
    data = np.random.default_rng(0).uniform(-9, 9, size=(6, 7, 8)).astype(np.float32)
    data[0, 0] = [-6.0, -3.0, -1.0, -0.5, 0.5, 1.0, 3.0, 6.0]              # on the kinks
    compare(session(path).run(None, {x.name: data}), list(model.predict(data)),
            ["act", "lstm"], f"wide_{name}", atol=4e-6)


def test_keras2_hard_sigmoid_in_activation_and_gates(tmp_path: Path) -> None:
    """Keras 2 files' hard_sigmoid (0.2 x + 0.5): ONNX HardSigmoid with alpha 0.2."""
    x = Input((6, 3))
    y = LSTM(4, recurrent_activation=activations.hard_sigmoid_keras2,
             return_sequences=True)(x)
    y = Activation(activations.hard_sigmoid_keras2)(Dense(5)(y))
    proto = roundtrip(Model(x, y), tmp_path, scale=1.5, data_scale=3.0)
    assert "HardSigmoid" in op_types(proto)


def test_refuses_user_activation(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = Activation(lambda z: z * 2.0, name="custom")(LSTM(4)(x))
    message = refuses(Model(x, y), tmp_path, "Layer 'custom' (Activation)",
                      "activation='<lambda>'", "ONNX export does not support it")
    assert "sparsemax" in message                                # lists what is supported


# -- reshaping --------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 4), (2, 3, 2, 2)])
def test_flatten(shape: tuple, data_format: str, tmp_path: Path) -> None:
    x = Input(shape)
    y = Flatten(data_format=data_format)(x)
    seq = LSTM(3, return_sequences=True)(Reshape((shape[0], -1))(x))
    z = Flatten(data_format=data_format)(seq)
    roundtrip(Model(x, [Dense(2)(y), z]), tmp_path)


@pytest.mark.parametrize("target,steps", [((3, -1), 6), ((-1, 3), 6), ((2, 3, 4), 6),
                                          ((24,), 6), ((-1, 2), None), ((-1,), None),
                                          ((4, -1, 2), None)])
def test_reshape(target: tuple, steps: Any, tmp_path: Path) -> None:
    x = Input((steps, 4))
    seq = LSTM(4, return_sequences=True)(x)
    y = Reshape(target)(seq)
    outs = [y] + ([LSTM(2)(y)] if len(target) == 2 else [])
    roundtrip(Model(x, outs), tmp_path, steps=(6, 8))


@pytest.mark.parametrize("dims", [(2, 1), (1, 2), (3, 1, 2), (2, 3, 1), (1, 3, 2)])
@pytest.mark.parametrize("steps", [5, None])
def test_permute(dims: tuple, steps: Any, tmp_path: Path) -> None:
    x = Input((steps, 6))
    seq = LSTM(6, return_sequences=True)(x)
    y = Permute(dims)(seq if len(dims) == 2 else Reshape((-1, 2, 3))(seq))
    roundtrip(Model(x, y), tmp_path)


def test_permute_feeds_a_recurrent_layer(tmp_path: Path) -> None:
    x = Input((5, 7))
    roundtrip(Model(x, GRU(3)(Permute((2, 1))(LSTM(4, return_sequences=True)(x)))), tmp_path)


# -- merging ----------------------------------------------------------------------------------

MERGES = {"add": Add, "multiply": Multiply, "average": Average, "maximum": Maximum,
          "minimum": Minimum}


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("kind", list(MERGES))
def test_elementwise_merges(kind: str, n: int, tmp_path: Path) -> None:
    x = Input((None, 3))
    branches = [LSTM(4, return_sequences=True)(x), GRU(4, return_sequences=True)(x),
                LSTM(4, return_sequences=True, go_backwards=True)(x)][:n]
    seq = MERGES[kind](name="merged")(branches)
    last = MERGES[kind]()([LSTM(4)(x), GRU(4)(x)][:n] if n == 2
                          else [LSTM(4)(x), GRU(4)(x), LSTM(4)(seq)])
    proto = roundtrip(Model(x, [seq, last]), tmp_path, steps=(5, 9))
    op = {"add": "Add", "average": "Add", "multiply": "Mul", "maximum": "Max",
          "minimum": "Min"}[kind]
    assert _emitted_by(proto, "merged").count(op) == n - 1      # a left fold, as rnnlens


@pytest.mark.parametrize("kind", ["add", "subtract", "multiply", "maximum", "average"])
def test_merges_broadcast_lower_rank_after_the_batch(kind: str, tmp_path: Path) -> None:
    """(B, F) with (B, T, F): Keras inserts the missing axis after the batch."""
    x = Input((6, 3))
    seq = LSTM(4, return_sequences=True)(x)
    last = GRU(4)(x)
    cls = Subtract if kind == "subtract" else MERGES[kind]
    roundtrip(Model(x, [cls()([seq, last]), cls()([last, seq])]), tmp_path)


def test_subtract(tmp_path: Path) -> None:
    x = Input((6, 3))
    y = Subtract()([LSTM(4, return_sequences=True)(x), GRU(4, return_sequences=True)(x)])
    roundtrip(Model(x, LSTM(2)(y)), tmp_path)


def _dot_pairs(a: Any, b: Any) -> list[tuple[int, int]]:
    return [(i, j) for i in range(1, len(a.shape)) for j in range(1, len(b.shape))
            if a.shape[i] == b.shape[j]]


@given(ranks=st.sampled_from([(3, 3), (2, 2), (3, 2), (2, 3), (4, 3), (3, 4)]),
       pick=st.integers(0, 50), form=st.sampled_from(["int", "pair"]), normalize=st.booleans(),
       dynamic=st.booleans())
@HYPOTHESIS
def test_dot(tmp_path: Path, ranks: tuple, pick: int, form: str, normalize: bool,
             dynamic: bool) -> None:
    """Dot over any axis pair of equal size, inputs of ranks 2 to 4, known or unknown steps."""
    x = Input((None if dynamic else 4, 3))
    shapes = {2: lambda s: LSTM(4)(x), 3: lambda s: s,                   # (B, 4), (B, T, 4)
              4: lambda s: Reshape((-1, 4, 1))(s)}                      # (B, T, 4, 1)
    a = shapes[ranks[0]](LSTM(4, return_sequences=True)(x))
    b = shapes[ranks[1]](GRU(4, return_sequences=True)(x))
    pairs = _dot_pairs(a, b)
    i, j = pairs[pick % len(pairs)]
    axes: Any = (i, j)
    if form == "int" and i == j:
        axes = i
    elif form == "int" and (i, j) == (len(a.shape) - 1, len(b.shape) - 1):
        axes = -1
    y = Dot(axes=axes, normalize=normalize)([a, b])
    outs = [y] + ([LSTM(2)(y)] if len(y.shape) == 3 and y.shape[-1] is not None else [])
    roundtrip(Model(x, outs), _fresh(tmp_path, "dot"), steps=(4, 4))


def test_dot_normalize_zero_vector(tmp_path: Path) -> None:
    """A zero vector normalizes to zero (min(rsqrt(0), 1e7) = 1e7, times 0)."""
    x = Input((4, 3))
    y = Dot(axes=-1, normalize=True)([x, LSTM(3, return_sequences=True)(x)])
    model = Model(x, y)
    randomize(model)
    data = np.random.default_rng(0).normal(size=(3, 4, 3)).astype(np.float32)
    data[1, 2] = 0.0
    got = session(export(model, tmp_path)).run(None, {x.name: data})
    compare(got, [model.predict(data)], ["dot"], "dot_zero")
    assert got[0][1, 2].tolist() == [0.0] * 4


# -- normalization ----------------------------------------------------------------------------


@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False),
                                          (False, False)])
@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_batch_normalization(axis: int, center: bool, scale: bool, tmp_path: Path) -> None:
    x = Input((5, 3))
    seq = LSTM(4, return_sequences=True)(x)
    y = BatchNormalization(axis=axis, center=center, scale=scale, epsilon=0.01)(seq)
    last = BatchNormalization(center=center, scale=scale)(GRU(3)(y))
    proto = roundtrip(Model(x, [y, last]), tmp_path)
    assert "BatchNormalization" not in op_types(proto)           # folded into Mul, Add


def test_batch_normalization_renorm_and_frozen_training(tmp_path: Path) -> None:
    """Inference uses the moving statistics, renorm or not; a frozen layer called with
    training=True runs at inference too (Keras 3)."""
    x = Input((5, 3))
    y = BatchNormalization(renorm=True)(LSTM(4, return_sequences=True)(x))
    frozen = BatchNormalization(axis=1, name="frozen")
    frozen.trainable = False
    z = frozen(y, training=True)
    roundtrip(Model(x, LSTM(2)(z)), tmp_path)


def test_refuses_batch_normalization_in_training_mode(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = BatchNormalization(name="bn_train")(LSTM(4, return_sequences=True)(x), training=True)
    refuses(Model(x, y), tmp_path, "Layer 'bn_train' (BatchNormalization)", "training=True")


@pytest.mark.parametrize("opset", [13, 17, 18])
@pytest.mark.parametrize("axis", [-1, 2, 1, (1, 2), (-2, -1)])
@pytest.mark.parametrize("flags", ["plain", "no_center", "no_scale", "rms", "neither"])
def test_layer_normalization(axis: Any, flags: str, opset: int, tmp_path: Path) -> None:
    x = Input((5, 3))
    kw = {"plain": {}, "no_center": {"center": False}, "no_scale": {"scale": False},
          "rms": {"rms_scaling": True}, "neither": {"center": False, "scale": False}}[flags]
    seq = LSTM(4, return_sequences=True)(x)
    y = LayerNormalization(axis=list(axis) if isinstance(axis, tuple) else axis,
                           epsilon=0.01, name="ln", **kw)(seq)
    proto = roundtrip(Model(x, [y, LSTM(3)(y)]), tmp_path, opset=opset)
    trailing = axis in (-1, 2, (1, 2), (-2, -1))
    native = trailing and opset >= 17 and flags != "rms"
    assert ("LayerNormalization" in _emitted_by(proto, "ln")) == native


@pytest.mark.parametrize("opset", [13, 17])
def test_layer_normalization_offset_inputs(opset: int, tmp_path: Path) -> None:
    """Inputs with mean 10 and std 0.1: float32 rounding of the mean alone moves the
    result by ~1e-5, in rnnlens as in ONNX Runtime (both operations and ONNX's operator);
    each stays that close to the float64 value and to the other."""
    x = Input((4, 64))
    y = LayerNormalization(name="ln")(x)
    model = Model(x, y)
    path = export(model, tmp_path, opset=opset)
    data = (np.random.default_rng(0).normal(size=(20, 4, 64)) * 0.1 + 10.0).astype(np.float32)
    got, expected = session(path).run(None, {x.name: data})[0], model.predict(data)
    d = data.astype(np.float64)
    exact = (d - d.mean(-1, keepdims=True)) / np.sqrt(d.var(-1, keepdims=True) + 1e-3)
    assert np.abs(expected - exact).max() < 3e-5                 # rnnlens's own rounding
    assert np.abs(got - exact).max() < 3e-5
    compare([got], [expected], ["ln"], f"ln_offset_{opset}", atol=4e-5)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2), (0, 2)])
def test_unit_normalization(axis: Any, tmp_path: Path) -> None:
    x = Input((5, 3))
    seq = LSTM(4, return_sequences=True)(x)
    y = UnitNormalization(axis=list(axis) if isinstance(axis, tuple) else axis)(seq)
    z = UnitNormalization()(x)
    model = Model(x, [y, LSTM(2)(y), z])
    roundtrip(model, tmp_path)
    data = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    data[0, 1] = 0.0                                             # an all-zero slice stays 0
    got = session(tmp_path / "model.onnx").run(None, {x.name: data})
    compare(got, list(model.predict(data)), ["y", "lstm", "z"], "unit_zero")
    assert not np.isnan(got[2]).any()


# -- TimeDistributed around other layers ------------------------------------------------------


def test_time_distributed_around_non_recurrent_layers(tmp_path: Path) -> None:
    x = Input((None, 2, 3))
    y = TimeDistributed(Flatten())(x)                            # (B, T, 6)
    y = TimeDistributed(Activation("softsign"))(LSTM(5, return_sequences=True)(y))
    y = TimeDistributed(BatchNormalization())(y)
    z = TimeDistributed(TimeDistributed(Dense(3)))(x)            # (B, T, 2, 3)
    z = TimeDistributed(LayerNormalization())(z)
    roundtrip(Model(x, [LSTM(2)(y), z]), tmp_path, steps=(3, 6))


def test_time_distributed_around_recurrent_layers(tmp_path: Path) -> None:
    """TimeDistributed(Bidirectional(GRU)) / (LSTM): the steps folded into the batch."""
    x = Input((2, 5, 3))
    y = TimeDistributed(Bidirectional(GRU(2)), name="td_bi")(x)
    z = TimeDistributed(LSTM(3, return_sequences=True, go_backwards=True))(x)
    roundtrip(Model(x, [y, z]), tmp_path)


# -- Keras 2's cuDNN layers -----------------------------------------------------------------


def test_cudnn_layers_export_as_lstm_and_gru(tmp_path: Path) -> None:
    """CuDNNLSTM / CuDNNGRU (Keras 2 files) hold converted LSTM / reset_after GRU weights."""
    x = Input((6, 3))
    y = CuDNNLSTM(4, return_sequences=True, go_backwards=True)(x)
    z, h = CuDNNGRU(3, return_state=True)(y)
    w = Bidirectional(CuDNNLSTM(2))(x)
    proto = roundtrip(Model(x, [y, z, h, w]), tmp_path)
    assert op_types(proto).count("LSTM") == 2 and op_types(proto).count("GRU") == 1


# -- opsets and refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("opset", [13, 15, 17, 18, 21, 23])
def test_opsets(opset: int, tmp_path: Path) -> None:
    x = Input((None, 4))
    seq = LSTM(6, return_sequences=True)(x)
    a = LayerNormalization()(Dropout(0.2)(seq))
    b = UnitNormalization(axis=1)(Activation("sparsemax")(seq))
    c = Dot(axes=1, normalize=True)([a, b])
    d = Reshape((-1, 3))(Add()([a, BatchNormalization()(b)]))
    proto = roundtrip(Model(x, [c, LSTM(2)(d), Flatten()(c)]), tmp_path, opset=opset,
                      steps=(4, 8))
    assert proto.opset_import[0].version == opset


def test_refuses_unsupported_layers_listing_what_is_exported(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = Lambda(lambda t: t * 2.0, name="twice")(LSTM(4, return_sequences=True)(x))
    message = refuses(Model(x, y), tmp_path, "Layer 'twice' (Lambda)",
                      "is not supported by ONNX export")
    for name in ("LSTM", "Conv1D", "BatchNormalization", "Dot", "Dropout", "Activation"):
        assert name in message
    assert "Embedding" in message.split("Supported:")[1]
    assert "NotEqual" not in message.split("Supported:")[1]       # op nodes are not listed


# -- the activation layers ---------------------------------------------------------------------

ACTIVATION_LAYERS = [
    ("relu", lambda: L.ReLU()), ("relu6", lambda: L.ReLU(max_value=6)),
    ("relu_all", lambda: L.ReLU(max_value=2.5, negative_slope=0.1, threshold=0.3)),
    ("relu_leaky", lambda: L.ReLU(negative_slope=0.2)),
    ("relu_threshold", lambda: L.ReLU(threshold=0.5)), ("relu_cap", lambda: L.ReLU(max_value=1)),
    ("leaky", lambda: L.LeakyReLU()), ("leaky_005", lambda: L.LeakyReLU(0.05)),
    ("prelu", lambda: L.PReLU()), ("prelu_shared", lambda: L.PReLU(shared_axes=[1])),
    ("elu", lambda: L.ELU()), ("elu_half", lambda: L.ELU(0.5)),
    ("softmax", lambda: L.Softmax()), ("softmax_1", lambda: L.Softmax(axis=1)),
    ("softmax_12", lambda: L.Softmax(axis=[1, 2])),
]


@pytest.mark.parametrize("make", [m for _, m in ACTIVATION_LAYERS],
                         ids=[i for i, _ in ACTIVATION_LAYERS])
def test_activation_layers(make: Callable[[], Any], tmp_path: Path) -> None:
    """ReLU / LeakyReLU / PReLU / ELU / Softmax on values around their kinks."""
    x = Input((5, 4))
    roundtrip(Model(x, make()(x)), tmp_path, data_scale=3.0)


def test_softmax_layer_with_a_mask(tmp_path: Path) -> None:
    x, m = Input((None, 6)), Input((1, None), dtype="bool")
    model = Model([x, m], L.Softmax()(x, mask=m))
    randomize(model)
    path = export(model, tmp_path)
    rng = np.random.default_rng(4)
    feeds = [rng.normal(size=(3, 4, 6)).astype(np.float32), rng.random((3, 1, 6)) > 0.4]
    got = session(path).run(None, {t.name: f for t, f in zip(model.inputs, feeds)})
    compare(got, [model.predict(feeds, verbose=0)], ["softmax"], "masked_softmax")
