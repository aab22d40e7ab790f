"""``rnnlens.random`` against live Keras 3.15.1 (TensorFlow).

TensorFlow's random streams cannot be reproduced, so the draws are compared in law:

* shapes and dtypes equal Keras's for every function, default and explicit dtypes;
* two-sample Kolmogorov-Smirnov statistics between 50 000 Keras draws and 50 000
  rnnlens draws stay under the 1e-6-level critical value (continuous laws), and class
  frequencies agree within 6 binomial standard deviations (discrete laws);
* moments against the closed forms, the truncation bound at 2 stddev, the half-open
  ranges, dropout's exact kept values (``x / (1 - rate)`` in the input dtype, equal to
  Keras's) and noise_shape broadcasting;
* seeds: an int seed repeats, a ``SeedGenerator`` advances (its state sequence equals
  Keras's), ``seed=7`` equals the first draw of ``SeedGenerator(7)`` in both libraries,
  and ``set_random_seed`` makes unseeded draws reproducible;
* bad arguments: Keras's ValueError / TypeError where Keras raises one, a ValueError or
  TypeError from rnnlens where TensorFlow fails otherwise or returns NaN; hypothesis
  fuzz accepts only a correct result or ValueError / TypeError.

Every seed is fixed, so the statistical checks are deterministic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import keras_available
from rnnlens import random as R
from rnnlens.backend import set_floatx

N = 50_000


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


def np_of(t: Any) -> np.ndarray:
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """max |F_a - F_b| over the pooled sample (two-sample Kolmogorov-Smirnov)."""
    a, b = np.sort(np.ravel(a).astype(np.float64)), np.sort(np.ravel(b).astype(np.float64))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def ks_critical(n: int, m: int, alpha: float = 1e-6) -> float:
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


# ---------------------------------------------------------------------------- shapes, dtypes
CALLS = [
    ("normal", lambda M, d: M.random.normal((3, 4), dtype=d, seed=1), [None, "float16",
                                                                        "float64"]),
    ("uniform", lambda M, d: M.random.uniform((2, 5), dtype=d, seed=1), [None, "float64"]),
    ("truncated_normal", lambda M, d: M.random.truncated_normal((4,), dtype=d, seed=1),
     [None, "float16"]),
    ("randint", lambda M, d: M.random.randint((2, 3), 0, 7, dtype=d, seed=1),
     ["int32", "int64", "uint8", "int8", "int16"]),
    ("categorical", lambda M, d: M.random.categorical(np.zeros((2, 3), "float32"), 5,
                                                      dtype=d, seed=1),
     ["int32", "int64", "float32"]),
    ("gamma", lambda M, d: M.random.gamma((3, 2), 2.0, dtype=d, seed=1), [None, "float64"]),
    ("binomial", lambda M, d: M.random.binomial((3,), 5, 0.5, dtype=d, seed=1),
     [None, "float64", "int32"]),
    ("beta", lambda M, d: M.random.beta((2, 2), 2.0, 3.0, dtype=d, seed=1), [None, "float64"]),
    ("shuffle", lambda M, d: M.random.shuffle(np.arange(6, dtype=d).reshape(3, 2), seed=1),
     ["int32", "float64", "uint8"]),
    ("dropout", lambda M, d: M.random.dropout(np.ones((4, 3), d), 0.5, seed=1),
     ["float32", "float16", "float64"]),
]


@pytest.mark.parametrize("name,call,dtypes", CALLS, ids=[c[0] for c in CALLS])
def test_shapes_and_dtypes_equal_keras(K: Any, name: str, call: Any, dtypes: list) -> None:
    import rnnlens  # noqa: PLC0415

    for d in dtypes:
        k, r = call(K, d), call(rnnlens, d)
        assert isinstance(r, np.ndarray), f"{name}({d}) returned {type(r).__name__}"
        assert r.shape == tuple(k.shape), f"{name}({d}): shape {r.shape} vs {tuple(k.shape)}"
        assert r.dtype.name == K.backend.standardize_dtype(k.dtype), f"{name}({d}) dtype"


def test_defaults_follow_floatx(K: Any) -> None:
    set_floatx("float64")
    try:
        for fn in (lambda: R.normal((2,)), lambda: R.uniform((2,)), lambda: R.gamma((2,), 1.0),
                   lambda: R.truncated_normal((2,)), lambda: R.beta((2,), 1.0, 1.0),
                   lambda: R.binomial((2,), 3, 0.5)):
            assert fn().dtype == np.float64
        assert R.randint((2,), 0, 3).dtype == np.int32
    finally:
        set_floatx("float32")
    assert R.normal((2,)).dtype == np.float32


def test_signatures_equal_keras(K: Any) -> None:
    import inspect  # noqa: PLC0415

    for name in ("normal", "uniform", "randint", "truncated_normal", "dropout", "shuffle",
                 "categorical", "gamma", "binomial", "beta"):
        ours = inspect.signature(getattr(R, name)).parameters
        theirs = inspect.signature(getattr(K.random, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()], name
    assert sorted(n for n in dir(K.random) if not n.startswith("_")) == sorted(
        set(R.__all__) - {"generator", "set_random_seed"})


# ---------------------------------------------------------------------------- laws vs Keras
CONTINUOUS = [
    ("normal", lambda M, s: M.random.normal((N,), mean=1.5, stddev=2.0, seed=s)),
    ("truncated_normal", lambda M, s: M.random.truncated_normal((N,), 0.5, 3.0, seed=s)),
    ("uniform", lambda M, s: M.random.uniform((N,), -2.0, 5.0, seed=s)),
    ("gamma_small", lambda M, s: M.random.gamma((N,), 0.5, seed=s)),
    ("gamma", lambda M, s: M.random.gamma((N,), 3.0, seed=s)),
    ("beta", lambda M, s: M.random.beta((N,), 2.0, 5.0, seed=s)),
]


@pytest.mark.parametrize("name,draw", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_continuous_laws_match_keras(K: Any, name: str, draw: Any) -> None:
    import rnnlens  # noqa: PLC0415

    d = ks_statistic(np_of(draw(K, 11)), draw(rnnlens, 11))
    assert d < ks_critical(N, N), f"{name}: KS statistic {d:.4f} vs Keras"


DISCRETE = [
    ("randint", lambda M, s: M.random.randint((N,), -3, 4, seed=s), range(-3, 4)),
    ("binomial", lambda M, s: M.random.binomial((N,), 10, 0.3, seed=s), range(0, 11)),
    ("categorical", lambda M, s: M.random.categorical(
        np.log(np.array([[0.05, 0.5, 0.15, 0.3]], "float32")), N, seed=s)[0], range(4)),
]


@pytest.mark.parametrize("name,draw,support", DISCRETE, ids=[c[0] for c in DISCRETE])
def test_discrete_laws_match_keras(K: Any, name: str, draw: Any, support: range) -> None:
    import rnnlens  # noqa: PLC0415

    k, r = np_of(draw(K, 5)), draw(rnnlens, 5)
    assert set(np.unique(r)) <= set(support)
    for v in support:
        pk, pr = np.mean(k == v), np.mean(r == v)
        p = (pk + pr) / 2
        sd = math.sqrt(max(p * (1 - p), 1e-12) * 2 / N)
        assert abs(pk - pr) <= 6 * sd + 1e-12, f"{name}: P({v}) {pr:.4f} vs Keras {pk:.4f}"


# ---------------------------------------------------------------------------- closed forms
def _mean_var_close(x: np.ndarray, mean: float, var: float, name: str) -> None:
    x = x.astype(np.float64)
    n = x.size
    assert abs(x.mean() - mean) <= 6 * math.sqrt(var / n), f"{name}: mean {x.mean()}"
    assert abs(x.var() - var) <= 0.025 * var, f"{name}: variance {x.var()} vs {var}"


def test_moments_and_bounds() -> None:
    n = 200_000
    x = R.normal((n,), mean=-1.0, stddev=0.5, seed=3)
    _mean_var_close(x, -1.0, 0.25, "normal")
    t = R.truncated_normal((n,), mean=2.0, stddev=3.0, seed=3)
    assert np.all(np.abs(t.astype(np.float64) - 2.0) <= 6.0 * (1 + 1e-6)), "truncation"
    assert np.abs(t - 2.0).max() > 5.9                     # the bound is reached, not lower
    _mean_var_close(t, 2.0, 9.0 * 0.7737413, "truncated_normal")   # Var of N(0,1) | |z|<=2
    u = R.uniform((n,), 1.0, 3.0, seed=3)
    assert u.min() >= 1.0 and u.max() < 3.0
    _mean_var_close(u, 2.0, 4.0 / 12, "uniform")
    g = R.gamma((n,), 2.5, seed=3)
    assert g.min() > 0
    _mean_var_close(g, 2.5, 2.5, "gamma")
    b = R.beta((n,), 2.0, 3.0, seed=3)
    assert 0 <= b.min() and b.max() <= 1
    _mean_var_close(b, 0.4, 6 / (25 * 6), "beta")
    c = R.binomial((n,), 20, 0.25, seed=3)
    assert np.all(c == np.round(c)) and c.min() >= 0 and c.max() <= 20
    _mean_var_close(c, 5.0, 3.75, "binomial")
    i = R.randint((n,), 10, 15, seed=3)
    assert set(np.unique(i)) == {10, 11, 12, 13, 14}


def test_broadcast_parameters() -> None:
    mean = np.array([0.0, 10.0, -10.0])
    x = R.normal((50_000, 3), mean=mean, stddev=np.array([1.0, 0.1, 2.0]), seed=2)
    assert np.allclose(x.mean(0), mean, atol=0.05)
    assert np.allclose(x.std(0), [1.0, 0.1, 2.0], rtol=0.03)
    g = R.gamma((40_000, 2), np.array([1.0, 4.0]), seed=2)
    assert np.allclose(g.mean(0), [1.0, 4.0], rtol=0.05)


def test_uniform_never_reaches_maxval_in_float16() -> None:
    x = R.uniform((200_000,), 0.0, 1.0, dtype="float16", seed=0)
    assert x.max() < 1.0 and x.dtype == np.float16


def test_categorical_frequencies_and_impossible_classes() -> None:
    logits = np.array([[0.0, np.log(3.0), -np.inf, np.log(6.0)],
                       [5.0, -np.inf, -np.inf, -np.inf]])
    s = R.categorical(logits, 100_000, seed=4)
    freq = np.bincount(s[0], minlength=4) / s.shape[1]
    assert np.allclose(freq, [0.1, 0.3, 0.0, 0.6], atol=0.006)
    assert np.all(s[1] == 0)


# ---------------------------------------------------------------------------- dropout, shuffle
def test_dropout_kept_values_equal_keras(K: Any) -> None:
    x = np.random.default_rng(0).normal(size=(64, 32)).astype("float32")
    for rate in (0.1, 0.3, 0.77):
        k, r = np_of(K.random.dropout(x, rate, seed=3)), R.dropout(x, rate, seed=3)
        scaled = x * np.float32(1 / (1 - rate))       # TF's scale: Python float, cast
        np.testing.assert_array_equal(k[k != 0], scaled[k != 0])      # Keras's kept values
        kept = r != 0
        np.testing.assert_array_equal(r[kept], scaled[kept])          # rnnlens's, the same
        frac = 1 - kept.mean()
        assert abs(frac - rate) < 6 * math.sqrt(rate * (1 - rate) / x.size), rate
    np.testing.assert_array_equal(R.dropout(x, 0.0), np_of(K.random.dropout(x, 0.0)))
    np.testing.assert_array_equal(R.dropout(x, 1.0), np_of(K.random.dropout(x, 1.0)))


def test_dropout_noise_shape_broadcasts_like_keras(K: Any) -> None:
    x = np.ones((6, 5, 4), "float32")
    for ns in [(None, 1, None), (6, 1, 1), (1, 5, 1), (4,), (None, 5, 1)]:
        r = R.dropout(x, 0.5, noise_shape=ns, seed=9)
        k = np_of(K.random.dropout(x, 0.5, noise_shape=ns, seed=9))
        for out in (r, k):
            conc = [x.shape[i] if d is None else d for i, d in enumerate(ns)]
            full = (1,) * (3 - len(conc)) + tuple(conc)
            for axis in range(3):
                if full[axis] == 1:
                    assert np.all(out == out.take([0], axis=axis)), (ns, axis)
        assert r.shape == k.shape


def test_shuffle_permutes_along_axis(K: Any) -> None:
    x = np.arange(40).reshape(8, 5)
    for axis in (0, 1, -1):
        r = R.shuffle(x, axis=axis, seed=1)
        k = np_of(K.random.shuffle(x, axis=axis, seed=1))
        for out in (r, k):
            assert sorted(map(tuple, np.moveaxis(out, axis, 0))) == \
                sorted(map(tuple, np.moveaxis(x, axis, 0)))
        assert r.dtype == k.dtype
    assert not np.array_equal(R.shuffle(np.arange(50), seed=1), np.arange(50))


# ---------------------------------------------------------------------------- seeds
def test_int_seed_repeats_and_generators_advance() -> None:
    for fn in (lambda s: R.normal((5,), seed=s), lambda s: R.uniform((5,), seed=s),
               lambda s: R.randint((5,), 0, 1000, seed=s),
               lambda s: R.dropout(np.ones(50, "float32"), 0.5, seed=s),
               lambda s: R.shuffle(np.arange(20), seed=s), lambda s: R.beta((5,), 1., 2., seed=s),
               lambda s: R.categorical(np.zeros((1, 50)), 5, seed=s)):
        np.testing.assert_array_equal(fn(42), fn(42))
        assert not np.array_equal(fn(42), fn(43))
        g1, g2 = R.SeedGenerator(42), R.SeedGenerator(42)
        a, b = fn(g1), fn(g1)
        assert not np.array_equal(a, b)                       # advanced
        np.testing.assert_array_equal(a, fn(g2))              # same sequence
        np.testing.assert_array_equal(b, fn(g2))
        np.testing.assert_array_equal(fn(42), fn(R.SeedGenerator(42)))


def test_int_seed_equals_first_generator_draw_in_keras_too(K: Any) -> None:
    k1 = np_of(K.random.normal((4,), seed=7))
    k2 = np_of(K.random.normal((4,), seed=K.random.SeedGenerator(7)))
    np.testing.assert_array_equal(k1, k2)                    # the property rnnlens keeps
    np.testing.assert_array_equal(R.normal((4,), seed=7),
                                  R.normal((4,), seed=R.SeedGenerator(7)))


def test_seed_generator_state_sequence_equals_keras(K: Any) -> None:
    for seed in (7, -3, 2**40):
        kg, rg = K.random.SeedGenerator(seed, name="g"), R.SeedGenerator(seed, name="g")
        for ordered in (True, True, False, True, False):
            np.testing.assert_array_equal(rg.next(ordered=ordered),
                                          np_of(kg.next(ordered=ordered)))
            np.testing.assert_array_equal(rg.state, np_of(kg.state))
        assert rg.get_config() == kg.get_config()
        assert rg.state.dtype == np.int64


def test_seed_generator_default_names_and_seed(K: Any) -> None:
    import rnnlens  # noqa: PLC0415

    rnnlens.backend.clear_session()
    K.backend.clear_session()
    names = [(R.SeedGenerator().name, K.random.SeedGenerator().name) for _ in range(3)]
    assert [a for a, _ in names] == [b for _, b in names] == \
        ["seed_generator", "seed_generator_1", "seed_generator_2"]
    assert R.SeedGenerator().get_config()["seed"] is None


def test_set_random_seed_makes_unseeded_draws_reproducible() -> None:
    def run() -> list:
        R.set_random_seed(123)
        g = R.SeedGenerator()
        return [R.normal((3,)), R.uniform((2,)), R.randint((4,), 0, 9),
                R.normal((3,), seed=g), R.normal((3,), seed=g),
                R.dropout(np.ones(20, "float32"), 0.5), R.shuffle(np.arange(10))]

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)
    R.set_random_seed(124)
    assert not np.array_equal(R.normal((3,)), run()[0])


def test_set_random_seed_seeds_python_and_numpy_globals_like_keras(K: Any) -> None:
    """keras.utils.set_random_seed also seeds ``random`` and ``np.random`` (examples
    shuffle with ``np.random.shuffle`` after seeding)."""
    import random

    def draws(seed_fn: Any) -> tuple:
        seed_fn(11)
        order = np.arange(8)
        np.random.shuffle(order)
        return tuple(order), random.random(), tuple(np.random.rand(2))

    assert draws(R.set_random_seed) == draws(K.utils.set_random_seed)
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match="2\\*\\*32"):
            R.set_random_seed(bad)


# ---------------------------------------------------------------------------- errors
BAD = [
    ("seed float", lambda M: M.random.normal((2,), seed=1.5)),
    ("seed numpy int", lambda M: M.random.normal((2,), seed=np.int64(1))),
    ("seed str", lambda M: M.random.uniform((2,), seed="a")),
    ("seed bool", lambda M: M.random.normal((2,), seed=True)),
    ("seed 2**70", lambda M: M.random.normal((2,), seed=2**70)),
    ("shape int", lambda M: M.random.normal(3, seed=1)),
    ("shape None", lambda M: M.random.normal((None, 2), seed=1)),
    ("shape negative", lambda M: M.random.normal((2, -1), seed=1)),
    ("shape float", lambda M: M.random.normal((2.0, 2), seed=1)),
    ("normal int dtype", lambda M: M.random.normal((2,), dtype="int32", seed=1)),
    ("normal bad dtype", lambda M: M.random.normal((2,), dtype="foo", seed=1)),
    ("normal mean shape", lambda M: M.random.normal((2, 3), mean=np.zeros(4), seed=1)),
    ("uniform int dtype", lambda M: M.random.uniform((2,), dtype="int32", seed=1)),
    ("uniform bool dtype", lambda M: M.random.uniform((2,), dtype="bool", seed=1)),
    ("uniform bad dtype", lambda M: M.random.uniform((2,), dtype="foo", seed=1)),
    ("randint float dtype", lambda M: M.random.randint((3,), 0, 5, dtype="float32", seed=1)),
    ("randint min=max", lambda M: M.random.randint((3,), 5, 5, seed=1)),
    ("randint min>max", lambda M: M.random.randint((3,), 6, 5, seed=1)),
    ("randint float bound", lambda M: M.random.randint((3,), 0.5, 5, seed=1)),
    ("randint None dtype", lambda M: M.random.randint((3,), 0, 5, dtype=None, seed=1)),
    ("truncated int dtype", lambda M: M.random.truncated_normal((2,), dtype="int32", seed=1)),
    ("dropout rate 1.5", lambda M: M.random.dropout(np.ones(3, "float32"), 1.5, seed=1)),
    ("dropout rate -0.5", lambda M: M.random.dropout(np.ones(3, "float32"), -0.5, seed=1)),
    ("dropout rate str", lambda M: M.random.dropout(np.ones(3, "float32"), "a", seed=1)),
    ("dropout ints", lambda M: M.random.dropout(np.ones(3, "int32"), 0.5, seed=1)),
    ("dropout noise shape", lambda M: M.random.dropout(np.ones((2, 3), "float32"), 0.5,
                                                        noise_shape=(2, 2), seed=1)),
    ("shuffle axis", lambda M: M.random.shuffle(np.ones((2, 3)), axis=2, seed=1)),
    ("shuffle scalar", lambda M: M.random.shuffle(np.float32(3), seed=1)),
    ("categorical 1-D", lambda M: M.random.categorical(np.zeros(3), 4, seed=1)),
    ("categorical n<0", lambda M: M.random.categorical(np.zeros((2, 3)), -1, seed=1)),
    ("categorical 0 classes", lambda M: M.random.categorical(np.zeros((2, 0)), 4, seed=1)),
    ("gamma int dtype", lambda M: M.random.gamma((3,), 2.0, dtype="int32", seed=1)),
    ("gamma alpha shape", lambda M: M.random.gamma((2, 3), np.ones(2), seed=1)),
    ("beta broadcast", lambda M: M.random.beta((2, 3), np.ones(2), 3.0, seed=1)),
    ("beta int dtype", lambda M: M.random.beta((3,), 2.0, 3.0, dtype="int32", seed=1)),
    ("SeedGenerator float", lambda M: M.random.SeedGenerator(1.5)),
    ("SeedGenerator numpy int", lambda M: M.random.SeedGenerator(np.int64(3))),
    ("SeedGenerator kwarg", lambda M: M.random.SeedGenerator(3, foo=1)),
]
#: Where TensorFlow returns garbage, rnnlens refuses (ValueError); Keras gives no error.
REFUSED = [
    ("gamma alpha<0", lambda: R.gamma((3,), -1.0, seed=1)),
    ("beta alpha<0", lambda: R.beta((3,), -2.0, 3.0, seed=1)),
    ("binomial p>1", lambda: R.binomial((3,), 5, 1.5, seed=1)),
    ("binomial n<0", lambda: R.binomial((3,), -5, 0.5, seed=1)),
    ("binomial n=5.5", lambda: R.binomial((3,), 5.5, 0.5, seed=1)),
    ("categorical all -inf", lambda: R.categorical(np.full((1, 3), -np.inf), 5, seed=1)),
    ("categorical nan", lambda: R.categorical(np.full((1, 3), np.nan), 5, seed=1)),
    ("randint out of uint8", lambda: R.randint((3,), 0, 300, dtype="uint8", seed=1)),
    ("normal nan mean", lambda: R.normal((3,), mean=np.nan, seed=1)),
]


def _error(fn: Any) -> type | None:
    try:
        fn()
    except Exception as err:  # noqa: BLE001
        return type(err)
    return None


@pytest.mark.parametrize("name,call", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_like_keras(K: Any, name: str, call: Any) -> None:
    import rnnlens  # noqa: PLC0415

    theirs, ours = _error(lambda: call(K)), _error(lambda: call(rnnlens))
    assert theirs is not None, f"{name}: Keras accepted it"
    assert ours in (ValueError, TypeError), f"{name}: rnnlens raised {ours}"
    if theirs in (ValueError, TypeError):
        assert ours is theirs, f"{name}: rnnlens {ours.__name__}, Keras {theirs.__name__}"


@pytest.mark.parametrize("name,call", REFUSED, ids=[b[0] for b in REFUSED])
def test_garbage_in_is_refused(name: str, call: Any) -> None:
    with pytest.raises(ValueError):
        call()


ANY = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                st.text(max_size=3), st.just((2, 3)), st.just(np.ones((2, 2))),
                st.just(R.SeedGenerator(1)))
SHAPES = st.one_of(st.lists(st.integers(-2, 4), max_size=3).map(tuple), ANY)
DTYPES = st.sampled_from([None, "float16", "float32", "float64", "int8", "int32", "uint8",
                          "bool", "bfloat16", "foo", 3, np.float32, "complex64"])
SEEDS = st.one_of(st.none(), st.integers(-(2**64), 2**64), st.floats(), st.booleans(),
                  st.text(max_size=2))
FUNCS = {
    "normal": lambda s, a, b, d, seed: R.normal(s, a, b, dtype=d, seed=seed),
    "uniform": lambda s, a, b, d, seed: R.uniform(s, a, b, dtype=d, seed=seed),
    "truncated_normal": lambda s, a, b, d, seed: R.truncated_normal(s, a, b, d, seed),
    "randint": lambda s, a, b, d, seed: R.randint(s, a, b, dtype=d, seed=seed),
    "gamma": lambda s, a, b, d, seed: R.gamma(s, a, dtype=d, seed=seed),
    "beta": lambda s, a, b, d, seed: R.beta(s, a, b, dtype=d, seed=seed),
    "binomial": lambda s, a, b, d, seed: R.binomial(s, a, b, dtype=d, seed=seed),
    "categorical": lambda s, a, b, d, seed: R.categorical(a, b, dtype=d, seed=seed),
    "dropout": lambda s, a, b, d, seed: R.dropout(a, b, noise_shape=s, seed=seed),
    "shuffle": lambda s, a, b, d, seed: R.shuffle(a, axis=b, seed=seed),
}


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(fn=st.sampled_from(sorted(FUNCS)), shape=SHAPES, a=ANY, b=ANY, dtype=DTYPES,
       seed=SEEDS)
def test_fuzz_only_results_or_clear_errors(fn: str, shape: Any, a: Any, b: Any, dtype: Any,
                                           seed: Any) -> None:
    try:
        out = FUNCS[fn](shape, a, b, dtype, seed)
    except (ValueError, TypeError) as err:
        assert str(err), "an error needs a message"
        return
    assert isinstance(out, np.ndarray)
    if fn not in ("categorical", "dropout", "shuffle"):
        assert out.shape == tuple(shape)
        assert out.dtype.name == (dtype if isinstance(dtype, str) else
                                  np.dtype(dtype or ("int32" if fn == "randint" else
                                                     "float32")).name)
