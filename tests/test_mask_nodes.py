"""Masks recorded as op nodes when layers are called on symbolic tensors (as Keras 3):
the graph's op nodes (NotEqual, Any, LogicalOr, ExpandDims, ZerosLike, OnesLike, the
Concatenate op), ``summary()``, ``model.layers`` order, the saved config's op entries and
``mask=`` arguments equal Keras's, and the numbers are unchanged. Also a user layer whose
``compute_output_shape`` takes one shape per call argument."""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import pytest

import rnnlens
from oracle import assert_close, keras_available

pytestmark = [pytest.mark.keras,
              pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 not installed")]


@pytest.fixture(scope="module")
def K() -> Any:
    import keras

    return keras


def g_masking_concat(k: Any) -> Any:
    i = k.Input((6, 3))
    m = k.layers.Masking()(i)
    a = k.layers.GRU(3, return_sequences=True)(m)
    b = k.layers.SimpleRNN(2, return_sequences=True)(i)
    return k.Model(i, k.layers.LSTM(2)(k.layers.Concatenate()([b, a])))


def g_embedding_add(k: Any) -> Any:
    i = k.Input((6,), dtype="int32")
    e = k.layers.Embedding(10, 4, mask_zero=True)(i)
    a = k.layers.Add()([k.layers.Dense(3)(e), k.layers.Dense(3)(e)])
    return k.Model(i, k.layers.GRU(2)(a))


def g_two_masks_concat(k: Any) -> Any:
    """Both inputs masked (same rank masks): Concatenate op, Any; then Bidirectional."""
    i = k.Input((5,), dtype="int32")
    e1 = k.layers.Embedding(9, 3, mask_zero=True)(i)
    e2 = k.layers.Embedding(9, 2, mask_zero=True)(i)
    c = k.layers.Concatenate()([e1, e2])
    s = k.layers.Bidirectional(k.layers.LSTM(2, return_sequences=True))(c)
    return k.Model(i, k.layers.SimpleRNN(2)(k.layers.Dense(3)(s)))


def g_masking_value_multiply(k: Any) -> Any:
    i = k.Input((6, 3))
    m = k.layers.Masking(-1.0)(i)
    x = k.layers.Multiply()([m, k.layers.Dense(3)(m)])
    return k.Model(i, [k.layers.GRU(2)(x), k.layers.LSTM(2, return_sequences=True)(m)])


def g_embedding_pooling(k: Any) -> Any:
    """GlobalAveragePooling1D takes the mask (mask=) and drops it; Activation keeps it."""
    i = k.Input((6,), dtype="int32")
    e = k.layers.Embedding(10, 4, mask_zero=True)(i)
    s = k.layers.LSTM(3, return_sequences=True)(e)
    t = k.layers.Activation("tanh")(s)
    p = k.layers.GlobalAveragePooling1D()(t)
    return k.Model(i, [k.layers.Dense(2)(p), k.layers.GRU(2)(t)])


def g_attention(k: Any) -> Any:
    """Attention's mask is ``convert_to_tensor(mask[0])`` (a ConvertToTensor node); its
    list input gets no recorded ``mask=`` (Keras converts the arguments first)."""
    i = k.Input((6,), dtype="int32")
    e = k.layers.Embedding(10, 4, mask_zero=True)(i)
    return k.Model(i, k.layers.GRU(2)(k.layers.Attention()([e, e])))


def g_multi_head_attention(k: Any) -> Any:
    """MultiHeadAttention passes the query's mask on (no op)."""
    i = k.Input((6,), dtype="int32")
    e = k.layers.Embedding(10, 4, mask_zero=True)(i)
    return k.Model(i, k.layers.GRU(2)(k.layers.MultiHeadAttention(2, 3)(e, e)))


def g_bidirectional_split(k: Any) -> Any:
    i = k.Input((6,), dtype="int32")
    e = k.layers.Embedding(10, 4, mask_zero=True)(i)
    a = k.layers.TimeDistributed(k.layers.Dense(3))(e)
    b = k.layers.Bidirectional(k.layers.GRU(2, return_sequences=True), merge_mode=None)(a)
    return k.Model(i, k.layers.Average()([k.layers.LSTM(2)(b[0]), k.layers.LSTM(2)(b[1])]))


def g_explicit_mask(k: Any) -> Any:
    """``mask=`` given to the call is the output's mask too (Keras's previous_mask)."""
    i = k.Input((5, 3))
    m = k.Input((5,), dtype="bool")
    o = k.layers.Bidirectional(k.layers.SimpleRNN(2, return_sequences=True))(i, mask=m)
    return k.Model([i, m], k.layers.GRU(2)(o))


GRAPHS = [g_masking_concat, g_embedding_add, g_two_masks_concat, g_masking_value_multiply,
          g_embedding_pooling, g_attention, g_multi_head_attention, g_bidirectional_split,
          g_explicit_mask]
IDS = [g.__name__[2:] for g in GRAPHS]


def both(K: Any, graph: Callable) -> tuple[Any, Any]:
    K.backend.clear_session()
    km = graph(K)
    rnnlens.utils.clear_session()
    return km, graph(rnnlens)


def make_x(model: Any, n: int = 5) -> Any:
    rng = np.random.default_rng(3)
    if len(model.inputs) == 2:                         # (values, boolean mask)
        mask = np.ones((n, model.inputs[1].shape[1]), bool)
        mask[0, 3:] = False
        mask[2, :2] = False
        return [rng.normal(size=(n, *model.inputs[0].shape[1:])).astype("float32"), mask]
    shape = model.inputs[0].shape
    if model.inputs[0].dtype == "int32":
        x = rng.integers(1, 9, size=(n, shape[1])).astype("int32")
        x[0, 3:] = 0
        x[2, :2] = 0
        return x
    x = rng.normal(size=(n, *shape[1:])).astype("float32")
    x[0, 4:] = 0.0
    x[1, :2] = -1.0
    x[3, 2:4] = 0.0
    return x


def text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, *a, **kw: lines.append(s))
    return "\n".join(lines).rstrip()


@pytest.mark.parametrize("graph", GRAPHS, ids=IDS)
def test_operations_summary_and_layers(K: Any, graph: Callable) -> None:
    km, rm = both(K, graph)
    assert [(type(o).__name__, o.name) for o in rm._layers] == \
        [(type(o).__name__, o.name) for o in km.operations]
    assert [lyr.name for lyr in rm.layers] == [lyr.name for lyr in km.layers]
    assert text(rm) == text(km)


def _op_entries(config: dict) -> list:
    return [e for e in config["layers"] if e["module"].startswith("keras.src.ops")]


def _mask_kwargs(config: dict) -> dict:
    return {e["name"]: [n["kwargs"].get("mask") for n in e["inbound_nodes"]]
            for e in config["layers"] if e["inbound_nodes"]
            and not e["module"].startswith("keras.src.ops")}


@pytest.mark.parametrize("graph", GRAPHS, ids=IDS)
def test_config_op_entries_and_mask_arguments(K: Any, graph: Callable, tmp_path) -> None:
    km, rm = both(K, graph)
    k_cfg, r_cfg = (json.loads(json.dumps(m.get_config())) for m in (km, rm))   # as files
    assert json.dumps(_op_entries(r_cfg)) == json.dumps(_op_entries(k_cfg))
    r_masks = _mask_kwargs(r_cfg)
    for name, masks in _mask_kwargs(k_cfg).items():      # Keras also writes None masks ("mask": null)
        assert [m for m in r_masks[name] if m is not None] == \
            [m for m in masks if m is not None], name
    rm.save(tmp_path / "r.keras")            # the file loads in Keras with the same numbers
    back = K.models.load_model(tmp_path / "r.keras")
    x = make_x(rm)
    assert_close(back.predict(x, verbose=0), rm.predict(x), atol=1e-5, name="rnnlens -> keras")


@pytest.mark.parametrize("graph", GRAPHS, ids=IDS)
def test_numbers_equal_keras(K: Any, graph: Callable) -> None:
    km, rm = both(K, graph)
    rng = np.random.default_rng(7)
    w = [rng.uniform(-0.5, 0.5, a.shape).astype("float32") for a in km.get_weights()]
    km.set_weights(w)
    rm.set_weights(w)                        # Keras's get_weights() order
    x = make_x(rm)
    k_out, r_out = km.predict(x, verbose=0), rm.predict(x)
    for r, k in zip(r_out if isinstance(r_out, list) else [r_out],
                    k_out if isinstance(k_out, list) else [k_out]):
        assert_close(r, k, atol=1e-5, name="predict")


def test_mask_ops_are_not_layers_and_train() -> None:
    """The mask nodes are op nodes (not layers); a fit step runs through them."""
    rnnlens.utils.clear_session()
    model = g_masking_concat(rnnlens)
    ops = [o for o in model._layers if getattr(o, "is_op", False)]
    assert [type(o).__name__ for o in ops] == ["NotEqual", "Any", "ExpandDims", "ZerosLike",
                                               "OnesLike", "LogicalOr", "Concatenate", "Any"]
    assert not any(getattr(lyr, "is_op", False) for lyr in model.layers)
    model.compile(loss="mse", optimizer="sgd")
    x = make_x(model, 4)
    history = model.fit(x, np.zeros((4, 2), "float32"), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_unmasked_graph_has_no_mask_ops() -> None:
    rnnlens.utils.clear_session()
    i = rnnlens.Input((4, 3))
    a = rnnlens.layers.LSTM(2, return_sequences=True)(i)
    model = rnnlens.Model(i, rnnlens.layers.Concatenate()([a, i]))
    assert not any(getattr(o, "is_op", False) for o in model._layers)


def _pair_layer(k: Any) -> Any:
    class Pair(k.layers.Layer):
        def call(self, a, b):
            return k.ops.concatenate([a, k.ops.mean(b, axis=1, keepdims=True)], axis=1)

        def compute_output_shape(self, a_shape, b_shape):
            return (a_shape[0], a_shape[1] + 1, a_shape[2])

    return Pair()


def test_compute_output_shape_gets_each_argument_shape(K: Any) -> None:
    """``layer(a, b)`` calls ``compute_output_shape(a_shape, b_shape)`` as Keras does."""
    shapes = {}
    for k in (K, rnnlens):
        a, b = k.Input((4, 3)), k.Input((7, 3))
        shapes[k.__name__] = tuple(_pair_layer(k)(a, b).shape)
    assert shapes["rnnlens"] == shapes["keras"] == (None, 5, 3)


def test_compute_output_shape_with_unmatched_names_is_refused() -> None:
    class Bad(rnnlens.layers.Layer):
        def call(self, a, b):
            return a

        def compute_output_shape(self, first, second):
            return first

    with pytest.raises(ValueError, match="_shape"):
        Bad()(rnnlens.Input((3,)), rnnlens.Input((3,)))


@pytest.mark.parametrize("graph", GRAPHS, ids=IDS)
def test_keras_file_graph_keeps_its_mask_nodes_only(K: Any, graph: Callable,
                                                    tmp_path) -> None:
    """Loading Keras's file calls the layers symbolically too: the graph has the file's
    mask nodes (none added twice), and the config written back has Keras's op entries."""
    from rnnlens.models import load_model

    K.backend.clear_session()
    km = graph(K)
    km.save(tmp_path / "k.keras")
    rnnlens.utils.clear_session()
    rm = load_model(tmp_path / "k.keras")
    assert [(type(o).__name__, o.name) for o in rm._layers] == \
        [(type(o).__name__, o.name) for o in km.operations]
    k_cfg, r_cfg = (json.loads(json.dumps(m.get_config())) for m in (km, rm))
    assert _op_entries(r_cfg) == _op_entries(k_cfg)


def test_mask_not_built_from_ops_falls_back_to_run_time() -> None:
    """A user's compute_mask written with NumPy cannot be recorded: its output's mask is
    computed at run time (as before), and the layers after it get that mask."""
    class Flip(rnnlens.layers.Layer):
        supports_masking = True

        def call(self, x, mask=None):
            return x

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else np.asarray(mask)[:, ::-1]

    rnnlens.utils.clear_session()
    i = rnnlens.Input((6, 3))
    lstm = rnnlens.layers.LSTM(2)
    model = rnnlens.Model(i, lstm(Flip()(rnnlens.layers.Masking()(i))))
    assert "mask" not in lstm._inbound_nodes[0].kwargs
    x = make_x(model, 4)
    expected = lstm(x, mask=np.any(x != 0, axis=-1)[:, ::-1])
    assert_close(model(x), expected, atol=1e-6, name="run-time mask")
