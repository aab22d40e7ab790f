"""Activation, Identity and Lambda against live Keras 3.15.1 (TensorFlow).

* Activation: every named activation's values (eager, 2-D and 3-D), masks through it into
  an LSTM, gradients against ``tf.GradientTape``, ``get_config`` (key order too), files
  both ways, ``summary()``, a short ``fit`` history; a custom callable runs but is refused
  for training and saving with errors that name the layer.
* Identity: single and list inputs, masks, gradients, configs, files, summary.
* Lambda: values (``arguments``, list inputs, ``training``/``mask`` arguments), output
  shapes (given, a function of the input shape, inferred by running the function),
  masks (none, a function, a fixed array), configs (bytecode of a lambda, a named
  function), gradients when the Lambda sits on the inputs only, and the refusals: a
  Keras file containing a Lambda (``.keras`` and ``.h5``) is ``UnsafeModelError`` naming
  Lambda, ``model.save`` refuses, training through a Lambda names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from regact_parity import (compare_gradients, file_round_trips, keras_module, keras_save,
                           summary_text, twins)
from rnnlens import activations as A
from rnnlens import layers as RL
from rnnlens.interop import UnsafeModelError
from rnnlens.training import gradients


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


def _x(shape: tuple, seed: int = 0, scale: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-scale, scale, shape).astype(np.float32)


def _padded(seed: int = 1) -> np.ndarray:
    x = _x((3, 6, 4), seed=seed)
    x[0, 3:] = 0.0
    x[1, :2] = 0.0
    x[2, 2] = 0.0
    return x


# ------------------------------------------------------------------ Activation
NAMES = sorted(A._ACTIVATIONS)


@pytest.mark.keras
@pytest.mark.parametrize("name", NAMES)
def test_activation_values_equal_keras(K: Any, parity: Any, name: str) -> None:
    for shape in ((4, 6), (3, 5, 6)):
        x = _x(shape, seed=len(shape), scale=4.0)
        expected = np.asarray(K.layers.Activation(name)(x))
        out = RL.Activation(name)(x)
        assert out.dtype == np.float32
        parity(out, expected, name=f"Activation({name}) {shape}")


GRAD_NAMES = ["relu", "tanh", "sigmoid", "softmax", "log_softmax", "softsign", "selu", "elu",
              "silu", "softplus", "mish", "hard_sigmoid", "leaky_relu", "linear", "gelu"]


@pytest.mark.keras
@pytest.mark.parametrize("name", GRAD_NAMES)
def test_activation_gradients_equal_tape(K: Any, parity: Any, name: str) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5, 3)), lib.layers.Dense(6),
                               lib.layers.Activation(name), lib.layers.Dense(2)])
    kmodel, rmodel = twins(K, build)
    x = _x((4, 5, 3), seed=2)
    y = np.random.default_rng(4).normal(size=(4, 5, 2)).astype(np.float32)
    compare_gradients(parity, K, kmodel, rmodel, x, y, f"Activation({name})")


def _masked(layer: Any) -> Any:
    """Masking -> layer -> LSTM(return_sequences) -> layer -> LSTM."""
    def build(lib: Any) -> Any:
        x = lib.Input((6, 4), name="x")
        h = lib.layers.Masking(name="m")(x)
        h = layer(lib, "first")(h)
        h = lib.layers.LSTM(4, return_sequences=True, name="lstm")(h)
        h = layer(lib, "second")(h)
        return lib.Model(x, lib.layers.LSTM(2, name="last")(h), name="masked")
    return build


MASK_LAYERS = {
    "activation": lambda lib, n: lib.layers.Activation("tanh", name=n),
    "identity": lambda lib, n: lib.layers.Identity(name=n),
}


@pytest.mark.keras
@pytest.mark.parametrize("which", sorted(MASK_LAYERS))
def test_masks_pass_into_lstm_equal_keras(K: Any, parity: Any, which: str) -> None:
    kmodel, rmodel = twins(K, _masked(MASK_LAYERS[which]))
    x = _padded()
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name=f"{which} masked")
    compare_gradients(parity, K, kmodel, rmodel, x,
                      np.ones((3, 2), np.float32), f"{which} masked")
    theirs = MASK_LAYERS[which](K, None)(K.layers.Masking()(x))
    ours = MASK_LAYERS[which](rnnlens, None)(RL.Masking()(x))
    np.testing.assert_array_equal(ours._keras_mask, np.asarray(theirs._keras_mask))
    parity(np.asarray(ours), np.asarray(theirs), name=f"{which} eager masked")


@pytest.mark.keras
def test_activation_fit_history_equals_keras(K: Any, parity: Any) -> None:
    def build(lib: Any) -> Any:
        L = lib.layers
        return lib.Sequential([lib.Input((5, 3)), L.Dense(4), L.Activation("relu"),
                               L.Identity(), L.LSTM(3), L.Activation("softmax")])
    kmodel, rmodel = twins(K, build)
    x = _x((8, 5, 3), seed=6)
    y = np.eye(3, dtype=np.float32)[np.arange(8) % 3]
    for model in (kmodel, rmodel):
        model.compile(optimizer="adam", loss="categorical_crossentropy")
    kh = kmodel.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    rh = rmodel.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    parity(rh.history["loss"], kh.history["loss"], name="fit loss history")
    parity(rmodel.get_weights(), kmodel.get_weights(), name="fit weights")


def test_activation_glu_shape_is_the_true_one() -> None:
    """Keras declares glu's output shape as its input's; rnnlens gives the true (halved)
    shape, so that the layers after it are built for what they receive."""
    x = RL.Input((3, 8))
    out = RL.Activation("glu")(x)
    assert out.shape == (None, 3, 4)
    model = rnnlens.Model(x, RL.Dense(2)(out))
    assert model.predict(_x((2, 3, 8)), verbose=0).shape == (2, 3, 2)


def test_activation_custom_callable_runs_but_is_not_trained_or_saved(tmp_path: Path) -> None:
    def cube(t: np.ndarray) -> np.ndarray:
        return t ** 3

    layer = RL.Activation(cube, name="cube")
    x = _x((2, 4))
    np.testing.assert_allclose(layer(x), x ** 3, rtol=1e-6)
    model = rnnlens.Sequential([RL.Input((4,)), RL.Dense(3), layer])
    with pytest.raises(ValueError, match="'cube'"):
        gradients(model, x, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="named activations"):
        model.save(tmp_path / "cube.keras")


# ------------------------------------------------------------------ Identity
@pytest.mark.keras
def test_identity_values_lists_and_gradients_equal_keras(K: Any, parity: Any) -> None:
    x = _x((3, 4))
    np.testing.assert_array_equal(RL.Identity()(x), x)
    a, b = _x((2, 3), seed=1), _x((2, 5), seed=2)
    ours = RL.Identity()([a, b])
    theirs = K.layers.Identity()([a, b])
    parity(list(ours), [np.asarray(t) for t in theirs], name="Identity list")

    def build(lib: Any) -> Any:
        i, j = lib.Input((3,), name="i"), lib.Input((5,), name="j")
        p, q = lib.layers.Identity(name="id")([lib.layers.Dense(4, name="di")(i), j])
        out = lib.layers.Concatenate(name="cat")([p, q])
        return lib.Model([i, j], lib.layers.Dense(2, name="out")(out), name="ident")
    kmodel, rmodel = twins(K, build)
    parity(rmodel.predict([a, b], verbose=0), np.asarray(kmodel([a, b])), name="Identity model")
    compare_gradients(parity, K, kmodel, rmodel, [a, b], np.ones((2, 2), np.float32),
                      "Identity list model")
    assert summary_text(rmodel) == summary_text(kmodel)


# ------------------------------------------------------------------ configs, files, summary
CONFIGS = [("Activation", {"activation": "relu"}), ("Activation", {"activation": None}),
           ("Activation", {"activation": "softmax"}), ("Activation", {"activation": "gelu"}),
           ("Identity", {})]


@pytest.mark.keras
@pytest.mark.parametrize("kind, kwargs", CONFIGS, ids=[f"{k}-{v}" for k, v in CONFIGS])
def test_config_equals_keras(K: Any, kind: str, kwargs: dict) -> None:
    theirs = getattr(K.layers, kind)(**kwargs, name="lay").get_config()
    ours = getattr(RL, kind)(**kwargs, name="lay").get_config()
    assert ours == theirs and list(ours) == list(theirs)
    assert getattr(RL, kind).from_config(theirs).get_config() == theirs
    assert getattr(K.layers, kind).from_config(ours).get_config() == theirs


@pytest.mark.keras
@pytest.mark.parametrize("which", sorted(MASK_LAYERS))
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, which: str) -> None:
    file_round_trips(parity, K, _masked(MASK_LAYERS[which]), _padded(), tmp_path, which)

    def seq(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5,)), lib.layers.Dense(4),
                               MASK_LAYERS[which](lib, "mid"), lib.layers.Dense(3),
                               lib.layers.Activation("softmax")])
    file_round_trips(parity, K, seq, _x((3, 5)), tmp_path, f"{which}_seq")


def _preprocess(lib: Any) -> Any:
    return lib.Sequential([lib.Input((5, 3)),
                           lib.layers.Lambda(lambda t: t * 0.5 + 1.0, name="scale"),
                           lib.layers.Activation("tanh", name="act"),
                           lib.layers.Identity(name="same"),
                           lib.layers.LSTM(2, name="lstm")], name="pre")


@pytest.mark.keras
def test_summary_equals_keras(K: Any) -> None:
    assert summary_text(_preprocess(rnnlens)) == summary_text(_preprocess(K))

    def graph(lib: Any) -> Any:
        x = lib.Input((6, 4), name="x")
        a = lib.layers.Lambda(lambda t: t[:, 1:, :2], name="crop")(x)
        b = lib.layers.Lambda(lambda t: t[:, :-1] * 2.0, output_shape=(5, 4), name="head")(x)
        c = lib.layers.Lambda(lambda ts: ts[0] - ts[1][..., :2], name="diff")([a, b])
        return lib.Model(x, [lib.layers.Activation("relu", name="r")(c), b], name="lams")
    assert summary_text(graph(rnnlens)) == summary_text(graph(K))


# ------------------------------------------------------------------ Lambda
def _double_plus(t: Any) -> Any:
    return t * 2.0 + 1.0


LAMBDAS = [
    ("named", {"function": _double_plus}),
    ("lambda", {"function": lambda t: t[:, ::-1] - 0.5}),
    ("arguments", {"function": lambda t, a, b=1.0: t * a + b,
                   "arguments": {"a": 3.0, "b": -2.0}}),
    ("crop", {"function": lambda t: t[..., 1:3], "output_shape": (5, 2)}),
    ("shape_fn", {"function": lambda t: t[:, :2], "output_shape": lambda s: (s[0], 2, s[2])}),
]


@pytest.mark.keras
@pytest.mark.parametrize("name, kwargs", LAMBDAS, ids=[n for n, _ in LAMBDAS])
def test_lambda_values_shapes_and_configs_equal_keras(K: Any, parity: Any, name: str,
                                                      kwargs: dict) -> None:
    x = _x((3, 5, 4))
    klayer, rlayer = K.layers.Lambda(**kwargs, name="lam"), RL.Lambda(**kwargs, name="lam")
    parity(rlayer(x), np.asarray(klayer(x)), name=f"Lambda {name} eager")
    kin, rin = K.Input((5, 4)), RL.Input((5, 4))
    kout = K.layers.Lambda(**kwargs)(kin)
    rout = RL.Lambda(**kwargs)(rin)
    assert rout.shape == tuple(kout.shape)
    krun, rrun = K.Model(kin, kout), rnnlens.Model(rin, rout)
    parity(rrun.predict(x, verbose=0), np.asarray(krun(x)), name=f"Lambda {name} model")
    assert rlayer.get_config() == klayer.get_config()
    assert list(rlayer.get_config()) == list(klayer.get_config())


@pytest.mark.keras
def test_lambda_list_inputs_and_training_argument_equal_keras(K: Any, parity: Any) -> None:
    a, b = _x((2, 4), seed=1), _x((2, 4), seed=2)
    fn = lambda ts: ts[0] * ts[1] - ts[1]          # noqa: E731
    parity(RL.Lambda(fn)([a, b]), np.asarray(K.layers.Lambda(fn)([a, b])), name="list")

    def noisy(t: Any, training: Any = None) -> Any:
        return t * (2.0 if training else 1.0)
    for training in (True, False):
        parity(RL.Lambda(noisy)(a, training=training),
               np.asarray(K.layers.Lambda(noisy)(a, training=training)), name="training")


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore:Layer 'first'")
@pytest.mark.filterwarnings("ignore:Layer 'second'")
@pytest.mark.parametrize("masking", ["none", "callable", "in_function"])
def test_lambda_masks_into_lstm_equal_keras(K: Any, parity: Any, masking: str) -> None:
    """No ``mask``: the mask stops (the LSTM sees every step); a mask function passes it;
    a function taking ``mask`` receives the incoming mask."""
    def layer(lib: Any, n: str) -> Any:
        if masking == "none":
            return lib.layers.Lambda(lambda t: t * 2.0, name=n)
        if masking == "callable":
            return lib.layers.Lambda(lambda t: t * 2.0, mask=lambda t, m: m, name=n)
        if lib is K:
            fn = lambda t, mask=None: t * K.ops.cast(K.ops.expand_dims(mask, -1), "float32")  # noqa: E731
        else:
            fn = lambda t, mask=None: t * mask[..., None]            # noqa: E731
        return lib.layers.Lambda(fn, output_shape=(6, 4), mask=lambda t, m: m, name=n)
    kmodel, rmodel = twins(K, _masked(layer))
    x = _padded()
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name=f"Lambda mask {masking}")


@pytest.mark.keras
def test_lambda_fixed_mask(K: Any) -> None:
    fixed = np.array([[True, False, True], [False, True, True]])
    x = _x((2, 3, 2))
    ours = RL.Lambda(lambda t: t, mask=fixed)(x)
    theirs = K.layers.Lambda(lambda t: t, mask=K.ops.convert_to_tensor(fixed))(x)
    np.testing.assert_array_equal(ours._keras_mask, np.asarray(theirs._keras_mask))


@pytest.mark.keras
def test_lambda_on_inputs_trains_and_gradients_equal_tape(K: Any, parity: Any) -> None:
    """A preprocessing Lambda needs no gradient through it: training is allowed."""
    kmodel, rmodel = twins(K, _preprocess)
    x = _x((4, 5, 3), seed=3)
    y = np.random.default_rng(5).normal(size=(4, 2)).astype(np.float32)
    compare_gradients(parity, K, kmodel, rmodel, x, y, "preprocessing Lambda")
    rmodel.compile(optimizer="sgd", loss="mse")
    kmodel.compile(optimizer="sgd", loss="mse")
    rh = rmodel.fit(x, y, epochs=2, batch_size=2, shuffle=False, verbose=0)
    kh = kmodel.fit(x, y, epochs=2, batch_size=2, shuffle=False, verbose=0)
    parity(rh.history["loss"], kh.history["loss"], name="preprocessing Lambda fit")


@pytest.mark.parametrize("where", ["between", "after"])
def test_training_through_a_lambda_is_refused_naming_it(where: str) -> None:
    layers = [RL.Input((4,)), RL.Dense(3)]
    layers += [RL.Lambda(lambda t: t * 2.0, name="doubler")]
    layers += [RL.Dense(2)] if where == "between" else []
    model = rnnlens.Sequential(layers)
    x, y = _x((2, 4)), np.zeros((2, 3 if where == "after" else 2), np.float32)
    with pytest.raises(ValueError, match="Lambda layer 'doubler'.*Layer subclass"):
        gradients(model, x, y)
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    with pytest.raises(ValueError, match="doubler"):
        model.fit(x, y, epochs=1, verbose=0)
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert model.predict(x, verbose=0).shape == y.shape          # inference still works


@pytest.mark.keras
@pytest.mark.parametrize("fmt", [".keras", ".h5"])
def test_keras_file_with_a_lambda_is_refused(K: Any, tmp_path: Path, fmt: str) -> None:
    model = K.Sequential([K.Input((3,)), K.layers.Dense(2),
                          K.layers.Lambda(lambda t: t * 2.0, name="code")])
    keras_save(model, tmp_path / f"lam{fmt}")
    with pytest.raises(UnsafeModelError, match="Lambda"):
        rnnlens.models.load_model(tmp_path / f"lam{fmt}")


def test_lambda_is_never_saved_nor_built_from_a_config(tmp_path: Path) -> None:
    from rnnlens.interop.keras_config import allowed_classes

    assert "Lambda" not in allowed_classes()
    model = rnnlens.Sequential([RL.Input((3,)), RL.Lambda(lambda t: t + 1.0, name="plus")])
    with pytest.raises(ValueError, match="plus"):
        model.save(tmp_path / "plus.keras")
    assert not (tmp_path / "plus.keras").exists()
    config = RL.Lambda(lambda t: t).get_config()
    with pytest.raises(ValueError, match="execute code"):
        RL.Lambda.from_config(config)
    with pytest.raises(ValueError, match="Unknown layer class 'Lambda'"):
        RL.deserialize({"class_name": "Lambda", "config": config})


def test_lambda_argument_errors_are_clear() -> None:
    with pytest.raises(TypeError, match="callable"):
        RL.Lambda(3)
    with pytest.raises(TypeError, match="output_shape"):
        RL.Lambda(lambda t: t, output_shape="abc")
    with pytest.raises(TypeError, match="arguments"):
        RL.Lambda(lambda t: t, arguments=[1, 2])
    with pytest.raises(TypeError, match="mask"):
        RL.Lambda(lambda t: t, mask="yes")
    with pytest.raises(ValueError, match="output_shape="):
        RL.Lambda(lambda t: t.reshape(7, -1), name="bad")(RL.Input((5,)))
    with pytest.raises(ValueError, match="too large"):
        RL.Lambda(lambda t: t)(RL.Input((None, None, None, 64)))


def test_lambda_inferred_shapes_mark_changing_sizes_unknown() -> None:
    """Unknown sizes are filled with 83 then 89 (Keras's NumPy backend); output sizes that
    follow them are None, fixed ones stay."""
    x = RL.Input((None, 3))
    assert RL.Lambda(lambda t: t * 2)(x).shape == (None, None, 3)
    assert RL.Lambda(lambda t: t.sum(axis=1))(x).shape == (None, 3)
    assert RL.Lambda(lambda t: t[:, :2])(x).shape == (None, 2, 3)
    pair = RL.Lambda(lambda t: [t, t[:, 0]])(x)
    assert [p.shape for p in pair] == [(None, None, 3), (None, 3)]


@settings(max_examples=60, deadline=None)
@given(name=st.one_of(st.sampled_from(NAMES), st.text(max_size=8), st.integers(),
                      st.none()),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_fuzz_activation_names(name: Any, shape: list) -> None:
    """Any identifier: the right values or a ValueError / TypeError."""
    try:
        layer = RL.Activation(name)
    except (ValueError, TypeError):
        return
    x = _x(tuple(shape))
    try:
        out = layer(x)
    except (ValueError, TypeError):
        return
    np.testing.assert_array_equal(out, A.get(name)(x))
