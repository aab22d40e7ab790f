"""Tape gradients that need more than float64 finite differences of one op.

``ctc_loss`` computes in float32 whatever its input (as TensorFlow's kernel), so its VJP
is checked against float32-sized central differences (step 1e-2, 2e-3 relative);
``stft`` / ``istft`` (linear maps) against ``tf.GradientTape`` on ``keras.ops`` with random
cotangents (1e-5 relative), beside their float64 finite differences in test_tape.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import keras_available
from rnnlens import ops
from rnnlens.autodiff import Tape
from test_tape import bind, fd_check


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2 ** 16), b=st.integers(1, 2), t=st.integers(3, 6),
       c=st.integers(2, 4))
def test_ctc_loss_vjp_matches_float32_finite_differences(seed: int, b: int, t: int,
                                                         c: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, c, size=(b, 2)).astype("int32")
    out_len = rng.integers(2 * 2 + 1, t + 3, size=b).clip(max=t).astype("int32")
    fn = bind(lambda z, y, ol: ops.ctc_loss(y, z, np.full(b, 2, "int32"), ol),
              y=labels, ol=out_len)
    fd_check("ctc_loss", fn, [rng.normal(size=(b, t, c))], (0,), seed, tol=2e-3, step=1e-2,
             record=False)


@pytest.mark.parametrize("n,s,f,window,center,length", [
    (5, 2, 8, "hann", True, None), (5, 2, 8, "hann", True, 10), (4, 3, 4, None, False, None),
    (6, 2, 9, "hamming", True, 9)])
def test_stft_istft_gradients_match_tensorflow(n: int, s: int, f: int, window: Any,
                                               center: bool, length: Any) -> None:
    """stft / istft VJPs against tf.GradientTape on keras.ops (float32, random cotangents)."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on TensorFlow is not importable")
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    rng = np.random.default_rng(f)
    x = rng.normal(size=(2, 13)).astype("float32")
    spec = ops.stft(x, n, s, f, window=window, center=center)
    r_spec = [rng.normal(size=v.shape).astype("float32") for v in spec]
    r_sig = rng.normal(size=ops.istft(spec, n, s, f, length, window, center).shape
                       ).astype("float32")

    def loss(o: Any, x: Any, re: Any, im: Any) -> Any:
        a, b = o.stft(x, n, s, f, window=window, center=center)
        y = o.istft((re, im), n, s, f, length=length, window=window, center=center)
        return o.sum(a * r_spec[0]) + o.sum(b * r_spec[1]) + o.sum(y * r_sig)

    args = [x, *spec]
    with tf.GradientTape() as tape:
        tvars = [tf.constant(a) for a in args]
        for v in tvars:
            tape.watch(v)
        expected = tape.gradient(loss(keras.ops, *tvars), tvars)
    with Tape() as rtape:
        rvars = [rtape.watch(a) for a in args]
        got = rtape.gradient(loss(ops, *rvars), rvars)
    for g, e in zip(got, expected):
        e = e.numpy()
        err = float(np.abs(g - e).max()) / max(float(np.abs(e).max()), 1.0)
        assert err <= 1e-5, f"tape\n{g}\ntensorflow\n{e}"
