"""GroupNormalization, RMSNormalization and the adaptive pooling layers (and
``ops.adaptive_average_pool`` / ``adaptive_max_pool``) against live Keras 3.15.1.

Values over their arguments (groups incl. -1 and 1, channel axes, centering / scaling;
RMS axes incl. Keras's right-aligned scale broadcast; pooling to smaller, equal and larger
sizes in 1-D / 2-D / 3-D and both data formats), gradients against ``tf.GradientTape``,
masks (GroupNormalization passes them on, the others drop them), a short fit, configs,
files both ways, summaries, errors, and hypothesis properties (normalized statistics,
adaptive windows covering the input, constants pooled to themselves). Where Keras's
max pooling crashes TensorFlow (a large window longer than the axis: output size 1 or an
axis of length 1) the windows' maxima are checked directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from regact_parity import file_round_trips
from remaining_parity import (fit_both, floats, keras_module, summary_lines,
                              trainable_gradients, twins)
from rnnlens import layers as RL
from rnnlens import ops as rops


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


def _copy_eager(K: Any, parity: Any, kind: str, kwargs: dict, x: np.ndarray,
                name: str, **init: Any) -> None:
    theirs = getattr(K.layers, kind)(**kwargs, **init)
    expected = np.asarray(theirs(x))
    ours = getattr(RL, kind)(**kwargs)
    ours.build(x.shape)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    out = ours(x)
    assert out.dtype == np.float32
    parity(out, expected, name=name)


# ------------------------------------------------------------------- GroupNormalization

GN = [({"groups": 4}, (2, 5, 8)), ({"groups": -1}, (2, 5, 8)), ({"groups": 1}, (2, 5, 8)),
      ({"groups": 2, "axis": 1}, (2, 8, 3, 2)), ({"groups": 3, "center": False}, (3, 6)),
      ({"groups": 2, "scale": False, "epsilon": 0.1}, (2, 4, 3, 4)),
      ({"groups": 2, "axis": -2}, (2, 3, 4, 5))]


@pytest.mark.parametrize("kwargs, shape", GN, ids=[str(k) for k, _ in GN])
def test_group_normalization_equals_keras(K: Any, parity: Any, kwargs: dict,
                                          shape: tuple) -> None:
    _copy_eager(K, parity, "GroupNormalization", kwargs, floats(shape, 1, 3.0), f"GN {kwargs}",
                gamma_initializer="random_normal", beta_initializer="random_normal")


@pytest.mark.parametrize("kwargs, shape", GN[:2] + GN[3:5], ids=[str(k) for k, _ in
                                                                 GN[:2] + GN[3:5]])
def test_group_normalization_gradients(K: Any, parity: Any, kwargs: dict,
                                       shape: tuple) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input(shape[1:])
        y = lib.layers.GroupNormalization(**kwargs)(lib.layers.Dense(shape[-1])(i))
        return lib.Model(i, y)
    kmodel, rmodel = twins(K, build)
    trainable_gradients(parity, K, kmodel, rmodel, floats(shape, 2), floats(shape, 3),
                        f"GN {kwargs}")


def test_group_normalization_passes_masks(K: Any, parity: Any) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input((6, 4))
        y = lib.layers.GroupNormalization(2)(lib.layers.Masking(0.0)(i))
        return lib.Model(i, lib.layers.LSTM(3, return_sequences=True)(y))
    kmodel, rmodel = twins(K, build)
    x = floats((3, 6, 4), 4)
    x[0, 4:] = 0.0
    x[1, :2] = 0.0
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name="GN mask -> LSTM")


# --------------------------------------------------------------------- RMSNormalization


def test_rms_normalization_drops_masks(K: Any, parity: Any) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input((6, 4))
        y = lib.layers.RMSNormalization()(lib.layers.Masking(0.0)(i))
        return lib.Model(i, lib.layers.LSTM(3, return_sequences=True)(y))
    kmodel, rmodel = twins(K, build)
    x = floats((3, 6, 4), 4)
    x[0, 4:] = 0.0
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name="RMS mask dropped")


RMS = [({}, (2, 5, 8)), ({"axis": [1, 2]}, (2, 5, 8)), ({"epsilon": 0.5}, (3, 4)),
       ({"axis": 1}, (2, 6, 6)), ({"axis": [-2, -1]}, (2, 3, 4, 5))]


@pytest.mark.parametrize("kwargs, shape", RMS, ids=[str(k) for k, _ in RMS])
def test_rms_normalization_equals_keras(K: Any, parity: Any, kwargs: dict,
                                        shape: tuple) -> None:
    x = floats(shape, 5, 2.0)
    theirs = K.layers.RMSNormalization(**kwargs)
    theirs.build(x.shape)
    theirs.set_weights([floats(w.shape, 6) for w in theirs.get_weights()])
    expected = np.asarray(theirs(x))
    ours = RL.RMSNormalization(**kwargs)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    parity(ours(x), expected, name=f"RMS {kwargs}")
    assert ours.get_config() == theirs.get_config() | {"name": ours.name}   # axis a list


@pytest.mark.parametrize("kwargs, shape", RMS[:2] + RMS[3:], ids=[str(k) for k, _ in
                                                                  RMS[:2] + RMS[3:]])
def test_rms_normalization_gradients(K: Any, parity: Any, kwargs: dict, shape: tuple) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input(shape[1:])
        return lib.Model(i, lib.layers.RMSNormalization(**kwargs)(lib.layers.Dense(shape[-1])(i)))
    kmodel, rmodel = twins(K, build)
    trainable_gradients(parity, K, kmodel, rmodel, floats(shape, 7), floats(shape, 8),
                        f"RMS {kwargs}")


def test_rms_scale_that_does_not_broadcast_is_named(K: Any) -> None:
    x = floats((2, 5, 3), 0)
    import tensorflow as tf  # noqa: PLC0415

    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):   # TensorFlow's error
        K.layers.RMSNormalization(axis=1)(x)
    with pytest.raises(ValueError, match="right-aligned"):
        RL.RMSNormalization(axis=1)(x)


def test_normalization_fit_files_summary(K: Any, parity: Any, tmp_path: Path) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5, 8), name="x"), lib.layers.Dense(8, name="d"),
                               lib.layers.GroupNormalization(4, name="gn"),
                               lib.layers.RMSNormalization(name="rms"),
                               lib.layers.Dense(2, name="out")], name="m")
    fit_both(parity, K, build, floats((8, 5, 8), 9), floats((8, 5, 2), 10), "GN+RMS")
    file_round_trips(parity, K, build, floats((2, 5, 8), 11), tmp_path, "norms")
    assert summary_lines(build(rnnlens)) == summary_lines(build(K))


@pytest.mark.parametrize("kwargs, shape, match", [
    ({"groups": 3}, (2, 8), "multiple"), ({"groups": 16}, (2, 8), "cannot be more"),
    ({"groups": 0}, None, "groups"), ({"groups": 2.5}, None, "groups"),
    ({"groups": 2, "axis": 0}, (2, 8), "channel axis"),
])
def test_group_normalization_errors(kwargs: dict, shape: Any, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        RL.GroupNormalization(**kwargs).build(shape)


def test_normalization_errors_after_build() -> None:
    gn = RL.GroupNormalization(2)
    gn(floats((2, 4), 0))
    with pytest.raises(ValueError, match="expected axis -1"):
        gn(floats((2, 6), 0))
    rms = RL.RMSNormalization()
    rms(floats((2, 4), 0))
    with pytest.raises(ValueError, match="built for sizes"):
        rms(floats((2, 5), 0))
    with pytest.raises(ValueError, match="out of bounds"):
        RL.RMSNormalization(axis=3)(floats((2, 4), 0))


@settings(max_examples=25, deadline=None)
@given(groups=st.sampled_from([1, 2, 4, -1]), batch=st.integers(1, 3),
       steps=st.integers(1, 4), seed=st.integers(0, 99))
def test_group_normalization_statistics(groups: int, batch: int, steps: int,
                                        seed: int) -> None:
    """With gamma = 1, beta = 0 every (sample, group) has mean 0 and variance
    var / (var + epsilon)."""
    x = floats((batch, steps, 4), seed, 5.0).astype(np.float64)
    layer = RL.GroupNormalization(groups, epsilon=1e-3)
    y = np.asarray(layer(x), np.float64)
    g = layer.groups
    xr, yr = x.reshape(batch, steps, g, 4 // g), y.reshape(batch, steps, g, 4 // g)
    var = xr.var(axis=(1, 3))
    np.testing.assert_allclose(yr.mean(axis=(1, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(yr.var(axis=(1, 3)), var / (var + 1e-3), atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), seed=st.integers(0, 99))
def test_rms_normalization_unit_rms(shape: list, seed: int) -> None:
    x = floats(tuple(shape), seed, 3.0) + 0.5
    y = RL.RMSNormalization(epsilon=0.0)(x)
    np.testing.assert_allclose(np.sqrt(np.mean(np.square(y), axis=-1)), 1.0, atol=1e-5)


# ---------------------------------------------------------------------- adaptive pooling

POOL = [(1, 7, 3), (1, 10, 4), (1, 5, 5), (1, 3, 7), (2, (7, 6), (3, 4)), (2, (4, 9), (5, 2)),
        (3, (5, 4, 6), (2, 3, 4)), (3, (3, 5, 4), (4, 2, 3))]


def _pool_input(rank: int, size: Any, fmt: str, seed: int) -> np.ndarray:
    spatial = (size,) if rank == 1 else tuple(size)
    shape = (2, *spatial, 3) if fmt == "channels_last" else (2, 3, *spatial)
    return floats(shape, seed)


@pytest.mark.parametrize("mode", ["Average", "Max"])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank, size, out", POOL, ids=[str(p) for p in POOL])
def test_adaptive_pooling_equals_keras(K: Any, parity: Any, mode: str, fmt: str, rank: int,
                                       size: Any, out: Any) -> None:
    kind = f"Adaptive{mode}Pooling{rank}D"
    x = _pool_input(rank, size, fmt, 12)
    kwargs = {"output_size": out, "data_format": fmt}
    expected = np.asarray(getattr(K.layers, kind)(**kwargs)(x))
    parity(getattr(RL, kind)(**kwargs)(x), expected, name=f"{kind} {size}->{out} {fmt}")
    op = rops.adaptive_average_pool if mode == "Average" else rops.adaptive_max_pool
    kop = K.ops.adaptive_average_pool if mode == "Average" else K.ops.adaptive_max_pool
    import tensorflow as tf  # noqa: PLC0415

    parity(op(x, out, data_format=fmt), np.asarray(kop(tf.constant(x), out, data_format=fmt)),
           name=f"ops {kind}")


@pytest.mark.parametrize("kind, shape, out", [
    ("AdaptiveAveragePooling1D", (6, 4), 4), ("AdaptiveMaxPooling1D", (7, 3), 3),
    ("AdaptiveAveragePooling2D", (5, 6, 2), (3, 4)), ("AdaptiveMaxPooling2D", (5, 6, 2), (2, 4)),
    ("AdaptiveAveragePooling3D", (4, 5, 3, 2), (3, 2, 2)),
    ("AdaptiveMaxPooling3D", (4, 5, 3, 2), (3, 2, 2))])
def test_adaptive_pooling_gradients(K: Any, parity: Any, kind: str, shape: tuple,
                                    out: Any) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input(shape)
        y = getattr(lib.layers, kind)(out)(lib.layers.Dense(shape[-1])(i))
        return lib.Model(i, lib.layers.Flatten()(y))
    kmodel, rmodel = twins(K, build)
    x = floats((3, *shape), 13)
    y = floats(np.asarray(kmodel(x)).shape, 14)
    trainable_gradients(parity, K, kmodel, rmodel, x, y, kind)


def test_adaptive_max_where_keras_crashes() -> None:
    """Output size 1 or an axis of length 1: Keras's TensorFlow max pool gets an empty
    large-window pool and dies with SIGFPE; rnnlens returns each window's maximum."""
    x = floats((2, 5, 3), 15)
    np.testing.assert_array_equal(RL.AdaptiveMaxPooling1D(1)(x), x.max(axis=1, keepdims=True))
    one = floats((2, 1, 3), 16)
    np.testing.assert_array_equal(RL.AdaptiveMaxPooling1D(3)(one), np.repeat(one, 3, axis=1))
    np.testing.assert_allclose(RL.AdaptiveAveragePooling1D(1)(x), x.mean(axis=1, keepdims=True),
                               atol=1e-6)


def test_adaptive_pooling_fit_files_summary(K: Any, parity: Any, tmp_path: Path) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((8, 6, 2), name="x"), lib.layers.Dense(3, name="d"),
                               lib.layers.AdaptiveMaxPooling2D((3, 4), name="mx"),
                               lib.layers.AdaptiveAveragePooling2D(2, name="av"),
                               lib.layers.Flatten(name="f"), lib.layers.Dense(2, name="o")],
                              name="m")
    fit_both(parity, K, build, floats((8, 8, 6, 2), 17), floats((8, 2), 18), "adaptive")
    file_round_trips(parity, K, build, floats((2, 8, 6, 2), 19), tmp_path, "adaptive")
    assert summary_lines(build(rnnlens)) == summary_lines(build(K))


def test_adaptive_pooling_symbolic_unknown_sizes(K: Any, parity: Any) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input((None, None, 3))
        return lib.Model(i, lib.layers.AdaptiveAveragePooling2D((2, 3))(i))
    kmodel, rmodel = build(K), build(rnnlens)
    assert tuple(rmodel.output.shape) == tuple(kmodel.output.shape) == (None, 2, 3, 3)
    x = floats((2, 7, 5, 3), 20)
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name="adaptive None sizes")


def test_adaptive_pooling_masks_are_dropped() -> None:
    x = floats((2, 6, 3), 21)
    x[0, 3:] = 0.0
    y = RL.AdaptiveAveragePooling1D(3)(RL.Masking()(x))
    assert getattr(y, "_keras_mask", None) is None


@pytest.mark.parametrize("call, match", [
    (lambda: RL.AdaptiveAveragePooling2D((2, 3, 4)), "output_size"),
    (lambda: RL.AdaptiveMaxPooling1D(0), "output_size"),
    (lambda: RL.AdaptiveMaxPooling1D("3"), "output_size"),
    (lambda: RL.AdaptiveAveragePooling1D(2, data_format="nhwc"), "data_format"),
    (lambda: RL.AdaptiveAveragePooling2D(2)(floats((2, 4, 3), 0)), "ndim=4"),
    (lambda: rops.adaptive_average_pool(np.ones((2, 4, 3), np.int32), 2), "int32"),
    (lambda: rops.adaptive_max_pool(np.ones((2, 3)), 2), "rank"),
    (lambda: rops.adaptive_max_pool(np.ones((2, 4, 4, 3)), (2, 2, 2)), "output_size"),
])
def test_adaptive_pooling_errors(call: Any, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@settings(max_examples=40, deadline=None)
@given(length=st.integers(1, 40), out=st.integers(1, 40), seed=st.integers(0, 99))
def test_adaptive_windows_cover_the_axis(length: int, out: int, seed: int) -> None:
    """Each window is non-empty and inside the axis, windows start in order, the first
    starts at 0 and the last ends at the axis's end; a constant pools to itself."""
    from rnnlens.ops.nn_adaptive import adaptive_windows

    starts, sizes = adaptive_windows(length, out)
    assert np.all(sizes >= 1) and np.all(starts + sizes <= length)
    assert starts[0] == 0 and starts[-1] + sizes[-1] == length
    assert np.all(np.diff(starts) >= 0)
    c = np.full((1, length, 2), 0.25 + seed, np.float32)
    np.testing.assert_allclose(rops.adaptive_average_pool(c, out), 0.25 + seed, rtol=1e-6)
    np.testing.assert_array_equal(rops.adaptive_max_pool(c, out), 0.25 + seed)
