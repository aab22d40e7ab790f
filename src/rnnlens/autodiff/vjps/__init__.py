"""The vector-Jacobian products of ``rnnlens.ops``, and which ops have none.

A VJP is ``f(ctx, g) -> {argument name: gradient}``: ``ctx.args`` holds the op's bound
arguments (plain arrays), ``ctx.out`` its output (a tuple for several), ``g`` the
cotangent of the output (a list, one per output, for several; zeros where none
arrived). A gradient may have the output's broadcast shape: the tape sums it down to
the argument's shape and casts it to its dtype. For a list argument (``concatenate``'s
``xs``) the entry is a list.

Four kinds of ops, as TensorFlow differentiates Keras's definitions:

* written out (``elementwise``, ``arrays``, ``nn``, ``products``, ``signal``):
  ``d exp(x) = g exp(x)``, ``d max`` shared among ties, ``d softmax = y (g - sum(g y))``, ...;
* *gathers* (:data:`GATHER`): ops that only move, repeat or drop entries (``reshape``,
  ``transpose``, ``x[key]``, ``take``, ``pad``, ``tile``, ``concatenate``, ``split``, ...).
  Their VJP runs the op once more on the *positions* ``1..n`` of its inputs and adds each
  output's cotangent to the position it came from (0 marks a filled-in entry):
  ``x_bar = scatter_add(op(positions), g)``;
* *composites* (``nn``): the VJP replays a formula written with ``rnnlens.ops`` on a
  nested tape (``layer_normalization``, ``dot_product_attention``, ``norm`` ...);
* :data:`ZERO` (piecewise constant: ``floor``, ``sign``, ``round`` ...): no gradient
  flows, as TensorFlow's ``None``; and :data:`NO_GRADIENT`: differentiating through
  them raises a ``ValueError`` naming the op.

Ops whose outputs are all integers or bools (``argmax``, ``equal``, ``one_hot`` ...)
are never recorded. :data:`FUSED` ops record the cache of their hand-written forward
(the convolutions, pooling and ``ctc_loss``) and their VJP is the hand-written backward.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

#: op name -> VJP
VJPS: dict[str, Callable] = {}
#: op name -> ``forward(*args, **kwargs) -> (output, cache)`` recorded instead of the op.
FUSED: dict[str, Callable] = {}
#: Ops whose gradient is zero almost everywhere (TensorFlow returns None).
ZERO = frozenset({
    "ceil", "floor", "round", "sign", "trunc", "floor_divide", "heaviside", "angle",
    "zeros_like", "ones_like", "empty_like", "full_like", "imag", "nextafter", "signbit",
    "argmax", "argmin", "argsort", "argpartition", "nanargmax", "nanargmin",
    "count_nonzero", "digitize", "searchsorted", "isin", "one_hot", "multi_hot",
    "in_top_k", "bincount_counts", "histogram", "unique", "nonzero", "unravel_index",
    "empty", "zeros", "ones", "eye", "identity", "tri", "arange", "bartlett", "blackman",
    "hamming", "hanning", "kaiser",
    "ctc_decode",               # TensorFlow's CTC decoders are NotDifferentiable (None)
})
#: Ops with float outputs and no gradient in rnnlens, with the reason.
NO_GRADIENT: dict[str, str] = {
    "lstsq": "no gradient is defined (as TensorFlow's lstsq with fast=False)",
    "svd": "singular-vector gradients are not implemented",
    "eig": "general eigendecompositions have complex, ill-conditioned gradients",
    "qr": "not implemented",
    "lu_factor": "not implemented",
    "pinv": "not implemented",
    "matrix_rank": "piecewise constant",
    "cholesky_inverse": "not implemented",
    "segment_prod": "not implemented",
    "fft": "complex-valued ops are not differentiated by rnnlens",
    "fft2": "complex-valued ops are not differentiated by rnnlens",
    "ifft2": "complex-valued ops are not differentiated by rnnlens",
    "rfft": "complex-valued ops are not differentiated by rnnlens",
    "irfft": "complex-valued ops are not differentiated by rnnlens",
    "view_as_complex": "complex-valued ops are not differentiated by rnnlens",
    "view_as_real": "complex-valued ops are not differentiated by rnnlens",
    "polar": "complex-valued ops are not differentiated by rnnlens",
    "view": "a bit-level reinterpretation has no gradient",
    "corrcoef": "not implemented",
    "correlate": "not implemented",
    "kron": "not implemented",
    "vander": "not implemented",
    "nancumprod": "not implemented",
    "linspace": "gradients with respect to start / stop are not implemented",
    "logspace": "gradients with respect to start / stop are not implemented",
    "geomspace": "gradients with respect to start / stop are not implemented",
    "vectorize": "np.vectorize runs outside the ops",
}

#: Ops whose outputs are never floats (shapes, dtypes, comparisons, logic, bit ops):
#: never recorded, so they need no gradient.
NOT_FLOAT = frozenset({
    "all", "any", "allclose", "isclose", "equal", "not_equal", "greater", "greater_equal",
    "less", "less_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert", "bitwise_left_shift",
    "bitwise_right_shift", "left_shift", "right_shift", "gcd", "lcm", "dtype", "shape",
    "ndim", "size", "is_tensor",
})

#: gather op -> the names of its data arguments (tensors whose entries it moves).
GATHER: dict[str, tuple[str, ...]] = {}


def vjp(*names: str) -> Callable:
    """Registers ``f`` as the VJP of the ops ``names``."""
    def register(f: Callable) -> Callable:
        for n in names:
            VJPS[n] = f
        return f
    return register


def gather(*names: str, data: tuple[str, ...] = ("x",)) -> None:
    for n in names:
        GATHER[n] = data


def has_gradient(name: str) -> bool:
    """Whether differentiating through the op ``name`` works (or is zero)."""
    _load()
    return name in VJPS or name in GATHER or name in ZERO


def apply_vjp(node: Any, gs: list, needed: list) -> list:
    """The gradients of ``needed`` inputs ``[(param, index, slot)]`` of one record."""
    _load()
    ctx = node.ctx
    name = ctx.name
    if name in ZERO:
        return [None] * len(needed)
    outs = ctx.out if isinstance(ctx.out, (list, tuple)) else [ctx.out]
    full: list[Any] = [None] * len(outs)
    for (index, _), g in zip(node.outs, gs):
        full[0 if index is None else index] = g
    for i, o in enumerate(outs):
        if full[i] is None and isinstance(o, np.ndarray) and o.dtype.kind in "fc":
            full[i] = np.zeros_like(o)
    g = full[0] if not isinstance(ctx.out, (list, tuple)) else full
    ctx.need = {p for p, _, _ in needed}
    if name in VJPS:
        result = VJPS[name](ctx, g)
    elif name in GATHER:
        from rnnlens.autodiff.vjps.arrays import gather_vjp

        result = gather_vjp(ctx, g, GATHER[name])
    else:
        reason = NO_GRADIENT.get(name, "no gradient is implemented")
        raise ValueError(f"ops.{name} has no gradient in rnnlens ({reason}), so a loss "
                         f"computed through it cannot be differentiated. Wrap its result in "
                         f"ops.stop_gradient if no gradient should flow through it.")
    grads = []
    for param, index, _ in needed:
        if param not in result:
            raise ValueError(f"ops.{name}: rnnlens has no gradient with respect to its "
                             f"argument `{param}`; wrap that argument in ops.stop_gradient.")
        r = result[param]
        grads.append(r[index] if index is not None and r is not None else r)
    return grads


_LOADED = False


def _load() -> None:
    global _LOADED
    if not _LOADED:
        from rnnlens.autodiff.layers import layer_vjp
        from rnnlens.autodiff.record import custom_gradient_vjp
        from rnnlens.autodiff.vjps import (  # noqa: F401
            arrays, elementwise, nn, products, signal)

        VJPS["custom_gradient"] = custom_gradient_vjp
        VJPS["layer"] = layer_vjp
        _LOADED = True


def coverage() -> dict[str, list[str]]:
    """Every op by kind: ``written``, ``gather``, ``zero``, ``none`` (no gradient:
    :data:`NO_GRADIENT`), ``special`` (recorded through what they run) and
    ``not_float`` (no float output, never recorded)."""
    from rnnlens.autodiff.record import SPECIAL
    from rnnlens.ops._dispatch import OPS

    _load()
    kinds: dict[str, list[str]] = {
        k: [] for k in ("written", "gather", "zero", "none", "special", "not_float")}
    for name in sorted(OPS):
        if name in SPECIAL:
            kinds["special"].append(name)
        elif name in VJPS:
            kinds["written"].append(name)
        elif name in GATHER:
            kinds["gather"].append(name)
        elif name in ZERO:
            kinds["zero"].append(name)
        elif name in NOT_FLOAT:
            kinds["not_float"].append(name)
        else:
            kinds["none"].append(name)
    return kinds


__all__ = ["VJPS", "FUSED", "ZERO", "NO_GRADIENT", "NOT_FLOAT", "GATHER", "vjp", "gather",
           "apply_vjp", "has_gradient", "coverage"]
