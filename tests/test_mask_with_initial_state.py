"""Keras's quirk: a layer given ``initial_state`` runs unmasked (spec section 10.1).

``LSTM(...)(masked_x, initial_state=[h, c])`` has two tensor arguments, so Keras's
``Layer.__call__`` does not fill its ``mask``: the decoder of an encoder-decoder with
``Embedding(mask_zero=True)`` computes through its padding. Its output mask is still
computed from ``masked_x``'s, so a masked layer after it sees the padding. rnnlens (in
code and from Keras's file), its ONNX export and its PyTorch conversion all compute what
Keras computes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import assert_close, keras_available

pytestmark = pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 is not importable")


def build(lib: Any) -> Any:
    L = lib.layers
    enc_in, dec_in = lib.Input((None,), name="enc"), lib.Input((None,), name="dec")
    _, h, c = L.LSTM(5, return_state=True, name="encoder")(
        L.Embedding(12, 4, mask_zero=True, name="enc_emb")(enc_in))
    seq = L.LSTM(5, return_sequences=True, name="decoder")(
        L.Embedding(12, 4, mask_zero=True, name="dec_emb")(dec_in), initial_state=[h, c])
    after = L.GRU(3, return_sequences=True, name="after")(seq)     # sees the carried mask
    return lib.Model([enc_in, dec_in], [L.Dense(2, name="head")(seq), after])


def ids() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    enc, dec = rng.integers(1, 12, (4, 6)), rng.integers(1, 12, (4, 5))
    enc[0, 4:] = 0
    dec[0, 3:] = 0                          # right padding in the decoder
    dec[1, :2] = 0                          # left padding
    dec[2, 2] = 0                           # a masked step in the middle
    return [enc, dec]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: Any) -> tuple:
    import keras  # noqa: PLC0415

    km = build(keras)
    rng = np.random.default_rng(1)
    km.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32)
                    for w in km.get_weights()])
    path = tmp_path_factory.mktemp("m") / "m.keras"
    km.save(path)
    rm = build(rnnlens)
    rm.set_weights([np.asarray(w) for w in km.get_weights()])
    expected = [np.asarray(o) for o in km(ids(), training=False)]
    return km, rm, path, expected


def test_in_code_and_from_keras_file(pair: tuple) -> None:
    _, rm, path, expected = pair
    assert_close(rm.predict(ids(), verbose=0), expected, name="rnnlens in code")
    loaded = rnnlens.models.load_model(path)
    assert_close(loaded.predict(ids(), verbose=0), expected, name="rnnlens from file")


def test_the_quirk_matters_here(pair: tuple) -> None:
    """The decoder run with its mask gives other numbers: the tests can tell them apart."""
    _, rm, _, _ = pair
    x = ids()
    states = rnnlens.Model(rm.inputs[0], rm.get_layer("encoder").output[1:]).predict(
        x[0], verbose=0)
    emb = rm.get_layer("dec_emb")(x[1])
    decoder = rm.get_layer("decoder")
    unmasked = decoder(emb, initial_state=states)
    masked = decoder(emb, initial_state=states, mask=x[1] != 0)
    inner = rnnlens.Model(rm.inputs, decoder.output).predict(x, verbose=0)
    assert_close(inner, unmasked, atol=1e-6, name="the graph runs the decoder unmasked")
    assert np.abs(masked - unmasked).max() > 1e-3


def test_onnx_export(pair: tuple, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    _, rm, _, expected = pair
    path = tmp_path / "m.onnx"
    rnnlens.interop.to_onnx(rm, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    kinds = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}
    feed = {i.name: a.astype(kinds[i.type]) for i, a in zip(sess.get_inputs(), ids())}
    assert_close(sess.run(None, feed), expected, name="ONNX Runtime")


def test_torch_conversion(pair: tuple) -> None:
    torch = pytest.importorskip("torch")
    _, rm, _, expected = pair
    module = rnnlens.interop.to_torch(rm)
    with torch.no_grad():
        got = module(*[torch.from_numpy(a) for a in ids()])
    assert_close([g.numpy() for g in got], expected, name="torch")
