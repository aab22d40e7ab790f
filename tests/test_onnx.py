"""ONNX export: ``rnnlens.interop.onnx.to_onnx`` against ONNX Runtime.

Every exported model runs in ONNX Runtime at batch sizes 1 and 5 (the same file) and
must match ``model.predict`` within 1e-5 (``oracle.assert_close``), output by output.
Weights are random (biases included), so a wrong gate order or bias split shows.
Unsupported layers and flags must raise a ValueError naming the layer and the flag,
and write nothing. Skipped when onnx or onnxruntime is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from oracle import assert_close, max_abs_diff  # noqa: E402
from rnnlens.cells import GRUCell, LSTMCell  # noqa: E402
from rnnlens.interop.onnx import to_onnx  # noqa: E402
from rnnlens.layers import (GRU, LSTM, RNN, Bidirectional, Concatenate, Dense,  # noqa: E402
                            Input, RepeatVector, SimpleRNN,
                            TimeDistributed)
from rnnlens.layers.base import flatten  # noqa: E402
from rnnlens.models import Model, Sequential  # noqa: E402

ATOL = 1e-5
WORST: dict[str, Any] = {"diff": 0.0, "where": "", "n": 0}


class _Summary:
    """Prints the worst difference at the end of the run (a plugin registered below)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if WORST["n"]:
            terminalreporter.write_line(
                f"onnx export: {WORST['n']} comparisons with onnxruntime, worst max-abs diff "
                f"{WORST['diff']:.3e} ({WORST['where']})")


@pytest.fixture(scope="module", autouse=True)
def _report_worst(request: pytest.FixtureRequest) -> Any:
    manager = request.config.pluginmanager
    if not manager.has_plugin("rnnlens-onnx-summary"):
        manager.register(_Summary(), "rnnlens-onnx-summary")
    yield


def _randomize(model: Any, seed: int = 0, scale: float = 0.7) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-scale, scale, size=s).astype(np.float32)
                       for s in model.weight_shapes()])


def _session(path: Path) -> Any:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _compare(got: list, expected: list, names: list[str], where: str) -> None:
    assert len(got) == len(expected), f"{len(got)} ONNX outputs, {len(expected)} expected"
    for g, e, name in zip(got, expected, names):
        assert g.shape == e.shape, f"{name}: {g.shape} vs {e.shape}"
        diff = max_abs_diff(g, e)
        WORST["n"] += 1
        if diff > WORST["diff"]:
            WORST["diff"], WORST["where"] = diff, f"{where} / {name}"
        assert_close(g, e, atol=ATOL, name=f"{where}/{name}")


def _export(model: Any, tmp_path: Path, opset: int = 17) -> Path:
    path = tmp_path / "model.onnx"
    assert to_onnx(model, path, opset=opset) == path
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]      # nothing else written
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def roundtrip(model: Any, tmp_path: Path, batches: tuple = (1, 5), steps: tuple = (6, 9),
              opset: int = 17, seed: int = 0, randomize: bool = True, scale: float = 0.7
              ) -> Any:
    """Exports ``model``, runs the file at each batch size, compares with predict.

    A dynamic time axis gets ``steps[k]`` steps in the k-th run.
    """
    if randomize:
        _randomize(model, seed, scale)
    path = _export(model, tmp_path, opset)
    sess = _session(path)
    assert [i.name for i in sess.get_inputs()] == [t.name for t in model.inputs]
    names = [o.name for o in sess.get_outputs()]
    rng = np.random.default_rng(seed + 1)
    for k, batch in enumerate(batches):
        feeds = []
        for t in model.inputs:
            shape = [batch] + [steps[k % len(steps)] if d is None else d for d in t.shape[1:]]
            feeds.append(rng.normal(size=shape).astype(t.dtype))
        expected = model.predict(feeds if len(feeds) > 1 else feeds[0])
        expected = flatten(expected) if isinstance(expected, (list, tuple)) else [expected]
        got = sess.run(None, {t.name: f for t, f in zip(model.inputs, feeds)})
        _compare(got, expected, names, f"{model.name}@batch{batch}")
    return onnx.load(str(path))


def op_types(proto: Any) -> list[str]:
    return [n.op_type for n in proto.graph.node]


# -- one recurrent layer: every flag ----------------------------------------------------------

KINDS: dict[str, Callable[..., Any]] = {
    "lstm": lambda **k: LSTM(4, **k),
    "gru": lambda **k: GRU(4, **k),
    "gru_reset_before": lambda **k: GRU(4, reset_after=False, **k),
    "simple_rnn": lambda **k: SimpleRNN(4, **k),
    "simple_rnn_relu": lambda **k: SimpleRNN(4, activation="relu", **k),
}
OPS = {"lstm": "LSTM", "gru": "GRU", "gru_reset_before": "GRU", "simple_rnn": "RNN",
       "simple_rnn_relu": "RNN"}


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
def test_recurrent_layer(kind: str, return_sequences: bool, return_state: bool,
                         go_backwards: bool, use_bias: bool, tmp_path: Path) -> None:
    x = Input((7, 3))
    out = KINDS[kind](return_sequences=return_sequences, return_state=return_state,
                      go_backwards=go_backwards, use_bias=use_bias)(x)
    model = Model(x, list(out) if return_state else out)
    proto = roundtrip(model, tmp_path)
    assert OPS[kind] in op_types(proto)                         # the native operator
    rnn = next(n for n in proto.graph.node if n.op_type == OPS[kind])
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in rnn.attribute}
    assert attrs["direction"] == (b"reverse" if go_backwards else b"forward")
    if kind.startswith("gru"):
        assert attrs["linear_before_reset"] == (kind == "gru")


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_go_backwards_long_sequence_dynamic_time(kind: str, tmp_path: Path) -> None:
    x = Input((None, 2))
    y, *states = KINDS[kind](return_sequences=True, return_state=True, go_backwards=True)(x)
    model = Model(x, [y, *states])
    roundtrip(model, tmp_path, steps=(1, 23))


@pytest.mark.parametrize("kind", list(KINDS))
def test_initial_state_from_inputs(kind: str, tmp_path: Path) -> None:
    x = Input((5, 3), name="x")
    n = 2 if kind == "lstm" else 1
    states = [Input((4,), name=f"s{k}") for k in range(n)]
    y, *final = KINDS[kind](return_sequences=True, return_state=True)(x, initial_state=states)
    roundtrip(Model([x, *states], [y, *final]), tmp_path)


def test_generic_rnn_around_builtin_cells(tmp_path: Path) -> None:
    x = Input((5, 3))
    a = RNN(LSTMCell(4), return_sequences=True)(x)
    b = RNN(GRUCell(3, reset_after=False), go_backwards=True, return_state=True)(a)
    roundtrip(Model(x, list(b)), tmp_path)


def test_unroll_and_inference_dropout_are_exported(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = LSTM(4, unroll=True, dropout=0.3, recurrent_dropout=0.2, return_sequences=True)(x)
    y = GRU(3, unroll=True, dropout=0.5, go_backwards=True)(y)
    roundtrip(Model(x, y), tmp_path)


# -- activations ----------------------------------------------------------------------------

GATED_ACTIVATIONS = [("tanh", "hard_sigmoid"), ("relu", "sigmoid"), ("linear", "hard_sigmoid"),
                     ("softsign", "softplus"), ("elu", "leaky_relu"),
                     ("hard_sigmoid", "leaky_relu"), ("leaky_relu", "elu"),
                     ("softplus", "relu"), ("hard_sigmoid", "hard_sigmoid")]


@pytest.mark.parametrize("activation,recurrent_activation", GATED_ACTIVATIONS)
@pytest.mark.parametrize("cls", ["lstm", "gru", "gru_reset_before"])
def test_gated_activations(cls: str, activation: str, recurrent_activation: str,
                           tmp_path: Path) -> None:
    x = Input((6, 3))
    kw = dict(activation=activation, recurrent_activation=recurrent_activation,
              return_sequences=True, return_state=True)
    layer = LSTM(4, **kw) if cls == "lstm" else GRU(4, reset_after=(cls == "gru"), **kw)
    # smaller weights: unbounded gates (elu, leaky_relu > 1) would grow values to ~1e2,
    # where float32 rounding alone exceeds 1e-5 absolute
    roundtrip(Model(x, list(layer(x))), tmp_path, scale=0.4)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "hard_sigmoid", "linear",
                                        "softsign", "softplus", "elu", "leaky_relu", None])
def test_simple_rnn_activations(activation: Any, tmp_path: Path) -> None:
    x = Input((6, 3))
    y = SimpleRNN(4, activation=activation, return_sequences=True, go_backwards=True)(x)
    roundtrip(Model(x, y), tmp_path)


def test_bidirectional_alpha_order(tmp_path: Path) -> None:
    """activation_alpha / beta hold one value per activation that takes one, in order."""
    x = Input((6, 3))
    y = Bidirectional(LSTM(4, activation="hard_sigmoid", recurrent_activation="leaky_relu",
                           return_sequences=True), merge_mode=None)(x)
    roundtrip(Model(x, y), tmp_path, scale=0.4)
    x = Input((6, 3))
    fw = GRU(3, activation="elu", recurrent_activation="hard_sigmoid", return_sequences=True)
    bw = GRU(3, activation="linear", recurrent_activation="leaky_relu", return_sequences=True,
             go_backwards=True)
    (tmp_path / "b").mkdir()
    roundtrip(Model(x, Bidirectional(fw, backward_layer=bw)(x)), tmp_path / "b", scale=0.4)


DENSE_ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid", "softmax", "log_softmax", "elu",
                     "selu", "celu", "softplus", "softsign", "hard_sigmoid", "exponential",
                     "leaky_relu", "relu6", "hard_tanh", "silu", "swish", "hard_silu",
                     "hard_swish", "gelu", "mish", "tanh_shrink", "log_sigmoid", "hard_shrink",
                     "soft_shrink", "squareplus", "sparse_plus", "sparse_sigmoid", "glu",
                     "sparsemax", None]


def test_dense_takes_every_activation_layer_activation() -> None:
    """Dense exports every activation the Activation layer does (and nothing less)."""
    from rnnlens.interop.onnx import activations as acts

    assert set(DENSE_ACTIVATIONS) - {None} == set(acts.ALL) - {"hard_sigmoid_keras2"}


@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
def test_dense_activations(activation: Any, tmp_path: Path) -> None:
    x = Input((5, 3))
    seq = LSTM(6, return_sequences=True)(x)
    per_step = TimeDistributed(Dense(4, activation=activation))(seq)
    on_3d = Dense(2, activation=activation, use_bias=False)(seq)     # glu: even units
    last = Dense(4, activation=activation)(LSTM(5)(x))
    roundtrip(Model(x, [per_step, on_3d, last]), tmp_path)


@pytest.mark.parametrize("activation", ["relu6", "hard_tanh", "hard_sigmoid", "hard_shrink",
                                        "soft_shrink", "softmax", "log_softmax", "relu"])
def test_dense_activations_wide_range(activation: str, tmp_path: Path) -> None:
    """Large pre-activations: past the kinks of relu6 / hard_tanh / shrink, softmax saturated."""
    x = Input((4,))
    model = Model(x, Dense(6, activation=activation)(x))
    _randomize(model, scale=3.0)
    path = _export(model, tmp_path)
    data = np.random.default_rng(0).normal(scale=3.0, size=(50, 4)).astype(np.float32)
    got = _session(path).run(None, {x.name: data})
    _compare(got, [model.predict(data)], ["dense"], f"wide_{activation}")


# -- Bidirectional ------------------------------------------------------------------------------


@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before", "simple_rnn"])
def test_bidirectional(kind: str, merge_mode: Any, return_sequences: bool, return_state: bool,
                       tmp_path: Path) -> None:
    x = Input((6, 3))
    out = Bidirectional(KINDS[kind](return_sequences=return_sequences,
                                    return_state=return_state), merge_mode=merge_mode)(x)
    model = Model(x, list(out) if isinstance(out, (list, tuple)) else out)
    proto = roundtrip(model, tmp_path)
    rnn = [n for n in proto.graph.node if n.op_type == OPS[kind]]
    assert len(rnn) == 1
    assert onnx.helper.get_attribute_value(rnn[0].attribute[[a.name for a in rnn[0].attribute]
                                                            .index("direction")]) \
        == b"bidirectional"


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_custom_backward_layer(return_sequences: bool, tmp_path: Path) -> None:
    """Different backward layer type / size: two single-direction operators."""
    x = Input((6, 3))
    fw = LSTM(4, return_sequences=return_sequences, return_state=True)
    bw = LSTM(5, return_sequences=return_sequences, return_state=True, go_backwards=True,
              activation="relu")
    out = Bidirectional(fw, backward_layer=bw)(x)
    proto = roundtrip(Model(x, list(out)), tmp_path)
    assert op_types(proto).count("LSTM") == 2
    x = Input((6, 3))
    fw = GRU(4, return_sequences=return_sequences)
    bw = SimpleRNN(4, return_sequences=return_sequences, go_backwards=True)
    (tmp_path / "gru_rnn").mkdir()
    roundtrip(Model(x, Bidirectional(fw, backward_layer=bw, merge_mode="ave")(x)),
              tmp_path / "gru_rnn")


def test_bidirectional_mixed_bias_and_reset_after(tmp_path: Path) -> None:
    x = Input((6, 3))
    fw = LSTM(4, return_sequences=True, return_state=True)
    bw = LSTM(4, return_sequences=True, return_state=True, go_backwards=True, use_bias=False)
    proto = roundtrip(Model(x, list(Bidirectional(fw, backward_layer=bw)(x))), tmp_path)
    assert op_types(proto).count("LSTM") == 1                   # one op, zero bias for bw
    x = Input((6, 3))
    fw = GRU(4, return_sequences=True)
    bw = GRU(4, return_sequences=True, go_backwards=True, reset_after=False)
    (tmp_path / "gru").mkdir()
    proto = roundtrip(Model(x, Bidirectional(fw, backward_layer=bw, merge_mode="sum")(x)),
                      tmp_path / "gru")
    assert op_types(proto).count("GRU") == 2                    # linear_before_reset differs


@pytest.mark.parametrize("merge_mode", ["concat", "mul", None])
def test_bidirectional_swapped_directions(merge_mode: Any, tmp_path: Path) -> None:
    """layer.go_backwards=True with a forward backward_layer (Keras allows it)."""
    x = Input((6, 3))
    layer = GRU(4, return_sequences=True, go_backwards=True, return_state=True)
    back = GRU(4, return_sequences=True, return_state=True)
    out = Bidirectional(layer, backward_layer=back, merge_mode=merge_mode)(x)
    roundtrip(Model(x, list(out)), tmp_path)


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_bidirectional_initial_state(kind: str, tmp_path: Path) -> None:
    x = Input((6, 3), name="x")
    n = 2 if kind == "lstm" else 1
    states = [Input((4,), name=f"state_{k}") for k in range(2 * n)]
    out = Bidirectional(KINDS[kind](return_sequences=True, return_state=True))(
        x, initial_state=states)
    roundtrip(Model([x, *states], list(out)), tmp_path)


def test_bidirectional_encoder_decoder(tmp_path: Path) -> None:
    enc_in, dec_in = Input((None, 3), name="encoder_in"), Input((None, 2), name="decoder_in")
    _, *states = Bidirectional(LSTM(4, return_state=True), merge_mode="sum")(enc_in)
    seq = Bidirectional(LSTM(4, return_sequences=True))(dec_in, initial_state=states)
    y = TimeDistributed(Dense(3, activation="softmax"))(seq)
    roundtrip(Model([enc_in, dec_in], y), tmp_path, steps=(4, 11))


# -- models ---------------------------------------------------------------------------------


def test_stacked_layers(tmp_path: Path) -> None:
    x = Input((8, 3))
    y = LSTM(5, return_sequences=True)(x)
    y = GRU(4, return_sequences=True, go_backwards=True)(y)
    y = SimpleRNN(3, return_sequences=True)(y)
    y = Bidirectional(GRU(3, reset_after=False))(y)
    roundtrip(Model(x, Dense(2, activation="sigmoid")(y)), tmp_path)


def test_time_distributed_softmax(tmp_path: Path) -> None:
    x = Input((None, 3))
    y = LSTM(6, return_sequences=True)(x)
    roundtrip(Model(x, TimeDistributed(Dense(5, activation="softmax"))(y)), tmp_path,
              steps=(2, 12))


def test_repeat_vector_seq2seq(tmp_path: Path) -> None:
    x = Input((None, 3))
    code = LSTM(6)(x)
    y = RepeatVector(4)(code)
    y = LSTM(6, return_sequences=True)(y)
    y = TimeDistributed(Dense(3, activation="softmax"))(y)
    proto = roundtrip(Model(x, y), tmp_path, steps=(5, 9))
    assert "Expand" in op_types(proto)


def test_concatenate(tmp_path: Path) -> None:
    a, b = Input((5, 3), name="a"), Input((7, 3), name="b")
    ya = LSTM(4, return_sequences=True)(a)
    yb = GRU(4, return_sequences=True, go_backwards=True)(b)
    along_time = Concatenate(axis=1)([ya, yb])                  # (B, 12, 4)
    joined = Concatenate()([LSTM(3)(along_time), SimpleRNN(2)(a), Dense(2)(GRU(2)(b))])
    roundtrip(Model([a, b], [along_time, joined]), tmp_path)


def test_encoder_decoder_with_states(tmp_path: Path) -> None:
    enc_in, dec_in = Input((None, 3), name="encoder_in"), Input((None, 4), name="decoder_in")
    _, h, c = LSTM(6, return_state=True)(enc_in)
    dec, dh, dc = LSTM(6, return_sequences=True, return_state=True)(dec_in, initial_state=[h, c])
    probs = TimeDistributed(Dense(4, activation="softmax"))(dec)
    model = Model([enc_in, dec_in], [probs, dh, dc])
    proto = roundtrip(model, tmp_path, steps=(3, 10))
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in proto.graph.input]
    assert dims == [["batch", "encoder_in_time", 3], ["batch", "decoder_in_time", 4]]


def test_gru_encoder_decoder_positional_initial_state(tmp_path: Path) -> None:
    enc_in, dec_in = Input((5, 3)), Input((4, 3))
    _, h = GRU(5, return_state=True, go_backwards=True)(enc_in)
    dec = GRU(5, return_sequences=True)(dec_in, [h])            # initial_state positionally
    roundtrip(Model([enc_in, dec_in], dec), tmp_path)


def test_sequential(tmp_path: Path) -> None:
    model = Sequential([Input((6, 3)), LSTM(5, return_sequences=True),
                        Bidirectional(GRU(4, return_sequences=True), merge_mode="mul"),
                        TimeDistributed(Dense(3)), SimpleRNN(4), Dense(2, activation="softmax")])
    roundtrip(model, tmp_path)


def test_sequential_with_input_shape(tmp_path: Path) -> None:
    model = Sequential([GRU(4, input_shape=(None, 2), return_sequences=True), LSTM(3)])
    roundtrip(model, tmp_path, steps=(3, 8))


def test_several_inputs_and_outputs_in_a_dict_and_nested_list(tmp_path: Path) -> None:
    a, b = Input((5, 3), name="a"), Input((5, 2), name="b")
    seq, h, c = LSTM(4, return_sequences=True, return_state=True)(a)
    g = GRU(3)(b)
    model = Model([a, b], [seq, [h, Dense(2)(g)], c])
    roundtrip(model, tmp_path)


def test_shared_layer(tmp_path: Path) -> None:
    a, b = Input((5, 3), name="a"), Input((7, 3), name="b")
    shared = LSTM(4)
    dense = Dense(2)
    model = Model([a, b], Concatenate()([dense(shared(a)), dense(shared(b))]))
    proto = roundtrip(model, tmp_path)
    assert len(proto.graph.initializer) < 12                   # weights stored once per layer


def test_nested_model(tmp_path: Path) -> None:
    inner_in = Input((None, 3))
    inner = Model(inner_in, Bidirectional(LSTM(4, return_sequences=True))(inner_in))
    x = Input((6, 3))
    y = GRU(3)(inner(x))
    roundtrip(Model(x, [y, inner(x)]), tmp_path)


def test_output_is_an_input_and_repeated_output(tmp_path: Path) -> None:
    x = Input((5, 3), name="x")
    y = LSTM(4)(x)
    model = Model(x, [y, y, x])
    _randomize(model)
    path = _export(model, tmp_path)
    sess = _session(path)
    names = [o.name for o in sess.get_outputs()]
    assert names == [y.name, f"{y.name}_1", "x_1"]
    data = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    _compare(sess.run(None, {"x": data}), list(model.predict(data)), names, "repeated")


def test_names_and_dynamic_axes(tmp_path: Path) -> None:
    x = Input((None, 3), name="signal")
    y, h, c = LSTM(4, return_state=True, name="encoder")(x)
    model = Model(x, [Dense(2, name="head")(y), h, c])
    _randomize(model)
    proto = onnx.load(str(_export(model, tmp_path)))
    assert [i.name for i in proto.graph.input] == ["signal"]
    assert [o.name for o in proto.graph.output] == ["head", "encoder_1", "encoder_2"]
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "time", 3]
    assert proto.producer_name == "rnnlens"


def test_float64_input_is_cast(tmp_path: Path) -> None:
    x = Input((5, 3), dtype="float64")
    roundtrip(Model(x, LSTM(4)(x)), tmp_path)


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_opsets(opset: int, tmp_path: Path) -> None:
    x = Input((None, 3))
    y = Bidirectional(LSTM(4, return_sequences=True, go_backwards=False), merge_mode="ave")(x)
    y = GRU(3, go_backwards=True, return_sequences=True)(y)
    proto = roundtrip(Model(x, TimeDistributed(Dense(2, activation="softmax"))(y)), tmp_path,
                      opset=opset)
    assert proto.opset_import[0].version == opset


def test_model_trained_weights(tmp_path: Path) -> None:
    """A model after a few training steps exports with its current weights."""
    x = Input((5, 2))
    model = Model(x, Dense(1)(LSTM(4)(x)))
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 5, 2)), rng.normal(size=(16, 1)), epochs=2, verbose=0)
    roundtrip(model, tmp_path, randomize=False)


# -- a single layer ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: LSTM(4, return_sequences=True, return_state=True, go_backwards=True),
    lambda: GRU(3),
    lambda: Bidirectional(SimpleRNN(3, return_sequences=True, return_state=True), merge_mode=None),
])
def test_single_layer(make: Callable[[], Any], tmp_path: Path) -> None:
    layer = make()
    data = np.random.default_rng(0).normal(size=(5, 6, 3)).astype(np.float32)
    layer(data)                                                  # builds it
    rng = np.random.default_rng(1)
    layer.set_weights([rng.uniform(-0.7, 0.7, size=s).astype(np.float32)
                       for s in layer.weight_shapes()])
    nodes = len(layer._inbound_nodes)
    path = _export(layer, tmp_path)
    assert len(layer._inbound_nodes) == nodes                    # the layer is untouched
    sess = _session(path)
    assert [i.name for i in sess.get_inputs()] == [f"{layer.name}_input"]
    names = [o.name for o in sess.get_outputs()]
    for batch, steps in ((1, 2), (5, 9)):
        xb = np.random.default_rng(batch).normal(size=(batch, steps, 3)).astype(np.float32)
        expected = layer(xb)
        expected = flatten(expected) if isinstance(expected, (list, tuple)) else [expected]
        _compare(sess.run(None, {f"{layer.name}_input": xb}), expected, names, layer.name)


# -- refusals ---------------------------------------------------------------------------------


class _UserCell:
    state_size = 3

    def call(self, inputs: Any, states: Any) -> Any:
        h = np.tanh(inputs[:, :3] + states[0])
        return h, [h]


def _refuses(model: Any, tmp_path: Path, *fragments: str, opset: Any = 17) -> str:
    path = tmp_path / "refused.onnx"
    with pytest.raises(ValueError) as info:
        to_onnx(model, path, opset=opset)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert not path.exists() and os.listdir(tmp_path) == []
    return message


def test_refuses_a_constant_mask_and_masked_cudnn(tmp_path: Path) -> None:
    """Masks are exported (tests/test_onnx_models.py); a mask given as an array is not
    part of the graph, and a cuDNN layer refuses masks in rnnlens too."""
    from rnnlens.layers.cudnn import CuDNNLSTM

    x = Input((5, 3))
    y = GRU(4, name="fixed")(x, mask=np.ones((2, 5), bool))
    _refuses(Model(x, y), tmp_path, "'fixed'", "constant mask")
    x, m = Input((5, 3)), Input((5,), dtype="bool")
    y = CuDNNLSTM(4, name="fast")(x, mask=m)
    _refuses(Model([x, m], y), tmp_path, "'fast'", "cuDNN layers do not support masks")


@pytest.mark.parametrize("wrap", [False, True])
def test_refuses_stateful(wrap: bool, tmp_path: Path) -> None:
    x = Input((5, 3), batch_size=2)
    layer = LSTM(4, stateful=True, name="keeper")
    y = (Bidirectional(layer, name="bi_keeper") if wrap else layer)(x)
    _refuses(Model(x, y), tmp_path, "'bi_keeper'" if wrap else "'keeper'", "stateful=True")


def test_zero_output_for_mask_without_a_mask_is_exported(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = LSTM(4, zero_output_for_mask=True, return_sequences=True, name="lstm_z")(x)
    assert "LSTM" in op_types(roundtrip(Model(x, y), tmp_path))     # the native operator


def test_refuses_dropout_in_training_mode(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = SimpleRNN(4, recurrent_dropout=0.3, name="noisy")(x, training=True)
    _refuses(Model(x, y), tmp_path, "'noisy'", "training=True", "recurrent_dropout=0.3")


def test_training_true_without_dropout_is_fine(tmp_path: Path) -> None:
    x = Input((5, 3))
    roundtrip(Model(x, LSTM(4)(x, training=True)), tmp_path)


def test_refuses_user_cells(tmp_path: Path) -> None:
    x = Input((5, 3))
    _refuses(Model(x, RNN(_UserCell(), name="mine")(x)), tmp_path, "'mine'", "user cell",
             "_UserCell")
    x = Input((5, 3))
    y = Bidirectional(RNN(_UserCell()), name="bi_mine")(x)
    _refuses(Model(x, y), tmp_path, "'bi_mine'", "user cell")


def test_refuses_stacked_cells(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = RNN([LSTMCell(3), GRUCell(2)], name="stack")(x)
    _refuses(Model(x, y), tmp_path, "'stack'", "stacked cells")


@pytest.mark.parametrize("make", [
    lambda: LSTM(4, activation="selu", return_sequences=True),
    lambda: GRU(4, recurrent_activation="swish", return_state=True),
    lambda: GRU(4, activation="gelu", reset_after=False, go_backwards=True),
    lambda: SimpleRNN(4, activation="mish"),
    lambda: Bidirectional(LSTM(4, recurrent_activation="gelu", return_sequences=True)),
])
def test_other_recurrent_activations_use_a_scan(make: Callable[[], Any],
                                                tmp_path: Path) -> None:
    """Activations ONNX's operators lack: the loop is written out as a Scan."""
    x = Input((5, 3))
    y = make()(x)
    proto = roundtrip(Model(x, list(y) if isinstance(y, (list, tuple)) else y), tmp_path,
                      scale=0.5)
    assert "Scan" in op_types(proto)
    assert not {"LSTM", "GRU", "RNN"} & set(op_types(proto))


def test_refuses_callable_recurrent_activation(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = SimpleRNN(4, activation=lambda z: z * 2, name="bad")(x)
    _refuses(Model(x, y), tmp_path, "'bad'", "activation=", "does not support it")


def test_refuses_callable_dense_activation(tmp_path: Path) -> None:
    x = Input((5, 3))
    y = TimeDistributed(Dense(4, activation=lambda z: z, name="inner"), name="td")(x)
    _refuses(Model(x, y), tmp_path, "'td'", "activation=", "does not support it")


def test_refuses_time_distributed_model_and_states(tmp_path: Path) -> None:
    inner_in = Input((3,))
    inner = Model(inner_in, Dense(2)(inner_in), name="inner_model")
    x = Input((5, 3))
    _refuses(Model(x, TimeDistributed(inner, name="per_item")(x)), tmp_path, "'per_item'",
             "TimeDistributed(Functional)", "not around a model")


def test_refuses_unbuilt_and_foreign_objects(tmp_path: Path) -> None:
    _refuses(Sequential([LSTM(3)]), tmp_path, "no input shape")
    _refuses(LSTM(3, name="fresh"), tmp_path, "'fresh'", "no weights yet")
    dense = Dense(2, name="lonely")
    dense(np.zeros((1, 3), np.float32))
    _refuses(dense, tmp_path, "'lonely'", "Model(inputs, layer(inputs))")
    _refuses(object(), tmp_path, "to_onnx expects")


@pytest.mark.parametrize("opset", [12, 10_000, "17", True])
def test_refuses_bad_opsets(opset: Any, tmp_path: Path) -> None:
    x = Input((5, 3))
    _refuses(Model(x, LSTM(2)(x)), tmp_path, "opset", opset=opset)


# -- onnx stays optional ----------------------------------------------------------------------


def test_missing_onnx_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    x = Input((5, 3))
    model = Model(x, LSTM(2)(x))
    monkeypatch.setitem(sys.modules, "onnx", None)               # import onnx -> ImportError
    with pytest.raises(ImportError, match="pip install onnx"):
        to_onnx(model, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_importing_the_module_does_not_import_onnx() -> None:
    code = textwrap.dedent("""
        import sys
        sys.modules["onnx"] = None            # as if onnx were not installed
        import rnnlens.interop.onnx as m
        assert callable(m.to_onnx)
        print("ok")
    """)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
