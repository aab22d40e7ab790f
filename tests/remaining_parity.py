"""Helpers of the tests of issue 14's remaining layers (tests/test_layers_remaining_*.py):
gradients of the trainable weights only (LoRA, SpectralNormalization and GroupNorm-like
layers have non-trainable ones), a short ``fit`` against Keras, summaries, and random
data. The Keras oracle, twins and file round trips are ``regact_parity``'s.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import rnnlens
from regact_parity import GRAD_RTOL, check_rel, keras_module, twins
from rnnlens.training import gradients


def floats(shape: tuple, seed: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


def tape_gradients(K: Any, kmodel: Any, x: Any, y: Any, training: bool,
                   pick: Callable[[Any], Any] = lambda out: out) -> list[np.ndarray]:
    """``tf.GradientTape`` gradients of ``mse(y, pick(model(x)))`` with respect to the
    trainable weights, dense (an embedding's IndexedSlices summed per row). The loss sees
    the output's Keras mask, as in ``fit`` (and as rnnlens's ``gradients``)."""
    import tensorflow as tf  # noqa: PLC0415

    with tf.GradientTape() as tape:
        pred = pick(kmodel(x, training=training))
        loss = K.losses.MeanSquaredError()(y, pred)
    grads = tape.gradient(loss, kmodel.trainable_weights)
    return [np.zeros(w.shape, np.float32) if g is None else
            np.asarray(tf.convert_to_tensor(g)) for g, w in zip(grads, kmodel.trainable_weights)]


def trainable_gradients(parity: Any, K: Any, kmodel: Any, rmodel: Any, x: Any,
                        y: Any, name: str, training: bool = False,
                        pick: Callable[[Any], Any] = lambda out: out) -> None:
    """rnnlens's gradients of the trainable weights against ``tf.GradientTape``'s
    (relative to each weight's largest gradient)."""
    theirs = tape_gradients(K, kmodel, x, y, training, pick=pick)
    ours = gradients(rmodel, x, y, loss="mse", training=training)
    keep = [k for k, rec in enumerate(rmodel.weight_records()) if rec.trainable]
    assert len(keep) == len(theirs), f"{name}: {len(keep)} trainable vs {len(theirs)}"
    floor = 1e-3 * max(float(np.max(np.abs(t))) for t in theirs)
    for k, t in zip(keep, theirs):
        assert ours[k].shape == t.shape, f"{name} grad[{k}] shape"
        if float(np.max(np.abs(t))) < floor:        # a gradient that is zero but for noise
            parity(ours[k], t, name=f"{name} grad[{k}] (~0)", atol=floor * GRAD_RTOL * 10)
            continue
        check_rel(parity, ours[k], t, GRAD_RTOL, f"{name} grad[{k}]")


def fit_both(parity: Any, K: Any, build: Callable[[Any], Any], x: Any, y: Any, name: str,
             epochs: int = 2, batch_size: int = 4, lr: float = 0.05, seed: int = 3,
             atol: float = 1e-5) -> tuple[Any, Any]:
    """``fit`` with SGD on twins: equal loss histories and final weights."""
    kmodel, rmodel = twins(K, build, seed=seed)
    for model, lib in ((kmodel, K), (rmodel, rnnlens)):
        model.compile(optimizer=lib.optimizers.SGD(lr), loss="mse")
    kh = kmodel.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    rh = rmodel.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    parity(np.asarray(rh.history["loss"]), np.asarray(kh.history["loss"]),
           name=f"{name} fit loss", atol=atol)
    for k, (a, b) in enumerate(zip(rmodel.get_weights(), kmodel.get_weights())):
        check_rel(parity, a, b, 1e-4, f"{name} weight[{k}] after fit")
    return kmodel, rmodel


def summary_lines(model: Any) -> list[str]:
    """``model.summary()`` without the title line (model names differ between runs)."""
    lines: list[str] = []
    model.summary(print_fn=lambda s, *a, **k: lines.append(s))
    return "\n".join(lines).rstrip("\n").split("\n")[1:]


__all__ = ["keras_module", "floats", "trainable_gradients", "fit_both", "summary_lines",
           "twins"]
