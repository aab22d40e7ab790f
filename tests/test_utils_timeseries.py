"""``timeseries_dataset_from_array`` against live Keras 3.15.1 (tf.data), batch by batch.

Unshuffled, every batch (inputs and targets: dtype, shape, values) must equal Keras's
dataset converted to NumPy, for hand-picked and hypothesis-drawn lengths, strides, rates,
batch sizes, start/end indices and target lengths; where Keras raises (at creation or
while iterating), rnnlens raises ValueError/TypeError. Shuffled, the random order cannot
match TensorFlow's, so the tests check the semantics: the same windows with their own
targets, Keras's batch sizes, Keras's fixed ``RandomState`` permutation followed by a
shuffle buffer of ``8 * batch_size`` (no window comes out more than ``buffer - 1`` places
before its position in that permutation, in Keras's output too), a new order every
pass and the same sequence of orders for the same seed.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens.utils as U
from oracle import keras_available
from rnnlens.preprocessing import timeseries_dataset_from_array as prep_timeseries

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; "
                    "live parity tests skipped")
    import keras  # noqa: PLC0415

    return keras


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn()
        except Exception as exc:  # noqa: BLE001  (the oracle may raise anything)
            return "err", exc


def as_tuple(element: Any) -> tuple:
    return tuple(element) if isinstance(element, tuple) else (element,)


def assert_same_batches(mine: list, theirs: list, parity: Any) -> None:
    assert len(mine) == len(theirs), f"{len(mine)} batches != Keras's {len(theirs)}"
    for i, (a, b) in enumerate(zip(mine, theirs)):
        a, b = as_tuple(a), as_tuple(b)
        assert len(a) == len(b)
        for j, (u, v) in enumerate(zip(a, b)):
            u, v = np.asarray(u), np.asarray(v)
            assert u.dtype == v.dtype, f"batch {i}[{j}]: dtype {u.dtype} != {v.dtype}"
            assert u.shape == v.shape, f"batch {i}[{j}]: shape {u.shape} != {v.shape}"
            parity(u, v, name=f"batch {i}[{j}]")
            np.testing.assert_array_equal(u, v)


def check_parity(K: Any, parity: Any, data: Any, targets: Any, **kw: Any) -> str:
    def keras_run() -> list:
        ds = K.utils.timeseries_dataset_from_array(data, targets, **kw)
        return list(ds.as_numpy_iterator())

    def rn_run() -> tuple[list, int]:
        ds = U.timeseries_dataset_from_array(data, targets, **kw)
        return list(ds), len(ds)

    k, r = outcome(keras_run), outcome(rn_run)
    if r[0] == "err":
        assert isinstance(r[1], (ValueError, TypeError)), repr(r[1])
        assert type(r[1]).__module__ == "builtins"
        assert k[0] == "err", f"rnnlens raised {r[1]!r} where Keras gave {len(k[1])} batches"
        return "err"
    assert k[0] == "ok", f"Keras raised {k[1]!r}"
    batches, length = r[1]
    assert length == len(batches)
    assert_same_batches(batches, k[1], parity)
    return "ok"


# ---------------------------------------------------------------------------- fixed cases
def test_keras_docstring_example_1(K: Any, parity: Any) -> None:
    """Indices 0..98, length 10, rate 2, stride 3: first [0 2 ... 18], last [78 ... 96]."""
    data = np.arange(99)
    ds = U.timeseries_dataset_from_array(data, None, sequence_length=10, sampling_rate=2,
                                         sequence_stride=3, batch_size=128)
    (batch,) = list(ds)
    np.testing.assert_array_equal(batch[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(batch[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(batch[-1], np.arange(78, 98, 2))
    check_parity(K, parity, data, None, sequence_length=10, sampling_rate=2, sequence_stride=3)


def test_keras_docstring_example_2_regression(K: Any, parity: Any) -> None:
    data = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    inputs, targets = data[:-10], data[10:]
    ds = U.timeseries_dataset_from_array(inputs, targets, sequence_length=10, batch_size=8)
    x, y = next(iter(ds))
    np.testing.assert_array_equal(x[0], data[:10])
    np.testing.assert_array_equal(y[0], data[10])
    check_parity(K, parity, inputs, targets, sequence_length=10, batch_size=8)


def test_keras_docstring_example_3_many_to_many(K: Any, parity: Any) -> None:
    X = np.arange(100)
    Y = X * 2
    xs = U.timeseries_dataset_from_array(X, None, sequence_length=20, sequence_stride=20)
    ys = U.timeseries_dataset_from_array(Y, None, sequence_length=20, sequence_stride=20)
    for inputs, targets in zip(xs, ys):
        np.testing.assert_array_equal(inputs[0], X[:20])
        np.testing.assert_array_equal(targets[1], Y[20:40])
    check_parity(K, parity, Y, None, sequence_length=20, sequence_stride=20)
    assert prep_timeseries is U.timeseries_dataset_from_array


RNG = np.random.default_rng(1)
D20 = np.arange(20)
CASES = [
    (D20, D20, dict(sequence_length=3, batch_size=4)),
    (D20, D20, dict(sequence_length=3, batch_size=None)),
    (D20, None, dict(sequence_length=30)),
    (D20, D20, dict(sequence_length=3, start_index=2, end_index=15, batch_size=3)),
    (D20, D20[:5], dict(sequence_length=3, batch_size=2)),
    (D20, D20[:5], dict(sequence_length=3, start_index=2, batch_size=2)),
    (D20, D20[:15], dict(sequence_length=3, start_index=2, batch_size=2)),
    (D20, np.arange(40), dict(sequence_length=2, start_index=3, end_index=10)),
    (D20, D20, dict(sequence_length=3, start_index=0, end_index=0)),
    (D20, D20, dict(sequence_length=3, end_index=20)),
    (D20, D20, dict(sequence_length=3, end_index=19)),
    (D20, D20, dict(sequence_length=3, end_index=-1)),
    (D20, D20, dict(sequence_length=3, start_index=-1)),
    (D20, D20, dict(sequence_length=3, start_index=20)),
    (D20, D20, dict(sequence_length=3, start_index=19)),
    (D20, D20, dict(sequence_length=3, start_index=5, end_index=5)),
    (D20, D20, dict(sequence_length=3, start_index=5, end_index=3)),
    (D20, D20, dict(sequence_length=3, sampling_rate=0)),
    (D20, D20, dict(sequence_length=3, sampling_rate=20)),
    (D20, D20, dict(sequence_length=3, sampling_rate=19, batch_size=1)),
    (D20, D20, dict(sequence_length=3, sequence_stride=0)),
    (D20, D20, dict(sequence_length=3, sequence_stride=-2)),
    (D20, D20, dict(sequence_length=3, sequence_stride=20)),
    (D20, D20, dict(sequence_length=3, sequence_stride=19)),
    (D20, D20, dict(sequence_length=1, batch_size=7)),
    (D20, D20, dict(sequence_length=20)),
    (D20, D20, dict(sequence_length=21)),
    (D20, D20, dict(sequence_length=3, format="grain2")),
    (np.arange(5.0).tolist(), None, dict(sequence_length=2, batch_size=2)),
    ([[1, 2], [3, 4], [5, 6]], [7, 8, 9], dict(sequence_length=2, batch_size=2)),
    (RNG.normal(size=(30, 2, 3)), RNG.normal(size=(30, 4)).astype(np.float32),
     dict(sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=3)),
    (np.array([True, False] * 5), np.arange(10) % 3, dict(sequence_length=2, batch_size=4)),
    (np.arange(1), None, dict(sequence_length=1)),
    (np.zeros((0, 3)), None, dict(sequence_length=1)),
    (np.arange(10).astype(np.uint8), np.arange(10), dict(sequence_length=4, sequence_stride=4,
                                                         batch_size=1)),
]


@pytest.mark.parametrize("data,targets,kw", CASES, ids=[str(i) for i in range(len(CASES))])
def test_edge_cases_match_keras(K: Any, parity: Any, data: Any, targets: Any, kw: dict
                                ) -> None:
    check_parity(K, parity, data, targets, **kw)


@pytest.mark.parametrize("kw,error", [
    (dict(sequence_length=0), ValueError), (dict(sequence_length=-2), ValueError),
    (dict(sequence_length=3.0), TypeError), (dict(sequence_length=3, batch_size=0), ValueError),
    (dict(sequence_length=3, sampling_rate=1.0), TypeError),
    (dict(sequence_length=3, start_index=2.0), TypeError),
    (dict(sequence_length=3, seed="a"), TypeError),
])
def test_rnnlens_only_argument_errors(kw: dict, error: type) -> None:
    """Sizes Keras does not check (it gives empty windows or fails in TensorFlow)."""
    with pytest.raises(error):
        U.timeseries_dataset_from_array(np.arange(20), None, **kw)


def test_short_targets_after_start_index_raise_up_front() -> None:
    with pytest.raises(ValueError, match="has no target"):
        U.timeseries_dataset_from_array(D20, D20[:5], sequence_length=3, start_index=2)


# ---------------------------------------------------------------------------- hypothesis
@st.composite
def series_cases(draw: Any) -> tuple:
    n = draw(st.integers(1, 40))
    feat = draw(st.sampled_from([(), (2,), (2, 2)]))
    dtype = draw(st.sampled_from(["float32", "int64", "float64"]))
    data = np.arange(n * int(np.prod(feat))).reshape((n, *feat)).astype(dtype)
    targets = None
    if draw(st.booleans()):
        m = draw(st.sampled_from([n, n, max(n - draw(st.integers(0, n)), 0), n + 5]))
        targets = (np.arange(m) * 10).astype(draw(st.sampled_from(["int32", "float32"])))
    kw = dict(
        sequence_length=draw(st.integers(1, 8)),
        sequence_stride=draw(st.integers(1, 6)),
        sampling_rate=draw(st.integers(1, 4)),
        batch_size=draw(st.one_of(st.none(), st.integers(1, 9))),
        start_index=draw(st.one_of(st.none(), st.integers(-1, n + 1))),
        end_index=draw(st.one_of(st.none(), st.integers(-1, n + 1))),
    )
    return data, targets, kw


@SETTINGS
@given(series_cases())
def test_random_windows_match_keras(K: Any, parity: Any, case: tuple) -> None:
    data, targets, kw = case
    check_parity(K, parity, data, targets, **kw)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 60), st.integers(1, 9), st.integers(1, 7), st.integers(1, 5),
       st.one_of(st.none(), st.integers(1, 10)), st.booleans())
def test_window_invariants(n: int, length: int, stride: int, rate: int, batch: Any,
                           with_targets: bool) -> None:
    """Without Keras: window j is data[j*stride + rate*(0..L-1)], target j is targets[j*stride],
    and the windows are all the full ones (the next start would run past the data)."""
    data = np.arange(n)
    targets = np.arange(n) * 10 if with_targets else None
    try:
        ds = U.timeseries_dataset_from_array(data, targets, length, stride, rate, batch)
    except ValueError as exc:
        assert stride >= n or rate >= n, str(exc)
        return
    windows, labels = [], []
    for element in ds:
        x, y = element if with_targets else (element, None)
        x = x.reshape(-1, length)
        windows.extend(x)
        if with_targets:
            labels.extend(np.atleast_1d(y))
        assert batch is None or len(x) <= batch
    span = (length - 1) * rate
    starts = list(range(0, max(n - span, 0), stride))
    assert [w.tolist() for w in windows] == [list(range(s, s + span + 1, rate)) for s in starts]
    if with_targets:
        assert labels == [10 * s for s in starts]


# ---------------------------------------------------------------------------- shuffle
def _pairs(ds: Any) -> list[tuple]:
    return [(tuple(w.ravel().tolist()), float(t)) for x, y in ds for w, t in zip(x, y)]


def test_shuffle_semantics_match_keras(K: Any) -> None:
    data = np.arange(300, dtype=np.float32)
    targets = np.arange(300, dtype=np.float32) * 10
    kw = dict(sequence_length=5, sequence_stride=2, sampling_rate=3, batch_size=4, seed=7)
    mine = U.timeseries_dataset_from_array(data, targets, shuffle=True, **kw)
    theirs = K.utils.timeseries_dataset_from_array(data, targets, shuffle=True, **kw)
    plain = U.timeseries_dataset_from_array(data, targets, shuffle=False, **kw)
    keras_batches = list(theirs.as_numpy_iterator())
    epoch1, epoch2 = list(mine), list(mine)
    assert [len(b[0]) for b in epoch1] == [len(b[0]) for b in keras_batches]
    assert len(mine) == len(plain) == len(keras_batches)
    reference = Counter(_pairs(plain))
    assert Counter(_pairs(epoch1)) == reference == Counter(_pairs(keras_batches))
    assert Counter(_pairs(epoch2)) == reference
    for x, y in epoch1:            # every window keeps its own target: target = 10 * start
        np.testing.assert_array_equal(y, x[:, 0] * 10)
    assert _pairs(epoch1) != _pairs(epoch2), "a shuffled dataset must reshuffle every pass"
    assert _pairs(epoch1) != _pairs(plain)
    again = U.timeseries_dataset_from_array(data, targets, shuffle=True, **kw)
    assert _pairs(list(again)) == _pairs(epoch1), "same seed, same sequence of orders"

    # Keras's fixed permutation of the starts, then a buffer of 8 * batch_size: no window
    # is emitted more than buffer - 1 places before its position in the permutation.
    starts = np.arange(0, 300 - 4 * 3, 2, dtype=np.int32)
    np.random.RandomState(7).shuffle(starts)
    rank = {int(s): k for k, s in enumerate(starts)}
    for batches in (epoch1, epoch2, keras_batches):
        emitted = [int(s) for x, _ in batches for s in x[:, 0]]
        early = [rank[s] - k for k, s in enumerate(emitted)]
        assert max(early) <= 8 * 4 - 1, max(early)


def test_shuffle_unbatched_and_seedless() -> None:
    data = np.arange(50)
    ds = U.timeseries_dataset_from_array(data, None, 4, batch_size=None, shuffle=True)
    a, b = [w.tolist() for w in ds], [w.tolist() for w in ds]
    assert sorted(a) == sorted(b) == [list(range(s, s + 4)) for s in range(47)]
    assert a != b
    U.set_random_seed(3)
    c = [w.tolist() for w in U.timeseries_dataset_from_array(data, None, 4, shuffle=True)
         .unbatch()]
    U.set_random_seed(3)
    d = [w.tolist() for w in U.timeseries_dataset_from_array(data, None, 4, shuffle=True)
         .unbatch()]
    assert c == d, "without a seed, set_random_seed makes the order reproducible"


# ---------------------------------------------------------------------------- dataset use
def test_dataset_methods_on_windows(K: Any, parity: Any) -> None:
    """take/skip/map/unbatch/batch on a windows dataset equal the same tf.data pipeline."""
    data = np.arange(64, dtype=np.float32).reshape(32, 2)
    targets = np.arange(32, dtype=np.int64)
    kw = dict(sequence_length=3, sequence_stride=2, batch_size=4)
    mine = U.timeseries_dataset_from_array(data, targets, **kw)
    theirs = K.utils.timeseries_dataset_from_array(data, targets, **kw)
    pipelines = [
        lambda d: d.take(2), lambda d: d.skip(2), lambda d: d.skip(1).take(2),
        lambda d: d.take(100), lambda d: d.skip(100), lambda d: d.map(lambda x, y: (x * 2, y)),
        lambda d: d.unbatch().batch(5), lambda d: d.unbatch().batch(5, drop_remainder=True),
        lambda d: d.skip(1).unbatch().take(3), lambda d: d.take(3).repeat(2),
        lambda d: d.map(lambda x, y: x).skip(3),
    ]
    for i, pipe in enumerate(pipelines):
        a, b = pipe(mine), pipe(theirs)
        assert_same_batches(list(a), list(b.as_numpy_iterator()), parity)
        card = int(b.cardinality())
        assert int(a.cardinality()) == card, f"pipeline {i}: cardinality"
        if card >= 0:
            assert len(a) == card == len(list(a))
    assert int(mine.cardinality().numpy()) == len(mine) == 4


def test_windows_feed_a_fit_loop_shape() -> None:
    """What Model.fit needs: len(), re-iterable, (x, y) tuples of arrays."""
    ds = U.timeseries_dataset_from_array(np.zeros((50, 3), np.float32), np.zeros(50), 10,
                                         batch_size=16)
    for _ in range(2):
        seen = 0
        for x, y in ds:
            assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
            assert x.shape[1:] == (10, 3) and x.shape[0] == y.shape[0]
            seen += 1
        assert seen == len(ds) == 3


@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
def test_fit_on_windows_matches_keras_fit(K: Any) -> None:
    """Model.fit / evaluate on the windows datasets equal Keras's fit on its tf.data ones
    (same initial weights): the dataset is a plain iterable of (x, y) batches with len()."""
    import rnnlens  # noqa: PLC0415
    from rnnlens import layers  # noqa: PLC0415

    series = np.sin(np.arange(160) / 6.0).astype(np.float32)[:, None]          # (160, 1)
    kw = dict(sequence_length=6, sequence_stride=2, batch_size=8)
    train = (series[:-6], series[6:])
    results = []
    for lib, layers_mod in ((K, K.layers), (rnnlens, layers)):
        inp = lib.Input((6, 1))
        model = lib.Model(inp, layers_mod.Dense(1)(layers_mod.LSTM(3)(inp)))
        if lib is K:
            weights = [np.random.default_rng(i).uniform(-0.5, 0.5, w.shape).astype(np.float32)
                       for i, w in enumerate(model.get_weights())]
        model.set_weights(weights)
        model.compile(optimizer="adam", loss="mse")
        ds = lib.utils.timeseries_dataset_from_array(*train, end_index=120, **kw)
        val = lib.utils.timeseries_dataset_from_array(*train, start_index=120, **kw)
        hist = model.fit(ds, validation_data=val, epochs=2, verbose=0).history
        results.append((hist, model.evaluate(val, verbose=0), model.get_weights()))
    (h_k, e_k, w_k), (h_r, e_r, w_r) = results
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h_r[key], h_k[key], rtol=1e-4)
    np.testing.assert_allclose(e_r, e_k, rtol=1e-4)
    for a, b in zip(w_r, w_k):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
