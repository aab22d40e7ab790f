"""``to_json`` / ``model_from_json`` / ``clone_model`` / ``Model.get_config`` as Keras's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import keras_available
from rnnlens.interop.keras_config import UnsafeModelError
from rnnlens.models import clone_model, model_from_json

L = rnnlens.layers
X = [np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32),
     np.random.default_rng(1).normal(size=(2, 4, 2)).astype(np.float32)]


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    import keras  # noqa: PLC0415

    return keras


def encoder_decoder() -> Any:
    i, d = rnnlens.Input((5, 3)), rnnlens.Input((None, 2))
    _, h, c = L.LSTM(4, return_state=True)(i)
    seq = L.LSTM(4, return_sequences=True)(d, initial_state=[h, c])
    return rnnlens.Model([i, d], L.TimeDistributed(L.Dense(2))(seq))


def test_to_json_reads_in_keras_and_back(K: Any, parity: Any) -> None:
    model = encoder_decoder()
    theirs = K.models.model_from_json(model.to_json())
    theirs.set_weights(model.get_weights())
    parity(theirs.predict(X, verbose=0), model.predict(X, verbose=0), name="to_json -> keras")
    ours = model_from_json(theirs.to_json())
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in model.get_weights()]
    ours.set_weights(model.get_weights())
    parity(ours.predict(X, verbose=0), model.predict(X, verbose=0), name="keras json -> ours")
    assert rnnlens.Model.from_config(model.get_config()).count_params() == model.count_params()


def test_model_from_json_is_the_safe_reader() -> None:
    evil = ('{"class_name": "Functional", "config": {"layers": [{"class_name": "Lambda", '
            '"config": {"function": "exec"}, "name": "x", "inbound_nodes": []}], '
            '"input_layers": [], "output_layers": []}}')
    with pytest.raises(UnsafeModelError, match="Lambda"):
        model_from_json(evil)
    with pytest.raises(ValueError, match="invalid JSON"):
        model_from_json("{not json")
    with pytest.raises(TypeError, match="JSON string"):
        model_from_json(42)


def test_fresh_weights_are_initialized_not_zero() -> None:
    model = model_from_json(encoder_decoder().to_json())
    assert all(np.any(w != 0) for w in model.get_weights() if w.ndim == 2)


def test_clone_model_new_layers_same_graph(parity: Any) -> None:
    model = encoder_decoder()
    clone = clone_model(model)
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert [type(a) for a in clone.layers] == [type(b) for b in model.layers]
    assert any(not np.array_equal(a, b) for a, b in zip(clone.get_weights(),
                                                         model.get_weights()))
    clone.set_weights(model.get_weights())
    parity(clone.predict(X, verbose=0), model.predict(X, verbose=0), name="clone")
    inputs = [rnnlens.Input((5, 3)), rnnlens.Input((None, 2))]
    seen = []

    def fn(layer: Any) -> Any:
        seen.append(layer.name)
        return type(layer).from_config(layer.get_config())

    again = clone_model(model, input_tensors=inputs, clone_function=fn)
    assert again.inputs == inputs and len(seen) == 3      # the layers, not the Inputs


def test_clone_sequential(parity: Any) -> None:
    seq = rnnlens.Sequential([rnnlens.Input((5, 3)), L.GRU(3, return_sequences=True),
                              L.Dropout(0.2), L.LSTM(2)])
    clone = clone_model(seq)
    assert isinstance(clone, rnnlens.Sequential) and len(clone.layers) == 3
    clone.set_weights(seq.get_weights())
    parity(clone.predict(X[0], verbose=0), seq.predict(X[0], verbose=0), name="clone seq")
    with pytest.raises(TypeError, match="Model or Sequential"):
        clone_model(L.Dense(2))
