"""``rnnlens.interop.torch.to_torch`` on whole models: one ``torch.nn.Module``, same outputs.

The common model ``Embedding(mask_zero=True) -> LSTM / Bidirectional(LSTM) / GRU stacks
-> Dense / TimeDistributed(Dense)`` and its relatives (classifiers, encoder-decoders
with the states handed over, multi-output dict models, Masking on float sequences,
Conv1D / pooling / normalization models) become a :class:`KerasLikeModel` whose
``forward`` returns ``model(x)``'s structure and numbers (float32, 1e-5) on batches
padded on the right, on the left and in the middle, hypothesis drawing arbitrary
padding patterns. A Keras-3-saved ``.keras`` file is converted and compared with
Keras's predictions. Without a mask the recurrent layers run torch's own RNN modules;
with one, the step loop. Refusals name the layer and its class.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _onnx_support import (PADDINGS, VOCAB, classifier, encoder_decoder,  # noqa: E402
                           multi_output, padded_floats, padded_ids, randomize, tagger)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import rnnlens  # noqa: E402
from conftest import record_kind  # noqa: E402
from oracle import keras_available  # noqa: E402
from rnnlens.interop import torch as interop  # noqa: E402
from rnnlens.interop.onnx import activations as onnx_acts  # noqa: E402
from rnnlens.layers import (GRU, LSTM, Add, AveragePooling1D, BatchNormalization,  # noqa: E402
                            Bidirectional, Concatenate, Conv1D, Dense, Dot, Dropout,
                            Embedding, Flatten, GlobalAveragePooling1D, GlobalMaxPooling1D,
                            Input, Lambda, LayerNormalization, Masking, MaxPooling1D,
                            Maximum, Multiply, Permute, RepeatVector, Reshape, SimpleRNN,
                            TimeDistributed, UnitNormalization)
from rnnlens.models import Model, Sequential  # noqa: E402

ATOL = 1e-5
KINDS = ["lstm", "gru", "gru_reset_before", "simple_rnn"]


def to_np(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: to_np(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_np(v) for v in value)
    return value.detach().cpu().numpy() if torch.is_tensor(value) else value


def nesting(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: nesting(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [nesting(v) for v in value])
    return "leaf"


def _leaves(value: Any) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def check(got: Any, expected: Any, kind: str, structure: bool = True) -> None:
    """Same nesting (list / tuple / dict) and numbers within 1e-5, recorded per kind."""
    got = to_np(got)
    if structure:
        assert nesting(got) == nesting(expected), (nesting(got), nesting(expected))
    for k, (g, e) in enumerate(zip(_leaves(got), _leaves(expected), strict=True)):
        record_kind("torch models", kind, g, np.asarray(e), f"{kind}/output {k}", ATOL)


def run(model: Any, feeds: list[np.ndarray], kind: str, seed: int = 0,
        weights: bool = True) -> Any:
    """Converts ``model`` (random weights), runs ``feeds`` in torch, compares with
    ``model(x)``; returns the module."""
    if weights:
        randomize(model, seed)
    module = interop.to_torch(model)
    assert isinstance(module, torch.nn.Module) and not module.training
    with torch.no_grad():
        got = module(*[torch.from_numpy(f) for f in feeds])
    check(got, model(feeds if len(feeds) > 1 else feeds[0]), kind)
    return module


# -- the common model, every padding ------------------------------------------------------


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("kind", KINDS)
def test_tagger_paddings(kind: str, padding: str) -> None:
    module = run(tagger(rnnlens, kind), [padded_ids(padding, seed=len(padding))],
                 f"tagger/{kind}")
    assert isinstance(module, interop.KerasLikeModel)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
def test_bidirectional_merge_modes(merge_mode: Any) -> None:
    model = tagger(rnnlens, "lstm", merge_mode=merge_mode, head="dense")
    run(model, [padded_ids("mixed", batch=6, steps=9, seed=3)], "bidirectional")


@pytest.mark.parametrize("kind", KINDS)
def test_classifier_last_outputs(kind: str) -> None:
    model = classifier(rnnlens, kind)
    for k, padding in enumerate(("right", "left", "mixed", "none")):
        run(model, [padded_ids(padding, seed=k)], f"classifier/{kind}", weights=k == 0)


@pytest.mark.parametrize("kind,bidirectional", [("lstm", False), ("gru", False),
                                                ("lstm", True), ("simple_rnn", True)])
def test_encoder_decoder_hands_states_over(kind: str, bidirectional: bool) -> None:
    model = encoder_decoder(rnnlens, kind, bidirectional)
    run(model, [padded_ids("left", seed=4), padded_ids("right", steps=6, seed=5)],
        f"encoder_decoder/{kind}")


def test_multi_output_model_keeps_the_dict() -> None:
    run(multi_output(rnnlens), [padded_ids("mixed", steps=8, seed=6)], "multi_output")


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_masking_with_every_flag(go_backwards: bool, zero_output_for_mask: bool) -> None:
    x = Input((None, 3))
    m = Masking()(x)
    flags = dict(go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
    seq, h, c = LSTM(4, return_sequences=True, return_state=True, **flags)(m)
    last, g = GRU(3, return_state=True, **flags)(seq)
    srnn = SimpleRNN(2, return_sequences=True, unroll=True, **flags)(seq)   # unroll quirk
    run(Model(x, [m, seq, (h, c), last, g, srnn]), [padded_floats("mixed", steps=8, seed=7)],
        "masking")


def test_unmasked_recurrent_layers_run_torchs_own_rnn() -> None:
    x = Input((None, 4))
    h = Bidirectional(LSTM(5, return_sequences=True))(x)
    h = GRU(4, return_sequences=True, go_backwards=True)(h)
    y = SimpleRNN(3, activation="relu", return_state=True)(h)
    module = run(Model(x, [*y, Dense(2)(h)]), [padded_floats("none", feats=4)], "unmasked")
    natives = [type(getattr(b, "native", None) or b.forward_layer.native).__name__
               for b in module.blocks if hasattr(b, "run") or hasattr(b, "forward_layer")]
    assert natives == ["LSTM", "GRU", "RNN"]
    # other cells and activations run the step loop (no torch module computes them)
    x = Input((None, 4))
    y = GRU(3, reset_after=False)(LSTM(4, activation="relu", return_sequences=True)(x))
    module = run(Model(x, y), [padded_floats("none", feats=4)], "unmasked")
    assert all(b.native is None for b in module.blocks)


def test_time_distributed_recurrent_layers() -> None:
    x = Input((3, None, 4))
    y = TimeDistributed(Bidirectional(LSTM(3)))(x)
    z = TimeDistributed(GRU(2, return_sequences=True, go_backwards=True))(x)
    run(Model(x, [y, z]), [np.random.default_rng(9).normal(size=(2, 3, 5, 4))
                           .astype(np.float32)], "time_distributed")


def test_every_dense_activation_on_a_masked_sequence() -> None:
    names = sorted(set(onnx_acts.ALL) - {"hard_sigmoid_keras2"})
    x = Input((None,), dtype="int32")
    seq = LSTM(6, return_sequences=True)(Embedding(VOCAB, 4, mask_zero=True)(x))
    heads = [TimeDistributed(Dense(4, activation=a))(seq) for a in names]
    heads += [Dense(4, activation=a)(seq) for a in names]
    run(Model(x, heads), [padded_ids("mixed", seed=10)], "dense_activations")


def test_other_layers_merges_reshaping_normalization_conv() -> None:
    x = Input((None,), dtype="int32")
    e = Embedding(VOCAB, 6, mask_zero=True)(x)
    a = LSTM(4, return_sequences=True)(e)
    b = GRU(4, return_sequences=True, go_backwards=True)(e)
    merged = [Add()([a, b]), Multiply()([a, b]), Maximum()([a, b]), Concatenate()([a, b])]
    normed = LayerNormalization()(BatchNormalization()(Dropout(0.5)(merged[3])))
    pooled = GlobalAveragePooling1D()(UnitNormalization()(normed))       # masked mean
    conv = Conv1D(3, 3, padding="same", activation="relu")(normed)
    c2 = Conv1D(2, 2, padding="causal", dilation_rate=2)(MaxPooling1D(2, padding="same")(conv))
    c3 = AveragePooling1D(3, strides=2, padding="same")(c2)
    dot = Dot(axes=(2, 2), normalize=True)([a, b])
    last = LSTM(3)(a)
    rep = Permute((2, 1))(RepeatVector(4)(last))
    flat = Reshape((2, -1))(Flatten()(rep))
    model = Model(x, [*merged, normed, pooled, c3, GlobalMaxPooling1D()(c2), dot, flat])
    run(model, [padded_ids("mixed", steps=9, seed=12)], "other_layers")


def test_activation_layers() -> None:
    from rnnlens import layers as L

    layers = [L.ReLU(), L.ReLU(max_value=6), L.ReLU(max_value=2.5, negative_slope=0.1,
                                                    threshold=0.3),
              L.ReLU(negative_slope=0.2), L.LeakyReLU(0.05), L.PReLU(shared_axes=[1]),
              L.ELU(), L.ELU(0.5), L.Softmax(axis=1), L.Softmax(axis=[1, 2])]
    x = Input((5, 4))
    data = padded_floats("none", steps=5, feats=4, seed=15) * 3
    run(Model(x, [layer(x) for layer in layers]), [data], "activation_layers")


def test_nested_model_and_sequential() -> None:
    inner_in = Input((None, 6))
    inner = Model(inner_in, LSTM(3, return_sequences=True)(inner_in), name="inner")
    x = Input((None,), dtype="int32")
    y = inner(Embedding(VOCAB, 6)(x))                    # a model's input starts unmasked
    run(Model(x, TimeDistributed(Dense(2))(y)), [padded_ids("right", seed=13)], "nested")
    seq = Sequential([Input((None,), dtype="int32"), Embedding(VOCAB, 5, mask_zero=True),
                      Bidirectional(GRU(3, return_sequences=True)), GRU(2)])
    run(seq, [padded_ids("middle", seed=14)], "sequential")


# -- Keras-saved files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras

    made = {}
    folder = tmp_path_factory.mktemp("keras_files")
    for name, model in (("tagger", tagger(keras, "gru")),
                        ("encoder_decoder", encoder_decoder(keras, "lstm",
                                                            decoder_mask=False))):
        rng = np.random.default_rng(len(name))
        model.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype(np.float32)
                           for w in model.get_weights()])
        made[name] = folder / f"{name}.keras"
        model.save(made[name])
    return made


@pytest.mark.parametrize("name", ["tagger", "encoder_decoder"])
def test_keras_saved_file_converts_with_kerass_numbers(name: str, keras_files: dict) -> None:
    import keras

    theirs = keras.saving.load_model(keras_files[name])
    ours = rnnlens.saving.load_model(keras_files[name])
    module = interop.to_torch(ours)
    for k, padding in enumerate(("right", "left", "middle", "mixed")):
        feeds = [padded_ids(padding, seed=k + j) for j in range(len(ours.inputs))]
        with torch.no_grad():
            got = module(*[torch.from_numpy(f) for f in feeds])
        arg = feeds if len(feeds) > 1 else feeds[0]
        check(got, theirs.predict(arg, verbose=0), f"keras_file/{name}", structure=False)
        check(got, ours.predict(arg, verbose=0), f"keras_file/{name}")


# -- hypothesis: any padding pattern ------------------------------------------------------------


@pytest.fixture(scope="module")
def converted() -> dict[str, Any]:
    made = {}
    for name, model in (("tagger", tagger(rnnlens, "lstm", merge_mode="mul")),
                        ("classifier", classifier(rnnlens, "gru_reset_before"))):
        randomize(model, 21)
        made[name] = (model, interop.to_torch(model))
    return made


@settings(max_examples=25, deadline=None, derandomize=True)
@given(keep=st.integers(1, 4).flatmap(lambda b: st.integers(1, 8).flatmap(
    lambda t: st.lists(st.lists(st.booleans(), min_size=t, max_size=t), min_size=b,
                       max_size=b))), seed=st.integers(0, 2 ** 16))
def test_any_padding_pattern(converted: dict, keep: list, seed: int) -> None:
    ids = np.random.default_rng(seed).integers(1, VOCAB, size=np.shape(keep)).astype(np.int32)
    ids = np.where(np.asarray(keep), ids, 0).astype(np.int32)
    for name, (model, module) in converted.items():
        with torch.no_grad():
            check(module(torch.from_numpy(ids)), model(ids), f"hypothesis/{name}")


# -- the module as a torch module ------------------------------------------------------------


def test_save_load_float64_numpy_inputs_and_gradients() -> None:
    model = encoder_decoder(rnnlens, "gru", bidirectional=True)
    randomize(model, 31)
    feeds = [padded_ids("mixed", seed=31), padded_ids("left", steps=5, seed=32)]
    module = interop.to_torch(model)
    buf = io.BytesIO()
    torch.save(module, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    with torch.no_grad():
        check(loaded(*[torch.from_numpy(f) for f in feeds]), model(feeds), "torch.save")
        check(module(feeds), model(feeds), "numpy inputs")        # one list, arrays
        named = {t.name: f for t, f in zip(model.inputs, feeds)}
        check(module(named), model(feeds), "dict inputs")
    double = interop.to_torch(model, dtype=torch.float64)
    with torch.no_grad():
        out = double(*[torch.from_numpy(f) for f in feeds])
    assert out.dtype == torch.float64
    check(out, model(feeds), "float64")
    module.train()
    module(*[torch.from_numpy(f) for f in feeds]).sum().backward()
    embedding = next(lyr for lyr in model.layers if isinstance(lyr, Embedding))
    assert module.layer(embedding.name).embeddings.grad is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), tuple(torch.from_numpy(f) for f in feeds),
                                 strict=False, check_trace=False)
    with torch.no_grad():
        check(traced(*[torch.from_numpy(f) for f in feeds]), model(feeds), "jit.trace")
    with pytest.raises(ValueError, match="expects 2 input"):
        module(torch.from_numpy(feeds[0]))


# -- refusals -----------------------------------------------------------------------------------


def _refuses(model: Any, *fragments: str) -> None:
    with pytest.raises(ValueError) as info:
        interop.to_torch(model)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_refusals_name_the_layer_and_class() -> None:
    x = Input((None,), dtype="int32")
    e = Embedding(VOCAB, 3, mask_zero=True)(x)
    _refuses(Model(x, Lambda(lambda t: t * 2, name="double")(e)),
             "'double' (Lambda)", "Supported:", "Embedding")
    x = Input((None,), dtype="int32")
    e = Embedding(VOCAB, 3, mask_zero=True)(x)
    _refuses(Model(x, LSTM(3, dropout=0.5, name="noisy")(e, training=True)),
             "'noisy' (LSTM)", "training=True")
    x = Input((None,), dtype="int32")
    e = Embedding(VOCAB, 3, mask_zero=True)(x)
    _refuses(Model(x, Dense(2)(SimpleRNN(3, activation=lambda t: t, name="own")(e))),
             "'own' (SimpleRNN)", "user function")
    x = Input((5,), dtype="int32", batch_size=2)
    e = Embedding(VOCAB, 3)(x)
    _refuses(Model(x, Dense(1)(LSTM(3, stateful=True, name="keeper")(e))),
             "'keeper' (LSTM)", "stateful=True")
    x = Input((None, 3))
    y = TimeDistributed(Lambda(lambda t: t), name="td")(LSTM(2, return_sequences=True)(x))
    _refuses(Model(x, y), "'td' (TimeDistributed)", "Lambda")
    with pytest.raises(ValueError, match="no input shape"):
        interop.to_torch(Sequential([LSTM(3)]))
