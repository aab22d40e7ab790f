"""Keras ops on symbolic tensors as graph nodes, against live Keras 3.15.1 (issue 14.2).

Every graph here is described once as ``build(lib)`` over the shared Keras API (``lib.ops``,
``lib.layers``, operators on tensors), so the same function builds the Keras model and its
rnnlens twin. For each graph:

* predictions equal Keras's with the same weights (1e-5, ``parity``);
* the Keras ``.keras`` file loads in rnnlens and predicts the same, and rnnlens's
  ``model.save`` loads in Keras and predicts the same;
* ``model.summary()`` prints Keras's text (the op rows included), and the op entries of
  ``get_config()`` equal Keras's (class, module, config, inbound node arguments);
* a model with op nodes trains as Keras's (gradients against ``tf.GradientTape``, a short
  ``fit`` history and the final weights).

Without Keras those tests are skipped; the property tests (a graph of one op predicts what
the op computes eagerly, the symbolic shape agrees with the computed one) and the error
tests run without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available

ATOL = 1e-5


@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); live op-node tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


# ---------------------------------------------------------------------------- graphs
def g_elementwise(lib: Any) -> Any:
    o = lib.ops
    x = lib.Input((3, 4), name="x")
    d = lib.layers.Dense(4, name="d")(x)
    outs = [o.exp(d), o.log(o.softplus(d) + 1.0), o.sqrt(o.square(d) + 1.0), o.tanh(d),
            o.sigmoid(d), o.abs(d), o.sin(d), o.relu6(d * 4.0), o.silu(d),
            o.gelu(d, approximate=True), o.gelu(d), o.log_softmax(d, axis=1),
            o.elu(d, alpha=0.5), o.leaky_relu(d, negative_slope=0.3),
            o.hard_shrink(d, threshold=0.3), o.squareplus(d, b=2.0),
            o.threshold(d, 0.1, -1.0), o.clip(d, -0.5, 0.5), o.hard_sigmoid(d),
            o.celu(d), o.selu(d), o.softsign(d), o.soft_shrink(d), o.tanh_shrink(d),
            o.hard_tanh(d), o.log_sigmoid(d), o.glu(d), o.softmax(d, axis=-1),
            o.relu(d), o.swish(d), o.sparse_plus(d), o.round(d * 3.0)]
    return lib.Model(x, outs, name="elementwise")


def g_reductions(lib: Any) -> Any:
    o = lib.ops
    x = lib.Input((3, 4), name="x")
    d = lib.layers.Dense(4, name="d")(x)
    outs = [o.sum(d, axis=1, keepdims=True), o.mean(d, axis=(1, 2)), o.max(d, axis=-1),
            o.min(d, axis=1), o.prod(d, axis=2), o.std(d, axis=1), o.var(d, axis=-1),
            o.logsumexp(d, axis=-1), o.argmax(d, axis=-1), o.cumsum(d, axis=1),
            o.sort(d, axis=-1), o.norm(d, axis=-1), o.mean(d, axis=(1, 2), keepdims=True)]
    return lib.Model(x, outs, name="reductions")


def g_shapes(lib: Any) -> Any:
    o = lib.ops
    x = lib.Input((3, 4), name="x")
    d = lib.layers.Dense(4, name="d")(x)
    e = lib.layers.Dense(4, name="e")(x)
    parts = o.split(d, 2, axis=-1)
    outs = [o.reshape(d, (-1, 12)), o.transpose(d, (0, 2, 1)), o.expand_dims(d, 1),
            o.squeeze(o.expand_dims(d, 1), axis=1), o.concatenate([d, e], axis=-1),
            o.stack([d, e], axis=1), o.flip(d, axis=1), o.tile(d, (1, 2, 1)),
            o.repeat(d, 2, axis=1), o.pad(d, ((0, 0), (1, 2), (0, 0))),
            o.moveaxis(d, 1, 2), o.swapaxes(d, 1, 2), parts[0], parts[1],
            o.take(d, [0, 2], axis=1), d.reshape((-1, 4, 3))]
    return lib.Model(x, outs, name="shapes")


def g_products(lib: Any) -> Any:
    o = lib.ops
    x = lib.Input((3, 4), name="x")
    d = lib.layers.Dense(4, name="d")(x)
    e = lib.layers.Dense(4, name="e")(x)
    outs = [o.matmul(d, o.transpose(e, (0, 2, 1))), o.einsum("bij,bkj->bik", d, e),
            d @ o.transpose(e, (0, 2, 1)), o.tensordot(d, e, axes=((1, 2), (1, 2))),
            o.outer(o.sum(d, axis=(1, 2)), o.mean(e, axis=(1, 2)))]
    return lib.Model(x, outs, name="products")


def g_getitem(lib: Any) -> Any:
    x = lib.Input((3, 4), name="x")
    d = lib.layers.Dense(4, name="d")(x)
    outs = [d[:, 0], d[:, 1:, ::2], d[..., -1], d[:, ::-1], d[:, :, 1:3], d[:, -1, :]]
    return lib.Model(x, outs, name="getitem")


def g_arithmetic(lib: Any) -> Any:
    o = lib.ops
    a_in = lib.Input((3, 4), name="a")
    b_in = lib.Input((3, 4), name="b")
    a = lib.layers.Dense(4, name="d")(a_in)
    b = b_in
    outs = [a + b, a * 2, 2 - a, a / 3.0, 1.0 / (1.0 + abs(a)), -a, a ** 2, 2.0 ** a,
            a - b * a, o.where(a > 0, a, 0.1 * a), o.cast(a > b, "float32"),
            o.cast((a >= 0) & (b < 0.5), "float32"), o.cast((a <= 0) | (b > 0.5), "int32"),
            o.cast(a != b, "float32"), o.maximum(a, b), o.minimum(a, 0.0),
            o.subtract(a, b), o.divide(a, 4.0)]
    return lib.Model([a_in, b_in], outs, name="arithmetic")


def g_layers_between(lib: Any) -> Any:
    """Ops between layers, unknown timesteps (shapes inferred with None)."""
    o = lib.ops
    x = lib.Input((None, 3), name="x")
    h = lib.layers.Dense(4, name="d")(x)
    h = lib.layers.LSTM(5, return_sequences=True, name="lstm")(o.tanh(h) * 2.0)
    pooled = o.concatenate([o.mean(h, axis=1), o.max(h, axis=1)], axis=-1)
    y = lib.layers.Dense(2, name="head")(pooled)
    return lib.Model(x, [y, o.softmax(y), h[:, -1]], name="between")


def g_multi_output_op(lib: Any) -> Any:
    o = lib.ops
    x = lib.Input((6,), name="x")
    d = lib.layers.Dense(6, name="d")(x)
    values, indices = o.top_k(d, k=3)
    return lib.Model(x, [values, o.cast(indices, "float32"), o.one_hot(indices, 6)],
                     name="multi")


def act(lib: Any, name: str, x: Any, *args: Any, **kwargs: Any) -> Any:
    """``lib.activations.<name>(x)`` on a symbolic tensor (rnnlens: the node builder that
    ``rnnlens.activations`` hands symbolic tensors to)."""
    if lib is rnnlens:
        from rnnlens.layers._op_probe import symbolic_activation

        return symbolic_activation(name, x, *args, **kwargs)
    return getattr(lib.activations, name)(x, *args, **kwargs)


def g_activations(lib: Any) -> Any:
    x = lib.Input((3, 4), name="x")
    d = lib.layers.Dense(4, name="d")(x)
    outs = [act(lib, "relu", d), act(lib, "relu", d, max_value=0.3, negative_slope=0.1,
                                      threshold=0.05),
            act(lib, "relu", d * 8.0, max_value=6), act(lib, "relu", d, negative_slope=0.2),
            act(lib, "relu", d, threshold=0.1), act(lib, "relu", d, max_value=0.2),
            act(lib, "gelu", d), act(lib, "exponential", d), act(lib, "softmax", d, axis=1),
            act(lib, "log_softmax", d), act(lib, "elu", d, alpha=0.5), act(lib, "selu", d),
            act(lib, "softplus", d), act(lib, "softsign", d), act(lib, "silu", d),
            act(lib, "swish", d), act(lib, "tanh", d), act(lib, "sigmoid", d),
            act(lib, "hard_sigmoid", d), act(lib, "leaky_relu", d, negative_slope=0.3),
            act(lib, "relu6", d), act(lib, "celu", d), act(lib, "glu", d),
            act(lib, "hard_tanh", d), act(lib, "tanh_shrink", d), act(lib, "log_sigmoid", d),
            act(lib, "squareplus", d, b=2), act(lib, "hard_shrink", d),
            act(lib, "soft_shrink", d), act(lib, "sparse_plus", d),
            act(lib, "sparse_sigmoid", d), act(lib, "threshold", d, 0.1, -1.0),
            act(lib, "linear", d)]
    return lib.Model(x, outs, name="activations")


def g_constants(lib: Any) -> Any:
    """NumPy constants in op calls (saved as Keras's ``__numpy__`` arguments)."""
    o = lib.ops
    x = lib.Input((3, 4), name="x")
    d = lib.layers.Dense(4, name="d")(x)
    outs = [d * np.arange(4, dtype="float32"), d + np.float32(2.0),
            o.take(d, np.array([0, 2]), axis=1), o.where(d > np.zeros(4, "float32"), d, 0.0),
            o.matmul(d, np.eye(4, 2, dtype="float32"))]
    return lib.Model(x, outs, name="constants")


GRAPHS = [g_constants, g_activations, g_elementwise, g_reductions, g_shapes, g_products, g_getitem, g_arithmetic,
          g_layers_between, g_multi_output_op]
IDS = [g.__name__[2:] for g in GRAPHS]


# ---------------------------------------------------------------------------- helpers
def fresh(K: Any) -> None:
    """Both libraries name layers and ops from a fresh counter (equal names)."""
    K.utils.clear_session()
    rnnlens.utils.clear_session()


def pair(K: Any, graph: Callable) -> tuple[Any, Any]:
    fresh(K)
    km = graph(K)
    rnnlens.utils.clear_session()
    rm = graph(rnnlens)
    rng = np.random.default_rng(7)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in km.get_weights()]
    km.set_weights(weights)
    rm.set_weights(weights)
    return km, rm


def data(model: Any, seed: int = 0, batch: int = 3) -> Any:
    """Random inputs (unknown timesteps: 4); one array for a one-input model."""
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(batch, *(4 if d is None else d for d in t.shape[1:])))
              .astype("float32") for t in model.inputs]
    return arrays[0] if len(arrays) == 1 else arrays


def compare(parity: Any, ours: Any, theirs: Any, name: str) -> None:
    ours = ours if isinstance(ours, list) else [ours]
    theirs = theirs if isinstance(theirs, list) else [theirs]
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        b = np.asarray(b)
        assert np.shape(a) == b.shape, f"{name}[{k}]: {np.shape(a)} != {b.shape}"
        parity(np.asarray(a, "float64"), b.astype("float64"), name=f"{name}[{k}]", atol=ATOL)


def summary_text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    return "\n".join(lines).rstrip("\n")


def op_entries(config: dict) -> list[dict]:
    return [{k: e[k] for k in ("module", "class_name", "config", "name", "inbound_nodes")}
            for e in config["layers"] if str(e.get("module", "")).startswith("keras.src.ops")]


# ---------------------------------------------------------------------------- vs Keras
@pytest.mark.keras
@pytest.mark.parametrize("graph", GRAPHS, ids=IDS)
def test_predictions_match_keras(K: Any, parity: Any, graph: Callable) -> None:
    km, rm = pair(K, graph)
    x = data(km)
    compare(parity, rm.predict(x, verbose=0), km.predict(x, verbose=0), graph.__name__)
    assert [t.shape for t in rm.outputs] == [tuple(t.shape) for t in km.outputs]
    assert [lyr.name for lyr in rm.layers] == [lyr.name for lyr in km.layers]


@pytest.mark.keras
@pytest.mark.parametrize("graph", GRAPHS, ids=IDS)
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
    resaved = tmp_path / "rr.keras"                 # a loaded graph saves as it was read
    loaded.save(resaved)
    compare(parity, K.models.load_model(resaved).predict(x, verbose=0), expected,
            f"{graph.__name__} keras->rnnlens->keras")


@pytest.mark.keras
@pytest.mark.parametrize("graph", GRAPHS, ids=IDS)
def test_summary_and_config_equal_keras(K: Any, graph: Callable) -> None:
    km, rm = pair(K, graph)
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"
    ours = op_entries(json.loads(rm.to_json())["config"])
    theirs = op_entries(json.loads(km.to_json())["config"])
    assert ours and ours == theirs


@pytest.mark.keras
def test_loaded_masked_model_summary_shows_mask_ops(K: Any, tmp_path: Any) -> None:
    """Keras records Embedding(mask_zero)'s mask as a ``not_equal`` node; its summary
    lists it, and so does rnnlens's summary of the loaded file."""
    fresh(K)
    i = K.Input((5,), dtype="int32", name="ids")
    e = K.layers.Embedding(7, 3, mask_zero=True, name="emb")(i)
    km = K.Model(i, K.layers.LSTM(2, name="lstm")(e), name="masked")
    km.save(tmp_path / "m.keras")
    loaded = rnnlens.models.load_model(tmp_path / "m.keras")
    text = summary_text(loaded)
    assert "(NotEqual)" in text
    assert text == summary_text(km)


@pytest.mark.keras
def test_gradients_and_fit_match_keras(K: Any, parity: Any) -> None:
    """Backward through op nodes (the autodiff tape's VJPs) against TensorFlow; a tensor
    used twice by one op gets both shares once (not twice each)."""
    import tensorflow as tf

    def graph(lib: Any) -> Any:
        o = lib.ops
        x = lib.Input((3, 4), name="x")
        d = lib.layers.Dense(4, name="d")(x)
        e = lib.layers.Dense(4, name="e")(x)
        h = o.exp(d * 0.5) + o.gelu(e) - o.matmul(d, o.transpose(e, (0, 2, 1)))[:, :, :1]
        h = h + d * d                                  # one tensor twice in one op
        s = o.sum(o.square(e), axis=1)
        h = o.concatenate([o.reshape(h, (-1, 12)), s, s], axis=-1)
        h = o.where(h > 0, h, 0.1 * h) / 2.0
        return lib.Model(x, lib.layers.Dense(2, name="head")(o.log_softmax(h[:, 1:])))

    km, rm = pair(K, graph)
    x = data(km, seed=3, batch=8)
    y = np.random.default_rng(4).normal(size=(8, 2)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(km(x) - y))
    k_grads = [g.numpy() for g in tape.gradient(loss, km.trainable_weights)]
    r_grads = rnnlens.training.gradients(rm, x, y, "mse")
    assert len(r_grads) == len(k_grads)
    for k, (a, b) in enumerate(zip(r_grads, k_grads)):
        parity(a / max(1.0, np.abs(b).max()), b / max(1.0, np.abs(b).max()),
               name=f"gradient {k}")
    km.compile(optimizer=K.optimizers.SGD(0.01), loss="mse")
    rm.compile(optimizer=rnnlens.optimizers.SGD(0.01), loss="mse")
    kh = km.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history["loss"]
    rh = rm.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history["loss"]
    assert np.isfinite(kh).all()
    parity(np.array(rh) / kh[0], np.array(kh) / kh[0], name="fit loss history")
    for k, (a, b) in enumerate(zip(rm.get_weights(), km.get_weights())):
        parity(a, b, name=f"weight {k} after fit")


# ---------------------------------------------------------------------------- without Keras
UNARY = ["exp", "tanh", "sigmoid", "abs", "negative", "square", "relu", "gelu", "silu",
         "softplus", "sin", "log1p", "expm1", "sign", "floor", "cumsum", "sort",
         "log_softmax", "softmax", "hard_sigmoid", "relu6", "elu"]
REDUCE = ["sum", "mean", "max", "min", "prod", "std", "var", "logsumexp", "argmax", "any"]


def _one_op_model(op: Callable, shape: tuple) -> Any:
    x = rnnlens.Input(shape[1:])
    return rnnlens.Model(x, op(x))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(UNARY + REDUCE), rank=st.integers(1, 3),
       axis=st.integers(-3, 2), keepdims=st.booleans(), seed=st.integers(0, 99))
def test_one_op_graph_equals_eager_op(name: str, rank: int, axis: int, keepdims: bool,
                                      seed: int) -> None:
    """``Model(x, ops.f(x, ...))`` predicts ``ops.f`` on the data; the symbolic shape
    (None batch) agrees with the computed one; a bad axis is a clear error."""
    ops = rnnlens.ops
    shape = (4, 3, 2, 5)[: rank + 1]
    a = np.random.default_rng(seed).normal(size=shape).astype("float32")
    fn = getattr(ops, name)
    kw: dict = {}
    if name in REDUCE:
        kw = {"axis": axis, "keepdims": keepdims} if name != "argmax" else {"axis": axis}
    elif name in ("cumsum", "sort", "log_softmax", "softmax"):
        kw = {"axis": axis}
    try:
        expected = fn(a, **kw)
    except ValueError:
        with pytest.raises((ValueError, TypeError)):
            _one_op_model(lambda x: fn(x, **kw), shape)
        return
    model = _one_op_model(lambda x: fn(x, **kw), shape)
    out = model.predict(a, verbose=0)
    np.testing.assert_array_equal(out, expected)
    symbolic = model.outputs[0].shape
    assert len(symbolic) == np.ndim(expected)
    assert all(s is None or s == e for s, e in zip(symbolic, np.shape(expected)))
    assert model.outputs[0].dtype == str(np.asarray(expected).dtype)


def test_op_node_is_callable_eagerly_and_not_a_layer() -> None:
    x = rnnlens.Input((3,))
    y = rnnlens.ops.sum(rnnlens.layers.Dense(2)(x) * 3.0, axis=-1)
    model = rnnlens.Model(x, y)
    node = y.layer
    assert type(node).__name__ == "Sum" and node.get_config() == {
        "name": node.name, "axis": -1, "keepdims": False}
    np.testing.assert_array_equal(node(np.ones((2, 3), "float32")), [3.0, 3.0])
    assert node not in model.layers and [type(lyr).__name__ for lyr in model.layers] == [
        "InputLayer", "Dense"]


def test_ops_without_a_node_and_bad_calls_are_clear_errors() -> None:
    ops = rnnlens.ops
    x = rnnlens.Input((3, 4))
    with pytest.raises(TypeError, match="cannot be called on symbolic tensors"):
        ops.while_loop(lambda v: False, lambda v: v, (x,))
    with pytest.raises(ValueError, match="reshape"):
        ops.reshape(x, (5, 7))
    with pytest.raises(TypeError, match="plain data"):
        ops.sum(x, axis=object())
    with pytest.raises(TypeError, match="sum"):
        ops.sum(x, bogus=1)
    with pytest.raises(ValueError, match="too large"):
        ops.exp(rnnlens.Input((1 << 13, 1 << 12)))
    with pytest.raises(ValueError, match="more than"):      # bounded before anything runs
        ops.tile(x, (1, 100000, 100000))
    with pytest.raises(ValueError, match="more than"):
        ops.pad(x, ((0, 0), (100000, 0), (0, 100000)))
    assert ops.pad(rnnlens.Input((224, 224, 3)), ((0, 0), (3, 3), (3, 3), (0, 0))).shape == \
        (None, 230, 230, 3)
    assert ops.shape(x) == (None, 3, 4) and ops.is_tensor(x)


def test_file_with_bad_op_config_is_refused(tmp_path: Any) -> None:
    x = rnnlens.Input((3,), name="x")
    model = rnnlens.Model(x, rnnlens.ops.sum(x, axis=-1))
    model.save(tmp_path / "ok.keras")
    import zipfile

    with zipfile.ZipFile(tmp_path / "ok.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    from rnnlens.interop.keras_config import UnsafeModelError

    slice_ = {"class_name": "__slice__", "config": {"start": "a"}}
    constant = {"class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}}
    ragged = {"class_name": "__numpy__", "config": {"value": [[1], [1, 2]],
                                                    "dtype": "float32"}}
    cases = [("config", "bogus", 1, "does not take"), ("config", "axis", {"a": 1}, "plain data"),
             ("config", "axis", 7, "axis"), ("arg", 1, slice_, "slice argument"),
             ("arg", 1, constant, "constant argument"), ("arg", 1, ragged, "is invalid")]
    for k, (where, key, value, message) in enumerate(cases):
        bad = json.loads(json.dumps(config))
        entry = [e for e in bad["config"]["layers"] if e["class_name"] == "Sum"][0]
        if where == "arg":
            entry["inbound_nodes"][0]["args"].append(value)
        else:
            entry["config"][key] = value
        path = tmp_path / f"bad{k}.keras"
        with zipfile.ZipFile(path, "w") as z:
            for n, b in members.items():
                z.writestr(n, json.dumps(bad) if n == "config.json" else b)
        with pytest.raises(UnsafeModelError, match=message):
            rnnlens.models.load_model(path)
    loaded = rnnlens.models.load_model(tmp_path / "ok.keras")
    np.testing.assert_allclose(loaded.predict(np.ones((2, 3), "float32"), verbose=0), [3, 3])


def test_import_rnnlens_does_not_import_ops() -> None:
    code = ("import sys, rnnlens; x = rnnlens.Input((2,)); "
            "print('rnnlens.ops' in sys.modules, 'rnnlens.layers.op_nodes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_numpy_on_the_left_records_the_operator_and_numpy_functions_refuse() -> None:
    x = rnnlens.Input((4,), name="x")
    c = np.arange(4, dtype="float32")
    outs = [c * x, np.float32(2.0) + x, c - x, c / (x + 1.0), np.ones(4, "float32") > x]
    assert [type(t.layer).__name__ for t in outs] == ["Multiply", "Add", "Subtract",
                                                      "TrueDivide", "Greater"]
    model = rnnlens.Model(x, outs)
    a = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    got = model.predict(a, verbose=0)
    for ours, expected in zip(got, [c * a, 2.0 + a, c - a, c / (a + 1.0), 1.0 > a]):
        np.testing.assert_allclose(ours, expected, rtol=1e-6)
    with pytest.raises(TypeError, match="rnnlens.ops.exp"):
        np.exp(x)


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-4, 4) |
                     st.integers(-(1 << 40), 1 << 40) | st.floats(allow_nan=False, width=32) |
                     st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=4), max_leaves=8)
_FUZZED = {"Sum": ("axis", "keepdims"), "Transpose": ("axes",), "Reshape": ("newshape",),
           "Clip": ("x_min", "x_max"), "Tile": ("repeats",), "ExpandDims": ("axis",)}


def _fuzz_model() -> Any:
    x = rnnlens.Input((3, 4), name="x")
    o = rnnlens.ops
    return rnnlens.Model(x, [o.sum(x, axis=1), o.transpose(x, (0, 2, 1)),
                             o.reshape(x, (-1, 12)), o.clip(x, -0.5, 0.5), o.tile(x, (1, 2, 1)),
                             o.expand_dims(x, 1)])


@settings(max_examples=80, deadline=None)
@given(cls=st.sampled_from(sorted(_FUZZED)), data=st.data())
def test_fuzzed_op_configs_load_exactly_or_are_refused(cls: str, data: Any,
                                                      tmp_path_factory: Any) -> None:
    """A file whose op config holds any JSON value either loads and computes what the op
    computes with that value, or is refused (UnsafeModelError): never another error."""
    import zipfile

    from rnnlens.interop.keras_config import UnsafeModelError

    key = data.draw(st.sampled_from(_FUZZED[cls]))
    value = data.draw(_JSON)
    path = tmp_path_factory.mktemp("fuzz") / "m.keras"
    _fuzz_model().save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    entry = [e for e in config["config"]["layers"] if e["class_name"] == cls][0]
    entry["config"][key] = value
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, json.dumps(config) if n == "config.json" else b)
    try:
        model = rnnlens.models.load_model(path)
    except UnsafeModelError:
        return
    node = [lyr for lyr in model._layers if type(lyr).__name__ == cls][0]
    a = np.random.default_rng(0).normal(size=(3, 3, 4)).astype("float32")
    expected = node(a)                                  # the op with the file's value
    index = [t.layer for t in model.outputs].index(node)
    got = model(a)[index]
    np.testing.assert_array_equal(got, expected)
    assert all(s is None or s == e for s, e in zip(model.outputs[index].shape, got.shape))
