"""Model files written by Keras 2 (tf-keras 2.21) load in rnnlens and predict what tf-keras
predicts: legacy ``.h5``, Keras-2-era ``.keras`` and SavedModel directories, for every
supported layer and graph form, including encoder-decoders with states, masks, merges
(Keras 2's AND rule for masks) and ``hard_sigmoid`` (Keras 2's definition).

tf-keras is the oracle here (installed with ``--no-deps`` beside tensorflow-cpu). Each
model's weights are set to random values first, so nothing depends on initializers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from rnnlens.models import load_model

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FORMATS = ["h5", "keras", "savedmodel"]
#: SavedModel writing is slow (TensorFlow traces the model): these cases cover its forms.
SAVEDMODEL_CASES = {"sequential", "encoder_decoder", "bidirectional", "stacked_cells",
                    "nested", "masked_merges"}


@pytest.fixture(scope="module")
def k2() -> Any:
    try:
        import tf_keras  # noqa: PLC0415
    except ImportError:                                    # pragma: no cover
        pytest.fail("tf-keras 2.21 (the Keras 2 oracle) is not installed: run make test")
    return tf_keras


def _seq(b: int = 3, t: int = 5, f: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(b, t, f)).astype(np.float32)


def _ids(b: int = 4, t: int = 6, seed: int = 0) -> np.ndarray:
    ids = np.random.default_rng(seed).integers(1, 9, size=(b, t)).astype(np.float32)
    ids[0, :2] = 0
    ids[1, 4:] = 0
    ids[2, 2:4] = 0
    return ids


def m_sequential(k: Any) -> tuple[Any, list]:
    L = k.layers
    return k.Sequential([L.LSTM(4, input_shape=(5, 3), return_sequences=True),
                         L.GRU(3, return_sequences=True), L.SimpleRNN(2),
                         L.Dense(2, activation="tanh")]), [_seq()]


def m_embedding_sequential(k: Any) -> tuple[Any, list]:
    L = k.layers
    return k.Sequential([L.Embedding(9, 3, input_length=6, mask_zero=True),
                         L.LSTM(4), L.Dense(1, activation="sigmoid")]), [_ids()]


def m_encoder_decoder(k: Any) -> tuple[Any, list]:
    L = k.layers
    ei, di = k.Input((None, 3)), k.Input((None, 2))
    _, h, c = L.LSTM(4, return_state=True)(ei)
    seq, dh, dc = L.LSTM(4, return_sequences=True, return_state=True)(di, initial_state=[h, c])
    out = L.TimeDistributed(L.Dense(2, activation="softmax"))(seq)
    return k.Model([ei, di], [out, dh, dc]), [_seq(), _seq(3, 4, 2, seed=1)]


def m_bidirectional(k: Any) -> tuple[Any, list]:
    L = k.layers
    i = k.Input((6,))
    e = L.Embedding(9, 3, mask_zero=True)(i)
    outs = [L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode=m)(e)
            for m in ("concat", "sum", "ave", "mul")]
    last = L.Bidirectional(L.LSTM(2), merge_mode=None)(outs[0])
    state = L.Bidirectional(L.SimpleRNN(2, return_state=True))(outs[1])
    return k.Model(i, [*outs, *last, *state]), [_ids()]


def m_gru_variants(k: Any) -> tuple[Any, list]:
    L = k.layers
    i = k.Input((5, 3))
    a = L.GRU(3, reset_after=False, return_sequences=True)(i)
    b = L.GRU(3, go_backwards=True, activation="relu")(a)
    c = L.SimpleRNN(2, go_backwards=True, return_sequences=True, use_bias=False)(i)
    return k.Model(i, [b, c]), [_seq()]


def m_hard_sigmoid(k: Any) -> tuple[Any, list]:
    """Keras 2.2's default recurrent activation, computed as Keras 2 defined it."""
    L = k.layers
    i = k.Input((5, 3))
    x = L.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True)(i)
    x = L.GRU(3, recurrent_activation="hard_sigmoid", reset_after=False)(x)
    return k.Model(i, L.Dense(2, activation="hard_sigmoid")(x)), [_seq() * 3]


def m_bidirectional_hard_sigmoid(k: Any) -> tuple[Any, list]:
    """Keras <= 2.2's default Bidirectional(LSTM / GRU): each direction is rebuilt from
    the config, which must keep Keras 2's hard_sigmoid in memory (real files, survey)."""
    L = k.layers
    i = k.Input((5, 3))
    x = L.Bidirectional(L.LSTM(4, recurrent_activation="hard_sigmoid",
                               return_sequences=True))(i)
    x = L.Bidirectional(L.GRU(3, recurrent_activation="hard_sigmoid", reset_after=False),
                        merge_mode="sum")(x)
    return k.Model(i, x), [_seq() * 3]


def m_stacked_cells(k: Any) -> tuple[Any, list]:
    L = k.layers
    i = k.Input((5, 3))
    cells = [L.LSTMCell(4), L.GRUCell(3), L.SimpleRNNCell(2)]
    out = L.RNN(cells, return_sequences=True, return_state=True)(i)
    return k.Model(i, out), [_seq()]


def m_seq2seq_repeat(k: Any) -> tuple[Any, list]:
    L = k.layers
    return k.Sequential([L.Masking(0.0, input_shape=(5, 3)), L.LSTM(4), L.RepeatVector(3),
                         L.LSTM(4, return_sequences=True),
                         L.TimeDistributed(L.Dense(2))]), [np.concatenate(
                             [np.zeros((3, 2, 3), np.float32), _seq(3, 3)], axis=1)]


def m_everyday_layers(k: Any) -> tuple[Any, list]:
    L = k.layers
    i = k.Input((5, 3))
    x = L.Dropout(0.5)(L.GaussianNoise(0.2)(i))
    x = L.SpatialDropout1D(0.3)(L.AlphaDropout(0.1)(L.GaussianDropout(0.2)(x)))
    x = L.Activation("elu")(L.Permute((2, 1))(L.Reshape((3, 5))(L.Permute((2, 1))(x))))
    x = L.LSTM(4, return_sequences=True)(L.Reshape((5, 3))(x))
    return k.Model(i, L.Dense(2)(L.Flatten()(x))), [_seq()]


def m_merges(k: Any) -> tuple[Any, list]:
    L = k.layers
    i1, i2 = k.Input((5, 3)), k.Input((5, 3))
    a = L.LSTM(4, return_sequences=True)(i1)
    b = L.GRU(4, return_sequences=True)(i2)
    merged = [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]),
              L.Average()([a, b]), L.Maximum()([a, b]), L.Minimum()([a, b]),
              L.Dot(axes=2)([a, b])]
    return k.Model([i1, i2], [L.Concatenate()(merged[:6]), merged[6]]), \
        [_seq(), _seq(seed=2)]


def m_masked_merges(k: Any) -> tuple[Any, list]:
    """Keras 2 joins masks with AND and never masks values (Keras >= 3.4 differs)."""
    L = k.layers
    i1, i2 = k.Input((6,)), k.Input((6,))
    a = L.Embedding(9, 3, mask_zero=True)(i1)
    b = L.Embedding(9, 3, mask_zero=True)(i2)
    x = L.Concatenate()([L.Add()([a, b]), L.Multiply()([a, b]), L.Maximum()([a, b])])
    return k.Model([i1, i2], L.LSTM(3, return_sequences=True)(x)), [_ids(), _ids(seed=5)]


def m_nested(k: Any) -> tuple[Any, list]:
    L = k.layers
    inner = k.Sequential([L.GRU(3, return_sequences=True, input_shape=(5, 3)), L.Dense(3)])
    i = k.Input((5, 3))
    return k.Model(i, L.LSTM(2)(inner(i))), [_seq()]


CASES: dict[str, Callable] = {name[2:]: fn for name, fn in globals().items()
                              if name.startswith("m_")}


def _save(model: Any, tmp: Path, name: str, fmt: str) -> Path:
    path = tmp / (f"{name}.{fmt}" if fmt != "savedmodel" else f"{name}_savedmodel")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(path), save_format="tf" if fmt == "savedmodel" else None)
    return path


def _flat(out: Any) -> list[np.ndarray]:
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_tf_keras_file_predicts_what_tf_keras_predicts(k2: Any, parity: Any, tmp_path: Path,
                                                       name: str, fmt: str) -> None:
    if fmt == "savedmodel" and name not in SAVEDMODEL_CASES:
        fmt = "h5" if name < "m" else "keras"              # still a real file, quicker
    model, xs = CASES[name](k2)
    rng = np.random.default_rng(len(name))
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    feed = xs if len(xs) > 1 else xs[0]
    expected = _flat(model.predict(feed, verbose=0))
    path = _save(model, tmp_path, name, fmt)
    ours = load_model(path)
    got = _flat(ours.predict(feed, verbose=0))
    assert len(got) == len(expected)
    for k, (a, e) in enumerate(zip(got, expected)):
        parity(a, e, name=f"{name}.{fmt} output {k}")
    info = ours.keras_file_info
    assert info["semantics"] == "tf.keras" and info["keras_version"][0] == 2


def test_hard_sigmoid_is_keras2s_and_recorded(k2: Any, tmp_path: Path) -> None:
    """The same file read with Keras 3's definition gives other numbers (by up to 1/12 per
    gate); the choice is listed in keras_file_info."""
    model, xs = m_hard_sigmoid(k2)
    path = _save(model, tmp_path, "hs", "h5")
    k2_model, k3_model = load_model(path), load_model(path, semantics="keras3")
    assert any("hard_sigmoid" in c for c in k2_model.keras_file_info["choices"])
    diff = np.abs(k2_model.predict(xs[0], verbose=0) - k3_model.predict(xs[0], verbose=0))
    assert diff.max() > 1e-3
    with pytest.raises(ValueError, match="hard_sigmoid"):
        k2_model.save(tmp_path / "again.keras")        # Keras 3 has no name for it
    k3_model.save(tmp_path / "converted.keras")          # converted: Keras 3's definition


def test_bidirectional_hard_sigmoid_refuses_to_save_by_its_layer(k2: Any,
                                                                 tmp_path: Path) -> None:
    model, _ = m_bidirectional_hard_sigmoid(k2)
    ours = load_model(_save(model, tmp_path, "bhs", "h5"))
    with pytest.raises(ValueError, match=r"Cannot save layer 'forward_lstm.*: its "
                                         r"`recurrent_activation` computes Keras 2's hard_sig"):
        ours.save(tmp_path / "again.keras")


def test_cudnn_layers_convert_as_keras2_did(k2: Any, parity: Any, tmp_path: Path) -> None:
    """CuDNNLSTM / CuDNNGRU files: tf-keras's own converter (loading their weights into an
    LSTM / GRU(reset_after=True)) is the oracle; rnnlens re-saves them as LSTM / GRU."""
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    L = k2.layers
    cudnn = k2.Sequential([CuDNNLSTM(4, input_shape=(5, 3), return_sequences=True),
                           CuDNNGRU(3, go_backwards=True)])
    rng = np.random.default_rng(3)
    for w in cudnn.weights:
        w.assign(rng.uniform(-0.5, 0.5, w.shape))
    path = _save(cudnn, tmp_path, "cudnn", "h5")
    oracle = k2.Sequential([
        L.LSTM(4, input_shape=(5, 3), return_sequences=True, recurrent_activation="sigmoid"),
        L.GRU(3, reset_after=True, recurrent_activation="sigmoid", go_backwards=True)])
    oracle.load_weights(str(path))
    x = _seq()
    expected = oracle.predict(x, verbose=0)
    ours = load_model(path)
    parity(ours.predict(x, verbose=0), expected, name="cudnn")
    with pytest.raises(ValueError, match="does not support masks"):
        ours.layers[0](x, mask=np.ones((3, 5), bool))
    ours.save(tmp_path / "resaved.keras")
    parity(load_model(tmp_path / "resaved.keras").predict(x, verbose=0), expected,
           name="cudnn resaved as LSTM / GRU")


def test_load_weights_by_name_and_skip_mismatch(k2: Any, tmp_path: Path) -> None:
    import rnnlens

    model, xs = m_sequential(k2)
    path = tmp_path / "w.h5"
    model.save_weights(str(path))
    L = rnnlens.layers
    ours = rnnlens.Sequential([rnnlens.Input((5, 3)),
                               L.LSTM(4, return_sequences=True, name=model.layers[0].name),
                               L.GRU(3, return_sequences=True, name="other"),
                               L.SimpleRNN(2, name=model.layers[2].name),
                               L.Dense(5, name=model.layers[3].name)])
    before = ours.layers[1].get_weights()
    with pytest.raises(ValueError, match="skip_mismatch=True"):
        ours.load_weights(path, by_name=True)
    with pytest.warns(UserWarning, match="Skipped"):
        ours.load_weights(path, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(ours.layers[0].get_weights()[0],
                                  model.layers[0].get_weights()[0])
    for a, b in zip(before, ours.layers[1].get_weights()):       # not in the file: kept
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="architectures differ"):
        rnnlens.Sequential([rnnlens.Input((5, 3)), L.LSTM(4)]).load_weights(path)


def test_windows_written_keras_file(tmp_path: Path) -> None:
    """tf.keras 2.15 on Windows joined weight paths with backslashes (one HDF5 group named
    ``layers\\lstm\\cell`` holding ``vars``); Keras 3 cannot read such files, rnnlens can."""
    import io
    import zipfile

    import h5py

    import rnnlens

    inp = rnnlens.Input((5, 3))
    model = rnnlens.Model(inp, rnnlens.layers.Dense(2)(rnnlens.layers.LSTM(4)(inp)))
    model.save(tmp_path / "linux.keras")
    with zipfile.ZipFile(tmp_path / "linux.keras") as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    source = h5py.File(io.BytesIO(members["model.weights.h5"]), "r")
    out = io.BytesIO()
    with h5py.File(out, "w") as h5:
        def copy(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                group, _, leaf = name.rpartition("/vars/")
                h5.require_group(group.replace("/", "\\")).require_group("vars") \
                    .create_dataset(leaf, data=obj[()])
        source.visititems(copy)
    members["model.weights.h5"] = out.getvalue()
    with zipfile.ZipFile(tmp_path / "windows.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    x = _seq()
    np.testing.assert_array_equal(load_model(tmp_path / "windows.keras").predict(x, verbose=0),
                                  model.predict(x, verbose=0))
