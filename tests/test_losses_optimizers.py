"""Losses, optimizers, metrics and callbacks against live Keras 3.15.1 (TensorFlow).

* Losses: value and ``dloss/dy_pred`` against the Keras loss object and
  ``tf.GradientTape`` on random ``(B, k)`` and ``(B, T, k)`` inputs, with probabilities at
  and beyond the 1e-7 clipping bounds, both ``from_logits``, label smoothing, every
  reduction and sample weights.
* Optimizers: 10 steps on four variables (one 0-d) with the same gradient sequence as
  Keras optimizers on ``keras.Variable``s; variables and slots compared.
* Metrics: accumulated over several batches of different sizes against Keras metrics;
  ``get("accuracy")`` against ``compile_utils.get_metric``.
* Callbacks: EarlyStopping against Keras's on the same fake model and log sequence, plus
  History/Lambda/ModelCheckpoint/Progbar behaviour without Keras.

"Relative difference" below is ``max|actual - expected| / max|expected|`` over the
array: <= 1e-5 for values, <= 1e-4 for gradients. Tests that need Keras skip cleanly
when it is not importable (``oracle.keras_available``).
"""

from __future__ import annotations

import io
import itertools
import zlib
from typing import Any

import numpy as np
import pytest

from oracle import assert_close, keras_available
from rnnlens import callbacks as C
from rnnlens import losses as L
from rnnlens import metrics as M
from rnnlens import optimizers as O
from rnnlens.backend import set_floatx

VALUE_RTOL = 1e-5
GRAD_RTOL = 1e-4


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); live parity tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


@pytest.fixture(scope="module")
def tf(K: Any) -> Any:
    import tensorflow  # noqa: PLC0415

    return tensorflow


def check_rel(parity: Any, actual: Any, expected: Any, rtol: float, name: str) -> None:
    """``max|a - e| / max|e| <= rtol``, through the recorded ``parity`` check."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
    finite = np.abs(e[np.isfinite(e)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    parity(a / scale, e / scale, name=name, atol=rtol)


# ---------------------------------------------------------------------------- inputs
_EXTREMES = [0.0, 1.0, 1e-9, 1.0 - 1e-9, 1e-7, 1.0 - 1e-7, 5e-8, 0.9999999, 2e-7, 0.5]


def binary_probs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    p = rng.uniform(0.02, 0.98, shape).reshape(-1)
    idx = rng.choice(p.size, size=min(len(_EXTREMES), p.size), replace=False)
    p[idx] = _EXTREMES[: len(idx)]
    return p.reshape(shape).astype(np.float32)


def class_probs(rng: np.random.Generator, shape: tuple[int, ...], labels: np.ndarray,
                normalised: bool = True) -> np.ndarray:
    """Softmax rows, some sharp (entries far below 1e-7), one with exact zeros and ones,
    one confidently wrong, plus (optionally) unnormalised rows."""
    z = rng.normal(size=shape) * 2.0
    z2 = z.reshape(-1, shape[-1])
    z2[0] *= 20.0                                    # sharp: tiny probabilities
    z2[1] = -30.0
    z2[1, labels.reshape(-1)[1]] = 30.0               # confident and right: p ~ 1, others ~ 0
    if z2.shape[0] > 2:
        z2[2] = 0.0
        z2[2, (labels.reshape(-1)[2] + 1) % shape[-1]] = 40.0  # confident and wrong
    p = np.exp(z2 - z2.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    if z2.shape[0] > 3:
        p[3] = 0.0
        p[3, labels.reshape(-1)[3]] = 1.0             # exact 0s and 1
    if not normalised:
        p *= rng.uniform(0.3, 3.0, (p.shape[0], 1))   # rows summing to anything
    return p.reshape(shape).astype(np.float32)


def make_case(kind: str, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = shape[-1]
    if kind == "regression":
        return (rng.normal(size=shape).astype(np.float32),
                rng.normal(size=shape).astype(np.float32))
    if kind == "binary_probs":
        return (rng.integers(0, 2, shape).astype(np.float32), binary_probs(rng, shape))
    if kind == "binary_soft":  # soft targets in [0, 1]
        return (rng.uniform(0, 1, shape).astype(np.float32), binary_probs(rng, shape))
    if kind == "binary_logits":
        z = (rng.normal(size=shape) * 4).astype(np.float32)
        z.reshape(-1)[:3] = [0.0, 80.0, -80.0]
        return rng.integers(0, 2, shape).astype(np.float32), z
    labels = rng.integers(0, k, shape[:-1])
    onehot = np.eye(k, dtype=np.float32)[labels]
    if kind == "cat_probs":
        return onehot, class_probs(rng, shape, labels)
    if kind == "cat_unnormalised":
        return onehot, class_probs(rng, shape, labels, normalised=False)
    if kind == "cat_logits":
        z = (rng.normal(size=shape) * 3).astype(np.float32)
        z.reshape(-1, k)[0] *= 30.0
        return onehot, z
    if kind == "sparse_probs":
        return labels, class_probs(rng, shape, labels)
    if kind == "sparse_unnormalised":
        return labels.astype(np.float32), class_probs(rng, shape, labels, normalised=False)
    if kind == "sparse_trailing1":
        return labels[..., None].astype(np.float32), class_probs(rng, shape, labels)
    if kind == "sparse_logits":
        z = (rng.normal(size=shape) * 3).astype(np.float32)
        z.reshape(-1, k)[0] *= 30.0
        return labels, z
    raise AssertionError(kind)


# (name, rnnlens factory, keras factory, input kind); each factory takes **kwargs.
LOSS_CASES = [
    ("mse", lambda **kw: L.MeanSquaredError(**kw),
     lambda K, **kw: K.losses.MeanSquaredError(**kw), "regression"),
    ("mae", lambda **kw: L.MeanAbsoluteError(**kw),
     lambda K, **kw: K.losses.MeanAbsoluteError(**kw), "regression"),
    ("bce", lambda **kw: L.BinaryCrossentropy(**kw),
     lambda K, **kw: K.losses.BinaryCrossentropy(**kw), "binary_probs"),
    ("bce_soft_targets", lambda **kw: L.BinaryCrossentropy(**kw),
     lambda K, **kw: K.losses.BinaryCrossentropy(**kw), "binary_soft"),
    ("bce_smooth0.2", lambda **kw: L.BinaryCrossentropy(label_smoothing=0.2, **kw),
     lambda K, **kw: K.losses.BinaryCrossentropy(label_smoothing=0.2, **kw), "binary_probs"),
    ("bce_logits", lambda **kw: L.BinaryCrossentropy(from_logits=True, **kw),
     lambda K, **kw: K.losses.BinaryCrossentropy(from_logits=True, **kw), "binary_logits"),
    ("bce_logits_smooth0.1",
     lambda **kw: L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, **kw),
     lambda K, **kw: K.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, **kw),
     "binary_logits"),
    ("cce", lambda **kw: L.CategoricalCrossentropy(**kw),
     lambda K, **kw: K.losses.CategoricalCrossentropy(**kw), "cat_probs"),
    ("cce_unnormalised", lambda **kw: L.CategoricalCrossentropy(**kw),
     lambda K, **kw: K.losses.CategoricalCrossentropy(**kw), "cat_unnormalised"),
    ("cce_smooth0.1", lambda **kw: L.CategoricalCrossentropy(label_smoothing=0.1, **kw),
     lambda K, **kw: K.losses.CategoricalCrossentropy(label_smoothing=0.1, **kw), "cat_probs"),
    ("cce_logits", lambda **kw: L.CategoricalCrossentropy(from_logits=True, **kw),
     lambda K, **kw: K.losses.CategoricalCrossentropy(from_logits=True, **kw), "cat_logits"),
    ("cce_logits_smooth0.1",
     lambda **kw: L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, **kw),
     lambda K, **kw: K.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1,
                                                      **kw), "cat_logits"),
    ("scce", lambda **kw: L.SparseCategoricalCrossentropy(**kw),
     lambda K, **kw: K.losses.SparseCategoricalCrossentropy(**kw), "sparse_probs"),
    ("scce_unnormalised", lambda **kw: L.SparseCategoricalCrossentropy(**kw),
     lambda K, **kw: K.losses.SparseCategoricalCrossentropy(**kw), "sparse_unnormalised"),
    ("scce_trailing1", lambda **kw: L.SparseCategoricalCrossentropy(**kw),
     lambda K, **kw: K.losses.SparseCategoricalCrossentropy(**kw), "sparse_trailing1"),
    ("scce_logits", lambda **kw: L.SparseCategoricalCrossentropy(from_logits=True, **kw),
     lambda K, **kw: K.losses.SparseCategoricalCrossentropy(from_logits=True, **kw),
     "sparse_logits"),
]
SHAPES = [(8, 5), (4, 6, 3)]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", None]


def keras_value_and_grad(tf: Any, kloss: Any, y_true: Any, y_pred: np.ndarray,
                         sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Keras's loss and ``tf.GradientTape``'s d loss / d y_pred (of the sum if unreduced)."""
    v = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        out = kloss(y_true, v, sample_weight=sample_weight)
    return np.asarray(out), tape.gradient(out, v).numpy()


# ---------------------------------------------------------------------------- losses: Keras
@pytest.mark.keras
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: str(r))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c[0])
def test_loss_value_and_gradient_match_keras(K, tf, parity, case, shape, reduction):
    name, make_r, make_k, kind = case
    y_true, y_pred = make_case(kind, shape, seed=zlib.crc32(f"{name}{shape}".encode()) % 1000)
    kv, kg = keras_value_and_grad(tf, make_k(K, reduction=reduction), y_true, y_pred)
    loss = make_r(reduction=reduction)
    rv, rg = loss.value_and_gradient(y_true, y_pred)
    assert rg.shape == y_pred.shape and rg.dtype == np.float32
    assert np.all(np.isfinite(rg)) and np.all(np.isfinite(rv))
    check_rel(parity, rv, kv, VALUE_RTOL, f"{name} value")
    check_rel(parity, rg, kg, GRAD_RTOL, f"{name} gradient")
    check_rel(parity, loss(y_true, y_pred), kv, VALUE_RTOL, f"{name} __call__")
    check_rel(parity, loss.gradient(y_true, y_pred), kg, GRAD_RTOL, f"{name} gradient()")


@pytest.mark.keras
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight",
                                       None])
@pytest.mark.parametrize("case", [c for c in LOSS_CASES if c[0] in
                                  ("mse", "bce", "cce", "scce_logits")], ids=lambda c: c[0])
@pytest.mark.parametrize("weights", ["per_sample", "per_step", "per_sequence"])
def test_loss_sample_weight_matches_keras(K, tf, parity, case, reduction, weights):
    name, make_r, make_k, kind = case
    shape = (8, 5) if weights == "per_sample" else (4, 6, 3)
    y_true, y_pred = make_case(kind, shape, seed=7)
    sw_shape = {"per_sample": (8,), "per_step": (4, 6), "per_sequence": (4, 1)}[weights]
    sw = np.random.default_rng(3).uniform(0, 2, sw_shape).astype(np.float32)
    kv, kg = keras_value_and_grad(tf, make_k(K, reduction=reduction), y_true, y_pred, sw)
    rv, rg = make_r(reduction=reduction).value_and_gradient(y_true, y_pred, sample_weight=sw)
    check_rel(parity, rv, kv, VALUE_RTOL, f"{name} weighted value")
    check_rel(parity, rg, kg, GRAD_RTOL, f"{name} weighted gradient")


@pytest.mark.keras
@pytest.mark.parametrize("true_shape,pred_shape", [((6,), (6, 1)), ((6, 1), (6,)),
                                                   ((3, 5), (3, 5, 1)), ((3, 5, 1), (3, 5))])
@pytest.mark.parametrize("cls", ["MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_loss_rank_fixing_matches_keras(K, tf, parity, true_shape, pred_shape, cls, reduction):
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, true_shape).astype(np.float32)
    y_pred = rng.uniform(0.05, 0.95, pred_shape).astype(np.float32)
    kv, kg = keras_value_and_grad(tf, getattr(K.losses, cls)(reduction=reduction), y_true,
                                  y_pred)
    rv, rg = getattr(L, cls)(reduction=reduction).value_and_gradient(y_true, y_pred)
    assert rg.shape == y_pred.shape
    check_rel(parity, rv, kv, VALUE_RTOL, f"{cls} {true_shape}/{pred_shape} value")
    check_rel(parity, rg, kg, GRAD_RTOL, f"{cls} {true_shape}/{pred_shape} gradient")


@pytest.mark.keras
@pytest.mark.parametrize("fn", ["mean_squared_error", "mean_absolute_error",
                                "binary_crossentropy", "categorical_crossentropy",
                                "sparse_categorical_crossentropy"])
def test_loss_functions_match_keras_per_sample(K, parity, fn):
    kind = {"mean_squared_error": "regression", "mean_absolute_error": "regression",
            "binary_crossentropy": "binary_probs", "categorical_crossentropy": "cat_probs",
            "sparse_categorical_crossentropy": "sparse_probs"}[fn]
    y_true, y_pred = make_case(kind, (4, 6, 3), seed=11)
    expected = getattr(K.losses, fn)(K.ops.convert_to_tensor(y_true),
                                     K.ops.convert_to_tensor(y_pred))
    check_rel(parity, getattr(L, fn)(y_true, y_pred), expected, VALUE_RTOL, fn)


@pytest.mark.keras
def test_clipped_probabilities_get_zero_gradient_like_keras(K, tf):
    y_true = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)
    y_pred = np.array([[1e-9, 1e-9, 1.0, np.float32(1e-7)]], np.float32)
    _, kg = keras_value_and_grad(tf, K.losses.BinaryCrossentropy(), y_true, y_pred)
    rg = L.BinaryCrossentropy().gradient(y_true, y_pred)
    assert kg[0, 0] == 0.0 and kg[0, 1] == 0.0 and kg[0, 2] == 0.0   # clipped
    assert kg[0, 3] != 0.0                                             # on the bound: passes
    np.testing.assert_array_equal(rg == 0.0, kg == 0.0)


@pytest.mark.keras
def test_keras_softmax_logits_shortcut_is_the_documented_difference(K, parity):
    """Keras's TF softmax tags its output with the logits and crossentropy uses them;
    rnnlens computes from the probabilities: equal while every p >= 1e-7."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 6)
    onehot = np.eye(4, dtype=np.float32)[labels]
    mild = rng.normal(size=(6, 4)).astype(np.float32)
    for fn, y in (("categorical_crossentropy", onehot),
                  ("sparse_categorical_crossentropy", labels)):
        tagged = K.ops.softmax(K.ops.convert_to_tensor(mild))
        assert hasattr(tagged, "_keras_logits")
        probs = np.asarray(tagged)
        check_rel(parity, getattr(L, fn)(y, probs), getattr(K.losses, fn)(y, tagged),
                  VALUE_RTOL, f"{fn} from tagged softmax")
    sharp = mild * 40.0  # probabilities far below 1e-7: Keras (via logits) is not clipped
    tagged = K.ops.softmax(K.ops.convert_to_tensor(sharp))
    keras_val = np.asarray(K.losses.categorical_crossentropy(onehot, tagged))
    ours = L.categorical_crossentropy(onehot, np.asarray(tagged))
    assert ours.max() <= -np.log(np.float32(1e-7)) + 1e-3   # clipped at -log(1e-7) ~ 16.1
    assert keras_val.max() > ours.max()


@pytest.mark.keras
@pytest.mark.parametrize("identifier", ["mse", "mean_squared_error", "mae", "mean_absolute_error",
                                        "binary_crossentropy", "categorical_crossentropy",
                                        "sparse_categorical_crossentropy", "MeanSquaredError",
                                        "BinaryCrossentropy", "SparseCategoricalCrossentropy"])
def test_loss_get_resolves_like_keras(K, parity, identifier):
    kind = ("regression" if "squared" in identifier.lower() or "abs" in identifier.lower()
            or identifier in ("mse", "mae") else "binary_probs" if "binary" in identifier.lower()
            else "sparse_probs" if "sparse" in identifier.lower() else "cat_probs")
    y_true, y_pred = make_case(kind, (8, 5), seed=2)
    kl = K.losses.get(identifier)
    expected = K.ops.mean(kl(y_true, y_pred)) if not isinstance(kl, K.losses.Loss) \
        else kl(y_true, y_pred)
    check_rel(parity, L.get(identifier)(y_true, y_pred), expected, VALUE_RTOL, identifier)


# ---------------------------------------------------------------------------- losses: no Keras
@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c[0])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_loss_gradient_matches_finite_differences(case, reduction):
    """In float64, away from the clip bounds, the hand-written gradient is the derivative."""
    name, make_r, _, kind = case
    y_true, y_pred = make_case(kind, (3, 4, 3), seed=4)
    rng = np.random.default_rng(9)
    if "logits" not in kind and kind != "regression":      # keep probabilities off the bounds
        y_pred = rng.uniform(0.05, 0.9, y_pred.shape)
        if kind in ("cat_probs", "sparse_probs", "sparse_trailing1"):
            y_pred = y_pred / y_pred.sum(-1, keepdims=True)
    set_floatx("float64")
    try:
        loss = make_r(reduction=reduction)
        y_pred = y_pred.astype(np.float64)
        g = loss.gradient(y_true, y_pred)
        num = np.zeros_like(y_pred)
        h = 1e-6
        for idx in np.ndindex(*y_pred.shape):
            up, down = y_pred.copy(), y_pred.copy()
            up[idx] += h
            down[idx] -= h
            num[idx] = (loss(y_true, up) - loss(y_true, down)) / (2 * h)
    finally:
        set_floatx("float32")
    if kind == "regression" and name == "mae":
        ok = np.abs(y_true - y_pred) > 1e-4    # |x| has a kink at 0
        g, num = g[ok], num[ok]
    assert_close(g, num, atol=1e-6 * max(1.0, float(np.abs(num).max())), name=f"{name} fd")


def test_loss_reductions_without_keras():
    y_true = np.zeros((2, 3, 4), np.float32)
    y_pred = np.ones((2, 3, 4), np.float32)
    assert L.MeanSquaredError()(y_true, y_pred) == 1.0
    assert L.MeanSquaredError(reduction="sum")(y_true, y_pred) == 6.0       # sum over (2, 3)
    per_sample = L.MeanSquaredError(reduction=None)(y_true, y_pred)
    assert per_sample.shape == (2, 3) and per_sample.dtype == np.float32
    g = L.MeanSquaredError().gradient(y_true, y_pred)
    np.testing.assert_allclose(g, np.full((2, 3, 4), 2.0 / 24.0, np.float32), rtol=1e-7)
    # sum_over_batch_size divides by the number of per-sample losses, not the weight sum;
    # per-sample weights for (B, T) losses must be (B, 1) or (B, T): (B,) broadcasts
    # against T, exactly as in Keras (an error here, a silent mix-up when B == T)
    sw = np.array([[1.0], [0.0]], np.float32)
    assert L.MeanSquaredError()(y_true, y_pred, sample_weight=sw) == pytest.approx(0.5)
    assert L.MeanSquaredError(reduction="mean_with_sample_weight")(
        y_true, y_pred, sample_weight=sw) == pytest.approx(3.0)  # sum / sum(sw as given)
    with pytest.raises(ValueError, match="sample_weight of shape \\(2,\\)"):
        L.MeanSquaredError()(y_true, y_pred, sample_weight=np.array([1.0, 0.0]))


def test_sparse_labels_cast_like_tf_and_bad_labels_raise():
    p = np.array([[0.2, 0.7, 0.1]], np.float32)
    assert L.sparse_categorical_crossentropy(np.array([1.9]), p)[0] == pytest.approx(
        -np.log(0.7), rel=1e-6)     # 1.9 -> class 1 (truncation, like tf.cast)
    with pytest.raises(ValueError, match=r"label value of 3.*\[0, 3\)"):
        L.sparse_categorical_crossentropy(np.array([3]), p)
    with pytest.raises(ValueError, match="y_true.shape"):
        L.sparse_categorical_crossentropy(np.array([[1, 2]]), p)


def test_loss_errors_are_clear():
    with pytest.raises(ValueError, match="Received reduction='avg'"):
        L.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="y_true.shape=.*y_pred.shape"):
        L.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="dtype"):
        L.MeanSquaredError()(np.array(["a"]), np.zeros(1))
    with pytest.raises(ValueError, match="label_smoothing"):
        L.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="unknown loss identifier"):
        L.get("msee")
    with pytest.raises(TypeError, match="expected a loss name"):
        L.get(3)
    assert callable(L.get(lambda a, b: a))       # a function (y_true, y_pred) is a loss


def test_loss_get_without_keras():
    assert L.get(None) is None
    obj = L.BinaryCrossentropy(from_logits=True)
    assert L.get(obj) is obj
    assert isinstance(L.get("mse"), L.MeanSquaredError) and L.get("mse").name == "mse"
    assert isinstance(L.get(L.mean_absolute_error), L.MeanAbsoluteError)
    assert isinstance(L.get("CategoricalCrossentropy"), L.CategoricalCrossentropy)
    cfg = {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}
    assert L.get(cfg).from_logits is True
    assert isinstance(L.get("crossentropy", (4, 1), (4, 1)), L.BinaryCrossentropy)
    assert isinstance(L.get("ce", (4,), (4, 3)), L.SparseCategoricalCrossentropy)
    assert isinstance(L.get("ce", (4, 3), (4, 3)), L.CategoricalCrossentropy)


# ---------------------------------------------------------------------------- optimizers
OPT_CASES = [
    ("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {}), ("Adam", {"amsgrad": True}), ("Adam", {"beta_1": 0.8, "epsilon": 1e-4}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.5}), ("RMSprop", {"centered": True}),
    ("RMSprop", {"centered": True, "momentum": 0.3, "rho": 0.8}),
]
CLIPS = [{}, {"clipnorm": 0.5}, {"clipnorm": 100.0}, {"clipvalue": 0.3},
         {"global_clipnorm": 1.0}, {"global_clipnorm": 100.0}]
VAR_SHAPES = [(3, 4), (5,), (), (2, 3, 2)]


def _opt_data(seed: int, steps: int = 10) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype(np.float32) for s in VAR_SHAPES]
    grads = [[(rng.normal(size=s) * 3).astype(np.float32) for s in VAR_SHAPES]
             for _ in range(steps)]
    grads[3][1][:] = 0.0            # an all-zero gradient (the safe-norm path)
    grads[5][0] *= 1e-3             # a tiny one (below every clip)
    return init, grads


@pytest.mark.keras
@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
                         or "noclip")
@pytest.mark.parametrize("case", OPT_CASES,
                         ids=lambda c: c[0] + "".join(f"-{k}={v}" for k, v in c[1].items()))
def test_optimizer_matches_keras(K, parity, case, clip):
    name, kw = case
    kwargs = dict(kw, learning_rate=0.05, **clip)
    init, grads = _opt_data(seed=len(str(kwargs)))
    ours = [a.copy() for a in init]
    theirs = [K.Variable(a.copy()) for a in init]
    ro, ko = getattr(O, name)(**kwargs), getattr(K.optimizers, name)(**kwargs)
    views = [a[...] for a in ours]          # views share memory: they see in-place updates
    for step, g in enumerate(grads):
        if step % 2:
            ro.apply_gradients(zip(g, ours))
        else:
            ro.apply(g, ours)
        ko.apply_gradients(zip([K.ops.convert_to_tensor(x) for x in g], theirs))
        assert ro.iterations == int(ko.iterations.numpy()) == step + 1
    assert all(np.shares_memory(a, v) and np.array_equal(a, v) for a, v in zip(ours, views))
    for i, (a, v) in enumerate(zip(ours, theirs)):
        assert a.dtype == np.float32
        check_rel(parity, a, v.numpy(), VALUE_RTOL, f"{name} var{i}")
    keras_vars = [v.numpy() for v in ko.variables]      # iteration, learning rate, slots
    assert len(ro.variables) == len(keras_vars)
    for i, (a, b) in enumerate(zip(ro.variables, keras_vars)):
        assert a.dtype == str(b.dtype) and a.shape == b.shape
        check_rel(parity, a.numpy(), b, VALUE_RTOL, f"{name} variable{i}")


def test_optimizer_updates_in_place_and_counts():
    var = np.array([1.0, 2.0], np.float32)
    opt = O.SGD(learning_rate=0.5)
    ret = opt.apply_gradients([(np.array([1.0, -2.0], np.float32), var)])
    np.testing.assert_array_equal(var, np.array([0.5, 3.0], np.float32))
    assert ret == 1 and opt.iterations == 1
    opt.apply([np.ones(2, np.float32)], [var])
    np.testing.assert_array_equal(var, np.array([0.0, 2.5], np.float32))
    assert opt.iterations == 2
    # SGD momentum by hand: m = 0.9 m - lr g; var += m
    v = np.zeros(1, np.float32)
    opt = O.SGD(learning_rate=0.1, momentum=0.9)
    for _ in range(2):
        opt.apply([np.ones(1, np.float32)], [v])
    np.testing.assert_allclose(v, [-0.1 + (-0.09 - 0.1)], rtol=1e-6)
    assert list(opt.slots) == ["momentum"]


def test_optimizer_none_gradient_skips_variable():
    a, b = np.ones(2, np.float32), np.ones(3, np.float32)
    opt = O.Adam()
    with pytest.warns(UserWarning, match="positions \\[1\\]"):
        opt.apply([np.ones(2, np.float32), None], [a, b])
    assert np.all(a < 1) and np.all(b == 1)
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None, None], [a, b])


def test_optimizer_errors_are_clear():
    with pytest.raises(ValueError, match="Only one of"):
        O.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="learning_rate=1 "):
        O.SGD(learning_rate=1)
    with pytest.raises(ValueError, match="momentum=0"):
        O.SGD(momentum=0)
    with pytest.raises(TypeError, match="schedules"):
        O.Adam(learning_rate=lambda step, other: 0.1)
    assert O.Adam(learning_rate=lambda: 0.25).learning_rate == 0.25   # Keras: called bare
    opt = O.RMSprop()
    v = np.ones((2, 2), np.float32)
    opt.apply([np.ones((2, 2), np.float32)], [v])
    with pytest.raises(ValueError, match="expected shape"):
        opt.apply([np.ones(3, np.float32)], [np.ones(3, np.float32)])
    with pytest.raises(ValueError, match="2 variables, expected the 1"):
        opt.apply([np.ones((2, 2))] * 2, [v, v.copy()])
    with pytest.raises(ValueError, match="gradient 0 of shape"):
        opt.apply([np.ones(4)], [v])
    with pytest.raises(TypeError, match="np.ndarray"):
        O.SGD().apply([np.ones(2)], [[1.0, 2.0]])
    with pytest.raises(TypeError, match="dtype int64"):
        O.SGD().apply([np.ones(2)], [np.ones(2, np.int64)])


def test_optimizer_get():
    assert isinstance(O.get("sgd"), O.SGD)
    assert isinstance(O.get("Adam"), O.Adam)
    assert isinstance(O.get("rmsprop"), O.RMSprop)
    opt = O.Adam(learning_rate=0.1)
    assert O.get(opt) is opt and O.get(None) is None
    assert O.get({"class_name": "SGD", "config": {"momentum": 0.5}}).momentum == 0.5
    assert isinstance(O.get("adamw"), O.AdamW) and isinstance(O.get("Lion"), O.Lion)
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        O.get("adamx")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        O.get(3)                                      # Keras: a ValueError too


# ---------------------------------------------------------------------------- metrics
def _batches(kind: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Three batches of sizes 5, 8, 3 (uneven on purpose)."""
    rng = np.random.default_rng(seed)
    out = []
    for b in (5, 8, 3):
        if kind == "binary":
            out.append((rng.integers(0, 2, (b, 1)).astype(np.float32),
                        rng.uniform(0, 1, (b, 1)).astype(np.float32)))
        elif kind == "binary_seq":
            out.append((rng.integers(0, 2, (b, 4, 1)).astype(np.float32),
                        rng.uniform(0, 1, (b, 4, 1)).astype(np.float32)))
        elif kind == "categorical":
            out.append((np.eye(4, dtype=np.float32)[rng.integers(0, 4, b)],
                        rng.uniform(0, 1, (b, 4)).astype(np.float32)))
        elif kind == "categorical_seq":
            out.append((np.eye(4, dtype=np.float32)[rng.integers(0, 4, (b, 6))],
                        rng.uniform(0, 1, (b, 6, 4)).astype(np.float32)))
        elif kind == "sparse":
            out.append((rng.integers(0, 4, b), rng.uniform(0, 1, (b, 4)).astype(np.float32)))
        elif kind == "sparse_trailing1":
            out.append((rng.integers(0, 4, (b, 1)).astype(np.float32),
                        rng.uniform(0, 1, (b, 4)).astype(np.float32)))
        elif kind == "sparse_seq":
            out.append((rng.integers(0, 4, (b, 6)),
                        rng.uniform(0, 1, (b, 6, 4)).astype(np.float32)))
        elif kind == "regression":
            out.append((rng.normal(size=(b, 3)).astype(np.float32),
                        rng.normal(size=(b, 3)).astype(np.float32)))
        elif kind == "regression_seq":
            out.append((rng.normal(size=(b, 6, 2)).astype(np.float32),
                        rng.normal(size=(b, 6, 2)).astype(np.float32)))
    return out


METRIC_CASES = [
    ("BinaryAccuracy", "binary"), ("BinaryAccuracy", "binary_seq"),
    ("CategoricalAccuracy", "categorical"), ("CategoricalAccuracy", "categorical_seq"),
    ("SparseCategoricalAccuracy", "sparse"), ("SparseCategoricalAccuracy", "sparse_trailing1"),
    ("SparseCategoricalAccuracy", "sparse_seq"),
    ("MeanSquaredError", "regression"), ("MeanSquaredError", "regression_seq"),
    ("MeanAbsoluteError", "regression"), ("MeanAbsoluteError", "regression_seq"),
]


@pytest.mark.keras
@pytest.mark.parametrize("cls,kind", METRIC_CASES, ids=[f"{c}-{k}" for c, k in METRIC_CASES])
def test_metric_accumulates_like_keras(K, parity, cls, kind):
    ours, theirs = getattr(M, cls)(), getattr(K.metrics, cls)()
    for y_true, y_pred in _batches(kind, seed=len(kind)):
        ours.update_state(y_true, y_pred)
        theirs.update_state(y_true, y_pred)
        check_rel(parity, ours.result(), float(theirs.result()), VALUE_RTOL, f"{cls} running")
    ours.reset_state()
    theirs.reset_state()
    assert ours.result() == float(theirs.result()) == 0.0


@pytest.mark.keras
def test_binary_accuracy_threshold_and_weighted_mean_like_keras(K, parity):
    ours, theirs = M.BinaryAccuracy(threshold=0.7), K.metrics.BinaryAccuracy(threshold=0.7)
    mo, mk = M.Mean(), K.metrics.Mean()
    rng = np.random.default_rng(1)
    for y_true, y_pred in _batches("binary", 3):
        ours.update_state(y_true, y_pred)
        theirs.update_state(y_true, y_pred)
        vals = rng.normal(size=(len(y_true), 3)).astype(np.float32)
        sw = rng.uniform(0, 2, len(y_true)).astype(np.float32)
        mo.update_state(vals, sample_weight=sw)
        mk.update_state(vals, sample_weight=sw)
        mo.update_state(np.float32(2.5), sample_weight=len(y_true))   # the loss-tracker call
        mk.update_state(np.float32(2.5), sample_weight=len(y_true))
    check_rel(parity, ours.result(), float(theirs.result()), VALUE_RTOL, "threshold 0.7")
    check_rel(parity, mo.result(), float(mk.result()), VALUE_RTOL, "weighted Mean")


SHAPE_GRID = [((8, 1), (8, 1)), ((8,), (8, 1)), ((8,), (8, 5)), ((8, 1), (8, 5)),
              ((8, 5), (8, 5)), ((8, 6), (8, 6, 5)), ((8, 6, 1), (8, 6, 5)),
              ((8, 6, 5), (8, 6, 5)), ((8, 6, 1), (8, 6, 1)), ((8, 6), (8, 6, 1))]


@pytest.mark.keras
@pytest.mark.parametrize("identifier", ["accuracy", "acc", "Accuracy", "mse", "mae",
                                        "binary_accuracy", "categorical_accuracy",
                                        "sparse_categorical_accuracy"])
def test_metric_get_resolves_like_keras_compile(K, identifier):
    from keras.src.trainers.compile_utils import get_metric  # noqa: PLC0415

    for ts, ps in SHAPE_GRID:
        theirs = get_metric(identifier, K.KerasTensor(ts), K.KerasTensor(ps))
        ours = M.get(identifier, ts, ps, loss="binary_crossentropy")
        assert type(ours).__name__ == type(theirs).__name__, (identifier, ts, ps)
        assert ours.name == theirs.name


@pytest.mark.keras
def test_fit_epoch_loss_is_batch_size_weighted_mean(K, parity):
    """Keras's History 'loss' = Mean(batch_loss, sample_weight=batch_size) over the epoch.

    With learning_rate 0 the weights never move, so each batch's loss is known; 10
    samples in batches of 4, 4, 2 make the weighted and unweighted means differ."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    y = rng.normal(size=(10, 2)).astype(np.float32)
    model = K.Sequential([K.Input((3,)), K.layers.Dense(2)])
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.0), loss="mse")
    hist = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    y_pred = np.asarray(model(x))
    mean = M.Mean()
    batch_losses = []
    for s in range(0, 10, 4):
        batch_losses.append(L.MeanSquaredError()(y[s:s + 4], y_pred[s:s + 4]))
        mean.update_state(np.float32(batch_losses[-1]), sample_weight=len(y[s:s + 4]))
    check_rel(parity, mean.result(), hist.history["loss"][0], VALUE_RTOL, "epoch loss")
    assert abs(np.mean(batch_losses) - hist.history["loss"][0]) > 1e-4  # not the plain mean


def test_metric_get_without_keras():
    assert isinstance(M.get("accuracy", (4, 1), (4, 1)), M.BinaryAccuracy)
    assert isinstance(M.get("acc", (4,), (4, 3)), M.SparseCategoricalAccuracy)
    assert isinstance(M.get("accuracy", (4, 3), (4, 3)), M.CategoricalAccuracy)
    assert M.get("acc", (4, 3), (4, 3)).name == "acc"
    assert isinstance(M.get("mse"), M.MeanSquaredError) and M.get("mse").name == "mse"
    with pytest.raises(ValueError, match="without shapes"):
        M.get("accuracy")
    with pytest.raises(ValueError, match="unknown metric"):
        M.get("f1")


def test_mean_is_per_sample_then_over_samples():
    m = M.Mean()
    m.update_state(np.array([[1.0, 3.0], [5.0, 7.0]]))      # samples 2 and 6
    m.update_state(np.array([10.0]))
    assert m.result() == pytest.approx((2 + 6 + 10) / 3)
    m.reset_state()
    assert m.result() == 0.0


# ---------------------------------------------------------------------------- callbacks
class FakeModel:
    """What the callbacks touch: weights, stop_training, metrics, save hooks."""

    def __init__(self) -> None:
        self.w = [np.zeros(2, np.float32)]
        self.stop_training = False
        self.saved: list[tuple[str, str]] = []

    def get_weights(self) -> list[np.ndarray]:
        return [a.copy() for a in self.w]

    def set_weights(self, ws: list[np.ndarray]) -> None:
        self.w = [np.array(a) for a in ws]


class SavingModel(FakeModel):
    def save(self, path: str, overwrite: bool = True) -> None:
        self.saved.append(("save", path))

    def save_weights(self, path: str) -> None:
        self.saved.append(("save_weights", path))


def run_early_stopping(cb: Any, values: list[float], monitor: str = "val_loss") -> Any:
    """Drive an EarlyStopping through epochs; weights = the epoch index. Returns the model."""
    model = FakeModel()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, v in enumerate(values):
        model.w = [np.full(2, epoch, np.float32)]
        cb.on_epoch_end(epoch, {monitor: v, "loss": 1.0})
        if model.stop_training:
            break
    cb.on_train_end()
    model.last_epoch = epoch
    return model


ES_CONFIGS = [
    {}, {"patience": 2}, {"patience": 2, "min_delta": 0.05}, {"patience": 1, "mode": "max"},
    {"patience": 3, "restore_best_weights": True}, {"patience": 2, "baseline": 0.2},
    {"patience": 1, "start_from_epoch": 3, "restore_best_weights": True},
    {"patience": 0, "min_delta": -0.1}, {"patience": 4, "baseline": 0.6, "mode": "min",
                                         "restore_best_weights": True},
]


@pytest.mark.keras
@pytest.mark.parametrize("config", ES_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in
                                                                       c.items()) or "default")
@pytest.mark.parametrize("seed", range(4))
def test_early_stopping_matches_keras(K, config, seed):
    rng = np.random.default_rng(seed)
    values = list(np.round(1.0 - 0.08 * np.arange(12) + rng.normal(0, 0.1, 12), 3))
    ours = run_early_stopping(C.EarlyStopping(**config), values)
    theirs = run_early_stopping(K.callbacks.EarlyStopping(**config), values)
    assert ours.last_epoch == theirs.last_epoch
    assert ours.stop_training == theirs.stop_training
    np.testing.assert_array_equal(ours.w[0], theirs.w[0])


def test_early_stopping_rules_without_keras():
    # patience 1: improvements at 0, 1; epoch 2 worse (wait=1) -> stop at epoch 2
    m = run_early_stopping(C.EarlyStopping(patience=1), [1.0, 0.9, 0.95, 0.5])
    assert m.stop_training and m.last_epoch == 2
    # min_delta 0.2: 0.9 is not an improvement on 1.0 -> stop at epoch 1
    cb = C.EarlyStopping(patience=1, min_delta=0.2)
    m = run_early_stopping(cb, [1.0, 0.9, 0.85])
    assert m.last_epoch == 1 and cb.stopped_epoch == 1 and cb.best == 1.0
    # restore_best_weights: best at epoch 1
    cb = C.EarlyStopping(patience=2, restore_best_weights=True)
    m = run_early_stopping(cb, [1.0, 0.5, 0.7, 0.8, 0.9])
    assert m.last_epoch == 3 and cb.best_epoch == 1
    np.testing.assert_array_equal(m.w[0], [1.0, 1.0])
    # patience 0 never stops at epoch 0
    m = run_early_stopping(C.EarlyStopping(patience=0), [1.0, 2.0, 3.0])
    assert m.last_epoch == 1
    # mode auto picks max for accuracy names
    m = run_early_stopping(C.EarlyStopping(monitor="val_accuracy", patience=1),
                           [0.5, 0.6, 0.55, 0.7], monitor="val_accuracy")
    assert m.last_epoch == 2
    # missing monitor: warns and never stops
    cb = C.EarlyStopping(monitor="val_loss")
    cb.set_model(FakeModel())
    cb.on_train_begin()
    with pytest.warns(UserWarning, match="not available"):
        cb.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(ValueError, match="mode='max'"):
        run_early_stopping(C.EarlyStopping(monitor="val_f1"), [1.0], monitor="val_f1")


def test_history_and_callback_list_sort_keys_like_keras():
    model = FakeModel()
    cbs = C.CallbackList([], add_history=True, model=model, epochs=2, steps=1, verbose=0)
    cbs.on_train_begin()
    for epoch in range(2):
        cbs.on_epoch_begin(epoch)
        cbs.on_epoch_end(epoch, {"val_loss": np.float32(0.5 - epoch / 10), "loss": 1.0 - epoch,
                                 "accuracy": np.float32(0.25)})
    cbs.on_train_end()
    h = cbs.history
    assert model.history is h and h.epoch == [0, 1]
    assert list(h.history) == ["accuracy", "loss", "val_loss"]
    assert h.history["loss"] == [1.0, 0.0] and isinstance(h.history["val_loss"][0], float)


def test_lambda_callback_calls_hooks():
    seen = []
    cb = C.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(("end", e, logs["loss"])),
                          on_train_batch_end=lambda b, logs: seen.append(("batch", b)),
                          on_train_begin=lambda logs: seen.append("begin"))
    cbs = C.CallbackList([cb])
    cbs.on_train_begin()
    cbs.on_train_batch_end(0, {"loss": 1.0})
    cbs.on_epoch_end(0, {"loss": 2.0})
    cbs.on_train_end()
    assert seen == ["begin", ("batch", 0), ("end", 0, 2.0)]
    with pytest.raises(TypeError, match="callable"):
        C.LambdaCallback(on_epoch_end=3)


def test_model_checkpoint(tmp_path):
    model = SavingModel()
    path = str(tmp_path / "sub" / "m-{epoch:02d}-{val_loss:.2f}.keras")
    cb = C.ModelCheckpoint(path, save_best_only=True)
    cb.set_model(model)
    for epoch, v in enumerate([0.5, 0.7, 0.4]):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {"val_loss": v})
    assert model.saved == [("save", str(tmp_path / "sub" / "m-01-0.50.keras")),
                           ("save", str(tmp_path / "sub" / "m-03-0.40.keras"))]
    model = SavingModel()
    cb = C.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True, save_freq=2)
    cb.set_model(model)
    for batch in range(5):
        cb.on_train_batch_end(batch, {"loss": 1.0})
    cb.on_epoch_end(0, {"loss": 1.0})
    assert [kind for kind, _ in model.saved] == ["save_weights", "save_weights"]
    cb = C.ModelCheckpoint(str(tmp_path / "m.keras"))
    cb.set_model(FakeModel())
    with pytest.raises(TypeError, match="without a save\\(\\) method"):
        cb.on_epoch_end(0, {"val_loss": 1.0})


def _drive_progbar_logger(verbose: Any, stream: Any = None, epochs: int = 3,
                          steps: int = 4) -> None:
    cbs = C.CallbackList([C.ProgbarLogger(stream=stream)], epochs=epochs, steps=steps,
                         verbose=verbose)
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        for b in range(steps):
            cbs.on_train_batch_begin(b)
            cbs.on_train_batch_end(b, {"loss": 0.5 / (b + 1)})
        cbs.on_epoch_end(epoch, {"loss": 0.1234})
    cbs.on_train_end()


def test_progbar_verbose0_prints_nothing(capsys):
    _drive_progbar_logger(verbose=0)
    bar = C.Progbar(10, verbose=0)
    for i in range(1, 11):
        bar.update(i, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_progbar_not_a_tty_prints_one_line_per_epoch(capsys):
    _drive_progbar_logger(verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/3" and len(lines) == 6
    assert lines[1].startswith("4/4 ━━━━━━━━━━━━━━━━━━━━ ")
    assert lines[1].endswith("/step - loss: 0.1234") and "\r" not in lines[1]
    _drive_progbar_logger(verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/3" and len(lines) == 6
    assert lines[1].startswith("4/4 - ") and lines[1].endswith("/step - loss: 0.1234")


def test_progbar_on_a_tty_redraws_in_place():
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    bar = C.Progbar(3, verbose=1, interval=0.0, stream=stream)
    for i in range(1, 4):
        bar.update(i, [("loss", 0.5)])
    out = stream.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n") and out.count("\n") == 1
    assert "\x1b[1m3/3\x1b[0m" in out and "loss: 0.5000" in out


def test_progbar_formats_small_values_and_unknown_target():
    stream = io.StringIO()
    bar = C.Progbar(None, verbose=1, stream=stream, dynamic=False,
                    stateful_metrics=["loss"])
    bar.update(5, [("loss", 1e-5)], finalize=True)
    assert stream.getvalue().startswith("      5/Unknown")
    assert stream.getvalue().rstrip().endswith("loss: 1.0000e-05")


def test_callback_base_hooks_and_attributes():
    cb = C.Callback()
    model = FakeModel()
    cb.set_model(model)
    cb.set_params({"epochs": 2})
    assert cb.model is model and cb.params == {"epochs": 2}
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_predict_end"):
        getattr(cb, hook)(None)
    for hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                 "on_train_batch_end"):
        getattr(cb, hook)(0, None)
    with pytest.raises(TypeError, match="expected an rnnlens.callbacks.Callback"):
        C.CallbackList([object()])


def test_everything_is_importable_without_frameworks():
    import sys  # noqa: PLC0415

    for mod in (L, O, M, C):
        src = open(mod.__file__).read()
        assert "import tensorflow" not in src and "import torch" not in src
        assert "import keras" not in src
    assert all(name in sys.modules for name in ("rnnlens.losses", "rnnlens.optimizers"))
    _ = list(itertools.chain(L.__all__, O.__all__, M.__all__, C.__all__))
