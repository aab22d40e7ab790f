"""StringLookup and IntegerLookup against live Keras 3.15.1 (TensorFlow backend).

* Hypothesis over random vocabularies, ``adapt`` data and every argument combination
  (OOV indices 0-3 hashed by FarmHash / SipHash / floormod, mask tokens, ``max_tokens``,
  ``pad_to_max_tokens``, every ``output_mode``): vocabularies in Keras's order, sizes and
  outputs equal; ``invert`` maps back as Keras does.
* Vocabulary lists (with or without the special tokens), files read as TensorFlow's
  ``TextFileInitializer`` (CRLF, final newline; empty lines, repeats and bad integers
  refused), TF-IDF weights given or adapted.
* ``.keras`` files both ways: vocabularies in the config or in ``assets/``, TF-IDF weights
  in ``vars/idf_weights``.
* Bad arguments and inputs: ValueError / TypeError from rnnlens (hypothesis fuzz).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available
from rnnlens.layers import IntegerLookup, StringLookup

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


def as_np(value: Any) -> np.ndarray:
    arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if arr.dtype == object:
        arr = np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v,
                           otypes=[object])(arr)
    return arr


def plain(vocab: list) -> list:
    return [v if isinstance(v, (str, type(None))) else int(v) for v in vocab]


def check_same(ours: Any, theirs: Any, x: Any, tf: Any) -> None:
    """Equal outputs (or both refuse) for ``x``."""
    try:
        raw = theirs(tf.constant(x))
        want = as_np(raw)
    except Exception:                              # noqa: BLE001 - TF's error kinds
        with pytest.raises((ValueError, TypeError)):
            ours(np.array(x, dtype=object if isinstance(x[0][0], str) else np.int64))
        return
    got = ours(np.array(x, dtype=object if isinstance(x[0][0], str) else np.int64))
    assert got.shape == want.shape
    if got.dtype == object:                       # invert=True: bytes, as tf.string's
        assert got.tolist() == np.asarray(raw.numpy()).tolist()
    else:
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------- hypothesis
words = st.sampled_from(["a", "b", "c", "dd", "Ü", "日", "", "m", "[UNK]", "z z"])


@st.composite
def lookup_options(draw: Any, integers: bool) -> dict:
    mode = draw(st.sampled_from(["int", "one_hot", "multi_hot", "count", "tf_idf"]))
    kw: dict = {"output_mode": mode,
                "num_oov_indices": draw(st.integers(0, 3)),
                "max_tokens": draw(st.sampled_from([None, 3, 5, 9]))}
    if integers:
        kw["mask_token"] = draw(st.sampled_from([None, 0, 7]))
        kw["oov_method"] = draw(st.sampled_from(["floormod", "farmhash"]))
        if kw["oov_method"] == "farmhash":
            kw["salt"] = draw(st.sampled_from([None, 5, (1, 2**40)]))
    else:
        kw["mask_token"] = draw(st.sampled_from([None, "", "m"]))
        kw["oov_token"] = draw(st.sampled_from(["[UNK]", "?"]))
        kw["salt"] = draw(st.sampled_from([None, 3, (7, -1)]))
    if mode != "int" and kw["max_tokens"] is not None:
        kw["pad_to_max_tokens"] = draw(st.booleans())
    return kw


def _adapt_both(ours: Any, theirs: Any, data: Any, tf: Any) -> bool:
    try:
        theirs.adapt(tf.constant(data))
    except Exception:                              # noqa: BLE001
        with pytest.raises((ValueError, TypeError)):
            ours.adapt(data)
        return False
    ours.adapt(data)
    assert plain(ours.get_vocabulary()) == plain(as_np(np.array(
        theirs.get_vocabulary(), dtype=object)).tolist())
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    return True


@FUZZ
@given(kw=lookup_options(integers=False), data=st.lists(words, min_size=1, max_size=12),
       x=st.lists(st.lists(words, min_size=2, max_size=2), min_size=1, max_size=4))
def test_string_lookup_matches_keras(K: Any, tf: Any, kw: dict, data: list, x: list) -> None:
    ours, theirs = StringLookup(**kw), K.layers.StringLookup(**kw)
    if _adapt_both(ours, theirs, data, tf):
        check_same(ours, theirs, x, tf)
        check_same(ours, theirs, [row[:1] for row in x], tf)


@FUZZ
@given(kw=lookup_options(integers=True),
       data=st.lists(st.integers(-5, 12), min_size=1, max_size=12),
       x=st.lists(st.lists(st.integers(-2**40, 2**40) | st.integers(-5, 12), min_size=2,
                           max_size=2), min_size=1, max_size=4))
def test_integer_lookup_matches_keras(K: Any, tf: Any, kw: dict, data: list, x: list) -> None:
    ours, theirs = IntegerLookup(**kw), K.layers.IntegerLookup(**kw)
    if _adapt_both(ours, theirs, np.array(data, np.int64), tf):
        check_same(ours, theirs, x, tf)


@FUZZ
@given(vocab=st.lists(st.sampled_from(list("abcdefgh")), min_size=1, max_size=6, unique=True),
       mask=st.sampled_from([None, "m"]), oov=st.integers(0, 2),
       ids=st.lists(st.lists(st.integers(-2, 10), min_size=3, max_size=3), min_size=1,
                    max_size=3))
def test_invert_matches_keras(K: Any, tf: Any, vocab: list, mask: Any, oov: int,
                              ids: list) -> None:
    kw = dict(vocabulary=vocab, mask_token=mask, num_oov_indices=oov, invert=True)
    check_same(StringLookup(**kw), K.layers.StringLookup(**kw), ids, tf)
    ints = [ord(v) for v in vocab]
    kw = dict(vocabulary=ints, mask_token=None if mask is None else 0, num_oov_indices=oov,
              invert=True)
    check_same(IntegerLookup(**kw), K.layers.IntegerLookup(**kw), ids, tf)


def test_tf_idf_adapt_and_given_weights(K: Any, tf: Any, parity: Any) -> None:
    docs = [["a", "b", "a"], ["b", "c", ""], ["a", "d", "d"], ["e", "a", "b"]]
    for kw in (dict(output_mode="tf_idf"), dict(output_mode="tf_idf", mask_token="",
                                                max_tokens=6, pad_to_max_tokens=True)):
        ours, theirs = StringLookup(**kw), K.layers.StringLookup(**kw)
        ours.adapt(np.array(docs, object))
        theirs.adapt(tf.constant(docs))
        parity(ours(np.array(docs, object)), as_np(theirs(tf.constant(docs))), name=str(kw))
    for vocab, idf in ((["a", "b"], [0.5, 2.0]), (["[UNK]", "a", "b"], [0.1, 0.5, 2.0])):
        kw = dict(output_mode="tf_idf", vocabulary=vocab, idf_weights=idf)
        ours, theirs = StringLookup(**kw), K.layers.StringLookup(**kw)
        parity(ours(np.array(docs, object)), as_np(theirs(tf.constant(docs))), name="given")


def test_vocabulary_with_special_tokens_and_order(K: Any) -> None:
    for kw in (dict(vocabulary=["[UNK]", "a", "b"]), dict(vocabulary=["", "[UNK]", "a"],
                                                          mask_token=""),
               dict(vocabulary=np.array(["x", "y"])), dict(vocabulary=("q",), num_oov_indices=2),
               dict(vocabulary=["a", "b"], output_mode="multi_hot", mask_token="")):
        ours, theirs = StringLookup(**kw), K.layers.StringLookup(**kw)
        assert ours.get_vocabulary() == [str(v) for v in theirs.get_vocabulary()]
        assert ours.get_vocabulary(False) == [str(v) for v in theirs.get_vocabulary(False)]
    ours = IntegerLookup(vocabulary=[-1, 5, 6])
    assert ours.get_vocabulary() == [int(v) for v in K.layers.IntegerLookup(
        vocabulary=[-1, 5, 6]).get_vocabulary()]


def test_adapt_ties_and_special_tokens_like_keras(K: Any, tf: Any) -> None:
    data = np.array(["b", "a", "c", "a", "c", "Ü", "Z", "z", "", "[UNK]", "[UNK]", "[UNK]"])
    for kw in (dict(), dict(mask_token=""), dict(max_tokens=4), dict(oov_token="a")):
        ours, theirs = StringLookup(**kw), K.layers.StringLookup(**kw)
        ours.adapt(data)
        theirs.adapt(data)
        assert ours.get_vocabulary() == [str(v) for v in theirs.get_vocabulary()], kw
    ints = np.array([3, -1, 3, 10, -7, 10, 2, 0])
    ours, theirs = IntegerLookup(mask_token=0), K.layers.IntegerLookup(mask_token=0)
    ours.adapt(ints)
    theirs.adapt(ints)
    assert ours.get_vocabulary() == [int(v) for v in theirs.get_vocabulary()]


# ---------------------------------------------------------------------------- files
FILES = {"lf": b"a\nb\n", "crlf": b"a\r\nb\r\nc", "inner_cr": b"a\rb\nc\n", "space": b" a\nb ",
         "specials": b"a\nb\n[UNK]", "dup": b"a\nb\na\n", "empty_line": b"a\n\nb",
         "first_empty": b"\na", "empty": b"", "nul": b"a\x00x\nb", "bad_utf8": b"a\xff\nb"}


@pytest.mark.parametrize("name", sorted(FILES))
def test_string_vocabulary_files_read_as_tensorflow(K: Any, tf: Any, tmp_path: Path,
                                                    name: str) -> None:
    path = tmp_path / f"{name}.txt"
    path.write_bytes(FILES[name])
    x = [["a", "b", "", "c"], [" a", "b ", "a\rb", "[UNK]"]]
    try:
        theirs = K.layers.StringLookup(vocabulary=str(path))
        want = as_np(theirs(tf.constant(x)))
        vocab = [str(v) for v in theirs.get_vocabulary()]
    except Exception:                              # noqa: BLE001
        if name == "nul":
            pytest.fail("Keras read a vocabulary with NUL; rnnlens refuses it")
        with pytest.raises((ValueError, TypeError)):
            StringLookup(vocabulary=str(path))
        return
    if name == "nul":                              # rnnlens refuses NUL characters
        with pytest.raises(ValueError, match="NUL"):
            StringLookup(vocabulary=str(path))
        return
    ours = StringLookup(vocabulary=str(path))
    assert ours.get_vocabulary() == vocab
    assert np.array_equal(ours(np.array(x, object)), want)


@pytest.mark.parametrize("content", [b"1\n2\n", b"1\n 2\n", b"1\n+2\n", b"1\nx\n", b"1\n2\n1\n",
                                     b"1\n99999999999999999999\n"])
def test_integer_vocabulary_files_read_as_tensorflow(K: Any, tf: Any, tmp_path: Path,
                                                     content: bytes) -> None:
    path = tmp_path / f"ints_{abs(hash(content))}.txt"
    path.write_bytes(content)
    try:
        theirs = K.layers.IntegerLookup(vocabulary=str(path))
        want = as_np(theirs(tf.constant([1, 2, 3])))
    except Exception:                              # noqa: BLE001
        with pytest.raises(ValueError):
            IntegerLookup(vocabulary=str(path))
        return
    ours = IntegerLookup(vocabulary=str(path))
    assert ours.get_vocabulary() == [int(v) for v in theirs.get_vocabulary()]
    assert np.array_equal(ours(np.array([1, 2, 3])), want)


def lookup_model(m: Any, kind: str) -> Any:
    data = np.array([["a", "b", "a"], ["c", "Ü", "b"], ["a", "d", "e"]])
    if kind == "string_adapted":
        layer = m.layers.StringLookup(num_oov_indices=2, mask_token="", output_mode="count")
        layer.adapt(data)
    elif kind == "string_tfidf":
        layer = m.layers.StringLookup(output_mode="tf_idf")
        layer.adapt(data)
    elif kind == "string_vocab":
        layer = m.layers.StringLookup(vocabulary=["a", "b", "Ü"], output_mode="multi_hot")
    else:
        layer = m.layers.IntegerLookup(mask_token=0, num_oov_indices=2, oov_method="farmhash")
        layer.adapt(np.array([[5, 6, 6], [7, 0, 6]]))
        inp = m.Input(shape=(3,), dtype="int64")
        return m.Model(inp, layer(inp))
    inp = m.Input(shape=(3,), dtype="string")
    return m.Model(inp, m.layers.Dense(2)(layer(inp)))


LOOKUP_KINDS = ["string_adapted", "string_tfidf", "string_vocab", "integer"]


def _x(kind: str) -> Any:
    if kind == "integer":
        return np.array([[5, 0, 9], [7, 6, -3]])
    return np.array([["a", "b", "z"], ["Ü", "", "q"]], object)


@pytest.mark.parametrize("kind", LOOKUP_KINDS)
def test_lookup_files_both_ways(K: Any, tf: Any, kind: str, tmp_path: Path,
                                parity: Any) -> None:
    K.utils.set_random_seed(2)
    theirs = lookup_model(K, kind)
    theirs.save(tmp_path / "k.keras")
    loaded = rnnlens.models.load_model(tmp_path / "k.keras")
    x = _x(kind)
    want = as_np(theirs(tf.constant(x.tolist())))
    parity(loaded.predict(x), want, name=f"{kind} keras->rnnlens")
    ours = lookup_model(rnnlens, kind)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    ours.save(tmp_path / "r.keras")
    back = K.models.load_model(tmp_path / "r.keras")
    parity(as_np(back(tf.constant(x.tolist()))), ours.predict(x), name=f"{kind} rnnlens->keras")
    parity(ours.predict(x), want, name=f"{kind} native")


# ---------------------------------------------------------------------------- errors
BAD = [dict(max_tokens=1), dict(num_oov_indices=-1), dict(output_mode="binaryy"),
       dict(invert=True, output_mode="count"), dict(idf_weights=[1.0]),
       dict(output_mode="tf_idf", vocabulary=["a"]), dict(pad_to_max_tokens=True),
       dict(vocabulary=["a", "a"]), dict(vocabulary=["a", "[UNK]"], invert=True),
       dict(vocabulary=["a", "m"], mask_token="m"), dict(vocabulary=[]),
       dict(vocabulary=["a", "b"], max_tokens=2), dict(salt="x"), dict(salt=(1, 2, 3)),
       dict(sparse=True), dict(output_mode="tf_idf", vocabulary=["a"], idf_weights=[1, 2, 3])]


@pytest.mark.parametrize("kw", BAD, ids=str)
def test_bad_arguments_are_refused_as_keras_does(K: Any, kw: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        StringLookup(**kw)(np.array([["a"]]))
    with pytest.raises(Exception):                 # noqa: B017 - Keras's own kinds
        K.layers.StringLookup(**kw)(np.array([["a"]]))


def test_integer_specific_errors(K: Any) -> None:
    for kw in (dict(salt=3), dict(vocabulary_dtype="int32"), dict(vocabulary=["a"])):
        with pytest.raises((ValueError, TypeError)):
            IntegerLookup(**kw)
        with pytest.raises(Exception):             # noqa: B017
            K.layers.IntegerLookup(**kw)
    with pytest.raises(ValueError, match="non-integer"):
        IntegerLookup(vocabulary=[1])(np.array([1.5]))
    with pytest.raises(TypeError):
        IntegerLookup(vocabulary=[1])(np.array(["1"]))


def test_runtime_errors_match_keras(K: Any, tf: Any) -> None:
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["a", "b"]))
    with pytest.raises(Exception):                 # noqa: B017
        K.layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(tf.constant(["a", "b"]))
    with pytest.raises(ValueError, match="no vocabulary yet"):
        StringLookup()(np.array(["a"]))
    with pytest.raises(Exception):                 # noqa: B017
        K.layers.StringLookup()(tf.constant(["a"]))
    layer = StringLookup(output_mode="multi_hot")
    layer.adapt(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="vocabulary size cannot be changed"):
        layer.adapt(np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="Cannot adapt"):
        StringLookup(vocabulary=["a"]).adapt(np.array(["a"]))
    with pytest.raises(TypeError, match="strings"):
        StringLookup(vocabulary=["a"])(np.array([1, 2]))


fuzz_value = st.one_of(st.none(), st.integers(-2, 6), st.booleans(), st.text(max_size=3),
                       st.lists(st.text(max_size=2), max_size=4),
                       st.lists(st.floats(-2, 2), max_size=3),
                       st.sampled_from(["int", "one_hot", "multi_hot", "count", "tf_idf"]))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(kw=st.dictionaries(st.sampled_from(["max_tokens", "num_oov_indices", "mask_token",
                                           "oov_token", "vocabulary", "idf_weights", "invert",
                                           "output_mode", "pad_to_max_tokens", "salt",
                                           "encoding"]), fuzz_value, max_size=5),
       x=st.lists(st.lists(st.text(max_size=2), min_size=2, max_size=2), min_size=1,
                  max_size=3))
def test_fuzz_string_lookup(kw: dict, x: list) -> None:
    try:
        layer = StringLookup(**kw)
        if kw.get("vocabulary") is None:
            layer.adapt(np.array(x, object))
        out = layer(np.array(x, object) if not kw.get("invert") else np.array([[0, 1]]))
    except (ValueError, TypeError):
        return
    assert isinstance(out, np.ndarray)


# ---------------------------------------------------------------------------- hostile assets
def _rewrite(src: Path, dst: Path, change: dict) -> None:
    import zipfile

    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members.update(change)
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            if data is not None:
                zf.writestr(name, data)


def test_assets_are_read_only_as_declared_and_capped(tmp_path: Path) -> None:
    from rnnlens.interop.keras_config import Limits, UnsafeModelError

    model = lookup_model(rnnlens, "string_adapted")
    model.save(tmp_path / "ok.keras")
    member = "assets/layers/string_lookup/vocabulary.txt"
    ok = rnnlens.models.load_model(tmp_path / "ok.keras")
    assert ok.layers[1].get_vocabulary() == model.layers[1].get_vocabulary()
    import zipfile

    cap = max(i.file_size for i in zipfile.ZipFile(tmp_path / "ok.keras").infolist()) + 10
    cases = {"utf8": ({member: b"a\n\xff\n"}, "not UTF-8"),
             "missing": ({member: None}, "no vocabulary.txt"),
             "repeat": ({member: b"\n[UNK]\n[UNK]\na\na"}, "repeated"),
             "big": ({member: b"a\n" * cap}, "vocabulary.txt' is .* over the limit")}
    for name, (change, message) in cases.items():
        _rewrite(tmp_path / "ok.keras", tmp_path / f"{name}.keras", change)
        with pytest.raises(UnsafeModelError, match=message):
            rnnlens.models.load_model(tmp_path / f"{name}.keras",
                                      limits=Limits(max_member_bytes=cap))
    _rewrite(tmp_path / "ok.keras", tmp_path / "extra.keras",
             {"assets/layers/dense/evil.txt": b"\xff" * 100_000})   # undeclared: never read
    extra = rnnlens.models.load_model(tmp_path / "extra.keras")
    assert extra.layers[1].get_vocabulary() == model.layers[1].get_vocabulary()
    ints = lookup_model(rnnlens, "integer")
    ints.save(tmp_path / "ints.keras")
    _rewrite(tmp_path / "ints.keras", tmp_path / "bad_int.keras",
             {"assets/layers/integer_lookup/vocabulary.txt": b"0\n-1\n-1\nx"})
    with pytest.raises(UnsafeModelError, match="not an integer"):
        rnnlens.models.load_model(tmp_path / "bad_int.keras")
