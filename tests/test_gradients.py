"""Gradients of ``rnnlens.training.gradients``: finite differences and TensorFlow's tape.

Part A (no Keras needed) checks the hand-written backward passes against central finite
differences in float64 (``set_floatx("float64")``): every recurrent layer and flag
(``return_sequences``, ``return_state`` with a loss on the states, ``go_backwards``,
``unroll``, masks from ``Masking`` and ``Embedding(mask_zero=True)`` with left / right /
middle padding, ``zero_output_for_mask``), initial states handed over from an encoder,
``Dense`` with many activations, ``TimeDistributed``, ``RepeatVector``, ``Concatenate``,
``Bidirectional`` (every merge mode, with ``return_state``), ``Embedding``, stacks,
``Sequential``, shared layers, and dropout in training mode with the dropout masks frozen
(``dropout_masks`` patched to return masks drawn once) so the finite differences see the
same masks. A random subset of the entries of each weight (always including the one with
the largest gradient) is perturbed, so the checks stay fast.

Part B (needs Keras 3.15.1 / TensorFlow) checks the float32 gradients against
``tf.GradientTape`` on the same Keras model with the same weights, to a relative
difference of 1e-4 per weight array (relative to ``max |tf grad|``).

The worst finite-difference error and the worst TF relative difference are written to the
terminal at the end of the session.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import zlib
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import assert_close, keras_available
from rnnlens import losses as L
from rnnlens.backend import floatx, set_floatx
from rnnlens.cells.base import RecurrentCell
from rnnlens.layers import (GRU, LSTM, RNN, Bidirectional, Concatenate, Dense, Embedding, Input,
                            Masking, RepeatVector, SimpleRNN, TimeDistributed)
from rnnlens.cells import LSTMCell
from rnnlens.models import Model, Sequential
from rnnlens.training import gradients

FD_EPS = 1e-6
FD_ATOL = 1e-6
FD_RTOL = 1e-5
FD_PICK = 4                     # random entries per weight array (plus the largest gradient)
TF_RTOL = 1e-4

STATS: dict[str, Any] = {"fd_n": 0, "fd_worst": 0.0, "fd_where": "",
                         "fd_abs": 0.0, "fd_abs_where": "",
                         "tf_n": 0, "tf_worst": 0.0, "tf_where": ""}


@pytest.fixture(scope="session", autouse=True)
def _gradient_summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """Writes the worst errors seen in this module after pytest's own summary.

    The text goes to ``sys.__stdout__`` from a config clean-up, which runs after the
    terminal summary, when output capturing no longer swallows it.
    """
    yield
    request.config.add_cleanup(_write_gradient_summary)


def _write_gradient_summary() -> None:
    out = sys.__stdout__
    if out is None:
        return
    if STATS["fd_n"]:
        out.write(
            f"gradients: {STATS['fd_n']} finite-difference checks; worst scaled error "
            f"|g - fd| / (1 + 10 |fd|) = {STATS['fd_worst']:.3e} (tolerance 1e-6; "
            f"{STATS['fd_where']}); worst absolute |g - fd| = {STATS['fd_abs']:.3e} "
            f"({STATS['fd_abs_where']})\n")
    if STATS["tf_n"]:
        out.write(
            f"gradients: {STATS['tf_n']} weight arrays compared with tf.GradientTape; worst "
            f"relative difference {STATS['tf_worst']:.3e} (tolerance 1e-4; "
            f"{STATS['tf_where']})\n")
    out.flush()


# ---------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def float64() -> Iterator[None]:
    """Compute in float64 inside the block; float32 again afterwards (even on failure)."""
    before = floatx()
    set_floatx("float64")
    try:
        yield
    finally:
        set_floatx(before)


@pytest.fixture
def f64() -> Iterator[None]:
    with float64():
        yield


def _seed(name: str) -> int:
    return zlib.crc32(name.encode())


def randomize(model: Any, rng: np.random.Generator, scale: float = 0.5) -> None:
    """Every weight (biases too) drawn at random, so no path hides behind a zero."""
    model.set_weights([rng.normal(scale=scale, size=w.shape) for w in model.get_weights()])


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def objective(model: Any, x: Any, y: Any, loss: Any, training: bool) -> float:
    """The total loss by the forward pass and the loss objects only (no backward code).

    ``model(x)`` returns masked outputs with their Keras mask attached
    (``_keras_mask``), and the loss objects honour it, as Keras's do.
    """
    outs = _as_list(model(x, training=training))
    ys = _as_list(y) if len(outs) > 1 else [y]
    fns = _as_list(loss) if isinstance(loss, (list, tuple)) else [loss] * len(outs)
    return float(sum(L.get(f)(t, p) for f, t, p in zip(fns, ys, outs) if f is not None))


def record_fd(g: np.ndarray, fd: np.ndarray, where: str) -> None:
    scale = 1.0 + (FD_RTOL / FD_ATOL) * np.abs(fd)
    err = float(np.max(np.abs(g - fd) / scale)) if g.size else 0.0
    STATS["fd_n"] += 1
    if err > STATS["fd_worst"]:
        STATS["fd_worst"], STATS["fd_where"] = err, where
    abs_err = float(np.max(np.abs(g - fd))) if g.size else 0.0
    if abs_err > STATS["fd_abs"]:
        STATS["fd_abs"], STATS["fd_abs_where"] = abs_err, where
    # |g - fd| <= atol + rtol |fd|  <=>  |g/s - fd/s| <= atol with s = 1 + rtol/atol |fd|
    assert_close(g / scale, fd / scale, atol=FD_ATOL, name=where)


def fd_check(model: Any, x: Any, y: Any, loss: Any = "mse", training: bool = False,
             name: str = "", pick: int = FD_PICK, eps: float = FD_EPS,
             prepare: Callable[[], None] = lambda: None) -> list[np.ndarray]:
    """Checks ``gradients(...)`` against central differences on sampled weight entries.

    ``prepare`` runs before every forward pass (e.g. to reset a stateful layer).
    """
    assert floatx() == "float64", "finite differences need float64"
    rng = np.random.default_rng(_seed(name or "fd"))
    prepare()
    grads = gradients(model, x, y, loss=loss, training=training)
    weights = model.get_weights()
    assert len(grads) == len(weights) and len(weights) > 0
    for k, (g, w) in enumerate(zip(grads, weights)):
        assert g.shape == w.shape, f"gradient {k}: shape {g.shape} != weight {w.shape}"
    try:
        for k, (g, w) in enumerate(zip(grads, weights)):
            flat = np.unique(np.concatenate([
                rng.choice(w.size, size=min(pick, w.size), replace=False),
                [int(np.argmax(np.abs(g)))]]))
            fd = np.empty(len(flat))
            for j, idx in enumerate(flat):
                trial = [a.copy() for a in weights]
                base = trial[k].flat[idx]
                trial[k].flat[idx] = base + eps
                model.set_weights(trial)
                prepare()
                up = objective(model, x, y, loss, training)
                trial[k].flat[idx] = base - eps
                model.set_weights(trial)
                prepare()
                down = objective(model, x, y, loss, training)
                fd[j] = (up - down) / (2 * eps)
            record_fd(np.asarray(g, np.float64).flat[flat], fd, f"{name} weight {k} {w.shape}")
    finally:
        model.set_weights(weights)
    return grads


def random_targets(model: Any, x: Any, rng: np.random.Generator, loss: Any = "mse") -> Any:
    """Targets shaped like the outputs (class ids / one-hot rows / {0, 1} by the loss)."""
    outs = _as_list(model.predict(x))
    fns = _as_list(loss) if isinstance(loss, (list, tuple)) else [loss] * len(outs)
    ys = []
    for out, fn in zip(outs, fns):
        shape = np.shape(out)
        name = fn if isinstance(fn, str) else type(fn).__name__
        if "sparse" in name.lower():
            ys.append(rng.integers(0, shape[-1], size=shape[:-1]))
        elif "categorical" in name.lower():
            ys.append(np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])])
        elif "binary" in name.lower():
            ys.append((rng.random(shape) > 0.5).astype(float))
        else:
            ys.append(rng.normal(size=shape))
    return ys if len(outs) > 1 else ys[0]


def padding_mask(kind: str, batch: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """(B, T) bool, True where a step is real: left / right / middle padding or a mix."""
    keep = np.ones((batch, steps), bool)
    for b in range(batch):
        k = kind if kind != "mixed" else ("left", "right", "middle", "none", "all")[b % 5]
        n = int(rng.integers(1, max(2, steps - 1)))         # padded steps, at least one real
        if k == "left":
            keep[b, :n] = False
        elif k == "right":
            keep[b, steps - n:] = False
        elif k == "middle" and steps >= 3:
            start = int(rng.integers(1, steps - 1))
            keep[b, start:min(steps - 1, start + n)] = False
        elif k == "all":
            keep[b] = False
    return keep


def masked_data(kind: str, shape: tuple, rng: np.random.Generator,
                ids: int | None = None) -> np.ndarray:
    """Floats (zero rows where padded, for ``Masking``) or ids (0 where padded)."""
    batch, steps = shape[:2]
    keep = padding_mask(kind, batch, steps, rng) if kind != "none" else np.ones(shape[:2], bool)
    if ids is not None:
        return rng.integers(1, ids, size=(batch, steps)) * keep
    x = rng.normal(size=shape)
    x[~keep] = 0.0
    return x


RECURRENT: dict[str, Callable[..., Any]] = {
    "lstm": lambda u, **kw: LSTM(u, **kw),
    "gru": lambda u, **kw: GRU(u, **kw),
    "gru_ra0": lambda u, **kw: GRU(u, reset_after=False, **kw),
    "srnn": lambda u, **kw: SimpleRNN(u, **kw),
}


# ---------------------------------------------------------------------------- A1: the flag grid
MASKS = ["none", "left", "right", "middle", "mixed", "embedding"]
GRID = [
    (cell, rs, rst, back, unroll, mask, zofm)
    for cell in RECURRENT
    for rs, rst, back, unroll in itertools.product([False, True], repeat=4)
    for mask in MASKS
    for zofm in ([False] if mask == "none" else [False, True])
]


def _grid_id(case: tuple) -> str:
    cell, rs, rst, back, unroll, mask, zofm = case
    flags = [n for n, on in (("seq", rs), ("state", rst), ("back", back), ("unroll", unroll),
                             ("zofm", zofm)) if on]
    return "-".join([cell, *flags, f"mask={mask}"])


@pytest.mark.parametrize("case", GRID, ids=_grid_id)
def test_recurrent_flags_match_finite_differences(f64, case):
    cell, rs, rst, back, unroll, mask, zofm = case
    name = _grid_id(case)
    rng = np.random.default_rng(_seed(name))
    batch, steps = int(rng.integers(1, 5)), int(rng.integers(3 if mask != "none" else 1, 7))
    feats, units = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    if mask in ("mixed", "embedding"):
        batch = max(batch, 5)                               # every padding kind once
    if mask == "embedding":
        inp = Input(shape=(steps,), dtype="int32")
        h = Embedding(7, feats, mask_zero=True)(inp)
        x = masked_data("mixed", (batch, steps), rng, ids=7)
    else:
        inp = Input(shape=(steps, feats))
        h = Masking()(inp) if mask != "none" else inp
        x = masked_data(mask, (batch, steps, feats), rng)
    layer = RECURRENT[cell](units, return_sequences=rs, return_state=rst, go_backwards=back,
                            unroll=unroll, zero_output_for_mask=zofm)
    out = layer(h)
    model = Model(inp, list(out) if rst else Dense(2, activation="tanh")(out))
    randomize(model, rng)
    y = random_targets(model, x, rng)
    fd_check(model, x, y, name=name)


# ---------------------------------------------------------------------------- A2: random shapes
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(cell=st.sampled_from(sorted(RECURRENT)), batch=st.integers(1, 5),
       steps=st.integers(1, 8), feats=st.integers(1, 5), units=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_random_shapes_match_finite_differences(cell, batch, steps, feats, units, seed):
    with float64():
        rng = np.random.default_rng(seed)
        inp = Input(shape=(steps, feats))
        seq = RECURRENT[cell](units, return_sequences=True)(inp)
        model = Model(inp, TimeDistributed(Dense(2))(seq))
        randomize(model, rng)
        x = rng.normal(size=(batch, steps, feats))
        fd_check(model, x, random_targets(model, x, rng),
                 name=f"hyp-{cell}-b{batch}-t{steps}-f{feats}-u{units}")


# ---------------------------------------------------------------------------- A3: Dense, activations
DENSE_ACTS = ["linear", "tanh", "sigmoid", "relu", "relu6", "leaky_relu", "elu", "selu", "celu",
              "softplus", "softsign", "silu", "hard_sigmoid", "hard_silu", "mish", "exponential",
              "gelu", "tanh_shrink", "log_sigmoid", "squareplus", "softmax", "log_softmax"]


@pytest.mark.parametrize("act", DENSE_ACTS)
def test_dense_activations_match_finite_differences(f64, act):
    rng = np.random.default_rng(_seed(act))
    inp = Input(shape=(4, 3))
    h = LSTM(5, return_sequences=True)(inp)
    h = TimeDistributed(Dense(4, activation=act))(h)
    out = Dense(3, activation=act)(h)                     # Dense on a 3-D input, too
    model = Model(inp, out)
    randomize(model, rng)
    x = rng.normal(size=(3, 4, 3))
    fd_check(model, x, random_targets(model, x, rng), name=f"dense-{act}")


@pytest.mark.parametrize("loss", ["mse", "mae", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy", "binary_crossentropy",
                                  "cce_logits", "scce_logits", "bce_logits"])
def test_losses_through_a_model_match_finite_differences(f64, loss):
    rng = np.random.default_rng(_seed(loss))
    obj: Any = loss
    act = {"categorical_crossentropy": "softmax", "sparse_categorical_crossentropy": "softmax",
           "binary_crossentropy": "sigmoid"}.get(loss, None)
    if loss == "cce_logits":
        obj = L.CategoricalCrossentropy(from_logits=True)
    elif loss == "scce_logits":
        obj = L.SparseCategoricalCrossentropy(from_logits=True)
    elif loss == "bce_logits":
        obj = L.BinaryCrossentropy(from_logits=True)
    inp = Input(shape=(5, 2))
    h = GRU(4, return_sequences=True)(inp)
    model = Model(inp, TimeDistributed(Dense(3, activation=act))(h))
    randomize(model, rng)
    x = rng.normal(size=(4, 5, 2))
    fd_check(model, x, random_targets(model, x, rng, obj), loss=obj, name=f"loss-{loss}")


CELL_ACTS = [
    ("lstm", {"activation": "relu"}), ("lstm", {"activation": "softsign",
                                                "recurrent_activation": "hard_sigmoid"}),
    ("lstm", {"recurrent_activation": "softmax"}), ("lstm", {"use_bias": False}),
    ("lstm", {"unit_forget_bias": False, "activation": "elu"}),
    ("gru", {"activation": "selu"}), ("gru", {"recurrent_activation": "hard_sigmoid"}),
    ("gru", {"recurrent_activation": "softmax"}), ("gru", {"use_bias": False}),
    ("gru_ra0", {"activation": "relu"}), ("gru_ra0", {"recurrent_activation": "softmax"}),
    ("gru_ra0", {"use_bias": False}),
    ("srnn", {"activation": "relu"}), ("srnn", {"activation": None}),
    ("srnn", {"activation": "softmax"}), ("srnn", {"use_bias": False}),
]


@pytest.mark.parametrize("case", CELL_ACTS,
                         ids=lambda c: c[0] + "".join(f"-{k}={v}" for k, v in c[1].items()))
@pytest.mark.parametrize("mask", [False, True])
def test_cell_activations_match_finite_differences(f64, case, mask):
    cell, kw = case
    name = f"cellact-{cell}-{kw}-{mask}"
    rng = np.random.default_rng(_seed(name))
    inp = Input(shape=(5, 3))
    h = Masking()(inp) if mask else inp
    seq, *states = RECURRENT[cell](4, return_sequences=True, return_state=True, **kw)(h)
    model = Model(inp, [seq, *states])
    randomize(model, rng)
    x = masked_data("mixed" if mask else "none", (5, 5, 3), rng)
    fd_check(model, x, random_targets(model, x, rng), name=name)


# ---------------------------------------------------------------------------- A4: architectures
def arch_encoder_decoder(rng, cell="lstm", masks=True, back=False):
    """Embedding(mask_zero) encoder -> states -> decoder(initial_state) -> TD softmax."""
    enc_in, dec_in = Input(shape=(6,), dtype="int32"), Input(shape=(4,), dtype="int32")
    e = Embedding(9, 3, mask_zero=masks)(enc_in)
    _, *states = RECURRENT[cell](5, return_state=True, go_backwards=back)(e)
    d = Embedding(9, 3, mask_zero=masks)(dec_in)
    seq, *dec_states = RECURRENT[cell](5, return_sequences=True, return_state=True)(
        d, initial_state=states)
    probs = TimeDistributed(Dense(9, activation="softmax"))(seq)
    model = Model([enc_in, dec_in], [probs, dec_states[0]])
    x = [masked_data("mixed", (5, 6), rng, ids=9), masked_data("mixed", (5, 4), rng, ids=9)]
    return model, x, ["sparse_categorical_crossentropy", "mse"]


def arch_repeat_vector(rng):
    inp = Input(shape=(5, 2))
    code = LSTM(4)(Masking()(inp))
    rep = RepeatVector(3)(code)
    seq = GRU(3, return_sequences=True, go_backwards=True)(rep)
    model = Model(inp, TimeDistributed(Dense(2))(seq))
    return model, masked_data("mixed", (5, 5, 2), rng), "mse"


def arch_concatenate(rng):
    inp = Input(shape=(5, 3))
    m = Masking()(inp)
    a = LSTM(3, return_sequences=True)(m)
    b = GRU(2, return_sequences=True, go_backwards=True)(m)
    joined = Concatenate()([a, b])                          # mask: any over inputs
    along_time = Concatenate(axis=1)([a, SimpleRNN(3, return_sequences=True)(m)])
    last = SimpleRNN(2)(joined)
    last_t = LSTM(2)(along_time)
    out = Dense(2)(Concatenate()([last, last_t]))
    return Model(inp, out), masked_data("mixed", (5, 5, 3), rng), "mse"


def arch_stacked(rng):
    inp = Input(shape=(6,), dtype="int32")
    h = Embedding(8, 3, mask_zero=True)(inp)
    h = LSTM(4, return_sequences=True)(h)
    h = GRU(3, return_sequences=True, reset_after=False)(h)
    h = SimpleRNN(3, go_backwards=True)(h)
    out = Dense(3, activation="softmax")(h)
    return Model(inp, out), masked_data("mixed", (5, 6), rng, ids=8), "categorical_crossentropy"


def arch_embedding_plain(rng):
    inp = Input(shape=(5,), dtype="int32")
    h = Embedding(6, 4)(inp)                                # no mask: id 0 is a token
    out = Dense(2)(GRU(3)(h))
    return Model(inp, out), rng.integers(0, 6, size=(4, 5)), "mse"


def arch_sequential(rng):
    model = Sequential([Input(shape=(5, 3)), Masking(), LSTM(4, return_sequences=True),
                        GRU(3, return_sequences=True), TimeDistributed(Dense(2))])
    return model, masked_data("mixed", (5, 5, 3), rng), "mse"


def arch_sequential_input_shape(rng):
    model = Sequential([SimpleRNN(3, input_shape=(4, 2), return_sequences=True),
                        LSTM(2), Dense(1, activation="sigmoid")])
    return model, rng.normal(size=(3, 4, 2)), "binary_crossentropy"


def arch_shared_layer(rng):
    a, b = Input(shape=(4, 2)), Input(shape=(3, 2))
    shared = LSTM(3)
    out = Dense(2)(Concatenate()([shared(a), shared(b)]))
    return Model([a, b], out), [rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 3, 2))], "mse"


def arch_rnn_cell(rng):
    inp = Input(shape=(4, 2))
    seq = RNN(LSTMCell(3), return_sequences=True, go_backwards=True)(inp)
    return Model(inp, TimeDistributed(Dense(2))(seq)), rng.normal(size=(3, 4, 2)), "mse"


def arch_multi_output(rng):
    inp = Input(shape=(5, 3))
    seq, h, c = LSTM(4, return_sequences=True, return_state=True)(inp)
    p = TimeDistributed(Dense(3, activation="softmax"), name="probs")(seq)
    q = Dense(1, activation="sigmoid", name="flag")(h)
    r = Dense(2, name="value")(c)
    model = Model(inp, [p, q, r])
    return model, rng.normal(size=(4, 5, 3)), ["categorical_crossentropy",
                                                "binary_crossentropy", "mae"]


def arch_unused_state(rng):
    inp = Input(shape=(5, 3))
    _, h, _ = LSTM(4, return_state=True)(inp)              # c and the output have no loss
    return Model(inp, Dense(2)(h)), rng.normal(size=(3, 5, 3)), "mse"


def arch_nested_models(rng):
    a = Input(shape=(4, 2))
    inner = Model(a, LSTM(3, return_sequences=True)(a))
    stack = Sequential([Input(shape=(4, 3)), GRU(3, return_sequences=True)])
    b = Input(shape=(4, 2))
    out = TimeDistributed(Dense(2))(stack(inner(b)))
    return Model(b, out), rng.normal(size=(3, 4, 2)), "mse"


def arch_time_distributed_lstm(rng):
    inp = Input(shape=(3, 4, 2))                              # (B, T, T2, F)
    per_step = TimeDistributed(LSTM(3))(inp)                  # (B, T, 3)
    return Model(inp, SimpleRNN(2)(per_step)), rng.normal(size=(2, 3, 4, 2)), "mse"


ARCHS: dict[str, Callable[[np.random.Generator], tuple]] = {
    "nested-models": arch_nested_models,
    "time-distributed-lstm": arch_time_distributed_lstm,
    "encdec-lstm": lambda r: arch_encoder_decoder(r, "lstm"),
    "encdec-lstm-back": lambda r: arch_encoder_decoder(r, "lstm", back=True),
    "encdec-lstm-nomask": lambda r: arch_encoder_decoder(r, "lstm", masks=False),
    "encdec-gru": lambda r: arch_encoder_decoder(r, "gru"),
    "encdec-gru_ra0": lambda r: arch_encoder_decoder(r, "gru_ra0"),
    "encdec-srnn": lambda r: arch_encoder_decoder(r, "srnn"),
    "repeat-vector": arch_repeat_vector,
    "concatenate": arch_concatenate,
    "stacked": arch_stacked,
    "embedding-plain": arch_embedding_plain,
    "sequential": arch_sequential,
    "sequential-input-shape": arch_sequential_input_shape,
    "shared-layer": arch_shared_layer,
    "rnn-cell": arch_rnn_cell,
    "multi-output": arch_multi_output,
    "unused-state": arch_unused_state,
}


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_architectures_match_finite_differences(f64, arch):
    rng = np.random.default_rng(_seed(arch))
    model, x, loss = ARCHS[arch](rng)
    randomize(model, rng)
    fd_check(model, x, random_targets(model, x, rng, loss), loss=loss, name=arch)


@pytest.mark.parametrize("cell", sorted(RECURRENT))
def test_stateful_layer_matches_finite_differences(f64, cell):
    """A stateful layer starts from its stored states (reset to the same ones before each
    forward pass): the weight gradients include the path through them."""
    rng = np.random.default_rng(_seed("stateful" + cell))
    inp = Input(shape=(4, 2), batch_size=3)
    layer = RECURRENT[cell](3, stateful=True, return_sequences=True)
    model = Model(inp, TimeDistributed(Dense(2))(layer(inp)))
    randomize(model, rng)
    x = rng.normal(size=(3, 4, 2))
    s0 = [rng.normal(size=(3, 3)) for _ in layer.cell.state_size]
    y = random_targets(model, x, rng)
    fd_check(model, x, y, name=f"stateful-{cell}", prepare=lambda: layer.reset_state(s0))


# ---------------------------------------------------------------------------- A5: Bidirectional
BIDI = [(cell, mode, rs, rst, mask)
        for cell in ("lstm", "gru", "srnn")
        for mode in ("concat", "sum", "ave", "mul", None)
        for rs, rst in itertools.product([False, True], repeat=2)
        for mask in (False, True)]


@pytest.mark.parametrize("case", BIDI, ids=lambda c: f"{c[0]}-{c[1]}-seq{int(c[2])}"
                         f"-state{int(c[3])}-mask{int(c[4])}")
def test_bidirectional_matches_finite_differences(f64, case):
    cell, mode, rs, rst, mask = case
    name = f"bidi-{case}"
    rng = np.random.default_rng(_seed(name))
    inp = Input(shape=(5, 2))
    h = Masking()(inp) if mask else inp
    out = Bidirectional(RECURRENT[cell](3, return_sequences=rs, return_state=rst),
                        merge_mode=mode)(h)
    model = Model(inp, list(out) if isinstance(out, (list, tuple)) else out)
    randomize(model, rng)
    x = masked_data("mixed" if mask else "none", (5, 5, 2), rng)
    fd_check(model, x, random_targets(model, x, rng), name=name)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_encoder_decoder_states_match_finite_differences(f64, cell):
    """A Bidirectional encoder's states become a Bidirectional decoder's initial_state."""
    rng = np.random.default_rng(_seed("bidi-encdec" + cell))
    enc_in, dec_in = Input(shape=(5,), dtype="int32"), Input(shape=(4, 2))
    e = Embedding(7, 3, mask_zero=True)(enc_in)
    _, *states = Bidirectional(RECURRENT[cell](3, return_state=True))(e)
    seq = Bidirectional(RECURRENT[cell](3, return_sequences=True), merge_mode="sum")(
        Masking()(dec_in), initial_state=states)
    model = Model([enc_in, dec_in], TimeDistributed(Dense(2))(seq))
    randomize(model, rng)
    x = [masked_data("mixed", (5, 5), rng, ids=7), masked_data("mixed", (5, 4, 2), rng)]
    fd_check(model, x, random_targets(model, x, rng), name=f"bidi-encdec-{cell}")


# ---------------------------------------------------------------------------- A6: dropout
def recurrent_cells(model: Any) -> list[RecurrentCell]:
    found: list[RecurrentCell] = []

    def visit(layer: Any) -> None:
        if isinstance(getattr(layer, "cell", None), RecurrentCell):
            found.append(layer.cell)
        for attr in ("forward_layer", "backward_layer", "layer"):
            if getattr(layer, attr, None) is not None:
                visit(getattr(layer, attr))

    for layer in model.layers:
        visit(layer)
    return found


def freeze_dropout(model: Any, batch: int, monkeypatch: Any) -> dict[int, list]:
    """Draws each cell's dropout masks once and makes ``dropout_masks`` return them."""
    calls: dict[int, list] = {}
    for cell in recurrent_cells(model):
        masks = cell.dropout_masks(batch, True)
        assert masks != (None, None)
        seen: list = []
        calls[id(cell)] = seen

        def fixed(b: int, training: bool, _m=masks, _c=seen) -> tuple:
            _c.append(training)
            assert b == batch
            return _m if training else (None, None)

        monkeypatch.setattr(cell, "dropout_masks", fixed)
    return calls


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def reference_run(cell: RecurrentCell, x: np.ndarray, in_m: Any, rec_m: Any) -> np.ndarray:
    """The documented equations in plain NumPy, with the SAME masks at every step.

    ``in_m`` / ``rec_m``: None, [one mask] for every gate, or one mask per gate in Keras's
    gate order (LSTM i, f, c, o; GRU z, r, h). Returns h at every step (B, T, u).
    """
    def pick(masks: Any, k: int) -> Any:
        return 1.0 if masks is None else masks[k if len(masks) > 1 else 0]

    w, uu = cell.kernel, cell.recurrent_kernel
    u, (batch, steps, _) = cell.units, x.shape
    h, c = np.zeros((batch, u)), np.zeros((batch, u))
    hs = []
    blk = lambda a, k: a[..., k * u:(k + 1) * u]            # noqa: E731
    for t in range(steps):
        xt = x[:, t]
        if type(cell).__name__ == "LSTMCell":
            b = cell.bias if cell.use_bias else np.zeros(4 * u)
            z = [(xt * pick(in_m, k)) @ blk(w, k) + (h * pick(rec_m, k)) @ blk(uu, k) + blk(b, k)
                 for k in range(4)]
            i, f, g, o = _sig(z[0]), _sig(z[1]), np.tanh(z[2]), _sig(z[3])
            c = f * c + i * g
            h = o * np.tanh(c)
        elif type(cell).__name__ == "GRUCell":
            xk = [(xt * pick(in_m, k)) @ blk(w, k) for k in range(3)]
            if cell.reset_after:
                bx, bh = cell.bias
                rk = [(h * pick(rec_m, k)) @ blk(uu, k) + blk(bh, k) for k in range(3)]
                z = _sig(xk[0] + blk(bx, 0) + rk[0])
                r = _sig(xk[1] + blk(bx, 1) + rk[1])
                hh = np.tanh(xk[2] + blk(bx, 2) + r * rk[2])
            else:
                bx = cell.bias
                z = _sig(xk[0] + blk(bx, 0) + (h * pick(rec_m, 0)) @ blk(uu, 0))
                r = _sig(xk[1] + blk(bx, 1) + (h * pick(rec_m, 1)) @ blk(uu, 1))
                hh = np.tanh(xk[2] + blk(bx, 2) + (r * (h * pick(rec_m, 2))) @ blk(uu, 2))
            h = z * h + (1.0 - z) * hh
        else:
            h = np.tanh((xt * pick(in_m, 0)) @ w + cell.bias + (h * pick(rec_m, 0)) @ uu)
        hs.append(h)
    return np.stack(hs, axis=1)


DROPOUTS = [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)]


@pytest.mark.parametrize("rates", DROPOUTS, ids=lambda r: f"dropout{r[0]}-rec{r[1]}")
@pytest.mark.parametrize("cell", sorted(RECURRENT))
def test_dropout_masks_are_the_same_at_every_step(f64, cell, rates):
    """Real (unpatched) masks: the output equals the equations run with the recorded
    masks applied unchanged at every step, and the masks are drawn once per call."""
    rng = np.random.default_rng(_seed(f"dropref-{cell}-{rates}"))
    layer = RECURRENT[cell](4, return_sequences=True, dropout=rates[0],
                            recurrent_dropout=rates[1], seed=3)
    x = rng.normal(size=(6, 7, 3))
    layer(x)                                                # build
    randomize(layer, rng)
    out, cache = layer.forward(x, training=True)
    rec = cache["record"]
    for masks, rate in ((rec.input_masks, rates[0]), (rec.recurrent_masks, rates[1])):
        if rate == 0.0:
            assert masks is None
            continue
        assert masks is not None and all(m.shape[0] == 6 for m in masks)
        values = np.unique(np.concatenate([m.ravel() for m in masks]))
        assert_close(values, np.array([0.0, 1.0 / (1.0 - rate)]), atol=1e-12,
                     name="inverted-dropout mask values")
    assert_close(out, reference_run(layer.cell, x, rec.input_masks, rec.recurrent_masks),
                 atol=1e-12, name=f"{cell} output with the recorded dropout masks")
    # in inference the masks are off: the same equations without masks
    assert_close(layer(x), reference_run(layer.cell, x, None, None), atol=1e-12,
                 name=f"{cell} inference output")


@pytest.mark.parametrize("rates", DROPOUTS, ids=lambda r: f"dropout{r[0]}-rec{r[1]}")
@pytest.mark.parametrize("cell", sorted(RECURRENT))
@pytest.mark.parametrize("flags", ["seq", "back-mask-state"])
def test_dropout_gradients_match_finite_differences(f64, monkeypatch, cell, rates, flags):
    name = f"dropout-{cell}-{rates}-{flags}"
    rng = np.random.default_rng(_seed(name))
    batch = 5
    inp = Input(shape=(5, 3))
    masked = flags != "seq"
    h = Masking()(inp) if masked else inp
    out = RECURRENT[cell](4, return_sequences=True, return_state=masked, go_backwards=masked,
                          dropout=rates[0], recurrent_dropout=rates[1])(h)
    model = Model(inp, list(out) if masked else TimeDistributed(Dense(2))(out))
    randomize(model, rng)
    x = masked_data("mixed" if masked else "none", (batch, 5, 3), rng)
    calls = freeze_dropout(model, batch, monkeypatch)
    y = random_targets(model, x, rng)
    train_loss = objective(model, x, y, "mse", training=True)
    assert train_loss != pytest.approx(objective(model, x, y, "mse", training=False))
    fd_check(model, x, y, training=True, name=name)
    assert all(True in c for c in calls.values())           # used in training mode
    (cell_obj,) = recurrent_cells(model)
    _, cache = model.forward(x, training=True)
    rec = [c for c in cache["nodes"] if isinstance(c, dict) and "record" in c][0]["record"]
    fixed = cell_obj.dropout_masks(batch, True)
    assert rec.input_masks is fixed[0] and rec.recurrent_masks is fixed[1]


@pytest.mark.parametrize("mode", ["concat", "mul"])
def test_bidirectional_dropout_gradients_match_finite_differences(f64, monkeypatch, mode):
    name = f"bidi-dropout-{mode}"
    rng = np.random.default_rng(_seed(name))
    inp = Input(shape=(4, 3))
    out = Bidirectional(LSTM(3, return_sequences=True, dropout=0.25, recurrent_dropout=0.3),
                        merge_mode=mode)(Masking()(inp))
    model = Model(inp, TimeDistributed(Dense(2))(out))
    randomize(model, rng)
    x = masked_data("mixed", (5, 4, 3), rng)
    calls = freeze_dropout(model, 5, monkeypatch)
    assert len(calls) == 2
    fd_check(model, x, random_targets(model, x, rng), training=True, name=name)


# ---------------------------------------------------------------------------- A7: float64 kept
def test_float64_gradients_are_float64_and_exact(f64):
    """In float64 every gradient is float64 and as exact as float64 allows.

    A gradient rounded through float32 anywhere on the way (e.g. an activation's
    backward) shows up as a dtype change or an error near 1e-8 relative.
    """
    rng = np.random.default_rng(7)
    inp = Input(shape=(4, 3))
    h = LSTM(4, return_sequences=True)(inp)
    out = TimeDistributed(Dense(3, activation="tanh"))(h)
    model = Model(inp, Dense(2)(out))
    randomize(model, rng)
    x = rng.normal(size=(3, 4, 3))
    y = random_targets(model, x, rng)
    grads = gradients(model, x, y, loss="mse")
    assert [g.dtype.name for g in grads] == ["float64"] * len(grads)
    # Richardson-extrapolated central differences: error ~1e-11, far below float32's 6e-8
    weights = model.get_weights()
    k = len(weights) - 1                                    # the last Dense's bias
    for idx in range(weights[k].size):
        vals = []
        for eps in (1e-3, 5e-4):
            trial = [a.copy() for a in weights]
            trial[k].flat[idx] += eps
            model.set_weights(trial)
            up = objective(model, x, y, "mse", False)
            trial[k].flat[idx] -= 2 * eps
            model.set_weights(trial)
            vals.append((up - objective(model, x, y, "mse", False)) / (2 * eps))
        model.set_weights(weights)
        fd = (4 * vals[1] - vals[0]) / 3
        assert_close(grads[k].flat[idx], fd, atol=1e-10 * max(1.0, abs(fd)),
                     name=f"float64 bias gradient {idx}")


# ---------------------------------------------------------------------------- B: TF tape
@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; "
                    "TensorFlow gradient comparisons skipped")
    import keras  # noqa: PLC0415

    return keras


class NS:
    """The few names a model builder needs, from Keras or from rnnlens."""

    def __init__(self, keras_mod: Any = None):
        if keras_mod is None:
            import rnnlens.layers as layers  # noqa: PLC0415

            self.L, self.Model, self.Input, self.keras = layers, Model, Input, None
        else:
            self.L, self.Model = keras_mod.layers, keras_mod.Model
            self.Input, self.keras = keras_mod.Input, keras_mod

    def dec_mask(self, ids: Any) -> dict:
        """Keras 3 drops the upstream mask of a call with initial_state (spec 10.1), and
        so does rnnlens: both decoders get it explicitly, ``mask=ops.not_equal(ids, 0)``
        (an op node on the symbolic ids in both libraries)."""
        import rnnlens.ops

        ops = rnnlens.ops if self.keras is None else self.keras.ops
        return {"mask": ops.not_equal(ids, 0)}


def tf_lstm_last(ns, rng):
    inp = ns.Input((5, 3))
    return ns.Model(inp, ns.L.Dense(3)(ns.L.LSTM(4)(inp))), [rng.normal(size=(4, 5, 3))], "mse"


def tf_lstm_states(ns, rng):
    inp = ns.Input((5, 3))
    seq, h, c = ns.L.LSTM(4, return_sequences=True, return_state=True, go_backwards=True)(inp)
    return ns.Model(inp, [seq, h, c]), [rng.normal(size=(3, 5, 3))], "mse"


def tf_lstm_mask_softmax(ns, rng):
    inp = ns.Input((6, 2))
    seq = ns.L.LSTM(4, return_sequences=True)(ns.L.Masking()(inp))
    out = ns.L.TimeDistributed(ns.L.Dense(3, activation="softmax"))(seq)
    x = masked_data("mixed", (5, 6, 2), rng)
    return ns.Model(inp, out), [x], "categorical_crossentropy"


def tf_gru(reset_after):
    def build(ns, rng):
        inp = ns.Input((6, 3))
        out, h = ns.L.GRU(5, reset_after=reset_after, return_state=True)(ns.L.Masking()(inp))
        p = ns.L.Dense(1, activation="sigmoid")(ns.L.Concatenate()([out, h]))
        return ns.Model(inp, p), [masked_data("mixed", (5, 6, 3), rng)], "binary_crossentropy"
    return build


def tf_gru_seq(reset_after):
    def build(ns, rng):
        inp = ns.Input((5, 2))
        seq = ns.L.GRU(4, reset_after=reset_after, return_sequences=True, go_backwards=True)(inp)
        return ns.Model(inp, ns.L.TimeDistributed(ns.L.Dense(2))(seq)), \
            [rng.normal(size=(3, 5, 2))], "mse"
    return build


def tf_srnn(ns, rng):
    inp = ns.Input((6, 3))
    seq = ns.L.SimpleRNN(5, return_sequences=True)(inp)
    out = ns.L.TimeDistributed(ns.L.Dense(4, activation="softmax"))(seq)
    return ns.Model(inp, out), [rng.normal(size=(4, 6, 3))], "sparse_categorical_crossentropy"


def tf_bidi(mode, cell="LSTM", seq=True, mask=True):
    def build(ns, rng):
        inp = ns.Input((5, 3))
        h = ns.L.Masking()(inp) if mask else inp
        out = ns.L.Bidirectional(getattr(ns.L, cell)(3, return_sequences=seq),
                                 merge_mode=mode)(h)
        if mode is None:
            out = ns.L.Concatenate()(list(out))
        dense = ns.L.Dense(2)
        out = ns.L.TimeDistributed(dense)(out) if seq else dense(out)
        x = masked_data("mixed" if mask else "none", (5, 5, 3), rng)
        return ns.Model(inp, out), [x], "mse"
    return build


def tf_bidi_states(ns, rng):
    inp = ns.Input((5, 3))
    out, hf, cf, hb, cb = ns.L.Bidirectional(ns.L.LSTM(3, return_state=True),
                                             merge_mode="ave")(inp)
    return ns.Model(inp, [out, hf, cf, hb, cb]), [rng.normal(size=(3, 5, 3))], "mse"


def tf_td_dense(ns, rng):
    inp = ns.Input((5, 3))
    seq = ns.L.LSTM(4, return_sequences=True)(inp)
    h = ns.L.TimeDistributed(ns.L.Dense(3, activation="tanh"))(seq)
    return ns.Model(inp, ns.L.TimeDistributed(ns.L.Dense(2))(h)), \
        [rng.normal(size=(4, 5, 3))], "mse"


def tf_encdec(cell):
    def build(ns, rng):
        enc_in = ns.Input((6,), dtype="int32")
        dec_in = ns.Input((4,), dtype="int32")
        e = ns.L.Embedding(9, 3, mask_zero=True)(enc_in)
        _, *states = getattr(ns.L, cell)(5, return_state=True)(e)
        d = ns.L.Embedding(9, 3, mask_zero=True)(dec_in)
        seq = getattr(ns.L, cell)(5, return_sequences=True)(d, initial_state=states,
                                                            **ns.dec_mask(dec_in))
        probs = ns.L.TimeDistributed(ns.L.Dense(9, activation="softmax"))(seq)
        x = [masked_data("mixed", (5, 6), rng, ids=9), masked_data("mixed", (5, 4), rng, ids=9)]
        return ns.Model([enc_in, dec_in], probs), x, "sparse_categorical_crossentropy"
    return build


def tf_stacked_embedding(ns, rng):
    inp = ns.Input((6,), dtype="int32")
    h = ns.L.Embedding(8, 3, mask_zero=True)(inp)
    h = ns.L.LSTM(4, return_sequences=True)(h)
    h = ns.L.GRU(3)(h)
    out = ns.L.Dense(3, activation="softmax")(h)
    return ns.Model(inp, out), [masked_data("mixed", (5, 6), rng, ids=8)], \
        "categorical_crossentropy"


def tf_unroll_back_zofm(cell):
    def build(ns, rng):
        inp = ns.Input((6, 2))
        seq = getattr(ns.L, cell)(3, return_sequences=True, go_backwards=True, unroll=True,
                                  zero_output_for_mask=True)(ns.L.Masking()(inp))
        return ns.Model(inp, ns.L.TimeDistributed(ns.L.Dense(2))(seq)), \
            [masked_data("mixed", (5, 6, 2), rng)], "mse"
    return build


TF_CASES: dict[str, Callable] = {
    "lstm-unroll-back-zofm-mask": tf_unroll_back_zofm("LSTM"),
    "gru-unroll-back-zofm-mask": tf_unroll_back_zofm("GRU"),
    "lstm-last": tf_lstm_last,
    "lstm-states-back": tf_lstm_states,
    "lstm-mask-softmax": tf_lstm_mask_softmax,
    "gru-ra1-mask-state": tf_gru(True),
    "gru-ra0-mask-state": tf_gru(False),
    "gru-ra1-seq-back": tf_gru_seq(True),
    "gru-ra0-seq-back": tf_gru_seq(False),
    "srnn-seq": tf_srnn,
    "bidi-concat": tf_bidi("concat"),
    "bidi-sum-gru": tf_bidi("sum", "GRU"),
    "bidi-ave-last": tf_bidi("ave", seq=False),
    "bidi-mul-srnn": tf_bidi("mul", "SimpleRNN"),
    "bidi-none": tf_bidi(None, mask=False),
    "bidi-states": tf_bidi_states,
    "td-dense": tf_td_dense,
    "encdec-lstm-mask": tf_encdec("LSTM"),
    "encdec-gru-mask": tf_encdec("GRU"),
    "stacked-embedding": tf_stacked_embedding,
}

KERAS_LOSSES = {"mse": "MeanSquaredError", "categorical_crossentropy": "CategoricalCrossentropy",
                "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
                "binary_crossentropy": "BinaryCrossentropy", "mae": "MeanAbsoluteError"}


def record_tf(ours: np.ndarray, theirs: np.ndarray, where: str) -> None:
    scale = float(np.max(np.abs(theirs))) or 1.0
    rel = float(np.max(np.abs(ours - theirs))) / scale if theirs.size else 0.0
    STATS["tf_n"] += 1
    if rel > STATS["tf_worst"]:
        STATS["tf_worst"], STATS["tf_where"] = rel, where
    assert_close(ours / scale, theirs / scale, atol=TF_RTOL, name=where)


class KerasMaskWeighted(L.Loss):
    """An rnnlens loss given Keras's mask weights (``mask * total / valid``) as
    ``sample_weight``: what Keras's ``Loss.__call__`` does with an output's mask."""

    def __init__(self, inner: Any, mask: np.ndarray):
        super().__init__(name=inner.name)
        m = np.asarray(mask, np.float32)
        self.inner, self.weights = inner, m * (m.size / max(m.sum(), 1.0))

    def value_and_gradient(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return self.inner.value_and_gradient(y_true, y_pred, sample_weight=self.weights)


def tape_and_ours(K: Any, case: str, masked_loss: bool, weight_ours: bool = False
                  ) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(rnnlens gradient, tf.GradientTape gradient, name) per weight for one case.

    ``masked_loss``: the Keras loss sees the outputs as the model returns them (with their
    ``_keras_mask``, which Keras's ``Loss.__call__`` turns into sample weights); otherwise
    the mask is stripped (``tf.identity``), which is the loss rnnlens computes.
    ``weight_ours``: rnnlens's loss gets Keras's output mask as sample weights.
    """
    import tensorflow as tf  # noqa: PLC0415

    assert floatx() == "float32"
    build = TF_CASES[case]
    K.utils.set_random_seed(_seed(case) % 2**31)
    kmodel, x, loss = build(NS(K), np.random.default_rng(_seed(case)))
    ours, _, _ = build(NS(), np.random.default_rng(_seed(case)))
    # Keras's trainable_weights order is rnnlens's get_weights order: check it by shapes
    kshapes = [tuple(w.shape) for w in kmodel.trainable_weights]
    assert len(kmodel.weights) == len(kmodel.trainable_weights)
    assert kshapes == [tuple(s) for s in ours.weight_shapes()]
    rng = np.random.default_rng(_seed(case) + 1)
    kmodel.set_weights([rng.normal(scale=0.5, size=s).astype(np.float32) for s in kshapes])
    ours.set_weights(kmodel.get_weights())
    x = [np.asarray(v, np.int32 if np.issubdtype(np.asarray(v).dtype, np.integer)
                    else np.float32) for v in x]
    xin = x if len(x) > 1 else x[0]
    assert_close(_as_list(ours.predict(xin)),
                 [np.asarray(p) for p in _as_list(kmodel(xin, training=False))], atol=1e-5,
                 name=f"{case} forward")
    y = random_targets(ours, xin, rng, loss)
    ys = [np.asarray(t, np.int32 if loss.startswith("sparse") else np.float32)
          for t in _as_list(y)]
    kloss = getattr(K.losses, KERAS_LOSSES[loss])()
    with tf.GradientTape() as tape:
        preds = _as_list(kmodel(xin, training=False))
        if not masked_loss:
            preds = [tf.identity(p) for p in preds]
        total = tf.add_n([kloss(t, p) for t, p in zip(ys, preds)])
    kgrads = tape.gradient(total, kmodel.trainable_weights)
    ours_loss: Any = loss
    if weight_ours:
        (kmask,) = [getattr(p, "_keras_mask", None) for p in _as_list(kmodel(xin))]
        assert kmask is not None, f"{case}: the Keras output carries no mask"
        ours_loss = KerasMaskWeighted(L.get(loss), np.asarray(kmask))
    grads = gradients(ours, xin, ys if len(ys) > 1 else ys[0], loss=ours_loss, training=False)
    assert len(grads) == len(kgrads)
    out = []
    for g, kg, kw in zip(grads, kgrads, kmodel.trainable_weights):
        theirs = np.zeros(kw.shape, np.float32) if kg is None else \
            np.asarray(tf.convert_to_tensor(kg))
        assert g.dtype == np.float32 and g.shape == theirs.shape
        out.append((np.asarray(g, np.float64), theirs.astype(np.float64),
                    f"{case} / {kw.path} ({loss})"))
    return out


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(TF_CASES))
def test_gradients_match_tensorflow_tape(K, case):
    """Same model, weights and loss (masked outputs weighted as Keras's loss does):
    rnnlens's backward equals TF's tape."""
    for ours, theirs, where in tape_and_ours(K, case, masked_loss=True):
        record_tf(ours, theirs, where)


MASKED_OUTPUT_CASES = ["lstm-mask-softmax", "bidi-concat", "encdec-lstm-mask"]


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("case", MASKED_OUTPUT_CASES)
def test_loss_on_a_masked_output_is_masked_like_keras(K, case):
    """Keras's ``Loss.__call__`` reads the output's mask (``_keras_mask``, set by
    Masking / Embedding(mask_zero) through return_sequences layers, TimeDistributed...)
    and gives masked steps weight 0 and valid ones ``total / valid``: the loss is the mean
    over the real steps only. ``keras_loss(y, model(x))`` in a tape, and Keras's fit /
    evaluate, all do it. rnnlens's ``gradients`` (and fit / evaluate) average over the
    padded steps too, so its loss and gradients differ from Keras's.
    """
    worst = 0.0
    for ours, theirs, _ in tape_and_ours(K, case, masked_loss=True):
        scale = float(np.max(np.abs(theirs))) or 1.0
        worst = max(worst, float(np.max(np.abs(ours - theirs))) / scale)
    assert worst <= TF_RTOL, (
        f"{case}: rnnlens's gradient differs from Keras's masked-loss gradient by "
        f"{worst:.3e} relative: the loss does not apply the output mask as Keras does")


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("case", MASKED_OUTPUT_CASES)
def test_masked_loss_gap_is_only_the_loss_weights(K, case):
    """Diagnosis of the test above: given Keras's mask weights as sample weights, rnnlens's
    backward pass gives Keras's masked-loss gradients, so only the loss misses the mask."""
    for ours, theirs, where in tape_and_ours(K, case, masked_loss=True, weight_ours=True):
        record_tf(ours, theirs, where + " [Keras mask weights]")
