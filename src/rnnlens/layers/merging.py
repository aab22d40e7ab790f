"""Merging layers, as Keras 3 defines them: Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate, Dot, and the functional forms ``add(...)``, ..., ``dot(...)``.

Every merge takes a list of inputs ``x_1 .. x_n`` with the same batch size. The
elementwise merges (Keras's ``Merge``) broadcast the other dimensions as NumPy does,
right-aligned (an input of lower rank gets axes of size 1 inserted after the batch,
as Keras's ``expand_dims(x, 1)``)::

    Add:       y = (x_1 + x_2) + ... + x_n
    Subtract:  y = x_1 - x_2                          (exactly two inputs)
    Average:   y = ((x_1 + x_2) + ... + x_n) / n
    Multiply:  y = x_1 * x_2 * ... * x_n
    Maximum:   y = max(x_1, ..., x_n)                  Minimum: y = min(...)

Masks. The output mask of an elementwise merge is ``m_1 | ... | m_n`` when every
input has one, else None (Keras's ``Merge.compute_mask``). ``Multiply``,
``Maximum`` and ``Minimum`` also read the input masks m_i (B, T) in their values,
as Keras 3.15.1 does (``M_i = m_i[..., None]`` broadcast to x_i's shape):

* Multiply: masked entries count as 1, ``y = prod_i where(M_i, x_i, 1)``; when all
  inputs are masked, ``y = where(M_1 | ... | M_n, y, 0)``;
* Maximum / Minimum: masked entries take no part (folding left, a masked entry is
  replaced by the other operand); a position masked in every input keeps x_1.

Gradients follow TensorFlow's: ``maximum(a, b)`` sends the gradient to ``a`` on a
tie (``a >= b``), ``minimum(a, b)`` when ``a <= b``, so with a left fold the first
of the tied inputs receives it. ``Dot`` is Keras's ``batch_dot`` (see ``Dot``).

Shape legend: B batch, T time steps, F features.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer, to_float_array
from rnnlens.layers.normalization import KERAS_EPSILON, l2_normalize, l2_normalize_backward


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sums ``grad`` over the axes NumPy broadcast to reach it from ``shape``."""
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _broadcast_dims(a: tuple, b: tuple, shapes: list) -> tuple:
    """Keras's ``_compute_elemwise_op_output_shape`` (right-aligned, None = unknown)."""
    if len(a) < len(b):
        a, b = b, a
    out = list(a[:len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {a} and {b} "
                             f"(all input shapes: {shapes}); the dimensions after the batch "
                             "must be equal or 1.")
        else:
            out.append(i)
    return tuple(out)


class Merge(Layer):
    """Base of the merging layers: a list of inputs, one output (Keras's ``Merge``).

    Subclasses implement ``_merge(xs, masks) -> (y, cache)`` and
    ``_merge_backward(cache, d_y) -> [d_x per input]`` on inputs already brought
    to the same rank; the base class checks shapes, broadcasts and un-broadcasts.

    Class attributes:
        min_inputs, max_inputs: how many inputs the layer takes.
        uses_masks: whether the input masks change the values (Multiply, Max, Min).
    """

    registered = False                     # not a Keras class of its own
    supports_masking = True
    min_inputs = 1
    max_inputs: int | None = None
    uses_masks = False
    mask_rule = "or"             # Keras >= 3.4; "and" for files of older Keras (apply_semantics)

    # -- checks ---------------------------------------------------------------

    def _kind(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    def _count_error(self, n: Any) -> ValueError:
        if self.max_inputs == self.min_inputs:
            need = f"exactly {self.min_inputs}"
        else:
            need = f"at least {self.min_inputs}"
        return ValueError(f"{self._kind()} should be called on a list of {need} inputs. "
                          f"Received: {n}.")

    def convert_inputs(self, inputs: Any) -> list[np.ndarray]:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._kind()}: a merge layer should be called on a list of "
                             f"inputs, received a single {type(inputs).__name__}. Pass "
                             "[x1, x2, ...].")
        if not self.min_inputs <= len(inputs) <= (self.max_inputs or len(inputs)):
            raise self._count_error(f"{len(inputs)} inputs")
        return [to_float_array(x, f"input {k} to layer '{self.name}'")
                for k, x in enumerate(inputs)]

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, list) or not all(isinstance(s, tuple) for s in shape):
            raise ValueError(f"{self._kind()}: a merge layer should be called on a list of "
                             f"inputs. Received: input_shape={shape} (not a list of shapes).")
        if not self.min_inputs <= len(shape) <= (self.max_inputs or len(shape)):
            raise self._count_error(f"input_shape={shape}")
        if any(len(s) == 0 for s in shape):
            raise ValueError(f"{self._kind()} cannot merge scalars (inputs need a batch "
                             f"axis). Received: input_shape={shape}.")
        batches = {s[0] for s in shape} - {None}
        if len(batches) > 1:
            raise ValueError(f"{self._kind()}: cannot merge tensors with different batch "
                             f"sizes. Received tensors with shapes {shape}.")
        self._check_dims(shape)

    def _check_dims(self, shape: list) -> None:
        self._merged_dims(shape)

    def _merged_dims(self, shape: list) -> tuple:
        out = shape[0][1:]
        for s in shape[1:]:
            out = _broadcast_dims(out, s[1:], shape)
        return out

    def compute_output_shape(self, input_shape: list, **kwargs: Any) -> tuple:
        batches = {s[0] for s in input_shape} - {None}
        batch = batches.pop() if len(batches) == 1 else None
        return (batch, *self._merged_dims(input_shape))

    # -- running --------------------------------------------------------------

    def call(self, inputs: list[np.ndarray], training: bool = False, mask: Any = None
             ) -> np.ndarray:
        return self.forward(inputs, training=training, mask=mask)[0]

    def forward(self, inputs: list[np.ndarray], training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        self.check_input_shape([tuple(x.shape) for x in inputs])
        shapes = [x.shape for x in inputs]
        rank = max(len(s) for s in shapes)
        reshape = len({len(s) for s in shapes}) > 1
        # Keras: lower-rank inputs get axes of size 1 after the batch (expand_dims(x, 1)).
        xs = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in inputs]
        # Keras reads the masks on the inputs; the expanded copies carry none.
        masks = _value_masks(mask, xs, self) if (self.uses_masks and not reshape
                                                  and self.mask_rule == "or") else None
        out, cache = self._merge(xs, masks)
        return out, (shapes, [x.shape for x in xs], cache)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[list, dict, list]:
        shapes, expanded, inner = cache
        grads = self._merge_backward(inner, d_out)
        return [_unbroadcast(np.asarray(g), e).reshape(s)
                for g, e, s in zip(grads, expanded, shapes)], {}, []

    def _merge(self, xs: list[np.ndarray], masks: list | None) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _merge_backward(self, cache: Any, d_out: np.ndarray) -> list:
        raise NotImplementedError

    def apply_semantics(self, semantics: Any) -> list[str]:
        """Keras 2 and Keras 3.0 - 3.3 joined masks with AND and left values alone."""
        if semantics.merge_masks == "and" and self.mask_rule != "and":
            self.mask_rule = "and"
            return [f"{self.name}: masks joined with AND, values not masked "
                    f"({semantics.label}; Keras >= 3.4 uses OR)"]
        return []

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """``m_1 | ... | m_n`` when every input has a mask, else None (Keras >= 3.4);
        with ``mask_rule = "and"`` (older Keras) the AND of the inputs' masks."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"{self._kind()}: `mask` should be a list with one entry per "
                             f"input ({len(inputs)}), received {mask!r:.80}.")
        if self.mask_rule == "and":
            mask = [m for m in mask if m is not None]
            if not mask:
                return None
        elif any(m is None for m in mask):
            return None
        join = np.logical_and if self.mask_rule == "and" else np.logical_or
        out = np.asarray(mask[0], bool)
        for m in mask[1:]:
            try:
                out = join(out, np.asarray(m, bool))
            except ValueError:
                raise ValueError(f"{self._kind()}: the input masks have incompatible shapes "
                                 f"{[np.shape(m) for m in mask]}.") from None
        return out


def _value_masks(mask: Any, xs: list[np.ndarray], layer: Merge) -> list | None:
    """Each input's mask as a boolean array broadcast to the input (None: no mask)."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)) or len(mask) != len(xs):
        raise ValueError(f"{layer._kind()}: `mask` should be a list with one entry per "
                         f"input ({len(xs)}), received {mask!r:.80}.")
    out = []
    for m, x in zip(mask, xs):
        if m is None:
            out.append(None)
            continue
        m = np.asarray(m, bool)
        try:
            out.append(np.broadcast_to(m[..., None], x.shape))
        except ValueError:
            raise ValueError(f"{layer._kind()}: a mask of shape {m.shape} does not fit its "
                             f"input of shape {x.shape} (expected the input's shape without "
                             "the last axis, e.g. (batch, timesteps)).") from None
    return out


class Add(Merge):
    """Elementwise sum of the inputs: ``y = x_1 + ... + x_n``."""

    def _merge(self, xs: list[np.ndarray], masks: Any) -> tuple[np.ndarray, int]:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out, len(xs)

    def _merge_backward(self, cache: int, d_out: np.ndarray) -> list:
        return [d_out] * cache


class Subtract(Merge):
    """``y = x_1 - x_2`` (exactly two inputs)."""

    min_inputs = max_inputs = 2

    def _merge(self, xs: list[np.ndarray], masks: Any) -> tuple[np.ndarray, None]:
        return xs[0] - xs[1], None

    def _merge_backward(self, cache: Any, d_out: np.ndarray) -> list:
        return [d_out, -d_out]


class Average(Add):
    """Elementwise mean: ``y = (x_1 + ... + x_n) / n``."""

    def _merge(self, xs: list[np.ndarray], masks: Any) -> tuple[np.ndarray, int]:
        total, n = super()._merge(xs, masks)
        return total / np.asarray(n, total.dtype), n

    def _merge_backward(self, cache: Any, d_out: np.ndarray) -> list:
        return [d_out / np.asarray(cache, d_out.dtype)] * cache


class Multiply(Merge):
    """Elementwise product; masked entries count as 1 (see the module docstring)."""

    uses_masks = True

    def _merge(self, xs: list[np.ndarray], masks: Any) -> tuple[np.ndarray, tuple]:
        masks = masks or [None] * len(xs)
        factors = [x if m is None else np.where(m, x, np.asarray(1, x.dtype))
                   for x, m in zip(xs, masks)]
        prefix = [factors[0]]                                # x_1 * ... * x_k
        for f in factors[1:]:
            prefix.append(prefix[-1] * f)
        out, keep = prefix[-1], None
        if all(m is not None for m in masks):
            keep = masks[0]
            for m in masks[1:]:
                keep = np.logical_or(keep, m)
            out = np.where(keep, out, np.asarray(0, out.dtype))
        return out, (factors, prefix, masks, keep)

    def _merge_backward(self, cache: tuple, d_out: np.ndarray) -> list:
        factors, prefix, masks, keep = cache
        g = d_out if keep is None else np.where(keep, d_out, 0)
        grads = [None] * len(factors)
        for k in range(len(factors) - 1, 0, -1):            # y_k = y_{k-1} * f_k
            grads[k] = g * prefix[k - 1]
            g = g * factors[k]
        grads[0] = g
        return [d if m is None else np.where(m, d, 0) for d, m in zip(grads, masks)]


class _Select(Merge):
    """Maximum / Minimum: the output is one of the inputs at every position."""

    uses_masks = True

    def _first_wins(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _merge(self, xs: list[np.ndarray], masks: Any) -> tuple[np.ndarray, tuple]:
        masks = masks or [None] * len(xs)
        out, src, out_mask = xs[0], np.zeros((), np.intp), masks[0]
        for k in range(1, len(xs)):
            x, x_src, m = xs[k], np.asarray(k, np.intp), masks[k]
            if m is not None:                             # a masked x takes the output's
                x, x_src = np.where(m, x, out), np.where(m, x_src, src)
            if out_mask is not None:                      # a masked output takes x's
                out, src = np.where(out_mask, out, x), np.where(out_mask, src, x_src)
            out_mask = None if m is None or out_mask is None else out_mask | m
            first = self._first_wins(out, x)              # TF's gradient rule on ties
            out = self._op(out, x)
            src = np.where(first, src, x_src)
        return out, (len(xs), np.broadcast_to(src, out.shape))

    def _op(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _merge_backward(self, cache: tuple, d_out: np.ndarray) -> list:
        n, src = cache
        zero = np.zeros((), d_out.dtype)
        return [np.where(src == k, d_out, zero) for k in range(n)]


class Maximum(_Select):
    """Elementwise maximum; masked entries take no part (see the module docstring)."""

    def _first_wins(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a >= b

    def _op(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(a, b)


class Minimum(_Select):
    """Elementwise minimum; masked entries take no part (see the module docstring)."""

    def _first_wins(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a <= b

    def _op(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.minimum(a, b)


class Concatenate(Merge):
    """Joins a list of inputs along ``axis``; all other dimensions must agree.

    The output mask (Keras's): each input's mask broadcast to its full shape (all
    True for an unmasked input), joined along ``axis``, then ``any`` over the last
    axis, so for ``axis=-1`` a step is kept where any input keeps it, and along the
    time axis the masks are joined.

    Args:
        axis: the axis to join along (default -1, the features).
    """

    axis = P.Axis(-1)

    min_inputs = 2

    def _check_dims(self, shape: list) -> None:
        ranks = {len(s) for s in shape}
        if len(ranks) != 1:
            raise ValueError(f"{self._kind()} received inputs of different ranks: {shape}.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"{self._kind()} has axis={self.axis}, outside the inputs' "
                             f"{rank} dimensions.")
        axis = self.axis % rank
        for dim in range(rank):
            sizes = {s[dim] for s in shape if s[dim] is not None}
            if dim != axis and len(sizes) > 1:
                raise ValueError(
                    f"{self._kind()} requires inputs with matching shapes except for the "
                    f"concatenation axis {self.axis}. Received: input_shape={shape}")

    def forward(self, inputs: list[np.ndarray], training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, list[int]]:
        self.check_input_shape([tuple(x.shape) for x in inputs])
        return np.concatenate(inputs, axis=self.axis), [x.shape[self.axis] for x in inputs]

    def backward(self, cache: list[int], d_out: np.ndarray) -> tuple[list, dict, list]:
        cuts = np.cumsum(cache)[:-1]
        return np.split(d_out, cuts, axis=self.axis), {}, []

    def compute_output_shape(self, input_shape: list, **kwargs: Any) -> tuple:
        out = list(input_shape[0])
        axis = self.axis % len(out)
        sizes = [s[axis] for s in input_shape]
        out[axis] = None if None in sizes else int(sum(sizes))
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """Keras: masks broadcast to the inputs, joined along ``axis``, ``any`` over -1."""
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            shape = np.shape(x)
            if m is None:
                full.append(np.ones(shape, bool))
                continue
            m = np.asarray(m, bool)
            if m.ndim < len(shape):
                try:
                    m = np.broadcast_to(m[..., None], shape)
                except ValueError:
                    raise ValueError(f"{self._kind()}: a mask of shape {m.shape} does not fit "
                                     f"its input of shape {shape}.") from None
            full.append(m)
        try:
            joined = np.concatenate(full, axis=self.axis)
        except ValueError:
            raise ValueError(f"{self._kind()}: the input masks {[np.shape(m) for m in mask]} "
                             "cannot be joined.") from None
        return np.all(joined, axis=-1) if self.mask_rule == "and" else np.any(joined, axis=-1)


class _DotAxes(P.Param):
    """``Dot``'s axes: an int, or a pair ``(axis of x_1, axis of x_2)`` kept as given."""

    expected = "an integer or a list / tuple of two integers"

    def validate(self, value: Any, owner: Any) -> Any:
        if P._is_int(value):
            if abs(int(value)) > 1024:
                raise self.fail(value, owner)
            return int(value)
        if not isinstance(value, (list, tuple)):
            raise self.fail(value, owner, error=TypeError)
        if len(value) != 2 or not all(P._is_int(a) and abs(int(a)) <= 1024 for a in value):
            raise self.fail(value, owner)
        return type(value)(int(a) for a in value)


class Dot(Merge):
    """Dot product of two inputs over one axis of each, per sample (Keras's ``batch_dot``).

    For x (B, *p, K, *q) and y (B, *r, K, *s), with the summed axes ``axes``::

        out[b, p, q, r, s] = sum_k x[b, p, k, q] * y[b, r, k, s]

    (x's remaining axes, then y's). Two 2-D inputs give (B, 1). ``axes``: an int
    means the same axis of both (a negative one counted from each input's end);
    axis 0 (the batch) cannot be summed. With ``normalize=True`` each input is first
    L2-normalized along its axis (``ops.normalize``, epsilon 1e-7), so the result of
    two vectors is their cosine similarity. The output has no mask.

    Args:
        axes: int, or a pair of ints (axis of the first input, axis of the second).
        normalize: L2-normalize both inputs along the axes first.
    """

    axes = _DotAxes()
    normalize = P.Bool(False)

    min_inputs = max_inputs = 2

    def _resolve(self, rank1: int, rank2: int) -> tuple[int, int]:
        """Keras's axes for inputs of these ranks (non-negative)."""
        if isinstance(self.axes, int):
            pair = [self.axes % rank1, self.axes % rank2] if self.axes < 0 else \
                [self.axes] * 2
        else:
            pair = list(self.axes)
        out = []
        for a, rank in zip(pair, (rank1, rank2)):
            if not -rank <= a < rank:
                raise ValueError(f"{self._kind()}: axes={self.axes} is out of range for "
                                 f"inputs of ranks {rank1} and {rank2}.")
            out.append(a % rank)
        if 0 in out:
            raise ValueError(f"{self._kind()}: cannot perform batch_dot over axis 0 (the "
                             f"batch); received axes={self.axes}.")
        return out[0], out[1]

    def _check_dims(self, shape: list) -> None:
        s1, s2 = shape
        if len(s1) < 2 or len(s2) < 2:
            raise ValueError(f"{self._kind()}: cannot do batch_dot on inputs with rank < 2. "
                             f"Received inputs with shapes {s1} and {s2}.")
        a1, a2 = self._resolve(len(s1), len(s2))
        if s1[a1] != s2[a2]:
            raise ValueError(f"{self._kind()}: incompatible input shapes: axis values "
                             f"{s1[a1]} (at axis {a1}) != {s2[a2]} (at axis {a2}). Full "
                             f"input shapes: {s1}, {s2}")

    def compute_output_shape(self, input_shape: list, **kwargs: Any) -> tuple:
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._resolve(len(s1), len(s2))
        s1.pop(a1)
        s2.pop(a2)
        out = s1 + s2[1:]
        return tuple(out + [1] if len(out) == 1 else out)

    def forward(self, inputs: list[np.ndarray], training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        self.check_input_shape([tuple(x.shape) for x in inputs])
        x, y = inputs
        a1, a2 = self._resolve(x.ndim, y.ndim)
        norms = None
        if self.normalize:
            x, cx = l2_normalize(x, (a1,), KERAS_EPSILON)
            y, cy = l2_normalize(y, (a2,), KERAS_EPSILON)
            norms = (cx, cy)
        xm = np.moveaxis(x, a1, -1)                          # (B, *p, *q, K)
        ym = np.moveaxis(y, a2, 1)                           # (B, K, *r, *s)
        b, k = x.shape[0], x.shape[a1]
        x3 = xm.reshape(b, math.prod(xm.shape[1:-1]), k)     # (B, P, K)
        y3 = ym.reshape(b, k, math.prod(ym.shape[2:]))       # (B, K, R)
        out = np.matmul(x3, y3).reshape((b, *xm.shape[1:-1], *ym.shape[2:]))
        if out.ndim == 1:
            out = out[:, None]                               # (B, 1)
        return out, (x3, y3, xm.shape, ym.shape, (a1, a2), norms)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[list, dict, list]:
        x3, y3, x_shape, y_shape, (a1, a2), norms = cache
        d3 = d_out.reshape(x3.shape[0], x3.shape[1], y3.shape[2])     # (B, P, R)
        dx = np.moveaxis((d3 @ y3.transpose(0, 2, 1)).reshape(x_shape), -1, a1)
        dy = np.moveaxis((x3.transpose(0, 2, 1) @ d3).reshape(y_shape), 1, a2)
        if norms is not None:
            dx, dy = l2_normalize_backward(norms[0], dx), l2_normalize_backward(norms[1], dy)
        return [dx, dy], {}, []

    def compute_mask(self, inputs: Any, mask: Any) -> None:
        return None


# -- the functional forms (Keras's keras.layers.add(...), ...) -------------------------


def add(inputs: Any, **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``: the elementwise sum of a list of inputs."""
    return Add(**kwargs)(inputs)


def subtract(inputs: Any, **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``: ``inputs[0] - inputs[1]``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Any, **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``: the elementwise product of a list of inputs."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Any, **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``: the elementwise mean of a list of inputs."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Any, **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``: the elementwise maximum of a list of inputs."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Any, **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``: the elementwise minimum of a list of inputs."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Any, axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Any, axes: Any = -1, **kwargs: Any) -> Any:
    """``Dot(axes=axes, **kwargs)(inputs)`` (``normalize=True`` may be passed)."""
    return Dot(axes=axes, **kwargs)(inputs)


__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot"]
