"""A graph node's own ``training=`` against the call's, as Keras 3.15.1 decides.

Keras's functional models pass a call's ``training`` to every node when it is True or
False (``fit``, ``predict``, ``model(x, training=False)``) and leave a node's own
``training=`` in force only when the call says nothing (``model(x)``): so
``Dropout(0.5)(x, training=True)`` drops under ``model(x)`` but not in ``predict``,
and a node given ``training=False`` still drops under ``model(x, training=True)``.
Files keep the node's value (``"kwargs": {"training": true}``) both ways.
Dropout's random numbers cannot match TensorFlow's, so each case compares what is
deterministic: whether the outputs vary between calls, and the values when not.
"""

from __future__ import annotations

import json
import zipfile
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import assert_close

X = np.linspace(0.5, 1.5, 4 * 40, dtype=np.float32).reshape(4, 40)


@pytest.fixture(scope="module")
def K() -> Any:
    return pytest.importorskip("keras")


def _model(lib: Any, node_training: bool) -> Any:
    i = lib.Input((40,), name="x")
    h = lib.layers.Dropout(0.5, name="drop")(i, training=node_training)
    return lib.Model(i, lib.layers.Dense(3, name="out")(h), name="m")


def _behaviour(model: Any) -> dict:
    """Which calls vary from call to call (dropout active), and the deterministic ones."""
    calls = {"predict": lambda: model.predict(X, verbose=0), "call": lambda: model(X),
             "call_false": lambda: model(X, training=False),
             "call_true": lambda: model(X, training=True)}
    out = {}
    for name, fn in calls.items():
        a, b = np.asarray(fn()), np.asarray(fn())
        out[name] = "varies" if not np.allclose(a, b) else a
    return out


def _same_behaviour(ours: dict, theirs: dict) -> None:
    for name in theirs:
        if isinstance(theirs[name], str):
            assert isinstance(ours[name], str), f"{name}: Keras drops, rnnlens does not"
        else:
            assert not isinstance(ours[name], str), f"{name}: rnnlens drops, Keras does not"
            assert_close(ours[name], theirs[name], atol=1e-6, name=name)


@pytest.mark.parametrize("node_training", [True, False])
def test_the_call_overrides_a_node_unless_it_says_nothing(K: Any, node_training: bool) -> None:
    theirs = _model(K, node_training)
    ours = _model(rnnlens, node_training)
    ours.set_weights(theirs.get_weights())
    got, want = _behaviour(ours), _behaviour(theirs)
    assert isinstance(want["call_true"], str) and not isinstance(want["predict"], str)
    assert isinstance(want["call"], str) is node_training
    _same_behaviour(got, want)


def test_nested_models_pass_an_unsaid_training_through(K: Any) -> None:
    def outer(lib: Any) -> Any:
        inner = _model(lib, True)
        i = lib.Input((40,), name="y")
        return lib.Model(i, inner(i), name="outer")

    theirs, ours = outer(K), outer(rnnlens)
    ours.set_weights(theirs.get_weights())
    _same_behaviour(_behaviour(ours), _behaviour(theirs))


def test_files_keep_the_nodes_training_both_ways(K: Any, tmp_path: Any) -> None:
    theirs = _model(K, True)
    theirs.save(tmp_path / "k.keras")
    ours = rnnlens.models.load_model(tmp_path / "k.keras")
    _same_behaviour(_behaviour(ours), _behaviour(theirs))
    ours.save(tmp_path / "r.keras")

    def drop_node(path: Any) -> Any:
        config = json.loads(zipfile.ZipFile(path).read("config.json"))
        layer = next(e for e in config["config"]["layers"] if e["config"]["name"] == "drop")
        return layer["inbound_nodes"][0]["kwargs"]

    assert drop_node(tmp_path / "r.keras") == drop_node(tmp_path / "k.keras") == \
        {"training": True}
    again = K.models.load_model(tmp_path / "r.keras")
    _same_behaviour(_behaviour(again), _behaviour(theirs))
