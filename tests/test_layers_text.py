"""TextVectorization against live Keras 3.15.1 (TensorFlow backend).

* The string semantics TensorFlow gives Keras's text layers: ASCII-only ``lower``, Keras's
  punctuation regex (its source constant), ASCII-whitespace ``split``, code-point
  ``character`` split, ngrams; checked character by character against ``tf.strings``.
* Hypothesis over random Unicode text and every argument combination: ``adapt``
  vocabularies (order: count, ties by the token, descending) and outputs equal Keras's;
  ``adapt`` on lists, NumPy arrays and ``rnnlens.utils.ArrayDataset`` batches.
* A model TextVectorization -> Embedding(mask_zero=True) -> Bidirectional(LSTM) -> Dense:
  ``predict`` on Python strings / NumPy arrays, ``fit`` history and weights, gradients
  against ``tf.GradientTape``, summary.
* ``.keras`` files both ways (vocabulary in the config, in ``assets/``, TF-IDF weights
  in ``vars/idf_weights``); callables refused on save and never loaded.
* Bad arguments and inputs: a ValueError / TypeError raised by rnnlens (hypothesis fuzz).
"""

from __future__ import annotations

import json
import string
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available
from rnnlens.interop.keras_config import UnsafeModelError
from rnnlens.layers import TextVectorization
from rnnlens.layers.preprocessing import _strings as S
from rnnlens.utils import ArrayDataset

pytestmark = pytest.mark.keras
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


@pytest.fixture(scope="module")
def tf(K: Any) -> Any:
    import tensorflow  # noqa: PLC0415

    return tensorflow


def text_array(items: list[str]) -> np.ndarray:
    out = np.empty(len(items), object)
    out[:] = items
    return out


def keras_out(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


# ---------------------------------------------------------------------------- strings
SAMPLE_CHARS = "".join(chr(c) for c in range(0, 0x250)) + "ΣΑΣ日本語\u1680\u2000\u2028\u3000\ufeff😀"


def test_punctuation_regex_is_keras_constant(K: Any) -> None:
    import inspect

    from keras.src.layers.preprocessing import text_vectorization as tv

    source = inspect.getsource(tv)
    assert f"r'{S.PUNCTUATION_REGEX}'" in source
    assert set(string.punctuation) == {chr(c) for c in range(128)
                                       if __import__("re").fullmatch(S.PUNCTUATION_REGEX,
                                                                     chr(c))}


@pytest.mark.parametrize("mode", ["lower", "strip_punctuation", "lower_and_strip_punctuation"])
def test_standardize_matches_tensorflow_per_character(tf: Any, mode: str) -> None:
    chars = [c for c in SAMPLE_CHARS if not 0xD800 <= ord(c) < 0xE000]
    x = tf.constant([c + "Ab" for c in chars])
    if "lower" in mode:
        x = tf.strings.lower(x)
    if "strip" in mode:
        x = tf.strings.regex_replace(x, S.PUNCTUATION_REGEX, "")
    theirs = [v.decode("utf-8") for v in x.numpy()]
    ours = S.standardize(text_array([c + "Ab" for c in chars]), mode).tolist()
    assert ours == theirs


def test_split_matches_tensorflow(tf: Any) -> None:
    chars = [c for c in SAMPLE_CHARS if not 0xD800 <= ord(c) < 0xE000]
    texts = [f" a{c}b{c}{c}c " for c in chars] + ["", "   ", "x"]
    words = tf.strings.split(tf.constant(texts)).to_list()
    assert S.split(text_array(texts), "whitespace") == [[w.decode() for w in r] for r in words]
    cps = tf.strings.unicode_split(tf.constant(texts), "UTF-8").to_list()
    assert S.split(text_array(texts), "character") == [[w.decode() for w in r] for r in cps]


@pytest.mark.parametrize("widths", [(1,), (2,), (1, 2, 3), (3, 1), (2, 2)])
def test_ngrams_match_tensorflow(tf: Any, widths: tuple) -> None:
    rows = [["a", "b", "c", "d"], ["x"], [], ["p", "q"]]
    theirs = tf.strings.ngrams(tf.ragged.constant(rows, dtype=tf.string), ngram_width=widths,
                               separator=" ").to_list()
    assert S.ngrams(rows, widths, 2) == [[w.decode() for w in r] for r in theirs]
    dense = np.array([["a", "b", "c"], ["d", "e", "f"]], object)
    got = S.dense_ngrams(dense, widths)
    want = tf.strings.ngrams(tf.constant(dense.tolist()), ngram_width=widths,
                             separator=" ").numpy()
    assert got.tolist() == [[w.decode() for w in r] for r in want]


# ---------------------------------------------------------------------------- hypothesis
ALPHABET = "aabbcc AB Ü é ß 日 ,.!?'\t\n\x0b\x1c\xa0\u2003-_"
texts_st = st.lists(st.text(alphabet=ALPHABET, max_size=14), min_size=1, max_size=6)


@st.composite
def tv_options(draw: Any) -> dict:
    mode = draw(st.sampled_from(["int", "multi_hot", "count", "tf_idf"]))
    kw = {"standardize": draw(st.sampled_from([None, "lower", "strip_punctuation",
                                               "lower_and_strip_punctuation"])),
          "split": draw(st.sampled_from(["whitespace", "character", None])),
          "ngrams": draw(st.sampled_from([None, 1, 2, (1, 3), (2,)])),
          "output_mode": mode,
          "max_tokens": draw(st.sampled_from([None, 3, 5, 40]))}
    if mode == "int":
        kw["output_sequence_length"] = draw(st.sampled_from([None, 1, 4]))
    elif kw["max_tokens"] is not None:
        kw["pad_to_max_tokens"] = draw(st.booleans())
    return kw


def _both(K: Any, tf: Any, kw: dict, adapt: list[str], x: list[str]) -> None:
    """Adapts and calls the Keras and the rnnlens layer; equal results or both refuse."""
    theirs = K.layers.TextVectorization(**kw)
    ours = TextVectorization(**kw)
    try:
        theirs.adapt(tf.constant(adapt))
        expected = keras_out(theirs(tf.constant(x)))
    except Exception as err:                  # noqa: BLE001 - Keras raises TF errors
        with pytest.raises((ValueError, TypeError)):
            ours.adapt(text_array(adapt))
            ours(text_array(x))
        return err
    ours.adapt(text_array(adapt))
    assert ours.get_vocabulary() == [str(v) for v in theirs.get_vocabulary()]
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    got = ours(text_array(x))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    return None


@FUZZ
@given(kw=tv_options(), adapt=texts_st, x=texts_st)
def test_text_vectorization_matches_keras(K: Any, tf: Any, kw: dict, adapt: list,
                                          x: list) -> None:
    _both(K, tf, kw, adapt, x)


@pytest.mark.parametrize("kw", [dict(), dict(output_mode="tf_idf", ngrams=2),
                                dict(max_tokens=6, output_mode="count", pad_to_max_tokens=True),
                                dict(split="character", output_sequence_length=12)])
def test_fixed_cases_match_keras(K: Any, tf: Any, kw: dict) -> None:
    adapt = ["The cat sat on the mat.", "A dog! A DOG?", "Ünïcode straße text", "cat cat",
             "tie b a c d", "日本 語"]
    assert _both(K, tf, kw, adapt, adapt + ["", "unseen words here"]) is None


def test_rank_two_and_scalar_inputs(K: Any, tf: Any) -> None:
    adapt = text_array(["a b c", "b c", "c d"])
    for kw, x in [(dict(), np.array([["a b"], ["c"]], object)),
                  (dict(), np.array([[["a b"], ["c"]]], object)),
                  (dict(split=None, ngrams=2), np.array([["a b", "c"], ["c", "x"]], object)),
                  (dict(split=None), text_array(["a b", "c"])),
                  (dict(split=None, output_mode="multi_hot"), text_array(["a b", "c"])),
                  (dict(output_sequence_length=3), np.array("a b c d e", object))]:
        theirs, ours = K.layers.TextVectorization(**kw), TextVectorization(**kw)
        theirs.adapt(adapt)
        ours.adapt(adapt)
        expected = keras_out(theirs(tf.constant(x.tolist())))
        got = ours(x)
        assert got.shape == expected.shape and np.array_equal(got, expected), kw


def test_adapt_forms_agree(K: Any, tf: Any) -> None:
    """A list, a NumPy array and ArrayDataset batches (iterated by both libraries)."""
    texts = ["b a", "a c", "c c d", "e", "b", "a a"]
    reference = K.layers.TextVectorization(output_mode="tf_idf")
    reference.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(4))
    want = [str(v) for v in reference.get_vocabulary()]
    for data in (texts, np.array(texts), ArrayDataset(np.array(texts), batch_size=4)):
        ours = TextVectorization(output_mode="tf_idf")
        ours.adapt(data)
        assert ours.get_vocabulary() == want
        np.testing.assert_allclose(ours(text_array(texts)),
                                   keras_out(reference(tf.constant(texts))), atol=1e-6)
    theirs = K.layers.TextVectorization()
    theirs.adapt(ArrayDataset(np.array(texts), batch_size=2), steps=2)
    ours = TextVectorization()
    ours.adapt(ArrayDataset(np.array(texts), batch_size=2), steps=2)
    assert ours.get_vocabulary() == [str(v) for v in theirs.get_vocabulary()]


def test_vocabulary_api(K: Any, tf: Any, tmp_path: Path) -> None:
    vocab = ["earth", "wind", "and", "fire"]
    for make in (lambda m: m.TextVectorization(vocabulary=vocab, output_sequence_length=4),
                 lambda m: m.TextVectorization(vocabulary=["", "[UNK]"] + vocab)):
        ours, theirs = make(rnnlens.layers), make(K.layers)
        assert ours.get_vocabulary() == theirs.get_vocabulary()
        assert ours.get_vocabulary(include_special_tokens=False) == vocab
        x = ["earth wind and fire", "fire and water"]
        assert np.array_equal(ours(x), keras_out(theirs(tf.constant(x))))
    path = tmp_path / "vocab.txt"
    path.write_text("earth\r\nwind\nand\n", encoding="utf-8")
    ours = TextVectorization(vocabulary=str(path))
    theirs = K.layers.TextVectorization(vocabulary=str(path))
    assert ours.get_vocabulary() == [str(v) for v in theirs.get_vocabulary()]
    assert ours.get_config()["vocabulary"] is None
    ours.set_vocabulary(["x", "y"])
    assert ours.vocabulary_size() == 4
    weighted = TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"],
                                 idf_weights=[0.5, 2.0])
    keras_weighted = K.layers.TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"],
                                                idf_weights=[0.5, 2.0])
    x = ["a b b q", "b"]
    np.testing.assert_allclose(weighted(x), keras_out(keras_weighted(tf.constant(x))))


# ---------------------------------------------------------------------------- models
TEXTS = ["The cat sat on the mat.", "A dog! A DOG?", "Ünïcode straße text", "cat dog cat",
         "", "mat mat dog", "the end"]
Y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0], [1.0]], np.float32)


def text_model(m: Any, **tv_kwargs: Any) -> Any:
    tv = m.layers.TextVectorization(max_tokens=30, output_sequence_length=6, **tv_kwargs)
    tv.adapt(np.array(TEXTS))
    inp = m.Input(shape=(1,), dtype="string")
    x = m.layers.Embedding(30, 4, mask_zero=True)(tv(inp))
    x = m.layers.Bidirectional(m.layers.LSTM(3))(x)
    return m.Model(inp, m.layers.Dense(1)(x))


@pytest.fixture
def twins(K: Any) -> tuple[Any, Any]:
    K.utils.set_random_seed(3)
    theirs = text_model(K)
    ours = text_model(rnnlens)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    return theirs, ours


def test_model_predict_equals_keras(twins: Any, parity: Any) -> None:
    theirs, ours = twins
    want = theirs.predict(text_array(TEXTS), verbose=0)
    parity(ours.predict(TEXTS), want, name="predict(list of str)")
    parity(ours.predict(np.array(TEXTS)), want, name="predict(<U array)")
    parity(ours.predict(np.array(TEXTS)[:, None]), want, name="predict((B, 1))")
    parity(ours(np.array(TEXTS)[:, None]), want, name="call")
    assert ours.layers[1].output.dtype == "int64"


def test_model_fit_and_gradients_equal_keras(K: Any, tf: Any, twins: Any,
                                             parity: Any) -> None:
    from rnnlens.training import gradients

    theirs, ours = twins
    x = np.array(TEXTS)[:, None]
    with tf.GradientTape() as tape:
        loss = K.losses.MeanSquaredError()(Y, theirs(tf.constant(x.tolist())))
    want = tape.gradient(loss, theirs.trainable_weights)
    got = gradients(ours, x, Y, rnnlens.losses.MeanSquaredError())
    assert len(got) == len(want)
    for g, w in zip(got, want):
        parity(np.asarray(g), np.asarray(tf.convert_to_tensor(w)), name="gradient")
    theirs.compile(optimizer=K.optimizers.SGD(0.1), loss="mse")
    ours.compile(optimizer=rnnlens.optimizers.SGD(0.1), loss="mse")
    hk = theirs.fit(text_array(TEXTS), Y, batch_size=3, epochs=3, shuffle=False,
                    verbose=0).history["loss"]
    hr = ours.fit(TEXTS, Y, batch_size=3, epochs=3, shuffle=False, verbose=0).history["loss"]
    parity(np.array(hr), np.array(hk), name="fit history")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        parity(a, np.asarray(b), name="weights after fit")


def test_model_summary_equals_keras(K: Any) -> None:
    """(Without Embedding masks: rnnlens's summary leaves out Keras's NotEqual mask op.)"""
    def build(m: Any) -> Any:
        tv = m.layers.TextVectorization(max_tokens=30, output_sequence_length=6, name="tv")
        tv.adapt(np.array(TEXTS))
        inp = m.Input(shape=(1,), dtype="string", name="text")
        x = m.layers.LSTM(3, name="lstm")(m.layers.Embedding(30, 4, name="emb")(tv(inp)))
        return m.Model(inp, m.layers.Dense(1, name="out")(x), name="m")

    theirs, ours = build(K), build(rnnlens)
    lines_k: list[str] = []
    lines_r: list[str] = []
    theirs.summary(print_fn=lambda s, *a, **k: lines_k.append(s))
    ours.summary(print_fn=lambda s, *a, **k: lines_r.append(s))
    assert "\n".join(lines_r).strip() == "\n".join(lines_k).strip()


# ---------------------------------------------------------------------------- files
FILE_CASES = {
    "int": dict(),
    "tf_idf": dict(output_mode="tf_idf", output_sequence_length=None, ngrams=2),
    "vocab_list": dict(vocabulary=["cat", "dog", "mat"]),
    "character": dict(split="character", standardize="lower"),
}


def file_model(m: Any, kind: str) -> Any:
    kw = dict(FILE_CASES[kind])
    mode = kw.get("output_mode", "int")
    tv = m.layers.TextVectorization(max_tokens=40, **kw) if "vocabulary" in kw else \
        m.layers.TextVectorization(max_tokens=40, **kw)
    if "vocabulary" not in kw:
        tv.adapt(np.array(TEXTS))
    inp = m.Input(shape=(1,), dtype="string")
    x = tv(inp)
    if mode == "int":
        x = m.layers.Embedding(40, 3, mask_zero=True)(x)
        x = m.layers.LSTM(2)(x)
    return m.Model(inp, m.layers.Dense(2)(x))


@pytest.mark.parametrize("kind", sorted(FILE_CASES))
def test_keras_file_loads_in_rnnlens(K: Any, kind: str, tmp_path: Path, parity: Any) -> None:
    K.utils.set_random_seed(5)
    theirs = file_model(K, kind)
    theirs.save(tmp_path / "m.keras")
    ours = rnnlens.models.load_model(tmp_path / "m.keras")
    parity(ours.predict(TEXTS), theirs.predict(text_array(TEXTS), verbose=0), name=kind)
    assert ours.layers[1].get_vocabulary() == [str(v) for v in theirs.layers[1].get_vocabulary()]


@pytest.mark.parametrize("kind", sorted(FILE_CASES))
def test_rnnlens_file_loads_in_keras(K: Any, kind: str, tmp_path: Path, parity: Any) -> None:
    rnnlens.utils.set_random_seed(5)
    ours = file_model(rnnlens, kind)
    ours.save(tmp_path / "m.keras")
    theirs = K.models.load_model(tmp_path / "m.keras")
    parity(theirs.predict(text_array(TEXTS), verbose=0), ours.predict(TEXTS), name=kind)
    again = rnnlens.models.load_model(tmp_path / "m.keras")
    parity(again.predict(TEXTS), ours.predict(TEXTS), name=f"{kind} reloaded")
    names = zipfile.ZipFile(tmp_path / "m.keras").namelist()
    in_assets = "vocabulary" not in FILE_CASES[kind]
    assert ("assets/layers/text_vectorization/vocabulary.txt" in names) == in_assets


def test_callables_are_refused_on_save_and_never_loaded(tmp_path: Path) -> None:
    tv = TextVectorization(standardize=lambda x: x, vocabulary=["a"])
    out = tv(["A b", "a"])
    assert out.tolist() == [[1, 1], [2, 0]]
    inp = rnnlens.Input(shape=(1,), dtype="string")
    model = rnnlens.Model(inp, tv(inp))
    with pytest.raises(ValueError, match="callable"):
        model.save(tmp_path / "c.keras")
    ours = file_model(rnnlens, "vocab_list")
    ours.save(tmp_path / "ok.keras")
    with zipfile.ZipFile(tmp_path / "ok.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["standardize"] = {
        "module": "builtins", "class_name": "function", "config": "eval"}
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(UnsafeModelError, match="never loaded"):
        rnnlens.models.load_model(tmp_path / "bad.keras")
    config["config"]["layers"][1]["config"]["standardize"] = "lower"
    config["config"]["layers"][1]["config"]["vocabulary"] = "/etc/passwd"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad2.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(UnsafeModelError, match="outside the model archive"):
        rnnlens.models.load_model(tmp_path / "bad2.keras")


def test_custom_split_callable() -> None:
    tv = TextVectorization(split=lambda s: [t.split("|") for t in s], standardize=None,
                           vocabulary=["a", "b"])
    assert tv(["a|b|c", "b"]).tolist() == [[2, 3, 1], [3, 0, 0]]


# ---------------------------------------------------------------------------- errors
BAD_ARGS = [dict(standardize="upper"), dict(split=3), dict(ngrams=0), dict(ngrams=[1, 2]),
            dict(output_mode="multi_hot", output_sequence_length=3), dict(sparse=True),
            dict(ragged=True), dict(encoding="latin-1"), dict(output_mode="bag"),
            dict(max_tokens=1), dict(output_sequence_length=-1), dict(vocabulary=5),
            dict(output_mode="tf_idf", vocabulary=["a"]), dict(idf_weights=[1.0]),
            dict(pad_to_max_tokens=True), dict(vocabulary=["a", "a"]),
            dict(vocabulary=["a", "b"], max_tokens=3), dict(vocabulary=[])]


@pytest.mark.parametrize("kw", BAD_ARGS, ids=str)
def test_bad_arguments_are_refused_as_keras_does(K: Any, kw: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        TextVectorization(**kw)
    with pytest.raises(Exception):                          # noqa: B017 - Keras's own kinds
        K.layers.TextVectorization(**kw)(np.array(["a"]))


@pytest.mark.parametrize("x", [np.array([["a", "b"]]), np.array([1.0, 2.0]), [["a"], ["b", "c"]],
                               np.array([b"\xff"], object), [None]], ids=str)
def test_bad_inputs_are_clear_errors(x: Any) -> None:
    tv = TextVectorization(vocabulary=["a"])
    with pytest.raises((ValueError, TypeError)):
        tv(x)


def test_one_hot_with_split_is_refused(K: Any, tf: Any) -> None:
    tv = TextVectorization(output_mode="one_hot", vocabulary=["a"])
    with pytest.raises(ValueError, match="ragged"):
        tv(["a b"])
    x = np.array([["a"], ["b"]], object)
    theirs = K.layers.TextVectorization(output_mode="one_hot", split=None, vocabulary=["a"])
    ours = TextVectorization(output_mode="one_hot", split=None, vocabulary=["a"])
    assert np.array_equal(ours(x), keras_out(theirs(tf.constant(x.tolist()))))


def test_adapting_a_fixed_vocabulary_is_refused() -> None:
    tv = TextVectorization(vocabulary=["a"])
    with pytest.raises(ValueError, match="Cannot adapt"):
        tv.adapt(["a b"])


fuzz_values = st.one_of(st.none(), st.integers(-3, 5), st.floats(allow_nan=True),
                        st.text(max_size=5), st.lists(st.integers(-1, 3), max_size=3),
                        st.sampled_from(["int", "tf_idf", "lower", "whitespace", (1, 2)]))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(kw=st.dictionaries(st.sampled_from(["max_tokens", "standardize", "split", "ngrams",
                                           "output_mode", "output_sequence_length",
                                           "pad_to_max_tokens", "vocabulary", "idf_weights",
                                           "encoding"]), fuzz_values, max_size=4),
       x=st.lists(st.text(max_size=6), min_size=1, max_size=3))
def test_fuzz_arguments_give_results_or_clear_errors(kw: dict, x: list) -> None:
    try:
        tv = TextVectorization(**kw)
        if kw.get("vocabulary") is None:
            tv.adapt(x)
        out = tv(x)
    except (ValueError, TypeError):
        return
    assert isinstance(out, np.ndarray) and out.dtype in (np.int64, np.float32)
