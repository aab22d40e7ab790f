"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D and ConvLSTMCell against live Keras 3.15.1
(TensorFlow) and, for .h5 files, tf_keras 2.21.

* values: eager outputs and final states of every rank over the flags (return_sequences,
  return_state, go_backwards, padding, strides, dilation, data formats, activations incl.
  softmax-like ones, no bias) and hypothesis over the convolution arguments; masks with
  and without initial states, zero_output_for_mask, unroll; stateful layers across calls
  and reset_state; ``compute_output_shape`` and symbolic shapes; the one-step cell API and
  ``layer.step`` streaming;
* training: layer ``backward`` (input, initial states, every weight) against
  ``tf.GradientTape`` with masks, initial states and returned states; models through
  ``rnnlens.training.gradients``; a ``fit`` history; float64 finite differences (also
  with dropout masks, which cannot match TensorFlow's random numbers: their semantics
  are tested instead);
* ``rnnlens.trace``: h, c and the gates as feature maps, ``c = f * c_prev + i * g`` and
  ``h = o * act(c)`` elementwise;
* ``get_config()`` equal to Keras's in Keras's key order, ``from_config`` both ways;
  ``.keras`` / ``.h5`` both ways, tf_keras ``.h5`` files, ``summary()``;
* errors: where Keras refuses, rnnlens refuses with the same exception type; a fuzz of
  arguments and inputs accepts only results or ValueError / TypeError from rnnlens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from conv_lstm_parity import (MODELS, layer_class, layer_pair, our_layer_grads, seq,
                              tape_layer_grads)
from merge_reshape_parity import (assert_raised_by_rnnlens, build_pair, check_rel,
                                  files_both_ways, floats, leaves, load_keras,
                                  plain_config, summary_text, tape_weight_grads)
from oracle import assert_close
from rnnlens import layers as RL

pytestmark = pytest.mark.filterwarnings("ignore:.*HDF5 file")


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


CF = {"data_format": "channels_first"}
FLAGS = [
    dict(filters=2, kernel_size=2),
    dict(filters=3, kernel_size=3, padding="same", return_sequences=True),
    dict(filters=2, kernel_size=2, strides=2, return_state=True),
    dict(filters=2, kernel_size=2, dilation_rate=2, padding="same", go_backwards=True,
         return_sequences=True),
    dict(filters=2, kernel_size=3, padding="SAME", return_state=True, return_sequences=True,
         **CF),
    dict(filters=2, kernel_size=1, use_bias=False, unit_forget_bias=False, activation="relu",
         recurrent_activation="hard_sigmoid", go_backwards=True),
    dict(filters=3, kernel_size=2, activation="softmax", recurrent_activation="softmax",
         return_sequences=True, **CF),
]


def _ids(kw: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in kw.items())


# ---------------------------------------------------------------------------- values
#: TensorFlow's 3-D convolutions in channels_first take seconds per call on CPU: 3-D runs
#: the channels-last cases (the layout code is the same for every rank).
EAGER = [(rank, kw) for rank in (1, 2, 3) for kw in FLAGS
         if rank < 3 or "data_format" not in kw]


@pytest.mark.parametrize("rank,kwargs", EAGER, ids=[f"{r}D {_ids(k)}" for r, k in EAGER])
def test_eager_outputs_and_states(K: Any, parity: Any, rank: int, kwargs: dict) -> None:
    x = seq(rank, cf="data_format" in kwargs, seed=rank)
    kl, rl = layer_pair(K, rank, kwargs, x.shape, seed=rank)
    theirs, ours = leaves(kl(x)), leaves(rl(x))
    parity(ours, theirs, name=f"ConvLSTM{rank}D {kwargs}")
    assert all(o.dtype == np.float32 for o in ours)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(rank=st.sampled_from([1, 2]), filters=st.integers(1, 3), k=st.integers(1, 3),
       s=st.integers(1, 2), d=st.integers(1, 2), pad=st.sampled_from(["valid", "same"]),
       cf=st.booleans(), size=st.integers(1, 5), steps=st.integers(1, 3),
       flags=st.tuples(st.booleans(), st.booleans(), st.booleans()), seed=st.integers(0, 99))
def test_hypothesis_arguments(K: Any, parity: Any, rank: int, filters: int, k: int, s: int,
                              d: int, pad: str, cf: bool, size: int, steps: int, flags: tuple,
                              seed: int) -> None:
    """Values equal, or both refuse with the same exception type."""
    kwargs = dict(filters=filters, kernel_size=k, strides=s, dilation_rate=d, padding=pad,
                  data_format="channels_first" if cf else "channels_last",
                  return_sequences=flags[0], return_state=flags[1], go_backwards=flags[2])
    shape = (2, steps, *(size + i for i in range(rank)), 2)
    x = floats(shape, seed)
    x = np.ascontiguousarray(np.moveaxis(x, -1, 2)) if cf else x
    try:
        kl = layer_class(K, rank)(**kwargs)
        kl.build(x.shape)
        expected = leaves(kl(x))
    except Exception as err:  # noqa: BLE001  (TensorFlow's own errors too)
        same = type(err) if isinstance(err, (ValueError, TypeError)) else (ValueError,
                                                                          TypeError)
        with pytest.raises(same) as ours:
            layer_class(rnnlens, rank)(**kwargs)(x)
        assert_raised_by_rnnlens(ours.value)
        return
    kl, rl = layer_pair(K, rank, kwargs, x.shape, seed)
    parity(leaves(rl(x)), leaves(kl(x)), name=f"{kwargs} {x.shape}")
    assert [a.shape for a in expected] == [a.shape for a in leaves(rl(x))]


MASKED = [dict(return_sequences=True), dict(return_sequences=True, go_backwards=True),
          dict(return_sequences=True, zero_output_for_mask=True),
          dict(return_state=True, go_backwards=True, zero_output_for_mask=True),
          dict(return_sequences=True, unroll=True, go_backwards=True,
               zero_output_for_mask=True)]
MASK = np.array([[1, 1, 0, 1], [0, 0, 1, 1], [1, 0, 0, 0]], bool)


@pytest.mark.parametrize("kwargs", MASKED, ids=_ids)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_masks_and_initial_states(K: Any, parity: Any, rank: int, kwargs: dict) -> None:
    """Masked steps hold both states and repeat (or zero) the output; leading masked
    steps output 0 even from a non-zero initial state, as Keras's TensorFlow loop."""
    x = seq(rank, batch=3, steps=4, seed=7)
    kl, rl = layer_pair(K, rank, dict(filters=2, kernel_size=2, **kwargs), x.shape, seed=3)
    state = (3, *rl.cell.state_shape())
    h0, c0 = floats(state, 8), floats(state, 9)
    for call in (dict(mask=MASK), dict(mask=MASK, initial_state=[h0, c0]),
                 dict(initial_state=(h0, c0))):
        parity(leaves(rl(x, **call)), leaves(kl(x, **call)), name=f"{kwargs} {list(call)}")
    out = rl(x, mask=MASK[:, :, None])                     # (B, T, 1) masks too, as Keras
    parity(leaves(out), leaves(kl(x, mask=MASK)), name="(B, T, 1) mask")


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_stateful_across_calls(K: Any, parity: Any, rank: int) -> None:
    x1, x2 = seq(rank, seed=1), seq(rank, seed=2)
    kl, rl = layer_pair(K, rank, dict(filters=2, kernel_size=2, stateful=True,
                                      return_sequences=True, padding="same"), x1.shape)
    for k, x in enumerate((x1, x2, x1)):
        parity(rl(x), np.asarray(kl(x)), name=f"stateful call {k}")
        parity(rl.states, [np.asarray(s) for s in kl.states], name=f"states after call {k}")
    kl.reset_state()
    rl.reset_state()
    parity(rl(x2), np.asarray(kl(x2)), name="after reset_state")
    given = [np.ones_like(s) * 0.5 for s in rl.states]
    rl.reset_state(given)
    assert_close(rl.states, given, atol=0.0)
    with pytest.raises(ValueError, match="batch size 2"):
        rl(seq(rank, batch=3))
    with pytest.raises(ValueError, match=r"states\[1\] of shape"):
        rl.reset_state([given[0], given[1][:, :1]])


def test_stateful_model_predict(K: Any, parity: Any) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input(batch_shape=(2, 3, 4, 5, 2))
        return lib.Model(i, lib.layers.ConvLSTM2D(2, 2, stateful=True)(i))

    km, rm = build_pair(K, build, seed=1)
    x = seq(2)
    for k in range(2):
        parity(rm.predict(x, batch_size=2), km.predict(x, batch_size=2, verbose=0),
               name=f"stateful predict {k}")


SHAPES = [(1, dict(filters=3, kernel_size=2, strides=2), (None, None, 7, 2)),
          (1, dict(filters=3, kernel_size=3, return_state=True, **CF), (4, 5, 2, 9)),
          (2, dict(filters=2, kernel_size=(2, 3), return_sequences=True), (None, 3, 5, 6, 1)),
          (2, dict(filters=2, kernel_size=3, padding="same", dilation_rate=2,
                   return_sequences=True, return_state=True, **CF), (None, None, 3, 4, 5)),
          (3, dict(filters=1, kernel_size=2, strides=(1, 2, 2)), (None, 2, 3, 4, 5, 2))]


@pytest.mark.parametrize("rank,kwargs,shape", SHAPES, ids=[str(s[2]) for s in SHAPES])
def test_compute_output_shape(K: Any, rank: int, kwargs: dict, shape: tuple) -> None:
    theirs = layer_class(K, rank)(**kwargs).compute_output_shape(shape)
    ours = layer_class(rnnlens, rank)(**kwargs).compute_output_shape(shape)
    assert plain_config(ours) == plain_config(theirs)
    sym = layer_class(rnnlens, rank)(**kwargs)(rnnlens.Input(batch_shape=shape))
    ksym = layer_class(K, rank)(**kwargs)(K.Input(batch_shape=shape))
    assert [t.shape for t in leaves_sym(sym)] == [tuple(t.shape) for t in leaves_sym(ksym)]


def leaves_sym(out: Any) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def test_cell_one_step_like_keras(K: Any, parity: Any) -> None:
    from keras.src.layers.rnn.conv_lstm import ConvLSTMCell as KCell  # noqa: PLC0415

    for kwargs in (dict(rank=2, filters=2, kernel_size=2),
                   dict(rank=1, filters=3, kernel_size=3, padding="same", **CF)):
        x = seq(kwargs["rank"], cf="data_format" in kwargs, seed=4)[:, 0]
        kc, rc = KCell(**kwargs), rnnlens.cells.ConvLSTMCell(**kwargs)
        kc.build(x.shape)
        rc.build(x.shape)
        weights = [floats(w.shape, 5, 0.5) for w in kc.weights]
        kc.set_weights(weights)
        rc.set_weights(weights)
        states = [floats(s.shape, 6 + k) for k, s in enumerate(kc.get_initial_state(2))]
        parity(leaves(rc(x, states)), leaves(kc(x, states)), name=f"cell {kwargs}")
        parity(rc.get_initial_state(2), leaves(kc.get_initial_state(2)), name="zero states")
        assert rc.get_config() == kc.get_config()
        again = rnnlens.cells.ConvLSTMCell.from_config(rc.get_config())
        assert again.rank == kwargs["rank"] and again.get_config() == rc.get_config()


@pytest.mark.parametrize("rank", [1, 2])
def test_step_streaming_equals_sequence(rank: int) -> None:
    layer = layer_class(rnnlens, rank)(2, 2, return_sequences=True, padding="same")
    x = seq(rank, steps=4, seed=3)
    whole = layer(x)
    states = None
    for t in range(4):
        h, states = layer.step(x[:, t], states)
        assert_close(h, whole[:, t], atol=1e-6, name=f"step {t}")
    h_masked, kept = layer.step(x[:, 0], states, mask=np.array([True, False]))
    assert_close(kept[0][1], states[0][1], atol=0.0, name="masked sample keeps h")
    assert_close(h_masked[1], states[0][1], atol=0.0, name="masked sample repeats h")


# ---------------------------------------------------------------------------- training
GRADS = [(2, dict(return_sequences=True), dict()),
         (1, dict(return_state=True, go_backwards=True, padding="same"), dict(mask=True)),
         (2, dict(return_sequences=True, zero_output_for_mask=True, go_backwards=True),
          dict(mask=True, states=True)),
         (3, dict(return_state=True, return_sequences=True), dict(states=True)),
         (2, dict(return_state=True, padding="same", **CF), dict(mask=True, states=True)),
         (2, dict(strides=2, activation="relu", recurrent_activation="hard_sigmoid",
                  use_bias=False), dict(mask=True)),
         (1, dict(dilation_rate=2, activation="softmax", recurrent_activation="softmax",
                  return_sequences=True, **CF), dict(states=True)),
         (2, dict(return_sequences=True, unroll=True, go_backwards=True,
                  zero_output_for_mask=True), dict(mask=True))]


@pytest.mark.parametrize("rank,kwargs,call", GRADS, ids=[f"{r}D {_ids(k)} {_ids(c)}"
                                                          for r, k, c in GRADS])
def test_layer_backward_against_tape(K: Any, parity: Any, rank: int, kwargs: dict,
                                     call: dict) -> None:
    """d input, d initial states and d every weight, for all outputs (states too)."""
    x = seq(rank, batch=3, steps=4, cf="data_format" in kwargs, seed=11)
    kl, rl = layer_pair(K, rank, dict(filters=2, kernel_size=2, **kwargs), x.shape, seed=5)
    call_kw: dict = {}
    if call.get("mask"):
        call_kw["mask"] = MASK
    if call.get("states"):
        call_kw["initial_state"] = [floats((3, *rl.cell.state_shape()), 12 + k)
                                    for k in range(2)]
    d_out = [floats(np.shape(o), 20 + k) for k, o in enumerate(leaves(rl(x, **call_kw)))]
    ours, theirs = our_layer_grads(rl, x, call_kw, d_out), tape_layer_grads(kl, x, call_kw,
                                                                            d_out)
    assert len(ours[1]) == len(theirs[1]) and len(ours[2]) == len(theirs[2])
    ours, theirs = [ours[0], *ours[1], *ours[2]], [theirs[0], *theirs[1], *theirs[2]]
    # relative to the largest gradient of the call: with softmax gates the bias gradient
    # is 0 up to rounding (a constant along the softmax axis changes nothing)
    scale = max(float(np.abs(e).max()) for e in theirs)
    for k, (a, e) in enumerate(zip(ours, theirs)):
        parity(np.asarray(a) / scale, e / scale, name=f"gradient {k} {e.shape} / {scale:.3g}")


@pytest.mark.parametrize("case", list(MODELS))
def test_models_predict_and_weight_gradients(K: Any, parity: Any, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=2)
    x = make()
    parity(leaves(rm.predict(x, batch_size=2)), leaves(km.predict(x, batch_size=2,
                                                                  verbose=0)),
           name=f"{case} predict")
    if case == "states_1d":                          # several outputs: see the layer tests
        return
    pred = np.asarray(km(x, training=False))
    y = floats(pred.shape, 99)
    expected = iter(tape_weight_grads(K, km, x, y))
    trainable = {id(w) for w in rm.trainable_weights}
    ours = rnnlens.training.gradients(rm, x, y, "mse")
    for k, (w, d) in enumerate(zip(rm.weights, ours, strict=True)):
        if id(w) in trainable:                       # BatchNormalization's moving stats: no
            check_rel(parity, d, next(expected), f"{case} weight {k} {w.shape}", rtol=1e-5)
    assert next(expected, None) is None


@pytest.mark.slow
def test_fit_history(K: Any, parity: Any) -> None:
    """keras.io's next-frame model (small): Adam and binary cross-entropy on frames."""
    km, rm = build_pair(K, MODELS["next_frame"][0], seed=4)
    x = floats((8, 3, 6, 6, 1), 15)
    y = (floats((8, 3, 6, 6, 1), 16) > 0).astype(np.float32)
    for model, lib in ((km, K), (rm, rnnlens)):
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="binary_crossentropy")
    k_hist = km.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    r_hist = rm.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    parity(np.asarray(r_hist["loss"]), np.asarray(k_hist["loss"]), name="fit loss")
    parity(rm.get_weights(), km.get_weights(), name="weights after fit")


@pytest.mark.parametrize("kwargs,train", [
    (dict(return_sequences=True, go_backwards=True), False),
    (dict(return_state=True, activation="relu", recurrent_activation="softmax", **CF), False),
    (dict(return_sequences=True, dropout=0.3, recurrent_dropout=0.4, seed=3), True)])
def test_backward_finite_differences(kwargs: dict, train: bool) -> None:
    """Every gradient (input, initial states, weights) against central differences in
    float64, with a mask; with dropout the masks are redrawn identically each call."""
    from rnnlens.backend import floatx, set_floatx  # noqa: PLC0415

    before = floatx()
    set_floatx("float64")
    try:
        rng = np.random.default_rng(1)
        x = rng.normal(size=(2, 3, 1, 3, 3) if kwargs.get("data_format") else (2, 3, 3, 3, 1))
        layer = RL.ConvLSTM2D(2, 2, padding="same", **kwargs)
        layer.maybe_build(x.shape)
        layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.weights])
        states = [rng.normal(size=(2, *layer.cell.state_shape())) for _ in range(2)]
        mask = np.array([[True, False, True], [False, True, True]])

        def run() -> tuple:
            if train:
                layer.cell._rng = np.random.default_rng(0)     # the same dropout masks
            return layer.forward(x, initial_state=states, mask=mask, training=train)

        out, cache = run()
        outs = leaves(out)
        gs = [rng.normal(size=o.shape) for o in outs]
        d_x, extra, d_w = layer.backward(cache, tuple(gs) if layer.return_state else gs[0])
        targets = [(x, d_x, "input")] + [(s, d, f"state {k}") for k, (s, d) in enumerate(
            zip(states, extra["initial_state"]))] + [
            (w, d, f"weight {k}") for k, (w, d) in enumerate(zip(layer.weights, d_w))]
        for target, grad, name in targets:
            fd = np.zeros_like(target)
            for idx in np.ndindex(target.shape):
                old = target[idx]
                target[idx] = old + 1e-6
                layer.weights_changed()
                plus = sum(np.sum(o * g) for o, g in zip(leaves(run()[0]), gs))
                target[idx] = old - 1e-6
                layer.weights_changed()
                minus = sum(np.sum(o * g) for o, g in zip(leaves(run()[0]), gs))
                target[idx] = old
                fd[idx] = (plus - minus) / 2e-6
            layer.weights_changed()
            assert_close(grad, fd, atol=1e-6, name=f"d {name}")
    finally:
        set_floatx(before)


@pytest.mark.parametrize("kwargs", [dict(), dict(activation="relu", dropout=0.3,
                                                 recurrent_dropout=0.2, seed=1, **CF)])
def test_chunked_steps_equal_one_chunk(monkeypatch: Any, kwargs: dict) -> None:
    """The all-steps convolutions run in chunks of steps (bounded im2col matrices): one
    step per chunk gives the same outputs and gradients as one chunk."""
    from rnnlens.cells import _conv_lstm_backward as back  # noqa: PLC0415

    x = seq(2, batch=2, steps=4, cf="data_format" in kwargs, seed=5)
    layer = RL.ConvLSTM2D(2, 2, return_sequences=True, **kwargs)
    layer.build(x.shape)
    d_out = floats(layer.compute_output_shape(x.shape), 6)
    results = []
    for chunk in (back.CHUNK_ELEMENTS, 1):
        monkeypatch.setattr(back, "CHUNK_ELEMENTS", chunk)
        layer.cell._rng = np.random.default_rng(0)
        out, cache = layer.forward(x, mask=MASK[:2], training=True)
        results.append([out, *leaves(layer.backward(cache, d_out)[::2])])
    assert_close(results[1], results[0], atol=1e-6, name="one step per chunk")


def test_dropout_semantics() -> None:
    """TensorFlow's draws cannot be reproduced: four masks per kind (one per gate), each
    0 or 1 / (1 - rate) with the rate's frequency, drawn once per call; identity at
    inference and at rates 0 and 1 (Keras applies dropout only for 0 < rate < 1)."""
    x = seq(2, batch=4, seed=1)
    layer = RL.ConvLSTM2D(2, 2, dropout=0.3, recurrent_dropout=0.6, seed=1)
    plain = RL.ConvLSTM2D(2, 2)
    layer.build(x.shape)
    plain.build(x.shape)
    for rate in (0.0, 1.0):
        other = RL.ConvLSTM2D(2, 2, dropout=rate, recurrent_dropout=rate)
        other.build(x.shape)
        other.set_weights(layer.get_weights())
        assert_close(other(x, training=True), layer(x), atol=0.0, name=f"rate {rate}")
    plain.set_weights(layer.get_weights())
    assert_close(layer(x), plain(x), atol=0.0, name="inference")
    assert np.abs(layer(x, training=True) - plain(x)).max() > 1e-3
    inp, rec = layer.cell.dropout_masks(4000, True)
    assert len(inp) == len(rec) == 4
    for masks, rate, size in ((inp, 0.3, 4 * 5 * 2), (rec, 0.6, 3 * 4 * 2)):
        for m in masks:
            assert m.shape == (4000, size)
            assert_close(np.unique(m), np.array([0.0, 1 / (1 - rate)]), atol=1e-6)
            assert abs((m == 0).mean() - rate) < 0.01
    assert not np.array_equal(inp[0], inp[1])


# ---------------------------------------------------------------------------- trace
@pytest.mark.parametrize("kwargs", [dict(), dict(go_backwards=True, **CF),
                                    dict(strides=2, activation="relu", masked=True)],
                         ids=["plain", "backwards_cf", "strided_masked"])
def test_trace_feature_maps(kwargs: dict) -> None:
    masked = kwargs.pop("masked", False)
    cf = "data_format" in kwargs
    x = seq(2, batch=3, steps=4, cf=cf, seed=2)
    layer = RL.ConvLSTM2D(3, 2, return_sequences=True, **kwargs)
    act = rnnlens.activations.get(kwargs.get("activation", "tanh"))
    mask = MASK if masked else None
    layer.build(x.shape)
    h0 = [floats((3, *layer.cell.state_shape()), 3 + k) for k in range(2)]
    out = layer(x, initial_state=h0, mask=mask)
    tr = rnnlens.trace(layer, x, initial_state=h0, mask=mask)[layer.name]
    shape = out.shape
    assert tr.h.shape == tr.c.shape == shape and all(g.shape == shape for g in
                                                     tr.gates.values())
    assert set(tr.gates) == {"i", "f", "g", "o"}
    g = tr.gates
    keep = np.ones((3, 4), bool) if mask is None else (mask[:, ::-1] if tr.go_backwards
                                                       else mask)
    k = keep.reshape(3, 4, *(1,) * (out.ndim - 2))
    assert_close(np.where(k, tr.c, 0), np.where(k, g["f"] * tr.c_prev + g["i"] * g["g"], 0),
                 atol=1e-6, name="c = f * c_prev + i * g")
    assert_close(np.where(k, tr.h, 0), np.where(k, g["o"] * act(tr.c), 0), atol=1e-6,
                 name="h = o * act(c)")
    assert_close(np.where(k, 0, tr.c), np.where(k, 0, tr.c_prev), atol=0.0,
                 name="c repeats at masked steps")
    assert_close([tr.h_prev[:, 0], tr.c_prev[:, 0]], h0, atol=0.0, name="initial states")
    assert_close(np.where(k, tr.h, 0), np.where(k, out, 0), atol=0.0, name="h is the output")
    assert_close(tr.output, out, atol=0.0, name="trace output")
    assert 0.0 <= g["i"].min() and g["o"].max() <= 1.0


# ---------------------------------------------------------------------------- configs, files
CONFIGS = [(1, dict(filters=3, kernel_size=2)),
           (2, dict(filters=4, kernel_size=(3, 2), strides=2, padding="Same", use_bias=False,
                    data_format="Channels_First", activation="relu", dropout=0.2, seed=3,
                    return_sequences=True, return_state=True, go_backwards=True,
                    kernel_regularizer={"class_name": "L2", "config": {"l2": 0.01}},
                    activity_regularizer={"class_name": "L1", "config": {"l1": 0.1}},
                    recurrent_constraint={"class_name": "NonNeg", "config": {}})),
           (2, dict(filters=2, kernel_size=3, dilation_rate=2, unroll=True,
                    zero_output_for_mask=True, stateful=True, name="c", trainable=False,
                    recurrent_initializer="he_normal", unit_forget_bias=False)),
           (3, dict(filters=2, kernel_size=[1, 2, 3], recurrent_activation="hard_sigmoid",
                    recurrent_dropout=0.5))]


@pytest.mark.parametrize("rank,kwargs", CONFIGS, ids=[f"{r}D {_ids(k)}" for r, k in CONFIGS])
def test_get_config(K: Any, rank: int, kwargs: dict) -> None:
    K.backend.clear_session()
    rnnlens.utils.clear_session()
    theirs = layer_class(K, rank)(**kwargs).get_config()
    ours = layer_class(rnnlens, rank)(**kwargs).get_config()
    assert ours == theirs
    assert list(ours) == list(theirs)
    assert layer_class(rnnlens, rank).from_config(ours).get_config() == theirs
    assert layer_class(K, rank).from_config(ours).get_config() == theirs
    again = RL.deserialize(RL.serialize(layer_class(rnnlens, rank).from_config(theirs)))
    assert plain_config(again.get_config()) == plain_config(theirs)


def test_positional_arguments_and_attributes() -> None:
    layer = RL.ConvLSTM2D(3, 2, 1, "same", None, 1, "relu")
    assert (layer.filters, layer.kernel_size, layer.padding, layer.data_format) == (
        3, (2, 2), "same", "channels_last")
    assert layer.activation is rnnlens.activations.relu and layer.rank == 2
    with pytest.raises(TypeError, match="twice"):
        RL.ConvLSTM1D(3, 2, filters=4)


@pytest.mark.parametrize("case", list(MODELS))
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=5)
    files_both_ways(K, parity, km, rm, make(), tmp_path, case)


@pytest.mark.parametrize("case", ["next_frame", "states_1d", "channels_first_2d",
                                  "volumes_3d"])
def test_tf_keras_h5_files_load(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    """tf_keras 2.21 .h5 (Keras 2's hard_sigmoid default, time_major key) predict the
    same in rnnlens."""
    tfk = pytest.importorskip("tf_keras")
    build, make = MODELS[case]
    model = build(tfk)
    rng = np.random.default_rng(6)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.save(str(tmp_path / "k2.h5"))
    loaded = rnnlens.models.load_model(tmp_path / "k2.h5")
    x = make()
    parity(leaves(loaded.predict(x)), leaves(model.predict(x, verbose=0)),
           name=f"tf_keras {case}")
    assert loaded.count_params() == model.count_params()


@pytest.mark.parametrize("case", ["next_frame", "states_1d", "initial_states"])
def test_summary_equals_keras(K: Any, case: str) -> None:
    km, rm = build_pair(K, MODELS[case][0])
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"


# ---------------------------------------------------------------------------- errors
def _bad(lib: Any) -> dict[str, Callable[[], Any]]:
    L = lib.layers
    x = seq(2)
    return {
        "kernel 0": lambda: L.ConvLSTM2D(2, 0),
        "kernel triple": lambda: L.ConvLSTM2D(2, (2, 2, 2)),
        "kernel None": lambda: L.ConvLSTM1D(2, None),
        "padding causal": lambda: L.ConvLSTM1D(2, 2, padding="causal"),
        "padding full": lambda: L.ConvLSTM2D(2, 2, padding="full"),
        "data_format": lambda: L.ConvLSTM2D(2, 2, data_format="NHWC"),
        "stride and dilation": lambda: L.ConvLSTM2D(2, 2, strides=2, dilation_rate=2),
        "activation": lambda: L.ConvLSTM3D(2, 2, activation="nope"),
        "rank": lambda: L.ConvLSTM2D(2, 2)(np.ones((2, 3, 4, 2), np.float32)),
        "rank symbolic": lambda: L.ConvLSTM2D(2, 2)(lib.Input((3, 4, 2))),
        "too small": lambda: L.ConvLSTM2D(2, 5)(x),
        "too small symbolic": lambda: L.ConvLSTM2D(2, 5)(lib.Input((3, 4, 5, 2))),
        "spatial None": lambda: L.ConvLSTM2D(2, 2)(lib.Input((3, None, 5, 2))),
        "channels changed": lambda: [c := L.ConvLSTM2D(2, 2), c(x), c(seq(2)[..., :1])],
        "stateful unknown batch": lambda: L.ConvLSTM2D(2, 2, stateful=True)(
            lib.Input((3, 4, 5, 2))),
        "mask shape": lambda: L.ConvLSTM2D(2, 2)(x, mask=np.ones((2, 5), bool)),
        "two inputs": lambda: L.ConvLSTM2D(2, 2)([x, x]),
    }


@pytest.mark.parametrize("case", list(_bad(rnnlens)))
def test_errors_like_keras(K: Any, case: str) -> None:
    """Where Keras refuses, rnnlens refuses with the same exception type."""
    with pytest.raises((ValueError, TypeError)) as theirs:
        _bad(K)[case]()
    with pytest.raises(theirs.type) as ours:
        _bad(rnnlens)[case]()
    assert_raised_by_rnnlens(ours.value)


def test_errors_where_keras_crashes() -> None:
    """Keras fails on these inside TensorFlow (InvalidArgumentError for 0 filters, a state
    of the wrong shape, 0 steps or a Masking layer's per-position mask; OverflowError for
    strides=0; IndexError for one initial state); rnnlens refuses with a ValueError / TypeError naming the problem (``step`` on
    a whole sequence is rnnlens's own API)."""
    x = seq(2)
    cases = [lambda: RL.ConvLSTM2D(0, 2), lambda: RL.ConvLSTM2D(2, 2, strides=0),
             lambda: RL.ConvLSTM2D(2, 2)(x, initial_state=[np.zeros((2, 3, 4, 2))]),
             lambda: RL.ConvLSTM2D(2, 2)(x, initial_state=[np.zeros((2, 4, 5, 2))] * 2),
             lambda: RL.ConvLSTM2D(2, 2)(x[:, :0]),
             lambda: RL.ConvLSTM2D(2, 2).step(x)]
    for case in cases:
        with pytest.raises((ValueError, TypeError)) as err:
            case()
        assert_raised_by_rnnlens(err.value)
    i = rnnlens.Input((3, 4, 5, 2))                  # Keras: a TensorFlow SelectV2 error
    model = rnnlens.Model(i, RL.ConvLSTM2D(2, 2)(RL.Masking()(i)))
    with pytest.raises(ValueError, match=r"one value per position.*\(batch, timesteps\)"):
        model(x)


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2, 5), st.floats(-1, 4),
                  st.text(max_size=3), st.lists(st.integers(-1, 4), max_size=4),
                  st.sampled_from(["same", "valid", "channels_first", "relu"]))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(rank=st.sampled_from([1, 2, 3]), args=st.lists(_JUNK, max_size=5),
       shape=st.lists(st.integers(0, 4), max_size=6))
def test_fuzz_bad_arguments_and_inputs(rank: int, args: list, shape: list) -> None:
    """Random arguments and inputs: a result or a ValueError / TypeError from rnnlens."""
    try:
        layer = layer_class(rnnlens, rank)(*args)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    try:
        out = layer(np.ones(shape, np.float32))
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    assert len(shape) == rank + 3 and isinstance(out, np.ndarray)
    assert np.isfinite(out).all()

