"""Convolution and pooling layers: Conv1D, SeparableConv1D, DepthwiseConv1D,
Conv1DTranspose, MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D,
GlobalAveragePooling1D, in both data formats.

ONNX's ``Conv`` / ``ConvTranspose`` / ``MaxPool`` / ``AveragePool`` run on (B, C, T), so a
``channels_last`` input is transposed there and back. With kernel k, stride s, dilation d
and the effective kernel ``e = (k - 1) d + 1``::

    Conv1D            Conv(W = kernel^T (F, C / groups, k), B = bias, group=groups)
    DepthwiseConv1D   Conv(W (C M, 1, k): row c M + m is kernel[:, c, m], group=C)
    SeparableConv1D   the depthwise Conv (no bias), then a 1x1 Conv (F, C M, 1) with bias
    Conv1DTranspose   ConvTranspose(W = kernel (k, F, C) as (C, F, k)), pads and
                      output_padding from Keras's output size (see below)
    MaxPooling1D      MaxPool;  AveragePooling1D  AveragePool(count_include_pad=0):
                      "same" windows average their real steps only, as Keras / TF
    GlobalMax/AveragePooling1D   ReduceMax / ReduceMean over the steps (keepdims)

then the layer's activation (on the layer's own layout, so softmax takes the last axis
as in rnnlens). Padding, as TensorFlow's: "valid" none; "causal" ``e - 1`` steps before;
"same" ``total = max((ceil(n / s) - 1) s + e - n, 0)``, ``total // 2`` before, the rest
after. With a known number of steps n the pads are written out; with an unknown n,
``auto_pad="SAME_UPPER"`` (which is the same rule) when d = 1, fixed pads when s = 1
(the total is then ``e - 1`` for every n), and for s > 1 with d > 1 the kernel is
written dilated (zeros between taps) so that SAME_UPPER applies. Pooling with "same",
an unknown n and a stride larger than the window, where ONNX Runtime's SAME_UPPER
pooling rejects the negative pads it computes, reads n with ``Shape`` and pads
explicitly (see ``_padded_pool``).

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
from rnnlens.layers.convolutional import (Conv1D, Conv1DTranspose, DepthwiseConv1D,
                                          SeparableConv1D)
from rnnlens.layers.pooling import (AveragePooling1D, GlobalAveragePooling1D,
                                    GlobalMaxPooling1D, MaxPooling1D)


def _same_pads(n: int, e: int, s: int) -> list[int]:
    """TensorFlow's "SAME" pads for n steps, effective kernel e, stride s."""
    total = max((-(-n // s) - 1) * s + e - n, 0)
    return [total // 2, total - total // 2]


def _steps(call: Call) -> int | None:
    return call.x.shape[call.layer.spatial_axes()[0]]


def _first(ex: Any, call: Call) -> str:
    """The input as (B, C, T)."""
    if call.layer.data_format == "channels_last":
        return ex.transpose(call.x.name, [0, 2, 1], call.hint)
    return call.x.name


def _back(ex: Any, call: Call, y: str) -> str:
    """(B, C', T') back to the layer's layout."""
    if call.layer.data_format == "channels_last":
        return ex.transpose(y, [0, 2, 1], call.hint)
    return y


def _window(call: Call, k: int, s: int, d: int) -> tuple[dict, bool]:
    """Conv attributes for the layer's padding, and whether the kernel must be written
    dilated (an unknown n with s > 1 and d > 1, see the module docstring)."""
    padding, n = call.layer.padding, _steps(call)
    e = (k - 1) * d + 1
    if padding == "valid":
        return {"pads": [0, 0]}, False
    if padding == "causal":
        return {"pads": [e - 1, 0]}, False
    if n is not None:
        return {"pads": _same_pads(n, e, s)}, False
    if s == 1:
        return {"pads": [(e - 1) // 2, e - 1 - (e - 1) // 2]}, False
    return {"auto_pad": "SAME_UPPER"}, d > 1


def _dilated(w: np.ndarray, d: int) -> np.ndarray:
    """(O, I, k) -> (O, I, (k - 1) d + 1) with zeros between the taps."""
    out = np.zeros((*w.shape[:2], (w.shape[2] - 1) * d + 1), np.float32)
    out[:, :, ::d] = w
    return out


def _conv_node(ex: Any, call: Call, x: str, w: np.ndarray, what: str, bias: str,
               group: int) -> str:
    """One ONNX Conv with the layer's strides, dilation and padding; w is (O, I, k)."""
    layer = call.layer
    k, s, d = w.shape[2], layer.strides[0], layer.dilation_rate[0]
    attrs, spread = _window(call, k, s, d)
    if spread:
        w, k, d, what = _dilated(w, d), (k - 1) * d + 1, 1, f"{what}_dilated"
    w_name = ex.weight(layer, what, lambda: w)
    return ex.one("Conv", [x, w_name, bias], call.hint, group=group, strides=[s],
                  dilations=[d], kernel_shape=[k], **attrs)


def _finish(ex: Any, call: Call, y: str, activation: str) -> list[str]:
    return [acts.emit(ex, activation, _back(ex, call, y), call.hint,
                      last_dim=call.out_shapes[0][-1])]


def _bias(ex: Any, layer: Any) -> str:
    return ex.weight(layer, "bias", lambda: layer.bias) if layer.use_bias else ""


def _conv(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    activation = acts.check(layer.activation, call.where)
    w = np.asarray(layer.kernel, np.float32).transpose(2, 1, 0)         # (F, C/g, k)
    y = _conv_node(ex, call, _first(ex, call), w, "kernel", _bias(ex, layer), layer.groups)
    return _finish(ex, call, y, activation)


def _depthwise_kernel(kernel: Any) -> tuple[np.ndarray, int]:
    """(k, C, M) -> (C M, 1, k) and the group count C."""
    k, c, m = kernel.shape
    return np.asarray(kernel, np.float32).reshape(k, c * m).T[:, None, :], c


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
    point = ex.weight(layer, "pointwise_kernel",
                      lambda: np.asarray(layer.pointwise_kernel, np.float32).transpose(2, 1, 0))
    y = ex.one("Conv", [z, point, _bias(ex, layer)], call.hint, kernel_shape=[1])
    return _finish(ex, call, y, activation)


def _transpose(ex: Any, call: Call) -> list[str]:
    from rnnlens.ops.nn_conv import transpose_axis

    layer = call.layer
    activation = acts.check(layer.activation, call.where)
    k, s, d = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
    e = (k - 1) * d + 1
    n = _steps(call)
    n = 8 * (e + s) if n is None else n        # the pads do not depend on n (docstring)
    opad = None if layer.output_padding is None else layer.output_padding[0]
    try:
        m, (lo, _) = transpose_axis(n, k, s, d, layer.padding, opad, "conv_transpose")
    except ValueError as err:
        raise ValueError(f"{call.where}: {err}") from None
    extra = m + lo - (s * (n - 1) + e)         # steps past the full transposed output
    w = ex.weight(layer, "kernel",
                  lambda: np.asarray(layer.kernel, np.float32).transpose(2, 1, 0))
    y = ex.one("ConvTranspose", [_first(ex, call), w, _bias(ex, layer)], call.hint,
               strides=[s], dilations=[d], kernel_shape=[k], pads=[lo, max(-extra, 0)],
               output_padding=[max(extra, 0)])
    return _finish(ex, call, y, activation)


def _pool(ex: Any, call: Call) -> list[str]:
    layer = call.layer
    k, s, n = layer.pool_size[0], layer.strides[0], _steps(call)
    average = type(layer) is AveragePooling1D
    x = _first(ex, call)
    if layer.padding == "same" and n is None and s > k:
        return [_back(ex, call, _padded_pool(ex, call, x, k, s, average))]
    if layer.padding == "valid":
        attrs: dict[str, Any] = {"pads": [0, 0]}
    elif n is not None:
        attrs = {"pads": _same_pads(n, k, s)}
    else:
        attrs = {"auto_pad": "SAME_UPPER"}           # s <= k: the pads are never negative
    if average:
        attrs["count_include_pad"] = 0
    y = ex.one("AveragePool" if average else "MaxPool", [x], call.hint, kernel_shape=[k],
               strides=[s], **attrs)
    return [_back(ex, call, y)]


def _padded_pool(ex: Any, call: Call, x: str, k: int, s: int, average: bool) -> str:
    """"same" pooling of (B, C, T) with T unknown and s > k, where ONNX Runtime's SAME_UPPER
    computes negative pads: TensorFlow's pads from Shape, a Pad, then "valid" windows.
    Max pads with -inf; average divides the window sums by the real steps' share,
    ``AveragePool(pad(x)) / AveragePool(pad(ones))`` (= sum / count)."""
    hint = call.hint
    n = ex.shape_of(x, 2, 3, hint)                                      # [T]
    out = ex.one("Div", [ex.one("Add", [n, ex.ints([s - 1])], hint), ex.ints([s])], hint)
    reach = ex.one("Add", [ex.one("Mul", [ex.one("Sub", [out, ex.ints([1])], hint),
                                          ex.ints([s])], hint), ex.ints([k])], hint)
    total = ex.one("Max", [ex.one("Sub", [reach, n], hint), ex.ints([0])], hint)
    lo = ex.one("Div", [total, ex.ints([2])], hint)
    hi = ex.one("Sub", [total, lo], hint)
    pads = ex.one("Concat", [ex.ints([0, 0]), lo, ex.ints([0, 0]), hi], hint, axis=0)
    window = {"kernel_shape": [k], "strides": [s]}
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
    axis = layer.spatial_axes()[0]
    if type(layer) is GlobalAveragePooling1D and call.mask is not None:
        return [_masked_mean(ex, call, axis)]
    op_type = "ReduceMax" if type(layer) is GlobalMaxPooling1D else "ReduceMean"
    return [ex.reduce(op_type, call.x.name, [axis], call.hint, keepdims=layer.keepdims)]


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


EMITTERS = {
    Conv1D: _conv,
    DepthwiseConv1D: _depthwise,
    SeparableConv1D: _separable,
    Conv1DTranspose: _transpose,
    MaxPooling1D: _pool,
    AveragePooling1D: _pool,
    GlobalMaxPooling1D: _global_pool,
    GlobalAveragePooling1D: _global_pool,
}

__all__ = ["EMITTERS"]
