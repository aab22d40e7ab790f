"""Regularizers, activity regularizers and constraints in training, against live Keras.

Keras adds ``regularizer(w)`` of every trainable weight and ``activity_regularizer(y) /
batch`` of every regularized layer output to the loss it differentiates and logs (in
``fit`` and ``evaluate``), and applies each weight's constraint after each optimizer
update. The same models are built in both libraries with Keras's initial weights copied
over; histories and final weights must agree (relative 1e-4), and
``training.gradients`` must equal ``tf.GradientTape`` on the regularized loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from oracle import keras_available
from test_fit_parity import rel_close

pytestmark = pytest.mark.keras

N, T, F = 24, 5, 3


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    import keras  # noqa: PLC0415

    return keras


def _model(m: Any, case: str) -> Any:
    L = m.layers
    inp = m.Input((T, F))
    if case == "kernel_l2":
        x = L.LSTM(4, kernel_regularizer=m.regularizers.L2(0.05),
                   recurrent_regularizer=m.regularizers.L1(0.02),
                   bias_regularizer=m.regularizers.L1L2(0.01, 0.03))(inp)
        out = L.Dense(2, kernel_regularizer="l2")(x)
    elif case == "activity":
        x = L.GRU(4, return_sequences=True, activity_regularizer=m.regularizers.L2(0.1))(inp)
        x = L.LSTM(3, return_state=True, activity_regularizer=m.regularizers.L1(0.01))(x)[0]
        out = L.Dense(2, activity_regularizer=m.regularizers.L1L2(0.01, 0.02))(x)
    elif case == "constraints":
        x = L.SimpleRNN(4, kernel_constraint=m.constraints.MaxNorm(0.3),
                        recurrent_constraint=m.constraints.UnitNorm(),
                        bias_constraint=m.constraints.NonNeg())(inp)
        out = L.Dense(2, kernel_constraint=m.constraints.MinMaxNorm(0.1, 0.4, rate=0.5))(x)
    else:                                     # everything, through a TimeDistributed head
        x = L.LSTM(4, return_sequences=True, kernel_regularizer="l1",
                   kernel_constraint=m.constraints.MaxNorm(0.5))(inp)
        out = L.TimeDistributed(L.Dense(2, kernel_regularizer=m.regularizers.L2(0.1),
                                        activity_regularizer="l2"))(x)
        out = L.Flatten()(out) if hasattr(L, "Flatten") else out
    return m.Model(inp, out)


def _data(case: str, seq_out: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(len(case))
    x = rng.normal(size=(N, T, F)).astype(np.float32)
    y = rng.normal(size=(N, T * 2) if seq_out else (N, 2)).astype(np.float32)
    return x, y


CASES = ["kernel_l2", "activity", "constraints", "all"]


@pytest.mark.parametrize("case", CASES)
def test_fit_and_evaluate_match_keras(K: Any, case: str) -> None:
    import rnnlens

    km, rm = _model(K, case), _model(rnnlens, case)
    rm.set_weights(km.get_weights())
    x, y = _data(case, seq_out=km.output_shape[-1] != 2)
    y = y[:, :km.output_shape[-1]]
    for m, opt in ((km, K.optimizers.SGD(0.1)), (rm, rnnlens.optimizers.SGD(0.1))):
        m.compile(optimizer=opt, loss="mse")
    kh = km.fit(x, y, batch_size=7, epochs=3, shuffle=False, verbose=0,
                validation_data=(x[:9], y[:9])).history
    rh = rm.fit(x, y, batch_size=7, epochs=3, shuffle=False, verbose=0,
                validation_data=(x[:9], y[:9])).history
    for key in ("loss", "val_loss"):
        rel_close(rh[key], kh[key], f"{case} {key}")
    for k, (a, e) in enumerate(zip(rm.get_weights(), km.get_weights())):
        rel_close(a, e, f"{case} weight {k}")
    rel_close(rm.evaluate(x, y, verbose=0), km.evaluate(x, y, verbose=0), f"{case} evaluate")


@pytest.mark.parametrize("case", ["kernel_l2", "activity", "all"])
def test_gradients_include_the_penalties_as_keras(K: Any, case: str) -> None:
    import tensorflow as tf

    import rnnlens
    from rnnlens import training

    km, rm = _model(K, case), _model(rnnlens, case)
    rm.set_weights(km.get_weights())
    x, y = _data(case, seq_out=km.output_shape[-1] != 2)
    y = y[:, :km.output_shape[-1]]
    km.compile(loss="mse")
    with tf.GradientTape() as tape:
        pred = km(x, training=True)
        loss = km.compute_loss(x=x, y=y, y_pred=pred)
    expected = tape.gradient(loss, km.trainable_weights)
    ours = training.gradients(rm, x, y, "mse", training=True)
    for k, (a, e) in enumerate(zip(ours, expected)):
        rel_close(a, np.asarray(e), f"{case} gradient {k}")


def test_penalties_are_zero_without_regularizers_and_count_only_trainable() -> None:
    import rnnlens
    from rnnlens import training

    inp = rnnlens.Input((T, F))
    dense = rnnlens.layers.Dense(2, kernel_regularizer=rnnlens.regularizers.L2(1.0))
    model = rnnlens.Model(inp, dense(rnnlens.layers.LSTM(3)(inp)))
    assert training.regularization(model) == pytest.approx(
        float(np.sum(dense.kernel.astype(np.float64) ** 2)), rel=1e-5)
    dense.trainable = False
    assert training.regularization(model) == 0.0       # Keras: trainable weights only
