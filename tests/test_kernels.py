"""The compiled time loops (``rnnlens/cells/_fused.c``) against the NumPy loops, the
switch between them (``rnnlens.backend.kernel`` / ``set_kernel`` / ``RNNLENS_KERNEL``),
the fallback when the library is missing or broken, and the in-place optimizers.

Both loops compute the same equations with the same float operations in the same
order; only ``tanh`` differs (the C one is a polynomial within 2.4 ulp), so in float32
the two agree to ~1e-6 and in float64 to ~1e-12. Every comparison goes through
``oracle.assert_close``. The Keras tests at the end run on both paths.

When ``_fused.so`` is not built (no gcc on this machine), the tests of the C path are
skipped with that reason; a library that exists but does not load fails them.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import assert_close, keras_available
from rnnlens import backend, optimizers
from rnnlens.trace import _ACTIVE, Recorder
from rnnlens.backend import set_floatx
from rnnlens.cells import _kernels
from rnnlens.layers import GRU, LSTM, SimpleRNN
from rnnlens.layers.recurrent import run_pair

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
KINDS = ["lstm", "gru", "gru_ra0", "srnn"]


# ---------------------------------------------------------------------------- plumbing
@pytest.fixture
def c_kernel() -> None:
    """The C path must be there: skipped only when the library was never built."""
    if not os.path.exists(_kernels.LIBRARY):
        pytest.skip("_fused.so is not built (make install needs gcc)")
    assert _kernels.available(), _kernels._State.reason


@contextlib.contextmanager
def kernel(name: str, threads: int | None = None) -> Iterator[None]:
    """Run the block on one path; the previous choice comes back afterwards."""
    before = (_kernels._State.want, _kernels._State.threads)
    backend.set_kernel(name, threads=threads)
    try:
        yield
    finally:
        _kernels._State.want, _kernels._State.threads = before


@contextlib.contextmanager
def floatx(name: str) -> Iterator[None]:
    before = backend.floatx()
    set_floatx(name)
    try:
        yield
    finally:
        set_floatx(before)


@contextlib.contextmanager
def fresh_loader(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A loader that has not tried yet (restored afterwards, library kept loaded)."""
    saved = dict(vars(_kernels._State))
    for key, value in (("lib", None), ("tried", False), ("reason", ""), ("blas", ""),
                       ("want", None), ("threads", None)):
        monkeypatch.setattr(_kernels._State, key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if not key.startswith("__"):
                setattr(_kernels._State, key, value)


def new_layer(kind: str, units: int, **flags: Any) -> Any:
    cls = {"lstm": LSTM, "gru": GRU, "gru_ra0": GRU, "srnn": SimpleRNN}[kind]
    if kind == "gru_ra0":
        flags["reset_after"] = False
    return cls(units, **flags)


def n_states(kind: str) -> int:
    return 2 if kind == "lstm" else 1


def random_weights(layer: Any, features: int, rng: np.random.Generator,
                   batch: int | None = None) -> None:
    layer.build((batch, None, features))
    layer.set_weights([rng.uniform(-0.6, 0.6, s).astype(backend.floatx())
                       for s in layer.weight_shapes()])


def forward_backward(layer: Any, x: np.ndarray, states: list | None, mask: Any,
                     rng_seed: int) -> list[np.ndarray]:
    """Outputs, then every gradient of a random linear loss of them (flat list)."""
    out, cache = layer.forward(x, initial_state=states, mask=mask, training=True)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    rng = np.random.default_rng(rng_seed)
    d_out = [rng.standard_normal(np.shape(o)).astype(backend.floatx()) for o in outs]
    d_x, extra, grads = layer.backward(cache, tuple(d_out) if len(outs) > 1 else d_out[0])
    return [*outs, d_x, *extra.get("initial_state", []), *grads]


def both_paths(make: Any) -> tuple[Any, Any]:
    """``make()`` on the NumPy path, then on the C path."""
    with kernel("numpy"):
        ref = make()
    with kernel("c"):
        got = make()
    return ref, got


# ---------------------------------------------------------------------------- the switch
def test_switch_reports_and_forces_the_path(c_kernel: None) -> None:
    with kernel("c"):
        assert backend.kernel() == "c"
        info = backend.kernel_info()
        assert info["kernel"] == "c" and info["reason"] is None and info["blas"]
    with kernel("numpy"):
        assert backend.kernel() == "numpy"
        assert backend.kernel_info()["reason"] == "set to numpy"


@pytest.mark.parametrize("name, threads", [("C", None), ("torch", None), ("", None),
                                           ("c", 0), ("c", -2), ("c", True), ("c", 1.5)])
def test_set_kernel_refuses_bad_arguments(name: str, threads: Any) -> None:
    with pytest.raises(ValueError, match="kernel=|threads="):
        backend.set_kernel(name, threads=threads)


def test_environment_variable_chooses(monkeypatch: pytest.MonkeyPatch, c_kernel: None) -> None:
    with fresh_loader(monkeypatch):
        monkeypatch.setenv("RNNLENS_KERNEL", "numpy")
        assert backend.kernel() == "numpy"
    with fresh_loader(monkeypatch):
        monkeypatch.setenv("RNNLENS_KERNEL", "c")
        assert backend.kernel() == "c"
    with fresh_loader(monkeypatch):
        monkeypatch.setenv("RNNLENS_KERNEL", "fortran")
        with pytest.warns(RuntimeWarning, match="RNNLENS_KERNEL"):
            assert backend.kernel() == "c"


def _missing(tmp_path: Any) -> Any:
    return tmp_path / "_fused.so"


def _broken(tmp_path: Any) -> Any:
    path = tmp_path / "_fused.so"
    path.write_text("not a shared library")
    return path


@pytest.mark.parametrize("library, why", [(_missing, "not built"),
                                          (_broken, "could not be loaded")])
def test_fallback_without_the_library(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                      library: Any, why: str) -> None:
    """No library: the NumPy loop runs, with the same numbers; asking for C says why."""
    x = np.random.default_rng(0).uniform(-1, 1, (3, 5, 2)).astype(np.float32)
    layer = new_layer("lstm", 4, return_sequences=True)
    random_weights(layer, 2, np.random.default_rng(1))
    with fresh_loader(monkeypatch):
        monkeypatch.setattr(_kernels, "LIBRARY", str(library(tmp_path)))
        assert backend.kernel() == "numpy"
        assert why in backend.kernel_info()["reason"]
        with pytest.raises(ValueError, match=why):
            backend.set_kernel("c")
        fallback = layer(x)
    with kernel("numpy"):
        assert_close(fallback, layer(x), atol=0.0)


def test_fallback_when_no_blas_is_found(monkeypatch: pytest.MonkeyPatch, c_kernel: None) -> None:
    with fresh_loader(monkeypatch):
        monkeypatch.setattr(_kernels, "_find_blas", lambda: None)
        assert backend.kernel() == "numpy"
        assert "cblas_sgemm" in backend.kernel_info()["reason"]


def test_fallback_when_the_blas_self_test_fails(monkeypatch: pytest.MonkeyPatch,
                                                c_kernel: None) -> None:
    with fresh_loader(monkeypatch):
        monkeypatch.setattr(_kernels, "_self_test", lambda lib: False)
        assert backend.kernel() == "numpy"
        assert "self-test" in backend.kernel_info()["reason"]


# ---------------------------------------------------------------------------- C == NumPy
@st.composite
def configs(draw: Any) -> dict:
    kind = draw(st.sampled_from(KINDS))
    batch, steps = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    masked = draw(st.booleans())
    return {
        "kind": kind, "batch": batch, "steps": steps, "features": draw(st.integers(1, 4)),
        "units": draw(st.integers(1, 6)),
        "flags": {"return_sequences": draw(st.booleans()),
                  "return_state": draw(st.booleans()),
                  "go_backwards": draw(st.booleans()),
                  "use_bias": draw(st.booleans())},
        "zero_output_for_mask": masked and draw(st.booleans()),
        "mask": draw(st.lists(st.lists(st.booleans(), min_size=steps, max_size=steps),
                              min_size=batch, max_size=batch)) if masked else None,
        "initial": draw(st.booleans()),
        "threads": draw(st.sampled_from([None, 1, 2, 3])),
        "seed": draw(st.integers(0, 2**16)),
    }


def _case(cfg: dict) -> tuple[Any, np.ndarray, list | None, np.ndarray | None]:
    rng = np.random.default_rng(cfg["seed"])
    layer = new_layer(cfg["kind"], cfg["units"], **cfg["flags"])
    layer.zero_output_for_mask = cfg["zero_output_for_mask"]
    random_weights(layer, cfg["features"], rng)
    dt = backend.floatx()
    x = rng.uniform(-2, 2, (cfg["batch"], cfg["steps"], cfg["features"])).astype(dt)
    states = [rng.uniform(-1, 1, (cfg["batch"], cfg["units"])).astype(dt)
              for _ in range(n_states(cfg["kind"]))] if cfg["initial"] else None
    mask = None if cfg["mask"] is None else np.array(cfg["mask"], bool)
    return layer, x, states, mask


@SETTINGS
@given(cfg=configs())
def test_c_loop_equals_numpy_loop_float32(c_kernel: None, cfg: dict) -> None:
    """Outputs, states, input / initial-state / weight gradients, every flag and mask."""
    layer, x, states, mask = _case(cfg)
    ref = forward_backward_on("numpy", layer, x, states, mask, cfg)
    got = forward_backward_on("c", layer, x, states, mask, cfg)
    for k, (a, b) in enumerate(zip(got, ref)):
        scale = 1.0 + float(np.max(np.abs(b), initial=0.0))
        assert_close(a / scale, b / scale, atol=2e-6, name=f"{cfg['kind']} result {k}")


def forward_backward_on(path: str, layer: Any, x: np.ndarray, states: list | None,
                        mask: np.ndarray | None, cfg: dict) -> list[np.ndarray]:
    with kernel(path, threads=cfg["threads"] if path == "c" else None):
        return forward_backward(layer, x, states, mask, cfg["seed"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("masked", [False, True])
def test_c_loop_equals_numpy_loop_float64(c_kernel: None, kind: str, masked: bool) -> None:
    """In float64 the two paths agree to rounding (tanh is the C library's)."""
    cfg = {"kind": kind, "batch": 7, "steps": 9, "features": 3, "units": 5,
           "flags": {"return_sequences": True, "return_state": True, "go_backwards": masked,
                     "use_bias": True},
           "zero_output_for_mask": False, "initial": True, "threads": 2, "seed": 3,
           "mask": np.random.default_rng(4).random((7, 9)) > 0.3 if masked else None}
    with floatx("float64"):
        layer, x, states, mask = _case(cfg)
        ref = forward_backward_on("numpy", layer, x, states, mask, cfg)
        got = forward_backward_on("c", layer, x, states, mask, cfg)
    for k, (a, b) in enumerate(zip(got, ref)):
        assert a.dtype == np.float64
        assert_close(a, b, atol=1e-12, name=f"{kind} float64 result {k}")


@pytest.mark.parametrize("kind", KINDS)
def test_threads_split_the_batch_without_changing_results(c_kernel: None, kind: str) -> None:
    """37 rows over 1, 2, 5 and 37 threads (uneven chunks), with a mask."""
    rng = np.random.default_rng(5)
    layer = new_layer(kind, 6, return_sequences=True)
    random_weights(layer, 3, rng)
    x = rng.uniform(-1, 1, (37, 8, 3)).astype(np.float32)
    mask = rng.random((37, 8)) > 0.25
    results = []
    for threads in (1, 2, 5, 37):
        with kernel("c", threads=threads):
            results.append(forward_backward(layer, x, None, mask, 9))
    for other in results[1:]:                       # one-row chunks multiply with gemv
        for a, b in zip(other, results[0]):
            scale = 1.0 + float(np.max(np.abs(b)))
            assert_close(a / scale, b / scale, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_small_batches_split_the_units(c_kernel: None, kind: str) -> None:
    """3 rows, 40 units over 2 and 3 threads (slices of 16 / unaligned), with a mask,
    recorded gates and the output sequence: the same as one thread."""
    rng = np.random.default_rng(17)
    layer = new_layer(kind, 40, return_sequences=True, go_backwards=True)
    random_weights(layer, 3, rng)
    x = rng.uniform(-1, 1, (3, 6, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 0, 1], [1, 1, 1, 0, 0, 0]], bool)
    assert _kernels.threads_for(3, 40, 160, True) == (1, 0)          # default: 1 thread
    assert _kernels.threads_for(3, 40, 160, True, largest=1 << 20) == (-1, 0)  # BLAS: 1 too
    with kernel("c", threads=1):
        expected = forward_backward(layer, x, None, mask, 18)
    for threads in (2, 3):
        assert _kernels.threads_for(3, 40, 160, kind != "gru_ra0") == (1, 0)
        with kernel("c", threads=threads):
            assert _kernels.threads_for(3, 40, 160, kind != "gru_ra0") == (
                threads, int(kind != "gru_ra0"))
            got = forward_backward(layer, x, None, mask, 18)
        for a, b in zip(got, expected):
            scale = 1.0 + float(np.max(np.abs(b)))
            assert_close(a / scale, b / scale, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_trace_records_the_same_states_and_gates(c_kernel: None, kind: str) -> None:
    rng = np.random.default_rng(6)
    layer = new_layer(kind, 4, return_sequences=True)
    random_weights(layer, 2, rng)
    x = rng.uniform(-1, 1, (3, 6, 2)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], bool)

    ref, got = both_paths(lambda: rnnlens.trace(layer, x, mask=mask)[layer.name])
    assert_close(got.h, ref.h, atol=2e-6, name="h")
    assert_close(got.c, ref.c, atol=2e-6, name="c")
    assert sorted(got.gates) == sorted(ref.gates)
    for name, values in ref.gates.items():
        assert_close(got.gates[name], values, atol=2e-6, name=name)
    assert_close(got.output, ref.output, atol=2e-6, name="output")


def test_stateful_and_streaming_agree(c_kernel: None) -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 5, 3)).astype(np.float32)

    def run() -> list[np.ndarray]:
        layer = LSTM(4, stateful=True, return_sequences=True, seed=1)
        random_weights(layer, 3, np.random.default_rng(8), batch=2)
        first, second = layer(x), layer(x)
        stream = LSTM(4)
        random_weights(stream, 3, np.random.default_rng(8))
        states, outs = None, []
        for t in range(5):
            out, states = stream.step(x[:, t], states)
            outs.append(out)
        return [first, second, *layer.states, np.stack(outs, 1)]

    ref, got = both_paths(run)
    for a, b in zip(got, ref):
        assert_close(a, b, atol=2e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_non_finite_inputs_propagate_alike(c_kernel: None, kind: str) -> None:
    layer = new_layer(kind, 3, return_sequences=True)
    random_weights(layer, 2, np.random.default_rng(10))
    x = np.zeros((3, 4, 2), np.float32)
    x[0, 1, 0], x[1, 2, 1], x[2, 0, 0] = np.nan, np.inf, -np.inf
    ref, got = both_paths(lambda: layer(x))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    finite = np.isfinite(ref)
    assert_close(got[finite], ref[finite], atol=2e-6)


@pytest.mark.parametrize("build", [
    lambda: LSTM(3, activation="relu"),
    lambda: GRU(3, recurrent_activation="hard_sigmoid"),
    lambda: SimpleRNN(3, activation="relu"),
    lambda: LSTM(3, recurrent_dropout=0.5, seed=2),
], ids=["lstm-relu", "gru-hard_sigmoid", "srnn-relu", "lstm-recurrent_dropout"])
def test_other_cells_run_the_numpy_loop(c_kernel: None, monkeypatch: pytest.MonkeyPatch,
                                        build: Any) -> None:
    calls = []
    monkeypatch.setattr(_kernels, "forward", lambda *a, **k: calls.append(a))
    layer = build()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 2)).astype(np.float32)
    with kernel("c"):
        layer(x, training=True)
    assert calls == []


def test_input_dropout_draws_the_same_masks_on_both_paths(c_kernel: None) -> None:
    x = np.random.default_rng(11).uniform(-1, 1, (4, 5, 3)).astype(np.float32)

    def run() -> list[np.ndarray]:
        layer = GRU(4, dropout=0.4, seed=3, return_sequences=True)
        random_weights(layer, 3, np.random.default_rng(12))
        return forward_backward(layer, x, None, None, 13)

    ref, got = both_paths(run)
    for a, b in zip(got, ref):
        assert_close(a, b, atol=2e-6)


def test_run_pair_concurrent_equals_sequential(c_kernel: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Bidirectional's helper: the two directions at once give what one after the other
    gives, on threads (work threshold lowered) and in order."""
    rng = np.random.default_rng(14)
    fwd, bwd = LSTM(8, return_sequences=True), GRU(8, go_backwards=True, return_sequences=True)
    for layer in (fwd, bwd):
        random_weights(layer, 4, rng)
    x = rng.uniform(-1, 1, (64, 12, 4)).astype(np.float32)
    with kernel("c"):
        expected = (fwd(x), bwd(x))
        monkeypatch.setattr(_kernels, "_PAIR_MIN_WORK", 0)
        seen = []

        def spy(first: Any, second: Any, work: int) -> Any:
            seen.append(work)
            return concurrent(first, second, work)

        concurrent = _kernels.concurrently
        monkeypatch.setattr(_kernels, "concurrently", spy)
        got = run_pair((fwd, bwd), x, False, lambda: fwd(x), lambda: bwd(x))
    assert seen, "run_pair did not run the two calls concurrently"
    for a, b in zip(got, expected):
        assert_close(a, b, atol=0.0)


def test_run_pair_stays_sequential_when_order_matters(c_kernel: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kernels, "concurrently", lambda *a: pytest.fail("ran concurrently"))
    monkeypatch.setattr(_kernels, "_PAIR_MIN_WORK", 0)
    fwd, bwd, plain = LSTM(3, dropout=0.5), LSTM(3, go_backwards=True), LSTM(3)
    for layer in (fwd, bwd, plain):
        layer.build((None, None, 2))
    x = np.ones((2, 3, 2), np.float32)
    order = []
    with kernel("c"):
        run_pair((fwd, bwd), x, True, lambda: order.append(1), lambda: order.append(2))
        token = _ACTIVE.set(Recorder())
        try:
            run_pair((plain, bwd), x, False, lambda: order.append(3),
                     lambda: order.append(4))
        finally:
            _ACTIVE.reset(token)
    assert order == [1, 2, 3, 4]


# ---------------------------------------------------------------------------- optimizers
def _reference_update(name: str, config: dict, g: np.ndarray, var: np.ndarray,
                       slots: dict, step: int, lr: np.float32) -> None:
    """Keras 3.15.1's update formulas, written out of place, in float32."""
    f = np.float32
    if name == "adam":
        b1, b2 = f(config.get("beta_1", 0.9)), f(config.get("beta_2", 0.999))
        t = f(step + 1)
        alpha = lr * np.sqrt(f(1) - np.power(b2, t)) / (f(1) - np.power(b1, t))
        slots["m"] += (g - slots["m"]) * f(1 - config.get("beta_1", 0.9))
        slots["v"] += (np.square(g) - slots["v"]) * f(1 - config.get("beta_2", 0.999))
        var -= (slots["m"] * alpha) / (np.sqrt(slots["v"]) + f(1e-7))
    elif name == "sgd":
        mom = f(config["momentum"])
        slots["m"][...] = slots["m"] * mom - g * lr
        var += slots["m"] * mom - g * lr if config.get("nesterov") else slots["m"]
    else:
        rho = f(0.9)
        slots["v"][...] = rho * slots["v"] + f(1 - 0.9) * np.square(g)
        var -= (lr * g) / np.sqrt(slots["v"] + f(1e-7))


@pytest.mark.parametrize("name, config", [("adam", {}), ("adam", {"beta_1": 0.8}),
                                          ("sgd", {"momentum": 0.9}),
                                          ("sgd", {"momentum": 0.5, "nesterov": True}),
                                          ("rmsprop", {})])
def test_in_place_updates_are_bitwise_keras_order(name: str, config: dict) -> None:
    """The in-place optimizers give exactly (bit for bit) the out-of-place float32 formulas,
    and leave the caller's gradient arrays alone."""
    rng = np.random.default_rng(15)
    cls = {"adam": optimizers.Adam, "sgd": optimizers.SGD, "rmsprop": optimizers.RMSprop}[name]
    opt = cls(learning_rate=0.01, **config)
    var = rng.standard_normal((6, 5)).astype(np.float32)
    ref = var.copy()
    slots = {"m": np.zeros_like(var), "v": np.zeros_like(var)}
    for step in range(12):
        g = (rng.standard_normal(var.shape) * (step + 1)).astype(np.float32)
        before = g.copy()
        opt.apply([g], [var])
        np.testing.assert_array_equal(g, before)
        _reference_update(name, config, g, ref, slots, step, np.float32(0.01))
        np.testing.assert_array_equal(var, ref)


# ---------------------------------------------------------------------------- Keras
@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


@pytest.mark.keras
@pytest.mark.parametrize("path", ["c", "numpy"])
@pytest.mark.parametrize("kind", KINDS)
def test_keras_parity_on_both_paths(K: Any, parity: Any, path: str, kind: str) -> None:
    """A masked, go_backwards, return_sequences layer: outputs and tf.GradientTape
    gradients on both paths."""
    import tensorflow as tf  # noqa: PLC0415

    if path == "c" and not _kernels.available():
        pytest.skip(_kernels._State.reason)
    rng = np.random.default_rng(16)
    flags = {"return_sequences": True, "go_backwards": True}
    ours = new_layer(kind, 5, **flags)
    cls = {"lstm": K.layers.LSTM, "gru": K.layers.GRU, "gru_ra0": K.layers.GRU,
           "srnn": K.layers.SimpleRNN}[kind]
    theirs = cls(5, **flags, **({"reset_after": False} if kind == "gru_ra0" else {}))
    random_weights(ours, 3, rng)
    theirs.build((None, None, 3))
    theirs.set_weights(ours.get_weights())
    x = rng.uniform(-1, 1, (6, 7, 3)).astype(np.float32)
    mask = np.ones((6, 7), bool)
    mask[1, :3], mask[2, 4:], mask[3, 2:4], mask[4] = False, False, False, False
    d_out = rng.standard_normal((6, 7, 5)).astype(np.float32)
    with kernel(path):
        out, cache = ours.forward(x, mask=mask, training=True)
        d_x, _, grads = ours.backward(cache, d_out)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        kout = theirs(xt, mask=tf.constant(mask))
        loss = tf.reduce_sum(kout * d_out)
    kgrads = tape.gradient(loss, [xt, *theirs.trainable_weights])
    parity(out, np.asarray(kout), name="outputs")
    parity(d_x, np.asarray(kgrads[0]), name="d_x")
    for k, (a, b) in enumerate(zip(grads, kgrads[1:])):
        parity(a, np.asarray(b), name=f"grad {k}", atol=2e-5)
