"""The ``kwargs`` of the graph nodes in ``config.json``: rnnlens writes what Keras 3.15.1 writes.

Keras's ``Layer.__call__`` keeps in each node the keywords of the call as given when it
converted the arguments first (any keyword given, more than one positional argument, a list
of tensors, a tensor of another dtype); otherwise the node holds the dict it then filled:
``training`` with ``call``'s non-None default (``Dropout``, the noise layers, the recurrent
layers: ``false``) and ``mask`` with the input's mask (``null`` when there is none) when
``call`` takes ``mask`` (``BatchNormalization``, ``Bidirectional``, ``TimeDistributed``,
``Softmax``, ``GlobalAveragePooling1D``, nested models, a user's ``call(x, mask=None)``).

Each case is one ``build(lib)`` over the shared API with explicit names, built in Keras and in
rnnlens and saved by both; every ``inbound_nodes`` entry must be equal, and the whole
``config.json`` too after removing the known differences (documented in ``_normalized``):

* Keras's ``shared_object_id`` keys (ids of Python objects at save time) and its empty
  ``compile_config`` of an uncompiled model;
* ``build_config``: rnnlens writes ``{"input_shape": ...}`` for layers that Keras builds in
  their constructor (no weights: ``Dropout``, the noise layers, ``Masking``, ``Softmax``,
  ``GlobalAveragePooling1D``, ...) where Keras writes none, and ``input_shape`` for a
  recurrent layer called with ``initial_state`` where Keras writes ``shapes_dict``;
* layer configs outside the nodes: Keras writes ``build_config`` for the cells inside an
  ``RNN``'s config and ``build_input_shape`` in a nested ``Sequential``'s config, rnnlens
  neither;
* ``MultiHeadAttention`` called with ``key`` by position or ``query=``/``value=`` by keyword:
  rnnlens writes ``args [query, value]`` and ``key`` as a keyword (the layer folds its
  arguments into one list before the node is recorded); not among the cases.

Round trips: each rnnlens file loads in Keras and predicts as the rnnlens model; each Keras
file loads in rnnlens and predicts as the Keras model.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available

pytestmark = pytest.mark.keras

BATCH = 3


@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 (TensorFlow backend) is not importable")
    import keras  # noqa: PLC0415

    return keras


# ---------------------------------------------------------------------------- user layers
def _user_classes(lib: Any) -> tuple[type, type]:
    """Two registered user layers of ``lib``: one whose ``call`` has ``training=False`` and
    ``mask=None`` (both filled by Keras) and a keyword, one with a second tensor argument."""

    @lib.saving.register_keras_serializable(package="node_kwargs")
    class Scale(lib.layers.Layer):
        def __init__(self, factor: float = 2.0, **kwargs: Any):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x: Any, training: bool = False, mask: Any = None,
                 scale: Any = None) -> Any:
            return x * self.factor if scale is None else x * scale

        def get_config(self) -> dict:
            return {**super().get_config(), "factor": self.factor}

    @lib.saving.register_keras_serializable(package="node_kwargs")
    class Pair(lib.layers.Layer):
        def call(self, a: Any, b: Any = None, training: Any = None) -> Any:
            return a + b

    return Scale, Pair


_USER: dict[int, tuple[type, type]] = {}


def _user(lib: Any) -> tuple[type, type]:
    if id(lib) not in _USER:
        _USER[id(lib)] = _user_classes(lib)
    return _USER[id(lib)]


# ---------------------------------------------------------------------------- cases
@dataclass
class Case:
    """``build(lib)`` -> a model; ``inputs``: ``(kind, shape)`` per model input, kind
    ``"float"``, ``"padded"`` (zeroed trailing steps), ``"bool"`` or ``("int", vocab)``."""

    build: Callable[[Any], Any]
    inputs: list[tuple[Any, tuple[int, ...]]]


def _recurrent(k: Any) -> Any:
    L = k.layers
    x = k.Input((5, 3), name="x")
    h = L.LSTM(4, return_sequences=True, name="lstm")(x)
    h = L.Dropout(0.2, name="drop")(h)
    h = L.BatchNormalization(name="bn")(h)
    h = L.GRU(3, name="gru")(h)
    return k.Model(x, L.Dense(2, name="dense")(h), name="recurrent")


def _masked(k: Any) -> Any:
    L = k.layers
    x = k.Input((5, 3), name="x")
    h = L.Masking(name="masking")(x)
    h = L.LSTM(4, return_sequences=True, name="lstm")(h)
    h = L.Dropout(0.2, name="drop")(h)
    h = L.BatchNormalization(name="bn")(h)
    return k.Model(x, L.SimpleRNN(3, name="rnn")(h), name="masked")


def _explicit_training(k: Any) -> Any:
    L = k.layers
    x = k.Input((5, 3), name="x")
    h = L.Dropout(0.0, name="drop")(x, training=True)         # rate 0: deterministic
    h = L.BatchNormalization(name="bn")(h, training=False)
    h = L.LSTM(3, return_sequences=True, name="lstm")(h, training=True)
    h = L.Dropout(0.3, name="drop2")(h, training=False)
    h = L.LSTM(2, return_sequences=True, name="lstm2")(h, mask=None)
    return k.Model(x, L.GRU(2, name="gru")(h, training=None), name="explicit")


def _initial_state(k: Any) -> Any:
    L = k.layers
    x, s, c = k.Input((5, 3), name="x"), k.Input((4,), name="s"), k.Input((4,), name="c")
    h = L.LSTM(4, name="lstm")(x, initial_state=[s, c])
    return k.Model([x, s, c], h, name="initial_state")


def _given_mask(k: Any) -> Any:
    L = k.layers
    x, m = k.Input((5, 3), name="x"), k.Input((5,), dtype="bool", name="m")
    return k.Model([x, m], L.LSTM(4, name="lstm")(x, mask=m), name="given_mask")


def _wrappers(k: Any) -> Any:
    L = k.layers
    x = k.Input((5, 3), name="x")
    h = L.Bidirectional(L.LSTM(4, return_sequences=True, name="fw"), name="bidi")(x)
    h = L.TimeDistributed(L.Dense(2, name="inner"), name="td")(h)
    h = L.TimeDistributed(L.Dropout(0.1, name="inner_drop"), name="td_drop")(h)
    return k.Model(x, h, name="wrappers")


def _embedding(k: Any) -> Any:
    L = k.layers
    i = k.Input((5,), dtype="int32", name="ids")
    h = L.Embedding(10, 3, mask_zero=True, name="emb")(i)
    h = L.LSTM(3, return_sequences=True, name="lstm")(h)
    h = L.TimeDistributed(L.Dense(3, name="inner"), name="td")(h)
    h = L.Bidirectional(L.GRU(2, name="fw"), name="bidi")(h, training=True)
    return k.Model(i, h, name="embedding")


def _attention(k: Any) -> Any:
    L = k.layers
    x = k.Input((5, 4), name="x")
    h = L.MultiHeadAttention(2, 3, name="mha")(x, x)
    h = L.MultiHeadAttention(2, 3, name="mha_causal")(h, x, use_causal_mask=True)
    h = L.MultiHeadAttention(2, 3, name="mha_train")(h, x, training=True)
    h = L.Attention(name="att")([h, x])
    return k.Model(x, L.AdditiveAttention(name="add_att")([h, x], training=False),
                   name="attention")


def _regularization(k: Any) -> Any:
    L = k.layers
    x = k.Input((5, 3), name="x")
    h = L.Dense(3, name="dense")(x)
    h = L.Dropout(0.1, name="drop")(h, training=None)
    h = L.GaussianNoise(0.1, name="noise")(h)
    h = L.SpatialDropout1D(0.1, name="sdrop")(h)
    h = L.AlphaDropout(0.1, name="adrop")(h)
    h = L.GaussianDropout(0.1, name="gdrop")(h)
    h = L.ActivityRegularization(name="act_reg")(h)
    h = L.LayerNormalization(name="ln")(h)
    h = L.Softmax(name="softmax")(h)
    return k.Model(x, L.GlobalAveragePooling1D(name="gap")(h), name="regularization")


def _user_layers(k: Any) -> Any:
    Scale, Pair = _user(k)
    x = k.Input((5, 3), name="x")
    a = Scale(name="scale")(x)
    b = Scale(1.5, name="scale_train")(a, training=True)
    c = Pair(name="pair_kw")(b, b=a)
    return k.Model(x, Pair(name="pair_pos")(c, a), name="user_layers")


def _nested(k: Any) -> Any:
    L = k.layers
    i = k.Input((5, 3), name="inner_x")
    inner = k.Model(i, L.Dense(2, name="inner_dense")(i), name="inner")
    seq = k.Sequential([k.Input((5, 2)), L.Dense(3, name="seq_dense")], name="seq")
    x = k.Input((5, 3), name="x")
    h = seq(inner(x))
    h = L.Masking(name="masking")(h)
    h = L.TimeDistributed(L.Dense(2, name="td_inner"), name="td")(h)
    return k.Model(x, L.GlobalAveragePooling1D(name="gap")(h), name="nested")


def _cells_and_merges(k: Any) -> Any:
    L = k.layers
    x = k.Input((5, 3), name="x")
    a = L.Dense(3, name="dense")(x)
    h = L.Concatenate(name="concat")([L.Add(name="add")([x, a]), x])
    h = L.RNN([L.SimpleRNNCell(2, name="c1"), L.GRUCell(2, name="c2")], name="stacked")(h)
    h = L.RNN(L.LSTMCell(2, name="cell"), name="rnn")(L.RepeatVector(3, name="rep")(h))
    return k.Model(x, L.Softmax(name="softmax")(h), name="cells")


def _convolutional(k: Any) -> Any:
    L = k.layers
    x = k.Input((4, 4, 3), name="img")
    h = L.Conv2D(2, 2, name="conv")(x)
    h = L.SpectralNormalization(L.Dense(2, name="sn_dense"), name="sn")(h)
    h = L.SpatialDropout2D(0.1, name="sdrop")(h)
    s = k.Input((3, 3, 3, 1), name="seq")
    c = L.ConvLSTM2D(2, 2, name="convlstm")(s)
    return k.Model([x, s], [L.Flatten(name="flat")(h), c], name="convolutional")


CASES = {
    "recurrent": Case(_recurrent, [("float", (5, 3))]),
    "masked": Case(_masked, [("padded", (5, 3))]),
    "explicit_training": Case(_explicit_training, [("float", (5, 3))]),
    "initial_state": Case(_initial_state, [("float", (5, 3)), ("float", (4,)),
                                           ("float", (4,))]),
    "given_mask": Case(_given_mask, [("float", (5, 3)), ("bool", (5,))]),
    "wrappers": Case(_wrappers, [("float", (5, 3))]),
    "embedding": Case(_embedding, [(("int", 10), (5,))]),
    "attention": Case(_attention, [("float", (5, 4))]),
    "regularization": Case(_regularization, [("float", (5, 3))]),
    "user_layers": Case(_user_layers, [("float", (5, 3))]),
    "nested": Case(_nested, [("padded", (5, 3))]),
    "cells_and_merges": Case(_cells_and_merges, [("float", (5, 3))]),
    "convolutional": Case(_convolutional, [("float", (4, 4, 3)), ("float", (3, 3, 3, 1))]),
}


# ---------------------------------------------------------------------------- helpers
def _data(case: Case, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for kind, shape in case.inputs:
        if kind == "bool":
            m = rng.uniform(size=(BATCH, *shape)) > 0.3
            m[:, 0] = True
            out.append(m)
        elif isinstance(kind, tuple):
            ids = rng.integers(1, kind[1], (BATCH, *shape)).astype(np.int32)
            ids[0, -2:] = 0                                   # padding at the end
            out.append(ids)
        else:
            x = rng.uniform(-1, 1, (BATCH, *shape)).astype(np.float32)
            if kind == "padded":
                x[0, -2:] = 0.0
            out.append(x)
    return out


def _build(lib: Any, name: str) -> Any:
    """The case's model in ``lib``, its counters of generated names (the mask ops' ``any``,
    ``not_equal``) restarted as in a fresh session."""
    lib.backend.clear_session()
    return CASES[name].build(lib)


def _randomize(model: Any, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.5, 0.5, np.shape(w)).astype(np.float32)
                       for w in model.get_weights()])


def _config(model: Any, path: Path) -> dict:
    model.save(str(path))
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def _layers(config: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in config["config"]["layers"]}


def _strip_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_strip_ids(v) for v in value]
    return value


#: Keras classes built in their constructor: Keras writes no ``build_config`` for them.
BUILT_AT_INIT = {"Dropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
                 "AlphaDropout", "GaussianDropout", "ActivityRegularization", "Masking",
                 "Softmax", "GlobalAveragePooling1D"}


#: Cells inside an ``RNN``'s config: Keras writes their ``build_config``, rnnlens does not.
RNN_CELLS = {"SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells"}


def _normalized(keras_cfg: dict, ours: dict) -> tuple[dict, dict]:
    """Both configs without the documented differences (asserting Keras's side of each)."""
    theirs, ours = _strip_ids(keras_cfg), _strip_ids(ours)
    assert theirs.pop("compile_config", None) in (None, {})
    ours.pop("compile_config", None)

    def walk(a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            if a.get("class_name") in BUILT_AT_INIT and "build_config" in b:
                assert "build_config" not in a
                b.pop("build_config")
            if a.get("class_name") in ("Functional", "Sequential") and \
                    "compile_config" not in b:                    # a nested model
                assert a.pop("compile_config", None) in (None, {})
                a["config"].pop("build_input_shape", None)
            if a.get("class_name") in RNN_CELLS and "build_config" not in b:
                a.pop("build_config")
            if a.get("class_name") == "LSTM" and "shapes_dict" in a.get("build_config", {}):
                assert "initial_state_shape" in a["build_config"]["shapes_dict"]
                a.pop("build_config")
                b.pop("build_config", None)
            for key in set(a) & set(b):
                walk(a[key], b[key])
        elif isinstance(a, list) and isinstance(b, list):
            for x, y in zip(a, b):
                walk(x, y)

    walk(theirs, ours)
    return theirs, ours


# ---------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", sorted(CASES))
def test_inbound_nodes_equal_keras(K: Any, name: str, tmp_path: Path) -> None:
    theirs = _layers(_config(_build(K, name), tmp_path / "keras.keras"))
    ours = _layers(_config(_build(rnnlens, name), tmp_path / "ours.keras"))
    assert list(ours) == list(theirs)
    for layer, entry in theirs.items():
        assert _strip_ids(ours[layer]["inbound_nodes"]) == \
            _strip_ids(entry["inbound_nodes"]), layer


@pytest.mark.parametrize("name", sorted(CASES))
def test_whole_config_equal_keras(K: Any, name: str, tmp_path: Path) -> None:
    theirs, ours = _normalized(_config(_build(K, name), tmp_path / "keras.keras"),
                               _config(_build(rnnlens, name), tmp_path / "ours.keras"))
    assert ours == theirs


def test_recorded_kwargs_spelled_out(K: Any, tmp_path: Path) -> None:
    """The forms themselves (so the equality above cannot hold by both sides losing them)."""
    nodes = {n: e["inbound_nodes"][0]["kwargs"] for n, e in _layers(
        _config(_recurrent(rnnlens), tmp_path / "a.keras")).items() if e["inbound_nodes"]}
    assert nodes["lstm"] == {"training": False, "mask": None}
    assert nodes["drop"] == {"training": False}
    assert nodes["bn"] == {"mask": None}
    assert nodes["dense"] == {}
    masked = _layers(_config(_masked(rnnlens), tmp_path / "b.keras"))
    kwargs = masked["lstm"]["inbound_nodes"][0]["kwargs"]
    assert kwargs["training"] is False
    assert kwargs["mask"]["config"]["keras_history"][0] == "any"     # Masking's mask op
    explicit = _layers(_config(_explicit_training(rnnlens), tmp_path / "c.keras"))
    assert explicit["drop"]["inbound_nodes"][0]["kwargs"] == {"training": True}
    assert explicit["gru"]["inbound_nodes"][0]["kwargs"] == {"training": None}
    assert explicit["lstm2"]["inbound_nodes"][0]["kwargs"] == {"mask": None}


def _round_trip(writer: Any, reader: Any, name: str, path: Path,
                parity: Callable[..., None]) -> None:
    """Case ``name`` built and saved by ``writer``'s library, loaded by ``reader``:
    rnnlens's predictions (first) equal Keras's."""
    model = _build(writer, name)
    _randomize(model)
    model.save(str(path))
    loaded = reader.models.load_model(str(path))
    x = _data(CASES[name])
    args = x if len(x) > 1 else x[0]
    written, read = model.predict(args, verbose=0), loaded.predict(args, verbose=0)
    ours, theirs = (written, read) if writer is rnnlens else (read, written)
    for k, (a, b) in enumerate(zip(_as_list(ours), _as_list(theirs))):
        parity(a, np.asarray(b), f"{name}/output{k}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_rnnlens_file_loads_in_keras(K: Any, name: str, tmp_path: Path,
                                     parity: Callable[..., None]) -> None:
    _round_trip(rnnlens, K, name, tmp_path / "ours.keras", parity)


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_file_loads_in_rnnlens(K: Any, name: str, tmp_path: Path,
                                     parity: Callable[..., None]) -> None:
    _round_trip(K, rnnlens, name, tmp_path / "keras.keras", parity)


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def test_written_training_true_keeps_dropout_on_in_keras(K: Any, tmp_path: Path) -> None:
    """``Dropout(0.5)(x, training=True)``: the node's ``training: true`` reaches Keras, whose
    loaded model then drops when called without ``training`` (values 0 or 2, about half);
    ``predict`` (Keras's outer ``training=False`` overrides the node's) is the identity."""
    x = rnnlens.Input((50, 20), name="x")
    model = rnnlens.Model(x, rnnlens.layers.Dropout(0.5, name="drop")(x, training=True))
    path = tmp_path / "drop.keras"
    model.save(str(path))
    loaded = K.models.load_model(str(path))
    ones = np.ones((2, 50, 20), np.float32)
    out = np.asarray(loaded(ones))
    assert set(np.unique(out).tolist()) <= {0.0, 2.0}
    assert 0.35 < float(np.mean(out == 0.0)) < 0.65
    np.testing.assert_array_equal(np.asarray(loaded.predict(ones, verbose=0)), ones)


# ---------------------------------------------------------------------------- property
_CHAIN = {
    "lstm": lambda L, n: L.LSTM(3, return_sequences=True, name=n),
    "gru": lambda L, n: L.GRU(3, return_sequences=True, name=n),
    "simple_rnn": lambda L, n: L.SimpleRNN(3, return_sequences=True, name=n),
    "dropout": lambda L, n: L.Dropout(0.1, name=n),
    "bn": lambda L, n: L.BatchNormalization(name=n),
    "noise": lambda L, n: L.GaussianNoise(0.1, name=n),
    "softmax": lambda L, n: L.Softmax(name=n),
    "dense": lambda L, n: L.Dense(3, name=n),
    "td": lambda L, n: L.TimeDistributed(L.Dense(3, name=f"{n}_inner"), name=n),
    "bidi": lambda L, n: L.Bidirectional(L.GRU(2, return_sequences=True, name=f"{n}_fw"),
                                         merge_mode="sum", name=n),
}
_CALLS = [{}, {"training": True}, {"training": False}, {"training": None}]


def _chain(lib: Any, masking: bool, steps: list) -> Any:
    lib.backend.clear_session()
    x = lib.Input((5, 3), name="x")
    h = lib.layers.Masking(name="masking")(x) if masking else x
    for k, (kind, call) in enumerate(steps):
        layer = _CHAIN[kind](lib.layers, f"{kind}_{k}")
        if kind == "dense" or (kind == "td" and "training" in call):
            call = {}                       # Dense / TimeDistributed: no training argument
        h = layer(h, **call)
    return lib.Model(x, h, name="chain")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(masking=st.booleans(),
       steps=st.lists(st.tuples(st.sampled_from(sorted(_CHAIN)), st.sampled_from(_CALLS)),
                      min_size=1, max_size=4))
def test_random_chains_write_keras_nodes(K: Any, tmp_path: Path, masking: bool,
                                         steps: list) -> None:
    """Any chain of recurrent / dropout / normalization / wrapper layers, masked or not,
    each called with or without ``training=``: the nodes equal Keras's."""
    theirs = _layers(_config(_chain(K, masking, steps), tmp_path / "keras.keras"))
    ours = _layers(_config(_chain(rnnlens, masking, steps), tmp_path / "ours.keras"))
    assert list(ours) == list(theirs)
    for layer, entry in theirs.items():
        assert _strip_ids(ours[layer]["inbound_nodes"]) == \
            _strip_ids(entry["inbound_nodes"]), layer
