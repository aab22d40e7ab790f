"""``rnnlens.utils`` array helpers against live Keras 3.15.1: ``pad_sequences``,
``to_categorical``, ``normalize``, ``pack/unpack_x_y_sample_weight``, ``PyDataset``,
``Config``, and the lazy package layout.

Parity means: where Keras returns an array, rnnlens returns the same dtype, shape and
values (exactly for integers and strings; ``parity`` at 1e-5 for floats); where Keras
raises (anything), rnnlens raises ValueError or TypeError. The only other outcome allowed
is a documented rnnlens ValueError where Keras returns garbage (NaN / out-of-range values
cast to an integer dtype, a negative label) or accepts a bad option late. Hypothesis drives
random ragged sequences, dtypes, lengths and options through both.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens.utils as U
from oracle import keras_available
from rnnlens.preprocessing import sequence as rn_sequence

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; "
                    "live parity tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", value) or ("err", exception), with NumPy's cast warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn()
        except Exception as exc:  # noqa: BLE001  (the oracle may raise anything)
            return "err", exc


def assert_same_array(actual: Any, expected: Any, parity: Any = None, name: str = "") -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    if parity is not None and actual.dtype.kind in "biuf":
        parity(actual, expected, name=name or "array")
    if actual.dtype.kind == "O":      # NaN padding in an object array: NaN equals NaN here
        for u, v in zip(actual.ravel().tolist(), expected.ravel().tolist()):
            assert u == v or (u != u and v != v), f"{name}: {u!r} != {v!r}"
        return
    np.testing.assert_array_equal(actual, expected)


def assert_rnnlens_error(exc: Any) -> None:
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    assert type(exc).__module__ == "builtins", f"{type(exc)} is not a plain ValueError/TypeError"


# ---------------------------------------------------------------------------- pad_sequences
def _fits(values: Any, dtype: Any) -> bool:
    """Whether every number in ``values`` can be stored in ``dtype`` without garbage."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return True
    if dt.kind not in "iu":
        return True
    arr = np.asarray(values, dtype=object).ravel() if not isinstance(values, (int, float)) \
        else np.asarray([values], dtype=object)
    info = np.iinfo(dt)
    for v in arr:
        if isinstance(v, str) or v is None:
            continue
        v = float(v)
        if not np.isfinite(v) or not info.min - 1 < v < info.max + 1:
            return False
    return True


def _documented_pad_deviation(seqs: list, kw: dict) -> bool:
    """Inputs where rnnlens raises while Keras returns something (see sequence_utils)."""
    if kw.get("padding", "pre") not in ("pre", "post"):
        return True
    if kw.get("truncating", "pre") not in ("pre", "post"):
        return True
    flat = [v for s in seqs for v in np.asarray(s, dtype=object).ravel()]
    value = kw.get("value", 0.0)
    numeric_value = isinstance(value, (int, float)) and not isinstance(value, bool)
    return not _fits(flat, kw.get("dtype", "int32")) or (
        numeric_value and not _fits(value, kw.get("dtype", "int32")))


def check_pad(K: Any, seqs: Any, parity: Any = None, **kw: Any) -> str:
    k = outcome(lambda: K.utils.pad_sequences(seqs, **kw))
    r = outcome(lambda: U.pad_sequences(seqs, **kw))
    if r[0] == "err":
        assert_rnnlens_error(r[1])
        if k[0] == "ok":
            assert _documented_pad_deviation(list(seqs), kw), (
                f"rnnlens raised {r[1]!r} where Keras returned {k[1]!r}")
        return "err"
    assert k[0] == "ok", f"Keras raised {k[1]!r}, rnnlens returned {r[1]!r}"
    assert_same_array(r[1], k[1], parity, "pad_sequences")
    return "ok"


def test_pad_sequences_keras_docstring_examples(K: Any, parity: Any) -> None:
    seqs = [[1], [2, 3], [4, 5, 6]]
    for kw in ({}, {"value": -1}, {"padding": "post"}, {"maxlen": 2},
               {"maxlen": 2, "truncating": "post"}, {"maxlen": 5, "padding": "post"}):
        assert check_pad(K, seqs, parity, **kw) == "ok"
    out = U.pad_sequences(seqs, maxlen=2)
    np.testing.assert_array_equal(out, [[0, 1], [2, 3], [5, 6]])
    assert out.dtype == np.int32
    assert rn_sequence.pad_sequences is U.pad_sequences


CASES = [
    ([[1, 2, 3], [4]], {"maxlen": 0}),
    ([[1, 2, 3], [4]], {"maxlen": 0, "truncating": "post"}),
    ([], {}),
    ([], {"maxlen": 3}),
    ([[], []], {}),
    ([[], [1]], {"maxlen": 3, "padding": "post"}),
    ([[1]], {"value": -1, "dtype": "uint8"}),
    ([[300]], {"dtype": "uint8"}),
    ([np.array([300])], {"dtype": "uint8"}),
    ([np.array([np.nan])], {}),
    ([np.array([np.nan, 1.0])], {"dtype": "float32"}),
    ([[1]], {"value": np.nan, "maxlen": 3}),
    ([[1]], {"value": 1e20, "maxlen": 3}),
    ([[1]], {"value": "x", "dtype": np.object_, "maxlen": 3}),
    ([["a"]], {"value": "x", "dtype": object, "maxlen": 3}),
    ([["ab", "c"]], {"value": "x", "dtype": "U2", "maxlen": 3}),
    ([["ab", "c"]], {"value": "x", "dtype": "S2", "maxlen": 3}),
    ([[1]], {"value": "x", "maxlen": 3}),
    ([[1]], {"padding": "bad"}),
    ([[1]], {"truncating": "middle"}),
    ([[1]], {"maxlen": 2.0}),
    ([[1]], {"maxlen": -1}),
    ([[1]], {"maxlen": np.int64(3)}),
    ([[1]], {"dtype": "foo"}),
    ([1, 2], {}),
    ("abc", {}),
    ([[1, 2], [[3]]], {}),
    ([[[1, 2]], [[3]]], {}),
    ([[[1, 2], [3, 4]], [[5, 6]]], {"maxlen": 3}),
    ([[[1, 2], [3]]], {}),
    ([[1.5, 2.7, -0.5]], {}),
    ([[1.5, 2.7]], {"dtype": "float32", "value": 0.5, "maxlen": 4}),
    ([["1", "2"]], {}),
    ([[None]], {}),
    ([[None]], {"dtype": object}),
    ([[1, None]], {"dtype": "float64"}),
    ([[1]], {"value": None, "maxlen": 2}),
    ([[1]], {"value": None, "maxlen": 2, "dtype": object}),
    ([{1: 2}], {}),
    ([{1, 2}], {}),
    (np.arange(12).reshape(3, 4), {"maxlen": 2, "truncating": "post"}),
    ([np.arange(3.0), np.arange(5.0)], {"dtype": "float64", "padding": "post"}),
    ([[True, False], [True]], {"dtype": "bool"}),
    ([[1, 2**40]], {}),
    ([[1, 2**70]], {"dtype": "int64"}),
    ([[1]], {"maxlen": True}),
    (None, {}),
    (5, {}),
    ((x for x in [[1]]), {}),
    ([b"ab", b"c"], {"dtype": object}),
    ([[1, 2]], {"dtype": "complex64"}),
    ([["a", "bc"], ["d"]], {"dtype": "U3"}),
    ([["a", "bc"], ["d"]], {"dtype": str, "value": 0}),
    ([["a", "bc"], ["d"]], {"dtype": "S2", "value": 1.5}),
    ([[1, 2], [3]], {"dtype": "U3", "maxlen": 3}),
    ([["a", "bc"], ["d"]], {"dtype": str, "value": "pad"}),
    ([["a", "bc"], ["d"]], {"dtype": object}),
]


@pytest.mark.parametrize("seqs,kw", CASES, ids=[str(i) for i in range(len(CASES))])
def test_pad_sequences_edge_cases_match_keras(K: Any, parity: Any, seqs: Any, kw: dict) -> None:
    check_pad(K, seqs, parity, **kw)


def test_pad_sequences_edge_case_outcomes() -> None:
    """The documented decisions, without Keras."""
    with pytest.raises(ValueError, match="maxlen=0 with truncating='pre'"):
        U.pad_sequences([[1, 2, 3], [4]], maxlen=0)
    assert U.pad_sequences([[1, 2, 3]], maxlen=0, truncating="post").shape == (1, 0)
    with pytest.raises(ValueError, match="sequences=\\[\\] and maxlen=None"):
        U.pad_sequences([])
    assert U.pad_sequences([], maxlen=3).shape == (0, 3)
    with pytest.raises(ValueError, match="NaN"):
        U.pad_sequences([np.array([np.nan])])
    with pytest.raises(ValueError, match="do not fit uint8"):
        U.pad_sequences([np.array([300])], dtype="uint8")
    with pytest.raises(ValueError, match="padding value"):
        U.pad_sequences([[1]], value=-1, dtype="uint8")
    with pytest.raises(ValueError, match="Padding type"):
        U.pad_sequences([[]], padding="bad")
    with pytest.raises(ValueError, match="dtype=object"):
        U.pad_sequences([[1]], value="x")
    with pytest.raises(TypeError, match="maxlen"):
        U.pad_sequences([[1]], maxlen=2.0)
    out = U.pad_sequences([["ab", "c"]], value="x", dtype=object, maxlen=3)
    assert out.tolist() == [["x", "ab", "c"]]


def _steps(draw: Any, n: int, feat: tuple, lo: int, hi: int) -> list:
    return draw(st.lists(
        st.integers(lo, hi) if not feat else
        st.lists(st.integers(lo, hi), min_size=feat[0], max_size=feat[0]),
        min_size=n, max_size=n))


@st.composite
def ragged(draw: Any) -> tuple[list, dict]:
    feat = draw(st.sampled_from([(), (), (2,)]))
    lo, hi = draw(st.sampled_from([(0, 50), (-300, 300), (0, 9)]))
    seqs = []
    for _ in range(draw(st.integers(0, 6))):
        seq = _steps(draw, draw(st.integers(0, 7)), feat, lo, hi)
        if draw(st.booleans()):
            seq = np.asarray(seq, dtype=draw(st.sampled_from(["int64", "float64", "int16"])))
            if seq.size == 0 and feat:
                seq = seq.reshape(0, *feat)
        seqs.append(seq)
    kw: dict = {}
    if draw(st.booleans()):
        kw["maxlen"] = draw(st.one_of(st.none(), st.integers(0, 9)))
    for key, options in (("padding", ["pre", "post"]), ("truncating", ["pre", "post"]),
                         ("dtype", ["int32", "int64", "float32", "float64", "int8", "uint8",
                                    "int16", object]),
                         ("value", [0.0, -1, 1.5, 7, 255, 1000, "x", np.nan])):
        if draw(st.booleans()):
            kw[key] = draw(st.sampled_from(options))
    return seqs, kw


@SETTINGS
@given(ragged())
def test_pad_sequences_random_ragged_match_keras(K: Any, parity: Any, case: Any) -> None:
    seqs, kw = case
    check_pad(K, seqs, parity, **kw)


def _reference_pad(seqs: list, maxlen: int, padding: str, truncating: str) -> list:
    rows = []
    for s in seqs:
        s = list(s)
        kept = s[len(s) - maxlen:] if truncating == "pre" and len(s) > maxlen else s[:maxlen]
        pad = [0] * (maxlen - len(kept))
        rows.append(pad + kept if padding == "pre" else kept + pad)
    return rows


@FUZZ
@given(st.lists(st.lists(st.integers(-5, 99), max_size=9), min_size=1, max_size=8),
       st.one_of(st.none(), st.integers(1, 10)), st.sampled_from(["pre", "post"]),
       st.sampled_from(["pre", "post"]))
def test_pad_sequences_property(seqs: list, maxlen: Any, padding: str, truncating: str) -> None:
    """Rows equal an independent reference; shape (n, maxlen); int32."""
    out = U.pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating)
    m = maxlen if maxlen is not None else max(len(s) for s in seqs)
    assert out.shape == (len(seqs), m) and out.dtype == np.int32
    assert out.tolist() == _reference_pad(seqs, m, padding, truncating)


JUNK = st.one_of(
    st.none(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=3),
    st.binary(max_size=3), st.just(np.nan), st.just(object()),
    st.lists(st.one_of(st.integers(-2**70, 2**70), st.floats(), st.none(), st.text(max_size=2)),
             max_size=4),
)


@FUZZ
@given(st.lists(st.one_of(JUNK, st.lists(JUNK, max_size=3)), max_size=4),
       st.one_of(st.none(), st.integers(-2, 5), st.floats(-2, 5), st.text(max_size=2)),
       st.sampled_from(["int32", "uint8", "float32", object, "U3", "foo", None, "int64"]),
       st.one_of(st.sampled_from(["pre", "post", "x", None]), st.integers()),
       st.one_of(st.floats(), st.integers(-2**70, 2**70), st.text(max_size=2), st.none()))
def test_pad_sequences_fuzz(seqs: Any, maxlen: Any, dtype: Any, padding: Any, value: Any) -> None:
    """Garbage in: a result of the promised shape, or a ValueError/TypeError from rnnlens."""
    kind, res = outcome(lambda: U.pad_sequences(seqs, maxlen=maxlen, dtype=dtype,
                                                padding=padding, value=value))
    if kind == "err":
        assert_rnnlens_error(res)
        return
    assert res.shape[:2] == (len(seqs), maxlen if maxlen is not None else res.shape[1])
    if res.dtype.kind in "iu" and isinstance(value, float):
        assert np.isfinite(value)


# ---------------------------------------------------------------------------- to_categorical
CATEGORICAL = [
    ([0, 1, 2], None), ([[0], [1], [2]], None), (np.array([[0], [1], [2]]), 0),
    ([3, 1], 2), ([1.7, 1], None), (2, 4), ([], 4), ([], None), (np.zeros((2, 1, 1)), 3),
    (np.zeros((1,)), 3), (np.array([[1, 0], [2, 1]]), None), (np.array([[1]]), None),
    (np.arange(6).reshape(2, 3, 1) % 4, 5), ([0, 1], 3.0), ([0, 1], -2), (["1", "0"], None),
    (["a"], None), ([[0, 1], [2]], None), (np.array([True, False]), None),
    (np.array([0.9, 2.2], dtype=np.float32), None), ([0, 1], np.int64(4)), (None, 3),
    ([np.nan], 3), ([-1, 1], None), (np.array([-0.5, 1.0]), None), ([0, 1], True),
    ([[[0]]], None), ([2**40], None),
]


@pytest.mark.parametrize("x,num_classes", CATEGORICAL,
                         ids=[str(i) for i in range(len(CATEGORICAL))])
def test_to_categorical_matches_keras(K: Any, parity: Any, x: Any, num_classes: Any) -> None:
    k = outcome(lambda: K.utils.to_categorical(x, num_classes))
    r = outcome(lambda: U.to_categorical(x, num_classes))
    if r[0] == "err":
        assert_rnnlens_error(r[1])
        flat = np.asarray(x, dtype=object).ravel() if x is not None else []
        negative = any(isinstance(v, (int, float, np.number)) and v <= -1 for v in flat)
        nan = any(isinstance(v, float) and not np.isfinite(v) for v in flat)
        huge = any(isinstance(v, (int, np.integer)) and v > 2**30 for v in flat)
        assert k[0] == "err" or negative or nan or huge, f"rnnlens raised {r[1]!r}"
        return
    assert k[0] == "ok", f"Keras raised {k[1]!r}"
    assert_same_array(r[1], k[1], parity, "to_categorical")


def test_to_categorical_documented_errors() -> None:
    with pytest.raises(ValueError, match="label -1"):
        U.to_categorical([-1, 1])
    with pytest.raises(ValueError, match="label 3"):
        U.to_categorical([3, 1], num_classes=2)
    with pytest.raises(ValueError, match="NaN"):
        U.to_categorical(np.array([np.nan, 1.0]))
    out = U.to_categorical(np.array([[0], [2]]))
    assert out.shape == (2, 3) and out.dtype == np.float64


@SETTINGS
@given(st.lists(st.integers(0, 6), min_size=1, max_size=12), st.sampled_from([
    (-1,), (-1, 1), (1, -1), (-1, 2, 1)]), st.one_of(st.none(), st.integers(7, 9)))
def test_to_categorical_random_match_keras(K: Any, parity: Any, labels: list,
                                           shape: tuple, num_classes: Any) -> None:
    n = len(labels) - len(labels) % 2 if shape == (-1, 2, 1) else len(labels)
    if n == 0:
        return
    x = np.asarray(labels[:n]).reshape(shape)
    assert_same_array(U.to_categorical(x, num_classes), K.utils.to_categorical(x, num_classes),
                      parity, "to_categorical")


@FUZZ
@given(st.one_of(JUNK, st.lists(JUNK, max_size=4),
                 st.lists(st.integers(-3, 20), max_size=5).map(np.asarray)),
       st.one_of(st.none(), st.integers(-3, 30), st.floats(), st.text(max_size=2)))
def test_to_categorical_fuzz(x: Any, num_classes: Any) -> None:
    kind, res = outcome(lambda: U.to_categorical(x, num_classes))
    if kind == "err":
        assert_rnnlens_error(res)
        return
    assert np.all((res == 0) | (res == 1))
    assert np.all(res.sum(axis=-1) == 1)


# ---------------------------------------------------------------------------- normalize
NORMALIZE = [
    (np.array([3.0, 4.0]), {}),
    ([3.0, 4.0], {}),
    ([[3, 4], [0, 0]], {}),
    ([[3.0, 4.0], [0, 0]], {"order": 1}),
    ([[3.0, 4.0], [1, 2]], {"order": 3}),
    ([[3.0, 4.0], [1, 2]], {"axis": None}),
    ([[3.0, 4.0], [1, 2]], {"axis": None, "order": 1}),
    ([[3.0, 4.0], [1, 2]], {"axis": 0}),
    ([[3.0, 4.0], [1, 2]], {"order": 2.0}),
    ([[3, 4], [1, 2]], {"order": 1}),
    (3.0, {}),
    (np.float64(3.0), {}),
    ([[1e-9, 0.0]], {}),
    ([[1e-9, 0.0]], {"order": 1}),
    ([[True, False]], {}),
    ([[3.0, 4.0], [1, 2]], {"axis": (0, 1)}),
    (np.array([[3.0, 4.0], [1, 2]]), {"axis": (0, 1)}),
    (np.array([[3.0, 4.0], [1, 2]]), {"order": np.inf}),
    (np.array([[3.0, 4.0], [1, 2]]), {"order": 0}),
    (np.array([[3.0, 4.0], [1, 2]]), {"order": 1}),
    (np.array([[3.0, 4.0], [1, 2]]), {"order": "fro"}),
    (np.array([[3.0, 4.0], [1, 2]]), {"axis": 2}),
    (np.array([[3.0, 4.0], [1, 2]], dtype=np.float32), {}),
    (np.array([[3.0, 4.0], [1, 2], [5, 6]]), {"axis": None}),
    (np.array([[3, 4], [1, 2], [5, 6]]), {"order": 1}),
    (np.zeros((2, 3, 4)), {"axis": None}),
    (np.zeros((2, 3, 4)), {"axis": 1}),
    (np.array(5.0), {}),
    (np.array(["a"]), {}),
    (np.array([[3.0, 4.0], [0, 0]]), {"axis": 0}),
    (np.array([[3.0, 4.0, 1.0]]), {"axis": -2}),
    (np.array([[1.0], [2.0]]), {"axis": 0}),
    (np.array([True, False]), {}),
    (np.zeros((0, 3)), {}),
]


@pytest.mark.parametrize("x,kw", NORMALIZE, ids=[str(i) for i in range(len(NORMALIZE))])
def test_normalize_matches_keras(K: Any, parity: Any, x: Any, kw: dict) -> None:
    k = outcome(lambda: np.asarray(K.utils.normalize(x, **kw)))
    r = outcome(lambda: U.normalize(x, **kw))
    axis0_fix = isinstance(x, np.ndarray) and x.ndim >= 2 and kw.get("axis") == 0
    if axis0_fix:   # Keras's `axis or -1`; rnnlens normalises the columns (checked below)
        return
    if r[0] == "err":
        assert_rnnlens_error(r[1])
        assert k[0] == "err", f"rnnlens raised {r[1]!r}, Keras returned {k[1]!r}"
        return
    assert k[0] == "ok", f"Keras raised {k[1]!r}"
    assert r[1].dtype == k[1].dtype and r[1].shape == k[1].shape
    parity(r[1], k[1], name="normalize")


def test_normalize_axis0_normalises_columns(K: Any, parity: Any) -> None:
    """rnnlens's ``axis=0``: equal to Keras's ``axis=-2`` (Keras's own ``axis=0`` is wrong)."""
    rng = np.random.default_rng(0)
    for shape in [(3, 3), (4, 2), (1, 5), (2, 3, 4)]:
        x = rng.normal(size=shape)
        expected = K.utils.normalize(x, axis=-x.ndim)
        parity(U.normalize(x, axis=0), expected, name="normalize axis=0")
        np.testing.assert_allclose(np.linalg.norm(U.normalize(x, axis=0), axis=0), 1.0)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 5), st.sampled_from([-1, 1, -2, None]),
       st.sampled_from([1, 2, 3, np.inf]), st.integers(0, 2**16), st.booleans(),
       st.booleans())
def test_normalize_random_match_keras(K: Any, parity: Any, rows: int, cols: int, axis: Any,
                                      order: Any, seed: int, as_list: bool, zero_row: bool
                                      ) -> None:
    x = np.random.default_rng(seed).normal(size=(rows, cols))
    if zero_row:
        x[0] = 0.0
    if as_list:
        if order == np.inf:
            return
        x = x.tolist()
    else:
        x = x.astype(np.float32)
    check = outcome(lambda: np.asarray(K.utils.normalize(x, axis=axis, order=order)))
    r = outcome(lambda: U.normalize(x, axis=axis, order=order))
    if check[0] == "err":
        assert r[0] == "err"
        assert_rnnlens_error(r[1])
        return
    assert r[0] == "ok", f"rnnlens raised {r[1]!r}"
    assert r[1].dtype == check[1].dtype and r[1].shape == check[1].shape
    parity(r[1], check[1], name="normalize")


# ---------------------------------------------------------------------------- small helpers
@pytest.mark.parametrize("data", [
    np.ones(2), (np.ones(2),), (1, 2), [1, 2], (1, 2, 3), [1, 2, 3, 4], (1, 2, 3, 4, 5),
    {"a": 1}, (), [], None,
])
def test_unpack_x_y_sample_weight_matches_keras(K: Any, data: Any) -> None:
    k = outcome(lambda: K.utils.unpack_x_y_sample_weight(data))
    r = outcome(lambda: U.unpack_x_y_sample_weight(data))
    assert k[0] == r[0], (k, r)
    if r[0] == "err":
        assert_rnnlens_error(r[1])
        return
    assert len(r[1]) == 3 and all(a is b for a, b in zip(r[1], k[1]))


@pytest.mark.parametrize("args", [
    (1,), ((1, 2),), ([1, 2],), (1, 2), (1, None, 3), (1, 2, 3), ({"a": 1},), ((1, 2), 3),
])
def test_pack_x_y_sample_weight_matches_keras(K: Any, args: tuple) -> None:
    r = U.pack_x_y_sample_weight(*args)
    k = K.utils.pack_x_y_sample_weight(*args)
    assert type(r) is type(k) and r == k


class _Squares(U.PyDataset):
    def __init__(self, n: int, batch_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.x = np.arange(n, dtype=np.float32)
        self.batch_size = batch_size
        self.epochs_ended = 0

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, idx: int) -> Any:
        lo = idx * self.batch_size
        xb = self.x[lo:lo + self.batch_size]
        return xb, xb**2

    def on_epoch_end(self) -> None:
        self.epochs_ended += 1


def test_py_dataset_iterates_like_keras(K: Any) -> None:
    class KSquares(K.utils.PyDataset):
        def __init__(self, n: int, batch_size: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.x = np.arange(n, dtype=np.float32)
            self.batch_size = batch_size

        __len__ = _Squares.__len__
        __getitem__ = _Squares.__getitem__

    mine, theirs = _Squares(10, 4, workers=3, use_multiprocessing=True), KSquares(10, 4)
    assert len(mine) == len(theirs) == mine.num_batches == 3
    for (a, b), (c, d) in zip(mine, theirs, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert (mine.workers, mine.use_multiprocessing, mine.max_queue_size) == (3, True, 10)
    assert U.Sequence is U.PyDataset
    mine.on_epoch_begin()
    mine.on_epoch_end()
    assert mine.epochs_ended == 1


def test_py_dataset_base_behaviour() -> None:
    with pytest.raises(NotImplementedError):
        U.PyDataset()[0]
    with pytest.raises(NotImplementedError, match="num_batches"):
        _ = U.PyDataset().num_batches

    class Endless(U.PyDataset):
        def __init__(self) -> None:      # no super().__init__: Keras warns on first use
            pass

        def __getitem__(self, idx: int) -> int:
            return idx

    ds = Endless()
    it = iter(ds)
    assert [next(it) for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.warns(UserWarning, match="super\\(\\).__init__"):
        assert ds.workers == 1


def test_config_behaves_like_keras(K: Any) -> None:
    for cls in (U.Config, K.utils.Config):
        c = cls(learning_rate=0.1, momentum=0.9)
        c.seed = 123
        c["zeta"] = 1
        assert c.seed == 123 and c["learning_rate"] == 0.1 and "zeta" in c
        assert list(c) == ["learning_rate", "momentum", "seed", "zeta"] and len(c) == 4
        assert c.as_dict() == {"learning_rate": 0.1, "momentum": 0.9, "seed": 123, "zeta": 1}
        assert c.to_json() == ('{"learning_rate": 0.1, "momentum": 0.9, "seed": 123, '
                               '"zeta": 1}')
        with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
            _ = c.momentun
        c.freeze()
        assert c.frozen
        for method, args in (("__setattr__", ("x", 1)), ("pop", ("seed",)),
                             ("update", ({"a": 1},)), ("__delitem__", ("seed",)),
                             ("__setitem__", ("seed", 2))):
            with pytest.raises(ValueError, match="frozen"):
                getattr(c, method)(*args)
        c.unfreeze()
        c.x = 2
        assert c.get("x") == 2 and c.get("nope", 5) == 5


def test_progbar_is_the_callbacks_one() -> None:
    from rnnlens import callbacks  # noqa: PLC0415

    assert U.Progbar is callbacks.Progbar


def test_utils_exports_keras_names(K: Any) -> None:
    for name in U.__all__:
        assert hasattr(K.utils, name) or name == "ArrayDataset", name
        assert getattr(U, name) is not None
    assert U.set_random_seed.__module__ == "rnnlens.random"
    with pytest.raises(AttributeError):
        _ = U.no_such_helper
    assert set(U.__all__) <= set(dir(U))


def test_import_rnnlens_utils_stays_cheap() -> None:
    """``import rnnlens.utils`` loads none of the data modules (they load on first use)."""
    code = ("import sys, rnnlens.utils as U; "
            "heavy = [m for m in sys.modules if m.startswith('rnnlens.utils.')]; "
            "print(heavy); U.pad_sequences; "
            "print('rnnlens.utils.sequence_utils' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"
