"""Golden model fixtures: Keras 3.15.1 builds a small model per case, rnnlens must
reproduce its outputs from the saved config alone (no Keras at test time).

Run:  .venv/bin/python tests/make_golden_models.py            every case
      .venv/bin/python tests/make_golden_models.py --missing  only cases not on disk

Each case is ``tests/golden/models/<name>.npz`` with JSON string ``config`` (Keras's
``model.get_config()`` wrapped as config.json: ``{"class_name", "config"}``) and
``description``, the weights ``w_0..`` in ``get_weights()`` order (random U(-0.5, 0.5)
seeded by the case name, so nothing depends on Keras's initializers), the inputs
``x_0..`` and every output ``out_0..`` of ``model.predict``. ``tests/test_golden_models.py``
reads the config with rnnlens's safe model reader (the same one ``load_model`` uses), sets
the weights, predicts and compares. A new layer adds one entry to ``CASES``.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

GOLDEN = Path(__file__).resolve().parent / "golden" / "models"


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _seq(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Input (B=4, T=5, F=3), mask-free."""
    inp = k.Input((5, 3))
    return inp, [_rng(name + "x").normal(size=(4, 5, 3)).astype(np.float32)]


def _ids(k: Any, name: str) -> tuple[Any, list]:
    """Token ids (B=4, T=6) with padding zeros (left, right, middle, none)."""
    inp = k.Input((6,), dtype="int32")
    ids = _rng(name + "ids").integers(1, 9, size=(4, 6)).astype(np.int32)
    ids[0, :2] = 0
    ids[1, 4:] = 0
    ids[2, 2:4] = 0
    return inp, [ids]


def case_lstm_dense(k: Any, L: Any, name: str) -> tuple[Any, list]:
    inp, xs = _seq(k, L, name)
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(inp)
    return k.Model(inp, [L.TimeDistributed(L.Dense(2))(seq), h, c]), xs


def case_conv_lstm(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Keras's next-frame video model in small: ConvLSTM2D (same, sequences) ->
    BatchNormalization -> ConvLSTM2D (strided, backwards, states) -> ConvLSTM1D (dilated,
    channels_first) over the rows of its sequence."""
    inp = k.Input((4, 6, 5, 2))
    xs = [_rng(name + "x").normal(size=(3, 4, 6, 5, 2)).astype(np.float32)]
    x = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(inp)
    x = L.BatchNormalization(epsilon=0.75)(x)                 # the variance is U(-0.5, 0.5)
    seq, h, c = L.ConvLSTM2D(2, 2, strides=2, go_backwards=True, return_sequences=True,
                             return_state=True)(x)                            # (4, 3, 2, 2)
    out = L.ConvLSTM1D(2, 2, dilation_rate=2, padding="same",
                       data_format="channels_first")(L.Reshape((4, 3, 4))(seq))
    return k.Model(inp, [out, h, c]), xs


def case_masked_bidirectional(k: Any, L: Any, name: str) -> tuple[Any, list]:
    inp, xs = _ids(k, name)
    x = L.Embedding(9, 3, mask_zero=True)(inp)
    x = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum")(x)
    return k.Model(inp, L.LSTM(2)(x)), xs


def case_everyday_layers(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """The regularization layers (identities at inference), Activation, Reshape,
    Permute, Flatten, UnitNormalization around an LSTM."""
    inp, xs = _seq(k, L, name)
    x = L.GaussianNoise(0.3)(L.Dropout(0.5, noise_shape=(None, 1, 3))(inp))
    x = L.SpatialDropout1D(0.2)(L.AlphaDropout(0.1)(L.GaussianDropout(0.2)(x)))
    x = L.Activation("tanh")(L.ActivityRegularization(0.1, 0.1)(x))
    x = L.Permute((2, 1))(L.Reshape((3, 5))(L.Permute((2, 1))(x)))
    x = L.LSTM(4, return_sequences=True)(L.Reshape((5, 3))(x))
    x = L.UnitNormalization()(L.Identity()(x))
    return k.Model(inp, L.Dense(2)(L.Flatten()(x))), xs


def case_merges(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Every merge layer on the outputs of recurrent layers, and Dot attention."""
    inp, xs = _seq(k, L, name)
    a = L.LSTM(4, return_sequences=True)(inp)
    b = L.GRU(4, return_sequences=True)(inp)
    c = L.SimpleRNN(4, return_sequences=True)(inp)
    merged = [L.Add()([a, b, c]), L.Subtract()([a, b]), L.Multiply()([b, c]),
              L.Average()([a, c]), L.Maximum()([a, b, c]), L.Minimum()([a, b])]
    scores = L.Activation("softmax")(L.Dot(axes=(2, 2))([a, b]))       # (B, T, T)
    context = L.Dot(axes=(2, 1))([scores, c])                            # (B, T, 4)
    cos = L.Dot(axes=2, normalize=True)([a, c])
    out = L.Concatenate()([*merged, context, cos])
    return k.Model(inp, L.LSTM(3)(out)), xs


def case_masked_merges(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Keras 3's mask rules through merges (OR of the masks; masked values in
    Multiply / Maximum / Minimum), from Embedding(mask_zero) into recurrent layers."""
    inp, xs = _ids(k, name)
    e = L.Embedding(9, 4, mask_zero=True)(inp)
    a = L.LSTM(4, return_sequences=True)(e)
    b = L.GRU(4, return_sequences=True)(e)
    x = L.Concatenate()([L.Add()([a, b]), L.Multiply()([a, b]), L.Maximum()([a, b]),
                         L.Minimum()([a, b]), L.Average()([a, b])])
    return k.Model(inp, L.SimpleRNN(3)(x)), xs


def case_normalization(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Masking -> BatchNormalization -> LSTM -> LayerNormalization (axis list) ->
    BatchNormalization(axis=1) -> LSTM -> LayerNormalization, at inference. make() draws
    every weight from U(-0.5, 0.5), moving statistics included, so the batch
    normalizations take epsilon=0.75 to keep moving_variance + epsilon positive."""
    inp, xs = _seq(k, L, name)
    xs[0][0, 3:] = 0.0                                   # padded steps for Masking
    x = L.BatchNormalization(epsilon=0.75)(L.Masking()(inp))
    x = L.LayerNormalization(axis=(1, 2))(L.LSTM(4, return_sequences=True)(x))
    x = L.BatchNormalization(axis=1, epsilon=0.75, center=False)(x)
    return k.Model(inp, L.LayerNormalization()(L.LSTM(3)(x))), xs


def case_convolutions(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Conv1D (causal, dilated, relu) -> SeparableConv1D (strided, same) ->
    DepthwiseConv1D -> Conv1DTranspose (output_padding) -> grouped Conv1D -> LSTM."""
    inp = k.Input((12, 3))
    xs = [_rng(name + "x").normal(size=(4, 12, 3)).astype(np.float32)]
    x = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(inp)
    x = L.SeparableConv1D(5, 3, depth_multiplier=2, strides=2, padding="same")(x)
    x = L.DepthwiseConv1D(2, depth_multiplier=2, activation="tanh")(x)      # (B, 5, 10)
    x = L.Conv1DTranspose(4, 3, strides=2, output_padding=1)(x)             # (B, 12, 4)
    x = L.Conv1D(6, 3, groups=2, strides=2, padding="same")(x)
    return k.Model(inp, L.LSTM(3)(x)), xs


def case_pooling(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Embedding(mask_zero) -> Conv1D (drops the mask) -> MaxPooling1D / AveragePooling1D
    -> LSTM -> GlobalMaxPooling1D, with GlobalAveragePooling1D of the masked embeddings and
    of a GRU's masked sequence (means over the unmasked steps)."""
    inp, xs = _ids(k, name)
    e = L.Embedding(9, 4, mask_zero=True)(inp)
    x = L.Conv1D(4, 2, padding="same")(e)
    x = L.MaxPooling1D(2, padding="same")(x)
    x = L.AveragePooling1D(2, strides=1, padding="same")(x)
    a = L.GlobalMaxPooling1D()(L.LSTM(3, return_sequences=True)(x))
    b = L.GlobalAveragePooling1D()(e)
    c = L.GlobalAveragePooling1D()(L.GRU(3, return_sequences=True)(e))
    return k.Model(inp, L.Dense(2)(L.Concatenate()([a, b, c]))), xs


def case_padding_1d(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """ZeroPadding1D -> Cropping1D -> UpSampling1D around recurrent layers."""
    inp, xs = _seq(k, L, name)
    x = L.ZeroPadding1D((1, 2))(inp)
    x = L.Cropping1D((2, 1))(L.SimpleRNN(3, return_sequences=True)(x))
    x = L.UpSampling1D(2)(x)
    return k.Model(inp, L.GRU(2)(x)), xs


def _image(k: Any, name: str, shape: tuple) -> tuple[Any, list]:
    """Input images (B=3, *shape), mask-free."""
    return k.Input(shape), [_rng(name + "x").normal(size=(3, *shape)).astype(np.float32)]


def case_ocr_cnn_lstm(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """The keras.io captcha OCR model, small: Conv2D (same, relu) / MaxPooling2D twice,
    Reshape to (width steps, features), Dense, Dropout, Bidirectional LSTM, softmax."""
    inp, xs = _image(k, name, (16, 8, 1))
    x = L.MaxPooling2D((2, 2))(L.Conv2D(4, (3, 3), activation="relu", padding="same")(inp))
    x = L.MaxPooling2D((2, 2))(L.Conv2D(4, (3, 3), activation="relu", padding="same")(x))
    x = L.Dropout(0.2)(L.Dense(8, activation="relu")(L.Reshape((4, 2 * 4))(x)))
    x = L.Bidirectional(L.LSTM(4, return_sequences=True, dropout=0.25))(x)
    return k.Model(inp, L.Dense(5, activation="softmax")(x)), xs


def case_convolutions_2d(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """ZeroPadding2D -> grouped strided Conv2D -> SeparableConv2D -> DepthwiseConv2D
    (dilated) -> Conv2DTranspose (output_padding) -> MaxPooling2D / AveragePooling2D ->
    UpSampling2D (bilinear, nearest) -> Cropping2D -> global pools and an LSTM over rows."""
    inp, xs = _image(k, name, (9, 10, 2))
    x = L.ZeroPadding2D(((1, 2), (0, 1)))(inp)                              # (12, 11)
    x = L.Conv2D(4, 3, strides=(2, 1), groups=2, activation="relu")(x)      # (5, 9)
    x = L.SeparableConv2D(4, 2, padding="same", depth_multiplier=2)(x)
    x = L.DepthwiseConv2D((2, 2), dilation_rate=(1, 2), activation="tanh")(x)  # (4, 7)
    x = L.Conv2DTranspose(3, 3, strides=2, output_padding=1)(x)             # (10, 16)
    x = L.AveragePooling2D(2, padding="same")(L.MaxPooling2D(2, strides=1)(x))  # (5, 8)
    x = L.UpSampling2D((2, 1), interpolation="bilinear")(x)                 # (10, 8)
    x = L.Cropping2D(((1, 1), (2, 0)))(L.UpSampling2D((1, 2))(x))           # (8, 14)
    g = L.Concatenate()([L.GlobalMaxPooling2D()(x), L.GlobalAveragePooling2D()(x)])
    seq = L.GRU(3)(L.Reshape((8, 14 * 3))(x))
    return k.Model(inp, L.Dense(2)(L.Concatenate()([g, seq]))), xs


def case_volumes_channels_first(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """channels_first 3-D layers: Conv3D, ZeroPadding3D, MaxPooling3D, Conv3DTranspose,
    AveragePooling3D, Cropping3D, UpSampling3D, global 3-D pools."""
    inp, xs = _image(k, name, (2, 4, 5, 6))
    cf = "channels_first"
    x = L.Conv3D(3, 2, padding="same", data_format=cf, activation="relu")(inp)
    x = L.MaxPooling3D(2, padding="same", data_format=cf)(L.ZeroPadding3D(1, data_format=cf)(x))
    x = L.Conv3DTranspose(2, 2, strides=(1, 2, 1), data_format=cf)(x)       # (4, 8, 5)
    x = L.AveragePooling3D((1, 2, 2), data_format=cf)(x)                    # (4, 4, 2)
    x = L.UpSampling3D((1, 1, 2), data_format=cf)(L.Cropping3D(((1, 0), 1, 0),
                                                               data_format=cf)(x))
    g = [L.GlobalMaxPooling3D(data_format=cf)(x), L.GlobalAveragePooling3D(data_format=cf)(x)]
    return k.Model(inp, L.Dense(2)(L.Concatenate()(g))), xs


def case_upsampling_2d(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """UpSampling2D with every interpolation (nearest, bilinear, bicubic, lanczos3,
    lanczos5, area), channels_last and channels_first, between Conv2D layers."""
    inp, xs = _image(k, name, (4, 5, 2))
    outs = []
    for i, method in enumerate(["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5",
                                "area"]):
        cf = "channels_first" if i % 2 else "channels_last"
        x = inp if cf == "channels_last" else L.Permute((3, 1, 2))(inp)
        x = L.UpSampling2D((2, 3) if i < 3 else 3, data_format=cf, interpolation=method)(x)
        outs.append(L.Flatten()(L.Conv2D(2, 3, strides=2, data_format=cf)(x)))
    return k.Model(inp, L.Concatenate()(outs)), xs


#: name -> (builder(keras, keras.layers, name) -> (model, inputs), description).
def case_attention(k: Any, L: Any, name: str) -> tuple[Any, list]:
    """Embedding(mask_zero) -> LSTM encoder; Attention (scaled dot), AdditiveAttention and
    MultiHeadAttention (2 heads, gated) read it with the query and value masks."""
    inp, xs = _ids(k, name)
    x = L.Embedding(9, 4, mask_zero=True)(inp)
    enc = L.LSTM(4, return_sequences=True)(x)
    a = L.Attention(use_scale=True)([x, enc])
    b = L.AdditiveAttention()([a, enc])
    c = L.MultiHeadAttention(2, 3, value_dim=2, use_gate=True)(b, enc)
    return k.Model(inp, c), xs


CASES: dict[str, tuple[Callable, str]] = {
    "lstm_dense": (case_lstm_dense, "LSTM with states and a TimeDistributed Dense head"),
    "conv_lstm": (case_conv_lstm, case_conv_lstm.__doc__),
    "masked_bidirectional": (case_masked_bidirectional,
                             "Embedding(mask_zero) -> Bidirectional(GRU, sum) -> LSTM"),
    "everyday_layers": (case_everyday_layers, case_everyday_layers.__doc__),
    "merges": (case_merges, case_merges.__doc__),
    "masked_merges": (case_masked_merges, case_masked_merges.__doc__),
    "normalization": (case_normalization, case_normalization.__doc__),
    "convolutions": (case_convolutions, case_convolutions.__doc__),
    "pooling": (case_pooling, case_pooling.__doc__),
    "padding_1d": (case_padding_1d, case_padding_1d.__doc__),
    "ocr_cnn_lstm": (case_ocr_cnn_lstm, case_ocr_cnn_lstm.__doc__),
    "convolutions_2d": (case_convolutions_2d, case_convolutions_2d.__doc__),
    "volumes_channels_first": (case_volumes_channels_first,
                               case_volumes_channels_first.__doc__),
    "upsampling_2d": (case_upsampling_2d, case_upsampling_2d.__doc__),
    "attention": (case_attention, case_attention.__doc__),
}


def register(name: str, description: str) -> Callable[[Callable], Callable]:
    """Decorator for cases defined in other modules (the layer families' case files)."""
    def deco(fn: Callable) -> Callable:
        CASES[name] = (fn, description)
        return fn
    return deco


def make(name: str) -> Path:
    import keras

    build, description = CASES[name]
    keras.utils.set_random_seed(zlib.crc32(name.encode()) % 2**31)
    model, xs = build(keras, keras.layers, name)
    rng = _rng(name + "w")
    weights = [rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32)
               for w in model.get_weights()]
    model.set_weights(weights)
    outs = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    config = {"class_name": type(model).__name__, "config": model.get_config()}
    arrays = {"config": np.array(json.dumps(config)), "description": np.array(description)}
    arrays.update({f"w_{i}": w for i, w in enumerate(weights)})
    arrays.update({f"x_{i}": x for i, x in enumerate(xs)})
    arrays.update({f"out_{i}": np.asarray(o) for i, o in enumerate(outs)})
    GOLDEN.mkdir(parents=True, exist_ok=True)
    path = GOLDEN / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return path


def main(argv: list[str]) -> int:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    missing_only = "--missing" in argv
    for name in sorted(CASES):
        if missing_only and (GOLDEN / f"{name}.npz").exists():
            continue
        print("wrote", make(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
