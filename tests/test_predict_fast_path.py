"""``predict``'s lean path, 0-d outputs, the one-thread QR and the streaming step's checks.

* ``Model.predict`` on arrays that fit one batch, silent and without callbacks, skips the
  data adapter, the epoch iterator and the callback list: it must return what the full
  loop returns (and what Keras returns), raise the same errors, and hand out fresh arrays.
* A model whose output is 0-d (``ops.mean(x)``): Keras returns a NumPy scalar for one
  batch and stacks the batches' scalars otherwise.
* ``cells._kernels.one_blas_thread`` runs ``Orthogonal``'s QR on one OpenBLAS thread and
  restores the count.
* ``layer.step`` caches its checked input shape and takes the states it returned as they
  are; every bad input still gets its error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens as rn
from oracle import assert_close, keras_available
from rnnlens import callbacks as C
from rnnlens import ops
from rnnlens.cells import _kernels


@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; live parity "
                    "tests skipped")
    import keras  # noqa: PLC0415

    return keras


def _tutorial(lib: Any) -> Any:
    inputs = lib.Input((3, 1))
    return lib.Model(inputs, lib.layers.LSTM(1)(inputs))


def _two_in_two_out(lib: Any) -> Any:
    a, b = lib.Input((4, 2), name="a"), lib.Input((3,), name="b")
    h = lib.layers.GRU(5)(a)
    joined = lib.layers.Concatenate()([h, b])
    return lib.Model([a, b], {"y": lib.layers.Dense(2, name="y")(joined),
                              "z": lib.layers.Dense(1, name="z")(h)})


def _slow(model: Any, x: Any, **kw: Any) -> Any:
    """The full loop (a callback list forces it)."""
    return model.predict(x, callbacks=[C.Callback()], verbose=0, **kw)


# ---------------------------------------------------------------------------- lean path
@pytest.mark.parametrize("n, batch_size", [(1, None), (5, None), (32, None), (3, 3), (7, 4),
                                           (40, None)])
def test_tutorial_predict_matches_keras_and_full_loop(K: Any, n: int, batch_size: Any) -> None:
    model, k_model = _tutorial(rn), _tutorial(K)
    k_model.set_weights(model.get_weights())
    x = np.random.default_rng(n).uniform(-1, 1, (n, 3, 1)).astype(np.float32)
    got = model.predict(x, batch_size=batch_size, verbose=0)
    assert type(got) is np.ndarray and got.shape == (n, 1) and got.dtype == np.float32
    assert_close(got, k_model.predict(x, batch_size=batch_size, verbose=0), atol=1e-6)
    np.testing.assert_array_equal(got, _slow(model, x, batch_size=batch_size))


def test_structured_outputs_and_list_inputs_match_keras(K: Any) -> None:
    model, k_model = _two_in_two_out(rn), _two_in_two_out(K)
    k_model.set_weights(model.get_weights())
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(6, 4, 2)).astype(np.float32), rng.normal(size=(6, 3)).astype(
        np.float32)]
    got, want = model.predict(x, verbose=0), k_model.predict(x, verbose=0)
    assert sorted(got) == sorted(want) == ["y", "z"]
    for key in got:
        assert got[key].shape == want[key].shape
        assert_close(got[key], want[key], atol=1e-5)
        np.testing.assert_array_equal(got[key], _slow(model, x)[key])


def test_lean_path_returns_fresh_arrays() -> None:
    inputs = rn.Input((3,))
    model = rn.Model(inputs, inputs)                       # the output is the input
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    first = model.predict(x, verbose=0)
    assert not np.shares_memory(first, x)
    second = model.predict(x + 1, verbose=0)
    np.testing.assert_array_equal(first, x)                # not overwritten by the 2nd call
    np.testing.assert_array_equal(second, x + 1)


def test_lean_path_resets_stop_predicting() -> None:
    model = _tutorial(rn)
    model.stop_predicting = True
    model.predict(np.zeros((1, 3, 1), np.float32), verbose=0)
    assert model.stop_predicting is False


def test_verbose_keeps_the_progress_bar(capsys: Any) -> None:
    model = _tutorial(rn)
    x = np.zeros((1, 3, 1), np.float32)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""
    model.predict(x, verbose=1)
    assert "1/1" in capsys.readouterr().out


def test_predict_calls_callbacks_when_given() -> None:
    seen: list = []

    class Spy(C.Callback):
        def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
            seen.append(batch)

    _tutorial(rn).predict(np.zeros((2, 3, 1), np.float32), verbose=0, callbacks=[Spy()])
    assert seen == [0]


@pytest.mark.parametrize("x, error", [
    (np.zeros((0, 3, 1), np.float32), ValueError),             # no samples
    (np.zeros((2, 4, 1), np.float32), ValueError),             # wrong time steps
    (np.zeros((2, 3), np.float32), ValueError),                # wrong rank
    (np.array([["a", "b", "c"]]), TypeError),                  # text
    ([np.zeros((1, 3, 1), np.float32)] * 2, ValueError),       # two inputs for one
])
def test_lean_path_errors(x: Any, error: type) -> None:
    with pytest.raises(error):
        _tutorial(rn).predict(x, verbose=0)


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True])
def test_bad_batch_size_is_refused(batch_size: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        _tutorial(rn).predict(np.zeros((1, 3, 1), np.float32), batch_size=batch_size,
                              verbose=0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=4),
       dtype=st.sampled_from(["float32", "float64", "int32", "bool", "U1"]))
def test_fuzz_predict_inputs(shape: list, dtype: str) -> None:
    """Any array: the model's own outputs, or a ValueError / TypeError from rnnlens."""
    model = _tutorial(rn)
    x = np.ones(shape, dtype=dtype)
    try:
        got = model.predict(x, verbose=0)
    except (ValueError, TypeError):
        return
    np.testing.assert_array_equal(got, np.asarray(model(x.astype(np.float32))))


# ---------------------------------------------------------------------------- 0-d outputs
def _scalar_model(lib: Any, extra: bool = False) -> Any:
    inputs = lib.Input((3,))
    out = lib.ops.mean(inputs)
    return lib.Model(inputs, [out, inputs * 2.0] if extra else out)


@pytest.mark.parametrize("n, batch_size", [(1, None), (5, None), (40, None), (70, 32),
                                           (5, 2)])
def test_scalar_output_matches_keras(K: Any, n: int, batch_size: Any) -> None:
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    got = _scalar_model(rn).predict(x, batch_size=batch_size, verbose=0)
    want = _scalar_model(K).predict(x, batch_size=batch_size, verbose=0)
    assert type(got) is type(want)                  # np.float32 for one batch, else ndarray
    assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.float32
    assert_close(np.asarray(got), np.asarray(want), atol=1e-5)


@pytest.mark.parametrize("n", [4, 40])
def test_scalar_output_beside_a_batched_one_matches_keras(K: Any, n: int) -> None:
    x = np.ones((n, 3), np.float32)
    got = _scalar_model(rn, extra=True).predict(x, verbose=0)
    want = _scalar_model(K, extra=True).predict(x, verbose=0)
    assert [np.shape(a) for a in got] == [np.shape(a) for a in want]
    assert type(got[0]) is type(want[0])
    for a, b in zip(got, want):
        assert_close(np.asarray(a), np.asarray(b), atol=1e-5)


def test_scalar_output_through_the_full_loop() -> None:
    x = np.arange(15, dtype=np.float32).reshape(5, 3)
    got = _scalar_model(rn).predict(x, verbose=0, callbacks=[C.Callback()])
    assert type(got) is np.float32 and got == np.float32(7.0)


def test_ragged_batch_outputs_are_a_clear_error() -> None:
    inputs = rn.Input((3,))
    model = rn.Model(inputs, ops.transpose(inputs))          # (3, B): differs per batch
    with pytest.raises(ValueError, match="ragged"):
        model.predict(np.ones((40, 3), np.float32), verbose=0)
    assert model.predict(np.ones((4, 3), np.float32), verbose=0).shape == (3, 4)


# ---------------------------------------------------------------------------- BLAS threads
def test_one_blas_thread_sets_and_restores() -> None:
    fns = _kernels._blas_thread_fns()
    if fns is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    get, put = fns
    before = get()
    put(2)
    try:
        with _kernels.one_blas_thread():
            assert get() == 1
        assert get() == 2
        with pytest.raises(RuntimeError), _kernels.one_blas_thread():
            raise RuntimeError("inside")
        assert get() == 2
    finally:
        put(before)


def test_orthogonal_is_orthonormal_and_seeded() -> None:
    init = rn.initializers.Orthogonal(gain=2.0, seed=3)
    w = init((64, 256))
    assert w.shape == (64, 256) and w.dtype == np.float32
    assert_close(w @ w.T, 4.0 * np.eye(64), atol=1e-4)
    np.testing.assert_array_equal(w, rn.initializers.Orthogonal(gain=2.0, seed=3)((64, 256)))


# ---------------------------------------------------------------------------- step checks
def _layer() -> Any:
    layer = rn.layers.LSTM(8)
    layer.build((None, None, 4))
    return layer


def test_step_checks_survive_the_cache() -> None:
    layer = _layer()
    x = np.ones((2, 4), np.float32)
    _, states = layer.step(x)
    layer.step(x, states)                                   # cached from here on
    with pytest.raises(ValueError, match="features"):
        layer.step(np.ones((2, 5), np.float32), states)
    with pytest.raises(ValueError, match="one time step"):
        layer.step(np.ones((2, 1, 4), np.float32), states)
    with pytest.raises(ValueError, match="empty batch"):
        layer.step(np.ones((0, 4), np.float32))
    with pytest.raises(ValueError, match="initial_state"):
        layer.step(x, [states[0][:1], states[1][:1]])
    with pytest.raises(ValueError, match="states"):
        layer.step(x, states[:1])
    with pytest.raises(TypeError):
        layer.step(x, [states[0].astype(str), states[1]])
    with pytest.raises(TypeError):
        layer.step(np.array([["a"] * 4] * 2), states)


def test_step_state_forms_give_the_same_numbers() -> None:
    layer = _layer()
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    _, states = layer.step(x)
    want_out, want_states = layer.step(x, states)
    for form in (tuple(states), [s.astype(np.float64) for s in states],
                 [s.tolist() for s in states]):
        out, new = layer.step(x, form)
        np.testing.assert_array_equal(out, want_out)
        for a, b in zip(new, want_states):
            np.testing.assert_array_equal(a, b)
    out, _ = layer.step(x.astype(np.float64), states)
    np.testing.assert_array_equal(out, want_out)


def test_step_sequence_matches_the_layer_call() -> None:
    layer = _layer()
    xs = np.random.default_rng(1).normal(size=(3, 6, 4)).astype(np.float32)
    states = None
    for t in range(6):
        out, states = layer.step(xs[:, t], states)
    assert_close(out, layer(xs), atol=1e-6)


def test_predict_on_batch_scalar_output_matches_keras(K: Any) -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    got = _scalar_model(rn, extra=True).predict_on_batch(x)
    want = _scalar_model(K, extra=True).predict_on_batch(x)
    assert [type(a) for a in got] == [type(a) for a in want]     # np.float32, ndarray
    for a, b in zip(got, want):
        assert_close(np.asarray(a), np.asarray(b), atol=1e-5)
