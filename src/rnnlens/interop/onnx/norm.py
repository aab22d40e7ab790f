"""Normalization layers: UnitNormalization, BatchNormalization (inference),
LayerNormalization.

L2 normalization (``UnitNormalization``, epsilon 1e-12; ``Dot(normalize=True)``, 1e-7),
as ``ops.normalize``::

    y = x * Min(Reciprocal(Sqrt(ReduceSumSquare(x, axes))), 1 / epsilon)

BatchNormalization at inference folds the moving statistics into two constants, computed
in float32 exactly as rnnlens computes them (``tf.nn.batch_normalization``'s order)::

    inv = rsqrt(moving_variance + epsilon) * gamma,   shift = beta - moving_mean * inv
    y = x * inv + shift                                (Mul, Add; broadcast on ``axis``)

It is refused when called with ``training=True`` while trainable (batch statistics).

LayerNormalization: ONNX's ``LayerNormalization`` operator (opset 17 and newer) when the
normalized axes are the last ones (``axis=-1``, or e.g. ``[1, 2]`` of a rank-3 input), a
missing gamma given as ones. On centred data it gives rnnlens's numbers within ~1e-7;
on inputs whose mean is large against their spread, float32 rounding of the mean alone
moves rnnlens's result ~1e-5 from the exact value (mean 10, std 0.1), and ONNX Runtime's
by as much, so the two differ by that (the operations below do too). Other axes, older
opsets and ``rms_scaling`` use the operations of rnnlens's graph::

    mean = ReduceMean(x, axes),  var = ReduceMean((x - mean)^2, axes)
    r = Reciprocal(Sqrt(var + epsilon)),  inv = r * gamma
    y = x * inv + (beta - mean * inv)                 rms_scaling: y = (x * r) * gamma
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.interop.onnx.export import Call
from rnnlens.layers.normalization import (UNIT_EPSILON, BatchNormalization, LayerNormalization,
                                          UnitNormalization)


def l2_normalize(ex: Any, x: str, axes: list[int], epsilon: float, hint: str) -> str:
    """``x * min(rsqrt(sum(x ** 2, axes)), 1 / epsilon)`` (an all-zero slice stays 0)."""
    total = ex.reduce("ReduceSumSquare", x, axes, hint)
    rsqrt = ex.one("Reciprocal", [ex.one("Sqrt", [total], hint)], hint)
    return ex.one("Mul", [x, ex.one("Min", [rsqrt, ex.scalar(1.0 / epsilon)], hint)], hint)


def _axes(axis: Any, rank: int) -> list[int]:
    return sorted(int(a) % rank for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))


def _unit_normalization(ex: Any, call: Call) -> list[str]:
    axes = _axes(call.layer.axis, len(call.x.shape))
    return [l2_normalize(ex, call.x.name, axes, UNIT_EPSILON, call.hint)]


def _batch_normalization(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    if call.training and layer.trainable:
        raise ValueError(f"{call.where} is called with training=True; ONNX export writes "
                         "BatchNormalization at inference only (moving statistics). Call it "
                         "without training=True, or set layer.trainable = False.")
    rank = len(call.x.shape)
    shape = [1] * rank
    shape[layer.axis % rank] = -1                                      # (1, .., C, .., 1)
    f32 = np.float32
    mean = np.asarray(layer.moving_mean, f32).reshape(shape)
    var = np.asarray(layer.moving_variance, f32).reshape(shape)
    r = (1 / np.sqrt(var + f32(layer.epsilon))).astype(f32)
    inv = r * np.asarray(layer.gamma, f32).reshape(shape) if layer.scale else r
    shift = (np.asarray(layer.beta, f32).reshape(shape) - mean * inv if layer.center
             else -mean * inv)
    y = ex.one("Mul", [call.x.name, ex.weight(layer, "inv", lambda: inv)], call.hint)
    return [ex.one("Add", [y, ex.weight(layer, "shift", lambda: shift)], call.hint)]


def _layer_normalization(ex: Any, call: Call) -> list[str]:
    layer, x, hint = call.layer, call.x.name, call.hint
    rank = len(call.x.shape)
    axes = _axes(layer.axis, rank)
    native = axes == list(range(rank - len(axes), rank)) and ex.opset >= 17 \
        and not layer.rms_scaling
    # native: gamma / beta of the normalized shape; ops: broadcast over the input's rank
    shape = [call.x.shape[a] for a in axes] if native else \
        [call.x.shape[a] if a in axes else 1 for a in range(rank)]
    gamma = (ex.weight(layer, "gamma", lambda: np.reshape(layer.gamma, shape))
             if layer.scale or layer.rms_scaling else None)
    beta = (ex.weight(layer, "beta", lambda: np.reshape(layer.beta, shape))
            if layer.center and not layer.rms_scaling else None)
    if native:
        if gamma is None:
            gamma = ex.weight(layer, "ones", lambda: np.ones(shape, np.float32))
        return [ex.one("LayerNormalization", [x, gamma, beta or ""], hint, axis=axes[0],
                       epsilon=float(layer.epsilon))]
    mean = ex.reduce("ReduceMean", x, axes, hint)
    diff = ex.one("Sub", [x, mean], hint)
    var = ex.reduce("ReduceMean", ex.one("Mul", [diff, diff], hint), axes, hint)
    r = ex.one("Reciprocal", [ex.one("Sqrt", [ex.one("Add", [var, ex.scalar(layer.epsilon)],
                                                            hint)], hint)], hint)
    if layer.rms_scaling:
        y = ex.one("Mul", [x, r], hint)
        return [y if gamma is None else ex.one("Mul", [y, gamma], hint)]
    inv = r if gamma is None else ex.one("Mul", [r, gamma], hint)
    centre = ex.one("Mul", [mean, inv], hint)
    shift = (ex.one("Neg", [centre], hint) if beta is None
             else ex.one("Sub", [beta, centre], hint))
    return [ex.one("Add", [ex.one("Mul", [x, inv], hint), shift], hint)]


EMITTERS = {
    UnitNormalization: _unit_normalization,
    BatchNormalization: _batch_normalization,
    LayerNormalization: _layer_normalization,
}

__all__ = ["EMITTERS", "l2_normalize"]
