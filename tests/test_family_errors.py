"""User errors of the recurrent family (GRU, SimpleRNN, Bidirectional, Masking /
Embedding, cells, streaming): type AND message.

As in test_errors.py, messages are matched loosely (the essential words, names and
numbers), so wording can improve, but a bare IndexError / AttributeError / NumPy
broadcast error fails.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from rnnlens.layers import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    Dense,
    Embedding,
    GRUCell,
    Input,
    LSTMCell,
    SimpleRNN,
    TimeDistributed,
)
from rnnlens.models import Model
from rnnlens.stream import Stream

X = np.random.default_rng(0).uniform(-1, 1, (2, 3, 4)).astype(np.float32)
RECURRENT = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


# ---------------------------------------------------------------------------- Bidirectional
@pytest.mark.parametrize("mode", ["max", "Concat", "", 0, "average"], ids=repr)
def test_bad_merge_mode(mode: Any) -> None:
    with pytest.raises(ValueError, match=r"(?s)Invalid merge mode.*Received: "
                                         + str(mode) + r".*concat"):
        Bidirectional(LSTM(2), merge_mode=mode)


@pytest.mark.parametrize("cls", list(RECURRENT))
def test_backward_layer_with_the_same_go_backwards(cls: str) -> None:
    layer = RECURRENT[cls]
    with pytest.raises(ValueError, match=r"different `go_backwards`.*"
                                         r"forward_layer.go_backwards False.*"
                                         r"backward_layer.go_backwards=False"):
        Bidirectional(layer(2), backward_layer=layer(2))


def test_layer_already_going_backwards() -> None:
    """As Keras: the forward copy keeps go_backwards=True, so both directions agree."""
    with pytest.raises(ValueError, match=r"different `go_backwards`.*True.*True"):
        Bidirectional(GRU(2, go_backwards=True))


@pytest.mark.parametrize("attr,fwd,bwd", [
    ("return_sequences", {}, {"return_sequences": True}),
    ("return_sequences", {"return_sequences": True}, {}),
    ("return_state", {}, {"return_state": True}),
    ("stateful", {}, {"stateful": True}),
])
@pytest.mark.parametrize("cls", list(RECURRENT))
def test_backward_layer_flags_disagree(cls: str, attr: str, fwd: dict, bwd: dict) -> None:
    layer = RECURRENT[cls]
    want, got = str(bool(fwd.get(attr))), str(bool(bwd.get(attr)))
    with pytest.raises(ValueError, match=rf'same value for attribute "{attr}", got "{want}" '
                                         rf'for forward layer and "{got}" for backward'):
        Bidirectional(layer(2, **fwd), backward_layer=layer(2, go_backwards=True, **bwd))


@pytest.mark.parametrize("make", [lambda: Dense(3), lambda: TimeDistributed(Dense(2)),
                                  lambda: Embedding(4, 2), lambda: LSTMCell(2),
                                  lambda: "LSTM", lambda: None],
                         ids=["Dense", "TimeDistributed", "Embedding", "LSTMCell", "str",
                              "None"])
def test_bidirectional_of_a_non_recurrent_layer(make: Callable) -> None:
    with pytest.raises(ValueError, match=r"Bidirectional.*recurrent layer.*Received"):
        Bidirectional(make())


def test_backward_layer_not_recurrent() -> None:
    with pytest.raises(ValueError, match=r"`backward_layer`.*recurrent layer.*Dense"):
        Bidirectional(LSTM(2), backward_layer=Dense(2))


@pytest.mark.parametrize("cls,n,expected,listing", [
    ("LSTM", 2, 4, r"h_fwd, c_fwd, h_bwd, c_bwd"),
    ("LSTM", 3, 4, r"h_fwd, c_fwd, h_bwd, c_bwd"),
    ("LSTM", 1, 4, r"h_fwd"),
    ("GRU", 1, 2, r"h_fwd, h_bwd"),
    ("GRU", 3, 2, r"h_fwd, h_bwd"),
    ("SimpleRNN", 4, 2, r"h_fwd, h_bwd"),
])
def test_bidirectional_initial_state_wrong_count(cls: str, n: int, expected: int,
                                                 listing: str) -> None:
    layer = Bidirectional(RECURRENT[cls](2), name="bi")
    states = [np.zeros((2, 2), np.float32)] * n
    with pytest.raises(ValueError, match=rf"(?s)'bi'.*expects {expected} initial states.*"
                                         rf"{listing}.*received {n}"):
        layer(X, initial_state=states)


def test_bidirectional_initial_state_wrong_count_symbolic() -> None:
    """Caught when the graph is built, not at predict time."""
    i = Input((3, 4))
    h = Input((2,))
    with pytest.raises(ValueError, match=r"expects 4 initial states.*received 2"):
        Bidirectional(LSTM(2))(i, initial_state=[h, h])


def test_bidirectional_initial_state_wrong_units() -> None:
    with pytest.raises(ValueError, match=r"initial_state\[0\] of shape \(2, 3\).*\(2, 2\)"):
        Bidirectional(GRU(2))(X, initial_state=[np.zeros((2, 3), np.float32)] * 2)


def test_bidirectional_set_weights_wrong_count() -> None:
    layer = Bidirectional(GRU(2))
    layer.build((None, 3, 4))
    with pytest.raises(ValueError, match=r"expects 6 weights \(forward 3, then backward 3\)"
                                         r", received 3"):
        layer.set_weights(layer.get_weights()[:3])


# ---------------------------------------------------------------------------- masks
@pytest.mark.parametrize("shape", [(2, 4), (3, 3), (2,), (2, 3, 2), (1, 3)])
@pytest.mark.parametrize("make", [lambda: GRU(2), lambda: SimpleRNN(2),
                                  lambda: GRU(2, reset_after=False),
                                  lambda: Bidirectional(LSTM(2)),
                                  lambda: RNN([GRUCell(2), LSTMCell(3)])],
                         ids=["GRU", "SimpleRNN", "GRU-ra0", "Bidirectional", "stacked"])
def test_mask_of_wrong_shape(make: Callable, shape: tuple) -> None:
    with pytest.raises(ValueError, match=rf"mask of shape \({shape[0]},.*expected "
                                         r"\(batch, timesteps\) = \(2, 3\)"):
        make()(X, mask=np.ones(shape, bool))


@pytest.mark.parametrize("mask", [np.array([["a", "b", "c"]] * 2),
                                  [["1", "0", "1"]] * 2,
                                  np.array([[None, 1, 1]] * 2, dtype=object),
                                  np.array([[b"x", b"y", b"z"]] * 2)],
                         ids=["str-array", "str-list", "object", "bytes"])
@pytest.mark.parametrize("make", [lambda: GRU(2), lambda: SimpleRNN(2),
                                  lambda: Bidirectional(GRU(2)),
                                  lambda: RNN([GRUCell(2)])],
                         ids=["GRU", "SimpleRNN", "Bidirectional", "stacked"])
def test_mask_not_boolean_nor_numeric(make: Callable, mask: Any) -> None:
    with pytest.raises(TypeError, match=r"mask of dtype .*expected booleans"):
        make()(X, mask=mask)


def test_step_mask_of_wrong_size() -> None:
    layer = GRU(2)
    with pytest.raises(ValueError, match=r"mask of shape \(3, 1\)"):
        layer.step(X[:, 0], mask=[True, False, True])


# ---------------------------------------------------------------------------- Embedding
@pytest.mark.parametrize("ids,bad,where,count", [
    ([[1, 2], [3, 7]], 7, r"\(1, 1\)", 1),
    ([[1, -1], [3, 2]], -1, r"\(0, 1\)", 1),
    ([[5, 0], [9, 5]], 5, r"\(0, 0\)", 3),
    ([[0, 0, 0, 0, 0, 12]], 12, r"\(0, 5\)", 1),
])
def test_embedding_id_out_of_range(ids: list, bad: int, where: str, count: int) -> None:
    layer = Embedding(5, 3, name="emb")
    with pytest.raises(ValueError, match=rf"(?s)'emb'.*token id {bad} at position {where}.*"
                                         rf"input_dim=5.*{count} id\(s\) are out of range"):
        layer(np.array(ids))


def test_embedding_id_out_of_range_in_a_model() -> None:
    i = Input((4,), dtype="int32")
    model = Model(i, GRU(2)(Embedding(6, 3, mask_zero=True, name="tokens")(i)))
    with pytest.raises(ValueError, match=r"'tokens'.*token id 6 at position \(1, 2\)"):
        model.predict(np.array([[1, 2, 3, 0], [4, 5, 6, 0]]))


@pytest.mark.parametrize("ids", [np.array([["a", "b"]]), [["1", "2"]],
                                 np.array([[None, 1]], dtype=object)],
                         ids=["str-array", "str-list", "object"])
def test_embedding_non_integer_ids(ids: Any) -> None:
    with pytest.raises(TypeError, match=r"Embedding.*expects integer token ids, received "
                                        r"dtype"):
        Embedding(5, 3)(ids)


# ---------------------------------------------------------------------------- GRU weights
@pytest.mark.parametrize("src,dst", [(False, True), (True, False)],
                         ids=["ra0-into-ra1", "ra1-into-ra0"])
@pytest.mark.parametrize("wrap", ["layer", "model", "bidirectional", "stacked"])
def test_gru_weights_of_the_other_reset_after(src: bool, dst: bool, wrap: str) -> None:
    """The message says which reset_after the given weights belong to, and how to fix it."""
    def build(reset_after: bool) -> Any:
        if wrap == "layer":
            obj = GRU(3, reset_after=reset_after)
        elif wrap == "bidirectional":
            obj = Bidirectional(GRU(3, reset_after=reset_after))
        elif wrap == "stacked":
            obj = RNN([GRUCell(3, reset_after=reset_after)])
        else:
            i = Input((3, 2))
            return Model(i, GRU(3, reset_after=reset_after)(i))
        obj.build((None, 3, 2))
        return obj

    with pytest.raises(ValueError, match=rf"(?s)has reset_after={dst}.*belongs to a GRU with "
                                         rf"reset_after={src}.*reset_after={src}"):
        build(dst).set_weights(build(src).get_weights())


def test_gru_failed_set_weights_changes_nothing() -> None:
    layer = GRU(3)
    layer.build((None, 3, 2))
    before = layer.get_weights()
    other = GRU(3, reset_after=False)
    other.build((None, 3, 2))
    with pytest.raises(ValueError):
        layer.set_weights(other.get_weights())
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- cells
class NoStateSize:
    def call(self, inputs: Any, states: Any) -> Any:
        return inputs, states


class NoCall:
    state_size = 2


class CallNotCallable:
    state_size = 2
    call = 3


@pytest.mark.parametrize("cells", [lambda: NoStateSize(), lambda: [GRUCell(2), NoStateSize()]],
                         ids=["single", "stacked"])
def test_cell_without_state_size(cells: Callable) -> None:
    with pytest.raises(ValueError, match=r"should have a `state_size` attribute.*NoStateSize"):
        RNN(cells())


@pytest.mark.parametrize("cell", [NoCall, CallNotCallable])
def test_cell_without_call(cell: type) -> None:
    with pytest.raises(ValueError, match=rf"should have a `call` method.*{cell.__name__}"):
        RNN(cell())


@pytest.mark.parametrize("cell", [NoCall, CallNotCallable])
def test_stacked_cell_without_call(cell: type) -> None:
    with pytest.raises(ValueError, match=rf"must have a `call` method.*{cell.__name__}"):
        RNN([LSTMCell(2), cell()])


@pytest.mark.parametrize("size", [0, -2, "3", 2.5, None, [2, 0]], ids=repr)
def test_cell_with_bad_state_size(size: Any) -> None:
    class Cell(NoStateSize):
        state_size = size

    with pytest.raises(ValueError, match=r"state_size=.*expected a positive integer"):
        RNN(Cell())


def test_user_cell_returning_the_wrong_number_of_states() -> None:
    class Cell:
        state_size = [2, 2]

        def call(self, inputs: Any, states: Any) -> Any:
            return states[0], [states[0]]

    with pytest.raises(ValueError, match=r"returned 1 states, but its state_size declares 2"):
        RNN(Cell())(X)


def test_user_cell_returning_a_wrong_shape() -> None:
    class Cell:
        state_size = 2

        def call(self, inputs: Any, states: Any) -> Any:
            return inputs, [inputs]            # (B, 4), not (B, 2)

    with pytest.raises(ValueError, match=r"state 0 with shape \(2, 4\), expected \(2, 2\)"):
        RNN(Cell())(X)


def test_empty_cell_list() -> None:
    with pytest.raises(ValueError, match=r"empty list of cells"):
        RNN([])


# ---------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("cls", list(RECURRENT))
def test_stream_on_a_bidirectional(cls: str) -> None:
    with pytest.raises(TypeError, match=r"(?s)Stream needs a recurrent layer.*received "
                                        r"Bidirectional.*backward half needs the end"):
        Stream(Bidirectional(RECURRENT[cls](2)))


def test_stream_on_a_non_recurrent_layer() -> None:
    with pytest.raises(TypeError, match=r"Stream needs a recurrent layer.*received Dense"):
        Stream(Dense(2))


@pytest.mark.parametrize("make", [lambda: LSTM(2), lambda: GRU(2), lambda: SimpleRNN(2),
                                  lambda: RNN([GRUCell(2), LSTMCell(3)])],
                         ids=["LSTM", "GRU", "SimpleRNN", "stacked"])
def test_step_with_a_3d_input(make: Callable) -> None:
    layer = make()
    with pytest.raises(ValueError, match=r"step takes one time step of shape \(batch, "
                                         r"features\), received shape \(2, 3, 4\).*call the "
                                         r"layer instead"):
        layer.step(X)


@pytest.mark.parametrize("shape", [(4,), ()], ids=["1d", "0d"])
def test_step_with_a_1d_input(shape: tuple) -> None:
    with pytest.raises(ValueError, match=r"step takes one time step of shape \(batch, "
                                         r"features\)"):
        GRU(2).step(np.zeros(shape, np.float32))


def test_step_with_wrong_features_after_build() -> None:
    layer = SimpleRNN(2)
    layer(X)
    with pytest.raises(ValueError, match=r"built for inputs with 4 features.*5 features"):
        layer.step(np.zeros((2, 5), np.float32))


def test_step_with_wrong_number_of_states() -> None:
    layer = LSTM(2)
    with pytest.raises(ValueError, match=r"expects 2 states.*received 1"):
        layer.step(X[:, 0], [np.zeros((2, 2), np.float32)])


def test_stream_step_with_a_3d_input() -> None:
    with pytest.raises(ValueError, match=r"Stream.step takes \(batch, features\), received "
                                         r"shape \(2, 3, 4\)"):
        Stream(GRU(2)).step(X)


@pytest.mark.parametrize("rows,msg", [([0, 0], r"must not repeat"),
                                      ([0], r"one non-negative slot index per row \(2\)"),
                                      ([0, -1], r"non-negative"),
                                      ([0.5, 1], r"non-negative slot index")],
                         ids=["repeat", "count", "negative", "float"])
def test_stream_bad_rows(rows: list, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        Stream(SimpleRNN(2)).step(X[:, 0], rows=rows)


def test_stream_reset_of_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"reset must have one flag per row \(2\)"):
        Stream(GRU(2)).step(X[:, 0], reset=[True])
