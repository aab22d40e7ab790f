"""The machinery under ``nn_conv``: window geometry, im2col / col2im, grouped matmuls.

Everything here works on channels-last arrays ``(B, *S, C)`` with N spatial dimensions
(any N; Keras uses 1, 2, 3). A :class:`Geometry` describes the sliding windows of one
convolution or pooling along the spatial axes: sizes ``n``, kernel ``k``, strides ``s``,
dilations ``d``, pads ``(p_lo, p_hi)`` and output sizes ``o``. With the effective kernel
``e = (k - 1) d + 1``::

    o = floor((n + p_lo + p_hi - e) / s) + 1          (0 when the window does not fit)

    "valid":  p_lo = p_hi = 0
    "same":   o = ceil(n / s), total = max((o - 1) s + e - n, 0),
              p_lo = floor(total / 2), p_hi = total - p_lo   (TensorFlow: extra pad after)
    "causal": p_lo = e - 1, p_hi = 0

``im2col`` gathers every window of the padded input into one row of a matrix
``X (B*prod(o), C*prod(k))`` (one strided copy per kernel tap; ``windows`` is the same
as a ``numpy.lib.stride_tricks.sliding_window_view``),
with the columns in ``(c, j_1, ..., j_N)`` order, so a convolution is one matmul
``Y = X W`` with ``W (C*prod(k), F)`` the kernel ``(*k, C, F)`` with its channel axis moved
first. ``col2im`` is its adjoint: it adds every row back onto the window it came from
(``prod(k)`` strided slice additions) and crops the pads. With ``groups = g`` the channels
split into g blocks that meet only their own block of filters: ``Y_b = X_b W_b``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rnnlens.ops._dispatch import fail

#: The largest intermediate (padded input, im2col matrix, output) one op may allocate, in
#: elements: arguments that would need more (a dilation of 10**9 with "same" padding, ...)
#: are refused with a ValueError instead of exhausting memory.
MAX_ELEMENTS = 1 << 30


class Geometry(NamedTuple):
    """The windows of one convolution / pooling along the spatial axes (see the module)."""

    size: tuple[int, ...]
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    out: tuple[int, ...]

    @property
    def effective(self) -> tuple[int, ...]:
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilation))

    @property
    def padded(self) -> tuple[int, ...]:
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.size, self.pads))

    @property
    def window(self) -> int:
        return math.prod(self.kernel)


def same_pads(n: int, e: int, s: int) -> tuple[int, int]:
    """TensorFlow's "SAME" pads for size n, effective kernel e, stride s."""
    out = -(-n // s)
    total = max((out - 1) * s + e - n, 0)
    return total // 2, total - total // 2


def geometry(size: tuple, kernel: tuple, strides: tuple, dilation: tuple, padding: str,
             op: str) -> Geometry:
    """The windows for ``padding`` "valid", "same" or "causal" (sizes already checked)."""
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if padding == "valid":
        pads = tuple((0, 0) for _ in size)
    elif padding == "same":
        pads = tuple(same_pads(n, e, s) for n, e, s in zip(size, eff, strides))
    elif padding == "causal":
        pads = tuple((e - 1, 0) for e in eff)
    else:
        raise fail(op, f"unknown padding {padding!r}.")
    out = tuple(max(0, (n + lo + hi - e) // s + 1)
                for n, (lo, hi), e, s in zip(size, pads, eff, strides))
    return Geometry(tuple(size), tuple(kernel), tuple(strides), tuple(dilation), pads, out)


def check_budget(op: str, what: str, shape: tuple) -> None:
    """Refuses an intermediate array of more than ``MAX_ELEMENTS`` elements."""
    count = math.prod(int(d) for d in shape)
    if count > MAX_ELEMENTS:
        raise fail(op, f"the {what} would hold {count} elements (shape {tuple(shape)}), over "
                   f"rnnlens's limit of {MAX_ELEMENTS} (rnnlens.ops._conv_core.MAX_ELEMENTS);"
                   " check the kernel size, dilation_rate, strides and padding.")


def pad(x: np.ndarray, g: Geometry, value: float = 0) -> np.ndarray:
    """``x`` (B, *n, C) padded to (B, *padded, C) with ``value``."""
    if not any(lo or hi for lo, hi in g.pads):
        return x
    return np.pad(x, ((0, 0), *g.pads, (0, 0)), constant_values=value)


def windows(xp: np.ndarray, g: Geometry) -> np.ndarray:
    """A view (B, *o, C, *k) of the windows of the padded input ``xp`` (B, *padded, C)."""
    n = len(g.size)
    view = sliding_window_view(xp, g.effective, axis=tuple(range(1, n + 1)))
    index = ((slice(None),) + tuple(slice(0, (o - 1) * s + 1, s)
                                    for o, s in zip(g.out, g.strides))
             + (slice(None),) + tuple(slice(None, None, d) for d in g.dilation))
    return view[index]


def tap_slices(g: Geometry, offsets: tuple) -> tuple:
    """The strided slices of the padded input that kernel tap ``offsets`` (j_1, ..., j_N)
    reads for every output position: ``o s + j d`` along each axis."""
    return tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                 for j, d, o, s in zip(offsets, g.dilation, g.out, g.strides))


def im2col(x: np.ndarray, g: Geometry, op: str) -> np.ndarray:
    """The windows of ``x`` (B, *n, C) as rows: (B*prod(o), C*prod(k)).

    Filled one kernel tap at a time (``prod(k)`` strided copies with the channels
    contiguous), which copies memory in larger runs than reshaping ``windows``."""
    batch, channels = x.shape[0], x.shape[-1]
    check_budget(op, "padded input", (batch, *g.padded, channels))
    check_budget(op, "im2col matrix", (batch, *g.out, channels, g.window))
    if 0 in g.out:
        return np.zeros((batch * math.prod(g.out), channels * g.window), x.dtype)
    xp = pad(x, g)
    cols = np.empty((batch, *g.out, channels, g.window), x.dtype)     # (B, *o, C, K)
    for j, offsets in enumerate(np.ndindex(*g.kernel)):
        cols[..., j] = xp[(slice(None), *tap_slices(g, offsets))]
    return cols.reshape(-1, channels * g.window)


def col2im(cols: np.ndarray, g: Geometry, batch: int, channels: int, op: str) -> np.ndarray:
    """The adjoint of ``im2col``: rows added back onto their windows, pads cropped."""
    check_budget(op, "padded output", (batch, *g.padded, channels))
    if 0 in g.size:                              # an empty output (a transposed conv's)
        return np.zeros((batch, *g.size, channels), cols.dtype)
    full = np.zeros((batch, *g.padded, channels), cols.dtype)
    per = cols.reshape(batch, *g.out, channels, g.window)
    for j, offsets in enumerate(np.ndindex(*g.kernel)):
        full[(slice(None), *tap_slices(g, offsets))] += per[..., j]
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(g.pads, g.size))
    return np.ascontiguousarray(full[(slice(None), *crop)])


# -- kernels as matrices, grouped products ------------------------------------------


def kernel_matrix(kernel: np.ndarray) -> np.ndarray:
    """A kernel (*k, A, F) as the matrix (A*prod(k), F), rows in (a, j) order."""
    return np.moveaxis(kernel, -2, 0).reshape(-1, kernel.shape[-1])


def kernel_from_matrix(m: np.ndarray, shape: tuple) -> np.ndarray:
    """The inverse of ``kernel_matrix`` for a kernel of ``shape``."""
    a = shape[-2]
    return np.ascontiguousarray(np.moveaxis(m.reshape(a, *shape[:-2], shape[-1]), 0, -2))


def _blocks(m: np.ndarray, groups: int) -> np.ndarray:
    """(N, g*c) -> (g, N, c): the g column blocks of ``m`` stacked."""
    return m.reshape(m.shape[0], groups, -1).transpose(1, 0, 2)


def _unblocks(m: np.ndarray) -> np.ndarray:
    """(g, N, c) -> (N, g*c)."""
    return m.transpose(1, 0, 2).reshape(m.shape[1], -1)


def gemm(cols: np.ndarray, w: np.ndarray, groups: int) -> np.ndarray:
    """``Y_b = X_b W_b`` per group: cols (N, g*a), w (a, g*f) -> (N, g*f)."""
    if groups == 1:
        return cols @ w
    return _unblocks(np.matmul(_blocks(cols, groups), _blocks(w, groups)))


def gemm_t(dy: np.ndarray, w: np.ndarray, groups: int) -> np.ndarray:
    """``dX_b = dY_b W_b^T`` per group: dy (N, g*f), w (a, g*f) -> (N, g*a).

    Grouped, it runs as ``W_b dY_b^T`` (g, a, N), whose long axis is the matmul's output
    columns (several times faster than (g, N, f) @ (g, f, a) for the thin blocks of
    depthwise convolutions); one filter per group (f = 1) is a broadcast product."""
    if groups == 1:
        return dy @ w.T
    n, a = dy.shape[0], w.shape[0]
    d3, w3 = dy.reshape(n, groups, -1), w.reshape(a, groups, -1)      # (N, g, f), (a, g, f)
    if d3.shape[-1] == 1:                     # one strided product per column of a block
        out = np.empty((n, groups, a), np.result_type(dy, w))
        for j in range(a):
            np.multiply(d3[..., 0], w3[j, :, 0], out=out[..., j])
        return out.reshape(n, groups * a)
    prod = np.matmul(w3.transpose(1, 0, 2), d3.transpose(1, 2, 0))     # (g, a, N)
    return prod.transpose(2, 0, 1).reshape(n, groups * a)


def gemm_w(cols: np.ndarray, dy: np.ndarray, groups: int) -> np.ndarray:
    """``dW_b = X_b^T dY_b`` per group: -> (a, g*f)."""
    if groups == 1:
        return cols.T @ dy
    prod = np.matmul(_blocks(cols, groups).transpose(0, 2, 1), _blocks(dy, groups))
    return prod.transpose(1, 0, 2).reshape(prod.shape[1], -1)


# -- the convolution itself (channels last) ------------------------------------------


def conv(x: np.ndarray, kernel: np.ndarray, g: Geometry, groups: int, op: str
         ) -> tuple[np.ndarray, tuple]:
    """``y[b, o, f] = sum_{j, c} xp[b, o s + j d, c] W[j, c, f]`` and its cache.

    x (B, *n, C), kernel (*k, C/groups, F) -> y (B, *o, F).
    """
    cols = im2col(x, g, op)                                   # (B*prod(o), C*prod(k))
    w = kernel_matrix(kernel)                                 # (C/g*prod(k), F)
    check_budget(op, "output", (x.shape[0], *g.out, kernel.shape[-1]))
    y = gemm(cols, w, groups).reshape(x.shape[0], *g.out, kernel.shape[-1])
    return y, (cols, w, x.shape, kernel.shape, g, groups, op)


def conv_backward(cache: tuple, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(dL/dx, dL/dkernel)``: ``dW = X^T dY`` and ``dx = col2im(dY W^T)``."""
    cols, w, x_shape, k_shape, g, groups, op = cache
    dy2 = dy.reshape(-1, k_shape[-1]).astype(cols.dtype, copy=False)
    d_kernel = kernel_from_matrix(gemm_w(cols, dy2, groups), k_shape)
    d_x = col2im(gemm_t(dy2, w, groups), g, x_shape[0], x_shape[-1], op)
    return d_x, d_kernel


def conv_transposed(x: np.ndarray, kernel: np.ndarray, g: Geometry, op: str
                    ) -> tuple[np.ndarray, tuple]:
    """The adjoint of ``conv`` with ``kernel`` (*k, F, C): x (B, *o, C) -> (B, *n, F).

    ``g`` is the geometry of the convolution that maps the output back to x.
    """
    x2 = x.reshape(-1, x.shape[-1])                           # (B*prod(o), C)
    w = kernel_matrix(kernel)                                 # (F*prod(k), C)
    check_budget(op, "im2col matrix", (x2.shape[0], w.shape[0]))
    y = col2im(x2 @ w.T, g, x.shape[0], kernel.shape[-2], op)
    return y, (x2, w, x.shape, kernel.shape, g, op)


def conv_transposed_backward(cache: tuple, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(dL/dx, dL/dkernel)`` of ``conv_transposed``: a convolution of dy."""
    x2, w, x_shape, k_shape, g, op = cache
    if 0 in g.size:                              # an empty output: nothing flowed
        return np.zeros(x_shape, x2.dtype), np.zeros(k_shape, x2.dtype)
    cols = im2col(dy.astype(x2.dtype, copy=False), g, op)     # (B*prod(o), F*prod(k))
    d_x = (cols @ w).reshape(x_shape)
    d_kernel = kernel_from_matrix(cols.T @ x2, k_shape)
    return d_x, d_kernel


__all__ = ["MAX_ELEMENTS", "Geometry", "same_pads", "geometry", "check_budget", "pad",
           "windows", "tap_slices", "im2col", "col2im", "kernel_matrix", "kernel_from_matrix",
           "gemm", "gemm_t", "gemm_w", "conv", "conv_backward", "conv_transposed",
           "conv_transposed_backward"]
