"""The einsum algebra behind ``EinsumDense``: Keras's equation analysis and the gradients.

Keras 3.15.1 accepts three forms of equation (``_analyze_einsum_string``)::

    X,W->Y           "abc,cd->abd"     every axis named
    ...X,W->...Y     "...b,bc->...c"   leading axes elided (any number, even none)
    X...,W->Y...     "ab...,bc->ac..." trailing axes elided

where X, W, Y are strings of ASCII letters. The kernel's shape follows W: a letter of
W takes its size from ``output_shape`` if it is in Y, else from the input. The first
entry of the full output shape is always the input's batch size (Keras inserts it at
position 0 whatever letter stands there), the elided axes are the input's, and an
output size given as None stays None in the symbolic shape even where the input
knows it (``"abc,cd->abd"`` with ``output_shape=(None, 4)`` is ``(None, None, 4)``).
The bias covers the output from the first letter of ``bias_axes`` onwards, with size 1
on the letters not in ``bias_axes`` (and on trailing elided axes).

Gradients of ``Y = einsum(X, W)`` with the loss gradient ``G`` (shape of Y)::

    dX[x] = sum over the letters not in x of  G[y] W[w]      (einsum "y,w->x")
    dW[w] = sum over the letters not in w of  G[y] X[x]      (einsum "y,x->w")

A letter of the target that neither other operand has (an input axis that is summed
away) gets the same gradient at every index (a broadcast); a letter repeated in the
target (a diagonal, ``"aab,..."``) receives the gradient on its diagonal only, zeros
elsewhere. The ellipsis is first replaced by letters the equation does not use, so
every operand is explicit.
"""

from __future__ import annotations

import re
import string
from typing import Any, NamedTuple

import numpy as np

_FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", None),
          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", "left"),
          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", "right"))


class Spec(NamedTuple):
    """A parsed equation: input, weight and output letters and where ``...`` was."""

    inp: str
    weight: str
    out: str
    elided: str | None              # None, "left" or "right"


class Shapes(NamedTuple):
    """Keras's ``_analyze_einsum_string`` result."""

    kernel: tuple
    bias: tuple | None
    output: tuple
    input_axes: list
    output_axes: list


def parse(equation: Any) -> Spec:
    """The equation's parts, or Keras's ValueError for a form it does not accept."""
    if not isinstance(equation, str):
        raise TypeError(f"EinsumDense's `equation` must be a string such as 'ab,bc->ac', "
                        f"received {equation!r}.")
    text = re.sub(r"\.\.\.", "0", equation)
    for pattern, elided in _FORMS:
        match = re.fullmatch(pattern, text)
        if match:
            spec = Spec(*match.groups(), elided)
            if len(set(spec.out)) != len(spec.out):
                raise ValueError(f"Invalid einsum equation '{equation}': the output "
                                 f"'{spec.out}' repeats a letter, which einsum cannot "
                                 "produce.")
            return spec
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                     "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def analyze(spec: Spec, bias_axes: str | None, input_shape: tuple,
            output_shape: tuple) -> Shapes:
    """Kernel, bias and full output shapes exactly as Keras derives them."""
    inp, weight, out = spec.inp, spec.weight, spec.out
    elided = len(input_shape) - len(inp)
    left = spec.elided == "left"
    full = [input_shape[0], *output_shape]
    if elided > 0 and left:
        for i in range(1, elided):
            full.insert(1, input_shape[i])
    elif elided > 0:
        full += list(input_shape[len(input_shape) - elided:])
    if left:
        in_map = {d: i + elided - len(input_shape) for i, d in enumerate(inp)}
        out_map = {d: i + elided for i, d in enumerate(out)}
    else:
        in_map = {d: i for i, d in enumerate(inp)}
        out_map = {d: i for i, d in enumerate(out)}
    for d in inp:
        if d in out_map and _at(full, out_map[d]) is not None \
                and _at(full, out_map[d]) != input_shape[in_map[d]]:
            raise ValueError(f"Input shape and output shape do not match at shared dimension "
                             f"'{d}'. Input shape is {input_shape[in_map[d]]}, and output "
                             f"shape is {_at(full, out_map[d])}.")
    for d in out:
        if d not in inp and d not in weight:
            raise ValueError(f"Dimension '{d}' was specified in the output '{out}' but has no "
                             f"corresponding dim in the input spec '{inp}' or weight spec "
                             f"'{out}'")
    kernel, input_axes, output_axes = [], [], []
    for i, d in enumerate(weight):
        if d in out_map:
            kernel.append(_at(full, out_map[d]))
            output_axes.append(i)
        elif d in in_map:
            kernel.append(input_shape[in_map[d]])
            input_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{d}' did not have a match in either the input "
                             f"spec '{inp}' or the output spec '{out}'. For this layer, the "
                             "weight must be fully specified.")
    return Shapes(tuple(kernel), _bias_shape(spec, bias_axes, full, elided),
                  tuple(full), input_axes, output_axes)


def _at(shape: list, i: int) -> Any:
    if not -len(shape) <= i < len(shape):
        raise ValueError(f"EinsumDense: the output shape {tuple(shape)} (batch, output_shape "
                         "and elided axes) has no axis for every output letter; give "
                         "`output_shape` one entry per output letter after the first.")
    return shape[i]


def _bias_shape(spec: Spec, bias_axes: str | None, full: list, elided: int) -> tuple | None:
    if bias_axes is None:
        return None
    out = spec.out
    skip = elided if spec.elided == "left" else 0
    sizes = {c: _at(full, i + skip) for i, c in enumerate(out)}
    for c in bias_axes:
        if c not in out:
            raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the "
                             f"output spec '{out}'")
    first = min(out.find(c) for c in bias_axes)
    shape = [sizes[c] if c in bias_axes else 1 for c in out[first:]]
    if spec.elided != "left":
        shape += [1] * max(elided, 0)
    return tuple(shape)


def explicit(spec: Spec, x_ndim: int) -> tuple[str, str, str]:
    """The equation's three operands with ``...`` replaced by unused letters."""
    n = x_ndim - len(spec.inp)
    if spec.elided is None or n <= 0:
        return spec.inp, spec.weight, spec.out
    used = set(spec.inp + spec.weight + spec.out)
    free = "".join(c for c in string.ascii_letters if c not in used)
    if n > len(free):
        raise ValueError(f"EinsumDense: an input of rank {x_ndim} elides more axes than "
                         "einsum has letters for.")
    dots = free[:n]
    if spec.elided == "left":
        return dots + spec.inp, spec.weight, dots + spec.out
    return spec.inp + dots, spec.weight, spec.out + dots


def operand_grad(target: str, shape: tuple, other: str, other_value: np.ndarray,
                 grad: str, g: np.ndarray) -> np.ndarray:
    """``dL/d target`` for ``einsum(target, other -> grad)`` (see the module docstring)."""
    unique = "".join(dict.fromkeys(target))
    sizes = {c: shape[target.index(c)] for c in unique}
    present = "".join(c for c in unique if c in grad or c in other)
    part = np.einsum(f"{grad},{other}->{present}", g, other_value, optimize=True)
    full = part.reshape([sizes[c] if c in present else 1 for c in unique])
    full = np.broadcast_to(full, tuple(sizes[c] for c in unique))
    if len(unique) == len(target):
        return np.ascontiguousarray(full)
    out = np.zeros(shape, g.dtype)
    np.einsum(f"{target}->{unique}", out)[...] = full          # the diagonal view
    return out


__all__ = ["Spec", "Shapes", "parse", "analyze", "explicit", "operand_grad"]
