"""Live parity with Keras 3.15.1 (TensorFlow backend) for the rest of the recurrent family:
GRU (reset_after True and False), SimpleRNN, Bidirectional, Masking / Embedding(mask_zero)
graphs, stacked cells ``RNN([...])``, ``RNN(LSTMCell)`` and a user cell in ``RNN``.

Same method as test_parity_keras.py (whose helpers are reused): both libraries build the
same thing, random U(-0.5, 0.5) weights are copied with ``get_weights``/``set_weights`` (so
biases matter), both run, and every returned tensor goes through the ``parity`` fixture
(``oracle.assert_close`` at 1e-5, recorded for the end-of-run summary). The container kind
of every result (one array / tuple / list, and the nesting of states) must equal Keras's.

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
from oracle import assert_close, keras_available
from test_parity_keras import (
    check_float32,
    check_structure,
    data,
    mask_rows,
    np_out,
    rand_weights,
)

pytestmark = pytest.mark.keras


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
def seed_of(request: Any) -> int:
    return zlib.crc32(request.node.callspec.id.encode())


def shapes_of(obj: Any) -> list[tuple[int, ...]]:
    return [tuple(w.shape) for w in obj.get_weights()]


def same_weights(k_obj: Any, r_obj: Any, seed: int) -> list[np.ndarray]:
    """Check get_weights order/shapes are Keras's, then give both the same random weights."""
    k_shapes = shapes_of(k_obj)
    assert shapes_of(r_obj) == k_shapes, (
        f"get_weights shapes differ: rnnlens {shapes_of(r_obj)} vs Keras {k_shapes}")
    w = rand_weights(k_shapes, seed)
    k_obj.set_weights(w)
    r_obj.set_weights(w)
    return w


def layer_pair(K: Any, cls: str, cfg: dict, build_shape: tuple, seed: int) -> tuple[Any, Any]:
    """A Keras and an rnnlens ``cls`` layer (LSTM/GRU/SimpleRNN) with the same random weights."""
    kl = getattr(K.layers, cls)(**cfg)
    kl.build(build_shape)
    rl = getattr(rnnlens.layers, cls)(**cfg)
    rl.build(build_shape)
    same_weights(kl, rl, seed)
    return kl, rl


def structure(out: Any) -> str:
    """``t(A,l(A,A))``: the container kinds, for readable structure assertions."""
    if isinstance(out, (list, tuple)):
        return f"{type(out).__name__[0]}(" + ",".join(structure(o) for o in out) + ")"
    return "A"


def leaves(out: Any) -> list[Any]:
    if isinstance(out, (list, tuple)):
        return [a for item in out for a in leaves(item)]
    return [out]


def compare(parity: Callable, r_out: Any, k_out: Any, what: str, strict: bool = True) -> None:
    """The same numbers, leaf by leaf, then (``strict``) the same nesting: tuple / list /
    array at every level, as Keras returns it. ``strict=False`` is used only where a
    dedicated test below checks a known structure difference, so the grid still checks
    every number."""
    k_out = np_out(k_out)
    check_float32(r_out, what)
    r_flat, k_flat = leaves(r_out), leaves(k_out)
    assert len(r_flat) == len(k_flat), (
        f"{what}: rnnlens returns {len(r_flat)} tensors {structure(r_out)}, Keras "
        f"{len(k_flat)} {structure(k_out)}")
    parity(r_flat, k_flat, name=what)
    if strict:
        assert structure(r_out) == structure(k_out), (
            f"{what}: rnnlens returns {structure(r_out)}, Keras {structure(k_out)}")
        check_structure(r_out, k_out, what)


def make_mask(kind: str | None, batch: int, steps: int) -> np.ndarray | None:
    if kind is None:
        return None
    m = mask_rows(batch, steps)
    return {"bool": m, "float": m.astype(np.float32), "int": m.astype(np.int32),
            "trailing": m[:, :, None]}[kind]


# ---------------------------------------------------------------------------- GRU / SimpleRNN grid
#: (id prefix, class, extra config): GRU both ways and SimpleRNN.
KINDS = [("gru", "GRU", {}), ("gru_ra0", "GRU", {"reset_after": False}),
         ("srnn", "SimpleRNN", {})]


def P(id_: str, cls: str, cfg: dict, shape: tuple[int, int, int], mask: Any = None,
      init: Any = None, scale: float = 1.0, training: Any = "omit") -> Any:
    """``init``: None, "list" ([h0]) or "tensor" (h0 alone, which GRU/SimpleRNN accept)."""
    return pytest.param(dict(cls=cls, cfg=cfg, shape=shape, mask=mask, init=init, scale=scale,
                             training=training), id=id_)


def family_cases() -> list[Any]:
    out: list[Any] = []
    for pre, cls, extra in KINDS:
        # sizes
        for u, f, t, b in [(1, 1, 1, 1), (2, 3, 4, 2), (5, 1, 11, 3), (16, 4, 3, 7),
                           (33, 9, 6, 1), (7, 2, 9, 4)]:
            out.append(P(f"{pre}-size-u{u}-f{f}-t{t}-b{b}",
                         cls, dict(units=u, return_sequences=True, return_state=True, **extra),
                         (b, t, f)))
        # every flag combination, no mask
        for rs, st, gb, ur, ub in itertools.product((False, True), repeat=5):
            name = "-".join(k for k, v in zip(("rs", "st", "gb", "unroll", "bias"),
                                               (rs, st, gb, ur, ub)) if v) or "none"
            out.append(P(f"{pre}-flags-{name}", cls,
                         dict(units=3, return_sequences=rs, return_state=st, go_backwards=gb,
                              unroll=ur, use_bias=ub, **extra), (3, 5, 2)))
        # masks (left / middle / right padding, fully masked row, scattered) x every flag
        for gb, ur, zo, rs, init in itertools.product((False, True), repeat=5):
            name = "-".join(k for k, v in zip(("gb", "unroll", "zofm", "rs", "h0"),
                                               (gb, ur, zo, rs, init)) if v) or "plain"
            out.append(P(f"{pre}-mask-{name}", cls,
                         dict(units=3, go_backwards=gb, unroll=ur, zero_output_for_mask=zo,
                              return_sequences=rs, return_state=True, **extra),
                         (7, 6, 2), mask="bool", init="list" if init else None))
        for kind in ("float", "int", "trailing"):
            out.append(P(f"{pre}-mask-{kind}", cls,
                         dict(units=3, return_sequences=True, return_state=True, **extra),
                         (6, 5, 2), mask=kind))
        out.append(P(f"{pre}-mask-nobias-gb", cls,
                     dict(units=4, use_bias=False, go_backwards=True, return_sequences=True,
                          return_state=True, **extra), (6, 5, 3), mask="bool", init="tensor"))
        # initial_state as a tensor and as a one-item list
        for form, gb, ur in itertools.product(("tensor", "list"), (False, True), (False, True)):
            name = "-".join(k for k, v in zip(("gb", "unroll"), (gb, ur)) if v) or "plain"
            out.append(P(f"{pre}-h0-{form}-{name}", cls,
                         dict(units=4, go_backwards=gb, unroll=ur, return_sequences=True,
                              return_state=True, **extra), (3, 5, 2), init=form))
        out.append(P(f"{pre}-h0-no-return-state", cls, dict(units=2, **extra), (2, 4, 3),
                     init="tensor"))
        # dropout set, but inference
        for d, rd in [(0.3, 0.0), (0.0, 0.4), (0.5, 0.5)]:
            for tr in (False, "omit"):
                out.append(P(f"{pre}-dropout-{d}-{rd}-training-{tr}", cls,
                             dict(units=4, dropout=d, recurrent_dropout=rd, seed=3,
                                  return_sequences=True, return_state=True, **extra),
                             (3, 5, 2), training=tr))
    # activations
    for a in ["tanh", "relu", "sigmoid", "hard_sigmoid", "linear", None, "softsign", "elu",
              "selu", "softplus", "swish", "gelu", "relu6", "leaky_relu", "mish", "softmax",
              "hard_tanh", "log_sigmoid", "exponential"]:
        shape, scale = ((2, 2, 3), 0.1) if a == "exponential" else ((2, 6, 3), 2.0)
        for pre, cls, extra in KINDS:
            out.append(P(f"{pre}-act-{a}", cls,
                         dict(units=4, activation=a, return_sequences=True, return_state=True,
                              **extra), shape, scale=scale))
    for r in ["hard_sigmoid", "tanh", "linear", "relu", "softsign", "softmax", "hard_silu"]:
        for pre, cls, extra in KINDS[:2]:
            out.append(P(f"{pre}-recact-{r}", cls,
                         dict(units=4, recurrent_activation=r, return_sequences=True,
                              return_state=True, **extra), (2, 6, 3), scale=2.0))
    for pre, cls, extra in KINDS[:2]:
        out.append(P(f"{pre}-act-relu-rec-hard_sigmoid-gb-mask", cls,
                     dict(units=5, activation="relu", recurrent_activation="hard_sigmoid",
                          go_backwards=True, return_sequences=True, return_state=True, **extra),
                     (6, 5, 2), mask="bool", init="list", scale=1.5))
    return out


@pytest.mark.parametrize("case", family_cases())
def test_gru_simple_rnn_layer(K: Any, parity: Callable, case: dict, request: Any) -> None:
    """One eager GRU / SimpleRNN call with every flag, mask and initial state form."""
    seed = seed_of(request)
    b, t, f = case["shape"]
    cfg = case["cfg"]
    kl, rl = layer_pair(K, case["cls"], cfg, (None, t, f), seed)
    x = data((b, t, f), seed, case["scale"])
    kw: dict[str, Any] = {}
    if case["mask"] is not None:
        kw["mask"] = make_mask(case["mask"], b, t)
    if case["init"] is not None:
        h0 = data((b, cfg["units"]), seed + 1)
        kw["initial_state"] = h0 if case["init"] == "tensor" else [h0]
    if case["training"] != "omit":
        kw["training"] = case["training"]
    compare(parity, rl(x, **kw), kl(x, **kw), "eager call")


STATEFUL = [
    pytest.param("GRU", dict(units=3), (2, 4, 3), id="gru-plain"),
    pytest.param("GRU", dict(units=3, reset_after=False, return_sequences=True,
                             return_state=True), (2, 4, 3), id="gru_ra0-seq-state"),
    pytest.param("GRU", dict(units=4, go_backwards=True, unroll=True, return_state=True),
                 (3, 3, 2), id="gru-gb-unroll"),
    pytest.param("SimpleRNN", dict(units=3, return_sequences=True), (2, 4, 3), id="srnn-seq"),
    pytest.param("SimpleRNN", dict(units=5, activation="relu", go_backwards=True,
                                   return_state=True), (1, 5, 1), id="srnn-relu-gb-b1"),
    pytest.param("LSTM", dict(units=2, return_sequences=True, return_state=True),
                 (3, 3, 2), id="lstm-seq-state"),
]


@pytest.mark.parametrize("cls,cfg,shape", STATEFUL)
def test_stateful_call_sequence(K: Any, parity: Callable, cls: str, cfg: dict, shape: tuple,
                                request: Any) -> None:
    """call, call, reset_state, call, call(initial_state=[h0]) override, call, call with a
    mask: every output and the stored ``states`` equal Keras's after each step."""
    cfg = dict(cfg, stateful=True)
    kl, rl = layer_pair(K, cls, cfg, shape, seed_of(request))
    b, t, _ = shape
    u = cfg["units"]
    n_states = 2 if cls == "LSTM" else 1
    xs = [data(shape, 30 + k) for k in range(4)]
    override = [data((b, u), 90 + k) for k in range(n_states)]
    plan: list[tuple[str, dict]] = [("call", {}), ("call", {}), ("reset", {}), ("call", {}),
                                    ("call", {"initial_state": override}), ("call", {}),
                                    ("call", {"mask": mask_rows(b, t)}), ("call", {})]
    k = 0
    for step, (what, kw) in enumerate(plan):
        if what == "reset":
            kl.reset_state()
            rl.reset_state()
        else:
            x = xs[k % len(xs)]
            k += 1
            compare(parity, rl(x, **kw), kl(x, **kw), f"step {step} output")
        parity(rl.states, [np.asarray(s) for s in kl.states], name=f"step {step} states")


# ---------------------------------------------------------------------------- Bidirectional
MERGE_MODES = ["concat", "sum", "ave", "mul", None]
N_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}


def bidir_cases() -> list[Any]:
    out = []
    for cls, mm, rs, st, masked, init in itertools.product(
            ("LSTM", "GRU", "SimpleRNN"), MERGE_MODES, (False, True), (False, True),
            (False, True), (False, True)):
        name = "-".join([cls, str(mm)] + [k for k, v in zip(("rs", "st", "mask", "h0"),
                                                             (rs, st, masked, init)) if v])
        out.append(pytest.param(cls, mm, rs, st, masked, init, id=name))
    return out


def bidir_pair(K: Any, cls: str, cfg: dict, build_shape: tuple, seed: int, **bkw: Any
               ) -> tuple[Any, Any]:
    kb = K.layers.Bidirectional(getattr(K.layers, cls)(**cfg), **bkw)
    rb = rnnlens.layers.Bidirectional(getattr(rnnlens.layers, cls)(**cfg), **bkw)
    kb.build(build_shape)
    rb.build(build_shape)
    same_weights(kb, rb, seed)
    return kb, rb


@pytest.mark.parametrize("cls,merge_mode,rs,st,masked,init", bidir_cases())
def test_bidirectional(K: Any, parity: Callable, cls: str, merge_mode: Any, rs: bool,
                       st: bool, masked: bool, init: bool, request: Any) -> None:
    """Bidirectional(LSTM/GRU/SimpleRNN) x every merge mode x return_sequences x
    return_state x mask x initial_state ([fwd states..., bwd states...])."""
    seed = seed_of(request)
    b, t, f, u = 7, 5, 3, 3
    kb, rb = bidir_pair(K, cls, dict(units=u, return_sequences=rs, return_state=st),
                        (None, t, f), seed, merge_mode=merge_mode)
    x = data((b, t, f), seed, 1.5)
    kw: dict[str, Any] = {}
    if masked:
        kw["mask"] = mask_rows(b, t)
    if init:
        kw["initial_state"] = [data((b, u), seed + k) for k in range(2 * N_STATES[cls])]
    # merge_mode=None: Keras returns the tuple (y, y_rev); see
    # test_bidirectional_merge_mode_none_structure for the container check.
    compare(parity, rb(x, **kw), kb(x, **kw), "Bidirectional call", strict=merge_mode is not None)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("rs,st", [(False, False), (True, False), (True, True)],
                         ids=["last", "seq", "seq-state"])
def test_bidirectional_merge_mode_none_structure(K: Any, parity: Callable, cls: str, rs: bool,
                                                 st: bool) -> None:
    """merge_mode=None returns Keras's tuple ``(y, y_rev)``
    (``(y, y_rev, *fwd_states, *bwd_states)`` with return_state), not a list."""
    kb, rb = bidir_pair(K, cls, dict(units=2, return_sequences=rs, return_state=st),
                        (None, 4, 3), 5, merge_mode=None)
    x = data((3, 4, 3), 5)
    compare(parity, rb(x), kb(x), "Bidirectional(merge_mode=None)")


BACKWARD_LAYERS = [
    pytest.param("LSTM", dict(units=3), "GRU", dict(units=2), "concat", id="lstm-fwd-gru-bwd"),
    pytest.param("GRU", dict(units=3, reset_after=False), "SimpleRNN",
                 dict(units=3, activation="relu"), "sum", id="gru_ra0-fwd-srnn-bwd-sum"),
    pytest.param("SimpleRNN", dict(units=2), "LSTM", dict(units=2, unroll=True), None,
                 id="srnn-fwd-lstm-bwd-none"),
    pytest.param("LSTM", dict(units=4, go_backwards=False), "LSTM",
                 dict(units=4, activation="relu", use_bias=False), "mul",
                 id="lstm-fwd-lstm-relu-nobias-bwd-mul"),
]


@pytest.mark.parametrize("fcls,fcfg,bcls,bcfg,merge_mode", BACKWARD_LAYERS)
@pytest.mark.parametrize("rs,st", [(False, False), (True, True), (True, False)],
                         ids=["last", "seq-state", "seq"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_bidirectional_custom_backward_layer(K: Any, parity: Callable, fcls: str, fcfg: dict,
                                             bcls: str, bcfg: dict, merge_mode: Any, rs: bool,
                                             st: bool, masked: bool, request: Any) -> None:
    """A given backward_layer (another class / size / activation) is used as is; the
    weights are the forward layer's then the backward layer's."""
    seed = seed_of(request)
    flags = dict(return_sequences=rs, return_state=st)
    if merge_mode in ("sum", "mul") and fcfg["units"] != bcfg["units"]:
        pytest.skip("sum/mul need equal sizes")

    def make(k: Any) -> Any:
        return k.layers.Bidirectional(
            getattr(k.layers, fcls)(**fcfg, **flags), merge_mode=merge_mode,
            backward_layer=getattr(k.layers, bcls)(go_backwards=True, **bcfg, **flags))

    kb, rb = make(K), make(rnnlens)
    kb.build((None, 6, 2))
    rb.build((None, 6, 2))
    assert rb.forward_layer.name.startswith("forward_")
    same_weights(kb, rb, seed)
    x = data((6, 6, 2), seed)
    kw = {"mask": mask_rows(6, 6)} if masked else {}
    compare(parity, rb(x, **kw), kb(x, **kw), "Bidirectional(backward_layer=...)",
            strict=merge_mode is not None)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("merge_mode", ["concat", "ave", None])
def test_bidirectional_stateful(K: Any, parity: Callable, cls: str, merge_mode: Any,
                                request: Any) -> None:
    """Stateful Bidirectional: the state carries across calls in both directions, and
    reset_state restarts both. (Keras 3.15.1 crashes in Bidirectional.compute_mask with
    stateful=True AND return_state=True -- ``generator * int`` -- so return_state is off.)"""
    b, t, f = 3, 4, 2
    kb, rb = bidir_pair(K, cls, dict(units=3, stateful=True, return_sequences=True),
                        (b, t, f), seed_of(request), merge_mode=merge_mode)
    xs = [data((b, t, f), 40 + k) for k in range(3)]
    for step, what in enumerate(["call", "call", "reset", "call", "call"]):
        if what == "reset":
            kb.reset_state()
            rb.reset_state()
            continue
        x = xs[step % 3]
        compare(parity, rb(x), kb(x), f"step {step} output", strict=merge_mode is not None)
        parity(rb.states, [np.asarray(s) for s in kb.states], name=f"step {step} states")


# ---------------------------------------------------------------------------- cells
class MinimalRNNCell:
    """The MinimalRNNCell of the Keras ``RNN`` docstring, in NumPy for rnnlens.

    ``output = x_t @ kernel + h_tm1 @ recurrent_kernel``; one state of ``units``.
    """

    def __init__(self, units: int):
        self.units = units
        self.state_size = units

    def build(self, input_shape: Any) -> None:
        rng = np.random.default_rng(0)
        self.kernel = rng.uniform(-0.05, 0.05, (input_shape[-1], self.units)).astype(np.float32)
        self.recurrent_kernel = rng.uniform(-0.05, 0.05, (self.units, self.units)
                                            ).astype(np.float32)

    @property
    def weights(self) -> list[np.ndarray]:
        return [self.kernel, self.recurrent_kernel]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.kernel, self.recurrent_kernel = [np.asarray(w, np.float32) for w in weights]

    def call(self, inputs: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list]:
        prev_output = states[0]
        h = inputs @ self.kernel
        output = h + prev_output @ self.recurrent_kernel
        return output, [output]


def keras_minimal_cell(K: Any, units: int) -> Any:
    """The same cell, verbatim from the Keras docs (keras.ops on the Keras side)."""
    ops = K.ops

    class KerasMinimalRNNCell(K.layers.Layer):
        def __init__(self, units: int, **kwargs: Any):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape: Any) -> None:
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs: Any, states: Any) -> Any:
            prev_output = states[0]
            h = ops.matmul(inputs, self.kernel)
            output = h + ops.matmul(prev_output, self.recurrent_kernel)
            return output, [output]

    return KerasMinimalRNNCell(units)


def make_cells(k: Any, which: str) -> Any:
    L = k.layers
    minimal = (lambda u: keras_minimal_cell(k, u)) if k is not rnnlens else MinimalRNNCell
    return {
        "stack3": lambda: [L.LSTMCell(4), L.GRUCell(3), L.SimpleRNNCell(2)],
        "stack3-variants": lambda: [L.GRUCell(3, reset_after=False),
                                    L.SimpleRNNCell(4, activation="relu", use_bias=False),
                                    L.LSTMCell(2, recurrent_activation="hard_sigmoid")],
        "lstm_cell": lambda: L.LSTMCell(3),
        "gru_cell": lambda: L.GRUCell(3),
        "minimal": lambda: minimal(3),
        "minimal+gru": lambda: [minimal(3), L.GRUCell(2, reset_after=False)],
        "lstm+minimal": lambda: [L.LSTMCell(3), minimal(2)],
        "one-gru": lambda: [L.GRUCell(2)],
    }[which]()


CELL_SETS = ["stack3", "stack3-variants", "lstm_cell", "gru_cell", "minimal", "minimal+gru",
             "lstm+minimal", "one-gru"]
RNN_FLAGS = {"plain": {}, "seq-state": dict(return_sequences=True, return_state=True),
             "gb-seq-state": dict(go_backwards=True, return_sequences=True, return_state=True),
             "state-zofm": dict(return_state=True, zero_output_for_mask=True),
             "unroll-seq": dict(unroll=True, return_sequences=True)}


@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("flags", list(RNN_FLAGS), ids=list(RNN_FLAGS))
@pytest.mark.parametrize("which", CELL_SETS)
def test_rnn_of_cells(K: Any, parity: Callable, which: str, flags: str, masked: bool,
                      request: Any) -> None:
    """``RNN(cell)`` / ``RNN([cells])`` with built-in and user cells: outputs, and with
    return_state the nested states, ``(out, [h1, c1], [h2], ...)`` exactly as Keras."""
    cfg = RNN_FLAGS[flags]
    if which == "one-gru" and masked:
        _one_cell_list_with_mask(K, parity, cfg, request)
        return
    kl = K.layers.RNN(make_cells(K, which), **cfg)
    rl = rnnlens.layers.RNN(make_cells(rnnlens, which), **cfg)
    kl.build((None, 5, 3))
    rl.build((None, 5, 3))
    seed = seed_of(request)
    same_weights(kl, rl, seed)
    x = data((6, 5, 3), seed)
    kw = {"mask": mask_rows(6, 5)} if masked else {}
    # A user cell with an int state_size inside a stack: Keras returns its state as a bare
    # tensor; see test_stacked_user_cell_state_structure.
    loose = which in ("minimal+gru", "lstm+minimal") and cfg.get("return_state", False)
    compare(parity, rl(x, **kw), kl(x, **kw), f"RNN({which})", strict=not loose)


def _one_cell_list_with_mask(K: Any, parity: Callable, cfg: dict, request: Any) -> None:
    """Keras 3.15.1 crashes on ``RNN([GRUCell(2)])`` (a one-element list) with a mask
    unless unrolled ("The two structures don't have the same nested structure" in
    backend.rnn); rnnlens runs it, and its numbers equal Keras's ``RNN(GRUCell(2))``
    (the same computation without the list), states nested as a stack's."""
    kl = K.layers.RNN(make_cells(K, "one-gru"), **cfg)
    plain = K.layers.RNN(make_cells(K, "one-gru")[0], **cfg)
    rl = rnnlens.layers.RNN(make_cells(rnnlens, "one-gru"), **cfg)
    for layer in (kl, plain, rl):
        layer.build((None, 5, 3))
    seed = seed_of(request)
    same_weights(plain, rl, seed)
    kl.set_weights(plain.get_weights())
    x, mask = data((6, 5, 3), seed), mask_rows(6, 5)
    try:
        kl(x, mask=mask)
        assert cfg.get("unroll"), "Keras 3.15.1 ran RNN([cell]) with a mask: drop this branch"
    except Exception as err:                            # noqa: BLE001 - Keras's own crash
        assert "nested structure" in str(err), err
    ours, theirs = rl(x, mask=mask), plain(x, mask=mask)
    flat = (lambda v: [a for item in v for a in (item if isinstance(item, (list, tuple))
                                                 else [item])]
            if isinstance(v, (list, tuple)) else [v])
    compare(parity, flat(ours), flat(theirs), "RNN([GRUCell]) with a mask", strict=False)


@pytest.mark.parametrize("which", ["minimal+gru", "lstm+minimal"])
def test_stacked_user_cell_state_structure(K: Any, parity: Callable, which: str) -> None:
    """``RNN([MinimalRNNCell(3), GRUCell(2)], return_state=True)``: Keras gives the user
    cell's state (``state_size`` an int, no ``get_initial_state``) as a bare tensor,
    ``(out, h_minimal, [h_gru])``; built-in cells give one-item lists."""
    kl = K.layers.RNN(make_cells(K, which), return_state=True)
    rl = rnnlens.layers.RNN(make_cells(rnnlens, which), return_state=True)
    kl.build((None, 5, 3))
    rl.build((None, 5, 3))
    same_weights(kl, rl, 4)
    x = data((6, 5, 3), 4)
    compare(parity, rl(x), kl(x), f"RNN({which}, return_state=True)")


@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("form", ["nested-lists"])
def test_stacked_cells_nested_initial_state(K: Any, parity: Callable, form: str,
                                            masked: bool) -> None:
    """``initial_state=[[h1, c1], [h2], [h3]]`` for LSTMCell + GRUCell + SimpleRNNCell.
    (Nested *tuples* with a mask crash Keras 3.15.1 in backend.rnn -- "The two structures
    don't have the same nested structure" -- so tuples are only used without a mask, in
    test_stacked_cells_states_follow_initial_state_nesting.)"""
    kl = K.layers.RNN(make_cells(K, "stack3"), return_sequences=True, return_state=True)
    rl = rnnlens.layers.RNN(make_cells(rnnlens, "stack3"), return_sequences=True,
                            return_state=True)
    kl.build((None, 5, 3))
    rl.build((None, 5, 3))
    same_weights(kl, rl, 8)
    x = data((6, 5, 3), 8)
    h = [data((6, s), 50 + k) for k, s in enumerate((4, 4, 3, 2))]
    wrap = list if form == "nested-lists" else tuple
    init = [wrap(h[:2]), wrap(h[2:3]), wrap(h[3:])]
    kw = {"mask": mask_rows(6, 5)} if masked else {}
    compare(parity, rl(x, initial_state=init, **kw), kl(x, initial_state=init, **kw),
            "RNN(stack3, initial_state=nested)")


@pytest.mark.parametrize("form", ["bare", "tuples"])
def test_stacked_cells_states_follow_initial_state_nesting(K: Any, parity: Callable,
                                                           form: str) -> None:
    """Keras returns each cell's final states in the nesting its initial state had:
    ``[[h1, c1], h2, h3]`` gives ``(out, [h1, c1], h2, h3)`` (bare tensors), and
    ``[(h1, c1), (h2,), (h3,)]`` gives tuples."""
    kl = K.layers.RNN(make_cells(K, "stack3"), return_state=True)
    rl = rnnlens.layers.RNN(make_cells(rnnlens, "stack3"), return_state=True)
    kl.build((None, 5, 3))
    rl.build((None, 5, 3))
    same_weights(kl, rl, 9)
    x = data((6, 5, 3), 9)
    h = [data((6, s), 60 + k) for k, s in enumerate((4, 4, 3, 2))]
    init = [h[:2], h[2], h[3]] if form == "bare" else [tuple(h[:2]), (h[2],), (h[3],)]
    compare(parity, rl(x, initial_state=init), kl(x, initial_state=init),
            f"RNN(stack3, initial_state={form})")


def test_user_cell_matches_keras_one_step(K: Any, parity: Callable) -> None:
    """Sanity for the two MinimalRNNCell versions: one call on the same weights."""
    kc, rc = keras_minimal_cell(K, 3), MinimalRNNCell(3)
    kc.build((None, 4))
    rc.build((None, 4))
    w = rand_weights([(4, 3), (3, 3)], 5)
    kc.set_weights(w)
    rc.set_weights(w)
    x, h = data((2, 4), 1), data((2, 3), 2)
    k_out, k_states = kc(x, [h])
    r_out, r_states = rc.call(x, [h])
    parity([r_out, r_states[0]], [np.asarray(k_out), np.asarray(k_states[0])],
           name="MinimalRNNCell step")


# ---------------------------------------------------------------------------- graphs
# Built from one description with ``k`` = keras or rnnlens; returns (model, inputs maker).
def _ids(n: int, steps: int, vocab: int, seed: int) -> np.ndarray:
    """Token ids with 0 = padding: left, right, middle padding, an all-padding row."""
    ids = np.random.default_rng(seed).integers(1, vocab, (n, steps))
    m = mask_rows(n, steps)
    return np.where(m, ids, 0).astype(np.int32)


def _padded(n: int, steps: int, features: int, seed: int) -> np.ndarray:
    """Float data whose padded steps are all 0.0 (for Masking)."""
    x = data((n, steps, features), seed, 1.5)
    return np.where(mask_rows(n, steps)[:, :, None], x, 0.0).astype(np.float32)


def g_embedding_bidir_td_gru(k: Any) -> Any:
    i = k.Input((7,), dtype="int32")
    e = k.layers.Embedding(11, 4, mask_zero=True)(i)
    b = k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True))(e)
    t = k.layers.TimeDistributed(k.layers.Dense(5, activation="tanh"))(b)
    o = k.layers.GRU(2, return_sequences=True)(t)
    return k.Model(i, o), lambda n: _ids(n, 7, 11, 1)


def g_embedding_bidir_sum_gru_last(k: Any) -> Any:
    i = k.Input((6,), dtype="int32")
    e = k.layers.Embedding(9, 3, mask_zero=True)(i)
    b = k.layers.Bidirectional(k.layers.GRU(4, return_sequences=True, reset_after=False),
                               merge_mode="sum")(e)
    o = k.layers.SimpleRNN(2, go_backwards=True)(b)
    return k.Model(i, k.layers.Dense(3, activation="softmax")(o)), lambda n: _ids(n, 6, 9, 2)


def g_embedding_bidir_none(k: Any) -> Any:
    i = k.Input((5,), dtype="int32")
    e = k.layers.Embedding(8, 3, mask_zero=True)(i)
    a, b = k.layers.Bidirectional(k.layers.SimpleRNN(3, return_sequences=True),
                                  merge_mode=None)(e)
    c = k.layers.Concatenate()([a, b])
    return k.Model(i, [a, b, k.layers.LSTM(2)(c)]), lambda n: _ids(n, 5, 8, 3)


def g_masking_stacked_lstm_states(k: Any) -> Any:
    i = k.Input((6, 3))
    m = k.layers.Masking(0.0)(i)
    s, h, c = k.layers.LSTM(4, return_sequences=True, return_state=True)(m)
    s2, h2, c2 = k.layers.LSTM(3, return_sequences=True, return_state=True,
                               go_backwards=True)(s)
    return k.Model(i, [s2, h, c, h2, c2]), lambda n: _padded(n, 6, 3, 4)


def g_masking_concat(k: Any) -> Any:
    i = k.Input((6, 3))
    m = k.layers.Masking(0.0)(i)
    a = k.layers.GRU(3, return_sequences=True)(m)
    b = k.layers.SimpleRNN(2, return_sequences=True)(i)           # unmasked branch
    c = k.layers.Concatenate()([a, b])                            # mask = any -> all True
    d = k.layers.Concatenate()([a, k.layers.LSTM(2, return_sequences=True)(m)])  # masked
    return k.Model(i, [k.layers.LSTM(2, return_sequences=True)(c),
                       k.layers.GRU(2, return_sequences=True)(d)]), lambda n: _padded(n, 6, 3, 5)


def g_masking_dense(k: Any) -> Any:
    i = k.Input((6, 3))
    m = k.layers.Masking(0.0)(i)
    d = k.layers.Dense(4, activation="relu")(m)                   # Dense keeps the mask
    s = k.layers.SimpleRNN(3, return_sequences=True, zero_output_for_mask=True)(d)
    t = k.layers.TimeDistributed(k.layers.Dense(2))(s)
    return k.Model(i, k.layers.GRU(2, go_backwards=True)(t)), lambda n: _padded(n, 6, 3, 6)


def g_masking_bidir_states_decoder(k: Any) -> Any:
    i = k.Input((6, 3))
    m = k.layers.Masking(0.0)(i)
    out, hf, cf, hb, cb = k.layers.Bidirectional(
        k.layers.LSTM(3, return_sequences=True, return_state=True))(m)
    h = k.layers.Concatenate()([hf, hb])
    c = k.layers.Concatenate()([cf, cb])
    # The decoder reads the raw (unmasked) input: Keras drops an upstream mask when
    # initial_state is passed too (spec 10.1), which rnnlens deliberately does not.
    d = k.layers.LSTM(6, return_sequences=True)(i, initial_state=[h, c])
    return k.Model(i, [out, d]), lambda n: _padded(n, 6, 3, 7)


def g_masking_concat_then_lstm(k: Any) -> Any:
    """The smallest graph found where Keras's model.layers order (so get_weights order)
    depends on the mask ops Keras records in the graph (Any, LogicalOr, ... from
    compute_mask): Keras orders GRU before SimpleRNN."""
    i = k.Input((6, 3))
    m = k.layers.Masking()(i)
    a = k.layers.GRU(3, return_sequences=True)(m)
    b = k.layers.SimpleRNN(2, return_sequences=True)(i)
    return k.Model(i, k.layers.LSTM(2)(k.layers.Concatenate()([b, a]))), \
        lambda n: _padded(n, 6, 3, 14)


def g_masking_concat_same_shapes(k: Any) -> Any:
    """As above with two GRU(3): the weight shapes agree, so loading Keras's
    get_weights() list into the rnnlens model silently swaps the two GRUs' weights."""
    i = k.Input((6, 3))
    m = k.layers.Masking()(i)
    a = k.layers.GRU(3, return_sequences=True)(m)
    b = k.layers.GRU(3, return_sequences=True)(i)
    return k.Model(i, k.layers.LSTM(2)(k.layers.Concatenate()([b, a]))), \
        lambda n: _padded(n, 6, 3, 19)


def g_stacked_cells(k: Any) -> Any:
    """Functional ``RNN([LSTMCell, GRUCell, SimpleRNNCell], return_state=True)``: Keras's
    symbolic result is ``(out, [h1, c1], h2, h3)`` (one-state cells: bare tensors), and the
    model returns that structure."""
    i = k.Input((5, 3))
    m = k.layers.Masking(0.0)(i)
    o = k.layers.RNN([k.layers.LSTMCell(4), k.layers.GRUCell(3), k.layers.SimpleRNNCell(2)],
                     return_sequences=True, return_state=True)(m)
    return k.Model(i, o), lambda n: _padded(n, 5, 3, 8)


def g_stacked_cells_unpacked(k: Any) -> Any:
    """The same, unpacked the Keras way and returned flat (numbers only differ if wrong)."""
    i = k.Input((5, 3))
    o, s1, *rest = k.layers.RNN([k.layers.LSTMCell(4), k.layers.GRUCell(3),
                                 k.layers.SimpleRNNCell(2)], return_state=True)(i)
    rest = [r[0] if isinstance(r, (list, tuple)) else r for r in rest]
    return k.Model(i, [o, *s1, *rest]), lambda n: data((n, 5, 3), 15)


def g_user_cell(k: Any) -> Any:
    i = k.Input((5, 3))
    minimal = keras_minimal_cell(k, 3) if k is not rnnlens else MinimalRNNCell(3)
    s = k.layers.RNN(minimal, return_sequences=True)(i)
    o = k.layers.RNN([k.layers.GRUCell(2), k.layers.LSTMCell(2)])(s)
    return k.Model(i, o), lambda n: data((n, 5, 3), 9)


def g_rnn_lstm_cell_bidir(k: Any) -> Any:
    i = k.Input((5, 2))
    b = k.layers.Bidirectional(k.layers.RNN(k.layers.LSTMCell(3), return_sequences=True),
                               merge_mode="ave")(i)
    return k.Model(i, k.layers.SimpleRNN(2)(b)), lambda n: data((n, 5, 2), 10)


def g_sequential_family(k: Any) -> Any:
    m = k.Sequential([k.Input((6,), dtype="int32"), k.layers.Embedding(10, 4, mask_zero=True),
                      k.layers.Bidirectional(k.layers.GRU(3, return_sequences=True)),
                      k.layers.SimpleRNN(3, return_sequences=True),
                      k.layers.TimeDistributed(k.layers.Dense(2))])
    return m, lambda n: _ids(n, 6, 10, 11)


def g_bidir_none_output(k: Any) -> Any:
    """Bidirectional(merge_mode=None) as the model output: Keras returns the tuple
    ``(y, y_rev)`` from predict and model(x)."""
    i = k.Input((5, 3))
    return k.Model(i, k.layers.Bidirectional(k.layers.GRU(2, return_sequences=True),
                                             merge_mode=None)(i)), lambda n: data((n, 5, 3), 16)


def g_bidir_mask_input(k: Any) -> Any:
    i = k.Input((5, 3))
    m = k.Input((5,), dtype="bool")
    o = k.layers.Bidirectional(k.layers.SimpleRNN(2, return_sequences=True))(i, mask=m)
    return k.Model([i, m], k.layers.GRU(2)(o)), \
        lambda n: [data((n, 5, 3), 17), mask_rows(n, 5)]


def g_masking_value(k: Any) -> Any:
    """Masking(mask_value=-1.0): a step is padding only if every feature is -1."""
    def make_x(n: int) -> np.ndarray:
        x = data((n, 6, 3), 18)
        x = np.where(mask_rows(n, 6)[:, :, None], x, -1.0).astype(np.float32)
        x[1, 0, 0] = -1.0                                  # one feature only: not padding
        return x

    i = k.Input((6, 3))
    y = k.layers.Masking(mask_value=-1.0)(i)
    y = k.layers.GRU(3, reset_after=False, return_sequences=True, go_backwards=True)(y)
    return k.Model(i, k.layers.SimpleRNN(2, return_state=True)(y)), make_x


GRAPHS = [g_embedding_bidir_td_gru, g_embedding_bidir_sum_gru_last, g_embedding_bidir_none,
          g_masking_stacked_lstm_states, g_masking_concat, g_masking_dense,
          g_masking_bidir_states_decoder, g_masking_concat_then_lstm,
          g_masking_concat_same_shapes, g_stacked_cells,
          g_stacked_cells_unpacked, g_user_cell, g_rnn_lstm_cell_bidir, g_sequential_family,
          g_bidir_none_output, g_bidir_mask_input, g_masking_value]


def build_both(K: Any, graph: Callable) -> tuple[Any, Any, Callable]:
    """The graph in Keras and in rnnlens, both right after clear_session, so layers that
    hold weights get the same names in both (Keras's mask ops only take op names)."""
    K.backend.clear_session()
    km, make_x = graph(K)
    rnnlens.utils.clear_session()
    rm, _ = graph(rnnlens)
    return km, rm, make_x


@pytest.mark.parametrize("graph", GRAPHS, ids=[g.__name__[2:] for g in GRAPHS])
def test_graph_layers_and_weight_order(K: Any, graph: Callable) -> None:
    """model.layers in Keras's order (so model.get_weights() order and shapes are
    Keras's, and keras_model.get_weights() can be loaded), count_params."""
    km, rm, make_x = build_both(K, graph)
    assert [type(layer).__name__ for layer in rm.layers] == \
        [type(layer).__name__ for layer in km.layers]
    assert [layer.name for layer in rm.layers if layer.weights] == \
        [layer.name for layer in km.layers if layer.weights]
    assert shapes_of(rm) == shapes_of(km)
    assert rm.count_params() == km.count_params()
    # and so Keras's weight list, loaded as a whole, gives Keras's numbers
    w = rand_weights(shapes_of(km), 3)
    km.set_weights(w)
    rm.set_weights(w)
    x = make_x(4)
    assert_close(leaves(rm(x)), leaves(np_out(km(x))), atol=1e-5,
                 name="model(x) after set_weights(keras_model.get_weights())")


@pytest.mark.parametrize("graph", GRAPHS, ids=[g.__name__[2:] for g in GRAPHS])
def test_graph(K: Any, parity: Callable, graph: Callable) -> None:
    """Same description in both libraries, weights set layer by layer (by name, so the
    numbers are checked even where the layer order differs), predict with a batch_size
    that splits the data (5 + 5), and model(x): the same numbers in the same structure."""
    km, rm, make_x = build_both(K, graph)
    for n, k_layer in enumerate(km.layers):
        if k_layer.weights:
            same_weights(k_layer, rm.get_layer(k_layer.name), 31 + n)
    x = make_x(10)
    k_pred = km.predict(x, batch_size=5, verbose=0)     # 2 equal batches: one TF trace
    r_pred = rm.predict(x, batch_size=5)
    compare(parity, r_pred, k_pred, "predict")
    compare(parity, rm(x), km(x), "model(x)")


def test_eager_mask_chain(K: Any, parity: Callable) -> None:
    """Eager calls pass masks along as ``x._keras_mask``: Embedding(mask_zero) ->
    Bidirectional(LSTM, return_sequences) -> TimeDistributed(Dense) -> GRU, and
    Masking -> Dense -> SimpleRNN, layer by layer."""
    def chain(k: Any) -> list:
        return [k.layers.Embedding(11, 4, mask_zero=True),
                k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True)),
                k.layers.TimeDistributed(k.layers.Dense(5, activation="tanh")),
                k.layers.GRU(2, return_sequences=True, return_state=True)]

    ids = _ids(8, 7, 11, 12)
    k_layers, r_layers = chain(K), chain(rnnlens)
    kx, rx = ids, ids
    for n, (kl, rl) in enumerate(zip(k_layers, r_layers)):
        ky = kl(kx)
        if n == 0:
            rl.build(ids.shape)
        else:
            rl(rx)                                     # build on the same input
        same_weights(kl, rl, 70 + n)
        ky, ry = kl(kx), rl(rx)
        compare(parity, ry, ky, f"eager layer {n} ({type(rl).__name__})")
        kx, rx = ky, ry
    x = _padded(8, 6, 3, 13)
    mk, mr = K.layers.Masking(0.0), rnnlens.layers.Masking(0.0)
    dk, dr = K.layers.Dense(4), rnnlens.layers.Dense(4)
    sk = K.layers.SimpleRNN(3, return_sequences=True)
    sr = rnnlens.layers.SimpleRNN(3, return_sequences=True)
    dk.build((None, 6, 3))
    dr.build((None, 6, 3))
    sk.build((None, 6, 4))
    sr.build((None, 6, 4))
    same_weights(dk, dr, 80)
    same_weights(sk, sr, 81)
    compare(parity, sr(dr(mr(x))), sk(dk(mk(x))), "Masking -> Dense -> SimpleRNN (eager)")


@pytest.mark.parametrize("cls", ["GRU", "SimpleRNN"])
def test_default_initial_weights_shapes_and_bias(K: Any, parity: Callable, cls: str) -> None:
    """Deterministic parts of the default weights equal Keras's: shapes and zero biases
    (GRU's (2, 3u) for reset_after=True, (3u,) for False)."""
    for extra in ([{}, {"reset_after": False}] if cls == "GRU" else [{}]):
        kl = getattr(K.layers, cls)(3, **extra)
        rl = getattr(rnnlens.layers, cls)(3, **extra)
        kl.build((None, 4, 2))
        rl.build((None, 4, 2))
        assert shapes_of(rl) == shapes_of(kl)
        parity(rl.get_weights()[2], np.asarray(kl.get_weights()[2]), name="bias", atol=0.0)
