"""Models, data and comparison helpers shared by the convolution / pooling layer tests, 1-D
(test_layers_conv_pool.py) and 2-D / 3-D (test_layers_conv2d3d*.py; no tests here).

Each model is ``build(lib)`` over the Keras-style API, so one function builds the Keras
model (``lib=keras``), its rnnlens twin (``lib=rnnlens``) and, for the Keras 2 file tests,
a tf_keras model (``lib=tf_keras``): the layers used exist in all three with the same
arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from merge_reshape_parity import assert_raised_by_rnnlens, check_rel, floats, ids, padded
from rnnlens import layers as RL

CF = {"data_format": "channels_first"}


# ---------------------------------------------------------------------------- comparisons
def keras_bias_bug(layer: Any, out_shape: tuple) -> bool:
    """Keras 3.15.1's TensorFlow ``ops.add`` turns ``outputs + bias.reshape(1, F, 1...)``
    into ``tf.nn.bias_add`` along the *last* axis when the last spatial size equals F, so
    a channels_first convolution with a bias is wrong there; rnnlens adds the bias along
    the channels (see ``rnnlens.layers.convolutional`` and the tests
    ``test_channels_first_bias_where_keras_is_wrong``)."""
    return bool(getattr(layer, "use_bias", False)) and getattr(
        layer, "data_format", "") == "channels_first" and out_shape[1] == out_shape[-1]


def pair(K: Any, cls: str, kwargs: dict, x: np.ndarray, seed: int = 0) -> tuple[Any, Any]:
    """The Keras and rnnlens layers, built for x, with the same random weights."""
    kl, rl = getattr(K.layers, cls)(**kwargs), getattr(RL, cls)(**kwargs)
    kl.build(x.shape)
    rl.build(x.shape)
    if kl.weights:
        rng = np.random.default_rng(seed)
        weights = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in kl.weights]
        kl.set_weights(weights)
        rl.set_weights(weights)
    return kl, rl


def compare(K: Any, parity: Any, cls: str, kwargs: dict, x: np.ndarray, seed: int = 0
            ) -> None:
    """Equal values, or both refuse (rnnlens with a ValueError / TypeError of its own; the
    same type where Keras's own argument checks refuse)."""
    try:
        kl = getattr(K.layers, cls)(**kwargs)
        kl.build(x.shape)
        kl.compute_output_shape(x.shape)
        expected = np.asarray(kl(x))
    except Exception as err:  # noqa: BLE001  (TensorFlow's own errors too)
        same = type(err) if isinstance(err, (ValueError, TypeError)) else (ValueError,
                                                                          TypeError)
        with pytest.raises(same) as ours:
            getattr(RL, cls)(**kwargs)(x)
        assert_raised_by_rnnlens(ours.value)
        return
    kl, rl = pair(K, cls, kwargs, x, seed)
    if keras_bias_bug(kl, expected.shape):
        for layer in (kl, rl):                       # compare without the bias
            layer.set_weights([w if k < len(layer.weights) - 1 else np.zeros_like(w)
                               for k, w in enumerate(layer.get_weights())])
    out = rl(x)
    check_rel(parity, out, np.asarray(kl(x)), f"{cls}{kwargs} {x.shape}", rtol=1e-5)
    assert out.dtype == np.float32 and out.shape == expected.shape


def keras2_h5(tfk: Any, build: Callable[[Any], Any], path: Path, seed: int) -> Any:
    """``build(tf_keras)`` with random normal weights, saved to the ``.h5`` file ``path``."""
    model = build(tfk)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.save(str(path))
    return model


# ---------------------------------------------------------------------------- models


def conv_stack(lib: Any) -> Any:
    """Every convolution family, causal / dilated / strided / transposed, into an LSTM."""
    L = lib.layers
    i = lib.Input((12, 3))
    x = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(i)
    x = L.SeparableConv1D(5, 3, depth_multiplier=2, padding="same", strides=2,
                          activation="tanh")(x)
    x = L.DepthwiseConv1D(2, depth_multiplier=2, use_bias=False)(x)
    x = L.Conv1DTranspose(3, 3, strides=2, output_padding=1, activation="sigmoid")(x)
    x = L.Conv1D(4, 2, strides=2, padding="same")(x)
    return lib.Model(i, L.Dense(2)(L.LSTM(4)(x)))


def pool_stack(lib: Any) -> Any:
    """Pooling and the 1-D reshaping layers between a Conv1D and recurrent layers."""
    L = lib.layers
    i = lib.Input((11, 3))
    x = L.Conv1D(4, 2, activation="relu")(i)
    x = L.MaxPooling1D(3, strides=2, padding="same")(x)
    x = L.AveragePooling1D(2, strides=1)(x)
    x = L.ZeroPadding1D((1, 2))(x)
    x = L.Cropping1D((2, 1))(x)
    x = L.UpSampling1D(2)(x)
    seq = L.GRU(3, return_sequences=True)(x)
    pooled = L.Concatenate()([L.GlobalMaxPooling1D()(seq), L.GlobalAveragePooling1D()(seq),
                              L.Flatten()(L.GlobalMaxPooling1D(keepdims=True)(x))])
    return lib.Model(i, L.Dense(2)(pooled))


def transpose_same(lib: Any) -> Any:
    """Conv1DTranspose with "same" padding (even and odd kernels), grouped Conv1D."""
    L = lib.layers
    i = lib.Input((7, 4))
    x = L.Conv1DTranspose(4, 4, strides=2, padding="same")(i)              # (B, 14, 4)
    x = L.Conv1DTranspose(4, 3, strides=3, padding="same", output_padding=1)(x)
    x = L.Conv1D(6, 3, groups=2, strides=3, activation="elu")(x)
    x = L.SeparableConv1D(3, 3, dilation_rate=2, use_bias=False)(x)
    return lib.Model(i, L.SimpleRNN(2)(x))


def channels_first(lib: Any) -> Any:
    """Every layer in channels_first, then back to time-major for an LSTM."""
    L = lib.layers
    cf = "channels_first"
    i = lib.Input((4, 10))                                                  # (B, C, T)
    x = L.Conv1D(6, 3, groups=2, padding="same", data_format=cf)(i)
    x = L.DepthwiseConv1D(3, data_format=cf, depth_multiplier=1)(x)
    x = L.SeparableConv1D(4, 2, data_format=cf, activation="relu")(x)
    x = L.MaxPooling1D(2, data_format=cf, padding="same")(x)
    x = L.AveragePooling1D(2, strides=1, padding="same", data_format=cf)(x)
    x = L.ZeroPadding1D(1, data_format=cf)(x)
    x = L.Conv1DTranspose(3, 2, strides=2, data_format=cf)(x)
    g = L.GlobalAveragePooling1D(data_format=cf)(x)
    m = L.GlobalMaxPooling1D(data_format=cf, keepdims=True)(x)
    seq = L.LSTM(3)(L.Permute((2, 1))(x))
    return lib.Model(i, L.Concatenate()([g, L.Flatten()(m), seq]))


def masking_conv(lib: Any) -> Any:
    """Masking -> Conv1D (drops the mask) -> pooling -> LSTM (sees no mask)."""
    L = lib.layers
    i = lib.Input((8, 3))
    x = L.Conv1D(4, 3, padding="same")(L.Masking()(i))
    x = L.MaxPooling1D(2)(x)
    return lib.Model(i, L.LSTM(3)(x))


def embedding_pools(lib: Any) -> Any:
    """Embedding(mask_zero): the masked mean of the embeddings, of an LSTM's sequence (the
    mask passes through it), and the mask-free Conv1D path."""
    L = lib.layers
    i = lib.Input((8,), dtype="int32")
    e = L.Embedding(9, 4, mask_zero=True)(i)
    a = L.GlobalAveragePooling1D()(e)
    b = L.GlobalAveragePooling1D()(L.LSTM(3, return_sequences=True)(e))
    c = L.GlobalAveragePooling1D()(L.Conv1D(3, 2, padding="causal")(e))
    d = L.LSTM(2)(L.UpSampling1D(2)(L.Conv1D(3, 3)(e)))
    return lib.Model(i, L.Dense(2)(L.Concatenate()([a, b, c, d])))


def time_distributed(lib: Any) -> Any:
    """The CNN-LSTM of time-series tutorials: TimeDistributed(Conv1D / MaxPooling1D /
    Flatten) over sub-sequences, then a Bidirectional LSTM."""
    L = lib.layers
    i = lib.Input((4, 6, 2))
    x = L.TimeDistributed(L.Conv1D(5, 3, activation="relu"))(i)
    x = L.TimeDistributed(L.MaxPooling1D(2))(x)
    x = L.TimeDistributed(L.Flatten())(x)
    return lib.Model(i, L.Dense(1)(L.Bidirectional(L.LSTM(3))(x)))


def sequential(lib: Any) -> Any:
    L = lib.layers
    return lib.Sequential([lib.Input((10, 3)), L.Conv1D(6, 3, activation="relu"),
                           L.MaxPooling1D(2), L.SeparableConv1D(4, 2, padding="same"),
                           L.LSTM(4), L.Dense(2)])


MODELS: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
    "conv_stack": (conv_stack, lambda: floats((6, 12, 3), 1)),
    "pool_stack": (pool_stack, lambda: floats((6, 11, 3), 2)),
    "transpose_same": (transpose_same, lambda: floats((6, 7, 4), 3)),
    "channels_first": (channels_first, lambda: floats((6, 4, 10), 4)),
    "masking_conv": (masking_conv, lambda: padded((6, 8, 3), 5)),
    "embedding_pools": (embedding_pools, lambda: ids((6, 8), 9, 6)),       # no empty row
    "sequential": (sequential, lambda: floats((6, 10, 3), 7)),
    "time_distributed": (time_distributed, lambda: floats((6, 4, 6, 2), 8)),
}

#: Models tf_keras can build and save to .h5 (all of them but the masked Conv1D ones:
#: Keras 2 refuses a mask into a layer without masking support).
KERAS2_MODELS = ["conv_stack", "pool_stack", "transpose_same", "sequential",
                 "time_distributed"]
