"""Layers, with Keras's import path: ``from rnnlens.layers import Input, LSTM``.

The modules follow Keras's own layout (``core``, ``merging``, ``reshaping``,
``recurrent``, ``wrappers``, ...). Every built-in class is registered by its
Keras name in :data:`rnnlens.layers.base.REGISTRY`.
"""

from typing import Any

from rnnlens.functional import Input
from rnnlens.layers.base import REGISTRY, Layer
from rnnlens.layers.activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from rnnlens.layers.core import Dense, Embedding, Identity, InputLayer, Lambda, Masking
from rnnlens.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum,
                                     Multiply, Subtract, add, average, concatenate, dot,
                                     maximum, minimum, multiply, subtract)
from rnnlens.layers.normalization import (BatchNormalization, LayerNormalization,
                                           UnitNormalization)
from rnnlens.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from rnnlens.layers.reshaping import Cropping1D, UpSampling1D, ZeroPadding1D
from rnnlens.layers.spatial_reshaping import (Cropping2D, Cropping3D, UpSampling2D,
                                              UpSampling3D, ZeroPadding2D, ZeroPadding3D)
from rnnlens.layers.convolutional import (Conv1D, Conv1DTranspose, Convolution1D,
                                          Convolution1DTranspose, DepthwiseConv1D,
                                          SeparableConv1D, SeparableConvolution1D)
from rnnlens.layers.convolutional import (Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
                                          Convolution2D, Convolution2DTranspose,
                                          Convolution3D, Convolution3DTranspose,
                                          DepthwiseConv2D, SeparableConv2D,
                                          SeparableConvolution2D)
from rnnlens.layers.pooling import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D,
                                    GlobalAvgPool1D, GlobalMaxPool1D, GlobalMaxPooling1D,
                                    MaxPool1D, MaxPooling1D)
from rnnlens.layers.pooling import (AveragePooling2D, AveragePooling3D, AvgPool2D, AvgPool3D,
                                    GlobalAveragePooling2D, GlobalAveragePooling3D,
                                    GlobalAvgPool2D, GlobalAvgPool3D, GlobalMaxPool2D,
                                    GlobalMaxPool3D, GlobalMaxPooling2D, GlobalMaxPooling3D,
                                    MaxPool2D, MaxPool3D, MaxPooling2D, MaxPooling3D)
from rnnlens.layers.regularization import (ActivityRegularization, AlphaDropout, Dropout,
                                          GaussianDropout, GaussianNoise, SpatialDropout1D,
                                          SpatialDropout2D, SpatialDropout3D)
from rnnlens.cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from rnnlens.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from rnnlens.layers.cudnn import CuDNNGRU, CuDNNLSTM
from rnnlens.layers.wrappers import Bidirectional, TimeDistributed
from rnnlens.layers.preprocessing import (Discretization, Hashing, IntegerLookup,
                                          Normalization, StringLookup, TextVectorization)
from rnnlens.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from rnnlens.layers.convolutional_recurrent import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from rnnlens.layers.core import EinsumDense, ReversibleEmbedding
from rnnlens.layers.normalization import GroupNormalization, RMSNormalization
from rnnlens.layers.adaptive_pooling import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D,
                                             AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
                                             AdaptiveMaxPooling2D, AdaptiveMaxPooling3D)
from rnnlens.layers.attention import GroupQueryAttention
from rnnlens.layers.preprocessing import CategoryEncoding, HashedCrossing, Pipeline
from rnnlens.layers.wrappers import SpectralNormalization, Wrapper
from rnnlens.layers.input_spec import InputSpec
from rnnlens.layers.preprocessing.image import (
    AugMix, AutoContrast, CenterCrop, ContrastLimitedAdaptiveHistogramEqualization, CutMix,
    Equalization, MaxNumBoundingBoxes, MixUp, RandAugment, RandomBrightness,
    RandomColorDegeneration, RandomColorJitter, RandomContrast, RandomCrop,
    RandomElasticTransform, RandomErasing, RandomFlip, RandomGaussianBlur, RandomGrayscale,
    RandomHue, RandomInvert, RandomPerspective, RandomPosterization, RandomRotation,
    RandomSaturation, RandomSharpness, RandomShear, RandomTranslation, RandomZoom, Rescaling,
    Resizing, Solarization)
from rnnlens.layers.preprocessing.audio import MelSpectrogram, STFTSpectrogram


def serialize(layer: Layer) -> dict:
    """Keras's ``{"module", "class_name", "config", "registered_name"}`` for a layer."""
    from rnnlens.interop.keras_writer import layer_entry

    return layer_entry(layer)


def deserialize(config: Any) -> Layer:
    """A built-in layer from ``serialize``'s dict (or ``{"class_name", "config"}``).

    Only rnnlens's registered classes are built; nothing is imported.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise TypeError(f"Expected a layer config dict with a 'class_name', received "
                        f"{str(config)[:80]!r}.")
    cls = REGISTRY.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown layer class {config['class_name']!r}; rnnlens has "
                         f"{sorted(REGISTRY)}.")
    return cls.from_config(dict(config.get("config") or {}))


__all__ = ["CuDNNLSTM", "CuDNNGRU", "Input", "Layer", "InputLayer", "Dense", "RepeatVector",
           "Concatenate", "Masking",
           "Embedding",
           "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot", "add",
           "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
           "Flatten", "Reshape", "Permute", "UnitNormalization", "BatchNormalization",
           "LayerNormalization",
           "Identity", "Lambda", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
           "Dropout", "SpatialDropout1D", "SpatialDropout2D",
           "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
           "ActivityRegularization",
           "RNN", "LSTM", "GRU", "SimpleRNN", "TimeDistributed", "Bidirectional",
           "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells", "serialize",
           "deserialize",
           "Conv1D", "Convolution1D", "SeparableConv1D", "SeparableConvolution1D",
           "DepthwiseConv1D", "Conv1DTranspose", "Convolution1DTranspose",
           "MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D", "GlobalMaxPooling1D",
           "GlobalMaxPool1D", "GlobalAveragePooling1D", "GlobalAvgPool1D",
           "ZeroPadding1D", "Cropping1D", "UpSampling1D",
           "Attention", "AdditiveAttention", "MultiHeadAttention",
           "TextVectorization", "StringLookup", "IntegerLookup", "Hashing", "Normalization",
           "Discretization",
           "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
           "Conv2D", "Conv3D", "Convolution2D", "Convolution3D", "SeparableConv2D",
           "SeparableConvolution2D", "DepthwiseConv2D", "Conv2DTranspose", "Conv3DTranspose",
           "Convolution2DTranspose", "Convolution3DTranspose",
           "MaxPooling2D", "MaxPool2D", "MaxPooling3D", "MaxPool3D", "AveragePooling2D",
           "AvgPool2D", "AveragePooling3D", "AvgPool3D", "GlobalMaxPooling2D",
           "GlobalMaxPool2D", "GlobalMaxPooling3D", "GlobalMaxPool3D",
           "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalAveragePooling3D",
           "GlobalAvgPool3D", "ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D",
           "UpSampling2D", "UpSampling3D",
           "EinsumDense", "ReversibleEmbedding", "GroupNormalization", "RMSNormalization",
           "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
           "GroupQueryAttention", "CategoryEncoding", "HashedCrossing", "Pipeline",
           "SpectralNormalization", "Wrapper", "InputSpec",
           "Rescaling", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom",
           "RandomTranslation", "RandomShear", "RandomPerspective", "RandomCrop",
           "RandomElasticTransform", "RandomBrightness", "RandomContrast", "RandomHue",
           "RandomSaturation", "RandomSharpness", "RandomGrayscale", "RandomInvert",
           "RandomColorDegeneration", "RandomColorJitter", "RandomPosterization",
           "Solarization", "Equalization", "AutoContrast",
           "ContrastLimitedAdaptiveHistogramEqualization", "MixUp", "CutMix", "RandomErasing",
           "RandomGaussianBlur", "AugMix", "RandAugment", "MaxNumBoundingBoxes",
           "MelSpectrogram", "STFTSpectrogram"]
