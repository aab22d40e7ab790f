"""More of Keras 3.15.1's call rules, each compared with live Keras.

1. A user layer's positional arguments, its input included, must be tensors: Python
   numbers, lists / tuples of them, strings and bools are Keras's ``ValueError``
   ("Only input tensors may be passed as positional arguments"); NumPy arrays and
   scalars and nests of arrays (or None) are tensors.
2. A built-in layer's positional arguments after the input are bound as Keras binds
   them: a non-tensor is the same ``ValueError``; more than Keras's ``call`` takes is
   its ``TypeError`` ("too many positional arguments"), a tensor in the ``training``
   slot its ``TypeError`` ("got multiple values"); None stays the default and a
   tensor goes to its argument (``LSTM(4)(x, [h, c])`` is ``initial_state``).
3. ``serialize_keras_object`` writes a user layer's ``build_config``;
   ``deserialize_keras_object`` and ``from_config`` + ``build_from_config`` build it as
   Keras does (``build(**shapes_dict)``, lists after a JSON round trip).
4. A user layer built inside another user layer's ``call`` while rnnlens infers the
   output shape (``call`` on a dummy batch) sees batch None, as in Keras.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import assert_close, keras_available
from rnnlens.layers import _build_shapes
from rnnlens.layers.base import REGISTRY
from rnnlens.saving import serialization_lib as rsl

RNG = np.random.default_rng(3)
A = RNG.normal(size=(2, 3)).astype("float32")
X = RNG.normal(size=(2, 5, 3)).astype("float32")
H = RNG.normal(size=(2, 4)).astype("float32")
C = RNG.normal(size=(2, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on TensorFlow is not importable")
    import keras  # noqa: PLC0415

    return keras


@pytest.fixture(scope="module")
def ksl(K: Any) -> Any:
    from keras.src.saving import serialization_lib  # noqa: PLC0415

    return serialization_lib


def outcome(fn: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``(exception type name, message)``."""
    try:
        return "ok", fn()
    except (ValueError, TypeError) as err:
        return type(err).__name__, str(err)


def define(lib: Any) -> tuple[dict[str, type], dict[str, list]]:
    """The user classes for ``lib`` (keras or rnnlens) and what their builds saw."""
    seen: dict[str, list] = {}
    reg = lib.saving.register_keras_serializable(package="CallRulesMore")

    class Ident(lib.layers.Layer):
        def call(self, x: Any) -> Any:
            return x

    class One(lib.layers.Layer):
        def build(self, input_shape: Any) -> None:
            seen.setdefault(self.name, []).append(input_shape)
            first = input_shape
            while first and isinstance(first[0], (list, tuple)):
                first = first[0]
            self.w = self.add_weight(shape=(first[-1], 2), initializer="ones", name="w")

        def call(self, x: Any) -> Any:
            while isinstance(x, (list, tuple)):
                x = x[0]
            return lib.ops.matmul(x, self.w)

    class Two(lib.layers.Layer):
        def build(self, a_shape: Any, b_shape: Any) -> None:
            seen.setdefault(self.name, []).append((a_shape, b_shape))
            self.w = self.add_weight(shape=(a_shape[-1], b_shape[-1]), initializer="ones",
                                     name="w")

        def call(self, a: Any, b: Any) -> Any:
            return lib.ops.matmul(a, self.w) + b

    class Outer(lib.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.inner = One(name=f"{self.name}_inner")

        def call(self, x: Any) -> Any:
            return self.inner(x)

    classes = {"Ident": Ident, "One": reg(One), "Two": reg(Two), "Outer": Outer}
    return classes, seen


# ---------------------------------------------------------------------------- 1. user input
NON_TENSORS = [[[1.0, 2.0]], 2.0, 2, [1.0, 2.0], True, "a", (1.0, 2.0), {"a": 1.0},
               [A, 1.0], [[A, A], 3]]
TENSORS = [np.float32(2.0), np.array(2.0), np.int64(3), A, [A, A], [A, None], [[A, A], A],
           (A, A)]


@pytest.mark.parametrize("value", NON_TENSORS, ids=repr)
def test_user_layer_refuses_non_tensor_input(K: Any, value: Any) -> None:
    """``U()([[1., 2.]])``, ``U()(2.0)``, ... : Keras's ValueError naming the first
    non-tensor leaf, for a user layer with and without its own build."""
    for name in ("Ident", "One"):
        kind_k, msg_k = outcome(lambda n=name: define(K)[0][n]()(value))
        kind_r, msg_r = outcome(lambda n=name: define(rnnlens)[0][n]()(value))
        assert kind_k == kind_r == "ValueError", (msg_k, msg_r)
        assert msg_r.startswith(msg_k), (msg_k, msg_r)


@pytest.mark.parametrize("value", TENSORS, ids=lambda v: type(v).__name__)
def test_user_layer_accepts_tensor_structures(K: Any, value: Any) -> None:
    """NumPy arrays and scalars and nests of arrays (None allowed) are tensors: the call
    runs, returns the same structure and values, and build sees the same shapes."""
    (kc, kseen), (rc, rseen) = define(K), define(rnnlens)
    out_k, out_r = kc["Ident"]()(value), rc["Ident"]()(value)
    flat_k, flat_r = K.tree.flatten(out_k), rnnlens.layers.base.flatten(out_r)
    assert len(flat_k) == len(flat_r) and type(out_k) is type(out_r) or \
        not isinstance(out_k, (list, tuple))
    for a, b in zip(flat_k, flat_r):
        assert (a is None) == (b is None)
        if a is not None:
            assert_close(np.asarray(b), np.asarray(a), atol=0)
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) >= 2:
        lk, lr = kc["One"](name="o"), rc["One"](name="o")
        assert_close(lr(value), np.asarray(lk(value)), atol=1e-6)
        assert rseen["o"] == kseen["o"]


def test_keyword_and_later_positional_values_unchanged(K: Any) -> None:
    """Non-tensors stay allowed by keyword (``layer(x, b=...)``) and None by position."""
    kc, rc = define(K)[0], define(rnnlens)[0]
    assert_close(rc["Two"]()(A, b=H[:, :2] * 0 + 1.0),
                 np.asarray(kc["Two"]()(A, b=H[:, :2] * 0 + 1.0)), atol=1e-6)
    assert outcome(lambda: rc["Ident"]()(A, None))[0] == \
        outcome(lambda: kc["Ident"]()(A, None))[0]


leaf = st.one_of(st.floats(-3, 3, width=32), st.integers(-3, 3), st.booleans(), st.none(),
                 st.just(A))
nests = st.recursive(leaf, lambda inner: st.lists(inner, min_size=1, max_size=3), max_leaves=6)


@settings(max_examples=40, deadline=None)
@given(nests)
def test_fuzz_user_layer_input_kinds(K: Any, value: Any) -> None:
    """Any nest of numbers, bools, None and arrays: rnnlens refuses exactly what Keras
    refuses by its positional rule (same ValueError), else runs as Keras does."""
    kind_k, msg_k = outcome(lambda: define(K)[0]["Ident"]()(value))
    kind_r, msg_r = outcome(lambda: define(rnnlens)[0]["Ident"]()(value))
    if kind_k == "ValueError" and msg_k.startswith("Only input tensors"):
        assert kind_r == "ValueError" and msg_r.startswith(msg_k), (msg_k, msg_r)
    else:
        assert kind_r == kind_k or kind_r in ("ValueError", "TypeError"), (msg_k, msg_r)
        assert kind_r == "ok" or not msg_r.startswith("Only input tensors")


# ---------------------------------------------------------------------------- 2. built-ins
def builtin_cases(L: Any, x: Any, a: Any, h: Any, c: Any) -> dict[str, Any]:
    return {
        "Dense(a,True)": lambda: L.Dense(2)(a, True),
        "Dense(a,'s')": lambda: L.Dense(2)(a, "s"),
        "Dense(a,[1.])": lambda: L.Dense(2)(a, [1.0]),
        "Dense(a,a)": lambda: L.Dense(2)(a, a),
        "Dense(a,None,None)": lambda: L.Dense(2)(a, None, None),
        "Dropout(x,True)": lambda: L.Dropout(0.5)(x, True),
        "Dropout(x,x)": lambda: L.Dropout(0.5)(x, x),
        "BN(x,x)": lambda: L.BatchNormalization()(x, x),
        "LSTM(x,True)": lambda: L.LSTM(4)(x, True),
        "LSTM(x,[h,c],True)": lambda: L.LSTM(4)(x, [h, c], True),
        "Add(a,a)": lambda: L.Add()(a, a),
        "Add([a,a],True)": lambda: L.Add()([a, a], True),
        "Add([a,a],None)": lambda: L.Add()([a, a], None),
        "Concatenate(a,a)": lambda: L.Concatenate()(a, a),
        "Embedding(x,None)": lambda: L.Embedding(10, 2)(x, None),
        "Masking(x,None)": lambda: L.Masking()(x, None),
        "Flatten(x,1)": lambda: L.Flatten()(x, 1),
        "Conv1D(x,True)": lambda: L.Conv1D(2, 2)(x, True),
        "TimeDistributed(x,True)": lambda: L.TimeDistributed(L.Dense(2))(x, True),
        "GlobalAvg1D(x,False)": lambda: L.GlobalAveragePooling1D()(x, False),
    }


@pytest.mark.parametrize("symbolic", [False, True], ids=["eager", "graph"])
def test_builtin_positional_errors(K: Any, symbolic: bool) -> None:
    """Each refused call: Keras's exception type, and Keras's message (for the graph
    call, Keras wraps the ``multiple values`` TypeError; its text is inside)."""
    def tensors(lib: Any) -> tuple:
        if symbolic:
            return (lib.Input((5, 3)), lib.Input((3,)), lib.Input((4,)), lib.Input((4,)))
        return X, A, H, C

    kcases, rcases = builtin_cases(K.layers, *tensors(K)), \
        builtin_cases(rnnlens.layers, *tensors(rnnlens))
    for name in kcases:
        kind_k, msg_k = outcome(kcases[name])
        kind_r, msg_r = outcome(rcases[name])
        assert kind_k == kind_r and kind_k != "ok", (name, msg_k, msg_r)
        first = msg_k.split("\n")[0]                      # Keras's own text
        if first.startswith("Exception encountered"):
            assert "multiple values for argument 'training'" in msg_k
            assert "multiple values for argument 'training'" in msg_r, (name, msg_r)
        else:
            assert msg_r.startswith(first), (name, msg_k, msg_r)


def same_weights(kl: Any, rl: Any) -> None:
    rl.set_weights([np.asarray(w) for w in kl.get_weights()])


@pytest.mark.parametrize("name", ["Dense(a,None)", "Dropout(x,None)", "LSTM(x,[h,c])",
                                  "LSTM(x,[h,c],None)", "LSTM(x,None)", "GRU(x,h)",
                                  "SimpleRNN(x,[h])", "Bidirectional(x,[h,c,h,c])",
                                  "GlobalAvg1D(x,mask)", "BN(x,None)"])
def test_builtin_positional_tensors_match(K: Any, name: str) -> None:
    """Calls Keras accepts: the same values (weights copied from Keras), eagerly."""
    def make(L: Any) -> tuple[Any, tuple]:
        table = {
            "Dense(a,None)": (lambda: L.Dense(2), (A, None)),
            "Dropout(x,None)": (lambda: L.Dropout(0.5), (X, None)),
            "LSTM(x,[h,c])": (lambda: L.LSTM(4), (X, [H, C])),
            "LSTM(x,[h,c],None)": (lambda: L.LSTM(4), (X, [H, C], None)),
            "LSTM(x,None)": (lambda: L.LSTM(4), (X, None)),
            "GRU(x,h)": (lambda: L.GRU(4), (X, H)),
            "SimpleRNN(x,[h])": (lambda: L.SimpleRNN(4), (X, [H])),
            "Bidirectional(x,[h,c,h,c])": (lambda: L.Bidirectional(L.LSTM(4)),
                                           (X, [H, C, H, C])),
            "GlobalAvg1D(x,mask)": (lambda: L.GlobalAveragePooling1D(), (X, MASK)),
            "BN(x,None)": (lambda: L.BatchNormalization(), (X, None)),
        }
        factory, args = table[name]
        return factory(), args

    kl, kargs = make(K.layers)
    rl, rargs = make(rnnlens.layers)
    out_k = np.asarray(kl(*kargs))
    rl(*rargs)
    same_weights(kl, rl)
    assert_close(rl(*rargs), out_k, atol=1e-5)


def graph_model(lib: Any, kind: str) -> tuple[Any, list]:
    """A model whose layer takes a second tensor by position, and its data."""
    x = lib.Input((5, 3))
    if kind == "lstm":
        h, c = lib.Input((4,)), lib.Input((4,))
        return lib.Model([x, h, c], lib.layers.LSTM(4)(x, [h, c])), [X, H, C]
    if kind == "gru":
        h = lib.Input((4,))
        return lib.Model([x, h], lib.layers.GRU(4)(x, h)), [X, H]
    if kind == "bidirectional":
        hs = [lib.Input((4,)) for _ in range(4)]
        out = lib.layers.Bidirectional(lib.layers.LSTM(4))(x, hs)
        return lib.Model([x, *hs], out), [X, H, C, H, C]
    m = lib.Input((5,), dtype="bool")
    return lib.Model([x, m], lib.layers.GlobalAveragePooling1D()(x, m)), [X, MASK]


@pytest.mark.parametrize("kind", ["lstm", "gru", "bidirectional", "mask"])
def test_positional_tensors_in_a_graph(K: Any, kind: str) -> None:
    """``LSTM(4)(x, [h, c])``, ``GRU(4)(x, h)``, ``Bidirectional(x, [4 states])``,
    ``GlobalAveragePooling1D()(x, mask)`` on Inputs: Keras's predictions."""
    (km, data), (rm, _) = graph_model(K, kind), graph_model(rnnlens, kind)
    rm.set_weights(km.get_weights())
    assert_close(rm.predict(data, verbose=0), km.predict(data, verbose=0), atol=1e-5)


def test_keras_call_slots_table_matches_keras(K: Any) -> None:
    """rnnlens's table of Keras's positional ``call`` arguments equals Keras's
    signatures, for every built-in class that goes through ``Layer.__call__``."""
    checked = 0
    for name, cls in REGISTRY.items():
        kcls = getattr(K.layers, name, None)
        own = any("__call__" in k.__dict__ for k in cls.__mro__
                  if k is not rnnlens.layers.Layer and k.__module__.startswith("rnnlens."))
        if not isinstance(kcls, type) or own or cls.__module__.startswith(
                "rnnlens.layers.preprocessing") or "Cell" in name:
            continue
        params = inspect.signature(kcls.call).parameters.values()
        slots = tuple(p.name for p in params
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))[2:]
        assert _build_shapes.KERAS_CALL_SLOTS.get(name, ()) == slots, name
        checked += 1
    assert checked > 80


@pytest.mark.parametrize("make", [
    lambda L: L.Normalization(), lambda L: L.Discretization(bin_boundaries=[0.0]),
    lambda L: L.Rescaling(1.0), lambda L: L.Resizing(2, 2), lambda L: L.CategoryEncoding(3),
    lambda L: L.Hashing(3), lambda L: L.RandomFlip(), lambda L: L.STFTSpectrogram(),
    lambda L: L.Dense(2), lambda L: L.Identity()], ids=lambda f: str(id(f))[-4:])
def test_non_tensor_positional_allowance_matches_keras(K: Any, make: Any) -> None:
    """Which layers Keras lets take non-tensors by position (its preprocessing layers,
    but STFTSpectrogram)."""
    assert _build_shapes.takes_non_tensors(make(rnnlens.layers)) == \
        make(K.layers)._allow_non_tensor_positional_args


# ---------------------------------------------------------------------------- 3. build_config
def built_user_layers(lib: Any) -> tuple[dict, dict, Any, Any]:
    classes, seen = define(lib)
    two, one = classes["Two"](name="two"), classes["One"](name="one")
    two(A, H)
    one(A)
    seen.clear()
    return classes, seen, two, one


@pytest.mark.parametrize("which", ["two", "one"])
@pytest.mark.parametrize("round_trip", [False, True], ids=["memory", "json"])
def test_user_layer_build_config_round_trip(K: Any, ksl: Any, which: str,
                                            round_trip: bool) -> None:
    """serialize writes Keras's build_config; deserialize, and from_config +
    build_from_config, build with exactly what Keras's build receives (tuples in
    memory, lists after JSON)."""
    results = {}
    for lib, sl in ((K, ksl), (rnnlens, rsl)):
        classes, seen, two, one = built_user_layers(lib)
        layer = two if which == "two" else one
        cfg = sl.serialize_keras_object(layer)
        if round_trip:
            cfg = json.loads(json.dumps(cfg))
        rebuilt = sl.deserialize_keras_object(cfg)
        got = [rebuilt.built, seen.pop(which, None),
               [tuple(np.shape(w)) for w in rebuilt.get_weights()]]
        fresh = type(layer).from_config(cfg["config"])
        unbuilt = fresh.built
        fresh.build_from_config(cfg["build_config"])
        got += [unbuilt, fresh.built, seen.pop(which, None), layer.get_build_config(),
                cfg["build_config"]]
        results[lib.__name__] = got
    assert results["rnnlens"] == results["keras"]
    assert results["rnnlens"][0] is True and results["rnnlens"][1] is not None


def test_builtin_build_from_config(K: Any, ksl: Any) -> None:
    """Built-in layers: ``build_from_config`` with ``input_shape`` (Dense) and with
    ``shapes_dict`` (MultiHeadAttention, also through deserialize) builds the weights
    Keras builds."""
    def shapes(layer: Any) -> list:
        return [tuple(np.shape(w)) for w in layer.get_weights()]

    kd, rd = K.layers.Dense(2), rnnlens.layers.Dense(2)
    kd.build_from_config({"input_shape": [None, 3]})
    rd.build_from_config({"input_shape": [None, 3]})
    assert rd.built and shapes(rd) == shapes(kd)
    config = {"shapes_dict": {"query_shape": [None, 2, 3], "value_shape": [None, 5, 3]}}
    km, rm = K.layers.MultiHeadAttention(2, 4), rnnlens.layers.MultiHeadAttention(2, 4)
    km.build_from_config(config)
    rm.build_from_config(config)
    assert rm.built and shapes(rm) == shapes(km)
    entry = json.loads(json.dumps(ksl.serialize_keras_object(km)))
    assert entry["build_config"] == config
    back = rsl.deserialize_keras_object(entry)
    assert back.built and shapes(back) == shapes(km)
    assert rm.get_build_config() == km.get_build_config() == config
    assert json.dumps(rd.get_build_config()) == json.dumps(kd.get_build_config())


# ---------------------------------------------------------------------------- 4. nested build
@pytest.mark.parametrize("shape,batch", [((5,), None), ((83,), None), ((5,), 83),
                                         ((None, 5), None)])
def test_nested_user_layer_build_sees_keras_batch(K: Any, shape: tuple, batch: Any) -> None:
    """A user layer built inside another user layer's call in a graph: its build sees
    batch None (a fixed batch size as given), as Keras's symbolic call gives it; the
    outer output shapes are Keras's."""
    got = {}
    for lib in (K, rnnlens):
        classes, seen = define(lib)
        outer = classes["Outer"](name="outer")
        y = outer(lib.Input(shape, batch_size=batch))
        got[lib.__name__] = (tuple(y.shape), seen["outer_inner"][0])
    (k_out, k_seen), (r_out, r_seen) = got["keras"], got["rnnlens"]
    assert r_out == k_out
    assert r_seen[0] == k_seen[0] and r_seen[-1] == k_seen[-1]
    if None not in shape:
        assert r_seen == k_seen
