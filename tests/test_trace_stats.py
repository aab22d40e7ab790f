"""``rnnlens.trace_stats``: gate statistics over a dataset, in chunks that merge exactly.

Property: any split of the samples into chunks (and any merge order) gives the same
counts as one pass; the saturation fractions equal a direct computation from
``rnnlens.trace``; masked steps are not counted; Bidirectional halves and GRUs are
covered; bad arguments are named.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from rnnlens import trace_stats

L = rnnlens.layers


@pytest.fixture(scope="module")
def model() -> rnnlens.Model:
    rnnlens.utils.set_random_seed(3)
    i = L.Input((None, 3))
    x = L.Masking(0.0)(i)
    x = L.Bidirectional(L.LSTM(4, return_sequences=True, name="lstm"), name="bi")(x)
    return rnnlens.Model(i, L.GRU(3, name="gru")(x))


def data(n: int = 12, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 9, 3)).astype(np.float32) * 2
    x[::3, 6:] = 0.0                                    # right-padded rows
    x[1::4, :2] = 0.0                                   # left-padded rows
    return x


def equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for layer in a:
        for key in ("saturated", "saturation_low", "saturation_high"):
            for gate in a[layer][key]:
                np.testing.assert_array_equal(a[layer][key][gate], b[layer][key][gate])
        if "memory_length" in a[layer]:
            np.testing.assert_array_equal(a[layer]["memory_length"], b[layer]["memory_length"])
            np.testing.assert_array_equal(a[layer]["never_decays"], b[layer]["never_decays"])


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(1, 11), max_size=4, unique=True), reverse=st.booleans())
def test_chunks_merge_to_one_pass(model, cuts: list, reverse: bool) -> None:
    x = data()
    whole = trace_stats.TraceStats().add(model, x).result()
    bounds = [0, *sorted(cuts), len(x)]
    parts = [trace_stats.TraceStats().add(model, x[a:b]) for a, b in zip(bounds, bounds[1:])]
    total = trace_stats.TraceStats()
    for part in (reversed(parts) if reverse else parts):
        total.merge(part)
    equal(total.result(), whole)


def test_saturation_equals_direct_count_on_real_steps(model) -> None:
    x = data()
    stats = trace_stats.compute(model, x, batch_size=5)
    assert set(stats) == {"forward_lstm", "backward_lstm", "gru"}
    tr = rnnlens.trace(model, x)
    for name in stats:
        t = tr[name]
        real = t.mask[:, :, None] if t.mask is not None else np.ones(t.h.shape[:2] + (1,), bool)
        for gate, values in t.gates.items():
            lo, hi = (-0.95, 0.95) if gate in ("g", "hh") else (0.05, 0.95)
            sat = (((values < lo) | (values > hi)) & real).sum(axis=(0, 1)) / real.sum()
            np.testing.assert_allclose(stats[name]["saturated"][gate], sat, rtol=1e-12)
    assert stats["gru"]["memory_gate"] == "z" and stats["forward_lstm"]["memory_gate"] == "f"
    assert stats["gru"]["memory_length"].shape == (3,)


def test_masked_steps_do_not_count(model) -> None:
    x = data()
    padded = np.concatenate([x, np.zeros((12, 4, 3), np.float32)], axis=1)   # 4 more masked
    a = trace_stats.compute(model, x)["gru"]["saturated"]
    b = trace_stats.compute(model, padded)["gru"]["saturated"]
    for gate in a:
        np.testing.assert_allclose(a[gate], b[gate], rtol=1e-12)


@pytest.mark.parametrize("bad, match", [(0, "batch_size"), (2.5, "batch_size"),
                                        (True, "batch_size")])
def test_bad_batch_size(model, bad, match) -> None:
    with pytest.raises(ValueError, match=match):
        trace_stats.compute(model, data(), batch_size=bad)


def test_empty_and_non_recurrent_inputs_are_named(model) -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        trace_stats.compute(model, np.zeros((0, 9, 3), np.float32))
    dense = rnnlens.Sequential([L.Input((3,)), L.Dense(2)])
    with pytest.raises(ValueError, match="no recurrent layer"):
        trace_stats.compute(dense, np.zeros((2, 3), np.float32))
