"""Property tests (hypothesis) for the recurrent family: GRU (both reset_after),
SimpleRNN, LSTM, stacked ``RNN([cells])``, Bidirectional, streaming (``layer.step``
and ``Stream``) and the GRU / SimpleRNN trace.

No Keras needed. Every numeric comparison goes through ``oracle.assert_close``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import assert_close
from rnnlens.layers import GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN
from rnnlens.layers import SimpleRNNCell
from rnnlens.stream import Stream

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
TIGHT = 1e-6

#: Layer kinds: name -> (factory(units, activation, **flags), number of states).
KINDS = ["lstm", "gru", "gru_ra0", "srnn", "stacked"]
ACTS = ["tanh", "relu", "sigmoid", "hard_sigmoid", "linear", "softsign", "elu", "gelu"]
MERGE_MODES = ["concat", "sum", "ave", "mul", None]


def new_layer(kind: str, units: int, activation: str, **flags: Any) -> Any:
    if kind == "lstm":
        return LSTM(units, activation=activation, **flags)
    if kind == "gru":
        return GRU(units, activation=activation, **flags)
    if kind == "gru_ra0":
        return GRU(units, activation=activation, reset_after=False, **flags)
    if kind == "srnn":
        return SimpleRNN(units, activation=activation, **flags)
    # stacked: three different cells and sizes, the last one gives the output
    return RNN([GRUCell(units + 1, activation=activation), LSTMCell(units + 2),
                SimpleRNNCell(units, activation=activation)], **flags)


def state_sizes(kind: str, units: int) -> list[int]:
    return {"lstm": [units, units], "gru": [units], "gru_ra0": [units], "srnn": [units],
            "stacked": [units + 1, units + 2, units + 2, units]}[kind]


def nest(kind: str, flat: list[np.ndarray]) -> list:
    """Flat states in the nesting the layer takes and returns (stacked: per cell)."""
    if kind == "stacked":
        return [[flat[0]], [flat[1], flat[2]], [flat[3]]]
    return list(flat)


def flat_states(states: Any) -> list[np.ndarray]:
    return [leaf for item in states
            for leaf in (item if isinstance(item, (list, tuple)) else [item])]


@st.composite
def configs(draw: Any, kinds: list[str] = KINDS, max_t: int = 7) -> dict:
    return dict(
        kind=draw(st.sampled_from(kinds)),
        units=draw(st.integers(1, 5)), features=draw(st.integers(1, 4)),
        steps=draw(st.integers(1, max_t)), batch=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**31 - 1)),
        activation=draw(st.sampled_from(ACTS)),
        use_bias=draw(st.booleans()),
    )


def randomize(layer: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(-0.6, 0.6, s).astype(np.float32)
                       for s in layer.weight_shapes()])
    return layer


def make(c: dict, **flags: Any) -> Any:
    """A layer from a drawn config, built, with random U(-0.6, 0.6) weights."""
    kind = c["kind"]
    kw = dict(flags)
    if kind != "stacked":
        kw["use_bias"] = c["use_bias"]
    layer = new_layer(kind, c["units"], c["activation"], **kw)
    batch = c["batch"] if flags.get("stateful") else None
    layer.build((batch, c["steps"], c["features"]))
    return randomize(layer, c["seed"])


def inputs(c: dict, steps: int | None = None, salt: int = 0, batch: int | None = None
           ) -> np.ndarray:
    rng = np.random.default_rng(c["seed"] + 1 + salt)
    shape = (c["batch"] if batch is None else batch,
             c["steps"] if steps is None else steps, c["features"])
    return rng.uniform(-1.5, 1.5, shape).astype(np.float32)


def random_states(c: dict, salt: int = 0, batch: int | None = None) -> list[np.ndarray]:
    rng = np.random.default_rng(c["seed"] + 11 + salt)
    b = c["batch"] if batch is None else batch
    return [rng.uniform(-1, 1, (b, s)).astype(np.float32)
            for s in state_sizes(c["kind"], c["units"])]


def random_mask(c: dict, salt: int = 0) -> np.ndarray:
    rng = np.random.default_rng(c["seed"] + 7 + salt)
    return rng.random((c["batch"], c["steps"])) < 0.6


# ---------------------------------------------------------------------------- Bidirectional
def _merge(mode: Any, y: np.ndarray, y_rev: np.ndarray) -> Any:
    if mode == "concat":
        return np.concatenate([y, y_rev], axis=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    if mode == "mul":
        return y * y_rev
    return [y, y_rev]


@SETTINGS
@given(configs(kinds=["lstm", "gru", "gru_ra0", "srnn"]), st.sampled_from(MERGE_MODES),
       st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_bidirectional_is_forward_plus_flipped_backward(c: dict, merge_mode: Any, rs: bool,
                                                       rst: bool, masked: bool,
                                                       with_h0: bool) -> None:
    """Bidirectional(layer) == merge(forward(x), flip(backward(x))) where forward and
    backward are plain layers with the Bidirectional's weights (backward with
    go_backwards=True; zero_output_for_mask = return_sequences on both, as Keras forces);
    return_state appends the forward states, then the backward states."""
    flags = dict(return_sequences=rs, return_state=rst)
    bidir = Bidirectional(new_layer(c["kind"], c["units"], c["activation"], **flags),
                          merge_mode=merge_mode)
    bidir.build((None, c["steps"], c["features"]))
    randomize(bidir, c["seed"])
    n_fw = len(bidir.forward_layer.weight_shapes())
    w = bidir.get_weights()
    fwd = new_layer(c["kind"], c["units"], c["activation"], zero_output_for_mask=rs, **flags)
    bwd = new_layer(c["kind"], c["units"], c["activation"], zero_output_for_mask=rs,
                    go_backwards=True, **flags)
    for layer, ws in ((fwd, w[:n_fw]), (bwd, w[n_fw:])):
        layer.build((None, c["steps"], c["features"]))
        layer.set_weights(ws)
    x = inputs(c)
    kw: dict[str, Any] = {}
    if masked:
        kw["mask"] = random_mask(c)
    h_f, h_b = random_states(c, 1), random_states(c, 2)
    kw_f, kw_b = dict(kw), dict(kw)
    if with_h0:
        kw["initial_state"] = h_f + h_b
        kw_f["initial_state"], kw_b["initial_state"] = h_f, h_b
    y, y_rev = fwd(x, **kw_f), bwd(x, **kw_b)
    states: list = []
    if rst:
        states = list(y[1:]) + list(y_rev[1:])
        y, y_rev = y[0], y_rev[0]
    if rs:
        y_rev = y_rev[:, ::-1]
    merged = _merge(merge_mode, np.asarray(y), np.asarray(y_rev))
    want = merged if not rst else (
        [*merged, *states] if merge_mode is None else [merged, *states])
    got = bidir(x, **kw)
    got = list(got) if isinstance(got, (list, tuple)) else got
    assert_close(got, want, atol=TIGHT, name=f"Bidirectional merge_mode={merge_mode}")


@SETTINGS
@given(configs(kinds=["lstm", "gru", "srnn"]), st.sampled_from(MERGE_MODES),
       st.integers(1, 4))
def test_bidirectional_trailing_padding_equals_truncated(c: dict, merge_mode: Any,
                                                         pad: int) -> None:
    """Trailing masked steps change nothing: the states (both directions) and the valid
    part of the merged sequence equal a run on the unpadded prefix; padded steps are 0."""
    layer = Bidirectional(new_layer(c["kind"], c["units"], c["activation"],
                                    return_sequences=True, return_state=True),
                          merge_mode=merge_mode)
    layer.build((None, None, c["features"]))
    randomize(layer, c["seed"])
    x = inputs(c)
    xp = np.concatenate([x, inputs(c, steps=pad, salt=3) * 5.0], axis=1)
    m = np.concatenate([np.ones(x.shape[:2], bool), np.zeros((c["batch"], pad), bool)], 1)
    got, want = list(layer(xp, mask=m)), list(layer(x))
    n_out = 2 if merge_mode is None else 1
    assert_close(got[n_out:], want[n_out:], atol=TIGHT, name="states with trailing padding")
    t = c["steps"]
    for k in range(n_out):
        assert_close(got[k][:, :t], want[k], atol=TIGHT, name="valid part")
        assert_close(got[k][:, t:], np.zeros_like(got[k][:, t:]), atol=0.0,
                     name="padded part is 0")


# ---------------------------------------------------------------------------- masks
@SETTINGS
@given(configs(), st.integers(1, 4), st.booleans(), st.booleans(), st.booleans())
def test_trailing_masked_steps_leave_states_unchanged(c: dict, pad: int, zofm: bool,
                                                      gb: bool, with_h0: bool) -> None:
    """For every layer type: padding at the end (masked, filled with junk) gives the states
    of the unpadded prefix, also with go_backwards (where the padding comes first) and a
    non-zero initial state; forwards, the padded outputs repeat the last output (or 0)."""
    layer = make(c, return_sequences=True, return_state=True, zero_output_for_mask=zofm,
                 go_backwards=gb)
    x = inputs(c)
    xp = np.concatenate([x, inputs(c, steps=pad, salt=3) * 5.0], axis=1)
    m = np.concatenate([np.ones(x.shape[:2], bool), np.zeros((c["batch"], pad), bool)], 1)
    kw = {"initial_state": nest(c["kind"], random_states(c))} if with_h0 else {}
    seq_p, *states_p = layer(xp, mask=m, **kw)
    seq, *states = layer(x, **kw)
    assert_close(flat_states(states_p), flat_states(states), atol=TIGHT,
                 name="states with trailing padding")
    t = c["steps"]
    if gb:       # processing order: the padding was consumed first and output 0
        assert_close(seq_p[:, pad:], seq, atol=TIGHT, name="valid part (backwards)")
        assert_close(seq_p[:, :pad], np.zeros_like(seq_p[:, :pad]), atol=0.0,
                     name="padding consumed first outputs 0")
    else:
        assert_close(seq_p[:, :t], seq, atol=TIGHT, name="valid part")
        tail = np.zeros_like(seq_p[:, t:]) if zofm else np.repeat(seq[:, -1:], pad, axis=1)
        assert_close(seq_p[:, t:], tail, atol=TIGHT, name="padded part")


@SETTINGS
@given(configs())
def test_fully_masked_row_keeps_initial_states_and_outputs_zero(c: dict) -> None:
    layer = make(c, return_sequences=True, return_state=True)
    h0 = random_states(c)
    m = random_mask(c)
    m[0] = False
    seq, *states = layer(inputs(c), mask=m, initial_state=nest(c["kind"], h0))
    assert_close([s[0] for s in flat_states(states)], [s[0] for s in h0], atol=0.0,
                 name="fully masked row keeps its initial states")
    assert_close(seq[0], np.zeros_like(seq[0]), atol=0.0, name="fully masked row outputs")


# ---------------------------------------------------------------------------- streaming
@SETTINGS
@given(configs(), st.booleans())
def test_step_by_step_equals_whole_sequence(c: dict, with_h0: bool) -> None:
    """``layer.step(x_t, states)`` step by step equals the whole-sequence call: every
    output, and the states after the last step equal return_state's."""
    layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    h0 = nest(c["kind"], random_states(c)) if with_h0 else None
    seq, *final = layer(x, **({"initial_state": h0} if with_h0 else {}))
    states: Any = h0
    for t in range(c["steps"]):
        out, states = layer.step(x[:, t], states)
        assert_close(out, seq[:, t], atol=TIGHT, name=f"step {t} output")
    assert_close(flat_states(states), flat_states(final), atol=TIGHT, name="final states")
    assert_close(states, final, atol=TIGHT, name="final states, same nesting")


@SETTINGS
@given(configs(), st.booleans())
def test_step_with_per_step_masks(c: dict, with_h0: bool) -> None:
    """``layer.step(x_t, states, mask=m_t)`` with a per-step mask: states equal the
    whole-sequence call's after every step (trace), the final states equal return_state's;
    kept steps output the sequence output; masked samples output their previous output
    (the documented contract: for a stacked RNN that is the last cell's previous h,
    i.e. its initial state before the first step)."""
    layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    m = random_mask(c)
    h0 = random_states(c) if with_h0 else [np.zeros((c["batch"], s), np.float32)
                                            for s in state_sizes(c["kind"], c["units"])]
    seq, *final = layer(x, mask=m, initial_state=nest(c["kind"], h0))
    tr = rnnlens.trace(layer, x, mask=m, initial_state=nest(c["kind"], h0))[layer.name]
    n = len(h0)
    states: Any = nest(c["kind"], h0)
    prev_out = h0[0] if c["kind"] != "stacked" else h0[-1]     # the last cell's h
    for t in range(c["steps"]):
        out, states = layer.step(x[:, t], states, mask=m[:, t])
        keep = m[:, t:t + 1]
        assert_close(flat_states(states), [s[:, t] for s in tr.states[:n]], atol=TIGHT,
                     name=f"states after step {t}")
        assert_close(np.where(keep, out, 0), np.where(keep, seq[:, t], 0), atol=TIGHT,
                     name=f"kept samples' output at step {t}")
        assert_close(np.where(keep, 0, out), np.where(keep, 0, prev_out), atol=TIGHT,
                     name=f"masked samples' output at step {t} (previous output)")
        prev_out = np.where(keep, out, prev_out)
    assert_close(flat_states(states), flat_states(final), atol=TIGHT, name="final states")


@SETTINGS
@given(configs(max_t=6))
def test_stream_equals_whole_sequence(c: dict) -> None:
    """A Stream fed every row at every step equals the whole-sequence call."""
    layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    seq, *final = layer(x)
    stream = Stream(layer)
    for t in range(c["steps"]):
        assert_close(stream.step(x[:, t]), seq[:, t], atol=TIGHT, name=f"Stream step {t}")
    assert stream.size == c["batch"]
    assert_close(stream.states, flat_states(final), atol=TIGHT, name="Stream states")


@SETTINGS
@given(configs(max_t=5), st.integers(2, 5), st.integers(3, 12), st.data())
def test_stream_variable_batch_and_per_sample_reset(c: dict, slots: int, n_calls: int,
                                                    data: Any) -> None:
    """Each call advances a random subset of slots (``rows=``, any order) and may restart
    some of them (``reset=``). Every slot's outputs equal a fresh whole-sequence run of
    the inputs it received since its last reset (rows do not leak into each other)."""
    layer = make(c, return_sequences=True)
    stream = Stream(layer)
    rng = np.random.default_rng(c["seed"] + 99)
    fed: dict[int, list[np.ndarray]] = {}
    outs: dict[int, list[np.ndarray]] = {}
    for _ in range(n_calls):
        rows = data.draw(st.lists(st.integers(0, slots - 1), min_size=1, max_size=slots,
                                  unique=True), label="rows")
        reset = np.array(data.draw(st.lists(st.booleans(), min_size=len(rows),
                                            max_size=len(rows)), label="reset"))
        x_t = rng.uniform(-1.5, 1.5, (len(rows), c["features"])).astype(np.float32)
        y = stream.step(x_t, rows=rows, reset=reset)
        assert y.shape == (len(rows), layer.cell.output_size)
        for k, slot in enumerate(rows):
            if reset[k] or slot not in fed:
                fed[slot], outs[slot] = [], []
            fed[slot].append(x_t[k])
            outs[slot].append(y[k])
    assert stream.size == max(fed) + 1
    for slot, xs in fed.items():
        want = layer(np.stack(xs)[None])[0]
        assert_close(np.stack(outs[slot]), want, atol=TIGHT,
                     name=f"slot {slot} vs a fresh run of its sequence")


def test_stream_reset_slot_equals_fresh_run() -> None:
    """Explicit example: after reset=[True, False], slot 0 equals a fresh run of its new
    sequence, slot 1 continues undisturbed; Stream.reset(slots) does the same."""
    for kind in KINDS:
        c = dict(kind=kind, units=3, features=2, steps=4, batch=2, seed=5,
                 activation="tanh", use_bias=True)
        layer = make(c, return_sequences=True)
        x = inputs(c)
        stream = Stream(layer)
        for t in range(2):
            stream.step(x[:, t])
        y2 = stream.step(x[:, 2], reset=[True, False])
        y3 = stream.step(x[:, 3])
        fresh = layer(x[:1, 2:])
        whole = layer(x[1:])
        assert_close([y2[0], y3[0]], [fresh[0, 0], fresh[0, 1]], atol=TIGHT,
                     name=f"{kind}: reset slot")
        assert_close([y2[1], y3[1]], [whole[0, 2], whole[0, 3]], atol=TIGHT,
                     name=f"{kind}: other slot continues")
        stream.reset([1])
        assert_close(stream.step(x[1:2, 0], rows=[1]), whole[:, 0], atol=TIGHT,
                     name=f"{kind}: Stream.reset([1])")


# ---------------------------------------------------------------------------- trace
def _act(name: str) -> Any:
    return rnnlens.activations.get(name)


@SETTINGS
@given(configs(kinds=["gru", "gru_ra0"]), st.booleans(), st.booleans(), st.booleans())
def test_gru_trace_rebuilds_the_equations(c: dict, gb: bool, masked: bool,
                                          with_h0: bool) -> None:
    """GRU trace: h equals the return_sequences output (no mask), h_t = z*h_(t-1) +
    (1-z)*hh from the traced gates; and z, r, hh themselves equal the equations computed
    from the weights in float64 (both reset_after), masked steps repeat h."""
    layer = make(c, return_sequences=True, go_backwards=gb)
    x = inputs(c)
    kw: dict[str, Any] = {}
    if masked:
        kw["mask"] = random_mask(c)
    if with_h0:
        kw["initial_state"] = random_states(c)
    out = layer(x, **kw)
    tr = rnnlens.trace(layer, x, **kw)[layer.name]
    g = tr.gates
    assert set(g) == {"z", "r", "hh"} and tr.c is None
    u = c["units"]
    assert tr.h.shape == g["z"].shape == (c["batch"], c["steps"], u)
    keep = np.ones((c["batch"], c["steps"], 1), bool)
    if masked:
        keep = (kw["mask"][:, ::-1] if gb else kw["mask"])[:, :, None]
    else:
        assert_close(tr.h, out, atol=0.0, name="trace h vs return_sequences output")
    h_new = g["z"] * tr.h_prev + (1 - g["z"]) * g["hh"]
    assert_close(np.where(keep, tr.h, 0), np.where(keep, h_new, 0), atol=TIGHT,
                 name="h_t = z*h_(t-1) + (1-z)*hh")
    assert_close(np.where(keep, 0, tr.h), np.where(keep, 0, tr.h_prev), atol=0.0,
                 name="h repeats at masked steps")
    # z, r, hh from the weights
    w = layer.get_weights()
    kern, rec = w[0].astype(np.float64), w[1].astype(np.float64)
    xs = (x[:, ::-1] if gb else x).astype(np.float64)
    h_prev = tr.h_prev.astype(np.float64)
    xp = xs @ kern
    if c["use_bias"]:
        xp += (w[2][0] if layer.reset_after else w[2]).astype(np.float64)
    sig, act = _act("sigmoid"), _act(c["activation"])
    if layer.reset_after:
        rp = h_prev @ rec
        if c["use_bias"]:
            rp += w[2][1].astype(np.float64)
        z = sig(xp[..., :u] + rp[..., :u])
        r = sig(xp[..., u:2 * u] + rp[..., u:2 * u])
        hh = act(xp[..., 2 * u:] + r * rp[..., 2 * u:])
    else:
        z = sig(xp[..., :u] + h_prev @ rec[:, :u])
        r = sig(xp[..., u:2 * u] + h_prev @ rec[:, u:2 * u])
        hh = act(xp[..., 2 * u:] + (r * h_prev) @ rec[:, 2 * u:])
    assert_close([g["z"], g["r"], g["hh"]], [z, r, hh], atol=1e-5,
                 name="z, r, hh from the weights")


@SETTINGS
@given(configs(kinds=["srnn"]), st.booleans(), st.booleans())
def test_simple_rnn_trace_rebuilds_the_equation(c: dict, gb: bool, with_h0: bool) -> None:
    """SimpleRNN trace: h equals the return_sequences output and h_t = act(x_t W + b +
    h_(t-1) U); no gates, no c."""
    layer = make(c, return_sequences=True, go_backwards=gb)
    x = inputs(c)
    kw = {"initial_state": random_states(c)} if with_h0 else {}
    out = layer(x, **kw)
    tr = rnnlens.trace(layer, x, **kw)[layer.name]
    assert tr.gates == {} and tr.c is None
    assert_close(tr.h, out, atol=0.0, name="trace h vs return_sequences output")
    w = [a.astype(np.float64) for a in layer.get_weights()]
    xs = (x[:, ::-1] if gb else x).astype(np.float64)
    a = xs @ w[0] + tr.h_prev.astype(np.float64) @ w[1]
    if c["use_bias"]:
        a += w[2]
    assert_close(tr.h, _act(c["activation"])(a), atol=1e-5, name="h_t = act(...)")


@SETTINGS
@given(configs(kinds=["stacked"]), st.booleans())
def test_stacked_trace_h_is_the_output(c: dict, masked: bool) -> None:
    """RNN([cells]) trace: h (the stack's output slot) equals the return_sequences output
    (no mask), and h_prev is h shifted by one step (previous outputs, 0 before the first)."""
    layer = make(c, return_sequences=True)
    x = inputs(c)
    kw = {"mask": random_mask(c)} if masked else {}
    out = layer(x, **kw)
    tr = rnnlens.trace(layer, x, **kw)[layer.name]
    if not masked:
        assert_close(tr.h, out, atol=0.0, name="trace h vs output")
    assert tr.h.shape == (c["batch"], c["steps"], c["units"])
    assert_close(tr.h_prev, np.concatenate([np.zeros_like(tr.h[:, :1]), tr.h[:, :-1]], 1),
                 atol=0.0, name="h_prev")


@pytest.mark.parametrize("kind", KINDS)
def test_step_on_unbuilt_layer_builds_it(kind: str) -> None:
    """step() on a fresh layer builds it from x_t and starts from zero states."""
    layer = new_layer(kind, 3, "tanh", return_sequences=True)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 1, 4)).astype(np.float32)
    out, _ = layer.step(x[:, 0])
    assert_close(out, layer(x)[:, 0], atol=TIGHT, name="first step of a fresh layer")


def test_stacked_step_with_mask_outputs_the_previous_output() -> None:
    """Explicit example: RNN([LSTMCell(4), GRUCell(3)]).step(x_t, mask=...) -- a masked
    sample outputs the stack's previous output (0 at the first step), shape (B, 3)."""
    layer = RNN([LSTMCell(4), GRUCell(3)], return_sequences=True)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 2, 2)).astype(np.float32)
    m = np.array([[True, False], [False, True], [True, True]])
    seq = layer(x, mask=m)
    out0, states = layer.step(x[:, 0], None, mask=m[:, 0])
    out1, _ = layer.step(x[:, 1], states, mask=m[:, 1])
    assert_close([out0, out1], [seq[:, 0], seq[:, 1]], atol=TIGHT,
                 name="stacked step with a mask vs the masked sequence")


def test_bidirectional_backward_layer_with_more_states() -> None:
    """return_state with backward_layer=LSTM under a SimpleRNN forward layer: all
    1 + 2 states come back, (y, h_f, h_b, c_b), equal to the two layers' own states."""
    x = np.random.default_rng(1).uniform(-1, 1, (2, 5, 3)).astype(np.float32)
    for merge_mode in ("concat", None):
        bidir = Bidirectional(SimpleRNN(2, return_sequences=True, return_state=True),
                              backward_layer=LSTM(2, go_backwards=True, return_sequences=True,
                                                  return_state=True), merge_mode=merge_mode)
        got = bidir(x)
        n_out = 2 if merge_mode is None else 1
        assert len(got) == n_out + 3, f"merge_mode={merge_mode}: {len(got)} tensors returned"
        fwd = bidir.forward_layer(x)
        bwd = bidir.backward_layer(x)
        assert_close(list(got[n_out:]), [*fwd[1:], *bwd[1:]], atol=0.0,
                     name="forward states then backward states")
