"""Embedding gradients are TensorFlow IndexedSlices in Keras: its optimizers square,
clip and measure them row by row. rnnlens's RowGradient reproduces that."""

from __future__ import annotations

import numpy as np
import pytest

from oracle import assert_close, keras_available

pytestmark = [pytest.mark.keras,
              pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 not installed")]

OPTIMIZERS = [("Adam", {"learning_rate": 0.05}), ("Adam", {"learning_rate": 0.05,
                                                            "clipnorm": 0.01}),
              ("RMSprop", {"learning_rate": 0.05}), ("RMSprop", {"learning_rate": 0.05,
                                                                  "centered": True}),
              ("SGD", {"learning_rate": 0.5, "momentum": 0.9}),
              ("Adam", {"learning_rate": 0.05, "global_clipnorm": 0.02})]
# Not listed: RMSprop(centered=True, clipvalue=...) on an embedding crashes inside Keras
# 3.15.1 itself (a TensorFlow gather error on the IndexedSlices).


def build(k, L):
    ids = k.Input((6,), dtype="int32")
    x = L.Embedding(5, 3, mask_zero=True)(ids)
    return k.Model(ids, L.Dense(1)(L.GRU(4)(x)))


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=["adam", "adam-clipnorm", "rmsprop",
                                                     "rmsprop-centered", "sgd-momentum",
                                                     "adam-global_clipnorm"])
def test_repeated_ids_train_like_keras(name, kw):
    import keras

    import rnnlens
    from rnnlens import layers as R
    from rnnlens import optimizers

    rng = np.random.default_rng(0)
    km = build(keras, keras.layers)
    rm = build(rnnlens, R)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in km.get_weights()]
    km.set_weights(weights)
    rm.set_weights(weights)
    km.compile(optimizer=getattr(keras.optimizers, name)(**kw), loss="mse")
    rm.compile(optimizer=getattr(optimizers, name)(**kw), loss="mse")
    ids = np.array([[1, 1, 2, 1, 0, 0], [3, 3, 3, 4, 4, 0], [2, 2, 2, 2, 2, 2]], np.int32)
    y = rng.normal(size=(3, 1)).astype("float32")
    for _ in range(3):
        k_loss = km.train_on_batch(ids, y)
        r_loss = rm.train_on_batch(ids, y)
        assert_close(np.float32(r_loss), np.float32(k_loss), atol=1e-5, name="loss")
    assert_close(rm.get_weights(), km.get_weights(), atol=1e-5, name=f"{name} weights")
