"""2-D and 3-D convolution, pooling, padding, cropping and upsampling layers: their files,
configs, summaries and errors against live Keras 3.15.1 (TensorFlow) and tf_keras 2.21.

* ``get_config()`` equal to Keras's key for key, ``from_config`` both ways, positional
  arguments bound as Keras binds them; ``.keras`` / ``.h5`` files both ways with Keras 3;
  tf_keras ``.h5`` files load; ``summary()`` equal;
* errors: where Keras refuses, rnnlens raises the same exception type; outputs too large
  for memory are refused; a fuzz of arguments and inputs accepts only results or
  ValueError / TypeError from rnnlens;
* speed: Conv2D & co. on (8, 32, 32, 16) inputs with 3x3 kernels within a bound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from conv2d3d_parity import EAGER, KERAS2_MODELS, MODELS
from conv_pool_parity import keras2_h5
from merge_reshape_parity import (assert_raised_by_rnnlens, build_pair, check_rel,
                                  files_both_ways, leaves, load_keras, plain_config,
                                  summary_text)
from rnnlens import layers as RL

pytestmark = pytest.mark.filterwarnings("ignore:.*does not support masking",
                                        "ignore:.*HDF5 file", "ignore:.*destroy the mask")


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


# ---------------------------------------------------------------------------- configs, files
CONFIGS = [(c, k) for c, k, _ in EAGER] + [
    ("Conv2D", dict(filters=2, kernel_size=[2, 3], padding="SAME", name="c", trainable=False,
                    kernel_initializer="he_normal", bias_regularizer={"class_name": "L1",
                                                                      "config": {"l1": 0.1}},
                    activity_regularizer={"class_name": "L2", "config": {"l2": 0.2}})),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2, output_padding=[1, 0, 1],
                             kernel_constraint={"class_name": "NonNeg", "config": {}})),
    ("SeparableConv2D", dict(filters=2, kernel_size=2, depthwise_initializer="ones",
                             pointwise_regularizer={"class_name": "L2",
                                                    "config": {"l2": 0.3}})),
    ("DepthwiseConv2D", dict(kernel_size=2, depthwise_constraint={"class_name": "NonNeg",
                                                                  "config": {}})),
    ("MaxPooling2D", dict(pool_size=[3, 2], strides=[1, 2], data_format="Channels_Last")),
    ("ZeroPadding2D", dict(padding=[[1, 2], 3])), ("Cropping3D", dict(cropping=[1, 2, 0])),
    ("UpSampling2D", dict(size=[1, 2], interpolation="AREA")),
]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[f"{c}{k}" for c, k in CONFIGS])
def test_get_config(K: Any, cls: str, kwargs: dict) -> None:
    K.backend.clear_session()
    rnnlens.utils.clear_session()
    theirs = getattr(K.layers, cls)(**kwargs).get_config()
    ours = getattr(RL, cls)(**kwargs).get_config()
    assert ours == theirs
    assert list(ours) == list(theirs)
    assert getattr(RL, cls).from_config(ours).get_config() == theirs
    assert getattr(K.layers, cls).from_config(ours).get_config() == theirs
    again = RL.deserialize(RL.serialize(getattr(RL, cls).from_config(plain_config(theirs))))
    assert plain_config(again.get_config()) == plain_config(theirs)


def test_positional_signatures(K: Any) -> None:
    """Positional arguments bind as in Keras (Conv3DTranspose puts data_format before
    output_padding, Conv2DTranspose after)."""
    for cls, args in [("Conv3DTranspose", (2, 2, 2, "valid", "channels_first", 1)),
                      ("Conv2DTranspose", (2, 2, 2, "valid", 1, "channels_first")),
                      ("DepthwiseConv2D", (3, 1, "same", 2)), ("ZeroPadding3D", (2,)),
                      ("SeparableConv2D", (2, 3, 1, "same", None, 1, 2)),
                      ("UpSampling2D", ((1, 2), None, "bilinear")),
                      ("AveragePooling3D", (2, 1, "same"))]:
        K.backend.clear_session()
        rnnlens.utils.clear_session()
        assert getattr(RL, cls)(*args).get_config() == getattr(K.layers, cls)(
            *args).get_config()


@pytest.mark.parametrize("case", ["conv_zoo_2d", "conv_zoo_channels_first", "volumes",
                                  "sequential_cnn", "ocr", "video_cnn_lstm"])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=5)
    files_both_ways(K, parity, km, rm, make(), tmp_path, case)


@pytest.fixture(scope="module")
def tfk(K: Any) -> Any:
    return pytest.importorskip("tf_keras")


@pytest.mark.parametrize("case", KERAS2_MODELS)
def test_tf_keras_h5_files_load(tfk: Any, parity: Any, tmp_path: Path, case: str) -> None:
    """tf_keras's configs (groups=1 and SeparableConv2D's unused kernel_* keys, no
    dilation_rate for Conv3DTranspose) load and predict as tf_keras."""
    build, make = MODELS[case]
    x, path = make(), tmp_path / "k2.h5"
    model = keras2_h5(tfk, build, path, seed=6)
    loaded = rnnlens.models.load_model(path)
    for ours, theirs in zip(leaves(loaded.predict(x)), leaves(model.predict(x, verbose=0))):
        check_rel(parity, ours, theirs, f"tf_keras {case}", rtol=1e-5)
    assert loaded.count_params() == model.count_params()


@pytest.mark.parametrize("graph", [MODELS["ocr"][0], MODELS["sequential_cnn"][0],
                                   MODELS["conv_zoo_channels_first"][0]])
def test_summary_equals_keras(K: Any, graph: Callable[[Any], Any]) -> None:
    km, rm = build_pair(K, graph)
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"


# ---------------------------------------------------------------------------- errors
def _bad(lib: Any) -> dict[str, Callable[[], Any]]:
    L = lib.layers
    x = np.ones((2, 6, 5, 4), np.float32)
    return {
        "conv2d causal": lambda: L.Conv2D(2, 2, padding="causal"),
        "conv2d kernel triple": lambda: L.Conv2D(2, (2, 2, 2)),
        "conv2d kernel 0": lambda: L.Conv2D(2, (2, 0)),
        "conv2d strides 0": lambda: L.Conv2D(2, 2, strides=(1, 0)),
        "conv2d groups filters": lambda: L.Conv2D(3, 2, groups=2),
        "conv2d stride and dilation": lambda: L.Conv2D(2, 2, strides=2, dilation_rate=2),
        "conv2d groups channels": lambda: L.Conv2D(2, 2, groups=2)(np.ones((2, 5, 5, 3))),
        "conv2d too small": lambda: L.Conv2D(2, 6)(x),
        "conv2d too small symbolic": lambda: L.Conv2D(2, (3, 6))(lib.Input((6, 5, 4))),
        "conv2d rank 3": lambda: L.Conv2D(2, 2)(lib.Input((6, 4))),
        "conv3d rank 4": lambda: L.Conv3D(2, 2)(lib.Input((6, 5, 4))),
        "conv3d kernel pair": lambda: L.Conv3D(2, (2, 2)),
        "conv2d channels changed": lambda: [c := L.Conv2D(2, 2), c(x),
                                            c(np.ones((2, 6, 5, 3), np.float32))],
        "depthwise causal": lambda: L.DepthwiseConv2D(2, padding="causal"),
        "separable filters 0": lambda: L.SeparableConv2D(0, 2),
        "transpose output_padding": lambda: L.Conv2DTranspose(2, 3, strides=(2, 1),
                                                              output_padding=(1, 1)),
        "transpose3d stride and dilation": lambda: L.Conv3DTranspose(2, 3, strides=2,
                                                                     dilation_rate=2),
        "pool2d size triple": lambda: L.MaxPooling2D((2, 2, 2)),
        "pool3d size 0": lambda: L.AveragePooling3D(0),
        "pool2d padding": lambda: L.MaxPooling2D(2, padding="causal")(lib.Input((6, 5, 4))),
        "pool2d too small symbolic": lambda: L.MaxPooling2D(7)(lib.Input((6, 5, 4))),
        "pool3d rank": lambda: L.MaxPooling3D()(lib.Input((6, 4, 2))),
        "global2d rank": lambda: L.GlobalAveragePooling2D()(lib.Input((6, 4))),
        "zeropad2d triple": lambda: L.ZeroPadding2D((1, 2, 3)),
        "zeropad2d bad pair": lambda: L.ZeroPadding2D(((1, 2, 3), 1)),
        "zeropad3d pair": lambda: L.ZeroPadding3D((1, 2)),
        "zeropad2d negative pair": lambda: L.ZeroPadding2D(((1, -1), 1)),
        "zeropad2d float": lambda: L.ZeroPadding2D(1.5),
        "crop2d negative": lambda: L.Cropping2D(-1),
        "crop2d too much": lambda: L.Cropping2D(((3, 3), 0))(x),
        "crop3d too much symbolic": lambda: L.Cropping3D(2)(lib.Input((4, 5, 6, 2))),
        "crop2d none": lambda: L.Cropping2D(None),
        "upsampling2d 0": lambda: L.UpSampling2D(0),
        "upsampling3d pair": lambda: L.UpSampling3D((2, 2)),
        "upsampling2d rank": lambda: L.UpSampling2D()(lib.Input((6, 4))),
    }


@pytest.mark.parametrize("case", list(_bad(rnnlens)))
def test_errors_like_keras(K: Any, case: str) -> None:
    """Where Keras refuses, rnnlens refuses with the same exception type."""
    with pytest.raises((ValueError, TypeError)) as theirs:
        _bad(K)[case]()
    with pytest.raises(theirs.type) as ours:
        _bad(rnnlens)[case]()
    assert_raised_by_rnnlens(ours.value)


def test_unknown_interpolation_refused(K: Any) -> None:
    """Keras stores any string and fails when called; rnnlens refuses it when made."""
    layer = K.layers.UpSampling2D(interpolation="cubic")
    with pytest.raises(ValueError, match="interpolation"):
        layer(np.ones((1, 2, 2, 1), np.float32))
    with pytest.raises(ValueError, match="interpolation") as ours:
        RL.UpSampling2D(interpolation="cubic")
    assert_raised_by_rnnlens(ours.value)


@pytest.mark.parametrize("layer", [RL.ZeroPadding2D(10**6), RL.UpSampling2D(10**5),
                                   RL.UpSampling3D((1, 10**9, 1)),
                                   RL.UpSampling2D(10**5, interpolation="bicubic"),
                                   RL.ZeroPadding3D(((0, 0), (0, 0), (0, 10**10)))],
                         ids=lambda layer: type(layer).__name__)
def test_huge_outputs_refused(layer: Any) -> None:
    """Arguments whose output would not fit in memory are a ValueError, at once."""
    shape = (2, *(3,) * layer.rank, 2)
    with pytest.raises(ValueError, match="limit") as err:
        layer(np.ones(shape, np.float32))
    assert_raised_by_rnnlens(err.value)
    with pytest.raises(ValueError, match="limit"):
        layer(rnnlens.Input(shape[1:]))


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2, 5), st.floats(-1, 4),
                  st.text(max_size=3), st.lists(st.integers(-1, 4), max_size=4),
                  st.lists(st.lists(st.integers(-1, 3), max_size=3), max_size=3),
                  st.sampled_from(["same", "valid", "bilinear", "channels_first"]))
_CLASSES = ["Conv2D", "Conv3D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose",
            "Conv3DTranspose", "MaxPooling2D", "AveragePooling3D", "GlobalMaxPooling3D",
            "GlobalAveragePooling2D", "ZeroPadding2D", "ZeroPadding3D", "Cropping2D",
            "Cropping3D", "UpSampling2D", "UpSampling3D"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(_CLASSES), args=st.lists(_JUNK, max_size=4),
       shape=st.lists(st.integers(0, 5), max_size=5))
def test_fuzz_bad_arguments_and_inputs(cls: str, args: list, shape: list) -> None:
    """Random arguments and inputs: a result or a ValueError / TypeError from rnnlens."""
    try:
        layer = getattr(RL, cls)(*args)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    try:
        out = layer(np.ones(shape, np.float32))
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    assert isinstance(out, np.ndarray) and len(shape) == layer.rank + 2
    assert np.isfinite(out).all() or 0 in shape
