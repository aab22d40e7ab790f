"""Helpers shared by the parity tests of the regularization, activation, Identity and Lambda
layers (test_layers_regularization.py, test_layers_activation_core.py): the Keras oracle,
gradients by ``tf.GradientTape``, Keras files written and read both ways, summaries.

Every model is described once as ``build(lib)`` over the shared Keras-style API, so one
function builds the Keras model (``lib=keras``) and its rnnlens twin (``lib=rnnlens``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import rnnlens
from oracle import keras_available
from rnnlens.training import gradients

#: Gradients are compared relative to ``max |tf grad|`` of each weight array.
GRAD_RTOL = 1e-4


def keras_module() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); live parity tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


def rand_weights(model: Any, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.5, 0.5, np.shape(w)).astype(np.float32)
            for w in model.get_weights()]


def twins(K: Any, build: Callable[[Any], Any], seed: int = 3) -> tuple[Any, Any]:
    """The Keras model and its rnnlens twin, with the same random weights."""
    kmodel, rmodel = build(K), build(rnnlens)
    weights = rand_weights(kmodel, seed)
    assert [w.shape for w in rmodel.get_weights()] == [w.shape for w in weights]
    kmodel.set_weights(weights)
    rmodel.set_weights(weights)
    return kmodel, rmodel


def check_rel(parity: Any, ours: Any, theirs: Any, rtol: float, name: str) -> None:
    """``max |ours - theirs| / max |theirs| <= rtol`` through the recorded ``parity``."""
    a, e = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
    scale = float(np.max(np.abs(e))) if e.size and np.max(np.abs(e)) > 0 else 1.0
    parity(a / scale, e / scale, name=name, atol=rtol)


def tape_gradients(K: Any, kmodel: Any, x: Any, y: np.ndarray, training: bool,
                   pick: Callable[[Any], Any] = lambda out: out, extra_losses: bool = False
                   ) -> tuple[list[np.ndarray], Any]:
    """``tf.GradientTape`` gradients of ``mse(y, pick(model(x)))`` (+ ``model.losses``)
    with respect to the trainable weights, and the model's outputs of that call."""
    import tensorflow as tf  # noqa: PLC0415

    with tf.GradientTape() as tape:
        out = kmodel(x, training=training)
        pred = tf.identity(pick(out))                       # the loss sees no mask
        loss = K.losses.MeanSquaredError()(y, pred)
        if extra_losses and kmodel.losses:
            loss = loss + tf.add_n(kmodel.losses)
    grads = tape.gradient(loss, kmodel.trainable_weights)
    return [np.zeros(w.shape, np.float32) if g is None else np.asarray(g)
            for g, w in zip(grads, kmodel.trainable_weights)], out


def compare_gradients(parity: Any, K: Any, kmodel: Any, rmodel: Any, x: Any, y: np.ndarray,
                      name: str, training: bool = False) -> None:
    """rnnlens's ``gradients`` against the tape, per weight array (relative 1e-4)."""
    theirs, _ = tape_gradients(K, kmodel, x, y, training)
    ours = gradients(rmodel, x, y, loss="mse", training=training)
    assert len(ours) == len(theirs)
    for k, (g, t) in enumerate(zip(ours, theirs)):
        assert g.dtype == np.float32
        check_rel(parity, g, t, GRAD_RTOL, f"{name} grad[{k}]")


def summary_text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    return "\n".join(lines).rstrip("\n")


def keras_save(model: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(path))


def layer_configs(model: Any) -> list[dict]:
    """Every layer's ``get_config()``, as plain JSON values (tuples become lists); input
    layers are left out (their configs are not this module's subject)."""
    return [json.loads(json.dumps(layer.get_config())) for layer in model.layers
            if type(layer).__name__ != "InputLayer"]


def file_round_trips(parity: Any, K: Any, build: Callable[[Any], Any], x: np.ndarray,
                     tmp_path: Path, name: str) -> None:
    """Keras ``.keras`` / ``.h5`` -> rnnlens (same predictions and configs), and rnnlens's
    ``save`` -> Keras (same predictions and configs)."""
    kmodel = build(K)
    kmodel.set_weights(rand_weights(kmodel, 5))
    expected = np.asarray(kmodel(x, training=False))
    for fmt in (".keras", ".h5"):
        path = tmp_path / f"{name}{fmt}"
        keras_save(kmodel, path)
        loaded = rnnlens.models.load_model(path)
        parity(loaded.predict(x, verbose=0), expected, name=f"{name} {fmt} -> rnnlens")
        assert layer_configs(loaded) == layer_configs(kmodel), f"{name} {fmt} configs"
    native = build(rnnlens)
    native.set_weights(kmodel.get_weights())
    native.save(tmp_path / f"{name}_rnnlens.keras")
    back = K.models.load_model(tmp_path / f"{name}_rnnlens.keras")
    parity(np.asarray(back(x, training=False)), expected, name=f"{name} rnnlens -> keras")
    assert layer_configs(back) == layer_configs(native), f"{name} rnnlens -> keras configs"


__all__ = ["keras_module", "rand_weights", "twins", "check_rel", "tape_gradients",
           "compare_gradients", "summary_text", "keras_save", "layer_configs",
           "file_round_trips", "GRAD_RTOL"]
