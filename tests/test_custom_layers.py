"""Custom layers, losses and metrics written the Keras way train in rnnlens as in Keras.

Each class is written once over a module ``K`` (``keras`` or ``rnnlens``) with ``K.ops``:
``build`` with ``add_weight``, ``call`` with ops (and NumPy-style operators), ``add_loss``,
sublayers (built-in and custom), ``compute_output_shape`` or not, ``get_config``. The
same model is built in both libraries with the same weights and compared: outputs,
gradients (``rnnlens.training.gradients`` against ``tf.GradientTape`` on
``loss + sum(model.losses)``), and ``fit`` histories (custom loss functions and ``Loss``
subclasses, custom metric classes with ``add_variable`` / ``assign_add``, models trained
by ``add_loss`` alone). Gradients within 1e-5 relative (1e-6 absolute where they are
~0), histories within 1e-5.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import keras_available

WORST: dict[str, Any] = {"grad": 0.0, "grad_where": "", "fit": 0.0, "fit_where": ""}


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on TensorFlow is not importable")
    import keras  # noqa: PLC0415

    return keras


@pytest.fixture(scope="module")
def tf(K: Any) -> Any:
    import tensorflow  # noqa: PLC0415

    return tensorflow


def teardown_module(module: Any) -> None:
    print(f"\ncustom layers: worst gradient difference {WORST['grad']:.3e} "
          f"({WORST['grad_where']}); worst fit-history difference {WORST['fit']:.3e} "
          f"({WORST['fit_where']})")


# ---------------------------------------------------------------------------- the classes
def layers_for(K: Any) -> dict[str, type]:
    """The same custom classes, written once, for keras or rnnlens."""
    ops = K.ops

    class TimeWeightedPooling(K.layers.Layer):
        """Softmax weights over time from a learned direction, pooled and projected."""

        def __init__(self, units: int = 4, **kwargs: Any):
            super().__init__(**kwargs)
            self.units = units
            self.proj = K.layers.Dense(units, activation="tanh", name="proj")

        def build(self, input_shape: Any) -> None:
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="glorot_uniform",
                                     name="w")
            self.b = self.add_weight(shape=(), initializer="zeros", name="b")

        def call(self, x: Any) -> Any:
            scores = ops.softmax(ops.sum(x * self.w, axis=-1) + self.b, axis=-1)
            self.add_loss(0.05 * ops.mean(ops.square(scores)))
            pooled = ops.sum(x * ops.expand_dims(scores, -1), axis=1)
            return self.proj(pooled)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return (input_shape[0], self.units)

        def get_config(self) -> dict:
            return {**super().get_config(), "units": self.units}

    class AdditiveAttention(K.layers.Layer):
        """Bahdanau scores of a query against values (list input), with operators."""

        def build(self, input_shape: Any) -> None:
            q, v = input_shape
            self.wq = self.add_weight(shape=(q[-1], 5), name="wq")
            self.wv = self.add_weight(shape=(v[-1], 5), name="wv")
            self.v = self.add_weight(shape=(5,), name="v")

        def call(self, inputs: Any) -> Any:
            query, values = inputs
            hidden = ops.tanh(ops.expand_dims(query @ self.wq, 1) + values @ self.wv)
            weights = ops.softmax(ops.sum(hidden * self.v, axis=-1), axis=-1)
            return ops.concatenate([ops.einsum("bt,btf->bf", weights, values), query], -1)

    class Scale(K.layers.Layer):
        """A custom layer inside a custom layer, with training-dependent behaviour."""

        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.inner = Affine()

        def call(self, x: Any, training: Any = None) -> Any:
            y = self.inner(x)
            return y * 2.0 if training else y

    class Affine(K.layers.Layer):
        def build(self, input_shape: Any) -> None:
            self.kernel = self.add_weight(shape=(input_shape[-1], input_shape[-1]),
                                          initializer="orthogonal", name="kernel")
            self.bias = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                        name="bias")

        def call(self, x: Any) -> Any:
            return ops.relu(ops.matmul(x, self.kernel) + self.bias) - 0.5 * x

    return {"TimeWeightedPooling": TimeWeightedPooling, "AdditiveAttention": AdditiveAttention,
            "Scale": Scale, "Affine": Affine}


def pooled_model(K: Any) -> Any:
    L = layers_for(K)
    inp = K.Input((6, 3))
    h = K.layers.LSTM(5, return_sequences=True)(inp)
    pooled = L["TimeWeightedPooling"](4)(h)
    return K.Model(inp, K.layers.Dense(2)(L["Scale"]()(pooled)))


def attention_model(K: Any) -> Any:
    L = layers_for(K)
    inp = K.Input((7, 3))
    seq = K.layers.GRU(4, return_sequences=True)(inp)
    last = K.layers.GRU(3)(inp)
    mixed = L["AdditiveAttention"]()([last, seq])
    return K.Model(inp, K.layers.Dense(1)(mixed))


def data(shape: tuple, out: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(16,) + shape).astype("float32"),
            rng.normal(size=(16, out)).astype("float32"))


def twin(K: Any, build: Any, x: np.ndarray) -> tuple[Any, Any]:
    km, rm = build(K), build(rnnlens)
    km.predict(x[:2], verbose=0)                     # builds the lazily built sublayers
    rm.predict(x[:2], verbose=0)
    rm.set_weights(km.get_weights())
    return km, rm


def record(kind: str, err: float, where: str) -> None:
    if err > WORST[kind]:
        WORST[kind], WORST[f"{kind}_where"] = err, where


def compare_gradients(tf: Any, K: Any, km: Any, rm: Any, x: np.ndarray, y: np.ndarray,
                      where: str, training: bool = True) -> None:
    with tf.GradientTape() as tape:
        out = km(x, training=training)
        loss = K.losses.MeanSquaredError()(y, out)
        if km.losses:
            loss = loss + tf.add_n(km.losses)
    expected = tape.gradient(loss, km.trainable_weights)
    got = rnnlens.training.gradients(rm, x, y, "mse", training=training)
    assert len(got) == len(expected)
    for g, e, w in zip(got, expected, km.trainable_weights):
        e = e.numpy()
        # relative to the largest entry; gradients that vanish exactly (the pooling's
        # scalar b shifts a softmax: d/db = 0, float32 noise ~5e-8 in both libraries)
        # are held to 1e-6 absolute
        err = float(np.abs(g - e).max()) / max(float(np.abs(e).max()), 0.1)
        record("grad", err, f"{where} {w.path}")
        assert err <= 1e-5, f"{where}: {w.path}\n{g}\n{e}"


# ---------------------------------------------------------------------------- parity
@pytest.mark.parametrize("build,shape", [(pooled_model, (6, 3)), (attention_model, (7, 3))])
def test_outputs_and_gradients_match_tensorflow(K: Any, tf: Any, build: Any,
                                                shape: tuple) -> None:
    x, y = data(shape, 2 if build is pooled_model else 1)
    km, rm = twin(K, build, x)
    np.testing.assert_allclose(rm.predict(x, verbose=0), km.predict(x, verbose=0),
                               atol=1e-5)
    compare_gradients(tf, K, km, rm, x, y, build.__name__)
    compare_gradients(tf, K, km, rm, x, y, build.__name__ + " inference", training=False)
    assert [float(v) for v in rm.losses][:1] == pytest.approx(
        [float(v) for v in km.losses][:1], abs=1e-6)


def custom_objects(K: Any) -> tuple[Any, Any, Any]:
    """A loss function, a Loss subclass and a Metric subclass, for keras or rnnlens."""
    ops = K.ops

    def smooth_l1(y_true: Any, y_pred: Any) -> Any:
        d = ops.abs(y_true - y_pred)
        return ops.mean(ops.where(d < 0.5, d * d, d - 0.25), axis=-1)

    class WeightedMSE(K.losses.Loss):
        def call(self, y_true: Any, y_pred: Any) -> Any:
            return ops.mean(ops.square(y_true - y_pred) * ops.arange(1.0, 3.0), axis=-1)

    class SignAgreement(K.metrics.Metric):
        def __init__(self, name: str = "sign_agreement", **kwargs: Any):
            super().__init__(name=name, **kwargs)
            self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
            same = ops.cast(ops.equal(ops.sign(y_true), ops.sign(y_pred)), "float32")
            self.hits.assign_add(ops.sum(same))
            self.count.assign_add(ops.cast(ops.size(same), "float32"))

        def result(self) -> Any:
            return ops.divide_no_nan(self.hits, self.count)

    return smooth_l1, WeightedMSE, SignAgreement


@pytest.mark.parametrize("loss_kind", ["function", "subclass"])
def test_fit_history_matches_keras(K: Any, loss_kind: str) -> None:
    x, y = data((6, 3), 2, seed=1)
    km, rm = twin(K, pooled_model, x)
    histories = []
    for lib, model in ((K, km), (rnnlens, rm)):
        fn, cls, metric = custom_objects(lib)
        model.compile(optimizer=lib.optimizers.Adam(0.01),
                      loss=fn if loss_kind == "function" else cls(),
                      metrics=[metric(), "mae"])
        histories.append(model.fit(x, y, batch_size=5, epochs=3, shuffle=False,
                                   verbose=0).history)
    kh, rh = histories
    assert sorted(kh) == sorted(rh)
    for key in kh:
        err = float(np.abs(np.array(rh[key]) - np.array(kh[key])).max())
        record("fit", err, f"{loss_kind} {key}")
        assert err <= 1e-5, (key, rh[key], kh[key])
    np.testing.assert_allclose(rm.predict(x, verbose=0), km.predict(x, verbose=0),
                               atol=1e-5)


def add_loss_model(K: Any) -> Any:
    """A model trained by add_loss alone (the captcha_ocr pattern): labels are an input."""
    ops = K.ops

    class PairLoss(K.layers.Layer):
        def call(self, target: Any, pred: Any) -> Any:
            self.add_loss(ops.mean(ops.square(target - pred)))
            return pred

    inp, target = K.Input((4,), name="x"), K.Input((2,), name="target")
    pred = K.layers.Dense(2)(K.layers.Dense(3, activation="tanh")(inp))
    out = PairLoss()(target, pred)
    model = K.Model([inp, target], out)
    model.compile(optimizer=K.optimizers.SGD(0.1))
    return model


def test_add_loss_alone_trains_as_keras(K: Any) -> None:
    rng = np.random.default_rng(2)
    x, t = rng.normal(size=(12, 4)).astype("float32"), rng.normal(size=(12, 2)).astype(
        "float32")
    km, rm = add_loss_model(K), add_loss_model(rnnlens)
    rm.set_weights(km.get_weights())
    kh = km.fit({"x": x, "target": t}, batch_size=4, epochs=3, shuffle=False,
                verbose=0).history
    rh = rm.fit({"x": x, "target": t}, batch_size=4, epochs=3, shuffle=False,
                verbose=0).history
    err = float(np.abs(np.array(rh["loss"]) - np.array(kh["loss"])).max())
    record("fit", err, "add_loss only")
    assert err <= 1e-5, (rh, kh)
    ke = km.evaluate({"x": x, "target": t}, verbose=0)
    re = rm.evaluate({"x": x, "target": t}, verbose=0)
    assert re == pytest.approx(ke, abs=1e-5)


# ---------------------------------------------------------------------------- behaviour
def test_shape_inferred_without_compute_output_shape_and_losses_reset() -> None:
    ops = rnnlens.ops

    class Gate(rnnlens.layers.Layer):
        def build(self, input_shape: Any) -> None:
            self.g = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="g")

        def call(self, x: Any) -> Any:
            self.add_loss(ops.sum(self.g))
            return ops.sigmoid(self.g) * x[:, ::2]

    inp = rnnlens.Input((None, 4))
    out = Gate()(inp)
    assert out.shape == (None, None, 4)[:2] + (4,) or out.shape == (None, None, 4)
    layer = Gate()
    y = layer(np.ones((2, 5, 4), "float32"))
    assert y.shape == (2, 3, 4) and [float(v) for v in layer.losses] == [4.0]
    layer(np.ones((1, 2, 4), "float32"))
    assert len(layer.losses) == 1                         # the latest call's only


def test_clear_errors() -> None:
    class Untraceable(rnnlens.layers.Layer):
        def build(self, input_shape: Any) -> None:
            self.w = self.add_weight(shape=(input_shape[-1],), name="w")

        def call(self, x: Any) -> Any:
            return np.convolve(x[0], self.w)[None] + x[:, :1] * 0.0

        def compute_output_shape(self, s: Any) -> Any:
            return (s[0], s[1] + 2)

    inp = rnnlens.Input((3,))
    model = rnnlens.Model(inp, Untraceable()(rnnlens.layers.Dense(3)(inp)))
    model.compile("sgd", "mse")
    x = np.ones((1, 3), "float32")
    model.predict(x, verbose=0)                         # inference: plain NumPy is fine
    with pytest.raises(TypeError, match="np.convolve"):
        model.fit(x, np.ones((1, 5), "float32"), verbose=0)
    plain = rnnlens.Model(inp, rnnlens.layers.Dense(2)(inp))
    plain.compile("sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        plain.fit(x, np.ones((1, 2), "float32"), verbose=0)


def test_builtin_subclass_with_its_own_call_trains_through_the_tape(K: Any, tf: Any) -> None:
    def build(lib: Any) -> Any:
        class DoubleDense(lib.layers.Dense):
            def call(self, x: Any) -> Any:
                return super().call(x) * 2.0 + lib.ops.mean(x, axis=-1, keepdims=True)

        inp = lib.Input((3,))
        return lib.Model(inp, DoubleDense(2, activation="tanh")(inp))

    x, y = data((3,), 2, seed=4)
    km, rm = twin(K, build, x)
    np.testing.assert_allclose(rm.predict(x, verbose=0), km.predict(x, verbose=0),
                               atol=1e-6)
    compare_gradients(tf, K, km, rm, x, y, "Dense subclass")


def repeated_argument_models(lib: Any) -> list[Any]:
    """A custom ``call(a, b) = a * b (+ a)`` given one tensor twice after a Dense: as
    ``layer(x, x)``, ``layer([x, x])`` and ``layer(x, b=x)``; each use is a separate
    argument whose gradient is its own share (d(x*x)/dx = 2x, not 4x)."""

    class Product(lib.layers.Layer):
        def call(self, a: Any, b: Any) -> Any:
            return a * b + 0.5 * a

    class ListProduct(lib.layers.Layer):
        def call(self, inputs: Any) -> Any:
            return inputs[0] * inputs[1] - inputs[1]

    models = []
    for form in ("positional", "list", "keyword"):
        inp = lib.Input((3,))
        h = lib.layers.Dense(4, activation="tanh")(inp)
        if form == "positional":
            z = Product()(h, h)
        elif form == "list":
            z = ListProduct()([h, h])
        else:
            z = Product()(h, b=h)
        models.append(lib.Model(inp, lib.layers.Dense(2)(z)))
    return models


@pytest.mark.parametrize("index", [0, 1, 2])
def test_tensor_given_twice_gets_each_share_once(K: Any, tf: Any, index: int) -> None:
    x, y = data((3,), 2, seed=7)
    km, rm = twin(K, lambda lib: repeated_argument_models(lib)[index], x)
    np.testing.assert_allclose(rm.predict(x, verbose=0), km.predict(x, verbose=0),
                               atol=1e-6)
    compare_gradients(tf, K, km, rm, x, y, f"repeated argument {index}")
