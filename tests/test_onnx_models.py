"""ONNX export of whole recurrent models with Keras masks, against ONNX Runtime.

The common model ``Embedding(mask_zero=True) -> LSTM / Bidirectional(LSTM) / GRU stacks
-> Dense / TimeDistributed(Dense)`` and its relatives (classifiers, encoder-decoders with
the states handed over, multi-output models, Masking on float sequences) run in ONNX
Runtime on batches padded on the right, on the left and in the middle (and a fully
padded row), and must give ``model.predict``'s numbers (which are Keras's) within 1e-5,
output by output. A Keras-3-saved ``.keras`` file of such a model is exported and
compared with Keras's own predictions. Hypothesis draws arbitrary padding patterns.
Masked recurrent layers must be written as a ``Scan`` (ONNX's ``sequence_lens`` only
describes right padding); unmasked ones keep ONNX's own operators.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _onnx_support import (PADDINGS, VOCAB, classifier, encoder_decoder,  # noqa: E402
                           export, multi_output, op_types, padded_floats, padded_ids,
                           randomize, refuses, session, tagger)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import rnnlens  # noqa: E402
from conftest import record_kind  # noqa: E402
from oracle import keras_available  # noqa: E402
from rnnlens.interop.onnx import activations as onnx_acts  # noqa: E402
from rnnlens.layers import (GRU, LSTM, Bidirectional, Dense, Embedding,  # noqa: E402
                            Input, Lambda, Masking, SimpleRNN, TimeDistributed)
from rnnlens.models import Model  # noqa: E402

ATOL = 1e-5
KINDS = ["lstm", "gru", "gru_reset_before", "simple_rnn"]
NATIVE = {"LSTM", "GRU", "RNN"}


def _flat(value: Any) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _flat(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _flat(v)]
    return [value]


def check(got: list, expected: Any, kind: str) -> None:
    """Every ONNX output against the expected (nested) outputs, recorded per kind."""
    expected = _flat(expected)
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        record_kind("onnx models (onnxruntime)", kind, g, np.asarray(e),
                    f"{kind}/output {k}", ATOL)


def run(model: Any, tmp_path: Path, feeds: list[np.ndarray], kind: str, seed: int = 0,
        weights: bool = True) -> Any:
    """Exports ``model`` (random weights), runs ``feeds`` in ONNX Runtime, compares with
    ``predict``; returns the ONNX model."""
    if weights:
        randomize(model, seed)
    path = export(model, tmp_path)
    got = session(path).run(None, {t.name: f for t, f in zip(model.inputs, feeds)})
    check(got, model.predict(feeds if len(feeds) > 1 else feeds[0], verbose=0), kind)
    return onnx.load(str(path))


def scan_ops(proto: Any) -> tuple[int, set[str]]:
    ops = op_types(proto)
    return ops.count("Scan"), NATIVE & set(ops)


# -- the common model, every padding ------------------------------------------------------


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("kind", KINDS)
def test_tagger_paddings(kind: str, padding: str, tmp_path: Path) -> None:
    model = tagger(rnnlens, kind)
    proto = run(model, tmp_path, [padded_ids(padding, seed=len(padding))], f"tagger/{kind}")
    scans, native = scan_ops(proto)
    assert scans == 3 and not native         # the masked path for all three layers


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
def test_bidirectional_merge_modes(merge_mode: Any, tmp_path: Path) -> None:
    model = tagger(rnnlens, "lstm", merge_mode=merge_mode, head="dense")
    run(model, tmp_path, [padded_ids("mixed", batch=6, steps=9, seed=3)], "bidirectional")


@pytest.mark.parametrize("kind", KINDS)
def test_classifier_last_outputs(kind: str, tmp_path: Path) -> None:
    """return_sequences=False after a masked stack: the last *real* step's output."""
    model = classifier(rnnlens, kind)
    for k, padding in enumerate(("right", "left", "mixed")):
        (tmp_path / padding).mkdir()
        run(model, tmp_path / padding, [padded_ids(padding, seed=k)], f"classifier/{kind}",
            weights=k == 0)


@pytest.mark.parametrize("kind,bidirectional", [("lstm", False), ("gru", False),
                                                ("lstm", True), ("simple_rnn", True)])
def test_encoder_decoder_hands_states_over(kind: str, bidirectional: bool,
                                           tmp_path: Path) -> None:
    model = encoder_decoder(rnnlens, kind, bidirectional)
    feeds = [padded_ids("left", seed=4), padded_ids("right", steps=6, seed=5)]
    run(model, tmp_path, feeds, f"encoder_decoder/{kind}")


def test_multi_output_model(tmp_path: Path) -> None:
    model = multi_output(rnnlens)
    proto = run(model, tmp_path, [padded_ids("mixed", steps=8, seed=6)], "multi_output")
    assert [o.name for o in proto.graph.output] == [t.name for t in model.outputs]


def test_no_mask_keeps_the_native_operators(tmp_path: Path) -> None:
    """Without a mask source the same stack uses ONNX's LSTM / GRU operators."""
    x = Input((None, 4))
    h = Bidirectional(LSTM(5, return_sequences=True))(x)
    y = TimeDistributed(Dense(3, activation="softmax"))(GRU(4, return_sequences=True)(h))
    proto = run(Model(x, y), tmp_path, [padded_floats("none", feats=4)], "unmasked")
    scans, native = scan_ops(proto)
    assert scans == 0 and native == {"LSTM", "GRU"}


# -- Masking on float sequences, flags -------------------------------------------------------


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_masking_with_every_flag(go_backwards: bool, zero_output_for_mask: bool,
                                 tmp_path: Path) -> None:
    x = Input((None, 3))
    m = Masking()(x)
    flags = dict(go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
    seq, h, c = LSTM(4, return_sequences=True, return_state=True, **flags)(m)
    last, g = GRU(3, return_state=True, **flags)(seq)
    srnn = SimpleRNN(2, return_sequences=True, unroll=True, **flags)(seq)   # unroll quirk
    model = Model(x, [m, seq, h, c, last, g, srnn])
    run(model, tmp_path, [padded_floats("mixed", steps=8, seed=7)], "masking")


def test_masked_initial_states_and_a_masked_step_first(tmp_path: Path) -> None:
    """Initial states from the graph with leading masked steps: outputs 0 there, as
    TensorFlow (the states are carried)."""
    x, h0, c0 = Input((None, 3)), Input((4,)), Input((4,))
    seq = LSTM(4, return_sequences=True)(Masking()(x), initial_state=[h0, c0])
    rng = np.random.default_rng(8)
    states = [rng.normal(size=(5, 4)).astype(np.float32) for _ in range(2)]
    run(Model([x, h0, c0], seq), tmp_path, [padded_floats("left", seed=8), *states],
        "initial_state")


def test_time_distributed_recurrent_layers(tmp_path: Path) -> None:
    x = Input((3, None, 4))
    y = TimeDistributed(Bidirectional(LSTM(3)))(x)
    z = TimeDistributed(GRU(2, return_sequences=True, go_backwards=True))(x)
    feeds = [np.random.default_rng(9).normal(size=(2, 3, 5, 4)).astype(np.float32)]
    run(Model(x, [y, z]), tmp_path, feeds, "time_distributed")


def test_every_dense_activation_on_a_masked_sequence(tmp_path: Path) -> None:
    names = sorted(set(onnx_acts.ALL) - {"hard_sigmoid_keras2"})
    x = Input((None,), dtype="int32")
    seq = LSTM(6, return_sequences=True)(Embedding(VOCAB, 4, mask_zero=True)(x))
    heads = [TimeDistributed(Dense(4, activation=a))(seq) for a in names]
    heads += [Dense(4, activation=a)(seq) for a in names]
    run(Model(x, heads), tmp_path, [padded_ids("mixed", seed=10)], "dense_activations")


# -- Keras-saved files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Keras 3 saves a tagger, a classifier and a Masking model (random weights)."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras

    made = {}
    folder = tmp_path_factory.mktemp("keras_files")
    x = keras.Input((None, 3))
    seq = keras.layers.LSTM(4, return_sequences=True, go_backwards=True)(
        keras.layers.Masking()(x))
    for name, model in (("tagger", tagger(keras, "lstm")), ("classifier", classifier(keras)),
                        ("masking", keras.Model(x, keras.layers.GRU(3)(seq))),
                        ("encoder_decoder", encoder_decoder(keras, "gru", True, False))):
        rng = np.random.default_rng(len(name))
        model.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype(np.float32)
                           for w in model.get_weights()])
        made[name] = folder / f"{name}.keras"
        model.save(made[name])
    return made


@pytest.mark.parametrize("name", ["tagger", "classifier", "masking", "encoder_decoder"])
def test_keras_saved_file_exports_with_kerass_numbers(name: str, keras_files: dict,
                                                      tmp_path: Path) -> None:
    """The file's graph holds Keras's mask ops (NotEqual, Any) and mask= arguments."""
    import keras

    path = keras_files[name]
    theirs = keras.saving.load_model(path)
    ours = rnnlens.saving.load_model(path)
    sess = session(export(ours, tmp_path))
    for k, padding in enumerate(("right", "left", "middle", "mixed")):
        feeds = [padded_floats(padding, seed=k + j) if name == "masking"
                 else padded_ids(padding, seed=k + j) for j in range(len(ours.inputs))]
        got = sess.run(None, {t.name: f for t, f in zip(ours.inputs, feeds)})
        arg = feeds if len(feeds) > 1 else feeds[0]
        check(got, theirs.predict(arg, verbose=0), f"keras_file/{name}")
        check(got, ours.predict(arg, verbose=0), f"keras_file/{name}")


# -- hypothesis: any padding pattern ------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    made = {}
    for name, model in (("tagger", tagger(rnnlens, "gru", merge_mode="ave")),
                        ("classifier", classifier(rnnlens, "lstm"))):
        randomize(model, 11)
        made[name] = (model, session(export(model, tmp_path_factory.mktemp(name))))
    return made


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keep=st.integers(1, 4).flatmap(lambda b: st.integers(1, 8).flatmap(
    lambda t: st.lists(st.lists(st.booleans(), min_size=t, max_size=t), min_size=b,
                       max_size=b))), seed=st.integers(0, 2 ** 16))
def test_any_padding_pattern(exported: dict, keep: list, seed: int) -> None:
    ids = np.random.default_rng(seed).integers(1, VOCAB, size=np.shape(keep)).astype(np.int32)
    ids = np.where(np.asarray(keep), ids, 0).astype(np.int32)
    for name, (model, sess) in exported.items():
        got = sess.run(None, {model.inputs[0].name: ids})
        check(got, model.predict(ids, verbose=0), f"hypothesis/{name}")


# -- refusals -----------------------------------------------------------------------------------


def test_refusals_name_the_layer(tmp_path: Path) -> None:
    x = Input((None,), dtype="int32")
    e = Embedding(VOCAB, 3, mask_zero=True)(x)
    y = LSTM(3, dropout=0.5, name="noisy")(e, training=True)
    refuses(Model(x, y), tmp_path, "Layer 'noisy'", "training=True")
    x = Input((None,), dtype="int32")
    e = Embedding(VOCAB, 3, mask_zero=True)(x)
    y = Lambda(lambda t: t * 2, name="double")(e)
    refuses(Model(x, LSTM(2)(y)), tmp_path, "Layer 'double' (Lambda)", "not supported")
    x = Input((None,), dtype="int32")
    e = Embedding(VOCAB, 3, mask_zero=True)(x)
    y = SimpleRNN(3, activation=lambda t: t, name="own")(e)
    refuses(Model(x, y), tmp_path, "Layer 'own'", "activation=")
