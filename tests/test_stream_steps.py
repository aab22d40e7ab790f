"""Streaming steps compute what the whole-sequence call computes.

``LSTM.step`` and ``Stream.step`` at batch 1 are exactly the sequence call, step by step.
Their speed (per-step latency beside ``torch.nn.LSTMCell``) is measured in
``benchmarks/bench_layers.py``, not asserted here.
"""

from __future__ import annotations

import numpy as np

from rnnlens.layers import LSTM
from rnnlens.stream import Stream

UNITS, FEATURES = 64, 32


def inputs(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (n, 1, FEATURES)).astype(np.float32)


def built_lstm() -> LSTM:
    layer = LSTM(UNITS)
    layer.build((None, None, FEATURES))
    rng = np.random.default_rng(1)
    layer.set_weights([rng.uniform(-0.2, 0.2, s).astype(np.float32)
                       for s in layer.weight_shapes()])
    return layer


def test_streaming_equals_the_sequence_call() -> None:
    """50 steps of step() and of Stream.step equal one whole-sequence call."""
    layer = built_lstm()
    seq_layer = LSTM(UNITS, return_sequences=True)
    seq_layer.build((None, None, FEATURES))
    seq_layer.set_weights(layer.get_weights())
    xs = inputs(50)
    want = seq_layer(np.ascontiguousarray(xs[:, 0][None]))[0]
    stream = Stream(layer)
    states = None
    for t in range(50):
        out, states = layer.step(xs[t], states)
        np.testing.assert_allclose(out[0], want[t], atol=1e-6)
        np.testing.assert_allclose(stream.step(xs[t])[0], want[t], atol=1e-6)
