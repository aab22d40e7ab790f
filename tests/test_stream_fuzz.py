"""``Stream`` under random use: exact against whole-sequence runs, bounded on bad input.

Property: any interleaving of steps over random slots gives, per slot, exactly the
outputs of running that slot's inputs as one sequence (resets restart it). Fuzz: random
bad arguments get a ValueError / TypeError from rnnlens, never a NumPy error, a hang or
an allocation proportional to a stray slot index.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from rnnlens.layers import GRU, LSTM, SimpleRNN
from rnnlens.stream import Stream

F = 3


@pytest.fixture(scope="module")
def layers() -> dict:
    rnnlens.utils.set_random_seed(0)
    out = {"lstm": LSTM(4), "gru": GRU(3), "srnn": SimpleRNN(2)}
    for layer in out.values():
        layer.build((None, None, F))
    return out


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["lstm", "gru", "srnn"]),
       plan=st.lists(st.tuples(st.lists(st.integers(0, 5), min_size=1, max_size=4,
                                        unique=True), st.booleans()),
                     min_size=1, max_size=8),
       seed=st.integers(0, 2**16))
def test_interleaved_slots_equal_whole_sequences(layers: dict, kind: str, plan: list,
                                                 seed: int) -> None:
    layer = layers[kind]
    rng = np.random.default_rng(seed)
    stream = Stream(layer)
    seqs: dict[int, list] = {}
    for slots, restart in plan:
        x = rng.normal(size=(len(slots), F)).astype(np.float32)
        reset = [restart and s in seqs for s in slots]
        out = stream.step(x, rows=slots, reset=reset)
        for row, (slot, r) in enumerate(zip(slots, reset)):
            if r:
                seqs[slot] = []
            seqs.setdefault(slot, []).append(x[row])
            whole = layer(np.stack(seqs[slot])[None])        # (1, u): the last output
            np.testing.assert_allclose(out[row], whole[0], rtol=0, atol=1e-6)


BAD = st.one_of(st.none(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=3),
                st.lists(st.integers(-2, 10**12), max_size=3),
                st.lists(st.floats(allow_nan=True), max_size=3))


@settings(max_examples=150, deadline=None)
@given(x=st.one_of(BAD, st.just(np.zeros((0, F))), st.just(np.zeros((2, F + 1))),
                   st.just(np.zeros((2, F)))), rows=BAD, reset=BAD,
       max_slots=st.one_of(st.just(8), BAD))
def test_bad_arguments_get_clear_errors(layers: dict, x, rows, reset, max_slots) -> None:
    try:
        stream = Stream(layers["gru"], max_slots=max_slots)
    except (ValueError, TypeError) as err:
        assert "max_slots" in str(err)
        return
    try:
        out = stream.step(x, rows=rows, reset=reset)
    except (ValueError, TypeError) as err:
        assert str(err) and "Stream" in str(err) or "rows" in str(err) or "reset" in str(err)
        return
    assert out.shape[1] == 3 and stream.size <= stream.max_slots


@pytest.mark.parametrize("kind", ["lstm", "gru", "srnn"])
def test_set_states_continues_from_given_states(layers: dict, kind: str) -> None:
    """Slots started from ``set_states`` step exactly as the layer with initial_state."""
    layer = layers[kind]
    rng = np.random.default_rng(1)
    units = layer.cell.units
    n_states = 2 if kind == "lstm" else 1
    init = [rng.normal(size=(3, units)).astype(np.float32) for _ in range(n_states)]
    x = rng.normal(size=(3, 4, F)).astype(np.float32)
    stream = Stream(layer)
    stream.set_states([5, 0, 2], init if n_states > 1 else init[0])
    for t in range(4):
        out = stream.step(x[:, t], rows=[5, 0, 2])
    whole = layer(x, initial_state=init)
    np.testing.assert_allclose(out, whole, rtol=0, atol=1e-6)


def test_set_states_errors_name_the_problem(layers: dict) -> None:
    stream = Stream(layers["lstm"])
    with pytest.raises(ValueError, match="keeps 2 states"):
        stream.set_states([0], [np.zeros((1, 4))])
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        stream.set_states([0, 1], [np.zeros((2, 4)), np.zeros((2, 3))])
    with pytest.raises(TypeError, match="not numeric"):
        stream.set_states([0], [np.zeros((1, 4)), "abc"])


def test_trace_without_recurrent_layer_says_so() -> None:
    model = rnnlens.models.Sequential([rnnlens.layers.Input((3,)), rnnlens.layers.Dense(2)])
    with pytest.raises(ValueError, match="no recurrent layer.*dense"):
        rnnlens.trace(model, np.zeros((1, 3), np.float32))
    with pytest.raises(TypeError, match="model or a layer"):
        rnnlens.trace(42, np.zeros((1, 3)))
