"""A user layer's ``build`` gets its call's tensor shapes exactly as Keras 3.15.1 gives them.

Keras (``Layer._maybe_build``) collects ``{"<arg>_shape": shape}`` for the tensor
arguments of ``call`` (not ``mask``); a ``build`` with one parameter gets the first of
them, any other ``build`` gets them by name (``build(self, a_shape, b_shape)`` for
``call(self, a, b)``) and must name only ``<call argument>_shape`` parameters. The same
classes are written once per library (``keras`` / ``rnnlens``) and compared: what
``build`` received (exactly, lists and tuples included), the outputs with the same
weights, eagerly and inside a functional model, gradients, the errors for build
signatures that cannot be matched, and ``.keras`` files both ways (``build_config`` as
``{"input_shape": ...}`` or ``{"shapes_dict": {...}}``, equal entry for entry).
"""

from __future__ import annotations

import json
import zipfile
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available

PACKAGE = "BuildShapes"
RNG = np.random.default_rng(0)
A = RNG.normal(size=(2, 3)).astype("float32")
B = RNG.normal(size=(2, 4)).astype("float32")
SEQ = RNG.normal(size=(2, 5, 3)).astype("float32")
M = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)


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


# ---------------------------------------------------------------------------- the classes
def define(K: Any) -> tuple[dict[str, type], dict[str, Any]]:
    """The classes for ``K`` (registered under ``PACKAGE``) and the dict where each
    layer records what its ``build`` received (``seen[layer.name]``)."""
    ops, seen = K.ops, {}
    reg = K.saving.register_keras_serializable(package=PACKAGE)

    def w(layer: Any, shape: tuple, name: str) -> Any:
        return layer.add_weight(shape=shape, initializer="random_normal", name=name)

    @reg
    class Pair(K.layers.Layer):
        """Two tensor arguments, ``build(a_shape, b_shape)``, shape by name."""

        def build(self, a_shape: Any, b_shape: Any) -> None:
            seen[self.name] = {"a_shape": a_shape, "b_shape": b_shape}
            self.w = w(self, (a_shape[-1], b_shape[-1]), "w")
            self.v = w(self, (b_shape[-1],), "v")

        def call(self, a: Any, b: Any) -> Any:
            return ops.matmul(a, self.w) + b * self.v

        def compute_output_shape(self, a_shape: Any, b_shape: Any) -> Any:
            return b_shape

    @reg
    class FirstOnly(K.layers.Layer):
        """Two tensor arguments, ``build(input_shape)``: the first one's shape."""

        def build(self, input_shape: Any) -> None:
            seen[self.name] = {"input_shape": input_shape}
            self.w = w(self, (input_shape[-1],), "w")

        def call(self, a: Any, b: Any) -> Any:
            return a * self.w + ops.sum(b, axis=-1, keepdims=True)

    @reg
    class ListIn(K.layers.Layer):
        """A list input: ``build(input_shape)`` gets the list of shapes."""

        def build(self, input_shape: Any) -> None:
            seen[self.name] = {"input_shape": input_shape}
            self.w = w(self, (input_shape[0][-1], input_shape[1][-1]), "w")

        def call(self, inputs: Any) -> Any:
            return ops.matmul(inputs[0], self.w) * inputs[1]

    @reg
    class KwPair(K.layers.Layer):
        """An optional keyword tensor: ``build(x_shape, y_shape=None)``."""

        def build(self, x_shape: Any, y_shape: Any = None) -> None:
            seen[self.name] = {"x_shape": x_shape, "y_shape": y_shape}
            self.w = w(self, (x_shape[-1],), "w")
            self.u = None if y_shape is None else w(self, (y_shape[-1],), "u")

        def call(self, x: Any, y: Any = None) -> Any:
            out = x * self.w
            if y is not None:
                out = out + ops.sum(y * self.u, axis=-1, keepdims=True)
            return out

    @reg
    class MaskArg(K.layers.Layer):
        """``layer(x, mask)``: the mask tensor is no build input."""

        def build(self, input_shape: Any) -> None:
            seen[self.name] = {"input_shape": input_shape}
            self.w = w(self, (input_shape[-1],), "w")

        def call(self, inputs: Any, mask: Any = None) -> Any:
            gate = ops.expand_dims(ops.cast(mask, "float32"), -1)
            return ops.sum(inputs * self.w * gate, axis=1)

    @reg
    class NoArgBuild(K.layers.Layer):
        """``build(self)``: called without shapes."""

        def build(self) -> None:
            seen[self.name] = {}
            self.w = w(self, (2,), "w")

        def call(self, x: Any) -> Any:
            return x * ops.sum(self.w)

    @reg
    class NestedPair(K.layers.Layer):
        """A list argument and a tensor: ``build(pair_shape, c_shape)``."""

        def build(self, pair_shape: Any, c_shape: Any) -> None:
            seen[self.name] = {"pair_shape": pair_shape, "c_shape": c_shape}
            self.w = w(self, (pair_shape[0][-1], c_shape[-1]), "w")

        def call(self, pair: Any, c: Any) -> Any:
            return ops.matmul(pair[0], self.w) + pair[1] * c

    return {c.__name__: c for c in (Pair, FirstOnly, ListIn, KwPair, MaskArg, NoArgBuild,
                                     NestedPair)}, seen


@pytest.fixture(scope="module")
def libs(K: Any) -> dict[str, Any]:
    """``{"keras": (classes, seen), "rnnlens": (classes, seen)}``, defined once."""
    return {"keras": define(K), "rnnlens": define(rnnlens)}


#: name -> (class, positional args, keyword args); arrays stand for tensors.
CASES = {
    "two_positional": ("Pair", (A, B), {}),
    "keyword_tensor": ("Pair", (A,), {"b": B}),
    "one_param_build": ("FirstOnly", (A, B), {}),
    "list_input": ("ListIn", ([A, B],), {}),
    "tuple_input": ("ListIn", ((A, B),), {}),
    "optional_keyword": ("KwPair", (A,), {"y": B}),
    "optional_absent": ("KwPair", (A,), {}),
    "mask_tensor": ("MaskArg", (SEQ, M), {}),
    "no_param_build": ("NoArgBuild", (A,), {}),
    "nested_argument": ("NestedPair", ([A, B], B), {}),
}


def _symbolic(lib: Any, args: tuple, kwargs: dict) -> tuple[list, tuple, dict]:
    """``Input``s standing for the arrays of a call, and the call's structure on them."""
    inputs: list = []

    def swap(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return type(value)(swap(v) for v in value)
        dtype = "bool" if value.dtype == bool else "float32"
        inputs.append(lib.Input(value.shape[1:], dtype=dtype))
        return inputs[-1]

    return inputs, tuple(swap(a) for a in args), {k: swap(v) for k, v in kwargs.items()}


def _flat(args: tuple, kwargs: dict) -> list:
    out: list = []
    for v in [*args, *kwargs.values()]:
        out += list(v) if isinstance(v, (list, tuple)) else [v]
    return out


def _run(lib: Any, cls: type, args: tuple, kwargs: dict, mode: str,
         weights: list | None = None) -> tuple[Any, Any]:
    """The layer, and its output for the call (after setting ``weights``)."""
    layer = cls(name=f"case_{mode}")
    if mode == "eager":
        layer(*args, **kwargs)                           # builds
        if weights is not None:
            layer.set_weights(weights)
        return layer, np.asarray(layer(*args, **kwargs))
    inputs, s_args, s_kwargs = _symbolic(lib, args, kwargs)
    model = lib.Model(inputs, layer(*s_args, **s_kwargs))
    if weights is not None:
        layer.set_weights(weights)
    return layer, np.asarray(model.predict(_flat(args, kwargs), verbose=0))


# ---------------------------------------------------------------------------- parity
@pytest.mark.parametrize("mode", ["eager", "symbolic"])
@pytest.mark.parametrize("case", list(CASES))
def test_build_gets_keras_shapes_and_outputs_match(K: Any, libs: dict, parity: Any,
                                                   case: str, mode: str) -> None:
    name, args, kwargs = CASES[case]
    (kc, kseen), (rc, rseen) = libs["keras"], libs["rnnlens"]
    kl, kout = _run(K, kc[name], args, kwargs, mode)
    rl, rout = _run(rnnlens, rc[name], args, kwargs, mode, kl.get_weights())
    assert rseen[rl.name] == kseen[kl.name]              # lists and tuples alike
    assert rl.built and [w.shape for w in rl.get_weights()] == \
        [tuple(w.shape) for w in kl.get_weights()]
    parity(rout, kout, name=f"{case} {mode}")


def test_exact_build_arguments() -> None:
    """The shapes themselves (not only equal to Keras's): batch None in a graph."""
    classes, seen = define(rnnlens)
    ia, ib = rnnlens.Input((3,)), rnnlens.Input((4,))
    classes["Pair"](name="p")(ia, b=ib)
    classes["NestedPair"](name="n")([ia, ib], ib)
    classes["ListIn"](name="l")([ia, ib])
    classes["KwPair"](name="k")(A)
    assert seen["p"] == {"a_shape": (None, 3), "b_shape": (None, 4)}
    assert seen["n"] == {"pair_shape": [(None, 3), (None, 4)], "c_shape": (None, 4)}
    assert seen["l"] == {"input_shape": [(None, 3), (None, 4)]}
    assert seen["k"] == {"x_shape": (2, 3), "y_shape": None}

def assert_gradients_match(K: Any, tf: Any, km: Any, rm: Any, count: int) -> None:
    """rnnlens's gradients of an MSE loss equal tf.GradientTape's on the Keras twin (rm
    gets km's weights first); ``count`` trainable weights."""
    rm.set_weights(km.get_weights())
    x = RNG.normal(size=(8, 3)).astype("float32")
    y = RNG.normal(size=(8, 2)).astype("float32")
    with tf.GradientTape() as tape:
        loss = K.losses.MeanSquaredError()(y, km(x, training=True))
    expected = tape.gradient(loss, km.trainable_weights)
    got = rnnlens.training.gradients(rm, x, y, "mse", training=True)
    assert len(got) == len(expected) == count
    for g, e in zip(got, expected):
        e = e.numpy()
        assert np.abs(g - e).max() <= 1e-5 * max(float(np.abs(e).max()), 1.0)



def test_gradients_match_tensorflow(K: Any, tf: Any, libs: dict) -> None:
    def make(lib: Any, classes: dict) -> Any:
        inp = lib.Input((3,))
        h = lib.layers.Dense(3, activation="tanh", name="h")(inp)
        g = lib.layers.Dense(4, activation="tanh", name="g")(inp)
        z = classes["Pair"](name="pair")(h, b=g)
        z = classes["NestedPair"](name="nested")([h, z], g)
        return lib.Model(inp, lib.layers.Dense(2, name="out")(z))

    km, rm = make(K, libs["keras"][0]), make(rnnlens, libs["rnnlens"][0])
    assert_gradients_match(K, tf, km, rm, 9)


# ---------------------------------------------------------------------------- errors
def bad_classes(K: Any) -> dict[str, type]:
    class BadSuffix(K.layers.Layer):
        def build(self, a: Any, b: Any) -> None:
            pass

        def call(self, a: Any, b: Any) -> Any:
            return a

    class BadName(K.layers.Layer):
        def build(self, a_shape: Any, z_shape: Any) -> None:
            pass

        def call(self, a: Any, b: Any) -> Any:
            return a

    class Missing(K.layers.Layer):
        def build(self, a_shape: Any, b_shape: Any) -> None:
            pass

        def call(self, a: Any, b: Any = None) -> Any:
            return a

    return {"BadSuffix": BadSuffix, "BadName": BadName, "Missing": Missing}


BAD = [("BadSuffix", (A, B), ValueError, "does not end in `_shape`"),
       ("BadName", (A, B), ValueError, "does not have argument `z`"),
       ("Missing", (A,), TypeError, "b_shape")]


@pytest.mark.parametrize("mode", ["eager", "symbolic"])
@pytest.mark.parametrize("name,args,error,match", BAD)
def test_unmatched_build_signature_raises_as_keras(K: Any, name: str, args: tuple,
                                                   error: type, match: str,
                                                   mode: str) -> None:
    for lib in (K, rnnlens):
        layer = bad_classes(lib)[name]()
        call_args = args if mode == "eager" else _symbolic(lib, args, {})[1]
        with pytest.raises(error, match=match):
            layer(*call_args)
        assert not layer.built


def test_mixed_nested_argument_is_a_value_error(K: Any, libs: dict) -> None:
    for lib in ("keras", "rnnlens"):
        with pytest.raises(ValueError):
            libs[lib][0]["NestedPair"]()([A, 2.0], B)


def test_call_arguments_that_do_not_bind_are_a_type_error() -> None:
    classes, _ = define(rnnlens)
    with pytest.raises(TypeError, match="call\\(\\) does not take"):
        classes["Pair"]()(A, B, B)
    with pytest.raises(TypeError, match="call\\(\\) does not take"):
        classes["Pair"]()(A, c=B)


def test_builtin_layers_keep_their_own_build() -> None:
    """A subclass that keeps rnnlens's ``call`` / ``build`` (here MultiHeadAttention,
    whose ``build(query_shape, value_shape, key_shape)`` rnnlens feeds itself) and a
    built-in layer given two positional tensors (a TypeError, as in Keras)."""

    class MyMHA(rnnlens.layers.MultiHeadAttention):
        pass

    q, v = SEQ, RNG.normal(size=(2, 4, 3)).astype("float32")
    mine, plain = MyMHA(2, 4), rnnlens.layers.MultiHeadAttention(2, 4)
    plain(q, v)
    mine(q, v)
    mine.set_weights(plain.get_weights())
    np.testing.assert_array_equal(mine(q, v), plain(q, v))
    with pytest.raises(TypeError, match="takes one input"):
        rnnlens.layers.Dense(2)(A, B)


# ---------------------------------------------------------------------------- files
def file_model(lib: Any, classes: dict) -> Any:
    ia, ib = lib.Input((3,), name="a"), lib.Input((4,), name="b")
    iseq, im = lib.Input((5, 3), name="seq"), lib.Input((5,), dtype="bool", name="m")
    outs = [classes["Pair"](name="pair")(ia, ib),
            classes["Pair"](name="pair_kw")(ia, b=ib),
            classes["FirstOnly"](name="first")(ia, ib),
            classes["ListIn"](name="list")([ia, ib]),
            classes["KwPair"](name="kw")(ia, y=ib),
            classes["KwPair"](name="kw_absent")(ia),
            classes["MaskArg"](name="masked")(iseq, im),
            classes["NoArgBuild"](name="noarg")(ia),
            classes["NestedPair"](name="nested")([ia, ib], ib)]
    return lib.Model([ia, ib, iseq, im], outs, name="shapes")


FILE_X = [A, B, SEQ, M]

#: Keras's build_config for each custom layer of ``file_model``.
EXPECTED_BUILD = {
    "pair": {"shapes_dict": {"a_shape": [None, 3], "b_shape": [None, 4]}},
    "pair_kw": {"shapes_dict": {"a_shape": [None, 3], "b_shape": [None, 4]}},
    "first": {"input_shape": [None, 3]},
    "list": {"input_shape": [[None, 3], [None, 4]]},
    "kw": {"shapes_dict": {"x_shape": [None, 3], "y_shape": [None, 4]}},
    "kw_absent": {"input_shape": [None, 3]},
    "masked": {"input_shape": [None, 5, 3]},
    "noarg": {"shapes_dict": {}},
    "nested": {"shapes_dict": {"pair_shape": [[None, 3], [None, 4]], "c_shape": [None, 4]}},
}


def _entries(path: Any) -> dict[str, dict]:
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {e["name"]: e for e in config["config"]["layers"]}


def _predictions(model: Any) -> list:
    return [np.asarray(o) for o in model.predict(FILE_X, verbose=0)]


def test_keras_file_loads_in_rnnlens(K: Any, libs: dict, parity: Any,
                                     tmp_path: Any) -> None:
    km = file_model(K, libs["keras"][0])
    km.save(tmp_path / "k.keras")
    entries = _entries(tmp_path / "k.keras")
    assert {n: entries[n]["build_config"] for n in EXPECTED_BUILD} == EXPECTED_BUILD
    rm = rnnlens.saving.load_model(tmp_path / "k.keras")
    assert type(rm.get_layer("nested")).__qualname__ == "define.<locals>.NestedPair"
    for r, k in zip(_predictions(rm), _predictions(km)):
        parity(r, k, name="keras file in rnnlens")
    rm.save(tmp_path / "again.keras")                    # and rnnlens writes it back alike
    again = _entries(tmp_path / "again.keras")
    assert {n: again[n]["build_config"] for n in EXPECTED_BUILD} == EXPECTED_BUILD


def test_rnnlens_file_loads_in_keras(K: Any, libs: dict, parity: Any,
                                     tmp_path: Any) -> None:
    km = file_model(K, libs["keras"][0])
    rm = file_model(rnnlens, libs["rnnlens"][0])
    rm.set_weights(km.get_weights())
    rm.save(tmp_path / "r.keras")
    km.save(tmp_path / "k.keras")
    mine, theirs = _entries(tmp_path / "r.keras"), _entries(tmp_path / "k.keras")
    for name in EXPECTED_BUILD:
        assert mine[name]["build_config"] == theirs[name]["build_config"], name
        assert mine[name]["registered_name"] == theirs[name]["registered_name"]
    loaded = K.models.load_model(tmp_path / "r.keras")
    for r, k in zip(_predictions(loaded), _predictions(rm)):
        parity(r, k, name="rnnlens file in keras")


# ---------------------------------------------------------------------------- properties
@settings(max_examples=20, deadline=None)
@given(a=st.integers(1, 5), b=st.integers(1, 5), batch=st.integers(1, 4),
       keyword=st.booleans())
def test_pair_shapes_and_values_property(a: int, b: int, batch: int, keyword: bool) -> None:
    """``build(a_shape, b_shape)`` gets both shapes for any sizes; the output is
    ``a @ w + b * v`` in float32 (float64 arguments are cast, as Keras converts)."""
    classes, seen = define(rnnlens)
    rng = np.random.default_rng(a * 100 + b * 10 + batch)
    x, y = rng.normal(size=(batch, a)), rng.normal(size=(batch, b))
    layer = classes["Pair"]()
    out = layer(x, b=y) if keyword else layer(x, y)
    assert seen[layer.name] == {"a_shape": (batch, a), "b_shape": (batch, b)}
    w, v = layer.get_weights()
    assert w.shape == (a, b) and v.shape == (b,) and out.dtype == np.float32
    expected = x.astype("float32") @ w + y.astype("float32") * v
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


NAMES = ["a_shape", "b_shape", "mask_shape", "input_shape", "a", "z_shape"]


def _signature_class(lib: Any, params: list[tuple[str, bool]], record: dict) -> type:
    """A layer whose ``build`` has the parameters ``params`` ((name, has default)) and
    whose ``call`` is ``call(a, b=None, mask=None)``."""
    params = sorted(params, key=lambda p: p[1])         # defaults last
    text = ", ".join(["self"] + [f"{n}=None" if d else n for n, d in params])
    scope: dict = {"record": record}
    exec(f"def build({text}):\n"                        # a real signature, as a user writes
         "    record['got'] = {k: v for k, v in locals().items() if k != 'self'}\n", scope)
    build = scope["build"]

    class Sig(lib.layers.Layer):
        def call(self, a: Any, b: Any = None, mask: Any = None) -> Any:
            return a if b is None else a + lib.ops.sum(b, axis=-1, keepdims=True)

    Sig.build = build
    return Sig


def _outcome(lib: Any, params: list, with_b: bool, with_mask: bool) -> Any:
    record: dict = {}
    layer = _signature_class(lib, params, record)()
    kwargs = {"mask": np.ones((2,), bool)} if with_mask else {}
    try:
        out = layer(A, B, **kwargs) if with_b else layer(A, **kwargs)
    except (ValueError, TypeError) as err:
        return type(err).__name__
    return record.get("got"), np.asarray(out).shape


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Layer 'sig")         # Keras: Sig does not support masking
@settings(max_examples=40, deadline=None)
@given(params=st.lists(st.tuples(st.sampled_from(NAMES), st.booleans()), max_size=3,
                       unique_by=lambda p: p[0]),
       with_b=st.booleans(), with_mask=st.booleans())
def test_any_build_signature_behaves_as_keras(K: Any, params: list, with_b: bool,
                                              with_mask: bool) -> None:
    """Random ``build`` signatures against ``call(a, b=None, mask=None)``: rnnlens
    passes the same shapes as Keras, or raises the same error type (ValueError for a
    name Keras cannot match, TypeError for a required shape the call did not give)."""
    assert _outcome(rnnlens, params, with_b, with_mask) == \
        _outcome(K, params, with_b, with_mask)


# ---------------------------------------------------------------------------- keyword calls
#: Calls by keywords only (Keras binds them to call(); its first argument is the input).
KEYWORD_CASES = {
    "pair_keywords": ("Pair", {"a": A, "b": B}),
    "pair_keywords_reversed": ("Pair", {"b": B, "a": A}),
    "first_only_keywords": ("FirstOnly", {"b": B, "a": A}),
    "optional_keywords": ("KwPair", {"y": B, "x": A}),
    "optional_absent_keyword": ("KwPair", {"x": A}),
    "nested_keywords": ("NestedPair", {"c": B, "pair": [A, B]}),
}


@pytest.mark.parametrize("mode", ["eager", "symbolic"])
@pytest.mark.parametrize("case", list(KEYWORD_CASES))
def test_keyword_only_calls_match_keras(K: Any, libs: dict, parity: Any, case: str,
                                        mode: str) -> None:
    name, kwargs = KEYWORD_CASES[case]
    (kc, kseen), (rc, rseen) = libs["keras"], libs["rnnlens"]
    kl, kout = _run(K, kc[name], (), kwargs, mode)
    rl, rout = _run(rnnlens, rc[name], (), kwargs, mode, kl.get_weights())
    assert rseen[rl.name] == kseen[kl.name]
    parity(rout, kout, name=f"{case} {mode}")
    if mode == "symbolic":                              # layer.input: Keras's flattening order
        assert [t.shape for t in rl._inbound_nodes[0].input_tensors] == \
            [tuple(t.shape) for t in kl._inbound_nodes[0].input_tensors]


def keyword_model(lib: Any, classes: dict) -> Any:
    inp = lib.Input((3,), name="x")
    h = lib.layers.Dense(3, activation="tanh", name="h")(inp)
    g = lib.layers.Dense(4, activation="tanh", name="g")(inp)
    z = classes["Pair"](name="pair_keywords")(b=g, a=h)
    z = classes["NestedPair"](name="nested_keywords")(c=g, pair=[h, z])
    z = classes["KwPair"](name="kw_keywords")(x=z, y=g)
    return lib.Model(inp, lib.layers.Dense(2, name="out")(z))


def test_keyword_call_gradients_match_tensorflow(K: Any, tf: Any, libs: dict) -> None:
    km, rm = keyword_model(K, libs["keras"][0]), keyword_model(rnnlens, libs["rnnlens"][0])
    assert_gradients_match(K, tf, km, rm, 11)


KEYWORD_LAYERS = ("pair_keywords", "nested_keywords", "kw_keywords")


def test_keyword_call_files_round_trip_both_ways(K: Any, libs: dict, parity: Any,
                                                 tmp_path: Any) -> None:
    """The node is Keras's ``{"args": [], "kwargs": {...}}`` (keywords in the order
    given), build_config alike; each library loads the other's file."""
    km = keyword_model(K, libs["keras"][0])
    rm = keyword_model(rnnlens, libs["rnnlens"][0])
    rm.set_weights(km.get_weights())
    km.save(tmp_path / "k.keras")
    rm.save(tmp_path / "r.keras")
    theirs, mine = _entries(tmp_path / "k.keras"), _entries(tmp_path / "r.keras")
    for name in KEYWORD_LAYERS:
        assert theirs[name]["inbound_nodes"][0]["args"] == []
        for key in ("inbound_nodes", "build_config"):
            assert mine[name][key] == theirs[name][key], (name, key)
    assert list(mine["pair_keywords"]["inbound_nodes"][0]["kwargs"]) == ["b", "a"]
    x = RNG.normal(size=(5, 3)).astype("float32")
    expected = km.predict(x, verbose=0)
    in_rnnlens = rnnlens.saving.load_model(tmp_path / "k.keras")
    parity(in_rnnlens.predict(x, verbose=0), expected, name="keras keyword file in rnnlens")
    in_keras = K.models.load_model(tmp_path / "r.keras")
    parity(np.asarray(in_keras.predict(x, verbose=0)), expected,
           name="rnnlens keyword file in keras")
    in_rnnlens.save(tmp_path / "again.keras")            # the node survives a round trip
    again = _entries(tmp_path / "again.keras")
    for name in KEYWORD_LAYERS:
        assert again[name]["inbound_nodes"] == theirs[name]["inbound_nodes"], name


def test_keyword_call_without_the_first_argument_is_a_type_error() -> None:
    classes, _ = define(rnnlens)
    with pytest.raises(TypeError, match="`a=`"):
        classes["Pair"]()(b=B)
    with pytest.raises(TypeError, match="must be a tensor"):
        classes["Pair"]()(a="text", b=B)


# ---------------------------------------------------------------------------- training
def training_class(lib: Any) -> type:
    class Train(lib.layers.Layer):
        def build(self, input_shape: Any) -> None:
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs: Any, training: Any = None) -> Any:
            return inputs * self.w * (2.0 if training else 1.0)

    return Train


#: Values passed in the ``training`` slot by position.
POSITIONAL_TRAINING = {"true": True, "false": False, "one": 1, "text": "yes",
                       "array": np.array(True), "numpy_bool": np.True_, "none": None}


@pytest.mark.parametrize("mode", ["eager", "symbolic"])
@pytest.mark.parametrize("value", list(POSITIONAL_TRAINING))
def test_positional_training_as_keras(K: Any, parity: Any, value: str, mode: str) -> None:
    """``layer(x, True)``: Keras's ValueError (only tensors by position); a tensor in the
    ``training`` slot: Keras's TypeError (multiple values); ``None``: the plain call."""
    outcomes = []
    for lib in (K, rnnlens):
        layer = training_class(lib)()
        given = POSITIONAL_TRAINING[value]
        if mode == "symbolic" and given is not None and not isinstance(given, (bool, int, str)):
            given = lib.Input((), dtype="bool")
        x = A if mode == "eager" else lib.Input((3,))
        try:
            out = layer(x, given)
        except (ValueError, TypeError) as err:
            outcomes.append((type(err).__name__, "training" in str(err) or "keyword" in
                             str(err)))
            continue
        outcomes.append(np.asarray(out) if mode == "eager" else tuple(out.shape))
    if isinstance(outcomes[0], np.ndarray):
        parity(outcomes[1], outcomes[0], name=f"training={value}")
    else:
        assert outcomes[1] == outcomes[0]
        assert outcomes[1] == (("ValueError", True) if value in ("true", "false", "one", "text")
                               else ("TypeError", True) if value != "none" else (None, 3))


@settings(max_examples=20, deadline=None)
@given(order=st.permutations(["a", "b"]), batch=st.integers(1, 4),
       sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)))
def test_keyword_order_does_not_change_the_call_property(order: list, batch: int,
                                                         sizes: tuple) -> None:
    """``layer(**keywords)`` in any order is ``layer(a, b)``: the same build shapes and
    the same float32 numbers; a graph node keeps the keywords in the order given."""
    classes, seen = define(rnnlens)
    rng = np.random.default_rng(batch * 10 + sizes[0])
    values = {"a": rng.normal(size=(batch, sizes[0])), "b": rng.normal(size=(batch, sizes[1]))}
    layer = classes["Pair"]()
    out = layer(**{k: values[k] for k in order})
    assert seen[layer.name] == {"a_shape": (batch, sizes[0]), "b_shape": (batch, sizes[1])}
    np.testing.assert_array_equal(out, layer(values["a"], values["b"]))
    inputs = {k: rnnlens.Input((values[k].shape[1],)) for k in order}
    layer(**inputs)
    node = layer._inbound_nodes[-1]
    assert node.keras_call == ((), inputs) and list(node.keras_call[1]) == order
    assert node.input_tensors == [inputs["a"], inputs["b"]]
