"""Learning-rate schedules and optimizers driven by them, against live Keras 3.15.1.

* Every schedule, several configurations, steps 0..60 (and some far steps): the float32
  value equals Keras's to a relative 1e-6 (the report of the worst ulp difference is in
  the test's assertion message when it fails).
* Random configurations (hypothesis) against Keras.
* An optimizer built with a schedule (and with a function of the step) takes 8 steps on
  the same gradients as Keras's: the variables and ``optimizer.learning_rate`` agree
  after each step.
* ``get_config`` / ``from_config`` / ``serialize`` / ``deserialize`` round trips, Keras's
  serialized dict, and the errors (bad arguments, setting a float over a schedule).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import assert_close, keras_available
from rnnlens import optimizers as O
from rnnlens.optimizers import schedules as S

RTOL = 1e-6


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


CASES: list[tuple[str, dict]] = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.9)),
    ("ExponentialDecay", dict(initial_learning_rate=0.05, decay_steps=5, decay_rate=0.5,
                              staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[5, 12, 30], values=[0.1, 0.05, 0.01, 1e-3])),
    ("PiecewiseConstantDecay", dict(boundaries=[10], values=[1.0, 0.5])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=20)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=9, end_learning_rate=0.01,
                             power=2.0, cycle=True)),
    ("PolynomialDecay", dict(initial_learning_rate=0.3, decay_steps=13, power=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=4, decay_rate=2.0,
                              staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=25)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=25, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=30, warmup_target=0.2,
                         warmup_steps=10)),
    ("CosineDecay", dict(initial_learning_rate=0.01, decay_steps=17, alpha=0.05,
                         warmup_target=0.1, warmup_steps=7)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=6)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.0,
                                 m_mul=0.8, alpha=0.1)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.2, first_decay_steps=4, t_mul=1.5,
                                 m_mul=0.5)),
]

STEPS = list(range(61)) + [100, 257, 1000, 12345]


def _rel(a: Any, e: Any) -> float:
    a, e = np.asarray(a, np.float64), np.asarray(e, np.float64)
    scale = max(float(np.max(np.abs(e))), 1e-30)
    return float(np.max(np.abs(a - e))) / scale


def keras_values(K: Any, name: str, kw: dict, steps: list) -> np.ndarray:
    sched = getattr(K.optimizers.schedules, name)(**kw)
    return np.array([float(sched(np.int64(s))) for s in steps], np.float32)


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_schedule_values_match_keras_step_by_step(K, name, kw):
    ours_sched = getattr(S, name)(**kw)
    ours = np.array([ours_sched(s) for s in STEPS])
    assert ours.dtype == np.float32
    theirs = keras_values(K, name, kw, STEPS)
    ulps = np.abs(ours.view(np.int32).astype(np.int64) - theirs.view(np.int32))
    assert _rel(ours, theirs) <= RTOL, (
        f"{name}: worst relative diff {_rel(ours, theirs):.3e}, worst ulp {ulps.max()} at "
        f"step {STEPS[int(np.argmax(ulps))]}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["exp", "poly", "inv", "cos", "sgdr"]),
       lr=st.floats(1e-4, 1.0), steps=st.integers(1, 50), rate=st.floats(0.05, 0.99),
       flag=st.booleans(), step=st.integers(0, 200))
def test_random_schedules_match_keras(K, kind, lr, steps, rate, flag, step):
    name, kw = {
        "exp": ("ExponentialDecay", dict(initial_learning_rate=lr, decay_steps=steps,
                                         decay_rate=rate, staircase=flag)),
        "poly": ("PolynomialDecay", dict(initial_learning_rate=lr, decay_steps=steps,
                                         end_learning_rate=lr * rate / 10, power=1 + rate,
                                         cycle=flag)),
        "inv": ("InverseTimeDecay", dict(initial_learning_rate=lr, decay_steps=steps,
                                         decay_rate=rate, staircase=flag)),
        "cos": ("CosineDecay", dict(initial_learning_rate=lr, decay_steps=steps, alpha=rate / 3,
                                    warmup_target=2 * lr if flag else None,
                                    warmup_steps=steps // 2)),
        "sgdr": ("CosineDecayRestarts", dict(initial_learning_rate=lr, first_decay_steps=steps,
                                             t_mul=1.0 + (rate if flag else 0.0),
                                             m_mul=rate)),
    }[kind]
    ours = getattr(S, name)(**kw)(step)
    theirs = keras_values(K, name, kw, [step])[0]
    # relative to the schedule's scale: near a cosine's trough 1 + cos(.) cancels, and one
    # ulp of cos (NumPy's vs TensorFlow's) is then a large part of a tiny rate
    scale = max(abs(float(theirs)), lr, kw.get("warmup_target") or 0.0)
    assert abs(float(ours) - float(theirs)) <= 1e-6 * scale, \
        f"{name}{kw} at step {step}: {ours} != {theirs}"


def test_piecewise_boundaries_follow_the_step_dtype(K):
    """Keras casts the boundaries to the step's dtype: a float boundary is truncated for
    an integer step, kept for a float step."""
    kw = dict(boundaries=[2.5, 4.0], values=[1.0, 0.5, 0.25])
    ours, theirs = S.PiecewiseConstantDecay(**kw), K.optimizers.schedules.PiecewiseConstantDecay(
        **kw)
    for step in [0, 1, 2, 3, 4, 5, np.int64(2), 2.0, 2.7, 3.5]:
        expected = float(theirs(step))
        assert float(ours(step)) == expected, f"step {step!r}: {ours(step)} != {expected}"


OPTS = [("SGD", {"momentum": 0.9}), ("Adam", {}), ("RMSprop", {"centered": True})]


@pytest.mark.parametrize("opt_name,opt_kw", OPTS, ids=[o for o, _ in OPTS])
@pytest.mark.parametrize("sched_name,sched_kw", [CASES[0], CASES[2], CASES[12], CASES[15]],
                         ids=["exp", "piecewise", "cos-warmup", "sgdr"])
def test_optimizer_with_schedule_matches_keras(K, opt_name, opt_kw, sched_name, sched_kw):
    rng = np.random.default_rng(3)
    init = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]
    grads = [[rng.normal(size=v.shape).astype(np.float32) for v in init] for _ in range(14)]
    ours_opt = getattr(O, opt_name)(learning_rate=getattr(S, sched_name)(**sched_kw), **opt_kw)
    k_opt = getattr(K.optimizers, opt_name)(
        learning_rate=getattr(K.optimizers.schedules, sched_name)(**sched_kw), **opt_kw)
    ours_vars = [v.copy() for v in init]
    k_vars = [K.Variable(v) for v in init]
    for step, g in enumerate(grads):
        assert_close(ours_opt.learning_rate, float(np.asarray(k_opt.learning_rate)), atol=1e-7,
                     name=f"learning_rate before step {step}")
        ours_opt.apply(g, ours_vars)
        k_opt.apply(g, k_vars)
        for k, (a, e) in enumerate(zip(ours_vars, k_vars)):
            assert _rel(a - init[k], np.asarray(e) - init[k]) <= 1e-5, f"step {step} var {k}"
    assert ours_opt.iterations == int(k_opt.iterations) == len(grads)


def test_optimizer_with_a_user_schedule_and_a_plain_callable(K):
    """A user's LearningRateSchedule gets ``iterations``; a plain callable is called with
    no arguments at every update, as Keras's base optimizer does."""
    seen = []

    class Inverse(S.LearningRateSchedule):
        def __call__(self, step):
            seen.append(step)
            return 0.1 / (1 + step)

    plain, k_plain = O.SGD(learning_rate=lambda: 0.05), K.optimizers.SGD(
        learning_rate=lambda: 0.05)
    pv, kpv = np.ones(2, np.float32), K.Variable(np.ones(2, np.float32))
    plain.apply([np.full(2, 0.5, np.float32)], [pv])
    k_plain.apply([np.full(2, 0.5, np.float32)], [kpv])
    assert_close(pv, np.asarray(kpv), atol=1e-7, name="sgd with a plain callable")
    ref = K.optimizers.SGD(learning_rate=K.optimizers.schedules.InverseTimeDecay(0.1, 1, 1.0))
    opt = O.SGD(learning_rate=Inverse())
    v, kv = np.ones(3, np.float32), K.Variable(np.ones(3, np.float32))
    for _ in range(4):
        opt.apply([np.full(3, 0.5, np.float32)], [v])
        ref.apply([np.full(3, 0.5, np.float32)], [kv])
    assert seen == [0, 1, 2, 3]
    assert_close(v, np.asarray(kv), atol=1e-7, name="sgd with a function of the step")
    assert opt.learning_rate == pytest.approx(0.1 / 5)


def test_learning_rate_reads_and_writes_like_keras(K):
    opt = O.Adam(learning_rate=S.ExponentialDecay(0.1, 2, 0.5))
    assert opt.learning_rate == pytest.approx(0.1)
    opt.iterations = 4
    assert opt.learning_rate == float(np.float32(0.1) * np.float32(0.25))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    k_opt = K.optimizers.Adam(learning_rate=K.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        k_opt.learning_rate = 0.01
    plain = O.SGD(learning_rate=0.5)
    plain.learning_rate = 1                   # Keras assigns an int to the variable too
    assert plain.learning_rate == 1.0
    plain.learning_rate = S.CosineDecay(0.2, 10)
    assert plain.learning_rate == pytest.approx(0.2)
    with pytest.raises(ValueError, match="finite"):
        O.SGD(learning_rate=0.1).learning_rate = float("nan")


@pytest.mark.parametrize("name,kw", CASES[::3], ids=[n for n, _ in CASES[::3]])
def test_config_and_serialization_round_trip(K, name, kw):
    sched = getattr(S, name)(**kw)
    config = sched.get_config()
    k_sched = getattr(K.optimizers.schedules, name)(**kw)
    assert config == k_sched.get_config()
    assert S.serialize(sched) == K.optimizers.schedules.serialize(k_sched)
    again = type(sched).from_config(config)
    back = S.deserialize(S.serialize(sched))
    for step in (0, 3, 17, 40):
        assert again(step) == sched(step) == back(step)
    opt = O.Adam(learning_rate=sched)
    opt_config = opt.get_config()
    assert opt_config["learning_rate"] == K.optimizers.schedules.serialize(k_sched)
    clone = O.Adam.from_config(opt_config)
    assert isinstance(clone._learning_rate, type(sched)) and clone.learning_rate == \
        opt.learning_rate


def test_schedule_errors_are_clear():
    with pytest.raises(ValueError, match="decay_steps` must be > 0"):
        S.ExponentialDecay(0.1, 0, 0.9)
    with pytest.raises(ValueError, match="first_decay_steps` must be > 0"):
        S.CosineDecayRestarts(0.1, -1)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        S.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(TypeError, match="decay_rate"):
        S.InverseTimeDecay(0.1, 2, "fast")
    with pytest.raises(TypeError, match="step"):
        S.CosineDecay(0.1, 10)("3")
    with pytest.raises(NotImplementedError, match="must override"):
        S.LearningRateSchedule()(0)
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        S.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="schedules"):
        O.SGD(learning_rate=lambda step: 0.1)   # Keras calls plain callables bare


def test_fit_with_a_schedule_matches_keras(K):
    """The schedule advances with every batch across epochs (iterations), as in Keras."""
    from test_fit_parity import Pair, _seed, check_history, make_data  # noqa: PLC0415

    where = "fit-schedule"
    pair = Pair(K, "lstm", "mse", _seed(where))
    kw = dict(initial_learning_rate=0.05, decay_steps=6, alpha=0.1, warmup_target=0.1,
              warmup_steps=3)
    pair.keras.compile(optimizer=K.optimizers.Adam(K.optimizers.schedules.CosineDecay(**kw)),
                       loss="mse", run_eagerly=True)
    pair.ours.compile(optimizer=O.Adam(S.CosineDecay(**kw)), loss="mse")
    x, y = make_data("lstm", "mse", _seed(where))
    fit_kw = dict(batch_size=12, epochs=3, shuffle=False, verbose=0)
    theirs, ours = pair.keras.fit(x, y, **fit_kw), pair.ours.fit(x, y, **fit_kw)
    check_history(ours.history, theirs.history, where, "Adam")
    pair.check_weights(where, "Adam")
    assert pair.ours.optimizer.iterations == int(pair.keras.optimizer.iterations) == 12
    assert pair.ours.optimizer.learning_rate == float(np.asarray(
        pair.keras.optimizer.learning_rate))
