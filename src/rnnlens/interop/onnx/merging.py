"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

The elementwise merges fold left with binary operators, in rnnlens's order (so float32
sums round the same way)::

    Add       ((x_1 + x_2) + x_3) ...          Average   Add(...) / n
    Subtract  x_1 - x_2                        Multiply  ((x_1 * x_2) * x_3) ...
    Maximum   Max(Max(x_1, x_2), x_3) ...      Minimum   Min(...)

An input of lower rank first gets size-1 axes right after the batch (Keras's
``expand_dims(x, 1)``), since ONNX, like NumPy, would otherwise align it to the left of
the batch. ``Concatenate`` is ``Concat(axis)``. ``Dot`` is Keras's ``batch_dot`` as one
``Einsum`` (x's remaining axes, then y's; a (B,) result gets its (B, 1) axis back), each
input first L2-normalized along its axis when ``normalize=True`` (epsilon 1e-7, see
:func:`rnnlens.interop.onnx.norm.l2_normalize`).
"""

from __future__ import annotations

import string
from typing import Any

from rnnlens.interop.onnx.export import Call
from rnnlens.interop.onnx.masks import handles_masks
from rnnlens.interop.onnx.norm import l2_normalize
from rnnlens.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                    Subtract)
from rnnlens.layers.normalization import KERAS_EPSILON

_FOLD = {Add: "Add", Average: "Add", Subtract: "Sub", Multiply: "Mul", Maximum: "Max",
         Minimum: "Min"}


def _same_rank(ex: Any, call: Call) -> list[str]:
    """The inputs with size-1 axes inserted after the batch up to the highest rank."""
    rank = max(len(v.shape) for v in call.inputs)
    return [v.name if len(v.shape) == rank else
            ex.unsqueeze(v.name, list(range(1, 1 + rank - len(v.shape))), call.hint)
            for v in call.inputs]


def _fold(ex: Any, call: Call) -> list[str]:
    xs = _same_rank(ex, call)
    layer = call.layer
    masks = _value_masks(ex, call)
    if masks is not None and isinstance(layer, Multiply):
        return [_masked_product(ex, xs, masks, call.hint)]
    if masks is not None:
        return [_masked_select(ex, xs, masks, _FOLD[type(layer)], call.hint)]
    op_type = _FOLD[type(layer)]
    out = xs[0]
    for x in xs[1:]:
        out = ex.one(op_type, [out, x], call.hint)
    if type(layer) is Average:
        out = ex.one("Div", [out, ex.scalar(float(len(xs)))], call.hint)
    return [out]


def _value_masks(ex: Any, call: Call) -> list | None:
    """Each input's mask as (B, T, 1) for the merges whose values read them (Multiply,
    Maximum, Minimum under Keras >= 3.4's rule, inputs of one rank), else None."""
    layer, mask = call.layer, call.mask
    if (not layer.uses_masks or mask is None or layer.mask_rule != "or"
            or len({len(v.shape) for v in call.inputs}) > 1):
        return None
    return [None if m is None else ex.unsqueeze(m, -1, call.hint) for m in mask]


def _masked_product(ex: Any, xs: list[str], masks: list, hint: str) -> str:
    """``prod_i Where(M_i, x_i, 1)``, zero where every input is masked."""
    factors = [x if m is None else ex.one("Where", [m, x, ex.scalar(1.0)], hint)
               for x, m in zip(xs, masks)]
    out = factors[0]
    for f in factors[1:]:
        out = ex.one("Mul", [out, f], hint)
    if all(m is not None for m in masks):
        keep = masks[0]
        for m in masks[1:]:
            keep = ex.one("Or", [keep, m], hint)
        out = ex.one("Where", [keep, out, ex.scalar(0.0)], hint)
    return out


def _masked_select(ex: Any, xs: list[str], masks: list, op_type: str, hint: str) -> str:
    """Maximum / Minimum folding left: a masked operand takes the other's value."""
    out, out_mask = xs[0], masks[0]
    for x, m in zip(xs[1:], masks[1:]):
        if m is not None:
            x = ex.one("Where", [m, x, out], hint)
        if out_mask is not None:
            out = ex.one("Where", [out_mask, out, x], hint)
        out_mask = None if m is None or out_mask is None else ex.one("Or", [out_mask, m],
                                                                    hint)
        out = ex.one(op_type, [out, x], hint)
    return out


def _concatenate(ex: Any, call: Call) -> list[str]:
    return [ex.one("Concat", [v.name for v in call.inputs], call.hint,
                   axis=int(call.layer.axis))]


def _dot_axes(axes: Any, r1: int, r2: int) -> tuple[int, int]:
    """Keras's summed axes (non-negative): an int is the same axis of both (a negative
    one counted from each input's end); the layer checked them when it was built."""
    pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
    return int(pair[0]) % r1, int(pair[1]) % r2


def _dot(ex: Any, call: Call) -> list[str]:
    x, y = call.inputs
    r1, r2 = len(x.shape), len(y.shape)
    a1, a2 = _dot_axes(call.layer.axes, r1, r2)
    xn, yn = x.name, y.name
    if call.layer.normalize:
        xn = l2_normalize(ex, xn, [a1], KERAS_EPSILON, call.hint)
        yn = l2_normalize(ex, yn, [a2], KERAS_EPSILON, call.hint)
    letters = iter(string.ascii_lowercase[2:])               # b: batch, a: summed axis
    x_axes = ["b"] + [("a" if k == a1 else next(letters)) for k in range(1, r1)]
    y_axes = ["b"] + [("a" if k == a2 else next(letters)) for k in range(1, r2)]
    out = "b" + "".join(c for c in x_axes[1:] + y_axes[1:] if c != "a")
    equation = f"{''.join(x_axes)},{''.join(y_axes)}->{out}"
    z = ex.one("Einsum", [xn, yn], call.hint, equation=equation)
    return [ex.unsqueeze(z, 1, call.hint) if len(out) == 1 else z]      # (B,) -> (B, 1)


EMITTERS = {
    **{cls: handles_masks(_fold) for cls in _FOLD},
    Concatenate: _concatenate,
    Dot: _dot,
}

__all__ = ["EMITTERS"]
