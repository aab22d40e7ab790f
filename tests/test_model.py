"""Model-level API: summary, layers, get_layer, Sequential, predict's structure, the Keras
import paths, initializers, seeding, activations, and what ``import rnnlens`` costs.

Tests that compare with a live Keras skip themselves when Keras is not importable.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import assert_close, keras_available
from rnnlens.layers import LSTM, Concatenate, Dense, Input, RepeatVector, TimeDistributed
from rnnlens.models import Model, Sequential


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; "
                    "live comparison skipped")
    import keras  # noqa: PLC0415

    return keras


def lstm_params(f: int, u: int, bias: bool = True) -> int:
    return 4 * (f * u + u * u + (u if bias else 0))


def summary_text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    return "\n".join(lines)


def readable(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    raise AssertionError


# ---------------------------------------------------------------------------- summary
def test_summary_tutorial_exact() -> None:
    """KERAS_FINDINGS e(i), verbatim."""
    rnnlens.utils.clear_session()
    i = Input((3, 1))
    model = Model(i, LSTM(1)(i))
    expected = textwrap.dedent("""\
        Model: "functional"
        ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
        ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
        ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
        │ input_layer (InputLayer)        │ (None, 3, 1)           │             0 │
        ├─────────────────────────────────┼────────────────────────┼───────────────┤
        │ lstm (LSTM)                     │ (None, 1)              │            12 │
        └─────────────────────────────────┴────────────────────────┴───────────────┘
         Total params: 12 (48.00 B)
         Trainable params: 12 (48.00 B)
         Non-trainable params: 0 (0.00 B)""")
    assert summary_text(model).rstrip("\n") == expected


@pytest.mark.parametrize("f,u,rs", [(1, 1, False), (3, 4, True), (7, 16, False),
                                    (2, 50, True)])
def test_summary_rows_shapes_and_param_counts(f: int, u: int, rs: bool) -> None:
    i = Input((5, f), name="seq_in")
    h = LSTM(u, return_sequences=rs, name="rnn")(i)
    out = Dense(3, name="head")(h)
    model = Model(i, out)
    text = summary_text(model)
    p_lstm, p_dense = lstm_params(f, u), u * 3 + 3
    total = p_lstm + p_dense
    assert "seq_in (InputLayer)" in text and f"(None, 5, {f})" in text
    assert "rnn (LSTM)" in text and "head (Dense)" in text
    assert (f"(None, 5, {u})" if rs else f"(None, {u})") in text
    assert ("(None, 5, 3)" if rs else "(None, 3)") in text
    assert f" {p_lstm:,} │" in text and f" {p_dense:,} │" in text
    assert f"Total params: {total:,} ({readable(total * 4)})" in text
    assert f"Trainable params: {total:,} ({readable(total * 4)})" in text
    assert "Non-trainable params: 0 (0.00 B)" in text
    assert model.count_params() == total
    rows = [line for line in text.splitlines() if line.startswith("│ ") and "(" in line[:35]]
    assert [r.split("(")[0].strip("│ ") for r in rows] == ["seq_in", "rnn", "head"]


def test_summary_three_outputs_and_sequential() -> None:
    i = Input((3, 1))
    s, h, c = LSTM(1, return_sequences=True, return_state=True, name="l3")(i)
    text = summary_text(Model(i, [s, h, c]))
    assert "l3 (LSTM)" in text and "[(None, 3, 1), (None," in text
    seq = Sequential([Input((5, 2)), LSTM(4, return_sequences=True, name="s1"),
                      LSTM(3, return_sequences=True, name="s2"),
                      TimeDistributed(Dense(2), name="td")])
    text = summary_text(seq)
    assert "InputLayer" not in text                   # Keras: no input row in Sequential
    assert "s1 (LSTM)" in text and "(None, 5, 4)" in text and " 112 │" in text
    assert "s2 (LSTM)" in text and " 96 │" in text
    assert "td" in text and "(TimeDistributed)" in text and " 8 │" in text
    assert "Total params: 216 (864.00 B)" in text


def test_summary_prints_to_stdout(capsys: Any) -> None:
    i = Input((3, 2))
    Model(i, LSTM(2, name="p")(i)).summary()
    assert "p (LSTM)" in capsys.readouterr().out


def _sg_tutorial(k: Any) -> Any:
    i = k.Input((3, 1), name="x")
    return k.Model(i, k.layers.LSTM(1, name="l")(i), name="tutorial")


def _sg_three(k: Any) -> Any:
    i = k.Input((3, 1), name="x")
    s, h, c = k.layers.LSTM(1, return_sequences=True, return_state=True, name="l")(i)
    return k.Model(i, [s, h, c], name="three")


def _sg_sequential(k: Any) -> Any:
    return k.Sequential([k.Input((5, 2)), k.layers.LSTM(4, return_sequences=True, name="a"),
                         k.layers.LSTM(3, return_sequences=True, name="b"),
                         k.layers.TimeDistributed(k.layers.Dense(2, name="d"), name="td")],
                        name="seq")


def _sg_encdec(k: Any) -> Any:
    e_in = k.Input((4, 3), name="enc_in")
    _, h, c = k.layers.LSTM(6, return_state=True, name="enc")(e_in)
    d_in = k.Input((5, 2), name="dec_in")
    d = k.layers.LSTM(6, return_sequences=True, name="dec")(d_in, initial_state=[h, c])
    o = k.layers.TimeDistributed(k.layers.Dense(3, activation="softmax", name="dd"),
                                 name="td")(d)
    return k.Model([e_in, d_in], o, name="encdec")


def _sg_repeat(k: Any) -> Any:
    i = k.Input((6, 2), name="x")
    e = k.layers.LSTM(5, name="e")(i)
    r = k.layers.RepeatVector(4, name="rep")(e)
    dd = k.layers.LSTM(4, return_sequences=True, name="dd")(r)
    return k.Model(i, k.layers.TimeDistributed(k.layers.Dense(1, name="o"), name="t")(dd),
                   name="repeat")


def _sg_concat(k: Any) -> Any:
    i = k.Input((5, 3), name="x")
    a = k.layers.LSTM(3, name="a")(i)
    b = k.layers.LSTM(4, name="b")(i)
    return k.Model(i, k.layers.Concatenate(name="cat")([a, b]), name="concat")


def _sg_big(k: Any) -> Any:
    i = k.Input((5, 3), name="x")
    return k.Model(i, k.layers.LSTM(300, name="big", return_sequences=True)(i), name="big")


def _sg_stateful(k: Any) -> Any:
    i = k.Input((3, 2), batch_size=2, name="x")
    s = k.layers.LSTM(4, stateful=True, return_sequences=True, name="s")(i)
    return k.Model(i, k.layers.LSTM(2, stateful=True, name="t")(s), name="stateful")


def _sg_shared(k: Any) -> Any:
    a, b = k.Input((4, 2), name="a"), k.Input((4, 2), name="b")
    shared = k.layers.LSTM(3, name="shared")
    c = k.layers.Concatenate(name="cat")([shared(a), shared(b)])
    return k.Model([a, b], k.layers.Dense(1, name="d")(c), name="shared_model")


def _sg_nested(k: Any) -> Any:
    inner_in = k.Input((4, 2), name="inner_in")
    inner = k.Model(inner_in, k.layers.LSTM(3, return_sequences=True, name="il")(inner_in),
                    name="inner")
    i = k.Input((4, 2), name="x")
    return k.Model(i, k.layers.LSTM(2, name="ol")(inner(i)), name="outer")


SUMMARY_GRAPHS = [_sg_tutorial, _sg_three, _sg_sequential, _sg_encdec, _sg_repeat,
                  _sg_concat, _sg_big, _sg_stateful, _sg_shared, _sg_nested]


@pytest.mark.keras
@pytest.mark.parametrize("graph", SUMMARY_GRAPHS, ids=[g.__name__[4:] for g in SUMMARY_GRAPHS])
def test_summary_text_equals_keras(K: Any, graph: Any) -> None:
    """Models with explicit names only, so both libraries print the same names."""
    k_text = summary_text(graph(K))
    r_text = summary_text(graph(rnnlens))
    assert r_text.rstrip("\n") == k_text.rstrip("\n"), f"\n{r_text}\n--- keras ---\n{k_text}"


# ---------------------------------------------------------------------------- layers
def test_model_layers_order_and_get_layer() -> None:
    e_in = Input((4, 3), name="enc_in")
    _, h, c = LSTM(6, return_state=True, name="enc")(e_in)
    d_in = Input((5, 2), name="dec_in")
    d = LSTM(6, return_sequences=True, name="dec")(d_in, initial_state=[h, c])
    o = TimeDistributed(Dense(3, activation="softmax"), name="td")(d)
    model = Model([e_in, d_in], o)
    assert [lyr.name for lyr in model.layers] == ["enc_in", "dec_in", "enc", "dec", "td"]
    assert model.get_layer("dec") is model.layers[3]
    assert model.get_layer(index=2).name == "enc"
    assert model.get_layer(index=-1).name == "td"
    assert isinstance(model.get_layer("enc"), LSTM)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 24), (6, 24), (24,), (2, 24), (6, 24), (24,), (6, 3), (3,)]


def test_input_batch_size_shape() -> None:
    assert Input((3, 4)).shape == (None, 3, 4)
    assert Input((3, 4), batch_size=2).shape == (2, 3, 4)
    assert Input(shape=(None, 4)).shape == (None, None, 4)
    assert Input(shape=None, batch_shape=(5, 3, 4)).shape == (5, 3, 4)
    assert Input((3, 4)).dtype == "float32"
    assert Input((3,), dtype="bool").dtype == "bool"


def test_input_with_only_batch_shape_like_keras() -> None:
    """keras.Input(batch_shape=(5, 3, 4)) works: ``shape`` defaults to None in Keras 3."""
    assert Input(batch_shape=(5, 3, 4)).shape == (5, 3, 4)


def test_sequential_ways_to_build() -> None:
    rnnlens.utils.set_random_seed(0)
    x = np.random.default_rng(0).uniform(-1, 1, (6, 4, 3)).astype(np.float32)

    a = Sequential()
    a.add(Input((4, 3)))
    a.add(LSTM(5, return_sequences=True))
    a.add(LSTM(2))
    b = Sequential([Input((4, 3)), LSTM(5, return_sequences=True), LSTM(2)])
    c = Sequential([LSTM(5, return_sequences=True, input_shape=(4, 3)), LSTM(2)])
    d = Sequential([LSTM(5, return_sequences=True), LSTM(2)])
    d_out_first = d.predict(x)                       # lazily built from the data
    assert d_out_first.shape == (6, 2)
    for m in (a, b, c, d):
        assert [type(lyr).__name__ for lyr in m.layers] == ["LSTM", "LSTM"]
        assert [w.shape for w in m.get_weights()] == [(3, 20), (5, 20), (20,), (5, 8),
                                                       (2, 8), (8,)]
        assert m.count_params() == lstm_params(3, 5) + lstm_params(5, 2)
    w = a.get_weights()
    for m in (b, c, d):
        m.set_weights(w)
        assert_close(m.predict(x), a.predict(x), atol=0.0, name="same weights, same output")
        assert_close(m(x), a(x), atol=0.0, name="model(x)")
    assert_close(a.predict(x, batch_size=4), a(x), atol=1e-6, name="predict in batches")


def test_sequential_pop_and_add_layer_instance_only() -> None:
    m = Sequential([Input((4, 3)), LSTM(5, return_sequences=True), LSTM(2), Dense(1)])
    assert len(m.layers) == 3
    popped = m.pop()
    assert isinstance(popped, Dense) and len(m.layers) == 2
    assert m.predict(np.zeros((2, 4, 3))).shape == (2, 2)


def test_sequential_lazily_built_layers_get_weights_after_data() -> None:
    m = Sequential([LSTM(3, return_sequences=True), TimeDistributed(Dense(2))])
    assert m.get_weights() == [] or all(w.size == 0 for w in m.get_weights())
    out = m(np.zeros((2, 5, 4), np.float32))
    assert out.shape == (2, 5, 2)
    assert [w.shape for w in m.get_weights()] == [(4, 12), (3, 12), (12,), (3, 2), (2,)]


# ---------------------------------------------------------------------------- predict
def _three_output_model(kind: str) -> Model:
    i = Input((3, 1))
    outs = LSTM(2, return_sequences=True, return_state=True)(i)
    if kind == "list":
        return Model(i, list(outs))
    if kind == "tuple":
        return Model(i, outs)
    if kind == "dict":
        return Model(i, {"seq": outs[0], "h": outs[1], "c": outs[2]})
    return Model(i, outs[1])


@pytest.mark.parametrize("kind,typ", [("single", np.ndarray), ("list", list),
                                      ("tuple", tuple), ("dict", dict)])
def test_predict_and_call_structure(kind: str, typ: type) -> None:
    model = _three_output_model(kind)
    x = np.random.default_rng(1).uniform(-1, 1, (10, 3, 1))
    for out in (model.predict(x, batch_size=4), model(x)):
        assert isinstance(out, typ), type(out)
        leaves = list(out.values()) if isinstance(out, dict) else (
            [out] if isinstance(out, np.ndarray) else list(out))
        assert all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in leaves)
        assert all(a.shape[0] == 10 for a in leaves)
    if kind == "list":
        seq, h, c = model.predict(x, batch_size=3)
        assert seq.shape == (10, 3, 2) and h.shape == c.shape == (10, 2)
        assert_close(seq[:, -1], h, atol=0.0, name="seq[:, -1] vs h")


def test_predict_accepts_lists_and_dicts_of_inputs() -> None:
    a, b = Input((3, 4), name="a"), Input((2, 1), name="b")
    model = Model([a, b], Concatenate()([LSTM(2)(a), LSTM(3)(b)]))
    xa = np.ones((4, 3, 4), np.float32)
    xb = np.ones((4, 2, 1), np.float32)
    want = model.predict([xa, xb])
    assert want.shape == (4, 5)
    assert_close(model.predict((xa, xb)), want, atol=0.0, name="tuple of inputs")
    assert_close(model.predict({"a": xa, "b": xb}), want, atol=0.0, name="dict of inputs")
    assert_close(model([xa, xb]), want, atol=0.0, name="model([xa, xb])")


def test_predict_accepts_nested_python_lists() -> None:
    i = Input((3, 1))
    model = Model(i, LSTM(1)(i))
    data = [[[0.1], [0.2], [0.3]]]
    assert_close(model.predict(data), model.predict(np.array(data, np.float32)), atol=0.0,
                 name="python list input")


def test_model_predict_verbose_does_not_crash(capsys: Any) -> None:
    model = _three_output_model("single")
    model.predict(np.zeros((5, 3, 1)), batch_size=2, verbose=1)
    assert "3/3" in capsys.readouterr().out


# ---------------------------------------------------------------------------- keras paths
def test_import_rnnlens_as_keras() -> None:
    import rnnlens as keras  # noqa: PLC0415

    assert keras.layers.LSTM is LSTM
    assert keras.models.Model is Model and keras.Model is Model
    assert keras.models.Sequential is Sequential and keras.Sequential is Sequential
    assert keras.Input is Input and keras.layers.Input is Input
    for name in ("Dense", "TimeDistributed", "RepeatVector", "Concatenate", "InputLayer",
                 "RNN", "Layer"):
        assert hasattr(keras.layers, name), name
    for name in ("GlorotUniform", "GlorotNormal", "Orthogonal", "Zeros", "Ones", "Constant",
                 "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling",
                 "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Identity"):
        assert isinstance(getattr(keras.initializers, name)(), keras.initializers.Initializer)
    assert callable(keras.activations.tanh) and callable(keras.activations.get)
    assert callable(keras.utils.set_random_seed)
    assert callable(keras.backend.clear_session)
    assert keras.backend.floatx() == "float32"
    i = keras.Input(shape=(3, 1))
    model = keras.Model(inputs=i, outputs=keras.layers.LSTM(1)(i))
    assert model.predict(np.array([0.1, 0.2, 0.3]).reshape((1, 3, 1))).shape == (1, 1)


def test_default_names_follow_keras_counters() -> None:
    rnnlens.utils.clear_session()
    i = Input((3, 1))
    a = LSTM(2, return_sequences=True)
    b = LSTM(1)
    td = TimeDistributed(Dense(1))
    m = Model(i, b(a(i)))
    assert (i.layer.name if hasattr(i, "layer") else None) == "input_layer"
    assert (a.name, b.name, td.name, td.layer.name, m.name) == (
        "lstm", "lstm_1", "time_distributed", "dense", "functional")
    assert Sequential().name == "sequential"
    assert RepeatVector(2).name == "repeat_vector"
    assert Concatenate().name == "concatenate"


def test_reset_state_on_non_stateful_layer_is_a_noop_like_keras() -> None:
    """Keras: RNN.reset_state() does nothing when the layer is not stateful (or unbuilt), so
    the common loop ``for l in model.layers: if hasattr(l, 'reset_state'): l.reset_state()``
    works on models mixing stateful and non-stateful LSTMs."""
    i = Input((3, 2), batch_size=2)
    a = LSTM(3, stateful=True, return_sequences=True)(i)
    model = Model(i, LSTM(2)(a))
    x = np.ones((2, 3, 2), np.float32)
    first = model.predict(x, batch_size=2)
    model.predict(x, batch_size=2)
    for layer in model.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()
    assert_close(model.predict(x, batch_size=2), first, atol=0.0, name="after reset loop")
    LSTM(2).reset_state()


# ---------------------------------------------------------------------------- initializers
INIT_NAMES = {
    "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform", "he_normal": "HeNormal", "lecun_uniform": "LecunUniform",
    "lecun_normal": "LecunNormal", "orthogonal": "Orthogonal", "zeros": "Zeros",
    "ones": "Ones", "constant": "Constant", "random_normal": "RandomNormal",
    "random_uniform": "RandomUniform", "truncated_normal": "TruncatedNormal",
    "variance_scaling": "VarianceScaling", "identity": "Identity", "zero": "Zeros",
    "one": "Ones", "uniform": "RandomUniform", "normal": "RandomNormal",
}


@pytest.mark.parametrize("name,cls", sorted(INIT_NAMES.items()))
def test_initializer_by_keras_name(name: str, cls: str) -> None:
    init = rnnlens.initializers.get(name)
    assert type(init).__name__ == cls
    assert isinstance(rnnlens.initializers.get(cls), getattr(rnnlens.initializers, cls))
    w = init((6, 6), "float32")
    assert w.shape == (6, 6) and w.dtype == np.float32
    if name == "identity":                  # 2-D only (a 1-D bias cannot use it)
        with pytest.raises(ValueError, match=r"2-D"):
            init((3,))
        return
    layer = LSTM(3, kernel_initializer=name, recurrent_initializer=name,
                 bias_initializer="zeros" if name == "orthogonal" else name)
    layer.build((None, 2, 5))
    assert [w.shape for w in layer.get_weights()] == [(5, 12), (3, 12), (12,)]


@pytest.mark.keras
def test_every_keras_initializer_name_resolves(K: Any) -> None:
    from keras.src.initializers import ALL_OBJECTS_DICT  # noqa: PLC0415

    skip = {"Initializer", "initializer", "STFT", "STFTInitializer", "stft"}
    missing, wrong = [], []
    for name in sorted(set(ALL_OBJECTS_DICT) - skip):
        try:
            ours = rnnlens.initializers.get(name)
        except Exception:  # noqa: BLE001
            missing.append(name)
            continue
        try:
            theirs = K.initializers.get(name)
        except Exception:  # noqa: BLE001  (Keras 3.15.1 itself fails on 'constant')
            continue
        if type(theirs).__name__.replace("Initializer", "") != type(ours).__name__.replace(
                "Initializer", ""):
            wrong.append(f"{name}: {type(ours).__name__} vs {type(theirs).__name__}")
    assert not missing and not wrong, f"missing {missing}; different {wrong}"


def _std_ok(w: np.ndarray, want: float, rel: float = 0.06) -> bool:
    return abs(w.std() - want) <= rel * want


@pytest.mark.parametrize("shape", [(64, 256), (300, 40)])
def test_variance_scaling_statistics(shape: tuple) -> None:
    I = rnnlens.initializers  # noqa: E741
    fan_in, fan_out = shape
    avg = (fan_in + fan_out) / 2
    limit = math.sqrt(6 / (fan_in + fan_out))
    w = I.GlorotUniform(seed=1)(shape)
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert _std_ok(w, limit / math.sqrt(3))
    assert _std_ok(I.GlorotNormal(seed=2)(shape), math.sqrt(1 / avg))
    assert _std_ok(I.HeNormal(seed=3)(shape), math.sqrt(2 / fan_in))
    assert _std_ok(I.LecunNormal(seed=4)(shape), math.sqrt(1 / fan_in))
    he_u = I.HeUniform(seed=5)(shape)
    assert np.abs(he_u).max() <= math.sqrt(6 / fan_in)
    assert _std_ok(he_u, math.sqrt(2 / fan_in))
    lec_u = I.LecunUniform(seed=6)(shape)
    assert np.abs(lec_u).max() <= math.sqrt(3 / fan_in)
    # truncated normals are cut at 2 standard deviations of the underlying normal
    gn = I.GlorotNormal(seed=7)(shape)
    assert np.abs(gn).max() <= 2 * math.sqrt(1 / avg) / 0.87962566103423978 + 1e-6
    vs = I.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal",
                           seed=8)(shape)
    assert _std_ok(vs, math.sqrt(2 / fan_out))


def test_random_initializers_defaults() -> None:
    I = rnnlens.initializers  # noqa: E741
    u = I.RandomUniform(seed=1)((200, 200))
    assert u.min() >= -0.05 and u.max() <= 0.05 and _std_ok(u, 0.1 / math.sqrt(12))
    n = I.RandomNormal(seed=2)((200, 200))
    assert abs(n.mean()) < 0.002 and _std_ok(n, 0.05, 0.03)
    t = I.TruncatedNormal(seed=3)((200, 200))
    assert np.abs(t).max() <= 0.1 + 1e-7
    assert_close(I.Zeros()((3, 4)), np.zeros((3, 4)), atol=0.0, name="zeros")
    assert_close(I.Ones()((3,)), np.ones(3), atol=0.0, name="ones")
    assert_close(I.Constant(0.25)((2, 2)), np.full((2, 2), 0.25), atol=0.0, name="constant")
    assert_close(I.Identity(gain=2.0)((3, 5)), 2 * np.eye(3, 5), atol=0.0, name="identity")


@pytest.mark.parametrize("u", [1, 3, 16, 40])
def test_orthogonal_recurrent_kernel_rows_orthonormal(u: int) -> None:
    rnnlens.utils.set_random_seed(u)
    layer = LSTM(u)
    layer.build((None, 2, 5))
    rk = layer.recurrent_kernel
    assert rk.shape == (u, 4 * u)
    assert_close(rk @ rk.T, np.eye(u), atol=1e-5, name="U U^T")   # whole matrix, not per gate
    tall = rnnlens.initializers.Orthogonal(gain=1.5, seed=1)((4 * u, u))
    assert_close(tall.T @ tall, 2.25 * np.eye(u), atol=1e-5, name="tall orthogonal")


def test_default_lstm_weights() -> None:
    rnnlens.utils.set_random_seed(0)
    layer = LSTM(8)
    layer.build((None, 3, 5))
    k, r, b = layer.get_weights()
    limit = math.sqrt(6 / (5 + 32))
    assert np.abs(k).max() <= limit
    assert_close(b, np.r_[np.zeros(8), np.ones(8), np.zeros(16)], atol=0.0,
                 name="unit_forget_bias default")


@pytest.mark.parametrize("u", [1, 4])
def test_unit_forget_bias_with_constant(u: int) -> None:
    layer = LSTM(u, bias_initializer=rnnlens.initializers.Constant(0.03))
    layer.build((None, 2, 3))
    want = np.array([0.03] * u + [1.0] * u + [0.03] * 2 * u, np.float32)
    assert_close(layer.bias, want, atol=0.0, name="Constant(0.03) + unit_forget_bias")
    off = LSTM(u, bias_initializer=rnnlens.initializers.Constant(0.03), unit_forget_bias=False)
    off.build((None, 2, 3))
    assert_close(off.bias, np.full(4 * u, 0.03, np.float32), atol=0.0, name="no ufb")
    ones = LSTM(u, bias_initializer="ones")
    ones.build((None, 2, 3))
    assert_close(ones.bias, np.ones(4 * u), atol=0.0, name="ones + ufb")
    nob = LSTM(u, use_bias=False)
    nob.build((None, 2, 3))
    assert len(nob.get_weights()) == 2 and nob.count_params() == lstm_params(3, u, False)


def test_initializer_serialization_round_trip() -> None:
    I = rnnlens.initializers  # noqa: E741
    for init in (I.Constant(0.5), I.GlorotUniform(seed=3), I.Orthogonal(gain=2.0, seed=1),
                 I.VarianceScaling(2.0, "fan_out", "uniform", seed=4)):
        cfg = I.serialize(init)
        again = I.get(cfg)
        assert type(again) is type(init) and again.get_config() == init.get_config()
        assert_close(again((4, 4)), init((4, 4)), atol=0.0, name=type(init).__name__)


# ---------------------------------------------------------------------------- seeding
def _build_weights() -> list[np.ndarray]:
    i = Input((4, 3))
    m = Model(i, TimeDistributed(Dense(2))(LSTM(5, return_sequences=True)(i)))
    return m.get_weights()


def test_set_random_seed_reproducible() -> None:
    rnnlens.utils.set_random_seed(7)
    a = _build_weights()
    rnnlens.utils.set_random_seed(7)
    b = _build_weights()
    rnnlens.utils.set_random_seed(8)
    c = _build_weights()
    assert_close(a, b, atol=0.0, name="same seed, same weights")
    assert max(float(np.abs(x - y).max()) for x, y in zip(a, c)) > 1e-3
    x = np.ones((3, 4, 3), np.float32)
    outs = []
    for _ in range(2):
        rnnlens.utils.set_random_seed(11)
        layer = LSTM(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
        outs.append(layer(x, training=True))
    assert_close(outs[0], outs[1], atol=0.0, name="same seed, same dropout")


def test_set_random_seed_rejects_non_int() -> None:
    with pytest.raises(TypeError, match=r"seed"):
        rnnlens.utils.set_random_seed("7")


# ---------------------------------------------------------------------------- activations
ACT_X = np.concatenate([np.linspace(-8, 8, 321), [-1e-4, 0.0, 1e-4, -3.0, 3.0, 6.0, -6.0]])


def _keras_activation_names(K: Any) -> list[str]:
    from keras.src.activations import ALL_OBJECTS_DICT  # noqa: PLC0415

    # threshold needs extra required arguments; it cannot be an LSTM activation by name
    return sorted(n for n in ALL_OBJECTS_DICT if n != "threshold")


def test_activation_names_and_callables() -> None:
    A = rnnlens.activations  # noqa: N806
    assert A.get(None) is A.linear
    f = lambda v: v * 2  # noqa: E731
    assert A.get(f) is f
    assert A.get("swish") is A.silu and A.get("hard_swish") is A.hard_silu
    x = ACT_X.astype(np.float32)
    assert_close(A.get("hard_sigmoid")(x), np.clip(x / 6 + 0.5, 0, 1), atol=1e-6,
                 name="hard_sigmoid slope 1/6")
    assert_close(A.get("sigmoid")(x), 1 / (1 + np.exp(-x.astype(np.float64))), atol=1e-6,
                 name="sigmoid")
    for name in ("tanh", "sigmoid", "relu", "gelu", "elu", "softplus"):
        assert A.get(name)(x).dtype == np.float32, name


@pytest.mark.keras
@pytest.mark.parametrize("name", ["elu", "exponential", "gelu", "hard_sigmoid", "hard_silu",
                                  "hard_swish", "leaky_relu", "linear", "mish", "relu", "relu6",
                                  "selu", "sigmoid", "silu", "softplus", "softsign", "swish",
                                  "tanh", "celu", "hard_tanh", "tanh_shrink", "log_sigmoid",
                                  "squareplus", "softmax", "log_softmax", "hard_shrink",
                                  "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax",
                                  "glu"])
def test_activation_equals_keras(K: Any, name: str) -> None:
    """Every Keras 3.15.1 activation name (``threshold`` needs arguments) exists in rnnlens
    and equals Keras's. At 1e-6 (relative to max(1, |value|), so exp(8) is judged by its float32 precision)
    on [-8, 8] and around 0, and on a (B, u) array for the axis-wise ones."""
    ours = rnnlens.activations.get(name)
    theirs = K.activations.get(name)
    for x in (ACT_X.astype(np.float32), ACT_X[:320].reshape(8, 40).astype(np.float32)):
        want = np.asarray(theirs(x))
        got = ours(x)
        assert np.asarray(got).shape == want.shape, name
        scale = np.maximum(1.0, np.abs(want))
        assert_close(np.asarray(got) / scale, want / scale, atol=1e-6, name=name)


# ---------------------------------------------------------------------------- import cost
def test_import_is_light() -> None:
    """``import rnnlens`` loads NumPy and the standard library only, and a bounded set of
    its own modules (the rest load on first use). Its time is measured, not asserted
    here, by benchmarks/bench_forward.py (``import`` row, beside numpy, keras, torch)."""
    code = textwrap.dedent("""
        import sys
        before = set(sys.modules)
        import rnnlens
        from rnnlens.layers import LSTM, Input
        from rnnlens.models import Model
        new = [m for m in sys.modules if m not in before]
        heavy = [m for m in new if m.split(".")[0] in ("tensorflow", "torch", "keras", "jax",
                 "scipy", "pandas", "h5py", "onnx", "matplotlib", "dask", "starlette")]
        ours = [m for m in new if m.startswith("rnnlens")]
        print(len(ours), ",".join(heavy) or "-")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"}).stdout.split()
    assert out[1] == "-", f"import rnnlens pulled in {out[1]}"
    assert int(out[0]) <= 100, f"import rnnlens loads {out[0]} of its own modules"
