"""FarmHash / SipHash and the Hashing layer against TensorFlow and Keras 3.15.1.

* ``fingerprint64`` equals ``tf.fingerprint(method="farmhash64")`` and
  ``tf.strings.to_hash_bucket_fast`` on thousands of random byte strings of every length
  0-300 (all of FarmHash's length branches and the 64-byte loop), and on UTF-8 text.
* ``siphash64`` equals ``tf.strings.to_hash_bucket_strong`` for several keys (negative
  and 64-bit ones included).
* ``Hashing`` equals Keras for strings, integers, floats and booleans, masks, salts and
  every output mode (hypothesis); ``.keras`` files both ways; clear errors.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available
from rnnlens.layers import Hashing
from rnnlens.layers.preprocessing._hashes import fingerprint64, hash_bucket, siphash64

pytestmark = pytest.mark.keras
BIG = 2**63 - 1


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


@pytest.fixture(scope="module")
def tf(K: Any) -> Any:
    import tensorflow  # noqa: PLC0415

    return tensorflow


@pytest.fixture(scope="module")
def strings() -> list[bytes]:
    rng = random.Random(0)
    out = [bytes(rng.getrandbits(8) for _ in range(n)) for n in range(301) for _ in range(8)]
    out += [s.encode("utf-8") for s in ("", "a", "Ünïcode", "日本語テキスト", "😀" * 30,
                                         "x" * 1000, "straße" * 20)]
    return out


def test_fingerprint64_equals_tensorflow(tf: Any, strings: list[bytes]) -> None:
    raw = tf.fingerprint(tf.constant(strings), method="farmhash64").numpy()
    want = [int.from_bytes(bytes(r), "little") for r in raw]
    got = [fingerprint64(s) for s in strings]
    bad = [(s, g, w) for s, g, w in zip(strings, got, want) if g != w]
    assert not bad, f"{len(bad)} of {len(strings)} differ, first {bad[0]}"


@pytest.mark.parametrize("buckets", [1, 2, 7, 1000, BIG])
def test_hash_bucket_fast_equals_tensorflow(tf: Any, strings: list[bytes], buckets: int) -> None:
    want = tf.strings.to_hash_bucket_fast(tf.constant(strings), buckets).numpy().tolist()
    assert hash_bucket(strings, buckets) == want


@pytest.mark.parametrize("key", [[0, 0], [7, 7], [1, 2], [-1, 5], [2**62, -2**63],
                                 [123456789, 987654321]])
def test_siphash_equals_to_hash_bucket_strong(tf: Any, strings: list[bytes], key: list) -> None:
    sample = strings[::3]
    want = tf.strings.to_hash_bucket_strong(tf.constant(sample), BIG, key=key).numpy()
    assert [siphash64(key, s) % BIG for s in sample] == want.tolist()
    thirteen = tf.strings.to_hash_bucket_strong(tf.constant(sample), 13, key=key).numpy()
    assert hash_bucket(sample, 13, tuple(key)) == thirteen.tolist()


# ---------------------------------------------------------------------------- the layer
@st.composite
def hashing_case(draw: Any) -> tuple[dict, np.ndarray]:
    kind = draw(st.sampled_from(["str", "int", "float", "bool"]))
    mode = draw(st.sampled_from(["int", "one_hot", "multi_hot", "count"]))
    kw: dict = {"num_bins": draw(st.integers(1, 9)), "output_mode": mode,
                "salt": draw(st.sampled_from([None, 3, (1, 2**40), [-5, 9]]))}
    if kind == "str":
        x = draw(st.lists(st.text(max_size=6), min_size=2, max_size=6))
        kw["mask_value"] = draw(st.sampled_from([None, "", "a"]))
        arr = np.array(x, object)
    elif kind == "int":
        arr = np.array(draw(st.lists(st.integers(-2**62, 2**62) | st.integers(-3, 3),
                                     min_size=2, max_size=6)), np.int64)
        kw["mask_value"] = draw(st.sampled_from([None, 0, -1]))
    elif kind == "float":
        arr = np.array(draw(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=6)),
                       np.float32)
        kw["mask_value"] = draw(st.sampled_from([None, 0]))
    else:
        arr = np.array(draw(st.lists(st.booleans(), min_size=2, max_size=6)))
    shape = draw(st.sampled_from(["row", "column", "flat"]))
    arr = arr[None] if shape == "row" else (arr[:, None] if shape == "column" else arr)
    return kw, arr


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=hashing_case())
def test_hashing_matches_keras(K: Any, tf: Any, case: tuple) -> None:
    kw, x = case
    theirs = K.layers.Hashing(**kw)
    feed = tf.constant(x.tolist()) if x.dtype == object else tf.constant(x)
    try:
        want = np.asarray(theirs(feed))
    except Exception:                              # noqa: BLE001 - TF's error kinds
        with pytest.raises((ValueError, TypeError)):
            Hashing(**kw)(x)
        return
    got = Hashing(**kw)(x)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.array_equal(got, want)


def test_hashing_dtype_and_config(K: Any) -> None:
    for kw in (dict(num_bins=4, dtype="int32"), dict(num_bins=4, output_mode="count")):
        ours, theirs = Hashing(**kw), K.layers.Hashing(**kw)
        config = ours.get_config()
        assert {k: v for k, v in config.items() if k != "name"} == \
            {k: v for k, v in theirs.get_config().items() if k != "name"}
        x = np.array([["a", "b"]], object)
        assert ours(x).dtype == np.asarray(theirs(x.tolist())).dtype


def test_hashing_files_both_ways(K: Any, tf: Any, tmp_path: Path) -> None:
    def build(m: Any) -> Any:
        inp = m.Input(shape=(3,), dtype="string")
        return m.Model(inp, m.layers.Hashing(num_bins=6, mask_value="", salt=(3, 4),
                                             output_mode="count")(inp))

    x = np.array([["a", "", "b"], ["c", "c", "x"]], object)
    build(K).save(tmp_path / "k.keras")
    ours = rnnlens.models.load_model(tmp_path / "k.keras")
    want = np.asarray(build(K)(tf.constant(x.tolist())))
    assert np.array_equal(ours.predict(x), want)
    build(rnnlens).save(tmp_path / "r.keras")
    back = K.models.load_model(tmp_path / "r.keras")
    assert np.array_equal(np.asarray(back(tf.constant(x.tolist()))), want)


@pytest.mark.parametrize("kw", [dict(num_bins=0), dict(num_bins=3, output_mode="tf_idf"),
                                dict(num_bins=3, salt="s"), dict(num_bins=3, salt=[1]),
                                dict(num_bins=3, sparse=True), dict(num_bins=3, dtype="float32"),
                                dict(num_bins=None), dict(num_bins=3, mask_value=1.5)], ids=str)
def test_bad_arguments(K: Any, kw: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        Hashing(**kw)(np.array([["a"]]))
    with pytest.raises(Exception):                 # noqa: B017 - Keras's own kinds
        K.layers.Hashing(**kw)(np.array([["a"]]))


def test_bad_inputs() -> None:
    with pytest.raises(TypeError, match="mask value"):
        Hashing(num_bins=3, mask_value="a")(np.array([[1, 2]]))
    with pytest.raises(ValueError, match="not finite"):
        Hashing(num_bins=3)(np.array([np.nan]))
    with pytest.raises(TypeError):
        Hashing(num_bins=3)([{"a": 1}])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(kw=st.dictionaries(st.sampled_from(["num_bins", "mask_value", "salt", "output_mode",
                                           "dtype"]),
                          st.one_of(st.none(), st.integers(-3, 9), st.text(max_size=3),
                                    st.lists(st.integers(-3, 3), max_size=3),
                                    st.sampled_from(["int", "count", "int32", "float32"])),
                          max_size=4),
       x=st.lists(st.text(max_size=3), min_size=1, max_size=4))
def test_fuzz_hashing(kw: dict, x: list) -> None:
    try:
        out = Hashing(**{"num_bins": 3, **kw})(np.array(x, object))
    except (ValueError, TypeError):
        return
    assert isinstance(out, np.ndarray)
