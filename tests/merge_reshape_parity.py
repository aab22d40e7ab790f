"""Helpers shared by the parity tests of the everyday layers (merging, reshaping, ...).

Each model is described once as ``build(lib)`` over the Keras-style API, so one
function builds the Keras model (``lib=keras``) and its rnnlens twin
(``lib=rnnlens``); both are built right after ``clear_session`` so their layers get
the same names. Weights are random normals (biases too), set in both from the Keras
model's ``get_weights()`` list.

Comparisons go through the ``parity`` fixture (tests/conftest.py): values at atol 1e-5,
gradients relative to the largest TensorFlow gradient at 1e-4 (``check_rel``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import rnnlens
from oracle import keras_available

GRAD_RTOL = 1e-4


def load_keras() -> Any:
    """The keras module (TensorFlow backend), or skip the test."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); live parity tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose; env vars set by keras_available)

    return keras


# ---------------------------------------------------------------------------- data
def floats(shape: tuple, seed: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


def padded(shape: tuple, seed: int) -> np.ndarray:
    """(B, T, F) floats with all-zero steps for ``Masking``: right, left and middle."""
    x = floats(shape, seed)
    t = shape[1]
    x[0, t // 2:] = 0.0
    if shape[0] > 1:
        x[1, :2] = 0.0
    if shape[0] > 2:
        x[2, 1] = 0.0
    if shape[0] > 3:
        x[3] = 0.0                                   # a fully masked row
    return x


def ids(shape: tuple, vocab: int, seed: int) -> np.ndarray:
    """(B, T) token ids with 0 as padding (right, left, a hole)."""
    x = np.random.default_rng(seed).integers(1, vocab, shape).astype(np.int32)
    x[0, shape[1] // 2:] = 0
    if shape[0] > 1:
        x[1, :2] = 0
    if shape[0] > 2:
        x[2, 1] = 0
    return x


# ---------------------------------------------------------------------------- models
def build_pair(K: Any, build: Callable[[Any], Any], seed: int = 0) -> tuple[Any, Any]:
    """The model in Keras and in rnnlens, with the same random weights."""
    K.backend.clear_session()
    km = build(K)
    rnnlens.utils.clear_session()
    rm = build(rnnlens)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(scale=0.5, size=np.shape(w)).astype(np.float32)
               for w in km.get_weights()]
    assert [tuple(np.shape(w)) for w in rm.get_weights()] == [w.shape for w in weights], \
        "rnnlens and Keras disagree on the weight shapes"
    km.set_weights(weights)
    rm.set_weights(weights)
    return km, rm


def leaves(out: Any) -> list[np.ndarray]:
    """Every returned tensor as a NumPy array, flattened depth-first."""
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in leaves(o)]
    return [np.asarray(out)]


def check_rel(parity: Any, actual: Any, expected: Any, name: str,
              rtol: float = GRAD_RTOL) -> None:
    """``max|a - e| / max|e| <= rtol``, through the recorded ``parity`` check."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
    scale = float(np.abs(e).max()) if e.size and np.abs(e).max() > 0 else 1.0
    parity(a / scale, e / scale, name=name, atol=rtol)


def tape_weight_grads(K: Any, model: Any, x: Any, y: np.ndarray) -> list[np.ndarray]:
    """d mean-squared-error / d trainable weights of a Keras model (tf.GradientTape)."""
    import tensorflow as tf  # noqa: PLC0415

    with tf.GradientTape() as tape:
        pred = tf.identity(model(x, training=False))       # no output mask in the loss
        loss = K.losses.MeanSquaredError()(y, pred)
    return [np.asarray(tf.convert_to_tensor(g)) for g in
            tape.gradient(loss, model.trainable_weights)]


def check_weight_grads(K: Any, parity: Any, km: Any, rm: Any, x: Any, what: str) -> None:
    """rnnlens.training.gradients against tf.GradientTape, weight by weight."""
    pred = np.asarray(km(x, training=False))
    y = floats(pred.shape, 99)
    expected = tape_weight_grads(K, km, x, y)
    ours = rnnlens.training.gradients(rm, x, y, "mse")
    assert len(ours) == len(expected)
    for k, (a, e) in enumerate(zip(ours, expected)):
        check_rel(parity, np.asarray(a), e, f"{what} weight {k} {e.shape}")


def tape_input_grads(model: Any, xs: list[np.ndarray], d_out: np.ndarray) -> list:
    """d(sum(out * d_out)) / d inputs of a Keras model (tf.GradientTape)."""
    import tensorflow as tf  # noqa: PLC0415

    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        out = model(ts if len(ts) > 1 else ts[0], training=False)
    grads = tape.gradient(out, ts, output_gradients=tf.constant(d_out))
    return [np.zeros_like(x) if g is None else np.asarray(g) for g, x in zip(grads, xs)]


def our_input_grads(model: Any, xs: list[np.ndarray], d_out: np.ndarray) -> list:
    """The same through rnnlens's ``Model.forward`` / ``Model.backward``."""
    _, cache = model.forward(xs if len(xs) > 1 else xs[0])
    d_in, _, _ = model.backward(cache, d_out)
    d_in = d_in if isinstance(d_in, list) else [d_in]
    return [np.zeros_like(x) if g is None else np.asarray(g) for g, x in zip(d_in, xs)]


# ---------------------------------------------------------------------------- files
def keras_save(model: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(path))


def files_both_ways(K: Any, parity: Any, km: Any, rm: Any, xs: Any, tmp_path: Path,
                    what: str) -> None:
    """Keras ``.keras`` and legacy ``.h5`` load in rnnlens and predict as Keras; the
    rnnlens model saved by rnnlens loads in Keras and predicts the same."""
    expected = leaves(km(xs, training=False))
    for fmt in (".keras", ".h5"):
        path = tmp_path / f"keras{fmt}"
        keras_save(km, path)
        loaded = rnnlens.models.load_model(path)
        parity(leaves(loaded.predict(xs)), expected, name=f"{what} Keras{fmt} -> rnnlens")
        assert loaded.count_params() == km.count_params()
    rm.save(tmp_path / "ours.keras")
    back = K.models.load_model(tmp_path / "ours.keras")
    parity(leaves(back(xs, training=False)), expected, name=f"{what} rnnlens -> Keras")
    again = rnnlens.models.load_model(tmp_path / "ours.keras")
    parity(leaves(again.predict(xs)), expected, name=f"{what} rnnlens -> rnnlens")


def summary_text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    return "\n".join(lines).rstrip("\n")


def plain_config(config: Any) -> Any:
    """A config with tuples as lists (as JSON would write it)."""
    if isinstance(config, dict):
        return {k: plain_config(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [plain_config(v) for v in config]
    return config


def np_mask(out: Any) -> Any:
    """The Keras mask an output carries (``_keras_mask``) as an array, or None."""
    m = getattr(out, "_keras_mask", None)
    return None if m is None else np.asarray(m)


def assert_raised_by_rnnlens(err: BaseException) -> None:
    """The error comes from rnnlens's own code (not from deep inside NumPy)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename if tb is not None else ""
    assert "rnnlens" in where and str(err), f"{type(err).__name__} from {where}: {err}"
