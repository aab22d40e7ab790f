"""ONNX export of ConvLSTM1D/2D/3D (a Scan) and the attention layers, against ONNX Runtime.

ConvLSTM: every rank and data format, strides / dilation / padding, return_sequences,
return_state, go_backwards, activations (softmax along the data format's last axis),
masks from a bool input with zero_output_for_mask and initial states from the graph.
Attention / AdditiveAttention (dot and concat scores, scale, causal masks, returned
scores) and MultiHeadAttention (heads, value_dim, output_shape, gate, bias, sliding
window, causal and attention_mask, both masked-softmax paths) with Keras masks from
``Embedding(mask_zero=True)``, and an attention encoder-decoder saved by Keras 3
compared with Keras's predictions. ONNX Runtime must give ``predict``'s numbers within
1e-5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _onnx_support import (VOCAB, compare, export, op_types, padded_ids,  # noqa: E402
                           randomize, refuses, register_summary, session)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import rnnlens  # noqa: E402
from oracle import keras_available  # noqa: E402
from rnnlens.layers import (LSTM, AdditiveAttention, Attention, ConvLSTM1D,  # noqa: E402
                            ConvLSTM2D, ConvLSTM3D, Embedding, Input, MultiHeadAttention)
from rnnlens.models import Model  # noqa: E402

ATOL = 1e-5
HYPOTHESIS = settings(max_examples=20, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Any:
    register_summary(request)
    yield


def _fresh(tmp_path: Path) -> Path:
    k = 0
    while (tmp_path / f"case{k}").exists():
        k += 1
    (tmp_path / f"case{k}").mkdir()
    return tmp_path / f"case{k}"


def run(model: Any, feeds: list, tmp_path: Path, where: str, weights: bool = True) -> Any:
    if weights:
        randomize(model, 0, scale=0.5)
    path = export(model, _fresh(tmp_path))
    got = session(path).run(None, {t.name: f for t, f in zip(model.inputs, feeds)})
    expected = model.predict(feeds if len(feeds) > 1 else feeds[0], verbose=0)
    expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    compare(got, expected, [o.name for o in model.outputs], where, ATOL)
    return onnx.load(str(path))


def _outs(y: Any) -> Any:
    return list(y) if isinstance(y, (list, tuple)) else y


# -- ConvLSTM ---------------------------------------------------------------------------------

CONV_LSTM = {1: (ConvLSTM1D, (7,)), 2: (ConvLSTM2D, (6, 5)), 3: (ConvLSTM3D, (4, 3, 5))}


@HYPOTHESIS
@given(rank=st.sampled_from([1, 2, 3]), data_format=st.sampled_from(["channels_last",
                                                                    "channels_first"]),
       geometry=st.sampled_from([{}, {"strides": 2}, {"dilation_rate": 2, "padding": "same"},
                                 {"padding": "same"}]), kernel=st.integers(1, 3),
       flags=st.sampled_from([{}, {"return_sequences": True}, {"return_state": True},
                              {"go_backwards": True, "return_sequences": True}]),
       activations=st.sampled_from([("tanh", "sigmoid"), ("relu", "hard_sigmoid"),
                                    ("softmax", "sigmoid")]))
def test_conv_lstm(rank: int, data_format: str, geometry: dict, kernel: int, flags: dict,
                   activations: tuple, tmp_path: Path) -> None:
    cls, spatial = CONV_LSTM[rank]
    shape = (None, *spatial, 2) if data_format == "channels_last" else (None, 2, *spatial)
    x = Input(shape)
    y = cls(3, kernel, data_format=data_format, activation=activations[0],
            recurrent_activation=activations[1], **geometry, **flags)(x)
    data = np.random.default_rng(rank).normal(size=(2, 4, *shape[1:])).astype(np.float32)
    proto = run(Model(x, _outs(y)), [data], tmp_path, f"conv_lstm{rank}d")
    assert "Scan" in op_types(proto)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_lstm_masks_and_initial_states(data_format: str, tmp_path: Path) -> None:
    shape = (None, 6, 5, 2) if data_format == "channels_last" else (None, 2, 6, 5)
    state = (6, 5, 3) if data_format == "channels_last" else (3, 6, 5)
    x, mask = Input(shape), Input((None,), dtype="bool")
    h0, c0 = Input(state), Input(state)
    y = ConvLSTM2D(3, 3, data_format=data_format, padding="same", return_sequences=True,
                   zero_output_for_mask=True)(x, mask=mask, initial_state=[h0, c0])
    z, h, c = ConvLSTM2D(2, 2, data_format=data_format, return_state=True,
                         go_backwards=True)(x, mask=mask)
    rng = np.random.default_rng(3)
    keep = np.array([[1, 1, 0, 0, 1], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], bool)
    feeds = [rng.normal(size=(3, 5, *shape[1:])).astype(np.float32), keep,
             rng.normal(size=(3, *state)).astype(np.float32),
             rng.normal(size=(3, *state)).astype(np.float32)]
    run(Model([x, mask, h0, c0], [y, z, h, c]), feeds, tmp_path, "conv_lstm_masked")


def test_conv_lstm_refuses_stateful(tmp_path: Path) -> None:
    x = Input((4, 5, 2), batch_size=2)
    y = ConvLSTM1D(2, 2, stateful=True, name="keeper")(x)
    refuses(Model(x, y), tmp_path, "Layer 'keeper' (ConvLSTM1D)", "stateful=True")


# -- Attention, AdditiveAttention -------------------------------------------------------------


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", ["dot", "dot_scaled", "concat", "concat_scaled", "additive",
                                  "additive_unscaled"])
def test_attention_with_keras_masks(kind: str, causal: bool, tmp_path: Path) -> None:
    a, b = Input((None,), dtype="int32"), Input((None,), dtype="int32")
    q = Embedding(VOCAB, 4, mask_zero=True)(a)
    v = Embedding(VOCAB, 4, mask_zero=True)(b)
    if kind.startswith("additive"):
        layer = AdditiveAttention(use_scale=kind == "additive")
    else:
        layer = Attention(use_scale=kind.endswith("scaled"), score_mode=kind.split("_")[0])
    out, scores = layer([q, v, v], return_attention_scores=True, use_causal_mask=causal)
    model = Model([a, b], [out, scores, LSTM(3)(out)])               # the query mask flows on
    run(model, [padded_ids("mixed", steps=6), padded_ids("middle", steps=5, seed=3)],
        tmp_path, f"attention/{kind}")


# -- MultiHeadAttention -------------------------------------------------------------------------

MHA_CASES = [
    ({}, {}),
    ({"use_gate": True, "value_dim": 3, "output_shape": (2, 3)},
     {"return_attention_scores": True}),
    ({"sliding_window": 2}, {"use_causal_mask": True}),
    ({"dropout": 0.1, "use_bias": False}, {}),
    ({"num_heads": 1, "key_dim": 5}, {"return_attention_scores": True,
                                      "use_causal_mask": True}),
]


@pytest.mark.parametrize("config,call", MHA_CASES, ids=[str(k) for k in range(len(MHA_CASES))])
def test_multi_head_attention(config: dict, call: dict, tmp_path: Path) -> None:
    config = {"num_heads": 2, "key_dim": 3, **config}
    a, b = Input((None,), dtype="int32"), Input((None,), dtype="int32")
    q = Embedding(VOCAB, 4, mask_zero=True)(a)
    v = Embedding(VOCAB, 5, mask_zero=True)(b)
    y = MultiHeadAttention(**config)(q, v, **call)
    run(Model([a, b], _outs(y)), [padded_ids("mixed", steps=6),
                                  padded_ids("left", steps=5, seed=3)], tmp_path, "mha/masks")
    x, am = Input((None, 4)), Input((None, None), dtype="bool")
    key = Input((None, 3))
    y = MultiHeadAttention(**config)(x, x, key=key, attention_mask=am, **call)
    rng = np.random.default_rng(5)
    feeds = [rng.normal(size=(5, 6, 4)).astype(np.float32), rng.random((5, 6, 6)) > 0.3,
             rng.normal(size=(5, 6, 3)).astype(np.float32)]
    run(Model([x, am, key], _outs(y)), feeds, tmp_path, "mha/attention_mask")


def test_multi_head_attention_refusals(tmp_path: Path) -> None:
    x = Input((3, 4, 5))
    y = MultiHeadAttention(2, 3, attention_axes=(1, 2), name="grid")(x, x)
    refuses(Model(x, y), tmp_path, "Layer 'grid' (MultiHeadAttention)", "attention_axes")
    x = Input((None, 4))
    y = MultiHeadAttention(2, 3, dropout=0.2, name="noisy")(x, x, training=True)
    refuses(Model(x, y), tmp_path, "Layer 'noisy'", "training=True")


# -- an attention encoder-decoder saved by Keras ------------------------------------------------


def _seq2seq(lib: Any) -> Any:
    L = lib.layers
    enc_in = lib.Input((None,), dtype="int32", name="source")
    dec_in = lib.Input((None,), dtype="int32", name="target")
    enc = L.Bidirectional(L.LSTM(4, return_sequences=True))(
        L.Embedding(VOCAB, 5, mask_zero=True)(enc_in))
    dec = L.LSTM(8, return_sequences=True)(L.Embedding(VOCAB, 5, mask_zero=True)(dec_in))
    context = L.Attention()([dec, enc])
    joined = L.Concatenate()([dec, context])
    return lib.Model([enc_in, dec_in], L.TimeDistributed(
        L.Dense(VOCAB, activation="softmax"))(joined))


def test_attention_seq2seq_built_in_rnnlens(tmp_path: Path) -> None:
    feeds = [padded_ids("right", seed=7), padded_ids("mixed", steps=6, seed=8)]
    run(_seq2seq(rnnlens), feeds, tmp_path, "seq2seq")


def _reader(lib: Any) -> Any:
    """Embedding(mask_zero) -> Bidirectional(LSTM) encoder, a masked query read through
    Attention and (on other tensors) MultiHeadAttention, pooled. Two Keras behaviours
    rnnlens does not reproduce are kept out: Keras 3 records Attention's output mask
    through a ``ConvertToTensor`` op, which rnnlens's file reader does not know yet, when
    a masked layer follows; and Keras's MultiHeadAttention removes the masks of its input
    tensors at run time, so another layer reading the same tensors sees none."""
    L = lib.layers
    enc_in = lib.Input((None,), dtype="int32", name="source")
    dec_in = lib.Input((None,), dtype="int32", name="target")
    enc = L.Bidirectional(L.LSTM(4, return_sequences=True))(
        L.Embedding(VOCAB, 5, mask_zero=True)(enc_in))
    dec = L.LSTM(8, return_sequences=True)(L.Embedding(VOCAB, 5, mask_zero=True)(dec_in))
    context = L.Attention(use_scale=True)([dec, enc], use_causal_mask=False)
    heads = L.MultiHeadAttention(2, 3)(L.GRU(4, return_sequences=True)(dec),
                                       L.GRU(3, return_sequences=True)(enc))
    pooled = L.Concatenate()([L.GlobalMaxPooling1D()(context),
                              L.GlobalMaxPooling1D()(heads)])
    return lib.Model([enc_in, dec_in], L.Dense(3, activation="softmax")(pooled))


@pytest.mark.filterwarnings("ignore:Layer 'global_max_pooling1d")     # Keras's own warning
def test_attention_model_saved_by_keras(tmp_path: Path) -> None:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras

    model = _reader(keras)
    rng = np.random.default_rng(9)
    model.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.save(tmp_path / "reader.keras")
    ours = rnnlens.saving.load_model(tmp_path / "reader.keras")
    sess = session(export(ours, _fresh(tmp_path)))
    for k, padding in enumerate(("right", "left", "mixed")):
        feeds = [padded_ids(padding, seed=k), padded_ids("middle", steps=6, seed=k + 1)]
        got = sess.run(None, {t.name: f for t, f in zip(ours.inputs, feeds)})
        compare(got, [model.predict(feeds, verbose=0)], ["y"], f"keras_reader/{padding}",
                ATOL)
        compare(got, [ours.predict(feeds, verbose=0)], ["y"], f"keras_reader/{padding}",
                ATOL)
