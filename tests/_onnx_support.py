"""Shared helpers of the ONNX layer tests (tests/test_onnx_layers*.py).

``roundtrip`` randomizes a model's weights (BatchNormalization variances positive),
exports it with ``to_onnx``, checks the file with ``onnx.checker.check_model`` and that
nothing else was written, runs it in ONNX Runtime at two batch sizes (and two lengths
for unknown time axes) and compares every output with ``model.predict`` (absolute
tolerance ``ATOL``). Outputs larger than 1 (exponential, unbounded merges) are compared relative to
their largest magnitude: the tolerance is ``ATOL * max(1, max |expected|)``.
``refuses`` checks a ValueError naming the layer and writing nothing. ``WORST`` keeps
the worst (so scaled) difference for the terminal summary.

The model zoo of the whole-model tests (tests/test_onnx_models.py and
tests/test_torch_models.py, which share it) is at the end: ``padded_ids`` makes token
batches padded on the right, on the left or in the middle, and the builders make the
common recurrent models (Embedding(mask_zero) -> LSTM / GRU / Bidirectional stacks ->
Dense / TimeDistributed(Dense), encoder-decoders, multi-output models). onnx and
onnxruntime are imported only by the helpers that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oracle import assert_close, max_abs_diff
from rnnlens.interop.onnx import to_onnx
from rnnlens.layers import BatchNormalization, TimeDistributed
from rnnlens.layers.base import flatten
from rnnlens.models import Model

#: float32 ONNX Runtime against rnnlens: the worst seen is ~1e-6.
ATOL = 2e-6
WORST: dict[str, Any] = {"diff": 0.0, "where": "", "n": 0}


class _Summary:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if WORST["n"]:
            terminalreporter.write_line(
                f"onnx layer export: {WORST['n']} comparisons with onnxruntime, worst "
                f"max-abs diff / max(1, |value|) {WORST['diff']:.3e} ({WORST['where']})")


def register_summary(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.has_plugin("rnnlens-onnx-layers-summary"):
        manager.register(_Summary(), "rnnlens-onnx-layers-summary")


def _layers(model: Any) -> list:
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, Model):
            out += _layers(layer)
        if isinstance(layer, TimeDistributed):
            out.append(layer.layer)
    return out


def randomize(model: Any, seed: int = 0, scale: float = 0.7) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-scale, scale, size=s).astype(np.float32)
                       for s in model.weight_shapes()])
    for layer in _layers(model):
        if isinstance(layer, BatchNormalization):
            weights = layer.get_weights()
            k = int(layer.scale) + int(layer.center) + 1             # moving_variance
            weights[k] = rng.uniform(0.3, 2.0, size=weights[k].shape).astype(np.float32)
            layer.set_weights(weights)


def export(model: Any, tmp_path: Path, opset: int = 17) -> Path:
    path = tmp_path / "model.onnx"
    assert to_onnx(model, path, opset=opset) == path
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]           # nothing else written
    import onnx

    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def session(path: Path) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def compare(got: list, expected: list, names: list[str], where: str, atol: float = ATOL
            ) -> None:
    assert len(got) == len(expected), f"{len(got)} ONNX outputs, {len(expected)} expected"
    for g, e, name in zip(got, expected, names):
        assert g.shape == e.shape, f"{where}/{name}: {g.shape} vs {e.shape}"
        scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
        diff = max_abs_diff(g, e) / scale
        WORST["n"] += 1
        if diff > WORST["diff"]:
            WORST["diff"], WORST["where"] = diff, f"{where} / {name}"
        assert_close(g, e, atol=atol * scale, name=f"{where}/{name}")


def roundtrip(model: Any, tmp_path: Path, batches: tuple = (1, 4), steps: tuple = (7, 10),
              opset: int = 17, seed: int = 0, scale: float = 0.7, data_scale: float = 1.0,
              atol: float = ATOL, weights: bool = True) -> Any:
    """Exports ``model`` and compares ONNX Runtime with ``predict``; returns the proto.

    An unknown axis after the batch gets ``steps[k]`` entries in the k-th run.
    """
    if weights:
        randomize(model, seed, scale)
    path = export(model, tmp_path, opset)
    sess = session(path)
    assert [i.name for i in sess.get_inputs()] == [t.name for t in model.inputs]
    names = [o.name for o in sess.get_outputs()]
    rng = np.random.default_rng(seed + 1)
    for k, batch in enumerate(batches):
        feeds = []
        for t in model.inputs:
            shape = [batch] + [steps[k % len(steps)] if d is None else d for d in t.shape[1:]]
            feeds.append((rng.normal(size=shape) * data_scale).astype(t.dtype))
        expected = model.predict(feeds if len(feeds) > 1 else feeds[0], verbose=0)
        expected = flatten(expected) if isinstance(expected, (list, tuple)) else [expected]
        got = sess.run(None, {t.name: f for t, f in zip(model.inputs, feeds)})
        compare(got, expected, names, f"{model.name}@batch{batch}/opset{opset}", atol)
    import onnx

    return onnx.load(str(path))


def op_types(proto: Any) -> list[str]:
    return [n.op_type for n in proto.graph.node]


def refuses(model: Any, tmp_path: Path, *fragments: str, opset: int = 17) -> str:
    path = tmp_path / "refused.onnx"
    with pytest.raises(ValueError) as info:
        to_onnx(model, path, opset=opset)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert not path.exists() and os.listdir(tmp_path) == []
    return message


# -- the model zoo of the whole-model tests ----------------------------------------------------

VOCAB = 13
PADDINGS = ("right", "left", "middle", "none", "mixed")


def padded_ids(padding: str, batch: int = 5, steps: int = 7, seed: int = 0,
               vocab: int = VOCAB) -> np.ndarray:
    """Token ids in [1, vocab) with 0 as padding: ``right`` (row k keeps its first
    ``steps - k`` ids), ``left`` (its last ones), ``middle`` (random inner steps), ``none``,
    ``mixed`` (all three, a row with one real step and, first, a fully padded row)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(batch, steps)).astype(np.int32)
    lengths = [max(steps - k, 1) for k in range(batch)]
    for k in range(batch):
        kind = padding if padding != "mixed" else ("right", "left", "middle")[k % 3]
        if kind == "right":
            ids[k, lengths[k]:] = 0
        elif kind == "left":
            ids[k, :steps - lengths[k]] = 0
        elif kind == "middle":
            ids[k, 1:-1][rng.random(steps - 2) < 0.4] = 0
    if padding == "mixed":
        ids[0] = 0
        ids[-1, :-1] = 0
    return ids


def padded_floats(padding: str, batch: int = 5, steps: int = 7, feats: int = 3,
                  seed: int = 0) -> np.ndarray:
    """Float sequences whose padded steps (as in :func:`padded_ids`) are all zeros."""
    keep = padded_ids(padding, batch, steps, seed) != 0
    x = np.random.default_rng(seed + 1).normal(size=(batch, steps, feats)).astype(np.float32)
    return x * keep[:, :, None]


def recurrent(lib: Any, kind: str, units: int, **kw: Any) -> Any:
    """``LSTM`` / ``GRU`` / ``GRU(reset_after=False)`` / ``SimpleRNN`` of ``lib``'s layers."""
    L = lib.layers
    if kind == "lstm":
        return L.LSTM(units, **kw)
    if kind == "gru":
        return L.GRU(units, **kw)
    if kind == "gru_reset_before":
        return L.GRU(units, reset_after=False, **kw)
    return L.SimpleRNN(units, **kw)


def tagger(lib: Any, kind: str = "lstm", bidirectional: bool = True,
           merge_mode: Any = "concat", head: str = "time_distributed") -> Any:
    """The common model: Embedding(mask_zero) -> [Bidirectional](rnn, seq) -> rnn (seq)
    -> TimeDistributed(Dense(softmax)) (or Dense)."""
    L = lib.layers
    x = lib.Input((None,), dtype="int32", name="tokens")
    h = L.Embedding(VOCAB, 6, mask_zero=True)(x)
    first = recurrent(lib, kind, 5, return_sequences=True)
    h = (L.Bidirectional(first, merge_mode=merge_mode) if bidirectional else first)(h)
    if merge_mode is None and bidirectional:
        h = L.Concatenate()(h)
    h = recurrent(lib, kind, 4, return_sequences=True)(h)
    dense = L.Dense(3, activation="softmax")
    y = L.TimeDistributed(dense)(h) if head == "time_distributed" else dense(h)
    return lib.Model(x, y)


def classifier(lib: Any, kind: str = "gru") -> Any:
    """Embedding(mask_zero) -> Bidirectional(rnn, seq) -> rnn (last output) -> Dense."""
    L = lib.layers
    x = lib.Input((None,), dtype="int32", name="tokens")
    h = L.Embedding(VOCAB, 6, mask_zero=True)(x)
    h = L.Bidirectional(recurrent(lib, kind, 4, return_sequences=True))(h)
    h = recurrent(lib, kind, 5)(L.Dropout(0.3)(h))
    return lib.Model(x, L.Dense(2, activation="sigmoid")(h))


def encoder_decoder(lib: Any, kind: str = "lstm", bidirectional: bool = False,
                    decoder_mask: bool = True) -> Any:
    """Encoder ids -> Embedding(mask_zero) -> rnn(return_state) -> states handed to the
    decoder (ids -> Embedding(mask_zero) -> rnn(seq, initial_state)) -> TimeDistributed.

    ``decoder_mask=False`` gives the decoder's Embedding no mask: Keras drops the mask of
    a layer called with ``initial_state`` (spec section 10.1), rnnlens passes it on, so
    only that variant has the same numbers in both."""
    L = lib.layers
    enc_in = lib.Input((None,), dtype="int32", name="encoder_ids")
    dec_in = lib.Input((None,), dtype="int32", name="decoder_ids")
    e = L.Embedding(VOCAB, 5, mask_zero=True)(enc_in)
    if bidirectional:
        _, *states = L.Bidirectional(recurrent(lib, kind, 3, return_state=True))(e)
        n = len(states) // 2
        states = [L.Concatenate()([f, b]) for f, b in zip(states[:n], states[n:])]
        units = 6
    else:
        _, *states = recurrent(lib, kind, 4, return_state=True)(e)
        units = 4
    d = L.Embedding(VOCAB, 5, mask_zero=decoder_mask)(dec_in)
    seq = recurrent(lib, kind, units, return_sequences=True)(d, initial_state=states)
    y = L.TimeDistributed(L.Dense(VOCAB, activation="softmax"))(seq)
    return lib.Model([enc_in, dec_in], y)


def multi_output(lib: Any) -> Any:
    """Several outputs: sequences, last outputs and states, as a dict of lists."""
    L = lib.layers
    x = lib.Input((None,), dtype="int32", name="tokens")
    h = L.Embedding(VOCAB, 6, mask_zero=True)(x)
    seq, h_f, c_f, h_b, c_b = L.Bidirectional(
        L.LSTM(4, return_sequences=True, return_state=True), merge_mode="sum")(h)
    last, g = L.GRU(3, return_state=True, go_backwards=True)(seq)
    tags = L.TimeDistributed(L.Dense(2))(seq)
    pooled = L.GlobalAveragePooling1D()(seq)
    return lib.Model(x, {"tags": tags, "last": [last, g], "states": [h_f, c_b],
                         "pooled": pooled})


__all__ = ["ATOL", "WORST", "register_summary", "randomize", "export", "session", "compare",
           "roundtrip", "op_types", "refuses", "VOCAB", "PADDINGS", "padded_ids",
           "padded_floats", "recurrent", "tagger", "classifier", "encoder_decoder",
           "multi_output"]
