"""Convolution layers, as Keras 3 defines them: Conv1D / Conv2D / Conv3D, SeparableConv1D /
SeparableConv2D, DepthwiseConv1D / DepthwiseConv2D, Conv1DTranspose / Conv2DTranspose /
Conv3DTranspose (and Keras's aliases Convolution1D, Convolution2D, ...,
SeparableConvolution2D, Convolution3DTranspose).

Each family has a base class over N spatial dimensions (``BaseConv``, ``BaseSeparableConv``,
``BaseDepthwiseConv``, ``BaseConvTranspose``); a concrete class only sets ``rank``, so
Conv2D / Conv3D are one class each. With x padded as ``padding`` says (``rnnlens.ops``'s
``nn_conv`` has TensorFlow's rules; "causal", Conv1D only, pads ``(k - 1) d`` steps
before), strides s and dilations d::

    Conv:           z[b, o, f] = sum_{j, c in group(f)} xp[b, o s + j d, c] W[j, c, f]
    Depthwise:      z[b, o, c M + m] = sum_j xp[b, o s + j d, c] W[j, c, m]
    Separable:      z = pointwise(depthwise(x)),  pointwise: z[b, o, f] = sum_i u[b, o, i] P[i, f]
    Transpose:      z = conv^T(x) (the gradient of a convolution with respect to its input)
    y = activation(z + bias)

Backward (``backward`` beside ``forward``): ``dz = activation'(z) dy``, ``d_bias = sum dz``
over the batch and spatial axes, then the op's own backward (``conv_backward`` & co.):
``dW = im2col(x)^T dz`` and ``dx = col2im(dz W^T)``.

Masks: none of these layers supports masking (as in Keras 3): an incoming mask stops here.

Where Keras 3.15.1 on TensorFlow is wrong, rnnlens computes the formula above: with
``data_format="channels_first"`` and an output whose last spatial size equals its channel
count, Keras's ``ops.add(outputs, bias)`` becomes ``tf.nn.bias_add`` along the last axis,
adding the bias along time instead of the channels.

Shape legend: B batch, T steps, C input channels, F filters, M depth multiplier; o and j
(output position, kernel tap) are multi-indices over the 2 or 3 spatial axes of the 2-D / 3-D
layers, with ``o s + j d`` taken axis by axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.layers._spatial import (Keras2Key, SpatialLayer, SpatialTuple, data_format_param,
                                     output_length, resolve_data_format)
from rnnlens.layers.base import REGISTRY


def _ops() -> Any:
    """``rnnlens.ops.nn_conv``, imported on first use (``import rnnlens`` stays light)."""
    from rnnlens.ops import nn_conv

    return nn_conv


class _ConvFamily(SpatialLayer):
    """What every convolution layer shares: checks, bias + activation, forward/backward.

    Subclasses implement ``_build_kernels(c)``, ``_out_channels(c)``,
    ``_output_spatial(sizes)``, ``_op_forward(x)`` and ``_op_backward(cache, dz)``.
    """

    allow_causal = False
    forbid_stride_and_dilation = True

    def __post_init__(self) -> None:
        self.data_format = resolve_data_format(self.data_format)
        if self.padding == "causal" and not (self.allow_causal and self.rank == 1):
            raise ValueError(f"The `padding` argument of {type(self).__name__} must be one "
                             f"of 'valid', 'same'. Received: {self.padding}")
        if self.forbid_stride_and_dilation and max(self.strides) > 1 \
                and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.input_channels: int | None = None

    # -- shapes -----------------------------------------------------------------

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        self.check_rank(shape)
        c = shape[self.channel_axis]
        if c is None:
            raise ValueError(f"{self._kind()}: the channel dimension of the inputs should be "
                             f"defined (axis {self.channel_axis}), received shape {shape}.")
        if self.input_channels is not None and c != self.input_channels:
            raise ValueError(f"{self._kind()} was built for {self.input_channels} input "
                             f"channels (axis {self.channel_axis}), received shape {shape}.")
        self._check_channels(int(c), shape)
        self._output_spatial(tuple(shape[a] for a in self.spatial_axes()))

    def _check_channels(self, c: int, shape: tuple) -> None:
        """Refuses a channel count the layer cannot take."""

    def compute_output_shape(self, input_shape: tuple, **kwargs: Any) -> tuple:
        out = self._output_spatial(tuple(input_shape[a] for a in self.spatial_axes()))
        f = self._out_channels(input_shape[self.channel_axis])
        if self.channel_axis == -1:
            return (input_shape[0], *out, f)
        return (input_shape[0], f, *out)

    def _output_spatial(self, sizes: tuple) -> tuple:
        out = tuple(output_length(n, k, s, d, self.padding) for n, k, s, d in
                    zip(sizes, self.kernel_size, self.strides, self.dilation_rate))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(f"{self._kind()}: computed output size would be zero or "
                             f"negative. Received inputs of spatial shape {sizes}, "
                             f"kernel_size={self.kernel_size}, dilation_rate="
                             f"{self.dilation_rate}, strides={self.strides}, padding="
                             f"{self.padding!r}. Use a longer input, a smaller kernel, or "
                             "padding='same'.")
        return out

    # -- weights ----------------------------------------------------------------

    def build(self, input_shape: tuple) -> None:
        self.check_input_shape(tuple(input_shape))
        self.input_channels = int(input_shape[self.channel_axis])
        self._build_kernels(self.input_channels)
        if self.use_bias:
            self.bias = self.add_weight(shape=(self._out_channels(self.input_channels),),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.built = True

    # -- running ----------------------------------------------------------------

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        self.check_input_shape(tuple(inputs.shape))
        z, op_cache = self._op_forward(inputs)                    # (B, *o, F) or (B, F, *o)
        if self.use_bias:
            shape = (-1,) if self.channel_axis == -1 else (-1, *(1,) * self.rank)
            z += self.bias.reshape(shape)
        y = self.activation(z)
        return y, (op_cache, z, y)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        op_cache, z, y = cache
        dz = activations.backward(self.activation, z, y, d_out)
        d_x, grads = self._op_backward(op_cache, dz)
        if self.use_bias:
            channel = self.channel_axis % dz.ndim
            grads = grads + [dz.sum(axis=tuple(a for a in range(dz.ndim) if a != channel))]
        return d_x, {}, grads


# -- Conv ----------------------------------------------------------------------------


class BaseConv(_ConvFamily):
    """N-D convolution: ``activation(conv(x, kernel) + bias)``.

    Weights: kernel (*kernel_size, C / groups, filters), bias (filters,) if use_bias.

    Args:
        filters: number of output channels F.
        kernel_size: int or tuple of ``rank`` ints.
        strides: int or tuple; ``strides > 1`` cannot go with ``dilation_rate > 1``.
        padding: "valid", "same", or (1-D only) "causal" (output t sees inputs <= t).
        data_format: "channels_last" (B, *spatial, C) or "channels_first" (B, C, *spatial);
            None is ``image_data_format()``.
        dilation_rate: int or tuple: the spacing of the kernel taps.
        groups: split the channels into this many blocks, each convolved with its own
            ``filters / groups`` filters; C and filters must be divisible by it.
        activation, use_bias, *_initializer, *_regularizer, *_constraint: as Keras's.
    """

    registered = False
    allow_causal = True

    filters = P.Int(min=1, cap="max_units")
    kernel_size = SpatialTuple()
    strides = SpatialTuple(1)
    padding = P.Choice("valid", ("valid", "same", "causal"), lower=True)
    data_format = data_format_param()
    dilation_rate = SpatialTuple(1)
    groups = P.Int(1, min=1, cap="max_units")
    activation = P.Activation(None)
    use_bias = P.Bool(True)
    kernel_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    kernel_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    activity_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    bias_constraint = P.Constraint()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.filters % self.groups:
            raise ValueError("The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}.")

    def _check_channels(self, c: int, shape: tuple) -> None:
        if c % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {c} channels (full input shape is {shape}).")

    def _out_channels(self, c: Any) -> int:
        return self.filters

    def _build_kernels(self, c: int) -> None:
        self.kernel = self.add_weight(shape=(*self.kernel_size, c // self.groups, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")

    def _op_forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        return _ops().conv_forward(x, self.kernel, self.strides, self.padding, self.data_format,
                               self.dilation_rate)

    def _op_backward(self, cache: tuple, dz: np.ndarray) -> tuple[np.ndarray, list]:
        d_x, d_kernel = _ops().conv_backward(cache, dz)
        return d_x, [d_kernel]


class Conv1D(BaseConv):
    """1-D convolution over time (B, T, C) -> (B, T', filters); see :class:`BaseConv`."""

    rank = 1


# -- Depthwise -----------------------------------------------------------------------


class BaseDepthwiseConv(_ConvFamily):
    """N-D depthwise convolution: each channel convolved with its own ``depth_multiplier``
    filters; C * depth_multiplier output channels (channel c gives c M .. c M + M - 1).

    Weights: kernel (*kernel_size, C, depth_multiplier), bias (C * depth_multiplier,).

    Args:
        kernel_size, strides, padding ("valid" / "same"), data_format, dilation_rate,
        activation, use_bias: as :class:`BaseConv` (strides and dilation may both be > 1).
        depth_multiplier: filters per input channel M.
        depthwise_initializer, depthwise_regularizer, depthwise_constraint: for the kernel.
    """

    registered = False
    forbid_stride_and_dilation = False
    config_order = ("depth_multiplier", "kernel_size", "strides", "padding", "data_format",
                    "dilation_rate")

    kernel_size = SpatialTuple()
    strides = SpatialTuple(1)
    padding = P.Choice("valid", ("valid", "same"), lower=True)
    depth_multiplier = P.Int(1, min=1, cap="max_units")
    data_format = data_format_param()
    dilation_rate = SpatialTuple(1)
    activation = P.Activation(None)
    use_bias = P.Bool(True)
    depthwise_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    depthwise_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    activity_regularizer = P.Regularizer()
    depthwise_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    groups = Keras2Key(only=1)                       # tf_keras writes groups=1

    def _out_channels(self, c: Any) -> Any:
        return None if c is None else c * self.depth_multiplier

    def _build_kernels(self, c: int) -> None:
        self.kernel = self.add_weight(shape=(*self.kernel_size, c, self.depth_multiplier),
                                      initializer=self.depthwise_initializer,
                                      regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")

    def _op_forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        return _ops().depthwise_conv_forward(x, self.kernel, self.strides, self.padding,
                                         self.data_format, self.dilation_rate)

    def _op_backward(self, cache: tuple, dz: np.ndarray) -> tuple[np.ndarray, list]:
        d_x, d_kernel = _ops().depthwise_conv_backward(cache, dz)
        return d_x, [d_kernel]


class DepthwiseConv1D(BaseDepthwiseConv):
    """1-D depthwise convolution; see :class:`BaseDepthwiseConv`."""

    rank = 1


# -- Separable -----------------------------------------------------------------------


class BaseSeparableConv(_ConvFamily):
    """N-D separable convolution: a depthwise convolution (M filters per channel) then a
    pointwise (1x1) convolution to ``filters`` channels, then bias and activation.

    Weights: depthwise_kernel (*kernel_size, C, M), pointwise_kernel (*1, C M, filters),
    bias (filters,).

    Args:
        filters, kernel_size, strides, padding ("valid" / "same"), data_format,
        dilation_rate, activation, use_bias: as :class:`BaseConv`.
        depth_multiplier: M.
        depthwise_* / pointwise_*: initializers, regularizers, constraints of each kernel.
    """

    registered = False
    forbid_stride_and_dilation = False
    config_order = ("depth_multiplier", "filters", "kernel_size")

    filters = P.Int(min=1, cap="max_units")
    kernel_size = SpatialTuple()
    strides = SpatialTuple(1)
    padding = P.Choice("valid", ("valid", "same"), lower=True)
    data_format = data_format_param()
    dilation_rate = SpatialTuple(1)
    depth_multiplier = P.Int(1, min=1, cap="max_units")
    activation = P.Activation(None)
    use_bias = P.Bool(True)
    depthwise_initializer = P.Initializer("glorot_uniform")
    pointwise_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    depthwise_regularizer = P.Regularizer()
    pointwise_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    activity_regularizer = P.Regularizer()
    depthwise_constraint = P.Constraint()
    pointwise_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    # tf_keras's SeparableConv inherits these from its Conv base and never uses them.
    groups = Keras2Key(only=1)
    kernel_initializer = Keras2Key()
    kernel_regularizer = Keras2Key()
    kernel_constraint = Keras2Key()

    def _out_channels(self, c: Any) -> int:
        return self.filters

    def _build_kernels(self, c: int) -> None:
        m = self.depth_multiplier
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, c, m), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint,
            name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(*(1,) * self.rank, c * m, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")

    def _op_forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        return _ops().separable_conv_forward(x, self.depthwise_kernel, self.pointwise_kernel,
                                         self.strides, self.padding, self.data_format,
                                         self.dilation_rate)

    def _op_backward(self, cache: tuple, dz: np.ndarray) -> tuple[np.ndarray, list]:
        d_x, d_depth, d_point = _ops().separable_conv_backward(cache, dz)
        return d_x, [d_depth, d_point]


class SeparableConv1D(BaseSeparableConv):
    """1-D separable convolution; see :class:`BaseSeparableConv`."""

    rank = 1


# -- Transpose -----------------------------------------------------------------------


class BaseConvTranspose(_ConvFamily):
    """N-D transposed convolution (the adjoint of a convolution; "deconvolution").

    Along each axis of size n the output has ``(n - 1) s + e + output_padding`` steps for
    "valid" (``e = (k - 1) d + 1``; output_padding None: ``max(e, s) - e``), ``n s`` for
    "same" without output_padding and ``(n - 1) s + e % 2 + output_padding`` with it.

    Weights: kernel (*kernel_size, filters, C), bias (filters,).

    Args:
        filters, kernel_size, strides, padding ("valid" / "same"), data_format,
        dilation_rate, activation, use_bias, kernel_* / bias_*: as :class:`BaseConv`.
        output_padding: None, or an int / tuple of ints each < the stride: extra steps
            at the end of the output.
    """

    registered = False

    filters = P.Int(min=1, cap="max_units")
    kernel_size = SpatialTuple()
    strides = SpatialTuple(1)
    padding = P.Choice("valid", ("valid", "same"), lower=True)
    output_padding = SpatialTuple(None, min=0)
    data_format = data_format_param()
    dilation_rate = SpatialTuple(1)
    activation = P.Activation(None)
    use_bias = P.Bool(True)
    kernel_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    kernel_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    activity_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    groups = Keras2Key(only=1)                       # tf_keras writes groups=1

    def __post_init__(self) -> None:
        super().__post_init__()
        for i, (op, s) in enumerate(zip(self.output_padding or (), self.strides)):
            if op >= s:
                raise ValueError("`output_padding` must be strictly less than `strides` for "
                                 f"all dimensions. At dimension {i}, `output_padding` is {op} "
                                 f"but `strides` is {s}. Received: output_padding="
                                 f"{self.output_padding}, strides={self.strides}")

    def _out_channels(self, c: Any) -> int:
        return self.filters

    def _output_spatial(self, sizes: tuple) -> tuple:
        out, ops = [], _ops()
        pads = [None] * len(sizes) if self.output_padding is None else self.output_padding
        geometry = list(zip(sizes, self.kernel_size, self.strides, self.dilation_rate, pads))
        empty = any(n is not None and ops.transpose_output_size(n, k, s, self.padding, p, d)
                    == 0 for n, k, s, d, p in geometry)       # TF allows any size beside a 0
        for i, (n, k, s, d, opad) in enumerate(geometry):
            if n is None:
                out.append(None)
                continue
            try:
                out.append(ops.transpose_axis(n, k, s, d, self.padding, opad,
                                              "conv_transpose", i, empty)[0])
            except ValueError as err:
                raise ValueError(f"{self._kind()}: {err}") from None
        return tuple(out)

    def _build_kernels(self, c: int) -> None:
        self.kernel = self.add_weight(shape=(*self.kernel_size, self.filters, c),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")

    def _op_forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        return _ops().conv_transpose_forward(x, self.kernel, self.strides, self.padding,
                                         self.output_padding, self.data_format,
                                         self.dilation_rate)

    def _op_backward(self, cache: tuple, dz: np.ndarray) -> tuple[np.ndarray, list]:
        d_x, d_kernel = _ops().conv_transpose_backward(cache, dz)
        return d_x, [d_kernel]


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution; see :class:`BaseConvTranspose`."""

    rank = 1


class Conv2D(BaseConv):
    """2-D convolution over images (B, H, W, C) -> (B, H', W', filters); see
    :class:`BaseConv` ("causal" padding is 1-D only)."""

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution over volumes (B, D, H, W, C) -> (B, D', H', W', filters); see
    :class:`BaseConv`."""

    rank = 3


class DepthwiseConv2D(BaseDepthwiseConv):
    """2-D depthwise convolution; see :class:`BaseDepthwiseConv`."""

    rank = 2


class SeparableConv2D(BaseSeparableConv):
    """2-D separable convolution; see :class:`BaseSeparableConv`."""

    rank = 2


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution; see :class:`BaseConvTranspose`."""

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution; see :class:`BaseConvTranspose`. Keras's signature puts
    ``data_format`` before ``output_padding`` here (its config does not)."""

    rank = 3
    config_order = ("filters", "kernel_size", "strides", "padding", "output_padding",
                    "data_format")

    @classmethod
    def _declared_params(cls) -> dict:
        params = super()._declared_params()
        keys = list(params)
        keys.remove("data_format")
        keys.insert(keys.index("output_padding"), "data_format")
        return {k: params[k] for k in keys}


#: Keras's other names for the same classes (files may name them too).
Convolution1D = Conv1D
SeparableConvolution1D = SeparableConv1D
Convolution1DTranspose = Conv1DTranspose
Convolution2D = Conv2D
Convolution3D = Conv3D
SeparableConvolution2D = SeparableConv2D
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
ALIASES = {"Convolution1D": Conv1D, "SeparableConvolution1D": SeparableConv1D,
           "Convolution1DTranspose": Conv1DTranspose, "Convolution2D": Conv2D,
           "Convolution3D": Conv3D, "SeparableConvolution2D": SeparableConv2D,
           "Convolution2DTranspose": Conv2DTranspose,
           "Convolution3DTranspose": Conv3DTranspose}
for _alias, _cls in ALIASES.items():
    REGISTRY.setdefault(_alias, _cls)

__all__ = ["BaseConv", "BaseDepthwiseConv", "BaseSeparableConv", "BaseConvTranspose",
           "Conv1D", "DepthwiseConv1D", "SeparableConv1D", "Conv1DTranspose",
           "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose",
           "Conv3DTranspose", *ALIASES]
