"""Reshaping layers: RepeatVector, Flatten, Reshape, Permute, ZeroPadding1D/2D/3D,
Cropping1D/2D/3D, UpSampling1D/2D/3D. Values move, none changes (but UpSampling2D's
interpolations)::

    RepeatVector(n)     (B, F) -> Unsqueeze(1) -> Expand (B, n, F)
    Flatten             [Transpose channels last,] Flatten(axis=1): (B, prod(rest))
    Reshape(target)     Reshape to (B, *target): batch -1 (or copied with 0 when a
                        dimension stays unknown, -1 then resolving the target's -1)
    Permute(dims)       Transpose(0, *dims)
    ZeroPadding1D(a, b) Pad with zeros on the steps axis (1, or 2 for channels_first)
    Cropping1D(a, b)    Slice(a, T - b) on axis 1
    UpSampling1D(s)     (B, T, C) -> Unsqueeze(2) -> Expand (B, T, s, C) -> (B, T s, C)
    ZeroPadding2D/3D    Pad on the spatial axes;  Cropping2D/3D  Slice on each of them
    UpSampling2D/3D     "nearest" / "area" (which is "nearest" for integer factors):
                        Resize(nearest, asymmetric, floor) by the integer factors;
                        "bilinear", "bicubic", "lanczos3", "lanczos5": tf.image.resize's
                        half-pixel map along each axis, a constant (m, n) matrix per axis
                        made by rnnlens's own resize applied to the identity (so known
                        spatial sizes are needed), the width first, then the height
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.interop.onnx.export import INT64_MAX, Call
from rnnlens.layers.reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape,
                                      UpSampling1D, ZeroPadding1D)
from rnnlens.layers.spatial_reshaping import BaseCropping, BaseUpSampling, BaseZeroPadding


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


def _zero_padding_nd(ex: Any, call: Call) -> list[str]:
    layer, rank = call.layer, len(call.x.shape)
    lo, hi = [0] * rank, [0] * rank
    for axis, (a, b) in zip(layer.spatial_axes(), layer.padding):
        lo[axis % rank], hi[axis % rank] = a, b
    return [ex.one("Pad", [call.x.name, ex.ints(lo + hi), ex.scalar(0.0)], call.hint,
                   mode="constant")]


def _cropping_nd(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    axes = list(layer.spatial_axes())
    starts = [a for a, _ in layer.cropping]
    ends = [-b if b else INT64_MAX for _, b in layer.cropping]
    return [ex.one("Slice", [call.x.name, ex.ints(starts), ex.ints(ends), ex.ints(axes)],
                   call.hint)]


def _upsampling_nd(ex: Any, call: Call) -> list[str]:
    layer, x, hint = call.layer, call.x.name, call.hint
    rank = len(call.x.shape)
    axes = [a % rank for a in layer.spatial_axes()]
    method = getattr(layer, "interpolation", "nearest")
    if method in ("nearest", "area"):
        scales = [1.0] * rank
        for axis, size in zip(axes, layer.size):
            scales[axis] = float(size)
        return [ex.one("Resize", [x, "", ex.const(np.asarray(scales, np.float32), "scales")],
                       hint, mode="nearest", coordinate_transformation_mode="asymmetric",
                       nearest_mode="floor")]
    sizes = [call.x.shape[a] for a in axes]
    if None in sizes:
        raise ValueError(f"{call.where} uses interpolation={method!r} on unknown spatial "
                         f"sizes {sizes}; ONNX export needs them known for this method.")
    letters = "abcdefgh"[:rank]
    for axis, n, size in reversed(list(zip(axes, sizes, layer.size))):   # width first
        matrix = _axis_matrix(method, n, n * size)                        # (m, n)
        out = letters.replace(letters[axis], "z")
        x = ex.one("Einsum", [x, ex.const(matrix, f"{hint}/resize")], hint,
                   equation=f"{letters},z{letters[axis]}->{out}")
    return [x]


def _axis_matrix(method: str, n: int, m: int) -> np.ndarray:
    """The (m, n) matrix of rnnlens's resize along one axis (its map of the identity)."""
    from rnnlens.ops import _resize

    eye = np.eye(n, dtype=np.float32)
    if method == "bilinear":
        return np.ascontiguousarray(_resize.linear_axis(eye, 0, m), np.float32)
    return np.ascontiguousarray(_resize.taps_axis(eye, 0, _resize._taps(method, n, m)),
                                np.float32)


def _spatial_table() -> dict:
    from rnnlens.layers import spatial_reshaping

    table: dict = {}
    for value in vars(spatial_reshaping).values():
        if isinstance(value, type) and value.__dict__.get("registered", True):
            for base, emitter in ((BaseZeroPadding, _zero_padding_nd),
                                  (BaseCropping, _cropping_nd),
                                  (BaseUpSampling, _upsampling_nd)):
                if issubclass(value, base):
                    table[value] = emitter
    return table


EMITTERS = {
    **_spatial_table(),
    RepeatVector: _repeat_vector,
    Flatten: _flatten,
    Reshape: _reshape,
    Permute: _permute,
    ZeroPadding1D: _zero_padding,
    Cropping1D: _cropping,
    UpSampling1D: _upsampling,
}

__all__ = ["EMITTERS"]
