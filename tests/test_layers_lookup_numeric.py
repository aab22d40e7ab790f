"""Normalization and Discretization against live Keras 3.15.1 (TensorFlow backend).

* Normalization: ``adapt`` on arrays, lists of batches and ``ArrayDataset`` for every
  axis choice (hypothesis), given statistics broadcast from the right, ``invert``; the
  weights ``mean`` / ``variance`` / ``count``; inside models with masks; gradients against
  ``tf.GradientTape``; ``fit``; ``.keras`` files both ways (Keras's int64 ``count``).
* Discretization: ``adapt``'s approximate quantiles give Keras's boundaries (hypothesis
  over data, batches, ``num_bins``, ``epsilon``); bucketing of NaN / infinities; every
  output mode (rank > 2 reduces axis 1, as Keras); configs after ``adapt``; files.
* Bad arguments and inputs: ValueError / TypeError from rnnlens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnnlens
from oracle import keras_available
from rnnlens.interop.keras_config import Limits, _Reader
from rnnlens.layers import Discretization, Normalization
from rnnlens.utils import ArrayDataset

pytestmark = pytest.mark.keras
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


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


def floats(shape: tuple) -> Any:
    return hnp.arrays(np.float32, shape, elements=st.floats(-100, 100, width=32))


# ---------------------------------------------------------------------------- Normalization
@st.composite
def norm_case(draw: Any) -> tuple:
    shape = draw(st.sampled_from([(6, 3), (5, 2, 4), (4, 3, 2, 2), (7, 1)]))
    ndim = len(shape)
    axis = draw(st.sampled_from([-1, None, 1, (-1,)] + ([(1, ndim - 1)] if ndim > 2 else [])))
    data = draw(floats(shape))
    # A spread in every position: near-constant data makes both libraries divide rounding
    # noise by sqrt(~0), which no two summation orders agree on.
    data = data + np.linspace(-5.0, 5.0, data.size, dtype=np.float32).reshape(shape)[::-1]
    data[::2] *= -1.0
    x = draw(floats((2, *shape[1:])))
    return axis, draw(st.booleans()), data, x, draw(st.sampled_from(["array", "batches",
                                                                   "dataset"]))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=norm_case())
def test_normalization_adapt_matches_keras(K: Any, case: tuple, parity: Any) -> None:
    axis, invert, data, x, form = case
    ours, theirs = Normalization(axis=axis, invert=invert), \
        K.layers.Normalization(axis=axis, invert=invert)
    if form == "array":
        feed_ours = feed_theirs = data
    elif form == "batches":
        feed_ours = feed_theirs = [data[:3], data[3:]]
    else:
        feed_ours, feed_theirs = ArrayDataset(data, batch_size=2), ArrayDataset(data,
                                                                                batch_size=2)
    try:
        theirs.adapt(feed_theirs)
        want = np.asarray(theirs(x))
    except Exception:                              # noqa: BLE001 - e.g. a repeated axis
        with pytest.raises((ValueError, TypeError)):
            ours.adapt(feed_ours)
            ours(x)
        return
    ours.adapt(feed_ours)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        b = np.asarray(b, np.float32)
        scale = max(1.0, float(np.abs(b).max(initial=0.0)))    # relative for large moments
        parity(a / scale, b / scale, name="mean / variance / count (relative)")
    got = ours(x)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    parity(got / scale, want / scale, name="output (relative)")


@pytest.mark.parametrize("kw,shape", [(dict(mean=3.0, variance=2.0), (3, 1)),
                                      (dict(mean=[1.0, 2.0], variance=[4.0, 0.0]), (3, 2)),
                                      (dict(axis=(1, 2), mean=[1.0, 2.0], variance=[4.0, 1.0]),
                                       (2, 3, 2)),
                                      (dict(axis=(1, 2), mean=[[1.0, 2.0]] * 3,
                                            variance=[[4.0, 1.0]] * 3, invert=True), (2, 3, 2)),
                                      (dict(axis=None, mean=0.5, variance=0.25), (2, 3))])
def test_normalization_given_statistics(K: Any, kw: dict, shape: tuple, parity: Any) -> None:
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    parity(Normalization(**kw)(x), np.asarray(K.layers.Normalization(**kw)(x)), name=str(kw))
    assert Normalization(**kw).get_config()["mean"] == \
        K.layers.Normalization(**kw).get_config()["mean"]


def norm_model(m: Any, data: np.ndarray) -> Any:
    norm = m.layers.Normalization()
    norm.adapt(data)
    inp = m.Input(shape=(4, 3))
    x = m.layers.Masking(0.0)(inp)
    x = m.layers.LSTM(2)(norm(x))
    return m.Model(inp, m.layers.Dense(1)(x))


def test_normalization_in_models_gradients_fit_files(K: Any, tf: Any, tmp_path: Path,
                                                     parity: Any) -> None:
    from rnnlens.training import gradients

    rng = np.random.default_rng(1)
    data = rng.normal(2.0, 3.0, size=(8, 4, 3)).astype(np.float32)
    x, y = data.copy(), rng.normal(size=(8, 1)).astype(np.float32)
    x[0, 2:] = 0.0                                          # masked steps
    K.utils.set_random_seed(4)
    theirs, ours = norm_model(K, data), norm_model(rnnlens, data)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    parity(ours.predict(x), theirs.predict(x, verbose=0), name="predict")
    with tf.GradientTape() as tape:
        loss = K.losses.MeanSquaredError()(y, theirs(x))
    want = tape.gradient(loss, theirs.trainable_weights)
    got = gradients(ours, x, y, rnnlens.losses.MeanSquaredError())
    got = [g for g, r in zip(got, ours.weight_records()) if r.trainable]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        parity(np.asarray(g), np.asarray(w), name="gradient")
    theirs.compile(optimizer=K.optimizers.SGD(0.05), loss="mse")
    ours.compile(optimizer=rnnlens.optimizers.SGD(0.05), loss="mse")
    hk = theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    hr = ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    parity(np.array(hr), np.array(hk), name="fit history")
    theirs.save(tmp_path / "k.keras")
    parity(rnnlens.models.load_model(tmp_path / "k.keras").predict(x),
           theirs.predict(x, verbose=0), name="keras file")
    ours.save(tmp_path / "r.keras")
    parity(np.asarray(K.models.load_model(tmp_path / "r.keras").predict(x, verbose=0)),
           ours.predict(x), name="rnnlens file")


@pytest.mark.parametrize("kw", [dict(mean=1.0), dict(variance=1.0),
                                dict(mean=[1.0, 2.0], variance=[1.0]),
                                dict(axis=-1, mean=[[1.0]], variance=[[1.0]]),
                                dict(axis="x"), dict(mean="a", variance="b")], ids=str)
def test_normalization_bad_arguments(K: Any, kw: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        Normalization(**kw)(np.ones((2, 1), np.float32))
    with pytest.raises(Exception):                 # noqa: B017 - Keras's own kinds
        K.layers.Normalization(**kw)(np.ones((2, 1), np.float32))


def test_normalization_bad_adapt_data() -> None:
    with pytest.raises(TypeError, match="shape"):
        Normalization().adapt([[1.0, 2.0], [3.0, 4.0]])           # a list of rows, not batches
    with pytest.raises(ValueError, match="empty"):
        Normalization().adapt([])
    with pytest.raises(TypeError):
        Normalization().adapt(3.0)
    layer = Normalization()
    layer.adapt(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="incompatible"):
        layer.adapt(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="range"):
        Normalization(axis=3)(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="repeats"):           # Keras: a reshape error
        Normalization(axis=(1, -1))(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="negative"):          # Keras: NaN outputs
        Normalization(mean=0.0, variance=-1.0)


# ---------------------------------------------------------------------------- Discretization
@st.composite
def disc_case(draw: Any) -> tuple:
    n = draw(st.integers(1, 400))
    values = draw(hnp.arrays(np.float64, n, elements=st.floats(-1e4, 1e4)))
    split = draw(st.integers(0, n))
    return (values, draw(st.integers(1, 12)), draw(st.sampled_from([0.01, 0.1, 0.25, 0.003])),
            draw(st.sampled_from(["array", "batches"])), split)


@FUZZ
@given(case=disc_case())
def test_discretization_adapt_matches_keras(K: Any, case: tuple) -> None:
    values, num_bins, epsilon, form, split = case
    data = values if form == "array" else [values[:split], values[split:]]
    ours = Discretization(num_bins=num_bins, epsilon=epsilon)
    theirs = K.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    ours.adapt(data)
    theirs.adapt(data)
    assert ours.bin_boundaries == theirs.bin_boundaries
    x = values[:20].astype(np.float32)
    assert np.array_equal(ours(x), np.asarray(theirs(x)))
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(5,), (4, 1), (3, 4), (2, 3, 4)])
def test_discretization_modes_match_keras(K: Any, mode: str, shape: tuple) -> None:
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    x.reshape(-1)[:3] = [np.nan, np.inf, -np.inf][: x.size]
    kw = dict(bin_boundaries=[-0.5, 0.0, 0.75], output_mode=mode)
    got = Discretization(**kw)(x)
    want = np.asarray(K.layers.Discretization(**kw)(x))
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.array_equal(got, want)
    assert Discretization(**kw).compute_output_shape(shape) == \
        K.layers.Discretization(**kw).compute_output_shape(shape)


def test_discretization_config_after_adapt_and_files(K: Any, tf: Any, tmp_path: Path) -> None:
    data = np.arange(100.0, dtype=np.float32)
    ours = Discretization(num_bins=5)
    ours.adapt(data)
    config = ours.get_config()
    again = Discretization.from_config(config)
    assert again.bin_boundaries == ours.bin_boundaries
    read = _Reader("t", Limits()).layer({"class_name": "Discretization", "config": config})
    assert read.bin_boundaries == ours.bin_boundaries
    theirs = K.layers.Discretization.from_config(config)
    assert theirs.bin_boundaries == ours.bin_boundaries

    def build(m: Any) -> Any:
        layer = m.layers.Discretization(num_bins=4, output_mode="count")
        layer.adapt(data)
        inp = m.Input(shape=(3,))
        return m.Model(inp, m.layers.Dense(2)(layer(inp)))

    x = np.array([[1.0, 50.0, 99.0], [-5.0, 25.0, 75.0]], np.float32)
    K.utils.set_random_seed(1)
    k_model = build(K)
    k_model.save(tmp_path / "k.keras")
    np.testing.assert_allclose(rnnlens.models.load_model(tmp_path / "k.keras").predict(x),
                               k_model.predict(x, verbose=0), atol=1e-6)
    r_model = build(rnnlens)
    r_model.set_weights([np.asarray(w) for w in k_model.get_weights()])
    r_model.save(tmp_path / "r.keras")
    np.testing.assert_allclose(K.models.load_model(tmp_path / "r.keras").predict(x, verbose=0),
                               r_model.predict(x), atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(num_bins=3, bin_boundaries=[1.0]),
                                dict(num_bins=-1), dict(bin_boundaries=[0.0], output_mode="tf_idf"),
                                dict(bin_boundaries=[0.0], sparse=True),
                                dict(bin_boundaries=["a"]), dict(bin_boundaries=[2.0, 1.0])],
                         ids=str)
def test_discretization_bad_arguments(K: Any, kw: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        Discretization(**kw)(np.ones((2, 1), np.float32))
    with pytest.raises(Exception):                 # noqa: B017 - Keras's own kinds
        K.layers.Discretization(**kw)(np.ones((2, 1), np.float32))


def test_discretization_bad_adapt() -> None:
    with pytest.raises(ValueError, match="bin_boundaries"):
        Discretization(bin_boundaries=[1.0]).adapt(np.ones(3))
    with pytest.raises(ValueError, match="num_bins=0"):
        Discretization(num_bins=0).adapt(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        Discretization(num_bins=2).adapt(np.array([1.0, np.nan]))
    with pytest.raises(TypeError):
        Discretization(bin_boundaries=[1.0])(np.array(["a"]))
    with pytest.raises(ValueError, match="adapt"):
        Discretization(num_bins=2)(np.ones(2))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(kw=st.dictionaries(st.sampled_from(["bin_boundaries", "num_bins", "epsilon",
                                           "output_mode"]),
                          st.one_of(st.none(), st.integers(-2, 6), st.floats(-1, 1),
                                    st.lists(st.floats(-3, 3), max_size=4),
                                    st.sampled_from(["int", "count", "one_hot"])), max_size=4),
       x=hnp.arrays(np.float32, st.integers(1, 6), elements=st.floats(-5, 5, width=32)))
def test_fuzz_discretization_and_normalization(kw: dict, x: np.ndarray) -> None:
    try:
        layer = Discretization(**kw)
        if layer.bin_boundaries is None:
            layer.adapt(x)
        out = layer(x)
        assert isinstance(out, np.ndarray)
    except (ValueError, TypeError):
        pass
    try:
        norm = Normalization(axis=kw.get("num_bins"), mean=kw.get("epsilon"),
                             variance=kw.get("epsilon"))
        assert np.all(np.isfinite(norm(x[None])))
    except (ValueError, TypeError):
        pass
