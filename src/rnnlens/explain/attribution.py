"""Input attribution: the gradient of one output unit with respect to every input step.

For a chosen output value ``y`` (unit j of a tensor, at step t for a sequence)
and a model input ``x`` of shape (B, T, F), the page's bar at input step s is
the *signed* sum over features::

    a_s = sum_f  d y / d x[b, s, f]

i.e. how much ``y`` moves per unit change when every feature of step s moves
together (features of opposite effect cancel; for one feature it is the plain
derivative). A 2-D input (B, T) gets one bar per position (no sum); inputs of
higher rank sum over every axis after the step axis. Integer inputs (token
ids into an ``Embedding``) have no gradient. At a masked step the gradient
is 0: the step does not enter the computation.

Computed by rnnlens's hand-written backward pass, no autodiff: a model whose
outputs are the chosen tensors (``Model(model.inputs, tensors)``; any tensor
of the graph, such as a ``state_c`` that only feeds a decoder) runs forward on
R copies of the sample; ``d_out`` is 1 at replica r's chosen value and 0
elsewhere, so one ``Model.backward`` gives R rows of dL/d inputs at once.

Precomputed targets (the page has no server): every unit (up to
``max_units``) of every recurrent output and state and of every model
output, at the last step for sequences; and for sequences also ``STEPS``
evenly spaced earlier steps of the shown window for the first ``UNITS`` units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnlens.explain.graph import TensorInfo

STEPS = 8
UNITS = 8
#: Target memory of one chunk of replicas (bytes).
CHUNK_BYTES = 1024 * 2 ** 20


@dataclass(frozen=True)
class Target:
    """One precomputed output value: tensor (TensorInfo id), step (None: no time axis), unit."""

    tensor: int
    step: int | None
    unit: int

    def to_json(self) -> list:
        return [self.tensor, self.step, self.unit]


def target_tensors(tensors: list[TensorInfo]) -> list[TensorInfo]:
    """Recurrent outputs and states, and the model's outputs (no inputs)."""
    return [t for t in tensors if t.role != "input" and (t.role != "tensor"
                                                        or t.output is not None)]


def probe_model(model: Any, chosen: list[TensorInfo]) -> Any:
    """A model from the same inputs to the chosen tensors (shares every layer)."""
    from rnnlens.models import Model

    return Model(list(model.inputs), [t.symbolic for t in chosen],
                 name=f"{model.name}_explain_probe")


def choose_targets(chosen: list[TensorInfo], shapes: list[tuple], max_steps: int,
                   max_units: int) -> list[Target]:
    """The bounded set of output values to attribute (see the module docstring)."""
    targets: list[Target] = []
    for info, shape in zip(chosen, shapes):
        if len(shape) >= 3:
            steps, width = shape[1], int(np.prod(shape[2:]))
            targets += [Target(info.id, steps - 1, j) for j in range(min(width, max_units))]
            start = max(0, steps - max_steps)
            earlier = np.unique(np.linspace(start, steps - 1, STEPS + 1).astype(int))[:-1]
            targets += [Target(info.id, int(t), j) for t in earlier
                        for j in range(min(width, UNITS, max_units))]
        else:
            width = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            targets += [Target(info.id, None, j) for j in range(min(width, max_units))]
    return targets


def reduce_input(grad: np.ndarray | None, steps_window: int) -> np.ndarray | None:
    """(R, ...) gradient of one input -> (R, shown steps): summed over features."""
    if grad is None:
        return None
    g = np.asarray(grad, np.float64)
    g = g.reshape(g.shape[0], -1) if g.ndim <= 2 else g.reshape(*g.shape[:2], -1).sum(-1)
    if g.ndim == 2 and g.shape[1] == 0:
        return g
    return g[:, -steps_window:]


def attribute(model: Any, chosen: list[TensorInfo], targets: list[Target],
              xs: list[np.ndarray], max_steps: int, per_sample_bytes: int
              ) -> tuple[list[np.ndarray | None], dict[int, str]]:
    """Gradients of every target w.r.t. every input, for each sample of ``xs``.

    Each target tensor gets its own probe model, so only the layers it depends on
    run. Per tensor and sample, one forward pass on R replicas serves every
    backward pass (R targets each): the backward passes only read the cache.

    Args:
        model: the model.
        chosen: the target tensors.
        targets: from ``choose_targets`` (grouped by tensor).
        xs: the samples to attribute, one (D, ...) array per model input.
        max_steps: bars for the last ``max_steps`` steps of each input.
        per_sample_bytes: the trace size of one sample (sizes R).

    Returns:
        Per model input: (D, len(targets), shown steps) float64, or None when the
        input has no gradient (integer ids); and {tensor id: why it has no
        attribution} for tensors computed by a layer without a backward pass
        (user and stacked cells), whose rows stay 0.
    """
    n_samples, n_targets = len(xs[0]), len(targets)
    replicas = int(max(CHUNK_BYTES // max(4 * per_sample_bytes, 1), 1))
    results: list[np.ndarray | None] = [None] * len(xs)
    problems: dict[int, str] = {}
    by_id = {t.id: t for t in chosen}
    for first, last in _chunks(targets, n_targets):              # one run per tensor
        tensor = targets[first].tensor
        probe = probe_model(model, [by_id[tensor]])
        r = min(replicas, last - first)
        for d in range(n_samples):
            reps = [np.repeat(np.asarray(a[d:d + 1]), r, axis=0) for a in xs]
            out, cache = probe.forward(reps[0] if len(reps) == 1 else reps)
            out = out[0] if isinstance(out, list) else out
            for start in range(first, last, r):
                stop = min(start + r, last)
                try:
                    d_in = _backward(probe, cache, out.shape, targets[start:stop])
                except ValueError as err:          # a cell without a backward pass
                    problems[tensor] = str(err)
                    break
                _store(results, d_in, d, start, stop, n_samples, n_targets, max_steps)
            if tensor in problems:
                break
    return results, problems


def _store(results: list, d_in: list, d: int, start: int, stop: int, n_samples: int,
           n_targets: int, max_steps: int) -> None:
    """Writes one backward pass's rows (features summed) into ``results``."""
    for k, g in enumerate(d_in):
        rows = reduce_input(g, max_steps)
        if rows is None:
            continue
        if results[k] is None:
            results[k] = np.zeros((n_samples, n_targets, rows.shape[1]))
        results[k][d, start:stop] = rows[:stop - start]


def _chunks(targets: list[Target], size: int) -> list[tuple[int, int]]:
    """(start, stop) runs of at most ``size`` targets, never spanning two tensors."""
    runs, start = [], 0
    for k in range(1, len(targets) + 1):
        if k == len(targets) or targets[k].tensor != targets[start].tensor \
                or k - start == size:
            runs.append((start, k))
            start = k
    return runs


def _backward(probe: Any, cache: Any, shape: tuple, part: list[Target]
              ) -> list[np.ndarray | None]:
    """dL/d inputs of the replicas: replica r's d_out is 1 at ``part[r]``, 0 elsewhere."""
    d_out = np.zeros(shape, _dtype())
    for r, target in enumerate(part):
        if target.step is None:
            d_out.reshape(shape[0], -1)[r, target.unit] = 1.0
        else:
            d_out.reshape(*shape[:2], -1)[r, target.step, target.unit] = 1.0
    d_in, _, _ = probe.backward(cache, [d_out])
    return d_in if isinstance(d_in, list) else [d_in]


def output_shapes(model: Any, chosen: list[TensorInfo], xs: list[np.ndarray]) -> list[tuple]:
    """The runtime shapes of the chosen tensors for one sample."""
    probe = probe_model(model, chosen)
    one = [np.asarray(a[:1]) for a in xs]
    outs = probe(one[0] if len(one) == 1 else one)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return [tuple(np.shape(o)) for o in outs]


def _dtype() -> np.dtype:
    from rnnlens.backend import FLOATX

    return FLOATX.dtype
