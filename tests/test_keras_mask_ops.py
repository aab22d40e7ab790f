"""Keras files whose graphs record the ops of a masked Concatenate load, predict and
save back (ExpandDims, ZerosLike, OnesLike, LogicalOr, ops.concatenate, Any)."""

from __future__ import annotations

import numpy as np
import pytest

from oracle import assert_close, keras_available

pytestmark = [pytest.mark.keras,
              pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 not installed")]


def test_masked_concatenate_graph_round_trips(tmp_path) -> None:
    import keras

    from rnnlens.models import load_model

    i = keras.Input((6, 3))
    m = keras.layers.Masking()(i)
    a = keras.layers.GRU(3, return_sequences=True)(m)
    b = keras.layers.GRU(3, return_sequences=True)(i)
    out = keras.layers.LSTM(2)(keras.layers.Concatenate()([b, a]))
    km = keras.Model(i, out)
    rng = np.random.default_rng(0)
    km.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32")
                    for w in km.get_weights()])
    km.save(tmp_path / "k.keras")
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    x[0, 4:] = 0
    x[1, :2] = 0
    rm = load_model(tmp_path / "k.keras")
    assert [lyr.name for lyr in rm.layers] == [lyr.name for lyr in km.layers]
    assert_close(rm.predict(x), km.predict(x, verbose=0), name="keras -> rnnlens")
    assert_close(rm.get_weights(), km.get_weights(), atol=0, name="weights in Keras's order")
    rm.save(tmp_path / "r.keras")
    back = keras.models.load_model(tmp_path / "r.keras")
    assert_close(back.predict(x, verbose=0), km.predict(x, verbose=0), name="rnnlens -> keras")
