"""Convolution and pooling layers over 1, 2 or 3 spatial axes, both data formats.

``Conv1D/2D/3D``, ``SeparableConv1D/2D``, ``DepthwiseConv1D/2D``,
``Conv1DTranspose/2DTranspose/3DTranspose``, ``MaxPooling1D/2D/3D``,
``AveragePooling1D/2D/3D``, ``GlobalMaxPooling1D/2D/3D``, ``GlobalAveragePooling1D/2D/3D``.

ONNX's ``Conv`` / ``ConvTranspose`` / ``MaxPool`` / ``AveragePool`` run on (B, C, *S), so a
``channels_last`` input is transposed there and back. Per spatial axis, kernel k,
stride s, dilation d and the effective kernel ``e = (k - 1) d + 1``::

    Conv              Conv(W = kernel moved to (F, C / groups, *k), B = bias, group=groups)
    Depthwise         Conv(W (C M, 1, *k): row c M + m is kernel[..., c, m], group=C)
    Separable         the depthwise Conv (no bias), then a 1 x 1 Conv (F, C M, 1..) with bias
    ConvTranspose     ConvTranspose(W = kernel (*k, F, C) as (C, F, *k)), pads and
                      output_padding from Keras's output size (see below)
    MaxPool           MaxPool;  AveragePool(count_include_pad=0): "same" windows average
                      their real steps only, as Keras / TF
    GlobalMax/AveragePooling   ReduceMax / ReduceMean over the spatial axes (keepdims);
                      GlobalAveragePooling1D with a Keras mask: the masked mean
                      ``sum(Where(m, x, 0)) / sum(m)``

then the layer's activation (on the layer's own layout, so softmax takes the last axis
as in rnnlens). Padding, as TensorFlow's: "valid" none; "causal" (1-D) ``e - 1`` steps
before; "same" ``total = max((ceil(n / s) - 1) s + e - n, 0)``, ``total // 2`` before,
the rest after. With every spatial size known the pads are written out; with an
unknown size, ``auto_pad="SAME_UPPER"`` (which is the same rule) when d = 1, fixed pads
when s = 1 (the total is then ``e - 1`` for every n), and for s > 1 with d > 1 the
kernel is written dilated (zeros between taps) so that SAME_UPPER applies. Pooling with
"same", an unknown size and a stride larger than the window, where ONNX Runtime's
SAME_UPPER pooling rejects the negative pads it computes, reads the sizes with ``Shape``
and pads explicitly (see ``_padded_pool``).

A transposed convolution's output size (Keras's) does not depend on n through its pads:
the pads of the convolution mapping the output back to the input (``same``) are fixed,
so ``pads = (lo, hi)`` and ``output_padding`` follow from one representative n.

Where Keras 3.15.1 adds a channels_first bias along the last axis (its TensorFlow
``bias_add`` bug, see ``rnnlens.layers.convolutional``), rnnlens and this export add it
along the channels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.interop.onnx import activations as acts
from rnnlens.interop.onnx.export import Call
from rnnlens.interop.onnx.masks import handles_masks
from rnnlens.layers.convolutional import (BaseConv, BaseConvTranspose, BaseDepthwiseConv,
                                          BaseSeparableConv)
from rnnlens.layers.pooling import BaseGlobalPooling, BasePooling, GlobalAveragePooling1D


def _same_pads(n: int, e: int, s: int) -> list[int]:
    """TensorFlow's "SAME" pads for n steps, effective kernel e, stride s."""
    total = max((-(-n // s) - 1) * s + e - n, 0)
    return [total // 2, total - total // 2]


def _sizes(call: Call) -> list[int | None]:
    return [call.x.shape[a] for a in call.layer.spatial_axes()]


def _first(ex: Any, call: Call) -> str:
    """The input as (B, C, *S)."""
    rank = call.layer.rank
    if call.layer.data_format == "channels_last":
        return ex.transpose(call.x.name, [0, rank + 1, *range(1, rank + 1)], call.hint)
    return call.x.name


def _back(ex: Any, call: Call, y: str) -> str:
    """(B, C', *S') back to the layer's layout."""
    rank = call.layer.rank
    if call.layer.data_format == "channels_last":
        return ex.transpose(y, [0, *range(2, rank + 2), 1], call.hint)
    return y


def _onnx_pads(pairs: list[list[int]]) -> list[int]:
    """[[lo_1, hi_1], ...] -> ONNX's [lo_1, lo_2, ..., hi_1, hi_2, ...]."""
    return [p[0] for p in pairs] + [p[1] for p in pairs]


def _window(call: Call, ks: list[int], ss: list[int], ds: list[int]) -> tuple[dict, bool]:
    """Conv attributes for the layer's padding, and whether the kernel must be written
    dilated (an unknown size with s > 1 and d > 1, see the module docstring)."""
    padding, sizes = call.layer.padding, _sizes(call)
    es = [(k - 1) * d + 1 for k, d in zip(ks, ds)]
    if padding == "valid":
        return {"pads": [0] * (2 * len(ks))}, False
    if padding == "causal":
        return {"pads": [es[0] - 1, 0]}, False
    if None not in sizes:
        return {"pads": _onnx_pads([_same_pads(n, e, s) for n, e, s in zip(sizes, es, ss)])}, \
            False
    if all(s == 1 for s in ss):
        return {"pads": _onnx_pads([[(e - 1) // 2, e - 1 - (e - 1) // 2] for e in es])}, False
    return {"auto_pad": "SAME_UPPER"}, any(d > 1 for d in ds)


def _dilated(w: np.ndarray, ds: list[int]) -> np.ndarray:
    """(O, I, *k) -> (O, I, *((k - 1) d + 1)) with zeros between the taps."""
    shape = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], ds)]
    out = np.zeros((*w.shape[:2], *shape), np.float32)
    out[(slice(None), slice(None), *(slice(None, None, d) for d in ds))] = w
    return out


def _conv_node(ex: Any, call: Call, x: str, w: np.ndarray, what: str, bias: str,
               group: int) -> str:
    """One ONNX Conv with the layer's strides, dilation and padding; w is (O, I, *k)."""
    layer = call.layer
    ks, ss, ds = list(w.shape[2:]), list(layer.strides), list(layer.dilation_rate)
    attrs, spread = _window(call, ks, ss, ds)
    if spread:
        w, what = _dilated(w, ds), f"{what}_dilated"
        ks, ds = list(w.shape[2:]), [1] * len(ds)
    w_name = ex.weight(layer, what, lambda: w)
    return ex.one("Conv", [x, w_name, bias], call.hint, group=group, strides=ss,
                  dilations=ds, kernel_shape=ks, **attrs)


def _finish(ex: Any, call: Call, y: str, activation: str) -> list[str]:
    return [acts.emit(ex, activation, _back(ex, call, y), call.hint,
                      last_dim=call.out_shapes[0][-1])]


def _bias(ex: Any, layer: Any) -> str:
    return ex.weight(layer, "bias", lambda: layer.bias) if layer.use_bias else ""


def _moved(kernel: Any) -> np.ndarray:
    """(*k, I, O) -> (O, I, *k)."""
    w = np.asarray(kernel, np.float32)
    r = w.ndim - 2
    return np.ascontiguousarray(w.transpose(r + 1, r, *range(r)))


def _conv(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    activation = acts.check(layer.activation, call.where)
    y = _conv_node(ex, call, _first(ex, call), _moved(layer.kernel), "kernel",
                   _bias(ex, layer), layer.groups)
    return _finish(ex, call, y, activation)


def _depthwise_kernel(kernel: Any) -> tuple[np.ndarray, int]:
    """(*k, C, M) -> (C M, 1, *k) and the group count C."""
    w = np.asarray(kernel, np.float32)
    *ks, c, m = w.shape
    flat = w.reshape(*ks, c * m)
    r = len(ks)
    return np.ascontiguousarray(flat.transpose(r, *range(r))[:, None]), c


def _depthwise(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    activation = acts.check(layer.activation, call.where)
    w, c = _depthwise_kernel(layer.kernel)
    y = _conv_node(ex, call, _first(ex, call), w, "kernel", _bias(ex, layer), c)
    return _finish(ex, call, y, activation)


def _separable(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    activation = acts.check(layer.activation, call.where)
    w, c = _depthwise_kernel(layer.depthwise_kernel)
    z = _conv_node(ex, call, _first(ex, call), w, "depthwise_kernel", "", c)
    point = ex.weight(layer, "pointwise_kernel", lambda: _moved(layer.pointwise_kernel))
    y = ex.one("Conv", [z, point, _bias(ex, layer)], call.hint,
               kernel_shape=[1] * layer.rank)
    return _finish(ex, call, y, activation)


def _transpose(ex: Any, call: Call) -> list[str]:
    from rnnlens.ops.nn_conv import transpose_axis

    layer = call.layer
    activation = acts.check(layer.activation, call.where)
    pads, extras = [], []
    for i, n in enumerate(_sizes(call)):
        k, s, d = layer.kernel_size[i], layer.strides[i], layer.dilation_rate[i]
        e = (k - 1) * d + 1
        n = 8 * (e + s) if n is None else n      # the pads do not depend on n (docstring)
        opad = None if layer.output_padding is None else layer.output_padding[i]
        try:
            m, (lo, _) = transpose_axis(n, k, s, d, layer.padding, opad, "conv_transpose", i)
        except ValueError as err:
            raise ValueError(f"{call.where}: {err}") from None
        extra = m + lo - (s * (n - 1) + e)     # steps past the full transposed output
        pads.append([lo, max(-extra, 0)])
        extras.append(max(extra, 0))
    w = ex.weight(layer, "kernel", lambda: _moved(layer.kernel))
    y = ex.one("ConvTranspose", [_first(ex, call), w, _bias(ex, layer)], call.hint,
               strides=list(layer.strides), dilations=list(layer.dilation_rate),
               kernel_shape=list(layer.kernel_size), pads=_onnx_pads(pads),
               output_padding=extras)
    return _finish(ex, call, y, activation)


def _pool(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    ks, ss, sizes = list(layer.pool_size), list(layer.strides), _sizes(call)
    average = layer.pool_mode == "average"
    x = _first(ex, call)
    if layer.padding == "same" and None in sizes and any(s > k for s, k in zip(ss, ks)):
        return [_back(ex, call, _padded_pool(ex, call, x, ks, ss, average))]
    if layer.padding == "valid":
        attrs: dict[str, Any] = {"pads": [0] * (2 * len(ks))}
    elif None not in sizes:
        attrs = {"pads": _onnx_pads([_same_pads(n, k, s) for n, k, s in zip(sizes, ks, ss)])}
    else:
        attrs = {"auto_pad": "SAME_UPPER"}           # s <= k: the pads are never negative
    if average:
        attrs["count_include_pad"] = 0
    y = ex.one("AveragePool" if average else "MaxPool", [x], call.hint, kernel_shape=ks,
               strides=ss, **attrs)
    return [_back(ex, call, y)]


def _padded_pool(ex: Any, call: Call, x: str, ks: list[int], ss: list[int],
                 average: bool) -> str:
    """"same" pooling of (B, C, *S) with unknown sizes and s > k, where ONNX Runtime's
    SAME_UPPER computes negative pads: TensorFlow's pads from Shape, a Pad, then "valid"
    windows. Max pads with -inf; average divides the window sums by the real steps'
    share, ``AveragePool(pad(x)) / AveragePool(pad(ones))`` (= sum / count)."""
    hint, rank = call.hint, len(ks)
    n = ex.shape_of(x, 2, 2 + rank, hint)                               # [*S]
    s_, k_ = ex.ints(ss), ex.ints(ks)
    out = ex.one("Div", [ex.one("Add", [n, ex.ints([s - 1 for s in ss])], hint), s_], hint)
    reach = ex.one("Add", [ex.one("Mul", [ex.one("Sub", [out, ex.ints([1] * rank)], hint),
                                          s_], hint), k_], hint)
    total = ex.one("Max", [ex.one("Sub", [reach, n], hint), ex.ints([0] * rank)], hint)
    lo = ex.one("Div", [total, ex.ints([2] * rank)], hint)
    hi = ex.one("Sub", [total, lo], hint)
    pads = ex.one("Concat", [ex.ints([0, 0]), lo, ex.ints([0, 0]), hi], hint, axis=0)
    window = {"kernel_shape": ks, "strides": ss}
    if not average:
        padded = ex.one("Pad", [x, pads, ex.scalar(float("-inf"))], hint, mode="constant")
        return ex.one("MaxPool", [padded], hint, **window)
    padded = ex.one("Pad", [x, pads, ex.scalar(0.0)], hint, mode="constant")
    ones = ex.one("ConstantOfShape", [ex.one("Concat", [ex.ints([1, 1]), n], hint, axis=0)],
                  hint, value=ex.onnx.numpy_helper.from_array(np.ones(1, np.float32)))
    share = ex.one("AveragePool", [ex.one("Pad", [ones, pads, ex.scalar(0.0)], hint,
                                          mode="constant")], hint, **window)
    return ex.one("Div", [ex.one("AveragePool", [padded], hint, **window), share], hint)


@handles_masks
def _global_pool(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    axes = list(layer.spatial_axes())
    if type(layer) is GlobalAveragePooling1D and call.mask is not None:
        return [_masked_mean(ex, call, axes[0])]
    op_type = "ReduceMax" if layer.pool_mode == "max" else "ReduceMean"
    return [ex.reduce(op_type, call.x.name, axes, call.hint, keepdims=layer.keepdims)]


def _masked_mean(ex: Any, call: Call, axis: int) -> str:
    """``sum(Where(m, x, 0)) / sum(m)`` over the steps (a fully masked row: 0 / 0)."""
    hint, keep = call.hint, bool(call.layer.keepdims)
    mask = call.mask[0] if isinstance(call.mask, (list, tuple)) else call.mask
    m = ex.unsqueeze(mask, 2 if axis == 1 else 1, hint)            # (B, T, 1) / (B, 1, T)
    total = ex.reduce("ReduceSum", ex.one("Where", [m, call.x.name, ex.scalar(0.0)], hint),
                      [axis], hint, keepdims=keep)
    count = ex.reduce("ReduceSum", ex.one("Cast", [m], hint, to=ex.onnx.TensorProto.FLOAT),
                      [axis], hint, keepdims=keep)
    return ex.one("Div", [total, count], hint)


def _table() -> dict:
    from rnnlens.layers import convolutional, pooling

    table: dict = {}
    for module in (convolutional, pooling):
        for value in vars(module).values():
            if not (isinstance(value, type) and value.__dict__.get("registered", True)):
                continue
            for base, emitter in ((BaseConv, _conv), (BaseDepthwiseConv, _depthwise),
                                  (BaseSeparableConv, _separable),
                                  (BaseConvTranspose, _transpose), (BasePooling, _pool),
                                  (BaseGlobalPooling, _global_pool)):
                if issubclass(value, base) and value is not base:
                    table[value] = emitter
    return table


EMITTERS = _table()

__all__ = ["EMITTERS"]
