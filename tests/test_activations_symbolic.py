"""``rnnlens.activations.<name>(t)`` on a symbolic tensor records Keras's op node, against
live Keras 3.15.1 (``keras.activations.gelu(keras.layers.Dense(4)(x))`` in the functional
API).

Every graph is written once as ``build(lib)`` with ``lib.activations``, so the same function
builds the Keras model and its rnnlens twin (same names from a fresh counter, same
weights). Checked against Keras:

* every public activation (with positional and keyword arguments, ``relu``'s Keras
  arguments, ``swish`` / ``exponential`` aliases) in one multi-output model: predictions
  (1e-5), ``model.summary()`` text, the op entries of ``get_config()``, and the ``.keras``
  file both ways (Keras's file loads in rnnlens, rnnlens's save loads in Keras, with
  Keras's predictions);
* ``fit`` through ``activations.gelu`` / ``softmax`` nodes: gradients against
  ``tf.GradientTape``, the loss history and the final weights;
* eagerly the decorated functions still are the ones ``get`` / ``serialize`` /
  ``backward`` know (identity), and ``relu``'s Keras arguments compute Keras's values.

Where Keras cannot build a node (its ``mish``, ``hard_silu`` / ``hard_swish`` and
``sparsemax`` convert their input to a TensorFlow tensor first and raise a ValueError on a
KerasTensor), rnnlens does this, tested below:

* ``hard_silu`` / ``hard_swish`` / ``sparsemax`` record the node ``keras.ops.hard_silu`` /
  ``keras.ops.sparsemax`` records (``HardSilu`` / ``Sparsemax``): the model equals Keras's
  model built with those ops, and its file loads in Keras;
* ``mish`` has no Keras op: a TypeError naming the fix (an ``Activation("mish")`` layer).
"""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


#: Every public Keras activation Keras can call on a KerasTensor, with arguments.
CALLS: list[tuple[str, tuple, dict]] = [
    ("relu", (), {}), ("relu", (0.1,), {"max_value": 0.3, "threshold": 0.05}),
    ("relu", (), {"max_value": 6}), ("relu", (), {"negative_slope": 0.2}),
    ("relu", (), {"threshold": 0.1}), ("gelu", (), {}), ("gelu", (True,), {}),
    ("exponential", (), {}), ("softmax", (), {"axis": 1}), ("softmax", (), {}),
    ("log_softmax", (), {}), ("elu", (0.5,), {}), ("selu", (), {}), ("softplus", (), {}),
    ("softsign", (), {}), ("silu", (), {}), ("swish", (), {}), ("tanh", (), {}),
    ("sigmoid", (), {}), ("hard_sigmoid", (), {}), ("leaky_relu", (), {"negative_slope": 0.3}),
    ("leaky_relu", (), {}), ("relu6", (), {}), ("celu", (), {"alpha": 0.7}), ("glu", (), {}),
    ("glu", (1,), {}), ("hard_tanh", (), {}), ("tanh_shrink", (), {}), ("log_sigmoid", (), {}),
    ("squareplus", (), {"b": 2}), ("hard_shrink", (), {"threshold": 0.3}),
    ("soft_shrink", (), {}), ("sparse_plus", (), {}), ("sparse_sigmoid", (), {}),
    ("threshold", (0.1, -1.0), {}), ("linear", (), {}),
]
#: Keras's activations that raise on a KerasTensor (see the module docstring).
NO_KERAS_NODE = {"mish", "hard_silu", "hard_swish", "sparsemax"}


def public_names() -> set[str]:
    return {n for n in rnnlens.activations.__all__
            if n not in ("get", "serialize", "deserialize")}


def all_activations(lib: Any) -> Any:
    x = lib.Input((4, 6), name="x")
    d = lib.layers.Dense(6, name="d")(x)
    outs = [getattr(lib.activations, name)(d * 3.0, *args, **kwargs)
            for name, args, kwargs in CALLS]
    return lib.Model(x, outs, name="activations")


def chained(lib: Any) -> Any:
    """Activations between layers, trained."""
    a = lib.activations
    x = lib.Input((5,), name="x")
    h = a.gelu(lib.layers.Dense(6, name="d1")(x))
    h = a.softmax(lib.layers.Dense(4, name="d2")(h) * 2.0)
    return lib.Model(x, lib.layers.Dense(2, name="head")(a.tanh(h)), name="chained")


def without_keras_node(lib: Any) -> Any:
    """hard_silu / sparsemax: activations in rnnlens, the ``ops`` Keras records."""
    x = lib.Input((4, 6), name="x")
    d = lib.layers.Dense(6, name="d")(x)
    if lib is rnnlens:
        a = rnnlens.activations
        outs = [a.hard_silu(d * 4.0), a.hard_swish(d), a.sparsemax(d), a.sparsemax(d, 1)]
    else:
        o = lib.ops
        outs = [o.hard_silu(d * 4.0), o.hard_silu(d), o.sparsemax(d), o.sparsemax(d, 1)]
    return lib.Model(x, outs, name="no_node")


# ---------------------------------------------------------------------------- helpers
def pair(K: Any, graph: Callable) -> tuple[Any, Any]:
    K.utils.clear_session()
    km = graph(K)
    rnnlens.utils.clear_session()
    rm = graph(rnnlens)
    rng = np.random.default_rng(7)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in km.get_weights()]
    km.set_weights(weights)
    rm.set_weights(weights)
    return km, rm


def data(model: Any, seed: int = 0, batch: int = 3) -> np.ndarray:
    shape = (batch, *model.inputs[0].shape[1:])
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def compare(parity: Any, ours: Any, theirs: Any, name: str) -> None:
    ours = ours if isinstance(ours, list) else [ours]
    theirs = theirs if isinstance(theirs, list) else [theirs]
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        b = np.asarray(b)
        assert np.shape(a) == b.shape, f"{name}[{k}]: {np.shape(a)} != {b.shape}"
        parity(np.asarray(a, "float64"), b.astype("float64"), name=f"{name}[{k}]")


def summary_text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    return "\n".join(lines).rstrip("\n")


def op_entries(model: Any) -> list[dict]:
    config = json.loads(model.to_json())["config"]
    return [{k: e[k] for k in ("module", "class_name", "config", "name", "inbound_nodes")}
            for e in config["layers"] if e["class_name"] not in ("InputLayer", "Dense")]


# ---------------------------------------------------------------------------- vs Keras
def test_calls_cover_every_public_activation() -> None:
    assert public_names() - {c[0] for c in CALLS} == NO_KERAS_NODE


@pytest.mark.keras
@pytest.mark.parametrize("graph", [all_activations, chained, without_keras_node])
def test_predictions_summary_and_config_match_keras(K: Any, parity: Any,
                                                    graph: Callable) -> None:
    km, rm = pair(K, graph)
    x = data(km)
    compare(parity, rm.predict(x, verbose=0), km.predict(x, verbose=0), graph.__name__)
    assert [lyr.name for lyr in rm.layers] == [lyr.name for lyr in km.layers]
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"
    assert op_entries(rm) == op_entries(km)


@pytest.mark.keras
@pytest.mark.parametrize("graph", [all_activations, without_keras_node])
def test_files_both_ways(K: Any, parity: Any, graph: Callable, tmp_path: Any) -> None:
    km, rm = pair(K, graph)
    x = data(km, seed=1)
    expected = km.predict(x, verbose=0)
    km.save(tmp_path / "k.keras")
    rm.save(tmp_path / "r.keras")
    loaded = rnnlens.models.load_model(tmp_path / "k.keras")
    compare(parity, loaded.predict(x, verbose=0), expected, f"{graph.__name__} keras->rnnlens")
    back = K.models.load_model(tmp_path / "r.keras")
    compare(parity, back.predict(x, verbose=0), expected, f"{graph.__name__} rnnlens->keras")


@pytest.mark.keras
def test_gradients_and_fit_through_activation_nodes_match_keras(K: Any, parity: Any) -> None:
    import tensorflow as tf  # noqa: PLC0415

    km, rm = pair(K, chained)
    x = data(km, seed=3, batch=8)
    y = np.random.default_rng(4).normal(size=(8, 2)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(km(x) - y))
    k_grads = [g.numpy() for g in tape.gradient(loss, km.trainable_weights)]
    r_grads = rnnlens.training.gradients(rm, x, y, "mse")
    assert len(r_grads) == len(k_grads) == 6
    for k, (a, b) in enumerate(zip(r_grads, k_grads)):
        scale = max(1.0, float(np.abs(b).max()))
        parity(a / scale, b / scale, name=f"gradient {k}")
    km.compile(optimizer=K.optimizers.SGD(0.1), loss="mse")
    rm.compile(optimizer=rnnlens.optimizers.SGD(0.1), loss="mse")
    kh = km.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0).history["loss"]
    rh = rm.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0).history["loss"]
    assert kh[-1] < kh[0]
    parity(np.array(rh) / kh[0], np.array(kh) / kh[0], name="fit loss history")
    for k, (a, b) in enumerate(zip(rm.get_weights(), km.get_weights())):
        parity(a, b, name=f"weight {k} after fit")


@pytest.mark.keras
def test_mish_has_no_node_in_either_library(K: Any) -> None:
    kx = K.layers.Dense(3)(K.Input((4,)))
    with pytest.raises(ValueError, match="KerasTensor"):
        K.activations.mish(kx)
    rx = rnnlens.layers.Dense(3)(rnnlens.Input((4,)))
    with pytest.raises(TypeError, match=r"activations\.mish .*Activation"):
        rnnlens.activations.mish(rx)


@pytest.mark.keras
def test_eager_relu_arguments_match_keras(K: Any, parity: Any) -> None:
    x = np.linspace(-8.0, 8.0, 41).astype("float32")
    for slope in (0.0, 0.2):
        for top in (None, 0.5, 6):
            for threshold in (0.0, 0.5, -1.0):
                kw = dict(negative_slope=slope, max_value=top, threshold=threshold)
                ours = rnnlens.activations.relu(x, **kw)
                assert ours.dtype == np.float32
                parity(ours, np.asarray(K.activations.relu(x, **kw)), name=f"relu {kw}")


# ---------------------------------------------------------------------------- without Keras
def test_decorated_functions_keep_their_identity() -> None:
    a = rnnlens.activations
    for name in public_names() - {"threshold"}:         # threshold: not in get's table
        fn = getattr(a, name)
        assert a.get(name) is fn
        assert a.serialize(fn) in (name, {"swish": "silu", "hard_swish": "hard_silu"}.get(name))
        assert fn.__wrapped__.__name__ == fn.__name__
    z = np.linspace(-2, 2, 9).astype("float32")
    np.testing.assert_allclose(a.backward(a.get("gelu"), z, a.gelu(z), np.ones_like(z)),
                               a._d_gelu(z, None), rtol=1e-6)
    assert a.relu(-1.5) == 0.0 and a.tanh(0.0) == 0.0          # Python scalars still work


ELEMENTWISE = sorted(public_names() - {"softmax", "log_softmax", "glu", "sparsemax",
                                       "threshold", "linear", "mish"})


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(ELEMENTWISE), n=st.integers(1, 5), seed=st.integers(0, 99))
def test_property_node_computes_the_eager_activation(name: str, n: int, seed: int) -> None:
    """A model of one activation node predicts what the function computes eagerly."""
    rnnlens.utils.clear_session()
    fn = getattr(rnnlens.activations, name)
    x = rnnlens.Input((n,))
    model = rnnlens.Model(x, fn(x))
    data_ = np.random.default_rng(seed).normal(scale=3.0, size=(2, n)).astype("float32")
    np.testing.assert_allclose(model.predict(data_, verbose=0), fn(data_), atol=1e-6)
