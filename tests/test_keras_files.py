"""Keras files both ways: what Keras 3.15.1 saves, rnnlens loads and predicts the same, and
what rnnlens saves, Keras loads and predicts the same.

Every model here is described once as ``build(lib)`` over the shared Keras-style API, so
the same function builds the Keras model (``lib=keras``) and its native rnnlens twin
(``lib=rnnlens``). Weights are random U(-0.5, 0.5) so biases matter; every returned tensor
is compared with ``oracle.assert_close`` at 1e-5 through the ``parity`` fixture (which
records the worst difference for the end-of-run summary).

Covered:

* Keras ``.keras`` and legacy ``.h5`` (``model.save("x.h5")``) -> ``rnnlens.models.load_model``
  for every layer rnnlens reads and a range of graphs;
* rnnlens ``model.save`` -> ``keras.models.load_model``, both for models that came from Keras
  files and for models built natively in rnnlens;
* ``save_weights`` / ``load_weights`` (``.weights.h5``) both ways, ``load_weights("x.keras")``
  and ``load_weights("x.h5")``;
* ``rnnlens inspect`` and ``rnnlens predict`` as subprocesses.

Without Keras every test here is skipped (module-scoped fixture ``K``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import rnnlens
from oracle import keras_available

pytestmark = pytest.mark.keras

ATOL = 1e-5
BATCH = 3
REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); Keras file tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


# ---------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One model: ``build(lib)`` for keras or rnnlens, and its inputs.

    ``inputs``: one ``(kind, shape)`` per model input; kind is ``"float"``, ``"padded"``
    (floats with zeroed steps, for Masking) or ``("int", vocab)`` (ids with 0 = padding).
    """

    build: Callable[[Any], Any]
    inputs: list[tuple[Any, tuple[int, ...]]]
    keras_only: bool = False           # uses keras.ops: no native rnnlens twin


def _fn(lib: Any, inputs: Any, outputs: Any, name: str | None = None) -> Any:
    return lib.Model(inputs, outputs, name=name) if name else lib.Model(inputs, outputs)


def _single(layer_fn: Callable[[Any], Any], shape: tuple = (5, 3)) -> Callable[[Any], Any]:
    def build(lib: Any) -> Any:
        x = lib.Input(shape)
        return _fn(lib, x, layer_fn(lib)(x))
    return build


def _bidir(mode: Any) -> Callable[[Any], Any]:
    return _single(lambda lib: lib.layers.Bidirectional(
        lib.layers.LSTM(3, return_sequences=True), merge_mode=mode))


def _bidir_states(lib: Any) -> Any:
    x = lib.Input((5, 3))
    out = lib.layers.Bidirectional(lib.layers.GRU(3, return_state=True))(x)
    return _fn(lib, x, list(out))


def _bidir_backward_layer(lib: Any) -> Any:
    x = lib.Input((5, 3))
    layer = lib.layers.Bidirectional(
        lib.layers.LSTM(3, return_sequences=True),
        backward_layer=lib.layers.LSTM(3, return_sequences=True, go_backwards=True,
                                       activation="relu"),
        merge_mode="sum")
    return _fn(lib, x, layer(x))


def _td_dense(lib: Any) -> Any:
    x = lib.Input((5, 3))
    h = lib.layers.LSTM(4, return_sequences=True)(x)
    return _fn(lib, x, lib.layers.TimeDistributed(lib.layers.Dense(2, activation="tanh"))(h))


def _dense(lib: Any) -> Any:
    x = lib.Input((5, 3))
    h = lib.layers.LSTM(4)(x)
    return _fn(lib, x, lib.layers.Dense(3, activation="softmax")(h))


def _repeat_vector(lib: Any) -> Any:
    x = lib.Input((5, 3))
    h = lib.layers.LSTM(4)(x)
    r = lib.layers.RepeatVector(6)(h)
    return _fn(lib, x, lib.layers.GRU(2, return_sequences=True)(r))


def _concatenate(lib: Any) -> Any:
    a, b = lib.Input((5, 3), name="series_a"), lib.Input((4, 2), name="series_b")
    ha = lib.layers.LSTM(4)(a)
    hb = lib.layers.GRU(3)(b)
    cat = lib.layers.Concatenate()([ha, hb])
    return _fn(lib, [a, b], lib.layers.Dense(2)(cat))


def _masking(lib: Any) -> Any:
    x = lib.Input((6, 3))
    m = lib.layers.Masking(0.0)(x)
    h = lib.layers.LSTM(4, return_sequences=True)(m)
    return _fn(lib, x, lib.layers.SimpleRNN(2)(h))


def _embedding_bidir(lib: Any) -> Any:
    x = lib.Input((6,), dtype="int32")
    e = lib.layers.Embedding(12, 5, mask_zero=True)(x)
    h = lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True))(e)
    return _fn(lib, x, lib.layers.LSTM(2)(h))


def _rnn_stacked_cells(lib: Any) -> Any:
    x = lib.Input((5, 3))
    cells = [lib.layers.LSTMCell(4), lib.layers.GRUCell(3), lib.layers.SimpleRNNCell(2)]
    out = lib.layers.RNN(cells, return_sequences=True, return_state=True)(x)
    return _fn(lib, x, list(out))


def _stacked(lib: Any) -> Any:
    x = lib.Input((5, 3))
    h = lib.layers.LSTM(5, return_sequences=True)(x)
    h = lib.layers.GRU(4, return_sequences=True)(h)
    return _fn(lib, x, lib.layers.SimpleRNN(3)(h))


def _enc_dec(lib: Any) -> Any:
    """Encoder-decoder: the encoder's [h, c] start the decoder; states are outputs too."""
    enc_in, dec_in = lib.Input((5, 3), name="encoder_in"), lib.Input((4, 2), name="decoder_in")
    _, h, c = lib.layers.LSTM(4, return_state=True, name="encoder")(enc_in)
    seq, dh, dc = lib.layers.LSTM(4, return_sequences=True, return_state=True,
                                  name="decoder")(dec_in, initial_state=[h, c])
    y = lib.layers.TimeDistributed(lib.layers.Dense(3, activation="softmax"), name="head")(seq)
    return _fn(lib, [enc_in, dec_in], [y, dh, dc, h, c])


def _masked_enc_dec(lib: Any) -> Any:
    """Embedding(mask_zero) + Bidirectional encoder, GRU decoder from the encoder state."""
    src, tgt = lib.Input((6,), dtype="int32"), lib.Input((4, 2))
    e = lib.layers.Embedding(12, 4, mask_zero=True)(src)
    _, hf, hb = lib.layers.Bidirectional(lib.layers.GRU(3, return_state=True))(e)
    state = lib.layers.Concatenate()([hf, hb])
    seq = lib.layers.GRU(6, return_sequences=True)(tgt, initial_state=state)
    return _fn(lib, [src, tgt], [seq, state])


def _sequential(lib: Any) -> Any:
    return lib.Sequential([lib.Input((6, 3)), lib.layers.Masking(0.0),
                           lib.layers.LSTM(4, return_sequences=True),
                           lib.layers.TimeDistributed(lib.layers.Dense(2))])


def _sequential_embedding(lib: Any) -> Any:
    return lib.Sequential([lib.Input((6,), dtype="int32"),
                           lib.layers.Embedding(12, 4, mask_zero=True),
                           lib.layers.GRU(3, reset_after=False, return_sequences=True),
                           lib.layers.SimpleRNN(2)])


def _nested_functional(lib: Any) -> Any:
    xi = lib.Input((5, 3))
    inner = _fn(lib, xi, lib.layers.LSTM(4, return_sequences=True)(xi), name="inner")
    x = lib.Input((5, 3))
    return _fn(lib, x, lib.layers.GRU(2)(inner(x)), name="outer")


def _nested_sequential(lib: Any) -> Any:
    inner = lib.Sequential([lib.Input((5, 3)), lib.layers.LSTM(4, return_sequences=True),
                            lib.layers.TimeDistributed(lib.layers.Dense(3))], name="inner_seq")
    x = lib.Input((5, 3))
    return _fn(lib, x, lib.layers.SimpleRNN(2)(inner(x)))


def _nested_outputs(lib: Any) -> Any:
    """Outputs as a nested list: ``[sequence, [h, c]]``."""
    x = lib.Input((5, 3))
    seq, h, c = lib.layers.LSTM(4, return_sequences=True, return_state=True)(x)
    return _fn(lib, x, [seq, [h, c]])


def _mask_ops(lib: Any) -> Any:
    """Explicit mask ops: Keras records NotEqual / Any (and Equal) as graph nodes."""
    ops = lib.ops
    x = lib.Input((6, 3))
    keep = ops.any(ops.not_equal(x, 0.0), axis=-1)
    h = lib.layers.LSTM(4, return_sequences=True)(x, mask=keep)
    drop = ops.any(ops.equal(x, 0.5), axis=-1)             # an Equal node too
    g = lib.layers.GRU(3)(x, mask=drop)
    return _fn(lib, x, [h, g])


CASES: dict[str, Case] = {
    "lstm_seq": Case(_single(lambda lib: lib.layers.LSTM(4, return_sequences=True)),
                     [("float", (5, 3))]),
    "lstm_states": Case(_single(lambda lib: lib.layers.LSTM(4, return_state=True)),
                        [("float", (5, 3))]),
    "lstm_back_nobias_relu": Case(_single(lambda lib: lib.layers.LSTM(
        3, go_backwards=True, use_bias=False, activation="relu",
        recurrent_activation="hard_sigmoid")), [("float", (5, 3))]),
    "gru_reset_after": Case(_single(lambda lib: lib.layers.GRU(
        4, return_sequences=True, return_state=True)), [("float", (5, 3))]),
    "gru_reset_before": Case(_single(lambda lib: lib.layers.GRU(
        4, reset_after=False, return_state=True, go_backwards=True)), [("float", (5, 3))]),
    "gru_unroll": Case(_single(lambda lib: lib.layers.GRU(3, unroll=True,
                                                         return_sequences=True)),
                       [("float", (5, 3))]),
    "simple_rnn": Case(_single(lambda lib: lib.layers.SimpleRNN(
        4, activation="relu", return_sequences=True, return_state=True)), [("float", (5, 3))]),
    **{f"bidir_{mode}": Case(_bidir(mode), [("float", (5, 3))])
       for mode in ("concat", "sum", "mul", "ave", None)},
    "bidir_states": Case(_bidir_states, [("float", (5, 3))]),
    "bidir_backward_layer": Case(_bidir_backward_layer, [("float", (5, 3))]),
    "td_dense": Case(_td_dense, [("float", (5, 3))]),
    "dense": Case(_dense, [("float", (5, 3))]),
    "repeat_vector": Case(_repeat_vector, [("float", (5, 3))]),
    "concatenate_two_inputs": Case(_concatenate, [("float", (5, 3)), ("float", (4, 2))]),
    "masking": Case(_masking, [("padded", (6, 3))]),
    "embedding_mask_bidir": Case(_embedding_bidir, [(("int", 12), (6,))]),
    "rnn_single_cell": Case(_single(lambda lib: lib.layers.RNN(
        lib.layers.LSTMCell(4), return_sequences=True)), [("float", (5, 3))]),
    "rnn_stacked_cells": Case(_rnn_stacked_cells, [("float", (5, 3))]),
    "stacked": Case(_stacked, [("float", (5, 3))]),
    "enc_dec_states": Case(_enc_dec, [("float", (5, 3)), ("float", (4, 2))]),
    "masked_enc_dec": Case(_masked_enc_dec, [(("int", 12), (6,)), ("float", (4, 2))]),
    "sequential": Case(_sequential, [("padded", (6, 3))]),
    "sequential_embedding": Case(_sequential_embedding, [(("int", 12), (6,))]),
    "nested_functional": Case(_nested_functional, [("float", (5, 3))]),
    "nested_sequential": Case(_nested_sequential, [("float", (5, 3))]),
    "nested_outputs": Case(_nested_outputs, [("float", (5, 3))]),
    "mask_ops": Case(_mask_ops, [("padded", (6, 3))], keras_only=True),
}
NATIVE = [name for name, case in CASES.items() if not case.keras_only]


# ---------------------------------------------------------------------------- helpers
def make_inputs(case: Case, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 7)
    out = []
    for kind, shape in case.inputs:
        if isinstance(kind, tuple):                            # ("int", vocab): 0 pads
            x = rng.integers(1, kind[1], (BATCH, *shape)).astype(np.int32)
            x[0, shape[0] // 2:] = 0                           # right padding
            x[1, :2] = 0                                       # left padding
            x[2, 2:4] = 0                                      # a hole
        else:
            x = rng.uniform(-1, 1, (BATCH, *shape)).astype(np.float32)
            if kind == "padded":
                x[0, shape[0] // 2:] = 0.0
                x[1, :2] = 0.0
                x[2, 1] = 0.0
        out.append(x)
    return out


def rand_weights(model: Any, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.5, 0.5, np.shape(w)).astype(np.float32)
            for w in model.get_weights()]


def keras_model(K: Any, name: str, seed: int = 1) -> Any:
    model = CASES[name].build(K)
    model.set_weights(rand_weights(model, seed))
    return model


def native_pair(K: Any, name: str, seed: int = 2) -> tuple[Any, Any]:
    """The same model built in Keras and natively in rnnlens, with the same weights."""
    k_model = CASES[name].build(K)
    r_model = CASES[name].build(rnnlens)
    weights = rand_weights(k_model, seed)
    assert [w.shape for w in r_model.get_weights()] == [w.shape for w in weights], \
        "rnnlens and Keras disagree on the weight shapes"
    k_model.set_weights(weights)
    r_model.set_weights(weights)
    return k_model, r_model


def as_list(out: Any) -> list[np.ndarray]:
    """Every returned tensor, flattened depth-first (Keras's own flattening order)."""
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in as_list(o)]
    return [np.asarray(out)]


def structure(out: Any) -> Any:
    """The nesting of a result, with shapes at the leaves."""
    if isinstance(out, (list, tuple)):
        return [structure(o) for o in out]
    return tuple(np.shape(out))


def run_keras(model: Any, xs: list[np.ndarray]) -> list[np.ndarray]:
    return as_list(model(xs if len(xs) > 1 else xs[0], training=False))


def run_rnnlens(model: Any, xs: list[np.ndarray]) -> list[np.ndarray]:
    out = model.predict(xs if len(xs) > 1 else xs[0])
    outs = as_list(out)
    for k, o in enumerate(outs):
        assert o.dtype == np.float32, f"output {k} is {o.dtype}, not float32"
    return outs


def keras_save(K: Any, model: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(path))


def compare(parity: Any, actual: list, expected: list, what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs vs {len(expected)}"
    parity(actual, expected, name=what, atol=ATOL)


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# ---------------------------------------------------------------------------- Keras -> rnnlens
@pytest.mark.parametrize("fmt", [".keras", ".h5"])
@pytest.mark.parametrize("name", list(CASES))
def test_keras_file_loads_and_predicts_the_same(K: Any, parity: Any, tmp_path: Path,
                                                name: str, fmt: str) -> None:
    case = CASES[name]
    model = keras_model(K, name)
    path = tmp_path / f"{name}{fmt}"
    try:
        keras_save(K, model, path)
    except Exception as err:  # noqa: BLE001
        if fmt == ".h5":
            pytest.skip(f"Keras does not write this model as legacy .h5: {err}")
        raise
    xs = make_inputs(case)
    raw = model(xs if len(xs) > 1 else xs[0], training=False)
    expected = as_list(raw)
    loaded = rnnlens.models.load_model(path)
    assert len(loaded.inputs) == len(model.inputs)
    assert len(loaded.outputs) == len(model.outputs)
    assert loaded.count_params() == model.count_params()
    got = loaded.predict(xs if len(xs) > 1 else xs[0])
    compare(parity, run_rnnlens(loaded, xs), expected, f"{name}{fmt} Keras->rnnlens")
    assert structure(got) == structure(raw), "output nesting differs from Keras's"
    assert loaded.get_weights().__len__() == len(model.get_weights())
    for k, (a, e) in enumerate(zip(loaded.get_weights(), model.get_weights())):
        np.testing.assert_array_equal(a, e, err_msg=f"weight {k} of {name}{fmt}")


def test_load_model_accepts_str_and_pathlike(K: Any, tmp_path: Path) -> None:
    model = keras_model(K, "lstm_seq")
    path = tmp_path / "m.keras"
    keras_save(K, model, path)
    xs = make_inputs(CASES["lstm_seq"])
    a = rnnlens.models.load_model(str(path)).predict(xs[0])
    b = rnnlens.models.load_model(path).predict(xs[0])
    np.testing.assert_array_equal(a, b)


def test_loading_writes_nothing(K: Any, tmp_path: Path, monkeypatch: Any) -> None:
    model = keras_model(K, "enc_dec_states")
    src = tmp_path / "src"
    src.mkdir()
    keras_save(K, model, src / "m.keras")
    keras_save(K, model, src / "m.h5")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before = files_in(tmp_path)
    rnnlens.models.load_model(src / "m.keras")
    rnnlens.models.load_model(src / "m.h5")
    assert files_in(tmp_path) == before


# ---------------------------------------------------------------------------- rnnlens -> Keras
@pytest.mark.parametrize("name", list(CASES))
def test_rnnlens_resave_of_keras_file_loads_in_keras(K: Any, parity: Any, tmp_path: Path,
                                                     name: str) -> None:
    """Keras .keras -> rnnlens load_model -> rnnlens save -> keras.models.load_model."""
    case = CASES[name]
    original = keras_model(K, name)
    keras_save(K, original, tmp_path / "keras.keras")
    loaded = rnnlens.models.load_model(tmp_path / "keras.keras")
    loaded.save(tmp_path / "rnnlens.keras")
    back = K.models.load_model(tmp_path / "rnnlens.keras")
    xs = make_inputs(case, seed=3)
    expected = run_keras(original, xs)
    compare(parity, run_keras(back, xs), expected, f"{name} rnnlens->Keras")
    assert structure(back(xs if len(xs) > 1 else xs[0])) == \
        structure(original(xs if len(xs) > 1 else xs[0])), "output nesting changed"
    assert [layer.name for layer in back.layers] == [layer.name for layer in original.layers]
    # and rnnlens reads its own file back
    again = rnnlens.models.load_model(tmp_path / "rnnlens.keras")
    compare(parity, run_rnnlens(again, xs), expected, f"{name} rnnlens->rnnlens")


@pytest.mark.parametrize("name", NATIVE)
def test_native_rnnlens_model_loads_in_keras(K: Any, parity: Any, tmp_path: Path,
                                             name: str) -> None:
    """A model built in rnnlens (weights set to match a Keras twin) saved by rnnlens."""
    twin, model = native_pair(K, name)
    xs = make_inputs(CASES[name], seed=4)
    ours = run_rnnlens(model, xs)
    compare(parity, ours, run_keras(twin, xs), f"{name} native rnnlens vs Keras twin")
    model.save(tmp_path / "native.keras")
    back = K.models.load_model(tmp_path / "native.keras")
    assert len(back.outputs) == len(twin.outputs)
    compare(parity, run_keras(back, xs), ours, f"{name} native rnnlens->Keras")
    assert structure(back(xs if len(xs) > 1 else xs[0])) == \
        structure(twin(xs if len(xs) > 1 else xs[0])), "output nesting changed"
    for k, (a, e) in enumerate(zip(back.get_weights(), model.get_weights())):
        np.testing.assert_array_equal(np.asarray(a), e, err_msg=f"weight {k} of {name}")


# ---------------------------------------------------------------------------- weights files
@pytest.mark.parametrize("name", NATIVE)
def test_keras_save_weights_rnnlens_load_weights(K: Any, parity: Any, tmp_path: Path,
                                                 name: str) -> None:
    twin, model = native_pair(K, name, seed=5)
    twin.set_weights(rand_weights(twin, seed=6))              # differ from rnnlens's
    path = tmp_path / "k.weights.h5"
    twin.save_weights(str(path))
    model.load_weights(path)
    for k, (a, e) in enumerate(zip(model.get_weights(), twin.get_weights())):
        np.testing.assert_array_equal(a, np.asarray(e), err_msg=f"weight {k}")
    xs = make_inputs(CASES[name], seed=5)
    compare(parity, run_rnnlens(model, xs), run_keras(twin, xs),
            f"{name} Keras save_weights -> rnnlens load_weights")


@pytest.mark.parametrize("name", NATIVE)
def test_rnnlens_save_weights_keras_load_weights(K: Any, parity: Any, tmp_path: Path,
                                                 name: str) -> None:
    twin, model = native_pair(K, name, seed=7)
    model.set_weights(rand_weights(model, seed=8))            # differ from Keras's
    path = tmp_path / "r.weights.h5"
    model.save_weights(path)
    twin.load_weights(str(path))
    for k, (a, e) in enumerate(zip(twin.get_weights(), model.get_weights())):
        np.testing.assert_array_equal(np.asarray(a), e, err_msg=f"weight {k}")
    xs = make_inputs(CASES[name], seed=6)
    compare(parity, run_keras(twin, xs), run_rnnlens(model, xs),
            f"{name} rnnlens save_weights -> Keras load_weights")


@pytest.mark.parametrize("fmt", [".keras", ".h5"])
@pytest.mark.parametrize("name", ["lstm_states", "gru_reset_before", "bidir_None",
                                  "rnn_stacked_cells", "enc_dec_states",
                                  "embedding_mask_bidir", "sequential", "nested_functional"])
def test_rnnlens_load_weights_from_keras_model_file(K: Any, parity: Any, tmp_path: Path,
                                                    name: str, fmt: str) -> None:
    """``model.load_weights("x.keras")`` and ``model.load_weights("x.h5")``.

    Keras matches a legacy .h5's layers by position, not by name (``by_name=False``), so a
    twin whose layer names differ from the file's loads: checked on Keras's side first."""
    twin, model = native_pair(K, name, seed=9)
    twin.set_weights(rand_weights(twin, seed=10))
    path = tmp_path / f"k{fmt}"
    keras_save(K, twin, path)
    other = CASES[name].build(K)                   # fresh Keras names: lstm_7 vs lstm_6 ...
    other.load_weights(str(path))
    for a, e in zip(other.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))
    model.load_weights(path)
    xs = make_inputs(CASES[name], seed=7)
    compare(parity, run_rnnlens(model, xs), run_keras(twin, xs),
            f"{name} rnnlens load_weights({fmt})")


def test_keras_load_weights_from_rnnlens_archive(K: Any, parity: Any, tmp_path: Path) -> None:
    """Keras's ``load_weights("x.keras")`` reads an archive rnnlens wrote."""
    twin, model = native_pair(K, "enc_dec_states", seed=11)
    model.set_weights(rand_weights(model, seed=12))
    model.save(tmp_path / "r.keras")
    twin.load_weights(str(tmp_path / "r.keras"))
    xs = make_inputs(CASES["enc_dec_states"], seed=8)
    compare(parity, run_keras(twin, xs), run_rnnlens(model, xs),
            "enc_dec Keras load_weights(rnnlens .keras)")


def test_save_names_are_checked(tmp_path: Path) -> None:
    model = CASES["lstm_seq"].build(rnnlens)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.txt")               # .h5 writes legacy HDF5
    assert files_in(tmp_path) == set()


# ---------------------------------------------------------------------------- the CLI
def cli(*args: Any, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "rnnlens", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def output_rows(stdout: str) -> list[str]:
    """The lines of inspect's Outputs table that describe one output each."""
    lines = stdout.split("Outputs:", 1)[1].splitlines()
    return [line for line in lines if "output " in line]


@pytest.fixture(scope="module")
def enc_dec_files(K: Any, tmp_path_factory: Any) -> dict[str, Path]:
    """The encoder-decoder saved by Keras (.keras, .h5) and re-saved by rnnlens."""
    folder = tmp_path_factory.mktemp("enc_dec")
    model = keras_model(K, "enc_dec_states", seed=13)
    keras_save(K, model, folder / "keras.keras")
    keras_save(K, model, folder / "keras.h5")
    rnnlens.models.load_model(folder / "keras.keras").save(folder / "rnnlens.keras")
    return {"keras": folder / "keras.keras", "h5": folder / "keras.h5",
            "rnnlens": folder / "rnnlens.keras"}


@pytest.mark.parametrize("which", ["keras", "h5", "rnnlens"])
def test_cli_inspect_names_sequences_and_states(enc_dec_files: dict, tmp_path: Path,
                                                which: str) -> None:
    result = cli("inspect", enc_dec_files[which], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for layer in ("encoder", "decoder", "head"):
        assert layer in out, f"layer {layer} missing from the summary:\n{out}"
    rows = output_rows(out)
    assert len(rows) == 5, out
    # outputs: [head(seq), decoder h, decoder c, encoder h, encoder c]
    assert "sequence" in rows[0] and "head" in rows[0], rows[0]
    assert "decoder[1]" in rows[1] and "state" in rows[1] and "hidden state h" in rows[1]
    assert "decoder[2]" in rows[2] and "state" in rows[2] and "cell state c" in rows[2]
    assert "encoder[1]" in rows[3] and "hidden state h" in rows[3], rows[3]
    assert "encoder[2]" in rows[4] and "cell state c" in rows[4], rows[4]
    assert "(None, 4, 3)" in rows[0] and "(None, 4)" in rows[1]
    assert "encoder_in" in out and "decoder_in" in out
    assert files_in(tmp_path) == set(), "inspect wrote a file"


@pytest.mark.parametrize("name, expect", [
    ("lstm_states", ["last output", "state: final hidden state h",
                     "state: final cell state c"]),
    ("gru_reset_after", ["sequence: an output at every step", "state: final hidden state h"]),
    ("bidir_states", ["last output", "(forward)", "(backward)"]),
    ("bidir_None", ["sequence: an output at every step", "sequence: an output at every step"]),
    ("rnn_stacked_cells", ["sequence: an output at every step"]),
    ("td_dense", ["sequence: one output per step"]),
])
def test_cli_inspect_output_kinds(K: Any, tmp_path: Path, name: str, expect: list) -> None:
    keras_save(K, keras_model(K, name), tmp_path / "m.keras")
    result = cli("inspect", tmp_path / "m.keras", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = output_rows(result.stdout)
    for k, text in enumerate(expect):
        assert text in rows[k], f"row {k}: expected {text!r} in {rows[k]!r}"


@pytest.mark.parametrize("which", ["keras", "h5", "rnnlens"])
def test_cli_predict_multi_input_npz(enc_dec_files: dict, parity: Any, tmp_path: Path,
                                     which: str) -> None:
    xs = make_inputs(CASES["enc_dec_states"], seed=14)
    np.savez(tmp_path / "in.npz", encoder_in=xs[0], decoder_in=xs[1])
    result = cli("predict", enc_dec_files[which], tmp_path / "in.npz", "-o",
                 tmp_path / "out.npz", "--batch-size", 2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 5 output(s)" in result.stdout, result.stdout
    model = rnnlens.models.load_model(enc_dec_files[which])
    expected = run_rnnlens(model, xs)
    with np.load(tmp_path / "out.npz", allow_pickle=False) as got:
        assert len(got.files) == 5, got.files
        compare(parity, [got[n] for n in got.files], expected, f"predict npz {which}")


def test_cli_predict_npz_inputs_by_position_and_name_order(enc_dec_files: dict, parity: Any,
                                                           tmp_path: Path) -> None:
    """Names win over file order; unnamed arrays fall back to position."""
    xs = make_inputs(CASES["enc_dec_states"], seed=15)
    np.savez(tmp_path / "named.npz", decoder_in=xs[1], encoder_in=xs[0])     # swapped order
    np.savez(tmp_path / "positional.npz", xs[0], xs[1])
    model = rnnlens.models.load_model(enc_dec_files["keras"])
    expected = run_rnnlens(model, xs)
    for source in ("named", "positional"):
        result = cli("predict", enc_dec_files["keras"], tmp_path / f"{source}.npz", "-o",
                     tmp_path / f"{source}_out.npz", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        with np.load(tmp_path / f"{source}_out.npz") as got:
            compare(parity, [got[n] for n in got.files], expected, f"predict {source}")


def test_cli_predict_npy_single_input(K: Any, parity: Any, tmp_path: Path) -> None:
    model = keras_model(K, "embedding_mask_bidir", seed=16)
    keras_save(K, model, tmp_path / "m.keras")
    xs = make_inputs(CASES["embedding_mask_bidir"], seed=16)
    np.save(tmp_path / "x.npy", xs[0])
    result = cli("predict", tmp_path / "m.keras", tmp_path / "x.npy", "-o", tmp_path / "y.npz",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "y.npz") as got:
        assert len(got.files) == 1
        compare(parity, [got[got.files[0]]], run_keras(model, xs), "predict npy vs Keras")
    # without -o it prints the outputs and writes nothing
    before = files_in(tmp_path)
    printed = cli("predict", tmp_path / "m.keras", tmp_path / "x.npy", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert "(3, 2)" in printed.stdout
    assert files_in(tmp_path) == before


def test_cli_predict_output_names_do_not_collide(K: Any, parity: Any, tmp_path: Path) -> None:
    """Output ``lstm[1]`` (encoder h) and output ``lstm_1[0]`` (decoder sequence) must both be
    written: naming them ``lstm_1`` and ``lstm_1`` would silently drop one."""
    enc_in, dec_in = K.Input((5, 3)), K.Input((4, 2))
    _, h, c = K.layers.LSTM(4, return_state=True, name="lstm")(enc_in)
    seq = K.layers.LSTM(4, return_sequences=True, name="lstm_1")(dec_in, initial_state=[h, c])
    model = K.Model([enc_in, dec_in], [seq, h])
    model.set_weights(rand_weights(model, 17))
    keras_save(K, model, tmp_path / "m.keras")
    xs = make_inputs(CASES["enc_dec_states"], seed=17)
    np.savez(tmp_path / "in.npz", *xs)
    result = cli("predict", tmp_path / "m.keras", tmp_path / "in.npz", "-o",
                 tmp_path / "out.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "out.npz") as got:
        assert len(got.files) == 2, f"outputs written: {got.files} (one was overwritten)"
        compare(parity, [got[n] for n in got.files], run_keras(model, xs), "predict collide")


def test_cli_refuses_a_missing_input_cleanly(enc_dec_files: dict, tmp_path: Path) -> None:
    result = cli("predict", enc_dec_files["keras"], tmp_path / "nope.npz", cwd=tmp_path)
    assert result.returncode == 1
    assert "nope.npz" in result.stderr and "Traceback" not in result.stderr
    assert files_in(tmp_path) == set()
