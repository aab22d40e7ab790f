"""``rnnlens inspect`` labels outputs: per-step values are sequences, wherever they come from."""

from __future__ import annotations

import rnnlens
from rnnlens.inspect_cmd import describe_outputs

L = rnnlens.layers


def kinds(model) -> list[str]:
    return [row[3] for row in describe_outputs(model)]


def test_dense_on_a_sequence_is_per_step_and_pooling_is_not() -> None:
    x = L.Input((None, 3))
    seq = L.LSTM(4, return_sequences=True)(x)
    per_step = L.Activation("relu")(L.Dense(6)(seq))             # (B, T, 6)
    pooled = L.GlobalAveragePooling1D()(seq)                      # (B, 4)
    last, h, c = L.LSTM(2, return_state=True)(seq)
    after_last = L.Dense(3)(last)                                 # (B, 3)
    on_input = L.Dense(2)(x)                                      # (B, T, 2): raw input
    model = rnnlens.Model(x, [per_step, pooled, after_last, h, on_input])
    got = kinds(model)
    assert got[0] == "sequence: one output per step"
    assert got[1] == "tensor" and got[2] == "tensor" and got[4] == "tensor"
    assert got[3] == "state: final hidden state h"


def test_sequential_and_nested_models() -> None:
    inner = rnnlens.models.Sequential([L.Input((None, 3)), L.GRU(4, return_sequences=True),
                                       L.Dense(5)])
    assert kinds(inner) == ["sequence: one output per step"]
    x = L.Input((None, 3))
    outer = rnnlens.Model(x, L.Dense(1)(inner(x)))
    assert kinds(outer) == ["sequence: one output per step"]
