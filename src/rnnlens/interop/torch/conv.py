"""1-D convolution and pooling layers, and Keras's mask ops, as torch modules.

Padding is TensorFlow's, computed from the actual number of steps n at run time
(kernel k, stride s, dilation d, effective kernel ``e = (k - 1) d + 1``): "valid" none,
"causal" ``e - 1`` before, "same" ``total = max((ceil(n / s) - 1) s + e - n, 0)``,
``total // 2`` before and the rest after::

    Conv1D              act(conv1d(pad(x), kernel (F, C / groups, k)) + bias)
    DepthwiseConv1D     conv1d with groups = C, kernel (C M, 1, k)
    SeparableConv1D     the depthwise convolution, then a 1 x 1 one with the bias
    MaxPooling1D        max over windows, "same" windows padded with -inf
    AveragePooling1D    window sums / the number of real steps in the window
    GlobalMax/AveragePooling1D   over the steps; the average reads the mask (masked mean)

``channels_last`` inputs are moved to (B, C, T) and back. The mask ops (``NotEqual``,
``Equal``, ``Any``, ``ExpandDims``, ``ZerosLike``, ``OnesLike``, ``LogicalOr``,
``LogicalAnd``, ``Concatenate``) are those of Keras 3 files.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from rnnlens.interop.torch import activations as acts
from rnnlens.interop.torch.layers import base, publish
from rnnlens.interop.torch.weights import _import_torch


def _pads(n: int, padding: str, e: int, s: int) -> tuple[int, int]:
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return e - 1, 0
    total = max((-(-n // s) - 1) * s + e - n, 0)
    return total // 2, total - total // 2


@functools.lru_cache(maxsize=1)
def classes() -> Any:
    torch = _import_torch()
    F = torch.nn.functional
    Base = base()

    class _Channels(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, bool(getattr(layer, "supports_masking", False)))
            self.channels_last = layer.data_format == "channels_last"

        def first(self, x: Any) -> Any:
            return x.transpose(1, 2) if self.channels_last else x

    class Conv1D(_Channels):
        def __init__(self, layer: Any):
            super().__init__(layer)
            from rnnlens.layers.convolutional import DepthwiseConv1D, SeparableConv1D

            where = f"Layer '{layer.name}' ({type(layer).__name__})"
            self.activation = acts.name_of(layer.activation, where)
            self.k, self.s = int(layer.kernel_size[0]), int(layer.strides[0])
            self.d, self.padding = int(layer.dilation_rate[0]), layer.padding
            self.pointwise = isinstance(layer, SeparableConv1D)
            if isinstance(layer, (DepthwiseConv1D, SeparableConv1D)):
                source = layer.kernel if isinstance(layer, DepthwiseConv1D) else \
                    layer.depthwise_kernel
                k, c, m = source.shape
                self.param("kernel", np.asarray(source).reshape(k, c * m).T[:, None, :])
                self.groups = c
            else:
                self.param("kernel", np.asarray(layer.kernel).transpose(2, 1, 0))
                self.groups = int(layer.groups)
            if self.pointwise:
                self.param("pointwise", np.asarray(layer.pointwise_kernel).transpose(2, 1, 0))
            self.use_bias = bool(layer.use_bias)
            if self.use_bias:
                self.param("bias", layer.bias)

        def call(self, x: Any, mask: Any) -> Any:
            x = self.first(x)                                            # (B, C, T)
            e = (self.k - 1) * self.d + 1
            x = F.pad(x, _pads(x.shape[-1], self.padding, e, self.s))
            bias = self.bias if self.use_bias else None
            y = F.conv1d(x, self.kernel, None if self.pointwise else bias, self.s, 0,
                         self.d, self.groups)
            if self.pointwise:
                y = F.conv1d(y, self.pointwise, bias)
            return acts.get(self.activation)(self.first(y))

    class Pooling1D(_Channels):
        def __init__(self, layer: Any):
            super().__init__(layer)
            self.k, self.s = int(layer.pool_size[0]), int(layer.strides[0])
            self.padding, self.mode = layer.padding, layer.pool_mode

        def call(self, x: Any, mask: Any) -> Any:
            x = self.first(x)
            pads = _pads(x.shape[-1], self.padding, self.k, self.s)
            if self.mode == "max":
                y = F.max_pool1d(F.pad(x, pads, value=float("-inf")), self.k, self.s)
            else:
                ones = torch.ones_like(x[:1, :1])                   # the real steps' share
                y = F.avg_pool1d(F.pad(x, pads), self.k, self.s) / \
                    F.avg_pool1d(F.pad(ones, pads), self.k, self.s)
            return self.first(y)

    class GlobalPooling1D(_Channels):
        def __init__(self, layer: Any):
            super().__init__(layer)
            self.mode, self.keepdims = layer.pool_mode, bool(layer.keepdims)
            self.axis = 1 if self.channels_last else 2

        def call(self, x: Any, mask: Any) -> Any:
            if self.mode == "max":
                return torch.amax(x, dim=self.axis, keepdim=self.keepdims)
            if mask is None:
                return torch.mean(x, dim=self.axis, keepdim=self.keepdims)
            m = mask.unsqueeze(2 if self.axis == 1 else 1)
            total = torch.where(m, x, torch.zeros_like(x)).sum(self.axis, keepdim=self.keepdims)
            return total / m.to(x.dtype).sum(self.axis, keepdim=self.keepdims)

        def compute_mask(self, x: Any, mask: Any) -> Any:
            return None

    return publish(__name__, Conv1D=Conv1D, Pooling1D=Pooling1D,
                   GlobalPooling1D=GlobalPooling1D, MaskOp=_mask_op(torch, Base))


def _mask_op(torch: Any, Base: type) -> type:
    class MaskOp(Base):
        """One of Keras's mask ops; ``x`` is ``[x]`` or ``[x, y]`` (``y`` may be a number)."""

        def __init__(self, layer: Any):
            super().__init__(layer.name, False)
            self.op = type(layer).__name__
            self.axis = getattr(layer, "axis", None)
            self.keepdims = bool(getattr(layer, "keepdims", False))
            self.dtype_name = getattr(layer, "dtype", None) or "float32"
            self.fill = getattr(layer, "fill", 0)

        def call(self, x: Any, mask: Any) -> Any:
            op, a = self.op, x[0]
            if op in ("NotEqual", "Equal", "LogicalOr", "LogicalAnd"):
                b = x[1] if torch.is_tensor(x[1]) else torch.as_tensor(x[1], device=a.device)
                return {"NotEqual": torch.ne, "Equal": torch.eq, "LogicalOr": torch.logical_or,
                        "LogicalAnd": torch.logical_and}[op](a, b)
            if op == "Any":
                dims = list(range(a.dim())) if self.axis is None else [int(self.axis)]
                return torch.any(a.bool(), dim=dims[0], keepdim=self.keepdims) if \
                    len(dims) == 1 else a.bool().any()
            if op == "ExpandDims":
                return a.unsqueeze(int(self.axis) % (a.dim() + 1))
            if op == "Concatenate":
                return torch.cat(list(x[0]) if isinstance(x[0], (list, tuple)) else list(x),
                                 dim=int(self.axis))
            dtype = getattr(torch, "bool" if self.dtype_name == "bool" else self.dtype_name)
            return torch.full(a.shape, self.fill, dtype=dtype, device=a.device)

    return MaskOp


def __getattr__(name: str) -> Any:
    found = getattr(classes(), name, None)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found


__all__ = ["classes"]
