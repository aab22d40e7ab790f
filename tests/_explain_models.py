"""Models and inputs the explain tests share (tests/test_explain_*.py).

* ``seed``: the tutorial's Input(3, 1) -> LSTM(1, return_sequences=True,
  return_state=True) on [0.1, 0.2, 0.3];
* ``bidirectional``: Masking -> Bidirectional(LSTM(3, return_sequences=True)) ->
  GRU(2), with right-padded, left-padded and unpadded samples;
* ``encoder_decoder``: LSTM encoder (return_state) whose [state_h, state_c] start
  an LSTM decoder, TimeDistributed(Dense(1)) head; two inputs;
* ``assorted``: stacked cells (RNN([LSTMCell, GRUCell])), SimpleRNN(go_backwards)
  and a GRU(reset_after=False).
"""

from __future__ import annotations

import numpy as np

import rnnlens
from rnnlens.layers import (GRU, LSTM, RNN, Bidirectional, Dense, GRUCell, Input, LSTMCell,
                            Masking, SimpleRNN, TimeDistributed)
from rnnlens.models import Model


def randomize(model, seed: int, scale: float = 0.6) -> None:
    """Every weight random (biases too), so no value hides behind a zero."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=scale, size=w.shape) for w in model.get_weights()])


def seed():
    rnnlens.utils.clear_session()
    rnnlens.utils.set_random_seed(1)
    inputs = Input(shape=(3, 1))
    seq, h, c = LSTM(1, return_sequences=True, return_state=True, name="lstm")(inputs)
    model = Model(inputs, [seq, h, c], name="seed")
    return model, np.array([0.1, 0.2, 0.3], np.float32).reshape(1, 3, 1)


def bidirectional(samples: int = 5):
    rnnlens.utils.clear_session()
    rnnlens.utils.set_random_seed(2)
    inputs = Input(shape=(6, 2))
    x = Masking()(inputs)
    y = Bidirectional(LSTM(3, return_sequences=True), name="bidir")(x)
    z = GRU(2, name="gru")(y)
    model = Model(inputs, z, name="masked_bidirectional")
    randomize(model, 20)
    x = np.random.default_rng(0).normal(size=(samples, 6, 2)).astype(np.float32)
    x[0, 4:] = 0                     # right padding: steps 4, 5 masked
    x[1, 3:] = 0
    x[2, :2] = 0                     # left padding
    return model, x


def encoder_decoder():
    rnnlens.utils.clear_session()
    rnnlens.utils.set_random_seed(3)
    enc_in = Input(shape=(5, 1), name="encoder_input")
    dec_in = Input(shape=(3, 1), name="decoder_input")
    _, state_h, state_c = LSTM(4, return_state=True, name="encoder")(enc_in)
    dec = LSTM(4, return_sequences=True, name="decoder")(dec_in, initial_state=[state_h, state_c])
    out = TimeDistributed(Dense(1), name="head")(dec)
    model = Model([enc_in, dec_in], out, name="encoder_decoder")
    randomize(model, 30)
    rng = np.random.default_rng(1)
    return model, [rng.normal(size=(4, 5, 1)).astype(np.float32),
                   rng.normal(size=(4, 3, 1)).astype(np.float32)]


def assorted():
    rnnlens.utils.clear_session()
    rnnlens.utils.set_random_seed(4)
    inputs = Input(shape=(5, 2))
    y = RNN([LSTMCell(3), GRUCell(2)], return_sequences=True, name="stack")(inputs)
    y = SimpleRNN(3, go_backwards=True, return_sequences=True, name="srnn")(y)
    y = GRU(2, reset_after=False, name="gru_v1")(y)
    model = Model(inputs, y, name="assorted")
    randomize(model, 40)
    return model, np.random.default_rng(2).normal(size=(3, 5, 2)).astype(np.float32)


def simple():
    """GRU and SimpleRNN(go_backwards) with built-in cells only (every layer has a backward)."""
    rnnlens.utils.clear_session()
    rnnlens.utils.set_random_seed(5)
    inputs = Input(shape=(5, 2))
    y = SimpleRNN(3, go_backwards=True, return_sequences=True, name="srnn")(inputs)
    y = GRU(2, return_state=True, name="gru")(y)
    model = Model(inputs, list(y), name="simple")
    randomize(model, 50)
    return model, np.random.default_rng(3).normal(size=(3, 5, 2)).astype(np.float32)
