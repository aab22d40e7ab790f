"""Property tests (hypothesis): invariants of the LSTM layer, its masks, states and trace.

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
from rnnlens.layers import LSTM, Input
from rnnlens.models import Model

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
TIGHT = 1e-6

ACTS = ["tanh", "relu", "sigmoid", "hard_sigmoid", "linear", "softsign", "elu", "selu",
        "softplus", "swish", "gelu"]
REC_ACTS = ["sigmoid", "hard_sigmoid", "tanh"]


@st.composite
def configs(draw: Any, max_t: int = 8) -> dict:
    return dict(
        units=draw(st.integers(1, 6)), features=draw(st.integers(1, 4)),
        steps=draw(st.integers(1, max_t)), batch=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**31 - 1)),
        activation=draw(st.sampled_from(ACTS)),
        recurrent_activation=draw(st.sampled_from(REC_ACTS)),
        use_bias=draw(st.booleans()),
        scale=draw(st.sampled_from([0.3, 1.0, 2.0])),
    )


def make(c: dict, **flags: Any) -> LSTM:
    """An LSTM from a drawn config, built, with random U(-0.6, 0.6) weights."""
    layer = LSTM(c["units"], activation=c["activation"],
                 recurrent_activation=c["recurrent_activation"], use_bias=c["use_bias"],
                 **flags)
    batch = c["batch"] if flags.get("stateful") else None
    layer.build((batch, c["steps"], c["features"]))
    rng = np.random.default_rng(c["seed"])
    layer.set_weights([rng.uniform(-0.6, 0.6, s).astype(np.float32)
                       for s in layer.weight_shapes()])
    return layer


def inputs(c: dict, steps: int | None = None, salt: int = 0) -> np.ndarray:
    rng = np.random.default_rng(c["seed"] + 1 + salt)
    shape = (c["batch"], c["steps"] if steps is None else steps, c["features"])
    return (rng.uniform(-1, 1, shape) * c["scale"]).astype(np.float32)


def random_mask(c: dict, salt: int = 0) -> np.ndarray:
    rng = np.random.default_rng(c["seed"] + 7 + salt)
    return rng.random((c["batch"], c["steps"])) < 0.6


# ---------------------------------------------------------------------------- outputs


@SETTINGS
@given(configs())
def test_last_of_sequence_is_state_h(c: dict) -> None:
    """Without a mask, seq[:, -1] == h_T, and the last-output layer returns the same h."""
    seq_layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    seq, h, cs = seq_layer(x)
    assert seq.shape == (c["batch"], c["steps"], c["units"])
    assert h.shape == cs.shape == (c["batch"], c["units"])
    assert_close(seq[:, -1], h, atol=0.0, name="seq[:, -1] vs h")
    last_layer = make(c, return_state=True)
    last, h2, c2 = last_layer(x)
    assert_close(last, h, atol=0.0, name="return_sequences=False output vs h")
    assert_close([h2, c2], [h, cs], atol=0.0, name="states independent of return_sequences")


@SETTINGS
@given(configs(), st.booleans())
def test_go_backwards_equals_forward_on_reversed_input(c: dict, masked: bool) -> None:
    """go_backwards on x == forward on x[:, ::-1] (sequence in processing order, states),
    also with a mask reversed along with the input."""
    back = make(c, go_backwards=True, return_sequences=True, return_state=True)
    fwd = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    if masked:
        m = random_mask(c)
        got, want = back(x, mask=m), fwd(x[:, ::-1], mask=m[:, ::-1])
    else:
        got, want = back(x), fwd(np.ascontiguousarray(x[:, ::-1]))
    assert_close(got, want, atol=TIGHT, name="go_backwards vs forward(reversed)")


@SETTINGS
@given(configs(), st.booleans())
def test_unroll_is_numerically_identical_without_mask(c: dict, gb: bool) -> None:
    a = make(c, unroll=True, go_backwards=gb, return_sequences=True, return_state=True)
    b = make(c, unroll=False, go_backwards=gb, return_sequences=True, return_state=True)
    x = inputs(c)
    assert_close(a(x), b(x), atol=TIGHT, name="unroll vs loop")


@SETTINGS
@given(configs(), st.booleans(), st.booleans())
def test_all_true_mask_equals_no_mask(c: dict, gb: bool, zofm: bool) -> None:
    layer = make(c, go_backwards=gb, zero_output_for_mask=zofm, return_sequences=True,
                 return_state=True)
    x = inputs(c)
    assert_close(layer(x, mask=np.ones(x.shape[:2], bool)), layer(x), atol=TIGHT,
                 name="all-true mask vs no mask")


@SETTINGS
@given(configs(), st.integers(1, 5), st.booleans())
def test_trailing_masked_steps_leave_states_unchanged(c: dict, pad: int, zofm: bool) -> None:
    """Padding at the end (masked) gives the states of the unpadded prefix; the output
    sequence repeats the last valid h there (or 0 with zero_output_for_mask)."""
    layer = make(c, return_sequences=True, return_state=True, zero_output_for_mask=zofm)
    x = inputs(c)
    junk = inputs(c, steps=pad, salt=3) * 5.0
    xp = np.concatenate([x, junk], axis=1)
    m = np.concatenate([np.ones(x.shape[:2], bool), np.zeros((c["batch"], pad), bool)], 1)
    seq_p, h_p, c_p = layer(xp, mask=m)
    seq, h, cs = layer(x)
    assert_close([h_p, c_p], [h, cs], atol=TIGHT, name="states with trailing padding")
    assert_close(seq_p[:, : c["steps"]], seq, atol=TIGHT, name="unpadded part of the sequence")
    tail = np.zeros_like(seq_p[:, c["steps"]:]) if zofm else np.repeat(
        h[:, None], pad, axis=1)
    assert_close(seq_p[:, c["steps"]:], tail, atol=TIGHT, name="padded part of the sequence")
    last = make(c, zero_output_for_mask=zofm)(xp, mask=m)
    assert_close(last, np.zeros_like(h) if zofm else h, atol=TIGHT,
                 name="return_sequences=False with trailing padding")


@SETTINGS
@given(configs(), st.integers(1, 4))
def test_leading_masked_steps_skip_and_output_zero(c: dict, pad: int) -> None:
    """Left padding: states equal the unpadded run from the same initial state; outputs at
    the padded steps are 0 (TensorFlow carries a zero output, not h0: spec §10.2)."""
    layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    rng = np.random.default_rng(c["seed"] + 5)
    h0, c0 = (rng.uniform(-1, 1, (c["batch"], c["units"])).astype(np.float32) for _ in "hc")
    xp = np.concatenate([inputs(c, steps=pad, salt=9), x], axis=1)
    m = np.concatenate([np.zeros((c["batch"], pad), bool), np.ones(x.shape[:2], bool)], 1)
    seq_p, h_p, c_p = layer(xp, mask=m, initial_state=[h0, c0])
    seq, h, cs = layer(x, initial_state=[h0, c0])
    assert_close([h_p, c_p], [h, cs], atol=TIGHT, name="states with leading padding")
    assert_close(seq_p[:, pad:], seq, atol=TIGHT, name="valid part")
    assert_close(seq_p[:, :pad], np.zeros_like(seq_p[:, :pad]), atol=0.0, name="padded part")


@SETTINGS
@given(configs())
def test_fully_masked_row_keeps_initial_state(c: dict) -> None:
    layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    rng = np.random.default_rng(c["seed"] + 5)
    h0, c0 = (rng.uniform(-1, 1, (c["batch"], c["units"])).astype(np.float32) for _ in "hc")
    m = random_mask(c)
    m[0] = False
    seq, h, cs = layer(x, mask=m, initial_state=[h0, c0])
    assert_close([h[0], cs[0]], [h0[0], c0[0]], atol=0.0, name="fully masked row states")
    assert_close(seq[0], np.zeros_like(seq[0]), atol=0.0, name="fully masked row outputs")


@SETTINGS
@given(configs(), st.booleans())
def test_batch_rows_are_independent(c: dict, masked: bool) -> None:
    """Row b of a batched call equals the call on row b alone (no cross-talk)."""
    layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    m = random_mask(c) if masked else None
    full = layer(x, mask=m)
    b = c["batch"] - 1
    one = layer(x[b:b + 1], mask=None if m is None else m[b:b + 1])
    assert_close([a[b:b + 1] for a in full], one, atol=TIGHT, name="row vs batch")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@SETTINGS
@given(configs(), st.booleans(), st.booleans())
def test_masked_steps_ignore_their_input_even_nan(c: dict, gb: bool, zofm: bool) -> None:
    """Whatever sits at a masked step (0, huge, NaN) changes nothing."""
    layer = make(c, go_backwards=gb, zero_output_for_mask=zofm, return_sequences=True,
                 return_state=True)
    x = inputs(c)
    m = random_mask(c)
    ref = layer(np.where(m[:, :, None], x, 0.0).astype(np.float32), mask=m)
    for filler in (1e6, np.nan):
        got = layer(np.where(m[:, :, None], x, filler).astype(np.float32), mask=m)
        assert_close(got, ref, atol=0.0, name=f"masked steps filled with {filler}")


# ---------------------------------------------------------------------------- stateful


@SETTINGS
@given(configs(max_t=10), st.data())
def test_stateful_halves_equal_one_pass(c: dict, data: Any) -> None:
    """A stateful layer fed x[:, :k] then x[:, k:] equals one pass over x; reset_state
    makes the next call equal a fresh one."""
    if c["steps"] < 2:
        c = dict(c, steps=2)
    k = data.draw(st.integers(1, c["steps"] - 1), label="split")
    x = inputs(c)
    whole = make(c, return_sequences=True, return_state=True)
    seq, h, cs = whole(x)
    sf = make(c, stateful=True, return_sequences=True, return_state=True)
    s1, _, _ = sf(x[:, :k])
    s2, h2, c2 = sf(x[:, k:])
    assert_close(np.concatenate([s1, s2], axis=1), seq, atol=TIGHT, name="halves vs whole")
    assert_close([h2, c2], [h, cs], atol=TIGHT, name="final states halves vs whole")
    assert_close(sf.states, [h, cs], atol=TIGHT, name="stored states")
    sf.reset_state()
    assert_close(sf.states, [np.zeros_like(h)] * 2, atol=0.0, name="after reset")
    assert_close(sf(x[:, :k])[0], s1, atol=TIGHT, name="fresh after reset")


@SETTINGS
@given(configs(max_t=6))
def test_stateful_explicit_initial_state_overrides_stored(c: dict) -> None:
    sf = make(c, stateful=True, return_state=True)
    plain = make(c, return_state=True)
    x = inputs(c)
    sf(x)                                   # stored state is now non-zero
    rng = np.random.default_rng(c["seed"] + 2)
    h0, c0 = (rng.uniform(-1, 1, (c["batch"], c["units"])).astype(np.float32) for _ in "hc")
    got = sf(x, initial_state=[h0, c0])
    want = plain(x, initial_state=[h0, c0])
    assert_close(got, want, atol=TIGHT, name="stateful with explicit initial_state")
    assert_close(sf.states, list(want[1:]), atol=TIGHT, name="written back")


@SETTINGS
@given(configs(max_t=6), st.integers(1, 9))
def test_predict_batch_size_does_not_change_results(c: dict, batch_size: int) -> None:
    i = Input((c["steps"], c["features"]))
    layer = LSTM(c["units"], return_sequences=True, activation=c["activation"])
    model = Model(i, layer(i))
    rng = np.random.default_rng(c["seed"])
    model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    x = inputs(dict(c, batch=9))
    assert_close(model.predict(x, batch_size=batch_size), model(x), atol=TIGHT,
                 name="predict(batch_size) vs model(x)")


# ---------------------------------------------------------------------------- trace


def _act(name: str) -> Any:
    return rnnlens.activations.get(name)


@SETTINGS
@given(configs(), st.booleans())
def test_trace_rebuilds_the_lstm_equations(c: dict, with_h0: bool) -> None:
    """c_t = f*c_(t-1) + i*g and h_t = o*act(c_t) from the traced gates and states."""
    layer = make(c, return_sequences=True)
    x = inputs(c)
    kw: dict = {}
    if with_h0:
        rng = np.random.default_rng(c["seed"] + 4)
        kw["initial_state"] = [rng.uniform(-1, 1, (c["batch"], c["units"])).astype(np.float32)
                               for _ in range(2)]
    tr = rnnlens.trace(layer, x, **kw)[layer.name]
    g = tr.gates
    assert set(g) == {"i", "f", "g", "o"}
    shape = (c["batch"], c["steps"], c["units"])
    assert tr.h.shape == tr.c.shape == shape
    assert all(v.shape == shape for v in g.values())
    assert_close(tr.c, g["f"] * tr.c_prev + g["i"] * g["g"], atol=TIGHT, name="c_t")
    assert_close(tr.h, g["o"] * _act(c["activation"])(tr.c), atol=TIGHT, name="h_t")
    if with_h0:
        assert_close([tr.h_prev[:, 0], tr.c_prev[:, 0]], kw["initial_state"], atol=0.0,
                     name="h_prev/c_prev at step 0")
    else:
        assert_close(tr.h_prev[:, 0], np.zeros_like(tr.h[:, 0]), atol=0.0, name="h_prev[0]")
    # the gates really are the recurrent activation of the pre-activations
    rec = _act(c["recurrent_activation"])
    lo, hi = float(rec(np.array([-50.0], np.float32))[0]), float(rec(np.array([50.0],
                                                                              np.float32))[0])
    for name in "ifo":
        assert g[name].min() >= lo - 1e-6 and g[name].max() <= hi + 1e-6, name
    # h_prev[t] = h[t-1]
    assert_close(tr.h_prev[:, 1:], tr.h[:, :-1], atol=0.0, name="h_prev shift")


@SETTINGS
@given(configs(), st.booleans())
def test_trace_h_equals_sequence_output_and_follows_go_backwards(c: dict, gb: bool) -> None:
    layer = make(c, return_sequences=True, go_backwards=gb)
    x = inputs(c)
    before = layer(x)
    tr = rnnlens.trace(layer, x)[layer.name]
    after = layer(x)
    assert_close(tr.h, before, atol=0.0, name="trace h vs return_sequences output")
    assert_close(tr.output, before, atol=0.0, name="trace output")
    assert_close(after, before, atol=0.0, name="output after tracing")
    assert tr.go_backwards is gb
    if gb:   # step 0 consumed x[:, -1]: equals a forward trace of the reversed input
        fwd = make(c, return_sequences=True)
        tf = rnnlens.trace(fwd, np.ascontiguousarray(x[:, ::-1]))[fwd.name]
        assert_close([tr.h, tr.c], [tf.h, tf.c], atol=TIGHT, name="backwards trace order")
        assert_close(list(tr.gates.values()), [tf.gates[k] for k in tr.gates], atol=TIGHT,
                     name="backwards gates order")


@SETTINGS
@given(configs(), st.booleans(), st.booleans())
def test_trace_with_mask(c: dict, gb: bool, zofm: bool) -> None:
    """With a mask, traced states repeat the previous state at masked steps, the
    equations hold at kept steps, the mask is reported in step order, and the output
    is unchanged by tracing."""
    layer = make(c, return_sequences=True, go_backwards=gb, zero_output_for_mask=zofm)
    x = inputs(c)
    m = random_mask(c)
    out = layer(x, mask=m)
    tr = rnnlens.trace(layer, x, mask=m)[layer.name]
    assert_close(layer(x, mask=m), out, atol=0.0, name="output after tracing")
    assert_close(tr.output, out, atol=0.0, name="trace output")
    pm = m[:, ::-1] if gb else m
    assert tr.mask is not None and np.array_equal(tr.mask, pm), "trace mask in step order"
    keep = pm[:, :, None]
    g = tr.gates
    c_new = g["f"] * tr.c_prev + g["i"] * g["g"]
    assert_close(np.where(keep, tr.c, 0), np.where(keep, c_new, 0), atol=TIGHT,
                 name="c_t at kept steps")
    assert_close(np.where(keep, 0, tr.c), np.where(keep, 0, tr.c_prev), atol=0.0,
                 name="c repeats at masked steps")
    assert_close(np.where(keep, 0, tr.h), np.where(keep, 0, tr.h_prev), atol=0.0,
                 name="h repeats at masked steps")
    assert_close(np.where(keep, out, 0), np.where(keep, tr.h, 0), atol=0.0,
                 name="output = h at kept steps")


def test_trace_model_records_every_recurrent_layer() -> None:
    rnnlens.utils.set_random_seed(3)
    i = Input((4, 2))
    a = LSTM(3, return_sequences=True, name="first")(i)
    o = LSTM(2, go_backwards=True, return_sequences=True, name="second")(a)
    model = Model(i, o)
    x = np.random.default_rng(0).uniform(-1, 1, (5, 4, 2)).astype(np.float32)
    out = model(x)
    tr = rnnlens.trace(model, x)
    assert list(tr) == ["first", "second"]
    assert_close(tr["second"].h, out, atol=0.0, name="second layer h vs model output")
    assert_close(tr["first"].h, model.get_layer("first")(x), atol=0.0, name="first layer h")
    assert_close(model(x), out, atol=0.0, name="model output after trace")


def test_trace_shared_layer_called_twice() -> None:
    i1, i2 = Input((3, 2)), Input((5, 2))
    shared = LSTM(2, return_sequences=True, name="shared")
    from rnnlens.layers import Concatenate  # noqa: PLC0415

    model = Model([i1, i2], Concatenate(axis=1)([shared(i1), shared(i2)]))
    rng = np.random.default_rng(0)
    x1 = rng.uniform(-1, 1, (2, 3, 2)).astype(np.float32)
    x2 = rng.uniform(-1, 1, (2, 5, 2)).astype(np.float32)
    tr = rnnlens.trace(model, [x1, x2])
    assert sorted(tr) == ["shared", "shared_call_1"]
    assert {tr["shared"].h.shape, tr["shared_call_1"].h.shape} == {(2, 3, 2), (2, 5, 2)}
    out = model([x1, x2])
    got = np.concatenate([t.h for t in sorted(tr.values(), key=lambda t: t.h.shape[1])], 1)
    assert_close(got, out, atol=0.0, name="both calls traced")


# ---------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, bool])
def test_outputs_are_float32(dtype: Any) -> None:
    layer = LSTM(3, return_sequences=True, return_state=True)
    x = (np.arange(24).reshape(2, 4, 3) % 3).astype(dtype)
    outs = layer(x, initial_state=[np.zeros((2, 3), np.float64)] * 2)
    assert all(isinstance(o, np.ndarray) and o.dtype == np.float32 for o in outs)
    i = Input((4, 3))
    model = Model(i, LSTM(2)(i))
    assert model.predict(x).dtype == np.float32
    assert model(x).dtype == np.float32
    tr = rnnlens.trace(layer, x)[layer.name]
    assert tr.h.dtype == tr.c.dtype == np.float32
    assert all(v.dtype == np.float32 for v in tr.gates.values())


@SETTINGS
@given(configs())
def test_float64_input_matches_float32_input(c: dict) -> None:
    layer = make(c, return_sequences=True)
    x = inputs(c)
    assert_close(layer(x.astype(np.float64)), layer(x), atol=0.0, name="float64 vs float32 x")


@SETTINGS
@given(configs())
def test_call_does_not_modify_inputs_or_initial_state(c: dict) -> None:
    layer = make(c, return_sequences=True, return_state=True)
    x = inputs(c)
    h0 = np.ones((c["batch"], c["units"]), np.float32) * 0.5
    c0 = -h0
    saved = [x.copy(), h0.copy(), c0.copy()]
    layer(x, initial_state=[h0, c0], mask=random_mask(c))
    assert_close([x, h0, c0], saved, atol=0.0, name="inputs untouched")
