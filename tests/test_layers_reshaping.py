"""Reshaping layers (Flatten, Reshape, Permute, RepeatVector) and UnitNormalization against
live Keras 3.15.1 (TensorFlow backend).

* values: eager calls (ranks 1 to 4, both Flatten data formats, Reshape with -1, Permute of
  3-D and 4-D inputs, UnitNormalization over one or several axes with all-zero slices),
  ``compute_output_shape`` with unknown dimensions, and inside functional and Sequential
  models;
* masks: Flatten, Reshape and Permute drop a mask (Keras's layers do not support masking),
  UnitNormalization passes it on: eager (the output's ``_keras_mask``) and in models where
  the layer feeds an LSTM;
* gradients: ``rnnlens.training.gradients`` against ``tf.GradientTape`` on the weights, and
  ``Model.backward`` against the tape on the inputs (UnitNormalization's clipped zero
  slices included); a short ``fit`` against Keras's;
* ``get_config()`` equal to Keras's (tuples and lists as Keras keeps them), ``from_config``
  both ways; ``.keras`` / legacy ``.h5`` files both ways; ``summary()`` equal to Keras's;
* hypothesis: Reshape then the inverse Reshape is the identity, Permute then the inverse
  permutation is the identity, Flatten is a reshape, unit norms, backward passes are the
  inverse rearrangements; fuzz of bad arguments and inputs (only a ValueError / TypeError
  raised by rnnlens).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from merge_reshape_parity import (assert_raised_by_rnnlens, build_pair, check_rel,
                                  check_weight_grads, files_both_ways, floats, ids, leaves,
                                  load_keras, np_mask, our_input_grads, padded, plain_config,
                                  summary_text, tape_input_grads)
from oracle import assert_close
from rnnlens import layers as RL


# Keras warns that Flatten / Reshape / Permute drop a mask: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*does not support masking")


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


# ---------------------------------------------------------------------------- eager values
EAGER = [
    ("Flatten", {}, (3,)), ("Flatten", {}, (3, 4)), ("Flatten", {}, (3, 4, 5)),
    ("Flatten", {}, (2, 3, 4, 5)), ("Flatten", {"data_format": "channels_first"}, (2, 3, 4, 5)),
    ("Flatten", {"data_format": "channels_first"}, (3, 4, 5)),
    ("Flatten", {"data_format": "channels_first"}, (3, 4)),
    ("Reshape", {"target_shape": (2, -1)}, (3, 4, 5)), ("Reshape", {"target_shape": (-1,)},
                                                        (3, 4, 5)),
    ("Reshape", {"target_shape": (5, 2, 2)}, (3, 4, 5)),
    ("Reshape", {"target_shape": [1, -1, 1]}, (3, 6)),
    ("Permute", {"dims": (2, 1)}, (3, 4, 5)), ("Permute", {"dims": (1, 2)}, (3, 4, 5)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5)), ("Permute", {"dims": [2, 3, 1]}, (2, 3, 4, 5)),
    ("UnitNormalization", {}, (3, 4)), ("UnitNormalization", {}, (3, 4, 5)),
    ("UnitNormalization", {"axis": 1}, (3, 4, 5)),
    ("UnitNormalization", {"axis": (1, 2)}, (3, 4, 5)),
    ("UnitNormalization", {"axis": [-1, 1]}, (2, 3, 4, 5)),
    ("UnitNormalization", {"axis": 0}, (3, 4)),
    ("RepeatVector", {"n": 3}, (3, 4)),
]


@pytest.mark.parametrize("cls,kwargs,shape", EAGER,
                         ids=[f"{c}{k}{s}" for c, k, s in EAGER])
def test_eager_values(K: Any, parity: Any, cls: str, kwargs: dict, shape: tuple) -> None:
    x = floats(shape, 1)
    if len(shape) > 1:
        x[0] = 0.0                                   # UnitNormalization: all-zero slices
        x[1, ..., 0] = 1e-20                         # and tiny ones (the 1e12 cap)
    ours = getattr(RL, cls)(**kwargs)(x)
    theirs = np.asarray(getattr(K.layers, cls)(**kwargs)(x))
    parity(ours, theirs, name=f"{cls} {shape}")
    assert ours.shape == theirs.shape and ours.dtype == np.float32


OUTPUT_SHAPES = [
    ("Flatten", {}, (None, 4, 5)), ("Flatten", {}, (None, None, 5)), ("Flatten", {}, (None,)),
    ("Reshape", {"target_shape": (2, -1)}, (None, 4, 5)),
    ("Reshape", {"target_shape": (-1, 2)}, (None, None, 4)),
    ("Reshape", {"target_shape": (8,)}, (None, None, 4)),
    ("Permute", {"dims": (2, 1)}, (None, None, 5)), ("Permute", {"dims": (3, 1, 2)},
                                                    (7, 3, 4, 5)),
    ("UnitNormalization", {"axis": (1, 2)}, (None, 4, 5)),
]


@pytest.mark.parametrize("cls,kwargs,shape", OUTPUT_SHAPES,
                         ids=[f"{c}{k}{s}" for c, k, s in OUTPUT_SHAPES])
def test_compute_output_shape(K: Any, cls: str, kwargs: dict, shape: tuple) -> None:
    theirs = tuple(getattr(K.layers, cls)(**kwargs).compute_output_shape(shape))
    assert getattr(RL, cls)(**kwargs).compute_output_shape(shape) == theirs
    sym = getattr(RL, cls)(**kwargs)(rnnlens.Input(batch_shape=shape))
    assert sym.shape == tuple(getattr(K.layers, cls)(**kwargs)(K.Input(batch_shape=shape)).shape)


# ---------------------------------------------------------------------------- masks
@pytest.mark.parametrize("cls,kwargs", [("Flatten", {}), ("Reshape", {"target_shape": (3, 10)}),
                                        ("Permute", {"dims": (2, 1)}),
                                        ("UnitNormalization", {})])
def test_eager_masks(K: Any, parity: Any, cls: str, kwargs: dict) -> None:
    """Flatten / Reshape / Permute drop the mask; UnitNormalization keeps it."""
    x = padded((4, 6, 5), 3)
    ko = getattr(K.layers, cls)(**kwargs)(K.layers.Masking()(x))
    ro = getattr(RL, cls)(**kwargs)(RL.Masking()(x))
    parity(ro, np.asarray(ko), name=f"{cls} after Masking")
    k_mask, r_mask = np_mask(ko), np_mask(ro)
    assert (k_mask is None) == (r_mask is None), f"{cls}: mask {r_mask} vs Keras {k_mask}"
    if k_mask is not None:
        np.testing.assert_array_equal(r_mask, k_mask)


def _masked_into_lstm(cls: str, kwargs: dict) -> Callable[[Any], Any]:
    def build(lib: Any) -> Any:
        x = lib.Input((6, 4))
        h = lib.layers.Dense(4)(lib.layers.Masking()(x))
        h = getattr(lib.layers, cls)(**kwargs)(h)
        return lib.Model(x, lib.layers.LSTM(3)(h))
    return build


def _masked_flatten(lib: Any) -> Any:
    x = lib.Input((6, 4))
    h = lib.layers.LSTM(3, return_sequences=True)(lib.layers.Masking()(x))
    return lib.Model(x, lib.layers.Dense(2)(lib.layers.Flatten()(h)))


def _embedding_unit(lib: Any) -> Any:
    i = lib.Input((6,), dtype="int32")
    e = lib.layers.UnitNormalization()(lib.layers.Embedding(9, 4, mask_zero=True)(i))
    s = lib.layers.GRU(3, return_sequences=True)(e)
    return lib.Model(i, lib.layers.SimpleRNN(2)(lib.layers.UnitNormalization(axis=1)(s)))


def _sequential(lib: Any) -> Any:
    return lib.Sequential([
        lib.Input((12,)), lib.layers.Reshape((4, -1)), lib.layers.LSTM(5, return_sequences=True),
        lib.layers.Permute((2, 1)), lib.layers.UnitNormalization(axis=(1, 2)),
        lib.layers.GRU(3, return_sequences=True), lib.layers.Flatten(), lib.layers.Dense(2)])


def _channels_first(lib: Any) -> Any:
    x = lib.Input((3, 4, 5))
    h = lib.layers.Permute((3, 1, 2))(x)                       # (B, 5, 3, 4)
    h = lib.layers.Flatten(data_format="channels_first")(h)
    h = lib.layers.Reshape((6, -1))(lib.layers.Dense(12)(h))
    return lib.Model(x, lib.layers.SimpleRNN(2)(lib.layers.UnitNormalization()(h)))


def _repeat(lib: Any) -> Any:
    x = lib.Input((5, 3))
    h = lib.layers.RepeatVector(4)(lib.layers.LSTM(3)(x))
    h = lib.layers.Reshape((2, 6))(h)
    return lib.Model(x, lib.layers.GRU(2)(lib.layers.UnitNormalization()(h)))


def _time_distributed(lib: Any) -> Any:
    x = lib.Input((4, 3, 5))
    h = lib.layers.TimeDistributed(lib.layers.Flatten())(x)                  # (B, 4, 15)
    h = lib.layers.TimeDistributed(lib.layers.Reshape((5, 3)))(h)            # (B, 4, 5, 3)
    h = lib.layers.TimeDistributed(lib.layers.Permute((2, 1)))(h)            # (B, 4, 3, 5)
    h = lib.layers.TimeDistributed(lib.layers.Flatten(data_format="channels_first"))(h)
    return lib.Model(x, lib.layers.LSTM(3)(lib.layers.UnitNormalization()(h)))


MODELS: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
    "masking_reshape": (_masked_into_lstm("Reshape", {"target_shape": (6, 4)}),
                        lambda: padded((6, 6, 4), 5)),
    "masking_flatten": (_masked_flatten, lambda: padded((6, 6, 4), 4)),
    "masking_permute": (_masked_into_lstm("Permute", {"dims": (1, 2)}),
                        lambda: padded((6, 6, 4), 6)),
    "masking_unit": (_masked_into_lstm("UnitNormalization", {}), lambda: padded((6, 6, 4), 7)),
    "masking_unit_time": (_masked_into_lstm("UnitNormalization", {"axis": 1}),
                          lambda: padded((6, 6, 4), 8)),
    "embedding_unit": (_embedding_unit, lambda: ids((6, 6), 9, 9)),
    "sequential": (_sequential, lambda: floats((6, 12), 10)),
    "channels_first": (_channels_first, lambda: floats((6, 3, 4, 5), 11)),
    "repeat_reshape": (_repeat, lambda: floats((6, 5, 3), 12)),
    "time_distributed": (_time_distributed, lambda: floats((6, 4, 3, 5), 13)),
}


@pytest.mark.parametrize("case", list(MODELS))
def test_models_predict(K: Any, parity: Any, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=2)
    x = make()
    parity(leaves(rm.predict(x, batch_size=3)), leaves(km.predict(x, batch_size=3, verbose=0)),
           name=f"{case} predict")
    parity(leaves(rm(x)), leaves(km(x)), name=f"{case} model(x)")


@pytest.mark.parametrize("case", list(MODELS))
def test_weight_gradients(K: Any, parity: Any, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=3)
    check_weight_grads(K, parity, km, rm, make(), case)


INPUT_GRADS = [("Flatten", {}, (3, 4, 5)), ("Flatten", {"data_format": "channels_first"},
                                            (2, 3, 4, 5)),
               ("Reshape", {"target_shape": (-1, 2)}, (3, 4, 5)),
               ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5)),
               ("UnitNormalization", {}, (3, 4, 5)),
               ("UnitNormalization", {"axis": (1, 2)}, (3, 4, 5)),
               ("RepeatVector", {"n": 3}, (3, 4))]


@pytest.mark.parametrize("cls,kwargs,shape", INPUT_GRADS,
                         ids=[f"{c}{k}" for c, k, _ in INPUT_GRADS])
def test_input_gradients(K: Any, parity: Any, cls: str, kwargs: dict, shape: tuple) -> None:
    """Model.backward on the input against the tape (zero slices: the clipped branch)."""
    x = floats(shape, 13)
    x[0] = 0.0
    models = []
    for lib in (K, rnnlens):
        i = lib.Input(shape[1:])
        models.append(lib.Model(i, getattr(lib.layers, cls)(**kwargs)(i)))
    km, rm = models
    d_out = floats(np.shape(km(x)), 14)
    (expected,), (ours,) = tape_input_grads(km, [x], d_out), our_input_grads(rm, [x], d_out)
    check_rel(parity, ours, expected, f"{cls} d input", rtol=1e-5)


def test_fit_history(K: Any, parity: Any) -> None:
    km, rm = build_pair(K, _sequential, seed=4)
    x, y = floats((12, 12), 15), floats((12, 2), 16)
    for model, lib in ((km, K), (rm, rnnlens)):
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
    k_hist = km.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    r_hist = rm.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    parity(np.asarray(r_hist["loss"]), np.asarray(k_hist["loss"]), name="fit loss")
    parity(rm.get_weights(), km.get_weights(), name="weights after fit")


# ---------------------------------------------------------------------------- configs, files
CONFIGS = [("Flatten", {}), ("Flatten", {"data_format": "channels_first"}),
           ("Flatten", {"data_format": "Channels_First"}), ("Reshape", {"target_shape": (2, -1)}),
           ("Reshape", {"target_shape": [3, 4]}), ("Permute", {"dims": (2, 1)}),
           ("Permute", {"dims": [3, 1, 2]}), ("UnitNormalization", {}),
           ("UnitNormalization", {"axis": (1, 2)}), ("UnitNormalization", {"axis": [1]}),
           ("RepeatVector", {"n": 3}), ("Flatten", {"name": "flat", "trainable": False})]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[f"{c}{k}" for c, k in CONFIGS])
def test_get_config(K: Any, cls: str, kwargs: dict) -> None:
    K.backend.clear_session()
    rnnlens.utils.clear_session()
    theirs = getattr(K.layers, cls)(**kwargs).get_config()
    ours = getattr(RL, cls)(**kwargs).get_config()
    assert ours == theirs
    assert list(ours) == list(theirs)
    assert getattr(RL, cls).from_config(ours).get_config() == theirs
    again = getattr(RL, cls).from_config(ours)
    assert getattr(K.layers, cls).from_config(ours).get_config() == theirs
    assert plain_config(RL.deserialize(RL.serialize(again)).get_config()) == \
        plain_config(theirs)


@pytest.mark.parametrize("case", ["masking_unit", "embedding_unit", "sequential",
                                  "channels_first", "repeat_reshape", "time_distributed"])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    build, make = MODELS[case]
    km, rm = build_pair(K, build, seed=5)
    files_both_ways(K, parity, km, rm, make(), tmp_path, case)


def _named(lib: Any) -> Any:
    x = lib.Input((3, 4, 5), name="x")
    a = lib.layers.Permute((3, 1, 2), name="perm")(x)
    b = lib.layers.Reshape((5, 12), name="resh")(a)
    c = lib.layers.UnitNormalization(name="unit")(b)
    d = lib.layers.Flatten(name="flat")(c)
    return lib.Model(x, lib.layers.Dense(2, name="out")(d), name="reshaper")


def _named_two(lib: Any) -> Any:
    x = lib.Input((3, 4), name="x")
    f = lib.layers.Flatten(name="flat")(x)
    r = lib.layers.Reshape((12,), name="resh")(x)
    return lib.Model(x, [f, lib.layers.UnitNormalization(name="unit")(r)], name="two")


@pytest.mark.parametrize("graph", [_named, _named_two, _sequential])
def test_summary_equals_keras(K: Any, graph: Callable[[Any], Any]) -> None:
    km, rm = build_pair(K, graph)
    k_text, r_text = summary_text(km), summary_text(rm)
    assert r_text == k_text, f"\n{r_text}\n--- keras ---\n{k_text}"


# ---------------------------------------------------------------------------- errors
def _bad(lib: Any) -> dict[str, Callable[[], Any]]:
    L = lib.layers
    x = np.ones((2, 3, 4), np.float32)
    return {
        "reshape two -1": lambda: L.Reshape((2, -1, -1)),
        "reshape -2": lambda: L.Reshape((-2, 3)),
        "reshape size": lambda: L.Reshape((5,))(x),
        "reshape size symbolic": lambda: L.Reshape((5,))(lib.Input((3, 4))),
        "reshape -1 indivisible": lambda: L.Reshape((5, -1))(x),
        "reshape int": lambda: L.Reshape(3),
        "permute not consecutive": lambda: L.Permute((1, 3)),
        "permute zero": lambda: L.Permute((0, 1)),
        "permute rank": lambda: L.Permute((2, 1))(np.ones((2, 3, 4, 5), np.float32)),
        "permute rank symbolic": lambda: L.Permute((2, 1))(lib.Input((3, 4, 5))),
        "flatten data_format": lambda: L.Flatten(data_format="xx"),
        "flatten scalar": lambda: L.Flatten()(np.ones((), np.float32)),
        "unit axis type": lambda: L.UnitNormalization(axis="a"),
        "unit axis float": lambda: L.UnitNormalization(axis=1.0),
        "unit axis range symbolic": lambda: L.UnitNormalization(axis=3)(lib.Input((3,))),
    }


@pytest.mark.parametrize("case", list(_bad(rnnlens)))
def test_errors_like_keras(K: Any, case: str) -> None:
    """Where Keras refuses, rnnlens refuses with the same exception type."""
    with pytest.raises((ValueError, TypeError)) as theirs:
        _bad(K)[case]()
    with pytest.raises(theirs.type):
        _bad(rnnlens)[case]()


def test_clear_errors_where_keras_fails_deep_inside() -> None:
    """Keras raises TensorFlow errors for these; rnnlens a ValueError naming the axis."""
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="out of bounds"):
        RL.UnitNormalization(axis=3)(x)
    with pytest.raises(ValueError, match="repeats"):
        RL.UnitNormalization(axis=(1, -1))(x)
    with pytest.raises(ValueError, match="single input"):
        RL.Flatten()([rnnlens.Input((3,)), rnnlens.Input((3,))])
    with pytest.raises(TypeError, match="target_shape"):
        RL.Reshape("ab")


# ---------------------------------------------------------------------------- properties
def _shape_and_data(draw: Any) -> np.ndarray:
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    seed = draw(st.integers(0, 2**31 - 1))
    return floats((2, *shape), seed)


arrays = st.composite(_shape_and_data)()


@settings(max_examples=60, deadline=None)
@given(arrays, st.data())
def test_property_reshape_inverse_is_identity(x: np.ndarray, data: Any) -> None:
    """Reshape to a random factorisation (one entry -1), then back: the identity, and the
    backward pass of each is the inverse reshape of the gradient."""
    size = int(np.prod(x.shape[1:]))
    dims, rest = [], size
    for d in range(2, size + 1):
        while rest % d == 0 and data.draw(st.booleans()):
            dims.append(d)
            rest //= d
    dims = dims + [rest] if rest > 1 or not dims else dims
    if len(dims) > 1:
        dims[data.draw(st.integers(0, len(dims) - 1))] = -1
    there = RL.Reshape(tuple(dims))
    back = RL.Reshape(x.shape[1:])
    y = there(x)
    assert y.size == x.size
    np.testing.assert_array_equal(back(y), x)
    _, cache = there.forward(x)
    d, _, _ = there.backward(cache, y)
    np.testing.assert_array_equal(d, x)
    np.testing.assert_array_equal(RL.Flatten()(x), x.reshape(2, -1))


@settings(max_examples=60, deadline=None)
@given(arrays, st.randoms(use_true_random=False))
def test_property_permute_inverse_is_identity(x: np.ndarray, rnd: Any) -> None:
    dims = list(range(1, x.ndim))
    rnd.shuffle(dims)
    inverse = tuple(int(i) + 1 for i in np.argsort(dims))
    p = RL.Permute(tuple(dims))
    y = p(x)
    np.testing.assert_array_equal(y, np.transpose(x, (0, *dims)))
    np.testing.assert_array_equal(RL.Permute(inverse)(y), x)
    _, cache = p.forward(x)
    d, _, _ = p.backward(cache, y)
    np.testing.assert_array_equal(d, x)


@settings(max_examples=60, deadline=None)
@given(arrays, st.data())
def test_property_unit_norms(x: np.ndarray, data: Any) -> None:
    """Every slice has norm 1 (0 for an all-zero slice); the gradient is orthogonal to x
    within each slice (the output's norm cannot change)."""
    axes = tuple(sorted(set(data.draw(st.lists(st.integers(1, x.ndim - 1), min_size=1,
                                               max_size=x.ndim - 1)))))
    x = x.copy()
    x[0] = 0.0
    layer = RL.UnitNormalization(axis=axes)
    y, cache = layer.forward(x)
    norms = np.sqrt(np.sum(y.astype(np.float64) ** 2, axis=axes))
    assert_close(norms[1:], np.ones_like(norms[1:]), atol=1e-5, name="norms")
    np.testing.assert_array_equal(y[0], 0.0)
    g = floats(x.shape, 3)
    d, _, _ = layer.backward(cache, g)
    along = np.sum(d[1:].astype(np.float64) * x[1:], axis=axes)
    assert_close(along, np.zeros_like(along), atol=1e-4, name="d . x")


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                  st.text(max_size=3), st.lists(st.one_of(st.integers(-3, 4), st.none(),
                                                          st.floats()), max_size=4))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["Flatten", "Reshape", "Permute", "UnitNormalization"]), _JUNK,
       st.one_of(st.lists(st.integers(0, 4), max_size=5), st.sampled_from(["x", None, 2.5]),
                 st.lists(st.lists(st.integers(1, 3), max_size=3), max_size=2)))
def test_fuzz_bad_arguments_and_inputs(cls: str, arg: Any, shape: Any) -> None:
    """Random constructor arguments and inputs: a correct result or a ValueError /
    TypeError raised by rnnlens."""
    try:
        layer = getattr(RL, cls)(arg)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    if isinstance(shape, list) and all(isinstance(s, int) for s in shape):
        x: Any = np.ones(shape, np.float32)
    elif isinstance(shape, list):
        x = [np.ones(s, np.float32) for s in shape]
    else:
        x = shape
    try:
        out = layer(x)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    assert isinstance(out, np.ndarray) and out.size == np.size(x)


# ---------------------------------------------------------------------------- finite differences
FD_CASES = [("Flatten", {"data_format": "channels_first"}, (2, 3, 2, 2)),
            ("Reshape", {"target_shape": (-1, 3)}, (2, 2, 3)),
            ("Permute", {"dims": (2, 3, 1)}, (2, 3, 2, 2)),
            ("UnitNormalization", {}, (2, 3, 2)),
            ("UnitNormalization", {"axis": (1, 2)}, (2, 3, 2)),
            ("UnitNormalization", {"axis": 1}, (3, 4)),
            ("RepeatVector", {"n": 2}, (2, 3))]


@pytest.mark.parametrize("cls,kwargs,shape", FD_CASES, ids=[f"{c}{k}" for c, k, _ in FD_CASES])
def test_backward_finite_differences(cls: str, kwargs: dict, shape: tuple) -> None:
    """The backward passes against central differences in float64 (no Keras needed)."""
    rng = np.random.default_rng(len(cls))
    x = rng.normal(size=shape)
    layer = getattr(RL, cls)(**kwargs)
    out, cache = layer.forward(x)
    g = rng.normal(size=out.shape)
    ours, _, _ = layer.backward(cache, g)
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += 1e-6
        minus[idx] -= 1e-6
        fd[idx] = (np.sum(layer.forward(plus)[0] * g) -
                   np.sum(layer.forward(minus)[0] * g)) / 2e-6
    assert_close(ours, fd, atol=1e-6, name=f"{cls} d input")
