"""Small Keras 3.15.1 habits rnnlens follows, each against live Keras (TensorFlow backend).

* ``activations.get``: ``"threshold"`` resolves (and serializes) as in Keras, names are
  exact (``"Softmax"`` is a ValueError in both), and ``threshold(x, threshold,
  default_value)`` has Keras's signature and values.
"""

from __future__ import annotations

import inspect
from typing import Any

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
