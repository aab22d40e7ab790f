"""Declared configs (rnnlens.params) equal Keras 3.15.1's, for every registered layer.

For each built-in class, ``get_config()`` of an rnnlens layer equals Keras's for the
same arguments (key for key, value for value), ``from_config`` rebuilds it, and the
model-file reader accepts exactly the declared keys. The table below must name every
registered class, so a new layer cannot skip this check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from oracle import keras_available
from rnnlens.interop.keras_config import Limits, UnsafeModelError, _Reader
from rnnlens.layers.base import REGISTRY

#: class name -> list of constructor kwargs to compare (Keras-style values only).
CASES: dict[str, list[dict]] = {
    "Dense": [dict(units=3), dict(units=4, activation="relu", use_bias=False,
                                  kernel_initializer="he_normal",
                                  kernel_regularizer={"class_name": "L2",
                                                      "config": {"l2": 0.01}},
                                  bias_constraint={"class_name": "NonNeg", "config": {}})],
    "Embedding": [dict(input_dim=7, output_dim=3), dict(input_dim=9, output_dim=2,
                                                        mask_zero=True)],
    "Masking": [dict(mask_value=0.5), dict()],
    "RepeatVector": [dict(n=3)],
    "Concatenate": [dict(axis=1), dict()],
    "LSTM": [dict(units=3), dict(units=2, return_sequences=True, return_state=True,
                                 go_backwards=True, unit_forget_bias=False, dropout=0.2,
                                 recurrent_activation="hard_sigmoid", seed=3,
                                 recurrent_regularizer={"class_name": "L1",
                                                        "config": {"l1": 0.5}})],
    "GRU": [dict(units=3), dict(units=2, reset_after=False, stateful=False,
                                activation="relu")],
    "SimpleRNN": [dict(units=4), dict(units=1, use_bias=False, unroll=True)],
    "LSTMCell": [dict(units=3)],
    "GRUCell": [dict(units=3, reset_after=False)],
    "SimpleRNNCell": [dict(units=2, activation="relu")],
    "ConvLSTM1D": [dict(filters=3, kernel_size=2),
                   dict(filters=2, kernel_size=(3,), padding="Same", data_format="channels_first",
                        return_sequences=True, go_backwards=True, unit_forget_bias=False)],
    "ConvLSTM2D": [dict(filters=3, kernel_size=2),
                   dict(filters=2, kernel_size=(3, 2), strides=2, return_state=True, dropout=0.1,
                        recurrent_dropout=0.2, seed=4, activation="relu", unroll=True,
                        recurrent_regularizer={"class_name": "L1", "config": {"l1": 0.5}})],
    "ConvLSTM3D": [dict(filters=2, kernel_size=(1, 2, 3), dilation_rate=2, stateful=True,
                        recurrent_activation="hard_sigmoid", zero_output_for_mask=True)],
    "Activation": [dict(activation="relu"), dict(activation="softmax")],
    "ReLU": [dict(), dict(max_value=6.0, negative_slope=0.1, threshold=0.5)],
    "LeakyReLU": [dict(), dict(negative_slope=0.05)],
    "PReLU": [dict(), dict(alpha_initializer="ones", shared_axes=[1, 2])],
    "ELU": [dict(), dict(alpha=0.3)],
    "Softmax": [dict(), dict(axis=[1, 2])],
    "ActivityRegularization": [dict(l1=0.1, l2=0.2)],
    "Dropout": [dict(rate=0.3), dict(rate=0.5, noise_shape=(None, 1, 3), seed=2)],
    "SpatialDropout1D": [dict(rate=0.2)],
    "SpatialDropout2D": [dict(rate=0.2, data_format="channels_first")],
    "SpatialDropout3D": [dict(rate=0.1)],
    "GaussianNoise": [dict(stddev=0.4, seed=1)],
    "GaussianDropout": [dict(rate=0.25)],
    "AlphaDropout": [dict(rate=0.1, noise_shape=(None, 4))],
    "Identity": [dict()],
    "Add": [dict()], "Subtract": [dict()], "Multiply": [dict()], "Average": [dict()],
    "Maximum": [dict()], "Minimum": [dict()],
    "Dot": [dict(axes=1), dict(axes=(2, 2), normalize=True)],
    "Flatten": [dict(), dict(data_format="channels_first")],
    "Reshape": [dict(target_shape=(2, -1))],
    "Permute": [dict(dims=(2, 1))],
    "UnitNormalization": [dict(axis=-1), dict(axis=(1, 2))],
    "BatchNormalization": [dict(), dict(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                                        moving_variance_initializer="zeros", renorm=True,
                                        renorm_clipping={"rmax": 2.0}, synchronized=True,
                                        gamma_regularizer={"class_name": "L2",
                                                           "config": {"l2": 0.01}})],
    "LayerNormalization": [dict(), dict(axis=(1, 2), epsilon=0.01, scale=False,
                                        beta_constraint={"class_name": "NonNeg",
                                                         "config": {}}),
                           dict(rms_scaling=True)],
    "Conv1D": [dict(filters=3, kernel_size=2),
               dict(filters=4, kernel_size=(3,), strides=2, padding="Same", groups=2,
                    data_format="channels_first", activation="relu", use_bias=False,
                    kernel_regularizer={"class_name": "L2", "config": {"l2": 0.01}}),
               dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2)],
    "Convolution1D": [dict(filters=3, kernel_size=2)],
    "SeparableConv1D": [dict(filters=3, kernel_size=2),
                        dict(filters=2, kernel_size=3, depth_multiplier=2, strides=2,
                             dilation_rate=2, padding="same", activation="tanh",
                             pointwise_constraint={"class_name": "NonNeg", "config": {}})],
    "SeparableConvolution1D": [dict(filters=3, kernel_size=2)],
    "DepthwiseConv1D": [dict(kernel_size=2),
                        dict(kernel_size=3, depth_multiplier=3, data_format="channels_first",
                             depthwise_initializer="he_normal", use_bias=False)],
    "Conv1DTranspose": [dict(filters=3, kernel_size=2),
                        dict(filters=2, kernel_size=3, strides=3, output_padding=2,
                             padding="same", bias_initializer="ones")],
    "Convolution1DTranspose": [dict(filters=3, kernel_size=2, dilation_rate=2)],
    "MaxPooling1D": [dict(), dict(pool_size=3, strides=1, padding="same",
                                  data_format="channels_first")],
    "MaxPool1D": [dict(pool_size=(4,))],
    "AveragePooling1D": [dict(pool_size=2), dict(pool_size=3, strides=2, padding="same")],
    "AvgPool1D": [dict(pool_size=3)],
    "GlobalMaxPooling1D": [dict(), dict(keepdims=True, data_format="channels_first")],
    "GlobalMaxPool1D": [dict()],
    "GlobalAveragePooling1D": [dict(), dict(keepdims=True)],
    "GlobalAvgPool1D": [dict(data_format="channels_first")],
    "ZeroPadding1D": [dict(), dict(padding=(1, 3), data_format="channels_first")],
    "Cropping1D": [dict(), dict(cropping=2), dict(cropping=(0, 3))],
    "UpSampling1D": [dict(), dict(size=4)],
    "Conv2D": [dict(filters=3, kernel_size=2),
               dict(filters=4, kernel_size=(3, 1), strides=(2, 1), padding="Same", groups=2,
                    data_format="channels_first", activation="relu", use_bias=False)],
    "Convolution2D": [dict(filters=3, kernel_size=(2, 2))],
    "Conv3D": [dict(filters=2, kernel_size=2, dilation_rate=(1, 2, 1), groups=2)],
    "Convolution3D": [dict(filters=3, kernel_size=(1, 2, 3), strides=2)],
    "SeparableConv2D": [dict(filters=3, kernel_size=2, depth_multiplier=2,
                             depthwise_regularizer={"class_name": "L1", "config": {"l1": 0.1}})],
    "SeparableConvolution2D": [dict(filters=3, kernel_size=2, padding="same")],
    "DepthwiseConv2D": [dict(kernel_size=3), dict(kernel_size=(2, 3), strides=2,
                                                  depth_multiplier=3, dilation_rate=1)],
    "Conv2DTranspose": [dict(filters=3, kernel_size=2),
                        dict(filters=2, kernel_size=3, strides=2, output_padding=(1, 0))],
    "Convolution2DTranspose": [dict(filters=2, kernel_size=2, dilation_rate=2)],
    "Conv3DTranspose": [dict(filters=3, kernel_size=2, padding="same",
                             data_format="channels_first")],
    "Convolution3DTranspose": [dict(filters=2, kernel_size=2, strides=(1, 2, 1),
                                    output_padding=(0, 1, 0))],
    "MaxPooling2D": [dict(), dict(pool_size=3, strides=1, padding="same")],
    "MaxPool2D": [dict(pool_size=(2, 3))],
    "MaxPooling3D": [dict(), dict(pool_size=(1, 2, 2), data_format="channels_first")],
    "MaxPool3D": [dict(strides=1)],
    "AveragePooling2D": [dict(pool_size=2), dict(pool_size=3, strides=2, padding="same")],
    "AvgPool2D": [dict(pool_size=(3, 2))],
    "AveragePooling3D": [dict(pool_size=2)],
    "AvgPool3D": [dict(pool_size=(2, 1, 2), padding="same")],
    "GlobalMaxPooling2D": [dict(), dict(keepdims=True)],
    "GlobalMaxPool2D": [dict(data_format="channels_first")],
    "GlobalMaxPooling3D": [dict()],
    "GlobalMaxPool3D": [dict(keepdims=True)],
    "GlobalAveragePooling2D": [dict(), dict(keepdims=True, data_format="channels_first")],
    "GlobalAvgPool2D": [dict()],
    "GlobalAveragePooling3D": [dict(keepdims=True)],
    "GlobalAvgPool3D": [dict()],
    "ZeroPadding2D": [dict(), dict(padding=((1, 2), (0, 3)), data_format="channels_first")],
    "ZeroPadding3D": [dict(), dict(padding=(1, 0, 2))],
    "Cropping2D": [dict(), dict(cropping=2), dict(cropping=((0, 1), 3))],
    "Cropping3D": [dict(), dict(cropping=((0, 1), (2, 0), 1), data_format="channels_first")],
    "UpSampling2D": [dict(), dict(size=(1, 3), interpolation="bilinear")],
    "UpSampling3D": [dict(), dict(size=(2, 1, 3))],
    "TextVectorization": [dict(), dict(max_tokens=10, standardize="lower", split="character",
                                       ngrams=2, output_sequence_length=5),
                          dict(output_mode="tf_idf", vocabulary=["a", "b"],
                               idf_weights=[0.5, 0.25]),
                          dict(split=None, standardize=None, ngrams=(1, 3),
                               output_mode="count", pad_to_max_tokens=True, max_tokens=6)],
    "StringLookup": [dict(), dict(max_tokens=5, num_oov_indices=2, mask_token="",
                                  oov_token="?", output_mode="multi_hot",
                                  pad_to_max_tokens=True, salt=3),
                     dict(vocabulary=["a", "b"], invert=True),
                     dict(vocabulary=["x", "y"], output_mode="tf_idf", idf_weights=[1.0, 2.0])],
    "IntegerLookup": [dict(), dict(mask_token=0, oov_token=-5, num_oov_indices=3,
                                   oov_method="farmhash", salt=[1, 2], output_mode="count"),
                      dict(vocabulary=[4, 5, 6], invert=True)],
    "Hashing": [dict(num_bins=3), dict(num_bins=5, mask_value="", salt=7,
                                       output_mode="multi_hot")],
    "Normalization": [dict(), dict(axis=(1, 2), mean=[1.0, 2.0], variance=[3.0, 4.0],
                                   invert=True), dict(axis=None, mean=0.5, variance=2.0)],
    "Discretization": [dict(num_bins=4), dict(bin_boundaries=[0.0, 1.5], output_mode="one_hot",
                                              epsilon=0.1)],
    "Attention": [dict(), dict(use_scale=True, score_mode="concat", dropout=0.2, seed=3)],
    "AdditiveAttention": [dict(), dict(use_scale=False, dropout=0.1, seed=2)],
    "MultiHeadAttention": [
        dict(num_heads=2, key_dim=3),
        dict(num_heads=4, key_dim=2, value_dim=5, dropout=0.1, use_bias=False,
             output_shape=(3, 2), attention_axes=(1, 2), sliding_window=4,
             kernel_initializer="he_normal", bias_initializer="ones",
             kernel_regularizer={"class_name": "L2", "config": {"l2": 0.01}},
             bias_constraint={"class_name": "NonNeg", "config": {}}, use_gate=True, seed=7),
        dict(num_heads=1, key_dim=4, output_shape=6, attention_axes=2),
        dict(num_heads=3, key_dim=2, attention_axes=[1, -2], flash_attention=False)],
    "EinsumDense": [dict(equation="ab,bc->ac", output_shape=4),
                    dict(equation="abc,cde->abde", output_shape=(None, 2, 4), bias_axes="de",
                         activation="relu", kernel_initializer="he_normal",
                         kernel_regularizer={"class_name": "L2", "config": {"l2": 0.01}},
                         bias_constraint={"class_name": "NonNeg", "config": {}}),
                    dict(equation="...b,bc->...c", output_shape=[3], bias_axes="c")],
    "ReversibleEmbedding": [dict(input_dim=7, output_dim=3),
                            dict(input_dim=9, output_dim=2, tie_weights=False, mask_zero=True,
                                 logit_soft_cap=30.0, reverse_dtype="float32")],
    "GroupNormalization": [dict(), dict(groups=-1, axis=1, epsilon=1e-5, center=False,
                                        gamma_regularizer={"class_name": "L2",
                                                           "config": {"l2": 0.01}})],
    "RMSNormalization": [dict(), dict(axis=[1, 2], epsilon=1e-3)],
    "AdaptiveAveragePooling1D": [dict(output_size=3), dict(output_size=(2,),
                                                          data_format="channels_first")],
    "AdaptiveAveragePooling2D": [dict(output_size=3), dict(output_size=(2, 4))],
    "AdaptiveAveragePooling3D": [dict(output_size=(1, 2, 3), data_format="channels_first")],
    "AdaptiveMaxPooling1D": [dict(output_size=5)],
    "AdaptiveMaxPooling2D": [dict(output_size=(3, 1), data_format="channels_first")],
    "AdaptiveMaxPooling3D": [dict(output_size=2)],
    "GroupQueryAttention": [
        dict(head_dim=3, num_query_heads=4, num_key_value_heads=2),
        dict(head_dim=2, num_query_heads=3, num_key_value_heads=1, dropout=0.1,
             use_bias=False, sliding_window=3, kernel_initializer="he_normal",
             bias_regularizer={"class_name": "L1", "config": {"l1": 0.1}}, use_gate=True,
             seed=4, flash_attention=False)],
    "CategoryEncoding": [dict(num_tokens=4), dict(num_tokens=6, output_mode="count"),
                         dict(num_tokens=3, output_mode="binary", dtype="int32")],
    "HashedCrossing": [dict(num_bins=5), dict(num_bins=3, output_mode="one_hot")],
    "Rescaling": [dict(scale=0.5), dict(scale=[1.0, 2.0, 3.0], offset=-1.0)],
    "Resizing": [dict(height=3, width=4), dict(height=5, width=2, interpolation="area",
                                               pad_to_aspect_ratio=True, fill_value=1.5,
                                               antialias=True, data_format="channels_first")],
    "CenterCrop": [dict(height=2, width=3)],
    "RandomFlip": [dict(), dict(mode="vertical", seed=3)],
    "RandomRotation": [dict(factor=0.2), dict(factor=(-0.1, 0.3), fill_mode="constant",
                                              interpolation="nearest", fill_value=2.0, seed=1)],
    "RandomZoom": [dict(height_factor=0.2), dict(height_factor=(-0.3, 0.2), width_factor=0.1,
                                                 fill_mode="wrap")],
    "RandomTranslation": [dict(height_factor=0.1, width_factor=(-0.2, 0.3), seed=2)],
    "RandomShear": [dict(x_factor=0.2), dict(x_factor=(0.1, 0.4), y_factor=0.3)],
    "RandomPerspective": [dict(), dict(factor=(0.2, 0.8), scale=0.5, fill_value=1.0)],
    "RandomCrop": [dict(height=2, width=2, seed=1)],
    "RandomElasticTransform": [dict(), dict(factor=0.5, scale=(0.1, 0.4), fill_mode="wrap",
                                            value_range=(0, 1))],
    "RandomContrast": [dict(factor=0.3)],
    "RandomBrightness": [dict(factor=0.2), dict(factor=(-0.1, 0.4), value_range=(0.0, 1.0))],
    "RandomHue": [dict(factor=0.2)],
    "RandomSaturation": [dict(factor=0.3)],
    "RandomSharpness": [dict(factor=0.3)],
    "RandomGrayscale": [dict(), dict(factor=0.2)],
    "RandomInvert": [dict(), dict(factor=0.4, value_range=(0, 1))],
    "RandomPosterization": [dict(factor=4), dict(factor=(2, 6))],
    "RandomColorJitter": [dict(), dict(brightness_factor=0.2, hue_factor=(0.1, 0.3))],
    "RandomColorDegeneration": [dict(factor=0.5)],
    "RandomGaussianBlur": [dict(), dict(kernel_size=(3, 5), sigma=(0.2, 0.8))],
    "RandomErasing": [dict(), dict(fill_value=3.0, scale=0.4)],
    "AugMix": [dict(), dict(all_ops=False, num_chains=2, factor=0.5)],
    "CutMix": [dict(), dict(factor=0.5, seed=4)],
    "MixUp": [dict(), dict(alpha=0.5)],
    "RandAugment": [dict(), dict(num_ops=3, factor=0.2)],
    "Solarization": [dict(), dict(addition_factor=0.2, threshold_factor=(0.1, 0.6))],
    "Equalization": [dict(), dict(bins=64, value_range=(0, 1))],
    "AutoContrast": [dict(), dict(value_range=(0, 1))],
    "MaxNumBoundingBoxes": [dict(max_number=3), dict(max_number=2, bounding_box_format="xyxy")],
    "ContrastLimitedAdaptiveHistogramEqualization": [dict(), dict(clip_limit=2.0,
                                                                  tile_grid_size=(4, 4))],
    "MelSpectrogram": [dict(), dict(fft_length=256, sequence_stride=64, num_mel_bins=40,
                                    sampling_rate=8000, power_to_db=False)],
    "STFTSpectrogram": [dict(), dict(mode="stft", frame_length=64, frame_step=16,
                                     window="hamming", scaling="spectrum", periodic=True,
                                     padding="same", expand_dims=True)],
}
#: Classes whose arguments are layers: built by a function of the module (keras or rnnlens).
NESTED = {
    "Bidirectional": lambda m: m.layers.Bidirectional(m.layers.LSTM(2), merge_mode="sum"),
    "TimeDistributed": lambda m: m.layers.TimeDistributed(m.layers.Dense(3)),
    "RNN": lambda m: m.layers.RNN(m.layers.GRUCell(2), return_sequences=True),
    "StackedRNNCells": lambda m: m.layers.StackedRNNCells([m.layers.LSTMCell(2),
                                                           m.layers.SimpleRNNCell(3)]),
    "SpectralNormalization": lambda m: m.layers.SpectralNormalization(m.layers.Dense(3),
                                                                      power_iterations=2),
    "Pipeline": lambda m: m.layers.Pipeline([m.layers.Dense(2), m.layers.Dropout(0.5)]),
}
MODELS = {"Functional", "Model", "Sequential"}


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    import keras  # noqa: PLC0415

    return keras


def _strip_names(config: Any) -> Any:
    """Layer names differ between sessions; everything else must match."""
    if isinstance(config, dict):
        return {k: _strip_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [_strip_names(v) for v in config]
    return config


def test_every_registered_class_is_covered() -> None:
    covered = set(CASES) | set(NESTED) | MODELS | set(EXTRA_CASES)
    missing = sorted(set(REGISTRY) - covered)
    assert not missing, f"add config cases for {missing}"


#: Classes Keras 3 does not have (Keras 2's cuDNN layers; tested in test_keras2_files.py,
#: where tf-keras is the oracle): covered, without a Keras 3 config to compare with.
EXTRA_CASES: dict[str, list[dict]] = {"CuDNNLSTM": [dict(units=3)], "CuDNNGRU": [dict(units=2)],
                                     # Keras's legacy .h5 name of GroupQueryAttention
                                     "GroupedQueryAttention": [dict(head_dim=2,
                                                                    num_query_heads=2,
                                                                    num_key_value_heads=1)]}


def _pairs() -> list[tuple[str, dict]]:
    return [(name, kw) for name, kws in CASES.items() for kw in kws]


@pytest.mark.parametrize("name,kwargs", _pairs(), ids=lambda v: v if isinstance(v, str)
                         else ",".join(v) or "defaults")
def test_config_equals_keras(K: Any, name: str, kwargs: dict) -> None:
    import rnnlens.layers as RL

    ours = getattr(RL, name)(**kwargs).get_config()
    theirs = getattr(K.layers, name)(**kwargs).get_config()
    assert _strip_names(ours) == _strip_names(theirs)


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_config_equals_keras(K: Any, name: str) -> None:
    import rnnlens

    ours = NESTED[name](rnnlens).get_config()
    theirs = NESTED[name](K).get_config()
    assert _strip_names(ours) == _strip_names(theirs)


@pytest.mark.parametrize("name,kwargs", _pairs(), ids=lambda v: v if isinstance(v, str)
                         else ",".join(v) or "defaults")
def test_from_config_and_reader_round_trip(name: str, kwargs: dict) -> None:
    import rnnlens.layers as RL

    layer = getattr(RL, name)(**kwargs)
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    read = _Reader("test", Limits()).layer({"class_name": name, "config": config})
    assert _strip_names(read.get_config()) == _strip_names(config)


def test_reader_refuses_an_undeclared_key() -> None:
    with pytest.raises(UnsafeModelError, match="'color'.*rnnlens does not know"):
        _Reader("t", Limits()).layer({"class_name": "Dense",
                                      "config": {"units": 2, "color": "red"}})


def test_reader_checks_declared_values_and_caps() -> None:
    reader = _Reader("t", Limits(max_units=10))
    with pytest.raises(UnsafeModelError, match="max_units"):
        reader.layer({"class_name": "LSTM", "config": {"units": 11}})
    with pytest.raises(UnsafeModelError, match="`use_bias`"):
        reader.layer({"class_name": "Dense", "config": {"units": 2, "use_bias": "yes"}})
    with pytest.raises(UnsafeModelError, match="serialized custom activation"):
        reader.layer({"class_name": "Dense", "config": {
            "units": 2, "activation": {"class_name": "function", "config": {"code": "x"}}}})


def test_generated_init_signature_lists_keras_arguments() -> None:
    import inspect

    from rnnlens.layers import Dense, Masking

    params = list(inspect.signature(Dense.__init__).parameters)
    assert params[:4] == ["self", "units", "activation", "use_bias"]
    assert "name" in params and "trainable" in params
    assert Masking(0.25).mask_value == 0.25                 # positional, as Keras
    with pytest.raises(TypeError, match="at most"):
        Masking(0.1, 0.2)
    with pytest.raises(TypeError, match="twice"):
        Dense(3, units=4)
    with pytest.raises(TypeError, match="missing the required argument `units`"):
        Dense()


def test_add_weight_registry_orders_like_keras() -> None:
    """A user layer's weights: trainable first, then non-trainable, then sublayers'."""
    from rnnlens.layers import Dense, Layer

    class Scaled(Layer):
        def build(self, input_shape: Any) -> None:
            self.moving = self.add_weight(shape=(2,), initializer="ones", trainable=False,
                                          name="moving")
            self.scale = self.add_weight(shape=(2,), initializer="zeros", name="scale")
            self.inner = Dense(2)
            self.inner.build(input_shape)
            self.built = True

        def call(self, x: Any, **kw: Any) -> Any:
            return self.inner(x) * self.scale + self.moving

        def compute_output_shape(self, input_shape: Any, **kw: Any) -> Any:
            return input_shape

    layer = Scaled()
    out = layer(np.ones((1, 2), np.float32))
    assert out.shape == (1, 2)
    names = [w.name for w in layer.weight_records()]
    assert names == ["scale", "moving", "kernel", "bias"]
    assert [w.shape for w in layer.trainable_weights] == [(2,), (2, 2), (2,)]
    assert [w.shape for w in layer.non_trainable_weights] == [(2,)]
    new = [np.full(w.shape, k, np.float32) for k, w in enumerate(layer.get_weights())]
    kept = layer.scale
    layer.set_weights(new)
    assert layer.scale is kept and float(layer.scale[0]) == 0.0 and float(layer.moving[0]) == 1.0
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    assert layer.inner.trainable is False
