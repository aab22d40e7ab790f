"""Per-step latency of streaming: ``LSTM(64).step`` and ``Stream.step`` at batch 1.

Marked ``slow`` (it still runs in ``make test``). 2000 timed steps after a warm-up; the
median per-step time must stay under a generous bound, so this fails only on a real
regression (for example a per-step repack of the weights, or an allocation-heavy path),
not on a busy machine. The figures are printed, with ``torch.nn.LSTMCell`` at batch 1
for comparison when torch is importable.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import pytest

from rnnlens.layers import LSTM
from rnnlens.stream import Stream

pytestmark = pytest.mark.slow

UNITS, FEATURES, STEPS, WARMUP = 64, 32, 2000, 200
BOUND_US = 200.0


def per_step_us(step: Callable[[int], Any], n: int = STEPS, warmup: int = WARMUP
                ) -> tuple[float, float]:
    """(median, mean) microseconds of ``step(t)`` over ``n`` timed calls."""
    for t in range(warmup):
        step(t)
    times = np.empty(n)
    clock = time.perf_counter
    for t in range(n):
        start = clock()
        step(t)
        times[t] = clock() - start
    return float(np.median(times) * 1e6), float(times.mean() * 1e6)


def inputs(n: int = STEPS + WARMUP) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (n, 1, FEATURES)).astype(np.float32)


def built_lstm() -> LSTM:
    layer = LSTM(UNITS)
    layer.build((None, None, FEATURES))
    rng = np.random.default_rng(1)
    layer.set_weights([rng.uniform(-0.2, 0.2, s).astype(np.float32)
                       for s in layer.weight_shapes()])
    return layer


def report(capsys: Any, what: str, median: float, mean: float) -> None:
    with capsys.disabled():
        print(f"\n[latency] {what}: median {median:.1f} us/step, mean {mean:.1f} us/step "
              f"(batch 1, F={FEATURES}, u={UNITS}, {STEPS} steps)")


def test_lstm_step_latency(capsys: Any) -> None:
    layer = built_lstm()
    xs = inputs()
    states: list[Any] = [None]

    def step(t: int) -> None:
        _, states[0] = layer.step(xs[t], states[0])

    median, mean = per_step_us(step)
    report(capsys, "rnnlens LSTM(64).step", median, mean)
    assert states[0][0].shape == (1, UNITS) and np.isfinite(states[0][0]).all()
    assert median < BOUND_US, f"LSTM(64).step takes {median:.1f} us per step at batch 1"


def test_stream_step_latency(capsys: Any) -> None:
    layer = built_lstm()
    stream = Stream(layer)
    xs = inputs()

    def step(t: int) -> None:
        stream.step(xs[t])

    median, mean = per_step_us(step)
    report(capsys, "rnnlens Stream.step (LSTM(64))", median, mean)
    assert stream.size == 1
    assert median < BOUND_US, f"Stream.step takes {median:.1f} us per step at batch 1"


def test_streaming_equals_the_sequence_call() -> None:
    """What was timed computes the right thing: 50 steps of step() and of Stream.step
    equal one whole-sequence call."""
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


def test_torch_lstm_cell_latency_for_comparison(capsys: Any) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(FEATURES, UNITS)
    xs = torch.from_numpy(inputs())
    hc: list[Any] = [None]

    def step(t: int) -> None:
        hc[0] = cell(xs[t], hc[0])

    with torch.inference_mode():
        median, mean = per_step_us(step)
    report(capsys, f"torch.nn.LSTMCell (torch {torch.__version__}, "
                   f"{torch.get_num_threads()} threads, inference_mode)", median, mean)
    assert median > 0
