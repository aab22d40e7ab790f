"""Generate the golden fixtures in tests/golden/ from live Keras 3.15.1 (TensorFlow backend).

Run:  .venv/bin/python tests/make_golden.py            (or `make fixtures`): every fixture
      .venv/bin/python tests/make_golden.py --missing  only those not on disk yet, so the
                                                       existing files stay byte-identical

Only Keras is used here, never rnnlens. Every fixture is one compressed ``.npz`` file:

* JSON string fields: ``kind`` ("layer" | "model" | "stateful" | "family" |
  "family_stateful"), ``description``,
  ``config`` (LSTM constructor kwargs, layer and stateful kinds), ``call`` (which call
  kwargs are passed), ``graph`` (model kind, see ``build_graph``), ``calls`` (stateful kind).
* ``x`` (or ``x_0``, ``x_1``... for models and stateful calls), ``mask`` (bool) and
  ``h0``, ``c0`` when used.
* ``w_0 .. w_{n_weights-1}``: weights in ``get_weights()`` order. For a layer that is
  kernel (F, 4u), recurrent_kernel (u, 4u), bias (4u,). For a model it is
  ``model.get_weights()`` order.
* ``out_0 .. out_{n_out-1}``: every tensor the eager call or ``predict`` returned, flattened.
  For stateful fixtures, call i stores ``call{i}_out_{j}``.

The recurrent family (GRU, SimpleRNN, Bidirectional, RNN of cells; kinds "family" and
"family_stateful") stores ``spec`` (JSON, read by ``build_family_layer``), ``call``
(``{"mask": bool, "init": nesting}``, where the nesting is null, an int for one bare
tensor, a list of ints for a flat list, or a list of lists for stacked cells' nested
states) and the initial states flat as ``init_0``, ``init_1``, ... Model cases with a
``vocab`` take int32 token ids (0 = padding, MIXED_MASK rows); with ``pad`` the padded
steps of the float input are 0.0 (for Masking).

Weights are random U(-0.5, 0.5) from a generator seeded by the case name, so the bias
matters and the output never depends on Keras's initializers. All arrays are float32.

``build_graph`` takes the layer and model classes as arguments, so test_golden.py can
build the same graph with rnnlens.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

# Mask rows for B=6, T=6: leading, middle, trailing, fully masked, unmasked, scattered.
MIXED_MASK = np.array(
    [
        [0, 0, 1, 1, 1, 1],
        [1, 1, 0, 0, 1, 1],
        [1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 1],
        [1, 0, 1, 0, 1, 0],
    ],
    dtype=bool,
)
TUTORIAL_X = np.array([[[0.1], [0.2], [0.3]]], dtype=np.float32)


# ---------------------------------------------------------------------------- case tables
@dataclass
class LayerCase:
    """One eager LSTM call: ``LSTM(**config)(x, initial_state=?, mask=?)``."""

    name: str
    config: dict[str, Any]
    shape: tuple[int, int, int]  # (B, T, F)
    initial_state: bool = False
    mask: bool = False
    x: np.ndarray | None = None
    description: str = ""


@dataclass
class ModelCase:
    """A functional or Sequential model, run with ``predict(x, batch_size=...)``."""

    name: str
    graph: dict[str, Any]
    batch: int
    batch_size: int
    description: str = ""


@dataclass
class StatefulCase:
    """A stateful LSTM called several times; ``calls`` name the chunk and any reset or override."""

    name: str
    config: dict[str, Any]
    shape: tuple[int, int, int]  # (B, T, F) of every chunk
    n_chunks: int
    calls: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""


def _rs(**kw: Any) -> dict[str, Any]:
    """Shorthand for a config dict."""
    return kw


def layer_cases() -> list[LayerCase]:
    """Every single-layer case (44)."""
    c: list[LayerCase] = []
    # The seed tutorial: x = [0.1, 0.2, 0.3], LSTM(1), all return_sequences/return_state combos.
    for rs in (False, True):
        for st in (False, True):
            c.append(LayerCase(
                f"tutorial_rs{int(rs)}_st{int(st)}",
                _rs(units=1, return_sequences=rs, return_state=st), (1, 3, 1), x=TUTORIAL_X,
                description="seed tutorial x=[.1,.2,.3], LSTM(1)"))
    # Sizes: (units, F, T, B, extra flags)
    sizes = [
        (1, 1, 1, 1, {}), (2, 3, 4, 2, {}), (3, 8, 12, 5, {"return_sequences": True}),
        (16, 5, 7, 3, {"return_sequences": True, "return_state": True}), (8, 2, 10, 4, {}),
        (5, 6, 3, 1, {"return_state": True}), (12, 4, 9, 2, {"return_sequences": True}),
        (4, 7, 2, 5, {}),
    ]
    for u, f, t, b, extra in sizes:
        c.append(LayerCase(f"size_u{u}_f{f}_t{t}_b{b}", _rs(units=u, **extra), (b, t, f),
                           description="size sweep"))
    flags = [
        ("go_backwards_seq", _rs(units=3, go_backwards=True, return_sequences=True)),
        ("go_backwards_last", _rs(units=3, go_backwards=True, return_state=True)),
        ("unroll_seq", _rs(units=3, unroll=True, return_sequences=True)),
        ("unroll_backwards", _rs(units=3, unroll=True, go_backwards=True,
                                 return_sequences=True, return_state=True)),
        ("no_bias", _rs(units=4, use_bias=False, return_sequences=True)),
        ("unit_forget_bias_false", _rs(units=3, unit_forget_bias=False, return_sequences=True)),
        ("zofm_without_mask", _rs(units=3, zero_output_for_mask=True, return_sequences=True)),
    ]
    c += [LayerCase(f"flag_{n}", cfg, (3, 5, 2), description="flags, no mask") for n, cfg in flags]
    acts = [
        ("act_relu", {"activation": "relu"}), ("act_sigmoid", {"activation": "sigmoid"}),
        ("act_hard_sigmoid", {"activation": "hard_sigmoid"}), ("act_linear", {"activation": "linear"}),
        ("act_softsign", {"activation": "softsign"}), ("act_elu", {"activation": "elu"}),
        ("act_none", {"activation": None}),
        ("rec_hard_sigmoid", {"activation": "tanh", "recurrent_activation": "hard_sigmoid"}),
        ("rec_tanh", {"recurrent_activation": "tanh"}),
        ("rec_sigmoid_act_relu", {"activation": "relu", "recurrent_activation": "sigmoid"}),
    ]
    c += [LayerCase(n, _rs(units=4, return_sequences=True, **kw), (2, 6, 3),
                    description="activation sweep; large-ish inputs exercise the nonlinearity")
          for n, kw in acts]
    c.append(LayerCase("init_state_seq", _rs(units=3, return_sequences=True, return_state=True),
                       (3, 4, 2), initial_state=True, description="explicit [h0, c0]"))
    c.append(LayerCase("init_state_back_unroll",
                       _rs(units=3, go_backwards=True, unroll=True, return_state=True),
                       (3, 4, 2), initial_state=True, description="[h0, c0] + go_backwards + unroll"))
    c += _mask_cases()
    return c


def _mask_cases() -> list[LayerCase]:
    """Masked cases; every one uses MIXED_MASK (leading, middle, trailing, full, none, scattered)."""
    rows = [
        ("seq", _rs(return_sequences=True, return_state=True), False),
        ("last", _rs(return_state=True), False),
        ("zofm_seq", _rs(zero_output_for_mask=True, return_sequences=True), False),
        ("zofm_last", _rs(zero_output_for_mask=True, return_state=True), False),
        ("back_seq", _rs(go_backwards=True, return_sequences=True, return_state=True), False),
        ("back_zofm_seq", _rs(go_backwards=True, zero_output_for_mask=True,
                              return_sequences=True, return_state=True), False),
        ("unroll_seq", _rs(unroll=True, return_sequences=True, return_state=True), False),
        ("unroll_zofm_seq", _rs(unroll=True, zero_output_for_mask=True, return_sequences=True), False),
        # Quirk: unroll + go_backwards + zofm zeroes by the UNREVERSED mask (KERAS_FINDINGS a).
        ("unroll_back_zofm_seq", _rs(unroll=True, go_backwards=True, zero_output_for_mask=True,
                                     return_sequences=True, return_state=True), False),
        ("unroll_back_zofm_last", _rs(unroll=True, go_backwards=True, zero_output_for_mask=True,
                                      return_state=True), False),
        # Leading masked steps with a non-zero initial state output 0, not h0.
        ("init_seq", _rs(return_sequences=True, return_state=True), True),
        ("init_back_unroll_zofm_seq", _rs(go_backwards=True, unroll=True, zero_output_for_mask=True,
                                          return_sequences=True, return_state=True), True),
        ("no_bias_hard_sigmoid", _rs(use_bias=False, recurrent_activation="hard_sigmoid",
                                     return_sequences=True), False),
    ]
    return [LayerCase(f"mask_{n}", _rs(units=3, **cfg), (6, 6, 2), initial_state=init, mask=True,
                      description="mask rows: leading, middle, trailing, full, none, scattered")
            for n, cfg, init in rows]


def model_cases() -> list[ModelCase]:
    """Functional and Sequential model cases (8)."""
    return [
        ModelCase("model_stacked", {"kind": "stacked", "T": 6, "F": 3, "units": [5, 4],
                                    "last_return_sequences": False}, 5, 2,
                  "Input -> LSTM(5, rs=True) -> LSTM(4)"),
        ModelCase("model_stacked3_seq", {"kind": "stacked", "T": 4, "F": 2, "units": [3, 4, 2],
                                         "last_return_sequences": True}, 3, 32,
                  "Input -> LSTM(3, rs) -> LSTM(4, rs) -> LSTM(2, rs)"),
        ModelCase("model_td", {"kind": "td", "T": 7, "F": 2, "units": 4, "dense": 3}, 4, 3,
                  "Input -> LSTM(4, rs=True) -> TimeDistributed(Dense(3))"),
        ModelCase("model_encdec", {"kind": "encdec", "T_enc": 5, "F_enc": 3, "T_dec": 4, "F_dec": 2,
                                   "units": 6, "dense": 3, "dense_activation": "softmax"}, 4, 3,
                  "encoder LSTM(return_state) -> decoder LSTM(rs, initial_state=[h, c]) -> Dense softmax"),
        ModelCase("model_sequential", {"kind": "sequential", "T": 5, "F": 2, "units": [4, 3],
                                       "dense": 2}, 3, 2,
                  "Sequential([Input, LSTM(4, rs), LSTM(3, rs), TimeDistributed(Dense(2))])"),
        ModelCase("model_repeat", {"kind": "repeat", "T": 6, "F": 2, "units_enc": 5, "T_out": 3,
                                   "units_dec": 4, "dense": 2}, 3, 32,
                  "Input -> LSTM(5) -> RepeatVector(3) -> LSTM(4, rs) -> TimeDistributed(Dense(2))"),
        ModelCase("model_concat", {"kind": "concat", "T": 5, "F": 3, "units": [3, 4], "dense": 2},
                  4, 32, "Input -> [LSTM(3), LSTM(4, go_backwards)] -> Concatenate -> Dense(2)"),
        ModelCase("model_state_outputs", {"kind": "state_outputs", "T": 4, "F": 2, "units": 3}, 3, 2,
                  "Model(inp, [y, h, c]) from LSTM(3, return_sequences, return_state)"),
    ]


def family_model_cases() -> list[ModelCase]:
    """Models of the recurrent family (4): masks from Embedding and Masking, stacked cells."""
    return [
        ModelCase("model_embedding_bidir", {"kind": "embedding_bidir", "T": 6, "vocab": 9,
                                            "dim": 4, "units": 3, "dense": 4, "gru": 2},
                  6, 4, "Input(int32) -> Embedding(mask_zero) -> Bidirectional(LSTM, rs) -> "
                        "TimeDistributed(Dense) -> GRU(rs)"),
        ModelCase("model_masking_stacked", {"kind": "masking_stacked", "T": 6, "F": 3,
                                            "units": [4, 3], "pad": True}, 6, 4,
                  "Input -> Masking -> LSTM(rs, state) -> LSTM(go_backwards, state): [y, h1, "
                  "c1, h2, c2]"),
        ModelCase("model_masking_bidir_gru", {"kind": "masking_bidir", "T": 6, "F": 3,
                                              "units": 3, "merge_mode": "ave", "pad": True},
                  6, 3, "Input -> Masking -> Bidirectional(GRU, ave, rs) -> Dense -> "
                        "SimpleRNN(zofm)"),
        ModelCase("model_stacked_cells", {"kind": "stacked_cells", "T": 5, "F": 2,
                                          "units": [4, 3, 2]}, 4, 2,
                  "RNN([LSTMCell, GRUCell, SimpleRNNCell], rs, return_state) in a Model"),
    ]


def stateful_cases() -> list[StatefulCase]:
    """Stateful cases (2): state carried between calls, reset_state, initial_state override."""
    return [
        StatefulCase(
            "stateful_chunks", _rs(units=3, stateful=True, return_sequences=True), (2, 4, 2), 2,
            [{"x": "x_0"}, {"x": "x_1"}, {"x": "x_0", "reset_before": True}],
            "chunk 1, chunk 2 (continues), reset_state, chunk 1 again (equals first call)"),
        StatefulCase(
            "stateful_override", _rs(units=2, stateful=True, return_state=True), (3, 3, 2), 2,
            [{"x": "x_0"}, {"x": "x_1", "initial_state": True}, {"x": "x_1"},
             {"x": "x_1", "reset_before": True}],
            "chunk 1; chunk 2 with initial_state=[h0, c0] overriding the stored state; "
            "chunk 2 again (continues from the override call); reset then chunk 2"),
    ]


@dataclass
class FamilyCase:
    """One eager call of a GRU / SimpleRNN / LSTM / Bidirectional / RNN(cells) layer.

    ``spec`` is read by ``build_family_layer``; ``init`` is the nesting of the initial
    states (see the module docstring), with the state sizes as the ints.
    """

    name: str
    spec: dict[str, Any]
    shape: tuple[int, int, int]  # (B, T, F)
    mask: bool = False
    init: Any = None
    description: str = ""


@dataclass
class FamilyStatefulCase:
    """A stateful family layer called several times (``calls`` as in StatefulCase)."""

    name: str
    spec: dict[str, Any]
    shape: tuple[int, int, int]
    n_chunks: int
    calls: list[dict[str, Any]]
    init: Any = None
    description: str = ""


def family_cases() -> list[FamilyCase]:
    """GRU (both reset_after), SimpleRNN, Bidirectional (every merge mode) and stacked cells."""
    def lay(layer: str, **config: Any) -> dict[str, Any]:
        return {"layer": layer, "config": config}

    def bid(inner: str, merge_mode: Any, backward: Any = None, **config: Any) -> dict[str, Any]:
        spec = {"layer": "Bidirectional", "inner": inner, "merge_mode": merge_mode,
                "config": config}
        if backward is not None:
            spec["backward"] = backward
        return spec

    seq_st = _rs(return_sequences=True, return_state=True)
    m = "mask rows: leading, middle, trailing, full, none, scattered"
    return [
        FamilyCase("gru_seq_state", lay("GRU", units=4, **seq_st), (3, 5, 3), description="GRU"),
        FamilyCase("gru_mask_seq_h0", lay("GRU", units=3, **seq_st), (6, 6, 2), mask=True,
                   init=[3], description="GRU, " + m + ", [h0]"),
        FamilyCase("gru_mask_back_zofm", lay("GRU", units=3, go_backwards=True,
                                             zero_output_for_mask=True, **seq_st),
                   (6, 6, 2), mask=True, description="GRU go_backwards + zofm, " + m),
        FamilyCase("gru_mask_unroll_back_zofm", lay("GRU", units=3, unroll=True,
                                                    go_backwards=True,
                                                    zero_output_for_mask=True, **seq_st),
                   (6, 6, 2), mask=True, init=3,
                   description="GRU quirk: unrolled backwards zofm zeroes by the input-order "
                               "mask; h0 as one tensor"),
        FamilyCase("gru_ra0_seq_state", lay("GRU", units=4, reset_after=False, **seq_st),
                   (3, 5, 3), description="GRU reset_after=False, bias (3u,)"),
        FamilyCase("gru_ra0_mask_last_h0", lay("GRU", units=3, reset_after=False,
                                               return_state=True),
                   (6, 6, 2), mask=True, init=[3], description="GRU reset_after=False, " + m),
        FamilyCase("gru_ra0_nobias_hard_sigmoid",
                   lay("GRU", units=3, reset_after=False, use_bias=False,
                       recurrent_activation="hard_sigmoid", return_sequences=True),
                   (2, 6, 3), description="GRU reset_after=False, no bias, hard_sigmoid"),
        FamilyCase("gru_relu_hard_sigmoid_back",
                   lay("GRU", units=4, activation="relu", recurrent_activation="hard_sigmoid",
                       go_backwards=True, **seq_st), (2, 6, 3), description="GRU activations"),
        FamilyCase("srnn_seq_state", lay("SimpleRNN", units=4, **seq_st), (3, 5, 3),
                   description="SimpleRNN"),
        FamilyCase("srnn_mask_seq_h0", lay("SimpleRNN", units=3, **seq_st), (6, 6, 2),
                   mask=True, init=[3], description="SimpleRNN, " + m + ", [h0]"),
        FamilyCase("srnn_mask_back_zofm_last",
                   lay("SimpleRNN", units=3, go_backwards=True, zero_output_for_mask=True,
                       return_state=True), (6, 6, 2), mask=True,
                   description="SimpleRNN go_backwards + zofm, last output, " + m),
        FamilyCase("srnn_relu_nobias_unroll", lay("SimpleRNN", units=5, activation="relu",
                                                  use_bias=False, unroll=True,
                                                  return_sequences=True), (2, 6, 3),
                   description="SimpleRNN relu, no bias, unroll"),
        FamilyCase("srnn_mask_unroll_back_zofm",
                   lay("SimpleRNN", units=3, unroll=True, go_backwards=True,
                       zero_output_for_mask=True, **seq_st), (6, 6, 2), mask=True,
                   description="SimpleRNN quirk: unrolled backwards zofm, " + m),
        FamilyCase("bidir_lstm_concat_mask_h0", bid("LSTM", "concat", units=3, **seq_st),
                   (6, 6, 2), mask=True, init=[3, 3, 3, 3],
                   description="Bidirectional(LSTM) concat, [h_f, c_f, h_b, c_b], " + m),
        FamilyCase("bidir_gru_sum_mask", bid("GRU", "sum", units=3, return_sequences=True),
                   (6, 6, 2), mask=True, description="Bidirectional(GRU) sum, " + m),
        FamilyCase("bidir_srnn_ave_last_state", bid("SimpleRNN", "ave", units=4,
                                                    return_state=True), (3, 5, 3),
                   init=[4, 4], description="Bidirectional(SimpleRNN) ave, last step"),
        FamilyCase("bidir_lstm_mul_seq", bid("LSTM", "mul", units=3, return_sequences=True),
                   (3, 5, 2), description="Bidirectional(LSTM) mul"),
        FamilyCase("bidir_gru_ra0_none_mask", bid("GRU", None, units=3, reset_after=False,
                                                  **seq_st), (6, 6, 2), mask=True,
                   description="Bidirectional(GRU reset_after=False) merge_mode=None, " + m),
        FamilyCase("bidir_custom_backward",
                   bid("LSTM", "concat", backward=lay("GRU", units=2, go_backwards=True,
                                                      return_sequences=True),
                       units=3, return_sequences=True), (6, 6, 2), mask=True,
                   description="Bidirectional(LSTM(3), backward_layer=GRU(2)), " + m),
        FamilyCase("stacked_cells_mask_h0",
                   {"layer": "RNN", "cells": [["LSTMCell", {"units": 4}],
                                              ["GRUCell", {"units": 3}],
                                              ["SimpleRNNCell", {"units": 2}]],
                    "config": seq_st}, (6, 6, 2), mask=True, init=[[4, 4], [3], [2]],
                   description="RNN([LSTMCell, GRUCell, SimpleRNNCell]), nested initial "
                               "states, " + m),
        FamilyCase("stacked_cells_back",
                   {"layer": "RNN", "cells": [["GRUCell", {"units": 3, "reset_after": False}],
                                              ["LSTMCell", {"units": 2}]],
                    "config": _rs(go_backwards=True, return_sequences=True)}, (3, 5, 2),
                   description="RNN([GRUCell(reset_after=False), LSTMCell]) go_backwards"),
        FamilyCase("rnn_lstm_cell", {"layer": "RNN", "cell": ["LSTMCell", {"units": 3}],
                                     "config": seq_st}, (3, 5, 2),
                   description="RNN(LSTMCell(3)) equals LSTM(3)"),
    ]


def family_stateful_cases() -> list[FamilyStatefulCase]:
    calls = [{"x": "x_0"}, {"x": "x_1"}, {"x": "x_1", "initial_state": True},
             {"x": "x_0", "reset_before": True}]
    return [
        FamilyStatefulCase("stateful_gru", {"layer": "GRU", "config": _rs(
            units=3, stateful=True, return_sequences=True, return_state=True)}, (2, 4, 2), 2,
            calls, init=[3], description="stateful GRU: continue, override [h0], reset"),
        FamilyStatefulCase("stateful_bidir_srnn", {
            "layer": "Bidirectional", "inner": "SimpleRNN", "merge_mode": "concat",
            "config": _rs(units=3, stateful=True, return_sequences=True)}, (2, 4, 2), 2,
            calls, init=[3, 3],
            description="stateful Bidirectional(SimpleRNN): continue, override, reset"),
    ]


def build_family_layer(spec: dict[str, Any], layers: Any) -> Any:
    """The layer ``spec`` describes, with ``layers`` = keras.layers or rnnlens.layers."""
    kind = spec["layer"]
    if kind == "Bidirectional":
        backward = spec.get("backward")
        return layers.Bidirectional(
            getattr(layers, spec["inner"])(**spec["config"]), merge_mode=spec["merge_mode"],
            backward_layer=None if backward is None else build_family_layer(backward, layers))
    if kind == "RNN":
        if "cells" in spec:
            cell = [getattr(layers, c)(**cfg) for c, cfg in spec["cells"]]
        else:
            cell = getattr(layers, spec["cell"][0])(**spec["cell"][1])
        return layers.RNN(cell, **spec["config"])
    return getattr(layers, kind)(**spec["config"])


def init_arrays(nesting: Any, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``init_0``, ``init_1``, ...: one (batch, size) array per int in ``nesting``."""
    sizes = [nesting] if isinstance(nesting, int) else [
        s for item in nesting for s in (item if isinstance(item, list) else [item])]
    return {f"init_{k}": _uniform(rng, (batch, s), 0.8) for k, s in enumerate(sizes)}


def nest_init(nesting: Any, arrays: Any) -> Any:
    """The flat ``init_k`` arrays (a mapping) in the nesting of ``nesting``."""
    if nesting is None:
        return None
    if isinstance(nesting, int):
        return arrays["init_0"]
    out, k = [], 0
    for item in nesting:
        if isinstance(item, list):
            out.append([arrays[f"init_{k + j}"] for j in range(len(item))])
            k += len(item)
        else:
            out.append(arrays[f"init_{k}"])
            k += 1
    return out


# ---------------------------------------------------------------------------- graph builder
def build_graph(graph: dict[str, Any], api: SimpleNamespace) -> Any:
    """Build the model ``graph`` describes with ``api``'s Input, LSTM, Dense, TimeDistributed,
    RepeatVector, Concatenate, Model and Sequential (either Keras or rnnlens)."""
    builders = {
        "stacked": _build_stacked, "td": _build_td, "encdec": _build_encdec,
        "sequential": _build_sequential, "repeat": _build_repeat, "concat": _build_concat,
        "state_outputs": _build_state_outputs, "embedding_bidir": _build_embedding_bidir,
        "masking_stacked": _build_masking_stacked, "masking_bidir": _build_masking_bidir,
        "stacked_cells": _build_stacked_cells,
    }
    return builders[graph["kind"]](graph, api)


def _build_stacked(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    y = inp
    for k, u in enumerate(g["units"]):
        last = k == len(g["units"]) - 1
        y = api.LSTM(u, return_sequences=g["last_return_sequences"] if last else True)(y)
    return api.Model(inp, y)


def _build_td(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    y = api.LSTM(g["units"], return_sequences=True)(inp)
    return api.Model(inp, api.TimeDistributed(api.Dense(g["dense"]))(y))


def _build_encdec(g: dict[str, Any], api: SimpleNamespace) -> Any:
    enc_in = api.Input(shape=(g["T_enc"], g["F_enc"]))
    dec_in = api.Input(shape=(g["T_dec"], g["F_dec"]))
    _, h, c = api.LSTM(g["units"], return_state=True)(enc_in)
    y = api.LSTM(g["units"], return_sequences=True)(dec_in, initial_state=[h, c])
    y = api.Dense(g["dense"], activation=g["dense_activation"])(y)
    return api.Model([enc_in, dec_in], y)


def _build_sequential(g: dict[str, Any], api: SimpleNamespace) -> Any:
    layers = [api.Input(shape=(g["T"], g["F"]))]
    layers += [api.LSTM(u, return_sequences=True) for u in g["units"]]
    layers.append(api.TimeDistributed(api.Dense(g["dense"])))
    return api.Sequential(layers)


def _build_repeat(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    y = api.RepeatVector(g["T_out"])(api.LSTM(g["units_enc"])(inp))
    y = api.LSTM(g["units_dec"], return_sequences=True)(y)
    return api.Model(inp, api.TimeDistributed(api.Dense(g["dense"]))(y))


def _build_concat(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    a = api.LSTM(g["units"][0])(inp)
    b = api.LSTM(g["units"][1], go_backwards=True)(inp)
    return api.Model(inp, api.Dense(g["dense"])(api.Concatenate()([a, b])))


def _build_state_outputs(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    y, h, c = api.LSTM(g["units"], return_sequences=True, return_state=True)(inp)
    return api.Model(inp, [y, h, c])


def _build_embedding_bidir(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"],), dtype="int32")
    y = api.Embedding(g["vocab"], g["dim"], mask_zero=True)(inp)
    y = api.Bidirectional(api.LSTM(g["units"], return_sequences=True))(y)
    y = api.TimeDistributed(api.Dense(g["dense"], activation="tanh"))(y)
    return api.Model(inp, api.GRU(g["gru"], return_sequences=True)(y))


def _build_masking_stacked(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    y = api.Masking(0.0)(inp)
    y, h1, c1 = api.LSTM(g["units"][0], return_sequences=True, return_state=True)(y)
    y, h2, c2 = api.LSTM(g["units"][1], return_sequences=True, return_state=True,
                         go_backwards=True)(y)
    return api.Model(inp, [y, h1, c1, h2, c2])


def _build_masking_bidir(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    y = api.Masking(0.0)(inp)
    y = api.Bidirectional(api.GRU(g["units"], return_sequences=True),
                          merge_mode=g["merge_mode"])(y)
    y = api.Dense(g["units"], activation="relu")(y)
    return api.Model(inp, api.SimpleRNN(2, zero_output_for_mask=True, return_sequences=True)(y))


def _build_stacked_cells(g: dict[str, Any], api: SimpleNamespace) -> Any:
    inp = api.Input(shape=(g["T"], g["F"]))
    u = g["units"]
    out = api.RNN([api.LSTMCell(u[0]), api.GRUCell(u[1]), api.SimpleRNNCell(u[2])],
                  return_sequences=True, return_state=True)(inp)
    return api.Model(inp, out)


def graph_inputs_shapes(graph: dict[str, Any], batch: int) -> list[tuple[int, ...]]:
    """Shapes of the model inputs, in order."""
    if "vocab" in graph:
        return [(batch, graph["T"])]
    if graph["kind"] == "encdec":
        return [(batch, graph["T_enc"], graph["F_enc"]), (batch, graph["T_dec"], graph["F_dec"])]
    return [(batch, graph["T"], graph["F"])]


def flatten_outputs(out: Any) -> list[np.ndarray]:
    """Flatten a (nested) list or tuple of tensors into a list of float32 NumPy arrays."""
    if isinstance(out, (list, tuple)):
        return [a for item in out for a in flatten_outputs(item)]
    return [np.asarray(out, dtype=np.float32)]


# ---------------------------------------------------------------------------- generation
def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 0.5) -> np.ndarray:
    return rng.uniform(-scale, scale, shape).astype(np.float32)


def _random_weights(obj: Any, rng: np.random.Generator) -> list[np.ndarray]:
    """Give a Keras layer or model random U(-0.5, 0.5) weights and return them."""
    ws = [_uniform(rng, tuple(w.shape)) for w in obj.get_weights()]
    obj.set_weights(ws)
    return ws


def _json(obj: Any) -> np.ndarray:
    return np.array(json.dumps(obj, sort_keys=True))


def _pack_weights(ws: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {"n_weights": np.array(len(ws)), **{f"w_{i}": w for i, w in enumerate(ws)}}


def _pack_outputs(outs: list[np.ndarray], prefix: str = "") -> dict[str, np.ndarray]:
    return {f"{prefix}n_out": np.array(len(outs)),
            **{f"{prefix}out_{i}": o for i, o in enumerate(outs)}}


def make_layer_case(case: LayerCase, keras: Any) -> dict[str, np.ndarray]:
    """Run one eager layer call in Keras and return the arrays to store."""
    rng = _rng(case.name)
    b, t, f = case.shape
    scale = 2.0 if case.name.startswith(("act_", "rec_")) else 1.0
    x = case.x if case.x is not None else _uniform(rng, (b, t, f), scale)
    layer = keras.layers.LSTM(**case.config)
    layer.build((None, t, f))
    arrays = {"x": x, **_pack_weights(_random_weights(layer, rng))}
    kwargs: dict[str, Any] = {"training": False}
    if case.initial_state:
        arrays["h0"] = _uniform(rng, (b, case.config["units"]), 0.8)
        arrays["c0"] = _uniform(rng, (b, case.config["units"]), 0.8)
        kwargs["initial_state"] = [arrays["h0"], arrays["c0"]]
    if case.mask:
        arrays["mask"] = MIXED_MASK[:b, :t]
        kwargs["mask"] = arrays["mask"]
    arrays.update(_pack_outputs(flatten_outputs(layer(x, **kwargs))))
    arrays.update(kind=_json("layer"), config=_json(case.config), description=_json(case.description),
                  call=_json({"initial_state": case.initial_state, "mask": case.mask}))
    return arrays


def make_model_case(case: ModelCase, keras: Any) -> dict[str, np.ndarray]:
    """Build a Keras model, give it random weights, run predict, return the arrays to store."""
    rng = _rng(case.name)
    model = build_graph(case.graph, keras_api(keras))
    ws = _random_weights(model, rng)
    if "vocab" in case.graph:                      # token ids, 0 = padding
        ids = rng.integers(1, case.graph["vocab"], (case.batch, case.graph["T"]))
        xs = [np.where(MIXED_MASK[:case.batch, :case.graph["T"]], ids, 0).astype(np.int32)]
    else:
        xs = [_uniform(rng, s) for s in graph_inputs_shapes(case.graph, case.batch)]
    if case.graph.get("pad"):                      # padded steps all 0.0, for Masking
        keep = MIXED_MASK[:case.batch, :case.graph["T"], None]
        xs = [np.where(keep, x, 0.0).astype(np.float32) for x in xs]
    pred = model.predict(xs if len(xs) > 1 else xs[0], batch_size=case.batch_size, verbose=0)
    arrays = {f"x_{i}": x for i, x in enumerate(xs)}
    arrays.update(_pack_weights(ws), **_pack_outputs(flatten_outputs(pred)))
    arrays.update(kind=_json("model"), graph=_json(case.graph), description=_json(case.description),
                  call=_json({"n_inputs": len(xs), "batch_size": case.batch_size}))
    return arrays


def make_stateful_case(case: StatefulCase, keras: Any) -> dict[str, np.ndarray]:
    """Call a stateful Keras LSTM per ``case.calls`` and store every call's outputs."""
    rng = _rng(case.name)
    b, t, f = case.shape
    layer = keras.layers.LSTM(**case.config)
    layer.build((b, t, f))
    arrays = {f"x_{i}": _uniform(rng, (b, t, f)) for i in range(case.n_chunks)}
    arrays.update(_pack_weights(_random_weights(layer, rng)))
    arrays["h0"] = _uniform(rng, (b, case.config["units"]), 0.8)
    arrays["c0"] = _uniform(rng, (b, case.config["units"]), 0.8)
    calls = [{"x": c["x"], "reset_before": bool(c.get("reset_before")),
              "initial_state": bool(c.get("initial_state"))} for c in case.calls]
    for i, c in enumerate(calls):
        if c["reset_before"]:
            layer.reset_state()
        kwargs: dict[str, Any] = {"training": False}
        if c["initial_state"]:
            kwargs["initial_state"] = [arrays["h0"], arrays["c0"]]
        arrays.update(_pack_outputs(flatten_outputs(layer(arrays[c["x"]], **kwargs)), f"call{i}_"))
    arrays.update(kind=_json("stateful"), config=_json(case.config), calls=_json(calls),
                  description=_json(case.description))
    return arrays


def make_family_case(case: FamilyCase, keras: Any) -> dict[str, np.ndarray]:
    """One eager call of a family layer in Keras; the arrays to store."""
    rng = _rng(case.name)
    b, t, f = case.shape
    x = _uniform(rng, (b, t, f), 1.5)
    layer = build_family_layer(case.spec, keras.layers)
    layer.build((None, t, f))
    arrays = {"x": x, **_pack_weights(_random_weights(layer, rng))}
    kwargs: dict[str, Any] = {"training": False}
    if case.init is not None:
        arrays.update(init_arrays(case.init, b, rng))
        kwargs["initial_state"] = nest_init(case.init, arrays)
    if case.mask:
        arrays["mask"] = MIXED_MASK[:b, :t]
        kwargs["mask"] = arrays["mask"]
    arrays.update(_pack_outputs(flatten_outputs(layer(x, **kwargs))))
    arrays.update(kind=_json("family"), spec=_json(case.spec),
                  description=_json(case.description),
                  call=_json({"init": case.init, "mask": case.mask}))
    return arrays


def make_family_stateful_case(case: FamilyStatefulCase, keras: Any) -> dict[str, np.ndarray]:
    """Call a stateful family layer per ``case.calls``; store every call's outputs."""
    rng = _rng(case.name)
    b, t, f = case.shape
    layer = build_family_layer(case.spec, keras.layers)
    layer.build((b, t, f))
    arrays = {f"x_{i}": _uniform(rng, (b, t, f)) for i in range(case.n_chunks)}
    arrays.update(_pack_weights(_random_weights(layer, rng)))
    arrays.update(init_arrays(case.init, b, rng))
    calls = [{"x": c["x"], "reset_before": bool(c.get("reset_before")),
              "initial_state": bool(c.get("initial_state"))} for c in case.calls]
    for i, c in enumerate(calls):
        if c["reset_before"]:
            layer.reset_state()
        kwargs: dict[str, Any] = {"training": False}
        if c["initial_state"]:
            kwargs["initial_state"] = nest_init(case.init, arrays)
        arrays.update(_pack_outputs(flatten_outputs(layer(arrays[c["x"]], **kwargs)), f"call{i}_"))
    arrays.update(kind=_json("family_stateful"), spec=_json(case.spec), calls=_json(calls),
                  call=_json({"init": case.init}), description=_json(case.description))
    return arrays


def keras_api(keras: Any) -> SimpleNamespace:
    """The Keras classes ``build_graph`` needs."""
    L = keras.layers
    return SimpleNamespace(Input=keras.Input, LSTM=L.LSTM, Dense=L.Dense,
                           TimeDistributed=L.TimeDistributed, RepeatVector=L.RepeatVector,
                           Concatenate=L.Concatenate, Model=keras.Model, Sequential=keras.Sequential,
                           GRU=L.GRU, SimpleRNN=L.SimpleRNN, Bidirectional=L.Bidirectional,
                           Embedding=L.Embedding, Masking=L.Masking, RNN=L.RNN,
                           LSTMCell=L.LSTMCell, GRUCell=L.GRUCell, SimpleRNNCell=L.SimpleRNNCell)


def _import_keras() -> Any:
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras  # noqa: PLC0415

    if keras.__version__ != "3.15.1" or keras.backend.backend() != "tensorflow":
        raise SystemExit(f"need keras 3.15.1 on tensorflow, got {keras.__version__} "
                         f"on {keras.backend.backend()}")
    keras.utils.set_random_seed(0)
    return keras


def _check_float32(name: str, arrays: dict[str, np.ndarray]) -> None:
    for k, v in arrays.items():
        if v.dtype.kind == "f" and v.dtype != np.float32:
            raise AssertionError(f"{name}: {k} is {v.dtype}, expected float32")


def all_jobs() -> list[tuple[Any, Any]]:
    return ([(c, make_layer_case) for c in layer_cases()]
            + [(c, make_model_case) for c in model_cases()]
            + [(c, make_stateful_case) for c in stateful_cases()]
            + [(c, make_family_case) for c in family_cases()]
            + [(c, make_model_case) for c in family_model_cases()]
            + [(c, make_family_stateful_case) for c in family_stateful_cases()])


def main(argv: list[str] | None = None) -> None:
    """Regenerate every fixture from scratch (or, with ``--missing``, only the fixtures
    not on disk, leaving the others byte-identical) and print the folder size."""
    argv = sys.argv[1:] if argv is None else argv
    missing_only = "--missing" in argv
    keras = _import_keras()
    if GOLDEN_DIR.exists() and not missing_only:
        shutil.rmtree(GOLDEN_DIR)
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    jobs = all_jobs()
    names = [case.name for case, _ in jobs]
    if len(set(names)) != len(names):
        raise AssertionError("duplicate fixture names")
    written = 0
    for case, make in jobs:
        path = GOLDEN_DIR / f"{case.name}.npz"
        if missing_only and path.exists():
            continue
        keras.backend.clear_session()
        arrays = make(case, keras)
        _check_float32(case.name, arrays)
        np.savez_compressed(path, **arrays)
        written += 1
    total = sum(p.stat().st_size for p in GOLDEN_DIR.glob("*.npz"))
    print(f"wrote {written} of {len(jobs)} fixtures to {GOLDEN_DIR} ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
