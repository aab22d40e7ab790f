"""ReLU, LeakyReLU, PReLU, ELU and Softmax layers against live Keras 3.15.1.

Values over random arguments (hypothesis, including inputs exactly at the threshold and
the maximum), gradients against ``tf.GradientTape`` (PReLU's alpha too, shared axes),
masks into an LSTM, Softmax's explicit mask (attention-score shaped) and its refusal of a
mask that does not broadcast, configs equal to Keras's (key order too), files both
ways, a Keras 2 file's ``LeakyReLU(alpha=...)``, and argument
errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from regact_parity import (compare_gradients, file_round_trips, keras_module, layer_configs,
                           twins)
from rnnlens import layers as RL


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


def _x(shape: tuple, seed: int = 0, scale: float = 4.0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-scale, scale, shape).astype(np.float32)
    x.flat[:6] = [0.0, 1.0, 4.0, 6.0, -1.0, 0.5][: x.size]   # the edges: 0, threshold, max
    return x


FLOATS = st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.5, 4.0, 6.0])


@pytest.mark.keras
@settings(max_examples=25, deadline=None)
@given(max_value=st.one_of(st.none(), FLOATS), slope=FLOATS, threshold=FLOATS,
       seed=st.integers(0, 99))
def test_relu_values_equal_keras(K: Any, max_value: Any, slope: float, threshold: float,
                                 seed: int) -> None:
    x = _x((4, 7), seed)
    kwargs = {"max_value": max_value, "negative_slope": slope, "threshold": threshold}
    expected = np.asarray(K.layers.ReLU(**kwargs)(x))
    np.testing.assert_allclose(RL.ReLU(**kwargs)(x), expected, rtol=0, atol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", [
    ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.05}), ("ELU", {}),
    ("ELU", {"alpha": 0.3}), ("Softmax", {}), ("Softmax", {"axis": 1}),
    ("Softmax", {"axis": [1, 2]}), ("PReLU", {"alpha_initializer": "ones"}),
    ("PReLU", {"shared_axes": [1], "alpha_initializer": "glorot_uniform"}),
])
def test_values_equal_keras(K: Any, parity: Any, kind: str, kwargs: dict) -> None:
    x = _x((3, 5, 4), seed=2)
    theirs = getattr(K.layers, kind)(**kwargs)
    expected = np.asarray(theirs(x))
    ours = getattr(RL, kind)(**kwargs)
    ours.build(x.shape)
    if ours.get_weights():
        ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    out = ours(x)
    assert out.dtype == np.float32
    parity(out, expected, name=f"{kind}({kwargs})")


GRADS = [("ReLU", {}), ("ReLU", {"max_value": 2.0, "negative_slope": 0.2, "threshold": 0.5}),
         ("ReLU", {"max_value": 6.0}), ("ReLU", {"negative_slope": 0.1}),
         ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {}), ("ELU", {"alpha": 0.4}),
         ("Softmax", {}), ("Softmax", {"axis": [1, 2]}), ("PReLU", {}),
         ("PReLU", {"shared_axes": [1]})]


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", GRADS, ids=[f"{k}-{v}" for k, v in GRADS])
def test_gradients_equal_tape(K: Any, parity: Any, kind: str, kwargs: dict) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5, 3)), lib.layers.Dense(6),
                               getattr(lib.layers, kind)(**kwargs), lib.layers.Dense(2)])
    kmodel, rmodel = twins(K, build)
    x = _x((4, 5, 3), seed=3, scale=2.0)
    y = np.random.default_rng(4).normal(size=(4, 5, 2)).astype(np.float32)
    compare_gradients(parity, K, kmodel, rmodel, x, y, f"{kind}({kwargs})")


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["ReLU", "LeakyReLU", "ELU", "PReLU"])
def test_masks_pass_into_lstm(K: Any, parity: Any, kind: str) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input((6, 4))
        x = getattr(lib.layers, kind)()(lib.layers.Masking(0.0)(i))
        return lib.Model(i, lib.layers.LSTM(3, return_sequences=True)(x))
    kmodel, rmodel = twins(K, build)
    x = _x((3, 6, 4), seed=5)
    x[0, 4:] = 0.0
    x[1, :2] = 0.0
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name=f"{kind} mask")


@pytest.mark.keras
def test_softmax_explicit_mask_equals_keras(K: Any, parity: Any) -> None:
    scores = _x((2, 3, 5), seed=6)
    mask = np.ones((2, 1, 5), bool)
    mask[0, 0, 3:] = False
    mask[1, 0, 0] = False
    expected = np.asarray(K.layers.Softmax()(scores, mask=mask))
    parity(RL.Softmax()(scores, mask=mask), expected, name="Softmax mask")
    float_mask = mask.astype(np.float32)          # Keras: > 0.5 keeps
    parity(RL.Softmax()(scores, mask=float_mask), expected, name="Softmax float mask")


def test_softmax_mask_that_does_not_broadcast_is_named() -> None:
    with pytest.raises(ValueError, match=r"broadcastable.*inputs.shape=\(2, 3, 5\)"):
        RL.Softmax()(np.zeros((2, 3, 5), np.float32), mask=np.ones((2, 3), bool))


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", [
    ("ReLU", {"max_value": 3.0, "negative_slope": 0.1, "threshold": 0.5}),
    ("LeakyReLU", {"negative_slope": 0.1}), ("ELU", {"alpha": 0.5}),
    ("Softmax", {"axis": [1, 2]}),
    ("PReLU", {"alpha_initializer": "ones", "alpha_regularizer": "l2", "shared_axes": [1]}),
])
def test_config_equals_keras(K: Any, kind: str, kwargs: dict) -> None:
    theirs = getattr(K.layers, kind)(**kwargs, name="x").get_config()
    ours = getattr(RL, kind)(**kwargs, name="x").get_config()
    assert list(ours) == list(theirs) and ours == theirs


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU"])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, kind: str) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5, 3)), lib.layers.LSTM(4, return_sequences=True),
                               getattr(lib.layers, kind)(), lib.layers.Dense(2)])
    file_round_trips(parity, K, build, _x((2, 5, 3), seed=7), tmp_path, kind)


@pytest.mark.keras
def test_keras2_leaky_relu_alpha_file_loads(parity: Any, tmp_path: Path) -> None:
    tfk = pytest.importorskip("tf_keras")
    tfk.backend.clear_session()                 # automatic names as in a fresh session
    model = tfk.Sequential([tfk.layers.LSTM(4, input_shape=(5, 3), return_sequences=True),
                            tfk.layers.LeakyReLU(alpha=0.15), tfk.layers.PReLU(),
                            tfk.layers.ELU(alpha=0.7), tfk.layers.ReLU(max_value=1.5),
                            tfk.layers.Softmax()])
    model.save(tmp_path / "k2.h5")
    x = _x((2, 5, 3), seed=8)
    ours = rnnlens.models.load_model(tmp_path / "k2.h5")
    assert ours.layers[1].negative_slope == pytest.approx(0.15)
    parity(ours.predict(x, verbose=0), model.predict(x, verbose=0), name="tf_keras file")
    assert [c["name"] for c in layer_configs(ours)][:2] == ["lstm", "leaky_re_lu"]


def test_leaky_relu_keras2_argument_name() -> None:
    assert RL.LeakyReLU(alpha=0.25).negative_slope == 0.25
    with pytest.raises(TypeError, match="both `alpha`"):
        RL.LeakyReLU(alpha=0.2, negative_slope=0.1)


@pytest.mark.parametrize("kind, kwargs, match", [
    ("ReLU", {"max_value": -1.0}, "max_value"),
    ("ReLU", {"negative_slope": -0.1}, "negative_slope"),
    ("ReLU", {"threshold": float("nan")}, "threshold"),
    ("LeakyReLU", {"negative_slope": None}, "negative_slope"),
    ("Softmax", {"axis": "last"}, "axis"),
    ("PReLU", {"shared_axes": "x"}, "shared_axes"),
])
def test_bad_arguments_are_named(kind: str, kwargs: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        getattr(RL, kind)(**kwargs)


def test_prelu_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="shared_axes"):
        RL.PReLU().build((None, None, 4))
    with pytest.raises(ValueError, match=r"axes 1\.\.2"):
        RL.PReLU(shared_axes=[3]).build((None, 5, 4))
    layer = RL.PReLU(shared_axes=[1])
    layer.build((None, None, 4))
    assert layer.get_weights()[0].shape == (1, 4)
