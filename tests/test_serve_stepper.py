"""``rnnlens.serve.stepper.ModelStepper``: a whole model one step at a time, per slot.

Property: for every model the stepper accepts, a slot fed ``x_1..x_t`` since its last
reset outputs ``predict(x_{1..t})`` at step t (outputs with a time axis) or
``predict(x_{1..t})`` (outputs after ``return_sequences=False``), under any interleaving
of slots, batch sizes and resets. Parity: a Keras-built model streamed by rnnlens equals
Keras's ``predict``. Refusals: models whose layers read other time steps, and bad steps,
get a ValueError / TypeError naming the problem. Also the server's metrics and message
checks, which need no server.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from rnnlens import layers as L
from rnnlens.serve.metrics import Histogram, Metrics
from rnnlens.serve.protocol import ClientError, parse_json, parse_steps
from rnnlens.serve.stepper import ModelStepper

F = 3


def _seq(*layers, shape=(None, F), dtype="float32"):
    return rnnlens.Sequential([rnnlens.Input(shape, dtype=dtype), *layers])


def _models() -> dict:
    rnnlens.utils.set_random_seed(1)
    a, b = rnnlens.Input((None, F), name="a"), rnnlens.Input((None, 2), name="b")
    h = L.LSTM(6, return_sequences=True)(L.Concatenate()([a, b]))
    h2, hs, cs = L.LSTM(4, return_state=True)(L.LayerNormalization()(h))
    multi = rnnlens.Model([a, b], [L.Dense(2, name="per_step")(h), L.Dense(1, name="last")(h2),
                                   hs])
    return {
        "stacked": _seq(L.LSTM(8, return_sequences=True), L.GRU(5, return_sequences=True),
                        L.Dense(2)),
        "last_step": _seq(L.LSTM(8, return_sequences=True), L.SimpleRNN(5),
                          L.Dense(3, activation="softmax")),
        "masked": _seq(L.Masking(0.0), L.LSTM(8, return_sequences=True),
                       L.GRU(5, return_sequences=True, zero_output_for_mask=True),
                       L.TimeDistributed(L.Dense(2)), L.Activation("tanh")),
        "tokens": _seq(L.Embedding(7, 4, mask_zero=True), L.GRU(6, return_sequences=True,
                                                                  reset_after=False),
                       L.Dropout(0.5), L.Dense(2), shape=(None,), dtype="int32"),
        "multi": multi,
    }


@pytest.fixture(scope="module")
def models() -> dict:
    return _models()


def _inputs(name: str, batch: int, steps: int, rng: np.random.Generator) -> list:
    if name == "tokens":
        x = rng.integers(0, 7, size=(batch, steps))
        x[0, -2:] = 0                                         # padded end
        return [x]
    xs = [rng.normal(size=(batch, steps, F)).astype("float32")]
    if name == "masked":
        xs[0][1 % batch, 1:3] = 0.0                           # masked middle steps
    if name == "multi":
        xs.append(rng.normal(size=(batch, steps, 2)).astype("float32"))
    return xs


def _offline(model, stepper: ModelStepper, xs: list) -> list[np.ndarray]:
    """Per output (B, T, ...): predict's step t, or predict of the prefix 1..t."""
    steps = xs[0].shape[1]
    full = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    full = full if isinstance(full, list) else [full]
    out = []
    for k, spec in enumerate(stepper.outputs):
        if spec.per_step:
            out.append(full[k])
            continue
        rows = []
        for t in range(1, steps + 1):
            part = [x[:, :t] for x in xs]
            got = model.predict(part if len(part) > 1 else part[0], verbose=0)
            rows.append((got if isinstance(got, list) else [got])[k])
        out.append(np.stack(rows, axis=1))
    return out


@pytest.mark.parametrize("name", ["stacked", "last_step", "masked", "tokens", "multi"])
def test_run_equals_predict(models: dict, name: str) -> None:
    model = models[name]
    stepper = ModelStepper(model)
    xs = _inputs(name, 4, 6, np.random.default_rng(0))
    got = stepper.run(xs)
    want = _offline(model, stepper, xs)
    assert len(got) == len(want) == len(model.outputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-6, rtol=0)


def test_outputs_and_states_described(models: dict) -> None:
    stepper = ModelStepper(models["multi"])
    assert [s.name for s in stepper.inputs] == ["a", "b"]
    assert [s.shape for s in stepper.inputs] == [(F,), (2,)]
    assert [s.per_step for s in stepper.outputs] == [True, False, False]
    stepper.step([np.ones((2, F)), np.ones((2, 2))], [3, 5])
    states = stepper.states([5])
    assert list(states) == stepper.recurrent and set(states[stepper.recurrent[0]]) == {"h", "c"}
    assert states[stepper.recurrent[1]]["h"].shape == (1, 4)
    # the returned state h of the last LSTM is the model's third output
    y = stepper.step([np.zeros((1, F)), np.zeros((1, 2))], [5])
    np.testing.assert_array_equal(y[2], stepper.states([5])[stepper.recurrent[1]]["h"])


def test_stateful_layer_is_not_touched() -> None:
    rnnlens.utils.set_random_seed(2)
    lstm = L.LSTM(5, return_sequences=True, stateful=True)
    model = rnnlens.Sequential([rnnlens.Input((None, F), batch_size=2), lstm, L.Dense(1)])
    x = np.random.default_rng(3).normal(size=(2, 4, F)).astype("float32")
    want = model.predict(x, verbose=0)
    lstm.reset_state([np.full((2, 5), 0.5), np.full((2, 5), -0.5)])
    stepper = ModelStepper(model)
    got = stepper.run([x])[0]                               # starts from zeros, not 0.5
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    stepper.step([x[:1, 0]], [0])                           # a batch the layer was not built for
    np.testing.assert_array_equal(lstm.states[0], np.full((2, 5), 0.5, "float32"))


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["stacked", "masked", "tokens"]),
       plan=st.lists(st.tuples(st.lists(st.integers(0, 6), min_size=1, max_size=5,
                                        unique=True), st.integers(0, 6)),
                     min_size=1, max_size=10),
       seed=st.integers(0, 2**16))
def test_interleaved_slots_equal_whole_sequences(models: dict, name: str, plan: list,
                                                 seed: int) -> None:
    """Random slots per step, a random slot reset per step: each slot's segments since
    its resets equal predict on those segments."""
    model = models[name]
    stepper = ModelStepper(model, max_slots=8)
    rng = np.random.default_rng(seed)
    fed: dict[int, list] = {}
    got: dict[int, list] = {}
    for slots, reset_slot in plan:
        x = _inputs(name, len(slots), 1, rng)[0][:, 0]
        reset = [s == reset_slot for s in slots]
        y = stepper.step([x], slots, reset=reset)[0]
        for row, (slot, r) in enumerate(zip(slots, reset)):
            if r or slot not in fed:
                fed[slot], got[slot] = [], []
            fed[slot].append(x[row])
            got[slot].append(y[row])
    for slot, rows in fed.items():
        want = model.predict(np.stack(rows)[None], verbose=0)[0]
        np.testing.assert_allclose(np.stack(got[slot]), want, atol=1e-6, rtol=0)


def test_keras_model_streams_like_keras_predict(tmp_path) -> None:
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((None, F)), keras.layers.Masking(0.0),
                              keras.layers.LSTM(7, return_sequences=True),
                              keras.layers.GRU(4, return_sequences=True),
                              keras.layers.Dense(2)])
    path = tmp_path / "m.keras"
    model.save(path)
    x = np.random.default_rng(5).normal(size=(3, 8, F)).astype("float32")
    x[2, 3:5] = 0.0
    want = np.asarray(model.predict(x, verbose=0))
    got = ModelStepper(rnnlens.models.load_model(path)).run([x])[0]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def _refusal(model) -> str:
    with pytest.raises(ValueError) as info:
        ModelStepper(model)
    return str(info.value)


def test_refuses_models_that_read_other_steps() -> None:
    assert "Bidirectional" in _refusal(_seq(L.Bidirectional(L.LSTM(3))))
    assert "'conv1d' (Conv1D)" in _refusal(_seq(L.Conv1D(3, 2), L.LSTM(3)))
    assert "go_backwards" in _refusal(_seq(L.LSTM(3, go_backwards=True)))
    assert "no recurrent layer" in _refusal(_seq(L.Dense(3)))
    assert "Flatten" in _refusal(_seq(L.LSTM(3, return_sequences=True), L.Flatten(),
                                      shape=(4, F)))
    assert "not time-local" in _refusal(_seq(L.LSTM(3, return_sequences=True),
                                             L.Softmax(axis=1)))
    enc = rnnlens.Input((None, F))
    _, h, c = L.LSTM(4, return_state=True)(enc)
    dec = L.LSTM(4)(L.RepeatVector(3)(h))
    assert "RepeatVector" in _refusal(rnnlens.Model(enc, dec))
    a, b = rnnlens.Input((None, F)), rnnlens.Input((None, F))
    _, h, c = L.LSTM(4, return_state=True)(a)
    assert "initial_state" in _refusal(rnnlens.Model([a, b], L.LSTM(4)(b, initial_state=[h, c])))
    static = rnnlens.Input((2,))
    assert "every input must be a sequence" in _refusal(
        rnnlens.Model([a, static], L.Concatenate()([L.LSTM(4)(a), static])))


@pytest.fixture(scope="module")
def stepper(models: dict) -> ModelStepper:
    return ModelStepper(models["stacked"], max_slots=16)


@pytest.mark.parametrize("xs, slots, reset", [
    ([np.ones((2, 4))], [0, 1], None),                 # features
    ([np.ones((2, F))], [0, 0], None),                 # repeated slot
    ([np.ones((2, F))], [0, 16], None),                # beyond max_slots
    ([np.ones((2, F))], [0, -1], None),
    ([np.ones((2, F))], [0], None),
    ([np.ones((2, F))], [0, 1], [True]),
    ([np.ones((2, F)), np.ones((2, F))], [0, 1], None),
    ([[["a", "b", "c"]]], [0], None),
    ([np.ones((0, F))], [], None),
    ([np.ones((2, 1, F))], [0, 1], None),
])
def test_bad_steps_are_clear_errors(stepper: ModelStepper, xs, slots, reset) -> None:
    before = stepper.states([0])
    with pytest.raises((ValueError, TypeError)):
        stepper.step(xs, slots, reset=reset)
    after = stepper.states([0])
    for layer in before:
        for name in before[layer]:
            np.testing.assert_array_equal(before[layer][name], after[layer][name])


@settings(max_examples=60, deadline=None)
@given(body=st.recursive(st.none() | st.booleans() | st.floats() | st.integers() |
                         st.text(max_size=5),
                         lambda kids: st.lists(kids, max_size=4) |
                         st.dictionaries(st.sampled_from(["x", "y", "input_layer"]), kids,
                                         max_size=3), max_leaves=12))
def test_fuzzed_step_messages_are_4xx(stepper: ModelStepper, body) -> None:
    """Any JSON body is either valid steps or a ClientError with a 4xx status."""
    try:
        arrays = parse_steps({"x": body}, stepper, max_steps=8)
    except ClientError as err:
        assert 400 <= err.status < 500 and err.message
        return
    assert arrays[0].ndim == 2 and arrays[0].shape[1] == F
    assert np.all(np.isfinite(arrays[0]))


@pytest.mark.parametrize("raw, status", [
    (b"{", 400), (b"[1, 2]", 400), (b"\xff\xfe", 400), (b"[" * 50000 + b"]" * 50000, 400),
    (b"x" * 2000, 413)])
def test_parse_json_errors(raw: bytes, status: int) -> None:
    with pytest.raises(ClientError) as info:
        parse_json(raw, limit=1000 if status == 413 else 1 << 20)
    assert info.value.status == status


def test_histogram_and_prometheus_text() -> None:
    hist = Histogram("h", "help", [1, 2, 4])
    for v in [0.5, 1.5, 1.5, 3, 10]:
        hist.observe(v)
    assert hist.counts == [1, 2, 1, 1] and hist.count == 5 and hist.sum == 16.5
    assert hist.quantile(0.5) == pytest.approx(1.75)           # rank 2.5 inside (1, 2]
    assert hist.quantile(1.0) == 4.0
    assert math.isnan(Histogram("e", "", [1]).quantile(0.5))
    metrics = Metrics()
    metrics.batch_size.observe(3)
    metrics.errors.inc(status="404")
    text = metrics.render()
    assert 'rnnlens_serve_batch_size_bucket{le="4"} 1' in text
    assert 'rnnlens_serve_batch_size_bucket{le="+Inf"} 1' in text
    assert 'rnnlens_serve_errors_total{status="404"} 1' in text
    assert "# TYPE rnnlens_serve_step_latency_seconds histogram" in text
    with pytest.raises(ValueError):
        Histogram("bad", "", [1, 1])
    json.dumps(text)
