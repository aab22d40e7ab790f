"""Merging layers against live Keras 3.15.1 (TensorFlow backend): Add, Subtract, Multiply,
Average, Maximum, Minimum, Concatenate, Dot and the functional forms add(...), ..., dot(...).

* values: eager calls on arrays (equal shapes, size-1 axes broadcast, an input of lower
  rank, one input, three inputs, integer ties), ``Dot`` over every form of ``axes`` on
  2-D, 3-D and 4-D inputs with and without ``normalize`` (zero vectors included), and
  inside functional models;
* masks: inputs from ``Masking`` and ``Embedding(mask_zero=True)``, one or every input
  masked, eager (values and the output's ``_keras_mask``) and in models where the merge
  feeds an LSTM;
* gradients: ``rnnlens.training.gradients`` against ``tf.GradientTape`` on the weights,
  and ``Model.backward`` against the tape on the inputs (masks, ties of Maximum / Minimum);
  a short ``fit`` against Keras's;
* ``get_config()`` equal to Keras's (key order and tuples too), ``from_config`` both ways;
* files: ``.keras`` and legacy ``.h5`` written by Keras load in rnnlens and predict the
  same; rnnlens's ``.keras`` loads in Keras;
* ``summary()`` text equal to Keras's ("Connected to" column);
* hypothesis: merges against NumPy on random shapes, gradient invariants, and fuzz of bad
  arguments and inputs (only a ValueError / TypeError raised by rnnlens).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from merge_reshape_parity import (assert_raised_by_rnnlens, build_pair, check_weight_grads,
                                  files_both_ways, floats, ids, leaves, load_keras, np_mask,
                                  our_input_grads, padded, plain_config, summary_text,
                                  tape_input_grads)
from oracle import assert_close
from rnnlens import layers as RL

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
MASK_MERGES = ELEMENTWISE + ["Concatenate"]


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


# ---------------------------------------------------------------------------- eager values
SHAPES = {
    "same": [(4, 3), (4, 3)],
    "seq3": [(4, 5, 3), (4, 5, 3), (4, 5, 3)],
    "broadcast": [(4, 1, 3), (4, 5, 1)],
    "lower_rank": [(4, 3), (4, 5, 3)],
    "lower_rank_first_last": [(4, 5, 3), (4, 3)],
    "one_input": [(4, 3)],
    "ties": "ties",
}


def _inputs(case: str, seed: int) -> list[np.ndarray]:
    if case == "ties":                      # small integers: many exact ties
        rng = np.random.default_rng(seed)
        return [rng.integers(-2, 3, (4, 5, 3)).astype(np.float32) for _ in range(3)]
    return [floats(s, seed + k) for k, s in enumerate(SHAPES[case])]


@pytest.mark.parametrize("case", list(SHAPES))
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_eager_values(K: Any, parity: Any, name: str, case: str) -> None:
    xs = _inputs(case, 1)
    if name == "Subtract":                          # exactly two inputs
        xs = (xs * 2)[:2]
    ours = getattr(RL, name)()(xs)
    theirs = getattr(K.layers, name)()(xs)
    parity(ours, np.asarray(theirs), name=f"{name} {case}")
    assert ours.dtype == np.float32
    shapes = [(None, *x.shape[1:]) for x in xs]
    assert getattr(RL, name)().compute_output_shape(shapes) == \
        tuple(getattr(K.layers, name)().compute_output_shape(shapes))


def test_concatenate_eager_values(K: Any, parity: Any) -> None:
    xs = [floats((3, 5, 2), 1), floats((3, 5, 4), 2)]
    parity(RL.Concatenate()(xs), np.asarray(K.layers.Concatenate()(xs)), name="axis -1")
    ys = [floats((3, 2, 4), 3), floats((3, 5, 4), 4)]
    parity(RL.Concatenate(axis=1)(ys), np.asarray(K.layers.Concatenate(axis=1)(ys)),
           name="axis 1")


DOT_CASES = [
    (1, (3, 4), (3, 4)), (-1, (3, 4), (3, 4)), (-5, (3, 4), (3, 4)),
    ([1, 1], (3, 4), (3, 4)), ((1, 2), (3, 4, 5), (3, 6, 4)), ((2, 1), (3, 4, 5), (3, 5)),
    ((1, 2), (3, 5), (3, 4, 5)), (-1, (3, 5), (3, 4, 5)), (2, (3, 4, 5), (3, 4, 5)),
    (1, (3, 4, 5), (3, 4, 6)), ((-1, -2), (3, 4, 5), (3, 5, 2)),
    ((3, 1), (2, 3, 4, 5), (2, 5, 6)), ((3, 2), (2, 3, 4, 5), (2, 6, 5, 7)),
]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("axes,s1,s2", DOT_CASES, ids=[str(c) for c in DOT_CASES])
def test_dot_values(K: Any, parity: Any, axes: Any, s1: tuple, s2: tuple,
                    normalize: bool) -> None:
    x1, x2 = floats(s1, 5), floats(s2, 6)
    x1[0] = 0.0                                      # a zero sample: normalize's epsilon
    ours = RL.Dot(axes, normalize=normalize)([x1, x2])
    theirs = K.layers.Dot(axes, normalize=normalize)([x1, x2])
    parity(ours, np.asarray(theirs), name=f"Dot{axes} {s1} {s2}")
    shapes = [(None, *s1[1:]), (None, *s2[1:])]
    assert RL.Dot(axes).compute_output_shape(shapes) == \
        tuple(K.layers.Dot(axes).compute_output_shape(shapes))


@pytest.mark.parametrize("fn", ["add", "subtract", "multiply", "average", "maximum", "minimum",
                                "concatenate", "dot"])
def test_functional_forms(K: Any, parity: Any, fn: str) -> None:
    """``keras.layers.add(inputs, **kwargs)`` builds the layer and calls it."""
    xs = [floats((3, 4), 7), floats((3, 4), 8)]
    kwargs = {"axes": 1, "normalize": True} if fn == "dot" else {}
    parity(getattr(RL, fn)(xs, **kwargs), np.asarray(getattr(K.layers, fn)(xs, **kwargs)),
           name=fn)
    a, b = rnnlens.Input((4,)), rnnlens.Input((4,))
    out = getattr(RL, fn)([a, b], name=f"my_{fn}", **kwargs)
    ka, kb = K.Input((4,)), K.Input((4,))
    k_out = getattr(K.layers, fn)([ka, kb], name=f"my_{fn}", **kwargs)
    assert type(out.layer).__name__ == type(k_out._keras_history[0]).__name__
    assert out.layer.name == f"my_{fn}" and out.shape == tuple(k_out.shape)
    if fn == "concatenate":
        parity(RL.concatenate(xs, axis=0), np.asarray(K.layers.concatenate(xs, axis=0)),
               name="concatenate axis 0")


# ---------------------------------------------------------------------------- masks
def _masked_pair(lib: Any, both: bool) -> tuple[list, np.ndarray, np.ndarray]:
    x, y = padded((4, 5, 3), 11), padded((4, 5, 3), 12)
    y[:] = y[::-1]                                   # other rows are padded in y
    y[0, 4] = 0.0
    mx = lib.layers.Masking()(x)
    my = lib.layers.Masking()(y) if both else y
    return [mx, my], x, y


@pytest.mark.parametrize("both", [True, False], ids=["all_masked", "one_masked"])
@pytest.mark.parametrize("name", MASK_MERGES)
def test_eager_masks(K: Any, parity: Any, name: str, both: bool) -> None:
    """Values (Multiply / Maximum / Minimum read the masks) and the output mask."""
    k_in, _, _ = _masked_pair(K, both)
    r_in, _, _ = _masked_pair(rnnlens, both)
    ko, ro = getattr(K.layers, name)()(k_in), getattr(RL, name)()(r_in)
    parity(ro, np.asarray(ko), name=f"{name} masked values")
    k_mask, r_mask = np_mask(ko), np_mask(ro)
    assert (k_mask is None) == (r_mask is None), f"{name}: mask {r_mask} vs Keras {k_mask}"
    if k_mask is not None:
        np.testing.assert_array_equal(r_mask, k_mask)


def _two_masked(merge: str, both: bool, kwargs: dict | None = None) -> Callable[[Any], Any]:
    def build(lib: Any) -> Any:
        x, y = lib.Input((6, 3)), lib.Input((6, 2))
        a = lib.layers.Dense(4)(lib.layers.Masking()(x))
        b = lib.layers.Dense(4)(lib.layers.Masking()(y) if both else y)
        m = getattr(lib.layers, merge)(**(kwargs or {}))([a, b])
        return lib.Model([x, y], lib.layers.LSTM(3)(m))
    return build


def _two_masked_data(n: int = 6) -> list[np.ndarray]:
    x, y = padded((n, 6, 3), 21), padded((n, 6, 2), 22)
    y[:] = y[::-1]
    y[1, 5] = 0.0
    return [x, y]


def _embeddings(merge: str) -> Callable[[Any], Any]:
    def build(lib: Any) -> Any:
        a, b = lib.Input((6,), dtype="int32"), lib.Input((6,), dtype="int32")
        ea = lib.layers.Embedding(9, 4, mask_zero=True)(a)
        eb = lib.layers.Embedding(7, 4, mask_zero=True)(b)
        m = getattr(lib.layers, merge)()([ea, eb])
        s = lib.layers.LSTM(3, return_sequences=True)(m)
        return lib.Model([a, b], [s, lib.layers.GRU(2)(s)])
    return build


def _embedding_data(n: int = 6) -> list[np.ndarray]:
    a, b = ids((n, 6), 9, 31), ids((n, 6), 7, 32)
    return [a, b[::-1].copy()]


def _lower_rank(lib: Any) -> Any:
    a, b = lib.Input((4,)), lib.Input((6, 4))
    m = lib.layers.Add()([lib.layers.Dense(4)(a), lib.layers.Masking()(b)])
    return lib.Model([a, b], lib.layers.LSTM(2)(m))


def _attention(normalize: bool) -> Callable[[Any], Any]:
    def build(lib: Any) -> Any:
        x, y = lib.Input((5, 3)), lib.Input((6, 3))
        q = lib.layers.LSTM(4, return_sequences=True)(x)
        k = lib.layers.GRU(4, return_sequences=True)(y)
        scores = lib.layers.Dot(axes=(2, 2), normalize=normalize)([q, k])     # (B, 5, 6)
        ctx = lib.layers.Dot(axes=(2, 1))([scores, lib.layers.Dense(3)(k)])    # (B, 5, 3)
        return lib.Model([x, y], lib.layers.Dense(2)(lib.layers.Flatten()(ctx)))
    return build


def _attention_data(n: int = 6) -> list[np.ndarray]:
    return [floats((n, 5, 3), 41), floats((n, 6, 3), 42)]


MODELS: dict[str, tuple[Callable[[Any], Any], Callable[[], list]]] = {
    **{f"{m}_all_masked": (_two_masked(m, True), _two_masked_data) for m in MASK_MERGES},
    **{f"{m}_one_masked": (_two_masked(m, False), _two_masked_data)
       for m in ("Add", "Multiply", "Maximum", "Minimum")},
    "Concatenate_time_axis": (_two_masked("Concatenate", True, {"axis": 1}), _two_masked_data),
    **{f"embedding_{m}": (_embeddings(m), _embedding_data)
       for m in ("Add", "Multiply", "Maximum", "Average")},
    "lower_rank_add": (_lower_rank, lambda: [floats((6, 4), 51), padded((6, 6, 4), 52)]),
    "attention_dot": (_attention(False), _attention_data),
    "attention_dot_normalize": (_attention(True), _attention_data),
}


@pytest.mark.parametrize("case", list(MODELS))
def test_models_predict(K: Any, parity: Any, case: str) -> None:
    """Masks through merges into recurrent layers, as Keras; predict splits the batch."""
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=3)
    xs = make()
    expected = leaves(km.predict(xs, batch_size=3, verbose=0))
    parity(leaves(rm.predict(xs, batch_size=3)), expected, name=f"{case} predict")
    parity(leaves(rm(xs)), leaves(km(xs)), name=f"{case} model(x)")


GRAD_MODELS = ["Add_all_masked", "Subtract_all_masked", "Multiply_all_masked",
               "Multiply_one_masked", "Average_all_masked", "Maximum_all_masked",
               "Maximum_one_masked", "Minimum_all_masked", "Concatenate_time_axis",
               "embedding_Multiply", "lower_rank_add", "attention_dot",
               "attention_dot_normalize"]


@pytest.mark.parametrize("case", GRAD_MODELS)
def test_weight_gradients(K: Any, parity: Any, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=4)
    xs = make()
    if case.startswith("embedding"):             # one output for the gradient check
        km = K.Model(km.inputs, km.outputs[1])
        rm = rnnlens.Model(rm.inputs, rm.outputs[1])
    check_weight_grads(K, parity, km, rm, xs, case)


def _input_model(lib: Any, name: str, n: int, masks: tuple) -> Any:
    ins = [lib.Input((5, 3)) for _ in range(n)]
    xs = [lib.layers.Masking()(x) if m else x for x, m in zip(ins, masks)]
    return lib.Model(ins, getattr(lib.layers, name)()(xs))


@pytest.mark.parametrize("masks", [(False, False, False), (True, True, True),
                                   (True, False, True), (False, True, False)])
@pytest.mark.parametrize("name", ELEMENTWISE + ["Concatenate"])
def test_input_gradients_masks_and_ties(K: Any, parity: Any, name: str, masks: tuple) -> None:
    """Model.backward on the inputs against the tape: TF's tie rule (first input wins for
    Maximum / Minimum), masked entries, Masking's own gradient."""
    n = 2 if name == "Subtract" else 3
    rng = np.random.default_rng(len(name))
    xs = [rng.integers(-2, 3, (4, 5, 3)).astype(np.float32) for _ in range(n)]
    for k, x in enumerate(xs):
        x[k % 4, k + 1] = 0.0                       # a padded step per input
    K.backend.clear_session()
    km = _input_model(K, name, n, masks[:n])
    rm = _input_model(rnnlens, name, n, masks[:n])
    parity(rm.predict(xs), np.asarray(km(xs)), name=f"{name} {masks} values")
    d_out = floats(np.shape(km(xs)), 61)
    expected = tape_input_grads(km, xs, d_out)
    ours = our_input_grads(rm, xs, d_out)
    for k, (a, e) in enumerate(zip(ours, expected)):
        parity(a, e, name=f"{name} {masks} d input {k}")


def test_fit_history(K: Any, parity: Any) -> None:
    """Three epochs of SGD through Add, Multiply, Maximum and Dot: losses and weights."""
    def build(lib: Any) -> Any:
        a, b = lib.Input((4,)), lib.Input((4,))
        ha, hb = lib.layers.Dense(5, activation="tanh")(a), lib.layers.Dense(5)(b)
        s = lib.layers.Add()([ha, hb])
        p = lib.layers.Multiply()([ha, s])
        m = lib.layers.Maximum()([p, hb])
        d = lib.layers.Dot(axes=1, normalize=True)([m, s])
        return lib.Model([a, b], lib.layers.Dense(1)(lib.layers.Concatenate()([m, d])))

    km, rm = build_pair(K, build, seed=5)
    xs, y = [floats((12, 4), 71), floats((12, 4), 72)], floats((12, 1), 73)
    for model, lib in ((km, K), (rm, rnnlens)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    k_hist = km.fit(xs, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    r_hist = rm.fit(xs, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    parity(np.asarray(r_hist["loss"]), np.asarray(k_hist["loss"]), name="fit loss")
    parity(rm.get_weights(), km.get_weights(), name="weights after fit")


# ---------------------------------------------------------------------------- configs
CONFIGS = [("Add", {}), ("Subtract", {}), ("Multiply", {}), ("Average", {}),
           ("Maximum", {}), ("Minimum", {}), ("Concatenate", {}), ("Concatenate", {"axis": 1}),
           ("Dot", {"axes": 1}), ("Dot", {"axes": (1, 2)}), ("Dot", {"axes": [2, 1]}),
           ("Dot", {"axes": -1, "normalize": True}),
           ("Add", {"name": "plus", "trainable": False})]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[f"{c}{k}" for c, k in CONFIGS])
def test_get_config(K: Any, cls: str, kwargs: dict) -> None:
    K.backend.clear_session()
    rnnlens.utils.clear_session()
    theirs = getattr(K.layers, cls)(**kwargs).get_config()
    ours = getattr(RL, cls)(**kwargs).get_config()
    assert ours == theirs
    assert list(ours) == list(theirs)
    again = getattr(RL, cls).from_config(ours)
    assert again.get_config() == theirs
    assert getattr(K.layers, cls).from_config(ours).get_config() == theirs
    assert plain_config(RL.deserialize(RL.serialize(again)).get_config()) == \
        plain_config(theirs)


# ---------------------------------------------------------------------------- files
def _dense_merge(name: str, n: int = 2, **kwargs: Any) -> Callable[[Any], Any]:
    def build(lib: Any) -> Any:
        ins = [lib.Input((4,), name=f"in_{k}") for k in range(n)]
        hs = [lib.layers.Dense(3, name=f"d_{k}")(x) for k, x in enumerate(ins)]
        m = getattr(lib.layers, name)(name="merge", **kwargs)(hs)
        return lib.Model(ins, lib.layers.Dense(2, name="out")(m), name="merged")
    return build


DENSE_MODELS = {**{m: _dense_merge(m) for m in ELEMENTWISE},
                "Add3": _dense_merge("Add", 3), "Maximum3": _dense_merge("Maximum", 3),
                "Concatenate": _dense_merge("Concatenate"),
                "Dot": _dense_merge("Dot", axes=1),
                "Dot_normalize": _dense_merge("Dot", axes=-1, normalize=True)}


@pytest.mark.parametrize("case", list(DENSE_MODELS))
def test_dense_merge_models(K: Any, parity: Any, case: str) -> None:
    km, rm = build_pair(K, DENSE_MODELS[case], seed=6)
    n = len(km.inputs)
    xs = [floats((5, 4), 80 + k) for k in range(n)]
    parity(rm.predict(xs), np.asarray(km(xs)), name=f"{case} predict")
    check_weight_grads(K, parity, km, rm, xs, case)


@pytest.mark.parametrize("case", ["Add", "Subtract", "Multiply", "Average", "Minimum",
                                  "Maximum3", "Dot", "Dot_normalize"])
def test_summary_equals_keras(K: Any, case: str) -> None:
    km, rm = build_pair(K, DENSE_MODELS[case])
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"


FILE_CASES = [("Add", "dense"), ("Subtract", "dense"), ("Average", "dense"),
              ("Minimum", "dense"), ("Maximum3", "dense"), ("Dot_normalize", "dense"),
              ("Multiply_all_masked", "model"), ("Maximum_one_masked", "model"),
              ("Concatenate_time_axis", "model"), ("embedding_Add", "model"),
              ("lower_rank_add", "model"), ("attention_dot", "model")]


@pytest.mark.parametrize("case,kind", FILE_CASES, ids=[c for c, _ in FILE_CASES])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, case: str, kind: str) -> None:
    if kind == "dense":
        build = DENSE_MODELS[case]
        km, rm = build_pair(K, build, seed=7)
        xs = [floats((4, 4), 90 + k) for k in range(len(km.inputs))]
    else:
        build, make = MODELS[case]
        km, rm = build_pair(K, build, seed=7)
        xs = make()
    files_both_ways(K, parity, km, rm, xs, tmp_path, case)


# ---------------------------------------------------------------------------- errors
def _bad_calls(lib: Any) -> dict[str, Callable[[], Any]]:
    a, b3 = np.ones((2, 3), np.float32), np.ones((2, 4, 3), np.float32)
    L = lib.layers
    return {
        "not a list": lambda: L.Add()(a),
        "subtract three": lambda: L.Subtract()([a, a, a]),
        "subtract one": lambda: L.Subtract()([a]),
        "incompatible": lambda: L.Add()([a, np.ones((2, 4), np.float32)]),
        "batch sizes": lambda: L.Multiply()([a, np.ones((3, 3), np.float32)]),
        "batch 1 vs 2": lambda: L.Maximum()([np.ones((1, 3), np.float32), a]),
        "dot three": lambda: L.Dot(1)([a, a, a]),
        "dot sizes": lambda: L.Dot(1)([a, np.ones((2, 4), np.float32)]),
        "dot axis 0": lambda: L.Dot(0)([a, a]),
        "dot axes length": lambda: L.Dot((1, 2, 3)),
        "dot axes floats": lambda: L.Dot((1.0, 2)),
        "dot axes type": lambda: L.Dot("x"),
        "dot axes float": lambda: L.Dot(1.5),
        "symbolic incompatible": lambda: L.Add()([lib.Input((3,)), lib.Input((4,))]),
        "symbolic dot": lambda: L.Dot(2)([lib.Input((3, 5)), lib.Input((4, 3))]),
        "concat ranks": lambda: L.Concatenate()([a, b3]),
    }


BAD_CALLS = ["not a list", "subtract three", "subtract one", "incompatible", "batch sizes",
             "batch 1 vs 2", "dot three", "dot sizes", "dot axis 0", "dot axes length",
             "dot axes floats", "dot axes type", "dot axes float", "symbolic incompatible",
             "symbolic dot", "concat ranks"]


@pytest.mark.parametrize("case", BAD_CALLS)
def test_errors_like_keras(K: Any, case: str) -> None:
    """Where Keras refuses, rnnlens refuses with the same exception type."""
    with pytest.raises((ValueError, TypeError)) as theirs:
        _bad_calls(K)[case]()
    with pytest.raises(theirs.type):
        _bad_calls(rnnlens)[case]()


def test_merge_out_of_range_dot_axes_is_a_clear_error() -> None:
    """Keras raises IndexError for these; rnnlens a ValueError naming the axes."""
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="axes=5"):
        RL.Dot(5)([a, a])
    with pytest.raises(ValueError, match="axes"):
        RL.Dot((1, -3))([a, a])
    with pytest.raises(ValueError, match="rank < 2"):
        RL.Dot(1)([np.ones(2, np.float32), np.ones(2, np.float32)])
    with pytest.raises(ValueError, match="scalars"):
        RL.Add()([np.float32(1), np.float32(2)])
    with pytest.raises(ValueError, match="list"):
        RL.Add()([])


# ---------------------------------------------------------------------------- properties
shapes_k = st.integers(1, 4).flatmap(lambda k: st.tuples(
    st.lists(st.integers(1, 3), min_size=1, max_size=3), st.just(k),
    st.integers(0, 2**31 - 1)))


def _broadcast_inputs(dims: list, k: int, seed: int) -> list[np.ndarray]:
    """k inputs whose dims broadcast to (2, *dims): some axes set to 1, some dropped."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        shape = [d if rng.random() < 0.7 else 1 for d in dims]
        shape = shape[int(rng.integers(0, len(shape) + 1)):]     # lower rank
        out.append(rng.normal(size=(2, *shape)).astype(np.float32))
    return out


@settings(max_examples=60, deadline=None)
@given(shapes_k)
def test_property_merges_equal_numpy(spec: tuple) -> None:
    """Add of k inputs is their sum, Average their mean, Multiply the product, Maximum /
    Minimum the max / min, all with batch-aligned, right-aligned broadcasting."""
    dims, k, seed = spec
    xs = _broadcast_inputs(dims, k, seed)
    rank = max(x.ndim for x in xs)
    full = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
    stacked = np.stack(np.broadcast_arrays(*full)).astype(np.float64)
    expect = {"Add": stacked.sum(0), "Average": stacked.mean(0), "Multiply": stacked.prod(0),
              "Maximum": stacked.max(0), "Minimum": stacked.min(0)}
    for name, value in expect.items():
        out = getattr(RL, name)()(xs)
        assert_close(out, value, atol=1e-5, name=name)
    layer = RL.Add()
    _, cache = layer.forward(xs)
    d_out = np.ones(stacked.shape[1:], np.float32)
    grads, _, _ = layer.backward(cache, d_out)
    for x, g in zip(xs, grads):          # each entry of x was used size(out) / size(x) times
        assert g.shape == x.shape
        np.testing.assert_allclose(g, np.full(x.shape, d_out.size / x.size), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 4), st.integers(0, 2**31 - 1), st.booleans())
def test_property_select_gradient_goes_to_one_input(k: int, seed: int, use_max: bool) -> None:
    """Maximum / Minimum send each output's gradient to exactly one input (the first of
    tied ones), whose value equals the output there."""
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-2, 3, (3, 4)).astype(np.float32) for _ in range(k)]
    layer = RL.Maximum() if use_max else RL.Minimum()
    out, cache = layer.forward(xs)
    grads, _, _ = layer.backward(cache, np.ones_like(out))
    np.testing.assert_array_equal(sum(grads), np.ones_like(out))
    winner = np.argmax(np.stack(grads), axis=0)
    np.testing.assert_array_equal(np.take_along_axis(np.stack(xs), winner[None], 0)[0], out)
    first = np.argmax(np.stack(xs) == out, axis=0)
    np.testing.assert_array_equal(winner, first)


dot_spec = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**31 - 1))


@settings(max_examples=60, deadline=None)
@given(dot_spec, st.booleans())
def test_property_dot_equals_einsum(spec: tuple, normalize: bool) -> None:
    """Dot over random ranks and axes equals the per-sample tensordot."""
    r1, r2, seed = spec
    rng = np.random.default_rng(seed)
    kdim = int(rng.integers(1, 4))
    s1 = [int(rng.integers(1, 4)) for _ in range(r1)]
    s2 = [int(rng.integers(1, 4)) for _ in range(r2)]
    a1, a2 = int(rng.integers(0, r1)), int(rng.integers(0, r2))
    s1[a1] = s2[a2] = kdim
    x, y = rng.normal(size=(2, *s1)), rng.normal(size=(2, *s2))
    if normalize:
        x = x / np.linalg.norm(x, axis=a1 + 1, keepdims=True)
        y = y / np.linalg.norm(y, axis=a2 + 1, keepdims=True)
    out = RL.Dot((a1 + 1, a2 + 1), normalize=normalize)(
        [x.astype(np.float32), y.astype(np.float32)])
    expect = np.stack([np.tensordot(x[b], y[b], axes=(a1, a2)) for b in range(2)])
    expect = expect.reshape(2, -1) if expect.ndim == 1 else expect
    assert out.shape == expect.shape
    assert_close(out, expect, atol=1e-5, name="Dot vs tensordot")


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                  st.text(max_size=3), st.lists(st.integers(-3, 3), max_size=4),
                  st.tuples(st.floats(), st.integers()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ELEMENTWISE + ["Concatenate", "Dot"]), _JUNK,
       st.lists(st.one_of(st.lists(st.integers(0, 3), min_size=0, max_size=4),
                          st.sampled_from(["text", None, 1.5])), max_size=4))
def test_fuzz_bad_arguments_and_inputs(name: str, arg: Any, shapes: list) -> None:
    """Random constructor arguments and random input lists: a correct result or a
    ValueError / TypeError raised by rnnlens."""
    cls = getattr(RL, name)
    try:
        layer = cls(arg) if name in ("Dot", "Concatenate") else cls(name=str(arg))
    except (ValueError, TypeError):
        return
    xs = [np.ones(s, np.float32) if isinstance(s, list) else s for s in shapes]
    try:
        out = layer(xs)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    assert isinstance(out, np.ndarray) and np.all(np.isfinite(out))


def test_value_masks_must_fit() -> None:
    """A hand-made mask that does not fit its input: a clear ValueError."""
    xs = [np.ones((2, 3, 4), np.float32)] * 2
    with pytest.raises(ValueError, match="mask"):
        RL.Multiply()(xs, mask=[np.ones((2, 5), bool), np.ones((2, 3), bool)])
    with pytest.raises(ValueError, match="mask"):
        RL.Maximum()(xs, mask=[np.ones((2, 3), bool)])
    with pytest.raises(ValueError, match="mask"):
        RL.Add().compute_mask(xs, [np.ones((2, 3), bool), np.ones((2, 4), bool)])


# ---------------------------------------------------------------------------- finite differences
def _fd_grads(layer: Any, xs: list[np.ndarray], g: np.ndarray, mask: Any,
              eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of sum(layer(xs) * g) with respect to each input (float64)."""
    out = []
    for k, x in enumerate(xs):
        d = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            plus = [v.copy() for v in xs]
            minus = [v.copy() for v in xs]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            f_plus = np.sum(layer.forward(plus, mask=mask)[0] * g)
            f_minus = np.sum(layer.forward(minus, mask=mask)[0] * g)
            d[idx] = (f_plus - f_minus) / (2 * eps)
        out.append(d)
    return out


FD_CASES = [("Add", {}, [(2, 3, 2)] * 3, None), ("Subtract", {}, [(2, 1, 2), (2, 3, 2)], None),
            ("Average", {}, [(2, 2), (2, 3, 2)], None), ("Multiply", {}, [(2, 3, 2)] * 3, None),
            ("Multiply", {}, [(2, 3, 2)] * 2, "all"), ("Multiply", {}, [(2, 3, 2)] * 2, "one"),
            ("Maximum", {}, [(2, 3, 2)] * 3, "all"), ("Minimum", {}, [(2, 3, 2)] * 2, "one"),
            ("Concatenate", {"axis": 1}, [(2, 1, 2), (2, 3, 2)], None),
            ("Dot", {"axes": (2, 2)}, [(2, 3, 2), (2, 4, 2)], None),
            ("Dot", {"axes": (1, 2), "normalize": True}, [(2, 3, 4), (2, 2, 3)], None),
            ("Dot", {"axes": 1, "normalize": True}, [(2, 3), (2, 3)], None)]


@pytest.mark.parametrize("cls,kwargs,shapes,masks", FD_CASES,
                         ids=[f"{c}{k}{m}" for c, k, _, m in FD_CASES])
def test_backward_finite_differences(cls: str, kwargs: dict, shapes: list, masks: Any) -> None:
    """The hand-written backward passes against central differences in float64 (no Keras):
    broadcasting, masked entries, normalize."""
    rng = np.random.default_rng(len(cls) + len(shapes))
    xs = [rng.normal(size=s) for s in shapes]
    mask = None
    if masks is not None:
        mask = [rng.random(s[:-1]) < 0.6 for s in shapes]
        if masks == "one":
            mask[1] = None
    layer = getattr(RL, cls)(**kwargs)
    out, cache = layer.forward(xs, mask=mask)
    g = rng.normal(size=out.shape)
    ours, _, _ = layer.backward(cache, g)
    for k, (a, e) in enumerate(zip(ours, _fd_grads(layer, xs, g, mask))):
        assert_close(a, e, atol=1e-6, name=f"{cls} d input {k}")
