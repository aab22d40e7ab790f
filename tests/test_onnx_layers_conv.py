"""ONNX export of the convolution, pooling and 1-D padding layers, against ONNX Runtime.

Each model runs a layer on an LSTM's sequence (``Permute``d to (B, C, T) for
``channels_first``) and feeds its output to another LSTM; hypothesis draws the
arguments (kernel, strides, dilation, padding, groups, depth multiplier, output padding,
data format, known or unknown number of steps). ONNX Runtime must give ``predict``'s
numbers within 2e-6 (see tests/_onnx_support.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _onnx_support import (compare, op_types, refuses, register_summary,  # noqa: E402
                           roundtrip, session)
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rnnlens.layers import (LSTM, AveragePooling1D, BatchNormalization, Conv1D,  # noqa: E402
                            Conv1DTranspose, Cropping1D, Dense, DepthwiseConv1D, Dropout,
                            Flatten, GlobalAveragePooling1D, GlobalMaxPooling1D, Input,
                            MaxPooling1D, Permute, SeparableConv1D, TimeDistributed,
                            UpSampling1D, ZeroPadding1D)
from rnnlens.models import Model, Sequential  # noqa: E402

HYPOTHESIS = settings(max_examples=30, deadline=None, derandomize=True,
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


def _around_lstm(make: Callable[[], Any], data_format: str, dynamic: bool, tmp_path: Path,
                 steps: int = 12, opset: int = 17, features: int = 6) -> Any:
    """x -> LSTM -> [Permute] -> layer -> [Permute] -> LSTM; outputs the layer's and the
    last LSTM's values. Unknown steps run with 12 and 15."""
    x = Input((None if dynamic else steps, 3))
    seq = LSTM(features, return_sequences=True)(x)                      # (B, T, F)
    first = data_format == "channels_first"
    y = make()(Permute((2, 1))(seq) if first else seq)
    back = Permute((2, 1))(y) if first and len(y.shape) == 3 else y
    outs = [y] + ([LSTM(3)(back)] if len(back.shape) == 3 and back.shape[-1] else [])
    return roundtrip(Model(x, outs), _fresh(tmp_path), steps=(12, 15), opset=opset)


# -- convolutions -----------------------------------------------------------------------------


@given(k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same", "causal"]), groups=st.sampled_from([1, 2]),
       data_format=FORMATS, dynamic=st.booleans(), use_bias=st.booleans(),
       activation=st.sampled_from([None, "relu", "tanh", "softmax", "gelu"]))
@HYPOTHESIS
def test_conv1d(tmp_path: Path, k: int, s: int, d: int, padding: str, groups: int,
                data_format: str, dynamic: bool, use_bias: bool, activation: Any) -> None:
    assume(s == 1 or d == 1)                                    # Keras refuses both > 1
    assume(padding != "causal" or data_format == "channels_last")
    proto = _around_lstm(lambda: Conv1D(4, k, strides=s, padding=padding, dilation_rate=d,
                                        groups=groups, data_format=data_format,
                                        use_bias=use_bias, activation=activation),
                         data_format, dynamic, tmp_path)
    assert "Conv" in op_types(proto)


@given(k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 3), m=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), data_format=FORMATS,
       dynamic=st.booleans(), separable=st.booleans(), use_bias=st.booleans())
@HYPOTHESIS
def test_depthwise_and_separable(tmp_path: Path, k: int, s: int, d: int, m: int, padding: str,
                                 data_format: str, dynamic: bool, separable: bool,
                                 use_bias: bool) -> None:
    """Strides and dilation may both exceed 1 here (with unknown steps and "same", the
    kernel is written dilated)."""
    kw = dict(strides=s, padding=padding, dilation_rate=d, depth_multiplier=m,
              data_format=data_format, use_bias=use_bias, activation="elu")
    if separable:
        _around_lstm(lambda: SeparableConv1D(5, k, **kw), data_format, dynamic, tmp_path)
    else:
        _around_lstm(lambda: DepthwiseConv1D(k, **kw), data_format, dynamic, tmp_path)


@given(k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), output_padding=st.integers(-1, 2),
       data_format=FORMATS, dynamic=st.booleans())
@HYPOTHESIS
def test_conv1d_transpose(tmp_path: Path, k: int, s: int, d: int, padding: str,
                          output_padding: int, data_format: str, dynamic: bool) -> None:
    assume(s == 1 or d == 1)
    assume(output_padding < s)
    opad = None if output_padding < 0 else output_padding

    def make() -> Any:
        return Conv1DTranspose(4, k, strides=s, padding=padding, output_padding=opad,
                               dilation_rate=d, data_format=data_format, activation="tanh")

    try:
        make().compute_output_shape((None, 12, 6) if data_format == "channels_last"
                                    else (None, 6, 12))
    except ValueError:
        assume(False)                          # TensorFlow refuses that output size
    proto = _around_lstm(make, data_format, dynamic, tmp_path)
    assert "ConvTranspose" in op_types(proto)


# -- pooling ----------------------------------------------------------------------------------


@given(k=st.integers(1, 4), s=st.sampled_from([None, 1, 2, 3]),
       padding=st.sampled_from(["valid", "same"]), data_format=FORMATS,
       dynamic=st.booleans(), average=st.booleans())
@HYPOTHESIS
def test_pooling(tmp_path: Path, k: int, s: Any, padding: str, data_format: str,
                 dynamic: bool, average: bool) -> None:
    cls = AveragePooling1D if average else MaxPooling1D
    proto = _around_lstm(lambda: cls(k, strides=s, padding=padding, data_format=data_format),
                         data_format, dynamic, tmp_path)
    assert ("AveragePool" if average else "MaxPool") in op_types(proto)


@pytest.mark.parametrize("steps", [1, 2, 5, 6, 7])
@pytest.mark.parametrize("k,s", [(2, 3), (1, 2), (3, 5), (4, 4), (3, 2)])
def test_pooling_same_known_steps(k: int, s: int, steps: int, tmp_path: Path) -> None:
    """Known steps: TensorFlow's "same" pads written out, also for strides > pool_size and
    inputs shorter than the window; averages count only real steps."""
    x = Input((steps, 3))
    seq = LSTM(4, return_sequences=True)(x)
    a = AveragePooling1D(k, strides=s, padding="same")(seq)
    b = MaxPooling1D(k, strides=s, padding="same")(seq)
    roundtrip(Model(x, [a, LSTM(2)(b)]), tmp_path)


@pytest.mark.parametrize("average", [False, True])
@pytest.mark.parametrize("k,s", [(2, 3), (1, 2), (3, 5), (1, 4)])
def test_pooling_same_large_strides_unknown_steps(k: int, s: int, average: bool,
                                                  tmp_path: Path) -> None:
    """strides > pool_size, "same", unknown steps: pads computed from Shape (ONNX Runtime's
    SAME_UPPER pooling refuses them); every length from 1 to 9 against rnnlens."""
    x = Input((None, 3))
    cls = AveragePooling1D if average else MaxPooling1D
    y = cls(k, strides=s, padding="same", name="wide")(LSTM(4, return_sequences=True)(x))
    model = Model(x, [y, LSTM(2)(y)])
    proto = roundtrip(model, tmp_path, steps=(5, 7))
    assert "Pad" in op_types(proto)
    sess = session(tmp_path / "model.onnx")
    for steps in range(1, 10):
        data = np.random.default_rng(steps).normal(size=(2, steps, 3)).astype(np.float32)
        compare(sess.run(None, {x.name: data}), list(model.predict(data)), ["wide", "lstm"],
                f"wide_pool_{steps}")


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("cls", [GlobalMaxPooling1D, GlobalAveragePooling1D])
def test_global_pooling(cls: Any, data_format: str, keepdims: bool, tmp_path: Path) -> None:
    _around_lstm(lambda: cls(data_format=data_format, keepdims=keepdims), data_format,
                 data_format == "channels_last", tmp_path)


# -- padding, cropping, upsampling ------------------------------------------------------------


@given(a=st.integers(0, 3), b=st.integers(0, 3), data_format=FORMATS, dynamic=st.booleans())
@HYPOTHESIS
def test_zero_padding1d(tmp_path: Path, a: int, b: int, data_format: str,
                        dynamic: bool) -> None:
    _around_lstm(lambda: ZeroPadding1D((a, b), data_format=data_format), data_format,
                 dynamic, tmp_path)


@given(a=st.integers(0, 4), b=st.integers(0, 4), size=st.integers(1, 4),
       dynamic=st.booleans())
@HYPOTHESIS
def test_cropping_and_upsampling1d(tmp_path: Path, a: int, b: int, size: int,
                                   dynamic: bool) -> None:
    x = Input((None if dynamic else 10, 3))
    seq = LSTM(5, return_sequences=True)(x)
    y = UpSampling1D(size)(Cropping1D((a, b))(seq))
    z = Cropping1D(b)(UpSampling1D(size)(seq))
    roundtrip(Model(x, [y, LSTM(2)(z)]), _fresh(tmp_path), steps=(10, 13))


def test_upsampling_unknown_channels(tmp_path: Path) -> None:
    """(B, T, C) with C unknown too: the output shape is read with Shape."""
    x = Input((None, None))
    roundtrip(Model(x, UpSampling1D(3)(x)), tmp_path, steps=(4, 6))


# -- models -----------------------------------------------------------------------------------


def test_cnn_lstm_time_distributed(tmp_path: Path) -> None:
    """TimeDistributed(Conv1D / MaxPooling1D / Flatten) per step, then a Bidirectional LSTM."""
    x = Input((None, 10, 2))
    y = TimeDistributed(Conv1D(4, 3, activation="relu", padding="same"))(x)
    y = TimeDistributed(MaxPooling1D(2))(y)
    y = TimeDistributed(Flatten())(y)                            # (B, T, 20)
    y = LSTM(5, return_sequences=True)(y)
    z = TimeDistributed(GlobalAveragePooling1D())(TimeDistributed(
        SeparableConv1D(3, 2, data_format="channels_first"))(x))
    roundtrip(Model(x, [y, LSTM(2)(z)]), tmp_path, steps=(3, 5))


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
def test_sequential_conv_lstm(opset: int, tmp_path: Path) -> None:
    model = Sequential([
        Input((None, 3)),
        Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu"),
        BatchNormalization(),
        Dropout(0.3),
        MaxPooling1D(2, padding="same"),
        LSTM(6, return_sequences=True),
        Conv1DTranspose(4, 2, strides=2),
        DepthwiseConv1D(3, padding="same", depth_multiplier=2),
        LSTM(4, return_sequences=True),
        GlobalMaxPooling1D(keepdims=True),
        Flatten(),
        Dense(2, activation="softmax"),
    ])
    proto = roundtrip(model, tmp_path, opset=opset, steps=(8, 13))
    assert proto.opset_import[0].version == opset


@pytest.mark.parametrize("activation", ["softmax", "log_softmax", "sparsemax", "squareplus",
                                        "hard_silu", "exponential"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_activations_on_the_layers_last_axis(activation: str, data_format: str,
                                                  tmp_path: Path) -> None:
    """Softmax-like activations act on the last axis of the layer's own layout (channels for
    channels_last, steps for channels_first), as in rnnlens."""
    _around_lstm(lambda: Conv1D(4, 2, activation=activation, data_format=data_format),
                 data_format, False, tmp_path)


def test_refuses_user_activation_in_conv(tmp_path: Path) -> None:
    x = Input((6, 3))
    y = Conv1D(2, 2, activation=lambda z: z, name="conv_fn")(LSTM(4, return_sequences=True)(x))
    refuses(Model(x, y), tmp_path, "Layer 'conv_fn' (Conv1D)", "activation='<lambda>'")
