"""``keras.ops`` convolutions and pooling on NumPy: ``conv``, ``conv_transpose``,
``depthwise_conv``, ``separable_conv``, ``max_pool``, ``average_pool``.

Inputs are ``(B, *spatial, C)`` (``data_format="channels_last"``) or ``(B, C, *spatial)``
with 1, 2 or 3 spatial dimensions; kernels are ``(*k, C_in, C_out)`` as in Keras. Padding
follows TensorFlow (``_conv_core`` has the formulas): "valid" uses only whole windows,
"same" gives ``ceil(n / s)`` outputs with the extra pad after. With padded input ``xp``,
strides ``s`` and dilations ``d``::

    conv:            y[b, o, f] = sum_{j, c} xp[b, o s + j d, c] W[j, c, f]
                     (groups = C_in / W.shape[-2]: channel block i meets filter block i)
    depthwise_conv:  y[b, o, c M + m] = sum_j xp[b, o s + j d, c] W[j, c, m]
    separable_conv:  pointwise (1x1) conv of the depthwise conv
    conv_transpose:  the adjoint of conv (the gradient of conv with respect to its input)
    max_pool:        y[b, o, c] = max over the window (padding never wins)
    average_pool:    y[b, o, c] = mean over the window's real (unpadded) entries

Each op is im2col + one matmul (``_conv_core``). Beside each op, ``<op>_forward(...)``
takes the same arguments and returns ``(output, cache)``, and ``<op>_backward(cache,
d_out)`` returns the gradients with respect to the input and the kernel(s), written by
hand (the layers train through them):

    conv:            dW = X^T dY,   dx = col2im(dY W^T)
    conv_transpose:  dx = conv(dy),  dW = im2col(dy)^T x
    max_pool:        dy goes to the first maximum of each window (TensorFlow's MaxPoolGrad);
                     with 3 spatial axes to every entry within 1e-5 of it (MaxPool3DGrad)
    average_pool:    dy / count spread over the window's real entries

Dtypes: the result has ``result_type(inputs, kernel)``; float16 computes in float32 and
integers in float64 (exact), cast back; bools are refused, and so are integer inputs of
``average_pool`` (as TensorFlow). TensorFlow refuses mixed float dtypes; rnnlens promotes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.ops import _conv_core as C
from rnnlens.ops._common import as_int
from rnnlens.ops._dispatch import cast_array, fail, keras_op, to_array
from rnnlens.ops._dtypes import result_type

_FORMATS = ("channels_last", "channels_first")

#: TensorFlow's MaxPool3DGrad (CPU) sends a window's gradient to every entry with
#: ``|x - max| < 1e-5`` (an absolute tolerance, whatever the dtype).
MAX_POOL_3D_TOLERANCE = 1e-5


# -- arguments ------------------------------------------------------------------------


def _data_format(value: Any, op: str) -> str:
    """Keras's ``standardize_data_format`` (None: ``image_data_format()``)."""
    if value is None:
        from rnnlens.backend import image_data_format

        return image_data_format()
    if not isinstance(value, str):
        raise TypeError(f"ops.{op}: data_format must be a string, received {value!r}.")
    if value.lower() not in _FORMATS:
        raise fail(op, f"The `data_format` argument must be one of {set(_FORMATS)}. "
                   f"Received: data_format={value}")
    return value.lower()


def _padding(value: Any, op: str, allowed: tuple = ("valid", "same")) -> str:
    if not isinstance(value, str):
        raise TypeError(f"ops.{op}: padding must be a string ({', '.join(allowed)}), "
                        f"received {value!r}.")
    if value.lower() not in allowed:
        raise fail(op, f"`padding` must be one of {', '.join(repr(a) for a in allowed)}. "
                   f"Received: padding={value!r}")
    return value.lower()


def spatial_tuple(value: Any, n: int, name: str, op: str, minimum: int = 1) -> tuple:
    """An int or a list/tuple of ``n`` ints, each >= ``minimum``, as a tuple of n ints."""
    if isinstance(value, np.ndarray) and value.ndim <= 1:
        value = value.tolist()
    items = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(items) != n:
        raise fail(op, f"The `{name}` argument must be an integer or a tuple of {n} "
                   f"integers. Received {name}={value!r}")
    out = tuple(as_int(v, name, op) for v in items)
    if any(v < minimum for v in out):
        raise fail(op, f"every `{name}` value must be >= {minimum}. Received {name}={value!r}")
    return out


def _check_rank(x: np.ndarray, op: str, ranks: tuple = (3, 4, 5)) -> int:
    if x.ndim not in ranks:
        raise fail(op, f"Input rank not supported: {x.ndim} (shape {x.shape}). Expected "
                   f"values are {list(ranks)}: (batch, *spatial, channels) with "
                   f"{ranks[0] - 2} to {ranks[-1] - 2} spatial dimensions.")
    return x.ndim - 2


def _dtypes(op: str, *arrays: np.ndarray, floats_only: bool = False) -> tuple[str, str]:
    """(compute dtype, result dtype) for the op's tensors."""
    d = result_type(*(a.dtype.name for a in arrays))
    kind = np.dtype(d).kind if d != "bfloat16" else "f"
    if kind in "bc" or (floats_only and kind != "f"):
        raise TypeError(f"ops.{op}: TensorFlow has no {op} for {d} tensors; cast to a float "
                        "dtype first.")
    if kind in "iu":
        return "float64", d
    return ("float32" if d in ("float16", "bfloat16") else d), d


def _last(x: np.ndarray, data_format: str) -> np.ndarray:
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


def _back(y: np.ndarray, data_format: str) -> np.ndarray:
    return y if data_format == "channels_last" else np.moveaxis(y, -1, 1)


def _out(y: np.ndarray, data_format: str, dtype: str) -> np.ndarray:
    y = _back(y, data_format)
    return np.ascontiguousarray(y if y.dtype == dtype else cast_array(y, dtype))


def _no_stride_and_dilation(strides: tuple, dilation: tuple, op: str) -> None:
    if max(strides) > 1 and max(dilation) > 1:
        raise fail(op, "`strides > 1` not supported in conjunction with `dilation_rate > 1`."
                   f" Received: strides={list(strides)} and dilation_rate={list(dilation)}")


def _not_empty(x: np.ndarray, g: C.Geometry, op: str) -> None:
    if 0 in g.out and x.size:
        raise fail(op, "The convolution operation resulted in an empty output: the input of "
                   f"spatial shape {g.size} is smaller than the kernel {g.kernel} with "
                   f"dilation_rate {g.dilation} and padding 'valid'. Use a smaller kernel or "
                   "padding='same'.")


class _Conv:
    """The checked arguments of one convolution: layout, geometry, groups, dtypes."""

    def __init__(self, op: str, inputs: Any, kernel: Any, strides: Any, padding: Any,
                 data_format: Any, dilation_rate: Any, paddings: tuple,
                 ranks: tuple = (3, 4, 5), channel_axis: int = -2):
        self.op = op
        x, k = to_array(inputs, op), to_array(kernel, op)
        n = _check_rank(x, op, ranks)
        if k.ndim != x.ndim:
            raise fail(op, f"the kernel must have the rank of the input ({x.ndim}: "
                       f"(*kernel_size, in_channels, out_channels)), received shape {k.shape}.")
        self.data_format = _data_format(data_format, op)
        self.compute, self.dtype = _dtypes(op, x, k)
        self.x = _last(x, self.data_format).astype(self.compute, copy=False)
        self.kernel = k.astype(self.compute, copy=False)
        if 0 in k.shape[:-2]:
            raise fail(op, f"the kernel size cannot contain 0, received kernel shape {k.shape}.")
        self.strides = spatial_tuple(strides, n, "strides", op)
        self.dilation = spatial_tuple(dilation_rate, n, "dilation_rate", op)
        self.padding = _padding(padding, op, paddings)
        self.in_channels, self.k_channels = self.x.shape[-1], k.shape[channel_axis]

    def geometry(self, size: tuple | None = None) -> C.Geometry:
        size = tuple(self.x.shape[1:-1]) if size is None else size
        return C.geometry(size, self.kernel.shape[:-2], self.strides, self.dilation,
                          self.padding, self.op)

    def groups(self) -> int:
        c, kc = self.in_channels, self.k_channels
        if kc == 0 or c % kc:
            raise fail(self.op, "The number of input channels must match the kernel's input "
                       f"channels (or be a multiple of them, for grouped convolutions). "
                       f"Received: input channels={c}, kernel input channels={kc}, "
                       f"data_format='{self.data_format}'.")
        groups = c // kc
        if self.kernel.shape[-1] % groups:
            raise fail(self.op, f"the {self.kernel.shape[-1]} filters cannot be split into "
                       f"the {groups} groups that {c} input channels and a kernel of "
                       f"{kc} input channels imply.")
        return groups


# -- conv -----------------------------------------------------------------------------


def conv_forward(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1
                 ) -> tuple[np.ndarray, tuple]:
    """``conv`` and the cache ``conv_backward`` needs; ``padding`` may also be "causal"
    (pads ``(k - 1) d`` before, none after: Conv1D's causal padding)."""
    a = _Conv("conv", inputs, kernel, strides, padding, data_format, dilation_rate,
              ("valid", "same", "causal"))
    _no_stride_and_dilation(a.strides, a.dilation, "conv")
    groups = a.groups()
    g = a.geometry()
    _not_empty(a.x, g, "conv")
    y, cache = C.conv(a.x, a.kernel, g, groups, "conv")
    return _out(y, a.data_format, a.dtype), (cache, a.data_format, a.compute)


def conv_backward(cache: tuple, d_out: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(dL/d inputs, dL/d kernel)`` of ``conv_forward`` given ``dL/d outputs``."""
    core, data_format, compute = cache
    dy = _last(np.asarray(d_out), data_format).astype(compute, copy=False)
    d_x, d_kernel = C.conv_backward(core, dy)
    return np.ascontiguousarray(_back(d_x, data_format)), d_kernel


@keras_op("conv", "inputs kernel")
def conv(inputs: np.ndarray, kernel: np.ndarray, strides: Any = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: Any = 1) -> np.ndarray:
    """General N-D convolution (cross-correlation), grouped when the input has a multiple
    of the kernel's input channels; see the module docstring."""
    _padding(padding, "conv")
    return conv_forward(inputs, kernel, strides, padding, data_format, dilation_rate)[0]


# -- depthwise and separable ----------------------------------------------------------


def depthwise_conv_forward(inputs: Any, kernel: Any, strides: Any = 1,
                           padding: str = "valid", data_format: str | None = None,
                           dilation_rate: Any = 1, _op: str = "depthwise_conv"
                           ) -> tuple[np.ndarray, tuple]:
    """``depthwise_conv`` and its cache: a grouped conv with one group per channel."""
    a = _Conv(_op, inputs, kernel, strides, padding, data_format, dilation_rate,
              ("valid", "same"), ranks=(3, 4))
    if a.k_channels != a.in_channels:
        raise fail(_op, "The number of input channels must match the kernel's input "
                   f"channels. Received: input channels={a.in_channels}, kernel input "
                   f"channels={a.k_channels}, data_format='{a.data_format}'.")
    g = a.geometry()
    _not_empty(a.x, g, _op)
    k = a.kernel
    flat = k.reshape(*k.shape[:-2], 1, k.shape[-2] * k.shape[-1])   # (*k, 1, C*M)
    y, cache = C.conv(a.x, flat, g, a.in_channels, _op)
    return _out(y, a.data_format, a.dtype), (cache, a.data_format, a.compute, k.shape)


def depthwise_conv_backward(cache: tuple, d_out: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(dL/d inputs, dL/d kernel)`` of ``depthwise_conv_forward``."""
    core, data_format, compute, k_shape = cache
    dy = _last(np.asarray(d_out), data_format).astype(compute, copy=False)
    d_x, d_flat = C.conv_backward(core, dy)
    return np.ascontiguousarray(_back(d_x, data_format)), d_flat.reshape(k_shape)


@keras_op("depthwise_conv", "inputs kernel")
def depthwise_conv(inputs: np.ndarray, kernel: np.ndarray, strides: Any = 1,
                   padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Any = 1) -> np.ndarray:
    """1-D / 2-D depthwise convolution: kernel (*k, C, M) -> C*M output channels."""
    return depthwise_conv_forward(inputs, kernel, strides, padding, data_format,
                                  dilation_rate)[0]


def separable_conv_forward(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any,
                           strides: Any = 1, padding: str = "valid",
                           data_format: str | None = None, dilation_rate: Any = 1
                           ) -> tuple[np.ndarray, tuple]:
    """``separable_conv`` and its cache: depthwise, then a 1x1 conv (one matmul)."""
    op = "separable_conv"
    df = _data_format(data_format, op)
    p = to_array(pointwise_kernel, op)
    z, d_cache = depthwise_conv_forward(inputs, depthwise_kernel, strides, padding, df,
                                        dilation_rate, _op=op)
    zl = _last(z, df)
    mid = zl.shape[-1]
    if p.ndim != zl.ndim or any(k != 1 for k in p.shape[:-2]) or p.shape[-2] != mid:
        raise fail(op, f"`pointwise_kernel` must have shape (*ones, {mid}, filters) for "
                   f"this depthwise output of {mid} channels, received {p.shape}.")
    compute, dtype = _dtypes(op, z, p)
    w = p.reshape(mid, p.shape[-1]).astype(compute, copy=False)       # (C*M, F)
    z2 = zl.reshape(-1, mid).astype(compute, copy=False)
    y = (z2 @ w).reshape(*zl.shape[:-1], p.shape[-1])
    return _out(y, df, dtype), (d_cache, z2, w, zl.shape, p.shape, df, compute)


def separable_conv_backward(cache: tuple, d_out: Any
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dL/d inputs, dL/d depthwise_kernel, dL/d pointwise_kernel)``."""
    d_cache, z2, w, z_shape, p_shape, df, compute = cache
    dy2 = _last(np.asarray(d_out), df).astype(compute, copy=False).reshape(-1, w.shape[1])
    d_point = (z2.T @ dy2).reshape(p_shape)
    dz = _back((dy2 @ w.T).reshape(z_shape), df)
    d_x, d_depth = depthwise_conv_backward(d_cache, dz)
    return d_x, d_depth, d_point


@keras_op("separable_conv", "inputs depthwise_kernel pointwise_kernel")
def separable_conv(inputs: np.ndarray, depthwise_kernel: np.ndarray,
                   pointwise_kernel: np.ndarray, strides: Any = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Any = 1) -> np.ndarray:
    """1-D / 2-D separable convolution: a depthwise conv, then a pointwise (1x1) conv."""
    return separable_conv_forward(inputs, depthwise_kernel, pointwise_kernel, strides,
                                  padding, data_format, dilation_rate)[0]


# -- conv_transpose -------------------------------------------------------------------


def transpose_output_size(n: int | None, k: int, s: int, padding: str,
                          output_padding: int | None, d: int) -> int | None:
    """Keras's output size of a transposed convolution along one axis."""
    if n is None:
        return None
    e = (k - 1) * d + 1
    if padding == "valid":
        extra = max(e, s) - e if output_padding is None else output_padding
        return (n - 1) * s + e + extra
    if output_padding is None:
        return n * s
    return (n - 1) * s + e % 2 + output_padding


def transpose_axis(n: int, k: int, s: int, d: int, padding: str,
                   output_padding: int | None, op: str, axis: int = 0, empty: bool = False
                   ) -> tuple[int, tuple[int, int]]:
    """One spatial axis of a transposed convolution: its output size m and the pads of
    the convolution that maps m back to n (TensorFlow refuses an m that does not, unless
    the output is ``empty``: another axis has size 0)."""
    m = transpose_output_size(n, k, s, padding, output_padding, d)
    e = (k - 1) * d + 1
    if padding == "valid":
        back = (m - e) // s + 1 if m >= e else 0
    else:
        back = -(-m // s)
    if back != n and m != 0 and not empty:       # TensorFlow gives an empty output for 0
        raise fail(op, f"the output size {m} of spatial axis {axis} (input {n}, kernel {k}, "
                   f"strides {s}, dilation {d}, padding '{padding}', output_padding "
                   f"{output_padding}) does not convolve back to {n}, so TensorFlow refuses "
                   "it; change output_padding (it must be < strides) or the kernel size.")
    return m, (C.same_pads(m, e, s) if padding == "same" else (0, 0))


def _transpose_geometry(a: _Conv, output_padding: tuple | None) -> C.Geometry:
    """The geometry of the convolution that maps the transposed output back to x."""
    size_in, ks = tuple(a.x.shape[1:-1]), a.kernel.shape[:-2]
    pads = [None] * len(ks) if output_padding is None else list(output_padding)
    shape = zip(size_in, ks, a.strides, a.dilation, pads)
    empty = any(transpose_output_size(n, k, s, a.padding, p, d) == 0 for n, k, s, d, p in shape)
    axes = [transpose_axis(n, k, s, d, a.padding, pads[i], a.op, i, empty)
            for i, (n, k, s, d) in enumerate(zip(size_in, ks, a.strides, a.dilation))]
    return C.Geometry(tuple(m for m, _ in axes), tuple(ks), a.strides, a.dilation,
                      tuple(p for _, p in axes), size_in)


def conv_transpose_forward(inputs: Any, kernel: Any, strides: Any = 1,
                           padding: str = "valid", output_padding: Any = None,
                           data_format: str | None = None, dilation_rate: Any = 1
                           ) -> tuple[np.ndarray, tuple]:
    """``conv_transpose`` and the cache ``conv_transpose_backward`` needs."""
    op = "conv_transpose"
    a = _Conv(op, inputs, kernel, strides, padding, data_format, dilation_rate,
              ("valid", "same"), channel_axis=-1)
    if a.k_channels != a.in_channels:
        raise fail(op, "The number of input channels must match the kernel's input channels "
                   f"(its last axis). Received: input channels={a.in_channels}, kernel input "
                   f"channels={a.k_channels}, data_format='{a.data_format}'.")
    _no_stride_and_dilation(a.strides, a.dilation, op)
    n = len(a.strides)
    opad = None if output_padding is None else spatial_tuple(output_padding, n,
                                                             "output_padding", op, 0)
    g = _transpose_geometry(a, opad)
    C.check_budget(op, "output", (a.x.shape[0], *g.padded, a.kernel.shape[-2]))
    y, cache = C.conv_transposed(a.x, a.kernel, g, op)
    return _out(y, a.data_format, a.dtype), (cache, a.data_format, a.compute)


def conv_transpose_backward(cache: tuple, d_out: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(dL/d inputs, dL/d kernel)`` of ``conv_transpose_forward``."""
    core, data_format, compute = cache
    dy = _last(np.asarray(d_out), data_format).astype(compute, copy=False)
    d_x, d_kernel = C.conv_transposed_backward(core, dy)
    return np.ascontiguousarray(_back(d_x, data_format)), d_kernel


@keras_op("conv_transpose", "inputs kernel")
def conv_transpose(inputs: np.ndarray, kernel: np.ndarray, strides: Any = 1,
                   padding: str = "valid", output_padding: Any = None,
                   data_format: str | None = None, dilation_rate: Any = 1) -> np.ndarray:
    """General N-D transposed convolution; kernel (*k, out_channels, in_channels)."""
    return conv_transpose_forward(inputs, kernel, strides, padding, output_padding,
                                  data_format, dilation_rate)[0]


# -- pooling --------------------------------------------------------------------------


def _pool_setup(op: str, inputs: Any, pool_size: Any, strides: Any, padding: Any,
                data_format: Any, floats_only: bool) -> tuple:
    x = to_array(inputs, op)
    n = _check_rank(x, op)
    df = _data_format(data_format, op)
    compute, dtype = _dtypes(op, x, floats_only=floats_only)
    if np.dtype(dtype).kind in "iu":
        compute = dtype                                   # exact comparisons
    k = spatial_tuple(pool_size, n, "pool_size", op)
    s = k if strides is None else spatial_tuple(strides, n, "strides", op)
    pad = _padding(padding, op)
    xl = _last(x, df).astype(compute, copy=False)
    g = C.geometry(xl.shape[1:-1], k, s, (1,) * n, pad, op)
    C.check_budget(op, "padded input", (xl.shape[0], *g.padded, xl.shape[-1]))
    return xl, g, df, compute, dtype


def _valid(g: C.Geometry) -> np.ndarray:
    """(1, *o, 1, *k) booleans: which window entries are real (not padding)."""
    return C.windows(C.pad(np.ones((1, *g.size, 1), bool), g, False), g)


def max_pool_forward(inputs: Any, pool_size: Any, strides: Any = None,
                     padding: str = "valid", data_format: str | None = None
                     ) -> tuple[np.ndarray, tuple]:
    """``max_pool`` and the cache ``max_pool_backward`` needs."""
    x, g, df, compute, dtype = _pool_setup("max_pool", inputs, pool_size, strides, padding,
                                           data_format, False)
    n, (b, c) = len(g.size), (x.shape[0], x.shape[-1])
    if 0 in g.out or not x.size:
        return _out(np.zeros((b, *g.out, c), compute), df, dtype), (None, x, g, df, None)
    low = -np.inf if np.dtype(compute).kind == "f" else np.iinfo(compute).min
    xp = C.pad(x, g, low)
    y = C.windows(xp, g).max(axis=tuple(range(-n, 0)))                   # (B, *o, C)
    return _out(y, df, dtype), (xp, x, g, df, y)


def max_pool_backward(cache: tuple, d_out: Any) -> np.ndarray:
    """``dL/d inputs``: with 1 or 2 spatial axes each window's gradient goes to its first
    maximum (in row-major window order, padding excluded), as TensorFlow's MaxPoolGrad;
    with 3, as TensorFlow's MaxPool3DGrad on CPU, to every real entry within
    ``MAX_POOL_3D_TOLERANCE`` (1e-5) of the window's maximum, each getting the whole of it
    (ties are counted more than once)."""
    xp, x, g, df, y = cache
    dy = _last(np.asarray(d_out), df).astype(x.dtype, copy=False)
    if xp is None:
        return np.ascontiguousarray(_back(np.zeros_like(x), df))
    n, k = len(g.size), g.window
    win = C.windows(xp, g)                                                # (B, *o, C, *k)
    top = y[(...,) + (None,) * n]
    if n == 3:                                    # TensorFlow's MaxPool3DGrad (CPU)
        near = (np.abs(win - top) < MAX_POOL_3D_TOLERANCE) & _valid(g)
        spread = np.where(near, dy[(...,) + (None,) * n], 0).astype(dy.dtype, copy=False)
        spread = spread.reshape(*spread.shape[:-n], k)
    else:
        hit = (win == top) & _valid(g)
        first = hit.reshape(*hit.shape[:-n], k).argmax(axis=-1)           # (B, *o, C)
        spread = np.zeros((*first.shape, k), dy.dtype)
        np.put_along_axis(spread, first[..., None], dy[..., None], axis=-1)
    d_x = C.col2im(spread.reshape(-1, x.shape[-1] * k), g, x.shape[0], x.shape[-1],
                   "max_pool")
    return np.ascontiguousarray(_back(d_x, df))


@keras_op("max_pool", "inputs")
def max_pool(inputs: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: str | None = None) -> np.ndarray:
    """Max pooling over the spatial axes (strides default to pool_size)."""
    return max_pool_forward(inputs, pool_size, strides, padding, data_format)[0]


def average_pool_forward(inputs: Any, pool_size: Any, strides: Any = None,
                         padding: str = "valid", data_format: str | None = None
                         ) -> tuple[np.ndarray, tuple]:
    """``average_pool`` and the cache ``average_pool_backward`` needs."""
    x, g, df, compute, dtype = _pool_setup("average_pool", inputs, pool_size, strides,
                                           padding, data_format, True)
    b, c = x.shape[0], x.shape[-1]
    if 0 in g.out or not x.size:
        return _out(np.zeros((b, *g.out, c), compute), df, dtype), (x.shape, g, df, None)
    count = _window_sum(C.pad(np.ones((1, *g.size, 1), compute), g), g)      # (1, *o, 1)
    y = _window_sum(C.pad(x, g), g) / count                               # (B, *o, C)
    return _out(y, df, dtype), (x.shape, g, df, count)


def _window_sum(xp: np.ndarray, g: C.Geometry) -> np.ndarray:
    """The sum over each window of the padded ``xp``: one strided add per window tap."""
    taps = iter(np.ndindex(*g.kernel))
    total = xp[(slice(None), *C.tap_slices(g, next(taps)))].copy()
    for offsets in taps:
        total += xp[(slice(None), *C.tap_slices(g, offsets))]
    return total


def average_pool_backward(cache: tuple, d_out: Any) -> np.ndarray:
    """``dL/d inputs``: ``dy / count`` added to every real entry of each window."""
    x_shape, g, df, count = cache
    dy = _last(np.asarray(d_out), df)
    if count is None:
        return np.ascontiguousarray(_back(np.zeros(x_shape, dy.dtype), df))
    share = (dy / count).astype(count.dtype, copy=False)                  # (B, *o, C)
    C.check_budget("average_pool", "padded input", (x_shape[0], *g.padded, x_shape[-1]))
    full = np.zeros((x_shape[0], *g.padded, x_shape[-1]), share.dtype)
    for offsets in np.ndindex(*g.kernel):
        full[(slice(None), *C.tap_slices(g, offsets))] += share
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(g.pads, g.size))
    return np.ascontiguousarray(_back(full[(slice(None), *crop)], df))


@keras_op("average_pool", "inputs")
def average_pool(inputs: np.ndarray, pool_size: Any, strides: Any = None,
                 padding: str = "valid", data_format: str | None = None) -> np.ndarray:
    """Average pooling over the spatial axes; "same" windows average their real entries."""
    return average_pool_forward(inputs, pool_size, strides, padding, data_format)[0]


__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv", "max_pool",
           "average_pool", "conv_forward", "conv_backward", "conv_transpose_forward",
           "conv_transpose_backward", "depthwise_conv_forward", "depthwise_conv_backward",
           "separable_conv_forward", "separable_conv_backward", "max_pool_forward",
           "max_pool_backward", "average_pool_forward", "average_pool_backward",
           "spatial_tuple", "transpose_output_size", "transpose_axis", "MAX_POOL_3D_TOLERANCE"]

