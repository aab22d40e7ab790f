"""Small Keras 3.15.1 habits rnnlens follows, each against live Keras (TensorFlow backend).

* ``activations.get``: ``"threshold"`` resolves (and serializes) as in Keras, names are
  exact (``"Softmax"`` is a ValueError in both), and ``threshold(x, threshold,
  default_value)`` has Keras's signature and values.
* ``StringLookup(invert=True)``: an object array of UTF-8 ``bytes`` (what Keras's
  ``tf.string`` output gives in NumPy), eagerly, from ``predict`` and inside models whose
  later layers (StringLookup, Hashing) take those bytes; TextVectorization ids map back;
  ``oov_token=None`` is refused as in Keras.
* ``x[[0, 2]]`` on a symbolic tensor: Keras 3.15.1's ``GetItem`` turns a list key into a
  tuple (``x[0, 2]``, not NumPy's gather), and its config writes both keys as ``[0, 2]``;
  rnnlens records and reads the same node (predictions, shapes, configs and ``.keras``
  files both ways). Eager ``ops.get_item`` on arrays is NumPy's fancy indexing in both.
* ``fit`` on a dataset warns that ``shuffle=True`` (its default) is ignored, exactly when
  Keras warns for a ``tf.data.Dataset`` (default / True: warns; False, evaluate, predict,
  validation data: silent); generators likewise.
"""

from __future__ import annotations

import inspect
import json
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available

pytestmark = pytest.mark.keras
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


# ---------------------------------------------------------------------------- activations
def test_get_threshold_as_keras(K: Any) -> None:
    A = rnnlens.activations
    assert A.get("threshold") is A.threshold
    assert K.activations.get("threshold") is K.activations.threshold
    assert A.serialize(A.get("threshold")) == K.activations.serialize(
        K.activations.threshold) == "threshold"
    assert A.deserialize("threshold") is A.threshold
    ours = list(inspect.signature(A.threshold).parameters)
    assert ours == list(inspect.signature(K.activations.threshold).parameters)


@FUZZ
@given(x=st.lists(st.floats(-5, 5, width=32), min_size=1, max_size=12),
       cut=st.floats(-3, 3, width=32), default=st.floats(-9, 9, width=32))
def test_threshold_values_as_keras(K: Any, x: list, cut: float, default: float) -> None:
    x = np.asarray(x, np.float32)
    want = K.ops.convert_to_numpy(K.activations.threshold(x, cut, default))
    got = rnnlens.activations.get("threshold")(x, threshold=cut, default_value=default)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["Softmax", "RELU", "Tanh", "Threshold", "linear ", "nope"])
def test_names_are_exact_as_keras(K: Any, name: str) -> None:
    with pytest.raises(ValueError):
        K.activations.get(name)
    with pytest.raises(ValueError, match="unknown activation"):
        rnnlens.activations.get(name)
    with pytest.raises(ValueError):
        K.layers.Dense(2, activation=name)
    with pytest.raises(ValueError, match="unknown activation"):
        rnnlens.layers.Dense(2, activation=name)


def test_lower_case_names_still_resolve(K: Any) -> None:
    for name in ("softmax", "relu", "tanh", "swish", "hard_swish"):
        assert rnnlens.activations.serialize(rnnlens.activations.get(name)) == \
            K.activations.serialize(K.activations.get(name))


def test_dense_with_threshold_builds_then_fails_like_keras(K: Any) -> None:
    """Keras accepts the name (its config says "threshold") and fails on the call, since
    the function needs two more arguments; rnnlens does the same."""
    theirs, ours = K.layers.Dense(2, activation="threshold"), \
        rnnlens.layers.Dense(2, activation="threshold")
    assert ours.get_config()["activation"] == theirs.get_config()["activation"] == "threshold"
    x = np.ones((1, 3), np.float32)
    with pytest.raises(TypeError):
        theirs(x)
    with pytest.raises(TypeError, match="threshold"):
        ours(x)


# ---------------------------------------------------------------------------- StringLookup
def keras_np(K: Any, value: Any) -> np.ndarray:
    return K.ops.convert_to_numpy(value)


def assert_same_strings(got: Any, want: np.ndarray) -> None:
    """Same shape, object dtype and the same ``bytes`` objects (no decoding on either side)."""
    assert isinstance(got, np.ndarray) and got.dtype == want.dtype == object
    assert got.shape == want.shape
    assert all(type(v) is bytes for v in got.reshape(-1)), got
    assert got.tolist() == want.tolist()


INVERT_CASES = [dict(vocabulary=["a", "b", "c"]),
                dict(vocabulary=["a", "é", "日本", ""], mask_token="m"),
                dict(vocabulary=["x", "y"], mask_token="", oov_token="?", num_oov_indices=2)]


@pytest.mark.parametrize("kw", INVERT_CASES, ids=range(len(INVERT_CASES)))
def test_invert_returns_bytes_eagerly_as_keras(K: Any, kw: dict) -> None:
    theirs, ours = K.layers.StringLookup(invert=True, **kw), \
        rnnlens.layers.StringLookup(invert=True, **kw)
    for ids in (np.array([[0, 1, 2, 3], [4, 5, 9, -1]]), np.array([1, 0, 7]), np.array(2)):
        assert_same_strings(ours(ids), keras_np(K, theirs(ids)))
    assert ours.get_vocabulary() == theirs.get_vocabulary()          # str, not bytes


def _invert_model(lib: Any, kw: dict) -> Any:
    ids = lib.Input((3,), dtype="int64", name="ids")
    return lib.Model(ids, lib.layers.StringLookup(invert=True, **kw)(ids))


@pytest.mark.parametrize("kw", INVERT_CASES, ids=range(len(INVERT_CASES)))
def test_invert_predict_returns_bytes_as_keras(K: Any, kw: dict) -> None:
    ids = np.array([[1, 2, 3], [0, 4, 5], [6, 1, 0], [2, 2, 2], [3, 0, 1]], np.int64)
    want = _invert_model(K, kw).predict(ids, batch_size=2, verbose=0)
    model = _invert_model(rnnlens, kw)
    assert_same_strings(model.predict(ids, batch_size=2, verbose=0), want)
    assert_same_strings(model.predict_on_batch(ids), want)
    assert_same_strings(np.asarray(model(ids)), want)


def _round_trip_model(lib: Any, vocab: list) -> Any:
    """ids -> tokens (invert) -> ids again, and a Hashing of the tokens: the layers after
    the inverting lookup take its bytes."""
    ids = lib.Input((4,), dtype="int64")
    tokens = lib.layers.StringLookup(vocabulary=vocab, invert=True)(ids)
    again = lib.layers.StringLookup(vocabulary=vocab)(tokens)
    hashed = lib.layers.Hashing(num_bins=7)(tokens)
    return lib.Model(ids, [again, hashed])


def test_inverted_bytes_feed_later_layers_as_keras(K: Any) -> None:
    vocab = ["a", "bb", "é"]
    ids = np.array([[1, 2, 3, 0], [3, 3, 9, 1]], np.int64)
    want = _round_trip_model(K, vocab).predict(ids, verbose=0)
    got = _round_trip_model(rnnlens, vocab).predict(ids, verbose=0)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == np.int64
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[0], np.where((ids >= 1) & (ids <= 3), ids, 0))


def test_text_vectorization_round_trip_as_keras(K: Any) -> None:
    """TextVectorization's ids mapped back by StringLookup(invert=True) on its vocabulary."""
    texts = np.array(["the cat sat", "the dog", "a cat ran home"])

    def run(lib: Any) -> tuple:
        tv = lib.layers.TextVectorization(output_sequence_length=4)
        tv.adapt(texts)
        back = lib.layers.StringLookup(vocabulary=tv.get_vocabulary(include_special_tokens=False),
                                       mask_token="", invert=True)
        ids = keras_np(K, tv(texts)) if lib is K else tv(texts)
        return tv.get_vocabulary(), ids, keras_np(K, back(ids)) if lib is K else back(ids)

    (k_vocab, k_ids, want), (r_vocab, r_ids, got) = run(K), run(rnnlens)
    assert r_vocab == k_vocab
    np.testing.assert_array_equal(r_ids, k_ids)
    assert_same_strings(got, want)
    assert [b" ".join(t for t in row if t) for row in got] == [t.encode() for t in texts]


def test_invert_without_oov_token_is_refused_as_keras(K: Any) -> None:
    for kw in (dict(vocabulary=["a", "b"]), {}):
        with pytest.raises(ValueError):
            K.layers.StringLookup(invert=True, oov_token=None, **kw)
        with pytest.raises(ValueError, match="oov_token"):
            rnnlens.layers.StringLookup(invert=True, oov_token=None, **kw)


@FUZZ
@given(vocab=st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=5, unique=True),
       ids=st.lists(st.integers(-3, 9), min_size=1, max_size=8),
       mask=st.sampled_from([None, "", "<m>"]))
def test_invert_is_the_encoded_vocabulary(vocab: list, ids: list, mask: Any) -> None:
    """Property: id ``k`` of the full vocabulary comes back as its UTF-8 bytes, anything
    out of range as the OOV token's; or the layer refuses with a ValueError."""
    try:
        layer = rnnlens.layers.StringLookup(vocabulary=vocab, mask_token=mask, invert=True)
    except ValueError:
        assert mask in vocab or "[UNK]" in vocab
        return
    out = layer(np.array(ids))
    full = layer.get_vocabulary()
    assert out.dtype == object and out.shape == (len(ids),)
    assert out.tolist() == [full[i].encode() if 0 <= i < len(full) else b"[UNK]"
                            for i in ids]


# ---------------------------------------------------------------------------- x[list]
def _getitem_model(lib: Any) -> Any:
    x = lib.Input((3, 4), name="x")
    return lib.Model(x, [x[[0, 2]], x[0, 2], x[[1]], x[:, 1], x[[0, 2]] * 2.0],
                     name="getitem")


def _node_keys(config: dict) -> list:
    """The keys as a file holds them (JSON: Keras's in-memory config keeps ``x[0, 2]``'s
    tuple, which its file writes as the list ``[0, 2]``, as ``x[[0, 2]]``'s)."""
    return [json.loads(json.dumps(layer["inbound_nodes"][0]["args"][1]))
            for layer in config["layers"] if layer["class_name"] == "GetItem"]


def test_list_key_on_symbolic_tensor_as_keras(K: Any, parity: Any, tmp_path: Any) -> None:
    theirs, ours = _getitem_model(K), _getitem_model(rnnlens)
    assert [tuple(t.shape) for t in ours.outputs] == [tuple(t.shape) for t in theirs.outputs]
    assert tuple(ours.outputs[0].shape) == (4,)              # x[0, 2], as Keras
    assert _node_keys(ours.get_config()) == _node_keys(theirs.get_config())
    x = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    want = theirs.predict(x, verbose=0)
    got = ours.predict(x, verbose=0)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        parity(g, w, name="x[key]")
    np.testing.assert_array_equal(got[0], x[0, 2])
    parity(rnnlens.Model.from_config(ours.get_config()).predict(x, verbose=0), want,
           name="from_config")
    theirs.save(tmp_path / "k.keras")
    ours.save(tmp_path / "r.keras")
    parity(rnnlens.models.load_model(tmp_path / "k.keras").predict(x, verbose=0), want,
           name="Keras file in rnnlens")
    parity(K.models.load_model(tmp_path / "r.keras").predict(x, verbose=0), want,
           name="rnnlens file in Keras")


def test_list_key_on_arrays_is_fancy_indexing_as_keras(K: Any) -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for key in ([0, 1], [1], (0, 2), [1, 0, 1]):
        want = K.ops.convert_to_numpy(K.ops.get_item(x, key))
        got = rnnlens.ops.get_item(x, key)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------- shuffle warning
def _shuffle_warnings(lib: Any, make_data: Callable[[], Any], kw: dict) -> list[str]:
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
    model.compile("sgd", "mse")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model.fit(make_data(), epochs=1, verbose=0, **kw)
        model.evaluate(make_data(), verbose=0)
        model.predict(make_data(), verbose=0)
    return [str(w.message) for w in seen if "shuffle" in str(w.message)]


X3 = np.ones((8, 3), np.float32)
Y1 = np.ones((8, 1), np.float32)
FIT_KW = [{}, dict(shuffle=True), dict(shuffle=False), dict(shuffle="batch")]


@pytest.mark.parametrize("kw", FIT_KW, ids=lambda d: str(d.get("shuffle", "default")))
def test_dataset_shuffle_warning_as_keras(K: Any, kw: dict) -> None:
    import tensorflow as tf  # noqa: PLC0415

    from rnnlens.utils import ArrayDataset

    theirs = _shuffle_warnings(
        K, lambda: tf.data.Dataset.from_tensor_slices((X3, Y1)).batch(4), kw)
    ours = _shuffle_warnings(rnnlens, lambda: ArrayDataset((X3, Y1)).batch(4), dict(
        kw, validation_data=ArrayDataset((X3, Y1)).batch(4)))
    assert len(ours) == len(theirs) == (0 if kw.get("shuffle") is False else 1)
    for text in ours:
        assert text.startswith("`shuffle=True` was passed, but will be ignored")
        assert "already be shuffled (via `.shuffle(buffer_size)`)" in text


@pytest.mark.parametrize("kw", FIT_KW[:3], ids=lambda d: str(d.get("shuffle", "default")))
def test_generator_shuffle_warning_as_keras(K: Any, kw: dict) -> None:
    def make() -> Any:
        return ((X3[:4], Y1[:4]) for _ in range(2))

    theirs = _shuffle_warnings(K, make, dict(kw, steps_per_epoch=2))
    ours = _shuffle_warnings(rnnlens, make, dict(kw, steps_per_epoch=2))
    assert len(ours) == len(theirs) == (0 if kw.get("shuffle") is False else 1)
    assert all("generator" in text for text in ours + theirs)
