"""Live parity with Keras 3.15.1 (TensorFlow backend) over a wide grid.

Every case builds the same thing in both libraries, copies random U(-0.5, 0.5) weights
(so biases matter) with ``get_weights``/``set_weights``, runs both and compares every
returned tensor with ``oracle.assert_close`` at 1e-5 (through the ``parity`` fixture,
which records the worst difference for the end-of-run summary).

Keras is imported lazily (module-scoped fixture ``K``); without it every test here is
skipped with the reason.
"""

from __future__ import annotations

import itertools
import zlib
from typing import Any, Callable

import numpy as np
import pytest

import rnnlens
from oracle import keras_available

pytestmark = pytest.mark.keras

ATOL = 1e-5


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); live parity tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


# ---------------------------------------------------------------------------- helpers
def rand_weights(shapes: list[tuple[int, ...]], seed: int, lo: float = -0.5,
                 hi: float = 0.5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(lo, hi, s).astype(np.float32) for s in shapes]


def data(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed + 1000).uniform(-1, 1, shape) * scale).astype(np.float32)


def flat(out: Any) -> list[Any]:
    if isinstance(out, (list, tuple)):
        return [a for item in out for a in flat(item)]
    return [out]


def np_out(out: Any) -> Any:
    """Keras tensors -> numpy, keeping list/tuple structure."""
    if isinstance(out, (list, tuple)):
        return type(out)(np_out(o) for o in out)
    if isinstance(out, dict):
        return {k: np_out(v) for k, v in out.items()}
    return np.asarray(out)


def mask_rows(batch: int, steps: int) -> np.ndarray:
    """Rows cycling through: left padding, middle hole, right padding, fully masked,
    unmasked, scattered. Every pattern appears once batch >= 6."""
    rows = []
    for b in range(batch):
        r = np.ones(steps, bool)
        kind = b % 6
        k = max(1, steps // 3)
        if kind == 0:
            r[:k] = False                          # left (pre-) padding
        elif kind == 1:
            if steps > 2:
                r[k:2 * k] = False                 # middle hole
        elif kind == 2:
            r[steps - k:] = False                  # right (post-) padding
        elif kind == 3:
            r[:] = False                           # fully masked row
        elif kind == 5:
            r[1::2] = False                        # scattered
        rows.append(r)
    return np.array(rows, bool)


def lstm_pair(K: Any, cfg: dict, build_shape: tuple, seed: int) -> tuple[Any, Any]:
    """A Keras and an rnnlens LSTM with the same config and the same random weights."""
    kl = K.layers.LSTM(**cfg)
    kl.build(build_shape)
    rl = rnnlens.layers.LSTM(**cfg)
    rl.build(build_shape)
    k_shapes = [tuple(w.shape) for w in kl.get_weights()]
    assert [tuple(w.shape) for w in rl.get_weights()] == k_shapes, "get_weights shapes differ"
    w = rand_weights(k_shapes, seed)
    kl.set_weights(w)
    rl.set_weights(w)
    return kl, rl


def check_structure(r_out: Any, k_out: Any, what: str) -> None:
    """Same container kind (one array / tuple / list) and length as Keras."""
    if isinstance(k_out, (list, tuple)):
        assert isinstance(r_out, type(k_out)), (
            f"{what}: Keras returns {type(k_out).__name__}, rnnlens {type(r_out).__name__}")
        assert len(r_out) == len(k_out), f"{what}: {len(r_out)} outputs vs Keras {len(k_out)}"
    elif isinstance(k_out, dict):
        assert isinstance(r_out, dict) and set(r_out) == set(k_out), what
    else:
        assert isinstance(r_out, np.ndarray), f"{what}: rnnlens returned {type(r_out).__name__}"


def check_float32(out: Any, what: str) -> None:
    for k, a in enumerate(flat(out)):
        assert isinstance(a, np.ndarray) and a.dtype == np.float32, (
            f"{what} output {k}: {type(a).__name__} {getattr(a, 'dtype', None)}, not float32")


# ---------------------------------------------------------------------------- layer grid
def P(id_: str, cfg: dict, shape: tuple[int, int, int], mask: Any = None, init: bool = False,
      scale: float = 1.0, training: Any = "omit", **marks: Any) -> Any:
    return pytest.param(dict(cfg=cfg, shape=shape, mask=mask, init=init, scale=scale,
                             training=training), id=id_, **marks)


def size_cases() -> list[Any]:
    out = []
    grid = list(itertools.product((1, 2, 5, 16, 33), (1, 4, 9), (1, 3, 11), (1, 4, 7)))
    for n, (u, f, t, b) in enumerate(grid):
        if n % 4:
            continue
        flags = [dict(return_sequences=True, return_state=True), dict(),
                 dict(return_sequences=True), dict(return_state=True)][(n // 4) % 4]
        out.append(P(f"size-u{u}-f{f}-t{t}-b{b}-{'-'.join(flags) or 'plain'}",
                     dict(units=u, **flags), (b, t, f)))
    return out


def flag_cases() -> list[Any]:
    out = []
    for rs, st, gb, ur, ub in itertools.product((False, True), repeat=5):
        cfg = dict(units=3, return_sequences=rs, return_state=st, go_backwards=gb, unroll=ur,
                   use_bias=ub)
        name = "-".join(k for k, v in zip(("rs", "st", "gb", "unroll", "bias"),
                                           (rs, st, gb, ur, ub)) if v) or "none"
        out.append(P(f"flags-{name}", cfg, (3, 5, 2)))
    out.append(P("flags-ufb-false", dict(units=4, unit_forget_bias=False,
                                          return_sequences=True), (2, 4, 3)))
    out.append(P("flags-zofm-nomask", dict(units=3, zero_output_for_mask=True,
                                            return_sequences=True, return_state=True), (3, 5, 2)))
    out.append(P("flags-zofm-unroll-gb-nomask", dict(units=3, zero_output_for_mask=True,
                                                      unroll=True, go_backwards=True,
                                                      return_sequences=True), (3, 5, 2)))
    return out


ACTIVATIONS = ["tanh", "relu", "sigmoid", "hard_sigmoid", "linear", None, "softsign", "elu",
               "selu", "softplus", "swish", "silu", "gelu", "relu6", "leaky_relu", "mish",
               "hard_silu", "hard_swish", "celu", "hard_tanh", "tanh_shrink", "log_sigmoid",
               "squareplus", "softmax", "log_softmax", "exponential"]
RECURRENT = ["sigmoid", "hard_sigmoid", "tanh", "linear", "relu", "softsign", "softmax",
             "hard_silu", "swish"]


def activation_cases() -> list[Any]:
    out = []
    for a in ACTIVATIONS:
        # exponential feeds exp(c) back through U: keep it short so it stays finite
        shape, scale = ((2, 2, 3), 0.1) if a == "exponential" else ((2, 6, 3), 2.0)
        out.append(P(f"act-{a}", dict(units=4, activation=a, return_sequences=True,
                                      return_state=True), shape, scale=scale))
    for r in RECURRENT:
        out.append(P(f"recact-{r}", dict(units=4, recurrent_activation=r,
                                         return_sequences=True, return_state=True),
                     (2, 6, 3), scale=2.0))
    for a, r in [("relu", "hard_sigmoid"), (None, "tanh"), ("elu", "sigmoid"),
                 ("softmax", "softmax"), ("gelu", "hard_sigmoid"), ("linear", "linear")]:
        out.append(P(f"act-{a}-rec-{r}-gb", dict(units=5, activation=a, recurrent_activation=r,
                                                 go_backwards=True, return_sequences=True,
                                                 return_state=True), (3, 5, 2), scale=1.5))
    return out


def mask_cases() -> list[Any]:
    out = []
    for gb, ur, zo, rs, init in itertools.product((False, True), repeat=5):
        cfg = dict(units=3, go_backwards=gb, unroll=ur, zero_output_for_mask=zo,
                   return_sequences=rs, return_state=True)
        name = "-".join(k for k, v in zip(("gb", "unroll", "zofm", "rs", "h0"),
                                           (gb, ur, zo, rs, init)) if v) or "plain"
        out.append(P(f"mask-{name}", cfg, (7, 6, 2), mask="bool", init=init))
    out.append(P("mask-float01", dict(units=3, return_sequences=True, return_state=True),
                 (6, 5, 2), mask="float"))
    out.append(P("mask-int01-gb", dict(units=3, return_sequences=True, go_backwards=True,
                                       return_state=True), (6, 5, 2), mask="int"))
    out.append(P("mask-all-ones", dict(units=3, return_sequences=True, return_state=True,
                                       zero_output_for_mask=True), (4, 5, 2), mask="ones"))
    out.append(P("mask-all-zeros-h0", dict(units=3, return_sequences=True, return_state=True),
                 (4, 5, 2), mask="zeros", init=True))
    out.append(P("mask-T1", dict(units=2, return_sequences=True, return_state=True),
                 (6, 1, 3), mask="bool", init=True))
    out.append(P("mask-bigger-u16", dict(units=16, return_sequences=True, return_state=True,
                                         go_backwards=True), (12, 9, 5), mask="bool"))
    return out


def init_state_cases() -> list[Any]:
    out = []
    for rs, gb, ur in itertools.product((False, True), repeat=3):
        cfg = dict(units=4, return_sequences=rs, go_backwards=gb, unroll=ur, return_state=True)
        name = "-".join(k for k, v in zip(("rs", "gb", "unroll"), (rs, gb, ur)) if v) or "plain"
        out.append(P(f"h0-{name}", cfg, (3, 5, 2), init=True))
    out.append(P("h0-no-return-state", dict(units=2, return_sequences=True), (2, 4, 3),
                 init=True))
    return out


def dropout_cases() -> list[Any]:
    out = []
    for d, rd in [(0.3, 0.0), (0.0, 0.4), (0.5, 0.5), (1.0, 0.0), (0.0, 1.0)]:
        for tr in (False, "omit"):
            cfg = dict(units=4, dropout=d, recurrent_dropout=rd, return_sequences=True,
                       return_state=True, seed=3)
            out.append(P(f"dropout-{d}-{rd}-training-{tr}", cfg, (3, 5, 2), training=tr))
    return out


LAYER_CASES = (size_cases() + flag_cases() + activation_cases() + mask_cases()
               + init_state_cases() + dropout_cases())


def make_mask(kind: str | None, batch: int, steps: int) -> np.ndarray | None:
    if kind is None:
        return None
    m = mask_rows(batch, steps)
    return {"bool": m, "float": m.astype(np.float32), "int": m.astype(np.int32),
            "ones": np.ones_like(m), "zeros": np.zeros_like(m)}[kind]


@pytest.mark.parametrize("case", LAYER_CASES)
def test_lstm_layer(K: Any, parity: Callable, case: dict, request: Any) -> None:
    """One eager LSTM call with every flag / mask / initial state; all outputs compared."""
    seed = zlib.crc32(request.node.callspec.id.encode())
    b, t, f = case["shape"]
    cfg = case["cfg"]
    kl, rl = lstm_pair(K, cfg, (None, t, f), seed)
    x = data((b, t, f), seed, case["scale"])
    kw: dict[str, Any] = {}
    if case["mask"] is not None:
        kw["mask"] = make_mask(case["mask"], b, t)
    if case["init"]:
        u = cfg["units"]
        kw["initial_state"] = [data((b, u), seed + 1), data((b, u), seed + 2)]
    if case["training"] != "omit":
        kw["training"] = case["training"]
    k_out = kl(x, **kw)
    r_out = rl(x, **kw)
    check_structure(r_out, k_out, "eager call")
    check_float32(r_out, "eager call")
    parity(r_out, np_out(k_out), name="outputs")


def test_dropout_inference_equals_no_dropout(K: Any, parity: Callable) -> None:
    """dropout/recurrent_dropout with training=False equal the same layer without dropout."""
    x = data((3, 6, 2), 5)
    base_k, base_r = lstm_pair(K, dict(units=4, return_sequences=True), (None, 6, 2), 11)
    w = base_k.get_weights()
    drop = rnnlens.layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    drop.build((None, 6, 2))
    drop.set_weights(w)
    parity(drop(x, training=False), np_out(base_k(x)), name="rnnlens dropout@inference vs keras")
    parity(drop(x), base_r(x), name="rnnlens dropout default training vs no dropout")


def test_training_dropout_changes_output_but_shapes_hold() -> None:
    """Sanity: training=True with dropout really drops (so the inference test means something)."""
    layer = rnnlens.layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True,
                                seed=1)
    x = data((3, 6, 2), 5)
    a, b = layer(x, training=False), layer(x, training=True)
    assert a.shape == b.shape
    assert not np.allclose(a, b)


@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_mask_with_trailing_axis(K: Any, parity: Callable, mask_kind: str) -> None:
    """KERAS_FINDINGS a: a (B, T, 1) mask is accepted by Keras and equals the (B, T) mask."""
    kl, rl = lstm_pair(K, dict(units=3, return_sequences=True, return_state=True),
                       (None, 5, 2), 21)
    x = data((6, 5, 2), 21)
    m = make_mask(mask_kind, 6, 5)[:, :, None]
    parity(rl(x, mask=m), np_out(kl(x, mask=m)), name="mask (B,T,1)")


# ---------------------------------------------------------------------------- initializers
@pytest.mark.parametrize("cfg", [
    dict(units=3), dict(units=3, unit_forget_bias=False),
    dict(units=2, bias_initializer="ones"), dict(units=2, bias_initializer="ones",
                                                 unit_forget_bias=False),
], ids=["ufb", "no-ufb", "ones-ufb", "ones-no-ufb"])
def test_default_bias_init_equals_keras(K: Any, parity: Callable, cfg: dict) -> None:
    """Deterministic bias initialisation (unit_forget_bias) equals Keras's exactly."""
    kl = K.layers.LSTM(**cfg)
    kl.build((None, 4, 3))
    rl = rnnlens.layers.LSTM(**cfg)
    rl.build((None, 4, 3))
    parity(rl.get_weights()[2], np.asarray(kl.get_weights()[2]), name="bias", atol=0.0)


def test_constant_bias_with_unit_forget_bias_equals_keras(K: Any, parity: Callable) -> None:
    kl = K.layers.LSTM(3, bias_initializer=K.initializers.Constant(0.03))
    kl.build((None, 4, 2))
    rl = rnnlens.layers.LSTM(3, bias_initializer=rnnlens.initializers.Constant(0.03))
    rl.build((None, 4, 2))
    parity(rl.bias, np.asarray(kl.get_weights()[2]), name="Constant(0.03) bias", atol=0.0)


# ---------------------------------------------------------------------------- stateful
STATEFUL = [
    pytest.param(dict(units=3), (2, 4, 3), id="plain"),
    pytest.param(dict(units=3, return_sequences=True, return_state=True), (2, 4, 3),
                 id="seq-state"),
    pytest.param(dict(units=5, go_backwards=True, return_sequences=True), (3, 3, 2), id="gb"),
    pytest.param(dict(units=2, unroll=True, return_state=True), (1, 5, 1), id="unroll-b1"),
    pytest.param(dict(units=4, activation="relu", recurrent_activation="hard_sigmoid",
                      return_state=True), (4, 2, 3), id="relu-hardsig"),
]


@pytest.mark.parametrize("cfg,shape", STATEFUL)
def test_stateful_call_sequence(K: Any, parity: Callable, cfg: dict, shape: tuple) -> None:
    """call, call, reset_state, call, call(initial_state=...) override, call: all equal, and
    the stored ``states`` equal Keras's after every call."""
    cfg = dict(cfg, stateful=True)
    kl, rl = lstm_pair(K, cfg, shape, 7)
    b, _, _ = shape
    u = cfg["units"]
    xs = [data(shape, 30 + k) for k in range(6)]
    h0, c0 = data((b, u), 90), data((b, u), 91)
    plan: list[tuple[str, dict]] = [("call", {}), ("call", {}), ("reset", {}), ("call", {}),
                                    ("call", {"initial_state": [h0, c0]}), ("call", {}),
                                    ("call", {"initial_state": [np.zeros((b, u), np.float32)] * 2})]
    k = 0
    for step, (what, kw) in enumerate(plan):
        if what == "reset":
            kl.reset_state()
            rl.reset_state()
            parity(rl.states, [np.asarray(s) for s in kl.states], name="states after reset")
            continue
        x = xs[k % len(xs)]
        k += 1
        parity(rl(x, **kw), np_out(kl(x, **kw)), name=f"step {step} output")
        parity(rl.states, [np.asarray(s) for s in kl.states], name=f"step {step} states")


def test_stateful_model_predict_batches(K: Any, parity: Callable) -> None:
    """predict(x, batch_size=2) on a batch-2 stateful model carries the state across predict
    batches and across predict calls; reset_state on each layer restarts it."""
    def build(k: Any) -> Any:
        i = k.Input((3, 2), batch_size=2)
        o = k.layers.LSTM(3, stateful=True, return_sequences=True)(i)
        o = k.layers.LSTM(2, stateful=True)(o)
        return k.Model(i, o)

    km, rm = build(K), build(rnnlens)
    w = rand_weights([w.shape for w in km.get_weights()], 4)
    km.set_weights(w)
    rm.set_weights(w)
    x = data((4, 3, 2), 4)
    for call in range(2):
        parity(rm.predict(x, batch_size=2), km.predict(x, batch_size=2, verbose=0),
               name=f"predict {call}")
    for m in (km, rm):
        for layer in m.layers:
            if hasattr(layer, "reset_state") and getattr(layer, "stateful", False):
                layer.reset_state()
    parity(rm.predict(x[:2], batch_size=2), km.predict(x[:2], batch_size=2, verbose=0),
           name="after reset")
    parity(rm(x[2:]), np_out(km(x[2:])), name="model(x) after predict")


# ---------------------------------------------------------------------------- graphs
# Each graph is built from the same description with ``k`` = the keras module or rnnlens
# (``import rnnlens as keras`` compatibility). Returns (model, list of input shapes).
def g_tutorial_3_outputs(k: Any) -> Any:
    i = k.Input(shape=(3, 1))
    s, h, c = k.layers.LSTM(1, return_sequences=True, return_state=True)(i)
    return k.Model(inputs=i, outputs=[s, h, c]), [(3, 1)]


def g_tutorial_single(k: Any) -> Any:
    i = k.Input(shape=(3, 1))
    return k.Model(inputs=i, outputs=k.layers.LSTM(1)(i)), [(3, 1)]


def g_return_state_tuple(k: Any) -> Any:
    i = k.Input(shape=(4, 2))
    return k.Model(i, k.layers.LSTM(3, return_state=True)(i)), [(4, 2)]


def g_stacked(k: Any) -> Any:
    i = k.Input((6, 3))
    a = k.layers.LSTM(5, return_sequences=True)(i)
    b = k.layers.LSTM(4, return_sequences=True, go_backwards=True)(a)
    c = k.layers.LSTM(3)(b)
    return k.Model(i, c), [(6, 3)]


def g_seq_td_dense(k: Any) -> Any:
    i = k.Input((5, 2))
    s = k.layers.LSTM(6, return_sequences=True)(i)
    o = k.layers.TimeDistributed(k.layers.Dense(2, activation="tanh"))(s)
    return k.Model(i, o), [(5, 2)]


def g_encoder_decoder(k: Any) -> Any:
    e_in = k.Input((4, 3))
    _, h, c = k.layers.LSTM(6, return_state=True)(e_in)
    d_in = k.Input((5, 2))
    d = k.layers.LSTM(6, return_sequences=True)(d_in, initial_state=[h, c])
    o = k.layers.TimeDistributed(k.layers.Dense(3, activation="softmax"))(d)
    return k.Model([e_in, d_in], o), [(4, 3), (5, 2)]


def g_encoder_decoder_states_out(k: Any) -> Any:
    e_in = k.Input((4, 3))
    _, h, c = k.layers.LSTM(5, return_state=True, go_backwards=True)(e_in)
    d_in = k.Input((3, 2))
    d, h2, c2 = k.layers.LSTM(5, return_sequences=True, return_state=True)(
        d_in, initial_state=[h, c])
    o = k.layers.Dense(4, activation="softmax")(d)
    return k.Model([e_in, d_in], [o, h2, c2]), [(4, 3), (3, 2)]


def g_repeat_seq2seq(k: Any) -> Any:
    i = k.Input((5, 2))
    e = k.layers.LSTM(5)(i)
    r = k.layers.RepeatVector(4)(e)
    d = k.layers.LSTM(4, return_sequences=True)(r)
    o = k.layers.TimeDistributed(k.layers.Dense(1))(d)
    return k.Model(i, o), [(5, 2)]


def g_concat_sequences(k: Any) -> Any:
    i = k.Input((5, 3))
    a = k.layers.LSTM(3, return_sequences=True)(i)
    b = k.layers.LSTM(4, return_sequences=True, go_backwards=True)(i)
    c = k.layers.Concatenate()([a, b])
    return k.Model(i, k.layers.LSTM(2)(c)), [(5, 3)]


def g_concat_last(k: Any) -> Any:
    i = k.Input((5, 3))
    a = k.layers.LSTM(3)(i)
    b = k.layers.LSTM(4, activation="relu")(i)
    c = k.layers.Concatenate()([a, b])
    return k.Model(i, k.layers.Dense(2, activation="sigmoid")(c)), [(5, 3)]


def g_shared_layer(k: Any) -> Any:
    i1, i2 = k.Input((4, 2)), k.Input((4, 2))
    shared = k.layers.LSTM(3)
    c = k.layers.Concatenate()([shared(i1), shared(i2)])
    return k.Model([i1, i2], k.layers.Dense(1)(c)), [(4, 2), (4, 2)]


def g_variable_length(k: Any) -> Any:
    i = k.Input((None, 3))
    s = k.layers.LSTM(4, return_sequences=True)(i)
    return k.Model(i, [s, k.layers.LSTM(2)(s)]), [(7, 3)]


def g_mask_input(k: Any) -> Any:
    i = k.Input((6, 2))
    m = k.Input((6,), dtype="bool")
    a = k.layers.LSTM(4, return_sequences=True)(i, mask=m)
    b = k.layers.LSTM(3, return_sequences=True, go_backwards=True)(a)   # mask flows here
    o = k.layers.TimeDistributed(k.layers.Dense(2))(b)
    return k.Model([i, m], [b, o]), [(6, 2), "mask"]


def g_mask_concat(k: Any) -> Any:
    i = k.Input((6, 2))
    m = k.Input((6,), dtype="bool")
    a = k.layers.LSTM(3, return_sequences=True)(i, mask=m)
    b = k.layers.LSTM(2, return_sequences=True)(i)
    c = k.layers.Concatenate()([a, b])      # Keras: mask = any(mask_a, ones) = all True
    return k.Model([i, m], k.layers.LSTM(2, return_sequences=True)(c)), [(6, 2), "mask"]


def g_mask_initial_state(k: Any) -> Any:
    """spec §10.1: a layer given initial_state too gets no mask filled in (Keras fills
    ``mask`` only for a call with one tensor argument), so it runs unmasked; its output
    still carries the upstream mask, which the last LSTM uses."""
    i = k.Input((6, 2))
    m = k.Input((6,), dtype="bool")
    a = k.layers.LSTM(4, return_sequences=True)(i, mask=m)
    _, h, c = k.layers.LSTM(3, return_state=True)(i)
    o = k.layers.LSTM(3, return_sequences=True)(a, initial_state=[h, c])
    return k.Model([i, m], [o, k.layers.GRU(2, return_sequences=True)(o)]), [(6, 2), "mask"]


def g_mask_initial_state_explicit(k: Any) -> Any:
    """The same with the mask passed explicitly: then the decoder is masked."""
    i = k.Input((6, 2))
    m = k.Input((6,), dtype="bool")
    a = k.layers.LSTM(4, return_sequences=True)(i, mask=m)
    _, h, c = k.layers.LSTM(3, return_state=True)(i)
    o = k.layers.LSTM(3, return_sequences=True)(a, initial_state=[h, c], mask=m)
    return k.Model([i, m], o), [(6, 2), "mask"]


def g_mask_initial_state_inputs(k: Any) -> Any:
    """Findings a: Model([x, m, h0, c0]) with explicit mask= and initial_state=."""
    i = k.Input((6, 2))
    m = k.Input((6,), dtype="bool")
    h0, c0 = k.Input((3,)), k.Input((3,))
    o = k.layers.LSTM(3, return_sequences=True, return_state=True, go_backwards=True,
                      zero_output_for_mask=True)(i, mask=m, initial_state=[h0, c0])
    return k.Model([i, m, h0, c0], list(o)), [(6, 2), "mask", (3,), (3,)]


def g_mask_return_state_downstream(k: Any) -> Any:
    i = k.Input((6, 2))
    m = k.Input((6,), dtype="bool")
    s, h, c = k.layers.LSTM(4, return_sequences=True, return_state=True)(i, mask=m)
    o = k.layers.LSTM(2, zero_output_for_mask=True, return_sequences=True)(s)   # masked
    return k.Model([i, m], [o, h, c]), [(6, 2), "mask"]


def g_mask_through_dense(k: Any) -> Any:
    i = k.Input((6, 2))
    m = k.Input((6,), dtype="bool")
    s = k.layers.LSTM(4, return_sequences=True)(i, mask=m)
    d = k.layers.Dense(3, activation="relu")(s)                   # Dense keeps the mask
    t = k.layers.TimeDistributed(k.layers.Dense(3))(d)            # so does TimeDistributed
    return k.Model([i, m], k.layers.LSTM(2, go_backwards=True)(t)), [(6, 2), "mask"]


def g_mask_concat_two(k: Any) -> Any:
    i = k.Input((6, 2))
    m1 = k.Input((6,), dtype="bool")
    m2 = k.Input((6,), dtype="bool")
    a = k.layers.LSTM(3, return_sequences=True)(i, mask=m1)
    b = k.layers.LSTM(2, return_sequences=True)(i, mask=m2)
    c = k.layers.Concatenate()([a, b])                            # mask = m1 | m2
    return k.Model([i, m1, m2], k.layers.LSTM(2, return_sequences=True)(c)), \
        [(6, 2), "mask", "mask2"]


def g_time_distributed_lstm(k: Any) -> Any:
    i = k.Input((3, 4, 2))                                        # 3 groups of 4 steps
    t = k.layers.TimeDistributed(k.layers.LSTM(3))(i)
    return k.Model(i, k.layers.LSTM(2)(t)), [(3, 4, 2)]


def g_variable_length_unroll(k: Any) -> Any:
    i = k.Input((None, 3))
    s = k.layers.LSTM(3, unroll=True, go_backwards=True, return_sequences=True)(i)
    return k.Model(i, s), [(5, 3)]


def g_dict_outputs(k: Any) -> Any:
    i = k.Input((4, 2))
    s, h, c = k.layers.LSTM(3, return_sequences=True, return_state=True)(i)
    return k.Model(i, {"seq": s, "h": h, "c": c}), [(4, 2)]


def g_dropout_predict(k: Any) -> Any:
    i = k.Input((5, 2))
    s = k.layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)(i)
    return k.Model(i, k.layers.LSTM(2, dropout=0.3)(s)), [(5, 2)]


def g_nested_model(k: Any) -> Any:
    inner_in = k.Input((4, 2))
    inner = k.Model(inner_in, k.layers.LSTM(3, return_sequences=True)(inner_in))
    i = k.Input((4, 2))
    return k.Model(i, k.layers.LSTM(2)(inner(i))), [(4, 2)]


def g_sequential(k: Any) -> Any:
    m = k.Sequential([k.Input((5, 2)), k.layers.LSTM(4, return_sequences=True),
                      k.layers.LSTM(3, return_sequences=True),
                      k.layers.TimeDistributed(k.layers.Dense(2))])
    return m, [(5, 2)]


def g_sequential_add(k: Any) -> Any:
    m = k.Sequential()
    m.add(k.Input((4, 3)))
    m.add(k.layers.LSTM(5, return_sequences=True, go_backwards=True))
    m.add(k.layers.LSTM(2))
    m.add(k.layers.Dense(3, activation="softmax"))
    return m, [(4, 3)]


def g_sequential_input_shape(k: Any) -> Any:
    import warnings  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = k.Sequential([k.layers.LSTM(3, input_shape=(4, 2), return_sequences=True),
                          k.layers.LSTM(2)])
    return m, [(4, 2)]


def g_sequential_repeat(k: Any) -> Any:
    m = k.Sequential([k.Input((6, 1)), k.layers.LSTM(4), k.layers.RepeatVector(3),
                      k.layers.LSTM(4, return_sequences=True),
                      k.layers.TimeDistributed(k.layers.Dense(1))])
    return m, [(6, 1)]


GRAPHS = [g_tutorial_3_outputs, g_tutorial_single, g_return_state_tuple, g_stacked,
          g_seq_td_dense, g_encoder_decoder, g_encoder_decoder_states_out, g_repeat_seq2seq,
          g_concat_sequences, g_concat_last, g_shared_layer, g_variable_length, g_mask_input,
          g_mask_concat, g_mask_initial_state, g_mask_initial_state_explicit,
          g_mask_initial_state_inputs,
          g_mask_return_state_downstream, g_mask_through_dense, g_mask_concat_two,
          g_time_distributed_lstm, g_variable_length_unroll, g_dict_outputs,
          g_dropout_predict, g_nested_model, g_sequential, g_sequential_add,
          g_sequential_input_shape, g_sequential_repeat]


def graph_inputs(shapes: list[Any], n: int, seed: int) -> list[np.ndarray]:
    out = []
    for k, s in enumerate(shapes):
        if s == "mask":
            steps = out[0].shape[1]
            out.append(mask_rows(n, steps))
        elif s == "mask2":                  # another mask: the first one reversed in time
            out.append(np.ascontiguousarray(mask_rows(n, out[0].shape[1])[::-1, ::-1]))
        else:
            out.append(data((n, *s), seed + k, scale=1.5))
    return out


def _layer_signature(model: Any) -> list[str]:
    """Layer classes in order (a nested model is ``Functional`` in both)."""
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("graph", GRAPHS, ids=[g.__name__[2:] for g in GRAPHS])
def test_graph(K: Any, parity: Callable, graph: Callable) -> None:
    """Same description in both libraries: layers, weight shapes/order, predict with a
    batch_size that splits the data (10 samples, batch_size=4), and model(x)."""
    km, shapes = graph(K)
    rm, _ = graph(rnnlens)
    assert len(rm.layers) == len(km.layers), (_layer_signature(rm), _layer_signature(km))
    assert _layer_signature(rm) == _layer_signature(km)
    k_shapes = [tuple(w.shape) for w in km.get_weights()]
    assert [tuple(w.shape) for w in rm.get_weights()] == k_shapes
    assert rm.count_params() == km.count_params()
    w = rand_weights(k_shapes, len(k_shapes) + 17)
    km.set_weights(w)
    rm.set_weights(w)
    xs = graph_inputs(shapes, 10, 3)
    x = xs if len(xs) > 1 else xs[0]
    k_pred = km.predict(x, batch_size=4, verbose=0)
    r_pred = rm.predict(x, batch_size=4)
    check_structure(r_pred, k_pred, "predict")
    check_float32(r_pred if not isinstance(r_pred, dict) else list(r_pred.values()), "predict")
    if isinstance(k_pred, dict):
        for key in k_pred:
            parity(r_pred[key], k_pred[key], name=f"predict[{key}]")
    else:
        parity(r_pred, k_pred, name="predict")
    k_call, r_call = np_out(km(x)), rm(x)
    check_structure(r_call, k_call, "model(x)")
    if isinstance(k_call, dict):
        for key in k_call:
            parity(r_call[key], k_call[key], name=f"model(x)[{key}]")
    else:
        parity(r_call, k_call, name="model(x)")


def test_sequential_lazily_built(K: Any, parity: Callable) -> None:
    """Sequential without an input shape builds on the first data, like Keras."""
    def build(k: Any) -> Any:
        return k.Sequential([k.layers.LSTM(4, return_sequences=True), k.layers.LSTM(2)])

    km, rm = build(K), build(rnnlens)
    x = data((5, 3, 2), 8)
    km(x)
    rm(x)
    assert _layer_signature(rm) == _layer_signature(km)
    k_shapes = [tuple(w.shape) for w in km.get_weights()]
    assert [tuple(w.shape) for w in rm.get_weights()] == k_shapes
    w = rand_weights(k_shapes, 8)
    km.set_weights(w)
    rm.set_weights(w)
    parity(rm.predict(x, batch_size=2), km.predict(x, batch_size=2, verbose=0), name="predict")


def test_tutorial_data_functional(K: Any, parity: Callable) -> None:
    """The seed tutorial's exact data and every return_sequences/return_state combination."""
    x = np.array([0.1, 0.2, 0.3]).reshape((1, 3, 1))
    for rs, st in itertools.product((False, True), repeat=2):
        outs = []
        for k in (K, rnnlens):
            i = k.Input(shape=(3, 1))
            o = k.layers.LSTM(1, return_sequences=rs, return_state=st)(i)
            outs.append(k.Model(inputs=i, outputs=list(o) if st else o))
        km, rm = outs
        w = rand_weights([w.shape for w in km.get_weights()], 99)
        km.set_weights(w)
        rm.set_weights(w)
        parity(rm.predict(x), km.predict(x, verbose=0), name=f"tutorial rs={rs} st={st}")
