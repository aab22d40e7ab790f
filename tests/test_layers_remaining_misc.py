"""CategoryEncoding, HashedCrossing, Pipeline, SpectralNormalization, Wrapper and
InputSpec against live Keras 3.15.1.

CategoryEncoding: every mode over scalar / 1-D / 2-D / 3-D ids, count_weights, ids out
of range, dtypes, inside models, files, refusals. HashedCrossing: TensorFlow's crossed
FarmHash fingerprints of ints and strings (hypothesis over random values), shapes, one-hot,
files both ways with string inputs. Pipeline: values, training mode when called alone,
masks, gradients, fit, files, summary. SpectralNormalization: inference, the power
iteration in training (kernel and vector_u written back), Dense / Conv2D / Embedding,
gradients in training, fit, files (the kernel at both of Keras's paths, legacy .h5),
errors. Wrapper: a user subclass. InputSpec: Keras's checks and messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from regact_parity import file_round_trips, keras_save, layer_configs
from remaining_parity import (fit_both, floats, keras_module, summary_lines,
                              trainable_gradients, twins)
from rnnlens import layers as RL


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


# --------------------------------------------------------------------- CategoryEncoding

IDS = [np.array(2), np.array([0, 1, 3]), np.array([[0, 1], [3, 3]]), np.array([[0], [3]]),
       np.array([[0, 5]]), np.array([[[0, 1], [1, 2], [3, 3]]]),
       np.array([[0.0, 1.7]], np.float32)]


@pytest.mark.parametrize("mode", ["multi_hot", "one_hot", "count", "binary"])
@pytest.mark.parametrize("k", range(len(IDS)))
def test_category_encoding_equals_keras(K: Any, mode: str, k: int) -> None:
    ids = IDS[k]
    theirs = np.asarray(K.layers.CategoryEncoding(4, mode)(ids))
    ours = RL.CategoryEncoding(4, mode)(ids)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_category_encoding_weights_dtypes_and_shapes(K: Any) -> None:
    ids, w = np.array([[0, 1], [1, 1]]), np.array([[0.5, 2.0], [1.0, 3.0]], np.float32)
    np.testing.assert_allclose(RL.CategoryEncoding(4, "count")(ids, count_weights=w),
                               np.asarray(K.layers.CategoryEncoding(4, "count")(
                                   ids, count_weights=w)))
    for mode, dtype in (("multi_hot", "int32"), ("one_hot", "int64")):
        theirs = np.asarray(K.layers.CategoryEncoding(4, mode, dtype=dtype)(ids))
        ours = RL.CategoryEncoding(4, mode, dtype=dtype)(ids)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    for shape in [(None, 3), (None, 1), ()]:
        for mode in ("one_hot", "multi_hot"):
            assert RL.CategoryEncoding(5, mode).compute_output_shape(shape) == \
                tuple(K.layers.CategoryEncoding(5, mode).compute_output_shape(shape))


def test_category_encoding_in_a_model_and_files(K: Any, parity: Any, tmp_path: Path) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input((3,), dtype="int32", name="ids")
        y = lib.layers.CategoryEncoding(6, "count", name="enc")(i)
        return lib.Model(i, lib.layers.Dense(2, name="d")(y), name="m")
    ids = np.array([[0, 1, 1], [5, 5, 2]], np.int32)
    file_round_trips(parity, K, build, ids, tmp_path, "category")
    assert summary_lines(build(rnnlens)) == summary_lines(build(K))
    kmodel, rmodel = twins(K, build)
    trainable_gradients(parity, K, kmodel, rmodel, ids, floats((2, 2), 1), "CategoryEncoding")


@pytest.mark.parametrize("make, match", [
    (lambda: RL.CategoryEncoding(4)(np.array([[0, -1]])), "negative"),
    (lambda: RL.CategoryEncoding(4, sparse=True), "sparse"),
    (lambda: RL.CategoryEncoding(), "num_tokens"),
    (lambda: RL.CategoryEncoding(0), "num_tokens"),
    (lambda: RL.CategoryEncoding(4, "tf_idf"), "output_mode"),
    (lambda: RL.CategoryEncoding(4)(np.array([[0, 1]]), count_weights=np.ones((1, 2))),
     "count_weights"),
    (lambda: RL.CategoryEncoding(4, "count")(np.array([[0, 1]]),
                                             count_weights=np.ones((1, 3))), "shape"),
    (lambda: RL.CategoryEncoding(4)(np.array(["a"])), "integer"),
])
def test_category_encoding_errors(make: Any, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@settings(max_examples=30, deadline=None)
@given(ids=st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=5), min_size=1,
                    max_size=4).filter(lambda r: len({len(x) for x in r}) == 1))
def test_multi_hot_is_count_above_zero(ids: list) -> None:
    x = np.array(ids)
    count = RL.CategoryEncoding(5, "count")(x)
    np.testing.assert_array_equal(RL.CategoryEncoding(5)(x), (count > 0).astype(np.float32))
    np.testing.assert_array_equal(count.sum(axis=-1), (x < 5).sum(axis=-1))


# ------------------------------------------------------------------------ HashedCrossing

def test_hashed_crossing_equals_keras(K: Any) -> None:
    a = np.array([1, 2, -3, 40000000000], np.int64)
    b = np.array(["x", "yy", "", "a string longer than sixteen bytes, and then some"])
    for num_bins, inputs in ((10, [a, b]), (1000, [b, a, a]), (7, [a.astype(np.int32)] * 2),
                             (5, [a[:, None], b[:, None]]), (3, [np.array(3), np.array("z")])):
        for mode in ("int", "one_hot"):
            theirs = np.asarray(K.layers.HashedCrossing(num_bins, output_mode=mode)(inputs))
            ours = RL.HashedCrossing(num_bins, output_mode=mode)(inputs)
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
            np.testing.assert_array_equal(ours, theirs)


@settings(max_examples=30, deadline=None)
@given(ints=st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=6),
       texts=st.lists(st.text(max_size=40), min_size=6, max_size=6),
       num_bins=st.integers(1, 10**6))
def test_hashed_crossing_matches_tensorflow(ints: list, texts: list, num_bins: int) -> None:
    import tensorflow as tf  # noqa: PLC0415

    a = np.array(ints, np.int64)[:, None]
    b = np.array(texts[:len(ints)], object)[:, None]
    utf8 = np.array([[t.encode("utf-8")] for t in texts[:len(ints)]], object)
    expected = tf.sparse.to_dense(tf.sparse.cross_hashed(
        [tf.constant(a), tf.constant(utf8)], num_bins)).numpy()
    np.testing.assert_array_equal(RL.HashedCrossing(num_bins)([a, b]), expected)


def test_hashed_crossing_files_and_config(K: Any, tmp_path: Path) -> None:
    import tensorflow as tf  # noqa: PLC0415

    def build(lib: Any) -> Any:
        x1, x2 = lib.Input((1,), dtype="int64"), lib.Input((1,), dtype="string")
        y = lib.layers.HashedCrossing(9, output_mode="one_hot")([x1, x2])
        return lib.Model([x1, x2], lib.layers.Dense(2)(y))
    a = np.array([[1], [7], [-2]], np.int64)
    b = np.array([["x"], ["y"], ["x"]], object)
    kmodel = build(K)
    kmodel.set_weights([floats(w.shape, k) for k, w in enumerate(kmodel.get_weights())])
    expected = np.asarray(kmodel([tf.constant(a), tf.constant(b.astype(str))]))
    keras_save(kmodel, tmp_path / "hc.keras")
    loaded = rnnlens.models.load_model(tmp_path / "hc.keras")
    np.testing.assert_allclose(loaded.predict([a, b], verbose=0), expected, atol=1e-6)
    assert layer_configs(loaded) == layer_configs(kmodel)
    native = build(rnnlens)
    native.set_weights(kmodel.get_weights())
    native.save(tmp_path / "hc_rnnlens.keras")
    back = K.models.load_model(tmp_path / "hc_rnnlens.keras")
    np.testing.assert_allclose(np.asarray(back([tf.constant(a), tf.constant(b.astype(str))])),
                               expected, atol=1e-6)
    kw = dict(num_bins=4, output_mode="one_hot", name="h")
    theirs, ours = K.layers.HashedCrossing(**kw).get_config(), \
        RL.HashedCrossing(**kw).get_config()
    assert list(ours) == list(theirs) and ours == theirs


@pytest.mark.parametrize("inputs, match", [
    ([np.array([1, 2])], "at least two"), ([np.array([1, 2]), np.array([1])], "equal shape"),
    ([np.array([1.5, 2.0]), np.array([1, 2])], "integer or string"),
    ([np.ones((2, 2), int), np.ones((2, 2), int)], "batch_size, 1"),
])
def test_hashed_crossing_errors(inputs: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RL.HashedCrossing(3)(inputs)
    with pytest.raises(ValueError, match="sparse"):
        RL.HashedCrossing(3, sparse=True)


# ------------------------------------------------------------------------------ Pipeline

def _pipeline(lib: Any) -> Any:
    return lib.Sequential([lib.Input((5, 4), name="x"),
                           lib.layers.Pipeline([lib.layers.Dense(6, name="p1"),
                                                lib.layers.LayerNormalization(name="p2"),
                                                lib.layers.Dense(3, name="p3")], name="pipe"),
                           lib.layers.Dense(2, name="o")], name="m")


def test_pipeline_equals_keras(K: Any, parity: Any, tmp_path: Path) -> None:
    kmodel, rmodel = twins(K, _pipeline)
    x = floats((3, 5, 4), 2)
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name="Pipeline")
    trainable_gradients(parity, K, kmodel, rmodel, x, floats((3, 5, 2), 3), "Pipeline")
    fit_both(parity, K, _pipeline, floats((8, 5, 4), 4), floats((8, 5, 2), 5), "Pipeline")
    file_round_trips(parity, K, _pipeline, x, tmp_path, "pipeline")
    assert summary_lines(_pipeline(rnnlens)) == summary_lines(_pipeline(K))


def test_pipeline_trains_when_called_alone_and_passes_masks(K: Any, parity: Any) -> None:
    """``Pipeline.call``'s default is training=True (Dropout drops); masks flow through
    its layers and out of it."""
    pipe = RL.Pipeline([RL.Dropout(0.5, seed=1), RL.Dense(2)])
    x = np.ones((200, 4), np.float32)
    dropped = pipe(x)
    assert not np.allclose(dropped, pipe.layers[1](x))
    np.testing.assert_allclose(pipe(x, training=False), pipe.layers[1](x), atol=1e-6)

    def build(lib: Any) -> Any:
        i = lib.Input((6, 3))
        y = lib.layers.Pipeline([lib.layers.Masking(0.0), lib.layers.Dense(4)])(i)
        return lib.Model(i, lib.layers.LSTM(2, return_sequences=True)(y))
    kmodel, rmodel = twins(K, build)
    x = floats((3, 6, 3), 6)
    x[0, 4:] = 0.0
    x[1, :2] = 0.0
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name="Pipeline masks")


def test_pipeline_errors() -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        RL.Pipeline([])
    with pytest.raises(ValueError, match="non-empty list"):
        RL.Pipeline([RL.Dense(2), "relu"])


# ----------------------------------------------------------------- SpectralNormalization

def _sn(lib: Any, inner: str = "dense", iterations: int = 1) -> Any:
    if inner == "dense":
        return lib.Sequential([lib.Input((5,), name="x"), lib.layers.SpectralNormalization(
            lib.layers.Dense(4, name="d"), power_iterations=iterations, name="sn"),
            lib.layers.Dense(2, name="o")], name="m")
    if inner == "conv":
        return lib.Sequential([lib.Input((6, 6, 2)), lib.layers.SpectralNormalization(
            lib.layers.Conv2D(3, 2)), lib.layers.Flatten(), lib.layers.Dense(2)])
    return lib.Sequential([lib.Input((4,), dtype="int32"), lib.layers.SpectralNormalization(
        lib.layers.Embedding(9, 3)), lib.layers.Flatten(), lib.layers.Dense(2)])


def _sn_input(inner: str, seed: int) -> np.ndarray:
    if inner == "embedding":
        return np.random.default_rng(seed).integers(0, 9, (4, 4)).astype(np.int32)
    return floats((4, 5) if inner == "dense" else (4, 6, 6, 2), seed)


@pytest.mark.parametrize("inner, iterations", [("dense", 1), ("dense", 3), ("conv", 2),
                                               ("embedding", 1)])
def test_spectral_normalization_equals_keras(K: Any, parity: Any, inner: str,
                                             iterations: int) -> None:
    """Inference uses the stored kernel; each training call runs the power iteration and
    writes the normalized kernel and vector_u back, as Keras."""
    kmodel, rmodel = twins(K, lambda lib: _sn(lib, inner, iterations))
    x = _sn_input(inner, 7)
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name=f"SN {inner} inference")
    for step in range(2):
        ours = rmodel(x, training=True)
        theirs = np.asarray(kmodel(x, training=True))
        parity(ours, theirs, name=f"SN {inner} training call {step}")
        for k, (a, b) in enumerate(zip(rmodel.get_weights(), kmodel.get_weights())):
            parity(a, np.asarray(b), name=f"SN {inner} weight {k} after call {step}")


@pytest.mark.parametrize("inner", ["dense", "embedding"])
def test_spectral_normalization_gradients_and_fit(K: Any, parity: Any, inner: str) -> None:
    kmodel, rmodel = twins(K, lambda lib: _sn(lib, inner))
    x = _sn_input(inner, 8)
    y = floats((4, 2), 9)
    trainable_gradients(parity, K, kmodel, rmodel, x, y, f"SN {inner}", training=True)
    fit_both(parity, K, lambda lib: _sn(lib, inner), _sn_input(inner, 10), floats((4, 2), 11),
             f"SN {inner}", batch_size=2)


def test_spectral_normalization_files_summary(K: Any, parity: Any, tmp_path: Path) -> None:
    from rnnlens.interop.keras_format import weight_entries

    file_round_trips(parity, K, _sn, _sn_input("dense", 12), tmp_path, "spectral")
    assert summary_lines(_sn(rnnlens)) == summary_lines(_sn(K))
    model = _sn(rnnlens)
    names = [w.name for w in model.layers[0].weight_records()]
    assert names == ["kernel", "vector_u", "bias"]                    # Keras's order
    assert [p for p, _ in weight_entries(model)][:3] == [
        "layers/spectral_normalization/vars/0", "layers/spectral_normalization/vars/1",
        "layers/spectral_normalization/layer/vars/1"]


def test_spectral_normalization_zero_kernel_and_errors() -> None:
    layer = RL.SpectralNormalization(RL.Dense(3, kernel_initializer="zeros"))
    x = floats((2, 4), 0)
    layer(x)
    u = layer.vector_u.copy()
    layer(x, training=True)
    np.testing.assert_array_equal(layer.vector_u, u)                  # Keras's all-zero case
    with pytest.raises(ValueError, match="power_iterations"):
        RL.SpectralNormalization(RL.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="nor 'embeddings'"):
        RL.SpectralNormalization(RL.Dropout(0.5))(x)
    with pytest.raises(ValueError, match="valid Keras layer"):
        RL.SpectralNormalization("dense")


@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 99))
def test_spectral_normalization_approaches_unit_norm(m: int, n: int, seed: int) -> None:
    """Repeated training calls drive the kernel's largest singular value to 1."""
    layer = RL.SpectralNormalization(RL.Dense(n), power_iterations=5)
    x = floats((2, m), seed)
    layer(x)
    for _ in range(10):
        layer(x, training=True)
    sigma = np.linalg.svd(layer.layer.kernel.astype(np.float64), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 1e-3


# -------------------------------------------------------------------- Wrapper, InputSpec

def test_user_wrapper(K: Any) -> None:
    class Twice(RL.Wrapper):
        def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
            return 2 * self.layer(inputs)

        def compute_output_shape(self, input_shape: Any, **kw: Any) -> Any:
            return self.layer.compute_output_shape(input_shape)

    layer = Twice(RL.Dense(3, kernel_initializer="ones"))
    np.testing.assert_allclose(layer(np.ones((1, 2), np.float32)), [[4.0, 4.0, 4.0]])
    assert [w.shape for w in layer.get_weights()] == [(2, 3), (3,)]
    ours = RL.Wrapper(RL.Dense(3, name="d"), name="w").get_config()
    theirs = K.layers.Wrapper(K.layers.Dense(3, name="d"), name="w").get_config()
    assert ours == theirs
    with pytest.raises(ValueError, match="valid Keras layer"):
        RL.Wrapper(3)
    from rnnlens.layers.base import REGISTRY

    assert "Wrapper" not in REGISTRY                    # an abstract base, never in files


SPECS = [dict(ndim=3, axes={-1: 4}), dict(shape=(None, 5, 1), allow_last_axis_squeeze=True,
                                          dtype="float32"),
         dict(min_ndim=3), dict(max_ndim=2), dict(shape=(None, 3))]
SHAPES = [(2, 3), (2, 3, 5), (2, 5), (2, 4, 1), (2, 3, 4), (2, 3, 4, 4)]


@pytest.mark.parametrize("spec", SPECS, ids=[str(s) for s in SPECS])
def test_input_spec_equals_keras(K: Any, spec: dict) -> None:
    theirs, ours = K.layers.InputSpec(**spec), RL.InputSpec(**spec)
    assert repr(ours) == repr(theirs) and ours.get_config() == theirs.get_config()

    class KLayer(K.layers.Layer):
        def call(self, x: Any) -> Any:
            return x

    class RLayer(RL.Layer):
        def call(self, x: Any, **kw: Any) -> Any:
            return x

        def compute_output_shape(self, shape: Any, **kw: Any) -> Any:
            return shape

    for shape in SHAPES:
        k_layer, r_layer = KLayer(name="l"), RLayer(name="l")
        k_layer.input_spec, r_layer.input_spec = theirs, ours
        try:
            k_layer(np.zeros(shape, np.float32))
            expected = None
        except ValueError as err:
            expected = str(err).split("\n")[0]
        if expected is None:
            r_layer(np.zeros(shape, np.float32))
            r_layer(rnnlens.Input(shape[1:]))
            continue
        for arg in (np.zeros(shape, np.float32), rnnlens.Input(shape[1:], batch_size=2)):
            with pytest.raises(ValueError) as err:
                r_layer(arg)
            assert str(err.value) == expected


def test_input_spec_argument_errors() -> None:
    with pytest.raises(ValueError, match="greater than the maximum"):
        RL.InputSpec(ndim=2, axes={3: 1})
    with pytest.raises(TypeError, match="integer keys"):
        RL.InputSpec(axes={"a": 1})
    assert RL.InputSpec.from_config(RL.InputSpec(ndim=2).get_config()).ndim == 2
