"""Reshaping layers: RepeatVector, Flatten, Reshape, Permute, ZeroPadding1D, Cropping1D,
UpSampling1D. Values move, none changes::

    RepeatVector(n)     (B, F) -> Unsqueeze(1) -> Expand (B, n, F)
    Flatten             [Transpose channels last,] Flatten(axis=1): (B, prod(rest))
    Reshape(target)     Reshape to (B, *target): batch -1 (or copied with 0 when a
                        dimension stays unknown, -1 then resolving the target's -1)
    Permute(dims)       Transpose(0, *dims)
    ZeroPadding1D(a, b) Pad with zeros on the steps axis (1, or 2 for channels_first)
    Cropping1D(a, b)    Slice(a, T - b) on axis 1
    UpSampling1D(s)     (B, T, C) -> Unsqueeze(2) -> Expand (B, T, s, C) -> (B, T s, C)
"""

from __future__ import annotations

from typing import Any

from rnnlens.interop.onnx.export import INT64_MAX, Call
from rnnlens.layers.reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape,
                                      UpSampling1D, ZeroPadding1D)


def _repeat_vector(ex: Any, call: Call) -> list[str]:
    up = ex.unsqueeze(call.x.name, 1, call.hint)                        # (B, 1, F)
    return [ex.one("Expand", [up, ex.ints([1, call.layer.n, 1])], call.hint)]


def _flatten(ex: Any, call: Call) -> list[str]:
    x, rank = call.x.name, len(call.x.shape)
    if call.layer.data_format == "channels_first" and rank > 2:
        x = ex.transpose(x, [0, *range(2, rank), 1], call.hint)
    return [ex.one("Flatten", [x], call.hint, axis=1)]


def _reshape(ex: Any, call: Call) -> list[str]:
    target = tuple(call.layer.target_shape)
    if 0 in target:
        raise ValueError(f"{call.where} has target_shape={target} with a 0; ONNX export "
                         "does not write zero-size reshapes.")
    resolved = call.out_shapes[0][1:]
    if None not in resolved:
        shape = [-1, *resolved]                       # every sample size known: batch -1
    else:
        shape = [0, *target]                          # copy the batch, -1 resolves the rest
    return [ex.one("Reshape", [call.x.name, ex.ints(shape)], call.hint)]


def _permute(ex: Any, call: Call) -> list[str]:
    return [ex.transpose(call.x.name, [0, *call.layer.dims], call.hint)]


def _zero_padding(ex: Any, call: Call) -> list[str]:
    axis = call.layer.spatial_axes()[0]
    pads = [0, 0, 0, 0, 0, 0]
    pads[axis], pads[3 + axis] = call.layer.padding
    return [ex.one("Pad", [call.x.name, ex.ints(pads), ex.scalar(0.0)], call.hint,
                   mode="constant")]


def _cropping(ex: Any, call: Call) -> list[str]:
    a, b = call.layer.cropping
    return [ex.slice(call.x.name, 1, a, -b if b else INT64_MAX, call.hint)]


def _upsampling(ex: Any, call: Call) -> list[str]:
    x, hint, size = call.x.name, call.hint, call.layer.size
    tiled = ex.one("Expand", [ex.unsqueeze(x, 2, hint), ex.ints([1, 1, size, 1])], hint)
    channels = call.x.shape[2]
    shape = ex.ints([0, -1, channels]) if channels is not None else ex.one(
        "Concat", [ex.ints([0, -1]), ex.shape_of(x, 2, 3, hint)], hint, axis=0)
    return [ex.one("Reshape", [tiled, shape], hint)]                    # (B, T s, C)


EMITTERS = {
    RepeatVector: _repeat_vector,
    Flatten: _flatten,
    Reshape: _reshape,
    Permute: _permute,
    ZeroPadding1D: _zero_padding,
    Cropping1D: _cropping,
    UpSampling1D: _upsampling,
}

__all__ = ["EMITTERS"]
