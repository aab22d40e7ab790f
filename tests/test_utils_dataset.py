"""``ArrayDataset`` against tf.data and ``split_dataset`` against live Keras 3.15.1.

* Random pipelines (``take``/``skip``/``batch``/``unbatch``/``map``/``filter``/``repeat``/
  ``enumerate``) applied to ``ArrayDataset((x, y))`` and to
  ``tf.data.Dataset.from_tensor_slices((x, y))`` yield the same elements (dtype, shape,
  values) and report the same ``cardinality()``.
* Shuffling: every pass is a permutation of the elements, passes differ, a seed repeats
  the sequence of orders, ``reshuffle_each_iteration=False`` repeats one order, and a
  buffer of size ``s`` never emits an element more than ``s - 1`` places early.
* ``split_dataset``: for arrays, tuples and lists of arrays and batched datasets, the two
  splits hold the same samples in the same order as Keras's (shuffled too: the permutation
  is Python's ``random`` as Keras's); sizes that Keras refuses raise ValueError/TypeError.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens.utils as U
from oracle import keras_available
from rnnlens.utils.dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, buffer_shuffle

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; "
                    "live parity tests skipped")
    import keras  # noqa: PLC0415

    return keras


@pytest.fixture(scope="module")
def tf(K: Any) -> Any:
    import tensorflow  # noqa: PLC0415

    return tensorflow


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn()
        except Exception as exc:  # noqa: BLE001  (the oracle may raise anything)
            return "err", exc


def leaves(element: Any) -> list[np.ndarray]:
    if isinstance(element, dict):
        return [np.asarray(v) for k in element for v in leaves(element[k])]
    if isinstance(element, (tuple, list)):
        return [v for e in element for v in leaves(e)]
    return [np.asarray(element)]


def assert_same_elements(mine: list, theirs: list, parity: Any = None) -> None:
    assert len(mine) == len(theirs), f"{len(mine)} elements != {len(theirs)}"
    for i, (a, b) in enumerate(zip(mine, theirs)):
        assert type(a) is type(b) or not isinstance(b, (tuple, dict)), (type(a), type(b))
        la, lb = leaves(a), leaves(b)
        assert len(la) == len(lb)
        for u, v in zip(la, lb):
            assert u.dtype == v.dtype and u.shape == v.shape, (i, u.dtype, v.dtype, u.shape,
                                                               v.shape)
            if parity is not None:
                parity(u, v, name=f"element {i}")
            np.testing.assert_array_equal(u, v)


def rows(n: int, feat: tuple, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * int(np.prod(feat))).reshape((n, *feat)).astype(dtype)
    return x, (np.arange(n) * 10).astype(np.int64)


# ---------------------------------------------------------------------------- vs tf.data
@st.composite
def pipelines(draw: Any) -> tuple:
    n = draw(st.integers(0, 14))
    ops: list[tuple] = []
    depth = 0
    for _ in range(draw(st.integers(0, 5))):
        choices = ["take", "skip", "map", "repeat"]
        choices += ["batch"] if depth < 2 else []
        choices += ["unbatch"] if depth else ["filter"]
        op = draw(st.sampled_from(choices))
        if op in ("take", "skip"):
            ops.append((op, draw(st.integers(-1, 16))))
        elif op == "batch":
            ops.append((op, draw(st.integers(1, 5)), draw(st.booleans())))
            depth += 1
        elif op == "unbatch":
            ops.append((op,))
            depth -= 1
        elif op == "repeat":
            ops.append((op, draw(st.integers(0, 2))))
        else:
            ops.append((op,))
    if draw(st.booleans()):
        ops.append(("enumerate", draw(st.integers(0, 3))))
    feat = draw(st.sampled_from([(), (2,)]))
    return n, feat, draw(st.sampled_from(["int64", "float32"])), ops


def apply(ds: Any, ops: list) -> Any:
    for name, *args in ops:
        if name == "map":
            ds = ds.map(lambda x, y: (x + 1, y * 2))
        elif name == "filter":
            ds = ds.filter(lambda x, y: y % 3 != 0)
        else:
            ds = getattr(ds, name)(*args)
    return ds


@SETTINGS
@given(pipelines())
def test_random_pipelines_match_tf_data(tf: Any, parity: Any, case: tuple) -> None:
    n, feat, dtype, ops = case
    data = rows(n, feat, dtype)
    mine = apply(U.ArrayDataset(data), ops)
    theirs = apply(tf.data.Dataset.from_tensor_slices(data), ops)
    got, expected = outcome(lambda: list(mine)), outcome(lambda: list(theirs.as_numpy_iterator()))
    if expected[0] == "err":     # e.g. batching batches of different sizes
        assert got[0] == "err", f"tf.data raised {expected[1]!r}, rnnlens did not"
        assert isinstance(got[1], (ValueError, TypeError)), repr(got[1])
        return
    assert got[0] == "ok", f"rnnlens raised {got[1]!r}"
    assert_same_elements(got[1], expected[1], parity)
    names = [op[0] for op in ops]
    mapped_then_unbatched = "map" in names and "unbatch" in names[names.index("map"):]
    if not mapped_then_unbatched:   # rnnlens cannot infer shapes through map (documented)
        assert int(mine.cardinality()) == int(theirs.cardinality()), ops
    assert_same_elements(list(mine), list(theirs.as_numpy_iterator()))   # a second pass
    card = int(mine.cardinality())
    if card >= 0:
        assert len(mine) == card == len(list(mine))
    else:
        with pytest.raises(TypeError, match="infinite" if card == -1 else "unknown"):
            len(mine)


def test_batched_constructor_and_structures_match_tf_data(tf: Any, parity: Any) -> None:
    x, y = rows(11, (3,), "float32")
    cases = [
        (lambda D: D(x), lambda T: T.from_tensor_slices(x)),
        (lambda D: D({"a": x, "b": y}).batch(4),
         lambda T: T.from_tensor_slices({"a": x, "b": y}).batch(4)),
        (lambda D: D((x, (y, x))).batch(3, drop_remainder=True),
         lambda T: T.from_tensor_slices((x, (y, x))).batch(3, drop_remainder=True)),
        (lambda D: D([1.5, 2.0, 3.0]), lambda T: T.from_tensor_slices([1.5, 2.0, 3.0])),
        (lambda D: D([[1, 2], [3, 4]]).batch(2), lambda T: T.from_tensor_slices([[1, 2], [3, 4]])
         .batch(2)),
        (lambda D: D((x, y), batch_size=4).skip(1).take(5),
         lambda T: T.from_tensor_slices((x, y)).batch(4).skip(1).take(5)),
        (lambda D: D((x, y), batch_size=4, drop_remainder=True).unbatch().batch(3),
         lambda T: T.from_tensor_slices((x, y)).batch(4, drop_remainder=True).unbatch()
         .batch(3)),
        (lambda D: D(x).map(lambda v: {"v": v, "s": v.sum()}).batch(5),
         lambda T: T.from_tensor_slices(x).map(lambda v: {"v": v, "s": tf.reduce_sum(v)})
         .batch(5)),
        (lambda D: D((x, y)).map(lambda a, b: [a, b]), lambda T: T.from_tensor_slices((x, y))
         .map(lambda a, b: [a, b])),
        (lambda D: D.zip(D(x), D(y).take(4)),
         lambda T: T.zip(T.from_tensor_slices(x), T.from_tensor_slices(y).take(4))),
        (lambda D: D.zip({"p": D(x), "q": D(y).repeat()}),
         lambda T: T.zip({"p": T.from_tensor_slices(x), "q": T.from_tensor_slices(y).repeat()})),
        (lambda D: D(y).take(3).concatenate(D(y).skip(8)),
         lambda T: T.from_tensor_slices(y).take(3).concatenate(T.from_tensor_slices(y).skip(8))),
        (lambda D: D(y).enumerate(5).skip(2), lambda T: T.from_tensor_slices(y).enumerate(5)
         .skip(2)),
        (lambda D: D(y).repeat().take(25), lambda T: T.from_tensor_slices(y).repeat().take(25)),
        (lambda D: D(y).take(0).repeat(), lambda T: T.from_tensor_slices(y).take(0).repeat()),
        (lambda D: D(y).filter(lambda v: v > 40).repeat(),
         lambda T: T.from_tensor_slices(y).filter(lambda v: v > 40).repeat().take(0)),
        (lambda D: D(y).prefetch(2).cache(), lambda T: T.from_tensor_slices(y).prefetch(2)
         .cache()),
    ]
    for i, (make_mine, make_theirs) in enumerate(cases):
        mine, theirs = make_mine(U.ArrayDataset), make_theirs(tf.data.Dataset)
        if i == 15:       # an infinite filtered stream: compare the first elements only
            assert int(mine.cardinality()) == INFINITE_CARDINALITY
            mine, theirs = mine.take(6), make_theirs(tf.data.Dataset)
            theirs = tf.data.Dataset.from_tensor_slices(y).filter(lambda v: v > 40).repeat()
            theirs = theirs.take(6)
        else:
            assert int(mine.cardinality()) == int(theirs.cardinality()), i
        assert_same_elements(list(mine), list(theirs.as_numpy_iterator()), parity)


def test_cardinality_and_len_like_tf_data() -> None:
    ds = U.ArrayDataset(np.arange(10))
    assert ds.cardinality().numpy() == np.int64(10) and len(ds) == 10
    assert int(ds.repeat().cardinality()) == INFINITE_CARDINALITY
    assert int(ds.filter(lambda v: v > 2).cardinality()) == UNKNOWN_CARDINALITY
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(ds.batch(2).unbatch())
    assert list(ds.take(0).repeat()) == []     # stops instead of spinning
    assert "cardinality=10" in repr(ds)


# ---------------------------------------------------------------------------- shuffle
def test_shuffle_passes_are_permutations_and_reshuffle() -> None:
    ds = U.ArrayDataset(np.arange(200)).shuffle(50, seed=1).batch(16)
    passes = [np.concatenate(list(ds)) for _ in range(3)]
    for p in passes:
        assert sorted(p.tolist()) == list(range(200))
    assert not np.array_equal(passes[0], passes[1])
    again = U.ArrayDataset(np.arange(200)).shuffle(50, seed=1).batch(16)
    np.testing.assert_array_equal(np.concatenate(list(again)), passes[0])
    fixed = U.ArrayDataset(np.arange(200)).shuffle(50, seed=1, reshuffle_each_iteration=False)
    assert [int(v) for v in fixed] == [int(v) for v in fixed]
    streamed = U.ArrayDataset(np.arange(100)).map(lambda v: v).shuffle(10, seed=2)
    a, b = [int(v) for v in streamed], [int(v) for v in streamed]
    assert sorted(a) == sorted(b) == list(range(100)) and a != b
    whole = U.ArrayDataset((np.arange(30), np.arange(30) * 2), batch_size=7, shuffle=True,
                           seed=0)
    pairs = [(int(u), int(v)) for x, y in whole for u, v in zip(x, y)]
    assert sorted(pairs) == [(i, 2 * i) for i in range(30)] and [len(x) for x, _ in whole] \
        == [7, 7, 7, 7, 2]


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 60), st.integers(1, 70), st.integers(0, 2**32 - 1), st.booleans())
def test_shuffle_buffer_never_emits_early(n: int, size: int, seed: int, streamed: bool
                                          ) -> None:
    """tf.data's buffer: the element at input position p comes out at output k >= p - size + 1."""
    ds = U.ArrayDataset(np.arange(n))
    ds = (ds.map(lambda v: v) if streamed else ds).shuffle(size, seed=seed)
    out = [int(v) for v in ds]
    assert sorted(out) == list(range(n))
    assert all(p - k <= size - 1 for k, p in enumerate(out))
    order = buffer_shuffle(n, size, np.random.default_rng(seed))
    assert sorted(order.tolist()) == list(range(n))


def test_shuffle_with_tf_gives_the_same_multiset(tf: Any) -> None:
    x = np.arange(40)
    mine = sorted(int(v) for v in U.ArrayDataset(x).shuffle(8, seed=3).batch(5).unbatch())
    theirs = sorted(int(v) for v in tf.data.Dataset.from_tensor_slices(x).shuffle(8, seed=3)
                    .batch(5).unbatch().as_numpy_iterator())
    assert mine == theirs == list(range(40))


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make", [
    lambda: U.ArrayDataset(np.float32(1.0)),
    lambda: U.ArrayDataset((np.arange(3), np.arange(4))),
    lambda: U.ArrayDataset(None),
    lambda: U.ArrayDataset(()),
    lambda: U.ArrayDataset({}),
    lambda: U.ArrayDataset([[1, 2], [3]]),
    lambda: U.ArrayDataset([object()]),
    lambda: U.ArrayDataset(np.arange(3), batch_size=0),
    lambda: U.ArrayDataset(np.arange(3), batch_size=2.0),
    lambda: U.ArrayDataset(np.arange(3), seed="x", shuffle=True),
    lambda: U.ArrayDataset(np.arange(3)).batch(0),
    lambda: U.ArrayDataset(np.arange(3)).batch(True),
    lambda: U.ArrayDataset(np.arange(3)).shuffle(0),
    lambda: U.ArrayDataset(np.arange(3)).take(1.5),
    lambda: U.ArrayDataset(np.arange(3)).repeat(-2),
    lambda: U.ArrayDataset(np.arange(3)).map(3),
    lambda: U.ArrayDataset(np.arange(3)).filter(None),
    lambda: list(U.ArrayDataset(np.arange(3)).filter(lambda v: v)),
    lambda: list(U.ArrayDataset(np.arange(6).reshape(3, 2)).filter(lambda v: v > 0)),
    lambda: list(U.ArrayDataset(np.arange(3)).map(lambda v: np.arange(v)).batch(3)),
    lambda: list(U.ArrayDataset(np.arange(3)).unbatch()),
    lambda: list(U.ArrayDataset(np.arange(3)).map(lambda v: (v, np.arange(2))).unbatch()),
    lambda: list(U.ArrayDataset(np.arange(3)).map(
        lambda v: (v,) if v else {"a": v}).batch(3)),
    lambda: U.ArrayDataset(np.arange(3)).concatenate(np.arange(3)),
    lambda: U.ArrayDataset.zip(np.arange(3)),
])
def test_dataset_errors_are_value_or_type_errors(make: Callable[[], Any]) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert type(info.value).__module__ == "builtins"


# ---------------------------------------------------------------------------- split_dataset
def keras_split(K: Any, dataset: Any, **kw: Any) -> tuple[list, list]:
    left, right = K.utils.split_dataset(dataset, **kw)
    return list(left.as_numpy_iterator()), list(right.as_numpy_iterator())


def check_split(K: Any, parity: Any, dataset: Any, keras_dataset: Any = None, **kw: Any
                ) -> str:
    k = outcome(lambda: keras_split(K, dataset if keras_dataset is None else keras_dataset,
                                    **kw))
    r = outcome(lambda: U.split_dataset(dataset, **kw))
    if r[0] == "err":
        assert isinstance(r[1], (ValueError, TypeError)), repr(r[1])
        assert type(r[1]).__module__ == "builtins"
        assert k[0] == "err", f"rnnlens raised {r[1]!r}, Keras returned"
        return "err"
    assert k[0] == "ok", f"Keras raised {k[1]!r}"
    for mine, theirs in zip(r[1], k[1]):
        assert len(mine) == len(theirs)
        assert_same_elements(list(mine), theirs, parity)
    return "ok"


SPLIT_SIZES = [
    dict(left_size=0.8), dict(right_size=0.25), dict(left_size=3), dict(right_size=2),
    dict(left_size=0.3, right_size=0.3), dict(left_size=2, right_size=3),
    dict(left_size=0.5, right_size=4), dict(left_size=4, right_size=0.5),
    dict(left_size=0.25), dict(left_size=0.35), dict(left_size=0.05), dict(),
    dict(left_size=0, right_size=0), dict(left_size=0), dict(left_size=10),
    dict(left_size=11), dict(left_size=1.0), dict(left_size=-0.1), dict(left_size=-1),
    dict(left_size=0.7, right_size=0.5), dict(left_size=6, right_size=6),
    dict(left_size="3"), dict(left_size=True), dict(left_size=3, right_size=[1]),
    dict(left_size=None, right_size=9), dict(left_size=float("nan")),
    dict(left_size=0.5, shuffle=True, seed=3), dict(right_size=3, shuffle=True, seed=11),
]


@pytest.mark.parametrize("kw", SPLIT_SIZES, ids=[str(i) for i in range(len(SPLIT_SIZES))])
def test_split_sizes_match_keras(K: Any, parity: Any, kw: dict) -> None:
    x, y = rows(10, (2,), "float32")
    check_split(K, parity, x, **kw)
    check_split(K, parity, (x, y), **kw)


@pytest.mark.parametrize("dataset", [
    [np.arange(6), np.arange(6) * 2.0], (np.arange(6).reshape(6, 1),),
    np.arange(7), [], (), np.zeros((0, 3)), [np.arange(3), np.arange(4)],
    (np.arange(3), [1, 2, 3]), [1, 2, 3], "abc", 5, None, {"a": np.arange(4)},
])
def test_split_inputs_match_keras(K: Any, parity: Any, dataset: Any) -> None:
    if isinstance(dataset, dict):          # rnnlens accepts a dict (Keras: TypeError)
        left, right = U.split_dataset(dataset, left_size=0.5)
        assert [int(e["a"]) for e in left] == [0, 1] and [int(e["a"]) for e in right] == [2, 3]
        return
    check_split(K, parity, dataset, left_size=0.5)


@SETTINGS
@given(st.integers(1, 25), st.one_of(st.none(), st.integers(-1, 26), st.floats(-0.1, 1.1)),
       st.one_of(st.none(), st.integers(-1, 26), st.floats(-0.1, 1.1)), st.booleans(),
       st.integers(0, 10**6), st.booleans())
def test_random_splits_match_keras(K: Any, parity: Any, n: int, left: Any, right: Any,
                                   shuffle: bool, seed: int, as_tuple: bool) -> None:
    x, y = rows(n, (), "float32")
    check_split(K, parity, (x, y) if as_tuple else x, left_size=left, right_size=right,
                shuffle=shuffle, seed=seed)


def test_split_batched_windows_like_keras(K: Any, parity: Any) -> None:
    data, targets = np.arange(40, dtype=np.float32), np.arange(40)
    kw = dict(sequence_length=3, batch_size=4)
    mine = U.timeseries_dataset_from_array(data, targets, **kw)
    theirs = K.utils.timeseries_dataset_from_array(data, targets, **kw)
    for sizes in (dict(left_size=0.5), dict(right_size=7, shuffle=True, seed=5)):
        check_split(K, parity, mine, theirs, **sizes)
        left, _ = U.split_dataset(mine, **sizes)
        assert all(len(x) <= 4 for x, _ in left)
    unbatched = U.timeseries_dataset_from_array(data, None, 3, batch_size=None)
    check_split(K, parity, unbatched,
                K.utils.timeseries_dataset_from_array(data, None, 3, batch_size=None),
                left_size=10)


def test_split_dataset_rnnlens_only() -> None:
    left, right = U.split_dataset(np.arange(10), left_size=np.int64(3),
                                  right_size=np.float32(0.5))
    assert [int(v) for v in left] == [0, 1, 2] and [int(v) for v in right] == [5, 6, 7, 8, 9]
    with pytest.raises(ValueError, match="infinite"):
        U.split_dataset(U.ArrayDataset(np.arange(3)).repeat(), left_size=1)
    with pytest.raises(ValueError, match="empty"):
        U.split_dataset(U.ArrayDataset(np.arange(3)).take(0), left_size=1)
    with pytest.raises(ValueError, match="same shape"):
        U.split_dataset(U.ArrayDataset(np.arange(5)).batch(2).map(lambda v: v), left_size=1)
