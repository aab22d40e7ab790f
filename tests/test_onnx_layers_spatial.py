"""ONNX export of the 2-D / 3-D convolution, pooling, padding, cropping and upsampling layers.

Hypothesis draws the arguments (kernel, strides, dilation, padding, depth multiplier,
pool windows, data format, known or unknown spatial sizes); ONNX Runtime must give
``predict``'s numbers within 2e-6 (see tests/_onnx_support.py), at two batch sizes and,
for unknown sizes, two image sizes. The image models end in a ConvLSTM-free CNN ->
LSTM pipeline (TimeDistributed(Conv2D) over frames, pooled, fed to an LSTM).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _onnx_support import refuses, register_summary, roundtrip  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rnnlens.layers import (LSTM, AveragePooling2D, AveragePooling3D, Conv2D,  # noqa: E402
                            Conv2DTranspose, Conv3D, Conv3DTranspose, Cropping2D,
                            Cropping3D, DepthwiseConv2D, Flatten, GlobalAveragePooling2D,
                            GlobalAveragePooling3D, GlobalMaxPooling2D, GlobalMaxPooling3D,
                            Input, MaxPooling2D, MaxPooling3D, SeparableConv2D,
                            TimeDistributed, UpSampling2D, UpSampling3D, ZeroPadding2D,
                            ZeroPadding3D)
from rnnlens.models import Model  # noqa: E402

HYPOTHESIS = settings(max_examples=25, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])
FORMATS = st.sampled_from(["channels_last", "channels_first"])


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Any:
    register_summary(request)
    yield


def _fresh(tmp_path: Path) -> Path:
    k = 0
    while (tmp_path / f"case{k}").exists():
        k += 1
    (tmp_path / f"case{k}").mkdir()
    return tmp_path / f"case{k}"


def _image(make: Callable[[], Any], data_format: str, known: bool, tmp_path: Path,
           rank: int = 2, channels: int = 3) -> Any:
    sizes = (9, 8, 7)[:rank] if known else (None,) * rank
    shape = (*sizes, channels) if data_format == "channels_last" else (channels, *sizes)
    x = Input(shape)
    return roundtrip(Model(x, make()(x)), _fresh(tmp_path), steps=(9, 7))


@HYPOTHESIS
@given(kind=st.sampled_from(["conv", "depthwise", "separable"]), kernel=st.tuples(
    st.integers(1, 3), st.integers(1, 3)), step=st.sampled_from([(1, 1), (2, 1), (1, 2)]),
       stride_not_dilation=st.booleans(), padding=st.sampled_from(["valid", "same"]),
       data_format=FORMATS, known=st.booleans(), activation=st.sampled_from(
           [None, "relu", "softmax", "gelu"]))
def test_conv2d_family(kind: str, kernel: tuple, step: tuple, stride_not_dilation: bool,
                       padding: str, data_format: str, known: bool, activation: Any,
                       tmp_path: Path) -> None:
    geometry = {"strides" if stride_not_dilation else "dilation_rate": step}
    common = dict(padding=padding, data_format=data_format, activation=activation,
                  **geometry)

    def make() -> Any:
        if kind == "conv":
            return Conv2D(4, kernel, **common)
        if kind == "depthwise":
            return DepthwiseConv2D(kernel, depth_multiplier=2, **common)
        return SeparableConv2D(4, kernel, depth_multiplier=2, **common)

    _image(make, data_format, known, tmp_path)


@HYPOTHESIS
@given(kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)), strides=st.tuples(
    st.integers(1, 3), st.integers(1, 2)), padding=st.sampled_from(["valid", "same"]),
       data_format=FORMATS, known=st.booleans())
def test_conv2d_transpose(kernel: tuple, strides: tuple, padding: str, data_format: str,
                          known: bool, tmp_path: Path) -> None:
    _image(lambda: Conv2DTranspose(3, kernel, strides=strides, padding=padding,
                                   data_format=data_format), data_format, known, tmp_path)


@HYPOTHESIS
@given(mode=st.sampled_from(["max", "average"]), pool=st.tuples(st.integers(1, 3),
                                                                 st.integers(1, 3)),
       strides=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       padding=st.sampled_from(["valid", "same"]), data_format=FORMATS, known=st.booleans())
def test_pooling2d(mode: str, pool: tuple, strides: tuple, padding: str, data_format: str,
                   known: bool, tmp_path: Path) -> None:
    cls = MaxPooling2D if mode == "max" else AveragePooling2D
    _image(lambda: cls(pool, strides=strides, padding=padding, data_format=data_format),
           data_format, known, tmp_path)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_three_dimensional_layers(data_format: str, tmp_path: Path) -> None:
    for make in (lambda: Conv3D(3, (2, 1, 3), padding="same", data_format=data_format),
                 lambda: Conv3DTranspose(2, 2, strides=(2, 1, 2), padding="same",
                                         data_format=data_format),
                 lambda: MaxPooling3D(2, padding="same", data_format=data_format),
                 lambda: AveragePooling3D((2, 1, 2), strides=1, data_format=data_format),
                 lambda: GlobalMaxPooling3D(data_format=data_format),
                 lambda: GlobalAveragePooling3D(data_format=data_format, keepdims=True),
                 lambda: ZeroPadding3D((1, 2, 0), data_format=data_format),
                 lambda: Cropping3D(((1, 0), (1, 1), (0, 2)), data_format=data_format),
                 lambda: UpSampling3D((2, 1, 3), data_format=data_format)):
        _image(make, data_format, True, tmp_path, rank=3, channels=2)


@pytest.mark.parametrize("known", [True, False])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_padding_cropping_upsampling2d(data_format: str, known: bool, tmp_path: Path) -> None:
    for make in (lambda: ZeroPadding2D(((1, 2), (0, 3)), data_format=data_format),
                 lambda: Cropping2D(((1, 2), (0, 1)), data_format=data_format),
                 lambda: UpSampling2D((2, 3), data_format=data_format),
                 lambda: UpSampling2D((3, 2), data_format=data_format, interpolation="area"),
                 lambda: GlobalMaxPooling2D(data_format=data_format),
                 lambda: GlobalAveragePooling2D(data_format=data_format)):
        _image(make, data_format, known, tmp_path)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos3", "lanczos5"])
def test_upsampling2d_interpolations(method: str, data_format: str, tmp_path: Path) -> None:
    _image(lambda: UpSampling2D((2, 3), data_format=data_format, interpolation=method),
           data_format, True, tmp_path)


def test_refuses_interpolation_on_unknown_sizes(tmp_path: Path) -> None:
    x = Input((None, None, 3))
    y = UpSampling2D(2, interpolation="bicubic", name="smooth")(x)
    refuses(Model(x, y), tmp_path, "Layer 'smooth' (UpSampling2D)", "unknown spatial sizes")


def test_cnn_over_frames_into_an_lstm(tmp_path: Path) -> None:
    """TimeDistributed(Conv2D -> MaxPooling2D -> Flatten) over video frames -> LSTM."""
    x = Input((None, 8, 8, 2))
    y = TimeDistributed(Conv2D(4, 3, padding="same", activation="relu"))(x)
    y = TimeDistributed(MaxPooling2D(2))(y)
    y = TimeDistributed(Flatten())(y)
    roundtrip(Model(x, LSTM(5)(y)), tmp_path, steps=(3, 5))
