"""tf.keras 2.x SavedModel directories read without TensorFlow (``rnnlens.interop.tf_bundle``).

* Model zoo: tf_keras 2.21 builds and saves (``model.save(dir)``) Sequential and Functional
  models with Embedding, LSTM, GRU, SimpleRNN, stacked cells, Bidirectional (also with an
  explicit backward layer), TimeDistributed (Dense and a Sequential), BatchNormalization
  (moving statistics set), a nested model, an encoder-decoder with states, a float64 layer,
  and a model fitted with a legacy optimizer (slots in the bundle). Every weight is set to
  distinct random values first. For each: every bundle key read by rnnlens equals
  ``tf.train.load_checkpoint(...).get_tensor(key)`` (values, dtypes, shapes);
  ``variables_by_path`` equals the paths derived independently from the Keras objects'
  attributes (``cell``, ``forward_layer``, ``layer``, ``cells``, ...), in layer order, with
  each variable's value; the metadata config equals tf_keras's ``model.get_config()`` in
  SavedModel scope; every variable's owner is a metadata node.
* Checkpoints written by TF directly: every dtype (float16/32/64, int32/64, bool, scalars,
  empty tensors, a 4 MB tensor for the vectorised CRC), strings skipped / refused, multiple
  shards, many table blocks, sliced variables refused.
* Hostile directories, the decoders and the fuzz test: tests/test_tf_bundle_hostile.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnlens.interop.keras_config import UnsafeModelError
from rnnlens.interop.tf_bundle import (TensorBundle, model_config, read_keras_metadata,
                                       variable_keys, variables_by_path)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias", "embeddings", "gamma", "beta",
                "moving_mean", "moving_variance")


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tf() -> Any:
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def tfk(tf: Any) -> Any:
    return pytest.importorskip("tf_keras")


def _zoo(tfk: Any) -> dict[str, Any]:
    L = tfk.layers

    def seq() -> Any:
        return tfk.Sequential([
            L.Input((5,), dtype="int32"), L.Embedding(10, 4, mask_zero=True),
            L.LSTM(4, return_sequences=True), L.Bidirectional(L.GRU(3, return_sequences=True)),
            L.TimeDistributed(L.Dense(2)), L.BatchNormalization()], name="seq")

    def func() -> Any:
        x = tfk.Input((6, 3))
        h = L.SimpleRNN(5, return_sequences=True)(x)
        h = L.RNN([L.LSTMCell(4), L.GRUCell(3, reset_after=False)])(h)
        return tfk.Model(x, L.Dense(2)(h), name="func")

    def nested() -> Any:
        inner = tfk.Sequential([L.Input((4, 3)), L.GRU(3, return_sequences=True), L.Dense(2)],
                               name="inner")
        x = tfk.Input((4, 3))
        return tfk.Model(x, L.LSTM(2)(inner(L.Dense(3)(x))), name="outer")

    def encdec() -> Any:
        enc_in = tfk.Input((None, 5))
        _, h, c = L.LSTM(6, return_state=True)(enc_in)
        dec_in = tfk.Input((None, 4))
        seq_out = L.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
        return tfk.Model([enc_in, dec_in], L.Dense(4, activation="softmax")(seq_out),
                         name="s2s")

    def wrappers() -> Any:
        return tfk.Sequential([
            L.Input((5, 3)), L.LSTM(4, dropout=0.2, return_sequences=True), L.Dropout(0.3),
            L.TimeDistributed(tfk.Sequential([L.Dense(3), L.Dense(2)])),
            L.Bidirectional(L.LSTM(2), backward_layer=L.GRU(2, go_backwards=True)),
            L.Dense(1, dtype="float64")], name="wrappers")

    def fitted() -> Any:
        model = tfk.Sequential([L.Input((3, 2)), L.LSTM(3), L.Dense(1)], name="fitted")
        model.compile(tfk.optimizers.legacy.Adam(), "mse")
        return model

    return {"seq": seq, "func": func, "nested": nested, "encdec": encdec,
            "wrappers": wrappers, "fitted": fitted}


@pytest.fixture(scope="module")
def zoo(tfk: Any, tmp_path_factory: Any) -> dict[str, tuple[Path, Any]]:
    """``{name: (SavedModel dir, tf_keras model)}``, every weight random and distinct."""
    rng = np.random.default_rng(0)
    out = {}
    root = tmp_path_factory.mktemp("zoo")
    for name, build in _zoo(tfk).items():
        model = build()
        model.set_weights([rng.normal(size=w.shape).astype(w.dtype) + 1.5 * (i % 3 == 1)
                           for i, w in enumerate(model.get_weights())])
        if name == "fitted":
            model.fit(rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 1)), verbose=0)
        model.save(root / name)
        out[name] = (root / name, model)
    return out


NAMES = ["seq", "func", "nested", "encdec", "wrappers", "fitted"]


# ---------------------------------------------------------------------------- the model zoo
def _attribute_paths(tfk: Any, tf: Any, obj: Any, prefix: str, out: dict) -> None:
    """The path rules of the module docstring, derived from the Keras objects themselves."""
    if isinstance(obj, tfk.Model):
        for k, layer in enumerate(x for x in obj.layers if x.weights):
            _attribute_paths(tfk, tf, layer, f"{prefix}layer_with_weights-{k}/", out)
        return
    for i, cell in enumerate(getattr(obj, "cells", None) or []):
        _attribute_paths(tfk, tf, cell, f"{prefix}cells/{i}/", out)
    subs = [n for n in ("cell", "forward_layer", "backward_layer", "layer")
            if isinstance(getattr(obj, n, None), tfk.layers.Layer) and getattr(obj, n).weights]
    for name in subs:
        _attribute_paths(tfk, tf, getattr(obj, name), f"{prefix}{name}/", out)
    if subs or getattr(obj, "cells", None):
        return                        # RNN.kernel etc. are properties reaching into the cell
    for name in WEIGHT_NAMES:
        if isinstance(getattr(obj, name, None), tf.Variable):
            out[prefix + name] = getattr(obj, name)


@pytest.mark.parametrize("name", NAMES)
def test_every_bundle_key_matches_tensorflow(tf: Any, zoo: dict, name: str) -> None:
    path, _ = zoo[name]
    bundle = TensorBundle(path)
    reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
    assert set(bundle.keys()) == set(reader.get_variable_to_shape_map())
    numeric = 0
    for key in bundle.keys():
        if bundle.entry(key).dtype_name == "DT_STRING":
            with pytest.raises(UnsafeModelError, match="DT_STRING"):
                bundle.read(key)
            continue
        got, want = bundle.read(key), reader.get_tensor(key)
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=key)
        numeric += 1
    assert numeric >= len(zoo[name][1].weights)


@pytest.mark.parametrize("name", NAMES)
def test_variables_by_path_follow_the_keras_attributes(tf: Any, tfk: Any, zoo: dict,
                                                       name: str) -> None:
    path, model = zoo[name]
    expected: dict[str, Any] = {}
    _attribute_paths(tfk, tf, model, "", expected)
    assert len(expected) == len(model.weights)                   # every weight, once
    assert {v.ref() for v in expected.values()} == {w.ref() for w in model.weights}
    got = variables_by_path(TensorBundle(path))
    assert list(got) == list(expected)                          # same paths, layer order
    for key, variable in expected.items():
        want = variable.numpy()
        assert got[key].dtype == want.dtype and got[key].shape == want.shape, key
        np.testing.assert_array_equal(got[key], want, err_msg=key)
    if name == "fitted":                          # optimizer variables and slots left out
        keys = TensorBundle(path).keys()
        assert any(".OPTIMIZER_SLOT" in k for k in keys) and any("optimizer/" in k for k in keys)
        assert not any("optimizer" in k for k in variable_keys(TensorBundle(path)).values())


def _plain(x: Any) -> Any:
    """tf_keras's config wrappers (SharedObjectConfig, ListWrapper, ...) as dict / list,
    without the ``shared_object_id`` annotations (get_config keeps them after a save)."""
    if isinstance(x, Mapping):
        return {k: _plain(v) for k, v in x.items() if k != "shared_object_id"}
    if isinstance(x, tuple):
        return tuple(_plain(v) for v in x)
    if isinstance(x, list) or type(x).__name__ == "ListWrapper":
        return [_plain(v) for v in x]
    return x


@pytest.mark.parametrize("name", NAMES)
def test_metadata_config_equals_get_config(tfk: Any, zoo: dict, name: str) -> None:
    from tf_keras.src.saving.legacy.saved_model.utils import keras_option_scope

    path, model = zoo[name]
    nodes = read_keras_metadata(path)
    assert read_keras_metadata(path / "keras_metadata.pb") == nodes
    config = model_config(nodes)
    with keras_option_scope(save_traces=True, in_tf_saved_model_scope=True):
        expected = _plain(model.get_config())       # what model.save(dir) serialises
    assert config["config"] == expected
    assert config["class_name"] == type(model).__name__
    assert config["keras_version"] == tfk.__version__ and config["backend"] == "tensorflow"
    owners = {n["node_path"]: n["metadata"].get("class_name") for n in nodes}
    for var_path in variables_by_path(TensorBundle(path)):
        owner = "root." + var_path.rsplit("/", 1)[0].replace("/", ".")
        assert owner in owners, (var_path, sorted(owners))


# ---------------------------------------------------------------------------- TF checkpoints
def test_checkpoint_dtypes_and_strings(tf: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    values = {"f": rng.normal(size=(3, 4)).astype("f4"), "d": rng.normal(size=(5,)),
              "h": rng.normal(size=(2, 3)).astype("f2"),
              "i": np.arange(-3, 3, dtype="i4").reshape(2, 3),
              "l": np.array([-(2 ** 40), 7], "i8"), "b": np.array([True, False, True]),
              "s": np.float32(3.5), "e": np.zeros((0, 3), "f4"),
              "big": rng.normal(size=(1024, 1024)).astype("f4")}
    variables = {k: tf.Variable(v) for k, v in values.items()}
    tf.train.Checkpoint(st=tf.Variable(["ab", "c"]), **variables).write(str(tmp_path / "ck"))
    bundle = TensorBundle(tmp_path, prefix="ck")
    got = variables_by_path(bundle)
    assert set(got) == set(values)                                # the string is skipped
    for key, want in values.items():
        want = np.asarray(want)
        assert got[key].dtype == want.dtype and got[key].shape == want.shape, key
        np.testing.assert_array_equal(got[key], want, err_msg=key)
    with pytest.raises(UnsafeModelError, match="DT_STRING"):
        bundle.read("st/.ATTRIBUTES/VARIABLE_VALUE")
    with pytest.raises(KeyError, match="not in the bundle"):
        bundle.read("nope")


def test_sharded_and_many_blocks(tf: Any, tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    save = tf.raw_ops.SaveV2
    save(prefix=str(tmp_path / "parts" / "p0"), tensor_names=["a", "c"],
         shape_and_slices=["", ""], tensors=[tf.ones((2, 2)), tf.range(5)])
    save(prefix=str(tmp_path / "parts" / "p1"), tensor_names=["b"], shape_and_slices=[""],
         tensors=[tf.fill((3,), 2.0)])
    tf.raw_ops.MergeV2Checkpoints(
        checkpoint_prefixes=[str(tmp_path / "parts" / "p0"), str(tmp_path / "parts" / "p1")],
        destination_prefix=str(tmp_path / "ck"))
    bundle = TensorBundle(tmp_path, prefix="ck")
    assert bundle.header["num_shards"] == 2 and bundle.entry("b").shard_id == 1
    np.testing.assert_array_equal(bundle.read("b"), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(bundle.read("c"), np.arange(5, dtype=np.int32))
    names = [f"layer_with_weights-{i}/a_rather_long_attribute_name_{i:04d}" for i in range(300)]
    save(prefix=str(tmp_path / "many"), tensor_names=names, shape_and_slices=[""] * 300,
         tensors=[tf.fill((2,), float(i)) for i in range(300)])
    assert os.path.getsize(tmp_path / "many.index") > 3 * 4096       # several data blocks
    many = TensorBundle(tmp_path, prefix="many")
    assert many.keys() == sorted(names)
    assert all(many.read(n)[0] == i for i, n in enumerate(names))


def test_sliced_variable_refused(tf: Any, tmp_path: Path) -> None:
    tf.raw_ops.SaveV2(prefix=str(tmp_path / "ck"), tensor_names=["part", "whole"],
                      shape_and_slices=["4 2 0,2:-", ""], tensors=[tf.ones((2, 2)), tf.zeros(3)])
    bundle = TensorBundle(tmp_path, prefix="ck")
    assert bundle.keys() == ["part", "whole"]           # the slice's own key is not listed
    with pytest.raises(UnsafeModelError, match="sliced"):
        bundle.read("part")
    np.testing.assert_array_equal(bundle.read("whole"), np.zeros(3, np.float32))
