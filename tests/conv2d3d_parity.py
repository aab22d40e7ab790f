"""Models and data shared by the 2-D / 3-D convolution, pooling, padding, cropping and
upsampling tests (no tests here; the layer comparisons ``pair`` / ``compare`` are in
conv_pool_parity.py, shared with the 1-D tests).

Each model is ``build(lib)`` over the Keras-style API, so one function builds the Keras 3
model (``lib=keras``), its rnnlens twin (``lib=rnnlens``) and, for the Keras 2 file tests,
a tf_keras model (``lib=tf_keras``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from conv_pool_parity import CF
from merge_reshape_parity import floats


def image(shape: tuple, seed: int, channels_first: bool = False) -> np.ndarray:
    """Normal floats of a channels-last ``shape``, moved to channels-first if asked."""
    x = floats(shape, seed)
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if channels_first else x


# ---------------------------------------------------------------------------- models
def ocr(lib: Any, dropout: float = 0.2) -> Any:
    """The keras.io captcha OCR model, small: Conv2D / MaxPooling2D twice, Reshape to
    (width steps, features), Dense, Dropout, Bidirectional LSTMs, a softmax per step."""
    L = lib.layers
    i = lib.Input((32, 16, 1), name="image")                       # (width, height, 1)
    x = L.Conv2D(8, (3, 3), activation="relu", kernel_initializer="he_normal",
                 padding="same", name="Conv1")(i)
    x = L.MaxPooling2D((2, 2), name="pool1")(x)
    x = L.Conv2D(8, (3, 3), activation="relu", kernel_initializer="he_normal",
                 padding="same", name="Conv2")(x)
    x = L.MaxPooling2D((2, 2), name="pool2")(x)
    x = L.Reshape(target_shape=((32 // 4), (16 // 4) * 8), name="reshape")(x)
    x = L.Dense(16, activation="relu", name="dense1")(x)
    x = L.Dropout(dropout)(x)
    x = L.Bidirectional(L.LSTM(8, return_sequences=True, dropout=dropout))(x)
    x = L.Bidirectional(L.LSTM(6, return_sequences=True, dropout=dropout))(x)
    return lib.Model(i, L.Dense(11, activation="softmax", name="dense2")(x), name="ocr")


def ocr_deterministic(lib: Any) -> Any:
    return ocr(lib, dropout=0.0)


def conv_zoo_2d(lib: Any) -> Any:
    """Every 2-D layer in a row (channels_last), into an LSTM over the rows."""
    L = lib.layers
    i = lib.Input((11, 10, 3))
    x = L.ZeroPadding2D(((1, 0), (2, 1)))(i)                                # (12, 13)
    x = L.Conv2D(6, (3, 2), strides=(2, 1), groups=3, activation="relu")(x)  # (5, 12)
    x = L.SeparableConv2D(5, 3, padding="same", depth_multiplier=2, activation="tanh")(x)
    x = L.DepthwiseConv2D((2, 3), dilation_rate=(1, 2), depth_multiplier=2)(x)  # (4, 8)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)(x)  # (8, 16)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)                    # (4, 8)
    x = L.UpSampling2D((2, 1), interpolation="bilinear")(x)                # (8, 8)
    x = L.AveragePooling2D(2, strides=1)(x)                                # (7, 7)
    x = L.Cropping2D(((1, 0), (0, 2)))(x)                                  # (6, 5)
    x = L.UpSampling2D(2, interpolation="bicubic")(x)                      # (12, 10)
    g = L.Concatenate()([L.GlobalMaxPooling2D()(x), L.GlobalAveragePooling2D()(x)])
    seq = L.LSTM(3)(L.Reshape((12, 10 * 4))(x))
    return lib.Model(i, L.Dense(2)(L.Concatenate()([g, seq])))


def conv_zoo_channels_first(lib: Any) -> Any:
    """The 2-D and 3-D layers in channels_first (no bias-bug shapes: the last spatial size
    never equals a convolution's filter count)."""
    L = lib.layers
    cf = "channels_first"
    i = lib.Input((2, 5, 6, 7))                                            # (C, D, H, W)
    x = L.Conv3D(4, 2, padding="same", data_format=cf)(i)
    x = L.ZeroPadding3D((1, 0, 1), data_format=cf)(x)                      # (7, 6, 9)
    x = L.MaxPooling3D(2, data_format=cf, padding="same")(x)               # (4, 3, 5)
    x = L.Conv3DTranspose(3, 2, strides=(1, 2, 2), data_format=cf)(x)     # (5, 6, 10)
    x = L.AveragePooling3D((1, 2, 2), data_format=cf)(x)                  # (5, 3, 5)
    x = L.Cropping3D(((1, 1), (0, 1), (1, 0)), data_format=cf)(x)          # (3, 2, 4)
    x = L.UpSampling3D((1, 2, 1), data_format=cf)(x)                       # (3, 4, 4)
    y = L.Reshape((3 * 3, 4 * 4))(x)
    y = L.Reshape((3, 3, 4, 4))(L.Permute((2, 1))(y))
    y = L.Reshape((3, 12, 4))(y)                                           # (C, H, W)
    y = L.Conv2D(5, 3, data_format=cf, activation="elu")(y)               # (5, 10, 2)
    y = L.SeparableConv2D(3, (2, 1), data_format=cf)(y)                    # (3, 9, 2)
    y = L.DepthwiseConv2D(2, data_format=cf, padding="same", depth_multiplier=2)(y)
    y = L.Conv2DTranspose(2, 2, strides=2, data_format=cf)(y)              # (2, 18, 4)
    y = L.MaxPooling2D((2, 1), data_format=cf)(y)
    y = L.AveragePooling2D(2, strides=1, padding="same", data_format=cf)(y)
    y = L.UpSampling2D((1, 2), data_format=cf, interpolation="lanczos3")(y)
    y = L.ZeroPadding2D(1, data_format=cf)(y)
    y = L.Cropping2D((1, 2), data_format=cf)(y)
    g = [L.GlobalMaxPooling3D(data_format=cf)(x), L.GlobalAveragePooling3D(data_format=cf)(x),
         L.GlobalAveragePooling2D(data_format=cf, keepdims=True)(y),
         L.GlobalMaxPooling2D(data_format=cf)(y)]
    g[2] = L.Flatten()(g[2])
    return lib.Model(i, L.Dense(3)(L.Concatenate()(g)))


def volumes(lib: Any) -> Any:
    """Conv3D (strided, dilated) and 3-D pooling after ReLUs (zeros tie in the max pools)
    into a GRU over the depth axis."""
    L = lib.layers
    i = lib.Input((6, 7, 8, 2))
    x = L.Conv3D(4, (2, 3, 3), dilation_rate=(1, 2, 1), activation="relu")(i)  # (5, 3, 6)
    x = L.MaxPooling3D((1, 2, 2), padding="same")(x)                           # (5, 2, 3)
    x = L.Conv3D(3, 2, strides=(1, 2, 2), padding="same", activation="relu")(x)  # (5, 1, 2)
    x = L.UpSampling3D(2)(x)                                                   # (10, 2, 4)
    x = L.MaxPooling3D(2, strides=(2, 1, 1))(x)                                # (5, 1, 3)
    x = L.Conv3DTranspose(2, (1, 2, 2), strides=(1, 2, 1), activation="relu")(x)  # (5, 2, 4)
    x = L.AveragePooling3D((1, 2, 2), strides=(1, 1, 2), padding="same")(x)
    seq = L.TimeDistributed(L.Flatten())(x)
    return lib.Model(i, L.Dense(2)(L.GRU(3)(seq)))


def sequential_cnn(lib: Any) -> Any:
    L = lib.layers
    return lib.Sequential([lib.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"),
                           L.MaxPooling2D(), L.Conv2D(6, 3, padding="same", activation="relu"),
                           L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])


def video_cnn_lstm(lib: Any) -> Any:
    """The CNN-LSTM of video tutorials: TimeDistributed(Conv2D / MaxPooling2D /
    GlobalAveragePooling2D) over frames, then an LSTM and a Bidirectional GRU."""
    L = lib.layers
    i = lib.Input((5, 10, 9, 2))                                           # (T, H, W, C)
    x = L.TimeDistributed(L.Conv2D(4, 3, activation="relu", padding="same"))(i)
    x = L.TimeDistributed(L.MaxPooling2D(2))(x)
    x = L.TimeDistributed(L.SeparableConv2D(3, 2, activation="tanh"))(x)
    x = L.TimeDistributed(L.GlobalAveragePooling2D())(x)
    x = L.Bidirectional(L.GRU(3, return_sequences=True))(L.LSTM(4, return_sequences=True)(x))
    return lib.Model(i, L.Dense(2)(L.GlobalMaxPooling1D()(x)))


def masked_image(lib: Any) -> Any:
    """Masking on an image (a (B, H, W) mask): the 2-D layers drop it, as Keras 3."""
    L = lib.layers
    i = lib.Input((6, 5, 3))
    x = L.Masking()(i)
    x = L.Conv2D(2, 2, padding="same")(x)
    a = L.GlobalAveragePooling2D()(L.Masking()(i))
    x = L.MaxPooling2D()(x)
    return lib.Model(i, L.Concatenate()([L.Flatten()(x), a]))


def _masked_images() -> np.ndarray:
    x = floats((4, 6, 5, 3), 41)
    x[0, 2:] = 0.0
    x[1, :, :2] = 0.0
    return x


MODELS: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
    "ocr": (ocr, lambda: floats((4, 32, 16, 1), 31)),
    "ocr_deterministic": (ocr_deterministic, lambda: floats((4, 32, 16, 1), 32)),
    "conv_zoo_2d": (conv_zoo_2d, lambda: floats((3, 11, 10, 3), 33)),
    "conv_zoo_channels_first": (conv_zoo_channels_first, lambda: floats((3, 2, 5, 6, 7), 34)),
    "volumes": (volumes, lambda: floats((3, 6, 7, 8, 2), 35)),
    "sequential_cnn": (sequential_cnn, lambda: floats((5, 12, 12, 1), 36)),
    "masked_image": (masked_image, _masked_images),
    "video_cnn_lstm": (video_cnn_lstm, lambda: floats((3, 5, 10, 9, 2), 37)),
}

#: Models tf_keras 2.21 builds and saves to .h5 alike (no masks into layers without
#: masking support; tf_keras's Conv3DTranspose has no dilation_rate key).
KERAS2_MODELS = ["ocr", "conv_zoo_2d", "volumes", "sequential_cnn", "video_cnn_lstm"]


# ---------------------------------------------------------------------------- arguments
#: (class, kwargs, channels-last input shape): every layer and alias over its arguments.
EAGER: list[tuple[str, dict, tuple]] = [
    ("Conv2D", dict(filters=3, kernel_size=3), (2, 7, 8, 4)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same",
                    activation="relu"), (2, 7, 9, 4)),
    ("Conv2D", dict(filters=6, kernel_size=2, groups=2, dilation_rate=(2, 3),
                    use_bias=False), (2, 7, 8, 4)),
    ("Conv2D", dict(filters=4, kernel_size=3, groups=4, padding="same", **CF), (2, 6, 5, 4)),
    ("Conv2D", dict(filters=2, kernel_size=(1, 4), strides=3, **CF), (2, 8, 9, 3)),
    ("Conv3D", dict(filters=3, kernel_size=2), (2, 4, 5, 6, 2)),
    ("Conv3D", dict(filters=4, kernel_size=(3, 1, 2), strides=(1, 2, 2), padding="same",
                    groups=2, activation="tanh"), (2, 5, 6, 7, 4)),
    ("Conv3D", dict(filters=2, kernel_size=2, dilation_rate=(2, 1, 2), **CF), (2, 5, 4, 6, 3)),
    ("SeparableConv2D", dict(filters=3, kernel_size=2), (2, 6, 7, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, strides=2, dilation_rate=1,
                             padding="same", depth_multiplier=3), (2, 7, 8, 3)),
    ("SeparableConv2D", dict(filters=2, kernel_size=(3, 2), dilation_rate=2,
                             activation="sigmoid", **CF), (2, 8, 7, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3), (2, 6, 7, 3)),
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), strides=2, dilation_rate=(1, 2),
                             padding="same", depth_multiplier=2), (2, 7, 9, 3)),
    ("DepthwiseConv2D", dict(kernel_size=2, depth_multiplier=2, use_bias=False, **CF),
     (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3), (2, 4, 5, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=(4, 3), strides=(2, 3),
                             padding="same"), (2, 4, 5, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=3, output_padding=(2, 1)),
     (2, 3, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same", **CF),
     (2, 4, 5, 3)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2), (2, 2, 3, 4, 3)),
    ("Conv3DTranspose", dict(filters=3, kernel_size=(3, 2, 1), strides=(1, 2, 2),
                             padding="same", output_padding=(0, 1, 0), **CF), (2, 3, 3, 4, 2)),
    ("MaxPooling2D", dict(), (2, 7, 8, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=(1, 2), padding="same"), (2, 7, 8, 3)),
    ("MaxPooling2D", dict(pool_size=(2, 3), **CF), (2, 7, 8, 3)),
    ("MaxPooling3D", dict(), (2, 4, 5, 6, 3)),
    ("MaxPooling3D", dict(pool_size=(3, 2, 2), strides=1, padding="same", **CF),
     (2, 4, 5, 6, 3)),
    ("AveragePooling2D", dict(pool_size=2), (2, 7, 8, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same", **CF), (2, 7, 8, 3)),
    ("AveragePooling3D", dict(pool_size=(2, 3, 2), strides=(1, 2, 2), padding="same"),
     (2, 4, 5, 6, 3)),
    ("AveragePooling3D", dict(pool_size=2, **CF), (2, 4, 5, 6, 3)),
    ("GlobalMaxPooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalMaxPooling2D", dict(keepdims=True, **CF), (2, 4, 5, 3)),
    ("GlobalAveragePooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True), (2, 4, 5, 3)),
    ("GlobalMaxPooling3D", dict(keepdims=True), (2, 3, 4, 5, 2)),
    ("GlobalAveragePooling3D", CF, (2, 3, 4, 5, 2)),
    ("ZeroPadding2D", dict(), (2, 4, 5, 3)),
    ("ZeroPadding2D", dict(padding=(2, 0)), (2, 4, 5, 3)),
    ("ZeroPadding2D", dict(padding=((1, 2), (3, 0)), **CF), (2, 4, 5, 3)),
    ("ZeroPadding3D", dict(), (2, 3, 4, 5, 2)),
    ("ZeroPadding3D", dict(padding=((0, 1), 2, (3, 0)), **CF), (2, 3, 4, 5, 2)),
    ("Cropping2D", dict(), (2, 4, 5, 3)),
    ("Cropping2D", dict(cropping=1), (2, 4, 5, 3)),
    ("Cropping2D", dict(cropping=((0, 2), (3, 1)), **CF), (2, 4, 5, 3)),
    ("Cropping3D", dict(), (2, 3, 4, 5, 2)),
    ("Cropping3D", dict(cropping=(0, (1, 2), 1), **CF), (2, 3, 4, 5, 2)),
    ("UpSampling2D", dict(), (2, 4, 5, 3)),
    ("UpSampling2D", dict(size=(3, 1), **CF), (2, 4, 5, 3)),
    ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), (2, 4, 5, 3)),
    ("UpSampling2D", dict(size=3, interpolation="Bilinear", **CF), (2, 3, 2, 4)),
    ("UpSampling2D", dict(size=(1, 4), interpolation="bilinear"), (2, 1, 1, 2)),
    ("UpSampling2D", dict(size=(2, 2), interpolation="area"), (2, 3, 5, 2)),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bicubic"), (2, 4, 5, 2)),
    ("UpSampling2D", dict(size=(2, 5), interpolation="lanczos3", **CF), (2, 7, 3, 2)),
    ("UpSampling2D", dict(size=(4, 3), interpolation="Lanczos5"), (2, 6, 2, 2)),
    ("UpSampling3D", dict(), (2, 3, 4, 2, 2)),
    ("UpSampling3D", dict(size=(1, 3, 2), **CF), (2, 3, 4, 2, 2)),
    ("Convolution2D", dict(filters=2, kernel_size=2), (2, 5, 4, 3)),
    ("Convolution3D", dict(filters=2, kernel_size=2), (2, 3, 4, 5, 2)),
    ("SeparableConvolution2D", dict(filters=2, kernel_size=2), (2, 5, 4, 3)),
    ("Convolution2DTranspose", dict(filters=2, kernel_size=2, strides=2), (2, 3, 4, 2)),
    ("Convolution3DTranspose", dict(filters=2, kernel_size=2), (2, 3, 2, 3, 2)),
    ("MaxPool2D", dict(pool_size=3), (2, 7, 6, 2)), ("MaxPool3D", dict(), (2, 4, 4, 4, 2)),
    ("AvgPool2D", dict(pool_size=2, padding="same"), (2, 5, 5, 2)),
    ("AvgPool3D", dict(pool_size=2), (2, 4, 4, 4, 2)),
    ("GlobalMaxPool2D", dict(), (2, 3, 4, 2)), ("GlobalMaxPool3D", dict(), (2, 3, 4, 2, 2)),
    ("GlobalAvgPool2D", dict(), (2, 3, 4, 2)), ("GlobalAvgPool3D", dict(), (2, 3, 4, 2, 2)),
]
