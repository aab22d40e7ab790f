"""Custom losses written with ``ops`` train as in Keras, with the options ``fit`` adds.

Each loss is written once over a module (``keras`` or ``rnnlens``): a function returning
per-sample values, a function that already reduces to a scalar, and a ``Loss`` subclass
with ``call`` (default and ``"sum"`` reductions); ``fit`` runs with and without
``sample_weight`` on the same two-layer model with the same weights and the histories
must agree within 1e-5 relative. Then the wrapper's values and gradients against
``tf.GradientTape``, and clear errors for losses that return non-float values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import keras_available

WORST: dict[str, Any] = {"err": 0.0, "where": ""}


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on TensorFlow is not importable")
    import keras  # noqa: PLC0415

    return keras


def teardown_module(module: Any) -> None:
    print(f"\ncustom losses: worst fit-history difference {WORST['err']:.3e} "
          f"({WORST['where']})")


def losses_for(lib: Any) -> dict[str, Any]:
    o = lib.ops

    def gated_mse(y_true: Any, y_pred: Any) -> Any:
        return o.mean(o.square(y_true - y_pred) * o.sigmoid(y_pred), axis=-1)

    def mean_abs(y_true: Any, y_pred: Any) -> Any:      # already a scalar
        return o.mean(o.abs(y_true - y_pred))

    class LogSquare(lib.losses.Loss):
        def call(self, y_true: Any, y_pred: Any) -> Any:
            return o.sum(o.log(1.0 + o.square(y_true - y_pred)), axis=-1)

    return {"gated_mse": gated_mse, "mean_abs": mean_abs,
            "LogSquare": lambda: LogSquare(), "LogSquare-sum": lambda: LogSquare(
                reduction="sum")}


def _model(lib: Any) -> Any:
    inp = lib.Input((4,))
    return lib.Model(inp, lib.layers.Dense(3)(lib.layers.Dense(5, activation="tanh")(inp)))


RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 4)).astype("float32")
Y = RNG.normal(size=(20, 3)).astype("float32")
SW = RNG.uniform(0, 2, 20).astype("float32")


@pytest.mark.parametrize("name", ["gated_mse", "mean_abs", "LogSquare", "LogSquare-sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_histories_match_keras(K: Any, name: str, weighted: bool) -> None:
    km, rm = _model(K), _model(rnnlens)
    rm.set_weights(km.get_weights())
    k_loss, r_loss = losses_for(K)[name], losses_for(rnnlens)[name]
    if name.startswith("LogSquare"):
        k_loss, r_loss = k_loss(), r_loss()
    km.compile(K.optimizers.SGD(0.1), k_loss)
    rm.compile(rnnlens.optimizers.SGD(0.1), r_loss)
    extra = {"sample_weight": SW} if weighted else {}
    theirs = km.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                    **extra).history["loss"]
    ours = rm.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                  **extra).history["loss"]
    err = float(np.max(np.abs(np.subtract(ours, theirs)) / np.maximum(np.abs(theirs), 1.0)))
    if err > WORST["err"]:
        WORST.update(err=err, where=f"{name} weighted={weighted}")
    assert err <= 1e-5, (ours, theirs)
    assert ours[-1] < ours[0]


def test_wrapper_gradient_matches_tensorflow(K: Any) -> None:
    import tensorflow as tf  # noqa: PLC0415
    from keras.src.losses.losses import LossFunctionWrapper  # noqa: PLC0415  (not public)

    y_pred = RNG.normal(size=(6, 3)).astype("float32")
    k_fn, r_fn = losses_for(K)["gated_mse"], losses_for(rnnlens)["gated_mse"]
    yp = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = LossFunctionWrapper(k_fn)(Y[:6], yp, sample_weight=SW[:6])
    expected = tape.gradient(value, yp).numpy()
    loss = rnnlens.losses.LossFunctionWrapper(r_fn)
    ours, grad = loss.value_and_gradient(Y[:6], y_pred, SW[:6])
    np.testing.assert_allclose(ours, float(value), rtol=1e-6)
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_non_float_losses_are_refused() -> None:
    def counts(y_true: Any, y_pred: Any) -> Any:
        return rnnlens.ops.argmax(y_pred, axis=-1)

    model = _model(rnnlens)
    model.compile("sgd", counts)
    with pytest.raises(TypeError, match="expected floats"):
        model.fit(X, Y, epochs=1, verbose=0)
