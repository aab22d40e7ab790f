"""Every user error the library promises to catch: type AND message.

Messages are matched loosely (the essential words, names and numbers), so wording can be
improved without breaking the tests, but an error that does not tell the user what is
wrong (or a bare IndexError / AttributeError / NumPy broadcast error) fails.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pytest

import rnnlens
from rnnlens.layers import LSTM, Concatenate, Dense, Input, RepeatVector, TimeDistributed
from rnnlens.models import Model, Sequential

X = np.random.default_rng(0).uniform(-1, 1, (2, 3, 4)).astype(np.float32)


def built_lstm(units: int = 2, features: int = 4, **kw: Any) -> LSTM:
    layer = LSTM(units, **kw)
    layer.build((None, 3, features))
    return layer


def simple_model(units: int = 2) -> Model:
    i = Input((3, 4))
    return Model(i, LSTM(units)(i))


# ---------------------------------------------------------------------------- rank
@pytest.mark.parametrize("shape", [(2, 3), (3,), ()], ids=["2d", "1d", "0d"])
def test_input_without_time_axis(shape: tuple) -> None:
    with pytest.raises(ValueError, match=rf"expected ndim=3.*found ndim={len(shape)}"):
        LSTM(2)(np.zeros(shape, np.float32))


def test_2d_input_message_tells_how_to_fix() -> None:
    with pytest.raises(ValueError, match=r"(?s)Full shape received: \(2, 3\).*reshape"):
        LSTM(2)(np.zeros((2, 3), np.float32))


def test_4d_input() -> None:
    with pytest.raises(ValueError, match=r"(?s)expected ndim=3.*found ndim=4.*\(2, 3, 4, 5\)"):
        LSTM(2)(np.zeros((2, 3, 4, 5), np.float32))


def test_2d_input_from_stacked_lstm_names_the_layer() -> None:
    """Stacking without return_sequences: the message names the upstream layer and says
    to set return_sequences=True on it."""
    i = Input((3, 4))
    enc = LSTM(3, name="encoder_lstm")(i)
    with pytest.raises(ValueError, match=r"(?s)ndim=2.*\(None, 3\).*return_sequences=True"
                                         r" on 'encoder_lstm'"):
        LSTM(2, name="decoder_lstm")(enc)


def test_2d_input_in_sequential_stack_names_the_layer() -> None:
    with pytest.raises(ValueError, match=r"return_sequences=True on 'first'"):
        Sequential([Input((3, 4)), LSTM(3, name="first"), LSTM(2)])
    lazy = Sequential([LSTM(3, name="first_lazy"), LSTM(2)])
    with pytest.raises(ValueError, match=r"return_sequences=True on 'first_lazy'"):
        lazy.predict(X)


def test_2d_symbolic_input_not_from_lstm() -> None:
    with pytest.raises(ValueError, match=r"expected ndim=3.*found ndim=2.*\(None, 3\)"):
        LSTM(2)(Input((3,)))


def test_time_distributed_after_last_step_lstm() -> None:
    i = Input((3, 4))
    with pytest.raises(ValueError, match=r"(?s)at least 3 dimensions.*return_sequences=True"):
        TimeDistributed(Dense(2))(LSTM(3)(i))


def test_repeat_vector_needs_2d() -> None:
    with pytest.raises(ValueError, match=r"RepeatVector.*2-D"):
        RepeatVector(3)(Input((3, 4)))


# ---------------------------------------------------------------------------- features
def test_feature_size_differs_from_build_eager() -> None:
    layer = built_lstm(features=4)
    with pytest.raises(ValueError, match=r"(?s)built for inputs with 4 features.*\(2, 3, 5\)"):
        layer(np.zeros((2, 3, 5), np.float32))


def test_feature_size_differs_from_first_call() -> None:
    layer = LSTM(2)
    layer(X)
    with pytest.raises(ValueError, match=r"4 features"):
        layer(np.zeros((2, 3, 6), np.float32))


def test_feature_size_differs_in_functional_reuse() -> None:
    layer = LSTM(2)
    layer(Input((3, 4)))
    with pytest.raises(ValueError, match=r"4 features.*\(None, 3, 7\)"):
        layer(Input((3, 7)))


def test_unknown_feature_size() -> None:
    with pytest.raises(ValueError, match=r"features"):
        LSTM(2)(Input((3, None)))


def test_zero_timesteps() -> None:
    with pytest.raises(ValueError, match=r"0 time steps"):
        LSTM(2)(np.zeros((2, 0, 4), np.float32))


def test_empty_batch_is_a_clear_error_or_empty_result() -> None:
    """A batch of 0 samples must not leak NumPy's reshape error; either an empty result of
    the right shape or a ValueError that names the layer is fine."""
    layer = built_lstm()
    try:
        out = layer(np.zeros((0, 3, 4), np.float32))
    except ValueError as err:
        assert layer.name in str(err) and "reshape" not in str(err), str(err)
    else:
        assert out.shape == (0, 2)


def test_predict_on_empty_input_is_a_clear_error_or_empty_result() -> None:
    model = simple_model()
    try:
        out = model.predict(np.zeros((0, 3, 4), np.float32))
    except ValueError as err:
        assert "reshape" not in str(err), str(err)
    else:
        assert out.shape == (0, 2)


# ---------------------------------------------------------------------------- states
@pytest.mark.parametrize("state", [
    pytest.param(lambda: np.zeros((2, 2), np.float32), id="one-tensor"),
    pytest.param(lambda: [np.zeros((2, 2), np.float32)], id="list-of-one"),
    pytest.param(lambda: [np.zeros((2, 2), np.float32)] * 3, id="three"),
    pytest.param(lambda: np.zeros((2, 2, 2), np.float32), id="stacked-array"),
])
def test_wrong_number_of_initial_states(state: Callable) -> None:
    with pytest.raises(ValueError, match=r"(?s)expects 2 states.*\[h, c\].*received"):
        built_lstm()(X, initial_state=state())


@pytest.mark.parametrize("shapes,bad", [
    ([(2, 3), (2, 2)], r"initial_state\[0\] of shape \(2, 3\).*\(2, 2\)"),
    ([(2, 2), (3, 2)], r"initial_state\[1\] of shape \(3, 2\).*\(2, 2\)"),
    ([(2,), (2,)], r"initial_state\[0\] of shape \(2,\)"),
    ([(2, 2, 1), (2, 2)], r"initial_state\[0\] of shape \(2, 2, 1\)"),
], ids=["units", "batch", "1d", "3d"])
def test_initial_state_of_wrong_shape(shapes: list, bad: str) -> None:
    states = [np.zeros(s, np.float32) for s in shapes]
    with pytest.raises(ValueError, match=bad):
        built_lstm()(X, initial_state=states)


def test_initial_state_not_numeric() -> None:
    with pytest.raises(TypeError, match=r"initial_state\[0\].*dtype"):
        built_lstm()(X, initial_state=[np.full((2, 2), "a"), np.zeros((2, 2))])
    with pytest.raises(TypeError, match=r"initial_state"):
        built_lstm()(X, initial_state=[None, None])


def test_symbolic_initial_state_wrong_count_fails_by_predict() -> None:
    """A graph whose decoder gets one state: caught at the latest when run, as ValueError."""
    i = Input((3, 4))
    h = LSTM(2)(i)
    with pytest.raises(ValueError, match=r"expects 2 states"):
        model = Model(i, LSTM(2)(i, initial_state=[h]))
        model.predict(X)


def test_symbolic_initial_state_wrong_units_fails_by_predict() -> None:
    i = Input((3, 4))
    _, h, c = LSTM(3, return_state=True)(i)
    with pytest.raises(ValueError, match=r"initial_state\[0\] of shape"):
        model = Model(i, LSTM(2)(i, initial_state=[h, c]))
        model.predict(X)


# ---------------------------------------------------------------------------- units & args
@pytest.mark.parametrize("units", [0, -1, -5])
def test_units_not_positive(units: int) -> None:
    with pytest.raises(ValueError, match=rf"invalid value for argument `units`, expected a "
                                         rf"positive integer, got {units}"):
        LSTM(units)


@pytest.mark.parametrize("units", [2.5, "2", None, True, [2]], ids=repr)
def test_units_not_int(units: Any) -> None:
    with pytest.raises((ValueError, TypeError), match=r"units"):
        LSTM(units)


def test_dense_units_checked_too() -> None:
    with pytest.raises(ValueError, match=r"units"):
        Dense(0)


def test_unknown_activation() -> None:
    with pytest.raises(ValueError, match=r"activation.*'nope'"):
        LSTM(2, activation="nope")
    with pytest.raises(ValueError, match=r"activation.*'nope'"):
        LSTM(2, recurrent_activation="nope")


def test_unknown_initializer() -> None:
    with pytest.raises(ValueError, match=r"initializer.*'nope'"):
        LSTM(2, kernel_initializer="nope")


def test_unknown_keyword() -> None:
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to LSTM: "
                                         r"\{'time_major': True\}"):
        LSTM(2, time_major=True)


def test_use_cudnn_true() -> None:
    with pytest.raises(ValueError, match=r"use_cudnn"):
        LSTM(2, use_cudnn=True)


def test_bad_dropout_rate_type() -> None:
    with pytest.raises(TypeError, match=r"dropout"):
        LSTM(2, dropout="x")


# ---------------------------------------------------------------------------- stateful
def test_stateful_without_fixed_batch_functional() -> None:
    with pytest.raises(ValueError, match=r"(?s)stateful=True.*batch size.*static"):
        LSTM(2, stateful=True)(Input((3, 4)))


def test_stateful_without_fixed_batch_sequential() -> None:
    with pytest.raises(ValueError, match=r"(?s)stateful=True.*batch"):
        Sequential([Input((3, 4)), LSTM(2, stateful=True)])


def test_stateful_eager_batch_change() -> None:
    layer = LSTM(2, stateful=True)
    layer(np.zeros((4, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r"(?s)Expected batch size: 4.*Received batch size: 2"):
        layer(np.zeros((2, 3, 2), np.float32))


def test_stateful_model_call_batch_change() -> None:
    i = Input((3, 2), batch_size=4)
    model = Model(i, LSTM(2, stateful=True)(i))
    with pytest.raises(ValueError, match=r"(?s)Expected batch size: 4.*Received batch size: 2"):
        model(np.zeros((2, 3, 2), np.float32))


def test_stateful_predict_default_batch_size() -> None:
    """4 rows with predict's default batch_size 32 on a batch-2 stateful model."""
    i = Input((3, 2), batch_size=2)
    model = Model(i, LSTM(2, stateful=True)(i))
    with pytest.raises(ValueError, match=r"(?s)batch size.*2.*4"):
        model.predict(np.zeros((4, 3, 2), np.float32))


def test_stateful_predict_partial_last_batch() -> None:
    """Keras silently broadcasts a 1-row last batch against the (2, u) state and returns 4
    rows for 3 inputs (findings c); rnnlens must raise a clear error instead."""
    i = Input((3, 2), batch_size=2)
    model = Model(i, LSTM(2, stateful=True)(i))
    with pytest.raises(ValueError, match=r"(?s)Expected batch size: 2.*Received batch size: 1"):
        model.predict(np.zeros((3, 3, 2), np.float32), batch_size=2)


def test_stateful_initial_state_wrong_batch() -> None:
    layer = LSTM(2, stateful=True)
    layer(np.zeros((4, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r"initial_state\[0\] of shape \(3, 2\)"):
        layer(np.zeros((4, 3, 2), np.float32), initial_state=[np.zeros((3, 2))] * 2)


def test_reset_state_with_wrong_states() -> None:
    layer = LSTM(2, stateful=True)
    layer(np.zeros((4, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r"expects 2 states"):
        layer.reset_state([np.zeros((4, 2))])


# ---------------------------------------------------------------------------- weights
def test_layer_set_weights_wrong_count() -> None:
    layer = built_lstm()
    with pytest.raises(ValueError, match=r"(?s)expects 3 weights.*kernel \(4, 8\).*"
                                         r"recurrent_kernel \(2, 8\).*bias \(8,\).*received 2"):
        layer.set_weights(layer.get_weights()[:2])


def test_layer_set_weights_wrong_count_no_bias() -> None:
    layer = built_lstm(use_bias=False)
    with pytest.raises(ValueError, match=r"expects 2 weights.*received 3"):
        layer.set_weights([np.zeros((4, 8)), np.zeros((2, 8)), np.zeros(8)])


@pytest.mark.parametrize("index,shape,name", [(0, (5, 8), "kernel"),
                                              (1, (2, 4), "recurrent_kernel"),
                                              (2, (4, 8), "bias"), (2, (9,), "bias")])
def test_layer_set_weights_wrong_shape(index: int, shape: tuple, name: str) -> None:
    layer = built_lstm()
    w = layer.get_weights()
    expected = w[index].shape
    w[index] = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match=rf"'{name}' has shape {re.escape(str(expected))}.*"
                                         rf"{re.escape(str(shape))}"):
        layer.set_weights(w)


def test_failed_set_weights_changes_nothing() -> None:
    layer = built_lstm()
    before = layer.get_weights()
    bad = [np.ones_like(before[0]), np.ones((3, 3)), np.ones_like(before[2])]
    with pytest.raises(ValueError):
        layer.set_weights(bad)
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_set_weights_on_unbuilt_layer() -> None:
    with pytest.raises(ValueError, match=r"(?s)no weights yet.*[Bb]uild"):
        LSTM(2).set_weights([np.zeros((4, 8)), np.zeros((2, 8)), np.zeros(8)])


def test_set_weights_not_numeric() -> None:
    layer = built_lstm()
    w = layer.get_weights()
    w[0] = np.full((4, 8), "x")
    with pytest.raises((ValueError, TypeError)):
        layer.set_weights(w)


def test_model_set_weights_wrong_count() -> None:
    model = simple_model()
    with pytest.raises(ValueError, match=r"3 weight arrays.*received 2"):
        model.set_weights(model.get_weights()[:2])
    with pytest.raises(ValueError, match=r"3 weight arrays.*received 4"):
        model.set_weights(model.get_weights() + [np.zeros(1)])


def test_model_set_weights_wrong_shape() -> None:
    model = simple_model()
    w = model.get_weights()
    w[0] = np.zeros((5, 8), np.float32)
    with pytest.raises(ValueError, match=r"'kernel' has shape \(4, 8\).*\(5, 8\)"):
        model.set_weights(w)


def test_dense_set_weights_wrong_shape() -> None:
    d = Dense(3)
    d.build((None, 4))
    with pytest.raises(ValueError, match=r"kernel.*\(4, 3\).*\(3, 4\)"):
        d.set_weights([np.zeros((3, 4)), np.zeros(3)])
    with pytest.raises(ValueError, match=r"expects 2 weights.*received 1"):
        d.set_weights([np.zeros((4, 3))])


# ---------------------------------------------------------------------------- model inputs
@pytest.mark.parametrize("shape,extra", [
    ((2, 3, 5), r"\(2, 3, 5\)"), ((2, 6, 4), r"\(2, 6, 4\)"), ((2, 3), r"\(2, 3\)"),
    ((2, 3, 4, 1), r"\(2, 3, 4, 1\)"), ((3, 4), r"batch axis is missing"),
], ids=["features", "timesteps", "2d", "4d", "single-sample"])
def test_predict_input_shape_mismatch(shape: tuple, extra: str) -> None:
    model = simple_model()
    with pytest.raises(ValueError, match=rf"(?s)expects arrays of shape \(None, 3, 4\).*{extra}"):
        model.predict(np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match=r"\(None, 3, 4\)"):
        model(np.zeros(shape, np.float32))


def test_predict_missing_feature_axis_hint() -> None:
    i = Input((3, 1))
    model = Model(i, LSTM(1)(i))
    with pytest.raises(ValueError, match=r"features axis is missing.*reshape"):
        model.predict(np.zeros((2, 3), np.float32))


def test_predict_wrong_number_of_inputs() -> None:
    model = simple_model()
    with pytest.raises(ValueError, match=r"expects 1 input.*received 2"):
        model.predict([X, X])
    a, b = Input((3, 4)), Input((5, 2))
    two = Model([a, b], Concatenate()([LSTM(2)(a), LSTM(2)(b)]))
    with pytest.raises(ValueError, match=r"expects 2 input.*received 1"):
        two.predict(X)
    with pytest.raises(ValueError, match=r"expects 2 input.*received 3"):
        two.predict([X, X, X])


def test_predict_inputs_with_different_batch_sizes() -> None:
    a, b = Input((3, 4)), Input((5, 2))
    two = Model([a, b], Concatenate()([LSTM(2)(a), LSTM(2)(b)]))
    with pytest.raises(ValueError, match=r"different batch sizes"):
        two.predict([X, np.zeros((3, 5, 2), np.float32)])


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "4", True])
def test_predict_bad_batch_size(batch_size: Any) -> None:
    with pytest.raises(ValueError, match=r"batch_size"):
        simple_model().predict(X, batch_size=batch_size)


def test_model_outputs_not_tensors() -> None:
    i = Input((3, 4))
    with pytest.raises(TypeError, match=r"outputs"):
        Model(i, np.zeros(3))
    with pytest.raises(TypeError, match=r"inputs"):
        Model(np.zeros(3), LSTM(2)(i))


def test_graph_disconnected() -> None:
    a, b = Input((3, 4)), Input((3, 4))
    out = Concatenate()([LSTM(2)(a), LSTM(2)(b)])
    with pytest.raises(ValueError, match=r"(?i)disconnected"):
        Model(a, out)


def test_unpacking_a_single_output() -> None:
    i = Input((3, 4))
    with pytest.raises(TypeError, match=r"return_state=True"):
        _, h, c = LSTM(2)(i)


def test_concatenate_mismatched_shapes() -> None:
    i = Input((3, 4))
    with pytest.raises(ValueError, match=r"different ranks"):
        Concatenate()([LSTM(2, return_sequences=True)(i), LSTM(2)(i)])
    with pytest.raises(ValueError, match=r"matching shapes"):
        Concatenate(axis=1)([LSTM(2, return_sequences=True)(i),
                             LSTM(3, return_sequences=True)(i)])


def test_get_layer_unknown() -> None:
    model = simple_model()
    with pytest.raises(ValueError, match=r"No such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match=r"index 7"):
        model.get_layer(index=7)


def test_input_bad_shape() -> None:
    with pytest.raises(ValueError, match=r"shape"):
        Input((3, -1))
    with pytest.raises(ValueError, match=r"batch_size"):
        Input((3, 4), batch_size=0)


# ---------------------------------------------------------------------------- masks
@pytest.mark.parametrize("shape", [(2, 4), (3, 3), (2,), (2, 3, 2), (3,)])
def test_mask_of_wrong_shape(shape: tuple) -> None:
    with pytest.raises(ValueError, match=rf"mask of shape {re.escape(str(shape))}"):
        built_lstm()(X, mask=np.ones(shape, bool))


def test_mask_not_numeric() -> None:
    with pytest.raises(TypeError, match=r"mask.*dtype"):
        built_lstm()(X, mask=np.full((2, 3), "y"))
    with pytest.raises(TypeError, match=r"mask"):
        built_lstm()(X, mask=np.array([[None] * 3] * 2, dtype=object))


# ---------------------------------------------------------------------------- non-numeric
@pytest.mark.parametrize("bad", [
    pytest.param(lambda: np.full((2, 3, 4), "a"), id="strings"),
    pytest.param(lambda: np.array([[1, 2], [3]], dtype=object), id="object"),
    pytest.param(lambda: [[[1, 2, 3, 4]], [[1, 2, 3]]], id="ragged-list"),
    pytest.param(lambda: None, id="None"),
    pytest.param(lambda: "hello", id="str"),
    pytest.param(lambda: {"a": 1}, id="dict"),
    pytest.param(lambda: np.array([[[object()] * 4] * 3] * 2), id="objects"),
])
def test_non_numeric_input(bad: Callable) -> None:
    with pytest.raises(TypeError, match=r"(?i)numer"):
        LSTM(2)(bad())
    # a list / dict may be read as several inputs: a ValueError about the inputs is fine
    with pytest.raises((TypeError, ValueError), match=r"(?i)numer|dtype|input"):
        simple_model().predict(bad())


# ---------------------------------------------------------------------------- fuzz
BAD_NUMPY = re.compile(r"could not be broadcast|cannot reshape|index \d+ is out of bounds|"
                       r"has no attribute|not iterable|unsupported operand|object of type|"
                       r"not subscriptable|matmul: Input operand|list index out of range|"
                       r"tuple index out of range|unhashable")


def _fuzz_values(rng: np.random.Generator) -> list[Any]:
    vals: list[Any] = [None, "x", 3, 2.5, [0.5, 0.25], [X[0, 0, 0], X[0, 0, 1]], {"a": 1}, [], [[]], (), object(), np.array([]),
                       np.zeros((0, 3, 4)), np.zeros((2, 0, 4)), np.zeros((2, 3, 0)),
                       np.array([[[1, "a"]]]), [[1, 2], [3]], np.zeros((2, 3, 4), complex),
                       np.full((2, 3, 4), np.nan), [X, X], (X,), [X, None], {"x": X}]
    for _ in range(120):
        ndim = int(rng.integers(0, 6))
        shape = tuple(int(d) for d in rng.integers(0, 6, ndim))
        kind = int(rng.integers(0, 5))
        if kind == 0:
            vals.append(rng.uniform(-1, 1, shape).astype(np.float32))
        elif kind == 1:
            vals.append(rng.integers(-3, 3, shape))
        elif kind == 2:
            vals.append(np.full(shape, "s"))
        elif kind == 3:
            vals.append(rng.uniform(-1, 1, shape).tolist() if shape else 1.0)
        else:
            vals.append(np.empty(shape, dtype=object))
    return vals


def _run_fuzz() -> list[tuple[str, BaseException]]:
    """Every (target, malformed value) pair; returns the errors raised, labelled."""
    rng = np.random.default_rng(1234)
    layer = built_lstm(return_sequences=True, return_state=True)
    stateful = LSTM(2, stateful=True)
    stateful(np.zeros((2, 3, 4), np.float32))
    model = simple_model()
    i1, i2 = Input((3, 4)), Input((None, 2))
    two = Model([i1, i2], Concatenate()([LSTM(2)(i1), LSTM(3)(i2)]))
    targets: list[tuple[str, Callable]] = [
        ("LSTM()", lambda v: LSTM(2)(v)),
        ("built LSTM", lambda v: layer(v)),
        ("stateful LSTM", lambda v: stateful(v)),
        ("initial_state", lambda v: layer(X, initial_state=v)),
        ("initial_state pair", lambda v: layer(X, initial_state=[v, v])),
        ("mask", lambda v: layer(X, mask=v)),
        ("set_weights", lambda v: layer.set_weights(v)),
        ("set_weights list", lambda v: layer.set_weights([v, v, v])),
        ("predict", lambda v: model.predict(v)),
        ("model()", lambda v: model(v)),
        ("two-input predict", lambda v: two.predict(v)),
        ("two-input predict [X, v]", lambda v: two.predict([X, v])),
        ("Dense", lambda v: Dense(2)(v)),
        ("TimeDistributed", lambda v: TimeDistributed(Dense(2))(v)),
        ("RepeatVector", lambda v: RepeatVector(2)(v)),
        ("Concatenate", lambda v: Concatenate()(v)),
        ("trace", lambda v: rnnlens.trace(layer, v)),
    ]
    errors = []
    values = _fuzz_values(rng)
    for what, fn in targets:
        for v in values:
            try:
                fn(v)
            except Exception as err:  # noqa: BLE001
                errors.append((f"{what}({_short(v)})", err))
    return errors


@pytest.fixture(scope="module")
def fuzz_errors() -> list[tuple[str, BaseException]]:
    import warnings  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # complex -> float casts in the fuzz values
        return _run_fuzz()


def _report(bad: list[str]) -> str:
    uniq = list(dict.fromkeys(bad))
    return f"{len(uniq)} offending errors, e.g.:\n" + "\n".join(uniq[:25])


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"ndarray{v.shape} {v.dtype}"
    return repr(v)[:40]


def test_fuzz_only_value_or_type_errors_escape(fuzz_errors: list) -> None:
    """Malformed inputs, states, masks, weights and predict arguments: only ValueError or
    TypeError may escape (no IndexError, AttributeError, ZeroDivisionError, ...)."""
    assert len(fuzz_errors) > 500, "the fuzz loop should reject most of its values"
    bad = [f"{what}: {type(e).__name__}: {e}" for what, e in fuzz_errors
           if not isinstance(e, (ValueError, TypeError))]
    assert not bad, _report(bad)


def test_fuzz_error_messages_are_library_messages(fuzz_errors: list) -> None:
    """... and those errors carry the library's explanation, not a NumPy / Python internal
    message (broadcast, reshape, 'not iterable', index out of range)."""
    bad = [f"{what}: {type(e).__name__}: {e}" for what, e in fuzz_errors
           if isinstance(e, (ValueError, TypeError)) and BAD_NUMPY.search(str(e))]
    assert not bad, _report(bad)


@pytest.mark.parametrize("kwargs", [
    dict(units=2, activation=3), dict(units=2, kernel_initializer=3),
    dict(units=2, name=5), dict(units=2, dtype="float16"),
    dict(units=2, kernel_regularizer="l7"), dict(units=2, use_cudnn="yes"),
], ids=lambda d: ",".join(k for k in d if k != "units"))
def test_constructor_arguments(kwargs: dict) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        LSTM(**kwargs)
    assert not BAD_NUMPY.search(str(info.value))
