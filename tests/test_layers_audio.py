"""MelSpectrogram, STFTSpectrogram, the STFT initializer and ops.stft / istft against
Keras 3.15.1 (windows against SciPy's ``get_window``); STFTSpectrogram's gradients
against ``tf.GradientTape`` for every mode."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnlens.initializers as RI
import rnnlens.ops as R
from oracle import keras_available
from rnnlens import layers as RL
from rnnlens._windows import WINDOWS, get_window


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    pytest.importorskip("scipy")
    import keras  # noqa: PLC0415

    return keras


RNG = np.random.default_rng(0)
SIG = RNG.normal(size=(2, 3000)).astype(np.float32)
MULTI = RNG.normal(size=(2, 300, 2)).astype(np.float32)


def test_windows_equal_scipy() -> None:
    signal = pytest.importorskip("scipy.signal")
    for name in WINDOWS:
        for m in (1, 2, 7, 8):
            for periodic in (False, True):
                np.testing.assert_allclose(get_window(name, m, periodic),
                                           signal.get_window(name, m, periodic), atol=1e-12)
    with pytest.raises(ValueError, match="Unknown window"):
        get_window("kaiser", 8)


@pytest.mark.parametrize("kwargs", [
    dict(sequence_length=64, sequence_stride=16, fft_length=64),
    dict(sequence_length=50, sequence_stride=20, fft_length=64, window="hamming"),
    dict(sequence_length=33, sequence_stride=7, fft_length=40, window=None, center=False)])
def test_stft_istft(K: Any, parity: Any, kwargs: dict) -> None:
    ours, theirs = R.stft(SIG[:, :300], **kwargs), K.ops.stft(SIG[:, :300], **kwargs)
    parity(list(ours), [np.asarray(t) for t in theirs], name="stft")
    parity(R.istft(theirs, **kwargs), K.ops.istft(theirs, **kwargs), name="istft")


@pytest.mark.parametrize("kwargs", [dict(side="real"), dict(side="imag", window="hamming",
                                                            scaling="spectrum", periodic=True),
                                    dict(window=None), dict(window="blackman", scaling=None)])
def test_stft_initializer(K: Any, parity: Any, kwargs: dict) -> None:
    parity(RI.STFT(**kwargs)((64, 1, 33)), K.initializers.STFT(**kwargs)((64, 1, 33)))
    assert RI.STFT(**kwargs).get_config() == K.initializers.STFT(**kwargs).get_config()
    assert RI.get(RI.serialize(RI.STFT(**kwargs))).get_config() == RI.STFT(**kwargs).get_config()


@pytest.mark.parametrize("kwargs", [
    dict(), dict(fft_length=256, sequence_stride=64, num_mel_bins=40, sampling_rate=8000),
    dict(fft_length=128, sequence_length=100, sequence_stride=32, window="hamming",
         power_to_db=False, mag_exp=1.0, max_freq=3000.0, min_freq=50.0)])
def test_mel_spectrogram(K: Any, kwargs: dict) -> None:
    ours = RL.MelSpectrogram(**kwargs)(SIG)
    theirs = np.asarray(K.layers.MelSpectrogram(**kwargs)(SIG))
    assert ours.shape == theirs.shape
    # narrow mel bands amplify float32 rounding of the band edges (see the report)
    assert np.max(np.abs(ours - theirs) / np.maximum(1, np.abs(theirs))) < 1e-4


MODES = [dict(), dict(mode="magnitude", frame_length=64, frame_step=16),
         dict(mode="psd", frame_length=50, fft_length=64, padding="same", expand_dims=True),
         dict(mode="stft", frame_length=32, window="hamming", scaling="spectrum",
              periodic=True),
         dict(mode="angle", frame_length=32, data_format="channels_first"),
         dict(mode="real", frame_length=40, window=None, expand_dims=True,
              data_format="channels_first"), dict(mode="imag", frame_length=16)]


@pytest.mark.parametrize("kwargs", MODES, ids=[k.get("mode", "log") for k in MODES])
def test_stft_spectrogram_values_and_gradients(K: Any, parity: Any, kwargs: dict) -> None:
    import tensorflow as tf  # noqa: PLC0415

    x = MULTI if kwargs.get("data_format") != "channels_first" else np.moveaxis(MULTI, -1, 1)
    theirs, ours = K.layers.STFTSpectrogram(**kwargs), RL.STFTSpectrogram(**kwargs)
    expected = np.asarray(theirs(x))
    ours.build(x.shape)
    weights = [w + 0.01 for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    out, cache = ours.forward(x)
    parity(out, np.asarray(theirs(x)), name="stft spectrogram", atol=1e-4)
    assert ours.compute_output_shape((None,) + x.shape[1:]) == \
        theirs.compute_output_shape((None,) + x.shape[1:]) and expected.shape == out.shape
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = theirs(xt)
        loss = tf.reduce_sum(y * np.linspace(-1, 1, y.shape[-1], dtype=np.float32))
    gx, *gw = tape.gradient(loss, [xt] + theirs.trainable_weights)
    d = np.broadcast_to(np.linspace(-1, 1, out.shape[-1], dtype=np.float32), out.shape)
    dx, _, dws = ours.backward(cache, d)
    scale = max(1.0, float(np.abs(gx).max()))
    parity(dx / scale, gx.numpy() / scale, name="dx")
    for a, b in zip(dws, gw):
        s = max(1.0, float(np.abs(b).max()))
        parity(a / s, b.numpy() / s, name="d kernel")


def test_errors() -> None:
    with pytest.raises(ValueError, match="frame_step"):
        RL.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="fft_length"):
        RL.MelSpectrogram(fft_length=64, sequence_length=128)
    with pytest.raises(ValueError, match="samples"):
        RL.MelSpectrogram()(np.zeros((1, 100), np.float32))
    with pytest.raises(ValueError, match="ndim=3"):
        RL.STFTSpectrogram()(np.zeros((1, 100), np.float32))
